"""Two processes share the daily-quota ledger and see each other's counts (issue 9 item 12).

Two notebooks (or a notebook and a terminal) spend the same daily quota: the local ledger must
count the requests of both, whatever the platform. Each child process makes N requests through
its own client on a ledger folder shared by both, started at the same instant; the parent then
reads the ledger through the public ``Client.quota``.

The second test runs the children as on a platform without ``fcntl`` (Windows has none): the
import of ``fcntl`` fails in them. A portable lock (``filelock``) still keeps the processes apart;
a lock built on ``fcntl`` alone protects nothing there, and updates are lost.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tiktok_research as tr

CHILD = textwrap.dedent(
    """
    import sys, time
    if sys.argv[4] == "no-fcntl":
        sys.modules["fcntl"] = None  # `import fcntl` now fails, as on Windows
    import tiktok_research as tr
    from tiktok_research.sandbox import Sandbox, SandboxConfig

    ledger, n, go_at = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    sb = Sandbox(SandboxConfig(n_videos=1_000))
    client = tr.Client.sandbox(sb, ledger=ledger)
    name = sb.corpus.sample_usernames(1)[0]
    while time.time() < go_at:
        time.sleep(0.001)
    for _ in range(n):
        client.user_info(name)
    print("done", n)
    """
)
N = 120


def _two_processes(tmp_path: Path, mode: str) -> int:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    ledger = tmp_path / "ledger"
    go_at = time.time() + 3.0  # both import, then start together
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(ledger), str(N), str(go_at), mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and out.startswith("done"), err[-2000:]
    counted = tr.Client.sandbox(ledger=ledger).quota.by_endpoint.get("user_info", 0)
    return int(counted)


@pytest.mark.slow
def test_two_processes_count_every_request_in_the_shared_ledger(tmp_path: Path) -> None:
    assert _two_processes(tmp_path, "default") == 2 * N


@pytest.mark.slow
def test_two_processes_count_every_request_without_fcntl(tmp_path: Path) -> None:
    assert _two_processes(tmp_path, "no-fcntl") == 2 * N
