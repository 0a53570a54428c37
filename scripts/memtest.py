"""Memory and time of indexing a 10,000-article corpus, in a child process.

The corpus is the first N (default 10,000) articles of
``../shared/data/fang-covid-de/corpus.jsonl`` in file order, written to a
temporary directory as JSONL shards (``source`` becomes ``sources: [..]``,
everything else as is).  Then ``python -m search index --json`` runs as a
subprocess; we report

* wall time and documents per second,
* ``peak_rss_mb``: ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` - the peak
  resident set of the largest single descendant process that was waited for
  (the indexer, its parse pool and Whoosh's writer processes),
* ``peak_tree_rss_mb`` / ``peak_tree_pss_mb``: the peak of the *sum* of RSS
  (shared pages counted in every process) and of PSS (shared pages divided
  among their users: what the machine had to hold) over the indexer's process
  tree, sampled from /proc (RSS every 0.25 s, PSS less often: see ``benchlib.measure.TreeMemory``).

    scripts/memtest [--docs 10000] [--json] [--keep DIR]

Exits 0 with a "skipped" message when the shared corpus is absent.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib.measure import TreeMemory  # noqa: E402 - after the path it lives on

CORPUS = ROOT.parent / "shared" / "data" / "fang-covid-de" / "corpus.jsonl"


def write_corpus(src: Path, out: Path, n_docs: int, shards: int = 10) -> tuple[int, int]:
    """First ``n_docs`` articles of ``src`` as ``shards`` JSONL files; returns (docs, bytes)."""
    out.mkdir(parents=True, exist_ok=True)
    records = []
    with open(src, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            obj = json.loads(line)
            source = obj.pop("source", None)
            if source and "sources" not in obj:
                obj["sources"] = [source]
            records.append(obj)
            if len(records) >= n_docs:
                break
    per = -(-len(records) // shards)
    total = 0
    for i in range(shards):
        chunk = records[i * per:(i + 1) * per]
        if not chunk:
            break
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chunk).encode()
        (out / f"shard-{i:02d}.jsonl").write_bytes(data)
        total += len(data)
    return len(records), total


def run(n_docs: int, workdir: Path, corpus: Path = CORPUS) -> dict:
    docs_dir, index_dir = workdir / "corpus", workdir / "index"
    t0 = time.monotonic()
    n, size = write_corpus(corpus, docs_dir, n_docs)
    prep = time.monotonic() - t0
    argv = [sys.executable, "-m", "search", "index", "--index-dir", str(index_dir), "--quiet", "--json",
            str(docs_dir)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreeMemory(proc.pid) as memory:
        out, err = proc.communicate()
        seconds = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        summary = json.loads(out)
    except ValueError:
        summary = {"error": out[-2000:] + err[-2000:]}
    index_bytes = sum(f.stat().st_size for f in index_dir.glob("*") if f.is_file()) if index_dir.exists() else 0
    return {
        "docs": n, "corpus_mb": round(size / 1e6, 1), "prepare_s": round(prep, 1),
        "exit_code": proc.returncode, "index_s": round(seconds, 1),
        "docs_per_s": round(n / seconds, 1) if seconds else None,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "peak_tree_rss_mb": round(memory.peak_rss / 2**20, 1),
        "peak_tree_pss_mb": round(memory.peak_pss / 2**20, 1),
        "index_mb": round(index_bytes / 1e6, 1),
        "added": summary.get("added"), "failed": summary.get("failed"),
        "failures": [f"{f['path']}:{f.get('line')}: {f['reason']}" for f in summary.get("failures", [])][:10],
        "error": summary.get("error"),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/memtest", description=__doc__.split("\n\n")[0])
    p.add_argument("--docs", type=int, default=10_000)
    p.add_argument("--corpus", type=Path, default=CORPUS)
    p.add_argument("--keep", type=Path, help="work in this directory and keep it (default: a temporary one)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not args.corpus.is_file():
        print(f"memtest skipped: the corpus {args.corpus} is absent (shared data not available here)")
        return 0
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        report = run(args.docs, args.keep, args.corpus)
    else:
        with tempfile.TemporaryDirectory(prefix="stichwort-memtest-") as tmp:
            report = run(args.docs, Path(tmp), args.corpus)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"indexed {report['added']} of {report['docs']} articles ({report['corpus_mb']} MB of JSONL) "
              f"in {report['index_s']} s = {report['docs_per_s']} docs/s; exit code {report['exit_code']}")
        print(f"peak RSS of one process (getrusage RUSAGE_CHILDREN ru_maxrss): {report['peak_rss_mb']} MB")
        print(f"peak RSS of the whole indexer process tree (sampled /proc):     {report['peak_tree_rss_mb']} MB "
              f"(PSS, shared pages counted once: {report['peak_tree_pss_mb']} MB)")
        print(f"index size: {report['index_mb']} MB; failed: {report['failed']}")
        for f in report["failures"]:
            print(f"  failed: {f}")
        if report["error"]:
            print(report["error"])
    return 0 if report["exit_code"] in (0, 1) and report["added"] else 1


if __name__ == "__main__":
    sys.exit(main())
