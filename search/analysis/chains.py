"""The analysis chains: one Whoosh pipeline per language, read left to right.

These expressions are the definition of what a text's terms are.  The fused
fast path (``fused.FusedChain``) reads its steps off them, and tests check
that it yields exactly their tokens.
"""
from __future__ import annotations

from whoosh.analysis import Composable, LowercaseFilter

from search.analysis.filters import (
    AccentFolder,
    DecompoundFilter,
    GermanFolder,
    SnowballFilter,
    StopFilter,
    WidthFolder,
)
from search.analysis.languages import SNOWBALL
from search.analysis.tokenize import WordTokenizer


def analyzer(lang: str) -> Composable:
    """The analysis chain for one language code (see ``LANGUAGES``)."""
    if lang == "de":
        return (WordTokenizer() | LowercaseFilter() | StopFilter("de") | DecompoundFilter()
                | GermanFolder() | SnowballFilter("de"))
    if lang in SNOWBALL:
        return WordTokenizer() | LowercaseFilter() | StopFilter(lang) | SnowballFilter(lang)
    if lang in ("zh", "ja"):
        return WordTokenizer() | LowercaseFilter() | StopFilter(lang) | WidthFolder()
    if lang == "th":
        return WordTokenizer() | LowercaseFilter() | StopFilter(lang)
    return WordTokenizer() | LowercaseFilter() | AccentFolder()


def exact_analyzer() -> Composable:
    """Surface words, only lower-cased: exact-match boost, spelling and autocomplete."""
    return WordTokenizer() | LowercaseFilter()
