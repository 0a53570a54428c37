"""The Whoosh schema: display fields stored once, text indexed per language.

Each language gets its own ``title_xx``/``teaser_xx``/``body_xx`` fields so
that its analysis chain (and BM25 length statistics) apply only to its
documents.  Facet fields are lower-cased ID terms for filtering plus a
column with the display value for counting.
"""
from __future__ import annotations

import json
import zlib
from typing import Any

from whoosh import columns
from whoosh.fields import COLUMN, DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from .analysis import analyzer, exact_analyzer

TEXT_ROLES = ("title", "teaser", "body")
SCHEMA_VERSION = 1


def text_field(role: str, lang: str) -> str:
    return f"{role}_{lang}"


def build_schema(languages: list[str]) -> Schema:
    fields = {
        "id": ID(stored=True, unique=True),
        "doc": STORED(),               # the display record: title, body, sources, ...
        "src": ID(stored=True),         # the file it came from, for re-index bookkeeping
        "exact": TEXT(analyzer=exact_analyzer(), phrase=False),  # surface words
        "loc": TEXT(analyzer=analyzer("xx")),        # location as searchable words
        "location": ID(), "location_col": COLUMN(columns.VarBytesColumn()),
        "source": KEYWORD(lowercase=True, commas=True, scorable=True),
        "source_col": COLUMN(columns.VarBytesColumn()),
        "category": ID(), "category_col": COLUMN(columns.VarBytesColumn()),
        "language": ID(sortable=True),
        "date": DATETIME(sortable=True),
        "month": ID(sortable=True),     # "2026-03": the histogram bucket
        "story": ID(stored=True, sortable=True),
    }
    for lang in languages:
        chain = analyzer(lang)
        for role in TEXT_ROLES:
            fields[text_field(role, lang)] = TEXT(analyzer=chain, phrase=True)
    return Schema(**fields)


def pack_doc(doc: dict[str, Any]) -> bytes:
    """The display record, compressed: stored text is most of an index's size."""
    return zlib.compress(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 6)


def unpack_doc(stored: dict[str, Any]) -> dict[str, Any]:
    """The display record of a document's stored fields."""
    raw = stored.get("doc")
    if isinstance(raw, bytes):
        return json.loads(zlib.decompress(raw))
    return dict(raw or {})
