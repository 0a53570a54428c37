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
from collections.abc import Callable
from typing import Any

from whoosh import columns
from whoosh.fields import COLUMN, DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.formats import Frequency, Positions
from whoosh.system import pack_uint

from search.analysis import SURFACE, FusedChain, analyzer, index_analyzer, surface_analyzer, surface_counts
from search.backend.base import Record
from search.index.fields import TEXT_ROLES, text_field  # noqa: F401 - re-exported


class _Fused:
    """A Whoosh format fed by a fused chain's term lists instead of one Token per word."""

    field_boost: float  # the Whoosh format's, which this is mixed into
    _encode: Callable[[list[int]], bytes]  # each subclass's own encoding of a term's positions

    def fused_items(self, value: str, analyzer: FusedChain,
                    mode: str = "index") -> list[tuple[bytes, int, float, bytes]]:
        """(UTF-8 term, frequency, weight, encoded value) per distinct term, as ``Field.index`` gives them."""
        poses, weights = analyzer.tally(value, mode)
        boost, encode = self.field_boost, self._encode
        return [(text.encode("utf-8"), len(poslist), weights[text] * boost, encode(poslist))
                for text, poslist in poses.items()]

    def word_values(self, value, analyzer, **kwargs):
        if not isinstance(analyzer, FusedChain) or not isinstance(value, str):
            return super().word_values(value, analyzer, **kwargs)
        items = self.fused_items(value, analyzer, kwargs.get("mode", "index"))
        return ((t.decode("utf-8"), f, w, v) for t, f, w, v in items)


class FusedPositions(_Fused, Positions):
    """Whoosh's positions format (title, teaser, body per language)."""

    @staticmethod
    def _encode(poslist: list[int]) -> bytes:
        """``Positions.encode``: the count, then the pickled gaps (remembered for a single position,
        which most of a text's terms have)."""
        if len(poslist) == 1:
            encoded = _ONE_POSITION.get(poslist[0])
            if encoded is None:
                encoded = _ONE_POSITION[poslist[0]] = pack_uint(1) + pickle.dumps(poslist, 2)
            return encoded
        return pack_uint(len(poslist)) + pickle.dumps([b - a for a, b in zip([0, *poslist], poslist)], 2)


_ONE_POSITION: dict[int, bytes] = {}


class FusedFrequency(_Fused, Frequency):
    """Whoosh's frequency format (the ``exact`` field)."""

    @staticmethod
    def _encode(poslist: list[int]) -> bytes:
        return pack_uint(len(poslist))

    def fused_items(self, value: str, analyzer: FusedChain,
                    mode: str = "index") -> list[tuple[bytes, int, float, bytes]]:
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


def document(record: Record) -> dict[str, Any]:
    """The Whoosh fields of one record (``search.backend.base.Record``)."""
    doc, lang, date = record["display"], record["language"], record["date"]
    title, teaser, body = doc["title"], doc["teaser"], doc["body"]
    location, sources, category = doc["location"], doc["sources"], doc["category"]
    fields: dict[str, Any] = {
        "id": record["id"], "doc": pack_doc(doc), "src": record["src"],
        "exact": f"{title}\n{teaser}\n{body}", "language": doc["language"], "story": record["story"],
    }
    for role, value in zip(TEXT_ROLES, (title, teaser, body)):
        if value:
            fields[text_field(role, lang)] = value
    # Every column gets a value, empty or not: see facets.column_value.
    fields.update(location_col=location.encode(), source_col="\t".join(sources).encode(),
                  category_col=category.encode())
    if location:
        fields.update(loc=location, location=location.lower())
    if sources:
        fields["source"] = ",".join(sources)
    if category:
        fields["category"] = category.lower()
    if date:
        fields.update(date=date, month=date.strftime("%Y-%m"), day=date.strftime("%Y-%m-%d"))
    return fields


def pack_doc(doc: dict[str, Any]) -> str:
    """The display record as JSON text.  Whoosh compresses stored fields itself; compressing here
    as well (as indexes before 2026-11-26 did) cost a second zlib pass per article for 3 % less."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def decode_doc(raw: Any) -> dict[str, Any]:
    """A stored display record: JSON text, or zlib-compressed JSON in older indexes."""
    if isinstance(raw, str):
        return json.loads(raw)
    if isinstance(raw, bytes):
        return json.loads(zlib.decompress(raw))
    return dict(raw or {})


def unpack_doc(stored: dict[str, Any]) -> dict[str, Any]:
    """The display record of a document's stored fields."""
    return decode_doc(stored.get("doc"))


_SIGNATURE_KEY = ',"signature":'


def display_record(stored: dict[str, Any]) -> dict[str, Any]:
    """The display record without its signature (``unpack_doc`` minus the key that is most of its decoding
    time: two hundred terms and weights), for result lists and article pages."""
    raw = stored.get("doc")
    if isinstance(raw, str):
        at = raw.rfind(_SIGNATURE_KEY)
        if at >= 0:
            try:
                doc = json.loads(raw[:at] + "}")
                doc.pop("lead", None)
                return doc
            except ValueError:
                pass
    doc = decode_doc(raw)
    doc.pop("signature", None)
    doc.pop("lead", None)
    return doc


def record_signature(stored: dict[str, Any]) -> dict[str, float]:
    """The signature of a stored display record without decoding the whole record: it is the record's last
    key (``Indexer.record`` puts it there, ``pack_doc`` writes compact JSON), and the body before it is most
    of the record's size."""
    raw = stored.get("doc")
    if isinstance(raw, str):
        at = raw.rfind(_SIGNATURE_KEY)
        if at >= 0:
            try:
                value = json.loads(raw[at + len(_SIGNATURE_KEY):-1])
            except ValueError:
                value = None
            if isinstance(value, dict):
                return value
    return decode_doc(raw).get("signature", {})
