"""Clients written for the real service work against the sandbox server unchanged but for the URL.

curl and `requests` talk to `run_server()` on 127.0.0.1 and get the same answers as this
package's client. The published Python clients (TikTok's official wrapper and two others) are in
tests/test_interop_clients.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tiktok_research.sandbox import Sandbox, SandboxConfig, run_server

pytestmark = pytest.mark.http


@pytest.fixture(scope="module")
def server() -> tuple[str, Sandbox]:
    with run_server(Sandbox(SandboxConfig(n_videos=5_000))) as (url, sb):
        yield url, sb


def test_curl(server: tuple[str, Sandbox]) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    url, _ = server
    token = subprocess.run(
        ["curl", "-s", "-X", "POST", f"{url}/v2/oauth/token/",
         "-H", "Content-Type: application/x-www-form-urlencoded",
         "-d", "client_key=sandbox&client_secret=sandbox&grant_type=client_credentials"],
        capture_output=True, check=True, text=True,
    )  # fmt: skip
    access = json.loads(token.stdout)["access_token"]
    body = '{"query": {"and": [{"operation": "EQ", "field_name": "hashtag_name", "field_values": ["fyp"]}]}, "start_date": "20240101", "end_date": "20240110", "max_count": 5}'  # noqa: E501
    page = subprocess.run(
        ["curl", "-s", "-X", "POST", f"{url}/v2/research/video/query/?fields=id,hashtag_names",
         "-H", f"Authorization: bearer {access}", "-H", "Content-Type: text/plain", "-d", body],
        capture_output=True, check=True, text=True,
    )  # fmt: skip
    answer = json.loads(page.stdout)
    assert answer["error"]["code"] == "ok"
    assert 0 < len(answer["data"]["videos"]) <= 5
    assert answer["data"]["search_id"].isdigit()


def test_requests(server: tuple[str, Sandbox]) -> None:
    requests = pytest.importorskip("requests")
    url, sb = server
    token = requests.post(
        f"{url}/v2/oauth/token/",
        data={
            "client_key": "sandbox",
            "client_secret": "sandbox",
            "grant_type": "client_credentials",
        },
        timeout=10,
    ).json()["access_token"]
    name = sb.corpus.sample_usernames(1)[0]
    r = requests.post(
        f"{url}/v2/research/user/info/?fields=display_name,follower_count",
        json={"username": name},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 200
    assert set(r.json()["data"]) == {"display_name", "follower_count"}


def test_the_serve_command_prints_its_base_url_and_answers() -> None:
    import httpx

    cmd = [sys.executable, "-m", "tiktok_research.cli", "sandbox", "serve", "--port", "0",
           "--n-videos", "2000"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line and "client_key=sandbox" in line
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        token = httpx.post(
            f"{url}/v2/oauth/token/",
            data={
                "client_key": "sandbox",
                "client_secret": "sandbox",
                "grant_type": "client_credentials",
            },
        )
        assert token.status_code == 200 and token.json()["expires_in"] == 7200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
