"""The filters chains are built from, each one step on a token stream (Whoosh's ``Filter``)."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator

import Stemmer
from whoosh.analysis import Filter, Token

from search.analysis.languages import PART_BOOST, SNOWBALL
from search.analysis.plurals import plural_form
from search.analysis.stopwords import stop_words
from search.analysis.vocabulary import Vocabulary, default_vocabulary

_UMLAUTS = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
#: Marks readers often leave out: Latin, Greek and Cyrillic accents (the combining diacritics
#: blocks), Hebrew points, Arabic harakat.  Not the vowel signs of Indic or Thai script, which
#: are letters of their word.
_OPTIONAL_MARKS = re.compile("[\u0300-\u036f\u0591-\u05c7\u064b-\u065f\u0670\u1ab0-\u1aff\u1dc0-\u1dff"
                             "\u20d0-\u20ff\ufe20-\ufe2f]")


def german_fold(text: str) -> str:
    """ä->a, ö->o, ü->u, ß->ss."""
    return text.translate(_UMLAUTS)


def german_word_fold(text: str) -> str:
    """``german_fold``, then Latin and Greek singulars written as their plural (``plurals``)."""
    return plural_form(german_fold(text))


def strip_accents(text: str) -> str:
    """"café" -> "cafe": decomposed (NFD, as it stays), then the optional marks dropped."""
    return _OPTIONAL_MARKS.sub("", unicodedata.normalize("NFD", text))


def width_fold(text: str) -> str:
    """NFKC: full-width Latin and digits (ＣＯＶＩＤ１９) and half-width katakana read as usual."""
    return unicodedata.normalize("NFKC", text)


class StopFilter(Filter):
    """Drops stop words; renumbers positions so phrases match across them, keeping parts on their word's position."""

    def __init__(self, lang: str):
        self.lang = lang
        self.stops = stop_words(lang)

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        stops, pos, last = self.stops, -1, None
        for t in tokens:
            if t.text in stops:
                continue
            if t.positions:
                if t.pos != last:
                    pos, last = pos + 1, t.pos
                t.pos = pos
            yield t


class _Folder(Filter):
    """Maps each token's text through ``fold`` (which ``FusedChain`` calls per word itself)."""

    fold: Callable[[str], str]

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        fold = self.fold
        for t in tokens:
            t.text = fold(t.text)
            yield t


class GermanFolder(_Folder):
    """ä->a, ö->o, ü->u, ß->ss: "Praesident" aside, readers type umlauts or not; "Zentrum" as "Zentren"
    (``plurals``), which Snowball does not join."""

    fold = staticmethod(german_word_fold)


class AccentFolder(_Folder):
    """Strips accents (``strip_accents``): the neutral chain matches "café" with "cafe"."""

    fold = staticmethod(strip_accents)


class WidthFolder(_Folder):
    """``width_fold``: Chinese and Japanese text mixes full-width and ordinary forms."""

    fold = staticmethod(width_fold)


class DecompoundFilter(Filter):
    """Index time only: after each compound, its parts at the same position, weighted ``PART_BOOST``."""

    def __init__(self, vocabulary: Vocabulary | None = None):
        self.vocabulary = vocabulary

    def __getstate__(self) -> dict:  # a vocabulary belongs to a process, not to a pickled schema
        return {"vocabulary": None}

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        split = (getattr(self, "vocabulary", None) or default_vocabulary()).split
        for t in tokens:
            whole, is_part = t.text, t.part
            yield t  # later filters change t in place: read it before this line
            if t.mode == "query" or is_part:
                continue
            for part in split(whole):
                t.text, t.boost, t.part = part, PART_BOOST, True
                yield t


class SnowballFilter(Filter):
    """Snowball stemming through PyStemmer, whose C cache makes repeated words cheap."""

    def __init__(self, lang: str):
        self.lang = lang
        self._stemmer: Stemmer.Stemmer | None = None

    def __getstate__(self) -> dict:  # the schema is pickled; the C stemmer is not picklable
        return {"lang": self.lang, "_stemmer": None}

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        if self._stemmer is None:
            self._stemmer = Stemmer.Stemmer(SNOWBALL[self.lang], 100_000)
        stem = self._stemmer.stemWord
        for t in tokens:
            t.text = stem(t.text)
            yield t
