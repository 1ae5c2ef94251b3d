"""merge_dumps(..., dataset=DIR): the in-memory tables, streamed into hive Parquet datasets."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from tiktok_research import schemas
from tiktok_research.errors import OutputExistsError
from tiktok_research.io import read_dataset
from tiktok_research.merge import MergeResult, _dataset, _reader, merge_dumps

ROOT = Path(__file__).resolve().parents[1]
DUMPS = ROOT / "data" / "sample" / "dumps"
ERROR = '{"error":{"code":"invalid_params","message":"m","log_id":"l"}}'


def page(ids: list[int], **fields: object) -> str:
    videos = [
        {"id": i, "username": f"u{i % 7}", "create_time": 1704499196 + (i % 5) * 2_700_000,
         "hashtag_names": ["a", str(i % 3)], "video_label": {"content": "x"}, **fields}
        for i in ids
    ]  # fmt: skip
    return json.dumps({"data": {"videos": videos, "cursor": 1, "has_more": False},
                       "error": {"code": "ok", "message": "", "log_id": "x"}})  # fmt: skip


def _sorted(df: pl.DataFrame, table: str) -> pl.DataFrame:
    return df.sort(schemas.primary_key(table), nulls_last=True)


def assert_same(memory: MergeResult, dataset: MergeResult) -> None:
    """The dataset merge holds exactly the rows of the in-memory merge (order aside)."""
    assert dataset.tables == {}
    assert dataset.rows == {t: df.height for t, df in memory.tables.items()}
    for table, df in memory.tables.items():
        on_disk = read_dataset(dataset.dataset / table, table=table).collect()  # type: ignore[operator]
        assert_frame_equal(_sorted(on_disk.select(df.columns), table), _sorted(df, table))
        assert_frame_equal(_sorted(dataset[table], table), _sorted(df, table))
    assert dataset.report == memory.report


@pytest.fixture(params=["many partitions", "one partition split at the end"])
def small_chunks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Spill after a few rows, into many partitions or into one that is split again at the end."""
    monkeypatch.setattr(_dataset, "_SPILL", 8_000)
    monkeypatch.setattr(_dataset, "_OUTPUT", 20_000)
    monkeypatch.setattr(_dataset, "_BUCKET_MAX", 8_000)
    many = request.param == "many partitions"
    monkeypatch.setattr(_dataset, "_BUCKET_INPUT", 5_000 if many else 1 << 40)
    depths: list[int] = []
    finish = _dataset.ToDataset._finish_bucket

    def counting(self: _dataset.ToDataset, table: str, pieces: list[object], depth: int) -> None:
        depths.append(depth)
        finish(self, table, pieces, depth)  # type: ignore[arg-type]

    monkeypatch.setattr(_dataset.ToDataset, "_finish_bucket", counting)
    yield
    if depths:  # the path under test was taken: many partitions, or one split at the end
        assert depths.count(1) > 1 if many else max(depths) > 1, depths


def test_sample_dumps_give_the_in_memory_tables(tmp_path: Path) -> None:
    memory = merge_dumps(DUMPS)
    dataset = merge_dumps(DUMPS, dataset=tmp_path / "merged")
    assert set(dataset.rows) == {"videos", "comments", "users"}
    assert_same(memory, dataset)
    # hive folders by creation month for tables with create_time, plain files for users
    months = sorted(p.name for p in (tmp_path / "merged" / "videos").iterdir())
    assert months and all(m.startswith("create_month=2024-") for m in months)
    assert list((tmp_path / "merged" / "users").glob("part-*.parquet"))
    # nothing is left behind but the tables
    assert sorted(p.name for p in (tmp_path / "merged").iterdir()) == [
        "comments", "users", "videos"]  # fmt: skip


def test_sample_dumps_spilled_in_small_partitions(tmp_path: Path, small_chunks: None) -> None:
    memory = merge_dumps(DUMPS)
    dataset = merge_dumps(DUMPS, dataset=tmp_path / "merged")
    assert_same(memory, dataset)
    assert len(list((tmp_path / "merged" / "comments").rglob("*.parquet"))) > 3


def test_every_file_has_the_declared_schema_and_provenance(tmp_path: Path) -> None:
    merge_dumps(DUMPS, dataset=tmp_path / "m")
    for table in ("videos", "comments", "users"):
        files = list((tmp_path / "m" / table).rglob("*.parquet"))
        assert files
        for f in files:
            assert pq.read_schema(f).remove_metadata() == schemas.arrow_schema(table), f
            meta = pq.read_metadata(f).metadata
            assert meta[b"tiktok_research.table"] == table.encode()
            assert b"run_id" in meta[b"tiktok_research.provenance"]


ids = st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=1, max_size=40)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chunks=st.lists(ids, min_size=1, max_size=5), stamps=st.lists(st.integers(0, 3), max_size=5))
def test_generated_dumps_equal_in_memory_ids_exact(
    tmp_path_factory: pytest.TempPathFactory,
    small_chunks: None,
    chunks: list[list[int]],
    stamps: list[int],
) -> None:
    folder = tmp_path_factory.mktemp("dumps")
    for n, chunk in enumerate(chunks):
        # duplicates within and across files, some with the same modification time
        body = "\n".join(page(chunk[k::2], like_count=n) for k in range(2)) + "\n"
        path = folder / f"part_{n:03d}.json"
        if n % 2:
            path = folder / f"part_{n:03d}.jsonl.gz"
            path.write_bytes(gzip.compress(body.encode()))
        else:
            path.write_text(body)
        when = 1_700_000_000 + (stamps[n] if n < len(stamps) else 0)
        os.utime(path, (when, when))
    memory = merge_dumps(folder)
    dataset = merge_dumps(folder, dataset=tmp_path_factory.mktemp("out") / "d")
    assert_same(memory, dataset)
    assert sorted(dataset["videos"]["id"].to_list()) == sorted({i for c in chunks for i in c})


def test_most_recent_retrieval_wins_across_partitions(tmp_path: Path, small_chunks: None) -> None:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    for day, likes in ((3, 30), (1, 10), (2, 20)):
        f = dumps / f"cats_2024010{day}.json"
        f.write_text("\n".join(page(list(range(k, 400, 10)), like_count=likes)
                               for k in range(10)) + "\n")  # fmt: skip
        os.utime(f, (1_700_000_000 + day, 1_700_000_000 + day))
    result = merge_dumps(dumps, dataset=tmp_path / "d")
    videos = result["videos"]
    assert videos.height == 400 and videos["id"].n_unique() == 400
    assert videos["like_count"].unique().to_list() == [30]


def test_a_second_merge_into_the_same_folder_is_refused_or_replaces(tmp_path: Path) -> None:
    target = tmp_path / "merged"
    first = merge_dumps(DUMPS, dataset=target)
    files = sorted(target.rglob("*.parquet"))
    with pytest.raises(FileExistsError, match=r"not empty.*overwrite=True") as refused:
        merge_dumps(DUMPS, dataset=target)
    # of the error tree (the CLI's exit 2), and still the FileExistsError it was
    assert isinstance(refused.value, OutputExistsError) and refused.value.path == target
    assert sorted(target.rglob("*.parquet")) == files  # untouched
    # overwrite: the tables of the earlier merge are replaced, not added to
    only_curl = merge_dumps(DUMPS / "curl", dataset=target, overwrite=True)
    assert only_curl.rows["videos"] < first.rows["videos"]
    assert read_dataset(target / "videos", table="videos").collect().height == only_curl.rows[
        "videos"]  # fmt: skip
    assert not any(p.name.startswith(".merge-") for p in target.iterdir())
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputExistsError, match="is a file"):
        merge_dumps(DUMPS, dataset=tmp_path / "file")


def test_a_failed_merge_leaves_the_earlier_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "merged"
    merge_dumps(DUMPS, dataset=target)
    before = sorted(target.rglob("*.parquet"))

    def disk_full(self: object, table: str) -> None:
        raise OSError(28, "No space left on device", str(target / ".merge-x" / table))

    monkeypatch.setattr(_dataset.ToDataset, "_flush", disk_full)
    with pytest.raises(OSError, match="No space left"):
        merge_dumps(DUMPS, dataset=target, overwrite=True)
    assert sorted(target.rglob("*.parquet")) == before
    assert sorted(p.name for p in target.iterdir()) == ["comments", "users", "videos"]


def test_summary_and_lazy_access_of_a_dataset_merge(tmp_path: Path) -> None:
    result = merge_dumps(DUMPS, dataset=tmp_path / "m")
    text = result.summary()
    assert text.startswith("merged 16 file(s): 237 videos, 8 users, 1080 comments -> Parquet")
    assert "skipped 2 item(s):" in text and "truncated last line" in text
    # only the files with skipped items are listed; --verbose lists them all
    files = [ln for ln in text.splitlines() if ln.startswith("  ") and not ln.startswith("   ")]
    assert len(files) == 2
    assert len(result.summary(verbose=True).splitlines()) > len(result.report)
    assert "videos" in result and "reviews" not in result
    lazy = result.scan("videos")
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect_schema() == schemas.VIDEOS
    assert result.scan("reviews").collect().schema == schemas.REVIEWS
    assert result["reviews"].height == 0
    assert "videos=237" in repr(result)


def test_empty_input_writes_no_table(tmp_path: Path) -> None:
    result = merge_dumps([], dataset=tmp_path / "m")
    assert result.rows == {} and result["videos"].height == 0
    assert list((tmp_path / "m").iterdir()) == []


def test_a_large_json_lines_file_is_read_in_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "cats_20240101.json"
    lines = [page([i, i + 1000]) for i in range(40)]
    lines[7] = ERROR
    lines[20] = "{not json"
    f.write_text("\n".join(lines[:30]) + "\n\n" + "\n".join(lines[30:]) + "\n" + lines[0][:50])
    whole = merge_dumps(f)
    monkeypatch.setattr(_reader, "SEGMENT", 700)  # a few lines at a time
    for dataset, group in ((None, 1 << 40), (tmp_path / "d", 1 << 40), (None, 1_000)):
        # a file larger than a segment streams through pyarrow first, a group of pages at a
        # time, and is read on line by line from the group that holds a line it cannot take
        monkeypatch.setattr(_reader, "_GROUP", group)
        parts = merge_dumps(f, dataset=dataset)
        # the same report (segments list their skips in line order)
        assert sorted(parts.skipped, key=str) == sorted(whole.skipped, key=str)
        assert (parts.report[0].pages, parts.report[0].rows) == (39, {"videos": 76})
        assert_frame_equal(_sorted(parts["videos"], "videos"), _sorted(whole["videos"], "videos"))
    skipped = {line: why for _, line, why in whole.skipped}
    assert skipped == {8: "error page (invalid_params)", 21: "not valid JSON",
                       42: "truncated last line"}  # fmt: skip
    assert whole["videos"].height == 76


def test_leftovers_of_a_killed_merge_and_output_inside_the_input(tmp_path: Path) -> None:
    dumps = tmp_path / "dumps"
    shutil.copytree(DUMPS / "curl", dumps)
    target = dumps / "merged"  # inside the folder merged
    (target / ".merge-20250101T000000-abcdef" / "spill").mkdir(parents=True)  # a kill -9
    with pytest.raises(OutputExistsError, match="leftovers of an interrupted merge"):
        merge_dumps(dumps, dataset=target)
    first = merge_dumps(dumps, dataset=target, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == sorted(first.rows)  # leftovers cleared
    again = merge_dumps(dumps, dataset=target, overwrite=True)
    # the first merge's Parquet files are its output, not input: same files, same rows
    assert [r.path for r in again.report] == [r.path for r in first.report]
    assert again.rows == first.rows and not again.skipped
