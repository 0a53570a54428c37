"""Shared fixtures: a real index built from the shipped demo archive."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLE = SHARED / "formats" / "n-ag-article.txt"
DEMO = ROOT / "index_data" / "articles"


def run_cli(*args: str, cwd: Path | None = None):
    """Run the real ``stichwort`` command in a subprocess."""
    import subprocess
    return subprocess.run([sys.executable, "-m", "search", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=600)


def without_root_read(argv: list[str]) -> list[str]:
    """``argv`` run so that mode-000 files are unreadable even as root (which reads them otherwise):
    without the DAC-override capabilities."""
    if os.geteuid() != 0:
        return argv
    import shutil
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", *argv]


def read_all(*paths: Path, limits=None) -> tuple[list, list]:
    """(articles, failures) of every file under ``paths`` through the readers (duplicate ids are the
    indexer's business)."""
    from search.ingest import discover, parse, read_bytes
    from search.ingest.article import Article, ReadError, ReadFailure
    results: list = []
    for item in discover(paths):
        if isinstance(item, ReadFailure):
            results.append(item)
            continue
        try:
            results += parse(item, read_bytes(item, limits), limits)
        except ReadError as exc:
            results.append(ReadFailure(item.name, exc.reason))
    assert all(isinstance(r, (Article, ReadFailure)) for r in results)
    return [r for r in results if isinstance(r, Article)], [r for r in results if isinstance(r, ReadFailure)]


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory) -> Path:
    from search.config import load_config
    from search.index.indexer import Indexer
    index_dir = tmp_path_factory.mktemp("demo-index")
    summary = Indexer(load_config(index_dir=index_dir)).index_paths([DEMO])
    assert summary.failed == 0, summary.failures
    return index_dir


@pytest.fixture(scope="session")
def engine(demo_index):
    from search.engine import Engine
    eng = Engine(demo_index)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def sample() -> Path:
    if not SAMPLE.is_file():
        pytest.skip(f"the shared n-ag sample is absent: {SAMPLE}")
    return SAMPLE


def shared_data(*parts: str) -> Path:
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        pytest.skip(f"shared data not available here: {path}")
    return path


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (skips outside CI when it is missing)."""
    from web_conftest_helpers import CHROMIUM, CHROMIUM_ARGS, require_chromium
    require_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def live_server(demo_index, tmp_path_factory):
    """gunicorn serving the demo index on a free loopback port, one per test module."""
    from web_conftest_helpers import start_live_server
    server = start_live_server(demo_index, tmp_path_factory.mktemp("gunicorn"))
    try:
        yield server
    finally:
        server.stop()
