"""Hostile content: XSS and template payloads in every field of indexed articles and in the query.

A real index (``python -m search index``) of articles whose title, teaser, body, location,
sources, category, publisher, url and id carry payloads, served by a real gunicorn.  Checked:
escaping in the search page, the article page, the did-you-mean suggestion, the Atom and RSS
feeds (well-formed: xml.etree and feedparser bozo == 0), the JSON API; security headers on
every kind of response; and, in headless Chromium, that no payload runs - with the
Content-Security-Policy and, to prove the escaping itself, with the CSP header stripped.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote, unquote, urlencode

import pytest

try:
    from web_conftest_helpers import parse_html, start_live_server
except ImportError:  # tests/ imported as a package
    from tests.web_conftest_helpers import parse_html, start_live_server

ROOT = Path(__file__).resolve().parents[1]
MARK = "XSSRAN"  # every payload that runs would report this via alert(), console or window.__xss

SCRIPT = f"<script>alert('{MARK}-script');window.__xss=1</script>"
IMG = f"\"><img src=x onerror=\"alert('{MARK}-img');window.__xss=2\">"
SQ_IMG = f"'><img src=x onerror=console.error('{MARK}-sq')>"
TEXTAREA = f"</textarea><script>console.error('{MARK}-ta')</script>"
TITLE_BREAK = f"</title><script>alert('{MARK}-title')</script>"
TEMPLATE = "{{7*7}} ${7*7} {% raw %}#{7*7}"
JS_URL = f"javascript:alert('{MARK}-url')"
DATA_URL = f"data:text/html,<script>alert('{MARK}-data')</script>"
EVENT = f"<b onmouseover=alert('{MARK}-b') style=\"position:fixed;inset:0\">x</b>"
CDATA = "]]><![CDATA[<script>x</script>]]>"
COMMENT = f"<!-- --><script>alert('{MARK}-c')</script>"
PAYLOADS = [SCRIPT, IMG, SQ_IMG, TEXTAREA, TITLE_BREAK, TEMPLATE, EVENT, CDATA, COMMENT]

ARTICLES = [
    {"id": f"gift/titel-{SCRIPT[:20]}", "title": f"{SCRIPT} Giftartikel Titel {TITLE_BREAK}",
     "teaser": f"{TEXTAREA} Anreißer", "body": f"Giftartikel Kennung gfta. {IMG}\n\n{TEMPLATE}\n\n{COMMENT}",
     "location": IMG, "sources": ["evil.example\"><script>", JS_URL], "category": EVENT,
     "publisher": TITLE_BREAK, "url": JS_URL, "language": "de", "date": "2026-01-02"},
    {"id": "gift/<img src=x onerror=alert(1)>", "title": f"Giftartikel Zwei {IMG}",
     "teaser": f"{SQ_IMG} {TEMPLATE}", "body": f"Giftartikel Kennung gftb. {SCRIPT}\n\n{EVENT}\n\n{CDATA}",
     "location": f"{SCRIPT}", "sources": [f"<img src=x onerror=alert('{MARK}')>.example"], "category": TEMPLATE,
     "publisher": SQ_IMG, "url": DATA_URL, "language": "de", "date": "2026-01-03"},
    {"id": "gift/drei\"'><", "title": f"Giftartikel Drei {TEMPLATE} {CDATA}",
     "teaser": f"{EVENT}", "body": f"Giftartikel Kennung gftc. {TEXTAREA}\n\n{TITLE_BREAK}\n\n{SQ_IMG}",
     "location": TEXTAREA, "sources": ["ok.example"], "category": SCRIPT,
     "publisher": IMG, "url": "https://ok.example/\"><script>alert(1)</script>", "language": "de",
     "date": "2026-01-04"},
]
#: No article contains these words, so the search finds nothing and did-you-mean kicks in.
QUERY_PAYLOAD = "\"><svg onload=confirm(document.domain)>"
SUGGEST_QUERY = f"{QUERY_PAYLOAD} Giftartikl"
SEARCH_QUERY = f"{SCRIPT} {IMG} Giftartikel"

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


pytestmark = pytest.mark.slow  # scripts/test --fast leaves these out


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-xss")
    (root / "articles").mkdir()
    (root / "articles" / "gift.json").write_text(json.dumps(ARTICLES, ensure_ascii=False), "utf-8")
    run = subprocess.run([sys.executable, "-m", "search", "index", "--index-dir", str(root / "index"), "--json",
                          str(root / "articles")], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout)["added"] == len(ARTICLES)
    srv = start_live_server(root / "index", root)
    try:
        yield srv
    finally:
        srv.stop()


def get(url: str, timeout: float = 20):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def assert_security_headers(headers, what: str) -> None:
    for name in SECURITY_HEADERS:
        assert headers.get(name), f"{what}: no {name}"
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers.get("X-Frame-Options") == "DENY" or "frame-ancestors 'none'" in csp, what
    assert headers["Referrer-Policy"] in ("no-referrer", "strict-origin-when-cross-origin", "same-origin")


def assert_inert(markup: bytes, what: str) -> None:
    """No element, attribute or URL that a payload could have smuggled in."""
    doc = parse_html(markup)
    for node in doc.iter():
        if node.tag == "script":
            assert node.get("src") == "/static/app.js" and not node.text.strip(), f"{what}: {node}"
        assert node.tag not in ("img", "svg", "iframe", "object", "embed", "textarea", "b", "base"), f"{what}: {node}"
        for name, value in node.attrs.items():
            assert not name.startswith("on"), f"{what}: event handler {name}={value!r} on <{node.tag}>"
            if name in ("href", "src", "action", "formaction", "data", "xlink:href"):
                v = (value or "").strip().lower()
                assert not v.startswith(("javascript:", "data:", "vbscript:")), f"{what}: {name}={value!r}"
    text = markup.decode("utf-8")
    # an evaluated TEMPLATE would read "49 ${7*7}", "$49" or "#49" (a bare "49" can be a count or a time)
    for evaluated in ("49 ${7*7}", "$49", "#49"):
        assert evaluated not in doc.text, f"{what}: a template expression was evaluated"
    assert "<script>alert" not in text and "<img src=x" not in text.lower(), what


def article_path(doc_id: str) -> str:
    return "/article/" + quote(doc_id, safe="")


def test_index_holds_the_payloads_verbatim(server):
    status, headers, body = get(server.url + "/api/articles/" + quote(ARTICLES[0]["id"], safe=""))
    assert status == 200 and headers.get_content_type() == "application/json"
    doc = json.loads(body)
    assert doc["title"] == ARTICLES[0]["title"] and TEMPLATE in doc["body"]


def test_search_page_escapes_articles_and_query(server):
    status, headers, body = get(server.url + "/?" + urlencode({"q": SEARCH_QUERY, "collapse": "false"}))
    assert status == 200
    assert_security_headers(headers, "search page")
    assert_inert(body, "search page")
    doc = parse_html(body)
    assert doc.one("input", id="q").get("value") == SEARCH_QUERY  # the query round-trips as text
    assert SCRIPT in doc.one("title").text
    titles = [a.text for a in doc.find_all("a") if "Giftartikel" in a.text]
    assert len(titles) >= len(ARTICLES) and any(SCRIPT in t for t in titles), titles
    hrefs = [a.get("href") for a in doc.find_all("a") if (a.get("href") or "").startswith("/article/")]
    assert {unquote(h[len("/article/"):].split("?")[0]) for h in hrefs} == {a["id"] for a in ARTICLES}  # ids encoded
    assert not [h for h in hrefs if set(h) & set('<>" ')], hrefs


def test_every_article_page_is_inert(server):
    for article in ARTICLES:
        status, headers, body = get(server.url + article_path(article["id"]))
        assert status == 200, article["id"]
        assert_security_headers(headers, article["id"])
        assert_inert(body, f"article {article['id']!r}")
        doc = parse_html(body)
        assert doc.one("h1").text == " ".join(article["title"].split())
        assert not doc.find("p", cls="original"), "javascript:/data:/quoted URLs are not linked"
        assert article["teaser"].split()[0] in doc.text


def test_did_you_mean_keeps_the_payload_as_text(server):
    status, headers, body = get(server.url + "/?" + urlencode({"q": SUGGEST_QUERY}))
    assert status == 200
    assert_inert(body, "suggestion page")
    doc = parse_html(body)
    box = doc.one("p", cls="did-you-mean")
    link = box.one("a")
    assert "Giftartikel" in link.text and QUERY_PAYLOAD in link.text, link.text
    assert link.get("href").startswith("/?") and "<" not in link.get("href")
    api = json.loads(get(server.url + "/api/search?" + urlencode({"q": SUGGEST_QUERY}))[2])
    assert api["total"]["value"] == 0 and api["suggestion"] == f"{QUERY_PAYLOAD} Giftartikel"


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_feeds_are_well_formed_and_escaped(server, kind):
    import feedparser
    for q in ("Giftartikel", SEARCH_QUERY):
        status, headers, body = get(server.url + f"/feed.{kind}?" + urlencode({"q": q}))
        assert status == 200 and headers.get_content_type() == f"application/{kind}+xml"
        assert_security_headers(headers, f"{kind} feed")
        root = ET.fromstring(body)  # raises on malformed XML
        tags = {el.tag.rsplit("}", 1)[-1].lower() for el in root.iter()}
        assert not tags & {"script", "img", "svg", "b", "iframe"}, tags
        parsed = feedparser.parse(body)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert len(parsed.entries) == len(ARTICLES)
        titles = {e.title for e in parsed.entries}
        assert any("Giftartikel Zwei" in t and "onerror" in t for t in titles), titles
        for entry in parsed.entries:
            link = entry.get("link", "")
            assert not link.lower().startswith(("javascript:", "data:")), link


def test_api_json_is_json_not_html(server):
    for path in ("/api/search?" + urlencode({"q": SEARCH_QUERY}),
                 "/api/suggest?" + urlencode({"q": SCRIPT + " Giftar"}),
                 "/api/suggest?" + urlencode({"q": SCRIPT + " Giftar", "format": "opensearch"}),
                 "/api/articles/" + quote(ARTICLES[2]["id"], safe=""),
                 "/api/articles/" + quote(ARTICLES[0]["id"], safe="") + "/related",
                 "/api/articles/" + quote(SCRIPT, safe="")):
        status, headers, body = get(server.url + path)
        assert status in (200, 404), (path, status)
        assert headers.get_content_type() in ("application/json", "application/x-suggestions+json"), path
        assert_security_headers(headers, path)
        data = json.loads(body)
        assert data is not None
    result = json.loads(get(server.url + "/api/search?" + urlencode({"q": "Giftartikel", "size": 10}))[2])
    assert result["total"]["value"] == len(ARTICLES)
    for hit in result["hits"]:
        for fragment in hit["highlights"]["title"] + hit["highlights"]["body"]:
            stripped = fragment.replace("<mark>", "").replace("</mark>", "")
            assert "<" not in stripped and ">" not in stripped, fragment  # markup escaped, only <mark> is live
    suggestions = json.loads(get(server.url + "/api/suggest?" + urlencode({"q": SCRIPT + " Giftar"}))[2])
    assert all(s.startswith(SCRIPT) for s in suggestions["suggestions"])  # data, returned as data


def test_error_pages_and_static_files_carry_security_headers(server):
    for path, expected in (("/article/" + quote(IMG, safe=""), 404), ("/?" + urlencode({"size": SCRIPT}), 400),
                           ("/api/search?" + urlencode({"sort": SCRIPT}), 400), ("/static/app.js", 200),
                           ("/opensearch.xml", 200), ("/nowhere/" + quote(SCRIPT), 404)):
        status, headers, body = get(server.url + path)
        assert status == expected, (path, status)
        assert_security_headers(headers, path)
        if headers.get_content_type() == "text/html":
            assert_inert(body, path)
        if headers.get_content_type() == "application/json":  # echoes input as JSON data: safe with nosniff
            json.loads(body)
        else:
            assert b"<script>alert" not in body, path


# -- in a real browser -----------------------------------------------------------------------


def _strip_csp(route) -> None:
    response = route.fetch()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-security-policy"}
    route.fulfill(response=response, headers=headers)


@pytest.mark.parametrize("with_csp", [True, False], ids=["with-csp", "csp-stripped"])
def test_no_payload_runs_in_the_browser(browser, server, with_csp):
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    if not with_csp:  # then only the escaping stands between a payload and the page
        context.route("**/*", _strip_csp)
    page = context.new_page()
    page.set_default_timeout(15_000)
    ran: list[str] = []
    page.on("dialog", lambda d: (ran.append(f"dialog: {d.message}"), d.dismiss()))
    # A CSP violation report means markup tried to run script: the escaping failed even if CSP held.
    page.on("console", lambda m: ran.append(f"console: {m.text}")
            if MARK in m.text or "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: ran.append(f"pageerror: {e}") if MARK in str(e) else None)
    paths = ["/?" + urlencode({"q": SEARCH_QUERY, "collapse": "false"}), "/?" + urlencode({"q": SUGGEST_QUERY}),
             "/?" + urlencode({"q": "Giftartikel", "sort": "newest"})]
    paths += [article_path(a["id"]) for a in ARTICLES]
    paths += ["/feed.atom?q=Giftartikel", "/feed.rss?q=Giftartikel", "/api/search?q=Giftartikel"]
    try:
        for path in paths:
            page.goto(server.url + path, wait_until="load")
            page.mouse.move(640, 450)  # over a fixed-position <b onmouseover> if one got through
            page.wait_for_timeout(150)
            assert page.evaluate("typeof window.__xss") == "undefined", path
        # The suggestion link and a hit link, followed like a reader would.
        page.goto(server.url + "/?" + urlencode({"q": SUGGEST_QUERY}))
        with page.expect_navigation():
            page.click("p.did-you-mean a")
        assert page.locator("#q").input_value() == f"{QUERY_PAYLOAD} Giftartikel"
        page.goto(server.url + "/?" + urlencode({"q": "Giftartikel"}))
        with page.expect_navigation():
            page.click("h2.hit-title a >> nth=0")
        assert "/article/" in page.url
        page.wait_for_timeout(200)
    finally:
        context.close()
    assert not ran, ran
