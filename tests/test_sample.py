"""tr.sample_videos: stratified random samples checked against the realistic sandbox's known truths:
for every stratum, what was asked and what came back (the sandbox's own record of each
``is_random`` draw), weights that sum to the known stratum sizes, one request per stratum, nothing
drawn twice. Every test counts the requests that reached the sandbox."""

from __future__ import annotations

import calendar
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import tiktok_research as tr
from _runs import stopped_by_budget
from tiktok_research.sample import plan_sample
from tiktok_research.sandbox import Sandbox, SandboxConfig

NOW = calendar.timegm((2025, 1, 15, 12, 0, 0))
QUOTA = {"research": 1_000_000, "social": 1_000_000}
Q3 = tr.Q.region_code.isin(["US", "GB", "DE"])


def _sandbox(**kw: Any) -> Sandbox:
    cfg = SandboxConfig.realistic(n_videos=20_000, frozen_corpus=True, daily_quota=dict(QUOTA),
                                  **kw)  # fmt: skip
    return Sandbox(cfg, clock=lambda: NOW)


def _client(sb: Sandbox, **kw: Any) -> tr.Client:
    return tr.Client.sandbox(sb, sleep=lambda s: None, **kw)


def _video_requests(sb: Sandbox) -> list[dict[str, Any]]:
    return [r.body or {} for r in sb.request_log if r.endpoint == "video_query"]


def _key(body: Any) -> tuple[str, str, str]:
    region = next(c["field_values"][0] for c in body["query"]["and"]
                  if c["field_name"] == "region_code" and c["operation"] == "EQ")  # fmt: skip
    return body["start_date"], body["end_date"], region


def test_asked_and_returned_per_stratum_and_weights_sum_to_the_known_sizes(
    tmp_path: Path,
) -> None:
    sb = _sandbox()
    sizes = sb.truth.query(Q3, "20240101", "20240331").strata("month", ["region_code"])
    s = tr.sample_videos(Q3, "2024-01-01", "2024-03-31", per="month", n=50,
                         strata=["region_code"], sizes=sizes, client=_client(sb),
                         archive=tmp_path, progress=False)  # fmt: skip
    # one request per stratum, each asking n at random
    bodies = _video_requests(sb)
    assert len(bodies) == s.strata.height == 9 == s.plan.min_requests
    assert all(b["is_random"] is True and b["max_count"] == 50 for b in bodies)
    # asked vs returned: the sandbox's own record of every draw
    draws = {_key(d.body): d for d in sb.truth.random_draws}
    for row in s.strata.iter_rows(named=True):
        d = draws[(row["window_start"].strftime("%Y%m%d"), row["window_end"].strftime("%Y%m%d"),
                   row["region_code"])]  # fmt: skip
        assert (row["asked"], row["returned"], row["status"]) == (d.asked, d.returned, "ok")
        assert row["size"] == d.available  # the truth's size is what the draw drew from
    assert s.strata["returned"].sum() < s.strata["asked"].sum()  # short draws, as published
    # weights: size / returned, summing to the known size of every stratum
    sums = s.videos.group_by("period", "region_code").agg(pl.col("weight").sum())
    joined = sizes.join(sums, on=["period", "region_code"])
    assert joined.height == 9
    assert joined["weight"].to_list() == pytest.approx(joined["videos"].cast(pl.Float64).to_list())
    assert s.weights_known and s.videos["stratum"].null_count() == 0
    assert s.videos.height == s.strata["returned"].sum()
    # the record is in the archive beside the answers, for readers of the archive
    saved = json.loads((s.report.archive / "strata.json").read_text())  # type: ignore[operator]
    assert [r["returned"] for r in saved["rows"]] == s.strata["returned"].to_list()
    assert saved["n"] == 50 and saved["per"] == "month"


def test_without_sizes_the_weights_are_unknown_and_a_full_collection_gives_them(
    tmp_path: Path,
) -> None:
    sb = _sandbox()
    client = _client(sb)
    s = tr.sample_videos(Q3, "2024-02-01", "2024-02-29", per="week", n=20, strata=["region_code"],
                         client=client, archive=tmp_path, progress=False)  # fmt: skip
    assert s.videos["weight"].null_count() == s.videos.height and not s.weights_known
    assert s.strata["size"].null_count() == s.strata.height
    assert "unknown" in str(s)
    # weeks start on Monday; the first and last are clipped to the range
    assert s.strata["window_start"].min().isoformat() == "2024-02-01"
    assert s.strata["period"].min().isoformat() == "2024-01-29"
    assert s.strata["window_end"].max().isoformat() == "2024-02-29"
    full = tr.fetch_videos(Q3, "2024-02-01", "2024-02-29", client=client, progress=False)
    n = len(_video_requests(sb))
    again = tr.sample_videos(Q3, "2024-02-01", "2024-02-29", per="week", n=20,
                             strata=["region_code"], sizes=full, client=client,
                             archive=tmp_path, progress=False)  # fmt: skip
    assert len(_video_requests(sb)) == n  # the draws held are never drawn again
    assert again.videos["id"].to_list() == s.videos["id"].to_list()
    truth = sb.truth.query(Q3, "20240201", "20240229").strata("week", ["region_code"])
    got = again.strata.select("period", "region_code", "size").sort("period", "region_code")
    assert got.rows() == truth.sort("period", "region_code").rows()


def test_a_failing_window_is_not_narrowed_and_the_stratum_says_failed(tmp_path: Path) -> None:
    sb = _sandbox()  # the realistic profile: every query touching 2024-10-08 answers 500
    with pytest.warns(tr.IncompleteCollectionWarning):
        s = tr.sample_videos(tr.Q.region_code.isin(["US", "GB"]), "2024-09-30", "2024-10-20",
                             per="week", n=20, strata=["region_code"], client=_client(sb),
                             archive=tmp_path, progress=False)  # fmt: skip
    failing = s.strata.filter(pl.col("status") == "failed")
    assert failing["period"].cast(pl.String).to_list() == ["2024-10-07", "2024-10-07"]
    assert s.strata.filter(pl.col("status") == "ok").height == 4
    # every request of the failing strata asked the whole week: a draw of half a week would
    # be another sample
    windows = {(b["start_date"], b["end_date"]) for b in _video_requests(sb)}
    assert windows == {("20240930", "20241006"), ("20241007", "20241013"),
                       ("20241014", "20241020")}  # fmt: skip
    assert not s.complete


def test_fetch_videos_is_random_window_is_not_split_when_it_fails() -> None:
    """Defect: the engine narrowed a failing is_random window into halves and drew from each (more
    requests, another sample). Failed before the fix (windows of 15 and 16 days were asked)."""
    sb = _sandbox()
    with pytest.warns(tr.IncompleteCollectionWarning):
        out = tr.fetch_videos(tr.Q.region_code.eq("US"), "2024-10-01", "2024-10-31",
                              is_random=True, client=_client(sb), progress=False)  # fmt: skip
    windows = {(b["start_date"], b["end_date"]) for b in _video_requests(sb)}
    assert windows == {("20241001", "20241031")}
    assert out.height == 0 and not out.report.complete


def test_a_stopped_sample_continues_and_draws_nothing_twice(tmp_path: Path) -> None:
    sb = _sandbox()
    args: dict[str, Any] = {"per": "month", "n": 30, "strata": ["region_code"],
                            "archive": tmp_path, "progress": False, "max_workers": 1}  # fmt: skip
    with stopped_by_budget():
        first = tr.sample_videos(Q3, "2024-01-01", "2024-03-31",
                                 client=_client(sb, max_requests=4), **args)  # fmt: skip
    assert first.report.requests_spent == 4
    assert first.strata["status"].value_counts().sort("status").rows() == [
        ("not asked yet", 5),
        ("ok", 4),
    ]
    second = tr.sample_videos(Q3, "2024-01-01", "2024-03-31", client=_client(sb), **args)
    assert second.complete and len(_video_requests(sb)) == 9
    kept = first.videos["id"].to_list()
    assert set(kept) <= set(second.videos["id"].to_list())  # the first draws are kept as they were


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"n": 0}, "n must be a whole number from 1 to 100"),
        ({"n": 101}, "n must be a whole number from 1 to 100"),
        ({"n": True}, "n must be"),
        ({"per": "year"}, "per must be"),
        ({"strata": ["region"]}, "cannot be a stratum"),
        ({"strata": ["username"]}, "the values of 'username' are not known"),
        ({"strata": {"region_code": ["XX"]}}, "region"),
        ({"strata": {"region_code": []}}, "non-empty list"),
        ({"sizes": pl.DataFrame({"period": [], "size": []})}, "lacks the column"),
        ({"sizes": {"US": 4}}, "sizes must be a polars DataFrame"),
        ({"start_date": "2024-04-01"}, "reversed"),
        ({"fields": ["nope"]}, "nope"),
    ],
)
def test_bad_input_is_refused_before_any_request(kwargs: dict[str, Any], words: str) -> None:
    sb = _sandbox()
    args: dict[str, Any] = {
        "query": Q3,
        "start_date": "2024-01-01",
        "end_date": "2024-03-31",
        "strata": ["region_code"],
        "client": _client(sb),
        "progress": False,
    }
    args.update(kwargs)
    with pytest.raises(tr.InvalidRequestError, match=words):
        tr.sample_videos(**args)
    assert sb.request_log == []


def test_the_dry_run_says_what_it_costs() -> None:
    p = plan_sample(Q3, "2024-01-01", "2024-06-30", per="month", n=100, strata=["region_code"])
    assert p.min_requests == 18 == p.keys.height
    text = str(p)
    assert "18 strata (6 month(s) x 3 region_code)" in text and "18 request(s)" in text
    mapped = plan_sample(tr.Q.keyword.eq("cat"), "2024-01-01", "2024-01-07", per="day", n=5,
                         strata={"region_code": ["US", "GB"]})  # fmt: skip
    assert mapped.min_requests == 14
    body = mapped.lookup.tasks[0].params
    assert body["is_random"] is True
    assert {c["field_name"] for c in body["query"]["and"]} == {"keyword", "region_code"}


def test_without_an_archive_the_sample_is_read_and_nothing_is_left_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failed before: without archive= the engine's temporary archive was gone before the draws
    were read, so every stratum said 'not asked yet' with 0 rows after 6 requests."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    sb = _sandbox()
    q = tr.Q.region_code.isin(["US", "GB"])
    s = tr.sample_videos(q, "2024-01-01", "2024-03-31", per="month", n=50,
                         strata=["region_code"], client=_client(sb), progress=False)  # fmt: skip
    assert len(_video_requests(sb)) == 6
    assert s.strata["status"].to_list() == ["ok"] * 6
    assert s.videos.height == s.strata["returned"].sum() > 0
    left = [p.name for p in tmp_path.iterdir() if "sandbox-ledger" not in p.name]
    assert s.report.archive is None and left == []  # the temporary archive is removed


def test_the_sandboxes_draw_does_not_depend_on_the_order_requests_arrive() -> None:
    """A sample sends its strata side by side, so they reach the sandbox in any order. The draw
    of each depends on the seed and the request, not on what was asked before it: before, one
    shared random stream gave the data-quality page's sample 150 or 151 videos, run to run."""
    windows = [("2024-01-01", "2024-01-31"), ("2024-02-01", "2024-02-29"),
               ("2024-03-01", "2024-03-31")]  # fmt: skip

    def drawn(order: list[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
        sb = _sandbox()
        client = _client(sb)
        out = {}
        for start, end in order:
            got = tr.fetch_videos(Q3, start, end, is_random=True, client=client, progress=False)
            out[start, end] = sorted(got["id"].to_list())
        return out

    forward, backward = drawn(windows), drawn(windows[::-1])
    assert all(forward[w] for w in windows)
    assert forward == backward
