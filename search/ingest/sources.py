"""Finding the files to read: paths and directories on the command line -> SourceFile / ReadFailure.

File names are bytes on Linux and need not be UTF-8 (an old archive copied from
Windows has ``latin1-\\xe4.txt``).  Python hands them over with lone surrogates,
which no index, terminal or JSON encoder accepts, so every name a user sees or
the index stores is :func:`display_path`: the undecodable bytes spelt ``\\xe4``.

Symbolic links inside an indexed folder are followed only while they stay
inside the folders being indexed: a link to ``/etc/passwd`` in an archive is
reported, not read as an article, unless ``follow_links`` is asked for.
"""
from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from search.ingest.article import ReadFailure


def display_path(path: str | os.PathLike) -> str:
    """The path as text that can be printed and stored: non-UTF-8 bytes become ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


_ESCAPED_BYTE = re.compile(rb"\\x([0-9a-f]{2})")


def path_of(name: str) -> Path:
    """The file a :func:`display_path` names (``\\xNN`` back to its byte)."""
    if "\\x" not in name:
        return Path(name)
    raw = _ESCAPED_BYTE.sub(lambda m: bytes([int(m[1], 16)]), name.encode("utf-8"))
    return Path(os.fsdecode(raw))


@dataclass(frozen=True)
class SourceFile:
    """A file to read: ``path`` to open, ``relpath`` (relative to the root the user gave) for ids."""

    path: Path  # absolute path on disk
    relpath: str  # posix path relative to the root given by the user (a file argument: its name)
    size: int = 0  # bytes on disk when it was listed (progress and ETA)

    @property
    def name(self) -> str:
        """The absolute path as reported and stored (also the key of its documents' ``src``)."""
        return display_path(self.path)


def discover(paths: Iterable[str | os.PathLike[str]], follow_links: bool = False) -> Iterator[SourceFile | ReadFailure]:
    """Files under ``paths`` in a deterministic order, skipping hidden names; each once."""
    absolute = [Path(os.path.abspath(raw)) for raw in paths]
    roots = [os.path.realpath(p) for p in absolute]
    seen: set[Path] = set()
    for path in absolute:
        walker = _Walker(path, roots, follow_links)
        for item in walker.start():
            if isinstance(item, SourceFile):
                if item.path in seen:
                    continue
                seen.add(item.path)
            yield item


class _Walker:
    """Depth-first, sorted by name; ``visited`` stops symlinked directory loops."""

    def __init__(self, root: Path, roots: list[str], follow_links: bool):
        self.root, self.roots, self.follow_links = root, roots, follow_links
        self.visited: set[tuple[int, int]] = set()

    def start(self) -> Iterator[SourceFile | ReadFailure]:
        item = _classify(self.root, display_path(self.root.name))
        if item is None:
            yield from self._walk(self.root)
        else:
            yield item

    def _walk(self, directory: Path) -> Iterator[SourceFile | ReadFailure]:
        try:
            info = os.stat(directory)
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError as exc:
            yield ReadFailure(display_path(directory), os_reason(exc))
            return
        if (info.st_dev, info.st_ino) in self.visited:
            return
        self.visited.add((info.st_dev, info.st_ino))
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if entry.is_symlink() and not self.follow_links:
                outside = self._outside(path)
                if outside:
                    yield ReadFailure(display_path(path), f"symbolic link to {display_path(outside)}, outside the "
                                                          "indexed folders: not followed (--follow-links follows it)")
                    continue
            item = _classify(path, display_path(path.relative_to(self.root).as_posix()))
            if item is None:
                yield from self._walk(path)
            else:
                yield item

    def _outside(self, link: Path) -> str | None:
        """The link's target when it lies outside every indexed root (a broken link is no escape)."""
        target = os.path.realpath(link)
        if not os.path.exists(target):
            return None
        for root in self.roots:
            if target == root or target.startswith(root.rstrip(os.sep) + os.sep):
                return None
        return target


def _classify(path: Path, relpath: str) -> SourceFile | ReadFailure | None:
    """SourceFile for a regular file, None for a directory (to walk), else a ReadFailure."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return ReadFailure(display_path(path), f"broken symbolic link -> {display_path(os.readlink(path))}")
        return ReadFailure(display_path(path), "no such file or directory")
    except OSError as exc:
        return ReadFailure(display_path(path), os_reason(exc))
    if stat.S_ISDIR(info.st_mode):
        return None
    if stat.S_ISREG(info.st_mode):
        return SourceFile(path, relpath, info.st_size)
    return ReadFailure(display_path(path), "not a regular file")


def os_reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()
