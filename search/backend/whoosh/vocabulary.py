"""A segment's vocabulary of one field as compact arrays: every term with its document frequency.

Wildcard words, autocomplete and did-you-mean all ask "which words start with
this, most frequent first": walking Whoosh's term table for that costs a
Python step per term of the prefix's range (tens of thousands for "ge").  A
segment's terms are read once into one byte string with offsets and a
frequency array (a few bytes per term; segments never change), so a prefix is
two binary searches and the most frequent terms of its range one
``argpartition``.

Reading a segment's term table costs a Python step per term (seconds per
segment at 100,000 articles, and a server start reads every segment), so the
arrays are also kept in a file beside the index, named by the segment's id
(``derived/<segment>.<field>.vocab.npz``, written where the index directory
is writable): a cache in the strict sense, rebuilt from the segment when it is
missing or unreadable, removed with its segment (``prune``).
"""
from __future__ import annotations

import logging
import os
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search import analysis
from search.results.suggest import edit_distance

_DF = struct.Struct("!I")  # W3TermInfo: 1 byte flags, a 4-byte float weight, then the document frequency
_log = logging.getLogger(__name__)
DERIVED = "derived"  # the directory of derived per-segment files, inside the index directory
FORMAT = 1  # bumped when the file's content changes: files of another format are read again from the segment


@dataclass(frozen=True)
class SegmentVocabulary:
    """Sorted UTF-8 terms and their document frequencies: ``blob`` holds each term followed by a newline (a
    term never contains one), ``offsets`` where each starts, and the blob's length last."""

    blob: bytes
    offsets: np.ndarray  # n + 1 positions into blob
    df: np.ndarray

    @classmethod
    def of(cls, blob: bytes, df: np.ndarray) -> SegmentVocabulary:
        offsets = np.zeros(len(df) + 1, dtype=np.int64)
        if len(df):
            offsets[1:] = np.flatnonzero(np.frombuffer(blob, dtype=np.uint8) == 10) + 1
        return cls(blob, offsets, df)

    def __len__(self) -> int:
        return len(self.df)

    def term(self, i: int) -> bytes:
        return self.blob[self.offsets[i]:self.offsets[i + 1] - 1]

    def words(self) -> list[str]:
        """Every term as text, in order (one decode and one split, not a step per term)."""
        return self.blob[:-1].decode("utf-8").split("\n") if len(self) else []

    def prefix_range(self, prefix: bytes) -> tuple[int, int]:
        """[lo, hi) of the terms starting with ``prefix``."""
        lo = self._bisect(prefix)
        hi = self._bisect(prefix + b"\xff") if prefix else len(self)
        return lo, hi

    def _bisect(self, key: bytes) -> int:
        lo, hi = 0, len(self)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.term(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def top(self, prefix: bytes, limit: int) -> list[tuple[bytes, int]]:
        """Up to ``limit`` (term, df) starting with ``prefix``, most frequent first."""
        lo, hi = self.prefix_range(prefix)
        if lo >= hi:
            return []
        df = self.df[lo:hi]
        if hi - lo > limit:
            pick = np.argpartition(-df, limit - 1)[:limit]
        else:
            pick = np.arange(hi - lo)
        pick = pick[np.lexsort((pick, -df[pick]))]
        return [(self.term(lo + int(i)), int(df[i])) for i in pick]


    def within(self, word: str, maxdist: int, prefix: int, limit: int) -> list[tuple[bytes, int]]:
        """Terms within ``maxdist`` edits (Damerau-Levenshtein, adjacent transpositions) of ``word`` that share
        its first ``prefix`` characters: the ``limit`` most frequent, looking at the ``SCAN`` most frequent
        candidates of a plausible length only (typos of rare words are rarely worth a correction)."""
        head = word[:prefix].encode("utf-8")
        lo, hi = self.prefix_range(head)
        if lo >= hi:
            return []
        size = np.diff(self.offsets[lo:hi + 1]) - 1  # UTF-8 bytes: a character is 1 to 4 of them
        target = len(word.encode("utf-8"))
        plausible = np.flatnonzero(np.abs(size - target) <= 2 * maxdist)
        if len(plausible) > SCAN:
            plausible = plausible[np.argpartition(-self.df[lo:hi][plausible], SCAN - 1)[:SCAN]]
        found = []
        letters = set(word)
        for i in plausible.tolist():
            term = self.term(lo + i)
            text = term.decode("utf-8")
            if abs(len(text) - len(word)) > maxdist or len(letters.symmetric_difference(text)) > 2 * maxdist:
                continue  # an edit changes at most two of the letters a word has
            if edit_distance(word, text, maxdist) <= maxdist:
                found.append((term, int(self.df[lo + i])))
        found.sort(key=lambda kv: (-kv[1], kv[0]))
        return found[:limit]


SCAN = 500


def read_vocabulary(leaf, fieldname: str) -> SegmentVocabulary:
    """Every term of ``fieldname`` in one segment, read from Whoosh's ordered term table."""
    terms = getattr(leaf, "_terms", None)  # W3TermsReader (an empty index's reader has none)
    parts: list[bytes] = []
    dfs: list[int] = []
    if terms is not None and fieldname in terms._fieldmap:
        fieldkey = terms._keycoder(fieldname, b"")
        for key, value in terms._tindex.items_from(fieldkey):
            if not key.startswith(fieldkey):
                break
            parts.append(key[len(fieldkey):])
            dfs.append(_DF.unpack_from(value, 5)[0])
    return SegmentVocabulary.of(b"".join(p + b"\n" for p in parts), np.array(dfs, dtype=np.int32))


def segment_id(leaf, base: int) -> str:
    """A segment's id (Whoosh's, which never changes), or its base for a reader without segments."""
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    return segment.segment_id() if segment is not None else f"@{base}"


def learn(segments: Iterable[tuple[str, Callable[[], SegmentVocabulary]]], learned: set[str]) -> None:
    """Teach query-side decompounding the surface words of the segments not in ``learned`` (then added; a
    segment without an id is learned again each time, as it may not be the same)."""
    for segid, vocabulary in segments:
        if segid not in learned:
            analysis.learn_words(vocabulary().words())
            if not segid.startswith("@"):
                learned.add(segid)


def _derived_path(folder: Path, segid: str, fieldname: str) -> Path:
    return folder / DERIVED / f"{segid}.{fieldname}.vocab.npz"


def is_derived(folder: str | Path, segid: str, fieldname: str) -> bool:
    """Whether the segment's derived vocabulary file is there (or cannot be, for a segment without an id)."""
    return segid.startswith("@") or _derived_path(Path(folder), segid, fieldname).exists()


def saved_vocabulary(folder: str | Path, segid: str, fieldname: str) -> SegmentVocabulary | None:
    """The segment's vocabulary as its derived file holds it; None when there is none.  Raises ValueError
    (or OSError) for a file that is damaged or of another format."""
    path = _derived_path(Path(folder), segid, fieldname)
    try:
        with np.load(path) as saved:
            if int(saved["format"]) != FORMAT:
                raise ValueError(f"format {int(saved['format'])}, not {FORMAT}")
            vocab = SegmentVocabulary.of(saved["blob"].tobytes(), saved["df"])
    except (FileNotFoundError, NotADirectoryError):
        return None
    except KeyError as exc:
        raise ValueError(f"no array {exc}") from None
    if len(vocab) and vocab.offsets[-1] != len(vocab.blob):
        raise ValueError("terms and frequencies do not pair up")
    return vocab


def load_vocabulary(folder: str | Path | None, segid: str, leaf, fieldname: str) -> SegmentVocabulary:
    """The segment's vocabulary from its derived file, or from the term table (and then kept in the file)."""
    if folder is None or segid.startswith("@"):  # no directory, or a segment without an id
        return read_vocabulary(leaf, fieldname)
    try:
        found = saved_vocabulary(folder, segid, fieldname)
        if found is not None:
            return found
    except (OSError, ValueError) as exc:  # damaged or foreign: read the segment again
        _log.warning("derived vocabulary of segment %s in %s unreadable (%s); reading the segment again",
                     segid, folder, exc)
    vocab = read_vocabulary(leaf, fieldname)
    _save(_derived_path(Path(folder), segid, fieldname), vocab)
    return vocab


def _save(path: Path, vocab: SegmentVocabulary) -> None:
    """Write ``path`` whole or not at all; an index directory that cannot be written to is fine."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(exist_ok=True)
        with open(tmp, "wb") as f:
            np.savez(f, format=np.int32(FORMAT), blob=np.frombuffer(vocab.blob, dtype=np.uint8), df=vocab.df)
        os.replace(tmp, path)
    except OSError as exc:
        _log.debug("derived vocabulary %s not written: %s", path, exc)
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def prune(folder: str | Path, segids: Iterable[str]) -> int:
    """Remove the derived files of segments not in ``segids`` (merged away); how many were removed."""
    keep = set(segids)
    removed = 0
    try:
        entries = list(os.scandir(Path(folder) / DERIVED))
    except OSError:
        return 0
    for entry in entries:  # and half-written files (".name.pid.tmp"), whose writer fails harmlessly
        if entry.name.startswith(".") or entry.name.split(".", 1)[0] not in keep:
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    return removed
