"""Engagement metrics and summaries: values, conventions, input kinds, DuckDB equal to polars."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

from tiktok_research import analysis
from tiktok_research.io import to_pandas
from tiktok_research.schemas import COMMENTS, VIDEOS

UTC = dt.UTC
BIG = 7_300_000_000_000_000_000  # 19-digit ids: exact only as Int64, never through float


def _conform(df: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """Columns of the declared schema, in order; those the fixture lacks are typed nulls."""
    return df.select(
        [
            pl.col(n).cast(t) if n in df.columns else pl.lit(None, dtype=t).alias(n)
            for n, t in schema.items()
        ]
    )


def make_videos(n: int = 400, seed: int = 0) -> pl.DataFrame:
    """A realistic heavy-tailed videos table with the declared VIDEOS schema."""
    rng = np.random.default_rng(seed)
    views = np.floor(rng.lognormal(8, 2.5, n)).astype(np.int64)
    views[rng.random(n) < 0.05] = 0
    likes = np.floor(views * rng.beta(2, 30, n)).astype(np.int64)
    comments = np.floor(likes * rng.beta(1, 20, n)).astype(np.int64)
    shares = np.floor(likes * rng.beta(1, 15, n)).astype(np.int64)
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    seconds = rng.integers(0, 75 * 86400, n)
    tags = np.array(
        ["Cats", "cats", "FYP", "fyp", "dogs", "Food", "travel", "Ärger", "news", "ＡＩ"]
    )
    hashtags = [
        list(rng.choice(tags, size=int(rng.integers(0, 4)), replace=False)) for _ in range(n)
    ]
    df = pl.DataFrame(
        {
            "id": BIG + np.arange(n, dtype=np.int64) * 1_000_003,
            "create_time": [start + dt.timedelta(seconds=int(s)) for s in seconds],
            "username": [f"user{k}" for k in rng.integers(0, 30, n)],
            "region_code": rng.choice(["US", "GB", "DE", "FR", "BR", "JP"], n),
            "video_description": ["a video"] * n,
            "music_id": BIG + rng.integers(1, 12, n).astype(np.int64),
            "like_count": likes,
            "comment_count": comments,
            "share_count": shares,
            "view_count": views,
            "favorites_count": likes // 3,
            "hashtag_names": hashtags,
            "video_duration": rng.integers(1, 700, n).astype(np.int64),
            "is_stem_verified": rng.random(n) < 0.1,
        },
        schema_overrides={
            "create_time": pl.Datetime("us", "UTC"),
            "hashtag_names": pl.List(pl.String),
        },
    )
    nulls = {
        c: pl.Series(rng.random(n) < 0.03)
        for c in ("like_count", "view_count", "region_code", "music_id")
    }
    df = df.with_columns(
        pl.when(mask).then(None).otherwise(pl.col(c)).alias(c) for c, mask in nulls.items()
    )
    return _conform(df, VIDEOS)


def make_comments(videos: int = 12, seed: int = 1) -> pl.DataFrame:
    """A comments table: top-level comments (parent = video id), replies (parent = comment id)."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    next_id = BIG + 5_000_000_000
    for v in range(videos):
        video_id = BIG + v
        top = [next_id + i for i in range(int(rng.integers(1, 40)))]
        next_id += len(top)
        for cid in top:
            likes, replies = int(rng.lognormal(1, 2)), int(rng.integers(0, 5))
            rows.append({"id": cid, "video_id": video_id, "parent_comment_id": video_id,
                         "like_count": likes, "reply_count": replies})  # fmt: skip
        for parent in rng.choice(top, size=int(rng.integers(0, 10))):
            rows.append({"id": next_id, "video_id": video_id, "parent_comment_id": int(parent),
                         "like_count": 0, "reply_count": 0})  # fmt: skip
            next_id += 1
    start = dt.datetime(2024, 2, 1, tzinfo=UTC)
    df = pl.DataFrame(rows).with_columns(
        pl.Series(
            "create_time",
            [start + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 20000, len(rows))],
        ),
        pl.lit("nice").alias("text"),
    )
    return _conform(df, COMMENTS)


# ---------------------------------------------------------------------------------------------
# Input kinds
# ---------------------------------------------------------------------------------------------


def _pandas(df: pl.DataFrame) -> pd.DataFrame:
    """What a careful user has: pandas with nullable dtypes (exact ids)."""
    return df.to_arrow().to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)


KINDS: dict[str, tuple[Callable[[pl.DataFrame], Any], type, Callable[[Any], pl.DataFrame]]] = {
    "eager": (lambda df: df, pl.DataFrame, lambda out: out),
    "lazy": (lambda df: df.lazy(), pl.LazyFrame, lambda out: out.collect()),
    "pandas": (_pandas, pd.DataFrame, lambda out: pl.from_pandas(out)),
    "arrow": (lambda df: df.to_arrow(), pa.Table, lambda out: pl.from_arrow(out)),
}

FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    **{
        f"summarize_{by}": (lambda d, by=by: analysis.summarize(d, by=by))
        for by in analysis.GROUPINGS
    },
    "engagement": analysis.engagement,
    "top_videos": lambda d: analysis.top_videos(d, n=5),
    "top_creators": lambda d: analysis.top_creators(d, n=5, by="like_count"),
    "top_hashtags": lambda d: analysis.top_hashtags(d, n=4),
    "distribution": lambda d: analysis.distribution(d, "view_count"),
    "distribution_rate": lambda d: analysis.distribution(d, "engagement_rate"),
    "cooccurrence": lambda d: analysis.hashtag_cooccurrence(d, top=5),
}

SCALAR_COLUMNS = [c for c, t in VIDEOS.items() if not isinstance(t, pl.List | pl.Struct)] + [
    "hashtag_names"
]


@pytest.fixture(scope="module")
def videos() -> pl.DataFrame:
    return make_videos()


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_every_summary_returns_the_callers_kind_with_equal_values(
    videos: pl.DataFrame, kind: str, name: str
) -> None:
    to_kind, expected_type, back = KINDS[kind]
    # Nested struct columns are irrelevant to the summaries; keep the list column they need.
    data = videos.select(SCALAR_COLUMNS)
    result = FUNCTIONS[name](to_kind(data))
    assert isinstance(result, expected_type)
    expected = FUNCTIONS[name](data)
    got = back(result)
    if name == "engagement":
        got, expected = (
            got.select(expected.columns).drop("hashtag_names"),
            expected.drop("hashtag_names"),
        )
    assert_frame_equal(got, expected, check_dtypes=kind != "pandas", check_exact=False)
    assert got.height > 0


def test_pandas_output_keeps_19_digit_ids_exact_even_with_nulls(videos: pl.DataFrame) -> None:
    data = _pandas(videos.select(SCALAR_COLUMNS))
    by_music = analysis.summarize(data, by="music")
    assert str(by_music["music_id"].dtype) == "int64[pyarrow]"
    assert by_music["music_id"].isna().sum() == 1  # the null music group survives as <NA>
    expected = set(videos["music_id"].drop_nulls().to_list())
    assert set(by_music["music_id"].dropna().tolist()) == expected
    top = analysis.top_videos(data, n=3)
    assert str(top["id"].dtype) == "int64[pyarrow]"
    assert top["id"].tolist() == analysis.top_videos(videos, n=3)["id"].to_list()
    assert all(i > BIG for i in top["id"].tolist())


@pytest.mark.parametrize("name", ["summarize_music", "top_videos", "engagement", "cooccurrence"])
def test_pandas_results_have_the_dtypes_of_io_to_pandas(videos: pl.DataFrame, name: str) -> None:
    """One pandas convention in the package: Arrow-backed dtypes, as ``tr.io.to_pandas`` gives."""
    data = videos.select(SCALAR_COLUMNS)
    from_pandas = FUNCTIONS[name](_pandas(data))
    via_io = to_pandas(FUNCTIONS[name](data))
    assert dict(from_pandas.dtypes) == dict(via_io.dtypes)
    assert all(isinstance(t, pd.ArrowDtype) for t in from_pandas.dtypes)
    pd.testing.assert_frame_equal(from_pandas, via_io)


def test_pandas_with_arrow_dtypes_is_accepted(videos: pl.DataFrame) -> None:
    data = videos.select(SCALAR_COLUMNS).to_pandas(use_pyarrow_extension_array=True)
    out = analysis.summarize(data, by="region")
    assert isinstance(out, pd.DataFrame)
    assert int(out["videos"].sum()) == videos.height


def test_full_declared_schema_with_nested_columns_is_accepted(videos: pl.DataFrame) -> None:
    out = analysis.summarize(videos, by="week")
    assert out["videos"].sum() == videos.height
    assert analysis.summarize(videos.to_arrow(), by="week").num_rows == out.height


def test_lazy_input_is_never_collected_inside(videos: pl.DataFrame) -> None:
    calls: list[int] = []

    def spy(frame: pl.DataFrame) -> pl.DataFrame:
        calls.append(frame.height)
        return frame

    data = videos.select(SCALAR_COLUMNS)
    lf = data.lazy().map_batches(spy, schema=data.schema)
    results = [
        analysis.summarize(lf, by="hashtag"),
        analysis.engagement(lf),
        analysis.top_creators(lf),
        analysis.distribution(lf, "like_rate"),
        analysis.hashtag_cooccurrence(lf),
    ]
    assert all(isinstance(r, pl.LazyFrame) for r in results)
    assert calls == []
    assert results[0].collect()["videos"].sum() > 0
    assert calls  # the data is read when the caller collects


def test_lazy_scan_of_a_partitioned_parquet_dataset_runs_streaming(
    videos: pl.DataFrame, tmp_path: Path
) -> None:
    data = videos.select(SCALAR_COLUMNS)
    for i, part in enumerate(
        data.with_columns(pl.col("create_time").dt.strftime("%Y-%m").alias("m")).partition_by("m")
    ):
        folder = tmp_path / f"create_month={part['m'][0]}"
        folder.mkdir()
        part.drop("m").write_parquet(folder / f"run{i}.parquet")
    lf = pl.scan_parquet(tmp_path / "**" / "*.parquet", hive_partitioning=False)
    out = analysis.summarize(lf, by="month")
    assert isinstance(out, pl.LazyFrame)
    assert_frame_equal(out.collect(engine="streaming"), analysis.summarize(data, by="month"))


def test_unsupported_input_raises_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="polars DataFrame or LazyFrame"):
        analysis.summarize([{"view_count": 1}], by="day")  # type: ignore[type-var]


def test_missing_columns_are_named_in_the_error() -> None:
    with pytest.raises(ValueError, match=r"share_count"):
        analysis.engagement(
            pl.DataFrame({"view_count": [1], "like_count": [1], "comment_count": [1]})
        )
    with pytest.raises(ValueError, match="by must be one of"):
        analysis.summarize(make_videos(5), by="year")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Per-video metrics
# ---------------------------------------------------------------------------------------------


def test_engagement_rate_is_null_not_inf_or_nan_for_zero_null_or_missing_counts() -> None:
    df = pl.DataFrame(
        {
            "view_count": [1000, 0, None, 200, 50],
            "like_count": [80, 5, 3, None, 0],
            "comment_count": [15, 0, 1, 2, 0],
            "share_count": [5, 0, 0, 1, 0],
        },
        schema={c: pl.Int64 for c in ("view_count", "like_count", "comment_count", "share_count")},
    )
    out = analysis.engagement(df)
    assert out["engagement_rate"].to_list() == [0.1, None, None, None, 0.0]
    assert out["like_rate"].to_list() == [0.08, None, None, None, 0.0]
    assert (
        out["comment_rate"].to_list()[3] == 0.01
    )  # the missing like count spoils only the rates that need it
    assert out["interactions"].to_list() == [100, 5, 4, None, 0]
    assert (
        out["engagement_rate"].is_nan().sum() == 0
        and out["engagement_rate"].is_infinite().sum() == 0
    )
    assert out.columns[:4] == df.columns  # existing columns untouched, in order


def test_video_length_class_follows_the_query_language_bounds() -> None:
    durations = [0, 14, 15, 60, 61, 300, 301, 3600, None, -1]
    df = make_videos(len(durations)).with_columns(
        pl.Series("video_duration", durations, dtype=pl.Int64)
    )
    classes = analysis.engagement(df)["video_length_class"].to_list()
    assert classes == [
        "SHORT",
        "SHORT",
        "MID",
        "MID",
        "LONG",
        "LONG",
        "EXTRA_LONG",
        "EXTRA_LONG",
        None,
        None,
    ]


def test_summary_by_video_length_is_in_class_order(videos: pl.DataFrame) -> None:
    out = analysis.summarize(videos, by="video_length")
    assert out["video_length_class"].to_list() == ["SHORT", "MID", "LONG", "EXTRA_LONG"]


# ---------------------------------------------------------------------------------------------
# Summary values
# ---------------------------------------------------------------------------------------------


def _tiny(**columns: list[Any]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    base = {
        "id": list(range(1, n + 1)),
        "create_time": [dt.datetime(2024, 3, 4, 12, tzinfo=UTC)] * n,
        "username": ["u"] * n,
        "view_count": [100] * n,
        "like_count": [1] * n,
        "comment_count": [0] * n,
        "share_count": [0] * n,
        "hashtag_names": [[] for _ in range(n)],
    }
    base.update(columns)
    return _conform(pl.DataFrame(base, strict=False), VIDEOS)


def test_hashtags_are_case_folded_trimmed_and_counted_once_per_video() -> None:
    df = _tiny(
        hashtag_names=[["Cats", "cats", " CATS "], ["CaTs", "Dogs"], [], None, ["dogs", ""]],
        username=["a", "b", "c", "d", "a"],
    )
    out = analysis.summarize(df, by="hashtag")
    assert out.select("hashtag", "videos", "creators").rows() == [("cats", 2, 2), ("dogs", 2, 2)]
    top = analysis.top_hashtags(df, n=1)
    assert top["hashtag"].to_list() == ["cats"]  # tie on videos broken alphabetically


def test_quantiles_of_a_heavy_tailed_input_match_numpy_linear_interpolation() -> None:
    rng = np.random.default_rng(7)
    views = np.concatenate(
        [np.floor(rng.pareto(1.1, 997) * 100), [10**9, 2 * 10**9, 10**12]]
    ).astype(np.int64)
    df = _tiny(view_count=views.tolist())
    row = analysis.summarize(df, by="month").row(0, named=True)
    for q, name in [(0.25, "p25"), (0.5, "median"), (0.75, "p75"), (0.9, "p90"), (0.99, "p99")]:
        assert row[f"view_count_{name}"] == pytest.approx(np.percentile(views, q * 100))
    assert row["view_count_sum"] == int(views.sum())  # exact Int64 sum past 2**31
    assert row["view_count_median"] < 1000 < row["view_count_sum"] / row["videos"]  # why medians


def test_known_small_quantiles_and_pooled_rate() -> None:
    df = _tiny(view_count=[10, 20, 30, 40, 0], like_count=[1, 2, 3, 4, 9])
    row = analysis.summarize(df, by="day").row(0, named=True)
    assert row["videos"] == 5
    assert row["view_count_median"] == 20.0
    assert row["view_count_p25"] == 10.0
    assert row["engagement_rate_median"] == pytest.approx(0.1)
    assert row["engagement_rate_pooled"] == pytest.approx(10 / 100)  # zero-view video left out


def test_sum_of_only_nulls_is_null_not_zero() -> None:
    df = _tiny(share_count=[None, None], region_code=["US", "US"])
    row = analysis.summarize(df, by="region").row(0, named=True)
    assert row["share_count_sum"] is None
    assert row["view_count_sum"] == 200
    assert row["engagement_rate_median"] is None and row["engagement_rate_pooled"] is None


def test_time_groups_use_utc_days_monday_weeks_and_calendar_months() -> None:
    times = [
        dt.datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC),
        dt.datetime(2024, 2, 1, 0, 0, 0, tzinfo=UTC),
        dt.datetime(2024, 2, 4, 23, 0, tzinfo=UTC),  # Sunday
        dt.datetime(2024, 2, 5, 1, 0, tzinfo=UTC),  # Monday
    ]
    df = _tiny(create_time=times)
    days = analysis.summarize(df, by="day")
    assert days["day"].to_list() == [
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 1),
        dt.date(2024, 2, 4),
        dt.date(2024, 2, 5),
    ]
    weeks = analysis.summarize(df, by="week")
    assert weeks.select("week", "videos").rows() == [
        (dt.date(2024, 1, 29), 3),
        (dt.date(2024, 2, 5), 1),
    ]
    months = analysis.summarize(df, by="month")
    assert months.select("month", "videos").rows() == [
        (dt.date(2024, 1, 1), 1),
        (dt.date(2024, 2, 1), 3),
    ]


def test_null_keys_form_their_own_group(videos: pl.DataFrame) -> None:
    out = analysis.summarize(videos, by="region")
    assert out["videos"].sum() == videos.height
    assert (
        out.filter(pl.col("region_code").is_null())["videos"].item()
        == videos["region_code"].null_count()
    )


def test_empty_tables_give_empty_summaries_with_the_same_columns(videos: pl.DataFrame) -> None:
    empty = videos.clear()
    for by in analysis.GROUPINGS:
        out = analysis.summarize(empty, by=by)
        assert out.height == 0
        assert out.schema == analysis.summarize(videos, by=by).schema
    assert analysis.top_videos(empty).height == 0
    assert analysis.hashtag_cooccurrence(empty).height == 0
    dist = analysis.distribution(empty)
    assert dict(dist.select("statistic", "value").rows())["count"] == 0


# ---------------------------------------------------------------------------------------------
# Tops, distribution, co-occurrence, comments
# ---------------------------------------------------------------------------------------------


def test_top_videos_ranks_with_nulls_last_and_adds_links() -> None:
    df = _tiny(view_count=[5, None, 50, 50], username=["a", "b", "c", "d"])
    out = analysis.top_videos(df, n=3)
    assert out["id"].to_list() == [3, 4, 1]  # tie broken by id, null views never on top
    assert out["url"][0] == "https://www.tiktok.com/@c/video/3"
    assert "engagement_rate" in out.columns
    by_rate = analysis.top_videos(df, n=1, by="engagement_rate")
    assert by_rate["id"].to_list() == [1]


def test_top_creators_rank_by_totals_or_summary_columns(videos: pl.DataFrame) -> None:
    totals = (
        videos.group_by("username")
        .agg(pl.col("view_count").sum())
        .sort("view_count", descending=True)
        .head(3)
    )
    out = analysis.top_creators(videos, n=3)
    assert out["username"].to_list() == totals["username"].to_list()
    assert out["view_count_sum"].to_list() == totals["view_count"].to_list()
    by_count = analysis.top_creators(videos, n=1, by="videos")
    assert by_count["videos"].item() == videos["username"].value_counts()["count"].max()
    with pytest.raises(ValueError, match="cannot rank by"):
        analysis.top_creators(videos, by="nonsense")


def test_distribution_reports_tail_quantiles_zeros_and_nulls() -> None:
    values = [0, 0, 1, 10, 100, 1000, 10**6, None]
    out = analysis.distribution(_tiny(view_count=values), "view_count")
    stats = dict(out.select("statistic", "value").rows())
    finite = np.array([v for v in values if v is not None])
    assert stats["count"] == 7 and stats["null_count"] == 1 and stats["zero_count"] == 2
    assert stats["min"] == 0 and stats["max"] == 10**6
    assert stats["median"] == pytest.approx(np.percentile(finite, 50))
    assert stats["p99"] == pytest.approx(np.percentile(finite, 99))
    assert stats["p99_9"] == pytest.approx(np.percentile(finite, 99.9))
    quantiles = out.drop_nulls("quantile")["quantile"].to_list()
    assert quantiles == sorted(quantiles) and quantiles[0] == 0.0 and quantiles[-1] == 1.0


def test_hashtag_cooccurrence_counts_pairs_once_per_video() -> None:
    df = _tiny(hashtag_names=[["a", "B", "b"], ["a", "b", "c"], ["c", "a"], ["d"], []])
    out = analysis.hashtag_cooccurrence(df, top=None)
    assert out.select("hashtag_a", "hashtag_b", "videos").rows() == [
        ("a", "b", 2),
        ("a", "c", 2),
        ("b", "c", 1),
    ]
    ab = out.row(0, named=True)
    assert (ab["videos_a"], ab["videos_b"]) == (3, 2)
    assert ab["jaccard"] == pytest.approx(2 / 3)
    top2 = analysis.hashtag_cooccurrence(df, top=2)  # only a and b (a: 3 videos; b, c: 2, b first)
    assert top2.select("hashtag_a", "hashtag_b").rows() == [("a", "b")]


def test_comment_activity_separates_top_level_comments_from_replies() -> None:
    video = BIG + 1
    df = _conform(
        pl.DataFrame(
            {
                "id": [BIG + 10, BIG + 11, BIG + 12, BIG + 12, BIG + 20],
                "video_id": [video, video, video, video, BIG + 2],
                "parent_comment_id": [video, video, BIG + 10, BIG + 10, None],
                "like_count": [3, 1, 0, 0, 7],
                "reply_count": [1, 0, 0, 0, None],
                "create_time": [dt.datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2, 3, 3, 9)],
            }
        ),
        COMMENTS,
    )
    out = analysis.comment_activity(df)
    first = out.row(0, named=True)
    assert first["video_id"] == video
    assert (first["comments"], first["unique_comments"], first["top_level"], first["replies"]) == (
        4,
        3,
        2,
        2,
    )
    assert first["reply_count_sum"] == 1 and first["like_count_sum"] == 4
    assert first["first_comment"] == dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert first["at_cap"] is False
    second = out.row(1, named=True)
    assert (second["top_level"], second["replies"], second["reply_count_sum"]) == (1, 0, None)


def test_comment_activity_flags_videos_at_the_1000_comment_cap() -> None:
    video = BIG + 3
    df = _conform(
        pl.DataFrame(
            {"id": range(1000), "video_id": [video] * 1000, "parent_comment_id": [video] * 1000}
        ),
        COMMENTS,
    )
    assert analysis.comment_activity(df)["at_cap"].to_list() == [True]


@pytest.mark.parametrize("kind", list(KINDS))
def test_comment_activity_on_every_input_kind(kind: str) -> None:
    comments = make_comments()
    to_kind, expected_type, back = KINDS[kind]
    result = analysis.comment_activity(to_kind(comments))
    assert isinstance(result, expected_type)
    expected = analysis.comment_activity(comments)
    assert_frame_equal(back(result), expected, check_dtypes=kind != "pandas")
    assert expected["comments"].sum() == comments.height


# ---------------------------------------------------------------------------------------------
# The other engine: DuckDB SQL over the Parquet dataset equals polars
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parquet_dataset(videos: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("videos")
    half = videos.height // 2
    videos.slice(0, half).write_parquet(root / "run-a.parquet")
    videos.slice(half).write_parquet(root / "run-b.parquet")
    return str(root / "*.parquet")


@pytest.mark.parametrize("by", list(analysis.GROUPINGS))
def test_duckdb_sql_summary_equals_polars(
    videos: pl.DataFrame, parquet_dataset: str, by: str
) -> None:
    relation = analysis.summarize_sql(parquet_dataset, by=by)  # type: ignore[arg-type]
    from_duckdb = relation.pl()
    from_polars = analysis.summarize(pl.scan_parquet(parquet_dataset), by=by).collect()  # type: ignore[arg-type]
    assert_frame_equal(from_duckdb, from_polars, check_exact=False, rel_tol=1e-9)
    assert from_polars.height > 1


def test_duckdb_sql_on_empty_parquet_matches_polars_schema(
    videos: pl.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "empty.parquet"
    videos.clear().write_parquet(path)
    from_duckdb = analysis.summarize_sql(str(path), by="hashtag").pl()
    assert from_duckdb.height == 0
    assert from_duckdb.schema == analysis.summarize(videos.clear(), by="hashtag").schema


def test_duckdb_approximate_quantiles_are_close(videos: pl.DataFrame, parquet_dataset: str) -> None:
    approx = analysis.summarize_sql(parquet_dataset, by="month", approximate=True).pl()
    exact = analysis.summarize(videos, by="month")
    assert approx["videos"].to_list() == exact["videos"].to_list()
    for a, e in zip(approx["view_count_median"], exact["view_count_median"], strict=True):
        assert math.isclose(a, e, rel_tol=0.2)


def test_summary_sql_text_is_usable_on_a_registered_table(videos: pl.DataFrame) -> None:
    import duckdb

    con = duckdb.connect()
    con.register("my_videos", videos.select(SCALAR_COLUMNS).to_arrow())
    sql = analysis.summary_sql("region", source="my_videos")
    assert_frame_equal(
        con.sql(sql).pl(), analysis.summarize(videos, by="region"), check_exact=False
    )
