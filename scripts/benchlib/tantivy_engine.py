"""tantivy, the speed anchor: the same corpus and queries through a Rust engine with a plain German chain.

Chain: tantivy's ``simple`` tokenizer, long tokens dropped, lower case,
its built-in Snowball ``german`` stemmer (the stemmer Stichwort's chain
starts from), on title and body; ranked BM25 with the query parser's
default OR, top 10, stored id and title read back as a result list does.
Highlights are tantivy's ``SnippetGenerator`` on the body of each hit;
related coverage is its more-like-this query on the stored article.

tantivy is an optional bench-only dependency (``pip install -e .[bench]``):
without it every tantivy figure is reported as skipped.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ANALYZER = "de_stem"
HEAP_BYTES = 200_000_000


def available() -> str | None:
    """None when tantivy can be imported, else why not (the report says so instead of a figure)."""
    try:
        import tantivy  # noqa: F401
    except ImportError as exc:
        return f"tantivy not installed ({exc}); pip install -e '.[bench]'"
    return None


def _analyzer():
    import tantivy
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.stemmer("german"))
            .build())


def _schema():
    import tantivy
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    sb.add_text_field("title", stored=True, tokenizer_name=ANALYZER)
    sb.add_text_field("body", stored=True, tokenizer_name=ANALYZER)
    return sb.build()


def _open(index_dir: str | os.PathLike[str], create: bool = False):
    import tantivy
    if create:
        os.makedirs(index_dir, exist_ok=True)
    ix = tantivy.Index(_schema(), path=str(index_dir), reuse=not create)
    ix.register_tokenizer(ANALYZER, _analyzer())
    return ix


def build(docs: Iterable[dict], index_dir: str | os.PathLike[str], threads: int = 2,
          progress: Callable[[int, int, float], None] | None = None) -> dict:
    """Index ``docs`` (title, teaser + body) into a new tantivy index; seconds and docs."""
    import tantivy
    ix = _open(index_dir, create=True)
    start = time.perf_counter()
    writer = ix.writer(heap_size=HEAP_BYTES, num_threads=threads)
    n = 0
    for n, doc in enumerate(docs, 1):
        body = "\n".join(t for t in (doc.get("teaser"), doc.get("body")) if t)
        writer.add_document(tantivy.Document(id=str(doc["id"]), title=doc.get("title") or "", body=body))
        if progress and n % 500 == 0:
            progress(n, 0, time.perf_counter() - start)
    writer.commit()
    writer.wait_merging_threads()
    elapsed = time.perf_counter() - start
    ix.reload()
    return {"seconds": round(elapsed, 3), "docs": ix.searcher().num_docs}


class Searcher:
    """Search, highlight and relate over one tantivy index, as a result list and an article page would."""

    def __init__(self, index_dir: str | os.PathLike[str]):
        self.ix = _open(index_dir)
        self.ix.reload()
        self.searcher = self.ix.searcher()
        self.schema = self.ix.schema

    @property
    def doc_count(self) -> int:
        return int(self.searcher.num_docs)

    def _query(self, text: str):
        try:
            return self.ix.parse_query(text, ["title", "body"])
        except ValueError:
            query, _errors = self.ix.parse_query_lenient(text, ["title", "body"])
            return query

    def search(self, text: str, highlight: bool = False) -> int:
        """Top 10 (id, title, and with ``highlight`` a marked body snippet each); the hit count."""
        import tantivy
        query = self._query(text)
        result = self.searcher.search(query, 10)
        shown: list[dict[str, Any]] = []
        snippets = tantivy.SnippetGenerator.create(self.searcher, query, self.schema, "body") if highlight else None
        for _score, address in result.hits:
            doc = self.searcher.doc(address)
            hit = {"id": doc["id"][0], "title": doc["title"][0]}
            if snippets is not None:
                hit["snippet"] = snippets.snippet_from_doc(doc).to_html()
            shown.append(hit)
        return len(shown)

    def address(self, doc_id: str):
        import tantivy
        found = self.searcher.search(tantivy.Query.term_query(self.schema, "id", doc_id), 1).hits
        return found[0][1] if found else None

    def related(self, doc_id: str) -> int:
        """More-like-this on the stored article, top 10 without itself."""
        import tantivy
        address = self.address(doc_id)
        if address is None:
            return 0
        query = tantivy.Query.more_like_this_query(address, min_doc_frequency=2, min_term_frequency=1,
                                                   max_query_terms=40)
        hits = self.searcher.search(query, 11).hits
        ids = [self.searcher.doc(a)["id"][0] for _s, a in hits]
        return len([i for i in ids if i != doc_id][:10])


def index_bytes(index_dir: str | os.PathLike[str]) -> int:
    return sum(p.stat().st_size for p in Path(index_dir).rglob("*") if p.is_file())
