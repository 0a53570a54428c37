"""The reader UI in a real headless Chromium (Debian's /usr/bin/chromium) against a live gunicorn.

Skipped with a reason when Chromium or Playwright is missing — except in CI (env CI set), where that fails.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

try:
    from web_conftest_helpers import start_live_server
except ImportError:  # tests/ imported as a package
    from tests.web_conftest_helpers import start_live_server


pytestmark = pytest.mark.slow  # scripts/test --fast leaves these out


@pytest.fixture(scope="module")
def live_server(browser, demo_index, tmp_path_factory):
    server = start_live_server(demo_index, tmp_path_factory.mktemp("gunicorn-browser"))
    try:
        yield server
    finally:
        server.stop()


class Console:
    """Collects console errors, uncaught page errors and failed requests of one page."""

    def __init__(self, page):
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} {r.failure}")
                if "/api/suggest" not in r.url else None)  # superseded autocomplete fetches are aborted

    def assert_clean(self):
        assert not self.problems, "\n".join(self.problems)


def new_page(browser, width=1280, height=900):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page, Console(page)


def query(page):
    return parse_qs(urlsplit(page.url).query)


def test_search_facets_and_paging(browser, live_server, engine, tmp_path):
    context, page, console = new_page(browser)
    try:
        page.goto(live_server.url + "/")
        assert page.locator("html").get_attribute("lang") == "de"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"

        # Search by typing and pressing Enter.
        page.fill("#q", "Bahnstreik")
        with page.expect_navigation():
            page.press("#q", "Enter")
        assert query(page)["q"] == ["Bahnstreik"]
        assert page.locator("li.hit").count() == len(engine.search("Bahnstreik", collapse=True)["hits"]) > 0
        assert page.locator("li.hit mark").count() > 0
        page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

        # Autocomplete fills the datalist from /api/suggest.
        page.fill("#q", "")
        page.type("#q", "Sicherh", delay=40)
        # (wait_for_function would need eval, which the Content-Security-Policy rightly forbids)
        page.locator("#q-suggestions option").first.wait_for(state="attached")
        options = page.eval_on_selector_all("#q-suggestions option", "els => els.map(e => e.value)")
        assert options and all(o.lower().startswith("sicherh") for o in options)

        # Tick two facet values and apply.
        page.click("a.brand")
        page.wait_for_url(live_server.url + "/")
        page.check("fieldset.facet-language input[value='de']")
        page.check("fieldset.facet-language input[value='en']")
        with page.expect_navigation():
            page.click("button.apply-filters")
        assert sorted(query(page)["language"]) == ["de", "en"]
        assert page.locator("fieldset.facet-language input:checked").count() == 2
        chips = page.locator(".chips a.chip").all_inner_texts()
        assert any("Deutsch" in c for c in chips) and any("Englisch" in c for c in chips)
        expected = engine.search("", filters={"language": ["de", "en"]}, sort="newest", collapse=True)
        assert expected["total"]["value"] > 10

        # Change page.
        first_page = page.locator("h2.hit-title a").all_inner_texts()
        with page.expect_navigation():
            page.click("nav.pagination a[rel='next']")
        assert query(page)["page"] == ["2"]
        assert sorted(query(page)["language"]) == ["de", "en"]
        assert page.locator("nav.pagination a[aria-current='page']").inner_text() == "2"
        assert not set(first_page) & set(page.locator("h2.hit-title a").all_inner_texts())
        page.screenshot(path=str(tmp_path / "page2.png"), full_page=True)

        # Choosing another order submits at once (JavaScript) and keeps the filters.
        with page.expect_navigation():
            page.select_option("#sort", "oldest")
        assert query(page)["sort"] == ["oldest"]
        assert sorted(query(page)["language"]) == ["de", "en"]
        dates = page.eval_on_selector_all("ol.hits time", "els => els.map(e => e.getAttribute('datetime'))")
        assert dates == sorted(dates)
        console.assert_clean()
    finally:
        context.close()


def test_article_and_related_link(browser, live_server, engine, tmp_path):
    context, page, console = new_page(browser)
    try:
        page.goto(live_server.url + "/?q=Hochwasser")
        first = engine.search("Hochwasser", collapse=True)["hits"][0]
        with page.expect_navigation():
            page.click("h2.hit-title a >> nth=0")
        assert "/article/" in page.url
        assert page.locator("h1").inner_text() == engine.get(first["id"])["title"]
        assert page.locator("#same-story h2").inner_text() == "Gleiche Meldung bei"
        assert page.locator("#related h2").inner_text() == "Verwandte Berichterstattung"
        page.screenshot(path=str(tmp_path / "article.png"), full_page=True)

        page.wait_for_selector("#related ul.related-list a")  # fetched after the page was shown
        assert page.locator("#related .related-later").count() == 0
        assert page.locator("article mark").count() > 0  # the search's words are marked in the article
        related = page.locator("#related ul.related-list a")
        assert related.count() > 0
        target_title = related.first.inner_text()
        before = page.url
        with page.expect_navigation():
            related.first.click()
        assert page.url != before and "/article/" in page.url
        assert page.locator("h1").inner_text() == target_title
        console.assert_clean()
    finally:
        context.close()


def test_language_switch(browser, live_server, tmp_path):
    context, page, console = new_page(browser)
    try:
        page.goto(live_server.url + "/?q=Genf")
        assert page.locator("label[for='q']").inner_text() == "Suchbegriff"
        with page.expect_navigation():
            page.click("a.lang-switch")
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("label[for='q']").inner_text() == "Search terms"
        assert query(page)["q"] == ["Genf"]
        page.screenshot(path=str(tmp_path / "english.png"), full_page=True)

        page.goto(live_server.url + "/")  # remembered in a cookie
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("h1").inner_text() == "Latest articles"

        with page.expect_navigation():
            page.click("a.lang-switch")
        assert page.locator("html").get_attribute("lang") == "de"
        assert page.locator("h1").inner_text() == "Neueste Artikel"
        console.assert_clean()
    finally:
        context.close()


def test_keyboard_only(browser, live_server):
    context, page, console = new_page(browser)
    try:
        page.goto(live_server.url + "/")
        for _ in range(6):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "q":
                break
        assert page.evaluate("document.activeElement.id") == "q"
        page.keyboard.type("Genf")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert query(page)["q"] == ["Genf"]
        page.focus("fieldset.facet-location input[type='checkbox'] >> nth=0")
        page.keyboard.press("Space")
        assert page.locator("fieldset.facet-location input:checked").count() == 1
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none", "focused controls are visible"
        console.assert_clean()
    finally:
        context.close()


def test_phone_layout(browser, live_server, tmp_path):
    context, page, console = new_page(browser, width=390, height=844)
    try:
        for path in ("/?q=Genf", "/article/2024-01-04-rhein-hochwasser-koeln-ksta.txt", "/"):
            page.goto(live_server.url + path)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
            name = re.sub(r"\W+", "_", path).strip("_") or "start"
            page.screenshot(path=str(tmp_path / f"phone-{name}.png"), full_page=True)
        assert page.locator("#q").is_visible()
        console.assert_clean()
    finally:
        context.close()
