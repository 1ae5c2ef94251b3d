"""The client of the TikTok Research API: auth, limits, retries, quota, and the pages of a sequence.

Example (offline, against the sandbox):

    >>> import tiktok_research as tr
    >>> client = tr.Client.sandbox()
    >>> plan = tr.plan_videos(tr.Q.hashtag_name.eq("climate"), "20240101", "20240131",
    ...                       max_total=50, client=client)
    >>> videos = client.query_videos(plan)
    >>> 0 < len(videos) <= 50
    True

Every request goes through one path (:meth:`Client.request`): the client-side ``max_requests``
budget, the token, the shared rate limiter, the HTTP call, the quota ledger, the ``on_response``
hook (called with the verbatim body before anything is parsed), the parse, and the one retry
policy of :mod:`tiktok_research._retry`. :meth:`Client.pages` walks one page sequence (one item, or
one date window of a video query) with the paging rules of :mod:`tiktok_research.pagination`.
Collections of many windows or items, with an archive, resume and reports, are the collection
layer's (:func:`tiktok_research.fetch_videos` and the other ``fetch_*``); calls are validated and
planned above the client, in :mod:`tiktok_research.plan`, and the client walks the windows of a
plan (:meth:`Client.query_videos`). It imports nothing above it: arguments are checked with
:mod:`tiktok_research._checks`, and a window becomes a request body in
:func:`tiktok_research._windows.window_body`, the one place ``end_date_exclusive`` is applied.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, Unpack

from ._auth import TokenManager, resolve_credentials
from ._checks import (
    check_base_url,
    check_day,
    check_fields,
    check_max_total,
    check_positive,
    clean_ids,
    clean_usernames,
)
from ._endpoints import (
    ADLIB_ENDPOINTS,
    DAILY_QUOTA,
    DEFAULT_BASE_URL,
    ENDPOINTS,
    Endpoint,
    ValidationEndpoint,
    charged,
    endpoint_named,
    quota_family,
)
from ._http import Http, RawResponse, Transport, TransportFailure
from ._ledger import Ledger, by_family
from ._ratelimit import RateLimiter
from ._retry import MAX_RETRIES, RetryBudget, RetryPolicy, call_with_retries, parse_retry_after
from ._signals import exchange
from ._windows import window_body, window_days
from .errors import (
    AuthenticationError,
    BudgetExhaustedError,
    InvalidRequestError,
    InvalidTypeError,
    QuotaExhaustedError,
    ServerError,
    TikTokResearchError,
    error_from_body,
    is_quota_error,
)
from .pagination import Page, Position, Reply, iterate
from .query import as_query

if TYPE_CHECKING:
    from .sandbox import Sandbox

__all__ = [
    "Client",
    "ClientOptions",
    "OnResponse",
    "PageOptions",
    "QuotaStatus",
    "VideoPlan",
    "WindowTask",
    "local_quota",
    "use",
]

log = logging.getLogger("tiktok_research")

ENV_BASE_URL = "TIKTOK_RESEARCH_BASE_URL"
ENV_SANDBOX = "TIKTOK_RESEARCH_SANDBOX"

#: ``on_response(endpoint, request, status, raw_bytes, retrieved_at) -> where it was archived``
OnResponse = Callable[[str, dict[str, Any], int, bytes, datetime], object]

_MANAGED_KEYS = ("cursor", "search_id", "max_count", "limit", "page_size", "page_start", "fields")
_ID_PARAMS = ("video_id", "comment_id", "playlist_id", "shop_id", "product_id")


def _utc(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise InvalidTypeError(f"clock() must return a datetime or a unix time, got {value!r}")


#: Seconds of clock difference with the service below which the clocks are taken as equal.
CLOCK_SLACK = 60.0


def service_time(resp: RawResponse) -> datetime | None:
    """What an answer says of the service's clock: its HTTP ``Date`` header (GMT by the HTTP
    standard; the sandbox sends its own clock's), or None. A ``log_id``'s leading stamp is not
    used: that it is UTC is an inference (api-notes §1), and test doubles send fixed ones."""
    headers = {k.lower(): v for k, v in resp.headers.items()}
    text = headers.get("date")
    if not text:
        return None
    try:
        found = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return found.astimezone(UTC) if found.tzinfo is not None else found.replace(tzinfo=UTC)


def _quota_words(content: bytes) -> bool:
    """A 429 answer that is the daily-quota refusal (not a short-term rate limit), by the one
    rule of :func:`tiktok_research.errors.is_quota_error`."""
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return False
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return False
    code, message = error.get("code"), error.get("message")
    return is_quota_error(
        code if isinstance(code, str) else None, message if isinstance(message, str) else None, 429
    )


def _service_words(content: bytes) -> str:
    """The ``error.message`` of a refusal (its body is JSON: :func:`_quota_words` read it)."""
    error = json.loads(content).get("error") or {}
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) and message else "daily quota exceeded"


def next_utc_midnight(now: datetime) -> datetime:
    """The next 00:00 UTC after ``now`` (when the daily quota resets)."""
    now = now.astimezone(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


class PageOptions(TypedDict, total=False):
    """The keyword arguments of :meth:`Client.pages` that the per-endpoint methods pass on."""

    fields: str | Sequence[str] | None
    max_count: int | None
    max_total: int | None
    state: dict[str, Any] | None
    on_response: OnResponse | None


class ClientOptions(TypedDict, total=False):
    """The keyword arguments of :class:`Client` (what :meth:`Client.sandbox` passes on)."""

    client_key: str | None
    client_secret: str | None
    config: str | Path | None
    base_url: str | None
    qps: float | None
    timeout: float
    max_retries: int
    max_requests: int | None
    wait_for_quota: bool
    ledger: bool | str | Path
    sleep: Callable[[float], object] | None
    clock: Callable[[], datetime | float] | None
    retry: RetryPolicy | None
    end_date_exclusive: bool
    progress: bool


class WindowTask(Protocol):
    """One window of a plan: the request body keys of its page sequence."""

    @property
    def params(self) -> Mapping[str, Any]: ...

    @property
    def window(self) -> tuple[date, date] | None: ...


class VideoPlan(Protocol):
    """What :meth:`Client.query_videos` needs of a plan (:class:`tiktok_research.Plan` has it):
    the windows, planned above the client by :func:`tiktok_research.plan_videos`."""

    @property
    def endpoint(self) -> str: ...

    @property
    def tasks(self) -> Sequence[WindowTask]: ...

    @property
    def fields(self) -> list[str] | None: ...

    @property
    def max_total(self) -> int | None: ...

    @property
    def end_date_exclusive(self) -> bool: ...


def _sandbox_wiring(sandbox: Sandbox) -> ClientOptions:
    """What a client takes from a sandbox (``Client.sandbox()`` and ``Client(sandbox=True)``):
    its URL, clock and ledger folder (its quota is not the real one), and the sandbox's
    credentials."""
    return ClientOptions(
        client_key="sandbox",
        client_secret="sandbox",
        base_url=sandbox.BASE_URL,
        ledger=sandbox.ledger_dir,
        clock=sandbox.clock,
    )


class RequestCounter:
    """Counts the requests actually sent (retries included), by endpoint, and the answers the
    service does not charge (:func:`~tiktok_research._endpoints.charged`), by HTTP status;
    thread-safe."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._free: Counter[int] = Counter()
        self._lock = threading.Lock()

    def not_charged(self, status: int) -> None:
        """Note an answer the service does not charge (a 4xx refusal)."""
        with self._lock:
            self._free[status] += 1

    @property
    def charged(self) -> int:
        """Requests sent that the service charges: all but its 4xx refusals."""
        with self._lock:
            return sum(self._counts.values()) - sum(self._free.values())

    def uncharged(self) -> dict[int, int]:
        """Answers not charged, by HTTP status."""
        with self._lock:
            return dict(sorted(self._free.items()))

    def add(self, endpoint: str, n: int = 1) -> None:
        """Count ``n`` requests to ``endpoint`` (negative to take back one never sent)."""
        with self._lock:
            self._counts[endpoint] += n
            if self._counts[endpoint] <= 0:
                del self._counts[endpoint]

    @property
    def total(self) -> int:
        """All requests counted."""
        with self._lock:
            return sum(self._counts.values())

    def by_endpoint(self) -> dict[str, int]:
        """Requests by endpoint name."""
        with self._lock:
            return dict(self._counts)


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
        parts = []
        for f in self.limits:
            # by the API's endpoint names, as in the reports ("sent to user_info") and errors
            mine = sorted((e, n) for e, n in self.by_endpoint.items() if n and quota_family(e) == f)
            detail = " (" + ", ".join(f"{e} {n}" for e, n in mine) + ")" if mine else ""
            parts.append(
                f"{f}: {self.used.get(f, 0)} used{detail}, {self.remaining[f]} of "
                f"{self.limits[f]} left"
            )
        return f"quota on {self.day.isoformat()} (UTC): " + "; ".join(parts)


def _status(
    ledger: Ledger | None, day: date, by_ep: Mapping[str, int] | None = None
) -> QuotaStatus:
    """The quota status of ``day`` from a ledger (or from counts, without one)."""
    limits = {str(k): v for k, v in DAILY_QUOTA.items()}
    if ledger is None:
        counts = dict(by_ep or {})
        return QuotaStatus(day, by_family(counts), limits, counts)
    return QuotaStatus(day, ledger.used(day), limits, ledger.by_endpoint(day))


def local_quota(
    base_url: str | None = None, client_key: str | None = None
) -> list[tuple[Ledger | None, QuotaStatus]]:
    """Quota used and left today from this machine's ledgers, without credentials.

    Args:
        base_url: The service (default ``$TIKTOK_RESEARCH_BASE_URL`` or the real service).
        client_key: One key's ledger (default ``$TIKTOK_CLIENT_KEY``); without one, every ledger
            of the service on this machine.

    Returns:
        ``(ledger, status)`` pairs, today on each ledger's service clock; one ``(None, status)``
        with nothing used when this machine has sent nothing to the service.
    """
    from ._ledger import ledgers

    service = (base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL).rstrip("/")
    key = client_key or os.environ.get("TIKTOK_CLIENT_KEY") or None
    found: list[Ledger] = []
    if key:
        found = [Ledger(key, service=service)]
    else:
        found = [Ledger.from_path(p) for s, p in ledgers() if s == service]
    out: list[tuple[Ledger | None, QuotaStatus]] = []
    for ledger in found:
        day = (datetime.now(UTC) + timedelta(seconds=ledger.offset())).date()
        out.append((ledger, _status(ledger, day)))
    return out or [(None, _status(None, datetime.now(UTC).date()))]


class Client:
    """A client of the TikTok Research API.

    The client key and secret are each taken from the first source that has them: the
    arguments ``client_key`` and ``client_secret``; the file ``config`` (``--config FILE`` on the
    command line); the environment variables ``TIKTOK_CLIENT_KEY`` and ``TIKTOK_CLIENT_SECRET``;
    the config file written by ``tiktok-research configure`` (``config.toml`` in the platform's
    user config folder, or ``$TIKTOK_RESEARCH_CONFIG``). With none, the error names all of them.

    Args:
        client_key: Client key.
        client_secret: Client secret.
        config: A credentials file to read (TOML with ``client_key`` and ``client_secret``, as
            ``tiktok-research configure`` writes it), before the environment.
        base_url: Service root; default ``$TIKTOK_RESEARCH_BASE_URL`` or ``https://open.tiktokapis.com``.
        qps: Requests per second across all threads (client-side limiter); None switches it off.
        timeout: Seconds per request.
        max_retries: Retries of one failing request (see :mod:`tiktok_research._retry`).
        max_requests: Budget of requests for this client; the request that would exceed it is
            not sent and :class:`BudgetExhaustedError` is raised (a collection stops cleanly and
            can be continued).
        wait_for_quota: On an exhausted daily quota, wait for 00:00 UTC (with a countdown)
            instead of stopping.
        transport: An ``httpx`` transport (tests, the sandbox).
        ledger: True for the persistent daily-quota ledger in the cache dir, False for none, or a
            folder path.
        sleep: Function used to wait (tests pass ``lambda s: None``).
        clock: Function returning the current time (aware datetime or unix seconds).
        retry: A full :class:`RetryPolicy` (overrides ``max_retries``).
        end_date_exclusive: Set if the service treats ``end_date`` as exclusive: each window is
            then sent with ``end_date`` one day later (see :mod:`tiktok_research._windows`).
        progress: Show a countdown bar while waiting for the quota reset.
        sandbox: True for a new in-process sandbox (offline, no credentials): its transport,
            URL, clock, ledger and credentials, like :meth:`Client.sandbox` (which also takes a
            ``Sandbox`` you built); ``qps`` keeps its meaning here (5 per second unless given),
            where :meth:`Client.sandbox` switches the limiter off.

    Raises:
        AuthenticationError: if credentials are missing (naming every source looked at).
        InvalidRequestError: if ``config`` does not exist or a config file cannot be read.

    Example:
        >>> import tiktok_research as tr
        >>> client = Client.sandbox()  # offline: no credentials, nothing real spent
        >>> plan = tr.plan_videos(tr.Q.hashtag_name.eq("climate"), "20240101", "20240131",
        ...                       client=client)
        >>> videos = client.query_videos(plan)
        >>> [user] = client.user_info(videos[0]["username"])
        >>> user["username"] == videos[0]["username"], "follower_count" in user
        (True, True)
    """

    def __init__(
        self,
        client_key: str | None = None,
        client_secret: str | None = None,
        *,
        config: str | Path | None = None,
        base_url: str | None = None,
        qps: float | None = 5.0,
        timeout: float = 30.0,
        max_retries: int = MAX_RETRIES,
        max_requests: int | None = None,
        wait_for_quota: bool = False,
        transport: Transport | None = None,
        ledger: bool | str | Path = True,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], datetime | float] | None = None,
        retry: RetryPolicy | None = None,
        end_date_exclusive: bool = False,
        progress: bool = True,
        sandbox: bool = False,
    ) -> None:
        sandbox_instance: Sandbox | None = None
        if sandbox is not False:
            if sandbox is not True:
                raise InvalidTypeError(
                    f"sandbox must be True or False, got {sandbox!r}; for a Sandbox you built, "
                    "write tr.Client.sandbox(that_sandbox)"
                )
            from .sandbox import Sandbox

            sandbox_instance = Sandbox()
            wiring = _sandbox_wiring(sandbox_instance)
            client_key = client_key if client_key is not None else wiring["client_key"]
            client_secret = client_secret if client_secret is not None else wiring["client_secret"]
            base_url = base_url if base_url is not None else wiring["base_url"]
            ledger = wiring["ledger"] if ledger is True else ledger
            clock = clock if clock is not None else wiring["clock"]
            transport = transport if transport is not None else sandbox_instance.transport()
        self._credentials = resolve_credentials(client_key, client_secret, config)
        self.base_url = check_base_url(
            (base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL).rstrip("/")
        )
        timeout = check_positive(timeout, "timeout") or timeout
        check_positive(qps, "qps", optional=True)
        if max_requests is not None and (
            isinstance(max_requests, bool) or not isinstance(max_requests, int) or max_requests < 0
        ):
            raise InvalidRequestError(
                f"max_requests must be a whole number >= 0 (or None), got {max_requests!r}"
            )
        self._sleep = sleep if sleep is not None else time.sleep
        self._clock = clock
        self._http = Http(self.base_url, timeout, transport)
        self._http.hide("client_secret", self._credentials.client_secret)
        self.qps = qps
        self._limiter = RateLimiter(qps, sleep=self._sleep)
        self.retry = retry if retry is not None else RetryPolicy(max_retries=max_retries)
        self._retry_budget_obj = RetryBudget(self.retry.daily_budget)
        self._retry_budget_day: date | None = None
        self._tokens = TokenManager(
            self._credentials,
            self._http,
            self._now,
            lambda call: call_with_retries(
                call,
                policy=self.retry,
                budget=self.sequence_budget(),
                sleep=self._sleep,
                what="token",
            ),
            on_answer=self._learn_clock,
        )
        key = self._credentials.client_key
        if ledger is True:
            self._ledger: Ledger | None = Ledger(key, service=self.base_url)
        elif ledger is False or ledger is None:
            self._ledger = None
        else:
            self._ledger = Ledger(key, ledger, service=self.base_url)
        #: Seconds the service's clock is ahead of this machine's (learned from its answers).
        self._offset: float | None = None
        self._clock_seen = False  # an answer of this process has said the service's time
        #: Quota families the service refused in this process, with the day (its clock): no
        #: request of theirs starts after the refusal, with a ledger or without one.
        self._refused: dict[str, tuple[date, str]] = {}
        self.max_requests = max_requests
        self.wait_for_quota = wait_for_quota
        self.end_date_exclusive = end_date_exclusive
        self.progress = progress
        self._spent: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.sandbox_instance: Sandbox | None = sandbox_instance

    # ------------------------------------------------------------------ construction helpers

    @classmethod
    def sandbox(cls, sandbox: Sandbox | None = None, **kw: Unpack[ClientOptions]) -> Client:
        """A client wired to an in-process sandbox (no network, no credentials).

        The client takes what it needs from the sandbox's public attributes: its
        :meth:`~tiktok_research.sandbox.Sandbox.transport`, ``BASE_URL``, ``clock`` and
        ``ledger_dir`` (the sandbox's quota is not the real one, so its clients share a ledger of
        their own).

        Args:
            sandbox: A ``tiktok_research.sandbox.Sandbox``; a new default one if None.
            **kw: Other :class:`Client` arguments (``qps`` defaults to None here).

        Returns:
            The client; the sandbox is available as ``client.sandbox_instance``.

        Example:
            >>> client = Client.sandbox()
            >>> client.sandbox_instance.BASE_URL == client.base_url
            True
        """
        if sandbox is None:
            from .sandbox import Sandbox

            sandbox = Sandbox()
        for key, value in _sandbox_wiring(sandbox).items():
            kw.setdefault(key, value)  # type: ignore[misc]
        kw.setdefault("qps", None)
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

    def now(self) -> datetime:
        """The current time on the client's clock (aware UTC)."""
        return self._now()

    def sleep(self, seconds: float) -> None:
        """Wait with the client's sleep function (tests pass one that does not wait)."""
        self._sleep(seconds)

    def service_now(self, *, ask: bool = False) -> datetime:
        """The current time on the service's clock: the client's clock when one was given (an
        in-process sandbox's), else this machine's corrected by what the service's answers said
        of its time (their ``Date`` headers), remembered in the ledger.

        Args:
            ask: When no answer of this process has said the service's time yet, fetch the
                access token first (a token costs no quota, and a run needs one anyway): its
                answer says it. Without ``ask`` nothing is sent.
        """
        if self._clock is not None:
            return self._now()
        if ask and not self._clock_seen:
            self._tokens.get()  # its answer's Date header is the service's time (_learn_clock)
        if self._offset is None:
            self._offset = self._ledger.offset() if self._ledger is not None else 0.0
        return self._now() + timedelta(seconds=self._offset)

    @property
    def service_clock_known(self) -> bool:
        """True when :meth:`service_now` is the service's own time: the client's clock (an
        in-process sandbox's) or an answer of this process said it. False: it is this machine's
        clock, corrected at most by what an earlier run remembered in the ledger."""
        return self._clock is not None or self._clock_seen

    def today(self) -> date:
        """Today (UTC) on the client's clock: the day the index lag and date checks refer to."""
        return self._now().date()

    def quota_day(self) -> date:
        """Today (UTC) on the service's clock: the day its daily quota counts."""
        return self.service_now().date()

    def _learn_clock(self, resp: RawResponse) -> None:
        """Note the service's clock from an answer (skipped with a client clock)."""
        if self._clock is not None:
            return
        said = service_time(resp)
        if said is None:
            return
        self._clock_seen = True
        offset = (said - datetime.now(UTC)).total_seconds()
        if abs(offset) < CLOCK_SLACK:
            offset = 0.0
        if self._offset is None or abs(offset - self._offset) >= CLOCK_SLACK:
            self._offset = offset
            if self._ledger is not None:
                try:
                    self._ledger.set_offset(offset)
                except OSError as e:
                    log.warning("could not update the quota ledger: %s", e)

    # ------------------------------------------------------------------ quota and budget

    @property
    def requests_spent(self) -> dict[str, int]:
        """Requests this client instance has sent, by endpoint (retries included)."""
        with self._lock:
            return dict(self._spent)

    @property
    def quota(self) -> QuotaStatus:
        """Used and remaining requests today (UTC), per quota family, from the local ledger."""
        return _status(self._ledger, self.quota_day(), self.requests_spent)

    def quota_left(self, family: str = "research") -> int | None:
        """Requests left today in a quota family per the local ledger (None without a ledger)."""
        if self._ledger is None:
            return None
        return self.quota.remaining.get(family)

    @property
    def token_fetches(self) -> int:
        """How many access tokens this client has fetched."""
        return self._tokens.fetches

    @property
    def _retry_budget(self) -> RetryBudget:
        """The client's retry budget of today (UTC): it is renewed with the daily quota."""
        today = self.today()
        with self._lock:
            if self._retry_budget_day != today:
                if self._retry_budget_day is not None:
                    self._retry_budget_obj = RetryBudget(self.retry.daily_budget)
                self._retry_budget_day = today
            return self._retry_budget_obj

    def sequence_budget(self) -> RetryBudget:
        """A fresh retry budget for one page sequence, drawing also on the client's daily budget."""
        return RetryBudget(self.retry.budget, parent=self._retry_budget)

    def _reserve_request(
        self, ep: Endpoint | ValidationEndpoint, counter: RequestCounter | None
    ) -> None:
        with self._lock:
            total = sum(self._spent.values())
            if self.max_requests is not None and total + 1 > self.max_requests:
                raise BudgetExhaustedError(
                    f"the request budget max_requests={self.max_requests} is used up "
                    f"({total} requests sent); nothing more was sent",
                    endpoint=ep.name,
                )
            self._spent[ep.name] += 1
        if counter is not None:
            counter.add(ep.name)

    def _unreserve(self, ep: Endpoint | ValidationEndpoint, counter: RequestCounter | None) -> None:
        with self._lock:
            self._spent[ep.name] -= 1
            if self._spent[ep.name] <= 0:
                del self._spent[ep.name]
        if counter is not None:
            counter.add(ep.name, -1)

    def _record_ledger(
        self, ep: Endpoint | ValidationEndpoint, resp: RawResponse | None = None
    ) -> None:
        """Count a request the service charges (:func:`~tiktok_research._endpoints.charged`:
        one without an answer may have reached it); with its answer, believe the service: a
        quota refusal stops the family for the day, a charged answer proves the quota is
        there."""
        if self._ledger is None:
            return
        try:
            day = self.quota_day()
            if resp is not None and resp.status == 429 and _quota_words(resp.content):
                self._ledger.stop(ep.quota_family, day)
            else:  # an answer that is not charged (a 4xx) still proves the quota is there
                n = 1 if charged(resp.status if resp is not None else None) else 0
                self._ledger.record(ep.name, day, n, answered=resp is not None)
        except OSError as e:  # never lose a page because the cache dir is read-only
            log.warning("could not update the quota ledger: %s", e)

    def quota_stopped(self, family: str = "research") -> bool:
        """True when the service said this quota family is used up today (on its clock): a
        call then sends nothing in it before the reset.

        A new process asks the service its time first, with the token request that its calls
        need anyway and the quota does not count: the service's day may have ended since the
        stop, or a served sandbox's clock moved on.
        """
        if self._refused_today(family):
            return True
        if self._ledger is None:
            return False
        try:
            stopped = self._ledger.stopped(family, self.quota_day())
            if stopped and self._clock is None and not self._clock_seen:
                self._tokens.get()
                stopped = self._ledger.stopped(family, self.quota_day())
        except OSError:
            return False
        return stopped

    def _refused_today(self, family: str) -> bool:
        """The service refused ``family``'s quota today (its clock), as seen by this client."""
        seen = self._refused.get(family)
        return seen is not None and seen[0] == self.quota_day()

    def _check_stopped(self, ep: Endpoint | ValidationEndpoint) -> None:
        """Send nothing in a family the service said is used up today (a same-day rerun after
        its quota stop): raise its :class:`QuotaExhaustedError` at once, or wait for the reset
        with ``wait_for_quota``."""
        if not self.quota_stopped(ep.quota_family):
            return
        reset_at = next_utc_midnight(self.service_now())
        if self.wait_for_quota:
            self._wait_for_reset(reset_at)
            return
        if self._refused_today(ep.quota_family):  # this client saw the refusal
            said = self._refused[ep.quota_family][1]
            raise QuotaExhaustedError(
                f"the service said so to another request of this run ({said}) for the "
                f"{ep.quota_family} quota; this request was not sent",
                code="daily_quota_limit_exceeded",
                endpoint=ep.name,
                reset_at=reset_at,
                service_message=said,  # a run's report says the service's words once
            )
        raise QuotaExhaustedError(
            f"the service said so earlier today ({self.quota_day().isoformat()} UTC, its "
            f"clock) for the {ep.quota_family} quota; nothing was sent this time",
            code="daily_quota_limit_exceeded",
            endpoint=ep.name,
            reset_at=reset_at,
        )

    def _wait_for_reset(self, reset_at: datetime) -> None:
        total = max(0.0, (reset_at - self.service_now()).total_seconds()) + 5.0
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

    # ------------------------------------------------------------------ the one request path

    def _token_for(self, ep: Endpoint | ValidationEndpoint, counter: RequestCounter | None) -> str:
        """Reserve one request of the budget and get the token; without a token, nothing is
        sent and the reservation is given back."""
        self._reserve_request(ep, counter)
        try:
            return self._tokens.get()
        except TikTokResearchError as err:
            self._unreserve(ep, counter)
            err.final = True  # the token fetch has retried it already
            raise
        except BaseException:
            self._unreserve(ep, counter)
            raise

    def _post(
        self,
        ep: Endpoint | ValidationEndpoint,
        token: str,
        body: dict[str, Any],
        query_params: dict[str, str],
        upload: dict[str, tuple[str, bytes, str]] | None,
        counter: RequestCounter | None,
    ) -> tuple[RawResponse, datetime]:
        """One HTTP exchange under the rate limiter, and when its answer came; counted in the
        quota ledger when it may have reached the service; no answer is a :class:`ServerError`."""
        self._limiter.acquire()
        if self._refused_today(ep.quota_family):
            # the service refused this quota while this request waited for its turn (another
            # worker's answer): it is not sent; a wait for the reset (wait_for_quota) sends it
            self._unreserve(ep, counter)
            self._check_stopped(ep)
            self._reserve_request(ep, counter)
        try:
            if upload is not None:
                form = {k: str(v) for k, v in body.items()}
                resp = self._http.post_multipart(ep.path, form, upload, token)
            else:
                resp = self._http.post_json(ep.path, query_params, body, token)
        except TransportFailure as f:
            if f.maybe_sent:
                self._record_ledger(ep)
            else:
                self._unreserve(ep, counter)
            raise ServerError(
                f"no answer from the service: {f.detail}", code=f.kind, endpoint=ep.name
            ) from None
        retrieved_at = self._now()
        self._learn_clock(resp)
        if resp.status == 429 and _quota_words(resp.content):
            self._refused[ep.quota_family] = (self.quota_day(), _service_words(resp.content))
        self._record_ledger(ep, resp)
        if counter is not None and not charged(resp.status):
            counter.not_charged(resp.status)
        return resp, retrieved_at

    def request(
        self,
        endpoint: str | Endpoint | ValidationEndpoint,
        body: dict[str, Any],
        *,
        params: dict[str, str] | None = None,
        on_response: OnResponse | None = None,
        counter: RequestCounter | None = None,
        stale: bool = False,
        budget: RetryBudget | None = None,
        upload: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Reply:
        """Send one request (with the retries the policy allows) and return the ok answer.

        Nothing is validated here: ``body`` is sent as given (see :mod:`tiktok_research.plan` for
        the checks). A rejected token is replaced (twice at most: a server that revokes tokens
        may reject the one fetched just before); an exhausted daily quota raises
        :class:`QuotaExhaustedError` (or is waited out with ``wait_for_quota=True``).

        Args:
            endpoint: Endpoint name or object.
            body: The JSON body.
            params: The query string (``{"fields": "id,..."}``).
            on_response: Called with every HTTP answer, verbatim, before it is parsed; what it
                returns for the ok answer is kept in ``Reply.archived``.
            counter: Also counts the requests sent for this call.
            stale: The body's ``search_id`` has probably expired: a refusal of it is not retried
                (the page sequence re-opens the search instead).
            budget: The retry budget to draw on (default: a fresh one for this call).
            upload: Files to send as multipart form-data (name -> (file name, content, type));
                ``body`` then holds the form's other fields (the batch compliance upload).

        Returns:
            The :class:`~tiktok_research.pagination.Reply`.

        Raises:
            TikTokResearchError: the matching class of the error tree, after the retries allowed.
        """
        ep = _endpoint(endpoint)
        query_params = dict(params or {})
        sent = dict(body)
        for name, (_, content, _) in (upload or {}).items():  # the archive keeps a summary
            sent[name] = f"<{len(content):,} bytes, sha256 {hashlib.sha256(content).hexdigest()}>"
        record = {"method": "POST", "path": ep.path, "params": query_params, "body": sent}
        waited = {"quota": False}
        refreshed = {"token": 0}

        def attempt() -> Reply:
            while True:
                self._check_stopped(ep)
                token = self._token_for(ep, counter)
                with exchange():  # a SIGTERM waits until the answer is archived
                    resp, retrieved_at = self._post(ep, token, body, query_params, upload, counter)
                    archived = None
                    if on_response is not None:
                        said = record
                        if resp.redacted:  # the envelope says what was removed
                            said = {**record, "redacted": list(resp.redacted)}
                        archived = on_response(
                            ep.name, said, resp.status, resp.content, retrieved_at
                        )
                try:
                    data, parsed = parse_answer(ep, resp.status, resp.content)
                except AuthenticationError as err:
                    # twice: a server that revokes tokens can reject the one fetched just before
                    if err.code == "access_token_invalid" and refreshed["token"] < 2:
                        log.info("%s: access token rejected; fetching a new one", ep.name)
                        self._tokens.invalidate(token)
                        refreshed["token"] += 1
                        continue
                    raise
                except QuotaExhaustedError as err:
                    err.reset_at = next_utc_midnight(self.service_now())
                    if self.wait_for_quota:
                        self._wait_for_reset(err.reset_at)
                        waited["quota"] = True
                        continue
                    raise
                except TikTokResearchError as err:
                    err.retry_after = parse_retry_after(resp.headers.get("retry-after"))
                    raise
                return Reply(
                    resp.status, resp.content, data, parsed, retrieved_at, record, archived
                )

        # A search_id that has probably expired (a resumed run, a long quota wait) is not retried:
        # the page sequence re-opens the search with one request instead.
        stale_now = stale and "search_id" in body
        limits: dict[Any, int | None] = {"transient": 0} if stale_now else {}

        def guarded() -> Reply:
            try:
                return attempt()
            except TikTokResearchError as err:
                if waited["quota"] and "search_id" in body:
                    limits["transient"] = 0
                raise err

        return call_with_retries(
            guarded,
            policy=self.retry,
            budget=budget if budget is not None else self.sequence_budget(),
            sleep=self._sleep,
            what=ep.name,
            limits=limits,
        )

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
        """Iterate over the pages of one sequence of any endpoint; checks happen before the first.

        Args:
            endpoint: Endpoint name (``"comments"``, ``"followers"``, ``"video_query"``...).
            params: The endpoint's body keys, e.g. ``{"username": "x"}``; for ``video_query``
                ``{"query": ..., "start_date": ..., "end_date": ...}`` of ONE window of at most 30
                days (``fetch_videos`` and :meth:`query_videos` take ranges of any length).
            fields: Fields to ask for (default: all the endpoint has).
            max_count: Page size (default: the endpoint's maximum).
            max_total: Stop after this many items (the last page's items are truncated).
            state: A ``Page.state`` (or an error's ``.state``) to resume from.
            on_response: Called with every HTTP answer, verbatim, before it is parsed.

        Returns:
            An iterator of :class:`Page`.

        Raises:
            InvalidRequestError: at call time for anything locally invalid (no request spent).
        """
        if state is not None:
            if not isinstance(state, dict) or state.get("v") != 1 or "endpoint" not in state:
                raise InvalidRequestError(f"not a resumable state: {state!r:.200}")
            ep = _endpoint(state["endpoint"])
            seq_params = dict(state.get("params") or {})
            field_list = state.get("fields")
            max_count = state.get("max_count")
            if max_total is None:
                max_total = state.get("max_total")
            collected = int(state.get("collected") or 0)
            start = Position.from_state(state)
            stale = True
        else:
            ep = _endpoint(endpoint)
            seq_params = _check_params(ep, params, exclusive=self.end_date_exclusive)
            field_list = check_fields(ep, fields)
            _check_count(ep, max_count)
            check_max_total(max_total)
            collected = 0
            start = None
            stale = False
        return self._walk(
            ep, seq_params, field_list, max_count, max_total, collected, start, stale, on_response
        )

    def _walk(
        self,
        ep: Endpoint,
        params: dict[str, Any],
        fields: list[str] | None,
        max_count: int | None,
        max_total: int | None,
        collected: int,
        start: Position | None,
        stale: bool,
        on_response: OnResponse | None,
    ) -> Iterator[Page]:
        qparams = {"fields": ",".join(fields)} if ep.fields_in == "query" and fields else {}
        body_fields = {"fields": ",".join(fields)} if ep.fields_in == "body" and fields else {}
        budget = self.sequence_budget()

        def send(body: dict[str, Any], mode: str) -> Reply:
            return self.request(
                ep,
                {**body, **body_fields},
                params=qparams,
                on_response=on_response,
                stale=mode == "stale",
                budget=budget,
            )

        def state_at(pos: Position, n: int) -> dict[str, Any]:
            out: dict[str, Any] = {
                "v": 1,
                "endpoint": ep.name,
                "params": params,
                "fields": fields,
                "max_count": max_count,
                "max_total": max_total,
                "collected": n,
                **pos.to_state(),
            }
            result: dict[str, Any] = json.loads(json.dumps(out, default=str))
            return result

        if max_total is not None and collected >= max_total:
            return
        position = start
        try:
            for page in iterate(
                ep,
                params,
                send,
                start=start,
                max_count=max_count,
                stale=stale,
                reopen=budget.take,
            ):
                position = page.next
                if ep.name == "user_info" and page.items and "username" not in page.items[0]:
                    page.items[0]["username"] = params.get("username")
                if max_total is not None:
                    page.items = page.items[: max(0, max_total - collected)]
                collected += len(page.items)
                done = page.next is None or (max_total is not None and collected >= max_total)
                page.state = None if done or page.next is None else state_at(page.next, collected)
                yield page
                if done:
                    return
        except TikTokResearchError as e:
            where = e.position or position
            e.state = state_at(where or Position(), collected)
            raise

    # ------------------------------------------------------------------ friendly methods

    def _all(self, pages: Iterator[Page]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in pages:
            out.extend(page.items)
        return out

    def query_videos(
        self, plan: VideoPlan, *, on_response: OnResponse | None = None
    ) -> list[dict[str, Any]]:
        """The videos of a planned video query, walked window after window, newest first.

        The windows are planned above the client, by :func:`tiktok_research.plan_videos` (give it
        ``client=`` this client: its clock, its quota ledger and its end-date rule). For an
        archive, resume, and a typed table, use :func:`tiktok_research.fetch_videos`.

        Args:
            plan: The plan of :func:`tiktok_research.plan_videos`.
            on_response: Called with every HTTP answer, verbatim, before it is parsed.

        Returns:
            The videos as dicts (ids as exact Python ints), de-duplicated on ``id``, newest window
            first, at most the plan's ``max_total``.

        Raises:
            InvalidTypeError: ``plan`` is not a plan of a video query.
            InvalidRequestError: the plan was made for a client with another end-date rule.

        Example:
            >>> import tiktok_research as tr
            >>> client = tr.Client.sandbox()
            >>> plan = tr.plan_videos(tr.Q.region_code.eq("FR"), "20240301", "20240302",
            ...                       max_total=5, client=client)
            >>> len(client.query_videos(plan))
            5
        """
        if getattr(plan, "endpoint", None) != "video_query" or not all(
            getattr(t, "window", None) is not None for t in getattr(plan, "tasks", [None])
        ):
            raise InvalidTypeError(
                f"query_videos takes the plan of a video query, got {type(plan).__name__}: "
                "client.query_videos(tr.plan_videos(query, start_date, end_date, client=client))"
            )
        if plan.end_date_exclusive != self.end_date_exclusive:
            raise InvalidRequestError(
                f"the plan was made for a client with end_date_exclusive="
                f"{plan.end_date_exclusive}, this client has {self.end_date_exclusive}: plan "
                "with client=this client",
                endpoint="video_query",
            )
        ep = ENDPOINTS["video_query"]
        limit = plan.max_total
        seen: set[object] = set()
        out: list[dict[str, Any]] = []
        for task in plan.tasks:
            if limit is not None and len(out) >= limit:
                break
            pages = self._walk(
                ep, dict(task.params), plan.fields, None, None, 0, None, False, on_response
            )
            for page in pages:
                for item in page.items:
                    vid = item.get("id", item.get("video_id"))
                    if vid is not None:
                        if vid in seen:
                            continue
                        seen.add(vid)
                    out.append(item)
                if limit is not None and len(out) >= limit:
                    return out[:limit]
        return out

    def user_info(self, username: str, **kw: Unpack[PageOptions]) -> list[dict[str, Any]]:
        """Profile of one account (a list of one dict; ``username`` is added to it).

        Raises:
            UnavailableError: if the account is not found, private or restricted.
        """
        return self._all(self.pages("user_info", {"username": username}, **kw))

    def comments(
        self,
        video_id: int | str | None = None,
        comment_id: int | str | None = None,
        **kw: Unpack[PageOptions],
    ) -> list[dict[str, Any]]:
        """Comments of a video (``video_id``) or replies to a comment (``comment_id``).

        The service returns the top 1,000 comments at most.
        """
        params = {"video_id": video_id, "comment_id": comment_id}
        return self._all(self.pages("comments", params, **kw))

    def liked_videos(self, username: str, **kw: Unpack[PageOptions]) -> list[dict[str, Any]]:
        """Videos an account liked (only if the account made its likes public)."""
        return self._all(self.pages("liked_videos", {"username": username}, **kw))

    def pinned_videos(self, username: str, **kw: Unpack[PageOptions]) -> list[dict[str, Any]]:
        """Videos an account pinned to its profile."""
        return self._all(self.pages("pinned_videos", {"username": username}, **kw))

    def reposted_videos(self, username: str, **kw: Unpack[PageOptions]) -> list[dict[str, Any]]:
        """Videos an account reposted (only if public)."""
        return self._all(self.pages("reposted_videos", {"username": username}, **kw))

    def followers(self, username: str, **kw: Unpack[PageOptions]) -> list[dict[str, Any]]:
        """Followers of an account (``display_name``, ``username``; the service caps ~5,000)."""
        return self._all(self.pages("followers", {"username": username}, **kw))

    def following(self, username: str, **kw: Unpack[PageOptions]) -> list[dict[str, Any]]:
        """Accounts an account follows (only if its following list is public)."""
        return self._all(self.pages("following", {"username": username}, **kw))

    def playlist_info(
        self, playlist_id: int | str, **kw: Unpack[PageOptions]
    ) -> list[dict[str, Any]]:
        """A playlist (a list of one dict; ``playlist_video_ids`` of all pages concatenated)."""
        merged: dict[str, Any] = {}
        for item in self._all(self.pages("playlist_info", {"playlist_id": playlist_id}, **kw)):
            ids = list(merged.get("playlist_video_ids", [])) + list(
                item.get("playlist_video_ids") or []
            )
            merged.update(item)
            merged["playlist_video_ids"] = ids
        return [merged] if merged else []

    def tts_shops(self, shop_name: str, **kw: Unpack[PageOptions]) -> list[dict[str, Any]]:
        """TikTok Shop shops matching a name (EU only)."""
        return self._all(self.pages("tts_shop", {"shop_name": shop_name}, **kw))

    def tts_products(self, shop_id: int | str, **kw: Unpack[PageOptions]) -> list[dict[str, Any]]:
        """Products of a TikTok Shop shop (EU only)."""
        return self._all(self.pages("tts_product", {"shop_id": shop_id}, **kw))

    def tts_reviews(self, product_id: int | str, **kw: Unpack[PageOptions]) -> list[dict[str, Any]]:
        """Reviews of a TikTok Shop product (EU only)."""
        return self._all(self.pages("tts_review", {"product_id": product_id}, **kw))


def parse_answer(
    ep: Endpoint | ValidationEndpoint, status: int, content: bytes
) -> tuple[dict[str, Any], Any]:
    """``(data, body)`` of an ok answer; the matching error of the tree otherwise.

    An HTTP 500 whose body is a valid answer with data is accepted (api-notes §6.4.5). An endpoint
    whose answer is a text file (the batch compliance download) gives ``{"text": ...}``.
    """
    resp = RawResponse(status, content, {})
    text_answer = getattr(ep, "answer", "json") == "text" and status == 200
    if text_answer and not content.lstrip().startswith(b"{"):
        return {"text": content.decode("utf-8", errors="replace")}, None
    try:
        body = json.loads(resp.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        kind = "an empty body" if not resp.content.strip() else "a body that is not JSON"
        raise ServerError(
            f"the service answered HTTP {resp.status} with {kind} "
            "(a gateway error such as a 504 timeout, or a cut connection)",
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


# ---------------------------------------------------------------------------- checks of pages()


def _endpoint(endpoint: str | Endpoint | ValidationEndpoint) -> Any:
    """The registry's endpoint of a name (or the endpoint itself); unknown names are refused."""
    if isinstance(endpoint, (Endpoint, ValidationEndpoint)):
        return endpoint
    ep = endpoint_named(endpoint) if isinstance(endpoint, str) else None
    if ep is None:
        names = [*ENDPOINTS, *ADLIB_ENDPOINTS]
        close = difflib.get_close_matches(str(endpoint), names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidRequestError(
            f"unknown endpoint {endpoint!r}.{hint} Endpoints: {', '.join(names)}"
        )
    return ep


def _check_count(ep: Endpoint, max_count: Any) -> None:
    if max_count is None:
        return
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


def _check_window(ep: Endpoint, params: dict[str, Any], *, exclusive: bool) -> dict[str, Any]:
    """The body of one video-query window, built by the planner's own function (one place turns
    a window into a body, and applies ``end_date_exclusive``)."""
    unknown = set(params) - {"query", "start_date", "end_date", "is_random"}
    if unknown:
        raise InvalidRequestError(
            f"video_query: unknown parameter(s) {sorted(unknown)}; it takes query, "
            "start_date, end_date and is_random",
            endpoint=ep.name,
        )
    query = params.get("query")
    if query is None:
        raise InvalidRequestError(
            "video_query: a query is required, e.g. Q.hashtag_name.eq('climate')", endpoint=ep.name
        )
    q = as_query(query)
    start = check_day(params.get("start_date"), "start_date")
    end = check_day(params.get("end_date"), "end_date")
    limit = window_days(exclusive)
    if (end - start).days > limit or end < start:
        raise InvalidRequestError(
            f"pages() walks one window of at most {limit} days (end - start"
            + (", with end_date_exclusive" if exclusive else "")
            + f"); got {start.isoformat()} .. {end.isoformat()}. For longer ranges use "
            "tr.fetch_videos() or client.query_videos(tr.plan_videos(...))",
            endpoint=ep.name,
        )
    return window_body(
        q.to_dict(), start, end, exclusive=exclusive, is_random=bool(params.get("is_random"))
    )


def _check_params(ep: Endpoint, params: object, *, exclusive: bool) -> dict[str, Any]:
    """The body keys of one sequence, checked with the rules of :mod:`tiktok_research._checks`."""
    if params is not None and not isinstance(params, dict):
        raise InvalidRequestError(f"{ep.name}: params must be a dict of body keys, got {params!r}")
    checked: dict[str, Any] = {str(k): v for k, v in (params or {}).items()}
    for k in checked:
        if k in _MANAGED_KEYS:
            raise InvalidRequestError(
                f"{ep.name}: {k!r} is managed by the client; use fields=, max_count= or "
                "state= instead of putting it in params",
                endpoint=ep.name,
            )
    if ep.quota_family == "adlib":
        from ._adlib_checks import check_pages_params

        return check_pages_params(ep, checked)
    if ep.name == "video_query":
        return _check_window(ep, checked, exclusive=exclusive)
    allowed = {ep.item_key} if ep.item_key else set()
    if ep.name == "comments":
        allowed = {"video_id", "comment_id"}
    for k in checked:
        if k not in allowed:
            raise InvalidRequestError(
                f"{ep.name}: unknown parameter {k!r}; it takes "
                f"{' or '.join(sorted(allowed)) or 'no parameters'}",
                endpoint=ep.name,
            )
    if ep.name == "comments":
        given = [k for k in ("video_id", "comment_id") if checked.get(k) is not None]
        if len(given) != 1:
            raise InvalidRequestError(
                "comments: give exactly one of video_id (comments of a video) or comment_id "
                "(replies to a comment)",
                endpoint=ep.name,
            )
        checked = {given[0]: checked[given[0]]}
    elif ep.item_key and checked.get(ep.item_key) is None:
        raise InvalidRequestError(f"{ep.name}: {ep.item_key} is required", endpoint=ep.name)
    for k, v in list(checked.items()):
        if k in _ID_PARAMS:
            checked[k] = clean_ids([v], what=k)[0]
        elif k == "username":
            checked[k] = clean_usernames([v], what="username")[0]
        elif k == "shop_name":
            if not isinstance(v, str) or not v.strip():
                raise InvalidRequestError("tts_shop: shop_name must be a non-empty string")
            checked[k] = v.strip()
    return checked


def check_client(client: object) -> Client | None:
    """A ``client=`` argument: None or a :class:`Client`.

    Raises:
        InvalidTypeError: anything else, with the ways to make a client.
    """
    if client is None or isinstance(client, Client):
        return client
    raise InvalidTypeError(
        f"client must be a tiktok_research.Client (e.g. tr.Client() or tr.Client.sandbox()), "
        f"got {type(client).__name__} {client!r:.60}"
    )


# ------------------------------------------------------------------------- the session default

_default: Client | None = None
_default_lock = threading.Lock()


def use(client: Client | None) -> Client | None:
    """Make ``client`` the default of every ``fetch_*`` call of this session (None: forget it).

    Example:
        >>> import tiktok_research as tr
        >>> client = tr.Client.sandbox()
        >>> _ = tr.use(client)
        >>> users = tr.fetch_user_info(["some_user"])  # runs on the sandbox
        >>> client.requests_spent
        {'user_info': 1}
    """
    global _default
    check_client(client)
    with _default_lock:
        _default = client
    return client


def current_default() -> Client | None:
    """The client given to :func:`use`, or the sandbox one of ``TIKTOK_RESEARCH_SANDBOX=1``.

    None when neither applies (then :func:`default_client` builds one from the environment).
    """
    global _default
    with _default_lock:
        if _default is None and os.environ.get(ENV_SANDBOX, "").strip().lower() in (
            "1",
            "true",
            "yes",
        ):
            _default = Client.sandbox()
        return _default


def default_client() -> Client:
    """The session's default client.

    In order: the one given to :func:`use`; a sandbox client when the environment variable
    ``TIKTOK_RESEARCH_SANDBOX`` is ``1`` (one per process); a client with the credentials of
    ``TIKTOK_CLIENT_KEY`` / ``TIKTOK_CLIENT_SECRET``, else of the config file that
    ``tiktok-research configure`` writes.

    Raises:
        AuthenticationError: no credentials, naming every way to give them.
    """
    chosen = current_default()
    if chosen is not None:
        return chosen
    try:
        return Client()
    except AuthenticationError as e:
        raise AuthenticationError(
            f"{e.message} Or run on the offline sandbox: pass client=tr.Client.sandbox(), call "
            f"tr.use(tr.Client.sandbox()) once per session, or set {ENV_SANDBOX}=1 "
            "(--sandbox in the command line)."
        ) from None
