"""The decompounding vocabulary: which words a German compound may split into.

A ``Vocabulary`` is an object handed to the chains that decompound, so what a
word's terms are depends on the vocabulary it was analysed with, never on what
else the process happened to read.  ``Vocabulary.word_list()`` knows only the
word list ``wordfreq`` ships (the same in every process: story signatures use
it); an index's vocabulary learns the index's words as well, segment by
segment, each once (the backend reads them; ``learned_segments`` records which).
"""
from __future__ import annotations

from collections.abc import Iterable

from search.analysis.decompound import Splitter


class Vocabulary:
    """Corpus words plus the word list, and the splitter that reads them."""

    def __init__(self, corpus_words: Iterable[str] = (), *, splitter: Splitter | None = None):
        self.splitter = splitter if splitter is not None else Splitter(corpus_words)
        self._segments: set[str] = set()  # ids of index segments whose words are learned

    @classmethod
    def word_list(cls) -> Vocabulary:
        """A vocabulary of the word list alone (learn nothing into it)."""
        return cls()

    def learn(self, words: Iterable[str]) -> None:
        """Add corpus words (lower-case surface forms) compounds may split into."""
        self.splitter.add_words(words)

    @property
    def learned_segments(self) -> set[str]:
        """Ids of the index segments whose words are learned; a learner that reads a segment adds its id,
        so each segment is read once per process whoever reads it."""
        return self._segments

    def split(self, word: str) -> tuple[str, ...]:
        """A lower-case word's compound parts (empty when it stays whole)."""
        return self.splitter.split(word)


_DEFAULT: Vocabulary | None = None


def default_vocabulary() -> Vocabulary:
    """The process's shared vocabulary, for callers that pass none (``learn_words`` and
    ``learn_index_words`` feed it).  Pass a ``Vocabulary`` of your own for terms that depend only
    on what you taught it."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Vocabulary()
    return _DEFAULT
