"""The shell stays thin: what moved out of the command line into the library still holds.

``refresh --dry-run`` and ``update --dry-run`` print the library's plans (``plan_refresh``,
``plan_update``), so a dry run says what the run will ask; every check of the input runs
before the credentials are needed (exit 2, not 4, for a mistake); an unexpected error of any
command, ``merge`` included, goes through the one error boundary. Each command runs through the
real entry point in a subprocess, as a user runs it; requests are counted at a served sandbox.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

import tiktok_research as tr
from _sandboxes import new_sandbox
from tiktok_research.query import Q
from tiktok_research.sandbox import Sandbox, run_server

ENTRY = shutil.which("tiktok-research", path=str(Path(sys.executable).parent))
BASE = [ENTRY] if ENTRY else [sys.executable, "-m", "tiktok_research.cli"]
ROOT = Path(__file__).resolve().parents[1]
DUMPS = ROOT / "data" / "sample" / "dumps"
FIELDS = ("id", "create_time", "view_count", "like_count")


def cli(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, without credentials unless ``env`` gives them."""
    # the test's cache folder is kept (conftest's): the user's own is never written
    base = {k: v for k, v in os.environ.items() if k == "TIKTOK_RESEARCH_CACHE_DIR"
            or not k.startswith(("TIKTOK_CLIENT_", "TIKTOK_RESEARCH_"))}  # fmt: skip
    return subprocess.run(
        [*BASE, *map(str, args)], capture_output=True, text=True, cwd=cwd,
        env=base | (env or {}), timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Sandbox]]:
    """A served sandbox whose compliance tasks are done at once."""
    with run_server(new_sandbox(validation_processing_seconds=0)) as (url, sb):
        yield url, sb


def credentials(url: str) -> dict[str, str]:
    return {"TIKTOK_RESEARCH_BASE_URL": url, "TIKTOK_CLIENT_KEY": "sandbox",
            "TIKTOK_CLIENT_SECRET": "sandbox"}  # fmt: skip


@pytest.fixture(scope="module")
def partial_table(served: tuple[str, Sandbox], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A videos table collected with four fields only (the others are null)."""
    url, _ = served
    with tr.Client("sandbox", "sandbox", base_url=url, ledger=False) as client:  # over HTTP
        videos = tr.fetch_videos(Q.hashtag_name.eq("cats"), "20240201", "20240210",
                                 fields=FIELDS, client=client, progress=False)  # fmt: skip
    assert videos.height > 0
    path = tmp_path_factory.mktemp("partial") / "videos.parquet"
    tr.io.write_parquet(videos, path, table="videos")
    return path


def test_refresh_dry_run_asks_for_the_fields_the_refresh_asks_for(
    served: tuple[str, Sandbox], partial_table: Path, tmp_path: Path
) -> None:
    url, sb = served
    shutil.copy(partial_table, tmp_path / "videos.parquet")
    rows = pl.read_parquet(partial_table).height
    before = len(sb.request_log)
    plan = cli("refresh", "videos.parquet", "--dry-run", cwd=tmp_path, env=credentials(url))
    assert plan.returncode == 0, plan.stderr
    assert len(sb.request_log) == before, "a dry run sends nothing"
    assert f"refresh of videos.parquet: {rows:,} rows, 1 task(s)" in plan.stdout
    assert "in all: at least 3 request(s), at most about 4 plus the status checks" in plan.stdout
    shown = [ln for ln in plan.stdout.splitlines() if ln.startswith("  fields: ")]
    assert shown == ["  fields: " + ", ".join(FIELDS)], plan.stdout  # the table's fields only
    run = cli("refresh", "videos.parquet", "--out", "current.parquet", "--no-progress",
              cwd=tmp_path, env=credentials(url))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    asked = {r.params.get("fields") for r in sb.request_log[before:] if r.endpoint == "video_query"}
    assert asked == {",".join(FIELDS)}, "the run asks for what its dry run showed"


def test_update_dry_run_of_a_dataset_up_to_date_says_nothing_new(
    served: tuple[str, Sandbox], tmp_path: Path
) -> None:
    url, sb = served
    today = dt.datetime.now(dt.UTC).date()
    (tmp_path / "monitor").mkdir()
    state = {"query": Q.hashtag_name.eq("cats").to_query().to_dict(),
             "through": today.strftime("%Y%m%d")}  # fmt: skip
    (tmp_path / "monitor" / "_tiktok_research_update.json").write_text(json.dumps(state))
    before = len(sb.request_log)
    run = cli("update", "monitor", "--hashtag", "cats", "--start", "2024-01-01", "--dry-run",
              cwd=tmp_path, env=credentials(url))  # fmt: skip
    assert run.returncode == 0, run.stderr
    tomorrow = today + dt.timedelta(days=1)
    assert run.stdout.splitlines() == [
        f"note: --start is for the first run only; monitor continues from {tomorrow}",
        f"nothing new to collect: monitor holds every day up to {today}, the newest day the "
        "service has indexed in full; no data request sent",
    ]
    asked = [r.endpoint for r in sb.request_log[before:]]
    assert asked == ["oauth_token"], "no data request: only the token, whose answer says the day"
    assert sorted(p.name for p in (tmp_path / "monitor").iterdir()) == [
        "_tiktok_research_update.json"
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("refresh", "{table}", "--out", "r.parquet", "--fields", "id,views"),
        ("update", "monitor", "--hashtag", "cats", "--start", "2024-01-01", "--fields", "views"),
    ],
    ids=["refresh", "update"],
)
def test_an_unknown_field_is_invalid_input_without_credentials_too(
    args: tuple[str, ...], partial_table: Path, tmp_path: Path
) -> None:
    # before, both commands built their client before the library checked --fields: exit 4
    # ("credentials missing") hid the mistake, which the same command with credentials called 2
    run = cli(*(a.replace("{table}", str(partial_table)) for a in args), cwd=tmp_path)
    assert "Traceback" not in run.stderr
    assert run.returncode == 2, run.stderr
    assert "'views'" in run.stderr
    assert not any(tmp_path.iterdir()), "nothing written, no dataset folder created"


BOOM = """
import tiktok_research.merge as m
def boom(*a, **k):
    raise RuntimeError("boom: a bug")
m.merge_dumps = boom
"""


def _patched(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = "\n".join(["import sys", code, "from tiktok_research.cli import main",
                        f"sys.argv = ['tiktok-research', *{list(args)!r}]", "main()"])  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "TIKTOK_RESEARCH_DEBUG"}
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120, check=False)  # fmt: skip


def test_an_unexpected_error_in_merge_goes_through_the_one_boundary(tmp_path: Path) -> None:
    # before, merge caught every exception itself: --debug could not show the traceback
    plain = _patched(BOOM, "merge", str(DUMPS), cwd=tmp_path)
    assert plain.returncode == 1
    assert plain.stderr.splitlines() == [
        "error: unexpected RuntimeError: boom: a bug",
        "(run again with --debug, or TIKTOK_RESEARCH_DEBUG=1, to see the traceback)",
    ]
    debug = _patched(BOOM, "--debug", "merge", str(DUMPS), cwd=tmp_path)
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr and "RuntimeError: boom: a bug" in debug.stderr
    assert not (tmp_path / "merged").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE")
def test_a_merge_that_cannot_write_is_one_message_with_its_exit_code(tmp_path: Path) -> None:
    # merge documents exit 1 for tables it cannot write; the message is the whole output (a
    # known condition: no hint to run again with --debug)
    def limit() -> None:  # pragma: no cover - runs in the child
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes then fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, 10_000))

    run = subprocess.run(
        [*BASE, "merge", str(DUMPS), "--out", "target"], capture_output=True, text=True,
        cwd=tmp_path, timeout=120, preexec_fn=limit, check=False,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot write target"), run.stderr
    assert not list((tmp_path / "target").iterdir())
