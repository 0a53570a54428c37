"""Presentation helpers for the reader UI: dates, links, body structure, paging.

Pure functions over engine data; no request state except where noted.
"""
from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from . import i18n

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$", re.I)
_LANG_CODE_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z]{2,4})?$")
_MARK_SPLIT_RE = re.compile(r"(</?mark>)")
_HEADING_MAX = 80
_FINAL_PUNCT = ".!?:;…,"
_TRAILING_QUOTES = "\"'“”„«»‚‘’)]"


def parse_date(value: object) -> datetime | date | None:
    """An ISO 8601 string (or date/datetime) as a date/datetime; None if unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, (datetime, date)):
        return value
    s = str(value).strip()
    try:
        if len(s) == 10:
            return date.fromisoformat(s)
        return datetime.fromisoformat(s)
    except ValueError:
        try:
            return date.fromisoformat(s[:10])
        except ValueError:
            return None


def as_utc(value: object) -> datetime | None:
    """A timezone-aware UTC datetime (naive values and plain dates count as UTC)."""
    d = parse_date(value)
    if d is None:
        return None
    if not isinstance(d, datetime):
        d = datetime(d.year, d.month, d.day, tzinfo=UTC)
    elif d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return d.astimezone(UTC)


def format_date(value: object, lang: str) -> str:
    """``2. März 2026`` (de) / ``2 Mar 2026`` (en); the raw value if it is no date."""
    d = parse_date(value)
    if d is None:
        return "" if value is None else str(value)
    month = i18n.translate(lang, f"month_{d.month}")
    if lang == "de":
        return f"{d.day}. {month} {d.year}"
    return f"{d.day} {month} {d.year}"


def iso_date(value: object) -> str:
    """Value for a ``<time datetime>`` attribute."""
    d = parse_date(value)
    return d.isoformat() if d is not None else ""


def highlight_html(fragment: object) -> Markup:
    """An engine highlight fragment as safe HTML.

    The engine escapes everything except ``<mark>``/``</mark>``; this keeps
    exactly those tags and escapes anything else that looks like markup, so a
    broken fragment cannot inject HTML.
    """
    if fragment is None:
        return Markup("")
    parts = _MARK_SPLIT_RE.split(str(fragment))
    out: list[str] = []
    depth = 0
    for part in parts:
        if part == "<mark>":
            depth += 1
            out.append(part)
        elif part == "</mark>":
            if depth > 0:
                depth -= 1
                out.append(part)
        else:
            out.append(part.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;"))
    out.extend("</mark>" for _ in range(depth))
    return Markup("".join(out))


def join_fragments(fragments: object) -> Markup:
    """Highlight fragments as one snippet, with an ellipsis between them unless they carry one."""
    if not isinstance(fragments, (list, tuple)):
        fragments = [fragments] if fragments else []
    out: list[Markup] = []
    for frag in fragments:
        html = highlight_html(frag)
        if out:
            if str(out[-1]).endswith("…") and str(html).startswith("…"):
                html = Markup(str(html)[1:].lstrip())
                out.append(Markup(" "))
            elif str(out[-1]).endswith("…") or str(html).startswith("…"):
                out.append(Markup(" "))
            else:
                out.append(Markup(" … "))
        out.append(html)
    return Markup("").join(out)


def external_url(url: object) -> str | None:
    """``url`` if it is an absolute http(s) URL that is safe to link, else None."""
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(c in url for c in "\x00\r\n\t <>\"'`"):
        return None
    return url


def source_link(source: object) -> tuple[str, str | None]:
    """(label, href) for an outlet: ``spiegel.de`` -> ``https://spiegel.de``; no href if not a domain."""
    label = str(source or "").strip()
    if _DOMAIN_RE.match(label):
        return label, "https://" + label.lower()
    href = external_url(label)
    if href:
        return urlsplit(href).netloc, href
    return label, None


def content_lang(code: object) -> str | None:
    """A value fit for a ``lang`` attribute, or None."""
    if isinstance(code, str) and _LANG_CODE_RE.match(code.strip()):
        return code.strip()
    return None


@dataclass
class Block:
    kind: str  # "p", "h2" or "h3"
    text: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.text.split("\n")]


def is_subheading(paragraph: str) -> bool:
    """A short paragraph (< 80 chars) on one line, not ending in sentence punctuation."""
    p = paragraph.strip()
    if not p or len(p) >= _HEADING_MAX or "\n" in p:
        return False
    stripped = p.rstrip(_TRAILING_QUOTES).rstrip()
    if not stripped or stripped[-1] in _FINAL_PUNCT:
        return False
    return any(c.isalpha() for c in stripped)


_SENTENCE_END = re.compile(r"[.!?:…][\"'“”»«)\]]*$")


def _paragraphs(body: str) -> list[str]:
    """Blank-line separated paragraphs; a block whose lines are sentences (archives that put one paragraph
    on each line) is one paragraph per line."""
    out: list[str] = []
    for raw in body.replace("\r\n", "\n").split("\n\n"):
        lines = [line for line in raw.split("\n") if line.strip()]
        if len(lines) > 1 and sum(bool(_SENTENCE_END.search(line.strip())) for line in lines) * 2 >= len(lines):
            out.extend(lines)
        else:
            out.append(raw)
    return out


def body_blocks(body: object) -> list[Block]:
    """Split a body into paragraphs and sub-headings (h2; h3 right after another heading)."""
    blocks: list[Block] = []
    for raw in _paragraphs(str(body or "")):
        p = raw.strip()
        if not p:
            continue
        m = re.match(r"^(#{2,3})\s+(.+)$", p)
        if m and "\n" not in p:
            blocks.append(Block("h2" if len(m.group(1)) == 2 else "h3", m.group(2).strip()))
        elif is_subheading(p):
            kind = "h3" if blocks and blocks[-1].kind in ("h2", "h3") else "h2"
            blocks.append(Block(kind, p))
        else:
            blocks.append(Block("p", p))
    # A heading as the very last block heads nothing: show it as text.
    if blocks and blocks[-1].kind != "p":
        blocks[-1] = Block("p", blocks[-1].text)
    return blocks


def period_range(key: str) -> tuple[str, str] | None:
    """Histogram bucket key -> (date_from, date_to): ``2026-03`` -> 2026-03-01..2026-03-31."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}", key):
            y, m = int(key[:4]), int(key[5:7])
            last = calendar.monthrange(y, m)[1]
            return f"{y:04d}-{m:02d}-01", f"{y:04d}-{m:02d}-{last:02d}"
        if re.fullmatch(r"\d{4}", key):
            return f"{key}-01-01", f"{key}-12-31"
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", key):
            date.fromisoformat(key)
            return key, key
    except ValueError:
        return None
    return None


def period_label(key: str, lang: str) -> str:
    if re.fullmatch(r"\d{4}-\d{2}", key):
        m = int(key[5:7])
        if 1 <= m <= 12:
            return f"{i18n.translate(lang, f'month_{m}')} {key[:4]}"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", key):
        return format_date(key, lang)
    return key


def bar_level(count: int, maximum: int) -> int:
    """Bar height class 0..10 (at least 1 for a non-empty bucket)."""
    if maximum <= 0 or count <= 0:
        return 0
    return max(1, min(10, round(10 * count / maximum)))


def page_window(current: int, last: int, radius: int = 2) -> list[int | None]:
    """Page numbers to show, None for a gap: 1 … 4 5 [6] 7 8 … 20."""
    if last <= 1:
        return [1] if last == 1 else []
    pages = {1, last} | set(range(max(1, current - radius), min(last, current + radius) + 1))
    out: list[int | None] = []
    prev = 0
    for p in sorted(pages):
        if p - prev > 1:
            out.append(None)
        out.append(p)
        prev = p
    return out


def page_count(total: int, size: int, max_page: int) -> int:
    return min(max_page, max(0, math.ceil(total / size))) if size > 0 else 0


def format_seconds(took_ms: object, lang: str) -> str:
    try:
        s = f"{float(took_ms) / 1000:.2f}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return s.replace(".", ",") if lang == "de" else s


__all__ = [
    "Block", "as_utc", "bar_level", "body_blocks", "content_lang", "escape", "external_url", "format_date",
    "format_seconds", "highlight_html", "iso_date", "is_subheading", "page_count", "page_window",
    "parse_date", "period_label", "period_range", "source_link",
]
