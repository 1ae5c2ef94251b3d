"""The client secret and the access token never reach an archive, a log line, a repr or a report."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pytest

import tiktok_research as tr
from _sandboxes import MakeClient, MakeSandbox
from tiktok_research.sandbox import FaultConfig

SECRET = "s3cr3t-do-not-leak-0042"


def test_no_secret_or_token_anywhere(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    make_sandbox: MakeSandbox,
    make_client: MakeClient,
) -> None:
    faults = FaultConfig(seed=3, internal_error=0.1, gateway_timeout=0.05)  # error paths too
    sb = make_sandbox(n_videos=10_000, faults=faults, token_ttl=60)
    sb.add_client("lab", SECRET)
    client = make_client(sb, client_key="lab", client_secret=SECRET, ledger=tmp_path / "ledger")
    caplog.set_level(logging.DEBUG)
    videos = tr.fetch_videos(
        tr.Q.hashtag_name.eq("fyp"),
        "20240101",
        "20240229",
        client=client,
        archive=tmp_path / "archive",
        progress=False,
    )
    users = tr.fetch_user_info(
        ["no_such_user_1", *videos["username"].head(3).to_list()],
        client=client,
        archive=tmp_path / "archive",
        progress=False,
    )
    assert videos.height > 0 and users.failures.height == 1
    texts = [caplog.text, repr(client), str(videos.report), str(users.report), str(users.failures)]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            texts.append(
                (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8", "replace")
            )
    everything = "\n".join(texts)
    assert "pages-" in "".join(p.name for p in tmp_path.rglob("*"))  # the archive was written
    assert SECRET not in everything
    assert "clt." not in everything  # sandbox tokens look like the real ones: clt.<...>
