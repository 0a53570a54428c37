"""A segment's postings as arrays: one decode per term, then vectorised work over them.

Whoosh reads postings through a matcher, a Python call per posting.  Here a
term's postings are decoded once into a document-id array and a weight array
(numpy), the way Lucene's codecs hand out blocks of doc ids, and the query
path (``search.results.match``) adds, intersects and scores whole arrays.

The format is Whoosh 2.7's ``W3`` codec, read without its matcher: a term's
postings are either inlined in the term table (a pickled tuple of ids,
weights and values) or a run of blocks in the segment's postings file, each
``int32 length`` (negative for the last block), a pickled info tuple, then the
(optionally zlib-compressed) pickled ``(delta-coded ids, weights, values)``.
``tests/test_postings.py`` checks every term of test indexes against Whoosh's
own matcher.  Only ``get`` (a slice of the memory-mapped segment file) is used,
so decoding needs no lock: Whoosh's ``seek``/``read`` keep a file position.
"""
from __future__ import annotations

import io
import pickle
import struct
import zlib
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.reading import TermNotFound

_INT = struct.Struct("!i")
_EMPTY_IDS = np.zeros(0, dtype=np.int32)
_EMPTY_WEIGHTS = np.zeros(0, dtype=np.float32)


@dataclass(frozen=True)
class Postings:
    """One term's postings in one segment: local document numbers (ascending) and weights; ``values``
    (Whoosh's encoded per-posting values, positions for text fields) only when asked for."""

    ids: np.ndarray
    weights: np.ndarray
    values: tuple[bytes, ...] | None = None

    @property
    def nbytes(self) -> int:
        size = self.ids.nbytes + self.weights.nbytes + 64
        if self.values is not None:
            size += sum(len(v) for v in self.values) + 40 * len(self.values)
        return size


EMPTY = Postings(_EMPTY_IDS, _EMPTY_WEIGHTS, ())


def read_postings(leaf, fieldname: str, btext: bytes, with_values: bool = False) -> Postings | None:
    """The postings of ``btext`` in ``fieldname`` of one segment reader, deleted documents included
    (as Whoosh's statistics count them); None when the segment lacks the term."""
    terms = leaf._terms  # W3TermsReader
    try:
        info = terms.term_info(fieldname, btext)
    except (TermNotFound, KeyError):
        return None
    return term_postings(terms, info, with_values)


def term_postings(terms, info, with_values: bool = False) -> Postings:
    """The postings a term's ``W3TermInfo`` in the segment's term reader ``terms`` points to."""
    if info.is_inlined():
        ids, weights, values = info.inlined_postings()
        return Postings(np.asarray(ids, dtype=np.int32), np.asarray(weights, dtype=np.float32),
                        tuple(values) if with_values else None)
    offset, length = info.extent()
    if isinstance(length, tuple):  # Whoosh 2.7 reads the length back as a 1-tuple (``unpack_int``)
        length = length[0]
    return _read_blocks(terms._postfile, offset, length, with_values)


def _read_blocks(postfile, offset: int, length: int, with_values: bool) -> Postings:
    if postfile.get(offset, 4) != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"posting list at {offset} lacks Whoosh's block header")
    raw = postfile.get(offset + 4, length - 4)
    ids_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []
    values: list[bytes] = []
    pos, end = 0, len(raw)
    while pos < end:
        size = _INT.unpack_from(raw, pos)[0]
        last = size < 0
        size = -size if last else size
        block = memoryview(raw)[pos + 4: pos + 4 + size]
        stream = io.BytesIO(block)
        count, _maxid, _maxweight, compression, _mnlen, _mxlen = pickle.load(stream)
        data: bytes | memoryview = block[stream.tell():]
        if compression:
            data = zlib.decompress(data)
        ids, weights, vals = pickle.loads(data)
        ids_parts.append(np.fromiter(accumulate(ids), dtype=np.int32, count=count))
        if weights is None:
            weight_parts.append(np.ones(count, dtype=np.float32))
        elif isinstance(weights, float):
            weight_parts.append(np.full(count, weights, dtype=np.float32))
        else:
            weight_parts.append(np.asarray(weights, dtype=np.float32))
        if with_values:  # Whoosh's ``_mini_values``: a tuple, fixed-size values joined, or None for none
            if isinstance(vals, tuple):
                values.extend(vals)
            elif isinstance(vals, bytes) and vals:
                width = len(vals) // count
                values.extend(vals[i:i + width] for i in range(0, len(vals), width))
            else:
                values.extend((b"",) * count)
        pos += 4 + size
        if last:
            break
    if not ids_parts:
        return EMPTY
    ids_all = ids_parts[0] if len(ids_parts) == 1 else np.concatenate(ids_parts)
    weights_all = weight_parts[0] if len(weight_parts) == 1 else np.concatenate(weight_parts)
    return Postings(ids_all, weights_all, tuple(values) if with_values else None)


def positions(value: bytes) -> list[int]:
    """Whoosh's ``Positions`` value: the count, then the pickled gaps."""
    if not value:
        return []
    gaps = pickle.loads(value[4:])
    return list(accumulate(gaps))


def position_keys(postings: Postings, base: int) -> np.ndarray:
    """Every (document, position) of a term as one sorted int64 key, ``(base + doc) << 32 | position``:
    phrases and nearness become array look-ups (``search.results.match``)."""
    lists = [positions(v) for v in postings.values or ()]
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    if not counts.sum():
        return np.zeros(0, dtype=np.int64)
    docs = np.repeat(postings.ids.astype(np.int64) + base, counts)
    pos = np.fromiter((p for lst in lists for p in lst), dtype=np.int64, count=int(counts.sum()))
    return (docs << 32) | pos
