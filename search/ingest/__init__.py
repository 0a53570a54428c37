"""Input readers: files and directories on disk -> Article / ReadFailure.

An archive always holds some broken files; every problem is yielded as a
ReadFailure (path + reason) so the indexer can report it and go on with the
good files.  Nothing in here raises for bad input.
"""
from __future__ import annotations

import gzip
import io
import os
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from search.ingest.article import Article, ReadError, ReadFailure
from search.ingest.encoding import decode
from search.ingest.fields import read_failure
from search.ingest.frontmatter import parse_markdown
from search.ingest.jsonish import looks_like_jsonl, parse_json, parse_jsonl
from search.ingest.n_ag import parse_n_ag

__all__ = [
    "DEFAULT_MAX_BYTES", "SourceFile", "discover", "parse", "read_bytes", "read_paths",
]

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
_MB = 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    """A file to read: ``path`` to open and report, ``relpath`` for ids and messages."""

    path: Path  # absolute path on disk
    relpath: str  # posix path relative to the root given by the user (a file argument: its name)


Result = Union[Article, ReadFailure]
Reader = Callable[..., Result | list[Result]]

_READERS: dict[str, Reader] = {
    ".json": parse_json,
    ".jsonl": parse_jsonl,
    ".ndjson": parse_jsonl,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
}


def discover(paths: Iterable[str | Path]) -> Iterator[SourceFile | ReadFailure]:
    """Files under ``paths`` in a deterministic order, skipping hidden names; each once."""
    seen: set[Path] = set()
    for raw in paths:
        for item in _discover_one(Path(os.path.abspath(raw))):
            if isinstance(item, SourceFile):
                if item.path in seen:
                    continue
                seen.add(item.path)
            yield item


def read_bytes(source: SourceFile, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The file's bytes (gunzipped for .gz), refusing unreadable, empty and oversized files."""
    try:
        # O_NONBLOCK: opening a FIFO must not hang the indexer.
        with os.fdopen(os.open(source.path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ReadError("not a regular file")
            _check_size(info.st_size, max_bytes)
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ReadError(_os_reason(exc)) from None
    _check_size(len(data), max_bytes)  # the file may have grown since fstat
    if source.path.name.lower().endswith(".gz"):
        data = _gunzip(data, max_bytes)
    if not data:
        raise ReadError("empty file")
    return data


def parse(source: SourceFile, data: bytes) -> list[Article | ReadFailure]:
    """Articles in ``data``, read by extension or, failing that, by content; never raises."""
    try:
        text = decode(data)
        reader = _READERS.get(_format_suffix(source.path)) or _sniff(text)
        result = reader(text, source=source)
    except ReadError as exc:
        return [read_failure(source, exc)]
    except RecursionError:
        return [read_failure(source, ReadError("data nested too deeply"))]
    return result if isinstance(result, list) else [result]


def read_paths(
    paths: Iterable[str | Path], max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[Article | ReadFailure]:
    """discover + read_bytes + parse; a repeated id is reported and the first one kept."""
    first_seen: dict[str, str] = {}
    for item in discover(paths):
        if isinstance(item, ReadFailure):
            yield item
            continue
        for result in _read_source(item, max_bytes):
            yield _unless_duplicate(result, item, first_seen)


def _discover_one(path: Path) -> Iterator[SourceFile | ReadFailure]:
    item = _classify(path, path.name)
    if item is None:
        yield from _walk(path, path, set())
    else:
        yield item


def _walk(
    directory: Path, root: Path, visited: set[tuple[int, int]]
) -> Iterator[SourceFile | ReadFailure]:
    """Depth-first, sorted by name; ``visited`` stops symlinked directory loops."""
    try:
        info = os.stat(directory)
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as exc:
        yield ReadFailure(str(directory), _os_reason(exc))
        return
    if (info.st_dev, info.st_ino) in visited:
        return
    visited.add((info.st_dev, info.st_ino))
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        item = _classify(path, path.relative_to(root).as_posix())
        if item is None:
            yield from _walk(path, root, visited)
        else:
            yield item


def _classify(path: Path, relpath: str) -> SourceFile | ReadFailure | None:
    """SourceFile for a regular file, None for a directory (to walk), else a ReadFailure."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            return ReadFailure(str(path), f"broken symbolic link -> {os.readlink(path)}")
        return ReadFailure(str(path), "no such file or directory")
    except OSError as exc:
        return ReadFailure(str(path), _os_reason(exc))
    if stat.S_ISDIR(mode):
        return None
    if stat.S_ISREG(mode):
        return SourceFile(path, relpath)
    return ReadFailure(str(path), "not a regular file")


def _os_reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise ReadError(
            f"file is {_megabytes(size)}; the limit is {_megabytes(max_bytes)} (indexing.max_file_mb)"
        )


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """Decompress at most ``max_bytes`` + 1 bytes, so a gzip bomb cannot fill memory."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ReadError(f"corrupt gzip file: {exc}") from None
    if len(out) > max_bytes:
        raise ReadError(
            f"decompressed size exceeds the limit of {_megabytes(max_bytes)} (indexing.max_file_mb)"
        )
    return out


def _megabytes(size: int) -> str:
    return f"{size / _MB:.1f} MB"


def _format_suffix(path: Path) -> str:
    """The extension that names the format, looking through a ``.gz``."""
    return Path(path.name.lower().removesuffix(".gz")).suffix


def _sniff(text: str) -> Reader:
    """Reader for a .txt or unknown extension, judged by how the content starts."""
    head = text.lstrip()
    if head.partition("\n")[0].rstrip() == "---":
        return parse_markdown
    if head.startswith(("{", "[")):
        return parse_jsonl if looks_like_jsonl(head) else parse_json
    return parse_n_ag


def _read_source(source: SourceFile, max_bytes: int) -> list[Article | ReadFailure]:
    try:
        data = read_bytes(source, max_bytes)
    except ReadError as exc:
        return [read_failure(source, exc)]
    return parse(source, data)


def _unless_duplicate(result: Result, source: SourceFile, first_seen: dict[str, str]) -> Result:
    """A ReadFailure instead of an article whose id an earlier article already has."""
    if not isinstance(result, Article):
        return result
    if result.id in first_seen:
        reason = f"duplicate id {result.id!r} (first seen in {first_seen[result.id]})"
        return ReadFailure(result.path, reason, result.line)
    first_seen[result.id] = source.relpath if result.line is None else f"{source.relpath}:{result.line}"
    return result
