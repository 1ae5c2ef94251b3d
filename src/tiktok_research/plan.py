"""Plan a collection: validate a call once, before any request, and turn it into tasks.

Everything a ``fetch_*`` call is given is checked here, before any request, with the rules of
:mod:`tiktok_research._checks` (the query, the dates, the fields, the items: usernames and ids,
one cleaning rule each, ``max_total``, the archive). Mistakes raise
:class:`~tiktok_research.errors.InvalidRequestError` naming the problem and the fix, and cost
nothing. A valid call becomes a :class:`Plan`: the tasks (date windows of a video query, or one
task per item of a fan-out), the fields, the page size, the row limit, and what the run costs at
least. ``print(plan)`` is a dry run; no plan needs credentials or a token.

Example:
    >>> import tiktok_research as tr
    >>> plan = tr.plan_videos(tr.Q.hashtag_name.eq("climate"), "2024-01-01", "2024-03-31")
    >>> [t.key for t in plan.tasks]  # newest window first, as the service orders its results
    ['20240303-20240331', '20240201-20240302', '20240101-20240131']
    >>> plan.min_requests
    3
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from ._checks import (
    ItemsLike,
    check_day,
    check_fields,
    check_flag,
    check_max_total,
    check_range,
    clean_ids,
    clean_usernames,
    format_date,
    has_id_time,
    id_time,
    read_items,
    show,
    unique,
)
from ._endpoints import (
    ADLIB_ENDPOINTS,
    ENDPOINTS,
    VALIDATION_CATEGORIES,
    VALIDATION_ENDPOINTS,
    VALIDATION_MAX_IDS,
    Endpoint,
    quota_family,
)
from ._windows import NOT_INDEXED_DAYS, split_windows, window_body, window_days
from .client import Client, check_client
from .errors import InvalidRequestError, NotYetIndexedWarning, QuotaWarning, warn_user
from .query import Query, QueryLike, as_query

__all__ = [
    "KINDS",
    "Plan",
    "TaskSpec",
    "plan_compliance",
    "plan_items",
    "plan_video_ids",
    "plan_videos",
]


@dataclass(frozen=True)
class _Kind:
    """A fan-out collection: which endpoint, which body key, which columns items come from."""

    endpoint: str
    item_key: str  # body key of the item
    columns: tuple[str, ...]  # DataFrame columns items are taken from, in order of preference
    ids: bool  # items are numeric ids (else names)
    what: str  # how items are called in messages

    @property
    def one(self) -> str:
        """What one item stands for, in a report ("1 account failed")."""
        return _ONE[self.item_key]


#: What an item of each body key stands for.
_ONE = {"username": "account", "video_id": "video", "comment_id": "comment",
        "playlist_id": "playlist", "shop_name": "shop", "shop_id": "shop",
        "product_id": "product"}  # fmt: skip


#: The fan-out collections, by the name of the table they make (``replies`` makes comments).
KINDS: dict[str, _Kind] = {
    "users": _Kind("user_info", "username", ("username", "source_username"), False, "usernames"),
    "comments": _Kind("comments", "video_id", ("video_id", "id"), True, "video ids"),
    "replies": _Kind("comments", "comment_id", ("id", "comment_id"), True, "comment ids"),
    "liked_videos": _Kind("liked_videos", "username", ("username", "source_username"), False,
                          "usernames"),
    "pinned_videos": _Kind("pinned_videos", "username", ("username", "source_username"), False,
                           "usernames"),
    "reposted_videos": _Kind("reposted_videos", "username", ("username", "source_username"),
                             False, "usernames"),
    "followers": _Kind("followers", "username", ("username", "source_username"), False,
                       "usernames"),
    "following": _Kind("following", "username", ("username", "source_username"), False,
                       "usernames"),
    "playlists": _Kind("playlist_info", "playlist_id", ("playlist_id",), True, "playlist ids"),
    "shops": _Kind("tts_shop", "shop_name", ("shop_name",), False, "shop names"),
    "products": _Kind("tts_product", "shop_id", ("shop_id",), True, "shop ids"),
    "reviews": _Kind("tts_review", "product_id", ("product_id",), True, "product ids"),
}  # fmt: skip


# ------------------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class TaskSpec:
    """One unit of work: a date window of a video query, or one item of a fan-out.

    Attributes:
        key: Stable identifier within the collection (``"20240101-20240131"``,
            ``"username:alice"``); the journal records progress under it.
        item: The item as sent (None for windows); named in the failures table.
        params: The request body keys of the task's page sequence.
        window: ``(first day, last day)`` of a video-query window (inclusive), else None.
    """

    key: str
    item: str | None
    params: dict[str, Any]
    window: tuple[date, date] | None = None


@dataclass
class Plan:
    """What a collection will do and cost at least, validated; nothing sent.

    Attributes:
        endpoint: Endpoint name.
        kind: The collection's name (``"videos"``, ``"comments"``, ``"replies"``, ``"users"``...):
            its folder prefix in the archive and its label in reports and progress bars.
        table: The table it makes.
        spec: What identifies the collection in an archive.
        tasks: The tasks, in order (newest window first for a video query).
        fields: Fields asked for (None for endpoints without a fields parameter).
        page_size: Items asked for per request.
        max_total: Row limit (exact for a video query; per item for a fan-out), or None.
        sequential: Tasks run one after another (a video query with ``max_total``).
        query: The validated video query (None for fan-outs).
        start_date, end_date: The range of a video query (after clipping to today).
        end_date_exclusive: The client treats ``end_date`` as exclusive on the wire.
        is_random: Random results (video query).
        newest_first: The table is ordered newest id first (video queries); otherwise in the order
            of the items given.
        item_key: The body key of a fan-out's items.
        ids: The ids looked up (a look-up by id), in the order given.
        notes: Warnings to carry into the report (dates clipped, days not indexed yet...).
        min_requests: The least number of requests the run costs.
        task_costs: The least number of requests of each task, by key, where it is known (a
            fan-out given a table with the counts); see :meth:`least_requests`.
        quota_remaining: Requests left today for the endpoint's quota family, per the local
            ledger of the client (None without a client or ledger).
    """

    endpoint: str
    kind: str
    table: str
    spec: dict[str, Any]
    tasks: list[TaskSpec]
    fields: list[str] | None
    page_size: int | None
    max_total: int | None = None
    sequential: bool = False
    query: Query | None = None
    start_date: date | None = None
    end_date: date | None = None
    end_date_exclusive: bool = False
    is_random: bool = False
    newest_first: bool = False
    item_key: str | None = None
    ids: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    min_requests: int = 0
    max_note: str | None = None
    quota_remaining: int | None = None
    task_costs: dict[str, int] = field(default_factory=dict)

    @property
    def ep(self) -> Endpoint:
        """The endpoint (a data endpoint; see :attr:`task_endpoint` for compliance tasks)."""
        return ENDPOINTS.get(self.endpoint) or ADLIB_ENDPOINTS[self.endpoint]

    @property
    def quota_family(self) -> str:
        """The quota family the run spends (the endpoint registry says it)."""
        return quota_family(self.endpoint)

    def fields_param(self) -> dict[str, str]:
        """The query-string parameters of every request."""
        if self.ep.fields_in == "query" and self.fields:
            return {"fields": ",".join(self.fields)}
        return {}

    def least_requests(self, tasks: Sequence[TaskSpec]) -> int:
        """The least number of requests ``tasks`` (some of this plan's) cost: what a run that
        holds the other tasks already will really send at least."""
        if not self.tasks:
            return 0
        each = self.min_requests / len(self.tasks)
        return sum(self.task_costs.get(t.key, 0) for t in tasks if t.key in self.task_costs) + (
            math.ceil(each * sum(1 for t in tasks if t.key not in self.task_costs))
        )

    def over_quota(self) -> bool:
        """True when the run needs more requests than the ledger says are left today."""
        return self.quota_remaining is not None and self.min_requests > self.quota_remaining

    def __str__(self) -> str:
        lines: list[str] = []
        n = len(self.tasks)
        if self.endpoint == "validation_create":
            ids = sum(len(t.params.get("ids") or []) for t in self.tasks)
            lines.append(
                f"{self.kind}: {ids:,} id(s) in {n} task(s) of at most {VALIDATION_MAX_IDS:,}"
            )
        elif self.endpoint in ADLIB_ENDPOINTS:  # the ad library: searches or items
            lines.append(f"{self.kind} ({self.endpoint}, the ad library): {n} request sequence(s)")
            shown = self.tasks if n <= 8 else self.tasks[:4] + self.tasks[-3:]
            for i, t in enumerate(shown):
                if n > 8 and i == 4:
                    lines.append(f"    ... {n - 7} more")
                lines.append(f"    {t.key}")
        elif self.query is None and self.start_date is not None:
            lines.append(f"{self.kind} ({self.endpoint}): {len(self.tasks)} request(s) by id")
            for t in self.tasks[:5]:
                assert t.window is not None
                lines.append(
                    f"    {t.window[0].isoformat()} .. {t.window[1].isoformat()}: "
                    f"{len(t.params['query']['and'][0]['field_values'])} id(s)"
                )
            if n > 5:
                lines.append(f"    ... {n - 5} more")
        elif self.query is not None:
            assert self.start_date is not None and self.end_date is not None
            lines.append(f"{self.kind} ({self.endpoint}): {self.query}")
            lines.append(
                f"  range {self.start_date.isoformat()} .. {self.end_date.isoformat()} "
                f"(inclusive) -> {n} window(s) of at most "
                f"{window_days(self.end_date_exclusive) + 1} days"
                + (", newest first, one after another" if self.sequential else "")
                + ":"
            )
            shown = self.tasks if n <= 8 else self.tasks[:4] + self.tasks[-3:]
            for i, t in enumerate(shown):
                if n > 8 and i == 4:
                    lines.append(f"    ... {n - 7} more")
                assert t.window is not None
                lines.append(f"    {t.window[0].isoformat()} .. {t.window[1].isoformat()}")
        else:
            items = [t.item for t in self.tasks]
            lines.append(f"{self.kind} ({self.endpoint}): {n} item(s): {show(items, 5)}")
        if self.page_size:
            lines.append(f"  {self.page_size} per request")
        if self.fields:
            lines.append(f"  fields: {', '.join(self.fields)}")
        if self.max_total is not None:
            per = "" if self.query is not None else " per item"
            lines.append(f"  stops after {self.max_total:,} rows{per}")
        lines.append(f"  at least {self.min_requests:,} request(s)")
        if self.max_note:
            lines.append(f"  {self.max_note}")
        if self.quota_remaining is not None:
            lines.append(
                f"  {self.quota_remaining:,} requests left today ({self.quota_family} quota, "
                "local ledger)"
            )
            if self.over_quota():
                lines.append(
                    "  WARNING: more than the quota left today: the run will stop when it runs "
                    "out; run the same call again after 00:00 UTC to continue"
                )
        if self.tasks and (self.endpoint in ENDPOINTS or self.endpoint in ADLIB_ENDPOINTS):
            first = self.tasks[0]
            body = dict(first.params)
            if self.page_size and self.ep.count_key:
                body[self.ep.count_key] = self.page_size
            query = "&".join(f"{k}={v}" for k, v in self.fields_param().items())
            lines.append(f"  first request: POST {self.ep.path}" + (f"?{query}" if query else ""))
            lines.append("    " + json.dumps(body, ensure_ascii=False, default=str))
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


def _today(client: Client | None) -> date:
    if client is not None:
        return client.today()
    return datetime.now(UTC).date()


def _quota_left(client: Client | None, family: str) -> int | None:
    if client is None:
        return None
    try:
        return client.quota_left(family)
    except Exception:  # the ledger is advisory: never fail a plan on it
        return None


#: A note of a plan and the warning it is issued as (the note's type, not its text, decides).
_Note = tuple[type[Warning], str]


def _issue(plan: Plan, notes: Sequence[_Note], *, warn: bool) -> None:
    """Record ``notes`` on the plan; with ``warn``, issue them (and the quota warning) as Python
    warnings at the user's line (:func:`tiktok_research.errors.warn_user`)."""
    plan.notes.extend(text for _, text in notes)
    if warn:
        for category, text in notes:
            warn_user(text, category)
        _warn_quota(plan)


#: Set while a ``fetch_*`` function plans: the quota warning is then issued by the run, for the
#: requests it will really send (the tasks an archive does not hold yet), not by the plan.
_QUOTA_BY_RUN: ContextVar[bool] = ContextVar("quota_by_run", default=False)


@contextlib.contextmanager
def quota_checked_by_run() -> Iterator[None]:
    """Plan without the quota warning: the run that follows warns for what it will send."""
    token = _QUOTA_BY_RUN.set(True)
    try:
        yield
    finally:
        _QUOTA_BY_RUN.reset(token)


def _warn_quota(plan: Plan) -> None:
    if _QUOTA_BY_RUN.get():
        return
    if plan.over_quota():
        message = (
            f"{plan.kind}: this run needs at least {plan.min_requests:,} requests but the local "
            f"ledger shows {plan.quota_remaining:,} left today ({plan.quota_family} quota): "
            "it will stop when the quota runs out; run the same call again after 00:00 UTC to "
            "continue"
        )
        plan.notes.append(message)
        warn_user(message, QuotaWarning)


def refresh_quota(plan: Plan, client: Client) -> None:
    """Fill ``plan.quota_remaining`` from ``client``'s ledger and warn if the run passes it.

    For plans made before the client was known (a client built from the environment).
    """
    if plan.quota_remaining is None:
        plan.quota_remaining = _quota_left(client, plan.quota_family)
        _warn_quota(plan)


# ----------------------------------------------------------------------------- video queries


def _clip_to_today(start: date, end: date, today: date) -> tuple[date, list[_Note]]:
    """``(end, notes)``: a range's end clipped to today, with what the user should know."""
    if start > today:
        raise InvalidRequestError(
            f"start_date {start.isoformat()} is in the future (today is {today.isoformat()} "
            "UTC): there is nothing to collect yet",
            endpoint="video_query",
        )
    notes: list[_Note] = []
    requested_end = end
    if end > today:
        end = today
        notes.append((UserWarning, (
            f"end_date {requested_end.isoformat()} is in the future; the range was clipped to "
            f"today, {today.isoformat()} (UTC), so no request is spent on days that have not "
            "happened"
        )))  # fmt: skip
    if end >= today - timedelta(days=NOT_INDEXED_DAYS):
        notes.append((NotYetIndexedWarning, (
            f"the range ends on {end.isoformat()}, within the last {NOT_INDEXED_DAYS} "
            f"days (today is {today.isoformat()} UTC): the service has not indexed those videos "
            "yet, so results for these days will be incomplete. Collect them again later"
        )))  # fmt: skip
    return end, notes


def _client_exclusive(client: Client | None) -> bool:
    """Whether the client that will run the plan treats ``end_date`` as exclusive."""
    return bool(client.end_date_exclusive) if client is not None else False


def plan_videos(
    query: QueryLike,
    start_date: date | datetime | str,
    end_date: date | datetime | str,
    *,
    fields: Sequence[str] | str | None = None,
    max_total: int | None = None,
    is_random: bool = False,
    client: Client | None = None,
    warn: bool = True,
) -> Plan:
    """Plan a video query over a date range of any length (nothing is sent, no token needed).

    The range is split into non-overlapping windows of at most 31 days (30 when the client treats
    ``end_date`` as exclusive). An end date in the future is clipped to today (on the client's
    clock) with a note; a start date in the future is refused. With ``max_total`` the windows run
    newest first, one after another, so that exactly the ``max_total`` newest videos are kept and
    no request is spent past them.

    Args:
        query: A ``Q`` expression, a :class:`~tiktok_research.Query`, a dict or JSON text.
        start_date: First day (UTC).
        end_date: Last day (UTC, inclusive).
        fields: Video fields (default: all).
        max_total: Keep exactly this many videos (the newest).
        is_random: Random results (one request per window).
        client: The client that will run it (its clock, its quota ledger, its end-date rule).
        warn: Issue the plan's warnings (not-yet-indexed days, quota) as Python warnings.

    Returns:
        The :class:`Plan`.

    Raises:
        InvalidRequestError: with the problem and the fix; nothing was sent.

    Example:
        >>> import tiktok_research as tr
        >>> print(tr.plan_videos(tr.Q.keyword.eq("cat"), "20240101", "20240315"))
        videos (video_query): keyword = "cat"
          range 2024-01-01 .. 2024-03-15 (inclusive) -> 3 window(s) of at most 31 days:
            2024-03-03 .. 2024-03-15
            2024-02-01 .. 2024-03-02
            2024-01-01 .. 2024-01-31
          100 per request
          fields: id, video_description, ...
          at least 3 request(s)
        ...
    """
    client = check_client(client)
    ep = ENDPOINTS["video_query"]
    q = as_query(query)
    start, requested_end = check_day(start_date, "start_date"), check_day(end_date, "end_date")
    check_range(start, requested_end)
    field_list = check_fields(ep, fields)
    limit = check_max_total(max_total)
    is_random = check_flag(is_random, "is_random")
    end, notes = _clip_to_today(start, requested_end, _today(client))
    exclusive = _client_exclusive(client)
    windows = split_windows(start, end, window_days(exclusive))
    windows.reverse()  # newest first: what a max_total keeps, and what users see first
    qdict = q.to_dict()
    tasks = [
        TaskSpec(
            key=f"{format_date(s)}-{format_date(e)}",
            item=None,
            params=window_body(qdict, s, e, exclusive=exclusive, is_random=is_random),
            window=(s, e),
        )
        for s, e in windows
    ]
    size = ep.max_count or 100
    n = len(tasks)
    if limit is not None:
        n = min(n, math.ceil(limit / size)) if limit > 0 else 0
    plan = Plan(
        endpoint=ep.name,
        kind="videos",
        table=ep.table,
        spec={
            "query": qdict,
            "start_date": format_date(start),
            "end_date": format_date(requested_end),
            "fields": None if fields is None else field_list,
            "max_total": limit,
            "is_random": is_random,
        },
        tasks=tasks,
        fields=field_list,
        page_size=size,
        max_total=limit,
        sequential=limit is not None,
        query=q,
        start_date=start,
        end_date=end,
        end_date_exclusive=exclusive,
        is_random=is_random,
        newest_first=True,
        min_requests=n,
        max_note=None if is_random else "more when windows hold more than one page of results",
        quota_remaining=_quota_left(client, ep.quota_family),
    )
    _issue(plan, notes, warn=warn)
    return plan


# -------------------------------------------------------------------------------- fan-outs


def _item_values(spec: _Kind, raw: list[object], func: str) -> list[Any]:
    """The items of a fan-out, cleaned by their rule (ids, usernames, names), each once."""
    if spec.ids:
        return unique(clean_ids(raw, what=f"{func}: {spec.what}"))
    if spec.item_key == "username":
        return unique(clean_usernames(raw, what=spec.what))
    bad = [v for v in raw if not isinstance(v, str)]
    if bad:
        raise InvalidRequestError(f"{func}: {spec.what} must be text, got {show(bad)}")
    values = unique(str(v).strip() for v in raw)
    too_long = [v for v in values if len(v) > 200]
    if too_long:
        raise InvalidRequestError(f"{func}: {spec.what} too long: {show(too_long)}")
    return values


def _item_cost(
    kind: str, ep: Endpoint, values: list[Any], known: dict[int, int] | None, limit: int | None
) -> tuple[int, str | None, dict[str, int]]:
    """``(least number of requests, note on what may cost more, least requests per item where
    the table given says it)`` of a fan-out."""
    size = ep.max_count
    min_requests = len(values) if limit != 0 else 0
    note = None
    costs: dict[str, int] = {}
    if known is not None and size:
        costs = {str(v): max(1, math.ceil(min(known.get(v, 0), 1000) / size)) for v in values}
        min_requests = sum(costs.values())
        note = "from the counts in the table given"
    elif ep.pagination != "none":
        note = "more for items with more than one page"
    if kind == "comments":
        note = (note + "; " if note else "") + (
            "replies=True adds one request or more per comment that has replies"
        )
    return min_requests, note, costs


#: The count column that says a fan-out item has no rows to give, by kind.
_EMPTY_COUNT = {"comments": ("comment_count", "video(s)"), "replies": ("reply_count", "comment(s)")}


def _skip_empty(
    kind: str, values: list[Any], known: dict[int, int] | None, func: str
) -> tuple[list[Any], list[_Note]]:
    """The items whose count in the table given is 0 left out (each would cost a request for an
    empty page), with a note saying how many and how to ask for them anyway."""
    if known is None or kind not in _EMPTY_COUNT:
        return values, []
    column, what = _EMPTY_COUNT[kind]
    kept = [v for v in values if known.get(v, 1) != 0]
    skipped = len(values) - len(kept)
    if not skipped:
        return values, []
    return kept, [(UserWarning, (
        f"{func}: skipped {skipped:,} {what} whose {column} is 0 in the table given ({skipped:,} "
        "request(s) saved); the count may be out of date: pass skip_empty=False "
        "(--ask-empty on the command line) to ask for them anyway"
    ))]  # fmt: skip


def plan_items(
    kind: str,
    items: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    max_total: int | None = None,
    client: Client | None = None,
    warn: bool = True,
    func: str | None = None,
    skip_empty: bool = True,
) -> Plan:
    """Plan a fan-out: one page sequence per item (accounts, videos, comments, shops...).

    Items come as a list, a polars or pandas Series, a numpy or Arrow array, or a table (polars,
    pandas, Arrow) with the usual column (``username``; ``video_id`` or ``id``...). Blank items
    (None, NaN, empty text) are dropped with one warning; duplicates are asked once; usernames are
    cleaned by one rule (:func:`tiktok_research._checks.clean_usernames`) and ids must be exact
    whole numbers.

    Args:
        kind: The table to make: ``"users"``, ``"comments"``, ``"replies"``, ``"liked_videos"``,
            ``"pinned_videos"``, ``"reposted_videos"``, ``"followers"``, ``"following"``,
            ``"playlists"``, ``"shops"``, ``"products"`` or ``"reviews"``.
        items: The items.
        fields: Fields to ask for (default: all the endpoint has).
        max_total: At most this many rows per item.
        client: The client that will run it (its quota ledger).
        warn: Issue the plan's warnings as Python warnings.
        func: The function name used in messages.
        skip_empty: Comments and replies given as a table with ``comment_count`` /
            ``reply_count``: leave out the items whose count is 0 (with a note), each of which
            would cost a request for an empty page. False asks for every item.

    Returns:
        The :class:`Plan`.

    Example:
        >>> import tiktok_research as tr
        >>> tr.plan_items("users", ["@Some.One", "https://www.tiktok.com/@x_y"]).tasks[1].item
        'x_y'
    """
    if kind not in KINDS:
        close = difflib.get_close_matches(str(kind), list(KINDS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidRequestError(f"unknown collection {kind!r}.{hint} Kinds: {', '.join(KINDS)}")
    spec = KINDS[kind]
    func = func or f"plan_items({kind!r})"
    client = check_client(client)
    ep = ENDPOINTS[spec.endpoint]
    field_list = check_fields(ep, fields)
    limit = check_max_total(max_total)
    values = _item_values(spec, read_items(items, spec.columns, spec.what, func), func)
    if not isinstance(skip_empty, bool):
        raise InvalidRequestError(f"skip_empty must be True or False, got {skip_empty!r}")
    known = _known_counts(items, kind)
    notes: list[_Note] = []
    if skip_empty:
        values, notes = _skip_empty(kind, values, known, func)
    min_requests, note, costs = _item_cost(kind, ep, values, known, limit)
    key = spec.item_key
    plan = Plan(
        endpoint=ep.name,
        kind=kind,
        table=ep.table,
        spec={"items": [str(v) for v in values], "fields": None if fields is None else field_list,
              "max_total": limit},
        tasks=[TaskSpec(key=f"{key}:{v}", item=str(v), params={key: v}) for v in values],
        fields=field_list,
        page_size=ep.max_count,
        max_total=limit,
        item_key=key,
        min_requests=min_requests,
        max_note=note,
        quota_remaining=_quota_left(client, ep.quota_family),
        task_costs={f"{key}:{v}": c for v, c in costs.items()},
    )  # fmt: skip
    _issue(plan, notes, warn=warn)
    return plan


def _known_counts(items: object, kind: str) -> dict[int, int] | None:
    """``{id: number of rows to come}`` when ``items`` is a table that says it.

    A videos table has ``comment_count`` (for comments), a comments table ``reply_count`` (for
    replies): the cost of the run is then known before it starts. Items whose count is null are
    left out (not known); None when no count is known.
    """
    column = {"comments": "comment_count", "replies": "reply_count"}.get(kind)
    try:
        if column and isinstance(items, pl.DataFrame) and {"id", column} <= set(items.columns):
            ids = items.get_column("id").cast(pl.Int64, strict=False).to_list()
            counts = items.get_column(column).cast(pl.Int64, strict=False).to_list()
            # a null count is not known (a table collected with fields= that left it out): such
            # an item is asked for, never skipped as if it had no comments
            known = {
                i: c for i, c in zip(ids, counts, strict=True) if i is not None and c is not None
            }
            return known or None
    except pl.exceptions.PolarsError:
        return None
    return None


# ---------------------------------------------------------------------- ids: hydrate, comply

#: Video ids per ``video_id IN`` request. The real limit on ``IN`` values is undocumented
#: (api-notes §4 lists none); 100, a page's worth, is a conservative choice that keeps one request
#: per batch.
DEFAULT_ID_BATCH = 100
#: An id's creation time (``id >> 32``) is 25 to 80 seconds before ``create_time`` (api-notes §8):
#: a window covers the day of ``id >> 32`` and the day of ``id >> 32`` plus this margin.
ID_TIME_MARGIN = 180


def _id_days(video_id: int) -> tuple[date, date]:
    """The first and last day a video with this id can have been created on (UTC)."""
    t = id_time(video_id)
    first = datetime.fromtimestamp(t, UTC).date()
    last = datetime.fromtimestamp(t + ID_TIME_MARGIN, UTC).date()
    return first, last


def _id_groups(ids: list[int], span: timedelta) -> list[list[int]]:
    """Ids grouped into windows of at most ``span`` (each only as wide as its ids need), oldest
    group first."""
    groups: list[list[int]] = []
    start: date | None = None
    for v in sorted(ids, key=id_time):
        first, last = _id_days(v)
        if start is None or last - start > span:
            groups.append([])
            start = first
        groups[-1].append(v)
    return groups


def _id_tasks(
    groups: list[list[int]], batch_size: int, today: date, exclusive: bool
) -> list[TaskSpec]:
    """One ``video_id IN`` task per window and batch, newest first."""
    tasks: list[TaskSpec] = []
    for group in reversed(groups):  # newest first
        group.sort(reverse=True)
        for k in range(0, len(group), batch_size):
            batch = group[k : k + batch_size]
            days = [d for v in batch for d in _id_days(v)]
            s, e = min(days), min(max(days), today)
            query = {"and": [{"operation": "IN", "field_name": "video_id",
                              "field_values": [str(v) for v in batch]}]}  # fmt: skip
            tasks.append(
                TaskSpec(
                    key=f"{format_date(s)}-{format_date(e)}-{batch[0]}",
                    item=None,
                    params=window_body(query, s, e, exclusive=exclusive),
                    window=(s, e),
                )
            )
    return tasks


def _check_batch_size(batch_size: object) -> int:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not 1 <= batch_size <= 100
    ):
        raise InvalidRequestError(
            f"batch_size must be a whole number from 1 to 100, got {batch_size!r}"
        )
    return batch_size


def plan_video_ids(
    ids: ItemsLike,
    *,
    fields: Sequence[str] | str | None = None,
    batch_size: int = DEFAULT_ID_BATCH,
    client: Client | None = None,
    warn: bool = True,
    func: str = "fetch_videos_by_id",
) -> Plan:
    """Plan the look-up of videos by id: one ``video_id IN`` request per window and batch.

    An id carries its creation time (``id >> 32``, api-notes §8), so each id's day is known: ids
    are grouped into windows of at most 31 days (each window only as wide as its ids need), and each
    window into batches of ``batch_size`` ids, newest first. Ids of one month cost one request
    per batch.

    Args:
        ids: Video ids: a list, a Series, or a table with an ``id`` or ``video_id`` column.
        fields: Video fields (default: all).
        batch_size: Ids per request (1 to 100; the service's limit is undocumented).
        client: The client that will run it (its clock, its quota ledger).
        warn: Issue the plan's warnings as Python warnings.
        func: The function name used in messages.

    Example:
        >>> plan = plan_video_ids([7320768196569599275, 7320768158545159950])
        >>> len(plan.tasks), plan.tasks[0].window
        (1, (datetime.date(2024, 1, 5), datetime.date(2024, 1, 6)))
    """
    client = check_client(client)
    ep = ENDPOINTS["video_query"]
    field_list = check_fields(ep, fields)
    batch_size = _check_batch_size(batch_size)
    raw = read_items(ids, ("id", "video_id"), "video ids", func)
    values: list[int] = unique(clean_ids(raw, what=f"{func}: video ids"))
    now = datetime.now(UTC).timestamp()
    usable = [v for v in values if has_id_time(v, now)]
    notes: list[_Note] = []
    if len(values) > len(usable):
        notes.append((UserWarning, (
            f"{len(values) - len(usable)} id(s) carry no plausible creation time (id >> 32), so "
            "no window can be computed for them: they are reported as not found"
        )))  # fmt: skip
    exclusive = _client_exclusive(client)
    groups = _id_groups(usable, timedelta(days=window_days(exclusive)))
    tasks = _id_tasks(groups, batch_size, _today(client), exclusive)
    digest = hashlib.sha256(",".join(map(str, sorted(values))).encode()).hexdigest()
    plan = Plan(
        endpoint=ep.name,
        kind="videos_by_id",
        table=ep.table,
        spec={"ids_sha256": digest, "ids": len(values), "fields": None if fields is None
              else field_list, "batch_size": batch_size},
        tasks=tasks,
        fields=field_list,
        page_size=ep.max_count,
        start_date=min((t.window[0] for t in tasks if t.window), default=None),
        end_date=max((t.window[1] for t in tasks if t.window), default=None),
        end_date_exclusive=exclusive,
        newest_first=True,
        min_requests=len(tasks),
        max_note="one request per window and batch, more if a batch has hidden ids",
        quota_remaining=_quota_left(client, ep.quota_family),
    )  # fmt: skip
    plan.ids = values
    _issue(plan, notes, warn=warn)
    return plan


def plan_compliance(
    ids: ItemsLike,
    category: str = "video",
    *,
    client: Client | None = None,
    warn: bool = True,
) -> Plan:
    """Plan batch compliance tasks: the ids uploaded in tasks of at most 10,000 (api-notes §3.11).

    Each task costs at least three requests: the upload, one status check or more, the download.

    Args:
        ids: Video or comment ids: a list, a Series, or a table with an ``id`` column.
        category: ``"video"`` or ``"comment"``.
        client: The client that will run it (its quota ledger).
        warn: Issue the plan's warnings as Python warnings.

    Example:
        >>> len(plan_compliance(range(1, 25_001)).tasks)
        3
    """
    client = check_client(client)
    if category not in VALIDATION_CATEGORIES:
        raise InvalidRequestError(
            f"category must be {' or '.join(map(repr, VALIDATION_CATEGORIES))}, got {category!r}"
        )
    columns = ("id", "video_id") if category == "video" else ("id", "comment_id")
    raw = read_items(ids, columns, f"{category} ids", "check_compliance")
    values = unique(clean_ids(raw, what=f"check_compliance: {category} ids"))
    tasks = [
        TaskSpec(
            key=f"task:{k // VALIDATION_MAX_IDS + 1}",
            item=None,
            params={"category": category, "ids": values[k : k + VALIDATION_MAX_IDS]},
        )
        for k in range(0, len(values), VALIDATION_MAX_IDS)
    ]
    digest = hashlib.sha256(",".join(map(str, values)).encode()).hexdigest()
    endpoint = VALIDATION_ENDPOINTS["validation_create"]
    plan = Plan(
        endpoint=endpoint.name,
        kind=f"compliance_{category}",
        table="compliance",
        spec={"category": category, "ids_sha256": digest, "ids": len(values)},
        tasks=tasks,
        fields=None,
        page_size=None,
        min_requests=3 * len(tasks),
        max_note="one more status request each time a task is still Processing",
        quota_remaining=_quota_left(client, endpoint.quota_family),
    )
    _issue(plan, [], warn=warn)
    return plan
