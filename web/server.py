"""Run the web app under gunicorn (never the Flask development server).

``serve()`` replaces the current process with gunicorn; ``BackgroundServer``
starts gunicorn as a child process (for tests and scripts) and stops it again.

    python -m web.server --index-dir index_data/index --port 8080
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO, NoReturn

from search.contract import DEFAULT_INDEX_DIR

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WORKER_CLASS = "web.workers.Worker"  # gevent: slow clients do not block a worker (see web.workers)
WORKER_CONNECTIONS = 1000
# gunicorn's maximum; the app itself answers 414 above 8 KiB of query string.
LIMIT_REQUEST_LINE = 8190


def default_workers() -> int:
    """One process per core: searches are CPU work, and each worker keeps its own caches."""
    return max(1, os.cpu_count() or 1)


def _bind(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def gunicorn_argv(host: str, port: int, workers: int | None = None, *, access_log: bool = True) -> list[str]:
    """The gunicorn command line that serves ``web.wsgi:app``."""
    argv = [
        sys.executable, "-m", "gunicorn",
        "--workers", str(workers or default_workers()),
        "--worker-class", WORKER_CLASS,
        "--worker-connections", str(WORKER_CONNECTIONS),
        "--bind", _bind(host, port),
        "--chdir", str(PROJECT_ROOT),
        "--limit-request-line", str(LIMIT_REQUEST_LINE),
        "--timeout", "30",
        "--graceful-timeout", "10",
        "--error-logfile", "-",
    ]
    if access_log:
        argv += ["--access-logfile", "-"]
    argv.append("web.wsgi:app")
    return argv


def _server_env(index_dir: str | os.PathLike[str], extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["STICHWORT_INDEX_DIR"] = str(Path(index_dir).resolve())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    if extra:
        env.update(extra)
    return env


def serve(index_dir: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8080,
          workers: int | None = None) -> NoReturn:
    """Serve the index in ``index_dir`` with gunicorn on host:port; does not return."""
    if not Path(index_dir).is_dir():
        raise SystemExit(f"stichwort: no index directory at {index_dir}")
    argv = gunicorn_argv(host, port, workers)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(argv[0], argv, _server_env(index_dir))


def stop_gunicorn(proc: subprocess.Popen | None, grace: float = 15) -> None:
    """Graceful SIGTERM (the master stops its workers), then SIGKILL to its own session."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what we started
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class BackgroundServer:
    """gunicorn serving ``index_dir`` on a free loopback port, as a context manager.

    >>> with BackgroundServer(index_dir) as server:
    ...     urllib.request.urlopen(server.url + "/api/health")
    """

    def __init__(self, index_dir: str | os.PathLike[str], host: str = "127.0.0.1", port: int | None = None,
                 workers: int = 1, startup_timeout: float = 60.0, log_path: str | os.PathLike[str] | None = None,
                 env: dict[str, str] | None = None):
        self.index_dir = Path(index_dir)
        self.host = host
        self.port = port
        self._fixed_port = port
        self.workers = workers
        self.startup_timeout = startup_timeout
        self.log_path = Path(log_path) if log_path else None
        self.extra_env = env
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def log_text(self) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text("utf-8", "replace")
        return ""

    def start(self) -> BackgroundServer:
        last_error: Exception | None = None
        for _attempt in range(3):  # a picked free port can be taken before gunicorn binds it
            port = self._fixed_port or free_port(self.host)
            try:
                self._start_once(port)
                return self
            except RuntimeError as exc:
                last_error = exc
                self.stop()
                if self._fixed_port:
                    break
        raise RuntimeError(f"gunicorn did not start: {last_error}")

    def _start_once(self, port: int) -> None:
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="stichwort-gunicorn-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self._log = open(self.log_path, "ab")
        self.port = port
        self.process = subprocess.Popen(
            gunicorn_argv(self.host, port, self.workers),
            cwd=PROJECT_ROOT,
            env=_server_env(self.index_dir, self.extra_env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"exited with {self.process.returncode}:\n{self.log_text()[-4000:]}")
            try:
                with urllib.request.urlopen(self.url + "/api/health", timeout=2) as resp:
                    if resp.status == 200 and json.load(resp).get("status") == "ok":
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"no healthy answer within {self.startup_timeout}s:\n{self.log_text()[-4000:]}")

    def stop(self) -> None:
        proc, self.process = self.process, None
        stop_gunicorn(proc, grace=15)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> NoReturn:
    parser = argparse.ArgumentParser(prog="python -m web.server", description="Serve Stichwort with gunicorn.")
    parser.add_argument("--index-dir", default=os.environ.get("STICHWORT_INDEX_DIR", DEFAULT_INDEX_DIR))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    serve(args.index_dir, host=args.host, port=args.port, workers=args.workers)


if __name__ == "__main__":
    main()
