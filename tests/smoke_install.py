"""A smoke test of an installed package, run by the tests in a side environment (no pytest there).

``python tests/smoke_install.py core OUT``: collecting on the in-process sandbox, tables, Parquet,
CSV and polars summaries; it needs only the core dependencies.

``python tests/smoke_install.py extras-missing OUT``: where no extra is installed, each call that
needs an extra raises ``MissingDependencyError`` naming it (plots, the sandbox server, pandas,
DuckDB, Spark, Excel), and the command line says the same without a traceback (``--out v.xlsx``
before the first request).

``python tests/smoke_install.py floors OUT``: ``core`` plus pandas, DuckDB (``summarize`` on a
relation, ``summarize_sql``), plots, an ``.xlsx`` round trip, the sandbox served over HTTP and
every command's ``--help``, in the environment that ``scripts/bootstrap`` builds at the declared
lowest versions (``.venv-floors``). ``duckdb OUT``: ``core`` and the DuckDB checks only.

Each check prints one ``ok <name>`` line; the first failure raises (exit code 1) with its
traceback. Nothing here reaches the network: the sandbox runs in-process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

import tiktok_research as tr

QUERY = tr.Q.hashtag_name.eq("climate")
START, END = "2024-01-01", "2024-02-29"


def ok(name: str) -> None:
    sys.stdout.write(f"ok {name}\n")
    sys.stdout.flush()


def collect(out: Path) -> dict[str, Any]:
    """Videos, comments and users from the in-process sandbox, written to Parquet and CSV."""
    client = tr.Client.sandbox()
    archive = out / "archive"
    videos = tr.fetch_videos(QUERY, START, END, client=client, archive=archive, progress=False)
    assert videos.report.complete, videos.report
    assert videos.height > 0
    assert videos.schema == pl.Schema(tr.schemas.VIDEOS), videos.schema
    ok(f"collect videos ({videos.height} rows, {videos.report.requests_spent} requests)")
    ids = tr.select_video_ids(videos, min_comments=1, top=3)
    comments = tr.fetch_comments(ids, client=client, archive=archive, progress=False)
    assert comments.report.complete and comments.height > 0, comments.report
    names = tr.select_usernames(videos, top=3)
    users = tr.fetch_user_info(names, client=client, archive=archive, progress=False)
    assert users.height > 0, users.report
    ok(f"follow-ups ({comments.height} comments, {users.height} users)")

    tr.write_parquet(videos, out / "videos.parquet", table="videos")
    back = tr.read_table(out / "videos.parquet")
    assert_frame_equal(back, pl.DataFrame(videos))
    assert back["id"].dtype == pl.Int64
    tr.write_dataset(videos, out / "videos", table="videos")
    assert_frame_equal(
        tr.read_table(out / "videos").drop("create_month").sort("id"),
        pl.DataFrame(videos).sort("id"),
    )
    ok("parquet file and dataset")
    tr.write_csv(videos, out / "videos.csv")
    assert_frame_equal(tr.read_csv(out / "videos.csv", table="videos"), pl.DataFrame(videos))
    ok("csv round trip")
    merged = tr.merge_dumps(archive)
    assert set(merged["videos"]["id"]) == set(videos["id"])
    ok("merge_dumps of the archive")
    return {"videos": pl.DataFrame(videos), "comments": pl.DataFrame(comments)}


def summaries(tables: dict[str, Any]) -> pl.DataFrame:
    from tiktok_research import analysis

    videos = tables["videos"]
    monthly = analysis.summarize(videos, by="month")
    assert monthly.height == 2, monthly
    assert_frame_equal(analysis.summarize(videos.lazy(), by="month").collect(), monthly)
    assert analysis.top_hashtags(videos, n=3).height == 3
    assert analysis.comment_activity(tables["comments"]).height > 0
    ok("summaries on polars")
    return monthly


def core(out: Path) -> None:
    summaries(collect(out))


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "tiktok_research", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def extras_missing(out: Path) -> None:
    import importlib.util

    from tiktok_research.errors import MissingDependencyError, TikTokResearchError

    for module in (
        "matplotlib",
        "starlette",
        "uvicorn",
        "pandas",
        "duckdb",
        "pyspark",
        "xlsxwriter",
    ):
        assert importlib.util.find_spec(module) is None, f"{module} is installed: not a bare env"
    tables = collect(out)
    summaries(tables)
    videos = tables["videos"]

    def names_extra(extra: str, call: Any) -> None:
        try:
            call()
        except MissingDependencyError as exc:
            assert isinstance(exc, ImportError) and isinstance(exc, TikTokResearchError)
            assert f"tiktok-research[{extra}]" in str(exc), str(exc)
            assert exc.extra == extra
            ok(f"[{extra}] named: {exc}")
            return
        raise AssertionError(f"{call} did not raise MissingDependencyError")

    from tiktok_research import analysis, plots, sandbox

    names_extra("plots", lambda: plots.plot_engagement_over_time(videos))
    names_extra("sandbox", lambda: sandbox.run_server().__enter__())
    names_extra("pandas", lambda: tr.io.to_pandas(videos))
    names_extra("pandas", lambda: tr.io.to_pandas(videos))  # twice: no half-imported state
    names_extra("duckdb", lambda: analysis.summarize_sql(str(out / "videos.parquet")))
    names_extra("spark", lambda: tr.schemas.spark_schema("videos"))
    names_extra("excel", lambda: tr.io.write_excel(videos, out / "never.xlsx"))
    assert not (out / "never.xlsx").exists()
    # the command line finds it before the first request: no page is paid and then lost
    done = _run_cli(
        "videos", "--sandbox", "--hashtag", "food", "--start", START, "--end", END,
        "--out", "v.xlsx", "--archive", "xlsx-archive", "--no-progress",
        cwd=out,
    )  # fmt: skip
    assert done.returncode == 1 and "tiktok-research[excel]" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not list((out / "xlsx-archive").rglob("pages-*"))
    ok("CLI --out .xlsx: refused before any request")

    for args, extra in (
        (["sandbox", "serve", "--port", "0"], "sandbox"),
        (["demo", "--out", str(out / "demo")], "demo"),
    ):
        done = _run_cli(*args, cwd=out)
        assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        assert f"tiktok-research[{extra}]" in done.stderr, done.stderr
        ok(f"CLI {args[0]}: {done.stderr.strip().splitlines()[0]}")


def duckdb_only(out: Path) -> None:
    """The DuckDB checks alone (run again with another DuckDB version)."""
    tables = collect(out)
    _duckdb(out, tables["videos"], summaries(tables))


def _duckdb(out: Path, videos: pl.DataFrame, monthly: pl.DataFrame) -> None:
    import duckdb

    from tiktok_research import analysis

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rel = con.read_parquet(str(out / "videos.parquet"))
    got = analysis.summarize(rel, by="month")
    assert type(got).__name__ == "DuckDBPyRelation", type(got)
    engine = got.pl().with_columns(pl.col(pl.Datetime).dt.convert_time_zone("UTC"))
    assert_frame_equal(engine, monthly, check_dtypes=False)
    ok(f"duckdb {duckdb.__version__}: summarize on a relation")
    sql = analysis.summarize_sql(str(out / "videos.parquet"), by="month")
    assert_frame_equal(sql.pl(), monthly, check_dtypes=False, check_column_order=False)
    sql_ds = analysis.summarize_sql(str(out / "videos" / "**" / "*.parquet"), by="month")
    assert sql_ds.pl()["videos"].sum() == videos.height
    ok(f"duckdb {duckdb.__version__}: summarize_sql")
    exact = con.sql(f"SELECT id FROM read_parquet('{out / 'videos.parquet'}')").pl()
    assert exact["id"].to_list() == videos["id"].to_list()
    ok("duckdb reads exact ids")


def floors(out: Path) -> None:
    import pandas as pd

    from tiktok_research import analysis

    tables = collect(out)
    monthly = summaries(tables)
    videos = tables["videos"]

    pdf = tr.io.to_pandas(videos)
    assert str(pdf["id"].dtype) == "int64[pyarrow]", pdf.dtypes
    assert pdf["id"].tolist() == videos["id"].to_list()
    from_pandas = analysis.summarize(pdf, by="month")
    assert isinstance(from_pandas, pd.DataFrame)
    assert_frame_equal(pl.from_pandas(from_pandas), monthly, check_dtypes=False)
    ok(f"pandas {pd.__version__}: exact ids, summaries")

    _duckdb(out, videos, monthly)

    import matplotlib

    matplotlib.use("Agg")
    from tiktok_research import plots

    ax = plots.plot_engagement_over_time(videos, by="week")
    ax.figure.savefig(out / "engagement.png")
    plots.plot_views_vs_likes(videos).figure.savefig(out / "views_likes.png")
    assert (out / "engagement.png").stat().st_size > 1000
    ok(f"matplotlib {matplotlib.__version__}: plots")

    import fastexcel
    import xlsxwriter

    tr.io.write_excel(videos, out / "videos.xlsx")
    back = tr.io.read_table(out / "videos.xlsx", table="videos")
    assert back["id"].to_list() == videos["id"].to_list()
    assert back["music_id"].to_list() == videos["music_id"].to_list()
    ok(f"xlsxwriter {xlsxwriter.__version__}, fastexcel {fastexcel.__version__}: xlsx round trip")

    from tiktok_research.sandbox import run_server

    with run_server() as (url, _):
        client = tr.Client("sandbox", "sandbox", base_url=url, ledger=str(out / "ledger"))
        over_http = tr.fetch_videos(QUERY, START, END, client=client, progress=False)
    assert_frame_equal(pl.DataFrame(over_http).sort("id"), videos.sort("id"))
    ok("the sandbox served over HTTP (starlette, uvicorn), collected with httpx")

    done = _run_cli("--help", cwd=out)
    assert done.returncode == 0 and "Exit codes" in done.stdout, (done.stdout, done.stderr)
    # every command's options are built and its help shown (in process: one typer app)
    from typer.main import get_command
    from typer.testing import CliRunner

    from tiktok_research.cli import app

    def paths(group: Any, prefix: list[str]) -> list[list[str]]:
        found = []
        for name, cmd in group.commands.items():  # a group (click's, or typer's own since 0.29)
            found.append([*prefix, name])
            if hasattr(cmd, "commands"):
                found += paths(cmd, [*prefix, name])
        return found

    commands = paths(get_command(app), [])
    assert ["videos"] in commands and ["sandbox", "serve"] in commands, commands
    for command in commands:
        shown = CliRunner().invoke(app, [*command, "--help"])
        assert shown.exit_code == 0, (command, shown.output, shown.exception)
    done = _run_cli(
        "videos", "--sandbox", "--hashtag", "climate", "--start", START, "--end", END,
        "--out", "cli.parquet", "--archive", "cli-archive",
        cwd=out,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert_frame_equal(pl.read_parquet(out / "cli.parquet").sort("id"), videos.sort("id"))
    ok(f"command line: --help of {len(commands)} commands, videos --sandbox")


def main(argv: list[str]) -> int:
    mode, out = argv[0], Path(argv[1])
    out.mkdir(parents=True)  # a new folder: a dataset written twice would hold every row twice
    modes = {"core": core, "extras-missing": extras_missing, "floors": floors}
    {**modes, "duckdb": duckdb_only}[mode](out)
    sys.stdout.write(f"smoke {mode}: all ok\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
