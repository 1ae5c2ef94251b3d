"""Writers: Parquet metadata, hive dataset read alike by polars/pyarrow/DuckDB/pandas, CSV."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import polars as pl
import pyarrow.dataset as ds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiktok_research import io, schemas


def _videos(ids: list[int], month: int = 1) -> pl.DataFrame:
    return schemas.cast(
        pl.DataFrame(
            {
                "id": ids,
                "create_time": [
                    dt.datetime(2024, month, 1 + i % 27, tzinfo=dt.UTC) for i in range(len(ids))
                ],
                "view_count": [3_000_000_000] * len(ids),
                "hashtag_names": [["a", "b"]] * len(ids),
            }
        ),
        "videos",
    )


def test_write_parquet_metadata(tmp_path: Path) -> None:
    path = io.write_parquet(_videos([1]), tmp_path / "v.parquet", table="videos",
                            provenance={"run": "r1", "query": {"and": []}})  # fmt: skip
    meta = io.read_metadata(path)
    assert meta["schema_version"] == schemas.SCHEMA_VERSION and meta["table"] == "videos"
    assert meta["provenance"] == {"run": "r1", "query": {"and": []}}
    assert pl.read_parquet(path).schema == schemas.VIDEOS


def test_dataset_appends_and_reads_identically_everywhere(tmp_path: Path) -> None:
    import duckdb

    root = tmp_path / "videos"
    io.write_dataset(_videos([7320768158545159950, 2]), root, table="videos", run_id="run1")
    io.write_dataset(_videos([9223372036854775807], month=2), root, table="videos", run_id="run2")
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet"))
    assert files == ["create_month=2024-01/part-run1-0.parquet",
                     "create_month=2024-02/part-run2-0.parquet"]  # fmt: skip
    ours = io.read_dataset(root, "videos").collect().sort("id")
    assert ours["id"].to_list() == [2, 7320768158545159950, 9223372036854775807]
    assert ours.drop("create_month").schema == schemas.VIDEOS
    arrow = pl.from_arrow(ds.dataset(root, format="parquet", partitioning="hive").to_table())
    assert isinstance(arrow, pl.DataFrame)
    duck = duckdb.sql(
        f"select * from read_parquet('{root}/**/*.parquet', hive_partitioning=true)"
    ).pl()
    import pandas as pd

    pdf = pd.read_parquet(root, dtype_backend="pyarrow")
    for other in (arrow, duck, pl.from_pandas(pdf)):
        other = other.select(ours.columns).sort("id")
        assert other["id"].to_list() == ours["id"].to_list()
        assert other["create_month"].cast(pl.String).to_list() == ours["create_month"].to_list()
        assert other["view_count"].to_list() == ours["view_count"].to_list()
        assert (
            other["create_time"].dt.epoch("us").to_list()
            == ours["create_time"].dt.epoch("us").to_list()
        )


big_ids = st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=1, max_size=20)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ids=big_ids)
def test_ids_survive_json_parquet_pandas_csv(tmp_path: Path, ids: list[int]) -> None:
    from tiktok_research import tables

    body = ('{"data":{"videos":[' + ",".join(f'{{"id":{i}}}' for i in ids) + "]}}").encode()
    df = tables.from_responses([body], "video_query")
    assert df["id"].to_list() == ids  # JSON
    path = io.write_parquet(df, tmp_path / "v.parquet", table="videos")
    assert pl.read_parquet(path)["id"].to_list() == ids  # Parquet
    assert io.to_pandas(df)["id"].tolist() == ids  # pandas
    io.write_csv(df, tmp_path / "v.csv")
    with open(tmp_path / "v.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["id"]) for r in rows] == ids  # CSV, as text
    assert '"' + str(ids[0]) + '"' in (tmp_path / "v.csv").read_text()


def test_pandas_nullable_integers() -> None:
    pdf = io.to_pandas(pl.DataFrame({"id": [1, None], "like_count": [None, 3]},
                                    schema={"id": pl.Int64, "like_count": pl.Int64}))  # fmt: skip
    assert str(pdf["like_count"].dtype).startswith("int64")
    assert pdf["like_count"].isna().tolist() == [True, False]
