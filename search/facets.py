"""Facet counts and the date histogram, read from columns of the matched documents."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

#: facet name -> (column, filter field, multi-valued)
FACET_FIELDS = {
    "location": ("location_col", "location", False),
    "source": ("source_col", "source", True),
    "category": ("category_col", "category", False),
    "language": ("language", "language", False),
}


def column_value(col, docnum: int):
    """A column's value, or None for a document without one: Whoosh 2.7.5 column readers
    raise IndexError past a segment's last value and OverflowError for an empty date."""
    try:
        return col[docnum]
    except (IndexError, OverflowError, ValueError):
        return None


def _values(raw, multi: bool) -> list[str]:
    if raw is None or raw == b"" or raw == "":
        return []
    value = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    return value.split("\t") if multi else [value]


def count(reader, facet: str, docnums: Iterable[int]) -> Counter:
    column, _, multi = FACET_FIELDS[facet]
    col = reader.column_reader(column) if reader.has_column(column) else None
    counts: Counter = Counter()
    if col is None:
        return counts
    for docnum in docnums:
        counts.update(_values(column_value(col, docnum), multi))
    return counts


def listing(counts: Counter, selected: list[str], limit: int = 20) -> list[dict]:
    """Most frequent first; selected values always listed, even at zero."""
    chosen = {s.lower() for s in selected}
    rows = counts.most_common(limit)
    shown = {v.lower() for v, _ in rows}
    rows += [(s, counts.get(s, 0)) for s in selected if s.lower() not in shown]
    return [{"value": v, "count": c, "selected": v.lower() in chosen} for v, c in rows]


def histogram(reader, docnums: Iterable[int], by: str = "month") -> list[dict]:
    col = reader.column_reader("month") if reader.has_column("month") else None
    counts: Counter = Counter()
    if col is not None:
        for docnum in docnums:
            key = column_value(col, docnum)
            if key:
                key = key.decode() if isinstance(key, bytes) else key
                counts[key[:4] if by == "year" else key] += 1
    return [{"key": k, "count": counts[k]} for k in sorted(counts)]
