"""_windows: date ranges cut into request windows (split_windows, halve)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tiktok_research._windows import halve, split_windows
from tiktok_research.errors import InvalidRequestError


def test_windows_boundary_convention() -> None:
    w = split_windows("20240101", "20240302")
    assert w == [
        (date(2024, 1, 1), date(2024, 1, 31)),  # end - start == 30 days (the API's maximum)
        (date(2024, 2, 1), date(2024, 3, 2)),
    ]
    assert split_windows("20240105", "20240105") == [(date(2024, 1, 5), date(2024, 1, 5))]
    with pytest.raises(InvalidRequestError, match="reversed"):
        split_windows("20240105", "20240104")


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2016, 1, 1), date(2030, 1, 1)), st.integers(0, 800), st.integers(0, 30))
def test_windows_cover_every_day_exactly_once(start: date, days: int, max_days: int) -> None:
    end = start + timedelta(days=days)
    windows = split_windows(start, end, max_days)
    assert windows[0][0] == start and windows[-1][1] == end
    for s, e in windows:
        assert s <= e and (e - s).days <= max_days
    for (_, e1), (s2, _) in itertools.pairwise(windows):
        assert s2 == e1 + timedelta(days=1)  # no gap, no shared day


def test_halve_splits_without_overlap() -> None:
    assert halve(date(2024, 1, 1), date(2024, 1, 30)) == [
        (date(2024, 1, 1), date(2024, 1, 15)),
        (date(2024, 1, 16), date(2024, 1, 30)),
    ]
    assert halve(date(2024, 1, 1), date(2024, 1, 2)) == [
        (date(2024, 1, 1), date(2024, 1, 1)),
        (date(2024, 1, 2), date(2024, 1, 2)),
    ]
    assert halve(date(2024, 1, 1), date(2024, 1, 1)) == [(date(2024, 1, 1), date(2024, 1, 1))]
