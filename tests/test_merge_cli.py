"""``tiktok-research merge`` through the real entry point: exit codes, messages, no traceback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tiktok_research import schemas

ROOT = Path(__file__).resolve().parents[1]
DUMPS = ROOT / "data" / "sample" / "dumps"


def _cli() -> str:
    found = shutil.which("tiktok-research", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("tiktok-research is not installed in this environment (pip install -e .)")
    return found


def run(
    *args: str | Path, cwd: Path, limit_bytes: int | None = None
) -> subprocess.CompletedProcess[str]:
    def limit() -> None:  # pragma: no cover - runs in the child
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes then fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    proc = subprocess.run(
        [_cli(), "merge", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit if limit_bytes else None,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


def test_inputs_that_name_nothing_are_invalid(tmp_path: Path) -> None:
    r = run("no-such-folder", DUMPS, cwd=tmp_path)
    assert r.returncode == 2
    assert "no-such-folder: no such file or folder" in r.stderr
    r = run("dumps/*.json", cwd=tmp_path)
    assert r.returncode == 2
    assert "dumps/*.json: no file matches this pattern" in r.stderr
    (tmp_path / "empty").mkdir()
    r = run("empty", cwd=tmp_path)
    assert (r.returncode, r.stderr.strip()) == (2, "error: no file found in empty")
    assert not (tmp_path / "merged").exists()  # nothing written


def test_out_that_is_a_file_and_out_with_dataset_are_invalid(tmp_path: Path) -> None:
    (tmp_path / "merged.parquet").write_text("x")
    r = run(DUMPS, "--out", "merged.parquet", cwd=tmp_path)
    assert r.returncode == 2
    assert "--out merged.parquet is a file; give a folder" in r.stderr
    r = run(DUMPS, "--out", "a", "--dataset", "b", cwd=tmp_path)
    assert r.returncode == 2 and "not both" in r.stderr


def test_summary_lists_the_skipped_items_not_every_file(tmp_path: Path) -> None:
    r = run(DUMPS, "--out", "m", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "merged 16 file(s): 237 videos, 8 users, 1080 comments"
    assert lines[1] == "skipped 2 item(s):"
    files = [ln for ln in lines if ln.startswith("  ") and not ln.startswith("    ")]
    assert len(files) == 2  # the two files with skipped items, not the 16 read
    assert any("skipped line 3: truncated last line" in ln for ln in lines)
    assert lines[-1] == "wrote 3 table(s) to m"
    for table in ("videos", "comments", "users"):
        assert pl.read_parquet(tmp_path / "m" / f"{table}.parquet").schema == schemas.SCHEMAS[table]
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "comments.parquet", "users.parquet", "videos.parquet"]  # fmt: skip
    # m holds the tables now: out-files' rule refuses to replace them without --overwrite
    assert run(DUMPS, "--out", "m", "--verbose", cwd=tmp_path).returncode == 2
    verbose = run(DUMPS, "--out", "m", "--verbose", "--overwrite", cwd=tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    assert "files:" in verbose.stdout
    assert sum(ln.startswith("  ") and not ln.startswith("    ")
               for ln in verbose.stdout.splitlines()) == 16  # fmt: skip


def test_dataset_then_refused_then_overwritten(tmp_path: Path) -> None:
    r = run(DUMPS, "--dataset", "ds", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("merged 16 file(s): 237 videos, 8 users, 1080 comments -> Parquet")
    videos = pl.scan_parquet(tmp_path / "ds" / "videos" / "**" / "*.parquet").collect()
    assert videos.height == 237
    again = run(DUMPS, "--dataset", "ds", cwd=tmp_path)
    assert again.returncode == 2
    assert "ds is not empty" in again.stderr and "--overwrite" in again.stderr
    over = run(DUMPS / "curl", "--dataset", "ds", "--overwrite", cwd=tmp_path)
    assert over.returncode == 0, over.stderr
    n = pl.scan_parquet(tmp_path / "ds" / "videos" / "**" / "*.parquet").collect().height
    assert 0 < n < 237


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and RLIMIT_FSIZE")
def test_a_fifo_among_the_inputs_is_reported_not_waited_for(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.json").write_text(
        json.dumps({"data": {"videos": [{"id": 1}]}, "error": {"code": "ok"}}) + "\n"
    )
    os.mkfifo(tmp_path / "in" / "pipe.json")
    r = run("in", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "merged 1 file(s): 1 videos" in r.stdout
    assert "skipped a FIFO (named pipe); not opened" in r.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE")
@pytest.mark.parametrize("mode", ["--out", "--dataset"])
def test_disk_full_is_a_message_naming_the_path_and_nothing_half_written(
    tmp_path: Path, mode: str
) -> None:
    # files may not grow past 10 KB: the tables (20-30 KB) cannot be written
    r = run(DUMPS, mode, "target", cwd=tmp_path, limit_bytes=10_000)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.startswith("error: cannot write target")
    assert "File too large" in r.stderr and "run the same command again" in r.stderr
    assert not list((tmp_path / "target").rglob("*.parquet"))
    assert not list((tmp_path / "target").iterdir())  # no staging or temporary file left
