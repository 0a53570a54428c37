"""A compiled plan (``search.query.plan``) as OpenSearch query DSL, scoring as the Whoosh backend adds up.

Every node becomes a clause whose score is the node's score under the same
algebra: ``Sum`` a ``bool`` of ``should`` clauses (scores add, the boost
multiplies), ``All`` of ``must`` clauses, ``AllWords`` the sum plus a ``must``
of every word weighted ``bonus`` (so documents with every word score
``1 + bonus`` times their sum), ``Boosted`` a ``must`` with ``should`` extras,
``Exclude`` a ``must_not``, ``Filter`` ``filter``/``must_not`` clauses that
never score.  A term scores BM25 in its field times its boost (times
``mapping.SCORE_SCALE``, the factor Lucene leaves out); a phrase matches
by positions and scores its terms' sum; ``Near`` adds both terms' scores
where they stand within the slop, as a ``span_near`` filter.
"""
from __future__ import annotations

import math
from typing import Any

from search.backend.opensearch.mapping import SCORE_SCALE, TEXT_SCALE, os_field
from search.index.fields import role_of
from search.query import plan as P

MATCH_NONE: dict[str, Any] = {"match_none": {}}


Factors = dict[tuple[str, str], float]


def to_dsl(node: P.Node, factors: Factors | None = None) -> dict[str, Any]:
    """The scoring clause of ``node``; ``factors`` (see ``idf_factors``) turn Lucene's idf into Whoosh's."""
    method: Any = _SCORING.get(type(node))
    if method is None:
        raise TypeError(f"no query DSL for plan node {type(node).__name__}")
    return method(node, factors or {})


def idf_factors(terms: dict[tuple[str, str], int], fields: dict[str, int], n: int) -> Factors:
    """Per (field, term): Whoosh's idf ``ln(n / (df + 1)) + 1`` over Lucene's ``ln(1 + (N - df + 0.5) / (df + 0.5))``
    (``N`` the documents with the field), from the cluster's counts: a term's boost times this factor
    scores it as the Whoosh backend does (up to length normalisation)."""
    out = {}
    for (field, term), df in terms.items():
        docs = fields.get(field, 0)
        if df <= 0 or docs <= 0:
            continue
        lucene = math.log(1 + (docs - df + 0.5) / (df + 0.5))
        whoosh = math.log(n / (df + 1)) + 1
        if lucene > 0:
            out[(field, term)] = whoosh / lucene
    return out


def scored_terms(node: P.Node) -> set[tuple[str, str]]:
    """The (field, term) pairs whose BM25 a plan adds up (text fields only)."""
    found: set[tuple[str, str]] = set()
    for leaf in P.walk(node):
        if isinstance(leaf, P.Term):
            found.add((leaf.field, leaf.text))
        elif isinstance(leaf, P.Phrase):
            found.update((leaf.field, t) for t in leaf.terms)
        elif isinstance(leaf, P.Near):
            found.update(((leaf.field, leaf.first), (leaf.field, leaf.second)))
    return {(f, t) for f, t in found if os_field(f).startswith("t.")}


def to_filter(node: P.Node, factors: Factors | None = None) -> dict[str, Any]:
    """``node`` as a clause that only restricts (its score unused)."""
    if isinstance(node, P.Value):
        return _value(node, {})
    if isinstance(node, P.DateRange):
        return date_range(node)
    return to_dsl(node, factors)


def _term(node: P.Term, f: Factors) -> dict[str, Any]:
    field = os_field(node.field)
    if not field.startswith("t."):  # keyword fields are not scored: their posting weight, 1
        return {"constant_score": {"filter": {"term": {field: node.text}}, "boost": node.boost}}
    scale = TEXT_SCALE if role_of(node.field) is not None else SCORE_SCALE
    boost = node.boost * scale * f.get((node.field, node.text), 1.0)
    return {"term": {field: {"value": node.text, "boost": boost}}}


def _prefix(node: P.Prefix, f: Factors) -> dict[str, Any]:
    return {"constant_score": {"filter": {"prefix": {os_field(node.field): node.text}}, "boost": node.boost}}


def _fuzzy(node: P.Fuzzy, f: Factors) -> dict[str, Any]:
    return {"fuzzy": {os_field(node.field): {"value": node.text, "fuzziness": node.maxdist,
                                              "prefix_length": node.prefix, "boost": node.boost * SCORE_SCALE,
                                              "max_expansions": 50, "transpositions": False}}}


def _phrase(node: P.Phrase, f: Factors) -> dict[str, Any]:
    terms = [P.Term(node.field, t) for t in node.terms]
    if len(terms) == 1:
        return _scaled(_term(terms[0], f), node.boost)
    field = os_field(node.field)
    spans = {"span_near": {"clauses": [{"span_term": {field: t}} for t in node.terms],
                           "slop": max(0, node.slop - 1), "in_order": True}}
    return {"bool": {"filter": [spans], "must": [_term(t, f) for t in terms], "boost": node.boost}}


def _near(node: P.Near, f: Factors) -> dict[str, Any]:
    field = os_field(node.field)
    spans = {"span_near": {"clauses": [{"span_term": {field: node.first}}, {"span_term": {field: node.second}}],
                           "slop": max(0, node.slop - 1), "in_order": True}}
    return {"bool": {"filter": [spans], "must": [_term(P.Term(node.field, node.first), f),
                                                 _term(P.Term(node.field, node.second), f)], "boost": node.boost}}


def _sum(node: P.Sum, f: Factors) -> dict[str, Any]:
    kids = [to_dsl(c, f) for c in node.children if not isinstance(c, P.Nothing)]
    if not kids:
        return MATCH_NONE
    return {"bool": {"should": kids, "minimum_should_match": 1, "boost": node.boost}}


def _all(node: P.All, f: Factors) -> dict[str, Any]:
    if any(isinstance(c, P.Nothing) for c in node.children):
        return MATCH_NONE
    return {"bool": {"must": [to_dsl(c, f) for c in node.children], "boost": node.boost}}


def _allwords(node: P.AllWords, f: Factors) -> dict[str, Any]:
    kids = [to_dsl(c, f) for c in node.children]
    if len(kids) == 1:
        return kids[0]
    should = list(kids)
    if node.bonus and not any(isinstance(c, P.Nothing) for c in node.children):
        should.append({"bool": {"must": kids, "boost": node.bonus}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def _boosted(node: P.Boosted, f: Factors) -> dict[str, Any]:
    return {"bool": {"must": [to_dsl(node.base, f)], "should": [to_dsl(node.extra, f)]}}


def _exclude(node: P.Exclude, f: Factors) -> dict[str, Any]:
    return {"bool": {"must": [to_dsl(node.base, f)], "must_not": [to_filter(node.without, f)]}}


def _filter(node: P.Filter, f: Factors) -> dict[str, Any]:
    return {"bool": {"must": [to_dsl(node.base, f)], "filter": [to_filter(m, f) for m in node.must],
                     "must_not": [to_filter(m, f) for m in node.must_not]}}


def _every(node: P.Every, f: Factors) -> dict[str, Any]:
    return {"match_all": {}}


def _nothing(node: P.Nothing, f: Factors) -> dict[str, Any]:
    return MATCH_NONE


def _value(node: P.Value, f: Factors) -> dict[str, Any]:
    field = os_field(node.field)
    alts: list[dict[str, Any]] = [{"terms": {field: list(node.values)}}]
    if node.field == "source":  # "quelle:zeit" finds zeit.de too
        alts += [{"prefix": {field: v + "."}} for v in node.values]
    clause = alts[0] if len(alts) == 1 else {"bool": {"should": alts, "minimum_should_match": 1}}
    return {"constant_score": {"filter": clause, "boost": 0.0}}


def date_range(node: P.DateRange) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    if node.start is not None:
        bounds["gte"] = node.start.isoformat()
    if node.end is not None:
        bounds["lte"] = node.end.isoformat()
    return {"range": {"date": bounds}} if bounds else {"exists": {"field": "date"}}


def _scaled(clause: dict[str, Any], boost: float) -> dict[str, Any]:
    return clause if boost == 1.0 else {"bool": {"must": [clause], "boost": boost}}


_SCORING = {P.Term: _term, P.Prefix: _prefix, P.Fuzzy: _fuzzy, P.Phrase: _phrase, P.Near: _near, P.Sum: _sum,
            P.All: _all, P.AllWords: _allwords, P.Boosted: _boosted, P.Exclude: _exclude, P.Filter: _filter,
            P.Every: _every, P.Nothing: _nothing, P.Value: _value, P.DateRange: lambda n, f: {
                "constant_score": {"filter": date_range(n), "boost": 0.0}}}
