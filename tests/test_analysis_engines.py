"""The summaries on other engines: DuckDB relations, sqlframe and PySpark DataFrames equal polars.

DuckDB and sqlframe (the PySpark API on DuckDB, no Java) run on every CI run; the same checks on a
real local PySpark session are marked ``spark`` (one session per run, see ``conftest.spark``).
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from test_analysis_summaries import (
    BIG,
    FUNCTIONS,
    SCALAR_COLUMNS,
    _tiny,
    make_comments,
    make_videos,
)
from tiktok_research import analysis

SPARK = [pytest.mark.spark, pytest.mark.xdist_group("spark")]
ENGINES = ["duckdb", "sqlframe", pytest.param("pyspark", marks=SPARK)]


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[pl.DataFrame, str]]:
    """Each table as polars and as a Parquet file that every engine reads."""
    root = tmp_path_factory.mktemp("engines")
    out: dict[str, tuple[pl.DataFrame, str]] = {}
    for name, df in {
        "videos": make_videos().select(SCALAR_COLUMNS),
        "comments": make_comments(),
        "edges": _tiny(
            create_time=[
                dt.datetime(2024, 1, 31, 23, 59, 59, tzinfo=dt.UTC),
                dt.datetime(2024, 2, 1, 0, 0, 0, tzinfo=dt.UTC),
                dt.datetime(2024, 2, 4, 23, 0, tzinfo=dt.UTC),  # a Sunday
                dt.datetime(2024, 2, 5, 1, 0, tzinfo=dt.UTC),  # the Monday after
                dt.datetime(2024, 2, 11, 12, 0, tzinfo=dt.UTC),  # another Sunday
            ],
            hashtag_names=[["Cats", "cats", " CATS "], ["CaTs", "Dogs"], [], None, ["dogs", ""]],
            username=["a", "b", "c", None, "a"],
            share_count=[None] * 5,
        ).select(SCALAR_COLUMNS),
    }.items():
        path = root / f"{name}.parquet"
        df.write_parquet(path)
        out[name] = (df, str(path))
    return out


class Engine:
    """Reads a Parquet file as the engine's frame and brings a result back to polars."""

    def __init__(self, name: str, request: pytest.FixtureRequest) -> None:
        self.name = name
        if name == "duckdb":
            import duckdb

            self.con = duckdb.connect()
            self.con.execute("SET TimeZone = 'UTC'")
        elif name == "sqlframe":
            import duckdb
            from sqlframe.duckdb import DuckDBSession

            self.con = duckdb.connect()
            self.session = DuckDBSession(conn=self.con)
            self.session.conf.set("spark.sql.session.timeZone", "UTC")
        else:
            self.session = request.getfixturevalue("spark")

    def read(self, path: str) -> Any:
        if self.name == "duckdb":
            return self.con.read_parquet(path)
        return self.session.read.parquet(path)

    def native_type(self) -> type:
        if self.name == "duckdb":
            import duckdb

            return duckdb.DuckDBPyRelation
        if self.name == "sqlframe":
            from sqlframe.duckdb import DuckDBDataFrame

            return DuckDBDataFrame
        from pyspark.sql import DataFrame

        return DataFrame

    def to_polars(self, result: Any) -> pl.DataFrame:
        frame = result.pl() if self.name == "duckdb" else pl.from_arrow(result.toArrow())
        assert isinstance(frame, pl.DataFrame)
        # engines name UTC differently ("Etc/UTC", "UTC"): the instants are what must agree
        return frame.with_columns(pl.col(pl.Datetime).dt.convert_time_zone("UTC"))

    def set_time_zone(self, zone: str) -> None:
        if self.name == "duckdb":
            self.con.execute(f"SET TimeZone = '{zone}'")
        else:
            self.session.conf.set("spark.sql.session.timeZone", zone)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    made = Engine(request.param, request)
    yield made
    made.set_time_zone("UTC")  # the Spark session is shared by the whole run


ALL: dict[str, tuple[str, Callable[[Any], Any]]] = {
    **{name: ("videos", f) for name, f in FUNCTIONS.items()},
    "comment_activity": ("comments", analysis.comment_activity),
    "summarize_week_edges": ("edges", lambda d: analysis.summarize(d, by="week")),
    "summarize_month_edges": ("edges", lambda d: analysis.summarize(d, by="month")),
    "summarize_hashtag_edges": ("edges", lambda d: analysis.summarize(d, by="hashtag")),
    "top_hashtags_edges": ("edges", lambda d: analysis.top_hashtags(d, n=1)),
    "cooccurrence_edges": ("edges", lambda d: analysis.hashtag_cooccurrence(d, top=None)),
}


@pytest.mark.parametrize("name", list(ALL))
def test_every_summary_equals_polars_and_returns_the_engines_kind(
    engine: Engine, tables: dict[str, tuple[pl.DataFrame, str]], name: str
) -> None:
    source, function = ALL[name]
    df, path = tables[source]
    result = function(engine.read(path))
    assert isinstance(result, engine.native_type())  # same kind back, still lazy
    got = engine.to_polars(result)
    expected = function(df)
    if name == "engagement":  # row order of a projection is the engine's: compare by id
        got, expected = got.sort("id"), expected.sort("id")
    assert_frame_equal(got, expected, check_exact=False, rel_tol=1e-9)
    assert got.height > 0


def test_edge_cases_are_what_polars_says(tables: dict[str, tuple[pl.DataFrame, str]]) -> None:
    """The reference the engines are held to (weeks start on Monday, hashtags once per video)."""
    edges = tables["edges"][0]
    weeks = analysis.summarize(edges, by="week").select("week", "videos").rows()
    assert weeks == [(dt.date(2024, 1, 29), 3), (dt.date(2024, 2, 5), 2)]
    tags = analysis.summarize(edges, by="hashtag").select("hashtag", "videos", "creators").rows()
    assert tags == [("cats", 2, 2), ("dogs", 2, 2)]
    assert analysis.summarize(edges, by="month")["share_count_sum"].to_list() == [None, None]


def test_ids_stay_exact_64_bit_integers_on_the_engine(
    engine: Engine, tables: dict[str, tuple[pl.DataFrame, str]]
) -> None:
    df, path = tables["videos"]
    by_music = engine.to_polars(analysis.summarize(engine.read(path), by="music"))
    assert by_music.schema["music_id"] == pl.Int64
    assert set(by_music["music_id"].drop_nulls()) == set(df["music_id"].drop_nulls())
    assert all(m > BIG for m in by_music["music_id"].drop_nulls())
    top = engine.to_polars(analysis.top_videos(engine.read(path), n=3))
    assert top.schema["id"] == pl.Int64 and top.schema["view_count"] == pl.Int64
    assert top["id"].to_list() == analysis.top_videos(df, n=3)["id"].to_list()
    assert top["url"][0].endswith(f"/video/{top['id'][0]}")  # the 19 digits, not 7.3e+18


def test_approximate_quantiles_keep_counts_and_sums_exact(
    engine: Engine, tables: dict[str, tuple[pl.DataFrame, str]]
) -> None:
    df, path = tables["videos"]
    for by in ("month", "hashtag"):
        approx = engine.to_polars(analysis.summarize(engine.read(path), by=by, approximate=True))
        exact = analysis.summarize(df, by=by)  # type: ignore[arg-type]
        assert approx.schema == exact.schema
        key = analysis.GROUPINGS[by]
        approx, exact = approx.sort(key), exact.sort(key)
        exact_columns = ["videos", "creators", *[f"{c}_sum" for c in analysis.COUNT_COLUMNS]]
        assert_frame_equal(approx.select(key, *exact_columns), exact.select(key, *exact_columns))
        assert_frame_equal(
            approx.select("engagement_rate_pooled"),
            exact.select("engagement_rate_pooled"),
            check_exact=False,
        )
        for a, e in zip(approx["view_count_median"], exact["view_count_median"], strict=True):
            assert math.isclose(a, e, rel_tol=0.25, abs_tol=2)
    top = engine.to_polars(analysis.top_creators(engine.read(path), n=3, approximate=True))
    assert top["username"].to_list() == analysis.top_creators(df, n=3)["username"].to_list()


def test_a_session_time_zone_other_than_utc_is_refused_with_the_fix(
    engine: Engine, tables: dict[str, tuple[pl.DataFrame, str]]
) -> None:
    edges, path = tables["edges"]
    engine.set_time_zone("Europe/Berlin")  # 23:59:59 UTC on 31 January is 1 February there
    for by in ("day", "week", "month"):
        with pytest.raises(ValueError, match="UTC") as info:
            analysis.summarize(engine.read(path), by=by)  # type: ignore[arg-type]
        message = str(info.value)
        assert "Europe/Berlin" in message
        assert ("SET TimeZone" if engine.name == "duckdb" else "spark.sql.session.timeZone") in (
            message
        )
    # groupings that do not cut time are unaffected
    regions = engine.to_polars(analysis.summarize(engine.read(path), by="region"))
    assert regions["videos"].sum() == edges.height
    engine.set_time_zone("UTC")
    months = engine.to_polars(analysis.summarize(engine.read(path), by="month"))
    assert months.select("month", "videos").rows() == [
        (dt.date(2024, 1, 1), 1),
        (dt.date(2024, 2, 1), 4),
    ]


def test_empty_table_gives_an_empty_summary_with_the_same_columns(
    engine: Engine, tables: dict[str, tuple[pl.DataFrame, str]], tmp_path: Path
) -> None:
    df, _ = tables["videos"]
    path = tmp_path / "empty.parquet"
    df.clear().write_parquet(path)
    for by in ("month", "hashtag", "creator"):
        out = engine.to_polars(analysis.summarize(engine.read(str(path)), by=by))  # type: ignore[arg-type]
        assert out.height == 0
        assert out.schema == analysis.summarize(df, by=by).schema  # type: ignore[arg-type]


def test_missing_columns_are_named_before_the_engine_runs(
    engine: Engine, tables: dict[str, tuple[pl.DataFrame, str]]
) -> None:
    _, path = tables["videos"]
    frame = engine.read(path)
    narrow = frame.select("id", "region_code", "view_count")
    with pytest.raises(ValueError, match="like_count', 'comment_count', 'share_count'"):
        analysis.summarize(narrow, by="region")
    with pytest.raises(ValueError, match="create_time"):
        analysis.summarize(narrow, by="month")


def test_dask_is_refused_with_the_alternatives(tables: dict[str, tuple[pl.DataFrame, str]]) -> None:
    dd = pytest.importorskip("dask.dataframe")
    _, path = tables["videos"]
    frame = dd.read_parquet(path, dtype_backend="pyarrow")
    with pytest.raises(TypeError, match="Dask") as info:
        analysis.summarize(frame, by="month")
    assert "DuckDB" in str(info.value) and "dtype_backend" in str(info.value)


def test_importing_the_package_imports_no_engine() -> None:
    code = (
        "import sys, tiktok_research as tr, tiktok_research.analysis, tiktok_research.spark\n"
        "import polars as pl\n"
        "tr.analysis.summarize(pl.DataFrame({'region_code': ['x'], 'view_count': [1],"
        " 'like_count': [1], 'comment_count': [0], 'share_count': [0]}), by='region')\n"
        "tr.schemas.arrow_schema('videos')\n"
        "print(sorted(m for m in ('pyspark', 'narwhals', 'duckdb', 'sqlframe', 'dask')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
