"""The Commercial Content API's filters, checked before any request (api-notes §12): one home.

Every mistake raises :class:`~tiktok_research.errors.InvalidRequestError` naming the problem and
the fix, and costs nothing. What the checks assume where the documentation is unsure (each also
said where the value is defined, in :mod:`tiktok_research._endpoints`):

* a published-date range is required; its first day may be 2022-10-01 or later
  (``ADLIB_EARLIEST``); a first day in the future is refused, a last day in the future is clipped
  to today (no request is spent on days that have not happened);
* a range longer than a year is split into year-long ranges (``ADLIB_MAX_RANGE_DAYS``), each its
  own search, so that a one-year limit (third-party notes) is never crossed;
* ads are searchable for about a year after they were last shown (``ADLIB_RETENTION_DAYS``,
  UNVERIFIED): a range that starts earlier gets a note saying that older ads may be missing;
* countries: ``ALL`` or codes of :data:`~tiktok_research._endpoints.AD_COUNTRIES` (ads: the EEA,
  the UK and Switzerland) or of ``COMMERCIAL_CONTENT_COUNTRIES`` (creators: the EEA only); the
  ad query's country goes out as ``country_code``, a string, so several countries are asked one
  at a time;
* ``search_term`` at most 50 characters, ``search_type`` ``exact_phrase`` or ``fuzzy_phrase``, a
  reach range in the library's bucket syntax (``"120K"``, ``"2M"``: a whole number below 1000 and
  K, M or B), business and ad ids exact int64, creator usernames by the package's one rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from ._checks import check_day, clean_ids, format_date, parse_date
from ._endpoints import (
    AD_COUNTRIES,
    AD_DETAIL,
    AD_QUERY,
    AD_REPORT,
    ADLIB_EARLIEST,
    ADLIB_MAX_RANGE_DAYS,
    ADLIB_RETENTION_DAYS,
    ADLIB_SEARCH_TERM_MAX,
    ADLIB_SEARCH_TYPES,
    ADVERTISER_QUERY,
    ALL_COUNTRIES,
    COMMERCIAL_CONTENT_COUNTRIES,
    COMMERCIAL_CONTENT_QUERY,
    EEA_COUNTRIES,
    Endpoint,
)
from ._windows import split_windows
from .errors import InvalidRequestError

__all__ = [
    "EARLIEST",
    "check_business_ids",
    "check_countries",
    "check_pages_params",
    "check_published_range",
    "check_search_term",
    "check_search_type",
    "check_size_range",
    "date_range",
    "split_range",
]

EARLIEST = parse_date(ADLIB_EARLIEST)
_SIZE = re.compile(r"^(\d{1,3})([KMB])$")


def _day(value: Any, what: str) -> date:
    try:
        return check_day(value, what)
    except InvalidRequestError as e:
        if value is None:
            raise
        raise InvalidRequestError(f"{what}: {e.message}") from None


def check_published_range(
    start: Any, end: Any, *, today: date, ads: bool
) -> tuple[date, date, list[str]]:
    """The published-date range of an ad or commercial-content search, and its notes.

    Args:
        start: First day (a date, ``"YYYYMMDD"`` or ``"YYYY-MM-DD"``).
        end: Last day (inclusive).
        today: Today (UTC) on the client's clock.
        ads: The range is of ads (the retention note applies), else of commercial content.

    Returns:
        ``(start, end, notes)``: ``end`` clipped to today, notes for the plan.

    Raises:
        InvalidRequestError: a missing, reversed or unreadable range, a start before 2022-10-01
            or in the future.

    Example:
        >>> check_published_range("2024-01-01", "20240131", today=date(2024, 6, 1), ads=True)[:2]
        (datetime.date(2024, 1, 1), datetime.date(2024, 1, 31))
    """
    first = _day(start, "start_date")
    last = _day(end, "end_date")
    if last < first:
        raise InvalidRequestError(
            f"the date range is reversed: start_date {first.isoformat()} is after end_date "
            f"{last.isoformat()}; swap them"
        )
    if first < EARLIEST:
        raise InvalidRequestError(
            f"start_date {first.isoformat()} is before {EARLIEST.isoformat()}, the first day of "
            "TikTok's ad library: give a start_date on or after it (nothing was sent)"
        )
    if first > today:
        raise InvalidRequestError(
            f"start_date {first.isoformat()} is in the future (today is {today.isoformat()} "
            "UTC): there is nothing to collect yet"
        )
    notes: list[str] = []
    if last > today:
        notes.append(
            f"end_date {last.isoformat()} is in the future; the range was clipped to today, "
            f"{today.isoformat()} (UTC)"
        )
        last = today
    kept_from = today - timedelta(days=ADLIB_RETENTION_DAYS)
    if ads and first < kept_from:
        notes.append(
            f"ads stay searchable for about a year after they were last shown (reported by "
            f"users; TikTok does not document it): ads that stopped running before "
            f"{kept_from.isoformat()} may be missing from the results, and may drop out between "
            "two runs of the same search"
        )
    return first, last, notes


def split_range(first: date, last: date) -> list[tuple[date, date]]:
    """``[first, last]`` as year-long ranges (``ADLIB_MAX_RANGE_DAYS``), newest first.

    Example:
        >>> [(a.isoformat(), b.isoformat()) for a, b in
        ...  split_range(date(2023, 1, 1), date(2024, 6, 30))]
        [('2024-01-01', '2024-06-30'), ('2023-01-01', '2023-12-31')]
    """
    windows = split_windows(first, last, ADLIB_MAX_RANGE_DAYS - 1)
    windows.reverse()
    return windows


def date_range(first: date, last: date) -> dict[str, str]:
    """A ``DateRange`` as sent: ``{"min": "YYYYMMDD", "max": "YYYYMMDD"}`` (strings, as the
    documentation types them; the docs' tables also show numbers, which the service reads too)."""
    return {"min": format_date(first), "max": format_date(last)}


def check_countries(value: Any, *, content: bool) -> list[str]:
    """Country codes to search, upper-cased and de-duplicated; ``["ALL"]`` by default.

    Args:
        value: None, ``"ALL"``, one code, or a list of codes.
        content: Creator countries of commercial content (EEA only), else ad countries.

    Raises:
        InvalidRequestError: naming the codes the library does not cover.

    Example:
        >>> check_countries(["fr", "DE", "FR"], content=False)
        ['FR', 'DE']
    """
    if value is None:
        return [ALL_COUNTRIES]
    raw = [value] if isinstance(value, str) else value
    if not isinstance(raw, Iterable) or isinstance(raw, (bytes, dict)):
        raise InvalidRequestError(
            f"countries must be a country code such as 'FR', a list of them, or 'ALL'; "
            f"got {value!r:.80}"
        )
    codes: list[str] = []
    for item in raw:
        if not isinstance(item, str) or not item.strip():
            raise InvalidRequestError(f"countries: {item!r:.40} is not a country code")
        codes.append(item.strip().upper())
    if not codes:
        raise InvalidRequestError("countries is empty; leave it out (or 'ALL') for every country")
    codes = list(dict.fromkeys(codes))
    if ALL_COUNTRIES in codes:
        if len(codes) > 1:
            raise InvalidRequestError(
                "countries: 'ALL' already means every country; give it alone or list codes"
            )
        return codes
    supported = COMMERCIAL_CONTENT_COUNTRIES if content else AD_COUNTRIES
    bad = [c for c in codes if c not in supported]
    if bad:
        what = (
            "commercial content covers creators in the EEA only (TikTok's page: not the UK, "
            "not Switzerland)"
            if content
            else "the ad library covers ads shown in the EEA, the UK and Switzerland"
        )
        hint = ""
        if "UK" in bad or "EL" in bad:
            hint = " (ISO codes: the UK is GB, Greece is GR)"
        raise InvalidRequestError(
            f"countries: {', '.join(bad)} not covered: {what}{hint}. Use 'ALL' or codes among "
            f"{', '.join(supported)}"
        )
    return codes


def check_search_term(value: Any, *, required: bool, what: str = "search_term") -> str | None:
    """A free-text term of at most 50 characters (api-notes §12.2), stripped; None when absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidRequestError(f"{what} is required: give the text to search for")
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"{what} must be text, got {value!r:.60}")
    text = value.strip()
    if len(text) > ADLIB_SEARCH_TERM_MAX:
        raise InvalidRequestError(
            f"{what} {text[:30]!r}... has {len(text)} characters; the library takes at most "
            f"{ADLIB_SEARCH_TERM_MAX}"
        )
    return text


def check_search_type(value: Any) -> str:
    """``exact_phrase`` (the default: the words in this order) or ``fuzzy_phrase``."""
    if value is None:
        return ADLIB_SEARCH_TYPES[0]
    if value not in ADLIB_SEARCH_TYPES:
        raise InvalidRequestError(
            f"search_type must be {' or '.join(map(repr, ADLIB_SEARCH_TYPES))}, got {value!r:.40}"
        )
    return str(value)


def _size(value: Any, side: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        raise InvalidRequestError(
            f"reach {side}: give the library's size text such as '10K' or '2M', not the number "
            f"{value}"
        )
    text = str(value).strip().upper() if isinstance(value, str) else None
    match = _SIZE.match(text or "")
    if text is None or match is None:
        raise InvalidRequestError(
            f"reach {side}: {value!r:.30} is not a size such as '0K', '120K', '2M' or '1B' "
            "(a whole number below 1000 followed by K, M or B)"
        )
    return text


def _size_value(text: str) -> int:
    match = _SIZE.match(text)
    assert match is not None
    return int(match.group(1)) * {"K": 10**3, "M": 10**6, "B": 10**9}[match.group(2)]


def check_size_range(value: Any) -> dict[str, str] | None:
    """A reach range (``unique_users_seen_size_range``) as sent, or None.

    Accepts ``(min, max)``, ``{"min": ..., "max": ...}``, either side None.

    Example:
        >>> check_size_range(("10k", "1M"))
        {'min': '10K', 'max': '1M'}
    """
    if value is None:
        return None
    if isinstance(value, dict):
        unknown = set(value) - {"min", "max"}
        if unknown:
            raise InvalidRequestError(f"reach: unknown key(s) {sorted(unknown)}; use min and max")
        low, high = value.get("min"), value.get("max")
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        low, high = value
    else:
        raise InvalidRequestError(
            f"reach must be (min, max) such as ('10K', '1M'), got {value!r:.60}"
        )
    lo, hi = _size(low, "min"), _size(high, "max")
    if lo is None and hi is None:
        raise InvalidRequestError("reach: give min, max or both")
    if hi is not None and _size_value(hi) == 0:
        raise InvalidRequestError("reach max must be above 0 ('0K' is only a min)")
    if lo is not None and hi is not None and _size_value(hi) < _size_value(lo):
        raise InvalidRequestError(f"reach: max {hi} is below min {lo}")
    out = {}
    if lo is not None:
        out["min"] = lo
    if hi is not None:
        out["max"] = hi
    return out


def check_business_ids(values: Any) -> list[int] | None:
    """Advertiser business ids as exact ints (None for none)."""
    if values is None:
        return None
    raw = [values] if isinstance(values, (int, str)) else list(values)
    if not raw:
        raise InvalidRequestError("advertiser_ids is empty; leave it out for every advertiser")
    return list(dict.fromkeys(clean_ids(raw, what="advertiser_ids")))


# ------------------------------------------------------------------ client.pages() on adlib


def _check_filters_object(filters: Any, range_key: str, allowed: Sequence[str]) -> None:
    if not isinstance(filters, dict):
        raise InvalidRequestError(f"filters must be a dict with {range_key}, got {filters!r:.60}")
    unknown = sorted(set(filters) - set(allowed))
    if unknown:
        raise InvalidRequestError(
            f"filters: unknown key(s) {', '.join(unknown)}; the filters are {', '.join(allowed)}"
        )
    rng = filters.get(range_key)
    if not isinstance(rng, dict) or "min" not in rng or "max" not in rng:
        raise InvalidRequestError(
            f"filters.{range_key} is required: {{'min': 'YYYYMMDD', 'max': 'YYYYMMDD'}}"
        )
    first, last = _day(rng["min"], f"{range_key}.min"), _day(rng["max"], f"{range_key}.max")
    if last < first:
        raise InvalidRequestError(f"filters.{range_key}: max is before min; swap them")
    if first < EARLIEST:
        raise InvalidRequestError(
            f"filters.{range_key}.min is before {EARLIEST.isoformat()}, the library's first day"
        )
    if (last - first).days + 1 > ADLIB_MAX_RANGE_DAYS:
        raise InvalidRequestError(
            f"filters.{range_key} spans more than {ADLIB_MAX_RANGE_DAYS} days; one page sequence "
            "takes at most a year (tr.fetch_ads and tr.fetch_commercial_content split longer "
            "ranges)"
        )


def check_pages_params(ep: Endpoint, params: dict[str, Any]) -> dict[str, Any]:
    """The body keys of one adlib page sequence (``Client.pages``), checked; returned as given.

    Raises:
        InvalidRequestError: a key the endpoint does not take, or a filter mistake.
    """
    ad_filters = ("ad_published_date_range", "country_code", "country_code_list", "country",
                  "advertiser_business_ids", "unique_users_seen_size_range")  # fmt: skip
    allowed_keys: dict[str, tuple[str, ...]] = {
        AD_QUERY.name: ("filters", "search_term", "search_type"),
        AD_REPORT.name: ("filters",),
        AD_DETAIL.name: ("ad_id",),
        ADVERTISER_QUERY.name: ("search_term",),
        COMMERCIAL_CONTENT_QUERY.name: ("filters",),
    }
    allowed = allowed_keys[ep.name]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InvalidRequestError(
            f"{ep.name}: unknown parameter(s) {unknown}; it takes {', '.join(allowed)}",
            endpoint=ep.name,
        )
    if ep.name in (AD_QUERY.name, AD_REPORT.name):
        keys = ad_filters if ep.name == AD_QUERY.name else ad_filters[:-1]
        _check_filters_object(params.get("filters"), "ad_published_date_range", keys)
        for key in ("country_code", "country"):
            if key in params["filters"]:
                check_countries(params["filters"][key], content=False)
        if "country_code_list" in params["filters"]:
            check_countries(params["filters"]["country_code_list"], content=False)
        if "unique_users_seen_size_range" in params["filters"]:
            check_size_range(params["filters"]["unique_users_seen_size_range"])
        check_business_ids(params["filters"].get("advertiser_business_ids"))
    if ep.name == AD_QUERY.name:
        check_search_term(params.get("search_term"), required=False)
        if "search_type" in params:
            check_search_type(params["search_type"])
    if ep.name == COMMERCIAL_CONTENT_QUERY.name:
        _check_filters_object(
            params.get("filters"),
            "content_published_date_range",
            ("content_published_date_range", "creator_country_code", "creator_usernames"),
        )
        if "creator_country_code" in params["filters"]:
            check_countries(params["filters"]["creator_country_code"], content=True)
    if ep.name == ADVERTISER_QUERY.name:
        check_search_term(params.get("search_term"), required=True)
    if ep.name == AD_DETAIL.name:
        if params.get("ad_id") is None:
            raise InvalidRequestError("ad_detail: ad_id is required", endpoint=ep.name)
        return {"ad_id": clean_ids([params["ad_id"]], what="ad_id")[0]}
    return dict(params)


assert set(COMMERCIAL_CONTENT_COUNTRIES) <= set(AD_COUNTRIES) and len(EEA_COUNTRIES) == 30
