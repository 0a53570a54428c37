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
from array import array
from collections import Counter
from dataclasses import dataclass
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


def idf(df: int, n_docs: int) -> float:
    return math.log(1 + n_docs / (1 + df))


_TF = [0.0] + [1 + math.log(c) for c in range(1, 64)]


def signature(tf: Counter, idfs: dict[str, float]) -> dict[str, float]:
    """Top tf-idf terms, L2-normalised; ``idfs`` holds every term of ``tf`` (a batch shares one)."""
    scored = {t: (_TF[c] if c < 64 else 1 + math.log(c)) * idfs[t] for t, c in tf.items() if len(t) > 2}
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


class RunMemory:
    """The articles indexed so far in this run, found again by (top term, day).

    Same-story candidates from the run come from here rather than from index
    queries, whose cost grows with the index and its segment count: a look-up
    touches only articles sharing a top term within the window.  Signatures are
    kept as two compact arrays each (about 1.6 kB an article).
    """

    def __init__(self, window_days: float, max_candidates: int = 20):
        self.window_days = window_days
        self.max_candidates = max_candidates
        self.df: Counter = Counter()  # document frequency of terms among the run's articles
        self.n_docs = 0
        self._term_ids: dict[str, int] = {}
        self._terms: list[str] = []
        self._buckets: dict[tuple[int, str | None], list[int]] = {}
        self._docs: list[tuple] = []

    def count(self, tf: Counter) -> None:
        """Count an article's terms into the document frequencies before its signature is made."""
        self.df.update(tf.keys())
        self.n_docs += 1

    def candidates(self, doc: Signed, top: list[str]) -> list[Signed]:
        """Earlier articles of the run within the window sharing a top term, most shared first."""
        shared: Counter = Counter()
        for day in self._days(doc.date):
            for term in top:
                tid = self._term_ids.get(term)
                if tid is not None:
                    shared.update(self._buckets.get((tid, day), ()))
        return [self._signed(slot) for slot, _ in shared.most_common(self.max_candidates)]

    def add(self, doc: Signed, top: list[str]) -> None:
        slot = len(self._docs)
        self._docs.append((doc.id, doc.language, doc.date, doc.story, doc.location, array("i", self._ids(doc.weights)),
                           array("f", doc.weights.values())))
        day = doc.date.strftime("%Y-%m-%d") if doc.date else None
        buckets, ids = self._buckets, self._term_ids
        for term in top:  # top terms are among the signature's, numbered above
            buckets.setdefault((ids[term], day), []).append(slot)

    def _ids(self, terms) -> list[int]:
        """Each term's number, new terms numbered as they come."""
        ids, known = self._term_ids, self._terms
        for term in terms:
            if term not in ids:
                ids[term] = len(known)
                known.append(term)
        return [ids[t] for t in terms]

    def _signed(self, slot: int) -> Signed:
        doc_id, language, date, story, location, ids, weights = self._docs[slot]
        terms = self._terms
        return Signed(doc_id, language, date, {terms[i]: w for i, w in zip(ids, weights)}, story, location)

    def _days(self, date: datetime | None) -> list[str | None]:
        """Buckets to look in: the window's days (and the undated); an undated article only the undated."""
        if date is None:
            return [None]
        return days_around(date, self.window_days) + [None]


def days_around(date: datetime, window_days: float) -> list[str]:
    """The days (``YYYY-MM-DD``) within ``window_days`` of ``date``."""
    span = math.ceil(window_days)
    return [(date + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(-span, span + 1)]
