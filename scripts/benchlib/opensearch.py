"""The OpenSearch side of ``scripts/bench --backend opensearch``: the cluster, the index, its figures.

The cluster is ``$STICHWORT_OPENSEARCH_URL`` when set (reused, never stopped),
else one this run starts with ``scripts/cluster`` in ``WORK/cluster`` on its own
ports (``BASE_PORT``: never the default 9200 another cluster may use) and
stops at the end, failures and interrupts included.  Every size indexes into
an index of its own (``index_name``), created anew and dropped after the size
unless ``--keep``.  Node CPU time comes from ``_nodes/stats`` (it works for a
cluster on other machines too): the indexer's own CPU is only half the cost.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

NODES = 3
SHARDS = 3
REPLICAS = 1
HEAP = "1g"
BASE_PORT = 9700           # HTTP 9700-9702, transport 9800-9802: clear of a cluster on the defaults
GUESS_DOCS_PER_S = 30.0    # the budget's rate before a size measured one (3,000 docs here: 25.6, load 9)
START_TIMEOUT = 600        # seconds to green: three JVMs starting on two shared cores
STOP_GRACE = 60
INDEX_PREFIX = "stichwort-bench"
URL_ENV = "STICHWORT_OPENSEARCH_URL"
CLUSTER_SCRIPT = Path(__file__).resolve().parents[1] / "cluster.py"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class ClusterUnavailable(RuntimeError):
    """No cluster to benchmark against: none configured and none could be started."""


class Cluster:
    """A cluster for the run: reused from ``$STICHWORT_OPENSEARCH_URL``, or started in ``directory``."""

    def __init__(self, directory: Path, *, nodes: int = NODES, heap: str = HEAP, base_port: int = BASE_PORT,
                 keep_data: bool = False):
        self.directory = directory
        self.nodes, self.heap, self.base_port = nodes, heap, base_port
        self.keep_data = keep_data
        self.url = os.environ.get(URL_ENV) or ""
        self.started = False
        self.start_seconds: float | None = None

    def _script(self, *args: str, timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(CLUSTER_SCRIPT), *args, "--dir", str(self.directory)],
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def __enter__(self) -> Cluster:
        if self.url:
            log(f"OpenSearch: the cluster of ${URL_ENV} ({self.url})")
        else:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        # run as root, the nodes run as an unprivileged user that must traverse the work directory
        for parent in (self.directory.parent, self.directory):
            parent.mkdir(parents=True, exist_ok=True)
            parent.chmod(parent.stat().st_mode | 0o711)
        log(f"OpenSearch: starting {self.nodes} nodes ({self.heap} heap each, HTTP from port {self.base_port}) "
            f"in {self.directory} ...")
        t0 = time.monotonic()
        self.started = True  # from here on stop() cleans up, whatever start leaves behind
        try:
            proc = self._script("start", "--nodes", str(self.nodes), "--heap", self.heap,
                                "--base-port", str(self.base_port), "--timeout", str(START_TIMEOUT),
                                timeout=START_TIMEOUT + 120)
        except subprocess.TimeoutExpired as exc:
            raise ClusterUnavailable(f"scripts/cluster start did not finish within {START_TIMEOUT + 120} s") from exc
        if proc.returncode != 0:
            raise ClusterUnavailable(f"scripts/cluster start failed: {proc.stderr.strip()[-1500:]}")
        self.start_seconds = round(time.monotonic() - t0, 1)
        self.url = self._script("url", timeout=30).stdout.strip()
        log(f"OpenSearch: green after {self.start_seconds} s: {self.url}")

    def stop(self) -> None:
        """Stop the nodes this run started (a reused cluster is left alone)."""
        if not self.started:
            return
        self.started = False
        log("OpenSearch: stopping the cluster ...")
        args = ["stop", "--grace", str(STOP_GRACE)] + ([] if self.keep_data else ["--wipe"])
        try:
            proc = self._script(*args, timeout=STOP_GRACE * 3 + 60)
            log(f"  {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'stopped'}")
        except subprocess.TimeoutExpired:
            log(f"  scripts/cluster stop timed out: stop it with scripts/cluster stop --dir {self.directory}")

    def client(self) -> Any:
        from search.backend.opensearch.client import Client
        return Client(self.url, timeout=120.0)

    def describe(self) -> dict:
        """Version, nodes, their heaps and CPUs: what the figures were measured on."""
        client = self.client()
        root = client.request("GET", "/")
        info = client.request("GET", "/_nodes/jvm,os")
        nodes = list(info.get("nodes", {}).values())
        return {"url": self.url, "started_here": self.started, "start_seconds": self.start_seconds,
                "version": root.get("version", {}).get("number"), "nodes": len(nodes),
                "heap_mb": [round(n["jvm"]["mem"]["heap_max_in_bytes"] / 2**20) for n in nodes],
                "processors": [n.get("os", {}).get("allocated_processors") for n in nodes],
                "shards": SHARDS, "replicas": REPLICAS}


def index_name(n: int) -> str:
    """One index per size and run: a reused cluster may hold others' indexes (and another run's)."""
    return f"{INDEX_PREFIX}-{n}-{uuid.uuid4().hex[:8]}"


def settings(url: str, index: str) -> dict:
    """The ``opensearch`` configuration section the indexer and the engine get."""
    return {"url": url, "index": index, "shards": SHARDS, "replicas": REPLICAS, "timeout": 120.0}


def cpu_seconds(client: Any) -> float | None:
    """CPU time all nodes' processes have used so far (``_nodes/stats``); None when a node does not say."""
    try:
        stats = client.request("GET", "/_nodes/stats/process,jvm")
        nodes = stats["nodes"].values()
        return round(sum(n["process"]["cpu"]["total_in_millis"] for n in nodes) / 1000, 2)
    except Exception:  # noqa: BLE001 - a figure, never the run's end
        return None


def heap_used_mb(client: Any) -> list[int]:
    try:
        stats = client.request("GET", "/_nodes/stats/jvm")
        return [round(n["jvm"]["mem"]["heap_used_in_bytes"] / 2**20) for n in stats["nodes"].values()]
    except Exception:  # noqa: BLE001
        return []


def index_facts(client: Any, index: str) -> dict:
    """Documents searchable after a refresh, store bytes (primaries and with replicas), segments."""
    from search.backend.opensearch.client import path
    try:
        client.request("POST", path(index, "_refresh"))
        stats = client.request("GET", path(index, "_stats", "docs,store,segments"))
        prim, total = stats["_all"]["primaries"], stats["_all"]["total"]
        return {"doc_count": prim["docs"]["count"], "index_bytes": prim["store"]["size_in_bytes"],
                "store_bytes_with_replicas": total["store"]["size_in_bytes"],
                "segments": prim["segments"]["count"]}
    except Exception as exc:  # noqa: BLE001 - a cut-off run may leave no index
        return {"doc_count": 0, "error": str(exc)[:300]}


def drop(client: Any, index: str) -> None:
    from search.backend.opensearch.client import path
    from search.backend.opensearch.writer import lock_index
    for name in (index, lock_index(index)):
        try:
            client.request("DELETE", path(name), ok=(404,))
        except Exception as exc:  # noqa: BLE001 - cleaning up: say so, go on
            log(f"  could not delete the OpenSearch index {name}: {exc}")
