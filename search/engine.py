"""The one engine object the CLI and the web layer share.

It owns an open searcher (refreshed, never reopened per query) and turns
reader-facing parameters into results shaped exactly like the JSON API.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from whoosh import query as Q

from search import analysis
from search.backend.whoosh.schema import TEXT_ROLES, text_field, unpack_doc
from search.backend.whoosh.scoring import ColumnBM25F
from search.backend.whoosh.store import open_index
from search.config import Config, load_config
from search.errors import BadRequest, NotFound
from search.ingest import langid
from search.query.compile import Compiler, date_bounds
from search.query.parse import parse, plain_words
from search.results import facets, highlight, related, suggest

SORTS = ("relevance", "newest", "oldest")
MAX_SIZE = 100
RERANK_DEPTH = 300
HIT_FIELDS = ("title", "teaser", "url", "date", "location", "sources", "category", "language")


class Engine:
    """Search, fetch, relate and explain articles of one index."""

    def __init__(self, index_dir: str | os.PathLike | None = None, config: Config | None = None):
        self.config = config or load_config(index_dir=index_dir)
        self.index_dir = Path(index_dir) if index_dir else self.config.index_dir
        self.ix = open_index(self.index_dir, None)
        self._lock = threading.RLock()
        # B=0.5: news paragraphs vary in length less than BM25's default assumes (XQuAD de +0.004 MRR)
        self._searcher = self.ix.searcher(weighting=ColumnBM25F(B=0.5, K1=1.2))
        self._key = self._cursor_key()
        self._on_new_commit()

    # -- lifecycle ------------------------------------------------------------
    def refresh(self) -> None:
        """Pick up a newer commit; cheap when nothing changed."""
        with self._lock:
            if self.ix.latest_generation() == self._searcher.reader().generation():
                return
            # Not Searcher.refresh(): whoosh-reloaded 2.7.5's FileIndex._reader(reuse=...) appends the old
            # reader's segments to the new commit's, so segments merged away are searched twice.
            fresh = self.ix.searcher(weighting=self._searcher.weighting)
            self._searcher.close()
            self._searcher = fresh
            self._on_new_commit()

    def _signature(self, docnum: int) -> dict:
        """A document's story/related signature, cached per commit (decompressing is the cost)."""
        sig = self._signatures.get(docnum)
        if sig is None:
            sig = self._signatures[docnum] = unpack_doc(self._searcher.stored_fields(docnum)).get("signature", {})
        return sig

    def _on_new_commit(self) -> None:
        self._signatures: dict[int, dict] = {}
        reader = self._searcher.reader()
        self._columns = facets.Columns(reader)
        present = {analysis.language_of(t.decode()) for t in reader.lexicon("language")}
        configured = self.config["languages"]
        self.languages = [lang for lang in configured if lang in present] or ["de"]
        self.compiler = Compiler(self.languages, self.config.boosts)
        analysis.learn_index_words(reader)

    def close(self) -> None:
        self._searcher.close()

    @property
    def version(self) -> str:
        return str(self._searcher.reader().generation())

    # -- search ---------------------------------------------------------------
    def search(self, q: str = "", *, filters: dict[str, list[str]] | None = None,
               date_from: str | None = None, date_to: str | None = None, sort: str = "relevance",
               page: int = 1, size: int = 10, cursor: str | None = None, lang: str | None = None,
               highlight: bool = True, collapse: bool = False) -> dict[str, Any]:
        started = time.perf_counter()
        filters = {k: [v for v in vs if v] for k, vs in (filters or {}).items() if k in facets.FACET_FIELDS}
        self._check_params(sort, page, size, lang)
        fingerprint = self._fingerprint(q, filters, date_from, date_to, sort, lang, collapse, size)
        offset = self._decode_cursor(cursor, fingerprint) if cursor else (page - 1) * size
        tree, notes = parse(q)
        date_filter = self._date_filter(date_from, date_to)
        with self._lock:
            searcher = self._searcher
            reader = searcher.reader()
            languages = [analysis.language_of(lang)] if lang else langid.query_languages(q, self.languages)
            compiler = Compiler(languages, self.config.boosts) if languages != self.languages else self.compiler
            main = compiler.compile(tree)
            if lang:
                main = Q.And([main, Q.Term("language", lang.lower()[:2])])
            facet_filters = {f: Q.Or([Q.Term(facets.FACET_FIELDS[f][1], v.lower() if f != "language" else v.lower()[:2])
                                      for v in vals]) for f, vals in filters.items() if vals}
            ranked = self._ranked(searcher, main, list(facet_filters.values()) + date_filter, sort)
            docs = {docnum for docnum, _ in ranked}
            facet_rows = {}
            for f in self.config["facets"]:
                selected = filters.get(f, [])
                if selected:
                    others = [fq for g, fq in facet_filters.items() if g != f] + date_filter
                    base = self._docs(searcher, main, others)
                else:
                    base = docs
                facet_rows[f] = facets.listing(self._columns.count(f, base), selected)
            story_sizes: dict[str, int] = {}
            if collapse:
                ranked, story_sizes = self._collapse(ranked)
            page_hits = ranked[offset: offset + size]
            terms, surfaces = self._highlight_terms(searcher, main) if highlight else (set(), set())
            hits = [self._hit(searcher, docnum, score, terms, surfaces, highlight, story_sizes)
                    for docnum, score in page_hits]
            total = len(docs) if not collapse else len(story_sizes)
            suggestion = None
            if total < 3:
                suggestion = suggest.did_you_mean(reader, q, [w.text for w in plain_words(tree)],
                                                  lambda word: self._matches(reader, languages, word))
            histogram, by_year = self._columns.histograms(docs)
        next_offset = offset + size
        return {
            "query": q, "total": {"value": total, "relation": "eq"},
            "page": offset // size + 1, "size": size,
            "next_cursor": self._encode_cursor(next_offset, fingerprint) if next_offset < total else None,
            "took_ms": round((time.perf_counter() - started) * 1000, 1),
            "hits": hits, "facets": facet_rows, "date_histogram": histogram, "date_histogram_year": by_year,
            "suggestion": suggestion, "notes": notes,
        }

    @staticmethod
    def _matches(reader, languages: list[str], word: str) -> bool:
        """Whether a query word matches any document, as typed or through its analysis."""
        if reader.doc_frequency("exact", word.lower()):
            return True
        for lang in languages:
            for term in analysis.terms(lang, word)[:1]:
                if any(reader.doc_frequency(text_field(role, lang), term) for role in TEXT_ROLES):
                    return True
        return False

    def _check_params(self, sort: str, page: int, size: int, lang: str | None) -> None:
        if sort not in SORTS:
            raise BadRequest(f"sort must be one of {', '.join(SORTS)}, not {sort!r}", "sort")
        if not isinstance(size, int) or not 1 <= size <= MAX_SIZE:
            raise BadRequest(f"size must be between 1 and {MAX_SIZE}", "size")
        if not isinstance(page, int) or page < 1 or page > 100000:
            raise BadRequest("page must be a positive number (at most 100000)", "page")
        if lang and analysis.language_of(lang) == analysis.NEUTRAL and lang.lower() != analysis.NEUTRAL:
            raise BadRequest(f"unknown language {lang!r}; use one of {', '.join(analysis.LANGUAGES)}", "lang")

    def _date_filter(self, date_from: str | None, date_to: str | None) -> list[Q.Query]:
        if not date_from and not date_to:
            return []
        try:
            start = date_bounds(date_from)[0] if date_from else None
        except BadRequest as exc:
            raise BadRequest(f"date_from: {exc.reason}", "date_from") from None
        try:
            end = date_bounds(date_to)[1] if date_to else None
        except BadRequest as exc:
            raise BadRequest(f"date_to: {exc.reason}", "date_to") from None
        if start and end and start > end:
            raise BadRequest("date_from is after date_to", "date_from")
        return [Q.DateRange("date", start, end)]

    @staticmethod
    def _docs(searcher, main: Q.Query, filters: list[Q.Query]) -> set[int]:
        query = Q.And([main] + filters) if filters else main
        return set(searcher.docs_for_query(query))  # per segment: no MultiMatcher (see _ranked)

    def _ranked(self, searcher, main: Q.Query, filters: list[Q.Query], sort: str) -> list[tuple[int, float]]:
        """Every match in order, in one pass: the page, the exact total and the facets come from it."""
        # optimize=False: Whoosh 2.7.5's block-quality skipping raises "max() arg is an
        # empty sequence" on multi-segment indexes; an unlimited search never skips anyway.
        options = {"limit": None, "optimize": False, "filter": Q.And(filters) if filters else None}
        if sort == "relevance":
            results = searcher.search(main, **options)
            return self._recency(searcher, [(docnum, score) for score, docnum in results.top_n])
        results = searcher.search(main, sortedby="date", reverse=(sort == "newest"), **options)
        return [(docnum, 0.0) for _, docnum in results.top_n]

    def _collapse(self, ranked: list[tuple[int, float]]) -> tuple[list[tuple[int, float]], dict[str, int]]:
        """The best hit of each story, and each story's size among the matches."""
        stories = self._columns.values("story")
        keys = [(stories[docnum] or (str(docnum),))[0] for docnum, _ in ranked]
        sizes = Counter(keys)
        seen: set[str] = set()
        kept = []
        for key, hit in zip(keys, ranked):
            if key not in seen:
                seen.add(key)
                kept.append(hit)
        return kept, sizes

    def _recency(self, searcher, ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Newer articles lifted by up to ``1 + weight`` (config ``recency``), among the top ones."""
        rec = self.config["recency"]
        if not rec["enabled"] or not ranked:
            return ranked
        head, tail = ranked[:RERANK_DEPTH], ranked[RERANK_DEPTH:]
        dates = searcher.reader().column_reader("date")
        now = datetime.now()
        half, weight = rec["half_life_days"], rec["weight"]
        boosted = []
        for docnum, score in head:
            date = facets.column_value(dates, docnum)
            age = (now - date).days if isinstance(date, datetime) and date.year > 1900 else None
            factor = 1 + weight * 0.5 ** (max(age, 0) / half) if age is not None else 1
            boosted.append((docnum, score * factor))
        return sorted(boosted, key=lambda r: -r[1]) + tail

    def _highlight_terms(self, searcher, main: Q.Query) -> tuple[set[str], set[str]]:
        """Analysed terms (per-language fields) and surface words (``exact``) the query can match."""
        terms, surfaces = set(), set()
        reader = searcher.reader()
        for field, text in _leaf_terms(main, reader):
            if field == "exact":
                surfaces.add(text)
            elif field.split("_")[0] in TEXT_ROLES:
                terms.add(text)
        return terms, surfaces

    def _hit(self, searcher, docnum: int, score: float, terms: set[str], surfaces: set[str],
             with_highlights: bool, story_sizes: dict[str, int]) -> dict[str, Any]:
        stored = searcher.stored_fields(docnum)
        doc = unpack_doc(stored)
        story = stored.get("story") or stored["id"]
        hit = {"id": stored["id"], "score": round(float(score or 0.0), 4)}
        hit.update({k: doc.get(k) for k in HIT_FIELDS})
        hit["story_id"] = story
        hit["more_in_story"] = max(0, story_sizes.get(story, 1) - 1)
        hit["highlights"] = highlight.highlight(doc, terms, surfaces) if with_highlights else {"title": [], "body": []}
        return hit

    # -- cursors -------------------------------------------------------------
    def _cursor_key(self) -> bytes:
        path = self.index_dir / "cursor.key"
        try:
            if not path.exists():
                path.write_text(secrets.token_hex(32))
            return path.read_text().strip().encode()
        except OSError:  # a read-only index: still tamper-evident, just not secret
            return hashlib.sha256(str(self.index_dir.resolve()).encode()).hexdigest().encode()

    @staticmethod
    def _fingerprint(*parts: Any) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def _encode_cursor(self, offset: int, fingerprint: str) -> str:
        body = json.dumps({"o": offset, "f": fingerprint}, separators=(",", ":")).encode()
        sig = hmac.new(self._key, body, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(body + sig).decode().rstrip("=")

    def _decode_cursor(self, cursor: str, fingerprint: str) -> int:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            body, sig = raw[:-12], raw[-12:]
            ok = hmac.compare_digest(sig, hmac.new(self._key, body, hashlib.sha256).digest()[:12])
            data = json.loads(body) if ok else None
        except (ValueError, TypeError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("o"), int) or data["o"] < 0:
            raise BadRequest("cursor is invalid or was altered; start again without it", "cursor")
        if data.get("f") != fingerprint:
            raise BadRequest("cursor belongs to a different search; start again without it", "cursor")
        return data["o"]

    # -- single articles ------------------------------------------------------
    def _docnum(self, doc_id: str) -> int:
        docnum = self._searcher.document_number(id=doc_id)
        if docnum is None:
            raise NotFound(f"no article with id {doc_id!r}")
        return docnum

    def get(self, doc_id: str) -> dict[str, Any]:
        with self._lock:
            stored = self._searcher.stored_fields(self._docnum(doc_id))
        doc = unpack_doc(stored)
        doc.pop("signature", None)
        doc["story_id"] = stored.get("story") or stored["id"]
        return doc

    def related(self, doc_id: str, size: int = 10) -> dict[str, list[dict]]:
        if not isinstance(size, int) or not 1 <= size <= MAX_SIZE:
            raise BadRequest(f"size must be between 1 and {MAX_SIZE}", "size")
        with self._lock:
            searcher = self._searcher
            docnum = self._docnum(doc_id)
            stored = searcher.stored_fields(docnum)
            story = stored.get("story") or stored["id"]
            same = [d for d in searcher.docs_for_query(Q.Term("story", story)) if d != docnum]
            same.sort(key=lambda d: unpack_doc(searcher.stored_fields(d)).get("date") or "")
            exclude = set(same) | {docnum}
            rel = related.related_docs(searcher, unpack_doc(stored), exclude, size, self._signature)
            return {
                "same_story": [self._hit(searcher, d, 0.0, set(), set(), False, {}) for d in same[:size]],
                "related": [self._hit(searcher, d, s, set(), set(), False, {}) for d, s in rel],
            }

    def suggest(self, q: str, size: int = 8) -> list[str]:
        with self._lock:
            return suggest.complete(self._searcher.reader(), (q or "")[:200], size)

    def explain(self, q: str, doc_id: str) -> dict[str, Any]:
        """The score of one article for a query, broken down by field and term."""
        tree, _ = parse(q)
        with self._lock:
            searcher = self._searcher
            docnum = self._docnum(doc_id)
            main = self.compiler.compile(tree)
            results = searcher.search(main, filter={docnum}, limit=1, optimize=False)
            total = results[0].score if len(results) else 0.0
            fields: dict[str, dict] = {}
            for leaf in main.leaves():
                score = _leaf_score(searcher, leaf, docnum)
                if not score:
                    continue
                name = getattr(leaf, "fieldname", None) or "?"
                entry = fields.setdefault(name, {"field": name, "score": 0.0, "terms": []})
                entry["score"] += score
                entry["terms"].append({"term": _leaf_label(leaf), "score": round(score, 4),
                                       "boost": getattr(leaf, "boost", 1.0)})
        rows = sorted(fields.values(), key=lambda f: -f["score"])
        for row in rows:
            row["score"] = round(row["score"], 4)
        return {"id": doc_id, "query": q, "matched": bool(total), "score": round(float(total), 4),
                "fields": rows, "note": "field scores are BM25F per term; bonus clauses (all words, nearness) add on top"}

    # -- stats ----------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        with self._lock:
            return {"status": "ok", "documents": self._searcher.doc_count(), "index_version": self.version}

    def stats(self) -> dict[str, Any]:
        with self._lock:
            searcher = self._searcher
            reader = searcher.reader()
            docs = list(reader.all_doc_ids())
            out = {"documents": searcher.doc_count(), "index_dir": str(self.index_dir),
                   "size_bytes": sum(f.stat().st_size for f in self.index_dir.glob("*") if f.is_file())}
            for f in ("language", "category", "location", "source"):
                out[f] = dict(self._columns.count(f, docs).most_common())
            out["months"] = self._columns.histogram(docs)
        return out


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else (value or "")


def _leaf_terms(query: Q.Query, reader) -> list[tuple[str, str]]:
    """(field, term) pairs of every leaf, with prefix and fuzzy leaves expanded."""
    out = []
    for leaf in query.leaves():
        field = getattr(leaf, "fieldname", None)
        if isinstance(leaf, Q.Phrase):
            out += [(field, w) for w in leaf.words]
        elif isinstance(leaf, Q.Term) and not hasattr(leaf, "_btexts"):
            out.append((field, _text(leaf.text)))
        elif hasattr(leaf, "_btexts") and field in reader.schema:
            out += [(field, _text(t)) for _, t in zip(range(200), leaf._btexts(reader))]
    return out


def _leaf_score(searcher, leaf: Q.Query, docnum: int) -> float:
    try:
        m = leaf.matcher(searcher, searcher.context())
    except Exception:  # noqa: BLE001 - a leaf that cannot score (e.g. NullQuery) adds nothing
        return 0.0
    if not m.is_active():
        return 0.0
    m.skip_to(docnum)
    if m.is_active() and m.id() == docnum:
        return float(m.score())
    return 0.0


def _leaf_label(leaf: Q.Query) -> str:
    if isinstance(leaf, Q.Phrase):
        return '"' + " ".join(leaf.words) + '"'
    text = getattr(leaf, "text", "")
    text = text.decode("utf-8") if isinstance(text, bytes) else str(text)
    kind = type(leaf).__name__
    return text if kind == "Term" else f"{kind}({text})"
