"""The engine over the demo archive: query language, facets, highlights, suggestions, related, explain."""
from __future__ import annotations

import re

import pytest

from search.errors import BadRequest, NotFound

BROKEN = ['"Sicherheitsgarantie', "(Bahnstreik", "Bahnstreik)", "AND", "OR OR", "NOT", ":::", "ort:",
          "Bahn\x00streik\x07", "+", "-", '""', "((()", "titel:", "datum:kaputt", "quelle:"]


def ids(result) -> list[str]:
    return [h["id"] for h in result["hits"]]


@pytest.mark.parametrize("q", BROKEN)
def test_broken_queries_never_raise(engine, q):
    """Broken syntax is searched as words: the words that are in it find what they find alone."""
    result = engine.search(q)
    if q == "datum:kaputt":  # a date filter that is no date: nothing, and a note saying why
        assert result["total"]["value"] == 0 and any("not a date" in n for n in result["notes"])
        return
    words = [w for w in re.findall(r"\w+", q) if w.upper() not in ("AND", "OR", "NOT", "UND", "ODER", "NICHT")]
    if any(engine.search(w)["total"]["value"] for w in words):
        assert result["total"]["value"] > 0, q
    assert result["hits"] == [] or all(h["id"] for h in result["hits"])


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


@pytest.mark.parametrize("relative_to", ["today", "newest"])
def test_recency_boost_lifts_newer_articles(demo_index, relative_to):
    """Ages count from a pinned clock (or from the newest article), so the result holds on any date."""
    from datetime import datetime

    from search.config import load_config
    from search.engine import Engine
    plain = Engine(demo_index).search("Ukraine", size=20)["hits"]
    boosted_cfg = load_config(index_dir=demo_index)
    boosted_cfg.data["recency"].update(enabled=True, weight=50.0, half_life_days=100, relative_to=relative_to)
    clock = (lambda: datetime(2026, 1, 1)) if relative_to == "today" else (lambda: datetime(2099, 1, 1))
    boosted = Engine(demo_index, boosted_cfg, clock=clock).search("Ukraine", size=20)["hits"]
    assert {h["id"] for h in plain} == {h["id"] for h in boosted}
    oldest_first_plain = plain[0]["date"]
    assert boosted[0]["date"] > oldest_first_plain  # the 2024 article no longer leads
    assert [h["id"] for h in boosted].index(plain[0]["id"]) > 0


def test_sort_paging_and_cursor(engine):
    newest = engine.search("", sort="newest", size=5)
    dates = [h["date"] for h in newest["hits"]]
    assert dates == sorted(dates, reverse=True)
    oldest = engine.search("", sort="oldest", size=5)
    assert [h["date"] for h in oldest["hits"]] == sorted(h["date"] for h in oldest["hits"])
    p1, p2 = engine.search("", sort="newest", size=5), engine.search("", sort="newest", size=5, page=2)
    assert not set(ids(p1)) & set(ids(p2))
    via_cursor = engine.search("", sort="newest", size=5, cursor=p1["next_cursor"])
    assert ids(via_cursor) == ids(p2)
    with pytest.raises(BadRequest):
        engine.search("", sort="newest", size=5, cursor=p1["next_cursor"][:-3] + "AAA")
    with pytest.raises(BadRequest):
        engine.search("", size=101)
    with pytest.raises(BadRequest):
        engine.search("", sort="random")
    with pytest.raises(BadRequest):
        engine.search("", date_from="2024-13-45")


def test_cursor_carries_a_backend_state(tmp_path):
    """A backend's paging state (OpenSearch: a point in time) travels signed in the cursor; cursors without
    one keep the first format, so those handed out before states existed still decode."""
    import base64
    import hashlib
    import hmac
    import json

    from search.query.cursor import Cursors
    cursors = Cursors(tmp_path)
    state = {"pit": "x" * 600, "g": 3, "after": [1.5, 17]}
    cursor = cursors.encode(20, "fp", state)
    assert cursors.decode(cursor, "fp") == (20, state)
    assert len(cursor) < 400  # compressed: a point in time repeats its index's names
    assert cursors.decode(cursors.encode(10, "fp"), "fp") == (10, None)
    key = (tmp_path / "cursor.key").read_text().strip().encode()
    body = json.dumps({"o": 5, "f": "fp"}, separators=(",", ":")).encode()  # the first format, built by hand
    old = base64.urlsafe_b64encode(body + hmac.new(key, body, hashlib.sha256).digest()[:12]).decode().rstrip("=")
    assert cursors.decode(old, "fp") == (5, None)
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[5] ^= 1  # inside the compressed state
    with pytest.raises(BadRequest, match="altered"):
        cursors.decode(base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="), "fp")
    with pytest.raises(BadRequest, match="different search"):
        cursors.decode(cursor, "another")


def test_highlights_mark_compounds_and_escape(engine):
    result = engine.search("Garantie")
    marked = " ".join(f for h in result["hits"] for f in h["highlights"]["body"] + h["highlights"]["title"])
    assert "<mark>Sicherheitsgarantien</mark>" in marked or "<mark>Sicherheitsgarantie</mark>" in marked
    for h in result["hits"]:
        for frag in h["highlights"]["body"]:
            stripped = frag.replace("<mark>", "").replace("</mark>", "")
            assert "<" not in stripped


def test_exact_match_outranks_part_only_match(tmp_path):
    import json

    from search.config import load_config
    from search.engine import Engine
    from search.index.indexer import Indexer
    src = tmp_path / "a.jsonl"
    src.write_text("\n".join(json.dumps(d) for d in [
        {"id": "part", "title": "Neue Sicherheitsgarantien", "body": "Die Sicherheitsgarantien gelten.",
         "language": "de"},
        {"id": "whole", "title": "Neue Garantie", "body": "Die Garantie gilt.", "language": "de"},
    ]))
    Indexer(load_config(index_dir=tmp_path / "i")).index_paths([src])
    assert ids(Engine(tmp_path / "i").search("Garantie")) == ["whole", "part"]


def test_did_you_mean_and_autocomplete(engine):
    assert engine.search("Selenski")["suggestion"] == "Selenskyj"
    assert engine.search("Ukriane")["suggestion"] == "Ukraine"
    assert engine.search("Sicherheitsgarantei")["suggestion"] in ("Sicherheitsgarantie", "Sicherheitsgarantien")
    assert engine.search("Bahnstreik")["suggestion"] is None
    completions = engine.suggest("Sicherh")
    assert completions and all(c.lower().startswith("sicherh") for c in completions)
    assert engine.suggest("Trump und Sel")[0].startswith("Trump und Sel")


STORIES = {
    "bahnstreik": "2025-03-12-bahnstreik-bundesweit-tagesschau.txt",
    "genf": "2025-06-17-genf-ukraine-verhandlungen-sueddeutsche.txt",
    "koeln": "2024-01-04-rhein-hochwasser-koeln-ksta.txt",
    "london": "2025-08-07-bank-of-england-rate-cut-bbc.txt",
}


@pytest.mark.parametrize("story", STORIES)
def test_multi_outlet_stories_group(engine, story):
    rel = engine.related(STORIES[story])
    same = rel["same_story"]
    assert len(same) >= 2
    outlets = {s for h in same for s in h["sources"]}
    assert len(outlets) >= 2
    assert STORIES[story] not in [h["id"] for h in same + rel["related"]]


def test_different_stories_do_not_group(engine):
    story_ids = {engine.get(doc_id)["story_id"] for doc_id in STORIES.values()}
    assert len(story_ids) == len(STORIES)
    greve = engine.get("2025-03-13-greve-sncf-paris-lefigaro.txt")
    assert greve["story_id"] != engine.get(STORIES["bahnstreik"])["story_id"]


def test_related_and_collapse(engine):
    rel = engine.related(STORIES["koeln"], size=5)
    assert len(rel["related"]) <= 5
    collapsed = engine.search("Hochwasser Köln", collapse=True)
    flat = engine.search("Hochwasser Köln")
    assert collapsed["total"]["value"] == flat["total"]["value"] and collapsed["stories"] < flat["total"]["value"]
    assert any(h["more_in_story"] >= 2 for h in collapsed["hits"])
    with pytest.raises(NotFound):
        engine.related("no-such-id")


def test_explain(engine):
    doc_id = STORIES["bahnstreik"]
    exp = engine.explain("Bahnstreik", doc_id)
    assert exp["matched"] and exp["score"] > 0
    fields = {f["field"] for f in exp["fields"]}
    assert any(f.startswith("title_") or f.startswith("body_") for f in fields)
    assert all(t["score"] > 0 for f in exp["fields"] for t in f["terms"])
    with pytest.raises(NotFound):
        engine.explain("x", "nope")


def test_no_correction_for_words_found_through_stemming(engine):
    assert engine.search("Sicherheitsgarantie")["suggestion"] is None
    assert engine.search("Sicherheitsgarantei")["suggestion"] is not None


def test_compound_query_does_not_drag_in_its_parts_alone(engine):
    """'Sicherheitsgarantie' must not find articles that only say 'sicher' or 'Versorgungssicherheit'."""
    hits = engine.search("Sicherheitsgarantie", size=50)["hits"]
    assert hits
    for hit in hits:
        text = (hit["title"] + " " + engine.get(hit["id"])["body"]).lower()
        assert "sicherheitsgarant" in text or ("sicherheit" in text and "garant" in text), hit["id"]


def _index(tmp_path, docs: list[dict]):
    import json

    from search.config import load_config
    from search.engine import Engine
    from search.index.indexer import Indexer
    src = tmp_path / "a.jsonl"
    src.write_text("\n".join(json.dumps({"language": "de", **d}) for d in docs), encoding="utf-8")
    Indexer(load_config(index_dir=tmp_path / "i")).index_paths([src])
    return Engine(tmp_path / "i")


def test_a_compound_matches_in_its_inflections_and_never_through_its_parts_alone(tmp_path):
    """"Impfzentrum" finds "Impfzentren" (Snowball keeps -um and -en apart; the German chain joins them);
    its parts alone match nothing, near each other ("Garantie für die Sicherheit", which other compounds'
    parts are too: "Testzentren und mobile Impfteams") or apart ("Impfstoff ... Forschungszentrum");
    with another query word they add score."""
    filler = " ".join(["Die Stadt plant weiter und berichtet ausführlich."] * 6)
    engine = _index(tmp_path, [
        {"id": "plural", "title": "Neue Impfzentren", "body": "Die Impfzentren öffnen am Montag."},
        {"id": "singular", "title": "Das Impfzentrum", "body": "Das Impfzentrum öffnet am Montag."},
        {"id": "genitive", "title": "Leitung", "body": "Die Leitung des Impfzentrums wechselt."},
        {"id": "apart", "title": "Impfstoff geliefert", "body": f"Der Impfstoff ist da. {filler} Das "
                                                                "Forschungszentrum forscht."},
        {"id": "near", "title": "Zusage", "body": "Eine Garantie für die Sicherheit der Ukraine."},
        {"id": "whole", "title": "Sicherheitsgarantien", "body": "Die Sicherheitsgarantien gelten."},
        {"id": "far", "title": "Garantie", "body": f"Eine Garantie gibt es. {filler} Die Sicherheit leidet."},
        {"id": "teams", "title": "Testzentren", "body": "Testzentren und mobile Impfteams sind unterwegs."},
        {"id": "ukraine", "title": "Zusage", "body": "Eine Zusage für die Menschen der Ukraine."},
    ])
    assert set(ids(engine.search("Impfzentrum"))) == {"plural", "singular", "genitive"}
    assert set(ids(engine.search("Impfzentren"))) == {"plural", "singular", "genitive"}
    assert ids(engine.search("Sicherheitsgarantie")) == ["whole"]
    with_word = ids(engine.search("Sicherheitsgarantie Ukraine"))
    assert with_word.index("whole") < with_word.index("near") < with_word.index("ukraine")
    engine.close()


@pytest.mark.parametrize("singular, plural", [("Zentrum", "Zentren"), ("Museum", "Museen"), ("Virus", "Viren"),
                                              ("Thema", "Themen"), ("Konto", "Konten"), ("Stadion", "Stadien"),
                                              ("Risiko", "Risiken"), ("Rassismus", "Rassismen")])
def test_latin_and_greek_plurals_are_one_term(singular, plural):
    from search import analysis
    assert analysis.terms("de", singular) == analysis.terms("de", plural)
    assert analysis.terms("de", "Kunst" + singular.lower()) == analysis.terms("de", "Kunst" + plural.lower())


@pytest.mark.parametrize("word, other", [("Reichtum", "reichten"), ("Euro", "euren"), ("Irrtum", "irrten"),
                                         ("Datum", "Daten"), ("Studium", "Studien"), ("Dosis", "Dosen")])
def test_words_that_only_look_like_latin_singulars_keep_their_term(word, other):
    """Not -um/-en pairs, or pairs whose plural is another, more frequent word (data, studies, cans)."""
    from search import analysis
    assert analysis.terms("de", word) != analysis.terms("de", other)


def test_multi_segment_index_with_filters_and_facets(tmp_path):
    """Regression: several commits leave several segments; filters, facets and collapse
    must work across them, also for documents without sources or dates."""
    import json

    from search.config import load_config
    from search.engine import Engine
    from search.index.indexer import Indexer
    src = tmp_path / "many.jsonl"
    with open(src, "w", encoding="utf-8") as fh:
        for i in range(240):
            doc = {"id": f"d{i}", "title": f"Impfstoff Meldung {i}", "body": f"Der Impfstoff Nummer {i} wirkt.",
                   "language": "de"}
            if i < 200:  # the last documents of a segment carry no source, category or date
                doc.update(source=f"outlet{i % 3}.de", category="Gesundheit", date=f"2021-0{1 + i % 9}-01")
            fh.write(json.dumps(doc) + "\n")
    index_dir = tmp_path / "idx"
    config = load_config(index_dir=index_dir)
    config.data["indexing"]["batch_size"] = 100  # a commit (and a segment) per 100 documents
    Indexer(config).index_paths([src])
    engine = Engine(index_dir)
    assert len(engine.backend.snapshot().segments) > 1  # really several segments
    everything = engine.search("Impfstoff", size=5)
    assert everything["total"]["value"] == 240
    sources = {r["value"]: r["count"] for r in everything["facets"]["source"]}
    assert sources == {"outlet0.de": 67, "outlet1.de": 67, "outlet2.de": 66}
    one = engine.search("Impfstoff", filters={"source": ["outlet1.de"]}, size=100)
    assert one["total"]["value"] == 67 and all(h["sources"] == ["outlet1.de"] for h in one["hits"])
    collapsed = engine.search("Impfstoff", collapse=True, sort="newest", size=100)
    stories = {engine.get(h["id"])["story_id"] for h in engine.search("Impfstoff", size=100)["hits"]}
    assert 1 <= collapsed["stories"] <= collapsed["total"]["value"] <= 240
    assert len({h["story_id"] for h in collapsed["hits"]}) == len(collapsed["hits"])
    assert stories
    assert sum(r["count"] for r in everything["date_histogram"]) == 200


def test_fuzzy_and_wildcard_expansion_is_capped(engine):
    result = engine.search("Selenski~ Ukrain* Bahn* Kreml~ Genf*")
    assert any("only the first 3" in n for n in result["notes"])
    assert result["total"]["value"] >= 1


def test_refresh_learns_the_words_of_new_segments_only(tmp_path, monkeypatch):
    """Query-side decompounding knows words indexed after the engine opened; a refresh reads only new segments."""
    import json

    from search import analysis
    from search.config import load_config
    from search.engine import Engine
    from search.index.indexer import Indexer
    index_dir = tmp_path / "idx"
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(json.dumps({"id": "a", "title": "Hafen", "body": "Der Hafen ist voll.", "language": "de"}) + "\n")
    second.write_text(json.dumps({"id": "b", "title": "Zwiebelturm", "body": "Ein Quetschkommodenverein tagt.",
                                  "language": "de"}) + "\n")
    config = load_config(index_dir=index_dir)
    Indexer(config).index_paths([first])
    engine = Engine(index_dir)
    read = []
    original = analysis.Vocabulary.learn
    monkeypatch.setattr(analysis.Vocabulary, "learn",
                        lambda self, words: read.append(sorted(words)) or original(self, read[-1]))
    Indexer(config).index_paths([second])
    engine.refresh()
    assert "quetschkommodenverein" in analysis.splitter().corpus
    assert read and all("hafen" not in words for words in read)  # the first segment's words were not read again
    assert engine.search("Quetschkommodenverein")["total"]["value"] == 1
    engine.close()


def test_did_you_mean_per_word_and_by_frequency(engine):
    """A misspelt word is corrected even when another word finds plenty, and a frequent word two edits away
    beats a rare one an edit away."""
    assert engine.search("Bahnstriek Berlin")["total"]["value"] > 3  # "Berlin" alone finds several
    assert engine.search("Bahnstriek Berlin")["suggestion"] == "Bahnstreik Berlin"
    assert engine.search("Berlin Bahnstreik")["suggestion"] is None


def test_autocomplete_spells_as_the_articles_and_puts_names_first(engine):
    assert "Bahn-Personalvorständin" in engine.suggest("Bahn")  # not "Bahn-personalvorständin"
    assert engine.suggest("Ukr")[:2] == ["Ukraine", "Ukraine-Krieg"]
    capital = engine.suggest("Hochwasser Ber")
    assert capital[0] == "Hochwasser Berlin" and not any(c.endswith(" bereits") for c in capital)
