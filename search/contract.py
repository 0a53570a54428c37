"""The public contract: request limits, sorts, facet names and the shapes of every response.

Defined once, here, and used by the engine, the web layer, the CLI, the
templates and the OpenAPI document (``web.openapi`` derives its schemas from
these ``TypedDict`` classes with ``json_schema``, so the document cannot drift
from what the API returns).  A field's ``Annotated`` text is its description.
"""
from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal, TypedDict, Union  # noqa: F401 - Union: json_schema reads both forms

SORTS = ("relevance", "newest", "oldest")
FACETS = ("location", "source", "category", "language")
DEFAULT_SIZE = 10
MAX_SIZE = 100
MAX_STORY = 1000  # articles a story page lists
MAX_PAGE = 10_000
MAX_QUERY_CHARS = 1000
#: Characters a cursor may have (the web layer refuses longer ones; a URL stays within servers' limits).
MAX_CURSOR_LENGTH = 2_000
DEFAULT_INDEX_DIR = "index_data/index"
#: Filter names readers may use in ``--filter``/query parameters, besides the facets.
FILTERS = FACETS


class Total(TypedDict):
    value: Annotated[int, "Number of matching articles"]
    relation: Annotated[Literal["eq", "gte"], "eq: exact; gte: at least (never returned today)"]


class Highlights(TypedDict):
    title: Annotated[list[str], "The title with <mark>…</mark> around matched words, if any matched"]
    body: Annotated[list[str], "Up to two fragments of the body: escaped text with <mark>…</mark>"]


class Hit(TypedDict):
    id: str
    score: Annotated[float, "Relevance score (0 when sorted by date)"]
    title: str
    teaser: str
    url: Annotated[str, "URL of the original article"]
    date: Annotated[str | None, "ISO 8601 date-time or null"]
    location: str
    sources: Annotated[list[str], "Outlets (domains)"]
    category: str
    language: Annotated[str, "ISO 639-1 code"]
    story_id: Annotated[str, "Articles reporting the same story share it"]
    more_in_story: Annotated[int, "With collapse=true: further matching articles of this story (the story's page "
                                  "lists them all)"]
    highlights: Highlights


class FacetValue(TypedDict):
    value: str
    count: int
    selected: bool


class HistogramBucket(TypedDict):
    key: Annotated[str, "YYYY-MM (date_histogram) or YYYY (date_histogram_year)"]
    count: int


class Facets(TypedDict, total=False):
    location: list[FacetValue]
    source: list[FacetValue]
    category: list[FacetValue]
    language: list[FacetValue]


class SearchResponse(TypedDict):
    query: str
    total: Total
    stories: Annotated[int | None, "With collapse=true: how many stories the matching articles form (the pages "
                                   "list one entry per story); null otherwise"]
    page: int
    size: int
    next_cursor: Annotated[str | None, "Opaque; pass as cursor= for the next page"]
    took_ms: float
    hits: list[Hit]
    facets: Facets
    date_histogram: Annotated[list[HistogramBucket], "Matches per month"]
    date_histogram_year: Annotated[list[HistogramBucket], "Matches per year"]
    suggestion: Annotated[str | None, "A corrected query (\"did you mean\")"]
    notes: Annotated[list[str], "Remarks about how the query was interpreted (e.g. it was shortened)"]


class RelatedHit(Hit):
    similarity: Annotated[float, "Cosine of the two articles' signatures (their most distinctive terms)"]
    weak: Annotated[bool, "Hardly more alike than two articles picked at random: the reader UI leaves these out"]


class Related(TypedDict):
    same_story: Annotated[list[Hit], "Other reports of the same story, oldest first"]
    related: Annotated[list[RelatedHit], "Related coverage, most related first"]


class Story(TypedDict):
    story_id: str
    size: Annotated[int, "Articles reporting this story"]
    articles: Annotated[list[Hit], "All of them, oldest first"]


class Article(TypedDict):
    id: str
    title: str
    teaser: str
    body: Annotated[str, "Paragraphs separated by a blank line"]
    url: str
    location: str
    sources: list[str]
    category: str
    date: str | None
    language: str
    publisher: str
    extra: Annotated[dict[str, Any], "Further fields of the source document"]
    story_id: str


class Health(TypedDict):
    status: Annotated[Literal["ok", "degraded"], "ok while the engine answers; degraded while an OpenSearch "
                      "cluster answers with a node missing"]
    documents: int
    index_version: Annotated[str, "Changes with every commit of the index"]


class Suggestions(TypedDict):
    query: str
    suggestions: list[str]


class _ErrorDetail(TypedDict):
    type: Annotated[str, "bad_request, not_found, method_not_allowed, payload_too_large, uri_too_long, …"]
    reason: Annotated[str, "What was wrong, in words a user can act on"]


class ErrorDetail(_ErrorDetail, total=False):
    param: Annotated[str, "The offending parameter"]


class ErrorResponse(TypedDict):
    error: ErrorDetail
    status: int


#: The shapes the OpenAPI document lists under components/schemas.
SCHEMAS: tuple[type, ...] = (Total, Highlights, Hit, RelatedHit, FacetValue, HistogramBucket, Facets, SearchResponse,
                             Related,
                             Story, Article, Health, Suggestions, ErrorDetail, ErrorResponse)


def json_schema(tp: Any) -> dict[str, Any]:
    """JSON Schema (OpenAPI 3.1) of a type used in this module; TypedDicts become ``$ref``s."""
    if isinstance(tp, type) and typing.is_typeddict(tp):
        return {"$ref": f"#/components/schemas/{tp.__name__}"}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        return {**json_schema(args[0]), "description": args[1]}
    if origin in (Union, types.UnionType):
        kinds = [a for a in args if a is not type(None)]
        inner: dict[str, Any] = json_schema(kinds[0]) if len(kinds) == 1 else {"anyOf": [json_schema(a) for a in kinds]}
        if type(None) in args and "type" in inner:
            inner["type"] = [inner["type"], "null"]
        return inner
    if origin is Literal:
        return {"type": "string", "enum": list(args)}
    if origin is list:
        return {"type": "array", "items": json_schema(args[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": True if args[1] is Any else json_schema(args[1])}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if tp in simple:
        return {"type": simple[tp]}
    if tp is Any:
        return {}
    raise TypeError(f"no JSON schema for {tp!r}")


def object_schema(td: type) -> dict[str, Any]:
    """The full object schema of a TypedDict: properties, required keys, no others."""
    hints = typing.get_type_hints(td, include_extras=True)
    required_keys = typing.cast(Any, td).__required_keys__  # a TypedDict class; typing has no type for one
    required = [k for k in hints if k in required_keys]
    return {"type": "object", "required": required, "additionalProperties": False,
            "properties": {k: json_schema(v) for k, v in hints.items()}}
