"""Same-story detection: the same event reported by different outlets.

At index time each article gets a signature (its most distinctive analysed
terms, tf-idf weighted).  An article joins the story of the most similar
earlier article in the same language within ``window_days`` when their
cosine similarity (plus a bonus for the same location) reaches ``threshold``; otherwise it starts a story of its
own.  Candidates come from the index itself (a term query with a date
filter) plus the batch being written, so the cost per article is one query.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SIGNATURE_TERMS = 200
SAME_PLACE_BONUS = 0.1
UNDATED_PENALTY = 0.4  # the same dateline is strong evidence of the same event


@dataclass
class Signed:
    id: str
    language: str
    date: datetime | None
    weights: dict[str, float]
    story: str = ""
    location: str = ""
    tf: Counter = field(default_factory=Counter)


def signature(tf: Counter, df: callable, n_docs: int) -> dict[str, float]:
    """Top tf-idf terms, L2-normalised."""
    scored = {t: (1 + math.log(c)) * math.log(1 + n_docs / (1 + df(t))) for t, c in tf.items() if len(t) > 2}
    top = sorted(scored.items(), key=lambda kv: -kv[1])[:SIGNATURE_TERMS]
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    return {t: w / norm for t, w in top}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def near(a: datetime | None, b: datetime | None, days: float) -> bool:
    """Undated articles only group by text; dated ones also by time."""
    return a is None or b is None or abs(a - b) <= timedelta(days=days)


def best_match(doc: Signed, candidates: list[Signed], threshold: float, window_days: float) -> Signed | None:
    best, best_sim = None, threshold
    for other in candidates:
        if other.id == doc.id or other.language != doc.language or not near(doc.date, other.date, window_days):
            continue
        sim = cosine(doc.weights, other.weights)
        if doc.date is None or other.date is None:
            sim -= UNDATED_PENALTY  # without dates only near-identical texts are one story
        if doc.location and doc.location.lower() == other.location.lower():
            sim += SAME_PLACE_BONUS
        if sim >= best_sim:
            best, best_sim = other, sim
    return best
