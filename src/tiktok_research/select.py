"""Pick ids and usernames from collected tables for the next request (comments, user info...).

The returned Series are what ``fetch_comments`` / ``fetch_user_info`` take directly, and
:func:`write_lines` writes them as plain text, one exact value per line.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from ._checks import check_frame, check_top, clean_usernames_expr
from .errors import InvalidRequestError

__all__ = ["select_usernames", "select_video_ids", "write_lines"]

_ACTIVITY = ("comment_count", "view_count", "like_count", "share_count")


def select_video_ids(
    videos: pl.DataFrame | pl.LazyFrame,
    *,
    min_comments: int | None = None,
    top: int | None = None,
    by: str | None = None,
    min_views: int | None = None,
    usernames: Iterable[str] | None = None,
    column: str | None = None,
) -> pl.Series:
    """Video ids worth a follow-up query, most relevant first.

    Args:
        videos: a videos table (or liked / pinned / reposted videos, or a comments table, whose
            ``video_id`` column is used).
        min_comments: keep videos with at least this many comments (``1``: only videos with
            comments, the usual filter before ``fetch_comments``).
        top: keep the first ``top`` ids after sorting by ``by`` (descending).
        by: column to rank by (default ``comment_count`` when the table has it, otherwise the
            number of rows per id; ties broken by id, descending).
        min_views: keep videos with at least this many views.
        usernames: keep only videos by these accounts.
        column: the column holding the video ids (default ``video_id`` when the table has it,
            otherwise ``id``).

    Returns:
        A unique ``Int64`` Series named ``video_id`` (exact ids, no nulls).

    Raises:
        InvalidRequestError: a column it needs is missing (the message lists the table's
            columns). It is also a ``ValueError``.

    Example:
        >>> df = pl.DataFrame({"id": [7, 8, 9], "comment_count": [0, 5, 2]})
        >>> select_video_ids(df, min_comments=1).to_list()
        [8, 9]
    """
    check_frame(videos, "videos")
    check_top(top)
    df = videos.lazy()
    names = df.collect_schema().names()
    have = ", ".join(names)
    col = column or ("video_id" if "video_id" in names else "id")
    needed = {col: "the video ids"}
    if by is not None:
        needed[by] = "to rank by"
    if min_comments is not None:
        needed["comment_count"] = "for min_comments"
    if min_views is not None:
        needed["view_count"] = "for min_views"
    if usernames is not None:
        needed["username"] = "for usernames"
    for name, why in needed.items():
        if name not in names:
            raise InvalidRequestError(f"no {name!r} column ({why}); the table has: {have}")
    df = df.filter(pl.col(col).is_not_null())
    if min_comments is not None:
        df = df.filter(pl.col("comment_count").fill_null(0) >= min_comments)
    if min_views is not None:
        df = df.filter(pl.col("view_count").fill_null(0) >= min_views)
    if usernames is not None:
        wanted = _cleaned(usernames)
        df = df.filter(clean_usernames_expr(pl.col("username")).is_in(wanted))
    rank = by or ("comment_count" if "comment_count" in names else None)
    ids = pl.col(col).cast(pl.Int64).alias("video_id")
    if rank is None:  # e.g. a comments table: the ids with most rows first
        ranked = df.group_by(ids).agg(pl.len().alias("_rank"))
    else:
        ranked = df.select(ids, pl.col(rank).alias("_rank"))
    ranked = ranked.sort(["_rank", "video_id"], descending=True, nulls_last=True)
    ranked = ranked.unique("video_id", keep="first", maintain_order=True)
    if top is not None:
        ranked = ranked.head(top)
    return ranked.select("video_id").collect().to_series()


def _cleaned(usernames: Iterable[str]) -> list[str]:
    """Usernames by the package's one rule (:func:`tiktok_research._checks.clean_usernames_expr`),
    those that leave nothing dropped."""
    frame = pl.Series("u", list(usernames), dtype=pl.String).to_frame()
    out: list[str] = (
        frame.select(clean_usernames_expr(pl.col("u"))).to_series().drop_nulls().to_list()
    )
    return out


def select_usernames(
    table: pl.DataFrame | pl.LazyFrame,
    *,
    top: int | None = None,
    column: str | None = None,
    exclude: Iterable[str] | None = None,
) -> pl.Series:
    """Unique, cleaned usernames from a videos, comments-with-authors, users or followers table.

    "Most active first": accounts are ranked by the number of rows they have, then by their summed
    activity (comments, views, likes, shares, or follower counts for a users table).

    Args:
        table: any table with a ``username`` column (or ``column``).
        top: keep only the first ``top`` accounts.
        column: the column holding usernames (default ``username``).
        exclude: usernames to leave out (e.g. those already queried).

    Returns:
        A unique ``String`` Series named ``username``.

    Example:
        >>> df = pl.DataFrame({"username": ["@b", "a", "b\\x00", None]})
        >>> select_usernames(df).to_list()
        ['b', 'a']
    """
    check_frame(table, "table")
    check_top(top)
    df = table.lazy()
    names = df.collect_schema().names()
    col = column or "username"
    if col not in names:
        raise InvalidRequestError(f"no {col!r} column; pass column= (columns: {', '.join(names)})")
    activity = [c for c in (*_ACTIVITY, "follower_count", "likes_count") if c in names]
    score = pl.sum_horizontal([pl.col(c).fill_null(0) for c in activity]) if activity else pl.lit(0)
    ranked = (
        df.select(clean_usernames_expr(pl.col(col)).alias("username"), score.alias("_s"))
        .filter(pl.col("username").is_not_null())
        .group_by("username")
        .agg(pl.len().alias("_n"), pl.col("_s").sum())
        .sort(["_n", "_s", "username"], descending=[True, True, False])
    )
    if exclude is not None:
        ranked = ranked.filter(~pl.col("username").is_in(_cleaned(exclude)))
    if top is not None:
        ranked = ranked.head(top)
    return ranked.select("username").collect().to_series()


def write_lines(values: pl.Series | Iterable[object], path: str | Path) -> Path:
    """Write one value per line (ids written exactly, as digits), UTF-8, trailing newline.

    Example:
        >>> import tempfile
        >>> p = write_lines([7320768158545159950], Path(tempfile.mkdtemp()) / "ids.txt")
        >>> p.read_text()
        '7320768158545159950\\n'
    """
    series = values if isinstance(values, pl.Series) else pl.Series(list(values))
    text = [str(v) for v in series.drop_nulls().cast(pl.String).to_list()]
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(f"{t}\n" for t in text), encoding="utf-8")
    return target
