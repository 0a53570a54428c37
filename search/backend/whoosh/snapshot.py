"""One commit of a Whoosh index as arrays, shared by every search thread.

A ``Snapshot`` is immutable: the segments of one commit, their documents
numbered as Whoosh's multi-segment reader numbers them (segment base plus
local number).  It hands the query path what it needs as numpy arrays:

* ``scored(field, term)``: the term's live documents and their BM25F scores,
  computed with Whoosh's formula and statistics (so equal to Whoosh's scores to
  the bit) in one vectorised step, cached per commit;
* ``positions``: a term's positions in given documents (phrases, nearness);
* doc values: facet ordinals, dates, months and story ordinals per document.

What is decoded from a segment (postings, columns) is cached per segment in a
``SegmentCache`` shared by the snapshots of one engine, bounded in bytes: a
refresh after a commit decodes only the new segments.  A refresh builds a new
snapshot and swaps it in; searches holding the old one finish on it.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property, partial
from itertools import islice
from math import log
from typing import Any

import numpy as np

from search import analysis
from search.backend import norms
from search.backend.searching import StoredArticle
from search.backend.whoosh import columns, vocabulary
from search.backend.whoosh.postings import Postings, position_keys, positions, read_postings
from search.backend.whoosh.schema import display_record, record_signature
from search.index.fields import SURFACE_FIELD
from search.query import plan as P
from search.results import collect
from search.results.explain import explain
from search.results.match import Evaluator
from search.results.related import related_docs
from search.results.search import FACET_COLUMNS, Matches, SearchRequest, run
from search.results.signatures import Signatures

DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
MAX_SCAN = 20_000  # vocabulary terms one prefix or fuzzy expansion reads at most
_EMPTY_IDS = np.zeros(0, dtype=np.int32)
_EMPTY_SCORES = np.zeros(0, dtype=np.float64)


class LRU:
    """A thread-safe mapping that forgets the least recently used entries past ``budget`` bytes."""

    def __init__(self, budget: int):
        self.budget = budget
        self.size = 0
        self._items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Any, value: Any, nbytes: int) -> Any:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._items[key] = (value, nbytes)
            self.size += nbytes
            while self.size > self.budget and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                self.size -= dropped
        return value

    def __len__(self) -> int:
        return len(self._items)


class SegmentCache:
    """Decoded postings and columns per segment, for all snapshots of one engine."""

    def __init__(self, budget: int = DEFAULT_CACHE_BYTES):
        self.postings = LRU(budget)
        self._columns: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def term(self, segid: str, leaf, field: str, btext: bytes, with_values: bool = False) -> Postings | None:
        key = (segid, field, btext, with_values)
        found = self.postings.get(key)
        if found is None:
            found = read_postings(leaf, field, btext, with_values) or _ABSENT
            self.postings.put(key, found, found.nbytes)
        return None if found is _ABSENT else found

    def column(self, segid: str, name: str, make: Callable[[], Any]) -> Any:
        """A segment's decoded column (kept for the segments of the current commits; see ``forget``)."""
        key = (segid, name)
        value = self._columns.get(key)
        if value is None:
            value = make()
            with self._lock:
                self._columns[key] = value
        return value

    def forget(self, keep: Iterable[str]) -> None:
        """Drop the columns of segments no commit in use holds any more."""
        keep = set(keep)
        with self._lock:
            for key in [k for k in self._columns if k[0] not in keep]:
                del self._columns[key]


_ABSENT = Postings(_EMPTY_IDS, np.zeros(0, dtype=np.float32), ())


@dataclass(frozen=True)
class Ordinals:
    """A text column as numbers: ``ords[doc]`` indexes ``labels`` (-1: no value).  A multi-valued column
    (tab-separated) is a list of (doc, ordinal) pairs instead: ``docs`` and ``ords`` side by side."""

    labels: list[str]
    ords: np.ndarray
    docs: np.ndarray | None = None

    @cached_property
    def uniform(self) -> bool:
        """Every document holds the one label (a one-language archive's language): counting needs no pass."""
        return self.docs is None and len(self.labels) == 1 and bool(len(self.ords)) and int(self.ords.min()) == 0

    @cached_property
    def shifted(self) -> np.ndarray:
        """``ords + 1``: 0 for no value, so counting needs no pass to leave those documents out."""
        return (self.ords + 1).astype(np.int32)

    def split(self, n_docs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """A multi-valued column as each document's first value (ordinal + 1, 0 for none, and that pair's
        number) plus the other pairs (documents, ordinals, pair numbers): most articles have one source,
        so counting reads one array per document and a few extra pairs, not every pair of the commit."""
        found = self.__dict__.get("_split")
        if found is None or len(found[0]) != n_docs:
            assert self.docs is not None  # multi-valued
            docs = self.docs.astype(np.int64)
            firsts = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]]) if len(docs) else docs[:0]
            primary = np.zeros(n_docs, dtype=np.int32)
            primary[docs[firsts]] = self.ords[firsts] + 1
            pair = np.zeros(n_docs, dtype=np.int64)
            pair[docs[firsts]] = firsts
            rest = np.ones(len(docs), dtype=bool)
            rest[firsts] = False
            others = np.flatnonzero(rest)
            found = (primary, pair, docs[others].astype(np.int32), self.ords[others] + 1, others)
            self.__dict__["_split"] = found
        return found


class Snapshot:
    """The searchable state of one commit; every method is safe to call from several threads."""

    def __init__(self, ix, cache: SegmentCache, B: float = 0.5, K1: float = 1.2):
        self.ix = ix
        self.cache = cache
        self.searcher = ix.searcher()
        self.reader = self.searcher.reader()
        self.schema = self.reader.schema
        self.generation = self.reader.generation()
        self.B, self.K1 = B, K1
        self.folder = getattr(ix.storage, "folder", None)  # derived files go beside a directory's segments
        self.segments = [(vocabulary.segment_id(leaf, base), leaf, base) for leaf, base in self.reader.leaf_readers()
                         if leaf.doc_count_all()]
        self.n = self.reader.doc_count_all()
        self.doc_count = self.reader.doc_count()
        deleted = [columns.deleted(leaf) for _, leaf, _ in self.segments]
        self.live = ~np.concatenate(deleted) if deleted else np.zeros(0, dtype=bool)
        self.has_deletions = bool(self.n - self.doc_count)
        self._scored = LRU(cache.postings.budget // 2)
        self._derived: dict[str, Any] = {}
        self._frequencies: dict[tuple[str, str], int] = {}
        self._within: dict[tuple, list[str]] = {}
        self._lock = threading.Lock()  # Whoosh's stored-field and term-table readers keep state

    def close(self) -> None:
        self.searcher.close()

    # -- postings -------------------------------------------------------------------------------------------
    def _segment_postings(self, field: str, term: str, with_values: bool = False) -> list[tuple[Postings, int]]:
        fieldobj = self.schema[field] if field in self.schema else None
        if fieldobj is None or not fieldobj.indexed:
            return []
        try:
            btext = fieldobj.to_bytes(term)
        except (ValueError, TypeError):
            return []
        found = []
        for segid, leaf, base in self.segments:
            with self._lock:
                p = self.cache.term(segid, leaf, field, btext, with_values)
            if p is not None and len(p.ids):
                found.append((p, base))
        return found

    def scored(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(live document numbers ascending, score per document) for one term; empty arrays when absent."""
        key = (field, term)
        hit = self._scored.get(key)
        if hit is not None:
            return hit
        parts = self._segment_postings(field, term)
        if not parts:
            return self._scored.put(key, (_EMPTY_IDS, _EMPTY_SCORES), 64)
        ids = np.concatenate([p.ids + base for p, base in parts]) if len(parts) > 1 else parts[0][0].ids + parts[0][1]
        weights = np.concatenate([p.weights for p, _ in parts]) if len(parts) > 1 else parts[0][0].weights
        tf = weights.astype(np.float64)
        if self.schema[field].scorable:
            df = len(ids)  # deleted documents included, as Whoosh's statistics count them
            idf = log(self.n / (df + 1)) + 1
            norm = self._norms(field)[self.lengths(field)[ids]]
            scores = idf * ((tf * (self.K1 + 1)) / (tf + norm))
        else:
            scores = tf
        if self.has_deletions:
            keep = self.live[ids]
            ids, scores = ids[keep], scores[keep]
        ids = ids.astype(np.int32, copy=False)
        return self._scored.put(key, (ids, scores), ids.nbytes + scores.nbytes + 64)

    def doc_frequency(self, field: str, term: str) -> int:
        """Documents with ``term`` in ``field`` (deleted ones included until merged away, as Whoosh counts);
        remembered per commit: related coverage asks for a hundred terms per call."""
        key = (field, term)
        found = self._frequencies.get(key)
        if found is None:
            found = self._df(field, term) if field in self.schema else 0
            if len(self._frequencies) > 500_000:
                self._frequencies.clear()
            self._frequencies[key] = found
        return found

    def position_keys(self, field: str, term: str) -> np.ndarray:
        """Sorted ``doc << 32 | position`` keys of every occurrence of ``term`` in ``field`` (the segments'
        keys end to end, remembered per commit: a common word has millions)."""
        key = (field, term, "keys")
        hit = self._scored.get(key)
        if hit is not None:
            return hit
        found = self._position_keys(field, term)
        return self._scored.put(key, found, found.nbytes + 64)

    def _position_keys(self, field: str, term: str) -> np.ndarray:
        parts = []
        fieldobj = self.schema[field] if field in self.schema else None
        if fieldobj is None:
            return np.zeros(0, dtype=np.int64)
        btext = fieldobj.to_bytes(term)
        for segid, leaf, base in self.segments:
            key = (segid, field, btext, "keys")
            keys = self.cache.postings.get(key)
            if keys is None:
                with self._lock:
                    p = self.cache.term(segid, leaf, field, btext, with_values=True)
                keys = position_keys(p, 0) if p is not None else np.zeros(0, dtype=np.int64)
                self.cache.postings.put(key, keys, keys.nbytes + 64)
            if len(keys):
                parts.append(keys + (base << 32) if base else keys)
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def positions(self, field: str, term: str, docs: np.ndarray) -> list[list[int]]:
        """The positions of ``term`` in each of ``docs`` (ascending document numbers that have it)."""
        out: list[list[int]] = []
        if not len(docs):
            return out
        for p, base in self._segment_postings(field, term, with_values=True):
            lo, hi = np.searchsorted(docs, [base, base + int(p.ids[-1]) + 1])
            if lo == hi:
                continue
            idx = np.searchsorted(p.ids, docs[lo:hi] - base)
            values = p.values
            assert values is not None  # read with_values
            out.extend(positions(values[i]) for i in idx.tolist())
        return out

    # -- vocabulary -----------------------------------------------------------------------------------------
    def doc_count_all(self) -> int:
        return self.n

    def expand_prefix(self, field: str, prefix: str) -> Iterator[str]:
        """Terms of ``field`` starting with ``prefix``, in lexicographic order."""
        if field not in self.schema:
            return iter(())
        with self._lock:
            found = [t.decode("utf-8") if isinstance(t, bytes) else t
                     for t in islice(self.reader.expand_prefix(field, prefix), MAX_SCAN)]
        return iter(found)

    def terms_within(self, field: str, text: str, maxdist: int, prefix: int = 0) -> list[str]:
        """Terms within ``maxdist`` edits of ``text`` sharing its first ``prefix`` characters (any order)."""
        if field not in self.schema:
            return []
        with self._lock:
            return [t.decode("utf-8") if isinstance(t, bytes) else t
                    for t in islice(self.reader.terms_within(field, text, maxdist, prefix=prefix), MAX_SCAN)]

    def top_prefix_terms(self, field: str, prefix: str, limit: int) -> list[str]:
        """Up to ``limit`` terms of ``field`` starting with ``prefix``, most frequent first (each segment's
        most frequent, added up)."""
        if field not in self.schema:
            return []
        key = prefix.encode("utf-8")
        total: dict[bytes, int] = {}
        for segid, leaf, _ in self.segments:
            for term, df in self._vocabulary(segid, leaf, field).top(key, limit):
                total[term] = total.get(term, 0) + df
        ranked = sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [t.decode("utf-8") for t, _ in ranked]

    def top_terms_within(self, field: str, text: str, maxdist: int, prefix: int, limit: int) -> list[str]:
        """Up to ``limit`` terms within ``maxdist`` edits of ``text``, most frequent first, from the largest
        segments that hold nine tenths of the documents (a word only the rest has is too rare to matter);
        remembered per commit."""
        if field not in self.schema:
            return []
        key = (field, text, maxdist, prefix, limit)
        found = self._within.get(key)
        if found is not None:
            return found
        total: dict[bytes, int] = {}
        covered = 0
        for segid, leaf, _ in sorted(self.segments, key=lambda s: -s[1].doc_count_all()):
            for term, df in self._vocabulary(segid, leaf, field).within(text, maxdist, prefix, limit):
                total[term] = total.get(term, 0) + df
            covered += leaf.doc_count_all()
            if covered >= 0.9 * self.n:
                break
        found = [t.decode("utf-8") for t, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]
        if len(self._within) > 10_000:
            self._within.clear()
        self._within[key] = found
        return found

    def _vocabulary(self, segid: str, leaf, field: str):
        return self.cache.column(segid, f"vocab:{field}",
                                 lambda: vocabulary.load_vocabulary(self.folder, segid, leaf, field))

    def _most_frequent(self, field: str, terms: Iterable[str], limit: int) -> list[str]:
        freq = {t: self._df(field, t) for t in terms}
        return [t for t, _ in sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]

    def _df(self, field: str, term: str) -> int:
        with self._lock:
            return self.reader.doc_frequency(field, term)

    def learn_words(self, learned: set[str]) -> None:
        """Teach query-side decompounding the surface words of the segments not in ``learned`` (then added):
        from the vocabulary arrays did-you-mean reads anyway, instead of a second walk of each term table."""
        vocabulary.learn(((segid, partial(self._vocabulary, segid, leaf, SURFACE_FIELD))
                          for segid, leaf, _ in self.segments), learned, self.folder)

    def warm_up(self) -> None:
        """Decode what any first query reads (lengths and norms of the text fields, facet, month and story
        ordinals, dates, the surface vocabulary did-you-mean walks), so a server does it before it serves
        (and, preloaded, once for all its workers)."""
        for name, fieldobj in self.schema.items():
            if fieldobj.scorable and self.reader.field_length(name):
                self._norms(name)
                self.lengths(name)
        for column, multi in FACET_COLUMNS.values():
            self.ordinals(column, multi)
        self.ordinals("month")
        self.ordinals("story")
        self.dates()
        for segid, leaf, _ in self.segments:
            self._vocabulary(segid, leaf, SURFACE_FIELD)

    # -- per-document values --------------------------------------------------------------------------------
    def lengths(self, field: str) -> np.ndarray:
        """Each document's encoded length of ``field`` (Whoosh's one byte)."""
        return self._global(f"len:{field}", lambda: np.concatenate(
            [self.cache.column(segid, f"len:{field}", partial(columns.length_codes, leaf, field))
             for segid, leaf, _ in self.segments]) if self.segments else np.zeros(0, dtype=np.uint8))

    def _norms(self, field: str) -> np.ndarray:
        """BM25's length term for each of the 256 length bytes: Whoosh's formula over the length both backends
        score with (``search.backend.norms``), averaged over the commit."""
        def make() -> np.ndarray:
            avgfl = norms.average(self.lengths(field), field)
            return self.K1 * ((1 - self.B) + self.B * norms.lengths(field) / avgfl)
        return self._global(f"norm:{field}", make)

    def ordinals(self, column: str, multi: bool = False) -> Ordinals:
        """A text column's values as ordinals over the whole commit (labels in first-seen order)."""
        def make() -> Ordinals:
            index: dict[str, int] = {}
            ords_parts, docs_parts = [], []
            for segid, leaf, base in self.segments:
                local = self.cache.column(segid, f"ord:{column}:{multi}",
                                          partial(_segment_ordinals, leaf, column, multi))
                local_labels, local_ords, local_docs = local
                mapping = np.array([index.setdefault(label, len(index)) for label in local_labels] + [-1],
                                   dtype=np.int32)
                ords_parts.append(mapping[local_ords])
                if multi:
                    docs_parts.append(local_docs + base)
            labels = list(index)  # dicts keep insertion order: label i is the i-th inserted
            ords = np.concatenate(ords_parts) if ords_parts else np.zeros(0, dtype=np.int32)
            docs = (np.concatenate(docs_parts) if docs_parts else np.zeros(0, dtype=np.int32)) if multi else None
            return Ordinals(labels, ords, docs)
        return self._global(f"ord:{column}:{multi}", make)

    def dates(self) -> np.ndarray:
        """Each document's date in microseconds since ``datetime.min`` (Whoosh's unit); -1 for none."""
        def make() -> np.ndarray:
            if not self.segments:
                return np.zeros(0, dtype=np.int64)
            raw = np.concatenate([self.cache.column(segid, "dates", partial(columns.dates, leaf))
                                  for segid, leaf, _ in self.segments])
            return np.where(raw == columns.NO_DATE, np.int64(-1), raw.astype(np.int64))
        return self._global("dates", make)

    def _global(self, key: str, make: Callable[[], Any]) -> Any:
        value = self._derived.get(key)
        if value is None:
            value = make()
            self._derived[key] = value  # a race only builds the same value twice
        return value

    # -- stored documents -----------------------------------------------------------------------------------
    def stored(self, docnum: int) -> dict[str, Any]:
        with self._lock:
            return self.searcher.stored_fields(docnum)

    def record(self, docnum: int) -> StoredArticle:
        stored = self.stored(docnum)
        return StoredArticle(stored["id"], stored.get("story") or stored["id"], display_record(stored))

    def signature(self, docnum: int) -> dict[str, float]:
        return record_signature(self.stored(docnum))

    def docnum(self, doc_id: str) -> int | None:
        with self._lock:
            return self.searcher.document_number(id=doc_id)

    # -- the view the engine searches (search.backend.searching.View) -----------------------------------------
    def search(self, request: SearchRequest) -> Matches:
        return run(self, request)

    def story_members(self, story: str) -> list[int]:
        return Evaluator(self).run(P.Term("story", story)).ids.tolist()

    def related(self, doc: dict, exclude: set, size: int, signatures: Signatures) -> list[tuple[int, float]]:
        return related_docs(self, doc, exclude, size, signatures)

    def explain(self, plan: P.Node, docnum: int) -> tuple[float, list[tuple[P.Node, float]]]:
        return explain(self, plan, docnum)

    def languages(self) -> set[str]:
        """The analysis chains the documents use."""
        return {analysis.language_of(code) for code in self.language_mix()}

    def stale_fields(self) -> list[str]:
        """Text fields holding terms an older analysis made (``analysis.stale_fields``) for some documents."""
        with self._lock:
            return [f for f in analysis.stale_fields(self.reader.schema) if self.reader.field_length(f)]

    def language_mix(self) -> dict[str, float]:
        """Each language code of the documents and its share of them: the prior of a query's languages."""
        with self._lock:
            codes = {t.decode(): self.reader.doc_frequency("language", t) for t in self.reader.lexicon("language")}
        total = sum(codes.values()) or 1
        return {code: n / total for code, n in codes.items()}

    def totals(self) -> dict[str, Any]:
        live = np.flatnonzero(self.live).astype(np.int32)
        out: dict[str, Any] = {}
        for facet, (column, multi) in FACET_COLUMNS.items():
            out[facet] = dict(collect.count(self.ordinals(column, multi), live, self.n).items)
        out["months"] = collect.histogram(self.ordinals("month"), live, self.n)[0]
        return out


def _segment_ordinals(leaf, column: str, multi: bool) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    return _local_ordinals(columns.text_values(leaf, column), multi)


def _local_ordinals(values: list[bytes], multi: bool) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """(labels, ordinal per document or per (doc, value) pair with -1 for none, docs of the pairs)."""
    index: dict[bytes, int] = {}
    if not multi:
        ords = np.fromiter((index.setdefault(v, len(index)) if v else -1 for v in values), dtype=np.int32,
                           count=len(values))
        return [k.decode("utf-8") for k in index], ords, None
    docs: list[int] = []
    pair_ords: list[int] = []
    for doc, v in enumerate(values):
        if v:
            for part in v.split(b"\t"):
                if part:
                    docs.append(doc)
                    pair_ords.append(index.setdefault(part, len(index)))
    return [k.decode("utf-8") for k in index], np.array(pair_ords, dtype=np.int32), np.array(docs, dtype=np.int32)


