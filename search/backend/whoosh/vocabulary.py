"""A segment's vocabulary of one field as compact arrays: every term with its document frequency.

Wildcard words, autocomplete and did-you-mean all ask "which words start with
this, most frequent first": walking Whoosh's term table for that costs a
Python step per term of the prefix's range (tens of thousands for "ge").  A
segment's terms are read once into one byte string with offsets and a
frequency array (a few bytes per term; segments never change), so a prefix is
two binary searches and the most frequent terms of its range one
``argpartition``.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from search.results.suggest import edit_distance

_DF = struct.Struct("!I")  # W3TermInfo: 1 byte flags, a 4-byte float weight, then the document frequency


@dataclass(frozen=True)
class SegmentVocabulary:
    """Sorted UTF-8 terms (``blob`` cut at ``offsets``) and their document frequencies."""

    blob: bytes
    offsets: np.ndarray  # n + 1 positions into blob
    df: np.ndarray

    def __len__(self) -> int:
        return len(self.df)

    def term(self, i: int) -> bytes:
        return self.blob[self.offsets[i]:self.offsets[i + 1]]

    def prefix_range(self, prefix: bytes) -> tuple[int, int]:
        """[lo, hi) of the terms starting with ``prefix``."""
        lo = self._bisect(prefix)
        hi = self._bisect(prefix + b"\xff") if prefix else len(self)
        return lo, hi

    def _bisect(self, key: bytes) -> int:
        lo, hi = 0, len(self)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.term(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def top(self, prefix: bytes, limit: int) -> list[tuple[bytes, int]]:
        """Up to ``limit`` (term, df) starting with ``prefix``, most frequent first."""
        lo, hi = self.prefix_range(prefix)
        if lo >= hi:
            return []
        df = self.df[lo:hi]
        if hi - lo > limit:
            pick = np.argpartition(-df, limit - 1)[:limit]
        else:
            pick = np.arange(hi - lo)
        pick = pick[np.lexsort((pick, -df[pick]))]
        return [(self.term(lo + int(i)), int(df[i])) for i in pick]


    def within(self, word: str, maxdist: int, prefix: int, limit: int) -> list[tuple[bytes, int]]:
        """Terms within ``maxdist`` edits (Damerau-Levenshtein, adjacent transpositions) of ``word`` that share
        its first ``prefix`` characters: the ``limit`` most frequent, looking at the ``SCAN`` most frequent
        candidates of a plausible length only (typos of rare words are rarely worth a correction)."""
        head = word[:prefix].encode("utf-8")
        lo, hi = self.prefix_range(head)
        if lo >= hi:
            return []
        size = np.diff(self.offsets[lo:hi + 1])  # UTF-8 bytes: a character is 1 to 4 of them
        target = len(word.encode("utf-8"))
        plausible = np.flatnonzero(np.abs(size - target) <= 2 * maxdist)
        if len(plausible) > SCAN:
            plausible = plausible[np.argpartition(-self.df[lo:hi][plausible], SCAN - 1)[:SCAN]]
        found = []
        letters = set(word)
        for i in plausible.tolist():
            term = self.term(lo + i)
            text = term.decode("utf-8")
            if abs(len(text) - len(word)) > maxdist or len(letters.symmetric_difference(text)) > 2 * maxdist:
                continue  # an edit changes at most two of the letters a word has
            if edit_distance(word, text, maxdist) <= maxdist:
                found.append((term, int(self.df[lo + i])))
        found.sort(key=lambda kv: (-kv[1], kv[0]))
        return found[:limit]


SCAN = 500


def read_vocabulary(leaf, fieldname: str) -> SegmentVocabulary:
    """Every term of ``fieldname`` in one segment, read from Whoosh's ordered term table."""
    terms = leaf._terms  # W3TermsReader
    parts: list[bytes] = []
    dfs: list[int] = []
    if fieldname in terms._fieldmap:
        fieldkey = terms._keycoder(fieldname, b"")
        for key, value in terms._tindex.items_from(fieldkey):
            if not key.startswith(fieldkey):
                break
            parts.append(key[len(fieldkey):])
            dfs.append(_DF.unpack_from(value, 5)[0])
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    if parts:
        np.cumsum([len(p) for p in parts], out=offsets[1:])
    return SegmentVocabulary(b"".join(parts), offsets, np.array(dfs, dtype=np.int32))
