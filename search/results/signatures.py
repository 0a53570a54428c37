"""Documents' signatures as sparse vectors, for related coverage's cosine similarities.

A signature (``search.index.stories.signature``) is a document's top tf-idf
terms, L2-normalised.  Related coverage compares an article with a hundred
candidates, and each of its ten nearest neighbours with a hundred more: eleven
hundred cosines per call.  As dictionaries that is two million Python steps;
here every signature becomes sorted term numbers and weights (one numbering of
terms per commit), and one ``cosines`` call compares a vector with many
documents at once.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

import numpy as np

CAPACITY = 50_000  # vectors kept (a few kB each)

Vector = tuple[np.ndarray, np.ndarray]  # (ascending term numbers, weights)


class Signatures:
    """The signatures of one commit's documents, loaded through ``load`` (ref -> {term: weight})."""

    def __init__(self, load: Callable[[Hashable], dict[str, float]], capacity: int = CAPACITY):
        self._load = load
        self._capacity = capacity
        self._numbers: dict[str, int] = {}
        self._terms: list[str] = []
        self._vectors: OrderedDict[Hashable, Vector] = OrderedDict()
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

    def of(self, ref: Hashable) -> Vector:
        """The vector of a document's stored signature."""
        with self._lock:
            found = self._vectors.get(ref)
            if found is not None:
                self._vectors.move_to_end(ref)
                return found
        found = self.vector(self._load(ref))
        with self._lock:
            self._vectors[ref] = found
            if len(self._vectors) > self._capacity:
                self._vectors.popitem(last=False)
        return found

    def weights(self, ref: Hashable) -> dict[str, float]:
        """A document's signature as a dictionary (heaviest first, as stored)."""
        ids, values = self.of(ref)
        order = np.argsort(-values, kind="stable")
        terms = self._terms
        return {terms[i]: float(values[k]) for k, i in zip(order.tolist(), ids[order].tolist())}

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
        vectors = [self.of(r) for r in refs]
        lengths = np.fromiter((len(v[0]) for v in vectors), dtype=np.int64, count=len(vectors))
        ids = np.concatenate([v[0] for v in vectors])
        values = np.concatenate([v[1] for v in vectors])
        qids, qvalues = query
        if not len(qids) or not len(ids):
            return np.zeros(len(refs))
        dense = self._dense(max(int(ids.max()), int(qids[-1])) + 1)
        dense[qids] = qvalues  # the query as a dense row: one gather gives every product (0 where absent)
        try:
            products = dense[ids] * values
        finally:
            dense[qids] = 0.0
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        filled = np.flatnonzero(lengths > 0)  # reduceat needs segments that start inside the array
        sums = np.zeros(len(refs))
        sums[filled] = np.add.reduceat(products, starts[filled])
        return sums
