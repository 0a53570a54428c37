"""Did-you-mean and autocomplete, both from real surface words of the index.

The ``exact`` field holds every word as written (lower-cased, unstemmed), so a
correction or a completion is always a word that occurs in some article.

*Did-you-mean* looks at every word of the query, not only at queries without
results: "Maskenplficht Berlin" finds thousands of articles through "Berlin",
yet "Maskenplficht" finds none.  A word is corrected when a word within two
edits finds clearly more articles (``CLEARLY_MORE`` times as many, counting
what the word finds through stemming too, so "Sicherheitsgarantie" is left
alone); among the candidates frequency counts for more than closeness, at a
price per edit (``EDIT_PRICE``): "Biontek" becomes "Biontech" (343 articles,
two edits) rather than "Biontec" (1 article, one edit).

*Autocomplete* completes the last word with the archive's most frequent words
starting with it, leaves out stop words, and writes each as the articles spell
it most often ("Bahn-Personalvorständin", "Ukraine-Krieg"); when the reader
typed a capital, capitalised words (German nouns and names) come first:
"Impfzentrum Ber" -> "Berlin" before "bereits".
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Protocol

from search import analysis
from search.index.fields import SURFACE_FIELD

CLEARLY_MORE = 3.0   # a correction must find this many times the articles the word finds
RARE = 3             # a word found in more articles than this (or RARE_SHARE of the archive) is no typo
RARE_SHARE = 0.0002
EDIT_PRICE = 10.0    # a second edit divides a candidate's frequency by this
CANDIDATES = 20
MAX_FORMS_DOCS = 3   # articles read to learn how a completion is spelt
MAX_RUN = 12         # characters of a run without spaces the word being typed may start in
_LETTERS = re.compile(rf"[^\W\d_](?:[^\W\d_]|[{analysis.MARKS}])*")  # letters with their combining marks
_WORD = re.compile(rf"\w(?:\w|[{analysis.MARKS}])*")
_TYPING = re.compile(rf"\w(?:[\w\-]|[{analysis.MARKS}])*\Z")
_TRAILING_RUN = re.compile(rf"(?:{analysis.UNSPACED_SCRIPT.pattern})\Z")


class Vocabulary(Protocol):
    def doc_frequency(self, field: str, term: str) -> int: ...
    def top_prefix_terms(self, field: str, prefix: str, limit: int) -> list[str]: ...
    def top_terms_within(self, field: str, text: str, maxdist: int, prefix: int, limit: int) -> list[str]: ...


def restore_case(original: str, word: str) -> str:
    """``word`` in the case the reader typed ``original``."""
    if original.isupper() and len(original) > 1:
        return word.upper()
    if original[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def correct_word(vocab: Vocabulary, word: str, finds: Callable[[str], int]) -> str | None:
    """The best correction of ``word`` (see the module docstring), or None when none finds clearly more."""
    surface = word.lower()
    own = finds(word)
    best: tuple[float, str] | None = None
    for candidate in vocab.top_terms_within(SURFACE_FIELD, surface, 2, 1, CANDIDATES):
        if candidate == surface or not _LETTERS.fullmatch(candidate):
            continue
        found = finds(candidate)
        if found < (CLEARLY_MORE * own if own else 1):
            continue
        distance = edit_distance(surface, candidate, 2)
        score = found / EDIT_PRICE ** (distance - 1)
        if best is None or (score, candidate) > best:
            best = (score, candidate)
    return restore_case(word, best[1]) if best else None


def did_you_mean(vocab: Vocabulary, text: str, words: list[str], finds: Callable[[str], int],
                 documents: int) -> str | None:
    """The query text with misspelt words replaced, or None when nothing changes; ``finds(word)`` counts the
    articles a word finds (as typed or through its analysis) among ``documents``."""
    fixes: dict[str, str] = {}
    for word in dict.fromkeys(w for typed in words for w in analysis.query_words(typed)):
        if word in fixes or not _WORD.fullmatch(word) or len(word) < 3 \
                or finds(word) > max(RARE, RARE_SHARE * documents):
            continue
        fix = correct_word(vocab, word, finds)
        if fix and fix.lower() != word.lower():
            fixes[word] = fix
    if not fixes:
        return None
    out, last = [], 0
    for word, start in analysis.word_spans(text):  # whole words only, also inside unspaced runs
        if word in fixes:
            out += [text[last:start], fixes[word]]
            last = start + len(word)
    changed = "".join(out) + text[last:]
    return changed if changed != text else None


def complete(vocab: Vocabulary, text: str, size: int, stop_words: Iterable[str],
             spellings: Callable[[str], list[str]]) -> list[str]:
    """Completions of the last word, most frequent first, as full query strings; ``spellings(word)`` gives
    the word as a few articles write it.  In a script written without spaces the word being typed starts
    somewhere in the last run ("新英格" -> "新英格兰"): the longest end of the run that starts an indexed
    word is completed."""
    text = text or ""
    run = _TRAILING_RUN.search(text[-MAX_RUN:])
    if run is not None:
        for k in range(len(run.group()), 0, -1):
            found = _completions(vocab, text[-k:], size, stop_words, spellings)
            if found:
                return [text[:-k] + w for w in found]
        return []
    m = _TYPING.search(text)
    if not m:
        return []
    return [text[: m.start()] + w for w in _completions(vocab, m.group(), size, stop_words, spellings)]


def _completions(vocab: Vocabulary, partial: str, size: int, stop_words: Iterable[str],
                 spellings: Callable[[str], list[str]]) -> list[str]:
    """Indexed words that ``partial`` starts, in their usual spelling, most frequent first."""
    stops = set(stop_words)
    candidates = [w for w in vocab.top_prefix_terms(SURFACE_FIELD, partial.lower(), 4 * size + 10)
                  if w not in stops and any(c.isalpha() for c in w)]
    forms = [(w, _usual_form(spellings(w)) or restore_case(partial, w)) for w in candidates[:2 * size]]
    if partial[:1].isupper():  # nouns and names first, as the reader capitalised
        forms.sort(key=lambda wf: not wf[1][:1].isupper())
    return [form if form.lower().startswith(partial.lower()) else restore_case(partial, word)
            for word, form in forms[:size]]


def _usual_form(seen: list[str]) -> str | None:
    """The spelling articles use most (None when none was seen)."""
    return Counter(seen).most_common(1)[0][0] if seen else None


def spellings_in(texts: Iterable[str], word: str) -> list[str]:
    """How ``texts`` spell ``word`` (any case)."""
    pattern = re.compile(rf"(?<![\w\-]){re.escape(word)}(?![\w\-])", re.IGNORECASE)
    return [m.group() for text in texts for m in pattern.finditer(text)]


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance of ``a`` and ``b`` (adjacent transpositions count one), or
    ``limit + 1`` once it must exceed ``limit``."""
    if a == b:
        return 0
    previous2: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]
