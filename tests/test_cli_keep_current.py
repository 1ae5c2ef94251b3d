"""``hydrate``, ``compliance``, ``refresh`` and ``update`` run as a user runs them.

Each test starts ``tiktok-research sandbox serve`` (mostly a corpus that changes with its clock,
which starts on 2024-07-01 and is moved with ``POST /_sandbox/advance``) and runs the command in a
subprocess against it (``TIKTOK_RESEARCH_BASE_URL``), as a user runs it. What is checked: the
exit code, what is printed, the files written, and the requests counted at the server
(``GET /_sandbox/stats``).
The last test kills ``compliance`` with SIGKILL after its upload: the next run uploads nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl
import pytest

import tiktok_research as tr
from _sandboxes import MakeSandbox
from _servers import SandboxServer, cli_env, no_traceback, run_cli, sandbox_server, start_cli
from tiktok_research.maintain import UPDATE_STATE
from tiktok_research.sandbox import Sandbox

pytestmark = pytest.mark.http

CLOCK = "2024-07-01T12:00:00Z"
CHANGING = ("--removal-rate", "0.002", "--count-growth", "1")


@pytest.fixture(scope="module")
def corpus(make_sandbox: MakeSandbox) -> Sandbox:
    """The corpus ``sandbox serve`` serves by default (same seed, same size): to pick ids."""
    return make_sandbox()


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with sandbox_server("--clock", CLOCK, "--validation-processing", "0", *CHANGING) as srv:
        yield srv


def pick(sb: Sandbox, months: tuple[int, ...], per_month: int, seed: int) -> list[int]:
    """Visible video ids made between the 2nd and the 27th of each month of 2024."""
    c, rng, out = sb.corpus, np.random.default_rng(seed), []
    for m in months:
        lo = dt.datetime(2024, m, 2, tzinfo=dt.UTC).timestamp()
        hi = dt.datetime(2024, m, 27, tzinfo=dt.UTC).timestamp()
        rows = np.flatnonzero((c.create_time >= lo) & (c.create_time < hi) & ~c.hidden)
        out += [int(c.ids[r]) for r in rng.choice(rows, per_month, replace=False)]
    return out


def stats(srv: SandboxServer) -> dict[str, int]:
    """Requests that reached the server, per endpoint (token requests included)."""
    answer: dict[str, Any] = httpx.get(srv.url + "/_sandbox/stats", timeout=10).json()
    requests: dict[str, int] = answer["requests"]
    return requests


def admin(srv: SandboxServer, path: str, body: dict[str, Any]) -> None:
    httpx.post(srv.url + "/_sandbox/" + path, json=body, timeout=10).raise_for_status()


def sent(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Data requests between two readings of :func:`stats`."""
    return {k: v - before.get(k, 0) for k, v in after.items()
            if k != "oauth_token" and v != before.get(k, 0)}  # fmt: skip


def ok(run: Any) -> str:
    text: str = run.stdout + run.stderr
    assert run.returncode == 0 and no_traceback(text), text
    return text


def test_hydrate_finds_every_id_with_one_request_per_month(
    server: SandboxServer, corpus: Sandbox, tmp_path: Path
) -> None:
    ids = pick(corpus, (1, 3, 5), 50, seed=11)
    made_up = (ids[0] >> 32 << 32) | 4242  # a plausible id that is no video
    (tmp_path / "ids.txt").write_text(
        "# shared with the paper\n" + "".join(f"{i}\n" for i in ids) + f"\n{made_up}\n"
    )
    env = cli_env(server.url)
    args = ["hydrate", "--from-file", "ids.txt", "--out", "videos.csv", "--no-progress"]
    before = stats(server)
    plan = ok(run_cli([*args, "--dry-run"], env, cwd=tmp_path))
    assert "3 request(s) by id" in plan and "50 id(s)" in plan
    assert stats(server) == before, "a dry run sends nothing (not even a token request)"
    text = ok(run_cli(args, env, cwd=tmp_path))
    assert sent(before, stats(server)) == {"video_query": 3}
    videos = tr.io.read_csv(tmp_path / "videos.csv", table="videos")
    assert sorted(videos["id"].to_list()) == sorted(ids), "all 150, ids exact"
    assert "1 id(s) not found" in text and str(made_up) in text
    assert (tmp_path / "videos_not_found.txt").read_text() == f"{made_up}\n"
    # the same command again: everything is in the archive
    again = stats(server)
    ok(run_cli(args, env, cwd=tmp_path))
    assert sent(again, stats(server)) == {}


def test_compliance_names_the_videos_that_are_gone(
    server: SandboxServer, corpus: Sandbox, tmp_path: Path
) -> None:
    ids = pick(corpus, (2,), 40, seed=12)
    gone = ids[::6]
    admin(server, "delete", {"ids": gone})
    (tmp_path / "ids.txt").write_text("".join(f"{i}\n" for i in ids))
    before = stats(server)
    text = ok(run_cli(["compliance", "-f", "ids.txt", "--out", "valid.csv", "--no-progress"],
                      cli_env(server.url), cwd=tmp_path))  # fmt: skip
    assert f"{40 - len(gone)} of the 40 video ids are still valid; {len(gone)} are gone" in text
    valid = pl.read_csv(tmp_path / "valid.csv", schema={"id": pl.Int64, "valid": pl.Boolean})
    assert valid["id"].to_list() == ids
    assert valid.filter(~pl.col("valid"))["id"].to_list() == gone
    counted = sent(before, stats(server))
    assert counted["validation_create"] == 1 and counted["validation_download"] == 1


def test_refresh_rewrites_a_file_and_a_dataset_in_place(
    server: SandboxServer, corpus: Sandbox, tmp_path: Path
) -> None:
    ids = pick(corpus, (4, 5), 30, seed=13)
    with tr.Client("sandbox", "sandbox", base_url=server.url, ledger=False) as client:
        old = pl.DataFrame(tr.fetch_videos_by_id(ids, client=client, progress=False))
    tr.write_parquet(old, tmp_path / "videos.parquet", table="videos")
    tr.write_parquet(old, tmp_path / "as_collected.parquet", table="videos")
    tr.write_dataset(old, tmp_path / "data" / "videos", table="videos")
    admin(server, "delete", {"ids": ids[:5]})
    admin(server, "advance", {"days": 30})
    env = cli_env(server.url)
    # a file, rewritten in place
    text = ok(run_cli(["refresh", "videos.parquet", "--no-progress"], env, cwd=tmp_path))
    new = pl.read_parquet(tmp_path / "videos.parquet")
    removed = [int(x) for x in (tmp_path / "videos_removed.txt").read_text().split()]
    assert set(ids[:5]) <= set(removed) and f"rewrote videos.parquet: {new.height} videos" in text
    assert sorted(new["id"].to_list()) == sorted(set(ids) - set(removed))
    assert new["retrieved_at"].null_count() == 0
    both = old.join(new, on="id", suffix="_new")
    assert (both["view_count_new"] > both["view_count"]).all(), "30 days on, more views"
    # a dataset folder, rewritten in place; --out leaves the table as it is
    ok(run_cli(["refresh", "data/videos", "--no-progress"], env, cwd=tmp_path))
    held = tr.io.read_dataset(tmp_path / "data" / "videos").collect()
    assert sorted(held["id"].to_list()) == sorted(new["id"].to_list())
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [
        "videos",
        "videos_removed.txt",
    ]
    stamp = (tmp_path / "as_collected.parquet").read_bytes()
    ok(run_cli(["refresh", "as_collected.parquet", "--keep-removed", "--out", "all.csv",
                "--no-progress"], env, cwd=tmp_path))  # fmt: skip
    assert (tmp_path / "as_collected.parquet").read_bytes() == stamp
    kept = pl.read_csv(tmp_path / "all.csv", schema_overrides={"id": pl.Int64})
    assert kept["id"].to_list() == old["id"].to_list(), "every row kept, in order"


def test_update_appends_the_new_days_and_a_second_run_costs_nothing(tmp_path: Path) -> None:
    # The command reads the day from this machine's clock (UTC), as it would with the real
    # service: the server's clock runs on the real time here too. Its corpus is of 2024, so the
    # first run collects from --start to three days ago and finds the videos of late 2024.
    with sandbox_server() as srv:
        env = cli_env(srv.url)
        args = ["update", "monitor", "--hashtag", "fyp", "--no-progress"]
        plan = ok(run_cli([*args, "--start", "2024-12-20", "--dry-run"], env, cwd=tmp_path))
        assert "range 2024-12-20 .. " in plan and not (tmp_path / "monitor").exists()
        first = ok(run_cli([*args, "--start", "2024-12-20"], env, cwd=tmp_path))
        state = json.loads((tmp_path / "monitor" / UPDATE_STATE).read_text())
        through = dt.datetime.strptime(state["through"], "%Y%m%d").date()
        assert f"videos (2024-12-20 .. {through})" in first
        assert dt.date.today() - through <= dt.timedelta(days=4), "up to three days ago"
        before = stats(srv)
        again = ok(run_cli([*args, "--start", "2024-12-20"], env, cwd=tmp_path))
        assert "nothing new" in again and "--start is for the first run only" in again
        # the same day again: not one data request; the one token request (free of quota) says
        # the service's day, which a clock remembered from an earlier run may no longer be
        # (test_update_after_the_services_clock_moved_on_asks_for_the_new_days)
        assert sent(before, stats(srv)) == {}, "the same day again: not one data request"
        assert stats(srv)["oauth_token"] - before["oauth_token"] == 1
    held = tr.io.read_dataset(tmp_path / "monitor", table="videos").collect()
    assert held.height > 0 and held["id"].is_duplicated().sum() == 0
    days = held["create_time"].dt.date()
    assert days.min() >= dt.date(2024, 12, 20) and days.max() <= dt.date(2024, 12, 31)
    assert held["hashtag_names"].list.contains("fyp").all()


def test_update_takes_the_newest_day_from_the_services_clock(tmp_path: Path) -> None:
    # The served sandbox's clock says 2024-12-20 (its answers' Date header) while this machine's
    # says today: the newest day indexed in full is 2024-12-17 on the service's clock. Taken
    # from this machine's, the run asked for the two years since, a request per 31 days.
    with sandbox_server("--clock", "2024-12-20T12:00:00Z") as srv:
        env = cli_env(srv.url)
        before = stats(srv)
        run = ok(run_cli(["update", "monitor", "--hashtag", "climate", "--start", "2024-12-01",
                          "--no-progress"], env, cwd=tmp_path))  # fmt: skip
        spent = sent(before, stats(srv))
    assert "(2024-12-01 .. 2024-12-17)" in run, run
    assert spent == {"video_query": 1}, (spent, run)
    state = json.loads((tmp_path / "monitor" / UPDATE_STATE).read_text())
    assert state["through"] == "20241217"


def test_update_after_the_services_clock_moved_on_asks_for_the_new_days(tmp_path: Path) -> None:
    # A workshop's served sandbox moves its clock on (POST /_sandbox/advance) between two
    # updates. The second run took the day from the offset the first one had remembered in the
    # ledger (machine clock + offset = the sandbox's old day), found nothing new and stopped
    # without asking the service for its time: "nothing new to collect", 0 requests, every time.
    args = ["update", "monitor", "--hashtag", "climate", "--start", "2024-12-01", "--no-progress"]
    with sandbox_server("--clock", "2024-12-20T12:00:00Z") as srv:
        env = cli_env(srv.url)
        ok(run_cli(args, env, cwd=tmp_path))
        admin(srv, "advance", {"hours": 24 * 10})
        before = stats(srv)
        run = ok(run_cli(args, env, cwd=tmp_path))
        spent = sent(before, stats(srv))
    assert "nothing new" not in run, run
    assert "(2024-12-18 .. 2024-12-27)" in run, run
    assert spent == {"video_query": 1}, (spent, run)
    state = json.loads((tmp_path / "monitor" / UPDATE_STATE).read_text())
    assert state["through"] == "20241227"


def test_a_dry_run_of_update_plans_the_days_the_run_asks_for(tmp_path: Path) -> None:
    # The served sandbox's clock says 2024-12-20, this machine's today. The run takes its days
    # from the service's clock (the token answer's Date header): 2024-12-01 .. 2024-12-17, one
    # request. Its dry run took them from this machine's clock: up to three days before today,
    # "at least 24 request(s)" (kill6), a cost the run never had.
    args = ["update", "monitor", "--hashtag", "climate", "--start", "2024-12-01", "--no-progress"]
    with sandbox_server("--clock", "2024-12-20T12:00:00Z") as srv:
        env = cli_env(srv.url)
        before = stats(srv)
        plan = ok(run_cli([*args, "--dry-run"], env, cwd=tmp_path))
        planned = stats(srv)
        run = ok(run_cli(args, env, cwd=tmp_path))
        spent = sent(planned, stats(srv))
    assert "range 2024-12-01 .. 2024-12-17 (inclusive) -> 1 window(s)" in plan, plan
    assert "at least 1 request(s)" in plan and "machine's clock" not in plan, plan
    assert sent(before, planned) == {}, "a plan sends no data request"
    assert planned["oauth_token"] - before["oauth_token"] == 1, "only the token request"
    assert "(2024-12-01 .. 2024-12-17)" in run, run
    assert spent == {"video_query": 1}, ("the run costs what its plan said", spent, run)


def test_a_dry_run_of_update_without_credentials_says_which_clock_it_planned_on(
    tmp_path: Path,
) -> None:
    # Without credentials the service cannot be asked for its day: the plan is made on this
    # machine's clock, and says so instead of announcing days the run may never ask for.
    args = ["update", "monitor", "--hashtag", "climate", "--start", "2024-12-01", "--dry-run"]
    with sandbox_server("--clock", "2024-12-20T12:00:00Z") as srv:
        env = {k: v for k, v in cli_env(srv.url).items() if not k.startswith("TIKTOK_CLIENT_")}
        before = stats(srv)
        plan = ok(run_cli(args, env, cwd=tmp_path))
        after = stats(srv)
    assert after == before, "nothing sent, not even a token request"
    assert "planned on this machine's clock" in plan, plan
    assert "the service's day may differ" in plan, plan
    assert not (tmp_path / "monitor").exists()


def test_an_update_with_an_unknown_field_sends_not_even_the_token_request(tmp_path: Path) -> None:
    # update_videos asked the service for its day (the token request) before it checked fields=
    q = tr.Q.hashtag_name.eq("climate")
    with sandbox_server("--clock", "2024-12-20T12:00:00Z") as srv:
        before = stats(srv)
        with tr.Client("sandbox", "sandbox", base_url=srv.url, ledger=False) as client:
            for call in (tr.update_videos, tr.maintain.plan_update):
                with pytest.raises(tr.InvalidRequestError, match="'views'"):
                    call(q, tmp_path / "monitor", "2024-12-01", fields="views", client=client)
        assert stats(srv) == before, "a mistake is found before the first request"


def test_kill_9_after_the_upload_then_the_next_run_uploads_nothing(
    corpus: Sandbox, tmp_path: Path
) -> None:
    ids = pick(corpus, (6,), 25, seed=14)
    (tmp_path / "ids.txt").write_text("".join(f"{i}\n" for i in ids))
    args = ["compliance", "-f", "ids.txt", "--out", "valid.csv", "--no-progress"]
    with sandbox_server("--clock", CLOCK, "--validation-processing", "3600") as srv:
        env = cli_env(srv.url)
        proc = start_cli(args, env, cwd=tmp_path)
        try:
            deadline = time.monotonic() + 60
            while stats(srv).get("validation_status", 0) < 1:  # uploaded, and Processing
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert not (tmp_path / "valid.csv").exists()
        admin(srv, "delete", {"ids": ids[:2]})
        admin(srv, "advance", {"hours": 1})  # the task is done now
        text = ok(run_cli(args, env, cwd=tmp_path))
        counted = stats(srv)
    assert counted["validation_create"] == 1, "one upload over both runs"
    assert counted["validation_download"] == 1
    assert "23 of the 25 video ids are still valid; 2 are gone" in text
    assert "resumed" in text
