"""Plans of the Commercial Content API's collections (api-notes §12): checked once, turned into
tasks.

The same :class:`~tiktok_research.plan.Plan` as the Research API's collections, run by the same
engine (:mod:`tiktok_research.collect`): an archive, resume, a lock, retries, budgets, progress, a
dry run (``print(plan)``) and a report. Every mistake is caught here, before any request
(:mod:`tiktok_research._adlib_checks` holds the rules).

* ads, ad reports and commercial content: one task per year-long range (newest first) and per
  country (the ad query's country filter is one code per request, ``country_code``);
  commercial content also per batch of at most :data:`USERNAME_BATCH` creator usernames;
* ad details: one task per ad id; advertisers: one task per search term.

Example:
    >>> from datetime import date
    >>> plan = plan_ads("2023-01-01", "2024-06-30", countries=["FR", "DE"],
    ...                 today=date(2024, 7, 1), warn=False)
    >>> [t.key for t in plan.tasks]
    ['FR:20240101-20240630', 'DE:20240101-20240630', 'FR:20230101-20231231', 'DE:20230101-20231231']
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from . import _adlib_checks as checks
from ._checks import (
    ItemsLike,
    check_fields,
    check_max_total,
    clean_ids,
    clean_usernames,
    format_date,
    read_items,
)
from ._endpoints import (
    AD_DETAIL,
    AD_QUERY,
    AD_REPORT,
    ADVERTISER_QUERY,
    ALL_COUNTRIES,
    COMMERCIAL_CONTENT_QUERY,
    Endpoint,
)
from .client import Client, check_client
from .errors import AdLibraryWarning, InvalidRequestError
from .plan import Plan, TaskSpec

__all__ = [
    "USERNAME_BATCH",
    "plan_ad_details",
    "plan_ad_report",
    "plan_ads",
    "plan_advertisers",
    "plan_commercial_content",
]

#: Creator usernames per commercial-content request. No limit is documented; 100 keeps one
#: request's body small and is the package's batch size elsewhere (``video_id IN``).
USERNAME_BATCH = 100


def _today(client: Client | None, today: date | None) -> date:
    if today is not None:
        return today
    if client is not None:
        return client.today()
    return datetime.now(UTC).date()


def _quota_left(client: Client | None) -> int | None:
    if client is None:
        return None
    try:
        return client.quota_left("adlib")
    except Exception:  # the ledger is advisory: never fail a plan on it
        return None


def _page_size(ep: Endpoint, max_count: Any) -> int:
    assert ep.max_count is not None
    if max_count is None:
        return ep.max_count
    if isinstance(max_count, bool) or not isinstance(max_count, int):
        raise InvalidRequestError(f"max_count must be a whole number, got {max_count!r}")
    if not 1 <= max_count <= ep.max_count:
        raise InvalidRequestError(
            f"max_count must be between 1 and {ep.max_count} (the documented maximum), "
            f"got {max_count}"
        )
    return max_count


def _issue(plan: Plan, warn: bool) -> Plan:
    """Issue the plan's notes as warnings that point at the user's line (the first frame outside
    the package: ``plan_ads`` called directly, or through ``fetch_ads``)."""
    if warn:
        level, frame = 1, sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
            level, frame = level + 1, frame.f_back  # type: ignore[assignment]
        for note in plan.notes:
            warnings.warn(f"{plan.kind}: {note}", AdLibraryWarning, stacklevel=level + 1)
    return plan


_PACKAGE = str(Path(__file__).parent)  # as the frames name their files (not resolved)


def plan_ads(
    start_date: date | datetime | str,
    end_date: date | datetime | str,
    *,
    countries: str | Sequence[str] | None = None,
    search_term: str | None = None,
    search_type: str | None = None,
    advertiser_ids: ItemsLike | None = None,
    reach: tuple[str | None, str | None] | None = None,
    fields: Sequence[str] | str | None = None,
    max_count: int | None = None,
    max_total: int | None = None,
    client: Client | None = None,
    today: date | None = None,
    warn: bool = True,
) -> Plan:
    """Plan an ad search (Query Ads, api-notes §12.3.1): ads first shown in ``[start_date,
    end_date]``.

    Args:
        start_date: First day (2022-10-01 or later).
        end_date: Last day (inclusive; a day in the future is clipped to today).
        countries: Countries the ads were shown in: ``"ALL"`` (the default), a code or a list.
        search_term: Free text (at most 50 characters) matched by the library.
        search_type: ``"exact_phrase"`` (default) or ``"fuzzy_phrase"``.
        advertiser_ids: Advertiser business ids (the service ignores them with a search term,
            so both together are refused).
        reach: ``(min, max)`` unique users seen, in the library's sizes (``("10K", "1M")``).
        fields: Dotted fields (default: all of the ad query).
        max_count: Ads per request (default 50, the documented maximum).
        max_total: Stop each search once it holds this many ads, and keep the newest this many
            in all.
        client: The client that will run it (its clock and ledger).
        today: Today (UTC); default: the client's clock, else the computer's.
        warn: Issue the plan's notes as warnings.
    """
    client = check_client(client)
    day = _today(client, today)
    first, last, notes = checks.check_published_range(start_date, end_date, today=day, ads=True)
    codes = checks.check_countries(countries, content=False)
    term = checks.check_search_term(search_term, required=False)
    kind = checks.check_search_type(search_type) if search_type is not None else None
    ids = checks.check_business_ids(advertiser_ids)
    if term is not None and ids is not None:
        raise InvalidRequestError(
            "give search_term or advertiser_ids, not both: the library ignores advertiser_ids "
            "when a search term is given (TikTok's documentation), so the search would not be "
            "the one you asked for"
        )
    size_range = checks.check_size_range(reach)
    field_list = check_fields(AD_QUERY, fields)
    size = _page_size(AD_QUERY, max_count)
    limit = check_max_total(max_total)
    extra: dict[str, Any] = {}
    if ids is not None:
        extra["advertiser_business_ids"] = ids
    if size_range is not None:
        extra["unique_users_seen_size_range"] = size_range
    body: dict[str, Any] = {}
    if term is not None:
        body["search_term"] = term
    if kind is not None:
        body["search_type"] = kind
    tasks = []
    for s, e in checks.split_range(first, last):
        for country in codes:
            filters: dict[str, Any] = {"ad_published_date_range": checks.date_range(s, e)}
            if country != ALL_COUNTRIES:
                # `country_code` (a string) per the newest docs; api-notes §12.3.1 lists two other
                # spellings that the sandbox can be set to require (AdlibConfig.country_keys)
                filters["country_code"] = country
            filters.update(extra)
            tasks.append(TaskSpec(key=f"{country}:{format_date(s)}-{format_date(e)}", item=None,
                                  params={"filters": filters, **body}))  # fmt: skip
    spec = {
        "start_date": format_date(first), "end_date": format_date(last), "countries": codes,
        "search_term": term, "search_type": kind, "advertiser_ids": ids, "reach": size_range,
        "fields": None if fields is None else field_list, "max_count": size, "max_total": limit,
    }  # fmt: skip
    plan = Plan(
        endpoint=AD_QUERY.name, kind="ads", table=AD_QUERY.table, spec=spec, tasks=tasks,
        fields=field_list, page_size=size, max_total=limit, start_date=first, end_date=last,
        notes=notes, min_requests=0 if limit == 0 else len(tasks),
        max_note=f"more when a search holds more than one page ({size} ads a page)",
        quota_remaining=_quota_left(client),
    )  # fmt: skip
    return _issue(plan, warn)


def plan_ad_report(
    start_date: date | datetime | str,
    end_date: date | datetime | str,
    *,
    countries: str | Sequence[str] | None = None,
    advertiser_ids: ItemsLike | None = None,
    client: Client | None = None,
    today: date | None = None,
    warn: bool = True,
) -> Plan:
    """Plan an ad report (Get Ad Report, api-notes §12.3.3): ads published per day and country.

    One request per year-long range and per country (``"ALL"``, the default, answers every
    country at once).
    """
    client = check_client(client)
    day = _today(client, today)
    first, last, notes = checks.check_published_range(start_date, end_date, today=day, ads=True)
    codes = checks.check_countries(countries, content=False)
    ids = checks.check_business_ids(advertiser_ids)
    tasks = []
    for s, e in checks.split_range(first, last):
        for country in codes:
            filters: dict[str, Any] = {"ad_published_date_range": checks.date_range(s, e)}
            if country != ALL_COUNTRIES:
                filters["country_code"] = country
            if ids is not None:
                filters["advertiser_business_ids"] = ids
            tasks.append(TaskSpec(key=f"{country}:{format_date(s)}-{format_date(e)}", item=None,
                                  params={"filters": filters}))  # fmt: skip
    spec = {"start_date": format_date(first), "end_date": format_date(last),
            "countries": codes, "advertiser_ids": ids}  # fmt: skip
    plan = Plan(
        endpoint=AD_REPORT.name, kind="ad_reports", table=AD_REPORT.table, spec=spec,
        tasks=tasks, fields=list(AD_REPORT.fields), page_size=None, start_date=first,
        end_date=last, notes=notes, min_requests=len(tasks),
        max_note="one request per year-long range and country (no pages)",
        quota_remaining=_quota_left(client),
    )  # fmt: skip
    return _issue(plan, warn)


def plan_commercial_content(
    start_date: date | datetime | str,
    end_date: date | datetime | str,
    *,
    countries: str | Sequence[str] | None = None,
    usernames: ItemsLike | None = None,
    fields: Sequence[str] | str | None = None,
    max_count: int | None = None,
    max_total: int | None = None,
    client: Client | None = None,
    today: date | None = None,
    warn: bool = True,
) -> Plan:
    """Plan a commercial-content search (api-notes §12.3.5): content published in the range by
    creators in the EEA (all of them, some countries, or some creators)."""
    client = check_client(client)
    day = _today(client, today)
    first, last, notes = checks.check_published_range(start_date, end_date, today=day, ads=False)
    codes = checks.check_countries(countries, content=True)
    names: list[str] | None = None
    if usernames is not None:
        raw = read_items(usernames, ("creator_username", "username"), "usernames",
                     "fetch_commercial_content")  # fmt: skip
        names = list(dict.fromkeys(clean_usernames(raw, what="usernames")))
    field_list = check_fields(COMMERCIAL_CONTENT_QUERY, fields)
    size = _page_size(COMMERCIAL_CONTENT_QUERY, max_count)
    limit = check_max_total(max_total)
    batches = (
        [names[k : k + USERNAME_BATCH] for k in range(0, len(names), USERNAME_BATCH)]
        if names
        else [None]
    )
    tasks = []
    for s, e in checks.split_range(first, last):
        for country in codes:
            for k, batch in enumerate(batches):
                filters: dict[str, Any] = {"content_published_date_range": checks.date_range(s, e)}
                if country != ALL_COUNTRIES:
                    filters["creator_country_code"] = country
                if batch is not None:
                    filters["creator_usernames"] = batch
                suffix = f":users{k + 1}" if len(batches) > 1 else ""
                key = f"{country}:{format_date(s)}-{format_date(e)}{suffix}"
                tasks.append(TaskSpec(key=key, item=None, params={"filters": filters}))
    spec = {
        "start_date": format_date(first), "end_date": format_date(last), "countries": codes,
        "usernames": names, "fields": None if fields is None else field_list, "max_count": size,
        "max_total": limit,
    }  # fmt: skip
    plan = Plan(
        endpoint=COMMERCIAL_CONTENT_QUERY.name, kind="commercial_content",
        table=COMMERCIAL_CONTENT_QUERY.table, spec=spec, tasks=tasks, fields=field_list,
        page_size=size, max_total=limit, start_date=first, end_date=last, notes=notes,
        min_requests=0 if limit == 0 else len(tasks),
        max_note=f"more when a search holds more than one page ({size} a page)",
        quota_remaining=_quota_left(client),
    )  # fmt: skip
    return _issue(plan, warn)


def plan_ad_details(
    ad_ids: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    client: Client | None = None,
    warn: bool = True,
) -> Plan:
    """Plan the details of ads (Get Ad Details, api-notes §12.3.2): one request per ad id.

    ``ad_ids``: a list, a Series, or a table with an ``ad_id`` column (an ``ads`` table).
    """
    client = check_client(client)
    raw = read_items(ad_ids, ("ad_id",), "ad ids", "fetch_ad_details")
    ids = list(dict.fromkeys(clean_ids(raw, what="fetch_ad_details: ad ids")))
    field_list = check_fields(AD_DETAIL, fields)
    tasks = [TaskSpec(key=f"ad_id:{i}", item=str(i), params={"ad_id": i}) for i in ids]
    plan = Plan(
        endpoint=AD_DETAIL.name, kind="ad_details", table=AD_DETAIL.table,
        spec={"ad_ids": [str(i) for i in ids], "fields": None if fields is None else field_list},
        tasks=tasks, fields=field_list, page_size=None, item_key="ad_id",
        min_requests=len(tasks), max_note="one request per ad",
        quota_remaining=_quota_left(client),
    )  # fmt: skip
    return _issue(plan, warn)


def plan_advertisers(
    search_terms: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    max_count: int | None = None,
    client: Client | None = None,
    warn: bool = True,
) -> Plan:
    """Plan an advertiser search (Query Advertisers, api-notes §12.3.4): one request per term, at
    most
    ``max_count`` advertisers each (no pages are documented)."""
    client = check_client(client)
    raw = read_items(search_terms, ("search_term", "business_name"), "search terms",
                 "fetch_advertisers")  # fmt: skip
    terms: list[str] = []
    for value in raw:
        term = checks.check_search_term(value, required=True)
        assert term is not None
        terms.append(term)
    terms = list(dict.fromkeys(terms))
    field_list = check_fields(ADVERTISER_QUERY, fields)
    size = _page_size(ADVERTISER_QUERY, max_count)
    tasks = [TaskSpec(key=f"search_term:{t}", item=t, params={"search_term": t}) for t in terms]
    plan = Plan(
        endpoint=ADVERTISER_QUERY.name, kind="advertisers", table=ADVERTISER_QUERY.table,
        spec={"search_terms": terms, "fields": None if fields is None else field_list,
              "max_count": size},
        tasks=tasks, fields=field_list, page_size=size, item_key="search_term",
        min_requests=len(tasks),
        max_note=f"one request per term; at most {size} advertisers each",
        quota_remaining=_quota_left(client),
    )  # fmt: skip
    return _issue(plan, warn)
