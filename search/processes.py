"""Worker processes of an indexing run: forked, and dying with the process that forked them.

Every pool the indexer uses (the parse pool, the segment writers) is forked
explicitly, not started with the platform's default method: the workers must
inherit what the parent has learned (the splitter's vocabulary) without
pickling it, and Python 3.14 makes ``forkserver`` the default on Linux.

A forked worker inherits the write lock's file descriptor.  If the indexer
is killed (OOM killer, SIGKILL) its workers would wait forever on their job
queue holding that lock, and every later run would report a dead indexer as
busy; so each worker asks the kernel to kill it when its parent dies
(``PR_SET_PDEATHSIG``) and exits at once if the parent is already gone.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1


def fork_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` forked processes that die with this one."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=die_with_parent, initargs=(os.getpid(),))


def die_with_parent(parent: int) -> None:
    """In a worker: be killed when ``parent`` dies (Linux), and leave now if it already has."""
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: running jobs are killed, queued ones dropped."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):  # no public way before 3.14
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
