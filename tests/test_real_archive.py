"""What readers see on a real archive: the 12,000 FANG-COVID articles (``../shared/data``), indexed once
with the default configuration (about a minute and a half).

Field prefixes filter, a compound matches in its inflections (never through its parts alone), a prefix
finds every word it starts, marks mean "this word matched", did-you-mean and autocomplete prefer what the
archive says most, and same-story groups are one story each (a hand-labelled sample, kept as ids in
``tests/data/fang_story_sample.json``).  Skipped with a reason where ``../shared`` is absent.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import shared_data

pytestmark = pytest.mark.slow
SAMPLE = Path(__file__).parent / "data" / "fang_story_sample.json"
MARK = re.compile(r"<mark>(.*?)</mark>")


@pytest.fixture(scope="module")
def corpus() -> Path:
    return shared_data("fang-covid-de", "corpus.jsonl")


@pytest.fixture(scope="module")
def articles(corpus) -> dict[str, dict]:
    with corpus.open(encoding="utf-8") as f:
        return {a["id"]: a for a in map(json.loads, f)}


@pytest.fixture(scope="module")
def fang(corpus, tmp_path_factory):
    from search.config import load_config
    from search.engine import Engine
    from search.index.indexer import Indexer
    index_dir = tmp_path_factory.mktemp("fang")
    summary = Indexer(load_config(index_dir=index_dir)).index_paths([corpus])
    assert summary.added == 12000 and summary.failed == 0, summary.failures[:3]
    engine = Engine(index_dir)
    yield engine
    engine.close()


def every_hit(engine, q: str, **kw) -> list[dict]:
    """All hits of a search, page after page by cursor."""
    hits: list[dict] = []
    cursor = None
    while True:
        r = engine.search(q, size=100, cursor=cursor, highlight=False, **kw)
        hits += r["hits"]
        cursor = r["next_cursor"]
        if not cursor or not r["hits"]:
            return hits


def text_of(article: dict) -> str:
    return f"{article.get('title', '')}\n{article.get('teaser', '')}\n{article.get('body', '')}"


def test_field_prefixes_restrict_and_rank_within(fang):
    lockdown = fang.search("Lockdown", size=1)["total"]["value"]
    march = every_hit(fang, "datum:2020-03 Lockdown")
    assert 0 < len(march) < lockdown
    assert all(h["date"].startswith("2020-03") for h in march)
    zeit = every_hit(fang, "quelle:zeit.de Maskenpflicht")
    assert zeit and all("zeit.de" in h["sources"] for h in zeit)
    others = every_hit(fang, "-quelle:zeit.de Maskenpflicht")
    assert others and not any("zeit.de" in h["sources"] for h in others)
    assert len(zeit) + len(others) == fang.search("Maskenpflicht", size=1)["total"]["value"]


def test_a_compound_finds_its_plural_and_never_its_parts_alone(fang, articles):
    found = {h["id"] for h in every_hit(fang, "Impfzentrum")}
    only_plural = {i for i, a in articles.items()
                   if re.search(r"impfzentren", text_of(a), re.I) and not re.search(r"impfzentrum", text_of(a), re.I)}
    assert len(only_plural) > 50 and only_plural <= found
    inflected = re.compile(r"impfzentr(um|ums|en)\b", re.I)
    top = fang.search("Impfzentrum", size=10, highlight=False)["hits"]
    assert len(top) == 10 and all(inflected.search(text_of(articles[h["id"]])) for h in top)


def test_a_prefix_finds_every_word_it_starts(fang, articles):
    starts = {i for i, a in articles.items() if re.search(r"\bimpfzentrum", text_of(a), re.I)}
    assert len(starts) > 50
    assert starts <= {h["id"] for h in every_hit(fang, "Impfzentrum*")}


@pytest.mark.parametrize("query, marked", [
    ("Kurzarbeit", r"kurzarbeit"), ("Lockdown", r"lockdown"), ("Impfzentrum", r"impfzentr"),
    ("Maskenpflicht", r"maskenpflicht"),
])
def test_marks_are_words_that_matched(fang, query, marked):
    words = [w for h in fang.search(query, size=20)["hits"] for snippet in h["highlights"].values()
             for s in snippet for w in MARK.findall(s)]
    assert words, f"{query}: nothing marked"
    stray = sorted({w for w in words if not re.search(marked, w, re.I)})
    assert not stray, f"{query} marked words that do not match it: {stray}"


def test_did_you_mean_and_autocomplete_prefer_what_the_archive_says(fang):
    assert fang.search("Maskenplficht Berlin", size=1)["suggestion"] == "Maskenpflicht Berlin"
    assert fang.search("Biontek", size=1)["suggestion"] == "Biontech"
    assert fang.suggest("Ukr")[0] == "Ukraine"
    assert fang.suggest("Impfzentrum Ber")[0] == "Impfzentrum Berlin"


@pytest.fixture(scope="module")
def stories(fang) -> dict[str, set[str]]:
    """Every story of the archive: story id -> article ids."""
    groups: dict[str, set[str]] = defaultdict(set)
    for hit in every_hit(fang, ""):
        groups[hit["story_id"]].add(hit["id"])
    assert sum(map(len, groups.values())) == 12000
    return groups


def test_stories_stay_stories(stories):
    sizes = sorted((len(g) for g in stories.values() if len(g) > 1), reverse=True)
    assert sizes and max(sizes) <= 12, sizes[:5]


def test_copies_are_one_story(stories, articles):
    by_body: dict[str, list[str]] = defaultdict(list)
    for doc_id, a in articles.items():
        if len(a.get("body", "")) >= 200:
            by_body[" ".join(a["body"].split())].append(doc_id)
    copies = [ids for ids in by_body.values() if len(ids) > 1]
    story_of = {doc_id: story for story, ids in stories.items() for doc_id in ids}
    assert copies
    assert [ids for ids in copies if len({story_of[i] for i in ids}) > 1] == []


def test_the_labelled_sample_is_still_how_stories_group(stories):
    """The groups of the labelled sample are formed exactly as they were when labelled (else re-label),
    and at least 95 % of them are one story each."""
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))["groups"]
    story_of = {doc_id: story for story, ids in stories.items() for doc_id in ids}
    changed = [g["ids"] for g in sample if stories[story_of[g["ids"][0]]] != set(g["ids"])]
    assert not changed, f"{len(changed)} labelled groups formed differently: re-label {SAMPLE.name}"
    assert len(sample) == 50 and sum(g["pure"] for g in sample) / len(sample) >= 0.95


def test_copies_are_listed_once_among_the_same_story(fang, stories, articles):
    """One URL exported several times is one report: "Gleiche Meldung bei" does not repeat it, nor list the
    article's own copies."""
    urls: dict[str, list[str]] = defaultdict(list)
    for doc_id, a in articles.items():
        if a.get("url"):
            urls[a["url"]].append(doc_id)
    copied = max(urls.values(), key=len)
    assert len(copied) >= 4
    same = fang.related(copied[0])["same_story"]
    assert all(h["url"] != articles[copied[0]]["url"] for h in same)
    assert len({h["url"] for h in same}) == len(same)
