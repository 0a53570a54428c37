"""JSON API under /api: every endpoint, parameter and error, against the real engine and demo index."""
from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode

import pytest

from web import create_app
from web.openapi import OPENAPI

try:
    from web_conftest_helpers import HOSTILE_ARTICLES, hostile_index
except ImportError:  # tests/ imported as a package
    from tests.web_conftest_helpers import HOSTILE_ARTICLES, hostile_index

HIT_KEYS = {"id", "score", "title", "teaser", "url", "date", "location", "sources", "category", "language",
            "story_id", "more_in_story", "highlights"}
TOP_KEYS = {"query", "total", "page", "size", "next_cursor", "took_ms", "hits", "facets", "date_histogram",
            "suggestion", "notes"}
FACETS = ("location", "source", "category", "language")


@pytest.fixture(scope="module")
def app(engine):
    return create_app(engine=engine)


@pytest.fixture()
def client(app):
    return app.test_client()


def get_json(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.data[:500])
    assert r.mimetype == "application/json", (url, r.mimetype)
    return r.get_json()


def assert_error(client, url, status, *, param=None, method="GET", **kwargs):
    r = client.open(url, method=method, **kwargs)
    assert r.status_code == status, (url, r.status_code, r.data[:500])
    assert r.mimetype == "application/json"
    body = r.get_json()
    assert set(body) == {"error", "status"}
    assert body["status"] == status
    assert isinstance(body["error"]["type"], str) and body["error"]["type"]
    assert isinstance(body["error"]["reason"], str) and body["error"]["reason"]
    if param is not None:
        assert body["error"].get("param") == param, body
    return body


def some_article_id(engine, q="Sicherheitsgarantie"):
    hits = engine.search(q, size=1)["hits"]
    assert hits, f"the demo index has no article for {q!r}"
    return hits[0]["id"]


# -- /api/search ---------------------------------------------------------------

def test_search_contract(client):
    body = get_json(client, "/api/search?q=Sicherheitsgarantie")
    assert TOP_KEYS <= set(body)
    assert body["query"] == "Sicherheitsgarantie"
    assert body["total"]["relation"] == "eq" and body["total"]["value"] >= 1
    assert body["page"] == 1 and body["size"] == 10
    assert isinstance(body["took_ms"], (int, float))
    assert isinstance(body["notes"], list)
    assert 1 <= len(body["hits"]) <= 10
    for hit in body["hits"]:
        assert HIT_KEYS <= set(hit), set(hit) ^ HIT_KEYS
        assert isinstance(hit["sources"], list)
        assert set(hit["highlights"]) >= {"title", "body"}
    marked = [f for h in body["hits"] for f in h["highlights"]["title"] + h["highlights"]["body"]]
    assert any("<mark>" in f for f in marked)
    assert set(body["facets"]) == set(FACETS)
    for rows in body["facets"].values():
        for row in rows:
            assert set(row) >= {"value", "count", "selected"}
    for bucket in body["date_histogram"]:
        assert re.fullmatch(r"\d{4}-\d{2}", bucket["key"]) and bucket["count"] >= 1


def test_search_is_the_engine_answer(client, engine):
    body = get_json(client, "/api/search?q=Hochwasser&size=5")
    direct = engine.search("Hochwasser", size=5)
    assert [h["id"] for h in body["hits"]] == [h["id"] for h in direct["hits"]]
    assert body["total"] == direct["total"]


def test_search_without_query_lists_everything(client, engine):
    body = get_json(client, "/api/search?sort=newest&size=100")
    assert body["total"]["value"] == engine.health()["documents"]
    dates = [h["date"] for h in body["hits"] if h["date"]]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("sort,reverse", [("newest", True), ("oldest", False)])
def test_search_sort_by_date(client, sort, reverse):
    body = get_json(client, f"/api/search?q=Genf&sort={sort}&size=50")
    dates = [h["date"] for h in body["hits"] if h["date"]]
    assert len(dates) >= 2
    assert dates == sorted(dates, reverse=reverse)


@pytest.mark.parametrize("query,param", [
    ("size=101", "size"),
    ("size=0", "size"),
    ("size=-3", "size"),
    ("size=ten", "size"),
    ("page=abc", "page"),
    ("page=0", "page"),
    ("page=1.5", "page"),
    ("page=99999999999999999999", "page"),
    ("sort=best", "sort"),
    ("collapse=maybe", "collapse"),
    ("highlight=perhaps", "highlight"),
    ("date_from=2025-13-45", "date_from"),
    ("date_from=gestern", "date_from"),
    ("date_to=2025-02-30", "date_to"),
    ("cursor=not-a-cursor", "cursor"),
])
def test_search_bad_parameters(client, query, param):
    body = assert_error(client, f"/api/search?q=Genf&{query}", 400, param=param)
    assert body["error"]["type"] == "bad_request"


def test_search_size_limits(client):
    assert len(get_json(client, "/api/search?size=100")["hits"]) <= 100
    assert len(get_json(client, "/api/search?size=1")["hits"]) == 1
    assert get_json(client, "/api/search?size=&page=")["size"] == 10  # empty means default


def test_search_paging_and_cursor(client):
    first = get_json(client, "/api/search?sort=newest&size=5")
    second = get_json(client, "/api/search?sort=newest&size=5&page=2")
    assert second["page"] == 2
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}
    assert first["next_cursor"]
    via_cursor = get_json(client, "/api/search?" + urlencode({"sort": "newest", "size": 5,
                                                               "cursor": first["next_cursor"]}))
    assert [h["id"] for h in via_cursor["hits"]] == [h["id"] for h in second["hits"]]


def test_search_tampered_cursor(client):
    cursor = get_json(client, "/api/search?sort=newest&size=5")["next_cursor"]
    flipped = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    assert_error(client, "/api/search?" + urlencode({"sort": "newest", "size": 5, "cursor": flipped}),
                 400, param="cursor")
    # A valid cursor of another search is refused too.
    assert_error(client, "/api/search?" + urlencode({"sort": "oldest", "size": 5, "cursor": cursor}),
                 400, param="cursor")


def test_search_repeated_filters_or_within_and_across(client):
    facet = get_json(client, "/api/search?size=1")["facets"]["language"]
    assert len(facet) >= 2, "the demo archive has articles in several languages"
    a, b = facet[0], facet[1]
    both = get_json(client, f"/api/search?size=100&language={a['value']}&language={b['value']}")
    assert both["total"]["value"] == a["count"] + b["count"]  # one language per article: OR adds up
    assert {h["language"] for h in both["hits"]} == {a["value"], b["value"]}
    selected = {row["value"] for row in both["facets"]["language"] if row["selected"]}
    assert selected == {a["value"], b["value"]}

    location = both["facets"]["location"][0]["value"]
    narrowed = get_json(client, "/api/search?" + urlencode(
        [("size", 100), ("language", a["value"]), ("language", b["value"]), ("location", location)]))
    assert 1 <= narrowed["total"]["value"] <= both["total"]["value"]
    assert all(h["location"] == location and h["language"] in (a["value"], b["value"])
               for h in narrowed["hits"])


def test_search_source_filter(client):
    source = get_json(client, "/api/search?q=Genf")["facets"]["source"][0]["value"]
    body = get_json(client, "/api/search?" + urlencode({"q": "Genf", "source": source, "size": 50}))
    assert body["hits"] and all(source in h["sources"] for h in body["hits"])


def test_search_empty_filter_values_are_ignored(client):
    plain = get_json(client, "/api/search?q=Genf")
    assert get_json(client, "/api/search?q=Genf&location=&source=")["total"] == plain["total"]


def test_search_date_range(client):
    body = get_json(client, "/api/search?date_from=2025-03-01&date_to=2025-03-31&size=100")
    assert body["hits"]
    assert all(h["date"][:7] == "2025-03" for h in body["hits"])
    assert [b["key"] for b in body["date_histogram"]] == ["2025-03"]
    assert_error(client, "/api/search?date_from=2025-04-01&date_to=2025-03-01", 400)


def test_search_collapse(client, engine):
    full = engine.search("", size=100)
    collapsed = get_json(client, "/api/search?collapse=true&size=100")
    story_ids = [h["story_id"] for h in collapsed["hits"]]
    assert len(story_ids) == len(set(story_ids)), "one article per story"
    assert collapsed["total"]["value"] == full["total"]["value"], "total counts articles, as facets do"
    assert full["stories"] is None and len(story_ids) == collapsed["stories"] < full["total"]["value"]
    grouped = [h for h in collapsed["hits"] if h["more_in_story"] > 0]
    assert grouped
    assert sum(h["more_in_story"] + 1 for h in collapsed["hits"]) == full["total"]["value"]
    story = get_json(client, "/api/stories/" + quote(grouped[0]["story_id"]))
    assert story["size"] == grouped[0]["more_in_story"] + 1 == len(story["articles"])
    assert grouped[0]["id"] in [a["id"] for a in story["articles"]]
    assert [a["date"] for a in story["articles"]] == sorted(a["date"] for a in story["articles"])
    assert_error(client, "/api/stories/no-such-story", 404)
    default = get_json(client, "/api/search?size=100")
    assert default["total"] == full["total"], "collapse defaults to false"
    for value in ("false", "0", "no", "off"):
        assert get_json(client, f"/api/search?size=100&collapse={value}")["total"] == full["total"]
    for value in ("true", "1", "yes", "on", "TRUE"):
        assert get_json(client, f"/api/search?size=100&collapse={value}")["total"] == collapsed["total"]


def test_search_highlight_switch(client):
    body = get_json(client, "/api/search?q=Sicherheitsgarantie&highlight=false")
    assert body["hits"]
    assert all(not h["highlights"]["title"] and not h["highlights"]["body"] for h in body["hits"])


def test_search_lang_parameter(client):
    body = get_json(client, "/api/search?q=rates&lang=en")
    assert body["hits"]
    body = assert_error(client, "/api/search?q=rates&lang=klingonisch", 400, param="lang")
    assert "unknown language" in body["error"]["reason"] and "de" in body["error"]["reason"]


def test_search_overlong_query_is_cut_not_refused(client):
    q = " ".join(["Sicherheitsgarantie"] * 80)  # about 1,600 characters
    body = get_json(client, "/api/search?" + urlencode({"q": q}))
    assert "query cut to its first 1000 characters" in body["notes"]  # it says that it shortened the query
    assert body["hits"] and body["hits"][0]["highlights"]["body"]  # and searched what was left


@pytest.mark.parametrize("q", [
    '"', '""', '"unclosed phrase', "(", ")", "((a)", "AND", "OR", "NOT", "a AND", "-", "--", "*", "?", "~",
    "^", "title:", ":", "a:b:c", "[", "]", "{", "}", "\\", "/", "a~2", "a^3", "*x", "x**", "ä*", "&", "%",
    "%00", "\x00", "\x01\x02", "\u200b", "\U0001f4a9", "\ufffd", "<script>alert(1)</script>", "' OR 1=1 --",
    "a" * 300, "Köln -Köln", "-Köln", "NOT Köln", "Straße", "STRASSE", "über", "ß" * 50,
])
def test_hostile_queries_never_cause_500(client, q):
    r = client.get("/api/search?" + urlencode({"q": q}))
    assert r.status_code in (200, 400), (q, r.status_code, r.data[:300])
    body = r.get_json()
    if r.status_code == 200:
        assert TOP_KEYS <= set(body)
    else:
        assert body["error"]["type"] == "bad_request"


def test_weird_parameter_encodings_never_cause_500(client):
    for raw in ["q=%ff%fe", "q=%", "q=%zz", "q&q&q", "location=%ff", "sort=%00", "page=%EF%BC%91",
                "size=%D9%A3", "date_from=%ff", "cursor=%ff%ff", "lang=%00", "collapse=%ff"]:
        r = client.get("/api/search?" + raw)
        assert r.status_code in (200, 400), (raw, r.status_code, r.data[:300])
        assert r.mimetype == "application/json"


# -- /api/articles -------------------------------------------------------------

def test_article(client, engine):
    doc_id = some_article_id(engine)
    body = get_json(client, "/api/articles/" + quote(doc_id))
    assert body["id"] == doc_id
    assert body == engine.get(doc_id)
    for key in ("title", "teaser", "body", "url", "date", "location", "sources", "category", "language",
                "publisher", "story_id"):
        assert key in body
    assert "\n\n" in body["body"]


@pytest.mark.parametrize("doc_id", ["does-not-exist", "a/b/c", "x%2Fy", "..%2F..%2Fetc%2Fpasswd", "%00", "ü"])
def test_article_unknown_id(client, doc_id):
    body = assert_error(client, "/api/articles/" + doc_id, 404)
    assert body["error"]["type"] == "not_found"


def test_related(client, engine):
    doc_id = some_article_id(engine, "Bank of England")
    body = get_json(client, f"/api/articles/{quote(doc_id)}/related")
    assert set(body) == {"same_story", "related"}
    assert body["related"], "the demo archive has related coverage"
    ids = [h["id"] for h in body["same_story"] + body["related"]]
    assert doc_id not in ids
    for hit in body["same_story"] + body["related"]:
        assert {"id", "title", "sources", "date"} <= set(hit)
    assert body["same_story"], "the Bank of England decision is reported by several outlets"
    story = engine.get(doc_id)["story_id"]
    assert all(h["story_id"] == story for h in body["same_story"])
    small = get_json(client, f"/api/articles/{quote(doc_id)}/related?size=1")
    assert len(small["related"]) <= 1 and len(small["same_story"]) <= 1


def test_related_errors(client, engine):
    doc_id = some_article_id(engine)
    assert_error(client, f"/api/articles/{quote(doc_id)}/related?size=0", 400, param="size")
    assert_error(client, f"/api/articles/{quote(doc_id)}/related?size=x", 400, param="size")
    assert_error(client, "/api/articles/nope/related", 404)


# -- /api/suggest, /api/explain, /api/health -----------------------------------

def test_suggest(client):
    body = get_json(client, "/api/suggest?q=Bahn")
    assert body["query"] == "Bahn"
    assert body["suggestions"] and all(isinstance(s, str) for s in body["suggestions"])
    assert all(s.lower().startswith("bahn") for s in body["suggestions"])
    assert len(get_json(client, "/api/suggest?q=Bahn&size=2")["suggestions"]) <= 2
    multi = get_json(client, "/api/suggest?" + urlencode({"q": "Köln Hochw"}))["suggestions"]
    assert multi and all(s.startswith("Köln ") for s in multi), "the full query is completed"


def test_suggest_opensearch_format(client):
    r = client.get("/api/suggest?q=Sicherh&format=opensearch")
    assert r.status_code == 200
    assert r.mimetype == "application/x-suggestions+json"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    q, completions = json.loads(r.data)
    assert q == "Sicherh"
    assert completions and all(c.lower().startswith("sicherh") for c in completions)


def test_suggest_edge_cases(client):
    assert get_json(client, "/api/suggest")["suggestions"] == []
    assert get_json(client, "/api/suggest?q=%20%20")["suggestions"] == []
    assert get_json(client, "/api/suggest?q=zzzzqqqq")["suggestions"] == []
    get_json(client, "/api/suggest?" + urlencode({"q": "x" * 5000}))
    get_json(client, "/api/suggest?" + urlencode({"q": '"(*'}))
    assert_error(client, "/api/suggest?q=a&format=xml", 400, param="format")
    assert_error(client, "/api/suggest?q=a&size=0", 400, param="size")


def test_explain(client, engine):
    doc_id = some_article_id(engine)
    body = get_json(client, "/api/explain?" + urlencode({"q": "Sicherheitsgarantie", "id": doc_id}))
    assert isinstance(body, dict) and body
    json.dumps(body)
    assert_error(client, "/api/explain?q=Genf", 400, param="id")
    assert_error(client, "/api/explain?" + urlencode({"id": doc_id}), 400, param="q")
    assert_error(client, "/api/explain?q=Genf&id=nope", 404)


def test_health(client, engine):
    body = get_json(client, "/api/health")
    assert body["status"] == "ok"
    assert body["documents"] == engine.health()["documents"] > 0
    assert isinstance(body["index_version"], str)


# -- HTTP-level errors ---------------------------------------------------------

@pytest.mark.parametrize("path", ["/api", "/api/", "/api/nope", "/api/search/extra", "/api/articles/",
                                  "/api/health.json"])
def test_unknown_api_path_is_json_404(client, path):
    assert assert_error(client, path, 404)["error"]["type"] == "not_found"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_json_405(client, method):
    r = client.open("/api/search", method=method)
    body = assert_error(client, "/api/search", 405, method=method)
    assert body["error"]["type"] == "method_not_allowed"
    assert "GET" in r.headers["Allow"]


def test_large_body_is_413(client):
    body = assert_error(client, "/api/search", 413, method="POST", data=b"x" * (65 * 1024),
                        content_type="application/octet-stream")
    assert body["error"]["type"] == "payload_too_large"
    assert_error(client, "/api/search?q=a", 413, method="GET", data=b"x" * (100 * 1024))


def test_long_query_string_is_refused(client):
    r = client.get("/api/search?" + urlencode({"q": "a" * 9000}))
    assert r.status_code == 414
    assert r.get_json() == {"error": {"type": "uri_too_long", "reason": r.get_json()["error"]["reason"]},
                            "status": 414} and "8000" in r.get_json()["error"]["reason"]


def test_unexpected_exception_is_json_500(engine):
    app = create_app(engine=engine)

    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/_boom", "boom", boom)
    r = app.test_client().get("/api/_boom")
    assert r.status_code == 500
    body = r.get_json()
    assert body == {"error": {"type": "internal_error", "reason": "internal server error"}, "status": 500}
    assert b"secret internals" not in r.data
    assert r.headers["X-Content-Type-Options"] == "nosniff"


# -- headers -------------------------------------------------------------------

def test_cors_on_api(client):
    for url in ("/api/search?q=Genf", "/api/health", "/api/nope", "/api/search?size=500"):
        assert client.get(url).headers.get("Access-Control-Allow-Origin") == "*", url
    pre = client.options("/api/search", headers={"Origin": "https://example.org",
                                                 "Access-Control-Request-Method": "GET"})
    assert pre.status_code in (200, 204)
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in pre.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in client.get("/").headers


@pytest.mark.parametrize("url", ["/api/search?q=Genf", "/api/nope", "/api/search?size=101", "/", "/?size=101",
                                 "/feed.atom", "/opensearch.xml", "/static/style.css", "/nope"])
def test_security_headers(client, url):
    h = client.get(url).headers
    csp = h["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "style-src 'self'" in csp
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "DENY"
    assert h["Referrer-Policy"]
    assert h["Permissions-Policy"]


# -- OpenAPI -------------------------------------------------------------------

def _resolve(doc, ref):
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def test_openapi_document(client, app):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = json.loads(r.data)
    assert doc == OPENAPI
    assert re.fullmatch(r"3\.\d+\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    for ref in _refs(doc):
        _resolve(doc, ref)

    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            served.add(re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule))
    assert served == set(doc["paths"]), served ^ set(doc["paths"])

    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert method == "get"
            assert op["responses"]["200"]
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path
    search_params = {p["name"] for p in doc["paths"]["/api/search"]["get"]["parameters"]}
    assert search_params >= {"q", "lang", "page", "size", "cursor", "sort", "location", "source", "category",
                             "language", "date_from", "date_to", "collapse"}


def _validate(doc: dict, schema: dict, value, where: str = "$") -> None:
    """A small JSON Schema check (type, enum, required, properties, additionalProperties, items, $ref)."""
    if "$ref" in schema:
        return _validate(doc, _resolve(doc, schema["$ref"]), value, where)
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        python = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list,
                  "object": dict, "null": type(None)}
        assert any(isinstance(value, python[k]) and not (k in ("integer", "number") and isinstance(value, bool))
                   for k in kinds), f"{where}: {value!r} is not {kinds}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if isinstance(value, dict):
        assert set(schema.get("required", ())) <= set(value), f"{where}: lacks {set(schema['required']) - set(value)}"
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            assert set(value) <= set(props), f"{where}: undocumented {set(value) - set(props)}"
        for key, item in value.items():
            sub = props.get(key, schema.get("additionalProperties"))
            if isinstance(sub, dict):
                _validate(doc, sub, item, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _validate(doc, schema["items"], item, f"{where}[{i}]")


@pytest.mark.parametrize("url", [
    "/api/search?q=Genf", "/api/search?q=Bahnstreik&collapse=true", "/api/search?q=Sicherheitsgarantie&size=1",
    "/api/search?q=&sort=newest&source=zeit.de", "/api/search?q=Maskenplficht", "/api/search?size=1000",
    "/api/articles/2025-03-13-bahnstreik-berlin-spiegel.txt",
    "/api/articles/2025-03-13-bahnstreik-berlin-spiegel.txt/related", "/api/articles/nope",
    "/api/suggest?q=Bah", "/api/health", "/api/search?sort=random",
])
def test_every_response_matches_the_documented_schema(client, url):
    """Each answer is exactly what the OpenAPI document says: no undocumented field, none missing."""
    r = client.get(url)
    path = url.split("?")[0]
    template = next(p for p in sorted(OPENAPI["paths"], key=len, reverse=True)
                    if re.fullmatch(re.escape(p).replace(re.escape("{id}"), ".+"), path))
    response = OPENAPI["paths"][template]["get"]["responses"][str(r.status_code)]
    schema = response["content"]["application/json"]["schema"]
    body = json.loads(r.data)
    _validate(OPENAPI, schema, body)
    if template == "/api/articles/{id}" and r.status_code == 200:
        assert "path" not in body and "line" not in body  # where the server read it is not the public's business


# -- odd ids ---------------------------------------------------------------------

def test_ids_with_slashes_and_odd_characters_round_trip(tmp_path_factory):
    from search.engine import Engine

    engine = Engine(hostile_index(tmp_path_factory))
    try:
        client = create_app(engine=engine).test_client()
        listed = get_json(client, "/api/search?size=100")
        ids = sorted(h["id"] for h in listed["hits"])
        assert ids == sorted(a["id"] for a in HOSTILE_ARTICLES)
        for doc_id in ids:
            assert get_json(client, "/api/articles/" + quote(doc_id))["id"] == doc_id
            related = get_json(client, "/api/articles/" + quote(doc_id) + "/related")
            assert doc_id not in [h["id"] for h in related["same_story"] + related["related"]]
        body = get_json(client, "/api/search?q=B%C3%B6se")
        for hit in body["hits"]:
            for frag in hit["highlights"]["title"] + hit["highlights"]["body"]:
                assert "<script" not in frag and "<img" not in frag
    finally:
        engine.close()


def test_index_updates_are_picked_up_without_restart(tmp_path):
    """The web layer calls engine.refresh() per request, so a re-index shows up at once."""
    import subprocess
    import sys

    from search.engine import Engine
    from web.server import PROJECT_ROOT

    src = tmp_path / "articles"
    src.mkdir()
    (src / "one.json").write_text(json.dumps(HOSTILE_ARTICLES[1], ensure_ascii=False), "utf-8")
    index_dir = tmp_path / "index"

    def index():
        subprocess.run([sys.executable, "-m", "search", "index", "--index-dir", str(index_dir), "--quiet", str(src)],
                       check=True, cwd=PROJECT_ROOT)

    index()
    engine = Engine(index_dir)
    try:
        client = create_app(engine=engine).test_client()
        assert get_json(client, "/api/health")["documents"] == 1
        second = dict(HOSTILE_ARTICLES[1], id="neu/zweiter", title="Zweiter Artikel zum Nachladen")
        (src / "two.json").write_text(json.dumps(second, ensure_ascii=False), "utf-8")
        index()
        assert get_json(client, "/api/health")["documents"] == 2
        assert get_json(client, "/api/articles/neu/zweiter")["title"] == "Zweiter Artikel zum Nachladen"
    finally:
        engine.close()


# -- the app factory -----------------------------------------------------------

def test_create_app_opens_the_index_itself(demo_index):
    app = create_app(index_dir=demo_index)
    r = app.test_client().get("/api/health")
    assert r.status_code == 200 and r.get_json()["documents"] > 0

