"""Every method of TikTok's official wrapper (PyPI TikTokResearchApi 1.0.4), unchanged.

Run by tests/test_interop_clients.py in the side environment with the sandbox's base URL.
"""

from __future__ import annotations

from typing import Any

from redirect import outcome, params, report  # points `requests` at the sandbox
from tiktok_research_api import (
    Criteria,
    Query,
    QueryUserFollowersRequest,
    QueryUserFollowingRequest,
    QueryUserInfoRequest,
    QueryUserLikedVideosRequest,
    QueryUserPinnedVideosRequest,
    QueryUserRepostedVideosRequest,
    QueryVideoCommentsRequest,
    QueryVideoRequest,
    TikTokResearchAPI,
)

p = params()
api = TikTokResearchAPI("sandbox", "sandbox", qps=1000)
query = Query(and_criteria=[Criteria("IN", "hashtag_name", p["hashtags"])])


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [int(v["id"]) for v in items]


def videos(**kw: Any) -> dict[str, Any]:
    found, search_id, cursor, has_more, start, end = api.query_videos(
        QueryVideoRequest(query, p["start"], p["end"], **kw.pop("request")), **kw
    )
    return {"ids": ids(found), "search_id": search_id, "cursor": cursor, "has_more": has_more,
            "last_window": [start, end], "first": found[0] if found else None}  # fmt: skip


def comments(max_count: int) -> dict[str, Any]:
    found, cursor, has_more = api.query_video_comments(
        QueryVideoCommentsRequest(video_id=p["video_id"], max_count=max_count),
        fetch_all_pages=True,
    )
    return {"ids": ids(found), "cursor": cursor, "has_more": has_more, "first": found[0]}


def people(method: Any, request: Any, key: str = "username") -> list[str]:
    found, _cursor, _has_more = method(request, fetch_all_pages=True)
    return [f[key] for f in found]


result = {
    "all_pages": outcome(videos, request={"max_count": 100}, fetch_all_pages=True),
    "first_page": outcome(videos, request={"max_count": 100}, fetch_all_pages=False),
    "max_total": outcome(
        videos, request={"max_count": 100, "max_total": 150}, fetch_all_pages=True
    ),
    "random": outcome(videos, request={"max_count": 50, "is_random": True}, fetch_all_pages=True),
    "user_info": outcome(api.query_user_info, QueryUserInfoRequest(p["username"])),
    "comments_30": outcome(comments, 30),
    "comments_100": outcome(comments, 100),
    "liked": outcome(
        lambda: ids(
            api.query_user_liked_videos(
                QueryUserLikedVideosRequest(p["liked_user"], max_count=100), fetch_all_pages=True
            )[0]
        )
    ),
    "pinned": outcome(
        lambda: ids(api.query_user_pinned_videos(QueryUserPinnedVideosRequest(p["pinned_user"])))
    ),
    "reposted": outcome(
        lambda: ids(
            api.query_user_reposted_videos(
                QueryUserRepostedVideosRequest(p["reposts_user"], max_count=10),
                fetch_all_pages=True,
            )[0]
        )
    ),
    "followers": outcome(
        people,
        api.query_user_followers,
        QueryUserFollowersRequest(p["big_user"], max_count=100),
    ),
    "following": outcome(
        people,
        api.query_user_following,
        QueryUserFollowingRequest(p["following_user"], max_count=100),
    ),
}
report(result)
