"""The Whoosh schema: display fields stored once, text indexed per language.

Each language gets its own ``title_xx``/``teaser_xx``/``body_xx`` fields so
that its analysis chain (and BM25 length statistics) apply only to its
documents.  Facet fields are lower-cased ID terms for filtering plus a
column with the display value for counting.
"""
from __future__ import annotations

import json
import pickle
import zlib
from collections import defaultdict
from typing import Any

from whoosh import columns
from whoosh.fields import COLUMN, DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.formats import Frequency, Positions
from whoosh.system import pack_uint

from .analysis import PART_BOOST, SURFACE, FusedChain, analyzer, index_analyzer, surface_analyzer, surface_counts

TEXT_ROLES = ("title", "teaser", "body")
SCHEMA_VERSION = 1


def text_field(role: str, lang: str) -> str:
    return f"{role}_{lang}"


def _tally(analyzer: FusedChain, value: str, mode: str) -> tuple[dict[str, list[int]], dict[str, float]]:
    """(term -> positions, term -> summed weight) of one text, as Whoosh's formats count them."""
    poses: dict[str, list[int]] = defaultdict(list)
    weights: dict[str, float] = defaultdict(float)
    texts, positions, parts = analyzer.postings(value, mode)
    for text, pos, part in zip(texts, positions, parts):
        poses[text].append(pos)
        weights[text] += PART_BOOST if part is None else 1.0
    return poses, weights


class _Fused:
    """A Whoosh format fed by a fused chain's term lists instead of one Token per word."""

    def fused_items(self, value: str, analyzer: FusedChain, mode: str = "index") -> list[tuple[bytes, int, float, bytes]]:
        """(UTF-8 term, frequency, weight, encoded value) per distinct term, as ``Field.index`` gives them."""
        poses, weights = _tally(analyzer, value, mode)
        boost, encode = self.field_boost, self._encode
        return [(text.encode("utf-8"), len(poslist), weights[text] * boost, encode(poslist))
                for text, poslist in poses.items()]

    def word_values(self, value, analyzer, **kwargs):
        if not isinstance(analyzer, FusedChain) or not isinstance(value, str):
            return super().word_values(value, analyzer, **kwargs)
        return ((t.decode("utf-8"), f, w, v) for t, f, w, v in self.fused_items(value, analyzer, kwargs.get("mode", "index")))


class FusedPositions(_Fused, Positions):
    """Whoosh's positions format (title, teaser, body per language)."""

    @staticmethod
    def _encode(poslist: list[int]) -> bytes:
        """``Positions.encode``: the count, then the pickled gaps."""
        return pack_uint(len(poslist)) + pickle.dumps([b - a for a, b in zip([0, *poslist], poslist)], 2)


class FusedFrequency(_Fused, Frequency):
    """Whoosh's frequency format (the ``exact`` field)."""

    @staticmethod
    def _encode(poslist: list[int]) -> bytes:
        return pack_uint(len(poslist))

    def fused_items(self, value: str, analyzer: FusedChain, mode: str = "index") -> list[tuple[bytes, int, float, bytes]]:
        counts = surface_counts(value) if analyzer.lang == SURFACE else None
        if counts is None:
            return super().fused_items(value, analyzer, mode)
        boost = self.field_boost
        return [(text.encode("utf-8"), n, n * boost, pack_uint(n)) for text, n in counts.items()]


def fused_items(field, value) -> list[tuple[bytes, int, float, bytes]] | None:
    """A field's postings for one value straight from its fused chain, or None where Whoosh's
    own ``field.index`` must make them."""
    if isinstance(field.format, _Fused) and isinstance(field.analyzer, FusedChain) and isinstance(value, str):
        return field.format.fused_items(value, field.analyzer)
    return None


def _text(chain, phrase: bool) -> TEXT:
    field = TEXT(analyzer=chain, phrase=phrase)
    fmt = FusedPositions if phrase else FusedFrequency
    field.format = fmt(field_boost=field.format.field_boost)
    return field


def build_schema(languages: list[str]) -> Schema:
    fields = {
        "id": ID(stored=True, unique=True),
        "doc": STORED(),               # the display record: title, body, sources, ...
        "src": ID(stored=True),         # the file it came from, for re-index bookkeeping
        "exact": _text(surface_analyzer(), phrase=False),  # surface words
        "loc": TEXT(analyzer=analyzer("xx")),        # location as searchable words
        "location": ID(), "location_col": COLUMN(columns.VarBytesColumn()),
        "source": KEYWORD(lowercase=True, commas=True, scorable=True),
        "source_col": COLUMN(columns.VarBytesColumn()),
        "category": ID(), "category_col": COLUMN(columns.VarBytesColumn()),
        "language": ID(sortable=True),
        "date": DATETIME(sortable=True),
        "month": ID(sortable=True),     # "2026-03": the histogram bucket
        "day": ID(),                    # "2026-03-14": same-story candidates come from a few days
        "story": ID(stored=True, sortable=True),
    }
    for lang in languages:
        chain = index_analyzer(lang)
        for role in TEXT_ROLES:
            fields[text_field(role, lang)] = _text(chain, phrase=True)
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
