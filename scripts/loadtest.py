"""HTTP load test: N concurrent clients with a realistic mix of requests against gunicorn.

Starts gunicorn (``web.server.BackgroundServer``) on a free loopback port serving
``--index-dir`` (default: index_data/index, built from the demo archive into a
temporary directory if missing), or uses ``--url``, which must be a loopback
address.  ``--clients`` threads, each with its own keep-alive connection
(http.client), send requests until ``--duration`` seconds have passed or
``--requests`` requests have been sent, whichever comes first.

The mix is drawn from the index itself (titles, places, sources, ids):

    words 25%  two/three words 10%  "phrases" 8%  filters (facets, dates, lang) 15%
    paging, sort, cursor 10%  search page (HTML) 10%  suggest 10%  article (API) 5%
    article page (HTML) 5%  Atom feed 2%

Reported: throughput, latency p50/p95/p99/max (overall and per kind), transport
errors, unexpected statuses (anything but 200) and 5xx.  ``--json`` prints
the report as JSON.  Exit status 1 if there was any error or 5xx.

``--neighbour QUERY`` measures what one hostile client costs the others: the
same load runs twice, alone and while one more client sends ``QUERY`` (e.g.
``"ge* ve* be*"``) back to back; the report gives both p95 latencies and their
ratio, and the run fails when the ratio exceeds ``--max-ratio`` (2).

    scripts/loadtest [--clients 16] [--duration 60] [--requests 1000000] [--workers N] [--json]
    scripts/loadtest --clients 1 --duration 30 --neighbour "ge* ve* be*"
"""
from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MIX = [("word", 25), ("words", 10), ("phrase", 8), ("filter", 15), ("paging", 10), ("page_html", 10),
       ("suggest", 10), ("article_api", 5), ("article_html", 5), ("feed", 2)]


def require_loopback(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise SystemExit(f"loadtest: --url must be http://HOST:PORT, got {url!r}")
    host = parts.hostname
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"loadtest: refusing to load {host}: only loopback addresses (127.0.0.0/8, ::1, localhost)")


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.load(resp)


@dataclass
class Vocabulary:
    ids: list[str]
    words: list[str]
    phrases: list[str]
    facets: dict[str, list[str]]
    months: list[str]


def vocabulary(base: str) -> Vocabulary:
    """Queries a reader would type, taken from what the index holds."""
    data = _get_json(f"{base}/api/search?{urlencode({'q': '', 'size': 100, 'sort': 'newest'})}")
    ids, words, phrases = [], set(), []
    for hit in data["hits"]:
        ids.append(hit["id"])
        title_words = [w.strip(".,:;!?\"'()«»„“”–-") for w in (hit.get("title") or "").split()]
        title_words = [w for w in title_words if len(w) >= 4 and w.isalpha()]
        words.update(title_words)
        if len(title_words) >= 2:
            phrases.append(" ".join(title_words[:2]))
    facets = {name: [row["value"] for row in rows[:10]] for name, rows in (data.get("facets") or {}).items()}
    months = [b["key"] for b in data.get("date_histogram") or []]
    return Vocabulary(ids, sorted(words), phrases, facets, months)


def make_request(kind: str, v: Vocabulary, rng: random.Random) -> str:
    """The path (with query string) of one request of ``kind``."""
    word = rng.choice(v.words)
    if kind == "word":
        return "/api/search?" + urlencode({"q": word})
    if kind == "words":
        return "/api/search?" + urlencode({"q": " ".join(rng.sample(v.words, rng.choice((2, 3))))})
    if kind == "phrase":
        return "/api/search?" + urlencode({"q": f'"{rng.choice(v.phrases)}"'})
    if kind == "filter":
        params = [("q", word if rng.random() < 0.6 else "")]
        names = [n for n, vals in v.facets.items() if vals]
        for name in rng.sample(names, rng.choice((1, 2))):
            params.append((name, rng.choice(v.facets[name])))
        if v.months and rng.random() < 0.3:
            month = rng.choice(v.months)
            params += [("date_from", f"{month}-01"), ("date_to", f"{month}-28")]
        return "/api/search?" + urlencode(params)
    if kind == "paging":
        params = {"q": rng.choice(("", word)), "page": rng.choice((2, 3)), "size": rng.choice((5, 10, 20)),
                  "sort": rng.choice(("relevance", "newest", "oldest")), "collapse": rng.choice(("true", "false"))}
        return "/api/search?" + urlencode(params)
    if kind == "page_html":
        params = {"q": word}
        if rng.random() < 0.3 and v.facets.get("language"):
            params["language"] = rng.choice(v.facets["language"])
        return "/?" + urlencode(params)
    if kind == "suggest":
        return "/api/suggest?" + urlencode({"q": word[:rng.randint(2, max(2, min(6, len(word))))]})
    if kind == "article_api":
        return "/api/articles/" + quote(rng.choice(v.ids))
    if kind == "article_html":
        return "/article/" + quote(rng.choice(v.ids))
    if kind == "feed":
        return "/feed.atom?" + urlencode({"q": word})
    raise ValueError(kind)


class Shared:
    def __init__(self, max_requests: int, deadline: float):
        self.lock = threading.Lock()
        self.issued = 0
        self.max_requests = max_requests
        self.deadline = deadline

    def take(self) -> bool:
        with self.lock:
            if self.issued >= self.max_requests or time.monotonic() >= self.deadline:
                return False
            self.issued += 1
            return True


class Worker(threading.Thread):
    def __init__(self, n: int, host: str, port: int, vocab: Vocabulary, shared: Shared, seed: int, timeout: float):
        super().__init__(name=f"client-{n}", daemon=True)
        self.host, self.port, self.vocab, self.shared, self.timeout = host, port, vocab, shared, timeout
        self.rng = random.Random(seed * 1000 + n)
        self.samples: list[tuple[str, float, int]] = []  # (kind, seconds, status; 0 = transport error)
        self.errors: list[str] = []
        self.kinds = [k for k, _ in MIX]
        self.weights = [w for _, w in MIX]

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def run(self) -> None:
        conn = self._connect()
        while self.shared.take():
            kind = self.rng.choices(self.kinds, self.weights)[0]
            path = make_request(kind, self.vocab, self.rng)
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Accept-Language": "de", "User-Agent": "stichwort-loadtest"})
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = self._connect()
            except (OSError, http.client.HTTPException) as exc:
                status = 0
                self.errors.append(f"{kind} {path[:120]}: {type(exc).__name__}: {exc}")
                conn.close()
                conn = self._connect()
            elapsed = time.perf_counter() - started
            self.samples.append((kind, elapsed, status))
            if status != 200 and status != 0 and len(self.errors) < 50:
                self.errors.append(f"{kind} {path[:120]}: HTTP {status}")
        conn.close()


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def _latency(values: list[float]) -> dict:
    values = sorted(values)
    ms = lambda x: round(x * 1000, 1)  # noqa: E731
    return {"p50_ms": ms(percentile(values, 50)), "p95_ms": ms(percentile(values, 95)),
            "p99_ms": ms(percentile(values, 99)), "max_ms": ms(values[-1]) if values else 0.0}


class Neighbour(threading.Thread):
    """One client sending the same request back to back until stopped."""

    def __init__(self, host: str, port: int, path: str, timeout: float):
        super().__init__(name="neighbour", daemon=True)
        self.host, self.port, self.path, self.timeout = host, port, path, timeout
        self.stop = threading.Event()
        self.seconds: list[float] = []
        self.statuses: Counter = Counter()

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                conn.request("GET", self.path)
                resp = conn.getresponse()
                resp.read()
                self.statuses[resp.status] += 1
            except (OSError, http.client.HTTPException):
                self.statuses[0] += 1
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.seconds.append(time.perf_counter() - started)
        conn.close()


def run_neighbour(url: str, query: str, clients: int, duration: float, max_requests: int, seed: int,
                  timeout: float, max_ratio: float) -> dict:
    """The load alone, then with one client looping ``query``: p95 of the others in both runs."""
    require_loopback(url)
    alone = run_load(url, clients, duration, max_requests, seed, timeout)
    parts = urlsplit(url)
    neighbour = Neighbour(parts.hostname, parts.port or 80, "/api/search?" + urlencode({"q": query}), timeout)
    neighbour.start()
    time.sleep(1.0)  # the neighbour is at work before the others start
    try:
        loaded = run_load(url, clients, duration, max_requests, seed, timeout)
    finally:
        neighbour.stop.set()
        neighbour.join(timeout + 5)
    ratio = loaded["latency"]["p95_ms"] / max(alone["latency"]["p95_ms"], 0.1)
    return {"alone": alone, "with_neighbour": loaded, "neighbour": {
        "query": query, "requests": len(neighbour.seconds),
        "statuses": {str(k): v for k, v in neighbour.statuses.items()},
        "latency": _latency(neighbour.seconds)},
        "p95_ratio": round(ratio, 2), "max_ratio": max_ratio, "ok": ratio <= max_ratio,
        "errors": alone["errors"] + loaded["errors"], "status_5xx": alone["status_5xx"] + loaded["status_5xx"]}


def run_load(url: str, clients: int, duration: float, max_requests: int, seed: int = 1,
             timeout: float = 30.0) -> dict:
    require_loopback(url)
    parts = urlsplit(url)
    vocab = vocabulary(url)
    if not vocab.ids or not vocab.words:
        raise SystemExit("loadtest: the index is empty; nothing to ask for")
    started = time.monotonic()
    shared = Shared(max_requests, started + duration)
    workers = [Worker(n, parts.hostname, parts.port or 80, vocab, shared, seed, timeout) for n in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(duration + timeout + 30)
    wall = time.monotonic() - started
    samples = [s for w in workers for s in w.samples]
    statuses = Counter(status for _, _, status in samples)
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, seconds, _ in samples:
        by_kind[kind].append(seconds)
    transport = statuses.get(0, 0)
    unexpected = sum(n for s, n in statuses.items() if s not in (0, 200))
    return {
        "url": url, "clients": clients, "duration_limit_s": duration, "request_limit": max_requests,
        "wall_s": round(wall, 2), "requests": len(samples),
        "throughput_rps": round(len(samples) / wall, 1) if wall else 0.0,
        "latency": _latency([s for _, s, _ in samples]),
        "by_kind": {k: {"requests": len(v), **_latency(v)} for k, v in sorted(by_kind.items())},
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": transport + unexpected, "transport_errors": transport,
        "status_5xx": sum(n for s, n in statuses.items() if s >= 500),
        "error_samples": [e for w in workers for e in w.errors][:20],
        "still_running_clients": sum(w.is_alive() for w in workers),
    }


def _ensure_index(index_dir: Path | None, tmp: Path) -> Path:
    if index_dir is not None:
        if not any(Path(index_dir).glob("_MAIN_*.toc")):
            raise SystemExit(f"loadtest: no index in {index_dir}")
        return index_dir
    default = ROOT / "index_data" / "index"
    if any(default.glob("_MAIN_*.toc")):
        return default
    target = tmp / "index"
    print(f"building the demo index in {target} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "search", "index", "--index-dir", str(target), "--quiet",
                    str(ROOT / "index_data" / "articles")], cwd=ROOT, check=True,
                   env=dict(os.environ, PYTHONPATH=str(ROOT)))
    return target


def print_report(r: dict) -> None:
    lat = r["latency"]
    print(f"{r['requests']} requests from {r['clients']} clients in {r['wall_s']} s "
          f"(limits: {r['duration_limit_s']} s, {r['request_limit']} requests) against {r['url']}")
    print(f"throughput: {r['throughput_rps']} requests/s")
    print(f"latency:    p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms")
    print(f"errors:     {r['errors']} (transport {r['transport_errors']}), 5xx: {r['status_5xx']}, "
          f"statuses: {r['statuses']}")
    print(f"{'kind':<14}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind, k in r["by_kind"].items():
        print(f"{kind:<14}{k['requests']:>9}{k['p50_ms']:>9}{k['p95_ms']:>9}{k['p99_ms']:>9}{k['max_ms']:>9}")
    for e in r["error_samples"]:
        print(f"  error: {e}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/loadtest", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running server (loopback only); default: start gunicorn")
    p.add_argument("--index-dir", type=Path, help="index to serve (default index_data/index or the demo archive)")
    p.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: one per core)")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--duration", type=float, default=60.0, help="seconds")
    p.add_argument("--requests", type=int, default=1_000_000, help="at most this many requests")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    p.add_argument("--neighbour", metavar="QUERY", help="also measure the load while one client loops QUERY")
    p.add_argument("--max-ratio", type=float, default=2.0, help="allowed p95 with/without the neighbour (2)")
    args = p.parse_args(argv)
    if args.clients < 1 or args.duration <= 0 or args.requests < 1:
        raise SystemExit("loadtest: --clients, --duration and --requests must be positive")
    def measure(url: str) -> dict:
        if args.neighbour:
            return run_neighbour(url, args.neighbour, args.clients, args.duration, args.requests, args.seed,
                                 args.timeout, args.max_ratio)
        return run_load(url, args.clients, args.duration, args.requests, args.seed, args.timeout)

    with tempfile.TemporaryDirectory(prefix="stichwort-loadtest-") as tmp:
        if args.url:
            report = measure(args.url.rstrip("/"))
        else:
            from web.server import BackgroundServer, default_workers
            index_dir = _ensure_index(args.index_dir, Path(tmp))
            workers = args.workers or default_workers()
            with BackgroundServer(index_dir, workers=workers, log_path=Path(tmp) / "gunicorn.log") as server:
                report = measure(server.url)
                log = server.log_text()
            report["server"] = {"workers": workers, "index_dir": str(index_dir),
                                "log_errors": [line for line in log.splitlines()
                                               if "[ERROR]" in line or "Traceback" in line][:20]}
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.neighbour:
        print_report(report["alone"])
        print(f"\nwith one more client looping {args.neighbour!r} "
              f"({report['neighbour']['requests']} requests, p50 {report['neighbour']['latency']['p50_ms']} ms):")
        print_report(report["with_neighbour"])
        print(f"\np95 with / without the neighbour: {report['p95_ratio']} (allowed {args.max_ratio}): "
              f"{'ok' if report['ok'] else 'TOO SLOW'}")
    else:
        print_report(report)
    failed = (report["errors"] or report["status_5xx"] or report.get("server", {}).get("log_errors")
              or not report.get("ok", True))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
