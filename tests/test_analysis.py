"""The German chain, decompounding, language routing, the fused path and indexes written before."""
from __future__ import annotations

import unicodedata

import pytest

from search import analysis
from search.ingest.langid import detect, query_languages


def index_terms(lang: str, text: str) -> set[str]:
    return set(analysis.terms(lang, text, mode="index"))


def query_terms(lang: str, text: str) -> set[str]:
    return set(analysis.terms(lang, text))


@pytest.mark.parametrize("inflected, base", [
    ("Sicherheitsgarantien", "Sicherheitsgarantie"), ("Präsidenten", "Präsident"),
    ("Verhandlungen", "Verhandlung"), ("Krieges", "Krieg"),
])
def test_stemming_joins_inflections(inflected, base):
    assert query_terms("de", inflected) == query_terms("de", base)


def test_umlaut_and_sharp_s_folding_is_the_same_at_index_and_query_time():
    assert query_terms("de", "Präsident") == query_terms("de", "Prasident")
    assert query_terms("de", "Straße") == query_terms("de", "Strasse")
    assert query_terms("de", "äußerte") <= index_terms("de", "Er äußerte sich")


def test_nfd_input_matches_nfc_query():
    nfd = unicodedata.normalize("NFD", "Präsident")
    assert nfd != "Präsident"
    assert index_terms("de", nfd) == query_terms("de", "Präsident")


def test_stop_words_are_dropped():
    assert query_terms("de", "und der die das") == set()


def test_hyphenated_word_is_kept_whole_and_split():
    terms = index_terms("de", "Ukraine-Krieg")
    assert query_terms("de", "Ukraine") <= terms
    assert query_terms("de", "Krieg") <= terms
    assert analysis.terms("de", "Ukraine-Krieg")[0] in terms


def test_words_with_digits_are_kept():
    assert {"g7", "2024", "covid-19"} <= index_terms("de", "G7 2024 COVID-19")


@pytest.mark.parametrize("compound, queries", [
    ("Sicherheitsgarantien", ["Sicherheitsgarantie", "Garantie", "Garantien", "Sicherheit"]),
    ("Milliardenhilfen", ["Hilfe", "Milliarden"]),
    ("Waffenstillstand", ["Stillstand"]),
    ("Präsidentenmaschine", ["Maschine"]),
])
def test_compounds_are_found_by_their_parts(compound, queries):
    terms = index_terms("de", compound)
    for q in queries:
        assert query_terms("de", q) <= terms, (compound, q)


@pytest.mark.parametrize("word", ["Verhandlungen", "Entscheidung", "Gesellschaft", "Untersuchung", "Bundeskanzler"])
def test_common_words_stay_whole(word):
    assert len(index_terms("de", word)) == 1
    assert analysis.splitter().split(word.lower()) == ()


def test_compound_parts_weigh_less_than_the_whole():
    boosts = [t.boost for t in analysis.analyzer("de")("Sicherheitsgarantien", mode="index", boosts=True)]
    assert boosts[0] == 1.0 and all(b < 1.0 for b in boosts[1:]) and len(boosts) > 1


@pytest.mark.parametrize("lang, text, expected", [
    ("de", "Die Regierung hat am Mittwoch neue Gesetze beschlossen.", "de"),
    ("en", "The government approved new laws on Wednesday afternoon.", "en"),
    ("fr", "Le gouvernement a adopté de nouvelles lois mercredi.", "fr"),
    ("es", "El gobierno aprobó nuevas leyes el miércoles por la tarde.", "es"),
    ("ru", "Правительство в среду приняло новые законы.", "ru"),
    ("zh", "政府星期三通过了新的法律。", "zh"),
])
def test_language_routing(lang, text, expected):
    assert detect(text)[0] == expected
    assert analysis.language_of(expected) == lang
    assert analysis.terms(lang, text)  # the chain produces terms


def test_language_chains_differ():
    assert analysis.terms("en", "running") == ["run"]
    assert analysis.terms("fr", "présidentielle") == ["présidentiel"]
    assert analysis.terms("ru", "России") == ["росс"]
    assert analysis.terms("zh", "北京首都") == ["北京", "首都"]
    assert analysis.terms("xx", "Café") == ["cafe"]


def test_short_queries_are_not_trusted_to_detection():
    assert query_languages("Krieg", ["de", "en", "fr"]) == ["de", "en", "fr"]
    assert query_languages("When did the war in Ukraine start", ["de", "en"]) == ["en"]
    # in an archive that is nearly all German, German stays a candidate for an English question
    mostly_german = {"de": 0.99, "en": 0.01}
    assert query_languages("When did the war in Ukraine start", ["de", "en"], prior=mostly_german) == ["de", "en"]


def _demo(n: int | None = None) -> list[str]:
    """The demo archive's articles (the first ``n``)."""
    from pathlib import Path
    paths = sorted((Path(__file__).parent.parent / "index_data" / "articles").iterdir())
    return [p.read_text(encoding="utf-8") for p in paths[:n]]


SCRIPTS = ["İstanbul-İzmir Σ-ΣΟΦΙΑ x‑y‐z-x", "Cafe\u0301 Zu\u0308rich A\u0308rzte-Verband",
           "भारत की राजधानी नई-दिल्ली है", "กรุงเทพมหานครเป็นเมืองหลวง", "北京是中华人民共和国的首都，贾里德-Allen"]


def _tokens(chain, text: str, mode: str) -> list[tuple]:
    return [(t.text, t.pos, t.boost, bool(t.part)) for t in chain(text, positions=True, mode=mode)]


EDGE_CASES = [
    "Die Ukraine-Krieg-Verhandlungen in Genf: wer, wann und warum? Die Sicherheitsgarantien gelten.",
    "Straße, Präsident, Waffenstillstand -- die-Partei und der Covid‐19‐Impfstoff (2021) am 3. März",
    "", "   ", "und die der", "A-B C-D-E 12-jährige Ärzte",
]


@pytest.mark.parametrize("lang", ["de", "en", "fr", "es", "it", "ru", "hi", "zh", "th", "xx", "surface"])
@pytest.mark.parametrize("mode", ["index", "query"])
def test_fused_chain_yields_exactly_the_chains_tokens(lang, mode):
    """The schema indexes with the fused chain; queries and highlights read the composed one."""
    texts = EDGE_CASES + SCRIPTS + _demo(25)
    fused, chain = analysis.FusedChain(lang), analysis.analyzer(lang)
    if lang == "surface":
        fused, chain = analysis.surface_analyzer(), analysis.exact_analyzer()
    for text in texts:
        assert _tokens(fused, text, mode) == _tokens(chain, text, mode), text[:80]


def test_schema_formats_index_what_whoosh_would(tmp_path):
    """The fused formats hand Whoosh the same (term, frequency, weight, positions) as its own formats."""
    from whoosh.formats import Frequency, Positions

    from search.backend.whoosh.schema import build_schema
    schema = build_schema(["de", "en", "zh"])
    demo = _demo()
    texts = [(EDGE_CASES[0] + " " + EDGE_CASES[1]) * 3, "\n".join(demo), "İstanbul-İzmir Σ-ΣΟΦΙΑ ΟΔΟΣ'Α x‑y‐z-x",
             " ".join(SCRIPTS) * 2]
    for text in texts:
        for name in ("body_de", "title_en", "body_zh", "exact"):
            field = schema[name]
            plain = (Positions if name != "exact" else Frequency)(field_boost=field.format.field_boost)
            ours = sorted(field.format.word_values(text, field.analyzer, mode="index"))
            theirs = sorted(plain.word_values(text, field.analyzer, mode="index"))
            assert _same_postings(ours, theirs) and len(ours) > 3, (name, text[:40])
    # the exact field's counting (surface_counts) against the surface chain, word by word, on every demo text
    field = schema["exact"]
    for text in demo + EDGE_CASES:
        ours = sorted(field.format.word_values(text, field.analyzer, mode="index"))
        theirs = sorted(Frequency(field_boost=field.format.field_boost).word_values(text, field.analyzer, mode="index"))
        assert _same_postings(ours, theirs), text[:40]


def _same_postings(ours: list[tuple], theirs: list[tuple]) -> bool:
    """Terms, frequencies and encoded positions equal; weights summed in another order may differ
    in the last bit (0.3 + 1.0 + 0.3 against 1.0 + 2 * 0.3)."""
    return ([(t, f, v) for t, f, _, v in ours] == [(t, f, v) for t, f, _, v in theirs]
            and [w for _, _, w, _ in ours] == pytest.approx([w for _, _, w, _ in theirs], rel=1e-12))


@pytest.mark.parametrize("lang", ["de", "en", "ru", "zh", "th"])
def test_counts_are_the_tokens_counted_in_token_order(lang):
    """Signatures break ties between terms by first occurrence, so ``counts`` must keep the tokens' order."""
    from collections import Counter
    texts = EDGE_CASES + SCRIPTS + _demo()
    chain = analysis.FusedChain(lang, analysis.Vocabulary(["waffen", "stillstand", "sicherheit", "garantie"]))
    for text in texts:
        tokens = Counter(chain.postings(text, "index")[0])
        counted = chain.counts(text, "index")
        assert list(counted.items()) == list(tokens.items()), text[:40]


@pytest.mark.parametrize("lang", ["de", "en", "ru", "hi", "zh", "surface"])
def test_char_tokens_are_the_chains_tokens_with_offsets(lang):
    """Highlighting reads ``char_tokens``: the composed chain's index-mode tokens and character spans, exactly."""
    texts = EDGE_CASES + SCRIPTS + _demo()
    fused = analysis.FusedChain(lang) if lang != "surface" else analysis.surface_analyzer()
    chain = analysis.analyzer(lang) if lang != "surface" else analysis.exact_analyzer()
    for text in texts:
        theirs = [(t.text, t.startchar, t.endchar) for t in chain(text, chars=True, mode="index", start_char=7)]
        assert fused.char_tokens(text, 7) == theirs, text[:40]


@pytest.mark.parametrize("lang", ["de", "en", "th", "surface"])
def test_match_spans_are_the_matching_tokens_spans(lang):
    """Highlighting marks ``match_spans``: the spans of exactly the chain's tokens whose term matched."""
    texts = EDGE_CASES + SCRIPTS + _demo()
    fused = analysis.FusedChain(lang) if lang != "surface" else analysis.surface_analyzer()
    for text in texts:
        tokens = fused.char_tokens(text, 3)
        vocabulary = sorted({t for t, _, _ in tokens})
        for terms in ({t for i, t in enumerate(vocabulary) if i % 3 == 0}, set(vocabulary[:5]), {"garanti", "krieg"}):
            expected = sorted({(s, e) for t, s, e in tokens if t in terms})
            assert sorted(set(fused.match_spans(text, terms, 3))) == expected, text[:40]


def test_vocabularies_are_objects_and_terms_depend_only_on_theirs():
    """A word splits by the vocabulary it is analysed with, never by what else the process read."""
    bare, taught = analysis.Vocabulary(), analysis.Vocabulary()
    taught.learn(["quetschkommode", "verein"])
    word = "Quetschkommodenverein"
    assert analysis.terms("de", word, "index", bare) == analysis.terms("de", word, "query")
    assert set(analysis.terms("de", word, "index", taught)) > set(analysis.terms("de", word, "index", bare))
    analysis.learn_words(["zwiebelkuchen", "fest"])  # the shared vocabulary learns; these do not
    assert analysis.terms("de", "Zwiebelkuchenfest", "index", bare) == analysis.terms("de", "Zwiebelkuchenfest")


def test_an_index_written_before_the_analysis_package_opens_and_searches(tmp_path):
    """``tests/data/index-before-segmentation``: three articles indexed by the code of 2026-11-26,
    whose schema pickled ``search.analysis.FusedChain`` and the bigram chain."""
    import shutil
    from pathlib import Path

    from search.engine import Engine
    shutil.copytree(Path(__file__).parent / "data" / "index-before-segmentation", tmp_path / "ix")
    engine = Engine(tmp_path / "ix")
    hits = engine.search("Sicherheitsgarantie")["hits"]
    assert [h["id"] for h in hits] == ["de-1"]
    assert "<mark>Sicherheitsgarantien</mark>" in hits[0]["highlights"]["body"][0]
    assert engine.suggest("Bahn") == ["Bahnstreik"]
    stale = engine.backend.view().stale_fields()  # fields with documents an older analysis indexed
    assert {"body_zh", "body_hi", "body_de"} <= set(stale) and "body_en" not in stale  # German: plurals
    engine.close()


def test_adding_to_an_index_with_stale_languages_is_refused_with_the_rebuild_command(tmp_path):
    """New articles would get terms the old ones in the same field lack: the indexer says how to rebuild,
    and the index stays as it was."""
    import shutil
    from pathlib import Path

    from search.config import load_config
    from search.engine import Engine
    from search.errors import StichwortError
    from search.index.indexer import Indexer
    shutil.copytree(Path(__file__).parent / "data" / "index-before-segmentation", tmp_path / "ix")
    config = load_config(index_dir=tmp_path / "ix")
    article = {"id": "de-2", "title": "Bahnstreik", "body": "Die Bahn streikt.", "language": "de"}
    with pytest.raises(StichwortError, match=r"de, hi, zh articles .*stichwort index --rebuild"):
        Indexer(config).index_articles([article], origin="test")
    engine = Engine(tmp_path / "ix", config)
    assert engine.search("")["total"]["value"] == 3 and engine.get("zh-1")["id"] == "zh-1"
    engine.close()
