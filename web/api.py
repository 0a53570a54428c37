"""JSON API under /api: thin views over the engine; documented in ``web.openapi``."""
from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request

from search.errors import BadRequest

from .core import get_engine
from .openapi import openapi_document
from .params import clean_text, parse_choice, parse_int, parse_search

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_SUGGEST_QUERY = 200
MAX_EXPLAIN_QUERY = 1_000


@bp.get("/search")
def search() -> Response:
    params = parse_search(request.args)
    result = get_engine().search(params.q, **params.engine_kwargs())
    result.setdefault("notes", [])
    return jsonify(result)


@bp.get("/articles/<path:id>/related")
def related(id: str) -> Response:
    size = parse_int(request.args, "size", 10, 1, 100)
    return jsonify(get_engine().related(id, size=size))


@bp.get("/stories/<path:id>")
def story(id: str) -> Response:
    return jsonify(get_engine().story(id))


@bp.get("/articles/<path:id>")
def article(id: str) -> Response:
    return jsonify(get_engine().get(id))


@bp.get("/suggest")
def suggest() -> Response:
    q = clean_text(request.args.get("q", ""))[:MAX_SUGGEST_QUERY]
    size = parse_int(request.args, "size", 8, 1, 20)
    fmt = parse_choice(request.args, "format", "json", ("json", "opensearch"))
    suggestions = get_engine().suggest(q, size=size) if q.strip() else []
    if fmt == "opensearch":
        body = json.dumps([q, list(suggestions)], ensure_ascii=False)
        return Response(body, mimetype="application/x-suggestions+json")
    return jsonify({"query": q, "suggestions": list(suggestions)})


@bp.get("/explain")
def explain() -> Response:
    q = clean_text(request.args.get("q", "")).strip()
    id = request.args.get("id", "").strip()
    if not q:
        raise BadRequest("q is required", "q")
    if not id:
        raise BadRequest("id is required", "id")
    if len(q) > MAX_EXPLAIN_QUERY:
        raise BadRequest(f"q is too long (at most {MAX_EXPLAIN_QUERY} characters)", "q")
    return jsonify(get_engine().explain(q, id))


@bp.get("/health")
def health() -> Response:
    return jsonify(get_engine().health())


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())
