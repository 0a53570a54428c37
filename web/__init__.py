"""Stichwort web layer: JSON API, reader UI and feeds around one search engine.

``create_app`` builds the Flask app.  Views are thin: they validate their
parameters (``web.params``), call one method of the engine and present the
result.  The web layer never imports the index library itself.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge, RequestURITooLarge

from search.contract import DEFAULT_INDEX_DIR
from search.errors import BadRequest as EngineBadRequest
from search.errors import NotFound as EngineNotFound
from search.errors import Unavailable as EngineUnavailable

from . import i18n
from .core import EXTENSION_KEY, is_api_request, is_feed_request, log, t, ui_lang

DEFAULT_CONFIG: dict[str, Any] = {
    "MAX_CONTENT_LENGTH": 64 * 1024,
    # Longest accepted query string in bytes; longer ones get 414.  Below gunicorn's
    # request-line limit (8190 bytes, see web.server) so that the app, not gunicorn, answers.
    "STICHWORT_MAX_QUERY_STRING": 8000,
    "STICHWORT_UI_PAGE_SIZE": 10,
    "STICHWORT_FEED_SIZE": 20,
    "STICHWORT_FEED_MAX_SIZE": 50,
    "JSON_SORT_KEYS": False,
    "SEND_FILE_MAX_AGE_DEFAULT": 3600,
}

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

ERROR_TYPES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    414: "uri_too_long",
    500: "internal_error",
    503: "unavailable",
}


def create_app(
    engine: Any = None,
    config: Mapping[str, Any] | None = None,
    index_dir: str | os.PathLike[str] | None = None,
) -> Flask:
    """Build the app around ``engine`` (or an ``Engine`` opened on ``index_dir``).

    Without ``index_dir`` the index directory comes from
    ``config["STICHWORT_INDEX_DIR"]``, then the ``STICHWORT_INDEX_DIR``
    environment variable, then ``index_data/index``.
    """
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(DEFAULT_CONFIG)
    app.config["STICHWORT_PUBLIC_URL"] = os.environ.get("STICHWORT_PUBLIC_URL") or None
    if config:
        app.config.update(config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # Article ids may contain "//" or start with "/": keep them intact.
    app.url_map.merge_slashes = False

    if engine is None:
        from search.engine import Engine

        where = (
            index_dir
            or app.config.get("STICHWORT_INDEX_DIR")
            or os.environ.get("STICHWORT_INDEX_DIR")
            or DEFAULT_INDEX_DIR
        )
        engine = Engine(str(Path(where)))
    app.extensions[EXTENSION_KEY] = {"engine": engine}

    from .api import bp as api_bp
    from .feeds import bp as feeds_bp
    from .ui import bp as ui_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(ui_bp)
    app.register_blueprint(feeds_bp)

    _install_hooks(app)
    _install_error_handlers(app)
    return app


def _install_hooks(app: Flask) -> None:
    @app.before_request
    def _limit_request_size() -> None:
        if len(request.query_string) > app.config["STICHWORT_MAX_QUERY_STRING"]:
            raise RequestURITooLarge(
                f"The query string is longer than {app.config['STICHWORT_MAX_QUERY_STRING']} bytes."
            )
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit is not None and (request.content_length or 0) > limit:
            raise RequestEntityTooLarge(f"The request body is larger than {limit} bytes.")

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if is_api_request() and request.method in ("GET", "HEAD", "OPTIONS"):
            response.headers["Access-Control-Allow-Origin"] = "*"
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
                response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
                response.headers["Access-Control-Max-Age"] = "86400"
        else:  # pages and feeds are in the UI language, chosen by ?hl= or the cookie
            response.vary.add("Cookie")
            if response.mimetype == "text/html":
                response.headers.setdefault("Content-Language", ui_lang())
        return response

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        return {"t": t, "ui_lang": ui_lang(), "i18n": i18n}


def _error_response(status: int, reason: str, param: str | None = None, headers: Any = None) -> Response:
    """The error in the format the client of this path expects (JSON, text or HTML)."""
    if is_api_request():
        body: dict[str, Any] = {"error": {"type": ERROR_TYPES.get(status, "error"), "reason": reason}, "status": status}
        if param:
            body["error"]["param"] = param
        response = jsonify(body)
    elif is_feed_request():
        response = Response(reason + "\n", mimetype="text/plain")
    else:
        headings = {
            400: ("error_heading", None),
            404: ("not_found_heading", "not_found_text"),
            405: ("method_not_allowed_heading", "method_not_allowed_text"),
            413: ("too_large_heading", "too_large_text"),
            414: ("too_large_heading", "too_large_text"),
            503: ("unavailable_heading", "unavailable_text"),
        }
        heading, text = headings.get(status, ("server_error_heading", "server_error_text"))
        message = t(text) if text else t("error_bad_request", reason=reason)
        response = Response(
            render_template("error.html", status=status, heading=t(heading), message=message),
            mimetype="text/html",
        )
    response.status_code = status
    if headers:
        for name, value in headers:
            if name.lower() in ("allow", "retry-after"):
                response.headers[name] = value
    return response


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(EngineBadRequest)
    def _bad_request(exc: EngineBadRequest) -> Response:
        return _error_response(400, exc.reason, getattr(exc, "param", None))

    @app.errorhandler(EngineUnavailable)
    def _unavailable(exc: EngineUnavailable) -> Response:
        headers = [("Retry-After", str(exc.retry_after))] if exc.retry_after else None
        return _error_response(503, exc.reason, headers=headers)

    @app.errorhandler(EngineNotFound)
    def _not_found(exc: EngineNotFound) -> Response:
        return _error_response(404, str(exc) or "not found")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status >= 500:
            return _error_response(status, "internal server error")
        reason = exc.description or exc.name
        if status == 404 and is_api_request():
            reason = f"no such endpoint: {request.path}"
        elif status == 405:
            reason = f"method {request.method} is not allowed for {request.path}"
        headers = exc.get_headers() if status == 405 else None
        return _error_response(status, reason, headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):  # pragma: no cover - handled above
            return _http_error(exc)
        log.exception("unhandled error on %s %s", request.method, request.full_path)
        return _error_response(500, "internal server error")

    @app.errorhandler(InternalServerError)
    def _internal(exc: InternalServerError) -> Response:
        original = getattr(exc, "original_exception", None)
        if original is not None:
            log.error("internal error on %s %s: %r", request.method, request.full_path, original)
        return _error_response(500, "internal server error")
