"""Copies shown once: the same article exported or re-sent several times lists as one.

Same-story grouping puts copies into their original's story (``search.index.stories``);
a list of a story's other reports would then repeat one text. A copy is known by its
link (scheme, ``www.`` and a trailing slash aside) or, without one, by its title and day.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def copy_key(record: dict[str, Any]) -> tuple[str, str]:
    """What copies of one article share."""
    url = str(record.get("url") or "").strip().lower()
    if url:
        url = url.split("://", 1)[-1].removeprefix("www.").rstrip("/")
        return ("url", url)
    return ("title", f"{str(record.get('title') or '').strip().lower()}\x00{str(record.get('date') or '')[:10]}")


def distinct(items: Iterable[T], record_of, seen: set[tuple[str, str]] | None = None) -> list[T]:
    """``items`` without copies of an earlier one (or of any record whose key is in ``seen``)."""
    seen = set() if seen is None else seen
    out = []
    for item in items:
        key = copy_key(record_of(item))
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
