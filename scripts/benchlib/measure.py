"""Child-process runner (time bound, peak memory) and latency statistics."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def latency_stats(ms: list[float]) -> dict:
    if not ms:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None}
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 3), "p95_ms": round(percentile(ms, 95), 3),
            "p99_ms": round(percentile(ms, 99), 3), "mean_ms": round(sum(ms) / len(ms), 3),
            "max_ms": round(max(ms), 3)}


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> int:
    """Proportional set size: pages shared after fork() count once across the processes sharing them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.append(p)
            todo += _children(p)
    return seen


# Reading smaps_rollup walks a process's page tables: ~0.13 s of kernel time for a 4 GB indexer
# process, so sampling PSS every 0.25 s took over half a core from the 2-core runs it measured.
# RSS (statm) is cheap and sampled every 0.25 s; PSS at most this share of the time.
PSS_DUTY = 0.03


class TreeMemory:
    """Peaks of a process tree's summed RSS (every 0.25 s) and PSS (at most ``PSS_DUTY`` of the
    time), sampled in a thread between ``with`` entry and exit; bytes."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_rss = self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        next_pss = 0.0
        while not self._stop.is_set():
            pids = tree(self.pid)
            self.peak_rss = max(self.peak_rss, sum(map(_rss, pids)))
            if time.monotonic() >= next_pss:
                t0 = time.monotonic()
                self.peak_pss = max(self.peak_pss, sum(map(_pss, pids)))
                next_pss = time.monotonic() + (time.monotonic() - t0) / PSS_DUTY
            self._stop.wait(0.25)


class ChildResult(dict):
    @property
    def ok(self) -> bool:
        return self.get("status") == "ok"


def run_child(script: Path, phase: str, spec: dict, workdir: Path, timeout: float | None,
              log=sys.stderr) -> ChildResult:
    """Run ``script _child PHASE SPEC`` in its own session; figures + memory + status.

    status: "ok", "timeout" (killed at ``timeout`` seconds; ``progress`` holds
    what it reached), or "error" (exit status, last lines of its stderr).
    """
    tag = f"{phase}-{int(time.time() * 1000)}"
    spec = dict(spec, result=str(workdir / f"{tag}.result.json"), progress=str(workdir / f"{tag}.progress"))
    spec_path = workdir / f"{tag}.spec.json"
    spec_path.write_text(json.dumps(spec))
    err_path = workdir / f"{tag}.stderr"
    root = script.resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
               PYTHONUNBUFFERED="1")
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, str(script), "_child", phase, str(spec_path)], cwd=root, env=env,
                                stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT, start_new_session=True)
        status, rusage, code = "ok", None, None
        tail_pos = 0
        with TreeMemory(proc.pid) as memory:
            try:
                while True:
                    pid, wstatus, rusage = os.wait4(proc.pid, os.WNOHANG)
                    if pid:
                        code = os.waitstatus_to_exitcode(wstatus)
                        proc.returncode = code
                        break
                    tail_pos = _echo_progress(err_path, tail_pos, log)
                    if timeout is not None and time.monotonic() - started > timeout:
                        status = "timeout"
                        _kill_session(proc.pid)
                        _, wstatus, rusage = os.wait4(proc.pid, 0)
                        proc.returncode = code = os.waitstatus_to_exitcode(wstatus)
                        _kill_session(proc.pid, signal.SIGKILL)  # stragglers of its session (e.g. pool workers)
                        break
                    time.sleep(0.2)
            except BaseException:  # interrupted or killed (SIGTERM -> SystemExit): the child's session goes too
                _kill_session(proc.pid, signal.SIGKILL)
                raise
    _echo_progress(err_path, tail_pos, log)
    wall = time.monotonic() - started
    result = ChildResult(status=status, wall_seconds=round(wall, 3), exit_code=code,
                         peak_rss_mb=round(rusage.ru_maxrss / 1024, 1) if rusage else None,
                         peak_tree_rss_mb=round(memory.peak_rss / 2**20, 1),
                         peak_tree_pss_mb=round(memory.peak_pss / 2**20, 1) if memory.peak_pss else None,
                         # CPU time of the child and the children it waited for (whole run, imports included):
                         # steadier than wall time when other work shares the machine
                         cpu_seconds=round(rusage.ru_utime + rusage.ru_stime, 2) if rusage else None,
                         loadavg_1min=[round(load_before, 2), round(os.getloadavg()[0], 2)])
    result_path = Path(spec["result"])
    if status == "ok" and code == 0 and result_path.exists():
        result.update(json.loads(result_path.read_text()))
    elif status == "ok":
        result["status"] = "error"
        result["error"] = err_path.read_text("utf-8", "replace")[-3000:]
    progress = Path(spec["progress"])
    if progress.exists():
        try:
            docs, secs = progress.read_text().split()
            result["progress"] = {"docs": int(docs), "seconds": float(secs)}
        except ValueError:
            pass
    return result


def _echo_progress(path: Path, pos: int, log) -> int:
    """Forward the child's new output lines (its progress notes) to our log."""
    try:
        with open(path, "rb") as fh:
            fh.seek(pos)
            data = fh.read()
    except OSError:
        return pos
    if data:
        cut = data.rfind(b"\n") + 1
        if cut:
            log.write(data[:cut].decode("utf-8", "replace"))
            log.flush()
            return pos + cut
    return pos


def _kill_session(pid: int, sig: int = signal.SIGTERM) -> None:
    """Signal the child's own session (process group = its pid): only what we started."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
