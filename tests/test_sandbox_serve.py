"""`tiktok-research sandbox serve`: every quirk can be switched on from the command line and
rehearsed over HTTP (faults, token lifetime, quotas, the search_id expiry, the clock), and the
admin paths count the requests that reached the server."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from _sandboxes import MakeSandbox
from tiktok_research.cli import app
from tiktok_research.sandbox import FAULT_KINDS, FaultConfig
from tiktok_research.sandbox._options import serve_config

FORM = {"client_key": "sandbox", "client_secret": "sandbox", "grant_type": "client_credentials"}
VQ = "/v2/research/video/query/?fields=id,username,like_count,comment_count,share_count,view_count"
BODY = {
    "query": {"and": [{"operation": "IN", "field_name": "region_code", "field_values": ["US"]}]},
    "start_date": "20240101",
    "end_date": "20240130",
    "max_count": 5,
}


@contextlib.contextmanager
def serving(*options: str) -> Iterator[str]:
    """``tiktok-research sandbox serve`` in a subprocess on a free port; yields its base URL."""
    cmd = [sys.executable, "-m", "tiktok_research.cli", "sandbox", "serve", "--port", "0",
           "--n-videos", "2000", *options]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "http://" not in line:
            proc.kill()
            raise AssertionError(
                f"serve did not start: {line}{proc.stderr.read() if proc.stderr else ''}"
            )
        yield line.split(" at ", 1)[1].split(" ", 1)[0]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # waits, and closes the pipes


def token(http: httpx.Client) -> str:
    answer = http.post("/v2/oauth/token/", data=FORM)
    assert answer.status_code == 200, answer.text
    access: str = answer.json()["access_token"]
    return access


@contextlib.contextmanager
def authed(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as http:
        http.headers["Authorization"] = f"Bearer {token(http)}"
        yield http


def stats(http: httpx.Client) -> dict[str, Any]:
    answer = http.get("/_sandbox/stats")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


# ----------------------------------------------------------------------------- option checking
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--faults", "boom=0.1"], "unknown fault kind 'boom'"),
        (["--faults", "internal_error=2"], "between 0 and 1"),
        (["--faults", "internal_error=x"], "must be a number"),
        (["--faults", "internal_error=0.7,rate_limit=0.7"], "add up to 1.4"),
        (["--faults", "endpoints=nowhere"], "unknown endpoint"),
        (["--faults", "no-such-file.txt"], "neither kind=rate pairs nor an existing file"),
        (["--clock", "yesterday"], "--clock: 'yesterday' is not a time"),
        (["--token-ttl", "0"], "--token-ttl must be a positive number"),
        (["--quota-error", "quota"], "--quota-error must be"),
        (["--expired-search-id", "maybe"], "--expired-search-id must be error or reissue"),
        (["--n-videos", "0"], "--n-videos must be between 1 and 2,000,000"),
        (["--n-users", "3"], "--n-users must be at least 10"),
        (["--daily-quota", "-1"], "--daily-quota must be 0 or more"),
        (["--latency", "-1"], "--latency must be 0 or more"),
        (["--removal-rate", "2"], "--removal-rate must be"),
        (["--validation-processing", "-5"], "--validation-processing must be 0 or more"),
    ],
)
def test_bad_option_values_exit_2_with_a_message(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["sandbox", "serve", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_bad_fault_script_line_is_named(tmp_path: Path) -> None:
    script = tmp_path / "faults.txt"
    script.write_text("internal_error video_query\nexplode\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["sandbox", "serve", "--faults", str(script)])
    assert result.exit_code == 2 and "line 2" in result.output and "'explode'" in result.output


def test_options_become_the_sandbox_configuration(tmp_path: Path) -> None:
    script = tmp_path / "faults.txt"
    script.write_text("# page two fails once\nsearch_id_invalid video_query\nok\n", "utf-8")
    config, steps = serve_config(
        seed=3, n_videos=1_000, n_users=50, latency=None, rate_limit_qps=2.0, search_id_ttl=60,
        daily_quota=5, social_quota=7, token_ttl=30, quota_error="rate_limit_exceeded",
        expired_search_id="reissue", faults=["internal_error=0.1,rate_limit_burst=4", str(script)],
        fault_seed=9, clock="2025-01-15T23:00:00+01:00", index_lag_hours=0, removal_rate=0.0,
        count_growth=0.0, validation_processing=5,
    )  # fmt: skip
    assert config.faults == FaultConfig(seed=9, internal_error=0.1, rate_limit_burst=4)
    assert steps == [("search_id_invalid", "video_query"), ("ok", None)]
    assert config.clock_start == dt.datetime(2025, 1, 15, 22, 0, tzinfo=dt.UTC)
    assert (config.seed, config.n_videos, config.n_users, config.token_ttl) == (3, 1_000, 50, 30)
    assert config.daily_quota == {"research": 5, "social": 7}
    assert config.quota_error_code == "rate_limit_exceeded"
    assert config.expired_search_id == "reissue" and config.search_id_ttl == 60
    assert config.rate_limit_qps == 2.0 and config.validation_processing_seconds == 5


def test_every_fault_kind_has_a_serve_option() -> None:
    help_text = CliRunner().invoke(app, ["sandbox", "serve", "--help"], env={"COLUMNS": "300"})
    for kind in FAULT_KINDS:
        assert kind in help_text.output


# ----------------------------------------------------------------------------- over HTTP
@pytest.mark.http
def test_every_fault_kind_over_http(tmp_path: Path, make_sandbox: MakeSandbox) -> None:
    script = tmp_path / "faults.txt"
    script.write_text(
        "\n".join(
            [
                "internal_error video_query",
                "gateway_timeout video_query",
                "rate_limit video_query",
                "ok video_query",
                "search_id_invalid video_query",
                "cursor_invalid video_query",
                "empty_page video_query",
                "error_with_valid_body video_query",
                "nul_usernames video_query",
                "missing_counts video_query",
            ]
        ),
        encoding="utf-8",
    )
    with serving(
        "--faults", str(script), "--faults", "internal_error=0.5,endpoints=user_info",
        "--fault-seed", "4", "--clock", "2025-01-15T12:00:00Z",
    ) as url, authed(url) as http:  # fmt: skip
        codes = [http.post(VQ, json=BODY).status_code for _ in range(3)]
        assert codes == [500, 504, 429]
        first = http.post(VQ, json=BODY)  # "ok": the first page
        assert first.status_code == 200
        data = first.json()["data"]
        later = {**BODY, "cursor": data["cursor"], "search_id": data["search_id"]}
        bad = http.post(VQ, json=later)
        assert bad.status_code == 400
        assert (
            bad.json()["error"]["message"] == f"Search Id {data['search_id']} is invalid or expired"
        )
        bad = http.post(VQ, json=later)
        assert (
            bad.status_code == 400 and bad.json()["error"]["message"] == "Invalid count or cursor"
        )
        empty = http.post(VQ, json=later).json()["data"]
        assert empty["videos"] == [] and empty["has_more"] is True
        odd = http.post(VQ, json=later)
        assert odd.status_code == 500 and odd.json()["error"]["code"] == "ok"
        assert odd.json()["data"]["videos"]
        nul = http.post(VQ, json=later).json()["data"]["videos"]
        assert all("\x00" in v["username"] for v in nul)
        missing = http.post(VQ, json=later).json()["data"]["videos"]
        assert any("like_count" not in v for v in missing)
        clean = http.post(VQ, json=later).json()["data"]["videos"]
        assert all("like_count" in v and "\x00" not in v["username"] for v in clean)
        # the seeded rate applies to user_info only, and is reproducible for --fault-seed 4
        user = make_sandbox(n_videos=2_000).corpus.sample_usernames(1)[0]
        info = [
            http.post("/v2/research/user/info/?fields=display_name", json={"username": user})
            for _ in range(12)
        ]
        assert {r.status_code for r in info} <= {200, 500, 504, 429}
        assert 500 in {r.status_code for r in info} and 200 in {r.status_code for r in info}
        counted = stats(http)
        assert counted["requests"]["video_query"] == 11
        assert counted["requests"]["user_info"] == 12 and counted["requests"]["oauth_token"] == 1
        assert counted["statuses"]["504"] == 1
        # 5xx count against the quota, 4xx (and 429) do not (api-notes §11)
        assert counted["counted"]["sandbox"]["video_query"] == 8


@pytest.mark.http
def test_token_lifetime_quota_and_clock_over_http(make_sandbox: MakeSandbox) -> None:
    with serving(
        "--clock", "2025-01-15T23:00:00Z", "--token-ttl", "600", "--daily-quota", "3",
        "--social-quota", "2", "--quota-error", "rate_limit_exceeded",
        "--expired-search-id", "reissue", "--search-id-ttl", "60",
    ) as url, authed(url) as http:  # fmt: skip
        assert stats(http)["now"].startswith("2025-01-15T23:00")
        first = http.post(VQ, json=BODY).json()["data"]
        later = {**BODY, "cursor": first["cursor"], "search_id": first["search_id"]}
        # the token expires after --token-ttl seconds on the sandbox clock
        moved = http.post("/_sandbox/advance", json={"seconds": 601})
        assert moved.status_code == 200 and moved.json()["now"].startswith("2025-01-15T23:10")
        expired = http.post(VQ, json=later)
        assert expired.status_code == 401
        assert expired.json()["error"] == {
            **expired.json()["error"],
            "code": "access_token_invalid",
            "message": "Access token is invalid, please refresh token and retry",
        }
        http.headers["Authorization"] = f"Bearer {token(http)}"
        # the search_id expired too (--search-id-ttl 60): 'reissue' answers under a new one
        page = http.post(VQ, json=later)
        assert page.status_code == 200 and page.json()["data"]["search_id"] != first["search_id"]
        assert http.post(VQ, json=BODY).status_code == 200
        # the quota: 3 research requests a day, then the chosen error code
        stop = http.post(VQ, json=BODY)
        assert stop.status_code == 429 and stop.json()["error"]["code"] == "rate_limit_exceeded"
        # a separate family with its own quota
        user = make_sandbox(n_videos=2_000).corpus.sample_usernames(1)[0]
        social = [
            http.post("/v2/research/user/followers/", json={"username": user}).status_code
            for _ in range(3)
        ]
        assert social == [200, 200, 429]
        # the quota resets at 00:00 UTC on the sandbox clock
        assert http.post("/_sandbox/advance", data={"minutes": "50"}).status_code == 200
        http.headers["Authorization"] = f"Bearer {token(http)}"  # 50 minutes: expired again
        assert http.post(VQ, json=BODY).status_code == 200
        counted = stats(http)
        assert counted["counted"]["sandbox"] == {"video_query": 4, "followers": 2}
        assert counted["quota_remaining"]["sandbox"]["research"] == 2


@pytest.mark.http
def test_default_quota_error_rate_limit_and_expired_search_id_over_http() -> None:
    with serving(
        "--clock", "20250115", "--daily-quota", "2", "--rate-limit-qps", "1",
        "--search-id-ttl", "30",
    ) as url, authed(url) as http:  # fmt: skip
        missing = "The access token is invalid or not found in the request. Please refresh the token and retry."  # noqa: E501
        for auth in ({"Authorization": ""}, {"Authorization": "Bearer clt.made-up"}):
            refused = http.post(VQ, json=BODY, headers=auth)
            assert refused.status_code == 401 and refused.json()["error"]["message"] == missing
        bad_secret = http.post("/v2/oauth/token/", data={**FORM, "client_secret": "wrong"})
        assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
        first = http.post(VQ, json=BODY)
        assert first.status_code == 200
        limited = http.post(VQ, json=BODY)  # more than 1 request a second
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limit_exceeded"
        data = first.json()["data"]
        http.post("/_sandbox/advance", json={"seconds": 31})
        gone = http.post(
            VQ, json={**BODY, "cursor": data["cursor"], "search_id": data["search_id"]}
        )
        assert gone.status_code == 400
        assert (
            gone.json()["error"]["message"]
            == f"Search Id {data['search_id']} is invalid or expired"
        )
        http.post("/_sandbox/advance", json={"seconds": 2})
        assert http.post(VQ, json=BODY).status_code == 200
        http.post("/_sandbox/advance", json={"seconds": 2})
        stop = http.post(VQ, json=BODY)
        assert stop.status_code == 429
        assert stop.json()["error"]["code"] == "daily_quota_limit_exceeded"
        assert "00:00 UTC" in stop.json()["error"]["message"]


@pytest.mark.http
def test_admin_paths_answer_bad_requests_clearly(make_sandbox: MakeSandbox) -> None:
    from tiktok_research.sandbox import run_server

    sb = make_sandbox(n_videos=1_000, clock=1_736_942_400.0)
    with run_server(sb) as (url, _), httpx.Client(base_url=url) as http:
        assert set(http.get("/_sandbox/").json()["admin_paths"]) >= {"GET /_sandbox/stats"}
        for bad in ({"days": -1}, {"weeks": 1}, {"days": "x"}, {}):
            answer = http.post("/_sandbox/advance", json=bad)
            assert answer.status_code == 400 and answer.json()["error"]["message"]
        assert http.get("/_sandbox/advance").status_code == 405
        assert http.get("/_sandbox/nothing").status_code == 404
        answer = http.post("/_sandbox/delete", json={"ids": ["12x"]})
        assert answer.status_code == 400 and "digits" in answer.json()["error"]["message"]
        ids = sb.corpus.sample_video_ids(2)
        answer = http.post("/_sandbox/delete", json={"ids": [str(ids[0]), ids[1], 5]})
        assert answer.json() == {"deleted": 2, "category": "video"}
        assert stats(http)["total"] == 0, "admin requests are not counted"


def test_admin_paths_answer_only_loopback_clients(make_sandbox: MakeSandbox) -> None:
    import asyncio

    sb = make_sandbox(n_videos=1_000, clock=1_736_942_400.0)

    async def ask(client: tuple[str, int]) -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=sb.app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
            return [
                await http.get("/_sandbox/stats"),
                await http.post("/_sandbox/advance", json={"days": 3}),
            ]

    remote = asyncio.run(ask(("192.0.2.7", 5000)))
    assert [r.status_code for r in remote] == [404, 404]
    assert remote[0].json()["error"]["code"] == "not_found"
    assert sb.days_passed() == 0, "a remote client cannot move the clock"
    local = asyncio.run(ask(("127.0.0.1", 5000)))
    assert local[0].json()["requests"] == {"unknown": 2}
    assert sb.days_passed() == 3


def test_in_process_sandbox_never_loads_the_web_server() -> None:
    code = (
        "import sys, tiktok_research as tr\n"
        "from tiktok_research.sandbox import run_server, serve\n"
        "c = tr.Client.sandbox()\n"
        "name = c.sandbox_instance.corpus.sample_usernames(1)[0]\n"
        "pages = list(c.pages('user_info', {'username': name}))\n"
        "assert pages\n"
        "print(sorted(m for m in ('starlette', 'uvicorn') if m in sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.strip().splitlines()[-1].replace("'", '"')) == []


def test_realistic_serve_has_the_realistic_profile() -> None:
    """``sandbox serve --realistic`` (issue 19): the profile is on (its truth says so), and a
    hashtag query over its failing days answers HTTP 500; without the flag nothing of it is."""
    body = {**BODY, "query": {"and": [{"operation": "EQ", "field_name": "hashtag_name",
                                       "field_values": ["cats"]}]}}  # fmt: skip
    for flag, rate, status in ((["--realistic"], 0.125, 500), ([], 0.0, 200)):
        with serving(*flag) as url, authed(url) as http:
            profile = http.get("/_sandbox/truth").json()
            assert profile["missing_video_rate"] == rate
            failing = [r["start"] for r in profile["failing_ranges"]]
            body["start_date"], body["end_date"] = "20240310", "20240312"
            assert http.post(VQ, json=body).status_code == status, failing
