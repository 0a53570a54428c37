"""Same-story detection: the same event reported by different outlets.

At index time each article gets a signature (its most distinctive analysed
terms, tf-idf weighted, L2-normalised).  A story is a group of such articles;
a new article joins the story it is most similar to *as a whole*: the cosine
with the story's centroid (the sum of its members' signatures), plus a bonus for
the same location, must reach ``threshold``.  Similarity to one member is not
enough, or stories chain into topics (A like B, B like C, ...).  A story also
stays within ``window_days`` from its first to its last article, in one
language, and holds at most ``MAX_STORY`` articles.  The lead (title, teaser,
first ``LEAD_CHARS`` of the body: who, what, where) must share something with a
member's lead: a news round-up or live blog that quotes the story in its tenth
paragraph is not a report of it.  An outlet's own report of another day (the
daily figures, a follow-up) starts a story of its own.  An exact or near
duplicate (``DUPLICATE`` cosine with a member, or the same body as an article of
the run, however much later) always joins its original.  Candidates
come from the run's memory of the articles it has signed (``RunMemory``) plus,
when the run began on a non-empty index, a query on the index as the run found
it (``StoryAssigner``), whose stories are read whole.
"""
from __future__ import annotations

import hashlib
import math
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from typing import NamedTuple

from search import analysis
from search.backend.base import IndexWriter
from search.ingest.article import Article

SIGNATURE_TERMS = 200
CANDIDATE_TERMS = 12  # a same-story candidate shares one of the article's top terms
INDEX_CANDIDATES = 8  # candidates from the index, per article
MAX_BUCKET = 256  # the most recent articles kept per (term, day) bucket: undated ones share one bucket
MAX_UNDATED_DF = 64  # an undated article asks the index only with terms in at most this many articles
SAME_PLACE_BONUS = 0.2  # the same dateline place: strong evidence of the same event (FANG has none to tune it on)
MAX_STORY = 12  # articles per story: more is a topic, not one event
SAME_SOURCE = 0.6  # an outlet's second article joins a story it is in only when this close: usually a new event
MOST = 0.5  # ... and every article must reach the threshold with at least this share of the members
LEAD_CHARS = 400
LEAD_TERMS = 40
LEAD_MIN = 0.05  # the least lead cosine with some member
COPY_CHARS = 200  # bodies at least this long are fingerprinted: a copy joins its original's story
DUPLICATE = 0.95  # this close to a member is the same text (a re-sent agency report, a duplicate export)
UNDATED_PENALTY = 0.4  # the same dateline is strong evidence of the same event


@dataclass
class Signed:
    id: str
    language: str
    date: datetime | None
    weights: dict[str, float]
    story: str = ""
    location: str = ""
    source: str = ""
    lead: dict[str, float] = field(default_factory=dict)  # the lead's signature (empty: not known)


def idf(df: int, n_docs: int) -> float:
    return math.log(1 + n_docs / (1 + df))


_TF = [0.0] + [1 + math.log(c) for c in range(1, 64)]


def signature(tf: Counter, idfs: dict[str, float], size: int = SIGNATURE_TERMS) -> dict[str, float]:
    """Top ``size`` tf-idf terms, L2-normalised; ``idfs`` holds every term of ``tf`` (a batch shares one)."""
    scored = {t: (_TF[c] if c < 64 else 1 + math.log(c)) * idfs[t] for t, c in tf.items() if len(t) > 2}
    top = sorted(scored.items(), key=itemgetter(1), reverse=True)[:size]  # stable: ties keep the order of tf
    norm = math.sqrt(sum([w * w for _, w in top])) or 1.0
    return {t: w / norm for t, w in top}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def near(a: datetime | None, b: datetime | None, days: float) -> bool:
    """Undated articles only group by text; dated ones also by time."""
    return a is None or b is None or abs(a - b) <= timedelta(days=days)


@dataclass
class Story:
    """A story as the run knows it: its members (run memory slots, or signatures read from the index),
    the squared length of their summed signatures, and its first and last dates."""

    members: list[int | Signed]
    norm2: float
    first: datetime | None
    last: datetime | None

    @classmethod
    def of(cls, members: list[Signed], slots: list[int | Signed]) -> Story:
        norm2 = sum(cosine(a.weights, b.weights) for a in members for b in members)
        dates = [m.date for m in members if m.date is not None]
        return cls(slots, norm2, min(dates, default=None), max(dates, default=None))

    def spans(self, date: datetime | None, days: float) -> bool:
        """Whether the story with an article of ``date`` still lies within ``days``."""
        if date is None or self.first is None or self.last is None:
            return True
        return max(self.last, date) - min(self.first, date) <= timedelta(days=days)

    def add(self, slot: int | Signed, date: datetime | None, similarities: list[float]) -> None:
        """``similarities``: the new member's cosine with each member."""
        self.members.append(slot)
        self.norm2 += 2 * sum(similarities) + 1
        if date is not None:
            self.first = min(self.first or date, date)
            self.last = max(self.last or date, date)


def leads_apart(doc: Signed, members: list[Signed]) -> bool:
    """Whether ``doc``'s lead shares nothing with any member's (unknown leads never stand apart)."""
    leads = [m.lead for m in members if m.lead]
    return bool(doc.lead and leads) and max(cosine(doc.lead, lead) for lead in leads) < LEAD_MIN


def story_similarity(doc: Signed, members: list[Signed], norm2: float) -> tuple[float, list[float], bool]:
    """(cosine of ``doc`` with the members' centroid, its cosine with each member, whether it duplicates one)."""
    sims = [cosine(doc.weights, m.weights) for m in members]
    return sum(sims) / math.sqrt(norm2 or 1.0), sims, any(sim >= DUPLICATE for sim in sims)


def adjusted(sim: float, doc: Signed, first: Signed) -> float:
    """Undated articles group only when near-identical; the same dateline is evidence of the same event."""
    if doc.date is None or first.date is None:
        sim -= UNDATED_PENALTY
    if doc.location and doc.location.lower() == first.location.lower():
        sim += SAME_PLACE_BONUS
    return sim


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
        offered: list[int] = []
        cap, buckets, tids = self.max_bucket, self._buckets, [self._term_ids.get(term) for term in top]
        for day in self._days(doc.date):
            for tid in tids:
                if tid is not None:
                    bucket = buckets.get((tid, day), ())
                    offered += bucket[-cap:] if len(bucket) > cap else bucket
        shared = Counter(offered)  # most shared first, ties in the order offered
        return [self.signed(slot) for slot, _ in shared.most_common(self.max_candidates)]

    def add(self, doc: Signed, top: list[str]) -> None:
        slot = len(self._docs)
        self._docs.append((doc.id, doc.language, doc.date, doc.story, doc.location, doc.source,
                           array("i", self._ids(doc.weights)), array("f", doc.weights.values()),
                           array("i", self._ids(doc.lead)), array("f", doc.lead.values())))
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

    def __len__(self) -> int:
        """Articles remembered; the next one gets this slot."""
        return len(self._docs)

    def signed(self, slot: int) -> Signed:
        doc_id, language, date, story, location, source, ids, weights, lead_ids, lead = self._docs[slot]
        terms = self._terms
        return Signed(doc_id, language, date, {terms[i]: w for i, w in zip(ids, weights)}, story, location, source,
                      {terms[i]: w for i, w in zip(lead_ids, lead)})

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


def fingerprint(article: Article) -> int:
    """The body up to case and spacing, hashed: a re-sent or re-exported article has the same."""
    text = " ".join(article.body.lower().split())
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


class StoryTerms(NamedTuple):
    """What signing an article needs that depends on the article alone (``story_terms``)."""

    terms: Counter  # title twice, teaser, the body's first 6,000 characters
    lead: Counter   # title twice, teaser, the body's first ``LEAD_CHARS``
    body: int | None  # the body's ``fingerprint`` (None: too short to tell a copy by)


def story_terms(article: Article) -> StoryTerms:
    """The terms same-story detection and related coverage compare (the title counts twice), those of
    the lead, and the body's fingerprint.  The parse pool works them out, ahead of and apart from the
    writer, whose single process they would queue in."""
    lang, head = analysis.language_of(article.language), f"{article.title}\n{article.title}\n{article.teaser}\n"
    return StoryTerms(analysis.signature_counts(lang, head + article.body[:6000]),
                      analysis.signature_counts(lang, head + article.body[:LEAD_CHARS]),
                      fingerprint(article) if len(article.body) >= COPY_CHARS else None)


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
        self._stories: dict[str, Story] = {}  # stories with more than one member, or read from the index
        self._slots: dict[str, int] = {}  # the run memory slot of each article the run signed
        self._copies: dict[int, str] = {}  # body fingerprint -> the first article of the run with that body

    def assign(self, batch: list[tuple[Article, StoryTerms | None]]) -> Iterator[Signed | None]:
        """Each article's signature and story (None for one whose terms could not be worked out), one at a
        time: the store writes the first while the rest are signed."""
        run = self.run
        tfs: list[tuple[str, StoryTerms] | None] = []
        for article, given in batch:
            try:
                terms = story_terms(article) if given is None else given
            except Exception:  # noqa: BLE001 - one hostile article costs itself only
                tfs.append(None)
                continue
            tfs.append((analysis.language_of(article.language), terms))
            run.count(terms.terms)
        n_docs = run.n_docs + self.index_docs
        idfs: dict[str, dict[str, float]] = {}  # per language: document frequencies stand still within a batch
        for (article, _), prepared in zip(batch, tfs):
            if prepared is None:
                yield None
                continue
            lang, (tf, lead, body) = prepared
            known = idfs.setdefault(lang, {})
            for t in (tf.keys() | lead.keys()).difference(known):  # each new term once, in any order
                known[t] = idf(self._df(lang, t), n_docs)
            weights = signature(tf, known)
            doc = Signed(article.id, lang, article.date, weights, location=article.location,
                         source=(article.sources or [""])[0].lower(), lead=signature(lead, known, LEAD_TERMS))
            top = list(weights)[:CANDIDATE_TERMS]  # a signature lists its terms by weight, heaviest first
            candidates = run.candidates(doc, top)
            copied = self._copies.setdefault(body, doc.id) if body is not None else doc.id
            original = None
            if copied != doc.id:  # the same body again, maybe weeks later and retitled: the original's story
                candidates.append(run.signed(self._slots[copied]))
                original = candidates[-1].story
            if self.index_docs:
                candidates += self._index_candidates(doc, top)
            self._join(doc, candidates, original)
            self._slots[doc.id] = len(run)
            run.add(doc, top)
            yield doc

    def _join(self, doc: Signed, candidates: list[Signed], original: str | None = None) -> None:
        """Sets ``doc.story``: the story of the article it copies (``original``), else the most similar
        story it may join (see the module docstring), else its own."""
        best: tuple[float, str, list[float]] | None = None
        for story_id in dict.fromkeys(c.story for c in candidates if c.id != doc.id and c.language == doc.language):
            story, members = self._story(story_id, candidates)
            if not members:
                continue
            sim, sims, duplicate = story_similarity(doc, members, story.norm2)
            if duplicate or story_id == original:  # a copy joins its original's story whenever it came
                best = (math.inf, story_id, sims)
                break
            if not story.spans(doc.date, self.window):
                continue
            if len(members) >= MAX_STORY or leads_apart(doc, members):
                continue
            sim = adjusted(sim, doc, members[0])
            needed = self._needed(doc, members)
            close = sum(adjusted(s, doc, members[0]) >= self.threshold for s in sims)
            if sim >= needed and close >= MOST * len(members) and (best is None or sim > best[0]):
                best = (sim, story_id, sims)
        if best is None:
            doc.story = doc.id
            return
        _, story_id, sims = best
        doc.story = story_id
        joined = self._stories.get(story_id)
        if joined is None:  # a run article's story of one: remember it as a story now
            joined = self._stories[story_id] = Story.of(self._members(story_id, candidates), [self._slots[story_id]])
        joined.add(len(self.run), doc.date, sims)

    def _needed(self, doc: Signed, members: list[Signed]) -> float:
        """The similarity ``doc`` needs: an outlet's own next-day report (the daily figures, a follow-up)
        is a new event unless it duplicates one; on the same day it needs ``SAME_SOURCE``."""
        own = [m for m in members if doc.source and m.source == doc.source]
        if not own:
            return self.threshold
        day = doc.date.date() if doc.date else None
        if any(m.date is not None and day is not None and m.date.date() != day for m in own):
            return math.inf
        return SAME_SOURCE

    def _story(self, story_id: str, candidates: list[Signed]) -> tuple[Story, list[Signed]]:
        """The story and its members' signatures: known to the run, a run article alone, or read from the index."""
        story = self._stories.get(story_id)
        if story is not None:
            return story, [self.run.signed(m) if isinstance(m, int) else m for m in story.members]
        members = self._members(story_id, candidates)
        if story_id in self._slots:  # a story of one the run began
            return Story.of(members, [self._slots[story_id]]), members
        story = self._stories[story_id] = Story.of(members, list(members))
        return story, members

    def _members(self, story_id: str, candidates: list[Signed]) -> list[Signed]:
        if story_id in self._slots:
            return [self.run.signed(self._slots[story_id])]
        stored = self.store.story_signatures(story_id, MAX_STORY + 1) if self.index_docs else []
        members = [Signed(m.id, m.language, m.date, m.weights, m.story, m.location, m.source, m.lead) for m in stored]
        return members or [c for c in candidates if c.story == story_id]

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
        return [Signed(hit.id, hit.language, hit.date, hit.weights, hit.story, hit.location, hit.source, hit.lead)
                for hit in self.store.story_candidates(doc.language, top, days, INDEX_CANDIDATES)
                if hit.id != doc.id]
