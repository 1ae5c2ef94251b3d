"""Query semantics and pagination arithmetic, checked against the corpus ground truth."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from _sandboxes import Clock, MakeHttp, MakeSandbox, new_http
from tiktok_research._endpoints import ENDPOINTS, FOLLOWERS_CAP
from tiktok_research.sandbox import Sandbox

NOW = calendar.timegm((2025, 1, 15, 12, 0, 0))


CLOCK = Clock(NOW)


@pytest.fixture(scope="module")
def sb(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox(n_videos=8_000, n_users=7_000, clock=CLOCK)


@pytest.fixture(scope="module")
def http(sb: Sandbox) -> Iterator[httpx.Client]:
    client = new_http(sb)
    yield client
    client.close()


def cond(field: str, values: list[str], op: str = "IN") -> dict[str, Any]:
    return {"operation": op, "field_name": field, "field_values": values}


def post(
    http: httpx.Client, endpoint: str, body: dict[str, Any], fields: str | None = None
) -> dict[str, Any]:
    path = ENDPOINTS[endpoint].path + (f"?fields={fields}" if fields else "")
    resp = http.post(path, json=body)
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()["data"]
    return data


def day(s: str) -> int:
    return calendar.timegm(dt.datetime.strptime(s, "%Y%m%d").timetuple())


def all_pages(
    http: httpx.Client, body: dict[str, Any], fields: str = "id,create_time"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    pages = [post(http, "video_query", body, fields)]
    while pages[-1]["has_more"]:
        nxt = {**body, "cursor": pages[-1]["cursor"], "search_id": pages[-1]["search_id"]}
        pages.append(post(http, "video_query", nxt, fields))
    return [v for p in pages for v in p["videos"]], pages


def truth(
    sb: Sandbox, start: str, end: str, mask: np.ndarray | None = None
) -> tuple[set[int], int]:
    c = sb.corpus
    inwin = (c.create_time >= day(start)) & (c.create_time <= day(end) + 86_399)
    if mask is not None:
        inwin &= mask
    visible = inwin & ~c.hidden
    return set(c.ids[visible].tolist()), int(inwin.sum())


def test_pages_cover_every_match_once_in_decreasing_id_order(
    sb: Sandbox, http: httpx.Client
) -> None:
    c = sb.corpus
    body = {
        "query": {"and": [cond("hashtag_name", ["FYP"])]},
        "start_date": "20240301",
        "end_date": "20240310",
        "max_count": 37,
    }
    videos, pages = all_pages(http, body)
    ids = [v["id"] for v in videos]
    fyp = c.hashtag_mask(0, c.n_videos, c.hashtag_lower["fyp"])
    expected, candidates = truth(sb, "20240301", "20240310", fyp)
    assert ids == sorted(ids, reverse=True), "decreasing id order"
    assert len(ids) == len(set(ids)) and set(ids) == expected
    # cursor arithmetic: +max_count while has_more, last page = offset + remaining candidates
    for k, page in enumerate(pages[:-1]):
        assert page["cursor"] == 37 * (k + 1) and page["has_more"]
    assert pages[-1]["cursor"] == candidates and not pages[-1]["has_more"]
    assert len({p["search_id"] for p in pages}) == 1
    assert any(len(p["videos"]) < 37 for p in pages[:-1]), "hidden videos make short pages"


def test_and_or_not_semantics(sb: Sandbox, http: httpx.Client) -> None:
    c = sb.corpus
    q = {
        "and": [cond("region_code", ["US", "GB"])],
        "or": [cond("hashtag_name", ["cats"]), cond("keyword", ["RECIPE"])],
        "not": [cond("video_length", ["SHORT"], "EQ")],
    }
    videos, _ = all_pages(
        http,
        {"query": q, "start_date": "20240101", "end_date": "20240131", "max_count": 100},
        "id,region_code,video_duration,hashtag_names,video_description",
    )
    region = np.isin(
        c.region,
        [
            c_
            for c_ in (
                list(
                    sorted(__import__("tiktok_research._endpoints", fromlist=["x"]).REGION_CODES)
                ).index(r)
                for r in ("US", "GB")
            )
        ],
    )
    cats = c.hashtag_mask(0, c.n_videos, c.hashtag_lower["cats"])
    recipe = c.keyword_mask(0, c.n_videos, ["recipe"])
    mask = region & (cats | recipe) & ~(c.duration < 15)
    expected, _ = truth(sb, "20240101", "20240131", mask)
    assert {v["id"] for v in videos} == expected and expected
    for v in videos:
        assert v["region_code"] in ("US", "GB") and v["video_duration"] >= 15
        assert (
            "cats" in [h.lower() for h in v["hashtag_names"]]
            or "recipe" in v["video_description"].lower()
        )


def test_numeric_and_date_conditions(sb: Sandbox, http: httpx.Client) -> None:
    q = {
        "and": [
            cond("view_count", ["1000"], "GTE"),
            cond("create_date", ["20240305"], "LTE"),
            cond("comment_count", ["0"], "GT"),
        ]
    }
    videos, _ = all_pages(
        http,
        {"query": q, "start_date": "20240301", "end_date": "20240310", "max_count": 100},
        "id,view_count,comment_count,create_time",
    )
    c = sb.corpus
    mask = (
        (c.view_count >= 1000) & (c.comment_count > 0) & (c.create_time <= day("20240305") + 86_399)
    )
    expected, _ = truth(sb, "20240301", "20240310", mask)
    assert {v["id"] for v in videos} == expected and expected


def test_username_music_and_video_id_conditions(sb: Sandbox, http: httpx.Client) -> None:
    c = sb.corpus
    vid = c.sample_video_ids(1, seed=5)[0]
    row = c.row_of_id(vid)
    assert row is not None
    created = dt.datetime.fromtimestamp(int(c.create_time[row]), dt.UTC).strftime("%Y%m%d")
    base = {"start_date": created, "end_date": created, "max_count": 100}
    for field, value in (
        ("video_id", str(vid)),
        ("username", c.usernames[int(c.author[row])].upper()),
        ("music_id", str(int(c.music_ids[c.music[row]]))),
    ):
        videos, _ = all_pages(http, {**base, "query": {"and": [cond(field, [value], "EQ")]}})
        assert vid in {v["id"] for v in videos}, field


def test_end_date_is_inclusive(sb: Sandbox, http: httpx.Client) -> None:
    videos, _ = all_pages(
        http,
        {
            "query": {
                "and": [
                    cond(
                        "region_code",
                        sorted(
                            __import__("tiktok_research._endpoints", fromlist=["x"]).REGION_CODES
                        ),
                    )
                ]
            },
            "start_date": "20240310",
            "end_date": "20240310",
            "max_count": 100,
        },
    )
    expected, _ = truth(sb, "20240310", "20240310")
    assert {v["id"] for v in videos} == expected and expected
    times = [v["create_time"] for v in videos]
    assert min(times) >= day("20240310") and max(times) <= day("20240310") + 86_399
    assert max(times) > day("20240310") + 12 * 3600, "the afternoon of the end date is included"


def test_index_lag_hides_the_last_48_hours(
    sb: Sandbox, http: httpx.Client, make_sandbox: MakeSandbox, make_http: MakeHttp
) -> None:
    lagged = make_sandbox(n_videos=8_000, n_users=7_000, clock=day("20240320") + 6 * 3600)
    client = make_http(lagged)
    body = {
        "query": {"and": [cond("hashtag_name", ["fyp"])]},
        "start_date": "20240315",
        "end_date": "20240320",
        "max_count": 100,
    }
    videos, _ = all_pages(client, body)
    cutoff = day("20240320") + 6 * 3600 - 48 * 3600
    assert videos and max(v["create_time"] for v in videos) <= cutoff
    videos_now, _ = all_pages(http, body)
    assert max(v["create_time"] for v in videos_now) > cutoff, (
        "without the lag those videos are there"
    )


def test_search_id_expires(sb: Sandbox, http: httpx.Client) -> None:
    clock = CLOCK
    body = {
        "query": {"and": [cond("hashtag_name", ["fyp"])]},
        "start_date": "20240301",
        "end_date": "20240320",
        "max_count": 10,
    }
    first = post(http, "video_query", body, "id")
    nxt = {**body, "cursor": first["cursor"], "search_id": first["search_id"]}
    clock.t += 7_000
    assert http.post(ENDPOINTS["video_query"].path + "?fields=id", json=nxt).status_code == 200
    clock.t += 300
    fresh = {"Authorization": f"Bearer {sb.issue_token()}"}  # the first token expired too
    resp = http.post(ENDPOINTS["video_query"].path + "?fields=id", json=nxt, headers=fresh)
    clock.t = NOW
    assert resp.status_code == 400
    assert (
        resp.json()["error"]["message"] == f"Search Id {first['search_id']} is invalid or expired"
    )


def test_search_id_of_another_query_is_rejected(http: httpx.Client) -> None:
    body = {
        "query": {"and": [cond("hashtag_name", ["fyp"])]},
        "start_date": "20240301",
        "end_date": "20240320",
        "max_count": 10,
    }
    first = post(http, "video_query", body, "id")
    other = {
        **body,
        "query": {"and": [cond("hashtag_name", ["cats"])]},
        "cursor": 10,
        "search_id": first["search_id"],
    }
    resp = http.post(ENDPOINTS["video_query"].path + "?fields=id", json=other)
    assert resp.status_code == 400 and "is invalid or expired" in resp.json()["error"]["message"]


def test_is_random_returns_matches_without_paging(sb: Sandbox, http: httpx.Client) -> None:
    body = {
        "query": {"and": [cond("hashtag_name", ["fyp"])]},
        "start_date": "20240301",
        "end_date": "20240320",
        "max_count": 25,
        "is_random": True,
    }
    data = post(http, "video_query", body, "id,hashtag_names")
    assert len(data["videos"]) == 25 and data["has_more"] is False
    assert all("fyp" in v["hashtag_names"] for v in data["videos"])
    ids = [v["id"] for v in data["videos"]]
    assert ids != sorted(ids, reverse=True), "random order, not decreasing ids"


def test_comments_index_cursor_order_and_cap(sb: Sandbox, http: httpx.Client) -> None:
    vid = sb.corpus.video_ids_with_comments(1)[0]
    assert sb.corpus.comment_summary(vid)["comments"] > 1000
    seen: list[dict[str, Any]] = []
    cursor, has_more = 0, True
    while has_more:
        data = post(
            http,
            "comments",
            {"video_id": vid, "cursor": cursor, "max_count": 100},
            "id,like_count,parent_comment_id,video_id",
        )
        seen += data["comments"]
        cursor, has_more = data["cursor"], data["has_more"]
    assert len(seen) == 1000 and cursor == 1000, "only the top 1,000 comments"
    likes = [c["like_count"] for c in seen]
    assert likes == sorted(likes, reverse=True)
    assert all(c["parent_comment_id"] == vid == c["video_id"] for c in seen)


def test_small_comment_list_last_page(sb: Sandbox, http: httpx.Client) -> None:
    c = sb.corpus
    rows = np.flatnonzero(~c.hidden & (c.comment_count >= 3) & (c.comment_count <= 8))
    vid = int(c.ids[rows[0]])
    n = int(c.comment_count[rows[0]])
    data = post(http, "comments", {"video_id": vid, "max_count": 100}, "id")
    assert len(data["comments"]) == n and data["cursor"] == n and data["has_more"] is False


def test_replies_by_comment_id(sb: Sandbox, http: httpx.Client) -> None:
    vid = sb.corpus.video_ids_with_comments(1)[0]
    comments = post(http, "comments", {"video_id": vid, "max_count": 100}, "id,reply_count")[
        "comments"
    ]
    parent = max(comments, key=lambda x: x["reply_count"])
    data = post(
        http,
        "comments",
        {"comment_id": parent["id"], "max_count": 100},
        "id,parent_comment_id,video_id",
    )
    assert len(data["comments"]) == min(parent["reply_count"], 100)
    assert all(
        r["parent_comment_id"] == parent["id"] and r["video_id"] == vid for r in data["comments"]
    )


def test_followers_timestamp_cursor_and_cap(sb: Sandbox, http: httpx.Client) -> None:
    user = sb.corpus.sample_usernames(1, kind="many_followers")[0]
    seen: list[str] = []
    cursor: int | None = None
    pages = 0
    while True:
        body: dict[str, Any] = {"username": user, "max_count": 100}
        if cursor is not None:
            body["cursor"] = cursor
        data = post(http, "followers", body)
        seen += [f["username"] for f in data["user_followers"]]
        assert cursor is None or data["cursor"] < cursor, "timestamp cursors go back in time"
        cursor = data["cursor"]
        pages += 1
        if not data["has_more"]:
            break
    assert len(seen) == len(set(seen))
    assert 1000 < len(seen) <= FOLLOWERS_CAP
    info = post(http, "user_info", {"username": user}, "follower_count")
    assert info["follower_count"] > FOLLOWERS_CAP > len(seen) - 1


def test_followers_cursor_filters_by_time(sb: Sandbox, http: httpx.Client) -> None:
    user = sb.corpus.sample_usernames(1, kind="many_followers")[0]
    truth_list = sb.corpus.followers(sb.corpus.user_index[user])
    middle = int(truth_list.timestamps[500])
    data = post(http, "followers", {"username": user, "max_count": 10, "cursor": middle})
    expected = [sb.corpus.usernames[u] for u in truth_list.items[500:510]]
    assert [f["username"] for f in data["user_followers"]] == expected


def test_private_lists_cannot_be_returned(sb: Sandbox, http: httpx.Client) -> None:
    c = sb.corpus
    user = next(
        u for u in c.sample_usernames(200, kind="public") if not c.liked_public[c.user_index[u]]
    )
    resp = http.post(ENDPOINTS["liked_videos"].path + "?fields=id", json={"username": user})
    assert (
        resp.status_code == 400
        and "information cannot be returned" in resp.json()["error"]["message"]
    )
    resp = http.post(ENDPOINTS["followers"].path, json={"username": "nobody_here_123"})
    assert (
        resp.json()["error"]["message"]
        == "`username: nobody_here_123` is invalid: cannot find the user"
    )


def test_liked_videos_pages(sb: Sandbox, http: httpx.Client) -> None:
    c = sb.corpus
    user = max(
        c.sample_usernames(300, kind="liked_public"),
        key=lambda u: c.liked(c.user_index[u]).items.size,
    )
    total = c.liked(c.user_index[user]).items.size
    seen: list[int] = []
    body: dict[str, Any] = {"username": user, "max_count": 7}
    while True:
        data = post(http, "liked_videos", body, "id")
        seen += [v["id"] for v in data["user_liked_videos"]]
        if not data["has_more"]:
            break
        body["cursor"] = data["cursor"]
    assert len(seen) == total == len(set(seen)) and total > 7


def test_reposted_and_playlist_index_cursors(sb: Sandbox, http: httpx.Client) -> None:
    c = sb.corpus
    user = max(
        c.sample_usernames(300, kind="reposts_public"),
        key=lambda u: c.reposted(c.user_index[u]).size,
    )
    total = c.reposted(c.user_index[user]).size
    first = post(http, "reposted_videos", {"username": user, "max_count": 5}, "id")
    assert first["cursor"] == 5 and first["has_more"] and len(first["reposted_videos"]) == 5
    seen = [v["id"] for v in first["reposted_videos"]]
    data = first
    while data["has_more"]:
        data = post(
            http,
            "reposted_videos",
            {"username": user, "max_count": 100, "cursor": data["cursor"]},
            "id",
        )
        seen += [v["id"] for v in data["reposted_videos"]]
    assert data["cursor"] == total == len(seen) == len(set(seen))
    pid = max(c.playlist_ids, key=lambda p: c.playlist_videos[c.playlist_index[p]].size)
    total = int(c.playlist_videos[c.playlist_index[pid]].size)
    data = post(http, "playlist_info", {"playlist_id": pid, "max_count": 2, "cursor": 1})
    assert (
        data["cursor"] == 3
        and data["playlist_item_total"] == total
        and len(data["playlist_video_ids"]) == 2
    )


def test_pinned_and_shop_pages(sb: Sandbox, http: httpx.Client) -> None:
    c = sb.corpus
    data = post(
        http, "tts_product", {"shop_id": int(c.shop_ids[0]), "page_start": 3, "page_size": 10}
    )
    assert len(data["product_data"]) == 3, "23 products: pages of 10, 10, 3"
    shops = post(http, "tts_shop", {"shop_name": "o", "limit": 4})["shop_data"]
    assert 0 < len(shops) <= 4 and all("o" in s["shop_name"].lower() for s in shops)
    user = c.sample_usernames(1)[0]
    pinned = post(http, "pinned_videos", {"username": user}, "id")
    assert set(pinned) == {"pinned_videos_list"} and len(pinned["pinned_videos_list"]) <= 3


def test_expired_search_id_can_be_reissued(make_sandbox: MakeSandbox, make_http: MakeHttp) -> None:
    clock = Clock(NOW)
    sb = make_sandbox(n_videos=3_000, expired_search_id="reissue", clock=clock)
    http = make_http(sb, token=False)
    body = {
        "query": {"and": [cond("hashtag_name", ["fyp"])]},
        "start_date": "20240301",
        "end_date": "20240320",
        "max_count": 10,
    }
    http.headers["Authorization"] = f"Bearer {sb.issue_token()}"
    first = post(http, "video_query", body, "id")
    clock.t += 86_400
    http.headers["Authorization"] = f"Bearer {sb.issue_token()}"
    later = post(http, "video_query", {**body, "cursor": 10, "search_id": first["search_id"]}, "id")
    assert later["search_id"] != first["search_id"] and later["cursor"] == 20
    assert {v["id"] for v in later["videos"]}.isdisjoint(v["id"] for v in first["videos"])


@pytest.mark.parametrize("endpoint", ["followers", "following", "liked_videos"])
def test_timestamp_cursor_zero_means_now(sb: Sandbox, http: httpx.Client, endpoint: str) -> None:
    # api-notes §11 "Timestamp cursor 0 or absent": researchtikpy starts every such list at
    # cursor 0 and expects the newest page, exactly as if no cursor had been sent
    c = sb.corpus
    kind = {"followers": "many_followers", "following": "following_public"}.get(
        endpoint, "liked_public"
    )
    user = next(
        u
        for u in c.sample_usernames(300, kind=kind)
        if (
            c.liked(c.user_index[u]) if endpoint == "liked_videos" else c.following(c.user_index[u])
        ).items.size
        > 5
    )
    fields = "id" if endpoint == "liked_videos" else None
    key = ENDPOINTS[endpoint].data_key
    absent = post(http, endpoint, {"username": user, "max_count": 5}, fields)
    zero = post(http, endpoint, {"username": user, "max_count": 5, "cursor": 0}, fields)
    zero_text = post(http, endpoint, {"username": user, "max_count": 5, "cursor": "0"}, fields)
    assert absent[key], "the newest page is not empty"
    assert zero == absent == zero_text
    assert zero["has_more"] is True


@pytest.mark.parametrize("max_count", [30, 70, 100, 99])
def test_comment_cursors_handed_out_are_always_accepted(
    sb: Sandbox, http: httpx.Client, max_count: int
) -> None:
    # api-notes §11 "Comments cap": with max_count=30 the last page is 990 -> 1000 (trimmed), and
    # it says has_more: false; following the cursors never meets a refusal
    vid = sb.corpus.video_ids_with_comments(1)[0]
    seen: list[int] = []
    cursor, has_more, pages = 0, True, []
    while has_more:
        resp = http.post(
            ENDPOINTS["comments"].path + "?fields=id",
            json={"video_id": vid, "cursor": cursor, "max_count": max_count},
        )
        assert resp.status_code == 200, resp.text
        data = resp.json()["data"]
        seen += [c["id"] for c in data["comments"]]
        pages.append((cursor, data["cursor"], data["has_more"]))
        cursor, has_more = data["cursor"], data["has_more"]
    assert len(seen) == len(set(seen)) == 1000 and cursor == 1000
    assert pages[-1][1] == 1000 and pages[-1][2] is False
    if max_count in (30, 99):
        assert pages[-1][0] == 990 and pages[-2][1:] == (990, True)
    # a cursor past the cap (never handed out) is still refused
    resp = http.post(
        ENDPOINTS["comments"].path + "?fields=id", json={"video_id": vid, "cursor": 1000}
    )
    assert resp.status_code == 400 and "Invalid count or cursor" in resp.json()["error"]["message"]


def test_default_corpus_shows_the_followers_cap(
    make_sandbox: MakeSandbox, make_http: MakeHttp
) -> None:
    # api-notes §3.7: lists stop at about 5,000 followers; the default corpus (the demo's, the
    # notebooks', Client.sandbox()'s) is large enough for its biggest accounts to reach the cap
    box = make_sandbox(clock=NOW)
    http = make_http(box)
    c = box.corpus
    user = max(
        c.sample_usernames(50, kind="many_followers"),
        key=lambda u: c.follower_count[c.user_index[u]],
    )
    seen: list[str] = []
    body: dict[str, Any] = {"username": user, "max_count": 100}
    while True:
        data = post(http, "followers", body)
        seen += [f["username"] for f in data["user_followers"]]
        if not data["has_more"]:
            break
        body["cursor"] = data["cursor"]
    info = post(http, "user_info", {"username": user}, "follower_count")
    assert info["follower_count"] > 100_000
    assert FOLLOWERS_CAP - 10 <= len(set(seen)) == len(seen) <= FOLLOWERS_CAP
    # every listed follower is a real, public account of the corpus
    assert all(not c.is_private[c.user_index[name]] for name in seen)
