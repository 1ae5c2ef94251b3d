"""Attacks on "never lose data": damaged archives, odd journals, read-only and full disks (issue 9).

Each corruption is applied to the archive of an *interrupted* run (stopped by ``max_requests=20``)
and of a *finished* one, then the same call runs again on the same sandbox. Whatever the damage,
the outcome must be one of:

* the table equals the clean run's and the report is complete, having paid only for the pages
  that were lost (plus one re-opened search per window at most); or
* the report is incomplete and names the damaged file.

Never ``complete=True`` with rows missing. Requests are counted at the sandbox.

Issue 9 items covered: 4 (damaged pages), 5 (journal lines that are not ours), 6 (missing journal
of a finished collection), 11 (full disk). Each failed on the code of issue 9's report.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import shutil
import subprocess
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import tiktok_research as tr
from _sandboxes import new_client, new_sandbox, spent
from _servers import SandboxServer, cli_env, no_traceback, run_cli, sandbox_server
from tiktok_research.sandbox import Sandbox

N_VIDEOS = 20_000  # the default sandbox corpus (so the CLI's --sandbox holds the same videos)
QUERY = tr.Q.video_length.isin(["SHORT", "MID", "LONG", "EXTRA_LONG"])
START, END = "20240101", "20240330"  # 3 windows of ~17 pages each
WINDOWS = 3
BUDGET = 20  # requests of the interrupted run
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@dataclass
class Outcome:
    result: Any  # the FetchResult, or None when the call raised
    error: BaseException | None
    requests: int  # video-query requests the call spent (counted at the sandbox)
    messages: list[str]  # warnings and log records at WARNING or above


def _run(sb: Sandbox, archive: Path, caplog: pytest.LogCaptureFixture, **kw: Any) -> Outcome:
    """The same call again on ``archive``; never raises (the error is returned)."""
    before = spent(sb)
    caplog.clear()
    result, error = None, None
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        try:
            with new_client(sb, **kw) as client:
                result = tr.fetch_videos(
                    QUERY, START, END, client=client, archive=archive, progress=False
                )
        except Exception as e:  # the outcome is judged by the test
            error = e
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    return Outcome(result, error, spent(sb) - before, messages)


# ------------------------------------------------------------------------- reading the archive


def _readable_bytes(path: Path) -> bytes:
    """The bytes of a pages file that can still be read (a damaged gzip up to the damage)."""
    raw = path.read_bytes()
    if not path.name.endswith(".gz"):
        return raw
    out = bytearray()
    d = zlib.decompressobj(wbits=47)
    for i in range(0, len(raw), 4096):
        try:
            out += d.decompress(raw[i : i + 4096])
        except zlib.error:
            break
    return bytes(out)


def ok_pages(folder: Path) -> int:
    """Ok video pages that can still be read in a collection folder's pages files."""
    n = 0
    for path in folder.glob("pages-*"):
        for line in _readable_bytes(path).split(b"\n"):
            try:
                env = json.loads(line)
            except ValueError:
                continue
            resp = env.get("response") if isinstance(env, dict) else None
            if isinstance(resp, dict) and (resp.get("error") or {}).get("code") == "ok":
                n += 1
    return n


def _folder(archive: Path) -> Path:
    found = [p for p in archive.iterdir() if p.is_dir()]
    assert len(found) == 1, f"expected one collection folder in {archive}, found {found}"
    return found[0]


def _pages_file(folder: Path) -> Path:
    files = sorted(folder.glob("pages-*"), key=lambda p: p.stat().st_mtime_ns)
    assert files, f"no pages file in {folder}: {sorted(p.name for p in folder.iterdir())}"
    return files[-1]


def _journal(folder: Path) -> Path:
    files = sorted(folder.glob("journal*"))
    assert files, f"no journal in {folder}: {sorted(p.name for p in folder.iterdir())}"
    return files[0]


# ------------------------------------------------------------------------------------ fixtures


@dataclass
class World:
    sb: Sandbox
    want: pl.DataFrame
    clean_pages: int
    interrupted: Path  # an archive stopped after BUDGET requests
    interrupted_ok: int
    finished: Path  # an archive of a finished run
    max_day_pages: int


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    sb = new_sandbox(n_videos=N_VIDEOS)
    before = spent(sb)
    want = tr.fetch_videos(QUERY, START, END, client=new_client(sb), progress=False)
    clean_pages = spent(sb) - before
    root = tmp_path_factory.mktemp("archives")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        part = tr.fetch_videos(
            QUERY,
            START,
            END,
            client=new_client(sb, max_requests=BUDGET),
            archive=root / "interrupted",
            progress=False,
        )
    assert not part.report.complete
    done = tr.fetch_videos(
        QUERY, START, END, client=new_client(sb), archive=root / "finished", progress=False
    )
    assert done.report.complete and done.equals(want)
    per_day = want.group_by(pl.col("create_time").dt.date()).len()["len"].max()
    assert isinstance(per_day, int)
    return World(
        sb,
        want,
        clean_pages,
        root / "interrupted",
        ok_pages(_folder(root / "interrupted")),
        root / "finished",
        -(-per_day // 100) + 1,
    )


def _complete_and_equal(out: Outcome, want: pl.DataFrame) -> bool:
    return bool(out.result.report.complete and out.result.equals(want))


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _judge(world: World, out: Outcome, damaged: Path, *, lost: int, held: int) -> None:
    """Complete and equal, having paid only for what was missing; or incomplete naming the file."""
    assert out.error is None, f"the run raised {out.error!r}"
    result = out.result
    needed = world.clean_pages - held + lost + WINDOWS
    if result.report.complete:
        missing = world.want.height - result.height
        same = result.equals(world.want)
        assert same, (
            f"report says complete, but the table differs from the clean run's "
            f"({result.height:,} rows instead of {world.want.height:,}; {missing:,} missing)"
        )
    else:
        said = str(result.report) + "\n".join(out.messages)
        assert damaged.name in said, (
            f"the report is incomplete but does not name the damaged file {damaged.name}:\n{said}"
        )
    assert out.requests <= needed, (
        f"the run paid {out.requests} requests; the pages missing were at most {needed} "
        f"({world.clean_pages} in all, {held} held, {lost} lost to the damage, "
        f"{WINDOWS} re-opened searches)"
    )


# ----------------------------------------------------------------------------- damaged pages

Corruption = Callable[[Path], None]


def cut_2000(path: Path) -> None:
    with open(path, "r+b") as f:
        f.truncate(max(0, path.stat().st_size - 2000))


def zero_length(path: Path) -> None:
    path.write_bytes(b"")


def garbage_mid_file(path: Path) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 300] = b"#garbage\x00\xff" * 30
    path.write_bytes(bytes(data))


def flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 64):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


CORRUPTIONS: dict[str, Corruption] = {
    "cut-2000-bytes": cut_2000,
    "zero-length": zero_length,
    "garbage-mid-file": garbage_mid_file,
    "flipped-bytes": flip_bytes,
}


@pytest.mark.parametrize(
    ("state", "name"),
    [
        ("interrupted", "cut-2000-bytes"),
        ("interrupted", "zero-length"),
        ("interrupted", "garbage-mid-file"),
        ("finished", "cut-2000-bytes"),  # a truncated .gz
        ("finished", "zero-length"),
        ("finished", "flipped-bytes"),  # a damaged .gz
    ],
)
def test_a_damaged_pages_file_is_fetched_again_or_reported(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture, state: str, name: str
) -> None:
    source = world.interrupted if state == "interrupted" else world.finished
    held = world.interrupted_ok if state == "interrupted" else world.clean_pages
    archive = _copy(source, tmp_path / "archive")
    folder = _folder(archive)
    damaged = _pages_file(folder)
    before = ok_pages(folder)
    CORRUPTIONS[name](damaged)
    lost = before - ok_pages(folder)
    assert lost > 0, "the corruption destroyed no page: the test would prove nothing"
    out = _run(world.sb, archive, caplog)
    _judge(world, out, damaged, lost=lost, held=held)


# ----------------------------------------------------------------------------- odd journal lines

ODD_LINES = {
    "empty-object": b"{}\n",
    "array": b"[]\n",
    "string": b'"x"\n',
    "another-tools-line": b'{"level": "info", "msg": "backup finished", "files": 12}\n',
    "task-of-wrong-type": b'{"task": 5, "status": ["done"]}\n',
    "truncated-line": b'{"task": "20240101-2024',
}
_NOT_OURS = ("empty-object", "array", "string", "another-tools-line", "task-of-wrong-type")


@pytest.mark.parametrize("state", ["interrupted", "finished"])
@pytest.mark.parametrize(
    "line",
    ODD_LINES,
)
def test_an_odd_journal_line_is_skipped_with_a_warning(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture, state: str, line: str
) -> None:
    source = world.interrupted if state == "interrupted" else world.finished
    held = world.interrupted_ok if state == "interrupted" else world.clean_pages
    archive = _copy(source, tmp_path / "archive")
    journal = _journal(_folder(archive))
    lines = journal.read_bytes().splitlines(keepends=True)
    # another tool's line in the middle, then the odd line last (where a crash leaves one)
    odd = ODD_LINES[line]
    middle = odd if odd.endswith(b"\n") else b""
    journal.write_bytes(b"".join(lines[:2]) + middle + b"".join(lines[2:]) + odd)
    out = _run(world.sb, archive, caplog)
    assert out.error is None, f"the odd journal line {odd!r} broke the collection: {out.error!r}"
    assert _complete_and_equal(out, world.want)
    assert any(journal.name in m for m in out.messages), (
        f"no warning names {journal.name} after the odd line {odd!r}: {out.messages}"
    )
    if state == "finished":
        assert out.requests == 0, "a finished collection paid again because of a journal line"
    else:
        assert out.requests <= world.clean_pages - held + WINDOWS


# ------------------------------------------------------------------ deleted bookkeeping files


@pytest.mark.parametrize(
    ("state", "what"),
    [
        ("interrupted", "manifest"),
        ("finished", "manifest"),
        ("interrupted", "journal"),
        ("finished", "journal"),
        ("interrupted", "collection"),
        ("finished", "collection"),
    ],
)
def test_a_deleted_bookkeeping_file_costs_only_what_is_missing(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture, state: str, what: str
) -> None:
    source = world.interrupted if state == "interrupted" else world.finished
    held = world.interrupted_ok if state == "interrupted" else world.clean_pages
    archive = _copy(source, tmp_path / "archive")
    folder = _folder(archive)
    pattern = {"manifest": "manifest*", "journal": "journal*", "collection": "collection*"}[what]
    gone = sorted(folder.glob(pattern))
    assert gone, f"no {pattern} in {folder}"
    for path in gone:
        path.unlink()
    out = _run(world.sb, archive, caplog)
    assert out.error is None, f"the run raised {out.error!r}"
    assert _complete_and_equal(out, world.want)
    if state == "finished":
        assert out.requests == 0, f"a finished collection without its {what} paid again"
    else:
        assert out.requests <= world.clean_pages - held + WINDOWS


# ------------------------------------------------------------------------------- the command line

# The command line runs against `sandbox serve` (search ids outlive each process, as on the real
# service) with a smaller query: its client allows 5 requests/s.
CLI_QUERY = ["--hashtag", "fyp", "--start", START, "--end", END]  # 15 pages


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with sandbox_server("--n-videos", str(N_VIDEOS)) as srv:
        yield srv


@pytest.fixture(scope="module")
def cli_want() -> pl.DataFrame:
    with new_client(new_sandbox(n_videos=N_VIDEOS)) as client:
        return tr.fetch_videos(
            tr.Q.hashtag_name.eq("fyp"), START, END, client=client, progress=False
        )


@pytest.mark.slow
def test_cli_a_truncated_pages_file_is_fetched_again_or_reported(
    server: SandboxServer, cli_want: pl.DataFrame, tmp_path: Path
) -> None:
    archive, out = tmp_path / "archive", tmp_path / "videos.parquet"
    args = ["videos", *CLI_QUERY, "--archive", str(archive), "--no-progress", "--out", str(out)]
    first = run_cli([*args, "--max-requests", "8"], cli_env(server.url))
    assert first.returncode == 3, first.stdout + first.stderr
    damaged = _pages_file(_folder(archive))
    cut_2000(damaged)
    second = run_cli(args, cli_env(server.url))
    text = second.stdout + second.stderr
    assert no_traceback(text), text
    if second.returncode == 0:
        same = pl.read_parquet(out).equals(cli_want)
        assert same, "exit 0 with a table that differs"
    else:
        assert second.returncode == 3, text
        assert damaged.name in text, f"exit 3 without naming {damaged.name}:\n{text}"


# ----------------------------------------------------------------------- read-only archives


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make ``folder`` a read-only mount of itself (root only)."""
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


needs_root = pytest.mark.skipif(not IS_ROOT, reason="mounting needs root")


@needs_root
def test_a_finished_collection_on_a_read_only_archive(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    archive = _copy(world.finished, tmp_path / "archive")
    with read_only(archive):
        out = _run(world.sb, archive, caplog)
    assert out.requests == 0, "a finished collection paid for pages it holds"
    if out.error is None:
        assert _complete_and_equal(out, world.want)
    else:
        assert str(_folder(archive)) in str(out.error) or str(archive) in str(out.error), (
            f"the error does not name the archive folder: {out.error!r}"
        )
        assert "read-only" in str(out.error).lower() or "Errno 30" in str(out.error)


@needs_root
def test_an_interrupted_collection_on_a_read_only_archive_spends_nothing(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Pages that could not be archived must not be asked for: stop first, naming the place."""
    archive = _copy(world.interrupted, tmp_path / "archive")
    with read_only(archive):
        out = _run(world.sb, archive, caplog)
    assert out.requests == 0, f"{out.requests} requests paid whose answers could not be kept"
    if out.error is None:
        said = str(out.result.report) + "\n".join(out.messages)
        assert not out.result.report.complete
        assert str(archive) in said, said
    else:
        assert str(archive) in str(out.error), f"the error does not name the archive: {out.error!r}"


@needs_root
@pytest.mark.slow
def test_cli_on_a_read_only_archive_names_it_without_a_traceback(
    server: SandboxServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    args = ["videos", *CLI_QUERY, "--archive", str(archive), "--no-progress"]
    args += ["--out", str(tmp_path / "v.parquet")]
    with read_only(archive):
        done = run_cli(args, cli_env(server.url))
    text = done.stdout + done.stderr
    assert done.returncode != 0
    assert no_traceback(text), text
    assert str(archive) in text, text


@pytest.mark.skipif(IS_ROOT, reason="root ignores permission bits: see the read-only mount tests")
def test_read_only_pages_files_are_read_and_nothing_is_lost(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    archive = _copy(world.interrupted, tmp_path / "archive")
    for path in _folder(archive).glob("pages-*"):
        path.chmod(0o444)
    out = _run(world.sb, archive, caplog)
    assert out.error is None, f"the run raised {out.error!r}"
    assert _complete_and_equal(out, world.want)
    assert out.requests <= world.clean_pages - world.interrupted_ok + WINDOWS


# ------------------------------------------------------------------------------- a full disk


@contextlib.contextmanager
def small_disk(where: Path, size: int) -> Iterator[Callable[[int], None]]:
    """A tmpfs of ``size`` bytes at ``where`` (root only); yields ``resize(new_size)``."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)

    def resize(new: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={new}", str(where)], check=True)

    try:
        yield resize
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _raw_size(world: World) -> int:
    """Bytes of the finished collection's files, uncompressed (pages, journal, manifests)."""
    total = 0
    for path in _folder(world.finished).iterdir():
        total += (
            len(gzip.decompress(path.read_bytes())) if path.suffix == ".gz" else path.stat().st_size
        )
    return total


def _gz_size(world: World) -> int:
    return sum(p.stat().st_size for p in _folder(world.finished).glob("*.gz"))


@needs_root
def test_a_full_disk_stops_with_the_path_and_the_next_run_completes(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    disk = tmp_path / "disk"
    with small_disk(disk, 600 * 1024) as resize:
        archive = disk / "archive"
        out = _run(world.sb, archive, caplog)
        said = str(out.error) if out.error is not None else str(out.result.report)
        said += "\n" + "\n".join(out.messages)
        if out.error is None:
            assert not out.result.report.complete, "complete on a disk that was full"
        assert str(archive) in said, f"nothing names the archive on the full disk:\n{said}"
        first = out.requests
        resize(64 * 1024 * 1024)
        again = _run(world.sb, archive, caplog)
    assert again.error is None, f"the run with space raised {again.error!r}"
    assert _complete_and_equal(again, world.want)
    # only the answers that arrived when the disk was full (one per worker) are asked again
    assert first + again.requests <= world.clean_pages + 4


@needs_root
def test_no_space_to_compress_loses_nothing_and_costs_nothing_later(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    disk = tmp_path / "disk"
    # room for every page uncompressed, but not for the compressed copy beside it
    size = _raw_size(world) + _gz_size(world) // 3
    with small_disk(disk, size) as resize:
        archive = disk / "archive"
        out = _run(world.sb, archive, caplog)
        first = out.requests
        # the archive checks for room before each request (issue 22 item 4), so the run may stop
        # before its last pages instead of paying for pages it cannot keep; it must pay some
        assert 0 < first <= world.clean_pages, "set-up: the disk was too small for any page"
        if out.error is None and out.result.report.complete:
            assert _complete_and_equal(out, world.want)
        else:
            said = str(out.error) if out.error is not None else str(out.result.report)
            assert str(archive) in said, f"nothing names the archive:\n{said}"
        resize(64 * 1024 * 1024)
        again = _run(world.sb, archive, caplog)
        assert again.error is None
        assert _complete_and_equal(again, world.want)
        # what the first run paid for is kept: only the pages it never asked for are asked now
        assert again.requests == world.clean_pages - first, "pages paid for were paid again"
        for gz in _folder(archive).glob("*.gz"):
            gzip.decompress(gz.read_bytes())  # no damaged .gz is left behind


@needs_root
@pytest.mark.slow
def test_cli_full_disk_names_the_path_without_a_traceback(
    server: SandboxServer, cli_want: pl.DataFrame, tmp_path: Path
) -> None:
    disk = tmp_path / "disk"
    out = tmp_path / "videos.parquet"
    with small_disk(disk, 300 * 1024) as resize:
        archive = disk / "archive"
        args = ["videos", *CLI_QUERY, "--archive", str(archive), "--no-progress"]
        args += ["--out", str(out)]
        first = run_cli(args, cli_env(server.url))
        text = first.stdout + first.stderr
        assert first.returncode not in (0, 1), f"exit {first.returncode} on a full disk:\n{text}"
        assert no_traceback(text), text
        assert str(archive) in text, f"the message does not name the archive:\n{text}"
        resize(64 * 1024 * 1024)
        second = run_cli(args, cli_env(server.url))
    assert second.returncode == 0, second.stdout + second.stderr
    same = pl.read_parquet(out).equals(cli_want)
    assert same
