"""The sandbox over real HTTP on 127.0.0.1, the async transport, and byte-for-byte determinism."""

from __future__ import annotations

import asyncio
import calendar
import json
import urllib.request
from typing import Any

import httpx
import pytest

from _sandboxes import TOKEN_FORM, MakeSandbox, new_http, new_sandbox
from tiktok_research._endpoints import ENDPOINTS
from tiktok_research.sandbox import Sandbox, run_server

NOW = calendar.timegm((2025, 1, 15, 12, 0, 0))
BODY = {
    "query": {"and": [{"operation": "EQ", "field_name": "hashtag_name", "field_values": ["fyp"]}]},
    "start_date": "20240601",
    "end_date": "20240615",
    "max_count": 50,
}
FORM = TOKEN_FORM


@pytest.mark.http
def test_server_speaks_the_same_api_over_http(make_sandbox: MakeSandbox) -> None:
    sb = make_sandbox(n_videos=2_000, clock=NOW)
    with run_server(sb) as (base_url, served):
        assert served is sb and base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base_url) as http:
            token = http.post("/v2/oauth/token/", data=FORM).json()["access_token"]
            resp = http.post(
                ENDPOINTS["video_query"].path + "?fields=id,username",
                json=BODY,
                headers={"Authorization": f"Bearer {token}"},
            )
            assert resp.status_code == 200 and resp.json()["data"]["videos"]
            assert http.post(ENDPOINTS["video_query"].path, json=BODY).status_code == 401
        # a client with nothing but the standard library (text/plain body, like some real clients)
        req = urllib.request.Request(
            base_url + ENDPOINTS["user_info"].path + "?fields=display_name",
            data=json.dumps({"username": sb.corpus.sample_usernames(1)[0]}).encode(),
            headers={"Authorization": f"bearer {token}", "Content-Type": "text/plain"},
            method="POST",
        )
        with urllib.request.urlopen(req) as answer:
            assert json.loads(answer.read())["error"]["code"] == "ok"
    assert sb.requests_spent() == {"oauth_token": 1, "video_query": 1, "user_info": 1}


@pytest.mark.http
def test_server_gateway_timeout_is_html(make_sandbox: MakeSandbox) -> None:
    sb = make_sandbox(n_videos=1_000, clock=NOW)
    sb.script_faults(["gateway_timeout"])
    with run_server(sb) as (base_url, _), httpx.Client(base_url=base_url) as http:
        headers = {"Authorization": f"Bearer {sb.issue_token()}"}
        resp = http.post(ENDPOINTS["video_query"].path + "?fields=id", json=BODY, headers=headers)
        assert resp.status_code == 504 and resp.headers["content-type"].startswith("text/html")


def test_async_transport_overlaps_latency(make_sandbox: MakeSandbox) -> None:
    sb = make_sandbox(n_videos=1_000, latency=0.2, clock=NOW)
    token = sb.issue_token()

    async def main() -> list[int]:
        async with httpx.AsyncClient(
            transport=sb.async_transport(), base_url=Sandbox.BASE_URL
        ) as http:
            calls = [
                http.post(
                    ENDPOINTS["video_query"].path + "?fields=id",
                    json=BODY,
                    headers={"Authorization": f"Bearer {token}"},
                )
                for _ in range(5)
            ]
            loop = asyncio.get_running_loop()
            t = loop.time()
            answers = await asyncio.gather(*calls)
            assert loop.time() - t < 0.2 * 5 * 0.8, "concurrent requests overlap their latency"
            return [a.status_code for a in answers]

    assert asyncio.run(main()) == [200] * 5


def session(seed: int) -> list[bytes]:
    sb = new_sandbox(n_videos=3_000, seed=seed, clock=NOW)
    http = new_http(sb, token=False)
    out = [http.post("/v2/oauth/token/", data=FORM).content]
    http.headers["Authorization"] = "Bearer " + json.loads(out[0])["access_token"]
    data: dict[str, Any] = {"has_more": True}
    body = dict(BODY)
    while data["has_more"]:
        resp = http.post(
            ENDPOINTS["video_query"].path + "?fields=id,username,video_description,view_count",
            json=body,
        )
        out.append(resp.content)
        data = resp.json()["data"]
        body.update(cursor=data.get("cursor", 0), search_id=data.get("search_id"))
    vid = sb.corpus.video_ids_with_comments(1)[0]
    out.append(
        http.post(
            ENDPOINTS["comments"].path + "?fields=id,text,like_count", json={"video_id": vid}
        ).content
    )
    user = sb.corpus.sample_usernames(1, seed=4)[0]
    out.append(http.post(ENDPOINTS["followers"].path, json={"username": user}).content)
    return out


def test_same_seed_same_bytes_and_other_seed_other_corpus() -> None:
    first = session(0)
    assert len(first) > 3
    assert first == session(0)
    assert first[1] != session(1)[1]
