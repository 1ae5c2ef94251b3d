"""A small raw archive with the awkward cases a real collection meets, for reader comparisons."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

from tiktok_research._archive import ArchiveWriter

BIG = 7_320_768_158_545_159_950  # a real-looking 19-digit id: exact only as Int64
UTC = dt.UTC


def _video(vid: int | str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": vid,
        "create_time": 1_704_499_196,
        "username": "maria.demo87",
        "region_code": "DE",
        "view_count": 1000,
        "like_count": 80,
        "comment_count": 3,
        "share_count": 2,
        "hashtag_names": ["Climate", "fyp"],
        "music_id": BIG + 77,
        "is_stem_verified": False,
        "video_duration": 42,
        "hashtag_info_list": [{"hashtag_id": BIG + 1, "hashtag_name": "climate"}],
        "video_label": {"content": "label"},
    }
    base.update(fields)
    return base


def _page(items_key: str, items: list[dict[str, Any]], code: str = "ok") -> bytes:
    body = {"data": {items_key: items, "has_more": False}, "error": {"code": code, "message": ""}}
    return json.dumps(body, ensure_ascii=False).encode()


def write_edge_archive(root: Path) -> Path:
    """Write the archive under ``root/archive`` and return that folder.

    Covers: a video fetched twice (the later retrieval wins), an id beyond int64 (null, kept once),
    a millisecond timestamp, a count sent as text, ``video_id`` where ``id`` is expected, an error
    page that carries items (ignored), an HTML gateway page, a truncated last line, user info
    without the username (taken from the request, NUL removed), comments without ``video_id``,
    followers, products, reviews and a playlist over two pages; one file gzipped.
    """
    folder = root / "archive"
    t0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    when = [t0 + dt.timedelta(minutes=i) for i in range(30)]
    first = ArchiveWriter(folder / "run-a" / "pages-a.jsonl")
    videos_path = "/v2/research/video/query/"
    first.write(run="a", page=0, endpoint="video_query", request={"path": videos_path},
                status=200, retrieved_at=when[0], body=_page("videos", [
                    _video(BIG, like_count=80),
                    _video(BIG + 1, create_time=1_704_499_196_123, like_count="12"),
                    _video(99_999_999_999_999_999_999, username="over.int64"),
                    {**_video(0), "id": None, "video_id": BIG + 2},
                ]))  # fmt: skip
    first.write(run="a", page=1, endpoint="video_query", request={"path": videos_path},
                status=200, retrieved_at=when[5], body=_page("videos", [
                    _video(BIG, like_count=95, hashtag_names=["CLIMATE", " fyp "]),
                    _video(99_999_999_999_999_999_999, username="over.int64"),
                ]))  # fmt: skip
    first.write(run="a", page=2, endpoint="video_query", request={"path": videos_path},
                status=429, retrieved_at=when[6],
                body=_page("videos", [_video(BIG + 3)], code="rate_limit_exceeded"))  # fmt: skip
    first.write(run="a", page=3, endpoint="video_query", request={"path": videos_path},
                status=502, retrieved_at=when[7], body=b"<html>502 Bad Gateway</html>")  # fmt: skip
    first.write(run="a", page=4, endpoint="user_info",
                request={"path": "/v2/research/user/info/", "body": {"username": "ana\x00.b"}},
                status=200, retrieved_at=when[8], body=json.dumps({"data": {
                    "display_name": "Ana", "follower_count": 12, "likes_count": 2**40,
                    "is_verified": True}, "error": {"code": "ok"}}).encode())  # fmt: skip
    first.write(run="a", page=5, endpoint="comments",
                request={"path": "/v2/research/video/comment/list/", "body": {"video_id": BIG}},
                status=200, retrieved_at=when[9], body=_page("comments", [
                    {"id": BIG + 100, "text": "first", "like_count": 1, "create_time": 1704500000,
                     "parent_comment_id": BIG},
                    {"id": BIG + 101, "text": "réponse 🌍", "parent_comment_id": BIG + 100,
                     "create_time": 1704500100},
                ]))  # fmt: skip
    first.write(run="a", page=6, endpoint="followers",
                request={"path": "/v2/research/user/followers/", "body": {"username": "ana.b"}},
                status=200, retrieved_at=when[10], body=_page("user_followers", [
                    {"display_name": "F1", "username": "f1"},
                    {"display_name": "F2", "username": "f2"},
                ]))  # fmt: skip
    first.close()
    with open(folder / "run-a" / "pages-a.jsonl", "ab") as fh:  # a crash while writing
        fh.write(b'{"meta":{"run":"a","page":7,"endpoint":"video_query"},"response":{"da')
    second = ArchiveWriter(folder / "run-b" / "pages-b.jsonl")
    second.write(run="b", page=0, endpoint="video_query", request={"path": videos_path},
                 status=200, retrieved_at=when[20], body=_page("videos", [
                     _video(BIG + 1, like_count=13, username="lucas\x00travels"),
                 ]))  # fmt: skip
    second.write(run="b", page=1, endpoint="tts_product",
                 request={"path": "/v2/research/tts/product/", "body": {"shop_id": BIG + 500}},
                 status=200, retrieved_at=when[21], body=_page("product_data", [
                     {"product_id": BIG + 501, "product_name": "Mug",
                      "product_price": ["20.79GBP"], "product_sold_count": 7},
                 ]))  # fmt: skip
    second.write(run="b", page=2, endpoint="tts_review",
                 request={"path": "/v2/research/tts/review/", "body": {"product_id": BIG + 501}},
                 status=200, retrieved_at=when[22], body=_page("review_data", [
                     {"review_text": "good", "review_rating": "FIVE", "review_like_count": 2,
                      "create_time": 1_704_499_196_250},
                 ]))  # fmt: skip
    for page, ids in enumerate(([BIG + 900, BIG + 901], [BIG + 902, BIG + 900])):
        second.write(run="b", page=3 + page, endpoint="playlist_info",
                     request={"path": "/v2/research/playlist/info/",
                              "body": {"playlist_id": BIG + 800}},
                     status=200, retrieved_at=when[23 + page], body=json.dumps({"data": {
                         "playlist_name": "mix" if page == 0 else None,
                         "playlist_video_ids": ids, "playlist_item_total": 3},
                         "error": {"code": "ok"}}).encode())  # fmt: skip
    path = second.close(compress=True)
    assert path.name.endswith(".jsonl.gz")
    with gzip.open(path) as fh:
        assert fh.read().count(b"\n") == 5
    return folder
