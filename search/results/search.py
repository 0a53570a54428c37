"""One search over arrays: match, count and rank in one pass over the match set.

``run(source, request)`` evaluates the plan (``match``), applies the facet
and date filters as masks, counts facets, the histogram and story sizes from
document values (``collect``), and ranks only the page it returns (``rank``).
A backend that cannot hand out arrays (OpenSearch) answers the same
``SearchRequest`` with the same ``Matches`` in its own way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from search.contract import HistogramBucket
from search.query import plan as P
from search.results import collect, rank
from search.results.collect import Counts
from search.results.match import Budget, Evaluator, Hits, Source, date_mask_ids, restrict, to_micros

RERANK_DEPTH = 300  # the recency boost re-orders this many of the best matches
_DAY_MICROS = 86_400_000_000


@dataclass(frozen=True)
class Recency:
    """Newer articles lifted by up to ``1 + weight``, halving every ``half_life_days`` before ``now``."""

    now: datetime
    half_life_days: float
    weight: float

    def factor(self, micros: np.ndarray) -> np.ndarray:
        """The boost per document from its date (``Source.dates`` units); 1 for undated or pre-1901 ones."""
        dated = micros >= to_micros(datetime(1901, 1, 1))
        age = np.floor_divide(to_micros(self.now) - micros, _DAY_MICROS).clip(min=0)
        return np.where(dated, 1 + self.weight * 0.5 ** (age / self.half_life_days), 1.0)


@dataclass
class SearchRequest:
    """What to search for and what to count; everything validated already (``search.engine``)."""

    plan: P.Node
    filters: dict[str, list[str]] = field(default_factory=dict)  # facet -> values (OR within, AND across)
    dates: P.DateRange | None = None
    sort: str = "relevance"
    offset: int = 0
    size: int = 10
    collapse: bool = False
    facets: tuple[str, ...] = ()
    facet_limit: int | None = None  # labels per facet counted out (None: all; selected ones are always there)
    histogram: bool = True
    recency: Recency | None = None
    budget: Budget = field(default_factory=Budget)
    #: paging by cursor: the state its backend put in the cursor (``Matches.cursor`` of the page before);
    #: None when paging by page number or by a cursor without state (an offset; the Whoosh backend's kind)
    cursor: dict[str, Any] | None = None


@dataclass
class Matches:
    """What a backend found: the page (document numbers and scores), exact counts, notes."""

    total: int
    page: list[tuple[Any, float]]  # (document reference, score), in order
    facets: dict[str, Counts]
    months: list[HistogramBucket]
    years: list[HistogramBucket]
    stories: int  # with collapse: distinct stories among the matches (0 without)
    story_sizes: dict[Any, int]  # per page document: matching articles of its story (with collapse)
    expanded: dict[tuple[str, str], list[str]]
    notes: list[str]
    #: what the next page's cursor carries for the backend (JSON values, signed; ``search.query.cursor``),
    #: e.g. OpenSearch's point in time and the sort values of the page's last hit; None: an offset is enough
    cursor: dict[str, Any] | None = None


#: facet -> (column holding its display values, multi-valued)
FACET_COLUMNS = {"location": ("location_col", False), "source": ("source_col", True),
                 "category": ("category_col", False), "language": ("language", False)}


def run(src: Source, req: SearchRequest) -> Matches:
    """Evaluate, filter, count and rank (see the module docstring)."""
    evaluator = Evaluator(src, req.budget, defer=req.sort == "relevance")
    main = evaluator.run(req.plan)
    selections = {f: _selection_ids(evaluator, f, values) for f, values in req.filters.items() if values}
    date_ids = date_mask_ids(src.dates(), src.live, req.dates.start, req.dates.end) if req.dates else None
    matched = main
    for ids in selections.values():
        matched = restrict(matched, ids, keep=True)
    if date_ids is not None:
        matched = restrict(matched, date_ids, keep=True)
    facets = {}
    for name in req.facets:
        base = matched
        if name in selections:  # a facet's counts ignore its own selection
            base = main
            for other, ids in selections.items():
                if other != name:
                    base = restrict(base, ids, keep=True)
            if date_ids is not None:
                base = restrict(base, date_ids, keep=True)
        column, multi = FACET_COLUMNS[name]
        facets[name] = collect.count(src.ordinals(column, multi), base.ids, src.n, req.facet_limit)
    months, years = collect.histogram(src.ordinals("month"), matched.ids, src.n) if req.histogram else ([], [])
    keys = collect.story_keys(src.ordinals("story"), matched.ids) if req.collapse else None
    stories = len(np.unique(keys)) if keys is not None and len(keys) else 0
    page, sizes = _page(src, req, evaluator, matched, keys)
    return Matches(total=len(matched), page=list(zip(page.ids.tolist(), page.scores.tolist())), facets=facets,
                   months=months, years=years, stories=stories,
                   story_sizes=sizes, expanded=evaluator.expanded, notes=req.budget.notes)


def _selection_ids(evaluator: Evaluator, facet: str, values: list[str]) -> np.ndarray:
    values = [v.lower() if facet != "language" else v.lower()[:2] for v in values]
    return evaluator.run(P.Sum(tuple(P.Term(facet, v) for v in values))).ids


def _page(src: Source, req: SearchRequest, evaluator: Evaluator, matched: Hits,
          keys: np.ndarray | None) -> tuple[Hits, dict[int, int]]:
    """The page's documents in order, and the story size of each (with collapse)."""
    want = req.offset + req.size
    if not len(matched) or want <= 0:
        return Hits(matched.ids[:0], matched.scores[:0]), {}
    if not req.collapse:
        ranked = _ranked(src, req, evaluator, matched, want)
        return Hits(ranked.ids[req.offset:want], ranked.scores[req.offset:want]), {}
    assert keys is not None  # set with collapse
    story_of = dict(zip(matched.ids.tolist(), keys.tolist()))
    sizes: dict[np.int64, np.intp] = dict(zip(*np.unique(keys, return_counts=True)))  # story -> its matches
    depth = want
    while True:  # rank deeper until the page's stories are all there
        ranked = _ranked(src, req, evaluator, matched, depth)
        firsts, seen = [], set()
        for i, doc in enumerate(ranked.ids.tolist()):
            story = story_of[doc]
            if story not in seen:
                seen.add(story)
                firsts.append(i)
        if len(firsts) >= want or len(ranked) == len(matched):
            break
        depth *= 4
    chosen = np.array(firsts[req.offset:want], dtype=np.int64)
    page = Hits(ranked.ids[chosen], ranked.scores[chosen])
    return page, {doc: int(sizes[story_of[doc]]) for doc in page.ids.tolist()}


def _ranked(src: Source, req: SearchRequest, evaluator: Evaluator, matched: Hits, k: int) -> Hits:
    if req.sort != "relevance":
        return rank.by_date(matched, src.dates(), req.sort == "newest", k)
    if req.recency is None:
        return rank.by_relevance(src, matched, evaluator.deferred, k)
    recency = req.recency
    best = rank.by_relevance(src, matched, evaluator.deferred, max(k, RERANK_DEPTH))
    dates = src.dates()
    head = rank.rerank(Hits(best.ids[:RERANK_DEPTH], best.scores[:RERANK_DEPTH]),
                       lambda ids: recency.factor(dates[ids]))
    return Hits(np.concatenate([head.ids, best.ids[RERANK_DEPTH:]])[:k],
                np.concatenate([head.scores, best.scores[RERANK_DEPTH:]])[:k])
