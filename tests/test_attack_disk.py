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
from typing import Any

import polars as pl
import pytest

import tiktok_research as tr
from _disks import remount
from _faultproxy import FaultProxy
from _runs import stopped_by_budget
from _sandboxes import MakeClient, MakeSandbox, ReferenceRun, paid, spent
from _servers import SandboxServer, cli_env, no_traceback, run_cli, sandbox_server

N_VIDEOS = 40_000
START, END = "2024-01-01", "2024-03-30"  # 3 windows of 9 pages (~45 KB each)
VIDEOS = "/v2/research/video/query/"

pytestmark = [pytest.mark.http]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with sandbox_server("--n-videos", str(N_VIDEOS)) as srv:
        yield srv


@pytest.fixture(scope="module")
def clean(uninterrupted: ReferenceRun) -> tuple[pl.DataFrame, int]:
    """The table of the collection without a fault, and the requests it took."""
    return uninterrupted(tr.Q.hashtag_name.eq("fyp"), START, END, n_videos=N_VIDEOS)


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
            assert "this run: 0 requests sent" in text, text  # the cost line on a stop
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
        assert "is full" in text and "requests sent" in text, text
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


def test_an_unwritable_collection_folder_is_found_before_any_request(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        pytest.skip("chattr +i needs root")
    sb = make_sandbox(n_videos=N_VIDEOS)
    archive = tmp_path / "archive"
    with stopped_by_budget():
        first = tr.fetch_videos(
            tr.Q.hashtag_name.eq("fyp"), START, END, archive=archive, progress=False,
            client=make_client(sb, max_requests=2),
        )  # fmt: skip
    assert not first.complete
    (folder,) = [p for p in archive.iterdir() if p.is_dir()]
    before = spent(sb)
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("this file system has no immutable flag")
    try:
        for _ in range(2):
            with pytest.raises(tr.ArchiveError, match="cannot write in the collection folder"):
                tr.fetch_videos(
                    tr.Q.hashtag_name.eq("fyp"), START, END, archive=archive, progress=False,
                    client=make_client(sb),
                )  # fmt: skip
            assert spent(sb) == before  # nothing was sent
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=False)
    done = tr.fetch_videos(
        tr.Q.hashtag_name.eq("fyp"), START, END, archive=archive, progress=False,
        client=make_client(sb),
    )  # fmt: skip
    assert done.complete


# ------------------------------------------------------------------ an unwritable dataset folder

DS_START, DS_END = "2024-01-01", "2024-01-30"  # one window, one month: one partition folder
DS_VIDEOS = 5_000


def _immutable(*folders: Path) -> None:
    """``chattr +i`` (root only: the test is skipped elsewhere, or without the flag)."""
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        pytest.skip("chattr +i needs root")
    if subprocess.run(["chattr", "+i", *map(str, folders)], capture_output=True).returncode:
        pytest.skip("this file system has no immutable flag")


def _mutable(*folders: Path) -> None:
    subprocess.run(["chattr", "-i", *map(str, folders)], check=False, capture_output=True)


@pytest.fixture
def blocked_dataset(
    request: pytest.FixtureRequest, tmp_path: Path, make_sandbox: MakeSandbox,
    make_client: MakeClient,
) -> Iterator[Path]:  # fmt: skip
    """A dataset folder no write could finish in: a path under a regular file (no root needed),
    or a dataset of this query whose partition folder is immutable (``chattr +i``)."""
    if request.param == "under-a-file":
        (tmp_path / "notes.txt").write_text("a file where a folder is needed")
        yield tmp_path / "notes.txt" / "videos"
        return
    folder = tmp_path / "videos"
    tr.fetch_videos(
        tr.Q.hashtag_name.eq("fyp"), DS_START, DS_END, dataset=folder, progress=False,
        client=make_client(make_sandbox(n_videos=DS_VIDEOS)),
    )  # fmt: skip
    (month,) = [p for p in folder.iterdir() if p.name.startswith("create_month=")]
    _immutable(month)
    try:
        yield folder
    finally:
        _mutable(month)


CALLS: dict[str, Any] = {
    "fetch_videos": lambda q, ds, c, tmp: tr.fetch_videos(
        q, DS_START, DS_END, dataset=ds, client=c, progress=False
    ),
    "collect_videos": lambda q, ds, c, tmp: tr.collect_videos(
        q, DS_START, DS_END, ds, archive=tmp / "archive", client=c, progress=False
    ),
    "update_videos": lambda q, ds, c, tmp: tr.update_videos(
        q, ds, start_date=DS_START, client=c, progress=False
    ),
}


@pytest.mark.parametrize("blocked_dataset", ["under-a-file", "immutable-partition"], indirect=True)
def test_an_unwritable_dataset_folder_is_found_before_any_request(
    blocked_dataset: Path, make_sandbox: MakeSandbox, make_client: MakeClient, tmp_path: Path
) -> None:
    """Before: each call paid every page of the collection (27 requests over a quarter), then
    failed with a raw NotADirectoryError / PermissionError (the immutable partition also left a
    commit record that made every later write fail)."""
    sb = make_sandbox(n_videos=DS_VIDEOS)
    q = tr.Q.hashtag_name.eq("fyp")
    for name, call in CALLS.items():
        with pytest.raises(tr.ArchiveError, match="cannot write in the dataset") as caught:
            call(q, blocked_dataset, make_client(sb), tmp_path)
        assert "nothing was sent" in str(caught.value), name
        assert paid(sb) == 0, f"{name} paid {paid(sb)} requests for pages it could not keep"
    if blocked_dataset.exists():  # a dataset folder in place is rewritten by refresh_videos
        with pytest.raises(tr.ArchiveError, match="cannot write in the dataset"):
            tr.refresh_videos(blocked_dataset, client=make_client(sb), progress=False)
        assert paid(sb) == 0, "refresh_videos paid for a rewrite it could not make"


@pytest.mark.parametrize("blocked_dataset", ["immutable-partition"], indirect=True)
def test_the_command_line_finds_an_unwritable_dataset_before_any_request(
    blocked_dataset: Path, server: SandboxServer, tmp_path: Path
) -> None:
    """Before: exit 3 after paying the month's pages (5 requests), with the staging file's path."""
    args = ["videos", "--hashtag", "fyp", "--start", DS_START, "--end", DS_END, "--no-progress",
            "--archive", str(tmp_path / "archive"), "--dataset", str(blocked_dataset)]  # fmt: skip
    with FaultProxy(server.url) as proxy:
        done = run_cli(args, cli_env(proxy.url))
        received = proxy.ledger.received(VIDEOS)
    text = done.stdout + done.stderr
    assert done.returncode == 3 and no_traceback(text), text
    assert "cannot write in the dataset" in text and "nothing was sent" in text, text
    assert received == 0, f"paid {received} requests before finding the folder unwritable"


def test_merge_finds_an_unwritable_dataset_before_reading_its_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``merge_dumps(dataset=, overwrite=True)`` moves the old tables aside at the end: an
    immutable one was found only after every input had been read (before: read, then OSError)."""
    from tiktok_research import merge

    dump = tmp_path / "cats.json"
    dump.write_text(
        '{"data":{"videos":[{"id":7300000000000000001,"create_time":1704067200}],'
        '"has_more":false,"cursor":1,"search_id":"s"},"error":{"code":"ok"}}\n'
    )
    out = tmp_path / "merged"
    tr.merge_dumps([dump], dataset=out)
    reads: list[int] = []
    real = merge.read_all  # type: ignore[attr-defined]

    def counted(*args: Any) -> Any:
        reads.append(1)
        return real(*args)

    monkeypatch.setattr(merge, "read_all", counted)
    _immutable(out / "videos")
    try:
        with pytest.raises(OSError):
            tr.merge_dumps([dump], dataset=out, overwrite=True)
    finally:
        _mutable(out / "videos")
    assert reads == [], "the inputs were read before the dataset was found unwritable"
    assert [p.name for p in out.iterdir()] == ["videos"], "a staging folder was left behind"
    tr.merge_dumps([dump], dataset=out, overwrite=True)  # writable again: it works
    assert reads == [1]


# ------------------------------------------------------------ a merge into a dataset on a full disk


def _array_of_responses(path: Path, pages: int) -> int:
    """One JSON array of ``pages`` video-query responses of 100 videos; returns the videos."""
    rows = []
    for p in range(pages):
        videos = ",".join(
            f'{{"id":{7_300_000_000_000_000_000 + p * 100 + i},"create_time":{1704067200 + i},'
            f'"video_description":"{os.urandom(200).hex()}","view_count":{i}}}'
            for i in range(100)
        )
        rows.append(f'{{"data":{{"videos":[{videos}],"has_more":true,"cursor":{p},'
                    f'"search_id":"s"}},"error":{{"code":"ok"}}}}')  # fmt: skip
    path.write_text("[" + ",\n".join(rows) + "]\n")
    return pages * 100


def test_a_merge_into_a_dataset_on_a_full_disk_fails_and_loses_nothing_silently(
    small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the spill file that hit the full disk was reported as the input being unreadable
    ("cannot read file (... No space left on device)"), the input skipped, and the merge ended
    with "no rows" and exit 0: every row of the file lost without an error."""
    from tiktok_research.merge import _dataset as merge_dataset

    monkeypatch.setattr(merge_dataset, "_SPILL", 1 << 20)  # spill at 1 MB, not 32
    dump = tmp_path / "responses.json"
    assert _array_of_responses(dump, 60) == 6_000  # 2.9 MB of JSON: more than the disk takes
    with pytest.raises(OSError, match="No space left"):
        tr.merge_dumps([dump], dataset=small_disk / "merged")
    assert not any((small_disk / "merged").iterdir()), "a half-written merge was left"
    remount(small_disk, "16m")
    result = tr.merge_dumps([dump], dataset=small_disk / "merged")
    assert result.rows == {"videos": 6_000} and not result.skipped
