"""Input readers: files and directories on disk -> Article / ReadFailure.

An archive always holds some broken files; every problem is yielded as a
ReadFailure (path + reason) so the indexer can report it and go on with the
good files.  Nothing in here raises for bad input.

``discover`` lists the files (``sources``), ``read_bytes`` reads a whole file
within ``Limits`` and ``parse`` turns its bytes into articles; JSON Lines,
which may be any size, are read in chunks of whole lines instead (``stream``).
"""
from __future__ import annotations

import gzip
import io
import os
import stat
import zlib
from collections.abc import Callable
from pathlib import Path

from search.ingest.article import Article, OverLimit, ReadError, ReadFailure
from search.ingest.encoding import decode, has_utf8, wide_codec
from search.ingest.fields import read_failure
from search.ingest.frontmatter import parse_markdown
from search.ingest.jsonish import looks_like_jsonl, parse_json, parse_jsonl, parse_jsonl_bytes
from search.ingest.limits import Limits, megabytes, over_file_limit
from search.ingest.n_ag import parse_n_ag
from search.ingest.sources import SourceFile, discover, display_path, os_reason, path_of

__all__ = [
    "JSONL_SUFFIXES", "Limits", "SourceFile", "discover", "display_path", "format_suffix", "parse",
    "path_of", "read_bytes",
]

JSONL_SUFFIXES = (".jsonl", ".ndjson")

Result = Article | ReadFailure
Reader = Callable[..., Result | list[Result]]

_READERS: dict[str, Reader] = {
    ".json": parse_json,
    ".jsonl": parse_jsonl,  # in UTF-16/32; UTF-8 JSON Lines are read from bytes, line by line
    ".ndjson": parse_jsonl,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
}


def read_bytes(source: SourceFile, limits: Limits | None = None) -> bytes:
    """The file's bytes (gunzipped for .gz), refusing unreadable, empty and oversized files."""
    limits = limits or Limits()
    max_bytes = limits.max_file_bytes
    try:
        # O_NONBLOCK: opening a FIFO must not hang the indexer.
        with os.fdopen(os.open(source.path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ReadError("not a regular file")
            if info.st_size > max_bytes:
                raise OverLimit(over_file_limit(info.st_size, limits))
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise ReadError("no such file or directory (removed after it was listed?)") from None
    except OSError as exc:
        raise ReadError(os_reason(exc)) from None
    if len(data) > max_bytes:  # the file grew since fstat
        raise OverLimit(over_file_limit(len(data), limits))
    if source.path.name.lower().endswith(".gz"):
        data = _gunzip(data, limits)
    if not data:
        raise ReadError("empty file")
    return data


def parse(source: SourceFile, data: bytes, limits: Limits | None = None) -> list[Article | ReadFailure]:
    """Articles in ``data``, read by extension or, failing that, by content; never raises."""
    try:
        if format_suffix(source.path) in JSONL_SUFFIXES and not wide_codec(data):
            return _jsonl(source, data, limits)
        text = decode(data)
        reader = _READERS.get(format_suffix(source.path)) or _sniff(text)
        result = reader(text, source=source)
    except ReadError as exc:
        return [read_failure(source, exc)]
    except RecursionError:
        return [read_failure(source, ReadError("data nested too deeply"))]
    except Exception as exc:  # noqa: BLE001 - a reader's bug costs the file, never the run
        return [ReadFailure(source.name, f"unreadable file ({type(exc).__name__}: {str(exc)[:120]})")]
    return result if isinstance(result, list) else [result]


def _jsonl(source: SourceFile, data: bytes, limits: Limits | None) -> list[Article | ReadFailure]:
    """A whole JSON Lines file from bytes, line by line (see ``jsonish.parse_jsonl_bytes``)."""
    nul = data.find(b"\x00", 0, 65536)
    if nul >= 0:
        raise ReadError(f"binary file (NUL byte at offset {nul})")
    items = parse_jsonl_bytes(data, source=source, legacy=not has_utf8(data), limits=limits)
    if not items:
        raise ReadError("empty file")
    return items


def format_suffix(path: Path) -> str:
    """The extension that names the format, looking through a ``.gz``."""
    return Path(path.name.lower().removesuffix(".gz")).suffix


def _gunzip(data: bytes, limits: Limits) -> bytes:
    """Decompress at most the per-file limit + 1 bytes, so a gzip bomb cannot fill memory."""
    max_bytes = limits.max_file_bytes
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ReadError(f"corrupt gzip file: {exc}") from None
    if len(out) > max_bytes:
        raise ReadError(f"decompressed size exceeds the limit of {megabytes(max_bytes)} "
                        f"(indexing.max_file_mb, or --max-file-mb)")
    return out


def _sniff(text: str) -> Reader:
    """Reader for a .txt or unknown extension, judged by how the content starts."""
    head = text.lstrip()
    if head.partition("\n")[0].rstrip() == "---":
        return parse_markdown
    if head.startswith(("{", "[")):
        return parse_jsonl if looks_like_jsonl(head) else parse_json
    return parse_n_ag
