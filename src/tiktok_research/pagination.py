"""Pages and the paging rules of every endpoint kind, in one place, with the loop that follows them.

Each endpoint has one pagination kind (``_endpoints.Endpoint.pagination``):

========== ========================================== =============================================
kind       endpoints                                   next request
========== ========================================== =============================================
search     video_query                                 ``cursor`` = answer's cursor (an offset into
                                                       the unfiltered results) + ``search_id``
index      comments, reposted_videos, playlist_info    ``cursor`` = answer's cursor (an index)
timestamp  liked_videos, followers, following          ``cursor`` = answer's cursor (a timestamp;
                                                       the first request sends none = "now")
page       tts_product, tts_review                     ``page_start`` + 1 (starts at 1)
search_id  ad_query, commercial_content_query          ``search_id`` = answer's ``search_id`` (an
           (the Commercial Content API, api-notes §12)      opaque text, a new one on every page; no
                                                       cursor)
none       user_info, pinned_videos, tts_shop,         no next request
           ad_detail, ad_report, advertiser_query
========== ========================================== =============================================

A sequence ends when ``has_more`` is false, when the cursor would not move (protection against a
service that keeps answering ``has_more: true`` without progress), when a comments cursor reaches
the cap of 1,000, or when a page-numbered list returns a short page. It never ends just because a
page came back short or empty while ``has_more`` is true: hidden videos still occupy cursor
positions (api-notes §5.3, §6.4.7).

Page size: full pages always (the endpoint's maximum, or the caller's ``max_count``), also on the
last page of a ``max_total`` run; rows are cut locally. The quota counts requests, not rows, and
pages come back short when hidden items are filtered out, so asking for exactly the rows still
missing would often cost one more request; a constant page size also keeps the offset arithmetic
of a cached ``search_id`` valid. Only the comments cap shrinks the last page
(``cursor + max_count <= 1000``).

:func:`iterate` is the one loop that walks a sequence. It is given a ``send`` function (one request
with its retries: the client's, or the collection's, which first looks in the archive), so the same
rules serve ``Client.pages`` and the collection layer. When the service keeps refusing a
``search_id`` (it expired: after a quota stop, or on a resumed run), the loop re-opens the search
with one request and jumps with the new ``search_id`` to the offset it had reached. An opaque
``search_id`` of the Commercial Content API carries no offset to jump to: when the one a resumed
run holds is refused, the search starts again from its first page (once), and the rows it had are
not doubled because tables are keyed by id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ._endpoints import COMMENTS_CAP, Endpoint
from .errors import InvalidRequestError, TikTokResearchError, is_transient_message

__all__ = [
    "Page",
    "Position",
    "Reply",
    "build_body",
    "extract_items",
    "iterate",
    "next_position",
    "page_size",
]

log = logging.getLogger("tiktok_research")

STATE_VERSION = 1
_PAGING_KEYS = ("cursor", "has_more", "search_id")


@dataclass
class Reply:
    """One ok answer of the service (after retries).

    Attributes:
        status: HTTP status.
        raw: The body, byte for byte.
        data: The parsed ``data`` object (``{}`` when absent).
        body: The whole parsed body.
        retrieved_at: When it arrived (UTC).
        request: What was sent: ``{"method", "path", "params", "body"}`` (never the token).
        archived: What the ``on_response`` hook returned for this answer (where it was archived),
            or None.
        replayed: True when the answer came from an archive, not from the service.
    """

    status: int
    raw: bytes
    data: dict[str, Any]
    body: object
    retrieved_at: datetime
    request: dict[str, Any]
    archived: object = None
    replayed: bool = False

    @property
    def log_id(self) -> str | None:
        """The answer's ``error.log_id``."""
        err = self.body.get("error") if isinstance(self.body, dict) else None
        if isinstance(err, dict) and err.get("log_id"):
            return str(err["log_id"])
        return None


@dataclass
class Position:
    """Where the next request of a sequence starts."""

    cursor: int | None = None
    search_id: str | None = None
    page_start: int | None = None
    skip_to: int | None = None  # after a refused search_id: jump to this offset of a new search

    def to_state(self) -> dict[str, Any]:
        """The JSON form of the position."""
        out: dict[str, Any] = {
            "cursor": self.cursor,
            "search_id": self.search_id,
            "page_start": self.page_start,
        }
        if self.skip_to:
            out["skip_to"] = self.skip_to
        return out

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> Position | None:
        """A position from its JSON form (None for None)."""
        if state is None:
            return None
        skip = _as_int(state.get("skip_to"))
        return cls(
            cursor=_as_int(state.get("cursor")),
            search_id=str(state["search_id"]) if state.get("search_id") else None,
            page_start=_as_int(state.get("page_start")),
            skip_to=skip if skip and skip > 0 else None,
        )


@dataclass
class Page:
    """One answered request of a page sequence.

    Attributes:
        endpoint: Endpoint name (``"video_query"``, ``"comments"``...).
        request: What was sent: ``{"method", "path", "params", "body"}`` (never the token).
        status: HTTP status.
        raw: The response body, byte for byte.
        data: The parsed ``data`` object (``{}`` when absent).
        items: The records of this page (possibly truncated to honour ``max_total``).
        cursor: The answer's ``cursor`` (or the next ``page_start`` for page-numbered lists).
        has_more: The answer's ``has_more`` (None when absent).
        search_id: The answer's ``search_id`` (video query only).
        log_id: The answer's ``error.log_id``.
        retrieved_at: When the answer arrived (UTC).
        state: JSON-serialisable position to resume *after* this page, or None when the sequence
            is complete. Pass it back as ``client.pages(..., state=page.state)``.
        window: The date window of a video-query page (``(start, end)``, inclusive), else None.
        position: Where this page was asked from.
        next: Where the next page will be asked from (None: the sequence is complete).
        archived: Where the answer was archived (what the ``on_response`` hook returned).
        replayed: The answer came from an archive.
    """

    endpoint: str
    request: dict[str, Any]
    status: int
    raw: bytes
    data: dict[str, Any]
    items: list[dict[str, Any]]
    cursor: int | None
    has_more: bool | None
    search_id: str | None
    log_id: str | None
    retrieved_at: datetime
    state: dict[str, Any] | None
    window: tuple[date, date] | None = None
    position: Position = field(default_factory=Position)
    next: Position | None = None
    archived: object = None
    replayed: bool = False

    def __repr__(self) -> str:
        return (
            f"Page(endpoint={self.endpoint!r}, status={self.status}, items={len(self.items)}, "
            f"cursor={self.cursor!r}, has_more={self.has_more!r}, log_id={self.log_id!r}, "
            f"done={self.next is None})"
        )


def first_position(ep: Endpoint) -> Position:
    """The position of the first request."""
    if ep.pagination in ("search", "index"):
        return Position(cursor=0)
    if ep.pagination == "page":
        return Position(page_start=1)
    return Position()


def page_size(ep: Endpoint, requested: int | None, pos: Position) -> int | None:
    """Page size to ask for at ``pos`` (0 means: nothing more can be asked)."""
    if ep.count_key is None:
        return None
    size = requested if requested is not None else ep.max_count
    if ep.name == "comments" and pos.cursor is not None and size is not None:
        size = max(0, min(size, COMMENTS_CAP - pos.cursor))
    return size


def build_body(
    ep: Endpoint, params: dict[str, Any], pos: Position, size: int | None
) -> dict[str, Any]:
    """The JSON body of the request at ``pos``."""
    body = dict(params)
    if ep.count_key is not None and size is not None:
        body[ep.count_key] = size
    if ep.pagination == "search_id":
        if pos.search_id:  # the first page sends none (api-notes §12.2)
            body["search_id"] = pos.search_id
    elif ep.pagination in ("search", "index"):
        body["cursor"] = pos.cursor if pos.cursor is not None else 0
        if ep.pagination == "search" and pos.search_id:
            body["search_id"] = pos.search_id
    elif ep.pagination == "timestamp" and pos.cursor is not None:
        body["cursor"] = pos.cursor
    elif ep.pagination == "page":
        body["page_start"] = pos.page_start if pos.page_start is not None else 1
    return body


def extract_items(ep: Endpoint, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of one answer's ``data``.

    For endpoints whose ``data`` is the record itself (user info, playlist info), the record is
    ``data`` without the paging keys. Alternative list keys seen in docs are accepted.
    """
    if ep.data_key is None:
        item = {k: v for k, v in data.items() if k not in _PAGING_KEYS}
        return [item] if item else []
    for key in (ep.data_key, *ep.alt_data_keys):
        value = data.get(key)
        if isinstance(value, list):
            return [v for v in value if isinstance(v, dict)]
    return []


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def as_bool(value: Any) -> bool | None:
    """``has_more`` as a bool: JSON booleans, and the strings ``"true"``/``"false"`` of the
    Commercial Content API's 2024 examples (api-notes §12.2); None when absent or unreadable."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, int):
        return bool(value)
    return None


def next_position(
    ep: Endpoint, pos: Position, data: dict[str, Any], n_items: int, size: int | None
) -> Position | None:
    """The position after an answer, or None when the sequence is complete."""
    kind = ep.pagination
    has_more = data.get("has_more")
    if kind == "none":
        return None
    if kind == "search_id":
        sid = data.get("search_id")
        if not as_bool(has_more):
            return None
        if not isinstance(sid, (str, int)) or isinstance(sid, bool) or not str(sid):
            log.warning("%s: has_more is true but no search_id came back; stopping", ep.name)
            return None
        if str(sid) == pos.search_id and n_items == 0:
            log.warning("%s: an empty page kept the same search_id; stopping", ep.name)
            return None
        return Position(search_id=str(sid))
    if kind == "page":
        if has_more is False or n_items == 0 or (has_more is None and size and n_items < size):
            return None
        return Position(page_start=(pos.page_start or 1) + 1)
    if not has_more:
        return None
    cursor = _as_int(data.get("cursor"))
    if kind == "search":
        prev = pos.cursor or 0
        if cursor is None or cursor <= prev:
            # The offset always advances by the page size while has_more is true (api-notes §5.3).
            if size is None:
                return None
            log.warning(
                "video_query: answer cursor %r did not advance; using %d", cursor, prev + size
            )
            cursor = prev + size
        sid = data.get("search_id")
        return Position(cursor=cursor, search_id=str(sid) if sid else pos.search_id)
    if kind == "index":
        prev = pos.cursor or 0
        if cursor is None or cursor <= prev:
            log.warning("%s: has_more is true but the cursor did not advance; stopping", ep.name)
            return None
        if ep.name == "comments" and cursor >= COMMENTS_CAP:
            return None
        return Position(cursor=cursor)
    # timestamp: the cursor moves back in time
    if cursor is None or (pos.cursor is not None and cursor >= pos.cursor):
        log.warning("%s: has_more is true but the cursor did not move; stopping", ep.name)
        return None
    return Position(cursor=cursor)


#: ``send(body, mode) -> Reply``: one request with its retries. ``mode`` is ``"normal"``,
#: ``"stale"`` (the body carries a ``search_id`` that has probably expired: a refusal is not
#: retried, the loop re-opens the search instead) or ``"fresh"`` (a re-opened search: it must be
#: answered by the service, never from an archive of earlier answers).
Send = Callable[[dict[str, Any], str], Reply]


def iterate(
    ep: Endpoint,
    params: dict[str, Any],
    send: Send,
    *,
    start: Position | None = None,
    max_count: int | None = None,
    stale: bool = False,
    reopen: Callable[[], bool] = lambda: True,
    expired: bool = False,
) -> Iterator[Page]:
    """Walk one page sequence from ``start``, yielding every page (``state`` is left None).

    Args:
        ep: The endpoint.
        params: The body keys of the sequence (the item, or the query and dates of one window).
        send: Sends one request (with retries) and returns the ok answer; raises otherwise.
        start: Where to start (default: the first page).
        max_count: Page size (default: the endpoint's maximum).
        stale: The ``search_id`` of ``start`` has probably expired.
        reopen: Called before re-opening a refused search; False forbids it (a budget is spent).
        expired: The ``search_id`` of ``start`` has surely expired (it was saved on an earlier
            day of the service): the search is re-opened at once, with one request, instead of
            being refused first.

    Raises:
        TikTokResearchError: from ``send``; its ``position`` attribute says where to resume.
    """
    pos = start or first_position(ep)
    random = bool(params.get("is_random"))
    fresh = False
    if expired and ep.pagination == "search" and pos.search_id and not random and reopen():
        log.info("video_query: search_id %s is from an earlier day; opening the search again "
                 "and jumping to cursor %s", pos.search_id, pos.cursor)  # fmt: skip
        pos = Position(cursor=0, skip_to=pos.skip_to or pos.cursor)
        fresh = True
    while True:
        size = page_size(ep, max_count, pos)
        if size == 0:
            return
        body = build_body(ep, params, pos, size)
        if random:
            body.pop("cursor", None)
            body.pop("search_id", None)
        mode = "fresh" if fresh else "stale" if stale and pos.search_id else "normal"
        try:
            reply = send(body, mode)
        except InvalidRequestError as e:
            if ep.pagination == "search_id" and stale and pos.search_id and reopen():
                # An opaque search_id held by a resumed run was refused: it carries no offset,
                # so the search starts again from its first page, asked of the service.
                log.warning(
                    "%s: search_id refused (%s); starting the search again", ep.name, e.message
                )
                pos = Position()
                stale = False
                fresh = True
                continue
            if (
                ep.pagination == "search"
                and pos.search_id
                and is_transient_message(e.message)
                and reopen()
            ):
                # The search_id keeps being refused (it expired): open the search again with one
                # request, then jump with the new search_id to the offset already reached.
                log.warning(
                    "video_query: search_id %s refused (%s); opening the search again and "
                    "jumping to cursor %s",
                    pos.search_id,
                    e.message,
                    pos.cursor,
                )
                pos = Position(cursor=0, skip_to=pos.skip_to or pos.cursor)
                stale = False
                fresh = True
                continue
            e.position = pos  # type: ignore[attr-defined]
            raise
        except TikTokResearchError as e:
            e.position = pos  # type: ignore[attr-defined]
            raise
        stale = fresh = False
        items = extract_items(ep, reply.data)
        nxt = None if random else next_position(ep, pos, reply.data, len(items), size)
        if pos.skip_to:
            # The re-asked first page of a new search: its rows were delivered before.
            items = []
            if nxt is not None and nxt.cursor is not None and nxt.cursor < pos.skip_to:
                nxt = Position(cursor=pos.skip_to, search_id=nxt.search_id)
        data = reply.data
        sid = data.get("search_id")
        has_more = data.get("has_more")
        yield Page(
            endpoint=ep.name,
            request=reply.request,
            status=reply.status,
            raw=reply.raw,
            data=data,
            items=items,
            cursor=_as_int(data.get("cursor")),
            has_more=as_bool(has_more),
            search_id=str(sid) if sid else None,
            log_id=reply.log_id,
            retrieved_at=reply.retrieved_at,
            state=None,
            position=pos,
            next=nxt,
            archived=reply.archived,
            replayed=reply.replayed,
        )
        if nxt is None:
            return
        pos = nxt


def position_to_state(pos: Position) -> dict[str, Any]:
    """The JSON form of a position (part of a page's ``state``)."""
    return pos.to_state()


def position_from_state(state: dict[str, Any]) -> Position:
    """The position stored in a page's ``state``."""
    return Position.from_state(state) or Position()
