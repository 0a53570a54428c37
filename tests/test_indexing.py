"""Indexing end to end: the shared sample, the CLI, re-runs, bad input."""
from __future__ import annotations

import gzip
import json
import os

import pytest
from conftest import DEMO, run_cli


def search_ids(index_dir, query: str) -> list[str]:
    out = run_cli("search", "--index-dir", str(index_dir), "--json", query)
    assert out.returncode == 0, out.stderr
    return [h["id"] for h in json.loads(out.stdout)["hits"]]


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory, sample):
    index_dir = tmp_path_factory.mktemp("sample")
    out = run_cli("index", "--index-dir", str(index_dir), str(sample))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "added 1" in out.stdout
    return index_dir


@pytest.mark.parametrize("query", [
    "Sicherheitsgarantie", "Garantie", "Selenskyj", "Telefonat", "Kreml", "Ukraine-Krieg",
    '"Stiftung Wissenschaft und Politik"', "ort:Washington", "quelle:swp-berlin.org",
    "Garantien", "Sicherheit", "Hilfe", "Milliarden", "Stillstand", "Maschine",
])
def test_sample_is_found(sample_index, query):
    assert search_ids(sample_index, query) == ["n-ag-article.txt"]


@pytest.mark.parametrize("query", ["Bund", "Lungen", "Gesell"])
def test_sample_is_not_found_by_unrelated_words(sample_index, query):
    assert search_ids(sample_index, query) == []


def test_sample_stored_fields(sample_index):
    from search.engine import Engine
    doc = Engine(sample_index).get("n-ag-article.txt")
    assert doc["category"] == "Sonstiges"
    assert doc["location"] == "Washington, USA"
    assert doc["sources"] == ["ksta.de", "sueddeutsche.de", "swp-berlin.org"]
    assert doc["publisher"] == "n-ag.de"
    assert "Besuchen Sie" not in doc["body"] and "**" not in doc["body"]
    assert doc["title"].startswith("Trump und Putin")
    assert doc["body"].startswith("US-Präsident Donald Trump")


@pytest.mark.slow
def test_reindex_updates_in_place_and_skips_unchanged(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jsonl").write_text(
        json.dumps({"id": "a1", "title": "Hochwasser am Rhein", "body": "Der Pegel steigt.", "language": "de"}) + "\n" +
        json.dumps({"id": "a2", "title": "Bahnstreik", "body": "Züge fallen aus.", "language": "de"}) + "\n")
    idx = tmp_path / "idx"
    first = run_cli("index", "--index-dir", str(idx), "--json", str(src))
    assert json.loads(first.stdout)["added"] == 2
    again = json.loads(run_cli("index", "--index-dir", str(idx), "--json", str(src)).stdout)
    assert again["added"] == 0 and again["unchanged"] == 1
    sinkt = {"id": "a1", "title": "Hochwasser am Rhein sinkt", "body": "Der Pegel fällt.", "language": "de"}
    (src / "a.jsonl").write_text(json.dumps(sinkt) + "\n")
    changed = json.loads(run_cli("index", "--index-dir", str(idx), "--json", str(src)).stdout)
    assert changed["updated"] == 1 and changed["added"] == 0
    stats = json.loads(run_cli("stats", "--index-dir", str(idx), "--json").stdout)
    assert stats["documents"] == 1  # a2 left the file, so it left the index
    assert search_ids(idx, "sinkt") == ["a1"]


@pytest.mark.slow
def test_bad_files_are_reported_and_good_ones_indexed(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.json").write_text(json.dumps({"id": "g1", "title": "Gute Nachricht", "body": "Alles gut."}))
    (src / "empty.txt").write_bytes(b"")
    (src / "binary.bin").write_bytes(b"\x00\x01\x02\xff" * 50)
    (src / "truncated.json").write_text('{"id": "x", "title": "abgeschnit')
    (src / "shape.json").write_text("[1, 2, 3]")
    (src / "bad.md").write_text("---\ntitle: [unclosed\n---\nText\n")
    (src / "notitle.json").write_text(json.dumps({"id": "n1", "body": "Kein Titel"}))
    (src / "z-dup.jsonl").write_text(json.dumps({"id": "g1", "title": "Doppelt", "body": "x"}) + "\n")
    (src / "cp1252.txt").write_bytes("Präsident besucht Köln\n\nDer Präsident kam.\n".encode("cp1252"))
    os.symlink(src / "missing.txt", src / "broken.txt")
    with gzip.open(src / "more.jsonl.gz", "wt") as fh:
        fh.write(json.dumps({"id": "z1", "title": "Gepackte Meldung", "body": "Aus dem Archiv."}) + "\n")
    big = src / "big.txt"
    with open(big, "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    idx = tmp_path / "idx"
    out = run_cli("index", "--index-dir", str(idx), "--json", str(src))
    assert out.returncode == 1
    report = json.loads(out.stdout)
    reasons = {os.path.basename(f["path"]): f["reason"] for f in report["failures"]}
    for name in ("empty.txt", "binary.bin", "truncated.json", "shape.json", "bad.md", "notitle.json",
                 "z-dup.jsonl", "broken.txt", "big.txt"):
        assert name in reasons, (name, reasons)
    assert "title" in reasons["notitle.json"] and "duplicate" in reasons["z-dup.jsonl"]
    assert report["added"] == 3
    assert search_ids(idx, "Präsident") == ["cp1252.txt"]
    assert search_ids(idx, "Archiv") == ["z1"]
    # nothing indexed earlier is lost when a later run meets bad input
    (src / "worse.json").write_text("{")
    run_cli("index", "--index-dir", str(idx), str(src))
    assert search_ids(idx, "Nachricht") == ["g1"]


@pytest.mark.slow
def test_delete_and_stats(tmp_path):
    idx = tmp_path / "idx"
    assert run_cli("index", "--index-dir", str(idx), str(DEMO)).returncode == 0
    stats = json.loads(run_cli("stats", "--index-dir", str(idx), "--json").stdout)
    assert stats["documents"] >= 40 and stats["language"]["de"] >= 30
    assert len(stats["category"]) >= 6 and len(stats["location"]) >= 8
    victim = search_ids(idx, "Bahnstreik")[0]
    assert run_cli("delete", "--index-dir", str(idx), victim).returncode == 0
    assert victim not in search_ids(idx, "Bahnstreik")


def test_second_indexer_gets_a_clear_message(tmp_path):
    from search.backend.whoosh.store import write_lock
    with write_lock(tmp_path):
        out = run_cli("index", "--index-dir", str(tmp_path), str(DEMO))
    assert out.returncode == 2 and "another indexer" in out.stderr


def test_bad_config_names_the_key(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("boosts:\n  title: -3\n")
    out = run_cli("stats", "--config", str(cfg))
    assert out.returncode == 2 and "boosts.title" in out.stderr
    cfg.write_text("colour: blue\n")
    assert "unknown config key 'colour'" in run_cli("stats", "--config", str(cfg)).stderr


def test_unreadable_file_is_reported(tmp_path):
    """Root reads mode-000 files, so as root the indexer runs without the DAC-override capabilities."""
    import subprocess
    import sys

    from conftest import ROOT, without_root_read
    src = tmp_path / "in"
    src.mkdir()
    (src / "open.json").write_text(json.dumps({"id": "o", "title": "Offene Meldung", "body": "x"}))
    secret = src / "secret.json"
    secret.write_text(json.dumps({"id": "s", "title": "Geheime Meldung", "body": "x"}))
    secret.chmod(0)
    cmd = without_root_read([sys.executable, "-m", "search", "index", "--index-dir", str(tmp_path / "idx"),
                             "--json", str(src)])
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300,
                             env=dict(os.environ, PYTHONPATH=str(ROOT)))
    finally:
        secret.chmod(0o644)
    report = json.loads(out.stdout)
    assert out.returncode == 1 and report["added"] == 1
    assert [(os.path.basename(f["path"]), f["reason"]) for f in report["failures"]] == [
        ("secret.json", "permission denied")]


def test_an_index_from_an_older_schema_is_refused_with_the_way_out(tmp_path):
    """An index built before a field existed (here: ``day``) is refused before anything is
    written, with the rebuild command; --rebuild then works and keeps nothing stale."""
    from conftest import DEMO
    from whoosh import index as windex

    from search.backend.whoosh.schema import build_schema
    from search.config import load_config
    from search.errors import StichwortError
    from search.index.indexer import Indexer
    config = load_config(index_dir=tmp_path / "old")
    old = build_schema(list(config["languages"]))
    old.remove("day")
    (tmp_path / "old").mkdir()
    windex.create_in(str(tmp_path / "old"), old)
    with pytest.raises(StichwortError) as err:
        Indexer(config).index_paths([DEMO])
    assert "lacks the field(s) day" in str(err.value) and "--rebuild" in str(err.value)
    assert windex.open_dir(str(tmp_path / "old")).doc_count() == 0
    summary = Indexer(config).index_paths([DEMO], rebuild=True)
    assert summary.added == 49 and summary.failed == 0


def test_display_records_of_older_indexes_still_read():
    """Records are stored as JSON text now; indexes written before held zlib-compressed JSON."""
    import json
    import zlib

    from search.backend.whoosh.schema import decode_doc, pack_doc, unpack_doc
    doc = {"id": "x", "title": "Sicherheitsgarantien für die Ukraine", "signature": {"garanti": 0.5}}
    assert isinstance(pack_doc(doc), str) and unpack_doc({"doc": pack_doc(doc)}) == doc
    older = zlib.compress(json.dumps(doc, ensure_ascii=False).encode("utf-8"), 6)
    assert unpack_doc({"doc": older}) == doc == decode_doc(older)
