"""Properties of the query language, with generated input (Hypothesis).

* Any text a reader can type parses, compiles and searches without an exception.
* Every well-formed query tree is written back as text that parses to the same tree.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.query.parse import (
    MAX_EXPANDING,
    MAX_WORDS,
    AnyOf,
    Clause,
    Group,
    Phrase,
    Word,
    _words,
    parse,
    unparse,
)

LETTERS = "abcdefghijklmnopqrstuvwxyzäöüßABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜéçñ"
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

words = st.text(LETTERS + "0123456789", min_size=2, max_size=12).filter(
    lambda w: w.upper() not in ("AND", "OR", "NOT", "UND", "ODER", "NICHT") and w[0].isalpha())
plain = st.builds(Word, words)
fielded = st.builds(Word, words, st.sampled_from(["title", "location", "category"]))
wild = st.builds(Word, words, st.none(), st.just(True))
fuzzy = st.builds(Word, words, st.none(), st.just(False), st.sampled_from([1, 2]))
phrase = st.builds(Phrase, st.lists(words, min_size=2, max_size=4))
leaf = st.one_of(plain, fielded, wild, fuzzy, phrase)


def _group(nodes):
    return st.builds(Group, st.lists(st.builds(Clause, nodes, st.sampled_from(["should", "must", "not"])),
                                     min_size=1, max_size=4))


def _extend(inner):
    """A tree as the parser builds them: groups of clauses; ``OR`` between groups; parentheses around
    a group or an ``OR`` inside a clause."""
    any_of = st.builds(AnyOf, st.lists(_group(st.one_of(leaf, inner)), min_size=2, max_size=3))
    return st.one_of(_group(st.one_of(leaf, inner, any_of)), any_of)


def _within_limits(tree) -> bool:
    """The parser's limits (a few wildcard/fuzzy words, ``MAX_WORDS``) are normalisation, with a note."""
    found = list(_words(tree))
    return (sum(1 for w in found if w.wildcard or w.fuzzy) <= MAX_EXPANDING
            and len(found) + _phrase_words(tree) <= MAX_WORDS)


def _phrase_words(node) -> int:
    """Words inside phrases, which count towards ``MAX_WORDS`` as well."""
    if isinstance(node, Phrase):
        return len(node.words)
    if isinstance(node, Clause):
        return _phrase_words(node.node)
    if isinstance(node, Group):
        return sum(_phrase_words(c) for c in node.clauses)
    if isinstance(node, AnyOf):
        return sum(_phrase_words(o) for o in node.options)
    return 0


trees = st.recursive(_group(leaf), _extend, max_leaves=10).filter(_within_limits)


@SETTINGS
@given(st.text(max_size=300))
def test_any_text_parses_compiles_and_searches(engine, text):
    tree, notes = parse(text)
    assert isinstance(notes, list)
    result = engine.search(text, size=3)
    assert result["total"]["value"] >= 0 and len(result["hits"]) <= 3


@SETTINGS
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_any_unicode_parses(text):
    tree, _ = parse(text)
    assert tree is not None


@SETTINGS
@given(trees)
def test_well_formed_trees_round_trip(tree):
    text = unparse(tree)
    again, notes = parse(text)
    assert again == tree, (text, again)
    assert unparse(again) == text
