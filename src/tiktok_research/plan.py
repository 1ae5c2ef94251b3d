"""Plan a collection: validate a call once, before any request, and turn it into tasks.

Everything a ``fetch_*`` call is given is checked here, and only here: the query, the dates, the
fields, the items (usernames, ids: one cleaning rule each), ``max_total``, the client and the
archive. Mistakes raise :class:`~tiktok_research.errors.InvalidRequestError` naming the problem and
the fix, and cost nothing. A valid call becomes a :class:`Plan`: the tasks (date windows of a video
query, or one task per item of a fan-out), the fields, the page size, the row limit, and what the
run costs at least. ``print(plan)`` is a dry run; no plan needs credentials or a token.

Example:
    >>> import tiktok_research as tr
    >>> plan = tr.plan_videos(tr.Q.hashtag_name.eq("climate"), "2024-01-01", "2024-03-31")
    >>> [t.key for t in plan.tasks]
    ['20240101-20240131', '20240201-20240302', '20240303-20240331']
    >>> plan.min_requests
    3
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from . import _windows
from ._endpoints import (
    ADLIB_ENDPOINTS,
    ENDPOINTS,
    MAX_WINDOW_DAYS,
    VALIDATION_CATEGORIES,
    VALIDATION_ENDPOINTS,
    VALIDATION_MAX_IDS,
    Endpoint,
)
from .errors import InvalidRequestError, NotYetIndexedWarning, QuotaWarning
from .query import Query, as_query

if TYPE_CHECKING:
    from .client import Client

__all__ = [
    "KINDS",
    "Plan",
    "TaskSpec",
    "clean_ids",
    "clean_username",
    "clean_usernames",
    "plan_compliance",
    "plan_items",
    "plan_video_ids",
    "plan_videos",
    "refresh_quota",
    "username_expr",
    "window_params",
]

INT64_MAX = 2**63 - 1

# A TikTok handle: letters, digits, "_" and "." (SPEC §8), lower-case. TikTok allows 24 characters
# today; older accounts may have longer handles, so up to 50 are let through.
_HANDLE = re.compile(r"^[a-z0-9._]{1,50}$")
_PROFILE_URL = r"(?i)^(?:https?://)?(?:[a-z0-9-]+\.)*tiktok\.com/@([^/?#]*)"


@dataclass(frozen=True)
class _Kind:
    """A fan-out collection: which endpoint, which body key, which columns items come from."""

    endpoint: str
    item_key: str  # body key of the item
    columns: tuple[str, ...]  # DataFrame columns items are taken from, in order of preference
    ids: bool  # items are numeric ids (else names)
    what: str  # how items are called in messages


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


# --------------------------------------------------------------------------------- the items


def username_expr(expr: pl.Expr) -> pl.Expr:
    """The one username cleaning rule, as a polars expression (used here and by ``select``).

    NULs and surrounding spaces go, a profile address (``https://www.tiktok.com/@name/video/1``,
    ``vm.tiktok.com/@Name?lang=en``, with or without scheme) becomes its handle, a leading ``@``
    goes, and the handle is lower-cased (SPEC §8: handles are lower-case).
    """
    text = expr.cast(pl.String).str.replace_all("\x00", "", literal=True).str.strip_chars()
    from_url = text.str.extract(_PROFILE_URL, 1)
    name = pl.when(from_url.is_not_null()).then(from_url).otherwise(text)
    return name.str.strip_chars().str.strip_chars_start("@").str.strip_chars().str.to_lowercase()


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, (str, bytes)) and not value.strip():
        return True
    kind = type(value).__name__
    return kind in ("NAType", "NaTType") or (kind.startswith("float") and value != value)


def clean_usernames(values: Iterable[Any], *, what: str = "usernames") -> list[str]:
    """Clean usernames with :func:`username_expr` and refuse what cannot be a handle.

    Blank items (None, NaN, empty) are dropped by :func:`_items`; here every value must give a
    handle of letters, digits, ``_`` and ``.``.

    Raises:
        InvalidRequestError: naming the values that cannot be usernames.
    """
    raw = list(values)
    bad_type = [v for v in raw if not isinstance(v, str)]
    if bad_type:
        raise InvalidRequestError(
            f"{what} must be text, got {_show(bad_type)}; pass handles such as 'some_user', "
            "'@some_user' or a profile address"
        )
    if not raw:
        return []
    cleaned = pl.Series("u", raw, dtype=pl.String).to_frame().select(username_expr(pl.col("u")))
    out: list[str] = cleaned.to_series().to_list()
    bad = [orig for orig, name in zip(raw, out, strict=True) if not _HANDLE.match(name or "")]
    if bad:
        hint = (
            " Short links (vm.tiktok.com/XXXX) cannot be resolved offline: open one in a "
            "browser and use the @handle it shows."
            if any("tiktok.com/" in b and "@" not in b for b in bad)
            else ""
        )
        raise InvalidRequestError(
            f"{len(bad)} of the {what} cannot be TikTok handles: {_show(bad)}. A handle has "
            "1 to 50 letters, digits, '_' or '.', like 'some_user' (an '@' or a profile address "
            f"around it is fine).{hint} Nothing was sent."
        )
    return out


def clean_username(value: Any) -> str:
    """One username, cleaned by the rule of :func:`username_expr`.

    Example:
        >>> clean_username("https://vm.tiktok.com/@Foo")
        'foo'
    """
    if _is_blank(value):
        raise InvalidRequestError(f"username {value!r} is empty; give a handle such as 'some_user'")
    return clean_usernames([value], what="username")[0]


def _clean_id(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise InvalidRequestError(f"{what}: {value!r} is not an id")
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        raise InvalidRequestError(
            f"{what}: {value!r} is a float, which cannot hold a 19-digit id exactly (it may "
            "already have lost digits). Pass ids as int or text: read them with "
            "dtype=str / Int64, never float."
        )
    number: int | None = None
    integral = isinstance(value, Decimal) and value == value.to_integral_value()
    if isinstance(value, int) or type(value).__name__.startswith(("int", "uint")) or integral:
        number = int(value)
    elif isinstance(value, (str, bytes)):
        text = value.decode() if isinstance(value, bytes) else value
        text = text.strip().replace("\x00", "")
        if text.isascii() and text.isdigit():
            number = int(text)
    if number is None:
        raise InvalidRequestError(
            f"{what}: {_show([value])} is not an id; ids are positive whole numbers such as "
            "7320768196569599275 (as int or text)"
        )
    if not 0 < number <= INT64_MAX:
        raise InvalidRequestError(
            f"{what}: {number} is not a valid id (ids are between 1 and {INT64_MAX:,}); "
            "nothing was sent"
        )
    return number


def clean_ids(values: Iterable[Any], *, what: str = "ids") -> list[int]:
    """Ids as exact Python ints, refusing floats, negative numbers and values beyond int64.

    Example:
        >>> clean_ids(["7320768196569599275", 42])
        [7320768196569599275, 42]
    """
    return [_clean_id(v, what) for v in values]


def _show(values: Sequence[Any], n: int = 3) -> str:
    shown = []
    for v in values[:n]:
        text = repr(v)
        shown.append(text if len(text) <= 60 else text[:57] + "...'")
    more = f" and {len(values) - n} more" if len(values) > n else ""
    return ", ".join(shown) + more


def _column_values(frame: Any, columns: Sequence[str], what: str, kind: str) -> list[Any]:
    names = [str(c) for c in (frame.column_names if kind == "arrow" else frame.columns)]
    for col in columns:
        if col in names:
            if kind == "polars":
                values: list[Any] = frame.get_column(col).to_list()
                return values
            if kind == "arrow":
                return list(frame.column(col).to_pylist())
            return list(frame[col].tolist())
    raise InvalidRequestError(
        f"{what}: the table has none of the columns {', '.join(map(repr, columns))} "
        f"(it has {', '.join(names[:12])}{', ...' if len(names) > 12 else ''}); pass the column "
        f"itself, e.g. df[{columns[0]!r}]"
    )


def _items(values: Any, columns: Sequence[str], what: str, func: str) -> list[Any]:
    """The items of whatever the user passed, blanks dropped with one warning."""
    module = type(values).__module__.split(".")[0]
    if values is None:
        raise InvalidRequestError(
            f"{func} needs {what}; got None. Pass a list, a Series or a table with a "
            f"{columns[0]!r} column"
        )
    if isinstance(values, (str, bytes, int)) and not isinstance(values, bool):
        items: list[Any] = [values]
    elif isinstance(values, dict):
        raise InvalidRequestError(f"{func}: pass {what} as a list, a Series or a table, not a dict")
    elif isinstance(values, pl.LazyFrame):
        items = _column_values(values.collect(), columns, what, "polars")
    elif isinstance(values, pl.DataFrame):
        items = _column_values(values, columns, what, "polars")
    elif isinstance(values, pl.Series):
        items = values.to_list()
    elif module == "pandas" and hasattr(values, "columns"):
        items = _column_values(values, columns, what, "pandas")
    elif module == "pyarrow" and hasattr(values, "column_names"):
        items = _column_values(values, columns, what, "arrow")
    elif module == "pyarrow" and hasattr(values, "to_pylist"):
        items = list(values.to_pylist())
    elif hasattr(values, "tolist") and module in ("pandas", "numpy"):
        items = list(values.tolist())
    else:
        try:
            items = list(values)
        except TypeError:
            raise InvalidRequestError(
                f"{func}: cannot read {what} from {type(values).__name__}; pass a list, a Series "
                "or a table"
            ) from None
    kept = [v for v in items if not _is_blank(v)]
    if len(kept) < len(items):
        warnings.warn(
            f"{func}: dropped {len(items) - len(kept)} blank item(s) (None, NaN or empty text) "
            f"of the {len(items)} {what} given",
            UserWarning,
            stacklevel=4,
        )
    if not kept:
        raise InvalidRequestError(f"{func}: no {what} to collect (the input is empty)")
    return kept


def _unique(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


# ------------------------------------------------------------------------- other arguments


def check_fields(ep: Endpoint, fields: Any) -> list[str] | None:
    """The fields to ask for (all by default), every name checked; None for fieldless endpoints.

    Raises:
        InvalidRequestError: not a list of names, empty, or an unknown name (with a suggestion).
    """
    if fields is None:
        return None if ep.fields_in == "none" else list(ep.fields)
    if isinstance(fields, str):
        names = [f.strip() for f in fields.split(",")]
    elif isinstance(fields, (list, tuple)) or (
        isinstance(fields, Iterable) and not isinstance(fields, (bytes, dict))
    ):
        names = list(fields)
        if not all(isinstance(n, str) for n in names):
            raise InvalidRequestError(
                f"{ep.name}: fields must be names (text), got {_show(names)}", endpoint=ep.name
            )
        names = [n.strip() for n in names]
    else:
        raise InvalidRequestError(
            f"{ep.name}: fields must be a list of names or a comma-separated text such as "
            f"'id,like_count', got {fields!r}",
            endpoint=ep.name,
        )
    names = [n for n in names if n]
    if ep.fields_in == "none":
        if names and names != list(ep.fields):
            raise InvalidRequestError(
                f"{ep.name} has no fields parameter; it always returns {', '.join(ep.fields)}",
                endpoint=ep.name,
            )
        return None
    if not names:
        raise InvalidRequestError(f"{ep.name}: fields is empty", endpoint=ep.name)
    for n in names:
        if n not in ep.fields:
            close = difflib.get_close_matches(n, ep.fields, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InvalidRequestError(
                f"{ep.name}: unknown field {n!r}.{hint} Fields: {', '.join(ep.fields)}",
                endpoint=ep.name,
            )
    return list(dict.fromkeys(names))


def check_max_total(max_total: Any) -> int | None:
    """``max_total``: None or a whole number >= 0."""
    if max_total is None:
        return None
    if isinstance(max_total, bool) or not isinstance(max_total, int) or max_total < 0:
        raise InvalidRequestError(
            f"max_total must be a whole number of rows (0 or more) or None, got {max_total!r}"
        )
    return max_total


def check_client(client: Any) -> Client | None:
    """``client``: None or a :class:`~tiktok_research.Client`."""
    from .client import Client

    if client is None or isinstance(client, Client):
        return client
    raise InvalidRequestError(
        f"client must be a tiktok_research.Client (e.g. tr.Client() or tr.Client.sandbox()), "
        f"got {type(client).__name__} {client!r:.60}"
    )


def check_folder(value: Any, what: str) -> Path | None:
    """An ``archive=`` / ``dataset=`` folder: None, or a path that is not a file."""
    if value is None:
        return None
    if not isinstance(value, (str, Path)) or (isinstance(value, str) and not value.strip()):
        raise InvalidRequestError(f"{what} must be a folder path, got {value!r}")
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise InvalidRequestError(
            f"{what}={str(path)!r} is a file; pass a folder (created if missing)"
        )
    return path


def check_day(value: Any, what: str) -> date:
    """A day the API can be asked for (``YYYYMMDD``): a date, datetime or text."""
    if value is None:
        raise InvalidRequestError(f"{what} is required, e.g. '2024-01-31'")
    day = _windows.parse_date(value)
    if not 1000 <= day.year <= 9999:
        raise InvalidRequestError(
            f"{what} {day.isoformat()} cannot be written as the API's YYYYMMDD; give a day such "
            "as '2024-01-31'"
        )
    return day


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

    @property
    def ep(self) -> Endpoint:
        """The endpoint (a data endpoint; see :attr:`task_endpoint` for compliance tasks)."""
        return ENDPOINTS.get(self.endpoint) or ADLIB_ENDPOINTS[self.endpoint]

    @property
    def quota_family(self) -> str:
        """The quota family the run spends."""
        found = (
            ENDPOINTS.get(self.endpoint)
            or ADLIB_ENDPOINTS.get(self.endpoint)
            or VALIDATION_ENDPOINTS.get(self.endpoint)
        )
        return found.quota_family if found is not None else "research"

    def fields_param(self) -> dict[str, str]:
        """The query-string parameters of every request."""
        if self.ep.fields_in == "query" and self.fields:
            return {"fields": ",".join(self.fields)}
        return {}

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
                f"(inclusive) -> {n} window(s) of at most {MAX_WINDOW_DAYS + 1} days"
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
            lines.append(f"{self.kind} ({self.endpoint}): {n} item(s): {_show(items, 5)}")
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
            import json

            lines.append("    " + json.dumps(body, ensure_ascii=False, default=str))
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


def _today(client: Client | None) -> date:
    if client is not None:
        return client.today()
    return datetime.now(UTC).date()


def _quota_left(client: Client | None, ep: Any) -> int | None:
    if client is None:
        return None
    try:
        return client.quota_left(ep.quota_family)
    except Exception:  # the ledger is advisory: never fail a plan on it
        return None


def _warn_quota(plan: Plan, stacklevel: int) -> None:
    if plan.over_quota():
        message = (
            f"{plan.kind}: this run needs at least {plan.min_requests:,} requests but the local "
            f"ledger shows {plan.quota_remaining:,} left today ({plan.quota_family} quota): "
            "it will stop when the quota runs out; run the same call again after 00:00 UTC to "
            "continue"
        )
        plan.notes.append(message)
        warnings.warn(message, QuotaWarning, stacklevel=stacklevel)


def window_params(
    query: dict[str, Any], start: date, end: date, *, exclusive: bool, is_random: bool = False
) -> dict[str, Any]:
    """The request body keys of one date window ``[start, end]`` (both days inclusive).

    The one place ``end_date_exclusive`` is applied: such a service is sent ``end + 1 day``.
    """
    params: dict[str, Any] = {
        "query": query,
        "start_date": _windows.format_date(start),
        "end_date": _windows.format_date(end + timedelta(days=1) if exclusive else end),
    }
    if is_random:
        params["is_random"] = True
    return params


def plan_videos(
    query: Any,
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
        >>> print(tr.plan_videos(tr.Q.keyword.eq("cat"), "20240101", "20240315"))  # doctest: +SKIP
    """
    client = check_client(client)
    ep = ENDPOINTS["video_query"]
    if isinstance(query, str) and query.strip() and query.strip()[0] not in "{[":
        word = query.strip()
        raise InvalidRequestError(
            f"a query given as text must be JSON; {word[:40]!r} is not. To search a word write "
            f"tr.Q.keyword.eq({word[:40]!r}), for a hashtag tr.Q.hashtag_name.eq(...), for an "
            "account tr.Q.username.eq(...)",
            endpoint=ep.name,
        )
    q = as_query(query)
    start, end = check_day(start_date, "start_date"), check_day(end_date, "end_date")
    _windows.check_range(start, end)
    field_list = check_fields(ep, fields)
    limit = check_max_total(max_total)
    if not isinstance(is_random, bool):
        raise InvalidRequestError(f"is_random must be True or False, got {is_random!r}")
    today = _today(client)
    notes: list[str] = []
    if start > today:
        raise InvalidRequestError(
            f"start_date {start.isoformat()} is in the future (today is {today.isoformat()} "
            "UTC): there is nothing to collect yet",
            endpoint=ep.name,
        )
    requested_end = end
    if end > today:
        end = today
        notes.append(
            f"end_date {requested_end.isoformat()} is in the future; the range was clipped to "
            f"today, {today.isoformat()} (UTC), so no request is spent on days that have not "
            "happened"
        )
    indexed_until = today - timedelta(days=_windows.NOT_INDEXED_DAYS)
    if end >= indexed_until:
        notes.append(
            f"the range ends on {end.isoformat()}, within the last {_windows.NOT_INDEXED_DAYS} "
            f"days (today is {today.isoformat()} UTC): the service has not indexed those videos "
            "yet, so results for these days will be incomplete. Collect them again later"
        )
    exclusive = bool(client.end_date_exclusive) if client is not None else False
    days = MAX_WINDOW_DAYS - 1 if exclusive else MAX_WINDOW_DAYS
    windows = _windows.split_windows(start, end, days)
    windows.reverse()  # newest first: what a max_total keeps, and what users see first
    qdict = q.to_dict()
    tasks = [
        TaskSpec(
            key=f"{_windows.format_date(s)}-{_windows.format_date(e)}",
            item=None,
            params=window_params(qdict, s, e, exclusive=exclusive, is_random=is_random),
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
            "start_date": _windows.format_date(start),
            "end_date": _windows.format_date(requested_end),
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
        notes=notes,
        min_requests=n,
        max_note=None if is_random else "more when windows hold more than one page of results",
        quota_remaining=_quota_left(client, ep),
    )
    if warn:
        for note in notes:
            category: type[Warning] = NotYetIndexedWarning if "not indexed" in note else UserWarning
            warnings.warn(note, category, stacklevel=3)
        _warn_quota(plan, stacklevel=3)
    return plan


def plan_items(
    kind: str,
    items: Any,
    *,
    fields: Sequence[str] | str | None = None,
    max_total: int | None = None,
    client: Client | None = None,
    warn: bool = True,
    func: str | None = None,
) -> Plan:
    """Plan a fan-out: one page sequence per item (accounts, videos, comments, shops...).

    Items come as a list, a polars or pandas Series, a numpy or Arrow array, or a table (polars,
    pandas, Arrow) with the usual column (``username``; ``video_id`` or ``id``...). Blank items
    (None, NaN, empty text) are dropped with one warning; duplicates are asked once; usernames are
    cleaned by one rule (:func:`username_expr`) and ids must be exact whole numbers.

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
    spec_kind = KINDS[kind]
    func = func or f"plan_items({kind!r})"
    client = check_client(client)
    ep = ENDPOINTS[spec_kind.endpoint]
    field_list = check_fields(ep, fields)
    limit = check_max_total(max_total)
    raw = _items(items, spec_kind.columns, spec_kind.what, func)
    known_counts = _known_counts(items, kind)
    values: list[Any]
    if spec_kind.ids:
        values = _unique(clean_ids(raw, what=f"{func}: {spec_kind.what}"))
    elif spec_kind.item_key == "username":
        values = _unique(clean_usernames(raw, what=spec_kind.what))
    else:
        bad = [v for v in raw if not isinstance(v, str)]
        if bad:
            raise InvalidRequestError(f"{func}: {spec_kind.what} must be text, got {_show(bad)}")
        values = _unique(v.strip() for v in raw)
        too_long = [v for v in values if len(v) > 200]
        if too_long:
            raise InvalidRequestError(f"{func}: {spec_kind.what} too long: {_show(too_long)}")
    key = spec_kind.item_key
    tasks = [TaskSpec(key=f"{key}:{v}", item=str(v), params={key: v}) for v in values]
    size = ep.max_count
    min_requests = len(tasks) if limit != 0 else 0
    note = None
    if known_counts is not None and size:
        min_requests = sum(
            max(1, math.ceil(min(known_counts.get(v, 0), 1000) / size)) for v in values
        )
        note = "from the counts in the table given"
    elif ep.pagination != "none":
        note = "more for items with more than one page"
    if kind == "comments":
        note = (note + "; " if note else "") + (
            "replies=True adds one request or more per comment that has replies"
        )
    plan = Plan(
        endpoint=ep.name,
        kind=kind,
        table=ep.table,
        spec={"items": [str(v) for v in values], "fields": None if fields is None else field_list,
              "max_total": limit},
        tasks=tasks,
        fields=field_list,
        page_size=size,
        max_total=limit,
        item_key=key,
        min_requests=min_requests,
        max_note=note,
        quota_remaining=_quota_left(client, ep),
    )  # fmt: skip
    if warn:
        _warn_quota(plan, stacklevel=3)
    return plan


def _known_counts(items: Any, kind: str) -> dict[int, int] | None:
    """``{id: number of rows to come}`` when ``items`` is a table that says it.

    A videos table has ``comment_count`` (for comments), a comments table ``reply_count`` (for
    replies): the cost of the run is then known before it starts.
    """
    column = {"comments": "comment_count", "replies": "reply_count"}.get(kind)
    try:
        if column and isinstance(items, pl.DataFrame) and {"id", column} <= set(items.columns):
            ids = items.get_column("id").cast(pl.Int64, strict=False).to_list()
            counts = items.get_column(column).cast(pl.Int64, strict=False).to_list()
            return {i: c or 0 for i, c in zip(ids, counts, strict=True) if i is not None}
    except pl.exceptions.PolarsError:
        return None
    return None


def refresh_quota(plan: Plan, client: Client) -> None:
    """Fill ``plan.quota_remaining`` from ``client``'s ledger and warn if the run passes it.

    For plans made before the client was known (a client built from the environment).
    """
    if plan.quota_remaining is None:
        found = ENDPOINTS.get(plan.endpoint) or VALIDATION_ENDPOINTS.get(plan.endpoint)
        plan.quota_remaining = _quota_left(client, found)
        _warn_quota(plan, stacklevel=4)


# ---------------------------------------------------------------------- ids: hydrate, comply

#: Video ids per ``video_id IN`` request. The real limit on ``IN`` values is undocumented (SPEC §4
#: lists none); 100, a page's worth, is a conservative choice that keeps one request per batch.
DEFAULT_ID_BATCH = 100
#: An id's creation time (``id >> 32``) is 25 to 80 seconds before ``create_time`` (SPEC §8):
#: a window covers the day of ``id >> 32`` and the day of ``id >> 32`` plus this margin.
ID_TIME_MARGIN = 180
_TIKTOK_START = datetime(2016, 1, 1, tzinfo=UTC).timestamp()


def _id_days(video_id: int) -> tuple[date, date]:
    t = video_id >> 32
    first = datetime.fromtimestamp(t, UTC).date()
    last = datetime.fromtimestamp(t + ID_TIME_MARGIN, UTC).date()
    return first, last


def plan_video_ids(
    ids: Any,
    *,
    fields: Sequence[str] | str | None = None,
    batch_size: int = DEFAULT_ID_BATCH,
    client: Client | None = None,
    warn: bool = True,
    func: str = "fetch_videos_by_id",
) -> Plan:
    """Plan the look-up of videos by id: one ``video_id IN`` request per window and batch.

    An id carries its creation time (``id >> 32``, SPEC §8), so each id's day is known: ids are
    grouped into windows of at most 31 days (each window only as wide as its ids need), and each
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
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not 1 <= batch_size <= 100
    ):
        raise InvalidRequestError(
            f"batch_size must be a whole number from 1 to 100, got {batch_size!r}"
        )
    raw = _items(ids, ("id", "video_id"), "video ids", func)
    values = _unique(clean_ids(raw, what=f"{func}: video ids"))
    today = _today(client)
    notes: list[str] = []
    usable = [v for v in values if _TIKTOK_START <= (v >> 32) <= datetime.now(UTC).timestamp()
              + 86400 * 3650]  # fmt: skip
    timeless = len(values) - len(usable)
    if timeless:
        notes.append(
            f"{timeless} id(s) carry no plausible creation time (id >> 32), so no window can be "
            "computed for them: they are reported as not found"
        )
    exclusive = bool(client.end_date_exclusive) if client is not None else False
    span = timedelta(days=(MAX_WINDOW_DAYS - 1) if exclusive else MAX_WINDOW_DAYS)
    ordered = sorted(usable, key=lambda v: v >> 32)
    groups: list[list[int]] = []
    start: date | None = None
    for v in ordered:
        first, last = _id_days(v)
        if start is None or last - start > span:
            groups.append([])
            start = first
        groups[-1].append(v)
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
                    key=f"{_windows.format_date(s)}-{_windows.format_date(e)}-{batch[0]}",
                    item=None,
                    params=window_params(query, s, e, exclusive=exclusive),
                    window=(s, e),
                )
            )
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
        notes=notes,
        min_requests=len(tasks),
        max_note="one request per window and batch, more if a batch has hidden ids",
        quota_remaining=_quota_left(client, ep),
    )  # fmt: skip
    plan.ids = values
    if warn:
        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=3)
        _warn_quota(plan, stacklevel=3)
    return plan


def plan_compliance(
    ids: Any,
    category: str = "video",
    *,
    client: Client | None = None,
    warn: bool = True,
) -> Plan:
    """Plan batch compliance tasks: the ids uploaded in tasks of at most 10,000 (SPEC §3.11).

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
    raw = _items(ids, columns, f"{category} ids", "check_compliance")
    values = _unique(clean_ids(raw, what=f"check_compliance: {category} ids"))
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
        quota_remaining=_quota_left(client, endpoint),
    )
    if warn:
        _warn_quota(plan, stacklevel=3)
    return plan
