"""The tiktok-research command line, on the built-in sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from _sandboxes import new_sandbox
from tiktok_research import schemas
from tiktok_research.cli import EXIT_INCOMPLETE, EXIT_INVALID, app

runner = CliRunner()


def test_help_lists_every_command_with_examples() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "videos",
        "users",
        "comments",
        "liked",
        "pinned",
        "reposted",
        "followers",
        "following",
        "playlists",
        "shops",
        "products",
        "reviews",
        "merge",
        "select",
        "summary",
        "quota",
        "sandbox",
        "demo",
        "hydrate",
        "compliance",
        "refresh",
        "update",
    ):
        assert command in result.output
    assert "Examples" in result.output


def test_dry_run_prints_the_plan_and_spends_nothing(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "videos",
            "--sandbox",
            "--hashtag",
            "cats",
            "--region",
            "US",
            "--start",
            "2024-01-01",
            "--end",
            "2024-03-31",
            "--dry-run",
            "--archive",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "at least 3 request(s)" in result.output  # 91 days -> 3 windows (end - start <= 30)
    assert not any(tmp_path.iterdir())


def test_a_mistyped_query_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "videos",
            "--sandbox",
            "--region",
            "UK",
            "--start",
            "2024-01-01",
            "--end",
            "2024-01-31",
            "--archive",
            str(tmp_path),
        ],
    )
    assert result.exit_code == EXIT_INVALID
    assert "GB" in result.output  # suggests the right code


def test_videos_then_select_then_comments_pipeline(tmp_path: Path) -> None:
    videos = tmp_path / "videos.parquet"
    r = runner.invoke(
        app,
        [
            "videos",
            "--sandbox",
            "--hashtag",
            "cats",
            "--start",
            "2024-02-01",
            "--end",
            "2024-02-20",
            "--out",
            str(videos),
            "--archive",
            str(tmp_path / "arch"),
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "complete" in r.output
    table = pl.read_parquet(videos)
    assert table.schema == schemas.VIDEOS and table.height > 0

    ids = tmp_path / "ids.txt"
    r = runner.invoke(
        app,
        [
            "select",
            "video-ids",
            str(videos),
            "--min-comments",
            "1",
            "--top",
            "3",
            "--out",
            str(ids),
        ],
    )
    assert r.exit_code == 0, r.output
    lines = ids.read_text().split()
    assert len(lines) == 3 and all(len(x) >= 18 and x.isdigit() for x in lines)

    comments = tmp_path / "comments.csv"
    r = runner.invoke(
        app,
        [
            "comments",
            "--sandbox",
            "--from-file",
            str(ids),
            "--out",
            str(comments),
            "--archive",
            str(tmp_path / "arch"),
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    csv = pl.read_csv(comments, infer_schema=False)
    assert set(csv["video_id"].to_list()) <= set(lines)  # ids written as exact text


def test_usernames_from_stdin_and_failures_listed(tmp_path: Path) -> None:
    names = new_sandbox().corpus.sample_usernames(2, seed=3)
    out = tmp_path / "users.jsonl"
    r = runner.invoke(
        app,
        [
            "users",
            "--sandbox",
            "--out",
            str(out),
            "--archive",
            str(tmp_path / "a"),
            "--no-progress",
        ],
        input="\n".join([*names, "no_such_user_here"]) + "\n",
    )
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(row["username"] for row in rows) == sorted(names)
    assert "no_such_user_here" in r.output and "cannot find the user" in r.output


def test_budget_stop_exits_3_and_resume_finishes(tmp_path: Path) -> None:
    args = [
        "videos",
        "--sandbox",
        "--hashtag",
        "fyp",
        "--start",
        "2024-01-01",
        "--end",
        "2024-02-28",
        "--archive",
        str(tmp_path / "a"),
        "--out",
        str(tmp_path / "v.parquet"),
        "--no-progress",
    ]
    first = runner.invoke(app, [*args, "--max-requests", "2"])
    assert first.exit_code == EXIT_INCOMPLETE, first.output
    assert "INCOMPLETE" in first.output
    # the report and one line say what to do, instead of a Python warning
    assert "run the same command again" in first.output
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "resumed" in second.output


def test_merge_and_summary(tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        [
            "videos",
            "--sandbox",
            "--hashtag",
            "food",
            "--start",
            "2024-03-01",
            "--end",
            "2024-03-20",
            "--archive",
            str(tmp_path / "a"),
            "--out",
            str(tmp_path / "v.parquet"),
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    merged = tmp_path / "merged"
    r = runner.invoke(app, ["merge", str(tmp_path / "a"), "--out", str(merged)])
    assert r.exit_code == 0, r.output
    assert (
        pl.read_parquet(merged / "videos.parquet")
        .sort("id")
        .equals(pl.read_parquet(tmp_path / "v.parquet").sort("id"))
    )
    r = runner.invoke(app, ["summary", str(tmp_path / "v.parquet"), "--by", "region"])
    assert r.exit_code == 0, r.output
    assert "region_code" in r.output
