"""Crash safety: SIGKILL ``python -m search index`` at random points, then check the index.

The corpus is the demo archive (index_data/articles, 49 n-ag files) plus
generated articles written as JSONL files of 20; YAML configs set a small
``indexing.batch_size`` (20) so that a run makes many commits, some of them
inside a file, and - every other run, unless ``--no-big-batches`` - batches
of 250, which two worker processes write as segments of their own (``search/segments.py``),
so kills also land while they write and before the parent commits their segments.

For every kill:

1. start the indexer (in its own process group), let it run a random time,
   then ``SIGKILL`` the indexer process itself - what the OOM killer or a
   power cut of one process does.  Whatever it forked (its parse pool) is
   left alone for a moment, then killed too, so
   the next run starts from a quiet machine (how long such orphans lingered and
   whether they held the write lock is reported);
2. ``check_index`` must find no problem;
3. every document that was ever visible - before the run and to a watcher
   thread that re-reads the index every 50 ms during the run, i.e. every
   document of every completed commit - must still be there, and nothing
   that is not in the corpus; the commit generation never goes back;
4. the next run must say ``note: the indexer with pid <killed pid> did not
   finish`` when the killed run had taken the lock.

A run that finishes before its kill time, and a last run after the last kill,
must give exactly the documents of a clean build; after such a run the next
cycle starts from an empty index, so kills land all over an indexing run.
Exit status 1 when anything failed.

    scripts/crashtest [--kills 20] [--docs 300] [--seed N] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "index_data" / "articles"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from search.backend.whoosh.check import check_index  # noqa: E402

LOCK_NAME = "WRITELOCK.stichwort"
PLACES = ["Berlin", "Hamburg", "München", "Köln", "Frankfurt", "Stuttgart", "Leipzig", "Dresden", "Wien", "Zürich"]
TOPICS = [("Verkehr", "Die Bahn meldet Verspätungen auf mehreren Strecken, Pendler müssen mit Ausfällen rechnen."),
          ("Wirtschaft", "Die Industrie berichtet von steigenden Aufträgen, die Exporte legen im Quartal zu."),
          ("Kultur", "Das Theater eröffnet die Saison mit einer Neuinszenierung, die Premiere ist ausverkauft."),
          ("Politik", "Der Landtag debattiert über den Haushalt, die Opposition kritisiert die Pläne scharf."),
          ("Wetter", "Ein Sturmtief bringt Regen und kräftigen Wind, der Wetterdienst warnt vor Unwettern."),
          ("Sport", "Der Verein gewinnt das Derby vor ausverkauftem Haus und springt auf Tabellenplatz zwei.")]


def write_corpus(directory: Path, n_docs: int = 300, per_file: int = 20) -> list[str]:
    """``n_docs`` generated German articles as JSONL files of ``per_file`` lines; returns their ids."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261126)
    ids = []
    for start in range(0, n_docs, per_file):
        lines = []
        for n in range(start, min(start + per_file, n_docs)):
            topic, sentence = TOPICS[n % len(TOPICS)]
            place = PLACES[rng.randrange(len(PLACES))]
            doc_id = f"gen/{n:04d}"
            ids.append(doc_id)
            body = "\n\n".join(
                f"{sentence} In {place} äußerten sich Anwohner am {d}. Tag der Woche, Kennung krt{n:04d}x."
                for d in range(1, 2 + n % 4))
            lines.append(json.dumps({
                "id": doc_id, "title": f"{topic} in {place}: Meldung {n}", "teaser": sentence, "body": body,
                "location": place, "sources": [f"blatt{n % 9}.example"], "category": topic,
                "date": f"2025-{n % 12 + 1:02d}-{n % 28 + 1:02d}", "language": "de",
            }, ensure_ascii=False))
        (directory / f"gen-{start // per_file:03d}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    return ids


def write_config(path: Path, batch_size: int) -> Path:
    path.write_text(f"indexing:\n  batch_size: {batch_size}\n  workers: 2\n", "utf-8")
    return path


def indexer_argv(index_dir: Path, config: Path, paths: list[Path], wait: float | None = None) -> list[str]:
    argv = [sys.executable, "-m", "search", "index", "--config", str(config), "--index-dir", str(index_dir),
            "--json", "--quiet"]
    if wait is not None:
        argv += ["--wait", str(wait)]
    return argv + [str(p) for p in paths]


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")


def start_indexer(index_dir: Path, config: Path, paths: list[Path], log: Path, wait: float | None = None):
    out = open(log, "wb")
    proc = subprocess.Popen(indexer_argv(index_dir, config, paths, wait), cwd=ROOT, env=env(),
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    proc._log_file = out  # type: ignore[attr-defined]
    return proc


def finish(proc, timeout: float = 600) -> int:
    try:
        return proc.wait(timeout)
    finally:
        proc._log_file.close()


def group_members(pgid: int) -> list[int]:
    """Running (not zombie) processes of a process group, from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):  # state, ppid, pgrp, ...
            members.append(int(entry))
    return members


def group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (a zombie waiting for init to reap it does not count)."""
    return bool(group_members(pgid))


def kill_group(pgid: int) -> None:
    """End what the killed indexer had forked (its own process group: only processes we started)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # gone, or only zombies left
        return
    deadline = time.monotonic() + 10
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)


def visible(index_dir: Path) -> tuple[int, set[str]]:
    """(commit generation, ids of live documents) of the latest commit; (-1, set()) if none."""
    from whoosh import index as windex
    if not windex.exists_in(str(index_dir)):
        return -1, set()
    ix = windex.open_dir(str(index_dir))
    try:
        toc = ix._read_toc()  # one commit: its generation and exactly its segments
        with ix._reader(ix.storage, toc.schema, toc.segments, toc.generation) as reader:
            return toc.generation, {f["id"] for f in reader.all_stored_fields()}
    finally:
        ix.close()


class Watcher(threading.Thread):
    """Re-reads the index while an indexer runs: the union of ids every completed commit showed."""

    def __init__(self, index_dir: Path, interval: float = 0.05):
        super().__init__(daemon=True)
        self.index_dir, self.interval = index_dir, interval
        self.seen: set[str] = set()
        self.generations: list[int] = []
        self.read_errors = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                gen, ids = visible(self.index_dir)
            except Exception:  # noqa: BLE001 - a commit replacing files under us: read again
                self.read_errors += 1
            else:
                if not self.generations or gen != self.generations[-1]:
                    self.generations.append(gen)
                self.seen |= ids
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)


@dataclass
class KillRecord:
    n: int
    after_s: float
    killed: bool
    killed_pid: int
    lock_pid: str
    docs_after: int
    generation: int
    commits_seen: int
    orphans_lingered_s: float
    orphan_held_lock: bool
    note_ok: bool | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class CrashReport:
    kills: list[KillRecord] = field(default_factory=list)
    clean_docs: int = 0
    clean_seconds: float = 0.0
    final_docs: int = 0
    final_exit: int | None = None
    final_problems: list[str] = field(default_factory=list)
    final_note: str = ""
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "kills": len([k for k in self.kills if k.killed]), "runs": len(self.kills),
            "clean_docs": self.clean_docs, "clean_seconds": round(self.clean_seconds, 1),
            "final_docs": self.final_docs, "final_exit": self.final_exit, "final_problems": self.final_problems,
            "max_orphan_linger_s": round(max((k.orphans_lingered_s for k in self.kills), default=0.0), 2),
            "runs_where_orphans_held_lock": sum(k.orphan_held_lock for k in self.kills),
            "failures": self.failures,
            "runs_detail": [k.__dict__ for k in self.kills],
        }


def _lock_pid(index_dir: Path) -> str:
    try:
        return (index_dir / LOCK_NAME).read_text().strip()
    except OSError:
        return ""


def _lock_held(index_dir: Path) -> bool:
    import fcntl
    path = index_dir / LOCK_NAME
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


_NOTE = re.compile(r"note: the indexer with pid (\d+) did not finish")


def clean_build(work: Path, config: Path, paths: list[Path]) -> tuple[set[str], float]:
    index_dir = work / "clean-index"
    started = time.monotonic()
    proc = start_indexer(index_dir, config, paths, work / "clean.log")
    code = finish(proc)
    seconds = time.monotonic() - started
    if code != 0:
        raise RuntimeError(f"clean build exited with {code}: {(work / 'clean.log').read_text()[-3000:]}")
    problems = check_index(index_dir)
    if problems:
        raise RuntimeError(f"clean build is inconsistent: {problems}")
    return visible(index_dir)[1], seconds


def _complete(index_dir: Path, expected: set[str], output: str, code: int, pending_lock_pid: str,
              what: str) -> list[str]:
    """Problems of a run that ran to completion: it must hold exactly the clean build's documents."""
    problems = []
    notes = _NOTE.findall(output)
    if pending_lock_pid and (notes[:1] != [pending_lock_pid]):
        problems.append(f"{what}: expected the note about pid {pending_lock_pid}, got {notes}")
    if code != 0:
        problems.append(f"{what} exited with {code}: {output[-2000:]}")
    problems += [f"{what} check_index: {p}" for p in check_index(index_dir)]
    _, ids = visible(index_dir)
    if ids != expected:
        problems.append(f"{what}: {len(ids)} documents, clean build {len(expected)}; "
                        f"missing {sorted(expected - ids)[:5]}, extra {sorted(ids - expected)[:5]}")
    return problems


def crash_runs(work: Path, paths: list[Path], expected: set[str], kills: int, run_seconds: float,
               configs: list[Path], seed: int = 1, log=print, linger_wait: float = 1.0) -> CrashReport:
    """Kill indexers until ``kills`` kills happened, then run to completion.

    A run that completes before its kill time ends a cycle (it must hold the clean
    build's documents); the next run starts a new cycle on an empty index directory,
    so the kills land all over an indexing run and not only in its last seconds.
    """
    import shutil
    rng = random.Random(seed)
    report = CrashReport(clean_docs=len(expected))
    cycle, run = 1, 0
    index_dir = work / f"crash-index-{cycle}"
    ever_seen: set[str] = set()
    last_gen = -1
    pending_lock_pid = ""  # the pid the next run must name in its note
    while sum(k.killed for k in report.kills) < kills:
        run += 1
        config = configs[run % len(configs)]
        delay = rng.uniform(0.2, run_seconds)
        log_path = work / f"run-{run:02d}.log"
        watcher = Watcher(index_dir)
        watcher.start()
        proc = start_indexer(index_dir, config, paths, log_path)
        started = time.monotonic()
        killed = False
        while time.monotonic() - started < delay:
            if proc.poll() is not None:
                break
            time.sleep(0.01)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)  # the indexer process only, like the OOM killer
            killed = True
        code = finish(proc, 60)
        t_dead = time.monotonic()
        lingered, held = 0.0, False
        while group_alive(proc.pid) and time.monotonic() - t_dead < linger_wait:
            time.sleep(0.02)
        if group_alive(proc.pid):  # what the killed indexer forked is still running after the grace time
            held = _lock_held(index_dir)
            lingered = time.monotonic() - t_dead
            kill_group(proc.pid)
        watcher.stop()
        output = log_path.read_text("utf-8", "replace")
        record = KillRecord(run, round(time.monotonic() - started, 2), killed, proc.pid, _lock_pid(index_dir), 0,
                            -1, len(watcher.generations), round(lingered, 2), held)
        if not killed:  # ran to completion: end of a cycle
            record.problems += _complete(index_dir, expected, output, code, pending_lock_pid, f"run {run} (completed)")
            record.docs_after, record.generation = len(visible(index_dir)[1]), visible(index_dir)[0]
            report.kills.append(record)
            report.failures += [f"run {run}: {p}" for p in record.problems]
            log(f"run {run:2d}: completed after {record.after_s:5.2f} s with {record.docs_after} documents "
                f"(cycle {cycle} done)" + (f"; PROBLEMS: {record.problems}" if record.problems else ""))
            shutil.rmtree(index_dir, ignore_errors=True)
            cycle += 1
            index_dir = work / f"crash-index-{cycle}"
            ever_seen, last_gen, pending_lock_pid = set(), -1, ""
            continue
        # 4. the stale-lock note names the pid of the killed run that held the lock
        notes = _NOTE.findall(output)
        if notes:
            record.note_ok = notes[0] == pending_lock_pid
            if not record.note_ok:
                record.problems.append(f"note names pid {notes[0]}, expected {pending_lock_pid or 'no note'}")
        elif pending_lock_pid and record.lock_pid in (str(proc.pid), ""):  # it took the lock, no note
            record.note_ok = False
            record.problems.append(f"no note about the killed indexer pid {pending_lock_pid}")
        if code != -signal.SIGKILL:
            record.problems.append(f"exit code {code}, expected -9")
        # The lock file names the last run that took the lock and did not finish (empty: it finished):
        # that is the pid the next run's note must name.
        pending_lock_pid = record.lock_pid
        # 2. consistent (once the first commit exists)
        if any(index_dir.glob("_MAIN_*.toc")):
            record.problems += [f"check_index: {p}" for p in check_index(index_dir)]
        # 3. nothing once visible is lost, nothing foreign appears, the generation never goes back
        try:
            gen, ids = visible(index_dir)
        except Exception as exc:  # noqa: BLE001
            record.problems.append(f"cannot open the index after the kill: {type(exc).__name__}: {exc}")
            gen, ids = last_gen, set()
        record.docs_after, record.generation = len(ids), gen
        lost = (ever_seen | watcher.seen) - ids
        if lost:
            record.problems.append(f"{len(lost)} documents of completed commits are gone: {sorted(lost)[:5]}")
        foreign = ids - expected
        if foreign:
            record.problems.append(f"{len(foreign)} unexpected documents: {sorted(foreign)[:5]}")
        if gen < last_gen:
            record.problems.append(f"commit generation went back from {last_gen} to {gen}")
        last_gen = max(last_gen, gen)
        ever_seen |= ids | watcher.seen
        report.kills.append(record)
        report.failures += [f"run {run}: {p}" for p in record.problems]
        log(f"run {run:2d}: killed after {record.after_s:5.2f} s, {record.docs_after:4d}/{len(expected)} documents, "
            f"commit {gen}, {record.commits_seen} commits seen while running"
            + (f", forked children lingered {lingered:.2f} s{' holding the lock' if held else ''}"
               if lingered or held else "")
            + (f"; PROBLEMS: {record.problems}" if record.problems else ""))
    # Run to completion: the same documents as a clean build.
    log_path = work / "final.log"
    proc = start_indexer(index_dir, configs[0], paths, log_path)
    report.final_exit = finish(proc)
    output = log_path.read_text("utf-8", "replace")
    notes = _NOTE.findall(output)
    report.final_note = notes[0] if notes else ""
    report.final_problems = _complete(index_dir, expected, output, report.final_exit, pending_lock_pid, "final run")
    report.failures += report.final_problems
    report.final_docs = len(visible(index_dir)[1])
    log(f"final run: exit {report.final_exit}, {report.final_docs}/{len(expected)} documents, "
        f"note about pid {report.final_note or '-'}, "
        f"{'consistent' if not report.final_problems else report.final_problems}")
    return report


def prepare(work: Path, n_docs: int, big_batches: bool) -> tuple[list[Path], list[Path]]:
    gen_dir = work / "generated"
    write_corpus(gen_dir, n_docs)
    configs = [write_config(work / "small-batches.yaml", 20)]
    if big_batches:
        configs.append(write_config(work / "big-batches.yaml", 250))
    return [DEMO, gen_dir], configs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/crashtest", description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--docs", type=int, default=300, help="generated articles besides the demo archive")
    p.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    p.add_argument("--no-big-batches", action="store_true", help="only batches of 20")
    p.add_argument("--keep", type=Path, help="work in this directory and keep it")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="stichwort-crashtest-"))
    work.mkdir(parents=True, exist_ok=True)
    quiet = (lambda *a, **k: None) if args.json else print
    paths, configs = prepare(work, args.docs, not args.no_big_batches)
    quiet(f"crash test in {work}: demo archive + {args.docs} generated articles, seed {args.seed}, "
          f"{args.kills} kills, batch sizes {', '.join(c.stem for c in configs)}")
    expected, seconds = clean_build(work, configs[0], paths)
    quiet(f"clean build: {len(expected)} documents in {seconds:.1f} s")
    report = crash_runs(work, paths, expected, args.kills, seconds * 1.1, configs, args.seed, log=quiet)
    report.clean_seconds = seconds
    summary = report.as_dict()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        k = [r for r in report.kills if r.killed]
        print(f"\nsummary: {len(k)} kills in {len(report.kills)} runs; documents after the kills: "
              f"{', '.join(str(r.docs_after) for r in k)}")
        print(f"  processes forked by the killed indexer were still alive {1.0:.1f} s after the kill in "
              f"{sum(r.orphans_lingered_s > 0 for r in k)} of {len(k)} kills (then this script killed them), "
              f"holding the write lock in {summary['runs_where_orphans_held_lock']}")
        print(f"  final run: exit {report.final_exit}, {report.final_docs} documents (clean build {report.clean_docs})")
        print("  RESULT: " + ("PASS" if not report.failures else f"FAIL ({len(report.failures)} problems)"))
        for f in report.failures:
            print(f"    {f}")
    if not args.keep:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    return 0 if not report.failures else 1


if __name__ == "__main__":
    sys.exit(main())
