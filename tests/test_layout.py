"""The layering a newcomer relies on: Whoosh's storage internals live in ``search/backend`` only.

The analysis package builds its chains from Whoosh's public analysis API (``whoosh.analysis``,
``whoosh.lang``: tokens, filters, stop lists), the way Whoosh documents it; everything else
Whoosh offers (segments, postings, searchers, fields, formats) is the backend's business, and
the web layer imports nothing of Whoosh at all.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPORT = re.compile(r"^\s*(?:from|import)\s+(whoosh[\w.]*)", re.M)
PUBLIC_ANALYSIS = ("whoosh.analysis", "whoosh.lang")


def whoosh_imports(path: Path) -> set[str]:
    return set(IMPORT.findall(path.read_text("utf-8")))


def test_only_the_backend_touches_whoosh_storage():
    outside = [p for p in (ROOT / "search").rglob("*.py") if "backend" not in p.relative_to(ROOT / "search").parts]
    offending = {str(p.relative_to(ROOT)): sorted(m for m in whoosh_imports(p) if not m.startswith(PUBLIC_ANALYSIS))
                 for p in outside}
    assert {p: m for p, m in offending.items() if m} == {}
    assert any(whoosh_imports(p) for p in (ROOT / "search" / "backend").rglob("*.py"))


def test_the_web_layer_never_imports_whoosh():
    assert {str(p.relative_to(ROOT)) for p in (ROOT / "web").rglob("*.py") if whoosh_imports(p)} == set()
