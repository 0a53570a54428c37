"""Bad input at scale: ~30 kinds of broken files next to ~50 good documents, through the real CLI.

Indexing must complete, every good document must be searchable by its unique word, every bad
file must be reported with its path and reason, and the summary counts must be exact.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from search.backend.whoosh.check import check_index
from search.engine import Engine

try:
    from badfiles import write_bad_corpus
except ImportError:  # tests/ imported as a package
    from tests.badfiles import write_bad_corpus

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.slow  # scripts/test --fast leaves these out


def index(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "search", "index", "--json", *args], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=timeout)


def failure_name(failure: dict, root: Path) -> str:
    name = Path(failure["path"]).relative_to(root).as_posix()
    return f"{name}:{failure['line']}" if failure["line"] is not None else name


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad-scale")
    root = Path(os.path.abspath(base / "in"))
    corpus = write_bad_corpus(root)
    run = index("--index-dir", str(base / "index"), str(root))
    return root, base / "index", corpus, run


def test_corpus_is_big_enough(indexed):
    _, _, corpus, _ = indexed
    assert len(corpus) >= 15 and len(corpus.good) >= 50


def test_indexing_completes_with_exact_counts(indexed):
    root, _, corpus, run = indexed
    assert run.returncode == 1, run.stderr  # 1: something failed, and the run still finished
    assert "Traceback" not in run.stderr, run.stderr
    summary = json.loads(run.stdout)
    assert summary["added"] == len(corpus.good)
    assert summary["updated"] == summary["unchanged"] == summary["deleted"] == 0
    assert summary["failed"] == len(summary["failures"]) == len(corpus)


def test_every_bad_file_reported_with_path_and_reason(indexed):
    root, _, corpus, run = indexed
    reported = {}
    for failure in json.loads(run.stdout)["failures"]:
        assert os.path.isabs(failure["path"]), failure
        name = failure_name(failure, root)
        assert name not in reported, f"{name} reported twice"
        reported[name] = failure["reason"]
    assert set(reported) == set(corpus), (set(reported) ^ set(corpus))
    wrong = {name: (reported[name], expected) for name, expected in corpus.items() if expected not in reported[name]}
    assert not wrong, wrong
    assert all(len(reason) < 300 for reason in reported.values()), "a reason pastes the bad value in full"


def test_every_good_document_searchable_by_its_unique_word(indexed):
    _, index_dir, corpus, _ = indexed
    engine = Engine(index_dir)
    try:
        assert engine.health()["documents"] == len(corpus.good)
        misses = {}
        for doc_id, word in corpus.good.items():
            hits = [h["id"] for h in engine.search(word, highlight=False)["hits"]]
            if hits != [doc_id]:
                misses[doc_id] = (word, hits)
        assert not misses, misses
        for doc_id, title in corpus.titles.items():  # cp1252 decoded, NFD stored as NFC
            assert engine.get(doc_id)["title"] == title
        assert [h["id"] for h in engine.search("Größere Überschwemmung")["hits"]][:1] == ["legacy/cp1252.txt"]
        assert engine.get("doppelt/1")["title"] != "Zweiter mit gleicher Id"  # the first file keeps the id
    finally:
        engine.close()
    assert check_index(index_dir) == []


def test_rerun_keeps_everything_and_reports_the_bad_files_again(indexed, tmp_path):
    root, index_dir, corpus, _ = indexed
    run = index("--index-dir", str(index_dir), str(root))
    assert run.returncode == 1, run.stderr
    summary = json.loads(run.stdout)
    assert summary["added"] == summary["updated"] == summary["deleted"] == 0
    # A file with a bad line or item is not marked as cleanly indexed: it is read again (and its
    # failures reported again), but nothing is written for it while it has not changed.
    damaged = {name.split(":")[0] for name in corpus} & corpus.good_files
    assert damaged == {"jsonl/gemischt.jsonl", "json/liste-gemischt.json"}
    outcomes = {Path(f["path"]).relative_to(root).as_posix(): f["outcome"] for f in summary["files"]}
    assert {name for name, outcome in outcomes.items() if outcome == "damaged"} == damaged
    assert summary["unchanged"] == len(corpus.good_files - damaged)
    assert {failure_name(f, root) for f in summary["failures"]} == set(corpus)
    assert check_index(index_dir) == []


def test_articles_without_a_date_do_not_break_recency_ranking(indexed, tmp_path):
    """BUG (search/engine.py, Engine._recency): with ``recency.enabled: true`` a search whose hits include an
    article without a date dies with OverflowError (the DATETIME column's empty value cannot be turned
    into a datetime): a traceback on the command line, a 500 over HTTP."""
    _, index_dir, corpus, _ = indexed
    config = tmp_path / "recency.yaml"
    config.write_text("recency:\n  enabled: true\n", "utf-8")
    nfd_id = next(i for i in corpus.titles if i.startswith("nfd/"))  # front matter without a date
    run = subprocess.run([sys.executable, "-m", "search", "search", "--config", str(config), "--index-dir",
                          str(index_dir), "--json", corpus.good[nfd_id]], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert run.returncode == 0, run.stderr[-1500:]
    assert [h["id"] for h in json.loads(run.stdout)["hits"]] == [nfd_id]
