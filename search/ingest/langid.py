"""Language identification with py3langid, restricted to languages we analyse.

Restricting the model matters: measured on XQuAD it lifts accuracy on short
questions to 99.96 %.  Short texts (one or two words) are never trusted.

A query is analysed with the languages it may be in (``query_languages``):
first those written in its scripts (a Thai query is Thai, a Greek word
Greek: script is certain where language is not), then, for a query long
enough to tell, those the identifier finds likely given the archive's
language mix (Bayes: the identifier's likelihoods restricted to the index's
languages, times each language's share of the archive).
"""
from __future__ import annotations

import threading
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from search.analysis import BIGRAM, NEUTRAL, SNOWBALL, language_of

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

MIN_WORDS = 3  # below this, detection is a guess
MIN_UNSPACED = 6  # characters of Thai, Chinese, ... that tell their language as well as three words
MIN_SHARE = 0.05  # a language the query is less likely in is not searched

#: Scripts (the first word of a letter's Unicode name) -> the analysed languages written in them;
#: a script not named here is written in languages of the neutral chain only.
SCRIPTS = {
    "CYRILLIC": ("ru", "sr"), "GREEK": ("el",), "ARABIC": ("ar", "fa"), "DEVANAGARI": ("hi", "ne"),
    "ARMENIAN": ("hy",), "TAMIL": ("ta",), "THAI": ("th",), "CJK": ("zh", "ja"), "HIRAGANA": ("ja",),
    "KATAKANA": ("ja",), "HALFWIDTH": ("ja",), "IDEOGRAPHIC": ("zh", "ja"),
}
_NON_LATIN = {lang for langs in SCRIPTS.values() for lang in langs} - {"sr"}  # Serbian: both alphabets
_LATIN = tuple(lang for lang in SNOWBALL if lang not in _NON_LATIN)


@lru_cache(maxsize=1)
def _identifier():
    return _load(sorted(set(SNOWBALL) | set(BIGRAM)))


def _load(codes):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(sorted(set(ident.nb_classes) & set(codes)))
    return ident


class _QueryIdentifier:
    """One identifier for queries, restricted to the languages asked about (a few milliseconds when
    they change; a model per language set would be 30 MB each)."""

    def __init__(self) -> None:
        self._ident: LanguageIdentifier | None = None
        self._known: set[str] = set()
        self._codes: tuple[str, ...] | None = None
        self._lock = threading.Lock()

    def rank(self, text: str, codes: tuple[str, ...]) -> list[tuple[str, float]]:
        with self._lock:
            if self._ident is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                self._ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                self._known = set(self._ident.nb_classes)
            wanted = tuple(sorted(self._known & set(codes)))
            if not wanted:
                return []
            if wanted != self._codes:
                self._ident.set_languages(wanted)
                self._codes = wanted
            return self._ident.rank(text[:5000])


_QUERIES = _QueryIdentifier()


def detect(text: str) -> tuple[str, float]:
    """(language code, probability) for a text of some length."""
    lang, prob = _identifier().classify(text[:5000])
    return lang, float(prob)


def ranked(text: str, min_prob: float = 0.05) -> list[tuple[str, float]]:
    """Languages the text may be in, most likely first."""
    return [(lang, float(p)) for lang, p in _identifier().rank(text[:5000]) if p >= min_prob]


def scripts(text: str) -> set[str]:
    """The scripts of the letters of ``text`` ("LATIN", "THAI", "CJK", ...)."""
    found = set()
    for c in set(text):
        if c.isalpha():
            name = unicodedata.name(c, "")
            found.add(name.split(" ", 1)[0] if name else "?")
    return found


def script_languages(text: str, available: list[str]) -> list[str]:
    """The available languages written in the scripts of ``text`` (the neutral chain's too: its
    documents may be in any script); all of them for a text without letters."""
    found = scripts(text)
    if not found:
        return list(available)
    wanted = {NEUTRAL}
    for script in found:
        wanted.update(_LATIN if script == "LATIN" else SCRIPTS.get(script, ()))
    return [lang for lang in available if lang in wanted]


def query_languages(text: str, available: list[str], *, confident: float = 0.9,
                    prior: Mapping[str, float] | None = None) -> list[str]:
    """Languages whose chains a query should be analysed with, in ``available``'s order.

    The languages of its scripts; of those, when the query is long enough to tell (``MIN_WORDS``
    words, or ``MIN_UNSPACED`` characters of a script without spaces), the ones whose posterior
    is at least ``MIN_SHARE``.  ``prior`` maps the archive's language codes (as documents give
    them: "vi" is analysed by the neutral chain) to their share of it; without it every available
    language is as likely.  A posterior of ``confident`` or more keeps its language alone.
    """
    candidates = script_languages(text, available)
    if len(candidates) <= 1 or not _long_enough(text):
        return candidates or list(available)
    posterior = _posterior(text, candidates, prior)
    if not posterior:
        return candidates
    best = max(posterior, key=posterior.__getitem__)
    if posterior[best] >= confident:
        return [best]
    return [lang for lang in candidates if posterior.get(lang, 0.0) >= MIN_SHARE] or [best]


def _long_enough(text: str) -> bool:
    if len(text.split()) >= MIN_WORDS:
        return True
    return sum(1 for c in text if "\u0e00" <= c <= "\u0eff" or "\u3040" <= c <= "\u9fff") >= MIN_UNSPACED


def _posterior(text: str, candidates: list[str], prior: Mapping[str, float] | None) -> dict[str, float]:
    """P(chain language | text) over ``candidates``: the identifier restricted to the archive's
    language codes, times their prior, summed per chain."""
    if prior:
        codes = {code: share for code, share in prior.items() if language_of(code) in candidates and share > 0}
    else:
        codes = {lang: 1.0 for lang in candidates if lang != NEUTRAL}
    if not codes:
        return {}
    scores: dict[str, float] = {}
    for code, p in _QUERIES.rank(text, tuple(sorted(codes))):
        chain = language_of(code)
        scores[chain] = scores.get(chain, 0.0) + float(p) * codes.get(code, 0.0)
    total = sum(scores.values())
    return {lang: s / total for lang, s in scores.items()} if total > 0 else {}
