"""Text analysis: what a text's terms are, in every language.

The model, as in Whoosh's own analysis module: a *tokenizer* cuts text into
tokens and *filters* each change the token stream; ``|`` composes them into a
chain, read left to right.  One chain per language (``chains.py``)::

    de:        WordTokenizer() | LowercaseFilter() | StopFilter("de") | DecompoundFilter()
               | GermanFolder() | SnowballFilter("de")
    en, ...:   WordTokenizer() | LowercaseFilter() | StopFilter(lang) | SnowballFilter(lang)
    zh, ja:    WordTokenizer() | LowercaseFilter() | StopFilter(lang) | WidthFolder()
    th:        WordTokenizer() | LowercaseFilter() | StopFilter("th")
    other:     WordTokenizer() | LowercaseFilter() | AccentFolder()
    exact:     WordTokenizer() | LowercaseFilter()

* ``tokenize``: the one tokenizer core.  A word is letters, digits and
  combining marks (Devanagari vowel signs belong to their word), hyphenated
  words come whole and in pieces at one position, and runs of scripts
  written without spaces (Thai, Chinese, Japanese, ...) are cut into words by
  a dictionary segmenter (``segment``: ICU's word break iterator).
* ``filters``: stop words (``stopwords``), compound parts (``decompound``,
  reading a ``Vocabulary``), folding and Snowball stemming.
* ``fused``: ``FusedChain`` does a chain's work in one loop (indexing, query
  terms, highlighting); it reads its steps off the chain and yields exactly
  its tokens.  The schema indexes with it (``index_analyzer``).
* The same chain runs at index and at query time; only decompounding is
  index-only (``mode="index"``), so a query word matches a compound's part
  without the query itself being split.  A query word in a script without
  spaces stands for the words the segmenter finds in it (``query_words``).
* ``Vocabulary``: what compounds may split into, an object handed to the
  chains; ``learn_words`` feeds the process's shared one (an index backend
  teaches it the index's words), signatures use ``Vocabulary.word_list()`` (the same everywhere).

Adding a language: a line in ``chains.analyzer`` (and its code in
``languages``); stop words in ``stopwords``.  The classes a schema pickles are
recorded under their names here (``search.analysis.FusedChain``, ...), so
indexes on disk open whatever module defines them.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from whoosh.analysis import Composable, LowercaseFilter

from search.analysis.chains import analyzer, exact_analyzer
from search.analysis.decompound import Splitter
from search.analysis.filters import (
    AccentFolder,
    DecompoundFilter,
    GermanFolder,
    SnowballFilter,
    StopFilter,
    WidthFolder,
)
from search.analysis.fused import FusedChain, surface_counts
from search.analysis.languages import BIGRAM, LANGUAGES, NEUTRAL, PART_BOOST, SNOWBALL, SURFACE, UNSPACED, language_of
from search.analysis.stopwords import EXTRA_STOPS, stop_words
from search.analysis.tokenize import MARKS, BigramTokenizer, WordTokenizer, hyphen_pieces, word_spans
from search.analysis.tokenize import UNSPACED as UNSPACED_SCRIPT
from search.analysis.vocabulary import Vocabulary, default_vocabulary

__all__ = [
    "SNOWBALL", "BIGRAM", "UNSPACED", "NEUTRAL", "SURFACE", "LANGUAGES", "PART_BOOST", "EXTRA_STOPS", "MARKS",
    "UNSPACED_SCRIPT",
    "analyzer", "exact_analyzer", "index_analyzer", "surface_analyzer", "analyzer_for", "terms", "query_words",
    "language_of", "word_spans", "hyphen_pieces", "stop_words", "signature_counts", "signature_chain", "surface_counts",
    "learn_words",
    "splitter", "stale_fields", "languages_of_fields", "Vocabulary", "default_vocabulary", "Splitter",
    "FusedChain", "Composable",
    "WordTokenizer", "BigramTokenizer", "LowercaseFilter", "StopFilter", "DecompoundFilter", "GermanFolder",
    "AccentFolder", "WidthFolder", "SnowballFilter",
]

for _cls in (FusedChain, WordTokenizer, BigramTokenizer, StopFilter, DecompoundFilter, GermanFolder,
             AccentFolder, WidthFolder, SnowballFilter):
    _cls.__module__ = __name__  # pickled schemas name them here, wherever they are defined


def index_analyzer(lang: str, vocabulary: Vocabulary | None = None) -> Composable:
    """What the schema indexes a language's text fields with: its chain, fused."""
    return FusedChain(lang, vocabulary)


def surface_analyzer() -> Composable:
    """What the schema indexes ``exact`` with: ``exact_analyzer()``, fused."""
    return FusedChain(SURFACE)


_CHAINS: dict[tuple[str, int], FusedChain] = {}


def analyzer_for(lang: str, vocabulary: Vocabulary | None = None) -> FusedChain:
    """Cached fused chain per language and vocabulary (building one loads a stemmer)."""
    key = (lang, id(vocabulary) if vocabulary is not None else 0)
    chain = _CHAINS.get(key)
    if chain is None:
        chain = _CHAINS[key] = FusedChain(lang, vocabulary)
    return chain


def terms(lang: str, text: str, mode: str = "query", vocabulary: Vocabulary | None = None) -> list[str]:
    """The index terms ``text`` becomes in language ``lang``."""
    return analyzer_for(lang, vocabulary).postings(text, mode)[0]


def query_words(text: str) -> list[str]:
    """The words a query word stands for: itself, or, where it holds script written without
    spaces ("黑豹队的防守"), the words the segmenter finds in it, as if the reader had typed
    them apart."""
    if UNSPACED_SCRIPT.search(text) is None:
        return [text]
    return [w for w, _ in word_spans(text)] or [text]


#: Languages whose terms are what version 1 made of text without combining marks or unspaced
#: scripts (their stop lists are Whoosh's, as before).
_KEPT_SINCE_1 = frozenset({"da", "de", "en", "es", "fi", "fr", "hu", "it", "nl", "no", "pt", "ru", "sv", "tr"})
#: Chain version -> the languages whose terms it changed.
_CHANGED_IN: dict[int, Callable[[str], bool]] = {2: lambda lang: lang not in _KEPT_SINCE_1,
                                                 3: lambda lang: lang == "de"}


def languages_of_fields(fields: list[str]) -> list[str]:
    """The language codes of text fields ("body_zh" -> "zh"), sorted."""
    return sorted({f.rpartition("_")[2] for f in fields})


def stale_fields(schema) -> list[str]:
    """Text fields of an index on disk whose terms the current chains no longer make (Chinese,
    Japanese and Thai were bigrams, combining marks split words, most languages had no stop
    words, German plurals were apart): that index needs ``stichwort index --rebuild`` for those
    languages to match queries."""
    stale = []
    for name, field in schema.items():
        chain, lang = getattr(field, "analyzer", None), name.rpartition("_")[2]
        if name.partition("_")[0] not in ("title", "teaser", "body"):
            continue
        if isinstance(chain, FusedChain):
            if any(changed(lang) for version, changed in _CHANGED_IN.items() if version > chain.indexed_version):
                stale.append(name)
        elif chain is not None:
            stale.append(name)  # a composed chain: the bigram languages before segmentation
    return stale


_SIGNATURE_CHAINS: dict[str, FusedChain] = {}


def signature_counts(lang: str, text: str) -> Counter:
    """Index terms with their counts for same-story and related signatures: compound parts from
    the word list only, so they are the same in every process whatever corpus vocabulary the run
    has learned."""
    return signature_chain(lang).counts(text, mode="index")


def signature_chain(lang: str) -> FusedChain:
    """The chain of ``signature_counts``, one per language and process: made before a fork, it and
    the word list it loads (0.8 s) are shared by the children instead of loaded by each."""
    chain = _SIGNATURE_CHAINS.get(lang)
    if chain is None:
        chain = _SIGNATURE_CHAINS[lang] = FusedChain(lang, Vocabulary.word_list())
    return chain


def learn_words(words, vocabulary: Vocabulary | None = None) -> None:
    """Add corpus words (lower-case surface forms) compounds may split into."""
    (vocabulary or default_vocabulary()).learn(words)


def splitter() -> Splitter:
    """The shared vocabulary's splitter."""
    return default_vocabulary().splitter

