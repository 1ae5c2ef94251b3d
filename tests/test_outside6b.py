"""Session 6's outside pass, its leftovers (reports/outside6.md, "Left undone").

Each test here failed on main 6e6d682 before its fix.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import tiktok_research as tr
from tiktok_research.errors import InvalidRequestError
from tiktok_research.query import as_query

CLIMATE, CATS = tr.Q.hashtag_name.eq("climate"), tr.Q.hashtag_name.eq("cats")


def _shown(q: tr.Q) -> str:
    """The query as a dataset folder records it (and its refusal shows it)."""
    return json.dumps(as_query(q).to_dict(), sort_keys=True)


def test_a_result_of_another_query_is_refused_by_write_dataset(tmp_path: Path) -> None:
    """Issue 18 item 2: "a different query written into an existing dataset folder is refused, as
    update already does". `tr.write_dataset(cats, folder)` into the folder of a climate
    collection was accepted: the folder mixed two queries while its metadata said climate."""
    client = tr.Client.sandbox()
    root = tmp_path / "climate"
    climate = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-01-10", client=client,
                              dataset=root, progress=False)  # fmt: skip
    cats = tr.fetch_videos(CATS, "2024-01-01", "2024-01-10", client=client, progress=False)
    assert cats.height and climate.height
    for write in (tr.write_dataset, tr.io.write_dataset):
        with pytest.raises(InvalidRequestError) as e:
            write(cats, root, table="videos")
        said = str(e.value)
        # the same refusal as the other writers': the folder, the two queries, the fix
        assert "another query" in said and str(root) in said, said
        assert _shown(CLIMATE) in said and _shown(CATS) in said, said
        assert "another folder" in said, said
    held = tr.io.read_dataset(root, table="videos").select("id").collect()["id"]
    assert sorted(held.to_list()) == sorted(climate["id"].to_list()), "nothing was written"
    # the result of the folder's own query is written; so is one into a folder of its own
    tr.write_dataset(climate, root, table="videos")
    tr.write_dataset(cats, tmp_path / "cats", table="videos")
    with pytest.raises(InvalidRequestError, match="another query"):  # cats' folder now says so
        tr.write_dataset(climate, tmp_path / "cats", table="videos")
    # a plain DataFrame records no query: written as before
    tr.write_dataset(pl.DataFrame(cats), root, table="videos")
    held = tr.io.read_dataset(root).select("id").collect()["id"]
    assert held.len() == climate.height + cats.height


ENTRY = shutil.which("tiktok-research", path=str(Path(sys.executable).parent))
BASE = [ENTRY] if ENTRY else [sys.executable, "-m", "tiktok_research.cli"]
FYP = ("videos", "--sandbox", "--hashtag", "fyp", "--start", "2024-01-01", "--end", "2024-01-05")


def _env() -> dict[str, str]:
    # the test's cache folder is kept (conftest's): the user's own is never written
    return {k: v for k, v in os.environ.items() if k == "TIKTOK_RESEARCH_CACHE_DIR"
            or not k.startswith(("TIKTOK_CLIENT_", "TIKTOK_RESEARCH_"))}  # fmt: skip


@pytest.mark.parametrize("reader", ["gone-at-once", "head -1"])
def test_a_report_piped_into_a_reader_that_stops_early_ends_quietly(
    tmp_path: Path, reader: str
) -> None:
    """`tiktok-research videos ... --out v.parquet | head -1` exited 1 (click's handling of a
    closed pipe), which a script with `set -o pipefail` reads as a failure. The table is written
    before the report, so the command ends as it would have: code 0 (complete), nothing on
    standard error. A real pipe: the reader closed before the first line, or after it (head)."""
    with subprocess.Popen(
        [*BASE, *FYP, "--out", "v.parquet"], cwd=tmp_path, env=_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    ) as cmd:  # fmt: skip
        assert cmd.stdout is not None and cmd.stderr is not None
        first = cmd.stdout.readline() if reader == "head -1" else b""
        cmd.stdout.close()  # the reader has gone: every later line meets a closed pipe
        err = cmd.stderr.read().decode()
        code = cmd.wait(timeout=300)
    assert (code, err) == (0, ""), err
    if reader == "head -1":
        assert first.startswith(b"videos: complete; ")
    written = pl.read_parquet(tmp_path / "v.parquet")
    assert written.height > 0 and written["id"].n_unique() == written.height


def test_counts_of_one_are_said_in_the_singular(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hydrate` said "1 of the 63 ids were not found"; a config file with one stray entry was
    told "it holds only client_key ..." (it may hold only those). The count's words now agree
    with it, through one helper (the compliance sentence's "1 is gone" uses it too)."""
    from typer.testing import CliRunner

    from tiktok_research.cli import app

    monkeypatch.chdir(tmp_path)  # the commands' default archive (tiktok-archive/) goes here
    runner = CliRunner()
    period = ("--start", "2024-01-01", "--end", "2024-01-05")
    fyp = ["--sandbox", "--hashtag", "fyp", *period, "--no-progress"]
    assert runner.invoke(app, ["videos", *fyp, "--out", str(tmp_path / "v.parquet")]).exit_code == 0
    ids = pl.read_parquet(tmp_path / "v.parquet")["id"].to_list()
    absent = max(ids) + 1  # not in the corpus (and, by its low bits, not a video id)
    assert absent not in ids
    (tmp_path / "ids.txt").write_text("\n".join(map(str, [*ids, absent])) + "\n")
    hydrate = ["hydrate", "--sandbox", "--no-progress", "--from-file", str(tmp_path / "ids.txt")]
    result = runner.invoke(app, [*hydrate, "--out", str(tmp_path / "h.parquet")])
    text = result.output + result.stderr
    assert result.exit_code == 0, text
    assert f"1 of the {len(ids) + 1} ids was not found" in text, text
    assert "1 of the ids not found is not a video id by its bits" in text, text
    # two missing: the plural, as before
    (tmp_path / "ids.txt").write_text("\n".join(map(str, [*ids, absent, absent + 1])) + "\n")
    result = runner.invoke(app, [*hydrate, "--out", str(tmp_path / "h2.parquet")])
    assert f"2 of the {len(ids) + 2} ids were not found" in result.output + result.stderr

    lab = tmp_path / "lab.toml"
    lab.write_text('client_key = "k"\nclient_secret = "s"\nregion = "US"\n', encoding="utf-8")
    lab.chmod(0o600)
    with pytest.raises(InvalidRequestError) as e:
        tr.Client(config=lab, base_url="http://127.0.0.1:9")
    said = str(e.value)
    assert "holds 1 entry other than" in said and 'it may hold only client_key = "..."' in said
