"""Parsing and validation of request parameters shared by the API, the UI and the feeds.

Everything a user can type into a URL is checked here before it reaches the
engine; a problem raises :class:`search.errors.BadRequest` naming the
parameter, which the app turns into a 400.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from search.contract import DEFAULT_SIZE, FACETS, MAX_CURSOR_LENGTH, MAX_PAGE, MAX_SIZE, SORTS
from search.errors import BadRequest

__all__ = ["FACETS", "MAX_PAGE", "MAX_SIZE", "SORTS", "SearchParams", "parse_search"]

MAX_FILTER_VALUES = 50
MAX_FILTER_LENGTH = 200
MAX_LANG_LENGTH = 16

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
# C0 controls (except tab, newline, carriage return), DEL and C1 controls.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(value: str) -> str:
    """Replace control characters (which no one types) by spaces."""
    return _CONTROL_RE.sub(" ", value)


def parse_int(args: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return default
    raw = raw.strip()
    if not re.fullmatch(r"[+-]?\d{1,12}", raw):
        raise BadRequest(f"{name} must be an integer, got {raw[:40]!r}", name)
    value = int(raw)
    if value < lo or value > hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}, got {value}", name)
    return value


def parse_bool(args: Mapping[str, str], name: str, default: bool) -> bool:
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return default
    v = raw.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise BadRequest(f"{name} must be true or false, got {raw[:40]!r}", name)


def parse_choice(args: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return default
    v = raw.strip().lower()
    if v not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(choices)}, got {raw[:40]!r}", name)
    return v


def parse_optional(args: Mapping[str, str], name: str, max_length: int) -> str | None:
    raw = args.get(name)
    if raw is None:
        return None
    raw = clean_text(raw).strip()
    if not raw:
        return None
    if len(raw) > max_length:
        raise BadRequest(f"{name} is too long (at most {max_length} characters)", name)
    return raw


def parse_filters(args: MultiDict) -> dict[str, list[str]]:
    """Repeated facet parameters: ``?source=a&source=b`` (OR within, AND across facets).

    Comma-separated values are *not* split: facet values (places, outlets)
    may themselves contain commas.
    """
    filters: dict[str, list[str]] = {}
    for name in FACETS:
        values: list[str] = []
        for raw in args.getlist(name):
            v = clean_text(raw).strip()
            if not v:
                continue
            if len(v) > MAX_FILTER_LENGTH:
                raise BadRequest(f"{name} value is too long (at most {MAX_FILTER_LENGTH} characters)", name)
            if v not in values:
                values.append(v)
        if len(values) > MAX_FILTER_VALUES:
            raise BadRequest(f"too many {name} values (at most {MAX_FILTER_VALUES})", name)
        if values:
            filters[name] = values
    return filters


@dataclass
class SearchParams:
    """A validated search request, ready to be handed to ``engine.search``."""

    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    date_from: str | None = None
    date_to: str | None = None
    sort: str = "relevance"
    page: int = 1
    size: int = DEFAULT_SIZE
    cursor: str | None = None
    lang: str | None = None
    highlight: bool = True
    collapse: bool = False
    # True when the user set these explicitly (the UI keeps them in links).
    explicit_sort: bool = False
    explicit_size: bool = False
    explicit_collapse: bool = False

    def engine_kwargs(self) -> dict[str, Any]:
        return {
            "filters": {k: list(v) for k, v in self.filters.items()},
            "date_from": self.date_from,
            "date_to": self.date_to,
            "sort": self.sort,
            "page": self.page,
            "size": self.size,
            "cursor": self.cursor,
            "lang": self.lang,
            "highlight": self.highlight,
            "collapse": self.collapse,
        }

    @property
    def has_filters(self) -> bool:
        return bool(self.filters or self.date_from or self.date_to)


def parse_search(
    args: MultiDict,
    *,
    default_size: int = DEFAULT_SIZE,
    max_size: int = MAX_SIZE,
    clamp_size: bool = False,
    default_collapse: bool = False,
    default_sort: str = "relevance",
) -> SearchParams:
    """Validate the search parameters shared by /api/search, / and the feeds."""
    q = clean_text(args.get("q", "")).strip()
    raw_sort = args.get("sort", "").strip()
    sort = parse_choice(args, "sort", default_sort, SORTS)
    raw_size = args.get("size", "").strip()
    if clamp_size and raw_size:
        size = parse_int(args, "size", default_size, -(10**12), 10**12)
        size = max(1, min(size, max_size))
    else:
        size = parse_int(args, "size", default_size, 1, max_size)
    page = parse_int(args, "page", 1, 1, MAX_PAGE)
    raw_collapse = args.get("collapse", "").strip()
    return SearchParams(
        q=q,
        filters=parse_filters(args),
        date_from=parse_optional(args, "date_from", 40),
        date_to=parse_optional(args, "date_to", 40),
        sort=sort,
        page=page,
        size=size,
        cursor=parse_optional(args, "cursor", MAX_CURSOR_LENGTH),
        lang=parse_optional(args, "lang", MAX_LANG_LENGTH),
        highlight=parse_bool(args, "highlight", True),
        collapse=parse_bool(args, "collapse", default_collapse),
        explicit_sort=bool(raw_sort),
        explicit_size=bool(raw_size),
        explicit_collapse=bool(raw_collapse),
    )
