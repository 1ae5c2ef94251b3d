"""Pages and the paging rules of every endpoint kind, in one place.

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
none       user_info, pinned_videos, tts_shop          no next request
========== ========================================== =============================================

A sequence ends when ``has_more`` is false, when the cursor would not move (protection against a
service that keeps answering ``has_more: true`` without progress), when a comments cursor reaches
the cap of 1,000, or when a page-numbered list returns a short page. It never ends just because a
page came back short or empty while ``has_more`` is true: hidden videos still occupy cursor
positions (SPEC §5.3, §6.4.7).

Page size: the client always asks for full pages (the endpoint's maximum, or the caller's
``max_count``), also on the last page of a ``max_total`` run, and truncates the items locally. The
quota counts requests, not rows, and pages come back short when hidden items are filtered out, so
asking for exactly the rows still missing would often cost one more request; a constant page size
also keeps the offset arithmetic of a cached ``search_id`` valid. Only the comments cap shrinks the
last page (``cursor + max_count <= 1000``). The raw archive holds the complete page either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ._endpoints import COMMENTS_CAP, Endpoint

__all__ = ["Page", "Position", "build_body", "extract_items", "next_position", "page_size"]

log = logging.getLogger("tiktok_research")

STATE_VERSION = 1
_PAGING_KEYS = ("cursor", "has_more", "search_id")


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

    def __repr__(self) -> str:
        return (
            f"Page(endpoint={self.endpoint!r}, status={self.status}, items={len(self.items)}, "
            f"cursor={self.cursor!r}, has_more={self.has_more!r}, log_id={self.log_id!r}, "
            f"done={self.state is None})"
        )


@dataclass
class Position:
    """Where the next request of a sequence starts."""

    cursor: int | None = None
    search_id: str | None = None
    page_start: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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
    if ep.pagination in ("search", "index"):
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


def next_position(
    ep: Endpoint, pos: Position, data: dict[str, Any], n_items: int, size: int | None
) -> Position | None:
    """The position after an answer, or None when the sequence is complete."""
    kind = ep.pagination
    has_more = data.get("has_more")
    if kind == "none":
        return None
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
            # The offset always advances by the page size while has_more is true (SPEC §5.3).
            if size is None:
                return None
            log.warning(
                "video query: answer cursor %r did not advance; using %d", cursor, prev + size
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


def position_to_state(pos: Position) -> dict[str, Any]:
    """The JSON form of a position (part of a page's ``state``)."""
    return {"cursor": pos.cursor, "search_id": pos.search_id, "page_start": pos.page_start}


def position_from_state(state: dict[str, Any]) -> Position:
    """The position stored in a page's ``state``."""
    return Position(
        cursor=_as_int(state.get("cursor")),
        search_id=str(state["search_id"]) if state.get("search_id") else None,
        page_start=_as_int(state.get("page_start")),
    )
