"""Which version of which file each stored document came from: the ``src`` key.

Every document carries ``src = "<path>\\x00<sha256 of the file>"``, so a
re-run knows from the index alone whether a file changed.  Only the document
that completes a file gets the plain key; the others of the file carry
``PARTIAL``, so a run killed between two commits of a big file reads it again.
A file read with failures (bad lines, a cut last record, a gzip cut short)
ends with ``DAMAGED`` instead: it is not marked clean, so the next run reads
it again and reports its failures again, but writes nothing when it has not
changed.  Nothing is ever removed on behalf of a damaged file.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

PARTIAL = "\x00partial"  # a document of a file whose last document is not committed yet
DAMAGED = "\x00damaged"  # the last document of a file that was read with failures


def key(name: str, digest: str, suffix: str = "") -> str:
    return f"{name}\x00{digest}{suffix}"


@dataclass
class FileVersions:
    """What the index holds of one file."""

    keys: set[str] = field(default_factory=set)  # every src key of its documents
    clean: set[str] = field(default_factory=set)  # the digest indexed completely and cleanly, if any
    damaged: set[str] = field(default_factory=set)  # digests indexed completely, with failures


class Versions:
    """The src keys of an index, by file."""

    def __init__(self, keys: Iterable[str]):
        self._files: dict[str, FileVersions] = defaultdict(FileVersions)
        for src in keys:
            name, _, rest = src.partition("\x00")
            digest, _, suffix = rest.partition("\x00")
            versions = self._files[name]
            versions.keys.add(src)
            if not suffix:
                versions.clean.add(digest)
            elif "\x00" + suffix == DAMAGED:
                versions.damaged.add(digest)
        for versions in self._files.values():
            # A version is only whole while no other version wrote documents of the file: after a
            # damaged read, documents of two versions mix, and going back to the clean one must
            # rewrite them.
            if len({src.split("\x00")[1] for src in versions.keys}) > 1:
                versions.clean.clear()

    def of(self, name: str) -> FileVersions:
        return self._files.get(name) or FileVersions()


def source_name(src: str) -> str:
    """The file (display path) a src key names."""
    return src.split("\x00", 1)[0]
