"""The measured phases, each run in its own child process (``bench.py _child PHASE SPEC``).

Every phase reads its inputs from the derived JSONL shards, times only the
work itself (imports and warm-up excluded, reading the input included) and
writes its figures as JSON to ``spec["result"]``.  The parent measures the
child's peak memory (``wait4`` rusage and a sampled /proc process-tree sum).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from .corpus import iter_shards
from .queryset import BASELINE_KINDS

TEXT_FIELDS = ("title", "teaser", "body")
LEARN_BATCH = 200  # the indexer's default batch: it learns compound vocabulary per batch


def dir_bytes(path: str | Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def _whoosh_facts(index_dir: str) -> dict:
    from whoosh import index as windex
    if not windex.exists_in(index_dir):
        return {"doc_count": 0, "segments": 0}
    ix = windex.open_dir(index_dir)
    try:
        return {"doc_count": ix.doc_count(), "segments": len(ix._segments())}
    finally:
        ix.close()


class _Progress:
    """Writes "docs seconds" to a file every few seconds (the parent reads it after a timeout)."""

    def __init__(self, path: str | None, label: str):
        self.path, self.label = path, label
        self.last_write = self.last_log = 0.0

    def __call__(self, docs: int, _files: int = 0, seconds: float = 0.0) -> None:
        now = time.monotonic()
        if self.path and now - self.last_write >= 1:
            Path(self.path).write_text(f"{docs} {seconds:.1f}\n")
            self.last_write = now
        if now - self.last_log >= 30:
            rate = docs / seconds if seconds else 0.0
            print(f"  [{self.label}] {docs:,} docs in {seconds:.0f} s ({rate:.1f} docs/s)", file=sys.stderr, flush=True)
            self.last_log = now


# -- analysis only ------------------------------------------------------------------
def analysis_only(spec: dict) -> dict:
    """Read + tokenize + stem + decompound title/teaser/body with the index-time chain."""
    import re

    from search import analysis
    analysis.analyzer_for("de")("warm up", mode="index")
    analysis.splitter()  # loads the wordfreq list: a one-off cost, not per document
    letters = re.compile(r"[^\W\d_]{4,}")
    progress = _Progress(spec.get("progress"), "analysis")
    start = time.perf_counter()
    docs = tokens = 0
    batch: list[dict] = []

    def run(batch: list[dict]) -> int:
        # like the indexer: the batch's surface words join the splitter's vocabulary first
        analysis.learn_words(set().union(*(set(letters.findall(
            "\n".join(d.get(f) or "" for f in TEXT_FIELDS).lower())) for d in batch)))
        n = 0
        for d in batch:
            chain = analysis.analyzer_for(analysis.language_of(d.get("language")))
            for f in TEXT_FIELDS:
                text = d.get(f)
                if text:
                    for _ in chain(text, positions=True, boosts=True, mode="index"):
                        n += 1
        return n

    for doc in iter_shards([Path(p) for p in spec["shards"]]):
        batch.append(doc)
        if len(batch) >= LEARN_BATCH:
            tokens += run(batch)
            docs += len(batch)
            batch = []
            progress(docs, 0, time.perf_counter() - start)
    if batch:
        tokens += run(batch)
        docs += len(batch)
    elapsed = time.perf_counter() - start
    return {"docs": docs, "tokens": tokens, "seconds": round(elapsed, 3)}


# -- Stichwort indexing -------------------------------------------------------------
def stichwort_config(index_dir: str, workers: int, opensearch: dict | None = None):
    """Default configuration (never a stichwort.yaml lying around), with the given workers; with
    ``opensearch`` (the config section) the OpenSearch backend."""
    from search.config import Config, validate
    config = Config()
    config.data["index_dir"] = str(index_dir)
    config.data["indexing"]["workers"] = int(workers)
    if opensearch:
        config.data["backend"] = "opensearch"
        config.data["opensearch"].update(opensearch)
    validate(config.data)
    config.source = "defaults (bench)"
    return config


def index_stichwort(spec: dict) -> dict:
    from search.index.indexer import Indexer
    config = stichwort_config(spec["index_dir"], spec["workers"])
    progress = _Progress(spec.get("progress"), f"stichwort w={spec['workers']}")
    indexer = Indexer(config, progress=lambda p: progress(p.articles, p.files, p.seconds))
    start = time.perf_counter()
    summary = indexer.index_paths([Path(p) for p in spec["shards"]], rebuild=True)
    elapsed = time.perf_counter() - start
    out = {"seconds": round(elapsed, 3), "added": summary.added, "updated": summary.updated,
           "failed": summary.failed, "failures": [str(f) for f in summary.failures[:5]],
           "index_bytes": dir_bytes(spec["index_dir"])}
    out.update(_whoosh_facts(spec["index_dir"]))
    out["docs"] = out["doc_count"]
    return out


def index_opensearch(spec: dict) -> dict:
    """The same indexer, its store an OpenSearch index (``spec["opensearch"]``), rebuilt from empty."""
    from search.backend.opensearch.client import from_config
    from search.index.indexer import Indexer

    from .opensearch import index_facts
    config = stichwort_config(spec["index_dir"], spec["workers"], spec["opensearch"])
    progress = _Progress(spec.get("progress"), "opensearch")
    indexer = Indexer(config, progress=lambda p: progress(p.articles, p.files, p.seconds))
    start = time.perf_counter()
    summary = indexer.index_paths([Path(p) for p in spec["shards"]], rebuild=True)
    elapsed = time.perf_counter() - start
    out = {"seconds": round(elapsed, 3), "added": summary.added, "updated": summary.updated,
           "failed": summary.failed, "failures": [str(f) for f in summary.failures[:5]]}
    out.update(index_facts(from_config(config), spec["opensearch"]["index"]))
    out["docs"] = out["doc_count"]
    return out


# -- naive baseline -----------------------------------------------------------------
def baseline_schema():
    from whoosh.analysis import LanguageAnalyzer
    from whoosh.fields import ID, TEXT, Schema
    return Schema(id=ID(stored=True, unique=True),
                  title=TEXT(analyzer=LanguageAnalyzer("de"), stored=True),
                  body=TEXT(analyzer=LanguageAnalyzer("de")))


def index_baseline(spec: dict) -> dict:
    """Plain Whoosh: German LanguageAnalyzer, default writer, one commit."""
    from whoosh import index as windex
    os.makedirs(spec["index_dir"], exist_ok=True)
    ix = windex.create_in(spec["index_dir"], baseline_schema())
    progress = _Progress(spec.get("progress"), "baseline")
    start = time.perf_counter()
    writer = ix.writer()
    docs = 0
    for docs, doc in enumerate(iter_shards([Path(p) for p in spec["shards"]]), 1):
        body = "\n".join(t for t in (doc.get("teaser"), doc.get("body")) if t)
        writer.add_document(id=str(doc["id"]), title=doc.get("title") or "", body=body)
        if docs % 200 == 0:
            progress(docs, 0, time.perf_counter() - start)
    writer.commit()
    elapsed = time.perf_counter() - start
    ix.close()
    out = {"seconds": round(elapsed, 3), "index_bytes": dir_bytes(spec["index_dir"])}
    out.update(_whoosh_facts(spec["index_dir"]))
    out["docs"] = out["doc_count"]
    return out


# -- tantivy, the speed anchor -------------------------------------------------------
def index_tantivy(spec: dict) -> dict:
    from . import tantivy_engine
    progress = _Progress(spec.get("progress"), "tantivy")
    out = tantivy_engine.build(iter_shards([Path(p) for p in spec["shards"]]), spec["index_dir"],
                               threads=int(spec.get("threads", 2)), progress=progress)
    out["index_bytes"] = tantivy_engine.index_bytes(spec["index_dir"])
    return out


# -- in-process query latency -------------------------------------------------------
def _baseline_searcher(index_dir: str, related_texts: dict[str, str]):
    """Plain Whoosh: a result list (top 10, stored id and title) and more-like-this on the article's text."""
    from whoosh import index as windex
    from whoosh.qparser import MultifieldParser, OrGroup
    ix = windex.open_dir(index_dir)
    searcher = ix.searcher()
    parser = MultifieldParser(["title", "body"], ix.schema, group=OrGroup)

    def run(q: dict) -> int:
        if q["kind"] == "related":
            docnum = searcher.document_number(id=q["id"])
            if docnum is None:
                return 0
            hits = searcher.more_like(docnum, "body", text=related_texts.get(q["id"], ""), top=10)
            return len([hit.fields() for hit in hits])
        results = searcher.search(parser.parse(q["q"]), limit=10)
        hits = [hit.fields() for hit in results]  # what a result list shows: id and title
        return len(hits)

    return run, searcher


def queries(spec: dict) -> dict:
    """p50/p95/p99 per query kind; Stichwort with and without highlights, and the baseline."""
    from search.engine import Engine
    rounds = int(spec["rounds"])
    queryset = spec["queries"]
    config = stichwort_config(spec["index_dir"], 1, spec.get("opensearch"))
    t_open = time.perf_counter()
    engine = Engine(spec["index_dir"], config)
    doc_count = engine.health()["documents"]
    first_call = {"open_ms": round((time.perf_counter() - t_open) * 1000, 1)}

    def stichwort_call(q: dict, highlight: bool):
        if q["kind"] == "related":
            engine._current().related.clear()  # the computation, not the per-commit cache of repeated visits
            r = engine.related(q["id"], size=10)
            return len(r["same_story"]) + len(r["related"])
        r = engine.search(q["q"], size=10, highlight=highlight, filters=q.get("filters"),
                          sort=q.get("sort", "relevance"))
        return r["total"]["value"]

    for q in queryset:  # the first call of each kind on a freshly opened engine: what a new process pays
        if q["kind"] not in first_call:
            t0 = time.perf_counter()
            try:
                stichwort_call(q, True)
            except Exception:  # noqa: BLE001 - reported with the timed rounds
                pass
            first_call[q["kind"]] = round((time.perf_counter() - t0) * 1000, 1)

    baseline = None
    if spec.get("baseline_dir"):
        baseline, baseline_searcher = _baseline_searcher(spec["baseline_dir"], spec.get("related_texts") or {})
    variants = {"stichwort": (queryset, lambda q: stichwort_call(q, True))}
    if spec.get("no_highlight", True):
        variants["stichwort_no_highlight"] = (queryset, lambda q: stichwort_call(q, False))
    anchor_kinds = BASELINE_KINDS + ("related",)
    if baseline:
        variants["baseline"] = ([q for q in queryset if q["kind"] in anchor_kinds], baseline)
    if spec.get("tantivy_dir"):
        from .tantivy_engine import Searcher as TantivySearcher
        anchor = TantivySearcher(spec["tantivy_dir"])
        anchor_qs = [q for q in queryset if q["kind"] in anchor_kinds]
        variants["tantivy"] = (anchor_qs, lambda q: anchor.related(q["id"]) if q["kind"] == "related"
                               else anchor.search(q["q"], highlight=False))
        variants["tantivy_highlight"] = ([q for q in anchor_qs if q["kind"] != "related"],
                                         lambda q: anchor.search(q["q"], highlight=True))
    secondary = ("stichwort_no_highlight", "tantivy_highlight")  # warmed up by their sibling variant
    totals: dict[str, dict[str, int]] = {name: {} for name in variants if name not in secondary}
    errors: dict[str, dict[str, str]] = {}  # variant -> query label -> error: a failing query is reported, not timed

    def attempt(name: str, q: dict, call) -> tuple[bool, int]:
        try:
            return True, call(q)
        except Exception as exc:  # noqa: BLE001 - the engine's failure is a finding, not the benchmark's end
            errors.setdefault(name, {})[q["label"]] = f"{type(exc).__name__}: {exc}"[:300]
            return False, 0

    for name, (qs, call) in variants.items():  # warm-up round: caches, first-touch of files
        if name in secondary:
            continue  # same engine, warmed up by the round with highlights
        for q in qs:
            ok, total = attempt(name, q, call)
            if ok:
                totals[name][q["label"]] = total
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in variants}
    asked = {name: {q["label"] for q in qs} for name, (qs, _) in variants.items()}
    forwards = list(variants.items())
    for r in range(rounds):  # each query through every variant in turn: the machine's load drifts, and a
        # variant timed minutes after another would compare with another load; the order turns round every
        # other round, since the first variant to run a query pays for what the ones after it find cached
        # (highlights first: 2.07 against 1.87 with highlights / without, in-process on 10,000 articles)
        for q in queryset:
            for name, (_, call) in forwards if r % 2 == 0 else forwards[::-1]:
                if q["label"] not in asked[name] or q["label"] in errors.get(name, {}) \
                        or q["label"] in errors.get("stichwort", {}) and name.startswith("stichwort"):
                    continue
                t0 = time.perf_counter()
                ok, total = attempt(name, q, call)
                if ok:
                    samples[name].setdefault(q["kind"], []).append(round((time.perf_counter() - t0) * 1000, 3))
                    if name in totals:
                        totals[name].setdefault(q["label"], total)
    engine.close()
    if baseline:
        baseline_searcher.close()
    return {"doc_count": doc_count, "rounds": rounds, "samples_ms": samples, "totals": totals, "errors": errors,
            "first_call_ms": first_call}


# -- cProfile of one indexing run ---------------------------------------------------
def profile_index(spec: dict) -> dict:
    import cProfile
    import io
    import pstats

    from search.index.indexer import Indexer
    config = stichwort_config(spec["index_dir"], spec["workers"])
    indexer = Indexer(config)
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    summary = indexer.index_paths([Path(p) for p in spec["shards"]], rebuild=True)
    prof.disable()
    elapsed = time.perf_counter() - start
    prof.dump_stats(spec["prof_out"])
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("cumulative").print_stats(int(spec.get("top", 40)))
    stats.sort_stats("tottime").print_stats(int(spec.get("top", 40)) // 2)
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        rows.append({"function": f"{Path(file).name}:{line}({func})", "file": file, "calls": nc,
                     "tottime": round(tt, 3), "cumtime": round(ct, 3)})
    rows.sort(key=lambda r: -r["cumtime"])
    return {"seconds": round(elapsed, 3), "docs": summary.added, "report": buf.getvalue(),
            "top_cumulative": rows[:60], "top_tottime": sorted(rows, key=lambda r: -r["tottime"])[:30]}


PHASES = {"analysis": analysis_only, "stichwort": index_stichwort, "baseline": index_baseline,
          "tantivy": index_tantivy, "opensearch": index_opensearch, "queries": queries, "profile": profile_index}


def code_fingerprint(root: Path | None = None) -> str:
    """Hash of the engine's and web layer's sources as this process found them (they may change mid-run)."""
    import hashlib
    root = root or Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for path in sorted(list((root / "search").rglob("*.py")) + list((root / "web").rglob("*.py"))):
        try:
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
        except OSError:
            pass
    return h.hexdigest()[:12]


def child_main(phase: str, spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    code = code_fingerprint()
    result = PHASES[phase](spec)
    result["code"] = code
    Path(spec["result"]).write_text(json.dumps(result))
    return 0
