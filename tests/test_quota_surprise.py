"""No quota surprise (issue 18 items 9, 10, 12's "warn only for what will be sent", 14):
the replies' cost said before the phase, videos without comments skipped, warnings for the
requests a run will really send, at the user's line."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import polars as pl
import pytest

import tiktok_research as tr
from tiktok_research.sandbox import Sandbox, SandboxConfig

SMALL = {"n_videos": 3_000, "frozen_corpus": True}


def _sent(sb: Sandbox, endpoint: str | None = None) -> int:
    return sum(
        1
        for r in sb.request_log
        if r.endpoint != "oauth_token" and (endpoint is None or r.endpoint == endpoint)
    )


def _videos(client: tr.Client) -> tr.FetchResult:
    return tr.fetch_videos(tr.Q.hashtag_name.eq("fyp"), "20240101", "20240131",
                           client=client, progress=False)  # fmt: skip


def test_videos_without_comments_are_skipped_with_a_note_and_can_be_asked() -> None:
    sb = Sandbox(SandboxConfig(**SMALL))
    client = tr.Client.sandbox(sb)
    videos = _videos(client)
    empty = videos.filter(pl.col("comment_count") == 0).height
    assert empty > 0
    before = _sent(sb, "comments")
    with pytest.warns(UserWarning, match=f"skipped {empty} video"):
        comments = tr.fetch_comments(videos, client=client, progress=False)
    asked = _sent(sb, "comments") - before
    assert asked <= videos.height - empty + 2 * videos.height // 100 + 5  # pages, not empties
    assert any("comment_count is 0" in w for w in comments.report.warnings)
    assert comments.report.tasks_total == videos.height - empty
    before = _sent(sb, "comments")
    tr.fetch_comments(videos, client=client, progress=False, skip_empty=False)
    assert _sent(sb, "comments") - before >= videos.height  # every video asked


def test_replies_cost_is_said_before_the_phase_and_can_be_declined() -> None:
    sb = Sandbox(SandboxConfig(**SMALL))
    client = tr.Client.sandbox(sb)
    videos = _videos(client).sort("comment_count", descending=True).head(3)
    seen: list[tr.Plan] = []

    def decline(plan: tr.Plan) -> bool:
        seen.append(plan)
        return False

    before = _sent(sb)
    result = tr.fetch_comments(videos, replies=True, client=client, progress=False,
                               confirm=decline)  # fmt: skip
    assert len(seen) == 1 and seen[0].kind == "replies" and seen[0].min_requests > 0
    parents = result.filter(pl.col("reply_count") > 0).height
    assert seen[0].min_requests >= parents
    assert _sent(sb) - before == result.report.requests_spent  # no reply was asked for
    assert any("not collected" in w for w in result.report.warnings)


def test_replies_phase_warns_before_its_first_request_when_over_the_budget() -> None:
    sb = Sandbox(SandboxConfig(**SMALL))
    videos = _videos(tr.Client.sandbox(sb)).sort("comment_count", descending=True).head(3)
    client = tr.Client.sandbox(sb, max_requests=12)
    with (
        pytest.warns(tr.IncompleteCollectionWarning, match="max_requests=12 is used up"),
        pytest.warns(tr.QuotaWarning, match="replies: this run will send at least"),
    ):
        result = tr.fetch_comments(videos, replies=True, client=client, progress=False)
    assert sum(client.requests_spent.values()) <= 12  # max_requests honoured
    assert not result.report.complete and result.report.stop_kind == "budget"


def test_no_quota_warning_for_a_run_the_archive_holds(tmp_path: Path) -> None:
    sb = Sandbox(SandboxConfig(**SMALL))
    client = tr.Client.sandbox(sb)
    q = tr.Q.hashtag_name.eq("fyp")
    tr.fetch_videos(q, "20240101", "20240331", client=client, archive=tmp_path, progress=False)
    client._ledger.record("video_query", client.quota_day(), 1000)  # type: ignore[union-attr]
    sent = _sent(sb)
    with warnings.catch_warnings():
        warnings.simplefilter("error", tr.QuotaWarning)
        again = tr.fetch_videos(q, "20240101", "20240331", client=client, archive=tmp_path,
                                progress=False)  # fmt: skip
    assert _sent(sb) == sent and again.report.complete
    with pytest.warns(tr.QuotaWarning, match="at least 6 requests"):  # a new collection warns
        tr.fetch_videos(q, "20240101", "20240630", client=client, archive=tmp_path,
                        progress=False)  # fmt: skip


def test_warnings_point_at_the_users_line(tmp_path: Path) -> None:
    script = tmp_path / "study.py"
    script.write_text(
        "import warnings, tiktok_research as tr\n"
        "warnings.simplefilter('always')\n"
        "sb = tr.sandbox.Sandbox(tr.sandbox.SandboxConfig(n_videos=2000))\n"
        "c = tr.Client.sandbox(sb, max_requests=1)\n"
        "v = tr.fetch_videos(tr.Q.hashtag_name.eq('fyp'), '20240101', '20240331', client=c,\n"
        "                    progress=False)\n"
        "tr.fetch_user_info(['a', None, 'b'], client=tr.Client.sandbox(sb), progress=False)\n"
    )
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = [ln for ln in run.stderr.splitlines() if "Warning:" in ln]
    assert lines, run.stderr
    for line in lines:
        assert line.startswith(str(script)), line  # study.py:5, not fetch.py or collect.py
    assert any("QuotaWarning" in ln for ln in lines)
    assert any("IncompleteCollectionWarning" in ln for ln in lines)
    assert any("blank item" in run.stderr for _ in [0])


def test_retry_messages_do_not_write_into_the_progress_bars_line(tmp_path: Path) -> None:
    script = tmp_path / "bar.py"
    script.write_text(
        "import tiktok_research as tr\n"
        "sb = tr.sandbox.Sandbox(tr.sandbox.SandboxConfig(n_videos=2000))\n"
        "sb.script_faults(['ok', 'internal_error', 'ok', 'internal_error'], 'video_query')\n"
        "c = tr.Client.sandbox(sb, sleep=lambda s: None)\n"
        "tr.fetch_videos(tr.Q.hashtag_name.eq('fyp'), '20240101', '20240331', client=c,\n"
        "                progress=True, max_workers=1)\n"
    )
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    retries = [ln for ln in run.stderr.split("\n") if "retry 1/" in ln]
    assert len(retries) == 2, run.stderr
    for line in retries:
        shown = line.rsplit("\r", 1)[-1]  # what the terminal shows of that line
        assert shown.startswith("video_query:"), repr(line)
