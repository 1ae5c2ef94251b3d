"""Attacks on "never pay twice" when windows fail: narrowing, outages, stale search ids (issue 9).

Items 7 (a failing window does not pay again for the pages it holds), 8 (token-endpoint failures
and connection errors do not split windows) and 10 (after a long quota wait a stale ``search_id``
is re-opened with one request). All over the in-process sandbox: requests are counted there, and
the rows of every ok page are seen through ``_faultproxy.FaultTransport`` (which also injects the
network faults the sandbox cannot: refused connections, resets, timeouts).

Results come newest first and a video id carries its creation time, so the pages a window holds
cover its newest days: a failing window can be narrowed to end at the oldest day held, which
re-fetches at most one day's rows. Each window asked that was not in the plan is allowed one
day's overlap; nothing else may be paid twice.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import tiktok_research as tr
from _faultproxy import FaultPlan, FaultTransport
from _sandboxes import Clock, MakeClient, MakeSandbox, new_client, new_sandbox, spent
from tiktok_research.sandbox import FaultConfig, Sandbox

N_VIDEOS = 20_000
QUERY = tr.Q.video_length.isin(["SHORT", "MID", "LONG", "EXTRA_LONG"])
VIDEOS = "/v2/research/video/query/"


def _windows(sb: Sandbox, since: int = 0) -> set[tuple[str, str]]:
    return {
        (r.body["start_date"], r.body["end_date"])
        for r in sb.request_log[since:]
        if r.endpoint == "video_query" and r.body
    }


def recording_client(
    sb: Sandbox, plan: FaultPlan | None = None, **kw: Any
) -> tuple[tr.Client, FaultTransport]:
    """A client of ``sb`` through a FaultTransport that sees every page (and can inject faults)."""
    transport = FaultTransport(sb.transport(), plan)
    kw.setdefault("sleep", lambda s: None)
    client = tr.Client(
        "sandbox",
        "sandbox",
        base_url=Sandbox.BASE_URL,
        transport=transport,
        qps=None,
        ledger=False,
        **kw,
    )
    return client, transport


@dataclass
class Clean:
    table: pl.DataFrame
    pages: int
    windows: set[tuple[str, str]]
    day_rows: int  # most rows any one day holds
    day_pages: int  # pages a one-day overlap can cost


def _clean(start: str, end: str, fields: str | None = None) -> Clean:
    sb = new_sandbox(n_videos=N_VIDEOS)
    with new_client(sb) as client:
        table = tr.fetch_videos(QUERY, start, end, client=client, progress=False)
    day = table.group_by(pl.col("create_time").dt.date()).len()["len"].max()
    assert isinstance(day, int)
    if fields is not None:
        table = table.select(fields.split(","))
    return Clean(pl.DataFrame(table), spent(sb), _windows(sb), day, math.ceil(day / 100) + 1)


# --------------------------------------------------------------- item 7: a failing window

ONE_WINDOW = ("20240101", "20240131")  # 17 pages


@pytest.fixture(scope="module")
def one_window() -> Clean:
    return _clean(*ONE_WINDOW)


def test_a_failing_window_does_not_pay_again_for_the_pages_it_holds(
    one_window: Clean, tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sb = make_sandbox(n_videos=N_VIDEOS)
    sb.script_faults(["ok"] * 10 + ["internal_error"] * 2, endpoint="video_query")
    got = tr.fetch_videos(
        QUERY,
        *ONE_WINDOW,
        client=make_client(sb),
        archive=tmp_path,
        progress=False,
        max_workers=1,
    )
    assert got.report.complete and got.equals(one_window.table)
    allowed = one_window.pages + 2 + one_window.day_pages
    assert spent(sb) <= allowed, (
        f"{spent(sb)} requests paid; the clean run pays {one_window.pages}, plus 2 failed "
        f"requests and at most {one_window.day_pages} pages of one day's overlap"
    )


def test_a_failing_window_is_retried_a_few_times_before_it_is_narrowed(
    one_window: Clean, tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sb = make_sandbox(n_videos=N_VIDEOS)
    sb.script_faults(["ok"] * 5 + ["internal_error", "gateway_timeout", "internal_error"])
    got = tr.fetch_videos(
        QUERY,
        *ONE_WINDOW,
        client=make_client(sb),
        archive=tmp_path,
        progress=False,
        max_workers=1,
    )
    assert got.report.complete and got.equals(one_window.table)
    assert _windows(sb) == one_window.windows, "the window was split or narrowed after 3 failures"
    assert spent(sb) == one_window.pages + 3


@pytest.mark.slow
def test_twenty_seeded_5xx_storms_refetch_nothing_beyond_one_day_overlaps(
    make_sandbox: MakeSandbox,
) -> None:
    start, end, fields = "20240101", "20240330", "id,create_time"
    clean = _clean(start, end, fields)
    again_total = allowed_total = failed_total = 0
    for seed in range(20):
        faults = FaultConfig(seed=seed, internal_error=0.05, gateway_timeout=0.02)
        sb = make_sandbox(n_videos=N_VIDEOS, faults=faults)
        client, transport = recording_client(sb)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = tr.fetch_videos(QUERY, start, end, fields=fields, client=client, progress=False)
        assert got.report.complete and got.select(clean.table.columns).equals(clean.table)
        ledger = transport.ledger
        extra = len(_windows(sb)) - len(clean.windows)
        again_total += ledger.rows_delivered_again()
        allowed_total += extra * clean.day_rows
        failed_total += sum(1 for r in sb.request_log if r.status >= 500)
    assert failed_total > 40  # the storms happened
    assert again_total <= allowed_total, (
        f"{again_total:,} rows were paid for twice over 20 runs ({failed_total} failed requests); "
        f"one day's overlap per narrowed window allows {allowed_total:,}"
    )


# ------------------------------------------------------- item 8: outages do not split windows

RANGE = ("20240101", "20240330")


@pytest.fixture(scope="module")
def three_windows() -> Clean:
    return _clean(*RANGE)


OUTAGES = {
    # what fails during the second run, and where
    "token-endpoint-refuses": ("token", "refuse"),
    "token-endpoint-500": ("token", "error_500"),
    "data-connection-refused": ("data", "refuse"),
    "data-connection-dropped": ("data", "drop"),
    "data-connection-reset": ("data", "reset"),
    "data-read-timeout": ("data", "stall"),
}


@pytest.mark.parametrize(
    "outage",
    [
        "token-endpoint-refuses",
        "token-endpoint-500",
        "data-connection-refused",
        "data-connection-dropped",
        "data-connection-reset",
        "data-read-timeout",
    ],
)
def test_an_outage_does_not_fragment_windows(
    three_windows: Clean, tmp_path: Path, outage: str, make_sandbox: MakeSandbox
) -> None:
    """Stop after 10 pages; run again during an outage; run again after it: no extra cost."""
    sb = make_sandbox(n_videos=N_VIDEOS)
    plan = FaultPlan()
    where, kind = OUTAGES[outage]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tr.fetch_videos(
            QUERY,
            *RANGE,
            client=recording_client(sb, plan, max_requests=10)[0],
            archive=tmp_path,
            progress=False,
        )
        first = spent(sb)
        if where == "token":
            plan.outage_token = kind
        else:
            plan.outage = kind
        client = recording_client(sb, plan)[0]
        try:
            during = tr.fetch_videos(QUERY, *RANGE, client=client, archive=tmp_path, progress=False)
            assert not during.report.complete
        except tr.AuthenticationError as e:
            pytest.fail(f"an outage of the service was reported as rejected credentials: {e}")
        except tr.TikTokResearchError:
            pass  # a clear service error is fine; what matters is what the next run costs
        paid_during = spent(sb) - first
        plan.outage = plan.outage_token = None
        after = tr.fetch_videos(
            QUERY, *RANGE, client=recording_client(sb, plan)[0], archive=tmp_path, progress=False
        )
    assert after.report.complete and after.equals(three_windows.table)
    assert _windows(sb) == three_windows.windows, (
        f"windows were split during the outage: {sorted(_windows(sb) - three_windows.windows)}"
    )
    # requests forwarded during the outage (resets, timeouts) are failed requests, nothing more
    assert spent(sb) - paid_during == three_windows.pages


# ----------------------------------------------- item 10: a stale search_id after a quota wait


def test_after_a_quota_wait_a_stale_search_is_reopened_with_one_request(
    one_window: Clean,
    make_sandbox: MakeSandbox,
    make_client: MakeClient,
) -> None:
    clock = Clock(datetime(2025, 3, 10, 20, 0, tzinfo=UTC))
    reset = datetime(2025, 3, 11, tzinfo=UTC).timestamp()
    sb = make_sandbox(n_videos=N_VIDEOS, daily_quota={"research": 10, "social": 100}, clock=clock)
    client = make_client(sb, clock=clock, sleep=clock.advance, wait_for_quota=True, progress=False)
    got = tr.fetch_videos(QUERY, *ONE_WINDOW, client=client, progress=False, max_workers=1)
    assert got.report.complete and got.equals(one_window.table)
    assert clock.t > reset, "set-up: the collection did not wait for the quota reset"
    later = [r for r in sb.request_log if r.endpoint == "video_query" and r.time >= reset]
    refused = [r for r in later if r.status == 400]
    assert len(refused) <= 1, f"the stale search_id was asked {len(refused)} times"
    # the pages left, one request to re-open the search, and at most the one refusal
    assert len(later) <= (one_window.pages - 10) + 1 + 1
