"""Reader UI: the search page and the article page, server-rendered (JavaScript optional)."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from search.analysis import language_of
from search.contract import MAX_QUERY_CHARS
from search.errors import BadRequest, NotFound
from search.results.highlight import Marks, mark, spans

from . import i18n
from .core import get_engine, t, ui_lang
from .params import FACETS, MAX_PAGE, SearchParams, clean_text, parse_search
from .present import (
    bar_level,
    body_blocks,
    content_lang,
    external_url,
    format_date,
    format_seconds,
    highlight_html,
    iso_date,
    join_fragments,
    page_count,
    page_window,
    period_label,
    period_range,
    source_link,
)

bp = Blueprint("ui", __name__)

FACET_LIMIT = 12
COOKIE_MAX_AGE = 365 * 24 * 3600


@bp.app_template_filter("highlight_safe")
def _highlight_safe(fragment: object) -> Any:
    return highlight_html(fragment)


@bp.app_template_filter("highlight_snippet")
def _highlight_snippet(fragments: object) -> Any:
    return join_fragments(fragments)


@bp.app_template_filter("date")
def _date(value: object) -> str:
    return format_date(value, ui_lang())


@bp.app_template_filter("isodate")
def _isodate(value: object) -> str:
    return iso_date(value)


@bp.app_template_global()
def language_name(code: object) -> str:
    return i18n.language_name(ui_lang(), str(code or ""))


@bp.app_template_global()
def article_url(id: str, context: str | None = None) -> str:
    """An article's page; ``context`` (a search's query string) gives it the way back and the words to mark."""
    return url_for("ui.article", id=id, **_from(context))


def _from(context: str | None) -> dict[str, Any]:
    """The ``from`` URL parameter, when there is one (a Python keyword: passed as a mapping)."""
    return {"from": context} if context else {}


@bp.app_template_global()
def story_url(id: str) -> str:
    return url_for("ui.story", id=id)


@bp.app_template_global()
def source_links(sources: str | Iterable[object] | None) -> list[tuple[str, str | None]]:
    if isinstance(sources, str):
        sources = [sources]
    return [source_link(s) for s in (sources or []) if str(s or "").strip()]


@bp.app_template_global()
def isolate(text: object) -> str:
    """User text inside a sentence or a title, isolated from its direction (U+2068 … U+2069), so a
    right-to-left override in it cannot turn the surrounding words around."""
    return f"\u2068{text}\u2069"


@bp.app_template_global()
def html_lang(code: object) -> str | None:
    return content_lang(code)


@bp.app_template_global()
def switch_lang_url() -> str:
    """The current page in the other UI language (``?hl=`` is remembered in a cookie)."""
    other = "en" if ui_lang() == "de" else "de"
    args = MultiDict(request.args)
    args.setlist("hl", [other])
    return request.script_root + quote(request.path, safe="/") + "?" + urlencode(list(args.items(multi=True)))


@bp.after_app_request
def _remember_language(response: Response) -> Response:
    if request.path.startswith("/api/"):
        return response
    wanted = i18n.normalize_lang(request.args.get("hl"))
    if wanted and wanted != request.cookies.get(i18n.COOKIE_NAME):
        response.set_cookie(
            i18n.COOKIE_NAME, wanted, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True,
            secure=request.is_secure, path="/",
        )
    return response


@bp.get("/favicon.ico")
def favicon() -> BaseResponse:
    return redirect(url_for("static", filename="favicon.svg"), code=301)


class SearchLinks:
    """Builds links that change one aspect of the current search and keep the rest."""

    def __init__(self, params: SearchParams, default_size: int):
        self.p = params
        self.default_size = default_size

    def _url(self, *, q: str | None = None, filters: dict[str, list[str]] | None = None,
             dates: tuple[str | None, str | None] | None = None, page: int = 1,
             collapse: bool | None = None, sort: str | None = None) -> str:
        p = self.p
        items: list[tuple[str, str]] = []
        q = p.q if q is None else q
        if q:
            items.append(("q", q))
        for name, values in (p.filters if filters is None else filters).items():
            items.extend((name, v) for v in values)
        date_from, date_to = (p.date_from, p.date_to) if dates is None else dates
        if date_from:
            items.append(("date_from", date_from))
        if date_to:
            items.append(("date_to", date_to))
        sort = sort if sort is not None else (p.sort if p.explicit_sort else None)
        if sort:
            items.append(("sort", sort))
        if p.explicit_size and p.size != self.default_size:
            items.append(("size", str(p.size)))
        collapse = p.collapse if collapse is None else collapse
        if not collapse:
            items.append(("collapse", "false"))
        if page > 1:
            items.append(("page", str(page)))
        return url_for("ui.search") + ("?" + urlencode(items) if items else "")

    def page(self, n: int) -> str:
        return self._url(page=n)

    def toggle(self, facet: str, value: str) -> str:
        filters = {k: list(v) for k, v in self.p.filters.items()}
        values = filters.setdefault(facet, [])
        if value in values:
            values.remove(value)
        else:
            values.append(value)
        return self._url(filters={k: v for k, v in filters.items() if v})

    def without_dates(self) -> str:
        return self._url(dates=(None, None))

    def with_dates(self, date_from: str, date_to: str) -> str:
        return self._url(dates=(date_from, date_to))

    def clear_filters(self) -> str:
        return self._url(filters={}, dates=(None, None))

    def with_query(self, q: str) -> str:
        return self._url(q=q)

    def collapse(self, on: bool) -> str:
        return self._url(collapse=on)

    def feed(self, endpoint: str) -> str:
        items: list[tuple[str, str]] = []
        if self.p.q:
            items.append(("q", self.p.q))
        for name, values in self.p.filters.items():
            items.extend((name, v) for v in values)
        if self.p.date_from:
            items.append(("date_from", self.p.date_from))
        if self.p.date_to:
            items.append(("date_to", self.p.date_to))
        return url_for(endpoint) + ("?" + urlencode(items) if items else "")


def _facet_groups(result: dict[str, Any], params: SearchParams, links: SearchLinks) -> list[dict[str, Any]]:
    groups = []
    facets = result.get("facets") or {}
    for name in FACETS:
        selected = set(params.filters.get(name, []))
        entries = []
        seen = set()
        for i, f in enumerate(facets.get(name) or []):
            value = str(f.get("value", ""))
            if not value or value in seen:
                continue
            seen.add(value)
            is_selected = bool(f.get("selected")) or value in selected
            if i >= FACET_LIMIT and not is_selected:
                continue
            entries.append({"value": value, "count": f.get("count", 0), "selected": is_selected})
        for value in params.filters.get(name, []):  # a selected value the engine did not list
            if value not in seen:
                entries.append({"value": value, "count": 0, "selected": True})
        for e in entries:
            e["label"] = i18n.language_name(ui_lang(), e["value"]) if name == "language" else e["value"]
            e["url"] = links.toggle(name, e["value"])
        if entries:
            groups.append({"name": name, "label": t(f"facet_{name}"), "entries": entries})
    return groups


def _chips(params: SearchParams, links: SearchLinks) -> list[dict[str, str]]:
    chips = []
    for name, values in params.filters.items():
        for value in values:
            shown = i18n.language_name(ui_lang(), value) if name == "language" else value
            label = f"{t('facet_' + name)}: {shown}"
            chips.append({"label": label, "url": links.toggle(name, value),
                          "remove_label": t("remove_filter", label=label)})
    if params.date_from or params.date_to:
        span = f"{format_date(params.date_from, ui_lang()) if params.date_from else '…'} – " \
               f"{format_date(params.date_to, ui_lang()) if params.date_to else '…'}"
        label = f"{t('facet_date')}: {span}"
        chips.append({"label": label, "url": links.without_dates(), "remove_label": t("remove_filter", label=label)})
    return chips


MAX_HISTOGRAM_MONTHS = 240


def _fill_months(buckets: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """Monthly buckets with the empty months in between, so the bars form a time axis."""
    pairs = [(str(b["key"]), int(b.get("count") or 0)) for b in buckets]
    keys = [k for k, _ in pairs]
    if not keys or not all(re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", k) for k in keys):
        return pairs
    counts = dict(pairs)
    first, last = min(keys), max(keys)
    y, m = int(first[:4]), int(first[5:])
    end = (int(last[:4]), int(last[5:]))
    filled: list[tuple[str, int]] = []
    while (y, m) <= end and len(filled) < MAX_HISTOGRAM_MONTHS:
        key = f"{y:04d}-{m:02d}"
        filled.append((key, counts.get(key, 0)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return filled if (y, m) > end else pairs


def _histogram(result: dict[str, Any], links: SearchLinks) -> list[dict[str, Any]]:
    buckets = [b for b in (result.get("date_histogram") or []) if isinstance(b, dict) and "key" in b]
    pairs = _fill_months(buckets)
    maximum = max((count for _, count in pairs), default=0)
    bars = []
    for key, count in pairs:
        label = period_label(key, ui_lang())
        span = period_range(key)
        bars.append({
            "key": key, "count": count, "label": label, "level": bar_level(count, maximum),
            "title": t("histogram_bar", period=label, count=count),
            "url": links.with_dates(*span) if span and count else None,
        })
    return bars


def _pagination(result: dict[str, Any], params: SearchParams, links: SearchLinks) -> dict[str, Any] | None:
    total = _entries(result)
    size = int(result.get("size") or params.size)
    current = int(result.get("page") or params.page)
    last = page_count(total, size, MAX_PAGE)
    if last <= 1 and current <= 1:
        return None
    return {
        "current": current,
        "last": last,
        "prev": links.page(min(current - 1, max(last, 1))) if current > 1 else None,
        "next": links.page(current + 1) if current < last else None,
        "pages": [(n, links.page(n) if n else None) for n in page_window(current, last)],
    }


def _error_reset_url(param: str | None) -> str:
    args = MultiDict(request.args)
    if param:
        args.poplist(param)
    args.poplist("page")
    args.poplist("cursor")
    args.poplist("hl")
    return url_for("ui.search") + ("?" + urlencode(list(args.items(multi=True))) if args else "")


def _entries(result: dict[str, Any]) -> int:
    """What the pages list: articles, or stories when collapsed."""
    stories = result.get("stories")
    return int(stories) if stories is not None else int((result.get("total") or {}).get("value") or 0)


def _total_text(result: dict[str, Any]) -> str:
    lang = ui_lang()
    total = int((result.get("total") or {}).get("value") or 0)
    text = t("results_count_one") if total == 1 else t("results_count", count=i18n.format_number(lang, total))
    stories = result.get("stories")
    if stories is not None and stories != total:
        text += " " + (t("in_stories_one") if stories == 1
                       else t("in_stories", count=i18n.format_number(lang, int(stories))))
    return text


@bp.get("/")
def search() -> tuple[str, int] | str:
    size = int(current_app.config["STICHWORT_UI_PAGE_SIZE"])
    q_raw = request.args.get("q", "").strip()
    try:
        params = parse_search(request.args, default_size=size, default_collapse=True,
                              default_sort="relevance" if q_raw else "newest")
        result = get_engine().search(params.q, **params.engine_kwargs())
    except BadRequest as exc:
        return render_template(
            "search.html", state="error", q=q_raw, error=exc.reason, error_param=exc.param,
            reset_url=_error_reset_url(exc.param), params=None,
        ), 400

    links = SearchLinks(params, size)
    total = int((result.get("total") or {}).get("value") or 0)
    hits = result.get("hits") or []
    if not params.q and not params.has_filters:
        state = "empty"
    elif total == 0:
        state = "no_results"
    else:
        state = "results"
    suggestion = result.get("suggestion")
    return render_template(
        "search.html",
        state=state,
        q=params.q,
        params=params,
        result=result,
        hits=hits,
        total=total,
        total_text=_total_text(result),
        took=format_seconds(result.get("took_ms"), ui_lang()),
        facets=_facet_groups(result, params, links),
        chips=_chips(params, links),
        histogram=_histogram(result, links),
        pagination=_pagination(result, params, links),
        suggestion=suggestion,
        suggestion_url=links.with_query(suggestion) if suggestion else None,
        notes=[n for n in (result.get("notes") or []) if n],
        links=links,
        first_rank=(int(result.get("page") or params.page) - 1) * params.size + 1,
        search_context=request.query_string.decode("utf-8", "replace"),
    )


@bp.get("/story/<path:id>")
def story(id: str) -> tuple[str, int] | str:
    try:
        found = get_engine().story(id)
    except NotFound:
        return render_template("error.html", status=404, heading=t("story_not_found_heading"),
                               message=t("story_not_found_text")), 404
    return render_template("story.html", story=found, articles=found["articles"])


@bp.get("/article/<path:id>")
def article(id: str) -> tuple[str, int] | str:
    """The article, its words of the search marked; same-story reports at once, related coverage after
    the page (fetched by app.js, or with ``related=1`` for readers without JavaScript)."""
    engine = get_engine()
    try:
        doc = engine.get(id)
    except NotFound:
        return render_template("error.html", status=404, heading=t("article_not_found_heading"),
                               message=t("article_not_found_text")), 404
    back = _search_context()
    if request.args.get("fragment") == "related":  # what app.js puts into the page once it is shown
        return render_template("_related.html", related=_shown_related(engine, id), context=back)
    q = clean_text(parse_qs(back).get("q", [""])[0]).strip()[:MAX_QUERY_CHARS]
    marks = engine.marks(q) if q else None
    lang = language_of(doc.get("language"))
    with_related = request.args.get("related") == "1"
    same = engine.story(doc["story_id"], size=STORY_ON_ARTICLE + 1)
    return render_template(
        "article.html",
        article=doc,
        title_html=_marked(doc.get("title") or "", lang, marks),
        teaser_html=_marked(doc.get("teaser") or "", lang, marks),
        blocks=[(b, [_marked(line, lang, marks) for line in b.lines]) for b in body_blocks(doc.get("body"))],
        same_story=[h for h in same["articles"] if h.get("id") != id][:STORY_ON_ARTICLE],
        story_size=same["size"],
        related=_shown_related(engine, id) if with_related else None,
        related_fragment=url_for("ui.article", id=id, fragment="related", **_from(back)),
        related_page=url_for("ui.article", id=id, related="1", **_from(back)),
        original_url=external_url(doc.get("url")),
        back_url=url_for("ui.search") + ("?" + back if back else ""),
        context=back,
        q=q,
    )


STORY_ON_ARTICLE = 10  # same-story reports listed beside an article; the story page has them all


def _shown_related(engine: Any, id: str) -> list[dict[str, Any]]:
    """Related coverage as readers see it: fewer when fewer are related (no "weak" ones)."""
    return [h for h in engine.related(id, size=10)["related"] if h.get("id") != id and not h.get("weak")]


def _search_context() -> str:
    """The search an article was opened from (``from=``: its query string), for the way back."""
    back = request.args.get("from", "")
    return back if len(back) <= 2000 and not any(c in back for c in "\r\n#") else ""


def _marked(text: str, lang: str, marks: Marks | None) -> Markup:
    """``text`` escaped, the search's words marked."""
    return highlight_html(mark(text, spans(text, lang, marks) if marks else []))
