"""Commands killed at chosen moments, then run again (session 6): no page paid twice, no row lost.

Each attack stops a command where a ``kill -9`` (or Ctrl-C) stops it in a real process (seen with
``sandbox serve`` and real kills, figures in the commit messages), by raising KeyboardInterrupt at
that point: nothing of the command runs after it. The rerun is the same command; the sandbox
counts what reached it.

* ``refresh`` of a dataset or a file, killed after the refresh rewrote its table but before it
  recorded its end (after the swap of the dataset, while the ids found gone were written beside
  it, while the file was replaced): the rerun read the rewritten table, whose ids no longer held
  the gone ones, so it was a new check: 6 requests paid again (of 6), and the gone ids were never
  listed (``videos_removed.txt`` not written). Now the rerun finishes the same round from the
  archive: 0 requests, the same table, the gone ids listed.
* a compliance check (``compliance``, ``refresh``) killed while it downloaded a task the service
  had said Completed: the rerun asked the task's status again before the download (2 requests;
  the status answer was archived). Now it downloads at once: 1 request.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import duckdb
import httpx
import polars as pl
import pytest

import tiktok_research as tr
import tiktok_research._archive as archive_module
import tiktok_research.cli._maintain as cli_maintain
import tiktok_research.cli._output as cli_output
from _sandboxes import MakeClient, new_client, new_sandbox, no_sleep, paid
from _servers import invoke_served
from tiktok_research.maintain import REFRESH_DONE
from tiktok_research.sandbox import Sandbox

FYP = tr.Q.hashtag_name.eq("fyp")
START, END = "2024-03-01", "2024-04-30"


@pytest.fixture
def served() -> Iterator[tuple[str, Sandbox]]:
    """A sandbox of its own (its clock is moved on), served on 127.0.0.1."""
    from tiktok_research.sandbox import run_server

    with run_server(new_sandbox(n_videos=5000, validation_processing_seconds=0)) as (url, sb):
        yield url, sb


@pytest.fixture
def collected(served: tuple[str, Sandbox], tmp_path: Path) -> Path:
    """A dataset of two months (``videos``), the same videos as a file (``videos.parquet``) and
    their archive; then ten days pass on the sandbox, so that a few videos are gone."""
    client = new_client(served[1])
    try:
        videos = tr.fetch_videos(FYP, START, END, client=client, archive=tmp_path / "archive",
                                 dataset=tmp_path / "videos", progress=False)  # fmt: skip
    finally:
        client.close()
    assert videos.report.complete
    pl.DataFrame(videos).write_parquet(tmp_path / "videos.parquet")
    served[1].advance(dt.timedelta(days=10))
    return tmp_path


_cli = partial(invoke_served, count=paid)  # exit code, output, requests paid


def _ids(folder: Path) -> list[int]:
    """The ids of a dataset, once each in every reader (tr.io.read_dataset, DuckDB's glob)."""
    ours = tr.io.read_dataset(folder, table="videos").collect()["id"]
    with duckdb.connect() as con:
        sql = f"SELECT count(*), count(DISTINCT id) FROM read_parquet('{folder}/**/*.parquet')"
        duck = con.execute(sql).fetchone()
    assert duck == (ours.len(), ours.n_unique()) == (ours.len(), ours.len()), duck
    return sorted(ours.to_list())


def _clean_refresh(served: tuple[str, Sandbox], collected: Path, table: str) -> tuple[Path, int]:
    """An uninterrupted ``refresh`` of a copy: the folder it worked in and the requests paid."""
    clean = collected / "clean"
    clean.mkdir()
    for name in ("videos", "videos.parquet", "archive"):
        source = collected / name
        if source.is_dir():
            shutil.copytree(source, clean / name)
        else:
            shutil.copy2(source, clean / name)
    code, text, sent = _cli(served, "refresh", str(clean / table), "--archive",
                            str(clean / "archive"))  # fmt: skip
    assert code == 0 and "id(s) gone" in text, text
    return clean, sent


def _removed(folder: Path, table: str) -> list[int]:
    path = folder / f"{Path(table).stem}_removed.txt"
    return sorted(int(line) for line in path.read_text().split()) if path.is_file() else []


def test_a_refresh_killed_before_it_recorded_its_end_is_finished_from_the_archive(
    served: tuple[str, Sandbox],
    collected: Path,
    make_client: MakeClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The library call: the dataset swapped, then killed before the round's end was written."""
    folder, archive = collected / "videos", collected / "archive"
    held = _ids(folder)
    sb = served[1]
    client = make_client(sb)
    write_json = archive_module.write_json

    def killed_before_the_end_is_recorded(path: Path, value: object) -> None:
        if path.name == REFRESH_DONE:
            raise KeyboardInterrupt  # the state a kill -9 leaves: nothing runs after it
        write_json(path, value)

    before = paid(sb)
    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(archive_module, "write_json", killed_before_the_end_is_recorded)
        tr.refresh_videos(folder, client=client, archive=archive, progress=False)
    first = paid(sb) - before
    assert first == 6, "3 compliance requests, 3 look-ups (a window each)"
    swapped = _ids(folder)
    assert 0 < len(held) - len(swapped) < 10, "the kill came after the swap: a few are gone"

    again = tr.refresh_videos(folder, client=client, archive=archive, progress=False)
    assert paid(sb) - before == first, "before: 6 requests paid again (a new check)"
    assert again.report.complete
    assert sorted(again.report.removed) == sorted(set(held) - set(swapped))
    assert _ids(folder) == swapped == sorted(pl.DataFrame(again)["id"].to_list())

    # the round's record of its table is the archive's bookkeeping, not a dump to merge
    read = [str(r.path) for r in tr.merge_dumps(archive).report]
    assert read and not [path for path in read if "refresh-input" in path]

    # once its end is recorded, the same call is a new check, as it always was
    tr.refresh_videos(folder, client=client, archive=archive, progress=False)
    assert paid(sb) - before == first + 6


@pytest.mark.parametrize(
    ("table", "kill_at"),
    [
        ("videos", "the list of the gone ids"),  # the dataset swapped already
        ("videos.parquet", "the list of the gone ids"),  # the file not replaced yet
        ("videos.parquet", "the replacement of the file"),
    ],
)
def test_the_refresh_command_killed_while_writing_pays_nothing_again_and_lists_the_gone(
    served: tuple[str, Sandbox],
    collected: Path,
    monkeypatch: pytest.MonkeyPatch,
    table: str,
    kill_at: str,
) -> None:
    clean, clean_sent = _clean_refresh(served, collected, table)
    assert clean_sent == 6
    want_removed = _removed(clean, table)
    assert len(want_removed) > 0, "ten sandbox days: a few videos are gone"
    args = ["refresh", str(collected / table), "--archive", str(collected / "archive")]

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # the state a kill -9 leaves: nothing runs after it

    with monkeypatch.context() as patch:
        if kill_at == "the list of the gone ids":
            patch.setattr(cli_output, "write_lines", killed)
        else:
            patch.setattr(cli_maintain, "replace_file", killed)
        code, text, sent = _cli(served, *args)
    assert code != 0 and sent == 6, text
    if kill_at == "the list of the gone ids":
        assert _removed(collected, table) == []

    code, text, sent = _cli(served, *args)
    assert (code, sent) == (0, 0), text  # before: 6 requests, a new check
    # before: the gone ids were found by the killed run only, and never listed
    assert _removed(collected, table) == want_removed, text
    if table == "videos":
        assert _ids(collected / table) == _ids(clean / table)
    else:
        got, want = (pl.read_parquet(f / table).drop("retrieved_at") for f in (collected, clean))
        assert got.sort("id").equals(want.sort("id"))


class _KilledAtDownload(httpx.BaseTransport):
    """The sandbox's transport, with a kill (KeyboardInterrupt) as the first download is sent."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.killed = inner, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.killed and request.url.path.endswith("/validation_task/download/"):
            self.killed = True
            raise KeyboardInterrupt  # the state a kill -9 leaves: nothing runs after it
        return self.inner.handle_request(request)


def test_a_check_killed_at_its_download_downloads_at_once_when_run_again(
    make_client: MakeClient, tmp_path: Path
) -> None:
    sb = new_sandbox(n_videos=2000, validation_processing_seconds=0)
    videos = tr.fetch_videos(FYP, START, END, client=make_client(sb), max_total=50, progress=False)
    ids = pl.DataFrame(videos)["id"].to_list()
    archive = tmp_path / "archive"
    killer = _KilledAtDownload(sb.transport())
    client = tr.Client("sandbox", "sandbox", base_url=Sandbox.BASE_URL, transport=killer,
                       ledger=False, sleep=no_sleep)  # fmt: skip
    before = paid(sb)
    with pytest.raises(KeyboardInterrupt), client:
        tr.check_compliance(ids, client=client, archive=archive, progress=False)
    assert killer.killed and sb.requests_spent()["validation_status"] == 1
    assert paid(sb) - before == 2, "uploaded, Completed; the download never sent"

    valid = tr.check_compliance(ids, client=make_client(sb), archive=archive, progress=False)
    assert valid.report.complete and valid["valid"].all()
    spent = sb.requests_spent()
    # before: 2 (the status asked again, then the download)
    assert (spent["validation_status"], spent["validation_download"]) == (1, 1)
    assert paid(sb) - before == 3
