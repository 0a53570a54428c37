"""OpenAPI 3.1 description of the JSON API, served at /api/openapi.json."""
from __future__ import annotations

import copy
from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


def _facet_param(name: str, what: str) -> dict[str, Any]:
    return {
        "name": name, "in": "query", "required": False, "style": "form", "explode": True,
        "description": f"Filter by {what}. Repeat the parameter to allow several values "
                       "(OR within one facet, AND across facets).",
        "schema": {"type": "array", "items": {"type": "string", "maxLength": 200}, "maxItems": 50},
    }


_NULLABLE_STRING = {"type": ["string", "null"]}

_HIT = {
    "type": "object",
    "required": ["id", "title", "url", "date", "sources"],
    "properties": {
        "id": {"type": "string"},
        "score": {"type": ["number", "null"]},
        "title": {"type": "string"},
        "teaser": {"type": "string"},
        "url": {"type": "string", "description": "URL of the original article"},
        "date": {**_NULLABLE_STRING, "description": "ISO 8601 date-time or null"},
        "location": {"type": "string"},
        "sources": {"type": "array", "items": {"type": "string"}, "description": "Outlets (domains)"},
        "category": {"type": "string"},
        "language": {"type": "string", "description": "ISO 639-1 code"},
        "story_id": {"type": "string", "description": "Articles reporting the same story share it"},
        "more_in_story": {"type": "integer", "description": "With collapse=true: further articles of this story"},
        "highlights": {
            "type": "object",
            "description": "HTML fragments: escaped text with <mark>…</mark> around matches",
            "properties": {
                "title": {"type": "array", "items": {"type": "string"}},
                "body": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}

_FACET_VALUE = {
    "type": "object",
    "required": ["value", "count", "selected"],
    "properties": {
        "value": {"type": "string"},
        "count": {"type": "integer"},
        "selected": {"type": "boolean"},
    },
}

_SEARCH_RESPONSE = {
    "type": "object",
    "required": ["query", "total", "page", "size", "next_cursor", "took_ms", "hits", "facets",
                 "date_histogram", "suggestion", "notes"],
    "properties": {
        "query": {"type": "string"},
        "total": {
            "type": "object",
            "required": ["value", "relation"],
            "properties": {"value": {"type": "integer"}, "relation": {"type": "string", "enum": ["eq", "gte"]}},
        },
        "page": {"type": "integer"},
        "size": {"type": "integer"},
        "next_cursor": {**_NULLABLE_STRING, "description": "Opaque; pass as cursor= for the next page"},
        "took_ms": {"type": "number"},
        "hits": {"type": "array", "items": _ref("Hit")},
        "facets": {
            "type": "object",
            "properties": {k: {"type": "array", "items": _ref("FacetValue")}
                           for k in ("location", "source", "category", "language")},
        },
        "date_histogram": {
            "type": "array",
            "items": {"type": "object", "properties": {"key": {"type": "string", "examples": ["2026-03"]},
                                                       "count": {"type": "integer"}}},
        },
        "suggestion": {**_NULLABLE_STRING, "description": "A corrected query (\"did you mean\")"},
        "notes": {"type": "array", "items": {"type": "string"},
                  "description": "Remarks about how the query was interpreted (e.g. it was shortened)"},
    },
}

_ARTICLE = {
    "type": "object",
    "required": ["id", "title", "body"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "teaser": {"type": "string"},
        "body": {"type": "string", "description": "Paragraphs separated by a blank line"},
        "url": {"type": "string"},
        "date": _NULLABLE_STRING,
        "location": {"type": "string"},
        "sources": {"type": "array", "items": {"type": "string"}},
        "category": {"type": "string"},
        "language": {"type": "string"},
        "publisher": {"type": "string"},
        "story_id": {"type": "string"},
        "extra": {"type": "object", "additionalProperties": True},
    },
}

_ERROR = {
    "type": "object",
    "required": ["error", "status"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "reason"],
            "properties": {
                "type": {"type": "string", "examples": ["bad_request", "not_found", "method_not_allowed",
                                                        "payload_too_large", "uri_too_long", "internal_error"]},
                "reason": {"type": "string"},
                "param": {"type": "string", "description": "The offending parameter, when known"},
            },
        },
        "status": {"type": "integer"},
    },
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
                    {"name": "q", "in": "query", "description": "Query (phrases in quotes, OR, -word, word*). "
                     "Queries longer than 1000 characters are shortened (see notes).",
                     "schema": {"type": "string"}},
                    {"name": "lang", "in": "query", "description": "Language of the query for analysis (e.g. de, en)",
                     "schema": {"type": "string", "maxLength": 16}},
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000,
                                                               "default": 1}},
                    {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100,
                                                               "default": 10}},
                    {"name": "cursor", "in": "query", "description": "next_cursor of a previous response",
                     "schema": {"type": "string"}},
                    {"name": "sort", "in": "query",
                     "schema": {"type": "string", "enum": ["relevance", "newest", "oldest"], "default": "relevance"}},
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
                    {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100,
                                                               "default": 10}},
                ],
                "responses": {
                    "200": _json({
                        "type": "object",
                        "required": ["same_story", "related"],
                        "properties": {"same_story": {"type": "array", "items": _ref("Hit")},
                                       "related": {"type": "array", "items": _ref("Hit")}},
                    }, "Same-story and related articles"),
                    "400": _error("Invalid size"),
                    "404": _error("No article with this id"),
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
                            "application/json": {"schema": {
                                "type": "object",
                                "properties": {"query": {"type": "string"},
                                               "suggestions": {"type": "array", "items": {"type": "string"}}},
                            }},
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
                    "200": _json({
                        "type": "object",
                        "required": ["status", "documents", "index_version"],
                        "properties": {"status": {"type": "string"}, "documents": {"type": "integer"},
                                       "index_version": {"type": "string"}},
                    }, "The engine is up"),
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
    "components": {
        "schemas": {
            "Hit": _HIT,
            "FacetValue": _FACET_VALUE,
            "SearchResponse": _SEARCH_RESPONSE,
            "Article": _ARTICLE,
            "Error": _ERROR,
        }
    },
}


def openapi_document() -> dict[str, Any]:
    """A fresh copy of the document (callers may modify it)."""
    return copy.deepcopy(OPENAPI)
