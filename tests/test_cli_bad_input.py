"""A table of bad ``tiktok-research`` invocations, run through the real entry point.

Each row is run in a subprocess, as a user runs it, and must end with: no Python traceback, the
documented exit code, a message that names the problem, and no request reaching the service.
Rows of collection commands run twice: against the sandbox served over HTTP
(``TIKTOK_RESEARCH_BASE_URL``, credentials sandbox/sandbox; the requests are counted at the server)
and with ``--sandbox`` (the in-process sandbox of the command).

To add a case, append a :class:`Bad` to ``CASES``. In ``args``, ``{data}`` is a folder of prepared
files (see :func:`data`) and ``{tmp}`` the empty working folder of the run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from _sandboxes import new_client, new_sandbox
from tiktok_research import io, schemas
from tiktok_research.fetch import fetch_videos
from tiktok_research.query import Q

pytestmark = pytest.mark.http

OK, UNEXPECTED, INVALID, INCOMPLETE, AUTH, SERVICE = 0, 1, 2, 3, 4, 5
DATES = ("--start", "2024-01-01", "--end", "2024-01-31")
ID = "7320768158545159950"
LONG = "x" * 5000


@dataclass(frozen=True)
class Bad:
    """One bad invocation and what it must give."""

    id: str
    args: tuple[str, ...]
    code: int
    says: tuple[str, ...]  # each must appear in the output (case-insensitive)
    collects: bool = True  # a collection command: also run with --sandbox, and over HTTP
    credentials: bool = True  # False: run with no credentials and no --sandbox
    stdin: str = ""
    sent: int = 0  # requests that may reach the server (only rejected credentials need one)


def V(*extra: str) -> tuple[str, ...]:
    """A videos command with a valid query and dates, plus ``extra``."""
    return ("videos", "--hashtag", "cats", *DATES, *extra)


CASES: list[Bad] = [
    # --- the query
    Bad("query-bad-json", ("videos", "--query", "{bad", *DATES), INVALID,
        ("not valid json", "column 2")),
    Bad("query-missing-file", ("videos", "--query", "missing.json", *DATES), INVALID,
        ("missing.json", "no such file")),
    Bad("query-plain-word", ("videos", "--query", "climate", *DATES), INVALID,
        ("--keyword climate", "json")),
    Bad("query-folder", ("videos", "--query", "{data}/adir/", *DATES), INVALID, ("folder",)),
    Bad("query-file-bad-json", ("videos", "--query", "{data}/bad.json", *DATES), INVALID,
        ("bad.json", "not valid json", "line 2 column 22")),
    Bad("query-json-list", ("videos", "--query", "[1, 2]", *DATES), INVALID, ("must be a dict",)),
    Bad("query-key-case", ("videos", "--query", '{"AND": []}', *DATES), INVALID,
        ("did you mean 'and'",)),
    Bad("query-empty", ("videos", "--query", '{"and": []}', *DATES), INVALID, ("empty",)),
    Bad("query-5000-chars", ("videos", "--query", LONG, *DATES), INVALID, ("--query takes json",)),
    Bad("hashtag-5000-chars", ("videos", "--hashtag", LONG, *DATES), INVALID, ("too long",)),
    Bad("query-and-bad-region", ("videos", "--query", "{data}/good.json", "--region", "UK",
                                 *DATES), INVALID, ("'uk'", "gb")),
    Bad("no-conditions", ("videos", *DATES), INVALID, ("no query", "--hashtag")),
    Bad("region-typo", ("videos", "--region", "UK", *DATES), INVALID, ("gb",)),
    Bad("unknown-field", V("--fields", "id,nosuch"), INVALID, ("nosuch",)),
    # --- dates and numbers
    Bad("start-not-a-date", ("videos", "--hashtag", "x", "--start", "yesterday", "--end",
                             "2024-01-31"), INVALID, ("'yesterday' is not a date",)),
    Bad("start-month-13", ("videos", "--hashtag", "x", "--start", "2024-13-01", "--end",
                           "2024-01-31"), INVALID, ("'2024-13-01' is not a date",)),
    Bad("dates-reversed", ("videos", "--hashtag", "x", "--start", "2024-03-01", "--end",
                           "2024-01-01"), INVALID, ("reversed",)),
    Bad("missing-start", ("videos", "--hashtag", "x", "--end", "2024-01-31"), INVALID,
        ("missing option '--start'",)),
    Bad("max-total-negative", V("--max-total", "-3"), INVALID, ("max_total", "-3")),
    Bad("max-total-not-a-number", V("--max-total", "lots"), INVALID, ("--max-total", "integer")),
    Bad("max-requests-negative", V("--max-requests", "-1"), INVALID, ("max_requests",)),
    Bad("option-typo", ("videos", "--hashtagg", "x", *DATES), INVALID,
        ("no such option", "--hashtag")),
    # --- output and archive paths, checked before the first request
    Bad("out-xls", V("--out", "v.xls"), INVALID, (".xls", "unknown output format")),
    Bad("out-no-extension", V("--out", "videos"), INVALID, ("no extension",)),
    Bad("out-is-a-folder", V("--out", "{data}/adir"), INVALID, ("is a folder",)),
    Bad("out-under-a-file", V("--out", "{data}/afile.txt/v.parquet"), INVALID,
        ("is a file, not a folder",)),
    Bad("out-name-too-long", V("--out", LONG + ".csv"), INVALID, ("too long",)),
    # issue 22 item 7: a folder that cannot be created was found after paying for the pages
    Bad("out-folder-cannot-be-created", V("--out", "/proc/nope/x.parquet"), INVALID,
        ("/proc/nope", "nothing was sent")),
    # issue 18 item 1: an existing file is not replaced silently
    Bad("out-exists", V("--out", "{data}/videos.parquet"), INVALID, ("already exists",
                                                                    "--overwrite")),
    Bad("users-out-exists", ("users", "alice", "--out", "{data}/users.csv"), INVALID,
        ("already exists", "--overwrite")),
    Bad("for-excel-not-csv", V("--out", "v.parquet", "--for-excel"), INVALID, ("--for-excel",)),
    Bad("out-and-dataset", V("--out", "v.parquet", "--dataset", "{tmp}/ds"), INVALID,
        ("--dataset", "not both")),
    Bad("dataset-other-query", ("videos", "--hashtag", "dogs", *DATES, "--dataset",
                                "{data}/monitor"), INVALID, ("another query", "cats")),
    Bad("archive-is-a-file", V("--archive", "{data}/afile.txt"), INVALID,
        ("--archive", "is a file")),
    Bad("dataset-is-a-file", V("--dataset", "{data}/afile.txt"), INVALID,
        ("--dataset", "is a file")),
    # --- items of fan-out commands
    Bad("from-file-missing", ("comments", "--from-file", "missing.txt"), INVALID,
        ("missing.txt", "no such file")),
    Bad("from-file-binary", ("comments", "--from-file", "{data}/binary.bin"), INVALID,
        ("not a text file",)),
    Bad("from-file-empty", ("comments", "--from-file", "{data}/empty.txt"), INVALID,
        ("no items", "empty.txt")),
    Bad("from-file-folder", ("users", "--from-file", "{data}/adir"), INVALID, ("is a folder",)),
    Bad("no-items", ("comments",), INVALID, ("no items", "--from-file")),
    Bad("blank-items", ("shops", "  ", ""), INVALID, ("no items",)),
    Bad("video-id-letters", ("comments", "abc"), INVALID, ("video ids", "'abc'", "not an id")),
    Bad("video-id-float", ("comments", "7.3e18"), INVALID, ("'7.3e18'",)),
    Bad("playlist-id-letters", ("playlists", "abc"), INVALID, ("playlist ids", "not an id")),
    Bad("username-with-space", ("users", "alice smith"), INVALID, ("'alice smith'", "handle")),
    Bad("comments-out-xls", ("comments", ID, "--replies", "--out", "c.xls"), INVALID,
        ("unknown output format",)),
    Bad("comments-unknown-field", ("comments", ID, "--fields", "nosuch"), INVALID, ("nosuch",)),
    Bad("followers-max-total", ("followers", "alice", "--max-total", "-5"), INVALID,
        ("max_total",)),
    Bad("users-out-folder", ("users", "alice", "--out", "{data}/adir"), INVALID,
        ("is a folder",)),
    Bad("products-archive-file", ("products", ID, "--archive", "{data}/afile.txt"), INVALID,
        ("--archive",)),
    Bad("users-no-max-total", ("users", "alice", "--max-total", "3"), INVALID,
        ("no such option",)),
    # --- credentials
    Bad("videos-no-credentials", V(), AUTH, ("tiktok_client_key", "--sandbox"),
        credentials=False),
    Bad("users-no-credentials", ("users", "alice"), AUTH, ("tiktok_client_key",),
        credentials=False),
    # (quota reads the local ledger: it needs no credentials, issue 18 item 12)
    # --- commands that read tables
    Bad("select-missing", ("select", "video-ids", "missing.parquet"), INVALID,
        ("missing.parquet", "no such file"), collects=False),
    Bad("select-usernames-of-comments", ("select", "usernames", "{data}/comments.parquet"),
        INVALID, ("'username'", "comment authors", "video_id"), collects=False),
    Bad("select-not-parquet", ("select", "video-ids", "{data}/bad.parquet"), INVALID,
        ("cannot read",), collects=False),
    Bad("select-unknown-format", ("select", "video-ids", "{data}/afile.txt"), INVALID,
        ("unknown format",), collects=False),
    Bad("select-rank-by-missing", ("select", "video-ids", "{data}/videos.parquet", "--by",
                                   "nosuch"), INVALID, ("'nosuch'", "comment_count"),
        collects=False),
    Bad("select-column-missing", ("select", "usernames", "{data}/users.csv", "--column",
                                  "nosuch"), INVALID, ("'nosuch'", "follower_count"),
        collects=False),
    Bad("select-out-folder", ("select", "video-ids", "{data}/videos.parquet", "--out",
                              "{data}/adir"), INVALID, ("is a folder",), collects=False),
    Bad("select-ids-of-users", ("select", "video-ids", "{data}/users.csv"), INVALID,
        ("'id'", "username"), collects=False),
    Bad("summary-missing", ("summary", "missing.parquet"), INVALID, ("no such file",),
        collects=False),
    Bad("summary-by-year", ("summary", "{data}/videos.parquet", "--by", "year"), INVALID,
        ("'year'", "month"), collects=False),
    Bad("summary-empty-folder", ("summary", "{data}/emptydir"), INVALID, ("without parquet",),
        collects=False),
    Bad("summary-of-comments", ("summary", "{data}/comments.parquet"), INVALID,
        ("not a videos table",), collects=False),
    Bad("summary-out-exists", ("summary", "{data}/videos.parquet", "--out", "{data}/users.csv"),
        INVALID, ("already exists", "--overwrite"), collects=False),
    Bad("select-out-exists", ("select", "video-ids", "{data}/videos.parquet", "--out",
                              "{data}/afile.txt"), INVALID, ("already exists", "--overwrite"),
        collects=False),
    Bad("hydrate-out-exists", ("hydrate", ID, "--out", "{data}/videos.parquet"), INVALID,
        ("already exists", "--overwrite")),
    Bad("compliance-out-exists", ("compliance", ID, "--out", "{data}/users.csv"), INVALID,
        ("already exists", "--overwrite")),
    Bad("refresh-out-exists", ("refresh", "{data}/videos.parquet", "--out", "{data}/users.csv"),
        INVALID, ("already exists", "--overwrite")),
    Bad("summary-out-xls", ("summary", "{data}/videos.parquet", "--out", "s.xls"), INVALID,
        ("unknown output format",), collects=False),
    Bad("merge-out-is-a-file", ("merge", "{data}/videos.parquet", "--out", "{data}/afile.txt"),
        INVALID, ("is a file",), collects=False),
    Bad("demo-out-is-a-file", ("demo", "--out", "{data}/afile.txt"), INVALID, ("is a file",),
        collects=False),
    Bad("unknown-command", ("vidoes",), INVALID, ("no such command", "videos"), collects=False),
    # --- keeping data compliant and current: hydrate, compliance, refresh, update
    Bad("hydrate-no-ids", ("hydrate",), INVALID, ("no items", "--from-file")),
    Bad("hydrate-letters", ("hydrate", "abc"), INVALID, ("'abc'", "not an id")),
    Bad("hydrate-float", ("hydrate", "7.3e18"), INVALID, ("'7.3e18'", "not an id"),
        collects=False),
    Bad("hydrate-batch-size-0", ("hydrate", ID, "--batch-size", "0"), INVALID,
        ("batch_size", "1 to 100"), collects=False),
    Bad("hydrate-batch-size-word", ("hydrate", ID, "--batch-size", "many"), INVALID,
        ("--batch-size",), collects=False),
    Bad("hydrate-out-xls", ("hydrate", ID, "--out", "v.xls"), INVALID,
        ("unknown output format",), collects=False),
    Bad("hydrate-unknown-field", ("hydrate", ID, "--fields", "id,views"), INVALID,
        ("'views'",), collects=False),
    Bad("hydrate-from-file-binary", ("hydrate", "--from-file", "{data}/binary.bin"), INVALID,
        ("not a text file",), collects=False),
    Bad("hydrate-no-credentials", ("hydrate", ID), AUTH, ("tiktok_client_key", "--sandbox"),
        credentials=False),
    Bad("compliance-category-videos", ("compliance", ID, "--category", "videos"), INVALID,
        ("'videos'", "'video'")),
    Bad("compliance-no-ids", ("compliance",), INVALID, ("no items",), collects=False),
    Bad("compliance-decimal", ("compliance", "1.5"), INVALID, ("'1.5'", "not an id"),
        collects=False),
    Bad("compliance-out-folder", ("compliance", ID, "--out", "{data}/adir"), INVALID,
        ("is a folder",), collects=False),
    Bad("compliance-archive-file", ("compliance", ID, "--archive", "{data}/afile.txt"), INVALID,
        ("--archive", "is a file"), collects=False),
    Bad("refresh-missing", ("refresh", "missing.parquet"), INVALID,
        ("missing.parquet", "no such file")),
    Bad("refresh-not-videos", ("refresh", "{data}/users.csv"), INVALID,
        ("no 'id' column", "videos table"), collects=False),
    Bad("refresh-empty-folder", ("refresh", "{data}/emptydir"), INVALID, ("without parquet",),
        collects=False),
    Bad("refresh-text-file", ("refresh", "{data}/afile.txt"), INVALID, ("unknown format",),
        collects=False),
    Bad("refresh-damaged-parquet", ("refresh", "{data}/bad.parquet"), INVALID, ("cannot read",),
        collects=False),
    Bad("refresh-out-xls", ("refresh", "{data}/videos.parquet", "--out", "r.xls"), INVALID,
        ("unknown output format",), collects=False),
    Bad("refresh-unknown-field", ("refresh", "{data}/videos.parquet", "--out", "r.parquet",
                                  "--fields", "id,views"), INVALID, ("'views'",)),
    Bad("update-no-query", ("update", "{tmp}/monitor"), INVALID, ("no query", "--hashtag"),
        collects=False),
    Bad("update-first-run-without-start", ("update", "{tmp}/monitor", "--hashtag", "cats"),
        INVALID, ("holds no videos yet", "--start")),
    Bad("update-other-query", ("update", "{data}/monitor", "--hashtag", "dogs"), INVALID,
        ("another query", "cats")),
    Bad("update-dataset-is-a-file", ("update", "{data}/afile.txt", "--hashtag", "cats",
                                     "--start", "2024-01-01"), INVALID, ("is a file",),
        collects=False),
    Bad("update-start-not-a-date", ("update", "{tmp}/monitor", "--hashtag", "cats", "--start",
                                    "yesterday"), INVALID, ("'yesterday' is not a date",),
        collects=False),
    Bad("update-region-typo", ("update", "{tmp}/monitor", "--region", "UK", "--start",
                               "2024-01-01"), INVALID, ("gb",), collects=False),
]  # fmt: skip


def _entry_point() -> list[str]:
    script = shutil.which("tiktok-research", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "tiktok_research.cli"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prepared inputs: tables of each format, a binary file, a plain file, folders."""
    root = tmp_path_factory.mktemp("bad-cli-data")
    with new_client() as client:
        videos = fetch_videos(
            Q.hashtag_name.eq("cats"), "20240201", "20240210", client=client, progress=False
        )
    io.write_parquet(videos, root / "videos.parquet", table="videos")
    comments = schemas.cast(pl.DataFrame({"id": [1], "video_id": [int(ID)]}), "comments")
    io.write_parquet(comments, root / "comments.parquet", table="comments")
    io.write_csv(schemas.cast(pl.DataFrame({"username": ["a"]}), "users"), root / "users.csv")
    (root / "bad.parquet").write_bytes(b"PAR1 this is not a parquet file")
    (root / "binary.bin").write_bytes(bytes(range(256)))
    (root / "empty.txt").write_text("# no items here\n\n")
    (root / "afile.txt").write_text("a plain file\n")
    (root / "bad.json").write_text('{"and": [\n  {"operation": "EQ",}\n')
    (root / "good.json").write_text(Q.keyword.eq("cats").to_query().to_json())
    (root / "adir").mkdir()
    (root / "emptydir").mkdir()
    (root / "monitor").mkdir()  # a dataset kept up to date with a query on cats
    state = {"query": Q.hashtag_name.eq("cats").to_query().to_dict(), "through": "20240110"}
    (root / "monitor" / "_tiktok_research_update.json").write_text(json.dumps(state))
    return root


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, object]]:
    from tiktok_research.sandbox import run_server

    with run_server(new_sandbox()) as (url, sb):
        yield url, sb


def _runs() -> list[object]:
    runs: list[object] = []
    for case in CASES:
        modes = ("http", "sandbox") if case.collects and case.credentials else ("plain",)
        runs.extend(pytest.param(case, mode, id=f"{case.id}-{mode}") for mode in modes)
    return runs


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("case", "mode"), _runs())
def test_bad_invocation(
    case: Bad, mode: str, data: Path, server: tuple[str, object], tmp_path: Path
) -> None:
    url, sb = server
    args = [a.replace("{data}", str(data)).replace("{tmp}", str(tmp_path)) for a in case.args]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIKTOK_CLIENT_", "COLUMNS"))}
    env.pop("TIKTOK_RESEARCH_BASE_URL", None)
    env.pop("TIKTOK_RESEARCH_DEBUG", None)
    if mode == "sandbox":
        args.append("--sandbox")
    elif case.credentials:  # also for commands that send nothing: they must not start to
        env |= {"TIKTOK_RESEARCH_BASE_URL": url, "TIKTOK_CLIENT_KEY": "sandbox",
                "TIKTOK_CLIENT_SECRET": "sandbox"}  # fmt: skip
    before = len(sb.request_log)  # type: ignore[attr-defined]
    run = subprocess.run(
        [*_entry_point(), *args],
        input=case.stdin, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
        check=False,
    )  # fmt: skip
    sent = len(sb.request_log) - before  # type: ignore[attr-defined]
    output = run.stdout + run.stderr
    assert "Traceback" not in output, output
    assert run.returncode == case.code, output
    for words in case.says:
        assert words.lower() in output.lower(), output
    assert sent <= case.sent, f"{sent} request(s) reached the sandbox"
    assert not (tmp_path / "tiktok-archive").exists() or not any(
        (tmp_path / "tiktok-archive").rglob("pages-*")
    ), "pages were archived"
    written = [p.name for p in tmp_path.iterdir() if p.suffix in (".parquet", ".csv", ".jsonl")]
    assert not written, f"output written by a failed command: {written}"
    assert not (tmp_path / "monitor").exists(), "a dataset folder was created"


def test_rejected_credentials_exit_4_after_one_token_request(
    server: tuple[str, object], tmp_path: Path
) -> None:
    url, sb = server
    env = dict(os.environ) | {"TIKTOK_RESEARCH_BASE_URL": url, "TIKTOK_CLIENT_KEY": "sandbox",
                              "TIKTOK_CLIENT_SECRET": "wrong"}  # fmt: skip
    before = len(sb.request_log)  # type: ignore[attr-defined]
    run = subprocess.run(
        [*_entry_point(), *V("--out", "v.parquet")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
    )  # fmt: skip
    records = sb.request_log[before:]  # type: ignore[attr-defined]
    assert "Traceback" not in run.stderr
    assert run.returncode == AUTH, run.stderr
    assert "TIKTOK_CLIENT_SECRET" in run.stderr and ".." not in run.stderr
    assert [r.endpoint for r in records] == ["oauth_token"]
