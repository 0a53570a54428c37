"""Readers for JSON (one object or an array of objects) and JSON Lines.

One bad item must not cost the good ones next to it, so item and line
failures are returned as ReadFailure alongside the articles.  JSON Lines are
read line by line from bytes: each line is decoded on its own (a cp1252 line
in a UTF-8 file costs that line, reported with its number), so a big file
can be split into chunks at line boundaries and read by several processes.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from search.ingest.article import Article, ReadError, ReadFailure
from search.ingest.encoding import decode_line
from search.ingest.fields import article_from_mapping, read_failure, type_name
from search.ingest.limits import Limits, over_record_limit

if TYPE_CHECKING:
    from search.ingest import SourceFile

Item = Article | ReadFailure


def parse_json(text: str, *, source: SourceFile) -> list[Item]:
    """A JSON document holding one article object or an array of them."""
    data = _loads(text)
    if isinstance(data, dict):
        return [_article_or_failure(data, source, line=None, index=None)]
    if isinstance(data, list) and any(isinstance(item, dict) for item in data):
        numbered = len(data) > 1
        return [
            _article_or_failure(item, source, line=None, index=number if numbered else None)
            for number, item in enumerate(data, 1)
        ]
    raise ReadError(f"expected a JSON object or an array of objects, got {_shape(data)}")


def parse_jsonl(text: str, *, source: SourceFile) -> list[Item]:
    """One article object per line of decoded text; blank lines are skipped, bad lines reported."""
    return [
        _line_result(line, number, source)
        for number, line in enumerate(text.split("\n"), 1)
        if line.strip()
    ]


def parse_jsonl_bytes(data: bytes, *, source: SourceFile, first_line: int = 1, legacy: bool = False,
                      limits: Limits | None = None) -> list[Item]:
    """JSON Lines from raw bytes (a whole file or a chunk of whole lines starting at ``first_line``).

    ``legacy``: the file has no UTF-8 anywhere, so its lines are cp1252 (see ``decode_line``).
    """
    limit = (limits or Limits()).max_record_bytes
    results: list[Item] = []
    for number, raw in enumerate(data.split(b"\n"), first_line):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        if len(raw) > limit:
            results.append(ReadFailure(source.name, over_record_limit(len(raw), limits or Limits()), number))
            continue
        try:
            line = decode_line(raw, legacy=legacy)
        except ReadError as exc:
            results.append(read_failure(source, exc, line=number))
            continue
        results.append(_line_result(line, number, source))
    return results


def looks_like_jsonl(text: str) -> bool:
    """True for several lines whose first is a whole JSON object (not pretty-printed JSON)."""
    first, _, rest = text.strip().partition("\n")
    if not rest.strip():
        return False
    try:
        return isinstance(json.loads(first), dict)
    except (ValueError, RecursionError):
        return False


def _line_result(line: str, number: int, source: SourceFile) -> Item:
    try:
        obj = _loads(line, first_line=number)
    except ReadError as exc:
        return read_failure(source, exc, line=number)
    return _article_or_failure(obj, source, line=number, index=None)


def _article_or_failure(obj: Any, source: SourceFile, *, line: int | None, index: int | None) -> Item:
    prefix = "" if index is None else f"item {index}: "
    try:
        return article_from_mapping(obj, source=source, line=line, index=index)
    except ReadError as exc:
        return read_failure(source, exc, line=line, prefix=prefix)
    except Exception as exc:  # noqa: BLE001 - one hostile value costs one document, never the file
        return ReadFailure(source.name, f"{prefix}unreadable record ({type(exc).__name__}: {str(exc)[:120]})", line)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice: JSON parsers disagree on which value wins."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                shown = key if len(key) <= 40 else key[:40] + "…"
                raise ReadError(f"duplicate key {shown!r} in a JSON object (which value is meant?)")
            seen.add(key)
    return obj


def _loads(text: str, first_line: int = 1) -> Any:
    """json.loads with every failure turned into a ReadError that points at the spot."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno + first_line - 1}, column {exc.colno}"
        raise ReadError(f"invalid JSON: {exc.msg} ({where})") from None
    except RecursionError:
        raise ReadError("JSON nested too deeply") from None
    except ValueError as exc:  # e.g. integers beyond Python's digit limit
        raise ReadError(f"invalid JSON: {exc}") from None


def _shape(data: Any) -> str:
    if not isinstance(data, list):
        return type_name(data)
    if not data:
        return "an empty array"
    return f"an array of {'/'.join(sorted({type_name(item) for item in data}))} values"
