"""The OpenSearch backend for searching: one ``View`` per index generation, answering ``SearchRequest``\\ s.

A view asks the cluster for everything per request: the plan as query DSL
(``dsl``), scored with global term statistics (``dfs_query_then_fetch``), facet
selections as a ``post_filter`` with per-facet filtered aggregations (a facet's
counts ignore its own selection), the month histogram and story counts as
aggregations, exact totals, collapse by story with the story's match count
from inner hits.  Documents are referred to by their Stichwort id.  The
writer bumps the index's ``_meta.generation`` at each commit; ``refresh``
polls it and hands out a new view.  A cluster that does not answer raises
``search.errors.Unavailable`` (a 503 for readers).

Paging by cursor pins the list: the first request with a cursor opens a point
in time (kept alive ``opensearch.keep_alive`` past each page, closed after the
last), and every later page is searched in it, with ``search_after`` the sort
values of the page before (ties ordered by ``seq``), so a walk through
thousands of results sees one state of the index at any depth, commits or
not.  Term statistics for scoring are counted in the point in time too once
the index moved on.  Collapse by story cannot go with ``search_after``
(OpenSearch refuses it), nor can the recency boost, which re-orders the best
matches: those page by offset, in the point in time all the same.  A point in
time that expired or was lost with a node is a 400 for the cursor.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import numpy as np

from search import analysis
from search.analysis import FusedChain
from search.backend.opensearch.client import Client, RequestError, from_config, ndjson, path
from search.backend.opensearch.dsl import date_range, idf_factors, scored_terms, to_dsl
from search.backend.opensearch.mapping import FORMAT, os_field, os_id, text_fields
from search.backend.opensearch.writer import surface_words
from search.backend.searching import StoredArticle
from search.contract import HistogramBucket
from search.errors import BadRequest, StichwortError, Unavailable
from search.query import plan as P
from search.results import related as rel
from search.results.collect import Counts
from search.results.explain import LEAVES
from search.results.match import to_micros
from search.results.search import RERANK_DEPTH, Matches, SearchRequest
from search.results.signatures import Signatures
from search.results.suggest import edit_distance

_log = logging.getLogger(__name__)
FACET_FIELDS = {"location": "location_col", "source": "source_col", "category": "category_col",
                "language": "language"}
FACET_SIZE = 1000
MONTHS = 20_000
MAX_STORY_MEMBERS = 10_000
CACHE = 20_000
_HIDDEN = ["doc.signature", "doc.lead"]
RELEARN_SECONDS = 600  # the whole vocabulary is read again at most this often (seconds at a million articles)
CURSOR_EXPIRED = "the cursor expired; start again without it"
#: a note when a commit came between a walk's first page and its second, where the point in time opens
MOVED = "the archive changed since the first page: this page may repeat or miss an article"


class OpenSearchSearcher:
    """The index ``config["opensearch"]["index"]``, its latest generation as a view."""

    def __init__(self, config: Any):
        self.client = from_config(config)
        self.index = config["opensearch"]["index"]
        self.keep_alive = config["opensearch"]["keep_alive"]
        self._lock = threading.Lock()
        self._warned = False
        self._learned_at = -float("inf")
        self._view = self._open()

    def _open(self) -> OpenSearchView:
        try:
            meta = self._meta()
        except Unavailable:
            _log.warning("OpenSearch does not answer: searching fails with 503 until it does")
            return OpenSearchView(self.client, self.index, -1, {}, self.keep_alive, reachable=False)
        view = OpenSearchView(self.client, self.index, int(meta.get("generation", 0)), meta, self.keep_alive)
        if not view.ordered and not self._warned:
            _log.warning("the OpenSearch index %s was written by an older Stichwort (format %s): equal scores are "
                         "ordered by id and cursors page by offset until: stichwort index --rebuild PATH...",
                         self.index, meta.get("stichwort_format"))
            self._warned = True
        if time.monotonic() - self._learned_at > RELEARN_SECONDS:  # the part bonus splits with the index's words
            analysis.learn_words(surface_words(self.client, self.index))
            self._learned_at = time.monotonic()
        return view

    def _meta(self) -> dict[str, Any]:
        found = self.client.request("GET", path(self.index, "_mapping"), ok=(404,), retry=False)
        if "error" in found:
            raise StichwortError(f"the OpenSearch index {self.index} does not exist; index some articles first: "
                                 "stichwort index PATH...")
        return next(iter(found.values()))["mappings"].get("_meta", {})

    def view(self) -> OpenSearchView:
        return self._view

    def refresh(self) -> bool:
        """Pick up a newer generation (one small request); False when the cluster does not answer."""
        try:
            generation = int(self._meta().get("generation", 0))
        except Unavailable:
            return False
        if generation == self._view.generation and self._view.reachable:
            return False
        with self._lock:
            if generation != self._view.generation or not self._view.reachable:
                self._view = self._open()
        return True

    def status(self) -> str:
        """"ok" (green), "degraded" (yellow: a node is missing, replicas unassigned) or "unavailable"."""
        try:
            health = self.client.request("GET", "/_cluster/health/" + self.index, retry=False, timeout=5)
        except (Unavailable, StichwortError):
            return "unavailable"
        return {"green": "ok", "yellow": "degraded"}.get(health.get("status"), "unavailable")

    def close(self) -> None:
        self.client.close()


class OpenSearchView:
    """One generation of the index (see ``search.backend.searching.View``); refs are document ids."""

    def __init__(self, client: Client, index: str, generation: int, meta: dict[str, Any], keep_alive: str,
                 reachable: bool = True):
        self.client, self.index, self.generation, self.reachable = client, index, generation, reachable
        self.meta, self.keep_alive = meta, keep_alive
        self.ordered = meta.get("stichwort_format") == FORMAT  # documents hold seq (else ties by id)
        self._records: OrderedDict[str, StoredArticle] = OrderedDict()
        self._gone: OrderedDict[str, StoredArticle] = OrderedDict()  # shown from an older point in time
        self._signatures: OrderedDict[str, dict[str, float]] = OrderedDict()
        self._frequencies: dict[tuple[str, str], int] = {}
        self._field_docs: dict[str, int] = {}
        self._lock = threading.Lock()
        self._mix: dict[str, float] = {}
        self.doc_count = 0
        if reachable:
            self.doc_count = self._post("_count", {"query": {"match_all": {}}})["count"]
            self._mix = self._language_mix()
        self.n = self.doc_count

    # -- requests -------------------------------------------------------------------------------------------
    def _post(self, endpoint: str, body: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.client.request("POST", path(self.index, endpoint), body, params=params)

    def _search(self, body: dict[str, Any], dfs: bool = True, pit: str | None = None) -> dict[str, Any]:
        """A search over every shard, or over a point in time: a partial answer (a shard copy failing
        while a node leaves) is asked again, and refused when it stays partial, since counts must be exact.
        A point in time that is gone (expired, closed, lost with its node) is a 400 for the cursor."""
        params = {"search_type": "dfs_query_then_fetch"} if dfs else None
        if pit is not None:
            body = {**body, "pit": {"id": pit, "keep_alive": self.keep_alive}}
        for attempt in range(3):
            try:
                answer = (self.client.request("POST", "/_search", body, params=params) if pit is not None
                          else self._post("_search", body, params))
            except RequestError as exc:
                if pit is not None and (exc.status == 404 or _context_missing(exc.body)):
                    raise BadRequest(CURSOR_EXPIRED, "cursor") from None
                raise
            shards = answer.get("_shards", {})
            if not shards.get("failed"):
                return answer
            if pit is not None and _context_missing(shards.get("failures")):
                raise BadRequest(CURSOR_EXPIRED, "cursor")
            time.sleep(0.3 * (attempt + 1))
        raise Unavailable("part of the search cluster does not answer; try again shortly", retry_after=5)

    def _open_pit(self) -> str | None:
        """A point in time of the index for a walk by cursor; None (paging by offset) when the cluster
        refuses one (too many open: ``search.max_open_pit_context``)."""
        try:
            return self.client.request("POST", path(self.index, "_search", "point_in_time"),
                                       params={"keep_alive": self.keep_alive}, retry=False)["pit_id"]
        except (RequestError, Unavailable) as exc:
            _log.warning("OpenSearch opened no point in time (%s): this cursor pages by offset", exc)
            return None

    def release(self, state: dict[str, Any] | None) -> None:
        """Close the point in time of a cursor's state (its walk ended, or it is not handed out)."""
        pit = (state or {}).get("pit")
        if pit:
            try:
                self.client.request("DELETE", "/_search/point_in_time", {"pit_id": [pit]}, ok=(404,), retry=False)
            except StichwortError as exc:  # it closes itself after keep_alive
                _log.info("could not close a point in time: %s", exc)

    def _msearch(self, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not bodies:
            return []
        lines: list[Any] = []
        for body in bodies:
            lines += [{"index": self.index, "search_type": "dfs_query_then_fetch"}, body]
        answers = self.client.request("POST", "/_msearch", ndjson(lines))["responses"]
        for a in answers:
            if "error" in a:
                raise StichwortError(f"OpenSearch could not run a search: {a['error']}")
        return answers

    # -- searching ------------------------------------------------------------------------------------------
    def factors(self, plan: P.Node, pit: str | None = None) -> dict[tuple[str, str], float]:
        """Per scored term of ``plan``: the boost factor that makes its idf Whoosh's (``dsl.idf_factors``),
        from this generation's counts, or from those of an older point in time ``pit``."""
        pairs = scored_terms(plan)
        if not pairs:
            return {}
        by_field: dict[str, list[str]] = defaultdict(list)
        for field, term in pairs:
            by_field[field].append(term)
        if pit is None:
            self.prefetch_frequencies_many(by_field)
            frequencies, field_docs, n = self._frequencies, self._field_docs, self.n
        else:
            frequencies, field_docs, n = self._count_terms(sorted(set(pairs)), list(by_field), pit)
        return idf_factors({p: frequencies.get(p, 0) for p in pairs},
                           {f: field_docs.get(f, 0) for f in by_field}, n)

    def search(self, request: SearchRequest) -> Matches:
        paging = request.cursor  # None: by page number (or a cursor without state); a dict: by cursor
        pit: str | None = None
        generation = self.generation  # of the point in time: its term statistics, its records
        opened = False
        if paging is not None:
            pit = paging.get("pit")
            if pit:
                generation = int(paging.get("g", generation))
            else:  # the walk's second page: pin the list from here on
                pit = self._open_pit()
                opened = pit is not None
                if opened and paging.get("g", generation) != generation:
                    request.budget.note(MOVED)
        older = pit is not None and generation != self.generation
        query = to_dsl(request.plan, self.factors(request.plan, pit if older else None))
        if request.dates is not None:
            query = {"bool": {"must": [query], "filter": [date_range(request.dates)]}}
        selections = {f: _selection(f, values) for f, values in request.filters.items() if values}
        want = request.offset + request.size
        body: dict[str, Any] = {"query": query, "track_total_hits": True, "_source": {"excludes": _HIDDEN}}
        if selections:
            body["post_filter"] = {"bool": {"filter": list(selections.values())}}
        aggs: dict[str, Any] = {}
        for name in request.facets:
            others = [c for f, c in selections.items() if f != name]
            aggs["f_" + name] = {"filter": {"bool": {"filter": others}},
                                 "aggs": {"v": {"terms": {"field": FACET_FIELDS[name], "size": FACET_SIZE,
                                                          "order": [{"_count": "desc"}, {"_key": "asc"}]}}}}
        matched: dict[str, Any] = {}
        if request.histogram:
            matched["months"] = {"terms": {"field": "month", "size": MONTHS}}
        if request.collapse:
            matched["stories"] = {"cardinality": {"field": "story", "precision_threshold": 40_000}}
        if matched:
            aggs["matched"] = {"filter": {"bool": {"filter": list(selections.values())}}, "aggs": matched}
        body["aggs"] = aggs
        rerank = request.recency is not None and request.sort == "relevance"
        body["sort"] = self._sort(request.sort)
        if request.collapse:
            body["collapse"] = {"field": "story", "inner_hits": {"name": "story", "size": 0}}
        # after the sort values of the page before where OpenSearch can; collapse and the recency boost by offset
        by_after = pit is not None and self.ordered and not request.collapse and not rerank
        after = paging.get("after") if by_after and paging is not None and paging.get("pit") else None
        if after is not None:
            body["search_after"], body["size"] = after, request.size
        else:
            body["from"], body["size"] = (0, max(want, RERANK_DEPTH)) if rerank else (request.offset, request.size)
        if want <= 0:
            body["size"] = 0
        try:
            answer = self._search(body, pit=pit)
        except Exception as exc:
            if opened:  # no cursor will name it
                self.release({"pit": pit})
            if isinstance(exc, RequestError) and exc.status == 400 and "too_many" in exc.reason:
                raise BadRequest("the query is too long for the search cluster; use fewer words or wildcards",
                                 "q") from None
            raise
        pit = answer.get("pit_id", pit)  # a point in time's id may change from one search to the next
        hits = answer["hits"]["hits"]
        if older:
            self._remember_current(hits)
        else:
            self._remember(hits)
        page = [(h["_id"], float(h.get("_score") or 0.0) if request.sort == "relevance" else 0.0) for h in hits]
        if rerank:
            page = _reranked(page, hits, request)[request.offset:want]
        sizes: dict[Any, int] = {}
        if request.collapse:
            for h in hits:
                sizes[h["_id"]] = int(h.get("inner_hits", {}).get("story", {}).get("hits", {}).get("total", {})
                                      .get("value", 1))
            sizes = {doc: sizes.get(doc, 1) for doc, _ in page}
        ans_aggs = answer.get("aggregations", {})
        facets = {name: Counts([(b["key"], b["doc_count"]) for b in ans_aggs["f_" + name]["v"]["buckets"]])
                  for name in request.facets}
        months: list[HistogramBucket] = []
        years: list[HistogramBucket] = []
        if request.histogram:
            per_month = {b["key"]: b["doc_count"] for b in ans_aggs["matched"]["months"]["buckets"]}
            per_year: dict[str, int] = defaultdict(int)
            for key, n in per_month.items():
                per_year[key[:4]] += n
            months = [HistogramBucket(key=k, count=per_month[k]) for k in sorted(per_month) if k]
            years = [HistogramBucket(key=k, count=per_year[k]) for k in sorted(per_year) if k]
        total = answer["hits"]["total"]["value"]
        stories = int(ans_aggs["matched"]["stories"]["value"]) if request.collapse and total else 0
        state: dict[str, Any] | None = {"g": self.generation}  # where a walk starts: its next page pins the list
        if pit is not None:
            state = {"pit": pit, "g": generation}
            if by_after and hits:
                state["after"] = hits[-1]["sort"]
            if want >= (stories if request.collapse else total):  # the walk's last page
                self.release(state)
                state = None
        return Matches(total=total, page=page, facets=facets, months=months, years=years, stories=stories,
                       story_sizes=sizes, expanded={}, notes=request.budget.notes, cursor=state)

    def _sort(self, sort: str) -> list[Any]:
        """The sort of a result list, total (``search_after`` needs one): ties in the order of adding (``seq``),
        as the Whoosh backend orders them by document number; by id in an index without ``seq``."""
        tie = "seq" if self.ordered else "id"
        if sort == "relevance":
            return ["_score", {tie: "asc"}]
        order = "desc" if sort == "newest" else "asc"
        return [{"date": {"order": order, "missing": "_last"}}, {tie: {"order": order}}]

    # -- stored documents -----------------------------------------------------------------------------------
    def _remember(self, hits: list[dict[str, Any]]) -> None:
        with self._lock:
            for h in hits:
                src = h.get("_source")
                if src and "doc" in src:
                    self._records[h["_id"]] = _article(h["_id"], src)
                    self._records.move_to_end(h["_id"])
            while len(self._records) > CACHE:
                self._records.popitem(last=False)

    def _remember_current(self, hits: list[dict[str, Any]]) -> None:
        """Hits of a point in time older than this view: remembered as they are now, those deleted since as
        the point in time has them, apart (``record`` shows them, ``docnum`` does not find them)."""
        if not hits:
            return
        answer = self._post("_mget", {"ids": [h["_id"] for h in hits]},
                            params={"_source_excludes": ",".join(_HIDDEN)})
        live = [d for d in answer["docs"] if d.get("found")]
        self._remember(live)
        found = {d["_id"] for d in live}
        with self._lock:
            for h in hits:
                src = h.get("_source")
                if h["_id"] not in found and src and "doc" in src:
                    self._gone[h["_id"]] = _article(h["_id"], src)
            while len(self._gone) > CACHE:
                self._gone.popitem(last=False)

    def record(self, ref: str) -> StoredArticle:
        found = self._records.get(ref) or self._gone.get(ref)
        if found is None:
            answer = self.client.request("GET", path(self.index, "_doc", ref),
                                         params={"_source_excludes": ",".join(_HIDDEN)}, ok=(404,))
            if not answer.get("found"):
                from search.errors import NotFound
                raise NotFound(f"no article with id {ref!r}")
            self._remember([answer])
            found = _article(ref, answer["_source"])
        return found

    def signature(self, ref: str) -> dict[str, float]:
        found = self._signatures.get(ref)
        if found is None:
            self.prefetch_signatures([ref])
            found = self._signatures.get(ref, {})
        return found

    def prefetch_signatures(self, refs: list[str]) -> None:
        """Load the signatures of ``refs`` in one request (related coverage compares a hundred at once)."""
        missing = [r for r in dict.fromkeys(refs) if r not in self._signatures]
        if not missing:
            return
        answer = self._post("_mget", {"ids": missing}, params={"_source_includes": "doc.signature"})
        with self._lock:
            for d in answer["docs"]:
                if d.get("found"):
                    self._signatures[d["_id"]] = (d["_source"].get("doc") or {}).get("signature") or {}
            while len(self._signatures) > 50_000:
                self._signatures.popitem(last=False)

    def docnum(self, doc_id: str) -> str | None:
        doc_id = os_id(doc_id)
        if doc_id in self._records:
            return doc_id
        answer = self.client.request("GET", path(self.index, "_doc", doc_id),
                                     params={"_source_excludes": ",".join(_HIDDEN)}, ok=(404,))
        if not answer.get("found"):
            return None
        self._remember([answer])
        return doc_id

    def story_members(self, story: str) -> list[str]:
        hits = self._search({"query": {"term": {"story": story}}, "size": MAX_STORY_MEMBERS,
                             "_source": {"excludes": _HIDDEN}, "sort": ["id"]}, dfs=False)["hits"]["hits"]
        self._remember(hits)
        return [h["_id"] for h in hits]

    def docs_with(self, field: str, term: str, limit: int) -> list[str]:
        """Up to ``limit`` documents with ``term`` in ``field`` (autocomplete reads how they spell it)."""
        hits = self._search({"query": {"term": {os_field(field): term}}, "size": limit,
                             "_source": {"excludes": _HIDDEN}, "sort": ["id"]}, dfs=False)["hits"]["hits"]
        self._remember(hits)
        return [h["_id"] for h in hits]

    def sample(self, size: int, seed: int) -> list[str]:
        """``size`` documents picked at random, the same for one generation."""
        hits = self._search({"query": {"function_score": {"random_score": {"seed": seed, "field": "id"}}},
                             "size": size, "_source": False}, dfs=False)["hits"]["hits"]
        return sorted(h["_id"] for h in hits)

    def newest_date(self) -> datetime | None:
        answer = self._search({"size": 0, "aggs": {"newest": {"max": {"field": "date"}}}}, dfs=False)
        value = answer["aggregations"]["newest"].get("value_as_string")
        return datetime.fromisoformat(value.replace("Z", "")) if value else None

    # -- related coverage (search.results.related, over requests) -------------------------------------------
    def related(self, doc: dict, exclude: set, size: int, signatures: Signatures) -> list[tuple[str, float]]:
        first = self._nearest([(doc, sorted(exclude))], rel.DEPTH, signatures, rel.QUERY_TERMS)[0]
        score: dict[str, float] = defaultdict(float)
        for ref, sim in first:
            score[ref] += sim
        neighbours = first[:rel.NEIGHBOURS]
        queries = [({"language": doc.get("language"), "signature": signatures.weights(ref)}, [ref])
                   for ref, _ in neighbours]
        for (_, near), found in zip(neighbours, self._nearest(queries, rel.NEIGHBOUR_DEPTH, signatures,
                                                                rel.NEIGHBOUR_TERMS)):
            for other, sim in found:
                if other not in exclude:
                    score[other] += rel.SMOOTHING * sim * near
        ranked = sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(ref, round(value, 4)) for ref, value in ranked[:size]]

    def _nearest(self, queries: list[tuple[dict, list[str]]], depth: int, signatures: Signatures,
                 terms: int) -> list[list[tuple[str, float]]]:
        """Per (doc, excluded ids): (id, cosine) of the articles most like doc, nearest first; one request
        for the document frequencies, one for the searches, one for the candidates' signatures."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for doc, _ in queries:
            field = rel.text_field("body", analysis.language_of(doc.get("language")))
            top = sorted(doc.get("signature", {}).items(), key=lambda kv: -kv[1])[:terms]
            wanted[field].update(t for t, _ in top)
        self.prefetch_frequencies_many({f: sorted(w) for f, w in wanted.items()})
        bodies = []
        for doc, excluded in queries:
            plan = rel.like_plan(doc, self, terms)
            query = {"bool": {"must": [to_dsl(plan, self.factors(plan))], "must_not": [{"ids": {"values": excluded}}]}}
            bodies.append({"query": query,
                           "size": depth, "_source": False, "track_total_hits": False})
        answers = self._msearch(bodies)
        bests = [[h["_id"] for h in a["hits"]["hits"]] for a in answers]
        self.prefetch_signatures([r for best in bests for r in best])
        out = []
        for (doc, _), best in zip(queries, bests):
            sims = signatures.cosines(signatures.vector(doc.get("signature", {})), best).tolist() if best else []
            out.append(sorted(zip(best, sims), key=lambda s: (-s[1], s[0])))
        return out

    def explain(self, plan: P.Node, ref: str) -> tuple[float, list[tuple[P.Node, float]]]:
        leaves = [leaf for leaf in P.walk(plan) if isinstance(leaf, LEAVES)]
        factors = self.factors(plan)
        bodies = [{"query": {"bool": {"must": [to_dsl(node, factors)], "filter": [{"ids": {"values": [ref]}}]}},
                   "size": 1, "_source": False} for node in [plan, *leaves]]
        scores = []
        for i in range(0, len(bodies), 100):
            for a in self._msearch(bodies[i:i + 100]):
                found = a["hits"]["hits"]
                scores.append(float(found[0]["_score"] or 0.0) if found else 0.0)
        return scores[0], [(leaf, s) for leaf, s in zip(leaves, scores[1:]) if s]

    # -- vocabulary and statistics --------------------------------------------------------------------------
    def languages(self) -> set[str]:
        return {analysis.language_of(code) for code in self.language_mix()}

    def language_mix(self) -> dict[str, float]:
        return dict(self._mix)

    def _language_mix(self) -> dict[str, float]:
        answer = self._search({"size": 0, "aggs": {"l": {"terms": {"field": "language", "size": 1000}}}}, dfs=False)
        codes = {b["key"]: b["doc_count"] for b in answer["aggregations"]["l"]["buckets"]}
        total = sum(codes.values()) or 1
        return {code: n / total for code, n in codes.items()}

    def stale_fields(self) -> list[str]:
        if not self.reachable or self.meta.get("analysis_version", FusedChain.VERSION) == FusedChain.VERSION:
            return []
        return text_fields(analysis.LANGUAGES)

    def totals(self) -> dict[str, Any]:
        aggs = {name: {"terms": {"field": f, "size": FACET_SIZE, "order": [{"_count": "desc"}, {"_key": "asc"}]}}
                for name, f in FACET_FIELDS.items()}
        aggs["months"] = {"terms": {"field": "month", "size": MONTHS}}
        answer = self._search({"size": 0, "aggs": aggs}, dfs=False)["aggregations"]
        out: dict[str, Any] = {name: {b["key"]: b["doc_count"] for b in answer[name]["buckets"]}
                               for name in FACET_FIELDS}
        months = {b["key"]: b["doc_count"] for b in answer["months"]["buckets"]}
        out["months"] = [{"key": k, "count": months[k]} for k in sorted(months) if k]
        return out

    def doc_count_all(self) -> int:
        return self.n

    def doc_frequency(self, field: str, term: str) -> int:
        key = (field, term)
        found = self._frequencies.get(key)
        if found is None:
            self.prefetch_frequencies(field, [term])
            found = self._frequencies.get(key, 0)
        return found

    def prefetch_frequencies(self, field: str, terms: list[str]) -> None:
        self.prefetch_frequencies_many({field: terms})

    def prefetch_frequencies_many(self, wanted: dict[str, list[str]]) -> None:
        """Document frequencies of many terms, and the documents having each field (``_count_terms``)."""
        missing = [(f, t) for f, terms in wanted.items() for t in dict.fromkeys(terms)
                   if (f, t) not in self._frequencies]
        fields = [f for f in wanted if f not in self._field_docs]
        if not missing and not fields:
            return
        frequencies, field_docs, _ = self._count_terms(missing, fields)
        with self._lock:
            if len(self._frequencies) > 500_000:
                self._frequencies.clear()
            self._frequencies.update(frequencies)
            self._field_docs.update(field_docs)

    def _count_terms(self, pairs: list[tuple[str, str]], fields: list[str],
                     pit: str | None = None) -> tuple[dict[tuple[str, str], int], dict[str, int], int]:
        """Documents per (field, term), per field (those having it) and in all, in the index or in the point
        in time ``pit``: one request per 500 terms (a filters aggregation)."""
        frequencies: dict[tuple[str, str], int] = {}
        field_docs: dict[str, int] = {}
        total = 0
        for i in range(0, max(len(pairs), 1), 500):
            chunk = pairs[i:i + 500]
            filters = {str(k): {"term": {os_field(f): t}} for k, (f, t) in enumerate(chunk)}
            if i == 0:
                filters.update({"field:" + f: {"exists": {"field": os_field(f)}} for f in fields})
            answer = self._search({"size": 0, "track_total_hits": pit is not None,
                                   "aggs": {"df": {"filters": {"filters": filters}}}}, dfs=False, pit=pit)
            buckets = answer["aggregations"]["df"]["buckets"]
            for k, pair in enumerate(chunk):
                frequencies[pair] = buckets[str(k)]["doc_count"]
            if i == 0:
                field_docs = {f: buckets["field:" + f]["doc_count"] for f in fields}
                total = answer["hits"].get("total", {}).get("value", 0)  # counted in a point in time only
        return frequencies, field_docs, total

    def _words(self, include: str, limit: int) -> list[tuple[str, int]]:
        """Surface words matching the Lucene regular expression ``include``, most frequent first."""
        answer = self._search({"size": 0, "aggs": {"w": {"terms": {
            "field": "words", "include": include, "size": limit, "order": [{"_count": "desc"}, {"_key": "asc"}]}}}},
            dfs=False)
        return [(b["key"], b["doc_count"]) for b in answer["aggregations"]["w"]["buckets"]]

    def top_prefix_terms(self, field: str, prefix: str, limit: int) -> list[str]:
        if field != "exact" or limit <= 0:
            return []
        return [w for w, _ in self._words(_regexp(prefix) + ".*", limit)]

    def top_terms_within(self, field: str, text: str, maxdist: int, prefix: int, limit: int) -> list[str]:
        if field != "exact" or limit <= 0 or not text:
            return []
        return [w for w, _ in self._within(text, maxdist, prefix)][:limit]

    def _within(self, text: str, maxdist: int, prefix: int) -> list[tuple[str, int]]:
        prefix = min(prefix, len(text))
        low, high = max(0, len(text) - maxdist - prefix), len(text) + maxdist - prefix
        pattern = _regexp(text[:prefix]) + f".{{{low},{high}}}"
        candidates = self._words(pattern, 20_000)
        return [(w, n) for w, n in candidates if edit_distance(w, text, maxdist) <= maxdist]

    def expand_prefix(self, field: str, prefix: str) -> Iterator[str]:
        return iter(sorted(self.top_prefix_terms(field, prefix, 20_000)))

    def terms_within(self, field: str, text: str, maxdist: int, prefix: int = 0) -> list[str]:
        return [w for w, _ in self._within(text, maxdist, prefix)] if field == "exact" else []


def _context_missing(errors: Any) -> bool:
    """Whether OpenSearch's error (or shard failures) says a point in time's search context is gone."""
    return "search_context_missing" in json.dumps(errors or "")


def _selection(facet: str, values: list[str]) -> dict[str, Any]:
    """A facet selection as the Whoosh backend reads it: the lower-cased values, any of them."""
    values = [v.lower() if facet != "language" else v.lower()[:2] for v in values]
    return {"terms": {os_field(facet): values}}


def _article(ref: str, src: dict[str, Any]) -> StoredArticle:
    doc = dict(src.get("doc") or {})
    doc.pop("signature", None)
    doc.pop("lead", None)
    return StoredArticle(src.get("id") or ref, src.get("story") or ref, doc)


def _reranked(page: list[tuple[str, float]], hits: list[dict[str, Any]],
              request: SearchRequest) -> list[tuple[str, float]]:
    """The recency boost over the best ``RERANK_DEPTH`` (``search.results.search``)."""
    micros = []
    for h in hits[:RERANK_DEPTH]:
        date = ((h.get("_source") or {}).get("doc") or {}).get("date")
        try:
            micros.append(to_micros(datetime.fromisoformat(date)) if date else -1)
        except ValueError:
            micros.append(-1)
    head = page[:RERANK_DEPTH]
    recency = request.recency
    factor = recency.factor(np.array(micros, dtype=np.int64)) if head and recency else np.ones(len(head))
    scored = [(ref, s * float(f)) for (ref, s), f in zip(head, factor)]
    order = sorted(range(len(scored)), key=lambda i: (-scored[i][1], i))
    return [scored[i] for i in order] + page[RERANK_DEPTH:]


def _regexp(text: str) -> str:
    """``text`` literally in Lucene's regular expression syntax."""
    return "".join(c if c.isalnum() else "\\" + c for c in text)
