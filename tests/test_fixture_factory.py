"""The tests' one factory of sandboxes and clients (tests/_sandboxes.py, conftest's fixtures) does
what the tests rely on: every knob reaches the sandbox or the client, clocks are shared, waits
return at once."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from _sandboxes import TOKEN_FORM, Clock, MakeClient, MakeHttp, MakeSandbox, MakeServer, paid, spent
from tiktok_research.sandbox import FaultConfig, SandboxConfig

NOON = dt.datetime(2025, 1, 15, 12, tzinfo=dt.UTC)


def test_the_knobs_reach_the_sandbox(make_sandbox: MakeSandbox) -> None:
    sb = make_sandbox(n_videos=1_000, seed=2, token_ttl=60, faults=FaultConfig(internal_error=0.5))
    assert (sb.corpus.n_videos, sb.config.seed, sb.config.token_ttl) == (1_000, 2, 60)
    assert sb.config.faults.internal_error == 0.5
    base = SandboxConfig(n_videos=1_000, seed=4)
    assert make_sandbox(base, seed=5).config == SandboxConfig(n_videos=1_000, seed=5)
    assert make_sandbox(base).config == base
    assert make_sandbox(realistic=True, n_videos=1_000).config == SandboxConfig.realistic(
        n_videos=1_000
    )
    with pytest.raises(TypeError, match="not both"):
        make_sandbox(base, realistic=True)


def test_a_clock_is_shared_and_moves_only_when_told(
    make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    clock = Clock(NOON)
    sb = make_sandbox(n_videos=1_000, clock=clock)
    client = make_client(sb, clock=clock)
    assert sb.now == NOON and client.now() == NOON
    clock.advance(dt.timedelta(hours=1))
    clock.advance(60)
    assert sb.now == client.now() == NOON + dt.timedelta(hours=1, minutes=1)
    stopped = make_sandbox(n_videos=1_000, clock=NOON)  # a datetime or a number: a stopped clock
    assert stopped.clock() == make_sandbox(n_videos=1_000, clock=NOON.timestamp()).clock()


def test_a_client_s_waits_return_at_once_unless_told(
    make_sandbox: MakeSandbox, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)  # a client that really waited would call it
    sb = make_sandbox(n_videos=1_000, clock=NOON)
    make_client(sb).sleep(3600)
    assert slept == []
    make_client(sb, sleep=sb.advance).sleep(3600)  # waits that move the sandbox clock
    assert sb.now == NOON + dt.timedelta(hours=1) and slept == []
    make_client(sb, sleep=time.sleep).sleep(5)  # a test that wants real waits says so
    assert slept == [5]


def test_requests_are_counted_at_the_sandbox(
    make_sandbox: MakeSandbox, make_client: MakeClient, make_http: MakeHttp
) -> None:
    sb = make_sandbox(n_videos=1_000)
    make_client(sb).user_info(sb.corpus.sample_usernames(1)[0])
    assert spent(sb, "user_info") == paid(sb) == 1 and sb.requests_spent()["oauth_token"] == 1
    asked = make_http(sb, token="request")  # asks the token endpoint: a request the sandbox logs
    assert sb.requests_spent()["oauth_token"] == 2 and "Authorization" in asked.headers
    assert "Authorization" not in make_http(sb, token=False).headers
    assert sb.requests_spent()["oauth_token"] == 2


def test_a_served_sandbox_answers_on_loopback(make_server: MakeServer) -> None:
    import httpx

    url, sb = make_server(n_videos=1_000)
    assert url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=url) as http:
        assert http.post("/v2/oauth/token/", data=TOKEN_FORM).status_code == 200
    assert sb.requests_spent()["oauth_token"] == 1
