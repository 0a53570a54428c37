"""German compound splitting learned from vocabulary, no dictionary download.

A word is split where both halves occur as words of their own, in the corpus
being indexed or in the German frequency list that ``wordfreq`` ships.  Two
rules keep splits honest:

* parts must be common words (Zipf >= ``min_part_zipf``) of at least four
  letters, so prefixes and junk ("Verhand", "Gesell") never count;
* a compound that is itself a common word (Zipf >= ``lexicalised_zipf``:
  "Bundeskanzler", "Gesellschaft") is lexicalised and stays whole, because
  splitting it would let "Bund" match articles about the chancellor.

Parts are indexed beside the whole word (see ``analysis.DecompoundFilter``),
so a wrong split only ever adds a low-weighted term.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

LINKERS = ("", "s", "es", "n", "en", "e", "er", "ns")
_LINKERS_ENDING = {c: tuple(lk for lk in LINKERS if lk.endswith(c)) for c in {lk[-1] for lk in LINKERS if lk}}
MIN_PART = 4
MIN_WORD = 8


@lru_cache(maxsize=1)
def _wordfreq_de() -> dict[str, float]:
    """German words with their Zipf frequency, from the list wordfreq ships."""
    from math import log10

    from wordfreq import cB_to_freq, get_frequency_list  # local: loading takes ~0.5 s
    zipf: dict[str, float] = {}
    for index, bucket in enumerate(get_frequency_list("de")):  # a bucket's words share one frequency
        z = log10(cB_to_freq(-index)) + 9  # as log10 of get_frequency_dict's value, to the bit
        if "".join(bucket).isalpha():  # most buckets: every word is one, taken in one step
            zipf.update(dict.fromkeys(bucket, z))
        else:
            zipf.update((w, z) for w in bucket if w.isalpha())
    return zipf


@lru_cache(maxsize=4)
def _common_words(min_zipf: float) -> frozenset[str]:
    """The word list's words that may be parts: common enough, long enough."""
    return frozenset(w for w, z in _wordfreq_de().items() if z >= min_zipf and len(w) >= MIN_PART)


class Splitter:
    """Splits lower-case German words into lower-case parts."""

    def __init__(self, corpus_words: Iterable[str] = (), *, min_part_zipf: float = 2.5,
                 lexicalised_zipf: float = 3.8, use_wordlist: bool = True):
        self.zipf = _wordfreq_de() if use_wordlist else {}
        self.min_part_zipf = min_part_zipf
        self.lexicalised_zipf = lexicalised_zipf
        self.corpus = set(corpus_words)  # may hold words that never count (see add_words)
        self._common = _common_words(min_part_zipf) if use_wordlist else frozenset()
        self._cache: dict[str, tuple[str, ...]] = {}

    def add_words(self, words: Iterable[str]) -> None:
        # Taken as they come (one C step per word; a server's start learns millions): words too short or
        # not alphabetic never count, because ``is_word`` asks only about longer ones and ``_split`` only
        # about parts of alphabetic words.
        self.corpus.update(words)
        self._cache.clear()

    def is_word(self, w: str) -> bool:
        return len(w) >= MIN_PART and (w in self.corpus or w in self._common)

    def _score(self, w: str) -> float:
        return self.zipf.get(w, 2.5 if w in self.corpus else 0.0)

    def split(self, word: str) -> tuple[str, ...]:
        """The parts of ``word`` (empty when it stays whole)."""
        parts = self._cache.get(word)
        if parts is None:
            parts = self._cache[word] = self._split(word)
        return parts

    def compounds(self, words: list[str]) -> list[tuple[str, tuple[str, ...]]]:
        """(word, parts) for the words of ``words`` that split: a dict look-up per known word."""
        cache = self._cache
        for word in [w for w in words if w not in cache]:
            self.split(word)
        return [(w, cache[w]) for w in words if cache[w]]

    def _split(self, word: str) -> tuple[str, ...]:
        if len(word) < MIN_WORD or not word.isalpha() or self._score(word) >= self.lexicalised_zipf:
            return ()
        best: tuple[tuple[float, float], str, str] | None = None
        corpus, common, zipf = self.corpus, self._common, self.zipf
        for i in range(MIN_PART, len(word) - MIN_PART + 1):
            tail = word[i:]
            if tail not in corpus and tail not in common:
                continue
            tail_score = zipf.get(tail, 2.5 if tail in corpus else 0.0)  # _score, inlined: most of the time
            for head in self._heads(word[:i]):
                head_score = zipf.get(head, 2.5 if head in corpus else 0.0)
                score = (min(head_score, tail_score), head_score)
                if best is None or score > best[0]:
                    best = (score, head, tail)
        if best is None:
            return ()
        _, head, tail = best
        # Keep every level: "waffenstillstand" -> waffen, stillstand, still, stand.
        return tuple(dict.fromkeys((head, tail) + self.split(head) + self.split(tail)))

    def _heads(self, left: str) -> list[str]:
        """Candidate first parts: ``left`` minus a linking element, or with a dropped -e restored."""
        corpus, common = self.corpus, self._common  # ``is_word``, inlined: this runs for every candidate tail
        heads = [left] if len(left) >= MIN_PART and (left in corpus or left in common) else []
        for linker in _LINKERS_ENDING.get(left[-1], ()):  # those ``left`` may end with, in LINKERS' order
            if left.endswith(linker):
                head = left[: len(left) - len(linker)]
                if len(head) >= MIN_PART and (head in corpus or head in common):
                    heads.append(head)
        restored = left + "e"
        if restored in corpus or restored in common:  # (longer than ``left``: never too short)
            heads.append(restored)
        return heads
