"""Every script: whole words come out, highlights mark whole words, and a mixed index finds each
language's paragraph for its questions."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from search import analysis
from search.ingest.langid import query_languages
from search.results import highlight

XQUAD = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "xquad-dev"


def surface(text: str) -> list[str]:
    return analysis.terms(analysis.SURFACE, text, mode="index")


@pytest.mark.parametrize("text, words", [
    ("भारत की राजधानी नई दिल्ली है", ["भारत", "की", "राजधानी", "नई", "दिल्ली", "है"]),
    ("กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย", ["กรุงเทพมหานคร", "เป็น", "เมือง", "หลวง", "ของ", "ประเทศไทย"]),
    ("北京是中华人民共和国的首都", ["北京", "是", "中华", "人民", "共和国", "的", "首都"]),
    ("東京は日本の首都です", ["東京", "は", "日本", "の", "首都", "です"]),
    ("مُحَمَّد رسول", ["مُحَمَّد", "رسول"]),
    ("Ο Jared Allen είχε 136 sacks", ["ο", "jared", "allen", "είχε", "136", "sacks"]),
    ("Köln-Deutz und 北京-Reise", ["köln-deutz", "köln", "deutz", "und", "北京", "reise"]),
])
def test_whole_words_come_out(text, words):
    assert surface(text) == words


def test_each_language_stems_whole_words():
    assert analysis.terms("hi", "भारत की राजधानी") == ["भारत", "राजधान"]  # "की": a stop word; suffixes, not letters
    assert analysis.terms("el", "Πόσους πόντους") == ["ποσ", "ποντ"]
    assert analysis.terms("ar", "البانثرز") == ["بانثرز"]
    assert analysis.terms("tr", "kariyerinde") == ["kariyer"]
    assert analysis.terms("zh", "ＣＯＶＩＤ１９疫苗") == ["covid19", "疫苗"]  # full-width forms read as usual


def test_dictionary_misses_become_bigrams():
    """A name the dictionary lacks comes out as single characters; they are indexed as bigrams, so
    the name is still found whole (as its bigrams, in a row)."""
    assert analysis.terms("zh", "贾里德") == ["贾里", "里德"]


def test_query_words_in_scripts_without_spaces_are_the_segmenters():
    assert analysis.query_words("黑豹队的防守") == [w for w in analysis.terms("zh", "黑豹队的防守")]
    assert analysis.query_words("Genf") == ["Genf"]


@pytest.mark.parametrize("lang, text, query, marked", [
    ("hi", "भारत की राजधानी नई दिल्ली है।", "राजधानी", ["राजधानी"]),
    ("th", "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย", "เมืองหลวง", ["เมืองหลวง"]),  # adjacent words: one mark
    ("zh", "北京是中华人民共和国的首都。", "首都", ["首都"]),
    ("ar", "القاهرة هي عاصمة مصر", "عاصمة", ["عاصمة"]),
    ("el", "Πόσους πόντους παρέδωσε η άμυνα", "πόντους", ["πόντους"]),  # a stem without accents
    ("xx", "Đội Panthers đã để thua bao nhiêu điểm", "điểm", ["điểm"]),
])
def test_highlights_mark_whole_words(lang, text, query, marked):
    terms = {t for w in analysis.query_words(query) for t in analysis.terms(lang, w)}
    doc = {"language": lang, "title": text, "body": ""}
    title = highlight.highlight(doc, highlight.Marks(terms=terms))["title"][0]
    assert [part.split("</mark>")[0] for part in title.split("<mark>")[1:]] == marked


@pytest.mark.parametrize("text, expected", [
    ("ทีมรับของแพนเธอร์สยอมแพ้ที่คะแนนเท่าไร", ["th"]),
    ("黑豹队的防守丢了多少分？", ["zh"]),
    ("Πόσους πόντους παρέδωσε η άμυνα των Πάνθερς;", ["el"]),
    ("पैंथर्स डिफ़ेंस ने कितने अंक दिए?", ["hi"]),
    ("Câte puncte a cedat apărarea echipei Panthers?", ["ro"]),
])
def test_a_query_is_analysed_in_the_languages_it_may_be_in(text, expected):
    available = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "xx", "zh"]
    prior = {lang: 1 / 12 for lang in ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]}
    assert query_languages(text, available, prior=prior) == expected


def test_a_short_query_keeps_every_language_of_its_script():
    available = ["de", "el", "en", "fr", "th", "xx"]
    assert query_languages("Krieg", available) == ["de", "en", "fr", "xx"]
    assert query_languages("Πάνθερς", available) == ["el", "xx"]


LANGS = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]


@pytest.fixture(scope="module")
def mixed_engine(tmp_path_factory):
    """Four XQuAD dev paragraphs per language, all twelve languages in one index."""
    if not XQUAD.is_dir():
        pytest.skip(f"{XQUAD} is absent: the XQuAD dev split lives in ../shared/data")
    from search.config import load_config
    from search.engine import Engine
    from search.evaluate import _article, load_jsonl
    from search.index.indexer import Indexer
    index_dir = tmp_path_factory.mktemp("mixed")
    config = load_config(index_dir=index_dir)
    articles = [_article(obj) for lang in LANGS for obj in list(load_jsonl(XQUAD / lang / "corpus.jsonl"))[:4]]
    Indexer(config).index_articles(articles, origin="test")
    engine = Engine(index_dir, config)
    yield engine
    engine.close()


@pytest.mark.parametrize("lang", LANGS)
def test_questions_find_their_paragraph_in_a_mixed_index(mixed_engine, lang):
    kept = {f"{lang}-00-{i}" for i in range(4)}
    queries = [q for q in (json.loads(line) for line in (XQUAD / lang / "queries.jsonl").open(encoding="utf-8"))
               if q["relevant"][0] in kept]
    first = 0
    for q in queries:
        hits = [h["id"] for h in mixed_engine.search(q["query"], size=10, highlight=False)["hits"]]
        first += bool(hits) and hits[0] == q["relevant"][0]
    assert first >= 0.75 * len(queries), (lang, first, len(queries))


def test_a_thai_question_gets_whole_word_marks_in_a_mixed_index(mixed_engine):
    hit = mixed_engine.search("ทีมรับของแพนเธอร์สยอมแพ้ที่คะแนนเท่าไร", size=1)["hits"][0]
    marked = [part.split("</mark>")[0] for frag in hit["highlights"]["body"] for part in frag.split("<mark>")[1:]]
    words = set(surface(mixed_engine.get(hit["id"])["body"]))
    assert marked and all(_whole_words(m, words) for m in marked), marked


def _whole_words(text: str, words: set[str]) -> bool:
    """Whether ``text`` is words of ``words`` one after the other (adjacent marks merge)."""
    ends = {0}
    for i in range(1, len(text) + 1):
        if any(text[j:i] in words for j in ends if j < i):
            ends.add(i)
    return len(text) in ends


@pytest.mark.parametrize("lang, shortest", [("hi", 4), ("th", 4), ("zh", 3)])
def test_autocomplete_and_did_you_mean_use_whole_words(mixed_engine, lang, shortest):
    """A Hindi word with its vowel signs, a Thai or Chinese word as segmented: completed from its
    start (stop words are never completions); a misspelt Hindi word gets a whole word of the index
    as its correction."""
    stops = analysis.stop_words(lang)
    words: dict[str, int] = {}
    for i in range(4):
        for w in surface(mixed_engine.get(f"{lang}-00-{i}")["body"]):
            words[w] = words.get(w, 0) + 1
    word = max((w for w in words if len(w) >= shortest and not w.isdigit() and w not in stops),
               key=lambda w: (words[w], len(w)))
    assert word in mixed_engine.suggest(word[:-1])
    if lang == "hi":
        misspelt = word[:-2] + word[-1] + word[-2]  # the last two letters swapped
        suggestion = mixed_engine.search(misspelt)["suggestion"]
        assert suggestion and suggestion in words, (misspelt, suggestion)
