"""kill -9 at random moments of a command-line collection over HTTP (issue 9, "never lose data").

``tiktok-research videos ... --archive A --out v.parquet`` runs against ``sandbox serve`` with
latency, through a counting proxy (no faults). It is killed with SIGKILL at three seeded random
moments (after a random number of requests, plus a random fraction of a second: often while
requests are in flight), then a last run finishes. The table must equal an uninterrupted run's,
and only the requests in flight at a kill may be asked again: the requests received by the proxy
over all runs exceed the clean run's by at most ``MAX_WORKERS`` per kill.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

import tiktok_research as tr
from _faultproxy import FaultProxy
from _sandboxes import MakeClient, MakeSandbox
from _servers import SandboxServer, cli_env, no_traceback, run_cli, sandbox_server, start_cli

N_VIDEOS = 40_000
START, END = "2024-01-01", "2024-03-30"  # 3 windows of 9 pages
VIDEOS = "/v2/research/video/query/"
MAX_WORKERS = 4  # fetch_videos' default: at most this many requests in flight
KILLS = 3

pytestmark = [pytest.mark.http, pytest.mark.slow]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with sandbox_server("--n-videos", str(N_VIDEOS), "--latency", "0.05") as srv:
        yield srv


def _wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def test_kill_9_at_random_moments_loses_nothing_and_pays_only_what_was_in_flight(
    server: SandboxServer, tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sb = make_sandbox(n_videos=N_VIDEOS)
    want = tr.fetch_videos(
        tr.Q.hashtag_name.eq("fyp"), START, END, client=make_client(sb), progress=False
    )
    clean_pages = sb.requests_spent()["video_query"]
    archive, out = tmp_path / "archive", tmp_path / "videos.parquet"
    args = ["videos", "--hashtag", "fyp", "--start", START, "--end", END, "--no-progress"]
    args += ["--archive", str(archive), "--out", str(out)]
    rng = random.Random(9)
    with FaultProxy(server.url) as proxy:
        env = cli_env(proxy.url)
        ledger = proxy.ledger
        in_flight: list[int] = []
        for _ in range(KILLS):
            target = ledger.received(VIDEOS) + rng.randint(2, 6)
            proc = start_cli(args, env)
            try:
                _wait_for(lambda: ledger.received(VIDEOS) >= target, 120, "requests")  # noqa: B023
                time.sleep(rng.uniform(0.0, 0.25))
                in_flight.append(sum(1 for e in ledger.data() if e.status is None))
                proc.send_signal(signal.SIGKILL)
            finally:
                proc.communicate(timeout=30)  # reaps it and closes its pipes
            assert proc.returncode == -signal.SIGKILL, "the collection ended before the kill"
            assert not out.exists()
        done = run_cli(args, env)
        text = done.stdout + done.stderr
        assert done.returncode == 0 and no_traceback(text), text
        received = ledger.received(VIDEOS)
    got = pl.read_parquet(out)
    same = got.equals(pl.DataFrame(want))
    assert same, f"{got.height:,} rows after the kills; {want.height:,} without"
    assert received <= clean_pages + KILLS * MAX_WORKERS, (
        f"{received} requests over the runs; an uninterrupted run needs {clean_pages}, and at "
        f"most {MAX_WORKERS} were in flight at each of the {KILLS} kills "
        f"(in flight at the proxy: {in_flight})"
    )
