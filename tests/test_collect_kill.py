"""A collection killed with SIGKILL resumes where it stopped: same table, no page requested twice.

A request that is in flight at the moment of the kill is answered by the service but never reaches
the client; nothing can keep it. What the client guarantees is that every answer it *received* is
archived and never asked for again. The test therefore kills the collector between two requests
(one worker; the client's rate limiter leaves a gap after each page), which is where a collector
spends almost all of its life against the real service's 1,000-request quota.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

import tiktok_research as tr
from _sandboxes import MakeClient, MakeSandbox
from tiktok_research.sandbox import run_server

SCRIPT = textwrap.dedent(
    """
    import sys
    import tiktok_research as tr

    base_url, archive, out = sys.argv[1:4]
    client = tr.Client("sandbox", "sandbox", base_url=base_url, qps=8, ledger=False)
    query = tr.Q.hashtag_name.isin(["fyp", "foryou", "viral"])
    videos = tr.fetch_videos(query, "20240101", "20240430", client=client, archive=archive,
                             progress=False, max_workers=1)
    videos.write_parquet(out)
    print("complete" if videos.report.complete else "incomplete", videos.height)
    """
)

QUERY = tr.Q.hashtag_name.isin(["fyp", "foryou", "viral"])


def _journal_lines(archive: Path) -> int:
    return sum(len(p.read_bytes().splitlines()) for p in archive.glob("videos-*/journal.jsonl"))


@pytest.mark.slow
@pytest.mark.http
def test_sigkill_then_resume_equals_an_uninterrupted_run(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    script = tmp_path / "collect.py"
    script.write_text(SCRIPT)
    archive, out = tmp_path / "archive", tmp_path / "videos.parquet"
    sandbox = make_sandbox(n_videos=60_000, latency=0.01)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with run_server(sandbox) as (base_url, sb):
        args = [sys.executable, str(script), base_url, str(archive), str(out)]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while _journal_lines(archive) < 6:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the collection made no progress"
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)  # waits, and closes the pipes
        assert proc.returncode == -signal.SIGKILL
        assert not out.exists()
        pages_before = len(
            [r for r in sb.request_log if r.endpoint == "video_query" and r.status == 200]
        )

        done = subprocess.run(args, env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout.decode().startswith("complete")
        ok = [r for r in sb.request_log if r.endpoint == "video_query" and r.status == 200]
        assert len(ok) > pages_before  # the second run did continue the work
        keys = [
            (r.body["start_date"], r.body["end_date"], int(r.body.get("cursor") or 0)) for r in ok
        ]
        assert len(keys) == len(set(keys)), "a page was requested twice"

    resumed = pl.read_parquet(out)
    fresh = make_sandbox(n_videos=60_000)
    whole = tr.fetch_videos(
        QUERY, "20240101", "20240430", client=make_client(fresh), progress=False
    )
    assert resumed.equals(whole)
    assert resumed.height > 500
