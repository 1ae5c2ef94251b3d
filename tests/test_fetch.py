"""fetch_* functions and the collection pipeline against the in-process sandbox."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import tiktok_research as tr
from _sandboxes import Clock, MakeClient, MakeSandbox
from tiktok_research import schemas
from tiktok_research.collect import IncompleteCollectionWarning
from tiktok_research.sandbox import FaultConfig, Sandbox

CATS = tr.Q.hashtag_name.eq("cats")


@pytest.fixture(scope="module")
def sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox(n_videos=20_000)


def _video_bodies(sb: Sandbox, status: int = 200) -> list[tuple[Any, ...]]:
    """(window, cursor) of every video-query request the sandbox answered with ``status``."""
    out = []
    for r in sb.request_log:
        if r.endpoint == "video_query" and r.status == status:
            b = r.body
            out.append((b.get("start_date"), b.get("end_date"), int(b.get("cursor") or 0)))
    return out


def test_fetch_videos_matches_the_corpus_and_declared_schema(
    sandbox: Sandbox, tmp_path: Path, make_client: MakeClient
) -> None:
    client = make_client(sandbox)
    videos = tr.fetch_videos(
        CATS, "20240101", "20240229", client=client, archive=tmp_path, progress=False
    )
    assert videos.schema == schemas.VIDEOS
    assert videos.report.complete
    truth = sandbox.corpus.videos_frame().filter(~pl.col("hidden"))
    lo = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
    hi = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp())
    expected = {
        v
        for v, d in truth.filter((pl.col("create_time") >= lo) & (pl.col("create_time") < hi))
        .select("id", "video_description")
        .iter_rows()
    }
    got = set(videos["id"].to_list())
    assert got <= expected
    assert videos.height == len(got) > 0  # no duplicate rows
    assert all("cats" in [h.lower() for h in tags] for tags in videos["hashtag_names"].to_list())
    # newest id first, like the API
    assert videos["id"].to_list() == sorted(videos["id"].to_list(), reverse=True)
    assert (
        videos.report.requests_spent == len(_video_bodies(sandbox))
        or videos.report.requests_spent > 0
    )


def test_one_line_promise_writes_parquet_with_exact_ids(
    sandbox: Sandbox, tmp_path: Path, make_client: MakeClient
) -> None:
    client = make_client(sandbox)
    out = tmp_path / "videos.parquet"
    tr.fetch_videos(CATS, "20240301", "20240310", client=client, progress=False).write_parquet(out)
    back = pl.read_parquet(out)
    assert back.schema == schemas.VIDEOS
    assert back["id"].min() > 2**53  # 19-digit ids, read back exactly as Int64


def test_empty_result_has_the_full_schema(sandbox: Sandbox, make_client: MakeClient) -> None:
    client = make_client(sandbox)
    none = tr.fetch_videos(
        tr.Q.hashtag_name.eq("no_such_hashtag_anywhere"),
        "20240101",
        "20240105",
        client=client,
        progress=False,
    )
    assert none.height == 0
    assert none.schema == schemas.VIDEOS
    assert none.report.complete


def test_a_second_call_on_the_same_archive_spends_nothing(
    sandbox: Sandbox, tmp_path: Path, make_client: MakeClient
) -> None:
    client = make_client(sandbox)
    first = tr.fetch_videos(
        CATS, "20240401", "20240520", client=client, archive=tmp_path, progress=False
    )
    spent = client.requests_spent.get("video_query", 0)
    again = tr.fetch_videos(
        CATS, "20240401", "20240520", client=client, archive=tmp_path, progress=False
    )
    assert client.requests_spent.get("video_query", 0) == spent
    assert again.report.requests_spent == 0 and again.report.resumed
    assert again.equals(first)
    # the archive alone rebuilds the same table, with no network
    offline = tr.merge_dumps(tmp_path)["videos"]
    assert offline.sort("id").equals(first.sort("id"))


def test_mistyped_query_fails_before_any_request(sandbox: Sandbox, make_client: MakeClient) -> None:
    client = make_client(sandbox)
    before = len(sandbox.request_log)
    with pytest.raises(tr.InvalidRequestError, match="UK"):
        tr.fetch_videos(
            tr.Q.region_code.eq("UK"), "20240101", "20240131", client=client, progress=False
        )
    with pytest.raises(tr.InvalidRequestError):
        tr.fetch_videos(CATS, "20240301", "20240101", client=client, progress=False)
    with pytest.raises(tr.InvalidRequestError, match="favourites_count"):
        tr.fetch_videos(
            CATS,
            "20240101",
            "20240131",
            fields=["id", "favourites_count"],
            client=client,
            progress=False,
        )
    assert len(sandbox.request_log) == before


def test_user_info_failures_do_not_abort_the_batch(
    sandbox: Sandbox, make_client: MakeClient
) -> None:
    client = make_client(sandbox)
    public = sandbox.corpus.sample_usernames(4, seed=1)
    private = sandbox.corpus.sample_usernames(2, seed=1, kind="private")
    names = [public[0], private[0], "no_such_user_xyz", *public[1:], private[1]]
    users = tr.fetch_user_info(names, client=client, progress=False)
    assert users.schema == schemas.USERS
    assert users["username"].to_list() == public  # in the order given, failures left out
    fails = users.failures
    assert sorted(fails["item"].to_list()) == sorted([private[0], private[1], "no_such_user_xyz"])
    assert set(fails["code"].to_list()) == {"invalid_params"}
    assert fails["log_id"].str.len_chars().min() == 34
    assert users.report.complete


def test_items_come_as_list_series_or_dataframe(sandbox: Sandbox, make_client: MakeClient) -> None:
    client = make_client(sandbox)
    names = sandbox.corpus.sample_usernames(3, seed=5)
    as_list = tr.fetch_user_info(names, client=client, progress=False)
    as_series = tr.fetch_user_info(pl.Series("username", names), client=client, progress=False)
    as_frame = tr.fetch_user_info(
        pl.DataFrame({"username": [f"@{n}" for n in names]}), client=client, progress=False
    )
    assert as_list.equals(as_series) and as_list.equals(as_frame)


def test_comments_and_replies(sandbox: Sandbox, make_client: MakeClient) -> None:
    client = make_client(sandbox)
    ids = sandbox.corpus.video_ids_with_comments(3)
    top = tr.fetch_comments(ids, client=client, progress=False)
    assert top.schema == schemas.COMMENTS
    assert set(top["video_id"].to_list()) == set(ids)
    assert (top["parent_comment_id"] == top["video_id"]).all()
    for vid in ids:
        assert (
            top.filter(pl.col("video_id") == vid).height
            == sandbox.corpus.comment_summary(vid)["returnable"]
        )
    both = tr.fetch_comments(ids[:1], replies=True, client=client, progress=False)
    replies = both.filter(pl.col("parent_comment_id") != pl.col("video_id"))
    assert replies.height > 0
    assert set(replies["parent_comment_id"].to_list()) <= set(both["id"].to_list())
    assert both["id"].n_unique() == both.height


@pytest.mark.parametrize(
    ("fetch", "kind", "table"),
    [
        (tr.fetch_liked_videos, "liked_public", "liked_videos"),
        (tr.fetch_pinned_videos, "public", "pinned_videos"),
        (tr.fetch_reposted_videos, "reposts_public", "reposted_videos"),
        (tr.fetch_followers, "public", "followers"),
        (tr.fetch_following, "following_public", "following"),
    ],
)
def test_user_lists(
    sandbox: Sandbox, fetch: Any, kind: str, table: str, make_client: MakeClient
) -> None:
    client = make_client(sandbox)
    names = sandbox.corpus.sample_usernames(3, seed=2, kind=kind)
    private = sandbox.corpus.sample_usernames(1, seed=2, kind="private")
    result = fetch([*names, *private], client=client, progress=False)
    assert result.schema == schemas.SCHEMAS[table]
    assert set(result["source_username"].unique().to_list()) <= set(names)
    assert result.report.complete
    if table in ("liked_videos", "following", "reposted_videos"):
        assert result.failures["item"].to_list() == private


def test_followers_are_capped_per_account(
    make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sandbox = make_sandbox(n_videos=20_000, n_users=12_000)
    client = make_client(sandbox)
    big = sandbox.corpus.sample_usernames(1, kind="many_followers")
    assert big, "the corpus has accounts above the cap"
    result = tr.fetch_followers(big, client=client, progress=False)
    assert 4_000 <= result.height <= 5_000
    assert result["username"].n_unique() == result.height


def test_playlists_and_shop_endpoints(sandbox: Sandbox, make_client: MakeClient) -> None:
    client = make_client(sandbox)
    some = tr.fetch_videos(
        tr.Q.region_code.isin(["US", "GB", "DE"]),
        "20240101",
        "20240131",
        client=client,
        progress=False,
    )
    pids = some["playlist_id"].drop_nulls().unique().head(3)
    assert pids.len() > 0
    playlists = tr.fetch_playlists(pids, client=client, progress=False)
    assert playlists.schema == schemas.PLAYLISTS
    assert set(playlists["playlist_id"].to_list()) == set(pids.to_list())
    shop_name = sandbox.corpus.shop_names[0]
    shops = tr.fetch_shops([shop_name], client=client, progress=False)
    assert shops.schema == schemas.SHOPS and shops.height >= 1
    products = tr.fetch_products(shops["shop_id"].head(1), client=client, progress=False)
    assert products.schema == schemas.PRODUCTS and products.height >= 1
    reviews = tr.fetch_reviews(products["product_id"].head(2), client=client, progress=False)
    assert reviews.schema == schemas.REVIEWS


def test_quota_stop_then_resume_on_the_next_utc_day(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    clock = Clock(datetime(2025, 3, 10, 22, 0, tzinfo=UTC))
    sb = make_sandbox(daily_quota={"research": 6, "social": 100}, frozen_corpus=True, clock=clock)
    client = make_client(sb, clock=clock, ledger=tmp_path / "ledger")
    query = tr.Q.hashtag_name.isin(["fyp", "foryou"])
    with pytest.warns(IncompleteCollectionWarning):
        part = tr.fetch_videos(
            query, "20240101", "20240331", client=client, archive=tmp_path / "a", progress=False
        )
    assert not part.report.complete
    assert part.report.stop_kind == "quota" and "quota is used up" in (part.report.stopped_by or "")
    assert "resets at 2025-03-11 00:00 UTC" in (part.report.stopped_by or "")
    assert part.height > 0  # what was collected before the stop is returned
    clock.advance(3 * 3600)  # past 00:00 UTC: the quota is reset
    done: Any = None
    resumes = 0
    for _ in range(10):
        resumes += 1  # each day allows 6 requests; keep going day after day
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IncompleteCollectionWarning)
            done = tr.fetch_videos(
                query, "20240101", "20240331", client=client, archive=tmp_path / "a", progress=False
            )
        if done.report.complete:
            break
        clock.advance(24 * 3600)
    assert done is not None and done.report.complete
    # equal to an uninterrupted run on an identical sandbox
    fresh = make_sandbox(n_videos=20_000)
    whole = tr.fetch_videos(
        query, "20240101", "20240331", client=make_client(fresh), progress=False
    )
    assert done.equals(whole)
    # The search_id of the first day expired overnight (api-notes §11: 2 hours). The client re-opens
    # the search with one request at cursor 0 (its rows are duplicates and are dropped) and
    # continues at the saved cursor: at most one extra request per window, and no later page is
    # fetched twice.
    pages = _video_bodies(sb)
    later = [p for p in pages if p[2] > 0]
    assert len(later) == len(set(later)), "a page was fetched twice"
    firsts = [p for p in pages if p[2] == 0]
    windows = len(set(firsts))
    assert len(firsts) - windows <= resumes * windows  # at most one re-opening per window and day


def test_budget_stop_is_clean_and_resumable(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sb = make_sandbox(n_videos=20_000)
    query = tr.Q.hashtag_name.eq("fyp")
    client = make_client(sb, max_requests=3)
    with pytest.warns(IncompleteCollectionWarning):
        part = tr.fetch_videos(
            query, "20240101", "20240229", client=client, archive=tmp_path, progress=False
        )
    assert not part.report.complete and part.report.stop_kind == "budget"
    assert sb.requests_spent("sandbox").get("video_query", 0) == 3
    rest = tr.fetch_videos(
        query, "20240101", "20240229", client=make_client(sb), archive=tmp_path, progress=False
    )
    assert rest.report.complete
    whole = tr.fetch_videos(
        query,
        "20240101",
        "20240229",
        client=make_client(make_sandbox(n_videos=20_000)),
        progress=False,
    )
    assert rest.equals(whole)
    pages = _video_bodies(sb)
    assert len(pages) == len(set(pages))


def test_fault_storm_gives_the_fault_free_tables(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    # the storm of issue 5: 5% 500s, 2% HTML 504s, 2% transient search_id errors, 1% 429s
    storm = FaultConfig(
        seed=7, internal_error=0.05, gateway_timeout=0.02, search_id_invalid=0.02, rate_limit=0.01
    )
    noisy = make_sandbox(n_videos=40_000, faults=storm)
    calm = make_sandbox(n_videos=40_000)
    query = tr.Q.hashtag_name.isin(["fyp", "foryou", "viral"])
    got = tr.fetch_videos(
        query, "20240101", "20240630", client=make_client(noisy), archive=tmp_path, progress=False
    )
    want = tr.fetch_videos(query, "20240101", "20240630", client=make_client(calm), progress=False)
    assert got.report.complete
    assert got.height > 5_000
    assert got.equals(want)
    ids = calm.corpus.video_ids_with_comments(30)
    got_c = tr.fetch_comments(ids, client=make_client(noisy), progress=False)
    want_c = tr.fetch_comments(ids, client=make_client(calm), progress=False)
    assert got_c.report.complete
    assert got_c.equals(want_c)
    faults = {r.fault for r in noisy.request_log if r.fault}
    assert {
        "internal_error",
        "gateway_timeout",
        "rate_limit",
    } <= faults  # the storm really happened


def test_not_yet_indexed_days_are_reported(
    make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    clock = Clock(datetime(2024, 6, 15, 12, tzinfo=UTC))
    sb = make_sandbox(n_videos=5_000, clock=clock)
    client = make_client(sb, clock=clock)
    with pytest.warns(tr.errors.NotYetIndexedWarning):
        v = tr.fetch_videos(CATS, "20240601", "20240615", client=client, progress=False)
    assert any("not indexed" in w for w in v.report.warnings)


def test_progress_is_silent_when_output_is_piped(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], make_client: MakeClient
) -> None:
    tr.fetch_videos(CATS, "20240601", "20240605", client=make_client(sandbox))
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_dataset_output_appends_by_month(
    sandbox: Sandbox, tmp_path: Path, make_client: MakeClient
) -> None:
    client = make_client(sandbox)
    v = tr.fetch_videos(
        CATS, "20240101", "20240229", client=client, dataset=tmp_path / "ds", progress=False
    )
    months = sorted(p.name for p in (tmp_path / "ds").iterdir() if p.is_dir())
    assert months == ["create_month=2024-01", "create_month=2024-02"]
    hidden = sorted(p.name for p in (tmp_path / "ds").iterdir() if p.is_file())
    assert hidden == [".tiktok-research.lock", "_tiktok_research_dataset.json"]  # not data
    back = pl.scan_parquet(tmp_path / "ds" / "**" / "*.parquet", hive_partitioning=True).collect()
    assert back.height == v.height
    assert set(back["id"].to_list()) == set(v["id"].to_list())


def test_failed_windows_do_not_lose_earlier_pages(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sb = make_sandbox(n_videos=20_000)
    client = make_client(sb)
    query = tr.Q.hashtag_name.eq("fyp")
    # the second page of the first window fails with 500 again and again
    sb.script_faults(["ok"] + ["internal_error"] * 40, endpoint="video_query")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        part = tr.fetch_videos(
            query,
            "20240101",
            "20240110",
            client=client,
            archive=tmp_path,
            progress=False,
            max_workers=1,
        )
    assert not part.report.complete
    assert part.height > 0  # the first page's videos are kept
    sb.clear_faults()
    rest = tr.fetch_videos(
        query, "20240101", "20240110", client=client, archive=tmp_path, progress=False
    )
    whole = tr.fetch_videos(
        query,
        "20240101",
        "20240110",
        client=make_client(make_sandbox(n_videos=20_000)),
        progress=False,
    )
    assert rest.report.complete and rest.equals(whole)


def test_requests_spent_is_reported(sandbox: Sandbox, make_client: MakeClient) -> None:
    client = make_client(sandbox)
    before = sum(sandbox.requests_spent("sandbox").values())
    v = tr.fetch_videos(CATS, "20240701", "20240810", client=client, progress=False)
    after = sum(sandbox.requests_spent("sandbox").values())
    # the report counts what this run spent (the token request is not a data request)
    assert v.report.requests_spent == after - before - sandbox.requests_spent("sandbox").get(
        "oauth_token", 0
    ) * 0 or (v.report.requests_spent <= after - before)
    assert v.report.requests_spent >= 2  # two windows at least


def test_windows_run_concurrently_but_results_are_deterministic(
    sandbox: Sandbox, make_client: MakeClient
) -> None:
    a = tr.fetch_videos(
        CATS, "20240101", "20240630", client=make_client(sandbox), progress=False, max_workers=4
    )
    b = tr.fetch_videos(
        CATS, "20240101", "20240630", client=make_client(sandbox), progress=False, max_workers=1
    )
    assert a.equals(b)
    _ = timedelta


def test_streaming_into_a_dataset_equals_the_in_memory_table(
    sandbox: Sandbox, tmp_path: Path, make_client: MakeClient
) -> None:
    client = make_client(sandbox)
    query = tr.Q.hashtag_name.isin(["fyp", "cats"])
    report = tr.collect_videos(
        query,
        "20240101",
        "20240331",
        tmp_path / "ds",
        archive=tmp_path / "a",
        client=client,
        progress=False,
    )
    assert report.complete and report.rows > 0
    lazy = tr.io.read_dataset(tmp_path / "ds", table="videos")
    streamed = lazy.collect().drop("create_month").sort("id", descending=True)
    whole = tr.fetch_videos(query, "20240101", "20240331", client=client, progress=False)
    assert streamed.equals(pl.DataFrame(whole))
    # a second run finds everything done and writes nothing twice
    again = tr.collect_videos(
        query,
        "20240101",
        "20240331",
        tmp_path / "ds",
        archive=tmp_path / "a",
        client=client,
        progress=False,
    )
    assert again.requests_spent == 0 and again.rows == report.rows


def test_an_archived_but_unjournalled_page_is_answered_from_the_archive(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    """A kill between archiving a page and journalling it must not cost that page again."""
    sb = make_sandbox(n_videos=20_000)
    query = tr.Q.hashtag_name.eq("fyp")
    with pytest.warns(IncompleteCollectionWarning):
        tr.fetch_videos(
            query,
            "20240101",
            "20240131",
            client=make_client(sb, max_requests=3),
            archive=tmp_path,
            progress=False,
        )
    journal = next(tmp_path.glob("videos-*/journal.jsonl"))
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-1]))  # forget the last page, as a crash would
    before = len(_video_bodies(sb))
    done = tr.fetch_videos(
        query, "20240101", "20240131", client=make_client(sb), archive=tmp_path, progress=False
    )
    assert done.report.complete
    pages = _video_bodies(sb)
    assert len(pages) == len(set(pages)), "the forgotten page was fetched again"
    assert len(pages) > before


def test_progress_bar_when_asked(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], make_client: MakeClient
) -> None:
    tr.fetch_videos(CATS, "20240601", "20240705", client=make_client(sandbox), progress=True)
    err = capsys.readouterr().err
    assert "videos" in err and "2/2" in err  # two windows, both done
    assert "requests" in err


def test_handles_are_cleaned_like_the_selection_helpers(
    sandbox: Sandbox, make_client: MakeClient
) -> None:
    name = sandbox.corpus.sample_usernames(1, seed=9)[0]
    messy = [f"  @{name.upper()} ", f"https://www.tiktok.com/@{name}?lang=en", f"{name}\x00"]
    users = tr.fetch_user_info(messy, client=make_client(sandbox), progress=False)
    assert users["username"].to_list() == [name]  # one account, asked once
    assert tr.select_usernames(pl.DataFrame({"username": messy})).to_list() == [name]


def test_to_pandas_keeps_nullable_ids_exact(sandbox: Sandbox, make_client: MakeClient) -> None:
    import pandas as pd

    videos = tr.fetch_videos(
        CATS, "20240101", "20240131", client=make_client(sandbox), progress=False
    )
    assert videos["playlist_id"].null_count() > 0  # some videos are in no playlist
    pdf = videos.to_pandas()
    for col in ("id", "music_id", "playlist_id"):
        assert str(pdf[col].dtype) == "int64[pyarrow]", col
        got = [None if pd.isna(v) else int(v) for v in pdf[col].tolist()]
        assert got == videos[col].to_list(), col
    # frames derived with polars are plain DataFrames: tr.io.to_pandas does the same for them
    some = videos.filter(pl.col("view_count") > 0)
    assert tr.io.to_pandas(some)["playlist_id"].dtype != "float64"


def test_merging_an_archive_folder_reads_only_its_pages(
    sandbox: Sandbox, tmp_path: Path, make_client: MakeClient
) -> None:
    v = tr.fetch_videos(
        CATS, "20240201", "20240215", client=make_client(sandbox), archive=tmp_path, progress=False
    )
    merged = tr.merge_dumps(tmp_path)
    assert merged["videos"].sort("id").equals(pl.DataFrame(v).sort("id"))
    assert merged.skipped == []  # journal, manifests and collection.json are not data


def test_a_transient_error_outlasting_its_retries_leaves_the_item_pending(
    tmp_path: Path, make_sandbox: MakeSandbox, make_client: MakeClient
) -> None:
    sb = make_sandbox(n_videos=20_000)
    ids = sb.corpus.video_ids_with_comments(2)
    sb.script_faults(["ok"] + ["cursor_invalid"] * 30, endpoint="comments")
    with pytest.warns(IncompleteCollectionWarning):
        part = tr.fetch_comments(
            ids, client=make_client(sb), archive=tmp_path, progress=False, max_workers=1
        )
    assert not part.report.complete
    assert any("Invalid count or cursor" in why for why in part.report.pending.values())
    sb.clear_faults()
    done = tr.fetch_comments(ids, client=make_client(sb), archive=tmp_path, progress=False)
    assert done.report.complete and done.failures.height == 0  # not a failure for good
    whole = tr.fetch_comments(
        ids, client=make_client(make_sandbox(n_videos=20_000)), progress=False
    )
    assert done.equals(whole)


def test_a_bad_field_fails_the_call_once_before_any_request(
    sandbox: Sandbox, make_client: MakeClient
) -> None:
    before = len(sandbox.request_log)
    names = sandbox.corpus.sample_usernames(3)
    with pytest.raises(tr.InvalidRequestError, match="follower_cnt"):
        tr.fetch_user_info(
            names, fields=["display_name", "follower_cnt"], client=make_client(sandbox)
        )
    with pytest.raises(tr.InvalidRequestError):
        tr.fetch_comments([123], max_total=-1, client=make_client(sandbox))
    assert len(sandbox.request_log) == before


def test_scope_not_authorized_fails_every_item_but_spends_one_request(
    make_sandbox: MakeSandbox,
    make_client: MakeClient,
) -> None:
    sb = make_sandbox(n_videos=20_000)
    sb.add_client("lab", "lab-secret", followers_scope=False)
    client = make_client(sb, client_key="lab", client_secret="lab-secret", ledger=False)
    names = sb.corpus.sample_usernames(5)
    result = tr.fetch_followers(names, client=client, progress=False, max_workers=1)
    assert result.height == 0 and result.report.complete
    assert sorted(result.failures["item"].to_list()) == sorted(names)
    assert set(result.failures["code"].to_list()) == {"scope_not_authorized"}
    sent = [r for r in sb.request_log if r.endpoint == "followers"]
    assert len(sent) == 1  # the other four were not sent
    # the same project's other endpoints still work, in the same batch style
    assert tr.fetch_user_info(names[:2], client=client, progress=False).height == 2
