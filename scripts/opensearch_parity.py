#!/usr/bin/env python3
"""Parity of the OpenSearch backend with the Whoosh backend on a JSON Lines corpus.

    .venv/bin/python scripts/opensearch_parity.py CORPUS.jsonl [--url URLS] [--queries N]

Indexes the corpus into a scratch Whoosh index and a scratch OpenSearch index (deleted afterwards),
runs a fixed query set (the demo queries, plus words drawn from the corpus's titles) on both, and
reports how many have identical totals, facet counts and histograms, and identical top-10 ids (as
a list and as a set).  Exit status 1 when counts differ or fewer than 90 % of the top-10 sets agree.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("--url", default=os.environ.get("STICHWORT_OPENSEARCH_URL", "http://127.0.0.1:9200"))
    ap.add_argument("--queries", type=int, default=60, help="words drawn from titles, besides the demo queries")
    args = ap.parse_args()
    from test_relevance import QUERIES

    import search.backend.opensearch.check  # noqa: F401 - the whole backend loaded now, as it is
    import search.backend.opensearch.searching  # noqa: F401
    from search.config import load_config
    from search.engine import Engine
    from search.evaluate import build_index, drop_scratch, load_jsonl, scratch_config

    titles = [o.get("title") or "" for o in load_jsonl(args.corpus)]
    words = [w.strip(".,:;!?\"'()") for t in titles[::max(1, len(titles) // args.queries)] for w in t.split()[:1]]
    queries = list(QUERIES) + [w for w in dict.fromkeys(words) if len(w) > 3][:args.queries]
    with tempfile.TemporaryDirectory(prefix="stichwort-parity-") as tmp:
        base = load_config()
        whoosh = scratch_config(base, Path(tmp) / "whoosh")
        cluster = load_config()
        cluster.data["backend"] = "opensearch"
        cluster.data["opensearch"]["url"] = args.url
        started = time.perf_counter()
        build_index([args.corpus], base, Path(tmp) / "whoosh")
        whoosh_s = time.perf_counter() - started
        started = time.perf_counter()
        build_index([args.corpus], cluster, Path(tmp) / "os")
        os_s = time.perf_counter() - started
        scratch = scratch_config(cluster, Path(tmp) / "os")
        a_engine, b_engine = Engine(whoosh.index_dir, whoosh), Engine(scratch.index_dir, scratch)
        counts_differ, order_same, set_same, rows = [], 0, 0, []
        a_ms = b_ms = 0.0
        for q in queries:
            t = time.perf_counter()
            a = a_engine.search(q, highlight=False)
            a_ms += (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            b = b_engine.search(q, highlight=False)
            b_ms += (time.perf_counter() - t) * 1000
            ca = (a["total"], [[r["count"] for r in v] for v in a["facets"].values()], a["date_histogram"])
            cb = (b["total"], [[r["count"] for r in v] for v in b["facets"].values()], b["date_histogram"])
            if ca != cb:
                counts_differ.append(q)
            ia, ib = [h["id"] for h in a["hits"]], [h["id"] for h in b["hits"]]
            order_same += ia == ib
            set_same += set(ia) == set(ib)
            if ia != ib:
                rows.append({"query": q, "whoosh": [(h["id"], h["score"]) for h in a["hits"]],
                             "opensearch": [(h["id"], h["score"]) for h in b["hits"]]})
        a_engine.close()
        b_engine.close()
        drop_scratch(scratch)
    report = {"documents": len(titles), "queries": len(queries), "counts_differ": counts_differ,
              "top10_same_order": order_same, "top10_same_set": set_same,
              "index_seconds": {"whoosh": round(whoosh_s, 1), "opensearch": round(os_s, 1)},
              "mean_query_ms": {"whoosh": round(a_ms / len(queries), 1), "opensearch": round(b_ms / len(queries), 1)}}
    print(json.dumps(report, ensure_ascii=False, indent=1))
    Path(tempfile.gettempdir(), "stichwort-parity-diffs.json").write_text(json.dumps(rows, ensure_ascii=False,
                                                                                     indent=1))
    return 0 if not counts_differ and set_same >= 0.9 * len(queries) else 1


if __name__ == "__main__":
    sys.exit(main())
