#!/usr/bin/env python3
"""Stichwort benchmark: analysis floor, indexing, plain-Whoosh baseline, query and HTTP latency, at scale.

    scripts/bench [--docs N] [--json OUT] [--max-minutes M] [--http-seconds S] ...
    scripts/bench --profile 1000          # cProfile of one single-process indexing run

Data: ``../shared/data/fang-covid-de/corpus.jsonl`` (12,000 German news
articles, see ../shared/data/MANIFEST.md), read in place, never copied into
the repository.  A corpus of N documents is the first N real articles; past
12,000 it is filled with synthetic articles ``synth-<n>`` whose paragraphs come
from different real articles and whose title, date, source and category are
drawn from real ones (seeded, so deterministic).  Corpora are written as
JSONL shards (>= 8 files, <= 16 MB each) into a temporary directory: the
indexer parallelises over *files* (only with 8 or more) and refuses files over
32 MB.  See ``benchlib/corpus.py``.

Per size (default 10,000 and 100,000; ``--docs N`` replaces the largest,
``--docs 300`` uses just that one) and in this order, each measured phase in
its own child process (peak memory = wait4 ``ru_maxrss`` of the child and a
sampled sum over its process tree):

1. analysis only: read + ``analysis.analyzer_for(lang)`` in ``mode="index"``
   over title/teaser/body (compound vocabulary learned per 200-document
   batch, as the indexer does) - the floor for indexing;
2. baseline: plain Whoosh, ``LanguageAnalyzer("de")`` on title and body,
   default ``ix.writer()``, one commit;
3. Stichwort ``Indexer.index_paths(shards)`` with the default configuration's
   workers (2) - the index queries and HTTP then use;
4. in-process query latency over 70 fixed queries (``benchlib/queryset.py``),
   one warm-up round then ``--rounds`` rounds (each query through the variants
   in turn, the order reversed every other round); Stichwort with and without
   highlights, the word/phrase queries also against the baseline;
5. HTTP through the server ``stichwort serve`` runs at 1, 4 and 16 keep-alive
   clients, ``--http-seconds`` and ``--http-max-requests`` per level;
6. Stichwort indexing with the other worker counts (workers=1).

``--backend opensearch`` adds, beside the Whoosh backend's figures and after
its queries (step 4), the OpenSearch backend on the same corpus: the same
``Indexer`` writing into an index of 3 shards and 1 replica (docs/s, wall
time, the cluster's CPU time besides the indexer's) and the same query set
through ``Engine`` on that index (with and without highlights, related); the
JSON's per-size ``opensearch`` section, rows "OpenSearch ..." in the table.
The cluster is ``$STICHWORT_OPENSEARCH_URL``, else 3 nodes started for the run
in ``WORKDIR/cluster`` (``--opensearch-heap``, ports from
``--opensearch-base-port``) and stopped at its end (``benchlib/opensearch.py``);
exit status 3 when there is none and none can be started.

``--max-minutes`` bounds the whole run: an indexing run that would overrun
(keeping time back for the query and HTTP phases) is stopped and records how
far it got (``status: "timeout"``, ``progress``); queries and HTTP then run on
the part that was committed (``index_complete: false``), later phases and
sizes are skipped when no time is left, and the JSON says which
(``budget.notes``).  Ratios use only sizes whose indexes are complete.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(HERE), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

from benchlib import corpus, opensearch, queryset, report, tantivy_engine  # noqa: E402 - after the path set-up
from benchlib.measure import run_child  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "fang-covid-de" / "corpus.jsonl"
DEFAULT_SIZES = (10_000, 100_000)
BACKENDS = ("whoosh", "opensearch")
HTTP_LEVELS = (1, 4, 16)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _user_path(value: str) -> Path:
    """Relative paths are the caller's: scripts/bench changes into the repository first."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(os.environ.get("STICHWORT_BENCH_CWD") or os.getcwd()) / path
    return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="scripts/bench", description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--docs", type=int, help="largest corpus size (default 100000; below 10000 only that size runs)")
    ap.add_argument("--sizes", help="explicit comma-separated sizes, e.g. 1000,5000 (overrides --docs)")
    ap.add_argument("--json", dest="json_out", help="write raw figures, ratios and targets as JSON here")
    ap.add_argument("--markdown", dest="md_out", help="write the table and the targets as Markdown here")
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="fang-covid-de corpus.jsonl (default: %(default)s)")
    ap.add_argument(
        "--workers",
        default=None,
        help="Stichwort indexing worker counts, comma-separated (default: 1 and the configured default)",
    )
    ap.add_argument("--rounds", type=int, default=4,
                    help="measured rounds over the query set (default 4: even, so both orders of the variants run)")
    ap.add_argument("--http-seconds", type=float, default=10.0, help="seconds per HTTP concurrency level (default 10)")
    ap.add_argument("--http-max-requests", type=int, default=20000, help="request cap per HTTP level (default 20000)")
    ap.add_argument("--http-clients", default=",".join(map(str, HTTP_LEVELS)), help="default 1,4,16")
    ap.add_argument(
        "--max-minutes",
        type=float,
        default=180.0,
        help="budget for the whole run (default 180); see the module docstring",
    )
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument(
        "--backend",
        choices=BACKENDS,
        default="whoosh",
        help="whoosh (default): the Whoosh backend only; opensearch: also index and query the same corpus in an "
        "OpenSearch cluster ($STICHWORT_OPENSEARCH_URL, else one started for the run)",
    )
    ap.add_argument(
        "--opensearch-heap", default=opensearch.HEAP, help="heap per node of a started cluster (default %(default)s)"
    )
    ap.add_argument(
        "--opensearch-base-port",
        type=int,
        default=opensearch.BASE_PORT,
        help="HTTP port of node 1 of a started cluster (default %(default)s; transport ports from +100)",
    )
    ap.add_argument(
        "--per-doc-max",
        type=int,
        default=10_000,
        metavar="N",
        help="run the phases whose cost per document does not depend on the corpus size (analysis "
        "floor, plain-Whoosh baseline, one-worker indexing) only at sizes up to N (default %(default)s)",
    )
    ap.add_argument(
        "--index-pairs",
        type=int,
        default=2,
        metavar="K",
        help="at the sizes of --per-doc-max and below, index K more times with plain Whoosh and Stichwort back "
        "to back (alternating which goes first); the indexing ratio is the median over all pairs, so a drift "
        "of the machine's speed between two runs does not decide it (default %(default)s)",
    )
    ap.add_argument("--workdir", help="where derived corpora and indexes go (default: a new temp dir, removed after)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--profile", type=int, metavar="N", help="only profile Stichwort indexing of N docs (workers=1)")
    ap.add_argument("--profile-out", help="where to write the .prof file (default: in the work directory)")
    args = ap.parse_args(argv)
    if args.sizes:
        args.size_list = sorted({int(x) for x in args.sizes.split(",") if x.strip()})
    elif args.docs:
        args.size_list = sorted({s for s in DEFAULT_SIZES if s < args.docs} | {args.docs})
    else:
        args.size_list = list(DEFAULT_SIZES)
    if not args.size_list or min(args.size_list) < 1:
        ap.error("sizes must be positive")
    args.http_level_list = sorted({int(x) for x in args.http_clients.split(",") if x.strip()})
    return args


def git_info() -> dict:
    def git(*a: str) -> str:
        try:
            return subprocess.run(
                ["git", "-C", str(ROOT), *a], check=False, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--", "search", "web")),
    }


def machine_info() -> dict:
    mem = None
    try:
        with open("/proc/meminfo") as fh:
            mem = round(int(fh.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(), "mem_gb": mem}


class Budget:
    def __init__(self, minutes: float):
        self.minutes = minutes
        self.end = time.monotonic() + minutes * 60
        self.notes: list[str] = []
        self.stopped = False

    def left(self) -> float:
        return self.end - time.monotonic()

    def note(self, msg: str) -> str:
        log(f"  budget: {msg}")
        self.notes.append(msg)
        return msg


def bench_size(
    n: int,
    args,
    data: Path,
    work: Path,
    budget: Budget,
    rates: dict,
    first: list[dict],
    default_workers: int,
    workers: list[int],
    cluster: opensearch.Cluster | None = None,
) -> dict:
    size_dir = work / f"n{n}"
    first_ids = [r["id"] for r in first]
    wanted = set(queryset.related_ids(first_ids))
    related_texts = {
        r["id"]: "\n".join(t for t in (r.get("title"), r.get("body")) if t) for r in first if r["id"] in wanted
    }
    log(f"\n== {n:,} documents ==")
    t0 = time.monotonic()
    derived = corpus.derive(data, n, size_dir / "corpus")
    log(f"  corpus: {derived.description} ({time.monotonic() - t0:.1f} s)")
    out: dict = {"docs": n, "corpus": derived.as_dict() | {"description": derived.description}}
    shards = [str(p) for p in derived.shards]
    # time kept back for the query and HTTP phases while indexing (query time grows with the index), and
    # with --backend opensearch for its indexing (at the last size's rate, else a guess) and queries
    query_estimate = min(rates.get("queries_s_per_doc", 0) * n, 1200) or 120
    http_reserve = 0 if args.skip_http else len(args.http_level_list) * args.http_seconds + 60
    os_query_estimate = (min(rates.get("os_queries_s_per_doc", 0) * n, 1200) or 120) if cluster else 0
    os_index_estimate = n / rates.get("opensearch", opensearch.GUESS_DOCS_PER_S) if cluster else 0
    reserve = http_reserve + query_estimate + os_query_estimate + os_index_estimate

    def child(phase: str, spec: dict, timeout: float | None) -> dict:
        return run_child(HERE / "bench.py", phase, spec, size_dir, timeout)

    def whoosh_committed(spec: dict) -> dict:
        from benchlib.phases import _whoosh_facts

        return _whoosh_facts(spec["index_dir"])

    def index_run(kind: str, phase: str, spec: dict, keep: float, committed=whoosh_committed) -> dict:
        """One indexing child, stopped when only ``keep`` seconds of the budget would be left."""
        left = budget.left() - keep
        rate = rates.get(kind)
        if left < 60:
            return {"skipped": budget.note(f"{kind} at {n:,} docs skipped: {max(left, 0):.0f} s left")}
        if rate and n / rate > left:
            budget.note(
                f"{kind} at {n:,} docs: projected {n / rate / 60:.1f} min from the last size's rate, "
                f"{left / 60:.1f} min left; it stops there and records how far it got"
            )
        log(f"  {kind}: indexing (time limit {left / 60:.1f} min) ...")
        res = child(phase, spec, left)
        if res.get("status") == "timeout":
            try:  # what the cut-off run committed (its progress counts documents read, not written)
                res["committed"] = committed(spec)
            except Exception as exc:  # noqa: BLE001 - a half-written index may not open
                res["committed"] = {"error": str(exc)[:200]}
            budget.note(
                f"{kind} at {n:,} docs stopped by --max-minutes after {res['wall_seconds'] / 60:.1f} min, "
                f"{res['committed'].get('doc_count', '?')} docs committed"
            )
        fig = report.index_figures(res, derived.bytes, n)
        if fig.get("docs_per_s"):
            rates[kind] = fig["docs_per_s"]
        log(
            f"  {kind}: {fig.get('status')} {fig.get('docs', '-')} docs, {fig.get('docs_per_s', '-')} docs/s, "
            f"{fig.get('index_mb', '-')} MB, peak {res.get('peak_tree_pss_mb') or res.get('peak_tree_rss_mb')} MB"
        )
        return fig

    per_doc = n <= args.per_doc_max  # analysis, baseline and one worker: per-document costs, measured once
    per_doc_skip = {"skipped": f"per-document cost: measured at {args.per_doc_max:,} docs and below"}
    # 1. analysis floor
    if per_doc:
        log("  analysis only ...")
        res = child("analysis", {"shards": shards}, max(budget.left(), 30))
    else:
        res = {"status": "skipped", **per_doc_skip}
    out["analysis"] = {
        k: res.get(k)
        for k in (
            "status",
            "skipped",
            "docs",
            "tokens",
            "seconds",
            "wall_seconds",
            "peak_rss_mb",
            "peak_tree_rss_mb",
            "peak_tree_pss_mb",
            "cpu_seconds",
            "loadavg_1min",
            "code",
            "error",
        )
        if res.get(k) is not None
    }
    if res.get("status") == "ok":
        out["analysis"]["docs_per_s"] = round(res["docs"] / res["seconds"], 2)
        out["analysis"]["mb_per_s"] = round(derived.bytes / 1e6 / res["seconds"], 3)
        log(f"  analysis: {out['analysis']['docs_per_s']} docs/s")
    # 2. baseline
    baseline_dir = size_dir / "baseline-index"
    out["baseline"] = (
        index_run("baseline", "baseline", {"shards": shards, "index_dir": str(baseline_dir)}, reserve)
        if per_doc
        else dict(per_doc_skip)
    )
    # 2b. tantivy, the speed anchor (every size: it is quick)
    tantivy_dir = size_dir / "tantivy-index"
    missing = tantivy_engine.available()
    out["tantivy"] = (
        {"skipped": missing}
        if missing
        else index_run("tantivy", "tantivy", {"shards": shards, "index_dir": str(tantivy_dir)}, reserve)
    )
    # 3. Stichwort with the default workers
    index_dirs = {w: size_dir / f"stichwort-w{w}" for w in workers}
    out["stichwort"] = {}
    out["stichwort"][f"workers_{default_workers}"] = index_run(
        f"stichwort-w{default_workers}",
        "stichwort",
        {"shards": shards, "index_dir": str(index_dirs[default_workers]), "workers": default_workers},
        reserve,
    )
    sw = out["stichwort"][f"workers_{default_workers}"]
    usable = (
        any(index_dirs[default_workers].glob("_MAIN_*.toc"))
        and not sw.get("skipped")
        and (sw.get("status") == "ok" or ((sw.get("committed") or {}).get("doc_count") or 0) > 0)
    )
    # 4. queries in-process
    if usable and budget.left() > 60:
        log("  queries in-process ...")
        qs = queryset.build(queryset.related_ids(first_ids))
        # the same rounds and warm-up at every size: the large/small ratio compares like with like
        spec = {
            "index_dir": str(index_dirs[default_workers]),
            "queries": qs,
            "no_highlight": True,
            "rounds": args.rounds,
            "baseline_dir": str(baseline_dir) if out["baseline"].get("complete") else None,
            "tantivy_dir": str(tantivy_dir) if out["tantivy"].get("complete") else None,
            "related_texts": related_texts,
        }
        res = child("queries", spec, max(budget.left() - http_reserve - os_query_estimate - os_index_estimate, 60))
        out["queries"] = report.query_figures(res)
        if res.get("status") == "ok":
            rates["queries_s_per_doc"] = res["wall_seconds"] / n
        out["queries"]["index_complete"] = bool(sw.get("complete"))
        st = out["queries"].get("stichwort", {}).get("word_phrase", {})
        bl = out["queries"].get("baseline", {}).get("word_phrase", {})
        log(f"  queries: Stichwort p50 {st.get('p50_ms')} ms, baseline p50 {bl.get('p50_ms')} ms")
    elif usable:
        out["queries"] = {"skipped": budget.note(f"queries at {n:,} docs skipped: budget exhausted")}
    # 4b. the OpenSearch backend: the same indexer and query set, the store a cluster
    if cluster is not None:
        index = opensearch.index_name(n)
        client = cluster.client()
        os_spec = {
            "shards": shards,
            "index_dir": str(size_dir / "opensearch-index"),  # what stays local: the cursor key
            "workers": default_workers,
            "opensearch": opensearch.settings(cluster.url, index),
        }
        cpu_before = opensearch.cpu_seconds(client)
        osx = out["opensearch"] = {"index": index}
        fig = osx["indexing"] = index_run(
            "opensearch",
            "opensearch",
            os_spec,
            http_reserve + os_query_estimate,
            committed=lambda _spec: opensearch.index_facts(client, index),
        )
        cpu_after = opensearch.cpu_seconds(client)
        if cpu_before is not None and cpu_after is not None and not fig.get("skipped"):
            fig["cluster_cpu_seconds"] = round(cpu_after - cpu_before, 2)
        fig["heap_used_mb"] = opensearch.heap_used_mb(client)
        committed = fig.get("docs") or (fig.get("committed") or {}).get("doc_count") or 0
        if not fig.get("skipped") and committed > 0 and budget.left() > 60:
            log("  OpenSearch queries in-process ...")
            spec = {
                "index_dir": os_spec["index_dir"],
                "queries": queryset.build(queryset.related_ids(first_ids)),
                "no_highlight": True,
                "rounds": args.rounds,
                "opensearch": os_spec["opensearch"],
            }
            res = child("queries", spec, max(budget.left() - http_reserve, 60))
            osx["queries"] = report.query_figures(res)
            if res.get("status") == "ok":
                rates["os_queries_s_per_doc"] = res["wall_seconds"] / n
            osx["queries"]["index_complete"] = bool(fig.get("complete"))
            st = osx["queries"].get("stichwort_no_highlight", {}).get("word_phrase", {})
            log(f"  OpenSearch queries: p50 {st.get('p50_ms')} ms without highlights")
        elif not fig.get("skipped") and committed > 0:
            osx["queries"] = {"skipped": budget.note(f"OpenSearch queries at {n:,} docs skipped: budget exhausted")}
        if not args.keep:
            opensearch.drop(client, index)
        client.close()
    # 5. HTTP
    if usable and not args.skip_http:
        needed = len(args.http_level_list) * args.http_seconds + 30
        if budget.left() > needed:
            log("  HTTP through gunicorn ...")
            from benchlib import http_load

            try:
                qs = queryset.build(queryset.related_ids(first_ids))
                out["http"] = http_load.run(
                    ROOT,
                    index_dirs[default_workers],
                    size_dir / "gunicorn.log",
                    [queryset.url(q) for q in qs],
                    args.http_level_list,
                    args.http_seconds,
                    args.http_max_requests,
                )
                out["http"]["index_complete"] = bool(sw.get("complete"))
            except RuntimeError as exc:
                out["http"] = {"error": str(exc)[-2000:]}
                log(f"  HTTP failed: {exc}")
        else:
            out["http"] = {"skipped": budget.note(f"HTTP at {n:,} docs skipped: budget exhausted")}
    # 6. the other worker counts
    for w in workers:
        if w == default_workers:
            continue
        if not per_doc:
            out["stichwort"][f"workers_{w}"] = dict(per_doc_skip)
            continue
        out["stichwort"][f"workers_{w}"] = index_run(
            f"stichwort-w{w}", "stichwort", {"shards": shards, "index_dir": str(index_dirs[w]), "workers": w}, 0
        )
    # 7. more back-to-back pairs of the two indexing runs the throughput ratio compares
    if per_doc and args.index_pairs > 0 and out["baseline"].get("docs_per_s") and sw.get("docs_per_s"):
        out["index_pairs"] = [{"baseline": out["baseline"]["docs_per_s"], "stichwort": sw["docs_per_s"]}]
        for j in range(args.index_pairs):
            runs = {
                "stichwort": (f"stichwort-w{default_workers}", "stichwort", {"workers": default_workers}),
                "baseline": ("baseline", "baseline", {}),
            }
            pair = {}
            for name in ("stichwort", "baseline") if j % 2 == 0 else ("baseline", "stichwort"):
                kind, phase, extra = runs[name]
                scratch = size_dir / f"pair-{j}-{name}"
                fig = index_run(kind, phase, {"shards": shards, "index_dir": str(scratch), **extra}, reserve)
                shutil.rmtree(scratch, ignore_errors=True)
                pair[name] = fig.get("docs_per_s")
            if pair.get("baseline") and pair.get("stichwort"):
                out["index_pairs"].append(pair)
    if not args.keep:
        local = [baseline_dir, tantivy_dir, size_dir / "opensearch-index", size_dir / "corpus"]
        for d in list(index_dirs.values()) + local:
            shutil.rmtree(d, ignore_errors=True)
    out["seconds"] = round(time.monotonic() - t0, 1)
    return out


def _failures(size: dict, path: str = ""):
    """(phase, error text) of every phase that failed outright."""
    for key, value in size.items():
        if isinstance(value, dict):
            name = f"{path}{key}"
            if value.get("status") == "error" or (key == "http" and value.get("error")):
                yield name, value.get("error") or ""
            else:
                yield from _failures(value, name + ".")


def _codes(size: dict):
    for value in size.values():
        if isinstance(value, dict):
            if isinstance(value.get("code"), str):
                yield value["code"]
            yield from _codes(value)


def profile(args, data: Path, work: Path) -> int:
    n = args.profile
    derived = corpus.derive(data, n, work / "profile-corpus")
    prof_out = (
        _user_path(args.profile_out) if args.profile_out else Path(tempfile.gettempdir()) / f"stichwort-index-{n}.prof"
    )
    log(f"profiling Stichwort indexing of {n:,} docs (workers=1): {derived.description}")
    res = run_child(
        HERE / "bench.py",
        "profile",
        {
            "shards": [str(p) for p in derived.shards],
            "index_dir": str(work / "profile-index"),
            "workers": 1,
            "prof_out": str(prof_out),
            "top": 40,
        },
        work,
        None,
    )
    if res.get("status") != "ok":
        log(res.get("error", "profile run failed"))
        return 1
    print(res["report"])
    print(
        f"{res['docs']:,} docs in {res['seconds']:.1f} s under cProfile ({res['docs'] / res['seconds']:.1f} docs/s); "
        f"profile written to {prof_out}"
    )
    if args.json_out:
        Path(_user_path(args.json_out)).write_text(
            json.dumps({k: res[k] for k in ("seconds", "docs", "top_cumulative", "top_tottime")}, indent=1)
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        from benchlib.phases import child_main

        return child_main(argv[1], argv[2])
    args = parse_args(argv)
    data = _user_path(args.data)
    if not data.is_file():
        log(
            f"bench: the FANG-COVID corpus is missing: {data}\n"
            "It is read from ../shared/data next to the repository (see ../shared/data/MANIFEST.md) and never "
            "copied into it; pass --data PATH if it lives elsewhere."
        )
        return 2
    from search.config import DEFAULTS

    default_workers = int(DEFAULTS["indexing"]["workers"])
    workers = sorted({int(w) for w in args.workers.split(",")}) if args.workers else sorted({1, default_workers})
    if default_workers not in workers:
        default_workers = workers[-1]
    work = Path(args.workdir).resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="stichwort-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.profile:
            return profile(args, data, work)
        return run(args, data, work, default_workers, workers)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
        elif args.keep:
            log(f"work directory kept: {work}")


@contextlib.contextmanager
def _sigterm_exits():
    """SIGTERM raises SystemExit while the block runs, so that ``finally`` and ``with`` clean up (the
    default ends the process on the spot, leaving a started cluster running)."""

    def handler(signum: int, _frame) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args, data: Path, work: Path, default_workers: int, workers: list[int]) -> int:
    started = dt.datetime.now().astimezone()
    t0 = time.monotonic()
    budget = Budget(args.max_minutes)
    load_start = os.getloadavg()[0]
    from benchlib.phases import code_fingerprint

    code_start = code_fingerprint(ROOT)
    first = corpus.load_real(data, min(args.size_list))
    first_ids = [r["id"] for r in first]
    log(
        f"Stichwort benchmark: sizes {', '.join(f'{s:,}' for s in args.size_list)}; workers {workers}; "
        f"backend {args.backend}; budget {args.max_minutes:g} min; work dir {work}"
    )
    rates: dict = {}
    sizes = []
    cluster_info = None
    with contextlib.ExitStack() as stack:
        cluster = None
        if args.backend == "opensearch":
            from search.errors import StichwortError

            cluster = opensearch.Cluster(
                work / "cluster", heap=args.opensearch_heap, base_port=args.opensearch_base_port, keep_data=args.keep
            )
            stack.enter_context(_sigterm_exits())  # so that the cluster is stopped on a kill too
            try:
                stack.enter_context(cluster)
                cluster_info = cluster.describe()
            except (opensearch.ClusterUnavailable, StichwortError) as exc:
                cluster.stop()  # a start that failed half-way
                log(f"bench: --backend opensearch, but no cluster: {exc}")
                return 3
        for n in args.size_list:
            if budget.left() < 60:
                budget.note(f"size {n:,} skipped: budget exhausted")
                break
            sizes.append(bench_size(n, args, data, work, budget, rates, first, default_workers, workers, cluster))
    ratios, targets, basis = report.ratios(sizes, default_workers)
    from benchlib.phases import code_fingerprint

    codes = {c for s in sizes for c in _codes(s)} | {code_start, code_fingerprint(ROOT)}
    notes = [
        f"{phase} at {s['docs']:,} docs failed: {err.strip().splitlines()[-1] if err.strip() else '?'}"
        for s in sizes
        for phase, err in _failures(s)
    ]
    notes += [
        f"{n_failed} {prefix}{variant} queries failed at {s['docs']:,} docs, e.g. {next(iter(errs.items()))}"
        for s in sizes
        for prefix, q in (("", s.get("queries", {})), ("OpenSearch ", s.get("opensearch", {}).get("queries", {})))
        for variant, errs in q.get("errors", {}).items()
        if (n_failed := len(errs))
    ]
    notes += [
        f"HTTP at {s['docs']:,} docs, {c} clients: {lv['errors']} failed requests {lv['error_kinds']}"
        for s in sizes
        for c, lv in s.get("http", {}).get("levels", {}).items()
        if lv.get("errors")
    ]
    if len(codes) > 1:
        notes.append(
            f"search/ or web/ changed during the run ({len(codes)} versions of the sources; "
            "each phase's 'code' fingerprint says which it ran)"
        )
    result = {
        "schema": "stichwort-bench/1",
        "started": started.isoformat(timespec="seconds"),
        "elapsed_seconds": round(time.monotonic() - t0, 1),
        "machine": machine_info() | {"loadavg_1min_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)]},
        "git": git_info() | {"sources_fingerprint_start": code_start},
        "args": {k: v for k, v in vars(args).items() if k not in ("profile", "profile_out")},
        "data": {"path": str(data), "derivation": corpus.__doc__.strip()},
        "default_workers": default_workers,
        "workers": workers,
        "query_set": {
            "queries": len(queryset.build(queryset.related_ids(first_ids))),
            "kinds": list(queryset.KINDS),
            "related_ids": queryset.related_ids(first_ids),
        },
        "sizes": sizes,
        "ratios": ratios,
        "targets": targets,
        "ratio_basis": basis,
        "budget": {"max_minutes": args.max_minutes, "notes": budget.notes},
        "notes": notes,
    }
    if cluster_info:
        result["opensearch"] = cluster_info
    for s in sizes:
        print(f"corpus {s['docs']:,}: {s['corpus']['description']}")
    print(report.table(result))
    for note in budget.notes + notes:
        print(f"note: {note}")
    loads, cpus = result["machine"]["loadavg_1min_start_end"], result["machine"]["cpus"] or 1
    print(
        f"total {result['elapsed_seconds'] / 60:.1f} min; 1-min load average {loads[0]} -> {loads[1]} on {cpus} CPUs"
        + (
            " (above the CPU count: other work shared the machine; compare cpu-s, not only docs/s)"
            if max(loads) > cpus
            else ""
        )
    )
    if args.json_out:
        out = _user_path(args.json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
        log(f"JSON written to {out}")
    if args.md_out:
        out = _user_path(args.md_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        head = (
            f"`scripts/bench {' '.join(sys.argv[1:])}` at commit {result['git']['commit']}"
            f"{' (dirty)' if result['git']['dirty'] else ''}, {result['started']}; "
            f"{result['machine']['cpus']} CPUs, 1-min load {loads[0]} -> {loads[1]}\n\n"
        )
        out.write_text(head + report.markdown(result) + "".join(f"\nnote: {n}" for n in budget.notes + notes) + "\n")
        log(f"Markdown written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
