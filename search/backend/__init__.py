"""Storage backends: where documents live and how their postings are read.

``base`` defines what an indexing run needs from a store (``IndexWriter``),
``searching`` what a search needs (``SearchBackend``, ``View``); ``whoosh``
(the default) keeps everything in one directory on one machine, ``opensearch``
in an OpenSearch cluster (``backend: opensearch`` in the config).
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from search.backend.base import IndexWriter
from search.backend.searching import SearchBackend


def open_writer(index_dir: str | Path, languages: list[str], *, workers: int = 2, wait: float = 0.0,
                rebuild: bool = False, config: Any = None) -> AbstractContextManager[IndexWriter]:
    """The store at ``index_dir`` (or the cluster ``config`` names) for one indexing run, its write lock
    held until the block ends."""
    if config is not None and config["backend"] == "opensearch":
        from search.backend.opensearch.writer import open_run as open_cluster_run
        return open_cluster_run(config, languages, wait=wait, rebuild=rebuild)
    from search.backend.whoosh.writer import open_run
    return open_run(index_dir, languages, workers=workers, wait=wait, rebuild=rebuild)


def open_searcher(index_dir: str | Path, config: Any) -> SearchBackend:
    """The store at ``index_dir`` (or the cluster ``config`` names) for searching, with the caches
    ``config["search"]`` allows."""
    if config["backend"] == "opensearch":
        from search.backend.opensearch.searching import OpenSearchSearcher
        return OpenSearchSearcher(config)
    from search.backend.whoosh.searching import WhooshSearcher
    return WhooshSearcher(index_dir, cache_bytes=int(config["search"]["cache_mb"]) << 20)


__all__ = ["IndexWriter", "SearchBackend", "open_searcher", "open_writer"]
