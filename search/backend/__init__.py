"""Storage backends: where documents live and how their postings are read.

``base`` defines what an indexing run needs from a store (``IndexWriter``);
``whoosh`` (the default, and so far the only one) keeps everything in one
directory on one machine.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from search.backend.base import IndexWriter


def open_writer(index_dir: str | Path, languages: list[str], *, workers: int = 2, wait: float = 0.0,
                rebuild: bool = False) -> AbstractContextManager[IndexWriter]:
    """The store at ``index_dir`` for one indexing run, its write lock held until the block ends."""
    from search.backend.whoosh.writer import open_run
    return open_run(index_dir, languages, workers=workers, wait=wait, rebuild=rebuild)


__all__ = ["IndexWriter", "open_writer"]
