"""Readers for JSON (one object or an array of objects) and JSON Lines.

One bad item must not cost the good ones next to it, so item and line
failures are returned as ReadFailure alongside the articles.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from search.ingest.article import Article, ReadError, ReadFailure
from search.ingest.fields import article_from_mapping, read_failure, type_name

if TYPE_CHECKING:
    from search.ingest import SourceFile


def parse_json(text: str, *, source: SourceFile) -> list[Article | ReadFailure]:
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


def parse_jsonl(text: str, *, source: SourceFile) -> list[Article | ReadFailure]:
    """One article object per line; blank lines are skipped, bad lines reported."""
    return [
        _line_result(line, number, source)
        for number, line in enumerate(text.split("\n"), 1)
        if line.strip()
    ]


def looks_like_jsonl(text: str) -> bool:
    """True for several lines whose first is a whole JSON object (not pretty-printed JSON)."""
    first, _, rest = text.strip().partition("\n")
    if not rest.strip():
        return False
    try:
        return isinstance(json.loads(first), dict)
    except (ValueError, RecursionError):
        return False


def _line_result(line: str, number: int, source: SourceFile) -> Article | ReadFailure:
    try:
        obj = _loads(line, first_line=number)
    except ReadError as exc:
        return read_failure(source, exc, line=number)
    return _article_or_failure(obj, source, line=number, index=None)


def _article_or_failure(
    obj: Any, source: SourceFile, *, line: int | None, index: int | None
) -> Article | ReadFailure:
    try:
        return article_from_mapping(obj, source=source, line=line, index=index)
    except ReadError as exc:
        prefix = "" if index is None else f"item {index}: "
        return read_failure(source, exc, line=line, prefix=prefix)


def _loads(text: str, first_line: int = 1) -> Any:
    """json.loads with every failure turned into a ReadError that points at the spot."""
    try:
        return json.loads(text)
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
