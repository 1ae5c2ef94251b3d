"""Issue 18, items 1-3 and 5-12, attacked from outside as a user would meet them.

Each test here failed on main b500b6f: what the closing note of session 3 called done, broken by
a user's ordinary next step (a cleaned-up archive, a second collection a month later, the guide's
R code on text with quotes, a rerun on the day the service stopped the quota...). The command
line runs in-process against one sandbox served on 127.0.0.1 for the module (requests counted at
the server); Python runs against in-process sandboxes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import tiktok_research as tr
from tiktok_research.cli import app
from tiktok_research.sandbox import Sandbox

# the command line prints its warnings (QuotaWarning...) as a user sees them
pytestmark = [pytest.mark.http, pytest.mark.filterwarnings("default")]

CLIMATE = tr.Q.hashtag_name.eq("climate")
HALF_YEAR = ["--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-06-30"]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Sandbox]]:
    from tiktok_research.sandbox import run_server

    with run_server(Sandbox()) as (url, sb):
        yield url, sb


def _cli(served: tuple[str, Sandbox], *args: str) -> tuple[int, str, int]:
    """Run the command line against the served sandbox: exit code, output, paid requests sent."""
    url, sb = served
    env = {"TIKTOK_RESEARCH_BASE_URL": url, "TIKTOK_CLIENT_KEY": "sandbox",
           "TIKTOK_CLIENT_SECRET": "sandbox"}  # fmt: skip
    before = _paid(sb)
    result = CliRunner().invoke(app, [*args, "--no-progress"], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output, _paid(sb) - before


def _paid(sb: Sandbox) -> int:
    return sum(n for ep, n in sb.requests_spent().items() if ep != "oauth_token")


# --------------------------------------------------------------- item 1: nothing replaced


def test_a_partial_rerun_never_replaces_a_fuller_table(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same command, after the archive was cleaned up, stopped by its budget (or the quota):
    it replaced the complete 316-row videos.parquet with the 108 rows it had got, saying only
    "wrote 108 rows to videos.parquet". The rows it did not get again were nowhere else."""
    monkeypatch.chdir(tmp_path)
    code, text, sent = _cli(served, "videos", *HALF_YEAR)
    assert code == 0 and sent == 6, text
    full = pl.read_parquet("videos.parquet")
    assert full.height > 300
    shutil.rmtree("tiktok-archive")  # cleaned up: the table is the only copy now
    heights = []
    for run in range(2):  # run twice: each run goes on where the last stopped, 2 requests each
        code, text, sent = _cli(served, "videos", *HALF_YEAR, "--max-requests", "2")
        assert code == 3 and sent == 2, text  # incomplete: the budget
        assert pl.read_parquet("videos.parquet").equals(full), f"run {run + 1} replaced it"
        heights.append(pl.read_parquet("videos-2.parquet").height)
        assert "videos-2.parquet" in text and "--overwrite" in text, text
    assert 0 < heights[0] < heights[1] < full.height
    assert not Path("videos-3.parquet").exists(), "the rerun replaced its own partial table"
    code, text, sent = _cli(served, "videos", *HALF_YEAR, "--max-requests", "2")
    assert code == 0 and sent == 2, text  # complete again: the full table, in its place
    again = pl.read_parquet("videos.parquet")
    assert again.height == full.height and set(again["id"]) == set(full["id"])


# ---------------------------------------------------------- item 2: a dataset keeps its rows


def test_a_later_collection_into_a_dataset_keeps_the_videos_deleted_since(
    make_sandbox: object, tmp_path: Path
) -> None:
    """The same query collected into a dataset again a month later (Python's default temporary
    archive, or the command line with another --archive): every video the service had deleted
    in between vanished from the dataset ("269 videos in all" after 292), though no newer copy
    of it superseded it."""
    sb = make_sandbox(removal_rate=0.01)  # type: ignore[operator]
    root = tmp_path / "videos"
    with tr.Client.sandbox(sb) as client:
        first = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-06-30", client=client,
                                dataset=root, progress=False)  # fmt: skip
        sb.advance(timedelta(days=30))
        second = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-06-30", client=client,
                                 dataset=root, progress=False)  # fmt: skip
        sb.advance(timedelta(days=30))  # and the command line's way: collect_videos, streaming
        report = tr.collect_videos(CLIMATE, "2024-01-01", "2024-06-30", root, client=client,
                                   archive=tmp_path / "other-archive", progress=False)  # fmt: skip
        paid = sb.requests_spent()["video_query"]
        third = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-06-30", client=client,
                                archive=tmp_path / "other-archive", progress=False)  # fmt: skip
        assert sb.requests_spent()["video_query"] == paid, "its table, from its archive"
    gone = set(first["id"]) - set(third["id"])
    assert gone, "the sandbox deleted some videos in 60 days"
    assert report.rows == third.height, "'rows from this collection' counts this collection's"
    held = tr.io.read_dataset(root, table="videos").collect()
    assert held["id"].n_unique() == held.height, "each id once"
    assert set(held["id"]) == set(first["id"]) | set(second["id"]) | set(third["id"]), (
        f"{len(gone - set(held['id']))} of the {len(gone)} videos deleted since left the dataset"
    )
    # the newest retrieval wins for the ids both runs hold
    both = third.select("id", "view_count").join(held.select("id", "view_count"), on="id")
    assert both.height == third.height and (both["view_count"] == both["view_count_right"]).all()
