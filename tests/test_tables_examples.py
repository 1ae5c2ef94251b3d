"""Every example response parses into its table with the declared schema; edge cases of pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

import tiktok_research as tr
from _shared import EXAMPLES
from tiktok_research import _endpoints as ep
from tiktok_research import schemas, tables

OK_FILES = sorted(
    p for p in EXAMPLES.glob("*__200__*.json") if p.name.split("__")[0] in ep.ENDPOINTS
)
#: Doc examples with a field the endpoint does not list (a doc artefact, api-notes §3.3): the table
#: leaves it out and says so.
UNKNOWN_FIELDS = {"comments__200__docs_comment_id_replies.json": "display_name"}


@pytest.mark.parametrize("path", OK_FILES, ids=lambda p: p.name)
def test_example_parses_into_declared_schema(path: Path) -> None:
    endpoint = path.name.split("__")[0]
    body = path.read_bytes()
    beyond_int64 = re.search(r":\s*9999999999999999999\b", body.decode())
    unknown = UNKNOWN_FIELDS.get(path.name)
    with (
        pytest.warns(tables.DataWarning) if beyond_int64 else _nothing(),
        pytest.warns(schemas.UnknownColumnWarning, match=unknown) if unknown else _nothing(),
    ):
        df = tables.from_responses([body], endpoint, requests=[{"username": "someone"}])
    assert df.schema == schemas.SCHEMAS[ep.ENDPOINTS[endpoint].table]
    data = json.loads(body)["data"]
    e = ep.ENDPOINTS[endpoint]
    expected = len(data.get(e.data_key) or data.get("reposted_videos") or []) if e.data_key else 1
    assert df.height == expected


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None


def _page(videos: list[str]) -> bytes:
    return ('{"data":{"videos":[' + ",".join(videos) + '],"cursor":1,"has_more":false}}').encode()


def test_big_ids_counts_emoji_rtl_and_nul() -> None:
    body = _page(
        [
            '{"id":9223372036854775807,"view_count":3000000000,"username":"ab\\u0000\\u0000c",'
            '"video_description":"🥰 مثال \\u0000 שלום","create_time":1704499196}',
            '{"video_id":9223372036854775806,"create_time":1704499196000}',
        ]
    )
    df = tables.from_responses([body], "video_query")
    assert df["id"].to_list() == [2**63 - 1, 2**63 - 2]  # video_id where id is expected
    assert df["view_count"][0] == 3_000_000_000
    assert df["username"][0] == "abc"  # NULs stripped from usernames
    assert df["video_description"][0] == "🥰 مثال \x00 שלום"  # kept elsewhere
    assert df["create_time"][0] == df["create_time"][1]  # milliseconds detected


def test_id_beyond_int64_is_null_and_reported_never_wrapped() -> None:
    body = _page(['{"id":9999999999999999999}', '{"id":7320768158545159950}'])
    with pytest.warns(tables.DataWarning, match="9999999999999999999"):
        df = tables.from_responses([body], "video_query")
    assert df["id"].to_list() == [None, 7320768158545159950]


def test_missing_keys_empty_pages_and_error_pages_keep_schema() -> None:
    bodies = [
        _page(["{}", '{"id":1}']),
        b'{"data":{"videos":[],"cursor":0,"has_more":false}}',
        b'{"error":{"code":"internal_error","message":"x","log_id":"y"}}',
        {"data": {"has_more": False}},
    ]
    df = tables.from_responses(bodies, "video_query")
    assert df.schema == schemas.VIDEOS
    assert df["id"].to_list() == [None, 1]
    assert tables.from_responses([], "comments").schema == schemas.COMMENTS


def test_new_api_field_does_not_break_parsing_and_is_reported() -> None:
    body = _page(['{"id":5,"shiny_new_field":{"a":[1,2]}}'])
    with pytest.warns(schemas.UnknownColumnWarning, match="shiny_new_field"):
        df = tables.from_responses([body], "video_query")
    assert df["id"].to_list() == [5]


def test_numbers_as_strings_and_unexpected_nested_shape_are_tolerated() -> None:
    body = _page(['{"id":"7320768158545159950","like_count":"12","video_label":"plain text"}'])
    with pytest.warns(tables.DataWarning, match="video_label"):
        df = tables.from_responses([body], "video_query")
    assert df["id"][0] == 7320768158545159950 and df["like_count"][0] == 12
    assert df["video_label"][0] is None


def test_non_json_body_is_skipped_and_reported() -> None:
    with pytest.warns(tables.DataWarning, match="1 body is not a JSON object"):
        df = tables.from_responses([b"<html>504</html>", _page(['{"id":3}'])], "video_query")
    assert df["id"].to_list() == [3]


def test_added_columns_come_from_requests() -> None:
    followers = b'{"data":{"user_followers":[{"display_name":"A","username":"a"}],"cursor":1}}'
    df = tables.from_responses([followers], "followers", requests=[{"username": "owner\x00"}])
    assert df["source_username"].to_list() == ["owner"]
    comments = b'{"data":{"comments":[{"id":1,"text":"hi"}]}}'
    df = tables.from_responses(
        [comments], "comments", requests=[{"video_id": "7302470379501604128"}]
    )
    assert df["video_id"].to_list() == [7302470379501604128]
    info = b'{"data":{"display_name":"X","follower_count":3000000000}}'
    df = tables.from_responses([info], "user_info", requests=[{"body": {"username": "x_y"}}])
    assert df.select("username", "follower_count").row(0) == ("x_y", 3_000_000_000)


def test_playlist_pages_become_one_row() -> None:
    p1 = b'{"data":{"playlist_id":11,"playlist_name":"n","playlist_video_ids":[1,2],"cursor":2}}'
    p2 = b'{"data":{"playlist_id":11,"playlist_name":"n","playlist_video_ids":[3],"cursor":3}}'
    df = tables.from_responses([p1, p2], "playlist_info")
    assert df.height == 1 and df["playlist_video_ids"][0].to_list() == [1, 2, 3]


def test_from_items_bare_records() -> None:
    df = tables.from_items(
        [{"username": "a", "display_name": "A"}], "followers", source_username="owner"
    )
    assert df.schema == schemas.FOLLOWERS
    assert df.row(0) == ("owner", "A", "a")
    assert tables.from_items([], "videos").schema == schemas.VIDEOS


def test_unknown_endpoint_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="expected one of"):
        tables.from_responses([b"{}"], "videos")


def test_pages_in_a_file_become_one_table(tmp_path: Path) -> None:
    f = tmp_path / "cats_20240101.json"
    f.write_bytes(_page(['{"id":1}']) + b"\n" + _page(['{"id":2}']) + b"\n")
    assert sorted(tr.merge_dumps(f)["videos"]["id"].to_list()) == [1, 2]
    assert isinstance(tr.merge_dumps([f])["videos"], pl.DataFrame)
