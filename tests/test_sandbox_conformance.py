"""The sandbox answers with the shapes, keys, JSON types and statuses of the recorded examples."""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from _sandboxes import Clock, MakeHttp, MakeSandbox, new_http
from _shared import example
from tiktok_research._endpoints import ENDPOINTS
from tiktok_research.sandbox import ClientSpec, Sandbox

NOW = calendar.timegm((2025, 1, 15, 12, 0, 0))
LOG_ID = re.compile(r"^\d{14}[0-9A-F]{20}$")
# Keys of doc examples that api-notes §11 decided against (or that are doc artefacts).
ARTEFACTS = {"video_id"}  # video_query docs example spells the id `video_id`; §11 picks `id`


@pytest.fixture(scope="module")
def sb(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox(
        n_videos=6_000,
        daily_quota={"research": 100_000, "social": 100_000},
        clients=(ClientSpec("sandbox", "sandbox"), ClientSpec("pending", "pw", approved=False)),
        clock=NOW,
    )


@pytest.fixture(scope="module")
def http(sb: Sandbox) -> Iterator[httpx.Client]:
    client = new_http(sb, token="request")
    yield client
    client.close()


def load(name: str) -> Any:
    return json.loads(example(name).read_text())


def call(
    http: httpx.Client, endpoint: str, body: dict[str, Any], fields: list[str] | None = None
) -> httpx.Response:
    path = ENDPOINTS[endpoint].path
    if fields:
        path += "?fields=" + ",".join(fields)
    return http.post(path, json=body)


def jtype(value: Any) -> str:
    return type(value).__name__


def item_keys(items: list[dict[str, Any]]) -> set[str]:
    return {k for item in items for k in item} - ARTEFACTS


def assert_items_conform(example: list[dict[str, Any]], actual: list[dict[str, Any]]) -> None:
    """Actual items use only the example's keys, with the same JSON types."""
    assert actual, "the sandbox returned no items to compare"
    types: dict[str, str] = {}
    for item in example:
        for k, v in item.items():
            types[k] = jtype(v)
    for item in actual:
        for k, v in item.items():
            assert k in types, f"unexpected key {k!r}"
            assert jtype(v) == types[k], f"{k}: {jtype(v)} != {types[k]}"
            if isinstance(v, list) and v and types[k] == "list":
                sample = next(x for e in example for x in e.get(k, []))
                assert jtype(v[0]) == jtype(sample), k


def assert_envelope(body: dict[str, Any], example: dict[str, Any]) -> None:
    assert set(body) == {"data", "error"}
    assert set(body["error"]) == {"code", "message", "log_id"}
    assert body["error"]["code"] == "ok"
    assert LOG_ID.match(body["error"]["log_id"])
    data_keys = set(example["data"])
    assert set(body["data"]) == data_keys, (set(body["data"]), data_keys)


def assert_error_like(resp: httpx.Response, example_name: str, status: int) -> None:
    example = load(example_name)
    body = resp.json()
    assert resp.status_code == status
    assert set(body) == set(example) == {"error"}, "error bodies carry no data key"
    assert set(body["error"]) == set(example["error"])
    assert body["error"]["code"] == example["error"]["code"]
    assert LOG_ID.match(body["error"]["log_id"])
    assert resp.headers["content-type"].startswith("application/json")


VIDEO_Q = {
    "and": [
        {"operation": "IN", "field_name": "region_code", "field_values": ["US", "GB", "DE", "BR"]}
    ]
}


def video_body(**extra: Any) -> dict[str, Any]:
    return {
        "query": VIDEO_Q,
        "start_date": "20240301",
        "end_date": "20240330",
        "max_count": 100,
        **extra,
    }


# -------------------------------------------------------------------------------------- auth
def test_token_matches_docs_example(http: httpx.Client) -> None:
    example = load("oauth_token__200__docs.json")
    form = {"client_key": "sandbox", "client_secret": "sandbox", "grant_type": "client_credentials"}
    resp = http.post("/v2/oauth/token/", data=form)
    body = resp.json()
    assert resp.status_code == 200
    assert set(body) == set(example)
    assert {k: jtype(v) for k, v in body.items()} == {k: jtype(v) for k, v in example.items()}
    assert body["access_token"].startswith("clt.") and body["expires_in"] == 7200
    assert body["token_type"] == "Bearer"


@pytest.mark.parametrize(
    ("form", "example", "error"),
    [
        (
            {"client_key": "sandbox", "grant_type": "client_credentials"},
            "oauth_token__error__invalid_request__docs.json",
            "invalid_request",
        ),
        (
            {"client_key": "sandbox", "client_secret": "nope", "grant_type": "client_credentials"},
            "oauth_token__error__invalid_client__shape_only.json",
            "invalid_client",
        ),
        (
            {"client_key": "ghost", "client_secret": "x", "grant_type": "client_credentials"},
            "oauth_token__error__invalid_client__shape_only.json",
            "invalid_client",
        ),
    ],
)
def test_token_errors_are_flat_oauth_bodies(
    http: httpx.Client, form: dict[str, str], example: str, error: str
) -> None:
    resp = http.post("/v2/oauth/token/", data=form)
    body = resp.json()
    assert resp.status_code == 401
    assert set(body) == set(load(example)) == {"error", "error_description", "log_id"}
    assert body["error"] == error
    if error == "invalid_request":
        assert body["error_description"] == "Client secret is missed in request."


def test_missing_unknown_or_malformed_token_is_401(http: httpx.Client) -> None:
    path = ENDPOINTS["video_query"].path + "?fields=id"
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Bearer clt.nope"},
        {"Authorization": "Basic abc"},
    ):
        resp = http.post(path, json=video_body(), headers=headers)
        assert_error_like(resp, "error__401__access_token_invalid__docs.json", 401)


def test_token_error_messages_follow_the_docs(
    sb: Sandbox, make_sandbox: MakeSandbox, make_http: MakeHttp
) -> None:
    # api-notes §6.1: a missing or unknown token gets DOC:ERR's description of
    # access_token_invalid; an expired one gets the message of DOC:ERR's error example
    clock = Clock(1_736_942_400.0)
    box = make_sandbox(n_videos=1_000, token_ttl=60, clock=clock)
    http = make_http(box, token=False)
    path = ENDPOINTS["video_query"].path + "?fields=id"
    missing = "The access token is invalid or not found in the request. Please refresh the token and retry."  # noqa: E501
    for headers in ({}, {"Authorization": "Bearer clt.unknown"}, {"Authorization": "Bearer"}):
        resp = http.post(path, json=video_body(), headers=headers)
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "access_token_invalid"
        assert resp.json()["error"]["message"] == missing
    token = box.issue_token()
    clock.advance(61)
    resp = http.post(path, json=video_body(), headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "access_token_invalid"
    assert (
        resp.json()["error"]["message"]
        == load("error__401__access_token_invalid__docs.json")["error"]["message"]
    )


def test_bearer_scheme_is_case_insensitive(sb: Sandbox, http: httpx.Client) -> None:
    token = http.headers["Authorization"].split()[1]
    resp = http.post(
        ENDPOINTS["user_info"].path + "?fields=display_name",
        json={"username": sb.corpus.sample_usernames(1)[0]},
        headers={"Authorization": f"bearer {token}"},
    )
    assert resp.status_code == 200


def test_unapproved_client_gets_scope_not_authorized(sb: Sandbox, http: httpx.Client) -> None:
    token = sb.issue_token("pending")
    resp = http.post(
        ENDPOINTS["video_query"].path + "?fields=id",
        json=video_body(),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_error_like(resp, "error__401__scope_not_authorized__observed.json", 401)
    assert (
        resp.json()["error"]["message"]
        == load("error__401__scope_not_authorized__observed.json")["error"]["message"]
    )


def test_client_without_followers_scope(sb: Sandbox, http: httpx.Client) -> None:
    sb.add_client("nofollow", "pw", followers_scope=False)
    token = sb.issue_token("nofollow")
    user = sb.corpus.sample_usernames(1)[0]
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        http.post(ENDPOINTS["followers"].path, json={"username": user}, headers=headers).status_code
        == 401
    )
    ok = http.post(
        ENDPOINTS["user_info"].path + "?fields=display_name",
        json={"username": user},
        headers=headers,
    )
    assert ok.status_code == 200


# -------------------------------------------------------------------------------------- video query
@pytest.mark.parametrize(
    "name",
    [
        "video_query__200__docs.json",
        "video_query__200__realistic_page1.json",
        "video_query__200__extended_fields__SHAPE_UNVERIFIED.json",
    ],
)
def test_video_query_first_page_shapes(http: httpx.Client, name: str) -> None:
    example = load(name)
    fields = sorted(item_keys(example["data"]["videos"]) | {"id"})
    resp = call(http, "video_query", video_body(), fields)
    body = resp.json()
    assert resp.status_code == 200
    assert_envelope(body, example)
    assert isinstance(body["data"]["search_id"], str) and body["data"]["search_id"].isdigit()
    assert_items_conform(example["data"]["videos"] + [{"id": 1}], body["data"]["videos"])


def test_video_query_last_page_shape(http: httpx.Client) -> None:
    example = load("video_query__200__realistic_last_page.json")
    fields = sorted(item_keys(example["data"]["videos"]))
    data = call(http, "video_query", video_body(), fields).json()["data"]
    while data["has_more"]:
        resp = call(
            http,
            "video_query",
            video_body(cursor=data["cursor"], search_id=data["search_id"]),
            fields,
        )
        data = resp.json()["data"]
    assert_envelope(resp.json(), example)
    assert data["has_more"] is False
    assert_items_conform(example["data"]["videos"], data["videos"])


def test_video_query_empty_result_shape(http: httpx.Client) -> None:
    example = load("video_query__200__empty__inferred.json")
    q = {
        "and": [
            {
                "operation": "EQ",
                "field_name": "hashtag_name",
                "field_values": ["no_such_tag_anywhere"],
            }
        ]
    }
    resp = call(http, "video_query", video_body(query=q), ["id"])
    assert_envelope(resp.json(), example)
    assert resp.json()["data"] == example["data"]


def test_null_bytes_in_usernames_fault_shape(sb: Sandbox, http: httpx.Client) -> None:
    example = load("video_query__200__null_bytes_username.json")
    sb.script_faults(["nul_usernames"], endpoint="video_query")
    fields = sorted(item_keys(example["data"]["videos"]))
    resp = call(http, "video_query", video_body(), fields)
    assert_envelope(
        resp.json(), {"data": {**example["data"], "search_id": "", "cursor": 0, "has_more": True}}
    )
    assert b"\\u0000" in resp.content
    assert all("\x00" in v["username"] for v in resp.json()["data"]["videos"])
    assert_items_conform(example["data"]["videos"], resp.json()["data"]["videos"])


def test_big_ids_are_bare_json_integers(http: httpx.Client) -> None:
    resp = call(http, "video_query", video_body(), ["id", "music_id", "view_count"])
    raw = resp.content.decode()
    videos = resp.json()["data"]["videos"]
    assert any(v["id"] > 2**53 for v in videos)
    for v in videos[:10]:
        assert f'"id":{v["id"]}' in raw
        assert f'"music_id":{v["music_id"]}' in raw
    assert re.search(r'"search_id":"\d+"', raw), "search_id is a JSON string of digits"


def test_some_view_counts_exceed_32_bits(sb: Sandbox) -> None:
    assert int(sb.corpus.view_count.max()) > 2**31


def test_body_parsed_as_json_whatever_the_content_type(http: httpx.Client) -> None:
    path = ENDPOINTS["video_query"].path + "?fields=id"
    body = json.dumps(video_body(max_count="5"))
    resp = http.post(path, content=body, headers={"Content-Type": "text/plain"})
    assert resp.status_code == 200
    assert len(resp.json()["data"]["videos"]) <= 5


def test_spaces_in_fields_are_trimmed(http: httpx.Client) -> None:
    resp = http.post(
        ENDPOINTS["video_query"].path + "?fields=id, create_time,  region_code", json=video_body()
    )
    assert resp.status_code == 200
    assert set(resp.json()["data"]["videos"][0]) == {"id", "create_time", "region_code"}


# ------------------------------------------------------------------------ other endpoints
def test_user_info_shapes(sb: Sandbox, http: httpx.Client) -> None:
    for name in ("user_info__200__docs.json", "user_info__200__realistic.json"):
        example = load(name)
        fields = sorted(example["data"])
        user = sb.corpus.sample_usernames(1, seed=3)[0]
        resp = call(http, "user_info", {"username": user}, fields)
        body = resp.json()
        assert resp.status_code == 200 and set(body) == {"data", "error"}
        assert set(body["data"]) == set(example["data"])
        assert {k: jtype(v) for k, v in body["data"].items()} == {
            k: jtype(v) for k, v in example["data"].items()
        }


def test_user_info_never_echoes_username(sb: Sandbox, http: httpx.Client) -> None:
    # the getting-started doc shows `username` in data; the real service omits it (api-notes §3.2)
    user = sb.corpus.sample_usernames(1)[0]
    resp = call(http, "user_info", {"username": user}, ["display_name", "follower_count"])
    assert "username" not in resp.json()["data"]


def test_user_errors_match_observed_examples(sb: Sandbox, http: httpx.Client) -> None:
    resp = call(http, "user_info", {"username": "sample_missing_user"}, ["display_name"])
    assert_error_like(resp, "error__400__user_not_found__observed.json", 400)
    assert (
        resp.json()["error"]["message"]
        == load("error__400__user_not_found__observed.json")["error"]["message"]
    )
    private = sb.corpus.sample_usernames(1, kind="private")[0]
    resp = call(http, "user_info", {"username": private}, ["display_name"])
    assert_error_like(resp, "error__400__user_refused__observed.json", 400)
    assert resp.json()["error"]["message"] == "API cannot return this user's information"


def test_comment_shapes(sb: Sandbox, http: httpx.Client) -> None:
    vid = sb.corpus.video_ids_with_comments(1)[0]
    for name in ("comments__200__docs_video_id.json", "comments__200__realistic_last_page.json"):
        example = load(name)
        fields = sorted(item_keys(example["data"]["comments"]))
        resp = call(http, "comments", {"video_id": vid, "max_count": 50}, fields)
        assert_envelope(resp.json(), example)
        assert_items_conform(example["data"]["comments"], resp.json()["data"]["comments"])


def test_reply_shape(sb: Sandbox, http: httpx.Client) -> None:
    example = load("comments__200__docs_comment_id_replies.json")
    vid = sb.corpus.video_ids_with_comments(1)[0]
    comments = call(
        http, "comments", {"video_id": vid, "max_count": 100}, ["id", "reply_count"]
    ).json()["data"]["comments"]
    parent = next(c for c in comments if c["reply_count"] > 0)
    fields = sorted(item_keys(example["data"]["comments"]) - {"display_name"})
    resp = call(http, "comments", {"comment_id": parent["id"]}, fields)
    assert_envelope(resp.json(), example)
    replies = resp.json()["data"]["comments"]
    assert_items_conform(example["data"]["comments"], replies)
    assert {r["parent_comment_id"] for r in replies} == {parent["id"]}


@pytest.mark.parametrize(
    ("endpoint", "name", "kind"),
    [
        ("followers", "followers__200__docs.json", "public"),
        ("followers", "followers__200__realistic_last_page.json", "public"),
        ("following", "following__200__docs.json", "following_public"),
        ("liked_videos", "liked_videos__200__docs_adapted.json", "liked_public"),
        ("reposted_videos", "reposted_videos__200__docs.json", "reposts_public"),
    ],
)
def test_user_list_shapes(
    sb: Sandbox, http: httpx.Client, endpoint: str, name: str, kind: str
) -> None:
    example = load(name)
    list_key = next(k for k, v in example["data"].items() if isinstance(v, list))
    fields = (
        None
        if endpoint in ("followers", "following")
        else sorted(item_keys(example["data"][list_key]))
    )
    for user in sb.corpus.sample_usernames(50, seed=1, kind=kind):
        resp = call(http, endpoint, {"username": user, "max_count": 100}, fields)
        if resp.json()["data"][list_key]:
            break
    assert_envelope(resp.json(), example)
    assert {k: jtype(v) for k, v in resp.json()["data"].items()} == {
        k: jtype(v) for k, v in example["data"].items()
    }
    assert_items_conform(example["data"][list_key], resp.json()["data"][list_key])


def test_pinned_shape(sb: Sandbox, http: httpx.Client) -> None:
    example = load("pinned_videos__200__docs.json")
    fields = sorted(item_keys(example["data"]["pinned_videos_list"]))
    for user in sb.corpus.sample_usernames(50, seed=2):
        resp = call(http, "pinned_videos", {"username": user}, fields)
        if resp.json()["data"]["pinned_videos_list"]:
            break
    assert_envelope(resp.json(), example)
    assert_items_conform(
        example["data"]["pinned_videos_list"], resp.json()["data"]["pinned_videos_list"]
    )


def test_playlist_shape(sb: Sandbox, http: httpx.Client) -> None:
    example = load("playlist_info__200__docs.json")
    pid = sb.corpus.playlist_ids[0]
    resp = http.post(
        ENDPOINTS["playlist_info"].path + "?fields=playlist_id",
        json={"playlist_id": pid, "max_count": 2},
    )
    assert_envelope(resp.json(), example)
    data = resp.json()["data"]
    assert {k: jtype(v) for k, v in data.items()} == {
        k: jtype(v) for k, v in example["data"].items()
    }
    assert data["playlist_id"] == pid and len(data["playlist_video_ids"]) == 2


@pytest.mark.parametrize(
    ("endpoint", "name"),
    [
        ("tts_shop", "tts_shop__200__docs.json"),
        ("tts_product", "tts_product__200__docs.json"),
        ("tts_review", "tts_review__200__docs.json"),
    ],
)
def test_tiktok_shop_shapes(sb: Sandbox, http: httpx.Client, endpoint: str, name: str) -> None:
    example = load(name)
    key = next(iter(example["data"]))
    fields = ",".join(sorted(item_keys(example["data"][key])))
    corpus = sb.corpus
    shop = 0
    product = int(corpus.product_ids[0])
    body: dict[str, Any] = {
        "tts_shop": {"shop_name": "test shop", "limit": 10, "fields": fields},
        "tts_product": {
            "shop_id": int(corpus.shop_ids[shop]),
            "page_start": 1,
            "page_size": 10,
            "fields": fields,
        },
        "tts_review": {
            "product_id": str(product),
            "page_start": 1,
            "page_size": 10,
            "fields": fields,
        },
    }[endpoint]
    resp = http.post(ENDPOINTS[endpoint].path, json=body)
    data = resp.json()["data"]
    assert resp.status_code == 200 and set(data) == {key}
    assert_items_conform(example["data"][key], data[key])


# ------------------------------------------------------------------------ error examples
def test_internal_error_and_gateway_timeout_examples(sb: Sandbox, http: httpx.Client) -> None:
    sb.script_faults(["internal_error", "gateway_timeout"], endpoint="video_query")
    resp = call(http, "video_query", video_body(), ["id"])
    assert_error_like(resp, "error__500__internal_error__message_observed_code_inferred.json", 500)
    resp = call(http, "video_query", video_body(), ["id"])
    assert resp.status_code == 504
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.text.lstrip().startswith("<html>")


def test_invalid_count_or_cursor_body_is_verbatim_shape(sb: Sandbox, http: httpx.Client) -> None:
    first = call(http, "video_query", video_body(), ["id"]).json()["data"]
    sb.script_faults(["cursor_invalid"], endpoint="video_query")
    resp = call(
        http,
        "video_query",
        video_body(cursor=first["cursor"], search_id=first["search_id"]),
        ["id"],
    )
    assert_error_like(resp, "error__400__invalid_count_or_cursor__observed.json", 400)
    assert resp.json()["error"]["message"] == "Invalid count or cursor"


def test_search_id_invalid_example(http: httpx.Client) -> None:
    resp = call(
        http, "video_query", video_body(cursor=100, search_id="7378809778820092971"), ["id"]
    )
    assert_error_like(resp, "error__400__search_id_invalid_or_expired__observed.json", 400)
    assert resp.json()["error"]["message"] == "Search Id 7378809778820092971 is invalid or expired"


def test_unknown_path_and_missing_trailing_slash(http: httpx.Client) -> None:
    resp = http.post("/v2/research/video/query?fields=id", json=video_body())
    assert resp.status_code == 404
    assert "slash" in resp.json()["error"]["message"]
