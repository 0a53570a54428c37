"""Crash safety of the indexer: SIGKILL at random points, stale locks, two indexers at once.

Real ``python -m search index`` subprocesses on the demo archive plus 300 generated articles in
JSONL files, with a small ``indexing.batch_size`` so that a run makes many commits.  The long
version (20 kills) is ``scripts/crashtest``; the machinery lives in ``scripts/crashtest.py``.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search.backend.whoosh.check import check_index, inspect_index

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import crashtest as ct  # noqa: E402

KILLS = 5


pytestmark = pytest.mark.slow  # scripts/test --fast leaves these out


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    base = tmp_path_factory.mktemp("crash")
    paths, configs = ct.prepare(base, 300, big_batches=True)
    expected, seconds = ct.clean_build(base, configs[0], paths)
    return base, paths, configs, expected, seconds


def children_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


def wait_for(predicate, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def run_index(index_dir: Path, config: Path, paths: list[Path], *extra: str, timeout: float = 300):
    argv = ct.indexer_argv(index_dir, config, paths) + list(extra)
    return subprocess.run(argv, cwd=ROOT, env=ct.env(), capture_output=True, text=True, timeout=timeout)


def test_clean_build_is_consistent(work):
    base, paths, configs, expected, _ = work
    assert len(expected) == 49 + 300
    report = inspect_index(base / "clean-index")
    assert report.ok and report.documents == len(expected), report.as_dict()


def test_sigkill_at_random_points(work):
    base, paths, configs, expected, seconds = work
    lines: list[str] = []
    (base / "kills").mkdir()
    report = ct.crash_runs(base / "kills", paths, expected, KILLS, max(2.0, seconds * 0.8), configs,
                           seed=int(os.environ.get("CRASH_SEED", "7")), log=lines.append, linger_wait=0.3)
    print("\n".join(lines))
    assert not report.failures, "\n".join(report.failures + lines)
    assert sum(k.killed for k in report.kills) == KILLS
    assert report.final_exit == 0 and report.final_docs == len(expected)
    assert any(k.docs_after for k in report.kills if k.killed) or report.final_note, \
        "no kill landed after a commit: the test proves little"


def test_check_index_finds_damage(work, tmp_path):
    base, *_ = work
    damaged = tmp_path / "damaged"
    shutil.copytree(base / "clean-index", damaged)
    segment = max(damaged.glob("MAIN_*.seg"), key=lambda p: p.stat().st_size)
    with open(segment, "r+b") as fh:
        fh.truncate(segment.stat().st_size // 2)
    assert check_index(damaged), "a segment cut in half must be reported"
    flipped = tmp_path / "flipped"
    shutil.copytree(base / "clean-index", flipped)
    segment = max(flipped.glob("MAIN_*.seg"), key=lambda p: p.stat().st_size)
    data = bytearray(segment.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 2000, 7):  # bit rot in the middle of the postings
        data[i] ^= 0xFF
    segment.write_bytes(bytes(data))
    assert check_index(flipped, sample_terms=None), "a full check reads every postings list"
    for toc in damaged.glob("_MAIN_*.toc"):
        toc.unlink()
    assert any("no index" in p for p in check_index(damaged))
    assert check_index(tmp_path / "nothing-here")
    result = subprocess.run([sys.executable, "-m", "search", "check", "--index-dir", str(damaged)], cwd=ROOT,
                            env=ct.env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "NOT consistent" in result.stdout
    result = subprocess.run([sys.executable, "-m", "search", "check", "--json", "--index-dir",
                             str(base / "clean-index")], cwd=ROOT, env=ct.env(), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["documents"] == 349


def _start_and_kill(index_dir: Path, config: Path, paths: list[Path], log: Path, whole_group: bool) -> int:
    """Start an indexer, SIGKILL it once it holds the lock and has forked its parse pool; return its pid."""
    proc = ct.start_indexer(index_dir, config, paths, log)
    try:
        wait_for(lambda: ct._lock_pid(index_dir) == str(proc.pid), what="the indexer to take the lock")
        wait_for(lambda: children_of(proc.pid) or proc.poll() is not None, what="the parse pool")
        assert proc.poll() is None, log.read_text()
        if whole_group:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole process tree died (power cut, container stop)
        else:
            os.kill(proc.pid, signal.SIGKILL)  # only the indexer process (the OOM killer's choice)
        ct.finish(proc, 30)
    except BaseException:
        ct.kill_group(proc.pid)
        raise
    return proc.pid


def test_stale_lock_is_reported_on_the_next_run(work, tmp_path):
    _, _, configs, _, _ = work
    paths = [ct.DEMO]  # 49 files: enough for the parse pool, quick to finish
    index_dir = tmp_path / "index"
    pid = _start_and_kill(index_dir, configs[0], paths, tmp_path / "killed.log", whole_group=True)
    ct.kill_group(pid)
    assert ct._lock_pid(index_dir) == str(pid)  # the killed run never cleaned up
    run = run_index(index_dir, configs[0], paths)
    assert run.returncode == 0, run.stderr
    assert f"note: the indexer with pid {pid} did not finish (crashed or was killed)" in run.stderr
    assert ct._lock_pid(index_dir) == ""  # a clean finish leaves an empty lock file
    assert check_index(index_dir) == []
    assert len(ct.visible(index_dir)[1]) == 49


def test_killed_indexer_children_do_not_keep_the_lock(work, tmp_path):
    """BUG (search/store.py write_lock + search/indexer.py): after SIGKILL of the indexer process alone, its
    forked parse-pool workers (any process it forks) live on forever, blocked on their job queue,
    and hold the inherited flock on WRITELOCK.stichwort, so every later run says "another indexer (pid N)
    is writing" about a pid that is dead.  See the report for the proposed fix."""
    _, _, configs, _, _ = work
    paths = [ct.DEMO]
    index_dir = tmp_path / "index"
    pid = _start_and_kill(index_dir, configs[0], paths, tmp_path / "killed.log", whole_group=False)
    try:
        time.sleep(2.0)  # orphans that would exit on their own have had time to
        run = run_index(index_dir, configs[0], paths)
        lingering = ct.group_alive(pid)
    finally:
        ct.kill_group(pid)  # the orphans are processes this test started
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr.strip()[-400:]}"
    assert f"note: the indexer with pid {pid} did not finish" in run.stderr
    assert not lingering, "processes forked by the killed indexer are still running"


def test_kill_between_commits_of_one_big_file_loses_nothing(work, tmp_path):
    """BUG (search/indexer.py, Indexer.index_paths since "commit inside big files"): a file bigger than
    ``indexing.batch_size`` is committed in parts, and every part carries the file's ``src`` key
    (path + SHA-256).  Killed after the first part, the next run finds the key, skips the file as
    unchanged, and the rest of its articles are never indexed.  See the report for the proposed fix."""
    _, _, configs, _, _ = work
    big = tmp_path / "big"
    ids = ct.write_corpus(big, 200, per_file=200)  # one JSONL file of 200 articles; batch_size is 20
    index_dir = tmp_path / "index"
    proc = ct.start_indexer(index_dir, configs[0], [big], tmp_path / "killed.log")
    try:
        def first_part_committed() -> bool:
            try:
                return len(ct.visible(index_dir)[1]) > 0 or proc.poll() is not None
            except Exception:  # noqa: BLE001 - a commit in progress: look again
                return False
        wait_for(first_part_committed, what="the first commit inside the file")
        os.killpg(proc.pid, signal.SIGKILL)
        ct.finish(proc, 30)
    finally:
        ct.kill_group(proc.pid)
    partial = len(ct.visible(index_dir)[1])
    assert 0 < partial < len(ids), f"the kill came too late ({partial} documents): the test proves nothing"
    assert check_index(index_dir) == []
    run = run_index(index_dir, configs[0], [big])
    assert run.returncode == 0, run.stderr[-800:]
    found = ct.visible(index_dir)[1]
    assert found == set(ids), (f"{len(found)} of {len(ids)} articles after the rerun ({partial} were committed "
                               f"before the kill); the rerun said: {run.stdout.strip()[:300]}")


def test_two_indexers_at_once(work, tmp_path):
    _, _, configs, _, _ = work
    paths = [ct.DEMO]
    index_dir = tmp_path / "index"
    a = ct.start_indexer(index_dir, configs[0], paths, tmp_path / "a.log")
    b = ct.start_indexer(index_dir, configs[0], paths, tmp_path / "b.log")
    codes = {"a": ct.finish(a, 300), "b": ct.finish(b, 300)}
    assert sorted(codes.values()) == [0, 2], (codes, (tmp_path / "a.log").read_text()[-500:],
                                              (tmp_path / "b.log").read_text()[-500:])
    loser = "a" if codes["a"] == 2 else "b"
    message = (tmp_path / f"{loser}.log").read_text()
    assert "another indexer (pid" in message and "--wait SECONDS" in message
    assert check_index(index_dir) == []
    assert len(ct.visible(index_dir)[1]) == 49


def test_second_indexer_waits_with_wait(work, tmp_path):
    _, _, configs, _, _ = work
    paths = [ct.DEMO]
    index_dir = tmp_path / "index"
    a = ct.start_indexer(index_dir, configs[0], paths, tmp_path / "a.log")
    try:
        wait_for(lambda: ct._lock_pid(index_dir) == str(a.pid) or a.poll() is not None, what="the first indexer")
        b = ct.start_indexer(index_dir, configs[0], paths, tmp_path / "b.log", wait=300)
        code_a, code_b = ct.finish(a, 300), ct.finish(b, 300)
    finally:
        ct.kill_group(a.pid)
    assert code_a == 0 and code_b == 0, (tmp_path / "b.log").read_text()[-800:]
    summary_b = json.loads((tmp_path / "b.log").read_text()[(tmp_path / "b.log").read_text().index("{"):])
    assert summary_b["added"] == 0 and summary_b["unchanged"] == 49, summary_b  # it ran after the first one
    assert "did not finish" not in (tmp_path / "b.log").read_text()
    assert check_index(index_dir) == []
    assert len(ct.visible(index_dir)[1]) == 49
