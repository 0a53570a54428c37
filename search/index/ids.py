"""Duplicate ids, decided in one place: which file an id belongs to in this run.

An id names one document.  Within a run the first file (in the order files
are listed) that has an id keeps it, and a later one is reported; across runs
an id already indexed from another file that still exists stays with that
file.  (An id whose file is gone moves to the new file: an update.)  A
refused document claims nothing, so the rightful owner later in the run is
not refused in turn.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from search.index.versions import source_name
from search.ingest import path_of
from search.ingest.article import Article, ReadFailure


@dataclass(frozen=True)
class Claim:
    """The verdict on one article: ``failure`` set when refused, else whether it replaces a stored one."""

    failure: ReadFailure | None = None
    update: bool = False


class Claims:
    """The ids of one run, and the owners stored before it (looked up through ``owners``)."""

    def __init__(self, owners: Callable[[list[str]], dict[str, str]] | None, listed: Iterable[str] = ()):
        self._owners = owners  # None: the index was empty, no look-ups needed
        self._listed = set(listed)  # files of this run (they exist)
        self._first: dict[str, str] = {}  # id -> where this run met it first

    def judge(self, articles: list[Article], name: str, own_ids: set[str]) -> list[Claim]:
        """Claims for ``articles`` of the file ``name``; ``own_ids`` are the ids it has in the index."""
        lookup = [a.id for a in articles if a.id not in own_ids and a.id not in self._first]
        stored = self._owners(lookup) if self._owners is not None and lookup else {}
        verdicts = []
        for article in articles:
            where = article.path or name
            if article.id in self._first:
                verdicts.append(Claim(ReadFailure(
                    where, f"duplicate id {article.id!r} (first seen in {self._first[article.id]})", article.line)))
                continue
            owner = source_name(stored[article.id]) if article.id in stored else None
            if owner is not None and owner != name and self._exists(owner):
                verdicts.append(Claim(ReadFailure(
                    where, f"duplicate id {article.id!r} (already indexed from {owner})", article.line)))
                continue
            self._first[article.id] = where if article.line is None else f"{where}:{article.line}"
            verdicts.append(Claim(update=article.id in own_ids or owner is not None))
        return verdicts

    def claimed(self, doc_id: str) -> bool:
        return doc_id in self._first

    def release(self, ids: Iterable[str]) -> None:
        """Forget claims (a file read only to report its failures, about to be read again)."""
        for doc_id in ids:
            self._first.pop(doc_id, None)

    def _exists(self, name: str) -> bool:
        return name in self._listed or os.path.exists(path_of(name))
