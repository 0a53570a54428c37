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
