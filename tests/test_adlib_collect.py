"""Collections of the Commercial Content API (api-notes §12) on the sandbox: every endpoint, every
filter mistake (a clear error and no request), resume without paying a page twice (also after
kill -9), and the joins."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import tiktok_research as tr
from tiktok_research.sandbox import AdlibConfig, ClientSpec, Sandbox, SandboxConfig, run_server

# the sandbox's ads run to 2024-12-31; a clock inside that year keeps every range below within the
# year the library is said to keep ads (no retention note)
NOW = dt.datetime(2024, 12, 20, 12, tzinfo=dt.UTC)


def sandbox(**kw: Any) -> Sandbox:
    return Sandbox(SandboxConfig(n_videos=3_000, clock_start=NOW, **kw))


def client(sb: Sandbox, **kw: Any) -> tr.Client:
    return tr.Client.sandbox(sb, **kw)


def data_requests(sb: Sandbox) -> int:
    return sum(n for name, n in sb.stats()["requests"].items() if name != "oauth_token")


# ------------------------------------------------------------------------ every endpoint


def test_fetch_ads_is_the_library_answer(tmp_path: Path) -> None:
    sb = sandbox()
    ads = tr.fetch_ads(
        "2024-02-01", "2024-06-30", countries=["FR", "DE"], client=client(sb),
        archive=tmp_path, progress=False,
    )  # fmt: skip
    assert ads.schema == tr.schemas.ADS
    lib = sb.ad_library
    expected: set[int] = set()
    for country in ("FR", "DE"):
        rows = lib.ads_matching(
            dt.date(2024, 2, 1), dt.date(2024, 6, 30), countries={country}, advertisers=None,
            term=None, fuzzy=False, reach=None, today=NOW.date(), retention_days=None,
        )  # fmt: skip
        expected |= {int(lib.ad_ids[r]) for r in rows.tolist()}
    assert set(ads["ad_id"].to_list()) == expected
    assert ads["ad_id"].is_unique().all()  # an ad shown in FR and DE is one row
    assert ads.height > 100 and ads["ad_id"].max() > 2**53  # 19-digit ids, exact
    assert ads.report.complete and ads.report.requests_spent == sb.stats()["requests"]["ad_query"]
    assert ads["paid_for_by"].null_count() == 0  # answered as paid_by, kept as paid_for_by


def test_fetch_ad_details_advertisers_report_and_content() -> None:
    sb = sandbox()
    c = client(sb)
    ads = tr.fetch_ads("2024-03-01", "2024-03-31", countries="IT", client=c, progress=False)
    details = tr.fetch_ad_details(ads.head(6), client=c, progress=False)
    assert details.schema == tr.schemas.AD_DETAILS
    assert details["ad_id"].to_list() == ads["ad_id"].head(6).to_list()  # the order given
    assert sb.stats()["requests"]["ad_detail"] == 6
    row = details.row(0, named=True)
    assert row["unique_users_seen_by_country"] and row["targeting_info"]["country"]
    assert {a["age"] for a in row["unique_users_seen_by_age"]} >= {"18-24", "25-34"}
    # the advertiser's account joins to the Research API's users
    linked = details.filter(pl.col("advertiser_username").is_in(sb.corpus.usernames))
    assert linked.height > 0

    advertisers = tr.fetch_advertisers(["coffee", "Bank"], client=c, progress=False)
    assert advertisers.schema == tr.schemas.ADVERTISERS
    assert set(advertisers["search_term"]) == {"coffee", "Bank"}

    report = tr.fetch_ad_report("2024-03-01", "2024-03-31", countries="IT", client=c,
                                progress=False)  # fmt: skip
    assert report.schema == tr.schemas.AD_REPORTS
    assert report["count"].sum() == ads.height  # the report counts the same ads

    content = tr.fetch_commercial_content("2024-01-01", "2024-11-30", client=c, progress=False)
    assert content.schema == tr.schemas.COMMERCIAL_CONTENT
    assert set(content["label"]) == {"Paid partnership", "Promotional content"}
    assert content["id"].is_unique().all()


def test_commercial_content_joins_research_videos_and_users() -> None:
    sb = sandbox()
    c = client(sb)
    content = tr.fetch_commercial_content("2024-01-01", "2024-06-30", countries="DE", client=c,
                                          progress=False)  # fmt: skip
    linked = tr.link_commercial_content(content)
    videos = tr.fetch_videos_by_id(linked["video_id"], client=c, progress=False)
    users = tr.fetch_user_info(linked["creator_username"].unique(), client=c, progress=False)
    joined = tr.link_commercial_content(content, videos=videos, users=users)
    assert joined.height == content.height  # one video each in the sandbox
    assert joined["view_count"].null_count() == 0  # every video found by the Research API
    assert (joined["username"] == joined["creator_username"]).all()
    assert joined["creator_follower_count"].null_count() == 0


def test_join_ads_to_advertisers_by_business_id() -> None:
    sb = sandbox()
    c = client(sb)
    ads = tr.fetch_ads("2024-01-01", "2024-06-30", client=c, progress=False)
    advertisers = tr.fetch_advertisers(["Coffee"], client=c, progress=False)
    joined = tr.join_ads_advertisers(ads, advertisers)
    assert joined.height == ads.height
    coffee = joined.filter(pl.col("search_term") == "Coffee")
    assert coffee.height > 0
    assert coffee["business_name"].str.contains("Coffee").all()
    assert coffee["advertiser_country_code"].null_count() == 0


def test_summarize_ads_by_advertiser_country_and_month() -> None:
    sb = sandbox()
    c = client(sb)
    ads = tr.fetch_ads("2024-01-01", "2024-03-31", countries="FR", client=c, progress=False)
    by_adv = tr.summarize_ads(ads, by="advertiser")
    assert by_adv["ads"].sum() == ads.height
    bands = ["<1K", "1K-10K", "10K-100K", "100K-1M", "1M+"]
    assert by_adv.select(pl.sum_horizontal(bands)).to_series().sum() == ads.height
    months = tr.summarize_ads(ads, by="month")
    assert set(months["month"]) == {"2024-01", "2024-02", "2024-03"}
    with pytest.raises(tr.InvalidRequestError, match="fetch_ad_details"):
        tr.summarize_ads(ads, by="country")
    details = tr.fetch_ad_details(ads.head(10), client=c, progress=False)
    countries = tr.summarize_ads(details, by=["country", "month"])
    assert "FR" in set(countries["country"])


def test_doc_conflict_settings_are_read_by_the_client() -> None:
    sb = sandbox(adlib=AdlibConfig(funding_key="paid_for_by", label="code", has_more_text=True))
    c = client(sb)
    ads = tr.fetch_ads("2024-03-01", "2024-04-30", client=c, progress=False, max_count=10)
    assert ads.height > 10 and ads["paid_for_by"].null_count() == 0  # string has_more followed
    content = tr.fetch_commercial_content("2024-01-01", "2024-11-30", client=c, progress=False)
    assert set(content["label"]) == {"Paid partnership", "Promotional content"}  # codes mapped


def test_a_client_without_the_adlib_scope_is_refused_once() -> None:
    sb = sandbox(clients=(ClientSpec("sandbox", "sandbox", adlib_scope=False),))
    c = client(sb)
    with pytest.raises(tr.ScopeNotAuthorizedError):
        tr.fetch_ads("2024-03-01", "2024-03-31", client=c, progress=False)
    details = tr.fetch_ad_details([1, 2, 3], client=c, progress=False, max_workers=1)
    assert details.height == 0 and details.failures.height == 3
    assert sb.stats()["requests"].get("ad_detail") == 1  # the others were not sent


# ------------------------------------------------------------------ mistakes cost nothing

MISTAKES: list[tuple[str, Any, Any, str]] = [
    ("fetch_ads", ("2022-09-30", "2024-01-01"), {}, r"before 2022-10-01"),
    ("fetch_ads", ("2024-03-01", "2024-01-01"), {}, r"reversed"),
    ("fetch_ads", ("2024-13-01", "2024-12-31"), {}, r"not a date"),
    ("fetch_ads", (None, "2024-12-31"), {}, r"start_date is required"),
    ("fetch_ads", ("2030-01-01", "2030-02-01"), {}, r"in the future"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"countries": "US"}, r"US not covered"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"countries": ["FR", "UK"]}, r"the UK is GB"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"countries": ["ALL", "FR"]}, r"'ALL' already"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"countries": []}, r"countries is empty"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"search_term": "x" * 51}, r"at most 50"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"search_type": "regex"}, r"exact_phrase"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"search_term": "a", "advertiser_ids": [1]},
     r"not both"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"advertiser_ids": [1.5]}, r"float"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"advertiser_ids": [2**63]}, r"not a valid id"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"reach": ("2000K", "1M")}, r"2000K"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"reach": ("0K", "0K")}, r"above 0"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"reach": ("1M", "10K")}, r"below min"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"reach": (100, None)}, r"size text"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"fields": "ad.idd"}, r"Did you mean 'ad.id'"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"max_count": 51}, r"between 1 and 50"),
    ("fetch_ads", ("2024-01-01", "2024-02-01"), {"max_total": -1}, r"max_total"),
    ("fetch_commercial_content", ("2024-01-01", "2024-02-01"), {"countries": "GB"},
     r"EEA only"),
    ("fetch_commercial_content", ("2024-01-01", "2024-02-01"), {"countries": "CH"},
     r"not Switzerland"),
    ("fetch_commercial_content", ("2024-01-01", "2024-02-01"), {"usernames": ["no way!"]},
     r"cannot be TikTok handles"),
    ("fetch_commercial_content", ("2022-01-01", "2022-02-01"), {}, r"before 2022-10-01"),
    ("fetch_ad_report", ("2024-01-01", "2024-02-01"), {"countries": "XX"}, r"XX not covered"),
    ("fetch_ad_report", ("2022-09-01", "2024-02-01"), {}, r"before 2022-10-01"),
    ("fetch_ad_details", ([1.0],), {}, r"float"),
    ("fetch_ad_details", ([],), {}, r"empty"),
    ("fetch_ad_details", (["12ab"],), {}, r"not an id"),
    ("fetch_ad_details", ([1],), {"fields": "ad.id,nope"}, r"unknown field 'nope'"),
    ("fetch_advertisers", (["x" * 51],), {}, r"at most 50"),
    ("fetch_advertisers", ([""],), {}, r"empty|required"),
    ("fetch_advertisers", (["coffee"],), {"max_count": 0}, r"between 1 and 50"),
]  # fmt: skip


@pytest.mark.filterwarnings("ignore:.*dropped 1 blank item:UserWarning")
@pytest.mark.parametrize(("func", "args", "kwargs", "message"), MISTAKES)
def test_every_filter_mistake_is_a_clear_error_and_no_request(
    func: str, args: Any, kwargs: dict[str, Any], message: str, tmp_path: Path
) -> None:
    sb = sandbox()
    c = client(sb)
    with pytest.raises(tr.InvalidRequestError, match=message):
        getattr(tr, func)(*args, client=c, archive=tmp_path, progress=False, **kwargs)
    assert data_requests(sb) == 0
    assert sb.stats()["requests"].get("oauth_token", 0) == 0  # not even a token


def test_pages_of_the_client_check_adlib_params_before_any_request() -> None:
    sb = sandbox()
    c = client(sb)
    bad = [
        ("ad_query", {"filters": {"ad_published_date_range": {"min": "20220101",
                                                               "max": "20240101"}}}),
        ("ad_query", {"filters": {"ad_published_date_range": {"min": "20230101",
                                                               "max": "20240601"}}}),
        ("ad_query", {"filters": {}}),
        ("ad_query", {"filters": {"ad_published_date_range": {"min": "20240101",
                                                               "max": "20240201"},
                                  "country_code": "US"}}),
        ("commercial_content_query", {"filters": {"content_published_date_range": {
            "min": "20240101", "max": "20240201"}, "creator_country_code": "GB"}}),
        ("advertiser_query", {}),
        ("ad_detail", {"ad_id": -3}),
    ]  # fmt: skip
    for endpoint, params in bad:
        with pytest.raises(tr.InvalidRequestError):
            c.pages(endpoint, params)
    assert data_requests(sb) == 0


# ------------------------------------------------------------------------------- resume


def _page_keys(sb: Sandbox, endpoint: str = "ad_query") -> list[str]:
    ok = [r for r in sb.request_log if r.endpoint == endpoint and r.status == 200]
    return [json.dumps([r.body.get("filters"), r.body.get("search_id")], sort_keys=True)
            for r in ok]  # fmt: skip


def test_a_budget_stop_resumes_without_paying_a_page_twice(tmp_path: Path) -> None:
    sb = sandbox()
    args = ("2024-01-01", "2024-11-30")
    with pytest.warns(tr.IncompleteCollectionWarning):
        first = tr.fetch_ads(*args, client=client(sb, max_requests=5), archive=tmp_path,
                             progress=False, max_count=10)  # fmt: skip
    assert not first.report.complete and first.report.requests_spent == 5
    done = tr.fetch_ads(*args, client=client(sb), archive=tmp_path, progress=False, max_count=10)
    assert done.report.complete and done.report.resumed
    keys = _page_keys(sb)
    assert len(keys) == len(set(keys)) > 10
    whole = tr.fetch_ads(*args, client=client(sandbox()), progress=False, max_count=10)
    assert done.equals(whole)


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    import tiktok_research as tr

    base_url, archive, out = sys.argv[1:4]
    client = tr.Client("sandbox", "sandbox", base_url=base_url, qps=20, ledger=False)
    ads = tr.fetch_ads("20240101", "20241130", client=client, archive=archive, progress=False,
                       max_workers=1, max_count=10)
    ads.write_parquet(out)
    print("complete" if ads.report.complete else "incomplete", ads.height)
    """
)


def _journal_lines(archive: Path) -> int:
    return sum(len(p.read_bytes().splitlines()) for p in archive.glob("ads-*/journal.jsonl"))


@pytest.mark.slow
@pytest.mark.http
def test_sigkill_then_resume_pays_no_page_twice(tmp_path: Path) -> None:
    script = tmp_path / "collect.py"
    script.write_text(KILL_SCRIPT)
    archive, out = tmp_path / "archive", tmp_path / "ads.parquet"
    config = SandboxConfig(n_videos=3_000, latency=0.01, clock_start=NOW)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "ignore"}
    with run_server(Sandbox(config)) as (base_url, sb):
        args = [sys.executable, str(script), base_url, str(archive), str(out)]
        log = tmp_path / "stderr.txt"
        with log.open("wb") as err:
            proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 120
        while _journal_lines(archive) < 12:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the collection made no progress"
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL and not out.exists()
        before = len(_page_keys(sb))
        held = _archived_keys(archive)  # the pages the killed run had kept
        done = subprocess.run(args, env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout.decode().startswith("complete")
        keys = _page_keys(sb)
        print(f"kill -9 resume: {before} pages answered before the kill, {len(held)} archived, "
              f"{len(keys)} in all, {len(set(keys))} distinct")  # fmt: skip
        assert len(keys) > before  # the second run continued the work
        assert held and not held & set(keys[before:]), "a page held in the archive was paid again"
        # only a page in flight at the kill (answered, never archived; one worker) is asked again
        assert len(keys) - len(set(keys)) <= before - len(held) <= 1
    resumed = pl.read_parquet(out)
    whole = tr.fetch_ads("20240101", "20241130", client=client(sandbox()), progress=False,
                         max_count=10)  # fmt: skip
    assert resumed.equals(whole) and resumed.height > 300
    assert len(set(keys)) == whole.report.requests_spent  # the pages of one clean run


def _archived_keys(archive: Path) -> set[str]:
    """The (filters, search_id) of every answer kept in ``archive``'s page files."""
    import gzip

    out = set()
    for path in archive.rglob("pages-*.jsonl*"):
        raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        for line in raw.splitlines():
            try:
                env = json.loads(line)
            except ValueError:
                continue  # a line cut by the kill: not held
            body = env["request"]["body"]
            out.add(json.dumps([body.get("filters"), body.get("search_id")], sort_keys=True))
    return out


def test_dry_run_says_what_it_will_send() -> None:
    plan = tr.plan_ads("2023-01-01", "2024-06-30", countries=["FR", "DE"], search_term="shoes",
                       today=dt.date(2024, 7, 1), warn=False)  # fmt: skip
    text = str(plan)
    assert "at least 4 request(s)" in text
    assert "POST /v2/research/adlib/ad/query/?fields=ad.id," in text
    body = json.loads(text.split("POST /v2/research/adlib/ad/query/")[1].splitlines()[1])
    assert body == {
        "filters": {"ad_published_date_range": {"min": "20240101", "max": "20240630"},
                    "country_code": "FR"},
        "search_term": "shoes", "max_count": 50,
    }  # fmt: skip
    assert re.search(r"note: ads stay searchable for about a year", text)


def test_a_refused_search_id_on_resume_restarts_the_search_once(tmp_path: Path) -> None:
    """An opaque search_id carries no offset: when the one a resumed run holds is refused (it
    expired), the search starts again from its first page; the rows it had are not doubled."""
    sb = sandbox()
    args = ("2024-03-01", "2024-05-31")
    with pytest.warns(tr.IncompleteCollectionWarning):
        tr.fetch_ads(*args, client=client(sb, max_requests=3), archive=tmp_path,
                     progress=False, max_count=10)  # fmt: skip
    sb.script_faults(["search_id_invalid"], endpoint="ad_query")
    done = tr.fetch_ads(*args, client=client(sb), archive=tmp_path, progress=False, max_count=10)
    assert done.report.complete
    whole = tr.fetch_ads(*args, client=client(sandbox()), progress=False, max_count=10)
    assert done.equals(whole)
    refused = [r for r in sb.request_log if r.endpoint == "ad_query" and r.status == 400]
    assert len(refused) == 1
    first_pages = [
        r
        for r in sb.request_log
        if r.endpoint == "ad_query" and r.status == 200 and "search_id" not in r.body
    ]
    assert len(first_pages) == 2  # the first run's, and the restart's


def test_a_search_table_has_one_order_whatever_the_arrival(tmp_path: Path) -> None:
    """Pages of several searches (a country each) arrive in any order, and an ad shown in two
    countries comes twice: the table is the same whatever the order of the countries given, the
    number of workers or an archive, newest first."""
    args = ("2024-01-01", "2024-11-30")
    tables = []
    for i, (countries, workers) in enumerate(
        [(["FR", "DE", "IT"], 1), (["IT", "DE", "FR"], 1), (["DE", "FR", "IT"], 4)]
    ):
        c = client(sandbox())
        tables.append(tr.fetch_ads(*args, countries=countries, client=c, progress=False,
                                   max_count=10, max_workers=workers,
                                   archive=tmp_path / str(i)))  # fmt: skip
    assert tables[0].height > 100
    assert all(t.equals(tables[0]) for t in tables[1:])
    days = tables[0]["first_shown_date"]
    assert days.is_sorted(descending=True)
    content = [
        tr.fetch_commercial_content(
            *args, countries=countries, client=client(sandbox()), progress=False, max_count=10
        )
        for countries in (["DE", "FR"], ["FR", "DE"])
    ]
    assert content[0].height > 10 and content[0].equals(content[1])
    reports = [
        tr.fetch_ad_report(*args, countries=countries, client=client(sandbox()), progress=False)
        for countries in (["DE", "FR"], ["FR", "DE"])
    ]
    assert reports[0].equals(reports[1])


def test_the_retention_note_is_a_declared_warning() -> None:
    """A search older than a year warns with tr.AdLibraryWarning (a TikTokResearchWarning), so
    that users can filter it by class."""
    with pytest.warns(tr.AdLibraryWarning, match="stay searchable") as caught:
        tr.plan_ads("2023-01-01", "2024-06-30", countries="FR", today=dt.date(2024, 7, 1))
    assert all(issubclass(w.category, tr.TikTokResearchWarning) for w in caught)
    assert caught[0].filename == __file__  # it points at the caller's line
