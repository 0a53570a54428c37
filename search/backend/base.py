"""What an indexing run needs from a store: the writer interface every backend implements.

The indexer decides (which files changed, which ids are new, updated or gone,
which story an article joins); a backend only stores what it is told.  One
run holds an :class:`IndexWriter` from ``open`` to ``close``: it has the
store's write lock for that long, answers questions about the store *as the
run found it* (known source keys, the ids of a source, the owner of an id,
document frequencies and same-story candidates), and writes batches.

Writing is pipelined: ``begin`` hands a batch over and returns before it is
durable (the Whoosh backend writes it in worker processes while the indexer
prepares the next one); ``commit`` waits for the batch begun last and makes
it durable, atomically with its deletions.  A batch begun and never
committed is gone after ``close`` (or a crash), and everything committed
before it stays.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypedDict


class Record(TypedDict):
    """One article as the indexer hands it to a backend.

    ``display`` is the stored record the API returns (title, teaser, body, url,
    location, sources, category, date, language, publisher, extra, path, line,
    signature); a backend indexes its text fields from it, in the analysis
    chain of ``language``.
    """

    id: str
    src: str  # "<source key>\\x00<sha256>[\\x00partial|\\x00damaged]": which version of which file
    story: str
    language: str  # the analysis chain the text is indexed with (a configured language or "xx")
    date: datetime | None
    display: dict[str, Any]


@dataclass
class WriteBatch:
    """Records to add and ids to delete, made durable together by one commit.

    ``records`` may be an iterator that makes them as it goes (the indexer signs a batch's stories while
    the first records are being written): ``begin`` consumes it once, and reads ``delete_ids`` after it,
    as making a record may add the id it replaces.  ``expected`` says about how many it brings."""

    records: Iterable[Record] = field(default_factory=list)
    delete_ids: list[str] = field(default_factory=list)
    expected: int = 0


@dataclass
class StoredSignature:
    """A stored article as same-story detection compares it."""

    id: str
    language: str
    date: datetime | None
    weights: dict[str, float]
    story: str
    location: str
    source: str = ""  # the first source: an outlet's second report on an event is rarely the same story
    lead: dict[str, float] = field(default_factory=dict)  # the signature of the lead (stories.LEAD_CHARS)


@dataclass
class CompactReport:
    segments_before: int = 0
    segments_after: int = 0
    deleted_reclaimed: int = 0  # deleted documents whose space was given back
    bytes_before: int = 0
    bytes_after: int = 0


class IndexWriter(Protocol):
    """One indexing run's hold on a store, with its write lock (see the module docstring)."""

    def source_keys(self) -> frozenset[str]:
        """Every ``src`` value stored, as the run found the store."""

    def source_ids(self, keys: Iterable[str]) -> set[str]:
        """Ids of the documents stored with any of ``keys`` as ``src``, as the run found the store."""

    def owners(self, ids: Iterable[str]) -> dict[str, str]:
        """``src`` of each of ``ids`` that is stored, as the run found the store."""

    def doc_count_before(self) -> int:
        """Documents in the store when the run began."""

    def doc_frequency(self, language: str, term: str) -> int:
        """Documents whose body (analysed in ``language``) had ``term`` when the run began."""

    def story_candidates(self, language: str, terms: list[str], days: list[str] | None,
                         limit: int) -> list[StoredSignature]:
        """Up to ``limit`` stored articles whose body has one of ``terms``, best matches first,
        only from ``days`` ("YYYY-MM-DD") unless None; as the run found the store."""

    def story_signatures(self, story: str, limit: int) -> list[StoredSignature]:
        """Up to ``limit`` articles of a story in the index as the run found it (the story is judged whole)."""

    def learn_vocabulary(self) -> None:
        """Teach the analysis splitter the words already stored (decompounding depends on them)."""

    def begin(self, batch: WriteBatch) -> None:
        """Start writing ``batch``; the batch begun before must have been committed."""

    def commit(self) -> bool:
        """Make the batch begun last durable; False when there was none."""

    def delete(self, ids: Iterable[str]) -> int:
        """Delete documents by id now (committed); returns how many there were."""

    def compact(self, full: bool = False) -> CompactReport:
        """Give back the space of deleted documents: where it pays (after a run), or all (``full``)."""

    def close(self) -> None:
        """Drop an uncommitted batch and release the store and its lock."""


def disk_bytes(path: Path) -> int:
    """Bytes of the files under ``path``, derived files included (what the index costs on disk)."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
