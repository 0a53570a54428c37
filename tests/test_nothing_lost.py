"""Nothing indexed is ever lost: a rejected, damaged or over-limit re-index keeps what was there.

Through the real ``stichwort index`` on real files: an archive of JSON Lines (two files of 50
articles, a gzip file of 20), a JSON array and an n-ag text is indexed once; then one kind of
damage at a time is done to a copy of it and the same command runs again on a copy of the index.
After each, the run finished (exit 1, the file named with its reason), every document indexed
before is still found by its own word, and ``check --full`` is clean.
"""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from conftest import without_root_read

from search.backend.whoosh.check import inspect_index
from search.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


pytestmark = pytest.mark.slow  # scripts/test --fast leaves these out


def word(n: int) -> str:
    """A made-up word only article ``n`` has."""
    return f"qv{n:03d}zx"


def _obj(n: int, prefix: str) -> dict:
    return {"id": f"{prefix}{n}", "title": f"Meldung {n} aus dem Archiv", "language": "de",
            "body": f"Der Stadtrat hat am Dienstag den Plan mit dem Kennwort {word(n)} beschlossen.",
            "date": f"2025-03-{1 + n % 28:02d}", "location": "Köln"}


def write_archive(root: Path) -> dict[str, str]:
    """The archive; returns {id: its word}."""
    root.mkdir(parents=True)
    words, n = {}, 0
    for name, count in (("a.jsonl", 50), ("b.jsonl", 50)):
        lines = []
        for _ in range(count):
            n += 1
            lines.append(json.dumps(_obj(n, name[0]), ensure_ascii=False))
            words[f"{name[0]}{n}"] = word(n)
        (root / name).write_text("\n".join(lines) + "\n", "utf-8")
    lines = []
    for _ in range(20):
        n += 1
        lines.append(json.dumps(_obj(n, "g"), ensure_ascii=False))
        words[f"g{n}"] = word(n)
    (root / "g.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    items = []
    for _ in range(5):
        n += 1
        items.append(_obj(n, "j"))
        words[f"j{n}"] = word(n)
    (root / "liste.json").write_text(json.dumps(items, ensure_ascii=False), "utf-8")
    n += 1
    (root / "meldung.txt").write_text(f"Hochwasser in Köln\n\nDer Rhein steigt.\n\nKöln, Deutschland - Das "
                                      f"Kennwort {word(n)} steht im Text.\n\nOrt\tKöln\nDatum\t2025-01-05\n", "utf-8")
    words["meldung.txt"] = word(n)
    return words


def index(index_dir: Path, *args: str | Path) -> tuple[int, dict, str]:
    run = subprocess.run([sys.executable, "-m", "search", "index", "--json", "--index-dir", str(index_dir),
                          *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert "Traceback" not in run.stderr, run.stderr
    return run.returncode, json.loads(run.stdout), run.stderr


def assert_nothing_lost(index_dir: Path, words: dict[str, str]) -> None:
    engine = Engine(index_dir)
    try:
        assert engine.health()["documents"] == len(words)
        lost = {}
        for doc_id, w in words.items():
            hits = [h["id"] for h in engine.search(w, highlight=False)["hits"]]
            if hits != [doc_id]:
                lost[doc_id] = hits
        assert not lost, lost
    finally:
        engine.close()
    report = inspect_index(index_dir, sample_terms=None)
    assert report.ok, report.problems


def file_report(summary: dict, root: Path, name: str) -> dict:
    return next(f for f in summary["files"] if f["path"] == str(root / name))


@pytest.fixture
def work(tmp_path):
    """The archive, indexed (documents remember their file's absolute path: each test builds its own)."""
    words = write_archive(tmp_path / "in")
    code, summary, err = index(tmp_path / "index", tmp_path / "in")
    assert code == 0 and summary["added"] == len(words), (summary, err)
    return tmp_path / "in", tmp_path / "index", words


def test_unchanged_rerun_does_nothing(work):
    root, index_dir, words = work
    code, summary, _ = index(index_dir, root)
    assert code == 0
    assert (summary["added"], summary["updated"], summary["deleted"]) == (0, 0, 0)
    assert summary["unchanged"] == 5 and all(f["outcome"] == "unchanged" for f in summary["files"])
    assert_nothing_lost(index_dir, words)


def test_jsonl_cut_in_the_middle_of_a_record(work):
    root, index_dir, words = work
    data = (root / "b.jsonl").read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 20  # 20 bytes into a record
    (root / "b.jsonl").write_bytes(data[:cut])
    line = data[:cut].count(b"\n") + 1
    code, summary, _ = index(index_dir, root)
    assert code == 1
    assert [(f["path"], f["line"]) for f in summary["failures"]] == [(str(root / "b.jsonl"), line)]
    assert "invalid JSON" in summary["failures"][0]["reason"]
    b = file_report(summary, root, "b.jsonl")
    assert (b["outcome"], b["updated"], b["removed"], b["kept"]) == ("damaged", line - 1, 0, 50 - (line - 1))
    assert_nothing_lost(index_dir, words)
    # Not marked as cleanly indexed: the next run reports it again, and writes nothing for it.
    code, summary, _ = index(index_dir, root)
    assert code == 1 and [f["line"] for f in summary["failures"]] == [line]
    assert (summary["added"], summary["updated"], summary["deleted"]) == (0, 0, 0)
    assert file_report(summary, root, "b.jsonl")["outcome"] == "damaged"
    assert_nothing_lost(index_dir, words)
    # Repaired, it is read again and every document is its own again.
    (root / "b.jsonl").write_bytes(data)
    code, summary, _ = index(index_dir, root)
    assert code == 0 and file_report(summary, root, "b.jsonl")["updated"] == 50
    assert_nothing_lost(index_dir, words)


def test_jsonl_replaced_by_random_bytes(work):
    root, index_dir, words = work
    (root / "b.jsonl").write_bytes(os.urandom(4096))
    code, summary, _ = index(index_dir, root)
    assert code == 1 and len(summary["failures"]) == 1
    assert summary["failures"][0]["path"] == str(root / "b.jsonl")
    b = file_report(summary, root, "b.jsonl")
    assert (b["outcome"], b["kept"], summary["deleted"]) == ("failed", 50, 0)
    assert_nothing_lost(index_dir, words)


def test_over_the_limit(work):
    root, index_dir, words = work
    # Unchanged files stay unchanged whatever the limits now are.
    code, summary, _ = index(index_dir, root, "--max-file-mb", "0.001", "--max-record-mb", "0.001")
    assert code == 0 and summary["unchanged"] == 5
    assert_nothing_lost(index_dir, words)
    # A changed whole-document file over the limit is refused, and what it had stays.
    items = json.loads((root / "liste.json").read_text("utf-8"))
    items[0]["teaser"] = "Neu: " + "x" * 2000
    (root / "liste.json").write_text(json.dumps(items, ensure_ascii=False), "utf-8")
    # A changed JSON Lines file with one record over the record limit keeps the record's old version.
    lines = (root / "a.jsonl").read_text("utf-8").splitlines()
    big = json.loads(lines[9])
    big["body"] += " Nachtrag " * 200
    lines[9] = json.dumps(big, ensure_ascii=False)
    (root / "a.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    code, summary, _ = index(index_dir, root, "--max-file-mb", "0.001", "--max-record-mb", "0.001")
    assert code == 1
    reasons = {(Path(f["path"]).name, f["line"]): f["reason"] for f in summary["failures"]}
    assert set(reasons) == {("liste.json", None), ("a.jsonl", 10)}, reasons
    assert "the limit is 1.0 kB (indexing.max_file_mb, or --max-file-mb)" in reasons[("liste.json", None)]
    assert "(indexing.max_record_mb, or --max-record-mb)" in reasons[("a.jsonl", 10)]
    a, liste = file_report(summary, root, "a.jsonl"), file_report(summary, root, "liste.json")
    assert (a["outcome"], a["updated"], a["kept"]) == ("damaged", 49, 1)
    assert (liste["outcome"], liste["kept"]) == ("failed", 5)
    assert_nothing_lost(index_dir, words)


def test_unreadable_file(work):
    root, index_dir, words = work
    (root / "b.jsonl").write_text((root / "b.jsonl").read_text("utf-8") + "\n", "utf-8")  # changed: must be read
    (root / "b.jsonl").chmod(0)
    argv = without_root_read([sys.executable, "-m", "search", "index", "--json", "--index-dir", str(index_dir),
                              str(root)])
    try:
        run = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=300,
                             env=dict(os.environ, PYTHONPATH=str(ROOT)))
    finally:
        (root / "b.jsonl").chmod(0o644)
    summary = json.loads(run.stdout)
    assert run.returncode == 1
    assert [(f["path"], f["reason"]) for f in summary["failures"]] == [(str(root / "b.jsonl"), "permission denied")]
    assert file_report(summary, root, "b.jsonl")["kept"] == 50
    assert_nothing_lost(index_dir, words)


def test_cut_gzip(work):
    root, index_dir, words = work
    data = gzip.decompress((root / "g.jsonl.gz").read_bytes())
    packed = gzip.compress(data.replace(b"Meldung", b"Nachricht"))  # a new version, then cut short
    (root / "g.jsonl.gz").write_bytes(packed[: len(packed) * 2 // 3])
    code, summary, _ = index(index_dir, root)
    assert code == 1 and len(summary["failures"]) == 1
    assert "gzip data ends early" in summary["failures"][0]["reason"]
    g = file_report(summary, root, "g.jsonl.gz")
    assert g["outcome"] == "damaged" and g["removed"] == 0 and g["updated"] + g["kept"] == 20
    assert_nothing_lost(index_dir, words)


def _bomb(size_gb: int) -> bytes:
    """A small multi-member gzip file of spaces that expands to ``size_gb`` GB."""
    member = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = member.compress(b" " * (64 * MB)) + member.flush()
    return block * (size_gb * 16)


def test_gzip_bombs(work):
    root, index_dir, words = work
    bomb = _bomb(4)
    assert len(bomb) < 5 * MB
    (root / "g.jsonl.gz").write_bytes(bomb)  # JSON Lines: read in chunks, stopped by the expansion ratio
    (root / "liste.json.gz").write_bytes(bomb)  # a whole document: stopped by the per-file limit
    code, summary, _ = index(index_dir, root)
    assert code == 1
    reasons = {Path(f["path"]).name: f["reason"] for f in summary["failures"]}
    assert "refused as a likely gzip bomb" in reasons["g.jsonl.gz"]
    assert "decompressed size exceeds the limit of 32.0 MB" in reasons["liste.json.gz"]
    assert file_report(summary, root, "g.jsonl.gz")["kept"] == 20
    assert_nothing_lost(index_dir, words)


def test_file_deleted_between_listing_and_reading(work):
    """A race with the file system: the run lists b.jsonl, then it is gone when the parse pool opens it.
    Done in-process (the listing is wrapped to delete the file right after it): no timing to hope for."""
    from search.config import load_config
    from search.index import indexer as indexer_module
    root, index_dir, words = work
    (root / "b.jsonl").write_text((root / "b.jsonl").read_text("utf-8") + "\n", "utf-8")  # changed: must be read
    real = indexer_module.discover

    def discover_then_delete(paths, follow_links=False):
        found = list(real(paths, follow_links))
        (root / "b.jsonl").unlink()
        return iter(found)

    indexer_module.discover = discover_then_delete
    try:
        summary = indexer_module.Indexer(load_config(index_dir=index_dir)).index_paths([root])
    finally:
        indexer_module.discover = real
    assert [(f.path, f.reason) for f in summary.failures] == [
        (str(root / "b.jsonl"), "no such file or directory (removed after it was listed?)")]
    assert next(f for f in summary.files if f.path == str(root / "b.jsonl")).kept == 50
    assert_nothing_lost(index_dir, words)


def test_symlink_loops(work):
    root, index_dir, words = work
    (root / "sub").mkdir()
    (root / "sub" / "zurueck").symlink_to(root)  # a directory loop: walked once
    (root / "selbst.txt").symlink_to(root / "selbst.txt")  # a link to itself
    code, summary, _ = index(index_dir, root)
    assert code == 1
    assert [(Path(f["path"]).name, f["reason"]) for f in summary["failures"]] == [
        ("selbst.txt", "too many levels of symbolic links")]
    assert summary["unchanged"] == 5 and summary["added"] == summary["updated"] == 0
    assert_nothing_lost(index_dir, words)


def test_deleting_by_id_and_compacting_give_the_space_back(work):
    root, index_dir, words = work
    ids = sorted(i for i in words if i.startswith("a"))
    run = subprocess.run([sys.executable, "-m", "search", "delete", "--index-dir", str(index_dir), *ids],
                         capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert run.returncode == 0 and f"deleted {len(ids)} of {len(ids)}" in run.stdout
    assert inspect_index(index_dir).deleted == len(ids)
    run = subprocess.run([sys.executable, "-m", "search", "compact", "--index-dir", str(index_dir)],
                         capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert run.returncode == 0 and f"{len(ids)} deleted documents reclaimed" in run.stdout, run.stdout + run.stderr
    report = inspect_index(index_dir, sample_terms=None)
    assert report.ok and report.deleted == 0
    assert_nothing_lost(index_dir, {i: w for i, w in words.items() if i not in ids})


def test_one_big_jsonl_over_the_old_file_limit_indexes_with_defaults_and_shows_progress(tmp_path):
    """A JSON Lines file over ``indexing.max_file_mb`` (32 MB) is read record by record, in chunks
    on both cores, with a progress line that counts articles (on a terminal)."""
    import pty
    big = tmp_path / "gross.jsonl"
    pad = " " * (MB - 300)  # whitespace inside each record: 40 records of 1 MB, quick to index
    with open(big, "w", encoding="utf-8") as fh:
        for n in range(40):
            fh.write(json.dumps(_obj(n, "p"), ensure_ascii=False)[:-1] + "," + pad + '"pad": 1}\n')
    assert big.stat().st_size > 36 * MB
    master, slave = pty.openpty()
    run = subprocess.Popen([sys.executable, "-m", "search", "index", "--json", "--index-dir", str(tmp_path / "idx"),
                            str(big)], stdout=subprocess.PIPE, stderr=slave, cwd=ROOT,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
    os.close(slave)
    progress = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        progress += chunk
    out, _ = run.communicate(timeout=300)
    os.close(master)
    summary = json.loads(out)
    assert run.returncode == 0 and summary["added"] == 40, summary
    lines = [line.strip() for line in progress.decode().split("\r") if "articles read" in line]
    assert lines and "40 articles read" in lines[-1] and "MB/s" in progress.decode(), progress[-400:]
    assert_nothing_lost(tmp_path / "idx", {f"p{n}": word(n) for n in range(40)})


@pytest.mark.skipif(not os.environ.get("STICHWORT_FULL_CORPUS"),
                    reason="indexes all of FANG-COVID (minutes): set STICHWORT_FULL_CORPUS=1")
def test_fang_covid_indexes_whole_with_the_default_configuration(tmp_path):
    from conftest import shared_data
    corpus = shared_data("fang-covid-de", "corpus.jsonl")
    code, summary, err = index(tmp_path / "idx", corpus)
    assert summary["added"] + summary["failed"] == 12000 and summary["added"] > 11900, (summary["failures"][:5], err)
    code, again, _ = index(tmp_path / "idx", corpus)
    assert (again["added"], again["updated"], again["deleted"], again["unchanged"]) == (0, 0, 0, 1)
