"""What the engine needs from a backend to search: one consistent view of the index per request.

A ``View`` is one state of the index (a commit, a point in time): the engine
asks it to ``search`` a ``SearchRequest`` (``search.results.search``), to fetch
stored records, to find a story's articles and an article's related coverage,
and for vocabulary (did-you-mean, autocomplete).  Documents are named by
``Ref``: whatever the backend uses (Whoosh: a document number), only ever
handed back to the same view.  ``SearchBackend`` hands out the current view
and swaps it when the index changed (``refresh``).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol

from search.results.search import Matches, SearchRequest
from search.results.signatures import Signatures

Ref = Any  # Hashable, and opaque: each backend's own kind, handed back only to the view that gave it


class StoredArticle(NamedTuple):
    """What the store keeps of an article for display: its id, its story and the display record."""

    id: str
    story: str
    display: dict[str, Any]


class View(Protocol):
    generation: int
    doc_count: int

    def search(self, request: SearchRequest) -> Matches: ...
    def record(self, ref: Ref) -> StoredArticle: ...
    def signature(self, ref: Ref) -> dict[str, float]: ...  # the stored same-story/related signature
    def docnum(self, doc_id: str) -> Ref | None: ...
    def story_members(self, story: str) -> list[Ref]: ...
    def related(self, doc: dict, exclude: set[Ref], size: int, signatures: Signatures) -> list[tuple[Ref, float]]: ...
    def explain(self, plan: Any, ref: Ref) -> tuple[float, list[tuple[Any, float]]]: ...  # score, (leaf, score)
    def languages(self) -> set[str]: ...
    def language_mix(self) -> dict[str, float]: ...  # language code -> share of the documents
    def stale_fields(self) -> list[str]: ...  # fields whose documents an older analysis indexed: rebuild
    def totals(self) -> dict[str, Any]: ...  # per facet {value: count} over all documents, and "months"
    # vocabulary of the surface words (``exact``) and analysed fields, for suggestions
    def doc_count_all(self) -> int: ...
    def doc_frequency(self, field: str, term: str) -> int: ...
    def expand_prefix(self, field: str, prefix: str) -> Iterator[str]: ...
    def terms_within(self, field: str, text: str, maxdist: int, prefix: int = 0) -> list[str]: ...
    # the most frequent of them (wildcard and fuzzy words: ``search.query.compile.Vocabulary``)
    def top_prefix_terms(self, field: str, prefix: str, limit: int) -> list[str]: ...
    def top_terms_within(self, field: str, text: str, maxdist: int, prefix: int, limit: int) -> list[str]: ...


class SearchBackend(Protocol):
    def view(self) -> View: ...
    def refresh(self) -> bool: ...  # True when a newer state was picked up
    def close(self) -> None: ...
