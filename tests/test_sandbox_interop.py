"""Clients written for the real service work against the sandbox server unchanged but for the URL.

curl and `requests` talk to `run_server()` on 127.0.0.1 and get the same answers as this
package's client. The published Python clients (TikTok's official wrapper and two others) are in
tests/test_interop_clients.py.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from typing import Any

import pytest

from _sandboxes import new_sandbox
from tiktok_research.sandbox import Sandbox, run_server

pytestmark = pytest.mark.http


@pytest.fixture(scope="module")
def server() -> tuple[str, Sandbox]:
    with run_server(new_sandbox(n_videos=5_000)) as (url, sb):
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
        proc.communicate(timeout=10)  # waits, and closes the pipes


def curl(url: str, path: str, body: str, *headers: str) -> tuple[int, dict[str, Any]]:
    """POST ``body`` with curl, exactly as typed at a shell; (HTTP status, JSON answer)."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    cmd = ["curl", "-s", "-w", "\n%{http_code}", "-X", "POST", url + path, "-d", body]
    for header in headers:
        cmd += ["-H", header]
    run = subprocess.run(cmd, capture_output=True, check=True, text=True)
    text, status = run.stdout.rsplit("\n", 1)
    return int(status), json.loads(text)


@pytest.fixture(scope="module")
def access(server: tuple[str, Sandbox]) -> str:
    _, sb = server
    return sb.issue_token()


VIDEO_BODY = '{"query": {"and": [{"operation": "IN", "field_name": "region_code", "field_values": ["US", "GB"]}]}, "start_date": "20240101", "end_date": "20240131", "max_count": %s}'  # noqa: E501


@pytest.mark.parametrize(
    "content_type",
    [
        "Content-Type: text/plain",  # DOC:GS's example, and CybersecurityForDemocracy's client
        "Content-Type: application/json",
        None,  # curl's default for -d: application/x-www-form-urlencoded
    ],
)
def test_curl_body_is_json_whatever_the_content_type(
    server: tuple[str, Sandbox], access: str, content_type: str | None
) -> None:
    url, _ = server
    headers = [f"Authorization: Bearer {access}"] + ([content_type] if content_type else [])
    status, answer = curl(url, "/v2/research/video/query/?fields=id", VIDEO_BODY % "5", *headers)
    assert status == 200 and answer["error"]["code"] == "ok"
    assert 0 < len(answer["data"]["videos"]) <= 5


@pytest.mark.parametrize(
    "fields",
    [
        "id,%20create_time,%20region_code",
        "id,+create_time,+region_code",
        "id , create_time,region_code",
    ],
)
def test_curl_fields_with_spaces(server: tuple[str, Sandbox], access: str, fields: str) -> None:
    # the official wrapper's default fields hold spaces ("create_time, region_code"); they are
    # trimmed (api-notes §11). A literal space (the last case) is how a shell user might type it.
    url, _ = server
    status, answer = curl(
        url, "/v2/research/video/query/?fields=" + fields.replace(" ", "%20"), VIDEO_BODY % "3",
        f"Authorization: Bearer {access}", "Content-Type: text/plain",
    )  # fmt: skip
    assert status == 200, answer
    assert {tuple(sorted(v)) for v in answer["data"]["videos"]} == {
        ("create_time", "id", "region_code")
    }


def test_curl_numeric_strings(server: tuple[str, Sandbox], access: str) -> None:
    # DOC:CM's example sends "max_count": "100"; numbers may come as strings (api-notes §11)
    url, _ = server
    auth = f"Authorization: Bearer {access}"
    status, as_text = curl(url, "/v2/research/video/query/?fields=id", VIDEO_BODY % '"7"', auth)
    _, as_number = curl(url, "/v2/research/video/query/?fields=id", VIDEO_BODY % "7", auth)
    assert status == 200 and len(as_text["data"]["videos"]) <= 7
    assert as_text["data"]["videos"] == as_number["data"]["videos"]
    assert as_text["data"]["cursor"] == as_number["data"]["cursor"] == 7
    later = json.loads(VIDEO_BODY % '"7"') | {
        "cursor": "7",
        "search_id": as_text["data"]["search_id"],
    }
    status, page_two = curl(url, "/v2/research/video/query/?fields=id", json.dumps(later), auth)
    assert status == 200 and page_two["data"]["cursor"] == 14


def test_curl_video_id_as_number_and_as_string(server: tuple[str, Sandbox], access: str) -> None:
    # the official wrapper and CybersecurityForDemocracy send video_id as a JSON number, traktok
    # as a string (api-notes §3.3); both get the same comments
    url, sb = server
    vid = sb.corpus.video_ids_with_comments(1)[0]
    auth = f"Authorization: Bearer {access}"
    path = "/v2/research/video/comment/list/?fields=id,video_id"
    status, as_number = curl(url, path, f'{{"video_id": {vid}, "max_count": 20}}', auth)
    _, as_string = curl(url, path, f'{{"video_id": "{vid}", "max_count": "20"}}', auth)
    assert status == 200 and len(as_number["data"]["comments"]) == 20
    assert as_number["data"] == as_string["data"]
    assert all(c["video_id"] == vid for c in as_number["data"]["comments"])
    # and in a query condition: field_values as strings (documented) or as numbers
    body = '{"query": {"and": [{"operation": "IN", "field_name": "video_id", "field_values": [%s]}]}, "start_date": "%s", "end_date": "%s"}'  # noqa: E501
    row = sb.corpus.row_of_id(vid)
    assert row is not None
    day = dt.datetime.fromtimestamp(int(sb.corpus.create_time[row]), dt.UTC).strftime("%Y%m%d")
    for value in (f'"{vid}"', str(vid)):
        status, found = curl(
            url, "/v2/research/video/query/?fields=id", body % (value, day, day), auth
        )
        assert status == 200, found
        assert [v["id"] for v in found["data"]["videos"]] == [vid]
