"""The fields every backend stores, by name: what the compiler asks for and the indexer writes.

Text is indexed per language (``title_de``, ``body_en``, ...) so that each
language's analysis and length statistics apply only to its documents;
``exact`` holds the surface words of title, teaser and body (lower-cased,
unstemmed) for the exact-form bonus, did-you-mean and autocomplete; ``loc`` the
dateline place as words.  Keyword fields hold lower-cased values for filters.
"""
from __future__ import annotations

TEXT_ROLES = ("title", "teaser", "body")
SURFACE_FIELD = "exact"
LOCATION_WORDS = "loc"
#: Facet or filter name -> keyword field holding its lower-cased values.
KEYWORD_FIELDS = {"location": "location", "source": "source", "category": "category", "language": "language",
                  "story": "story"}


def text_field(role: str, lang: str) -> str:
    """The field holding ``role`` (title, teaser, body) of documents in language ``lang``."""
    return f"{role}_{lang}"


def role_of(field: str) -> str | None:
    """``title`` for ``title_de``; None for a field that is not per-language text."""
    role, _, lang = field.partition("_")
    return role if lang and role in TEXT_ROLES else None
