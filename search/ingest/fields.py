"""Loose mapping (JSON object, YAML header, parsed n-ag text) -> Article.

Every reader funnels through here, so a document gets the same id, date,
source and text normalisation whichever file format it arrived in, and the
same limits: one hostile value (a 25 MB teaser, a date in the year 9999, a
number with 5,000 digits, a lone surrogate) costs its document, reported with
a reason, and never the run or the pages that would show it.

Lone surrogates (``"\\udcff"`` in JSON) are not text: in an id the document
is refused (an id must round-trip exactly), anywhere else each one becomes
U+FFFD, so the article stays readable and every encoder downstream can write it.
"""
from __future__ import annotations

import html
import json
import math
import re
import unicodedata
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from search.ingest.article import KNOWN_FIELDS, Article, ReadError, ReadFailure
from search.ingest.encoding import normalize_text

if TYPE_CHECKING:
    from search.ingest import SourceFile

MAX_TITLE_CHARS = 1000
MAX_BODY_CHARS = 2_000_000
MAX_ID_CHARS = 512
#: Limits of the other fields, generous for news: a teaser is a paragraph, a location a place name.
MAX_CHARS = {"teaser": 10_000, "location": 200, "category": 200, "publisher": 200, "url": 4096}
MAX_SOURCES = 100
MAX_SOURCE_CHARS = 253  # a domain name's limit
MAX_EXTRA_CHARS = 65_536  # the unknown fields together, as JSON
#: Dates outside these years are placeholders (0001-01-01, 9999-12-31), not news.
MIN_YEAR, MAX_YEAR = 1000, 2999
_MAX_INT_BITS = 14_000  # Python writes integers of up to 4,300 digits (~14,284 bits) in decimal

_LINE_FIELDS = ("title", "location", "category", "publisher", "url")
_PROSE_FIELDS = ("teaser", "body")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # Cc except \t and \n
_SURROGATE = re.compile("[\ud800-\udfff]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BLANK_LINES = re.compile(r"\n\s*\n")
_EXTRA_BLANK_LINES = re.compile(r"\n{3,}")
_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(.*)", re.S)
_TAG = re.compile(r"<[^>]*>")
_SOURCE_SEPARATORS = re.compile(r"[\s,;•]+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_URL_TAIL = re.compile(r"[/?#].*", re.S)
_LANGUAGE = re.compile(r"([a-z]{2})(?:[-_][a-z0-9]+)*")


def article_from_mapping(
    obj: Any, *, source: SourceFile, line: int | None, index: int | None
) -> Article:
    """Coerce one decoded object; known keys (any case) become fields, the rest ``extra``."""
    if not isinstance(obj, dict):
        raise ReadError(f"expected an object with article fields, got {type_name(obj)}")
    known, extra = split_fields(obj)
    return build_article(known, extra, source=source, line=line, index=index)


#: Other names archives use for our fields ("source": "spiegel.de" is common).
ALIASES = {"source": "sources", "lang": "language"}


def split_fields(obj: dict[Any, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(known fields by lowercase name, everything else) - authors write "Title" too."""
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    names = {k.strip().lower() for k in obj if isinstance(k, str)}
    for key, value in obj.items():
        name = key.strip().lower() if isinstance(key, str) else key
        if name in ALIASES and ALIASES[name] not in names:  # the alias counts unless the real name is there
            name = ALIASES[name]
        if name in KNOWN_FIELDS:
            if name in known:  # "Title" and "title": which one did the author mean?
                raise ReadError(f"field '{name}' is given twice (in different spellings)")
            known[name] = value
        else:
            extra[str(key)] = value
    return known, extra


def build_article(
    fields: dict[str, Any],
    extra: dict[str, Any],
    *,
    source: SourceFile,
    line: int | None,
    index: int | None,
) -> Article:
    """Validate already-separated known fields and extras into an Article."""
    text = {name: _line_text(name, fields.get(name)) for name in _LINE_FIELDS}
    text.update({name: _prose_text(name, fields.get(name)) for name in _PROSE_FIELDS})
    if not text["title"]:
        raise ReadError("document has no title")
    _check_length("title", text["title"], MAX_TITLE_CHARS)
    _check_length("body", text["body"], MAX_BODY_CHARS)
    for name, limit in MAX_CHARS.items():
        _check_length(name, text[name], limit)
    return Article(
        id=_article_id(fields.get("id"), text["url"], source, line, index),
        sources=_sources(fields.get("sources")),
        date=parse_date(fields.get("date")),
        language=_language(fields.get("language")),
        extra=_extra(extra),
        path=source.name,
        line=line,
        **text,
    )


def read_failure(
    source: SourceFile, error: ReadError, *, line: int | None = None, prefix: str = ""
) -> ReadFailure:
    """The reportable form of a ReadError raised while reading ``source``."""
    return ReadFailure(source.name, prefix + error.reason, error.line if line is None else line)


def type_name(value: Any) -> str:
    """Name a value's type the way a JSON/YAML author would think of it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, date):
        return "date"
    return type(value).__name__


def clean_text(value: str) -> str:
    """NFC, LF newlines, no control characters but tab/newline, no lone surrogates, no outer whitespace."""
    return _CONTROL.sub("", normalize_text(_SURROGATE.sub("\ufffd", value))).strip()


def split_paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs of marked-up prose (n-ag, Markdown).

    Soft-wrapped lines are joined with a space and ``**bold**``/``__bold__``
    markers dropped, so the index sees the words and not the layout.
    """
    return [
        _EMPHASIS.sub(r"\2", " ".join(block.split()))
        for block in _BLANK_LINES.split(text)
        if block.strip()
    ]


def parse_date(value: Any) -> datetime | None:
    """ISO 8601 date/datetime (one-digit day/month tolerated) -> naive UTC datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _in_range(_naive_utc(value, str(value)), str(value))
    if isinstance(value, date):
        return _in_range(datetime(value.year, value.month, value.day), str(value))
    text = _line_text("date", value)
    if not text:
        return None
    match = _ISO_DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        year, month, day, rest = match.groups()
        moment = datetime.fromisoformat(f"{year}-{int(month):02d}-{int(day):02d}{rest}")
    except ValueError:
        raise ReadError(f"field 'date': {_preview(text)} is not an ISO 8601 date") from None
    return _in_range(_naive_utc(moment, text), text)


def _naive_utc(moment: datetime, text: str) -> datetime:
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except (OverflowError, ValueError):  # 9999-12-31T23:00-05:00 is in the year 10000 in UTC
        raise ReadError(f"field 'date': {_preview(text)} is out of range in UTC") from None


def _in_range(moment: datetime, text: str) -> datetime:
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ReadError(f"field 'date': {_preview(text)} is outside the years {MIN_YEAR}-{MAX_YEAR} "
                        f"(a placeholder, not a date?)")
    return moment


def _text(name: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ReadError(f"field '{name}' must be text, got {type_name(value)}")
    return clean_text(value)


def _line_text(name: str, value: Any) -> str:
    return " ".join(_text(name, value).split())


def _prose_text(name: str, value: Any) -> str:
    lines = "\n".join(line.rstrip() for line in _text(name, value).split("\n"))
    return _EXTRA_BLANK_LINES.sub("\n\n", lines)


def _check_length(name: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise ReadError(f"{name} is {len(text)} characters; the limit is {limit}")


def _preview(text: str, limit: int = 60) -> str:
    """Quote a value for a message without pasting 10 KB of it."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _sources(value: Any) -> list[str]:
    """Source list as bare lowercase domains/names, de-duplicated in order."""
    if value is None:
        return []
    if isinstance(value, str):
        names = _SOURCE_SEPARATORS.split(_strip_tags(value))
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        names = [_strip_tags(item) for item in value]
    else:
        raise ReadError(f"field 'sources' must be text or a list of text, got {type_name(value)}")
    sources = list(dict.fromkeys(filter(None, map(_source_name, names))))
    if len(sources) > MAX_SOURCES:
        raise ReadError(f"field 'sources' has {len(sources)} entries; the limit is {MAX_SOURCES}")
    for name in sources:
        _check_length("a source", name, MAX_SOURCE_CHARS)
    return sources


def _strip_tags(text: str) -> str:
    return _TAG.sub(" ", html.unescape(text))


def _source_name(raw: str) -> str:
    name = _SCHEME.sub("", " ".join(clean_text(raw).lower().split()))
    return _URL_TAIL.sub("", name).removeprefix("www.").strip(" .")


def _language(value: Any) -> str:
    text = _line_text("language", value).lower()
    if not text:
        return ""
    match = _LANGUAGE.fullmatch(text)
    if match is None:
        raise ReadError(f"field 'language': {_preview(text)} is not a two-letter language code")
    return match.group(1)


def _article_id(
    raw: Any, url: str, source: SourceFile, line: int | None, index: int | None
) -> str:
    """The document's own id, else its URL, else where it sits on disk."""
    if raw is not None and (isinstance(raw, bool) or not isinstance(raw, (str, int))):
        raise ReadError(f"field 'id' must be text or an integer, got {type_name(raw)}")
    if isinstance(raw, int) and raw.bit_length() > 64:
        raise ReadError("field 'id': the number is too large for an id (more than 20 digits)")
    if isinstance(raw, str) and _SURROGATE.search(raw):
        raise ReadError("field 'id' contains a lone surrogate (like \\udcff), which is not text; "
                        "an id must be valid Unicode")
    own = unicodedata.normalize("NFC", str(raw)).strip() if raw is not None else ""
    article_id = own or url or _location_id(source, line, index)
    problem = _id_problem(article_id)
    if problem:
        raise ReadError(f"id {_preview(article_id)} is not allowed: {problem}")
    return article_id


def _location_id(source: SourceFile, line: int | None, index: int | None) -> str:
    if index is not None:
        return f"{source.relpath}#{index}"
    if line is not None:
        return f"{source.relpath}#L{line}"
    return source.relpath


def _id_problem(article_id: str) -> str | None:
    """Ids end up in URLs and file names, so refuse anything path-like or invisible."""
    if len(article_id) > MAX_ID_CHARS:
        return f"it is {len(article_id)} characters; the limit is {MAX_ID_CHARS}"
    if _ANY_CONTROL.search(article_id):
        return "it contains control characters"
    if article_id.startswith("/"):
        return "it starts with '/'"
    if ".." in re.split(r"[/\\]", article_id):
        return "it contains a '..' path segment"
    return None


def _extra(extra: dict[Any, Any]) -> dict[str, Any]:
    """The unknown fields as JSON values, within ``MAX_EXTRA_CHARS`` together."""
    values = {clean_text(str(key)): _jsonable(value) for key, value in extra.items()}
    if values:
        size = len(json.dumps(values, ensure_ascii=False))
        if size > MAX_EXTRA_CHARS:
            raise ReadError(f"the fields besides the article's own ({', '.join(map(_preview, list(values)[:3]))}"
                            f"{', ...' if len(values) > 3 else ''}) are {size} characters as JSON; "
                            f"the limit is {MAX_EXTRA_CHARS}")
    return values


def _jsonable(value: Any) -> Any:
    """Extras are stored as JSON, so turn YAML dates, tuples, NaN and huge integers into JSON values."""
    if isinstance(value, str):
        return clean_text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -(2**63) <= value < 2**63:
            return value
        if value.bit_length() > _MAX_INT_BITS:  # too long even to write in decimal
            raise ReadError(f"a field holds a number of about {int(value.bit_length() * 0.30103)} digits; "
                            f"numbers are stored up to 4,000 digits")
        return str(value)  # beyond 64 bits: JSON readers elsewhere would round it
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {clean_text(str(key)): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
