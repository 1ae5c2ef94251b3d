"""Session 6's outside pass: the README, the guide and the ``--help`` examples run as a newcomer
runs them, in order and twice, against a sandbox served on 127.0.0.1 (requests counted at the
server), and the files they write opened in the readers users have.

Each test here failed on main 983d0bc.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import tiktok_research as tr
from _sandboxes import new_sandbox
from _servers import invoke_served
from tiktok_research.cli import app
from tiktok_research.sandbox import Sandbox

pytestmark = [pytest.mark.http, pytest.mark.filterwarnings("default")]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Sandbox]]:
    from tiktok_research.sandbox import run_server

    with run_server(new_sandbox(validation_processing_seconds=0)) as (url, sb):
        yield url, sb


_cli = invoke_served  # exit code, output, requests that reached the sandbox (tokens too)


def test_an_archive_that_holds_a_compliance_check_merges_into_its_tables(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`compliance` and `refresh` (examples of the CLI page) write their checks into the default
    archive; `merge tiktok-archive/` then stopped with "unknown endpoint 'validation_create'"
    (exit 2, nothing merged), and so did the guide's `tr.merge_dumps("archive/")` on a newcomer's
    second pass through the guide (the keeping-current page had run a refresh into archive/)."""
    monkeypatch.chdir(tmp_path)
    period = ("--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-01-31")
    assert _cli(served, "videos", *period, "--out", "videos.parquet")[0] == 0
    assert _cli(served, "dehydrate", "videos.parquet", "--out", "ids.txt")[0] == 0
    code, text, _ = _cli(served, "compliance", "--from-file", "ids.txt", "--out", "valid.csv")
    assert code == 0, text
    code, text, sent = _cli(served, "refresh", "videos.parquet")
    assert code == 0 and sent > 0, text
    videos = pl.read_parquet("videos.parquet")

    code, text, sent = _cli(served, "merge", "tiktok-archive/", "--out", "merged/")
    assert code == 0, text
    assert sent == 0
    assert "unknown endpoint" not in text, text
    merged = pl.read_parquet("merged/videos.parquet")
    assert sorted(merged["id"]) == sorted(videos["id"])  # each video once, none lost
    assert "compliance check" in text, text  # what was left out is said

    code, text, _ = _cli(served, "merge", "tiktok-archive/", "--dataset", "merged-ds")
    assert code == 0, text
    assert sorted(tr.io.read_dataset("merged-ds/videos").collect()["id"]) == sorted(videos["id"])

    result = tr.merge_dumps("tiktok-archive/")  # the guide's archive page, in Python
    assert sorted(result["videos"]["id"]) == sorted(videos["id"])


def test_the_follow_ups_page_states_the_sum_of_its_bounds() -> None:
    """The follow-ups page said its calls cost "about 50 requests in all" at most; the bounds its
    comments give add up to 40 (and the guide session spends 34 there)."""
    import re

    from _guide import page, python_blocks

    text = page("follow-ups.md")
    code = python_blocks(text)[0][1]
    bounds = []
    for line in code.splitlines():
        comment = line.partition("  # ")[2]
        found = re.match(r"\s*(?:<= ?)?(\d+)\b", comment)
        if found:
            bounds.append(int(found.group(1)))
    assert len(bounds) == 9, bounds  # every call with a cost says it
    stated = re.search(r"costs at most \((\d+) requests in all", text)
    assert stated is not None, text[:300]
    assert int(stated.group(1)) == sum(bounds)


@pytest.mark.slow
def test_the_workshop_storm_shows_the_statuses_the_page_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workshops page's 500 storm, run as written (its server's options, its command), shows
    the statuses its comment quotes: the page said "200": 17; a server started as the page says
    shows 16 (the command's token and its 15 pages), the same on every run (--fault-seed 1)."""
    import json
    import re
    import shlex

    import httpx

    from _guide import page
    from _servers import sandbox_server

    text = page("workshops.md")
    block = re.search(r"## A 500 storm.*?```bash\n(.*?)```", text, re.S)
    assert block is not None
    serve, collect, curl = block.group(1).strip().splitlines()
    quoted = re.search(r'"statuses": (\{.*?\})', curl)
    assert quoted is not None, curl
    serve_args = shlex.split(serve)[3:]  # after "tiktok-research sandbox serve"
    args = shlex.split(collect)[1:]
    monkeypatch.chdir(tmp_path)
    with sandbox_server(*serve_args) as server:
        env = {"TIKTOK_RESEARCH_BASE_URL": server.url, "TIKTOK_CLIENT_KEY": "sandbox",
               "TIKTOK_CLIENT_SECRET": "sandbox"}  # fmt: skip
        # what the helper's own start-up check asked is not the user's: only the command counts
        before = httpx.get(server.url + "/_sandbox/stats", timeout=30).json()["statuses"]
        result = CliRunner().invoke(app, [*args, "--no-progress"], env=env)
        assert result.exit_code == 0, result.output
        after = httpx.get(server.url + "/_sandbox/stats", timeout=30).json()["statuses"]
    shown = {code: n - before.get(code, 0) for code, n in after.items()}
    assert shown == json.loads(quoted.group(1)), (shown, curl)


def test_the_sample_line_the_data_quality_page_quotes_is_what_it_prints() -> None:
    """The data-quality page quoted the sample's line as "...over 6 strata; 6 request(s)"; the
    report says "...over 6 strata; this run: 6 requests sent to video_query, 6 charged"."""
    from _guide import page
    from tiktok_research.sandbox import Sandbox, SandboxConfig

    quoted = next(
        line for line in page("data-quality.md").splitlines() if line.startswith("print(s)")
    )
    said = quoted.split("# ", 1)[1].removesuffix("...").strip()
    lab = Sandbox(SandboxConfig.realistic())  # a fresh one, as the page's first use of it
    q = tr.Q.region_code.isin(["US", "GB"])
    sizes = lab.truth.query(q, "2024-01-01", "2024-03-31").strata("month", ["region_code"])
    s = tr.sample_videos(q, "2024-01-01", "2024-03-31", per="month", n=50,
                         strata=["region_code"], sizes=sizes, client=tr.Client.sandbox(lab),
                         progress=False)  # fmt: skip
    assert str(s).splitlines()[0].startswith(said), (str(s), said)


def test_a_compliance_or_audit_output_reads_back_with_its_own_columns(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`compliance --out valid.csv` and `audit --out audit.csv` (examples of the CLI page) wrote
    tables that `tr.io.read_table` (the reading-output page: "any file the package or the CLI
    wrote") read as comments tables: the one column in common kept, `valid` or the audit's
    columns dropped with a warning about "comments", the comment columns added as nulls; and
    `select video-ids valid.csv` took the null `video_id` column and printed no id (exit 0)."""
    monkeypatch.chdir(tmp_path)
    period = ("--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-01-31")
    assert _cli(served, "videos", *period, "--out", "videos.parquet")[0] == 0
    ids = sorted(pl.read_parquet("videos.parquet")["id"].to_list())
    assert _cli(served, "dehydrate", "videos.parquet", "--out", "ids.txt")[0] == 0
    code, text, _ = _cli(served, "compliance", "--from-file", "ids.txt", "--out", "valid.csv")
    assert code == 0, text
    code, text, _ = _cli(served, "audit", "--from-file", "ids.txt", "--out", "audit.csv")
    assert code == 0, text

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "comments: unknown field(s) valid"
        valid = tr.io.read_table("valid.csv")
        audit = tr.io.read_table("audit.csv")
    assert valid.columns == ["id", "valid"]
    assert valid.schema["id"] == pl.Int64 and sorted(valid["id"].to_list()) == ids  # exact
    assert set(valid["valid"].to_list()) == {"true"}
    assert audit.columns[:2] == ["id", "round"] and "found" in audit.columns
    assert sorted(audit["id"].to_list()) == ids

    for table in ("valid.csv", "audit.csv"):
        code, text, _ = _cli(served, "select", "video-ids", table)
        assert code == 0, text
        assert sorted(int(line) for line in text.split()) == ids, (table, text)


def test_an_item_that_never_got_an_answer_is_listed_without_a_log_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the service unreachable, the failed item's line ended "(log_id None)"."""
    import time

    from tiktok_research import client as client_module

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(client_module.time, "sleep", lambda s: None)  # the retries' waits
    env = {"TIKTOK_RESEARCH_BASE_URL": "http://127.0.0.1:9", "TIKTOK_CLIENT_KEY": "sandbox",
           "TIKTOK_CLIENT_SECRET": "sandbox"}  # fmt: skip
    started = time.monotonic()
    result = CliRunner().invoke(app, ["users", "nobody", "--out", "u.csv", "--no-progress"],
                                env=env)  # fmt: skip
    assert result.exit_code == 5, result.output
    assert "nobody: connect:" in result.output, result.output
    assert "log_id None" not in result.output
    assert time.monotonic() - started < 10  # no real wait


def test_one_id_gone_is_said_in_the_singular(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`compliance` with one id gone said "1 are gone"."""
    monkeypatch.chdir(tmp_path)
    period = ("--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-01-31")
    assert _cli(served, "videos", *period, "--out", "videos.parquet")[0] == 0
    ids = pl.read_parquet("videos.parquet")["id"].head(3).to_list()
    unknown = 7320768196569599999  # no such video: the check finds it gone
    items = "".join(f"{i}\n" for i in [*ids, unknown])
    code, text, _ = _cli(served, "compliance", "--from-file", "-", "--out", "valid.csv",
                         stdin=items)  # fmt: skip
    assert code == 0, text
    assert "3 of the 4 video ids are still valid; 1 is gone (deleted" in text, text
