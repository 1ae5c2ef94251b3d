"""The sandbox's Commercial Content API (api-notes §12): the five endpoints, the scope check, the
envelope, the opaque search_id, validation, faults, quotas, and one setting per doc conflict."""

from __future__ import annotations

import base64
import calendar
import json
import re
from typing import Any

import httpx
import pytest

from tiktok_research._endpoints import (
    AD_DETAIL_FIELDS,
    AD_FIELDS,
    ADVERTISER_FIELDS,
    COMMERCIAL_CONTENT_FIELDS,
)
from tiktok_research.sandbox import AdlibConfig, ClientSpec, Sandbox, SandboxConfig

NOW = calendar.timegm((2025, 1, 15, 12, 0, 0))
ADS = "/v2/research/adlib/ad/query/"
DETAIL = "/v2/research/adlib/ad/detail/"
REPORT = "/v2/research/adlib/ad/report/"
ADVERTISERS = "/v2/research/adlib/advertiser/query/"
CONTENT = "/v2/research/adlib/commercial_content/query/"
RANGE = {"min": "20240101", "max": "20240331"}


def make(adlib: AdlibConfig | None = None, **kw: Any) -> Sandbox:
    return Sandbox(
        SandboxConfig(n_videos=3_000, adlib=adlib or AdlibConfig(), **kw), clock=lambda: NOW
    )


def http_for(sb: Sandbox, key: str = "sandbox") -> httpx.Client:
    client = httpx.Client(transport=sb.transport(), base_url=Sandbox.BASE_URL)
    client.headers["Authorization"] = f"Bearer {sb.issue_token(key)}"
    return client


@pytest.fixture(scope="module")
def sb() -> Sandbox:
    return make()


@pytest.fixture(scope="module")
def http(sb: Sandbox) -> httpx.Client:
    return http_for(sb)


def fields(names: tuple[str, ...]) -> str:
    return "?fields=" + ",".join(names)


def walk(http: httpx.Client, path: str, body: dict[str, Any], names: tuple[str, ...], key: str):
    """Every page of a search_id sequence: (items, search_ids, answers)."""
    items: list[dict[str, Any]] = []
    sids: list[str] = []
    body = dict(body)
    for _ in range(200):
        r = http.post(path + fields(names), json=body)
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        items.extend(data[key])
        sids.append(data["search_id"])
        if not data["has_more"]:
            return items, sids
        body["search_id"] = data["search_id"]
    raise AssertionError("the sequence did not end")


def test_every_answer_carries_http_status_code(http: httpx.Client) -> None:
    ok = http.post(ADS + fields(AD_FIELDS), json={"filters": {"ad_published_date_range": RANGE}})
    assert ok.json()["error"] == {
        "code": "ok",
        "message": "",
        "log_id": ok.json()["error"]["log_id"],
        "http_status_code": 200,
    }
    bad = http.post(ADS + fields(AD_FIELDS), json={"filters": {}})
    assert bad.status_code == 400
    assert bad.json()["error"]["http_status_code"] == 400
    anon = httpx.Client(transport=http._transport, base_url=Sandbox.BASE_URL)
    unauth = anon.post(ADS + fields(AD_FIELDS), json={})
    assert unauth.status_code == 401
    assert unauth.json()["error"]["code"] == "access_token_invalid"
    assert unauth.json()["error"]["http_status_code"] == 401


def test_scope_research_adlib_basic_is_checked_both_ways() -> None:
    sb = make(clients=(
        ClientSpec("both", "s"),
        ClientSpec("research_only", "s", adlib_scope=False),
        ClientSpec("adlib_only", "s", approved=False, adlib_scope=True),
    ))  # fmt: skip
    body = {"filters": {"ad_published_date_range": RANGE}}
    research = {
        "query": {
            "and": [{"operation": "EQ", "field_name": "region_code", "field_values": ["FR"]}]
        },
        "start_date": "20240101",
        "end_date": "20240110",
    }
    for key, ads_status, videos_status in (
        ("both", 200, 200),
        ("research_only", 401, 200),
        ("adlib_only", 200, 401),
    ):
        http = http_for(sb, key)
        a = http.post(ADS + fields(AD_FIELDS), json=body)
        v = http.post("/v2/research/video/query/?fields=id", json=research)
        assert (a.status_code, v.status_code) == (ads_status, videos_status), key
        if a.status_code == 401:
            assert a.json()["error"]["code"] == "scope_not_authorized"
            assert a.json()["error"]["http_status_code"] == 401
    # a refusal costs nothing
    assert "ad_query" not in sb.requests_spent("research_only")


def test_ad_query_pages_by_opaque_search_id(sb: Sandbox, http: httpx.Client) -> None:
    body = {"filters": {"ad_published_date_range": RANGE, "country_code": "DE"}, "max_count": 7}
    items, sids = walk(http, ADS, body, AD_FIELDS, "ads")
    lib = sb.ad_library
    import datetime as dt

    expected = lib.ads_matching(
        dt.date(2024, 1, 1), dt.date(2024, 3, 31), countries={"DE"}, advertisers=None,
        term=None, fuzzy=False, reach=None, today=dt.date(2025, 1, 15), retention_days=None,
    )  # fmt: skip
    ids = [it["ad"]["id"] for it in items]
    assert ids == [int(lib.ad_ids[r]) for r in expected.tolist()]
    assert len(ids) == len(set(ids)) > 14  # several pages, nothing twice
    assert len(set(sids)) == len(sids)  # a new search_id on every page
    first = json.loads(base64.urlsafe_b64decode(sids[0] + "=" * (-len(sids[0]) % 4)))
    assert set(first) >= {"last_sort"}  # base64 of {"last_sort": [...]} like the doc examples
    # ids above 2**53 arrive as bare JSON integers, exactly
    raw = http.post(ADS + fields(AD_FIELDS), json=body).text
    assert re.search(r'"id":\d{19}[,}]', raw)
    # dates of the answers are numbers as in the doc example (the docs type them as strings)
    assert isinstance(items[0]["ad"]["first_shown_date"], int)
    for it in items:
        assert set(it) == {"ad", "advertiser"}
        assert set(it["advertiser"]) == {"business_id", "business_name", "paid_by"}
        assert 20240101 <= it["ad"]["first_shown_date"] <= 20240331


def test_search_id_of_another_search_is_refused(http: httpx.Client) -> None:
    body = {"filters": {"ad_published_date_range": RANGE}, "max_count": 5}
    sid = http.post(ADS + fields(AD_FIELDS), json=body).json()["data"]["search_id"]
    other = {"filters": {"ad_published_date_range": {"min": "20240201", "max": "20240331"}}}
    r = http.post(ADS + fields(AD_FIELDS), json={**other, "search_id": sid})
    assert r.status_code == 400
    assert "invalid or expired" in r.json()["error"]["message"]
    garbage = http.post(ADS + fields(AD_FIELDS), json={**body, "search_id": "not-base64!"})
    assert garbage.status_code == 400


def test_ad_detail_nests_dotted_fields(sb: Sandbox, http: httpx.Client) -> None:
    lib = sb.ad_library
    ad_id = int(lib.ad_ids[lib.ad_rejected.argmax()])
    r = http.post(DETAIL + fields(AD_DETAIL_FIELDS), json={"ad_id": ad_id})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert set(data) == {"ad", "advertiser", "ad_group"}
    assert data["ad"]["id"] == ad_id
    reach = data["ad"]["reach"]
    assert set(reach) == {"unique_users_seen", "unique_users_seen_by_country",
                          "unique_users_seen_by_age", "unique_users_seen_by_gender"}  # fmt: skip
    assert set(reach["unique_users_seen_by_country"]) == set(
        data["ad_group"]["targeting_info"]["country"]
    )
    assert set(data["advertiser"]["tiktok_account"]) == {"follower_count", "avatar_url",
                                                         "profile_url"}  # fmt: skip
    assert data["ad"]["rejection_info"]["reasons"]
    # only what is asked for
    small = http.post(DETAIL + "?fields=ad.id,advertiser.profile_url", json={"ad_id": ad_id})
    assert small.json()["data"] == {
        "ad": {"id": ad_id},
        "advertiser": {
            "tiktok_account": {"profile_url": data["advertiser"]["tiktok_account"]["profile_url"]},
            "country_code": data["advertiser"]["country_code"],
        },
    }
    # the 2024 Getting Started example asks for whole objects
    whole = http.post(DETAIL + "?fields=ad,ad_group", json={"ad_id": str(ad_id)})
    assert set(whole.json()["data"]) == {"ad", "ad_group"}
    missing = http.post(DETAIL + "?fields=ad.id", json={"ad_id": 12345})
    assert missing.status_code == 400 and "cannot find the ad" in missing.json()["error"]["message"]


def test_ad_report_counts_ads_per_country_and_day(sb: Sandbox, http: httpx.Client) -> None:
    body = {"filters": {"ad_published_date_range": RANGE, "country_code": "FR"}}
    r = http.post(REPORT + "?fields=count_time_series_by_country", json=body)
    series = r.json()["data"]["count_time_series_by_country"]
    assert list(series) == ["FR"]
    dates = [p["date"] for p in series["FR"]]
    assert dates == sorted(dates, reverse=True)  # newest first, as in the doc example
    items, _ = walk(http, ADS, {**body, "max_count": 50}, AD_FIELDS, "ads")
    assert sum(p["count"] for p in series["FR"]) == len(items)


def test_advertiser_query(http: httpx.Client) -> None:
    r = http.post(ADVERTISERS + fields(ADVERTISER_FIELDS), json={"search_term": "coffee"})
    found = r.json()["data"]["advertisers"]
    assert found and all("coffee" in a["business_name"].lower() for a in found)
    assert set(found[0]) == set(ADVERTISER_FIELDS)
    assert "has_more" not in r.json()["data"]  # no pagination documented
    long = http.post(ADVERTISERS + fields(ADVERTISER_FIELDS), json={"search_term": "x" * 51})
    assert long.status_code == 400 and "at most 50" in long.json()["error"]["message"]


def test_commercial_content_links_to_research_videos(sb: Sandbox, http: httpx.Client) -> None:
    body = {
        "filters": {"content_published_date_range": RANGE, "creator_country_code": "ALL"},
        "max_count": 20,
    }
    items, _ = walk(http, CONTENT, body, COMMERCIAL_CONTENT_FIELDS, "commercial_contents")
    assert items
    corpus = sb.corpus
    for it in items:
        assert isinstance(it["id"], str)
        assert it["label"] in ("Paid partnership", "Promotional content")
        video = it["videos"][0]
        row = corpus.row_of_id(video["id"])
        assert row is not None
        assert corpus.usernames[int(corpus.author[row])] == it["creator"]["username"]
        assert video["url"].endswith(f"@{it['creator']['username']}/video/{video['id']}")
    labels = {it["label"] for it in items}
    assert labels == {"Paid partnership", "Promotional content"}
    one = items[0]["creator"]["username"]
    mine, _ = walk(
        http, CONTENT,
        {"filters": {"content_published_date_range": RANGE, "creator_usernames": [one]}},
        COMMERCIAL_CONTENT_FIELDS, "commercial_contents",
    )  # fmt: skip
    assert mine and {m["creator"]["username"] for m in mine} == {one}


def test_minet_field_name_is_accepted(http: httpx.Client) -> None:
    minet = "?fields=id,create_timestamp,create_date_utc,label,brand_names,creator,videos"
    body = {"filters": {"content_published_date_range": RANGE, "creator_country_code": "DE"}}
    assert http.post(CONTENT + minet, json=body).status_code == 200


BAD_ADS = [
    ({}, r"filters is required"),
    ({"filters": {}}, r"ad_published_date_range is required"),
    ({"filters": {"ad_published_date_range": {"min": "20220901", "max": "20240101"}}},
     r"on or after 20221001"),
    ({"filters": {"ad_published_date_range": {"min": "20240301", "max": "20240101"}}},
     r"before min"),
    ({"filters": {"ad_published_date_range": {"min": "2024-03-01", "max": "20240401"}}},
     r"YYYYMMDD"),
    ({"filters": {"ad_published_date_range": RANGE, "country_code": "US"}},
     r"not a supported country"),
    ({"filters": {"ad_published_date_range": RANGE, "region": "FR"}}, r"Invalid filter"),
    ({"filters": {"ad_published_date_range": RANGE}, "search_type": "regex"}, r"search_type"),
    ({"filters": {"ad_published_date_range": RANGE}, "max_count": 51}, r"max_count"),
    ({"filters": {"ad_published_date_range": RANGE,
                  "unique_users_seen_size_range": {"min": "2000K", "max": "1M"}}}, r"2000K"),
    ({"filters": {"ad_published_date_range": RANGE,
                  "unique_users_seen_size_range": {"min": "0K", "max": "0K"}}}, r"above 0"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "message"), BAD_ADS)
def test_ad_query_mistakes_are_400_and_free(body: dict[str, Any], message: str) -> None:
    sb = make()
    r = http_for(sb).post(ADS + fields(AD_FIELDS), json=body)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_params"
    assert re.search(message, r.json()["error"]["message"]), r.json()["error"]["message"]
    assert sb.requests_spent() == {}


def test_commercial_content_is_eea_only(http: httpx.Client) -> None:
    for code in ("GB", "CH", "US"):
        body = {"filters": {"content_published_date_range": RANGE, "creator_country_code": code}}
        r = http.post(CONTENT + fields(COMMERCIAL_CONTENT_FIELDS), json=body)
        assert r.status_code == 400, code


def test_settings_for_each_documentation_conflict() -> None:
    sb = make(
        AdlibConfig(
            country_keys=("country_code_list",), max_counts={"ad_query": 10},
            earliest="one_year", max_range_days=365, funding_key="paid_for_by", label="code",
            has_more_text=True,
        )
    )  # fmt: skip
    http = http_for(sb)
    recent = {"min": "20240201", "max": "20240630"}
    ok = http.post(
        ADS + fields(AD_FIELDS),
        json={"filters": {"ad_published_date_range": recent, "country_code_list": ["FR", "DE"]},
              "max_count": 10},
    ).json()["data"]  # fmt: skip
    assert ok["has_more"] in ("true", "false")
    assert "paid_for_by" in ok["ads"][0]["advertiser"]
    refused = [
        {"filters": {"ad_published_date_range": recent, "country_code": "FR"}},
        {"filters": {"ad_published_date_range": recent}, "max_count": 11},
        {"filters": {"ad_published_date_range": {"min": "20231231", "max": "20240105"}}},
    ]
    for body in refused:
        assert http.post(ADS + fields(AD_FIELDS), json=body).status_code == 400, body
    content = http.post(
        CONTENT + fields(COMMERCIAL_CONTENT_FIELDS),
        json={"filters": {"content_published_date_range": recent}, "max_count": 50},
    ).json()["data"]
    assert {c["label"] for c in content["commercial_contents"]} <= {"1", "2"}


def test_no_daily_quota_by_default_and_a_configured_one_stops() -> None:
    sb = make()
    http = http_for(sb)
    body = {"filters": {"ad_published_date_range": RANGE}, "max_count": 1}
    for _ in range(5):
        assert http.post(ADS + fields(AD_FIELDS), json=body).status_code == 200
    assert "adlib" not in sb.quota_remaining()
    capped = make(daily_quota={"research": 1000, "social": 20000, "adlib": 2})
    http = http_for(capped)
    codes = [http.post(ADS + fields(AD_FIELDS), json=body).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    # the research quota is untouched by the ad library
    assert capped.quota_remaining()["research"] == 1000


def test_faults_reach_the_ad_library() -> None:
    sb = make()
    sb.script_faults(["internal_error", "gateway_timeout", "rate_limit"], endpoint="ad_query")
    http = http_for(sb)
    body = {"filters": {"ad_published_date_range": RANGE}}
    statuses = [http.post(ADS + fields(AD_FIELDS), json=body).status_code for _ in range(4)]
    assert statuses == [500, 504, 429, 200]
    assert sb.requests_spent()["ad_query"] == 3  # 5xx count, like the Research API's
