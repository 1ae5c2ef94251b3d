"""merge_dumps: every on-disk layout, endpoint detection, dedup, reporting; properties."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiktok_research import schemas
from tiktok_research._archive import ArchiveWriter
from tiktok_research.errors import InvalidRequestError
from tiktok_research.merge import merge_dumps, missing_inputs


def video(i: int, **extra: object) -> dict[str, object]:
    return {"id": i, "username": f"u{i % 3}", "comment_count": i % 5, "create_time": 1704499196,
            **extra}  # fmt: skip


def page(videos: list[dict[str, object]]) -> str:
    return json.dumps({"data": {"videos": videos, "cursor": 1, "has_more": False},
                       "error": {"code": "ok", "message": "", "log_id": "x"}})  # fmt: skip


def test_curl_layouts_and_username_from_file_name(tmp_path: Path) -> None:
    # {hashtag}_{YYYYMMDD}.json: one response per line, appended by curl
    (tmp_path / "cats_20240105.json").write_text(page([video(1)]) + "\n" + page([video(2)]) + "\n")
    # concatenated, pretty-printed responses without newlines between them
    (tmp_path / "dogs_20240106.json").write_text(
        json.dumps(json.loads(page([video(3)])), indent=2) + page([video(4)])
    )
    # comments_{video_id}.json whose items lack video_id
    (tmp_path / "comments_7385291383760692589.json").write_text(
        '{"data":{"comments":[{"id":7386111276298878503,"text":"OMG"}],"has_more":false}}\n'
    )
    # {username}_info.json: the API does not echo the username
    (tmp_path / "sample.user_info.json").write_text(
        '{"data":{"display_name":"S","follower_count":3000000000},"error":{"code":"ok"}}'
    )
    result = merge_dumps(tmp_path)
    assert sorted(result["videos"]["id"].to_list()) == [1, 2, 3, 4]
    assert result["comments"]["video_id"].to_list() == [7385291383760692589]
    assert result["users"].select("username", "follower_count").row(0) == (
        "sample.user",
        3_000_000_000,
    )
    assert not result.skipped
    assert "4 videos" in str(result)


def test_arrays_of_responses_and_of_bare_records(tmp_path: Path) -> None:
    (tmp_path / "pages.json").write_text("[" + page([video(1)]) + "," + page([video(2)]) + "]")
    (tmp_path / "wrapper_videos.json").write_text(json.dumps([video(3), video(4, video_id=4)]))
    (tmp_path / "someone_followers.json").write_text(
        json.dumps([{"username": "a", "display_name": "A"}])
    )
    result = merge_dumps(sorted(tmp_path.iterdir()))
    assert sorted(result["videos"]["id"].to_list()) == [1, 2, 3, 4]
    assert result["followers"]["username"].to_list() == ["a"]
    assert result["videos"].schema == schemas.VIDEOS


def test_archive_gz_dedup_keeps_most_recent(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    w = ArchiveWriter(tmp_path / "run.jsonl")
    for day, count in ((2, 5), (1, 99)):  # written out of order: the later retrieval wins
        w.write(run="r", page=day, endpoint="video_query", request={"body": {}}, status=200,
                body=page([video(7, comment_count=count)]).encode(),
                retrieved_at=datetime(2024, 1, day, tzinfo=UTC))  # fmt: skip
    path = w.close(compress=True)
    result = merge_dumps([path])
    assert result["videos"].select("id", "comment_count").rows() == [(7, 5)]


def test_unreadable_input_is_reported_with_path_and_line(tmp_path: Path) -> None:
    good = page([video(1)])
    f = tmp_path / "cats_20240101.json"
    f.write_text(good + "\n" + '{"error":{"code":"internal_error","message":"m","log_id":"l"}}\n'
                 + good[:40])  # fmt: skip
    (tmp_path / "gateway.html").write_text("<html>504</html>")
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "broken.json.gz").write_bytes(gzip.compress(good.encode())[:-10])
    result = merge_dumps([tmp_path, tmp_path / "missing.json"])
    skipped = {(Path(p).name, line): why for p, line, why in result.skipped}
    assert skipped[("cats_20240101.json", 2)] == "error page (internal_error)"
    assert skipped[("cats_20240101.json", 3)] == "truncated last line"
    assert ("gateway.html", 1) in skipped and ("empty.json", None) in skipped
    assert ("missing.json", None) in skipped and ("broken.json.gz", None) in skipped
    assert result["videos"]["id"].to_list() == [1]
    assert "truncated last line" in str(result)


def test_endpoint_argument_for_ambiguous_records(tmp_path: Path) -> None:
    f = tmp_path / "list.json"
    f.write_text(json.dumps([{"username": "a", "display_name": "A"}]))
    assert merge_dumps(f).tables == {}
    assert merge_dumps(f).skipped
    assert merge_dumps(f, endpoint="following")["following"].height == 1


ids = st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=1, max_size=30)


def _write_pages(folder: Path, chunks: list[list[int]]) -> list[Path]:
    paths = []
    for n, chunk in enumerate(chunks):
        p = folder / f"part_{n:03d}.json"
        p.write_text("\n".join(page([video(i)]) for i in chunk) + "\n")
        os.utime(p, (1_700_000_000, 1_700_000_000))
        paths.append(p)
    return paths


def _canon(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort("id")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=ids, cut=st.integers(min_value=0, max_value=30))
def test_merge_is_idempotent_and_split_equals_whole(tmp_path: Path, values: list[int],
                                                    cut: int) -> None:  # fmt: skip
    folder = tmp_path / f"d{abs(hash((tuple(values), cut)))}"
    folder.mkdir()
    whole = merge_dumps(_write_pages(folder / ".", [values]))["videos"]
    split_dir = folder / "split"
    split_dir.mkdir()
    split = merge_dumps(_write_pages(split_dir, [values[:cut], values[cut:]]))["videos"]
    assert _canon(whole).equals(_canon(split))
    twice = merge_dumps([*sorted(split_dir.iterdir()), *sorted(split_dir.iterdir())])["videos"]
    assert _canon(twice).equals(_canon(split))
    assert sorted(whole["id"].to_list()) == sorted(set(values))  # exact, deduplicated


def test_file_mixing_endpoints_keeps_every_page(tmp_path: Path) -> None:
    f = tmp_path / "mixed.json"
    followers = '{"data":{"user_followers":[{"username":"a","display_name":"A"}]}}'
    f.write_text(page([video(1)]) + "\n" + followers + "\n" + page([video(2)]) + "\n")
    result = merge_dumps(f)
    assert sorted(result["videos"]["id"].to_list()) == [1, 2]
    assert result["followers"]["username"].to_list() == ["a"]


@pytest.mark.parametrize("bad", [None, 5, [None], [Path("a.json"), 3], b"dump.json", {"a": 1}])
def test_inputs_that_are_not_paths_are_a_clear_error(bad: object) -> None:
    with pytest.raises(InvalidRequestError, match="a file, a folder, a glob pattern or a list"):
        merge_dumps(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="a file, a folder, a glob pattern or a list"):
        missing_inputs(bad)  # type: ignore[arg-type]


def test_an_unknown_endpoint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="unknown endpoint 'videos'; expected one of"):
        merge_dumps(tmp_path, endpoint="videos")
    with pytest.raises(InvalidRequestError, match="dataset must be a folder path, not int"):
        merge_dumps(tmp_path, dataset=3)  # type: ignore[arg-type]
    assert merge_dumps(os.fspath(tmp_path)).rows == {}  # a str and a PathLike are both fine
