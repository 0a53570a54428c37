"""Dates in queries and filters: ``2024``, ``2024-03``, ``2024-01..2024-06``, ``>2024-03-01``.

A year, month or day stands for every instant in it.  Dates outside what the
archive can hold (before year 1, after 9999) are a ``BadRequest`` naming the
value, never an overflow.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from search.errors import BadRequest
from search.query.plan import DateRange

_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")
_OPERATOR = re.compile(r"^(>=|<=|>|<)(.+)$")
_TICK = timedelta(microseconds=1)


def date_bounds(text: str) -> tuple[datetime, datetime]:
    """The first and last instant a date, month or year stands for."""
    text = text.strip()
    m = _DATE.match(text)
    try:
        if not m:
            try:
                dt = datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
            except ValueError:
                raise BadRequest(f"{text[:40]!r} is not a date; use YYYY, YYYY-MM or YYYY-MM-DD", "date") from None
            return dt, dt
        year, month, day = int(m.group(1)), m.group(2), m.group(3)
        if day:
            start = datetime(year, int(month), int(day))
            return start, _last_instant(start + timedelta(days=1))
        if month:
            start = datetime(year, int(month), 1)
            if start.month == 12:
                return start, _last_instant(datetime(year + 1, 1, 1) if year < 9999 else None)
            return start, _last_instant(datetime(year, start.month + 1, 1))
        return datetime(year, 1, 1), _last_instant(datetime(year + 1, 1, 1) if year < 9999 else None)
    except (ValueError, OverflowError):
        raise BadRequest(f"{text[:40]!r} is not a valid date", "date") from None


def _last_instant(next_start: datetime | None) -> datetime:
    """The instant before ``next_start``; the end of time for the year 9999."""
    return next_start - _TICK if next_start is not None else datetime.max


def date_range(spec: str) -> DateRange:
    """The range a date expression stands for (see the module docstring)."""
    spec = spec.strip()
    if ".." in spec:
        lo_text, hi_text = spec.split("..", 1)
        return DateRange(
            date_bounds(lo_text)[0] if lo_text.strip() else None,
            date_bounds(hi_text)[1] if hi_text.strip() else None,
        )
    m = _OPERATOR.match(spec)
    if m:
        op, rest = m.groups()
        lo, hi = date_bounds(rest)
        if op == ">":
            return DateRange(hi + _TICK if hi < datetime.max else datetime.max, None)
        if op == ">=":
            return DateRange(lo, None)
        if op == "<":
            return DateRange(None, lo - _TICK if lo > datetime.min else datetime.min)
        return DateRange(None, hi)
    lo, hi = date_bounds(spec)
    return DateRange(lo, hi)


def request_range(date_from: str | None, date_to: str | None) -> DateRange | None:
    """The ``date_from``/``date_to`` parameters as one range; errors name the parameter."""
    if not date_from and not date_to:
        return None
    try:
        start = date_bounds(date_from)[0] if date_from else None
    except BadRequest as exc:
        raise BadRequest(f"date_from: {exc.reason}", "date_from") from None
    try:
        end = date_bounds(date_to)[1] if date_to else None
    except BadRequest as exc:
        raise BadRequest(f"date_to: {exc.reason}", "date_to") from None
    if start and end and start > end:
        raise BadRequest("date_from is after date_to", "date_from")
    return DateRange(start, end)
