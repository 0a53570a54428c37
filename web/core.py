"""Small helpers shared by the blueprints: the engine of this app, UI language, errors."""
from __future__ import annotations

import logging
from typing import Any

from flask import current_app, g, request

from . import i18n

log = logging.getLogger("stichwort.web")

EXTENSION_KEY = "stichwort"


def get_engine() -> Any:
    """The app's single engine; ``engine.refresh()`` is called once per request."""
    engine = current_app.extensions[EXTENSION_KEY]["engine"]
    if not g.get("_stichwort_refreshed"):
        g._stichwort_refreshed = True
        try:
            engine.refresh()
        except Exception:  # keep answering from the index we have
            log.exception("engine.refresh() failed; serving the previous index state")
    return engine


def public_url(path: str = "/") -> str:
    """``path`` (as ``url_for`` gives it) as an absolute URL on this site: the configured public address
    (``server.public_url``, else the configured host and port), never the request's ``Host:`` header,
    which any client can set."""
    base = current_app.config.get("STICHWORT_PUBLIC_URL")
    if not base:
        engine = current_app.extensions[EXTENSION_KEY]["engine"]
        server = getattr(engine, "config", None) and engine.config["server"]
        base = (server and server.get("public_url")) or (f"http://{server['host']}:{server['port']}" if server
                                                          else "http://127.0.0.1:8080")
    return base.rstrip("/") + path


def is_api_request() -> bool:
    path = request.path
    return path == "/api" or path.startswith("/api/")


def is_feed_request() -> bool:
    return request.path in ("/feed.atom", "/feed.rss", "/opensearch.xml")


def ui_lang() -> str:
    """UI language: ``?hl=`` beats the cookie, which beats the German default."""
    if "ui_lang" in g:
        return g.ui_lang
    lang = i18n.normalize_lang(request.args.get("hl")) or i18n.normalize_lang(
        request.cookies.get(i18n.COOKIE_NAME)
    )
    g.ui_lang = lang or i18n.DEFAULT_LANG
    return g.ui_lang


def t(key: str, **kwargs: object) -> str:
    return i18n.translate(ui_lang(), key, **kwargs)
