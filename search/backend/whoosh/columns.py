"""A segment's columns read whole: the doc values and norms beside the postings.

Whoosh decodes a column value per call; facet counts, date filters, sorting,
story collapse and BM25 length normalisation need every document's value, so
each column of a segment is read once into an array (Lucene keeps doc values
and norms the same way).  Segments never change, so this happens once per
segment and process.  ``tests/test_postings.py`` compares every value with
Whoosh's own column readers.
"""
from __future__ import annotations

from itertools import accumulate

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

#: Raw value of a document without a date in Whoosh's ``DATETIME`` column (its default, 2**64 - 1).
NO_DATE = np.iinfo(np.uint64).max


def text_values(leaf, column: str) -> list[bytes]:
    """Each document's value of a ``VarBytesColumn`` (``b""`` for none)."""
    count = leaf.doc_count_all()
    if column not in leaf.schema or not leaf.has_column(column):
        return [b""] * count
    reader = leaf.column_reader(column, translate=False)
    lengths = reader._lengths
    offsets = reader._offsets if reader._offsets is not None else [0, *accumulate(lengths)][:len(lengths)]
    data = reader._dbfile.get(reader._basepos, sum(lengths)) if len(lengths) else b""
    values = [data[o:o + n] for o, n in zip(offsets, lengths)]
    return values + [b""] * (count - len(values))


def dates(leaf, column: str = "date") -> np.ndarray:
    """Each document's raw date value (microseconds since ``datetime.min``), ``NO_DATE`` for none."""
    count = leaf.doc_count_all()
    out = np.full(count, NO_DATE, dtype=np.uint64)
    if column not in leaf.schema or not leaf.has_column(column):
        return out
    reader = leaf.column_reader(column, translate=False)
    stored = min(reader._count, count)
    if stored:
        raw = reader._dbfile.get(reader._basepos, stored * 8)
        out[:stored] = np.frombuffer(raw, dtype=">u8")
    return out


def length_codes(leaf, fieldname: str) -> np.ndarray:
    """One byte per document: Whoosh's encoded length of ``fieldname`` (0 where it has none)."""
    count = leaf.doc_count_all()
    out = np.zeros(count, dtype=np.uint8)
    column = leaf._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if column is None:
        return out
    stored = min(column._count, count)
    if stored:
        out[:stored] = np.frombuffer(column._dbfile.get(column._basepos, stored), dtype=np.uint8)
    return out


def deleted(leaf) -> np.ndarray:
    """Boolean per document: deleted in this segment."""
    out = np.zeros(leaf.doc_count_all(), dtype=bool)
    if leaf.has_deletions():
        out[sorted(leaf._perdoc.deleted_docs())] = True
    return out
