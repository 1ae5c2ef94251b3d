"""A merge that runs while a collection in the same archive finishes never loses rows (issue 22).

A collection gzips a finished run's ``pages-<run>.jsonl`` into ``pages-<run>.jsonl.gz`` (written
whole under a temporary name, renamed into place) and then removes the plain file. A merge that
listed the plain file before that and opens it after used to report "file not found" and return
the table without its rows (0 rows, exit 0, in 2 of 4 runs with a second collection beside it).
Here the collection's own ``compress_file`` runs at the worst moments, deterministically: between
the listing and the opening of each page file, and between its rename and its unlink. A last test
runs a real collection in a thread beside merges of the same archive.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import tiktok_research as tr
from _sandboxes import MakeClient, MakeSandbox
from tiktok_research import _archive

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = ROOT / "data" / "sample" / "dumps" / "archive"


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    folder = tmp_path / "archive"
    shutil.copytree(ARCHIVE, folder)
    return folder


def _plain_pages(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("pages-*.jsonl"))


def _gzip_when_opened(
    monkeypatch: pytest.MonkeyPatch, before_open: Callable[[Path], None]
) -> list[Path]:
    """Run ``before_open(path)`` the first time a plain page file is opened (the collection
    finishes its run between the merge's listing and its reading)."""
    real_open = os.open
    done: list[Path] = []

    def opening(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        p = Path(os.fsdecode(path))
        if p.name.startswith("pages-") and p.name.endswith(".jsonl") and p not in done:
            done.append(p)
            if p.exists():
                before_open(p)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", opening)
    return done


def _sorted(df: pl.DataFrame, table: str) -> pl.DataFrame:
    return df.sort(tr.schemas.primary_key(table), nulls_last=True)


def _same_tables(got: tr.MergeResult, expected: tr.MergeResult) -> None:
    assert got.rows == expected.rows
    for table in expected.rows:
        assert_frame_equal(_sorted(got[table], table), _sorted(expected[table], table))


@pytest.mark.parametrize("dataset", [False, True])
def test_a_page_file_gzipped_after_the_listing_is_read_from_its_twin(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dataset: bool
) -> None:
    expected = tr.merge_dumps(archive)
    plain = _plain_pages(archive)
    assert len(plain) == 2 and expected.rows["videos"] > 0  # the race has rows to lose
    with monkeypatch.context() as patch:  # not monkeypatch.undo(): that undoes conftest's too
        gzipped = _gzip_when_opened(patch, _archive.compress_file)
        got = tr.merge_dumps(archive, dataset=tmp_path / "out" if dataset else None)
    assert sorted(gzipped) == plain  # the hook ran: both files became .gz while merging
    assert not any(p.exists() for p in plain)
    assert "file not found" not in str(got.skipped)
    _same_tables(got, expected)
    # the report says where the pages came from, and still has the damage found in them
    assert sum(r.pages for r in got.report) == sum(r.pages for r in expected.report)
    notes = [n for r in got.report for n in r.notes if "gzipped during the merge" in n]
    assert len(notes) == 2
    assert [why for _, _, why in got.skipped] == [why for _, _, why in expected.skipped]


def test_a_page_file_listed_beside_its_twin_is_read_once(archive: Path) -> None:
    """Between the rename of the .gz and the unlink of the plain file both are listed."""
    expected = tr.merge_dumps(archive)
    for p in _plain_pages(archive):
        _archive.compress_file(p)  # the twin, whole
        shutil.copyfile(ARCHIVE / p.relative_to(archive), p)  # the plain file not yet removed
    assert len(_plain_pages(archive)) == 2
    got = tr.merge_dumps(archive)
    _same_tables(got, expected)
    assert sum(r.pages for r in got.report) == sum(r.pages for r in expected.report)
    twins = [r for r in got.report if r.layout == "read from its .gz twin"]
    assert len(twins) == 2 and all(not r.skipped and r.pages == 0 for r in twins)
    assert got.summary().splitlines()[0] == expected.summary().splitlines()[0]


def test_a_file_gone_without_a_twin_is_still_reported(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:  # not monkeypatch.undo(): that undoes conftest's too
        _gzip_when_opened(patch, lambda p: p.unlink())
        got = tr.merge_dumps(archive)
    reasons = {Path(p).name: why for p, _, why in got.skipped if why == "file not found"}
    assert sorted(reasons) == sorted(p.name for p in _plain_pages(ARCHIVE))


def test_merges_beside_a_real_collection_never_lose_rows(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    """A real collection writes and gzips its page files while merges of the same archive run
    in a loop: no merge reports a page file as missing, and the last one holds every video."""
    archive = tmp_path / "archive"
    archive.mkdir()
    client = make_client(make_sandbox(seed=3, n_videos=3_000))
    errors: list[BaseException] = []
    result: list[pl.DataFrame] = []

    def collect() -> None:
        try:
            for region in ("DE", "FR", "US"):  # three collections, three runs gzipped at the end
                query = tr.Q.region_code.eq(region)
                videos = tr.fetch_videos(
                    query,
                    "2024-01-01",
                    "2024-01-31",
                    client=client,
                    archive=archive,
                    progress=False,
                )
                result.append(videos)
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    worker = threading.Thread(target=collect)
    worker.start()
    merges = []
    while worker.is_alive():
        merges.append(tr.merge_dumps(archive))
    worker.join()
    assert not errors, errors
    final = tr.merge_dumps(archive)
    assert final.rows.get("videos", 0) == sum(df.height for df in result) > 0
    assert merges
    for m in merges:
        assert not [s for s in m.skipped if s[2] == "file not found"], m.summary()
