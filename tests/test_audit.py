"""tr.audit_ids and ``tiktok-research audit``: availability audits checked against the realistic
sandbox's known truths (``Sandbox.truth``): which ids exist but are never returned, which were
removed since, and the share missing in each of three dated rounds. Every test counts the requests
that reached the sandbox."""

from __future__ import annotations

import calendar
import datetime as dt
import gzip
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from typer.testing import CliRunner

import tiktok_research as tr
from tiktok_research.audit import NOT_CHECKED, NOT_RETURNED, plan_audit
from tiktok_research.cli import app
from tiktok_research.sandbox import Sandbox, SandboxConfig

NOW = calendar.timegm((2025, 1, 15, 12, 0, 0))
QUOTA = {"research": 1_000_000, "social": 1_000_000}


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _video_requests(sb: Sandbox) -> list[dict[str, object]]:
    return [r.body or {} for r in sb.request_log if r.endpoint == "video_query"]


def _sandbox(**kw: object) -> tuple[Sandbox, Clock]:
    clock = Clock(NOW)
    cfg = SandboxConfig.realistic(n_videos=6_000, daily_quota=dict(QUOTA), **kw)
    return Sandbox(cfg, clock=clock), clock


def _donated(sb: Sandbox, n: int = 900) -> list[int]:
    """A 'data donation': ids of videos that existed, returned or not (hidden ones left out, as
    a donor would not see them), from the first months of the corpus."""
    status = sb.truth.video_status(sb.corpus.ids[: n + 200].tolist())
    return status.filter(pl.col("status") != "hidden")["id"].head(n).to_list()


def test_three_rounds_find_the_unreturnable_ids_and_the_removed_ones(tmp_path: Path) -> None:
    sb, clock = _sandbox(removal_rate=0.01)
    client = tr.Client.sandbox(sb)
    ids = _donated(sb)
    unreturnable = set(sb.truth.unreturnable_ids()) & set(ids)
    assert unreturnable  # the realistic profile plants some among them
    expected_shares = []
    for k in range(3):
        before = len(_video_requests(sb))
        plan = plan_audit(ids, archive=tmp_path, client=client, warn=False)
        audit = tr.audit_ids(ids, archive=tmp_path, client=client, progress=False)
        truth = sb.truth.video_status(ids)
        missing = set(truth.filter(pl.col("status") != "returned")["id"].to_list())
        expected_shares.append(len(missing) / len(ids))
        # this round: exactly the ids the sandbox does not return now, at the plan's cost
        assert set(audit.missing()) == missing
        assert len(_video_requests(sb)) - before == plan.min_requests == audit.report.requests_spent
        assert audit.rounds == k + 1 and audit.complete
        clock.t += 10 * 86_400  # ten days pass: some videos are deleted in between
    by_round = audit.by_round()
    assert by_round["round"].to_list() == [0, 1, 2]
    assert by_round["missing_share"].to_list() == pytest.approx(expected_shares)
    assert by_round["checked"].to_list() == [len(ids)] * 3
    # the dated history: each round checked when the sandbox's clock said
    assert [t.date() for t in by_round["checked_at"]] == [
        dt.datetime.fromtimestamp(NOW + 10 * 86_400 * k, dt.UTC).date() for k in range(3)
    ]
    assert expected_shares[0] < expected_shares[2]  # removals add up over the rounds
    # never found in any round: the unreturnable ones, and those removed before round 0
    gone_at_first = set(audit.missing(0))
    assert set(audit.never_found()) == gone_at_first
    assert unreturnable <= set(audit.never_found())
    assert (
        audit.table.filter(pl.col("found"))["reason"].null_count()
        == audit.table.filter(pl.col("found")).height
    )
    assert set(audit.table.filter(~pl.col("found"))["reason"]) == {NOT_RETURNED}


def test_by_month_of_creation_matches_the_truth(tmp_path: Path) -> None:
    sb, _ = _sandbox(frozen_corpus=True)
    client = tr.Client.sandbox(sb)
    ids = _donated(sb, 1_200)
    audit = tr.audit_ids(ids, archive=tmp_path, client=client, progress=False)
    truth = sb.truth.video_status(ids).with_columns(
        month=pl.from_epoch(pl.col("id") // (1 << 32), time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.truncate("1mo")
        .dt.date(),
        missing=pl.col("status") != "returned",
    )
    want = truth.group_by("month").agg(pl.col("missing").mean()).sort("month")
    got = audit.by_month().sort("month")
    assert got["month"].to_list() == want["month"].to_list()
    assert got["missing_share"].to_list() == pytest.approx(want["missing"].to_list())
    assert len(want) >= 2


def test_a_stopped_round_is_continued_not_paid_twice(tmp_path: Path) -> None:
    sb, _ = _sandbox(frozen_corpus=True)
    ids = _donated(sb)
    plan = plan_audit(ids, archive=tmp_path, warn=False)
    assert plan.min_requests >= 4
    with (
        pytest.warns(tr.IncompleteCollectionWarning, match="Run the same call again"),
        pytest.warns(tr.QuotaWarning, match="max_requests=2"),  # said before the first request
    ):
        first = tr.audit_ids(
            ids, archive=tmp_path, client=tr.Client.sandbox(sb, max_requests=2),
            progress=False, max_workers=1,
        )  # fmt: skip
    assert not first.complete and first.report.requests_spent == 2
    assert first.rounds == 1
    # ids of batches not asked yet are "not checked", never "missing"
    assert first.by_round()["not_checked"][0] > 0
    assert set(first.table.filter(pl.col("found").is_null())["reason"]) == {NOT_CHECKED}
    n = len(_video_requests(sb))
    second = tr.audit_ids(ids, archive=tmp_path, client=tr.Client.sandbox(sb), progress=False)
    assert second.complete and second.rounds == 1  # the same round, finished
    assert len(_video_requests(sb)) - n == plan.min_requests - 2
    # a finished round is never continued: the next call adds one
    third = tr.audit_ids(ids, archive=tmp_path, client=tr.Client.sandbox(sb), progress=False)
    assert third.rounds == 2 and len(_video_requests(sb)) - n == 2 * plan.min_requests - 2
    # resume=False adds a round at once
    assert plan_audit(ids, archive=tmp_path, resume=False, warn=False).round == 2


def test_not_video_ids_are_asked_and_named_never_refused(tmp_path: Path) -> None:
    sb, _ = _sandbox(frozen_corpus=True)
    client = tr.Client.sandbox(sb)
    real = _donated(sb, 50)
    account = (real[0] & ~0xF00) | (4 << 8)  # same time, entity type 4 (a user account)
    audit = tr.audit_ids([*real, account], archive=tmp_path, client=client, progress=False)
    asked = {
        int(v)
        for body in _video_requests(sb)
        for cond in body["query"]["and"]  # type: ignore[index]
        for v in cond["field_values"]
    }
    assert account in asked  # looked up like the others
    row = audit.table.filter(pl.col("id") == account).row(0, named=True)
    assert row["found"] is False
    assert (
        row["reason"]
        == "not a video id by its bits (entity type 4: user account; Steel et al. 2025)"
    )
    assert "1 of the missing ids is not a video id by its bits" in str(audit)


def test_hydrate_names_not_video_ids_with_the_reason(tmp_path: Path) -> None:
    sb, _ = _sandbox(frozen_corpus=True)
    real = _donated(sb, 20)
    device = (real[0] & ~0xF00) | (6 << 8)
    videos = tr.fetch_videos_by_id([*real, device], client=tr.Client.sandbox(sb), progress=False)
    assert device in videos.report.not_found
    assert any(f"{device}: not a video id by its bits (entity type 6: device" in w
               for w in videos.report.warnings)  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"archive": None}, "needs archive=DIR"),
        ({"ids": [1.5e18]}, "float"),
        ({"ids": []}, "no video ids"),
        ({"batch_size": 0}, "batch_size"),
        ({"resume": "yes"}, "resume"),
        ({"max_workers": 0}, "max_workers"),
        ({"client": "sandbox"}, "client must be"),
    ],
)
def test_bad_input_is_refused_before_any_request(
    tmp_path: Path, kwargs: dict[str, object], words: str
) -> None:
    sb, _ = _sandbox(frozen_corpus=True)
    args: dict[str, object] = {"ids": [7320768196569599275], "archive": tmp_path,
                               "client": tr.Client.sandbox(sb), "progress": False}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(tr.InvalidRequestError, match=words):
        tr.audit_ids(**args)  # type: ignore[arg-type]
    assert sb.request_log == []


def test_an_archive_that_is_a_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(tr.InvalidRequestError, match="is a file"):
        tr.audit_ids([7320768196569599275], archive=f)


def test_a_damaged_round_says_not_checked_never_missing(tmp_path: Path) -> None:
    sb, _ = _sandbox(frozen_corpus=True)
    client = tr.Client.sandbox(sb)
    ids = _donated(sb)
    first = tr.audit_ids(ids, archive=tmp_path, client=client, progress=False)
    folder = first.report.archive
    assert folder is not None
    pages = sorted(folder.glob("pages-*.jsonl*"))
    assert pages
    for p in pages:  # cut every page file in half: answers lost
        data = gzip.decompress(p.read_bytes()) if p.name.endswith(".gz") else p.read_bytes()
        p.write_bytes(gzip.compress(data[: len(data) // 2]) if p.name.endswith(".gz")
                      else data[: len(data) // 2])  # fmt: skip
    again = tr.audit_ids(ids, archive=tmp_path, client=client, progress=False, resume=False)
    round0 = again.table.filter(pl.col("round") == 0)
    lost = round0.filter(pl.col("found").is_null())
    assert lost.height > 0 and set(lost["reason"]) == {NOT_CHECKED}
    # what could be read keeps its answer; nothing lost is called missing
    assert set(again.missing(0)) <= set(again.missing(1))


# ------------------------------------------------------------------------------ the command


def _ids_file(tmp_path: Path) -> Path:
    runner = CliRunner()
    r = runner.invoke(app, ["videos", "--sandbox", "--region", "US", "--start", "2024-01-01",
                            "--end", "2024-01-04", "--out", str(tmp_path / "v.parquet"),
                            "--archive", str(tmp_path / "a1"), "--no-progress"])  # fmt: skip
    assert r.exit_code == 0, r.output
    ids = pl.read_parquet(tmp_path / "v.parquet")["id"].to_list()
    path = tmp_path / "ids.txt"
    path.write_text("\n".join(map(str, ids)) + "\n")
    return path


def test_the_command_dry_run_sends_nothing_and_runs_add_rounds(tmp_path: Path) -> None:
    runner = CliRunner()
    ids = _ids_file(tmp_path)
    arch = tmp_path / "audit-archive"
    base = ["audit", "--sandbox", "-f", str(ids), "--archive", str(arch), "--no-progress"]
    dry = runner.invoke(app, [*base, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "adds round 0" in dry.output and "at least 1 request(s)" in dry.output
    assert not arch.exists()  # nothing asked, nothing written
    out = tmp_path / "audit.csv"
    for k in range(2):
        r = runner.invoke(app, [*base, "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert f"{k + 1} round(s)" in r.output and f"round {k}" in r.output
    table = pd.read_csv(out)  # pandas defaults: the ids stay exact (int64)
    want = [int(line) for line in ids.read_text().split()]
    assert sorted(table.loc[table["round"] == 1, "id"].tolist()) == sorted(want)
    assert table["found"].all()


def test_the_command_refuses_bad_input_with_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["audit", "--sandbox", "12.5", "--archive", str(tmp_path / "a")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = runner.invoke(app, ["audit", "--sandbox", "7320768196569599275", "--out", "x.txt"])
    assert r.exit_code == 2 and "unknown output format" in r.output


@pytest.mark.filterwarnings("default")  # the command shows its budget note, as a user sees it
def test_the_command_stops_on_its_budget_with_exit_3_and_finishes_the_round(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    sb = Sandbox(SandboxConfig(n_videos=20_000))  # the command's --sandbox corpus (same seed)
    ids = sb.corpus.ids[::40][:400].tolist()  # spread over the year: one request per month
    path = tmp_path / "ids.txt"
    path.write_text("\n".join(map(str, ids)) + "\n")
    base = ["audit", "--sandbox", "-f", str(path), "--archive", str(tmp_path / "arch"),
            "--out", str(tmp_path / "audit.parquet"), "--no-progress"]  # fmt: skip
    cost = plan_audit(ids, archive=tmp_path / "arch", warn=False).min_requests
    assert cost > 5
    dry = runner.invoke(app, [*base, "--dry-run"])
    assert dry.exit_code == 0 and f"at least {cost} request(s)" in dry.output, dry.output
    first = runner.invoke(app, [*base, "--max-requests", "5"])
    assert first.exit_code == 3, first.output
    assert "this run: 5 requests sent to video_query, 5 charged" in first.output
    assert "not checked" in first.output
    second = runner.invoke(app, base)
    assert second.exit_code == 0, second.output
    assert "1 round(s)" in second.output and f"this run: {cost - 5} requests sent" in second.output
    table = pl.read_parquet(tmp_path / "audit.parquet")
    assert table["id"].to_list() == sorted(ids) and table["found"].null_count() == 0


def test_hydrate_prints_the_reason_beside_a_not_video_id(tmp_path: Path) -> None:
    runner = CliRunner()
    sb = Sandbox(SandboxConfig(n_videos=20_000))
    real = int(sb.corpus.ids[100])
    device = (real & ~0xF00) | (6 << 8)
    if device == real:
        device = (real & ~0xF00) | (4 << 8)
    r = runner.invoke(app, ["hydrate", "--sandbox", str(real), str(device), "--out",
                            str(tmp_path / "v.parquet"), "--archive", str(tmp_path / "a"),
                            "--no-progress"])  # fmt: skip
    assert r.exit_code == 0, r.output
    line = next(x for x in r.output.splitlines() if str(device) in x)
    assert "not a video id by its bits (entity type" in line
    assert (tmp_path / "v_not_found.txt").read_text().split() == [str(device)]


def test_ids_in_a_failing_range_are_not_checked_never_missing(tmp_path: Path) -> None:
    """The realistic sandbox answers 500 to every query touching 2024-10-08, look-ups by id too:
    those ids are a gap (found null, with the reason), not missing videos."""
    sb, _ = _sandbox(frozen_corpus=True)
    created = [dt.datetime.fromtimestamp(int(t), dt.UTC).date() for t in sb.corpus.create_time]
    near = [int(i) for i, d in zip(sb.corpus.ids, created, strict=True)
            if dt.date(2024, 10, 6) <= d <= dt.date(2024, 10, 10)]  # fmt: skip
    assert near
    client = tr.Client.sandbox(sb, sleep=lambda s: None)
    with pytest.warns(tr.IncompleteCollectionWarning):
        audit = tr.audit_ids(near, archive=tmp_path, client=client, progress=False)
    table = audit.table
    # an id's window runs from the day of its time bits to that day plus a margin (api-notes §8):
    # the ids whose window touches the failing day are a gap; the engine sets that day aside and
    # asks the other days, so ids of the days around it are checked
    from tiktok_research.plan import ID_TIME_MARGIN

    def touches(i: int) -> bool:
        first = dt.datetime.fromtimestamp(i >> 32, dt.UTC).date()
        last = dt.datetime.fromtimestamp((i >> 32) + ID_TIME_MARGIN, dt.UTC).date()
        return first <= dt.date(2024, 10, 8) <= last

    failing = [i for i in near if touches(i)]
    gap = table.filter(pl.col("found").is_null())
    returned = set(table.filter(pl.col("found"))["id"].to_list())  # found by another request
    assert failing and set(failing) - returned <= set(gap["id"].to_list())
    assert table.filter(pl.col("found").is_not_null()).height > 0  # the days around it: checked
    assert set(gap["reason"]) == {NOT_CHECKED}
    truth = sb.truth.video_status(near)
    checked = table.filter(pl.col("found").is_not_null())
    missing = set(truth.filter(pl.col("status") != "returned")["id"].to_list())
    assert set(checked.filter(~pl.col("found"))["id"].to_list()) == missing & set(
        checked["id"].to_list()
    )
