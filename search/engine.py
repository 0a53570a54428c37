"""The one engine object the CLI and the web layer share: a thin facade over query/ and results/.

``search`` validates the request (``search.contract`` limits), parses and
compiles the query, lets the backend match, count and rank
(``search.results.search``), and presents the page: stored records, marks,
a did-you-mean.  It holds no lock: each call works on the backend's current
snapshot, which a refresh after a commit swaps atomically.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np

from search import analysis
from search.backend import open_searcher
from search.backend.base import disk_bytes
from search.backend.searching import StoredArticle
from search.config import Config, load_config
from search.contract import (
    FACETS,
    MAX_CURSOR_LENGTH,
    MAX_PAGE,
    MAX_SIZE,
    MAX_STORY,
    SORTS,
    Article,
    Facets,
    Health,
    Hit,
    Related,
    SearchResponse,
    Story,
)
from search.errors import BadRequest, NotFound, Unavailable
from search.index.fields import SURFACE_FIELD, TEXT_ROLES, text_field
from search.ingest import langid
from search.query import plan as P
from search.query.compile import Compiler
from search.query.cursor import Cursors
from search.query.dates import request_range
from search.query.parse import parse, plain_words
from search.results import collect, copies, highlight, suggest
from search.results.highlight import Marks, WordTerms
from search.results.match import Budget, Timeout
from search.results.search import Recency, SearchRequest
from search.results.signatures import Signatures

HIT_FIELDS = ("title", "teaser", "url", "date", "location", "sources", "category", "language")
DISPLAY_CACHE = 2_000     # display records kept per commit for result lists (~10 kB each)
RELATED_CACHE = 1_000     # related-coverage answers kept per commit
_log = logging.getLogger(__name__)
WEAK_FACTOR = 2.0         # related coverage less alike than this times a random pair is "weak"
BACKGROUND_SAMPLE = 60    # articles a random pair's similarity is measured on


class Engine:
    """Search, fetch, relate and explain articles of one index."""

    def __init__(self, index_dir: str | os.PathLike | None = None, config: Config | None = None,
                 clock: Callable[[], datetime] = datetime.now):
        self.config = config or load_config(index_dir=index_dir)
        self.index_dir = Path(index_dir) if index_dir else self.config.index_dir
        self.clock = clock
        self.backend = open_searcher(self.index_dir, self.config)
        self.cursors = Cursors(self.index_dir)
        self._state_lock = threading.Lock()
        self._on_new_commit()
        stale = self.backend.view().stale_fields()
        if stale:
            _log.warning("the index in %s holds %s articles analysed by an older Stichwort: queries in those "
                         "languages miss them until: stichwort index --rebuild PATH... --index-dir %s",
                         self.index_dir, ", ".join(analysis.languages_of_fields(stale)), self.index_dir)

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Pick up a newer commit; cheap when nothing changed."""
        if self.backend.refresh():
            self._on_new_commit()

    def _on_new_commit(self) -> None:
        snap = self.backend.view()
        mix = snap.language_mix()
        present = {analysis.language_of(code) for code in mix}
        configured = self.config["languages"]
        languages = [lang for lang in configured if lang in present] or ["de"]
        with self._state_lock:
            self._state = _CommitState(snap, languages, Compiler(languages, self.config.boosts, snap))
            self._state.language_mix = mix

    def _current(self) -> _CommitState:
        state = self._state
        if state.snap is not self.backend.view():  # another thread refreshed; catch up
            self._on_new_commit()
            state = self._state
        return state

    def warm_up(self) -> None:
        """Read what the first search needs now rather than while a reader waits (a server calls this
        before it forks its workers)."""
        snap = self._current().snap
        if hasattr(snap, "warm_up"):
            snap.warm_up()
        self._recency(snap)

    def close(self) -> None:
        self.backend.close()

    @property
    def version(self) -> str:
        return str(self._current().snap.generation)

    # -- search ---------------------------------------------------------------------------------------------
    def search(self, q: str = "", *, filters: dict[str, list[str]] | None = None,
               date_from: str | None = None, date_to: str | None = None, sort: str = "relevance",
               page: int = 1, size: int = 10, cursor: str | None = None, lang: str | None = None,
               highlight: bool = True, collapse: bool = False) -> SearchResponse:
        started = time.perf_counter()
        filters = _check_filters(filters)
        _check_params(sort, page, size, lang)
        fingerprint = Cursors.fingerprint(q, filters, date_from, date_to, sort, lang, collapse, size)
        offset, paging = self.cursors.decode(cursor, fingerprint) if cursor else ((page - 1) * size, None)
        dates = request_range(date_from, date_to)
        tree, notes = parse(q)
        state = self._current()
        snap = state.snap
        languages = ([analysis.language_of(lang)] if lang
                     else langid.query_languages(q, state.languages, prior=state.language_mix))
        limits = self.config["search"]
        compiler = Compiler(languages, self.config.boosts, snap, int(limits["max_expansions"]), notes, state.analysed)
        plan = compiler.compile(tree)
        if lang:
            plan = P.Filter(plan, (P.Value("language", (lang.lower()[:2],)),))
        budget = Budget(max_expansions=int(limits["max_expansions"]), seconds=float(limits["timeout_seconds"]))
        try:
            matches = snap.search(SearchRequest(
                plan=plan, filters=filters, dates=dates, sort=sort, offset=offset, size=size, collapse=collapse,
                facets=tuple(self.config["facets"]), facet_limit=collect.FACET_LIMIT,
                recency=self._recency(snap) if sort == "relevance" else None,
                budget=budget, cursor=paging))
        except Timeout as exc:
            raise Unavailable(f"{exc}; try fewer or more specific words", retry_after=5) from None
        marks = Marks(compiler.marks, compiler.surfaces, state.word_terms)
        hits = [self._hit(snap, doc, score, marks if highlight else None, matches.story_sizes)
                for doc, score in matches.page]
        total = matches.total
        entries = matches.stories if collapse else total  # what the pages page through
        suggestion = suggest.did_you_mean(snap, q, [w.text for w in plain_words(tree)],
                                          lambda word: _finds(snap, languages, word), snap.doc_count)
        next_offset = offset + size
        next_cursor = (self._next_cursor(snap, next_offset, fingerprint, matches.cursor) if next_offset < entries
                       else None)
        return {
            "query": q, "total": {"value": total, "relation": "eq"},
            "stories": matches.stories if collapse else None,
            "page": offset // size + 1, "size": size,
            "next_cursor": next_cursor,
            "took_ms": round((time.perf_counter() - started) * 1000, 1),
            "hits": hits,
            "facets": cast(Facets, {f: collect.listing(matches.facets[f], filters.get(f, []))
                                    for f in self.config["facets"]}),  # the configured facets of FACETS
            "date_histogram": matches.months, "date_histogram_year": matches.years,
            "suggestion": suggestion, "notes": notes + matches.notes,
        }

    def _next_cursor(self, snap, offset: int, fingerprint: str, state: dict[str, Any] | None) -> str:
        """The cursor of the page at ``offset``, with the backend's state; a state too long for a cursor
        (a point in time over very many shards) is released, and the cursor is an offset."""
        cursor = self.cursors.encode(offset, fingerprint, state)
        if len(cursor) > MAX_CURSOR_LENGTH:
            _log.warning("a cursor with the backend's paging state has %d characters (at most %d): paging by "
                         "offset instead", len(cursor), MAX_CURSOR_LENGTH)
            if hasattr(snap, "release"):
                snap.release(state)
            cursor = self.cursors.encode(offset, fingerprint)
        return cursor

    def _recency(self, snap) -> Recency | None:
        """Newer articles lifted by up to ``1 + weight`` (config ``recency``), among the top ones; ages count
        from the engine's clock (which tests pin) or, with ``relative_to: newest``, from the newest article."""
        rec = self.config["recency"]
        if not rec["enabled"]:
            return None
        now = self.clock()
        if rec.get("relative_to") == "newest" and hasattr(snap, "newest_date"):  # a cluster's view
            now = snap.newest_date() or now
        elif rec.get("relative_to") == "newest":
            newest = int(snap.dates().max()) if snap.n else -1
            now = datetime.min + timedelta(microseconds=newest) if newest >= 0 else now
        return Recency(now, float(rec["half_life_days"]), float(rec["weight"]))

    def _hit(self, snap, docnum: int, score: float, marks: Marks | None, story_sizes: dict) -> Hit:
        record = self._current().display(docnum)
        doc, story = record.display, record.story
        hit: dict[str, Any] = {"id": record.id, "score": round(float(score or 0.0), 4)}
        hit.update({k: doc.get(k) for k in HIT_FIELDS})
        hit["story_id"] = story
        hit["more_in_story"] = max(0, story_sizes.get(docnum, 1) - 1)
        hit["highlights"] = highlight.highlight(doc, marks) if marks is not None else {"title": [], "body": []}
        return hit  # type: ignore[return-value]

    # -- single articles ------------------------------------------------------------------------------------
    def _docnum(self, snap, doc_id: str) -> int:
        docnum = snap.docnum(doc_id)
        if docnum is None:
            raise NotFound(f"no article with id {doc_id!r}")
        return docnum

    def get(self, doc_id: str) -> Article:
        snap = self._current().snap
        record = snap.record(self._docnum(snap, doc_id))
        doc = dict(record.display)
        for private in ("path", "line"):  # where the server read it is not the public's business
            doc.pop(private, None)
        doc["story_id"] = record.story
        return doc  # type: ignore[return-value]

    def related(self, doc_id: str, size: int = 10) -> Related:
        """Other reports of the same story and related coverage; remembered per commit, since an article
        page asks for the same again and again."""
        if not isinstance(size, int) or not 1 <= size <= MAX_SIZE:
            raise BadRequest(f"size must be between 1 and {MAX_SIZE}", "size")
        state = self._current()
        found = state.related.get((doc_id, size))
        if found is None:
            found = self._related(state, doc_id, size)
            with state._lock:
                state.related[(doc_id, size)] = found
                if len(state.related) > RELATED_CACHE:
                    state.related.popitem(last=False)
        return found

    def marks(self, q: str) -> Marks:
        """What a query marks (the article page highlights the search's words)."""
        tree, _ = parse(q)
        state = self._current()
        compiler = Compiler(langid.query_languages(q, state.languages, prior=state.language_mix), self.config.boosts,
                            state.snap, analysed=state.analysed)
        compiler.compile(tree)
        return Marks(compiler.marks, compiler.surfaces, state.word_terms)

    def _related(self, state: _CommitState, doc_id: str, size: int) -> Related:
        snap = state.snap
        docnum = self._docnum(snap, doc_id)
        record = state.display(docnum)
        members = [d for d in snap.story_members(record.story) if d != docnum]
        members.sort(key=lambda d: state.display(d).display.get("date") or "")
        exclude = set(members) | {docnum}
        same = copies.distinct(members, lambda d: state.display(d).display, {copies.copy_key(record.display)})
        doc = {"language": record.display.get("language"), "signature": state.signatures.weights(docnum),
               "vector": state.signatures.of(docnum)}
        rel = snap.related(doc, exclude, size, state.signatures)
        vector = state.signatures.of(docnum)
        sims = state.signatures.cosines(vector, [d for d, _ in rel]).tolist()
        floor = WEAK_FACTOR * state.background(vector, exclude)
        return {
            "same_story": [self._hit(snap, d, 0.0, None, {}) for d in same[:size]],
            "related": [{**self._hit(snap, d, s, None, {}), "similarity": round(sim, 4), "weak": sim < floor}
                        for (d, s), sim in zip(rel, sims)],
        }

    def story(self, story_id: str, size: int = MAX_STORY) -> Story:
        """Every article of a story, oldest first."""
        snap = self._current().snap
        members = snap.story_members(story_id)
        if not members:
            raise NotFound(f"no story with id {story_id!r}")
        members.sort(key=lambda d: (self._current().display(d).display.get("date") or "", d))
        return {"story_id": story_id, "size": len(members),
                "articles": [self._hit(snap, d, 0.0, None, {}) for d in members[:size]]}

    def suggest(self, q: str, size: int = 8) -> list[str]:
        """Completions of the query's last word (see ``search.results.suggest``)."""
        state = self._current()
        stops = set().union(*(analysis.stop_words(lang) for lang in state.languages))
        return suggest.complete(state.snap, (q or "")[:200], size, stops, state.spellings)

    def explain(self, q: str, doc_id: str) -> dict[str, Any]:
        """The score of one article for a query, broken down by field and term."""
        tree, _ = parse(q)
        state = self._current()
        snap = state.snap
        docnum = self._docnum(snap, doc_id)
        total, leaves = snap.explain(state.compiler.compile(tree), docnum)
        fields: dict[str, dict] = {}
        for leaf, score in leaves:
            entry = fields.setdefault(leaf.field, {"field": leaf.field, "score": 0.0, "terms": []})
            entry["score"] += score
            entry["terms"].append({"term": _leaf_label(leaf), "score": round(score, 4), "boost": leaf.boost})
        rows = sorted(fields.values(), key=lambda f: -f["score"])
        for row in rows:
            row["score"] = round(row["score"], 4)
        return {"id": doc_id, "query": q, "matched": bool(total), "score": round(total, 4),
                "fields": rows,
                "note": "field scores are BM25F per term; bonus clauses (all words, nearness) add on top"}

    # -- stats ----------------------------------------------------------------------------------------------
    def health(self) -> Health:
        """"ok", or "degraded" while a backend cluster answers with a node missing (``status`` of the backend)."""
        snap = self._current().snap
        status = self.backend.status() if hasattr(self.backend, "status") else "ok"
        if status == "unavailable":
            raise Unavailable("the search cluster does not answer; try again shortly", retry_after=10)
        return {"status": "degraded" if status == "degraded" else "ok", "documents": snap.doc_count,
                "index_version": str(snap.generation)}

    def stats(self) -> dict[str, Any]:
        snap = self._current().snap
        totals = snap.totals()
        out: dict[str, Any] = {"documents": snap.doc_count, "index_dir": str(self.index_dir),
                               "size_bytes": disk_bytes(self.index_dir)}
        for f in ("language", "category", "location", "source"):
            out[f] = totals[f]
        out["months"] = totals["months"]
        return out


class _CommitState:
    """What the engine keeps per commit: the snapshot, its languages and compiler, remembered records."""

    def __init__(self, snap, languages: list[str], compiler: Compiler):
        self.snap = snap
        self.languages = languages
        self.compiler = compiler
        self.analysed: dict = {}  # query words' terms: the index's vocabulary decides compound splits
        self.word_terms = WordTerms()  # the same for the words of the articles shown: what they are marked by
        self.language_mix: dict[str, float] = {}  # the prior of a query's languages
        self.related: OrderedDict[tuple[str, int], Related] = OrderedDict()
        self._spellings: dict[str, list[str]] = {}
        self._sample: list[int] | None = None
        self.signatures = Signatures(snap.signature)
        self._displays: OrderedDict[int, StoredArticle] = OrderedDict()
        self._lock = threading.Lock()

    def background(self, vector, exclude: set) -> float:
        """How alike an article is to articles picked at random (a fixed sample of this commit): related
        coverage must be clearly more alike than that to count as related."""
        if self._sample is None and hasattr(self.snap, "sample"):  # a cluster's view: refs are ids
            self._sample = self.snap.sample(BACKGROUND_SAMPLE, self.snap.generation)
        if self._sample is None:
            live = np.flatnonzero(self.snap.live)
            pick = np.random.default_rng(self.snap.generation).choice(
                live, size=min(BACKGROUND_SAMPLE, len(live)), replace=False) if len(live) else live
            self._sample = sorted(int(d) for d in pick)
        refs = [d for d in self._sample if d not in exclude]
        return float(self.signatures.cosines(vector, refs).mean()) if refs else 0.0

    def spellings(self, word: str) -> list[str]:
        """How a few articles with ``word`` (a surface word of ``exact``) spell it: autocomplete's forms."""
        found = self._spellings.get(word)
        if found is None:
            if hasattr(self.snap, "docs_with"):  # a cluster's view: refs are ids
                refs = self.snap.docs_with(SURFACE_FIELD, word, suggest.MAX_FORMS_DOCS)
            else:
                ids, _ = self.snap.scored(SURFACE_FIELD, word)
                refs = [int(d) for d in ids[:suggest.MAX_FORMS_DOCS]]
            docs = [self.display(d).display for d in refs]
            found = suggest.spellings_in((f"{d.get('title')}\n{d.get('teaser')}\n{(d.get('body') or '')[:3000]}"
                                          for d in docs), word)
            if len(self._spellings) > 100_000:
                self._spellings.clear()
            self._spellings[word] = found
        return found

    def display(self, docnum: int) -> StoredArticle:
        """A document's id, story and display record, the most recently shown remembered."""
        found = self._displays.get(docnum)
        if found is None:
            found = self.snap.record(docnum)
            with self._lock:
                self._displays[docnum] = found
                if len(self._displays) > DISPLAY_CACHE:
                    self._displays.popitem(last=False)
        return found


def _check_filters(filters: dict[str, list[str]] | None) -> dict[str, list[str]]:
    unknown = sorted(set(filters or {}) - set(FACETS))
    if unknown:
        raise BadRequest(f"unknown filter {', '.join(unknown)}; known: {', '.join(FACETS)}", unknown[0])
    return {k: [v for v in vs if v] for k, vs in (filters or {}).items()}


def _check_params(sort: str, page: int, size: int, lang: str | None) -> None:
    if sort not in SORTS:
        raise BadRequest(f"sort must be one of {', '.join(SORTS)}, not {sort!r}", "sort")
    if not isinstance(size, int) or not 1 <= size <= MAX_SIZE:
        raise BadRequest(f"size must be between 1 and {MAX_SIZE}", "size")
    if not isinstance(page, int) or page < 1 or page > MAX_PAGE:
        raise BadRequest(f"page must be a positive number (at most {MAX_PAGE})", "page")
    if lang and analysis.language_of(lang) == analysis.NEUTRAL and lang.lower() != analysis.NEUTRAL:
        raise BadRequest(f"unknown language {lang!r}; use one of {', '.join(analysis.LANGUAGES)}", "lang")


def _finds(snap, languages: list[str], word: str) -> int:
    """About how many articles a query word finds, as typed or through its analysis (the largest count of
    one field)."""
    counts = [snap.doc_frequency(SURFACE_FIELD, word.lower())]
    for lang in languages:
        for term in analysis.terms(lang, word)[:1]:
            counts += [snap.doc_frequency(text_field(role, lang), term) for role in TEXT_ROLES]
    return max(counts)


def _leaf_label(leaf: P.Node) -> str:
    if isinstance(leaf, P.Phrase):
        return '"' + " ".join(leaf.terms) + '"'
    if isinstance(leaf, P.Term):
        return leaf.text
    return f"{type(leaf).__name__}({getattr(leaf, 'text', '')})"
