"""Attacks on what a call is turned into before any request: max_total, windows, item cleaning.

Issue 9 items 1 (``max_total`` is exact), 2 (``end_date_exclusive`` works in ``fetch_videos``) and
3 (one username rule). Requests are counted at the in-process sandbox. Each failed on the code of
issue 9's report.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

import tiktok_research as tr
from _sandboxes import MakeClient, MakeSandbox, new_client, spent
from _servers import cli_env, no_traceback, run_cli
from tiktok_research.sandbox import Sandbox

QUERY = tr.Q.hashtag_name.isin(["fyp", "foryou", "viral"])
START, END = "2024-01-01", "2024-03-31"  # 91 days: 3 windows, ~650 rows each


@pytest.fixture(scope="module")
def sb(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox(n_videos=20_000)


@pytest.fixture(scope="module")
def full(sb: Sandbox) -> pl.DataFrame:
    with new_client(sb) as client:
        return pl.DataFrame(tr.fetch_videos(QUERY, START, END, client=client, progress=False))


# ------------------------------------------------------------------------- item 1: max_total


@pytest.mark.parametrize("max_total", [10, 50, 150])
def test_max_total_gives_exactly_that_many_videos_newest_first(
    sb: Sandbox, full: pl.DataFrame, max_total: int, make_client: MakeClient
) -> None:
    got = tr.fetch_videos(
        QUERY, START, END, max_total=max_total, client=make_client(sb), progress=False
    )
    assert got.height == max_total
    assert got.report.complete
    newest = full.sort("id", descending=True).head(max_total)
    assert got["id"].to_list() == newest["id"].to_list(), "not the newest videos of the range"


@pytest.mark.parametrize(("max_total", "requests"), [(10, 1), (50, 1), (150, 2)])
def test_max_total_costs_no_request_more_than_the_rows_need(
    sb: Sandbox, max_total: int, requests: int, make_client: MakeClient
) -> None:
    """Pages hold ~95 visible videos of 100: 10 and 50 rows need one page, 150 need two."""
    before = spent(sb, "video_query")
    tr.fetch_videos(QUERY, START, END, max_total=max_total, client=make_client(sb), progress=False)
    assert spent(sb, "video_query") - before <= requests


def test_max_total_holds_for_each_item_of_a_fan_out(sb: Sandbox, make_client: MakeClient) -> None:
    names = sb.corpus.sample_usernames(2, kind="following_public")
    before = spent(sb, "following")
    got = tr.fetch_following(names, max_total=3, client=make_client(sb), progress=False)
    assert spent(sb, "following") - before == len(names)  # one page each is enough
    per_item = dict(got.group_by("source_username").len().iter_rows())
    assert set(per_item) == set(names)
    assert all(n <= 3 for n in per_item.values()), f"more than 3 rows per item: {per_item}"


@pytest.mark.slow
def test_cli_max_total_writes_that_many_rows(tmp_path: Path) -> None:
    out = tmp_path / "videos.parquet"
    args = ["videos", "--hashtag", "fyp", "--hashtag", "foryou", "--hashtag", "viral"]
    args += ["--start", START, "--end", END, "--max-total", "50", "--sandbox", "--no-progress"]
    args += ["--archive", str(tmp_path / "archive"), "--out", str(out)]
    done = run_cli(args, cli_env())
    assert done.returncode == 0 and no_traceback(done.stderr), done.stdout + done.stderr
    assert pl.read_parquet(out).height == 50


# ------------------------------------------------------------- item 2: end_date_exclusive


def test_end_date_exclusive_works_over_a_90_day_range(
    sb: Sandbox, full: pl.DataFrame, make_client: MakeClient
) -> None:
    client = make_client(sb, end_date_exclusive=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = tr.fetch_videos(QUERY, START, END, client=client, progress=False)
    assert got.report.complete
    # every row of the inclusive default, none lost at a window boundary
    first = datetime(2024, 1, 1, tzinfo=UTC)
    after = datetime(2024, 4, 1, tzinfo=UTC)
    inside = got.filter((pl.col("create_time") >= first) & (pl.col("create_time") < after))
    assert inside.equals(full)
    # The sandbox's end_date is inclusive, so `end + 1 day` on the wire may bring the day after
    # the range; nothing else may come in.
    assert got.filter(pl.col("create_time") >= after + timedelta(days=1)).height == 0


# ------------------------------------------------------------------ item 3: one username rule

FORMS = [
    ("https://vm.tiktok.com/@Foo", True),
    ("tiktok.com/@Foo", True),
    ("www.tiktok.com/@Foo", True),
    ("https://www.tiktok.com/@Foo?lang=en", False),
    ("https://m.tiktok.com/@foo/video/123", False),
    ("http://tiktok.com/@Foo/", False),
    ("@Foo", False),
    (" Foo\x00 ", False),
]


@pytest.mark.parametrize("form", [f for f, _ in FORMS])
def test_one_username_rule_for_the_client_and_the_selection_helpers(
    sb: Sandbox, form: str, make_client: MakeClient
) -> None:
    assert tr.select_usernames(pl.DataFrame({"username": [form]})).to_list() == ["foo"]
    n = len(sb.request_log)
    got = tr.fetch_user_info([form], client=make_client(sb), progress=False)
    asked = [r.body for r in sb.request_log[n:] if r.endpoint == "user_info"]
    assert asked and all(b is not None and b.get("username") == "foo" for b in asked), asked
    assert got.failures.height + got.height == 1
