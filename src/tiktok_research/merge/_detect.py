"""What a file holds: the kind of its values, the endpoint of a page, the table of a record.

Detected from the content (whatever the file extension): archive envelopes, API responses or bare
records; the endpoint from an envelope's meta or from the keys of a response's ``data``; the table
of bare records from their keys (and the file name for followers / following). The username of a
user-info answer and the video id of comments can come from the file name.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

from .. import _endpoints as ep
from .. import tables
from .._adlib_tables import adlib_endpoint_of

REQUEST_KEYS = frozenset(
    {"max_count", "cursor", "query", "start_date", "end_date", "fields", "limit", "page_size",
     "page_start", "search_id"}
)  # fmt: skip
_INFO_NAME = re.compile(r"^@?(?P<name>.+?)_info(?:\.[^.]*)*$")
_COMMENTS_NAME = re.compile(r"^comments_(?P<id>\d+)(?:\.[^.]*)*$")

TOO_DEEP = "JSON nested too deeply to decode (more than about 1,000 levels)"
NO_DATA = "page holds no data of a known endpoint"
NO_TABLE = "cannot tell which table these records belong to; pass endpoint="
LAYOUTS = {
    "envelope": "raw archive (JSON lines)",
    "response": "JSON lines of responses",
    "records": "JSON lines of records",
}


def kind_of(first: Any) -> str:
    """``envelope``, ``response``, ``records`` or ``unknown``, from a file's first value."""
    if isinstance(first, dict):
        if "meta" in first and ("response" in first or "response_text" in first):
            return "envelope"
        if "data" in first or "error" in first:
            return "response"
        return "records"
    return "unknown"


def guess_table(record: dict[str, Any], name: str, endpoint: str | None) -> str | None:
    """Table of a bare record, from its keys (and the file name for followers vs following)."""
    if endpoint is not None:
        return ep.ENDPOINTS[endpoint].table
    keys = set(record)
    lower = name.lower()
    if keys & REQUEST_KEYS:
        return None  # a request body, not a record
    if keys & {"text", "parent_comment_id", "reply_count"}:
        return "comments"
    if keys & {"review_text", "review_rating"}:
        return "reviews"
    if keys & {"product_id", "product_price", "product_sold_count"}:
        return "products"
    if keys & {"shop_rating", "shop_id", "item_sold_count"}:
        return "shops"
    if keys & {"playlist_video_ids", "playlist_name"}:
        return "playlists"
    if keys & {"follower_count", "following_count", "bio_description", "avatar_url", "is_verified"}:
        return "users"
    if keys & {"id", "video_id", "video_description", "view_count", "hashtag_names"}:
        for t in ("liked_videos", "pinned_videos", "reposted_videos"):
            if t.split("_")[0] in lower:
                return t
        return "videos"
    if keys and keys <= {"display_name", "username"}:
        if "following" in lower:
            return "following"
        if "follower" in lower:
            return "followers"
    return None


def is_adlib(value: Any) -> bool:
    """A page of the Commercial Content API (the ad library), decoded or as a line of JSON.

    Its answers have rows of their own (:func:`tiktok_research._adlib_tables.adlib_pages`), read
    page by page: the ad library's pages are small (at most 50 items).
    """
    if isinstance(value, (bytes, str)):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return False
    return adlib_endpoint_of(value) is not None


def endpoint_of_line(line: bytes, envelope: bool) -> str | None:
    """Endpoint of one page given as a line of JSON (None if it cannot be decoded)."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return endpoint_of(obj, envelope)


def endpoint_of(obj: Any, envelope: bool) -> str | None:
    """Endpoint of one decoded page (its envelope's meta, else the keys of its ``data``)."""
    if not isinstance(obj, dict):
        return None
    if envelope:
        name = (obj.get("meta") or {}).get("endpoint")
        return name if name in ep.ENDPOINTS else None
    data = obj.get("data")
    if not isinstance(data, dict):
        return None
    for e in ep.ENDPOINTS.values():
        if e.data_key and any(k in data for k in (e.data_key, *e.alt_data_keys)):
            return e.name
    if any(k in data for k in ("playlist_name", "playlist_video_ids")):
        return "playlist_info"
    if any(k in data for k in ep.USER_INFO_FIELDS):
        return "user_info"
    return None


class Sniffer:
    """Reports unknown API fields in a few pages of each file, once per shape of page.

    ``tables.sniff_unknown`` looks at the keys of ``data`` and of its items only; pages with the
    same keys as one already looked at (thousands of small files of one endpoint) are not looked
    at again. A page too deep to decode is not looked at.
    """

    def __init__(self, endpoint: str | None) -> None:
        self.endpoint = endpoint
        self.seen: set[tuple[str | None, frozenset[str], frozenset[str]]] = set()

    def __call__(self, sample: list[Any]) -> None:
        for page in sample:
            try:
                obj = json.loads(page) if isinstance(page, (bytes, str)) else page
            except (ValueError, RecursionError):
                continue
            if not isinstance(obj, dict):
                continue
            where, whole = None, obj
            if "response" in obj and "meta" in obj:
                where = str((obj.get("meta") or {}).get("endpoint"))
                obj = obj.get("response")
            data = obj.get("data") if isinstance(obj, dict) else None
            if not isinstance(data, dict):
                continue
            items = frozenset(
                str(k)
                for v in data.values()
                if isinstance(v, list)
                for item in v
                if isinstance(item, dict)
                for k in item
            )
            shape = (where, frozenset(map(str, data)), items)
            if shape in self.seen:
                continue
            self.seen.add(shape)
            with contextlib.suppress(RecursionError):
                tables.sniff_unknown([whole], self.endpoint)


def name_hints(path: Path) -> dict[str, str]:
    """Values the API leaves out that a file name gives: ``username``, ``video_id``."""
    hints: dict[str, str] = {}
    if m := _INFO_NAME.match(path.name):
        hints["username"] = m.group("name")
    if m := _COMMENTS_NAME.match(path.name):
        hints["video_id"] = m.group("id")
    return hints
