"""Where data leaves the package: nothing replaced silently, nothing doubled, ids exact.

Issue 18 items 1-4 and 6-8, issue 20's ``--out -`` and issue 22 item 7, as a user meets them:
the command line against the sandbox served over HTTP (requests counted at the server), and the
Python writers and readers. The readers of other tools (R, LibreOffice, jq, DuckDB, pandas with
its defaults) are in ``test_output_readers.py``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import tiktok_research as tr
from tiktok_research import io, schemas
from tiktok_research.cli import app
from tiktok_research.errors import InvalidRequestError, MissingDependencyError
from tiktok_research.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.http

ID = "7320768158545159950"  # the video of the comments command's own --help example
CLIMATE = tr.Q.hashtag_name.eq("climate")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Sandbox]]:
    from tiktok_research.sandbox import run_server

    # compliance tasks Completed at once: the commands that check compliance (compliance,
    # refresh) do not wait out the default 30 s of Processing twice each (the waits are tested
    # in test_sandbox_compliance.py)
    with run_server(Sandbox(SandboxConfig(validation_processing_seconds=0))) as (url, sb):
        yield url, sb


def _cli(served: tuple[str, Sandbox], *args: str) -> tuple[int, str, int]:
    """Run the command line against the served sandbox: exit code, output, requests sent."""
    url, sb = served
    env = {"TIKTOK_RESEARCH_BASE_URL": url, "TIKTOK_CLIENT_KEY": "sandbox",
           "TIKTOK_CLIENT_SECRET": "sandbox"}  # fmt: skip
    before = len(sb.request_log)
    quiet = ["--no-progress"] if args[0] not in ("summary", "select", "merge") else []
    result = CliRunner().invoke(app, [*args, *quiet], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output, len(sb.request_log) - before


# ------------------------------------------------------------------- 1. nothing replaced


def test_default_output_is_never_replaced_silently(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 1: `comments ID --replies` (its --help example, no --out) replaced a 205-row
    comments.parquet with what it found, without a word."""
    monkeypatch.chdir(tmp_path)
    earlier = schemas.cast(
        pl.DataFrame({"id": list(range(1, 206)), "video_id": [int(ID)] * 205}), "comments"
    )
    io.write_parquet(earlier, "comments.parquet", table="comments")
    stamp = Path("comments.parquet").read_bytes()
    code, text, sent = _cli(served, "comments", ID, "--replies")
    assert code == 2, text
    assert "--overwrite" in text and "comments.parquet" in text
    assert sent == 0, "refused before the first request"
    assert Path("comments.parquet").read_bytes() == stamp, "the earlier table is kept"
    assert not any(p.name.startswith("comments") and p.name != "comments.parquet"
                   for p in tmp_path.iterdir())  # fmt: skip
    # --overwrite replaces it; the same command again replaces its own output (no question)
    code, text, sent = _cli(served, "comments", ID, "--replies", "--overwrite")
    assert code == 0, text
    got = pl.read_parquet("comments.parquet")
    assert got.height != earlier.height and Path("comments.parquet").read_bytes() != stamp
    code, text, again = _cli(served, "comments", ID, "--replies")
    assert code == 0, text
    assert pl.read_parquet("comments.parquet").equals(got)
    assert again == 0, "the rerun is answered from the archive"
    # another command may not take the file over
    code, text, sent = _cli(served, "comments", "7320768158545159951", "--out", "comments.parquet")
    assert code == 2 and "--overwrite" in text and sent == 0, text


def test_an_edited_output_is_not_taken_for_the_commands_own(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ("videos", "--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-01-31",
            "--out", "v.csv")  # fmt: skip
    assert _cli(served, *args)[0] == 0
    with open("v.csv", "a", encoding="utf-8") as fh:
        fh.write("# my notes\n")
    code, text, sent = _cli(served, *args)
    assert code == 2 and "--overwrite" in text and sent == 0, text
    assert Path("v.csv").read_text(encoding="utf-8").endswith("# my notes\n")


def test_python_writers_follow_polars_and_say_so() -> None:
    """Item 1: the Python writers overwrite, as polars' do, and their docstrings say so."""
    for writer in (io.write_parquet, io.write_csv, io.write_ndjson, io.write_excel):
        assert "replaces a file that exists" in " ".join((writer.__doc__ or "").split()), writer


# ---------------------------------------------------- issue 22 item 7 and --out checked first


@pytest.mark.parametrize(
    "out", ["/proc/nope/x.parquet", "{tmp}/afile/x.csv", "{tmp}/x.xls", "{tmp}/adir"]
)
def test_out_is_checked_before_any_request(
    served: tuple[str, Sandbox], tmp_path: Path, out: str
) -> None:
    """Issue 22 item 7: `--out /proc/nope/x.parquet` paid a token and 4 pages, then exit 2."""
    (tmp_path / "afile").write_text("a file\n")
    (tmp_path / "adir").mkdir()
    target = out.replace("{tmp}", str(tmp_path))
    code, text, sent = _cli(served, "videos", "--hashtag", "climate", "--start", "2024-01-01",
                            "--end", "2024-04-30", "--out", target)  # fmt: skip
    assert code == 2, text
    assert sent == 0, f"{sent} request(s) sent before the output was found unusable"
    assert any(
        words in text.lower()
        for words in ("nothing was sent", "unknown output format", "is a folder", "is a file")
    ), text
    assert not Path("/proc/nope").exists()


# ----------------------------------------------------------------------- --out - (issue 20)


def test_out_dash_writes_json_lines_on_stdout_and_messages_on_stderr(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the command's default archive (tiktok-archive/) goes here
    url, _ = served
    env = {"TIKTOK_RESEARCH_BASE_URL": url, "TIKTOK_CLIENT_KEY": "sandbox",
           "TIKTOK_CLIENT_SECRET": "sandbox"}  # fmt: skip
    result = CliRunner().invoke(
        app,
        ["videos", "--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-01-31",
         "--out", "-", "--no-progress"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and all(isinstance(r["id"], str) and r["id"].isdigit() for r in rows)
    assert "wrote" in result.stderr and re.search(r"\d+ requests? sent", result.stderr)
    assert "wrote" not in result.stdout
    direct = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-01-31", client=tr.Client.sandbox(),
                             progress=False)  # fmt: skip
    assert sorted(int(r["id"]) for r in rows) == sorted(direct["id"].to_list())


# --------------------------------------------------------------------- 2. nothing doubled


def _sent(client: tr.Client) -> int:
    """Requests the client's in-process sandbox has answered so far (its log is a copy)."""
    return len(client.sandbox_instance.request_log)


def _ids_once(root: Path) -> list[int]:
    """The ids of a dataset as each reader sees them; each must hold every id once."""
    import duckdb
    import pandas as pd

    ours = io.read_dataset(root, table="videos").select("id").collect()["id"].to_list()
    glob = f"{root}/**/*.parquet"
    duck = duckdb.sql(f"select id from read_parquet('{glob}', hive_partitioning=true)").fetchall()
    panda = pd.read_parquet(root)["id"].tolist()
    for seen in (ours, [r[0] for r in duck], panda):
        assert len(seen) == len(set(seen)), f"{len(seen) - len(set(seen))} ids held twice"
        assert sorted(seen) == sorted(ours)
    return sorted(ours)


def test_overlapping_collections_into_one_dataset_hold_each_video_once(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 2: Jan-Jun then Jan-Mar into data/videos gave 461 rows of which 316 unique, and
    summary counted January twice."""
    monkeypatch.chdir(tmp_path)
    base = ("videos", "--hashtag", "climate", "--start", "2024-01-01", "--dataset", "data/videos")
    assert _cli(served, *base, "--end", "2024-06-30")[0] == 0
    first = _ids_once(tmp_path / "data/videos")
    code, text, _ = _cli(served, *base, "--end", "2024-03-31")
    assert code == 0, text
    assert _ids_once(tmp_path / "data/videos") == first
    assert f"{len(first):,} videos in all" in text
    direct = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-06-30", client=tr.Client.sandbox(),
                             progress=False)  # fmt: skip
    assert first == sorted(direct["id"].to_list())
    january = direct.filter(pl.col("create_time").dt.month() == 1).height
    code, text, _ = _cli(served, "summary", "data/videos", "--out", "s.parquet")
    assert code == 0, text
    summary = pl.read_parquet("s.parquet")
    assert summary.filter(pl.col("month").cast(pl.String).str.starts_with("2024-01"))[
        "videos"
    ].to_list() == [january]
    # another query into the same folder is refused before anything is sent
    code, text, sent = _cli(served, "videos", "--hashtag", "cats", "--start", "2024-01-01",
                            "--end", "2024-01-31", "--dataset", "data/videos")  # fmt: skip
    assert code == 2 and "another query" in text and sent == 0, text


def test_python_writers_of_a_dataset_hold_each_id_once(tmp_path: Path) -> None:
    """Item 2 for collect_videos, fetch_videos(dataset=), refresh_videos, update_videos and
    merge_dumps(dataset=); a different query is refused before any request."""
    # the refresh's compliance task Completed at once (not after 30 s of real time)
    client = tr.Client.sandbox(Sandbox(SandboxConfig(validation_processing_seconds=0)))
    root = tmp_path / "videos"
    tr.fetch_videos(CLIMATE, "2024-01-01", "2024-03-31", client=client, dataset=root,
                    archive=tmp_path / "a", progress=False)  # fmt: skip
    tr.collect_videos(CLIMATE, "2024-02-01", "2024-04-30", root, archive=tmp_path / "a",
                      client=client, progress=False)  # fmt: skip
    held = _ids_once(root)
    direct = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-04-30", client=client, progress=False)
    assert held == sorted(direct["id"].to_list())
    before = _sent(client)
    with pytest.raises(InvalidRequestError, match="another query"):
        tr.fetch_videos(tr.Q.hashtag_name.eq("cats"), "2024-01-01", "2024-01-31", client=client,
                        dataset=root, progress=False)  # fmt: skip
    assert _sent(client) == before
    with pytest.raises(InvalidRequestError, match="another query"):
        tr.collect_videos(tr.Q.hashtag_name.eq("cats"), "2024-01-01", "2024-01-31", root,
                          archive=tmp_path / "a", client=client, progress=False)  # fmt: skip
    assert _sent(client) == before
    # a refresh of the dataset rewrites it: each id once, counts of the refresh
    tr.refresh_videos(root, client=client, archive=tmp_path / "a", progress=False)
    assert _ids_once(root) <= held
    # a merge into a dataset twice: refused or replaced, never doubled
    dump = tmp_path / "dump.jsonl"
    dump.write_text(
        "".join(
            json.dumps({"data": {"videos": [{"id": i, "create_time": 1704499196}]}}) + "\n"
            for i in held[:20]
        )
    )
    tr.merge_dumps(dump, dataset=tmp_path / "merged")
    with pytest.raises((InvalidRequestError, FileExistsError), match="twice"):
        tr.merge_dumps(dump, dataset=tmp_path / "merged")
    tr.merge_dumps(dump, dataset=tmp_path / "merged", overwrite=True)
    assert _ids_once(tmp_path / "merged" / "videos") == held[:20]


def test_a_dataset_run_after_a_plain_run_reads_the_pages_held_and_pays_nothing(
    tmp_path: Path,
) -> None:
    """The same query collected into a table, then streamed into a dataset (`collect_videos`,
    `videos --dataset`) over the same archive: the second run reads every page the first one
    paid for (it paid one page per window again, as a "repair", before: its dataset pass looked
    for the pages only in per-window files); and the reverse order pays nothing either."""
    client = tr.Client.sandbox()
    first = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-03-31", client=client,
                            archive=tmp_path / "a", progress=False)  # fmt: skip
    paid = _sent(client)
    assert first.report.requests_spent == 3  # one page per month window
    again = tr.collect_videos(CLIMATE, "2024-01-01", "2024-03-31", tmp_path / "d",
                              archive=tmp_path / "a", client=client, progress=False)  # fmt: skip
    assert _sent(client) == paid
    assert (again.requests_spent, again.repaired) == (0, 0)
    assert again.complete
    assert _ids_once(tmp_path / "d") == sorted(first["id"].to_list())
    # and the reverse: a dataset run first, then a plain table from the same archive
    tr.collect_videos(CLIMATE, "2024-04-01", "2024-05-31", tmp_path / "e",
                      archive=tmp_path / "b", client=client, progress=False)  # fmt: skip
    paid = _sent(client)
    plain = tr.fetch_videos(CLIMATE, "2024-04-01", "2024-05-31", client=client,
                            archive=tmp_path / "b", progress=False)  # fmt: skip
    assert _sent(client) == paid
    assert sorted(plain["id"].to_list()) == _ids_once(tmp_path / "e")


def test_a_write_supersedes_the_rows_it_replaces_newest_retrieval_wins(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    root = tmp_path / "ds"
    rows = schemas.cast(pl.DataFrame({"id": [1, 2, 3], "create_time": [1704499196] * 3,
                                      "view_count": [10, 20, 30]}), "videos")  # fmt: skip
    io.write_dataset(rows, root, table="videos", run_id="a",
                     retrieved_at=datetime(2024, 5, 1, tzinfo=UTC))  # fmt: skip
    later = rows.with_columns(pl.col("view_count") * 2).filter(pl.col("id") > 1)
    io.write_dataset(later, root, table="videos", run_id="b",
                     retrieved_at=datetime(2024, 6, 1, tzinfo=UTC))  # fmt: skip
    older = rows.with_columns(pl.col("view_count") * 0)
    io.write_dataset(older, root, table="videos", run_id="c",
                     retrieved_at=datetime(2024, 4, 1, tzinfo=UTC))  # fmt: skip
    got = io.read_dataset(root, table="videos").collect().sort("id")
    assert got["id"].to_list() == [1, 2, 3]
    assert got["view_count"].to_list() == [10, 40, 60], "the newest retrieval of each id"


# ----------------------------------------------------------------------- 3. empty datasets


def test_read_dataset_of_an_empty_or_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    empty = io.read_dataset(tmp_path / "empty", table="videos").collect()
    assert empty.height == 0 and empty.schema == schemas.VIDEOS
    with pytest.raises(ValueError, match="table="):
        io.read_dataset(tmp_path / "empty").collect()
    with pytest.raises(FileNotFoundError, match="no such dataset folder"):
        io.read_dataset(tmp_path / "missing", table="videos")


# ------------------------------------------------------------------- 4. pandas, defaults


@pytest.fixture(scope="module")
def videos() -> pl.DataFrame:
    """Videos with every hard case: 19-digit ids, nulls in id columns, nested ids, emoji."""
    v = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-02-29", client=tr.Client.sandbox(),
                        progress=False)  # fmt: skip
    assert v["playlist_id"].null_count() > 0 and v["playlist_id"].drop_nulls().len() > 0
    extra = schemas.cast(
        pl.DataFrame({"id": [9223372036854775807], "video_description": ["é 🌍 中文, \"q\"\n2"],
                      "music_id": [None], "create_time": [1704499196]}), "videos")  # fmt: skip
    return pl.concat([pl.DataFrame(v), extra])


def test_pandas_defaults_read_exact_ids(videos: pl.DataFrame, tmp_path: Path) -> None:
    """Item 4: pd.read_parquet("videos.parquet") turned playlist_id into float64."""
    import pandas as pd

    path = io.write_parquet(videos, tmp_path / "v.parquet", table="videos")
    frame = pd.read_parquet(path)
    for column in ("id", "playlist_id", "music_id"):
        assert str(frame[column].dtype) == "Int64", column
        got = [None if pd.isna(x) else int(x) for x in frame[column]]
        assert got == videos[column].to_list(), column
    # the frames users derive: the package's converter, and FetchResult's own
    derived = videos.filter(pl.col("view_count") >= 0).sort("id").select("id", "playlist_id")
    exact = io.to_pandas(derived)
    assert [None if pd.isna(x) else int(x) for x in exact["playlist_id"]] == derived[
        "playlist_id"
    ].to_list()


# ----------------------------------------------------------------- 6. spreadsheets, Python


def test_xlsx_round_trip_is_exact(videos: pl.DataFrame, tmp_path: Path) -> None:
    pytest.importorskip("xlsxwriter")
    pytest.importorskip("fastexcel")
    path = io.write_excel(videos, tmp_path / "v.xlsx")
    back = io.read_table(path)
    assert back["id"].to_list() == videos["id"].to_list()
    assert back["playlist_id"].to_list() == videos["playlist_id"].to_list()
    assert back["hashtag_info_list"].to_list() == videos["hashtag_info_list"].to_list()
    assert back["create_time"].to_list() == videos["create_time"].to_list()
    assert (
        back["video_description"].fill_null("").to_list()
        == videos["video_description"].fill_null("").to_list()
    )


def test_csv_for_excel_has_a_bom_and_reads_back_exactly(
    videos: pl.DataFrame, tmp_path: Path
) -> None:
    path = io.write_csv(videos, tmp_path / "v.csv", excel=True)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert f'"=""{videos["id"][0]}"""'.encode() in raw  # ="digits": text in a spreadsheet
    back = io.read_csv(path)
    for column in ("id", "playlist_id", "hashtag_info_list", "video_description", "view_count"):
        assert back[column].to_list() == videos[column].to_list(), column


def test_cli_writes_xlsx_and_excel_csv(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("xlsxwriter")
    monkeypatch.chdir(tmp_path)
    args = ("videos", "--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-01-31")
    assert _cli(served, *args, "--out", "v.xlsx")[0] == 0
    assert _cli(served, *args, "--out", "v.csv", "--for-excel")[0] == 0
    assert Path("v.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert io.read_table("v.xlsx")["id"].to_list() == io.read_table("v.csv")["id"].to_list()
    code, text, sent = _cli(served, *args, "--out", "v.parquet", "--for-excel")
    assert code == 2 and sent == 0, text


def test_a_results_own_write_excel_keeps_every_id_exact(tmp_path: Path) -> None:
    """``fetch_videos(...).write_excel(path)`` was polars' writer: ids as numbers, which a
    workbook holds to 15 digits (7320768158545159950 read back as 7320768158545160192)."""
    pytest.importorskip("xlsxwriter")
    pytest.importorskip("fastexcel")
    result = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-01-31", client=tr.Client.sandbox(),
                             progress=False)  # fmt: skip
    assert result.height > 0
    assert result.write_excel(tmp_path / "v.xlsx") is None
    back = io.read_table(tmp_path / "v.xlsx")
    assert back["id"].to_list() == result["id"].to_list()
    assert back["music_id"].to_list() == result["music_id"].to_list()


def test_xlsx_without_the_excel_extra_is_refused_before_any_request(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--out v.xlsx`` without xlsxwriter paid for the whole collection, then failed at the
    write (exit 1, "run again with --debug")."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "xlsxwriter", None)  # as if not installed
    args = ("videos", "--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-01-31")
    code, text, sent = _cli(served, *args, "--out", "v.xlsx")
    assert sent == 0, text
    assert "pip install 'tiktok-research[excel]'" in text, text
    assert code == 1 and "Traceback" not in text and "--debug" not in text, text
    assert not Path("v.xlsx").exists() and not list(tmp_path.rglob("pages-*"))
    # the result's own writer names the extra too (polars said "pip install xlsxwriter")
    result = tr.FetchResult.wrap(
        schemas.cast(pl.DataFrame({"id": [int(ID)]}), "videos"), tr.CollectionReport("video_query")
    )
    with pytest.raises(MissingDependencyError) as caught:
        result.write_excel("w.xlsx")
    assert caught.value.extra == "excel"


# ------------------------------------------------------------------------ 7. JSON output


def test_json_lines_carry_ids_as_strings_and_read_back_exactly(
    videos: pl.DataFrame, tmp_path: Path
) -> None:
    path = io.write_ndjson(videos, tmp_path / "v.jsonl")
    assert path is not None
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first["id"] == str(videos["id"][0])
    tagged = next(r for r in videos.iter_rows(named=True) if r["hashtag_info_list"])
    line = next(
        json.loads(t) for t in path.read_text(encoding="utf-8").splitlines()
        if json.loads(t)["id"] == str(tagged["id"])
    )  # fmt: skip
    assert line["hashtag_info_list"][0]["hashtag_id"] == str(
        tagged["hashtag_info_list"][0]["hashtag_id"]
    )
    assert isinstance(first["view_count"], int), "counts stay numbers"
    back = io.read_table(path)
    assert back.equals(schemas.cast(videos, "videos"))


def test_nested_ids_in_csv_are_strings(videos: pl.DataFrame, tmp_path: Path) -> None:
    path = io.write_csv(videos, tmp_path / "v.csv")
    text = path.read_text(encoding="utf-8")
    tagged = next(r for r in videos.iter_rows(named=True) if r["hashtag_info_list"])
    hid = tagged["hashtag_info_list"][0]["hashtag_id"]
    assert f'""hashtag_id"":""{hid}""' in text
    assert io.read_csv(path)["hashtag_info_list"].to_list() == videos["hashtag_info_list"].to_list()


# ----------------------------------------------------------------- 8. polars' own write_csv


def test_a_fetch_result_writes_csv_in_the_package_convention(tmp_path: Path) -> None:
    """Item 8: `videos.write_csv("v.csv")` failed with "CSV format does not support nested
    data" and no pointer."""
    v = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-01-31", client=tr.Client.sandbox(),
                        progress=False)  # fmt: skip
    v.write_csv(tmp_path / "v.csv")
    assert io.read_csv(tmp_path / "v.csv").equals(schemas.cast(pl.DataFrame(v), "videos"))
    plain = v.filter(pl.col("view_count") >= 0)  # a derived frame is polars' own
    with pytest.raises(Exception, match="nested"):
        plain.write_csv(tmp_path / "p.csv")


# ------------------------------------------------ the maintain commands, under the same rules


def test_hydrate_compliance_and_refresh_write_under_the_same_rules(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--out - gives JSON lines on stdout (lists of ids on stderr); an existing file is not
    replaced; the same command run twice replaces its own output and sends nothing more."""
    monkeypatch.chdir(tmp_path)
    url, _ = served
    env = {"TIKTOK_RESEARCH_BASE_URL": url, "TIKTOK_CLIENT_KEY": "sandbox",
           "TIKTOK_CLIENT_SECRET": "sandbox"}  # fmt: skip
    code, _, _ = _cli(served, "videos", "--hashtag", "climate", "--start", "2024-01-01",
                      "--end", "2024-01-31", "--out", "v.parquet")  # fmt: skip
    assert code == 0
    ids = [str(i) for i in pl.read_parquet("v.parquet")["id"].to_list()[:5]]
    missing = "7000000000000000001"
    runs = {
        "hydrate": ["hydrate", *ids, missing],
        "compliance": ["compliance", *ids],
        "refresh": ["refresh", "v.parquet"],
    }
    for name, args in runs.items():
        result = CliRunner().invoke(app, [*args, "--out", "-", "--no-progress"], env=env)
        assert result.exit_code == 0, (name, result.output)
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert rows and all(isinstance(r["id"], str) for r in rows), name
        assert {r["id"] for r in rows} <= {*ids, *pl.read_parquet("v.parquet")["id"].cast(
            pl.String).to_list()}, name  # fmt: skip
        if name == "hydrate":
            assert missing in result.stderr and missing not in result.stdout
        # a file: written once, refused when it is someone else's, replaced by a rerun
        Path(f"{name}.csv").write_text("mine\n")
        code, text, sent = _cli(served, *args, "--out", f"{name}.csv")
        assert code == 2 and "--overwrite" in text and sent == 0, (name, text)
        assert Path(f"{name}.csv").read_text() == "mine\n"
        if name != "hydrate":  # a compliance check and a refresh ask anew each time
            continue
        assert _cli(served, *args, "--out", f"{name}.jsonl")[0] == 0
        first = io.read_table(f"{name}.jsonl")
        code, text, sent = _cli(served, *args, "--out", f"{name}.jsonl")
        assert code == 0, (name, text)
        assert io.read_table(f"{name}.jsonl").equals(first), name
        assert sent == 0, (name, sent)
    assert pl.read_parquet("v.parquet")["id"].n_unique() > 0, "--out: the table itself untouched"


def test_update_videos_over_an_overlapping_dataset_holds_each_id_once(tmp_path: Path) -> None:
    """Item 2 for update_videos: its days overlap what a collection put in the folder."""
    from datetime import UTC, datetime

    sb = Sandbox(SandboxConfig(clock_start=datetime(2024, 3, 10, tzinfo=UTC)))
    client = tr.Client.sandbox(sb)
    root = tmp_path / "videos"
    tr.fetch_videos(CLIMATE, "2024-02-01", "2024-03-01", client=client, dataset=root,
                    archive=tmp_path / "a", progress=False)  # fmt: skip
    new = tr.update_videos(CLIMATE, root, start_date="2024-02-15", client=client,
                           archive=tmp_path / "a", progress=False)  # fmt: skip
    assert new.report.complete and new.height > 0
    held = _ids_once(root)
    direct = tr.fetch_videos(CLIMATE, "2024-02-01", str(new.report.last), client=client,
                             progress=False)  # fmt: skip
    assert held == sorted(direct["id"].to_list())


def test_an_empty_result_never_replaces_a_table_with_rows(tmp_path: Path) -> None:
    from tiktok_research.cli._output import check_output, write_table

    rows = schemas.cast(pl.DataFrame({"username": ["a", "b"]}), "users")
    target = check_output(tmp_path / "u.parquet").claim("users", "the same plan")
    assert write_table(rows, target, "users") is not None
    stamp = (tmp_path / "u.parquet").read_bytes()
    again = check_output(tmp_path / "u.parquet").claim("users", "the same plan")
    assert write_table(rows.clear(), again, "users") is None, "nothing written"
    assert (tmp_path / "u.parquet").read_bytes() == stamp
    forced = check_output(tmp_path / "u.parquet", overwrite=True).claim("users", "the same plan")
    assert write_table(rows.clear(), forced, "users") is not None
    assert pl.read_parquet(tmp_path / "u.parquet").height == 0


def test_a_dataset_write_interrupted_at_any_step_leaves_each_id_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All or nothing: a write stopped before its commit record leaves the dataset as it was; one
    stopped after it is finished by the next reader or writer."""
    from tiktok_research import _dataset

    def rows(ids: list[int], views: int) -> pl.DataFrame:
        return schemas.cast(pl.DataFrame({"id": ids, "create_time": [1704499196] * len(ids),
                                          "view_count": [views] * len(ids)}), "videos")  # fmt: skip

    real_apply, real_stage = _dataset._apply, _dataset._stage
    for step in ("staging", "moves"):
        root = tmp_path / step
        io.write_dataset(rows([1, 2, 3], 1), root, table="videos", run_id="a")

        def boom(*args: object, **kwargs: object) -> None:
            raise OSError(28, "No space left on device")

        def half(root_: Path, record: dict[str, object]) -> None:
            moves = list(record["moves"])  # type: ignore[call-overload]
            real_apply(root_, {"moves": moves[:1], "deletes": []})
            raise KeyboardInterrupt  # killed after the first move

        monkeypatch.setattr(_dataset, "_stage", boom if step == "staging" else real_stage)
        monkeypatch.setattr(_dataset, "_apply", half if step == "moves" else real_apply)
        # a full disk is an ArchiveError naming the dataset (attack5: it named no file)
        with pytest.raises((tr.errors.ArchiveError, KeyboardInterrupt)):
            io.write_dataset(rows([2, 3, 4], 2), root, table="videos", run_id="b")
        monkeypatch.setattr(_dataset, "_stage", real_stage)
        monkeypatch.setattr(_dataset, "_apply", real_apply)
        got = io.read_dataset(root, table="videos").collect().sort("id")
        if step == "staging":
            assert got["view_count"].to_list() == [1, 1, 1], "the dataset as it was"
        else:
            assert got["id"].to_list() == [1, 2, 3, 4], "finished by the next reader"
            assert got["view_count"].to_list() == [1, 2, 2, 2]
        assert _ids_once(root) == got["id"].to_list()
        leftovers = [p.name for p in root.rglob("*") if "tiktok-research-" in p.name
                     and p.name != ".tiktok-research.lock"]  # fmt: skip
        assert not leftovers, leftovers


def test_select_out_dash_prints_the_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    v = schemas.cast(pl.DataFrame({"id": [7320768158545159950], "comment_count": [3]}), "videos")
    io.write_parquet(v, "v.parquet", table="videos")
    result = CliRunner().invoke(app, ["select", "video-ids", "v.parquet", "--out", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["7320768158545159950"]
    assert not Path("-").exists()
