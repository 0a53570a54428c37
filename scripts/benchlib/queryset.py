"""The fixed query set (70 queries): German COVID-era news vocabulary, so every size has hits.

Kinds: ``word`` (20), ``two`` (12), ``three`` (10), ``phrase`` (8) also run on
the baseline; ``filter`` (6, facet ``source``), ``sort`` (6, newest first)
and ``related`` (8 article ids, taken from the real articles every derived
corpus starts with) run on Stichwort only.
"""
from __future__ import annotations

from urllib.parse import quote, urlencode

WORDS = ["Corona", "Impfstoff", "Maskenpflicht", "Lockdown", "Merkel", "Drosten", "Intensivstation",
         "Schulen", "Quarantäne", "Inzidenz", "Spahn", "Bayern", "Impfung", "Virus", "Pandemie",
         "Wirtschaft", "Demonstration", "Grenzschließung", "Kurzarbeit", "Söder"]
TWO = ["Corona Impfstoff", "Maske Pflicht", "Schulen geschlossen", "zweite Welle", "Robert Koch",
       "Angela Merkel", "Bill Gates", "Lockdown verlängert", "Impfstoff Biontech", "Testpflicht Reisende",
       "Querdenker Demonstration", "Kontaktbeschränkungen Weihnachten"]
THREE = ["Impfstoff Zulassung EU", "Maskenpflicht im Einzelhandel", "Schulen Corona Infektionen",
         "Lockdown Gastronomie Hilfen", "Trump Corona Test", "Drosten Studie Kinder",
         "Intensivbetten Auslastung Berlin", "Reisewarnung Risikogebiet Spanien",
         "Kurzarbeit Arbeitslosigkeit Rekord", "Ausgangssperre Bayern Söder"]
PHRASES = ['"zweite Welle"', '"Robert Koch-Institut"', '"Angela Merkel"', '"Jens Spahn"',
           '"sozialen Medien"', '"Bill Gates"', '"Markus Söder"', '"Christian Drosten"']
FILTERED = [("Impfstoff", ["zeit.de"]), ("Lockdown", ["tagesspiegel.de"]),
            ("Merkel", ["sueddeutsche.de", "zeit.de"]), ("Maskenpflicht", ["journalistenwatch.com"]),
            ("Drosten", ["de.rt.com", "rubikon.news"]), ("Schulen", ["tagesspiegel.de"])]
SORTED = ["Corona", "Impfung", "Lockdown verlängert", "Merkel", '"zweite Welle"', "Inzidenz"]
N_RELATED = 8

BASELINE_KINDS = ("word", "two", "three", "phrase")
KINDS = BASELINE_KINDS + ("filter", "sort", "related")


def build(related_ids: list[str]) -> list[dict]:
    qs: list[dict] = []
    for kind, texts in (("word", WORDS), ("two", TWO), ("three", THREE), ("phrase", PHRASES)):
        qs += [{"kind": kind, "q": t, "label": f"{kind}: {t}"} for t in texts]
    qs += [{"kind": "filter", "q": t, "filters": {"source": s}, "label": f"filter: {t} source={'|'.join(s)}"}
           for t, s in FILTERED]
    qs += [{"kind": "sort", "q": t, "sort": "newest", "label": f"sort: {t} newest"} for t in SORTED]
    qs += [{"kind": "related", "id": i, "label": f"related: {i}"} for i in related_ids[:N_RELATED]]
    return qs


def related_ids(first_ids: list[str]) -> list[str]:
    """``N_RELATED`` ids spread over the real articles present in every size."""
    step = max(1, len(first_ids) // N_RELATED)
    return first_ids[::step][:N_RELATED]


def url(q: dict) -> str:
    """The same request through the JSON API (highlights on, as readers get them)."""
    if q["kind"] == "related":
        return f"/api/articles/{quote(q['id'], safe='')}/related?size=10"
    params = [("q", q["q"]), ("size", "10")]
    params += [("source", s) for s in q.get("filters", {}).get("source", [])]
    if q.get("sort"):
        params.append(("sort", q["sort"]))
    return "/api/search?" + urlencode(params)
