"""Declared schemas: every table has one, empty tables match it, cast is strict and complete."""

from __future__ import annotations

import datetime as dt
import warnings

import polars as pl
import pytest

from tiktok_research import _endpoints as ep
from tiktok_research import schemas


def test_every_endpoint_table_has_a_schema_with_every_api_field() -> None:
    for e in ep.ENDPOINTS.values():
        schema = schemas.SCHEMAS[e.table]
        missing = [f for f in e.fields if f not in schema]
        assert not missing, (e.name, missing)


@pytest.mark.parametrize("table", sorted(schemas.SCHEMAS))
def test_empty_has_declared_schema_and_arrow_types_are_portable(table: str) -> None:
    assert schemas.empty(table).schema == schemas.SCHEMAS[table]
    arrow = schemas.arrow_schema(table)
    assert "uint" not in str(arrow) and "double" not in str(arrow) and "float" not in str(arrow)
    for f in arrow:
        if f.name == "id" or f.name.endswith("_id"):
            assert str(f.type) in ("int64", "large_string", "string_view"), f
    for name in schemas.primary_key(table):
        assert name in schemas.SCHEMAS[table]


def test_ids_int64_times_utc_and_added_columns() -> None:
    assert schemas.VIDEOS["id"] == pl.Int64
    assert schemas.VIDEOS["create_time"] == pl.Datetime("us", "UTC")
    assert schemas.USERS.names()[0] == "username"
    for t in ("liked_videos", "pinned_videos", "reposted_videos", "followers", "following"):
        assert schemas.SCHEMAS[t].names()[0] == "source_username"
    assert schemas.PLAYLISTS["playlist_video_ids"] == pl.List(pl.Int64)


def test_cast_adds_orders_and_reports_unknown_once() -> None:
    df = pl.DataFrame({"like_count": [1], "id": [7320768158545159950], "brand_new": ["x"]})
    with pytest.warns(schemas.UnknownColumnWarning, match="brand_new"):
        out = schemas.cast(df, "videos")
    assert out.schema == schemas.VIDEOS
    assert out["id"][0] == 7320768158545159950
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schemas.cast(df, "videos")  # second time: no new warning


def test_cast_converts_seconds_and_milliseconds() -> None:
    df = pl.DataFrame({"create_time": [1704499196, 1722879716021]})
    out = schemas.cast(df, "reviews")["create_time"].to_list()
    assert out[0] == dt.datetime(2024, 1, 5, 23, 59, 56, tzinfo=dt.UTC)
    assert out[1] == dt.datetime(2024, 8, 5, 17, 41, 56, 21000, tzinfo=dt.UTC)


def test_unknown_table_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="expected one of"):
        schemas.empty("vidoes")


def test_cast_fills_the_struct_fields_a_frame_lacks_and_keeps_strictness() -> None:
    """A frame whose nested structs lack a declared field (`hashtag_info_list` without
    `hashtag_description`, as older dumps and users' own frames have) is cast to the declared
    schema with that field null. polars 2.2's strict cast refused it ("structs do not have the
    same number of fields: 2 vs 3"), so `schemas.cast` raised with the newest polars."""
    df = pl.DataFrame({
        "id": [7_000_000_000_000_000_001, 7_000_000_000_000_000_002, 3],
        "hashtag_info_list": [
            [{"hashtag_name": "fyp", "hashtag_id": 6829526542381614630}], None, []
        ],
        "effect_info_list": [None, None, None],
    })  # fmt: skip
    out = schemas.cast(df, "videos")
    assert out.schema == schemas.SCHEMAS["videos"]
    assert out["hashtag_info_list"].to_list() == [
        [{"hashtag_id": 6829526542381614630, "hashtag_name": "fyp", "hashtag_description": None}],
        None,
        [],
    ]
    bad = pl.DataFrame({"hashtag_info_list": [[{"hashtag_id": "not a number"}]]})
    with pytest.raises(pl.exceptions.InvalidOperationError):
        schemas.cast(bad, "videos")  # a value that does not fit still raises, never a null
