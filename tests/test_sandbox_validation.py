"""Each validation error: 400 invalid_params, a message naming the problem, no quota spent."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from _sandboxes import MakeSandbox, new_http
from tiktok_research._endpoints import ENDPOINTS
from tiktok_research.sandbox import Sandbox

NOW = calendar.timegm((2025, 1, 15, 12, 0, 0))


@pytest.fixture(scope="module")
def sb(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox(n_videos=3_000, clock=NOW)


@pytest.fixture(scope="module")
def http(sb: Sandbox) -> Iterator[httpx.Client]:
    client = new_http(sb)
    yield client
    client.close()


def cond(field: str, values: list[Any], op: str = "IN") -> dict[str, Any]:
    return {"operation": op, "field_name": field, "field_values": values}


GOOD = {
    "query": {"and": [cond("region_code", ["US"])]},
    "start_date": "20240101",
    "end_date": "20240131",
}


def vq(**changes: Any) -> dict[str, Any]:
    body = dict(GOOD)
    for k, v in changes.items():
        if v is None:
            body.pop(k, None)
        else:
            body[k] = v
    return body


VIDEO_CASES = [
    ("unknown field", "id,favourites_count", vq(), r"favourites_count.*favorites_count"),
    ("fields missing", "", vq(), r"fields is required"),
    (
        "unknown field_name",
        "id",
        vq(query={"and": [cond("hashtag", ["cats"])]}),
        r"field_name 'hashtag'.*hashtag_name",
    ),
    (
        "bad operation",
        "id",
        vq(query={"and": [cond("region_code", ["US"], op="CONTAINS")]}),
        r"operation 'CONTAINS'",
    ),
    (
        "EQ with several values",
        "id",
        vq(query={"and": [cond("region_code", ["US", "GB"], op="EQ")]}),
        r"EQ must have one field value",
    ),
    (
        "GT on a text field",
        "id",
        vq(query={"and": [cond("username", ["a"], op="GT")]}),
        r"GT is not supported for field_name username",
    ),
    (
        "unknown region",
        "id",
        vq(query={"and": [cond("region_code", ["UK"])]}),
        r"region_code 'UK'.*GB",
    ),
    (
        "bad video_length",
        "id",
        vq(query={"and": [cond("video_length", ["TINY"])]}),
        r"video_length 'TINY'",
    ),
    (
        "bad create_date value",
        "id",
        vq(query={"and": [cond("create_date", ["2024-01-01"], op="EQ")]}),
        r"YYYYMMDD",
    ),
    (
        "non-numeric view_count",
        "id",
        vq(query={"and": [cond("view_count", ["many"], op="GT")]}),
        r"view_count values must be digit strings",
    ),
    (
        "empty field_values",
        "id",
        vq(query={"and": [cond("keyword", [])]}),
        r"field_values is required",
    ),
    ("empty query", "id", vq(query={"and": [], "or": [], "not": []}), r"query is empty"),
    ("missing query", "id", vq(query=None), r"query is required"),
    (
        "unknown query group",
        "id",
        vq(query={"AND": [cond("region_code", ["US"])]}),
        r"Invalid key\(s\) in query: AND",
    ),
    ("missing start_date", "id", vq(start_date=None), r"start_date is required"),
    ("missing end_date", "id", vq(end_date=None), r"end_date is required"),
    (
        "malformed date",
        "id",
        vq(start_date="2024-01-01"),
        r"start_date must be a date written YYYYMMDD",
    ),
    (
        "impossible date",
        "id",
        vq(end_date="20240231"),
        r"end_date 20240231 is not a valid calendar date",
    ),
    (
        "end before start",
        "id",
        vq(start_date="20240201", end_date="20240131"),
        r"end_date 20240131 is before start_date 20240201",
    ),
    ("window over 30 days", "id", vq(end_date="20240201"), r"no more than 30 days.*31 days"),
    (
        "max_count zero",
        "id",
        vq(max_count=0),
        r"max_count must be at least 1 and at most 100, got 0",
    ),
    (
        "max_count too big",
        "id",
        vq(max_count=101),
        r"max_count must be at least 1 and at most 100, got 101",
    ),
    ("max_count not a number", "id", vq(max_count="lots"), r"max_count must be an integer"),
    ("negative cursor", "id", vq(cursor=-1), r"cursor must be at least 0"),
    (
        "cursor without search_id",
        "id",
        vq(cursor=100),
        r"search_id is required when cursor is not 0",
    ),
]


@pytest.mark.parametrize(
    ("case", "fields", "body", "pattern"), VIDEO_CASES, ids=[c[0] for c in VIDEO_CASES]
)
def test_video_query_validation(
    sb: Sandbox, http: httpx.Client, case: str, fields: str, body: dict[str, Any], pattern: str
) -> None:
    before = sb.requests_spent().get("video_query", 0)
    path = ENDPOINTS["video_query"].path + (f"?fields={fields}" if fields else "")
    resp = http.post(path, json=body)
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert err["code"] == "invalid_params"
    assert re.search(pattern, err["message"]), err["message"]
    assert "data" not in resp.json()
    assert sb.requests_spent().get("video_query", 0) == before, (
        "4xx answers do not count against the quota"
    )


def test_exactly_30_days_is_accepted(http: httpx.Client) -> None:
    resp = http.post(
        ENDPOINTS["video_query"].path + "?fields=id",
        json=vq(start_date="20240101", end_date="20240131"),
    )
    assert resp.status_code == 200


def test_favorites_count_is_accepted(http: httpx.Client) -> None:
    resp = http.post(ENDPOINTS["video_query"].path + "?fields=id,favorites_count", json=vq())
    assert resp.status_code == 200
    assert "favorites_count" in resp.json()["data"]["videos"][0]


def test_fields_in_body_instead_of_query_string_is_explained(http: httpx.Client) -> None:
    resp = http.post(ENDPOINTS["video_query"].path, json={**vq(), "fields": "id"})
    assert resp.status_code == 400
    assert "query string" in resp.json()["error"]["message"]


def test_body_that_is_not_json(http: httpx.Client) -> None:
    resp = http.post(ENDPOINTS["video_query"].path + "?fields=id", content=b"{not json")
    assert resp.status_code == 400
    assert "not valid JSON" in resp.json()["error"]["message"]


OTHER_CASES = [
    ("comments without video_id", "comments", {"max_count": 10}, "id", r"video_id is required"),
    (
        "both video_id and comment_id",
        "comments",
        {"video_id": 1, "comment_id": 2},
        "id",
        r"video_id and comment_id cannot both be sent",
    ),
    (
        "comments past the top 1000",
        "comments",
        {"video_id": 1, "cursor": 1000, "max_count": 100},
        "id",
        r"Invalid count or cursor: .* cursor must be below 1000",
    ),
    (
        "video_id beyond int64",
        "comments",
        {"video_id": 12345678910987654321},
        "id",
        r"video_id must fit in a signed 64-bit integer",
    ),
    (
        "comments max_count too big",
        "comments",
        {"video_id": 1, "max_count": 101},
        "id",
        r"max_count must be at least 1 and at most 100",
    ),
    (
        "comments unknown field",
        "comments",
        {"video_id": 1},
        "id,author",
        r"Invalid field name\(s\): author",
    ),
    ("user info without username", "user_info", {}, "display_name", r"username is required"),
    (
        "user info unknown field",
        "user_info",
        {"username": "x"},
        "display_name,username",
        r"Invalid field name\(s\): username",
    ),
    ("liked without username", "liked_videos", {}, "id", r"username is required"),
    ("followers without username", "followers", {"max_count": 5}, None, r"username is required"),
    (
        "followers max_count too big",
        "followers",
        {"username": "USER", "max_count": 500},
        None,
        r"max_count must be at least 1 and at most 100",
    ),
    ("playlist without id", "playlist_info", {}, None, r"playlist_id is required"),
    (
        "unknown playlist",
        "playlist_info",
        {"playlist_id": 42},
        None,
        r"playlist_id: 42.*cannot find the playlist",
    ),
    ("shop without name", "tts_shop", {"limit": 5}, None, r"shop_name is required"),
    (
        "shop limit over 10",
        "tts_shop",
        {"shop_name": "x", "limit": 11},
        None,
        r"limit must be at least 1 and at most 10",
    ),
    (
        "product page_size over 10",
        "tts_product",
        {"shop_id": 1, "page_size": 20},
        None,
        r"page_size must be at least 1 and at most 10",
    ),
    ("review without product_id", "tts_review", {}, None, r"product_id is required"),
    (
        "unknown tts field",
        "tts_shop",
        {"shop_name": "x", "fields": "shop_name,owner"},
        None,
        r"Invalid field name\(s\): owner",
    ),
]


@pytest.mark.parametrize(
    ("case", "endpoint", "body", "fields", "pattern"), OTHER_CASES, ids=[c[0] for c in OTHER_CASES]
)
def test_other_endpoint_validation(
    sb: Sandbox,
    http: httpx.Client,
    case: str,
    endpoint: str,
    body: dict[str, Any],
    fields: str | None,
    pattern: str,
) -> None:
    if body.get("username") == "USER":
        body = {**body, "username": sb.corpus.sample_usernames(1)[0]}
    path = ENDPOINTS[endpoint].path + (f"?fields={fields}" if fields else "")
    resp = http.post(path, json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "invalid_params"
    assert re.search(pattern, resp.json()["error"]["message"]), resp.json()["error"]["message"]


def test_numeric_strings_are_accepted(sb: Sandbox, http: httpx.Client) -> None:
    vid = sb.corpus.video_ids_with_comments(1)[0]
    resp = http.post(
        ENDPOINTS["comments"].path + "?fields=id",
        json={"video_id": str(vid), "max_count": "100", "cursor": "0"},
    )
    assert resp.status_code == 200
    assert len(resp.json()["data"]["comments"]) == 100
