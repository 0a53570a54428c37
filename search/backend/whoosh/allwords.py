"""The all-words bonus, reading each word's postings once.

A multi-word search scores ``Or(words + [And(words, boost=bonus)])``: a document
with every word earns ``1 + bonus`` times its words' scores.  Whoosh evaluates
that as two trees over the same words, reading and scoring every posting twice
(most of a two-word search's time).  ``AllWords`` gives the same scores from one
pass: a union over the words that multiplies when all of them are on the
current document.
"""
from __future__ import annotations

from whoosh import query as Q
from whoosh.matching import Matcher, NullMatcher, UnionMatcher, WrappingMatcher


class AllWords(Q.Or):
    """Documents with any of ``subqueries``; those with all of them score ``1 + bonus`` times."""

    def __init__(self, subqueries, boost: float = 1.0, bonus: float = 0.0, **kwargs):
        super().__init__(subqueries, boost=boost, **kwargs)
        self.bonus = bonus

    def __eq__(self, other) -> bool:
        return super().__eq__(other) and self.bonus == getattr(other, "bonus", None)

    def __hash__(self) -> int:
        return super().__hash__() ^ hash(self.bonus)

    def __repr__(self) -> str:
        return f"AllWords({self.subqueries!r}, bonus={self.bonus})"

    def normalize(self) -> Q.Query:
        return self  # flattening into an Or would drop the bonus

    def _matcher(self, subs, searcher, context):
        m = _AllWordsMatcher([q.matcher(searcher, context) for q in subs], self.bonus)
        return WrappingMatcher(m, self.boost) if self.boost != 1.0 else m


class _AllWordsMatcher(Matcher):
    """An n-ary union that knows which words are on the current document."""

    def __init__(self, parts: list[Matcher], bonus: float):
        self._parts = parts
        self._bonus = bonus
        self._find()

    def _find(self) -> None:
        """The current document and the words on it, worked out once per move."""
        ids = [m.id() if m.is_active() else None for m in self._parts]
        live = [i for i in ids if i is not None]
        self._current = min(live) if live else None
        self._on = [m for m, i in zip(self._parts, ids) if i is not None and i == self._current]

    def is_active(self) -> bool:
        return self._current is not None

    def id(self) -> int:
        return self._current

    def next(self) -> None:
        for m in self._on:
            m.next()
        self._find()

    def skip_to(self, docnum: int) -> None:
        for m in self._parts:
            if m.is_active() and m.id() < docnum:
                m.skip_to(docnum)
        self._find()

    def score(self) -> float:
        score = 0.0
        for m in self._on:
            score += m.score()
        return score + score * self._bonus if len(self._on) == len(self._parts) else score

    def children(self) -> list[Matcher]:
        return list(self._parts)

    def copy(self) -> _AllWordsMatcher:
        return _AllWordsMatcher([m.copy() for m in self._parts], self._bonus)

    def replace(self, minquality=0) -> Matcher:
        parts = [m.replace(0) for m in self._parts]  # never by quality: the bonus needs every word
        live = [m for m in parts if m.is_active()]
        if not live:
            return NullMatcher()
        if len(live) < len(parts):  # a word with no postings left: no document ahead has them all
            union = live[0]
            for m in live[1:]:
                union = UnionMatcher(union, m)
            return union
        self._parts = parts
        self._find()
        return self

    def supports_block_quality(self) -> bool:
        return False

    def max_quality(self) -> float:
        """An upper bound, as Whoosh's union gives: every word's best, with the bonus."""
        return sum(m.max_quality() for m in self._parts if m.is_active()) * (1 + self._bonus)

    def supports(self, astype) -> bool:
        return False

    def reset(self) -> None:
        for m in self._parts:
            m.reset()
        self._find()
