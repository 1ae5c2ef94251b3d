"""One function per data endpoint: validate the request, then build the ``data`` object."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._endpoints import (
    COMMENT_FIELDS,
    COMMENTS,
    COMMENTS_CAP,
    ENDPOINTS,
    FOLLOWERS,
    FOLLOWING,
    LIKED_VIDEOS,
    MAX_WINDOW_DAYS,
    PINNED_VIDEOS,
    PLAYLIST_INFO,
    REPOSTED_VIDEOS,
    TTS_PRODUCT,
    TTS_REVIEW,
    TTS_SHOP,
    USER_INFO,
    VIDEO_QUERY,
    Endpoint,
)
from . import _vocab as V
from ._corpus import Comments, TimedList
from ._params import ApiError, as_bool, as_int, as_str, invalid, parse_date, parse_fields
from ._query import VideoQuery, evaluate, failing_range, parse_query

if TYPE_CHECKING:
    from ._core import Sandbox

I64 = npt.NDArray[np.int64]


@dataclass
class Ctx:
    """One data request on its way through the sandbox."""

    sandbox: Sandbox
    endpoint: Endpoint
    client_key: str
    body: dict[str, Any]
    params: dict[str, str]
    now: float
    fault: str | None = None
    applied: list[str] = field(default_factory=list)

    def validated(
        self, *, later_page: bool = False, search_id: str | None = None, paginated: bool = True
    ) -> None:
        """Call once the request is valid: draw (or take the scripted) fault; raise error faults."""
        self.fault = self.sandbox._next_fault(
            self.endpoint.name, self.client_key, later_page=later_page, paginated=paginated
        )
        if self.fault is None:
            return
        kind = self.fault
        if kind == "search_id_invalid":
            self.applied.append(kind)
            sid = search_id or self.sandbox._new_search_id(self.now)
            raise invalid(f"Search Id {sid} is invalid or expired")
        if kind == "cursor_invalid":
            self.applied.append(kind)
            raise invalid("Invalid count or cursor")
        if kind in ("internal_error", "gateway_timeout", "rate_limit"):
            self.applied.append(kind)
            self.sandbox._raise_fault(self.now, kind)

    @property
    def days(self) -> int:
        """Whole days passed on the sandbox clock since the epoch (the corpus changes with them)."""
        return self.sandbox.days_passed(self.now)

    def gone(self, rows: I64) -> npt.NDArray[np.bool_]:
        """Which of the video ``rows`` no endpoint returns any more (deleted or private)."""
        return self.sandbox.corpus.gone(rows, self.days, self.now)

    def visible(self, rows: I64) -> I64:
        """``rows`` without the gone ones (order kept)."""
        return rows[~self.gone(rows)]

    def fail_in_range(self, query: VideoQuery, start: dt.date, end: dt.date) -> None:
        """Answer 500 ``internal_error`` if the window touches a configured failing range.

        Checked after the request is found valid and before any fault is drawn: such a request
        fails every time (api-notes §14 #8), and counts against the quota like every 5xx.
        """
        if failing_range(self.sandbox.config.failing_ranges, query, start, end) is not None:
            self.applied.append("failing_range")
            self.sandbox._raise_fault(self.now, "internal_error")

    def take(self, kind: str) -> bool:
        """Whether the data fault ``kind`` applies to this answer (and record it as applied)."""
        if self.fault == kind:
            self.applied.append(kind)
            return True
        return False


def _fields(ctx: Ctx, *, required: bool = True) -> list[str]:
    ep = ctx.endpoint
    raw: Any = ctx.params.get("fields")
    if ep.fields_in == "body" and not raw:
        raw = ctx.body.get("fields")
    if ep.fields_in == "query" and raw is None and "fields" in ctx.body:
        raise invalid("fields must be sent in the query string (?fields=a,b,c), not in the body")
    return parse_fields(raw, ep.fields, required=required)


def _count(ctx: Ctx) -> int:
    ep = ctx.endpoint
    assert ep.count_key is not None and ep.max_count is not None
    value = as_int(
        ctx.body, ep.count_key, default=ep.default_count, minimum=1, maximum=ep.max_count
    )
    assert value is not None
    return value


def _user(ctx: Ctx) -> int:
    name = as_str(ctx.body, "username")
    assert name is not None
    corpus = ctx.sandbox.corpus
    user = corpus.user_index.get(name.lower())
    if user is None:
        raise invalid(f"`username: {name}` is invalid: cannot find the user")
    if corpus.is_private[user]:
        raise invalid("API cannot return this user's information")
    return user


def _private_list(name: str, what: str) -> ApiError:
    return invalid(
        f"`username: {name}` {what} information cannot be returned: "
        "the user keeps this list private"
    )


# ------------------------------------------------------------------------------ video query
def video_query(ctx: Ctx) -> dict[str, Any]:
    """``/v2/research/video/query/``: search, pages by offset cursor and ``search_id``."""
    sb = ctx.sandbox
    fields = _fields(ctx)
    query = parse_query(ctx.body.get("query"))
    start = parse_date(ctx.body.get("start_date"), "start_date")
    end = parse_date(ctx.body.get("end_date"), "end_date")
    if end < start:
        raise invalid(f"end_date {end:%Y%m%d} is before start_date {start:%Y%m%d}")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise invalid(
            f"end_date must be no more than {MAX_WINDOW_DAYS} days after start_date "
            f"({start:%Y%m%d} to {end:%Y%m%d} is {(end - start).days} days); split the window"
        )
    max_count = _count(ctx)
    cursor = as_int(ctx.body, "cursor", default=0, minimum=0)
    assert cursor is not None
    search_id = as_str(ctx.body, "search_id", required=False)
    if search_id is not None and not search_id.isdigit():
        raise invalid(f"search_id must be a string of digits, got {search_id!r}")
    is_random = as_bool(ctx.body, "is_random")
    fingerprint = f"{query.fingerprint()}|{start:%Y%m%d}|{end:%Y%m%d}"

    if is_random:
        ctx.fail_in_range(query, start, end)
        ctx.validated(paginated=False)
        rows = evaluate(
            sb.corpus, query, start, end, ctx.now - sb.config.index_lag_hours * 3600, ctx.days
        )
        rows = ctx.visible(rows)
        pick = sb._random_rows(rows, max_count, body=ctx.body)
        videos = _videos(ctx, pick, fields)
        return {"videos": videos, "cursor": len(videos), "has_more": False}

    if cursor > 0 and search_id is None:
        raise invalid(
            "search_id is required when cursor is not 0: send the search_id of the first page"
        )
    state = None
    if search_id is not None:
        state = sb._search(search_id, ctx.client_key, fingerprint, ctx.now)
        if state is None and sb.config.expired_search_id == "error":
            raise invalid(f"Search Id {search_id} is invalid or expired")
    if state is not None and cursor > state.size:
        raise invalid("Invalid count or cursor")
    ctx.fail_in_range(query, start, end)
    ctx.validated(later_page=search_id is not None, search_id=search_id)
    if state is None:
        rows = evaluate(
            sb.corpus, query, start, end, ctx.now - sb.config.index_lag_hours * 3600, ctx.days
        )
        if rows.size == 0:
            return {"videos": [], "cursor": 0, "has_more": False}
        state = sb._store_search(rows, ctx.client_key, fingerprint, ctx.now)
        if cursor > state.size:
            raise invalid("Invalid count or cursor")
    page = state.rows[cursor : cursor + max_count]
    has_more = cursor + max_count < state.size
    next_cursor = cursor + max_count if has_more else state.size
    visible = ctx.visible(page)
    if has_more and ctx.take("empty_page"):
        visible = visible[:0]
    return {
        "videos": _videos(ctx, visible, fields),
        "cursor": next_cursor,
        "has_more": bool(has_more),
        "search_id": state.search_id,
    }


def _videos(ctx: Ctx, rows: I64, fields: list[str]) -> list[dict[str, Any]]:
    missing = ctx.take("missing_counts")
    nul = ctx.take("nul_usernames")
    return ctx.sandbox.corpus.video_records(
        rows, fields, missing_counts=missing, nul_usernames=nul, days=ctx.days
    )


# ---------------------------------------------------------------------------------------- users
def user_info(ctx: Ctx) -> dict[str, Any]:
    """``/v2/research/user/info/``: the user object directly in ``data`` (no ``username`` echo)."""
    fields = _fields(ctx)
    user = _user(ctx)
    ctx.validated(paginated=False)
    info = ctx.sandbox.corpus.user_info(user)
    return {f: info[f] for f in fields if f in info}


def _timed_page(ctx: Ctx, items: TimedList) -> tuple[I64, int, bool]:
    """A timestamp-cursor page: items with timestamp <= cursor, newest first."""
    max_count = _count(ctx)
    cursor = as_int(ctx.body, "cursor", default=0, minimum=0)
    assert cursor is not None
    if cursor == 0:
        # api-notes §11 "Timestamp cursor 0 or absent": 0 means "now", like a missing cursor (the
        # docs' default is "the time this request was made"). Evidence: researchtikpy 0.2.2 starts
        # every followers / following / liked list at `cursor: 0`, and its tests against the real
        # service expect data on that first page (tests/test_get_followers.py: more than 70
        # followers on page 1, more than 400 over 6 pages), so the service cannot read 0 as
        # "before 1970".
        cursor = int(ctx.now)
    ctx.validated()
    start = int(np.searchsorted(-items.timestamps, -cursor, side="left"))
    page = np.arange(start, min(start + max_count, items.items.size))
    has_more = start + max_count < items.items.size
    if page.size == 0:
        return page, cursor, False
    next_cursor = int(items.timestamps[page[-1]]) - 1
    if has_more and ctx.take("empty_page"):
        page = page[:0]
    return page, next_cursor, bool(has_more)


def liked_videos(ctx: Ctx) -> dict[str, Any]:
    """``/v2/research/user/liked_videos/``: timestamp cursor; most users keep the list private."""
    fields = _fields(ctx)
    user = _user(ctx)
    corpus = ctx.sandbox.corpus
    if not corpus.liked_public[user]:
        raise _private_list(corpus.usernames[user], "liked videos")
    liked = corpus.liked(user)
    page, cursor, has_more = _timed_page(ctx, liked)
    return {
        "user_liked_videos": _videos(ctx, ctx.visible(liked.items[page]), fields),
        "cursor": cursor,
        "has_more": has_more,
    }


def _follow(ctx: Ctx, kind: str) -> dict[str, Any]:
    user = _user(ctx)
    corpus = ctx.sandbox.corpus
    if kind == "following" and not corpus.following_public[user]:
        raise _private_list(corpus.usernames[user], "following")
    lst = corpus.followers(user) if kind == "followers" else corpus.following(user)
    page, cursor, has_more = _timed_page(ctx, lst)
    nul = ctx.take("nul_usernames")
    people = []
    for u in lst.items[page].tolist():
        name = corpus.usernames[u]
        if nul:
            name = name[: len(name) // 2] + "\x00\x00" + name[len(name) // 2 :]
        people.append({"display_name": corpus.display_names[u], "username": name})
    return {f"user_{kind}": people, "cursor": cursor, "has_more": has_more}


def followers(ctx: Ctx) -> dict[str, Any]:
    """``/v2/research/user/followers/``: timestamp cursor, at most ~5,000 per account."""
    return _follow(ctx, "followers")


def following(ctx: Ctx) -> dict[str, Any]:
    """``/v2/research/user/following/``: timestamp cursor; only for public following lists."""
    return _follow(ctx, "following")


def pinned_videos(ctx: Ctx) -> dict[str, Any]:
    """``/v2/research/user/pinned_videos/``: no pagination."""
    fields = _fields(ctx)
    user = _user(ctx)
    ctx.validated(paginated=False)
    pinned = ctx.visible(ctx.sandbox.corpus.pinned(user))
    return {"pinned_videos_list": _videos(ctx, pinned, fields)}


def _index_page(ctx: Ctx, total: int, default: int | None = None) -> tuple[int, int, int, bool]:
    """(start, stop, next cursor, has_more) of an index-cursor page."""
    max_count = _count(ctx)
    cursor = as_int(ctx.body, "cursor", default=0, minimum=0)
    assert cursor is not None
    ctx.validated(later_page=cursor > 0)
    stop = min(cursor + max_count, total)
    has_more = cursor + max_count < total
    next_cursor = cursor + max_count if has_more else max(cursor, total)
    return cursor, stop, next_cursor, bool(has_more)


def reposted_videos(ctx: Ctx) -> dict[str, Any]:
    """``/v2/research/user/reposted_videos/``: index cursor; often private."""
    fields = _fields(ctx)
    user = _user(ctx)
    corpus = ctx.sandbox.corpus
    if not corpus.reposts_public[user]:
        raise _private_list(corpus.usernames[user], "reposted videos")
    rows = corpus.reposted(user)
    start, stop, cursor, has_more = _index_page(ctx, rows.size)
    page = ctx.visible(rows[start:stop])
    if has_more and ctx.take("empty_page"):
        page = page[:0]
    return {"reposted_videos": _videos(ctx, page, fields), "cursor": cursor, "has_more": has_more}


# ---------------------------------------------------------------------------------------- comments
def comments(ctx: Ctx) -> dict[str, Any]:
    """``/v2/research/video/comment/list/``: index cursor, top 1,000; replies by ``comment_id``."""
    fields = _fields(ctx)
    corpus = ctx.sandbox.corpus
    has_video = ctx.body.get("video_id") not in (None, "")
    has_comment = ctx.body.get("comment_id") not in (None, "")
    if has_video and has_comment:
        raise invalid(
            "video_id and comment_id cannot both be sent: "
            "use video_id for comments, comment_id for replies"
        )
    if not has_video and not has_comment:
        raise invalid("video_id is required (or comment_id, to list the replies to a comment)")
    max_count = _count(ctx)
    cursor = as_int(ctx.body, "cursor", default=0, minimum=0)
    assert cursor is not None
    # api-notes §11 "Comments cap": only the top 1,000 comments are served. A page that would cross
    # the cap is served trimmed to it and says `has_more: false`, so the cursors the sandbox hands
    # out are always accepted (with max_count=30: ..., cursor 960 -> 990, then 990 -> 1000, done).
    # Only a cursor at or past the cap, which the sandbox never hands out, is refused.
    if cursor >= COMMENTS_CAP:
        raise invalid(
            f"Invalid count or cursor: only the top {COMMENTS_CAP} comments can be returned, "
            f"so cursor must be below {COMMENTS_CAP} (got {cursor})"
        )
    target: Comments | None = None
    if has_video:
        vid = as_int(ctx.body, "video_id", minimum=0)
        assert vid is not None
        row = corpus.row_of_id(vid)
        if row is not None and not ctx.gone(np.array([row]))[0]:
            target = corpus.comments(row)
    else:
        cid = as_int(ctx.body, "comment_id", minimum=0)
        assert cid is not None
        where = corpus.locate_comment(cid) if cid < 2**63 else None
        if where is not None and not ctx.gone(np.array([where[0]]))[0]:
            target = corpus.replies(*where)
            ctx.sandbox.remember_replies(where, target)
    ctx.validated(later_page=cursor > 0)
    total = 0 if target is None else min(target.ids.size, COMMENTS_CAP)
    stop = min(cursor + max_count, total)
    has_more = cursor + max_count < total
    next_cursor = cursor + max_count if has_more else max(cursor, total)
    items: list[dict[str, Any]] = []
    if target is not None and not (has_more and ctx.take("empty_page")):
        # removed comments keep their positions (like removed videos in a video query)
        removed = corpus.comment_gone(target.ids[cursor:stop], ctx.days, ctx.now)
        for k in range(cursor, stop):
            if removed[k - cursor]:
                continue
            rec = {
                "id": int(target.ids[k]),
                "video_id": target.video_id,
                "text": V.COMMENT_TEXTS[int(target.text_idx[k])],
                "like_count": int(target.like_count[k]),
                "reply_count": int(target.reply_count[k]),
                "parent_comment_id": target.parent_id,
                "create_time": int(target.create_time[k]),
            }
            items.append({f: rec[f] for f in fields if f in COMMENT_FIELDS})
    return {"comments": items, "cursor": next_cursor, "has_more": bool(has_more)}


# ---------------------------------------------------------------------------------------- playlist
def playlist_info(ctx: Ctx) -> dict[str, Any]:
    """``/v2/research/playlist/info/``: the playlist with a page of its video ids (index cursor)."""
    if ctx.params.get("fields"):
        _fields(ctx, required=False)
    corpus = ctx.sandbox.corpus
    pid = as_int(ctx.body, "playlist_id", required=True, minimum=0)
    assert pid is not None
    index = corpus.playlist_index.get(pid)
    if index is None:
        raise invalid(f"`playlist_id: {pid}` is invalid: cannot find the playlist")
    rows = corpus.playlist_videos[index]
    start, stop, cursor, has_more = _index_page(ctx, rows.size)
    ids = [int(corpus.ids[r]) for r in ctx.visible(rows[start:stop])]
    return {
        "playlist_id": pid,
        "playlist_name": corpus.playlist_names[index],
        "playlist_video_ids": ids,
        "playlist_item_total": int(rows.size),
        "playlist_last_updated": int(corpus.create_time[rows].max()),
        "cursor": cursor,
        "has_more": has_more,
    }


# ------------------------------------------------------------------------------ TikTok Shop
def _pick(records: list[dict[str, Any]], fields: list[str]) -> list[dict[str, Any]]:
    return [{f: r[f] for f in fields if f in r} for r in records]


def _page(ctx: Ctx) -> tuple[int, int]:
    start = as_int(ctx.body, "page_start", default=1, minimum=1)
    size = _count(ctx)
    assert start is not None
    return start, size


def tts_shop(ctx: Ctx) -> dict[str, Any]:
    """``/v2/research/tts/shop/``: shops whose name contains ``shop_name`` (case-insensitive)."""
    fields = _fields(ctx, required=False)
    name = as_str(ctx.body, "shop_name")
    assert name is not None
    limit = _count(ctx)
    ctx.validated(paginated=False)
    corpus = ctx.sandbox.corpus
    hits = [i for i, s in enumerate(corpus.shop_names) if name.lower() in s.lower()][:limit]
    return {"shop_data": _pick([corpus.shop_record(i) for i in hits], fields)}


def tts_product(ctx: Ctx) -> dict[str, Any]:
    """``/v2/research/tts/product/``: products of ``shop_id`` by pages (``page_start`` from 1)."""
    fields = _fields(ctx, required=False)
    shop_id = as_int(ctx.body, "shop_id", required=True, minimum=0)
    start, size = _page(ctx)
    ctx.validated(paginated=False)
    corpus = ctx.sandbox.corpus
    shop = corpus.shop_index.get(shop_id or 0)
    if shop is None:
        return {"product_data": []}
    lo, hi = int(corpus.product_ptr[shop]), int(corpus.product_ptr[shop + 1])
    first = lo + (start - 1) * size
    rows = range(first, min(first + size, hi))
    return {"product_data": _pick([corpus.product_record(p) for p in rows], fields)}


def tts_review(ctx: Ctx) -> dict[str, Any]:
    """``/v2/research/tts/review/``: the reviews of ``product_id``, by pages."""
    fields = _fields(ctx, required=False)
    product_id = as_int(ctx.body, "product_id", required=True, minimum=0)
    start, size = _page(ctx)
    ctx.validated(paginated=False)
    corpus = ctx.sandbox.corpus
    product = corpus.product_index.get(product_id or 0)
    if product is None:
        return {"review_data": []}
    reviews = corpus.review_list(product)
    first = (start - 1) * size
    return {"review_data": _pick(reviews[first : first + size], fields)}


HANDLERS: dict[str, Callable[[Ctx], dict[str, Any]]] = {
    VIDEO_QUERY.name: video_query,
    USER_INFO.name: user_info,
    COMMENTS.name: comments,
    LIKED_VIDEOS.name: liked_videos,
    PINNED_VIDEOS.name: pinned_videos,
    REPOSTED_VIDEOS.name: reposted_videos,
    FOLLOWERS.name: followers,
    FOLLOWING.name: following,
    PLAYLIST_INFO.name: playlist_info,
    TTS_SHOP.name: tts_shop,
    TTS_PRODUCT.name: tts_product,
    TTS_REVIEW.name: tts_review,
}
assert set(HANDLERS) == set(ENDPOINTS), "every endpoint of the registry needs a handler"
