"""Dictionary word segmentation for scripts written without spaces (Thai, Lao, Khmer, Burmese,
Chinese, Japanese).

A run of such characters is cut into words by ICU's word break iterator, the
engine behind Lucene's ICU tokenizer: one library, with the dictionaries ICU
ships, for every one of these scripts; no download, no model to load.  Words
the dictionary does not know come out as short pieces (single Han characters
for an unknown name); consecutive single characters are indexed as their
bigrams as well, so a name the dictionary lacks is still found as a phrase of
bigrams.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

Segmenter = Callable[[str], list[str]]


class IcuSegmenter:
    """ICU's word break iterator over one run of unspaced script; one iterator per thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, run: str) -> list[str]:
        it = getattr(self._local, "it", None)
        if it is None:
            import icu  # local: only texts in these scripts need it

            it = self._local.it = icu.BreakIterator.createWordInstance(icu.Locale.getRoot())
        it.setText(run)
        bounds = [0, *it]
        if any(c > "\uffff" for c in run):  # ICU counts UTF-16 units: map them to characters
            units, index = 0, {0: 0}
            for i, c in enumerate(run):
                units += 2 if c > "\uffff" else 1
                index[units] = i + 1
            bounds = [index[b] for b in bounds]
        return [run[a:b] for a, b in zip(bounds, bounds[1:])]


_SEGMENTER = IcuSegmenter()


def segment(run: str) -> list[str]:
    """The words of a run of unspaced script, in order, together exactly the run."""
    return _SEGMENTER(run)
