"""Two collectors on one archive at the same time (issue 9 item 9).

Two notebooks, or a notebook and a terminal, start the same collection on the same archive. The
scenario runs once: process A starts ``tiktok-research videos ... --archive A``; as soon as A has
sent its first requests, process B starts the same command on the same archive. Both go through a
counting proxy in front of ``sandbox serve`` (with latency, so that they overlap).

What must hold whatever the design (B waits for A, or B stops): the pages are paid once in total,
neither shows a traceback, a process that stops says which collection folder is busy, a process
that succeeds writes the full table, and no process reads a file the other is writing or
compressing ("file not found; skipped"). The design the lead intends (B stops at once with exit
code 3, naming the folder and A's pid, having sent no request) is a separate, stricter test.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

import tiktok_research as tr
from _faultproxy import FaultProxy
from _sandboxes import new_client, new_sandbox
from _servers import cli_env, no_traceback, sandbox_server, start_cli

N_VIDEOS = 40_000
START, END = "2024-01-01", "2024-03-30"  # 3 windows of 9 pages
VIDEOS = "/v2/research/video/query/"
MAX_WORKERS = 4

pytestmark = [pytest.mark.http, pytest.mark.slow]


@dataclass
class Proc:
    pid: int
    returncode: int
    stdout: str
    stderr: str
    ended: float  # time.monotonic() at exit
    out: Path

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Scenario:
    a: Proc
    b: Proc
    received: int  # data requests received by the proxy from both
    clean_pages: int
    want: pl.DataFrame
    folders: list[Path]


def _finish(proc: subprocess.Popen[str], out: Path, deadline: float) -> Proc:
    while proc.poll() is None:
        assert time.monotonic() < deadline, "a collector did not finish"
        time.sleep(0.01)
    ended = time.monotonic()
    stdout, stderr = proc.communicate()
    return Proc(proc.pid, proc.returncode, stdout, stderr, ended, out)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    sb = new_sandbox(n_videos=N_VIDEOS)
    with new_client(sb) as client:
        want = pl.DataFrame(
            tr.fetch_videos(tr.Q.hashtag_name.eq("fyp"), START, END, client=client, progress=False)
        )
    clean_pages = sb.requests_spent()["video_query"]
    tmp = tmp_path_factory.mktemp("two")
    archive = tmp / "archive"
    args = ["videos", "--hashtag", "fyp", "--start", START, "--end", END, "--no-progress"]
    args += ["--archive", str(archive)]
    with (
        sandbox_server("--n-videos", str(N_VIDEOS), "--latency", "0.05") as server,
        FaultProxy(server.url) as proxy,
    ):
        env = cli_env(proxy.url)
        # A's requests after its second wait at the proxy until B has ended (or 20 s): on a
        # loaded machine B's start-up alone took longer than A's whole run, and B found the
        # collection finished. The proxy closes the gate itself (gate_after): this thread, when
        # it closed it, was once descheduled long enough for A to finish first.
        proxy.gate_after = 2
        a = start_cli([*args, "--out", str(tmp / "a.parquet")], env)
        deadline = time.monotonic() + 180
        while proxy.ledger.received(VIDEOS) < 2:
            assert a.poll() is None, a.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.005)
        b = start_cli([*args, "--out", str(tmp / "b.parquet")], env)
        held = time.monotonic()
        while b.poll() is None and time.monotonic() < held + proxy.gate_seconds:
            time.sleep(0.01)
        proxy.gate.set()
        procs: dict[str, Proc] = {}
        pending = {"a": (a, tmp / "a.parquet"), "b": (b, tmp / "b.parquet")}
        while pending:  # record who ends first
            for name, (proc, out) in list(pending.items()):
                if proc.poll() is not None:
                    procs[name] = _finish(proc, out, deadline)
                    del pending[name]
            assert time.monotonic() < deadline, "the collectors did not finish"
            time.sleep(0.01)
        received = proxy.ledger.received(VIDEOS)
    folders = [p for p in archive.iterdir() if p.is_dir()]
    yield Scenario(procs["a"], procs["b"], received, clean_pages, want, folders)


def test_two_collectors_on_one_archive_pay_each_page_once(scenario: Scenario) -> None:
    assert len(scenario.folders) == 1, scenario.folders
    folder = scenario.folders[0]
    for name, p in (("A", scenario.a), ("B", scenario.b)):
        assert no_traceback(p.text), f"{name} showed a traceback:\n{p.text}"
        assert "not found" not in p.text, f"{name} read a file the other was writing:\n{p.text}"
        if p.returncode == 0:
            same = pl.read_parquet(p.out).equals(scenario.want)
            assert same, f"{name} exited 0 with a table that differs"
        else:
            assert p.returncode == 3, f"{name} exited {p.returncode}:\n{p.text}"
            assert folder.name in p.text, f"{name} stopped without naming {folder}:\n{p.text}"
    assert scenario.a.returncode == 0 or scenario.b.returncode == 0, "neither finished"
    assert scenario.received <= scenario.clean_pages + MAX_WORKERS, (
        f"{scenario.received} requests paid by two collectors of a {scenario.clean_pages}-page "
        "collection"
    )


def test_the_second_collector_stops_at_once_naming_the_folder_and_the_first(
    scenario: Scenario,
) -> None:
    a, b = scenario.a, scenario.b
    assert b.returncode == 3, f"B exited {b.returncode}:\n{b.text}"
    assert b.ended < a.ended, "B did not stop before A finished"
    assert scenario.folders[0].name in b.text, b.text
    assert str(a.pid) in b.text, f"B does not name the other process (pid {a.pid}):\n{b.text}"
    assert a.returncode == 0
    assert pl.read_parquet(a.out).equals(scenario.want)
    assert scenario.received == scenario.clean_pages, "B sent requests, or A paid twice"
