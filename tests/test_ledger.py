"""_ledger: the quota ledger (counts by day and quota family, across threads and processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from tiktok_research._ledger import Ledger


def test_ledger_counts_by_day_and_family_and_hides_the_key(tmp_path: Path) -> None:
    led = Ledger("my-client-key", tmp_path)
    day = date(2025, 3, 1)
    led.record("video_query", day)
    led.record("video_query", day)
    led.record("followers", day)
    led.record("video_query", day + timedelta(days=1))
    assert led.by_endpoint(day) == {"video_query": 2, "followers": 1}
    assert led.used(day) == {"research": 2, "social": 1}
    assert "my-client-key" not in led.path.name
    assert all("my-client-key" not in p.read_text() for p in tmp_path.iterdir() if p.is_file())


def test_ledger_is_safe_across_threads(tmp_path: Path) -> None:
    day = date(2025, 3, 1)

    def work() -> None:
        led = Ledger("k", tmp_path)
        for _ in range(25):
            led.record("comments", day)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Ledger("k", tmp_path).by_endpoint(day) == {"comments": 100}


def test_ledger_survives_a_new_process(tmp_path: Path) -> None:
    day = date(2025, 3, 1)
    Ledger("k", tmp_path).record("user_info", day, 3)
    code = (
        "import sys, datetime; from tiktok_research._ledger import Ledger\n"
        "l = Ledger('k', sys.argv[1]); d = datetime.date(2025, 3, 1)\n"
        "l.record('user_info', d, 2); print(l.by_endpoint(d)['user_info'])\n"
    )
    procs = [
        subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
        )
        for _ in range(2)
    ]
    assert [p.stdout.strip() for p in procs] == ["5", "7"]
    assert Ledger("k", tmp_path).by_endpoint(day) == {"user_info": 7}
    assert json.loads(Ledger("k", tmp_path).path.read_text()) == {"2025-03-01": {"user_info": 7}}


def test_ledger_default_location_follows_the_cache_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_RESEARCH_CACHE_DIR", str(tmp_path))
    led = Ledger("k")
    led.record("video_query", date(2025, 1, 1))
    assert led.path.parent == tmp_path / "quota" and led.path.exists()
    assert os.environ["TIKTOK_RESEARCH_CACHE_DIR"] == str(tmp_path)
