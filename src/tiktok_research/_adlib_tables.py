"""Rows of the Commercial Content API's answers (api-notes §12), and the joins users need.

The ad library's answers are small (at most 50 items a page; one ad per detail request) and
irregular (maps keyed by country, age or gender; two spellings of some keys; days as numbers or
strings), so each answer is normalised here item by item from the parsed JSON (Python ints: ids
stay exact) and the rows are then cast to the declared schemas of :mod:`tiktok_research.schemas`.
Every spelling the documentation shows is read:

* ``paid_by`` and ``paid_for_by`` (the funding source; api-notes §12.2 CONFLICT),
  ``business_id`` and the doc example's ``buisness_id``, ``unique_users_seen`` and
  ``unique_user_seen``;
* ``targeting_info`` and the 2024 example's ``target``; ``videos`` and the table's ``ad_videos``
  or ``video``; ``commercial_contents`` and ``commercial_content``;
* ``has_more`` and dates as JSON values or text; a commercial-content ``label`` as text or as the
  codes ``"1"``/``"2"`` (stored as text);
* ids beyond int64 become null with a :class:`~tiktok_research.tables.DataWarning`, never rounded.

Joins (:func:`join_ads_advertisers`, :func:`link_commercial_content`) are plain polars joins on the
exact Int64 and text keys.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import warnings
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl

from . import schemas
from ._checks import plural
from ._endpoints import (
    AD_DETAIL,
    AD_QUERY,
    AD_REPORT,
    ADLIB_ENDPOINTS,
    ADVERTISER_QUERY,
    COMMERCIAL_CONTENT_QUERY,
    CONTENT_LABELS,
)
from .errors import DataWarning, InvalidRequestError

__all__ = [
    "adlib_endpoint_of",
    "adlib_pages",
    "adlib_rows",
    "join_ads_advertisers",
    "link_commercial_content",
    "read_adlib_archive",
]

log = logging.getLogger("tiktok_research")

INT64_MAX = 2**63 - 1
_VIDEO_IN_URL = re.compile(r"/video/(\d{1,19})")
_HANDLE_IN_URL = re.compile(r"tiktok\.com/@([^/?#]+)", re.I)


class _Reader:
    """Reads one answer's values leniently and notes what could not be represented."""

    def __init__(self) -> None:
        self.lost: list[str] = []

    def int64(self, value: Any, what: str) -> int | None:
        if value is None or isinstance(value, bool):
            return None
        number: int | None = None
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and value.strip().isdigit():
            number = int(value.strip())
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        if number is None or not -INT64_MAX - 1 <= number <= INT64_MAX:
            self.lost.append(f"{what} {value!r:.40}")
            return None
        return number

    def day(self, value: Any, what: str) -> date | None:
        if value is None or value == "":
            return None
        text = str(value).strip()
        if isinstance(value, bool) or not (len(text) == 8 and text.isdigit()):
            self.lost.append(f"{what} {value!r:.40}")
            return None
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            self.lost.append(f"{what} {value!r:.40}")
            return None

    @staticmethod
    def text(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float, bool)):
            return str(value)
        return None

    def texts(self, value: Any) -> list[str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [t for t in (self.text(v) for v in value) if t is not None]
        return None

    @staticmethod
    def obj(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    def pairs(self, value: Any, key: str, name: str, cast: Any) -> list[dict[str, Any]] | None:
        """A map ``{"FR": "32K"}`` as ``[{key: "FR", name: "32K"}]`` (lists of pairs kept)."""
        if value is None:
            return None
        if isinstance(value, dict):
            return [{key: str(k), name: cast(v)} for k, v in value.items()]
        if isinstance(value, list):  # already a list of {key, value}: keep what fits
            out = []
            for v in value:
                if isinstance(v, dict) and key in v:
                    out.append({key: str(v[key]), name: cast(v.get(name))})
            return out
        return None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _videos(r: _Reader, ad: dict[str, Any]) -> list[dict[str, Any]] | None:
    for key in ("videos", "ad_videos", "video"):
        value = ad.get(key)
        if isinstance(value, list):
            return [
                {"url": r.text(v.get("url") if isinstance(v, dict) else v)}
                for v in value
                if isinstance(v, (dict, str))
            ]
    return None


def _ad_columns(r: _Reader, item: dict[str, Any]) -> dict[str, Any]:
    ad = r.obj(item.get("ad"))
    adv = r.obj(item.get("advertiser"))
    reach = r.obj(ad.get("reach"))
    seen = reach.get("unique_users_seen", reach.get("unique_user_seen"))
    funding = adv.get("paid_for_by", adv.get("paid_by"))
    return {
        "ad_id": r.int64(ad.get("id"), "ad.id"),
        "first_shown_date": r.day(ad.get("first_shown_date"), "ad.first_shown_date"),
        "last_shown_date": r.day(ad.get("last_shown_date"), "ad.last_shown_date"),
        "status": r.text(ad.get("status")),
        "status_statement": r.text(ad.get("status_statement")),
        "videos": _videos(r, ad),
        "image_urls": r.texts(ad.get("image_urls")),
        "unique_users_seen": r.text(seen),
        "business_id": r.int64(adv.get("business_id", adv.get("buisness_id")), "business_id"),
        "business_name": r.text(adv.get("business_name")),
        "paid_for_by": r.text(funding),
    }


def _detail_columns(r: _Reader, data: dict[str, Any]) -> dict[str, Any]:
    row = _ad_columns(r, data)
    ad = r.obj(data.get("ad"))
    adv = r.obj(data.get("advertiser"))
    reach = r.obj(ad.get("reach"))
    group = r.obj(data.get("ad_group"))
    target = group.get("targeting_info", group.get("target"))
    account = r.obj(adv.get("tiktok_account"))
    # the account's values come nested under tiktok_account in the doc example; flat is read too
    profile = r.text(account.get("profile_url", adv.get("profile_url")))
    handle = _HANDLE_IN_URL.search(profile or "")
    rejection = ad.get("rejection_info")
    row.update(
        {
            "title": r.text(ad.get("title")),
            "external_url": r.text(ad.get("external_url")),
            "download_url": r.text(ad.get("download_url")),
            "call_to_action": r.text(ad.get("call_to_action")),
            "advertising_objective": r.text(ad.get("advertising_objective")),
            "unique_users_seen_by_country": r.pairs(
                reach.get("unique_users_seen_by_country"), "country", "unique_users_seen", r.text
            ),
            "unique_users_seen_by_age": r.pairs(
                reach.get("unique_users_seen_by_age"), "age", "unique_users_seen", r.text
            ),
            "unique_users_seen_by_gender": r.pairs(
                reach.get("unique_users_seen_by_gender"), "gender", "unique_users_seen", r.text
            ),
            "rejection_info": (
                {
                    "reasons": r.texts(rejection.get("reasons")),
                    "affected_countries": r.texts(rejection.get("affected_countries")),
                    "reporting_source": r.text(rejection.get("reporting_source")),
                    "automated_notice": r.text(rejection.get("automated_notice")),
                }
                if isinstance(rejection, dict)
                else None
            ),
            "targeting_info": (
                {
                    "number_of_users_targeted": r.text(target.get("number_of_users_targeted")),
                    "country": r.texts(target.get("country")),
                    "age": r.pairs(target.get("age"), "age", "targeted", _bool),
                    "gender": r.pairs(target.get("gender"), "gender", "targeted", _bool),
                    "audience_targeting": r.text(target.get("audience_targeting")),
                    "video_interactions": r.text(target.get("video_interactions")),
                    "creator_interactions": r.text(target.get("creator_interactions")),
                    "interest": r.text(target.get("interest")),
                }
                if isinstance(target, dict)
                else None
            ),
            "advertiser_country_code": r.text(adv.get("country_code")),
            "profile_url": profile,
            "avatar_url": r.text(account.get("avatar_url", adv.get("avatar_url"))),
            "follower_count": r.int64(
                account.get("follower_count", adv.get("follower_count")), "follower_count"
            ),
            "advertiser_username": handle.group(1).lower() if handle else None,
        }
    )
    return row


def _content_columns(r: _Reader, item: dict[str, Any]) -> dict[str, Any]:
    label = r.text(item.get("label"))
    label = CONTENT_LABELS.get(label.strip(), label) if label is not None else None
    creator = r.obj(item.get("creator"))
    videos = []
    for v in item.get("videos", item.get("video")) or []:
        if not isinstance(v, dict):
            continue
        url = r.text(v.get("url"))
        vid = r.int64(v.get("id"), "videos.id") if v.get("id") is not None else None
        if vid is None and url and (m := _VIDEO_IN_URL.search(url)):
            vid = r.int64(m.group(1), "videos.url")
        videos.append(
            {"id": vid, "status": r.text(v.get("status")), "url": url,
             "cover_image_url": r.text(v.get("cover_image_url"))}
        )  # fmt: skip
    stamp = r.int64(item.get("create_timestamp"), "create_timestamp")
    return {
        "id": r.text(item.get("id")),
        "create_timestamp": stamp,
        "create_date": r.day(item.get("create_date"), "create_date"),
        "label": label,
        "brand_names": r.texts(item.get("brand_names")),
        "creator_username": r.text(creator.get("username")),
        "videos": videos if ("videos" in item or "video" in item) else None,
    }


def _report_rows(r: _Reader, data: dict[str, Any]) -> list[dict[str, Any]]:
    series = data.get("count_time_series_by_country")
    out = []
    for country, points in (series or {}).items() if isinstance(series, dict) else []:
        for p in points if isinstance(points, list) else []:
            if isinstance(p, dict):
                out.append(
                    {"country": str(country), "date": r.day(p.get("date"), "date"),
                     "count": r.int64(p.get("count"), "count")}
                )  # fmt: skip
    return out


def adlib_rows(endpoint: str, answers: Iterable[tuple[Any, dict[str, Any]]]) -> pl.DataFrame:
    """The table of a sequence of answers of one adlib endpoint.

    Args:
        endpoint: The endpoint name (``"ad_query"``, ``"ad_detail"``, ``"ad_report"``,
            ``"advertiser_query"``, ``"commercial_content_query"``).
        answers: ``(parsed body, request body)`` pairs, oldest first; error answers and bodies
            without ``data`` give no rows.

    Returns:
        The rows cast to the endpoint's declared schema, in answer order (not de-duplicated).

    Example:
        >>> body = {"data": {"advertisers": [{"business_id": 7204088931984749244,
        ...         "business_name": "Douro Coffee Roasters SRL", "country_code": "RO"}]}}
        >>> adlib_rows("advertiser_query", [(body, {"search_term": "coffee"})]).row(0)
        (7204088931984749244, 'Douro Coffee Roasters SRL', 'RO', 'coffee')
    """
    ep = ADLIB_ENDPOINTS.get(endpoint)
    if ep is None:
        raise InvalidRequestError(f"not an endpoint of the ad library: {endpoint!r}")
    r = _Reader()
    rows: list[dict[str, Any]] = []
    for body, request in answers:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            continue
        if endpoint == AD_QUERY.name:
            rows.extend(_ad_columns(r, it) for it in data.get("ads") or [] if isinstance(it, dict))
        elif endpoint == AD_DETAIL.name:
            if data.get("ad") or data.get("advertiser"):
                rows.append(_detail_columns(r, data))
        elif endpoint == AD_REPORT.name:
            rows.extend(_report_rows(r, data))
        elif endpoint == ADVERTISER_QUERY.name:
            term = r.text((request or {}).get("search_term"))
            for it in data.get("advertisers") or []:
                if isinstance(it, dict):
                    rows.append(
                        {"business_id": r.int64(it.get("business_id"), "business_id"),
                         "business_name": r.text(it.get("business_name")),
                         "country_code": r.text(it.get("country_code")), "search_term": term}
                    )  # fmt: skip
        elif endpoint == COMMERCIAL_CONTENT_QUERY.name:
            items = data.get("commercial_contents", data.get("commercial_content")) or []
            rows.extend(_content_columns(r, it) for it in items if isinstance(it, dict))
    if r.lost:
        message = (
            f"{ep.table}: {len(r.lost)} {plural(len(r.lost), 'value', 'values')} could not be "
            f"represented and {plural(len(r.lost), 'was', 'were')} set to null "
            f"(e.g. {', '.join(r.lost[:3])}); the raw archive keeps them"
        )
        log.warning(message)
        warnings.warn(message, DataWarning, stacklevel=3)
    schema = schemas.SCHEMAS[ep.table]
    if not rows:
        return schemas.empty(ep.table)
    frame = pl.DataFrame(rows, schema=_read_schema(schema))
    return schemas.cast(frame, ep.table)


_POSITIONS = {
    "_retrieved_at": pl.Datetime("us", "UTC"),
    "_order": pl.Int64(),
    "_k_item": pl.String(),
    "_k_rank": pl.Int64(),
    "_k_file": pl.Int64(),
    "_k_sub": pl.Int64(),
}


def read_adlib_archive(
    files: Sequence[bytes], endpoint: str, item_key: str | None = None
) -> tuple[pl.DataFrame, set[tuple[str, int]]]:
    """The rows of ``endpoint`` held by a collection's page files, given as the readable lines of
    each (:func:`tiktok_research.tables.read_archive` reads the files and reports their damage).

    Each ok answer of ``endpoint`` gives its rows with the positions
    :func:`tiktok_research.tables.finish` orders and cuts by: the answer's item (the request's
    ``item_key``), and its place in the archive (file, then page number: the order it arrived in).

    Returns:
        ``(rows, readable (run, page) pairs)``.
    """
    frames: list[pl.DataFrame] = []
    readable: set[tuple[str, int]] = set()
    for index, data in enumerate(files):
        for raw in data.split(b"\n"):
            if not raw.strip() or f'"{endpoint}"'.encode() not in raw[:400]:
                continue
            try:
                env = json.loads(raw)
            except ValueError:
                continue
            meta = env.get("meta") if isinstance(env, dict) else None
            body = env.get("response")
            if not isinstance(meta, dict) or meta.get("endpoint") != endpoint:
                continue
            err = body.get("error") if isinstance(body, dict) else None
            code = err.get("code") if isinstance(err, dict) else err
            if not isinstance(body, dict) or code not in (None, "ok"):
                continue
            number = meta.get("page")
            page = number if isinstance(number, int) else 0
            readable.add((str(meta.get("run")), page))
            request = (env.get("request") or {}).get("body") or {}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                rows = adlib_rows(endpoint, [(body, request)])
            for w in caught:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            if rows.height == 0:
                continue
            item = request.get(item_key) if item_key else None
            when = _when(meta.get("retrieved_at"))
            frames.append(
                rows.with_columns(
                    pl.lit(when, _POSITIONS["_retrieved_at"]).alias("_retrieved_at"),
                    pl.int_range(pl.len(), dtype=pl.Int64).alias("_order"),
                    pl.lit(None if item is None else str(item), pl.String).alias("_k_item"),
                    pl.lit(index * 1_000_000_000 + page, pl.Int64).alias("_k_rank"),
                    pl.lit(index, pl.Int64).alias("_k_file"),
                    pl.lit(0, pl.Int64).alias("_k_sub"),
                )
            )
    if not frames:
        table = ADLIB_ENDPOINTS[endpoint].table
        empty = schemas.empty(table).with_columns(
            *(pl.lit(None, dtype).alias(name) for name, dtype in _POSITIONS.items())
        )
        return empty, readable
    return pl.concat(frames, how="vertical"), readable


# ------------------------------------------------------------------ pages of dumps (merge_dumps)

#: The key of ``data`` that tells each endpoint's answer apart (the detail answer: objects ``ad``
#: and ``advertiser``). None of them is a key of a Research API answer's ``data``.
_DATA_KEYS: tuple[tuple[str, str], ...] = (
    ("ads", AD_QUERY.name),
    ("count_time_series_by_country", AD_REPORT.name),
    ("advertisers", ADVERTISER_QUERY.name),
    ("commercial_contents", COMMERCIAL_CONTENT_QUERY.name),
    ("commercial_content", COMMERCIAL_CONTENT_QUERY.name),
)


def adlib_endpoint_of(value: Any) -> str | None:
    """The ad library endpoint of one decoded page of a dump, or None for anything else.

    An archive envelope names it (``meta.endpoint``); a bare answer is told by the keys of its
    ``data`` (an error answer, whose ``data`` is empty, is told by nothing: None).

    Example:
        >>> adlib_endpoint_of({"data": {"ads": [], "has_more": False, "search_id": ""}})
        'ad_query'
        >>> adlib_endpoint_of({"data": {"videos": []}}) is None
        True
    """
    if not isinstance(value, dict):
        return None
    meta = value.get("meta")
    if isinstance(meta, dict) and ("response" in value or "response_text" in value):
        name = meta.get("endpoint")
        return name if isinstance(name, str) and name in ADLIB_ENDPOINTS else None
    data = value.get("data")
    if not isinstance(data, dict):
        return None
    for key, name in _DATA_KEYS:
        if key in data:
            return name
    if isinstance(data.get("ad"), dict) or isinstance(data.get("advertiser"), dict):
        return AD_DETAIL.name
    return None


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def adlib_pages(
    pages: Sequence[tuple[int, Any]], default_retrieved_at: datetime
) -> tuple[dict[str, pl.DataFrame], list[tuple[int, str | None]]]:
    """Rows of decoded dump pages of the ad library, for :func:`tiktok_research.merge_dumps`.

    Args:
        pages: ``(order, page)`` pairs: archive envelopes or bare answers, in reading order
            (``order`` grows with the position in the input; the rows of a page share it, and
            of two rows with one key and one retrieval time the later one is kept).
        default_retrieved_at: When a bare answer was retrieved (the file's modification time).

    Returns:
        ``(rows by table, unusable pages)``: each table's rows carry ``_retrieved_at`` and
        ``_order`` (the merge keeps the latest row of each key); an unusable page is
        ``(order, error code)``: an error answer, or None for a page of no ad library endpoint.
    """
    by_endpoint: dict[str, list[pl.DataFrame]] = {}
    unusable: list[tuple[int, str | None]] = []
    for order, page in pages:
        endpoint = adlib_endpoint_of(page)
        body: Any = page
        request: Any = {}
        when = default_retrieved_at
        if isinstance(page, dict) and isinstance(page.get("meta"), dict):
            body = page.get("response")
            if body is None and isinstance(page.get("response_text"), str):
                with contextlib.suppress(ValueError, RecursionError):
                    body = json.loads(page["response_text"])
            request = (page.get("request") or {}).get("body") or {}
            when = _when(page["meta"].get("retrieved_at")) or default_retrieved_at
        err = body.get("error") if isinstance(body, dict) else None
        code = err.get("code") if isinstance(err, dict) else err
        if endpoint is None or not isinstance(body, dict) or code not in (None, "ok"):
            unusable.append((order, None if code is None else str(code)))
            continue
        rows = adlib_rows(endpoint, [(body, request if isinstance(request, dict) else {})])
        by_endpoint.setdefault(endpoint, []).append(
            rows.with_columns(
                pl.lit(when, _POSITIONS["_retrieved_at"]).alias("_retrieved_at"),
                pl.lit(order, pl.Int64).alias("_order"),
            )
        )
    out = {
        ADLIB_ENDPOINTS[name].table: pl.concat(frames, how="vertical")
        for name, frames in by_endpoint.items()
    }
    return out, unusable


def _read_schema(schema: pl.Schema) -> pl.Schema:
    """The schema rows are built with: timestamps as the integers the answers carry."""
    return pl.Schema({k: (pl.Int64() if v == schemas.TIMESTAMP else v) for k, v in schema.items()})


# ------------------------------------------------------------------------------------ joins


def join_ads_advertisers(ads: pl.DataFrame, advertisers: pl.DataFrame) -> pl.DataFrame:
    """Ads with their advertiser's country and search term, joined on ``business_id``.

    Args:
        ads: An ``ads`` or ``ad_details`` table.
        advertisers: An ``advertisers`` table (from :func:`tiktok_research.fetch_advertisers`).

    Returns:
        ``ads`` with ``advertiser_country_code`` (filled from ``advertisers`` where the ads table
        lacks it) and ``search_term``; every ad is kept (a left join), an advertiser found by
        several terms once.

    Example:
        >>> import tiktok_research as tr
        >>> ads = tr.schemas.empty("ads")
        >>> tr.join_ads_advertisers(ads, tr.schemas.empty("advertisers")).columns[-2:]
        ['advertiser_country_code', 'search_term']
    """
    for name, frame, col in (("ads", ads, "business_id"), ("advertisers", advertisers,
                                                           "business_id")):  # fmt: skip
        if not isinstance(frame, pl.DataFrame) or col not in frame.columns:
            raise InvalidRequestError(
                f"join_ads_advertisers: {name} must be a polars table with a {col!r} column"
            )
    term = pl.col("search_term") if "search_term" in advertisers.columns else pl.lit(None)
    adv = advertisers.select(
        pl.col("business_id").cast(pl.Int64),
        pl.col("country_code").cast(pl.String).alias("_country"),
        term.cast(pl.String).alias("search_term"),
    ).unique("business_id", keep="first", maintain_order=True)
    out = ads.drop("search_term", strict=False).join(adv, on="business_id", how="left")
    if "advertiser_country_code" in ads.columns:
        filled = pl.coalesce("advertiser_country_code", "_country")
        return out.with_columns(filled.alias("advertiser_country_code")).drop("_country")
    return out.rename({"_country": "advertiser_country_code"})


def link_commercial_content(
    content: pl.DataFrame,
    videos: pl.DataFrame | None = None,
    users: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per video of each commercial content, joined to Research API videos and users.

    The commercial content's videos are ordinary TikTok posts (api-notes §12.3.5): their ``id`` is a
    Research API video ``id``, and ``creator_username`` a ``username`` of the users table.

    Args:
        content: A ``commercial_content`` table.
        videos: A Research API ``videos`` table (e.g. from :func:`tiktok_research.fetch_videos`
            or :func:`tiktok_research.fetch_videos_by_id` on ``video_id``); its columns are added
            with a ``video_`` prefix where the names clash.
        users: A ``users`` table (from :func:`tiktok_research.fetch_user_info` on
            ``creator_username``); its columns are added with a ``creator_`` prefix.

    Returns:
        ``content`` without ``videos``, with ``video_id``, ``video_url``, ``cover_image_url``
        and the joined columns; content whose videos the Research API did not return keeps nulls
        there (a left join).

    Example:
        >>> import tiktok_research as tr
        >>> tr.link_commercial_content(tr.schemas.empty("commercial_content")).columns[-3:]
        ['video_id', 'video_url', 'cover_image_url']
    """
    if not isinstance(content, pl.DataFrame) or "videos" not in content.columns:
        raise InvalidRequestError(
            "link_commercial_content: content must be a commercial_content table (with videos)"
        )
    rows = (
        content.explode("videos")
        .with_columns(
            pl.col("videos").struct.field("id").alias("video_id"),
            pl.col("videos").struct.field("url").alias("video_url"),
            pl.col("videos").struct.field("cover_image_url").alias("cover_image_url"),
        )
        .drop("videos")
    )
    if videos is not None:
        if not isinstance(videos, pl.DataFrame) or "id" not in videos.columns:
            raise InvalidRequestError("link_commercial_content: videos must have an 'id' column")
        v = videos.unique("id", keep="first", maintain_order=True)
        taken = set(rows.columns)
        v = v.rename({c: f"video_{c}" for c in v.columns if c != "id" and c in taken})
        rows = rows.join(v.rename({"id": "video_id"}), on="video_id", how="left")
    if users is not None:
        if not isinstance(users, pl.DataFrame) or "username" not in users.columns:
            raise InvalidRequestError(
                "link_commercial_content: users must have a 'username' column"
            )
        u = users.unique("username", keep="first", maintain_order=True)
        u = u.rename({c: f"creator_{c}" for c in u.columns})
        rows = rows.join(u, on="creator_username", how="left")
    return rows
