"""Plots: labelled Axes with the right number of bars or points, and a no-data axis when empty."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.patches import Rectangle

from test_analysis_summaries import SCALAR_COLUMNS, make_comments, make_videos
from tiktok_research import analysis, plots


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def videos() -> pl.DataFrame:
    return make_videos(600)


def _bars(ax: Axes) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def _labelled(ax: Axes) -> None:
    assert ax.get_title()
    assert "(" in ax.get_xlabel() or "date" in ax.get_xlabel() or "UTC" in ax.get_xlabel()
    assert ax.get_ylabel()


def _texts(ax: Axes) -> str:
    return " ".join(t.get_text() for t in ax.texts)


# ---------------------------------------------------------------------------------------------


def test_engagement_over_time_draws_one_point_per_period_with_units(videos: pl.DataFrame) -> None:
    ax = plots.plot_engagement_over_time(videos, by="week")
    _labelled(ax)
    assert ax.get_xlabel() == "week starting (UTC)"
    assert "% of views" in ax.get_ylabel()
    weeks = analysis.summarize(videos, by="week")
    median_line = next(line for line in ax.get_lines() if line.get_label() == "median")
    ys = np.asarray(median_line.get_ydata(), dtype=float)
    assert np.count_nonzero(~np.isnan(ys)) == weeks.height
    np.testing.assert_allclose(ys, weeks["engagement_rate_median"].to_numpy())
    assert ax.yaxis.get_major_formatter()(0.05, 0) == "5%"


def test_engagement_over_time_leaves_gaps_for_periods_without_videos(videos: pl.DataFrame) -> None:
    two_days = videos.head(2).with_columns(
        pl.Series(
            "create_time",
            [dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 1, 4, tzinfo=dt.UTC)],
        )
    )
    ax = plots.plot_engagement_over_time(two_days, by="day")
    ys = np.asarray(ax.get_lines()[0].get_ydata(), dtype=float)
    assert len(ys) == 4 and np.isnan(ys[1:3]).all()


def test_engagement_over_time_accepts_a_summary_and_other_metrics(videos: pl.DataFrame) -> None:
    months = analysis.summarize(videos.lazy(), by="month")
    ax = plots.plot_engagement_over_time(months, metric="view_count")
    assert ax.get_xlabel() == "month (UTC)"
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    ax = plots.plot_engagement_over_time(videos.to_pandas(), by="month", metric="videos")
    assert [round(b.get_height()) for b in _bars(ax)] == analysis.summarize(videos, by="month")[
        "videos"
    ].to_list()
    assert ax.yaxis.get_major_formatter()(1200, 0) == "1,200"


def test_distribution_is_log_binned_and_notes_what_a_log_scale_hides(videos: pl.DataFrame) -> None:
    ax = plots.plot_distribution(videos, "view_count", bins_per_decade=2)
    _labelled(ax)
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "views (count, log scale)"
    positive = videos.filter(pl.col("view_count") > 0)["view_count"]
    bins = set(np.floor(np.log10(positive.to_numpy()) * 2).astype(int))
    bars = _bars(ax)
    assert len(bars) == len(bins)
    assert sum(b.get_height() for b in bars) == positive.len()
    zeros = (videos["view_count"] == 0).sum()
    assert f"{zeros:,} at 0" in _texts(
        ax
    ) and f"{videos['view_count'].null_count():,} missing" in _texts(ax)
    assert any(str(line.get_label()).startswith("median") for line in ax.get_lines())


def test_distribution_of_a_rate_uses_percent_ticks(videos: pl.DataFrame) -> None:
    ax = plots.plot_distribution(videos.lazy(), "engagement_rate")
    assert "% of views" in ax.get_xlabel()
    assert ax.xaxis.get_major_formatter()(0.1, 0) == "10%"


def test_top_hashtags_draws_n_bars_largest_on_top(videos: pl.DataFrame) -> None:
    ax = plots.plot_top_hashtags(videos, n=5)
    _labelled(ax)
    assert len(_bars(ax)) == 5
    labels = [t.get_text() for t in ax.get_yticklabels()]
    expected = analysis.top_hashtags(videos, n=5)
    assert labels == [f"#{h}" for h in expected["hashtag"]]
    assert [b.get_width() for b in _bars(ax)] == expected["videos"].cast(pl.Float64).to_list()
    assert ax.yaxis_inverted()
    ax2 = plots.plot_top_hashtags(expected, n=3, by="view_count")  # a summary as input
    assert len(_bars(ax2)) == 3 and ax2.get_xlabel() == "total views (count)"


def test_regions_fold_the_tail_into_other(videos: pl.DataFrame) -> None:
    ax = plots.plot_regions(videos, n=3)
    _labelled(ax)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    regions = videos["region_code"].n_unique()  # the null region counts as "unknown"
    assert len(_bars(ax)) == 4
    assert labels[-1] == f"other ({regions - 3} regions)"
    assert sum(b.get_width() for b in _bars(ax)) == videos.height
    ax = plots.plot_regions(analysis.summarize(videos, by="region"), n=20)
    assert "unknown" in [t.get_text() for t in ax.get_yticklabels()]


def test_views_vs_likes_plots_every_positive_pair_on_log_log_axes(videos: pl.DataFrame) -> None:
    ax = plots.plot_views_vs_likes(videos.to_arrow())
    _labelled(ax)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert (
        ax.get_xlabel() == "views (count, log scale)"
        and ax.get_ylabel() == "likes (count, log scale)"
    )
    shown = videos.filter((pl.col("view_count") > 0) & (pl.col("like_count") > 0)).height
    points = next(c for c in ax.collections if isinstance(c, PathCollection))
    assert len(points.get_offsets()) == shown
    assert f"{videos.height - shown:,} with 0 or missing" in " ".join(
        t.get_text() for t in ax.get_legend().get_texts()
    )


def test_views_vs_likes_bins_large_tables_instead_of_drawing_rows(videos: pl.DataFrame) -> None:
    ax = plots.plot_views_vs_likes(videos, max_points=50)
    assert not any(isinstance(c, PathCollection) for c in ax.collections)
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    shown = videos.filter((pl.col("view_count") > 0) & (pl.col("like_count") > 0)).height
    assert np.nansum(mesh.get_array()) == shown


def test_comment_activity_stacks_top_level_and_replies_per_video() -> None:
    comments = make_comments(videos=20)
    ax = plots.plot_comment_activity(comments, n=6)
    _labelled(ax)
    activity = analysis.comment_activity(comments).head(6)
    assert len(_bars(ax)) == 12  # two stacked bars per video
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [str(v) for v in activity["video_id"]]  # exact 19-digit ids
    totals = [float(t.get_text().replace(",", "")) for t in ax.texts]
    assert totals == activity["comments"].cast(pl.Float64).to_list()
    ax2 = plots.plot_comment_activity(analysis.comment_activity(comments.lazy()), n=3)
    assert len(_bars(ax2)) == 6


PLOTTERS: dict[str, Any] = {
    "over_time": lambda d, ax=None: plots.plot_engagement_over_time(d, ax=ax),
    "distribution": lambda d, ax=None: plots.plot_distribution(d, ax=ax),
    "hashtags": lambda d, ax=None: plots.plot_top_hashtags(d, ax=ax),
    "regions": lambda d, ax=None: plots.plot_regions(d, ax=ax),
    "views_likes": lambda d, ax=None: plots.plot_views_vs_likes(d, ax=ax),
    "comments": lambda d, ax=None: plots.plot_comment_activity(d, ax=ax),
}


@pytest.mark.parametrize("name", list(PLOTTERS))
def test_empty_tables_give_a_labelled_no_data_axis(name: str, tmp_path: Path) -> None:
    empty = make_comments().clear() if name == "comments" else make_videos(5).clear()
    ax = PLOTTERS[name](empty)
    assert isinstance(ax, Axes)
    assert "no data" in _texts(ax)
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    ax.figure.savefig(tmp_path / "empty.png")


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # the fixture's fullwidth tag
@pytest.mark.parametrize("name", list(PLOTTERS))
def test_plots_draw_on_the_given_axes_and_render(
    name: str, videos: pl.DataFrame, tmp_path: Path
) -> None:
    data = make_comments() if name == "comments" else videos.select(SCALAR_COLUMNS)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    assert PLOTTERS[name](data, ax=right) is right
    assert not left.has_data()
    fig.savefig(tmp_path / f"{name}.png")
    assert (tmp_path / f"{name}.png").stat().st_size > 5_000


def test_importing_the_package_does_not_import_matplotlib() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tiktok_research.plots, tiktok_research.analysis;"
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
