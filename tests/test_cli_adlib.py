"""The ad library's commands (ads, ad-details, ad-report, advertisers, commercial-content) on the
built-in sandbox: tables written, mistakes exit 2 before any request, dry runs, resume."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tiktok_research import io, schemas
from tiktok_research.cli import EXIT_INVALID, app

CACHE = "TIKTOK_RESEARCH_CACHE_DIR"  # conftest points it at the test's folder

runner = CliRunner()
COMMON = ["--sandbox", "--no-progress"]


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--archive", str(tmp_path / "archive")])
    return result.exit_code, result.output


def test_help_lists_the_ad_library_commands() -> None:
    out = runner.invoke(app, ["--help"]).output
    for command in ("ads", "ad-details", "ad-report", "advertisers", "commercial-content"):
        assert command in out
    for command in ("ads", "ad-details", "ad-report", "advertisers", "commercial-content"):
        assert "Examples" in runner.invoke(app, [command, "--help"]).output


@pytest.mark.filterwarnings("ignore:.*stay searchable:UserWarning")
def test_every_command_writes_its_table(tmp_path: Path) -> None:
    ads_csv = tmp_path / "ads.csv"
    code, out = run(tmp_path, "ads", *COMMON, "--start", "2024-06-01", "--end", "2024-06-30",
                    "--country", "FR", "--country", "DE", "--out", str(ads_csv))  # fmt: skip
    assert code == 0, out
    ads = io.read_csv(ads_csv, table="ads")
    assert ads.height > 10 and ads["ad_id"].max() > 2**53  # exact through CSV
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(str(i) for i in ads["ad_id"].head(3)))
    code, out = run(tmp_path, "ad-details", *COMMON, "--from-file", str(ids),
                    "--out", str(tmp_path / "d.parquet"))  # fmt: skip
    assert code == 0, out
    details = pl.read_parquet(tmp_path / "d.parquet")
    assert details.schema == schemas.AD_DETAILS
    assert details["ad_id"].to_list() == ads["ad_id"].head(3).to_list()
    report = str(tmp_path / "r.parquet")
    code, out = run(tmp_path, "ad-report", *COMMON, "--start", "2024-06-01", "--end",
                    "2024-06-30", "--country", "FR", "--out", report)  # fmt: skip
    assert code == 0, out
    assert pl.read_parquet(tmp_path / "r.parquet").schema == schemas.AD_REPORTS
    code, out = run(tmp_path, "advertisers", *COMMON, "coffee", "bank",
                    "--out", str(tmp_path / "a.parquet"))  # fmt: skip
    assert code == 0, out
    assert set(pl.read_parquet(tmp_path / "a.parquet")["search_term"]) == {"coffee", "bank"}
    code, out = run(tmp_path, "commercial-content", *COMMON, "--start", "2024-01-01", "--end",
                    "2024-03-31", "--out", str(tmp_path / "c.parquet"))  # fmt: skip
    assert code == 0, out
    content = pl.read_parquet(tmp_path / "c.parquet")
    assert content.schema == schemas.COMMERCIAL_CONTENT and content.height > 10
    # the same command again: everything from the archive, nothing asked
    code, out = run(tmp_path, "commercial-content", *COMMON, "--start", "2024-01-01", "--end",
                    "2024-03-31", "--out", str(tmp_path / "c2.parquet"))  # fmt: skip
    assert code == 0 and "this run: 0 requests sent, 0 charged" in out
    assert pl.read_parquet(tmp_path / "c2.parquet").equals(content)


@pytest.mark.filterwarnings("ignore:.*stay searchable:UserWarning")
def test_ids_are_exact_in_pandas_and_duckdb(tmp_path: Path) -> None:
    """The ids of the tables the commands write (19 digits, past 2**53) come back exact from
    pandas with its defaults and from DuckDB, from Parquet and from CSV."""
    pd = pytest.importorskip("pandas")
    duckdb = pytest.importorskip("duckdb")
    runs = {
        "ads": ["ads", "--start", "2024-06-01", "--end", "2024-06-30", "--country", "DE"],
        "advertisers": ["advertisers", "coffee", "bank"],
        "content": ["commercial-content", "--start", "2024-01-01", "--end", "2024-03-31"],
    }
    for name, args in runs.items():
        for ext in ("parquet", "csv"):
            code, out = run(tmp_path, *args, *COMMON, "--out", str(tmp_path / f"{name}.{ext}"))
            assert code == 0, out
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(map(str, pl.read_parquet(tmp_path / "ads.parquet")["ad_id"][:5])))
    for ext in ("parquet", "csv"):
        code, out = run(tmp_path, "ad-details", *COMMON, "--from-file", str(ids),
                        "--out", str(tmp_path / f"details.{ext}"))  # fmt: skip
        assert code == 0, out
    checked = 0
    for name, cols in {"ads": ["ad_id", "business_id"], "details": ["ad_id", "business_id"],
                       "advertisers": ["business_id"]}.items():  # fmt: skip
        truth = pl.read_parquet(tmp_path / f"{name}.parquet")
        for col in cols:
            want = truth[col].to_list()
            assert max(want) > 2**53, (name, col)  # floats would round these
            for ext in ("parquet", "csv"):
                path = tmp_path / f"{name}.{ext}"
                frame = pd.read_parquet(path) if ext == "parquet" else pd.read_csv(path)
                assert frame[col].dtype.kind in "iu" or str(frame[col].dtype) == "Int64"
                assert [int(v) for v in frame[col]] == want, (name, col, ext)
                reader = "read_parquet" if ext == "parquet" else "read_csv"
                got = duckdb.sql(f"select {col} from {reader}('{path}')").fetchall()
                assert [int(r[0]) for r in got] == want, (name, col, ext, "duckdb")
                checked += 1
    # the videos of commercial content: nested Research API video ids, exact in DuckDB
    content = pl.read_parquet(tmp_path / "content.parquet")
    want = content.explode("videos")["videos"].struct.field("id").to_list()
    got = duckdb.sql(
        f"select unnest(videos).id from read_parquet('{tmp_path / 'content.parquet'}')"
    ).fetchall()
    assert [r[0] for r in got] == want and max(want) > 2**53
    assert checked == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ads", "--start", "2022-01-01", "--end", "2024-01-01"], "before 2022-10-01"),
        (["ads", "--start", "2024-01-01", "--end", "2024-02-01", "--country", "US"],
         "US not covered"),
        (["ads", "--start", "2024-01-01", "--end", "2024-02-01", "--reach-min", "2000K"],
         "2000K"),
        (["ads", "--start", "2024-01-01", "--end", "2024-02-01", "--search-type", "x"],
         "exact_phrase"),
        (["ad-details", "1.5"], "not an id"),
        (["ad-report", "--start", "2024-02-01", "--end", "2024-01-01"], "reversed"),
        (["advertisers", "x" * 51], "at most 50"),
        (["commercial-content", "--start", "2024-01-01", "--end", "2024-02-01", "--country",
          "CH"], "EEA only"),
        (["ads", "--start", "2024-01-01", "--end", "2024-02-01", "--out", "ads.docx"],
         "docx"),
    ],
)  # fmt: skip
def test_mistakes_exit_2_before_any_request_even_without_credentials(
    tmp_path: Path, args: list[str], message: str
) -> None:
    code, out = run(tmp_path, *args)  # no --sandbox, no credentials
    assert code == EXIT_INVALID, out
    assert message in out
    assert "Traceback" not in out
    assert not (tmp_path / "archive").exists()


@pytest.mark.filterwarnings("ignore:.*stay searchable:UserWarning")
def test_dry_run_prints_the_plan_without_credentials(tmp_path: Path) -> None:
    code, out = run(tmp_path, "ads", "--start", "2023-01-01", "--end", "2024-06-30",
                    "--country", "FR", "--search-term", "shoes", "--dry-run")  # fmt: skip
    assert code == 0, out
    assert "FR:20240101-20240630" in out and "FR:20230101-20231231" in out
    assert '"search_term": "shoes"' in out


@pytest.mark.slow
def test_the_guide_ad_library_examples_run_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ad library's page of the guide (docs/guide/ads.md): its Python blocks run in order
    (tests/test_guide.py runs the other pages), and its command lines name commands and options
    that exist."""
    import shlex
    import warnings

    from _guide import page, python_blocks

    section = page("ads.md")
    blocks = python_blocks(section)
    assert len(blocks) == 2 and all(why is None for _, _, why in blocks)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__guide__"}
    for line, code, _ in blocks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(code, f"docs/guide/ads.md:{line}", "exec"), namespace)
    assert namespace["joined"].height > 0  # type: ignore[attr-defined]
    # every fetch costs what its comment says, and the two blocks what the text above them says
    spent: dict[str, int] = {"adlib": 0, "research": 0}
    for _, code, _ in blocks:
        lines = code.splitlines()
        for node in ast.walk(ast.parse(code)):
            if not (isinstance(node, ast.Assign) and "tr.fetch_" in ast.unparse(node.value)):
                continue
            said = re.search(
                r"# (\d+) requests?\b", "\n".join(lines[node.lineno - 1 : node.end_lineno])
            )
            name = ast.unparse(node.targets[0])
            assert said is not None, f"docs/guide/ads.md: {name} = ... says no cost"
            paid = namespace[name].report.requests_spent  # type: ignore[attr-defined]
            assert paid == int(said.group(1)), (name, paid)
            spent["adlib" if "fetch_ad" in ast.unparse(node.value) or "commercial" in
                  ast.unparse(node.value) else "research"] += paid  # fmt: skip
    total = re.search(r"spend (\d+) requests of the ad library and (\d+) of the Research", section)
    assert total is not None and (int(total.group(1)), int(total.group(2))) == (
        spent["adlib"], spent["research"]), spent  # fmt: skip
    commands = section.split("```bash", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(commands) == 5
    for command in commands:
        args = shlex.split(command)[1:]
        with warnings.catch_warnings():  # the note on ads older than a year (2025 dates)
            warnings.simplefilter("ignore")
            result = runner.invoke(app, [*args, "--dry-run"]) if "--from-file" not in args else None
        if result is not None:
            assert result.exit_code == 0, (command, result.output)


ADLIB_COMMANDS = ("ads", "ad-details", "ad-report", "advertisers", "commercial-content")
SPENT = re.compile(r"this run: (\d+) requests? sent")
ROWS = re.compile(r"complete; ([\d,]+) rows?; (\d+)/\d+ tasks")


def help_examples(command: str) -> list[str]:
    """The command lines under ``Examples`` of ``command --help``, as a user would copy them."""
    page = runner.invoke(app, [command, "--help"], terminal_width=200).output
    block = page.split("Examples", 1)[1].split(":", 1)[1]
    lines = []
    for line in block.splitlines()[1:]:
        if not line.strip():
            break
        lines.append(line.strip())
    return lines


@pytest.mark.slow
def test_help_examples_run_as_written_and_cost_what_they_say(tmp_path: Path) -> None:
    """Every example of the five commands' --help runs in a shell as printed, for real on the
    sandbox, those written for the service with --sandbox added (before, they ran as a dry run
    only, and on the sandbox they returned 0 rows: their dates were of 2025, the sandbox's ads of
    2024): each returns rows, at one request per page of 50 or per item, never a page twice; the
    ad-details example costs the 1 + 10 requests its heading says."""
    env = {
        k: v for k, v in os.environ.items() if k == CACHE or not k.startswith("TIKTOK_")
    }  # the test's cache, not the user's
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONWARNINGS"] = "ignore"
    ran: dict[str, list[int]] = {}
    for command in ADLIB_COMMANDS:
        examples = help_examples(command)
        assert examples, command
        for n, line in enumerate(examples):
            sandbox = "--sandbox" in line or not line.startswith("tiktok-research")
            shell = line if sandbox else line.replace(f" {command} ", f" {command} --sandbox ", 1)
            # a line written for the service gets a folder of its own, so that it never meets
            # the output of the example before it (an existing output is refused)
            cwd = tmp_path if sandbox else (tmp_path / f"{command}-{n}")
            cwd.mkdir(exist_ok=True)
            done = subprocess.run(["bash", "-c", shell], cwd=cwd, env=env,
                                  capture_output=True, text=True, timeout=120)  # fmt: skip
            assert done.returncode == 0, (line, done.stdout, done.stderr)
            if not line.startswith("tiktok-research"):
                continue
            said = done.stdout + done.stderr  # the report: stdout, or stderr with --out -
            spent = int(SPENT.search(said).group(1))  # type: ignore[union-attr]
            found = ROWS.search(said)
            assert found is not None, (line, said)
            rows, tasks = int(found.group(1).replace(",", "")), int(found.group(2))
            assert rows > 0, (line, said)  # an example shows what the command gives
            ran.setdefault(command, []).append(spent)
            which = line.split()[1]  # the command of this line (ad-details' page runs ads first)
            if which in ("ads", "commercial-content"):  # a request per page of 50 of each search
                assert tasks <= spent <= tasks + rows // 50, (line, spent, rows, tasks)
            elif which == "ad-report":  # one request per year-long range (2024 has 366 days)
                assert spent == tasks, line
            elif which == "advertisers":
                assert spent == len(line.split("--sandbox", 1)[1].split()), line
            else:  # the heading's promise: one request per ad of the file
                assert spent == rows == 10, line
    assert ran["ad-details"] == [1, 10]  # the ads search, then one request per ad
    assert sorted(ran) == sorted(ADLIB_COMMANDS)


def test_the_retention_note_is_said_once(tmp_path: Path) -> None:
    """A search older than a year: the note is one line of the report (or of the plan), not a
    Python warning as well."""
    args = ["ads", *COMMON, "--start", "2024-01-01", "--end", "2024-01-31", "--country", "FR"]
    env = {
        k: v for k, v in os.environ.items() if k == CACHE or not k.startswith("TIKTOK_")
    }  # the test's cache, not the user's
    env["PYTHONWARNINGS"] = "default"
    for extra in ([], ["--dry-run"]):
        done = subprocess.run(
            [sys.executable, "-m", "tiktok_research", *args, *extra, "--archive",
             str(tmp_path / "archive"), "--out", str(tmp_path / f"ads{len(extra)}.parquet")],
            env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
        said = done.stdout + done.stderr
        assert done.returncode == 0, said
        assert said.count("stay searchable") == 1, said
