"""The OpenSearch backend against a real local 3-node cluster (``scripts/cluster``).

The session fixture reuses a running cluster (``$STICHWORT_OPENSEARCH_URL`` or ``scripts/cluster
status``) or starts one with small heaps and stops it at the end, failures included; everything
here skips, saying why, where no cluster can be started (no Java, no distribution).

* parity with the Whoosh backend on the demo archive: totals, facet counts, histograms, top-10 ids;
* behavioural tests of test_search.py and test_api.py, run again with ``engine`` an OpenSearch engine;
* incremental updates and deletes, the index lock, an unreachable cluster (503), a node killed
  while searching and indexing (searches answer, no acknowledged article lost, health degraded).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import DEMO, ROOT
from test_relevance import QUERIES

CLUSTER = [sys.executable, str(ROOT / "scripts" / "cluster.py")]
START_TIMEOUT = 300


def _cluster(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*CLUSTER, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="session")
def cluster_url():
    """The URLs of a running cluster; started here (and stopped at the end) when none runs."""
    url = os.environ.get("STICHWORT_OPENSEARCH_URL")
    if url:
        yield url
        return
    started = False
    try:
        running = _cluster("status").returncode == 0
    except subprocess.TimeoutExpired:
        running = False
    if not running:
        if not shutil.which("java") and not os.environ.get("JAVA_HOME") and not os.environ.get("OPENSEARCH_JAVA_HOME"):
            pytest.skip("no Java: cannot start the local OpenSearch cluster (scripts/cluster)")
        try:
            run = _cluster("start", "--nodes", "3", "--heap", "384m", timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            _cluster("stop", timeout=120)
            pytest.skip(f"the local OpenSearch cluster did not start within {START_TIMEOUT} s")
        if run.returncode != 0:
            _cluster("stop", timeout=120)
            pytest.skip(f"the local OpenSearch cluster could not be started: {run.stderr.strip()[-500:]}")
        started = True
    try:
        yield _cluster("url").stdout.strip()
    finally:
        if started:
            _cluster("stop", timeout=120)


def os_config(url: str, index_dir: Path, index: str | None = None, **opensearch):
    from search.config import load_config
    config = load_config(index_dir=index_dir)
    config.data["backend"] = "opensearch"
    settings = {"url": url, "index": index or f"stichwort-test-{uuid.uuid4().hex[:10]}", "shards": 3,
                "replicas": 1, "timeout": 30.0}
    config.data["opensearch"].update({**settings, **opensearch})
    return config


def drop(config) -> None:
    from search.backend.opensearch.client import from_config
    from search.backend.opensearch.writer import lock_index
    cluster = from_config(config)
    for name in (config["opensearch"]["index"], lock_index(config["opensearch"]["index"])):
        cluster.request("DELETE", "/" + name, ok=(404,))


@pytest.fixture(scope="session")
def os_demo(cluster_url, tmp_path_factory):
    """The demo archive indexed into a fresh index of the cluster."""
    from search.index.indexer import Indexer
    config = os_config(cluster_url, tmp_path_factory.mktemp("os-demo"))
    summary = Indexer(config).index_paths([DEMO])
    assert summary.failed == 0, summary.failures
    yield config
    drop(config)


@pytest.fixture(scope="session")
def os_engine(os_demo):
    from search.engine import Engine
    eng = Engine(os_demo.index_dir, os_demo)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def whoosh_engine(demo_index):
    from search.engine import Engine
    eng = Engine(demo_index)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def engine(os_engine):
    """The behavioural tests imported below run on the OpenSearch engine (conftest's is Whoosh's)."""
    return os_engine


# -- parity ---------------------------------------------------------------------------------------------------
PARITY_EXTRA = [("Bahn", {"filters": {"source": ["spiegel.de"]}}), ("", {"date_from": "2025-01-01"}),
                ("Streik", {"collapse": True}), ("Genf", {"sort": "newest"}), ("", {"filters": {"language": ["en"]}}),
                ("Hochwasser", {"filters": {"location": ["Köln"], "category": ["Umwelt"]}})]


def _counts(result) -> dict:
    """What must be equal; a facet lists its 20 most frequent values, and which of equally frequent
    ones make the cut depends on document order (Whoosh: first matching document first), so a facet
    is compared as its counts, in order."""
    return {"total": result["total"], "stories": result["stories"],
            "facets": {k: [r["count"] for r in v] for k, v in result["facets"].items()},
            "months": result["date_histogram"], "years": result["date_histogram_year"]}


def _same_values(a, b) -> bool:
    """Values listed by both facets have the same counts."""
    for name in a["facets"]:
        x = {r["value"]: r["count"] for r in a["facets"][name]}
        y = {r["value"]: r["count"] for r in b["facets"][name]}
        if any(x[v] != y[v] for v in set(x) & set(y)):
            return False
    return True


def test_parity_totals_facets_histograms(whoosh_engine, os_engine):
    cases = [(q, {}) for q in QUERIES] + PARITY_EXTRA
    differ = {}
    for q, kwargs in cases:
        a, b = whoosh_engine.search(q, highlight=False, **kwargs), os_engine.search(q, highlight=False, **kwargs)
        if _counts(a) != _counts(b) or not _same_values(a, b):
            differ[f"{q} {kwargs}"] = (_counts(a), _counts(b))
    assert not differ, json.dumps(differ, ensure_ascii=False, indent=1)[:4000]


def test_parity_top10(whoosh_engine, os_engine):
    """The same top-10 ids in the same order for >= 90 % of the queries (both backends score the same
    lengths, ``search.backend.norms``; what remains are float32 against float64 near-ties and fuzzy words
    that expand differently), and every score within a millionth of Whoosh's (as rounded in a hit)."""
    same_order = 0
    report, off = {}, []
    for q in QUERIES:
        a = whoosh_engine.search(q, size=10, highlight=False)["hits"]
        b = os_engine.search(q, size=10, highlight=False)["hits"]
        ia, ib = [h["id"] for h in a], [h["id"] for h in b]
        same_order += ia == ib
        if ia != ib:
            report[q] = (ia, ib)
        theirs = {h["id"]: h["score"] for h in b}
        off += [(q, h["id"], h["score"], theirs[h["id"]]) for h in a
                if h["id"] in theirs and abs(h["score"] - theirs[h["id"]]) > 1e-4 + 1e-6 * h["score"]]  # 4 places
    print(f"\ntop-10 parity: same order {same_order}/{len(QUERIES)}")
    assert same_order >= 0.9 * len(QUERIES), json.dumps(report, ensure_ascii=False, indent=1)[:4000]
    assert not off, off[:10]


def test_engine_answers_the_same_on_both(whoosh_engine, os_engine):
    doc = "2025-03-13-bahnstreik-berlin-spiegel.txt"
    assert os_engine.get(doc) == whoosh_engine.get(doc)
    rw, ro = whoosh_engine.related(doc), os_engine.related(doc)
    assert [h["id"] for h in ro["same_story"]] == [h["id"] for h in rw["same_story"]]
    assert len({h["id"] for h in ro["related"]} & {h["id"] for h in rw["related"]}) >= 8
    story = whoosh_engine.get(doc)["story_id"]
    members = [h["id"] for h in whoosh_engine.story(story)["articles"]]
    assert [h["id"] for h in os_engine.story(story)["articles"]] == members
    assert os_engine.suggest("Bahn") == whoosh_engine.suggest("Bahn")
    assert os_engine.search("Bahnstreick")["suggestion"] == whoosh_engine.search("Bahnstreick")["suggestion"]
    assert os_engine.explain("Bahnstreik", doc)["matched"]
    assert os_engine.stats()["months"] == whoosh_engine.stats()["months"]
    assert os_engine.health()["status"] in ("ok", "degraded")


# -- behaviour shared with the Whoosh backend (the tests of test_search.py and test_api.py, engine = OpenSearch)
from test_api import (  # noqa: E402,F401
    app,
    client,
    test_article,
    test_article_unknown_id,
    test_explain,
    test_health,
    test_related,
    test_related_errors,
    test_search_collapse,
    test_search_contract,
    test_search_date_range,
    test_search_paging_and_cursor,
    test_search_repeated_filters_or_within_and_across,
    test_search_sort_by_date,
    test_search_source_filter,
    test_search_tampered_cursor,
    test_suggest,
)
from test_search import (  # noqa: E402,F401
    test_all_words_rank_above_some,
    test_boolean_operators_in_german_and_english,
    test_broken_queries_never_raise,
    test_compound_query_does_not_drag_in_its_parts_alone,
    test_did_you_mean_and_autocomplete,
    test_facets_multi_select_counts,
    test_field_prefixes,
    test_multi_outlet_stories_group,
    test_phrase_must_must_not,
    test_related_and_collapse,
    test_sort_paging_and_cursor,
    test_wildcard_and_fuzzy,
)

# -- cursor paging: a point in time and search_after ----------------------------------------------------------
PAGED = [("", {}), ("", {"sort": "newest"}), ("", {"sort": "oldest"}), ("Bahn", {}), ("", {"collapse": True}),
         ("", {"filters": {"language": ["de"]}, "date_from": "2024-06-01"})]


def _walk(engine, q, size, **kwargs) -> tuple[list[str], list[dict]]:
    """Every hit of a search, page after page by cursor, and the pages."""
    found, pages, cursor = [], [], None
    while True:
        page = engine.search(q, size=size, cursor=cursor, highlight=False, **kwargs)
        found += [h["id"] for h in page["hits"]]
        pages.append(page)
        cursor = page["next_cursor"]
        if not cursor:
            return found, pages


def _state(cursor: str) -> dict:
    """The backend state a cursor carries (``search.query.cursor``'s format, read without the key)."""
    import base64
    import zlib

    from search.query.cursor import STATE
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))[:-12]
    assert raw[:1] == STATE
    return json.loads(zlib.decompress(raw[1:]))["s"]


def _pit_gone(config, pit: str) -> bool:
    from search.backend.opensearch.client import from_config
    answer = from_config(config).request("POST", "/_search", {"pit": {"id": pit}, "size": 0}, ok=(404,))
    return "error" in answer


@pytest.mark.parametrize("q, kwargs", PAGED)
def test_cursor_pages_are_one_big_page(os_engine, os_demo, q, kwargs):
    """Page by page through a point in time: every match once, in the order of one big page, with the
    big page's exact totals, facets and histograms on every page; the point in time closes at the end."""
    big = os_engine.search(q, size=100, highlight=False, **kwargs)
    found, pages = _walk(os_engine, q, 4, **kwargs)
    assert found == [h["id"] for h in big["hits"]]
    entries = big["stories"] if kwargs.get("collapse") else big["total"]["value"]
    assert len(pages) == -(-entries // 4) and [p["page"] for p in pages] == list(range(1, len(pages) + 1))
    for page in pages:
        assert (page["total"], page["stories"], page["facets"], page["date_histogram"]) == \
               (big["total"], big["stories"], big["facets"], big["date_histogram"])
    if len(pages) > 2:  # the second page opened a point in time
        state = _state(pages[-2]["next_cursor"])
        assert state["pit"] and ("after" in state) != bool(kwargs.get("collapse"))  # collapse: offsets
        assert _pit_gone(os_demo, state["pit"])  # closed after the last page


def test_cursor_paging_past_the_result_window(cluster_url, tmp_path):
    """search_after does not count from the top: with the index's result window cut to 40 a walk goes on
    to the 150th hit, where a page number ends at 40.  150 equal scores: ties in the order of adding."""
    from search.backend.opensearch.client import from_config
    from search.engine import Engine
    from search.index.indexer import Indexer
    config = os_config(cluster_url, tmp_path / "ix")
    try:
        Indexer(config).index_articles(_articles(0, 150), origin="window")
        index = config["opensearch"]["index"]
        from_config(config).request("PUT", f"/{index}/_settings", {"index": {"max_result_window": 40}})
        engine = Engine(config.index_dir, config)
        found, pages = _walk(engine, "Ticker", 9)
        assert found == [f"kill-{i}" for i in range(150)]
        assert len({h["score"] for p in pages for h in p["hits"]}) == 1
        engine.close()
    finally:
        drop(config)


def test_a_cursor_keeps_its_list_across_commits(cluster_url, tmp_path):
    """Articles added and deleted while a walk is on change nothing for it: it ends with the list it
    started with (deleted articles shown as they were; asked for alone they are gone).  A commit between
    a walk's first page and its second, before the point in time opens, is noted."""
    from search.backend.opensearch.searching import MOVED
    from search.engine import Engine
    from search.errors import NotFound
    from search.index.indexer import Indexer
    config = os_config(cluster_url, tmp_path / "ix")
    try:
        Indexer(config).index_articles(_articles(0, 30), origin="first")
        engine = Engine(config.index_dir, config)
        before = [h["id"] for h in engine.search("Ticker", size=100, highlight=False)["hits"]]
        first = engine.search("Ticker", size=7, highlight=False)
        second = engine.search("Ticker", size=7, cursor=first["next_cursor"], highlight=False)
        assert MOVED not in second["notes"]
        indexer = Indexer(config)
        indexer.index_articles(_articles(30, 10), origin="second")
        assert indexer.delete(["kill-3", "kill-25"]) == 2
        engine.refresh()
        assert engine.search("Ticker")["total"]["value"] == 38
        found = [h["id"] for h in first["hits"] + second["hits"]]
        cursor, totals = second["next_cursor"], set()
        while cursor:
            page = engine.search("Ticker", size=7, cursor=cursor, highlight=False)
            found += [h["id"] for h in page["hits"]]
            totals.add(page["total"]["value"])
            cursor = page["next_cursor"]
        assert found == before and totals == {30}
        with pytest.raises(NotFound):
            engine.get("kill-25")
        start = engine.search("Ticker", size=7, highlight=False)
        Indexer(config).index_articles(_articles(40, 1), origin="third")
        engine.refresh()
        assert MOVED in engine.search("Ticker", size=7, cursor=start["next_cursor"], highlight=False)["notes"]
        engine.close()
    finally:
        drop(config)


def test_an_index_without_seq_is_refused_for_writing_and_still_pages(cluster_url, tmp_path, caplog):
    """An index written before ``seq`` (mapping format 5): indexing says to rebuild it; searching goes on,
    with a warning, ties by id and cursors by offset in a point in time."""
    from search.backend.opensearch.client import from_config
    from search.backend.opensearch.mapping import FORMAT
    from search.engine import Engine
    from search.errors import StichwortError
    from search.index.indexer import Indexer
    config = os_config(cluster_url, tmp_path / "ix")
    try:
        Indexer(config).index_articles(_articles(0, 12), origin="old")
        client, index = from_config(config), config["opensearch"]["index"]
        meta = next(iter(client.request("GET", f"/{index}/_mapping").values()))["mappings"]["_meta"]
        client.request("PUT", f"/{index}/_mapping", {"_meta": {**meta, "stichwort_format": FORMAT - 1}})
        with pytest.raises(StichwortError, match="--rebuild"):
            Indexer(config).index_articles(_articles(12, 1), origin="new")
        with caplog.at_level("WARNING", logger="search.backend.opensearch.searching"):
            engine = Engine(config.index_dir, config)
        assert "--rebuild" in caplog.text
        found, pages = _walk(engine, "Ticker", 5)
        assert found == sorted(found) and len(set(found)) == 12  # ties by id
        assert "after" not in _state(pages[1]["next_cursor"])
        engine.close()
    finally:
        drop(config)


def test_expired_or_altered_cursor_is_a_400(client, os_demo):  # noqa: F811 - the fixture imported above
    from urllib.parse import urlencode

    from test_api import assert_error, get_json

    from search.backend.opensearch.client import from_config
    first = get_json(client, "/api/search?size=5")
    second = get_json(client, "/api/search?" + urlencode({"size": 5, "cursor": first["next_cursor"]}))
    cursor = second["next_cursor"]
    flipped = cursor[:20] + ("A" if cursor[20] != "A" else "B") + cursor[21:]
    assert_error(client, "/api/search?" + urlencode({"size": 5, "cursor": flipped}), 400, param="cursor")
    from_config(os_demo).request("DELETE", "/_search/point_in_time", {"pit_id": [_state(cursor)["pit"]]})
    body = assert_error(client, "/api/search?" + urlencode({"size": 5, "cursor": cursor}), 400, param="cursor")
    assert "expired" in body["error"]["reason"]
    assert get_json(client, "/api/search?size=5")["hits"] == first["hits"]  # starting again works


# -- writing --------------------------------------------------------------------------------------------------
def _copy_demo(dest: Path, n: int) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    files = sorted(DEMO.glob("*.txt"))[:n]
    return [Path(shutil.copy(f, dest / f.name)) for f in files]


def test_incremental_updates_and_deletes(cluster_url, tmp_path):
    from search.engine import Engine
    from search.index.indexer import Indexer
    files = _copy_demo(tmp_path / "articles", 5)
    config = os_config(cluster_url, tmp_path / "ix")
    try:
        first = Indexer(config).index_paths([tmp_path / "articles"])
        assert first.failed == 0 and sum(f.added for f in first.files) == 5
        engine = Engine(config.index_dir, config)
        assert engine.search("")["total"]["value"] == 5
        again = Indexer(config).index_paths([tmp_path / "articles"])
        assert sum(f.added + f.updated for f in again.files) == 0  # nothing changed: nothing written
        files[0].write_text(files[0].read_text(encoding="utf-8") + "\nNachtrag: Zeppelinlandung gemeldet.\n",
                            encoding="utf-8")
        third = Indexer(config).index_paths([tmp_path / "articles"])
        assert sum(f.updated for f in third.files) == 1
        engine.refresh()
        assert engine.search("")["total"]["value"] == 5  # updated in place, by id
        assert engine.search("Zeppelinlandung")["total"]["value"] == 1
        gone = engine.search("")["hits"][0]["id"]
        assert Indexer(config).delete([gone, "no-such-id"]) == 1
        engine.refresh()
        assert engine.search("")["total"]["value"] == 4
        assert gone not in {h["id"] for h in engine.search("")["hits"]}
        engine.close()
    finally:
        drop(config)


def test_two_runs_never_write_at_once(cluster_url, tmp_path):
    from search.backend.opensearch.client import from_config
    from search.backend.opensearch.writer import write_lock
    from search.errors import IndexLocked
    from search.index.indexer import Indexer
    config = os_config(cluster_url, tmp_path / "ix")
    try:
        with write_lock(from_config(config), config["opensearch"]["index"]):
            with pytest.raises(IndexLocked, match="another indexer"):
                Indexer(config).index_paths(_copy_demo(tmp_path / "a", 1))
        assert Indexer(config).index_paths(_copy_demo(tmp_path / "b", 1)).failed == 0
    finally:
        drop(config)


def test_unreachable_cluster_is_a_503_never_a_500(tmp_path):
    from search.engine import Engine
    from search.errors import Unavailable
    from web import create_app
    config = os_config("http://127.0.0.1:9", tmp_path / "ix", timeout=2.0)
    engine = Engine(config.index_dir, config)  # starts: a cluster may come back
    with pytest.raises(Unavailable):
        engine.search("Bahnstreik")
    web = create_app(engine=engine).test_client()
    for url in ("/api/search?q=Bahnstreik", "/api/health", "/api/articles/x", "/"):
        assert web.get(url).status_code == 503, url


# -- a node killed ----------------------------------------------------------------------------------------------
def _articles(start: int, n: int):
    from search.ingest.article import Article
    base = datetime(2026, 1, 1)
    return [Article(id=f"kill-{i}", title=f"Meldung {i} aus dem Ticker", body=f"Der Ticker meldet Vorgang {i}: "
                    "Pegel, Streik und Wahl.", teaser="", url="", sources=["ticker.example"], category="Test",
                    date=base + timedelta(minutes=i), language="de", path=f"kill-{i}") for i in range(start, start + n)]


@pytest.mark.slow
def test_a_killed_node_loses_nothing_acknowledged(cluster_url, tmp_path):
    """3 nodes, 3 shards, 1 replica: node 2 is killed while one thread searches and one indexes."""
    if os.environ.get("STICHWORT_OPENSEARCH_URL"):
        pytest.skip("an external cluster: its nodes are not ours to kill")
    from search.engine import Engine
    from search.index.indexer import Indexer
    config = os_config(cluster_url, tmp_path / "ix")
    acknowledged: list[str] = []
    failures: list[str] = []
    answered = [0]
    stop = threading.Event()
    try:
        Indexer(config).index_articles(_articles(0, 200), origin="kill")
        acknowledged += [f"kill-{i}" for i in range(200)]
        engine = Engine(config.index_dir, config)

        def search() -> None:
            while not stop.is_set():
                try:
                    engine.refresh()
                    assert engine.search("Ticker")["total"]["value"] >= 200
                    answered[0] += 1
                except Exception as exc:  # noqa: BLE001 - counted, reported below
                    failures.append(f"search: {type(exc).__name__}: {exc}")
                time.sleep(0.05)

        def index() -> None:
            start = 200
            while not stop.is_set() and start < 2000:
                try:
                    Indexer(config).index_articles(_articles(start, 100), origin=f"kill-{start}")
                    acknowledged.extend(f"kill-{i}" for i in range(start, start + 100))
                except Exception as exc:  # noqa: BLE001 - unacknowledged: may be lost
                    failures.append(f"index: {type(exc).__name__}: {exc}")
                start += 100

        threads = [threading.Thread(target=search), threading.Thread(target=index)]
        for t in threads:
            t.start()
        time.sleep(3)
        killed_at = time.monotonic()
        assert _cluster("kill-node", "2").returncode == 0
        degraded = None
        while time.monotonic() - killed_at < 90:
            if engine.health()["status"] == "degraded":
                degraded = time.monotonic() - killed_at
                break
            time.sleep(0.5)
        time.sleep(5)
        before = answered[0]
        time.sleep(5)
        stop.set()
        for t in threads:
            t.join(timeout=120)
        print(f"\nkill test: degraded after {degraded} s, {answered[0]} searches answered, "
              f"{len(acknowledged)} articles acknowledged, failures: {failures[:5]}")
        assert degraded is not None, "health never said degraded with a node down"
        assert answered[0] > before, "searches stopped answering with a node down"
        search_failures = [f for f in failures if f.startswith("search")]
        assert len(search_failures) <= 2, search_failures
        engine.refresh()
        view = engine.backend.view()
        view.prefetch_signatures(acknowledged)
        found = {i for i in acknowledged if i in view._signatures}
        assert len(found) == len(acknowledged), f"lost {sorted(set(acknowledged) - found)[:10]}"
        engine.close()
    finally:
        stop.set()
        run = _cluster("restart-node", "2", timeout=240)
        drop(config)
        assert run.returncode == 0, run.stderr[-500:]


def test_ids_past_opensearch_limits_round_trip(cluster_url, tmp_path):
    from search.engine import Engine
    from search.index.indexer import Indexer
    config = os_config(cluster_url, tmp_path / "ix")
    articles = _articles(0, 2)
    articles[0].id = "lang/" + "ä" * 400  # 805 bytes: past the 512 bytes of an OpenSearch _id
    articles[1].id = "with spaces/and?query#frag"
    try:
        Indexer(config).index_articles(articles, origin="ids")
        engine = Engine(config.index_dir, config)
        for article in articles:
            assert engine.get(article.id)["title"] == article.title
        assert {h["id"] for h in engine.search("Ticker")["hits"]} == {a.id for a in articles}
        assert Indexer(config).delete([articles[0].id]) == 1
        engine.close()
    finally:
        drop(config)


@pytest.mark.parametrize("override, key", [
    ({"backend": "elastic"}, "backend"), ({"opensearch": {"url": "localhost:9200"}}, "opensearch.url"),
    ({"opensearch": {"index": "Stichwort"}}, "opensearch.index"), ({"opensearch": {"shards": 0}}, "opensearch.shards"),
    ({"opensearch": {"verify_tls": "no"}}, "opensearch.verify_tls"),
    ({"opensearch": {"keep_alive": "10 minutes"}}, "opensearch.keep_alive"),
    ({"opensearch": {"keep_alive": "2d"}}, "opensearch.keep_alive"),
])
def test_backend_config_errors_name_the_key(tmp_path, override, key):
    import yaml

    from search.config import load_config
    from search.errors import ConfigError
    path = tmp_path / "stichwort.yaml"
    path.write_text(yaml.safe_dump(override), encoding="utf-8")
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config(path)
    assert load_config()["backend"] == "whoosh"


# -- scripts/bench --backend opensearch -------------------------------------------------------------------------
BENCH_DATA = ROOT.parent / "shared" / "data" / "fang-covid-de" / "corpus.jsonl"


@pytest.mark.slow
def test_bench_reports_the_opensearch_backend_beside_whoosh(cluster_url, tmp_path):
    """scripts/bench.py --docs 300 --backend opensearch on this cluster: both backends' indexing and query
    figures, in the JSON and the table, and the bench's index dropped afterwards (never timings)."""
    if not BENCH_DATA.is_file():
        pytest.skip(f"benchmark corpus not available here: {BENCH_DATA} (../shared/data is absent)")
    out, md = tmp_path / "bench.json", tmp_path / "bench.md"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--docs", "300", "--backend", "opensearch",
         "--skip-http", "--per-doc-max", "0", "--rounds", "1", "--workers", "2", "--max-minutes", "10",
         "--json", str(out), "--markdown", str(md)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=660,
        env=dict(os.environ, STICHWORT_OPENSEARCH_URL=cluster_url))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["opensearch"]["nodes"] >= 1 and not report["opensearch"]["started_here"]  # reused, not started
    size = report["sizes"][0]
    whoosh, cluster = size["stichwort"]["workers_2"], size["opensearch"]["indexing"]
    for run in (whoosh, cluster):
        assert run.get("status") == "ok" and run.get("complete") and run.get("docs") == 300, run
        assert run["docs_per_s"] > 0 and run["index_bytes"] > 0 and run["cpu_seconds"] > 0
    assert cluster["failed"] == 0 and cluster["store_bytes_with_replicas"] >= cluster["index_bytes"]
    assert cluster["cluster_cpu_seconds"] >= 0
    queries = size["opensearch"]["queries"]
    assert queries["status"] == "ok" and queries["doc_count"] == 300 and queries["index_complete"]
    assert set(queries["stichwort"]["by_kind"]) == {"word", "two", "three", "phrase", "filter", "sort", "related"}
    for variant in ("stichwort", "stichwort_no_highlight"):
        stats = queries[variant]["word_phrase"]
        assert stats["n"] > 0 and 0 < stats["p50_ms"] <= stats["p95_ms"] <= stats["p99_ms"]
    assert queries["queries_with_hits"]["stichwort"] >= 0.9 * queries["queries"]
    assert not queries["failed_queries"]
    assert report["ratios"]["opensearch_index_throughput_vs_whoosh"] > 0
    assert report["ratios"]["opensearch_query_p50_vs_whoosh"] > 0
    for text in (proc.stdout, md.read_text()):
        assert re.search(r"OpenSearch \d+ nodes 3x1: throughput", text)
        assert "query ms p50/p95/p99 no highlight (word+phrase)" in text
    from search.backend.opensearch.client import Client
    indexes = Client(cluster_url).request("GET", "/_cat/indices", params={"format": "json"})
    assert size["opensearch"]["index"] not in {i["index"] for i in indexes}  # dropped after the size
