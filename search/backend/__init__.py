"""Storage backends: where documents live and how their postings are read.

``base`` defines what an indexing run needs from a store (``IndexWriter``),
``searching`` what a search needs (``SearchBackend``, ``View``); ``whoosh``
(the default) keeps everything in one directory on one machine.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from search.backend.base import IndexWriter
from search.backend.searching import SearchBackend


def open_writer(index_dir: str | Path, languages: list[str], *, workers: int = 2, wait: float = 0.0,
                rebuild: bool = False) -> AbstractContextManager[IndexWriter]:
    """The store at ``index_dir`` for one indexing run, its write lock held until the block ends."""
    from search.backend.whoosh.writer import open_run
    return open_run(index_dir, languages, workers=workers, wait=wait, rebuild=rebuild)


def open_searcher(index_dir: str | Path, config: Any) -> SearchBackend:
    """The store at ``index_dir`` for searching, with the caches ``config["search"]`` allows."""
    from search.backend.whoosh.searching import WhooshSearcher
    return WhooshSearcher(index_dir, cache_bytes=int(config["search"]["cache_mb"]) << 20)


__all__ = ["IndexWriter", "SearchBackend", "open_searcher", "open_writer"]
