"""Engagement analysis of video and comment tables, written once for every kind of input.

Every public function here accepts the tables this package produces in any of these forms and
returns the caller's kind:

* a polars ``DataFrame`` (returns a ``DataFrame``);
* a polars ``LazyFrame``, for example ``pl.scan_parquet("out/videos/**/*.parquet")`` over a dataset
  larger than memory (returns a ``LazyFrame``; nothing is collected inside, call
  ``.collect(engine="streaming")`` yourself);
* a pandas ``DataFrame`` (returns pandas with nullable dtypes: 19-digit ids stay exact ``Int64``);
* a pyarrow ``Table`` (returns a ``Table``).

The computation itself is one polars lazy query per function. For users who outgrow one machine,
:func:`summary_sql` writes the same summaries as SQL and :func:`summarize_sql` runs them with DuckDB
directly over a Parquet dataset; the test suite checks that both engines agree.

Memory: exact quantiles must hold the values being summarised (about 8 bytes per value and
column), in polars and in DuckDB alike. Over 20 million videos, ``summarize(lazy, by="month")``
peaked at about the memory of loading the columns it reads. When that does not fit, use
``summarize_sql(..., approximate=True)``: bounded-memory approximate quantiles (t-digest).

Conventions, shared by the polars and the SQL versions:

* **Rates are null, never inf or NaN.** ``engagement_rate = (like_count + comment_count +
  share_count) / view_count`` is null when ``view_count`` is null, zero or negative, or when any of
  the three interaction counts is missing (the API sometimes omits a count key). ``like_rate``,
  ``comment_rate``, ``share_rate`` and ``favorites_rate`` follow the same rule for their own count.
* **Heavy tails.** Summaries report sums, the median and the 25th, 75th, 90th and 99th percentiles
  (linear interpolation, nulls ignored), never a bare mean. ``engagement_rate_pooled`` is the ratio
  of sums over the videos that have an engagement rate; big videos dominate it, unlike the median.
* **Sums of nothing are null.** A group whose values are all null has a null sum, not 0.
* **Hashtags** are case-folded (Unicode lower case) and trimmed, and counted once per video
  (``#Cats #cats`` is one use of ``cats``). Videos without hashtags drop out of hashtag summaries.
* **Time** groups use UTC calendar days, ISO weeks starting on Monday, and calendar months; the key
  is the first day of the period as a ``Date``. Periods without videos are absent, not zero rows.
* **Null keys** (no region, no username...) form their own group rather than being dropped.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import polars as pl
import pyarrow as pa

from ._endpoints import COMMENTS_CAP, VIDEO_LENGTH_BOUNDS, VIDEO_LENGTHS

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "COUNT_COLUMNS",
    "DEFAULT_QUANTILES",
    "GROUPINGS",
    "comment_activity",
    "distribution",
    "engagement",
    "hashtag_cooccurrence",
    "summarize",
    "summarize_sql",
    "summary_sql",
    "top_creators",
    "top_hashtags",
    "top_videos",
]

T = TypeVar("T")

By = Literal["day", "week", "month", "hashtag", "region", "creator", "video_length", "music"]

#: Grouping name -> key column of the summary table.
GROUPINGS: dict[str, str] = {
    "day": "day",
    "week": "week",
    "month": "month",
    "hashtag": "hashtag",
    "region": "region_code",
    "creator": "username",
    "video_length": "video_length_class",
    "music": "music_id",
}
_TRUNCATE = {"day": "1d", "week": "1w", "month": "1mo"}
_SQL_TRUNCATE = {"day": "day", "week": "week", "month": "month"}

#: The interaction counts that summaries report (API field names).
COUNT_COLUMNS: tuple[str, ...] = ("view_count", "like_count", "comment_count", "share_count")
#: Quantiles reported by :func:`summarize`; 0.5 is named ``median``, the others ``p25``, ``p90``...
DEFAULT_QUANTILES: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9, 0.99)
#: Quantiles reported by :func:`distribution`: dense in the upper tail.
DISTRIBUTION_QUANTILES: tuple[float, ...] = (
    0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999,
)  # fmt: skip

_RATES = {
    "like_rate": "like_count",
    "comment_rate": "comment_count",
    "share_rate": "share_count",
    "favorites_rate": "favorites_count",
}


# --------------------------------------------------------------------------------------------
# Input and output kinds
# --------------------------------------------------------------------------------------------


def _is_pandas(data: object) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(data, pd.DataFrame)


def _as_lazy(data: Any) -> tuple[pl.LazyFrame, Callable[[pl.LazyFrame], Any]]:
    """Any supported table -> a LazyFrame, plus the function that returns the caller's kind."""
    if isinstance(data, pl.LazyFrame):
        return data, lambda lf: lf
    if isinstance(data, pl.DataFrame):
        return data.lazy(), lambda lf: lf.collect()
    if isinstance(data, pa.Table | pa.RecordBatch):
        frame = pl.from_arrow(data)
        assert isinstance(frame, pl.DataFrame)
        return frame.lazy(), lambda lf: lf.collect().to_arrow()
    if _is_pandas(data):
        return pl.from_pandas(data).lazy(), lambda lf: _to_pandas(lf.collect())
    raise TypeError(
        f"expected a polars DataFrame or LazyFrame, a pandas DataFrame or a pyarrow Table, "
        f"got {type(data).__name__}; convert it first, e.g. with pl.from_pandas(...)"
    )


def _to_pandas(frame: pl.DataFrame) -> Any:
    """polars -> pandas with nullable dtypes: Int64 ids with nulls never go through float."""
    import pandas as pd

    mapping: dict[pa.DataType, Any] = {
        pa.int8(): pd.Int8Dtype(),
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.uint8(): pd.UInt8Dtype(),
        pa.uint16(): pd.UInt16Dtype(),
        pa.uint32(): pd.UInt32Dtype(),
        pa.uint64(): pd.UInt64Dtype(),
        pa.float64(): pd.Float64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    return frame.to_arrow().to_pandas(types_mapper=mapping.get)


def _require(lf: pl.LazyFrame, columns: Sequence[str], what: str) -> pl.Schema:
    schema = lf.collect_schema()
    missing = [c for c in columns if c not in schema]
    if missing:
        raise ValueError(
            f"{what} needs the column(s) {missing}, which the table lacks; request those fields "
            f"when collecting (present: {list(schema)})"
        )
    return schema


def _quantile_name(q: float) -> str:
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantiles must lie between 0 and 1, got {q}")
    if q == 0.5:
        return "median"
    return "p" + f"{q * 100:g}".replace(".", "_")


# --------------------------------------------------------------------------------------------
# Per-video metrics
# --------------------------------------------------------------------------------------------


def _rate(numerator: pl.Expr, views: pl.Expr) -> pl.Expr:
    return pl.when(views > 0).then(numerator.cast(pl.Float64) / views.cast(pl.Float64))


def _length_class(duration: pl.Expr) -> pl.Expr:
    expr: Any = pl
    for name in VIDEO_LENGTHS:
        lo, hi = VIDEO_LENGTH_BOUNDS[name]
        expr = expr.when(duration.is_between(lo, hi)).then(pl.lit(name))
    return cast(pl.Expr, expr.otherwise(pl.lit(None, dtype=pl.String)))


def _engagement_lazy(lf: pl.LazyFrame) -> pl.LazyFrame:
    schema = _require(lf, COUNT_COLUMNS, "engagement()")
    views = pl.col("view_count")
    interactions = pl.col("like_count") + pl.col("comment_count") + pl.col("share_count")
    new = [
        interactions.alias("interactions"),
        _rate(interactions, views).alias("engagement_rate"),
    ]
    new += [_rate(pl.col(c), views).alias(r) for r, c in _RATES.items() if c in schema]
    if "video_duration" in schema:
        new.append(_length_class(pl.col("video_duration")).alias("video_length_class"))
    return lf.with_columns(new)


def engagement(videos: T) -> T:
    """Add per-video engagement metrics to a videos table.

    Added columns: ``interactions`` (likes + comments + shares, Int64), ``engagement_rate``
    (interactions / views), ``like_rate``, ``comment_rate``, ``share_rate``, ``favorites_rate``
    (when ``favorites_count`` is present) as Float64, and ``video_length_class`` (``SHORT``,
    ``MID``, ``LONG`` or ``EXTRA_LONG`` from ``video_duration`` in seconds, the classes of the query
    language) when ``video_duration`` is present.

    A rate is null, never inf or NaN, when ``view_count`` is null or not positive, or when a
    count it needs is missing. Existing columns are kept unchanged.

    Args:
        videos: a videos table (polars eager or lazy, pandas, or pyarrow).

    Returns:
        The same kind of table with the metric columns added.

    Example:
        >>> import polars as pl
        >>> v = pl.DataFrame({"view_count": [100, 0], "like_count": [8, 1],
        ...                   "comment_count": [1, 0], "share_count": [1, 0]})
        >>> engagement(v)["engagement_rate"].to_list()
        [0.1, None]
    """
    lf, back = _as_lazy(videos)
    return cast(T, back(_engagement_lazy(lf)))


# --------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------


def _hashtags_exploded(lf: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (video, case-folded hashtag), each hashtag at most once per video."""
    folded = (
        pl.col("hashtag_names")
        .list.eval(pl.element().str.strip_chars().str.to_lowercase())
        .list.unique()
        .alias("hashtag")
    )
    return (
        lf.with_columns(folded)
        .explode("hashtag")
        .filter(pl.col("hashtag").is_not_null() & (pl.col("hashtag") != ""))
    )


def _keyed(lf: pl.LazyFrame, by: str) -> pl.LazyFrame:
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {sorted(GROUPINGS)}, got {by!r}")
    key = GROUPINGS[by]
    if by in _TRUNCATE:
        _require(lf, ["create_time"], f"summarize(by={by!r})")
        return lf.with_columns(
            pl.col("create_time").dt.truncate(_TRUNCATE[by]).dt.date().alias(key)
        )
    if by == "hashtag":
        _require(lf, ["hashtag_names"], "summarize(by='hashtag')")
        return _hashtags_exploded(lf)
    _require(lf, [key], f"summarize(by={by!r})")
    return lf


def _summary_aggs(quantiles: Sequence[float], with_creators: bool) -> list[pl.Expr]:
    has_rate = pl.col("engagement_rate").is_not_null()
    aggs: list[pl.Expr] = [pl.len().cast(pl.Int64).alias("videos")]
    if with_creators:
        aggs.append(pl.col("username").drop_nulls().n_unique().cast(pl.Int64).alias("creators"))
    for c in COUNT_COLUMNS:
        col = pl.col(c)
        aggs.append(pl.when(col.count() > 0).then(col.sum()).alias(f"{c}_sum"))
        aggs += [
            col.quantile(q, interpolation="linear").alias(f"{c}_{_quantile_name(q)}")
            for q in quantiles
        ]
    rate = pl.col("engagement_rate")
    aggs += [
        rate.quantile(q, interpolation="linear").alias(f"engagement_rate_{_quantile_name(q)}")
        for q in quantiles
    ]
    pooled_views = pl.col("view_count").filter(has_rate).sum()
    aggs.append(
        pl.when(pooled_views > 0)
        .then(
            pl.col("interactions").filter(has_rate).sum().cast(pl.Float64)
            / pooled_views.cast(pl.Float64)
        )
        .alias("engagement_rate_pooled")
    )
    return aggs


def _summarize_lazy(lf: pl.LazyFrame, by: str, quantiles: Sequence[float]) -> pl.LazyFrame:
    key = GROUPINGS.get(by, by)
    with_creators = "username" in lf.collect_schema() and by != "creator"
    keyed = _keyed(_engagement_lazy(lf), by)
    out = keyed.group_by(key).agg(_summary_aggs(quantiles, with_creators))
    if by in _TRUNCATE:
        return out.sort(key, nulls_last=True)
    if by == "video_length":
        order = pl.col(key).replace_strict(
            {name: i for i, name in enumerate(VIDEO_LENGTHS)},
            default=len(VIDEO_LENGTHS),
            return_dtype=pl.Int64,
        )
        return out.sort(order, nulls_last=True)
    return out.sort(["videos", key], descending=[True, False], nulls_last=True)


def summarize(
    videos: T,
    by: By = "day",
    *,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
) -> T:
    """Summarise engagement per group of videos.

    One row per group with: the key column (``day``/``week``/``month`` as the first UTC day of the
    period, ``hashtag``, ``region_code``, ``username``, ``video_length_class`` or ``music_id``),
    ``videos`` (count), ``creators`` (distinct usernames, except when ``by="creator"``), then for
    each of ``view_count``, ``like_count``, ``comment_count``, ``share_count``: ``<count>_sum``
    and the quantiles ``<count>_p25``, ``<count>_median``, ``<count>_p75``, ``<count>_p90``,
    ``<count>_p99``; then the same quantiles of ``engagement_rate`` and ``engagement_rate_pooled``
    (sum of interactions / sum of views). See the module docstring for nulls, hashtags and time.

    Time groups are sorted by period, video-length classes from SHORT to EXTRA_LONG, everything
    else by number of videos (most first), then key.

    Args:
        videos: a videos table (polars eager or lazy, pandas, or pyarrow).
        by: the grouping: ``"day"``, ``"week"``, ``"month"``, ``"hashtag"``, ``"region"``,
            ``"creator"``, ``"video_length"`` or ``"music"``.
        quantiles: the quantiles to report (0.5 is named ``median``).

    Returns:
        The summary, as the caller's kind of table (lazy in, lazy out).

    Example:
        >>> import datetime as dt, polars as pl
        >>> v = pl.DataFrame({"create_time": [dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC)] * 2,
        ...     "username": ["a", "b"], "view_count": [100, 300], "like_count": [10, 3],
        ...     "comment_count": [0, 0], "share_count": [0, 0]})
        >>> s = summarize(v, by="day")
        >>> s.select("day", "videos", "view_count_sum", "view_count_median").rows()
        [(datetime.date(2024, 1, 1), 2, 400, 200.0)]
    """
    lf, back = _as_lazy(videos)
    return cast(T, back(_summarize_lazy(lf, by, quantiles)))


def _top(summary: pl.LazyFrame, n: int, by: str) -> pl.LazyFrame:
    schema = summary.collect_schema()
    column = by if by in schema else f"{by}_sum"
    if column not in schema:
        choices = [c for c in schema if c == "videos" or c.endswith(("_sum", "_median", "_pooled"))]
        raise ValueError(f"cannot rank by {by!r}; choose one of {choices}")
    key = next(iter(schema))
    return summary.sort([column, key], descending=[True, False], nulls_last=True).head(n)


def top_videos(videos: T, n: int = 10, by: str = "view_count") -> T:
    """The ``n`` videos with the highest ``by``, with engagement metrics and a ``url`` column.

    Args:
        videos: a videos table (polars eager or lazy, pandas, or pyarrow).
        n: how many videos.
        by: the column to rank by, e.g. ``"view_count"``, ``"like_count"``, ``"engagement_rate"``.
            Nulls rank last; ties are broken by ``id``.

    Returns:
        The top rows (all columns kept, metrics and ``url`` added), highest first.

    Example:
        >>> import polars as pl
        >>> v = pl.DataFrame({"id": [1, 2], "username": ["a", "b"], "view_count": [5, 50],
        ...     "like_count": [1, 1], "comment_count": [0, 0], "share_count": [0, 0]})
        >>> top_videos(v, n=1)["url"].to_list()
        ['https://www.tiktok.com/@b/video/2']
    """
    lf, back = _as_lazy(videos)
    lf = _engagement_lazy(lf)
    schema = _require(lf, [by], "top_videos()")
    if {"username", "id"} <= set(schema):
        lf = lf.with_columns(
            pl.format("https://www.tiktok.com/@{}/video/{}", "username", "id").alias("url")
        )
    keys = [by, "id"] if "id" in schema and by != "id" else [by]
    out = lf.sort(keys, descending=[True] + [False] * (len(keys) - 1), nulls_last=True).head(n)
    return cast(T, back(out))


def top_creators(videos: T, n: int = 10, by: str = "view_count") -> T:
    """The ``n`` creators with the highest ``by``: a ``summarize(by="creator")`` table, ranked.

    Args:
        videos: a videos table (polars eager or lazy, pandas, or pyarrow).
        n: how many creators.
        by: a column of the creator summary (``"videos"``, ``"view_count_median"``...) or a count
            name meaning its total (``"view_count"`` is ``view_count_sum``).

    Returns:
        The creator summary rows, highest first.
    """
    lf, back = _as_lazy(videos)
    return cast(T, back(_top(_summarize_lazy(lf, "creator", DEFAULT_QUANTILES), n, by)))


def top_hashtags(videos: T, n: int = 10, by: str = "videos") -> T:
    """The ``n`` most used hashtags (case-folded, once per video), as hashtag summary rows.

    Args:
        videos: a videos table (polars eager or lazy, pandas, or pyarrow).
        n: how many hashtags.
        by: ``"videos"`` (default), a summary column or a count name meaning its total.

    Returns:
        The hashtag summary rows, highest first.
    """
    lf, back = _as_lazy(videos)
    return cast(T, back(_top(_summarize_lazy(lf, "hashtag", DEFAULT_QUANTILES), n, by)))


def distribution(
    videos: T,
    column: str = "view_count",
    *,
    quantiles: Sequence[float] = DISTRIBUTION_QUANTILES,
) -> T:
    """Distribution statistics of one column, suited to heavy tails.

    Rows, in order: ``count`` (non-null values), ``null_count``, ``zero_count``, ``mean``, ``min``,
    one row per quantile (``p1``, ``p5``, ..., ``median``, ..., ``p99``, ``p99_9``), ``max``.
    Columns: ``statistic`` (String), ``quantile`` (Float64, null for non-quantile rows; 0 for min,
    1 for max) and ``value`` (Float64). Engagement columns (``engagement_rate``, ``like_rate``...)
    can be asked for directly: they are computed first.

    Args:
        videos: a videos table (polars eager or lazy, pandas, or pyarrow).
        column: the numeric column to describe.
        quantiles: the quantiles to report.

    Returns:
        A long table of statistics, as the caller's kind.

    Example:
        >>> import polars as pl
        >>> v = pl.DataFrame({"view_count": [0, 10, 100, 1000, None]})
        >>> d = distribution(v, "view_count", quantiles=[0.5])
        >>> dict(zip(d["statistic"], d["value"]))["median"]
        55.0
    """
    lf, back = _as_lazy(videos)
    schema = lf.collect_schema()
    if column not in schema and set(COUNT_COLUMNS) <= set(schema):
        lf = _engagement_lazy(lf)
    _require(lf, [column], "distribution()")
    x = pl.col(column).cast(pl.Float64)
    stats: list[tuple[str, float | None, pl.Expr]] = [
        ("count", None, x.count().cast(pl.Float64)),
        ("null_count", None, x.null_count().cast(pl.Float64)),
        ("zero_count", None, (x == 0).sum().cast(pl.Float64)),
        ("mean", None, x.mean()),
        ("min", 0.0, x.min()),
    ]
    stats += [
        (_quantile_name(q), q, x.quantile(q, interpolation="linear")) for q in sorted(quantiles)
    ]
    stats.append(("max", 1.0, x.max()))
    wide = lf.select([expr.alias(name) for name, _, expr in stats])
    qmap = {name: q for name, q, _ in stats if q is not None}
    out = wide.unpivot(variable_name="statistic", value_name="value").select(
        "statistic",
        pl.col("statistic")
        .replace_strict(qmap, default=None, return_dtype=pl.Float64)
        .alias("quantile"),
        pl.col("value").cast(pl.Float64),
    )
    return cast(T, back(out))


def hashtag_cooccurrence(videos: T, top: int | None = 20) -> T:
    """Pairs of hashtags used together on the same video, with counts.

    Hashtags are case-folded and counted once per video. Only the ``top`` most used hashtags take
    part (all of them when ``top`` is None; ties broken alphabetically), which bounds the cost on
    large tables and gives a square co-occurrence matrix.

    Columns: ``hashtag_a`` < ``hashtag_b`` (alphabetically), ``videos`` (videos with both),
    ``videos_a``, ``videos_b`` (videos with each) and ``jaccard`` (videos / videos with either).
    Sorted by ``videos`` (most first), then the pair. Pairs that never co-occur are absent.

    Args:
        videos: a videos table with ``hashtag_names`` (polars eager or lazy, pandas, or pyarrow).
        top: how many of the most used hashtags to consider, or None for all.

    Returns:
        The pairs table, as the caller's kind.
    """
    lf, back = _as_lazy(videos)
    _require(lf, ["hashtag_names"], "hashtag_cooccurrence()")
    tags = _hashtags_exploded(lf.select("hashtag_names").with_row_index("_video")).select(
        "_video", "hashtag"
    )
    counts = tags.group_by("hashtag").agg(pl.len().cast(pl.Int64).alias("uses"))
    if top is not None:
        counts = counts.sort(["uses", "hashtag"], descending=[True, False]).head(top)
        tags = tags.join(counts.select("hashtag"), on="hashtag", how="semi")
    pairs = (
        tags.join(tags, on="_video", suffix="_b")
        .filter(pl.col("hashtag") < pl.col("hashtag_b"))
        .group_by(pl.col("hashtag").alias("hashtag_a"), "hashtag_b")
        .agg(pl.len().cast(pl.Int64).alias("videos"))
        .join(counts.rename({"hashtag": "hashtag_a", "uses": "videos_a"}), on="hashtag_a")
        .join(counts.rename({"hashtag": "hashtag_b", "uses": "videos_b"}), on="hashtag_b")
        .with_columns(
            (
                pl.col("videos").cast(pl.Float64)
                / (pl.col("videos_a") + pl.col("videos_b") - pl.col("videos")).cast(pl.Float64)
            ).alias("jaccard")
        )
        .sort(["videos", "hashtag_a", "hashtag_b"], descending=[True, False, False])
    )
    return cast(T, back(pairs))


def comment_activity(comments: T) -> T:
    """Comment activity per video, from a comments table.

    One row per ``video_id`` with: ``comments`` (rows), ``unique_comments`` (distinct comment ids;
    lower than ``comments`` means duplicates), ``top_level`` (comments whose
    ``parent_comment_id`` is the video id or null, as the API reports top-level comments),
    ``replies`` (collected replies to other comments), ``reply_count_sum`` (replies the API says
    exist), ``like_count_sum``, ``like_count_median``, ``first_comment`` and ``last_comment`` (UTC)
    and ``at_cap`` (true when the top-level comments reached the API's cap of 1,000 per video, so
    more may exist). Sorted by ``comments`` (most first), then ``video_id``.

    Args:
        comments: a comments table (polars eager or lazy, pandas, or pyarrow).

    Returns:
        The per-video table, as the caller's kind.
    """
    lf, back = _as_lazy(comments)
    schema = _require(lf, ["video_id"], "comment_activity()")
    parent = (
        pl.col("parent_comment_id") if "parent_comment_id" in schema else pl.lit(None, pl.Int64)
    )
    is_top = parent.is_null() | (parent == pl.col("video_id"))
    aggs: list[pl.Expr] = [pl.len().cast(pl.Int64).alias("comments")]
    if "id" in schema:
        aggs.append(pl.col("id").drop_nulls().n_unique().cast(pl.Int64).alias("unique_comments"))
    aggs += [
        is_top.sum().cast(pl.Int64).alias("top_level"),
        (~is_top).sum().cast(pl.Int64).alias("replies"),
    ]
    for c in ("reply_count", "like_count"):
        if c in schema:
            aggs.append(pl.when(pl.col(c).count() > 0).then(pl.col(c).sum()).alias(f"{c}_sum"))
    if "like_count" in schema:
        aggs.append(pl.col("like_count").median().alias("like_count_median"))
    if "create_time" in schema:
        aggs += [
            pl.col("create_time").min().alias("first_comment"),
            pl.col("create_time").max().alias("last_comment"),
        ]
    out = (
        lf.group_by("video_id")
        .agg(aggs)
        .with_columns((pl.col("top_level") >= COMMENTS_CAP).alias("at_cap"))
        .sort(["comments", "video_id"], descending=[True, False], nulls_last=True)
    )
    return cast(T, back(out))


# --------------------------------------------------------------------------------------------
# The same summaries as SQL (DuckDB), for data beyond one machine's polars
# --------------------------------------------------------------------------------------------


def _sql_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def summary_sql(
    by: By = "day",
    *,
    source: str = "videos",
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    with_creators: bool = True,
    approximate: bool = False,
) -> str:
    """The SQL (DuckDB dialect) of :func:`summarize`: same columns, names, order and conventions.

    Args:
        by: the grouping, as in :func:`summarize`.
        source: a table name or a table expression, e.g.
            ``"read_parquet('out/videos/**/*.parquet')"``.
        quantiles: the quantiles to report.
        with_creators: include the ``creators`` column (needs ``username``; not for ``creator``).
        approximate: use ``approx_quantile`` (t-digest, bounded memory) instead of exact
            ``quantile_cont`` for very large tables. Results then differ slightly from polars.

    Returns:
        One SQL ``SELECT`` statement.
    """
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {sorted(GROUPINGS)}, got {by!r}")
    key = GROUPINGS[by]
    names = [_quantile_name(q) for q in quantiles]
    views = "view_count"
    interactions = "(like_count + comment_count + share_count)"
    rate = (
        f"CASE WHEN {views} > 0 THEN CAST({interactions} AS DOUBLE) / CAST({views} AS DOUBLE) END"
    )
    base = f"SELECT *, {interactions} AS interactions, {rate} AS engagement_rate FROM {source}"
    if by in _SQL_TRUNCATE:
        keyed = (
            f"SELECT *, CAST(date_trunc('{_SQL_TRUNCATE[by]}', create_time AT TIME ZONE 'UTC')"
            f" AS DATE) AS {key} FROM ({base})"
        )
    elif by == "hashtag":
        folded = "list_distinct(list_transform(hashtag_names, lambda x: lower(trim(x))))"
        keyed = (
            f"SELECT * FROM (SELECT *, unnest({folded}) AS hashtag FROM ({base})) "
            "WHERE hashtag IS NOT NULL AND hashtag <> ''"
        )
    elif by == "video_length":
        cases = " ".join(
            f"WHEN video_duration BETWEEN {lo} AND {hi} THEN '{name}'"
            for name, (lo, hi) in ((n, VIDEO_LENGTH_BOUNDS[n]) for n in VIDEO_LENGTHS)
        )
        keyed = f"SELECT *, CASE {cases} END AS {key} FROM ({base})"
    else:
        keyed = base

    def quantile(col: str, q: float) -> str:
        if approximate:
            return f"CAST(approx_quantile({col}, {q!r}) AS DOUBLE)"
        return f"quantile_cont({col}, {q!r})"

    cols = [key, "CAST(count(*) AS BIGINT) AS videos"]
    if with_creators and by != "creator":
        cols.append("CAST(count(DISTINCT username) AS BIGINT) AS creators")
    for c in COUNT_COLUMNS:
        cols.append(f"CAST(sum({c}) AS BIGINT) AS {c}_sum")
        cols += [
            f"{quantile(c, q)} AS {c}_{name}" for q, name in zip(quantiles, names, strict=True)
        ]
    cols += [
        f"{quantile('engagement_rate', q)} AS engagement_rate_{name}"
        for q, name in zip(quantiles, names, strict=True)
    ]
    has = "engagement_rate IS NOT NULL"
    pooled_views = f"sum({views}) FILTER (WHERE {has})"
    cols.append(
        f"CASE WHEN {pooled_views} > 0 THEN CAST(sum(interactions) FILTER (WHERE {has}) AS DOUBLE)"
        f" / CAST({pooled_views} AS DOUBLE) END AS engagement_rate_pooled"
    )
    if by in _SQL_TRUNCATE:
        order = f"{key} ASC NULLS LAST"
    elif by == "video_length":
        ranks = " ".join(f"WHEN '{n}' THEN {i}" for i, n in enumerate(VIDEO_LENGTHS))
        order = f"CASE {key} {ranks} ELSE {len(VIDEO_LENGTHS)} END"
    else:
        order = f"videos DESC, {key} ASC NULLS LAST"
    select = ",\n  ".join(cols)
    return f"SELECT\n  {select}\nFROM ({keyed})\nGROUP BY {key}\nORDER BY {order}"


def summarize_sql(
    parquet: str | Sequence[str],
    by: By = "day",
    *,
    connection: duckdb.DuckDBPyConnection | None = None,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    approximate: bool = False,
) -> duckdb.DuckDBPyRelation:
    """Run :func:`summarize` with DuckDB over a Parquet dataset (out of core, spills to disk).

    Args:
        parquet: a Parquet file, folder glob (``"out/videos/**/*.parquet"``) or list of them; hive
            partition folders are understood.
        by: the grouping, as in :func:`summarize`.
        connection: a DuckDB connection (default: a new in-memory one).
        quantiles: the quantiles to report.
        approximate: use bounded-memory approximate quantiles (see :func:`summary_sql`).

    Returns:
        A lazy DuckDB relation: ``.pl()`` gives polars, ``.df()`` pandas, ``.arrow()`` Arrow.

    Example:
        >>> summarize_sql("out/videos/**/*.parquet", by="month").pl()  # doctest: +SKIP
    """
    import duckdb

    con = connection if connection is not None else duckdb.connect()
    paths = [parquet] if isinstance(parquet, str) else list(parquet)
    listing = "[" + ", ".join(_sql_quote(str(p)) for p in paths) + "]"
    source = f"read_parquet({listing}, hive_partitioning = true, union_by_name = true)"
    columns = {row[0] for row in con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    sql = summary_sql(
        by,
        source=source,
        quantiles=quantiles,
        with_creators="username" in columns,
        approximate=approximate,
    )
    return con.sql(sql)
