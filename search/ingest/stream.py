"""JSON Lines of any size: one pass finds chunks of whole lines, then each chunk is read on its own.

A JSONL export can be larger than memory wants to hold (FANG-COVID is 70 MB,
an archive dump gigabytes), so it is never read whole.  ``scan`` reads the
file once in blocks: it finds chunk boundaries at line ends (about
``CHUNK_BYTES`` each, with the line number each chunk starts at), reports a
line over the record limit without keeping it, notices whether the file has
any UTF-8 at all (if not, it is cp1252), and refuses binary files and gzip
bombs before anything is indexed.  The chunks are then parsed by the parse
pool, several at once: a worker reads a plain file's chunk itself
(``read_chunk``), a gzip file is decompressed a second time by the indexer,
which hands each chunk's bytes over (``gzip_chunks``).

A gzip file cut short or damaged in the middle keeps the chunks before the
damage and reports the rest; nothing of the file's previous version is
removed then (the indexer's rule for a file not read completely).
"""
from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from search.ingest import JSONL_SUFFIXES, format_suffix
from search.ingest.article import ReadError, ReadFailure
from search.ingest.encoding import has_utf8, wide_codec
from search.ingest.limits import MAX_GZIP_RATIO, MB, Limits, megabytes, over_record_limit
from search.ingest.sources import SourceFile, os_reason

STREAM_ABOVE = 4 * MB  # plain JSON Lines files larger than this are read in chunks (a .gz always is)
CHUNK_BYTES = 1 * MB  # about 150 news articles: small enough to spread one file over both cores
_BLOCK = 1 * MB


def streamed(source: SourceFile) -> bool:
    """Whether ``source`` is read in chunks rather than whole."""
    if format_suffix(source.path) not in JSONL_SUFFIXES:
        return False
    return _gzipped(source) or source.size > STREAM_ABOVE


@dataclass(frozen=True)
class Chunk:
    """Bytes ``start:end`` (of the decompressed stream) holding whole lines from ``first_line`` on."""

    start: int
    end: int
    first_line: int
    done: int  # bytes of the file on disk read when the scan reached ``end`` (progress)


@dataclass
class Scan:
    """A JSON Lines file cut into chunks, with the lines that could not be kept, in file order."""

    parts: list[Chunk | ReadFailure] = field(default_factory=list)
    legacy: bool = False  # no UTF-8 anywhere: the lines are cp1252
    wide: bool = False  # UTF-16/32: cannot be split at b"\n"; read whole instead
    identity: tuple[int, int] = (0, 0)  # (size, mtime_ns) when scanned: a chunk read later checks it


def digest(source: SourceFile) -> str:
    """SHA-256 of the file's bytes on disk, read in blocks."""
    sha = hashlib.sha256()
    try:
        with open(source.path, "rb") as handle:
            while block := handle.read(_BLOCK):
                sha.update(block)
    except FileNotFoundError:
        raise ReadError("no such file or directory (removed after it was listed?)") from None
    except OSError as exc:
        raise ReadError(os_reason(exc)) from None
    return sha.hexdigest()


def scan(source: SourceFile, limits: Limits) -> Scan:
    """Chunks and line failures of a JSON Lines file; ReadError when the whole file is unusable."""
    try:
        with open(source.path, "rb") as raw:
            info = os.fstat(raw.fileno())
            result = _Scanner(source, limits).run(raw, _gzipped(source))
    except FileNotFoundError:
        raise ReadError("no such file or directory (removed after it was listed?)") from None
    except OSError as exc:
        raise ReadError(os_reason(exc)) from None
    result.identity = (info.st_size, info.st_mtime_ns)
    return result


def read_chunk(source: SourceFile, chunk: Chunk, identity: tuple[int, int]) -> bytes:
    """A plain file's chunk, read by a worker; refused when the file changed since the scan."""
    try:
        with open(source.path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if (info.st_size, info.st_mtime_ns) != identity:
                raise ReadError("the file changed while it was being read; index it again")
            return os.pread(handle.fileno(), chunk.end - chunk.start, chunk.start)
    except FileNotFoundError:
        raise ReadError("the file was removed while it was being read") from None
    except OSError as exc:
        raise ReadError(os_reason(exc)) from None


def gzip_chunks(source: SourceFile, result: Scan) -> Iterator[tuple[Chunk, bytes]]:
    """Each chunk of a gzip file with its decompressed bytes (the second pass, in the indexer)."""
    chunks = [part for part in result.parts if isinstance(part, Chunk)]
    if not chunks:
        return
    try:
        with open(source.path, "rb") as raw:
            info = os.fstat(raw.fileno())
            if (info.st_size, info.st_mtime_ns) != result.identity:
                raise ReadError("the file changed while it was being read; index it again")
            blocks = gunzip_blocks(raw)
            buffer, offset = bytearray(), 0  # offset: stream position of buffer[0]
            for chunk in chunks:
                while offset + len(buffer) < chunk.end:
                    block = next(blocks, b"")
                    if not block:
                        raise ReadError("the file changed while it was being read; index it again")
                    buffer += block
                    if offset < chunk.start:  # a skipped line (over the record limit) is not kept
                        drop = min(len(buffer), chunk.start - offset)
                        del buffer[:drop]
                        offset += drop
                yield chunk, bytes(buffer[chunk.start - offset:chunk.end - offset])
                del buffer[:chunk.end - offset]
                offset = chunk.end
    except (EOFError, zlib.error) as exc:
        raise ReadError(f"corrupt gzip file: {exc}") from None
    except OSError as exc:
        raise ReadError(os_reason(exc)) from None


def _gzipped(source: SourceFile) -> bool:
    return source.path.name.lower().endswith(".gz")


def gunzip_blocks(raw: BinaryIO) -> Iterator[bytes]:
    """The decompressed bytes of a gzip stream (any number of members), at most ``_BLOCK`` at a time.

    Unlike ``gzip.GzipFile`` this hands out everything it could decompress before raising
    EOFError for a stream cut short, so the whole lines before the cut are kept."""
    inflater, fed = zlib.decompressobj(31), False
    pending = b""
    while True:
        if not pending:
            pending = raw.read(256 * 1024)
            if not pending:
                if fed and not inflater.eof:
                    raise EOFError("compressed data ends before the end of the stream")
                return
        out = inflater.decompress(pending, _BLOCK)
        fed = True
        pending = inflater.unconsumed_tail
        if inflater.eof:  # the next member, if any (zero bytes after the last one are padding)
            pending = (inflater.unused_data + pending).lstrip(b"\x00")
            if pending:
                inflater, fed = zlib.decompressobj(31), False
        if out:
            yield out


class _Scanner:
    """The state of one pass over a file's (decompressed) bytes."""

    def __init__(self, source: SourceFile, limits: Limits):
        self.source, self.limits, self.limit = source, limits, limits.max_record_bytes
        self.result = Scan()
        self.pos = 0  # stream offset of the block being looked at
        self.line_no = 1  # number of the line starting at line_start
        self.line_start = 0
        self.chunk_start, self.chunk_line = 0, 1
        self.long = False  # the current line is already over the limit
        self.utf8 = False

    def run(self, raw: BinaryIO, gzipped: bool) -> Scan:
        blocks = gunzip_blocks(raw) if gzipped else iter(lambda: raw.read(_BLOCK), b"")
        while True:
            try:
                block = next(blocks, b"")
            except (EOFError, zlib.error) as exc:
                self._cut(exc)
                break
            if not block:
                self._end()
                break
            if self.pos == 0 and self._refuse_start(block):
                return self.result
            self._block(block, raw.tell())
            if gzipped:
                self._check_ratio(raw.tell())
        self.result.legacy = not self.utf8
        if not self.result.parts:
            raise ReadError("empty file")
        return self.result

    def _refuse_start(self, block: bytes) -> bool:
        """True (and ``wide`` set) for UTF-16/32; ReadError for a binary file."""
        if wide_codec(block):
            self.result.wide = True
            return True
        nul = block.find(b"\x00")
        if nul >= 0:
            raise ReadError(f"binary file (NUL byte at offset {nul})")
        return False

    def _block(self, block: bytes, done: int) -> None:
        pos, n = self.pos, len(block)
        if not self.utf8:
            self.utf8 = has_utf8(block)
        first = block.find(b"\n")
        if first >= 0:
            end = pos + first  # the newline ending the current line
            if self.long or end - self.line_start > self.limit:
                self._long_line(end - self.line_start, done)
                self.chunk_start, self.chunk_line = end + 1, self.line_no + 1
            self.long = False
            self.line_no += block.count(b"\n")
            self.line_start = pos + block.rfind(b"\n") + 1
            if self.line_start - self.chunk_start >= CHUNK_BYTES:
                self._close(self.line_start, done)
        if pos + n - self.line_start > self.limit:
            self.long = True
        self.pos = pos + n

    def _long_line(self, size: int, done: int) -> None:
        self._close(self.line_start, done)
        self.result.parts.append(ReadFailure(self.source.name, over_record_limit(size, self.limits), self.line_no))

    def _close(self, end: int, done: int) -> None:
        if end > self.chunk_start:
            self.result.parts.append(Chunk(self.chunk_start, end, self.chunk_line, done))
        self.chunk_start, self.chunk_line = end, self.line_no

    def _end(self) -> None:
        """The last line may lack its newline."""
        if self.pos > self.line_start and self.long:
            self._long_line(self.pos - self.line_start, self.pos)
        else:
            self._close(self.pos, self.pos)

    def _cut(self, exc: BaseException) -> None:
        """Damaged gzip data: keep the whole lines before it, report the rest."""
        self._close(self.line_start, self.pos)
        reason = ("gzip data ends early (the file was cut short?)" if isinstance(exc, EOFError)
                  else f"corrupt gzip data: {exc}")
        self.result.parts.append(ReadFailure(self.source.name, f"{reason}; lines from here on are not read",
                                             self.line_no))

    def _check_ratio(self, compressed: int) -> None:
        if self.pos > self.limits.max_file_bytes and self.pos > MAX_GZIP_RATIO * max(compressed, 1):
            raise ReadError(f"gzip data expands more than {MAX_GZIP_RATIO}-fold ({megabytes(compressed)} to over "
                            f"{megabytes(self.pos)} so far): refused as a likely gzip bomb; a genuine file is "
                            f"read with a higher --max-file-mb (indexing.max_file_mb)")
