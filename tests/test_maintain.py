"""Keeping a dataset true (issue 12): hydrate by id, batch compliance, refresh, update, dehydrate.

Everything runs on the in-process sandbox with a clock the test moves (``Sandbox.advance``), and
with a client whose waits move that clock instead of sleeping, so that compliance tasks, which
stay ``Processing`` for 30 seconds of sandbox time, finish at once. What is asserted is what a
user notices: the rows they get, the ids flagged, the files on disk, and the requests counted at
the sandbox (``Sandbox.requests_spent``, ``Sandbox.request_log``).
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

import tiktok_research as tr
from _runs import stopped_by_budget
from _sandboxes import new_client, new_sandbox
from tiktok_research.maintain import UPDATE_STATE
from tiktok_research.plan import plan_compliance, plan_video_ids
from tiktok_research.sandbox import CHANGING_CORPUS, Sandbox

T0 = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)
MONTHS = (1, 3, 5, 7, 9)  # of 2024, the sandbox corpus's year
COUNTS = ("view_count", "like_count", "comment_count", "share_count", "favorites_count")
DATA = ("video_query", "validation_create", "validation_status", "validation_download")


def stopped_sandbox(start: dt.datetime = T0, **config: Any) -> Sandbox:
    """A sandbox of 20,000 videos whose clock stands still at ``start`` until the test moves it."""
    config.setdefault("n_videos", 20_000)
    return new_sandbox(clock=start, **config)


def client_of(sb: Sandbox, **kw: Any) -> tr.Client:
    """A client of ``sb`` whose waits (status polls, retries) move the sandbox clock."""
    return new_client(sb, sleep=sb.advance, **kw)


def spent(sb: Sandbox) -> dict[str, int]:
    """Quota-counted requests at the sandbox, data endpoints only (no token requests)."""
    return {k: v for k, v in sb.requests_spent().items() if k in DATA}


def ids_from_months(sb: Sandbox, per_month: int = 50, seed: int = 1) -> list[int]:
    """Visible video ids, ``per_month`` from each of MONTHS, created between the 2nd and the 27th
    (so each month's ids fit one window of at most 31 days, margin included), shuffled."""
    c = sb.corpus
    rng = np.random.default_rng(seed)
    out: list[int] = []
    for month in MONTHS:
        lo = dt.datetime(2024, month, 2, tzinfo=dt.UTC).timestamp()
        hi = dt.datetime(2024, month, 27, tzinfo=dt.UTC).timestamp()
        rows = np.flatnonzero((c.create_time >= lo) & (c.create_time < hi) & ~c.hidden)
        out += [int(c.ids[r]) for r in rng.choice(rows, per_month, replace=False)]
    rng.shuffle(out)  # type: ignore[arg-type]
    return out


def gone_at_sandbox(sb: Sandbox, ids: list[int]) -> set[int]:
    """The ids the sandbox itself holds deleted or private right now (the ground truth)."""
    rows = [sb.corpus.row_of_id(i) for i in ids]
    assert all(r is not None for r in rows)
    now = sb.clock()
    flags = sb.corpus.gone(rows, sb.days_passed(now), now)  # type: ignore[arg-type]
    return {i for i, g in zip(ids, flags.tolist(), strict=True) if g}


# ------------------------------------------------------------------------- hydrate by id


def test_250_ids_from_5_months_hydrate_with_one_request_per_window_and_batch() -> None:
    sb = stopped_sandbox()
    client = client_of(sb)
    ids = ids_from_months(sb)
    assert len(set(ids)) == 250
    plan = plan_video_ids(ids, client=client)
    assert len(plan.tasks) == 5, str(plan)  # one window per month, 50 ids each: one batch
    for task in plan.tasks:
        assert task.window is not None
        first, last = task.window
        assert first.month == last.month and (last - first).days <= 30
    videos = tr.fetch_videos_by_id(ids, client=client, progress=False)
    assert videos.report.complete and videos.report.not_found == []
    assert videos.height == 250 and set(videos["id"].to_list()) == set(ids)
    assert videos.schema == tr.schemas.VIDEOS
    assert videos["id"].to_list() == sorted(ids, reverse=True), "newest first"
    assert spent(sb) == {"video_query": 5}, "one request per window and batch"
    # the answers match the corpus (exact ids, right rows)
    row = sb.corpus.row_of_id(ids[0])
    assert row is not None
    got = videos.filter(pl.col("id") == ids[0])
    assert got["view_count"].item() == int(sb.corpus.view_count[row])


def test_smaller_batches_cost_one_request_each_and_a_table_is_accepted(tmp_path: Path) -> None:
    sb = stopped_sandbox()
    ids = ids_from_months(sb)
    frame = pd.DataFrame({"id": pd.array(ids, dtype="Int64"), "note": "x"})
    archive = tmp_path / "archive"
    videos = tr.fetch_videos_by_id(
        frame, batch_size=20, client=client_of(sb), archive=archive, progress=False
    )
    assert videos.height == 250
    assert spent(sb) == {"video_query": 5 * 3}, "50 ids a month in batches of 20: 3 a month"
    again = tr.fetch_videos_by_id(
        [str(i) for i in ids], batch_size=20, client=client_of(sb), archive=archive,
        progress=False,
    )  # fmt: skip
    assert again.equals(videos)
    assert spent(sb) == {"video_query": 15}, "a second run of the same look-up costs nothing"


def test_ids_not_found_are_listed() -> None:
    sb = stopped_sandbox()
    client = client_of(sb)
    ids = ids_from_months(sb, per_month=4)
    c = sb.corpus
    hidden = [int(c.ids[r]) for r in np.flatnonzero(c.hidden)[:2]]  # private from the start
    made_up = (ids[0] >> 32 << 32) | 12345  # a plausible id of the same second, not a video
    assert c.row_of_id(made_up) is None
    videos = tr.fetch_videos_by_id([*ids, *hidden, made_up], client=client, progress=False)
    assert videos.report.complete
    assert set(videos["id"].to_list()) == set(ids)
    assert sorted(videos.report.not_found) == sorted([*hidden, made_up])
    assert any("not found" in w for w in videos.report.warnings)


# -------------------------------------------------------------------------------- compliance


def test_compliance_flags_exactly_the_deleted_ids() -> None:
    sb = stopped_sandbox(**CHANGING_CORPUS)
    client = client_of(sb)
    ids = ids_from_months(sb)
    deleted = ids[3::14][:17]
    assert len(deleted) == 17
    assert sb.delete_videos(deleted) == 17
    checked = tr.check_compliance(ids, client=client, progress=False)
    assert checked.report.complete
    assert checked.schema == tr.schemas.COMPLIANCE
    assert checked["id"].to_list() == ids, "every id given, in order"
    assert set(checked.filter(~pl.col("valid"))["id"].to_list()) == set(deleted)
    counted = spent(sb)
    assert counted["validation_create"] == 1 and counted["validation_download"] == 1
    # 30 s of Processing, polls after 10 s, then 20 s more: three status checks
    assert counted["validation_status"] == 3
    assert "video_query" not in counted


def test_compliance_splits_more_than_10000_ids_into_tasks() -> None:
    sb = stopped_sandbox(validation_processing_seconds=0)
    visible = sb.corpus.ids[~sb.corpus.hidden][:10_050].tolist()
    plan = plan_compliance(visible)
    assert [len(t.params["ids"]) for t in plan.tasks] == [10_000, 50]
    checked = tr.check_compliance(visible, client=client_of(sb), progress=False)
    assert checked.height == 10_050 and checked["valid"].all()
    assert spent(sb) == {"validation_create": 2, "validation_status": 2, "validation_download": 2}


def test_a_crash_during_a_compliance_task_resumes_with_the_same_task_id(tmp_path: Path) -> None:
    sb = stopped_sandbox()
    ids = ids_from_months(sb, per_month=10)
    archive = tmp_path / "archive"
    # the run stops right after the upload (its budget: one request), as a crash would
    with stopped_by_budget():
        stopped = tr.check_compliance(
            ids, client=client_of(sb, max_requests=1), archive=archive, progress=False
        )
    assert not stopped.report.complete and stopped.report.stop_kind == "budget"
    assert spent(sb) == {"validation_create": 1}
    uploaded = [r for r in sb.request_log if r.endpoint == "validation_create"]
    assert uploaded[0].status == 200
    task_ids = {int(r.body["task_id"]) for r in sb.request_log if r.body and "task_id" in r.body}
    assert task_ids == set(), "nothing polled yet"
    done = tr.check_compliance(ids, client=client_of(sb), archive=archive, progress=False)
    assert done.report.complete and done.report.resumed
    assert done["valid"].all() and done.height == len(ids)
    counted = spent(sb)
    assert counted["validation_create"] == 1, "the ids were not uploaded again"
    polled = [r for r in sb.request_log if r.endpoint in ("validation_status",
                                                          "validation_download")]  # fmt: skip
    assert {int(r.body["task_id"]) for r in polled if r.body} == {sb_task_id(sb)}
    assert counted["validation_download"] == 1


def test_an_upload_archived_but_not_journalled_is_not_paid_again(tmp_path: Path) -> None:
    # kill -9 between archiving the upload's answer and journalling its task id: the next run
    # finds the upload in the archive (found with kill -9 at random moments: 3 uploads, 2 tasks)
    sb = stopped_sandbox()
    ids = ids_from_months(sb, per_month=10)
    with stopped_by_budget():
        tr.check_compliance(
            ids, client=client_of(sb, max_requests=1), archive=tmp_path, progress=False
        )
    (journal,) = tmp_path.glob("compliance_video-*/journal.jsonl")
    kept = [line for line in journal.read_text().splitlines() if '"task_id"' not in line]
    journal.write_text("".join(f"{line}\n" for line in kept))
    done = tr.check_compliance(ids, client=client_of(sb), archive=tmp_path, progress=False)
    assert done.report.complete and done["valid"].all()
    assert spent(sb)["validation_create"] == 1, "the upload in the archive was not paid again"
    polled = [r for r in sb.request_log if r.endpoint == "validation_status"]
    assert {int(r.body["task_id"]) for r in polled if r.body} == {sb_task_id(sb)}


def test_a_task_the_service_no_longer_knows_is_uploaded_again(tmp_path: Path) -> None:
    # the first run uploads to one sandbox; the second finds a service that never heard of that
    # task (a new sandbox here; a task the real service no longer keeps): it uploads again, once,
    # instead of stopping on the same refusal at every run
    ids = ids_from_months(stopped_sandbox(), per_month=4)
    archive = tmp_path / "archive"
    first = stopped_sandbox()
    with stopped_by_budget():
        tr.check_compliance(
            ids, client=client_of(first, max_requests=1), archive=archive, progress=False
        )
    other = stopped_sandbox()
    other.delete_videos(ids[:2])
    done = tr.check_compliance(ids, client=client_of(other), archive=archive, progress=False)
    assert done.report.complete
    assert done.filter(~pl.col("valid"))["id"].to_list() == ids[:2]
    assert spent(other)["validation_create"] == 1
    assert spent(first) == {"validation_create": 1}


def test_ids_of_a_check_that_did_not_finish_are_unknown_not_gone(tmp_path: Path) -> None:
    sb = stopped_sandbox(validation_processing_seconds=0)
    visible = sb.corpus.ids[~sb.corpus.hidden][:10_020].tolist()
    # task 1: upload, status, download; task 2: upload, then the budget stops it
    with stopped_by_budget():
        part = tr.check_compliance(
            visible, client=client_of(sb, max_requests=4), archive=tmp_path, progress=False
        )
    assert not part.report.complete and part.height == 10_020
    assert part["valid"].head(10_000).all()
    assert part["valid"].tail(20).is_null().all(), "not checked yet: unknown, not gone"
    # a task the service reports Failed: its ids are unknown too, and listed as a failure
    sb.script_faults(["task_failed"], endpoint="validation_create")
    failed = tr.check_compliance(visible[:5], client=client_of(sb), progress=False)
    assert failed["valid"].is_null().all() and failed.failures.height == 1
    assert failed.failures["code"].to_list() == ["task_failed"]


def test_an_incomplete_refresh_removes_nothing_it_did_not_check() -> None:
    sb = stopped_sandbox(validation_processing_seconds=0)
    videos = tr.fetch_videos_by_id(ids_from_months(sb, per_month=4), client=client_of(sb),
                                   progress=False)  # fmt: skip
    with stopped_by_budget():
        part = tr.refresh_videos(videos, client=client_of(sb, max_requests=1), progress=False)
    assert not part.report.complete and part.report.removed == []
    assert part.height == videos.height and part["retrieved_at"].is_null().all()


def test_an_incomplete_look_up_lists_no_id_as_not_found() -> None:
    sb = stopped_sandbox()
    ids = ids_from_months(sb, per_month=3)
    with stopped_by_budget():
        part = tr.fetch_videos_by_id(ids, client=client_of(sb, max_requests=2), progress=False)
    assert not part.report.complete and part.height == 6
    assert part.report.not_found == [], "the batches not asked yet are not 'not found'"


def test_a_finished_check_is_never_reused_the_same_check_later_checks_again(
    tmp_path: Path,
) -> None:
    sb = stopped_sandbox()
    ids = ids_from_months(sb, per_month=4)
    archive = tmp_path / "archive"
    first = tr.check_compliance(ids, client=client_of(sb), archive=archive, progress=False)
    assert first["valid"].all()
    sb.delete_videos(ids[:3])
    later = tr.check_compliance(ids, client=client_of(sb), archive=archive, progress=False)
    assert later.filter(~pl.col("valid"))["id"].to_list() == ids[:3], "not last time's answer"
    assert spent(sb)["validation_create"] == 2
    # with resume=False, a new check too (never the union of the two downloads)
    sb.delete_videos(ids[3:4])
    afresh = tr.check_compliance(
        ids, client=client_of(sb), archive=archive, resume=False, progress=False
    )
    assert afresh.filter(~pl.col("valid"))["id"].to_list() == ids[:4]


def test_a_check_killed_after_its_last_download_is_finished_at_no_cost(tmp_path: Path) -> None:
    # kill -9 after the last task's download was journalled, before the run returned its table
    # (its manifest still says "running"): the next call finishes that check, it does not pay for
    # a new one
    sb = stopped_sandbox(validation_processing_seconds=0)
    ids = ids_from_months(sb, per_month=4)
    first = tr.check_compliance(ids, client=client_of(sb), archive=tmp_path, progress=False)
    for manifest in tmp_path.glob("compliance_video-*/manifest-*.json"):  # as a kill leaves it
        manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "status": "running"}))
    before = spent(sb)
    again = tr.check_compliance(ids, client=client_of(sb), archive=tmp_path, progress=False)
    assert again.report.complete and again.equals(first)
    assert spent(sb) == before, "not one request: the archive holds the answer"
    assert len(list(tmp_path.glob("compliance_video-*"))) == 1
    # once a run returned it, the same check later is a new one
    later = tr.check_compliance(ids, client=client_of(sb), archive=tmp_path, progress=False)
    assert later.report.requests_spent == 3 and len(list(tmp_path.glob("compliance_video-*"))) == 2


def sb_task_id(sb: Sandbox) -> int:
    """The only task id the sandbox issued."""
    issued = list(sb._tasks)
    assert len(issued) == 1
    return int(issued[0])


# ----------------------------------------------------------------------------------- refresh


@pytest.fixture
def collected() -> tuple[Sandbox, tr.Client, pl.DataFrame, list[int]]:
    """250 videos hydrated on a changing sandbox, then 17 deleted and 30 days passed."""
    sb = stopped_sandbox(**CHANGING_CORPUS)
    client = client_of(sb)
    ids = ids_from_months(sb)
    videos = pl.DataFrame(tr.fetch_videos_by_id(ids, client=client, progress=False))
    assert videos.height == 250
    deleted = ids[5::14][:17]
    sb.delete_videos(deleted)
    sb.advance(dt.timedelta(days=30))
    return sb, client, videos, deleted


def _check_refreshed(
    sb: Sandbox, old: pl.DataFrame, new: pl.DataFrame, report: Any, deleted: list[int]
) -> None:
    """``new`` is ``old`` refreshed: what the sandbox holds gone is dropped, counts are larger.

    ``old`` is the table as the refresh read it (a dataset is read partition by partition).
    """
    ids = old["id"].to_list()
    gone = gone_at_sandbox(sb, ids)
    assert set(deleted) <= gone
    assert set(report.removed) == gone, "removed: exactly what the sandbox holds gone"
    assert new.height == 250 - len(gone)
    assert not set(new["id"].to_list()) & gone, "nothing removed is kept"
    assert new["id"].to_list() == [i for i in ids if i not in gone], "in the order of the input"
    assert new.schema == tr.schemas.REFRESHED_VIDEOS
    assert new["retrieved_at"].null_count() == 0
    assert new["retrieved_at"].min() >= T0 + dt.timedelta(days=30)
    both = old.join(new, on="id", suffix="_new")
    for c in COUNTS:
        assert (both[f"{c}_new"] >= both[c]).all(), f"{c} never shrinks"
    assert (both["view_count_new"] > both["view_count"]).all(), "30 days later, more views"
    assert report.changed == new.height
    before, after = report.totals["view_count"]
    assert after > before
    assert report.not_refreshed == []


def test_refresh_a_table_drops_removed_videos_and_returns_larger_counts(
    collected: tuple[Sandbox, tr.Client, pl.DataFrame, list[int]],
) -> None:
    sb, client, old, deleted = collected
    spent_before = spent(sb)["video_query"]
    fresh = tr.refresh_videos(old, client=client, progress=False)
    assert fresh.report.complete
    _check_refreshed(sb, old, fresh, fresh.report, deleted)
    counted = spent(sb)
    # one compliance task (upload, status checks, download), then one request per month
    assert counted["validation_create"] == 1 and counted["validation_download"] == 1
    assert counted["video_query"] - spent_before == 5
    assert "removed (deleted or private): " in str(fresh.report)


def test_refresh_keeps_removed_rows_when_asked(
    collected: tuple[Sandbox, tr.Client, pl.DataFrame, list[int]],
) -> None:
    _, client, old, deleted = collected
    fresh = tr.refresh_videos(old.to_pandas(), drop_removed=False, client=client, progress=False)
    assert fresh.height == 250 and fresh["id"].to_list() == old["id"].to_list()
    kept = fresh.filter(pl.col("id").is_in(deleted))
    assert kept.height == 17 and kept["retrieved_at"].null_count() == 17, "old values, not now"
    assert "kept (drop_removed=False)" in str(fresh.report)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_refresh_a_file(
    collected: tuple[Sandbox, tr.Client, pl.DataFrame, list[int]], tmp_path: Path, suffix: str
) -> None:
    sb, client, old, deleted = collected
    path = tmp_path / f"videos{suffix}"
    if suffix == ".csv":
        tr.write_csv(old, path)
    else:
        tr.write_parquet(old, path, table="videos")
    stamp = path.read_bytes()
    fresh = tr.refresh_videos(path, client=client, progress=False)
    _check_refreshed(sb, old, fresh, fresh.report, deleted)
    assert path.read_bytes() == stamp, "a file is not rewritten by the library: write the result"


def test_refresh_a_dataset_rewrites_it_in_place(
    collected: tuple[Sandbox, tr.Client, pl.DataFrame, list[int]], tmp_path: Path
) -> None:
    sb, client, old, deleted = collected
    folder = tmp_path / "data" / "videos"
    tr.write_dataset(old, folder, table="videos", run_id="first")
    (folder / UPDATE_STATE).write_text('{"query": {}, "through": "2024-09-30"}')
    (folder / "NOTES.md").write_text("how this dataset was made")  # a file of the user's
    as_read = tr.io.read_dataset(folder, table="videos").drop("create_month").collect()
    fresh = tr.refresh_videos(folder, client=client, progress=False)
    _check_refreshed(sb, as_read, fresh, fresh.report, deleted)
    on_disk = tr.io.read_dataset(folder, table="videos").collect()
    assert on_disk.height == fresh.height
    assert sorted(on_disk["id"].to_list()) == sorted(fresh["id"].to_list())
    assert on_disk.drop("create_month").sort("id").equals(fresh.drop("retrieved_at").sort("id")), (
        "the dataset holds the current values"
    )
    assert (folder / UPDATE_STATE).read_text().startswith('{"query"'), "its state is kept"
    assert (folder / "NOTES.md").read_text() == "how this dataset was made", "the user's file too"
    assert sorted(p.name for p in folder.parent.iterdir()) == ["videos"], "no staging left"
    assert not list(folder.rglob("part-first-*")), "the old files are gone"


def test_refresh_of_a_dataset_that_stops_leaves_it_untouched(
    collected: tuple[Sandbox, tr.Client, pl.DataFrame, list[int]], tmp_path: Path
) -> None:
    sb, _, old, _ = collected
    folder = tmp_path / "videos"
    tr.write_dataset(old, folder, table="videos", run_id="first")
    files = sorted(p.relative_to(folder) for p in folder.rglob("*.parquet"))
    archive = tmp_path / "archive"
    with stopped_by_budget():
        part = tr.refresh_videos(
            folder, client=client_of(sb, max_requests=2), archive=archive, progress=False
        )
    assert not part.report.complete
    assert sorted(p.relative_to(folder) for p in folder.rglob("*.parquet")) == files
    fresh = tr.refresh_videos(folder, client=client_of(sb), archive=archive, progress=False)
    assert fresh.report.complete
    assert spent(sb)["validation_create"] == 1, "the second run continued the same task"
    assert tr.io.read_dataset(folder).collect().height == fresh.height < 250


def test_a_refresh_later_with_the_same_archive_refreshes_again(
    collected: tuple[Sandbox, tr.Client, pl.DataFrame, list[int]], tmp_path: Path
) -> None:
    sb, client, old, deleted = collected
    archive = tmp_path / "archive"
    first = tr.refresh_videos(old, client=client, archive=archive, progress=False)
    assert first.report.complete and first.report.requests_spent > 0
    more = first["id"].to_list()[:5]
    sb.delete_videos(more)
    sb.advance(dt.timedelta(days=30))
    # the same table again (the same ids, as a dataset refreshed each month with no removal,
    # or kept with drop_removed=False)
    second = tr.refresh_videos(old, client=client, archive=archive, progress=False)
    assert second.report.requests_spent > 0, "a month later, the service is asked again"
    assert set(more) | set(deleted) <= set(second.report.removed)
    both = first.join(second, on="id", suffix="_new")
    assert (both["view_count_new"] > both["view_count"]).all(), "the counts of now, not then"


def test_a_refresh_never_takes_the_answer_of_an_earlier_plain_check(
    collected: tuple[Sandbox, tr.Client, pl.DataFrame, list[int]], tmp_path: Path
) -> None:
    sb, client, old, deleted = collected
    archive = tmp_path / "archive"
    tr.check_compliance(old, client=client, archive=archive, progress=False)  # last month's
    more = old["id"].to_list()[-3:]
    sb.delete_videos(more)
    fresh = tr.refresh_videos(old, client=client, archive=archive, progress=False)
    assert set(more) | set(deleted) <= set(fresh.report.removed)
    assert spent(sb)["validation_create"] == 2


def test_a_refresh_that_stops_in_its_look_up_continues_it(
    collected: tuple[Sandbox, tr.Client, pl.DataFrame, list[int]], tmp_path: Path
) -> None:
    sb, _, old, _ = collected
    archive = tmp_path / "archive"
    lookups = spent(sb)["video_query"]
    # the check: upload and download, and status checks while it is Processing; then 2 of the
    # 5 look-ups
    budget = 2 + 3 + 2
    with stopped_by_budget():
        part = tr.refresh_videos(
            old, client=client_of(sb, max_requests=budget), archive=archive, progress=False
        )
    assert not part.report.complete and spent(sb)["video_query"] - lookups == 2
    done = tr.refresh_videos(old, client=client_of(sb), archive=archive, progress=False)
    assert done.report.complete
    assert spent(sb)["validation_create"] == 1, "the same check"
    assert spent(sb)["video_query"] - lookups == 5, "the look-ups held are not asked again"
    assert done.height == 250 - len(done.report.removed)


def test_a_refresh_whose_look_up_repaired_pages_reports_them(tmp_path: Path) -> None:
    # the first run stops in its look-up (2 of 5 windows held); their page file is then damaged
    sb = stopped_sandbox(validation_processing_seconds=0)
    ids = ids_from_months(sb, per_month=4)
    old = pl.DataFrame(tr.fetch_videos_by_id(ids, client=client_of(sb), progress=False))
    archive = tmp_path / "archive"
    lookups = spent(sb)["video_query"]
    with stopped_by_budget():
        part = tr.refresh_videos(
            old, client=client_of(sb, max_requests=3 + 2), archive=archive, progress=False
        )
    assert not part.report.complete and spent(sb)["video_query"] - lookups == 2
    (held,) = archive.glob("videos_by_id-*/pages-*.jsonl")
    held.write_bytes(b"\x00garbage where two pages were\n")
    done = tr.refresh_videos(old, client=client_of(sb), archive=archive, progress=False)
    report = done.report
    assert report.complete and report.damaged == [] and done.height == old.height
    assert report.repaired == 2, "the refresh says what its look-up fetched again"
    assert any("fetched again" in w for w in report.warnings) and report.resumed
    assert spent(sb)["video_query"] - lookups == 5 + 2, "3 windows not asked yet, 2 repaired"
    assert "repaired" not in str(report) or "2 page(s)" in str(report)


def test_a_damaged_compliance_download_is_downloaded_again_in_the_same_run(
    tmp_path: Path,
) -> None:
    sb = stopped_sandbox(validation_processing_seconds=0)
    visible = sb.corpus.ids[~sb.corpus.hidden][:10_020].tolist()
    # task 1: upload, status, download; task 2: upload, then the budget stops the run
    with stopped_by_budget():
        tr.check_compliance(
            visible, client=client_of(sb, max_requests=4), archive=tmp_path, progress=False
        )
    (held,) = tmp_path.glob("compliance_video-*/pages-*.jsonl")
    lines = held.read_bytes().split(b"\n")
    (i,) = [n for n, line in enumerate(lines) if b'"validation_download"' in line[:300]]
    lines[i] = lines[i][: len(lines[i]) // 2]  # task 1's download, cut in the middle
    held.write_bytes(b"\n".join(lines))
    done = tr.check_compliance(visible, client=client_of(sb), archive=tmp_path, progress=False)
    assert done.report.complete and done.report.repaired == 1 and done.report.damaged == []
    assert done.height == 10_020 and done["valid"].all(), "every id known, none lost"
    # its Completed status is held: not asked again (before this was kept: 3 status checks)
    repaired = {"validation_create": 2, "validation_status": 2, "validation_download": 3}
    assert spent(sb) == repaired, "no upload again, no status check again: one download more"


# ------------------------------------------------------------------------------------ update


def test_update_on_three_successive_days_appends_each_new_day_once(tmp_path: Path) -> None:
    start = dt.datetime(2024, 6, 20, 12, 0, tzinfo=dt.UTC)
    sb = stopped_sandbox(start, frozen_corpus=True)
    q = tr.Q.region_code.eq("US")
    folder = tmp_path / "monitor"
    archive = tmp_path / "archive"
    runs: list[pl.DataFrame] = []
    for day in range(3):
        new = tr.update_videos(
            q, folder, start_date="2024-06-10", client=client_of(sb), archive=archive,
            progress=False,
        )  # fmt: skip
        assert new.report.complete
        runs.append(pl.DataFrame(new))
        newest = (start + dt.timedelta(days=day - 3)).date()  # today minus 3: indexed in full
        state = json.loads((folder / UPDATE_STATE).read_text())
        assert state["through"] == newest.strftime("%Y%m%d") or state["through"] == str(newest)
        days = set(new["create_time"].dt.date().to_list())
        if day == 0:
            assert min(days) == dt.date(2024, 6, 10) and max(days) == newest
        else:
            assert days == {newest}, "a later run adds exactly the one new day"
        # the same day again: nothing to do, and not one request (not even a token)
        before = len(sb.request_log)
        again = tr.update_videos(q, folder, client=client_of(sb), progress=False)
        assert again.height == 0 and again.report.complete
        assert len(sb.request_log) == before
        assert str(again.report).startswith("update: nothing new to collect")
        sb.advance(dt.timedelta(days=1))
    held = tr.io.read_dataset(folder, table="videos").collect()
    assert held["id"].is_duplicated().sum() == 0, "nothing twice"
    assert held.height == sum(r.height for r in runs)
    # the same days collected in one go give the same videos
    at_once = tr.fetch_videos(q, "2024-06-10", "2024-06-19", client=client_of(sb), progress=False)
    assert sorted(held["id"].to_list()) == sorted(at_once["id"].to_list())


def test_an_update_that_stops_is_continued_over_the_same_days_the_next_day(
    tmp_path: Path,
) -> None:
    sb = stopped_sandbox(dt.datetime(2024, 6, 20, 12, 0, tzinfo=dt.UTC))
    q = tr.Q.region_code.eq("US")
    folder, archive = tmp_path / "monitor", tmp_path / "archive"
    with stopped_by_budget():
        part = tr.update_videos(
            q, folder, "2024-04-01", client=client_of(sb, max_requests=2), archive=archive,
            progress=False,
        )  # fmt: skip
    assert not part.report.complete
    assert not list(folder.rglob("*.parquet")), "nothing appended before the run is complete"
    sb.advance(dt.timedelta(days=1))  # after midnight: the quota is back, one more day indexed
    done = tr.update_videos(q, folder, client=client_of(sb), archive=archive, progress=False)
    assert done.report.complete
    # the same days in one run, for comparison
    clean = stopped_sandbox(dt.datetime(2024, 6, 20, 12, 0, tzinfo=dt.UTC))
    tr.fetch_videos(q, "2024-04-01", "2024-06-17", client=client_of(clean), progress=False)
    # no page asked twice; the two windows begun before midnight hold a search_id that expired
    # overnight, and each is opened again with one request (docs/guide/quirks.md)
    assert spent(sb)["video_query"] <= spent(clean)["video_query"] + 2
    assert max(done["create_time"].dt.date().to_list()) == dt.date(2024, 6, 17)
    state = json.loads((folder / UPDATE_STATE).read_text())
    assert state["through"] == "20240617" and "pending_to" not in state
    # the day indexed since comes with the next run
    new = tr.update_videos(q, folder, client=client_of(sb), archive=archive, progress=False)
    assert set(new["create_time"].dt.date().to_list()) == {dt.date(2024, 6, 18)}


def test_update_continues_a_dataset_collected_before(tmp_path: Path) -> None:
    sb = stopped_sandbox(dt.datetime(2024, 6, 20, 12, 0, tzinfo=dt.UTC))
    q = tr.Q.region_code.eq("US")
    folder = tmp_path / "monitor"
    first = tr.fetch_videos(q, "2024-06-01", "2024-06-10", client=client_of(sb), progress=False)
    tr.write_dataset(first, folder, table="videos", run_id="before")
    new = tr.update_videos(q, folder, client=client_of(sb), progress=False)
    assert set(new["create_time"].dt.date().to_list()) <= {
        dt.date(2024, 6, 11) + dt.timedelta(days=k) for k in range(7)
    }
    assert new.height > 0
    assert not set(new["id"].to_list()) & set(first["id"].to_list())


# --------------------------------------------------------------------------------- dehydrate


def test_dehydrate_then_hydrate_round_trip(tmp_path: Path) -> None:
    sb = stopped_sandbox()
    ids = ids_from_months(sb, per_month=6)
    videos = tr.fetch_videos_by_id(ids, client=client_of(sb), progress=False)
    path = tr.dehydrate(videos, tmp_path / "ids.txt")
    lines = path.read_text().splitlines()
    assert sorted(int(x) for x in lines) == sorted(ids) and all(len(x) == 19 for x in lines)
    again = tr.fetch_videos_by_id(lines, client=client_of(sb), progress=False)
    assert again.equals(videos)


# -------------------------------------------------------------------------------- bad input


def _prepare(root: Path) -> None:
    (root / "afile.txt").write_text("a plain file\n")
    (root / "emptydir").mkdir()
    pl.DataFrame({"id": ["7320768158545159950"]}).write_csv(root / "videos.csv")
    other = root / "other-query"
    other.mkdir()
    (other / UPDATE_STATE).write_text(
        json.dumps({"query": tr.as_query(tr.Q.hashtag_name.eq("cats")).to_dict(),
                    "through": "20240610"})
    )  # fmt: skip


ID = 7320768158545159950
CATS = tr.Q.hashtag_name.eq("cats")
NAN = float("nan")

# (id, call(root, client), words the message must contain)
BAD: list[tuple[str, Callable[[Path, tr.Client], Any], tuple[str, ...]]] = [
    ("byid-empty", lambda r, c: tr.fetch_videos_by_id([], client=c), ("no video ids",)),
    ("byid-blank-nan", lambda r, c: tr.fetch_videos_by_id([None, NAN, "  "], client=c),
     ("no video ids",)),
    ("byid-float", lambda r, c: tr.fetch_videos_by_id([7.3e18], client=c),
     ("float", "dtype=str")),
    ("byid-pandas-nan-column", lambda r, c: tr.fetch_videos_by_id(
        pd.DataFrame({"id": [float(ID), NAN]}), client=c), ("float",)),
    ("byid-letters", lambda r, c: tr.fetch_videos_by_id(["abc"], client=c),
     ("'abc'", "not an id")),
    ("byid-negative", lambda r, c: tr.fetch_videos_by_id([-5], client=c), ("not a valid id",)),
    ("byid-batch-0", lambda r, c: tr.fetch_videos_by_id([ID], batch_size=0, client=c),
     ("batch_size", "1 to 100")),
    ("byid-batch-101", lambda r, c: tr.fetch_videos_by_id([ID], batch_size=101, client=c),
     ("batch_size", "1 to 100")),
    ("byid-unknown-field", lambda r, c: tr.fetch_videos_by_id([ID], fields="views", client=c),
     ("unknown field 'views'",)),
    ("byid-table-without-id", lambda r, c: tr.fetch_videos_by_id(
        pl.DataFrame({"x": [1]}), client=c), ("'id'", "'video_id'")),
    ("byid-archive-file", lambda r, c: tr.fetch_videos_by_id(
        [ID], archive=r / "afile.txt", client=c), ("is a file",)),
    ("compliance-category-videos", lambda r, c: tr.check_compliance([ID], "videos", client=c),
     ("category must be 'video' or 'comment'", "'videos'")),
    ("compliance-empty", lambda r, c: tr.check_compliance([], client=c), ("no video ids",)),
    ("compliance-blank-nan", lambda r, c: tr.check_compliance(["", None, NAN], client=c),
     ("no video ids",)),
    ("compliance-float", lambda r, c: tr.check_compliance([1.5e18], "comment", client=c),
     ("comment ids", "float")),
    ("compliance-poll", lambda r, c: tr.check_compliance([ID], poll=(-1, 5), client=c),
     ("poll",)),
    ("refresh-missing-folder", lambda r, c: tr.refresh_videos(r / "nope", client=c),
     ("does not exist",)),
    ("refresh-empty-folder", lambda r, c: tr.refresh_videos(r / "emptydir", client=c),
     ("no parquet",)),
    ("refresh-text-file", lambda r, c: tr.refresh_videos(r / "afile.txt", client=c),
     ("afile.txt",)),
    ("refresh-no-id-column", lambda r, c: tr.refresh_videos(pl.DataFrame({"x": [1]}), client=c),
     ("no id column",)),
    ("refresh-float-ids", lambda r, c: tr.refresh_videos(
        pd.DataFrame({"id": [float(ID), NAN], "view_count": [1, 2]}), client=c),
     ("float", "id")),
    ("refresh-no-ids", lambda r, c: tr.refresh_videos(
        pl.DataFrame({"id": [None]}, schema={"id": pl.Int64}), client=c), ("no video ids",)),
    ("refresh-drop-removed", lambda r, c: tr.refresh_videos(
        pl.DataFrame({"id": [ID]}), drop_removed="yes", client=c), ("drop_removed",)),
    ("refresh-unknown-field", lambda r, c: tr.refresh_videos(
        pl.DataFrame({"id": [ID]}), fields="id,views", client=c), ("unknown field 'views'",)),
    ("refresh-dict", lambda r, c: tr.refresh_videos({"id": [ID]}, client=c),
     ("videos table", "dict")),
    ("update-dataset-is-a-file", lambda r, c: tr.update_videos(
        CATS, r / "afile.txt", "2024-01-01", client=c), ("is a file",)),
    ("update-no-dataset", lambda r, c: tr.update_videos(CATS, None, "2024-01-01", client=c),
     ("dataset",)),
    ("update-other-query", lambda r, c: tr.update_videos(
        tr.Q.hashtag_name.eq("dogs"), r / "other-query", client=c), ("another query",)),
    ("update-first-run-without-start", lambda r, c: tr.update_videos(
        CATS, r / "new-dataset", client=c), ("start_date",)),
    ("update-missing-folder-without-start", lambda r, c: tr.update_videos(
        CATS, r / "emptydir", client=c), ("start_date",)),
    ("update-start-not-a-date", lambda r, c: tr.update_videos(
        CATS, r / "new-dataset", "yesterday", client=c), ("'yesterday' is not a date",)),
    ("update-empty-query", lambda r, c: tr.update_videos(
        {"and": []}, r / "new-dataset", "2024-01-01", client=c), ("empty",)),
    ("update-unknown-field", lambda r, c: tr.update_videos(
        CATS, r / "new-dataset", "2024-01-01", fields="views", client=c), ("'views'",)),
    ("dehydrate-no-column", lambda r, c: tr.dehydrate(pl.DataFrame({"x": [1]}), r / "ids.txt"),
     ("no 'id' column",)),
]  # fmt: skip


@pytest.fixture(scope="module")
def bad_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Sandbox]:
    root = tmp_path_factory.mktemp("bad-maintain")
    _prepare(root)
    return root, stopped_sandbox(n_videos=2_000)


@pytest.mark.parametrize(("call", "says"), [pytest.param(c, s, id=i) for i, c, s in BAD])
def test_bad_input_is_refused_before_any_request(
    call: Callable[[Path, tr.Client], Any], says: tuple[str, ...],
    bad_setup: tuple[Path, Sandbox],
) -> None:  # fmt: skip
    root, sb = bad_setup
    before = len(sb.request_log)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "dropped 3 blank item(s)"
        with pytest.raises(tr.InvalidRequestError) as err:
            call(root, client_of(sb))
    for words in says:
        assert words.lower() in str(err.value).lower(), str(err.value)
    assert len(sb.request_log) == before, "nothing may be sent"
    assert not (root / "new-dataset").exists(), "nothing may be created"
