"""Why a document scores as it does: the query's score for it, and each leaf's share."""
from __future__ import annotations

import numpy as np

from search.query import plan as P
from search.results.match import Evaluator, Hits, Source

LEAVES = (P.Term, P.Phrase, P.Prefix, P.Fuzzy)


def explain(src: Source, plan: P.Node, docnum: int) -> tuple[float, list[tuple[P.Node, float]]]:
    """(the plan's score for ``docnum``, 0 when it does not match; [(leaf, its score)] for leaves that match)."""
    evaluator = Evaluator(src, defer=False)
    total = _score_of(evaluator.run(plan), docnum)
    leaves = [(leaf, _score_of(evaluator.run(leaf), docnum)) for leaf in P.walk(plan) if isinstance(leaf, LEAVES)]
    return total, [(leaf, score) for leaf, score in leaves if score]


def _score_of(hits: Hits, docnum: int) -> float:
    at = int(np.searchsorted(hits.ids, docnum))
    return float(hits.scores[at]) if at < len(hits) and hits.ids[at] == docnum else 0.0
