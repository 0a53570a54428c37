"""``scripts/cluster selftest``: the OpenSearch features the Stichwort backend will use, checked on a running
cluster with the exact request bodies the backend is meant to send, then a node kill.

Uses the cluster in ``--dir`` when it answers; otherwise starts one of 3 nodes (``--base-port``) and stops
it afterwards.  Creates the index ``stichwort-selftest`` (3 shards, 1 replica; deleted at the end unless
``--keep``), bulk-indexes ``--docs`` synthetic articles of pre-analysed terms and checks, each against
counts worked out here from the generated data:

  analysis      the ``whitespace`` analyzer and a custom whitespace analyzer keep Stichwort's terms as they
                are; ``pattern_capture`` puts a hyphenated word's parts at the word's own position
  bulk          ``_bulk`` with ``refresh_interval: -1`` during the load, then ``1s`` and ``_refresh``
  totals        ``track_total_hits: true`` is exact past 10,000 (the default stops at 10,000, ``gte``)
  dfs           ``search_type=dfs_query_then_fetch``: identical articles on different shards score the same
                (without it they do not: per-shard document frequencies)
  aggregations  ``terms`` facets (exact: ``doc_count_error_upper_bound`` 0), multi-select facets through
                ``post_filter`` + ``filter`` aggregations, ``date_histogram`` by month
  collapse      one hit per story, ``inner_hits`` counts the story, hits.total and aggregations still
                count articles; a ``cardinality`` aggregation counts the stories
  pit           ``POST /<index>/_search/point_in_time?keep_alive=1m`` + ``search_after`` pages every hit
                once and does not see later writes; records whether the version takes a ``_shard_doc``
                tiebreaker and ``collapse`` with ``search_after`` (2.19: neither; 3.3: the latter when
                sorted by the collapse field); ``collapse`` with from/size in a PIT works
  related       ``more_like_this`` on an indexed article, and a bool of boosted ``term`` queries
  kill          (3+ nodes) SIGKILL one node while searching and writing: searches keep answering with the
                full total, health goes yellow; ``restart-node`` brings it back to green

Prints PASS/FAIL per check and ``N passed, N failed``; writes every request body and the figures to
``DIR/selftest.json``.  Exit status 0 when everything passed.
"""
from __future__ import annotations

import collections
import json
import random
import threading
import time
from pathlib import Path

from clusterlib import http
from clusterlib.http import HTTPError

INDEX = "stichwort-selftest"
LOCATIONS = ["Berlin", "Genf", "Köln", "Zürich", "London", "Wien", "Paris", "Hamburg"]
SOURCES = ["tagesschau.de", "spiegel.de", "zeit.de", "faz.net", "bbc.co.uk", "nzz.ch"]
CATEGORIES = ["Politik", "Wirtschaft", "Wetter", "Verkehr", "Sport"]
SIMILARITY = {"stichwort_bm25": {"type": "BM25", "k1": 1.2, "b": 0.5}}

INDEX_BODY = {
    "settings": {
        "index": {
            "number_of_shards": 3,
            "number_of_replicas": 1,
            "refresh_interval": "1s",
            "similarity": SIMILARITY,
        },
        "analysis": {
            "analyzer": {
                # Stichwort's own analysis produced the terms: split on whitespace, nothing else
                "stichwort_terms": {"type": "custom", "tokenizer": "whitespace"},
                # "ukraine-krieg|ukraine|krieg": the word and its parts at one position
                "stichwort_terms_parts": {"type": "custom", "tokenizer": "whitespace",
                                          "filter": ["stichwort_same_position"]},
            },
            "filter": {
                "stichwort_same_position": {"type": "pattern_capture", "preserve_original": False,
                                            "patterns": ["([^|]+)"]},
            },
        },
    },
    "mappings": {
        "dynamic": "strict",
        "properties": {
            "id": {"type": "keyword"},
            "story_id": {"type": "keyword"},
            "location": {"type": "keyword"},
            "sources": {"type": "keyword"},
            "category": {"type": "keyword"},
            "language": {"type": "keyword"},
            "date": {"type": "date", "format": "strict_date_optional_time"},
            "title_de": {"type": "text", "analyzer": "whitespace", "similarity": "stichwort_bm25"},
            "body_de": {"type": "text", "analyzer": "stichwort_terms_parts", "similarity": "stichwort_bm25"},
            "parts_de": {"type": "text", "analyzer": "stichwort_terms", "similarity": "stichwort_bm25"},
            "record": {"type": "object", "enabled": False},
        },
    },
}


class Run:
    def __init__(self, url: str, verbose: bool):
        self.url, self.verbose = url, verbose
        self.results: list[dict] = []
        self.bodies: dict[str, object] = {}

    def req(self, method: str, path: str, body=None, **kw):
        return http.request(method, f"{self.url}{path}", body, **kw)

    def body(self, name: str, body):
        self.bodies[name] = body
        if self.verbose:
            print(f"  -- {name}: {json.dumps(body, ensure_ascii=False)[:2000]}")
        return body

    def check(self, name: str, fn):
        t0 = time.monotonic()
        try:
            detail = fn()
            ok = True
        except AssertionError as exc:
            ok, detail = False, f"assertion: {exc}"
        except (HTTPError, OSError, KeyError, IndexError, TypeError, ValueError) as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        ms = round((time.monotonic() - t0) * 1000)
        self.results.append({"check": name, "ok": ok, "ms": ms, "detail": detail})
        print(f"{'PASS' if ok else 'FAIL'} {name} ({ms} ms): {detail}", flush=True)
        return ok


# ---------------------------------------------------------------- data


def make_docs(n: int, seed: int = 17) -> list[dict]:
    """Synthetic articles of 'pre-analysed' terms: every body has `gemeinsam`; stories of 1-4 articles share
    five story words; a few bodies hold the hyphen form 'ukraine-krieg|ukraine|krieg'."""
    rnd = random.Random(seed)
    vocab = [f"wort{i}" for i in range(3000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    docs, i, story = [], 0, 0
    while i < n:
        size = min(rnd.choice((1, 1, 1, 2, 2, 3, 4)), n - i)
        story_words = [f"story{story}w{k}" for k in range(5)]
        loc = rnd.choice(LOCATIONS)
        day = rnd.randrange(730)
        for _ in range(size):
            words = rnd.choices(vocab, weights, k=rnd.randint(30, 120)) + story_words + ["gemeinsam"]
            if i % 50 == 0:
                words += ["berlin", "ukraine-krieg|ukraine|krieg"]
            rnd.shuffle(words)
            y, d = divmod(day, 365)
            date = time.strftime("%Y-%m-%d", time.gmtime(1704067200 + (y * 366 + d) * 86400))
            docs.append({
                "id": f"a{i:06d}", "story_id": f"s{story:06d}", "location": loc,
                "sources": rnd.sample(SOURCES, rnd.choice((1, 1, 2))), "category": rnd.choice(CATEGORIES),
                "language": "de", "date": date, "title_de": " ".join(words[:8]), "body_de": " ".join(words),
                "parts_de": " ".join(w for w in words[:20] if w.startswith("wort1")),
                "record": {"title": f"Artikel {i}", "teaser": "…"},
            })
            i += 1
        story += 1
    return docs


def routing_keys(run: Run) -> tuple[str, str]:
    """Two routing values that land on different shards of the index."""
    shard_of = {}
    for k in range(100):
        key = f"probe{k}"
        res = run.req("GET", f"/{INDEX}/_search_shards?routing={key}")
        shard = res["shards"][0][0]["shard"]
        if shard_of and shard not in shard_of.values():
            first = next(iter(shard_of))
            return first, key
        shard_of.setdefault(key, shard)
    raise AssertionError("no two routing keys on different shards")


# ---------------------------------------------------------------- checks


def run_checks(run: Run, args, mod, state: dict) -> None:
    docs = make_docs(args.docs)
    n = len(docs)
    by_story = collections.Counter(d["story_id"] for d in docs)

    def create():
        try:
            run.req("DELETE", f"/{INDEX}")
        except HTTPError as exc:
            if exc.status != 404:
                raise
        res = run.req("PUT", f"/{INDEX}", run.body("create_index", INDEX_BODY))
        assert res.get("acknowledged"), res
        h = run.req("GET", f"/_cluster/health/{INDEX}?wait_for_status=yellow&timeout=30s")
        s = run.req("GET", f"/{INDEX}/_settings")[INDEX]["settings"]["index"]
        assert s["similarity"]["stichwort_bm25"] == {"type": "BM25", "k1": "1.2", "b": "0.5"}, s["similarity"]
        return f"{s['number_of_shards']} shards, {s['number_of_replicas']} replica(s), health {h['status']}"

    if not run.check("create index (3 shards, 1 replica, BM25 k1=1.2 b=0.5, whitespace analyzers)", create):
        return

    def analysis():
        text = "berlin ukraine-krieg|ukraine|krieg Straße G7"
        a = run.req("POST", f"/{INDEX}/_analyze", run.body("analyze_whitespace", {"analyzer": "whitespace",
                                                                                     "text": "Straße ukrain G7"}))
        assert [t["token"] for t in a["tokens"]] == ["Straße", "ukrain", "G7"], a
        b = run.req("POST", f"/{INDEX}/_analyze", run.body("analyze_parts", {"field": "body_de", "text": text}))
        got = [(t["token"], t["position"]) for t in b["tokens"]]
        want = [("berlin", 0), ("ukraine-krieg", 1), ("ukraine", 1), ("krieg", 1), ("Straße", 2), ("G7", 3)]
        assert got == want, got
        return f"whitespace keeps terms verbatim; pattern_capture: {got}"

    run.check("analysis: pre-analysed terms", analysis)

    def bulk():
        run.req("PUT", f"/{INDEX}/_settings", run.body("refresh_off", {"index": {"refresh_interval": "-1"}}))
        t0 = time.monotonic()
        chunk = 2000
        for start in range(0, n, chunk):
            lines = []
            for d in docs[start:start + chunk]:
                lines += [{"index": {"_index": INDEX, "_id": d["id"]}}, d]
            if start == 0:
                run.body("bulk_first_lines", lines[:2])
            res = run.req("POST", "/_bulk", lines, ndjson=True, timeout=300)
            assert not res["errors"], [i for i in res["items"] if i["index"].get("error")][:3]
        load_s = time.monotonic() - t0
        run.req("PUT", f"/{INDEX}/_settings", run.body("refresh_on", {"index": {"refresh_interval": "1s"}}))
        run.req("POST", f"/{INDEX}/_refresh")
        count = run.req("GET", f"/{INDEX}/_count")["count"]
        assert count == n, (count, n)
        state["bulk_docs_per_s"] = round(n / load_s)
        return f"{n} docs in {load_s:.1f} s ({n / load_s:.0f} docs/s, chunks of {chunk}), count {count}"

    if not run.check("bulk indexing with refresh_interval -1, then 1s", bulk):
        return

    def totals():
        q = {"query": {"term": {"body_de": "gemeinsam"}}, "size": 0}
        default = run.req("POST", f"/{INDEX}/_search", q)["hits"]["total"]
        exact = run.req("POST", f"/{INDEX}/_search", run.body("track_total_hits", {**q, "track_total_hits": True}))
        exact = exact["hits"]["total"]
        assert exact == {"value": n, "relation": "eq"}, exact
        if n > 10000:
            assert default == {"value": 10000, "relation": "gte"}, default
        return f"default {default}, track_total_hits: true {exact}"

    run.check("track_total_hits", totals)

    def dfs():
        key_a, key_b = routing_keys(run)
        lines = []
        for k in range(30):
            lines += [{"index": {"_index": INDEX, "_id": f"probe-a{k}", "routing": key_a}},
                      {"id": f"probe-a{k}", "story_id": f"probe-a{k}", "body_de": "dfsprobe zweitwort",
                       "date": "2024-01-01"}]
        lines += [{"index": {"_index": INDEX, "_id": "probe-b", "routing": key_b}},
                  {"id": "probe-b", "story_id": "probe-b", "body_de": "dfsprobe zweitwort", "date": "2024-01-01"}]
        res = run.req("POST", "/_bulk?refresh=wait_for", lines, ndjson=True)
        assert not res["errors"]
        q = run.body("dfs_query", {"query": {"match": {"body_de": "dfsprobe"}}, "size": 31})
        plain = run.req("POST", f"/{INDEX}/_search?search_type=query_then_fetch", q)["hits"]["hits"]
        dist = run.req("POST", f"/{INDEX}/_search?search_type=dfs_query_then_fetch", q)["hits"]["hits"]
        s_plain = {h["_id"]: h["_score"] for h in plain}
        s_dfs = {h["_id"]: h["_score"] for h in dist}
        assert len(s_dfs) == 31
        assert len(set(s_dfs.values())) == 1, sorted(set(s_dfs.values()))
        assert s_plain["probe-b"] > s_plain["probe-a0"], (s_plain["probe-b"], s_plain["probe-a0"])
        return (f"query_then_fetch: lone copy {s_plain['probe-b']:.4f} vs its 30 twins {s_plain['probe-a0']:.4f} "
                f"(per-shard df); dfs_query_then_fetch: all {s_dfs['probe-b']:.4f}")

    run.check("dfs_query_then_fetch: global term statistics", dfs)

    def aggregations():
        body = run.body("aggregations", {
            "size": 0, "track_total_hits": True,
            "query": {"term": {"body_de": "gemeinsam"}},
            "aggs": {
                "location": {"terms": {"field": "location", "size": 100}},
                "source": {"terms": {"field": "sources", "size": 100}},
                "category": {"terms": {"field": "category", "size": 100}},
                "month": {"date_histogram": {"field": "date", "calendar_interval": "month", "format": "yyyy-MM",
                                             "min_doc_count": 1}},
                "year": {"date_histogram": {"field": "date", "calendar_interval": "year", "format": "yyyy",
                                            "min_doc_count": 1}},
            }})
        t0 = time.monotonic()
        res = run.req("POST", f"/{INDEX}/_search?search_type=dfs_query_then_fetch", body)
        ms = (time.monotonic() - t0) * 1000
        aggs = res["aggregations"]
        for name, field in (("location", "location"), ("category", "category")):
            want = collections.Counter(d[field] for d in docs)
            got = {b["key"]: b["doc_count"] for b in aggs[name]["buckets"]}
            assert got == dict(want), (name, got, want)
            assert aggs[name]["doc_count_error_upper_bound"] == 0 and aggs[name]["sum_other_doc_count"] == 0
        want = collections.Counter(s for d in docs for s in d["sources"])
        assert {b["key"]: b["doc_count"] for b in aggs["source"]["buckets"]} == dict(want)
        months = collections.Counter(d["date"][:7] for d in docs)
        got = {b["key_as_string"]: b["doc_count"] for b in aggs["month"]["buckets"]}
        assert got == dict(months), (got, months)
        return (f"{len(aggs['location']['buckets'])} locations, {len(aggs['source']['buckets'])} sources, "
                f"{len(got)} months, all counts exact ({ms:.0f} ms)")

    run.check("terms aggregations and date_histogram by month", aggregations)

    def multiselect():
        sel_loc, sel_cat = ["Berlin", "Genf"], ["Politik"]
        f_loc = {"terms": {"location": sel_loc}}
        f_cat = {"terms": {"category": sel_cat}}
        body = run.body("multi_select_facets", {
            "size": 0, "track_total_hits": True,
            "query": {"bool": {"must": [{"term": {"body_de": "gemeinsam"}}]}},
            "post_filter": {"bool": {"filter": [f_loc, f_cat]}},
            "aggs": {
                "location": {"filter": f_cat, "aggs": {"values": {"terms": {"field": "location", "size": 100}}}},
                "category": {"filter": f_loc, "aggs": {"values": {"terms": {"field": "category", "size": 100}}}},
            }})
        res = run.req("POST", f"/{INDEX}/_search", body)
        want_total = sum(1 for d in docs if d["location"] in sel_loc and d["category"] in sel_cat)
        assert res["hits"]["total"]["value"] == want_total, (res["hits"]["total"], want_total)
        want_loc = collections.Counter(d["location"] for d in docs if d["category"] in sel_cat)
        got_loc = {b["key"]: b["doc_count"] for b in res["aggregations"]["location"]["values"]["buckets"]}
        assert got_loc == dict(want_loc), (got_loc, want_loc)
        want_cat = collections.Counter(d["category"] for d in docs if d["location"] in sel_loc)
        got_cat = {b["key"]: b["doc_count"] for b in res["aggregations"]["category"]["values"]["buckets"]}
        assert got_cat == dict(want_cat), (got_cat, want_cat)
        return f"total {want_total}; each facet ignores its own selection (post_filter + filter aggregations)"

    run.check("multi-select facets (post_filter)", multiselect)

    def collapse():
        body = run.body("collapse", {
            "query": {"term": {"body_de": "gemeinsam"}}, "size": 20, "track_total_hits": True,
            "sort": [{"_score": "desc"}, {"id": "asc"}],
            "collapse": {"field": "story_id",
                         "inner_hits": {"name": "story", "size": 0, "track_scores": False}},
            "aggs": {"stories": {"cardinality": {"field": "story_id", "precision_threshold": 40000}},
                     "location": {"terms": {"field": "location", "size": 100}}},
        })
        res = run.req("POST", f"/{INDEX}/_search?search_type=dfs_query_then_fetch", body)
        hits = res["hits"]["hits"]
        stories = [h["fields"]["story_id"][0] for h in hits]
        assert len(stories) == len(set(stories)) == 20
        for h, s in zip(hits, stories):
            got = h["inner_hits"]["story"]["hits"]["total"]["value"]
            assert got == by_story[s], (s, got, by_story[s])
        assert res["hits"]["total"]["value"] == n, res["hits"]["total"]  # articles, not stories
        groups = res["aggregations"]["stories"]["value"]
        want_groups = len(by_story)
        loc_sum = sum(b["doc_count"] for b in res["aggregations"]["location"]["buckets"])
        assert loc_sum == n, loc_sum  # aggregations see every article, collapsed or not
        return (f"20 hits, 20 stories, inner_hits totals = story sizes; hits.total {res['hits']['total']['value']} "
                f"counts articles; cardinality {groups} vs {want_groups} stories; facets count articles")

    run.check("collapse on story_id", collapse)

    def pit():
        res = run.req("POST", f"/{INDEX}/_search/point_in_time?keep_alive=1m")
        pit_id = res["pit_id"]
        try:
            page = 1000
            q = {"query": {"term": {"body_de": "gemeinsam"}}, "size": page, "track_total_hits": True,
                 "pit": {"id": pit_id, "keep_alive": "1m"}, "sort": [{"_score": "desc"}, {"id": "asc"}]}
            run.body("pit_page", {**q, "search_after": [1.2345, "a000123"]})
            # written after the PIT was opened: a fresh search sees it, the PIT does not
            run.req("PUT", f"/{INDEX}/_doc/late-1?refresh=wait_for",
                    {"id": "late-1", "story_id": "late-1", "body_de": "gemeinsam", "date": "2025-01-01"})
            seen, after, pages = [], None, 0
            t0 = time.monotonic()
            while True:
                body = dict(q, search_after=after) if after else q
                r = run.req("POST", "/_search?search_type=dfs_query_then_fetch", body)
                if pit_id != r.get("pit_id"):
                    pit_id = r.get("pit_id") or pit_id
                hits = r["hits"]["hits"]
                if not hits:
                    break
                pages += 1
                seen += [h["_id"] for h in hits]
                after = hits[-1]["sort"]
            ms = (time.monotonic() - t0) * 1000
            assert len(seen) == len(set(seen)) == n, (len(seen), len(set(seen)), n)
            assert "late-1" not in seen
            fresh = run.req("POST", f"/{INDEX}/_count", {"query": {"term": {"body_de": "gemeinsam"}}})["count"]
            assert fresh == n + 1, fresh
            notes = []  # what this version accepts (recorded, not required)
            for name, extra in (
                    ("_shard_doc tiebreaker", {"sort": [{"_score": "desc"}, {"_shard_doc": "asc"}]}),
                    ("collapse + search_after by score", {"collapse": {"field": "story_id"},
                                                          "search_after": [1.0, "a000001"]}),
                    ("collapse + search_after by story_id", {"collapse": {"field": "story_id"},
                                                             "sort": [{"story_id": "asc"}],
                                                             "search_after": ["s000100"]})):
                try:
                    run.req("POST", "/_search", {**q, "size": 2, **extra})
                    notes.append(f"{name}: accepted")
                except HTTPError as exc:
                    err = exc.body.get("error", {}) if isinstance(exc.body, dict) else {}
                    root = (err.get("root_cause") or [{}])[0] if isinstance(err, dict) else {}
                    notes.append(f"{name}: refused, {exc.status} {root.get('reason', '')[:120]!r}")
                    state.setdefault("refused", {})[name] = {"status": exc.status, "reason": root.get("reason")}
            r = run.req("POST", "/_search", run.body("collapse_in_pit_from", {
                **q, "size": 10, "from": 10, "collapse": {"field": "story_id"}}))
            assert len({h["fields"]["story_id"][0] for h in r["hits"]["hits"]}) == 10
            notes.append("collapse in a PIT with from/size: works")
        finally:
            closed = run.req("DELETE", "/_search/point_in_time", run.body("pit_delete", {"pit_id": [pit_id]}))
        assert closed["pits"][0]["successful"], closed
        run.req("DELETE", f"/{INDEX}/_doc/late-1?refresh=wait_for")
        return f"{pages} pages of {page}: {len(seen)} unique ids, later write unseen ({ms:.0f} ms); " + "; ".join(notes)

    run.check("point in time + search_after", pit)

    def related():
        target = next(d for d in docs if by_story[d["story_id"]] == 4)
        siblings = {d["id"] for d in docs if d["story_id"] == target["story_id"]} - {target["id"]}
        mlt = run.body("more_like_this", {"size": 3, "query": {"more_like_this": {
            "fields": ["body_de"], "like": [{"_index": INDEX, "_id": target["id"]}],
            "min_term_freq": 1, "min_doc_freq": 1, "max_query_terms": 25, "minimum_should_match": "1",
            "max_doc_freq": max(2, n // 10)}}})
        r = run.req("POST", f"/{INDEX}/_search?search_type=dfs_query_then_fetch", mlt)
        got = {h["_id"] for h in r["hits"]["hits"]}
        assert got == siblings, (got, siblings)
        story_words = sorted({w for w in target["body_de"].split() if w.startswith("story")})
        boosted = run.body("boosted_terms", {"size": 3, "query": {"bool": {
            "should": [{"term": {"body_de": {"value": w, "boost": round(1.0 - 0.1 * k, 2)}}}
                       for k, w in enumerate(story_words)]
            + [{"term": {"title_de": {"value": story_words[0], "boost": 4.0}}}],
            "must_not": [{"ids": {"values": [target["id"]]}}]}}})
        r2 = run.req("POST", f"/{INDEX}/_search?search_type=dfs_query_then_fetch", boosted)
        got2 = {h["_id"] for h in r2["hits"]["hits"]}
        assert got2 == siblings, (got2, siblings)
        return f"more_like_this and boosted term queries both find the 3 other articles of story {target['story_id']}"

    run.check("related: more_like_this / boosted term queries", related)

    def phrase():
        body = run.body("phrase", {"query": {"match_phrase": {"body_de": "berlin ukraine"}}})
        r = run.req("POST", f"/{INDEX}/_count", body)
        want = sum(1 for d in docs if "berlin ukraine-krieg|ukraine|krieg" in d["body_de"])
        assert r["count"] == want, (r["count"], want)
        return (f"match_phrase 'berlin ukraine' finds the {want} articles with 'berlin ukraine-krieg' "
                "(the part at the word's position)")

    run.check("phrase over same-position parts", phrase)

    memory(run, state, "after indexing")
    if not args.no_kill:
        kill_test(run, args, mod, state)


def memory(run: Run, state: dict, label: str) -> None:
    try:
        st = run.req("GET", "/_nodes/stats/jvm,os")
    except (HTTPError, OSError):
        return
    rows = []
    for node in st["nodes"].values():
        rows.append({"name": node["name"], "heap_used_mb": round(node["jvm"]["mem"]["heap_used_in_bytes"] / 2**20),
                     "heap_max_mb": round(node["jvm"]["mem"]["heap_max_in_bytes"] / 2**20),
                     "non_heap_mb": round(node["jvm"]["mem"]["non_heap_used_in_bytes"] / 2**20)})
    for m in state["cluster"]["nodes"]:
        for row in rows:
            if row["name"] == m["name"] and m.get("pid"):
                row.update(state["rss"](m["pid"]))
    state.setdefault("memory", {})[label] = sorted(rows, key=lambda r: r["name"])
    print(f"memory {label}: " + "; ".join(
        f"{r['name']} heap {r['heap_used_mb']}/{r['heap_max_mb']} MB, non-heap {r['non_heap_mb']} MB, "
        f"RSS {r.get('rss_mb', '?')} MB, PSS {r.get('pss_mb', '?')} MB" for r in sorted(rows, key=lambda r: r["name"])))


def kill_test(run: Run, args, mod, state: dict) -> None:
    cluster = state["cluster"]
    if len(cluster["nodes"]) < 3:
        run.results.append({"check": "kill a node", "ok": True, "ms": 0, "detail": "skipped: fewer than 3 nodes"})
        print("SKIP kill a node: fewer than 3 nodes")
        return
    # kill the elected cluster manager: the harder case (a new election as well as promoted replicas)
    cm = run.req("GET", "/_cat/cluster_manager?format=json")[0]["node"]
    victim = int(cm.split("-")[1])
    survivor = next(m["url"] for i, m in enumerate(cluster["nodes"], 1) if i != victim)
    run.url = survivor  # from here on every request goes to a node that stays up
    q = {"query": {"term": {"body_de": "gemeinsam"}}, "size": 10, "track_total_hits": True,
         "aggs": {"location": {"terms": {"field": "location", "size": 100}}}}
    want = args.docs  # every generated article has "gemeinsam" (the probes do not)
    log: list[dict] = []
    stop = threading.Event()
    written: list[str] = []

    def searcher():
        while not stop.is_set():
            t = time.monotonic()
            try:
                r = http.request("POST", f"{survivor}/{INDEX}/_search?search_type=dfs_query_then_fetch", q, timeout=30)
                log.append({"t": t, "ms": round((time.monotonic() - t) * 1000), "total": r["hits"]["total"]["value"],
                            "hits": len(r["hits"]["hits"]), "failed": r["_shards"]["failed"],
                            "failures": r["_shards"].get("failures")})
            except (HTTPError, OSError) as exc:
                log.append({"t": t, "ms": round((time.monotonic() - t) * 1000), "error": str(exc)[:300]})
            time.sleep(0.05)

    def writer():
        k = 0
        while not stop.is_set():
            doc_id = f"kill-{k}"
            try:
                http.request("PUT", f"{survivor}/{INDEX}/_doc/{doc_id}", {"id": doc_id, "story_id": doc_id,
                                                                          "body_de": "killtest", "date": "2025-06-01"},
                             timeout=60)
                written.append(doc_id)
            except (HTTPError, OSError) as exc:
                log.append({"t": time.monotonic(), "write_error": str(exc)[:300]})
            k += 1
            time.sleep(0.1)

    def kill():
        threads = [threading.Thread(target=searcher), threading.Thread(target=writer)]
        for t in threads:
            t.start()
        time.sleep(2)
        t_kill = time.monotonic()
        rc = mod.main(["kill-node", str(victim), "--dir", str(args.dir), "--no-wait"])
        assert rc == 0, "kill-node failed"
        h = http.wait_until(lambda: (lambda x: x if x and x["number_of_nodes"] == len(cluster["nodes"]) - 1 else None)(
            http.try_get(f"{survivor}/_cluster/health", 2)), timeout=60, interval=0.2)
        t_seen = time.monotonic() - t_kill
        assert h, "the survivors did not notice the kill within 60 s"
        time.sleep(3)
        h = http.request("GET", f"{survivor}/_cluster/health")
        stop.set()
        for t in threads:
            t.join()
        after = [e for e in log if e["t"] >= t_kill and "total" in e]
        errors = [e for e in log if "error" in e or "write_error" in e]
        partial = [e for e in log if e.get("failed")]
        wrong = [e for e in after if e["total"] != want]
        short = [e for e in partial if e.get("hits", 10) < 10]
        state["kill"] = {"victim": f"node-{victim} (elected cluster manager)", "noticed_s": round(t_seen, 1),
                         "searches": len(log), "after_kill": len(after), "errors": errors[:5],
                         "partial": [{k: v for k, v in e.items() if k != "t"} for e in partial[:5]],
                         "max_ms_after_kill": round(max((e["ms"] for e in after), default=0)),
                         "writes_acknowledged": len(written), "health": h["status"],
                         "unassigned": h["unassigned_shards"]}
        assert not errors, errors[:3]
        assert not wrong, wrong[:3]
        assert h["status"] == "yellow", h["status"]
        return (f"killed node-{victim} (cluster manager); survivors saw it after {t_seen:.1f} s; "
                f"{len(after)} searches after the kill, all answered with total {want} "
                f"({len(partial)} reported a failed shard copy, {len(short)} of them with fewer than 10 hits), "
                f"max {state['kill']['max_ms_after_kill']} ms; "
                f"{len(written)} writes acknowledged; health {h['status']}, {h['unassigned_shards']} unassigned")

    run.check("kill a node while searching and writing", kill)  # restart either way: leave the cluster whole

    def restart():
        t0 = time.monotonic()
        rc = mod.main(["restart-node", str(victim), "--dir", str(args.dir), "--timeout", "180"])
        assert rc == 0, "restart-node failed"
        secs = time.monotonic() - t0
        h = run.req("GET", "/_cluster/health")
        assert h["status"] == "green", h
        run.req("POST", f"/{INDEX}/_refresh")
        found = run.req("POST", f"/{INDEX}/_search", {"size": 0, "track_total_hits": True,
                                                       "query": {"ids": {"values": written}}})["hits"]["total"]["value"]
        assert found == len(written), f"{len(written) - found} acknowledged writes missing"
        state.setdefault("kill", {})["restart_to_green_s"] = round(secs, 1)
        return f"node-{victim} back, green after {secs:.1f} s; all {len(written)} acknowledged writes there"

    run.check("restart the node: back to green", restart)


# ---------------------------------------------------------------- entry


def main(args, mod) -> int:
    cdir = Path(args.dir).resolve()
    state_file = mod.load_state(cdir)
    started_here = False
    if not (state_file and mod.health(state_file["urls"])):
        print(f"no cluster answers in {cdir}: starting 3 nodes for the self-test ...", flush=True)
        argv = ["start", "--dir", str(cdir), "--nodes", "3"]
        if args.base_port:
            argv += ["--base-port", str(args.base_port)]
        if mod.main(argv) != 0:
            return 1
        started_here = True
        state_file = mod.load_state(cdir)
    h = mod.health(state_file["urls"])
    url = h["_via"]
    run = Run(url, args.verbose)
    version = http.request("GET", url)["version"]["number"]
    state = {"cluster": state_file, "rss": mod.rss_mb, "version": version}
    print(f"self-test against OpenSearch {version} at {url}: {h['number_of_nodes']} node(s), {h['status']}", flush=True)
    t0 = time.monotonic()
    try:
        run_checks(run, args, mod, state)
    finally:
        if not args.keep:
            try:
                http.request("DELETE", f"{url}/{INDEX}")
            except (HTTPError, OSError):
                pass
        if started_here and not args.keep:
            mod.main(["stop", "--dir", str(cdir)])
    passed = sum(r["ok"] for r in run.results)
    failed = len(run.results) - passed
    report = {"version": version, "url": url, "nodes": len(state_file["nodes"]), "docs": args.docs,
              "seconds": round(time.monotonic() - t0, 1), "results": run.results, "bodies": run.bodies,
              **{k: v for k, v in state.items() if k in ("memory", "kill", "bulk_docs_per_s", "refused")}}
    (cdir / "selftest.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"report: {cdir / 'selftest.json'}")
    print(f"selftest: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1
