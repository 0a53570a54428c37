"""Related coverage: more-like-this over title and body in the article's language."""
from __future__ import annotations

from whoosh import query as Q
from whoosh.scoring import BM25F

from . import analysis
from .schema import text_field

KEY_TERMS = 30


def key_terms(searcher, doc: dict) -> list[tuple[str, float]]:
    """The article's most distinctive analysed terms, with weights."""
    lang = analysis.language_of(doc.get("language"))
    field = text_field("body", lang)
    if field not in searcher.schema:
        return []
    text = f"{doc.get('title', '')}\n{doc.get('title', '')}\n{doc.get('teaser', '')}\n{doc.get('body', '')}"
    return searcher.key_terms_from_text(field, text, numterms=KEY_TERMS, normalize=True)


def like_query(searcher, doc: dict) -> Q.Query:
    lang = analysis.language_of(doc.get("language"))
    clauses = []
    for term, weight in key_terms(searcher, doc):
        clauses.append(Q.Term(text_field("body", lang), term, boost=weight))
        clauses.append(Q.Term(text_field("title", lang), term, boost=weight * 0.5))
    return Q.Or(clauses) if clauses else Q.NullQuery
