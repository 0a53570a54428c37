"""What an indexing run reports: per file what happened, the totals, every failure, and progress.

A file ends a run in one of these states:

``indexed``    read completely and cleanly: its documents were added or updated,
               and those that left the file were removed;
``unchanged``  the index holds this version already (nothing read);
``damaged``    read with failures (bad lines, a cut record): the good documents
               were added or updated, nothing was removed, the documents of the
               bad parts and of earlier versions were kept;
``failed``     not read at all (unreadable, binary, over a limit): every document
               it had in the index was kept as it was;
``interrupted`` the run stopped (disk full) before the file's last batch was committed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from search.ingest.article import ReadFailure


@dataclass
class FileReport:
    path: str
    outcome: str = ""  # indexed | unchanged | damaged | failed | interrupted; "" until decided
    added: int = 0
    updated: int = 0
    removed: int = 0
    kept: int = 0  # documents of an earlier version kept because the file was not read cleanly
    failed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "outcome": self.outcome, "added": self.added, "updated": self.updated,
                "removed": self.removed, "kept": self.kept, "failed": self.failed}

    def __str__(self) -> str:
        counts = [f"{n} {what}" for n, what in ((self.added, "added"), (self.updated, "updated"),
                                                 (self.removed, "removed")) if n]
        if self.outcome in ("damaged", "failed", "interrupted") and self.kept:
            counts.append(f"{self.kept} kept after {self.failed} failure{'s' if self.failed != 1 else ''}")
        return f"{self.path}: {self.outcome}" + (f" ({', '.join(counts)})" if counts else "")


@dataclass
class Summary:
    """Totals over the files (documents added, updated, removed, kept; files unchanged) and failures."""

    files: list[FileReport] = field(default_factory=list)
    failures: list[ReadFailure] = field(default_factory=list)
    error: str | None = None  # the run stopped early (disk full): what was committed survives

    def _total(self, count: str) -> int:
        return sum(getattr(f, count) for f in self.files)

    added = property(lambda self: self._total("added"))
    updated = property(lambda self: self._total("updated"))
    deleted = property(lambda self: self._total("removed"))
    kept = property(lambda self: self._total("kept"))

    @property
    def unchanged(self) -> int:
        return sum(f.outcome == "unchanged" for f in self.files)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "deleted": self.deleted, "kept": self.kept, "failed": self.failed,
                "failures": [{"path": f.path, "line": f.line, "reason": f.reason} for f in self.failures],
                "files": [f.as_dict() for f in self.files], "error": self.error}

    def text(self, most: int = 20) -> list[str]:
        """The summary for a terminal: totals, then every file that did not stay unchanged (more than
        ``most`` that were only added to the index are counted in one line), then failures."""
        lines = [f"added {self.added}, updated {self.updated}, unchanged files {self.unchanged}, "
                 f"removed {self.deleted}, kept {self.kept}, failed {self.failed}"]
        changed = [f for f in self.files if f.outcome != "unchanged"]
        new = [f for f in changed if f.outcome == "indexed" and not (f.updated or f.removed or f.failed)]
        if len(new) > most:
            lines.append(f"  {len(new)} files indexed ({sum(f.added for f in new)} added)")
            listed = {id(f) for f in new}
            changed = [f for f in changed if id(f) not in listed]
        lines += [f"  {f}" for f in changed]
        lines += [f"  failed: {f}" for f in self.failures]
        return lines


@dataclass
class Progress:
    """How far a run is, for a progress line: articles read and written, input bytes read of the total."""

    articles: int = 0  # read and handed to the writer
    written: int = 0  # committed
    files: int = 0
    files_total: int = 0
    bytes: int = 0
    bytes_total: int = 0
    seconds: float = 0.0
    stage: str = "reading"  # reading | writing | merging | done
