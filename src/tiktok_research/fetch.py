"""``fetch_*``: one function per endpoint that returns a typed table.

Each uses the client passed as ``client=`` or one built from the environment
(``TIKTOK_CLIENT_KEY``, ``TIKTOK_CLIENT_SECRET``, ``TIKTOK_RESEARCH_BASE_URL``), runs through
:func:`tiktok_research.collect.run_collection` (raw archive, resume, concurrency, progress) and
returns a :class:`~tiktok_research.collect.FetchResult`: a polars DataFrame with the endpoint's
declared schema that also carries ``.failures`` and ``.report``.

Example:
    >>> import tiktok_research as tr
    >>> client = tr.Client.sandbox()
    >>> videos = tr.fetch_videos(tr.Q.hashtag_name.eq("cats"), "20240101", "20240110",
    ...                          client=client, progress=False)
    >>> videos.schema == tr.schemas.VIDEOS
    True
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ._endpoints import ENDPOINTS
from ._windows import format_date, parse_date, split_windows
from .collect import CollectionReport, FetchResult, Task, run_collection
from .errors import InvalidRequestError, NotYetIndexedWarning
from .pagination import Page

__all__ = [
    "collect_videos",
    "fetch_comments",
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
]

Items = Sequence[Any] | pl.Series | pl.DataFrame | Iterable[Any]


def _client(client: Any) -> Any:
    if client is not None:
        return client
    from .client import Client

    return Client()


def _as_list(values: Items, columns: Sequence[str], what: str) -> list[Any]:
    """A list from a list, a Series, a DataFrame (first matching column) or any iterable."""
    if isinstance(values, (str, bytes, int)):
        return [values]
    if isinstance(values, pl.DataFrame):
        for col in columns:
            if col in values.columns:
                return values[col].drop_nulls().to_list()
        raise InvalidRequestError(
            f"{what}: the DataFrame has none of the columns {list(columns)}; "
            f"pass a Series instead, e.g. df['{columns[0]}']"
        )
    if isinstance(values, pl.Series):
        return values.drop_nulls().to_list()
    try:
        import pandas as pd  # noqa: F401 - only to recognise pandas input

        if hasattr(values, "tolist") and not isinstance(values, list):
            return [v for v in values.tolist() if v is not None]
    except ImportError:
        pass
    return [v for v in values if v is not None]


def _unique(values: Iterable[Any]) -> list[Any]:
    seen: set[Any] = set()
    out = []
    for v in values:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


def _usernames(values: Items) -> list[str]:
    from .client import clean_username

    return _unique(
        clean_username(v) for v in _as_list(values, ("username", "source_username"), "usernames")
    )


def _ids(values: Items, key: str, columns: Sequence[str]) -> list[int]:
    from .client import _check_id

    return _unique(_check_id(key, v) for v in _as_list(values, columns, key))


def _sort_by_items(column: str, items: Sequence[Any]) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """Rows in the order of the items the user gave (stable: pages keep their order)."""

    def sort(df: pl.DataFrame) -> pl.DataFrame:
        if df.height == 0 or column not in df.columns:
            return df
        dtype = df.schema[column]
        order = pl.DataFrame(
            {column: pl.Series(list(items)).cast(dtype), "_item_order": range(len(items))}
        )
        return (
            df.with_row_index("_row")
            .join(order, on=column, how="left")
            .sort(["_item_order", "_row"], nulls_last=True, maintain_order=True)
            .drop("_item_order", "_row")
        )

    return sort


def _fan_out(
    *,
    endpoint: str,
    kind: str,
    items: list[Any],
    params: Callable[[Any], dict[str, Any]],
    key: Callable[[Any], str],
    client: Any,
    fields: Sequence[str] | str | None,
    archive: str | Path | None,
    resume: bool,
    progress: bool | None,
    max_workers: int,
    sort_column: str | None,
    max_total: int | None = None,
    retry_failed: bool = False,
) -> FetchResult:
    c = _client(client)
    ep = ENDPOINTS[endpoint]
    field_list = None
    if fields is not None:
        field_list = (
            [f.strip() for f in fields.split(",")] if isinstance(fields, str) else list(fields)
        )

    def make(item: Any) -> Task:
        body = params(item)

        def pages(state: dict[str, Any] | None, on_response: Callable[..., None]) -> Iterator[Page]:
            return c.pages(  # type: ignore[no-any-return]
                endpoint,
                body,
                fields=field_list if ep.fields_in != "none" else None,
                max_total=max_total,
                state=state,
                on_response=on_response,
            )

        return Task(key=key(item), item=str(item), pages=pages)

    tasks = [make(i) for i in items]
    # Everything is checked before anything is sent (the pages of each task are built lazily,
    # so a mistake found there would fail every item one by one instead of the call once).
    c._check_fields(ep, field_list if ep.fields_in != "none" else None)
    c._check_count(ep, None, max_total)
    for item in items:
        c._check_params(ep, params(item))
    spec = {"items": [str(i) for i in items], "fields": field_list, "max_total": max_total}
    sort = _sort_by_items(sort_column, items) if sort_column else None
    return run_collection(
        client=c,
        endpoint=endpoint,
        kind=kind,
        spec=spec,
        tasks=tasks,
        archive=archive,
        resume=resume,
        progress=progress,
        max_workers=max_workers,
        sort=sort,
        retry_failed=retry_failed,
    )


def fetch_videos(
    query: Any,
    start_date: date | datetime | str,
    end_date: date | datetime | str,
    *,
    fields: Sequence[str] | str | None = None,
    max_total: int | None = None,
    is_random: bool = False,
    client: Any = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 4,
    dataset: str | Path | None = None,
    materialize: bool = True,
) -> FetchResult:
    """Collect the videos matching a query between two days (UTC, both inclusive).

    The range may be of any length: it is split into windows of at most 30 days that run
    concurrently under the client's rate limiter. Every page is archived (``archive=DIR``) before
    it is parsed; calling again with the same arguments and archive continues an interrupted run
    without fetching any page twice.

    Args:
        query: A ``Q`` expression, a :class:`~tiktok_research.Query`, a dict or JSON text.
        start_date: First day, as a date, datetime, ``"YYYYMMDD"`` or ``"YYYY-MM-DD"``.
        end_date: Last day (inclusive).
        fields: Video fields to ask for (default: all).
        max_total: Stop after exactly this many videos (windows then run one after another).
        is_random: Ask the service for random matches (one request per window).
        client: A :class:`~tiktok_research.Client` (default: one from the environment).
        archive: Folder of the raw archive; needed to resume.
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
    from .query import as_query

    c = _client(client)
    q = as_query(query)
    s, e = parse_date(start_date), parse_date(end_date)
    windows = split_windows(s, e)  # validates the range (reversed ranges fail here)
    field_list = None
    if fields is not None:
        field_list = (
            [f.strip() for f in fields.split(",")] if isinstance(fields, str) else list(fields)
        )
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NotYetIndexedWarning)
        # a dry run validates everything (fields, counts, query) before any request is spent
        c.plan(q, s, e, max_total, fields=field_list)
    for w in caught:
        if issubclass(w.category, NotYetIndexedWarning):
            notes.append(str(w.message))
            warnings.warn(str(w.message), NotYetIndexedWarning, stacklevel=2)

    common = {"fields": field_list, "is_random": is_random}

    def window_task(ws: date, we: date) -> Task:
        def pages(state: dict[str, Any] | None, on_response: Callable[..., None]) -> Iterator[Page]:
            return c.window_pages(  # type: ignore[no-any-return]
                q, ws, we, state=state, on_response=on_response, **common
            )

        return Task(key=f"{format_date(ws)}-{format_date(we)}", item=None, pages=pages)

    if max_total is not None:
        # an exact total needs the windows one after another, newest results of each first
        def all_pages(
            state: dict[str, Any] | None, on_response: Callable[..., None]
        ) -> Iterator[Page]:
            return c.video_pages(  # type: ignore[no-any-return]
                q, s, e, max_total=max_total, state=state, on_response=on_response, **common
            )

        tasks = [Task(key=f"{format_date(s)}-{format_date(e)}", item=None, pages=all_pages)]
    else:
        tasks = [window_task(ws, we) for ws, we in windows]

    spec = {
        "query": q.to_dict(),
        "start_date": format_date(s),
        "end_date": format_date(e),
        "fields": field_list,
        "max_total": max_total,
        "is_random": is_random,
    }
    return run_collection(
        client=c,
        endpoint="video_query",
        kind="videos",
        spec=spec,
        tasks=tasks,
        archive=archive,
        resume=resume,
        progress=progress,
        max_workers=max_workers,
        sort=lambda df: df.sort("id", descending=True, nulls_last=True),
        warnings_=notes,
        dataset=dataset,
        materialize=materialize,
    )


def collect_videos(
    query: Any,
    start_date: date | datetime | str,
    end_date: date | datetime | str,
    dataset: str | Path,
    *,
    archive: str | Path,
    fields: Sequence[str] | str | None = None,
    client: Any = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 4,
) -> CollectionReport:
    """Collect videos straight into a Parquet dataset, for collections larger than memory.

    Each date window is written to ``dataset`` (hive-partitioned by ``create_month``) as soon as
    its last page arrives, so memory holds one window's rows at most (it also tunes the process's
    allocators to give freed memory back: see :func:`tiktok_research.collect.bound_memory`).
    Read the result lazily with
    :func:`tiktok_research.io.read_dataset`. Resuming works as for :func:`fetch_videos`; a window
    written twice replaces its own files, so rows are never doubled.

    Args:
        query, start_date, end_date, fields, client, resume, progress, max_workers: As for
            :func:`fetch_videos`.
        dataset: Folder of the Parquet dataset.
        archive: Folder of the raw archive (required: it is what the dataset is built from).

    Returns:
        The :class:`~tiktok_research.collect.CollectionReport` (``rows`` counts the dataset's rows
        of this collection).
    """
    from .collect import bound_memory

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


def _per_item(
    endpoint: str,
    kind: str,
    parse: Callable[[Items], list[Any]],
    body_key: str,
    sort_column: str | None,
    doc: str,
) -> Callable[..., FetchResult]:
    """Build the ``fetch_*`` function of an endpoint that is asked once per item."""
    ep = ENDPOINTS[endpoint]

    def fetch(
        items: Items,
        *,
        fields: Sequence[str] | str | None = None,
        max_total: int | None = None,
        client: Any = None,
        archive: str | Path | None = None,
        resume: bool = True,
        progress: bool | None = None,
        max_workers: int = 8,
        retry_failed: bool = False,
    ) -> FetchResult:
        return _fan_out(
            endpoint=endpoint,
            kind=kind,
            items=parse(items),
            params=lambda item: {body_key: item},
            key=lambda item: f"{body_key}:{item}",
            client=client,
            fields=fields if ep.fields_in != "none" else None,
            archive=archive,
            resume=resume,
            progress=progress,
            max_workers=max_workers,
            sort_column=sort_column,
            max_total=max_total,
            retry_failed=retry_failed,
        )

    fetch.__name__ = fetch.__qualname__ = f"fetch_{kind}"
    fetch.__doc__ = f"""{doc} ({ep.path})

    Args:
        items: As a list, a polars or pandas Series, or a DataFrame with the usual column.
        fields: Fields to ask for (default: all the endpoint has).
        max_total: At most this many rows per item.
        client, archive, resume, progress, max_workers: As for :func:`fetch_videos`.
        retry_failed: Ask again for items that failed for good in an earlier run.

    Returns:
        The ``{ep.table}`` table (:data:`tiktok_research.schemas.SCHEMAS`), rows in the order of
        the items. Items that fail (not found, private, list not public) are in ``.failures``
        and never stop the batch.
    """
    return fetch


def _ids_of(key: str, *columns: str) -> Callable[[Items], list[Any]]:
    return lambda values: _ids(values, key, columns or (key,))


def _shop_names(values: Items) -> list[Any]:
    return _unique(str(v).strip() for v in _as_list(values, ("shop_name",), "shop_names"))


fetch_user_info = _per_item(
    "user_info", "users", _usernames, "username", "username",
    "Profile information of accounts (handles, ``@handles`` or profile URLs), one row each.",
)  # fmt: skip
fetch_liked_videos = _per_item(
    "liked_videos", "liked_videos", _usernames, "username", "source_username",
    "The videos each account liked (most keep this list private).",
)  # fmt: skip
fetch_pinned_videos = _per_item(
    "pinned_videos", "pinned_videos", _usernames, "username", "source_username",
    "The videos each account pinned to its profile.",
)  # fmt: skip
fetch_reposted_videos = _per_item(
    "reposted_videos", "reposted_videos", _usernames, "username", "source_username",
    "The videos each account reposted.",
)  # fmt: skip
fetch_followers = _per_item(
    "followers", "followers", _usernames, "username", "source_username",
    "The followers of each account (the service returns at most about 5,000).",
)  # fmt: skip
fetch_following = _per_item(
    "following", "following", _usernames, "username", "source_username",
    "The accounts each account follows (when that list is public).",
)  # fmt: skip
fetch_playlists = _per_item(
    "playlist_info", "playlists", _ids_of("playlist_id"), "playlist_id", "playlist_id",
    "Playlist information (name, video ids, size), one row per playlist.",
)  # fmt: skip
fetch_shops = _per_item(
    "tts_shop", "shops", _shop_names, "shop_name", None,
    "TikTok Shop shops matching each name (EU only).",
)  # fmt: skip
fetch_products = _per_item(
    "tts_product", "products", _ids_of("shop_id"), "shop_id", "shop_id",
    "TikTok Shop products of each shop (EU only).",
)  # fmt: skip
fetch_reviews = _per_item(
    "tts_review", "reviews", _ids_of("product_id"), "product_id", "product_id",
    "TikTok Shop reviews of each product (EU only).",
)  # fmt: skip
_top_comments = _per_item(
    "comments", "comments", _ids_of("video_id", "id", "video_id"), "video_id", "video_id",
    "Top-level comments of videos.",
)  # fmt: skip
_replies = _per_item(
    "comments", "replies", _ids_of("comment_id", "id"), "comment_id", None,
    "Replies to comments.",
)  # fmt: skip


def fetch_comments(
    video_ids: Items,
    *,
    replies: bool = False,
    fields: Sequence[str] | str | None = None,
    max_total: int | None = None,
    client: Any = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
) -> FetchResult:
    """Comments of videos (the service returns at most the top 1,000 per video).

    Args:
        video_ids: Video ids as ints or digit strings, a Series, or a DataFrame with an ``id`` or
            ``video_id`` column (e.g. the result of :func:`fetch_videos`).
        replies: Also collect the replies of every comment that has some (by ``comment_id``).
        fields: Comment fields (default: all).
        max_total: At most this many comments per video.
        client, archive, resume, progress, max_workers, retry_failed: As for
            :func:`fetch_user_info`.

    Returns:
        The comments table (top-level comments have ``parent_comment_id == video_id``).
    """
    common: dict[str, Any] = {
        "client": _client(client),
        "fields": fields,
        "archive": archive,
        "resume": resume,
        "progress": progress,
        "max_workers": max_workers,
        "retry_failed": retry_failed,
    }
    top = _top_comments(video_ids, max_total=max_total, **common)
    parents = top.filter(pl.col("reply_count").fill_null(0) > 0)["id"]
    if not replies or parents.len() == 0:
        return top
    more = _replies(parents, **common)
    table = pl.concat([pl.DataFrame(top), pl.DataFrame(more)], how="vertical").unique(
        subset=["id"], keep="first", maintain_order=True
    )
    report = top.report
    report.requests_spent += more.report.requests_spent
    report.pages += more.report.pages
    report.tasks_total += more.report.tasks_total
    report.tasks_done += more.report.tasks_done
    report.pending.update(more.report.pending)
    report.complete = report.complete and more.report.complete
    report.rows = table.height
    return FetchResult._wrap(table, pl.concat([top.failures, more.failures]), report)
