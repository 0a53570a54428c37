"""Consistency check of an index directory: is what a reader sees whole and sane?

``check_index(index_dir)`` returns a list of problems (empty = consistent).
It opens the latest commit (the newest TOC generation), then for every
segment reads every live document's stored fields, unpacks the display
record, checks the required keys and that the id is unique and findable
through the ``id`` postings, reads the postings of a sample of terms of
every indexed field (ids in range, sorted, agreeing with the term's document
frequency), reads the sortable columns, and compares the document counts of
segments, reader, searcher and index.

It only reads: it takes no lock and can run while an indexer writes (it then
checks the commit that was the latest when it started).  Used by
``stichwort check`` and the crash tests.
"""
from __future__ import annotations

import re
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from search.backend.whoosh import vocabulary
from search.backend.whoosh.schema import decode_doc
from search.index.fields import SURFACE_FIELD

#: Stored fields every document has (see ``Indexer.record``).
REQUIRED_STORED = ("id", "doc", "src", "story")
#: Keys of the packed display record every document has.
REQUIRED_DOC_KEYS = ("id", "title", "teaser", "body", "url", "location", "sources", "category", "date",
                     "language", "publisher", "path")
#: Sortable columns the engine reads per document.
COLUMNS = ("story", "language", "date", "month", "location_col", "source_col", "category_col")
MAX_PROBLEMS = 50


@dataclass
class CheckReport:
    index_dir: str
    generation: int = -1
    segments: int = 0
    documents: int = 0
    deleted: int = 0
    terms_checked: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append("... more problems not listed")

    def as_dict(self) -> dict[str, Any]:
        return {"index_dir": self.index_dir, "ok": self.ok, "generation": self.generation,
                "segments": self.segments, "documents": self.documents, "deleted": self.deleted,
                "terms_checked": self.terms_checked, "problems": self.problems, "notes": self.notes}


def check_index(index_dir: str | Path, sample_terms: int | None = 40) -> list[str]:
    """Problems found in the index at ``index_dir``; an empty list means consistent.

    ``sample_terms`` postings lists are read per field and segment (evenly spread over the
    lexicon); ``None`` reads all of them (~30 s for 10,000 articles), which also finds damage
    inside a segment file that a sample misses - Whoosh keeps no checksums.
    """
    return inspect_index(index_dir, sample_terms).problems


def inspect_index(index_dir: str | Path, sample_terms: int | None = 40) -> CheckReport:
    """The full report: counts, problems and notes (leftovers that are not problems)."""
    from whoosh import index as windex

    index_dir = Path(index_dir)
    report = CheckReport(str(index_dir))
    if not index_dir.is_dir():
        report.problem(f"{index_dir} is not a directory")
        return report
    try:
        if not windex.exists_in(str(index_dir)):
            report.problem(f"no index in {index_dir} (no readable table of contents _MAIN_<n>.toc)")
            return report
        ix = windex.open_dir(str(index_dir))
    except Exception as exc:  # noqa: BLE001 - any failure to open is the finding
        report.problem(f"cannot open the index: {type(exc).__name__}: {exc}")
        return report
    try:
        _check(ix, index_dir, report, sample_terms)
    except Exception as exc:  # noqa: BLE001
        report.problem(f"reading the index failed: {type(exc).__name__}: {exc}")
    finally:
        ix.close()
    return report


def _open_commit(ix):
    """(TOC, reader of exactly that commit's segments).

    A commit finishing meanwhile may delete segment files of the one we read (a merge), so
    opening is retried on the newer commit, like Whoosh's own ``reader()`` does.
    """
    for attempt in range(10):
        toc = ix._read_toc()
        try:
            return toc, ix._reader(ix.storage, toc.schema, list(toc.segments), toc.generation)
        except OSError:
            if attempt == 9 or ix.latest_generation() == toc.generation:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")  # pragma: no cover


def _check(ix, index_dir: Path, report: CheckReport, sample_terms: int | None) -> None:
    from whoosh.searching import Searcher

    toc, reader = _open_commit(ix)  # the commit we check, and exactly its segments
    report.generation = toc.generation
    report.segments = len(toc.segments)
    _note_leftovers(index_dir, toc, report)
    try:
        ids: Counter[str] = Counter()
        live_total = deleted_total = 0
        for leaf, base in reader.leaf_readers():
            live, deleted = _check_segment(leaf, base, ids, report, sample_terms)
            if sample_terms is None:  # reading a term table whole: the full check only
                _check_derived(leaf, base, index_dir, report)
            live_total += live
            deleted_total += deleted
        report.documents, report.deleted = live_total, deleted_total
        for doc_id, n in ids.items():
            if n > 1:
                report.problem(f"id {doc_id!r} is stored by {n} live documents")
        counts = {"segments' live documents": live_total, "reader.doc_count()": reader.doc_count(),
                  "TOC segments' doc_count()": sum(s.doc_count() for s in toc.segments),
                  "searcher.doc_count()": Searcher(reader, closereader=False).doc_count()}
        if len(set(counts.values())) != 1:
            report.problem("document counts disagree: " + ", ".join(f"{k} = {v}" for k, v in counts.items()))
        if reader.doc_count_all() != sum(s.doc_count_all() for s in toc.segments):
            report.problem(f"reader.doc_count_all() = {reader.doc_count_all()} but the segments hold "
                           f"{sum(s.doc_count_all() for s in toc.segments)}")
        _check_columns(reader, report)
    finally:
        reader.close()


def _check_segment(leaf, base: int, ids: Counter, report: CheckReport,
                   sample_terms: int | None) -> tuple[int, int]:
    if not hasattr(leaf, "_terms"):  # an empty index: whoosh's EmptyReader
        return 0, 0
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    name = segment.segment_id() if segment is not None else f"reader at {base}"
    total = leaf.doc_count_all()
    live = 0
    for docnum in range(total):
        if leaf.is_deleted(docnum):
            continue
        live += 1
        where = f"segment {name} document {docnum}"
        try:
            stored = leaf.stored_fields(docnum)
        except Exception as exc:  # noqa: BLE001
            report.problem(f"{where}: stored fields unreadable: {type(exc).__name__}: {exc}")
            continue
        missing = [k for k in REQUIRED_STORED if not stored.get(k)]
        if missing:
            report.problem(f"{where}: stored fields {', '.join(missing)} missing")
            if "id" in missing:
                continue
        doc_id = stored["id"]
        ids[doc_id] += 1
        doc = _unpack(stored.get("doc"), where, report)
        if doc is not None:
            absent = [k for k in REQUIRED_DOC_KEYS if k not in doc]
            if absent:
                report.problem(f"{where} ({doc_id!r}): display record lacks {', '.join(absent)}")
            if doc.get("id") != doc_id:
                report.problem(f"{where}: display record id {doc.get('id')!r} != stored id {doc_id!r}")
            if not str(doc.get("title") or "").strip():
                report.problem(f"{where} ({doc_id!r}): empty title")
        if "\x00" not in str(stored.get("src", "\x00")):
            report.problem(f"{where} ({doc_id!r}): src {stored.get('src')!r} is not '<path>\\x00<sha256>'")
        postings = _ids(leaf, "id", doc_id)
        if docnum not in postings:
            report.problem(f"{where}: id {doc_id!r} does not find this document through the id postings")
    if live != leaf.doc_count():
        report.problem(f"segment {name}: {live} live documents stored, doc_count() says {leaf.doc_count()}")
    _check_postings(leaf, name, total, report, sample_terms)
    return live, total - live


def _check_derived(leaf, base: int, index_dir: Path, report: CheckReport) -> None:
    """A segment's derived vocabulary file, where there is one, says what its term table says."""
    if not hasattr(leaf, "_terms"):
        return
    segid = vocabulary.segment_id(leaf, base)
    if segid.startswith("@"):
        return
    try:
        saved = vocabulary.saved_vocabulary(index_dir, segid, SURFACE_FIELD)
    except (OSError, ValueError) as exc:
        report.notes.append(f"segment {segid}: derived vocabulary unreadable ({exc}); readers rebuild it")
        return
    if saved is None:
        return
    fresh = vocabulary.read_vocabulary(leaf, SURFACE_FIELD)
    if saved.blob != fresh.blob or not np.array_equal(saved.df, fresh.df):
        report.problem(f"segment {segid}: the derived vocabulary in {index_dir / vocabulary.DERIVED} differs "
                       "from the segment's terms; delete that file (readers rebuild it)")


def _unpack(raw: Any, where: str, report: CheckReport) -> dict | None:
    try:
        doc = decode_doc(raw)
    except (zlib.error, ValueError, TypeError) as exc:
        report.problem(f"{where}: display record unreadable: {type(exc).__name__}: {exc}")
        return None
    if not isinstance(doc, dict):
        report.problem(f"{where}: display record is a {type(doc).__name__}, not an object")
        return None
    return doc


def _ids(leaf, fieldname: str, text: str | bytes) -> list[int]:
    try:
        return list(leaf.postings(fieldname, text).all_ids())
    except Exception:  # noqa: BLE001 - TermNotFound: the caller reports the absence
        return []


def _check_postings(leaf, name: str, total: int, report: CheckReport, sample_terms: int | None) -> None:
    """Read the postings of an evenly spaced sample of each indexed field's terms (all if None)."""
    for fieldname in sorted(leaf.indexed_field_names()):
        try:
            terms = list(leaf.lexicon(fieldname))
        except Exception as exc:  # noqa: BLE001
            report.problem(f"segment {name}: lexicon of {fieldname} unreadable: {type(exc).__name__}: {exc}")
            continue
        if not terms:
            continue
        if len(terms) != len(set(terms)) or terms != sorted(terms):
            report.problem(f"segment {name}: lexicon of {fieldname} is not sorted and unique")
        if sample_terms is None:
            sample = terms
        else:
            step = max(1, len(terms) // max(1, sample_terms))
            sample = terms[::step][:sample_terms] + [terms[-1]]
        for btext in sample:
            report.terms_checked += 1
            where = f"segment {name} field {fieldname} term {btext[:40]!r}"
            try:
                info = leaf.term_info(fieldname, btext)
                matcher = leaf._terms.matcher(fieldname, btext, leaf.schema[fieldname].format)  # deleted ones too
                raw = list(matcher.all_ids())
            except Exception as exc:  # noqa: BLE001
                report.problem(f"{where}: postings unreadable: {type(exc).__name__}: {exc}")
                continue
            if not raw:
                report.problem(f"{where}: term in the lexicon without postings")
            elif raw != sorted(set(raw)) or raw[0] < 0 or raw[-1] >= total:
                report.problem(f"{where}: postings out of order or out of range (0..{total - 1}): "
                               f"{raw[:5]}...{raw[-3:]}")
            elif len(raw) != info.doc_frequency():
                report.problem(f"{where}: {len(raw)} postings but document frequency {info.doc_frequency()}")


def _check_columns(reader, report: CheckReport) -> None:
    total = reader.doc_count_all()
    for fieldname in COLUMNS:
        if fieldname not in reader.schema or not reader.has_column(fieldname):
            continue
        try:
            column = reader.column_reader(fieldname, translate=False)  # raw: a dateless doc has no datetime
            missing = 0
            for docnum in range(total):
                try:
                    column[docnum]
                except IndexError:  # Whoosh 2.7.5: trailing documents of a segment without a value
                    missing += 1
        except Exception as exc:  # noqa: BLE001
            report.problem(f"column {fieldname} unreadable: {type(exc).__name__}: {exc}")
            continue
        if missing:
            report.notes.append(f"column {fieldname}: {missing} document(s) without a stored value")


_SEGMENT_FILE = re.compile(r"^MAIN_([0-9a-z]+)\.")
_TOC_FILE = re.compile(r"^_MAIN_(\d+)\.toc(\..*)?$")


def _note_leftovers(index_dir: Path, toc, report: CheckReport) -> None:
    """Files of unfinished commits: harmless (no commit refers to them), removed by the next commit."""
    current = {s.segment_id() for s in toc.segments}
    orphans, tmp_tocs, newer = [], [], []
    for path in index_dir.iterdir():
        seg, tocm = _SEGMENT_FILE.match(path.name), _TOC_FILE.match(path.name)
        if seg and f"MAIN_{seg.group(1)}" not in current:
            orphans.append(path.name)
        elif tocm and tocm.group(2):
            tmp_tocs.append(path.name)
        elif tocm and int(tocm.group(1)) > toc.generation:
            newer.append(path.name)
    if orphans:
        report.notes.append(f"{len(orphans)} segment file(s) of an unfinished commit: {', '.join(sorted(orphans)[:5])}")
    if tmp_tocs:
        report.notes.append(f"{len(tmp_tocs)} half-written table(s) of contents: {', '.join(sorted(tmp_tocs)[:5])}")
    if newer:
        report.notes.append(f"a newer commit appeared while checking: {', '.join(newer)}")
