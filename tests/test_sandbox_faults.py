"""Quotas, token expiry, rate limits and every fault kind (seeded rates and scripts)."""

from __future__ import annotations

import calendar
from typing import Any

import httpx
import pytest

from _sandboxes import Clock, new_http, new_sandbox
from tiktok_research._endpoints import ENDPOINTS
from tiktok_research.sandbox import FAULT_KINDS, FaultConfig, Sandbox

START = calendar.timegm((2025, 1, 15, 23, 50, 0))  # ten minutes before midnight UTC
N = 2_000


def make(clock: Clock | None = None, **config: Any) -> tuple[Sandbox, httpx.Client]:
    """A sandbox of N videos (its clock stopped at START unless given), and a raw HTTP client that
    asked the token endpoint for its token."""
    sb = new_sandbox(n_videos=N, clock=clock or Clock(START), **config)
    return sb, new_http(sb, token="request")


BODY = {
    "query": {
        "and": [
            {
                "operation": "IN",
                "field_name": "region_code",
                "field_values": ["US", "GB", "DE", "FR", "BR"],
            }
        ]
    },
    "start_date": "20240101",
    "end_date": "20240130",
    "max_count": 10,
}
VQ = (
    ENDPOINTS["video_query"].path
    + "?fields=id,username,like_count,comment_count,share_count,view_count"
)


def first_and_next(http: httpx.Client) -> tuple[httpx.Response, dict[str, Any]]:
    first = http.post(VQ, json=BODY)
    data = first.json()["data"]
    return first, {**BODY, "cursor": data["cursor"], "search_id": data["search_id"]}


def test_daily_quota_exhausts_and_resets_at_midnight_utc() -> None:
    clock = Clock(START)
    sb, http = make(clock, daily_quota={"research": 3, "social": 20_000})
    for _ in range(3):
        assert http.post(VQ, json=BODY).status_code == 200
    resp = http.post(VQ, json=BODY)
    assert resp.status_code == 429
    assert resp.json()["error"]["code"] == "daily_quota_limit_exceeded"
    assert "00:00 UTC" in resp.json()["error"]["message"]
    user = sb.corpus.sample_usernames(1)[0]
    assert http.post(ENDPOINTS["followers"].path, json={"username": user}).status_code == 200, (
        "separate family"
    )
    assert sb.requests_spent() == {"oauth_token": 1, "video_query": 3, "followers": 1}
    clock.t += 599  # 23:59:59
    assert http.post(VQ, json=BODY).status_code == 429
    clock.t += 1  # 00:00:00 UTC: a new day
    assert http.post(VQ, json=BODY).status_code == 200
    assert sb.quota_remaining()["research"] == 2


def test_quota_error_code_is_configurable() -> None:
    _, http = make(daily_quota={"research": 0, "social": 0}, quota_error_code="rate_limit_exceeded")
    resp = http.post(VQ, json=BODY)
    assert resp.status_code == 429 and resp.json()["error"]["code"] == "rate_limit_exceeded"


def test_5xx_count_against_quota_and_4xx_do_not() -> None:
    sb, http = make()
    sb.script_faults(["internal_error", "gateway_timeout", "error_with_valid_body"])
    assert [http.post(VQ, json=BODY).status_code for _ in range(3)] == [500, 504, 500]
    assert http.post(VQ, json={**BODY, "max_count": 0}).status_code == 400
    http.post(VQ, json=BODY, headers={"Authorization": "Bearer clt.wrong"})
    assert sb.requests_spent()["video_query"] == 3
    records = [r for r in sb.request_log if r.endpoint == "video_query"]
    assert [r.counted for r in records] == [True, True, True, False, False]
    assert [r.fault for r in records[:3]] == [
        "internal_error",
        "gateway_timeout",
        "error_with_valid_body",
    ]


def test_token_expires_after_its_ttl() -> None:
    clock = Clock(START)
    _, http = make(clock, token_ttl=600)
    assert http.post(VQ, json=BODY).status_code == 200
    clock.t += 599
    assert http.post(VQ, json=BODY).status_code == 200
    clock.t += 1
    resp = http.post(VQ, json=BODY)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "access_token_invalid"
    form = {"client_key": "sandbox", "client_secret": "sandbox", "grant_type": "client_credentials"}
    token = http.post("/v2/oauth/token/", data=form).json()
    assert token["expires_in"] == 600
    assert (
        http.post(
            VQ, json=BODY, headers={"Authorization": f"Bearer {token['access_token']}"}
        ).status_code
        == 200
    )


def test_short_term_rate_limit() -> None:
    clock = Clock(START)
    sb, http = make(clock, rate_limit_qps=2, rate_limit_window=1.0)
    codes = [http.post(VQ, json=BODY).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    clock.t += 1.01
    assert http.post(VQ, json=BODY).status_code == 200
    assert sb.requests_spent()["video_query"] == 3, "429s are not counted"


@pytest.mark.parametrize("kind", ["internal_error", "gateway_timeout", "rate_limit"])
def test_scripted_transient_errors_succeed_on_retry(kind: str) -> None:
    sb, http = make()
    sb.script_faults([kind], endpoint="video_query")
    failed = http.post(VQ, json=BODY)
    retried = http.post(VQ, json=BODY)
    assert (
        failed.status_code
        == {"internal_error": 500, "gateway_timeout": 504, "rate_limit": 429}[kind]
    )
    assert retried.status_code == 200
    assert retried.json()["data"]["videos"]


@pytest.mark.parametrize(
    ("kind", "message"),
    [("search_id_invalid", "is invalid or expired"), ("cursor_invalid", "Invalid count or cursor")],
)
def test_transient_page_two_errors_succeed_on_retry(kind: str, message: str) -> None:
    sb, http = make()
    _, nxt = first_and_next(http)
    sb.script_faults([kind], endpoint="video_query")
    failed = http.post(VQ, json=nxt)
    assert failed.status_code == 400 and message in failed.json()["error"]["message"]
    if kind == "search_id_invalid":
        assert (
            failed.json()["error"]["message"]
            == f"Search Id {nxt['search_id']} is invalid or expired"
        )
    retried = http.post(VQ, json=nxt)
    assert retried.status_code == 200 and retried.json()["data"]["search_id"] == nxt["search_id"]


def test_empty_page_fault_keeps_cursor_moving() -> None:
    sb, http = make()
    sb.script_faults(["empty_page"], endpoint="video_query")
    data = http.post(VQ, json=BODY).json()["data"]
    assert data["videos"] == [] and data["has_more"] is True and data["cursor"] == 10


def test_error_with_valid_body() -> None:
    sb, http = make()
    sb.script_faults(["error_with_valid_body"])
    resp = http.post(VQ, json=BODY)
    assert resp.status_code == 500
    assert resp.json()["error"]["code"] == "ok" and resp.json()["data"]["videos"]


def test_nul_usernames_and_missing_counts() -> None:
    sb, http = make()
    sb.script_faults(["nul_usernames", "missing_counts"], endpoint="video_query")
    videos = http.post(VQ, json=BODY).json()["data"]["videos"]
    assert all("\x00" in v["username"] for v in videos)
    videos = http.post(VQ, json=BODY).json()["data"]["videos"]
    assert any("like_count" not in v for v in videos) and all("view_count" in v for v in videos)
    clean = http.post(VQ, json=BODY).json()["data"]["videos"]
    assert all("like_count" in v and "\x00" not in v["username"] for v in clean)


def test_script_entries_wait_for_their_endpoint_and_ok_means_no_fault() -> None:
    sb, http = make()
    sb.script_faults(["ok", "internal_error"], endpoint="user_info")
    assert http.post(VQ, json=BODY).status_code == 200, (
        "a video query does not consume user_info entries"
    )
    user = sb.corpus.sample_usernames(1)[0]
    path = ENDPOINTS["user_info"].path + "?fields=display_name"
    assert [http.post(path, json={"username": user}).status_code for _ in range(3)] == [
        200,
        500,
        200,
    ]


def test_unknown_fault_kind_is_rejected() -> None:
    sb, _ = make()
    with pytest.raises(ValueError, match="unknown fault kind"):
        sb.script_faults(["explode"])


def test_seeded_fault_rates_are_reproducible_and_bursty() -> None:
    faults = FaultConfig(
        seed=7, internal_error=0.2, gateway_timeout=0.1, rate_limit=0.1, rate_limit_burst=3
    )

    def run() -> list[int]:
        _, http = make(faults=faults)
        return [http.post(VQ, json=BODY).status_code for _ in range(60)]

    codes = run()
    assert codes == run(), "same fault seed, same sequence"
    assert {200, 500, 504, 429} <= set(codes)
    first_429 = codes.index(429)
    assert codes[first_429 : first_429 + 3] == [429, 429, 429], "a rate-limit draw starts a burst"


def test_page_two_faults_are_drawn_only_on_later_pages() -> None:
    _, http = make(faults=FaultConfig(seed=1, search_id_invalid=0.5, cursor_invalid=0.5))
    assert all(http.post(VQ, json=BODY).status_code == 200 for _ in range(10))
    _, nxt = first_and_next(http)
    codes = [http.post(VQ, json=nxt).status_code for _ in range(10)]
    assert codes == [400] * 10


def test_latency_is_simulated() -> None:
    import time

    _, http = make(latency=0.05)
    t = time.perf_counter()
    http.post(VQ, json=BODY)
    assert time.perf_counter() - t >= 0.05


def test_fault_kind_names() -> None:
    assert set(FAULT_KINDS) == {
        "internal_error", "gateway_timeout", "search_id_invalid", "cursor_invalid", "rate_limit",
        "empty_page", "error_with_valid_body", "nul_usernames", "missing_counts", "task_failed",
    }  # fmt: skip
