"""The OpenSearch backend's ``IndexWriter`` (``search.backend.base``): one indexing run's hold on an index.

``open_run`` takes the index-level write lock (a document in a lock index,
created only if absent, so two runs on any machines never write at once),
creates the index if missing (or anew for a rebuild) and refuses one written
by an older Stichwort.  Questions about the index *as the run found it* are
answered through a point in time opened at the start.  ``begin`` numbers a
batch's documents on from the index's largest ``seq`` (their order of adding:
``mapping``) and sends the batch's deletions and documents in bulk requests from a thread while the
indexer prepares the next; items the cluster pushes back (429, a shard
relocating after a node left) are sent again with backoff; ``commit`` waits
for that, refreshes the index (readers see whole batches) and bumps the
index's generation, which searchers poll.

OpenSearch has no transactions: a batch interrupted mid-way can be partly
visible after the refresh of a later run; the indexer's bookkeeping by ``src``
re-indexes such files (their digests differ only when committed).
"""
from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from search import analysis
from search.analysis import FusedChain
from search.backend.base import CompactReport, Record, StoredSignature, WriteBatch
from search.backend.opensearch.client import Client, RequestError, from_config, ndjson, path
from search.backend.opensearch.mapping import FORMAT, document, index_body, os_field, os_id
from search.errors import IndexLocked, StichwortError
from search.index.fields import text_field

BULK_BYTES = 4 << 20     # per bulk request
BULK_DOCS = 1000
ITEM_RETRIES = 8          # a pushed-back item is sent this many more times
PIT_KEEP = "2h"
LOCK_ID = "writer"


def lock_index(index: str) -> str:
    return f"{index}-stichwort-lock"


@contextmanager
def open_run(config: Any, languages: list[str], *, wait: float = 0.0,
             rebuild: bool = False) -> Iterator[OpenSearchWriter]:
    """The index ``config["opensearch"]["index"]`` for one run, created if missing, its lock held."""
    client = from_config(config)
    conf = config["opensearch"]
    index = conf["index"]
    with write_lock(client, index, wait):
        if rebuild:
            client.request("DELETE", path(index), ok=(404,))
        ensure_index(client, index, int(conf["shards"]), int(conf["replicas"]))
        writer = OpenSearchWriter(client, index, languages)
        try:
            yield writer
        finally:
            writer.close()


@contextmanager
def write_lock(client: Client, index: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the index's write lock; a lock left by a dead process on this machine is taken over."""
    lock = lock_index(index)
    client.request("PUT", path(lock), {"settings": {"number_of_shards": 1, "auto_expand_replicas": "0-all"},
                                       "mappings": {"dynamic": False}}, ok=(400,))
    me = {"host": socket.gethostname(), "pid": os.getpid(), "since": datetime.now().isoformat()}
    deadline = time.monotonic() + wait
    while True:
        answer = client.request("PUT", path(lock, "_create", LOCK_ID), me, params={"refresh": "true"}, ok=(409,))
        if "result" in answer:
            break
        holder = client.request("GET", path(lock, "_doc", LOCK_ID), ok=(404,)).get("_source") or {}
        if holder.get("host") == me["host"] and holder.get("pid") and not _alive(int(holder["pid"])):
            client.request("DELETE", path(lock, "_doc", LOCK_ID), params={"refresh": "true"}, ok=(404,))
            continue
        if time.monotonic() >= deadline:
            raise IndexLocked(
                f"another indexer (pid {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')}) "
                f"is writing to the OpenSearch index {index}; wait for it, or if it is gone: "
                f"curl -XDELETE <url>/{lock}/_doc/{LOCK_ID}")
        time.sleep(0.5)
    try:
        yield
    finally:
        try:
            client.request("DELETE", path(lock, "_doc", LOCK_ID), params={"refresh": "true"}, ok=(404,))
        except StichwortError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ensure_index(client: Client, index: str, shards: int, replicas: int) -> dict[str, Any]:
    """The index's ``_meta``, creating the index first when missing; an index of another format is refused."""
    found = client.request("GET", path(index, "_mapping"), ok=(404,))
    if "error" in found or index not in found and not found:
        body = index_body(shards, replicas)
        client.request("PUT", path(index), body, params={"wait_for_active_shards": 1}, ok=(400,))
        client.request("GET", "/_cluster/health/" + index, params={"wait_for_status": "yellow", "timeout": "60s"},
                       timeout=90)
        found = client.request("GET", path(index, "_mapping"))
    meta = next(iter(found.values()))["mappings"].get("_meta", {})
    if meta.get("stichwort_format") != FORMAT or meta.get("analysis_version") != FusedChain.VERSION:
        raise StichwortError(
            f"the OpenSearch index {index} was written by another Stichwort version (format "
            f"{meta.get('stichwort_format')}, analysis {meta.get('analysis_version')}); rebuild it with: "
            "stichwort index --rebuild PATH...")
    return meta


class OpenSearchWriter:
    """See ``search.backend.base.IndexWriter``."""

    def __init__(self, client: Client, index: str, languages: list[str] | None = None):
        self.client, self.index, self.languages = client, index, list(languages or [])
        self._before = client.request("GET", path(index, "_count"))["count"]
        self._seq = next_seq(client, index) if self._before else 0
        self._pit: str | None = None
        if self._before:
            self._pit = client.request("POST", path(index, "_search", "point_in_time"),
                                       params={"keep_alive": PIT_KEEP})["pit_id"]
        self._thread: threading.Thread | None = None
        self._outcome: list[BaseException | None] = []
        self._frequencies: dict[tuple[str, str], int] = {}
        self._keys: frozenset[str] | None = None

    # -- the index as the run found it ---------------------------------------------------------------------
    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "pit": {"id": self._pit, "keep_alive": PIT_KEEP}}
        return self.client.request("POST", "/_search", body)

    def _scan(self, query: dict[str, Any], source: Any = False, size: int = 5000) -> Iterator[dict[str, Any]]:
        """Every hit of ``query`` in the point in time, in pages."""
        after = None
        while True:
            body: dict[str, Any] = {"query": query, "size": size, "_source": source, "sort": ["id"],
                                    "track_total_hits": False}
            if after is not None:
                body["search_after"] = after
            hits = self._search(body)["hits"]["hits"]
            yield from hits
            if len(hits) < size:
                return
            after = hits[-1]["sort"]

    def source_keys(self) -> frozenset[str]:
        if self._pit is None:
            return frozenset()
        if self._keys is None:
            keys: set[str] = set()
            after = None
            while True:
                comp: dict[str, Any] = {"size": 5000, "sources": [{"src": {"terms": {"field": "src"}}}]}
                if after:
                    comp["after"] = after
                aggs = self._search({"size": 0, "aggs": {"keys": {"composite": comp}}})["aggregations"]["keys"]
                keys.update(b["key"]["src"] for b in aggs["buckets"])
                after = aggs.get("after_key")
                if not aggs["buckets"] or not after:
                    break
            self._keys = frozenset(keys)
        return self._keys

    def source_ids(self, keys: Iterable[str]) -> set[str]:
        keys = list(keys)
        if self._pit is None or not keys:
            return set()
        found: set[str] = set()
        for i in range(0, len(keys), 1000):
            found.update(h["_source"]["id"] for h in self._scan({"terms": {"src": keys[i:i + 1000]}}, source=["id"]))
        return found

    def owners(self, ids: Iterable[str]) -> dict[str, str]:
        ids = list(ids)
        if self._pit is None or not ids:
            return {}
        found = {}
        for i in range(0, len(ids), 1000):
            for hit in self._scan({"terms": {"id": ids[i:i + 1000]}}, source=["src", "id"]):
                found[hit["_source"]["id"]] = hit["_source"]["src"]
        return found

    def doc_count_before(self) -> int:
        return self._before

    def doc_frequency(self, language: str, term: str) -> int:
        if self._pit is None:
            return 0
        key = (language, term)
        found = self._frequencies.get(key)
        if found is None:
            field = os_field(text_field("body", language))
            answer = self._search({"size": 0, "track_total_hits": True, "query": {"term": {field: term}}})
            found = self._frequencies[key] = answer["hits"]["total"]["value"]
            if len(self._frequencies) > 200_000:
                self._frequencies.clear()
        return found

    def story_candidates(self, language: str, terms: list[str], days: list[str] | None,
                         limit: int) -> list[StoredSignature]:
        """Dated: the best BM25 matches of the terms among the days' articles.  Undated: the articles
        sharing most of the terms (each term counts one), as the Whoosh backend orders them."""
        if self._pit is None or not terms:
            return []
        field = os_field(text_field("body", language))
        if days is None:
            query: dict[str, Any] = {"bool": {"should": [{"constant_score": {"filter": {"term": {field: t}}}}
                                                         for t in terms]}}
        else:
            query = {"bool": {"filter": [{"terms": {"day": days}}],
                              "should": [{"term": {field: t}} for t in terms], "minimum_should_match": 1}}
        hits = self._search({"query": query, "size": limit, "_source": ["doc", "story", "id"],
                             "track_total_hits": False})["hits"]["hits"]
        return [_signature(h) for h in hits]

    def story_signatures(self, story: str, limit: int) -> list[StoredSignature]:
        if self._pit is None:
            return []
        hits = self._search({"query": {"term": {"story": story}}, "size": limit, "_source": ["doc", "story", "id"],
                             "track_total_hits": False})["hits"]["hits"]
        return [_signature(h) for h in hits]

    def learn_vocabulary(self) -> None:
        analysis.learn_words(surface_words(self.client, self.index))

    # -- writing ----------------------------------------------------------------------------------------------
    def begin(self, batch: WriteBatch) -> None:
        if self._thread is not None:
            raise RuntimeError("begin() before the previous batch was committed")
        records = list(batch.records)  # made here, in the indexer's thread, before delete_ids is read
        outcome: list[BaseException | None] = [None]
        seq, self._seq = self._seq, self._seq + len(records)

        def send() -> None:
            try:
                bulk(self.client, self.index, records, batch.delete_ids, self.languages, seq)
            except BaseException as exc:  # handed to commit()
                outcome[0] = exc

        self._outcome = outcome
        self._thread = threading.Thread(target=send, name="stichwort-bulk", daemon=True)
        self._thread.start()

    def commit(self) -> bool:
        thread, self._thread = self._thread, None
        if thread is None:
            return False
        thread.join()
        if self._outcome[0] is not None:
            raise self._outcome[0]
        self._publish()
        return True

    def _publish(self) -> None:
        """Make what was written visible and tell searchers (``_meta.generation``)."""
        self.client.request("POST", path(self.index, "_refresh"))
        bump_generation(self.client, self.index)

    def delete(self, ids: Iterable[str]) -> int:
        deleted = bulk(self.client, self.index, [], list(ids))
        self._publish()
        return deleted

    def compact(self, full: bool = False) -> CompactReport:
        """Force-merge: all segments into one per shard (``full``), else only expunge deleted documents."""
        def stats() -> tuple[int, int, int]:
            s = self.client.request("GET", path(self.index, "_stats", "segments,docs,store"))["_all"]["primaries"]
            return s["segments"]["count"], s["docs"]["deleted"], s["store"]["size_in_bytes"]
        seg0, del0, bytes0 = stats()
        params: dict[str, Any] = {"max_num_segments": 1} if full else {"only_expunge_deletes": True}
        self.client.request("POST", path(self.index, "_forcemerge"), params=params, timeout=3600)
        self.client.request("POST", path(self.index, "_refresh"))
        seg1, del1, bytes1 = stats()
        return CompactReport(seg0, seg1, max(0, del0 - del1), bytes0, bytes1)

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:  # an error or interrupt: let the request in flight end, publish nothing
            thread.join(timeout=60)
        if self._pit is not None:
            try:
                self.client.request("DELETE", "/_search/point_in_time", {"pit_id": [self._pit]}, ok=(404,),
                                    retry=False)
            except StichwortError:
                pass
            self._pit = None


def bump_generation(client: Client, index: str) -> int:
    meta = next(iter(client.request("GET", path(index, "_mapping")).values()))["mappings"].get("_meta", {})
    generation = int(meta.get("generation", 0)) + 1
    client.request("PUT", path(index, "_mapping"), {"_meta": {**meta, "generation": generation}})
    return generation


def next_seq(client: Client, index: str) -> int:
    """The ``seq`` of the next document added: one past the largest in the index (one run writes at once)."""
    answer = client.request("POST", path(index, "_search"), {"size": 0, "track_total_hits": False,
                                                             "aggs": {"seq": {"max": {"field": "seq"}}}})
    largest = answer["aggregations"]["seq"]["value"]
    return int(largest) + 1 if largest is not None else 0


def bulk(client: Client, index: str, records: list[Record], delete_ids: list[str],
         languages: list[str] | None = None, seq: int = 0) -> int:
    """Delete ``delete_ids``, then index ``records`` (numbered in order from ``seq``: ``mapping.document``),
    in bulk requests; items pushed back are sent again with backoff.  Returns how many documents were
    deleted.  Raises when an item fails for good."""
    deleted = 0
    pending: list[tuple[dict, dict | None]] = [({"delete": {"_index": index, "_id": os_id(i)}}, None)
                                                   for i in delete_ids]
    for chunk in _chunks(pending):
        deleted += _send(client, chunk)
    pending = [({"index": {"_index": index, "_id": os_id(r["id"])}}, document(r, languages or (), seq + k))
               for k, r in enumerate(records)]
    for chunk in _chunks(pending):
        _send(client, chunk)
    return deleted


def _chunks(items: list[tuple[dict, dict | None]]) -> Iterator[list[tuple[str, dict]]]:
    chunk: list[tuple[str, dict]] = []
    size = 0
    for action, source in items:
        line = ndjson([action] + ([source] if source is not None else []))
        chunk.append((line, action))
        size += len(line)
        if size >= BULK_BYTES or len(chunk) >= BULK_DOCS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _send(client: Client, chunk: list[tuple[str, dict]]) -> int:
    """One bulk request, then again for the items the cluster pushed back (429, 503: a shard moving)."""
    deleted = 0
    delay = 0.5
    for _ in range(ITEM_RETRIES + 1):
        answer = client.request("POST", "/_bulk", "".join(line for line, _ in chunk), timeout=max(client.timeout, 120))
        if not answer.get("errors"):
            return deleted + sum(1 for item in answer["items"] if item.get("delete", {}).get("result") == "deleted")
        again = []
        for (line, action), item in zip(chunk, answer["items"]):
            (op, result), = item.items()
            status = result.get("status", 500)
            if op == "delete" and result.get("result") == "deleted":
                deleted += 1
            if status < 300 or (op == "delete" and status == 404):
                continue
            if status in (429, 502, 503, 504) or status >= 500:
                again.append((line, action))
                continue
            error = result.get("error") or {}
            raise RequestError(status, f"document {result.get('_id')!r}: {error.get('type')}: {error.get('reason')}")
        if not again:
            return deleted
        chunk = again
        time.sleep(delay)
        delay = min(delay * 2, 10)
    raise RequestError(429, f"the cluster kept refusing {len(chunk)} documents; try again later or with fewer workers")


def surface_words(client: Client, index: str) -> Iterator[str]:
    """Every distinct surface word of the index (for decompounding), in pages of a composite aggregation."""
    after = None
    while True:
        comp: dict[str, Any] = {"size": 10000, "sources": [{"w": {"terms": {"field": "words"}}}]}
        if after:
            comp["after"] = after
        try:
            aggs = client.request("POST", path(index, "_search"), {"size": 0, "aggs": {"w": {"composite": comp}}},
                                  )["aggregations"]["w"]
        except RequestError:
            return
        for b in aggs["buckets"]:
            yield b["key"]["w"]
        after = aggs.get("after_key")
        if not aggs["buckets"] or not after:
            return


def _signature(hit: dict[str, Any]) -> StoredSignature:
    src = hit["_source"]
    doc = src.get("doc") or {}
    date = doc.get("date")
    doc_id = src.get("id") or hit["_id"]
    return StoredSignature(doc_id, doc.get("language", ""), datetime.fromisoformat(date) if date else None,
                           doc.get("signature", {}), src.get("story") or doc_id, doc.get("location") or "",
                           (doc.get("sources") or [""])[0].lower(), doc.get("lead") or {})
