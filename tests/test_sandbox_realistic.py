"""The realistic profile (issue 19, api-notes §14): every data-quality finding happens at its
configured rate, is deterministic per seed, is off by default, and works over HTTP as well as
in-process.

Tolerances. The sandbox is deterministic for a seed, so none of these tests can flake; the
tolerances say how far a realised share may sit from the configured rate before the test calls
the mechanism wrong. Shares that the sandbox draws exactly (unreturnable videos: ``round(rate x
visible)``) are compared exactly. Shares drawn video by video (hidden slots, strays,
``voice_to_text``) are binomial: they must lie within 4 standard errors, ``4 * sqrt(p (1 - p) /
n)``, of the rate for the ``n`` items looked at (a rate off by a third fails at these sizes).
Every count is also compared exactly with the sandbox's own known truth (``Sandbox.truth``),
which is what later tests of the quality report, audits and samples will use.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import polars as pl
import pytest

from _sandboxes import Clock, MakeHttp, MakeSandbox, new_http, new_sandbox
from _servers import FORM, sandbox_server
from tiktok_research._endpoints import ENDPOINTS
from tiktok_research.sandbox import (
    ENTITY_COMMENT,
    ENTITY_VIDEO,
    FailingRange,
    Sandbox,
    SandboxConfig,
    run_server,
)
from tiktok_research.sandbox._corpus import REGIONS
from tiktok_research.sandbox._options import serve_config

NOW = calendar.timegm((2025, 1, 15, 12, 0, 0))
QUOTA = {"research": 1_000_000, "social": 1_000_000}
VIDEO = ENDPOINTS["video_query"].path
COMMENTS = ENDPOINTS["comments"].path


class Api:
    """One way of talking to a sandbox: in-process transport or a real HTTP server."""

    def __init__(self, sb: Sandbox, http: httpx.Client, kind: str) -> None:
        self.sb, self.http, self.kind = sb, http, kind
        self.http.headers["Authorization"] = f"Bearer {sb.issue_token()}"

    def post(self, path: str, body: dict[str, Any], fields: str) -> httpx.Response:
        return self.http.post(f"{path}?fields={fields}", json=body)

    def videos(self, body: dict[str, Any], fields: str = "id,username") -> dict[str, Any]:
        resp = self.post(VIDEO, body, fields)
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()["data"]
        return data

    def all_pages(
        self, query: dict[str, Any], start: str, end: str, fields: str = "id,username"
    ) -> tuple[int, list[dict[str, Any]]]:
        """(slots the cursor moved over, every row) of a whole search, 100 slots a page."""
        body: dict[str, Any] = {
            "query": query,
            "start_date": start,
            "end_date": end,
            "max_count": 100,
        }
        rows: list[dict[str, Any]] = []
        while True:
            data = self.videos(body, fields)
            rows += data["videos"]
            if not data["has_more"]:
                return data["cursor"], rows
            body.update(cursor=data["cursor"], search_id=data["search_id"])


def make(clock: Clock | None = None, **overrides: Any) -> Sandbox:
    overrides.setdefault("daily_quota", QUOTA)
    return new_sandbox(realistic=True, clock=clock or Clock(NOW), **overrides)


def cond(field: str, values: list[str], op: str = "IN") -> dict[str, Any]:
    return {"operation": op, "field_name": field, "field_values": values}


def within(share: float, rate: float, n: int) -> bool:
    """Whether a binomial share of ``n`` items is within 4 standard errors of ``rate``."""
    return abs(share - rate) <= 4 * math.sqrt(rate * (1 - rate) / n)


@pytest.fixture(scope="module")
def realistic() -> Sandbox:
    return make()


@pytest.fixture(scope="module", params=["in-process", "http"])
def api(request: pytest.FixtureRequest, realistic: Sandbox) -> Iterator[Api]:
    if request.param == "in-process":
        with new_http(realistic, token=False) as http:
            yield Api(realistic, http, "in-process")
        return
    with (
        run_server(realistic) as (url, _),
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        yield Api(realistic, http, "http")


def month_ends(year: int = 2024) -> list[tuple[str, str]]:
    return [
        (f"{year}{m:02d}01", f"{year}{m:02d}{calendar.monthrange(year, m)[1]:02d}")
        for m in range(1, 13)
    ]


#: The months of 2024 with the day on which every query fails (2024-10-08) left out.
WORKING = [*month_ends()[:9], ("20241001", "20241007"), ("20241009", "20241031"),
           *month_ends()[10:]]  # fmt: skip


# ------------------------------------------------------------------------------ the profile
def test_the_profile_documents_its_rates_and_default_config_keeps_them_off() -> None:
    real = SandboxConfig.realistic()
    assert (real.hidden_share, real.comment_hidden_share) == (0.10, 0.05)
    assert real.missing_video_rate == 0.125 and real.username_stray_rate == 0.05
    assert real.voice_to_text_rate == 0.15 and real.voice_to_text_region_weights
    assert real.random_yield == (0.40, 0.65) and real.id_layout == "published"
    assert [(r.start, r.end, r.field) for r in real.failing_ranges] == [
        (dt.date(2024, 3, 10), dt.date(2024, 3, 12), "hashtag_name"),
        (dt.date(2024, 10, 8), dt.date(2024, 10, 8), None),
    ]
    default = SandboxConfig()
    assert default.comment_hidden_share == 0 and default.failing_ranges == ()
    assert default.missing_video_rate == 0 and default.username_stray_rate == 0
    assert default.voice_to_text_region_weights is None and default.random_yield is None
    assert default.id_layout == "random" and default.hidden_share == 0.05  # as before
    # overrides, and ranges that follow the corpus's dates
    other = SandboxConfig.realistic(
        start_date=dt.date(2023, 1, 1), end_date=dt.date(2023, 6, 30), username_stray_rate=0
    )
    assert other.username_stray_rate == 0 and other.missing_video_rate == 0.125
    assert all(other.start_date <= r.start <= r.end <= other.end_date for r in other.failing_ranges)
    for bad in (
        {"missing_video_rate": 1.5},
        {"username_stray_rate": 1.0},
        {"random_yield": (0.7, 0.6)},
        {"voice_to_text_region_weights": {"UK": 2.0}},
        {"id_layout": "snowflake"},
        {"failing_ranges": ((dt.date(2024, 1, 1), dt.date(2024, 1, 2)),)},
    ):
        with pytest.raises(ValueError):
            SandboxConfig.realistic(**bad)
    with pytest.raises(ValueError, match="field"):
        FailingRange(dt.date(2024, 1, 1), dt.date(2024, 1, 2), field="hashtag")


def test_serve_config_builds_the_realistic_and_the_frozen_profiles() -> None:
    base: dict[str, Any] = {
        "seed": 3, "n_videos": 2_000, "n_users": None, "latency": None,
        "rate_limit_qps": None, "search_id_ttl": 7200, "daily_quota": None,
        "social_quota": None, "token_ttl": 7200, "quota_error": "daily_quota_limit_exceeded",
        "expired_search_id": "error", "faults": [], "fault_seed": 0, "clock": None,
        "index_lag_hours": 48.0, "removal_rate": None, "count_growth": None,
        "validation_processing": None,
    }  # fmt: skip
    config, _ = serve_config(**base, realistic=True)
    assert config == SandboxConfig.realistic(seed=3, n_videos=2_000)
    config, _ = serve_config(**base)
    assert config.missing_video_rate == 0 and not config.frozen_corpus
    config, _ = serve_config(**base, frozen_corpus=True)
    assert config.frozen_corpus and config.active_removal_rate == 0
    with pytest.raises(ValueError, match="--frozen-corpus"):
        serve_config(**{**base, "removal_rate": 0.01}, frozen_corpus=True)


# ------------------------------------------------------------------------------ hidden slots
def test_hidden_slots_at_the_configured_share(api: Api) -> None:
    query = {"and": [cond("region_code", ["US", "GB", "DE"])]}
    slots = returned = 0
    for start, end in WORKING[:6]:
        moved, rows = api.all_pages(query, start, end)
        truth = api.sb.truth.query(query, start, end)
        assert (moved, len(rows)) == (truth.slots, truth.returned)  # exactly the known truth
        assert {r["id"] for r in rows} == set(truth.frame.filter("returned")["id"])
        slots, returned = slots + moved, returned + len(rows)
    assert slots > 2_000
    assert within((slots - returned) / slots, 0.10, slots)


def test_hidden_comment_slots_at_the_configured_share(api: Api) -> None:
    sb = api.sb
    slots = returned = 0
    for vid in sb.corpus.video_ids_with_comments(40, min_comments=20):
        body: dict[str, Any] = {"video_id": vid, "max_count": 100, "cursor": 0}
        moved = got = 0
        while True:
            resp = api.post(COMMENTS, body, "id,video_id,parent_comment_id")
            assert resp.status_code == 200, resp.text
            data = resp.json()["data"]
            moved += data["cursor"] - body["cursor"]
            got += len(data["comments"])
            if not data["has_more"]:
                break
            body["cursor"] = data["cursor"]
        summary = sb.corpus.comment_summary(vid)  # the known truth, video by video
        assert (moved, got) == (summary["returnable"] + summary["hidden"], summary["returnable"])
        slots, returned = slots + moved, returned + got
    assert slots > 5_000
    assert within((slots - returned) / slots, 0.05, slots)


# ------------------------------------------------------------------------------ failing ranges
def test_failing_windows_answer_500_every_time_and_narrowing_isolates_them(api: Api) -> None:
    sb = api.sb
    hashtag = {"and": [cond("hashtag_name", ["fyp", "foryou"])]}
    spent = sb.requests_spent().get("video_query", 0)
    for _ in range(3):  # every time, and each failure costs a request
        resp = api.post(VIDEO, {"query": hashtag, "start_date": "20240301",
                                "end_date": "20240330"}, "id")  # fmt: skip
        assert resp.status_code == 500
        assert resp.json()["error"]["code"] == "internal_error"
    resp = api.post(VIDEO, {"query": hashtag, "start_date": "20240312", "end_date": "20240312",
                            "is_random": True}, "id")  # fmt: skip
    assert resp.status_code == 500  # random samples too
    assert sb.requests_spent()["video_query"] == spent + 4
    assert sb.request_log[-1].fault == "failing_range"
    # a keyword query over the same days works: that range fails hashtag queries only
    keyword = {"and": [cond("keyword", ["the"])]}
    ok = api.post(VIDEO, {"query": keyword, "start_date": "20240301", "end_date": "20240330"}, "id")
    assert ok.status_code == 200

    def fails(start: dt.date, end: dt.date) -> bool:
        body = {"query": hashtag, "start_date": f"{start:%Y%m%d}", "end_date": f"{end:%Y%m%d}"}
        status = api.post(VIDEO, body, "id").status_code
        assert sb.truth.window_fails(hashtag, start, end) == (status == 500)
        return status == 500

    def failing_days(start: dt.date, end: dt.date) -> list[dt.date]:
        if not fails(start, end):
            return []
        if start == end:
            return [start]
        mid = start + (end - start) // 2
        return failing_days(start, mid) + failing_days(mid + dt.timedelta(days=1), end)

    found: list[dt.date] = []
    for start, end in month_ends():
        found += failing_days(dt.datetime.strptime(start, "%Y%m%d").date(),
                              dt.datetime.strptime(end, "%Y%m%d").date())  # fmt: skip
    expected = [
        r.start + dt.timedelta(days=k)
        for r in sb.truth.failing_ranges
        for k in range((r.end - r.start).days + 1)
    ]
    assert found == expected == [dt.date(2024, 3, 10), dt.date(2024, 3, 11),
                                 dt.date(2024, 3, 12), dt.date(2024, 10, 8)]  # fmt: skip


# ------------------------------------------------------------------------------ unreturnable ids
def test_a_share_of_ids_exist_but_are_never_returned_by_query_or_by_id(api: Api) -> None:
    sb = api.sb
    c = sb.corpus
    missing = sb.truth.unreturnable_ids()
    visible = int((~c.hidden).sum())
    assert len(missing) == round(0.125 * visible)  # drawn exactly
    assert sb.truth.profile()["unreturnable_share"] == pytest.approx(0.125, abs=1e-4)
    # whole accounts: some accounts have every visible video missing, about half of them
    frame = c.videos_frame().filter(~pl.col("hidden"))
    per_account = frame.group_by("username").agg(n=pl.len(), missing=pl.col("unreturnable").sum())
    whole = per_account.filter(pl.col("missing") == pl.col("n"))
    assert 0.45 * len(missing) <= whole["n"].sum() <= 0.55 * len(missing)
    # by id: 300 unreturnable and 300 returnable ids, 100 ids a request, by creation month
    rng = np.random.default_rng(5)
    lookable = frame.filter(  # not created on the day every query fails
        pl.from_epoch("create_time").dt.date() != dt.date(2024, 10, 8)
    )
    pool = lookable.filter(pl.col("unreturnable"))["id"]
    sample = [int(i) for i in rng.choice(pool, 300, replace=False)]
    pool = lookable.filter(~pl.col("unreturnable"))["id"]
    fine = [int(i) for i in rng.choice(pool, 300, replace=False)]
    found: set[int] = set()
    lookup = pl.DataFrame({"id": sample + fine}).join(frame.select("id", "create_time"), on="id")
    lookup = lookup.with_columns(day=pl.from_epoch("create_time").dt.strftime("%Y%m%d"))
    for first, last in WORKING:  # windows of at most 31 days, 100 ids a request
        ids = lookup.filter(pl.col("day").is_between(pl.lit(first), pl.lit(last)))["id"].to_list()
        for k in range(0, len(ids), 100):
            query = {"and": [cond("video_id", [str(i) for i in ids[k : k + 100]])]}
            found |= {r["id"] for r in api.all_pages(query, first, last)[1]}
    assert found == set(fine)
    status = sb.truth.video_status(sample + fine)
    assert status.filter(pl.col("status") == "unreturnable")["id"].to_list() == sample
    # by query: a month of US videos returns none of them; the truth names the ones left out
    query = {"and": [cond("region_code", ["US"])]}
    _, rows = api.all_pages(query, "20240401", "20240430")
    got = {r["id"] for r in rows}
    truth = sb.truth.query(query, "20240401", "20240430")
    assert not got & set(missing) and truth.missing_ids
    assert set(truth.missing_ids) <= set(missing)
    assert (
        len(got) + len(truth.missing_ids)
        == frame.filter(
            (pl.col("region_code") == "US")
            & pl.from_epoch("create_time").dt.strftime("%Y%m").eq("202404")
        ).height
    )


def test_unreturnable_ids_are_stable_over_time_and_per_seed() -> None:
    clock = Clock(NOW)
    sb = make(clock, n_videos=5_000)
    before = sb.truth.unreturnable_ids()
    assert before == make(n_videos=5_000).truth.unreturnable_ids()  # same seed
    assert before != make(n_videos=5_000, seed=1).truth.unreturnable_ids()
    sb.advance(dt.timedelta(days=60))  # the corpus changes (removals) ...
    assert sb.truth.unreturnable_ids() == before  # ... the unreturnable set does not
    status = sb.truth.video_status(before)["status"].value_counts()
    counts = dict(zip(status["status"], status["count"], strict=True))
    assert set(counts) <= {"unreturnable", "removed"} and counts["unreturnable"] > 0.8 * len(before)


# ------------------------------------------------------------------------------ strays
def test_username_queries_get_planted_strays_at_the_configured_rate(api: Api) -> None:
    sb = api.sb
    c = sb.corpus
    per_user = np.bincount(c.author[~c.hidden & ~c.unreturnable], minlength=c.n_creators)
    names = [c.usernames[u] for u in np.argsort(-per_user)[:12]]
    rows_total = strays_total = 0
    for start, end in WORKING:
        for k in range(0, 12, 4):
            query = {"and": [cond("username", names[k : k + 4])]}
            _, rows = api.all_pages(query, start, end)
            strays = [r["id"] for r in rows if r["username"] not in names[k : k + 4]]
            truth = sb.truth.query(query, start, end)
            assert sorted(strays, reverse=True) == truth.stray_ids  # every planted stray
            rows_total += len(rows)
            strays_total += len(strays)
    assert rows_total > 1_000
    assert within(strays_total / rows_total, 0.05, rows_total)
    # strays meet the other conditions, and the same query gets the same strays
    us = np.flatnonzero(c.user_region[: c.n_creators] == REGIONS.index("US"))
    us_names = [c.usernames[u] for u in us[np.argsort(-per_user[us])][:4]]
    query = {"and": [cond("username", us_names), cond("region_code", ["US"])]}
    first = [r for w in WORKING[:3] for r in api.all_pages(query, *w, "id,username,region_code")[1]]
    again = [r for w in WORKING[:3] for r in api.all_pages(query, *w, "id,username,region_code")[1]]
    assert first == again and {r["region_code"] for r in first} == {"US"}
    assert any(r["username"] not in us_names for r in first)
    # no strays without a username condition
    assert not sb.truth.query({"and": [cond("region_code", ["US"])]}, "20240101",
                              "20240130").stray_ids  # fmt: skip


# ------------------------------------------------------------------------------ voice_to_text
def test_voice_to_text_is_sparse_and_skewed_by_region(api: Api) -> None:
    sb = api.sb
    shares = sb.truth.voice_to_text_share(by=None)
    n = int(shares["videos"][0])
    assert within(float(shares["share"][0]), 0.15, n)
    # by region: weight 2 for US and GB, 1.5 for CA, AU, IE, NZ, 1 elsewhere, so that the
    # overall chance stays at 15 %: p(region) = 0.15 * weight / mean weight over the corpus
    c = sb.corpus
    weights = {"US": 2.0, "GB": 2.0, "CA": 1.5, "AU": 1.5, "IE": 1.5, "NZ": 1.5}
    regions = c.videos_frame()["region_code"]
    mean = float(regions.replace_strict(weights, default=1.0, return_dtype=pl.Float64).mean())
    by_region = sb.truth.voice_to_text_share()
    others = set(by_region["region_code"]) - set(weights)
    for group, weight in (({"US", "GB"}, 2.0), (others, 1.0)):
        rows = by_region.filter(pl.col("region_code").is_in(list(group)))
        n_group = int(rows["videos"].sum())
        share = int(rows["with_voice_to_text"].sum()) / n_group
        assert within(share, 0.15 * weight / mean, n_group), (group, share)
    # the answers carry exactly that: US and DE videos over four months, through the API
    for region in ("US", "DE"):
        for start, end in WORKING[:4]:
            query = {"and": [cond("region_code", [region])]}
            _, got = api.all_pages(query, start, end, "id,voice_to_text")
            truth = sb.truth.query(query, start, end).frame.filter("returned")
            assert {r["id"] for r in got if "voice_to_text" in r} == set(
                truth.filter("has_voice_to_text")["id"]
            )


# ------------------------------------------------------------------------------ is_random
def test_random_samples_return_less_than_asked(api: Api) -> None:
    sb = api.sb
    before = len(sb.truth.random_draws)
    query = {"and": [cond("region_code", ["US", "GB", "DE", "FR", "BR", "ID"])]}
    yields = []
    for start, end in WORKING:
        body = {"query": query, "start_date": start, "end_date": end, "max_count": 100,
                "is_random": True}  # fmt: skip
        data = api.videos(body)
        assert data["has_more"] is False
        yields.append(len(data["videos"]) / 100)
    assert len(yields) == 13 and all(0.40 <= y <= 0.65 for y in yields), yields
    assert 0.45 <= float(np.mean(yields)) <= 0.60  # uniform on 40-65 %: mean 52.5 %
    draws = sb.truth.random_draws[before:]
    assert [d.returned / d.asked for d in draws] == yields
    # the population sampled is the query's returnable rows (the stratum size)
    start, end = WORKING[0]
    assert draws[0].available == sb.truth.query(query, start, end).returned
    # a small population: a share of it, rounded down
    january = sb.truth.query(query, "20240101", "20240131").strata(by=["username"])
    name = january.filter(pl.col("videos").is_between(5, 60))["username"][0]
    small = {"query": {"and": [cond("username", [name])]}, "start_date": "20240101",
             "end_date": "20240131", "max_count": 100, "is_random": True}  # fmt: skip
    got = len(api.videos(small)["videos"])
    last = sb.truth.random_draws[-1]
    assert last.available < 100 and got == math.floor(last.available * last.share) <= 0.65 * 100


def test_strata_sizes_of_a_query_are_known() -> None:
    sb = make(n_videos=5_000)
    query = {"and": [cond("region_code", ["US", "GB"])]}
    truth = sb.truth.query(query, "20240101", "20240130")
    strata = truth.strata(per="week", by=["region_code"])
    assert strata.columns == ["period", "region_code", "videos"]
    assert int(strata["videos"].sum()) == truth.returned
    assert strata["period"].dt.weekday().unique().to_list() == [1]  # weeks start on Monday
    days = truth.strata(per="day")
    assert days.height <= 30 and int(days["videos"].sum()) == truth.returned
    assert truth.strata()["videos"].to_list() == [truth.returned]
    with pytest.raises(ValueError, match="strata"):
        truth.strata(by=["hashtag_name"])


# ------------------------------------------------------------------------------ id layout
def _fields(i: int) -> tuple[int, int, int, int, int]:
    low = i & 0xFFFFFFFF
    return i >> 32, low >> 22, (low >> 8) & 15, (low >> 19) & 7, (low >> 12) & 3


def test_ids_have_the_published_bit_layout(api: Api) -> None:
    sb = api.sb
    _, rows = api.all_pages({"and": [cond("region_code", ["US"])]}, "20240501", "20240531",
                            "id,create_time")  # fmt: skip
    assert len(rows) > 200
    for r in rows:
        seconds, ms, entity, unused_hi, unused_lo = _fields(r["id"])
        assert entity == ENTITY_VIDEO == 13 and ms < 1000 and unused_hi == unused_lo == 0
        assert 25 <= r["create_time"] - seconds <= 80  # as in real ids (api-notes §3.1)
    vid = sb.corpus.video_ids_with_comments(1, min_comments=30)[0]
    resp = api.post(COMMENTS, {"video_id": vid, "max_count": 50}, "id,create_time,reply_count")
    comments = resp.json()["data"]["comments"]
    for cm in comments:
        seconds, ms, entity, _, _ = _fields(cm["id"])
        assert entity == ENTITY_COMMENT != ENTITY_VIDEO and ms < 1000
        assert 25 <= cm["create_time"] - seconds <= 80
    # a comment id still leads to its replies
    parent = next(cm for cm in comments if cm["reply_count"] > 0)
    replies = api.post(COMMENTS, {"comment_id": parent["id"]}, "id,parent_comment_id")
    assert replies.json()["data"]["comments"]
    for reply in replies.json()["data"]["comments"]:
        assert reply["parent_comment_id"] == parent["id"] and _fields(reply["id"])[2] == 2


def test_the_real_video_id_of_the_spec_decodes_like_the_sandbox_ids(
    make_sandbox: MakeSandbox,
) -> None:
    # the check of api-notes §8: 7320768196569599275 -> entity 13, 254 ms, machine 43
    _, ms, entity, hi, lo = _fields(7320768196569599275)
    assert (entity, ms, 7320768196569599275 & 255, hi, lo) == (13, 254, 43, 0, 0)
    default = make_sandbox(n_videos=5_000, frozen_corpus=True)
    entities = (default.corpus.ids >> 8) & 15
    assert 0.04 < float(np.mean(entities == 13)) < 0.09  # the default keeps random low bits


# ------------------------------------------------------------------------------ determinism, off
def test_same_seed_same_answers_other_seed_other_answers(make_http: MakeHttp) -> None:
    def session(seed: int) -> list[bytes]:
        sb = make(n_videos=5_000, seed=seed)
        http = make_http(sb)
        c = sb.corpus
        name = c.usernames[int(np.argmax(np.bincount(c.author)))]
        bodies = [
            {"query": {"and": [cond("username", [name])]}, "start_date": "20240101",
             "end_date": "20240130", "max_count": 100},
            {"query": {"and": [cond("region_code", ["US"])]}, "start_date": "20240201",
             "end_date": "20240228", "max_count": 100, "is_random": True},
            {"query": {"and": [cond("hashtag_name", ["fyp"])]}, "start_date": "20241001",
             "end_date": "20241010"},
        ]  # fmt: skip
        path = f"{VIDEO}?fields=id,username,voice_to_text"
        return [http.post(path, json=b).content for b in bodies]

    first = session(7)
    assert first == session(7)
    assert first != session(8)


def test_off_by_default_every_behaviour(make_sandbox: MakeSandbox, make_http: MakeHttp) -> None:
    sb = make_sandbox(daily_quota=QUOTA, frozen_corpus=True, clock=NOW)
    http = make_http(sb)
    api = Api(sb, http, "in-process")
    c = sb.corpus
    assert not c.unreturnable.any() and sb.truth.unreturnable_ids() == []
    hashtag = {"and": [cond("hashtag_name", ["fyp"])]}
    for start, end in (("20240301", "20240330"), ("20241001", "20241030")):
        assert api.post(VIDEO, {"query": hashtag, "start_date": start, "end_date": end},
                        "id").status_code == 200  # fmt: skip
    name = c.usernames[int(np.argmax(np.bincount(c.author)))]
    rows = [
        r
        for start, end in month_ends()
        for r in api.all_pages({"and": [cond("username", [name])]}, start, end)[1]
    ]
    assert len(rows) > 500 and {r["username"] for r in rows} == {name}
    body = {"query": {"and": [cond("region_code", ["US"])]}, "start_date": "20240101",
            "end_date": "20240130", "max_count": 100, "is_random": True}  # fmt: skip
    assert len(api.videos(body)["videos"]) == 100
    by_region = sb.truth.voice_to_text_share().filter(pl.col("videos") >= 500)
    for n, share in zip(by_region["videos"], by_region["share"], strict=True):
        assert within(share, 0.20, n)  # 20 % everywhere, no skew
    vid = c.video_ids_with_comments(1, min_comments=200)[0]
    assert c.comment_summary(vid)["hidden"] == 0


def test_the_truth_through_the_admin_paths(api: Api) -> None:
    sb = api.sb
    http = api.http
    profile = http.get("/_sandbox/truth").json()
    assert profile["unreturnable_ids"] == sb.truth.unreturnable_ids()
    assert profile["failing_ranges"][0] == {"start": "2024-03-10", "end": "2024-03-12",
                                            "field": "hashtag_name"}  # fmt: skip
    query = {"and": [cond("region_code", ["US"])]}
    body = {"query": query, "start_date": "20240101", "end_date": "20240130", "per": "week",
            "by": ["region_code"]}  # fmt: skip
    answer = http.post("/_sandbox/truth/query", json=body).json()
    truth = sb.truth.query(query, "20240101", "20240130")
    assert (answer["slots"], answer["returned"], answer["missing_ids"]) == (
        truth.slots, truth.returned, list(truth.missing_ids))  # fmt: skip
    assert sum(s["videos"] for s in answer["strata"]) == truth.returned
    ids = [*sb.truth.unreturnable_ids()[:3], 123]
    statuses = http.post("/_sandbox/truth/ids", json={"ids": ids}).json()["statuses"]
    assert [s["status"] for s in statuses] == ["unreturnable"] * 3 + ["unknown"]
    bad = http.post("/_sandbox/truth/query", json={"query": query})
    assert bad.status_code == 400 and "start_date" in bad.json()["error"]["message"]


# ------------------------------------------------------------------------------ changing corpus
def test_the_default_corpus_changes_with_the_clock_and_a_frozen_one_does_not(
    make_sandbox: MakeSandbox,
) -> None:
    for frozen in (False, True):
        clock = Clock(NOW)
        sb = make_sandbox(n_videos=5_000, frozen_corpus=frozen, clock=clock)
        rows = np.arange(sb.corpus.n_videos)
        at_epoch = sb.corpus.gone(rows, sb.days_passed(), clock.t).copy()
        views = sb.corpus.counts_at(rows, 0)["view_count"]
        sb.advance(dt.timedelta(days=30))
        later = sb.corpus.gone(rows, sb.days_passed(), sb.clock())
        grown = sb.corpus.counts_at(rows, sb.days_passed())["view_count"]
        if frozen:
            assert np.array_equal(later, at_epoch) and np.array_equal(grown, views)
        else:
            removed = float((later & ~at_epoch).sum() / (~at_epoch).sum())
            assert 0.03 < removed < 0.09  # about 0.2 % a day
            assert (grown > views).all()
    with pytest.raises(ValueError, match="frozen_corpus"):
        SandboxConfig(frozen_corpus=True, removal_rate=0.01)


# ------------------------------------------------------------------------------ other processes
@contextlib.contextmanager
def served(config_code: str) -> Iterator[str]:
    """A sandbox HTTP server in another process, made by ``serve()`` (what ``sandbox serve``
    runs) with the configuration ``config_code``; yields its base URL."""
    code = (
        "from tiktok_research.sandbox import SandboxConfig, serve\n"
        f"serve(port=0, config={config_code})\n"
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert found, line
        deadline = time.monotonic() + 60
        while httpx.post(found.group(0) + "/v2/oauth/token/", data=FORM).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        yield found.group(0)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=10)  # waits, and closes the pipe
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=10)


@pytest.mark.http
def test_a_realistic_server_in_another_process_has_the_same_known_truths(
    make_sandbox: MakeSandbox,
) -> None:
    here = make_sandbox(realistic=True, n_videos=5_000)
    c = here.corpus
    name = c.usernames[int(np.argmax(np.bincount(c.author[~c.hidden & ~c.unreturnable])))]
    query = {"and": [cond("username", [name])]}
    with (
        served("SandboxConfig.realistic(n_videos=5_000)") as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        token = http.post("/v2/oauth/token/", data=FORM).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        truth = http.get("/_sandbox/truth").json()
        assert truth["unreturnable_ids"] == here.truth.unreturnable_ids()
        assert {k: v for k, v in truth.items() if k != "unreturnable_ids"} == here.truth.profile()
        strays: list[int] = []
        for start, end in WORKING[:6]:
            body: dict[str, Any] = {"query": query, "start_date": start, "end_date": end,
                                    "max_count": 100}  # fmt: skip
            while True:
                data = http.post(f"{VIDEO}?fields=id,username", json=body).json()["data"]
                strays += [v["id"] for v in data["videos"] if v["username"] != name]
                if not data["has_more"]:
                    break
                body.update(cursor=data["cursor"], search_id=data["search_id"])
        expected = [i for w in WORKING[:6] for i in here.truth.query(query, *w).stray_ids]
        assert strays == expected and strays  # the same strays in every process (no hash())
        failing = {"query": {"and": [cond("hashtag_name", ["fyp"])]}, "start_date": "20240305",
                   "end_date": "20240315"}  # fmt: skip
        assert http.post(f"{VIDEO}?fields=id", json=failing).status_code == 500


@pytest.mark.http
def test_sandbox_serve_changes_with_its_clock_by_default() -> None:
    with sandbox_server() as srv:
        profile = httpx.get(srv.url + "/_sandbox/truth", timeout=10).json()
        assert (profile["removal_rate"], profile["count_growth"]) == (0.002, 1.0)
        assert profile["missing_video_rate"] == 0 and profile["id_layout"] == "random"
    with sandbox_server("--removal-rate", "0", "--count-growth", "0") as srv:
        profile = httpx.get(srv.url + "/_sandbox/truth", timeout=10).json()
        assert (profile["removal_rate"], profile["count_growth"]) == (0, 0)
