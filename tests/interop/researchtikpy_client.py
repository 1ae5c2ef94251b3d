"""researchtikpy 0.2.2, unchanged: every public function.

Run by tests/test_interop_clients.py in the side environment (cachetools, which it imports without
declaring it, is installed beside it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import researchtikpy as rtk
from redirect import outcome, params, report  # points `requests` at the sandbox
from researchtikpy import shops, social_graph
from researchtikpy.get_access_token import get_access_token_cached
from researchtikpy.query_lang import Condition, Fields, Operators, Query

p = params()
token = rtk.get_access_token("sandbox", "sandbox")
access = token["access_token"]


def ids(frame: pd.DataFrame) -> list[int]:
    return [int(x) for x in frame["id"].tolist()] if "id" in frame else []


def names(frame: pd.DataFrame) -> list[str]:
    return [str(x) for x in frame["username"].tolist()] if "username" in frame else []


def walk(responses: Any, key: str) -> dict[str, Any]:
    pages, found = 0, []
    for response in responses:
        pages += 1
        found += [u["username"] for u in response.json()["data"][key]]
    return {"pages": pages, "usernames": found}


def dump(tmp: str) -> int:
    target = Path(tmp) / "followers.jsonl"
    social_graph.dump_users_follower(pd.Series([p["big_user"]]), target)
    return len(target.read_text().splitlines())


query = Query(and_=[Condition(Fields.hashtag_name, Operators.isin, p["hashtags"])])
shop = outcome(lambda: shops.get_shop_info(p["shop_name"], access).json())
shop_id = shop["ok"]["data"]["shop_data"][0]["shop_id"] if "ok" in shop else 0
products = outcome(lambda: shops.get_product_info(shop_id, access).json())
product_id = products["ok"]["data"]["product_data"][0]["product_id"] if "ok" in products else 0
with tempfile.TemporaryDirectory() as tmp:
    dumped = outcome(dump, tmp)

result = {
    "access_token": {"ok": sorted(token) if access.startswith("clt.") else None},
    "access_token_cached": outcome(lambda: get_access_token_cached().startswith("clt.")),
    "videos_query": outcome(
        lambda: ids(rtk.get_videos_query(query, access, p["start"], p["end"], 100_000))
    ),
    "videos_hashtag": outcome(
        lambda: ids(rtk.get_videos_hashtag(p["hashtags"], access, p["start"], p["end"], 150))
    ),
    "videos_hashtag_long": outcome(
        lambda: ids(rtk.get_videos_hashtag(p["hashtags"], access, p["start"], p["long_end"], 150))
    ),
    "videos_info": outcome(
        lambda: ids(rtk.get_videos_info([p["username"]], access, p["start"], p["end"]))
    ),
    "users_info": outcome(
        lambda: rtk.get_users_info([p["username"]], access, verbose=False).to_dict("records")
    ),
    # a frame like the videos frame it returns (several columns), as its README passes
    "video_comments": outcome(
        lambda: ids(
            rtk.get_video_comments(
                pd.DataFrame({"id": [p["video_id"]], "username": [p["username"]]}),
                access,
                verbose=False,
            )
        )
    ),
    "video_comments_ids_only": outcome(
        lambda: ids(
            rtk.get_video_comments(pd.DataFrame({"id": [p["video_id"]]}), access, verbose=False)
        )
    ),
    "liked": outcome(lambda: ids(rtk.get_liked_videos([p["liked_user"]], access, verbose=False))),
    "pinned": outcome(
        lambda: ids(rtk.get_pinned_videos([p["pinned_user"]], access, verbose=False))
    ),
    "followers": outcome(lambda: names(rtk.get_followers([p["big_user"]], access, verbose=False))),
    "following": outcome(
        lambda: names(rtk.get_following([p["following_user"]], access, verbose=False))
    ),
    "iter_followers": outcome(
        lambda: walk(social_graph.iter_followers_responses(access, p["big_user"]), "user_followers")
    ),
    "iter_following": outcome(
        lambda: walk(
            social_graph.iter_following_responses(access, p["following_user"]), "user_following"
        )
    ),
    "dump_users_follower": dumped,
    "shop": shop,
    "products": products,
    "reviews": outcome(lambda: shops.get_product_reviews(product_id, access).json()),
}
report(result)
