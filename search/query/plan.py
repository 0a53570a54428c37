"""What a search evaluates: a small algebra of scored and filtering clauses.

The compiler (``search.query.compile``) turns the reader's query tree into
these nodes; a backend evaluates them (the Whoosh backend over posting arrays
in ``search.results.match``, the OpenSearch backend as query DSL).  They are
plain values: no index access, no analysis, so a plan can be printed, compared
and cached.

Scoring follows BM25F: a ``Term`` scores its field's BM25 times ``boost``;
compound clauses add their children's scores.  Filters (``Filter`` and what it
wraps) restrict the matches and add nothing to the score.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class Node:
    """A plan node; see the subclasses."""


@dataclass(frozen=True)
class Term(Node):
    """One analysed term in one field, scored BM25 (or its posting weight in an unscored field)."""

    field: str
    text: str
    boost: float = 1.0


@dataclass(frozen=True)
class Prefix(Node):
    """Every term of ``field`` starting with ``text``; a document scores ``boost`` once per field (constant)."""

    field: str
    text: str
    boost: float = 1.0


@dataclass(frozen=True)
class Fuzzy(Node):
    """Terms within ``maxdist`` edits sharing the first ``prefix`` characters, each scored BM25 times ``boost``."""

    field: str
    text: str
    maxdist: int = 1
    prefix: int = 1
    boost: float = 1.0


@dataclass(frozen=True)
class Phrase(Node):
    """``terms`` in order at consecutive positions (``slop`` 1) or within ``slop`` positions; scores the sum
    of the terms' scores times ``boost``."""

    field: str
    terms: tuple[str, ...]
    slop: int = 1
    boost: float = 1.0


@dataclass(frozen=True)
class Sum(Node):
    """Documents matching any child; the children's scores added, times ``boost``."""

    children: tuple[Node, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class All(Node):
    """Documents matching every child; the children's scores added, times ``boost``."""

    children: tuple[Node, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class AllWords(Node):
    """``Sum`` of the words, and ``1 + bonus`` times that for documents that have every word."""

    children: tuple[Node, ...]
    bonus: float = 0.0


@dataclass(frozen=True)
class Near(Node):
    """Bonus: ``second`` follows ``first`` within ``slop`` positions in ``field``; scores both terms' scores
    times ``boost``.  Only ever added to documents that match otherwise, so a backend may compute it for
    the best candidates only (``search.results.rank``)."""

    field: str
    first: str
    second: str
    slop: int = 8
    boost: float = 1.0


@dataclass(frozen=True)
class Boosted(Node):
    """``base``'s matches; ``extra`` adds its score where it matches too (compound parts, nearness)."""

    base: Node
    extra: Node


@dataclass(frozen=True)
class Exclude(Node):
    """``base``'s matches and scores, without the documents that match ``without``."""

    base: Node
    without: Node


@dataclass(frozen=True)
class Every(Node):
    """Every live document, score 0: the empty query."""


@dataclass(frozen=True)
class Nothing(Node):
    """No document."""


# -- filters: restrict, never score ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Value(Node):
    """Documents whose keyword field ``field`` (``location``, ``source``, ``category``, ``language``, ``story``)
    holds one of ``values`` (lower-cased, as indexed); a ``source`` value also matches its sub-domains."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class DateRange(Node):
    """Documents dated within [start, end] (either end open)."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class Filter(Node):
    """``base``'s matches and scores, restricted to documents matching every one of ``must`` and none of
    ``must_not`` (filter nodes or scored nodes used as filters)."""

    base: Node
    must: tuple[Node, ...] = ()
    must_not: tuple[Node, ...] = ()


@dataclass
class Plan:
    """A compiled query: the scored part and what the highlighter should mark."""

    root: Node
    #: Index terms (per-language text fields) and surface words (``exact``) the query can match as a
    #: whole word: the highlighter marks these.
    marks: set[str] = field(default_factory=set)
    surfaces: set[str] = field(default_factory=set)


def walk(node: Node):
    """Every node of a plan, depth first."""
    yield node
    for child in children(node):
        yield from walk(child)


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (Sum, All, AllWords)):
        return node.children
    if isinstance(node, Boosted):
        return (node.base, node.extra)
    if isinstance(node, Exclude):
        return (node.base, node.without)
    if isinstance(node, Filter):
        return (node.base, *node.must, *node.must_not)
    return ()
