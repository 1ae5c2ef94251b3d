"""Plots of engagement, for notebooks and reports (matplotlib, imported only when a plot is drawn).

Every function takes a table (polars eager or lazy, pandas, or pyarrow) or, where it says so, a
summary made by :mod:`tiktok_research.analysis`, plus ``ax=None``. It aggregates with polars first
(only the aggregate reaches matplotlib, so a LazyFrame over a large Parquet dataset is fine), draws
on ``ax`` or on a new figure, and returns the Axes. Axes are labelled with their units, counts use
thousands separators, and an empty table gives an axis that says "no data" instead of an error.

Example:
    >>> import tiktok_research as tr
    >>> from tiktok_research import plots
    >>> videos = tr.fetch_videos(tr.Q.hashtag_name.eq("climate"), "2024-01-01", "2024-03-31")
    >>> ax = plots.plot_engagement_over_time(videos, by="week")
    >>> ax.figure.savefig("engagement.png", dpi=150)
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

import polars as pl

from . import analysis
from ._checks import TableLike
from ._endpoints import COMMENTS_CAP
from ._optional import require
from .errors import InvalidRequestError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "plot_comment_activity",
    "plot_distribution",
    "plot_engagement_over_time",
    "plot_regions",
    "plot_top_hashtags",
    "plot_views_vs_likes",
]

#: Column -> (plain name, unit text) used in axis labels.
LABELS: dict[str, tuple[str, str]] = {
    "view_count": ("views", "count"),
    "like_count": ("likes", "count"),
    "comment_count": ("comments", "count"),
    "share_count": ("shares", "count"),
    "favorites_count": ("favorites", "count"),
    "interactions": ("interactions", "count"),
    "engagement_rate": ("engagement rate", "% of views"),
    "like_rate": ("like rate", "% of views"),
    "comment_rate": ("comment rate", "% of views"),
    "share_rate": ("share rate", "% of views"),
    "favorites_rate": ("favorites rate", "% of views"),
    "video_duration": ("duration", "seconds"),
    "reply_count": ("replies", "count"),
}
_RATE_COLUMNS = {c for c, (_, unit) in LABELS.items() if unit == "% of views"}
_PERIOD_LABEL = {"day": "date (UTC)", "week": "week starting (UTC)", "month": "month (UTC)"}
_INTERVAL = {"day": "1d", "week": "1w", "month": "1mo"}
_COLOR = "#3b6ea8"
_ACCENT = "#d9822b"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _axes(ax: Axes | None, size: tuple[float, float] = (8.0, 4.5)) -> Axes:
    if ax is not None:
        return ax
    require("matplotlib", extra="plots", feature="plotting")
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=size, layout="constrained")
    return new


def _lazy(data: TableLike) -> pl.LazyFrame:
    lf, _ = analysis._as_lazy(data)
    return lf


def _label(column: str) -> tuple[str, str]:
    return LABELS.get(column, (column.replace("_", " "), "value"))


def _thousands(value: float, _pos: int | None = None) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _compact(value: float, _pos: int | None = None) -> str:
    """Tick text for log axes: 1, 10, 100, 1,000, 10K, 1M, 1B (decades stay short)."""
    if value <= 0:
        return ""
    if value < 1:
        return f"{value:g}"
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e4, "K")):
        if value >= limit:
            scaled = value / (limit if suffix != "K" else 1e3)
            return f"{scaled:,.0f}{suffix}" if scaled >= 1 else _thousands(value)
    return _thousands(value)


def _percent(value: float, _pos: int | None = None) -> str:
    pct = round(value * 100, 9)
    if pct == 0:
        return "0%"
    if abs(pct) >= 1:
        return f"{pct:,.0f}%" if pct == round(pct) else f"{pct:,.1f}%"
    return f"{pct:.2g}%"


def _format_axis(ax: Axes, which: str, kind: str) -> None:
    from matplotlib.ticker import FuncFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    func = {"count": _thousands, "log": _compact, "percent": _percent}[kind]
    axis.set_major_formatter(FuncFormatter(func))
    if kind == "log":
        from matplotlib.ticker import LogLocator, NullFormatter

        lo, hi = axis.get_view_interval()
        if lo > 0 and hi / lo < 1000:  # under three decades: label 1-2-5 steps, not decades only
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_minor_formatter(NullFormatter())


def _finish(ax: Axes, title: str, xlabel: str, ylabel: str) -> Axes:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def _no_data(ax: Axes, title: str, xlabel: str, ylabel: str, why: str = "no data") -> Axes:
    ax.text(
        0.5, 0.5, why, transform=ax.transAxes, ha="center", va="center", fontsize=13, color="0.45"
    )
    ax.set_xticks([])
    ax.set_yticks([])
    return _finish(ax, title, xlabel, ylabel)


def _shown_excluded(ax: Axes, parts: list[str]) -> None:
    """A small note in the corner listing what a log scale cannot show."""
    parts = [p for p in parts if p]
    if parts:
        ax.text(
            0.99, 0.98, "not shown: " + ", ".join(parts), transform=ax.transAxes,
            ha="right", va="top", fontsize=8, color="0.35",
        )  # fmt: skip


def _barh(ax: Axes, labels: list[str], values: list[float], color: str = _COLOR) -> None:
    """Horizontal bars, largest on top, each with its value written at its end."""
    positions = list(range(len(labels)))
    ax.barh(positions, values, color=color)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    top = max(values) if values else 0
    for y, v in zip(positions, values, strict=True):
        ax.text(v + top * 0.01, y, _thousands(v), va="center", fontsize=8, color="0.25")
    ax.set_xlim(0, top * 1.12 if top > 0 else 1)
    _format_axis(ax, "x", "count")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)


def _bar_figsize(n: int) -> tuple[float, float]:
    return (8.0, max(3.0, 0.32 * n + 1.3))


# --------------------------------------------------------------------------------------------
# Engagement over time
# --------------------------------------------------------------------------------------------


def plot_engagement_over_time(
    data: TableLike,
    *,
    by: str = "day",
    metric: str = "engagement_rate",
    ax: Axes | None = None,
) -> Axes:
    """Engagement per day, week or month: median with the interquartile range as a band.

    Args:
        data: a videos table, or a summary from ``analysis.summarize(videos, by=...)`` by
            ``"day"``, ``"week"`` or ``"month"`` (its period is then used and ``by`` is ignored).
        by: ``"day"``, ``"week"`` or ``"month"`` (UTC periods).
        metric: ``"engagement_rate"`` (median, IQR band and pooled rate), a count such as
            ``"view_count"`` (median and IQR per video, log scale) or ``"videos"`` (per period).
        ax: the Axes to draw on; a new figure when None.

    Returns:
        The Axes. Periods without videos appear as gaps in the line.
    """
    lf = _lazy(data)
    schema = lf.collect_schema()
    period = next((p for p in _PERIOD_LABEL if p in schema), None)
    if period is not None and "videos" in schema:
        summary = lf.collect()
    else:
        if by not in _PERIOD_LABEL:
            raise InvalidRequestError(f"by must be 'day', 'week' or 'month', got {by!r}")
        period = by
        summary = analysis.summarize(lf, by=by).collect()  # type: ignore[arg-type]
    name, unit = _label(metric) if metric != "videos" else ("videos", "count")
    is_rate = metric in _RATE_COLUMNS
    ylabel = (
        f"{name} ({unit})"
        if metric == "videos" or is_rate
        else f"{name} per video ({unit}, log scale)"
    )
    title = (
        f"Videos per {period}"
        if metric == "videos"
        else f"{name.capitalize()} per {period}: median and interquartile range"
    )
    ax = _axes(ax, (9.0, 4.5))
    summary = summary.filter(pl.col(period).is_not_null())
    if summary.height == 0:
        return _no_data(ax, title, _PERIOD_LABEL[period], ylabel)

    # Reindex on every period so that missing periods break the line instead of bridging it.
    first, last = summary[period].min(), summary[period].max()
    assert isinstance(first, dt.date) and isinstance(last, dt.date)
    full = pl.DataFrame({period: pl.date_range(first, last, _INTERVAL[period], eager=True)})
    frame = full.join(summary, on=period, how="left").sort(period)
    x = frame[period].to_numpy()
    if metric == "videos":
        counts = frame["videos"].fill_null(0).to_numpy()
        ax.bar(x, counts, color=_COLOR, width=_bar_width(period), align="edge")
        _format_axis(ax, "y", "count")
    else:
        cols = {q: f"{metric}_{q}" for q in ("p25", "median", "p75")}
        missing = [c for c in cols.values() if c not in frame.columns]
        if missing:
            raise InvalidRequestError(f"cannot plot {metric!r}: the summary lacks {missing}")
        lo, mid, hi = (frame[cols[q]].cast(pl.Float64).to_numpy() for q in ("p25", "median", "p75"))
        marker = "o" if frame.height <= 60 else None
        ax.fill_between(
            x, lo, hi, color=_COLOR, alpha=0.2, linewidth=0, label="25th-75th percentile"
        )
        ax.plot(x, mid, color=_COLOR, marker=marker, markersize=3, label="median")
        if metric == "engagement_rate" and "engagement_rate_pooled" in frame.columns:
            pooled = frame["engagement_rate_pooled"].to_numpy()
            ax.plot(
                x, pooled, color=_ACCENT, linestyle="--", linewidth=1, label="pooled (sum / sum)"
            )
        if is_rate:
            ax.set_ylim(bottom=0)
            _format_axis(ax, "y", "percent")
        else:
            ax.set_yscale("log")
            _format_axis(ax, "y", "log")
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    _date_axis(ax)
    ax.grid(alpha=0.3)
    return _finish(ax, title, _PERIOD_LABEL[period], ylabel)


def _bar_width(period: str) -> float:
    return {"day": 0.8, "week": 5.5, "month": 24.0}[period]


def _date_axis(ax: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


# --------------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------------


def plot_distribution(
    data: TableLike,
    column: str = "view_count",
    *,
    bins_per_decade: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Histogram of a heavy-tailed column on a log scale (log-width bins), with the median marked.

    Zeros and missing values cannot sit on a log axis; they are counted in a note instead.

    Args:
        data: a videos table (rates such as ``engagement_rate`` are computed when asked for).
        column: the column, e.g. ``"view_count"``, ``"like_count"``, ``"engagement_rate"``.
        bins_per_decade: bins per factor of ten; by default about 30 bins over the data's range.
        ax: the Axes to draw on; a new figure when None.

    Returns:
        The Axes; one bar per non-empty bin.
    """
    lf = _lazy(data)
    schema = lf.collect_schema()
    if column not in schema and set(analysis.COUNT_COLUMNS) <= set(schema):
        lf = analysis._engagement_lazy(lf)
    analysis._require(lf, [column], "plot_distribution()")
    name, unit = _label(column)
    is_rate = column in _RATE_COLUMNS
    xlabel = f"{name} ({unit}, log scale)"
    title = f"Distribution of {name} per {'comment' if column == 'reply_count' else 'video'}"
    ax = _axes(ax)
    x = pl.col(column).cast(pl.Float64)
    positive = x.filter(x > 0)
    stats = lf.select(
        x.is_null().sum().alias("nulls"),
        (x <= 0).sum().alias("nonpositive"),
        positive.median().alias("median"),
        positive.min().alias("lo"),
        positive.max().alias("hi"),
    ).collect()
    if stats["median"][0] is None:
        return _no_data(ax, title, xlabel, "videos (count)")
    if bins_per_decade is None:
        decades = max(math.log10(stats["hi"][0] / stats["lo"][0]), 0.5)
        bins_per_decade = min(max(round(30 / decades), 2), 20)
    bins = (
        lf.select(x.alias("v"))
        .filter(pl.col("v") > 0)
        .group_by((pl.col("v").log10() * bins_per_decade).floor().cast(pl.Int64).alias("bin"))
        .agg(pl.len().alias("n"))
        .sort("bin")
        .collect()
    )
    b = bins["bin"].to_numpy()
    left = 10.0 ** (b / bins_per_decade)
    right = 10.0 ** ((b + 1) / bins_per_decade)
    ax.bar(
        left,
        bins["n"].to_numpy(),
        width=right - left,
        align="edge",
        color=_COLOR,
        edgecolor="white",
    )
    ax.set_xscale("log")
    median = stats["median"][0]
    shown = _percent(median) if is_rate else _thousands(round(median))
    ax.axvline(median, color=_ACCENT, linestyle="--", linewidth=1.2, label=f"median {shown}")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    _format_axis(ax, "x", "percent" if is_rate else "log")
    _format_axis(ax, "y", "count")
    ax.set_ylim(0, float(bins["n"].max()) * 1.15)  # type: ignore[arg-type]
    zero = "0" if not is_rate else "0%"
    _shown_excluded(
        ax,
        [
            f"{stats['nonpositive'][0]:,} at {zero}" if stats["nonpositive"][0] else "",
            f"{stats['nulls'][0]:,} missing" if stats["nulls"][0] else "",
        ],
    )
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return _finish(ax, title, xlabel, "videos (count)")


# --------------------------------------------------------------------------------------------
# Bars: hashtags, regions, comments
# --------------------------------------------------------------------------------------------


def plot_top_hashtags(
    data: TableLike, n: int = 20, *, by: str = "videos", ax: Axes | None = None
) -> Axes:
    """The most used hashtags (case-folded, counted once per video) as horizontal bars.

    Args:
        data: a videos table, or a hashtag summary (``analysis.summarize(by="hashtag")`` or
            ``analysis.top_hashtags``).
        n: how many hashtags.
        by: ``"videos"`` or another summary column to rank and draw, e.g. ``"view_count_sum"``.
        ax: the Axes to draw on; a new figure when None.

    Returns:
        The Axes, one bar per hashtag.
    """
    lf = _lazy(data)
    schema = lf.collect_schema()
    summary = (
        lf
        if "hashtag" in schema and "videos" in schema
        else analysis._summarize_lazy(lf, "hashtag", analysis.DEFAULT_QUANTILES)
    )
    top = analysis._top(summary, n, by).collect()
    column = by if by in top.columns else f"{by}_sum"
    if column == "videos":
        xlabel, what = "videos using the hashtag (count)", "videos"
    elif column.endswith("_sum"):
        name, unit = _label(column.removesuffix("_sum"))
        xlabel, what = f"total {name} ({unit})", f"total {name}"
    else:
        what = column.replace("_", " ")
        xlabel = f"{what} (value)"
    ax = _axes(ax, _bar_figsize(max(top.height, 5)))
    if top.height == 0:
        return _no_data(ax, f"Top hashtags by {what}", xlabel, "hashtag")
    title = f"Top {top.height} hashtags by {what} (case-folded)"
    _barh(ax, [f"#{h}" for h in top["hashtag"].to_list()], top[column].cast(pl.Float64).to_list())
    return _finish(ax, title, xlabel, "hashtag")


def plot_regions(data: TableLike, n: int = 15, *, ax: Axes | None = None) -> Axes:
    """Videos per region code (the creator's registered region), largest first.

    Regions beyond the first ``n`` are added up in one "other" bar; videos without a region code
    show as "unknown".

    Args:
        data: a videos table, or a region summary (``analysis.summarize(videos, by="region")``).
        n: how many regions get their own bar.
        ax: the Axes to draw on; a new figure when None.

    Returns:
        The Axes, one bar per region (plus "other" when regions were folded).
    """
    lf = _lazy(data)
    schema = lf.collect_schema()
    if "region_code" in schema and "videos" in schema:
        counts = lf.select("region_code", "videos")
    else:
        analysis._require(lf, ["region_code"], "plot_regions()")
        counts = lf.group_by("region_code").agg(pl.len().cast(pl.Int64).alias("videos"))
    counts_df = (
        counts.with_columns(pl.col("region_code").fill_null("unknown"))
        .sort(["videos", "region_code"], descending=[True, False])
        .collect()
    )
    xlabel, title = "videos (count)", "Videos by region (creator's registered region)"
    ax = _axes(ax, _bar_figsize(min(counts_df.height, n + 1) if counts_df.height else 5))
    if counts_df.height == 0:
        return _no_data(ax, title, xlabel, "region code")
    head, rest = counts_df.head(n), counts_df.slice(n)
    labels, values = head["region_code"].to_list(), head["videos"].to_list()
    if rest.height:
        labels.append(f"other ({rest.height} regions)")
        values.append(int(rest["videos"].sum()))
    _barh(ax, labels, [float(v) for v in values])
    return _finish(ax, title, xlabel, "region code")


def plot_comment_activity(data: TableLike, n: int = 15, *, ax: Axes | None = None) -> Axes:
    """Comments collected per video (top-level and replies stacked), for the top ``n`` videos.

    Args:
        data: a comments table, or ``analysis.comment_activity(comments)``.
        n: how many videos (those with the most comments).
        ax: the Axes to draw on; a new figure when None.

    Returns:
        The Axes: one bar per video and kind (top-level, replies). Videos whose top-level comments
        reached the API's 1,000 cap are marked.
    """
    lf = _lazy(data)
    schema = lf.collect_schema()
    activity = (
        lf if {"top_level", "replies"} <= set(schema) else _lazy(analysis.comment_activity(lf))
    )
    total = activity.select(pl.len()).collect().item()
    top = (
        activity.sort(["comments", "video_id"], descending=[True, False], nulls_last=True)
        .head(n)
        .collect()
    )
    xlabel = "comments collected (count)"
    ax = _axes(ax, _bar_figsize(max(top.height, 5)))
    title = f"Comments per video (top {top.height} of {total:,} videos)"
    if top.height == 0:
        return _no_data(ax, "Comments per video", xlabel, "video id")
    labels = [
        str(v) + (" (capped)" if top_level >= COMMENTS_CAP else "")
        for v, top_level in zip(top["video_id"].to_list(), top["top_level"].to_list(), strict=True)
    ]
    positions = list(range(top.height))
    first = top["top_level"].cast(pl.Float64).to_list()
    second = top["replies"].cast(pl.Float64).to_list()
    ax.barh(positions, first, color=_COLOR, label="top-level comments")
    ax.barh(positions, second, left=first, color=_ACCENT, label="replies")
    ax.set_yticks(positions, labels, fontsize=8, family="monospace")
    ax.invert_yaxis()
    totals = [a + b for a, b in zip(first, second, strict=True)]
    biggest = max(totals)
    for y, t in zip(positions, totals, strict=True):
        ax.text(t + biggest * 0.01, y, _thousands(t), va="center", fontsize=8, color="0.25")
    ax.set_xlim(0, biggest * 1.12 if biggest > 0 else 1)
    _format_axis(ax, "x", "count")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return _finish(ax, title, xlabel, "video id")


# --------------------------------------------------------------------------------------------
# Views against likes
# --------------------------------------------------------------------------------------------


def plot_views_vs_likes(
    data: TableLike,
    *,
    max_points: int = 20_000,
    bins_per_decade: int = 8,
    ax: Axes | None = None,
) -> Axes:
    """Likes against views on log-log axes, with reference lines at 1% and 10% of views.

    Up to ``max_points`` videos are drawn as points; above that the plane is binned in polars
    (``bins_per_decade`` per factor of ten) and drawn as a density with a colour bar, so a table of
    millions of rows never reaches matplotlib row by row. Videos with zero or missing views or
    likes cannot sit on log axes; they are counted in a note.

    Args:
        data: a videos table with ``view_count`` and ``like_count``.
        max_points: the most videos drawn as individual points.
        bins_per_decade: bin resolution of the density view.
        ax: the Axes to draw on; a new figure when None.

    Returns:
        The Axes (its first collection holds the points, or the density mesh).
    """
    lf = _lazy(data)
    analysis._require(lf, ["view_count", "like_count"], "plot_views_vs_likes()")
    views, likes = pl.col("view_count"), pl.col("like_count")
    positive = (views > 0) & (likes > 0)
    shown_views = views.filter(positive.fill_null(False)).cast(pl.Float64)
    counts = lf.select(
        pl.len().alias("rows"),
        positive.fill_null(False).sum().alias("shown"),
        shown_views.min().alias("lo"),
        shown_views.max().alias("hi"),
    ).collect()
    rows, shown = int(counts["rows"][0]), int(counts["shown"][0])
    xlabel, ylabel = "views (count, log scale)", "likes (count, log scale)"
    ax = _axes(ax, (7.0, 5.5))
    title = f"Likes against views ({shown:,} videos)"
    if shown == 0:
        return _no_data(ax, "Likes against views", xlabel, ylabel)
    pairs = lf.filter(positive.fill_null(False)).select(
        views.cast(pl.Float64).alias("x"), likes.cast(pl.Float64).alias("y")
    )
    if shown <= max_points:
        points = pairs.collect()
        ax.scatter(points["x"].to_numpy(), points["y"].to_numpy(), s=9, alpha=0.45, color=_COLOR,
                   edgecolors="none", label="video")  # fmt: skip
    else:
        _density(ax, pairs, bins_per_decade)
    lo_x, hi_x = float(counts["lo"][0]), float(counts["hi"][0])
    ax.set_xscale("log")
    ax.set_yscale("log")
    span = [max(lo_x, 1.0), max(hi_x, 10.0)]
    for share, style in ((0.1, "--"), (0.01, ":")):
        ax.plot(span, [v * share for v in span], color="0.35", linestyle=style, linewidth=1,
                label=f"likes = {share:.0%} of views")  # fmt: skip
    ax.set_xlim(left=span[0] / 1.5, right=span[1] * 1.5)
    ax.set_ylim(bottom=0.7)
    _format_axis(ax, "x", "log")
    _format_axis(ax, "y", "log")
    if rows > shown:  # a legend line: the upper left is empty, as likes rarely exceed views
        ax.plot([], [], " ", label=f"not shown: {rows - shown:,} with 0 or missing views/likes")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(alpha=0.25, which="major")
    return _finish(ax, title, xlabel, ylabel)


def _density(ax: Axes, pairs: pl.LazyFrame, bins_per_decade: int) -> None:
    import numpy as np
    from matplotlib.colors import LogNorm

    binned = (
        pairs.group_by(
            (pl.col("x").log10() * bins_per_decade).floor().cast(pl.Int64).alias("bx"),
            (pl.col("y").log10() * bins_per_decade).floor().cast(pl.Int64).alias("by"),
        )
        .agg(pl.len().alias("n"))
        .collect()
    )
    bx, by = binned["bx"].to_numpy(), binned["by"].to_numpy()
    x0, y0 = int(bx.min()), int(by.min())
    grid = np.full((int(by.max()) - y0 + 1, int(bx.max()) - x0 + 1), np.nan)
    grid[by - y0, bx - x0] = binned["n"].to_numpy()
    xs = 10.0 ** (np.arange(x0, int(bx.max()) + 2) / bins_per_decade)
    ys = 10.0 ** (np.arange(y0, int(by.max()) + 2) / bins_per_decade)
    mesh = ax.pcolormesh(xs, ys, grid, norm=LogNorm(vmin=1, vmax=max(2.0, float(np.nanmax(grid)))),
                         cmap="viridis")  # fmt: skip
    bar = ax.figure.colorbar(mesh, ax=ax, pad=0.01)
    bar.set_label("videos per bin (count, log scale)")
    from matplotlib.ticker import FuncFormatter

    bar.ax.yaxis.set_major_formatter(FuncFormatter(_compact))
