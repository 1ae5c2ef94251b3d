"""Issue 18, items 1-3 and 5-12, attacked from outside as a user would meet them.

Each test here failed on main b500b6f: what the closing note of session 3 called done, broken by
a user's ordinary next step (a cleaned-up archive, a second collection a month later, the guide's
R code on text with quotes, a rerun on the day the service stopped the quota...). The command
line runs in-process against one sandbox served on 127.0.0.1 for the module (requests counted at
the server); Python runs against in-process sandboxes.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import tiktok_research as tr
from tiktok_research import schemas
from tiktok_research.cli import app
from tiktok_research.sandbox import Sandbox

# the command line prints its warnings (QuotaWarning...) as a user sees them
pytestmark = [pytest.mark.http, pytest.mark.filterwarnings("default")]

CLIMATE = tr.Q.hashtag_name.eq("climate")
HALF_YEAR = ["--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-06-30"]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Sandbox]]:
    from tiktok_research.sandbox import run_server

    with run_server(Sandbox()) as (url, sb):
        yield url, sb


def _cli(served: tuple[str, Sandbox], *args: str) -> tuple[int, str, int]:
    """Run the command line against the served sandbox: exit code, output, paid requests sent."""
    url, sb = served
    env = {"TIKTOK_RESEARCH_BASE_URL": url, "TIKTOK_CLIENT_KEY": "sandbox",
           "TIKTOK_CLIENT_SECRET": "sandbox"}  # fmt: skip
    before = _paid(sb)
    result = CliRunner().invoke(app, [*args, "--no-progress"], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output, _paid(sb) - before


def _paid(sb: Sandbox) -> int:
    return sum(n for ep, n in sb.requests_spent().items() if ep != "oauth_token")


# --------------------------------------------------------------- item 1: nothing replaced


def test_a_partial_rerun_never_replaces_a_fuller_table(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same command, after the archive was cleaned up, stopped by its budget (or the quota):
    it replaced the complete 316-row videos.parquet with the 108 rows it had got, saying only
    "wrote 108 rows to videos.parquet". The rows it did not get again were nowhere else."""
    monkeypatch.chdir(tmp_path)
    code, text, sent = _cli(served, "videos", *HALF_YEAR)
    assert code == 0 and sent == 6, text
    full = pl.read_parquet("videos.parquet")
    assert full.height > 300
    shutil.rmtree("tiktok-archive")  # cleaned up: the table is the only copy now
    heights = []
    for run in range(2):  # run twice: each run goes on where the last stopped, 2 requests each
        code, text, sent = _cli(served, "videos", *HALF_YEAR, "--max-requests", "2")
        assert code == 3 and sent == 2, text  # incomplete: the budget
        assert pl.read_parquet("videos.parquet").equals(full), f"run {run + 1} replaced it"
        heights.append(pl.read_parquet("videos-2.parquet").height)
        assert "videos-2.parquet" in text and "--overwrite" in text, text
    assert 0 < heights[0] < heights[1] < full.height
    assert not Path("videos-3.parquet").exists(), "the rerun replaced its own partial table"
    code, text, sent = _cli(served, "videos", *HALF_YEAR, "--max-requests", "2")
    assert code == 0 and sent == 2, text  # complete again: the full table, in its place
    again = pl.read_parquet("videos.parquet")
    assert again.height == full.height and set(again["id"]) == set(full["id"])


# ---------------------------------------------------------- item 2: a dataset keeps its rows


def test_a_later_collection_into_a_dataset_keeps_the_videos_deleted_since(
    make_sandbox: object, tmp_path: Path
) -> None:
    """The same query collected into a dataset again a month later (Python's default temporary
    archive, or the command line with another --archive): every video the service had deleted
    in between vanished from the dataset ("269 videos in all" after 292), though no newer copy
    of it superseded it."""
    sb = make_sandbox(removal_rate=0.01)  # type: ignore[operator]
    root = tmp_path / "videos"
    with tr.Client.sandbox(sb) as client:
        first = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-06-30", client=client,
                                dataset=root, progress=False)  # fmt: skip
        sb.advance(timedelta(days=30))
        second = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-06-30", client=client,
                                 dataset=root, progress=False)  # fmt: skip
        sb.advance(timedelta(days=30))  # and the command line's way: collect_videos, streaming
        report = tr.collect_videos(CLIMATE, "2024-01-01", "2024-06-30", root, client=client,
                                   archive=tmp_path / "other-archive", progress=False)  # fmt: skip
        paid = sb.requests_spent()["video_query"]
        third = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-06-30", client=client,
                                archive=tmp_path / "other-archive", progress=False)  # fmt: skip
        assert sb.requests_spent()["video_query"] == paid, "its table, from its archive"
    gone = set(first["id"]) - set(third["id"])
    assert gone, "the sandbox deleted some videos in 60 days"
    assert report.rows == third.height, "'rows from this collection' counts this collection's"
    held = tr.io.read_dataset(root, table="videos").collect()
    assert held["id"].n_unique() == held.height, "each id once"
    assert set(held["id"]) == set(first["id"]) | set(second["id"]) | set(third["id"]), (
        f"{len(gone - set(held['id']))} of the {len(gone)} videos deleted since left the dataset"
    )
    # the newest retrieval wins for the ids both runs hold
    both = third.select("id", "view_count").join(held.select("id", "view_count"), on="id")
    assert both.height == third.height and (both["view_count"] == both["view_count_right"]).all()


def test_a_rerun_answered_from_an_old_archive_does_not_pass_for_the_newest_retrieval(
    make_sandbox: object, tmp_path: Path
) -> None:
    """Collected into a dataset in December (archive A) and again in January (archive B), then
    the December script run once more: answered from A for 0 requests, its rows were stamped
    with the time of the write, so December's counts replaced January's in the dataset."""
    sb = make_sandbox()  # type: ignore[operator]
    root = tmp_path / "videos"

    def collect(archive: str) -> pl.DataFrame:
        where = tmp_path / archive
        return tr.fetch_videos(CLIMATE, "2024-01-01", "2024-02-29", client=client, archive=where,
                               dataset=root, progress=False)  # fmt: skip

    with tr.Client.sandbox(sb) as client:
        december = collect("A")
        sb.advance(timedelta(days=30))
        january = collect("B")
        paid = sb.requests_spent()["video_query"]
        again = collect("A")
        assert sb.requests_spent()["video_query"] == paid, "the rerun is answered from A"
    assert again["view_count"].to_list() == december["view_count"].to_list()
    newest = pl.concat([january, december.join(january, on="id", how="anti")])
    held = tr.io.read_dataset(root, table="videos").collect()
    assert held.height == held["id"].n_unique() == newest.height
    got = newest.select("id", "view_count").join(held.select("id", "view_count"), on="id")
    stale = got.filter(pl.col("view_count") != pl.col("view_count_right")).height
    assert stale == 0, f"{stale} of {got.height} videos hold December's counts again"


# ------------------------------------------------------------- item 5: R, as the guide shows


def _guide_r_code() -> str:
    """Every ```r block of the guide's R section (docs/guide/reading-output.md), as written."""
    text = (Path(__file__).resolve().parents[1] / "docs/guide/reading-output.md").read_text("utf-8")
    start = text.index("\n## R\n")
    end = text.find("\n## ", start + 1)
    blocks = text[start : end if end != -1 else len(text)].split("```r\n")[1:]
    return "\n".join(b.split("```")[0] for b in blocks)


def _r_ready() -> bool:
    if shutil.which("Rscript") is None:
        return False
    need = "for (p in c('data.table', 'readr', 'bit64')) if (!requireNamespace(p, quietly=TRUE)) "
    check = subprocess.run(["Rscript", "-e", need + "quit(status=3)"], capture_output=True,
                           check=False, timeout=120)  # fmt: skip
    return check.returncode == 0


@pytest.mark.skipif(not _r_ready(), reason="R with data.table, readr and bit64 is not installed")
def test_the_guides_r_code_reads_text_with_quotes_and_json_columns_exactly(
    tmp_path: Path,
) -> None:
    """The guide's `fread("videos.csv")` gave every text with a quote, and every JSON column,
    with its quotes doubled: `[{""hashtag_id"":""6829526542381614630"",...}]` is no JSON."""
    texts = ['"hello" world', 'a,"b"', '""', 'x""y', 'é 🌍 中文, "q"\nline 2', '"', 'end"']
    texts.append("plain")
    n = len(texts)
    videos = schemas.cast(
        pl.DataFrame({
            "id": [7_000_000_000_000_000_001 + i for i in range(n)],
            "video_description": texts,
            "create_time": [1704499196] * n,
            "playlist_id": [None, 7322470289165011594] * (n // 2),
            "hashtag_info_list": [[{"hashtag_id": 6829526542381614630, "hashtag_name": "fyp"}]] * n,
        }),
        "videos",
    )  # fmt: skip
    tr.io.write_csv(videos, tmp_path / "videos.csv")
    script = tmp_path / "guide.R"
    script.write_text(
        _guide_r_code()
        + "\nout <- data.frame(id = as.character(videos$id), text = videos$video_description,"
        + " tags = videos$hashtag_info_list, tib_text = tib$video_description,"
        + " tib_tags = tib$hashtag_info_list)\n"
        + "write.csv(out, 'from_r.csv', row.names = FALSE, fileEncoding = 'UTF-8')\n",
        encoding="utf-8",
    )
    want_tags = tr.io.read_csv(tmp_path / "videos.csv", table="videos")
    run = subprocess.run(["Rscript", str(script)], cwd=tmp_path, capture_output=True,
                         text=True, check=False, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "from_r.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == [str(i) for i in videos["id"]]
    for column in ("text", "tib_text"):
        assert [r[column] for r in rows] == texts, column
    for column in ("tags", "tib_tags"):
        parsed = [json.loads(r[column]) for r in rows]  # JSON again, ids as exact strings
        assert [p[0]["hashtag_id"] for p in parsed] == ["6829526542381614630"] * n, column
    assert want_tags["hashtag_info_list"].to_list() == videos["hashtag_info_list"].to_list()


# ---------------------------------------------------- item 12: warnings for requests really sent


def test_no_quota_warning_for_requests_that_will_not_be_sent(
    make_sandbox: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the service's quota stop, a rerun the same day sent nothing (right) but warned
    "this run will send at least 2 requests but the local ledger shows 0 left today"; and once
    the served sandbox's clock had moved to the next day, the rerun warned "0 left today" again
    before collecting with the quota the service had given back."""
    from tiktok_research.sandbox import run_server

    monkeypatch.chdir(tmp_path)
    sb = make_sandbox(daily_quota={"research": 2, "social": 100}, n_videos=4000)  # type: ignore[operator]
    months = ["videos", "--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-04-30"]
    with run_server(sb) as (url, _):
        code, text, sent = _cli((url, sb), *months)  # 4 windows, 2 requests left
        assert code == 3 and "daily quota" in text, text
        assert sent >= 2
        code, text, sent = _cli((url, sb), *months)  # the same day: nothing is sent
        assert code == 3 and sent == 0, text
        assert "nothing was sent" in text
        assert "will send" not in text, "a warning for requests that are not sent"
        sb.advance(timedelta(days=1))  # the service's next day: its quota is back
        code, text, sent = _cli((url, sb), *months)
        assert code == 0, text
        assert sent == 2
        assert "left today" not in text, "a warning from yesterday's ledger"


# ------------------------------------------------- items 7-8: a result's own polars writers


def test_a_results_write_ndjson_keeps_ids_exact_in_jq(make_client: object, tmp_path: Path) -> None:
    """`videos.write_ndjson("v.jsonl")`, polars' own method on a result (as item 8's
    `videos.write_csv`), wrote `{"id":7330082108045082153,...}`: jq printed 7330082108045083000."""
    with make_client() as client:  # type: ignore[operator]
        videos = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-01-31", client=client,
                                 progress=False)  # fmt: skip
    want = [str(i) for i in videos["id"]]
    videos.write_ndjson(tmp_path / "v.jsonl")
    text = videos.write_ndjson()
    assert isinstance(text, str)
    assert [json.loads(line)["id"] for line in text.splitlines()] == want
    assert tr.io.read_table(tmp_path / "v.jsonl")["id"].to_list() == videos["id"].to_list()
    if shutil.which("jq") is not None:
        jq = subprocess.run(["jq", "-r", ".id", str(tmp_path / "v.jsonl")], capture_output=True,
                            text=True, check=True, timeout=60)  # fmt: skip
        assert jq.stdout.split() == want
