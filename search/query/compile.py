"""Turns a parsed query tree into a Whoosh query over the per-language fields.

Each free-text word becomes, for every candidate language, its analysed
term in that language's title/teaser/body fields (boosted per config), plus
its surface form in ``exact`` so an exact match outranks a stem- or
part-only one.  Juxtaposed words are OR-ed, with a bonus clause for
documents that have all of them and one for documents that have them close
together.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from whoosh import query as Q

from search import analysis
from search.backend.whoosh.allwords import AllWords
from search.backend.whoosh.near import NearPair
from search.backend.whoosh.schema import TEXT_ROLES, text_field
from search.backend.whoosh.scoring import SummedOr
from search.errors import BadRequest
from search.query.parse import AnyOf, Group, Phrase, Word

ALL_BONUS = 2.0
NEAR_BONUS = 0.3
NEAR_SLOP = 8
PART_QUERY_BOOST = 0.55
GENITIVE_BOOST = 0.6
FUZZY_PREFIX = 2  # "Selenski~" scans only the words starting "se": typos rarely hit the first letters


class Compiler:
    def __init__(self, languages: list[str], boosts: dict[str, float]):
        self.languages = languages
        self.boosts = boosts

    # -- tree -----------------------------------------------------------------
    def compile(self, node: object) -> Q.Query:
        if isinstance(node, AnyOf):
            return SummedOr([self.compile(o) for o in node.options])
        if isinstance(node, Group):
            return self.group(node)
        if isinstance(node, Word):
            return self.word(node)
        if isinstance(node, Phrase):
            return self.phrase(node)
        return Q.NullQuery

    def group(self, group: Group) -> Q.Query:
        must = [self.compile(c.node) for c in group.clauses if c.occur == "must"]
        should = [self.compile(c.node) for c in group.clauses if c.occur == "should"]
        nots = [self.compile(c.node) for c in group.clauses if c.occur == "not"]
        if len(should) > 1:  # Or(should + [And(should, boost=ALL_BONUS)]), each word read once
            near = self.nearness([c.node for c in group.clauses if c.occur == "should"])
            should = [SummedOr([AllWords(should, bonus=ALL_BONUS)] + near)]
        parts = self.part_bonus([c.node for c in group.clauses if c.occur != "not"])
        if should and parts:  # compound parts add score to matches, never matches of their own
            should = [Q.AndMaybe(should[0], parts)]
        if must:
            result = Q.And(must)
            if should:
                result = Q.AndMaybe(result, should[0])
        elif should:
            result = should[0]
        else:
            result = Q.Every()
        if nots:
            result = Q.AndNot(result, SummedOr(nots))
        return result

    def part_bonus(self, nodes: list[object]) -> Q.Query | None:
        """Single parts of compound query words: "Stadtgründung" also rewards "Gründung der Stadt"."""
        terms = []
        for node in nodes:
            if isinstance(node, Word) and node.field in (None, "title"):
                for lang in self.languages:
                    for role in self.roles(node.field):
                        fname, boost = text_field(role, lang), self.boosts.get(role, 1.0)
                        terms += [Q.Term(fname, p, boost=boost * PART_QUERY_BOOST) for p in self.parts(lang, node)]
        return SummedOr(terms) if terms else None

    def nearness(self, nodes: list[object]) -> list[Q.Query]:
        """Bonus for each pair of neighbouring query words found close together."""
        words = [n.text for n in nodes if isinstance(n, Word) and n.field is None and not n.wildcard and not n.fuzzy]
        if len(words) < 2:
            return []
        out = []
        for lang in self.languages:
            terms = [t for w in words for t in analysis.terms(lang, w)[:1]]
            field = text_field("body", lang)
            out += [NearPair(field, [a, b], slop=NEAR_SLOP, boost=NEAR_BONUS) for a, b in zip(terms, terms[1:])]
        return out

    # -- leaves -----------------------------------------------------------------
    def roles(self, field: str | None) -> tuple[str, ...]:
        return ("title",) if field == "title" else TEXT_ROLES

    def word(self, w: Word) -> Q.Query:
        if w.field in ("location", "source", "category", "language", "date"):
            return self.meta(w)
        alts: list[Q.Query] = []
        surface = w.text.lower()
        for lang in self.languages:
            for role in self.roles(w.field):
                fname, boost = text_field(role, lang), self.boosts.get(role, 1.0)
                if w.wildcard:
                    prefix = _fold(lang, surface)
                    alts.append(Q.Prefix(fname, prefix, boost=boost))
                    continue
                terms = analysis.terms(lang, w.text)
                if not terms:
                    continue
                parts = self.parts(lang, w)
                if len(parts) > 1:  # all parts, anywhere: "Sicherheitsgarantie" ~ "Garantie für die Sicherheit"
                    alts.append(Q.And([Q.Term(fname, p) for p in parts], boost=boost * PART_QUERY_BOOST))
                if lang == "de" and len(w.text) > 4 and w.text.endswith("s"):
                    # genitive of names, which Snowball keeps: "Warschaus" -> "Warschau"
                    alts += [Q.Term(fname, t, boost=boost * GENITIVE_BOOST) for t in analysis.terms(lang, w.text[:-1])[:1]
                             if t != terms[0]]
                if w.fuzzy:
                    alts.append(_fuzzy(fname, terms[0], w.fuzzy, boost))
                elif len(terms) == 1:
                    alts.append(Q.Term(fname, terms[0], boost=boost))
                else:  # a hyphenated word: the whole, or its parts in a row
                    alts.append(SummedOr([Q.Term(fname, terms[0]), Q.Phrase(fname, terms[1:])], boost=boost))
        exact = self.boosts.get("exact", 1.0)
        if self.is_stop_word(w.text):
            return SummedOr(alts) if alts else Q.NullQuery  # "die", "wer": no surface, place or source match
        if w.field is None and exact:
            if w.wildcard:
                alts.append(Q.Prefix("exact", surface, boost=exact))
            elif w.fuzzy:
                alts.append(_fuzzy("exact", surface, w.fuzzy, exact))
            else:
                alts.append(Q.Term("exact", surface, boost=exact))
        if w.field is None and not w.fuzzy:
            loc_terms = analysis.terms("xx", w.text)
            if len(loc_terms) == 1:
                alts.append(Q.Term("loc", loc_terms[0], boost=self.boosts.get("location", 0.5)))
            alts.append(Q.Term("source", _domain(w.text), boost=self.boosts.get("sources", 0.5)))
        return SummedOr(alts) if alts else Q.NullQuery

    def is_stop_word(self, text: str) -> bool:
        """A stop word in any candidate language (a lone word still gets its other languages' terms)."""
        low = text.lower()
        return any(low in analysis.stop_words(lang) for lang in self.languages)

    @staticmethod
    def parts(lang: str, w: Word) -> list[str]:
        """A compound query word's parts, so "Stadtgründung" also finds "Gründung der Stadt"."""
        if w.wildcard or w.fuzzy:
            return []
        return [t for t in analysis.terms(lang, w.text, mode="index")[1:] if t not in analysis.terms(lang, w.text)]

    def phrase(self, p: Phrase) -> Q.Query:
        text = " ".join(p.words)
        if p.field in ("location", "source", "category", "language", "date"):
            return self.meta(Word(text, p.field))
        alts = []
        for lang in self.languages:
            terms = [t.text for t in analysis.analyzer_for(lang)(text, mode="query") if not getattr(t, "part", False)]
            if not terms:
                continue
            for role in self.roles(p.field):
                fname, boost = text_field(role, lang), self.boosts.get(role, 1.0)
                alts.append(Q.Phrase(fname, terms, boost=boost) if len(terms) > 1 else Q.Term(fname, terms[0], boost=boost))
        return SummedOr(alts) if alts else Q.NullQuery

    def meta(self, w: Word) -> Q.Query:
        value = w.text.strip()
        if w.field == "location":
            terms = analysis.terms("xx", value)
            if not terms:
                return Q.NullQuery
            if w.wildcard:
                return Q.Prefix("loc", terms[-1])
            return Q.Term("loc", terms[0]) if len(terms) == 1 else Q.Phrase("loc", terms)
        if w.field == "source":
            dom = _domain(value)
            return SummedOr([Q.Term("source", dom), Q.Prefix("source", dom + ".")]) if dom else Q.NullQuery
        if w.field == "category":
            return Q.Term("category", value.lower())
        if w.field == "language":
            return Q.Term("language", value.lower()[:2])
        if w.field == "date":
            try:
                return date_query(value)
            except BadRequest:
                return Q.NullQuery  # an unreadable date in the query text matches nothing
        return Q.NullQuery


def _fuzzy(field: str, text: str, maxdist: int, boost: float) -> Q.Query:
    return Q.FuzzyTerm(field, text, maxdist=maxdist, prefixlength=min(FUZZY_PREFIX, len(text) - 1), boost=boost)


def _fold(lang: str, text: str) -> str:
    return analysis.GermanFolder.fold(text) if lang == "de" else text


def _domain(text: str) -> str:
    text = text.strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).split("/")[0]
    return text[4:] if text.startswith("www.") else text


# -- dates --------------------------------------------------------------------
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


def date_bounds(text: str) -> tuple[datetime, datetime]:
    """The first and last instant a date, month or year stands for."""
    text = text.strip()
    m = _DATE.match(text)
    if not m:
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            raise BadRequest(f"{text!r} is not a date; use YYYY, YYYY-MM or YYYY-MM-DD", "date") from None
        return dt, dt
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    try:
        if day:
            start = datetime(year, int(month), int(day))
            return start, start + timedelta(days=1) - timedelta(microseconds=1)
        if month:
            start = datetime(year, int(month), 1)
            nxt = datetime(year + (start.month == 12), start.month % 12 + 1, 1)
            return start, nxt - timedelta(microseconds=1)
        return datetime(year, 1, 1), datetime(year + 1, 1, 1) - timedelta(microseconds=1)
    except ValueError:
        raise BadRequest(f"{text!r} is not a valid date", "date") from None


def date_query(spec: str) -> Q.Query:
    """``2024``, ``2024-03``, ``2024-01..2024-06``, ``>2024-03-01``, ``<=2024``."""
    spec = spec.strip()
    if ".." in spec:
        lo, hi = spec.split("..", 1)
        start = date_bounds(lo)[0] if lo.strip() else None
        end = date_bounds(hi)[1] if hi.strip() else None
        return Q.DateRange("date", start, end)
    m = re.match(r"^(>=|<=|>|<)(.+)$", spec)
    if m:
        op, rest = m.groups()
        lo, hi = date_bounds(rest)
        if op == ">":
            return Q.DateRange("date", hi + timedelta(microseconds=1), None)
        if op == ">=":
            return Q.DateRange("date", lo, None)
        if op == "<":
            return Q.DateRange("date", None, lo - timedelta(microseconds=1))
        return Q.DateRange("date", None, hi)
    lo, hi = date_bounds(spec)
    return Q.DateRange("date", lo, hi)
