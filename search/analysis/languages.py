"""Which languages have a chain of their own, and which chain a document's language code selects."""
from __future__ import annotations

#: ISO 639-1 code -> PyStemmer (Snowball) algorithm.
SNOWBALL = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech",
    "da": "danish", "nl": "dutch", "en": "english", "eo": "esperanto", "et": "estonian",
    "fi": "finnish", "fr": "french", "de": "german", "el": "greek", "hi": "hindi",
    "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian",
    "lt": "lithuanian", "ne": "nepali", "no": "norwegian", "fa": "persian",
    "pl": "polish", "pt": "portuguese", "ro": "romanian", "ru": "russian",
    "sr": "serbian", "es": "spanish", "sv": "swedish", "ta": "tamil", "tr": "turkish",
}
#: Languages written without spaces between words: their words come from a dictionary segmenter
#: (``segment.py``).  The name is older than the segmenter: these were indexed as character bigrams.
BIGRAM = ("zh", "ja", "th")
UNSPACED = BIGRAM
#: The language-neutral chain, for anything else.
NEUTRAL = "xx"
#: Surface words, only lower-cased (the ``exact`` field).
SURFACE = "surface"
LANGUAGES = tuple(SNOWBALL) + BIGRAM + (NEUTRAL,)

PART_BOOST = 0.3  # a compound part weighs less than a whole word


def language_of(code: str | None) -> str:
    """The chain a document's language code selects."""
    code = (code or "").lower()[:2]
    return code if code in SNOWBALL or code in BIGRAM else NEUTRAL
