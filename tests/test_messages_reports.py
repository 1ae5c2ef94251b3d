"""Issue 18, item 13 (session 4): reports say what a run sent and what the service charged, in
the same words everywhere (Python reports, the command line, the demo's last line, the README),
with one name per endpoint (the API's: ``video_query``, ``user_info``...); a task whose final
answer refuses its account is done and its account failed, with why; an update with nothing new
says so and sends nothing."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tiktok_research as tr
from _sandboxes import DemoRun
from tiktok_research.cli import app
from tiktok_research.maintain import UPDATE_STATE, update_range

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

#: A report's first line: its collection, the requests this run sent (to which endpoint) and the
#: requests charged, with the answers not charged.
LINE = re.compile(
    r"^(?P<kind>\w+): (?:complete|INCOMPLETE)[^\n]*?; this run: (?P<sent>[\d,]+) requests? "
    r"sent(?: to (?P<endpoint>\w+))?, (?P<charged>[\d,]+) charged"
    r"(?: \((?P<free>[^)]*), not charged\))?",
    re.M,
)
LAST = re.compile(
    r"^requests: (?P<sent>\d+) sent, (?P<charged>\d+) charged by the sandbox's quota"
    r"(?: \((?P<free>[^)]*), not charged[^)]*\))?; charged by endpoint: (?P<per>[^.]*)\.",
    re.M,
)


def _n(text: str) -> int:
    return int(text.replace(",", ""))


def test_the_demos_reports_and_its_last_line_use_the_same_words_and_add_up(
    demo_run: DemoRun,
) -> None:
    """Before: "users: complete; 39 rows; 40/40 tasks (1 failed); 40 requests spent in this
    run" against "quota charged by the sandbox: 97 requests (comments 28, user_info 39,
    video_query 30)": 40 against 39, users against user_info."""
    printed = demo_run.printed
    runs = list(LINE.finditer(printed))
    last = LAST.search(printed)
    assert len(runs) == 3 and last is not None, printed
    assert sum(_n(m["sent"]) for m in runs) == _n(last["sent"]) == demo_run.result["sent"]
    assert sum(_n(m["charged"]) for m in runs) == _n(last["charged"])
    # one name per endpoint: each run line names the endpoint the last line counts it under
    per = dict(item.rsplit(" ", 1) for item in last["per"].split(", "))
    assert {m["endpoint"]: _n(m["charged"]) for m in runs} == {k: _n(v) for k, v in per.items()}
    assert {k: v for k, v in demo_run.result["requests"].items() if k != "oauth_token"} == {
        k: _n(v) for k, v in per.items()
    }
    users = next(m for m in runs if m["kind"] == "users")
    assert users["free"] == last["free"] == "1 answered 400"
    line = users.group(0)
    assert "40/40 tasks done, 1 account failed: invalid_params (API cannot return" in line
    assert "(1 failed)" not in printed and "requests spent" not in printed


def test_the_readme_quotes_what_the_demo_prints(demo_run: DemoRun) -> None:
    """The README's "Two commands" paragraph and docs/install.md give the demo's figures."""
    last = LAST.search(demo_run.printed)
    assert last is not None
    per = {k: _n(v) for k, v in (i.rsplit(" ", 1) for i in last["per"].split(", "))}
    failed_500 = demo_run.result["answers"][("video_query", 500)]
    users_sent = sum(n for (ep, _), n in demo_run.result["answers"].items() if ep == "user_info")
    for page in ("README.md", "docs/install.md"):
        text = " ".join((ROOT / page).read_text(encoding="utf-8").split())
        said = re.search(
            r"It sends (\d+) requests, and the sandbox charges (\d+) of them to its quota: "
            r"video_query (\d+) \((\d+) of them answered HTTP 500.*?\), comments (\d+), "
            r"user_info (\d+) \(of (\d+) sent: the one answered HTTP 400",
            text,
        )
        assert said is not None, page
        assert [int(x) for x in said.groups()] == [
            _n(last["sent"]), _n(last["charged"]), per["video_query"], failed_500,
            per["comments"], per["user_info"], users_sent,
        ], page  # fmt: skip


def test_a_report_says_sent_and_charged_as_the_sandbox_and_the_ledger_count(
    tmp_path: Path,
) -> None:
    sb = tr.sandbox.Sandbox(tr.sandbox.SandboxConfig(n_videos=2000))
    client = tr.Client.sandbox(sb, ledger=tmp_path / "ledger")
    users = tr.fetch_user_info(
        ["kimbookish", "nobody_here_1", "nobody_here_2"], client=client, progress=False
    )
    report = users.report
    assert (report.requests_spent, report.requests_charged, report.uncharged) == (3, 1, {400: 2})
    assert report.requests_by_endpoint == {"user_info": 3}
    # what the sandbox charged, and what the quota ledger (tiktok-research quota) counts
    assert sb.requests_spent()["user_info"] == report.requests_charged == 1
    assert client.quota.by_endpoint == {"user_info": 1}
    assert "research: 1 used (user_info 1), 999 of 1000 left" in str(client.quota)
    first = str(report).splitlines()[0]
    assert first.startswith("users: complete; 1 row; 3/3 tasks done, 2 accounts failed: ")
    assert (
        "this run: 3 requests sent to user_info, 1 charged (2 answered 400, not charged)" in first
    )
    both = tr.CollectionReport.combine([report, report])
    assert (both.requests_spent, both.requests_charged, both.uncharged) == (6, 2, {400: 4})
    assert both.failed_reasons == {k: 2 * v for k, v in report.failed_reasons.items()}


def test_the_command_line_says_sent_and_charged_and_which_account_failed_why(
    tmp_path: Path,
) -> None:
    args = ["users", "--sandbox", "kimbookish", "nobody_here_1", "--archive", str(tmp_path / "a"),
            "--out", str(tmp_path / "u.parquet")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    first = next(ln for ln in result.output.splitlines() if ln.startswith("users: "))
    assert first == (
        "users: complete; 1 row; 2/2 tasks done, 1 account failed: invalid_params (`username: "
        "nobody_here_1` is invalid: cannot find the user); this run: 2 requests sent to "
        "user_info, 1 charged (1 answered 400, not charged); 1 page"
    )
    # the verdict agrees: before, "quality: incomplete; 1 gap" under "users: complete"
    verdict = next(ln for ln in result.output.splitlines() if ln.startswith("quality: "))
    assert verdict == "quality: complete; 0 gaps, 1 item(s) failed (the service refused them)"


def test_a_max_total_run_and_its_verdict_agree(tmp_path: Path) -> None:
    """Before: "videos: complete; 150 rows; max_total reached ..." then "quality: incomplete; 0
    gaps, 12 window(s) stopped"."""
    args = ["videos", "--sandbox", "--hashtag", "fyp", "--start", "2024-01-01", "--end",
            "2024-12-31", "--max-total", "150", "--out", str(tmp_path / "v.parquet"),
            "--archive", str(tmp_path / "a")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    first = next(ln for ln in lines if ln.startswith("videos: "))
    assert first.startswith("videos: complete; 150 rows; max_total reached (0/12 tasks")
    verdict = next(ln for ln in lines if ln.startswith("quality: "))
    assert verdict.startswith("quality: complete; 0 gaps, max_total reached first (12 window(s)")
    assert "stopped" not in verdict


def test_comments_of_a_table_without_comment_count_are_asked_not_skipped(tmp_path: Path) -> None:
    """Found re-checking item 10 with item 18's table (collected with fields=): every video's
    null comment_count was taken for 0 and all were skipped: 0 rows, "complete"."""
    client = tr.Client.sandbox(tr.sandbox.Sandbox(tr.sandbox.SandboxConfig(n_videos=2000)))
    videos = tr.fetch_videos(tr.Q.hashtag_name.eq("fyp"), "2024-01-01", "2024-01-10",
                             fields="id,username", max_total=5, client=client,
                             progress=False)  # fmt: skip
    assert videos.height == 5 and videos["comment_count"].null_count() == 5
    comments = tr.fetch_comments(videos, client=client, progress=False)
    assert comments.report.tasks_total == 5 and comments.height > 0
    # a count that says 0 is still skipped (item 10)
    zero = videos.with_columns(tr.schemas.cast(videos, "videos")["comment_count"].fill_null(0))
    with pytest.warns(UserWarning, match="skipped 5 video"):
        assert tr.plan_items("comments", zero).tasks == []


def test_summary_of_videos_without_create_time_names_the_column_not_the_table(
    tmp_path: Path,
) -> None:
    """Before: "error: v.csv is not a videos table: ... needs the column 'create_time'"."""
    out = tmp_path / "v.csv"
    made = runner.invoke(app, ["videos", "--sandbox", "--hashtag", "cats", "--start", "2024-01-01",
                               "--end", "2024-01-05", "--fields", "id,view_count", "--out",
                               str(out), "--archive", str(tmp_path / "a")])  # fmt: skip
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, ["summary", str(out)])
    assert result.exit_code == 2
    assert f"cannot summarize {out}: " in result.output and "'create_time'" in result.output
    assert "not a videos table" not in result.output


def test_retry_lines_name_the_endpoint_as_the_reports_do(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before: "video query: window ... keeps failing" beside "video_query: [internal_error]"."""
    config = tr.sandbox.SandboxConfig(
        n_videos=2000,
        failing_ranges=(tr.sandbox.FailingRange(dt.date(2024, 1, 10), dt.date(2024, 1, 10)),),
    )
    client = tr.Client.sandbox(tr.sandbox.Sandbox(config), sleep=lambda s: None, max_retries=0)
    with caplog.at_level(logging.INFO, logger="tiktok_research"), pytest.warns(Warning):
        videos = tr.fetch_videos(tr.Q.hashtag_name.eq("fyp"), "2024-01-01", "2024-01-31",
                                 client=client, progress=False)  # fmt: skip
    said = [r.getMessage() for r in caplog.records]
    assert any(
        m.startswith("video_query: window 2024-01-01..2024-01-31 keeps failing") for m in said
    )
    assert not any("video query" in m for m in said), said
    assert "to video_query" in str(videos.report)


# ------------------------------------------------------------------ nothing new to collect

CATS = tr.Q.hashtag_name.eq("cats")
NOW = dt.datetime(2024, 6, 20, 12, tzinfo=dt.UTC)
NEWEST = dt.date(2024, 6, 17)  # 48 hours before NOW began on 06-18: its day before


def _held_through(folder: Path, day: dt.date) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    state = {"query": CATS.to_query().to_dict(), "through": day.strftime("%Y%m%d")}
    (folder / UPDATE_STATE).write_text(json.dumps(state), encoding="utf-8")


def test_update_range_is_none_when_nothing_is_new(tmp_path: Path) -> None:
    """Before: ``(2024-06-18, 2024-06-17)``, a start after its end."""
    _held_through(tmp_path / "monitor", NEWEST)
    assert update_range(CATS, tmp_path / "monitor", now=NOW) is None
    _held_through(tmp_path / "behind", NEWEST - dt.timedelta(days=1))
    assert update_range(CATS, tmp_path / "behind", now=NOW) == (NEWEST, NEWEST)


def test_update_with_nothing_new_says_so_on_the_command_line(tmp_path: Path) -> None:
    """Before: "update: complete; 0 rows; 0/0 tasks; 0 requests spent in this run (0 pages)" and
    a warning with the days written 20261204."""
    through = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).date() - dt.timedelta(days=1)
    _held_through(tmp_path / "monitor", through)
    result = runner.invoke(app, ["update", str(tmp_path / "monitor"), "--hashtag", "cats",
                                 "--sandbox", "--archive", str(tmp_path / "a")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"update: nothing new to collect: {tmp_path / 'monitor'} holds every day up to "
        f"{through.isoformat()}, the newest day the service has indexed in full; "
        "no data request sent"
    ]
    assert not (tmp_path / "a").exists(), "nothing collected, nothing archived"


# ------------------------------------------------------------------ item 14 in a notebook


def test_warnings_in_a_notebook_point_at_the_users_cell(tmp_path: Path) -> None:
    """Item 14 was checked in a script only (test_quota_surprise); a notebook's cells are
    frames of their own, and the warning must name the cell's line, not fetch.py or collect.py."""
    import nbclient
    import nbformat

    cells = [
        "import warnings, tiktok_research as tr\nwarnings.simplefilter('always')",
        "sb = tr.sandbox.Sandbox(tr.sandbox.SandboxConfig(n_videos=2000))\n"
        "c = tr.Client.sandbox(sb, max_requests=1)\n"
        "v = tr.fetch_videos(tr.Q.hashtag_name.eq('fyp'), '20240101', '20240331', client=c,\n"
        "                    progress=False)\n"
        "u = tr.fetch_user_info(['a', None, 'b'], client=tr.Client.sandbox(sb), progress=False)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    said = "".join(
        o.get("text", "") for o in nb.cells[1].outputs if o.get("name") == "stderr"
    ).splitlines()
    lines = [ln for ln in said if "Warning:" in ln]
    assert {"QuotaWarning", "IncompleteCollectionWarning", "UserWarning"} <= {
        ln.split("Warning:")[0].rsplit(" ", 1)[-1] + "Warning" for ln in lines
    }, said
    for line in lines:
        where = line.split(": ", 1)[0]  # FILE:LINE, the cell's file in the kernel
        assert "tiktok_research" not in where and "site-packages" not in where, line
        assert where.rsplit(":", 1)[-1] in {"3", "5"}, line  # fetch_videos' or fetch_user_info's


def test_from_file_without_the_column_gives_the_command_lines_advice(tmp_path: Path) -> None:
    """Item 17, re-checked: a table file without the column said "pass the column itself, e.g.
    df['username']" on the command line (Python's advice)."""
    table = tmp_path / "comments.csv"
    table.write_text('"id","video_id","text"\n"7320828516970957415","7320828516970957415","hi"\n')
    result = runner.invoke(app, ["users", "--sandbox", "--from-file", str(table), "--dry-run"])
    assert result.exit_code == 2, result.output
    assert f"--from-file {table}: users takes usernames from a column 'username'" in result.output
    assert "df[" not in result.output


def test_a_max_total_runs_quality_report_counts_the_rows_the_run_kept(tmp_path: Path) -> None:
    """Before: the run said "150 rows" and the quality report "191 rows" with no word of why,
    and its per-collection line counted neither the windows not needed nor the failed items."""
    archive = str(tmp_path / "a")
    args = ["videos", "--sandbox", "--hashtag", "fyp", "--start", "2024-01-01", "--end",
            "2024-12-31", "--max-total", "150", "--out", str(tmp_path / "v.parquet"),
            "--archive", archive]  # fmt: skip
    run = runner.invoke(app, args)
    assert run.exit_code == 0, run.output
    assert "videos: complete; 150 rows;" in run.output
    said = runner.invoke(app, ["quality", archive])
    assert said.exit_code == 0, said.output
    line = next(ln for ln in said.output.splitlines() if "(video_query)" in ln)
    archived = int(line.split(": ", 1)[1].split(" rows")[0].replace(",", ""))
    assert archived > 150  # the rest of the last page is archived, verbatim
    assert f"{archived:,} rows archived, 150 kept by max_total=150" in line, line
    assert "12 windows: 0 complete, 0 gap, 0 stopped, 12 not needed, 0 failed" in line, line
    statement = runner.invoke(app, ["quality", archive, "--markdown"]).output
    assert (
        f"{archived:,} rows archived, of which the collection kept 150: it asked for at most "
        f"150 rows (`max_total`), and the other {archived - 150:,} came on the same pages"
    ) in statement, statement
    assert "12 window(s) not read to their end" in statement
    users = runner.invoke(app, ["users", "--sandbox", "kimbookish", "nobody_here_1", "--out",
                                str(tmp_path / "u.parquet"), "--archive", archive])  # fmt: skip
    assert users.exit_code == 0, users.output
    said = runner.invoke(app, ["quality", archive]).output
    line = next(ln for ln in said.splitlines() if "(user_info)" in ln)
    assert line.endswith("2 windows: 1 complete, 0 gap, 0 stopped, 0 not needed, 1 failed, "
                         "0 suspiciously empty"), line  # fmt: skip
    assert ": 1 rows, " in line  # no max_total: the rows archived are the rows kept
