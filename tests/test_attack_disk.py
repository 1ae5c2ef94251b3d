"""A full disk and an unwritable collection folder cost nothing (issue 22, items 4 and 6).

A small tmpfs is mounted as the archive (conftest's ``small_disk``: root only, the test is
skipped elsewhere). A run on a full disk stops before its request, not after paying for a page it
cannot keep (before: one page per window per run, paid and lost, and no cost line); a run that
fills the disk stops before the page that would not fit, having kept every page it paid for; the
next run on a disk with room finishes without paying any page twice. A collection folder that
cannot be written (an immutable one, ``chattr +i``) is found before any request (before: one page
per window per attempt). Every request that reaches the sandbox is counted at a proxy.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

import tiktok_research as tr
from _disks import remount
from _faultproxy import FaultProxy
from _runs import stopped_by_budget
from _servers import SandboxServer, cli_env, no_traceback, run_cli, sandbox_server
from tiktok_research.sandbox import Sandbox, SandboxConfig

N_VIDEOS = 40_000
START, END = "2024-01-01", "2024-03-30"  # 3 windows of 9 pages (~45 KB each)
VIDEOS = "/v2/research/video/query/"

pytestmark = [pytest.mark.http]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with sandbox_server("--n-videos", str(N_VIDEOS)) as srv:
        yield srv


@pytest.fixture(scope="module")
def clean() -> tuple[pl.DataFrame, int]:
    sb = Sandbox(SandboxConfig(n_videos=N_VIDEOS))
    want = tr.fetch_videos(
        tr.Q.hashtag_name.eq("fyp"), START, END, client=tr.Client.sandbox(sb), progress=False
    )
    return pl.DataFrame(want), sb.requests_spent()["video_query"]


def _args(archive: Path, out: Path) -> list[str]:
    return ["videos", "--hashtag", "fyp", "--start", START, "--end", END, "--no-progress",
            "--archive", str(archive), "--out", str(out)]  # fmt: skip


def _archived_ok_pages(archive: Path) -> int:
    n = 0
    for path in archive.rglob("pages-*"):
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        for line in raw.splitlines():
            try:
                env = json.loads(line)
            except ValueError:
                continue
            n += env["meta"]["http_status"] == 200
    return n


def test_a_full_disk_pays_nothing_run_after_run(
    small_disk: Path, server: SandboxServer, clean: tuple[pl.DataFrame, int], tmp_path: Path
) -> None:
    want, clean_pages = clean
    archive, out = small_disk / "archive", tmp_path / "videos.parquet"
    remount(small_disk, "4m")  # room for the whole collection once the filler is gone
    filler = small_disk / "filler"
    free = shutil.disk_usage(small_disk).free
    filler.write_bytes(b"\0" * (free - 60 * 1024))  # 60 KB left: room for the bookkeeping only
    with FaultProxy(server.url) as proxy:
        env = cli_env(proxy.url)
        for attempt in range(3):  # a cron loop on a disk that stays full
            done = run_cli(_args(archive, out), env)
            text = done.stdout + done.stderr
            assert done.returncode == 3 and no_traceback(text), text
            assert "is full" in text and "run the same call again" in text, text
            assert "0 requests spent in this run" in text, text  # the cost line on a stop
            assert proxy.ledger.received(VIDEOS) == 0, f"run {attempt + 1} paid for pages"
        filler.unlink()
        done = run_cli(_args(archive, out), env)
        ledger = proxy.ledger
    assert done.returncode == 0, done.stdout + done.stderr
    assert pl.read_parquet(out).equals(want)
    assert ledger.received(VIDEOS) == clean_pages and ledger.paid_twice() == {}


def test_a_run_that_fills_the_disk_keeps_every_page_it_paid_for(
    small_disk: Path, server: SandboxServer, clean: tuple[pl.DataFrame, int], tmp_path: Path
) -> None:
    want, clean_pages = clean
    archive, out = small_disk / "archive", tmp_path / "videos.parquet"
    with FaultProxy(server.url) as proxy:
        env = cli_env(proxy.url)
        done = run_cli(_args(archive, out), env)  # ~1.2 MB of pages on a 1 MiB disk
        text = done.stdout + done.stderr
        assert done.returncode == 3 and no_traceback(text), text
        assert "is full" in text and "requests spent in this run" in text, text
        paid = proxy.ledger.received(VIDEOS)
        assert 0 < paid < clean_pages
        assert _archived_ok_pages(archive) == proxy.ledger.ok_pages(VIDEOS) == paid, (
            "a page was paid for and not kept"
        )
        remount(small_disk, "8m")
        done = run_cli(_args(archive, out), env)
        ledger = proxy.ledger
    assert done.returncode == 0, done.stdout + done.stderr
    assert pl.read_parquet(out).equals(want)
    assert ledger.received(VIDEOS) == clean_pages and ledger.paid_twice() == {}


def test_an_unwritable_collection_folder_is_found_before_any_request(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        pytest.skip("chattr +i needs root")
    sb = Sandbox(SandboxConfig(n_videos=N_VIDEOS))
    archive = tmp_path / "archive"
    with stopped_by_budget():
        first = tr.fetch_videos(
            tr.Q.hashtag_name.eq("fyp"), START, END, archive=archive, progress=False,
            client=tr.Client.sandbox(sb, max_requests=2),
        )  # fmt: skip
    assert not first.complete
    (folder,) = [p for p in archive.iterdir() if p.is_dir()]
    spent = sb.requests_spent()["video_query"]
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("this file system has no immutable flag")
    try:
        for _ in range(2):
            with pytest.raises(tr.ArchiveError, match="cannot write in the collection folder"):
                tr.fetch_videos(
                    tr.Q.hashtag_name.eq("fyp"), START, END, archive=archive, progress=False,
                    client=tr.Client.sandbox(sb),
                )  # fmt: skip
            assert sb.requests_spent()["video_query"] == spent  # nothing was sent
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=False)
    done = tr.fetch_videos(
        tr.Q.hashtag_name.eq("fyp"), START, END, archive=archive, progress=False,
        client=tr.Client.sandbox(sb),
    )  # fmt: skip
    assert done.complete
