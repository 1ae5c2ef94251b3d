"""One declared polars schema per table: the only place where column names and types are decided.

Every table the package returns is cast to its schema here, so a table has the same columns and
types whether it holds 100,000 rows or none, and whichever file layout it came from.

Conventions (STYLE.md "Tables"):

* Every field the API returns keeps the API's name (field lists come from ``_endpoints``).
* Ids are ``Int64`` and exact (never float, never UInt64). An id that does not fit a signed 64-bit
  integer (e.g. the doc placeholder ``9999999999999999999``) becomes null and is reported by
  :mod:`tiktok_research.tables`; it is never wrapped or rounded.
* ``create_time`` is ``Datetime("us", "UTC")``; integer inputs above ``1e11`` are read as
  milliseconds, smaller ones as seconds (the TikTok Shop review example uses milliseconds).
* Counts are ``Int64`` (follower and like counts exceed 2**31).
* Lists and nested objects keep their structure (``List``, ``Struct``).

Nested shapes that no source has verified (api-notes §10) follow
``examples/video_query__200__extended_fields__SHAPE_UNVERIFIED.json``:

* ``hashtag_info_list``: ``List(Struct(hashtag_id Int64, hashtag_name String, hashtag_description
  String))``
* ``sticker_info_list``: ``List(Struct(sticker_id Int64, sticker_name String))``
* ``effect_info_list``: ``List(Struct(effect_id String, effect_name String, effect_photo_url
  String))`` (``effect_id`` is a string like ``effect_ids``; the ``effect_photo_URI`` spelling of
  some doc pages is not kept)
* ``video_mention_list``: ``List(String)``
* ``video_label``: ``Struct(content String)``
* ``video_tag``: ``List(Struct(type String, number Int64))`` (the ``video_tag_type`` /
  ``video_tag_number`` spelling of some doc pages is not kept)

If the real service answers with another shape, parsing does not fail: the value becomes null, the
mismatch is reported, and the raw archive keeps the original.

Columns added for follow-up work (the API leaves them out):

* ``users.username``: the account asked about (the service does not echo it).
* ``liked_videos``, ``pinned_videos``, ``reposted_videos``, ``followers``, ``following``:
  ``source_username``, the account the list belongs to.
* ``comments.video_id`` is filled from the request when an item lacks it.
* ``products.shop_id`` and ``reviews.product_id``: the shop / product asked about.
* ``playlists``: one row per playlist; ``playlist_video_ids`` holds the ids of every page.

Provenance (run, page, retrieval time, package version) is kept out of the tables: it lives in the
raw archive and in the Parquet key-value metadata written by :mod:`tiktok_research.io`. Rows stay
comparable across runs and a merged table does not change when the same data is fetched twice.

Example:
    >>> from tiktok_research import schemas
    >>> schemas.empty("videos").schema == schemas.VIDEOS
    True
    >>> schemas.primary_key("followers")
    ['source_username', 'username']
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import polars as pl

from . import _endpoints as ep
from .errors import InvalidRequestError, InvalidTypeError, UnknownColumnWarning, warn_user

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql.types import DataType as SparkDataType
    from pyspark.sql.types import StructType

__all__ = [
    "ADS",
    "ADVERTISERS",
    "AD_DETAILS",
    "AD_REPORTS",
    "COMMENTS",
    "COMMERCIAL_CONTENT",
    "FOLLOWERS",
    "FOLLOWING",
    "LIKED_VIDEOS",
    "PINNED_VIDEOS",
    "PLAYLISTS",
    "PRODUCTS",
    "REPOSTED_VIDEOS",
    "REVIEWS",
    "SCHEMAS",
    "SCHEMA_VERSION",
    "SHOPS",
    "USERS",
    "VIDEOS",
    "UnknownColumnWarning",  # defined in errors; kept importable from here
    "arrow_schema",
    "cast",
    "empty",
    "primary_key",
    "spark_schema",
]

logger = logging.getLogger(__name__)

#: Bumped whenever a column is added, removed, renamed or retyped.
SCHEMA_VERSION = "1"

TIMESTAMP = pl.Datetime("us", "UTC")
MS_THRESHOLD = 100_000_000_000  # 1e11: larger integer timestamps are milliseconds

# Types of every API field, by name. Field *lists* come from _endpoints; only types live here.
_FIELD_TYPES: dict[str, pl.DataType] = {
    # videos
    "id": pl.Int64(),
    "video_description": pl.String(),
    "create_time": TIMESTAMP,
    "region_code": pl.String(),
    "share_count": pl.Int64(),
    "view_count": pl.Int64(),
    "like_count": pl.Int64(),
    "comment_count": pl.Int64(),
    "music_id": pl.Int64(),
    "hashtag_names": pl.List(pl.String()),
    "username": pl.String(),
    "effect_ids": pl.List(pl.String()),
    "playlist_id": pl.Int64(),
    "voice_to_text": pl.String(),
    "is_stem_verified": pl.Boolean(),
    "favorites_count": pl.Int64(),
    "video_duration": pl.Int64(),
    "hashtag_info_list": pl.List(
        pl.Struct(
            {
                "hashtag_id": pl.Int64(),
                "hashtag_name": pl.String(),
                "hashtag_description": pl.String(),
            }
        )
    ),
    "sticker_info_list": pl.List(
        pl.Struct({"sticker_id": pl.Int64(), "sticker_name": pl.String()})
    ),
    "effect_info_list": pl.List(
        pl.Struct(
            {
                "effect_id": pl.String(),
                "effect_name": pl.String(),
                "effect_photo_url": pl.String(),
            }
        )
    ),
    "video_mention_list": pl.List(pl.String()),
    "video_label": pl.Struct({"content": pl.String()}),
    "video_tag": pl.List(pl.Struct({"type": pl.String(), "number": pl.Int64()})),
    # users
    "display_name": pl.String(),
    "bio_description": pl.String(),
    "avatar_url": pl.String(),
    "is_verified": pl.Boolean(),
    "follower_count": pl.Int64(),
    "following_count": pl.Int64(),
    "likes_count": pl.Int64(),
    "video_count": pl.Int64(),
    "bio_url": pl.String(),
    # comments
    "video_id": pl.Int64(),
    "text": pl.String(),
    "reply_count": pl.Int64(),
    "parent_comment_id": pl.Int64(),
    # playlists
    "playlist_name": pl.String(),
    "playlist_video_ids": pl.List(pl.Int64()),
    "playlist_item_total": pl.Int64(),
    "playlist_last_updated": pl.Int64(),  # unit unverified (api-notes §3.9): the raw integer
    # shops / products / reviews
    "shop_name": pl.String(),
    "shop_rating": pl.String(),  # the API sends a string such as "4.5"
    "shop_review_count": pl.Int64(),
    "item_sold_count": pl.Int64(),
    "shop_id": pl.Int64(),
    "shop_performance_value": pl.Int64(),
    "product_id": pl.Int64(),
    "product_sold_count": pl.Int64(),
    "product_description": pl.String(),
    "product_price": pl.List(pl.String()),  # e.g. ["20.79GBP"]
    "product_review_count": pl.Int64(),
    "product_name": pl.String(),
    "product_rating": pl.String(),
    "product_rating_1_count": pl.Int64(),
    "product_rating_2_count": pl.Int64(),
    "product_rating_3_count": pl.Int64(),
    "product_rating_4_count": pl.Int64(),
    "product_rating_5_count": pl.Int64(),
    "review_text": pl.String(),
    "review_like_count": pl.Int64(),
    "review_rating": pl.String(),  # e.g. "FIVE"
    # added columns
    "source_username": pl.String(),
}


def _schema(*names: str) -> pl.Schema:
    return pl.Schema({name: _FIELD_TYPES[name] for name in names})


VIDEOS = _schema(*ep.VIDEO_FIELDS)
USERS = _schema("username", *ep.USER_INFO_FIELDS)
COMMENTS = _schema(*ep.COMMENT_FIELDS)
LIKED_VIDEOS = _schema("source_username", *ep.USER_VIDEO_FIELDS)
PINNED_VIDEOS = _schema("source_username", *ep.USER_VIDEO_FIELDS)
REPOSTED_VIDEOS = _schema("source_username", *ep.USER_VIDEO_FIELDS)
FOLLOWERS = _schema("source_username", *ep.FOLLOW_ITEM_KEYS)
FOLLOWING = _schema("source_username", *ep.FOLLOW_ITEM_KEYS)
PLAYLISTS = _schema(*ep.PLAYLIST_FIELDS)
SHOPS = _schema(*ep.SHOP_FIELDS)
PRODUCTS = _schema("shop_id", *(f for f in ep.PRODUCT_FIELDS if f != "shop_id"))
REVIEWS = _schema("product_id", *ep.REVIEW_FIELDS)

# ------------------------------------------------ the Commercial Content API (api-notes §12,
# "adlib")
# Dotted fields become flat columns: `ad.id` -> ad_id, `advertiser.business_name` ->
# business_name; the funding source is `paid_for_by` whether the answer said `paid_by` or
# `paid_for_by`. Days (`first_shown_date`, `create_date`) are `Date`, read from YYYYMMDD numbers or
# strings. Maps keyed by country, age or gender become lists of structs (Arrow's map layout, read
# by every tool): `[{"country": "FR", "unique_users_seen": "32K"}, ...]`. Reach stays the
# library's bucket text ("11K": at least 11,000). Ad and business ids are exact Int64; the
# commercial-content `id` is opaque text (typed i64 by the docs, a string in their example).
_VIDEO_URL = pl.List(pl.Struct({"url": pl.String()}))
ADS = pl.Schema(
    {
        "ad_id": pl.Int64(),
        "first_shown_date": pl.Date(),
        "last_shown_date": pl.Date(),
        "status": pl.String(),
        "status_statement": pl.String(),
        "videos": _VIDEO_URL,
        "image_urls": pl.List(pl.String()),
        "unique_users_seen": pl.String(),
        "business_id": pl.Int64(),
        "business_name": pl.String(),
        "paid_for_by": pl.String(),
    }
)


def _reach_by(key: str) -> pl.List:
    return pl.List(pl.Struct({key: pl.String(), "unique_users_seen": pl.String()}))


#: Get Ad Details (api-notes §12.3.2): the ad query's columns and what only the detail answers.
#: ``advertiser_username`` is added: the handle in ``profile_url`` (joins to Research API users).
AD_DETAILS = pl.Schema(
    {
        **dict(ADS),
        "title": pl.String(),
        "external_url": pl.String(),
        "download_url": pl.String(),
        "call_to_action": pl.String(),
        "advertising_objective": pl.String(),
        "unique_users_seen_by_country": _reach_by("country"),
        "unique_users_seen_by_age": _reach_by("age"),
        "unique_users_seen_by_gender": _reach_by("gender"),
        "rejection_info": pl.Struct(
            {
                "reasons": pl.List(pl.String()),
                "affected_countries": pl.List(pl.String()),
                "reporting_source": pl.String(),
                "automated_notice": pl.String(),
            }
        ),
        "targeting_info": pl.Struct(
            {
                "number_of_users_targeted": pl.String(),
                "country": pl.List(pl.String()),
                "age": pl.List(pl.Struct({"age": pl.String(), "targeted": pl.Boolean()})),
                "gender": pl.List(pl.Struct({"gender": pl.String(), "targeted": pl.Boolean()})),
                "audience_targeting": pl.String(),
                "video_interactions": pl.String(),
                "creator_interactions": pl.String(),
                "interest": pl.String(),
            }
        ),
        "advertiser_country_code": pl.String(),
        "profile_url": pl.String(),
        "avatar_url": pl.String(),
        "follower_count": pl.Int64(),
        "advertiser_username": pl.String(),
    }
)
#: Get Ad Report (api-notes §12.3.3): ads published per day and country.
AD_REPORTS = pl.Schema({"country": pl.String(), "date": pl.Date(), "count": pl.Int64()})
#: Query Advertisers (api-notes §12.3.4); ``search_term`` is added: the term that found the row.
ADVERTISERS = pl.Schema(
    {
        "business_id": pl.Int64(),
        "business_name": pl.String(),
        "country_code": pl.String(),
        "search_term": pl.String(),
    }
)
#: Query Commercial Content (api-notes §12.3.5). ``label`` is text ("Paid partnership", "Promotional
#: content") also when the answer gave a code ("1", "2"); ``creator_username`` is
#: ``creator.username``; a video's ``id`` is read from the answer or, failing that, its ``url``.
COMMERCIAL_CONTENT = pl.Schema(
    {
        "id": pl.String(),
        "create_timestamp": TIMESTAMP,
        "create_date": pl.Date(),
        "label": pl.String(),
        "brand_names": pl.List(pl.String()),
        "creator_username": pl.String(),
        "videos": pl.List(
            pl.Struct(
                {
                    "id": pl.Int64(),
                    "status": pl.String(),
                    "url": pl.String(),
                    "cover_image_url": pl.String(),
                }
            )
        ),
    }
)

SCHEMAS: dict[str, pl.Schema] = {
    "videos": VIDEOS,
    "users": USERS,
    "comments": COMMENTS,
    "liked_videos": LIKED_VIDEOS,
    "pinned_videos": PINNED_VIDEOS,
    "reposted_videos": REPOSTED_VIDEOS,
    "followers": FOLLOWERS,
    "following": FOLLOWING,
    "playlists": PLAYLISTS,
    "shops": SHOPS,
    "products": PRODUCTS,
    "reviews": REVIEWS,
    "ads": ADS,
    "ad_details": AD_DETAILS,
    "ad_reports": AD_REPORTS,
    "advertisers": ADVERTISERS,
    "commercial_content": COMMERCIAL_CONTENT,
}

_PRIMARY_KEYS: dict[str, list[str]] = {
    "videos": ["id"],
    "users": ["username"],
    "comments": ["id"],
    "liked_videos": ["source_username", "id"],
    "pinned_videos": ["source_username", "id"],
    "reposted_videos": ["source_username", "id"],
    "followers": ["source_username", "username"],
    "following": ["source_username", "username"],
    "playlists": ["playlist_id"],
    "shops": ["shop_id"],
    "products": ["product_id"],
    # reviews carry no id: a review is identified by its product, time, rating and text
    "reviews": ["product_id", "create_time", "review_rating", "review_text"],
    "ads": ["ad_id"],
    "ad_details": ["ad_id"],
    "ad_reports": ["country", "date"],
    "advertisers": ["business_id"],
    "commercial_content": ["id"],
}

assert set(SCHEMAS) == {e.table for e in (*ep.ENDPOINTS.values(), *ep.ADLIB_ENDPOINTS.values())}, (
    "a table lacks a schema"
)

#: The answer of a batch compliance check (:func:`tiktok_research.check_compliance`): every id
#: given, and whether it is still valid (neither deleted nor made private).
COMPLIANCE = pl.Schema({"id": pl.Int64(), "valid": pl.Boolean()})
#: A videos table refreshed by :func:`tiktok_research.refresh_videos`: the videos columns and
#: when each row's values were retrieved.
REFRESHED_VIDEOS = pl.Schema({**dict(VIDEOS), "retrieved_at": TIMESTAMP})


_reported: set[tuple[str, str]] = set()


def report_unknown(table: str, names: list[str] | set[str], where: str = "") -> None:
    """Warn once per process about columns/fields of ``table`` that the schema does not know."""
    new = sorted(n for n in names if (table, n) not in _reported)
    if not new:
        return
    _reported.update((table, n) for n in new)
    message = (
        f"{table}: unknown field(s) {', '.join(new)}{where} left out of the table "
        f"(the raw archive keeps them; schema version {SCHEMA_VERSION})"
    )
    logger.warning(message)
    warn_user(message, UnknownColumnWarning)


def _check_table(table: str) -> pl.Schema:
    try:
        return SCHEMAS[table]
    except KeyError:
        raise InvalidRequestError(
            f"unknown table {table!r}; expected one of: {', '.join(sorted(SCHEMAS))}"
        ) from None


def primary_key(table: str) -> list[str]:
    """The columns that identify a row of ``table`` (used to de-duplicate).

    Example:
        >>> primary_key("videos")
        ['id']
    """
    _check_table(table)
    return list(_PRIMARY_KEYS[table])


def empty(table: str) -> pl.DataFrame:
    """A table with no rows and exactly the declared columns and types.

    Example:
        >>> empty("comments").columns[:3]
        ['id', 'video_id', 'text']
    """
    return pl.DataFrame(schema=_check_table(table))


def to_datetime(expr: pl.Expr) -> pl.Expr:
    """Unix time -> ``Datetime("us", "UTC")``; integers above 1e11 are taken as milliseconds."""
    seconds_or_ms = expr.cast(pl.Int64, strict=False)
    micros = (
        pl.when(seconds_or_ms.abs() > MS_THRESHOLD)
        .then(seconds_or_ms * 1_000)
        .otherwise(seconds_or_ms * 1_000_000)
    )
    return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def cast(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """Cast ``df`` to the declared schema of ``table``.

    Missing columns are added as nulls, columns are put in the declared order and cast strictly
    (a value that does not fit raises). Columns the schema does not know are dropped and reported
    once per process (a warning and a log line). Integer ``create_time`` values are converted to
    UTC datetimes (seconds, or milliseconds above 1e11).

    Args:
        df: any DataFrame holding (some of) the table's columns.
        table: a table name, e.g. ``"videos"``.

    Returns:
        A DataFrame whose schema equals ``SCHEMAS[table]``.

    Example:
        >>> df = pl.DataFrame({"id": [7320768158545159950], "create_time": [1704499196]})
        >>> cast(df, "videos")["create_time"][0].isoformat()
        '2024-01-05T23:59:56+00:00'
    """
    schema = _check_table(table)
    unknown = [c for c in df.columns if c not in schema]
    if unknown:
        report_unknown(table, unknown, " (columns)")
    exprs: list[pl.Expr] = []
    for name, dtype in schema.items():
        if name not in df.columns:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
            continue
        current = df.schema[name]
        if dtype == TIMESTAMP and current.is_integer():
            exprs.append(to_datetime(pl.col(name)).alias(name))
        elif dtype == TIMESTAMP and isinstance(current, pl.Datetime):
            tz = current.time_zone
            col = pl.col(name).dt.cast_time_unit("us")
            col = col.dt.convert_time_zone("UTC") if tz else col.dt.replace_time_zone("UTC")
            exprs.append(col.alias(name))
        else:
            exprs.append(_conform(pl.col(name), current, dtype).alias(name))
    return df.select(exprs)


def _conform(expr: pl.Expr, current: Any, target: Any) -> pl.Expr:
    """``expr`` (of type ``current``) cast strictly to ``target``; a struct, also inside a list,
    gets the fields it lacks as nulls and loses the ones ``target`` does not declare, matched by
    name (polars 2.2's strict cast refuses structs whose fields differ; ``strict=False`` would
    also turn a value that does not fit into a silent null)."""
    if isinstance(target, pl.Struct) and isinstance(current, pl.Struct):
        have = {f.name: f.dtype for f in current.fields}
        if [f.name for f in current.fields] == [f.name for f in target.fields]:
            return expr.cast(target, strict=True)
        parts = [
            _conform(expr.struct.field(f.name), have[f.name], f.dtype).alias(f.name)
            if f.name in have
            else pl.lit(None, dtype=f.dtype).alias(f.name)
            for f in target.fields
        ]
        return pl.when(expr.is_not_null()).then(pl.struct(parts)).cast(target, strict=True)
    if isinstance(target, pl.List) and isinstance(current, pl.List):
        inner = _conform(pl.element(), current.inner, target.inner)
        return expr.list.eval(inner).cast(target, strict=True)
    return expr.cast(target, strict=True)


def arrow_schema(table: str) -> pa.Schema:
    """The declared schema of ``table`` as a pyarrow schema (large types as polars writes them).

    Example:
        >>> arrow_schema("users").field("follower_count").type
        DataType(int64)
    """
    return empty(table).to_arrow().schema


def spark_type(dtype: Any) -> SparkDataType:
    """The Spark type of a polars type (a ``pl.DataType``) of the declared schemas.

    ``Int64`` is ``LongType`` (exact 19-digit ids), ``Int128`` ``DecimalType(38, 0)``,
    ``Datetime`` ``TimestampType`` (an instant; Spark shows it in the session time zone), lists
    and structs keep their structure. Every field is nullable.
    """
    from ._optional import require

    require("pyspark", extra="spark", feature="the Spark schemas")
    from pyspark.sql import types as st

    simple: dict[type[pl.DataType], st.DataType] = {
        pl.Int64: st.LongType(),
        pl.Int32: st.IntegerType(),
        pl.Int128: st.DecimalType(38, 0),
        pl.Float64: st.DoubleType(),
        pl.String: st.StringType(),
        pl.Boolean: st.BooleanType(),
        pl.Date: st.DateType(),
        pl.Datetime: st.TimestampType(),
    }
    if isinstance(dtype, pl.List):
        return st.ArrayType(spark_type(dtype.inner), containsNull=True)
    if isinstance(dtype, pl.Struct):
        return st.StructType(
            [st.StructField(f.name, spark_type(f.dtype), nullable=True) for f in dtype.fields]
        )
    for kind, spark in simple.items():
        if isinstance(dtype, kind):
            return spark
    raise InvalidTypeError(f"no Spark type for the polars type {dtype}")


def spark_schema(table: str) -> StructType:
    """The declared schema of ``table`` as a Spark ``StructType`` (pyspark is imported here).

    Ids and counts are ``LongType`` (exact, never double), ``create_time`` is ``TimestampType``
    (keep the session time zone at UTC to see it as the API's UTC time), lists are ``ArrayType``,
    nested objects ``StructType``; every field is nullable. Use it to read our Parquet files or
    to cast a Spark table to the package's columns.

    Example:
        >>> spark_schema("users")["follower_count"].dataType
        LongType()
        >>> import tiktok_research as tr
        >>> videos = tr.fetch_videos(tr.Q.hashtag_name.eq("climate"), "2024-01-01", "2024-01-31")
        >>> folder = str(tr.write_dataset(videos, "out/videos", table="videos").absolute())
        >>> spark.read.schema(spark_schema("videos")).parquet(folder).count() == videos.height
        True
    """
    struct = spark_type(pl.Struct(dict(_check_table(table))))
    return struct  # type: ignore[return-value]
