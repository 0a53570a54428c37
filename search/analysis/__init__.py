"""Text analysis: one Whoosh pipeline per language, built from small filters.

Read a chain left to right: ``WordTokenizer() | LowercaseFilter() | ...``.
The same chain runs at index and at query time; only decompounding is
index-only (``mode="index"``), so a query word matches a compound's part
without the query itself being split.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator

import Stemmer
from whoosh.analysis import Composable, Filter, LowercaseFilter, Token, Tokenizer
from whoosh.lang.stopwords import stoplists

from search.analysis.decompound import Splitter

#: ISO 639-1 code -> PyStemmer (Snowball) algorithm.
SNOWBALL = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech",
    "da": "danish", "nl": "dutch", "en": "english", "eo": "esperanto", "et": "estonian",
    "fi": "finnish", "fr": "french", "de": "german", "el": "greek", "hi": "hindi",
    "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian",
    "lt": "lithuanian", "ne": "nepali", "no": "norwegian", "fa": "persian",
    "pl": "polish", "pt": "portuguese", "ro": "romanian", "ru": "russian",
    "sr": "serbian", "es": "spanish", "sv": "swedish", "ta": "tamil", "tr": "turkish",
}
#: Scripts written without spaces: indexed as overlapping character bigrams.
BIGRAM = ("zh", "ja", "th")
#: The language-neutral chain, for anything else.
NEUTRAL = "xx"
#: Surface words, only lower-cased (the ``exact`` field).
SURFACE = "surface"
LANGUAGES = tuple(SNOWBALL) + BIGRAM + (NEUTRAL,)

PART_BOOST = 0.3  # a compound part weighs less than a whole word
MAX_KNOWN_TERMS = 1_000_000  # words whose index term a chain remembers (~150 MB)
_WORD = re.compile(r"\w+(?:[-\u2010\u2011]\w+)*")
_PIECES = re.compile(r"[^-\u2010\u2011]+")
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_UMLAUTS = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})


class WordTokenizer(Tokenizer):
    """NFC first, then words with digits; ``Ukraine-Krieg`` yields the whole and its parts."""

    def __call__(self, value: str, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs) -> Iterator[Token]:
        value = unicodedata.normalize("NFC", value)
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for match in _WORD.finditer(value):
            word, start = match.group(), match.start()
            pieces = [(word, start)]
            if "-" in word or "\u2010" in word or "\u2011" in word:
                pieces += [(m.group(), start + m.start()) for m in re.finditer(r"[^-\u2010\u2011]+", word)]
            for i, (text, s) in enumerate(pieces):
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
    """Chinese, Japanese and Thai: overlapping character bigrams; spaced words stay words."""

    def __call__(self, value: str, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs) -> Iterator[Token]:
        value = unicodedata.normalize("NFC", value)
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for match in _WORD.finditer(value):
            for text, s in _bigrams(match.group(), match.start()):
                t.text, t.boost, t.stopped, t.part = text, 1.0, False, False
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar, t.endchar = start_char + s, start_char + s + len(text)
                pos += 1
                yield t


def _bigrams(word: str, start: int) -> Iterator[tuple[str, int]]:
    last = 0
    for run in _UNSPACED.finditer(word):
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


#: Question words and auxiliaries Whoosh's German list lacks; readers' questions are full of them.
EXTRA_STOPS = {"de": {"wer", "wen", "wem", "wessen", "wann", "warum", "weshalb", "wieso", "wozu", "wodurch",
                      "womit", "wofür", "woher", "wohin", "worauf", "woran", "wurde", "wurden", "worden",
                      "wurdest", "viele", "vielen", "gibt", "gab", "beim", "seit", "welch"}}


def stop_words(lang: str) -> frozenset[str]:
    return _STOPS.get(lang) or _STOPS.setdefault(lang, frozenset(stoplists.get(lang, ())) | EXTRA_STOPS.get(lang, set()))


_STOPS: dict[str, frozenset[str]] = {}


class StopFilter(Filter):
    """Drops stop words; renumbers positions so phrases match across them, keeping parts on their word's position."""

    def __init__(self, lang: str):
        self.lang = lang
        self.stops = stop_words(lang)

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        stops, pos, last = self.stops, -1, None
        for t in tokens:
            if t.text in stops:
                continue
            if t.positions:
                if t.pos != last:
                    pos, last = pos + 1, t.pos
                t.pos = pos
            yield t


class GermanFolder(Filter):
    """ä->a, ö->o, ü->u, ß->ss: "Praesident" aside, readers type umlauts or not."""

    @staticmethod
    def fold(text: str) -> str:
        return text.translate(_UMLAUTS)

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = t.text.translate(_UMLAUTS)
            yield t


class AccentFolder(Filter):
    """Strips combining marks: the neutral chain matches "café" with "cafe"."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = "".join(c for c in unicodedata.normalize("NFD", t.text) if not unicodedata.combining(c))
            yield t


class DecompoundFilter(Filter):
    """Index time only: after each compound, its parts at the same position, weighted ``PART_BOOST``."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            whole, is_part = t.text, t.part
            yield t  # later filters change t in place: read it before this line
            if t.mode == "query" or is_part:
                continue
            for part in splitter().split(whole):
                t.text, t.boost, t.part = part, PART_BOOST, True
                yield t


class SnowballFilter(Filter):
    """Snowball stemming through PyStemmer, whose C cache makes repeated words cheap."""

    def __init__(self, lang: str):
        self.lang = lang
        self._stemmer = None

    def __getstate__(self) -> dict:  # the schema is pickled; the C stemmer is not picklable
        return {"lang": self.lang, "_stemmer": None}

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        if self._stemmer is None:
            self._stemmer = Stemmer.Stemmer(SNOWBALL[self.lang], 100_000)
        stem = self._stemmer.stemWord
        for t in tokens:
            t.text = stem(t.text)
            yield t


def analyzer(lang: str) -> Composable:
    """The analysis chain for one language code (see ``LANGUAGES``)."""
    if lang == "de":
        return (WordTokenizer() | LowercaseFilter() | StopFilter("de") | DecompoundFilter()
                | GermanFolder() | SnowballFilter("de"))
    if lang in SNOWBALL:
        return WordTokenizer() | LowercaseFilter() | StopFilter(lang) | SnowballFilter(lang)
    if lang in BIGRAM:
        return BigramTokenizer() | LowercaseFilter()
    return WordTokenizer() | LowercaseFilter() | AccentFolder()


class FusedChain(Composable):
    """``analyzer(lang)`` for a Snowball language (or ``exact_analyzer()`` for ``SURFACE``), fused
    into one loop: the same tokens, faster.

    Whoosh runs a chain as nested generators, a Python frame per token per filter, and
    that was a third of indexing time.  Without character offsets (indexing, query terms)
    this does the chain's work in one pass and stems a text's words in one C call.
    ``tests/test_analysis.py`` checks that it yields exactly the chain's tokens; anything
    else (offsets for highlighting) goes to the chain itself.
    """

    def __init__(self, lang: str, splitter: Splitter | None = None):
        self.lang = lang
        self.splitter = splitter  # None: the process-wide one, which learns the corpus vocabulary
        self._chain: Composable | None = None
        self._stemmer = None
        self._terms: dict[str, str] = {}  # lower-case word -> index term

    def __getstate__(self) -> dict:  # pickled with the schema; the C stemmer is not picklable
        return {"lang": self.lang, "splitter": None, "_chain": None, "_stemmer": None, "_terms": {}}

    def __call__(self, value: str, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs) -> Iterator[Token]:
        if chars or keeporiginal or not removestops or not tokenize:
            if self._chain is None:
                self._chain = analyzer(self.lang) if self.lang != SURFACE else exact_analyzer()
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

    def postings(self, value: str, mode: str = "index") -> tuple[list[str], list[int], list[bool | None]]:
        """(terms, positions, part flags): the tokens without Token objects, for the schema's formats.
        A part flag is False for a word, True for a hyphen piece, None for a compound part (weighs
        ``PART_BOOST``)."""
        if self._stemmer is None and self.lang != SURFACE:
            self._stemmer = Stemmer.Stemmer(SNOWBALL[self.lang], 100_000)
        texts, poses, parts = self._words(value, mode)
        if self._stemmer is not None:
            texts = self._stemmer.stemWords(texts)
        return texts, poses, parts

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
        stops = self._stops()
        occurrences: dict[str, list[int]] = {}
        for pos, word in enumerate([w for w in _WORD.findall(low) if w not in stops]):
            seen = occurrences.get(word)  # a hyphenated word is never a stop word: every kept word is a position
            if seen is None:
                occurrences[word] = [pos]
            else:
                seen.append(pos)
        words = list(occurrences)
        tokens_after: dict[str, list[tuple[str, float]]] = {}  # word -> its hyphen pieces, then compound parts
        if "-" in low or "\u2010" in low or "\u2011" in low:
            for word in [w for w in words if "-" in w or "\u2010" in w or "\u2011" in w]:
                tokens_after[word] = [(p, 1.0) for p in _PIECES.findall(word) if p not in stops]
        if self.lang == "de" and mode != "query":
            for word, parts in self._splitter().compounds(words):
                tokens_after.setdefault(word, []).extend((p, PART_BOOST) for p in parts)
        extra = [(p, occurrences[w], boost) for w, more in tokens_after.items() for p, boost in more]
        surface = words + list({w: None for w, _, _ in extra if w not in occurrences})
        terms = self._index_terms(surface)
        term_of = dict(zip(surface, terms))
        poses = dict(zip(terms, occurrences.values()))
        weights: dict[str, float] = dict(zip(terms, map(len, occurrences.values())))
        if len(poses) < len(words):  # words that stem alike ("Impfung", "Impfungen") share a term
            shared = {t for t, n in Counter(terms[:len(words)]).items() if n > 1}
            for term in shared:
                del poses[term], weights[term]
            extra[:0] = [(w, occurrences[w], 1.0) for w, t in zip(words, terms) if t in shared]
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
            for word in words:
                first.append(term_of[word])
                if word in tokens_after:
                    first += [term_of[p] for p, _ in tokens_after[word]]
            order = dict.fromkeys(first)
        return poses, weights, order

    def char_tokens(self, value: str, start_char: int = 0) -> list[tuple[str, int, int]]:
        """(term, start, end) of every index-mode token, as the composed chain gives them with
        ``chars=True`` (a compound part spans its whole word): highlighting without a Python
        frame per token and filter."""
        stops, split = self._stops(), self._splitter().split if self.lang == "de" else None
        found: list[tuple[str, int, int]] = []
        for match in _WORD.finditer(unicodedata.normalize("NFC", value)):
            word, start = match.group(), start_char + match.start()
            pieces = [(word, start)]
            if "-" in word or "\u2010" in word or "\u2011" in word:
                pieces += [(m.group(), start + m.start()) for m in _PIECES.finditer(word)]
            for i, (piece, at) in enumerate(pieces):
                low = piece.lower()
                if low in stops:
                    continue
                found.append((low, at, at + len(piece)))
                if split is not None and i == 0:
                    found += [(part, at, at + len(piece)) for part in split(low)]
        term_of = self._term_map({low: None for low, _, _ in found})
        return [(term_of[low], s, e) for low, s, e in found]

    def match_spans(self, value: str, terms: set[str], start_char: int = 0) -> list[tuple[int, int]]:
        """Character spans of the tokens of ``char_tokens`` whose term is in ``terms`` (each
        distinct word looked at once, then only its occurrences are found)."""
        low = _lowered(value)
        if low is None:
            return [(s, e) for term, s, e in self.char_tokens(value, start_char) if term in terms]
        stops, split = self._stops(), self._splitter().split if self.lang == "de" else None
        tokens: list[tuple[str, str, int, int]] = []  # (word, token text, start, end within the word)
        for word in set(_WORD.findall(low)):
            if word not in stops:
                tokens.append((word, word, 0, len(word)))
                if split is not None:
                    tokens += [(word, part, 0, len(word)) for part in split(word)]
            if "-" in word or "\u2010" in word or "\u2011" in word:
                tokens += [(word, m.group(), m.start(), m.end()) for m in _PIECES.finditer(word) if m.group() not in stops]
        term_of = self._term_map({t[1]: None for t in tokens})
        marks: dict[str, set[tuple[int, int]]] = {}
        for word, token, s, e in tokens:
            if term_of[token] in terms:
                marks.setdefault(word, set()).add((s, e))
        if not marks:
            return []
        return [(start_char + m.start() + s, start_char + m.start() + e)
                for m in _WORD.finditer(low) if m.group() in marks for s, e in sorted(marks[m.group()])]

    def _stops(self) -> frozenset[str]:
        return stop_words(self.lang) if self.lang != SURFACE else frozenset()

    def _splitter(self) -> Splitter:
        return self.splitter or splitter()

    def _term_map(self, words) -> dict[str, str]:
        """Word -> index term for distinct ``words``."""
        words = list(words)
        return dict(zip(words, self._index_terms(words)))

    def _index_terms(self, words: list[str]) -> list[str]:
        """Folded (German) and stemmed; each word once per process (the stemmer's own cache costs
        a C call per word), the new ones in one C call."""
        if self.lang == SURFACE:
            return words
        known = self._terms
        new = [w for w in dict.fromkeys(words) if w not in known]
        if new:
            if self._stemmer is None:
                self._stemmer = Stemmer.Stemmer(SNOWBALL[self.lang], 100_000)
            if len(known) + len(new) > MAX_KNOWN_TERMS:
                known.clear()
            folded = [w.translate(_UMLAUTS) for w in new] if self.lang == "de" else new
            known.update(zip(new, self._stemmer.stemWords(folded)))
        return [known[w] for w in words]

    def _words(self, value: str, mode: str) -> tuple[list[str], list[int], list[bool | None]]:
        """Lower-cased words without stop words, then (German) compound parts and folding."""
        stops = self._stops()
        german = self.lang == "de"
        split = self._splitter().split if german and mode != "query" else None
        texts: list[str] = []
        poses: list[int] = []
        parts: list[bool | None] = []
        pos = -1
        for word in _WORD.findall(unicodedata.normalize("NFC", value)):
            if "-" in word or "\u2010" in word or "\u2011" in word:
                pos = self._hyphenated(word, pos, stops, split, texts, poses, parts)
                continue
            text = word.lower()
            if text in stops:
                continue
            pos += 1
            texts.append(text)
            poses.append(pos)
            parts.append(False)
            if split is not None:
                for part in split(text):
                    texts.append(part)
                    poses.append(pos)
                    parts.append(None)
        if german:
            texts = [t.translate(_UMLAUTS) for t in texts]
        return texts, poses, parts

    @staticmethod
    def _hyphenated(word: str, pos: int, stops, split, texts: list, poses: list, parts: list) -> int:
        """A hyphenated word whole, then its pieces, at one position (StopFilter counts kept words)."""
        counted = False
        for i, piece in enumerate([word] + _PIECES.findall(word)):
            text = piece.lower()
            if text in stops:
                continue
            if not counted:
                pos, counted = pos + 1, True
            texts.append(text)
            poses.append(pos)
            parts.append(i > 0)
            if split is not None and i == 0:
                for part in split(text):
                    texts.append(part)
                    poses.append(pos)
                    parts.append(None)
        return pos


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
    counts = Counter(_WORD.findall(low))
    for word in [w for w in counts if "-" in w or "\u2010" in w or "\u2011" in w]:
        for piece in _PIECES.findall(word):  # a hyphenated word, then its pieces (FusedChain._hyphenated)
            counts[piece] += counts[word]
    return counts


def signature_counts(lang: str, text: str) -> Counter:
    """Index terms with their counts for same-story and related signatures: compound parts from
    the word list only, so they are the same in every process whatever corpus vocabulary the run
    has learned."""
    chain = _SIGNATURE_CHAINS.get(lang)
    if chain is None:
        if lang == "de":
            chain = FusedChain(lang, Splitter())
        else:
            chain = analyzer_for(lang)
        _SIGNATURE_CHAINS[lang] = chain
    if isinstance(chain, FusedChain):
        return chain.counts(text, mode="index")
    return Counter(t.text for t in chain(text, mode="index"))


_SIGNATURE_CHAINS: dict[str, Composable] = {}


def index_analyzer(lang: str) -> Composable:
    """What the schema indexes with: the fused chain where there is one."""
    return FusedChain(lang) if lang in SNOWBALL else analyzer(lang)


def surface_analyzer() -> Composable:
    """What the schema indexes ``exact`` with: ``exact_analyzer()``, fused."""
    return FusedChain(SURFACE)


def exact_analyzer() -> Composable:
    """Surface words, only lower-cased: exact-match boost, spelling and autocomplete."""
    return WordTokenizer() | LowercaseFilter()


def language_of(code: str | None) -> str:
    """The chain a document's language code selects."""
    code = (code or "").lower()[:2]
    return code if code in SNOWBALL or code in BIGRAM else NEUTRAL


# -- the decompounding vocabulary ---------------------------------------------
_SPLITTER: Splitter | None = None


def splitter() -> Splitter:
    """The process-wide splitter; the indexer feeds it the corpus vocabulary."""
    global _SPLITTER
    if _SPLITTER is None:
        _SPLITTER = Splitter()
    return _SPLITTER


def learn_words(words) -> None:
    """Add corpus words (lower-case surface forms) the splitter may split into."""
    splitter().add_words(words)


def learn_index_words(reader) -> None:
    """Teach the splitter an index's words (``exact``), each segment once per process: segments
    never change, and reading all their words again after every commit took seconds at 100,000
    articles."""
    learned = _LEARNED_SEGMENTS.setdefault(id(splitter()), set())
    for leaf, _ in reader.leaf_readers():
        segment = leaf.segment() if hasattr(leaf, "segment") else None
        key = segment.segment_id() if segment is not None else None
        if key is None or key not in learned:
            learn_words(t.decode("utf-8") for t in leaf.lexicon("exact"))
            if key is not None:
                learned.add(key)


_LEARNED_SEGMENTS: dict[int, set[str]] = {}  # per splitter object: segment ids whose words it knows


def terms(lang: str, text: str, mode: str = "query") -> list[str]:
    """The index terms ``text`` becomes in language ``lang``."""
    return [t.text for t in analyzer_for(lang)(text, mode=mode)]


_CHAINS: dict[str, Composable] = {}


def analyzer_for(lang: str) -> Composable:
    """Cached chain per language (building one loads a stemmer)."""
    chain = _CHAINS.get(lang)
    if chain is None:
        chain = _CHAINS[lang] = index_analyzer(lang)
    return chain
