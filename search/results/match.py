"""Evaluating a plan over posting arrays: the match set and its scores, vectorised.

Every plan node (``search.query.plan``) evaluates to ``Hits``: ascending
document numbers and one score each.  A term's hits come from the source
(``scored``: BM25F per document, computed once per commit); compound nodes add,
intersect and subtract whole arrays with numpy instead of stepping a matcher
per posting.  Scores follow Whoosh's matchers (the sum of the children's
scores, boosts multiplied in), so rankings match the Whoosh query path they
replace (``tests/test_match.py`` compares them on real indexes).

Bonuses that need positions (``Near``) only ever add to documents that match
anyway; where a plan allows it they are *deferred*: the evaluator returns the
match set without them and the ranker (``search.results.rank``) computes them
for the best candidates only, with an upper bound that keeps the top k exact.

A ``Budget`` bounds the work a query may cause: wildcard and fuzzy words
expand to at most ``max_expansions`` terms (the most frequent), a query to
``max_clauses`` term look-ups, and a deadline stops evaluation (``Timeout``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from search.query import plan as P
from search.results.collect import Ordinals

_EMPTY_IDS = np.zeros(0, dtype=np.int32)
_EMPTY_SCORES = np.zeros(0, dtype=np.float64)
_MICROSECOND = timedelta(microseconds=1)
_DENSE_SHARE = 16  # above n / 16 postings, sums go through a dense array of all documents


class Source(Protocol):
    """What the evaluator reads: one commit's arrays (``search.backend.whoosh.snapshot.Snapshot``)."""

    n: int
    live: np.ndarray
    has_deletions: bool

    def scored(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]: ...
    def positions(self, field: str, term: str, docs: np.ndarray) -> list[list[int]]: ...
    def position_keys(self, field: str, term: str) -> np.ndarray: ...  # sorted doc << 32 | position
    def top_prefix_terms(self, field: str, prefix: str, limit: int) -> list[str]: ...
    def top_terms_within(self, field: str, text: str, maxdist: int, prefix: int, limit: int) -> list[str]: ...
    def dates(self) -> np.ndarray: ...  # int64 microseconds since datetime.min, -1 for none
    def ordinals(self, column: str, multi: bool = False) -> Ordinals: ...


class Timeout(Exception):
    """The query ran past its deadline (``Budget.seconds``)."""


@dataclass
class Budget:
    """How much work one query may cause; ``notes`` says where it was cut."""

    max_expansions: int = 200
    max_clauses: int = 5000
    seconds: float | None = None
    started: float = field(default_factory=time.perf_counter)
    clauses: int = 0
    notes: list[str] = field(default_factory=list)

    def check(self) -> None:
        if self.seconds is not None and time.perf_counter() - self.started > self.seconds:
            raise Timeout(f"the query took longer than {self.seconds:g} s")

    def charge(self, clauses: int = 1) -> bool:
        """Count term look-ups; False once the query has used its share."""
        self.clauses += clauses
        return self.clauses <= self.max_clauses

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@dataclass(frozen=True)
class Hits:
    """Documents (ascending numbers) and their scores."""

    ids: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


EMPTY = Hits(_EMPTY_IDS, _EMPTY_SCORES)


@dataclass(frozen=True)
class Deferred:
    """A ``Near`` bonus left for the ranker, with the factor the enclosing sums multiply it by."""

    node: P.Near
    scale: float


class Evaluator:
    """Evaluates plan nodes over one source; ``deferred`` collects the bonuses left for ranking."""

    def __init__(self, source: Source, budget: Budget | None = None, defer: bool = True):
        self.src = source
        self.n = source.n
        self.budget = budget or Budget()
        self.defer = defer
        self.deferred: list[Deferred] = []
        self.expanded: dict[tuple[str, str], list[str]] = {}  # (field, word) -> terms, for highlighting

    def run(self, node: P.Node) -> Hits:
        """The live documents matching ``node``, with scores."""
        return self._eval(node, 1.0 if self.defer else None)

    # Each ``_eval`` gets ``scale``: the factor enclosing sums multiply this node's score by, or None where a
    # deferred bonus would not be exact (inside intersections, exclusions, filters, the all-words factor).
    def _eval(self, node: P.Node, scale: float | None) -> Hits:
        self.budget.check()
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node, scale)

    # -- leaves ---------------------------------------------------------------------------------------------
    def _term(self, node: P.Term, scale: float | None) -> Hits:
        if not self.budget.charge():
            self.budget.note("the query is too long: only its first words were searched")
            return EMPTY
        ids, scores = self.src.scored(node.field, node.text)
        return Hits(ids, scores * node.boost if node.boost != 1.0 else scores)

    def _prefix(self, node: P.Prefix, scale: float | None) -> Hits:
        terms = self._expand(node.field, node.text,
                             lambda limit: self.src.top_prefix_terms(node.field, node.text, limit))
        hits = _union([self._term(P.Term(node.field, t), None) for t in terms], self.n, ids_only=True)
        return Hits(hits.ids, np.full(len(hits.ids), float(node.boost)))

    def _fuzzy(self, node: P.Fuzzy, scale: float | None) -> Hits:
        terms = self._expand(node.field, node.text, lambda limit: self.src.top_terms_within(
            node.field, node.text, node.maxdist, node.prefix, limit))
        return _union([self._term(P.Term(node.field, t, node.boost), None) for t in terms], self.n)

    def _expand(self, field: str, text: str, find) -> list[str]:
        limit = self.budget.max_expansions
        terms = find(limit + 1)
        if len(terms) > limit:
            self.budget.note(f"{text}: only the {limit} most frequent of its many words were searched")
            terms = terms[:limit]
        self.expanded[(field, text)] = terms
        return terms

    def _phrase(self, node: P.Phrase, scale: float | None) -> Hits:
        parts = [self._term(P.Term(node.field, t), None) for t in node.terms]
        if not parts or any(not len(p) for p in parts):
            return EMPTY
        both = _intersect(parts)
        if len(node.terms) > 1 and len(both):
            keep = self._phrase_docs(node, both.ids)
            both = Hits(both.ids[keep], both.scores[keep])
        return Hits(both.ids, both.scores * node.boost) if node.boost != 1.0 else both

    def _phrase_docs(self, node: P.Phrase, docs: np.ndarray) -> np.ndarray:
        """Boolean per doc of ``docs``: the terms occur in order, each within ``slop`` of the previous."""
        if node.slop == 1:  # consecutive positions: shift the keys one position per word
            keys = keys_in(self.src.position_keys(node.field, node.terms[0]), docs)
            for term in node.terms[1:]:
                following = self.src.position_keys(node.field, term)
                at = np.searchsorted(following, keys + 1)
                at[at == len(following)] = 0
                keys = keys[following[at] == keys + 1] + 1 if len(following) else keys[:0]
                if not len(keys):
                    break
            return member(docs, np.unique(keys >> 32), self.n)
        lists = [self.src.positions(node.field, t, docs) for t in node.terms]
        slop = node.slop
        keep = np.zeros(len(docs), dtype=bool)
        for i in range(len(docs)):
            spans = [(p, p) for p in lists[0][i]]
            for other in lists[1:]:
                spans = _extend_spans(spans, other[i], slop)
                if not spans:
                    break
            keep[i] = bool(spans)
        return keep

    def _near(self, node: P.Near, scale: float | None) -> Hits:
        if scale is not None:
            self.deferred.append(Deferred(node, scale))
            return EMPTY
        return near_scores(self.src, node, None)

    def _every(self, node: P.Every, scale: float | None) -> Hits:
        ids = np.flatnonzero(self.src.live).astype(np.int32)
        return Hits(ids, np.ones(len(ids)))

    def _nothing(self, node: P.Nothing, scale: float | None) -> Hits:
        return EMPTY

    def _value(self, node: P.Value, scale: float | None) -> Hits:
        terms: list[P.Node] = []
        for value in node.values:
            terms.append(P.Term(node.field, value))
            if node.field == "source":  # "quelle:zeit" finds zeit.de too
                terms.append(P.Prefix(node.field, value + "."))
        hits = _union([self._eval(t, None) for t in terms], self.n, ids_only=True)
        return Hits(hits.ids, np.zeros(len(hits.ids)))

    def _daterange(self, node: P.DateRange, scale: float | None) -> Hits:
        ids = date_mask_ids(self.src.dates(), self.src.live, node.start, node.end)
        return Hits(ids, np.zeros(len(ids)))

    # -- compounds ------------------------------------------------------------------------------------------
    def _sum(self, node: P.Sum, scale: float | None) -> Hits:
        inner = None if scale is None else scale * node.boost
        parts = [self._eval(c, inner) for c in node.children]
        if node.boost != 1.0:
            parts = [Hits(p.ids, p.scores * node.boost) for p in parts]
        return _union(parts, self.n)

    def _allwords(self, node: P.AllWords, scale: float | None) -> Hits:
        parts = [self._eval(c, None) for c in node.children]
        if len(parts) == 1:
            return parts[0]
        if any(not len(p) for p in parts):
            return _union(parts, self.n)
        total, held = _union_counted(parts, self.n, counted=True)
        if not len(total):
            return total
        every = held == len(parts)
        scores = total.scores.copy()
        scores[every] += scores[every] * node.bonus
        return Hits(total.ids, scores)

    def _all(self, node: P.All, scale: float | None) -> Hits:
        parts = [self._eval(c, None) for c in node.children]
        if len(parts) == 1:
            return parts[0]
        both = _intersect(parts)
        return Hits(both.ids, both.scores * node.boost) if node.boost != 1.0 else both

    def _boosted(self, node: P.Boosted, scale: float | None) -> Hits:
        base = self._eval(node.base, scale)
        if not len(base):
            return base
        extra = self._eval(node.extra, scale)
        return add_where(base, extra)

    def _exclude(self, node: P.Exclude, scale: float | None) -> Hits:
        base = self._eval(node.base, scale)
        if not len(base):
            return base
        without = self._eval(node.without, None)
        return restrict(base, without.ids, keep=False)

    def _filter(self, node: P.Filter, scale: float | None) -> Hits:
        base = self._eval(node.base, scale)
        for f in node.must:
            if not len(base):
                break
            base = restrict(base, self._eval(f, None).ids, keep=True)
        for f in node.must_not:
            if not len(base):
                break
            base = restrict(base, self._eval(f, None).ids, keep=False)
        return base


# -- array operations ---------------------------------------------------------------------------------------
def _union(parts: list[Hits], n: int, ids_only: bool = False) -> Hits:
    """Documents in any part; scores added in part order."""
    return _union_counted(parts, n, ids_only)[0]


def _union_counted(parts: list[Hits], n: int, ids_only: bool = False,
                   counted: bool = False) -> tuple[Hits, np.ndarray | None]:
    """``_union``, and with ``counted`` how many of the parts hold each document (else None).  Over a large
    share of the index the documents are counted in arrays of the index's size; ``flatnonzero`` is given a
    boolean array there, which it scans several times faster than a count."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return EMPTY, (np.zeros(0, dtype=np.int64) if counted else None)
    if len(parts) == 1:
        return parts[0], (np.ones(len(parts[0]), dtype=np.int64) if counted else None)
    total = sum(len(p) for p in parts)
    if total * _DENSE_SHARE > n:
        every = np.concatenate([p.ids for p in parts])
        scores = None if ids_only else np.concatenate([p.scores for p in parts])
        # one pass in part order: each document's scores are added in the order the parts give them
        acc = None if scores is None else np.bincount(every, weights=scores, minlength=n)
        seen = None
        if counted:
            seen = np.bincount(every, minlength=n)
            ids = np.flatnonzero(seen > 0)
        elif acc is not None and scores is not None and scores.min() > 0:  # a score marks a match
            ids = np.flatnonzero(acc > 0)
        else:
            mask = np.zeros(n, dtype=bool)
            mask[every] = True
            ids = np.flatnonzero(mask)
        hits = Hits(ids.astype(np.int32), np.zeros(len(ids)) if acc is None else acc[ids])
        return hits, (None if seen is None else seen[ids])
    ids = np.concatenate([p.ids for p in parts])
    return sum_by_document(ids, None if ids_only else np.concatenate([p.scores for p in parts]), counted)


def sum_by_document(ids: np.ndarray, scores: np.ndarray | None,
                    counted: bool = False) -> tuple[Hits, np.ndarray | None]:
    """Postings end to end (``ids`` in any order) as one list: each document once, ascending, its scores added
    in the order given (zeros without ``scores``); with ``counted`` how many postings each has."""
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    first = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
    held = np.diff(np.append(first, len(ids))) if counted else None
    if scores is None:
        return Hits(ids[first], np.zeros(len(first))), held
    return Hits(ids[first], np.add.reduceat(scores[order], first)), held


def _intersect(parts: list[Hits]) -> Hits:
    """Documents in every part; scores added in part order."""
    result = parts[0]
    for p in parts[1:]:
        if not len(result):
            break
        ia, ib = common(result.ids, p.ids)
        result = Hits(result.ids[ia], result.scores[ia] + p.scores[ib])
    return result


def common(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``a`` and in ``b`` of the numbers both hold (both ascending, unique): a binary search per
    number of the shorter one (or one table for long ones), where ``np.intersect1d`` sorts both again."""
    if len(a) > len(b):
        ib, ia = common(b, a)
        return ia, ib
    if not len(a) or not len(b):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    n = int(max(a[-1], b[-1])) + 1
    if len(a) * 32 > n:  # both hold a good share of the index: a table of positions in ``b`` beats the searches
        where = np.full(n, -1, dtype=np.int32)
        where[b] = np.arange(len(b), dtype=np.int32)
        ib = where.take(a)
        found = ib >= 0
        return np.flatnonzero(found), ib[found].astype(np.int64)
    at = np.searchsorted(b, a)
    at[at == len(b)] = len(b) - 1
    found = b[at] == a
    return np.flatnonzero(found), at[found]


def keys_in(keys: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """The ``doc << 32 | position`` keys (sorted) of the documents ``docs`` (ascending): two binary searches
    per document, where a mask over every key of a common word costs a pass over millions of positions."""
    if not len(keys) or not len(docs):
        return keys[:0]
    if len(docs) * 64 > len(keys):  # most documents have the word: one pass is cheaper
        return keys[member(keys >> 32, docs, int(max(docs[-1], keys[-1] >> 32)) + 1)]
    starts = docs.astype(np.int64) << 32
    lo = np.searchsorted(keys, starts)
    hi = np.searchsorted(keys, starts + (1 << 32))
    lengths = hi - lo
    total = int(lengths.sum())
    if not total:
        return keys[:0]
    return keys[ranges(lo, lengths)]


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions ``starts[i]:starts[i] + lengths[i]`` of every range, end to end: each range's offset
    repeated over its length, plus a running count (no Python step per range)."""
    return np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))


def member(values: np.ndarray, ids: np.ndarray, n: int) -> np.ndarray:
    """Boolean per value: it is one of ``ids`` (ascending document numbers below ``n``)."""
    if not len(ids) or not len(values):
        return np.zeros(len(values), dtype=bool)
    if len(ids) * 64 < len(values):
        at = np.searchsorted(ids, values)
        at[at == len(ids)] = 0
        return ids[at] == values
    mask = np.zeros(n, dtype=bool)
    mask[ids] = True
    return mask[values]


def add_where(base: Hits, extra: Hits) -> Hits:
    """``base`` with ``extra``'s scores added where it has the same documents."""
    if not len(extra) or not len(base):
        return base
    n = int(max(base.ids[-1], extra.ids[-1])) + 1
    if (len(base) + len(extra)) * _DENSE_SHARE > n:  # a dense look-up table beats a binary search per document
        table = np.zeros(n)
        table[extra.ids] = extra.scores
        return Hits(base.ids, base.scores + table[base.ids])
    idx = np.searchsorted(extra.ids, base.ids)
    idx[idx == len(extra.ids)] = 0
    found = extra.ids[idx] == base.ids
    scores = base.scores.copy()
    scores[found] += extra.scores[idx[found]]
    return Hits(base.ids, scores)


def restrict(base: Hits, ids: np.ndarray, keep: bool) -> Hits:
    """``base`` limited to (``keep``) or without (not ``keep``) the documents in ``ids``."""
    if not len(ids):
        return base if not keep else Hits(base.ids[:0], base.scores[:0])
    inside = member(base.ids, ids, int(max(base.ids[-1], ids[-1])) + 1 if len(base) else 0)
    mask = inside if keep else ~inside
    return Hits(base.ids[mask], base.scores[mask])


def _extend_spans(spans: list[tuple[int, int]], following: list[int], slop: int) -> list[tuple[int, int]]:
    """Whoosh's ``SpanNear2`` step (ordered, mindist 1): spans followed by a position within ``slop``."""
    out = set()
    for start, end in spans:
        for pos in following:
            if pos < start:
                continue
            dist = 0 if pos <= end else pos - end
            if 1 <= dist <= slop:
                out.add((start, max(end, pos)))
            elif pos > end + slop:
                break
    return sorted(out)


def near_scores(src: Source, node: P.Near, among: np.ndarray | None, memo: dict | None = None) -> Hits:
    """Documents (of ``among``, or all) where ``second`` follows ``first`` within ``slop`` positions, scored
    as both terms' scores times the boost (Whoosh's sloppy two-word phrase)."""
    both, scores = _both(src, node, memo)
    if among is not None and len(both):
        inside = member(both, among, src.n)
        both, scores = both[inside], scores[inside]
    if not len(both):
        return EMPTY
    first = keys_in(src.position_keys(node.field, node.first), both)
    second = src.position_keys(node.field, node.second)
    after = np.searchsorted(second, first + 1)  # the second word's next position after each of the first's
    inside = after < len(second)
    first, following = first[inside], second[after[inside]]
    close = ((following >> 32) == (first >> 32)) & (following - first <= node.slop)
    keep = member(both, first[close] >> 32, src.n)
    return Hits(both[keep], scores[keep] * node.boost if node.boost != 1.0 else scores[keep])


def _both(src: Source, node: P.Near, memo: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """Documents with both words, and both words' scores added (remembered in ``memo`` for one ranking)."""
    if memo is not None and node in memo:
        return memo[node]
    a_ids, a_scores = src.scored(node.field, node.first)
    b_ids, b_scores = src.scored(node.field, node.second)
    ia, ib = common(a_ids, b_ids)
    found = (a_ids[ia], a_scores[ia] + b_scores[ib])
    if memo is not None:
        memo[node] = found
    return found


def near_bound(src: Source, deferred: list[Deferred], ids: np.ndarray, memo: dict | None = None) -> np.ndarray:
    """For each of ``ids``, the most its deferred bonuses can add (both words present, close or not)."""
    bound = np.zeros(len(ids))
    for d in deferred:
        both, scores = _both(src, d.node, memo)
        if len(both):
            bound = add_where(Hits(ids, bound), Hits(both, scores * (d.node.boost * d.scale))).scores
    return bound


def deferred_scores(src: Source, deferred: list[Deferred], ids: np.ndarray, memo: dict | None = None) -> np.ndarray:
    """The exact deferred bonuses of ``ids`` (ascending)."""
    total = np.zeros(len(ids))
    for d in deferred:
        hits = near_scores(src, d.node, ids, memo)
        if d.scale != 1.0:
            hits = Hits(hits.ids, hits.scores * d.scale)
        total = add_where(Hits(ids, total), hits).scores
    return total


def date_mask_ids(micros: np.ndarray, live: np.ndarray, start: datetime | None, end: datetime | None) -> np.ndarray:
    """Live documents dated within [start, end]; ``micros`` as ``Source.dates`` gives them."""
    mask = (micros >= 0) & live
    if start is not None:
        mask &= micros >= to_micros(start)
    if end is not None:
        mask &= micros <= to_micros(end)
    return np.flatnonzero(mask).astype(np.int32)


def to_micros(moment: datetime) -> int:
    """Microseconds since ``datetime.min``: the unit of ``Source.dates``."""
    return (moment.replace(tzinfo=None) - datetime.min) // _MICROSECOND
