"""The app under a real gunicorn on a loopback port, queried with urllib."""
from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlencode

import pytest

from web.server import BackgroundServer, default_workers, gunicorn_argv

pytestmark = pytest.mark.slow  # scripts/test --fast leaves these out


def fetch(url, timeout=10):
    """(status, headers, body bytes) — HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_health(live_server, engine):
    status, headers, body = fetch(live_server.url + "/api/health")
    assert status == 200
    data = json.loads(body)
    assert data["status"] == "ok" and data["documents"] == engine.health()["documents"]
    assert headers["Server"].startswith("gunicorn")


def test_search_contract_over_http(live_server, engine):
    status, headers, body = fetch(live_server.url + "/api/search?q=Sicherheitsgarantie")
    assert status == 200
    assert headers.get_content_type() == "application/json"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    data = json.loads(body)
    assert set(data) >= {"query", "total", "page", "size", "next_cursor", "took_ms", "hits", "facets",
                         "date_histogram", "suggestion", "notes"}
    assert data["query"] == "Sicherheitsgarantie"
    assert data["total"] == {"value": data["total"]["value"], "relation": "eq"}
    assert data["total"]["value"] >= 1 and data["hits"]
    assert data["hits"][0]["id"] == engine.search("Sicherheitsgarantie")["hits"][0]["id"]
    for hit in data["hits"]:
        assert {"id", "title", "teaser", "url", "date", "location", "sources", "category", "language",
                "story_id", "more_in_story", "highlights", "score"} <= set(hit)
    assert any("<mark>" in f for h in data["hits"] for f in h["highlights"]["title"] + h["highlights"]["body"])
    assert set(data["facets"]) == {"location", "source", "category", "language"}


def test_errors_over_http(live_server):
    status, headers, body = fetch(live_server.url + "/api/search?size=101")
    assert status == 400 and headers.get_content_type() == "application/json"
    data = json.loads(body)
    assert data["status"] == 400 and data["error"]["type"] == "bad_request"
    status, _, body = fetch(live_server.url + "/api/articles/" + quote("nicht/vorhanden"))
    assert status == 404 and json.loads(body)["error"]["type"] == "not_found"
    # Between the app's 8 KiB limit and gunicorn's request-line limit: the app answers.
    status, _, body = fetch(live_server.url + "/api/search?" + urlencode({"q": "a" * 8050}))
    assert status == 414 and json.loads(body)["status"] == 414
    status, _, _ = fetch(live_server.url + "/api/search?" + urlencode({"q": "a" * 7900}))
    assert status == 200


def test_pages_and_feeds_over_http(live_server):
    status, headers, body = fetch(live_server.url + "/?q=Genf")
    assert status == 200 and headers.get_content_type() == "text/html"
    assert b'rel="search"' in body
    status, headers, _ = fetch(live_server.url + "/feed.atom?q=Genf")
    assert status == 200 and headers.get_content_type() == "application/atom+xml"
    status, _, _ = fetch(live_server.url + "/static/app.js")
    assert status == 200


def test_parallel_requests(live_server):
    urls = [live_server.url + "/api/search?" + urlencode({"q": q, "page": p})
            for q in ("Genf", "Hochwasser", "Bahnstreik", "rates") for p in (1, 2)] * 3
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(fetch, urls))
    assert all(status == 200 for status, _, _ in results)


def test_gunicorn_command_line():
    argv = gunicorn_argv("127.0.0.1", 8123, 3)
    assert argv[:3] == [sys.executable, "-m", "gunicorn"]
    assert argv[argv.index("--workers") + 1] == "3"
    assert argv[argv.index("--worker-class") + 1] == "web.workers.Worker"  # slow clients cost no worker
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8123"
    assert argv[argv.index("--access-logfile") + 1] == "-"
    assert argv[-1] == "web.wsgi:app"
    assert gunicorn_argv("::1", 80)[gunicorn_argv("::1", 80).index("--bind") + 1] == "[::1]:80"
    assert default_workers() == (os.cpu_count() or 1)


def test_server_stops_cleanly(demo_index, tmp_path):
    server = BackgroundServer(demo_index, workers=1, log_path=tmp_path / "g.log").start()
    url = server.url
    process = server.process
    server.stop()
    assert process.poll() is not None
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/api/health", timeout=2)
