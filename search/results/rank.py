"""Ordering the matches: the top k by score (exactly, without ranking the rest) or by date.

Scores from ``search.results.match`` are final except for deferred bonuses
(nearness), which only ever add.  Their upper bound (both words present) is
cheap to compute for every match; the exact bonus, which reads positions, is
computed for the best candidates by (score + bound) until the k-th best exact
score is at least the bound of every candidate left.  That is the top k a full
evaluation would give, at the cost of a few hundred position look-ups.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from search.results.match import Deferred, Hits, Source, deferred_scores, near_bound

FIRST_ROUND = 64  # candidates whose bonus is computed first; doubled until the top k is certain


def top_k(ids: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best (score descending, document number ascending), in that order."""
    n = len(ids)
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if k < n:
        kth = -np.partition(-scores, k - 1)[k - 1]
        chosen = np.flatnonzero(scores >= kth)  # everything tied with the k-th too: ties break by number
    else:
        chosen = np.arange(n)
    order = np.lexsort((ids[chosen], -scores[chosen]))
    return chosen[order[:k]]


def by_relevance(src: Source, hits: Hits, deferred: list[Deferred], k: int) -> Hits:
    """The best ``k`` of ``hits`` with their deferred bonuses added, best first."""
    if not deferred or not len(hits):
        pick = top_k(hits.ids, hits.scores, k)
        return Hits(hits.ids[pick], hits.scores[pick])
    memo: dict = {}
    upper = hits.scores + near_bound(src, deferred, hits.ids, memo)
    exact = np.full(len(hits), np.nan)
    size = max(FIRST_ROUND, 2 * k)
    while True:
        pick = top_k(hits.ids, upper, size)
        todo = pick[np.isnan(exact[pick])]
        if len(todo):
            todo.sort()
            exact[todo] = hits.scores[todo] + deferred_scores(src, deferred, hits.ids[todo], memo)
        known = np.flatnonzero(~np.isnan(exact))
        if len(known) == len(hits):
            break
        best = top_k(hits.ids[known], exact[known], k)
        rest = np.ones(len(hits), dtype=bool)
        rest[known] = False
        if len(best) == k and exact[known[best[-1]]] > upper[rest].max():
            break
        size *= 2
    best = known[top_k(hits.ids[known], exact[known], k)]
    return Hits(hits.ids[best], exact[best])


def by_date(hits: Hits, micros: np.ndarray, newest: bool, k: int) -> Hits:
    """The first ``k`` of ``hits`` by date, score 0: newest first (ties: higher number first, as Whoosh's
    reversed sort) or oldest first (ties: lower number first); undated articles last either way."""
    ids, when = hits.ids, micros[hits.ids]
    if 0 < k < len(ids):  # only the k-th date and those before it matter: sort those, not every hit
        key = np.where(when < 0, np.iinfo(np.int64).max, -when if newest else when)
        kept = np.flatnonzero(key <= np.partition(key, k - 1)[k - 1])
        ids, when = ids[kept], when[kept]
    undated = when < 0
    if newest:
        order = np.lexsort((-ids.astype(np.int64), -when, undated))[:k]
    else:
        order = np.lexsort((ids, when, undated))[:k]
    return Hits(ids[order], np.zeros(len(order)))


def rerank(head: Hits, factor: Callable[[np.ndarray], np.ndarray]) -> Hits:
    """``head`` with scores multiplied by ``factor(ids)``, re-sorted (ties by number)."""
    scores = head.scores * factor(head.ids)
    order = np.lexsort((head.ids, -scores))
    return Hits(head.ids[order], scores[order])
