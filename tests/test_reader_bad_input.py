"""Bad input is reported with its path and a reason; the good files next to it still load."""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from conftest import read_all

from search.ingest import Limits, SourceFile, parse
from search.ingest.article import ReadFailure

GOOD = "Gute Meldung\n\nTeaser.\n\nBerlin - Text.\n"
MB = 1024 * 1024
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def assert_only_failure(tmp_path: Path, bad: Path, reason: str, limits: Limits | None = None) -> ReadFailure:
    """Read ``tmp_path`` holding ``bad`` and good.txt; exactly ``bad`` must fail."""
    write(tmp_path / "good.txt", GOOD)
    articles, failures = read_all(tmp_path, limits=limits)
    assert [a.title for a in articles] == ["Gute Meldung"]
    assert len(failures) == 1, [str(f) for f in failures]
    assert failures[0].path == str(bad)
    assert reason in failures[0].reason, failures[0].reason
    return failures[0]


def obj(**fields: object) -> str:
    return json.dumps({"title": "Titel", **fields})


BAD_FILES = {
    "empty": ("empty.txt", b"", "empty file"),
    "blank": ("blank.txt", b" \n\t\r\n", "empty file"),
    "binary": ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file (NUL byte at offset 8)"),
    "nul in text": ("nul.txt", b"Titel\n\nText\x00mehr", "binary file (NUL byte at offset 11)"),
    "invalid utf-8": (
        "broken.txt", "Präsident\n\n".encode() + b"Stra\xdfe" + " über".encode(), "invalid UTF-8 at byte 16",
    ),
    "truncated json": (
        "cut.json", b'{"title": "Abgeschnitten",\n "body": "Te', "invalid JSON: Unterminated string",
    ),
    "json number": ("n.json", b"42", "expected a JSON object or an array of objects, got number"),
    "json strings": ("s.json", b'["a", "b"]', "got an array of text values"),
    "json empty array": ("e.json", b"[]", "got an empty array"),
    "deep json": ("deep.json", b'{"title": "x", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                  "JSON nested too deeply"),
    "yaml syntax": ("y.md", b"---\ntitle: Titel\nsources: [a, b\n---\nText\n", "invalid YAML front matter:"),
    "yaml list": ("l.md", b"---\n- a\n- b\n---\nText\n", "front matter must be a mapping of fields, got list"),
    "yaml unclosed": ("u.md", b"---\ntitle: T\n", "front matter opened on line 1 is never closed"),
    "yaml alias": ("al.md", b"---\na: &x [1]\nb: [*x, *x]\ntitle: T\n---\n", "aliases are not allowed (line 3)"),
    "yaml bad date": ("bd.md", b"---\ntitle: T\ndate: 2024-02-30\n---\n", "day is out of range"),
    "no title": ("notitle.json", json.dumps({"body": "Nur Text"}).encode(), "document has no title"),
    "blank title": ("blanktitle.json", json.dumps({"title": " \u0007 "}).encode(), "document has no title"),
    "number as title": ("num.json", json.dumps({"title": 42}).encode(), "field 'title' must be text, got number"),
    "list as body": ("lb.json", obj(body=["a"]).encode(), "field 'body' must be text, got list"),
    "wrong date": ("d.json", obj(date="01.03.2024").encode(),
                   "field 'date': '01.03.2024' is not an ISO 8601 date"),
    "impossible date": ("d2.json", obj(date="2024-02-30").encode(), "is not an ISO 8601 date"),
    "bad language": ("lang.json", obj(language="Deutsch").encode(), "is not a two-letter language code"),
    "bad sources": ("src.json", obj(sources=[1, 2]).encode(), "field 'sources' must be text or a list of text"),
    "dot-dot id": ("dd.json", obj(id="../../etc/passwd").encode(), "contains a '..' path segment"),
    "absolute id": ("abs.json", obj(id="/etc/passwd").encode(), "starts with '/'"),
    "control id": ("ctl.json", obj(id="a\u0000b").encode(), "contains control characters"),
    "boolean id": ("bool.json", obj(id=True).encode(), "field 'id' must be text or an integer, got boolean"),
    "10 KB id": ("longid.json", obj(id="x" * 10_240).encode(), "it is 10240 characters; the limit is 512"),
    "100 KB title": ("longtitle.json", json.dumps({"title": "T" * 100_000}).encode(),
                     "title is 100000 characters; the limit is 1000"),
    "long body": ("longbody.json", obj(body="b" * 2_000_001).encode(),
                  "body is 2000001 characters; the limit is 2000000"),
    "corrupt gzip": ("c.json.gz", b"\x1f\x8b\x08\x00garbage", "corrupt gzip file"),
    "truncated gzip": ("t.txt.gz", gzip.compress(GOOD.encode() * 50)[:40], "corrupt gzip file"),
    "empty gzip": ("e.txt.gz", gzip.compress(b""), "empty file"),
    "n-ag footer only": ("footer.txt", b"\n\nBesuchen Sie uns auf: n-ag.de\n", "document has no title"),
}


@pytest.mark.parametrize("name, content, reason", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_file_is_reported_and_good_file_read(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    assert_only_failure(tmp_path, write(tmp_path / name, content), reason)


def test_truncated_json_names_line_and_column(tmp_path: Path) -> None:
    bad = write(tmp_path / "cut.json", '{"title": "T",\n "body": "Te')
    failure = assert_only_failure(tmp_path, bad, "invalid JSON")
    assert failure.reason.endswith("(line 2, column 10)")


def test_yaml_error_names_file_line(tmp_path: Path) -> None:
    bad = write(tmp_path / "y.md", "\n---\ntitle: T\nsources: [a, b\n---\nText\n")
    failure = assert_only_failure(tmp_path, bad, "invalid YAML front matter")
    assert failure.reason.endswith("(line 4)")  # the line with the open bracket


def test_file_over_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with open(big, "wb") as handle:
        handle.truncate(50 * MB)  # sparse: instant and takes no disk space
    assert_only_failure(tmp_path, big, "file is 50.0 MB; the limit is 32.0 MB (indexing.max_file_mb, or --max-file-mb)")


def test_gzip_bomb_is_capped(tmp_path: Path) -> None:
    bomb = write(tmp_path / "bomb.txt.gz", gzip.compress(b"a" * (3 * MB)))
    assert_only_failure(tmp_path, bomb, "decompressed size exceeds the limit of 1.0 MB",
                        limits=Limits(max_file_bytes=MB))


def test_duplicate_ids_keep_the_first(tmp_path: Path) -> None:
    from search.config import load_config
    from search.engine import Engine
    from search.index.indexer import Indexer
    write(tmp_path / "in" / "a.json", json.dumps({"id": "x", "title": "Erste"}))
    write(tmp_path / "in" / "b.jsonl", json.dumps({"id": "x", "title": "Zweite"}) + "\n")
    summary = Indexer(load_config(index_dir=tmp_path / "idx")).index_paths([tmp_path / "in"])
    assert [(f.path, f.reason, f.line) for f in summary.failures] == [
        (str(tmp_path / "in" / "b.jsonl"), f"duplicate id 'x' (first seen in {tmp_path / 'in' / 'a.json'})", 1),
    ]
    engine = Engine(tmp_path / "idx")
    try:
        assert engine.get("x")["title"] == "Erste"
    finally:
        engine.close()


def test_jsonl_bad_lines_reported_good_lines_kept(tmp_path: Path) -> None:
    lines = [
        obj(id="1"),
        '{"title": "kaputt"',
        "",
        '["kein", "Objekt"]',
        json.dumps({"body": "ohne Titel"}),
        obj(id="2", date="gestern"),
        obj(id="3"),
    ]
    path = write(tmp_path / "feed.jsonl", "\n".join(lines) + "\n")
    articles, failures = read_all(path)
    assert [(a.id, a.line) for a in articles] == [("1", 1), ("3", 7)]
    assert [(f.line, f.reason) for f in failures] == [
        (2, "invalid JSON: Expecting ',' delimiter (line 2, column 19)"),
        (4, "expected an object with article fields, got list"),
        (5, "document has no title"),
        (6, "field 'date': 'gestern' is not an ISO 8601 date"),
    ]
    assert all(f.path == str(path) for f in failures)


def test_json_array_bad_item_reported_with_index(tmp_path: Path) -> None:
    path = write(tmp_path / "arr.json", json.dumps([{"title": "A"}, {"body": "B"}, "C"]))
    articles, failures = read_all(path)
    assert [a.id for a in articles] == ["arr.json#1"]
    assert [f.reason for f in failures] == [
        "item 2: document has no title",
        "item 3: expected an object with article fields, got text",
    ]


def test_broken_symlink(tmp_path: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "gone.txt")
    assert_only_failure(tmp_path, link, f"broken symbolic link -> {tmp_path / 'gone.txt'}")


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "loop").symlink_to(tmp_path)
    articles, failures = read_all(write(tmp_path / "good.txt", GOOD).parent)
    assert [a.title for a in articles] == ["Gute Meldung"] and not failures


def test_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    assert_only_failure(tmp_path, fifo, "not a regular file")


def test_missing_path(tmp_path: Path) -> None:
    articles, failures = read_all(tmp_path / "nirgends", write(tmp_path / "good.txt", GOOD))
    assert [a.title for a in articles] == ["Gute Meldung"]
    assert [(f.path, f.reason) for f in failures] == [(str(tmp_path / "nirgends"), "no such file or directory")]


@pytest.mark.skipif(IS_ROOT, reason="root can read files and directories with mode 000")
def test_unreadable_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "secret.txt", GOOD)
    bad.chmod(0)
    try:
        assert_only_failure(tmp_path, bad, "permission denied")
    finally:
        bad.chmod(0o644)


@pytest.mark.skipif(IS_ROOT, reason="root can read files and directories with mode 000")
def test_unreadable_directory(tmp_path: Path) -> None:
    bad = tmp_path / "locked"
    write(bad / "a.txt", GOOD)
    bad.chmod(0)
    try:
        assert_only_failure(tmp_path, bad, "permission denied")
    finally:
        bad.chmod(0o755)


@pytest.mark.parametrize("data", [
    b"\xff\xfe\x00",  # UTF-16 BOM with an odd byte
    bytes(range(1, 256)),
    b"[" * 200_000,
    b"---\n" + b"a: " * 50_000 + b"\n---\n",
    b"---\n" + b"- " * 10_000 + b"x\n---\n",
    b'{"title": 1e999, "id": ' + b"9" * 5000 + b"}",
])
def test_parse_never_raises(tmp_path: Path, data: bytes) -> None:
    results = parse(SourceFile(tmp_path / "x", "x"), data)
    assert results and all(isinstance(r, ReadFailure) and r.reason for r in results)
