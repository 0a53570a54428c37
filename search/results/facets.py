"""Facet counts and the date histogram, read from columns of the matched documents."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import chain

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


def _values(raw, multi: bool) -> tuple[str, ...]:
    if raw is None or raw == b"" or raw == "":
        return ()
    value = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    return tuple(value.split("\t")) if multi else (value,)


class Columns:
    """The facet and month columns of one commit, each read whole and decoded once.

    Counting a search's matches then costs a list look-up per match; reading the
    column per match (Whoosh decodes a value per call) was a fifth of a search's time."""

    def __init__(self, reader):
        self._reader = reader
        self._cache: dict[str, list[tuple[str, ...]]] = {}

    def values(self, column: str, multi: bool = False) -> list[tuple[str, ...]]:
        """Per document number, its values in ``column`` (an empty tuple for none)."""
        cached = self._cache.get(column)
        if cached is None:
            reader, canon = self._reader, {}
            col = reader.column_reader(column) if reader.has_column(column) else None
            cached = [()] * reader.doc_count_all()
            if col is not None:
                for docnum in range(len(cached)):
                    vals = _values(column_value(col, docnum), multi)
                    cached[docnum] = canon.setdefault(vals, vals)
            self._cache[column] = cached
        return cached

    def _count(self, column: str, multi: bool, docnums: Iterable[int]) -> Counter:
        values = self.values(column, multi)
        return Counter(chain.from_iterable(map(values.__getitem__, docnums)))

    def count(self, facet: str, docnums: Iterable[int]) -> Counter:
        column, _, multi = FACET_FIELDS[facet]
        return self._count(column, multi, docnums)

    def histogram(self, docnums: Iterable[int], by: str = "month") -> list[dict]:
        months = self._count("month", False, docnums)
        return _buckets(months if by == "month" else _years(months))

    def histograms(self, docnums: Iterable[int]) -> tuple[list[dict], list[dict]]:
        """Matches per month and per year, counted once."""
        months = self._count("month", False, docnums)
        return _buckets(months), _buckets(_years(months))


def _years(months: Counter) -> Counter:
    years: Counter = Counter()
    for key, n in months.items():
        years[key[:4]] += n
    return years


def _buckets(counts: Counter) -> list[dict]:
    return [{"key": k, "count": counts[k]} for k in sorted(counts) if k]


def listing(counts: Counter, selected: list[str], limit: int = 20) -> list[dict]:
    """Most frequent first; selected values always listed, even at zero."""
    chosen = {s.lower() for s in selected}
    rows = counts.most_common(limit)
    shown = {v.lower() for v, _ in rows}
    rows += [(s, counts.get(s, 0)) for s in selected if s.lower() not in shown]
    return [{"value": v, "count": c, "selected": v.lower() in chosen} for v, c in rows]
