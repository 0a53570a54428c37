"""Atom and RSS feeds of a search (newest first) and the OpenSearch description.

XML is built with ElementTree, which escapes markup; characters that XML 1.0
forbids are removed first, so hostile article text stays well-formed.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request, url_for

from .core import get_engine, public_url, t, ui_lang
from .params import parse_search
from .present import as_utc, external_url, source_link

bp = Blueprint("feeds", __name__)

ATOM_NS = "http://www.w3.org/2005/Atom"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
DC_NS = "http://purl.org/dc/elements/1.1/"

# Everything outside XML 1.0's Char production (and the non-characters U+FFFE/U+FFFF).
_ILLEGAL_XML_RE = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    """``value`` as text that may appear in an XML 1.0 document."""
    if value is None:
        return ""
    return _ILLEGAL_XML_RE.sub("", str(value))


def _sub(parent: ET.Element, tag: str, text: object = None, **attrs: object) -> ET.Element:
    el = ET.SubElement(parent, tag, {k.rstrip("_"): xml_text(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = xml_text(text)
    return el


def _serialize(root: ET.Element, mimetype: str) -> Response:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, content_type=f"{mimetype}; charset=utf-8")


def _rfc3339(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _feed_search() -> tuple[dict[str, Any], Any, list[tuple[str, str]]]:
    cfg = current_app.config
    params = parse_search(
        request.args,
        default_size=int(cfg["STICHWORT_FEED_SIZE"]),
        max_size=int(cfg["STICHWORT_FEED_MAX_SIZE"]),
        clamp_size=True,
        default_sort="newest",
    )
    params.sort = "newest"  # a feed is always newest first
    params.collapse = False
    params.highlight = False
    result = get_engine().search(params.q, **params.engine_kwargs())
    # The same search as a web page, for <link rel="alternate">.
    items: list[tuple[str, str]] = []
    if params.q:
        items.append(("q", params.q))
    for name, values in params.filters.items():
        items.extend((name, v) for v in values)
    for name in ("date_from", "date_to"):
        if getattr(params, name):
            items.append((name, getattr(params, name)))
    return result, params, items


def _feed_title(params: Any) -> str:
    return t("feed_title", q=params.q) if params.q else t("feed_title_all")


def _html_url(items: list[tuple[str, str]]) -> str:
    return public_url(url_for("ui.search")) + ("?" + urlencode(items + [("sort", "newest")]))


def _self_url() -> str:
    return public_url(request.script_root + request.path) + (
        "?" + request.query_string.decode("utf-8", "replace") if request.query_string else "")


def _authors(hit: dict[str, Any]) -> list[str]:
    names = [source_link(s)[0] for s in (hit.get("sources") or []) if str(s or "").strip()]
    if not names and hit.get("publisher"):
        names = [str(hit["publisher"])]
    return names


def _hits(result: dict[str, Any]) -> Iterable[dict[str, Any]]:
    return [h for h in (result.get("hits") or []) if isinstance(h, dict) and h.get("id")]


@bp.get("/feed.atom")
def atom() -> Response:
    result, params, items = _feed_search()
    hits = _hits(result)
    now = datetime.now(UTC)
    dates = [d for d in (as_utc(h.get("date")) for h in hits) if d is not None]
    updated = max(dates) if dates else now

    feed = ET.Element("feed", {"xmlns": ATOM_NS, "xmlns:opensearch": OPENSEARCH_NS, "xml:lang": ui_lang()})
    _sub(feed, "title", _feed_title(params))
    _sub(feed, "subtitle", t("feed_subtitle"))
    _sub(feed, "id", _self_url())
    _sub(feed, "updated", _rfc3339(updated))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=_self_url())
    _sub(feed, "link", rel="alternate", type="text/html", href=_html_url(items))
    _sub(feed, "link", rel="search", type="application/opensearchdescription+xml",
         href=public_url(url_for("feeds.opensearch")))
    author = _sub(feed, "author")
    _sub(author, "name", "Stichwort")
    _sub(feed, "generator", "Stichwort")
    _sub(feed, "opensearch:totalResults", (result.get("total") or {}).get("value", 0))
    _sub(feed, "opensearch:itemsPerPage", params.size)
    _sub(feed, "opensearch:startIndex", (params.page - 1) * params.size + 1)

    for hit in hits:
        page_url = public_url(url_for("ui.article", id=hit["id"]))
        entry = _sub(feed, "entry")
        _sub(entry, "id", page_url)
        _sub(entry, "title", hit.get("title") or t("untitled"), type="text")
        _sub(entry, "link", rel="alternate", type="text/html", href=page_url)
        original = external_url(hit.get("url"))
        if original:
            _sub(entry, "link", rel="related", type="text/html", href=original)
        when = as_utc(hit.get("date"))
        _sub(entry, "updated", _rfc3339(when or updated))
        if when:
            _sub(entry, "published", _rfc3339(when))
        for name in _authors(hit):
            _sub(_sub(entry, "author"), "name", name)
        if hit.get("category"):
            _sub(entry, "category", term=hit["category"])
        if hit.get("teaser"):
            _sub(entry, "summary", hit["teaser"], type="text")
    return _serialize(feed, "application/atom+xml")


@bp.get("/feed.rss")
def rss() -> Response:
    result, params, items = _feed_search()
    hits = _hits(result)
    dates = [d for d in (as_utc(h.get("date")) for h in hits) if d is not None]
    built = max(dates) if dates else datetime.now(UTC)

    rss_el = ET.Element("rss", {"version": "2.0", "xmlns:atom": ATOM_NS, "xmlns:dc": DC_NS})
    channel = _sub(rss_el, "channel")
    _sub(channel, "title", _feed_title(params))
    _sub(channel, "link", _html_url(items))
    _sub(channel, "description", t("feed_subtitle"))
    _sub(channel, "language", ui_lang())
    _sub(channel, "lastBuildDate", format_datetime(built))
    _sub(channel, "generator", "Stichwort")
    _sub(channel, "atom:link", rel="self", type="application/rss+xml", href=_self_url())

    for hit in hits:
        page_url = public_url(url_for("ui.article", id=hit["id"]))
        item = _sub(channel, "item")
        _sub(item, "title", hit.get("title") or t("untitled"))
        _sub(item, "link", page_url)
        _sub(item, "guid", page_url, isPermaLink="true")
        when = as_utc(hit.get("date"))
        if when:
            _sub(item, "pubDate", format_datetime(when))
        if hit.get("teaser"):
            _sub(item, "description", hit["teaser"])
        if hit.get("category"):
            _sub(item, "category", hit["category"])
        for name in _authors(hit):
            _sub(item, "dc:creator", name)
    return _serialize(rss_el, "application/rss+xml")


@bp.get("/opensearch.xml")
def opensearch() -> Response:
    root_url = public_url(request.script_root).rstrip("/")
    doc = ET.Element("OpenSearchDescription", {"xmlns": OPENSEARCH_NS})
    _sub(doc, "ShortName", "Stichwort")
    _sub(doc, "Description", t("opensearch_description"))
    _sub(doc, "Tags", "news archive Nachrichten Archiv")
    _sub(doc, "Language", ui_lang())
    _sub(doc, "InputEncoding", "UTF-8")
    _sub(doc, "OutputEncoding", "UTF-8")
    _sub(doc, "Image", public_url(url_for("static", filename="favicon.svg")),
         height="16", width="16", type="image/svg+xml")
    _sub(doc, "Url", type="text/html", method="get", template=root_url + "/?q={searchTerms}")
    _sub(doc, "Url", type="application/x-suggestions+json", method="get",
         template=root_url + "/api/suggest?format=opensearch&q={searchTerms}")
    _sub(doc, "Url", type="application/atom+xml", method="get",
         template=root_url + "/feed.atom?q={searchTerms}")
    _sub(doc, "Url", type="application/rss+xml", method="get",
         template=root_url + "/feed.rss?q={searchTerms}")
    _sub(doc, "Url", type="application/opensearchdescription+xml", rel="self",
         template=public_url(url_for("feeds.opensearch")))
    return _serialize(doc, "application/opensearchdescription+xml")
