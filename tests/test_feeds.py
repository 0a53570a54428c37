"""Atom and RSS feeds of a search and the OpenSearch description, parsed by real parsers."""
from __future__ import annotations

import calendar
import json
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlencode, urlsplit

import feedparser
import pytest

from web import create_app
from web.feeds import xml_text

try:
    from web_conftest_helpers import HOSTILE_ARTICLES, hostile_index
except ImportError:  # tests/ imported as a package
    from tests.web_conftest_helpers import HOSTILE_ARTICLES, hostile_index

OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
ATOM_NS = "http://www.w3.org/2005/Atom"


@pytest.fixture(scope="module")
def app(engine):
    return create_app(engine=engine, config={"STICHWORT_PUBLIC_URL": "https://archiv.example.org"})


@pytest.fixture()
def client(app):
    return app.test_client()


def fetch_feed(client, url, mimetype):
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.data[:500])
    assert r.mimetype == mimetype
    assert r.mimetype_params.get("charset") == "utf-8"
    ET.fromstring(r.data)  # well-formed XML
    parsed = feedparser.parse(r.data, response_headers={"content-type": r.headers["Content-Type"]})
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed, r


def entry_times(parsed):
    stamps = []
    for e in parsed.entries:
        t = e.get("published_parsed") or e.get("updated_parsed")
        assert t is not None
        stamps.append(calendar.timegm(t))
    return stamps


@pytest.mark.parametrize("kind,mimetype,version", [
    ("atom", "application/atom+xml", "atom10"),
    ("rss", "application/rss+xml", "rss20"),
])
def test_feed_of_a_search(client, engine, kind, mimetype, version):
    parsed, _ = fetch_feed(client, f"/feed.{kind}?q=Hochwasser", mimetype)
    assert parsed.version == version
    assert "Hochwasser" in parsed.feed.title
    expected = engine.search("Hochwasser", sort="newest", size=20)
    assert len(parsed.entries) == len(expected["hits"]) > 0
    stamps = entry_times(parsed)
    assert stamps == sorted(stamps, reverse=True), "newest first"
    for entry, hit in zip(parsed.entries, expected["hits"], strict=True):
        assert entry.title == hit["title"]
        assert urlsplit(entry.link).path == "/article/" + quote(hit["id"])
        assert entry.link.startswith("https://archiv.example.org/")  # the public address, not the Host header
        if hit["teaser"]:
            assert entry.summary == hit["teaser"]
        if hit["category"]:
            assert entry.tags[0].term == hit["category"]
        assert entry.get("author")
    assert urlsplit(parsed.feed.link).path == "/"


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_feed_without_query_lists_newest(client, engine, kind):
    parsed, _ = fetch_feed(client, f"/feed.{kind}", f"application/{kind}+xml")
    newest = engine.search("", sort="newest", size=20)
    assert [urlsplit(e.link).path for e in parsed.entries] == ["/article/" + quote(h["id"]) for h in newest["hits"]]
    assert len(parsed.entries) == 20


@pytest.mark.parametrize("size,expected", [("50", 50), ("500", 50), ("1", 1), ("0", 1), ("-5", 1), ("", 20)])
def test_feed_size_is_clamped(client, engine, size, expected):
    total = engine.health()["documents"]
    parsed, _ = fetch_feed(client, f"/feed.atom?size={size}", "application/atom+xml")
    assert len(parsed.entries) == min(expected, total)


def test_feed_ignores_sort_and_takes_filters(client, engine):
    parsed, _ = fetch_feed(client, "/feed.rss?sort=oldest&language=en", "application/rss+xml")
    expected = engine.search("", filters={"language": ["en"]}, sort="newest", size=20)
    assert [urlsplit(e.link).path for e in parsed.entries] == ["/article/" + quote(h["id"]) for h in expected["hits"]]
    stamps = entry_times(parsed)
    assert stamps == sorted(stamps, reverse=True)


def test_feed_bad_parameters(client):
    for url in ("/feed.atom?size=abc", "/feed.rss?page=x", "/feed.atom?date_from=nope", "/feed.rss?cursor=zz"):
        r = client.get(url)
        assert r.status_code == 400, url
        assert r.mimetype == "text/plain"


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_hostile_query_keeps_feeds_well_formed(client, kind):
    hostile = '<script>alert("x")</script> ]]> &amp; \x01\x02\x0b\x1f \ufffe \ud7ff "\'<![CDATA[ Genf'
    parsed, r = fetch_feed(client, f"/feed.{kind}?" + urlencode({"q": hostile}), f"application/{kind}+xml")
    assert b"<script>" not in r.data
    assert "<script>" in parsed.feed.title  # escaped in XML, the text itself survives
    assert "\x01" not in parsed.feed.title


def test_xml_text_strips_illegal_characters():
    assert xml_text("a\x00b\x08c\x0bd\x1fe\ufffef\uffffg") == "abcdefg"
    assert xml_text("Tab\tLF\nCR\r ok €\U0001f600") == "Tab\tLF\nCR\r ok €\U0001f600"
    assert xml_text(None) == ""


def test_atom_self_link_and_opensearch_elements(client, engine):
    r = client.get("/feed.atom?q=Genf&size=5")
    root = ET.fromstring(r.data)
    assert root.tag == f"{{{ATOM_NS}}}feed"
    self_link = root.find(f"{{{ATOM_NS}}}link[@rel='self']")
    assert self_link is not None and "q=Genf" in self_link.get("href")
    total = root.find(f"{{{OPENSEARCH_NS}}}totalResults")
    assert int(total.text) == engine.search("Genf")["total"]["value"]


def test_opensearch_description(client):
    r = client.get("/opensearch.xml")
    assert r.status_code == 200
    assert r.mimetype == "application/opensearchdescription+xml"
    root = ET.fromstring(r.data)
    assert root.tag == f"{{{OPENSEARCH_NS}}}OpenSearchDescription"
    short = root.find(f"{{{OPENSEARCH_NS}}}ShortName").text
    assert short and len(short) <= 16
    assert root.find(f"{{{OPENSEARCH_NS}}}Description").text
    assert root.find(f"{{{OPENSEARCH_NS}}}InputEncoding").text == "UTF-8"
    urls = {u.get("type"): u.get("template") for u in root.findall(f"{{{OPENSEARCH_NS}}}Url")}
    for mime in ("text/html", "application/x-suggestions+json", "application/atom+xml"):
        assert "{searchTerms}" in urls[mime], mime
        assert urls[mime].startswith("https://archiv.example.org/")

    # Every template works when filled in.
    html = client.get(urlsplit(urls["text/html"].replace("{searchTerms}", "Genf"))._replace(
        scheme="", netloc="").geturl())
    assert html.status_code == 200 and html.mimetype == "text/html"
    suggest_url = urls["application/x-suggestions+json"].replace("{searchTerms}", "Sicherh")
    s = client.get(urlsplit(suggest_url)._replace(scheme="", netloc="").geturl())
    assert s.mimetype == "application/x-suggestions+json"
    q, completions = json.loads(s.data)
    assert q == "Sicherh" and completions
    atom_url = urls["application/atom+xml"].replace("{searchTerms}", "Genf")
    parsed = feedparser.parse(client.get(urlsplit(atom_url)._replace(scheme="", netloc="").geturl()).data)
    assert parsed.bozo == 0 and parsed.entries


def test_feeds_are_advertised(client):
    r = client.get("/?q=Genf")
    text = r.data.decode()
    assert 'type="application/atom+xml" href="/feed.atom?q=Genf"' in text
    assert 'type="application/rss+xml" href="/feed.rss?q=Genf"' in text


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_hostile_articles_keep_feeds_well_formed(tmp_path_factory, kind):
    from search.engine import Engine

    engine = Engine(hostile_index(tmp_path_factory))
    try:
        client = create_app(engine=engine).test_client()
        parsed, r = fetch_feed(client, f"/feed.{kind}", f"application/{kind}+xml")
        assert len(parsed.entries) == len(HOSTILE_ARTICLES)
        assert b"<script>" not in r.data and b"<img" not in r.data
        titles = {e.title for e in parsed.entries}
        assert any(t.startswith("<script>alert") for t in titles)
        for entry in parsed.entries:
            assert not any(ord(c) < 32 and c not in "\t\n\r" for c in entry.title + entry.get("summary", ""))
            assert "javascript:" not in " ".join(link.href for link in entry.get("links", []))
            assert urlsplit(entry.link).path.startswith("/article/")
    finally:
        engine.close()


def test_a_forged_host_header_never_reaches_the_description(client):
    """The OpenSearch description and feeds name the configured public address, whatever ``Host:`` says."""
    for path in ("/opensearch.xml", "/feed.atom?q=Genf", "/feed.rss?q=Genf"):
        body = client.get(path, headers={"Host": "evil.example"}).get_data(as_text=True)
        assert "evil.example" not in body and "https://archiv.example.org/" in body, path
