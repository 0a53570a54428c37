"""Snippets with the matched words marked.

A mark means "this word matched the query": a word is marked when one of its
index terms, analysed with the document's own chain in index mode, is one of
the query's *whole-word* terms (``Marks.terms``) or when it is one of the
query's surface words (``Marks.surfaces``).  Index mode includes a compound's
parts, so "Sicherheitsgarantien" lights up for the query "Garantie"; the
query's own compound parts are never marks, so "Impfzentrum" does not light
up "Impfstoff".

Re-analysing every word of every hit was most of a results page's cost.
Instead each query term gives a short *probe* (its first characters, tolerant
of umlauts and ß), one regular expression finds the few places a probe
occurs, and only the words around those places are analysed, each once per
query.  Everything is HTML-escaped except the ``<mark>`` tags; a body without a
marked word shows its lead.
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from html import escape as _html_escape

from search import analysis

FRAGMENT_CHARS = 220
MAX_FRAGMENTS = 2
SCAN_CHARS = 10000  # snippets come from the start of long bodies
LEAD_CHARS = 2500   # where most snippets are found: the rest is scanned only when this has too few marks
PROBE_CHARS = 4
_HYPHENS = "-\u2010\u2011"
_PIECE = re.compile(r"[^\-\u2010\u2011]+")
_HYPHENATED = re.compile(r"\w[\-\u2010\u2011]\w")
_IN_WORD = re.compile(rf"[\w\-\u2010\u2011{analysis.MARKS}]*")  # combining marks belong to their word
_LONGEST_WORD = 64
_UMLAUT_OF = {"a": "ä", "o": "ö", "u": "ü"}
_NOT, _WHOLE, _UNSPACED, _PIECES = range(4)  # how a word is marked (``Marks.kind``)


MAX_ANALYSED = 200_000  # words whose index terms a ``WordTerms`` keeps before it starts afresh


class WordTerms(dict):
    """Index terms of words of the text as the index analysed them, shared by the searches of one commit (the
    vocabulary that splits compounds is the commit's): a word of a page is analysed once, not per query."""

    def of(self, lang: str, word: str, mode: str) -> tuple[str, ...]:
        key = (mode, lang, word)
        found = self.get(key)
        if found is None:
            found = tuple(analysis.terms(lang, word, mode=mode) if mode == "index" else analysis.terms(lang, word)[:1])
            if len(self) >= MAX_ANALYSED:
                self.clear()
            self[key] = found
        return found


@dataclass
class Marks:
    """What a query marks: whole-word index terms (any language) and surface words; remembers per word."""

    terms: set[str] = field(default_factory=set)
    surfaces: set[str] = field(default_factory=set)
    analysed: WordTerms = field(default_factory=WordTerms)
    _decided: dict[tuple[str, ...], bool] = field(default_factory=dict)  # (lang, word), ("whole", lang, word)
    _probes: list[str] | None = None
    _kinds: dict[str, dict[str, int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.terms or self.surfaces)

    def probes(self) -> list[str]:
        """Each term's first characters, lower-case, in every spelling folding may have removed."""
        if self._probes is None:
            self._probes = sorted({v for t in self.terms | self.surfaces if t
                                   for v in _spellings(_fold(t)[:PROBE_CHARS + 1])})
        return self._probes

    def whole(self, lang: str, word: str) -> bool:
        """Whether ``word`` matches as a whole word (not only through a hyphen piece or compound part)."""
        key = ("whole", lang, word)
        known = self._decided.get(key)
        if known is None:
            known = word.lower() in self.surfaces or any(t in self.terms for t in self.analysed.of(lang, word, "query"))
            self._decided[key] = known
        return known

    def matches(self, lang: str, word: str) -> bool:
        """Whether ``word`` (one piece of text without hyphens, or a hyphenated word) is marked."""
        key = (lang, word)
        known = self._decided.get(key)
        if known is None:
            low = word.lower()
            known = low in self.surfaces or any(t in self.terms for t in self.analysed.of(lang, word, "index"))
            self._decided[key] = known
        return known

    def kinds(self, lang: str) -> dict[str, int]:
        """How each word of ``lang`` seen so far is marked (``kind``), by word."""
        return self._kinds.setdefault(lang, {})

    def kind(self, lang: str, word: str) -> int:
        """Not at all, whole, word by word (a run without spaces) or piece by piece (a hyphenated word
        marked through a piece only); remembered."""
        if not self.matches(lang, word):
            kind = _NOT
        elif analysis.UNSPACED_SCRIPT.search(word):
            kind = _UNSPACED
        elif _HYPHENATED.search(word) and not self.whole(lang, word):
            kind = _PIECES
        else:
            kind = _WHOLE
        self.kinds(lang)[word] = kind
        return kind


def _spellings(head: str) -> list[str]:
    """The first ``PROBE_CHARS`` characters of a folded term as the text may spell them ("koln": "köln" too;
    "ss": "ß" too)."""
    head = head.lower()
    variants = [("", 0)]
    out = set()
    while variants:
        text, i = variants.pop()
        if len(text) >= PROBE_CHARS or i >= len(head):
            if text:
                out.add(text[:PROBE_CHARS] if not text.endswith("ß") or len(text) <= PROBE_CHARS else text)
            continue
        if head.startswith("ss", i):
            variants += [(text + "ss", i + 2), (text + "ß", i + 2)]
            continue
        variants.append((text + head[i], i + 1))
        if head[i] in _UMLAUT_OF:
            variants.append((text + _UMLAUT_OF[head[i]], i + 1))
    return sorted(out)


def spans(text: str, lang: str, marks: Marks) -> list[tuple[int, int]]:
    """Merged character spans of the marked words of ``text``."""
    if not marks:
        return []
    low = text.lower()
    if len(low) != len(text):  # "İ" lower-cases to two characters: find the probes case by case
        low = "".join(c.lower()[:1] or c for c in text)
    if lang != "de" and not low.isascii():  # German umlauts are the probes' spellings: no folding needed
        low = _fold(low)
    places = []
    for probe in marks.probes():
        at = low.find(probe)
        while at >= 0:
            places.append(at)
            at = low.find(probe, at + 1)
    places.sort()
    found: list[tuple[int, int]] = []
    done = -1
    kinds = marks.kinds(lang)
    in_word = _IN_WORD.match
    for place in places:  # a page's hits hold a few dozen: _word_around and the decision inlined
        if place < done:
            continue  # another probe inside a word already looked at
        if place and _in_word_char(text[place - 1]):
            before = text[place - _LONGEST_WORD if place > _LONGEST_WORD else 0:place][::-1]
            back = in_word(before)
            assert back is not None  # the pattern matches the empty string
            start = place - back.end()
        else:  # most probes start their word
            start = place
        ahead = in_word(text, place + 1)
        assert ahead is not None
        end = ahead.end()
        while start < end and text[start] in _HYPHENS:
            start += 1
        while end > start and text[end - 1] in _HYPHENS:
            end -= 1
        done = end
        word = text[start:end]
        kind = kinds.get(word)
        if kind is None:
            kind = marks.kind(lang, word)
        if kind == _WHOLE:
            found.append((start, end))
        elif kind == _UNSPACED:  # a run without spaces: only its matching words
            found += [(start + at, start + at + len(piece)) for piece, at in analysis.word_spans(word)
                      if marks.matches(lang, piece)]
        elif kind == _PIECES:  # "Rhein-Hochwasser": the piece
            found += [(start + m.start(), start + m.end()) for m in _PIECE.finditer(word)
                      if marks.matches(lang, m.group())]
    found.sort()
    merged: list[tuple[int, int]] = []
    for s, e in found:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _in_word_char(char: str) -> bool:
    """Whether ``_IN_WORD`` takes ``char`` (``\\w`` is what ``str.isalnum`` accepts, and the underscore)."""
    return (char.isalnum() or char == "_" or char in _HYPHENS
            or (ord(char) < 0x10000 and unicodedata.category(char)[0] == "M"))  # analysis.MARKS


def _fold(text: str) -> str:
    """Lower-case ``text`` with accents dropped character by character, so offsets stay those of the
    text: Greek, Spanish or Vietnamese terms (stems without accents) are then substrings of it."""
    return text.translate(_BASE_LETTER)


class _BaseLetters(dict):
    """``str.translate`` table: a character to its letter without accents (NFD's first character),
    ς to σ; learnt per character on first sight."""

    def __missing__(self, code: int) -> int:
        char = chr(code)
        base = unicodedata.normalize("NFD", char)[:1]
        self[code] = ord("σ") if char == "ς" else ord(base) if base and base != char else code
        return self[code]


_BASE_LETTER = _BaseLetters()


def _word_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The word (hyphenated words whole, hyphens at its ends left out) around ``text[start:end]``."""
    before = text[max(0, start - _LONGEST_WORD):start][::-1]  # a regular expression runs forwards only
    back, ahead = _IN_WORD.match(before), _IN_WORD.match(text, end)
    assert back is not None and ahead is not None  # the pattern matches the empty string
    start -= back.end()
    end = ahead.end()
    while start < end and text[start] in _HYPHENS:
        start += 1
    while end > start and text[end - 1] in _HYPHENS:
        end -= 1
    return start, end


def escape(text: str) -> str:
    """``html.escape``, without its five replacements for the many pieces of text that need none."""
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return _html_escape(text)
    return text


def mark(text: str, marks: list[tuple[int, int]], start: int = 0, end: int | None = None) -> str:
    end = len(text) if end is None else end
    out, pos = [], start
    for s, e in marks:  # ascending, never overlapping
        if e <= start:
            continue
        if s >= end:
            break
        out.append(escape(text[pos:s]))
        out.append(f"<mark>{escape(text[s:e])}</mark>")
        pos = e
    out.append(escape(text[pos:end]))
    return "".join(out)


def fragments(text: str, marks: list[tuple[int, int]], size: int = FRAGMENT_CHARS,
              limit: int = MAX_FRAGMENTS) -> list[str]:
    """Up to ``limit`` windows of ``text`` with the most marks, in text order; the lead when nothing is marked."""
    if not text.strip():
        return []
    if not marks:
        return [_window(text, [], 0, _end(text, 0, size))]
    windows = []
    starts, ends = [a for a, _ in marks], [b for _, b in marks]  # ascending both: marks never overlap
    rfind, length, before = text.rfind, len(text), size // 3
    for s in starts:  # a window around each mark (``_end`` inlined: a hit has a dozen marks)
        lo = rfind(" ", 0, s - before) + 1 if s > before else 0
        hi = lo + size
        if hi < length:
            cut = rfind(" ", lo, hi)
            if cut > lo:
                hi = cut
        else:
            hi = length
        count = bisect_right(ends, hi) - bisect_left(starts, lo)  # the marks inside [lo, hi]
        windows.append((-count if count > 0 else 0, lo, hi))
    windows.sort()  # most marks first, then the earliest (equal starts have equal ends)
    chosen: list[tuple[int, int]] = []
    for _, lo, hi in windows:
        if all(hi <= a or lo >= b for a, b in chosen):
            chosen.append((lo, hi))
        if len(chosen) == limit:
            break
    return [_window(text, marks, lo, hi) for lo, hi in sorted(chosen)]


def _end(text: str, lo: int, size: int) -> int:
    hi = min(len(text), lo + size)
    if hi < len(text):
        cut = text.rfind(" ", lo, hi)
        hi = cut if cut > lo else hi
    return hi


def _window(text: str, marks: list[tuple[int, int]], lo: int, hi: int) -> str:
    frag = mark(text, marks, lo, hi).replace("\n\n", " ¶ ").replace("\n", " ")
    return ("…" if lo > 0 else "") + frag + ("…" if hi < len(text) else "")


def highlight(doc: dict, marks: Marks) -> dict[str, list[str]]:
    """The title (when a word of it matched) and up to two body fragments, marked."""
    lang = analysis.language_of(doc.get("language"))
    title = doc.get("title") or ""
    body = (doc.get("body") or "")[:SCAN_CHARS]
    title_marks = spans(title, lang, marks)
    body_marks = spans(body[:LEAD_CHARS], lang, marks)
    if len(body_marks) < MAX_FRAGMENTS and len(body) > LEAD_CHARS:  # look further only when the lead lacks marks
        cut = body.rfind(" ", 0, LEAD_CHARS) + 1 or LEAD_CHARS
        body_marks = ([m for m in body_marks if m[1] <= cut]
                      + [(s + cut, e + cut) for s, e in spans(body[cut:], lang, marks)])
    return {
        "title": [mark(title, title_marks)] if title_marks else [],
        "body": fragments(body, body_marks),
    }
