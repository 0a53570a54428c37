"""The OpenSearch index: settings, mappings and the document of one record.

Stichwort's analysis stays the analysis.  Text is indexed *pre-analysed*: each
text field (``t.title_de``, ``t.body_de``, ..., ``t.exact``, ``t.loc``) holds
Stichwort's terms, one token per position, separated by spaces and split by
the ``whitespace`` tokenizer; the terms that share a position (a hyphenated
word's pieces, a compound's parts) are joined by ``JOIN`` into one token that
the ``pattern_capture`` filter splits back into tokens at that one position.
So both backends match the same terms at the same positions, and phrases work.

Scoring is BM25 with the Whoosh backend's k1 and b, over the statistics
OpenSearch gathers across shards (``dfs_query_then_fetch``).  Lucene's idf is
``ln(1 + (N - df + 0.5) / (df + 0.5))`` where Whoosh's is ``ln(N / (df + 1)) + 1``
(a scripted similarity could use Whoosh's, but the minimal distribution has
no script engine): the searcher counts each query term's documents and
multiplies its boost by the ratio (``dsl.idf_factors``).  Field lengths: every
field is padded with filler tokens to the length both backends score
(``search.backend.norms``), and an empty one holds one filler token, since
Lucene averages a field's length over the documents that have it.  A compound
part weighs 3/10 of a word, as in Whoosh (``WHOLE_REPEAT``, ``PART_REPEAT``).

Each document holds ``seq``, the order it was added in (the writer counts on from
the index's largest): equal scores and dates are ordered by it, as Whoosh
orders them by document number, and it makes every sort total, which paging
with ``search_after`` needs.

The display record is stored once (``doc``, not indexed); keyword fields hold
the lower-cased filter values and the display values the facets count.  The
pre-analysed texts are left out of ``_source``: they are big and only needed
for matching.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from search import analysis
from search.analysis import FusedChain
from search.backend import norms
from search.backend.base import Record
from search.backend.norms import WHOLE_REPEAT
from search.index.fields import KEYWORD_FIELDS, LOCATION_WORDS, SURFACE_FIELD, TEXT_ROLES, text_field

JOIN = "\u0001"  # joins the terms of one position into one token (never part of a term)
FILLER = "\u0002"  # a token never searched: it pads fields to the length Whoosh scores
TEXT_PREFIX = "t."
#: Bumped when the documents this module writes change: an index written otherwise must be rebuilt.
FORMAT = 7  # 6: documents hold seq; 7: fields padded to the length both backends score
#: Whoosh weighs a compound part ``analysis.PART_BOOST`` (0.3) of a word in the word's field; Lucene's term
#: frequencies are whole numbers, so a word's term (and hyphen pieces) is indexed ``WHOLE_REPEAT`` times at
#: its position and a part ``PART_REPEAT`` times, and the text fields' BM25 takes ``k1`` times
#: ``WHOLE_REPEAT`` (``TEXT_K1``): BM25 of the scaled frequencies is then Whoosh's BM25 times the constant
#: ``TEXT_SCALE``, which the query DSL divides out.
PART_REPEAT = round(analysis.PART_BOOST * WHOLE_REPEAT)  # 3: a part weighs 3/10 of a word, as in Whoosh
_GROUP = 1000  # filler tokens joined into one (well below the tokenizer's max_token_length)
BM25_K1 = 1.2
BM25_B = 0.5  # as the Whoosh backend (search.backend.whoosh.searching)

#: OpenSearch's "BM25" keeps BM25's ``k1 + 1`` factor (Lucene's legacy form), as Whoosh does: nothing to scale.
SCORE_SCALE = 1.0
TEXT_K1 = BM25_K1 * WHOLE_REPEAT
TEXT_SCALE = (BM25_K1 + 1) / (TEXT_K1 + 1)


def os_id(doc_id: str) -> str:
    """The OpenSearch ``_id`` of an article: its id, or a digest of an id past OpenSearch's 512 bytes
    (the ``id`` field keeps it whole)."""
    if len(doc_id.encode("utf-8")) <= 512:
        return doc_id
    return "~sha256:" + hashlib.sha256(doc_id.encode("utf-8")).hexdigest()


def os_field(field: str) -> str:
    """Where a plan's field lives in the index: text fields under ``t.``, keyword fields as named."""
    if field in KEYWORD_FIELDS.values() and field != "source" or field in ("month", "day", "id", "src"):
        return field
    return TEXT_PREFIX + field


def text_fields(languages: Iterable[str]) -> list[str]:
    return [text_field(role, lang) for lang in languages for role in TEXT_ROLES]


def index_body(shards: int, replicas: int) -> dict[str, Any]:
    """Settings and mappings of a new index (every language's fields: a later run may add any)."""
    positional = {"type": "text", "analyzer": "stichwort_terms", "similarity": "stichwort", "norms": True}
    text = {name: {**positional, "similarity": "stichwort_text"} for name in text_fields(analysis.LANGUAGES)}
    text[LOCATION_WORDS] = dict(positional)
    text[SURFACE_FIELD] = {**positional, "index_options": "freqs"}
    text["source"] = {**positional, "index_options": "freqs"}
    keyword = {"type": "keyword"}
    return {
        "settings": {
            "number_of_shards": shards, "number_of_replicas": replicas,
            "refresh_interval": "-1",  # the writer refreshes at each commit: readers see whole batches
            "max_result_window": 1_000_100,  # search.contract: MAX_PAGE pages of MAX_SIZE hits
            # parts and hyphen pieces count towards a field's length, as in Whoosh (discount_overlaps off)
            "similarity": {"stichwort": {"type": "BM25", "k1": BM25_K1, "b": BM25_B, "discount_overlaps": False},
                           "stichwort_text": {"type": "BM25", "k1": TEXT_K1, "b": BM25_B, "discount_overlaps": False}},
            "analysis": {
                "tokenizer": {"stichwort_space": {"type": "whitespace", "max_token_length": 65536}},
                "filter": {"stichwort_positions": {"type": "pattern_capture", "preserve_original": False,
                                                   "patterns": [f"([^{JOIN}]+)"]}},
                "analyzer": {"stichwort_terms": {"type": "custom", "tokenizer": "stichwort_space",
                                                 "filter": ["stichwort_positions"]}},
            },
        },
        "mappings": {
            "dynamic": "strict",
            "_source": {"excludes": ["t", "words"]},
            "_meta": {"stichwort_format": FORMAT, "analysis_version": FusedChain.VERSION, "generation": 0},
            "properties": {
                "id": keyword, "src": keyword, "story": keyword, "language": keyword,
                "location": keyword, "location_col": keyword, "category": keyword, "category_col": keyword,
                "source_col": keyword, "month": keyword, "day": keyword, "seq": {"type": "long"},
                "date": {"type": "date", "format": "strict_date_optional_time"},
                "words": {"type": "keyword", "index": True},  # distinct surface words: suggestions
                "doc": {"type": "object", "enabled": False},
                "t": {"type": "object", "properties": text},
            },
        },
    }


def positional_text(chain: FusedChain, value: str, field: str) -> str:
    """``value``'s terms in ``chain``, one token per position (see the module docstring); in a per-language
    text field a word's term and its hyphen pieces ``WHOLE_REPEAT`` times, a compound part ``PART_REPEAT``
    times; padded to the length both backends score (``norms``)."""
    terms, positions, flags = chain.postings(value, "index") if value else ([], [], [])
    whole = norms.scale(field)
    part = min(PART_REPEAT, whole)
    at: dict[int, list[str]] = {}
    for term, p, flag in zip(terms, positions, flags):
        term = "".join(term.split())  # a term is never whitespace; keep the tokenizer's view of it whole
        if not term or JOIN in term:
            continue
        if flag is None:  # a part weighs PART_REPEAT/whole of a word, and counts as much as a word towards the length
            at.setdefault(p, []).extend([term] * part + [FILLER] * (whole - part))
        else:
            at.setdefault(p, []).extend([term] * whole)
    out = [JOIN.join(at[p]) if p in at else JOIN for p in range(max(at) + 1)] if at else []  # a gap keeps
    return _padded(out, sum(len(group) for group in at.values()) + len(out) - len(at), len(terms), field)


def _padded(tokens: list[str], count: int, length: int, field: str) -> str:
    """``tokens`` (``count`` tokens once split) and filler tokens after them, so that the field is as long as
    Whoosh's stored length of ``length`` says (``norms.padded``; one token where it is empty)."""
    missing = norms.padded(length, field) - count
    if missing > 0:  # at one more position, in groups the tokenizer keeps whole
        tokens = tokens + [JOIN.join([FILLER] * min(_GROUP, missing - i)) for i in range(0, missing, _GROUP)]
    return " ".join(tokens)


def surface_text(value: str) -> tuple[str, list[str]]:
    """The ``exact`` field (its words repeated as often as they occur) and the distinct words."""
    found = analysis.surface_counts(value)
    if found is None:
        poses, _ = analysis.analyzer_for(analysis.SURFACE).tally(value, "index")
        counts: dict[str, int] = {t: len(p) for t, p in poses.items()}
    else:
        counts = dict(found)
    words = [w for w in counts if w and JOIN not in w and not any(c.isspace() for c in w)]
    repeats = [min(int(counts[w]), 1000) for w in words]
    tokens = [" ".join([w] * n) for w, n in zip(words, repeats)]
    return _padded(tokens, sum(repeats), sum(int(n) for n in counts.values()), SURFACE_FIELD), words


def document(record: Record, languages: Iterable[str] = (), seq: int = 0) -> dict[str, Any]:
    """The OpenSearch document of one record (``search.backend.base.Record``), the ``seq``-th added.  Every
    field is padded to the length both backends score, and the text fields of ``languages`` it has no text
    for hold one ``FILLER``: Whoosh averages a field's length over all documents, Lucene over those that
    have the field, and a filler makes that every document (``search.backend.norms``)."""
    doc, lang, date = record["display"], record["language"], record["date"]
    chain = analysis.analyzer_for(lang)
    title, teaser, body = doc["title"], doc["teaser"], doc["body"]
    location, sources, category = doc["location"], doc["sources"], doc["category"]
    text: dict[str, str] = {}
    for role, value in zip(TEXT_ROLES, (title, teaser, body)):
        if value:
            field = text_field(role, lang)
            text[field] = positional_text(chain, value, field)
    for other in languages:
        for role in TEXT_ROLES:
            text.setdefault(text_field(role, other), FILLER)
    exact, words = surface_text(f"{title}\n{teaser}\n{body}")
    text[SURFACE_FIELD] = exact
    text[LOCATION_WORDS] = positional_text(analysis.analyzer_for(analysis.NEUTRAL), location, LOCATION_WORDS)
    keys = [s.lower() for s in sources if s]
    text["source"] = _padded(keys, sum(len(k.split()) for k in keys), len(keys), "source")
    out: dict[str, Any] = {
        "id": record["id"], "src": record["src"], "story": record["story"], "language": doc["language"], "seq": seq,
        "doc": doc, "t": text, "words": words[:20_000],
        "location_col": location or None, "source_col": [s for s in sources if s],
        "category_col": category or None,
    }
    if location:
        out["location"] = location.lower()
    if category:
        out["category"] = category.lower()
    if date:
        out.update(date=date.isoformat(), month=date.strftime("%Y-%m"), day=date.strftime("%Y-%m-%d"))
    return out
