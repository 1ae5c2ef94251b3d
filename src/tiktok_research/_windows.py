"""Date parsing and the split of long date ranges into the API's windows.

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
layer, so a one-day overlap could never double-count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ._endpoints import MAX_WINDOW_DAYS
from .errors import InvalidRequestError

__all__ = ["check_range", "format_date", "halve", "parse_date", "split_windows"]

NOT_INDEXED_DAYS = 2  # api-notes §3.1 / FAQ: new videos take up to 48 hours to be searchable


def parse_date(value: date | datetime | str) -> date:
    """Parse a day given as a date, a datetime (its UTC day), ``"YYYYMMDD"`` or ``"YYYY-MM-DD"``.

    Args:
        value: The day.

    Returns:
        The calendar day (UTC for aware datetimes).

    Raises:
        InvalidRequestError: if the value is not a valid day.

    Example:
        >>> parse_date("2024-01-31"), parse_date("20240131")
        (datetime.date(2024, 1, 31), datetime.date(2024, 1, 31))
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y%m%d", "%Y-%m-%d"):
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise InvalidRequestError(
            f"{value!r} is not a date: use 'YYYYMMDD' (e.g. '20240131'), 'YYYY-MM-DD' "
            "or a datetime.date"
        )
    raise InvalidRequestError(f"{value!r} is not a date: pass a datetime.date or 'YYYYMMDD'")


def format_date(day: date) -> str:
    """``date`` -> ``"YYYYMMDD"`` (the API's format)."""
    return day.strftime("%Y%m%d")


def check_range(start: date, end: date) -> None:
    """Raise :class:`InvalidRequestError` if ``end`` is before ``start``."""
    if end < start:
        raise InvalidRequestError(
            f"the date range is reversed: start_date {start.isoformat()} is after end_date "
            f"{end.isoformat()}; swap them"
        )


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
