"""The Whoosh backend for searching: the current snapshot of an index, swapped atomically on refresh."""
from __future__ import annotations

import threading
from pathlib import Path

from search import analysis
from search.backend.whoosh.snapshot import DEFAULT_CACHE_BYTES, SegmentCache, Snapshot
from search.backend.whoosh.store import open_index

# B=0.5: news paragraphs vary in length less than BM25's default assumes (XQuAD de +0.004 MRR)
BM25_B = 0.5
BM25_K1 = 1.2


class WhooshSearcher:
    """Opens the index in ``index_dir`` read-only and keeps a snapshot of its latest commit."""

    def __init__(self, index_dir: str | Path, cache_bytes: int = DEFAULT_CACHE_BYTES):
        self.index_dir = Path(index_dir)
        self.ix = open_index(self.index_dir, None)
        self.cache = SegmentCache(cache_bytes)
        self._lock = threading.Lock()
        self._snapshot = self._open()

    def _open(self) -> Snapshot:
        snap = Snapshot(self.ix, self.cache, B=BM25_B, K1=BM25_K1)
        # query-side decompounding knows the index's words; the record of the segments learned is the shared
        # vocabulary's, so the indexer's learning and this one never read a segment twice
        snap.learn_words(analysis.vocabulary.default_vocabulary().learned_segments)
        return snap

    def view(self) -> Snapshot:
        """The latest commit as of the last refresh; keep using one view for one request."""
        return self._snapshot

    snapshot = view

    def refresh(self) -> bool:
        """Pick up a newer commit; cheap when nothing changed.  Searches on the old snapshot finish on it."""
        if self.ix.latest_generation() == self._snapshot.generation:
            return False
        with self._lock:
            if self.ix.latest_generation() == self._snapshot.generation:
                return False
            fresh = self._open()
            self._snapshot = fresh
            self.cache.forget(segid for segid, _, _ in fresh.segments)
        return True

    def close(self) -> None:
        self._snapshot.close()
