"""Engagement analysis of video and comment tables, written once for every kind of input.

Every public function here accepts the tables this package produces in any of these forms and
returns the caller's kind:

* a polars ``DataFrame`` (returns a ``DataFrame``);
* a polars ``LazyFrame``, for example ``pl.scan_parquet("out/videos/**/*.parquet")`` over a dataset
  larger than memory (returns a ``LazyFrame``; nothing is collected inside, call
  ``.collect(engine="streaming")`` yourself);
* a pandas ``DataFrame`` (returns pandas with Arrow-backed dtypes, as
  :func:`tiktok_research.io.to_pandas` does: 19-digit ids stay exact ``int64[pyarrow]``);
* a pyarrow ``Table`` (returns a ``Table``);
* a DuckDB relation, a PySpark ``DataFrame`` or a sqlframe ``DataFrame`` (returns the same
  kind, still lazy: nothing runs until you collect it).

polars, pandas and Arrow go through one polars lazy query per function. DuckDB, PySpark and
sqlframe go through `narwhals <https://narwhals-dev.github.io/narwhals/>`_: the same expressions,
translated to the engine, so the work happens where the data is (a cluster, a database). The
definitions (rates, classes, aggregations) are written once and used by both paths; the test suite
checks that every engine gives the same tables. Two steps are written for the engine itself, each
for a measured reason: the summary aggregation on Spark and sqlframe (one ``percentile`` per column
for all quantiles, 4x faster than narwhals' one per quantile) and approximate quantiles, which
narwhals does not offer. :func:`summary_sql` / :func:`summarize_sql` keep a plain DuckDB SQL twin
for Parquet files.

Engines other than polars:

* **Time zone.** ``by="day"``, ``"week"`` and ``"month"`` need the engine's session time zone to be
  UTC (DuckDB and Spark truncate timestamps in the session time zone: in ``Europe/Berlin`` a video
  of 23:30 UTC on 31 January counts in February). The functions refuse a non-UTC session with a
  message naming the one-line fix, rather than change the setting themselves: the result is lazy,
  so a setting changed and restored inside the call would no longer hold when you collect, and a
  changed setting would silently alter every other timestamp of a shared session.
* **Approximate quantiles.** Exact quantiles hold every value of a group; on Spark they are slow
  and memory-hungry on big groups. ``approximate=True`` uses ``percentile_approx`` (Spark,
  sqlframe) or ``approx_quantile`` (DuckDB); counts, sums and rates stay exact. polars always
  computes exact quantiles (fast on one machine), so the flag changes nothing there.
* **Hashtags.** narwhals has no ``list.eval``, so hashtag lists are exploded, case-folded and
  trimmed, then made unique per video (per row, so a table holding the same video twice counts it
  twice, as polars does).
* **Dask** cannot express these summaries through narwhals (no grouped quantiles, no ``explode``);
  the functions say so. Read with DuckDB or Spark, or ``.compute()`` to pandas first.
* Ids stay ``Int64`` (``BIGINT`` / ``LongType``) throughout, never float. Sums are cast back to
  ``Int64``: DuckDB then raises on an overflow, Spark does in ANSI mode (its default since 4.0);
  polars, like Spark without ANSI, would wrap (no realistic count gets near 9.2e18).

Memory: exact quantiles must hold the values being summarised (about 8 bytes per value and
column), in polars and in DuckDB alike. Over 20 million videos, ``summarize(lazy, by="month")``
peaked at about the memory of loading the columns it reads. When that does not fit, use an engine
with ``approximate=True`` (bounded-memory sketches).

Conventions, shared by every engine and by the SQL version:

* **Rates are null, never inf or NaN.** ``engagement_rate = (like_count + comment_count +
  share_count) / view_count`` is null when ``view_count`` is null, zero or negative, or when any of
  the three interaction counts is missing (the API sometimes omits a count key). ``like_rate``,
  ``comment_rate``, ``share_rate`` and ``favorites_rate`` follow the same rule for their own count.
* **Heavy tails.** Summaries report sums, the median and the 25th, 75th, 90th and 99th percentiles
  (linear interpolation, nulls ignored), never a bare mean. ``engagement_rate_pooled`` is the ratio
  of sums over the videos that have an engagement rate; big videos dominate it, unlike the median.
* **Sums of nothing are null.** A group whose values are all null has a null sum, not 0.
* **Hashtags** are case-folded (lower case) and trimmed, and counted once per video
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
from ._optional import require
from .errors import InvalidRequestError, InvalidTypeError

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "COUNT_COLUMNS",
    "DEFAULT_QUANTILES",
    "ENGINES",
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
#: Grouping name -> the input column it is computed from.
_SOURCE: dict[str, str] = {
    "day": "create_time",
    "week": "create_time",
    "month": "create_time",
    "hashtag": "hashtag_names",
    "region": "region_code",
    "creator": "username",
    "video_length": "video_duration",
    "music": "music_id",
}
_TRUNCATE = {"day": "1d", "week": "1w", "month": "1mo"}
_SQL_TRUNCATE = {"day": "day", "week": "week", "month": "month"}

#: Engines other than polars/pandas/Arrow, by top-level module of the frame's class.
ENGINES: dict[str, str] = {"duckdb": "DuckDB", "pyspark": "PySpark", "sqlframe": "sqlframe"}
#: Engine -> the extra that installs what its summaries need (narwhals).
_ENGINE_EXTRAS: dict[str, str] = {"duckdb": "duckdb", "pyspark": "spark", "sqlframe": "sqlframe"}

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

# Names a session time zone may have when it is UTC (DuckDB, Spark and Java spellings).
_UTC_NAMES = frozenset(
    {"utc", "etc/utc", "gmt", "etc/gmt", "z", "zulu", "etc/zulu", "universal", "etc/universal",
     "uct", "etc/uct", "gmt0", "etc/gmt0", "etc/gmt+0", "etc/gmt-0", "+00:00", "-00:00"}
)  # fmt: skip
_VIDEO = "__tr_video"  # per-row video number used while hashtags are exploded (engines)


# --------------------------------------------------------------------------------------------
# Input and output kinds
# --------------------------------------------------------------------------------------------


class _Frame:
    """A table on its way through one function: a polars or narwhals lazy frame, and its engine.

    ``ns`` is the expression namespace (``polars`` or ``narwhals.stable.v2``); the builders below
    take it so that one definition serves every engine.
    """

    def __init__(self, lf: Any, ns: Any, engine: str | None, back: Callable[[Any], Any]) -> None:
        self.lf = lf
        self.ns = ns
        self.engine = engine  # None for polars/pandas/Arrow, else a key of ENGINES
        self.back = back

    def schema(self) -> dict[str, Any]:
        return dict(self.lf.collect_schema())

    def with_lf(self, lf: Any) -> _Frame:
        return _Frame(lf, self.ns, self.engine, self.back)


def _is_pandas(data: object) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(data, pd.DataFrame)


def _engine_of(data: object) -> str | None:
    """``"duckdb"`` / ``"pyspark"`` / ``"sqlframe"`` for the engines' frames, None otherwise.

    Decided from the class's module (a DuckDB relation by its class, from an already imported
    ``duckdb``), so that no engine is imported to find out.
    """
    root = type(data).__module__.split(".")[0]
    duckdb = sys.modules.get("duckdb")
    if duckdb is not None and isinstance(data, duckdb.DuckDBPyRelation):
        # by type, not by module name: the class lives in `duckdb.duckdb` (1.3), `_duckdb`
        # (1.4, 1.5) or `duckdb` (2.0)
        return "duckdb"
    if root in ("dask", "dask_expr", "dask_cudf"):
        raise InvalidTypeError(
            "a Dask DataFrame cannot compute these summaries: narwhals' Dask backend has no "
            "grouped quantile, no explode and no conditional aggregation. Read the same Parquet "
            "files with DuckDB (duckdb.read_parquet(...)) or Spark and pass that, or call "
            ".compute() and pass the pandas DataFrame (read with dtype_backend='pyarrow' so ids "
            "stay exact)"
        )
    module, name = type(data).__module__, type(data).__name__
    if module.startswith(("pyspark.sql", "sqlframe.")) and name.endswith("DataFrame"):
        return root  # not pandas-on-Spark (pyspark.pandas), which narwhals does not know
    return None


def _nw(engine: str) -> Any:
    require("narwhals", extra=_ENGINE_EXTRAS[engine], feature=f"a summary on {ENGINES[engine]}")
    import narwhals.stable.v2 as nw

    return nw


def _frame(data: Any) -> _Frame:
    """Any supported table -> a :class:`_Frame` that can give back the caller's kind."""
    engine = _engine_of(data)
    if engine is not None:
        nw = _nw(engine)
        return _Frame(nw.from_native(data), nw, engine, lambda out: out.to_native())
    lf, back = _as_lazy(data)
    return _Frame(lf, pl, None, back)


def _as_lazy(data: Any) -> tuple[pl.LazyFrame, Callable[[pl.LazyFrame], Any]]:
    """polars, pandas or Arrow table -> a LazyFrame, plus the function that returns its kind."""
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
    raise InvalidTypeError(
        "expected a polars DataFrame or LazyFrame, a pandas DataFrame, a pyarrow Table, a DuckDB "
        f"relation, a PySpark DataFrame or a sqlframe DataFrame, got {type(data).__name__}; "
        "convert it first, e.g. with pl.from_pandas(...)"
    )


def _to_pandas(frame: pl.DataFrame) -> Any:
    """polars -> pandas as :func:`tiktok_research.io.to_pandas` does: Arrow-backed, exact ids."""
    from .io import to_pandas

    return to_pandas(frame)


def _require(lf: Any, columns: Sequence[str], what: str) -> dict[str, Any]:
    schema = dict(lf.collect_schema())
    missing = [c for c in columns if c not in schema]
    if missing:
        raise InvalidRequestError(
            f"{what} needs the column(s) {missing}, which the table lacks; request those fields "
            f"when collecting (present: {list(schema)})"
        )
    return schema


def _quantile_name(q: float) -> str:
    if not 0.0 <= q <= 1.0:
        raise InvalidRequestError(f"quantiles must lie between 0 and 1, got {q}")
    if q == 0.5:
        return "median"
    return "p" + f"{q * 100:g}".replace(".", "_")


def _session_time_zone(frame: _Frame) -> str:
    """The engine session's time zone, asked now (narwhals caches Spark's for the session)."""
    native = frame.lf.to_native()
    if frame.engine == "duckdb":
        row = native.limit(0).aggregate("current_setting('TimeZone') AS tz, count(*) AS n")
        return str(row.fetchall()[0][0])
    return str(native.sparkSession.conf.get("spark.sql.session.timeZone"))


def _check_utc(frame: _Frame, what: str) -> None:
    """Refuse an engine session whose time zone would move UTC day/week/month boundaries."""
    if frame.engine is None:
        return
    dtype = frame.schema().get("create_time")
    if getattr(dtype, "time_zone", None) is None:
        return  # not a time-zone-aware timestamp: the session time zone does not enter
    zone = _session_time_zone(frame)
    if zone.lower() in _UTC_NAMES:
        return
    if frame.engine == "duckdb":
        fix = "con.execute(\"SET TimeZone = 'UTC'\") on the relation's connection"
    else:
        fix = 'spark.conf.set("spark.sql.session.timeZone", "UTC")'
    raise InvalidRequestError(
        f"{what} groups by UTC calendar periods, but the {ENGINES[frame.engine]} session time "
        f"zone is {zone!r}: timestamps would be cut at {zone} midnight and land in the wrong "
        f"day, week or month. Set the session to UTC first ({fix}) and keep it so until the "
        "result is collected."
    )


# --------------------------------------------------------------------------------------------
# Expression builders, one definition for polars and narwhals (``ns`` is either module)
# --------------------------------------------------------------------------------------------


def _chain(ns: Any, cases: Sequence[tuple[Any, Any]], otherwise: Any) -> Any:
    """``when(c1).then(v1).when(c2).then(v2)...otherwise(x)``."""
    expr: Any = None
    for condition, value in cases:
        expr = ns.when(condition).then(value) if expr is None else expr.when(condition).then(value)
    return expr.otherwise(otherwise)


def _rate(ns: Any, numerator: Any, views: Any) -> Any:
    return ns.when(views > 0).then(numerator.cast(ns.Float64) / views.cast(ns.Float64))


def _length_class(ns: Any, duration: Any) -> Any:
    cases = [
        (duration.is_between(*VIDEO_LENGTH_BOUNDS[name]), ns.lit(name)) for name in VIDEO_LENGTHS
    ]
    return _chain(ns, cases, ns.lit(None, dtype=ns.String))


def _length_rank(ns: Any, key: Any) -> Any:
    cases = [(key == name, ns.lit(i)) for i, name in enumerate(VIDEO_LENGTHS)]
    return _chain(ns, cases, ns.lit(len(VIDEO_LENGTHS)))


def _sum(ns: Any, col: Any) -> Any:
    """Sum as Int64 that is null, not 0, when every value is null."""
    return ns.when(col.count() > 0).then(col.sum()).cast(ns.Int64)


def _n_distinct(ns: Any, col: Any) -> Any:
    """Distinct non-null values (``n_unique`` counts null as a value)."""
    return (col.n_unique() - col.is_null().any().cast(ns.Int64)).cast(ns.Int64)


def _with_engagement(frame: _Frame) -> _Frame:
    schema = _require(frame.lf, COUNT_COLUMNS, "engagement()")
    ns = frame.ns
    views = ns.col("view_count")
    interactions = ns.col("like_count") + ns.col("comment_count") + ns.col("share_count")
    new = [
        interactions.alias("interactions"),
        _rate(ns, interactions, views).alias("engagement_rate"),
    ]
    new += [_rate(ns, ns.col(c), views).alias(r) for r, c in _RATES.items() if c in schema]
    if "video_duration" in schema:
        new.append(_length_class(ns, ns.col("video_duration")).alias("video_length_class"))
    return frame.with_lf(frame.lf.with_columns(new))


def _engagement_lazy(lf: pl.LazyFrame) -> pl.LazyFrame:
    """The polars query of :func:`engagement` (used by :mod:`tiktok_research.plots`)."""
    return cast(pl.LazyFrame, _with_engagement(_Frame(lf, pl, None, lambda x: x)).lf)


def _summary_aggs(ns: Any, quantiles: Sequence[float], with_creators: bool) -> list[Any]:
    has_rate = ~ns.col("engagement_rate").is_null()
    aggs: list[Any] = [ns.len().cast(ns.Int64).alias("videos")]
    if with_creators:
        aggs.append(_n_distinct(ns, ns.col("username")).alias("creators"))
    for c in COUNT_COLUMNS:
        col = ns.col(c)
        aggs.append(_sum(ns, col).alias(f"{c}_sum"))
        aggs += [
            col.quantile(q, interpolation="linear").alias(f"{c}_{_quantile_name(q)}")
            for q in quantiles
        ]
    rate = ns.col("engagement_rate")
    aggs += [
        rate.quantile(q, interpolation="linear").alias(f"engagement_rate_{_quantile_name(q)}")
        for q in quantiles
    ]
    pooled_views = ns.when(has_rate).then(ns.col("view_count")).sum()
    pooled_interactions = ns.when(has_rate).then(ns.col("interactions")).sum()
    aggs.append(
        ns.when(pooled_views > 0)
        .then(pooled_interactions.cast(ns.Float64) / pooled_views.cast(ns.Float64))
        .alias("engagement_rate_pooled")
    )
    return aggs


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
        videos: a videos table (polars eager or lazy, pandas, pyarrow, DuckDB, PySpark, sqlframe).

    Returns:
        The same kind of table with the metric columns added.

    Example:
        >>> import polars as pl
        >>> v = pl.DataFrame({"view_count": [100, 0], "like_count": [8, 1],
        ...                   "comment_count": [1, 0], "share_count": [1, 0]})
        >>> engagement(v)["engagement_rate"].to_list()
        [0.1, None]
    """
    frame = _frame(videos)
    return cast(T, frame.back(_with_engagement(frame).lf))


# --------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------


def _hashtags_exploded(lf: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (video, case-folded hashtag), each hashtag at most once per video (polars)."""
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


def _numbered(frame: _Frame) -> _Frame:
    """Engines: add a distinct number per row (``_VIDEO``), so hashtags can be unique per video.

    PySpark gets ``monotonically_increasing_id`` (no shuffle, no ordering); the others a row index
    ordered by the first column, which DuckDB computes on one machine without trouble. (narwhals'
    row index on Spark is a window over one partition: every row through one task.)
    """
    if frame.engine == "pyspark":
        from pyspark.sql import functions as F

        native = frame.lf.to_native().withColumn(_VIDEO, F.monotonically_increasing_id())
        return frame.with_lf(frame.ns.from_native(native))
    first = next(iter(frame.schema()))
    return frame.with_lf(frame.lf.with_row_index(_VIDEO, order_by=[first]))


def _tags(frame: _Frame, keep: Sequence[str]) -> _Frame:
    """One row per (video, case-folded hashtag): the hashtag in column ``hashtag``.

    ``keep`` are the other columns to carry along. On the engines, ``_VIDEO`` is kept too.
    """
    if frame.engine is None:
        lf = _hashtags_exploded(frame.lf.select(*keep, "hashtag_names"))
        return frame.with_lf(lf.select(*keep, "hashtag"))
    ns = frame.ns
    numbered = _numbered(frame.with_lf(frame.lf.select(*keep, "hashtag_names")))
    hashtag = ns.col("hashtag_names").str.strip_chars().str.to_lowercase().alias("hashtag")
    lf = (
        # videos without hashtags drop out: no null row for empty or null lists (on sqlframe that
        # would add a UNION to the query)
        numbered.lf.explode("hashtag_names", empty_as_null=False, keep_nulls=False)
        .with_columns(hashtag)
        .filter(~ns.col("hashtag").is_null() & (ns.col("hashtag") != ""))
        .select(_VIDEO, *keep, "hashtag")
        .unique([_VIDEO, "hashtag"])
    )
    return frame.with_lf(lf)


def _check_filled(frame: _Frame, column: str, what: str) -> None:
    """Refuse a column that is empty in every row of a non-empty table (a table collected with
    ``fields=`` that did not ask for it is cast to the declared schema: the column is there, all
    null). Checked on polars, pandas and Arrow tables (one column read); engines skip it."""
    if frame.engine is not None:
        return
    counts = frame.lf.select(pl.len().alias("rows"), pl.col(column).count().alias("filled"))
    rows, filled = counts.collect().row(0)
    if rows and not filled:
        raise InvalidRequestError(
            f"{what} needs the column {column!r}, which is empty in all {rows:,} rows: the table "
            f"was probably collected with fields= that did not ask for it. Collect again with "
            f"{column} among the fields, or group by a column the table has (by='region', "
            "'creator', 'hashtag', 'music', 'video_length')"
        )


def _week_start(ns: Any, time: Any) -> Any:
    """Monday of the ISO week of ``time`` (engines: narwhals' truncate knows no weeks)."""
    day = time.dt.truncate("1d")
    # days since Monday; sqlframe on DuckDB reports Sunday as 0 where polars says 7, hence % 7
    back = (time.dt.weekday() + 6) % 7
    cases = [(back == k, day.dt.offset_by(f"-{k}d") if k else day) for k in range(7)]
    return _chain(ns, cases, ns.lit(None, dtype=ns.Datetime("us")))


def _keyed(frame: _Frame, by: str) -> _Frame:
    if by not in GROUPINGS:
        raise InvalidRequestError(f"by must be one of {sorted(GROUPINGS)}, got {by!r}")
    key = GROUPINGS[by]
    ns, lf = frame.ns, frame.lf
    if by in _TRUNCATE:
        _require(lf, ["create_time"], f"summarize(by={by!r})")
        _check_utc(frame, f"summarize(by={by!r})")
        _check_filled(frame, "create_time", f"summarize(by={by!r})")
        time = ns.col("create_time")
        if frame.engine is None:
            start = time.dt.truncate(_TRUNCATE[by])
        elif by == "week":
            start = _week_start(ns, time)
        else:
            start = time.dt.truncate(_TRUNCATE[by])
        return frame.with_lf(lf.with_columns(start.dt.date().alias(key)))
    if by == "hashtag":
        schema = _require(lf, ["hashtag_names"], "summarize(by='hashtag')")
        keep = [c for c in schema if c not in ("hashtag_names", _VIDEO, "hashtag")]
        return _tags(frame, keep)
    _require(lf, [key], f"summarize(by={by!r})")
    return frame


def _sorted_summary(frame: _Frame, by: str) -> Any:
    ns, out, key = frame.ns, frame.lf, GROUPINGS.get(by, by)
    if by in _TRUNCATE:
        return out.sort(key, nulls_last=True)
    if by == "video_length":
        rank = "__tr_rank"
        return (
            out.with_columns(_length_rank(ns, ns.col(key)).alias(rank))
            .sort(rank, nulls_last=True)
            .drop(rank)
        )
    return out.sort(["videos", key], descending=[True, False], nulls_last=True)


def _summary(
    frame: _Frame, by: str, quantiles: Sequence[float], approximate: bool, *, ordered: bool = True
) -> _Frame:
    """The summary query; ``ordered=False`` leaves it unsorted for a caller that sorts it itself
    (sqlframe merges two consecutive sorts into one ORDER BY, the first one winning)."""
    if by not in GROUPINGS:
        raise InvalidRequestError(f"by must be one of {sorted(GROUPINGS)}, got {by!r}")
    key = GROUPINGS[by]
    schema = _require(frame.lf, [_SOURCE[by], *COUNT_COLUMNS], f"summarize(by={by!r})")
    with_creators = "username" in schema and by != "creator"
    # only the columns the summary reads: the engines then explode and shuffle less, and
    # sqlframe builds a smaller query (polars would prune them itself)
    needed = [*COUNT_COLUMNS, "username", _SOURCE[by]]
    narrow = frame.with_lf(frame.lf.select(*[c for c in dict.fromkeys(needed) if c in schema]))
    keyed = _keyed(_with_engagement(narrow), by)
    if keyed.engine in ("pyspark", "sqlframe") or (approximate and keyed.engine == "duckdb"):
        grouped = _native_summary(keyed, key, quantiles, with_creators, approximate)
    else:
        grouped = keyed.lf.group_by(key).agg(_summary_aggs(frame.ns, quantiles, with_creators))
    out = frame.with_lf(grouped)
    return out.with_lf(_sorted_summary(out, by)) if ordered else out


def _summarize_lazy(lf: pl.LazyFrame, by: str, quantiles: Sequence[float]) -> pl.LazyFrame:
    """The polars query of :func:`summarize` (used by :mod:`tiktok_research.plots`)."""
    frame = _Frame(lf, pl, None, lambda x: x)
    return cast(pl.LazyFrame, _summary(frame, by, quantiles, False).lf)


def summarize(
    videos: T,
    by: By = "day",
    *,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    approximate: bool = False,
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
        videos: a videos table (polars eager or lazy, pandas, pyarrow, a DuckDB relation, a
            PySpark or sqlframe DataFrame).
        by: the grouping: ``"day"``, ``"week"``, ``"month"``, ``"hashtag"``, ``"region"``,
            ``"creator"``, ``"video_length"`` or ``"music"``.
        quantiles: the quantiles to report (0.5 is named ``median``).
        approximate: on DuckDB, PySpark and sqlframe, approximate quantiles in bounded memory
            (``approx_quantile`` / ``percentile_approx``); polars' quantiles are always exact.

    Returns:
        The summary, as the caller's kind of table (lazy in, lazy out).

    Raises:
        ValueError: an unknown ``by``, a missing column, or (engines, time groupings) a session
            time zone other than UTC.

    Example:
        >>> import datetime as dt, polars as pl
        >>> v = pl.DataFrame({"create_time": [dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC)] * 2,
        ...     "username": ["a", "b"], "view_count": [100, 300], "like_count": [10, 3],
        ...     "comment_count": [0, 0], "share_count": [0, 0]})
        >>> s = summarize(v, by="day")
        >>> s.select("day", "videos", "view_count_sum", "view_count_median").rows()
        [(datetime.date(2024, 1, 1), 2, 400, 200.0)]
    """
    frame = _frame(videos)
    return cast(T, frame.back(_summary(frame, by, quantiles, approximate).lf))


def _top(summary: Any, n: int, by: str) -> Any:
    schema = dict(summary.collect_schema())
    column = by if by in schema else f"{by}_sum"
    if column not in schema:
        choices = [c for c in schema if c == "videos" or c.endswith(("_sum", "_median", "_pooled"))]
        raise InvalidRequestError(f"cannot rank by {by!r}; choose one of {choices}")
    key = next(iter(schema))
    return summary.sort([column, key], descending=[True, False], nulls_last=True).head(n)


def top_videos(videos: T, n: int = 10, by: str = "view_count") -> T:
    """The ``n`` videos with the highest ``by``, with engagement metrics and a ``url`` column.

    Args:
        videos: a videos table (polars eager or lazy, pandas, pyarrow, DuckDB, PySpark, sqlframe).
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
    frame = _with_engagement(_frame(videos))
    ns, lf = frame.ns, frame.lf
    schema = _require(lf, [by], "top_videos()")
    if {"username", "id"} <= set(schema):
        url = ns.concat_str(
            [
                ns.lit("https://www.tiktok.com/@"),
                ns.col("username"),
                ns.lit("/video/"),
                ns.col("id").cast(ns.String),
            ]
        )
        lf = lf.with_columns(url.alias("url"))
    keys = [by, "id"] if "id" in schema and by != "id" else [by]
    out = lf.sort(keys, descending=[True] + [False] * (len(keys) - 1), nulls_last=True).head(n)
    return cast(T, frame.back(out))


def top_creators(videos: T, n: int = 10, by: str = "view_count", *, approximate: bool = False) -> T:
    """The ``n`` creators with the highest ``by``: a ``summarize(by="creator")`` table, ranked.

    Args:
        videos: a videos table (polars eager or lazy, pandas, pyarrow, DuckDB, PySpark, sqlframe).
        n: how many creators.
        by: a column of the creator summary (``"videos"``, ``"view_count_median"``...) or a count
            name meaning its total (``"view_count"`` is ``view_count_sum``).
        approximate: approximate quantiles on the engines (see :func:`summarize`).

    Returns:
        The creator summary rows, highest first.

    Example:
        >>> import polars as pl
        >>> v = pl.DataFrame({"username": ["a", "b", "b"], "view_count": [5, 50, 7],
        ...     "like_count": [1, 1, 1], "comment_count": [0, 0, 0], "share_count": [0, 0, 0]})
        >>> top_creators(v, n=1)["username"].to_list()
        ['b']
    """
    frame = _frame(videos)
    summary = _summary(frame, "creator", DEFAULT_QUANTILES, approximate, ordered=False)
    return cast(T, frame.back(_top(summary.lf, n, by)))


def top_hashtags(videos: T, n: int = 10, by: str = "videos", *, approximate: bool = False) -> T:
    """The ``n`` most used hashtags (case-folded, once per video), as hashtag summary rows.

    Args:
        videos: a videos table (polars eager or lazy, pandas, pyarrow, DuckDB, PySpark, sqlframe).
        n: how many hashtags.
        by: ``"videos"`` (default), a summary column or a count name meaning its total.
        approximate: approximate quantiles on the engines (see :func:`summarize`).

    Returns:
        The hashtag summary rows, highest first.

    Example:
        >>> import polars as pl
        >>> v = pl.DataFrame({"hashtag_names": [["Cats", "cats"], ["cats ", "dogs"]],
        ...     "view_count": [5, 50], "like_count": [1, 1], "comment_count": [0, 0],
        ...     "share_count": [0, 0]})
        >>> top_hashtags(v, n=1).select("hashtag", "videos").rows()
        [('cats', 2)]
    """
    frame = _frame(videos)
    summary = _summary(frame, "hashtag", DEFAULT_QUANTILES, approximate, ordered=False)
    return cast(T, frame.back(_top(summary.lf, n, by)))


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
        videos: a videos table (polars eager or lazy, pandas, pyarrow, DuckDB, PySpark, sqlframe).
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
    frame = _frame(videos)
    schema = frame.schema()
    if column not in schema and set(COUNT_COLUMNS) <= set(schema):
        frame = _with_engagement(frame)
    _require(frame.lf, [column], "distribution()")
    ns = frame.ns
    x = ns.col(column).cast(ns.Float64)
    stats: list[tuple[str, float | None, Any]] = [
        ("count", None, x.count().cast(ns.Float64)),
        ("null_count", None, x.null_count().cast(ns.Float64)),
        ("zero_count", None, (x == 0).cast(ns.Int64).sum().cast(ns.Float64)),
        ("mean", None, x.mean()),
        ("min", 0.0, x.min()),
    ]
    stats += [
        (_quantile_name(q), q, x.quantile(q, interpolation="linear")) for q in sorted(quantiles)
    ]
    stats.append(("max", 1.0, x.max()))
    wide = frame.lf.select([expr.alias(name) for name, _, expr in stats])
    names = [name for name, _, _ in stats]
    if frame.engine == "duckdb":
        # narwhals' DuckDB unpivot runs on DuckDB's default connection and fails for a relation of
        # any other connection; three zipped unnests of the one-row relation do the same
        statistic = ", ".join(_sql_quote(n) for n in names)
        values = ", ".join(f"CAST({_sql_ident(n)} AS DOUBLE)" for n in names)
        long = wide.to_native().project(
            f"unnest([{statistic}]) AS statistic, unnest([{values}]) AS value"
        )
        wide = ns.from_native(long)
    else:
        wide = wide.unpivot(on=names, variable_name="statistic", value_name="value")
    cases = [(ns.col("statistic") == name, ns.lit(q)) for name, q, _ in stats if q is not None]
    out = wide.select(
        "statistic",
        _chain(ns, cases, ns.lit(None, dtype=ns.Float64)).cast(ns.Float64).alias("quantile"),
        ns.col("value").cast(ns.Float64),
    )
    if frame.engine is not None:
        # SQL engines do not promise the order of an unpivot: put the rows back in order
        order = "__tr_order"
        ranks = [(ns.col("statistic") == name, ns.lit(i)) for i, (name, _, _) in enumerate(stats)]
        out = (
            out.with_columns(_chain(ns, ranks, ns.lit(len(stats))).alias(order))
            .sort(order)
            .drop(order)
        )
    return cast(T, frame.back(out))


def hashtag_cooccurrence(videos: T, top: int | None = 20) -> T:
    """Pairs of hashtags used together on the same video, with counts.

    Hashtags are case-folded and counted once per video. Only the ``top`` most used hashtags take
    part (all of them when ``top`` is None; ties broken alphabetically), which bounds the cost on
    large tables and gives a square co-occurrence matrix.

    Columns: ``hashtag_a`` < ``hashtag_b`` (alphabetically), ``videos`` (videos with both),
    ``videos_a``, ``videos_b`` (videos with each) and ``jaccard`` (videos / videos with either).
    Sorted by ``videos`` (most first), then the pair. Pairs that never co-occur are absent.

    Args:
        videos: a videos table with ``hashtag_names`` (polars eager or lazy, pandas, pyarrow,
            DuckDB, PySpark, sqlframe).
        top: how many of the most used hashtags to consider, or None for all.

    Returns:
        The pairs table, as the caller's kind.

    Example:
        >>> import polars as pl
        >>> v = pl.DataFrame({"hashtag_names": [["a", "B"], ["b", "a"], ["c"]]})
        >>> hashtag_cooccurrence(v).select("hashtag_a", "hashtag_b", "videos").rows()
        [('a', 'b', 2)]
    """
    frame = _frame(videos)
    _require(frame.lf, ["hashtag_names"], "hashtag_cooccurrence()")
    ns = frame.ns
    if frame.engine is None:
        numbered = frame.with_lf(frame.lf.select("hashtag_names").with_row_index(_VIDEO))
        tags = _tags(numbered, [_VIDEO]).lf
    else:
        tags = _tags(frame.with_lf(frame.lf.select("hashtag_names")), []).lf
    counts = tags.group_by("hashtag").agg(ns.len().cast(ns.Int64).alias("uses"))
    if top is not None:
        counts = counts.sort(["uses", "hashtag"], descending=[True, False]).head(top)
        tags = tags.join(counts.select("hashtag"), on="hashtag", how="semi")
    right = tags.rename({"hashtag": "hashtag_b"})
    pairs = (
        tags.rename({"hashtag": "hashtag_a"})
        .join(right, on=_VIDEO, how="inner")
        .filter(ns.col("hashtag_a") < ns.col("hashtag_b"))
        .group_by("hashtag_a", "hashtag_b")
        .agg(ns.len().cast(ns.Int64).alias("videos"))
        .join(counts.rename({"hashtag": "hashtag_a", "uses": "videos_a"}), on="hashtag_a")
        .join(counts.rename({"hashtag": "hashtag_b", "uses": "videos_b"}), on="hashtag_b")
        .with_columns(
            (
                ns.col("videos").cast(ns.Float64)
                / (ns.col("videos_a") + ns.col("videos_b") - ns.col("videos")).cast(ns.Float64)
            ).alias("jaccard")
        )
        .sort(["videos", "hashtag_a", "hashtag_b"], descending=[True, False, False])
    )
    return cast(T, frame.back(pairs))


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
        comments: a comments table (polars eager or lazy, pandas, pyarrow, DuckDB, PySpark,
            sqlframe).

    Returns:
        The per-video table, as the caller's kind.

    Example:
        >>> import polars as pl
        >>> c = pl.DataFrame({"id": [1, 2, 3], "video_id": [9, 9, 9],
        ...     "parent_comment_id": [9, 9, 1]})
        >>> comment_activity(c).select("video_id", "top_level", "replies").rows()
        [(9, 2, 1)]
    """
    frame = _frame(comments)
    ns, lf = frame.ns, frame.lf
    schema = _require(lf, ["video_id"], "comment_activity()")
    parent = (
        ns.col("parent_comment_id") if "parent_comment_id" in schema else ns.lit(None, ns.Int64)
    )
    is_top = parent.is_null() | (parent == ns.col("video_id"))
    aggs: list[Any] = [ns.len().cast(ns.Int64).alias("comments")]
    if "id" in schema:
        aggs.append(_n_distinct(ns, ns.col("id")).alias("unique_comments"))
    aggs += [
        is_top.cast(ns.Int64).sum().cast(ns.Int64).alias("top_level"),
        (~is_top).cast(ns.Int64).sum().cast(ns.Int64).alias("replies"),
    ]
    for c in ("reply_count", "like_count"):
        if c in schema:
            aggs.append(_sum(ns, ns.col(c)).alias(f"{c}_sum"))
    if "like_count" in schema:
        aggs.append(ns.col("like_count").median().alias("like_count_median"))
    if "create_time" in schema:
        aggs += [
            ns.col("create_time").min().alias("first_comment"),
            ns.col("create_time").max().alias("last_comment"),
        ]
    out = (
        lf.group_by("video_id")
        .agg(aggs)
        .with_columns((ns.col("top_level") >= COMMENTS_CAP).alias("at_cap"))
        .sort(["comments", "video_id"], descending=[True, False], nulls_last=True)
    )
    return cast(T, frame.back(out))


# --------------------------------------------------------------------------------------------
# Approximate quantiles on the engines (narwhals has no approximate quantile)
# --------------------------------------------------------------------------------------------


def _quantile_columns(quantiles: Sequence[float]) -> list[tuple[str, str, float]]:
    """(output name, input column, q) of every quantile a summary reports."""
    columns = [*COUNT_COLUMNS, "engagement_rate"]
    return [(f"{c}_{_quantile_name(q)}", c, q) for c in columns for q in quantiles]


def _native_summary(
    keyed: _Frame, key: str, quantiles: Sequence[float], with_creators: bool, approximate: bool
) -> Any:
    """The summary aggregation written for the engine itself (same columns as the narwhals one).

    Spark and sqlframe always come here: narwhals asks Spark for one ``percentile`` per quantile,
    and each keeps its own copy of the group's values; one ``percentile(col, [q1, q2...])`` per
    column computes them all from one buffer (4x faster on 1,000,000 videos, and what let the
    hashtag summary fit Spark's default 1 GB heap). ``approximate`` swaps in
    ``percentile_approx``. DuckDB comes here only for ``approx_quantile``.
    """
    native = keyed.lf.to_native()
    if keyed.engine == "duckdb":
        cols = _sql_aggregates(quantiles, with_creators, approximate=True, key=key)
        out = native.aggregate(", ".join([_sql_ident(key), *cols]), _sql_ident(key))
        return keyed.ns.from_native(out)
    if keyed.engine == "pyspark":
        from pyspark.sql import functions as F
    else:  # sqlframe: the functions module of the frame's dialect
        import importlib

        dialect = type(native).__module__.split(".")[1]
        F = importlib.import_module(f"sqlframe.{dialect}.functions")
    has = F.col("engagement_rate").isNotNull()
    aggs = [F.count(F.lit(1)).cast("bigint").alias("videos")]
    if with_creators:
        # size(collect_set) rather than countDistinct: a distinct aggregate makes Spark group by
        # (key, username) first and feed every percentile buffer per creator (month summary of
        # 1,000,000 videos with percentile_approx: 135 s instead of 6 s)
        # (sqlframe's collect_set keeps null on DuckDB; there the distinct aggregate is cheap)
        creators = (
            F.size(F.collect_set("username"))
            if keyed.engine == "pyspark"
            else F.countDistinct("username")
        )
        aggs.append(creators.cast("bigint").alias("creators"))
    for c in COUNT_COLUMNS:
        aggs.append(F.sum(c).cast("bigint").alias(f"{c}_sum"))
    percentile = F.percentile_approx if approximate else F.percentile
    if quantiles:
        for c in [*COUNT_COLUMNS, "engagement_rate"]:
            values = F.col(c).cast("double")
            aggs.append(percentile(values, list(quantiles)).alias(f"__tr_q_{c}"))
    views = F.sum(F.when(has, F.col("view_count")))
    aggs.append(
        F.when(
            views > 0,
            F.sum(F.when(has, F.col("interactions"))).cast("double") / views.cast("double"),
        ).alias("engagement_rate_pooled")
    )
    grouped = native.groupBy(key).agg(*aggs)
    # element_at is 1-based everywhere (sqlframe passes [i] to DuckDB, whose lists start at 1)
    names = [key, "videos", *(["creators"] if with_creators else [])]
    select = [F.col(n) for n in names]
    for c in COUNT_COLUMNS:
        select.append(F.col(f"{c}_sum"))
        select += [
            F.element_at(f"__tr_q_{c}", i + 1).cast("double").alias(f"{c}_{_quantile_name(q)}")
            for i, q in enumerate(quantiles)
        ]
    select += [
        F.element_at("__tr_q_engagement_rate", i + 1).cast("double").alias(name)
        for i, (name, _, _) in enumerate(
            x for x in _quantile_columns(quantiles) if x[1] == "engagement_rate"
        )
    ]
    select.append(F.col("engagement_rate_pooled"))
    return keyed.ns.from_native(grouped.select(*select))


# --------------------------------------------------------------------------------------------
# The same summaries as SQL (DuckDB), for data beyond one machine's polars
# --------------------------------------------------------------------------------------------


def _sql_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_aggregates(
    quantiles: Sequence[float], with_creators: bool, *, approximate: bool, key: str
) -> list[str]:
    """The aggregate columns of a summary in DuckDB SQL (input: ``interactions`` and
    ``engagement_rate`` already computed)."""

    def quantile(col: str, q: float) -> str:
        if approximate:
            return f"CAST(approx_quantile({col}, {q!r}) AS DOUBLE)"
        return f"quantile_cont({col}, {q!r})"

    cols = ["CAST(count(*) AS BIGINT) AS videos"]
    if with_creators and key != "username":
        cols.append("CAST(count(DISTINCT username) AS BIGINT) AS creators")
    for c in COUNT_COLUMNS:
        cols.append(f"CAST(sum({c}) AS BIGINT) AS {c}_sum")
        cols += [f"{quantile(c, q)} AS {c}_{_quantile_name(q)}" for q in quantiles]
    cols += [
        f"{quantile('engagement_rate', q)} AS engagement_rate_{_quantile_name(q)}"
        for q in quantiles
    ]
    has = "engagement_rate IS NOT NULL"
    pooled_views = f"sum(view_count) FILTER (WHERE {has})"
    cols.append(
        f"CASE WHEN {pooled_views} > 0 THEN CAST(sum(interactions) FILTER (WHERE {has}) AS DOUBLE)"
        f" / CAST({pooled_views} AS DOUBLE) END AS engagement_rate_pooled"
    )
    return cols


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

    Example:
        >>> print(summary_sql("region", source="v").splitlines()[1])
          region_code,
    """
    if by not in GROUPINGS:
        raise InvalidRequestError(f"by must be one of {sorted(GROUPINGS)}, got {by!r}")
    key = GROUPINGS[by]
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
    cols = [key, *_sql_aggregates(quantiles, with_creators, approximate=approximate, key=key)]
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
        connection: a DuckDB connection (default: DuckDB's default in-memory connection, the
            one ``duckdb.sql`` uses, which stays open while the relation is read).
        quantiles: the quantiles to report.
        approximate: use bounded-memory approximate quantiles (see :func:`summary_sql`).

    Returns:
        A lazy DuckDB relation: ``.pl()`` gives polars, ``.df()`` pandas, ``.arrow()`` Arrow.

    Example:
        >>> import tiktok_research as tr
        >>> videos = tr.fetch_videos(tr.Q.hashtag_name.eq("climate"), "2024-01-01", "2024-03-31")
        >>> _ = tr.write_dataset(videos, "out/videos", table="videos")
        >>> by_month = summarize_sql("out/videos/**/*.parquet", by="month").pl()
        >>> by_month["videos"].sum() == videos.height
        True
    """
    require("duckdb", extra="duckdb", feature="summarize_sql")
    import duckdb

    # Not a connection made here: the relation does not keep its connection alive, so one that
    # only this function referenced was closed before the caller read the result ("Connection
    # has already been closed" on DuckDB 1.0 to 1.4).
    def run(query: str) -> duckdb.DuckDBPyRelation:
        rel = connection.sql(query) if connection is not None else duckdb.sql(query)
        assert rel is not None  # a SELECT always gives a relation
        return rel

    paths = [parquet] if isinstance(parquet, str) else list(parquet)
    listing = "[" + ", ".join(_sql_quote(str(p)) for p in paths) + "]"
    source = f"read_parquet({listing}, hive_partitioning = true, union_by_name = true)"
    columns = {row[0] for row in run(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    sql = summary_sql(
        by,
        source=source,
        quantiles=quantiles,
        with_creators="username" in columns,
        approximate=approximate,
    )
    return run(sql)
