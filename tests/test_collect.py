"""The collection engine (collect.py): failing windows, archive replay and repair, stop rules,
reports. Over the in-process sandbox, counting the requests that reached it."""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import polars as pl
import pytest

import tiktok_research as tr
from _sandboxes import Clock, MakeClient, MakeSandbox, new_client, new_sandbox, paid
from tiktok_research._archive import PageRef
from tiktok_research.client import Client
from tiktok_research.collect import _WindowState
from tiktok_research.pagination import Page, Position
from tiktok_research.sandbox import Sandbox, SandboxConfig

MANY = ~tr.Q.video_length.eq("EXTRA_LONG")
CONFIG = SandboxConfig(n_videos=20_000, seed=1)


@pytest.fixture(scope="module")
def clean() -> pl.DataFrame:
    """The January table of MANY, collected without a fault."""
    with new_client(new_sandbox(CONFIG)) as client:
        return tr.fetch_videos(MANY, "2024-01-01", "2024-01-31", client=client)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --- failing windows ------------------------------------------------------------------------


def test_a_window_failing_after_ten_pages_pays_nothing_again(
    clean: pl.DataFrame, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sb = make_sandbox(CONFIG)
    # ten good pages, then the next page fails for good (a first try and four retries)
    sb.script_faults(["ok"] * 10 + ["internal_error"] * 5, endpoint="video_query")
    client = make_client(sb)
    videos = tr.fetch_videos(MANY, "2024-01-01", "2024-01-31", client=client)
    assert videos.equals(clean) and videos.report.complete
    ok = [r.body for r in sb.request_log if r.endpoint == "video_query" and r.error_code == "ok"]
    asked = [(b["start_date"], b["end_date"], b["cursor"]) for b in ok]
    assert len(asked) == len(set(asked)), "an ok page was paid twice"
    # the window's end moved to the oldest day held; nothing before it restarted at cursor 0
    narrowed = {(s, e) for s, e, _ in asked} - {("20240101", "20240131")}
    assert len(narrowed) == 1
    (start, end), *_ = narrowed
    assert start == "20240101" and "20240101" < end < "20240131"
    clean_pages = 16  # measured: the clean run needs 16 pages
    assert paid(sb) <= clean_pages + 5 + 2  # + the five failures, + at most one day asked again


def test_network_failures_never_split_a_window(
    clean: pl.DataFrame, tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sb = make_sandbox(CONFIG)
    real = sb.transport()
    calls = {"n": 0}

    class Flaky(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.startswith("/v2/research"):
                calls["n"] += 1
                if 3 <= calls["n"] <= 20:  # the network is down for a while
                    raise httpx.ConnectError("refused", request=request)
            return real.handle_request(request)

    client = Client(
        "sandbox", "sandbox", base_url=Sandbox.BASE_URL, transport=Flaky(), ledger=False,
        sleep=lambda s: None, qps=None,
    )  # fmt: skip
    with quiet():
        first = tr.fetch_videos(MANY, "2024-01-01", "2024-01-31", client=client, archive=tmp_path)
    assert not first.report.complete and first.report.stop_kind == "unreachable"
    windows = {
        (r.body["start_date"], r.body["end_date"])
        for r in sb.request_log
        if r.endpoint == "video_query" and r.body
    }
    assert windows == {("20240101", "20240131")}  # never split for a network failure
    again = tr.fetch_videos(
        MANY, "2024-01-01", "2024-01-31", client=make_client(sb), archive=tmp_path
    )
    assert again.equals(clean) and paid(sb) == 16  # nothing asked twice


def test_window_state_narrows_to_the_oldest_day_held() -> None:
    jan = (date(2024, 1, 1), date(2024, 1, 31))
    st = _WindowState([jan], Position(cursor=500, search_id="1"), oldest=int(
        datetime(2024, 1, 20, 13, tzinfo=UTC).timestamp()))  # fmt: skip
    assert "2024-01-20" in (st.narrow() or "")
    assert st.windows == [(date(2024, 1, 1), date(2024, 1, 20))] and st.pos is None
    # every page held is of the last day: that day alone, then the rest
    st = _WindowState([jan], Position(cursor=100), oldest=int(
        datetime(2024, 1, 31, 2, tzinfo=UTC).timestamp()))  # fmt: skip
    st.narrow()
    assert st.windows == [
        (date(2024, 1, 31), date(2024, 1, 31)),
        (date(2024, 1, 1), date(2024, 1, 30)),
    ]
    # nothing held: halves, newest first; one day with pages held cannot be made lighter
    st = _WindowState([jan])
    st.narrow()
    assert st.windows == [
        (date(2024, 1, 17), date(2024, 1, 31)),
        (date(2024, 1, 1), date(2024, 1, 16)),
    ]
    one = _WindowState([(date(2024, 1, 5), date(2024, 1, 5))], Position(cursor=100), oldest=1)
    assert one.narrow() is None


# --- quota, budget, stale searches ------------------------------------------------------------


def test_after_a_quota_wait_an_expired_search_is_reopened_with_one_request(
    make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    clock = Clock(datetime(2025, 3, 1, 21, 0, tzinfo=UTC))  # 3 hours to the reset
    sb = make_sandbox(CONFIG, daily_quota={"research": 3, "social": 10}, clock=clock)
    client = make_client(sb, wait_for_quota=True, sleep=clock.advance, progress=False)
    videos = tr.fetch_videos(MANY, "2024-01-01", "2024-01-10", client=client)
    truth = tr.fetch_videos(
        MANY, "2024-01-01", "2024-01-10", client=make_client(make_sandbox(CONFIG))
    )
    assert videos.report.complete and videos.equals(truth)
    refused = [r for r in sb.request_log if r.error_code == "invalid_params"]
    assert len(refused) == 1, "the expired search_id was retried instead of re-opened"
    fresh = [r for r in sb.request_log if r.endpoint == "video_query" and r.body["cursor"] == 0]
    assert len(fresh) == 2  # the first page, and the one request that re-opened the search


def test_a_budget_stop_says_once_how_to_continue(
    tmp_path: Path, clean: pl.DataFrame, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sb = make_sandbox(CONFIG)
    with pytest.warns(tr.IncompleteCollectionWarning, match="same archive"):
        part = tr.fetch_videos(
            MANY, "2023-12-01", "2024-01-31", archive=tmp_path,
            client=make_client(sb, max_requests=3),
        )  # fmt: skip
    text = str(part.report)
    assert part.report.stop_kind == "budget" and text.count("max_requests=3") == 1
    assert text.count("Run the same call again") == 1 and "state=" not in text
    done = tr.fetch_videos(MANY, "2023-12-01", "2024-01-31", archive=tmp_path,
                           client=make_client(sb))  # fmt: skip
    held = done.filter(pl.col("id").is_in(clean["id"].to_list()))
    assert done.report.complete and held.height == 1474


def test_without_an_archive_an_incomplete_run_keeps_its_pages(
    clean: pl.DataFrame, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sb = make_sandbox(CONFIG)
    with pytest.warns(tr.IncompleteCollectionWarning, match="archive="):
        part = tr.fetch_videos(
            MANY, "2024-01-01", "2024-01-31", client=make_client(sb, max_requests=4)
        )
    kept = part.report.archive
    assert kept is not None and kept.exists() and part.report.temporary
    spent = paid(sb)
    done = tr.fetch_videos(MANY, "2024-01-01", "2024-01-31", client=make_client(sb),
                           archive=kept.parent)  # fmt: skip
    assert done.equals(clean) and paid(sb) - spent == 16 - 4


def test_a_complete_run_without_an_archive_leaves_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_sandbox: MakeSandbox,
    make_client: MakeClient,
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # other tests' folders are elsewhere

    def archives() -> set[Path]:
        found = Path(tempfile.gettempdir()).glob("tiktok-research-*")
        return {p for p in found if not p.name.startswith("tiktok-research-sandbox")}

    client = make_client(make_sandbox(CONFIG))
    before = archives()
    v = tr.fetch_videos(MANY, "2024-01-01", "2024-01-02", client=client)
    assert v.report.complete and v.report.archive is None
    assert archives() <= before


# --- the archive is the record --------------------------------------------------------------


def test_an_archived_but_unjournalled_page_is_not_paid_again(
    tmp_path: Path, clean: pl.DataFrame, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sb = make_sandbox(CONFIG)
    with quiet():
        tr.fetch_videos(MANY, "2024-01-01", "2024-01-31", archive=tmp_path,
                        client=make_client(sb, max_requests=6))  # fmt: skip
    folder = next(tmp_path.iterdir())
    journal = folder / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    pages = [i for i, line in enumerate(lines) if b'"event": "page"' in line]
    journal.write_bytes(b"".join(lines[: pages[-3]]))  # a crash lost the last three journal lines
    spent = paid(sb)
    done = tr.fetch_videos(MANY, "2024-01-01", "2024-01-31", archive=tmp_path,
                           client=make_client(sb))  # fmt: skip
    assert done.equals(clean) and paid(sb) - spent == 16 - 6


def test_journal_pages_name_their_archived_answer(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sb = make_sandbox(CONFIG)
    tr.fetch_videos(MANY, "2024-01-01", "2024-01-31", archive=tmp_path, client=make_client(sb))
    folder = next(tmp_path.iterdir())
    entries = [json.loads(x) for x in (folder / "journal.jsonl").read_text().splitlines()]
    pages = [e for e in entries if e["event"] == "page"]
    assert len(pages) == 16 and all(e["v"] == 2 for e in entries)
    envelopes = tr._archive.iter_archive(folder)  # type: ignore[attr-defined]
    held = {PageRef(e["meta"]["run"], e["meta"]["page"]) for e in envelopes}
    assert {PageRef(e["run"], e["page"]) for e in pages} <= held


def test_two_calls_on_one_folder_in_one_process_do_not_both_collect(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    from tiktok_research._archive import Collection

    sb = make_sandbox(CONFIG)
    plan = tr.plan_videos(MANY, "2024-01-01", "2024-01-31")
    with Collection.open(tmp_path, kind="videos", endpoint="video_query", spec=plan.spec):
        with pytest.raises(tr.CollectionLockedError, match=r"pid \d+") as e:
            tr.fetch_videos(MANY, "2024-01-01", "2024-01-31", archive=tmp_path,
                            client=make_client(sb))  # fmt: skip
        assert str(tmp_path) in str(e.value)
    assert sb.request_log == []


# --- what a user sees -------------------------------------------------------------------------


def test_the_report_and_the_progress_bar_use_the_same_name(
    capsys: pytest.CaptureFixture[str],
    make_sandbox: MakeSandbox,
    make_client: MakeClient,
) -> None:
    client = make_client(make_sandbox(CONFIG))
    client.user_info(client.sandbox_instance.corpus.sample_usernames(1)[0])  # an earlier request
    v = tr.fetch_videos(MANY, "2024-01-01", "2024-01-10", client=client, progress=True)
    err = capsys.readouterr().err
    assert str(v.report).startswith("videos: complete")
    assert "videos:" in err or "videos" in err.splitlines()[-1]
    assert f"requests={v.report.requests_spent}" in err.replace(" ", "")


def test_write_parquet_of_a_result_keeps_the_provenance(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    v = tr.fetch_videos(MANY, "2024-01-01", "2024-01-03", client=make_client(make_sandbox(CONFIG)))
    v.write_parquet(tmp_path / "v.parquet")
    meta = tr.io.read_metadata(tmp_path / "v.parquet")
    assert meta["table"] == "videos" and meta["provenance"]["endpoint"] == "video_query"
    assert pl.read_parquet(tmp_path / "v.parquet").equals(pl.DataFrame(v))


def test_fan_out_max_total_is_per_item_and_exact(
    make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sb = make_sandbox(CONFIG)
    names = sb.corpus.sample_usernames(2, kind="following_public")
    f = tr.fetch_following(names, max_total=3, client=make_client(sb))
    counts = f.group_by("source_username").len()
    assert counts["len"].to_list() == [3, 3]
    assert sb.requests_spent().get("following") == 2  # one page each was enough


def test_page_positions_survive_a_round_trip() -> None:
    pos = Position(cursor=300, search_id="7", skip_to=900)
    assert Position.from_state(pos.to_state()) == pos
    assert isinstance(Page, type)


def test_ctrl_c_stops_a_collection_at_once_and_the_next_run_continues(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    import os
    import signal
    import threading
    import time

    sb = make_sandbox(CONFIG, latency=0.05)
    year = ("2024-01-01", "2024-06-30")
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        tr.fetch_videos(MANY, *year, client=make_client(sb), archive=tmp_path, max_workers=4)
    assert time.monotonic() - started < 3  # the whole range takes several seconds
    interrupted = paid(sb)
    done = tr.fetch_videos(MANY, *year, client=make_client(sb), archive=tmp_path)
    truth = make_sandbox(CONFIG)
    clean = tr.fetch_videos(MANY, *year, client=make_client(truth))
    assert done.equals(clean) and done.report.complete
    assert 0 < interrupted < paid(truth)
    assert paid(sb) <= paid(truth) + 4  # at most the requests in flight at the interrupt
