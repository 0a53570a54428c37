"""Relevance pinned: a ranking change is a visible, reviewed diff, never an accident.

* ``golden/demo_top10.json``: the top-10 ids of fixed queries over the demo archive.  After a deliberate
  ranking change, regenerate it with ``STICHWORT_UPDATE_GOLDEN=1 scripts/test tests/test_relevance.py`` and
  review the diff.
* XQuAD dev (German, from ``../shared/data``): MRR@10 must stay at today's level.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import shared_data

GOLDEN = Path(__file__).parent / "golden" / "demo_top10.json"
QUERIES = [
    "Bahnstreik", "Bahnstreik Berlin", "Sicherheitsgarantie", "Garantie", "Ukraine Krieg Genf", '"Goldener Bär"',
    "Hochwasser -Köln", "Zürich Stromausfall Ursache", "EZB Zinsen", "Selenski~", "+Bahn +Streik",
    "Bahn OR Hochwasser", "Ukraine-Krieg", "die Bahn", "Ukrain*", "Bank of England", "interest rates",
    "Hochwasser Rhein Köln Pegel", "Waldbrand Brandenburg", "Krankenhausreform", "Notre-Dame", "Valencia voluntarios",
    "KI-Verordnung", "Berlinale Goldener Bär", "titel:Bahnstreik", "Wohnungen München Mieten", "Energiepreise",
    "Stadtgründung", "Genfer Gespräche", "quelle:faz.net Genf", "datum:2025-03 Streik", "ort:Köln",
    "Supercomputer Jülich", "Arktis Meereis", "Schifffahrt eingestellt", "Getreide Odessa Export",
]
XQUAD_DE_MRR = 0.951  # measured 2026-12-01: 0.9512


def _top10(engine) -> dict[str, list[str]]:
    return {q: [h["id"] for h in engine.search(q, size=10, highlight=False)["hits"]] for q in QUERIES}


def test_demo_rankings_are_the_reviewed_ones(engine):
    ranked = _top10(engine)
    if os.environ.get("STICHWORT_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(ranked, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    changed = {q: (golden.get(q), ranked[q]) for q in QUERIES if golden.get(q) != ranked[q]}
    assert not changed, json.dumps(changed, ensure_ascii=False, indent=1)


@pytest.mark.slow
def test_xquad_german_retrieval_stays_at_todays_level():
    data = shared_data("xquad-dev", "de")
    from search.config import load_config
    from search.evaluate import evaluate
    report = evaluate([str(data / "corpus.jsonl")], [str(data / "queries.jsonl")], config=load_config())
    assert report["overall"]["queries"] == 632
    assert report["overall"]["mrr@10"] >= XQUAD_DE_MRR, report["overall"]
