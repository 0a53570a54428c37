"""HTTP latency and throughput through gunicorn, loopback only, bounded in time and requests.

The server is started exactly as production would run it with two workers:
the server ``stichwort serve`` runs (``web.server.gunicorn_argv``: one gevent worker per core)
with ``STICHWORT_INDEX_DIR`` pointing at the index under test.  Clients are
threads with one keep-alive ``http.client`` connection each; the load
generator shares the machine (and its cores) with the server.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from web.server import gunicorn_argv, stop_gunicorn

from .measure import _pss, _rss, latency_stats, tree

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Gunicorn:
    def __init__(self, root: Path, index_dir: Path, log_path: Path, workers: int | None = None,
                 first_path: str | None = None):
        self.root, self.index_dir, self.log_path = root, index_dir, log_path
        self.first_path = first_path
        self.workers = workers
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.startup_seconds = None
        self.first_query_seconds = None
        self.first_query_ms = None

    def argv(self, port: int) -> list[str]:
        """The server ``stichwort serve`` runs (``web.server.gunicorn_argv``), without the access log."""
        return gunicorn_argv(HOST, port, self.workers, access_log=False)

    def start(self, timeout: float = 90.0) -> Gunicorn:
        last = ""
        for _ in range(3):  # the free port can be taken before gunicorn binds it
            self.port = free_port()
            env = dict(os.environ, STICHWORT_INDEX_DIR=str(self.index_dir.resolve()),
                       PYTHONPATH=os.pathsep.join(filter(None, [str(self.root), os.environ.get("PYTHONPATH")])))
            started = time.monotonic()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(self.argv(self.port), cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            while time.monotonic() - started < timeout:
                if self.proc.poll() is not None:
                    last = f"gunicorn exited with {self.proc.returncode}"
                    break
                try:
                    status, body = get(self.port, "/api/health", timeout=2)
                    if status == 200 and json.loads(body).get("status") == "ok":
                        self.startup_seconds = round(time.monotonic() - started, 2)
                        if self.first_path:  # what a reader waits for after a restart: the first results page
                            t0 = time.monotonic()
                            status, _ = get(self.port, self.first_path, timeout=timeout)
                            if status == 200:
                                self.first_query_ms = round((time.monotonic() - t0) * 1000, 1)
                                self.first_query_seconds = round(time.monotonic() - started, 2)
                        return self
                except (OSError, http.client.HTTPException, ValueError):
                    pass
                time.sleep(0.2)
            else:
                last = f"no healthy answer within {timeout:.0f} s"
            self.stop()
        log_tail = self.log_path.read_text("utf-8", "replace")[-2000:] if self.log_path.exists() else ""
        raise RuntimeError(f"gunicorn did not start: {last}\n{log_tail}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stop_gunicorn(proc, grace=20)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def get(port: int, path: str, timeout: float = 30) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def run_level(port: int, paths: list[str], clients: int, seconds: float, max_requests: int) -> dict:
    """``clients`` threads, each with a keep-alive connection, for ``seconds`` or ``max_requests``."""
    lock = threading.Lock()
    issued = [0]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    barrier = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        i = offset
        mine: list[float] = []
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            with lock:
                if issued[0] >= max_requests:
                    break
                issued[0] += 1
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
                key = None if ok else f"HTTP {resp.status}"
            except (OSError, http.client.HTTPException) as exc:
                ok, key = False, type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
            elapsed = (time.perf_counter() - t0) * 1000
            if ok:
                mine.append(elapsed)
            else:
                with lock:
                    errors[key] = errors.get(key, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(k * len(paths) // clients,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    deadline[0] = start + seconds
    barrier.wait()
    for t in threads:
        t.join(seconds + 120)
    elapsed = time.perf_counter() - start
    stats = latency_stats(latencies)
    stats.update(clients=clients, seconds=round(elapsed, 3), requests=len(latencies),
                 errors=sum(errors.values()), error_kinds=errors,
                 throughput_rps=round(len(latencies) / elapsed, 2) if elapsed else None,
                 loadavg_1min_end=round(os.getloadavg()[0], 2))
    return stats


def run(root: Path, index_dir: Path, log_path: Path, paths: list[str], levels: list[int], seconds: float,
        max_requests: int, log=sys.stderr) -> dict:
    out: dict = {"server": " ".join(gunicorn_argv(HOST, 0, None, access_log=False)[1:]),
                 "seconds_per_level": seconds, "max_requests_per_level": max_requests, "levels": {}}
    with Gunicorn(root, index_dir, log_path, first_path=paths[0]) as server:
        out["startup_seconds"] = server.startup_seconds
        out["first_query_seconds"] = server.first_query_seconds
        out["first_query_ms"] = server.first_query_ms
        out["memory_idle"] = server_memory(server.proc.pid)
        warm = run_level(server.port, paths, 4, max(2.0, seconds), 2 * len(paths))  # both workers, every path
        out["warmup"] = {"requests": warm["requests"], "errors": warm["errors"]}
        for clients in levels:
            stats = run_level(server.port, paths, clients, seconds, max_requests)
            print(f"  [http] {clients:>2} clients: {stats['requests']} requests, "
                  f"{stats['throughput_rps']} req/s, p50 {stats['p50_ms']} ms, p95 {stats['p95_ms']} ms, "
                  f"errors {stats['errors']}", file=log, flush=True)
            out["levels"][str(clients)] = stats
        out["memory"] = server_memory(server.proc.pid)
    return out


def server_memory(pid: int) -> dict:
    """PSS of the server's process tree (pages shared after fork count once) and of each process, in MB."""
    pids = tree(pid)
    per = [{"pid": p, "pss_mb": round(_pss(p) / 2**20, 1), "rss_mb": round(_rss(p) / 2**20, 1)} for p in pids]
    return {"tree_pss_mb": round(sum(x["pss_mb"] for x in per), 1),
            "tree_rss_mb": round(sum(x["rss_mb"] for x in per), 1),
            "worker_pss_mb": max((x["pss_mb"] for x in per if x["pid"] != pid), default=None),
            "processes": per}
