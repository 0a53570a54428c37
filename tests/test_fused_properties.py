"""Property tests: the fused fast path is the composed chain, for arbitrary text in every script."""
from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import analysis

LANGS = ["de", "en", "ru", "el", "tr", "hi", "ar", "ro", "zh", "ja", "th", "xx", "surface"]

#: Pieces of text that meet every branch of the tokenizer: hyphens, digits, German compounds and
#: umlauts, combining marks (standalone too), Turkish İ and Greek Σ (which lower-case by context),
#: scripts without spaces, full-width forms, emoji with a variation selector.
FRAGMENTS = [
    "Sicherheitsgarantien", "Waffenstillstand", "Ukraine-Krieg", "COVID-19", "die", "und", "Straße", "Präsident",
    "Ärzte-Verband", "x‑y‐z", "-", " ", "  ", "\n", ", ", ". ", "'", "(", "2024", "G7",
    "भारत", "की", "राजधानी", "दिल्ली", "ड़", "\u093c", "\u0301", "e\u0301", "Zu\u0308rich",
    "กรุงเทพมหานคร", "เป็น", "ไม่ใช่", "ประเทศไทย", "北京", "中华人民共和国", "的", "首都", "贾里德", "𠀋",
    "東京", "は", "ｶﾀｶﾅ", "ひらがな", "ＣＯＶＩＤ１９", "مُحَمَّد", "البانثرز", "Σ", "ΣΟΦΙΑ", "Πόσα", "ΟΔΟΣ",
    "İstanbul", "Işık", "ştiinţific", "Việt", "☺\ufe0f", "_", "ǅ", "ﬁ", "ab", "x-", "12",
]
texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=25).map("".join)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VOCABULARY = analysis.Vocabulary(["waffen", "stillstand", "sicherheit", "garantie", "ärzte", "verband"])


def _pair(lang: str):
    if lang == "surface":
        return analysis.surface_analyzer(), analysis.exact_analyzer()
    fused = analysis.FusedChain(lang, VOCABULARY)
    chain = analysis.analyzer(lang)
    for step in chain.items:
        if isinstance(step, analysis.DecompoundFilter):
            step.vocabulary = VOCABULARY
    return fused, chain


def _tokens(chain, text: str, mode: str) -> list[tuple]:
    return [(t.text, t.pos, t.boost, bool(t.part)) for t in chain(text, positions=True, mode=mode)]


@pytest.mark.parametrize("lang", LANGS)
@SETTINGS
@given(text=texts)
def test_fused_tokens_are_the_chains_tokens(lang, text):
    fused, chain = _pair(lang)
    for mode in ("index", "query"):
        assert _tokens(fused, text, mode) == _tokens(chain, text, mode)


@pytest.mark.parametrize("lang", LANGS)
@SETTINGS
@given(text=texts)
def test_fused_offsets_and_marks_are_the_chains(lang, text):
    fused, chain = _pair(lang)
    theirs = [(t.text, t.startchar, t.endchar) for t in chain(text, chars=True, mode="index", start_char=5)]
    assert fused.char_tokens(text, 5) == theirs
    vocabulary = sorted({t for t, _, _ in theirs})
    for terms in (set(vocabulary[::2]), set(vocabulary[1::3])):
        expected = sorted({(s, e) for t, s, e in theirs if t in terms})
        assert sorted(set(fused.match_spans(text, terms, 5))) == expected


@pytest.mark.parametrize("lang", LANGS)
@SETTINGS
@given(text=texts)
def test_tally_and_counts_are_the_postings_counted(lang, text):
    fused, _ = _pair(lang)
    texts_, positions, parts = fused.postings(text, "index")
    poses: dict[str, list[int]] = {}
    weights: dict[str, float] = {}
    for term, pos, part in zip(texts_, positions, parts):
        poses.setdefault(term, []).append(pos)
        weights[term] = weights.get(term, 0.0) + (analysis.PART_BOOST if part is None else 1.0)
    ours_poses, ours_weights = fused.tally(text, "index")
    assert ours_poses == poses
    assert ours_weights == pytest.approx(weights, rel=1e-12)
    assert list(fused.counts(text, "index").items()) == list(Counter(texts_).items())


@SETTINGS
@given(text=texts)
def test_word_spans_are_where_their_words_are(text):
    for word, start in analysis.word_spans(text):
        assert text[start:start + len(word)] == word


@SETTINGS
@given(text=texts)
def test_surface_counts_are_the_surface_chains_tokens(text):
    counts = analysis.surface_counts(text)
    if counts is not None:
        assert counts == Counter(t.text for t in analysis.exact_analyzer()(text))
