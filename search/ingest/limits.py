"""Size limits of the readers: they bound the memory a file can take, not the size of an archive.

A whole-document file (JSON, front matter, n-ag) is held in memory while it is
parsed, so it has a per-file limit.  JSON Lines are read record by record, so
their limit applies to one record; a big JSONL file is fine.  Decompressed
data is bounded too: a gzip file that expands more than ``MAX_GZIP_RATIO``-fold
past the per-file limit is refused as a likely gzip bomb.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MB = 1024 * 1024
MAX_GZIP_RATIO = 100  # deflate reaches ~1000:1 on zeros; news text compresses 3-5:1


@dataclass(frozen=True)
class Limits:
    """Per-file and per-record limits in bytes (``indexing.max_file_mb``, ``indexing.max_record_mb``)."""

    max_file_bytes: int = 32 * MB
    max_record_bytes: int = 8 * MB

    @classmethod
    def from_config(cls, indexing: dict[str, Any]) -> Limits:
        return cls(int(indexing["max_file_mb"] * MB), int(indexing["max_record_mb"] * MB))


def megabytes(size: int) -> str:
    """A size for a message: MB, or kB / bytes where MB would read 0.0."""
    if size >= MB // 10:
        return f"{size / MB:.1f} MB"
    return f"{size / 1024:.1f} kB" if size >= 1024 else f"{size} bytes"


def over_file_limit(size: int, limits: Limits) -> str:
    return (f"file is {megabytes(size)}; the limit is {megabytes(limits.max_file_bytes)} "
            f"(indexing.max_file_mb, or --max-file-mb)")


def over_record_limit(size: int, limits: Limits) -> str:
    return (f"record is {megabytes(size)}; the limit is {megabytes(limits.max_record_bytes)} "
            f"(indexing.max_record_mb, or --max-record-mb)")
