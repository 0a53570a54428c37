"""Opening the index directory, and the one-writer-at-a-time lock.

The lock is an advisory ``flock`` on ``WRITELOCK.stichwort``: the kernel drops
it when the holder dies, so a crash never leaves a lock that blocks the next
run.  The file keeps the holder's pid for the message a second indexer shows.
"""
from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from whoosh import index as windex
from whoosh.fields import Schema

from search.errors import IndexLocked, StichwortError

LOCK_NAME = "WRITELOCK.stichwort"


class NoIndex(StichwortError):
    """There is no index where one was expected."""


def open_index(index_dir: Path, schema: Schema | None, create: bool = False):
    """Open the index, creating it with ``schema`` when asked to."""
    index_dir = Path(index_dir)
    if windex.exists_in(str(index_dir)):
        return windex.open_dir(str(index_dir))
    if not create or schema is None:
        raise NoIndex(f"no index in {index_dir}; build one with: stichwort index PATH --index-dir {index_dir}")
    index_dir.mkdir(parents=True, exist_ok=True)
    return windex.create_in(str(index_dir), schema)


@contextmanager
def write_lock(index_dir: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the index's write lock; wait up to ``wait`` seconds, then fail with who holds it."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = path.read_text().strip() or "unknown"
                    raise IndexLocked(f"another indexer (pid {holder}) is writing to {index_dir}; "
                                      "wait for it to finish or use --wait SECONDS") from None
                time.sleep(0.2)
        stale = os.pread(fd, 64, 0).decode(errors="replace").strip()
        if stale:
            print(f"note: the indexer with pid {stale} did not finish (crashed or was killed); "
                  f"its lock on {index_dir} was released by the system, continuing", file=sys.stderr)
        _check_whoosh_lock(index_dir)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
        os.ftruncate(fd, 0)  # a clean finish leaves an empty lock file
    finally:
        os.close(fd)  # closing releases the flock


def _check_whoosh_lock(index_dir: Path) -> None:
    """Whoosh's own lock (also an flock): held only if a foreign writer is at work."""
    path = index_dir / "MAIN_WRITELOCK"
    if not path.exists():
        return
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    except BlockingIOError:
        raise IndexLocked(f"another program holds the Whoosh write lock {path}; stop it first") from None
    finally:
        os.close(fd)
