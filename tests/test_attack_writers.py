"""The commands that write datasets, attacked as outside testers attack them (session 5).

``update``, ``refresh`` and ``videos --dataset`` write into a dataset folder that readers
(``tr.io.read_dataset``, DuckDB's ``read_parquet('<folder>/**/*.parquet')``, pandas) read. Each
attack below leaves the dataset as a kill, a full disk or a mistaken command leaves it, and checks
what a user sees next: the rows (each id once, in every reader), the requests that reached the
sandbox (counted by the sandbox itself), the exit code and the message.

* a data file cut short in the dataset (a copy or a crash elsewhere): every reader and writer
  names it, and nothing is sent (before: ``videos --dataset`` paid every page, then ended with
  "unexpected ComputeError", exit 1; ``read_dataset`` raised polars' ComputeError naming no file);
* ``update`` with another query into a dataset of ``videos --dataset``: refused before any request
  (before: paid, and the other query's rows were added to a dataset that records one query);
* a full disk under the dataset (not under the archive): the message names the dataset (before: it
  named the archive, on another disk), and the next run, with room, pays nothing;
* ``refresh`` of a dataset killed between its two renames: the next read or refresh finishes the
  swap (before: the dataset folder was gone, ``read_dataset`` said "no such dataset folder");
* ``compliance`` killed after its check finished but before its output was written: the rerun
  writes the output from the archive, with no request (before: uploaded again, 3 requests).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pytest

import tiktok_research as tr
from _disks import remount
from _faultproxy import FaultPlan, FaultTransport
from _sandboxes import MakeClient, new_client, new_sandbox, no_sleep, paid
from _servers import invoke_served
from tiktok_research.errors import ArchiveError, InvalidRequestError
from tiktok_research.maintain import plan_update
from tiktok_research.sandbox import Sandbox

FYP = tr.Q.hashtag_name.eq("fyp")
START, END = "2024-03-01", "2024-04-30"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Sandbox]]:
    from tiktok_research.sandbox import run_server

    # compliance tasks are done at once (no polling: the clients' waits return at once)
    with run_server(new_sandbox(n_videos=5000, validation_processing_seconds=0)) as (url, sb):
        yield url, sb


@pytest.fixture(scope="module")
def collected(served: tuple[str, Sandbox], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset of ``videos --dataset`` (two months, two files) and its archive, built once."""
    root = tmp_path_factory.mktemp("collected")
    client = new_client(served[1])
    try:
        videos = tr.fetch_videos(FYP, START, END, client=client, archive=root / "archive",
                                 dataset=root / "videos", progress=False)  # fmt: skip
    finally:
        client.close()
    assert videos.report.complete and len(list((root / "videos").rglob("*.parquet"))) == 2
    return root


def _copy(collected: Path, tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(collected, tmp_path, dirs_exist_ok=True)
    return tmp_path / "videos", tmp_path / "archive"


_cli = partial(invoke_served, count=paid)  # exit code, output, requests paid


def _readers(folder: Path) -> dict[str, tuple[int, int]]:
    """(rows, distinct ids) as tr.io.read_dataset, DuckDB's documented glob and pandas see them."""
    ours = tr.io.read_dataset(folder, table="videos").collect()
    glob = f"{folder}/**/*.parquet"
    with duckdb.connect() as con:
        sql = f"SELECT count(*), count(DISTINCT id) FROM read_parquet('{glob}')"
        duck = con.execute(sql).fetchone()
    assert duck is not None
    frame = pd.read_parquet(folder)
    return {
        "tr": (ours.height, ours["id"].n_unique()),
        "duckdb": (int(duck[0]), int(duck[1])),
        "pandas": (len(frame), int(frame["id"].nunique())),
    }


def test_a_damaged_file_in_a_dataset_is_named_and_nothing_is_sent(
    served: tuple[str, Sandbox], collected: Path, tmp_path: Path, make_client: MakeClient
) -> None:
    folder, _ = _copy(collected, tmp_path)
    cut = sorted(folder.rglob("*.parquet"))[0]
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # what an interrupted copy leaves
    name = cut.name

    with pytest.raises(ArchiveError, match=name):  # before: polars' ComputeError, no file named
        tr.io.read_dataset(folder).collect()
    sb = served[1]
    client = make_client(sb)
    before = paid(sb)
    with pytest.raises(ArchiveError, match=name):
        tr.refresh_videos(folder, client=client, archive=tmp_path / "a2", progress=False)
    with pytest.raises(ArchiveError, match=name):
        tr.update_videos(FYP, folder, client=client, archive=tmp_path / "a2", progress=False)
    assert paid(sb) == before

    # before: 10 pages paid into a fresh archive, then "error: unexpected ComputeError", exit 1
    args = ["videos", "--hashtag", "fyp", "--start", START, "--end", END, "--dataset",
            str(folder), "--archive", str(tmp_path / "fresh")]  # fmt: skip
    code, text, sent = _cli(served, *args)
    assert (code, sent) == (3, 0), text
    assert name in text and "Move them out of the dataset" in text and "merge" in text
    assert cut.read_bytes() == data[: len(data) // 2], "the damaged file is left for the user"


def test_update_refuses_another_query_into_a_collected_dataset(
    served: tuple[str, Sandbox], collected: Path, tmp_path: Path, make_client: MakeClient
) -> None:
    folder, archive = _copy(collected, tmp_path)
    held = _readers(folder)
    sb = served[1]
    client = make_client(sb)
    before = paid(sb)
    cats = tr.Q.hashtag_name.eq("cats")
    with pytest.raises(InvalidRequestError, match="another query"):
        plan_update(cats, folder, client=client, warn=False)
    with pytest.raises(InvalidRequestError, match="another query"):  # before: paid, and added
        tr.update_videos(cats, folder, client=client, archive=archive, progress=False)
    assert paid(sb) == before
    assert _readers(folder) == held
    code, text, sent = _cli(served, "update", str(folder), "--hashtag", "cats",
                            "--archive", str(archive))  # fmt: skip
    assert (code, sent) == (2, 0) and "another query" in text, text
    # the query it holds goes on being kept current: the days after the last one collected
    plan = plan_update(FYP, folder, client=client, warn=False)
    assert plan.first is not None and str(plan.first) == "2024-05-01"


def test_a_full_disk_under_the_dataset_names_it_and_the_rerun_pays_nothing(
    served: tuple[str, Sandbox], small_disk: Path, tmp_path: Path
) -> None:
    remount(small_disk, "64k")  # room for the folder and its marker, not for the videos
    folder, archive = small_disk / "monitor", tmp_path / "archive"
    args = ["update", str(folder), "--hashtag", "fyp", "--start", "2024-05-15",
            "--archive", str(archive)]  # fmt: skip
    code, text, sent = _cli(served, *args)
    assert code == 3 and sent > 0, text
    # before: "no space left on the disk while writing <archive>": the archive's disk had room
    assert f"no space left on the disk while writing {folder}" in text, text
    assert not any(folder.rglob("*.parquet")), "nothing half-written is left for readers"
    remount(small_disk, "8m")
    code, again, resent = _cli(served, *args)
    assert (code, resent) == (0, 0), again  # every page was archived: the rerun pays nothing
    counts = _readers(folder)
    rows = counts["tr"][0]
    assert rows > 100 and set(counts.values()) == {(rows, rows)}, counts
    assert f"added {rows} videos" in again


def test_a_refresh_killed_between_its_two_renames_is_finished_by_the_next_read(
    served: tuple[str, Sandbox],
    collected: Path,
    tmp_path: Path,
    make_client: MakeClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, archive = _copy(collected, tmp_path)
    ids = set(tr.io.read_dataset(folder).collect()["id"].to_list())
    sb = served[1]
    client = make_client(sb)
    rename = Path.rename

    def killed_at_the_second_rename(self: Path, target: str | Path) -> Path:
        if self.name.startswith(f".{folder.name}.new-"):  # the new folder, to take the name
            raise KeyboardInterrupt  # the state a kill -9 leaves: nothing runs after it
        return rename(self, target)

    # a context of its own: monkeypatch.undo() would also undo conftest's isolation
    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(Path, "rename", killed_at_the_second_rename)
        tr.refresh_videos(folder, client=client, archive=archive, progress=False)
    assert not folder.exists(), "the kill left the dataset's name free"
    paid_once = paid(sb)

    counts = _readers(folder)  # before: "no such dataset folder" (the rows beside it, hidden)
    assert set(counts.values()) == {(len(ids), len(ids))}, counts
    assert set(tr.io.read_dataset(folder).collect()["id"].to_list()) == ids
    fresh = tr.refresh_videos(folder, client=client, archive=archive, progress=False)
    assert fresh.report.complete and paid(sb) == paid_once, "continued from its archive"
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert left == [], "nothing of the interrupted swap is left beside the dataset"
    assert pl.DataFrame(fresh)["id"].n_unique() == len(ids)


def test_two_commands_finishing_on_one_default_output_keep_both_tables(
    served: tuple[str, Sandbox],
    collected: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two ``hydrate`` runs of different ids in one folder, both with the default output: each
    found no videos.parquet when it started, and the one that finished second replaced the
    first one's table while both said "wrote 400 rows to videos.parquet" (seen with two real
    processes). Here the other command's file appears while this one writes its own."""
    ids = tr.io.read_dataset(collected / "videos").collect()["id"].sort().to_list()
    (tmp_path / "ids.txt").write_text("".join(f"{i}\n" for i in ids[:150]))
    monkeypatch.chdir(tmp_path)
    theirs = pl.DataFrame({"id": ids[-3:], "create_time": [1_709_251_200] * 3})
    real = tr.io.write_parquet

    def another_command_finishes_meanwhile(
        df: pl.DataFrame, path: str | Path, **kw: object
    ) -> Path:
        if not Path("videos.parquet").exists():
            real(theirs, "videos.parquet", table="videos")
        return real(df, path, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tr.io, "write_parquet", another_command_finishes_meanwhile)
    code, text, sent = _cli(served, "hydrate", "-f", "ids.txt", "--archive", "archive")
    assert code == 0 and sent > 0, text
    assert pl.read_parquet("videos.parquet")["id"].to_list() == ids[-3:], "theirs is kept"
    assert sorted(pl.read_parquet("videos-2.parquet")["id"].to_list()) == ids[:150]
    assert "videos-2.parquet" in text and not list(tmp_path.glob(".videos*"))


def test_a_compliance_download_cut_short_is_downloaded_again_not_read_as_gone(
    served: tuple[str, Sandbox], collected: Path, tmp_path: Path
) -> None:
    """The download of a compliance task is a text list of the ids still valid. A body cut short
    (a proxy's truncated 200, Content-Length to match) was read as the whole list: every id
    after the cut was "gone", and ``refresh`` dropped 341 of 851 videos from a dataset (a fault
    proxy storm, seed 2). The cut ends in the middle of an id that was never uploaded."""
    folder, archive = _copy(collected, tmp_path)
    ids = sorted(tr.io.read_dataset(folder).collect()["id"].to_list())
    download, create = (
        "/v2/research/validation_task/download/",
        "/v2/research/validation_task/create/",
    )
    faults = FaultTransport(served[1].transport(), FaultPlan(path_script={download: ["truncated"]}))
    client = tr.Client("sandbox", "sandbox", base_url=Sandbox.BASE_URL, transport=faults,
                       ledger=False, sleep=no_sleep)  # fmt: skip
    with client:
        fresh = tr.refresh_videos(folder, client=client, archive=archive, progress=False)
    assert faults.ledger.faults() == {"truncated": 1}
    assert fresh.report.complete and fresh.report.removed == [], "no video is gone"
    assert sorted(tr.io.read_dataset(folder).collect()["id"].to_list()) == ids
    assert (faults.ledger.received(download), faults.ledger.received(create)) == (2, 1), (
        "downloaded again at once; not uploaded again"
    )


def test_a_compliance_check_killed_before_its_output_is_written_is_not_paid_again(
    served: tuple[str, Sandbox], collected: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``compliance`` killed after its check finished (the download archived, the run's manifest
    says complete) but before its output file was written: the rerun uploaded the ids again, a
    new round of 3 requests per task, as a finished check is never continued. The round whose
    output was never written is the command's to finish: the rerun writes it from the archive,
    and only a run after the output was written is a new check (as before)."""
    held = sorted(tr.io.read_dataset(collected / "videos").collect()["id"].to_list())
    ids = [*held[:40], 7320768196569599275]  # and one id the sandbox never held: gone
    (tmp_path / "ids.txt").write_text("".join(f"{i}\n" for i in ids))
    monkeypatch.chdir(tmp_path)
    args = ["compliance", "-f", "ids.txt", "--out", "valid.parquet", "--archive", "archive"]

    def killed_while_writing(df: pl.DataFrame, path: str | Path, **kw: object) -> Path:
        raise KeyboardInterrupt  # the state a kill -9 leaves: nothing runs after it

    # a context of its own: monkeypatch.undo() also undid conftest's isolation (the credentials
    # and TIKTOK_RESEARCH_SANDBOX dropped, the cache folder), so the next runs could go elsewhere
    with monkeypatch.context() as patch:
        patch.setattr(tr.io, "write_parquet", killed_while_writing)
        code, text, sent = _cli(served, *args)
    assert code != 0 and not Path("valid.parquet").exists(), text
    assert sent == 3, text  # create, status, download

    code, text, sent = _cli(served, *args)
    assert (code, sent) == (0, 0), text  # before: 3 (uploaded again)
    table = pl.read_parquet("valid.parquet")
    assert table["id"].to_list() == ids
    assert table["valid"].to_list() == [True] * 40 + [False]
    assert "40 of the 41 video ids are still valid" in text, text

    # the output is written: the same command again is a new check, as it always was
    code, text, sent = _cli(served, *args)
    assert (code, sent) == (0, 3), text
    assert pl.read_parquet("valid.parquet")["id"].to_list() == ids
