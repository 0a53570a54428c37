"""Shared helpers for the web-layer tests: a small HTML tree, a live gunicorn, browser skip rules.

Imported by tests/test_web_ui.py, tests/test_live_server.py and tests/test_browser.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from web.server import PROJECT_ROOT, BackgroundServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    """An element of a parsed HTML page (enough for tests: tag, attributes, children, text)."""

    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None = None):
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Node | str] = []

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        out = []
        for node in self.iter():
            if tag and node.tag != tag:
                continue
            if cls and cls not in (node.attrs.get("class") or "").split():
                continue
            if any(node.attrs.get(k.rstrip("_").replace("_", "-")) != v for k, v in attrs.items()):
                continue
            out.append(node)
        return out

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node | None:
        found = self.find_all(tag, cls, **attrs)
        return found[0] if found else None

    def one(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, cls, **attrs)
        assert found, f"no <{tag or '*'} class={cls} {attrs}> in the page"
        return found[0]

    @property
    def text(self) -> str:
        parts: list[str] = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text)
        return " ".join("".join(parts).split())

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.stack[-1])
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.stack[-1])
        self.stack[-1].children.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(markup: str | bytes) -> Node:
    if isinstance(markup, bytes):
        markup = markup.decode("utf-8")
    builder = _TreeBuilder()
    builder.feed(markup)
    builder.close()
    return builder.root


def require_chromium() -> None:
    """Skip without /usr/bin/chromium or Playwright — except in CI, where that is a failure."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package is missing (pip install 'playwright==1.65.*')")
    if missing:
        reason = "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {reason}", pytrace=False)
        pytest.skip(f"browser tests skipped: {reason}")


def start_live_server(index_dir: Path, log_dir: Path) -> BackgroundServer:
    """gunicorn (1 worker) serving ``index_dir`` on a free loopback port."""
    server = BackgroundServer(index_dir, host="127.0.0.1", workers=1, log_path=log_dir / "gunicorn.log")
    return server.start()


#: Articles with markup, control characters, odd ids and a javascript: URL, for escaping tests.
HOSTILE_ARTICLES = [
    {
        "id": "feindlich/2026/<script>?#%20 x",
        "title": "<script>alert('t')</script> Böse & \u0001 ]]> Titel",
        "teaser": "<img src=x onerror=alert(1)> Anreißer \u000b",
        "body": "Erster Absatz mit <b>Markup</b> & Steuerzeichen \u0001\u000b.\n\n"
                "<h1>Keine Überschrift</h1>\n\nSchluss mit Punkt.",
        "url": "javascript:alert(1)",
        "sources": ["evil.example\"><script>", "https://ok.example/path"],
        "location": "<Ort>", "category": "<Rubrik>", "language": "de", "date": "2026-01-02",
        "publisher": "<Evil>",
    },
    {
        "id": "a/b//c",
        "title": "Harmloser Artikel über Böse Dinge",
        "teaser": "Kurz.",
        "body": "Ein Text über böse Dinge und Markup.\n\nZwischentitel ohne Punkt\n\nNoch ein Absatz.",
        "url": "https://example.org/a", "sources": ["example.org"], "location": "Berlin",
        "category": "Politik", "language": "de", "date": "2026-01-03",
    },
]

_hostile_indexes: dict[str, Path] = {}


def hostile_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real index (built with ``python -m search index``) of HOSTILE_ARTICLES; built once per session."""
    key = str(tmp_path_factory.getbasetemp())
    if key not in _hostile_indexes:
        root = tmp_path_factory.mktemp("hostile")
        src = root / "articles"
        src.mkdir()
        (src / "hostile.json").write_text(json.dumps(HOSTILE_ARTICLES, ensure_ascii=False), "utf-8")
        subprocess.run(
            [sys.executable, "-m", "search", "index", "--index-dir", str(root / "index"), "--quiet", str(src)],
            check=True, cwd=PROJECT_ROOT,
        )
        _hostile_indexes[key] = root / "index"
    return _hostile_indexes[key]
