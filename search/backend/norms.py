"""Field lengths as both backends score them, so that a ranking does not depend on the backend.

BM25 divides a document's field length by the average.  Whoosh keeps each
length in one byte (``length_to_byte``, rounding up in steps of a few per
cent); Lucene, under OpenSearch, in another byte (``SmallFloat.intToByte4``:
24 values for themselves, then four significant bits, rounding down; exact
below 40).  Scored as each
engine does it, the same article came out up to 5 % apart, enough to reorder
near neighbours.  So both score one length: Whoosh's stored length ``L``,
scaled by the field's token repeat ``s`` (``scale``; a word is indexed ``s``
times at its position in OpenSearch) and encoded the Lucene way:

* the OpenSearch writer pads each field to exactly ``s * L`` tokens, and an
  empty field holds one placeholder token (Lucene averages over the documents
  that have the field);
* the Whoosh searcher uses ``lucene(s * L) / s`` as the length and
  ``(s * sum(L) + empty) / (s * N)`` as the average (``lengths``, ``average``).

Lucene's encoding is implemented here from its definition (4 significant
bits, 24 values reserved for the exact small lengths).
"""
from __future__ import annotations

import numpy as np
from whoosh.util.numeric import byte_to_length, length_to_byte

from search.index.fields import role_of

#: A word's term is indexed this many times at its position in OpenSearch (its frequency, scaled), a compound
#: part ``PART_BOOST`` times as often (3 of 10: Whoosh's 0.3, exactly); the text fields' BM25 takes ``k1``
#: times this, so that BM25 of the scaled frequencies is Whoosh's BM25 times a constant.
WHOLE_REPEAT = 10

_FREE = 24  # Lucene: byte values below this are the length itself
#: Whoosh's length for each of its 256 length bytes.
WHOOSH_LENGTHS = np.array([byte_to_length(code) for code in range(256)], dtype=np.int64)


def scale(field: str) -> int:
    """How many tokens a unit of Whoosh's length is in OpenSearch: ``WHOLE_REPEAT`` in the per-language
    text fields, one elsewhere."""
    return WHOLE_REPEAT if role_of(field) is not None else 1


def padded(length: int, field: str) -> int:
    """How many tokens the OpenSearch writer gives a field of Whoosh length ``length``: the scaled length
    Whoosh stores for it (at least one, the placeholder of an empty field)."""
    return max(1, scale(field) * byte_to_length(length_to_byte(length)))


def _int4(i: int) -> int:
    bits = i.bit_length()
    if bits < 4:
        return i
    shift = bits - 4
    return ((i >> shift) & 0x07) | ((shift + 1) << 3)


def _from_int4(i: int) -> int:
    bits, shift = i & 0x07, (i >> 3) - 1
    return bits if shift == -1 else (bits | 0x08) << shift


def lucene(length: int) -> int:
    """The length Lucene's BM25 reads back for a field of ``length`` tokens (its one-byte norm, decoded)."""
    if length < _FREE:
        return length
    return _FREE + _from_int4(_int4(length - _FREE))


def lengths(field: str) -> np.ndarray:
    """For each Whoosh length byte: the length both backends score with (Lucene's, of the scaled length,
    in Whoosh's units)."""
    s = scale(field)
    return np.array([lucene(s * int(n)) / s for n in WHOOSH_LENGTHS])


def average(codes: np.ndarray, field: str) -> float:
    """The average length over documents with these length bytes, as Lucene counts it for the padded
    fields (every document has the field, an empty one as one placeholder token), in Whoosh's units."""
    if not len(codes):
        return 1.0
    s = scale(field)
    total = s * int(WHOOSH_LENGTHS[codes].sum()) + int(np.count_nonzero(codes == 0))
    return total / (s * len(codes)) or 1.0
