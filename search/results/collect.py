"""Counting the matches: facets, the date histogram and story sizes, from document-value arrays.

Counts are exact and need no scores: a facet is ``np.bincount`` over the
ordinals of the matching documents; a facet with a selection counts the
matches of the *other* selections (so checking a box never hides its
alternatives).  Labels with equal counts keep the order of their first
matching document.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from search.contract import FacetValue, HistogramBucket

FACET_LIMIT = 20  # values listed per facet (the selected ones always)


class Ordinals(Protocol):
    """A text column as numbers (``search.backend.whoosh.snapshot.Ordinals``): ``ords[doc]`` indexes
    ``labels``, or with ``docs`` set, ``docs`` and ``ords`` are (doc, ordinal) pairs side by side."""

    @property
    def labels(self) -> list[str]: ...
    @property
    def ords(self) -> np.ndarray: ...
    @property
    def docs(self) -> np.ndarray | None: ...
    @property
    def shifted(self) -> np.ndarray: ...  # ords + 1 (0: no value), for a single-valued column
    @property
    def uniform(self) -> bool: ...  # one label, held by every document
    def split(self, n_docs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class Counts:
    """Matches per label, most frequent first (ties: first matching document first): every label with a
    match, or the first ``limit`` of them when counted with a limit, and then ``rest`` answers for the
    others (a selected value listed although it is not among the most frequent)."""

    items: list[tuple[str, int]]
    rest: Callable[[str], int] | None = None

    def get(self, label: str) -> int:
        found = dict(self.items).get(label)
        if found is not None:
            return found
        return self.rest(label) if self.rest is not None else 0


def count(ords: Ordinals, ids: np.ndarray, n_docs: int, limit: int | None = None) -> Counts:
    """How many of the documents ``ids`` (ascending) hold each label of a column (the ``limit`` most
    frequent, if given: a location column has thousands of labels, and a results page shows twenty).
    Where the ``limit`` most frequent labels' counts all differ, their order needs no first documents."""
    if not ords.labels or not len(ids):
        return Counts([])
    counts, firsts = _tally(ords, ids, n_docs)
    labels = np.flatnonzero(counts)
    if not len(labels):
        return Counts([])
    if _tied(counts.take(labels), limit):
        order = labels[np.lexsort((firsts().take(labels), -counts.take(labels)))] - 1
    else:
        order = labels[np.argsort(-counts.take(labels))] - 1
    counts = counts[1:]
    if limit is None or len(order) <= limit:
        return Counts([(ords.labels[i], int(counts[i])) for i in order.tolist()])
    return Counts([(ords.labels[i], int(counts[i])) for i in order[:limit].tolist()],
                  rest=lambda label: _label_count(ords.labels, counts, label))


def _tally(ords: Ordinals, ids: np.ndarray, n_docs: int) -> tuple[np.ndarray, Callable[[], np.ndarray]]:
    """Matches per ordinal + 1 (0, no value, counted as none), and how to find each one's first matching
    document (or pair), which only ties need."""
    size = len(ords.labels) + 1
    if ords.uniform:
        return np.array([0, len(ids)]), lambda: np.array([np.iinfo(np.int64).max, ids[0]])
    if ords.docs is None:
        values = ords.shifted.take(ids)
        counts = np.bincount(values, minlength=size)
        counts[0] = 0
        return counts, lambda: _first(values, ids, size)
    # (document, ordinal) pairs in document order: a document's first value, then the few other pairs
    primary, pair, other_docs, other_values, other_pairs = ords.split(n_docs)
    values = primary.take(ids)
    counts = np.bincount(values, minlength=size)
    if len(other_docs):
        at = np.minimum(np.searchsorted(ids, other_docs), len(ids) - 1)
        inside = ids.take(at) == other_docs
        other_values, other_pairs = other_values[inside], other_pairs[inside]
        counts += np.bincount(other_values, minlength=size)
    counts[0] = 0
    return counts, lambda: np.minimum(_first(values, pair.take(ids), size), _first(other_values, other_pairs, size))


def _tied(counts: np.ndarray, limit: int | None) -> bool:
    """Whether two of the labels listed (all, or the ``limit`` most frequent and those tied with the last of
    them) have the same count, so that their order needs each one's first matching document."""
    if limit is not None and len(counts) > limit:
        counts = counts[counts >= np.partition(counts, len(counts) - limit)[len(counts) - limit]]
    listed = counts.tolist()
    return len(set(listed)) < len(listed)


def _first(values: np.ndarray, positions: np.ndarray, size: int) -> np.ndarray:
    """Per value, the least of its ``positions`` (ascending): written backwards, the last write wins."""
    first = np.full(size, np.iinfo(np.int64).max)
    first[values[::-1]] = positions[::-1]
    return first


def _label_count(labels: list[str], counts: np.ndarray, label: str) -> int:
    try:
        return int(counts[labels.index(label)])
    except ValueError:
        return 0


def listing(counts: Counts, selected: list[str], limit: int = FACET_LIMIT) -> list[FacetValue]:
    """Most frequent first; selected values always listed, even at zero."""
    chosen = {s.lower() for s in selected}
    rows = counts.items[:limit]
    shown = {v.lower() for v, _ in rows}
    rows += [(s, counts.get(s)) for s in selected if s.lower() not in shown]
    return [{"value": v, "count": c, "selected": v.lower() in chosen} for v, c in rows]


def histogram(months: Ordinals, ids: np.ndarray, n_docs: int) -> tuple[list[HistogramBucket], list[HistogramBucket]]:
    """Matches per month (``YYYY-MM``) and per year, in time order, empty keys left out."""
    per_month: dict[str, int] = {}
    if months.labels and len(ids):
        counts = _tally(months, ids, n_docs)[0][1:]
        per_month = {months.labels[i]: int(counts[i]) for i in np.flatnonzero(counts).tolist()}
    per_year: dict[str, int] = {}
    for key, n in per_month.items():
        per_year[key[:4]] = per_year.get(key[:4], 0) + n
    return _buckets(per_month), _buckets(per_year)


def _buckets(counts: dict[str, int]) -> list[HistogramBucket]:
    return [{"key": k, "count": counts[k]} for k in sorted(counts) if k]


def story_keys(stories: Ordinals, ids: np.ndarray) -> np.ndarray:
    """Each document's story number (its own negative number when it has none)."""
    keys = stories.ords[ids].astype(np.int64)
    lonely = keys < 0
    keys[lonely] = -1 - ids[lonely].astype(np.int64)
    return keys
