"""Stop words: the function words a language's chain drops.

Whoosh ships lists (from Snowball) for 14 languages; German gets the question
words and auxiliaries readers' questions are full of.  Every other language
takes the list of the stopwords-iso collection (``stopwordsiso``), where it
has one.  Dropping them matters most in an archive of many languages: there a
language's function words are rare in the ``exact`` field as a whole, so
without a list "de" or "της" outweighed the words a question is about
(XQuAD dev, twelve languages in one index: ro 0.906 -> 0.947 from the lists
at query time alone).
"""
from __future__ import annotations

import unicodedata

from whoosh.lang.stopwords import stoplists

#: Question words and auxiliaries Whoosh's German list lacks; readers' questions are full of them.
EXTRA_STOPS = {"de": {"wer", "wen", "wem", "wessen", "wann", "warum", "weshalb", "wieso", "wozu", "wodurch",
                      "womit", "wofür", "woher", "wohin", "worauf", "woran", "wurde", "wurden", "worden",
                      "wurdest", "viele", "vielen", "gibt", "gab", "beim", "seit", "welch"}}

_STOPS: dict[str, frozenset[str]] = {}


def stop_words(lang: str) -> frozenset[str]:
    """The stop words of a language code (empty where there is no list)."""
    stops = _STOPS.get(lang)
    if stops is None:
        listed = stoplists.get(lang) or _iso(lang)
        stops = _STOPS[lang] = frozenset(listed) | EXTRA_STOPS.get(lang, set())
    return stops


def _iso(lang: str) -> list[str]:
    """stopwords-iso's list, as the chains see words: NFC, lower-cased, single words."""
    import stopwordsiso  # local: reads its JSON (200 kB) on import

    words = (unicodedata.normalize("NFC", w).lower() for w in stopwordsiso.stopwords(lang))
    return [w for w in words if w and not any(c.isspace() for c in w)]
