"""Spark reads our tables and raw archives exactly: spark_schema, read_archive == merge_dumps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import tiktok_research as tr
from _archives import BIG, write_edge_archive
from _sandboxes import DemoRun
from tiktok_research import analysis, schemas


def _polars(df: Any, table: str) -> pl.DataFrame:
    """A Spark result as polars with the declared schema (Arrow in between: no float on the way)."""
    frame = pl.from_arrow(df.toArrow())
    assert isinstance(frame, pl.DataFrame)
    return schemas.cast(frame, table)


def _same_rows(got: pl.DataFrame, expected: pl.DataFrame, table: str) -> None:
    key = schemas.primary_key(table)
    assert_frame_equal(got.sort(key, nulls_last=True), expected.sort(key, nulls_last=True))


# ------------------------------------------------------------------------------- spark_schema


def test_spark_schema_is_the_declared_schema_with_exact_types() -> None:
    pytest.importorskip("pyspark", exc_type=ImportError)
    from pyspark.sql import types as st

    def leaves(dtype: Any) -> list[Any]:
        if isinstance(dtype, st.StructType):
            return [leaf for field in dtype.fields for leaf in leaves(field.dataType)]
        if isinstance(dtype, st.ArrayType):
            return leaves(dtype.elementType)
        return [dtype]

    for table, declared in schemas.SCHEMAS.items():
        spark = schemas.spark_schema(table)
        assert spark.fieldNames() == list(declared), table
        assert all(field.nullable for field in spark.fields)
        kinds = {type(leaf) for leaf in leaves(spark)}
        # DateType: the ad library's days (first_shown_date, create_date), exact as days
        exact = {st.LongType, st.StringType, st.BooleanType, st.TimestampType, st.DateType}
        assert kinds <= exact, table
    videos = schemas.spark_schema("videos")
    assert videos["id"].dataType == st.LongType()
    assert videos["create_time"].dataType == st.TimestampType()
    assert videos["hashtag_names"].dataType == st.ArrayType(st.StringType())
    tags = videos["hashtag_info_list"].dataType
    assert isinstance(tags, st.ArrayType) and isinstance(tags.elementType, st.StructType)
    assert tags.elementType["hashtag_id"].dataType == st.LongType()
    with pytest.raises(ValueError, match="unknown table 'video'"):
        schemas.spark_schema("video")


def test_read_archive_refuses_an_unknown_table_before_spark_is_touched() -> None:
    from tiktok_research.spark import read_archive

    with pytest.raises(ValueError, match="unknown table 'video'; expected one of"):
        read_archive(None, "anywhere", table="video")  # type: ignore[arg-type]


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_spark_reads_our_parquet_with_spark_schema_exactly(spark: Any, tmp_path: Path) -> None:
    videos = tr.merge_dumps(write_edge_archive(tmp_path))["videos"]
    path = tmp_path / "videos.parquet"
    tr.io.write_parquet(videos, path, table="videos")
    df = spark.read.schema(schemas.spark_schema("videos")).parquet(str(path))
    assert df.schema == schemas.spark_schema("videos")
    _same_rows(_polars(df, "videos"), videos, "videos")


# ------------------------------------------------------------------------------- read_archive


@pytest.fixture(scope="module")
def demo_archive(demo_run: DemoRun) -> Path:
    """What ``tiktok-research demo --out DIR`` writes (the demo, run in-process)."""
    return demo_run.out / "archive"


@pytest.fixture(scope="module")
def edge_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_edge_archive(tmp_path_factory.mktemp("edges"))


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_read_archive_equals_merge_dumps_on_the_demo_archive(
    spark: Any, demo_archive: Path
) -> None:
    from tiktok_research.spark import read_archive

    merged = tr.merge_dumps(demo_archive)
    assert set(merged.tables) == {"videos", "comments", "users"}
    for table, expected in merged.tables.items():
        df = read_archive(spark, demo_archive, table=table)
        assert df.schema == schemas.spark_schema(table)  # LongType ids, never double
        got = _polars(df, table)
        assert got.height == expected.height > 0
        _same_rows(got, expected, table)
    ids = _polars(read_archive(spark, demo_archive, table="videos"), "videos")["id"]
    assert all(len(str(i)) == 19 for i in ids)  # exact 19-digit ids


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_read_archive_equals_merge_dumps_on_an_awkward_archive(
    spark: Any, edge_archive: Path
) -> None:
    from tiktok_research.spark import read_archive

    merged = tr.merge_dumps(edge_archive)
    assert "cannot be stored as Int64" in merged.summary()  # the id beyond int64, reported
    assert len(merged.tables) == 7
    got = {t: _polars(read_archive(spark, edge_archive, table=t), t) for t in merged.tables}
    for table, expected in merged.tables.items():
        _same_rows(got[table], expected, table)
    # and what that means, spelled out
    videos = got["videos"].sort("id", nulls_last=True)
    assert videos["id"].to_list() == [BIG, BIG + 1, BIG + 2, None]  # error page's BIG+3 absent
    assert videos["like_count"].to_list()[:2] == [95, 13]  # the latest retrieval of each
    assert videos["hashtag_names"][0].to_list() == ["CLIMATE", " fyp "]  # kept verbatim
    assert videos["username"][1] == "lucastravels"  # NUL removed
    assert videos["username"][3] == "over.int64"  # beyond int64: null id, kept once
    assert got["users"].select("username", "likes_count").row(0) == ("ana.b", 2**40)
    assert got["comments"]["video_id"].to_list() == [BIG, BIG]  # from the request
    assert got["followers"]["source_username"].to_list() == ["ana.b", "ana.b"]
    assert got["products"]["shop_id"].to_list() == [BIG + 500]
    assert got["reviews"]["product_id"].to_list() == [BIG + 501]
    created = got["reviews"]["create_time"][0].isoformat()
    assert created == "2024-01-05T23:59:56.250000+00:00"  # milliseconds since 1970
    playlist = got["playlists"].row(0, named=True)
    assert playlist["playlist_id"] == BIG + 800
    assert playlist["playlist_video_ids"] == [BIG + 900, BIG + 901, BIG + 902]
    assert playlist["playlist_name"] == "mix"  # the later page's null does not erase it


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_read_archive_takes_files_globs_and_lists(spark: Any, edge_archive: Path) -> None:
    from tiktok_research.spark import read_archive

    gz = next(edge_archive.rglob("*.jsonl.gz"))
    plain = next(edge_archive.rglob("*.jsonl"))
    assert read_archive(spark, gz, table="videos").count() == 1
    assert read_archive(spark, [plain, gz], table="videos").count() == 4
    assert read_archive(spark, str(edge_archive / "*" / "pages-*"), table="reviews").count() == 1
    with pytest.raises(ValueError, match="at least one path"):
        read_archive(spark, [], table="videos")


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_summaries_of_an_archive_read_by_spark_equal_polars(spark: Any, demo_archive: Path) -> None:
    from pyspark.sql import functions as F

    from tiktok_research.spark import read_archive

    videos = tr.merge_dumps(demo_archive)["videos"]
    on_spark = read_archive(spark, demo_archive, table="videos")
    for by in ("month", "hashtag"):
        got = _summary_polars(analysis.summarize(on_spark, by=by))  # type: ignore[arg-type]
        assert_frame_equal(got, analysis.summarize(videos, by=by), check_exact=False)  # type: ignore[arg-type]
    # a checksum of ids: Spark's LongType sum overflows, a decimal sum is exact
    total = on_spark.select(F.sum(F.col("id").cast("decimal(38,0)"))).first()
    assert total is not None and int(total[0]) == sum(videos["id"].to_list())


def _summary_polars(df: Any) -> pl.DataFrame:
    frame = pl.from_arrow(df.toArrow())
    assert isinstance(frame, pl.DataFrame)
    return frame
