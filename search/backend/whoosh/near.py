"""The nearness bonus: two query words within a few positions of each other, in order.

Whoosh answers a sloppy two-word ``Phrase`` through ``SpanNear2``: a ``Span``
object per position of both words on every document that has both, then a
search between the two lists.  A multi-word query over a large archive spends
most of its time there.  ``NearPair`` is the same query with the same matches
and scores (the intersection's, boosted); only the test whether the two words
come close is a walk over two sorted position lists.
"""
from __future__ import annotations

from whoosh import matching
from whoosh import query as Q
from whoosh.query.spans import Span, SpanWrappingMatcher


class NearPair(Q.Phrase):
    """``Phrase(field, [a, b], slop=n)``: ``b`` follows ``a`` within ``n`` positions."""

    def matcher(self, searcher, context=None):
        if len(self.words) != 2 or self.fieldname not in searcher.schema:
            return super().matcher(searcher, context)
        field = searcher.schema[self.fieldname]
        if not field.format or not field.format.supports("positions"):
            return super().matcher(searcher, context)  # Whoosh's own error
        reader = searcher.reader()
        terms = []
        for word in self.words:
            try:
                word = field.to_bytes(word)
            except ValueError:
                return matching.NullMatcher()
            if (self.fieldname, word) not in reader:
                return matching.NullMatcher()
            terms.append(Q.Term(self.fieldname, word))
        first, second = (t.matcher(searcher, context) for t in terms)
        m = _NearMatcher(matching.IntersectionMatcher(first, second), self.slop)
        return matching.WrappingMatcher(m, boost=self.boost) if self.boost != 1.0 else m


class _NearMatcher(SpanWrappingMatcher):
    """``SpanNear2``'s matcher for two single-position words (ordered, 1 <= distance <= slop) over
    their intersection (whose ``a`` and ``b`` are the two words)."""

    def __init__(self, child, slop: int):
        self._slop = slop
        super().__init__(child)

    def copy(self):
        return self.__class__(self.child.copy(), self._slop)

    def _replacement(self, newchild):
        return self.__class__(newchild, self._slop)

    def replace(self, minquality=0):
        return self if self.is_active() else matching.NullMatcher()

    def _get_spans(self) -> list[Span]:
        """The first close pair as a span, or none."""
        after = self.child.b.value_as("positions")
        slop, j, n = self._slop, 0, len(after)
        for a in self.child.a.value_as("positions"):
            while j < n and after[j] <= a:
                j += 1
            if j == n:
                break
            if after[j] - a <= slop:
                return [Span(a, after[j])]
        return []
