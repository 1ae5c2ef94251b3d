"""CSV: ``tr.io.write_csv`` then ``tr.io.read_csv`` gives back every declared table exactly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tiktok_research import io, schemas

BIG_ID = 7320768158545159950
MAX_ID = 2**63 - 1
TEXTS = ['a, b "quoted"\nsecond line 😀', "", "naïve ,,, \r\n\ttab", "=1+1", "null"]


def _value(dtype: pl.DataType, row: int) -> Any:
    """Awkward values: row 0 is all nulls, row 1 empty lists/strings, the others full ones."""
    if row == 0:
        return None
    if isinstance(dtype, pl.List):
        if row == 1:
            return []
        return [_value(dtype.inner, row), None if row == 3 else _value(dtype.inner, row + 1)]
    if isinstance(dtype, pl.Struct):
        return {f.name: (None if row == 3 else _value(f.dtype, row)) for f in dtype.fields}
    if dtype == pl.String:
        return TEXTS[row % len(TEXTS)]
    if dtype == pl.Boolean:
        return row % 2 == 0
    if isinstance(dtype, pl.Datetime):
        return dt.datetime(2024, 2, 29, 23, 59, 59, 123456 * (row % 2), tzinfo=dt.UTC)
    if dtype == pl.Date:  # the ad library's days (first_shown_date, create_date)
        return dt.date(2024, 2, 29) + dt.timedelta(days=row)
    if dtype.is_integer():
        return (BIG_ID, MAX_ID, -(2**63), 0)[row % 4]
    raise AssertionError(f"no sample for {dtype}")


def _sample(table: str) -> pl.DataFrame:
    schema = schemas.SCHEMAS[table]
    rows = [{name: _value(dtype, r) for name, dtype in schema.items()} for r in range(5)]
    return pl.DataFrame(rows, schema=schema)


@pytest.mark.parametrize("table", sorted(schemas.SCHEMAS))
def test_every_table_round_trips_exactly(tmp_path: Path, table: str) -> None:
    df = _sample(table)
    path = io.write_csv(df, tmp_path / f"{table}.csv")
    back = io.read_csv(path, table=table)
    assert back.schema == schemas.SCHEMAS[table]
    assert back.to_dicts() == df.to_dicts()
    assert io.read_csv(path).schema == schemas.SCHEMAS[table]  # the table is found from the header


def test_one_null_convention_empty_field_for_every_type(tmp_path: Path) -> None:
    df = pl.DataFrame(
        {"id": [None, 1], "hashtag_names": [None, []], "video_label": [None, {"content": ""}],
         "video_description": [None, ""]},
        schema={"id": pl.Int64, "hashtag_names": pl.List(pl.String),
                "video_label": pl.Struct({"content": pl.String}), "video_description": pl.String},
    )  # fmt: skip
    text = io.write_csv(df, tmp_path / "v.csv").read_text().splitlines()
    assert text[1] == ",,,"  # a null is an empty field whatever its type; never "null"
    assert text[2] == '"1","[]","{""content"":""""}",""'
    back = io.read_csv(tmp_path / "v.csv", table="videos")
    assert back["hashtag_names"].to_list() == [None, []]
    assert back["video_description"].to_list() == [None, ""]


def test_bad_value_names_the_column(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text('"id","video_id"\n"12x","3"\n')
    with pytest.raises(ValueError, match="'id'"):
        io.read_csv(tmp_path / "c.csv", table="comments")


def test_unknown_header_asks_for_the_table(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("alpha,beta\n1,2\n")
    with pytest.raises(ValueError, match="table="):
        io.read_csv(tmp_path / "x.csv")


def test_readme_pandas_recipe_keeps_ids_exact(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    df = schemas.cast(
        pl.DataFrame({"id": [BIG_ID, MAX_ID], "playlist_id": [None, BIG_ID + 1]}), "videos"
    )
    io.write_csv(df, tmp_path / "videos.csv")
    # the recipe of the guide (docs/guide/reading-output.md, CSV)
    ints = {c: "Int64" for c, t in schemas.VIDEOS.items() if t.is_integer()}
    pdf = pd.read_csv(tmp_path / "videos.csv", dtype=ints, parse_dates=["create_time"])
    assert pdf["id"].tolist() == [BIG_ID, MAX_ID]
    assert pdf["playlist_id"].isna().tolist() == [True, False]
    assert int(pdf["playlist_id"].iloc[1]) == BIG_ID + 1


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_read_table_reads_what_the_cli_writes(tmp_path: Path, suffix: str) -> None:
    df = _sample("videos")
    path = tmp_path / f"videos{suffix}"
    if suffix == ".csv":
        io.write_csv(df, path)
    elif suffix == ".jsonl":
        df.write_ndjson(path)
    else:
        io.write_parquet(df, path, table="videos")
    back = io.read_table(path)
    assert back["id"].to_list() == df["id"].to_list()
    assert back.schema == schemas.VIDEOS


def test_read_table_dataset_folder_and_errors(tmp_path: Path) -> None:
    io.write_dataset(_sample("videos").drop_nulls("create_time"), tmp_path / "ds", table="videos")
    assert io.read_table(tmp_path / "ds")["id"].len() == 4
    with pytest.raises(FileNotFoundError):
        io.read_table(tmp_path / "missing.parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="without Parquet"):
        io.read_table(tmp_path / "empty")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match="cannot read"):
        io.read_table(tmp_path / "bad.parquet")
    (tmp_path / "t.xls").write_bytes(b"x")
    with pytest.raises(ValueError, match="unknown format"):
        io.read_table(tmp_path / "t.xls")
