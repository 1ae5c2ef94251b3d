"""The command line as a user meets it, through the real ``tiktok-research`` entry point.

Help texts, --query combined with flags, follow-up options (--replies, --retry-failed,
--max-total, --column), failures saved beside --out, every table format read back, and the
exit codes and one-line messages of unexpected errors, Ctrl-C and a full disk.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from _disks import fill
from _sandboxes import MakeClient, MakeServer
from tiktok_research import io, schemas
from tiktok_research.query import Q

ENTRY = shutil.which("tiktok-research", path=str(Path(sys.executable).parent))
BASE = [ENTRY] if ENTRY else [sys.executable, "-m", "tiktok_research.cli"]
FEB = ("--start", "2024-02-01", "--end", "2024-02-10")


def cli(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    run_env = {k: v for k, v in os.environ.items() if k != "TIKTOK_RESEARCH_DEBUG"}
    run = subprocess.run(
        [*BASE, *map(str, args)],
        input=stdin, capture_output=True, text=True, cwd=cwd, env=run_env | (env or {}),
        timeout=300, check=False,
    )  # fmt: skip
    assert "Traceback" not in run.stderr or "--debug" in args or env, run.stderr
    return run


def _commands() -> list[list[str]]:
    import typer.main

    from tiktok_research.cli import app

    group = typer.main.get_command(app)
    out: list[list[str]] = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        if subs:
            out.extend([name, sub] for sub in subs)
        else:
            out.append([name])
    return out


def test_help_reads_well(tmp_path: Path) -> None:
    root = cli("--help", cwd=tmp_path)
    assert root.returncode == 0
    for line in ("2    invalid input: nothing was sent", "3    incomplete", "4    credentials",
                 "5    the service cannot be reached", "130  interrupted"):  # fmt: skip
        assert line in root.stdout
    commands = _commands()
    assert len(commands) >= 19
    # the pages of the commands are rendered in this process (the same click code as the
    # command line; a process each cost about a second of start-up, 30 times over)
    from typer.testing import CliRunner

    from tiktok_research.cli import app

    runner = CliRunner()
    for words in commands:
        page = runner.invoke(app, [*words, "--help"])
        assert page.exit_code == 0, (words, page.output)
        assert "<bool>" not in page.output, (words, page.output)
        assert "Example" in page.output, f"{' '.join(words)} --help shows no example"
        assert f"tiktok-research {' '.join(words)}" in page.output
    real = cli("videos", "--help", cwd=tmp_path)  # and one of them from a real process
    assert real.returncode == 0 and "<bool>" not in real.stdout and "Example" in real.stdout


def test_version(tmp_path: Path) -> None:
    from tiktok_research import __version__

    assert cli("--version", cwd=tmp_path).stdout.strip() == f"tiktok-research {__version__}"


def test_query_and_flags_are_combined_with_and(tmp_path: Path) -> None:
    query = tmp_path / "query.json"
    query.write_text(Q.hashtag_name.eq("cats").to_query().to_json())
    both = cli("videos", "--sandbox", "--query", query, "--region", "US", *FEB,
               "--out", "a.parquet", "--no-progress", cwd=tmp_path)  # fmt: skip
    assert both.returncode == 0, both.stderr
    flags = cli("videos", "--sandbox", "--hashtag", "cats", "--region", "US", *FEB, "--out",
                "b.parquet", "--no-progress", cwd=tmp_path)  # fmt: skip
    only_query = cli("videos", "--sandbox", "--query", query.read_text(), *FEB, "--out",
                     "c.parquet", "--no-progress", cwd=tmp_path)  # fmt: skip
    a, b, c = (pl.read_parquet(tmp_path / f"{n}.parquet") for n in "abc")
    assert a.height > 0 and set(a["region_code"]) == {"US"}
    assert sorted(a["id"]) == sorted(b["id"])
    assert c.height > a.height  # the flag was not dropped
    assert flags.returncode == only_query.returncode == 0


def test_comments_replies_max_total_and_failures_beside_out(
    tmp_path: Path, make_client: MakeClient
) -> None:
    import tiktok_research as tr

    client = make_client()
    videos = tr.fetch_videos(Q.hashtag_name.eq("cats"), "20240201", "20240210", client=client,
                             progress=False)  # fmt: skip
    ids = [str(i) for i in tr.select_video_ids(videos, min_comments=1, top=3)]
    top = cli("comments", "--sandbox", *ids, "--out", "top.parquet", "--no-progress",
              cwd=tmp_path)  # fmt: skip
    replies = cli("comments", "--sandbox", *ids, "--replies", "--out", "all.parquet",
                  "--no-progress", cwd=tmp_path)  # fmt: skip
    assert top.returncode == replies.returncode == 0, replies.stderr
    top_df, all_df = (
        pl.read_parquet(tmp_path / "top.parquet"),
        pl.read_parquet(tmp_path / "all.parquet"),
    )
    assert (top_df["parent_comment_id"] == top_df["video_id"]).all()
    assert (all_df["parent_comment_id"] != all_df["video_id"]).sum() > 0
    assert set(top_df["id"]) < set(all_df["id"])

    names = client.sandbox_instance.corpus.sample_usernames(1, seed=3)
    users = cli("users", "--sandbox", *names, "no_such_user_here", "--out", "users.csv",
                "--no-progress", cwd=tmp_path)  # fmt: skip
    assert users.returncode == 0, users.stderr
    side = tmp_path / "users_failures.csv"
    assert f"in {side.name}" in users.stdout
    failures = pl.read_csv(side)
    assert failures["item"].to_list() == ["no_such_user_here"]
    assert "cannot find the user" in failures["message"][0]


def test_max_total_per_item(tmp_path: Path) -> None:
    video_id = "7330498328088282986"  # a sandbox video with 46 comments
    run = cli("comments", "--sandbox", video_id, "--max-total", "3", "--out", "few.csv",
              "--no-progress", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert io.read_csv(tmp_path / "few.csv").height == 3


@pytest.fixture
def served(make_server: MakeServer) -> tuple[str, object]:
    return make_server()


@pytest.mark.http
def test_retry_failed_asks_again_only_when_told(tmp_path: Path, served: tuple[str, object]) -> None:
    url, sb = served
    env = {"TIKTOK_RESEARCH_BASE_URL": url, "TIKTOK_CLIENT_KEY": "sandbox",
           "TIKTOK_CLIENT_SECRET": "sandbox"}  # fmt: skip

    def user_info_requests(*extra: str) -> int:
        before = len(sb.request_log)  # type: ignore[attr-defined]
        run = cli("users", "no_such_user_here", "--out", "u.parquet", "--no-progress", *extra,
                  cwd=tmp_path, env=env)  # fmt: skip
        assert run.returncode == 0, run.stderr
        new = sb.request_log[before:]  # type: ignore[attr-defined]
        return sum(r.endpoint == "user_info" for r in new)

    assert user_info_requests() == 1
    assert user_info_requests() == 0  # a failure for good is remembered
    assert user_info_requests("--retry-failed") == 1


def test_select_and_summary_read_every_format(tmp_path: Path, make_client: MakeClient) -> None:
    import tiktok_research as tr

    client = make_client()
    videos = tr.fetch_videos(Q.hashtag_name.eq("cats"), "20240201", "20240210", client=client,
                             progress=False)  # fmt: skip
    io.write_parquet(videos, tmp_path / "v.parquet", table="videos")
    io.write_csv(videos, tmp_path / "v.csv")
    videos.write_ndjson(tmp_path / "v.jsonl")
    io.write_dataset(videos, tmp_path / "ds", table="videos")
    outputs = {}
    summaries = {}
    for name in ("v.parquet", "v.csv", "v.jsonl", "ds"):
        run = cli("select", "video-ids", name, "--min-comments", "1", cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        outputs[name] = run.stdout.split()
        run = cli("summary", name, "--by", "region", cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        summaries[name] = run.stdout
    assert all(len(i) == 19 and i.isdigit() for i in outputs["v.parquet"])
    assert len({tuple(v) for v in outputs.values()}) == 1, outputs
    assert len(set(summaries.values())) == 1, summaries

    comments = tr.fetch_comments(tr.select_video_ids(videos, min_comments=1, top=2),
                                 client=client, progress=False)  # fmt: skip
    io.write_csv(comments, tmp_path / "comments.csv")
    run = cli("select", "video-ids", "comments.csv", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert set(run.stdout.split()) == {str(i) for i in comments["video_id"].unique()}

    followers = schemas.cast(
        pl.DataFrame({"source_username": ["a", "a", "b"], "username": ["x", "y", "z"]}),
        "followers",
    )
    io.write_csv(followers, tmp_path / "followers.csv")
    run = cli("select", "usernames", "followers.csv", "--column", "source_username",
              cwd=tmp_path)  # fmt: skip
    assert run.stdout.split() == ["a", "b"]


def _patched(
    code: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``main()`` after ``code`` (a patch that makes something fail), as the entry point."""
    script = "\n".join(
        ["import sys", code, "from tiktok_research.cli import main",
         f"sys.argv = ['tiktok-research', *{list(args)!r}]", "main()"]
    )  # fmt: skip
    run_env = {k: v for k, v in os.environ.items() if k != "TIKTOK_RESEARCH_DEBUG"}
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=cwd, env=run_env | (env or {}), timeout=120, check=False)  # fmt: skip


BOOM = """
import tiktok_research.io as m
def boom(*a, **k):
    raise RuntimeError("boom: a bug")
m.read_table = boom
"""


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    io.write_parquet(schemas.empty("videos"), tmp_path / "v.parquet", table="videos")
    plain = _patched(BOOM, "summary", "v.parquet", cwd=tmp_path)
    assert plain.returncode == 1
    assert "Traceback" not in plain.stderr
    assert plain.stderr.splitlines()[0] == "error: unexpected RuntimeError: boom: a bug"
    assert "--debug" in plain.stderr and "TIKTOK_RESEARCH_DEBUG=1" in plain.stderr
    for debug in (_patched(BOOM, "--debug", "summary", "v.parquet", cwd=tmp_path),
                  _patched(BOOM, "summary", "v.parquet", cwd=tmp_path,
                           env={"TIKTOK_RESEARCH_DEBUG": "1"})):  # fmt: skip
        assert debug.returncode == 1
        assert "Traceback" in debug.stderr and "RuntimeError: boom" in debug.stderr


PANIC = """
import tiktok_research.io as m
class PanicException(BaseException):  # what a Rust panic inside polars raises
    pass
def panic(*a, **k):
    raise PanicException("table width argument does not fit in u16")
m.read_table = panic
"""


def test_a_panic_inside_polars_is_one_line_too(tmp_path: Path) -> None:
    io.write_parquet(schemas.empty("videos"), tmp_path / "v.parquet", table="videos")
    run = _patched(PANIC, "summary", "v.parquet", cwd=tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("error: unexpected PanicException: table width")


def _wait_until_reading(pid: int, timeout: float = 60) -> None:
    """Until the process blocks reading stdin (Linux: its wait channel), or a few seconds."""
    wchan = Path(f"/proc/{pid}/wchan")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not wchan.exists():
            time.sleep(3)
            return
        if "pipe" in wchan.read_text():
            return
        time.sleep(0.1)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_exits_130_with_one_line(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*BASE, "comments", "--sandbox", "--from-file", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=tmp_path,
    )  # fmt: skip
    _wait_until_reading(proc.pid)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines() == [
        "interrupted: pages already collected are kept in the archive; run the same command "
        "again to continue"
    ]


def test_a_full_disk_names_the_file(small_disk: Path, tmp_path: Path) -> None:
    """Outputs are written beside their name and renamed into place (out-files), so a link to
    /dev/full no longer shows a full disk: a really full file system does (root only)."""
    io.write_parquet(
        schemas.cast(pl.DataFrame({"id": [7320768158545159950], "comment_count": [3]}), "videos"),
        small_disk / "v.parquet",
        table="videos",
    )
    fill(small_disk)
    run = cli("select", "video-ids", "v.parquet", "--out", "ids.txt", cwd=small_disk)
    assert run.returncode == 3, run.stderr
    assert run.stderr.startswith("error: no space left on the disk while writing ids.txt")
    assert not (small_disk / "ids.txt").exists()  # nothing half-written left behind
    run = cli("users", "--sandbox", "kimbookish", "--out", small_disk / "full.csv",
              "--archive", tmp_path / "archive", "--no-progress", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 3, run.stderr
    assert f"no space left on the disk while writing {small_disk / 'full.csv'}" in run.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "v.parquet"]


def test_summary_out_and_jsonl_output(tmp_path: Path) -> None:
    run = cli("videos", "--sandbox", "--hashtag", "cats", *FEB, "--out", "v.jsonl", "--no-progress",
              cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in (tmp_path / "v.jsonl").read_text().splitlines()]
    # ids are JSON strings of digits (out-files, issue 18.7: jq and JavaScript keep them exact)
    assert rows and all(isinstance(r["id"], str) and r["id"].isdigit() for r in rows)
    assert io.read_table(tmp_path / "v.jsonl")["id"].cast(pl.String).to_list() == [
        r["id"] for r in rows
    ]
    run = cli("summary", "v.jsonl", "--by", "week", "--out", "weekly.csv", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "week" in pl.read_csv(tmp_path / "weekly.csv").columns


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root may write in any folder"
)
def test_an_output_folder_without_write_permission_is_refused_first(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        run = cli("videos", "--sandbox", "--hashtag", "cats", *FEB, "--out", locked / "v.parquet",
                  cwd=tmp_path)  # fmt: skip
    finally:
        locked.chmod(0o700)
    assert run.returncode == 2
    assert "permission denied" in run.stderr
    assert not (tmp_path / "tiktok-archive").exists()
