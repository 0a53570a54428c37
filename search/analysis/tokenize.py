"""The one tokenizer core: what a word is, in every script.

A word is a run of letters, digits and combining marks (Unicode Mn, Mc, Me:
Devanagari vowel signs and viramas, Thai vowels and tone marks, Arabic
harakat are part of their word), optionally hyphenated (``Ukraine-Krieg``,
``COVID-19``).  Python's ``\\w`` leaves combining marks out, which broke
"भारत" into "भ" and "रत".  The mark class covers the Basic Multilingual Plane:
the marks of Indic, Southeast Asian, Arabic, Hebrew and European scripts (a
class with the supplementary planes' marks too, such as Adlam's, is tested
range by range and made every text's tokenizing slower).

Runs of scripts written without spaces (Thai, Lao, Khmer, Burmese, Han,
kana) are cut into words by the dictionary segmenter (``segment.py``), only
those runs: text in other scripts is never handed to it.

Chains (``WordTokenizer``) and the fused fast path (``fused.FusedChain``) both
read words from here, so they cannot disagree about what a word is.
"""
from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterator

from whoosh.analysis import Token, Tokenizer

from search.analysis.segment import segment


def _marks() -> str:
    cat = unicodedata.category
    return "".join(re.escape(chr(c)) for c in range(0x10000) if cat(chr(c))[0] == "M")


MARKS = _marks()
#: A letter or digit, then letters, digits and marks (a mark after anything else, such as the
#: variation selector after an emoji, is no word).  With possessive repeats (Python 3.11: nothing
#: here is ever given back) the alternation is as fast as the ``\w+`` it replaces; a class that
#: mixes ``\w`` with 1,300 marks is tested range by range, 3x slower.
_ONCE = "+" if sys.version_info >= (3, 11) else ""
_RUN = rf"\w(?:\w|[{MARKS}])*{_ONCE}"
WORD = re.compile(rf"{_RUN}(?:[-\u2010\u2011]{_RUN})*{_ONCE}")
_PIECES = re.compile(r"[^-\u2010\u2011]+")
#: Scripts without spaces: Thai, Lao, Burmese, Khmer, the iteration marks 々〆〇, kana, Han (and
#: compatibility ideographs, half-width katakana, the supplementary planes' ideographs).
UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3005-\u3007\u3040-\u30ff\u3400-\u4dbf"
                      "\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f]+")


def has_hyphen(word: str) -> bool:
    """Whether a word is hyphenated (and so also yields its pieces)."""
    return "-" in word or "\u2010" in word or "\u2011" in word


def hyphen_pieces(word: str, start: int = 0) -> list[tuple[str, int]]:
    """(piece, start) of a hyphenated word's pieces; empty for any other word."""
    if not has_hyphen(word):
        return []
    return [(m.group(), start + m.start()) for m in _PIECES.finditer(word)]


def pieces_of(word: str) -> list[str]:
    """A hyphenated word's pieces (``hyphen_pieces`` without offsets)."""
    return _PIECES.findall(word)


def words(text: str) -> list[str]:
    """The words of ``text`` (already NFC), in order."""
    if UNSPACED.search(text) is None:
        return WORD.findall(text)
    return [w for w, _ in word_spans(text)]


def word_spans(text: str) -> list[tuple[str, int]]:
    """(word, start) of every word of ``text`` (already NFC), in order; a segmented word ends at
    ``start + len(word)`` like any other."""
    if UNSPACED.search(text) is None:
        return [(m.group(), m.start()) for m in WORD.finditer(text)]
    out: list[tuple[str, int]] = []
    for m in WORD.finditer(text):
        word = m.group()
        if UNSPACED.search(word) is None:
            out.append((word, m.start()))
        else:
            out += _mixed(word, m.start())
    return out


def _mixed(word: str, start: int) -> list[tuple[str, int]]:
    """A word with unspaced runs: the runs segmented, the rest words as usual (hyphens between a
    run and the rest only separate)."""
    out: list[tuple[str, int]] = []
    last = 0
    for run in UNSPACED.finditer(word):
        out += [(m.group(), start + m.start()) for m in WORD.finditer(word, last, run.start())]
        out += _segmented(run.group(), start + run.start())
        last = run.end()
    out += [(m.group(), start + m.start()) for m in WORD.finditer(word, last)]
    return out


def _segmented(run: str, start: int) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    singles: list[tuple[str, int]] = []
    at = start
    for piece in segment(run):
        if len(piece) == 1:
            singles.append((piece, at))
        else:
            out += _singles(singles)
            singles = []
            out.append((piece, at))
        at += len(piece)
    return out + _singles(singles)


def _singles(singles: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Consecutive one-character words (what a dictionary makes of a word it lacks) as bigrams."""
    if len(singles) < 2:
        return singles
    return [(a + b, s) for (a, s), (b, _) in zip(singles, singles[1:])]


class WordTokenizer(Tokenizer):
    """NFC first, then the words of ``word_spans``; ``Ukraine-Krieg`` yields the whole and its
    pieces at one position."""

    def __call__(self, value: str, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs) -> Iterator[Token]:
        value = unicodedata.normalize("NFC", value)
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for word, start in word_spans(value):
            for i, (text, s) in enumerate([(word, start), *hyphen_pieces(word, start)]):
                t.text, t.boost, t.stopped = text, 1.0, False
                t.original = text if keeporiginal else None
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar, t.endchar = start_char + s, start_char + s + len(text)
                t.part = i > 0
                yield t
            pos += 1


class BigramTokenizer(Tokenizer):
    """Overlapping character bigrams over unspaced scripts; spaced words stay words.  What
    Chinese, Japanese and Thai were indexed with before dictionary segmentation: indexes of that
    time name it in their pickled schema."""

    def __call__(self, value: str, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs) -> Iterator[Token]:
        value = unicodedata.normalize("NFC", value)
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for match in _OLD_WORD.finditer(value):
            for text, s in _old_bigrams(match.group(), match.start()):
                t.text, t.boost, t.stopped, t.part = text, 1.0, False, False
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar, t.endchar = start_char + s, start_char + s + len(text)
                pos += 1
                yield t


_OLD_WORD = re.compile(r"\w+(?:[-\u2010\u2011]\w+)*")
_OLD_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def _old_bigrams(word: str, start: int) -> Iterator[tuple[str, int]]:
    last = 0
    for run in _OLD_UNSPACED.finditer(word):
        if run.start() > last:
            yield word[last:run.start()], start + last
        chars = run.group()
        if len(chars) == 1:
            yield chars, start + run.start()
        for i in range(len(chars) - 1):
            yield chars[i:i + 2], start + run.start() + i
        last = run.end()
    if last < len(word):
        yield word[last:], start + last

