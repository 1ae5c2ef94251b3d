"""merge_dumps batches JSON-lines dumps: same tables and reports as file by file; log levels."""

from __future__ import annotations

import gzip
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from tiktok_research._archive import ArchiveWriter
from tiktok_research.merge import MergeResult, merge_dumps

ERROR = '{"error":{"code":"invalid_params","message":"m","log_id":"l"}}'


def page(ids: list[int], **fields: object) -> str:
    videos = [{"id": i, "username": f"u{i % 3}", "create_time": 1704499196, **fields} for i in ids]
    return json.dumps({"data": {"videos": videos, "cursor": 1, "has_more": False},
                       "error": {"code": "ok", "message": "", "log_id": "x"}})  # fmt: skip


def comments(ids: list[int], video_id: int | None = None) -> str:
    items = [{"id": i, "text": "hi", **({"video_id": video_id} if video_id else {})} for i in ids]
    return json.dumps({"data": {"comments": items, "has_more": False, "cursor": 1}})


def _dumps(folder: Path) -> None:
    folder.mkdir()
    # a blank line and an error page: the skip report must name the right line
    (folder / "cats_20240101.json").write_text(
        page([1, 2]) + "\n\n" + ERROR + "\n" + page([3]) + "\n"
    )
    (folder / "cats_20240102.json").write_text(page([4, 5]) + "\n" + page([2], like_count=9) + "\n")
    # an id beyond int64: nulled and reported, never wrapped
    (folder / "cats_20240103.json").write_text(page([6, 9999999999999999999]) + "\n")
    # videos and comments in one file
    (folder / "mixed.json").write_text(page([7]) + "\n" + comments([70]) + "\n")
    # comments whose items lack video_id: taken from the file name
    (folder / "comments_7385291383760692589.json").write_text(
        comments([71, 72]) + "\n" + comments([73], video_id=5) + "\n"
    )
    (folder / "sample.user_info.json").write_text(
        '{"data":{"display_name":"S","follower_count":3000000000},"error":{"code":"ok"}}\n'
    )
    for i, path in enumerate(sorted(folder.iterdir())):
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))


def _gzipped_copy(src: Path, dst: Path) -> None:
    dst.mkdir()
    for path in sorted(src.iterdir()):
        gz = dst / (path.name + ".gz")
        gz.write_bytes(gzip.compress(path.read_bytes()))
        os.utime(gz, (path.stat().st_mtime, path.stat().st_mtime))


def test_batched_read_equals_file_by_file(tmp_path: Path) -> None:
    # gzipped dumps are read file by file; plain ones in batches: results must not differ
    _dumps(tmp_path / "plain")
    _gzipped_copy(tmp_path / "plain", tmp_path / "gz")
    plain = merge_dumps(tmp_path / "plain")
    careful = merge_dumps(tmp_path / "gz")
    assert plain.tables.keys() == careful.tables.keys() == {"videos", "comments", "users"}
    for table, df in plain.tables.items():
        assert df.equals(careful[table]), table
    assert plain["videos"]["id"].to_list() == [1, 3, 4, 5, 2, 6, None, 7]
    assert plain["videos"].filter(pl.col("id") == 2)["like_count"].to_list() == [9]
    assert sorted(plain["comments"].select("id", "video_id").rows()) == [
        (70, None), (71, 7385291383760692589), (72, 7385291383760692589), (73, 5)]  # fmt: skip
    assert plain["users"]["username"].to_list() == ["sample.user"]

    def report(result: MergeResult) -> list[tuple[str, int, dict[str, int], list[object]]]:
        def same(why: str) -> str:
            return why.replace(str(tmp_path / "gz"), "").replace(str(tmp_path / "plain"), "")

        return [
            (
                Path(r.path).name.removesuffix(".gz"),
                r.pages,
                r.rows,
                [(line, same(why).replace(".json.gz", ".json")) for line, why in r.skipped],
            )
            for r in result.report
        ]

    assert report(plain) == report(careful)
    skipped = {(Path(p).name, line): why for p, line, why in plain.skipped}
    assert skipped[("cats_20240101.json", 3)] == "error page (invalid_params)"
    assert any("9999999999999999999" in why for why in skipped.values())


def test_rows_keep_reading_order_across_batched_and_other_files(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.json", tmp_path / "b.json.gz", tmp_path / "c.json"
    a.write_text(page([30, 31]) + "\n")
    b.write_bytes(gzip.compress((page([20]) + "\n").encode()))
    c.write_text(page([10]) + "\n")
    d = tmp_path / "d.json"
    d.write_text(json.dumps(json.loads(page([5])), indent=2))  # pretty-printed: file by file
    assert merge_dumps([a, b, c, d])["videos"]["id"].to_list() == [30, 31, 20, 10, 5]
    assert merge_dumps([d, c, b, a])["videos"]["id"].to_list() == [5, 10, 20, 30, 31]


def test_most_recent_file_wins_whatever_the_order(tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(page([1], comment_count=1) + "\n")
    new.write_text(page([1], comment_count=2) + "\n")
    os.utime(old, (1_600_000_000, 1_600_000_000))
    os.utime(new, (1_700_000_000, 1_700_000_000))
    for order in ([old, new], [new, old]):
        assert merge_dumps(order)["videos"]["comment_count"].to_list() == [2]


def test_archived_error_pages_are_info_unreadable_lines_warn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    w = ArchiveWriter(tmp_path / "run.jsonl")
    w.write(run="r", page=0, endpoint="video_query", request={"body": {}}, status=200,
            body=page([1]).encode(), retrieved_at=when)  # fmt: skip
    w.write(run="r", page=1, endpoint="user_info", request={"body": {"username": "private"}},
            status=400, body=ERROR.encode(), retrieved_at=when)  # fmt: skip
    w.write(run="r", page=2, endpoint="video_query", request={"body": {}}, status=504,
            body=b"<html>504 Gateway Time-out</html>", retrieved_at=when)  # fmt: skip
    archive = w.close()
    broken = tmp_path / "cats_20240101.json"
    broken.write_text(page([2]) + "\n" + page([3])[:50])
    with caplog.at_level(logging.INFO, logger="tiktok_research"):
        result = merge_dumps([archive, broken])
    assert result["videos"]["id"].to_list() == [1, 2]
    skipped = {(Path(p).name, line): why for p, line, why in result.skipped}
    assert skipped == {
        ("run.jsonl", 2): "error page (invalid_params)",
        ("run.jsonl", 3): "error page (HTTP 504, not JSON)",
        ("cats_20240101.json", 2): "truncated last line",
    }
    levels = {r.getMessage(): r.levelno for r in caplog.records if "skipped" in r.getMessage()}
    assert levels == {
        f"{archive}:2: error page (invalid_params); skipped": logging.INFO,
        f"{archive}:3: error page (HTTP 504, not JSON); skipped": logging.INFO,
        f"{broken}:2: truncated last line; skipped": logging.WARNING,
    }
