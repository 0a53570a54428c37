"""Readers turn every supported file layout into the same Article fields."""
from __future__ import annotations

import gzip
import json
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest
from conftest import read_all

from search.ingest import SourceFile, discover, parse
from search.ingest.article import Article
from search.ingest.encoding import decode

SAMPLE = Path(__file__).parents[1].parent / "shared/formats/n-ag-article.txt"

NAG = (
    "Titel der Meldung\n"
    "\n"
    "Ein kurzer Teaser,\n"
    "über zwei Zeilen.\n"
    "\n"
    "Berlin, Deutschland - Der erste Absatz.\n"
    "\n"
    "Zwischenüberschrift\n"
    "\n"
    "Zweiter **fetter** und __unterstrichener__ Absatz.\n"
    "\n"
    "Vorfall\tPolitik\n"
    "Ort\tBerlin-Mitte\n"
    "Quellen\t<ul><li>https://www.Spiegel.de/politik/x</li><li>www.zeit.de</li>• spiegel.de</ul>\n"
    "Datum\t2024-03-01T12:30:00+01:00\n"
    "Redakteur\tMax Mustermann\n"
    "\n"
    "Besuchen Sie uns auf: n-ag.de\n"
)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def read_one(path: Path) -> Article:
    articles, failures = read_all(path)
    assert not failures, [str(f) for f in failures]
    assert len(articles) == 1
    return articles[0]


# --- the shared n-ag sample -------------------------------------------------

@pytest.mark.skipif(not SAMPLE.exists(), reason=f"shared sample {SAMPLE} is not checked out")
def test_shared_sample_every_field() -> None:
    article = read_one(SAMPLE)
    assert article.title == "Trump und Putin: Geheimgespräch über Ende des Ukraine-Kriegs?"
    assert article.teaser.startswith("US-Präsident Trump deutet ein Telefonat mit Putin an")
    assert article.teaser.endswith("Kreml äußert sich nicht klar dazu.")
    assert article.category == "Sonstiges"
    assert article.location == "Washington, USA"
    assert article.sources == ["ksta.de", "sueddeutsche.de", "swp-berlin.org"]
    assert article.publisher == "n-ag.de"
    assert article.paragraphs[0].startswith("US-Präsident Donald Trump hat angedeutet")
    assert "Politische Rahmenbedingungen und Sicherheitsgarantien" in article.paragraphs
    assert "Reaktionen und künftige Perspektiven" in article.paragraphs
    assert "Stiftung Wissenschaft und Politik" in article.body
    assert "**" not in article.body
    assert "Besuchen Sie" not in article.body
    assert "Vorfall" not in article.body and "<ul" not in article.body
    assert article.paragraphs[-1].endswith("auf dem internationalen Parkett zu behaupten.")
    assert len(article.paragraphs) == 7
    assert article.id == "n-ag-article.txt"
    assert article.path == str(SAMPLE.absolute())
    assert (article.url, article.language, article.date, article.extra) == ("", "", None, {})
    assert unicodedata.is_normalized("NFC", article.body)


# --- n-ag variants ----------------------------------------------------------

def test_n_ag_fields(tmp_path: Path) -> None:
    article = read_one(write(tmp_path / "meldung.txt", NAG))
    assert article.title == "Titel der Meldung"
    assert article.teaser == "Ein kurzer Teaser, über zwei Zeilen."
    assert article.paragraphs == [
        "Der erste Absatz.",
        "Zwischenüberschrift",
        "Zweiter fetter und unterstrichener Absatz.",
    ]
    assert article.category == "Politik"
    assert article.location == "Berlin-Mitte"  # trailer Ort wins over the dateline
    assert article.sources == ["spiegel.de", "zeit.de"]
    assert article.date == datetime(2024, 3, 1, 11, 30)
    assert article.extra == {"Redakteur": "Max Mustermann"}
    assert article.publisher == "n-ag.de"
    assert article.id == "meldung.txt"


def test_n_ag_crlf_bom_blank_lines_trailing_spaces(tmp_path: Path) -> None:
    messy = "\ufeff\r\n\r\n" + "\r\n".join(line + "  " if line else line for line in NAG.split("\n"))
    plain = read_one(write(tmp_path / "plain" / "a.txt", NAG))
    article = read_one(write(tmp_path / "messy" / "a.txt", messy))
    assert {**vars(article), "path": ""} == {**vars(plain), "path": ""}


def test_n_ag_without_trailer_and_footer(tmp_path: Path) -> None:
    text = NAG.split("Vorfall")[0]
    article = read_one(write(tmp_path / "a.txt", text))
    assert article.location == "Berlin, Deutschland"
    assert (article.category, article.sources, article.publisher, article.date) == ("", [], "", None)
    assert article.paragraphs[-1] == "Zweiter fetter und unterstrichener Absatz."


@pytest.mark.parametrize("dash", ["-", "–", "—"])
def test_n_ag_dateline_dashes(tmp_path: Path, dash: str) -> None:
    text = f"Titel\n\nTeaser.\n\nRio de Janeiro, Brasilien {dash} Es regnet.\n"
    article = read_one(write(tmp_path / "a.txt", text))
    assert article.location == "Rio de Janeiro, Brasilien"
    assert article.body == "Es regnet."


@pytest.mark.parametrize("first_paragraph", [
    "Der Minister sagte am Montag: Wir bleiben - egal was passiert.",
    "Ein sehr langer erster Satz ohne jede Ortsangabe der immer weiter geht - und so.",
    "Berlin-Mitte ist laut.",
])
def test_n_ag_no_dateline(tmp_path: Path, first_paragraph: str) -> None:
    article = read_one(write(tmp_path / "a.txt", f"Titel\n\nTeaser.\n\n{first_paragraph}\n"))
    assert (article.location, article.body) == ("", first_paragraph)


def test_n_ag_trailer_id_url_language_and_multiline_sources(tmp_path: Path) -> None:
    text = (
        "Titel\n\nTeaser.\n\nText.\n\n"
        "ID\tn-ag-4711\nURL\thttps://n-ag.de/4711\nSprache\tDE\n"
        "Quellen\t<ul>\n<li>www.a.de</li>\n<li>b.de</li>\n</ul>\nNotiz\t\n"
    )
    article = read_one(write(tmp_path / "a.txt", text))
    assert (article.id, article.url, article.language) == ("n-ag-4711", "https://n-ag.de/4711", "de")
    assert article.sources == ["a.de", "b.de"]
    assert article.extra == {"Notiz": ""}


def test_n_ag_title_only(tmp_path: Path) -> None:
    article = read_one(write(tmp_path / "a.txt", "\n\nNur ein Titel   \n"))
    assert (article.title, article.teaser, article.body) == ("Nur ein Titel", "", "")


# --- JSON, JSONL, front matter and their .gz --------------------------------

RECORD = {
    "title": "Präsident tritt zurück",
    "teaser": "Kurz.",
    "body": "Absatz eins.\n\n\n\nAbsatz zwei.  ",
    "location": " Wien ",
    "sources": "https://www.ORF.at/news, apa.at • orf.at",
    "category": "Politik",
    "date": "2024-03-01T12:30:00Z",
    "language": "de-AT",
    "publisher": "orf.at",
    "url": "https://orf.at/1",
    "ressort": {"name": "Inland", "tags": ["a", 1, None]},
}

MARKDOWN = (
    "---\n"
    "title: Präsident tritt zurück\n"
    "teaser: Kurz.\n"
    "location: Wien\n"
    "sources: [orf.at, apa.at]\n"
    "category: Politik\n"
    "date: 2024-03-01T12:30:00Z\n"
    "language: de\n"
    "publisher: orf.at\n"
    "url: https://orf.at/1\n"
    "ressort: {name: Inland, tags: [a, 1, null]}\n"
    "---\n"
    "Absatz eins.\n\n## Absatz zwei.\n"
)

FORMATS = {
    "a.json": json.dumps(RECORD),
    "a.jsonl": json.dumps(RECORD) + "\n",
    "a.ndjson": json.dumps(RECORD),
    "a.md": MARKDOWN,
}


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_structured_formats(tmp_path: Path, name: str, compress: bool) -> None:
    data = FORMATS[name].encode()
    path = write(tmp_path / (name + ".gz" if compress else name), gzip.compress(data) if compress else data)
    article = read_one(path)
    assert article.title == "Präsident tritt zurück"
    assert article.teaser == "Kurz."
    assert article.paragraphs == ["Absatz eins.", "Absatz zwei."]
    assert article.location == "Wien"
    assert article.sources == ["orf.at", "apa.at"]
    assert article.category == "Politik"
    assert article.date == datetime(2024, 3, 1, 12, 30)
    assert article.language == "de"
    assert article.publisher == "orf.at"
    assert article.id == article.url == "https://orf.at/1"
    assert article.extra == {"ressort": {"name": "Inland", "tags": ["a", 1, None]}}
    assert article.path == str(path)


def test_json_array_and_jsonl_lines(tmp_path: Path) -> None:
    items = [{"title": f"Meldung {n}"} for n in (1, 2, 3)]
    array = read_all(write(tmp_path / "arr.json", json.dumps(items)))[0]
    lines = read_all(write(tmp_path / "l.jsonl", "\n".join(map(json.dumps, items)) + "\n\n"))[0]
    assert [a.title for a in array] == [a.title for a in lines] == ["Meldung 1", "Meldung 2", "Meldung 3"]
    assert [a.line for a in lines] == [1, 2, 3]


def test_markdown_title_from_heading_and_yaml_date(tmp_path: Path) -> None:
    text = "---\ndate: 2024-03-01\nautor: Anna\n---\n\n# Die Überschrift\nErster\n**Absatz**.\n"
    article = read_one(write(tmp_path / "a.markdown", text))
    assert article.title == "Die Überschrift"
    assert article.body == "Erster Absatz."
    assert article.date == datetime(2024, 3, 1)
    assert article.extra == {"autor": "Anna"}


def test_markdown_without_front_matter(tmp_path: Path) -> None:
    article = read_one(write(tmp_path / "a.md", "# Titel\n\nText.\n"))
    assert (article.title, article.body) == ("Titel", "Text.")


@pytest.mark.parametrize("raw, expected", [
    ("2024-03-01", datetime(2024, 3, 1)),
    ("2024-03-01T12:30:00Z", datetime(2024, 3, 1, 12, 30)),
    ("2024-03-01T12:30:00+02:00", datetime(2024, 3, 1, 10, 30)),
    ("2024-03-01 12:30", datetime(2024, 3, 1, 12, 30)),
    ("2021-03-4", datetime(2021, 3, 4)),
    ("", None),
    (None, None),
])
def test_dates(tmp_path: Path, raw: str | None, expected: datetime | None) -> None:
    article = read_one(write(tmp_path / "a.json", json.dumps({"title": "T", "date": raw})))
    assert article.date == expected


# --- ids --------------------------------------------------------------------

def test_id_fallbacks(tmp_path: Path) -> None:
    write(tmp_path / "own.json", json.dumps({"id": 42, "url": "https://x.de/1", "title": "T"}))
    write(tmp_path / "url.json", json.dumps({"url": "https://x.de/2", "title": "T"}))
    write(tmp_path / "sub" / "path.json", json.dumps({"title": "T"}))
    write(tmp_path / "lines.jsonl", '{"title": "A"}\n\n{"title": "B"}\n')
    write(tmp_path / "many.json", json.dumps([{"title": "A"}, {"title": "B"}]))
    write(tmp_path / "single.json", json.dumps([{"title": "A"}]))
    articles, failures = read_all(tmp_path)
    assert not failures
    assert [a.id for a in articles] == [
        "lines.jsonl#L1", "lines.jsonl#L3", "many.json#1", "many.json#2",
        "42", "single.json", "sub/path.json", "https://x.de/2",
    ]


# --- encodings --------------------------------------------------------------

def test_cp1252_file(tmp_path: Path) -> None:
    data = "Der Präsident\n\nEr sagte „Nein“ – für 5 €.\n".encode("cp1252")
    article = read_one(write(tmp_path / "alt.txt", data))
    assert article.title == "Der Präsident"
    assert article.teaser == "Er sagte „Nein“ – für 5 €."


@pytest.mark.parametrize("data, text", [
    (b"Pr\xe4sident", "Präsident"),
    (b"\x84Zitat\x93", "„Zitat“"),
    ("Grüße".encode("utf-16"), "Grüße"),
    ("\ufeffGrüße\r\nX\rY".encode(), "Grüße\nX\nY"),
])
def test_decode(data: bytes, text: str) -> None:
    assert decode(data) == text


def test_nfd_input_becomes_nfc(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "Präsident über Öl")
    article = read_one(write(tmp_path / "a.json", json.dumps({"title": nfd}, ensure_ascii=False)))
    assert article.title == "Präsident über Öl"
    assert unicodedata.is_normalized("NFC", article.title)


# --- discovery and sniffing -------------------------------------------------

def test_discovery_recursion_and_hidden_files(tmp_path: Path) -> None:
    for name in ["b/z.txt", "b/a/deep.json", "a.md", ".git/config", "b/.hidden.txt", "b/.cache/x.txt"]:
        write(tmp_path / name, "Titel\n")
    found = list(discover([tmp_path]))
    assert [f.relpath for f in found] == ["a.md", "b/a/deep.json", "b/z.txt"]
    assert all(isinstance(f, SourceFile) and f.path.is_absolute() for f in found)
    assert [f.relpath for f in discover([tmp_path / "b" / "z.txt", tmp_path / "b"])] == ["z.txt", "a/deep.json"]


@pytest.mark.parametrize("content, title", [
    (NAG, "Titel der Meldung"),
    ('{"title": "Als JSON"}', "Als JSON"),
    ('\n[{"title": "Als Array"}]', "Als Array"),
    ('{"title": "Zeile"}\n{"title": "Zeile 2"}\n', "Zeile"),
    ("---\ntitle: Mit Kopf\n---\nText\n", "Mit Kopf"),
])
def test_sniffing_without_extension(tmp_path: Path, content: str, title: str) -> None:
    source = SourceFile(tmp_path / "ARTIKEL", "ARTIKEL")
    results = parse(source, content.encode())
    assert isinstance(results[0], Article), results
    assert results[0].title == title
