"""The access token and the client secret never reach a file, a log line or the terminal, even
when an answer echoes them (issue 22, item 1).

Gateways, firewalls and debug pages echo the request's headers and body: ``<pre>Authorization:
Bearer clt....</pre>`` in an HTML 500, the same text inside a JSON error message. The fault proxy's
``echo_html`` and ``echo_json`` kinds do that (the token endpoint's echo carries the form, with the
client secret). Under every fault kind, every file the run wrote and everything it printed or
logged is searched for the token(s) and the secret; the echoed answers are still archived (with
``meta.redacted``), otherwise verbatim; and the requests that reached the sandbox are counted.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import tiktok_research as tr
from _faultproxy import KINDS, FaultPlan, FaultProxy, FaultTransport, Storm
from _servers import cli_env, no_traceback, run_cli
from tiktok_research.sandbox import Sandbox, SandboxConfig, run_server

SECRET = "s3cr3t-of-the-lab-0042"
VIDEOS = "/v2/research/video/query/"


def _written(root: Path) -> str:
    texts = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            raw = path.read_bytes()
            if path.name.endswith(".gz"):
                raw = gzip.decompress(raw)
            texts.append(raw.decode("utf-8", "replace"))
    return "\n".join(texts)


def _envelopes(root: Path) -> list[dict[str, object]]:
    out = []
    for path in sorted(root.rglob("pages-*")):
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        out.extend(json.loads(line) for line in raw.splitlines() if line.strip())
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_no_token_or_secret_under_any_fault_kind(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    sb = Sandbox(SandboxConfig(n_videos=20_000, token_ttl=60))
    sb.add_client("lab", SECRET)
    # the token endpoint's echo carries the secret; its other faults only stop the run early
    storm = Storm(seed=22, token_faults=kind.startswith("echo_"), **{kind: 0.3})  # type: ignore[arg-type]
    transport = FaultTransport(sb.transport(), FaultPlan(storm))
    client = tr.Client(
        "lab",
        SECRET,
        base_url=Sandbox.BASE_URL,
        transport=transport,
        sleep=lambda s: None,
        ledger=tmp_path / "ledger",
        max_retries=8,
    )
    caplog.set_level(logging.DEBUG)
    tokens: set[str] = set()
    real_get = client._tokens.get

    def get() -> str:  # the tokens the client sent, to grep for them
        token = real_get()
        tokens.add(token)
        return token

    client._tokens.get = get  # type: ignore[method-assign]
    printed = []
    try:
        videos = tr.fetch_videos(
            tr.Q.hashtag_name.eq("fyp"),
            "20240101",
            "20240131",
            client=client,
            archive=tmp_path / "archive",
            progress=False,
        )
        printed += [str(videos.report), repr(videos), str(videos.failures)]
    except tr.TikTokResearchError as err:  # an unreachable service stops the run: fine here
        printed += [str(err), repr(err)]
    out = capsys.readouterr()
    printed += [out.out, out.err, caplog.text, repr(client)]
    led = transport.ledger
    assert sum(e.fault == kind for e in led.snapshot()) > 0, "the fault was never drawn"
    assert tokens, "no token was ever sent"
    everything = "\n".join(printed) + "\n" + _written(tmp_path)
    for token in tokens:
        assert token not in everything, f"{kind}: the access token was written or printed"
    assert SECRET not in everything, f"{kind}: the client secret was written or printed"
    assert "Bearer clt." not in everything
    # the requests that reached the sandbox: each paid once, every one counted by the client
    assert led.paid_twice() == {}
    spent = {k: n for k, n in sb.requests_spent("lab").items() if k != "oauth_token"}
    assert led.forwarded() == sum(spent.values())
    if kind.startswith("echo_"):
        echoed = [e for e in _envelopes(tmp_path / "archive") if e["meta"].get("redacted")]  # type: ignore[attr-defined]
        assert echoed, "the echoing answers were not archived"
        for env in echoed:
            assert env["meta"]["redacted"] == ["access_token"]  # type: ignore[index]
            kept = json.dumps(env.get("response", env.get("response_text")))
            assert "<redacted>" in kept and "Authorization" in kept  # otherwise verbatim


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Sandbox]]:
    sb = Sandbox(SandboxConfig(n_videos=20_000))
    sb.add_client("lab", SECRET)
    with run_server(sb) as pair:
        yield pair


@pytest.mark.http
@pytest.mark.parametrize("kind", ["echo_html", "echo_json"])
def test_the_command_line_prints_and_archives_no_token(
    kind: str, served: tuple[str, Sandbox], tmp_path: Path
) -> None:
    """The issue's run: a 45-page command-line collection over HTTP with 20% echoing 500s (the
    token endpoint's too): nothing secret in the archive, the output table or the terminal."""
    url, sb = served
    before = sum(n for k, n in sb.requests_spent("lab").items() if k != "oauth_token")
    storm = Storm(seed=3, token_faults=True, **{kind: 0.2})  # type: ignore[arg-type]
    archive, out = tmp_path / "archive", tmp_path / "videos.csv"
    with FaultProxy(url, FaultPlan(storm)) as proxy:
        env = cli_env(proxy.url, TIKTOK_CLIENT_KEY="lab", TIKTOK_CLIENT_SECRET=SECRET)
        done = run_cli(
            ["videos", "--hashtag", "fyp", "--start", "2024-01-01", "--end", "2024-04-29",
             "--no-progress", "--archive", str(archive), "--out", str(out)],
            env,
        )  # fmt: skip
    text = done.stdout + done.stderr
    assert done.returncode == 0 and no_traceback(text), text
    led = proxy.ledger
    assert led.faults()[kind] >= 3, led.counts()
    assert "<redacted>" in _written(archive)  # the echoes were archived, without the token
    everything = text + _written(tmp_path)
    assert SECRET not in everything
    assert "Bearer clt." not in everything and "clt." not in everything
    spent = sum(n for k, n in sb.requests_spent("lab").items() if k != "oauth_token") - before
    assert led.forwarded() == spent and led.paid_twice() == {}
    assert f"this run: {led.received(VIDEOS):,} requests sent" in done.stdout  # the cost line
