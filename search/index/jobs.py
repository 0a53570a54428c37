"""What a parse-pool worker does: read a file or a chunk of one, parse it, and prepare its articles.

A job returns a :class:`Piece`: the articles and failures of a whole file or
of one chunk of a JSON Lines file, in file order, plus what the writer needs
and is cheaper to work out here, on both cores: each article's language (when
its metadata names none) and its same-story terms.  A job never raises for
bad input: an unexpected error costs the one record (or file) it happened on.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from search import analysis
from search.index import stories
from search.ingest import JSONL_SUFFIXES, Limits, SourceFile, format_suffix, langid, parse, read_bytes, stream
from search.ingest.article import Article, OverLimit, ReadError, ReadFailure
from search.ingest.jsonish import parse_jsonl_bytes

READ = "read"  # parse and prepare for writing
REPORT = "report"  # parse only to report the failures of a damaged file the index already has
UNCHANGED = "unchanged"
FAILED = "failed"  # the file could not be read at all


@dataclass
class Piece:
    """Articles and failures of a file (or of one chunk of it), in file order."""

    source: SourceFile
    items: list[Article | ReadFailure] = field(default_factory=list)
    terms: list[stories.StoryTerms | None] = field(default_factory=list)  # aligned with items (READ only)
    status: str = READ
    digest: str = ""
    last: bool = True  # the file's last piece
    nbytes: int = 0  # bytes of the file on disk this piece accounts for (progress)


@dataclass(frozen=True)
class FileJob:
    """Read a whole file, unless the index has this version already."""

    source: SourceFile
    limits: Limits
    clean: frozenset[str] = frozenset()  # digests indexed cleanly: unchanged
    damaged: frozenset[str] = frozenset()  # digests indexed with failures: report them again only


@dataclass(frozen=True)
class ChunkJob:
    """Read and parse one chunk of a JSON Lines file (``stream``)."""

    source: SourceFile
    chunk: stream.Chunk
    data: bytes | None  # a gzip file's chunk, decompressed by the indexer; None: read it here
    identity: tuple[int, int]
    legacy: bool
    limits: Limits
    status: str
    digest: str
    last: bool
    nbytes: int


def before_fork() -> None:
    """Load in the indexer what every worker needs, once: the forked workers share it instead of each
    loading its own at its first job, while the others wait for it (the word list the German story
    terms decompound with, 0.8 s)."""
    analysis.signature_chain("de")


def read_file(job: FileJob) -> Piece:
    source = job.source
    try:
        data = read_bytes(source, _whole_file_limits(source, job.limits))
    except ReadError as exc:
        failed = Piece(source, [ReadFailure(source.name, exc.reason, exc.line)], status=FAILED, nbytes=source.size)
        return (_unchanged_if_known(job) if isinstance(exc, OverLimit) else None) or failed
    digest = hashlib.sha256(data).hexdigest()
    if digest in job.clean:
        return Piece(source, status=UNCHANGED, digest=digest, nbytes=source.size)
    status = REPORT if digest in job.damaged else READ
    items = parse(source, data, job.limits)
    return Piece(source, items, prepare(items) if status == READ else [], status, digest, nbytes=source.size)


def _whole_file_limits(source: SourceFile, limits: Limits) -> Limits:
    """JSON Lines have no per-file limit (their records have one): a small one is read whole only
    because it is small (``stream.STREAM_ABOVE``), and so is a UTF-16 one, which cannot be split."""
    if format_suffix(source.path) in JSONL_SUFFIXES:
        return Limits(max(limits.max_file_bytes, 16 * stream.STREAM_ABOVE), limits.max_record_bytes)
    return limits


def _unchanged_if_known(job: FileJob) -> Piece | None:
    """A plain file over the limit that the index already has (indexed with a higher limit) is
    unchanged, not a failure: hashed in blocks, it never needs the memory the limit protects."""
    if not job.clean or job.source.path.name.lower().endswith(".gz"):
        return None
    try:
        digest = stream.digest(job.source)
    except ReadError:
        return None
    if digest in job.clean:
        return Piece(job.source, status=UNCHANGED, digest=digest, nbytes=job.source.size)
    return None


def read_chunk(job: ChunkJob) -> Piece:
    source, chunk = job.source, job.chunk
    piece = Piece(source, status=job.status, digest=job.digest, last=job.last, nbytes=job.nbytes)
    try:
        data = job.data if job.data is not None else stream.read_chunk(source, chunk, job.identity)
    except ReadError as exc:
        piece.items = [ReadFailure(source.name, f"{exc.reason} (lines from here on are not read)", chunk.first_line)]
        return piece
    piece.items = parse_jsonl_bytes(data, source=source, first_line=chunk.first_line, legacy=job.legacy,
                                    limits=job.limits)
    if job.status == READ:
        piece.terms = prepare(piece.items)
    return piece


def prepare(items: list[Article | ReadFailure]) -> list[stories.StoryTerms | None]:
    """Each article's language (when its metadata names none) and story terms; an article whose
    preparation fails becomes a failure in place."""
    terms: list[stories.StoryTerms | None] = []
    for i, item in enumerate(items):
        if not isinstance(item, Article):
            terms.append(None)
            continue
        try:
            if not item.language:
                item.language = detect_language(item)
            terms.append(stories.story_terms(item))
        except Exception as exc:  # noqa: BLE001 - one hostile article costs itself only
            items[i] = ReadFailure(item.path, f"unreadable record ({type(exc).__name__}: {str(exc)[:120]})",
                                   item.line)
            terms.append(None)
    return terms


def detect_language(article: Article) -> str:
    """Language of an article whose metadata names none: title, teaser and the body's start."""
    return langid.detect(f"{article.title}\n{article.teaser}\n{article.body[:2000]}")[0]
