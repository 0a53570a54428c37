"""The ``stichwort`` command line: index, delete, compact, stats, check, search, eval, serve.

Conventions: errors are one line on stderr (exit 2); colour only on a terminal
and never with ``NO_COLOR`` set; a closed output pipe (``| head``) ends the
command quietly.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from search import __version__
from search.config import FACETS, load_config
from search.errors import StichwortError

_MB = 1024 * 1024


def _colour(stream) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR")


def _progress(stream=sys.stderr):
    """A progress line counting articles (a big file moves it as much as many small ones)."""
    last = [0.0]

    def show(p) -> None:
        now = time.monotonic()
        if now - last[0] < 0.25 and p.stage != "done":
            return
        last[0] = now
        rate = p.articles / p.seconds if p.seconds > 0 else 0.0
        speed = p.bytes / _MB / p.seconds if p.seconds > 0 else 0.0
        line = f"{p.articles:,} articles read ({rate:,.0f}/s), {p.written:,} written"
        if p.bytes_total:
            line += f", {p.bytes / _MB:,.1f} of {p.bytes_total / _MB:,.1f} MB ({speed:,.1f} MB/s)"
            if p.bytes and p.bytes < p.bytes_total and p.stage == "reading":
                eta = int((p.bytes_total - p.bytes) / (p.bytes / p.seconds))
                line += f", ETA {eta // 60}:{eta % 60:02d}"
        if p.stage in ("writing", "merging"):
            line += f"; {p.stage}"
        stream.write(f"\r{line[:150]:<150}")
        stream.flush()
    return show


def _limits(args) -> dict:
    return {key: value for key, value in (("max_file_mb", args.max_file_mb), ("max_record_mb", args.max_record_mb),
                                          ("follow_links", True if args.follow_links else None))
            if value is not None}


def cmd_index(args) -> int:
    from search.index.indexer import Indexer, IndexWriteError
    config = load_config(args.config, index_dir=args.index_dir, indexing=_limits(args))
    quiet = args.quiet or not sys.stderr.isatty()
    indexer = Indexer(config, progress=None if quiet else _progress())
    error = None
    try:
        summary = indexer.index_paths(args.paths, rebuild=args.rebuild, wait=args.wait, compact=args.compact)
    except IndexWriteError as exc:
        summary, error = exc.summary, str(exc)
    finally:
        if not quiet:
            sys.stderr.write("\n")
    if args.json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(summary.text()))
    if error:
        print(f"stichwort: error: {error}", file=sys.stderr)
    return 1 if summary.failures or error else 0


def cmd_compact(args) -> int:
    from search.index.indexer import Indexer
    config = load_config(args.config, index_dir=args.index_dir)
    report = Indexer(config).compact()
    print(f"compacted {config.index_dir}: {report.segments_before} -> {report.segments_after} segments, "
          f"{report.deleted_reclaimed} deleted documents reclaimed, "
          f"{report.bytes_before / 1e6:.1f} -> {report.bytes_after / 1e6:.1f} MB")
    return 0


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
        if not value.strip():
            raise StichwortError(f"--filter needs FIELD=VALUE, got {item!r}")
        if key.strip() not in FACETS:
            raise StichwortError(f"--filter {item!r}: unknown field {key.strip()!r}; known fields: {', '.join(FACETS)}")
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
        bold, plain = ("\033[1m", "\033[0m") if _colour(sys.stdout) else ("", "")
        for frag in hit["highlights"]["body"][:1]:
            print("     " + frag.replace("<mark>", bold).replace("</mark>", plain))
    print()
    for name, rows in result["facets"].items():
        if rows:
            print(f"{name}: " + ", ".join(f"{r['value']} ({r['count']})" for r in rows[:8]))
    return 0


def _with_backend(config, backend: str | None):
    """``config`` with ``--backend`` (evaluation builds a scratch index in it: a scratch OpenSearch index)."""
    if backend:
        config.data["backend"] = backend
    return config


def cmd_eval(args) -> int:
    from search.evaluate import evaluate, print_table
    report = evaluate(args.corpus, args.queries, config=_with_backend(load_config(args.config), args.backend))
    print(json.dumps(report, indent=2) if args.json else print_table(report))
    return 0


def cmd_eval_related(args) -> int:
    from search.evaluate import evaluate_related
    report = evaluate_related(args.corpus, config=_with_backend(load_config(args.config), args.backend),
                              limit=args.limit)
    print(json.dumps(report, indent=2) if args.json else
          f"related P@10 (same category): {report['p@10']:.3f} over {report['articles']} articles")
    return 0


def cmd_check(args) -> int:
    from search.backend.whoosh.check import inspect_index
    config = load_config(args.config, index_dir=args.index_dir)
    if config["backend"] == "opensearch":
        from search.backend.opensearch.check import inspect_cluster
        report = inspect_cluster(config)
    else:
        report = inspect_index(config.index_dir, sample_terms=None if args.full else args.sample_terms)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"index:     {report.index_dir} (commit {report.generation}, {report.segments} segments)")
        print(f"documents: {report.documents} live, {report.deleted} deleted; "
              f"{report.terms_checked} terms' postings read")
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
    if config["backend"] == "opensearch":  # the articles live in the cluster; the directory keeps the cursor key
        Path(config.index_dir).mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "web.server", "--index-dir", str(Path(config.index_dir).resolve()),
            "--host", str(host), "--port", str(port)] + (["--workers", str(workers)] if workers else [])
    print(f"serving {config.index_dir} on http://{host}:{port} with gunicorn", file=sys.stderr)
    os.execv(argv[0], argv)
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stichwort", description="German-first search for news archives.")
    p.add_argument("--version", action="version", version=f"stichwort {__version__}")
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
    sp.add_argument("--quiet", action="store_true", help="no progress line")
    sp.add_argument("--compact", action="store_true",
                    help="afterwards rewrite the index without deleted documents (as stichwort compact)")
    sp.add_argument("--max-file-mb", type=float, metavar="MB",
                    help="limit of a whole-document file (JSON, Markdown, n-ag; default indexing.max_file_mb: 32)")
    sp.add_argument("--max-record-mb", type=float, metavar="MB",
                    help="limit of one JSON Lines record (default indexing.max_record_mb: 8)")
    sp.add_argument("--follow-links", action="store_true",
                    help="follow symbolic links that point outside the indexed folders")
    sp.set_defaults(func=cmd_index)

    sp = common(sub.add_parser("delete", help="delete articles by id"))
    sp.add_argument("ids", nargs="+")
    sp.set_defaults(func=cmd_delete)

    sp = common(sub.add_parser("compact", help="give back the space of deleted and replaced documents"))
    sp.set_defaults(func=cmd_compact)

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
    sp.add_argument("--backend", choices=["whoosh", "opensearch"], help="the config's backend unless given")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_eval)

    sp = common(sub.add_parser("eval-related", help="same-category precision@10 of related()"), index=False)
    sp.add_argument("--corpus", required=True)
    sp.add_argument("--limit", type=int, default=None, help="evaluate only the first N articles")
    sp.add_argument("--backend", choices=["whoosh", "opensearch"], help="the config's backend unless given")
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
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except StichwortError as exc:
        print(f"stichwort: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # stichwort search x | head: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141


if __name__ == "__main__":
    sys.exit(main())
