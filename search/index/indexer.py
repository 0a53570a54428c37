"""Indexing: files in, Whoosh documents out, with a summary a user can act on.

Flow per run: discover files -> read and hash them -> skip files whose hash
is already indexed -> parse (in a process pool, both cores) -> detect
language -> learn compound vocabulary -> assign stories -> write and commit
per batch.  A file's documents carry ``src`` = "<path>\\x00<sha256>", so a
re-run knows unchanged files from the index itself and replaces the
documents of a changed file in place.
"""
from __future__ import annotations

import gc
import hashlib
import os
import re
import shutil
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from whoosh.query import And, Or, Term

from search import analysis
from search.backend.whoosh import segments
from search.backend.whoosh.schema import TEXT_ROLES, build_schema, pack_doc, text_field, unpack_doc
from search.backend.whoosh.store import open_index, write_lock
from search.config import Config
from search.errors import StichwortError
from search.index import stories
from search.ingest import SourceFile, discover, langid, parse, read_bytes
from search.ingest.article import Article, ReadError, ReadFailure

CANDIDATE_TERMS = 12  # a same-story candidate shares one of the article's top terms
PARTIAL = "\x00partial"  # src suffix of the documents of a file not yet committed completely
Progress = Callable[[int, int, float], None]  # (docs done, files done, seconds)


@dataclass
class Summary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failures: list[ReadFailure] = field(default_factory=list)
    seen_ids: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def as_dict(self) -> dict:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "deleted": self.deleted, "failed": self.failed,
                "failures": [{"path": f.path, "line": f.line, "reason": f.reason} for f in self.failures]}


@dataclass
class Parsed:
    source: SourceFile
    digest: str
    items: list[Article | ReadFailure]
    pending: int = 0  # articles of this file not yet handed to a writer
    tfs: dict[str, Counter] = field(default_factory=dict)  # story terms per article id, worked out by the reader


def _src_key(source: SourceFile) -> str:
    return str(source.path)


def _load(job: tuple[SourceFile, int, frozenset[str]]) -> Parsed | str:
    """Worker: read, hash, and parse one file unless the index has this version already."""
    source, max_bytes, known = job
    try:
        data = read_bytes(source, max_bytes)
    except ReadError as exc:
        return Parsed(source, "", [ReadFailure(str(source.path), exc.reason, exc.line)])
    except OSError as exc:  # a race with the file system after discovery
        return Parsed(source, "", [ReadFailure(str(source.path), exc.strerror or str(exc))])
    digest = hashlib.sha256(data).hexdigest()
    if f"{_src_key(source)}\x00{digest}" in known:
        return "unchanged"
    items = parse(source, data)
    tfs = {}
    for item in items:
        if isinstance(item, Article):
            if not item.language:
                item.language = _detect_language(item)
            tfs[item.id] = _story_terms(item)
    return Parsed(source, digest, items, tfs=tfs)


_forker_pid = 0


def _remember_forker() -> None:
    global _forker_pid
    _forker_pid = os.getpid()


def _die_with_parent() -> None:
    """In every process the indexer forks (its parse pool): die when the indexer dies.

    Otherwise they wait forever on their job queue after a SIGKILL of the indexer, holding the
    write lock they inherited.
    """
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass
    if os.getppid() != _forker_pid:  # the parent died before prctl took effect
        os._exit(1)


_fork_hooks = False


def _install_fork_hooks() -> None:
    global _fork_hooks
    if not _fork_hooks:
        os.register_at_fork(before=_remember_forker, after_in_child=_die_with_parent)
        _fork_hooks = True


class Indexer:
    """Writes articles into the index at ``config.index_dir``."""

    def __init__(self, config: Config, progress: Progress | None = None):
        self.config = config
        self.languages = list(config["languages"])
        self.progress = progress
        self.max_bytes = int(config["indexing"]["max_file_mb"] * 1024 * 1024)
        self.batch_size = int(config["indexing"]["batch_size"])
        self.workers = int(config["indexing"]["workers"])

    # -- public -------------------------------------------------------------
    def index_paths(self, paths: Iterable[str | os.PathLike], rebuild: bool = False, wait: float = 0.0) -> Summary:
        summary = Summary()
        index_dir = self.config.index_dir
        _install_fork_hooks()
        with write_lock(index_dir, wait):
            if rebuild and index_dir.exists():
                for child in index_dir.iterdir():
                    if child.name != "WRITELOCK.stichwort":
                        shutil.rmtree(child) if child.is_dir() else child.unlink()
            ix = self._open(index_dir)
            all_keys = self._known_sources(ix)
            known = frozenset(k for k in all_keys if not k.endswith(PARTIAL))  # files indexed completely
            sources = []
            for item in discover(paths):
                (summary.failures.append(item) if isinstance(item, ReadFailure) else sources.append(item))
            with self._run_context(ix):
                self._index_sources(ix, sources, known, all_keys, summary)
        return summary

    def _index_sources(self, ix, sources: list[SourceFile], known: frozenset[str], all_keys: frozenset[str],
                       summary: Summary) -> None:
        batch: list[tuple[Parsed, Article]] = []
        stale: list[str] = []  # src terms of the old versions of changed files
        start, docs, files = time.monotonic(), 0, 0
        for parsed in self._parse_all(sources, known):
            files += 1
            if parsed == "unchanged":
                summary.unchanged += 1
                continue
            prefix = _src_key(parsed.source) + "\x00"
            stale += [k for k in all_keys if k.startswith(prefix)]
            accepted = []
            for item in parsed.items:
                if isinstance(item, ReadFailure):
                    summary.failures.append(item)
                elif item.id in summary.seen_ids:
                    summary.failures.append(ReadFailure(
                        item.path or str(parsed.source.path),
                        f"duplicate id {item.id!r} (first seen in {summary.seen_ids[item.id]})", item.line))
                else:
                    summary.seen_ids[item.id] = item.path or str(parsed.source.path)
                    accepted.append(item)
            parsed.pending = len(accepted)
            for item in accepted:
                batch.append((parsed, item))
                if len(batch) >= self.batch_size:  # commit inside big files too: bounded memory
                    docs += self._write(ix, batch, stale, summary)
                    batch, stale = [], []
            if self.progress:
                self.progress(docs + len(batch), files, time.monotonic() - start)
        if batch or stale:
            docs += self._write(ix, batch, stale, summary)
        self._land()
        if docs:
            segments.compact(ix, self.workers)
        if self.progress:
            self.progress(docs, files, time.monotonic() - start)

    def index_articles(self, articles: list[Article], origin: str = "api") -> Summary:
        """Index already-built articles (evaluation corpora, generated data) in batches."""
        summary = Summary()
        source = SourceFile(Path(origin), origin)
        parsed = Parsed(source, "articles", [])
        with write_lock(self.config.index_dir):
            ix = self._open(self.config.index_dir)
            with self._run_context(ix):
                for a in articles:
                    if not a.language:
                        a.language = _detect_language(a)
                analysis.learn_words(set().union(*(_surface_words(a) for a in articles)) if articles else ())
                for i in range(0, len(articles), self.batch_size):
                    self._write(ix, [(parsed, a) for a in articles[i:i + self.batch_size]], [], summary)
                self._land()
                segments.compact(ix, self.workers)
        return summary

    def delete(self, ids: list[str]) -> int:
        with write_lock(self.config.index_dir):
            ix = open_index(self.config.index_dir, None)
            writer = ix.writer()
            count = sum(writer.delete_by_term("id", doc_id) for doc_id in ids)
            writer.commit()
        return count

    # -- steps --------------------------------------------------------------
    def _open(self, index_dir: Path):
        """The index, created if missing; one written by an older Stichwort (or for fewer
        languages) lacks fields this one writes, and is refused before anything is written."""
        wanted = build_schema(self.languages)
        ix = open_index(index_dir, wanted, create=True)
        missing = sorted(set(wanted.names()) - set(ix.schema.names()))
        if missing:
            raise StichwortError(
                f"the index in {index_dir} was built by an older Stichwort or for other languages: it lacks "
                f"the field(s) {', '.join(missing)}; rebuild it with: stichwort index --rebuild PATH... "
                f"--index-dir {index_dir}")
        return ix

    def _known_sources(self, ix) -> frozenset[str]:
        with ix.reader() as reader:
            return frozenset(t.decode("utf-8") for t in reader.lexicon("src"))

    @contextmanager
    def _run_context(self, ix) -> Iterator[None]:
        """What one run keeps: the index as the run found it (for same-story candidates and their
        document frequencies) and the memory of the articles written since."""
        self._learn_index_vocabulary(ix)
        self._run = stories.RunMemory(self.config["stories"]["window_days"])
        self._before_df = {}
        self._before = ix.searcher() if ix.doc_count() else None
        self._in_flight: segments.Batch | None = None
        collecting = gc.isenabled()
        gc.disable()  # see _land
        try:
            yield
            self._land()
        finally:
            if collecting:
                gc.enable()
            if self._in_flight is not None:  # an error or interrupt: the batch in flight is not committed
                self._in_flight.cancel()
                self._in_flight = None
            if self._before is not None:
                self._before.close()
            self._before = None

    def _learn_index_vocabulary(self, ix) -> None:
        with ix.reader() as reader:
            analysis.learn_index_words(reader)

    def _parse_all(self, sources: list[SourceFile], known: frozenset[str]) -> Iterator[Parsed | str]:
        """Parsed files in order; a process pool reads and parses ahead, at most a few files in flight."""
        jobs = ((s, self.max_bytes, known) for s in sources)
        if self.workers <= 1 or len(sources) < 8:
            yield from map(_load, jobs)
            return
        with ProcessPoolExecutor(self.workers) as pool:
            pending: deque = deque()
            for job in jobs:
                pending.append(pool.submit(_load, job))
                if len(pending) >= 4 * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def _write(self, ix, batch: list[tuple[Parsed, Article]], stale: list[str], summary: Summary) -> int:
        """Prepare ``batch`` (vocabulary, stories, records) while the previous one is still being
        written, then commit that one and hand this one to the writers (``segments.Batch``)."""
        articles = [a for _, a in batch]
        analysis.learn_words(set().union(*(_surface_words(a) for a in articles)) if articles else ())
        signed = self._assign_stories([(a, p.tfs.get(a.id)) for p, a in batch])
        prepared = []
        for (parsed, article), sig in zip(batch, signed):
            parsed.pending -= 1  # counted before any skip, so a file's last article is always seen
            prepared.append((parsed, article, self.record(article, parsed, sig, final=parsed.pending <= 0)))
        self._land()
        writer = segments.open_writer(ix)  # holds the lock, deletes, commits; segments.Batch writes
        try:
            with writer.searcher() as searcher:
                for key in stale:  # documents of the old version of a changed file
                    old_ids = {searcher.stored_fields(d)["id"] for d in searcher.docs_for_query(Term("src", key))}
                    summary.deleted += len(old_ids - summary.seen_ids.keys())  # left the file for good
                    writer.delete_by_term("src", key)
                records = []
                # A run that began on an empty index can only meet its own ids, and those are unique
                # (seen_ids): no look-up per article, which costs one per segment.
                lookup = self._before is not None
                for parsed, article, record in prepared:
                    existing = searcher.document(id=article.id) if lookup else None
                    owner = existing["src"].split("\x00")[0] if existing else None
                    if owner and owner != _src_key(parsed.source) and os.path.exists(owner):
                        summary.failures.append(ReadFailure(
                            article.path or str(parsed.source.path),
                            f"duplicate id {article.id!r} (already indexed from {owner})", article.line))
                        continue
                    if existing is not None:
                        writer.delete_by_term("id", article.id, searcher=searcher)
                        summary.updated += 1
                    else:
                        summary.added += 1
                    records.append(record)
            self._in_flight = segments.Batch(writer, self.config.index_dir, records, self.workers)
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise
        return len(batch)

    def _land(self) -> None:
        """Commit the batch in flight, if any."""
        batch, self._in_flight = self._in_flight, None
        if batch is not None:
            batch.commit()
            # The cycle collector runs once per batch, not every 700 allocations: its full passes over a
            # big run's heap (and, in the forked writers, over the heap they inherit) were a tenth of the CPU.
            gc.collect()

    def _assign_stories(self, batch: list[tuple[Article, Counter | None]]) -> list[stories.Signed]:
        """Each article's signature and story: candidates from this run's memory and, when the run
        began on a non-empty index, from that index (a searcher kept from the start)."""
        before, run = self._before, self._run
        tfs = []
        for a, tf in batch:
            tf = _story_terms(a) if tf is None else tf
            tfs.append((analysis.language_of(a.language), tf))
            run.count(tf)  # the whole batch counts towards document frequencies, as if committed
        n_docs = run.n_docs + (before.doc_count() if before else 0)
        window = self.config["stories"]["window_days"]
        threshold = self.config["stories"]["threshold"]
        index_df = self._before_df

        def df(field: str, term: str) -> int:
            if before is None:
                return run.df[term]
            key = (field, term)
            if key not in index_df:
                index_df[key] = before.doc_frequency(field, term)
            return run.df[term] + index_df[key]

        signed: list[stories.Signed] = []
        idfs: dict[str, dict[str, float]] = {}  # per field: document frequencies stand still within a batch
        for (a, _), (lang, tf) in zip(batch, tfs):
            field = text_field("body", lang)
            known = idfs.setdefault(field, {})
            for t in [t for t in tf if t not in known]:
                known[t] = stories.idf(df(field, t), n_docs)
            weights = stories.signature(tf, known)
            doc = stories.Signed(a.id, lang, a.date, weights, location=a.location)
            top = list(weights)[:CANDIDATE_TERMS]  # a signature lists its terms by weight, heaviest first
            candidates = run.candidates(doc, top)
            if before is not None:
                candidates += self._index_candidates(before, doc, field, top, window)
            match = stories.best_match(doc, candidates, threshold, window)
            doc.story = match.story if match else a.id
            run.add(doc, top)
            signed.append(doc)
        return signed

    def _index_candidates(self, searcher, doc: stories.Signed, field: str, top: list[str],
                          window_days: float) -> list[stories.Signed]:
        """Articles indexed before this run sharing top terms; a dated article's only from within the
        window (a few "day" terms), so old look-alikes do not crowd the few hits."""
        if not top or searcher.doc_count() == 0:
            return []
        query = Or([Term(field, t) for t in top])
        if doc.date is not None:
            query = And([Or([Term("day", d) for d in stories.days_around(doc.date, window_days)]), query])
        hits = searcher.search(query, limit=8, optimize=False)
        found = []
        for hit in hits:
            stored = unpack_doc(hit.fields())
            if hit["id"] == doc.id:
                continue
            found.append(stories.Signed(hit["id"], stored.get("language", ""), _parse_date(stored.get("date")),
                                        stored.get("signature", {}), hit.get("story") or hit["id"],
                                        stored.get("location") or ""))
        return found

    def record(self, a: Article, parsed: Parsed, sig: stories.Signed, final: bool = True) -> dict:
        """The Whoosh document for one article."""
        lang = analysis.language_of(a.language)
        if lang not in self.languages:
            lang = analysis.NEUTRAL
        doc = {
            "id": a.id, "title": a.title, "teaser": a.teaser, "body": a.body, "url": a.url,
            "location": a.location, "sources": a.sources, "category": a.category,
            "date": a.date.isoformat() if a.date else None, "language": a.language or lang,
            "publisher": a.publisher, "extra": a.extra, "path": a.path or str(parsed.source.path),
            "line": a.line, "signature": {t: round(w, 4) for t, w in sig.weights.items()},
        }
        rec = {
            # Only the commit with a file's last article marks the file as indexed; the parts before
            # it are "partial", so a run killed in between reads the file again.
            "id": a.id, "doc": pack_doc(doc),
            "src": f"{_src_key(parsed.source)}\x00{parsed.digest}" + ("" if final else PARTIAL),
            "exact": f"{a.title}\n{a.teaser}\n{a.body}", "language": doc["language"], "story": sig.story,
        }
        for role in TEXT_ROLES:
            value = getattr(a, role)
            if value:
                rec[text_field(role, lang)] = value
        # Every column gets a value, empty or not: see facets.column_value.
        rec.update(location_col=a.location.encode(), source_col="\t".join(a.sources).encode(),
                   category_col=a.category.encode())
        if a.location:
            rec.update(loc=a.location, location=a.location.lower())
        if a.sources:
            rec["source"] = ",".join(a.sources)
        if a.category:
            rec["category"] = a.category.lower()
        if a.date:
            rec.update(date=a.date, month=a.date.strftime("%Y-%m"), day=a.date.strftime("%Y-%m-%d"))
        return rec


def _story_terms(a: Article) -> Counter:
    """The terms same-story detection and related coverage compare (the title counts twice).
    This runs in the reader processes, ahead of and apart from the writer."""
    text = f"{a.title}\n{a.title}\n{a.teaser}\n{a.body[:6000]}"
    return analysis.signature_counts(analysis.language_of(a.language), text)


def _detect_language(a: Article) -> str:
    """Language of an article whose metadata names none: title, teaser and the body's start."""
    return langid.detect(f"{a.title}\n{a.teaser}\n{a.body[:2000]}")[0]


_LETTERS = re.compile(r"[^\W\d_]{4,}")


def _surface_words(a: Article) -> set[str]:
    """Lower-case words of 4+ letters: the splitter's corpus vocabulary (parts are never shorter)."""
    return set(_LETTERS.findall(f"{a.title}\n{a.teaser}\n{a.body}".lower()))


def _parse_date(value: str | None):
    from datetime import datetime
    return datetime.fromisoformat(value) if value else None
