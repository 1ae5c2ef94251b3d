"""A command closes the connections it opened, also when it runs inside a Python process.

Notebooks and test suites run commands in-process (``typer.testing.CliRunner``, ``app([...])``).
A client left open keeps its sockets to the service until the garbage collector finds them, and
Python then reports ``ResourceWarning: unclosed socket``, which the suite turns into an error.
"""

from __future__ import annotations

import gc
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _sandboxes import MakeSandbox
from tiktok_research.cli import app
from tiktok_research.sandbox import run_server

ENV = {"TIKTOK_CLIENT_KEY": "sandbox", "TIKTOK_CLIENT_SECRET": "sandbox"}


@pytest.mark.http
@pytest.mark.parametrize(
    "args",
    [
        ["users", "no_such_user_here", "--out", "u.csv", "--no-progress"],  # a failure for good
        ["comments", "7300000000000000000", "--out", "c.csv", "--no-progress"],
    ],
    ids=["users", "comments"],
)
def test_a_command_over_http_leaves_no_socket_open(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_sandbox: MakeSandbox
) -> None:
    monkeypatch.chdir(tmp_path)
    with (
        run_server(make_sandbox(n_videos=1_000)) as (url, _),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        result = CliRunner().invoke(app, args, env={**ENV, "TIKTOK_RESEARCH_BASE_URL": url})
        gc.collect()
    assert result.exit_code in (0, 3), result.output
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not unclosed, unclosed
