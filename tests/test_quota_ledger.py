"""The quota ledger believes the service (issue 18 item 12, issue 22 item 8's ledger bullet):
keyed by service and key, a quota stop remembered for the service's day (a same-day rerun sends
nothing), a success proving the quota is back, the day taken from the service's clock, and
``tiktok-research quota`` without credentials / against a served sandbox."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import tiktok_research as tr
from _servers import cli_env, run_cli, sandbox_server
from tiktok_research.cli import app
from tiktok_research.sandbox import Sandbox, SandboxConfig

runner = CliRunner()
SMALL = {"n_videos": 3_000, "frozen_corpus": True}


def _sent(sb: Sandbox) -> int:
    """Data requests that reached the sandbox (tokens excepted)."""
    return sum(1 for r in sb.request_log if r.endpoint != "oauth_token")


def test_two_services_with_one_key_keep_two_ledgers(tmp_path: Path) -> None:
    a = tr.Client("k", "s", base_url="http://127.0.0.1:8001", ledger=tmp_path)
    b = tr.Client("k", "s", base_url="http://127.0.0.1:8002", ledger=tmp_path)
    a._ledger.record("video_query", a.today(), 900)  # type: ignore[union-attr]
    assert a.quota.remaining["research"] == 100
    assert b.quota.remaining["research"] == 1000  # the other server's quota is its own


@pytest.mark.filterwarnings("default")  # the other warnings of a stopped run
def test_a_quota_stop_is_remembered_and_a_same_day_rerun_sends_nothing(tmp_path: Path) -> None:
    sb = Sandbox(SandboxConfig(daily_quota={"research": 2, "social": 20_000}, **SMALL))
    q = tr.Q.hashtag_name.eq("fyp")
    kw = {"archive": tmp_path / "a", "progress": False}
    with pytest.warns(tr.IncompleteCollectionWarning):
        first = tr.fetch_videos(q, "20240101", "20240630", client=tr.Client.sandbox(sb), **kw)
    assert first.report.stop_kind == "quota"
    sent = _sent(sb)
    client = tr.Client.sandbox(sb)  # a new process would read the same ledger
    assert client.quota.remaining["research"] == 0  # the service said so
    with pytest.warns(tr.IncompleteCollectionWarning):
        again = tr.fetch_videos(q, "20240101", "20240630", client=client, **kw)
    assert _sent(sb) == sent  # nothing was sent
    assert again.report.stop_kind == "quota" and again.report.requests_spent == 0
    sb.advance(dt.timedelta(days=1))  # the service's next day: the quota is back
    assert tr.Client.sandbox(sb).quota.remaining["research"] == 1000
    with pytest.warns(tr.IncompleteCollectionWarning):
        tr.fetch_videos(q, "20240101", "20240630", client=tr.Client.sandbox(sb), **kw)
    assert _sent(sb) > sent


def test_an_answer_proves_the_quota_is_there(tmp_path: Path) -> None:
    sb = Sandbox(SandboxConfig(**SMALL))
    client = tr.Client.sandbox(sb, ledger=tmp_path)
    client._ledger.record("video_query", client.today(), 1000)  # type: ignore[union-attr]
    assert client.quota.remaining["research"] == 0  # counted elsewhere, or a reset not seen
    with pytest.raises(tr.TikTokResearchError):  # an answer, not a quota refusal
        client.request("user_info", {"username": "nobody_at_all"})
    # its count restarts; that 400 is not charged (api-notes §11), as the sandbox agrees
    assert client.quota.remaining["research"] == 1000
    assert sum(sb.requests_spent().get(k, 0) for k in ("user_info", "video_query")) == 0
    client.user_info(sb.corpus.sample_usernames(1)[0])
    assert client.quota.remaining["research"] == 999


def test_the_day_comes_from_the_services_clock() -> None:
    sb = Sandbox(SandboxConfig(**SMALL))
    sb.advance(dt.timedelta(days=2, hours=1))
    # a client with no clock of its own, as against a served sandbox or the real service
    client = tr.Client("sandbox", "sandbox", base_url=sb.BASE_URL, transport=sb.transport(),
                       ledger=sb.ledger_dir, qps=None)  # fmt: skip
    client.user_info(sb.corpus.sample_usernames(1)[0])  # answered and charged
    service_day = dt.datetime.fromtimestamp(sb.clock(), dt.UTC).date()
    assert client.quota_day() == service_day
    assert client.quota.day == service_day and client.quota.used["research"] == 1
    reset = client.service_now().replace(hour=0, minute=0, second=0, microsecond=0)
    assert reset.date() == service_day  # the reset is the service's midnight, not this machine's


def test_quota_command_needs_no_credentials_and_reads_the_ledger(tmp_path: Path) -> None:
    client = tr.Client("k", "s", ledger=True)  # the default service, the default cache
    client._ledger.record("video_query", client.today(), 12)  # type: ignore[union-attr]
    result = runner.invoke(app, ["quota"])
    assert result.exit_code == 0, result.output
    # by the API's endpoint names, as the reports and errors name them
    assert "12 used (video_query 12), 988 of 1000 left" in result.output


def test_quota_sandbox_shows_the_served_sandboxs_figures(tmp_path: Path) -> None:
    with sandbox_server("--n-videos", "2000", "--daily-quota", "50") as server:
        env = cli_env(server.url)
        run = run_cli(["videos", "--hashtag", "fyp", "--start", "2024-01-01", "--end",
                       "2024-01-05", "--max-total", "1", "--out", str(tmp_path / "v.parquet"),
                       "--archive", str(tmp_path / "a")], env)  # fmt: skip
        assert run.returncode == 0, run.stderr
        shown = run_cli(["quota", "--sandbox"], env)
        assert shown.returncode == 0, shown.stderr
        assert "research: 49 left" in shown.stdout and server.url in shown.stdout
        plain = run_cli(["quota"], {**env, "TIKTOK_CLIENT_KEY": "", "TIKTOK_CLIENT_SECRET": ""})
        assert plain.returncode == 0, plain.stderr
        assert "research: 1 used" in plain.stdout


def _data_requests(url: str) -> int:
    stats = httpx.get(url + "/_sandbox/stats", timeout=30).json()
    return sum(v for k, v in stats["requests"].items() if k != "oauth_token")


def test_the_workshop_quota_stop_rerun_sends_nothing_until_the_services_midnight(
    tmp_path: Path,
) -> None:
    args = ["videos", "--hashtag", "fyp", "--start", "2024-01-01", "--end", "2024-03-31",
            "--archive", str(tmp_path / "qa")]  # fmt: skip
    with sandbox_server("--daily-quota", "5") as server:
        env = cli_env(server.url)
        first = run_cli([*args, "--out", str(tmp_path / "q1.parquet")], env)
        assert first.returncode == 3, first.stdout + first.stderr
        sent = _data_requests(server.url)
        again = run_cli(
            [*args, "--out", str(tmp_path / "q2.parquet")], env
        )  # the same day: the ledger remembers the service's stop
        assert again.returncode == 3, again.stdout + again.stderr
        assert _data_requests(server.url) == sent
        assert "nothing was sent" in again.stdout + again.stderr
        httpx.post(server.url + "/_sandbox/advance", json={"days": 1}, timeout=30)
        later = run_cli(
            [*args, "--out", str(tmp_path / "q3.parquet")], env
        )  # the next day: its Date header says so
        assert _data_requests(server.url) > sent, later.stdout + later.stderr


@pytest.mark.filterwarnings("default")  # the other warnings of a stopped run
def test_the_next_day_resume_reopens_an_expired_search_with_one_request(tmp_path: Path) -> None:
    """Issue 22 item 8: the search_id saved at the quota stop is from an earlier day of the
    service: the resume opens the search again at once, not after a refusal of the old one."""
    sb = Sandbox(SandboxConfig(daily_quota={"research": 2, "social": 20_000}, **SMALL))
    q = ~tr.Q.video_length.eq("EXTRA_LONG")  # most videos: three pages in a month
    kw = {"archive": tmp_path / "a", "progress": False, "max_workers": 1}
    with pytest.warns(tr.IncompleteCollectionWarning):
        first = tr.fetch_videos(q, "20240101", "20240130", client=tr.Client.sandbox(sb), **kw)
    assert first.report.stop_kind == "quota" and first.height > 100  # two pages held
    held = len(sb.request_log)
    sb.advance(dt.timedelta(days=1))
    done = tr.fetch_videos(q, "20240101", "20240130", client=tr.Client.sandbox(sb), **kw)
    resumed = [r for r in sb.request_log[held:] if r.endpoint == "video_query"]
    assert resumed[0].status == 200 and "search_id" not in (resumed[0].body or {})
    assert all(r.status == 200 for r in resumed)  # no refusal of the old search_id
    assert done.report.complete and done.height > first.height
    assert done.get_column("id").n_unique() == done.height


@pytest.mark.parametrize("ledger", [True, False], ids=["ledger", "no-ledger"])
def test_no_request_starts_after_a_quota_refusal(tmp_path: Path, ledger: bool) -> None:
    """Before: a request waiting for its turn (the rate limiter) when another worker's quota
    refusal came was sent anyway, and without a ledger every later request was sent too (a
    fan-out of 8 workers on a 3-request quota: 3 answered, then 7 refused). A request already on
    the wire cannot be recalled; one that has not left is not sent, and is not counted."""
    import threading

    import tiktok_research.client as client_module

    sent: list[str] = []
    refusal = {"error": {"code": "daily_quota_limit_exceeded", "log_id": "202612070000001",
                         "message": "You have exceeded your daily quota"}}  # fmt: skip

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v2/oauth/"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 7200,
                                             "token_type": "Bearer"})  # fmt: skip
        sent.append(request.url.path)
        return httpx.Response(429, json=refusal)

    client = tr.Client(client_key="k", client_secret="s", transport=httpx.MockTransport(answer),
                       ledger=tmp_path / "ledger" if ledger else False, qps=None)  # fmt: skip
    waiting, go = threading.Event(), threading.Event()
    limiter = client_module.RateLimiter(None)

    def acquire() -> None:  # the second request waits for its turn until the refusal came
        if threading.current_thread().name == "second":
            waiting.set()
            go.wait(30)
        limiter.acquire()

    client._limiter.acquire = acquire  # type: ignore[method-assign]
    body = {"username": "someone"}
    errors: list[BaseException] = []

    def second() -> None:
        try:
            client.request("user_info", body)
        except tr.QuotaExhaustedError as e:
            errors.append(e)

    other = threading.Thread(target=second, name="second")
    other.start()
    assert waiting.wait(30)
    with pytest.raises(tr.QuotaExhaustedError):
        client.request("user_info", body)  # the refusal
    go.set()
    other.join(30)
    assert len(errors) == 1 and "this request was not sent" in str(errors[0]), errors
    with pytest.raises(tr.QuotaExhaustedError, match="not sent"):
        client.request("user_info", body)  # a later one: not sent either, ledger or not
    assert sent == ["/v2/research/user/info/"], sent
    assert client.requests_spent == {"user_info": 1}
    client.close()
