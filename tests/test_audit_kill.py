"""An audit killed with SIGKILL continues its round: no batch of ids paid twice (but the one in
flight at the kill, which no client can keep), one round in the archive, the same table as an
uninterrupted audit."""

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

from tiktok_research.audit import plan_audit
from tiktok_research.sandbox import Sandbox, SandboxConfig, run_server

SCRIPT = textwrap.dedent(
    """
    import sys
    import polars as pl
    import tiktok_research as tr

    base_url, archive, ids_file, out = sys.argv[1:5]
    client = tr.Client("sandbox", "sandbox", base_url=base_url, qps=8, ledger=False)
    ids = [int(x) for x in open(ids_file).read().split()]
    audit = tr.audit_ids(ids, archive=archive, client=client, progress=False, max_workers=1)
    audit.table.write_parquet(out)
    print("complete" if audit.complete else "incomplete", audit.rounds)
    """
)


def _journal_lines(archive: Path) -> int:
    return sum(len(p.read_bytes().splitlines()) for p in archive.glob("audit-*/journal.jsonl"))


@pytest.mark.slow
@pytest.mark.http
def test_sigkill_then_the_same_round_finishes_without_paying_twice(tmp_path: Path) -> None:
    script = tmp_path / "audit.py"
    script.write_text(SCRIPT)
    archive, out, ids_file = tmp_path / "archive", tmp_path / "audit.parquet", tmp_path / "ids"
    # no failing ranges here (test_audit.py has them): every batch can be answered
    config = SandboxConfig.realistic(
        n_videos=20_000, frozen_corpus=True, latency=0.01, failing_ranges=()
    )
    sandbox = Sandbox(config)
    ids = sandbox.corpus.ids[::25][:800].tolist()  # a year of ids: a batch per month at least
    ids_file.write_text("\n".join(map(str, ids)))
    cost = plan_audit(ids, archive=archive, warn=False).min_requests
    assert cost >= 8
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with run_server(sandbox) as (base_url, sb):
        args = [sys.executable, str(script), base_url, str(archive), str(ids_file), str(out)]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while _journal_lines(archive) < 6:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the audit made no progress"
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)  # reaps it and closes its pipes
        assert proc.returncode == -signal.SIGKILL
        assert not out.exists()
        done = subprocess.run(args, env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout.decode().split() == ["complete", "1"]  # the same round, finished
        ok = [r for r in sb.request_log if r.endpoint == "video_query" and r.status == 200]
        batches = [tuple(r.body["query"]["and"][0]["field_values"]) for r in ok]  # type: ignore[index]
        assert len(set(batches)) == cost
        assert len(batches) - len(set(batches)) <= 1  # only the request in flight at the kill
        missing = set(
            sb.truth.video_status(ids).filter(pl.col("status") != "returned")["id"].to_list()
        )
    table = pl.read_parquet(out)
    assert table["round"].unique().to_list() == [0] and table.height == len(ids)
    assert set(table.filter(~pl.col("found"))["id"].to_list()) == missing
