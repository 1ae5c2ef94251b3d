"""The client's parts, each tested alone: date windows, the retry policy, the rate limiter,
the quota ledger."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tiktok_research._checks import parse_date
from tiktok_research._ledger import Ledger
from tiktok_research._ratelimit import RateLimiter
from tiktok_research._retry import RetryBudget, RetryPolicy, parse_retry_after, retry_kind
from tiktok_research._windows import halve, split_windows
from tiktok_research.errors import (
    InvalidRequestError,
    QuotaExhaustedError,
    RateLimitedError,
    ServerError,
    UnavailableError,
)

# --- dates and windows ------------------------------------------------------------------------


def test_parse_date_accepts_the_documented_forms() -> None:
    d = date(2024, 1, 31)
    assert parse_date(d) == parse_date("20240131") == parse_date("2024-01-31") == d
    assert parse_date(datetime(2024, 1, 31, 23, 0)) == d
    # an aware datetime is taken on its UTC day
    assert parse_date(datetime(2024, 2, 1, 1, 0, tzinfo=timezone(timedelta(hours=5)))) == d
    with pytest.raises(InvalidRequestError, match="YYYYMMDD"):
        parse_date("31/01/2024")


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


def test_what_is_retried() -> None:
    assert retry_kind(ServerError("x", http_status=500)) == "server"
    assert retry_kind(RateLimitedError("x", http_status=429)) == "rate_limit"
    assert retry_kind(QuotaExhaustedError("x", http_status=429)) is None
    assert (
        retry_kind(InvalidRequestError("Search Id 7378809778820092971 is invalid or expired"))
        == "transient"
    )
    assert retry_kind(InvalidRequestError("Invalid count or cursor")) == "transient"
    assert retry_kind(InvalidRequestError("Invalid field")) is None
    assert retry_kind(UnavailableError("`username: x` is invalid: cannot find the user")) is None


def test_backoff_grows_is_capped_jittered_and_honours_retry_after() -> None:
    p = RetryPolicy(initial_delay=1.0, max_delay=8.0, jitter=0.25)
    d = [p.delay(a, "server") for a in range(6)]
    assert 0.75 <= d[0] <= 1.25 and 1.5 <= d[1] <= 2.5 and all(x <= 10.0 for x in d)
    assert p.delay(0, "transient") >= 5.0  # the search_id quirk needs a few seconds
    assert p.delay(0, "rate_limit") >= 10.0
    assert p.delay(0, "server", retry_after=30.0) >= 30.0
    assert RetryPolicy(jitter=0).delay(10, "server") == 60.0


def test_retry_after_parsing() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_per_request_limit_and_shared_budget() -> None:
    p = RetryPolicy(max_retries=2, budget=3)
    budget = RetryBudget(p.budget)
    err = ServerError("boom", http_status=500)
    assert p.should_retry(err, 0, budget) and p.should_retry(err, 1, budget)
    assert p.should_retry(err, 2, budget) is None  # per-request limit
    assert p.should_retry(err, 0, budget)  # third retry of the budget
    assert p.should_retry(err, 0, budget) is None and budget.remaining == 0
    assert p.should_retry(InvalidRequestError("Invalid field"), 0, RetryBudget(9)) is None
    assert p.should_retry(err, 0, RetryBudget(9), retry_after=3600) is None  # too long: raise
    daily = RetryBudget(3)
    seqs = [RetryBudget(2, parent=daily) for _ in range(3)]
    assert [s.take() for s in seqs for _ in range(2)] == [True, True, True, False, False, False]
    assert daily.remaining == 0 and seqs[2].remaining == 0


# --- rate limiter -----------------------------------------------------------------------------


def test_limiter_spaces_requests_across_threads() -> None:
    now = [100.0]
    limiter = RateLimiter(4.0, sleep=lambda s: None, monotonic=lambda: now[0])
    waits: list[float] = []
    lock = threading.Lock()

    def go() -> None:
        w = limiter.reserve()
        with lock:
            waits.append(w)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == [i * 0.25 for i in range(8)]  # one slot every 1/qps seconds
    assert RateLimiter(None).reserve() == 0.0


def test_limiter_async_shares_the_schedule() -> None:
    import asyncio

    limiter = RateLimiter(1000.0)

    async def main() -> list[float]:
        return list(await asyncio.gather(*(limiter.acquire_async() for _ in range(5))))

    waits = asyncio.run(main())
    assert len(waits) == 5 and max(waits) > 0


# --- ledger -----------------------------------------------------------------------------------


def test_ledger_counts_by_day_and_family_and_hides_the_key(tmp_path: Path) -> None:
    led = Ledger("my-client-key", tmp_path)
    day = date(2025, 3, 1)
    led.record("video_query", day)
    led.record("video_query", day)
    led.record("followers", day)
    led.record("video_query", day + timedelta(days=1))
    assert led.by_endpoint(day) == {"video_query": 2, "followers": 1}
    assert led.used(day) == {"research": 2, "social": 1}
    assert "my-client-key" not in led.path.name
    assert all("my-client-key" not in p.read_text() for p in tmp_path.iterdir() if p.is_file())


def test_ledger_is_safe_across_threads(tmp_path: Path) -> None:
    day = date(2025, 3, 1)

    def work() -> None:
        led = Ledger("k", tmp_path)
        for _ in range(25):
            led.record("comments", day)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Ledger("k", tmp_path).by_endpoint(day) == {"comments": 100}


def test_ledger_survives_a_new_process(tmp_path: Path) -> None:
    day = date(2025, 3, 1)
    Ledger("k", tmp_path).record("user_info", day, 3)
    code = (
        "import sys, datetime; from tiktok_research._ledger import Ledger\n"
        "l = Ledger('k', sys.argv[1]); d = datetime.date(2025, 3, 1)\n"
        "l.record('user_info', d, 2); print(l.by_endpoint(d)['user_info'])\n"
    )
    procs = [
        subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
        )
        for _ in range(2)
    ]
    assert [p.stdout.strip() for p in procs] == ["5", "7"]
    assert Ledger("k", tmp_path).by_endpoint(day) == {"user_info": 7}
    assert json.loads(Ledger("k", tmp_path).path.read_text()) == {"2025-03-01": {"user_info": 7}}


def test_ledger_default_location_follows_the_cache_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_RESEARCH_CACHE_DIR", str(tmp_path))
    led = Ledger("k")
    led.record("video_query", date(2025, 1, 1))
    assert led.path.parent == tmp_path / "quota" and led.path.exists()
    assert os.environ["TIKTOK_RESEARCH_CACHE_DIR"] == str(tmp_path)
