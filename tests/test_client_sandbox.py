"""The client against the in-process sandbox: every endpoint, error class, fault kind and limit."""

from __future__ import annotations

import json
import threading
import warnings
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from _sandboxes import Clock, MakeClient, MakeSandbox
from tiktok_research.client import Client
from tiktok_research.errors import (
    AuthenticationError,
    BudgetExhaustedError,
    InvalidRequestError,
    NotYetIndexedWarning,
    QuotaExhaustedError,
    RateLimitedError,
    ScopeNotAuthorizedError,
    ServerError,
    TikTokResearchError,
    UnavailableError,
)
from tiktok_research.fetch import fetch_videos
from tiktok_research.plan import plan_videos
from tiktok_research.query import Criteria, Q, Query
from tiktok_research.sandbox import FAULT_KINDS, Sandbox, SandboxConfig

NO_SLEEP = {"sleep": lambda s: None}
MANY = ~Q.video_length.eq("EXTRA_LONG")  # matches most videos: ~165 per 30 days in this corpus


CONFIG = SandboxConfig(n_videos=2000, seed=3)


@pytest.fixture
def sb(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox(CONFIG)


@pytest.fixture
def client(sb: Sandbox, make_client: MakeClient) -> Client:
    return make_client(sb)


def qv(client: Client, query: Any, start: Any, end: Any, **kw: Any) -> list[dict[str, Any]]:
    """``client.query_videos`` of the plan of ``plan_videos`` (windows are planned above it)."""
    return client.query_videos(plan_videos(query, start, end, client=client, **kw))


def window(client: Client, q: Any, start: str, end: str, **kw: Any) -> Any:
    """The pages of one date window of a video query (at most 30 days)."""
    params = {"query": q, "start_date": start, "end_date": end}
    return client.pages("video_query", params, **kw)


def data_requests(sb: Sandbox, key: str = "sandbox") -> int:
    return sum(n for ep, n in sb.requests_spent(key).items() if ep != "oauth_token")


def truth_ids(sb: Sandbox, start: date, end: date, regions: list[str]) -> set[int]:
    f = sb.corpus.videos_frame()
    lo = datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()
    hi = datetime(end.year, end.month, end.day, tzinfo=UTC).timestamp() + 86400
    sel = f.filter(
        (pl.col("create_time") >= lo)
        & (pl.col("create_time") < hi)
        & pl.col("region_code").is_in(regions)
        & ~pl.col("hidden")
    )
    return set(sel["id"].to_list())


# --- every endpoint ---------------------------------------------------------------------------


def test_query_videos_across_windows_matches_ground_truth_exactly(
    sb: Sandbox, client: Client
) -> None:
    start, end = date(2024, 1, 20), date(2024, 4, 10)  # 3 windows, two boundaries
    videos = qv(client, Q.region_code.isin(["US", "GB"]), start, end)
    ids = [v["id"] for v in videos]
    assert len(ids) == len(set(ids)), "a video was counted twice at a window boundary"
    assert set(ids) == truth_ids(sb, start, end, ["US", "GB"]), "a video was lost"
    assert all(isinstance(i, int) and i > 2**53 for i in ids)  # 19-digit ids stay exact ints
    bodies = [r.body for r in sb.request_log if r.endpoint == "video_query"]
    windows = sorted({(b["start_date"], b["end_date"]) for b in bodies})
    assert windows == [("20240120", "20240219"), ("20240220", "20240321"), ("20240322", "20240410")]


def test_boundary_days_each_asked_once(sb: Sandbox, client: Client) -> None:
    # Videos created on the last day of window 1 and the first day of window 2 are all there once.
    start, end = date(2024, 1, 1), date(2024, 2, 15)
    videos = qv(client, Q.region_code.isin(["US"]), start, end)
    days = [datetime.fromtimestamp(v["create_time"], UTC).date() for v in videos]
    for boundary in (date(2024, 1, 31), date(2024, 2, 1)):
        expected = truth_ids(sb, boundary, boundary, ["US"])
        got = [v["id"] for v, d in zip(videos, days, strict=True) if d == boundary]
        assert sorted(got) == sorted(expected)


def test_video_pages_follow_cursor_and_search_id(sb: Sandbox, client: Client) -> None:
    pages = list(window(client, MANY, "20240101", "20240130", max_count=50))
    assert len(pages) >= 3
    assert pages[0].search_id and pages[1].request["body"]["search_id"] == pages[0].search_id
    assert pages[1].request["body"]["cursor"] == pages[0].cursor
    assert all(p.request["body"]["max_count"] == 50 for p in pages)  # always full pages
    assert pages[-1].state is None and all(p.state is not None for p in pages[:-1])
    assert "Authorization" not in json.dumps(pages[0].request)
    assert json.loads(pages[0].raw)["data"] == pages[0].data


@pytest.mark.parametrize("max_total", [1, 99, 100, 101, 250])
def test_max_total_is_exact_and_spends_no_extra_request(
    sb: Sandbox, client: Client, max_total: int, make_client: MakeClient
) -> None:
    videos = qv(client, MANY, "20240101", "20240331", max_total=max_total)
    assert len(videos) == max_total
    pages_needed = data_requests(sb)
    # Never more requests than the pages that could hold max_total rows plus the short ones.
    log = [r for r in sb.request_log if r.endpoint == "video_query"]
    assert len(log) == pages_needed
    # The last request was needed: without it we would have fewer than max_total.
    client2 = make_client(sb, max_requests=pages_needed - 1)
    with pytest.raises(BudgetExhaustedError):
        qv(client2, MANY, "20240101", "20240331", max_total=max_total)


def test_user_info_and_unavailable_users(sb: Sandbox, client: Client) -> None:
    name = sb.corpus.sample_usernames(1)[0]
    info = client.user_info("@" + name)
    assert len(info) == 1 and info[0]["username"] == name and "follower_count" in info[0]
    with pytest.raises(UnavailableError, match="cannot find the user") as e:
        client.user_info("no_such_user_zz")
    assert e.value.code == "invalid_params" and e.value.http_status == 400 and e.value.log_id
    with pytest.raises(UnavailableError, match="cannot return"):
        client.user_info(sb.corpus.sample_usernames(1, kind="private")[0])


def test_comments_and_replies(sb: Sandbox, client: Client) -> None:
    vid = sb.corpus.video_ids_with_comments(1)[0]
    comments = client.comments(video_id=vid)
    n = int(sb.corpus.comment_count[sb.corpus.row_of_id(vid)])
    assert len(comments) == min(n, 1000)
    assert len({c["id"] for c in comments}) == len(comments)
    with_replies = [c for c in comments if c.get("reply_count")]
    if with_replies:
        replies = client.comments(comment_id=with_replies[0]["id"])
        assert replies and all(r["parent_comment_id"] == with_replies[0]["id"] for r in replies)
    with pytest.raises(InvalidRequestError, match="exactly one of video_id"):
        client.comments(video_id=vid, comment_id=1)


def test_comment_cursor_never_exceeds_the_1000_cap(sb: Sandbox, make_client: MakeClient) -> None:
    vid = sb.corpus.video_ids_with_comments(1, min_comments=1)[0]
    client = make_client(sb)
    pages = list(client.pages("comments", {"video_id": vid}, max_count=70))
    for p in pages:
        b = p.request["body"]
        assert b["cursor"] + b["max_count"] <= 1000


@pytest.mark.parametrize(
    "method, kind, key",
    [
        ("liked_videos", "liked_public", "id"),
        ("reposted_videos", "reposts_public", "id"),
        ("following", "following_public", "username"),
        ("followers", "public", "username"),
        ("pinned_videos", "public", "id"),
    ],
)
def test_user_lists(sb: Sandbox, client: Client, method: str, kind: str, key: str) -> None:
    name = sb.corpus.sample_usernames(1, kind=kind)[0]
    items = getattr(client, method)(name)
    assert isinstance(items, list)
    assert all(key in it for it in items)
    if method in ("liked_videos", "reposted_videos", "following"):
        private = sb.corpus.sample_usernames(1, kind="private")[0]
        with pytest.raises(UnavailableError):
            getattr(client, method)(private)


def test_followers_paginate_by_timestamp(sb: Sandbox, client: Client) -> None:
    name = sb.corpus.sample_usernames(1, kind="many_followers")[0]
    pages = list(client.pages("followers", {"username": name}, max_total=120))
    assert len(pages) >= 2 and sum(len(p.items) for p in pages) == 120
    assert "cursor" not in pages[0].request["body"]  # first page: "now"
    assert pages[1].request["body"]["cursor"] == pages[0].cursor
    assert pages[1].request["body"]["cursor"] < pages[0].request.get("cursor", 10**11)  # seconds
    assert sb.requests_spent()["followers"] == len(pages)
    assert client.quota.used["social"] == len(pages) and client.quota.used["research"] == 0


def test_window_generators_run_concurrently_and_share_the_client(
    sb: Sandbox, make_client: MakeClient
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tiktok_research._windows import split_windows

    client = make_client(sb, qps=1000.0)
    windows = split_windows("20240101", "20240430")

    def run(w: tuple[date, date]) -> list[int]:
        pages = window(client, MANY, w[0].isoformat(), w[1].isoformat(), max_count=50)
        return [v["id"] for p in pages for v in p.items]

    with ThreadPoolExecutor(4) as pool:
        ids = [i for chunk in pool.map(run, windows) for i in chunk]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(v["id"] for v in qv(client, MANY, "20240101", "20240430"))
    assert client.token_fetches == 1
    with pytest.raises(InvalidRequestError, match="at most 30 days"):
        window(client, MANY, "20240101", "20240301")


def test_playlist_and_shop_endpoints(sb: Sandbox, client: Client) -> None:
    pid = int(sb.corpus.playlist_ids[0])
    pl_ = client.playlist_info(pid, max_count=2)
    assert pl_[0]["playlist_id"] == pid
    assert len(pl_[0]["playlist_video_ids"]) == pl_[0]["playlist_item_total"]
    shops = client.tts_shops("store")
    assert shops and all("shop_id" in s for s in shops)
    products = client.tts_products(shops[0]["shop_id"])
    assert products and all("product_id" in p for p in products)
    reviews = client.tts_reviews(products[0]["product_id"])
    assert isinstance(reviews, list)
    body = next(r.body for r in sb.request_log if r.endpoint == "tts_shop")
    assert body["fields"].startswith("shop_name")  # TikTok Shop: fields in the body


def test_every_endpoint_reachable_through_pages(sb: Sandbox, client: Client) -> None:
    c = sb.corpus
    params: dict[str, dict[str, Any]] = {
        "video_query": {
            "query": Q.region_code.eq("US"),
            "start_date": "20240301",
            "end_date": "20240305",
        },
        "user_info": {"username": c.sample_usernames(1)[0]},
        "comments": {"video_id": c.video_ids_with_comments(1)[0]},
        "liked_videos": {"username": c.sample_usernames(1, kind="liked_public")[0]},
        "pinned_videos": {"username": c.sample_usernames(1)[0]},
        "reposted_videos": {"username": c.sample_usernames(1, kind="reposts_public")[0]},
        "followers": {"username": c.sample_usernames(1)[0]},
        "following": {"username": c.sample_usernames(1, kind="following_public")[0]},
        "playlist_info": {"playlist_id": int(c.playlist_ids[0])},
        "tts_shop": {"shop_name": "TEST SHOP"},
        "tts_product": {"shop_id": int(c.shop_ids[0])},
        "tts_review": {"product_id": int(c.product_ids[0])},
    }
    seen: list[str] = []

    def hook(endpoint: str, request: dict[str, Any], status: int, raw: bytes, at: datetime) -> None:
        seen.append(endpoint)
        assert isinstance(raw, bytes) and at.tzinfo is not None

    for name, p in params.items():
        pages = list(client.pages(name, p, on_response=hook))
        assert pages and pages[-1].state is None, name
        assert all(pg.status == 200 and pg.log_id for pg in pages), name
    assert set(seen) == set(params)
    assert client.requests_spent == {
        k: v for k, v in sb.requests_spent().items() if k != "oauth_token"
    }


# --- mistakes cost nothing --------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda c: qv(c, Q.hashtags.eq("x"), "20240101", "20240110"), "hashtag_name"),
        (lambda c: qv(c, Q.region_code.eq("UK"), "20240101", "20240110"), "'GB'"),
        (
            lambda c: qv(c, Query([Criteria("EQ", "keyword", ["a", "b"])]), "20240101", "20240110"),
            "exactly one value",
        ),
        (
            lambda c: qv(
                c,
                {"and": [{"operation": "EQ", "field_name": "keyword", "field_values": ["a", "b"]}]},
                "20240101",
                "20240110",
            ),
            "exactly one value",
        ),
        (lambda c: qv(c, Q.keyword.eq("a"), "20240301", "20240201"), "reversed"),
        (lambda c: qv(c, Q.keyword.eq("a"), "2024-13-01", "20240201"), "not a date"),
        (
            lambda c: qv(c, Q.keyword.eq("a"), "20240101", "20240110", fields=["favourites_count"]),
            "favorites_count",
        ),
        (
            lambda c: window(c, Q.keyword.eq("a"), "20240101", "20240110", max_count=500),
            "max_count",
        ),
        (lambda c: c.pages("comments", {"video_id": 7.3e18}), "float"),
        (lambda c: c.pages("user_infos", {"username": "x"}), "user_info"),
        (lambda c: c.pages("followers", {"username": "x", "cursor": 5}), "managed by the client"),
        (lambda c: plan_videos(Q.keyword.eq("a"), "20240110", "20240101", client=c), "reversed"),
    ],
)
def test_mistyped_requests_fail_clearly_and_spend_nothing(
    sb: Sandbox, client: Client, call, words: str
) -> None:
    with pytest.raises(InvalidRequestError, match=words) as info:
        call(client)
    assert info.value.http_status is None
    assert sb.requests_spent() == {} and sb.request_log == []  # not even a token was fetched


def test_plan_is_a_dry_run(sb: Sandbox, client: Client) -> None:
    q = Q.keyword.eq("cat") & Q.region_code.isin(["US"])
    plan = plan_videos(q, "20240101", "20240415", client=client)
    assert len(plan.tasks) == 4 and plan.min_requests == 4
    assert plan.tasks[0].params["start_date"] == "20240403"  # newest window first
    assert "4 window(s)" in str(plan) and "at least 4 request(s)" in str(plan)
    assert plan_videos(q, "20240101", "20240415", max_total=150).min_requests == 2
    assert sb.request_log == []


# --- every error class ------------------------------------------------------------------------


def test_invalid_credentials_raise_authentication_error(
    sb: Sandbox, make_client: MakeClient
) -> None:
    client = make_client(sb, client_secret="wrong-secret-value")
    with pytest.raises(AuthenticationError) as e:
        client.user_info(sb.corpus.sample_usernames(1)[0])
    assert e.value.code == "invalid_client" and "TIKTOK_CLIENT_SECRET" in str(e.value)
    assert "wrong-secret-value" not in str(e.value) + repr(e.value) + repr(client)


def test_missing_credentials_name_the_variables() -> None:
    with pytest.raises(AuthenticationError, match=r"TIKTOK_CLIENT_KEY.*TIKTOK_CLIENT_SECRET"):
        Client()


def test_credentials_and_base_url_from_environment(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_CLIENT_KEY", "sandbox")
    monkeypatch.setenv("TIKTOK_CLIENT_SECRET", "sandbox")
    monkeypatch.setenv("TIKTOK_RESEARCH_BASE_URL", Sandbox.BASE_URL)
    client = Client(transport=sb.transport(), **NO_SLEEP)
    assert client.base_url == Sandbox.BASE_URL
    assert client.user_info(sb.corpus.sample_usernames(1)[0])


def test_unapproved_client_and_followers_scope(sb: Sandbox, make_client: MakeClient) -> None:
    sb.add_client("noscope", "s3", followers_scope=False)
    sb.add_client("unapproved", "s4", approved=False)
    name = sb.corpus.sample_usernames(1)[0]
    c1 = make_client(sb, client_key="noscope", client_secret="s3")
    assert c1.user_info(name)
    with pytest.raises(ScopeNotAuthorizedError) as e:
        c1.followers(name)
    assert e.value.http_status == 401 and e.value.code == "scope_not_authorized"
    c2 = make_client(sb, client_key="unapproved", client_secret="s4")
    with pytest.raises(ScopeNotAuthorizedError):
        c2.user_info(name)


@pytest.mark.parametrize("code", ["daily_quota_limit_exceeded", "rate_limit_exceeded"])
def test_daily_quota_raises_with_reset_time_and_resumable_state(
    code: str, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    clock = Clock(datetime(2025, 3, 1, 15, 0, tzinfo=UTC))
    sb = make_sandbox(
        CONFIG, daily_quota={"research": 2, "social": 5}, quota_error_code=code, clock=clock
    )
    client = make_client(sb)
    q = Q.region_code.isin(["US", "GB", "DE", "FR"])
    got: list[dict[str, Any]] = []
    with pytest.raises(QuotaExhaustedError) as e:
        for page in window(client, q, "20240101", "20240130", max_count=15):
            got.extend(page.items)
    err = e.value
    assert err.reset_at == datetime(2025, 3, 2, tzinfo=UTC)
    assert err.state is not None and json.loads(json.dumps(err.state)) == err.state
    assert "00:00 UTC" in str(err) and err.log_id
    assert data_requests(sb) == 2  # not retried
    clock.advance(12 * 3600)  # next UTC day: the quota is back
    for page in client.pages("video_query", state=err.state):
        got.extend(page.items)
    ids = [v["id"] for v in got]
    assert len(ids) == len(set(ids))
    assert set(ids) == truth_ids(sb, date(2024, 1, 1), date(2024, 1, 30), ["US", "GB", "DE", "FR"])


def test_wait_for_quota_waits_until_midnight_then_continues(
    make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    clock = Clock(datetime(2025, 3, 1, 23, 59, 0, tzinfo=UTC))
    sb = make_sandbox(CONFIG, daily_quota={"research": 1, "social": 5}, clock=clock)
    waited: list[float] = []

    def sleep(s: float) -> None:
        waited.append(s)
        clock.advance(s)

    client = make_client(sb, wait_for_quota=True, sleep=sleep, progress=False)
    names = sb.corpus.sample_usernames(2)
    assert client.user_info(names[0]) and client.user_info(names[1])
    assert 60 <= sum(waited) <= 70  # one minute to midnight, plus a small margin


def test_short_term_rate_limit_is_retried_after_backoff(
    sb: Sandbox, make_client: MakeClient
) -> None:
    sleeps: list[float] = []
    client = make_client(sb, sleep=sleeps.append)
    sb.script_faults(["rate_limit", "rate_limit"], endpoint="user_info")
    assert client.user_info(sb.corpus.sample_usernames(1)[0])
    assert len(sleeps) == 2 and min(sleeps) >= 10.0 * 0.99


def test_rate_limit_that_persists_raises_rate_limited(sb: Sandbox, make_client: MakeClient) -> None:
    client = make_client(sb, max_retries=2)
    sb.script_faults(["rate_limit"] * 3, endpoint="user_info")
    with pytest.raises(RateLimitedError) as e:
        client.user_info(sb.corpus.sample_usernames(1)[0])
    assert not isinstance(e.value, QuotaExhaustedError) and e.value.http_status == 429


def test_persistent_server_errors_raise_server_error_within_the_retry_limit(
    sb: Sandbox, make_client: MakeClient
) -> None:
    client = make_client(sb, max_retries=3)
    sb.script_faults(["internal_error"] * 10, endpoint="user_info")
    with pytest.raises(ServerError) as e:
        client.user_info(sb.corpus.sample_usernames(1)[0])
    assert e.value.code == "internal_error" and e.value.http_status == 500
    assert sb.requests_spent()["user_info"] == 4  # 1 + 3 retries, no more


def test_retry_budget_stops_a_dead_endpoint_from_burning_the_quota(
    sb: Sandbox, make_client: MakeClient
) -> None:
    from tiktok_research._retry import RetryPolicy

    client = make_client(sb, retry=RetryPolicy(max_retries=4, daily_budget=5))
    sb.script_faults(["internal_error"] * 50, endpoint="user_info")
    names = sb.corpus.sample_usernames(5)
    for name in names:
        with pytest.raises(ServerError):
            client.user_info(name)
    assert sb.requests_spent()["user_info"] == 5 + 5  # 5 first attempts + a budget of 5 retries
    with pytest.raises(ServerError, match="retry budget is spent"):
        client.user_info(names[0])


# --- every fault kind -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [k for k in FAULT_KINDS])
def test_every_fault_kind_is_survived(sb: Sandbox, kind: str, make_client: MakeClient) -> None:
    client = make_client(sb)
    q = MANY
    clean = [v for p in window(client, q, "20240101", "20240130", max_count=50) for v in p.items]
    sb.script_faults(["ok", kind], endpoint="video_query")  # fault on the second page
    statuses: list[int] = []
    pages = window(
        client,
        q,
        "20240101",
        "20240130",
        max_count=50,
        on_response=lambda e, r, s, b, t: statuses.append(s),
    )
    got = [v for p in pages for v in p.items]
    if kind == "nul_usernames":
        assert any("\x00" in v.get("username", "") for v in got)
        return
    if kind == "missing_counts":
        assert any("like_count" not in v or "view_count" not in v for v in got)
    clean_ids, got_ids = sorted(v["id"] for v in clean), sorted(v["id"] for v in got)
    if kind == "empty_page":  # an emptied page (has_more true) must not end the sequence
        assert set(got_ids) < set(clean_ids) and len(got_ids) >= len(clean_ids) - 50
        assert set(clean_ids[:5]) <= set(got_ids)  # the oldest videos, on the last page
    elif kind != "missing_counts":
        assert got_ids == clean_ids
    if kind in (
        "internal_error",
        "gateway_timeout",
        "search_id_invalid",
        "cursor_invalid",
        "rate_limit",
    ):
        assert len(statuses) == len(clean) // 50 + 2  # pages + the one retried failure
        assert any(s != 200 for s in statuses)  # and the hook saw the failed answer too


def test_empty_page_with_has_more_does_not_end_the_sequence(sb: Sandbox, client: Client) -> None:
    q = MANY
    sb.script_faults(["empty_page"], endpoint="video_query")
    pages = list(window(client, q, "20240101", "20240130", max_count=50))
    assert pages[0].items == [] and pages[0].has_more is True
    assert sum(len(p.items) for p in pages[1:]) > 0


def test_error_with_valid_body_is_accepted_not_retried(sb: Sandbox, client: Client) -> None:
    sb.script_faults(["error_with_valid_body"], endpoint="user_info")
    info = client.user_info(sb.corpus.sample_usernames(1)[0])
    assert info and sb.requests_spent()["user_info"] == 1


def test_a_window_with_nothing_held_that_keeps_failing_is_split(
    sb: Sandbox, make_client: MakeClient
) -> None:
    client = make_client(sb, max_retries=2)
    q = Q.region_code.isin(["US"])
    # the 30-day window fails three times (first try + 2 retries): it is split into halves
    sb.script_faults(["internal_error"] * 3, endpoint="video_query")
    videos = fetch_videos(q, "20240101", "20240130", client=client, progress=False)
    assert videos.report.complete
    spans = [(r.body["start_date"], r.body["end_date"]) for r in sb.request_log
             if r.endpoint == "video_query" and r.error_code == "ok"]  # fmt: skip
    assert ("20240101", "20240130") not in spans and ("20240116", "20240130") in spans
    assert set(videos["id"].to_list()) == truth_ids(sb, date(2024, 1, 1), date(2024, 1, 30), ["US"])


def test_one_day_window_that_keeps_failing_is_left_pending(
    sb: Sandbox, make_client: MakeClient
) -> None:
    client = make_client(sb, max_retries=2)
    sb.script_faults(["internal_error"] * 3, endpoint="video_query")
    with pytest.warns(UserWarning, match="incomplete"):
        videos = fetch_videos(
            Q.region_code.isin(["US"]), "20240105", "20240105", client=client, progress=False
        )
    assert not videos.report.complete and "20240105-20240105" in videos.report.pending
    assert data_requests(sb) == 3


# --- tokens, budget, ledger, threads ----------------------------------------------------------


def test_token_refreshed_before_expiry_and_once_on_401(
    make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    clock = Clock(datetime(2025, 3, 1, 10, 0, tzinfo=UTC))
    sb = make_sandbox(CONFIG, token_ttl=600, clock=clock)
    client = make_client(sb)
    name = sb.corpus.sample_usernames(1)[0]
    client.user_info(name)
    assert client.token_fetches == 1
    clock.advance(580)  # inside the refresh margin: a new token before the old one expires
    client.user_info(name)
    assert client.token_fetches == 2
    assert not [r for r in sb.request_log if r.error_code == "access_token_invalid"]
    # The service forgets the token (client's clock does not move): one 401, refresh, replay.
    client2 = make_client(sb, clock=lambda: datetime(2025, 3, 1, 10, 0, tzinfo=UTC))
    client2.user_info(name)
    clock.advance(3600)
    assert client2.user_info(name)
    assert client2.token_fetches == 2
    assert len([r for r in sb.request_log if r.error_code == "access_token_invalid"]) == 1


def test_budget_stops_cleanly_and_resumes_without_refetching(
    sb: Sandbox, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    q = MANY
    full = list(window(make_client(sb), q, "20240101", "20240129", max_count=50))
    full = [v for p in full for v in p.items]
    n_full = data_requests(sb)
    sb2 = make_sandbox(CONFIG)
    client = make_client(sb2, max_requests=2)
    got: list[dict[str, Any]] = []
    with pytest.raises(BudgetExhaustedError) as e:
        for page in window(client, q, "20240101", "20240129", max_count=50):
            got.extend(page.items)
    assert data_requests(sb2) == 2 and client.requests_spent == {"video_query": 2}
    resumed = make_client(sb2)
    for page in resumed.pages("video_query", state=e.value.state):
        got.extend(page.items)
    assert sorted(v["id"] for v in got) == sorted(v["id"] for v in full)
    assert data_requests(sb2) == n_full  # not a single page fetched twice


def test_quota_ledger_tracks_requests(sb: Sandbox, client: Client, make_client: MakeClient) -> None:
    name = sb.corpus.sample_usernames(1)[0]
    client.user_info(name)
    client.followers(name)
    q = client.quota
    assert q.by_endpoint["user_info"] == 1 and q.used["research"] == 1
    assert q.remaining["research"] == 999 and q.used["social"] >= 1
    # A second client with the same key sees the same ledger.
    assert make_client(sb).quota.used == q.used


def test_threads_share_one_token_and_the_counters(sb: Sandbox, client: Client) -> None:
    names = sb.corpus.sample_usernames(16)
    errors: list[BaseException] = []

    def work(n: str) -> None:
        try:
            client.user_info(n)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert client.token_fetches == 1 and sb.requests_spent()["oauth_token"] == 1
    assert (
        client.requests_spent == {"user_info": 16} and client.quota.by_endpoint["user_info"] == 16
    )


def test_recent_range_warns_not_yet_indexed(sb: Sandbox, make_client: MakeClient) -> None:
    today = datetime.now(UTC).date()
    client = make_client(sb)
    with pytest.warns(NotYetIndexedWarning, match="not indexed"):
        plan_videos(Q.keyword.eq("x"), today - timedelta(days=5), today, client=client)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan_videos(
            Q.keyword.eq("x"), today - timedelta(days=10), today - timedelta(days=3), client=client
        )


def test_errors_never_show_secrets(
    sb: Sandbox, caplog: pytest.LogCaptureFixture, make_client: MakeClient
) -> None:
    caplog.set_level("DEBUG", logger="tiktok_research")
    sb.add_client("k2", "very-secret-string")
    client = make_client(sb, client_key="k2", client_secret="very-secret-string")
    sb.script_faults(["internal_error"], endpoint="user_info")
    client.user_info(sb.corpus.sample_usernames(1)[0])
    token = client._tokens.get()
    with pytest.raises(TikTokResearchError) as e:
        client.user_info("no_such_user_zz")
    text = caplog.text + str(e.value) + repr(e.value) + repr(client) + repr(client._tokens)
    assert "very-secret-string" not in text and token not in text


def test_resume_with_an_expired_search_id_costs_one_request_not_the_window(
    make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    clock = Clock(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))
    sb = make_sandbox(CONFIG, clock=clock)  # search_id lifetime: 2 hours
    full_pages = window(make_client(make_sandbox(CONFIG)), MANY, "20240101", "20240130",
                        max_count=20)  # fmt: skip
    full = [v for p in full_pages for v in p.items]
    client = make_client(sb, max_requests=3)
    got: list[dict[str, Any]] = []
    with pytest.raises(BudgetExhaustedError) as e:
        for page in window(client, MANY, "20240101", "20240130", max_count=20):
            got.extend(page.items)
    clock.advance(3 * 3600)  # the search_id in the state has expired
    resumed = make_client(sb)
    for page in resumed.pages("video_query", state=e.value.state):
        got.extend(page.items)
    assert sorted(v["id"] for v in got) == sorted(v["id"] for v in full)  # nothing lost or doubled
    assert data_requests(sb) == len(full) // 20 + 1 + 1  # all pages + one new first page


# --- the client and the sandbox meet through the sandbox's public attributes -----------------


def test_client_sandbox_reads_the_sandbox_s_public_attributes(make_sandbox: MakeSandbox) -> None:
    """``Client.sandbox`` takes the transport, base URL, clock and ledger folder the sandbox
    offers; the client neither reads nor writes the sandbox's private state (issue 17)."""
    import ast
    import inspect
    import textwrap

    sb = make_sandbox(CONFIG, clock=Clock(datetime(2024, 6, 1, 12, tzinfo=UTC)))
    sb.advance(timedelta(days=3))
    first, second = Client.sandbox(sb, **NO_SLEEP), Client.sandbox(sb, **NO_SLEEP)
    assert first.base_url == second.base_url == sb.BASE_URL
    assert first.now() == sb.now == datetime(2024, 6, 4, 12, tzinfo=UTC)
    assert first.sandbox_instance is sb
    assert sb.ledger_dir.is_dir() and sb.ledger_dir == sb.ledger_dir
    first.user_info(sb.corpus.sample_usernames(1)[0])
    assert second.quota.used["research"] == 1  # clients of one sandbox share its ledger
    assert any(sb.ledger_dir.glob("*.json"))
    other = Client.sandbox(make_sandbox(CONFIG), **NO_SLEEP)
    assert other.quota.used["research"] == 0  # a new sandbox, a fresh quota of its own
    tree = ast.parse(textwrap.dedent(inspect.getsource(Client.sandbox)))
    private = [
        ast.unparse(n)
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id == "sandbox"
        and n.attr.startswith("_")
    ]
    assert not private, private


def test_a_sandboxs_ledger_folder_goes_with_the_sandbox(make_sandbox: MakeSandbox) -> None:
    """A notebook or a test session makes many sandboxes: the temporary ledger folder of each is
    removed once nothing holds the sandbox (or its clients), so none pile up in /tmp."""
    import gc

    sb = make_sandbox(CONFIG)
    client = Client.sandbox(sb, **NO_SLEEP)
    folder = sb.ledger_dir
    client.user_info(sb.corpus.sample_usernames(1)[0])
    del sb
    gc.collect()
    assert folder.is_dir() and any(folder.glob("*.json"))  # its client still holds it
    del client
    gc.collect()
    assert not folder.exists()


def test_query_videos_takes_a_plan_planned_above_the_client(
    sb: Sandbox, client: Client, make_client: MakeClient
) -> None:
    """The client plans no windows: ``query_videos`` walks those of ``plan_videos``, and refuses
    what is not such a plan, or a plan made for another end-date rule, before any request."""
    plan = plan_videos(MANY, "20240101", "20240215", max_total=150, client=client)
    videos = client.query_videos(plan)
    assert len(videos) == 150 and len({v["id"] for v in videos}) == 150
    asked = [r for r in sb.request_log if r.endpoint == "video_query"]
    assert asked[0].body["end_date"] == plan.tasks[0].params["end_date"]
    exclusive = make_client(sb, end_date_exclusive=True)
    with pytest.raises(InvalidRequestError, match="end_date_exclusive"):
        exclusive.query_videos(plan)
    with pytest.raises(TypeError, match="takes the plan of a video query"):
        client.query_videos(Q.keyword.eq("x"))  # type: ignore[arg-type]
    assert len([r for r in sb.request_log if r.endpoint == "video_query"]) == len(asked)
