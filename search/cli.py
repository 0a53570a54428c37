"""The ``stichwort`` command line: index, delete, stats, search, eval, serve."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from search.config import load_config
from search.errors import StichwortError


def _progress(stream=sys.stderr):
    def show(docs: int, files: int, seconds: float) -> None:
        rate = docs / seconds if seconds > 0 else 0.0
        bar = "#" * min(30, files // 10 + 1)
        stream.write(f"\r[{bar:<30}] {files} files, {docs} documents, {rate:,.0f} docs/s")
        stream.flush()
    return show


def cmd_index(args) -> int:
    from search.index.indexer import Indexer
    config = load_config(args.config, index_dir=args.index_dir)
    quiet = args.quiet or not sys.stderr.isatty()
    indexer = Indexer(config, progress=None if quiet else _progress())
    summary = indexer.index_paths(args.paths, rebuild=args.rebuild, wait=args.wait)
    if not quiet:
        sys.stderr.write("\n")
    if args.json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"added {summary.added}, updated {summary.updated}, unchanged files {summary.unchanged}, "
              f"removed {summary.deleted}, failed {summary.failed}")
        for f in summary.failures:
            print(f"  failed: {f}")
    return 1 if summary.failures else 0


def cmd_delete(args) -> int:
    from search.index.indexer import Indexer
    config = load_config(args.config, index_dir=args.index_dir)
    count = Indexer(config).delete(args.ids)
    print(f"deleted {count} of {len(args.ids)}")
    return 0 if count == len(args.ids) else 1


def _engine(args):
    from search.engine import Engine
    config = load_config(args.config, index_dir=args.index_dir)
    return Engine(config.index_dir, config)


def cmd_stats(args) -> int:
    stats = _engine(args).stats()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return 0
    print(f"index:     {stats['index_dir']}")
    print(f"documents: {stats['documents']}")
    print(f"size:      {stats['size_bytes'] / 1e6:.2f} MB")
    for key in ("language", "category", "location", "source"):
        top = ", ".join(f"{k} {v}" for k, v in list(stats[key].items())[:12])
        print(f"{key + ':':<10} {top}")
    return 0


def cmd_search(args) -> int:
    filters: dict[str, list[str]] = {}
    for item in args.filter:
        key, _, value = item.partition("=")
        if not value:
            raise StichwortError(f"--filter needs FIELD=VALUE, got {item!r}")
        filters.setdefault(key.strip(), []).append(value.strip())
    result = _engine(args).search(" ".join(args.query), filters=filters, sort=args.sort, page=args.page,
                                  size=args.size, lang=args.lang, collapse=args.collapse)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"{result['total']['value']} hits ({result['took_ms']} ms)")
    if result["suggestion"]:
        print(f"did you mean: {result['suggestion']}")
    for note in result["notes"]:
        print(f"note: {note}")
    for i, hit in enumerate(result["hits"], start=(result["page"] - 1) * result["size"] + 1):
        print(f"\n{i:>3}. {hit['title']}  [{hit['score']}]")
        print(f"     {hit['id']} | {hit['date'] or '-'} | {hit['location'] or '-'} | {', '.join(hit['sources'] or [])}")
        for frag in hit["highlights"]["body"][:1]:
            print("     " + frag.replace("<mark>", "\033[1m").replace("</mark>", "\033[0m"))
    print()
    for name, rows in result["facets"].items():
        if rows:
            print(f"{name}: " + ", ".join(f"{r['value']} ({r['count']})" for r in rows[:8]))
    return 0


def cmd_eval(args) -> int:
    from search.evaluate import evaluate, print_table
    report = evaluate(args.corpus, args.queries, config=load_config(args.config))
    print(json.dumps(report, indent=2) if args.json else print_table(report))
    return 0


def cmd_eval_related(args) -> int:
    from search.evaluate import evaluate_related
    report = evaluate_related(args.corpus, config=load_config(args.config), limit=args.limit)
    print(json.dumps(report, indent=2) if args.json else
          f"related P@10 (same category): {report['p@10']:.3f} over {report['articles']} articles")
    return 0


def cmd_check(args) -> int:
    from search.backend.whoosh.check import inspect_index
    config = load_config(args.config, index_dir=args.index_dir)
    report = inspect_index(config.index_dir, sample_terms=None if args.full else args.sample_terms)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"index:     {report.index_dir} (commit {report.generation}, {report.segments} segments)")
        print(f"documents: {report.documents} live, {report.deleted} deleted; {report.terms_checked} terms' postings read")
        for note in report.notes:
            print(f"note: {note}")
        for problem in report.problems:
            print(f"problem: {problem}")
        print("consistent" if report.ok else f"NOT consistent: {len(report.problems)} problem(s)")
    return 0 if report.ok else 1


def cmd_serve(args) -> int:
    """Hand over to ``web.server`` (gunicorn); the engine library itself never imports Flask."""
    config = load_config(args.config, index_dir=args.index_dir)
    server = config["server"]
    host, port = args.host or server["host"], args.port or server["port"]
    workers = args.workers or server["workers"]
    if args.config:
        os.environ["STICHWORT_CONFIG"] = str(Path(args.config).resolve())
    argv = [sys.executable, "-m", "web.server", "--index-dir", str(Path(config.index_dir).resolve()),
            "--host", str(host), "--port", str(port)] + (["--workers", str(workers)] if workers else [])
    print(f"serving {config.index_dir} on http://{host}:{port} with gunicorn", file=sys.stderr)
    os.execv(argv[0], argv)
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stichwort", description="German-first search for news archives.")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp, index=True):
        sp.add_argument("--config", help="YAML configuration file")
        if index:
            sp.add_argument("--index-dir", help="index directory (default from config: index_data/index)")
        return sp

    sp = common(sub.add_parser("index", help="index files and directories"))
    sp.add_argument("paths", nargs="+")
    sp.add_argument("--rebuild", action="store_true", help="start from an empty index")
    sp.add_argument("--wait", type=float, default=0.0, help="seconds to wait for another indexer")
    sp.add_argument("--json", action="store_true", help="print the summary as JSON")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.set_defaults(func=cmd_index)

    sp = common(sub.add_parser("delete", help="delete articles by id"))
    sp.add_argument("ids", nargs="+")
    sp.set_defaults(func=cmd_delete)

    sp = common(sub.add_parser("stats", help="what the index holds"))
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_stats)

    sp = common(sub.add_parser("search", help="search the index"))
    sp.add_argument("query", nargs="+")
    sp.add_argument("--lang")
    sp.add_argument("--filter", action="append", default=[], metavar="FIELD=VALUE",
                    help="location, source, category or language; repeat for several")
    sp.add_argument("--sort", default="relevance", choices=["relevance", "newest", "oldest"])
    sp.add_argument("--page", type=int, default=1)
    sp.add_argument("--size", type=int, default=10)
    sp.add_argument("--collapse", action="store_true", help="one hit per story")
    sp.add_argument("--json", action="store_true", help="print exactly what /api/search returns")
    sp.set_defaults(func=cmd_search)

    sp = common(sub.add_parser("eval", help="retrieval quality: MRR@10, Recall@1/10, nDCG@10"), index=False)
    sp.add_argument("--corpus", required=True, action="append", help="JSONL articles (repeat to mix corpora)")
    sp.add_argument("--queries", required=True, action="append", help="JSONL {qid, query, language, relevant}")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_eval)

    sp = common(sub.add_parser("eval-related", help="same-category precision@10 of related()"), index=False)
    sp.add_argument("--corpus", required=True)
    sp.add_argument("--limit", type=int, default=None, help="evaluate only the first N articles")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_eval_related)

    sp = common(sub.add_parser("check", help="check the index for consistency (exit 1 on problems)"))
    sp.add_argument("--sample-terms", type=int, default=40, help="terms per field whose postings are read")
    sp.add_argument("--full", action="store_true", help="read every term's postings (slow; finds bit rot)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_check)

    sp = common(sub.add_parser("serve", help="serve the UI and JSON API with gunicorn"))
    sp.add_argument("--host")
    sp.add_argument("--port", type=int)
    sp.add_argument("--workers", type=int)
    sp.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except StichwortError as exc:
        print(f"stichwort: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
