"""The fused fast path: a chain's work in one loop, for indexing, queries and highlighting.

Whoosh runs a chain as nested generators, a Python frame per token per filter,
and that was a third of indexing time.  ``FusedChain`` reads the steps of the
composed chain (``chains.analyzer``: stop words, decompounding, folding,
stemming), and without character offsets does their work in one pass over the
words of ``tokenize``, stemming a text's words in one C call; with offsets
(``chars=True``) it hands over to the composed chain.  Tests check that both
yield exactly the same tokens for arbitrary text in every script.
"""
from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

import Stemmer
from whoosh.analysis import Composable, Token

from search.analysis.chains import analyzer, exact_analyzer
from search.analysis.decompound import Splitter
from search.analysis.filters import DecompoundFilter, SnowballFilter, StopFilter
from search.analysis.languages import PART_BOOST, SNOWBALL, SURFACE
from search.analysis.tokenize import has_hyphen, hyphen_pieces, pieces_of, word_spans, words
from search.analysis.vocabulary import Vocabulary, default_vocabulary

MAX_KNOWN_TERMS = 1_000_000  # words whose index term a chain remembers (~150 MB)

#: (lower-case token text, position, part flag, start, end): a part flag is False for a word, True
#: for a hyphen piece, None for a compound part (weighs ``PART_BOOST``).
RawToken = tuple[str, int, "bool | None", int, int]


class FusedChain(Composable):
    """``analyzer(lang)`` (or ``exact_analyzer()`` for ``SURFACE``) fused into one loop: the same
    tokens, faster.  Decompounding reads ``vocabulary`` (None: the process's shared one)."""

    #: Pickled with the schema: 2 since words keep their combining marks, unspaced scripts are
    #: segmented and every language has stop words; 3 since German joins Latin and Greek plurals
    #: (``plurals``); indexes before 2 pickled no version.  ``analysis.stale_fields`` reads it.
    VERSION = 3

    def __init__(self, lang: str, vocabulary: Vocabulary | Splitter | None = None):
        if isinstance(vocabulary, Splitter):
            vocabulary = Vocabulary(splitter=vocabulary)
        self.lang = lang
        self.vocabulary = vocabulary
        self._chain = analyzer(lang) if lang != SURFACE else exact_analyzer()
        self._stops: frozenset[str] = frozenset()
        self._decompound = False
        self._fold: Callable[[str], str] | None = None
        self._algorithm: str | None = None
        for step in self._chain.items[2:]:  # after WordTokenizer and LowercaseFilter
            if isinstance(step, StopFilter):
                self._stops = step.stops
            elif isinstance(step, DecompoundFilter):
                self._decompound = True
            elif isinstance(step, SnowballFilter):
                self._algorithm = SNOWBALL[step.lang]
            elif hasattr(step, "fold"):
                self._fold = step.fold
            else:  # pragma: no cover - a chain with a step this loop cannot do
                raise TypeError(f"FusedChain cannot fuse {type(step).__name__}")
        self._stemmer: Stemmer.Stemmer | None = None
        self._terms: dict[str, str] = {}  # lower-case word -> index term
        self.indexed_version = self.VERSION  # what the index it was unpickled from was written with

    def __getstate__(self) -> dict:  # pickled with the schema: only what it is
        return {"lang": self.lang, "version": self.VERSION}

    def __setstate__(self, state: dict) -> None:  # also the state older indexes pickled
        FusedChain.__init__(self, state["lang"])
        self.indexed_version = state.get("version", 1)

    def __call__(self, value: str, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs) -> Iterator[Token]:
        if chars or keeporiginal or not removestops or not tokenize:
            yield from self._chain(value, positions=positions, chars=chars, keeporiginal=keeporiginal,
                                   removestops=removestops, start_pos=start_pos, start_char=start_char,
                                   tokenize=tokenize, mode=mode, **kwargs)
            return
        texts, poses, parts = self.postings(value, mode)
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for text, pos, part in zip(texts, poses, parts):
            t.text, t.stopped, t.part = text, False, part is not False
            t.boost = PART_BOOST if part is None else 1.0
            if positions:
                t.pos = pos
            yield t

    # -- the token stream ------------------------------------------------------
    def _raw(self, value: str, mode: str, start_char: int = 0) -> list[RawToken]:
        """The chain's tokens before folding and stemming: lower-cased words without stop words,
        a hyphenated word whole and then its pieces at one position (StopFilter counts kept
        words), then a word's compound parts."""
        stops, split = self._stops, self._splitter(mode)
        out: list[RawToken] = []
        pos = -1
        for word, start in word_spans(unicodedata.normalize("NFC", value)):
            counted = False
            for i, (piece, at) in enumerate([(word, start), *hyphen_pieces(word, start)]):
                low = piece.lower()
                if low in stops:
                    continue
                if not counted:
                    pos, counted = pos + 1, True
                at += start_char
                out.append((low, pos, i > 0, at, at + len(piece)))
                if split is not None and i == 0:
                    out += [(part, pos, None, at, at + len(piece)) for part in split(low)]
        return out

    def postings(self, value: str, mode: str = "index") -> tuple[list[str], list[int], list[bool | None]]:
        """(terms, positions, part flags): the tokens without Token objects, for the schema's formats.
        A part flag is False for a word, True for a hyphen piece, None for a compound part (weighs
        ``PART_BOOST``)."""
        raw = self._raw(value, mode)
        return self._index_terms([r[0] for r in raw]), [r[1] for r in raw], [r[2] for r in raw]

    def char_tokens(self, value: str, start_char: int = 0) -> list[tuple[str, int, int]]:
        """(term, start, end) of every index-mode token, as the composed chain gives them with
        ``chars=True`` (a compound part spans its whole word): highlighting without a Python
        frame per token and filter."""
        raw = self._raw(value, "index", start_char)
        term_of = self._term_map({r[0]: None for r in raw})
        return [(term_of[low], s, e) for low, _, _, s, e in raw]

    # -- per distinct word -------------------------------------------------------
    def tally(self, value: str, mode: str = "index") -> tuple[dict[str, list[int]], dict[str, float]]:
        """(term -> positions, term -> summed weight): ``postings`` counted per term, in C where
        it can be (most words of a text occur once, so a step per word is most of the cost):
        whole words map to terms through dicts built by ``zip``; only hyphenated words, compound
        parts and words stemming alike take a Python step."""
        return self._tally(value, mode)[:2]

    def counts(self, value: str, mode: str = "index") -> Counter:
        """Term -> number of tokens, in the order the terms first occur as tokens (as counting
        ``postings`` gives them: signatures break ties between terms by that order)."""
        poses, _, order = self._tally(value, mode, ordered=True)
        return Counter({term: len(poses[term]) for term in order})

    def _tally(self, value: str, mode: str, ordered: bool = False
               ) -> tuple[dict[str, list[int]], dict[str, float], Iterable[str]]:
        """Falls back to ``postings`` where the text cannot be lower-cased as a whole (``_lowered``)."""
        low = _lowered(value)
        if low is None:
            poses, weights = _count_postings(*self.postings(value, mode))
            return poses, weights, poses.keys()
        stops = self._stops
        occurrences: dict[str, list[int]] = {}
        for pos, word in enumerate([w for w in words(low) if w not in stops]):
            seen = occurrences.get(word)  # a hyphenated word is never a stop word: every kept word is a position
            if seen is None:
                occurrences[word] = [pos]
            else:
                seen.append(pos)
        distinct = list(occurrences)
        tokens_after: dict[str, list[tuple[str, float]]] = {}  # word -> its hyphen pieces, then compound parts
        if has_hyphen(low):
            for word in [w for w in distinct if has_hyphen(w)]:
                tokens_after[word] = [(p, 1.0) for p in pieces_of(word) if p not in stops]
        if self._decompound and mode != "query":
            for word, parts in self._vocabulary().splitter.compounds(distinct):
                tokens_after.setdefault(word, []).extend((p, PART_BOOST) for p in parts)
        extra = [(p, occurrences[w], boost) for w, more in tokens_after.items() for p, boost in more]
        surface = distinct + list({w: None for w, _, _ in extra if w not in occurrences})
        terms = self._index_terms(surface)
        term_of = dict(zip(surface, terms))
        poses = dict(zip(terms, occurrences.values()))
        weights = dict(zip(terms, map(len, occurrences.values())))
        if len(poses) < len(distinct):  # words that stem alike ("Impfung", "Impfungen") share a term
            shared = {t for t, n in Counter(terms[:len(distinct)]).items() if n > 1}
            for term in shared:
                del poses[term], weights[term]
            extra[:0] = [(w, occurrences[w], 1.0) for w, t in zip(distinct, terms) if t in shared]
        merged = []
        for word, positions, boost in extra:
            term = term_of[word]
            if term in poses:
                poses[term] = poses[term] + positions
                weights[term] += boost * len(positions)
                merged.append(term)
            else:
                poses[term] = positions
                weights[term] = boost * len(positions)
        for term in merged:
            poses[term].sort()
        order: Iterable[str] = ()
        if ordered:
            first: list[str] = []
            for word in distinct:
                first.append(term_of[word])
                if word in tokens_after:
                    first += [term_of[p] for p, _ in tokens_after[word]]
            order = dict.fromkeys(first)
        return poses, weights, order

    def match_spans(self, value: str, terms: set[str], start_char: int = 0) -> list[tuple[int, int]]:
        """Character spans of the tokens of ``char_tokens`` whose term is in ``terms`` (each
        distinct word looked at once, then only its occurrences are found)."""
        low = _lowered(value)
        if low is None:
            return [(s, e) for term, s, e in self.char_tokens(value, start_char) if term in terms]
        stops, split = self._stops, self._splitter("index")
        tokens: list[tuple[str, str, int, int]] = []  # (word, token text, start, end within the word)
        for word in set(words(low)):
            if word not in stops:
                tokens.append((word, word, 0, len(word)))
                if split is not None:
                    tokens += [(word, part, 0, len(word)) for part in split(word)]
            tokens += [(word, p, s, s + len(p)) for p, s in hyphen_pieces(word) if p not in stops]
        term_of = self._term_map({t[1]: None for t in tokens})
        marks: dict[str, set[tuple[int, int]]] = {}
        for word, token, s, e in tokens:
            if term_of[token] in terms:
                marks.setdefault(word, set()).add((s, e))
        if not marks:
            return []
        return [(start_char + at + s, start_char + at + e)
                for word, at in word_spans(low) if word in marks for s, e in sorted(marks[word])]

    # -- steps -------------------------------------------------------------------
    def _vocabulary(self) -> Vocabulary:
        return self.vocabulary or default_vocabulary()

    def _splitter(self, mode: str) -> Callable[[str], tuple[str, ...]] | None:
        return self._vocabulary().split if self._decompound and mode != "query" else None

    def _term_map(self, words: Iterable[str]) -> dict[str, str]:
        """Word -> index term for distinct ``words``."""
        words = list(words)
        return dict(zip(words, self._index_terms(words)))

    def _index_terms(self, words: list[str]) -> list[str]:
        """Folded and stemmed; each word once per chain (the stemmer's own cache costs a C call per
        word), the new ones in one C call."""
        if self._fold is None and self._algorithm is None:
            return words
        known = self._terms
        new = list(set(words).difference(known))
        if new:
            if len(known) + len(new) > MAX_KNOWN_TERMS:
                known.clear()
            folded = list(map(self._fold, new)) if self._fold is not None else new
            if self._algorithm is not None:
                if self._stemmer is None:
                    self._stemmer = Stemmer.Stemmer(self._algorithm, 100_000)
                folded = self._stemmer.stemWords(folded)
            known.update(zip(new, folded))
        return list(map(known.__getitem__, words))


def _count_postings(texts: list[str], positions: list[int], parts: list[bool | None]
                    ) -> tuple[dict[str, list[int]], dict[str, float]]:
    poses: dict[str, list[int]] = {}
    weights: dict[str, float] = {}
    for text, pos, part in zip(texts, positions, parts):
        poses.setdefault(text, []).append(pos)
        weights[text] = weights.get(text, 0.0) + (PART_BOOST if part is None else 1.0)
    return poses, weights


def _lowered(value: str) -> str | None:
    """The NFC text lower-cased as a whole, or None where that could differ from lower-casing each
    word (a length change, as "İ" has; Greek capital sigma, whose final form depends on context)."""
    text = unicodedata.normalize("NFC", value)
    low = text.lower()
    return None if len(low) != len(text) or "\u03a3" in text else low


def surface_counts(value: str) -> Counter | None:
    """The surface chain's terms with their counts (``exact`` has no positions), lower-casing the
    whole text and counting in C instead of a Python step per word: a quarter of a document's
    analysis.  None where ``_lowered`` is."""
    low = _lowered(value)
    if low is None:
        return None
    counts = Counter(words(low))
    for word in [w for w in counts if has_hyphen(w)]:
        for piece in pieces_of(word):  # a hyphenated word, then its pieces
            counts[piece] += counts[word]
    return counts
