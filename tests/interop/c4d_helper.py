"""CybersecurityForDemocracy's tiktok-research-api-helper 0.1.3, unchanged.

Its request client takes injected `requests` sessions; the runner gives it plain ones (the redirect
shim points them at the sandbox). Run by tests/test_interop_clients.py in the side environment.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import requests
from redirect import BASE, outcome, params, report  # points `requests` at the sandbox
from tiktok_research_api_helper.api_client import (
    ApiClientConfig,
    TikTokApiClient,
    TikTokApiRequestClient,
    TikTokCredentials,
    VideoQueryConfig,
)
from tiktok_research_api_helper.query import Condition, Fields, Operations, VideoQuery

p = params()
request_client = TikTokApiRequestClient(
    credentials=TikTokCredentials(client_secret="sandbox", client_key="sandbox"),
    access_token_fetcher_session=requests.Session(),
    api_request_session=requests.Session(),
)
client = TikTokApiClient(
    request_client=request_client, config=ApiClientConfig(api_credentials_file=Path("unused"))
)
query = VideoQuery(and_=[Condition(Fields.hashtag_name, p["hashtags"], Operations.IN)])


def windows() -> dict[str, Any]:
    """Its video iterator over consecutive windows, as its `run-repeated` command does."""
    found: list[int] = []
    pages = 0
    day = dt.date.fromisoformat(p["start"])
    end = dt.date.fromisoformat(p["end"])
    while day < end:
        nxt = min(day + dt.timedelta(days=p["window_days"]), end)
        config = VideoQueryConfig(query=query, start_date=day, end_date=nxt, max_count=100)
        for result in client.api_results_iter(config):
            found += [int(v["id"]) for v in result.videos]
            pages += 1
        day = nxt
    return {"ids": found, "pages": pages}


def user_info(name: str) -> Any:
    answer = client.fetch_user_info(name)
    return {"user_info": answer.user_info, "error": answer.error}


def comments() -> dict[str, Any]:
    answers = client.fetch_video_comments(p["video_id"])
    return {"ids": [int(c["id"]) for a in answers for c in a.comments], "pages": len(answers)}


def token_refresh() -> Any:
    """Its token refresh on 401: the sandbox clock jumps past the token's lifetime."""
    moved = requests.post(BASE + "/_sandbox/advance", json={"seconds": p["token_ttl"] + 1})
    moved.raise_for_status()
    return user_info(p["second_username"])


result = {
    "windows": outcome(windows),
    "user_info": outcome(user_info, p["username"]),
    "private_user": outcome(user_info, p["private_user"]),
    "unknown_user": outcome(user_info, "no_such_user_here_123"),
    "comments": outcome(comments),
    "token_refresh": outcome(token_refresh),
    "requests_sent": request_client.num_api_requests_sent,
}
report(result)
