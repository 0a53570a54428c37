"""Snippets with the matched words marked.

The stored text is re-analysed with the document's own chain (index mode,
so compound parts carry their whole word's character span): a token whose
term the query matched marks the *whole surface word*, which is how
"Sicherheitsgarantien" lights up for the query "Garantie".
Everything is HTML-escaped except the ``<mark>`` tags.
"""
from __future__ import annotations

from html import escape

from search import analysis

FRAGMENT_CHARS = 220
MAX_FRAGMENTS = 2
SCAN_CHARS = 10000  # snippets come from the start of long bodies: re-analysis is the cost


def spans(text: str, lang: str, terms: set[str], surfaces: set[str]) -> list[tuple[int, int]]:
    """Merged character spans of the words in ``text`` that match.

    Only paragraphs that contain the start of some query term (a cheap
    substring test on the folded text) are re-analysed: that is the cost.
    """
    probes = {analysis.GermanFolder.fold(t)[:4] for t in terms | surfaces if t}
    found = []
    chain = analysis.analyzer_for(lang)
    start = 0
    for para in text.split("\n\n"):
        folded = analysis.GermanFolder.fold(para.lower())
        if any(p in folded for p in probes):
            found += _match_spans(chain, para, terms, start)
            if surfaces:
                found += _SURFACE.match_spans(para, surfaces, start)
        start += len(para) + 2
    found.sort()
    merged: list[tuple[int, int]] = []
    for s, e in found:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


_SURFACE = analysis.surface_analyzer()


def _match_spans(chain, text: str, terms: set[str], start: int) -> list[tuple[int, int]]:
    """Spans of the index-mode tokens whose term matched: the fused chain's fast path where there is one."""
    if isinstance(chain, analysis.FusedChain):
        return chain.match_spans(text, terms, start)
    return [(t.startchar, t.endchar) for t in chain(text, chars=True, mode="index", start_char=start) if t.text in terms]


def mark(text: str, marks: list[tuple[int, int]], start: int = 0, end: int | None = None) -> str:
    end = len(text) if end is None else end
    out, pos = [], start
    for s, e in marks:
        if e <= start or s >= end:
            continue
        out.append(escape(text[pos:s]))
        out.append(f"<mark>{escape(text[s:e])}</mark>")
        pos = e
    out.append(escape(text[pos:end]))
    return "".join(out)


def fragments(text: str, marks: list[tuple[int, int]], size: int = FRAGMENT_CHARS,
              limit: int = MAX_FRAGMENTS) -> list[str]:
    """Up to ``limit`` windows of ``text`` with the most marks, in text order."""
    if not marks:
        return []
    windows = []
    for s, _ in marks:
        lo = max(0, s - size // 3)
        lo = text.rfind(" ", 0, lo) + 1 if lo else 0
        hi = min(len(text), lo + size)
        if hi < len(text):
            cut = text.rfind(" ", lo, hi)
            hi = cut if cut > lo else hi
        count = sum(1 for a, b in marks if a >= lo and b <= hi)
        windows.append((count, lo, hi))
    chosen: list[tuple[int, int]] = []
    for _, lo, hi in sorted(windows, key=lambda w: (-w[0], w[1])):
        if all(hi <= a or lo >= b for a, b in chosen):
            chosen.append((lo, hi))
        if len(chosen) == limit:
            break
    out = []
    for lo, hi in sorted(chosen):
        frag = mark(text, marks, lo, hi).replace("\n\n", " ¶ ").replace("\n", " ")
        out.append(("…" if lo > 0 else "") + frag + ("…" if hi < len(text) else ""))
    return out


def highlight(doc: dict, terms: set[str], surfaces: set[str]) -> dict[str, list[str]]:
    lang = analysis.language_of(doc.get("language"))
    title = doc.get("title") or ""
    body = (doc.get("body") or "")[:SCAN_CHARS]
    title_marks = spans(title, lang, terms, surfaces)
    body_marks = spans(body, lang, terms, surfaces)
    return {
        "title": [mark(title, title_marks)] if title_marks else [],
        "body": fragments(body, body_marks),
    }
