"""The article record that flows from the readers to the indexer.

Readers produce :class:`Article` objects (or :class:`ReadFailure` for input
they could not use); everything downstream works on these, never on files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Field names every reader understands; anything else becomes ``extra``.
KNOWN_FIELDS = (
    "id", "url", "title", "teaser", "body", "location", "sources",
    "category", "date", "language", "publisher",
)


@dataclass
class Article:
    """One news article, as read from disk, before analysis."""

    id: str
    title: str
    body: str = ""  # paragraphs separated by a blank line ("\n\n")
    teaser: str = ""
    url: str = ""
    location: str = ""
    sources: list[str] = field(default_factory=list)
    category: str = ""
    date: datetime | None = None
    language: str = ""  # ISO 639-1 code; empty = detect
    publisher: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: Where it came from, for error messages and re-index bookkeeping.
    path: str = ""
    line: int | None = None

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.body.split("\n\n") if p.strip()]


@dataclass
class ReadFailure:
    """Input that could not become an article; reported, never fatal."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.reason}"


class ReadError(Exception):
    """Raised inside readers; turned into a :class:`ReadFailure` by the walker."""

    def __init__(self, reason: str, line: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.line = line


class OverLimit(ReadError):
    """A file larger than the per-file limit (``indexing.max_file_mb``)."""
