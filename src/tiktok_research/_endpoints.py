"""What the TikTok Research API looks like: one registry for the client, the tables and the sandbox.

Everything here comes from ``docs/api-notes.md`` (its section numbers in comments). Nothing in this
module does I/O; it is plain data so that every layer agrees on paths, fields, body keys and limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DEFAULT_BASE_URL = "https://open.tiktokapis.com"
TOKEN_PATH = "/v2/oauth/token/"

Pagination = Literal["search", "index", "timestamp", "page", "search_id", "none"]
FieldsIn = Literal["query", "body", "none"]
# "adlib": the Commercial Content API (api-notes §12), a product of its own with no documented
# quota.
QuotaFamily = Literal["research", "social", "adlib"]

# api-notes §3.1: the complete list of returnable video fields (current docs).
VIDEO_FIELDS: tuple[str, ...] = (
    "id",
    "video_description",
    "create_time",
    "region_code",
    "share_count",
    "view_count",
    "like_count",
    "comment_count",
    "music_id",
    "hashtag_names",
    "username",
    "effect_ids",
    "playlist_id",
    "voice_to_text",
    "is_stem_verified",
    "favorites_count",
    "video_duration",
    "hashtag_info_list",
    "sticker_info_list",
    "effect_info_list",
    "video_mention_list",
    "video_label",
    "video_tag",
)

# api-notes §3.4-3.6: liked / pinned / reposted return the same family minus effect_ids,
# playlist_id and voice_to_text. The docs spell `favourites_count` on some pages; api-notes §11
# picks `favorites_count`.
USER_VIDEO_FIELDS: tuple[str, ...] = (
    "id",
    "create_time",
    "username",
    "region_code",
    "video_description",
    "music_id",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
    "hashtag_names",
    "is_stem_verified",
    "favorites_count",
    "video_duration",
    "hashtag_info_list",
    "sticker_info_list",
    "effect_info_list",
    "video_mention_list",
    "video_label",
    "video_tag",
)

# api-notes §3.2 (current docs). `username` is not echoed by the real service.
USER_INFO_FIELDS: tuple[str, ...] = (
    "display_name",
    "bio_description",
    "avatar_url",
    "is_verified",
    "follower_count",
    "following_count",
    "likes_count",
    "video_count",
    "bio_url",
)

# api-notes §3.3
COMMENT_FIELDS: tuple[str, ...] = (
    "id",
    "video_id",
    "text",
    "like_count",
    "reply_count",
    "parent_comment_id",
    "create_time",
)

# api-notes §3.7 / §3.8: no `fields` parameter; each item has these keys.
FOLLOW_ITEM_KEYS: tuple[str, ...] = ("display_name", "username")

# api-notes §3.9: keys of `data` (no documented `fields`; the doc example sends
# `?fields=playlist_id`).
PLAYLIST_FIELDS: tuple[str, ...] = (
    "playlist_id",
    "playlist_name",
    "playlist_video_ids",
    "playlist_item_total",
    "playlist_last_updated",
)

# api-notes §3.10
SHOP_FIELDS: tuple[str, ...] = (
    "shop_name",
    "shop_rating",
    "shop_review_count",
    "item_sold_count",
    "shop_id",
    "shop_performance_value",
)
PRODUCT_FIELDS: tuple[str, ...] = (
    "product_id",
    "product_sold_count",
    "product_description",
    "product_price",
    "product_review_count",
    "product_name",
    "product_rating",
    "shop_name",
    "product_rating_1_count",
    "product_rating_2_count",
    "product_rating_3_count",
    "product_rating_4_count",
    "product_rating_5_count",
)
REVIEW_FIELDS: tuple[str, ...] = (
    "product_name",
    "review_text",
    "review_like_count",
    "create_time",
    "review_rating",
)

# api-notes §4: the query language of the video query.
CONDITION_FIELDS: tuple[str, ...] = (
    "create_date",
    "username",
    "region_code",
    "video_id",
    "hashtag_name",
    "keyword",
    "music_id",
    "effect_id",
    "video_length",
    "view_count",
    "comment_count",
)
OPERATIONS: tuple[str, ...] = ("EQ", "IN", "GT", "GTE", "LT", "LTE")
VIDEO_LENGTHS: tuple[str, ...] = ("SHORT", "MID", "LONG", "EXTRA_LONG")
# Seconds: SHORT < 15 <= MID <= 60 < LONG <= 300 < EXTRA_LONG (api-notes §4 table).
VIDEO_LENGTH_BOUNDS: dict[str, tuple[int, int]] = {
    "SHORT": (0, 14),
    "MID": (15, 60),
    "LONG": (61, 300),
    "EXTRA_LONG": (301, 2**31),
}

_REGION_TEXT = (
    "FR TH MM BD IT NP IQ BR US KW VN AR KZ GB UA TR ID PK NG KH PH EG QA MY ES JO MA SA TW "
    "AF EC MX BW JP LT TN RO LY IL DZ CG GH DE BJ SN SK BY NL LA BE DO TZ LK NI LB IE RS HU "
    "PT GP CM HN FI GA BN SG BO GM BG SD TT OM FO MZ ML UG RE PY GT CI SR AO AZ LR CD HR SV "
    "MV GY BH TG SL MK KE MT MG MR PA IS LU HT TM ZM CR NO AL ET GW AU KR UY JM DK AE MD SE "
    "MU SO CO AT GR UZ CL GE PL CA CZ ZA AI VE KG PE CH LV PR NZ TL BT MN FJ SZ VU BF TJ BA "
    "AM TD SI CY MW EE XK ME KY YE LS ZW MC GN BS PF NA VI BB BZ CW PS FM PG BI AD TV GL KM "
    "AW TC CV MO VC NE WS MP DJ RW AG GI GQ AS AX TO KN LC NC LI SS IR SY IM SC VG SB DM KI "
    "UM SX GD MH BQ YT ST CF BM SM PW GU HK IN CK AQ WF JE MQ CN GF MS GG TK FK PM NU MF ER "
    "NF VA IO SH BL CU NR TP BV EH PN TF RU "
)
REGION_CODES: frozenset[str] = frozenset(_REGION_TEXT.split())

MAX_WINDOW_DAYS = 30  # api-notes §3.1 / §11: end_date - start_date may be at most 30 days
COMMENTS_CAP = 1000  # api-notes §3.3: cursor + max_count <= 1000
FOLLOWERS_CAP = 5000  # api-notes §3.7: about 5,000 per account

# api-notes §7. The Commercial Content API ("adlib") documents no daily quota (api-notes §12.1): it
# has no
# entry here, so nothing is counted against a limit that nobody has seen.
DAILY_QUOTA: dict[QuotaFamily, int] = {"research": 1000, "social": 20000}


def charged(status: int | None) -> bool:
    """Whether the service counts a request against the daily quota, by the HTTP status of its
    answer (api-notes §11, "Do failed requests count?"): answers (2xx) and server errors (5xx,
    which the real service is known to count, api-notes §6) are charged; refusals (4xx: a bad
    request, a rejected token, a rate or quota refusal) are not. A request without an answer
    (``None``) may have reached the service: it counts as charged, on the safe side.

    The sandbox charges by this rule, and the client's reports and quota ledger count by it, so
    "sent", "charged" and the sandbox's own figures add up.
    """
    return status is None or not 400 <= status < 500


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One data endpoint of the Research API (api-notes §3 rows 1 to 12) or of the Commercial
    Content
    API (api-notes §12: ``quota_family="adlib"``)."""

    name: str
    table: str  # name of the table its items become (see tiktok_research.schemas)
    path: str
    fields: tuple[str, ...]
    fields_in: FieldsIn
    data_key: str | None  # key of the item list in `data`; None when `data` is the item itself
    pagination: Pagination
    max_count: int | None  # largest page size the service accepts
    default_count: int | None  # page size the service uses when none is sent
    count_key: str | None  # body key of the page size (`max_count`, `limit`, `page_size`)
    item_key: str | None  # body key naming the item a per-item endpoint is about
    quota_family: QuotaFamily = "research"
    alt_data_keys: tuple[str, ...] = ()  # other spellings of `data_key` seen in docs


VIDEO_QUERY = Endpoint(
    name="video_query",
    table="videos",
    path="/v2/research/video/query/",
    fields=VIDEO_FIELDS,
    fields_in="query",
    data_key="videos",
    pagination="search",
    max_count=100,
    default_count=20,
    count_key="max_count",
    item_key=None,
)
USER_INFO = Endpoint(
    name="user_info",
    table="users",
    path="/v2/research/user/info/",
    fields=USER_INFO_FIELDS,
    fields_in="query",
    data_key=None,
    pagination="none",
    max_count=None,
    default_count=None,
    count_key=None,
    item_key="username",
)
COMMENTS = Endpoint(
    name="comments",
    table="comments",
    path="/v2/research/video/comment/list/",
    fields=COMMENT_FIELDS,
    fields_in="query",
    data_key="comments",
    pagination="index",
    max_count=100,
    default_count=10,
    count_key="max_count",
    item_key="video_id",
)
LIKED_VIDEOS = Endpoint(
    name="liked_videos",
    table="liked_videos",
    path="/v2/research/user/liked_videos/",
    fields=USER_VIDEO_FIELDS,
    fields_in="query",
    data_key="user_liked_videos",
    pagination="timestamp",
    max_count=100,
    default_count=20,
    count_key="max_count",
    item_key="username",
)
PINNED_VIDEOS = Endpoint(
    name="pinned_videos",
    table="pinned_videos",
    path="/v2/research/user/pinned_videos/",
    fields=USER_VIDEO_FIELDS,
    fields_in="query",
    data_key="pinned_videos_list",
    pagination="none",
    max_count=None,
    default_count=None,
    count_key=None,
    item_key="username",
)
REPOSTED_VIDEOS = Endpoint(
    name="reposted_videos",
    table="reposted_videos",
    path="/v2/research/user/reposted_videos/",
    fields=USER_VIDEO_FIELDS,
    fields_in="query",
    data_key="reposted_videos",
    pagination="index",
    max_count=100,
    default_count=20,
    count_key="max_count",
    item_key="username",
    alt_data_keys=("user_reposted_videos",),
)
FOLLOWERS = Endpoint(
    name="followers",
    table="followers",
    path="/v2/research/user/followers/",
    fields=FOLLOW_ITEM_KEYS,
    fields_in="none",
    data_key="user_followers",
    pagination="timestamp",
    max_count=100,
    default_count=20,
    count_key="max_count",
    item_key="username",
    quota_family="social",
)
FOLLOWING = Endpoint(
    name="following",
    table="following",
    path="/v2/research/user/following/",
    fields=FOLLOW_ITEM_KEYS,
    fields_in="none",
    data_key="user_following",
    pagination="timestamp",
    max_count=100,
    default_count=20,
    count_key="max_count",
    item_key="username",
    quota_family="social",
)
# api-notes §3.9: default / max page size undocumented; the doc example asks 10, clients ask 100.
PLAYLIST_INFO = Endpoint(
    name="playlist_info",
    table="playlists",
    path="/v2/research/playlist/info/",
    fields=PLAYLIST_FIELDS,
    fields_in="query",
    data_key=None,
    pagination="index",
    max_count=100,
    default_count=10,
    count_key="max_count",
    item_key="playlist_id",
)
# api-notes §3.10: every doc example and client puts `fields` in the JSON body.
TTS_SHOP = Endpoint(
    name="tts_shop",
    table="shops",
    path="/v2/research/tts/shop/",
    fields=SHOP_FIELDS,
    fields_in="body",
    data_key="shop_data",
    pagination="none",
    max_count=10,
    default_count=10,
    count_key="limit",
    item_key="shop_name",
)
TTS_PRODUCT = Endpoint(
    name="tts_product",
    table="products",
    path="/v2/research/tts/product/",
    fields=PRODUCT_FIELDS,
    fields_in="body",
    data_key="product_data",
    pagination="page",
    max_count=10,
    default_count=10,
    count_key="page_size",
    item_key="shop_id",
)
TTS_REVIEW = Endpoint(
    name="tts_review",
    table="reviews",
    path="/v2/research/tts/review/",
    fields=REVIEW_FIELDS,
    fields_in="body",
    data_key="review_data",
    pagination="page",
    max_count=10,
    default_count=10,
    count_key="page_size",
    item_key="product_id",
)

ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        VIDEO_QUERY,
        USER_INFO,
        COMMENTS,
        LIKED_VIDEOS,
        PINNED_VIDEOS,
        REPOSTED_VIDEOS,
        FOLLOWERS,
        FOLLOWING,
        PLAYLIST_INFO,
        TTS_SHOP,
        TTS_PRODUCT,
        TTS_REVIEW,
    )
}
ENDPOINTS_BY_PATH: dict[str, Endpoint] = {e.path: e for e in ENDPOINTS.values()}


def video_url(username: str, video_id: int) -> str:
    """The public web address of a video (api-notes §8)."""
    return f"https://www.tiktok.com/@{username}/video/{video_id}"


# ------------------------------------------------------------- batch compliance (api-notes §3.11)
# Plain data, kept out of ENDPOINTS: these endpoints take a multipart upload or answer a text file,
# not pages of items, so the table and paging machinery that walks ENDPOINTS has nothing to do
# with them. The sandbox counts them against the "research" daily quota, like the other data
# endpoints (api-notes §7 is silent on their quota).
@dataclass(frozen=True, slots=True)
class ValidationEndpoint:
    """One batch compliance endpoint (api-notes §3 rows 13 to 15)."""

    name: str
    path: str
    request: Literal["multipart", "json"]  # the body: multipart form-data, or a JSON object
    answer: Literal["json", "text"]  # the ok answer: the JSON envelope, or a text file of ids
    quota_family: QuotaFamily = "research"


VALIDATION_CREATE = ValidationEndpoint(
    "validation_create", "/v2/research/validation_task/create/", "multipart", "json"
)
VALIDATION_STATUS = ValidationEndpoint(
    "validation_status", "/v2/research/validation_task_status/get/", "json", "json"
)
VALIDATION_DOWNLOAD = ValidationEndpoint(
    "validation_download", "/v2/research/validation_task/download/", "json", "text"
)
VALIDATION_ENDPOINTS: dict[str, ValidationEndpoint] = {
    e.name: e for e in (VALIDATION_CREATE, VALIDATION_STATUS, VALIDATION_DOWNLOAD)
}
VALIDATION_BY_PATH: dict[str, ValidationEndpoint] = {
    e.path: e for e in VALIDATION_ENDPOINTS.values()
}
VALIDATION_CATEGORIES: tuple[str, ...] = ("video", "comment")  # the `category` form field
VALIDATION_MAX_IDS = 10_000  # ids per uploaded file
VALIDATION_STATUSES: tuple[str, ...] = ("Processing", "Completed", "Failed")  # `task_status`


# ------------------------------------------------------- Commercial Content API (api-notes §12,
# "adlib")
# TikTok's ad library for researchers: same host and token flow as the Research API, its own scope
# (`research.adlib.basic`) and no documented quota. Kept out of ENDPOINTS (whose tables, fields and
# paging are the Research API's); :func:`endpoint_named` finds these too. Where two versions of
# TikTok's documentation disagree, the client sends what the newest copy says (api-notes §0: the
# zh-Hans
# pages of 2026-08/09 for Getting Started, Query Ads, Get Ad Details and Query Commercial Content;
# the 2024 copy for Get Ad Report and Query Advertisers) and reads every spelling seen.

#: The scope each quota family needs (api-notes §2, §12.1); a token without it gets 401
#: `scope_not_authorized`.
SCOPES: dict[QuotaFamily, str] = {
    "research": "research.data.basic",
    "social": "research.data.basic",
    "adlib": "research.adlib.basic",
}

# api-notes §12.3 A1. Dotted names: `prefix.name` comes back as key `name` inside object `prefix`.
AD_FIELDS: tuple[str, ...] = (
    "ad.id",
    "ad.first_shown_date",
    "ad.last_shown_date",
    "ad.status",
    "ad.status_statement",
    "ad.videos",
    "ad.image_urls",
    "ad.reach",
    "advertiser.business_id",
    "advertiser.business_name",
    # Requested as `paid_for_by`; the doc table and examples answer `paid_by` (api-notes §12.2
    # CONFLICT): both are read.
    "advertiser.paid_for_by",
)
# api-notes §12.3 A2: A1's list, the advertiser's account and the targeting (2024), the five fields
# the
# 2026 zh-Hans page adds, and `ad.rejection_info`: in the doc's answer but in neither field list;
# two published clients (TC, a 2026 script) ask for it, so it is taken as accepted (UNVERIFIED).
AD_DETAIL_FIELDS: tuple[str, ...] = (
    *AD_FIELDS,
    "advertiser.follower_count",
    "advertiser.avatar_url",
    "advertiser.profile_url",
    "ad_group.targeting_info",
    "ad.title",
    "ad.external_url",
    "ad.download_url",
    "ad.call_to_action",
    "ad.advertising_objective",
    "ad.rejection_info",
)
AD_REPORT_FIELDS: tuple[str, ...] = ("count_time_series_by_country",)  # api-notes §12.3.3
ADVERTISER_FIELDS: tuple[str, ...] = ("business_id", "business_name", "country_code")  # §12.3.4
# api-notes §12.3.5. minet asks for `create_date_utc` instead of `create_date` (not a documented
# field):
# the sandbox accepts it, as the real service must for minet to work; the client never sends it.
COMMERCIAL_CONTENT_FIELDS: tuple[str, ...] = (
    "id",
    "create_timestamp",
    "create_date",
    "label",
    "brand_names",
    "creator",
    "videos",
)

AD_QUERY = Endpoint(
    name="ad_query",
    table="ads",
    path="/v2/research/adlib/ad/query/",
    fields=AD_FIELDS,
    fields_in="query",
    data_key="ads",
    pagination="search_id",
    # 50 per DOC:CCA-2024 and the 2026 zh-Hans page (the newest); a 2026 script says 10 (api-notes
    # §12.2 CONFLICT). 50 is sent; a service that answers fewer per page is followed all the same.
    max_count=50,
    default_count=10,
    count_key="max_count",
    item_key=None,
    quota_family="adlib",
)
AD_DETAIL = Endpoint(
    name="ad_detail",
    table="ad_details",
    path="/v2/research/adlib/ad/detail/",
    fields=AD_DETAIL_FIELDS,
    fields_in="query",
    data_key=None,
    pagination="none",
    max_count=None,
    default_count=None,
    count_key=None,
    item_key="ad_id",
    quota_family="adlib",
)
AD_REPORT = Endpoint(
    name="ad_report",
    table="ad_reports",
    path="/v2/research/adlib/ad/report/",
    fields=AD_REPORT_FIELDS,
    fields_in="query",
    data_key=None,
    pagination="none",
    max_count=None,
    default_count=None,
    count_key=None,
    item_key=None,
    quota_family="adlib",
)
ADVERTISER_QUERY = Endpoint(
    name="advertiser_query",
    table="advertisers",
    path="/v2/research/adlib/advertiser/query/",
    fields=ADVERTISER_FIELDS,
    fields_in="query",
    data_key="advertisers",
    pagination="none",  # no has_more / search_id documented (api-notes §12.3.4)
    max_count=50,
    default_count=10,
    count_key="max_count",
    item_key="search_term",
    quota_family="adlib",
)
COMMERCIAL_CONTENT_QUERY = Endpoint(
    name="commercial_content_query",
    table="commercial_content",
    path="/v2/research/adlib/commercial_content/query/",
    fields=COMMERCIAL_CONTENT_FIELDS,
    fields_in="query",
    data_key="commercial_contents",
    pagination="search_id",
    max_count=50,
    default_count=10,
    count_key="max_count",
    item_key=None,
    quota_family="adlib",
    alt_data_keys=(
        "commercial_content",
    ),  # the doc table's spelling of the list (api-notes §12.3.5)
)

ADLIB_ENDPOINTS: dict[str, Endpoint] = {
    e.name: e for e in (AD_QUERY, AD_DETAIL, AD_REPORT, ADVERTISER_QUERY, COMMERCIAL_CONTENT_QUERY)
}
ADLIB_BY_PATH: dict[str, Endpoint] = {e.path: e for e in ADLIB_ENDPOINTS.values()}

#: The earliest day of both libraries: a range's `min` must not be before it (api-notes §12.2,
#: §12.4).
#: The docs say "after 2022-10-01"; minet's default `--min-date` is 20221001 itself, so the day is
#: taken as allowed.
ADLIB_EARLIEST = "20221001"
#: Most days (both ends counted) of the `min`..`max` range of one request. No TikTok page states a
#: limit; 2026
#: third-party notes say a range may span at most one year (api-notes §12.2 CONFLICT, UNVERIFIED),
#: so a
#: longer range is split into year-long ranges (one search each): this works under either rule.
ADLIB_MAX_RANGE_DAYS = 365
#: Ads stay searchable for about a year after they were last shown (api-notes §12.4; third-party
#: notes,
#: UNVERIFIED): a range that starts longer ago than this may miss ads that ran then.
ADLIB_RETENTION_DAYS = 365
ADLIB_SEARCH_TERM_MAX = 50  # characters of `search_term` (api-notes §12.2, §12.3.4)
ADLIB_SEARCH_TYPES: tuple[str, ...] = ("exact_phrase", "fuzzy_phrase")  # api-notes §12.2

#: Countries the libraries cover (api-notes §12.4): the 27 EU member states, then Iceland,
#: Liechtenstein and Norway (the EEA).
EEA_COUNTRIES: tuple[str, ...] = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    "IS", "LI", "NO",
)  # fmt: skip
#: Ad targeting countries: the EEA plus the UK and Switzerland, which the 2024 supported-countries
#: page lists under "continental Europe" (ad coverage is a CONFLICT in api-notes §12.4; commercial
#: content is EEA only, the page says: not the UK, not Switzerland).
AD_COUNTRIES: tuple[str, ...] = (*EEA_COUNTRIES, "GB", "CH")
COMMERCIAL_CONTENT_COUNTRIES: tuple[str, ...] = EEA_COUNTRIES
ALL_COUNTRIES = "ALL"  # the documented default of every country filter

#: Spellings of the ad query's country filter (api-notes §12.3.1 CONFLICT): `country_code` (a
#: string;
#: the 2024 table and the newest, 2026 zh-Hans, Getting Started example: the one sent),
#: `country_code_list` (a list; 2026 third-party code citing the English table), `country` (the
#: 2024 Getting Started example).
AD_COUNTRY_KEYS: tuple[str, ...] = ("country_code", "country_code_list", "country")

#: Commercial-content labels: the doc example answers text; minet's constants map the codes "1"
#: and "2" (api-notes §12.3.5): both are read, text is kept.
CONTENT_LABELS: dict[str, str] = {"1": "Paid partnership", "2": "Promotional content"}


def endpoint_named(name: str) -> Endpoint | ValidationEndpoint | None:
    """The data endpoint (of the Research API or the ad library) or batch compliance endpoint
    called ``name``, or None for an unknown name."""
    return ENDPOINTS.get(name) or ADLIB_ENDPOINTS.get(name) or VALIDATION_ENDPOINTS.get(name)


def quota_family(name: str) -> QuotaFamily:
    """The daily quota an endpoint's requests count against (``research``, ``social``, or
    ``adlib``: the ad library's own count, with no documented limit).

    The registry says it (``Endpoint.quota_family``); a name it does not know (a ledger written by
    another version) counts as ``research``, the scarcer quota, so that what is left is never
    overstated.

    Example:
        >>> quota_family("followers"), quota_family("validation_create"), quota_family("ad_query")
        ('social', 'research', 'adlib')
    """
    found = endpoint_named(name)
    return found.quota_family if found is not None else "research"
