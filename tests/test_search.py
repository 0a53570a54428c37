"""The engine over the demo archive: query language, facets, highlights, suggestions, related, explain."""
from __future__ import annotations

import pytest

from search.errors import BadRequest, NotFound

BROKEN = ['"Sicherheitsgarantie', "(Bahnstreik", "Bahnstreik)", "AND", "OR OR", "NOT", ":::", "ort:",
          "Bahn\x00streik\x07", "+", "-", '""', "((()", "titel:", "datum:kaputt", "quelle:"]


def ids(result) -> list[str]:
    return [h["id"] for h in result["hits"]]


@pytest.mark.parametrize("q", BROKEN)
def test_broken_queries_never_raise(engine, q):
    result = engine.search(q)
    assert result["total"]["relation"] == "eq"


def test_broken_quote_is_searched_as_words(engine):
    assert ids(engine.search('"Sicherheitsgarantie'))[:3] == ids(engine.search("Sicherheitsgarantie"))[:3]


def test_long_query_is_cut_with_a_note(engine):
    result = engine.search("Bahnstreik " * 200)
    assert any("1000" in n for n in result["notes"])


def test_all_words_rank_above_some(engine):
    hits = engine.search("Hochwasser Köln Pegel", size=20)["hits"]
    top = hits[0]
    body = engine.get(top["id"])["body"].lower()
    assert "hochwasser" in body and "pegel" in body


def test_phrase_must_must_not(engine):
    phrase = ids(engine.search('"Bank of England"'))
    assert phrase and all("bank" in i or "boe" in i or "mortgage" in i for i in phrase)
    both = engine.search("+Hochwasser +Pegel", size=50)
    assert both["total"]["value"] >= 1
    without = engine.search("Hochwasser -Pegel", size=50)
    assert not set(ids(both)) & set(ids(without))


def test_boolean_operators_in_german_and_english(engine):
    a = engine.search("Hochwasser UND Köln", size=50)["total"]["value"]
    b = engine.search("Hochwasser AND Köln", size=50)["total"]["value"]
    assert a == b >= 3
    either = engine.search("Hochwasser ODER Bahnstreik", size=50)["total"]["value"]
    assert either > a
    no = engine.search("Hochwasser NICHT Köln", size=50)
    assert all("koeln" not in i for i in ids(no))


def test_field_prefixes(engine):
    assert ids(engine.search("ort:Genf", size=50)) and all(
        "Genf" in h["location"] for h in engine.search("ort:Genf", size=50)["hits"])
    assert all("Verkehr" == h["category"] for h in engine.search("kategorie:verkehr", size=50)["hits"])
    assert all(h["language"] == "en" for h in engine.search("sprache:en", size=50)["hits"])
    assert all(h["language"] == "en" for h in engine.search("lang:en", size=50)["hits"])
    titles = engine.search("titel:Bahnstreik", size=50)["hits"]
    assert titles and "streik" in titles[0]["title"].lower()
    assert all("bahn" in h["title"].lower() or "streik" in h["title"].lower() for h in titles)
    dated = engine.search("datum:2024-01..2024-01", size=50)["hits"]
    assert dated and all(h["date"].startswith("2024-01") for h in dated)
    later = engine.search("datum:>2025-06-01", size=50)["hits"]
    assert later and all(h["date"] >= "2025-06-02" for h in later)
    src = engine.search("quelle:tagesschau.de", size=50)["hits"]
    assert src and all("tagesschau.de" in h["sources"] for h in src)


def test_wildcard_and_fuzzy(engine):
    assert engine.search("Ukrain*")["total"]["value"] >= 4
    assert engine.search("Selenski~")["total"]["value"] >= 1


def test_facets_multi_select_counts(engine):
    base = engine.search("", size=1)
    cats = {r["value"]: r["count"] for r in base["facets"]["category"]}
    assert sum(cats.values()) == base["total"]["value"]
    picked = engine.search("", filters={"category": ["Verkehr", "Umwelt"]}, size=100)
    assert picked["total"]["value"] == cats["Verkehr"] + cats["Umwelt"]
    # the category facet is counted as if its own selection were absent...
    assert {r["value"]: r["count"] for r in picked["facets"]["category"]} == cats
    assert {r["value"] for r in picked["facets"]["category"] if r["selected"]} == {"Verkehr", "Umwelt"}
    # ...while the other facets are narrowed
    langs = {r["value"]: r["count"] for r in picked["facets"]["language"]}
    assert sum(langs.values()) == picked["total"]["value"]
    assert sum(r["count"] for r in picked["date_histogram"]) == picked["total"]["value"]
    years = {r["key"]: r["count"] for r in picked["date_histogram_year"]}
    assert sum(years.values()) == picked["total"]["value"]
    assert years == {y: sum(r["count"] for r in picked["date_histogram"] if r["key"].startswith(y)) for y in years}


def test_recency_boost_lifts_newer_articles(demo_index):
    from search.config import load_config
    from search.engine import Engine
    plain = Engine(demo_index).search("Ukraine", size=20)["hits"]
    boosted_cfg = load_config(index_dir=demo_index)
    boosted_cfg.data["recency"].update(enabled=True, weight=50.0, half_life_days=100)
    boosted = Engine(demo_index, boosted_cfg).search("Ukraine", size=20)["hits"]
    assert {h["id"] for h in plain} == {h["id"] for h in boosted}
    oldest_first_plain = plain[0]["date"]
    assert boosted[0]["date"] > oldest_first_plain  # the 2024 article no longer leads
    assert [h["id"] for h in boosted].index(plain[0]["id"]) > 0
