"""Documents' signatures as sparse vectors, for related coverage's cosine similarities.

A signature (``search.index.stories.signature``) is a document's top tf-idf
terms (about two hundred), L2-normalised.  Related coverage compares an
article with a hundred candidates, and each of its ten nearest neighbours with
a hundred more: eleven hundred cosines, two hundred thousand products per
call.  Every signature becomes sorted term numbers and weights (one numbering
of terms per commit), packed end to end in two arrays like a sparse matrix's
rows; one ``cosines`` call gathers the rows of many documents at once and
compares them with a vector, without a Python step per term or per document
beyond finding its row.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence

import numpy as np

from search.results.match import ranges

CAPACITY = 8_000_000  # packed terms kept (12 bytes each: about 40,000 signatures); then the rows start afresh

Vector = tuple[np.ndarray, np.ndarray]  # (ascending term numbers, weights)


class _Rows:
    """Packed signatures: row ``i`` is ``ids[start[i]:start[i] + length[i]]`` (and ``values``).  Rows are only
    ever appended, and a full store is replaced rather than overwritten, so arrays a reader took stay valid."""

    def __init__(self, room: int = 1 << 16):
        self.ids = np.zeros(room, dtype=np.int32)
        self.values = np.zeros(room)
        self.start = np.zeros(1024, dtype=np.int64)
        self.length = np.zeros(1024, dtype=np.int64)
        self.row: dict[Hashable, int] = {}
        self.used = 0

    def add(self, ref: Hashable, vector: Vector) -> None:
        ids, values = vector
        end = self.used + len(ids)
        if end > len(self.ids):
            room = max(end, 2 * len(self.ids))
            self.ids = np.concatenate([self.ids[:self.used], np.zeros(room - self.used, dtype=np.int32)])
            self.values = np.concatenate([self.values[:self.used], np.zeros(room - self.used)])
        i = len(self.row)
        if i == len(self.start):
            self.start = np.concatenate([self.start, np.zeros(i, dtype=np.int64)])
            self.length = np.concatenate([self.length, np.zeros(i, dtype=np.int64)])
        self.ids[self.used:end] = ids
        self.values[self.used:end] = values
        self.start[i], self.length[i] = self.used, len(ids)
        self.row[ref] = i
        self.used = end

    def vector(self, ref: Hashable) -> Vector:
        i = self.row[ref]
        s, n = int(self.start[i]), int(self.length[i])
        return self.ids[s:s + n].astype(np.int64), self.values[s:s + n].copy()


class Signatures:
    """The signatures of one commit's documents, loaded through ``load`` (ref -> {term: weight})."""

    def __init__(self, load: Callable[[Hashable], dict[str, float]], capacity: int = CAPACITY):
        self._load = load
        self._capacity = capacity
        self._numbers: dict[str, int] = {}
        self._terms: list[str] = []
        self._rows = _Rows()
        self._lock = threading.Lock()
        self._scratch = threading.local()

    def vector(self, weights: dict[str, float]) -> Vector:
        """A signature dictionary as a vector (numbering its new terms)."""
        with self._lock:
            numbers = self._numbers
            for term in weights:
                if term not in numbers:
                    numbers[term] = len(self._terms)
                    self._terms.append(term)
            ids = np.fromiter((numbers[t] for t in weights), dtype=np.int64, count=len(weights))
        values = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
        order = np.argsort(ids)
        return ids[order], values[order]

    def _rows_of(self, refs: Sequence[Hashable]) -> tuple[_Rows, np.ndarray]:
        """The store holding every document of ``refs`` and their rows in it, loading those not held."""
        before = self._rows
        loaded = {r: self.vector(self._load(r)) for r in dict.fromkeys(refs) if r not in before.row}
        with self._lock:
            rows = self._rows
            for r in refs:  # held before, but another thread has since started the rows afresh
                if r not in rows.row and r not in loaded:
                    loaded[r] = before.vector(r)
            if rows.used + sum(len(v[0]) for v in loaded.values()) > self._capacity:
                kept = {r: rows.vector(r) for r in refs if r in rows.row and r not in loaded}
                rows = self._rows = _Rows()
                loaded.update(kept)
            for ref, vector in loaded.items():
                if ref not in rows.row:
                    rows.add(ref, vector)
            at = np.fromiter((rows.row[r] for r in refs), dtype=np.int64, count=len(refs))
        return rows, at

    def of(self, ref: Hashable) -> Vector:
        """The vector of a document's stored signature."""
        rows, _ = self._rows_of([ref])
        return rows.vector(ref)

    def weights(self, ref: Hashable, k: int | None = None) -> dict[str, float]:
        """A document's signature as a dictionary, heaviest first as stored (its ``k`` heaviest terms)."""
        ids, values = self.of(ref)
        order = np.argsort(-values, kind="stable")[:k]
        terms = self._terms
        return {terms[i]: float(v) for i, v in zip(ids[order].tolist(), values[order].tolist())}

    def _dense(self, size: int) -> np.ndarray:
        """This thread's zero row over the term numbers, at least ``size`` long."""
        row = getattr(self._scratch, "row", None)
        if row is None or len(row) < size:
            row = self._scratch.row = np.zeros(max(size, 2 * len(self._terms)))
        return row

    def cosines(self, query: Vector, refs: Sequence[Hashable]) -> np.ndarray:
        """The cosine of ``query`` with each document of ``refs`` (signatures are unit vectors)."""
        if not len(refs):
            return np.zeros(0)
        rows, at = self._rows_of(refs)
        lengths = rows.length[at]
        total = int(lengths.sum())
        qids, qvalues = query
        if not len(qids) or not total:
            return np.zeros(len(refs))
        starts = np.cumsum(lengths) - lengths  # each row's first product
        gather = ranges(rows.start[at], lengths)
        ids = rows.ids[gather]
        dense = self._dense(max(int(ids.max()), int(qids[-1])) + 1)
        dense[qids] = qvalues  # the query as a dense row: one gather gives every product (0 where absent)
        try:
            products = dense[ids] * rows.values[gather]
        finally:
            dense[qids] = 0.0
        filled = np.flatnonzero(lengths > 0)  # reduceat needs segments that start inside the array
        sums = np.zeros(len(refs))
        sums[filled] = np.add.reduceat(products, starts[filled])
        return sums
