"""The fault proxy does what the attack tests rely on: each fault kind, the counts, no secrets."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from _faultproxy import (
    DEFAULT_STORM,
    TOKEN_PATH,
    FaultPlan,
    FaultProxy,
    FaultTransport,
    Storm,
)
from _sandboxes import TOKEN_FORM, MakeSandbox, new_sandbox
from tiktok_research.sandbox import Sandbox, run_server

USERS = "/v2/research/user/info/"
FORM = TOKEN_FORM


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[tuple[str, Sandbox]]:
    with run_server(new_sandbox(n_videos=1_000)) as served:
        yield served


def _ask(http: httpx.Client, token: str, name: str) -> httpx.Response:
    return http.post(
        USERS + "?fields=display_name",
        json={"username": name},
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.http
def test_each_fault_kind_over_http(sandbox_url: tuple[str, Sandbox]) -> None:
    url, sb = sandbox_url
    name = sb.corpus.sample_usernames(1)[0]
    kinds = ["error_500", "gateway_504", "rate_limit", "truncated", "reset", "stall", "drop"]
    plan = FaultPlan(script={i: k for i, k in enumerate([*kinds, "ok"])})
    before = sb.requests_spent().get("user_info", 0)
    with (
        FaultProxy(url, plan, stall_seconds=1.5) as proxy,
        httpx.Client(base_url=proxy.url, timeout=0.5) as http,
    ):
        token = http.post(TOKEN_PATH, data=FORM).json()["access_token"]  # never faulted
        r = _ask(http, token, name)
        assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
        assert r.json()["error"]["log_id"]
        r = _ask(http, token, name)
        assert r.status_code == 504 and r.headers["content-type"].startswith("text/html")
        r = _ask(http, token, name)
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limit_exceeded"
        r = _ask(http, token, name)
        assert r.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            r.json()
        with pytest.raises(httpx.TransportError):  # reset mid-answer
            _ask(http, token, name)
        with pytest.raises(httpx.ReadTimeout):  # stall
            _ask(http, token, name)
        with pytest.raises(httpx.TransportError):  # dropped without an answer
            _ask(http, token, name)
        assert _ask(http, token, name).json()["error"]["code"] == "ok"
    led = proxy.ledger
    counts = led.counts()
    assert counts[TOKEN_PATH] == {"received": 1, "forwarded": 1, "ok": 1}
    assert counts[USERS]["received"] == 8 and counts[USERS]["ok"] == 1
    assert {k: v for k, v in led.faults(USERS).items()} == dict.fromkeys(kinds, 1)
    # forwarded (paid at the sandbox): truncated, reset, stall and the ok one
    assert led.forwarded(USERS) == 4 == sb.requests_spent()["user_info"] - before
    assert led.paid_twice() == {}
    # nothing secret is logged: no token, no client secret
    logged = repr(led.snapshot())
    assert token not in logged and "client_secret" not in logged


def test_the_in_process_transport_injects_the_same_kinds(make_sandbox: MakeSandbox) -> None:
    sb = make_sandbox(n_videos=1_000)
    name = sb.corpus.sample_usernames(1)[0]
    kinds = ["error_500", "gateway_504", "rate_limit", "truncated", "reset", "stall", "refuse"]
    transport = FaultTransport(
        sb.transport(), FaultPlan(script={i: k for i, k in enumerate([*kinds, "ok", "ok"])})
    )
    token = sb.issue_token()
    with httpx.Client(transport=transport, base_url=Sandbox.BASE_URL) as http:
        assert _ask(http, token, name).status_code == 500
        assert _ask(http, token, name).status_code == 504
        assert _ask(http, token, name).status_code == 429
        with pytest.raises(json.JSONDecodeError):
            _ask(http, token, name).json()
        with pytest.raises(httpx.ReadError):
            _ask(http, token, name)
        with pytest.raises(httpx.ReadTimeout):
            _ask(http, token, name)
        with pytest.raises(httpx.ConnectError):
            _ask(http, token, name)
        assert _ask(http, token, name).json()["error"]["code"] == "ok"
        assert _ask(http, token, name).json()["error"]["code"] == "ok"
    led = transport.ledger
    assert led.ok_pages() == 2 and led.forwarded() == 5
    assert led.paid_twice() == {(USERS, "fields=display_name", json.dumps({"username": name})): 2}


def test_seeded_draws_follow_the_request_not_its_arrival_order() -> None:
    bodies = [json.dumps({"cursor": i, "search_id": str(i * 7)}).encode() for i in range(400)]
    a, b = FaultPlan(DEFAULT_STORM), FaultPlan(DEFAULT_STORM)
    forward = {i: a.decide("/x/", "", body) for i, body in enumerate(bodies)}
    backward = {i: b.decide("/x/", "", bodies[i]) for i in reversed(range(len(bodies)))}
    assert forward == backward
    # a different search_id is the same page: same draw
    c = FaultPlan(DEFAULT_STORM)
    other = {i: c.decide("/x/", "", json.dumps({"cursor": i}).encode()) for i in range(400)}
    assert other == forward
    drawn = [k for k in forward.values() if k]
    assert 0.05 * len(bodies) < len(drawn) < 0.2 * len(bodies)
    # the token endpoint is left alone unless asked
    assert all(FaultPlan(Storm(error_500=1.0)).decide(TOKEN_PATH) is None for _ in range(20))
    assert FaultPlan(Storm(error_500=1.0, token_faults=True)).decide(TOKEN_PATH) == "error_500"
