"""The Whoosh backend's ``IndexWriter`` (``search.backend.base``): one indexing run's hold on the index.

``open_run`` takes the write lock, empties the directory for a rebuild, opens
(or creates) the index and refuses one written for fewer fields, before
anything is written.  Questions about the index as the run found it are
answered from one searcher opened at the start; batches are written by
``segments.Batch`` (worker processes, one segment each) and committed with
the merge policy that also drops segments without live documents.
"""
from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path

from whoosh.query import And, Or, Term
from whoosh.reading import TermNotFound

from search import analysis
from search.backend.base import CompactReport, StoredSignature, WriteBatch, disk_bytes
from search.backend.whoosh import segments, vocabulary
from search.backend.whoosh.schema import build_schema, text_field, unpack_doc
from search.backend.whoosh.store import LOCK_NAME, open_index, write_lock
from search.errors import StichwortError
from search.index.fields import SURFACE_FIELD


@contextmanager
def open_run(index_dir: str | Path, languages: list[str], *, workers: int = 2, wait: float = 0.0,
             rebuild: bool = False) -> Iterator[WhooshWriter]:
    """The index at ``index_dir`` for one run, created if missing, with its write lock held."""
    index_dir = Path(index_dir)
    with write_lock(index_dir, wait):
        if rebuild and index_dir.exists():
            for child in index_dir.iterdir():
                if child.name != LOCK_NAME:
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        writer = WhooshWriter(_open(index_dir, languages), index_dir, workers)
        try:
            yield writer
        finally:
            writer.close()


def _open(index_dir: Path, languages: list[str]):
    """One written by an older Stichwort (or for fewer languages) lacks fields this one writes."""
    wanted = build_schema(languages)
    ix = open_index(index_dir, wanted, create=True)
    missing = sorted(set(wanted.names()) - set(ix.schema.names()))
    if missing:
        raise StichwortError(
            f"the index in {index_dir} was built by an older Stichwort or for other languages: it lacks "
            f"the field(s) {', '.join(missing)}; rebuild it with: stichwort index --rebuild PATH... "
            f"--index-dir {index_dir}")
    with ix.reader() as reader:
        stale = [f for f in analysis.stale_fields(ix.schema) if reader.field_length(f)]
    if stale:  # new documents' terms would differ from the old ones' in the same field
        raise StichwortError(
            f"the index in {index_dir} holds {', '.join(analysis.languages_of_fields(stale))} articles analysed "
            f"by an older Stichwort, which queries no longer match; rebuild it with: stichwort index --rebuild PATH... "
            f"--index-dir {index_dir}")
    return ix


class WhooshWriter:
    """See ``search.backend.base.IndexWriter``."""

    def __init__(self, ix, index_dir: Path, workers: int):
        self.ix, self.index_dir, self.workers = ix, index_dir, workers
        self._before = ix.searcher() if ix.doc_count() else None
        self._in_flight: segments.Batch | None = None
        self._ids: dict[tuple[str, str], list[int]] = {}
        self._signatures: dict[int, StoredSignature] = {}

    # -- the index as the run found it ------------------------------------------
    def source_keys(self) -> frozenset[str]:
        if self._before is None:
            return frozenset()
        return frozenset(t.decode("utf-8") for t in self._before.reader().lexicon("src"))

    def source_ids(self, keys: Iterable[str]) -> set[str]:
        if self._before is None:
            return set()
        searcher = self._before
        return {searcher.stored_fields(d)["id"] for key in keys for d in searcher.docs_for_query(Term("src", key))}

    def owners(self, ids: Iterable[str]) -> dict[str, str]:
        if self._before is None:
            return {}
        found = {}
        for doc_id in ids:
            stored = self._before.document(id=doc_id)
            if stored is not None:
                found[doc_id] = stored["src"]
        return found

    def doc_count_before(self) -> int:
        return self._before.doc_count() if self._before is not None else 0

    def doc_frequency(self, language: str, term: str) -> int:
        return self._before.doc_frequency(text_field("body", language), term) if self._before is not None else 0

    def story_candidates(self, language: str, terms: list[str], days: list[str] | None,
                         limit: int) -> list[StoredSignature]:
        """Dated: the best BM25 matches of the terms among the days' articles.  Undated (no days to
        narrow them): the articles sharing most of the terms, counted from their postings, as the
        run's own memory does; scoring a query per article cost 8 ms and more with the index."""
        if self._before is None or not terms:
            return []
        field = text_field("body", language)
        if days is None:
            shared: Counter = Counter()
            for term in terms:
                shared.update(self._postings(field, term))
            return [self._stored_signature(docnum) for docnum, _ in shared.most_common(limit)]
        query = And([Or([Term("day", d) for d in days]), Or([Term(field, t) for t in terms])])
        return [_signature(hit.fields()) for hit in self._before.search(query, limit=limit, optimize=False)]

    def story_signatures(self, story: str, limit: int) -> list[StoredSignature]:
        if self._before is None:
            return []
        return [_signature(hit.fields()) for hit in self._before.search(Term("story", story), limit=limit,
                                                                         optimize=False)]

    def _postings(self, field: str, term: str) -> list[int]:
        """Document numbers of a term in the index as the run found it (it does not change: kept)."""
        ids = self._ids.get((field, term))
        if ids is None:
            assert self._before is not None  # only story_candidates asks, with an index to ask
            try:
                ids = list(self._before.reader().postings(field, term).all_ids())
            except TermNotFound:
                ids = []
            self._ids[(field, term)] = ids
        return ids

    def _stored_signature(self, docnum: int) -> StoredSignature:
        found = self._signatures.get(docnum)
        if found is None:
            if len(self._signatures) >= 4096:  # the articles sharing rare terms repeat: keep the last few
                self._signatures.clear()
            assert self._before is not None  # only story_candidates asks, with an index to ask
            found = self._signatures[docnum] = _signature(self._before.stored_fields(docnum))
        return found

    def learn_vocabulary(self) -> None:
        with self.ix.reader() as reader:
            vocabulary.learn(self._vocabularies(reader), analysis.vocabulary.default_vocabulary().learned_segments,
                             self.index_dir)

    def _vocabularies(self, reader) -> Iterator[tuple[str, Callable[[], vocabulary.SegmentVocabulary]]]:
        for leaf, base in reader.leaf_readers():
            if not leaf.doc_count_all():
                continue
            segid = vocabulary.segment_id(leaf, base)
            yield segid, partial(vocabulary.load_vocabulary, self.index_dir, segid, leaf, SURFACE_FIELD)

    def _derive(self) -> None:
        """Write the derived files of the commit's new segments (a server's start reads them instead of the
        term tables) and remove those of segments merged away."""
        with self.ix.reader() as reader:
            live = []
            segments = list(self._vocabularies(reader))
            for segid, load in segments:
                live.append(segid)
                if not vocabulary.is_derived(self.index_dir, segid, SURFACE_FIELD):
                    load()
            vocabulary.write_union(self.index_dir, segments)
        vocabulary.prune(self.index_dir, live)

    # -- writing ------------------------------------------------------------------
    def begin(self, batch: WriteBatch) -> None:
        if self._in_flight is not None:
            raise RuntimeError("begin() before the previous batch was committed")
        writer = segments.open_writer(self.ix)  # holds Whoosh's lock, deletes, commits; Batch writes
        try:
            in_flight = segments.Batch(writer, self.index_dir, batch.records, self.workers, batch.expected)
            if batch.delete_ids:  # known once the records are made; they delete from the segments there were
                with writer.searcher() as searcher:
                    for doc_id in batch.delete_ids:
                        writer.delete_by_term("id", doc_id, searcher=searcher)
            self._in_flight = in_flight
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise

    def commit(self) -> bool:
        batch, self._in_flight = self._in_flight, None
        if batch is None:
            return False
        batch.commit()
        if len(segments.live_segments(list(self.ix._segments()))) >= segments.RUN_SEGMENTS:
            segments.compact(self.ix, self.workers)
        self._derive()
        return True

    def delete(self, ids: Iterable[str]) -> int:
        writer = segments.open_writer(self.ix)
        try:
            count = sum(writer.delete_by_term("id", doc_id) for doc_id in ids)
            writer.commit(mergetype=segments.merge_policy([]))
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise
        self._derive()
        return count

    def compact(self, full: bool = False) -> CompactReport:
        before = list(self.ix._segments())
        report = CompactReport(segments_before=len(before), bytes_before=disk_bytes(self.index_dir),
                               deleted_reclaimed=sum(s.deleted_count() for s in before))
        segments.compact(self.ix, self.workers, full=full)
        self._derive()
        after = list(self.ix._segments())
        report.segments_after = len(after)
        report.deleted_reclaimed -= sum(s.deleted_count() for s in after)
        report.bytes_after = disk_bytes(self.index_dir)
        return report

    def close(self) -> None:
        batch, self._in_flight = self._in_flight, None
        try:
            if batch is not None:  # an error or interrupt: the batch in flight is not committed
                batch.cancel()
        finally:
            if self._before is not None:
                self._before.close()
                self._before = None


def _signature(fields: dict) -> StoredSignature:
    doc = unpack_doc(fields)
    date = doc.get("date")
    return StoredSignature(fields["id"], doc.get("language", ""), datetime.fromisoformat(date) if date else None,
                           doc.get("signature", {}), fields.get("story") or fields["id"], doc.get("location") or "",
                           (doc.get("sources") or [""])[0].lower(), doc.get("lead") or {})


