"""SIGTERM at random moments, handled like Ctrl-C (issue 22, item 2).

``timeout``, ``docker stop``, systemd, Slurm and Kubernetes stop jobs with SIGTERM. A collection
(the command line, and a Python script calling ``fetch_videos``) runs against ``sandbox serve``
with latency, through a counting proxy, and is sent SIGTERM at seeded random moments (often while
requests are in flight); then a last run finishes. Each stopped run must say so, say what it spent,
release the lock and exit with the documented code (143 on the command line); over the whole
series no page may be paid twice (before: +5 requests per series of 6 terminations, exit 143 with
no word), and the table must equal an uninterrupted run's.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

import tiktok_research as tr
from _faultproxy import FaultProxy, Ledger
from _sandboxes import ReferenceRun
from _servers import SandboxServer, cli_env, no_traceback, run_cli, sandbox_server, start_cli

N_VIDEOS = 40_000
START, END = "2024-01-01", "2024-03-30"  # 3 windows of 9 pages
VIDEOS = "/v2/research/video/query/"
TERMINATIONS = 6

pytestmark = [pytest.mark.http, pytest.mark.slow]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with sandbox_server("--n-videos", str(N_VIDEOS), "--latency", "0.05") as srv:
        yield srv


@pytest.fixture(scope="module")
def clean(uninterrupted: ReferenceRun) -> tuple[pl.DataFrame, int]:
    """The table of the collection without a fault, and the requests it took."""
    return uninterrupted(tr.Q.hashtag_name.eq("fyp"), START, END, n_videos=N_VIDEOS)


def _wait_for(ledger: Ledger, target: int, proc: subprocess.Popen[str]) -> bool:
    """Wait until the proxy received ``target`` video requests; False if the run ended first."""
    deadline = time.monotonic() + 120
    while ledger.received(VIDEOS) < target:
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "timed out waiting for requests"
        time.sleep(0.005)
    return True


def _series(
    start: object, ledger: Ledger, rng: random.Random, terminations: int
) -> list[tuple[int, str]]:
    """Start a run and SIGTERM it at a random moment, ``terminations`` times."""
    ends = []
    for _ in range(terminations):
        target = ledger.received(VIDEOS) + rng.randint(1, 5)
        proc: subprocess.Popen[str] = start()  # type: ignore[operator]
        try:
            if _wait_for(ledger, target, proc):
                time.sleep(rng.uniform(0.0, 0.2))
                proc.send_signal(signal.SIGTERM)
        finally:
            out, err = proc.communicate(timeout=60)
        ends.append((proc.returncode, out + err))
    return ends


def test_sigterm_on_the_command_line_pays_no_page_twice(
    server: SandboxServer, clean: tuple[pl.DataFrame, int], tmp_path: Path
) -> None:
    want, clean_pages = clean
    archive, out = tmp_path / "archive", tmp_path / "videos.parquet"
    args = ["videos", "--hashtag", "fyp", "--start", START, "--end", END, "--no-progress"]
    args += ["--archive", str(archive), "--out", str(out)]
    with FaultProxy(server.url) as proxy:
        env = cli_env(proxy.url)
        ends = _series(lambda: start_cli(args, env), proxy.ledger, random.Random(22), TERMINATIONS)
        done = run_cli(args, env)
        ledger = proxy.ledger
    for code, text in ends:
        assert code == 143, f"exit {code}, expected 143 (stopped by SIGTERM):\n{text}"
        assert "stopped (SIGTERM)" in text and "run the same command again" in text, text
        assert "this run: " in text and " charged" in text, text  # the cost line
        assert no_traceback(text), text
    text = done.stdout + done.stderr
    assert done.returncode == 0 and no_traceback(text), text  # the lock was released each time
    assert pl.read_parquet(out).equals(want)
    assert ledger.paid_twice(VIDEOS) == {}, "pages paid twice over the series"
    assert ledger.received(VIDEOS) == clean_pages, (
        f"{ledger.received(VIDEOS)} requests over {TERMINATIONS} terminations and a last run; "
        f"an uninterrupted run needs {clean_pages}"
    )


SCRIPT = textwrap.dedent(
    """
    import sys
    import tiktok_research as tr

    client = tr.Client("sandbox", "sandbox", base_url=sys.argv[1])
    videos = tr.fetch_videos(
        tr.Q.hashtag_name.eq("fyp"), "{start}", "{end}", client=client, archive=sys.argv[2],
        progress=False,
    )
    videos.write_parquet(sys.argv[3])
    print("complete" if videos.complete else "incomplete")
    """
).format(start=START.replace("-", ""), end=END.replace("-", ""))


def test_sigterm_stops_a_python_script_cleanly(
    server: SandboxServer, clean: tuple[pl.DataFrame, int], tmp_path: Path
) -> None:
    want, clean_pages = clean
    script = tmp_path / "collect.py"
    script.write_text(SCRIPT)
    archive, out = tmp_path / "archive", tmp_path / "videos.parquet"
    with FaultProxy(server.url) as proxy:
        env = cli_env(proxy.url)
        cmd = [sys.executable, str(script), proxy.url, str(archive), str(out)]

        def start() -> subprocess.Popen[str]:
            return subprocess.Popen(
                cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )

        ends = _series(start, proxy.ledger, random.Random(23), 3)
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        ledger = proxy.ledger
    for code, text in ends:
        # handled like Ctrl-C: KeyboardInterrupt (Terminated) with the run's cost in its notes
        assert code != -signal.SIGTERM, f"killed by SIGTERM without a word:\n{text}"
        assert "Terminated: stopped by SIGTERM" in text, text
        assert "this run: " in text and " charged" in text, text
    assert done.returncode == 0 and done.stdout.strip() == "complete", done.stdout + done.stderr
    assert pl.read_parquet(out).equals(want)
    assert ledger.paid_twice(VIDEOS) == {}
    assert ledger.received(VIDEOS) == clean_pages
