"""The ad library's answers as TikTok's documentation shows them
(tests/fixtures/api-examples/adlib_*)
become the declared tables, every spelling read (api-notes §12.2 conflicts)."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from _shared import EXAMPLES
from tiktok_research import schemas
from tiktok_research._adlib_tables import adlib_rows
from tiktok_research._endpoints import ADLIB_ENDPOINTS
from tiktok_research.errors import DataWarning
from tiktok_research.pagination import Position, next_position


def example(name: str) -> dict[str, object]:
    path = EXAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared folder)")
    loaded: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_ad_query_doc_example_with_its_typos() -> None:
    body = example("adlib_ad_query__200__docs.json")
    ads = adlib_rows("ad_query", [(body, {})])
    assert ads.schema == schemas.ADS
    row = ads.row(0, named=True)
    assert row["ad_id"] == 1923845247192304
    assert row["business_id"] == 3847236290405  # the doc's `buisness_id`
    assert row["unique_users_seen"] == "11K"  # the doc's `unique_user_seen`
    assert row["paid_for_by"] == "Awe Co."  # answered as `paid_by`
    assert row["first_shown_date"] == dt.date(2021, 1, 1)  # a bare number
    # has_more is the string "true" in the 2024 examples: the sequence goes on
    data = body["data"]
    assert isinstance(data, dict)
    nxt = next_position(ADLIB_ENDPOINTS["ad_query"], Position(), data, 1, 50)
    assert nxt == Position(search_id="2837438294054038")


def test_ad_query_inferred_shape_and_paid_for_by() -> None:
    ads = adlib_rows("ad_query", [(example("adlib_ad_query__200__shape_inferred.json"), {})])
    assert ads["paid_for_by"].to_list() == ["Example Coffee Roasters SRL",
                                           "Esempio Holding S.p.A."]  # fmt: skip
    assert ads["videos"].to_list()[1] == [] and ads["image_urls"].to_list()[0] == []


def test_ad_detail_doc_example_keeps_every_nested_value() -> None:
    details = adlib_rows("ad_detail", [(example("adlib_ad_detail__200__docs_adapted.json"), {})])
    assert details.schema == schemas.AD_DETAILS
    row = details.row(0, named=True)
    assert row["unique_users_seen_by_country"] == [
        {"country": "GB", "unique_users_seen": "18K"},
        {"country": "IT", "unique_users_seen": "12K"},
    ]
    target = row["targeting_info"]  # the doc example names it `target`
    assert target["country"] == ["IT", "GB"]
    assert {"age": "35-44", "targeted": True} in target["age"]
    assert row["rejection_info"]["affected_countries"] == ["FR", "IT"]
    assert row["follower_count"] == 26374  # under advertiser.tiktok_account
    assert row["advertiser_username"] == "awesome_co"


def test_commercial_content_doc_example_and_label_codes() -> None:
    body = example("adlib_commercial_content_query__200__docs.json")
    content = adlib_rows("commercial_content_query", [(body, {})])
    assert content.schema == schemas.COMMERCIAL_CONTENT
    row = content.row(0, named=True)
    assert row["id"] == "v09044g40000ce6enu3c77u36l73sp20"  # opaque text, not an int
    assert row["videos"][0]["id"] == 19384729204821234  # read from the url
    assert row["creator_username"] == "joe1234567"
    coded = json.loads(json.dumps(body).replace('"Paid partnership"', '"2"'))
    assert adlib_rows("commercial_content_query", [(coded, {})])["label"].to_list() == [
        "Promotional content"
    ]


def test_ids_beyond_int64_are_null_and_reported() -> None:
    body = {"data": {"ads": [{"ad": {"id": 9999999999999999999}, "advertiser": {}}]}}
    with pytest.warns(DataWarning, match="set to null"):
        ads = adlib_rows("ad_query", [(body, {})])
    assert ads["ad_id"].to_list() == [None]


def test_report_series_become_rows() -> None:
    body = {"data": {"count_time_series_by_country": {
        "FR": [{"date": "20240102", "count": 3}, {"date": 20240101, "count": 1}],
        "DE": [{"date": "20240101", "count": 2}]}}}  # fmt: skip
    report = adlib_rows("ad_report", [(body, {})])
    assert report.sort("country", "date").rows() == [
        ("DE", dt.date(2024, 1, 1), 2), ("FR", dt.date(2024, 1, 1), 1),
        ("FR", dt.date(2024, 1, 2), 3),
    ]  # fmt: skip
    assert report.schema == pl.Schema(dict(schemas.AD_REPORTS))
