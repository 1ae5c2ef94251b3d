"""``fetch_*``: one function per endpoint that returns a typed table.

Each call is planned (:mod:`tiktok_research.plan`: everything is validated before any request),
collected (:mod:`tiktok_research.collect`: raw archive, resume, concurrency, progress) and read
back from the archive into a :class:`~tiktok_research.collect.FetchResult`: a polars DataFrame with
the endpoint's declared schema that also carries ``.failures`` and ``.report``.

The client is the one passed as ``client=``, else the session's default
(:func:`tiktok_research.use`, or ``TIKTOK_RESEARCH_SANDBOX=1``), else one built from the
environment (``TIKTOK_CLIENT_KEY``, ``TIKTOK_CLIENT_SECRET``, ``TIKTOK_RESEARCH_BASE_URL``).

Example:
    >>> import tiktok_research as tr
    >>> client = tr.Client.sandbox()
    >>> videos = tr.fetch_videos(tr.Q.hashtag_name.eq("cats"), "20240101", "20240110",
    ...                          client=client, progress=False)
    >>> videos.schema == tr.schemas.VIDEOS
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from . import client as client_module
from ._archive import collection_dir, completed, output_owed, owe_output, round_spec
from ._checks import ItemsLike, check_folder, plural
from .client import Client, check_client
from .collect import (
    POLL_FIRST,
    POLL_MAX,
    CollectionReport,
    FetchResult,
    requests_to_send,
    run,
)
from .errors import InvalidRequestError
from .ids import not_video_ids
from .plan import (
    DEFAULT_ID_BATCH,
    Plan,
    plan_compliance,
    plan_items,
    plan_video_ids,
    plan_videos,
    quota_checked_by_run,
    refresh_quota,
)
from .query import QueryLike

__all__ = [
    "check_compliance",
    "collect_videos",
    "fetch_ad_details",
    "fetch_ad_report",
    "fetch_ads",
    "fetch_advertisers",
    "fetch_comments",
    "fetch_commercial_content",
    "fetch_followers",
    "fetch_following",
    "fetch_liked_videos",
    "fetch_pinned_videos",
    "fetch_playlists",
    "fetch_products",
    "fetch_reposted_videos",
    "fetch_reviews",
    "fetch_shops",
    "fetch_user_info",
    "fetch_videos",
    "fetch_videos_by_id",
]


def _planning_client(client: Any) -> Client | None:
    """The client to plan with: the one given, else the session default if one exists."""
    return check_client(client) or client_module.current_default()


def _run(
    plan: Plan,
    client: Client | None,
    *,
    archive: str | Path | None,
    resume: bool,
    progress: bool | None,
    max_workers: int,
    retry_failed: bool = False,
    dataset: str | Path | None = None,
    materialize: bool = True,
    poll: tuple[float, float] = (POLL_FIRST, POLL_MAX),
    retrieved_at: bool = False,
) -> FetchResult:
    c = client if client is not None else client_module.default_client()
    if client is None:
        with quota_checked_by_run():  # the run warns, for the requests it will really send
            refresh_quota(plan, c)
    return run(
        plan,
        c,
        archive=archive,
        resume=resume,
        progress=progress,
        max_workers=max_workers,
        retry_failed=retry_failed,
        dataset=dataset,
        materialize=materialize,
        poll=poll,
        retrieved_at=retrieved_at,
    )


def _check_common(archive: Any, resume: Any, max_workers: Any) -> Path | None:
    """Check the options every collection takes; return the archive folder (``~`` expanded)."""
    folder = check_folder(archive, "archive")
    if not isinstance(resume, bool):
        raise InvalidRequestError(f"resume must be True or False, got {resume!r}")
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise InvalidRequestError(f"max_workers must be a whole number >= 1, got {max_workers!r}")
    return folder


def fetch_videos(
    query: QueryLike,
    start_date: date | datetime | str,
    end_date: date | datetime | str,
    *,
    fields: Sequence[str] | str | None = None,
    max_total: int | None = None,
    is_random: bool = False,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 4,
    dataset: str | Path | None = None,
    materialize: bool = True,
) -> FetchResult:
    """Collect the videos matching a query between two days (UTC, both inclusive).

    The range may be of any length: it is split into windows of at most 31 days that run
    concurrently under the client's rate limiter (one after another, newest first, with
    ``max_total``). Every page is archived (``archive=DIR``) before it is parsed; calling again
    with the same arguments and archive continues an interrupted run without fetching any page
    twice.

    Args:
        query: A ``Q`` expression, a :class:`~tiktok_research.Query`, a dict or JSON text.
        start_date: First day, as a date, datetime, ``"YYYYMMDD"`` or ``"YYYY-MM-DD"``.
        end_date: Last day (inclusive); a day in the future is clipped to today.
        fields: Video fields to ask for (default: all).
        max_total: Keep exactly this many videos, the newest; no request is spent past them.
        is_random: Ask the service for random matches (one request per window).
        client: A :class:`~tiktok_research.Client` (default: the session's, see
            :func:`tiktok_research.use`).
        archive: Folder of the raw archive; needed to resume in a later session.
        resume: Continue an earlier run of the same call found in ``archive``.
        progress: Progress bars (None: on a terminal or in a notebook only).
        max_workers: Windows collected at the same time.
        dataset: Also write a hive-partitioned Parquet dataset (by creation month) here.
        materialize: With ``dataset``, False writes each window to the dataset as soon as it is
            complete and keeps nothing in memory (see :func:`collect_videos`).

    Returns:
        The videos table (:data:`tiktok_research.schemas.VIDEOS`), newest id first, with
        ``.report`` and ``.failures``.

    Example:
        >>> import tiktok_research as tr
        >>> v = tr.fetch_videos(tr.Q.region_code.eq("FR"), "20240301", "20240302",
        ...                     client=tr.Client.sandbox(), progress=False)
        >>> v.report.complete
        True
    """
    c = _planning_client(client)
    archive = _check_common(archive, resume, max_workers)
    dataset = check_folder(dataset, "dataset")
    if max_total is not None and dataset is not None and not materialize:
        raise InvalidRequestError(
            "max_total keeps the newest videos of the whole range, which a dataset written "
            "window by window (materialize=False) cannot do; drop one of them"
        )
    with quota_checked_by_run():
        plan = plan_videos(
            query, start_date, end_date, fields=fields, max_total=max_total,
            is_random=is_random, client=c,
        )  # fmt: skip
    if dataset is not None:  # a dataset holds one query: another one is refused before sending
        from .io import check_dataset

        check_dataset(dataset, table="videos", query=plan.query)
    return _run(
        plan,
        c,
        archive=archive,
        resume=resume,
        progress=progress,
        max_workers=max_workers,
        dataset=dataset,
        materialize=materialize,
    )


def collect_videos(
    query: QueryLike,
    start_date: date | datetime | str,
    end_date: date | datetime | str,
    dataset: str | Path,
    *,
    archive: str | Path,
    fields: Sequence[str] | str | None = None,
    client: Client | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 4,
) -> CollectionReport:
    """Collect videos straight into a Parquet dataset, for collections larger than memory.

    Each date window is written to ``dataset`` (hive-partitioned by ``create_month``) as soon as
    its last page arrives, so memory holds one window's rows at most (it also tunes the process's
    allocators to give freed memory back: see :func:`tiktok_research.collect.bound_memory`).
    Read the result lazily with :func:`tiktok_research.io.read_dataset`. Resuming works as for
    :func:`fetch_videos`; a window written twice replaces its own files, so rows are never
    doubled.

    Args:
        query: As for :func:`fetch_videos`.
        start_date: As for :func:`fetch_videos`.
        end_date: As for :func:`fetch_videos`.
        dataset: Folder of the Parquet dataset.
        archive: Folder of the raw archive (required: it is what the dataset is built from).
        fields: As for :func:`fetch_videos`.
        client: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: As for :func:`fetch_videos`.

    Returns:
        The :class:`~tiktok_research.collect.CollectionReport` (``rows`` counts the dataset's rows
        of this collection).
    """
    from .collect import bound_memory

    if archive is None:
        raise InvalidRequestError("collect_videos needs archive=DIR: the dataset is built from it")
    if dataset is None:  # (before: the run was paid for and its rows written nowhere)
        raise InvalidRequestError("collect_videos needs a dataset folder, e.g. 'data/videos'")
    bound_memory()
    result = fetch_videos(
        query,
        start_date,
        end_date,
        fields=fields,
        client=client,
        archive=archive,
        resume=resume,
        progress=progress,
        max_workers=max_workers,
        dataset=dataset,
        materialize=False,
    )
    return result.report


def _fan_plan(
    kind: str,
    items: ItemsLike,
    *,
    func: str,
    fields: Sequence[str] | str | None,
    max_total: int | None,
    client: Client | None,
    archive: str | Path | None,
    resume: bool,
    max_workers: int,
    retry_failed: bool,
    skip_empty: bool = True,
) -> tuple[Plan, Client | None, Path | None]:
    """A fan-out's checks and plan: ``(plan, planning client, archive folder)``."""
    c = _planning_client(client)
    folder = _check_common(archive, resume, max_workers)
    if not isinstance(retry_failed, bool):
        raise InvalidRequestError(f"retry_failed must be True or False, got {retry_failed!r}")
    with quota_checked_by_run():
        plan = plan_items(
            kind, items, fields=fields, max_total=max_total, client=c, func=func,
            skip_empty=skip_empty,
        )  # fmt: skip
    return plan, c, folder


def _fan_out(
    kind: str,
    items: ItemsLike,
    *,
    func: str,
    fields: Sequence[str] | str | None,
    max_total: int | None,
    client: Client | None,
    archive: str | Path | None,
    resume: bool,
    progress: bool | None,
    max_workers: int,
    retry_failed: bool,
    skip_empty: bool = True,
) -> FetchResult:
    plan, c, folder = _fan_plan(
        kind, items, func=func, fields=fields, max_total=max_total, client=client,
        archive=archive, resume=resume, max_workers=max_workers, retry_failed=retry_failed,
        skip_empty=skip_empty,
    )  # fmt: skip
    return _run(
        plan,
        c,
        archive=folder,
        resume=resume,
        progress=progress,
        max_workers=max_workers,
        retry_failed=retry_failed,
    )


def fetch_user_info(
    usernames: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
) -> FetchResult:
    """Profile information of accounts, one row each (``/v2/research/user/info/``).

    Args:
        usernames: Handles, ``@handles`` or profile addresses: a list, a Series, or a table with
            a ``username`` column (pandas or polars).
        fields: User fields (default: all).
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Accounts asked at the same time.
        retry_failed: Ask again for accounts that failed for good in an earlier run.

    Returns:
        The users table (:data:`tiktok_research.schemas.USERS`), in the order given. Accounts that
        are not found, private or restricted are in ``.failures`` and never stop the batch.

    Example:
        >>> import tiktok_research as tr
        >>> users = tr.fetch_user_info(["@Some.One"], client=tr.Client.sandbox())
        >>> users.failures["item"].to_list()  # cleaned to "some.one", not in the sandbox
        ['some.one']
    """
    return _fan_out(
        "users", usernames, func="fetch_user_info", fields=fields, max_total=None, client=client,
        archive=archive, resume=resume, progress=progress, max_workers=max_workers,
        retry_failed=retry_failed,
    )  # fmt: skip


def fetch_liked_videos(
    usernames: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    max_total: int | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
) -> FetchResult:
    """The videos each account liked; most accounts keep this list private.

    Args:
        usernames: As for :func:`fetch_user_info`.
        fields: Video fields (default: all).
        max_total: At most this many videos per account.
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Accounts asked at the same time.
        retry_failed: As for :func:`fetch_user_info`.

    Returns:
        The liked_videos table, ``source_username`` naming the account.
    """
    return _fan_out(
        "liked_videos", usernames, func="fetch_liked_videos", fields=fields, max_total=max_total,
        client=client, archive=archive, resume=resume, progress=progress,
        max_workers=max_workers, retry_failed=retry_failed,
    )  # fmt: skip


def fetch_pinned_videos(
    usernames: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    max_total: int | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
) -> FetchResult:
    """The videos each account pinned to its profile.

    Args:
        usernames: As for :func:`fetch_user_info`.
        fields: Video fields (default: all).
        max_total: At most this many videos per account.
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Accounts asked at the same time.
        retry_failed: As for :func:`fetch_user_info`.

    Returns:
        The pinned_videos table, ``source_username`` naming the account.
    """
    return _fan_out(
        "pinned_videos", usernames, func="fetch_pinned_videos", fields=fields,
        max_total=max_total, client=client, archive=archive, resume=resume, progress=progress,
        max_workers=max_workers, retry_failed=retry_failed,
    )  # fmt: skip


def fetch_reposted_videos(
    usernames: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    max_total: int | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
) -> FetchResult:
    """The videos each account reposted (when that list is public).

    Args:
        usernames: As for :func:`fetch_user_info`.
        fields: Video fields (default: all).
        max_total: At most this many videos per account.
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Accounts asked at the same time.
        retry_failed: As for :func:`fetch_user_info`.

    Returns:
        The reposted_videos table, ``source_username`` naming the account.
    """
    return _fan_out(
        "reposted_videos", usernames, func="fetch_reposted_videos", fields=fields,
        max_total=max_total, client=client, archive=archive, resume=resume, progress=progress,
        max_workers=max_workers, retry_failed=retry_failed,
    )  # fmt: skip


def fetch_followers(
    usernames: ItemsLike,
    *,
    max_total: int | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
) -> FetchResult:
    """The followers of each account (the service returns at most about 5,000).

    Args:
        usernames: As for :func:`fetch_user_info`.
        max_total: At most this many followers per account.
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Accounts asked at the same time.
        retry_failed: As for :func:`fetch_user_info`.

    Returns:
        The followers table: ``source_username`` (the account), ``username``, ``display_name``.
    """
    return _fan_out(
        "followers", usernames, func="fetch_followers", fields=None, max_total=max_total,
        client=client, archive=archive, resume=resume, progress=progress,
        max_workers=max_workers, retry_failed=retry_failed,
    )  # fmt: skip


def fetch_following(
    usernames: ItemsLike,
    *,
    max_total: int | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
) -> FetchResult:
    """The accounts each account follows (when that list is public).

    Args:
        usernames: As for :func:`fetch_user_info`.
        max_total: At most this many accounts per account.
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Accounts asked at the same time.
        retry_failed: As for :func:`fetch_user_info`.

    Returns:
        The following table: ``source_username`` (the account), ``username``, ``display_name``.
    """
    return _fan_out(
        "following", usernames, func="fetch_following", fields=None, max_total=max_total,
        client=client, archive=archive, resume=resume, progress=progress,
        max_workers=max_workers, retry_failed=retry_failed,
    )  # fmt: skip


def fetch_playlists(
    playlist_ids: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
) -> FetchResult:
    """Playlist information (name, video ids, size), one row per playlist.

    Args:
        playlist_ids: Ids as ints or digit strings, a Series, or a table with a ``playlist_id``
            column (e.g. the videos table).
        fields: Playlist fields (default: all).
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Playlists asked at the same time.
        retry_failed: As for :func:`fetch_user_info`.

    Returns:
        The playlists table.
    """
    return _fan_out(
        "playlists", playlist_ids, func="fetch_playlists", fields=fields, max_total=None,
        client=client, archive=archive, resume=resume, progress=progress,
        max_workers=max_workers, retry_failed=retry_failed,
    )  # fmt: skip


def fetch_shops(
    shop_names: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
) -> FetchResult:
    """TikTok Shop shops matching each name (EU only).

    Args:
        shop_names: Names, a Series, or a table with a ``shop_name`` column.
        fields: Shop fields (default: all).
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Names asked at the same time.
        retry_failed: As for :func:`fetch_user_info`.

    Returns:
        The shops table.
    """
    return _fan_out(
        "shops", shop_names, func="fetch_shops", fields=fields, max_total=None, client=client,
        archive=archive, resume=resume, progress=progress, max_workers=max_workers,
        retry_failed=retry_failed,
    )  # fmt: skip


def fetch_products(
    shop_ids: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    max_total: int | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
) -> FetchResult:
    """TikTok Shop products of each shop (EU only).

    Args:
        shop_ids: Ids, a Series, or a table with a ``shop_id`` column (e.g. the shops table).
        fields: Product fields (default: all).
        max_total: At most this many products per shop.
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Shops asked at the same time.
        retry_failed: As for :func:`fetch_user_info`.

    Returns:
        The products table, ``shop_id`` naming the shop.
    """
    return _fan_out(
        "products", shop_ids, func="fetch_products", fields=fields, max_total=max_total,
        client=client, archive=archive, resume=resume, progress=progress,
        max_workers=max_workers, retry_failed=retry_failed,
    )  # fmt: skip


def fetch_reviews(
    product_ids: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    max_total: int | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
) -> FetchResult:
    """TikTok Shop reviews of each product (EU only).

    Args:
        product_ids: Ids, a Series, or a table with a ``product_id`` column.
        fields: Review fields (default: all).
        max_total: At most this many reviews per product.
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Products asked at the same time.
        retry_failed: As for :func:`fetch_user_info`.

    Returns:
        The reviews table, ``product_id`` naming the product.
    """
    return _fan_out(
        "reviews", product_ids, func="fetch_reviews", fields=fields, max_total=max_total,
        client=client, archive=archive, resume=resume, progress=progress,
        max_workers=max_workers, retry_failed=retry_failed,
    )  # fmt: skip


def fetch_comments(
    video_ids: ItemsLike,
    *,
    replies: bool = False,
    fields: Sequence[str] | str | None = None,
    max_total: int | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
    skip_empty: bool = True,
    confirm: Callable[[Plan], bool] | None = None,
) -> FetchResult:
    """Comments of videos (the service returns at most the top 1,000 per video).

    Args:
        video_ids: Video ids as ints or digit strings, a Series, or a table with a ``video_id``
            or ``id`` column (e.g. the result of :func:`fetch_videos`, whose ``comment_count``
            then makes the cost estimate exact).
        replies: Also collect the replies of every comment that has some (by ``comment_id``).
            Each such comment costs one request or more: before the first request of that
            phase its cost is known (the comments' ``reply_count``); a :class:`QuotaWarning`
            says so when it passes the quota left today or the client's ``max_requests``, which
            stops the run cleanly where it is reached.
        fields: Comment fields (default: all).
        max_total: At most this many comments per video (and replies per comment).
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Videos asked at the same time.
        retry_failed: As for :func:`fetch_user_info`.
        skip_empty: Given a table with ``comment_count``, leave out the videos whose count is 0
            (a note says how many; each would cost a request for an empty page). False asks for
            every video.
        confirm: Called with the plan of the replies phase before its first request (its
            ``min_requests`` is the least it costs); returning False skips the phase (the
            command line asks there, on a terminal, when the phase needs more than the quota
            left).

    Returns:
        The comments table (top-level comments have ``parent_comment_id == video_id``; replies
        follow the top-level comments).
    """
    if not isinstance(replies, bool):
        raise InvalidRequestError(f"replies must be True or False, got {replies!r}")
    common: dict[str, Any] = {
        "fields": fields,
        "max_total": max_total,
        "client": client,
        "archive": archive,
        "resume": resume,
        "max_workers": max_workers,
        "retry_failed": retry_failed,
        "skip_empty": skip_empty,
    }
    top = _fan_out("comments", video_ids, func="fetch_comments", progress=progress, **common)
    if not replies or top.height == 0:
        return top
    parents = top.filter(pl.col("reply_count").fill_null(0) > 0)
    if parents.height == 0:
        return top
    plan, c, folder = _fan_plan(
        "replies", parents.select("id", "reply_count"), func="fetch_comments", **common
    )
    # what this run will send: a rerun whose archive holds the replies sends nothing, and is
    # neither asked nor warned about
    need = requests_to_send(plan, folder, resume=resume, retry_failed=retry_failed)
    cost = (
        f"replies: {parents.height:,} {plural(parents.height, 'comment has', 'comments have')} "
        f"replies: at least {need:,} request(s)"
        if need
        else None
    )
    asked = dataclasses.replace(plan, min_requests=need)  # what the question is about
    if cost is not None and confirm is not None and not confirm(asked):
        top.report.warnings.append(f"{cost}; not collected (declined)")
        return top
    more = _run(plan, c, archive=folder, resume=resume, progress=progress,
                max_workers=max_workers, retry_failed=retry_failed)  # fmt: skip
    table = pl.concat([top, more], how="vertical").unique(
        subset=["id"], keep="first", maintain_order=True
    )
    report = CollectionReport.combine([top.report, more.report], rows=table.height)
    if cost is not None:
        report.warnings.insert(0, cost)
    return FetchResult.wrap(table, report, pl.concat([top.failures, more.failures]))


def fetch_videos_by_id(
    ids: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    batch_size: int = DEFAULT_ID_BATCH,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 4,
) -> FetchResult:
    """Look videos up by id (hydrate a shared id list) with as few requests as the ids allow.

    A video query by id needs a date window of at most 30 days that holds the video's creation
    day; guessing it is why users find that ``video_id`` queries "often return no results"
    (api-notes §4). An id carries its creation time (``id >> 32``, api-notes §8), so the right
    window is computed for every id: ids of one month share one window, and each window is asked in
    batches of ``batch_size`` ids (``video_id IN [...]``), one request per batch.

    Args:
        ids: Video ids: a list, a Series, or a table (polars, pandas, Arrow) with an ``id`` or
            ``video_id`` column.
        fields: Video fields (default: all).
        batch_size: Ids per request, 1 to 100. The real limit on ``IN`` values is undocumented;
            100 (one page's worth) is the conservative default.
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Batches asked at the same time.

    Returns:
        The videos found (:data:`tiktok_research.schemas.VIDEOS`), newest first. Ids that were
        not found (deleted, private, or not video ids) are in ``.report.not_found``.

    Example:
        >>> import tiktok_research as tr
        >>> v = tr.fetch_videos_by_id([7320768196569599275])
        >>> v.report.not_found  # a real id: the sandbox does not hold it
        [7320768196569599275]
    """
    return videos_by_id(ids, fields=fields, batch_size=batch_size, client=client,
                        archive=archive, resume=resume, progress=progress,
                        max_workers=max_workers)  # fmt: skip


def videos_by_id(
    ids: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    batch_size: int = DEFAULT_ID_BATCH,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 4,
    part_of: str | None = None,
    retrieved_at: bool = False,
) -> FetchResult:
    """:func:`fetch_videos_by_id`, as one part of a larger collection.

    ``part_of`` names that collection (a round of :func:`tiktok_research.refresh_videos`): the
    look-up is then a collection of its own in the archive, continued only by the same round.
    ``retrieved_at`` adds the column of that name (when each video's answer arrived).
    """
    c = _planning_client(client)
    archive = _check_common(archive, resume, max_workers)
    with quota_checked_by_run():
        plan = plan_video_ids(ids, fields=fields, batch_size=batch_size, client=c)
    if part_of is not None:
        plan.spec["part_of"] = part_of
    result = _run(plan, c, archive=archive, resume=resume, progress=progress,
                  max_workers=max_workers, retrieved_at=retrieved_at)  # fmt: skip
    found = set(result.get_column("id").to_list()) if result.height else set()
    # ids of batches not asked yet (an incomplete run) are not known to be missing
    waiting = {int(v) for t in plan.tasks if t.key in result.report.pending
               for v in t.params["query"]["and"][0]["field_values"]}  # fmt: skip
    result.report.not_found = [i for i in plan.ids if i not in found and i not in waiting]
    if missing := len(result.report.not_found):
        result.report.warnings.append(
            f"{missing:,} of the {len(plan.ids):,} {plural(len(plan.ids), 'id', 'ids')} "
            f"{plural(missing, 'was', 'were')} not found (deleted, private, not yet indexed, or "
            "not video ids): see report.not_found"
        )
        odd = not_video_ids(result.report.not_found)
        if odd:
            shown = "; ".join(f"{i}: {why}" for i, why in list(odd.items())[:5])
            more = f"; and {len(odd) - 5} more" if len(odd) > 5 else ""
            result.report.warnings.append(
                f"{len(odd):,} of the ids not found "
                f"{plural(len(odd), 'is not a video id by its', 'are not video ids by their')} "
                f"bits (the published layout, tr.decode_id): {shown}{more}"
            )
    return result


def check_compliance(
    ids: ItemsLike,
    category: str = "video",
    *,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    retry_failed: bool = False,
    poll: tuple[float, float] = (10.0, 300.0),
) -> FetchResult:
    """Which videos (or comments) are still valid: the Research API's batch compliance check.

    The terms of the Research API ask researchers to keep their data current and to drop content
    that was deleted or made private. The ids are uploaded in tasks of at most 10,000
    (``validation_task/create``), each task's status is checked until it is ``Completed``
    (``validation_task_status/get``; waits of ``poll[0]`` seconds, doubling up to ``poll[1]``: each
    check is a request), and the list of still-valid ids is downloaded
    (``validation_task/download``). Every answer is archived; a run that stops continues with the
    same task ids, nothing uploaded twice.

    Args:
        ids: Video or comment ids: a list, a Series, or a table with an ``id`` column.
        category: ``"video"`` or ``"comment"``.
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        retry_failed: Upload again the ids of tasks the service reported ``Failed``.
        poll: First and longest wait between status checks, in seconds.

    Returns:
        :data:`tiktok_research.schemas.COMPLIANCE`: ``id`` and ``valid`` for every id given, in
        order (``valid`` is null for the ids of a task that did not finish or that failed).

    Example:
        >>> import tiktok_research as tr
        >>> ok = tr.check_compliance([7320768196569599275])
        >>> ok.filter(~ok["valid"])["id"].to_list()  # gone (here: never in the sandbox)
        [7320768196569599275]
    """
    return compliance_round(ids, category, client=client, archive=archive, resume=resume,
                            progress=progress, retry_failed=retry_failed, poll=poll)  # fmt: skip


def compliance_round(
    ids: ItemsLike,
    category: str = "video",
    *,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    retry_failed: bool = False,
    poll: tuple[float, float] = (10.0, 300.0),
    finished: Callable[[Path], bool] | None = None,
    part_of: str | None = None,
    owes_output: bool = False,
) -> FetchResult:
    """:func:`check_compliance`, with the rule that says when an earlier check is finished.

    A check is a snapshot of the service at one moment, so a finished check in the archive is
    never continued: the same check asked again is a new *round* (a collection folder of its
    own). A check that did not finish (a crash, a quota stop) is continued, with its task ids.
    ``resume=False`` always starts a new round.

    Args:
        finished: Whether the round in a collection folder is finished (default: a run
            completed it and returned its table; see :func:`tiktok_research._archive.completed`).
            :func:`tiktok_research.refresh_videos` counts a round finished only when its look-up
            is done too.
        part_of: Names the larger collection the check is a step of (``"refresh"``): its rounds
            are then its own, never those of a plain check of the same ids.
        owes_output: The caller writes the table to a file once this returns (the
            ``compliance`` command): the round is recorded as owed to it before its first
            request (:func:`tiktok_research._archive.owe_output`), and a round still owed is
            not finished, so a caller killed before its write finishes that round from the
            archive, with no request. The caller records the write with
            :func:`tiktok_research._archive.output_written`.
    """
    c = _planning_client(client)
    archive = _check_common(archive, resume, 1)
    if (
        not isinstance(poll, tuple)
        or len(poll) != 2
        or not all(isinstance(p, (int, float)) and p >= 0 for p in poll)
    ):
        raise InvalidRequestError(
            f"poll must be (first wait, longest wait) in seconds, got {poll!r}"
        )
    with quota_checked_by_run():
        plan = plan_compliance(ids, category, client=c)
    if part_of is not None:
        plan.spec["part_of"] = part_of
    if archive is not None:
        done = finished or completed([t.key for t in plan.tasks])
        plan.spec = round_spec(
            archive, plan.kind, plan.spec, resume=resume,
            finished=(lambda f: done(f) and not output_owed(f)) if owes_output else done,
        )  # fmt: skip
        if owes_output:
            owe_output(collection_dir(archive, plan.kind, plan.spec))
    # one task at a time: a stop (quota, budget) then leaves the later tasks not uploaded
    return _run(plan, c, archive=archive, resume=resume, progress=progress, max_workers=1,
                retry_failed=retry_failed, poll=(float(poll[0]), float(poll[1])))  # fmt: skip


# ---------------------------------------------------------- the Commercial Content API (api-notes
# §12)
# TikTok's ad library for researchers: its own scope (research.adlib.basic) and no documented
# quota; the same archive, resume, lock, retries, budgets, progress and report as every other
# collection. Plans and their checks: tiktok_research._adlib_plan / _adlib_checks.


def _adlib_run(
    plan: Plan,
    client: Client | None,
    *,
    archive: str | Path | None,
    resume: bool,
    progress: bool | None,
    max_workers: int,
    retry_failed: bool = False,
) -> FetchResult:
    if not isinstance(retry_failed, bool):
        raise InvalidRequestError(f"retry_failed must be True or False, got {retry_failed!r}")
    return _run(
        plan,
        client,
        archive=archive,
        resume=resume,
        progress=progress,
        max_workers=max_workers,
        retry_failed=retry_failed,
    )


def fetch_ads(
    start_date: date | datetime | str,
    end_date: date | datetime | str,
    *,
    countries: str | Sequence[str] | None = None,
    search_term: str | None = None,
    search_type: str | None = None,
    advertiser_ids: ItemsLike | None = None,
    reach: tuple[str | None, str | None] | None = None,
    fields: Sequence[str] | str | None = None,
    max_count: int | None = None,
    max_total: int | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 4,
) -> FetchResult:
    """Ads of TikTok's ad library first shown between two days (``/v2/research/adlib/ad/query/``).

    The library holds ads shown in the EU/EEA (and, per TikTok's 2024 country list, the UK and
    Switzerland) from 2022-10-01 on. Ads are reported to stay searchable for about a year after
    they were last shown, so older ads may be missing and may drop out between two runs. A range
    longer than a year is asked as year-long searches; several countries are asked one at a
    time. Pages follow the opaque ``search_id``; every answer is archived before it is parsed, and
    calling again with the same arguments and archive continues without paying for a page twice.

    Args:
        start_date: First day (on or after 2022-10-01), as a date or ``"YYYYMMDD"``.
        end_date: Last day (inclusive); a day in the future is clipped to today.
        countries: ``"ALL"`` (default), a country code such as ``"FR"``, or a list of codes.
        search_term: Text to search for (at most 50 characters).
        search_type: ``"exact_phrase"`` (default) or ``"fuzzy_phrase"``.
        advertiser_ids: Advertiser ``business_id`` values (not together with ``search_term``).
        reach: ``(min, max)`` of unique users seen, e.g. ``("10K", "1M")``.
        fields: Dotted fields such as ``"ad.id,advertiser.business_name"`` (default: all).
        max_count: Ads per request (default 50; the service may send fewer per page).
        max_total: Keep at most this many ads (each search stops once it holds that many).
        client: As for :func:`fetch_videos` (its ``max_requests`` budget applies).
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Searches run at the same time.

    Returns:
        The ads table (:data:`tiktok_research.schemas.ADS`), one row per ad.

    Raises:
        InvalidRequestError: a mistake in the filters, before any request.

    Example:
        >>> import warnings
        >>> import tiktok_research as tr
        >>> warnings.simplefilter("ignore", tr.AdLibraryWarning)  # the note on ads over a year old
        >>> ads = tr.fetch_ads("2024-01-01", "2024-03-31", countries="FR",
        ...                    client=tr.Client.sandbox(), progress=False)
        >>> ads.schema == tr.schemas.ADS, ads.report.complete
        (True, True)
    """
    from ._adlib_plan import plan_ads

    c = _planning_client(client)
    folder = _check_common(archive, resume, max_workers)
    plan = plan_ads(
        start_date, end_date, countries=countries, search_term=search_term,
        search_type=search_type, advertiser_ids=advertiser_ids, reach=reach, fields=fields,
        max_count=max_count, max_total=max_total, client=c,
    )  # fmt: skip
    return _adlib_run(
        plan, c, archive=folder, resume=resume, progress=progress, max_workers=max_workers
    )


def fetch_ad_details(
    ad_ids: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
) -> FetchResult:
    """Details of ads, one request and one row each (``/v2/research/adlib/ad/detail/``).

    Adds to the ad query's columns the reach by country, age and gender, the targeting, the
    rejection (if any), the advertiser's account (``profile_url``, and its handle as
    ``advertiser_username``) and the ad's title, link and call to action.

    Args:
        ad_ids: Ad ids: a list, a Series, or a table with an ``ad_id`` column (an ``ads`` table).
        fields: Dotted fields (default: all of the detail endpoint).
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Ads asked at the same time.
        retry_failed: Ask again for ads that failed for good in an earlier run.

    Returns:
        The ad details table (:data:`tiktok_research.schemas.AD_DETAILS`), in the order given;
        ads the library no longer has are in ``.failures``.

    Example:
        >>> import warnings
        >>> import tiktok_research as tr
        >>> warnings.simplefilter("ignore", tr.AdLibraryWarning)  # the note on ads over a year old
        >>> client = tr.Client.sandbox()
        >>> ads = tr.fetch_ads("2024-06-01", "2024-06-30", countries="DE", client=client,
        ...                    progress=False)
        >>> details = tr.fetch_ad_details(ads.head(2), client=client, progress=False)
        >>> details["ad_id"].to_list() == ads["ad_id"].head(2).to_list()
        True
    """
    from ._adlib_plan import plan_ad_details

    c = _planning_client(client)
    folder = _check_common(archive, resume, max_workers)
    plan = plan_ad_details(ad_ids, fields=fields, client=c)
    return _adlib_run(plan, c, archive=folder, resume=resume, progress=progress,
                      max_workers=max_workers, retry_failed=retry_failed)  # fmt: skip


def fetch_ad_report(
    start_date: date | datetime | str,
    end_date: date | datetime | str,
    *,
    countries: str | Sequence[str] | None = None,
    advertiser_ids: ItemsLike | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 4,
) -> FetchResult:
    """How many ads were published per day and country (``/v2/research/adlib/ad/report/``).

    Args:
        start_date: First day (on or after 2022-10-01).
        end_date: Last day (inclusive).
        countries: ``"ALL"`` (default: every country in one request), a code or a list.
        advertiser_ids: Only the ads of these advertisers (``business_id``).
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Requests at the same time.

    Returns:
        The report table (:data:`tiktok_research.schemas.AD_REPORTS`): country, date, count.

    Example:
        >>> import warnings
        >>> import tiktok_research as tr
        >>> warnings.simplefilter("ignore", tr.AdLibraryWarning)  # the note on ads over a year old
        >>> report = tr.fetch_ad_report("2024-06-01", "2024-06-30", countries="FR",
        ...                             client=tr.Client.sandbox(), progress=False)
        >>> report.columns
        ['country', 'date', 'count']
    """
    from ._adlib_plan import plan_ad_report

    c = _planning_client(client)
    folder = _check_common(archive, resume, max_workers)
    plan = plan_ad_report(
        start_date, end_date, countries=countries, advertiser_ids=advertiser_ids, client=c
    )
    return _adlib_run(
        plan, c, archive=folder, resume=resume, progress=progress, max_workers=max_workers
    )


def fetch_advertisers(
    search_terms: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    max_count: int | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
) -> FetchResult:
    """Advertisers whose name matches each search term (``/v2/research/adlib/advertiser/query/``).

    No pagination is documented: each term gives at most ``max_count`` advertisers (50).

    Args:
        search_terms: One term (at most 50 characters) or a list of them.
        fields: ``business_id``, ``business_name``, ``country_code`` (default: all).
        max_count: Advertisers per term (default 50, the documented maximum).
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Terms asked at the same time.
        retry_failed: Ask again for terms that failed for good in an earlier run.

    Returns:
        The advertisers table (:data:`tiktok_research.schemas.ADVERTISERS`), one row per
        advertiser, with the ``search_term`` that found it. Join it to ads with
        :func:`tiktok_research.join_ads_advertisers`.

    Example:
        >>> import tiktok_research as tr
        >>> found = tr.fetch_advertisers(["coffee"], client=tr.Client.sandbox(), progress=False)
        >>> found.schema == tr.schemas.ADVERTISERS
        True
    """
    from ._adlib_plan import plan_advertisers

    c = _planning_client(client)
    folder = _check_common(archive, resume, max_workers)
    plan = plan_advertisers(search_terms, fields=fields, max_count=max_count, client=c)
    return _adlib_run(plan, c, archive=folder, resume=resume, progress=progress,
                      max_workers=max_workers, retry_failed=retry_failed)  # fmt: skip


def fetch_commercial_content(
    start_date: date | datetime | str,
    end_date: date | datetime | str,
    *,
    countries: str | Sequence[str] | None = None,
    usernames: ItemsLike | None = None,
    fields: Sequence[str] | str | None = None,
    max_count: int | None = None,
    max_total: int | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 4,
) -> FetchResult:
    """Commercial content (paid partnerships, promotional content) published between two days
    (``/v2/research/adlib/commercial_content/query/``).

    Covers creators in the EEA only (TikTok: not the UK, not Switzerland), from 2022-10-01 on.
    The content's videos are ordinary TikTok posts: :func:`tiktok_research.link_commercial_content`
    joins them to Research API videos and users.

    Args:
        start_date: First day (on or after 2022-10-01).
        end_date: Last day (inclusive).
        countries: Creator countries: ``"ALL"`` (default), an EEA code, or a list.
        usernames: Only these creators: a list, a Series, or a table with a ``username`` column.
        fields: Fields (default: all).
        max_count: Items per request (default 50).
        max_total: Keep at most this many rows (each search stops once it holds that many).
        client: As for :func:`fetch_videos`.
        archive: As for :func:`fetch_videos`.
        resume: As for :func:`fetch_videos`.
        progress: As for :func:`fetch_videos`.
        max_workers: Searches run at the same time.

    Returns:
        The commercial content table (:data:`tiktok_research.schemas.COMMERCIAL_CONTENT`).

    Example:
        >>> import tiktok_research as tr
        >>> cc = tr.fetch_commercial_content("2024-01-01", "2024-01-31", countries="DE",
        ...                                  client=tr.Client.sandbox(), progress=False)
        >>> cc.schema == tr.schemas.COMMERCIAL_CONTENT
        True
    """
    from ._adlib_plan import plan_commercial_content

    c = _planning_client(client)
    folder = _check_common(archive, resume, max_workers)
    plan = plan_commercial_content(
        start_date, end_date, countries=countries, usernames=usernames, fields=fields,
        max_count=max_count, max_total=max_total, client=c,
    )  # fmt: skip
    return _adlib_run(
        plan, c, archive=folder, resume=resume, progress=progress, max_workers=max_workers
    )
