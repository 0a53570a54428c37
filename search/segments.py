"""Both cores write postings: worker processes each write a Whoosh segment of their own.

Analysing text and writing postings is most of an indexing run's time, and a
Whoosh writer does both in one process.  So the indexer's writer (which holds
the lock, deletes old versions and commits) hands each worker process a
contiguous share of a batch; a worker opens the index, writes one new segment
with Whoosh's own ``SegmentWriter`` (without the lock: the parent holds it)
and returns the segment, and the parent commits all of them in one table of
contents.  A run killed before that commit leaves only unreferenced segment
files, which the next commit deletes.

Workers are forked per batch, after the indexer has taught the splitter the
batch's vocabulary, so they decompound exactly as the parent would.

Segments multiply with every batch and each one costs every query a look-up,
so ``compact`` merges the smallest ones (in parallel, the same way) once there
are more than ``MAX_SEGMENTS``.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from whoosh.reading import SegmentReader
from whoosh.writing import MERGE_SMALL, SegmentWriter

from .store import open_index

MIN_SHARE = 100     # documents per worker below which forking costs more than it saves
MAX_SEGMENTS = 24   # more than this after a run: merge the smallest (a bulk run of 100,000 makes 20)
LIMIT_MB = 1024     # posting buffer per writer (Whoosh's estimate, close to the real bytes) before it
                    # spills pickled sorted runs to disk: at 256, spilling was a fifth of a 10,000-document run


class Writer(SegmentWriter):
    """Whoosh's segment writer, reading the new segment's field lengths from memory while it writes postings."""

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        lengths = _Lengths(self.per_document_reader()) if self.codec.length_stats else None
        self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
        self.fieldwriter.close()
        if lengths:
            lengths.close()


class _Lengths:
    """A segment's field lengths, each field's read once: Whoosh asks for one per posting it writes,
    and a look-up in the column file was a tenth of writing time."""

    def __init__(self, reader):
        self._reader = reader
        self._fields: dict[str, list[int]] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        column = self._fields.get(fieldname)
        if column is None:
            get = self._reader.doc_field_length
            column = self._fields[fieldname] = [get(d, fieldname, default) for d in range(self._reader.doc_count_all())]
        return column[docnum]

    def close(self) -> None:
        self._reader.close()


def open_writer(ix, lock: bool = True) -> Writer:
    """A writer on ``ix``; only the indexer's own (``lock``) takes Whoosh's lock."""
    return Writer(ix, _lk=lock, limitmb=LIMIT_MB)


def _new_writer(index_dir: str) -> Writer:
    return open_writer(open_index(Path(index_dir), None), lock=False)


def _finish(writer: Writer):
    # Not writer._finish(): the temporary folder is shared with the parent's writer, which removes it.
    return writer._finalize_segment()


def _write_share(index_dir: str, records: list[dict[str, Any]]):
    """Worker: one new segment holding ``records``."""
    writer = _new_writer(index_dir)
    for record in records:
        writer.add_document(**record)
    return _finish(writer)


def _merge_share(index_dir: str, segments: list) -> Any:
    """Worker: one new segment holding the live documents of ``segments`` (deletions carried in them)."""
    writer = _new_writer(index_dir)
    for segment in segments:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        try:
            writer.add_reader(reader)
        finally:
            reader.close()
    return _finish(writer)


def _pool(procs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(procs, mp_context=multiprocessing.get_context("fork"))


class Batch:
    """A batch on its way into the index: workers write it while the indexer prepares the next one;
    ``commit`` waits for them and commits, ``cancel`` stops them and leaves the index as it was."""

    def __init__(self, writer: Writer, index_dir: Path, records: list[dict[str, Any]], procs: int):
        self.writer = writer
        self.pool: ProcessPoolExecutor | None = None
        self.futures = []
        shares = min(procs, len(records) // MIN_SHARE)
        if shares <= 1:
            for record in records:
                writer.add_document(**record)
            return
        size = -(-len(records) // shares)
        self.pool = _pool(shares)
        self.futures = [self.pool.submit(_write_share, str(index_dir), records[i:i + size])
                        for i in range(0, len(records), size)]

    def commit(self) -> None:
        try:
            new = [f.result() for f in self.futures]
        except BaseException:
            self.cancel()
            raise
        self._close_pool()
        if new:  # Whoosh's usual policy for the segments there were, then the new ones in batch order
            self.writer.commit(mergetype=lambda w, segments: MERGE_SMALL(w, segments) + new)
        else:
            self.writer.commit()

    def cancel(self) -> None:
        if self.pool is not None:
            for process in list((self.pool._processes or {}).values()):  # no public way before 3.14
                process.terminate()
        self._close_pool()
        if not self.writer.is_closed:
            self.writer.cancel()

    def _close_pool(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def plan(segments: list, procs: int, max_segments: int = MAX_SEGMENTS) -> list[list]:
    """The groups ``compact`` merges: the smallest segments, dealt round-robin so groups weigh alike."""
    if len(segments) <= max_segments:
        return []
    procs = max(1, min(procs, max_segments - 1))
    ordered = sorted(segments, key=lambda s: s.doc_count_all())
    smallest = ordered[: len(segments) - max_segments + procs]
    return [g for g in (smallest[i::procs] for i in range(procs)) if g]


def compact(ix, procs: int, max_segments: int = MAX_SEGMENTS) -> int:
    """Merge segments down to ``max_segments``; the caller holds the write lock. Returns segments merged."""
    writer = open_writer(ix)
    try:
        groups = plan(list(writer.segments), procs, max_segments)
        if not groups:
            writer.cancel()
            return 0
        index_dir = writer.storage.folder
        if len(groups) == 1:
            merged = [_merge_share(index_dir, groups[0])]
        else:
            with _pool(len(groups)) as pool:
                merged = list(pool.map(_merge_share, [index_dir] * len(groups), groups))
        gone = {s.segment_id() for g in groups for s in g}
        writer.commit(mergetype=lambda w, segments: [s for s in segments if s.segment_id() not in gone] + merged)
        return len(gone)
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise
