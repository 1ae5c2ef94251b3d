"""Planning: every mistake is refused before any request, with a message that names the fix;
what researchers naturally pass (pandas frames, NaN, URLs...) just works."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import tiktok_research as tr
from _sandboxes import MakeClient, MakeSandbox
from tiktok_research._checks import clean_usernames, clean_usernames_expr
from tiktok_research.client import Client
from tiktok_research.errors import InvalidRequestError, NotYetIndexedWarning
from tiktok_research.plan import plan_items, plan_videos
from tiktok_research.query import Q
from tiktok_research.sandbox import Sandbox

Q1 = Q.hashtag_name.eq("climate")
GOOD = ("20240101", "20240131")
NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox(n_videos=2_000, seed=5, clock=NOW)


@pytest.fixture
def client(sandbox: Sandbox, make_client: MakeClient) -> Client:
    return make_client(sandbox)


def _a_file(tmp: Path) -> Path:
    f = tmp / "not-a-folder.txt"
    f.write_text("x")
    return f


# Each case: (id, call(client, tmp) -> anything, words the message must contain).
Case = tuple[str, Callable[[Client, Path], Any], str]
V = tr.fetch_videos
U = tr.fetch_user_info
C = tr.fetch_comments

CASES: list[Case] = [
    # -- the query
    ("plain word", lambda c, t: V("climate", *GOOD, client=c), "Q.keyword.eq"),
    ("None query", lambda c, t: V(None, *GOOD, client=c), "query is required"),
    ("int query", lambda c, t: V(123, *GOOD, client=c), "cannot use int"),
    # Python's operators on a Q field: each names the method that builds the condition
    (
        "== on a field",
        lambda c, t: V(Q.hashtag_name == "x", *GOOD, client=c),
        "Q.hashtag_name.eq('x')",
    ),
    (
        "== a list",
        lambda c, t: V(Q.region_code == ["US", "CA"], *GOOD, client=c),
        "Q.region_code.isin(['US', 'CA'])",
    ),
    (
        "!= on a field",
        lambda c, t: V(Q.region_code != "US", *GOOD, client=c),
        "Q.region_code.ne('US')",
    ),
    ("< on a field", lambda c, t: V(Q.view_count < 100, *GOOD, client=c), "Q.view_count.lt(100)"),
    (
        "<= on a field",
        lambda c, t: V(Q.view_count <= 100, *GOOD, client=c),
        "Q.view_count.lte(100)",
    ),
    ("> on a field", lambda c, t: V(Q.view_count > 100, *GOOD, client=c), "Q.view_count.gt(100)"),
    (
        ">= on a field",
        lambda c, t: V(Q.create_date >= "20240105", *GOOD, client=c),
        "Q.create_date.gte('20240105')",
    ),
    ("value < field", lambda c, t: V(100 < Q.view_count, *GOOD, client=c), "Q.view_count.gt(100)"),  # noqa: SIM300
    (
        "field in a list",
        lambda c, t: V(Q.hashtag_name in ["x", "y"], *GOOD, client=c),
        "Q.hashtag_name.isin([...])",
    ),
    (
        "field in a set",
        lambda c, t: V(Q.hashtag_name in {"x", "y"}, *GOOD, client=c),
        "tr.Q.hashtag_name.isin(['x', 'y'])",
    ),
    (
        "value in field",
        lambda c, t: V("x" in Q.hashtag_name, *GOOD, client=c),
        "Q.hashtag_name.eq('x')",
    ),
    (
        "== and &",
        lambda c, t: V((Q.hashtag_name == "x") & Q1, *GOOD, client=c),
        "Q.hashtag_name.eq('x')",
    ),
    ("empty dict", lambda c, t: V({}, *GOOD, client=c), "query is empty"),
    ("broken JSON", lambda c, t: V("{bad", *GOOD, client=c), "not valid JSON"),
    ("JSON list", lambda c, t: V("[1, 2]", *GOOD, client=c), "query"),
    (
        "misspelt field",
        lambda c, t: V(
            {"and": [{"operation": "EQ", "field_name": "hashtag", "field_values": ["a"]}]},
            *GOOD,
            client=c,
        ),
        "hashtag_name",
    ),
    (
        "EQ with two values",
        lambda c, t: V(
            {"and": [{"operation": "EQ", "field_name": "keyword", "field_values": ["a", "b"]}]},
            *GOOD,
            client=c,
        ),
        "one value",
    ),
    ("UK region", lambda c, t: V(Q.region_code.eq("UK"), *GOOD, client=c), "'GB'"),
    (
        "unknown operation",
        lambda c, t: V(
            {"and": [{"operation": "LIKE", "field_name": "keyword", "field_values": ["a"]}]},
            *GOOD,
            client=c,
        ),
        "operation",
    ),
    ("bad length", lambda c, t: V(Q.video_length.eq("TINY"), *GOOD, client=c), "SHORT"),
    ("hashtag with #", lambda c, t: V(Q.hashtag_name.eq("#cats"), *GOOD, client=c), "#"),
    ("5,000 characters", lambda c, t: V(Q.keyword.eq("a" * 5000), *GOOD, client=c), "too long"),
    # -- the dates
    ("month 13", lambda c, t: V(Q1, "2024-13-01", "20240201", client=c), "not a date"),
    ("slashes", lambda c, t: V(Q1, "2024/01/01", "20240201", client=c), "not a date"),
    ("a word", lambda c, t: V(Q1, "yesterday", "20240201", client=c), "not a date"),
    ("a float day", lambda c, t: V(Q1, 20240101.0, "20240201", client=c), "not a date"),
    ("no start", lambda c, t: V(Q1, None, "20240201", client=c), "start_date is required"),
    ("no end", lambda c, t: V(Q1, "20240101", None, client=c), "end_date is required"),
    ("year 1", lambda c, t: V(Q1, date(1, 1, 1), "20240201", client=c), "YYYYMMDD"),
    ("reversed", lambda c, t: V(Q1, "20240301", "20240201", client=c), "reversed"),
    ("future start", lambda c, t: V(Q1, "20240701", "20240801", client=c), "in the future"),
    # -- fields and limits
    ("fields int", lambda c, t: V(Q1, *GOOD, fields=123, client=c), "list of names"),
    ("fields ints", lambda c, t: V(Q1, *GOOD, fields=[1, 2], client=c), "must be names"),
    ("fields empty", lambda c, t: V(Q1, *GOOD, fields="", client=c), "fields is empty"),
    ("fields typo", lambda c, t: V(Q1, *GOOD, fields=["views"], client=c), "unknown field"),
    (
        "favourites",
        lambda c, t: V(Q1, *GOOD, fields="id,favourites_count", client=c),
        "favorites_count",
    ),
    ("fields dict", lambda c, t: V(Q1, *GOOD, fields={"id": 1}, client=c), "list of names"),
    ("max_total -1", lambda c, t: V(Q1, *GOOD, max_total=-1, client=c), "max_total"),
    ("max_total 1.5", lambda c, t: V(Q1, *GOOD, max_total=1.5, client=c), "max_total"),
    ("max_total text", lambda c, t: V(Q1, *GOOD, max_total="10", client=c), "max_total"),
    ("max_total True", lambda c, t: V(Q1, *GOOD, max_total=True, client=c), "max_total"),
    ("is_random text", lambda c, t: V(Q1, *GOOD, is_random="yes", client=c), "is_random"),
    # -- client, archive, dataset, options
    ("client text", lambda c, t: V(Q1, *GOOD, client="x"), "client must be"),
    ("client int", lambda c, t: V(Q1, *GOOD, client=42), "client must be"),
    ("client class", lambda c, t: V(Q1, *GOOD, client=Client), "client must be"),
    ("archive file", lambda c, t: V(Q1, *GOOD, client=c, archive=_a_file(t)), "is a file"),
    ("archive int", lambda c, t: V(Q1, *GOOD, client=c, archive=123), "folder path"),
    ("archive blank", lambda c, t: V(Q1, *GOOD, client=c, archive="  "), "folder path"),
    ("dataset file", lambda c, t: V(Q1, *GOOD, client=c, dataset=_a_file(t)), "is a file"),
    ("workers 0", lambda c, t: V(Q1, *GOOD, client=c, max_workers=0), "max_workers"),
    ("workers text", lambda c, t: V(Q1, *GOOD, client=c, max_workers="4"), "max_workers"),
    ("resume text", lambda c, t: V(Q1, *GOOD, client=c, resume="no"), "resume"),
    (
        "max_total streamed",
        lambda c, t: V(Q1, *GOOD, client=c, max_total=5, dataset=t / "d", materialize=False),
        "materialize",
    ),
    # -- usernames
    ("users None", lambda c, t: U(None, client=c), "got None"),
    ("users blank", lambda c, t: U("", client=c), "no usernames"),
    ("users spaces", lambda c, t: U(["  ", None], client=c), "no usernames"),
    ("users NaN only", lambda c, t: U([float("nan")], client=c), "no usernames"),
    ("10,000 chars", lambda c, t: U(["a" * 10_000], client=c), "cannot be TikTok handles"),
    ("emoji", lambda c, t: U(["cat😀lover"], client=c), "cannot be TikTok handles"),
    ("zero width", lambda c, t: U(["zero\u200bwidth"], client=c), "cannot be TikTok handles"),
    ("slash", lambda c, t: U(["a/b"], client=c), "cannot be TikTok handles"),
    ("question mark", lambda c, t: U(["a?b"], client=c), "cannot be TikTok handles"),
    ("inner space", lambda c, t: U(["first last"], client=c), "cannot be TikTok handles"),
    ("only @", lambda c, t: U(["@"], client=c), "cannot be TikTok handles"),
    ("number", lambda c, t: U([123], client=c), "must be text"),
    ("nested list", lambda c, t: U([["a"]], client=c), "must be text"),
    ("bytes", lambda c, t: U([b"abc"], client=c), "must be text"),
    ("dict", lambda c, t: U({"username": "a"}, client=c), "not a dict"),
    (
        "short link",
        lambda c, t: U(["https://vm.tiktok.com/ZMabc123/"], client=c),
        "Short links",
    ),
    (
        "video address",
        lambda c, t: U(["https://www.tiktok.com/video/123"], client=c),
        "cannot be TikTok handles",
    ),
    (
        "polars without column",
        lambda c, t: U(pl.DataFrame({"name": ["a"]}), client=c),
        "none of the columns",
    ),
    (
        "pandas without column",
        lambda c, t: U(pd.DataFrame({"name": ["a"]}), client=c),
        "none of the columns",
    ),
    (
        "arrow without column",
        lambda c, t: U(pa.table({"name": ["a"]}), client=c),
        "none of the columns",
    ),
    ("an object", lambda c, t: U(object(), client=c), "cannot read"),
    ("user fields typo", lambda c, t: U(["a"], fields=["followers"], client=c), "follower_count"),
    ("user fields int", lambda c, t: U(["a"], fields=7, client=c), "list of names"),
    ("users client", lambda c, t: U(["a"], client="x"), "client must be"),
    ("retry_failed text", lambda c, t: U(["a"], client=c, retry_failed="yes"), "retry_failed"),
    ("users archive file", lambda c, t: U(["a"], client=c, archive=_a_file(t)), "is a file"),
    ("followers bad", lambda c, t: tr.fetch_followers(["a b"], client=c), "handles"),
    (
        "following max_total",
        lambda c, t: tr.fetch_following(["a"], max_total="3", client=c),
        "max_total",
    ),
    ("liked short", lambda c, t: tr.fetch_liked_videos(["x" * 60], client=c), "handles"),
    ("pinned None", lambda c, t: tr.fetch_pinned_videos(None, client=c), "got None"),
    ("reposted ints", lambda c, t: tr.fetch_reposted_videos([5], client=c), "must be text"),
    # -- ids
    ("comments None", lambda c, t: C(None, client=c), "got None"),
    ("float id", lambda c, t: C([7.3e18], client=c), "float"),
    ("float one", lambda c, t: C([1.0], client=c), "float"),
    ("numpy float", lambda c, t: C(np.array([7.3e18]), client=c), "float"),
    ("pandas floats", lambda c, t: C(pd.Series([7.3e18, 7.1e18]), client=c), "float"),
    ("above int64", lambda c, t: C([2**64], client=c), "not a valid id"),
    ("text above int64", lambda c, t: C(["99999999999999999999"], client=c), "not a valid id"),
    ("negative", lambda c, t: C([-5], client=c), "not a valid id"),
    ("zero", lambda c, t: C([0], client=c), "not a valid id"),
    ("letters", lambda c, t: C(["abc"], client=c), "not an id"),
    ("digits and letters", lambda c, t: C(["123abc"], client=c), "not an id"),
    ("full-width digits", lambda c, t: C(["１２３"], client=c), "not an id"),
    ("bool", lambda c, t: C([True], client=c), "not an id"),
    ("decimal fraction", lambda c, t: C([Decimal("1.5")], client=c), "not an id"),
    ("a date", lambda c, t: C([date(2024, 1, 1)], client=c), "not an id"),
    (
        "table without ids",
        lambda c, t: C(pl.DataFrame({"x": [1]}), client=c),
        "none of the columns",
    ),
    ("replies text", lambda c, t: C([1], replies="yes", client=c), "replies must be"),
    ("comment fields", lambda c, t: C([1], fields=["likes"], client=c), "unknown field"),
    ("comments max_total", lambda c, t: C([1], max_total=-3, client=c), "max_total"),
    ("playlists text", lambda c, t: tr.fetch_playlists(["x"], client=c), "not an id"),
    ("playlists float", lambda c, t: tr.fetch_playlists([1.5], client=c), "float"),
    ("products text", lambda c, t: tr.fetch_products(["shop"], client=c), "not an id"),
    ("reviews blanks", lambda c, t: tr.fetch_reviews([None, ""], client=c), "no product ids"),
    ("shops numbers", lambda c, t: tr.fetch_shops([123], client=c), "must be text"),
    ("shops too long", lambda c, t: tr.fetch_shops(["x" * 500], client=c), "too long"),
    # -- plans and the client's own methods
    ("unknown kind", lambda c, t: plan_items("userz", ["a"]), "'users'"),
    ("plan client", lambda c, t: plan_videos(Q1, *GOOD, client="x"), "client must be"),
    ("use text", lambda c, t: tr.use("x"), "client must be"),  # type: ignore[arg-type]
    ("endpoint typo", lambda c, t: c.pages("user_infos", {"username": "x"}), "'user_info'"),
    (
        "managed key",
        lambda c, t: c.pages("followers", {"username": "x", "cursor": 5}),
        "managed by the client",
    ),
    (
        "both ids",
        lambda c, t: c.pages("comments", {"video_id": 1, "comment_id": 2}),
        "exactly one",
    ),
    ("no ids", lambda c, t: c.pages("comments", {}), "exactly one"),
    ("unknown param", lambda c, t: c.pages("user_info", {"name": "x"}), "unknown parameter"),
    (
        "long window",
        lambda c, t: c.pages(
            "video_query", {"query": Q1, "start_date": "20240101", "end_date": "20240301"}
        ),
        "at most 30 days",
    ),
    (
        "no max_count",
        lambda c, t: c.pages("user_info", {"username": "x"}, max_count=5),
        "takes no max_count",
    ),
    (
        "max_count 500",
        lambda c, t: c.pages("comments", {"video_id": 1}, max_count=500),
        "between 1 and 100",
    ),
    ("params text", lambda c, t: c.pages("user_info", "x"), "must be a dict"),  # type: ignore[arg-type]
    ("bogus state", lambda c, t: c.pages("user_info", state={"bogus": 1}), "resumable state"),
    (
        "client word query",
        lambda c, t: c.query_videos(plan_videos("climate", *GOOD, client=c)),
        "Q.keyword.eq",
    ),
    ("client without plan", lambda c, t: c.query_videos(Q1), "takes the plan"),  # type: ignore[arg-type]
    ("client empty name", lambda c, t: c.user_info(""), "empty"),
    ("client float id", lambda c, t: c.comments(video_id=7.3e18), "float"),
    ("budget -1", lambda c, t: Client.sandbox(max_requests=-1), "max_requests"),
    ("budget text", lambda c, t: Client.sandbox(max_requests="5"), "max_requests"),
]


def test_the_table_is_long_enough() -> None:
    assert len(CASES) >= 100
    assert len({name for name, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "call", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_call_is_refused_before_any_request(
    name: str,
    call: Callable[[Client, Path], Any],
    words: str,
    client: Client,
    sandbox: Sandbox,
    tmp_path: Path,
) -> None:
    before = len(sandbox.request_log)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InvalidRequestError) as info:
            call(client, tmp_path)
    err = info.value
    assert words in str(err), f"{name}: {err}"
    assert err.http_status is None  # nothing was sent
    assert "Traceback" not in str(err)
    assert not re.search(r"(?<![.\s])\.\.(?!\.)", str(err)), "a doubled full stop"
    assert sandbox.request_log[before:] == []  # not a request, not even a token


# --- what researchers pass -------------------------------------------------------------------


def test_pandas_and_polars_frames_give_their_usual_column(sandbox: Sandbox, client: Client) -> None:
    names = sandbox.corpus.sample_usernames(3)
    frame = pd.DataFrame({"video_description": ["x"] * 3, "username": names, "id": [1, 2, 3]})
    assert [t.item for t in plan_items("users", frame).tasks] == names
    assert [t.item for t in plan_items("users", pl.from_pandas(frame)).tasks] == names
    assert [t.item for t in plan_items("users", pa.Table.from_pandas(frame)).tasks] == names
    videos = pd.DataFrame({"id": pd.array([7320768196569599275, None], dtype="Int64")})
    with pytest.warns(UserWarning, match="dropped 1 blank item"):
        plan = plan_items("comments", videos)
    assert [t.params["video_id"] for t in plan.tasks] == [7320768196569599275]
    comments = pl.DataFrame({"id": [5, 6], "video_id": [7, 7]})
    assert [t.item for t in plan_items("comments", comments).tasks] == ["7"]
    assert [t.item for t in plan_items("replies", comments).tasks] == ["5", "6"]


def test_blank_items_are_dropped_with_one_warning_that_counts_them() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = plan_items("users", ["a", "", None, float("nan"), "  ", pd.NA, "b", "@A"])
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "dropped 5 blank item(s)" in messages[0]
    assert [t.item for t in plan.tasks] == ["a", "b"]  # "@A" is "a" again: asked once


def test_one_username_rule_for_the_client_and_select() -> None:
    messy = [
        "https://vm.tiktok.com/@Foo",
        "https://www.tiktok.com/@Foo/video/7320768196569599275?lang=en",
        "tiktok.com/@foo",
        "@FOO",
        " foo\x00 ",
    ]
    assert set(clean_usernames(messy)) == {"foo"}
    cleaned = pl.Series("u", messy).to_frame().select(clean_usernames_expr(pl.col("u")))
    assert cleaned["u"].unique().to_list() == ["foo"]
    assert tr.select_usernames(pl.DataFrame({"username": messy})).to_list() == ["foo"]
    assert [t.item for t in plan_items("users", messy).tasks] == ["foo"]


def test_ids_stay_exact_whatever_the_container() -> None:
    big = 7320768196569599275
    for value in (
        [big],
        [str(big)],
        [f" {big} "],
        np.array([big], dtype=np.int64),
        pd.Series([big], dtype="Int64"),
        pd.Series([str(big)]),
        pl.Series([big]),
        pa.array([big]),
        big,
        str(big),
    ):
        plan = plan_items("comments", value)
        assert [t.params["video_id"] for t in plan.tasks] == [big], value


def test_a_future_end_date_is_clipped_with_a_note(client: Client) -> None:
    # the range now ends today, which the service has not indexed yet: that is said too
    with pytest.warns(UserWarning, match="clipped"), pytest.warns(NotYetIndexedWarning):
        plan = plan_videos(Q1, "20240601", "20241231", client=client)
    assert plan.end_date == NOW.date()
    assert plan.tasks[0].params["end_date"] == NOW.strftime("%Y%m%d")
    assert any("clipped" in n for n in plan.notes)


def test_recent_days_warn_once(client: Client) -> None:
    today = NOW.date()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tr.fetch_videos(Q1, today - timedelta(days=5), today, client=client, progress=False)
    indexed = [w for w in caught if issubclass(w.category, NotYetIndexedWarning)]
    assert len(indexed) == 1


def test_a_video_plan_is_a_dry_run_without_credentials() -> None:
    plan = plan_videos(Q1 & Q.region_code.isin(["US"]), "2024-01-01", "2024-04-15")
    assert [t.key for t in plan.tasks] == [
        "20240403-20240415",
        "20240303-20240402",
        "20240201-20240302",
        "20240101-20240131",
    ]
    text = str(plan)
    assert "4 window(s)" in text and "at least 4 request(s)" in text
    assert plan_videos(Q1, "2024-01-01", "2024-04-15", max_total=150).min_requests == 2


def test_exclusive_end_windows_stay_within_the_limit(
    make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    class Exclusive:
        end_date_exclusive = True

    plan = plan_videos(Q1, "2024-01-01", "2024-03-31")
    assert all((e - s).days <= 30 for s, e in (t.window for t in plan.tasks if t.window))
    client = make_client(make_sandbox(n_videos=500, seed=1), end_date_exclusive=True)
    plan = plan_videos(Q1, "2024-01-01", "2024-03-31", client=client)
    for task in plan.tasks:
        s = datetime.strptime(task.params["start_date"], "%Y%m%d")
        e = datetime.strptime(task.params["end_date"], "%Y%m%d")
        assert (e - s).days <= 30  # the wire range, with its exclusive end, fits the API
    days = sorted(d for t in plan.tasks if t.window for d in t.window)
    assert days[0] == date(2024, 1, 1) and days[-1] == date(2024, 3, 31)


def test_a_fan_out_plan_counts_what_the_table_says(sandbox: Sandbox) -> None:
    videos = pl.DataFrame({"id": [1, 2, 3], "comment_count": [0, 150, 5000]})
    plan = plan_items("comments", videos, skip_empty=False)
    assert plan.min_requests == 1 + 2 + 10  # 5,000 comments: the top 1,000 in 10 pages
    with pytest.warns(UserWarning, match="skipped 1 video"):
        skipped = plan_items("comments", videos)  # the video without comments costs nothing
    assert skipped.min_requests == 2 + 10 and len(skipped.tasks) == 2
    assert "replies=True" in str(plan)
