"""The parse pool: reading and parsing run ahead of the writer, on every core, in file order.

Each file becomes one job (``jobs.read_file``), except JSON Lines read in
chunks (``ingest.stream``): the indexer hashes such a file (to skip it when
unchanged) and scans it for chunk boundaries, and each chunk is a job of its
own, so one big file is parsed on both cores like many small ones.  At most
``WINDOW`` jobs per worker are in flight, which bounds the memory of what is
read ahead; results come back in the order the jobs were queued.

The pool is forked (``search.processes``): its workers die with the indexer, and
share what ``jobs.before_fork`` loaded in it first.
A file whose damaged version was re-read only to report its failures and
turned out to read cleanly now (a limit was raised) is queued again with
``reread`` and read for real at the end of the run.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future

from search.index.jobs import (
    FAILED,
    READ,
    REPORT,
    UNCHANGED,
    ChunkJob,
    FileJob,
    Piece,
    before_fork,
    read_chunk,
    read_file,
)
from search.index.versions import Versions
from search.ingest import Limits, SourceFile, stream
from search.ingest.article import ReadError, ReadFailure
from search.processes import fork_pool, stop

WINDOW = 3  # jobs in flight per worker

Task = Piece | tuple[Callable[..., Piece], object]


class ParsePool:
    """Pieces of the files of a run, read by ``workers`` processes (in this one when 1)."""

    def __init__(self, workers: int, limits: Limits):
        self.workers, self.limits = workers, limits
        self._queue: deque[tuple[SourceFile, bool]] = deque()  # (source, read even if known)

    def reread(self, source: SourceFile) -> None:
        """Read ``source`` again at the end, for writing, whatever the index has of it."""
        self._queue.append((source, True))

    def pieces(self, sources: list[SourceFile], versions: Versions) -> Iterator[Piece]:
        self._queue.extend((s, False) for s in sources)
        tasks = self._tasks(versions)
        if self.workers <= 1 or (len(sources) < 2 and not any(stream.streamed(s) for s in sources)):
            for task in tasks:
                yield task if isinstance(task, Piece) else task[0](task[1])
            return
        before_fork()
        pool = fork_pool(self.workers)
        pending: deque[Piece | Future] = deque()
        try:
            while self._queue or pending:
                for task in tasks:
                    pending.append(task if isinstance(task, Piece) else pool.submit(task[0], task[1]))
                    while len(pending) > WINDOW * self.workers:
                        yield _result(pending.popleft())
                if pending:
                    yield _result(pending.popleft())  # the indexer may queue a file again meanwhile
                    tasks = self._tasks(versions)
        finally:
            stop(pool)

    def _tasks(self, versions: Versions) -> Iterator[Task]:
        while self._queue:
            source, force = self._queue.popleft()
            known = versions.of(source.name)
            clean, damaged = (frozenset(), frozenset()) if force else (frozenset(known.clean), frozenset(known.damaged))
            if stream.streamed(source):
                yield from self._chunks(source, clean, damaged)
            else:
                yield read_file, FileJob(source, self.limits, clean, damaged)

    def _chunks(self, source: SourceFile, clean: frozenset[str], damaged: frozenset[str]) -> Iterator[Task]:
        """The jobs of a JSON Lines file read in chunks (the hash and the scan happen here)."""
        try:
            digest = stream.digest(source)
            if digest in clean:
                yield Piece(source, status=UNCHANGED, digest=digest, nbytes=source.size)
                return
            status = REPORT if digest in damaged else READ
            scan = stream.scan(source, self.limits)
        except ReadError as exc:
            yield Piece(source, [ReadFailure(source.name, exc.reason, exc.line)], status=FAILED, nbytes=source.size)
            return
        if scan.wide:  # UTF-16/32 cannot be cut at newline bytes: read whole, within the file limit
            yield read_file, FileJob(source, self.limits, clean, damaged)
            return
        gzipped = stream.gzip_chunks(source, scan) if source.path.name.lower().endswith(".gz") else None
        done = 0
        for i, part in enumerate(scan.parts):
            last = i == len(scan.parts) - 1
            if isinstance(part, ReadFailure):
                yield Piece(source, [part], status=status, digest=digest, last=last)
                continue
            data = None
            if gzipped is not None:
                try:
                    data = next(gzipped)[1]
                except ReadError as exc:
                    yield Piece(source, [ReadFailure(source.name, exc.reason, part.first_line)], status=status,
                                digest=digest, nbytes=source.size - done)
                    return
            yield read_chunk, ChunkJob(source, part, data, scan.identity, scan.legacy, self.limits, status,
                                       digest, last, part.done - done)
            done = part.done


def _result(item: Piece | Future) -> Piece:
    return item if isinstance(item, Piece) else item.result()
