"""The date windows of a video query: the split of a range, and one window's request body.

Boundary convention (api-notes §11): a window ``(start, end)`` is *inclusive* on both days, i.e.
it asks for videos created in ``[start 00:00:00 UTC, end 23:59:59 UTC]``; ``end - start`` is at most
``max_days`` (30) days, so a window covers up to 31 calendar days. Consecutive windows never share
a day: the next window starts the day after the previous one ends. Over an inclusive service,
every day is therefore asked exactly once: nothing is lost and nothing is doubled.

Should the service treat ``end_date`` as *exclusive* (one client documents that), non-overlapping
windows would each lose their last day. The client copes without changing the windows: with
``Client(end_date_exclusive=True)`` it sends ``end_date = end + 1 day`` on the wire (and limits the
windows to ``max_days - 1`` so that the wire range stays within 30 days), so each logical window
still covers exactly ``[start, end]``. Rows are also de-duplicated on ``id`` by the collection
layer, so a one-day overlap could never double-count. :func:`window_body` is the one place that
shift is made: the planner, the collection engine and ``Client.pages`` all build a window's body
with it. Days themselves (parsing, the API's ``YYYYMMDD``) are :mod:`tiktok_research._checks`'.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from ._checks import check_range, format_date, parse_date
from ._endpoints import MAX_WINDOW_DAYS
from .errors import InvalidRequestError

__all__ = ["NOT_INDEXED_DAYS", "halve", "split_windows", "window_body", "window_days"]

NOT_INDEXED_DAYS = 2  # api-notes §3.1 / FAQ: new videos take up to 48 hours to be searchable


def window_days(exclusive: bool) -> int:
    """The largest ``end - start`` of a window: 30 days, or 29 when the service treats
    ``end_date`` as exclusive (its wire range, ``end + 1 day``, must stay within 30)."""
    return MAX_WINDOW_DAYS - 1 if exclusive else MAX_WINDOW_DAYS


def window_body(
    query: Mapping[str, Any],
    start: date,
    end: date,
    *,
    exclusive: bool,
    is_random: bool = False,
) -> dict[str, Any]:
    """The request body keys of one date window ``[start, end]`` (both days inclusive).

    The one place ``end_date_exclusive`` is applied: such a service is sent ``end + 1 day``.

    Example:
        >>> q = {"and": [{"operation": "EQ", "field_name": "keyword", "field_values": ["x"]}]}
        >>> window_body(q, date(2024, 3, 1), date(2024, 3, 5), exclusive=True)["end_date"]
        '20240306'
    """
    body: dict[str, Any] = {
        "query": dict(query),
        "start_date": format_date(start),
        "end_date": format_date(end + timedelta(days=1) if exclusive else end),
    }
    if is_random:
        body["is_random"] = True
    return body


def split_windows(
    start: date | datetime | str,
    end: date | datetime | str,
    max_days: int = MAX_WINDOW_DAYS,
) -> list[tuple[date, date]]:
    """Split ``[start, end]`` (both days inclusive) into consecutive non-overlapping windows.

    Each window ``(s, e)`` has ``e - s <= max_days`` days; the next window starts at ``e + 1 day``.

    Args:
        start: First day.
        end: Last day (inclusive).
        max_days: Largest ``end - start`` of a window (the API allows 30).

    Returns:
        The windows, oldest first.

    Raises:
        InvalidRequestError: if the range is reversed or ``max_days`` is negative.

    Example:
        >>> [(s.isoformat(), e.isoformat()) for s, e in split_windows("20240101", "20240215")]
        [('2024-01-01', '2024-01-31'), ('2024-02-01', '2024-02-15')]
    """
    s, e = parse_date(start), parse_date(end)
    check_range(s, e)
    if max_days < 0:
        raise InvalidRequestError(f"max_days must be >= 0, got {max_days}")
    out: list[tuple[date, date]] = []
    cur = s
    step = timedelta(days=max_days)
    while cur <= e:
        w_end = min(cur + step, e)
        out.append((cur, w_end))
        cur = w_end + timedelta(days=1)
    return out


def halve(start: date, end: date) -> list[tuple[date, date]]:
    """Split one window into two non-overlapping halves (a one-day window cannot be split)."""
    days = (end - start).days
    if days <= 0:
        return [(start, end)]
    mid = start + timedelta(days=days // 2)
    return [(start, mid), (mid + timedelta(days=1), end)]
