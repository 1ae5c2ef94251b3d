"""Processes for the attack tests: ``tiktok-research sandbox serve`` and the command line.

Everything runs as a subprocess through the public command (``python -m tiktok_research.cli``, the
same code as the ``tiktok-research`` script), on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from _sandboxes import TOKEN_FORM

if TYPE_CHECKING:
    from tiktok_research.sandbox import Sandbox

CLI = [sys.executable, "-m", "tiktok_research.cli"]
_URL = re.compile(r"http://127\.0\.0\.1:\d+")
FORM = TOKEN_FORM


class SandboxServer:
    """A running ``tiktok-research sandbox serve`` process.

    Attributes:
        url: Its base URL, e.g. ``http://127.0.0.1:41234``.
        proc: The process.
        output: Lines it printed so far (stdout and stderr).
    """

    def __init__(self, proc: subprocess.Popen[str], url: str, output: list[str]) -> None:
        self.proc = proc
        self.url = url
        self.output = output

    def stop(self) -> None:
        """Stop the server (SIGINT, then SIGTERM, then SIGKILL) and reap it."""
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGINT, 5), (signal.SIGTERM, 5), (signal.SIGKILL, 10)):
                self.proc.send_signal(sig)
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue


def _pump(stream: object, sink: list[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.append(line)


@contextlib.contextmanager
def sandbox_server(*args: str, timeout: float = 60.0) -> Iterator[SandboxServer]:
    """Start ``tiktok-research sandbox serve --port 0 ARGS`` and wait until it answers.

    Args:
        *args: Extra options, e.g. ``"--n-videos", "40000", "--latency", "0.05"``.
        timeout: Seconds to wait for the server to answer a token request.

    Yields:
        The :class:`SandboxServer`; it is stopped when the block ends.
    """
    cmd = [*CLI, "sandbox", "serve", "--host", "127.0.0.1", "--port", "0", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    output: list[str] = []
    reader = threading.Thread(target=_pump, args=(proc.stdout, output), daemon=True)
    reader.start()
    server: SandboxServer | None = None
    try:
        deadline = time.monotonic() + timeout
        url = None
        while url is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox serve did not start: {''.join(output)!r}")
            found = _URL.search("".join(output))
            url = found.group(0) if found else None
            time.sleep(0.02)
        server = SandboxServer(proc, url, output)
        while True:  # answers?
            try:
                if httpx.post(url + "/v2/oauth/token/", data=FORM, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox serve does not answer: {''.join(output)!r}")
            time.sleep(0.05)
        yield server
    finally:
        if server is not None:
            server.stop()
        elif proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()


def cli_env(base_url: str | None = None, **extra: str) -> dict[str, str]:
    """Environment of a CLI process: sandbox credentials, a base URL, the test's cache folder.

    The quota ledger goes to ``$TIKTOK_RESEARCH_CACHE_DIR`` (set per test by conftest), or to a new
    temporary folder when there is none (module-scoped fixtures run before conftest's), never to
    the user's real cache.
    """
    cache = os.environ.get("TIKTOK_RESEARCH_CACHE_DIR") or tempfile.mkdtemp(prefix="attack-cache-")
    inherited = {k: v for k, v in os.environ.items() if k != "TIKTOK_RESEARCH_SANDBOX"}
    env = {
        **inherited,  # never the in-process sandbox unless a test asks for it (extra)
        "TIKTOK_CLIENT_KEY": "sandbox",
        "TIKTOK_CLIENT_SECRET": "sandbox",
        "PYTHONUNBUFFERED": "1",
        "NO_COLOR": "1",
        "COLUMNS": "200",
        "TIKTOK_RESEARCH_CACHE_DIR": cache,
    }
    if base_url is not None:
        env["TIKTOK_RESEARCH_BASE_URL"] = base_url
    env.update(extra)
    return env


def run_cli(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    cwd: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``tiktok-research ARGS`` to completion, capturing its output."""
    return subprocess.run(
        [*CLI, *args],
        env=dict(env) if env is not None else None,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def start_cli(
    args: Sequence[str], env: Mapping[str, str] | None = None, *, cwd: Path | None = None
) -> subprocess.Popen[str]:
    """Start ``tiktok-research ARGS`` in the background (output captured)."""
    return subprocess.Popen(
        [*CLI, *args],
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def finish(
    proc: subprocess.Popen[str], *, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Wait for a process of :func:`start_cli` (killed when it overruns ``timeout``) and give what
    :func:`run_cli` gives: its exit code and output."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def no_traceback(text: str) -> bool:
    """True when ``text`` shows no Python traceback."""
    return "Traceback (most recent call last)" not in text


#: Commands that draw no progress bar (they take no --no-progress).
_NO_BAR = ("summary", "select", "quality", "merge", "dehydrate")


def received(sb: Sandbox) -> int:
    """Requests that reached ``sb``, the token's included."""
    return len(sb.request_log)


def invoke_served(
    served: tuple[str, Sandbox],
    *args: str,
    count: Callable[[Sandbox], int] = received,
    stdin: str | None = None,
) -> tuple[int, str, int]:
    """The command line in this process (typer's CliRunner) against a served sandbox: exit code,
    output (never a traceback), and the requests ``count`` says reached the sandbox meanwhile
    (default: every request; ``_sandboxes.paid``: those that cost quota)."""
    from typer.testing import CliRunner

    from tiktok_research.cli import app

    url, sb = served
    env = {"TIKTOK_RESEARCH_BASE_URL": url, "TIKTOK_CLIENT_KEY": "sandbox",
           "TIKTOK_CLIENT_SECRET": "sandbox", "COLUMNS": "200"}  # fmt: skip
    quiet = [] if args[0] in _NO_BAR else ["--no-progress"]
    before = count(sb)
    result = CliRunner().invoke(app, [*args, *quiet], env=env, input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output, count(sb) - before
