"""Batch compliance (api-notes §3.11) and a corpus that changes with the sandbox clock.

The three validation-task endpoints over the in-process transport and over HTTP (multipart by
httpx and by curl); Sandbox.delete_videos / advance, also through the admin paths.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from _sandboxes import Clock, new_http, new_sandbox
from _shared import example
from tiktok_research._endpoints import (
    ENDPOINTS,
    VALIDATION_CREATE,
    VALIDATION_DOWNLOAD,
    VALIDATION_ENDPOINTS,
    VALIDATION_STATUS,
)
from tiktok_research.sandbox import CHANGING_CORPUS, Sandbox, run_server

NOW = calendar.timegm((2025, 1, 15, 12, 0, 0))
CREATE, STATUS, DOWNLOAD = VALIDATION_CREATE.path, VALIDATION_STATUS.path, VALIDATION_DOWNLOAD.path


def make(**config: Any) -> tuple[Sandbox, httpx.Client, Clock]:
    """A sandbox of 5,000 videos on a stopped clock (at NOW), and a raw HTTP client with a token."""
    clock = Clock(NOW)
    config.setdefault("n_videos", 5_000)
    sb = new_sandbox(clock=clock, **config)
    return sb, new_http(sb), clock


def upload(
    http: httpx.Client, text: str | bytes, category: str | None = "video", **extra: Any
) -> httpx.Response:
    data = {} if category is None else {"category": category}
    return http.post(CREATE, files={"file_data": ("ids.txt", text, "text/plain")}, data=data)


def lines(ids: list[int]) -> str:
    return "".join(f"{i}\n" for i in ids)


def task_of(answer: httpx.Response) -> int:
    assert answer.status_code == 200, answer.text
    task_id: int = answer.json()["data"]["task_id"]
    return task_id


# ----------------------------------------------------------------------------- the life of a task
def test_a_task_is_processing_then_completed_on_the_sandbox_clock() -> None:
    sb, http, clock = make(validation_processing_seconds=90)
    ids = sb.corpus.sample_video_ids(40, seed=2)
    deleted = ids[::7]
    assert sb.delete_videos(deleted) == len(deleted)
    assert sb.delete_videos(deleted) == 0, "already gone"
    upload_order = [*ids, ids[0], 7_000_000_000_000_000_001]  # a repeat and an unknown id
    task = task_of(upload(http, lines(upload_order)))
    assert 0 < task < 2**63, "task ids fit int64"
    for wait in (0, 89):
        clock.t = NOW + wait
        status = http.post(STATUS, json={"task_id": task}).json()["data"]["task_status"]
        assert status == "Processing"
        early = http.post(DOWNLOAD, json={"task_id": task})
        assert early.status_code == 400 and "still Processing" in early.json()["error"]["message"]
    clock.t = NOW + 90
    assert http.post(STATUS, json={"task_id": str(task)}).json()["data"] == {
        "task_status": "Completed"
    }
    file = http.post(DOWNLOAD, json={"task_id": task})
    assert file.status_code == 200
    assert file.headers["content-type"] == "text/plain; charset=utf-8"
    assert file.text.endswith("\n") and "\n\n" not in file.text
    assert [int(x) for x in file.text.splitlines()] == [i for i in ids if i not in deleted]
    # a second download gives the same file; deleting more later does not change a done task
    sb.delete_videos(ids[1:2])
    assert http.post(DOWNLOAD, json={"task_id": task}).text == file.text
    assert sb.requests_spent() == {
        "validation_create": 1,
        "validation_status": 3,
        "validation_download": 2,
    }, "answered 400s are not counted"


def test_deleted_videos_are_gone_from_every_endpoint() -> None:
    sb, http, _ = make(n_videos=8_000)
    c = sb.corpus
    name = max(
        c.sample_usernames(200, kind="public"), key=lambda u: c.user_rows(c.user_index[u]).size
    )
    rows = c.user_rows(c.user_index[name])
    victim = int(c.ids[rows[0]])
    day = dt.datetime.fromtimestamp(int(c.create_time[rows[0]]), dt.UTC).strftime("%Y%m%d")
    body = {
        "query": {"and": [{"operation": "EQ", "field_name": "username", "field_values": [name]}]},
        "start_date": day,
        "end_date": day,
    }
    path = ENDPOINTS["video_query"].path + "?fields=id"

    def found() -> set[int]:
        return {v["id"] for v in http.post(path, json=body).json()["data"]["videos"]}

    assert victim in found()
    sb.delete_videos([victim])
    assert victim not in found()
    comments = http.post(
        ENDPOINTS["comments"].path + "?fields=id", json={"video_id": victim}
    ).json()["data"]
    assert comments["comments"] == [] and comments["has_more"] is False


def test_comment_ids_are_validated_too() -> None:
    sb, http, clock = make(validation_processing_seconds=0)
    vids = sb.corpus.video_ids_with_comments(2)
    listed = http.post(
        ENDPOINTS["comments"].path + "?fields=id,reply_count",
        json={"video_id": vids[0], "max_count": 100},
    ).json()["data"]["comments"]
    top = [c["id"] for c in listed[:20]]
    parent = max(listed[3:], key=lambda c: c["reply_count"])  # not one of those deleted
    replies = http.post(
        ENDPOINTS["comments"].path + "?fields=id", json={"comment_id": parent["id"]}
    ).json()["data"]["comments"]
    reply_ids = [r["id"] for r in replies[:5]]
    other = http.post(
        ENDPOINTS["comments"].path + "?fields=id", json={"video_id": vids[1], "max_count": 5}
    ).json()["data"]["comments"]
    other_ids = [c["id"] for c in other]
    sb.delete_comments(top[:3])
    sb.delete_videos([vids[1]])  # its comments go with it
    task = task_of(upload(http, lines(top + reply_ids + other_ids + [123456789]), "comment"))
    clock.t += 1
    valid = [int(x) for x in http.post(DOWNLOAD, json={"task_id": task}).text.split()]
    assert valid == top[3:] + reply_ids
    # the replies to a deleted comment go with it
    sb.delete_comments([parent["id"]])
    task = task_of(upload(http, lines(reply_ids), "comment"))
    assert http.post(DOWNLOAD, json={"task_id": task}).text == ""


# ----------------------------------------------------------------------------- bad requests
@pytest.mark.parametrize(
    ("content", "category", "message"),
    [
        ("", "video", "holds no video id"),
        ("\n \n\r\n", "video", "holds no video id"),
        ("7300000000000000000\nabc\n", "video", "Line 2 of file_data is 'abc', not a video id"),
        ("7300000000000000000,7300000000000000001\n", "video", "not a video id"),
        ("-5\n", "comment", "Line 1 of file_data is '-5', not a comment id"),
        ("1.5\n", "video", "not a video id"),
        (f"{2**63}\n", "video", "not a video id"),
        ("1\n" * 10_001, "video", "holds 10,001 ids; a task takes at most 10,000: split the file"),
        (b"\xff\xfe1\n", "video", "not UTF-8 text"),
        ("7300000000000000000\n", None, "category is required: video or comment"),
        ("7300000000000000000\n", "videos", "category must be video or comment, got 'videos'"),
        ("7300000000000000000\n", "profile", "category must be video or comment"),
    ],
)
def test_bad_uploads_are_invalid_file_upload(
    content: str | bytes, category: str | None, message: str
) -> None:
    sb, http, _ = make(n_videos=1_000)
    answer = upload(http, content, category)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_file_upload" and error["http_status_code"] == 400
    assert message in error["message"]
    assert sb.requests_spent() == {}, "a refused upload is not counted"


def test_uploads_that_are_not_multipart_or_lack_the_file() -> None:
    _, http, _ = make(n_videos=1_000)
    for answer in (
        http.post(CREATE, json={"file_data": "1\n", "category": "video"}),
        http.post(CREATE, content=b"1\n", headers={"Content-Type": "text/plain"}),
        http.post(CREATE, files={"category": (None, "video")}),
    ):
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "invalid_file_upload"
    exactly = upload(http, "7300000000000000000\n" * 10_000)
    assert exactly.status_code == 200, "10,000 ids are accepted"
    crlf = upload(http, " 7300000000000000000 \r\n\r\n7300000000000000001\r\n")
    assert crlf.status_code == 200, "spaces, blank lines and CRLF are tolerated"


def test_unknown_tasks_and_bad_task_ids() -> None:
    sb, http, _ = make(n_videos=1_000)
    task = task_of(upload(http, "7300000000000000000\n"))
    for path in (STATUS, DOWNLOAD):
        unknown = http.post(path, json={"task_id": task + 1})
        assert unknown.status_code == 400
        assert unknown.json()["error"]["message"] == (
            f"`task_id: {task + 1}` is invalid: cannot find the task"
        )
        assert http.post(path, json={"task_id": "abc"}).status_code == 400
        assert http.post(path, json={}).json()["error"]["message"] == "task_id is required"
        assert http.post(path, content=b"[1]").status_code == 400
    # another client's task is unknown to this one
    sb.add_client("other", "pw")
    other = {"Authorization": f"Bearer {sb.issue_token('other')}"}
    assert http.post(STATUS, json={"task_id": task}, headers=other).status_code == 400
    anonymous = {"Authorization": ""}
    assert http.post(STATUS, json={"task_id": task}, headers=anonymous).status_code == 401


def test_answer_shapes_follow_the_docs_examples() -> None:
    created_doc = json.loads(example("validation_task_create__200__docs.json").read_text())
    status_doc = json.loads(example("validation_task_status__200__docs.json").read_text())
    assert created_doc["data"]["task_id"] > 2**63 - 1, "the doc example does not fit int64"
    _, http, clock = make(n_videos=1_000, validation_processing_seconds=10)
    created = upload(http, "7300000000000000000\n").json()
    for got, doc in ((created, created_doc),):
        assert set(got) == set(doc) and set(got["error"]) == set(doc["error"])
        assert got["error"]["message"] == "ok." and got["error"]["http_status_code"] == 200
    assert isinstance(created["data"]["task_id"], int)
    clock.t += 10
    status = http.post(STATUS, json={"task_id": created["data"]["task_id"]}).json()
    assert set(status) == set(status_doc) and set(status["error"]) == set(status_doc["error"])
    assert status["data"] == status_doc["data"] == {"task_status": "Completed"}


def test_tasks_count_against_the_research_quota() -> None:
    sb, http, _ = make(n_videos=1_000, daily_quota={"research": 3, "social": 10})
    task = task_of(upload(http, "7300000000000000000\n"))
    assert http.post(STATUS, json={"task_id": task}).status_code == 200
    name = sb.corpus.sample_usernames(1)[0]
    info = http.post(ENDPOINTS["user_info"].path + "?fields=id", json={"username": name})
    assert info.status_code == 400, "not counted"
    info = http.post(ENDPOINTS["user_info"].path + "?fields=display_name", json={"username": name})
    assert info.status_code == 200
    stop = http.post(STATUS, json={"task_id": task})
    assert stop.status_code == 429 and stop.json()["error"]["code"] == "daily_quota_limit_exceeded"
    assert sb.quota_remaining()["research"] == 0 and sb.quota_remaining()["social"] == 10


def test_faults_reach_the_compliance_endpoints() -> None:
    sb, http, clock = make(n_videos=1_000, validation_processing_seconds=5)
    sb.script_faults(["internal_error", "task_failed"], endpoint="validation_create")
    assert upload(http, "7300000000000000000\n").status_code == 500
    assert sb._tasks == {}, "a 500 created nothing"
    failed = task_of(upload(http, "7300000000000000000\n"))
    clock.t += 5
    assert http.post(STATUS, json={"task_id": failed}).json()["data"]["task_status"] == "Failed"
    gone = http.post(DOWNLOAD, json={"task_id": failed})
    assert (
        gone.status_code == 400 and "Failed: create a new task" in gone.json()["error"]["message"]
    )
    sb.script_faults(["error_with_valid_body", "gateway_timeout"], endpoint="validation_status")
    odd = http.post(STATUS, json={"task_id": failed})
    assert odd.status_code == 500 and odd.json()["data"]["task_status"] == "Failed"
    assert http.post(STATUS, json={"task_id": failed}).status_code == 504
    with pytest.raises(ValueError, match="unknown endpoint"):
        sb.script_faults(["internal_error"], endpoint="validation")
    assert set(VALIDATION_ENDPOINTS) == {
        "validation_create",
        "validation_status",
        "validation_download",
    }


# ----------------------------------------------------------------------------- the changing corpus
def test_the_corpus_changes_with_the_clock_only_forward() -> None:
    sb, _, clock = make(n_videos=20_000, **CHANGING_CORPUS)
    c = sb.corpus
    rows = np.arange(c.n_videos)
    at_epoch = c.gone(rows, sb.days_passed(), clock.t)
    assert np.array_equal(at_epoch, c.hidden), "at the epoch the corpus is the generated one"
    previous, counts = at_epoch, c.counts_at(rows, 0)
    for days in (1, 10, 30, 90):
        clock.t = NOW + days * 86_400 + 5
        now_gone = c.gone(rows, sb.days_passed(), clock.t)
        assert (now_gone >= previous).all(), "nothing comes back"
        grown = c.counts_at(rows, sb.days_passed())
        for name, values in grown.items():
            assert (values >= counts[name]).all(), f"{name} never shrinks"
        assert (grown["view_count"] > counts["view_count"]).all(), "views grow every day"
        previous, counts = now_gone, grown
    share = (previous & ~c.hidden).sum() / (~c.hidden).sum()
    assert 0.12 < share < 0.20, f"about 0.2 % a day: {share:.3f} after 90 days"
    # deterministic for a seed and a clock time
    twin, _, twin_clock = make(n_videos=20_000, **CHANGING_CORPUS)
    twin.clock()
    twin_clock.t = clock.t
    assert np.array_equal(twin.corpus.gone(rows, twin.days_passed(), twin_clock.t), previous)


def test_counts_grow_in_the_answers_and_removed_videos_leave_compliance() -> None:
    sb, http, clock = make(n_videos=5_000, validation_processing_seconds=0, **CHANGING_CORPUS)
    ids = sb.corpus.sample_video_ids(300, seed=4)
    row = sb.corpus.row_of_id(ids[0])
    assert row is not None
    day = dt.datetime.fromtimestamp(int(sb.corpus.create_time[row]), dt.UTC).strftime("%Y%m%d")
    body = {
        "query": {
            "and": [{"operation": "EQ", "field_name": "video_id", "field_values": [str(ids[0])]}]
        },
        "start_date": day,
        "end_date": day,
    }
    path = ENDPOINTS["video_query"].path + "?fields=id,view_count,like_count"

    def video() -> dict[str, Any]:
        found: list[dict[str, Any]] = http.post(path, json=body).json()["data"]["videos"]
        assert len(found) == 1
        return found[0]

    before = video()
    assert before["view_count"] == int(sb.corpus.view_count[row])
    sb.advance(dt.timedelta(days=20))
    http.headers["Authorization"] = f"Bearer {sb.issue_token()}"  # the first one expired
    after = video()
    assert (
        after["view_count"] > before["view_count"] and after["like_count"] >= before["like_count"]
    )
    task = task_of(upload(http, lines(ids)))
    valid = {int(x) for x in http.post(DOWNLOAD, json={"task_id": task}).text.split()}
    gone = set(ids) - valid
    rows = [sb.corpus.row_of_id(i) for i in ids]
    expected = {i for i, g in zip(ids, sb.corpus.gone(rows, 20, clock.t), strict=True) if g}
    assert gone == expected and 0 < len(gone) < 40  # about 4 % after 20 days


def test_a_frozen_corpus_does_not_change_with_the_days() -> None:
    sb, _, clock = make(n_videos=2_000, frozen_corpus=True)
    rows = np.arange(sb.corpus.n_videos)
    sb.clock()
    clock.t += 400 * 86_400
    assert sb.days_passed() == 400
    assert np.array_equal(sb.corpus.gone(rows, sb.days_passed(), clock.t), sb.corpus.hidden)
    assert np.array_equal(sb.corpus.counts_at(rows, 400)["view_count"], sb.corpus.view_count)


def test_advance_only_moves_forward() -> None:
    sb, _, _ = make(n_videos=1_000)
    assert sb.advance(dt.timedelta(hours=25)) == dt.datetime(2025, 1, 16, 13, 0, tzinfo=dt.UTC)
    assert sb.days_passed() == 1 and sb.epoch == dt.datetime(2025, 1, 15, 12, tzinfo=dt.UTC)
    for bad in (-1, float("nan"), dt.timedelta(seconds=-5)):
        with pytest.raises(ValueError, match="only moves forward"):
            sb.advance(bad)


# ----------------------------------------------------------------------------- over HTTP
@pytest.mark.http
def test_compliance_over_http_with_httpx_and_curl(tmp_path: Path) -> None:
    sb = new_sandbox(n_videos=5_000, validation_processing_seconds=60, clock=NOW)
    ids = sb.corpus.sample_video_ids(25, seed=9)
    with run_server(sb) as (url, _), httpx.Client(base_url=url) as http:
        http.headers["Authorization"] = f"Bearer {sb.issue_token()}"
        # the admin paths: delete 17 ids, then move the clock past the processing time
        deleted = http.post("/_sandbox/delete", json={"ids": [str(i) for i in ids[:17]]})
        assert deleted.json() == {"deleted": 17, "category": "video"}
        task = task_of(upload(http, lines(ids)))
        assert (
            http.post(STATUS, json={"task_id": task}).json()["data"]["task_status"] == "Processing"
        )
        http.post("/_sandbox/advance", json={"seconds": 60})
        assert (
            http.post(STATUS, json={"task_id": task}).json()["data"]["task_status"] == "Completed"
        )
        valid = [int(x) for x in http.post(DOWNLOAD, json={"task_id": task}).text.split()]
        assert valid == ids[17:]
        if shutil.which("curl") is None:
            pytest.skip("curl is not installed")
        file = tmp_path / "ids.txt"
        file.write_text(lines(ids), encoding="utf-8")
        auth = ["-H", f"Authorization: Bearer {sb.issue_token()}"]
        made = subprocess.run(
            ["curl", "-s", "-X", "POST", url + CREATE, *auth,
             "-F", f"file_data=@{file}", "-F", "category=video"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        curl_task = json.loads(made.stdout)["data"]["task_id"]
        assert isinstance(curl_task, int) and f'"task_id":{curl_task}' in made.stdout
        http.post("/_sandbox/advance", json={"minutes": 1})
        got = subprocess.run(
            ["curl", "-s", "-X", "POST", url + DOWNLOAD, *auth, "-H",
             "Content-Type: application/json", "-d", json.dumps({"task_id": curl_task})],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert got.stdout == lines(ids[17:])
        bad = subprocess.run(
            ["curl", "-s", "-X", "POST", url + CREATE, *auth, "-F", "file_data=@" + str(file),
             "-F", "category=videos"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert json.loads(bad.stdout)["error"]["code"] == "invalid_file_upload"
