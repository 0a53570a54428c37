"""Article + same-story signature -> the record a backend stores (``search.backend.base.Record``).

The display record is what ``/api/articles/<id>`` returns and what results
show, so its keys are a contract; the text is indexed in the chain of the
article's language when that language is configured, else in the neutral one.
"""
from __future__ import annotations

from search import analysis
from search.backend.base import Record
from search.index.stories import Signed
from search.ingest.article import Article


def build(article: Article, signed: Signed, src: str, languages: list[str], path: str) -> Record:
    """The record of ``article``; ``path`` is where it was read (for an article built in memory: its origin)."""
    lang = analysis.language_of(article.language)
    if lang not in languages:
        lang = analysis.NEUTRAL
    display = {
        "id": article.id, "title": article.title, "teaser": article.teaser, "body": article.body,
        "url": article.url, "location": article.location, "sources": article.sources,
        "category": article.category, "date": article.date.isoformat() if article.date else None,
        "language": article.language or lang, "publisher": article.publisher, "extra": article.extra,
        "path": article.path or path, "line": article.line,
        "lead": {t: round(w, 4) for t, w in signed.lead.items()},
        "signature": {t: round(w, 4) for t, w in signed.weights.items()},  # last: read apart (backend schema)
    }
    return Record(id=article.id, src=src, story=signed.story, language=lang, date=article.date, display=display)
