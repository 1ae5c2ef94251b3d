"""Messages users read on the command line (issue 18 items 15-17): the sandbox from the
environment, the missing-credentials message, float-looking ids, the package's own CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tiktok_research.cli import app

runner = CliRunner()


def test_cli_honours_the_sandbox_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_RESEARCH_SANDBOX", "1")
    out = tmp_path / "v.parquet"
    result = runner.invoke(
        app,
        ["videos", "--hashtag", "cats", "--start", "2024-01-01", "--end", "2024-01-05",
         "--max-total", "5", "--out", str(out), "--archive", str(tmp_path / "a")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.is_file()


def test_missing_credentials_names_sandbox_first_and_says_it_once() -> None:
    result = runner.invoke(app, ["users", "some_user"])
    assert result.exit_code == 4
    text = result.output
    assert "--sandbox" in text
    assert text.index("--sandbox") < text.index("TIKTOK_CLIENT_KEY")
    assert text.count("--sandbox") == 1
    assert text.count("TIKTOK_CLIENT_KEY") == 1
    assert "Client.sandbox()" not in text  # Python advice does not belong on the command line
