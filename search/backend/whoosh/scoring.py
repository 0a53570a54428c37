"""BM25F with each segment's field lengths read once per commit, not once per posting.

Whoosh's BM25F scorer asks the segment for the document's field length for every
posting it scores: three Python calls down to a one-byte column read, about a
quarter of a query's time when a query matches most of a large archive.  Whoosh
keeps a field length as one byte (``length_to_byte``), so a segment's lengths are
a byte string read whole, and the length part of BM25 has only 256 values,
computed once per scorer with Whoosh's own formula: scores are equal to the bit.
"""
from __future__ import annotations

from array import array
from bisect import bisect_left
from functools import lru_cache
from weakref import WeakKeyDictionary

from whoosh import query as Q
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching import ArrayUnionMatcher, IntersectionMatcher, WrappingMatcher
from whoosh.scoring import BM25F, BM25FScorer
from whoosh.util.numeric import byte_to_length

_CODES: WeakKeyDictionary = WeakKeyDictionary()  # segment reader -> field -> length bytes


class ColumnBM25F(BM25F):
    """``whoosh.scoring.BM25F``, scoring from a per-segment table of field lengths."""

    def scorer(self, searcher, fieldname, text, qf=1):
        if searcher.schema[fieldname].scorable:
            codes = _length_codes(searcher.reader(), fieldname)
            if codes is not None:
                return _TableScorer(searcher, fieldname, text, self._field_B.get(fieldname, self.B), self.K1, qf, codes)
        return super().scorer(searcher, fieldname, text, qf=qf)


class _TableScorer(BM25FScorer):
    """The same scores as ``BM25FScorer``: ``bm25()`` with its length term looked up by byte.  The
    archive's average field length is summed over the segments once per searcher, not per term."""

    def __init__(self, searcher, fieldname: str, text, B: float, K1: float, qf: float, codes: bytes):
        parent = searcher.get_parent()
        self.idf = parent.idf(fieldname, text)
        self.avgfl = _average_length(parent, fieldname)
        self.B, self.K1, self.qf = B, K1, qf
        self._codes = codes
        self._norm = _norm_table(K1, B, self.avgfl)
        self._k1p1 = K1 + 1
        self.setup(searcher, fieldname, text)

    def score(self, matcher) -> float:
        tf = matcher.weight()
        return self.idf * ((tf * self._k1p1) / (tf + self._norm[self._codes[matcher.id()]]))


@lru_cache(maxsize=256)
def _norm_table(K1: float, B: float, avgfl: float) -> tuple[float, ...]:
    """``bm25()``'s length term for each of the 256 length bytes."""
    return tuple(K1 * ((1 - B) + B * byte_to_length(code) / avgfl) for code in range(256))


_AVERAGES: WeakKeyDictionary = WeakKeyDictionary()  # top-level searcher -> field -> average length


def _average_length(searcher, fieldname: str) -> float:
    averages = _AVERAGES.get(searcher)
    if averages is None:
        averages = _AVERAGES[searcher] = {}
    if fieldname not in averages:
        averages[fieldname] = searcher.avg_field_length(fieldname) or 1
    return averages[fieldname]


def _length_codes(reader, fieldname: str) -> bytes | None:
    """One byte per document of ``reader`` (a segment), or None where the segment is not Whoosh's
    own format (then Whoosh's scorer does the look-ups)."""
    try:
        fields = _CODES.get(reader)
        if fields is None:
            fields = _CODES[reader] = {}
    except TypeError:  # not weak-referenceable
        return None
    codes = fields.get(fieldname)
    if codes is None:
        try:
            column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            doccount = reader.doc_count_all()
            if column is None:  # Whoosh then scores with a length of 1
                return None
            codes = bytes(column._dbfile.get(column._basepos, min(column._count, doccount)))
            codes += bytes(doccount - len(codes))
        except AttributeError:
            return None
        fields[fieldname] = codes
    return codes


class SummedOr(Q.Or):
    """Whoosh's ``Or``, whose preloading union (chosen as Whoosh chooses it: the parent needs no
    current posting, more than two clauses, segments of 5,000 documents or fewer) adds its term
    clauses' scores a block of postings at a time instead of one matcher call per posting."""

    def _matcher(self, subs, searcher, context):
        needs_current = context.needs_current if context else True
        preload = self.matcher_type == self.AUTO_MATCHER and not self.scale and not (
            len(subs) < self.TOO_MANY_CLAUSES and (needs_current or len(subs) == 2 or searcher.doc_count_all() > 5000))
        if not preload:
            return super()._matcher(subs, searcher, context)
        scored = context.weighting is not None if context else True
        return _SummingUnion([sub.matcher(searcher, context) for sub in subs], searcher.doc_count_all(),
                             boost=self.boost, scored=scored)


class _SummingUnion(ArrayUnionMatcher):
    """``ArrayUnionMatcher`` reading term clauses and two-term Ands block by block (``_table_clause``); the
    same additions in the same order, so the same scores.  The array is cleared in one step and
    its matches listed once per part, where Whoosh steps through every slot in Python."""

    def __init__(self, submatchers, doccount: int, boost: float = 1.0, scored: bool = True, partsize: int = 2048):
        self._zeros = array("d", bytes(8 * (partsize or doccount)))
        self._hits: list[int] = []
        super().__init__(submatchers, doccount, boost=boost, scored=scored, partsize=partsize)

    def _find_next(self) -> None:
        hits = self._hits
        i = bisect_left(hits, self._docnum)
        if i < len(hits):
            self._docnum = hits[i]
        else:  # as Whoosh's: the next part starts at the first posting after this one
            self._docnum = self._min_id()
            self._read_part()

    def all_ids(self):
        while self.is_active():
            yield from [d for d in self._hits if d >= self._docnum]
            self._docnum = self._limit
            if self._docnum < self._doccount:
                self._docnum = self._min_id()
                self._read_part()

    def _read_part(self) -> None:
        boost, limit, offset, a = self._boost, min(self._docnum + self._partsize, self._doccount), self._docnum, self._a
        a[:] = self._zeros
        for m in self._submatchers:
            leaves, mboost = _table_clause(m) if self._scored else (None, None)
            if leaves is None:
                while m.is_active() and m.id() < limit:
                    if self._scored:
                        a[m.id() - offset] += m.score() * boost
                    else:
                        a[m.id() - offset] = 1
                    m.next()
                continue
            if len(leaves) == 1:
                ids, scores = _leaf_scores(leaves[0], *_scan(leaves[0], limit))
            else:  # a two-word And (a compound's parts): the sum of both words' scores where both occur
                ids, scores = _leaf_scores(leaves[0], *_scan(leaves[0], limit))
                second = dict(zip(*_leaf_scores(leaves[1], *_scan(leaves[1], limit))))
                both = [(d, s, second[d]) for d, s in zip(ids, scores) if d in second]
                ids, scores = [d for d, _, _ in both], [s1 + s2 for _, s1, s2 in both]
                inner = m.child if type(m) is WrappingMatcher else m
                if inner.is_active() and inner.a.id() != inner.b.id():
                    inner._find_next()  # both words on their next common document, as Whoosh leaves them
            if mboost is None:
                for d, score in zip(ids, scores):
                    a[d - offset] += score * boost
            else:
                for d, score in zip(ids, scores):
                    a[d - offset] += score * mboost * boost
        self._offset, self._limit = offset, limit
        self._hits = [offset + i for i, score in enumerate(a[:limit - offset]) if score > 0]


def _scan(leaf, limit: int) -> tuple[list[int], list[float]]:
    """A block postings reader's ids and weights below ``limit``, a block slice at a time; leaves
    the reader on its first posting at or past ``limit`` (or at its end)."""
    ids_out: list[int] = []
    weights_out: list[float] = []
    while leaf.is_active():
        if leaf._ids is None:
            leaf._read_ids()
        if leaf._weights is None:
            leaf._read_weights()
        ids, i, n = leaf._ids, leaf._i, leaf._blocklength
        j = n if ids[n - 1] < limit else bisect_left(ids, limit, i, n)
        ids_out += ids[i:j]
        weights_out += leaf._weights[i:j]
        if j < n:
            leaf._i = j
            break
        leaf._i = n - 1
        leaf.next()  # the next block, or the end
    return ids_out, weights_out


def _leaf_scores(leaf, ids: list[int], weights: list[float]) -> tuple[list[int], list[float]]:
    """``_TableScorer.score`` for each posting."""
    scorer = leaf.scorer
    idf, k1p1, norm, codes = scorer.idf, scorer._k1p1, scorer._norm, scorer._codes
    return ids, [idf * ((tf * k1p1) / (tf + norm[codes[d]])) for d, tf in zip(ids, weights)]


def _table_clause(m) -> tuple[tuple | None, float | None]:
    """((leaf,) or (leaf, leaf), the one boost wrapped around them or None) for a term clause or a
    two-term And of Whoosh block postings readers scored by ``_TableScorer``; (None, None) otherwise."""
    boost = None
    if type(m) is WrappingMatcher:
        m, boost = m.child, m.boost
    if _is_table_leaf(m):
        return (m,), boost
    if type(m) is IntersectionMatcher and _is_table_leaf(m.a) and _is_table_leaf(m.b):
        return (m.a, m.b), boost
    return None, None


def _is_table_leaf(m) -> bool:
    return type(m) is W3LeafMatcher and type(m.scorer) is _TableScorer
