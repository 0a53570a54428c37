"""``stichwort check`` for an OpenSearch index: the cluster's health, the index's format, and its documents.

What Whoosh's check reads from files (postings against stored records) the
cluster guards itself; here the check asks what can go wrong between
Stichwort and the cluster: an index of another format, unassigned shards,
documents without the fields search needs, a write lock left behind.
"""
from __future__ import annotations

from typing import Any

from search.analysis import FusedChain
from search.backend.opensearch.client import from_config, path
from search.backend.opensearch.mapping import FORMAT
from search.backend.opensearch.writer import LOCK_ID, lock_index
from search.backend.whoosh.check import CheckReport
from search.errors import StichwortError


def inspect_cluster(config: Any) -> CheckReport:
    """A ``CheckReport`` of the index ``config["opensearch"]["index"]``."""
    client = from_config(config)
    index = config["opensearch"]["index"]
    report = CheckReport(index_dir=f"{client.urls[0]}/{index}")
    try:
        health = client.request("GET", "/_cluster/health/" + index, params={"level": "indices"}, retry=False)
        if health.get("status") == "red":
            report.problem(f"the cluster is red: {health.get('unassigned_shards')} shard(s) unassigned")
        elif health.get("status") == "yellow":
            report.notes.append(f"the cluster is yellow (degraded): {health.get('unassigned_shards')} replica "
                                f"shard(s) unassigned; searches answer, a further node loss may lose data")
        found = client.request("GET", path(index, "_mapping"), ok=(404,))
        if "error" in found:
            report.problem(f"no index {index} on the cluster; index some articles first")
            return report
        meta = next(iter(found.values()))["mappings"].get("_meta", {})
        report.generation = int(meta.get("generation", -1))
        if meta.get("stichwort_format") != FORMAT or meta.get("analysis_version") != FusedChain.VERSION:
            report.problem(f"the index was written by another Stichwort (format {meta.get('stichwort_format')}, "
                           f"analysis {meta.get('analysis_version')}): rebuild it")
        stats = client.request("GET", path(index, "_stats", "docs,segments"))["_all"]["primaries"]
        report.documents, report.deleted = stats["docs"]["count"], stats["docs"]["deleted"]
        report.segments = stats["segments"]["count"]
        for name, query in (("an id", {"exists": {"field": "id"}}), ("a story", {"exists": {"field": "story"}}),
                            ("a source version", {"exists": {"field": "src"}})):
            missing = client.request("POST", path(index, "_count"), {"query": {"bool": {"must_not": [query]}}})
            if missing["count"]:
                report.problem(f"{missing['count']} document(s) without {name}")
        report.terms_checked = 3
        lock = client.request("GET", path(lock_index(index), "_doc", LOCK_ID), ok=(404,))
        if lock.get("found"):
            holder = lock["_source"]
            report.notes.append(f"an indexer holds the write lock: pid {holder.get('pid')} on {holder.get('host')} "
                                f"since {holder.get('since')}")
    except StichwortError as exc:
        report.problem(str(exc))
    return report
