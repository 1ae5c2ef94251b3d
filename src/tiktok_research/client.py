"""The client of the TikTok Research API: auth, limits, retries, quota, pages and every endpoint.

Example (offline, against the sandbox)::

    from tiktok_research import Client, Q

    client = Client.sandbox()
    videos = client.query_videos(Q.hashtag_name.eq("climate"), "20240101", "20240131", max_total=50)

Every request goes through one path (:meth:`Client._request`): the client-side ``max_requests``
budget, the token, the shared rate limiter, the HTTP call, the quota ledger, the ``on_response``
hook (called with the verbatim body before anything is parsed), the parse, and the one retry
policy of :mod:`tiktok_research._retry`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from . import pagination as pg
from ._auth import TokenManager, resolve_credentials
from ._endpoints import DAILY_QUOTA, DEFAULT_BASE_URL, ENDPOINTS, MAX_WINDOW_DAYS, Endpoint
from ._http import Http, RawResponse, TransportFailure
from ._ledger import Ledger
from ._ratelimit import RateLimiter
from ._retry import MAX_RETRIES, RetryBudget, RetryPolicy, parse_retry_after, retry_kind
from ._windows import check_range, format_date, halve, parse_date, split_windows, warn_if_recent
from .errors import (
    AuthenticationError,
    BudgetExhaustedError,
    InvalidRequestError,
    QuotaExhaustedError,
    ServerError,
    TikTokResearchError,
    error_from_body,
    is_transient_message,
)
from .pagination import Page, Position
from .query import Query, as_query

__all__ = ["Client", "OnResponse", "QuotaStatus", "RequestPlan"]

log = logging.getLogger("tiktok_research")

ENV_BASE_URL = "TIKTOK_RESEARCH_BASE_URL"

#: ``lookup(path, body) -> (status, raw_bytes) | None`` (see :meth:`Client.set_replay`)
Replay = Callable[[str, dict[str, Any]], "tuple[int, bytes] | None"]

#: ``on_response(endpoint, request, status, raw_bytes, retrieved_at)``
OnResponse = Callable[[str, dict[str, Any], int, bytes, datetime], None]

_ID_PARAMS = ("video_id", "comment_id", "playlist_id", "shop_id", "product_id")
_USER_PARAMS = ("username",)
_MANAGED_KEYS = ("cursor", "search_id", "max_count", "limit", "page_size", "page_start", "fields")


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise TypeError(f"clock() must return a datetime or a unix time, got {value!r}")


def next_utc_midnight(now: datetime) -> datetime:
    """The next 00:00 UTC after ``now`` (when the daily quota resets)."""
    now = now.astimezone(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


def clean_username(value: Any) -> str:
    """Normalise a handle: strip spaces, NULs, a leading ``@`` and a ``tiktok.com/@name`` URL.

    Handles are lower-case (SPEC §8), as :func:`tiktok_research.select.clean_usernames` makes them.
    """
    if not isinstance(value, str):
        raise InvalidRequestError(f"username must be a string, got {value!r}")
    name = value.replace("\x00", "").strip().lower()
    if "tiktok.com/@" in name:
        name = name.split("tiktok.com/@", 1)[1].split("/", 1)[0].split("?", 1)[0]
    name = name.lstrip("@").strip()
    if not name:
        raise InvalidRequestError(f"username {value!r} is empty")
    if any(ch.isspace() for ch in name):
        raise InvalidRequestError(f"username {value!r} contains a space; give the handle only")
    return name


def _check_id(key: str, value: Any) -> int:
    if isinstance(value, (bool, float)):
        raise InvalidRequestError(
            f"{key} must be an int or a string of digits, got {value!r} "
            "(a float cannot hold a 19-digit id exactly)"
        )
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise InvalidRequestError(f"{key} must be a positive integer id, got {value!r}")


@dataclass
class QuotaStatus:
    """Requests used and remaining today (UTC) for a client key, from the local ledger.

    The quota is shared by the whole organisation: this ledger sees this machine's requests only.
    """

    day: date
    used: dict[str, int]
    limits: dict[str, int]
    by_endpoint: dict[str, int]

    @property
    def remaining(self) -> dict[str, int]:
        """Requests left today, by quota family."""
        return {f: max(0, self.limits.get(f, 0) - self.used.get(f, 0)) for f in self.limits}

    def __str__(self) -> str:
        parts = [
            f"{f}: {self.used.get(f, 0)} used, {self.remaining[f]} of {self.limits[f]} left"
            for f in self.limits
        ]
        return f"quota on {self.day.isoformat()} (UTC): " + "; ".join(parts)


@dataclass
class RequestPlan:
    """A dry run of a video query: what will be sent and what it will at least cost.

    Attributes:
        query: The validated query.
        start_date, end_date: The whole range (inclusive).
        windows: The date windows (inclusive, non-overlapping).
        fields: Fields that will be asked for.
        page_size: ``max_count`` of every request.
        max_total: Row limit, or None.
        first_request: Path, params and body of the first request.
        min_requests: The least number of requests the run costs (one per window, or fewer when
            ``max_total`` can be reached earlier). Short or filtered pages cost more.
        quota_remaining: Requests left today for the research family, per the local ledger.
    """

    query: Query
    start_date: date
    end_date: date
    windows: list[tuple[date, date]]
    fields: list[str]
    page_size: int
    max_total: int | None
    first_request: dict[str, Any]
    min_requests: int
    quota_remaining: int | None = None

    def __str__(self) -> str:
        lines = [
            f"video query: {self.query}",
            f"  range {self.start_date.isoformat()} .. {self.end_date.isoformat()} (inclusive) "
            f"-> {len(self.windows)} window(s) of at most {MAX_WINDOW_DAYS} days:",
        ]
        shown = self.windows if len(self.windows) <= 8 else self.windows[:4] + self.windows[-3:]
        for i, (s, e) in enumerate(shown):
            if len(self.windows) > 8 and i == 4:
                lines.append(f"    ... {len(self.windows) - 7} more")
            lines.append(f"    {s.isoformat()} .. {e.isoformat()}")
        lines.append(f"  {self.page_size} videos per request, fields: {', '.join(self.fields)}")
        if self.max_total is not None:
            lines.append(f"  stops after {self.max_total} videos")
        lines.append(f"  at least {self.min_requests} request(s)")
        if self.quota_remaining is not None:
            lines.append(f"  {self.quota_remaining} requests left today per the local ledger")
        lines.append(f"  first request: POST {self.first_request['path']}")
        lines.append("    " + json.dumps(self.first_request["body"], ensure_ascii=False))
        return "\n".join(lines)


@dataclass
class _Seq:
    """Everything needed to run or resume one page sequence (serialised into ``Page.state``)."""

    ep: Endpoint
    params: dict[str, Any]
    fields: list[str] | None
    max_count: int | None
    max_total: int | None
    collected: int = 0
    pos: Position = field(default_factory=Position)
    windows: list[tuple[date, date]] = field(default_factory=list)  # video query only
    query: Query | None = None
    is_random: bool = False
    resumed: bool = False
    skip_to: int | None = None  # after a refused search_id: jump to this offset of a new search

    def state(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "v": pg.STATE_VERSION,
            "endpoint": self.ep.name,
            "params": self.params,
            "fields": self.fields,
            "max_count": self.max_count,
            "max_total": self.max_total,
            "collected": self.collected,
            **pg.position_to_state(self.pos),
        }
        if self.ep.name == "video_query":
            assert self.query is not None
            out["params"] = {"query": self.query.to_dict(), "is_random": self.is_random}
            out["windows"] = [[format_date(s), format_date(e)] for s, e in self.windows]
            out["skip_to"] = self.skip_to
        result: dict[str, Any] = json.loads(json.dumps(out))
        return result


class Client:
    """A client of the TikTok Research API.

    Args:
        client_key: Client key; default ``$TIKTOK_CLIENT_KEY``.
        client_secret: Client secret; default ``$TIKTOK_CLIENT_SECRET``.
        base_url: Service root; default ``$TIKTOK_RESEARCH_BASE_URL`` or ``https://open.tiktokapis.com``.
        qps: Requests per second across all threads (client-side limiter); None switches it off.
        timeout: Seconds per request.
        max_retries: Retries of one failing request (see :mod:`tiktok_research._retry`).
        max_requests: Budget of requests for this client; the request that would exceed it is
            not sent and :class:`BudgetExhaustedError` (with a resumable ``state``) is raised.
        wait_for_quota: On an exhausted daily quota, wait for 00:00 UTC (with a countdown)
            instead of raising :class:`QuotaExhaustedError`.
        transport: An ``httpx`` transport (tests, the sandbox).
        ledger: True for the persistent daily-quota ledger in the cache dir, False for none, or a
            folder path.
        sleep: Function used to wait (tests pass ``lambda s: None``).
        clock: Function returning the current time (aware datetime or unix seconds).
        retry: A full :class:`RetryPolicy` (overrides ``max_retries``).
        end_date_exclusive: Set if the service treats ``end_date`` as exclusive (see
            :mod:`tiktok_research._windows`).
        progress: Show a countdown bar while waiting for the quota reset.

    Raises:
        AuthenticationError: if credentials are missing (naming the environment variables).

    Example:
        >>> client = Client.sandbox()  # doctest: +SKIP
        >>> client.user_info("some_user")  # doctest: +SKIP
    """

    def __init__(
        self,
        client_key: str | None = None,
        client_secret: str | None = None,
        *,
        base_url: str | None = None,
        qps: float | None = 5.0,
        timeout: float = 30.0,
        max_retries: int = MAX_RETRIES,
        max_requests: int | None = None,
        wait_for_quota: bool = False,
        transport: Any = None,
        ledger: bool | str | Path = True,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], Any] | None = None,
        retry: RetryPolicy | None = None,
        end_date_exclusive: bool = False,
        progress: bool = True,
    ) -> None:
        self._credentials = resolve_credentials(client_key, client_secret)
        self.base_url = (base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL).rstrip("/")
        if max_requests is not None and max_requests < 0:
            raise InvalidRequestError(f"max_requests must be >= 0, got {max_requests}")
        self._sleep = sleep if sleep is not None else time.sleep
        self._clock = clock
        self._http = Http(self.base_url, timeout, transport)
        self._tokens = TokenManager(self._credentials, self._http, self._now)
        self.qps = qps
        self._limiter = RateLimiter(qps, sleep=self._sleep)
        self.retry = retry if retry is not None else RetryPolicy(max_retries=max_retries)
        self._retry_budget_obj = RetryBudget(self.retry.daily_budget)
        self._retry_budget_day: date | None = None
        if ledger is True:
            self._ledger: Ledger | None = Ledger(self._credentials.client_key)
        elif ledger is False or ledger is None:
            self._ledger = None
        else:
            self._ledger = Ledger(self._credentials.client_key, ledger)
        self.max_requests = max_requests
        self.wait_for_quota = wait_for_quota
        self.end_date_exclusive = end_date_exclusive
        self.progress = progress
        self._spent: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.sandbox_instance: Any = None
        self._replay: Replay | None = None

    # ------------------------------------------------------------------ construction helpers

    @classmethod
    def sandbox(cls, sandbox: Any = None, **kw: Any) -> Client:
        """A client wired to an in-process sandbox (no network, no credentials).

        Args:
            sandbox: A ``tiktok_research.sandbox.Sandbox``; a new default one if None.
            **kw: Other :class:`Client` arguments (``qps`` defaults to None here, and the quota
                ledger to a temporary folder: the sandbox's quota is not the real one).

        Returns:
            The client; the sandbox is available as ``client.sandbox_instance``.
        """
        if sandbox is None:
            from .sandbox import Sandbox

            sandbox = Sandbox()
        kw.setdefault("client_key", "sandbox")
        kw.setdefault("client_secret", "sandbox")
        kw.setdefault("base_url", getattr(sandbox, "BASE_URL", "https://sandbox.invalid"))
        kw.setdefault("qps", None)
        if "ledger" not in kw:
            # a sandbox has its own fresh quota: its clients share a ledger of its own, not the
            # user's real one
            ledger_dir = getattr(sandbox, "_client_ledger_dir", None)
            if ledger_dir is None:
                import tempfile

                ledger_dir = tempfile.mkdtemp(prefix="tiktok-research-sandbox-ledger-")
                sandbox._client_ledger_dir = ledger_dir
            kw["ledger"] = ledger_dir
        if "clock" not in kw:
            sb_clock = getattr(sandbox, "clock", None)
            if callable(sb_clock):
                kw["clock"] = sb_clock
        client = cls(transport=sandbox.transport(), **kw)
        client.sandbox_instance = sandbox
        return client

    def __repr__(self) -> str:
        return (
            f"Client(client_key={self._credentials.client_key!r}, base_url={self.base_url!r}, "
            f"qps={self.qps!r}, max_requests={self.max_requests!r}, "
            f"requests_spent={sum(self._spent.values())})"
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _now(self) -> datetime:
        return _utc(self._clock()) if self._clock is not None else datetime.now(UTC)

    def _today(self) -> date:
        return self._now().date()

    # ------------------------------------------------------------------ quota and budget

    @property
    def requests_spent(self) -> dict[str, int]:
        """Requests this client instance has sent, by endpoint (retries included)."""
        with self._lock:
            return dict(self._spent)

    @property
    def quota(self) -> QuotaStatus:
        """Used and remaining requests today (UTC), per quota family, from the local ledger."""
        day = self._today()
        by_ep = self._ledger.by_endpoint(day) if self._ledger is not None else dict(self._spent)
        used: dict[str, int] = dict.fromkeys(DAILY_QUOTA, 0)
        for name, n in by_ep.items():
            fam = ENDPOINTS[name].quota_family if name in ENDPOINTS else "research"
            used[fam] = used.get(fam, 0) + n
        return QuotaStatus(day, used, {str(k): v for k, v in DAILY_QUOTA.items()}, by_ep)

    @property
    def token_fetches(self) -> int:
        """How many access tokens this client has fetched."""
        return self._tokens.fetches

    @property
    def _retry_budget(self) -> RetryBudget:
        """The client's retry budget of today (UTC): it is renewed with the daily quota."""
        today = self._today()
        with self._lock:
            if self._retry_budget_day != today:
                if self._retry_budget_day is not None:
                    self._retry_budget_obj = RetryBudget(self.retry.daily_budget)
                self._retry_budget_day = today
            return self._retry_budget_obj

    def _sequence_budget(self) -> RetryBudget:
        """A fresh budget for one page sequence, drawing also on the client's daily budget."""
        return RetryBudget(self.retry.budget, parent=self._retry_budget)

    def _reserve_request(self, ep: Endpoint) -> None:
        with self._lock:
            total = sum(self._spent.values())
            if self.max_requests is not None and total + 1 > self.max_requests:
                raise BudgetExhaustedError(
                    f"the request budget max_requests={self.max_requests} is used up "
                    f"({total} requests sent); nothing more was sent. Resume with "
                    "state=err.state on a client with a larger budget",
                    endpoint=ep.name,
                )
            self._spent[ep.name] += 1

    def _unreserve(self, ep: Endpoint) -> None:
        with self._lock:
            self._spent[ep.name] -= 1
            if self._spent[ep.name] <= 0:
                del self._spent[ep.name]

    def _record_ledger(self, ep: Endpoint) -> None:
        if self._ledger is not None:
            try:
                self._ledger.record(ep.name, self._today())
            except OSError as e:  # never lose a page because the cache dir is read-only
                log.warning("could not update the quota ledger: %s", e)

    def _wait_for_reset(self, reset_at: datetime) -> None:
        total = max(0.0, (reset_at - self._now()).total_seconds()) + 5.0
        log.warning("daily quota exhausted; waiting %.0f s for the reset at %s", total, reset_at)
        step = 1.0 if total <= 120 else 30.0
        steps = math.ceil(total / step)
        bar = None
        if self.progress:
            from ._progress import bar as progress_bar

            bar = progress_bar(
                total=round(total),
                unit="s",
                desc=f"quota resets {reset_at:%H:%M} UTC",
                leave=False,
            )
        try:
            left = total
            for _ in range(steps):
                chunk = min(step, left)
                self._sleep(chunk)
                left -= chunk
                if bar is not None:
                    bar.update(round(chunk))
        finally:
            if bar is not None:
                bar.close()

    def set_replay(self, lookup: Replay | None) -> None:
        """Answer requests from an archive of earlier answers instead of the network.

        Args:
            lookup: ``lookup(path, body) -> (status, raw_bytes) | None``; a hit is parsed like a
                live answer but spends no request, is not counted and is not passed to
                ``on_response`` (it is already archived). None switches replay off.
        """
        self._replay = lookup

    # ------------------------------------------------------------------ the one request path

    def _parse(self, ep: Endpoint, resp: RawResponse) -> tuple[dict[str, Any], Any]:
        """Return ``(data, body)`` for an ok answer, raise the right error otherwise."""
        try:
            body = json.loads(resp.content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            kind = "an empty body" if not resp.content.strip() else "a body that is not JSON"
            raise ServerError(
                f"the service answered HTTP {resp.status} with {kind} "
                "(a gateway error such as a 504 timeout)",
                http_status=resp.status,
                endpoint=ep.name,
            ) from None
        if not isinstance(body, dict):
            raise ServerError(
                f"the service answered HTTP {resp.status} with JSON that is not an object",
                http_status=resp.status,
                endpoint=ep.name,
            )
        err = body.get("error")
        code = err.get("code") if isinstance(err, dict) else err
        data = body.get("data")
        ok = code == "ok" or (
            code is None
            and (resp.status == 200 or (resp.status == 500 and isinstance(data, dict) and data))
        )
        if ok:
            if resp.status != 200:
                log.info("%s: HTTP %d with a valid ok body; accepted", ep.name, resp.status)
            return (data if isinstance(data, dict) else {}), body
        raise error_from_body(resp.status, body, endpoint=ep.name)

    def _request(
        self,
        ep: Endpoint,
        body: dict[str, Any],
        query_params: dict[str, str],
        on_response: OnResponse | None,
        *,
        retry_limit: int | None = None,
        transient_limit: int | None = None,
        use_replay: bool = True,
        budget: RetryBudget | None = None,
    ) -> tuple[RawResponse, dict[str, Any], Any, datetime, dict[str, Any]]:
        """Send one logical request with retries; return the ok answer."""
        record = {"method": "POST", "path": ep.path, "params": dict(query_params), "body": body}
        if budget is None:
            budget = self._sequence_budget()
        replay = self._replay if use_replay else None
        if replay is not None:
            hit = replay(ep.path, body)
            if hit is not None:  # answered from an earlier run's archive: no request spent
                cached = RawResponse(hit[0], hit[1], {})
                data, parsed = self._parse(ep, cached)
                return cached, data, parsed, self._now(), record
        attempt = 0
        refreshed = False
        while True:
            self._reserve_request(ep)
            try:
                token = self._tokens.get()
            except BaseException:
                self._unreserve(ep)
                raise
            self._limiter.acquire()
            retry_after: float | None = None
            try:
                resp = self._http.post_json(ep.path, query_params, body, token)
            except TransportFailure as f:
                if f.maybe_sent:
                    self._record_ledger(ep)
                else:
                    self._unreserve(ep)
                err: TikTokResearchError = ServerError(
                    f"no answer from the service: {f.detail}",
                    code=f.kind,
                    endpoint=ep.name,
                )
            else:
                retrieved_at = self._now()
                self._record_ledger(ep)
                if on_response is not None:
                    on_response(ep.name, record, resp.status, resp.content, retrieved_at)
                try:
                    data, parsed = self._parse(ep, resp)
                    return resp, data, parsed, retrieved_at, record
                except TikTokResearchError as e:
                    err = e
                retry_after = parse_retry_after(resp.headers.get("retry-after"))
                if (
                    isinstance(err, AuthenticationError)
                    and err.code == "access_token_invalid"
                    and not refreshed
                ):
                    log.info("%s: access token rejected; fetching a new one", ep.name)
                    self._tokens.invalidate(token)
                    refreshed = True
                    continue
            if isinstance(err, QuotaExhaustedError):
                err.reset_at = next_utc_midnight(self._now())
                if self.wait_for_quota:
                    self._wait_for_reset(err.reset_at)
                    continue
                raise err
            # A multi-day video window gets fewer retries on server errors: it is split instead.
            rkind = retry_kind(err)
            limit = (
                retry_limit
                if rkind == "server"
                else transient_limit
                if rkind == "transient"
                else None
            )
            kind = self.retry.should_retry(
                err, attempt, budget, limit=limit, retry_after=retry_after
            )
            if kind is None:
                if budget.remaining == 0 and self.retry.should_retry(
                    err, attempt, RetryBudget(1), limit=limit, retry_after=retry_after
                ):
                    err.message += (
                        " (not retried: the retry budget is spent: "
                        f"{self.retry.budget} retries per sequence, {self.retry.daily_budget} "
                        "per client per day)"
                    )
                raise err
            delay = self.retry.delay(attempt, kind, retry_after)
            log.warning(
                "%s: %s; retry %d/%d in %.1f s",
                ep.name,
                err,
                attempt + 1,
                self.retry.max_retries if limit is None else limit,
                delay,
            )
            self._sleep(delay)
            attempt += 1

    # ------------------------------------------------------------------ validation

    @staticmethod
    def _endpoint(endpoint: str | Endpoint) -> Endpoint:
        if isinstance(endpoint, Endpoint):
            return endpoint
        ep = ENDPOINTS.get(endpoint)
        if ep is None:
            import difflib

            close = difflib.get_close_matches(str(endpoint), list(ENDPOINTS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InvalidRequestError(
                f"unknown endpoint {endpoint!r}.{hint} Endpoints: {', '.join(ENDPOINTS)}"
            )
        return ep

    @staticmethod
    def _check_fields(ep: Endpoint, fields: str | Sequence[str] | None) -> list[str] | None:
        if ep.fields_in == "none":
            if fields is not None and list(fields) and list(fields) != list(ep.fields):
                raise InvalidRequestError(
                    f"{ep.name} has no fields parameter; it always returns {', '.join(ep.fields)}",
                    endpoint=ep.name,
                )
            return None
        if fields is None:
            return list(ep.fields)
        names = [f.strip() for f in fields.split(",")] if isinstance(fields, str) else list(fields)
        names = [n for n in names if n]
        if not names:
            raise InvalidRequestError(f"{ep.name}: fields is empty", endpoint=ep.name)
        import difflib

        for n in names:
            if n not in ep.fields:
                close = difflib.get_close_matches(n, ep.fields, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise InvalidRequestError(
                    f"{ep.name}: unknown field {n!r}.{hint} Fields: {', '.join(ep.fields)}",
                    endpoint=ep.name,
                )
        return list(dict.fromkeys(names))

    @staticmethod
    def _check_count(ep: Endpoint, max_count: int | None, max_total: int | None) -> None:
        if max_count is not None:
            if ep.max_count is None:
                raise InvalidRequestError(f"{ep.name} takes no max_count", endpoint=ep.name)
            if (
                isinstance(max_count, bool)
                or not isinstance(max_count, int)
                or not (1 <= max_count <= ep.max_count)
            ):
                raise InvalidRequestError(
                    f"{ep.name}: max_count must be between 1 and {ep.max_count}, got {max_count!r}",
                    endpoint=ep.name,
                )
        if max_total is not None and (
            isinstance(max_total, bool) or not isinstance(max_total, int) or max_total < 0
        ):
            raise InvalidRequestError(
                f"max_total must be a non-negative int, got {max_total!r}", endpoint=ep.name
            )

    @staticmethod
    def _check_params(ep: Endpoint, params: dict[str, Any] | None) -> dict[str, Any]:
        params = dict(params or {})
        allowed = {ep.item_key} if ep.item_key else set()
        if ep.name == "comments":
            allowed = {"video_id", "comment_id"}
        for k in params:
            if k in _MANAGED_KEYS:
                raise InvalidRequestError(
                    f"{ep.name}: {k!r} is managed by the client; use fields=, max_count= or "
                    "state= instead of putting it in params",
                    endpoint=ep.name,
                )
            if k not in allowed:
                raise InvalidRequestError(
                    f"{ep.name}: unknown parameter {k!r}; it takes "
                    f"{' or '.join(sorted(allowed)) or 'no parameters'}",
                    endpoint=ep.name,
                )
        if ep.name == "comments":
            given = [k for k in ("video_id", "comment_id") if params.get(k) is not None]
            if len(given) != 1:
                raise InvalidRequestError(
                    "comments: give exactly one of video_id (comments of a video) or comment_id "
                    "(replies to a comment)",
                    endpoint=ep.name,
                )
            params = {given[0]: params[given[0]]}
        elif ep.item_key and params.get(ep.item_key) is None:
            raise InvalidRequestError(f"{ep.name}: {ep.item_key} is required", endpoint=ep.name)
        for k, v in list(params.items()):
            if k in _ID_PARAMS:
                params[k] = _check_id(k, v)
            elif k in _USER_PARAMS:
                params[k] = clean_username(v)
            elif k == "shop_name":
                if not isinstance(v, str) or not v.strip():
                    raise InvalidRequestError("tts_shop: shop_name must be a non-empty string")
                params[k] = v.strip()
        return params

    # ------------------------------------------------------------------ page sequences

    def pages(
        self,
        endpoint: str,
        params: dict[str, Any] | None = None,
        *,
        fields: str | Sequence[str] | None = None,
        max_count: int | None = None,
        max_total: int | None = None,
        state: dict[str, Any] | None = None,
        on_response: OnResponse | None = None,
    ) -> Iterator[Page]:
        """Iterate over the raw pages of any endpoint. Validation happens before the first request.

        Args:
            endpoint: Endpoint name (``"comments"``, ``"followers"``, ``"video_query"``...).
            params: The endpoint's body keys, e.g. ``{"username": "x"}``; for ``video_query``
                ``{"query": ..., "start_date": ..., "end_date": ...}`` (any range length).
            fields: Fields to ask for (default: all the endpoint has).
            max_count: Page size (default: the endpoint's maximum).
            max_total: Stop after this many items (exactly; the last page is truncated).
            state: A ``Page.state`` (or an error's ``.state``) to resume from.
            on_response: Called with every HTTP answer, verbatim, before it is parsed.

        Returns:
            An iterator of :class:`Page`.

        Raises:
            InvalidRequestError: at call time for anything locally invalid (no request spent).
        """
        ep = self._endpoint(state["endpoint"] if state and "endpoint" in state else endpoint)
        if ep.name == "video_query":
            p = dict(params or {})
            if state is not None:
                return self._video_iter(self._seq_from_state(ep, state, max_total), on_response)
            unknown = set(p) - {"query", "start_date", "end_date", "is_random"}
            if unknown:
                raise InvalidRequestError(
                    f"video_query: unknown parameter(s) {sorted(unknown)}; it takes query, "
                    "start_date, end_date and is_random",
                    endpoint=ep.name,
                )
            return self.video_pages(
                p.get("query"),
                p.get("start_date"),  # type: ignore[arg-type]  # checked in _video_seq
                p.get("end_date"),  # type: ignore[arg-type]
                fields=fields,
                max_count=max_count,
                max_total=max_total,
                is_random=bool(p.get("is_random", False)),
                on_response=on_response,
            )
        if state is not None:
            seq = self._seq_from_state(ep, state, max_total)
        else:
            self._check_count(ep, max_count, max_total)
            seq = _Seq(
                ep,
                self._check_params(ep, params),
                self._check_fields(ep, fields),
                max_count,
                max_total,
                pos=pg.first_position(ep),
            )
        return self._iter(seq, on_response)

    def _seq_from_state(self, ep: Endpoint, state: dict[str, Any], max_total: int | None) -> _Seq:
        if not isinstance(state, dict) or state.get("v") != pg.STATE_VERSION:
            raise InvalidRequestError(f"not a resumable state: {state!r}", endpoint=ep.name)
        params = dict(state.get("params") or {})
        seq = _Seq(
            ep,
            params,
            state.get("fields"),
            state.get("max_count"),
            max_total if max_total is not None else state.get("max_total"),
            collected=int(state.get("collected") or 0),
            pos=pg.position_from_state(state),
            resumed=True,
        )
        if ep.name == "video_query":
            seq.query = as_query(params.get("query"))
            seq.is_random = bool(params.get("is_random", False))
            seq.windows = [(parse_date(s), parse_date(e)) for s, e in state.get("windows") or []]
            seq.params = {}
            skip = state.get("skip_to")
            seq.skip_to = int(skip) if isinstance(skip, int) and skip > 0 else None
        return seq

    def _query_params(self, seq: _Seq) -> dict[str, str]:
        if seq.ep.fields_in == "query" and seq.fields:
            return {"fields": ",".join(seq.fields)}
        return {}

    def _make_page(
        self,
        seq: _Seq,
        resp: RawResponse,
        data: dict[str, Any],
        body: Any,
        retrieved_at: datetime,
        record: dict[str, Any],
        items: list[dict[str, Any]],
        state: dict[str, Any] | None,
        window: tuple[date, date] | None = None,
    ) -> Page:
        err = body.get("error") if isinstance(body, dict) else None
        cursor = pg._as_int(data.get("cursor"))
        sid = data.get("search_id")
        has_more = data.get("has_more")
        return Page(
            endpoint=seq.ep.name,
            request=record,
            status=resp.status,
            raw=resp.content,
            data=data,
            items=items,
            cursor=cursor,
            has_more=has_more if isinstance(has_more, bool) else None,
            search_id=str(sid) if sid else None,
            log_id=str(err.get("log_id")) if isinstance(err, dict) and err.get("log_id") else None,
            retrieved_at=retrieved_at,
            state=state,
            window=window,
        )

    def _take(self, seq: _Seq, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if seq.max_total is not None:
            items = items[: max(0, seq.max_total - seq.collected)]
        seq.collected += len(items)
        return items

    def _iter(self, seq: _Seq, on_response: OnResponse | None) -> Iterator[Page]:
        ep = seq.ep
        qparams = self._query_params(seq)
        budget = self._sequence_budget()
        while True:
            if seq.max_total is not None and seq.collected >= seq.max_total:
                return
            size = pg.page_size(ep, seq.max_count, seq.pos)
            if size == 0:
                return
            body = pg.build_body(ep, seq.params, seq.pos, size)
            if ep.fields_in == "body" and seq.fields:
                body["fields"] = ",".join(seq.fields)
            try:
                resp, data, parsed, at, record = self._request(
                    ep, body, qparams, on_response, budget=budget
                )
            except TikTokResearchError as e:
                e.state = seq.state()
                raise
            items = pg.extract_items(ep, data)
            if ep.name == "user_info" and items and "username" not in items[0]:
                items[0]["username"] = seq.params.get("username")
            nxt = pg.next_position(ep, seq.pos, data, len(items), size)
            items = self._take(seq, items)
            state: dict[str, Any] | None = None
            if nxt is not None:
                seq.pos = nxt
                state = seq.state()
            yield self._make_page(seq, resp, data, parsed, at, record, items, state)
            if nxt is None:
                return

    # ------------------------------------------------------------------ video windows

    def _video_seq(
        self,
        query: Any,
        start_date: Any,
        end_date: Any,
        fields: str | Sequence[str] | None,
        max_count: int | None,
        max_total: int | None,
        is_random: bool,
        max_days: int,
    ) -> _Seq:
        ep = ENDPOINTS["video_query"]
        if start_date is None or end_date is None:
            raise InvalidRequestError(
                "video_query needs start_date and end_date (e.g. '20240101', '20240131')",
                endpoint=ep.name,
            )
        q = as_query(query)
        start, end = parse_date(start_date), parse_date(end_date)
        check_range(start, end)
        today = self._today()
        if start > today:
            raise InvalidRequestError(
                f"start_date {start.isoformat()} is in the future "
                f"(today is {today.isoformat()} UTC)",
                endpoint=ep.name,
            )
        self._check_count(ep, max_count, max_total)
        fl = self._check_fields(ep, fields)
        warn_if_recent(end, today, stacklevel=4)
        days = max_days - 1 if self.end_date_exclusive else max_days
        return _Seq(
            ep,
            {},
            fl,
            max_count,
            max_total,
            pos=Position(cursor=0),
            windows=split_windows(start, end, days),
            query=q,
            is_random=is_random,
        )

    def video_pages(
        self,
        query: Any,
        start_date: date | datetime | str,
        end_date: date | datetime | str,
        *,
        fields: str | Sequence[str] | None = None,
        max_count: int | None = None,
        max_total: int | None = None,
        is_random: bool = False,
        state: dict[str, Any] | None = None,
        on_response: OnResponse | None = None,
    ) -> Iterator[Page]:
        """Pages of a video query over a date range of any length, window after window.

        The range is split into non-overlapping windows of at most 30 days (see
        :mod:`tiktok_research._windows`). A window that keeps failing with a server error is split
        into halves, down to single days, before the error is raised; ``Page.state`` records the
        windows still to do, so a resumed run continues exactly there.

        Args:
            query: A ``Q`` expression, :class:`Query`, dict or JSON text.
            start_date: First day (UTC), as a date, datetime, ``"YYYYMMDD"`` or ``"YYYY-MM-DD"``.
            end_date: Last day (UTC, inclusive).
            fields: Video fields (default: all).
            max_count: Page size (default 100).
            max_total: Stop after this many videos.
            is_random: Ask for random results (one request per window, no pagination).
            state: Resume from a ``Page.state`` (the other arguments are then ignored).
            on_response: Called with every HTTP answer, verbatim, before it is parsed.

        Returns:
            An iterator of :class:`Page`; validation happens before it is returned.
        """
        ep = ENDPOINTS["video_query"]
        if state is not None:
            return self._video_iter(self._seq_from_state(ep, state, max_total), on_response)
        seq = self._video_seq(
            query, start_date, end_date, fields, max_count, max_total, is_random, MAX_WINDOW_DAYS
        )
        return self._video_iter(seq, on_response)

    def window_pages(
        self,
        query: Any,
        start_date: date | datetime | str,
        end_date: date | datetime | str,
        **kw: Any,
    ) -> Iterator[Page]:
        """Pages of one date window (<= 30 days): the unit the collection layer runs in parallel.

        Same arguments as :meth:`video_pages`; the window is still split into halves if it keeps
        failing with server errors.

        Raises:
            InvalidRequestError: if the range spans more than 30 days.
        """
        s, e = parse_date(start_date), parse_date(end_date)
        limit = MAX_WINDOW_DAYS - 1 if self.end_date_exclusive else MAX_WINDOW_DAYS
        if (e - s).days > limit:
            raise InvalidRequestError(
                f"a window may span at most {limit} days (end - start); "
                f"got {(e - s).days}. Use video_pages() or split_windows()",
                endpoint="video_query",
            )
        return self.video_pages(query, s, e, **kw)

    def _video_iter(self, seq: _Seq, on_response: OnResponse | None) -> Iterator[Page]:
        ep = seq.ep
        assert seq.query is not None
        qparams = self._query_params(seq)
        qdict = seq.query.to_dict()
        stale_search_id = seq.resumed and bool(seq.pos.search_id)
        budget = self._sequence_budget()
        while seq.windows:
            if seq.max_total is not None and seq.collected >= seq.max_total:
                return
            start, end = seq.windows[0]
            size = pg.page_size(ep, seq.max_count, seq.pos)
            wire_end = end + timedelta(days=1) if self.end_date_exclusive else end
            body: dict[str, Any] = {
                "query": qdict,
                "start_date": format_date(start),
                "end_date": format_date(wire_end),
            }
            if seq.is_random:
                body["is_random"] = True
                body["max_count"] = size
            else:
                body = pg.build_body(ep, body, seq.pos, size)
            multi_day = start < end
            try:
                resp, data, parsed, at, record = self._request(
                    ep,
                    body,
                    qparams,
                    on_response,
                    retry_limit=self.retry.window_retries if multi_day else None,
                    # a search_id from a resumed state may simply have expired: retry it once only
                    transient_limit=1 if stale_search_id else None,
                    # a new search must be live: an archived answer carries the refused search_id
                    use_replay=not seq.skip_to,
                    budget=budget,
                )
            except ServerError as e:
                if multi_day and e.code != "connect" and budget.take():
                    halves = halve(start, end)
                    log.warning(
                        "video query: window %s..%s keeps failing (%s); splitting it into %s",
                        start,
                        end,
                        e.message,
                        ", ".join(f"{a}..{b}" for a, b in halves),
                    )
                    seq.windows[:1] = halves
                    seq.pos = Position(cursor=0)
                    continue
                e.state = seq.state()
                raise
            except InvalidRequestError as e:
                if seq.pos.search_id and is_transient_message(e.message) and budget.take():
                    # The search_id keeps being refused (expired, e.g. after a quota stop): start a
                    # new search (one request), then jump with its search_id to the old offset.
                    log.warning(
                        "video query: search_id %s refused (%s); starting a new search and "
                        "jumping to cursor %s",
                        seq.pos.search_id,
                        e.message,
                        seq.pos.cursor,
                    )
                    seq.skip_to = seq.pos.cursor
                    seq.pos = Position(cursor=0)
                    stale_search_id = False
                    continue
                e.state = seq.state()
                raise
            except TikTokResearchError as e:
                e.state = seq.state()
                raise
            stale_search_id = False
            items = pg.extract_items(ep, data)
            nxt = None if seq.is_random else pg.next_position(ep, seq.pos, data, len(items), size)
            if seq.skip_to:
                # Re-asked first page of a new search: its rows were delivered before.
                items = []
                if nxt is not None and nxt.cursor is not None and nxt.cursor < seq.skip_to:
                    nxt = Position(cursor=seq.skip_to, search_id=nxt.search_id)
                seq.skip_to = None
            items = self._take(seq, items)
            if nxt is None:
                seq.windows.pop(0)
                seq.pos = Position(cursor=0)
            else:
                seq.pos = nxt
            done = not seq.windows
            state = None if done else seq.state()
            yield self._make_page(seq, resp, data, parsed, at, record, items, state, (start, end))

    # ------------------------------------------------------------------ dry run

    def plan(
        self,
        query: Any,
        start_date: date | datetime | str,
        end_date: date | datetime | str,
        max_total: int | None = None,
        *,
        fields: str | Sequence[str] | None = None,
        max_count: int | None = None,
    ) -> RequestPlan:
        """A dry run of a video query: validates it, sends nothing.

        Returns:
            A :class:`RequestPlan` with the windows, the first request and the minimum cost.

        Example:
            >>> print(client.plan(Q.keyword.eq("cat"), "20240101", "20240315"))  # doctest: +SKIP
        """
        seq = self._video_seq(
            query, start_date, end_date, fields, max_count, max_total, False, MAX_WINDOW_DAYS
        )
        ep = seq.ep
        size = pg.page_size(ep, seq.max_count, seq.pos) or 100
        s, e = seq.windows[0]
        wire_end = e + timedelta(days=1) if self.end_date_exclusive else e
        assert seq.query is not None
        body = pg.build_body(
            ep,
            {
                "query": seq.query.to_dict(),
                "start_date": format_date(s),
                "end_date": format_date(wire_end),
            },
            seq.pos,
            size,
        )
        n = len(seq.windows)
        if max_total is not None:
            n = min(n, math.ceil(max_total / size)) if max_total > 0 else 0
        remaining: int | None = None
        if self._ledger is not None:
            remaining = self.quota.remaining.get("research")
        return RequestPlan(
            query=seq.query,
            start_date=seq.windows[0][0],
            end_date=seq.windows[-1][1],
            windows=list(seq.windows),
            fields=list(seq.fields or []),
            page_size=size,
            max_total=max_total,
            first_request={
                "path": ep.path,
                "params": self._query_params(seq),
                "body": body,
            },
            min_requests=n,
            quota_remaining=remaining,
        )

    # ------------------------------------------------------------------ friendly methods

    def _all(self, pages: Iterator[Page]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in pages:
            out.extend(page.items)
        return out

    def query_videos(
        self,
        query: Any,
        start_date: date | datetime | str,
        end_date: date | datetime | str,
        **kw: Any,
    ) -> list[dict[str, Any]]:
        """All videos matching ``query`` created in ``[start_date, end_date]`` (UTC, inclusive).

        Args:
            query: A ``Q`` expression, :class:`Query`, dict or JSON text.
            start_date: First day.
            end_date: Last day (inclusive); any range length.
            **kw: ``fields``, ``max_count``, ``max_total``, ``is_random``, ``on_response``.

        Returns:
            The videos as dicts (ids as exact Python ints), de-duplicated on ``id``.
        """
        seen: set[Any] = set()
        out: list[dict[str, Any]] = []
        for item in self._all(self.video_pages(query, start_date, end_date, **kw)):
            vid = item.get("id", item.get("video_id"))
            if vid is not None:
                if vid in seen:
                    continue
                seen.add(vid)
            out.append(item)
        return out

    def user_info(self, username: str, **kw: Any) -> list[dict[str, Any]]:
        """Profile of one account (a list of one dict; ``username`` is added to it).

        Raises:
            UnavailableError: if the account is not found, private or restricted.
        """
        return self._all(self.pages("user_info", {"username": username}, **kw))

    def comments(
        self, video_id: int | str | None = None, comment_id: int | str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        """Comments of a video (``video_id``) or replies to a comment (``comment_id``).

        The service returns the top 1,000 comments at most.
        """
        params = {"video_id": video_id, "comment_id": comment_id}
        return self._all(self.pages("comments", params, **kw))

    def liked_videos(self, username: str, **kw: Any) -> list[dict[str, Any]]:
        """Videos an account liked (only if the account made its likes public)."""
        return self._all(self.pages("liked_videos", {"username": username}, **kw))

    def pinned_videos(self, username: str, **kw: Any) -> list[dict[str, Any]]:
        """Videos an account pinned to its profile."""
        return self._all(self.pages("pinned_videos", {"username": username}, **kw))

    def reposted_videos(self, username: str, **kw: Any) -> list[dict[str, Any]]:
        """Videos an account reposted (only if public)."""
        return self._all(self.pages("reposted_videos", {"username": username}, **kw))

    def followers(self, username: str, **kw: Any) -> list[dict[str, Any]]:
        """Followers of an account (``display_name``, ``username``; the service caps ~5,000)."""
        return self._all(self.pages("followers", {"username": username}, **kw))

    def following(self, username: str, **kw: Any) -> list[dict[str, Any]]:
        """Accounts an account follows (only if its following list is public)."""
        return self._all(self.pages("following", {"username": username}, **kw))

    def playlist_info(self, playlist_id: int | str, **kw: Any) -> list[dict[str, Any]]:
        """A playlist (a list of one dict; ``playlist_video_ids`` of all pages concatenated)."""
        merged: dict[str, Any] = {}
        for item in self._all(self.pages("playlist_info", {"playlist_id": playlist_id}, **kw)):
            ids = list(merged.get("playlist_video_ids", [])) + list(
                item.get("playlist_video_ids") or []
            )
            merged.update(item)
            merged["playlist_video_ids"] = ids
        return [merged] if merged else []

    def tts_shops(self, shop_name: str, **kw: Any) -> list[dict[str, Any]]:
        """TikTok Shop shops matching a name (EU only)."""
        return self._all(self.pages("tts_shop", {"shop_name": shop_name}, **kw))

    def tts_products(self, shop_id: int | str, **kw: Any) -> list[dict[str, Any]]:
        """Products of a TikTok Shop shop (EU only)."""
        return self._all(self.pages("tts_product", {"shop_id": shop_id}, **kw))

    def tts_reviews(self, product_id: int | str, **kw: Any) -> list[dict[str, Any]]:
        """Reviews of a TikTok Shop product (EU only)."""
        return self._all(self.pages("tts_review", {"product_id": product_id}, **kw))
