"""An indexing run: files in, documents of the store out, with a summary a user can act on.

Flow: discover the files -> the parse pool reads, hashes, parses them and
works out each article's language and story terms (``pool``, ``jobs``) ->
each article claims its id (``ids``) -> per batch: learn the compound
vocabulary, sign and assign stories (``stories``), map to records
(``records``) and hand them to the store (``search.backend``), which writes
one batch while the next is prepared.

The rule that nothing indexed is lost: a document leaves the index only when
its file was read completely and cleanly and no longer has it (then in the
same commit that marks the file complete, see ``versions``), or when it is
deleted by id.  A file that cannot be read, or is read with failures, keeps
every document it had; it is reported with its path and reason.
"""
from __future__ import annotations

import errno
import gc
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from search import analysis
from search.backend import open_writer
from search.backend.base import CompactReport, IndexWriter, Record, WriteBatch
from search.config import Config
from search.errors import StichwortError
from search.index import records
from search.index.ids import Claims
from search.index.jobs import FAILED, READ, REPORT, UNCHANGED, Piece, detect_language
from search.index.pool import ParsePool
from search.index.stories import Signed, StoryAssigner, StoryTerms
from search.index.summary import FileReport, Progress, Summary
from search.index.versions import DAMAGED, PARTIAL, FileVersions, Versions, key
from search.ingest import Limits, SourceFile, discover
from search.ingest.article import Article, ReadFailure

ProgressCallback = Callable[[Progress], None]
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class IndexWriteError(StichwortError):
    """Writing stopped (the disk is full); every commit before this one survived."""

    def __init__(self, message: str, summary: Summary):
        super().__init__(message)
        self.summary = summary


class Indexer:
    """Writes articles into the index at ``config.index_dir``."""

    def __init__(self, config: Config, progress: ProgressCallback | None = None):
        self.config = config
        self.languages = list(config["languages"])
        self.progress = progress
        indexing = config["indexing"]
        self.limits = Limits.from_config(indexing)
        self.batch_size = int(indexing["batch_size"])
        self.workers = int(indexing["workers"])
        self.follow_links = bool(indexing["follow_links"])

    def index_paths(self, paths: Iterable[str | os.PathLike], rebuild: bool = False, wait: float = 0.0,
                    compact: bool = False) -> Summary:
        """Index files and directories; ``compact`` rewrites the whole index afterwards."""
        summary = Summary()
        with self._store(wait, rebuild) as store:
            run = _Run(self, store, summary)
            with _disk_full_reported(self.config.index_dir, run):
                run.index(list(discover(paths, self.follow_links)))
                if run.committed_anything or compact:
                    run._report_progress("merging")
                    store.compact(full=compact)
                run._report_progress("done")
        return summary

    def index_articles(self, articles: list[Article], origin: str = "api") -> Summary:
        """Index already-built articles (evaluation corpora, generated data) in batches."""
        summary = Summary()
        with self._store() as store:
            run = _Run(self, store, summary)
            with _disk_full_reported(self.config.index_dir, run):
                run.index_articles(articles, origin)
                store.compact()
        return summary

    def delete(self, ids: list[str]) -> int:
        """Delete documents by id; returns how many there were."""
        with self._store() as store:
            return store.delete(ids)

    def compact(self) -> CompactReport:
        """Rewrite the index without its deleted documents, one segment per worker."""
        with self._store() as store:
            return store.compact(full=True)

    def _store(self, wait: float = 0.0, rebuild: bool = False):
        return open_writer(self.config.index_dir, self.languages, workers=self.workers, wait=wait, rebuild=rebuild,
                           config=self.config)


@dataclass(eq=False)
class _File:
    """One file's progress through a run."""

    source: SourceFile
    report: FileReport
    versions: FileVersions
    partial: str = PARTIAL  # src suffix of its documents before the last one
    status: str = READ
    digest: str = ""
    own_ids: set[str] | None = None  # ids the index has from this file (any version)
    accepted: set[str] = field(default_factory=set)
    read_failures: int = 0  # failures of reading (a refused duplicate is not one)
    last_record: Record | None = None  # its latest record handed to the store

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def clean(self) -> bool:
        return self.read_failures == 0


@dataclass
class _Pending:
    file: _File
    article: Article
    terms: StoryTerms | None
    update: bool


@dataclass
class _Credit:
    """What a batch does to each file's counts, credited when its commit succeeds."""

    added: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    removed: Counter = field(default_factory=Counter)
    outcomes: dict = field(default_factory=dict)  # file -> (outcome, kept) of the files it completes
    records: int = 0  # records handed to the store

    def apply(self) -> None:
        for counts, name in ((self.added, "added"), (self.updated, "updated"), (self.removed, "removed")):
            for f, n in counts.items():
                setattr(f.report, name, getattr(f.report, name) + n)
        for f, (outcome, kept) in self.outcomes.items():
            f.report.outcome, f.report.kept = outcome, kept


class _Run:
    """The state of one run: files seen, the batch being gathered, the batch being written."""

    def __init__(self, indexer: Indexer, store: IndexWriter, summary: Summary):
        self.indexer, self.store, self.summary = indexer, store, summary
        self.stories = StoryAssigner(store, indexer.config["stories"]["window_days"],
                                     indexer.config["stories"]["threshold"])
        self.pool = ParsePool(indexer.workers, indexer.limits)
        self.files: dict[str, _File] = {}
        self.batch: list[_Pending] = []
        self.ending: list[_File] = []  # files whose end is handled with the next batch
        self.in_flight: _Credit | None = None
        self.committed_anything = False
        self.claims: Claims | None = None
        self.vocabulary_learned = False
        self.progress = Progress()
        self.started = time.monotonic()

    # -- the run ------------------------------------------------------------------
    def index(self, found: list[SourceFile | ReadFailure]) -> None:
        versions = Versions(self.store.source_keys())
        sources = [item for item in found if isinstance(item, SourceFile)]
        self.claims = Claims(self.store.owners if self.store.doc_count_before() else None,
                             listed=[s.name for s in sources])
        for item in found:
            if isinstance(item, ReadFailure):  # listed but not a file to read (broken link, ...)
                f = self._file(SourceFile(Path(item.path), item.path), versions)
                self._failed(f, [item])
        self.progress.files_total = len(sources)
        self.progress.bytes_total = sum(s.size for s in sources)
        with _collect_per_batch():
            for piece in self.pool.pieces(sources, versions):
                self._piece(self._file(piece.source, versions), piece)
            self._flush()
            self._commit()

    def index_articles(self, articles: list[Article], origin: str) -> None:
        f = self._file(SourceFile(Path(origin), origin), Versions(()))
        f.partial, f.digest, f.own_ids = "", "articles", set()
        self.claims = Claims(None)
        with _collect_per_batch():
            for a in articles:
                if not a.language:
                    a.language = detect_language(a)
            self._learn_vocabulary(articles)
            verdicts = self.claims.judge(articles, f.name, set())
            for a, verdict in zip(articles, verdicts):
                if verdict.failure:
                    self._fail(f, verdict.failure, read=False)
                    continue
                if len(self.batch) >= self.indexer.batch_size:
                    self._flush()
                self.batch.append(_Pending(f, a, None, False))
                f.accepted.add(a.id)
            self.ending.append(f)
            self._flush()
            self._commit()

    # -- files --------------------------------------------------------------------
    def _file(self, source: SourceFile, versions: Versions) -> _File:
        f = self.files.get(source.name)
        if f is None:
            f = self.files[source.name] = _File(source, FileReport(source.name), versions.of(source.name))
            self.summary.files.append(f.report)
        return f

    def _piece(self, f: _File, piece: Piece) -> None:
        self.progress.bytes += piece.nbytes
        if piece.status == UNCHANGED:
            f.report.outcome = "unchanged"
            self._count_file()
            return
        if piece.status == FAILED:
            self._failed(f, [i for i in piece.items if isinstance(i, ReadFailure)])
            self._count_file()
            return
        f.status, f.digest = piece.status, piece.digest
        if f.own_ids is None:
            f.own_ids = self.store.source_ids(f.versions.keys) if f.versions.keys else set()
        terms = piece.terms or [None] * len(piece.items)
        articles = []
        for item, tf in zip(piece.items, terms):
            if isinstance(item, ReadFailure):
                self._fail(f, item, read=True)
            else:
                articles.append((item, tf))
        assert self.claims is not None  # set when the run starts
        verdicts = self.claims.judge([a for a, _ in articles], f.name, f.own_ids)
        for (article, tf), verdict in zip(articles, verdicts):
            if verdict.failure:
                self._fail(f, verdict.failure, read=False)
                continue
            f.accepted.add(article.id)
            if piece.status == READ:
                if len(self.batch) >= self.indexer.batch_size:  # before, not after: see _end
                    self._flush()
                self._learn_vocabulary([article])  # as it comes, while the parse pool reads on
                self.batch.append(_Pending(f, article, tf, verdict.update))
                self.progress.articles += 1
        if piece.last:
            self._end(f)
            self._count_file()
        self._report_progress()

    def _end(self, f: _File) -> None:
        """All of a file's pieces are in.  Its last document is marked (clean or damaged) and the
        documents that left a cleanly read file are removed, with the next batch: that is the one
        holding its last documents, as a batch is flushed only before another article is added."""
        if f.status == REPORT:
            if f.clean:  # it failed before but reads cleanly now (a limit was raised): read it for real
                assert self.claims is not None  # set when the run starts
                self.claims.release(f.accepted)
                f.accepted.clear()
                self.pool.reread(f.source)
                return
            f.report.outcome = "damaged"
            f.report.kept = len(f.own_ids or ())
            return
        if f.clean and not f.accepted and not f.report.failed:
            self._fail(f, ReadFailure(f.name, "no articles in the file"), read=True)
        self.ending.append(f)

    def _failed(self, f: _File, failures: list[ReadFailure]) -> None:
        """A file not read at all: everything it had stays."""
        for failure in failures:
            self._fail(f, failure, read=True)
        if f.own_ids is None:
            f.own_ids = self.store.source_ids(f.versions.keys) if f.versions.keys else set()
        f.report.outcome = "failed"
        f.report.kept = len(f.own_ids)

    def _fail(self, f: _File, failure: ReadFailure, *, read: bool) -> None:
        self.summary.failures.append(failure)
        f.report.failed += 1
        f.read_failures += read

    # -- batches ------------------------------------------------------------------
    def _flush(self) -> None:
        """Commit the batch in flight, then hand the gathered one to the store (its words were learned as it
        was gathered), which writes its records while they are made: stories signed, records built."""
        batch, self.batch = self.batch, []
        ending, self.ending = self.ending, []
        if not batch and not ending:
            return
        credit, out = _Credit(), WriteBatch(expected=len(batch))
        out.records = self._records(batch, ending, out, credit)
        self._commit()
        self.store.begin(out)
        self.in_flight = credit

    def _records(self, batch: list[_Pending], ending: list[_File], out: WriteBatch,
                 credit: _Credit) -> Iterator[Record]:
        """The batch's records in order, with what they do credited.  An ending file's latest record is held
        back until the next one of the file is made or its last article was reached: that record is marked
        as the file's end (the file's articles in a batch come together, so the order stays)."""
        ends = set(ending)
        last_article = {p.file: i for i, p in enumerate(batch) if p.file in ends}
        held: dict[_File, Record] = {}
        marked: set[_File] = set()
        signed = self.stories.assign([(p.article, p.terms) for p in batch])
        for i, (p, sig) in enumerate(zip(batch, signed)):
            f = p.file
            record = self._record(p, sig, out, credit)
            if f not in ends:
                if record is not None:
                    yield record
                continue
            if record is not None:
                before, held[f] = held.get(f), record
                if before is not None:
                    yield before
            if i == last_article[f] and f in held:
                last = held.pop(f)
                last["src"] = _final_key(f)
                marked.add(f)
                yield last
        for f in ending:
            yield from self._finish_file(f, f in marked, out, credit)

    def _record(self, p: _Pending, sig: Signed | None, out: WriteBatch, credit: _Credit) -> Record | None:
        """The record of one article, or None when it cannot be made (reported, the rest goes on)."""
        f = p.file
        try:
            if sig is None:
                raise ValueError("its same-story signature could not be worked out")
            record = records.build(p.article, sig, key(f.name, f.digest, f.partial), self.indexer.languages, f.name)
        except Exception as exc:  # noqa: BLE001 - one hostile article costs itself only
            f.accepted.discard(p.article.id)
            self._fail(f, ReadFailure(p.article.path or f.name, f"not indexed ({type(exc).__name__}: "
                                                                f"{str(exc)[:120]})", p.article.line), read=True)
            return None
        if p.update:
            out.delete_ids.append(p.article.id)
        (credit.updated if p.update else credit.added)[f] += 1
        credit.records += 1
        f.last_record = record
        return record

    def _finish_file(self, f: _File, marked: bool, out: WriteBatch, credit: _Credit) -> Iterator[Record]:
        """What ends file ``f``: its last record marked again when an earlier batch wrote it (``marked``: this
        batch's was), the documents that left it deleted."""
        if not marked and f.last_record is not None:  # its last document went out with an earlier batch
            yield {**f.last_record, "src": _final_key(f)}
            out.delete_ids.append(f.last_record["id"])
            credit.records += 1
        own = f.own_ids or set()
        if f.clean:
            assert self.claims is not None  # set when the run starts
            gone = [doc_id for doc_id in own if not self.claims.claimed(doc_id)]
            out.delete_ids += gone
            credit.removed[f] += len(gone)
            credit.outcomes[f] = ("indexed" if f.accepted or not f.report.failed else "failed", 0)
        else:
            credit.outcomes[f] = ("damaged" if f.accepted else "failed", len(own - f.accepted))

    def _commit(self) -> None:
        """Commit the batch in flight, if any, and credit what it did."""
        credit, self.in_flight = self.in_flight, None
        if credit is not None:
            self._report_progress("writing")
        if self.store.commit():
            self.committed_anything = True
            if credit is not None:
                credit.apply()
                self.progress.written += credit.records
            self._report_progress("reading")
            # The cycle collector runs once per batch, not every 700 allocations: its full passes over a
            # big run's heap (and, in the forked writers, over the heap they inherit) were a tenth of the CPU.
            gc.collect()

    def _learn_vocabulary(self, articles: list[Article]) -> None:
        if not self.vocabulary_learned:
            self.store.learn_vocabulary()
            self.vocabulary_learned = True
        analysis.learn_words(set().union(*(_surface_words(a) for a in articles)) if articles else ())

    # -- progress -----------------------------------------------------------------
    def _count_file(self) -> None:
        self.progress.files += 1

    def _report_progress(self, stage: str | None = None) -> None:
        if stage:
            self.progress.stage = stage
        if self.indexer.progress is not None:
            self.progress.seconds = time.monotonic() - self.started
            self.indexer.progress(self.progress)


class _collect_per_batch:
    """The cycle collector off during a run (``_Run._commit`` collects once per batch)."""

    def __enter__(self) -> None:
        self.collecting = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc) -> None:
        if self.collecting:
            gc.enable()


def _final_key(f: _File) -> str:
    """The source key of a file's last document: the file is complete (clean or damaged)."""
    return key(f.name, f.digest, "" if f.clean else DAMAGED)


class _disk_full_reported:
    """A full disk stops the run with one clear message; the commits before it survived."""

    def __init__(self, index_dir: Path, run: _Run):
        self.index_dir, self.run = index_dir, run

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> Literal[False]:
        if not isinstance(exc, OSError) or exc.errno not in _DISK_FULL:
            return False
        summary = self.run.summary
        for f in self.run.files.values():
            if not f.report.outcome:
                f.report.outcome = "interrupted"
                f.report.kept = max(0, len(f.own_ids or ()) - f.report.updated)  # old versions not yet replaced
        summary.error = (f"no space left on device while writing to {self.index_dir}: the batch being written "
                         f"was not committed; the {summary.added + summary.updated} documents this run committed "
                         f"before it and everything indexed earlier are intact (stichwort check confirms it); "
                         f"free some space and run the same command again")
        raise IndexWriteError(summary.error, summary) from None


_LETTERS = re.compile(r"[^\W\d_]{4,}")


def _surface_words(a: Article) -> set[str]:
    """Lower-case words of 4+ letters: the splitter's corpus vocabulary (parts are never shorter)."""
    return set(_LETTERS.findall(f"{a.title}\n{a.teaser}\n{a.body}".lower()))
