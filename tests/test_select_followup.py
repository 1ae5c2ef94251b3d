"""Selecting ids / usernames for follow-up queries, and writing them one per line."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tiktok_research.select import select_usernames, select_video_ids, write_lines

VIDEOS = pl.DataFrame(
    {
        "id": [7320768158545159950, 7320768149830093304, 7320768119228340004, None],
        "comment_count": [0, 12, 3, 50],
        "view_count": [10, 5, 7, 1],
        "username": ["@Sample.One", "x_y\x00", "https://www.tiktok.com/@sample.one?lang=en", "z"],
    }
)


def test_video_ids_with_comments_top_and_exact() -> None:
    ids = select_video_ids(VIDEOS, min_comments=1)
    assert ids.dtype == pl.Int64
    assert ids.to_list() == [7320768149830093304, 7320768119228340004]
    assert select_video_ids(VIDEOS, top=1, by="view_count").to_list() == [7320768158545159950]
    assert select_video_ids(VIDEOS, usernames=["SAMPLE.ONE"]).len() == 2


def test_usernames_clean_unique_most_active_first() -> None:
    names = select_usernames(VIDEOS)
    assert names.dtype == pl.String
    assert names.to_list() == ["sample.one", "z", "x_y"]
    assert select_usernames(VIDEOS, top=1, exclude=["@z"]).to_list() == ["sample.one"]


def test_write_lines_exact(tmp_path: Path) -> None:
    path = write_lines(select_video_ids(VIDEOS, min_comments=1), tmp_path / "ids.txt")
    assert path.read_text() == "7320768149830093304\n7320768119228340004\n"
    assert [int(x) for x in path.read_text().split()] == select_video_ids(
        VIDEOS, min_comments=1
    ).to_list()
