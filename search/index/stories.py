"""Same-story detection: the same event reported by different outlets.

At index time each article gets a signature (its most distinctive analysed
terms, tf-idf weighted).  An article joins the story of the most similar
earlier article in the same language within ``window_days`` when their
cosine similarity (plus a bonus for the same location) reaches ``threshold``; otherwise it starts a story of its
own.  Candidates come from the run's memory of the articles it has signed
(``RunMemory``) plus, when the run began on a non-empty index, one query on
the index as the run found it (``StoryAssigner``).
"""
from __future__ import annotations

import math
from array import array
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from search import analysis
from search.backend.base import IndexWriter
from search.ingest.article import Article

SIGNATURE_TERMS = 200
CANDIDATE_TERMS = 12  # a same-story candidate shares one of the article's top terms
INDEX_CANDIDATES = 8  # candidates from the index, per article
MAX_BUCKET = 256  # the most recent articles kept per (term, day) bucket: undated ones share one bucket
MAX_UNDATED_DF = 64  # an undated article asks the index only with terms in at most this many articles
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

    def __init__(self, window_days: float, max_candidates: int = 20, max_bucket: int = MAX_BUCKET):
        self.window_days = window_days
        self.max_candidates = max_candidates
        self.max_bucket = max_bucket
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
        """Earlier articles of the run within the window sharing a top term, most shared first.

        A bucket offers its ``max_bucket`` most recent articles only: undated articles all share
        one bucket per term, and looking through all of them made a run of many undated articles
        quadratic."""
        shared: Counter = Counter()
        cap = self.max_bucket
        for day in self._days(doc.date):
            for term in top:
                tid = self._term_ids.get(term)
                if tid is not None:
                    bucket = self._buckets.get((tid, day), ())
                    shared.update(bucket[-cap:] if len(bucket) > cap else bucket)
        return [self._signed(slot) for slot, _ in shared.most_common(self.max_candidates)]

    def add(self, doc: Signed, top: list[str]) -> None:
        slot = len(self._docs)
        self._docs.append((doc.id, doc.language, doc.date, doc.story, doc.location, array("i", self._ids(doc.weights)),
                           array("f", doc.weights.values())))
        day = doc.date.date().isoformat() if doc.date else None
        buckets, ids, cap = self._buckets, self._term_ids, self.max_bucket
        for term in top:  # top terms are among the signature's, numbered above
            bucket = buckets.setdefault((ids[term], day), [])
            bucket.append(slot)
            if len(bucket) > 2 * cap:
                del bucket[:-cap]

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
    """The days (``YYYY-MM-DD``) within ``window_days`` of ``date`` (none before 0001 or after 9999)."""
    span = math.ceil(window_days)
    days = []
    for i in range(-span, span + 1):
        try:
            days.append((date + timedelta(days=i)).date().isoformat())  # strftime writes year 1 as "1"
        except OverflowError:
            continue
    return days


def story_terms(article: Article) -> Counter:
    """The terms same-story detection and related coverage compare (the title counts twice).
    The parse pool works them out, ahead of and apart from the writer."""
    text = f"{article.title}\n{article.title}\n{article.teaser}\n{article.body[:6000]}"
    return analysis.signature_counts(analysis.language_of(article.language), text)


class StoryAssigner:
    """Signs a run's articles and assigns their stories, batch by batch, in the order written.

    Document frequencies count the index as the run found it plus the run's articles so far
    (a whole batch counts, as if committed); candidates come from the run's memory and from the
    index as the run found it."""

    def __init__(self, store: IndexWriter, window_days: float, threshold: float):
        self.store, self.window, self.threshold = store, window_days, threshold
        self.run = RunMemory(window_days)
        self.index_docs = store.doc_count_before()
        self._index_df: dict[tuple[str, str], int] = {}

    def assign(self, batch: list[tuple[Article, Counter | None]]) -> list[Signed | None]:
        """Each article's signature and story (None for one whose terms could not be worked out)."""
        run = self.run
        tfs: list[tuple[str, Counter] | None] = []
        for article, tf in batch:
            try:
                tf = story_terms(article) if tf is None else tf
            except Exception:  # noqa: BLE001 - one hostile article costs itself only
                tfs.append(None)
                continue
            tfs.append((analysis.language_of(article.language), tf))
            run.count(tf)
        n_docs = run.n_docs + self.index_docs
        signed: list[Signed | None] = []
        idfs: dict[str, dict[str, float]] = {}  # per language: document frequencies stand still within a batch
        for (article, _), terms in zip(batch, tfs):
            if terms is None:
                signed.append(None)
                continue
            lang, tf = terms
            known = idfs.setdefault(lang, {})
            for t in [t for t in tf if t not in known]:
                known[t] = idf(self._df(lang, t), n_docs)
            weights = signature(tf, known)
            doc = Signed(article.id, lang, article.date, weights, location=article.location)
            top = list(weights)[:CANDIDATE_TERMS]  # a signature lists its terms by weight, heaviest first
            candidates = run.candidates(doc, top)
            if self.index_docs:
                candidates += self._index_candidates(doc, top)
            match = best_match(doc, candidates, self.threshold, self.window)
            doc.story = match.story if match else article.id
            run.add(doc, top)
            signed.append(doc)
        return signed

    def _df(self, lang: str, term: str) -> int:
        if not self.index_docs:
            return self.run.df[term]
        key = (lang, term)
        if key not in self._index_df:
            self._index_df[key] = self.store.doc_frequency(lang, term)
        return self.run.df[term] + self._index_df[key]

    def _index_candidates(self, doc: Signed, top: list[str]) -> list[Signed]:
        """Articles indexed before this run sharing top terms; a dated article's only from within the
        window (a few "day" terms), so old look-alikes do not crowd the few hits.  An undated article
        has no window, so it asks with its rare terms only: a query with a term of thousands of
        articles scores all of them, and a run of undated articles on a big index became quadratic."""
        days = None
        if doc.date is not None:
            days = days_around(doc.date, self.window)
        else:
            top = [t for t in top if self._index_df.get((doc.language, t), 0) <= MAX_UNDATED_DF]
            if not top:
                return []
        return [Signed(hit.id, hit.language, hit.date, hit.weights, hit.story, hit.location)
                for hit in self.store.story_candidates(doc.language, top, days, INDEX_CANDIDATES)
                if hit.id != doc.id]
