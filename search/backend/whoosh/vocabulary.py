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

import hashlib
import logging
import os
import struct
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

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


def learn(segments: Iterable[tuple[str, Callable[[], SegmentVocabulary]]], learned: set[str],
          folder: str | Path | None = None) -> None:
    """Teach query-side decompounding the surface words of the segments not in ``learned`` (then added; a
    segment without an id is learned again each time, as it may not be the same).  A process that has learned
    nothing yet reads the commit's word union instead, when ``folder`` holds one for exactly these segments
    (and writes it when it can, for the next start)."""
    segments = list(segments)
    if folder is not None and not learned and segments:
        words = saved_union(folder, [segid for segid, _ in segments])
        if words is not None:
            analysis.learn_words(words)
            learned.update(segid for segid, _ in segments if not segid.startswith("@"))
            return
    first = not learned
    for segid, vocabulary in segments:
        if segid not in learned:
            analysis.learn_words(vocabulary().words())
            if not segid.startswith("@"):
                learned.add(segid)
    if folder is not None and first and segments and os.access(Path(folder), os.W_OK):
        write_union(folder, segments)  # an index from before the union, or one whose file was lost


# -- the commit's word union --------------------------------------------------------------------------------
# A server's start teaches decompounding every segment's words: 2.9 million words in the 20 segments of
# 100,000 articles, most of them in every segment, at a quarter of a microsecond each.  The writer keeps their
# union beside the index instead (``derived/union.<key>.npz``, key: a digest of the segment ids), extended
# with each new segment's words and built again from all segments when one went away.

UNION = "union"


def _union_key(segids: Iterable[str]) -> str:
    return hashlib.blake2b("\n".join(sorted(segids)).encode(), digest_size=10).hexdigest()


def _union_path(folder: Path, segids: Iterable[str]) -> Path:
    return folder / DERIVED / f"{UNION}.{_union_key(segids)}.npz"


def saved_union(folder: str | Path, segids: list[str]) -> list[str] | None:
    """The union of the segments' words, if the derived file for exactly these segments is there and sound."""
    if any(s.startswith("@") for s in segids):
        return None
    try:
        saved = load_arrays(_union_path(Path(folder), segids), FORMAT)
        if sorted(_split(saved["segments"])) != sorted(segids):
            raise ValueError("made for other segments")
        return _split(saved["words"])
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError, KeyError) as exc:
        _log.warning("derived word union in %s unreadable (%s); reading the segments' words", folder, exc)
        return None


def _split(array: np.ndarray) -> list[str]:
    blob = array.tobytes()
    return blob.decode("utf-8").split("\n") if blob else []


def _blob(words: Iterable[str]) -> np.ndarray:
    return np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8)


def write_union(folder: str | Path, segments: list[tuple[str, Callable[[], SegmentVocabulary]]]) -> None:
    """Keep the union of the segments' words for their commit: the previous commit's union (when every
    segment it covered is still there) plus the new segments' words, or all segments' words; the unions of
    other segment sets are removed."""
    folder = Path(folder)
    segids = [segid for segid, _ in segments]
    if not segments or any(s.startswith("@") for s in segids):
        return
    target = _union_path(folder, segids)
    olds = sorted((folder / DERIVED).glob(f"{UNION}.*.npz"), key=lambda p: p.stat().st_mtime, reverse=True) \
        if (folder / DERIVED).is_dir() else []
    if target not in olds:
        words: set[str] | None = None
        for old in olds[:1]:
            try:
                saved = load_arrays(old, FORMAT)
                covered = set(_split(saved["segments"]))
                if covered <= set(segids):
                    words = set(_split(saved["words"]))
            except (OSError, ValueError, KeyError):
                words = None
        if words is None:
            covered, words = set(), set()
        for segid, vocabulary in segments:
            if segid not in covered:
                words.update(vocabulary().words())
        save_arrays(target, FORMAT, segments=_blob(segids), words=_blob(sorted(words)))
    for old in olds:
        if old != target:
            try:
                old.unlink()
            except OSError:
                pass


def _derived_path(folder: Path, segid: str, fieldname: str) -> Path:
    return folder / DERIVED / f"{segid}.{fieldname}.vocab.npz"


def is_derived(folder: str | Path, segid: str, fieldname: str) -> bool:
    """Whether the segment's derived vocabulary file is there (or cannot be, for a segment without an id)."""
    return segid.startswith("@") or _derived_path(Path(folder), segid, fieldname).exists()


def saved_vocabulary(folder: str | Path, segid: str, fieldname: str) -> SegmentVocabulary | None:
    """The segment's vocabulary as its derived file holds it; None when there is none.  Raises ValueError
    (or OSError) for a file that is damaged or of another format."""
    try:
        saved = load_arrays(_derived_path(Path(folder), segid, fieldname), FORMAT)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        vocab = SegmentVocabulary.of(saved["blob"].tobytes(), saved["df"])
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


def keep_vocabulary(folder: str | Path, segid: str, fieldname: str, terms: list[bytes], df: list[int]) -> None:
    """Write a new segment's derived file from what its writer has in memory (sorted UTF-8 terms, each
    one's document count): what ``read_vocabulary`` would read back from its term table, without the
    Python step per term after the commit."""
    vocab = SegmentVocabulary.of(b"".join(t + b"\n" for t in terms), np.array(df, dtype=np.int32))
    _save(_derived_path(Path(folder), segid, fieldname), vocab)


def _save(path: Path, vocab: SegmentVocabulary) -> None:
    save_arrays(path, FORMAT, blob=np.frombuffer(vocab.blob, dtype=np.uint8), df=vocab.df)


def load_arrays(path: Path, format: int) -> dict[str, np.ndarray]:
    """The arrays of a derived file of ``format``.  Raises FileNotFoundError when there is none, ValueError
    (or OSError) when it is damaged or of another format."""
    try:
        with np.load(path) as saved:
            arrays = {name: saved[name] for name in saved.files}
    except (zipfile.BadZipFile, EOFError, AttributeError) as exc:  # cut short, or not an npz at all
        raise ValueError(f"not a complete array file ({exc})") from None
    found = arrays.pop("format", None)
    if found is None or int(found) != format:
        raise ValueError(f"format {None if found is None else int(found)}, not {format}")
    return arrays


def save_arrays(path: Path, format: int, **arrays: np.ndarray) -> None:
    """Write the derived file ``path`` whole or not at all; an index directory that cannot be written to
    is fine (readers derive again)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(exist_ok=True)
        with open(tmp, "wb") as f:
            cast(Any, np.savez)(f, format=np.int32(format), **arrays)  # its stub types **kwds as flags
        os.replace(tmp, path)
    except OSError as exc:
        _log.debug("derived file %s not written: %s", path, exc)
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
        owner = entry.name.split(".", 1)[0]
        if entry.name.startswith(".") or (owner not in keep and owner != UNION):  # write_union keeps its own
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    return removed
