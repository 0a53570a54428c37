"""The reader's query language, parsed tolerantly into a small tree.

Grammar (informal): ``or := and (OR|ODER and)*``; ``and := unary+`` where
juxtaposed clauses are "should", ``AND``/``UND`` and ``+`` make them
"must", ``NOT``/``NICHT`` and ``-`` "must not"; ``unary := ( or ) | "phrase"
| field:value | word | word* | word~``.  Whatever does not fit (stray
quotes, parentheses, colons, lone operators, control characters) is read as
plain words: parsing never raises.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from search.analysis.tokenize import MARKS
from search.contract import MAX_QUERY_CHARS

MAX_EXPANDING = 3  # fuzzy and wildcard words scan the vocabulary: a few per query
MAX_DEPTH = 16     # parentheses nested deeper are read as plain words
MAX_WORDS = 32     # words searched per query: each is looked up in every field of every candidate language

FIELDS = {
    "titel": "title", "title": "title", "ort": "location", "location": "location",
    "quelle": "source", "source": "source", "kategorie": "category", "category": "category",
    "sprache": "language", "lang": "language", "language": "language", "datum": "date", "date": "date",
}
OPERATORS = {"AND": "AND", "UND": "AND", "OR": "OR", "ODER": "OR", "NOT": "NOT", "NICHT": "NOT"}


@dataclass
class Word:
    text: str
    field: str | None = None
    wildcard: bool = False
    fuzzy: int = 0


@dataclass
class Phrase:
    words: list[str]
    field: str | None = None


@dataclass
class Clause:
    node: object
    occur: str = "should"  # should | must | not


@dataclass
class Group:
    clauses: list[Clause] = field(default_factory=list)


@dataclass
class AnyOf:
    options: list[object]


_TOKEN = re.compile(
    r'''(?P<field>[A-Za-zÄÖÜäöü]+):(?=\S)        # field prefix, value follows
      | (?P<quote>"[^"]*")                       # a closed phrase
      | (?P<paren>[()])
      | (?P<mod>[+-])(?=[\w"(])                  # + or - glued to what follows
      | (?P<word>[^\s()"]+)''', re.VERBOSE)


def clean(text: str) -> tuple[str, list[str]]:
    """Control characters out, NFC, length capped; notes say what changed."""
    notes = []
    text = unicodedata.normalize("NFC", text or "")
    text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        notes.append(f"query cut to its first {MAX_QUERY_CHARS} characters")
    return text.strip(), notes


def tokenize(text: str) -> list[tuple[str, str]]:
    if text.count('"') % 2:  # unbalanced quote: drop the last one
        i = text.rfind('"')
        text = text[:i] + " " + text[i + 1:]
    if text.count("(") != text.count(")"):
        text = text.replace("(", " ").replace(")", " ")
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        assert kind is not None  # every alternative is a named group
        out.append((kind, m.group(kind)))
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens, self.i = tokens, 0
        self.depth = 0
        self.too_deep = False

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse_or(self) -> object:
        options: list[object] = [self.parse_and()]
        while (tok := self.peek()) is not None and tok[0] == "word" and OPERATORS.get(tok[1]) == "OR":
            self.take()
            options.append(self.parse_and())
        options = [o for o in options if not (isinstance(o, Group) and not o.clauses)]
        if len(options) == 1:
            return options[0]
        return AnyOf(options) if options else Group()

    def parse_and(self) -> Group:
        group, pending, must_next = Group(), None, False
        while (tok := self.peek()) is not None:
            kind, value = tok
            op = OPERATORS.get(value) if kind == "word" else None
            if op == "OR" or (kind == "paren" and value == ")"):
                break
            self.take()
            if op == "AND":
                if group.clauses and group.clauses[-1].occur == "should":
                    group.clauses[-1].occur = "must"
                must_next = True
                continue
            if op == "NOT":
                pending = "not"
                continue
            if kind == "mod":
                pending = "must" if value == "+" else "not"
                continue
            node = self.parse_unit(kind, value)
            if node is None:
                continue
            occur = pending or ("must" if must_next else "should")
            group.clauses.append(Clause(node, occur))
            pending, must_next = None, False
        return group

    def parse_unit(self, kind: str, value: str) -> object | None:
        if kind == "paren":
            if value == "(":
                if self.depth >= MAX_DEPTH:
                    self.too_deep = True
                    return None
                self.depth += 1
                inner = self.parse_or()
                self.depth -= 1
                if self.peek() == ("paren", ")"):
                    self.take()
                return inner
            return None
        if kind == "quote":
            words = value.strip('"').split()
            return Phrase(words) if words else None
        if kind == "field":
            name = FIELDS.get(value.lower())
            nxt = self.peek()
            if nxt is None:
                return _word(value)
            if name is None:  # "foo:bar" with an unknown field: both are words
                return _word(value)
            nkind, nvalue = self.take()
            if nkind == "quote":
                return Phrase(nvalue.strip('"').split(), name)
            if nkind in ("word", "field"):
                text = nvalue if nkind == "word" else nvalue + ":"
                return _word(text, name)
            return None
        return _word(value)


_EDGE = re.compile(rf"^[^\w*~<>=.]+|[^\w{MARKS}*~.]+$")  # a word may end in a mark: "की", "ไม่"


def _word(text: str, field: str | None = None) -> Word | None:
    if field not in ("date", "source", "language"):
        text = _EDGE.sub("", text)
        text = text.replace(":", " ").strip()
        if not text:
            return None
    wildcard, fuzzy = False, 0
    if text.endswith("*") and len(text.rstrip("*")) >= 2 and field != "date":
        text, wildcard = text.rstrip("*"), True
    elif (m := re.fullmatch(r"(.+?)~([12])?", text)) and field != "date":
        text, fuzzy = m.group(1), int(m.group(2) or 1) + (1 if len(m.group(1)) > 6 and not m.group(2) else 0)
    text = text.strip("*~") if field != "date" else text
    if not text:
        return None
    return Word(text, field, wildcard, fuzzy)


def parse(text: str) -> tuple[object, list[str]]:
    """(query tree, notes). Empty text gives an empty Group: match everything."""
    text, notes = clean(text)
    if not text:
        return Group(), notes
    parser = _Parser(tokenize(text))
    tree = parser.parse_or()
    if parser.too_deep:
        notes.append(f"parentheses nested deeper than {MAX_DEPTH} levels were ignored")
    if isinstance(tree, Group) and not tree.clauses and re.search(r"\w", text):
        # Only operators and punctuation ("AND", "OR OR", "-"): search the words themselves.
        tree = Group([Clause(Word(w)) for w in re.findall(r"\w+", text)])
    _limit_words(tree, notes)
    _limit_expansions(tree, notes)
    return tree, notes


def _words(node: object):
    if isinstance(node, Word):
        yield node
    elif isinstance(node, Clause):
        yield from _words(node.node)
    elif isinstance(node, Group):
        for c in node.clauses:
            yield from _words(c)
    elif isinstance(node, AnyOf):
        for o in node.options:
            yield from _words(o)


def _limit_words(tree: object, notes: list[str]) -> None:
    """Past ``MAX_WORDS`` words (phrase words count), the rest of the query is left out."""
    count = 0

    def keep(node: object) -> bool:
        nonlocal count
        if isinstance(node, Word):
            count += 1
            return count <= MAX_WORDS
        if isinstance(node, Phrase):
            count += len(node.words)
            return count <= MAX_WORDS
        if isinstance(node, Clause):
            return keep(node.node)
        if isinstance(node, Group):
            node.clauses = [c for c in node.clauses if keep(c)]
            return bool(node.clauses)
        if isinstance(node, AnyOf):
            node.options = [o for o in node.options if keep(o)]
            return bool(node.options)
        return True
    keep(tree)
    if count > MAX_WORDS:
        notes.append(f"only the first {MAX_WORDS} words of the query were searched")


def _limit_expansions(tree: object, notes: list[str]) -> None:
    """Past ``MAX_EXPANDING`` fuzzy or wildcard words, the rest are searched as typed."""
    expanding = [w for w in _words(tree) if w.fuzzy or w.wildcard]
    for w in expanding[MAX_EXPANDING:]:
        w.fuzzy, w.wildcard = 0, False
    if len(expanding) > MAX_EXPANDING:
        notes.append(f"only the first {MAX_EXPANDING} fuzzy or wildcard words are expanded")


def plain_words(node: object) -> list[Word]:
    """The free-text words of a tree (for suggestions and highlighting)."""
    if isinstance(node, Word):
        return [node] if node.field is None else []
    if isinstance(node, Phrase):
        return [Word(w) for w in node.words] if node.field is None else []
    if isinstance(node, Clause):
        return plain_words(node.node) if node.occur != "not" else []
    if isinstance(node, Group):
        return [w for c in node.clauses for w in plain_words(c)]
    if isinstance(node, AnyOf):
        return [w for o in node.options for w in plain_words(o)]
    return []


#: The name ``unparse`` writes for each field (the parser reads these and the German ones).
FIELD_NAMES = {"title": "title", "location": "location", "source": "source", "category": "category",
               "language": "language", "date": "date"}
_OCCUR = {"should": "", "must": "+", "not": "-"}


def unparse(node: object) -> str:
    """The query text of a tree: ``parse(unparse(tree))`` gives the tree back (``tests/test_query_properties``)."""
    if isinstance(node, Word):
        prefix = f"{FIELD_NAMES[node.field]}:" if node.field else ""
        suffix = "*" if node.wildcard else (f"~{node.fuzzy}" if node.fuzzy else "")
        return prefix + node.text + suffix
    if isinstance(node, Phrase):
        prefix = f"{FIELD_NAMES[node.field]}:" if node.field else ""
        return f'{prefix}"{" ".join(node.words)}"'
    if isinstance(node, Clause):
        inner = node.node
        text = unparse(inner)
        if isinstance(inner, (Group, AnyOf)):
            text = f"({text})"
        return _OCCUR[node.occur] + text
    if isinstance(node, Group):
        return " ".join(unparse(c) for c in node.clauses)
    if isinstance(node, AnyOf):  # an option runs to the next OR
        return " OR ".join(unparse(o) for o in node.options)
    raise TypeError(f"not a query tree node: {node!r}")
