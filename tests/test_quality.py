"""The quality report (issue 19) against the realistic sandbox's known truths.

Every figure the report gives is compared with what the sandbox knows it did (``Sandbox.truth``):
the hidden slots of each window, the failing date ranges, the planted strays; the eras with
answers retrieved at known sandbox dates. The sandbox is deterministic for a seed, so nothing here
can flake.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
import warnings
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import tiktok_research as tr
from tiktok_research._eras import ERAS, straddled
from tiktok_research._quality._measure import WINDOW_SCHEMA, _suspicious
from tiktok_research.cli import app
from tiktok_research.sandbox import Sandbox, SandboxConfig
from tiktok_research.sandbox._corpus import REGIONS

NOW = calendar.timegm((2025, 1, 15, 12, 0, 0))


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def realistic(clock: float = NOW, **overrides: object) -> Sandbox:
    return Sandbox(
        SandboxConfig.realistic(frozen_corpus=True, **overrides),  # type: ignore[arg-type]
        clock=Clock(clock),
    )


def fetch(
    sb: Sandbox, query: tr.Q, start: str, end: str, archive: Path, **kw: object
) -> tr.FetchResult:
    kw.setdefault("sleep", lambda seconds: None)  # retries of a failing window wait for nothing
    client = tr.Client.sandbox(sb, **kw)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tr.fetch_videos(query, start, end, client=client, archive=archive, progress=False)


ALL_REGIONS = tr.Q.region_code.isin(sorted(REGIONS))


# ---------------------------------------------------------------------------------- hidden slots


def test_hidden_slots_match_the_sandbox_window_by_window(tmp_path: Path) -> None:
    sb = realistic()
    result = fetch(sb, ALL_REGIONS, "20240401", "20240630", tmp_path)
    assert result.complete
    report = tr.quality(result)
    windows = report.windows
    assert windows.height == len(result.report.pending) + result.report.tasks_total
    assert set(windows["status"]) == {"complete"}
    total_slots = total_hidden = 0
    for row in windows.iter_rows(named=True):
        truth = sb.truth.query(ALL_REGIONS, row["start_date"], row["end_date"])
        assert row["slots"] == truth.slots
        assert row["hidden_slots"] == truth.hidden_slots
        assert row["rows"] == truth.returned
        total_slots += truth.slots
        total_hidden += truth.hidden_slots
    assert report.hidden_share == pytest.approx(total_hidden / total_slots)
    # within one percentage point of the configured share (10 % in the realistic profile)
    assert abs(report.hidden_share - sb.config.hidden_share) < 0.01
    assert f"{report.hidden_share:.1%} hidden slots" in report.verdict()
    # requests paid: one per page, every one ok; yield = rows per page against max_count
    assert windows["requests"].sum() == sb.stats()["requests"]["video_query"]
    assert (windows["failed_requests"] == 0).all()
    for row in windows.iter_rows(named=True):
        assert row["yield"] == pytest.approx(row["rows"] / (row["pages"] * 100))


def test_the_default_sandbox_hides_its_own_share(tmp_path: Path) -> None:
    """Not only the realistic profile: the default sandbox's 5 % is found too."""
    sb = Sandbox(SandboxConfig(frozen_corpus=True), clock=Clock(NOW))
    report = tr.quality(fetch(sb, ALL_REGIONS, "20240101", "20240229", tmp_path))
    truth = [
        sb.truth.query(ALL_REGIONS, r["start_date"], r["end_date"])
        for r in report.windows.iter_rows(named=True)
    ]
    assert report.hidden_share == pytest.approx(
        sum(t.hidden_slots for t in truth) / sum(t.slots for t in truth)
    )
    assert abs(report.hidden_share - 0.05) < 0.01


# ---------------------------------------------------------------------------------------- gaps


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        (tr.Q.hashtag_name.isin(["fyp", "foryou", "cats"]), "20240301", "20240331"),
        (ALL_REGIONS, "20241001", "20241020"),
    ],
    ids=["hashtag-range", "any-field-day"],
)
def test_gaps_are_exactly_the_failing_ranges(
    tmp_path: Path, query: tr.Q, start: str, end: str
) -> None:
    """The collection narrows a failing window down to its failing days and goes on with the
    others (no retries here: a window that always fails is not worth them, and the retry
    budget would stop the narrowing); the report's gaps are exactly the configured ranges."""
    sb = realistic()
    result = fetch(sb, query, start, end, tmp_path, max_retries=0)
    report = tr.quality(result)
    s, e = (
        dt.date.fromisoformat(f"{start[:4]}-{start[4:6]}-{start[6:]}"),
        dt.date.fromisoformat(f"{end[:4]}-{end[4:6]}-{end[6:]}"),
    )
    expected = [
        (max(r.start, s), min(r.end, e))
        for r in sb.truth.failing_ranges
        if r.start <= e and r.end >= s and sb.truth.window_fails(query, r.start, r.end)
    ]
    assert expected, "the test needs a failing range inside its dates"
    found = [(g["start_date"], g["end_date"]) for g in report.gaps.iter_rows(named=True)]
    assert found == expected
    for g in report.gaps.iter_rows(named=True):
        assert g["http_status"] == 500
        assert g["error_code"] == "internal_error"
        assert g["log_id"]  # the log id to give TikTok's support
    assert "gap" in report.windows["status"].to_list()
    assert not report.complete
    assert report.verdict().startswith(f"incomplete; {len(expected)} gap")
    # a gap is missing data, never "no data": every other day of the dates was collected
    failing_days = {
        s + dt.timedelta(days=k) for a, b in expected for k in range((a - s).days, (b - s).days + 1)
    }
    created = set(result["create_time"].dt.date().to_list())
    assert not created & failing_days


# -------------------------------------------------------------------------------------- strays


def test_every_planted_stray_is_found_and_nothing_else(tmp_path: Path) -> None:
    sb = realistic()
    seed = fetch(sb, ALL_REGIONS, "20240401", "20240430", tmp_path / "seed")
    users = seed["username"].value_counts().sort("count", descending=True)["username"][:8]
    query = tr.Q.username.isin(users.to_list())
    result = fetch(sb, query, "20240101", "20240630", tmp_path / "users")
    report = tr.quality(result)
    planted: set[int] = set()
    for row in report.windows.iter_rows(named=True):
        planted |= set(sb.truth.query(query, row["start_date"], row["end_date"]).stray_ids)
    assert planted, "the realistic profile plants strays in username queries"
    strays = report.strays
    assert set(strays["id"].to_list()) == planted
    assert strays["condition"].str.contains("username IN").all()
    assert not strays["username"].is_in(users.to_list()).any()
    assert f"{len(planted)} stray row(s)" in report.verdict()


def test_strays_of_region_hashtag_and_dates_are_checked_locally(tmp_path: Path) -> None:
    """Rows the service should not have returned (edited into the archive) are named with the
    condition they fail; the others are not listed."""
    sb = Sandbox(SandboxConfig(frozen_corpus=True), clock=Clock(NOW))
    query = tr.Q.region_code.eq("FR") & tr.Q.hashtag_name.isin(["fyp", "foryou"])
    result = fetch(sb, query, "20240301", "20240310", tmp_path)
    assert result.height > 3
    folder = result.report.archive
    assert folder is not None
    page = next(folder.glob("pages-*"))
    import gzip

    raw = gzip.decompress(page.read_bytes()) if page.name.endswith(".gz") else page.read_bytes()
    env = json.loads(raw.splitlines()[0])
    videos = env["response"]["data"]["videos"]
    videos[0]["region_code"] = "DE"
    videos[1]["hashtag_names"] = ["cats"]
    videos[2]["create_time"] = calendar.timegm((2024, 3, 11, 0, 0, 1))
    edited = json.dumps(env).encode() + b"\n" + b"\n".join(raw.splitlines()[1:]) + b"\n"
    page.unlink()
    page.with_name(page.name.removesuffix(".gz")).write_bytes(edited)
    strays = tr.quality(folder).strays
    by_id = dict(zip(strays["id"].to_list(), strays["condition"].to_list(), strict=True))
    assert set(by_id) == {videos[0]["id"], videos[1]["id"], videos[2]["id"]}
    assert "region_code EQ [FR]" in by_id[videos[0]["id"]]
    assert "hashtag_name IN" in by_id[videos[1]["id"]]
    assert "create_time in 2024-03-01..2024-03-10" in by_id[videos[2]["id"]]


# ---------------------------------------------------------------------------------------- eras


def _at(day: dt.date) -> float:
    return calendar.timegm((day.year, day.month, day.day, 12, 0, 0))


def test_each_era_a_collection_straddles_is_named(tmp_path: Path) -> None:
    """Three collections of the same query retrieved in June 2024, June 2025 and June 2026 (the
    sandbox clock): every era between the first and the last answer is named, with how many
    answers fall on each side; none outside."""
    days = [dt.date(2024, 6, 1), dt.date(2025, 6, 1), dt.date(2026, 6, 1)]
    for k, day in enumerate(days):
        sb = Sandbox(
            SandboxConfig(
                frozen_corpus=True, start_date=dt.date(2024, 1, 1), end_date=dt.date(2024, 5, 1)
            ),
            clock=Clock(_at(day)),
        )
        fetch(sb, tr.Q.region_code.eq(["FR", "DE", "US"][k]), "20240101", "20240131", tmp_path)
    report = tr.quality(tmp_path)
    expected = [e.key for e in ERAS if days[0] < e.start <= days[-1]]
    assert report.eras["era"].to_list() == expected
    assert len(expected) >= 5
    for row in report.eras.iter_rows(named=True):
        assert row["answers_before"] > 0 and row["answers_after"] > 0
        assert row["sources"]  # cited
    assert "straddles" in report.verdict()
    md = report.to_markdown()
    assert "2026-02-26" in md and "developers.tiktok.com/doc/changelog" in md
    # one collection alone straddles nothing
    first = sorted(tmp_path.iterdir())[0]
    one = tr.quality(first)
    assert one.eras.height == 0
    # merging them warns, from the caller's line; merging one does not
    with pytest.warns(tr.EraWarning, match="2026-02-26") as caught:
        merged = tr.merge_dumps(tmp_path)
    assert caught[0].filename == __file__
    assert merged["videos"].height == report.collections["rows"].sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error", tr.EraWarning)
        tr.merge_dumps(first)


def test_eras_table_is_dated_sourced_and_ordered() -> None:
    assert [e.start for e in ERAS] == sorted(e.start for e in ERAS)
    for era in ERAS:
        assert era.sources and era.citation().count("http") == len(era.sources)
    assert {e.start.isoformat() for e in ERAS} >= {
        "2024-07-01",
        "2024-11-04",
        "2025-04-17",
        "2026-02-26",
    }
    assert straddled(dt.date(2026, 2, 25), dt.date(2026, 2, 26))[0].key == "coverage-2026-02"
    assert straddled(dt.date(2026, 2, 26), dt.date(2026, 2, 27)) == []


# ------------------------------------------------------------------------- statuses and fields


def test_a_run_stopped_by_its_budget_has_stopped_windows(tmp_path: Path) -> None:
    sb = realistic()
    result = fetch(sb, ALL_REGIONS, "20240401", "20240630", tmp_path, max_requests=3)
    assert not result.complete
    report = tr.quality(result)
    statuses = report.windows["status"].to_list()
    assert "stopped" in statuses and "gap" not in statuses
    assert report.gaps.height == 0  # stopped is not a gap: running again continues
    assert report.verdict().startswith("incomplete; 0 gaps")
    assert "window(s) stopped" in report.verdict()


def test_suspiciously_empty_needs_busy_neighbours() -> None:
    def frame(rows: list[int]) -> pl.DataFrame:
        day = dt.date(2024, 1, 1)
        data = [
            {
                **dict.fromkeys(WINDOW_SCHEMA),
                "collection": "c",
                "task": f"t{k}",
                "start_date": day + dt.timedelta(days=7 * k),
                "end_date": day + dt.timedelta(days=7 * k + 6),
                "rows": n,
                "status": "complete",
            }
            for k, n in enumerate(rows)
        ]
        return pl.DataFrame(data, schema=WINDOW_SCHEMA, orient="row")

    assert _suspicious(frame([500, 480, 0, 510, 530]))["status"][2] == "suspiciously empty"
    assert _suspicious(frame([1, 0, 0, 2, 1]))["status"].to_list() == ["complete"] * 5
    assert _suspicious(frame([0, 700]))["status"][0] == "suspiciously empty"


def test_fields_by_region_follow_the_sandbox(tmp_path: Path) -> None:
    sb = realistic()
    report = tr.quality(fetch(sb, ALL_REGIONS, "20240101", "20240630", tmp_path))
    share = report.field_share("voice_to_text")
    assert share is not None and 0.10 < share < 0.20
    assert f"voice_to_text {share:.0%}" in report.verdict()
    by_region = report.fields.filter(
        (pl.col("by") == "region_code") & (pl.col("column") == "voice_to_text")
    )
    us = by_region.filter(pl.col("group") == "US")["share"][0]
    others = by_region.filter(
        ~pl.col("group").is_in(list(SandboxConfig.realistic().voice_to_text_region_weights or {}))
    )
    rest = others["present"].sum() / others["rows"].sum()
    assert us > 1.5 * rest  # twice as often in the profile
    months = report.fields.filter((pl.col("by") == "month") & (pl.col("column") == "id"))
    assert months["group"].to_list() == [f"2024-{m:02d}" for m in range(1, 7)]
    assert (months["share"] == 1.0).all()


# ------------------------------------------------------------------------- output and inputs


def test_markdown_statement_names_cost_gaps_and_sources(tmp_path: Path) -> None:
    sb = realistic()
    result = fetch(sb, tr.Q.hashtag_name.isin(["fyp", "foryou"]), "20240305", "20240315", tmp_path)
    report = tr.quality(result)
    md = report.to_markdown()
    assert "**What was asked.**" in md and '"hashtag_name"' in md
    assert f"{int(report.collections['requests'].sum()):,} requests" in md
    for g in report.gaps.iter_rows(named=True):
        assert g["log_id"] in md
    assert "arxiv.org/abs/2506.09746" in md and "10.1177/08944393251413277" in md
    assert "arxiv.org/abs/2402.13855" in md


def test_sources_a_user_may_pass(tmp_path: Path) -> None:
    sb = realistic()
    result = fetch(sb, tr.Q.region_code.eq("FR"), "20240101", "20240110", tmp_path)
    folder = result.report.archive
    assert folder is not None
    for source in (result, folder, str(tmp_path), tmp_path, sorted(folder.glob("pages-*"))):
        assert tr.quality(source).windows["rows"].sum() == result.height
    for bad in (tmp_path / "nope", 42, tmp_path / "empty"):
        if bad == tmp_path / "empty":
            (tmp_path / "empty").mkdir()
        with pytest.raises(tr.InvalidRequestError):
            tr.quality(bad)


def test_quality_command(tmp_path: Path) -> None:
    runner = CliRunner()
    sb = realistic()
    fetch(sb, tr.Q.hashtag_name.isin(["fyp"]), "20240305", "20240315", tmp_path / "a")
    out = runner.invoke(app, ["quality", str(tmp_path / "a"), "--html", str(tmp_path / "r.html")])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("quality: incomplete; 1 gap")
    page = (tmp_path / "r.html").read_text()
    assert "<table>" in page and "data:image/png;base64," in page
    assert "http://" not in page.split("<pre")[0] and "<script" not in page
    md = runner.invoke(app, ["quality", str(tmp_path / "a"), "--markdown"])
    assert md.exit_code == 0 and md.output.startswith("## Data statement")
    bad = runner.invoke(app, ["quality", str(tmp_path / "missing")])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_quality_html_replaces_only_its_own_page(tmp_path: Path) -> None:
    """out-files' rule for every output: the same command again replaces its own page; a file it
    did not write is refused (exit 2, named, --overwrite named) and left as it was."""
    runner = CliRunner()
    fetch(realistic(), tr.Q.region_code.eq("FR"), "20240105", "20240110", tmp_path / "a")
    page = tmp_path / "r.html"
    args = ["quality", str(tmp_path / "a"), "--html", str(page)]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)  # a rerun replaces its own, unchanged page
    assert again.exit_code == 0, again.output
    page.write_text("my notes")
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2, refused.output
    assert "--overwrite" in refused.output and str(page) in refused.output
    assert page.read_text() == "my notes"
    other = runner.invoke(app, ["quality", str(tmp_path / "a"), "--html", str(tmp_path / "r.txt")])
    assert other.exit_code == 2 and ".html" in other.output
    forced = runner.invoke(app, [*args, "--overwrite"])
    assert forced.exit_code == 0 and "<table>" in page.read_text()


def test_collection_commands_end_with_the_verdict(tmp_path: Path) -> None:
    runner = CliRunner()
    log = tmp_path / "run.log"
    out = runner.invoke(
        app,
        [
            "--log",
            str(log),
            "videos",
            "--sandbox",
            "--region",
            "FR",
            "--start",
            "2024-01-01",
            "--end",
            "2024-01-10",
            "--archive",
            str(tmp_path / "arch"),
            "--out",
            str(tmp_path / "v.parquet"),
        ],
    )
    assert out.exit_code == 0, out.output
    last = [line for line in out.output.splitlines() if line.startswith("quality: ")]
    assert len(last) == 1 and last[0].startswith("quality: complete; 0 gaps, ")
    assert "hidden slots" in last[0] and "voice_to_text" in last[0]
    # the verdict is kept in the --log file too: once, time-stamped like the other lines
    logged = [ln for ln in log.read_text(encoding="utf-8").splitlines() if " quality: " in ln]
    assert len(logged) == 1, logged
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[\d+\] info: ", logged[0])
    assert logged[0].endswith(last[0])
    # an availability audit of those ids ends with its round's verdict too
    ids = [str(i) for i in pl.read_parquet(tmp_path / "v.parquet")["id"].head(20)]
    args = ["--archive", str(tmp_path / "arch"), "--out", str(tmp_path / "audit.parquet")]
    audit = runner.invoke(
        app, ["--log", str(log), "audit", "--sandbox", *ids, *args, "--no-progress"]
    )
    assert audit.exit_code == 0, audit.output
    verdicts = [line for line in audit.output.splitlines() if line.startswith("quality: ")]
    assert len(verdicts) == 1 and verdicts[0].startswith("quality: complete; 0 gaps")
    logged = [ln for ln in log.read_text(encoding="utf-8").splitlines() if " quality: " in ln]
    assert len(logged) == 2 and logged[1].endswith(verdicts[0]), logged


def test_dataset_writers_warn_when_runs_straddle_an_era(tmp_path: Path) -> None:
    """A dataset that gets runs retrieved on both sides of 2026-02-26 (the coverage change)
    warns once, naming the change; runs on one side do not. A dataset holds each id once: a run
    that supersedes every row an older run left leaves one era, and does not warn."""
    sb = Sandbox(SandboxConfig(frozen_corpus=True), clock=Clock(NOW))
    videos = fetch(sb, tr.Q.region_code.eq("FR"), "20240101", "20240110", tmp_path / "a")
    table = pl.DataFrame(videos).sort("id")
    assert table.height >= 8
    part = table.height // 4
    slices = [table.slice(i * part, part) for i in range(3)] + [table.slice(3 * part)]

    def at(rows: pl.DataFrame, day: dt.date) -> pl.DataFrame:
        when = dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)
        return rows.with_columns(pl.lit(when).dt.cast_time_unit("us").alias("retrieved_at"))

    root = tmp_path / "videos"
    with warnings.catch_warnings():
        warnings.simplefilter("error", tr.EraWarning)
        tr.write_dataset(at(slices[0], dt.date(2026, 1, 5)), root, table="videos")
        tr.write_dataset(at(slices[1], dt.date(2026, 2, 20)), root, table="videos")  # same side
    with pytest.warns(tr.EraWarning, match="2026-02-26") as caught:
        tr.write_dataset(at(slices[2], dt.date(2026, 3, 2)), root, table="videos")
    assert caught[0].filename == __file__  # the user's line, not ours
    assert "2026-03-09" not in str(caught[0].message)  # not straddled: 2026-03-02 is before it
    with warnings.catch_warnings():
        warnings.simplefilter("error", tr.EraWarning)  # already said: not again
        tr.write_dataset(at(slices[3], dt.date(2026, 3, 3)), root, table="videos")
    assert tr.io.read_dataset(root, table="videos").collect().height == table.height

    # every row collected again after the change: the older copies are superseded, one era left
    fresh = tmp_path / "fresh"
    with warnings.catch_warnings():
        warnings.simplefilter("error", tr.EraWarning)
        tr.write_dataset(at(table, dt.date(2026, 1, 5)), fresh, table="videos")
        tr.write_dataset(at(table, dt.date(2026, 3, 2)), fresh, table="videos")
    assert tr.io.read_dataset(fresh, table="videos").collect().height == table.height


def test_collections_into_one_dataset_warn_by_when_their_answers_came(tmp_path: Path) -> None:
    """The engine's dataset writes (fetch_videos(dataset=)) record when their answers arrived
    (the sandbox clock here), not when the file was written: two runs a coverage change apart
    warn, at the user's line; the same two runs on one side of it do not. (Before: every write
    counted as 'now', so no warning.)"""

    def into(dataset: Path, day: dt.date, start: str, end: str) -> None:
        cfg = SandboxConfig(frozen_corpus=True, start_date=dt.date(2024, 1, 1),
                            end_date=dt.date(2024, 3, 1))  # fmt: skip
        client = tr.Client.sandbox(Sandbox(cfg, clock=Clock(_at(day))))
        tr.fetch_videos(tr.Q.region_code.eq("FR"), start, end, client=client,
                        archive=dataset.with_suffix(".archive"), dataset=dataset,
                        progress=False)  # fmt: skip

    with warnings.catch_warnings():
        warnings.simplefilter("error", tr.EraWarning)
        into(tmp_path / "one-side", dt.date(2026, 3, 1), "20240101", "20240115")
        into(tmp_path / "one-side", dt.date(2026, 3, 5), "20240116", "20240131")
        into(tmp_path / "both", dt.date(2026, 2, 1), "20240101", "20240115")
    with pytest.warns(tr.EraWarning, match="2026-02-26") as caught:
        into(tmp_path / "both", dt.date(2026, 3, 1), "20240116", "20240131")
    assert len(caught) == 1 and caught[0].filename == __file__


def test_a_rerun_asks_only_the_failing_days_again(tmp_path: Path) -> None:
    """A day that always answers 500 is set aside, the rest of its window is collected, and the
    next run asks that day alone (one request each, no retries here), nothing held twice."""
    sb = realistic()
    query = tr.Q.hashtag_name.isin(["fyp", "foryou"])
    first = fetch(sb, query, "20240301", "20240331", tmp_path, max_retries=0)
    assert not first.complete
    days = tr.quality(first).gaps["days"].sum()
    assert days == 3
    before = sb.stats()["requests"]["video_query"]
    second = fetch(sb, query, "20240301", "20240331", tmp_path, max_retries=0)
    assert sb.stats()["requests"]["video_query"] - before == days
    assert second.equals(first)
    assert tr.quality(second).gaps.height == 1


def test_the_light_reading_and_the_row_maker_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Intact files are read a block at a time with a light schema; a file that does not fit is
    read by the row maker (tables.read_archive). Both give the same report."""
    from tiktok_research._quality import _read

    sb = realistic()
    seed = fetch(sb, ALL_REGIONS, "20240401", "20240415", tmp_path / "seed")
    users = seed["username"].unique().sort().head(6).to_list()
    fetch(sb, tr.Q.username.isin(users), "20240101", "20240430", tmp_path / "a")
    both = [tmp_path / "seed", tmp_path / "a"]
    fast = tr.quality(both)

    def broken(path: Path) -> object:
        raise OSError("force the careful way")

    monkeypatch.setattr(_read, "_blocks", broken)
    careful = tr.quality(both)
    for name in ("windows", "gaps", "fields", "strays", "eras"):
        a, b = getattr(fast, name), getattr(careful, name)
        sort = [c for c in a.columns if a.schema[c] != pl.List(pl.String)]
        assert a.sort(sort).equals(b.sort(sort)), name
    assert fast.strays.height > 0 and fast.fields.height > 0


def test_a_damaged_page_file_is_named_never_called_complete(tmp_path: Path) -> None:
    sb = realistic()
    result = fetch(sb, ALL_REGIONS, "20240401", "20240430", tmp_path)
    assert result.complete
    folder = result.report.archive
    assert folder is not None
    page = next(folder.glob("pages-*.gz"))
    page.write_bytes(page.read_bytes()[: page.stat().st_size // 2])  # cut by a crash
    report = tr.quality(folder)
    assert str(page) in report.damage
    assert not report.complete
    assert "1 damaged file(s)" in report.verdict()
    assert 0 < report.collections["rows"][0] < result.height  # what is readable is kept


def test_audit_rounds_and_sample_strata_are_read_task_by_task(tmp_path: Path) -> None:
    """The other collections of issue 19 in one archive: every id batch of an audit round and
    every stratum of a sample is one task (several batches, or the strata of one period, share a
    window): each is one row of ``windows``, its rows counted once. Rows per round = the audit's
    found ids, per stratum = the sample's returned videos; a round stopped by its budget is
    stopped, with exactly its batches not asked. (Before, the windows were the tasks: every
    batch of a finished audit was 'stopped, not finished' and its answers counted per window.)"""
    clock = Clock(NOW)
    quota = {"research": 1_000_000, "social": 1_000_000}
    cfg = SandboxConfig.realistic(n_videos=6_000, daily_quota=quota, removal_rate=0.01)
    sb = Sandbox(cfg, clock=clock)
    status = sb.truth.video_status(sb.corpus.ids[:1_100].tolist())
    ids = status.filter(pl.col("status") != "hidden")["id"].head(300).to_list()
    audit = tr.audit_ids(ids, archive=tmp_path, batch_size=5, client=tr.Client.sandbox(sb),
                         progress=False)  # fmt: skip
    clock.t += 10 * 86_400
    query = tr.Q.region_code.isin(["US", "GB"])
    sample = tr.sample_videos(query, "20240101", "20240331", per="month", n=20,
                              strata=["region_code"], client=tr.Client.sandbox(sb),
                              archive=tmp_path, progress=False)  # fmt: skip
    report = tr.quality(tmp_path)
    assert report.verdict().startswith("complete; 0 gaps")
    w = report.windows
    rounds = w.filter(pl.col("collection").str.starts_with("audit-"))
    assert rounds.height == audit.report.tasks_total >= 15
    assert rounds.select("start_date", "end_date").n_unique() < rounds.height  # shared windows
    assert set(rounds["status"]) == {"complete"} and set(rounds["pages"]) == {1}
    assert rounds["rows"].sum() == audit.by_round()["found"][0]
    assert rounds["requests"].sum() == audit.report.requests_spent
    strata = w.filter(pl.col("collection").str.starts_with("sample-"))
    assert strata.height == sample.strata.height == 6 and set(strata["status"]) == {"complete"}
    assert sorted(strata["rows"]) == sorted(sample.strata["returned"])
    assert strata["yield"].to_list() == pytest.approx(
        [r / 20 for r in strata["rows"]]
    )  # returned / asked, as the sample's strata say
    assert strata["hidden_slots"].is_null().all()  # a random draw does not count slots

    # a second round stopped by its budget: stopped, with the batches not asked
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tr.audit_ids(ids, archive=tmp_path, batch_size=5, progress=False, max_workers=1,
                     client=tr.Client.sandbox(sb, max_requests=3))  # fmt: skip
    report = tr.quality(tmp_path)
    assert report.verdict().startswith("incomplete; 0 gaps")
    second = report.windows.filter(
        pl.col("collection").str.starts_with("audit-")
        & ~pl.col("collection").is_in(rounds["collection"].unique().to_list())
    )
    assert second.height == rounds.height
    assert (second["status"] == "complete").sum() == 3
    assert (second["status"] == "stopped").sum() == rounds.height - 3
