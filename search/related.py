"""Related coverage: more-like-this in the article's language.

Candidates come from a BM25 query over the article's tf-idf signature (the
same one same-story detection uses, stored at index time); they are then
ordered by cosine similarity of the signatures, which rewards overall
topical overlap over a few rare shared words.  Measured on 10kGNAD
(same-category P@10): key-term query 0.47, signature query 0.52, with the
cosine re-ranking 0.55.
"""
from __future__ import annotations

from whoosh import query as Q

from . import analysis
from .schema import text_field, unpack_doc
from .stories import cosine

QUERY_TERMS = 120
DEPTH = 100


def like_query(doc: dict) -> Q.Query:
    lang = analysis.language_of(doc.get("language"))
    top = sorted(doc.get("signature", {}).items(), key=lambda kv: -kv[1])[:QUERY_TERMS]
    return Q.Or([Q.Term(text_field("body", lang), t, boost=w) for t, w in top]) if top else Q.NullQuery


def related_docs(searcher, doc: dict, exclude: set[int], size: int) -> list[tuple[int, float]]:
    """(docnum, similarity) of the most related other articles."""
    query = like_query(doc)
    if query is Q.NullQuery:
        return []
    results = searcher.search(query, limit=DEPTH + len(exclude), mask=exclude)
    scored = [(cosine(doc["signature"], unpack_doc(hit.fields()).get("signature", {})), hit.docnum) for hit in results]
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [(docnum, round(sim, 4)) for sim, docnum in scored[:size]]
