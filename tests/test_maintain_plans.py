"""The dry runs of keeping data current, in the library: ``plan_refresh``, ``plan_update`` and
``refresh_destination`` say what ``refresh_videos`` and ``update_videos`` will do, and what they
do agrees (the requests counted at the in-process sandbox)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

import tiktok_research as tr
from _sandboxes import MakeClient, MakeSandbox, new_client
from tiktok_research.maintain import (
    UPDATE_STATE,
    UpdateReport,
    plan_refresh,
    plan_update,
    refresh_destination,
    refresh_videos,
    update_videos,
)
from tiktok_research.sandbox import Sandbox

T0 = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)
CATS = tr.Q.hashtag_name.eq("cats")


@pytest.fixture(scope="module")
def sb(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox(n_videos=5_000, clock=T0)


@pytest.fixture(scope="module")
def partial(sb: Sandbox) -> pl.DataFrame:
    """Videos of two months, collected with three fields."""
    with new_client(sb, sleep=sb.advance, ledger=False) as client:
        videos = tr.fetch_videos(
            CATS, "2024-03-01", "2024-04-30", fields="id,create_time,view_count", client=client,
            progress=False,
        )  # fmt: skip
    assert videos.height > 10
    return pl.DataFrame(videos)


def test_plan_refresh_says_what_refresh_videos_asks(
    sb: Sandbox, partial: pl.DataFrame, make_client: MakeClient
) -> None:
    before = len(sb.request_log)
    plan = plan_refresh(partial, client=make_client(sb, sleep=sb.advance, ledger=False), warn=False)
    assert len(sb.request_log) == before, "a plan sends nothing"
    assert plan.rows == partial.height and len(plan.checks.tasks) == 1
    assert plan.lookups.fields == ["id", "create_time", "view_count"]
    assert plan.min_requests == 3
    assert plan.max_requests == 3 + len(plan.lookups.tasks)
    assert str(plan).startswith(f"refresh of the table: {partial.height:,} rows, 1 task(s)")
    fresh = refresh_videos(
        partial, client=make_client(sb, sleep=sb.advance, ledger=False), progress=False
    )
    sent = sb.request_log[before:]
    lookups = [r for r in sent if r.endpoint == "video_query"]
    assert {r.params.get("fields") for r in lookups} == {"id,create_time,view_count"}
    assert len(lookups) == len(plan.lookups.tasks)  # nothing gone: every video looked up
    checks = [r for r in sent if r.endpoint == "validation_status"]  # one or more
    assert fresh.report.requests_spent == plan.max_requests + len(checks) - 1
    assert fresh.height == partial.height


def test_plan_refresh_refuses_what_refresh_videos_refuses(
    sb: Sandbox, make_client: MakeClient
) -> None:
    before = len(sb.request_log)
    for bad, words in (
        (pl.DataFrame({"x": [1]}), "no id column"),
        (pl.DataFrame({"id": [7.3e18]}), "float"),
        (pl.DataFrame({"id": [7320768158545159950]}), "'views'"),
    ):
        fields = "id,views" if words == "'views'" else None
        with pytest.raises(tr.InvalidRequestError, match=words):
            plan_refresh(bad, fields=fields, client=make_client(sb, sleep=sb.advance, ledger=False))
        with pytest.raises(tr.InvalidRequestError, match=words):
            refresh_videos(
                bad, fields=fields, client=make_client(sb, sleep=sb.advance, ledger=False)
            )
    assert len(sb.request_log) == before


def test_refresh_destination(tmp_path: Path) -> None:
    (tmp_path / "videos.csv").write_text("id\n1\n")
    (tmp_path / "data").mkdir()
    file, folder = tmp_path / "videos.csv", tmp_path / "data"
    assert refresh_destination(file) == tr.maintain.RefreshDestination(file, True, False)
    assert refresh_destination(folder) == tr.maintain.RefreshDestination(folder, True, True)
    other = tmp_path / "new.parquet"
    for table in (file, folder):  # --out: the table is left as it is, even a dataset folder
        assert refresh_destination(table, other) == tr.maintain.RefreshDestination(
            other, False, False
        )


def test_plan_update_then_update_videos_agree_and_report_their_days(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sb = make_sandbox(n_videos=5_000, clock=T0)
    client = make_client(sb, sleep=sb.advance, ledger=False)
    folder = tmp_path / "monitor"
    plan = plan_update(CATS, folder, "2025-01-01", client=client)
    newest = (T0 - dt.timedelta(days=2)).date() - dt.timedelta(days=1)  # 48 hours, then a day
    assert (plan.first, plan.last) == (dt.date(2025, 1, 1), newest)
    assert plan.videos is not None and not plan.nothing_new and not plan.start_ignored
    assert "range 2025-01-01 .. 2025-01-12" in str(plan)
    assert not folder.exists(), "a plan creates nothing"
    result = update_videos(CATS, folder, "2025-01-01", client=client, progress=False)
    assert isinstance(result.report, UpdateReport) and result.report.complete
    assert (result.report.first, result.report.last) == (plan.first, plan.last)
    again = plan_update(CATS, folder, "2025-01-01", client=client)
    assert again.nothing_new and again.start_ignored and again.videos is None
    assert (again.first, again.last, again.through) == (None, None, newest)
    assert str(again) == (
        f"nothing new to collect: {folder} holds every day up to {newest}, the newest day the "
        "service has indexed in full; no data request sent"
    )
    before = len(sb.request_log)
    nothing = update_videos(CATS, folder, client=client, progress=False)
    assert len(sb.request_log) == before and nothing.height == 0
    assert isinstance(nothing.report, UpdateReport)
    assert (nothing.report.first, nothing.report.last, nothing.report.through) == (
        None, None, newest)  # fmt: skip
    assert nothing.report.nothing_new and str(nothing.report) == "update: " + str(again)
    assert nothing.report.archive is None  # the dataset is not called the archive (issue 18)
    assert "archive" not in str(nothing.report)


def test_plan_update_without_a_client_plans_on_the_clock_update_videos_runs_on(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    # update_videos without client= runs on the session's client (tr.use) and its clock; the
    # plan without client= took this machine's clock instead: other days, another cost.
    sb = make_sandbox(n_videos=5_000, clock=T0)
    folder = tmp_path / "monitor"
    newest = (T0 - dt.timedelta(days=2)).date() - dt.timedelta(days=1)
    tr.use(make_client(sb, ledger=False))
    try:
        plan = plan_update(CATS, folder, "2025-01-01")
        assert (plan.first, plan.last) == (dt.date(2025, 1, 1), newest)
        assert plan.clock is None and "machine's clock" not in str(plan)
        unasked = plan_update(CATS, folder, "2025-01-01", ask=False)  # sends nothing at all
    finally:
        tr.use(None)
    assert unasked.clock is not None and unasked.last != newest
    assert f"note: {unasked.clock}" in str(unasked)
    assert "planned on this machine's clock" in unasked.clock
    assert "the service's day may differ" in unasked.clock


def test_plan_update_checks_before_anything(tmp_path: Path) -> None:
    folder = tmp_path / "monitor"
    with pytest.raises(tr.InvalidRequestError, match="'views'"):
        plan_update(CATS, folder, "2025-01-01", fields="views")
    with pytest.raises(tr.InvalidRequestError, match="start_date=; --start"):
        plan_update(CATS, folder)
    folder.mkdir()
    state = {"query": tr.Q.hashtag_name.eq("dogs").to_query().to_dict(), "through": "20250101"}
    (folder / UPDATE_STATE).write_text(json.dumps(state))
    with pytest.raises(tr.InvalidRequestError, match="another query"):
        plan_update(CATS, folder)
    assert [p.name for p in folder.iterdir()] == [UPDATE_STATE]
