"""OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

The response schemas are derived from ``search.contract`` (the TypedDicts the
engine returns) and the parameter limits are the contract's constants, so the
document cannot drift from what the API does.
"""
from __future__ import annotations

import copy
from typing import Any

from search import contract

from .params import MAX_FILTER_LENGTH, MAX_FILTER_VALUES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("ErrorResponse"), description)


def _facet_param(name: str, what: str) -> dict[str, Any]:
    return {
        "name": name, "in": "query", "required": False, "style": "form", "explode": True,
        "description": f"Filter by {what}. Repeat the parameter to allow several values "
                       "(OR within one facet, AND across facets).",
        "schema": {"type": "array", "items": {"type": "string", "maxLength": MAX_FILTER_LENGTH},
                   "maxItems": MAX_FILTER_VALUES},
    }


_ID_PARAM = {
    "name": "id", "in": "path", "required": True,
    "description": "Article id; may contain slashes, which are sent as they are",
    "schema": {"type": "string"},
}

_COMMON_ERRORS = {
    "405": _error("Method not allowed (the API is read-only)"),
    "413": _error("Request body too large"),
    "414": _error("Query string too long"),
    "500": _error("Unexpected server error"),
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Stichwort API",
        "version": "1.0.0",
        "description": "Read-only JSON API of the Stichwort news-archive search engine. "
                       "Every response carries Access-Control-Allow-Origin: *. Errors have the shape "
                       "{\"error\": {\"type\", \"reason\"}, \"status\"}.",
    },
    "servers": [{"url": "/"}],
    "paths": {
        "/api/search": {
            "get": {
                "operationId": "search",
                "summary": "Full-text search with facets, date histogram and paging",
                "parameters": [
                    {"name": "q", "in": "query", "description": "Query (phrases in quotes, OR, -word, word*; "
                     "datum:, quelle:, ort:, kategorie:, sprache: filter). "
                     f"Queries longer than {contract.MAX_QUERY_CHARS} characters are shortened (see notes).",
                     "schema": {"type": "string"}},
                    {"name": "lang", "in": "query", "description": "Language of the query for analysis (e.g. de, en)",
                     "schema": {"type": "string", "maxLength": 16}},
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                               "maximum": contract.MAX_PAGE, "default": 1}},
                    {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                               "maximum": contract.MAX_SIZE,
                                                               "default": contract.DEFAULT_SIZE}},
                    {"name": "cursor", "in": "query",
                     "description": "next_cursor of a previous response; one that expired (the OpenSearch "
                                    "backend's point in time, opensearch.keep_alive after its page) is a 400",
                     "schema": {"type": "string", "maxLength": contract.MAX_CURSOR_LENGTH}},
                    {"name": "sort", "in": "query",
                     "schema": {"type": "string", "enum": list(contract.SORTS), "default": "relevance"}},
                    _facet_param("location", "place"),
                    _facet_param("source", "outlet (domain)"),
                    _facet_param("category", "section"),
                    _facet_param("language", "language code"),
                    {"name": "date_from", "in": "query", "description": "Earliest date (inclusive), ISO 8601",
                     "schema": {"type": "string", "format": "date"}},
                    {"name": "date_to", "in": "query", "description": "Latest date (inclusive), ISO 8601",
                     "schema": {"type": "string", "format": "date"}},
                    {"name": "collapse", "in": "query",
                     "description": "Show one article per story; the others are counted in more_in_story",
                     "schema": {"type": "boolean", "default": False}},
                    {"name": "highlight", "in": "query", "schema": {"type": "boolean", "default": True}},
                ],
                "responses": {
                    "200": _json(_ref("SearchResponse"), "Search results"),
                    "400": _error("Invalid parameter (size, page, sort, date, cursor...)"),
                    **_COMMON_ERRORS,
                },
            }
        },
        "/api/articles/{id}": {
            "get": {
                "operationId": "getArticle",
                "summary": "One article with its full text",
                "parameters": [_ID_PARAM],
                "responses": {
                    "200": _json(_ref("Article"), "The article"),
                    "404": _error("No article with this id"),
                    **_COMMON_ERRORS,
                },
            }
        },
        "/api/articles/{id}/related": {
            "get": {
                "operationId": "relatedArticles",
                "summary": "Other reports of the same story and related coverage",
                "parameters": [
                    _ID_PARAM,
                    {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                               "maximum": contract.MAX_SIZE,
                                                               "default": contract.DEFAULT_SIZE}},
                ],
                "responses": {
                    "200": _json(_ref("Related"), "Same-story and related articles"),
                    "400": _error("Invalid size"),
                    "404": _error("No article with this id"),
                    **_COMMON_ERRORS,
                },
            }
        },
        "/api/stories/{id}": {
            "get": {
                "operationId": "getStory",
                "summary": "Every article of one story (the same event reported by several outlets)",
                "parameters": [{**_ID_PARAM, "description": "A story_id from a hit"}],
                "responses": {
                    "200": _json(_ref("Story"), "The story's articles"),
                    "404": _error("No story with this id"),
                    **_COMMON_ERRORS,
                },
            }
        },
        "/api/suggest": {
            "get": {
                "operationId": "suggest",
                "summary": "Autocomplete the last word of a query",
                "parameters": [
                    {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
                    {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 20,
                                                               "default": 8}},
                    {"name": "format", "in": "query",
                     "description": "opensearch: answer [q, [completions]] as application/x-suggestions+json",
                     "schema": {"type": "string", "enum": ["json", "opensearch"], "default": "json"}},
                ],
                "responses": {
                    "200": {
                        "description": "Completed queries",
                        "content": {
                            "application/json": {"schema": _ref("Suggestions")},
                            "application/x-suggestions+json": {"schema": {
                                "type": "array", "prefixItems": [
                                    {"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                            }},
                        },
                    },
                    "400": _error("Invalid size or format"),
                    **_COMMON_ERRORS,
                },
            }
        },
        "/api/explain": {
            "get": {
                "operationId": "explain",
                "summary": "Why an article scores as it does for a query",
                "parameters": [
                    {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
                    {"name": "id", "in": "query", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _json({"type": "object", "additionalProperties": True}, "Score breakdown"),
                    "400": _error("q or id missing"),
                    "404": _error("No article with this id"),
                    **_COMMON_ERRORS,
                },
            }
        },
        "/api/health": {
            "get": {
                "operationId": "health",
                "summary": "Liveness and index state",
                "responses": {
                    "200": _json(_ref("Health"), "The engine is up"),
                    **_COMMON_ERRORS,
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1 document")},
            }
        },
    },
    "components": {"schemas": {td.__name__: contract.object_schema(td) for td in contract.SCHEMAS}},
}


def openapi_document() -> dict[str, Any]:
    """A fresh copy of the document (callers may modify it)."""
    return copy.deepcopy(OPENAPI)
