"""Session 5's outside pass: the README, the guide and every ``--help`` example run as a newcomer
runs them, in order, in one folder, against a sandbox served on 127.0.0.1 (requests counted at
the server), and the files they write opened in the readers users have.

Each test here failed on main 4d13d8c.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _sandboxes import new_sandbox
from tiktok_research.cli import app
from tiktok_research.sandbox import Sandbox

pytestmark = [pytest.mark.http, pytest.mark.filterwarnings("default")]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Sandbox]]:
    from tiktok_research.sandbox import run_server

    with run_server(new_sandbox(validation_processing_seconds=0)) as (url, sb):
        yield url, sb


def _cli(served: tuple[str, Sandbox], *args: str, stdin: str | None = None) -> tuple[int, str, int]:
    """Run the command line against the served sandbox: exit code, output, requests that reached
    it (tokens included)."""
    url, sb = served
    env = {"TIKTOK_RESEARCH_BASE_URL": url, "TIKTOK_CLIENT_KEY": "sandbox",
           "TIKTOK_CLIENT_SECRET": "sandbox"}  # fmt: skip
    before = len(sb.request_log)
    quiet = (
        ["--no-progress"] if args[0] not in ("summary", "select", "quality", "dehydrate") else []
    )
    result = CliRunner().invoke(app, [*args, *quiet], env=env, input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output, len(sb.request_log) - before


def test_quality_of_an_archive_that_holds_a_compliance_check_or_ads(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`refresh videos.parquet` and `compliance` (examples of the top-level --help) and `ads`
    write their collections into the default archive; `quality tiktok-archive/` (the quality
    --help example) then failed with "unknown table 'validation_create'" (exit 2), and the ads
    command printed no quality line (the same error, swallowed)."""
    monkeypatch.chdir(tmp_path)
    period = ("--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-01-31")
    assert _cli(served, "videos", *period, "--out", "videos.parquet")[0] == 0
    code, text, sent = _cli(served, "refresh", "videos.parquet")
    assert code == 0 and sent > 0, text
    code, text, _ = _cli(served, "ads", "--start", "2024-01-01", "--end", "2024-01-31",
                         "--country", "FR")  # fmt: skip
    assert code == 0, text
    code, text, sent = _cli(served, "quality", "tiktok-archive/")
    assert code == 0, text
    assert sent == 0
    assert "quality: complete" in text and "videos-" in text, text
    skipped = [line for line in text.splitlines() if "not assessed" in line]
    assert any("compliance_video-" in line for line in skipped), text
    assert any("ads-" in line for line in skipped), text
    code, text, _ = _cli(served, "quality", "tiktok-archive/", "--markdown")
    assert code == 0 and "is not assessed here" in text, text
    # a compliance check named on its own: the message says what it is (exit 2, as documented)
    check = next(Path("tiktok-archive").glob("compliance_video-*"))
    code, text, _ = _cli(served, "quality", str(check))
    assert code == 2 and "compliance check" in text and "unknown table" not in text, text
