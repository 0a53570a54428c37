"""Reader for n-ag plain-text articles, the archive's main format.

Layout: title line, teaser paragraph, body paragraphs (the first one opens
with a dateline "Ort, Land - ..."), a ``Key<TAB>Value`` trailer and the
footer "Besuchen Sie uns auf: n-ag.de".  Nothing but blank lines marks the
parts, so each is recognised by shape and anything unexpected is kept.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from search.ingest.article import Article
from search.ingest.encoding import require_content
from search.ingest.fields import build_article, split_paragraphs

if TYPE_CHECKING:
    from search.ingest import SourceFile

#: Trailer keys (lowercase) that fill Article fields; other keys go to ``extra``.
TRAILER_FIELDS = {
    "vorfall": "category",
    "ort": "location",
    "quellen": "sources",
    "datum": "date",
    "sprache": "language",
    "url": "url",
    "link": "url",
    "id": "id",
}

_FOOTER = re.compile(r"\s*Besuchen Sie uns auf:\s*(\S+?)\.?\s*", re.IGNORECASE)
_TRAILER_LINE = re.compile(r"(\S[^\t]{0,39})\t+(.*)")
#: "Washington, USA - Text": a short place without sentence punctuation, a spaced dash.
_DATELINE = re.compile(r"(?P<place>[^\W\d_][^.:;!?]{0,59}?) [-–—] (?P<rest>\S.*)")


def parse_n_ag(text: str, *, source: SourceFile) -> Article:
    """Parse one n-ag article from text as returned by ``encoding.decode``."""
    require_content(text)
    lines, publisher = _without_footer(text.split("\n"))
    lines, trailer = _split_trailer(lines)
    title, paragraphs = _title_and_paragraphs(lines)
    teaser, body = (paragraphs[0], paragraphs[1:]) if paragraphs else ("", [])
    location, body = _dateline(body)
    fields: dict[str, Any] = {
        "title": title,
        "teaser": teaser,
        "body": "\n\n".join(body),
        "location": location,
        "publisher": publisher,
    }
    extra: dict[str, Any] = {}
    for key, value in trailer:
        field = TRAILER_FIELDS.get(key.lower())
        if field is None:
            extra[key] = value
        elif value:
            fields[field] = value
    return build_article(fields, extra, source=source, line=None, index=None)


def _without_footer(lines: list[str]) -> tuple[list[str], str]:
    """Drop footer lines wherever they are; their domain is the publisher."""
    publisher = ""
    kept = []
    for line in lines:
        match = _FOOTER.fullmatch(line)
        if match:
            publisher = match.group(1)
        else:
            kept.append(line)
    return kept, publisher


def _split_trailer(lines: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Split off the trailing paragraphs that open with a ``Key<TAB>Value`` line."""
    start = len(lines)
    for begin in reversed(_paragraph_starts(lines)):
        if not _TRAILER_LINE.fullmatch(lines[begin]):
            break
        start = begin
    return lines[:start], _trailer_entries(lines[start:])


def _paragraph_starts(lines: list[str]) -> list[int]:
    return [
        number for number, line in enumerate(lines)
        if line.strip() and (number == 0 or not lines[number - 1].strip())
    ]


def _trailer_entries(lines: list[str]) -> list[tuple[str, str]]:
    """Key/value pairs; a line without a tab continues the previous value (HTML lists)."""
    entries: list[list[str]] = []
    for line in lines:
        match = _TRAILER_LINE.fullmatch(line)
        if match:
            entries.append([match.group(1).strip(), match.group(2)])
        elif line.strip():
            entries[-1][1] += "\n" + line
    return [(key, value.strip()) for key, value in entries]


def _title_and_paragraphs(lines: list[str]) -> tuple[str, list[str]]:
    """The first non-empty line is the title, the rest is paragraphs."""
    title_line, _, rest = "\n".join(lines).strip().partition("\n")
    return " ".join(split_paragraphs(title_line)), split_paragraphs(rest)


def _dateline(body: list[str]) -> tuple[str, list[str]]:
    """(place, body without the dateline) when the first paragraph opens with one."""
    match = _DATELINE.fullmatch(body[0]) if body else None
    if match is None:
        return "", body
    return match["place"], [match["rest"], *body[1:]]
