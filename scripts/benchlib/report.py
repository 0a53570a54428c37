"""Ratios against the targets, and the one printed table."""

from __future__ import annotations

import statistics

from .measure import latency_stats
from .queryset import BASELINE_KINDS, KINDS

#: Indexing before the query-path rework (commit 105041c, fresh clone, 10,000 docs): Stichwort with two workers
#: at 1.49x the plain-Whoosh baseline's docs/s in the same run, its index 2.16x the baseline's bytes.  Issue 14:
#: indexing must not get slower, the index not more than 10 % larger; both are taken against the baseline of
#: the same run, so that the machine's load cancels out.
BEFORE_THROUGHPUT_VS_BASELINE = 1.49
BEFORE_SIZE_VS_BASELINE = 2.16

TARGETS = {  # name -> (operator, threshold, what it compares); "small" is 10,000 docs (or the smallest size)
    "index_throughput_vs_baseline": (">=", BEFORE_THROUGHPUT_VS_BASELINE,
                                     ("Stichwort docs/s (default config workers) / baseline docs/s, "
                                      "median of back-to-back pairs, not below before")),
    "query_p50_vs_baseline": (
        "<=",
        0.5,
        ("in-process p50, word/two/three/phrase queries, engine.search(size=10, highlight=True) / plain Whoosh"),
    ),
    "http_p95_100k_vs_10k": ("<=", 2.0, "HTTP p95 at the highest client count, largest complete size / smallest"),
    "index_size_vs_baseline": ("<=", round(BEFORE_SIZE_VS_BASELINE * 1.1, 2),
                               "Stichwort index bytes (default config workers) / baseline bytes, before +10 %"),
    "query_p50_no_highlight_vs_baseline": ("<=", 0.25, "small size: p50 without highlights / plain Whoosh p50"),
    "query_p50_no_highlight_vs_tantivy": ("<=", 20.0, "small size: p50 without highlights / tantivy p50"),
    "query_p50_no_highlight_vs_tantivy_large": ("<=", 20.0, "largest size: p50 without highlights / tantivy p50"),
    "highlight_vs_no_highlight_p50": (
        "<=",
        2.0,
        ("small size: p50 with highlights / without (highlighting the 10 hits costs no more than the search)"),
    ),
    "query_p50_large_vs_small": ("<=", 3.0, "p50 without highlights, largest size / smallest"),
    "http_16_clients_rps_large": (">=", 61.0, "HTTP req/s at 16 clients, largest size (10x the 6.1 req/s of before)"),
    "related_p50_vs_search_p50": ("<=", 5.0, "largest size: related (uncached) p50 / search p50 without highlights"),
    "first_query_after_start_s": ("<=", 2.0, "largest size: seconds from starting the server to the first results"),
}
# the anchors' word/phrase p50 shown beside Stichwort's
VARIANTS = (
    ("stichwort", "Stichwort, highlight"),
    ("stichwort_no_highlight", "Stichwort, no highlight"),
    ("baseline", "baseline plain Whoosh"),
    ("tantivy", "tantivy"),
    ("tantivy_highlight", "tantivy, highlight"),
)
# --backend opensearch: the same query child's variants, on the OpenSearch index
OPENSEARCH_VARIANTS = (("stichwort", "highlight"), ("stichwort_no_highlight", "no highlight"))


def _rate(docs: int | None, seconds: float | None) -> float | None:
    return round(docs / seconds, 2) if docs and seconds else None


def index_figures(res: dict, input_bytes: int, n_docs: int) -> dict:
    """docs/s, MB/s, size; a run cut off by the budget keeps what it reached."""
    out = {
        k: res.get(k)
        for k in (
            "status",
            "wall_seconds",
            "seconds",
            "docs",
            "added",
            "failed",
            "failures",
            "segments",
            "index_bytes",
            "store_bytes_with_replicas",
            "peak_rss_mb",
            "peak_tree_rss_mb",
            "peak_tree_pss_mb",
            "progress",
            "cpu_seconds",
            "loadavg_1min",
            "code",
            "committed",
            "error",
            "skipped",
        )
        if res.get(k) is not None
    }
    complete = res.get("status") == "ok" and (res.get("docs") or 0) >= n_docs - (res.get("failed") or 0) > 0
    out["complete"] = bool(complete)
    if res.get("status") == "ok":
        out["docs_per_s"] = _rate(res.get("docs"), res.get("seconds"))
        out["mb_per_s"] = round(input_bytes / 1e6 / res["seconds"], 3) if res.get("seconds") else None
        out["index_mb"] = round(res.get("index_bytes", 0) / 1e6, 2)
    elif res.get("status") == "timeout":
        committed = (res.get("committed") or {}).get("doc_count")
        out["docs_per_s_partial"] = _rate(committed, res.get("wall_seconds"))  # wall time includes start-up
    return out


def query_figures(res: dict) -> dict:
    samples = res.get("samples_ms", {})
    out: dict = {
        "doc_count": res.get("doc_count"),
        "rounds": res.get("rounds"),
        "status": res.get("status"),
        "peak_rss_mb": res.get("peak_rss_mb"),
        "loadavg_1min": res.get("loadavg_1min"),
        "code": res.get("code"),
    }
    for variant, by_kind in samples.items():
        every = [x for xs in by_kind.values() for x in xs]
        subset = [x for k in BASELINE_KINDS for x in by_kind.get(k, [])]
        out[variant] = {
            "all": latency_stats(every),
            "word_phrase": latency_stats(subset),
            "by_kind": {k: latency_stats(by_kind[k]) for k in KINDS if k in by_kind},
        }
    totals = res.get("totals", {})
    out["queries"] = len(totals.get("stichwort", {}))
    out["queries_with_hits"] = {v: sum(1 for n in t.values() if n) for v, t in totals.items()}
    out["totals"] = totals
    out["errors"] = res.get("errors") or {}
    out["failed_queries"] = {v: len(e) for v, e in out["errors"].items()}
    out["raw_ms"] = samples
    out["first_call_ms"] = res.get("first_call_ms")
    if res.get("status") not in (None, "ok"):
        out["error"] = res.get("error")
    return out


def _div(a, b) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def ratios(sizes: list[dict], default_workers: int) -> tuple[dict, dict, dict]:
    """(ratios, targets, basis) over the measured sizes."""
    key = f"workers_{default_workers}"

    def complete(s):
        return s.get("stichwort", {}).get(key, {}).get("complete") and s.get("baseline", {}).get("complete")

    done = [s for s in sizes if complete(s)]
    top = done[-1] if done else None
    r: dict = {name: None for name in TARGETS}
    basis: dict = {}
    if top:
        sw, bl = top["stichwort"][key], top["baseline"]
        r["index_throughput_vs_baseline"] = _div(sw.get("docs_per_s"), bl.get("docs_per_s"))
        pairs = [_div(p["stichwort"], p["baseline"]) for p in top.get("index_pairs", [])]
        if len(pairs) > 1:  # back-to-back runs: the median pair, not one pair the machine's drift may decide
            r["index_throughput_vs_baseline_pairs"] = pairs
            r["index_throughput_vs_baseline"] = round(statistics.median(pairs), 3)
        r["index_size_vs_baseline"] = _div(sw.get("index_bytes"), bl.get("index_bytes"))
        w1 = top["stichwort"].get("workers_1", {})
        if w1.get("complete") and key != "workers_1":
            r["index_throughput_vs_baseline_1_worker"] = _div(w1.get("docs_per_s"), bl.get("docs_per_s"))
        q = top.get("queries", {})
        if q.get("baseline"):
            base = q["baseline"]["word_phrase"]["p50_ms"]
            r["query_p50_vs_baseline"] = _div(q["stichwort"]["word_phrase"]["p50_ms"], base)
            r["query_p50_no_highlight_vs_baseline"] = _div(q["stichwort_no_highlight"]["word_phrase"]["p50_ms"], base)
        basis["size"] = top["docs"]
    _query_ratios(sizes, key, r, basis)
    _opensearch_ratios(sizes, key, r, basis)
    with_http = [
        s for s in sizes if s.get("http", {}).get("levels") and s.get("stichwort", {}).get(key, {}).get("complete")
    ]
    if len(with_http) >= 2:
        small, large = with_http[0], with_http[-1]
        levels = [c for c in small["http"]["levels"] if c in large["http"]["levels"]]
        by_clients = {
            c: _div(large["http"]["levels"][c]["p95_ms"], small["http"]["levels"][c]["p95_ms"]) for c in levels
        }
        if levels:
            top_level = max(levels, key=int)
            r["http_p95_100k_vs_10k"] = by_clients[top_level]
            r["http_p95_large_vs_small_by_clients"] = by_clients
            basis["http_sizes"] = [small["docs"], large["docs"]]
            basis["http_clients"] = int(top_level)
    if with_http:
        large = with_http[-1]
        rps16 = large["http"]["levels"].get("16", {}).get("throughput_rps")
        r["http_16_clients_rps_large" if len(with_http) >= 2 else "http_16_clients_rps"] = rps16
        r["first_query_after_start_s"] = large["http"].get("first_query_seconds")
        r["server_pss_mb"] = (large["http"].get("memory") or {}).get("tree_pss_mb")
        basis["http_large"] = large["docs"]
    targets = {}
    for name, (op, threshold, what) in TARGETS.items():
        value = r.get(name)
        ok = None if value is None else (value >= threshold if op == ">=" else value <= threshold)
        targets[name] = {"op": op, "target": threshold, "value": value, "pass": ok, "compares": what}
    return r, targets, basis


def _p50(size: dict, variant: str, subset: str = "word_phrase", kind: str | None = None) -> float | None:
    q = size.get("queries", {}).get(variant) or {}
    st = (q.get("by_kind") or {}).get(kind) if kind else q.get(subset)
    return (st or {}).get("p50_ms")


def _query_ratios(sizes: list[dict], key: str, r: dict, basis: dict) -> None:
    """The issue's latency ratios: at 10,000 docs (else the smallest size with queries) and the largest."""
    measured = [
        s
        for s in sizes
        if s.get("queries", {}).get("stichwort_no_highlight") and s.get("stichwort", {}).get(key, {}).get("complete")
    ]
    if not measured:
        return
    small = next((s for s in measured if s["docs"] == 10_000), measured[0])
    large = measured[-1]
    nohl = _p50(small, "stichwort_no_highlight")
    r["query_p50_no_highlight_vs_baseline"] = _div(nohl, _p50(small, "baseline"))
    r["query_p50_no_highlight_vs_tantivy"] = _div(nohl, _p50(small, "tantivy"))
    r["highlight_vs_no_highlight_p50"] = _div(_p50(small, "stichwort"), nohl)
    r["query_p50_highlight_vs_baseline_small"] = _div(_p50(small, "stichwort"), _p50(small, "baseline"))
    r["related_p50_vs_search_p50"] = _div(
        _p50(large, "stichwort", kind="related"), _p50(large, "stichwort_no_highlight")
    )
    basis["small"], basis["large"] = small["docs"], large["docs"]
    if large is not small:
        r["query_p50_no_highlight_vs_tantivy_large"] = _div(
            _p50(large, "stichwort_no_highlight"), _p50(large, "tantivy")
        )
        r["query_p50_large_vs_small"] = _div(_p50(large, "stichwort_no_highlight"), nohl)


def _opensearch_ratios(sizes: list[dict], key: str, r: dict, basis: dict) -> None:
    """OpenSearch / Whoosh backend at the largest size both indexed completely (no targets: what it costs)."""
    both = [
        s
        for s in sizes
        if s.get("opensearch", {}).get("indexing", {}).get("complete")
        and s.get("stichwort", {}).get(key, {}).get("complete")
    ]
    if not both:
        return
    top = both[-1]
    osq = top["opensearch"].get("queries") or {}
    r["opensearch_index_throughput_vs_whoosh"] = _div(
        top["opensearch"]["indexing"].get("docs_per_s"), top["stichwort"][key].get("docs_per_s")
    )

    def p50(q: dict, variant: str, kind: str | None = None) -> float | None:
        st = (q.get(variant) or {}).get("by_kind", {}).get(kind) if kind else (q.get(variant) or {}).get("word_phrase")
        return (st or {}).get("p50_ms")

    wq = top.get("queries") or {}
    r["opensearch_query_p50_vs_whoosh"] = _div(p50(osq, "stichwort_no_highlight"), p50(wq, "stichwort_no_highlight"))
    r["opensearch_query_p50_highlight_vs_whoosh"] = _div(p50(osq, "stichwort"), p50(wq, "stichwort"))
    r["opensearch_related_p50_vs_whoosh"] = _div(p50(osq, "stichwort", "related"), p50(wq, "stichwort", "related"))
    basis["opensearch_size"] = top["docs"]


# -- the table ------------------------------------------------------------------------
def _n(x, fmt="{:,.1f}") -> str:
    return "-" if x is None else fmt.format(x)


def _cpu(f: dict) -> str:
    load = f.get("loadavg_1min") or [None, None]
    docs = f.get("docs") or (f.get("committed") or {}).get("doc_count")
    per_k = f["cpu_seconds"] / docs * 1000 if f.get("cpu_seconds") and docs else None
    return f"{_n(per_k)} cpu-s/1k, load {_n(load[0], '{:.1f}')}-{_n(load[1], '{:.1f}')}"


def _index_cells(f: dict | None) -> tuple[str, str, str]:
    if not f:
        return "-", "-", "-"
    if f.get("skipped"):
        return "skipped", f["skipped"][:40], "-"
    if f.get("status") == "timeout":
        done = (f.get("committed") or {}).get("doc_count") or 0
        return (f"cut off: {done:,} docs committed", f"{_n(f.get('docs_per_s_partial'))} docs/s so far", _cpu(f))
    if f.get("status") != "ok":
        return "error", (f.get("error") or "")[-40:].replace("\n", " "), "-"
    seg = f" {f['segments']}seg" if f.get("segments") is not None else ""
    return (
        f"{_n(f.get('docs_per_s'))} d/s {_n(f.get('mb_per_s'), '{:.2f}')} MB/s",
        f"{_n(f.get('index_mb'))} MB{seg} {_n(f.get('peak_tree_pss_mb') or f.get('peak_tree_rss_mb'), '{:,.0f}')} MB "
        + ("PSS" if f.get("peak_tree_pss_mb") else "RSS"),
        _cpu(f),
    )


def _rows(report: dict) -> list[tuple[str, list[str]]]:
    sizes = report["sizes"]
    rows: list[tuple[str, list[str]]] = []
    rows.append(
        ("documents (real + synthetic)", [f"{s['corpus']['real']:,} + {s['corpus']['synthetic']:,}" for s in sizes])
    )
    rows.append(("input JSONL MB (shards)", [f"{s['corpus']['mb']:,.1f} ({s['corpus']['shards']})" for s in sizes]))
    rows.append(
        (
            "analysis only: docs/s, MB/s",
            [
                (
                    f"{_n(s['analysis'].get('docs_per_s'))} d/s {_n(s['analysis'].get('mb_per_s'), '{:.2f}')} MB/s"
                    if s.get("analysis", {}).get("status") == "ok"
                    else s.get("analysis", {}).get("status", "-")
                )
                for s in sizes
            ],
        )
    )
    rows.append(
        (
            "analysis only: CPU, load",
            [_cpu(s["analysis"]) if s.get("analysis", {}).get("status") == "ok" else "-" for s in sizes],
        )
    )
    runs = [("baseline plain Whoosh", "baseline", None), ("tantivy", "tantivy", None)] + [
        (f"Stichwort workers={w}", "stichwort", f"workers_{w}") for w in report["workers"]
    ]
    for label, kind, sub in runs:
        cells = [_index_cells(s.get(kind, {}).get(sub) if sub else s.get(kind)) for s in sizes]
        rows.append((f"{label}: throughput", [c[0] for c in cells]))
        rows.append((f"{label}: index size, peak memory", [c[1] for c in cells]))
        rows.append((f"{label}: CPU (all processes), load", [c[2] for c in cells]))
    rows.append((
        "indexing back to back: Stichwort / baseline d/s",
        ["; ".join(f"{p['stichwort']:,.0f}/{p['baseline']:,.0f}" for p in s["index_pairs"]) if s.get("index_pairs")
         else "-" for s in sizes],
    ))

    def used(s: dict) -> str:
        q = s.get("queries") or s.get("http") or {}
        if "index_complete" not in q:
            return "-"
        docs = s.get("queries", {}).get("doc_count")
        return (f"{docs:,} docs, " if docs is not None else "") + ("complete" if q["index_complete"] else "PARTIAL")

    rows.append(("index for queries and HTTP (Stichwort default workers)", [used(s) for s in sizes]))
    for variant, label in VARIANTS:
        for subset, sub_label in (("word_phrase", "word+phrase"), ("all", "all kinds")):
            if not variant.startswith("stichwort") and subset == "all":
                continue
            cells = []
            for s in sizes:
                st = s.get("queries", {}).get(variant, {}).get(subset)
                cells.append(
                    f"{_n(st['p50_ms'], '{:.1f}')} / {_n(st['p95_ms'], '{:.1f}')} / {_n(st['p99_ms'], '{:.1f}')}"
                    if st and st.get("n")
                    else "-"
                )
            rows.append((f"query ms p50/p95/p99 {label} ({sub_label})", cells))

    def failing(s: dict) -> str:
        q = s.get("queries")
        if not q:
            return "-"
        if q.get("status") not in (None, "ok"):
            return f"phase {q.get('status')}"
        failed = q.get("failed_queries", {})
        return f"{failed.get('stichwort', 0)} / {failed.get('baseline', 0)}"

    rows.append(("queries failing (Stichwort / baseline)", [failing(s) for s in sizes]))
    for variant, kind in (
        ("stichwort", "filter"),
        ("stichwort", "sort"),
        ("stichwort", "related"),
        ("baseline", "related"),
        ("tantivy", "related"),
    ):
        cells = []
        for s in sizes:
            st = s.get("queries", {}).get(variant, {}).get("by_kind", {}).get(kind)
            cells.append(
                f"{_n(st['p50_ms'], '{:.1f}')} / {_n(st['p95_ms'], '{:.1f}')} / {_n(st['p99_ms'], '{:.1f}')}"
                if st and st.get("n")
                else "-"
            )
        name = {"stichwort": "", "baseline": " (plain Whoosh more_like)", "tantivy": " (tantivy more-like-this)"}[
            variant
        ]
        rows.append((f"query ms p50/p95/p99 {kind}{name}" + (" uncached" if kind == "related" else ""), cells))
    rows.append(
        (
            "first calls ms after Engine() (open; word, related)",
            [
                (
                    lambda f: (
                        f"{_n(f.get('open_ms'), '{:.0f}')}; {_n(f.get('word'), '{:.0f}')}, "
                        f"{_n(f.get('related'), '{:.0f}')}"
                        if f
                        else "-"
                    )
                )(s.get("queries", {}).get("first_call_ms"))
                for s in sizes
            ],
        )
    )
    if any("opensearch" in s for s in sizes):
        rows += _opensearch_rows(report)
    rows.append(
        (
            "server start: health s, first results s (its ms)",
            [
                (
                    f"{_n(h.get('startup_seconds'), '{:.2f}')}, {_n(h.get('first_query_seconds'), '{:.2f}')} "
                    f"({_n(h.get('first_query_ms'), '{:.0f}')})"
                    if (h := s.get("http") or {}).get("levels")
                    else "-"
                )
                for s in sizes
            ],
        )
    )
    rows.append(
        (
            "server memory MB: tree PSS idle / after load, worker PSS",
            [
                (
                    f"{_n((h.get('memory_idle') or {}).get('tree_pss_mb'), '{:,.0f}')} / "
                    f"{_n((h.get('memory') or {}).get('tree_pss_mb'), '{:,.0f}')}, "
                    f"{_n((h.get('memory') or {}).get('worker_pss_mb'), '{:,.0f}')}"
                    if (h := s.get("http") or {}).get("levels")
                    else "-"
                )
                for s in sizes
            ],
        )
    )
    levels = sorted({c for s in sizes for c in s.get("http", {}).get("levels", {})}, key=int)
    for c in levels:
        cells = []
        for s in sizes:
            st = s.get("http", {}).get("levels", {}).get(c)
            cells.append(
                f"{_n(st['p50_ms'], '{:.0f}')}/{_n(st['p95_ms'], '{:.0f}')}/{_n(st['p99_ms'], '{:.0f}')} ms "
                f"{_n(st['throughput_rps'], '{:.1f}')} r/s" + (f" {st['errors']} err" if st.get("errors") else "")
                if st and st.get("requests")
                else "-"
            )
        rows.append((f"HTTP {c:>2} clients p50/p95/p99, req/s", cells))
    return rows


def _latency(st: dict | None) -> str:
    if not st or not st.get("n"):
        return "-"
    return f"{_n(st['p50_ms'], '{:.1f}')} / {_n(st['p95_ms'], '{:.1f}')} / {_n(st['p99_ms'], '{:.1f}')}"


def _opensearch_rows(report: dict) -> list[tuple[str, list[str]]]:
    """--backend opensearch: indexing and in-process queries on the cluster, the same corpus and query set."""
    sizes = report["sizes"]
    c = report.get("opensearch") or {}
    name = f"OpenSearch {c.get('nodes', '?')} nodes {c.get('shards', '?')}x{c.get('replicas', '?')}"
    figs = [s.get("opensearch", {}).get("indexing") for s in sizes]
    cells = [_index_cells(f) for f in figs]

    def cpu(f: dict | None) -> str:
        if not f or f.get("skipped") or f.get("status") not in ("ok", "timeout"):
            return "-"
        docs = f.get("docs") or (f.get("committed") or {}).get("doc_count")
        cluster = f["cluster_cpu_seconds"] / docs * 1000 if f.get("cluster_cpu_seconds") and docs else None
        return f"{_cpu(f)}; cluster {_n(cluster)} cpu-s/1k"

    def wall(f: dict | None) -> str:
        if not f or f.get("skipped") or f.get("status") not in ("ok", "timeout"):
            return "-"
        copies = (f.get("store_bytes_with_replicas") or 0) / 1e6
        return f"{_n(f.get('seconds') or f.get('wall_seconds'), '{:,.0f}')} s; with replicas {_n(copies or None)} MB"

    def used(s: dict) -> str:
        q = s.get("opensearch", {}).get("queries") or {}
        if "index_complete" not in q:
            return "-"
        docs = q.get("doc_count")
        return (f"{docs:,} docs, " if docs is not None else "") + ("complete" if q["index_complete"] else "PARTIAL")

    def queries(s: dict) -> dict:
        return s.get("opensearch", {}).get("queries") or {}

    rows = [
        (f"{name}: throughput", [c[0] for c in cells]),
        (f"{name}: index size (primaries), indexer peak memory", [c[1] for c in cells]),
        (f"{name}: indexing wall time, store with replicas", [wall(f) for f in figs]),
        (f"{name}: CPU (indexer; cluster), load", [cpu(f) for f in figs]),
        (f"{name}: index for queries", [used(s) for s in sizes]),
    ]
    for variant, label in OPENSEARCH_VARIANTS:
        for subset, sub_label in (("word_phrase", "word+phrase"), ("all", "all kinds")):
            rows.append(
                (
                    f"{name}: query ms p50/p95/p99 {label} ({sub_label})",
                    [_latency(queries(s).get(variant, {}).get(subset)) for s in sizes],
                )
            )
    for kind in ("filter", "sort", "related"):
        rows.append(
            (
                f"{name}: query ms p50/p95/p99 {kind}" + (" uncached" if kind == "related" else ""),
                [_latency(queries(s).get("stichwort", {}).get("by_kind", {}).get(kind)) for s in sizes],
            )
        )
    rows.append(
        (
            f"{name}: queries failing",
            [
                (
                    f"phase {q.get('status')}"
                    if q.get("status") not in (None, "ok")
                    else str(q.get("failed_queries", {}).get("stichwort", 0))
                )
                if (q := queries(s))
                else "-"
                for s in sizes
            ],
        )
    )
    rows.append(
        (
            f"{name}: first calls ms after Engine() (open; word, related)",
            [
                (
                    f"{_n(f.get('open_ms'), '{:.0f}')}; {_n(f.get('word'), '{:.0f}')}, {_n(f.get('related'), '{:.0f}')}"
                    if (f := queries(s).get("first_call_ms"))
                    else "-"
                )
                for s in sizes
            ],
        )
    )
    return rows


def _verdict(t: dict) -> str:
    return {True: "pass", False: "FAIL", None: "not measured"}[t["pass"]]


def markdown(report: dict) -> str:
    """The same table and targets as Markdown (for docs/performance.md)."""
    rows = _rows(report)
    sizes = report["sizes"]
    out = ["| | " + " | ".join(f"{s['docs']:,} docs" for s in sizes) + " |", "|---|" + "---|" * len(sizes)]
    out += [f"| {label} | " + " | ".join(c.replace("|", "/") for c in cells) + " |" for label, cells in rows]
    out += ["", "| target | compares | value | target | verdict |", "|---|---|---|---|---|"]
    out += [
        f"| {name} | {t['compares']} | {_n(t['value'], '{:.3f}')} | {t['op']} {t['target']:g} | {_verdict(t)} |"
        for name, t in report["targets"].items()
    ]
    return "\n".join(out) + "\n"


def table(report: dict) -> str:
    rows = _rows(report)
    sizes = report["sizes"]
    key_default = f"workers_{report['default_workers']}"
    header = ("", [f"{s['docs']:,} docs" for s in sizes])
    width0 = max(len(r[0]) for r in rows + [header])
    widths = [max(len(r[1][i]) for r in rows + [header]) for i in range(len(sizes))]
    lines = []
    for label, cells in [header] + rows:
        lines.append(f"{label:<{width0}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths)))
    sep = "-" * len(lines[0])
    lines.insert(1, sep)
    lines.append(sep)
    basis = report.get("ratio_basis", {})
    for name, t in report["targets"].items():
        verdict = _verdict(t)
        lines.append(f"{name:<{width0}}  {_n(t['value'], '{:.3f}'):>8}  target {t['op']} {t['target']:<4}  {verdict}")
    extra = {k: v for k, v in report["ratios"].items()
             if k not in report["targets"] and not isinstance(v, (dict, list))}
    if extra:
        lines.append("also: " + ", ".join(f"{k} {_n(v, '{:.3f}')}" for k, v in extra.items()))
    if basis:
        lines.append(
            f"(index ratios at {basis.get('size', 0):,} docs; "
            f"latency ratios small = {basis.get('small', 0):,}, "
            f"largest = {basis.get('large', 0):,} docs; Stichwort = {key_default}"
            + (
                f"; HTTP {basis['http_sizes'][0]:,} vs {basis['http_sizes'][1]:,} docs at "
                f"{basis['http_clients']} clients"
                if basis.get("http_sizes")
                else ""
            )
            + ")"
        )
    return "\n".join(lines)
