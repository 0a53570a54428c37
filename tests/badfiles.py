"""A corpus of bad input files next to good ones, for indexing at scale.

``write_bad_corpus(directory)`` writes ~30 kinds of broken files and ~50 good
documents (n-ag text, JSON, JSON arrays, JSONL, Markdown with YAML front
matter, gzip, a cp1252 file and one with NFD umlauts, which are *good* and
must be decoded) and returns ``{name: expected reason substring}`` for every
failure the indexer must report.  ``name`` is the path relative to
``directory``, with ``:<line>`` for a failing JSONL line.

The returned mapping also carries ``.good``: ``{document id: unique word}``
(every good document contains one word no other document has, so a search for
it must find exactly that document) and ``.titles``: ``{id: expected title}``
for the documents whose decoding matters (cp1252, NFD).
"""
from __future__ import annotations

import gzip
import json
import os
import unicodedata
from pathlib import Path

MB = 1024 * 1024

PLACES = ["Berlin, Deutschland", "Hamburg, Deutschland", "München, Deutschland", "Köln, Deutschland",
          "Wien, Österreich", "Zürich, Schweiz", "Leipzig, Deutschland", "Bremen, Deutschland"]
TOPICS = ["Verkehr", "Wirtschaft", "Kultur", "Politik", "Wetter", "Sport"]


class BadCorpus(dict):
    """``{relative name: reason substring}`` plus ``good`` ids -> unique words and checked ``titles``."""

    def __init__(self) -> None:
        super().__init__()
        self.good: dict[str, str] = {}
        self.titles: dict[str, str] = {}
        self.good_files: set[str] = set()


def unique_word(n: int) -> str:
    """A made-up token no analyser stems or splits into something another document has."""
    return f"qz{n:03d}kx"


def _n_ag(title: str, teaser: str, place: str, body: str, topic: str, date: str, source: str) -> str:
    return (f"{title}\n\n{teaser}\n\n{place.split(',')[0]}, {place.split(', ')[1]} - {body}\n\n"
            f"Die Behörden kündigten weitere Informationen für die kommenden Tage an.\n\n"
            f"Vorfall\t{topic}\nOrt\t{place}\nQuellen\t<ul><li>www.{source}</li></ul>\nDatum\t{date}\n\n"
            f"Besuchen Sie uns auf: n-ag.de\n")


def _obj(n: int, **extra: object) -> dict:
    word = unique_word(n)
    doc = {
        "id": f"gut/{n:03d}",
        "title": f"Meldung Nummer {n} über {TOPICS[n % len(TOPICS)]}",
        "teaser": f"Kurzfassung der Meldung {n}.",
        "body": f"Ein gewöhnlicher Absatz mit dem Kennwort {word} und etwas Text.\n\nZweiter Absatz.",
        "location": PLACES[n % len(PLACES)],
        "sources": [f"quelle{n % 7}.example"],
        "category": TOPICS[n % len(TOPICS)],
        "date": f"2025-{n % 12 + 1:02d}-{n % 27 + 1:02d}",
        "language": "de",
    }
    doc.update(extra)
    return doc


def write_bad_corpus(directory: str | os.PathLike) -> BadCorpus:
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    corpus = BadCorpus()
    counter = iter(range(1, 1000))

    def put(name: str, content: str | bytes) -> Path:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    def good(doc_id: str, n: int, name: str) -> None:
        corpus.good[doc_id] = unique_word(n)
        corpus.good_files.add(name)

    # -- good documents ----------------------------------------------------
    for _ in range(16):  # n-ag exports; the id is the relative path
        n = next(counter)
        name = f"nag/2025-{n:03d}-meldung.txt"
        put(name, _n_ag(f"Stadtrat beschließt Plan {n}", f"Der Plan {n} wurde angenommen.", PLACES[n % len(PLACES)],
                        f"Der Stadtrat hat am Dienstag den Plan mit dem Kennwort {unique_word(n)} beschlossen.",
                        TOPICS[n % len(TOPICS)], f"2025-03-{n % 27 + 1:02d}", f"zeitung{n}.example"))
        good(name, n, name)
    for _ in range(10):  # one JSON object per file
        n = next(counter)
        name = f"json/einzel-{n:03d}.json"
        put(name, json.dumps(_obj(n), ensure_ascii=False, indent=1))
        good(f"gut/{n:03d}", n, name)
    ns = [next(counter) for _ in range(5)]  # a JSON array
    put("json/liste.json", json.dumps([_obj(n) for n in ns], ensure_ascii=False))
    for n in ns:
        good(f"gut/{n:03d}", n, "json/liste.json")
    lines = []  # JSON Lines with one bad line (line 4)
    for i in range(10):
        if i == 3:
            lines.append(json.dumps({"id": "zeile/ohne-titel", "body": "kein Titel"}))
            continue
        n = next(counter)
        lines.append(json.dumps(_obj(n), ensure_ascii=False))
        good(f"gut/{n:03d}", n, "jsonl/gemischt.jsonl")
    put("jsonl/gemischt.jsonl", "\n".join(lines) + "\n")
    corpus["jsonl/gemischt.jsonl:4"] = "document has no title"
    a, b = next(counter), next(counter)  # an array with one bad item (item 2)
    put("json/liste-gemischt.json", json.dumps([_obj(a), _obj(0, id="liste/schlecht", date="31.12.2024"), _obj(b)],
                                               ensure_ascii=False))
    good(f"gut/{a:03d}", a, "json/liste-gemischt.json")
    good(f"gut/{b:03d}", b, "json/liste-gemischt.json")
    corpus["json/liste-gemischt.json"] = "item 2: field 'date': '31.12.2024' is not an ISO 8601 date"
    for _ in range(5):  # Markdown with YAML front matter
        n = next(counter)
        name = f"md/artikel-{n:03d}.md"
        put(name, f"---\nid: md/{n:03d}\ndate: 2025-02-{n % 27 + 1:02d}\nlanguage: de\nlocation: Bonn\n"
                  f"sources: [bonn{n}.example]\n---\n# Markdown-Meldung {n}\n\n"
                  f"Text mit dem Kennwort **{unique_word(n)}** im ersten Absatz.\n\n## Zwischentitel\n\nMehr.\n")
        good(f"md/{n:03d}", n, name)
    for _ in range(2):  # gzip
        n = next(counter)
        name = f"gz/gepackt-{n:03d}.json.gz"
        put(name, gzip.compress(json.dumps(_obj(n), ensure_ascii=False).encode()))
        good(f"gut/{n:03d}", n, name)
    n = next(counter)  # cp1252 (no UTF-8 anywhere): must be decoded, not rejected
    title = "Größere Überschwemmung in Köln: Straßen gesperrt"
    name = "legacy/cp1252.txt"
    put(name, _n_ag(title, "Die Pegelstände steigen weiter – „dramatisch“, sagt die Feuerwehr.", "Köln, Deutschland",
                    f"Mehrere Straßen am Rheinufer sind überflutet, Kennwort {unique_word(n)}.", "Wetter",
                    "2025-01-05", "ksta.example").encode("cp1252"))
    good(name, n, name)
    corpus.titles[name] = title
    n = next(counter)  # NFD umlauts (macOS file names and some exports): stored and searchable as NFC
    title = "Müller prüft Äpfel und Öfen"
    name = "legacy/nfd.md"
    put(name, unicodedata.normalize("NFD", f"---\nid: nfd/{n}\ntitle: {title}\nlanguage: de\n---\n"
                                           f"Übermäßig viele Öfen, Kennwort {unique_word(n)}.\n"))
    good(f"nfd/{n}", n, name)
    corpus.titles[f"nfd/{n}"] = title
    n = next(counter)  # duplicate ids across files: the first (by name) wins, the second is reported
    put("dup/a.json", json.dumps(_obj(n, id="doppelt/1"), ensure_ascii=False))
    good("doppelt/1", n, "dup/a.json")
    put("dup/b.json", json.dumps(_obj(0, id="doppelt/1", title="Zweiter mit gleicher Id"), ensure_ascii=False))
    corpus["dup/b.json"] = "duplicate id 'doppelt/1' (first seen in"

    # -- bad files ---------------------------------------------------------
    def bad(name: str, content: str | bytes, reason: str) -> None:
        put(name, content)
        corpus[name] = reason

    bad("bad/empty.txt", b"", "empty file")
    bad("bad/blank.md", b" \n\t\r\n", "empty file")
    bad("bad/image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        "binary file (NUL byte at offset 8)")
    bad("bad/nul-inside.txt", b"Titel\n\nText mit " + b"\x00\x00" + b" Nullbytes.",
        "binary file (NUL byte at offset 16)")
    bad("bad/truncated.json", b'{"title": "Abgeschnitten",\n "body": "Der Text bricht ab',
        "invalid JSON: Unterminated string")
    bad("bad/wrong-shape.json", b'["nur", "Zeichenketten"]',
        "expected a JSON object or an array of objects, got an array of text")
    bad("bad/number.json", b"42", "expected a JSON object or an array of objects, got number")
    bad("bad/yaml-syntax.md", "---\ntitle: Titel\nsources: [a, b\n---\nText\n", "invalid YAML front matter")
    bad("bad/yaml-unclosed.md", "---\ntitle: Titel\nText ohne Ende\n", "never closed with '---'")
    bad("bad/yaml-alias.md", "---\na: &x [1]\nb: [*x, *x]\ntitle: T\n---\nText\n", "aliases are not allowed")
    bad("bad/no-title.json", json.dumps({"id": "ohne-titel", "body": "Nur Text"}), "document has no title")
    bad("bad/deep.json", b'{"title": "tief", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply")
    bad("bad/huge-line.txt", b"wort " * (2 * MB), "title is 10485759 characters; the limit is 1000")
    bad("bad/invalid-utf8.txt", "Präsident über Straße\n\n".encode() + b"Stra\xdfe kaputt" + " – Ende.".encode(),
        "invalid UTF-8 at byte 30")
    bad("bad/number-title.json", json.dumps({"id": "zahl", "title": 42}), "field 'title' must be text, got number")
    bad("bad/list-body.json", json.dumps({"id": "liste", "title": "T", "body": ["a", "b"]}),
        "field 'body' must be text, got list")
    bad("bad/wrong-date.json", json.dumps(_obj(0, id="datum", date="12.03.2025")),
        "field 'date': '12.03.2025' is not an ISO 8601 date")
    bad("bad/impossible-date.md", "---\ntitle: T\ndate: 2025-02-30\n---\nText\n", "day is out of range")
    bad("bad/dotdot-id.json", json.dumps(_obj(0, id="../../etc/passwd")), "contains a '..' path segment")
    bad("bad/absolute-id.json", json.dumps(_obj(0, id="/etc/passwd")), "starts with '/'")
    bad("bad/control-id.json", json.dumps(_obj(0, id="a\u0007b")), "contains control characters")
    bad("bad/long-id.json", json.dumps(_obj(0, id="x" * 10_240)), "it is 10240 characters; the limit is 512")
    bad("bad/long-title.json", json.dumps(_obj(0, id="lang", title="T" * 100_000)),
        "title is 100000 characters; the limit is 1000")
    bad("bad/bad-language.json", json.dumps(_obj(0, id="sprache", language="Deutsch")),
        "not a two-letter language code")
    bad("bad/corrupt.json.gz", b"\x1f\x8b\x08\x00garbage", "corrupt gzip file")
    big = root / "bad/oversize.txt"  # sparse: no disk space, no time
    with open(big, "wb") as handle:
        handle.truncate(40 * MB)
    corpus["bad/oversize.txt"] = "file is 40.0 MB; the limit is 32.0 MB"
    os.symlink(root / "bad/does-not-exist.txt", root / "bad/broken-link.txt")
    corpus["bad/broken-link.txt"] = "broken symbolic link"
    os.mkfifo(root / "bad/fifo.txt")
    corpus["bad/fifo.txt"] = "not a regular file"
    return corpus
