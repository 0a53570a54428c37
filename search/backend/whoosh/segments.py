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
are more than ``MAX_SEGMENTS`` after a run, and during a long run once there
are ``RUN_SEGMENTS``; a commit itself never merges.  Deleted and replaced documents stay in their
segment until it is rewritten, so the same merge policy also rewrites a
segment once ``RECLAIM_SHARE`` of it is deleted, and drops a segment with no
live document at every commit; ``compact(full=True)`` (``stichwort compact``)
rewrites everything into one segment per worker.
"""
from __future__ import annotations

import heapq
import multiprocessing
import pickle
import zlib
from array import array
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from itertools import groupby, islice, repeat
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import columns
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo, _lenfield
from whoosh.reading import SegmentReader
from whoosh.system import pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from search.backend.base import Record
from search.backend.whoosh import vocabulary
from search.backend.whoosh.postings import term_postings
from search.backend.whoosh.schema import document, fused_items
from search.backend.whoosh.store import open_index
from search.index.fields import SURFACE_FIELD
from search.processes import fork_pool, stop

MIN_SHARE = 100     # documents per worker below which forking costs more than it saves
MAX_SEGMENTS = 24   # more than this after a run: merge the smallest (a bulk run of 100,000 makes 20)
RUN_SEGMENTS = 2 * MAX_SEGMENTS  # this many during a run: merge the smallest down to MAX_SEGMENTS before the next
                                 # batch (each article is merged about once in a run of a million)
RECLAIM_SHARE = 0.3  # a segment with this share of its documents deleted is rewritten after a run
INLINE = 8          # posting lists shorter than this live in the term table (most terms occur in a few
                    # articles); whoosh-reloaded 2.7.5 cannot inline (it calls a misspelt ``set_inline``)
                    # and writes a pickled, compressed block with a header for every term


class _Pool:
    """Postings grouped by field and term as they arrive, in document order.

    Whoosh's ``PostingPool`` keeps one tuple per posting, sorts all of them at the
    end and spills pickled runs past a memory limit; here only each field's terms
    are sorted, and a batch (``indexing.batch_size``) bounds the memory."""

    def __init__(self, exits_after: bool = False) -> None:
        self.fields: dict[str, dict[bytes, list]] = {}
        self.exits_after = exits_after  # a forked worker's: its process ends after this segment

    def add(self, item: tuple) -> None:
        """One posting (Whoosh's interface: its own ``add_reader``, where ``Writer.add_reader`` defers to it)."""
        fieldname, btext, docnum, weight, vbytes = item
        self.extend(fieldname, docnum, [(btext, 0, weight, vbytes)])

    def extend(self, fieldname: str, docnum: int, items, boost: float = 1.0) -> int:
        """One document's postings in a field, from ``Field.index``-shaped items; returns the summed
        frequencies (the field length, where the field is scorable)."""
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = {}
        length = 0
        for btext, freq, weight, vbytes in items:
            length += freq
            posting = (docnum, weight * boost, vbytes)
            postings = terms.get(btext)
            if postings is None:
                terms[btext] = [posting]
            else:
                postings.append(posting)
        return length

    def iter_postings(self):
        for fieldname in sorted(self.fields):
            terms = self.fields[fieldname]
            for btext in sorted(terms):
                for docnum, weight, vbytes in terms[btext]:
                    yield fieldname, btext, docnum, weight, vbytes

    def cleanup(self) -> None:
        if self.exits_after:  # freeing millions of postings one by one cost a worker a twentieth of its
            _PARKED.append(self.fields)  # time; a forked worker ends with os._exit, which frees nothing
        self.fields = {}


_PARKED: list = []  # the posting pools of a worker's finished segments (see ``_Pool.cleanup``)


class Writer(SegmentWriter):
    """Whoosh's segment writer with a grouping posting pool, short posting lists written inline,
    the new segment's field lengths read from memory, and merges that stream a term at a time."""

    def __init__(self, ix, exits_after: bool = False, **kwargs):
        super().__init__(ix, **kwargs)
        self.pool = _Pool(exits_after)
        self._plain = any(f.separate_spelling() or f.vector for _, f in self.schema.items())
        self._merged: list[_Merged] = []  # segments added whole (``add_reader``), their postings still in them

    def add_reader(self, reader) -> None:
        """Whoosh's ``add_reader`` for the stored fields, lengths and columns; the postings stay in the
        segment (``reader`` must stay open until the flush) and are merged term by term when it is
        written, so a merge holds one term's postings at a time, not every posting of its segments
        (13 GB per worker for 65,000 articles)."""
        if self._plain or self.pool.fields:
            return super().add_reader(reader)
        self._check_state()
        base = self.docnum
        fieldnames = set(self.schema.names()) | {f for f in reader.indexed_field_names() if f in self.schema}
        docmap = self.write_per_doc(fieldnames, reader)
        table = None
        if docmap is not None:  # deletions: old document number -> new one, -1 for a deleted document
            table = np.full(reader.doc_count_all(), -1, dtype=np.int64)
            table[np.fromiter(docmap.keys(), dtype=np.int64, count=len(docmap))] = \
                np.fromiter(docmap.values(), dtype=np.int64, count=len(docmap))
        self._merged.append(_Merged(reader, base, table))
        self._added = True

    def write_per_doc(self, fieldnames, reader):
        """Whoosh's ``write_per_doc`` (stored fields, lengths, columns of each document of ``reader``) asking
        only for the lengths a segment has: Whoosh asks each document for every field of the schema (124
        with a dozen languages), and each field without lengths looks for its file again (12 s of a 10,000
        article merge's 37)."""
        if self._plain:
            return super().write_per_doc(fieldnames, reader)
        schema, pdw = self.schema, self.perdocwriter
        docmap: dict[int, int] | None = {} if reader.has_deletions() else None
        cols = {}
        for name in fieldnames:
            coltype = schema[name].column_type
            if coltype and reader.has_column(name):
                creader = reader.column_reader(name, coltype)
                cols[name] = creader.raw_column() if isinstance(creader, columns.TranslatingColumnReader) else creader
        perdoc = reader._perdoc
        lengthed = sorted(n for n in fieldnames if perdoc.has_column(_lenfield(n)))
        length = reader.doc_field_length
        for docnum, stored in reader.iter_docs():
            if docmap is not None:
                docmap[docnum] = self.docnum
            pdw.start_doc(self.docnum)
            for name in {*lengthed, *(f for f in stored if f in schema)}:
                pdw.add_field(name, schema[name], stored.get(name), length(docnum, name) if name in lengthed else 0)
            for name, creader in cols.items():
                pdw.add_column_value(name, schema[name].column_type, creader[docnum])
            pdw.finish_doc()
            self.docnum += 1
        return docmap

    def add_document(self, **fields) -> None:
        """Whoosh's ``add_document``, with a fused field's postings made in one call and put
        straight into the pool (Whoosh's generators and a tuple per posting cost a tenth)."""
        if self._plain:
            return super().add_document(**fields)
        self._check_state()
        pdw, schema, docnum = self.perdocwriter, self.schema, self.docnum
        names = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, names)
        docboost = self._doc_boost(fields)
        pdw.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if field.indexed:
                    items = fused_items(field, value)
                    length = self.pool.extend(name, docnum, field.index(value) if items is None else items,
                                              self._field_boost(fields, name, docboost))
                    if not field.scorable:
                        length = 0
                stored = fields.get(f"_stored_{name}", value)
                pdw.add_field(name, field, stored if field.stored else None, length)
                if field.column_type and stored is not None:
                    pdw.add_column_value(name, field.column_type, field.to_column_value(stored))
        except Exception:
            pdw.cancel_doc()
            raise
        pdw.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self) -> None:
        self._create_columns()
        self.perdocwriter.close()
        lengths = _Lengths(self.per_document_reader())
        folder = getattr(self.storage, "folder", None)
        merged = self._merged
        names = {f for m in merged for f in m.reader.indexed_field_names() if f in self.schema} | set(self.pool.fields)
        try:
            for fieldname in sorted(names):
                if merged:
                    terms: Iterable[tuple[bytes, list]] = _merged_terms(merged, fieldname)
                else:
                    grouped = self.pool.fields[fieldname]
                    terms = ((t, grouped[t]) for t in sorted(grouped))
                kept: list[tuple[bytes, int]] | None = \
                    [] if fieldname == SURFACE_FIELD and folder is not None else None
                self._write_field(fieldname, terms, lengths.column(fieldname), kept)
                if kept is not None and folder is not None:  # in the worker, from memory, not read after the commit
                    vocabulary.keep_vocabulary(folder, self.newsegment.segment_id(), fieldname,
                                               [t for t, _ in kept], [n for _, n in kept])
        finally:
            lengths.close()
        self.fieldwriter.close()

    def _create_columns(self) -> None:
        """Every column in every segment (empty ones hold default values): see ``compat``."""
        pdw = self.perdocwriter
        for name, field in self.schema.items():
            if field.column_type and not pdw._has_column(name):
                pdw._create_column(name, field.column_type)

    def _write_field(self, fieldname: str, terms: Iterable[tuple[bytes, list]], length: list[int],
                     kept: list[tuple[bytes, int]] | None = None) -> None:
        """One field's terms, in order, each with its postings ``(docnum, weight, value)`` in document order:
        short lists straight into the term table, long ones in blocks; ``kept`` gets (term, documents)."""
        fw = self.fieldwriter
        fw.start_field(fieldname, self.schema[fieldname])
        fw._postwriter._write_block = partial(_write_block, fw._postwriter)
        table_add, fieldkey = fw._tindex.add, pack_ushort(fw._fieldid)
        for btext, postings in terms:
            if kept is not None:
                kept.append((btext, len(postings)))
            if len(postings) < INLINE:
                table_add(fieldkey + btext, _inline_entry(postings, length))
                continue
            fw.start_term(btext)
            _fill_blocks(fw._postwriter, postings, length)
            fw.finish_term()
        fw.finish_field()


def _fill_blocks(writer, postings: list, length: list[int]) -> None:
    """Whoosh's postings writer fed a block at a time: the buffers and statistics ``add_posting``
    would build one posting at a time; full blocks are written, the last one by ``finish_term``."""
    limit = writer._blocklimit
    for start in range(0, len(postings), limit):
        ids, weights, values, (writer._minlength, writer._maxlength, writer._maxweight) = \
            _block(postings[start:start + limit], length)
        writer._ids, writer._weights, writer._values = array("I", ids), array("f", weights), values
        if start + limit < len(postings):
            writer._write_block()


def _write_block(writer, last: bool = False) -> None:
    """Whoosh's ``W3PostingsWriter._write_block`` with pickle protocol 3 (see ``_inline_entry``):
    the same block header, statistics and compression; Whoosh reads it with ``pickle.load``."""
    if not writer._blockcount:
        writer._postfile.write(WHOOSH3_HEADER_MAGIC)
    writer._terminfo.add_block(writer)
    data = pickle.dumps((writer._mini_ids(), writer._mini_weights(), writer._mini_values()), 3)
    if writer._compression:
        data = zlib.compress(data, writer._compression)
    ids = writer._ids
    info = pickle.dumps((len(ids), ids[-1], writer._maxweight, writer._compression,
                         length_to_byte(writer._minlength), length_to_byte(writer._maxlength)), 3)
    size = len(info) + len(data)
    writer._postfile.write_int(-size if last else size)  # negative: the term's last block
    writer._postfile.write(info)
    writer._postfile.write(data)
    writer._blockcount += 1


def _block(postings: list, length: list[int]) -> tuple[tuple, tuple, list, tuple]:
    """(ids, weights, non-empty values, (min length, max length, max weight)) of some postings,
    as Whoosh's postings writer counts them: zero lengths ignored, weights from 0 up."""
    ids, weights, values = zip(*postings)
    lengths = list(map(length.__getitem__, ids))
    if 0 in lengths:
        lengths = list(filter(None, lengths))
    stats = (min(lengths) if lengths else None, max(lengths, default=0), max(0, *weights))
    return ids, weights, list(filter(None, values)), stats


def _inline_entry(postings: list, length: list[int]) -> bytes:
    """The term table entry Whoosh's ``W3TermInfo.to_bytes`` writes for an inlined list (if its
    writer's inlining worked): the same statistics (weights as 32-bit floats, zero lengths
    ignored), then the postings pickled, with a value per posting even where the format has none,
    as ``ListMatcher`` pairs ids with values.  Pickle protocol 3, not Whoosh's 2: protocol 2
    pickles each bytes value through ``_codecs.encode`` (84 instead of 43 bytes for a term in one
    article, slower too); Whoosh reads either with ``pickle.loads``."""
    ids, weights, values, (minlength, maxlength, _) = _block(postings, length)
    weights = tuple(array("f", weights))
    stats = _TERM_INFO.pack(True, sum(weights), len(ids), 0 if minlength is None else length_to_byte(minlength),
                            length_to_byte(maxlength), max(0, *weights), ids[0], ids[-1])
    return stats + pickle.dumps((tuple(ids), weights, tuple(values) or (b"",) * len(ids)), 3)


_TERM_INFO = W3TermInfo._struct


class _Lengths:
    """A segment's field lengths, each field's read once: Whoosh asks for one per posting it writes,
    and a look-up in the column file was a tenth of writing time."""

    def __init__(self, reader):
        self._reader = reader
        self._fields: dict[str, list[int]] = {}

    def column(self, fieldname: str) -> list[int]:
        column = self._fields.get(fieldname)
        if column is None:
            get = self._reader.doc_field_length
            column = self._fields[fieldname] = [get(d, fieldname, 0) for d in range(self._reader.doc_count_all())]
        return column

    def close(self) -> None:
        self._reader.close()


def open_writer(ix, lock: bool = True, exits_after: bool = False) -> Writer:
    """A writer on ``ix``; only the indexer's own (``lock``) takes Whoosh's lock."""
    return Writer(ix, exits_after, _lk=lock)


def _new_writer(index_dir: str) -> Writer:
    """A worker's writer: without the lock (its parent holds it), in a process that ends after its segment."""
    return open_writer(open_index(Path(index_dir), None), lock=False, exits_after=True)


def _finish(writer: Writer):
    # Not writer._finish(): the temporary folder is shared with the parent's writer, which removes it.
    return writer._finalize_segment()


def _write_share(index_dir: str, share: int):
    """Worker: one new segment holding the records its feed brings (lists of them, then None)."""
    feed = _FEEDS[share]
    writer = _new_writer(index_dir)
    while (records := feed.get()) is not None:
        for record in records:
            writer.add_document(**document(record))
    return _finish(writer)


_FEEDS: list = []  # the record feeds of a batch's workers, made before they fork: they inherit them


def _merge_share(index_dir: str, segments: list) -> Any:
    """Worker: one new segment holding the live documents of ``segments`` (deletions carried in them)."""
    writer = _new_writer(index_dir)
    readers = []
    try:
        for segment in segments:
            readers.append(SegmentReader(writer.storage, writer.schema, segment))
            writer.add_reader(readers[-1])
        return _finish(writer)
    finally:
        for reader in readers:
            reader.close()


@dataclass(frozen=True)
class _Merged:
    """A segment being merged: its reader, its first document's new number, and (with deletions) its
    old -> new document numbers."""

    reader: Any
    base: int
    table: np.ndarray | None


def _merged_terms(merged: list[_Merged], fieldname: str) -> Iterator[tuple[bytes, list]]:
    """The field's terms of all merged segments in order, each with its live postings renumbered."""
    streams = [zip(_term_infos(m.reader, fieldname), repeat(i)) for i, m in enumerate(merged)]
    ordered = heapq.merge(*streams, key=lambda item: (item[0][0], item[1]))  # by term, then segment
    for btext, group in groupby(ordered, key=lambda item: item[0][0]):
        postings: list = []
        for (_, info), i in group:
            m = merged[i]
            found = term_postings(m.reader._terms, info, with_values=True)
            if not len(found.ids):
                continue
            values = found.values or (b"",) * len(found.ids)
            if m.table is None:
                postings += zip((found.ids.astype(np.int64) + m.base).tolist(), found.weights.tolist(), values)
                continue
            new = m.table[found.ids]
            live = new >= 0
            postings += zip(new[live].tolist(), found.weights[live].tolist(),
                            (v for v, keep in zip(values, live.tolist()) if keep))
        if postings:
            yield btext, postings


def _term_infos(reader, fieldname: str) -> Iterator[tuple[bytes, W3TermInfo]]:
    """A segment's (term, term info) of one field in order, read as the term table stores them (no look-up
    per term)."""
    terms = getattr(reader, "_terms", None)
    if terms is None or fieldname not in terms._fieldmap:
        return
    fieldkey = terms._keycoder(fieldname, b"")
    for key, value in terms._tindex.items_from(fieldkey):
        if not key.startswith(fieldkey):
            return
        yield key[len(fieldkey):], W3TermInfo.from_bytes(value)


def live_segments(segments: list) -> list:
    """The segments worth keeping: one whose every document is deleted only takes space."""
    return [s for s in segments if s.doc_count() > 0]


def merge_policy(new: list):
    """The live segments there were, then ``new`` in batch order: a commit merges nothing.  Whoosh's usual
    policy (``MERGE_SMALL``) merges in the committing process, a posting at a time, and once a run has made
    some 22 segments it merges all of them into one at every batch (400 s at 130,000 articles, and longer
    each time); merging is ``compact``'s, in parallel, between batches and after a run."""
    return lambda writer, segments: live_segments(segments) + new


class Batch:
    """A batch on its way into the index: workers write it while the indexer is still preparing it (its
    records come as they are made), and the next one while it prepares that; ``commit`` waits for them and
    commits, ``cancel`` stops them and leaves the index as it was.

    Each worker writes a contiguous share of the records, fed in ``FEED`` record lists, so a worker starts
    on the batch's first records while same-story detection signs the rest.  A later share's first records
    come later, so the first shares are larger (``LEAD``): the workers finish together."""

    FEED = 200
    LEAD = 0.06  # the first of two shares is this much larger than an even one, the second as much smaller

    def __init__(self, writer: Writer, index_dir: Path, records: Iterable[Record], procs: int, expected: int):
        self.writer = writer
        self.pool: ProcessPoolExecutor | None = None
        self.futures: list[Future] = []
        self.feeds: list = []
        shares = min(procs, expected // MIN_SHARE)
        if shares <= 1:
            for record in records:
                writer.add_document(**document(record))
            return
        try:
            self._feed(index_dir, iter(records), share_sizes(expected, shares, self.LEAD))
        except BaseException:
            self.cancel()
            raise

    def _feed(self, index_dir: Path, records: Iterator[Record], sizes: list[int]) -> None:
        context = multiprocessing.get_context("fork")
        self.feeds = _FEEDS[:] = [context.Queue() for _ in sizes]
        self.pool = fork_pool(len(sizes))
        self.futures = [self.pool.submit(_write_share, str(index_dir), i) for i in range(len(sizes))]
        for i, feed in enumerate(self.feeds):
            left: int | None = sizes[i] if i < len(sizes) - 1 else None  # the last share takes whatever comes
            while left is None or left > 0:
                chunk = list(islice(records, self.FEED if left is None else min(self.FEED, left)))
                if not chunk:
                    break
                feed.put(chunk)
                if left is not None:
                    left -= len(chunk)
            feed.put(None)

    def commit(self) -> None:
        try:
            new = [f.result() for f in self.futures]
        except BaseException:
            self.cancel()
            raise
        self._close_pool()
        self.writer.commit(mergetype=merge_policy(new))

    def cancel(self) -> None:
        if self.pool is not None:
            stop(self.pool)
            self.pool = None
        self._close_feeds()
        if not self.writer.is_closed:
            self.writer.cancel()

    def _close_pool(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        self._close_feeds()

    def _close_feeds(self) -> None:
        for feed in self.feeds:
            feed.cancel_join_thread()  # a stopped worker reads no more: this process must not wait to feed it
            feed.close()
        self.feeds = []
        _FEEDS.clear()


def share_sizes(expected: int, shares: int, lead: float) -> list[int]:
    """Records per share: ``lead`` more than an even share for the first, as much less for the last, and in
    proportion between."""
    weights = [1 + lead * (shares - 1 - 2 * i) / max(1, shares - 1) for i in range(shares)]
    sizes = [round(expected * w / shares) for w in weights]
    sizes[-1] = expected - sum(sizes[:-1])
    return sizes


def plan(segments: list, procs: int, max_segments: int = MAX_SEGMENTS, full: bool = False) -> list[list]:
    """The groups ``compact`` merges, dealt round-robin by size so groups weigh alike (smallest first): the smallest
    segments beyond ``max_segments`` and those with ``RECLAIM_SHARE`` deleted; all (``full``), when
    that changes anything."""
    procs = max(1, min(procs, max_segments - 1))
    if full:
        if len(segments) <= procs and not any(s.has_deletions() for s in segments):
            return []
        chosen = segments
    else:
        ordered = sorted(segments, key=lambda s: s.doc_count_all())
        chosen = ordered[: len(segments) - max_segments + procs] if len(segments) > max_segments else []
        chosen += [s for s in ordered[len(chosen):] if s.deleted_count() >= RECLAIM_SHARE * s.doc_count_all()]
        if not chosen:
            return []
    ordered = sorted(chosen, key=lambda s: s.doc_count_all())
    return [g for g in (ordered[i::procs] for i in range(procs)) if g]


def compact(ix, procs: int, max_segments: int | None = None, full: bool = False) -> int:
    """Merge segments (see ``plan``; ``max_segments`` defaults to ``MAX_SEGMENTS``); the caller holds the
    write lock. Returns segments merged."""
    max_segments = MAX_SEGMENTS if max_segments is None else max_segments
    if not plan(live_segments(list(ix._segments())), procs, max_segments, full) \
            and len(live_segments(list(ix._segments()))) == len(list(ix._segments())):
        return 0  # no writer at all: a cancelled one leaves its empty segment files until the next commit
    writer = open_writer(ix)
    try:
        live = live_segments(list(writer.segments))
        groups = plan(live, procs, max_segments, full)
        index_dir = writer.storage.folder
        if len(groups) == 1:
            merged = [_merge_share(index_dir, groups[0])]
        elif groups:
            pool = fork_pool(len(groups))
            try:
                merged = list(pool.map(_merge_share, [index_dir] * len(groups), groups))
            finally:
                stop(pool)
        else:
            merged = []
        gone = {s.segment_id() for g in groups for s in g}
        writer.commit(mergetype=lambda w, segments: [s for s in live_segments(segments)
                                                      if s.segment_id() not in gone] + merged)
        return len(gone)
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise
