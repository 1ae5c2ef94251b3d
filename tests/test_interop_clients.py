"""Clients that other people wrote for the real service collect through the sandbox unchanged.

TikTok's official wrapper (TikTokResearchApi 1.0.4), CybersecurityForDemocracy's
tiktok-research-api-helper 0.1.3 and researchtikpy 0.2.2 run in a side environment
(`.venv-interop`, made by scripts/bootstrap from tests/interop/requirements.txt) against
`tiktok-research sandbox serve` on 127.0.0.1; only their base URL is redirected
(tests/interop/redirect.py). Every method must return the data the sandbox holds (its corpus is
the ground truth here), except where the client's own bug stops it: those cases assert that it is
that bug.

Skip them with `-m "not interop"` (e.g. offline, where the side environment cannot be installed);
CI (CI=true) fails instead of skipping when the side environment is missing.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from _sandboxes import new_sandbox
from tiktok_research._endpoints import COMMENTS_CAP, FOLLOWERS_CAP

pytestmark = [pytest.mark.interop, pytest.mark.http]

ROOT = Path(__file__).resolve().parents[1]
RUNNERS = ROOT / "tests" / "interop"
CLOCK = "2025-01-15T12:00:00Z"
START, END = "2024-01-01", "2024-02-20"  # more than 30 days: the wrapper splits it in two


def side_python() -> Path:
    for candidate in (ROOT / ".venv-interop" / "bin" / "python",
                      ROOT / ".venv-interop" / "Scripts" / "python.exe"):  # fmt: skip
        if candidate.exists():
            return candidate
    message = "the side environment .venv-interop is missing: run bash scripts/bootstrap"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextlib.contextmanager
def serving() -> Iterator[str]:
    """`tiktok-research sandbox serve` (default corpus) in a subprocess on a free port."""
    cmd = [sys.executable, "-m", "tiktok_research.cli", "sandbox", "serve", "--port", "0",
           "--clock", CLOCK, "--daily-quota", "100000", "--social-quota", "100000"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "http://" in line, line
        yield line.split(" at ", 1)[1].split(" ", 1)[0]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # waits, and closes the pipes


def run_client(script: str, url: str, args: dict[str, Any]) -> dict[str, Any]:
    env = {
        **os.environ,
        "SANDBOX_BASE_URL": url,
        "TIKTOK_CLIENT_KEY": "sandbox",
        "TIKTOK_CLIENT_SECRET": "sandbox",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "PYTHONPATH": str(RUNNERS),
    }
    run = subprocess.run(
        [str(side_python()), str(RUNNERS / script), json.dumps(args)],
        capture_output=True, text=True, timeout=300, env=env, cwd=RUNNERS,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    line = [x for x in run.stdout.splitlines() if x.startswith("RESULT ")][-1]
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return result


def ok(result: dict[str, Any], name: str) -> Any:
    assert "ok" in result[name], f"{name}: {result[name].get('error')}"
    return result[name]["ok"]


def stats(url: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(url + "/_sandbox/stats").json()
    return answer


# ----------------------------------------------------------------------------- ground truth
class Truth:
    """What the sandbox holds, from its corpus (same configuration as the served one)."""

    def __init__(self) -> None:
        self.sb = new_sandbox()
        c = self.corpus = self.sb.corpus
        self.t0 = calendar.timegm(dt.date.fromisoformat(START).timetuple())
        self.t1 = calendar.timegm(dt.date.fromisoformat(END).timetuple()) + 86_399
        inwin = (c.create_time >= self.t0) & (c.create_time <= self.t1)
        # a hashtag with a few hundred videos in the range: several pages, a quick run
        counts = {
            h: int((inwin & c.hashtag_mask(0, c.n_videos, c.hashtag_lower[h.lower()])).sum())
            for h in c.top_hashtags(60)
        }
        self.hashtag = min((h for h in counts if counts[h] >= 250), key=lambda h: counts[h])
        self.tagged = c.hashtag_mask(0, c.n_videos, c.hashtag_lower[self.hashtag.lower()])
        self.video_id = c.video_ids_with_comments(1)[0]
        public = c.sample_usernames(500, seed=5, kind="public")
        self.username = public[0]
        self.second_username = public[1]
        self.private_user = c.sample_usernames(1, kind="private")[0]
        self.pinned_user = next(u for u in public if self.pinned(u))
        self.liked_user = max(
            c.sample_usernames(300, kind="liked_public"), key=lambda u: self.liked(u).size
        )
        self.reposts_user = max(
            c.sample_usernames(300, kind="reposts_public"), key=lambda u: self.reposted(u).size
        )
        self.big_user = max(
            c.sample_usernames(50, kind="many_followers"),
            key=lambda u: c.follower_count[c.user_index[u]],
        )
        self.following_user = max(
            c.sample_usernames(300, kind="following_public"), key=lambda u: len(self.following(u))
        )

    def args(self, **extra: Any) -> dict[str, Any]:
        return {
            "hashtags": [self.hashtag],
            "start": START.replace("-", ""),
            "end": END.replace("-", ""),
            "video_id": self.video_id,
            "username": self.username,
            "second_username": self.second_username,
            "private_user": self.private_user,
            "pinned_user": self.pinned_user,
            "liked_user": self.liked_user,
            "reposts_user": self.reposts_user,
            "big_user": self.big_user,
            "following_user": self.following_user,
            "shop_name": "TEST SHOP",
            "token_ttl": 7200,
            **extra,
        }

    def pages(self, start: str, end: str, size: int = 100) -> list[list[int]]:
        """Visible ids of each page of a video query for the hashtag (newest id first)."""
        c = self.corpus
        t0 = calendar.timegm(dt.datetime.strptime(start, "%Y%m%d").timetuple())
        t1 = calendar.timegm(dt.datetime.strptime(end, "%Y%m%d").timetuple()) + 86_399
        rows = np.flatnonzero(self.tagged & (c.create_time >= t0) & (c.create_time <= t1))[::-1]
        return [
            [int(c.ids[r]) for r in rows[i : i + size] if not c.hidden[r]]
            for i in range(0, rows.size, size)
        ]

    def videos(self, start: str = START, end: str = END) -> list[int]:
        return [
            i for page in self.pages(start.replace("-", ""), end.replace("-", "")) for i in page
        ]

    def comments(self) -> list[int]:
        row = self.corpus.row_of_id(self.video_id)
        assert row is not None
        return [int(x) for x in self.corpus.comments(row).ids[:COMMENTS_CAP]]

    def user_info(self, name: str) -> dict[str, Any]:
        return self.corpus.user_info(self.corpus.user_index[name])

    def liked(self, name: str) -> np.ndarray:
        rows = self.corpus.liked(self.corpus.user_index[name]).items
        return rows[~self.corpus.hidden[rows]]

    def pinned(self, name: str) -> list[int]:
        return [int(self.corpus.ids[r]) for r in self.corpus.pinned(self.corpus.user_index[name])]

    def reposted(self, name: str) -> np.ndarray:
        return self.corpus.reposted(self.corpus.user_index[name])

    def ids(self, rows: np.ndarray) -> list[int]:
        return [int(self.corpus.ids[r]) for r in rows]

    def followers(self, name: str) -> list[str]:
        items = self.corpus.followers(self.corpus.user_index[name]).items
        return [self.corpus.usernames[u] for u in items]

    def following(self, name: str) -> list[str]:
        items = self.corpus.following(self.corpus.user_index[name]).items
        return [self.corpus.usernames[u] for u in items]


@pytest.fixture(scope="module")
def truth() -> Truth:
    return Truth()


# ----------------------------------------------------------------------------- the clients
def test_official_wrapper_every_method(truth: Truth) -> None:
    side_python()
    with serving() as url:
        got = run_client("official_wrapper.py", url, truth.args())
        served = stats(url)
    videos = truth.videos()
    assert len(videos) > 250
    # all pages over 51 days: the wrapper's two windows (30 days, then the rest)
    everything = ok(got, "all_pages")
    in_windows = truth.videos("2024-01-01", "2024-01-30") + truth.videos("2024-01-31", END)
    assert everything["ids"] == in_windows and everything["has_more"] is False
    assert sorted(in_windows) == sorted(videos)
    assert everything["last_window"] == ["20240131", "20240220"]
    assert set(everything["first"]) == {
        "id", "video_description", "create_time", "region_code", "share_count", "view_count",
        "like_count", "comment_count", "music_id", "hashtag_names", "username",
    } | (set(everything["first"]) & {"effect_ids", "playlist_id", "voice_to_text"})  # fmt: skip
    # without all pages: the first page of each window
    first = ok(got, "first_page")
    assert (
        first["ids"]
        == truth.pages("20240101", "20240130")[0] + truth.pages("20240131", "20240220")[0]
    )
    # max_total=150: whole pages of the first window until 150 are reached
    capped, expected = ok(got, "max_total")["ids"], []
    for page in truth.pages("20240101", "20240130"):
        if len(expected) >= 150:
            break
        expected += page
    assert capped == expected and len(capped) >= 150
    # is_random: up to max_count matching videos, in any order
    shuffled = ok(got, "random")["ids"]
    assert 0 < len(shuffled) <= 2 * 50 and len(set(shuffled)) == len(shuffled)  # 2 windows
    assert set(shuffled) <= set(truth.videos("2024-01-01", "2024-01-30") + videos)
    # user info: the documented default fields, exactly the sandbox's values
    info = truth.user_info(truth.username)
    assert ok(got, "user_info") == {k: v for k, v in info.items() if k != "bio_url"}
    # comments, including max_count=30 near the 1,000 cap (issue 11, defect 2)
    for name in ("comments_30", "comments_100"):
        comments = ok(got, name)
        assert comments["ids"] == truth.comments(), name
        assert comments["has_more"] is False and comments["cursor"] == COMMENTS_CAP
    assert ok(got, "liked") == truth.ids(truth.liked(truth.liked_user))
    assert ok(got, "pinned") == truth.pinned(truth.pinned_user)
    assert ok(got, "reposted") == truth.ids(truth.reposted(truth.reposts_user))
    followers = ok(got, "followers")
    assert followers == truth.followers(truth.big_user) and len(followers) >= FOLLOWERS_CAP - 10
    assert ok(got, "following") == truth.following(truth.following_user)
    assert served["statuses"] == {"200": served["total"]}, "no request was refused"


def test_c4d_helper(truth: Truth) -> None:
    side_python()
    with serving() as url:
        got = run_client(
            "c4d_helper.py", url, truth.args(start="2024-01-01", end="2024-01-22", window_days=7)
        )
        served = stats(url)
    # its video iterator over three windows; it treats end dates as exclusive and the sandbox
    # as inclusive (api-notes §11), so the day where two windows meet comes twice
    windows = ok(got, "windows")
    assert set(windows["ids"]) == set(truth.videos("2024-01-01", "2024-01-22"))
    assert windows["pages"] >= 3
    info = ok(got, "user_info")
    assert info["user_info"] == {**truth.user_info(truth.username), "username": truth.username}
    refused = ok(got, "private_user")
    assert refused["user_info"] is None
    assert refused["error"]["message"] == "API cannot return this user's information"
    unknown = ok(got, "unknown_user")
    assert "cannot find the user" in unknown["error"]["message"]
    assert ok(got, "comments")["ids"] == truth.comments()
    # its token refresh on 401: the clock jumped past the token's lifetime, the helper fetched a
    # new token and replayed the request
    refreshed = ok(got, "token_refresh")
    assert refreshed["user_info"] == {
        **truth.user_info(truth.second_username),
        "username": truth.second_username,
    }
    assert served["requests"]["oauth_token"] == 2
    assert served["statuses"].get("401") == 1
    assert got["requests_sent"] == served["total"] - served["requests"]["oauth_token"] - 1


def test_researchtikpy_every_function(truth: Truth) -> None:
    side_python()
    with serving() as url:  # researchtikpy does not split ranges: 30 days at most
        got = run_client(
            "researchtikpy_client.py", url, truth.args(end="20240130", long_end="20240220")
        )
    assert ok(got, "access_token") == ["access_token", "expires_in", "token_type"]
    assert ok(got, "access_token_cached") is True
    month = truth.videos("2024-01-01", "2024-01-30")
    assert ok(got, "videos_query") == month
    assert ok(got, "videos_hashtag") == month[:150]
    # its own bug: get_videos_hashtag's docstring says ranges over 30 days are split, but it
    # sends them whole, and the service refuses them (api-notes §3.1)
    assert got["videos_hashtag_long"]["error"].startswith("ValueError: API response error: ")
    assert (
        "end_date must be no more than 30 days after start_date"
        in got["videos_hashtag_long"]["error"]
    )
    # its own bug: get_videos_info calls get_videos_query without total_max_count
    assert got["videos_info"]["error"] == (
        "TypeError: get_videos_query() missing 1 required positional argument: 'total_max_count'"
    )
    users = ok(got, "users_info")
    assert users == [{k: v for k, v in truth.user_info(truth.username).items() if k != "bio_url"}]
    assert ok(got, "video_comments") == truth.comments()
    # its own bug: with a frame holding only the id column, iterrows() yields numpy.int64 ids,
    # which `requests` cannot serialise to JSON (nothing is sent)
    assert got["video_comments_ids_only"]["error"] == (
        "TypeError: Object of type int64 is not JSON serializable"
    )
    # timestamp-cursor lists start at cursor 0, which means "now" (issue 11, defect 1)
    assert ok(got, "liked") == truth.ids(truth.liked(truth.liked_user))
    assert ok(got, "pinned") == truth.pinned(truth.pinned_user)
    followers = truth.followers(truth.big_user)
    assert ok(got, "followers") == followers and len(followers) >= FOLLOWERS_CAP - 10
    assert ok(got, "following") == truth.following(truth.following_user)
    walked = ok(got, "iter_followers")
    assert walked["usernames"] == followers and walked["pages"] == -(-len(followers) // 100)
    assert ok(got, "iter_following")["usernames"] == truth.following(truth.following_user)
    # its own bug: construct_dataframe passes (mode, response) to _extract_user_list(response,
    # key), so the first ok page fails on `mode.json()`
    assert got["dump_users_follower"]["error"] == (
        "AttributeError: 'FollowDirection' object has no attribute 'json'"
    )
    shop = ok(got, "shop")["data"]["shop_data"]
    assert shop[0]["shop_name"] == "TEST SHOP"
    shop_id = shop[0]["shop_id"]
    products = ok(got, "products")["data"]["product_data"]
    corpus = truth.corpus
    index = corpus.shop_index[shop_id]
    expected = [
        corpus.product_record(k)
        for k in range(int(corpus.product_ptr[index]), int(corpus.product_ptr[index + 1]))
    ][:10]
    assert [p["product_id"] for p in products] == [p["product_id"] for p in expected]
    reviews = ok(got, "reviews")["data"]["review_data"]
    product = corpus.product_index[products[0]["product_id"]]
    assert (
        reviews == [{"product_name": r["product_name"]} for r in corpus.review_list(product)][:10]
    )


def test_minet_search_commercials(tmp_path: Path) -> None:
    """minet's `minet tiktok search-commercials` (the Commercial Content API) collects every
    commercial content of a country and date range, with its search_id pages, unchanged."""
    sb = new_sandbox()  # the served corpus (default configuration): the ground truth
    lib = sb.ad_library
    first, last = dt.date(2024, 1, 1), dt.date(2024, 12, 31)
    expected = lib.content_matching(first, last, country=None, usernames=None)
    rows = [lib.content_values(int(k), label_code=False) for k in expected.tolist()]
    assert len(rows) > 50  # more than one page of minet's 50
    with serving() as url:
        args = {"output": str(tmp_path / "minet.csv"), "country": "ALL",
                "min_date": "20240101", "max_date": "20241231"}  # fmt: skip
        got = run_client("minet_client.py", url, args)
        counts = stats(url)["requests"]
    assert got["exit"] in (0, None)
    found = got["rows"]
    assert [r["id"] for r in found] == [r["id"] for r in rows]
    for mine, truth in zip(found, rows, strict=True):
        assert mine["creator_username"] == truth["creator"]["username"]
        assert mine["label"] == truth["label"]
        assert mine["brand_names"].split("|") == truth["brand_names"]
        assert int(mine["create_timestamp"]) == truth["create_timestamp"]
        assert mine["video_urls"] == truth["videos"][0]["url"]
    # one token, and one request per page of 50: nothing asked twice
    assert counts["commercial_content_query"] == -(-len(rows) // 50)
    assert counts["oauth_token"] == 1
