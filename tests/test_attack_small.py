"""The smaller attacks of issue 22 (item 8): bad values get a clear InvalidRequestError before any
request, an unreachable service has one exit code, a second 401 after a token refresh is retried.

(The ledger's same-day quota stop and the next-day re-open belong to another change.)
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import polars as pl
import pytest

import tiktok_research as tr
from _faultproxy import FaultPlan, FaultProxy
from _sandboxes import MakeClient, MakeSandbox, paid
from _servers import cli_env, finish, no_traceback, run_cli, start_cli
from tiktok_research.sandbox import Sandbox, SandboxConfig, run_server

VIDEOS = "/v2/research/video/query/"


def _deep_query(depth: int) -> str:
    return '{"and": [' + '{"and": [' * depth + "]}" * depth + "]}"


@pytest.mark.parametrize(
    "text", [_deep_query(5_000), "[" * 100_000 + "]" * 100_000], ids=["nested", "arrays"]
)
def test_a_deeply_nested_query_file_is_an_input_error(text: str, tmp_path: Path) -> None:
    query = tmp_path / "query.json"
    query.write_text(text)
    done = run_cli(
        ["videos", "--sandbox", "--query", str(query), "--start", "2024-01-01",
         "--end", "2024-01-31", "--out", str(tmp_path / "v.parquet")],
        cli_env(),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr  # was 1: "unexpected RecursionError"
    assert "nested too deeply" in done.stderr and no_traceback(done.stderr)
    with pytest.raises(tr.InvalidRequestError, match="nested too deeply"):
        tr.plan_videos(text, "20240101", "20240131")


def test_select_top_negative_is_an_input_error(tmp_path: Path) -> None:
    table = tmp_path / "v.parquet"
    pl.DataFrame({"id": [1, 2], "comment_count": [3, 4]}).write_parquet(table)
    for cmd in (["video-ids"], ["usernames"]):
        if cmd == ["usernames"]:
            pl.DataFrame({"username": ["a", "b"]}).write_parquet(table)
        done = run_cli(["select", *cmd, str(table), "--top", "-1"], cli_env())
        assert done.returncode == 2, done.stdout + done.stderr
        assert "top must be a whole number" in done.stderr
        assert "negative slice" not in done.stderr  # polars' words, before


BAD_CALLS: dict[str, Callable[[], object]] = {
    "Client(timeout=-1)": lambda: tr.Client("lab", "secret-0042", timeout=-1),
    "Client(timeout=0)": lambda: tr.Client("lab", "secret-0042", timeout=0),
    "Client(qps=-1)": lambda: tr.Client("lab", "secret-0042", qps=-1),
    "Client.sandbox(qps=-1)": lambda: tr.Client.sandbox(qps=-1),
    "Client(base_url without scheme)": lambda: tr.Client(
        "lab", "secret-0042", base_url="open.tiktokapis.com"
    ),
    "archive with a NUL": lambda: tr.fetch_videos(
        tr.Q.keyword.eq("x"),
        "20240101",
        "20240102",
        client=tr.Client.sandbox(),
        archive="arch\0ive",
    ),
    "select_video_ids(None)": lambda: tr.select_video_ids(None),  # type: ignore[arg-type]
    "select_usernames(None)": lambda: tr.select_usernames(None),  # type: ignore[arg-type]
    "select_video_ids(top=-1)": lambda: tr.select_video_ids(pl.DataFrame({"id": [1]}), top=-1),
    "merge_dumps(None)": lambda: tr.merge_dumps(None),  # type: ignore[arg-type]
    "write_parquet(None, p)": lambda: tr.write_parquet(None, "never.parquet"),  # type: ignore[arg-type]
    # round four (attack4): merge's and datasets' siblings of the above
    "write_dataset(None, p)": lambda: tr.write_dataset(None, "never", table="videos"),  # type: ignore[arg-type]
    "merge_dumps(a path with a NUL)": lambda: tr.merge_dumps(["dumps/a\0.json"]),
    "merge_dumps(dataset with a NUL)": lambda: tr.merge_dumps([], dataset="merged\0"),
    "merge_dumps(max_inflate_ratio=-1)": lambda: tr.merge_dumps([], max_inflate_ratio=-1),
    "merge_dumps(max_inflated_bytes='1G')": lambda: tr.merge_dumps(
        [],
        max_inflated_bytes="1G",  # type: ignore[arg-type]
    ),
}


@pytest.mark.parametrize("call", list(BAD_CALLS))
def test_bad_values_are_a_clear_invalid_request_error(call: str, tmp_path: Path) -> None:
    with pytest.raises(tr.InvalidRequestError) as info:
        BAD_CALLS[call]()
    assert type(info.value).__name__ in ("InvalidRequestError", "InvalidTypeError")
    assert not (tmp_path / "never.parquet").exists()


def test_collect_videos_without_a_dataset_sends_nothing(
    make_sandbox: MakeSandbox, make_client: MakeClient, tmp_path: Path
) -> None:
    """Before: ``collect_videos(q, start, end, None, archive=...)`` collected and paid for every
    page, and wrote its rows nowhere (the report said complete)."""
    sb = make_sandbox(n_videos=2_000)
    with pytest.raises(tr.InvalidRequestError, match="needs a dataset folder"):
        tr.collect_videos(
            tr.Q.hashtag_name.eq("fyp"), "2024-01-01", "2024-01-31", None,  # type: ignore[arg-type]
            archive=tmp_path / "archive", client=make_client(sb), progress=False,
        )  # fmt: skip
    assert paid(sb) == 0


def test_a_base_url_without_scheme_is_refused_on_the_command_line_at_once(tmp_path: Path) -> None:
    done = run_cli(
        ["videos", "--hashtag", "fyp", "--start", "2024-01-01", "--end", "2024-01-31"],
        cli_env("127.0.0.1:9"),
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr  # before: 15 s of retries, then 5
    assert "http:// or https://" in done.stderr and no_traceback(done.stderr)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Sandbox]]:
    with run_server(Sandbox(SandboxConfig(n_videos=2_000))) as pair:
        yield pair


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.http
def test_refused_and_reset_connections_have_one_exit_code(
    served: tuple[str, Sandbox], tmp_path: Path
) -> None:
    url, _ = served

    def args(case: str) -> list[str]:  # one archive and output each: the three run at once
        return ["videos", "--hashtag", "fyp", "--start", "2024-01-01", "--end", "2024-01-31",
                "--no-progress", "--archive", str(tmp_path / case / "a"),
                "--out", str(tmp_path / case / "v.csv")]  # fmt: skip

    plan = FaultPlan()
    plan.outage = "reset"  # every data request is answered in part, then the connection reset
    plan2 = FaultPlan()
    plan2.outage = "drop"  # closed without an answer
    with FaultProxy(url, plan) as proxy, FaultProxy(url, plan2) as proxy2:
        # each waits out its retry pauses (about 15 s): side by side, not one after the other
        started = [
            start_cli(args("refused"), cli_env(f"http://127.0.0.1:{_closed_port()}")),
            start_cli(args("reset"), cli_env(proxy.url)),
            start_cli(args("drop"), cli_env(proxy2.url)),
        ]
        try:
            refused, reset, dropped = (finish(proc, timeout=240) for proc in started)
        finally:
            for proc in started:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
    codes = {"refused": refused.returncode, "reset": reset.returncode, "drop": dropped.returncode}
    assert set(codes.values()) == {5}, (codes, reset.stdout + reset.stderr)
    for done in (refused, reset, dropped):
        assert "cannot be reached" in done.stdout + done.stderr
        assert no_traceback(done.stdout + done.stderr)
    # what reached the sandbox: the reset requests (the service got them), nothing else
    assert proxy.ledger.forwarded(VIDEOS) == proxy.ledger.received(VIDEOS)
    assert proxy2.ledger.forwarded(VIDEOS) == 0


def test_a_second_401_after_a_token_refresh_is_retried_with_a_new_token() -> None:
    """A server that revokes tokens: the token fetched after the first 401 is rejected too."""
    tokens: list[str] = []
    rejected = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/oauth/token/":
            tokens.append(f"clt.token{len(tokens)}")
            return httpx.Response(
                200, json={"access_token": tokens[-1], "expires_in": 7200, "token_type": "Bearer"}
            )
        if rejected["n"] < 2:
            rejected["n"] += 1
            error = {"code": "access_token_invalid", "message": "revoked", "log_id": "1"}
            return httpx.Response(401, json={"error": error})
        body = {
            "data": {"display_name": "x"},
            "error": {"code": "ok", "message": "", "log_id": "2"},
        }
        return httpx.Response(200, content=json.dumps(body).encode())

    client = tr.Client(
        "lab", "secret-0042", transport=httpx.MockTransport(handler), ledger=False,
        sleep=lambda s: None,
    )  # fmt: skip
    reply = client.request("user_info", {"username": "a"}, params={"fields": "display_name"})
    assert reply.status == 200
    assert len(tokens) == 3 and rejected["n"] == 2  # before: AuthenticationError after the 2nd
