"""Did-you-mean and autocomplete, both from real surface words of the index.

The ``exact`` field holds every word as written (lower-cased, unstemmed), so a
correction is always a word that occurs in some article, never a stem.
"""
from __future__ import annotations

import re
from collections.abc import Callable

MAX_PREFIX_SCAN = 20000


def _restore_case(original: str, word: str) -> str:
    if original.isupper() and len(original) > 1:
        return word.upper()
    if original[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def correct_word(reader, word: str) -> str | None:
    """The most frequent indexed word within edit distance 2, if the word itself is rare."""
    surface = word.lower()
    own = reader.doc_frequency("exact", surface)
    best: tuple[int, int, str] | None = None
    for maxdist in (1, 2):
        for cand in reader.terms_within("exact", surface, maxdist, prefix=1):
            if cand == surface or not cand.isalpha():
                continue
            df = reader.doc_frequency("exact", cand)
            if df <= own:
                continue
            key = (-df, abs(len(cand) - len(surface)), cand)
            if best is None or key < best:
                best = key
        if best is not None:
            break
    return _restore_case(word, best[2]) if best else None


def did_you_mean(reader, text: str, words: list[str], matches: Callable[[str], bool]) -> str | None:
    """The query text with misspelt words replaced, or None when nothing changes.

    Only words that match nothing are corrected: "Sicherheitsgarantie" finds
    "Sicherheitsgarantien" through stemming and needs no correction.
    """
    changed = text
    for word in dict.fromkeys(words):
        if not re.fullmatch(r"\w+", word) or matches(word):
            continue
        fix = correct_word(reader, word)
        if fix and fix.lower() != word.lower():
            changed = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", fix, changed)
    return changed if changed != text else None


def complete(reader, text: str, size: int = 8) -> list[str]:
    """Completions of the last word, most frequent first, as full query strings."""
    m = re.search(r"(\w+)$", text or "")
    if not m:
        return []
    head, partial = text[: m.start()], m.group(1)
    prefix = partial.lower()
    cands = []
    for i, term in enumerate(reader.expand_prefix("exact", prefix)):
        if i >= MAX_PREFIX_SCAN:
            break
        word = term.decode("utf-8") if isinstance(term, bytes) else term
        if word != prefix and word.replace("-", "").isalpha():
            cands.append((reader.doc_frequency("exact", word), word))
    cands.sort(key=lambda c: (-c[0], c[1]))
    return [head + _restore_case(partial, w) for _, w in cands[:size]]
