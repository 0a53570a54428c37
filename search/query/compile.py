"""Turns a parsed query tree into a plan (``search.query.plan``) over the per-language fields.

Each free-text word becomes, for every candidate language, its analysed term in
that language's title/teaser/body fields (boosted per config), plus its surface
form in ``exact`` so an exact match outranks a stem- or part-only one.
Juxtaposed words are summed, with a bonus for documents that have all of them
(``AllWords``) and one for neighbouring words found close together (``Near``).
A compound query word matches the compound in its inflections (one term: the
German chain joins "Impfzentrum" and "Impfzentren"), never its parts alone:
parts are indexed at their compound's position, so "Testzentren und mobile
Impfteams" has them side by side too.  Parts only add score to documents that
match otherwise ("Gründung der Stadt" for "Stadtgründung Rom").

Field prefixes for metadata (``datum:``, ``quelle:``, ``ort:``, ``kategorie:``,
``sprache:``) are filters: they restrict the results and the rest of the query
ranks within them; ``-quelle:x`` excludes.  Values of one field are alternatives
(``quelle:zeit.de quelle:spiegel.de``), different fields must all hold.
"""
from __future__ import annotations

import re
from typing import Protocol

from search import analysis
from search.errors import BadRequest
from search.index.fields import LOCATION_WORDS, SURFACE_FIELD, TEXT_ROLES, text_field
from search.query import plan as P
from search.query.dates import date_range
from search.query.parse import AnyOf, Clause, Group, Phrase, Word

ALL_BONUS = 2.0
NEAR_BONUS = 0.3
NEAR_SLOP = 8
PART_QUERY_BOOST = 0.55
GENITIVE_BOOST = 0.6
SCORED_EXPANSIONS = 16  # of a wildcard's words, the most frequent are searched in every field, the rest in exact
FUZZY_PREFIX = 2  # "Selenski~" scans only the words starting "se": typos rarely hit the first letters
META_FIELDS = ("location", "source", "category", "language", "date")


class Vocabulary(Protocol):
    """The index's surface words, for wildcard and fuzzy words (``search.backend.searching.View``)."""

    def top_prefix_terms(self, field: str, prefix: str, limit: int) -> list[str]: ...
    def top_terms_within(self, field: str, text: str, maxdist: int, prefix: int, limit: int) -> list[str]: ...


class Compiler:
    """Compiles query trees for the candidate ``languages`` with the configured field ``boosts``.

    A wildcard or fuzzy word stands for the index's surface words it covers (``vocabulary``): the
    ``max_expansions`` most frequent of them, each searched as if typed; ``notes`` says when there were more.
    """

    def __init__(self, languages: list[str], boosts: dict[str, float], vocabulary: Vocabulary | None = None,
                 max_expansions: int = 200, notes: list[str] | None = None,
                 analysed: dict[tuple[str, str, str], list[str]] | None = None):
        self.languages = languages
        self.analysed = analysed if analysed is not None else {}  # (lang, text, mode) -> terms, shared per commit
        self.boosts = boosts
        self.vocabulary = vocabulary
        self.max_expansions = max_expansions
        self.notes = notes if notes is not None else []
        #: What the highlighter marks: the query words' whole-word terms (never their compound parts) and
        #: surface forms, filled by ``compile``.
        self.marks: set[str] = set()
        self.surfaces: set[str] = set()

    def compile(self, node: object) -> P.Node:
        if isinstance(node, AnyOf):
            return _sum([self.compile(o) for o in node.options])
        if isinstance(node, Group):
            return self.group(node)
        if isinstance(node, Word):
            return self.word(node) if node.field not in META_FIELDS else self.meta(node)
        if isinstance(node, Phrase):
            return self.phrase(node) if node.field not in META_FIELDS else self.meta(Word(" ".join(node.words),
                                                                                          node.field))
        return P.Nothing()

    # -- tree -----------------------------------------------------------------------------------------------
    def group(self, group: Group) -> P.Node:
        group = Group(_segmented(group.clauses))
        scored = [c for c in group.clauses if not _is_meta(c.node)]
        must = [self.compile(c.node) for c in scored if c.occur == "must"]
        should = [self.compile(c.node) for c in scored if c.occur == "should"]
        nots = [self.compile(c.node) for c in scored if c.occur == "not"]
        if len(should) > 1:  # every word read once; documents with all of them rank above those with some
            near = self.nearness([c.node for c in scored if c.occur == "should"])
            should = [_sum([P.AllWords(tuple(should), bonus=ALL_BONUS)] + near)]
        parts = self.part_bonus([c.node for c in scored if c.occur != "not"])
        if should and parts is not None:  # compound parts add score to matches, never matches of their own
            should = [P.Boosted(should[0], parts)]
        if must:
            result: P.Node = P.All(tuple(must)) if len(must) > 1 else must[0]
            if should:
                result = P.Boosted(result, should[0])
        elif should:
            result = should[0]
        else:
            result = P.Every()
        if nots:
            result = P.Exclude(result, _sum(nots))
        return self.filters(result, [c for c in group.clauses if _is_meta(c.node)])

    def filters(self, result: P.Node, clauses: list[Clause]) -> P.Node:
        """Metadata clauses as filters: alternatives within a field, every field required."""
        must: dict[str, list[P.Node]] = {}
        must_not: list[P.Node] = []
        for clause in clauses:
            node = self.compile(clause.node)
            if clause.occur == "not":
                must_not.append(node)
            else:
                meta = clause.node
                assert isinstance(meta, (Word, Phrase)) and meta.field is not None  # only metadata clauses come here
                must.setdefault(meta.field, []).append(node)
        if not must and not must_not:
            return result
        return P.Filter(result, tuple(_sum(alts) for alts in must.values()), tuple(must_not))

    def part_bonus(self, nodes: list[object]) -> P.Node | None:
        """Single parts of compound query words: "Stadtgründung" also rewards "Gründung der Stadt"."""
        terms: list[P.Node] = []
        for node in nodes:
            if isinstance(node, Word) and node.field in (None, "title"):
                for lang in self.languages:
                    for role in self.roles(node.field):
                        fname, boost = text_field(role, lang), self.boosts.get(role, 1.0)
                        terms += [P.Term(fname, p, boost * PART_QUERY_BOOST) for p in self.parts(lang, node)]
        return _sum(terms) if terms else None

    def nearness(self, nodes: list[object]) -> list[P.Node]:
        """Bonus for each pair of neighbouring query words found close together."""
        words = [n.text for n in nodes if isinstance(n, Word) and n.field is None and not n.wildcard and not n.fuzzy]
        if len(words) < 2:
            return []
        out: list[P.Node] = []
        for lang in self.languages:
            terms = [t for w in words for t in self.terms(lang, w)[:1]]
            field = text_field("body", lang)
            out += [P.Near(field, a, b, NEAR_SLOP, NEAR_BONUS) for a, b in zip(terms, terms[1:])]
        return out

    # -- leaves ---------------------------------------------------------------------------------------------
    def roles(self, field: str | None) -> tuple[str, ...]:
        return ("title",) if field == "title" else TEXT_ROLES

    def word(self, w: Word) -> P.Node:
        if w.wildcard or w.fuzzy:
            return self.expanded(w)
        alts: list[P.Node] = []
        surface = w.text.lower()
        for lang in self.languages:
            for role in self.roles(w.field):
                fname, boost = text_field(role, lang), self.boosts.get(role, 1.0)
                terms = self.terms(lang, w.text)
                if not terms:
                    continue
                self.marks.update(terms)
                if lang == "de" and len(w.text) > 4 and w.text.endswith("s"):
                    # genitive of names, which Snowball keeps: "Warschaus" -> "Warschau"
                    alts += [P.Term(fname, t, boost * GENITIVE_BOOST) for t in self.terms(lang, w.text[:-1])[:1]
                             if t != terms[0]]
                if len(terms) == 1:
                    alts.append(P.Term(fname, terms[0], boost))
                else:  # a hyphenated word: the whole, or its parts in a row
                    alts.append(P.Sum((P.Term(fname, terms[0]), P.Phrase(fname, tuple(terms[1:]))), boost))
        exact = self.boosts.get("exact", 1.0)
        if self.is_stop_word(w.text):
            return _sum(alts)  # "die", "wer": no surface, place or source match
        if w.field is None and exact:
            alts.append(P.Term(SURFACE_FIELD, surface, exact))
            self.surfaces.add(surface)
        if w.field is None:
            loc_terms = self.terms(analysis.NEUTRAL, w.text)
            if len(loc_terms) == 1:
                alts.append(P.Term(LOCATION_WORDS, loc_terms[0], self.boosts.get("location", 0.5)))
            alts.append(P.Term("source", _domain(w.text), self.boosts.get("sources", 0.5)))
        return _sum(alts)

    def terms(self, lang: str, text: str, mode: str = "query") -> list[str]:
        """``analysis.terms``, remembered: a query's words are analysed for several fields and bonuses."""
        key = (lang, text, mode)
        found = self.analysed.get(key)
        if found is None:
            if len(self.analysed) > 200_000:
                self.analysed.clear()
            found = self.analysed[key] = analysis.terms(lang, text, mode=mode)
        return found

    def expanded(self, w: Word) -> P.Node:
        """A wildcard or fuzzy word: the surface words it covers, their terms in every candidate language."""
        surface = w.text.lower()
        limit = self.max_expansions
        if self.vocabulary is None:
            return P.Nothing()
        if w.wildcard:
            words = self.vocabulary.top_prefix_terms(SURFACE_FIELD, surface, limit + 1)
        else:
            words = self.vocabulary.top_terms_within(SURFACE_FIELD, surface, w.fuzzy,
                                                     min(FUZZY_PREFIX, len(surface) - 1), limit + 1)
        if len(words) > limit:
            words = words[:limit]
            self.notes.append(f"{w.text}{'*' if w.wildcard else '~'}: only the {limit} most frequent of the words "
                              "it stands for were searched")
        alts: list[P.Node] = []
        scored = words[:SCORED_EXPANSIONS]  # the rest only match (through their surface form)
        for lang in self.languages:
            stems = list(dict.fromkeys(t for word in scored for t in self.terms(lang, word)[:1]))
            self.marks.update(stems)
            for role in self.roles(w.field):
                fname, boost = text_field(role, lang), self.boosts.get(role, 1.0)
                alts += [P.Term(fname, stem, boost) for stem in stems]
        exact = self.boosts.get("exact", 1.0)
        if w.field is None:
            alts += [P.Term(SURFACE_FIELD, word, exact) for word in words]
            self.surfaces.update(words)
        return _sum(alts)

    def is_stop_word(self, text: str) -> bool:
        """A stop word in any candidate language (a lone word still gets its other languages' terms)."""
        low = text.lower()
        return any(low in analysis.stop_words(lang) for lang in self.languages)

    def parts(self, lang: str, w: Word) -> list[str]:
        """A compound query word's parts, so "Stadtgründung" also finds "Gründung der Stadt"."""
        if w.wildcard or w.fuzzy:
            return []
        whole = self.terms(lang, w.text)
        return [t for t in self.terms(lang, w.text, mode="index")[1:] if t not in whole]

    def phrase(self, p: Phrase) -> P.Node:
        text = " ".join(p.words)
        alts: list[P.Node] = []
        for lang in self.languages:
            terms = [t.text for t in analysis.analyzer_for(lang)(text, mode="query") if not getattr(t, "part", False)]
            if not terms:
                continue
            self.marks.update(terms)
            for role in self.roles(p.field):
                fname, boost = text_field(role, lang), self.boosts.get(role, 1.0)
                alts.append(P.Phrase(fname, tuple(terms), 1, boost) if len(terms) > 1
                            else P.Term(fname, terms[0], boost))
        return _sum(alts)

    def meta(self, w: Word) -> P.Node:
        """A metadata value as a filter node."""
        value = w.text.strip()
        if w.field == "location":
            terms = self.terms(analysis.NEUTRAL, value)
            if not terms:
                return P.Nothing()
            if w.wildcard:
                return P.Prefix(LOCATION_WORDS, terms[-1])
            return P.Term(LOCATION_WORDS, terms[0]) if len(terms) == 1 else P.Phrase(LOCATION_WORDS, tuple(terms))
        if w.field == "source":
            dom = _domain(value)
            return P.Value("source", (dom,)) if dom else P.Nothing()
        if w.field == "category":
            return P.Value("category", (value.lower(),))
        if w.field == "language":
            return P.Value("language", (value.lower()[:2],))
        if w.field == "date":
            try:
                return date_range(value)
            except BadRequest as exc:  # an unreadable date in the query text matches nothing, and says so
                self.notes.append(f"datum:{value[:40]}: {exc.reason}")
                return P.Nothing()
        return P.Nothing()


def _segmented(clauses: list[Clause]) -> list[Clause]:
    """A word in a script written without spaces stands for the words the segmenter finds in it
    (``analysis.query_words``): juxtaposed words, or a phrase where it must (not) occur."""
    out = []
    for c in clauses:
        node = c.node
        if isinstance(node, Word) and not node.wildcard and not node.fuzzy and node.field in (None, "title"):
            pieces = analysis.query_words(node.text)
            if len(pieces) > 1:
                if c.occur == "should":
                    out += [Clause(Word(p, node.field), "should") for p in pieces]
                else:
                    out.append(Clause(Phrase(pieces, node.field), c.occur))
                continue
        out.append(c)
    return out


def _is_meta(node: object) -> bool:
    return isinstance(node, (Word, Phrase)) and node.field in META_FIELDS


def _sum(nodes: list[P.Node]) -> P.Node:
    nodes = [n for n in nodes if not isinstance(n, P.Nothing)]
    if not nodes:
        return P.Nothing()
    return nodes[0] if len(nodes) == 1 else P.Sum(tuple(nodes))


def _domain(text: str) -> str:
    text = text.strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).split("/")[0]
    return text[4:] if text.startswith("www.") else text
