"""Built-in relevance evaluation: retrieval metrics and related-coverage precision.

Corpora are JSONL article files; each is indexed into a scratch directory
with the production indexer and searched with the production engine, so the
numbers describe what readers get.  Titles may be empty here (XQuAD
paragraphs have none), which the file readers would reject.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from search.config import Config, load_config
from search.ingest.article import Article
from search.ingest.fields import parse_date

EVAL_THREADS = 4


def load_jsonl(path: str | Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _article(obj: dict) -> Article:
    sources = obj.get("sources") or ([obj["source"]] if obj.get("source") else [])
    try:
        date = parse_date(obj.get("date"))
    except Exception:  # noqa: BLE001 - evaluation corpora keep their mess; an odd date is just absent
        date = None
    return Article(id=str(obj["id"]), title=obj.get("title") or "", body=obj.get("body") or "",
                   teaser=obj.get("teaser") or "", url=obj.get("url") or "", sources=list(sources),
                   category=obj.get("category") or "", date=date, language=obj.get("language") or "",
                   path=str(obj.get("id")))


def scratch_config(config: Config, index_dir: Path) -> Config:
    """``config`` for a scratch index in ``index_dir``; with the OpenSearch backend, a scratch index named
    after it (``drop_scratch`` deletes it)."""
    config = Config(copy.deepcopy(config.data), config.source)
    config.data["index_dir"] = str(index_dir)
    if config["backend"] == "opensearch":
        digest = hashlib.sha1(str(index_dir.resolve()).encode()).hexdigest()[:12]
        config.data["opensearch"]["index"] = f"{config['opensearch']['index']}-eval-{digest}"
    return config


def drop_scratch(config: Config) -> None:
    if config["backend"] == "opensearch":
        from search.backend.opensearch.client import from_config, path
        from search.backend.opensearch.writer import lock_index
        client = from_config(config)
        for index in (config["opensearch"]["index"], lock_index(config["opensearch"]["index"])):
            client.request("DELETE", path(index), ok=(404,))


def build_index(corpora: Iterable[str | Path], config: Config, index_dir: Path) -> int:
    """Index ``corpora`` into ``index_dir`` (``config`` itself is left as it was)."""
    from search.index.indexer import Indexer
    config = scratch_config(config, index_dir)
    articles = [_article(obj) for corpus in corpora for obj in load_jsonl(corpus)]
    Indexer(config).index_articles(articles, origin="eval")
    return len(articles)


def metrics(ranked: list[str], relevant: set[str], k: int = 10) -> dict[str, float]:
    top = ranked[:k]
    rr = next((1.0 / (i + 1) for i, d in enumerate(top) if d in relevant), 0.0)
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(top) if d in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return {
        "mrr@10": rr,
        "recall@1": len(set(ranked[:1]) & relevant) / len(relevant),
        "recall@10": len(set(top) & relevant) / len(relevant),
        "ndcg@10": dcg / ideal if ideal else 0.0,
    }


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = ("mrr@10", "recall@1", "recall@10", "ndcg@10")
    return {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in keys} | {"queries": len(rows)}


def evaluate(corpora: list[str], query_files: list[str], config: Config | None = None) -> dict[str, Any]:
    """MRR@10, Recall@1, Recall@10 and nDCG@10, overall and per language."""
    from search.engine import Engine
    config = config or load_config()
    with tempfile.TemporaryDirectory(prefix="stichwort-eval-") as tmp:
        n_docs = build_index(corpora, config, Path(tmp))
        scratch = scratch_config(config, Path(tmp))
        engine = Engine(tmp, scratch)
        per_lang: dict[str, list] = defaultdict(list)
        queries = [q for path in query_files for q in load_jsonl(path)]

        def ranked(q: dict) -> list[str]:
            return [h["id"] for h in engine.search(q["query"], size=10, highlight=False)["hits"]]

        # searches run concurrently (a cluster answers several at once); the answers do not depend on it
        with ThreadPoolExecutor(EVAL_THREADS) as pool:
            for q, ids in zip(queries, pool.map(ranked, queries)):
                per_lang[q.get("language") or "?"].append(metrics(ids, set(map(str, q["relevant"]))))
        engine.close()
        drop_scratch(scratch)
    everything = [row for rows in per_lang.values() for row in rows]
    return {"documents": n_docs, "overall": _mean(everything),
            "by_language": {lang: _mean(rows) for lang, rows in sorted(per_lang.items())}}


def evaluate_related(corpus: str, config: Config | None = None, limit: int | None = None) -> dict[str, Any]:
    """Precision@10 of same-category articles among ``related`` (same story first)."""
    from search.engine import Engine
    config = config or load_config()
    objs = list(load_jsonl(corpus))
    category = {str(o["id"]): o.get("category") for o in objs}
    with tempfile.TemporaryDirectory(prefix="stichwort-eval-") as tmp:
        build_index([corpus], config, Path(tmp))
        scratch = scratch_config(config, Path(tmp))
        engine = Engine(tmp, scratch)
        precisions = []
        for obj in objs[:limit]:
            if not obj.get("category"):
                continue
            rel = engine.related(str(obj["id"]), size=10)
            ids = [h["id"] for h in rel["same_story"] + rel["related"]][:10]
            if ids:
                precisions.append(sum(category.get(i) == obj["category"] for i in ids) / 10)
        engine.close()
        drop_scratch(scratch)
    return {"articles": len(precisions), "p@10": round(sum(precisions) / max(len(precisions), 1), 4)}


def print_table(report: dict[str, Any]) -> str:
    lines = [f"{'':10} {'queries':>8} {'MRR@10':>8} {'R@1':>8} {'R@10':>8} {'nDCG@10':>8}"]
    rows = list(report["by_language"].items()) + [("overall", report["overall"])]
    for name, m in rows:
        lines.append(f"{name:10} {m['queries']:>8} {m['mrr@10']:>8.4f} {m['recall@1']:>8.4f} "
                     f"{m['recall@10']:>8.4f} {m['ndcg@10']:>8.4f}")
    return "\n".join(lines)
