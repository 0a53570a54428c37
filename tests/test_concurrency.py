"""Searching while an indexer commits: in-process (Engine.refresh) and over HTTP (gunicorn, 2 workers).

An indexer subprocess adds 10 batches of 20 articles (one commit each, ``indexing.batch_size: 20``) to
an index of the demo archive.  Meanwhile threads search without pause.  Every answer must be a
200, and its total must be the count of a whole commit (49 + 20k documents, 20k for a word only the
new articles have), never going back for a client - no partial batch, no garbage, no error.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from search.backend.whoosh.check import check_index
from search.engine import Engine
from web.server import BackgroundServer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "index_data" / "articles"
DEMO_DOCS = 49
BATCHES, PER_BATCH = 10, 20
MARKER = "zqmarker"


pytestmark = pytest.mark.slow  # scripts/test --fast leaves these out


def write_batches(directory: Path) -> None:
    directory.mkdir(parents=True)
    for b in range(BATCHES):
        lines = [json.dumps({
            "id": f"neu/{b:02d}-{i:02d}", "title": f"Nachtrag {b}-{i} aus dem Archiv",
            "body": f"Ein neuer Artikel mit dem Merkwort {MARKER} und der Nummer {b} {i}.\n\nZweiter Absatz.",
            "location": "Berlin", "sources": ["nachtrag.example"], "category": "Test", "language": "de",
            "date": f"2026-01-{b + 1:02d}"}, ensure_ascii=False) for i in range(PER_BATCH)]
        (directory / f"batch-{b:02d}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")


def index_cmd(index_dir: Path, config: Path, path: Path) -> list[str]:
    return [sys.executable, "-m", "search", "index", "--config", str(config), "--index-dir", str(index_dir),
            "--quiet", "--json", str(path)]


class Client(threading.Thread):
    """Searches in a loop; records totals per query and every error."""

    def __init__(self, name: str, search, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self.search, self.stop_event = search, stop
        self.history: dict[str, list[int]] = {"": [], MARKER: []}
        self.errors: list[str] = []
        self.requests = 0

    def run(self) -> None:
        while not self.stop_event.is_set():
            for q in ("", MARKER):
                try:
                    total, hits = self.search(q)
                    self.requests += 1
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    self.errors.append(f"{self.name} q={q!r}: {type(exc).__name__}: {exc}")
                    continue
                self.history[q].append(total)
                if len(hits) != min(5, total):
                    self.errors.append(f"{self.name} q={q!r}: total {total} but {len(hits)} hits on page 1")
                if q == MARKER and any(not h.startswith("neu/") for h in hits):
                    self.errors.append(f"{self.name}: foreign hits for the marker: {hits}")
            time.sleep(0.005)


def check_history(client: Client) -> list[str]:
    problems = []
    valid = {"": {DEMO_DOCS + PER_BATCH * k for k in range(BATCHES + 1)},
             MARKER: {PER_BATCH * k for k in range(BATCHES + 1)}}
    for q, totals in client.history.items():
        bad = sorted(set(totals) - valid[q])
        if bad:
            problems.append(f"{client.name} q={q!r}: totals that are no commit's count: {bad}")
        back = [(a, b) for a, b in zip(totals, totals[1:], strict=False) if b < a]
        if back:
            problems.append(f"{client.name} q={q!r}: total went back: {back[:5]}")
    return problems


@pytest.fixture()
def setup(tmp_path):
    index_dir = tmp_path / "index"
    base = subprocess.run([sys.executable, "-m", "search", "index", "--index-dir", str(index_dir), "--quiet",
                           str(DEMO)], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                          text=True, timeout=300)
    assert base.returncode == 0, base.stderr
    write_batches(tmp_path / "batches")
    config = tmp_path / "config.yaml"
    config.write_text(f"indexing:\n  batch_size: {PER_BATCH}\n", "utf-8")
    return index_dir, config, tmp_path / "batches"


def http_search(url: str):
    def search(q: str):
        with urllib.request.urlopen(f"{url}/api/search?{urlencode({'q': q, 'size': 5})}", timeout=20) as resp:
            if resp.status != 200:
                raise RuntimeError(f"status {resp.status}")
            data = json.load(resp)
        ids = [h["id"] for h in data["hits"]]
        for doc_id in ids[:1]:  # an article seen in a hit is there to open
            with urllib.request.urlopen(f"{url}/api/articles/{quote(doc_id)}", timeout=20) as resp:
                if json.load(resp)["id"] != doc_id:
                    raise RuntimeError(f"article {doc_id} came back as another")
        return data["total"]["value"], ids
    return search


def engine_search(engine: Engine):
    def search(q: str):
        engine.refresh()
        result = engine.search(q, size=5)
        return result["total"]["value"], [h["id"] for h in result["hits"]]
    return search


def test_search_while_indexing(setup, tmp_path):
    index_dir, config, batches = setup
    stop = threading.Event()
    engine = Engine(index_dir)
    with BackgroundServer(index_dir, workers=2, log_path=tmp_path / "gunicorn.log") as server:
        clients = [Client(f"engine-{i}", engine_search(engine), stop) for i in range(2)]
        clients += [Client(f"http-{i}", http_search(server.url), stop) for i in range(3)]
        for c in clients:
            c.start()
        time.sleep(0.5)
        started = time.monotonic()
        indexer = subprocess.run(index_cmd(index_dir, config, batches), cwd=ROOT, capture_output=True, text=True,
                                 env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)
        indexing_seconds = time.monotonic() - started
        time.sleep(1.0)  # a few rounds on the final commit
        stop.set()
        for c in clients:
            c.join(30)
        log = server.log_text()
    engine.close()
    assert indexer.returncode == 0, indexer.stderr
    assert json.loads(indexer.stdout)["added"] == BATCHES * PER_BATCH
    errors = [e for c in clients for e in c.errors] + [p for c in clients for p in check_history(c)]
    assert not errors, "\n".join(errors[:20])
    assert "Traceback" not in log and "[ERROR]" not in log, log[-3000:]
    for c in clients:  # everyone saw the end state, and the test saw commits go by
        assert c.history[""][-1] == DEMO_DOCS + BATCHES * PER_BATCH, (c.name, c.history[""][-5:])
        assert c.history[MARKER][-1] == BATCHES * PER_BATCH
    seen = {t for c in clients for t in c.history[MARKER]}
    assert len(seen) >= 3, f"only totals {sorted(seen)} seen in {indexing_seconds:.1f} s of indexing"
    print(f"\n{sum(c.requests for c in clients)} searches during {indexing_seconds:.1f} s of indexing; "
          f"distinct commit totals seen: {sorted(seen)}")
    assert check_index(index_dir) == []
