"""The sandbox core: one object that answers HTTP requests like the TikTok Research API.

Transports (in-process httpx, ASGI/uvicorn) are thin shells over :meth:`Sandbox.handle`, so every
way of talking to the sandbox shares the same tokens, quotas, searches, faults and request log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import random
import shutil
import tempfile
import threading
import time
import weakref
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import numpy as np
import numpy.typing as npt

from .._endpoints import (
    ADLIB_BY_PATH,
    ADLIB_ENDPOINTS,
    ENDPOINTS,
    ENDPOINTS_BY_PATH,
    TOKEN_PATH,
    VALIDATION_BY_PATH,
    VALIDATION_ENDPOINTS,
    QuotaFamily,
    charged,
)
from ._adlib import ADLIB_HANDLERS, with_status_code
from ._compliance import ValidationTask
from ._config import FAULT_KINDS, ClientSpec, SandboxConfig
from ._corpus import Comments, Corpus
from ._handlers import HANDLERS, Ctx
from ._params import ApiError

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from ._adlib_corpus import AdLibrary
    from ._truth import KnownTruths

logger = logging.getLogger("tiktok_research.sandbox")

_GATEWAY_HTML = (
    "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    "<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n"
)
_MESSAGES = {
    "internal_error": "Something went wrong. Please try again later.",
    "rate_limit_exceeded": "The API rate limit was exceeded. Please try again later.",
    "daily_quota_limit_exceeded": (
        "You have exceeded your daily quota of {quota} requests for this API; "
        "the quota resets at 00:00 UTC."
    ),
    # api-notes §6.1 / §2: the DOC:ERR table's description of `access_token_invalid` for a token
    # that is missing or unknown, and the DOC:ERR error example's message for one that has expired.
    "access_token_invalid": (
        "The access token is invalid or not found in the request. "
        "Please refresh the token and retry."
    ),
    "access_token_expired": "Access token is invalid, please refresh token and retry",
    "scope_not_authorized": (
        "The user did not authorize the scope required for completing this request."
    ),
}


@dataclass(frozen=True)
class RequestRecord:
    """One request the sandbox answered (secrets are never recorded)."""

    time: float
    client_key: str | None
    endpoint: str | None  # endpoint name, "oauth_token", or None for unknown paths
    body: dict[str, Any] | None
    params: dict[str, str]
    status: int
    error_code: str | None  # "ok", an API error code, "gateway_timeout", or None
    fault: str | None = None  # a FAULT_KINDS name, or "failing_range" (a configured range)
    counted: bool = False  # whether it counted against the daily quota


@dataclass(frozen=True)
class RandomDraw:
    """One ``is_random`` answer: what was asked, how many videos matched, how many came back."""

    asked: int  # max_count
    available: int  # videos the query would return in full (visible, returnable)
    returned: int
    share: float  # the yield drawn for this request (1.0 without ``random_yield``)
    body: Mapping[str, Any] | None = None  # the request body (query, dates, max_count)


@dataclass
class SandboxResponse:
    """The core's answer: status, headers, body bytes, and how long the transport should wait."""

    status: int
    headers: dict[str, str]
    body: bytes
    latency: float = 0.0


@dataclass
class _Search:
    search_id: str
    rows: npt.NDArray[np.int64]
    client_key: str
    fingerprint: str
    created: float

    @property
    def size(self) -> int:
        return int(self.rows.size)


@dataclass
class _Token:
    client_key: str
    expires: float


@dataclass
class _ClientState:
    spent: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    day: int = -1
    today: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    recent: deque[float] = field(default_factory=deque)
    burst: int = 0


#: Paths under this prefix are the sandbox's own admin API (never the Research API's).
ADMIN_PREFIX = "/_sandbox/"


def _running_clock(start: dt.datetime | None) -> Callable[[], float]:
    """The real clock, or a clock that starts at ``start`` and runs at the speed of real time."""
    if start is None:
        return time.time
    origin, t0 = start.timestamp(), time.monotonic()
    return lambda: origin + (time.monotonic() - t0)


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat().replace("+00:00", "Z")


class _FaultRaised(Exception):
    def __init__(self, response: SandboxResponse, code: str) -> None:
        super().__init__(code)
        self.response = response
        self.code = code


class Sandbox:
    """An offline emulator of the TikTok Research API over a deterministic synthetic corpus.

    Args:
        config: corpus size, quotas, faults...; defaults to :class:`SandboxConfig()`.
        clock: returns the current unix time in seconds (UTC); defaults to :func:`time.time`, or
            to a clock running from ``config.clock_start``. It drives token and ``search_id``
            expiry, the daily quota reset, rate limits, the index lag, compliance tasks and the
            corpus's changes over time. :meth:`advance` moves it forward on top of this function;
            the sandbox's own reading is :attr:`clock` (use that one, not the function given).

    Example:
        >>> import httpx
        >>> sb = Sandbox(SandboxConfig(n_videos=2_000))
        >>> http = httpx.Client(transport=sb.transport(), base_url=Sandbox.BASE_URL)
        >>> form = {"client_key": "sandbox", "client_secret": "sandbox",
        ...         "grant_type": "client_credentials"}
        >>> http.post("/v2/oauth/token/", data=form).json()["token_type"]
        'Bearer'
    """

    BASE_URL = "https://sandbox.tiktok-research.invalid"

    def __init__(
        self, config: SandboxConfig | None = None, *, clock: Callable[[], float] | None = None
    ) -> None:
        self.config = config or SandboxConfig()
        self._base_clock: Callable[[], float] = clock or _running_clock(self.config.clock_start)
        self._offset = 0.0
        self._epoch: float | None = None
        self.clock: Callable[[], float] = self._now
        self.corpus = Corpus.build(self.config)
        self._lock = threading.RLock()
        self._clients: dict[str, ClientSpec] = {c.key: c for c in self.config.clients}
        self._state: dict[str, _ClientState] = defaultdict(_ClientState)
        self._tokens: dict[str, _Token] = {}
        self._searches: OrderedDict[str, _Search] = OrderedDict()
        self._ids = random.Random(f"ids-{self.config.seed}")
        self._fault_rng = random.Random(f"faults-{self.config.faults.seed}")
        self._latency_rng = random.Random(f"latency-{self.config.seed}")
        self._random_asked: Counter[str] = Counter()  # is_random bodies asked so far
        self._random_draws: list[RandomDraw] = []
        self._script: list[tuple[str, str | None]] = []
        self._log: list[RequestRecord] = []
        self._reply_index: dict[int, tuple[int, int]] = {}
        self._tasks: OrderedDict[int, ValidationTask] = OrderedDict()
        self._hits: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._app: Starlette | None = None
        self._ad_library: AdLibrary | None = None
        self._ledger_dir: Path | None = None

    def __repr__(self) -> str:
        c = self.corpus
        return f"Sandbox(n_videos={c.n_videos}, n_users={c.n_users}, seed={self.config.seed})"

    # ------------------------------------------------------------------ the clock
    def _now(self) -> float:
        now = self._base_clock() + self._offset
        if self._epoch is None:
            self._epoch = now
        return now

    @property
    def epoch(self) -> dt.datetime:
        """When the corpus was exactly the generated one: the sandbox clock's first reading.

        The corpus changes by whole days after it (see ``SandboxConfig.removal_rate``).
        """
        if self._epoch is None:
            self.clock()
        assert self._epoch is not None
        return dt.datetime.fromtimestamp(self._epoch, dt.UTC)

    @property
    def now(self) -> dt.datetime:
        """The sandbox clock's current reading, as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    def days_passed(self, now: float | None = None) -> int:
        """Whole days between the epoch and ``now`` (the sandbox clock when None); never < 0."""
        t = self.clock() if now is None else now
        if self._epoch is None:
            self._epoch = t
        return max(0, math.floor((t - self._epoch) / 86_400))

    def advance(self, delta: dt.timedelta | float) -> dt.datetime:
        """Move the sandbox clock forward by ``delta`` (timedelta or seconds); returns the new now.

        Tokens and ``search_id``s expire, the daily quota resets at 00:00 UTC, compliance tasks
        finish, and the corpus changes (videos removed, counts grown) as if the time had passed.

        Example:
            >>> import datetime as dt
            >>> sb = Sandbox(SandboxConfig(n_videos=1_000), clock=lambda: 1_736_942_400.0)
            >>> sb.advance(dt.timedelta(days=1)).isoformat()
            '2025-01-16T12:00:00+00:00'
        """
        seconds = delta.total_seconds() if isinstance(delta, dt.timedelta) else float(delta)
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"the sandbox clock only moves forward; got {seconds} seconds")
        with self._lock:
            self.clock()  # the epoch is fixed before the clock moves
            self._offset += seconds
            return self.now

    def delete_videos(self, ids: Iterable[int | str]) -> int:
        """Delete (or make private) the videos ``ids`` from now on; returns how many were visible.

        A deleted video is not returned by any endpoint any more and is not valid in compliance
        downloads (``validation_task/download``). Unknown ids are ignored.

        Example:
            >>> sb = Sandbox(SandboxConfig(n_videos=1_000), clock=lambda: 1_736_942_400.0)
            >>> sb.delete_videos(sb.corpus.sample_video_ids(3))
            3
        """
        with self._lock:
            now = self.clock()
            rows = [r for r in (self.corpus.row_of_id(int(i)) for i in ids) if r is not None]
            visible = [
                r
                for r, g in zip(
                    rows, self.corpus.gone(rows, self.days_passed(now), now), strict=True
                )
                if not g
            ]
            self.corpus.delete(rows, now)
            return len(set(visible))

    def delete_comments(self, ids: Iterable[int | str]) -> None:
        """Delete the comments (or replies) ``ids`` from now on (not returned, not valid)."""
        with self._lock:
            self.corpus.delete_comments((int(i) for i in ids), self.clock())

    def remember_replies(self, where: tuple[int, int], replies: Comments) -> None:
        """Note the ids of replies the sandbox served (reply ids cannot be decoded like comment
        ids, so compliance tasks recognise the replies this sandbox has listed)."""
        for rid in replies.ids.tolist():
            self._reply_index[int(rid)] = where

    def stats(self) -> dict[str, Any]:
        """Requests that reached the sandbox (admin requests excepted), the clock and the quotas.

        Returns a JSON-ready dict: ``now`` and ``epoch`` (ISO 8601 UTC), ``days_passed``,
        ``requests`` (every request answered, by endpoint name, ``"oauth_token"``, or
        ``"unknown"`` for paths that are not endpoints), ``statuses`` (by HTTP status),
        ``counted`` (quota-counted requests by client and endpoint), ``quota_remaining`` (by client
        and quota family) and ``total``.
        """
        with self._lock:
            now = self.clock()
            return {
                "now": _iso(now),
                "epoch": self.epoch.isoformat().replace("+00:00", "Z"),
                "days_passed": self.days_passed(now),
                "total": sum(self._hits.values()),
                "requests": dict(sorted(self._hits.items())),
                "statuses": {str(k): v for k, v in sorted(self._statuses.items())},
                "counted": {
                    key: dict(sorted((k, v) for k, v in st.spent.items() if k != "oauth_token"))
                    for key, st in sorted(self._state.items())
                },
                "quota_remaining": {key: self.quota_remaining(key) for key in sorted(self._state)},
            }

    # ------------------------------------------------------------------ public helpers
    @property
    def ad_library(self) -> AdLibrary:
        """The ad library of the Commercial Content API (built from the corpus on first use)."""
        with self._lock:
            if self._ad_library is None:
                from ._adlib_corpus import AdLibrary

                cfg = self.config.adlib
                self._ad_library = AdLibrary(
                    self.corpus, n_advertisers=cfg.n_advertisers, n_ads=cfg.n_ads
                )
            return self._ad_library

    @property
    def ledger_dir(self) -> Path:
        """The quota-ledger folder for clients of this sandbox (``Client.sandbox`` uses it).

        The sandbox has a fresh quota of its own, so its clients share a ledger of their own and
        never touch the user's real one: a temporary folder, made on first use and removed with
        the sandbox (when it is garbage-collected, or at the latest when Python exits), so a
        session that makes many sandboxes leaves no folders behind.
        """
        with self._lock:
            if self._ledger_dir is None:
                folder = Path(tempfile.mkdtemp(prefix="tiktok-research-sandbox-ledger-"))
                weakref.finalize(self, shutil.rmtree, folder, True)  # True: ignore_errors
                self._ledger_dir = folder
            return self._ledger_dir

    def transport(self) -> httpx.BaseTransport:
        """A synchronous, thread-safe httpx transport answering in-process (no sockets)."""
        from ._transport import SandboxTransport

        return SandboxTransport(self)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """An asynchronous httpx transport answering in-process (no sockets)."""
        from ._transport import AsyncSandboxTransport

        return AsyncSandboxTransport(self)

    @property
    def app(self) -> Starlette:
        """A starlette ASGI application over this same sandbox."""
        if self._app is None:
            from ._server import make_app

            self._app = make_app(self)
        return self._app

    @property
    def truth(self) -> KnownTruths:
        """The known truths of the data-quality behaviours (failing ranges, unreturnable ids,
        strays, hidden slots, stratum sizes...), as of the sandbox clock."""
        from ._truth import KnownTruths

        return KnownTruths(self)

    @property
    def request_log(self) -> list[RequestRecord]:
        """Every request answered so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    def requests_spent(self, client_key: str = "sandbox") -> dict[str, int]:
        """Quota-counted requests of ``client_key`` since the sandbox started, per endpoint name.

        Keys are endpoint names of ``_endpoints.ENDPOINTS`` and ``VALIDATION_ENDPOINTS`` (batch
        compliance, counted in the research family) plus ``"oauth_token"`` (tokens issued,
        which the service does not count against the quota). Endpoints never called are absent.
        """
        with self._lock:
            return dict(self._state[client_key].spent) if client_key in self._state else {}

    def quota_remaining(self, client_key: str = "sandbox") -> dict[str, int]:
        """Requests ``client_key`` may still make today, per quota family (research, social)."""
        with self._lock:
            st = self._roll_day(client_key)
            return {fam: quota - st.today[fam] for fam, quota in self.config.daily_quota.items()}

    def add_client(
        self,
        key: str,
        secret: str,
        *,
        approved: bool = True,
        followers_scope: bool = True,
        adlib_scope: bool = True,
    ) -> None:
        """Register (or replace) a client in the sandbox's client registry.

        ``approved``: the project holds ``research.data.basic`` (the Research API);
        ``adlib_scope``: it holds ``research.adlib.basic`` (the Commercial Content API).
        """
        with self._lock:
            self._clients[key] = ClientSpec(key, secret, approved, followers_scope, adlib_scope)

    def script_faults(self, kinds: list[str], endpoint: str | None = None) -> None:
        """Give the next matching data requests these faults, in order (``"ok"`` means no fault).

        A scripted entry is used by the next valid request to ``endpoint`` (an endpoint name, or any
        endpoint when None). Scripted entries take precedence over the seeded rates.

        Example:
            >>> sb = Sandbox(SandboxConfig(n_videos=1_000))
            >>> sb.script_faults(["internal_error", "ok"], endpoint="video_query")
        """
        for kind in kinds:
            if kind != "ok" and kind not in FAULT_KINDS:
                raise ValueError(
                    f"unknown fault kind {kind!r}; choose from {', '.join(FAULT_KINDS)} or 'ok'"
                )
        names = [*ENDPOINTS, *VALIDATION_ENDPOINTS, *ADLIB_ENDPOINTS]
        if endpoint is not None and endpoint not in names:
            raise ValueError(f"unknown endpoint {endpoint!r}; choose from {', '.join(names)}")
        with self._lock:
            self._script.extend((k, endpoint) for k in kinds)

    def clear_faults(self) -> None:
        """Drop every scripted fault not used yet (the seeded rates stay as configured)."""
        with self._lock:
            self._script.clear()

    def issue_token(self, client_key: str = "sandbox") -> str:
        """A valid access token for ``client_key``, without an HTTP call (tests, notebooks)."""
        with self._lock:
            return self._issue_token(client_key)

    # ------------------------------------------------------------------ the request path
    def handle(
        self,
        method: str,
        path: str,
        query: str | bytes,
        headers: Mapping[str, str],
        body: bytes,
        *,
        admin: bool = True,
    ) -> SandboxResponse:
        """Answer one HTTP request (headers with lower-case names).

        ``admin``: whether the admin paths under ``/_sandbox/`` answer (the HTTP server allows
        them to loopback clients only; elsewhere they are unknown paths).
        """
        if isinstance(query, bytes):
            query = query.decode("latin-1")
        params = dict(parse_qsl(query, keep_blank_values=True))
        if admin and path.startswith(ADMIN_PREFIX):
            from ._admin import handle_admin

            return handle_admin(self, method, path, params, headers, body)
        with self._lock:
            now = self.clock()
            if path == TOKEN_PATH:
                response, record = self._token_endpoint(method, body, now, params)
            else:
                response, record = self._data_endpoint(method, path, params, headers, body, now)
                if path in ADLIB_BY_PATH:
                    # the Commercial Content API's envelope: error.http_status_code (api-notes
                    # §12.2)
                    response.body = with_status_code(response.body, response.status)
            self._log.append(record)
            self._hits[record.endpoint or "unknown"] += 1
            self._statuses[response.status] += 1
        # Like every HTTP server, an answer says the time on the service's clock: the sandbox's
        # (clients take the quota's day and reset from it).
        response.headers.setdefault("date", formatdate(now, usegmt=True))
        response.latency = self._latency()
        return response

    def _latency(self) -> float:
        lat = self.config.latency
        if lat is None:
            return 0.0
        if isinstance(lat, tuple):
            with self._lock:
                return self._latency_rng.uniform(lat[0], lat[1])
        return float(lat)

    # ------------------------------------------------------------------ building bodies
    def _log_id(self, now: float) -> str:
        stamp = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y%m%d%H%M%S")
        return f"{stamp}{self._ids.getrandbits(80):020X}"

    def _json(self, status: int, payload: Any, log_id: str) -> SandboxResponse:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return SandboxResponse(
            status, {"content-type": "application/json; charset=utf-8", "x-tt-logid": log_id}, body
        )

    def _error(self, status: int, code: str, message: str, now: float) -> SandboxResponse:
        log_id = self._log_id(now)
        return self._json(
            status, {"error": {"code": code, "message": message, "log_id": log_id}}, log_id
        )

    # ------------------------------------------------------------------ auth
    def _issue_token(self, client_key: str) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        token = "clt." + "".join(self._ids.choice(alphabet) for _ in range(60))
        self._tokens[token] = _Token(client_key, self.clock() + self.config.token_ttl)
        return token

    def _token_endpoint(
        self, method: str, body: bytes, now: float, params: dict[str, str]
    ) -> tuple[SandboxResponse, RequestRecord]:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        key = form.get("client_key") or None
        safe = {k: v for k, v in form.items() if k != "client_secret"}
        log_id = self._log_id(now)

        def oauth_error(error: str, description: str) -> tuple[SandboxResponse, RequestRecord]:
            resp = self._json(
                401, {"error": error, "error_description": description, "log_id": log_id}, log_id
            )
            return resp, RequestRecord(now, key, "oauth_token", safe, params, 401, error)

        if method != "POST":
            return oauth_error("invalid_request", f"Method {method} is not allowed; use POST.")
        if not key:
            return oauth_error("invalid_request", "Client key is missed in request.")
        if not form.get("client_secret"):
            return oauth_error("invalid_request", "Client secret is missed in request.")
        if form.get("grant_type") != "client_credentials":
            return oauth_error("invalid_request", "grant_type must be client_credentials.")
        client = self._clients.get(key)
        if client is None or client.secret != form["client_secret"]:
            return oauth_error("invalid_client", "Client key or secret is incorrect.")
        token = self._issue_token(key)
        self._state[key].spent["oauth_token"] += 1
        payload = {
            "access_token": token,
            "expires_in": self.config.token_ttl,
            "token_type": "Bearer",
        }
        return self._json(200, payload, log_id), RequestRecord(
            now, key, "oauth_token", safe, params, 200, "ok"
        )

    # ------------------------------------------------------------------ quota and rate limits
    def _roll_day(self, client_key: str) -> _ClientState:
        st = self._state[client_key]
        day = int(self.clock() // 86_400)
        if st.day != day:
            st.day = day
            st.today = defaultdict(int)
        return st

    def _rate_limited(self, st: _ClientState, now: float) -> bool:
        qps = self.config.rate_limit_qps
        if qps is None:
            return False
        window = self.config.rate_limit_window
        while st.recent and st.recent[0] <= now - window:
            st.recent.popleft()
        if len(st.recent) >= max(1, int(qps * window)):
            return True
        st.recent.append(now)
        return False

    # ------------------------------------------------------------------ faults
    def _next_fault(
        self, name: str, client_key: str, *, later_page: bool, paginated: bool
    ) -> str | None:
        st = self._state[client_key]
        for i, (kind, endpoint) in enumerate(self._script):
            if endpoint is None or endpoint == name:
                del self._script[i]
                return None if kind == "ok" else kind
        if st.burst > 0:
            st.burst -= 1
            return "rate_limit"
        faults = self.config.faults
        if faults.endpoints is not None and name not in faults.endpoints:
            return None
        rates = faults.rates()
        if not later_page or name != "video_query":
            rates["search_id_invalid"] = 0.0
            rates["cursor_invalid"] = 0.0
        if not paginated:
            rates["empty_page"] = 0.0
        if name != "validation_create":
            rates["task_failed"] = 0.0
        if not any(rates.values()):
            return None
        u = self._fault_rng.random()
        acc = 0.0
        for kind in FAULT_KINDS:
            acc += rates[kind]
            if u < acc:
                if kind == "rate_limit":
                    st.burst = faults.rate_limit_burst - 1
                return kind
        return None

    def _raise_fault(self, now: float, kind: str) -> None:
        if kind == "gateway_timeout":
            resp = SandboxResponse(504, {"content-type": "text/html"}, _GATEWAY_HTML.encode())
            raise _FaultRaised(resp, "gateway_timeout")
        if kind == "internal_error":
            raise _FaultRaised(
                self._error(500, "internal_error", _MESSAGES["internal_error"], now),
                "internal_error",
            )
        raise _FaultRaised(
            self._error(429, "rate_limit_exceeded", _MESSAGES["rate_limit_exceeded"], now),
            "rate_limit_exceeded",
        )

    # ------------------------------------------------------------------ searches
    def _new_search_id(self, now: float) -> str:
        return str((int(now) << 32) | self._ids.getrandbits(32))

    def _store_search(
        self, rows: npt.NDArray[np.int64], client_key: str, fingerprint: str, now: float
    ) -> _Search:
        sid = self._new_search_id(now)
        state = _Search(sid, rows, client_key, fingerprint, now)
        self._searches[sid] = state
        while len(self._searches) > 512:
            self._searches.popitem(last=False)
        return state

    def _search(
        self, search_id: str, client_key: str, fingerprint: str, now: float
    ) -> _Search | None:
        state = self._searches.get(search_id)
        if state is None or state.client_key != client_key or state.fingerprint != fingerprint:
            return None
        if now - state.created > self.config.search_id_ttl:
            del self._searches[search_id]
            return None
        return state

    def _random_rows(
        self, rows: npt.NDArray[np.int64], k: int, *, body: Mapping[str, Any] | None = None
    ) -> npt.NDArray[np.int64]:
        """An ``is_random`` pick of at most ``k`` of ``rows``; with ``random_yield``, only a
        share drawn in that range of it (rounded down), as the audits found (api-notes §14 #7).

        Each draw depends on the sandbox's seed, the request's body and how many times that body
        was asked before, not on the order in which concurrent requests arrive: a stratified
        sample sends its strata side by side, and with one shared random stream the same notebook
        gave 150 or 151 videos depending on thread timing. The service's draw is random (and
        undocumented); a sandbox's is reproducible, as a workshop needs."""
        key = json.dumps(body, sort_keys=True, default=str) if body is not None else ""
        with self._lock:
            nth = self._random_asked[key]
            self._random_asked[key] += 1
        digest = hashlib.sha256(f"random-{self.config.seed}|{key}|{nth}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:16], "big"))
        want = min(k, int(rows.size))
        share = 1.0
        if self.config.random_yield is not None:
            share = float(rng.uniform(*self.config.random_yield))
            want = math.floor(want * share)
        self._random_draws.append(RandomDraw(k, int(rows.size), want, share, body))
        if want >= rows.size:
            picked = rows.copy()
            rng.shuffle(picked)
            return picked
        return rng.choice(rows, size=want, replace=False)

    # ------------------------------------------------------------------ data endpoints
    def _data_endpoint(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        headers: Mapping[str, str],
        raw: bytes,
        now: float,
    ) -> tuple[SandboxResponse, RequestRecord]:
        endpoint = ENDPOINTS_BY_PATH.get(path) or ADLIB_BY_PATH.get(path)
        task_endpoint = VALIDATION_BY_PATH.get(path)
        name = endpoint.name if endpoint else task_endpoint.name if task_endpoint else None
        body_obj: dict[str, Any] | None = None
        parsed: Any = None
        if task_endpoint is None or task_endpoint.request == "json":
            try:
                parsed = json.loads(raw) if raw.strip() else {}
                body_obj = parsed if isinstance(parsed, dict) else None
            except (ValueError, UnicodeDecodeError):
                parsed = None

        def record(
            resp: SandboxResponse, client: str | None, code: str | None, **kw: Any
        ) -> RequestRecord:
            return RequestRecord(
                now,
                client,
                name,
                body_obj,
                params,
                resp.status,
                code,
                **kw,
            )

        if name is None:
            known = {**ENDPOINTS_BY_PATH, **VALIDATION_BY_PATH, **ADLIB_BY_PATH}
            hint = " (paths end with a slash)" if (path + "/") in known else ""
            resp = self._error(404, "not_found", f"No API endpoint at {path}{hint}", now)
            return resp, record(resp, None, "not_found")
        if method != "POST":
            resp = self._error(
                405, "invalid_request", f"Method {method} is not allowed on {path}; use POST", now
            )
            return resp, record(resp, None, "invalid_request")

        # authentication
        auth = headers.get("authorization", "")
        scheme, _, token = auth.strip().partition(" ")
        tok = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if tok is None or now >= tok.expires:
            key = "access_token_invalid" if tok is None else "access_token_expired"
            resp = self._error(401, "access_token_invalid", _MESSAGES[key], now)
            return resp, record(resp, tok.client_key if tok else None, "access_token_invalid")
        client_key = tok.client_key
        client = self._clients.get(client_key)
        family: QuotaFamily = (endpoint or task_endpoint).quota_family  # type: ignore[union-attr]
        if (
            client is None
            or (family == "adlib" and not client.adlib_scope)
            or (family != "adlib" and not client.approved)
            or (family == "social" and not client.followers_scope)
        ):
            resp = self._error(401, "scope_not_authorized", _MESSAGES["scope_not_authorized"], now)
            return resp, record(resp, client_key, "scope_not_authorized")

        st = self._roll_day(client_key)
        if self._rate_limited(st, now):
            resp = self._error(429, "rate_limit_exceeded", _MESSAGES["rate_limit_exceeded"], now)
            return resp, record(resp, client_key, "rate_limit_exceeded")
        quota = self.config.daily_quota.get(family)  # none for adlib unless configured
        if quota is not None and st.today[family] >= quota:
            code = self.config.quota_error_code
            message = _MESSAGES["daily_quota_limit_exceeded"].format(quota=quota)
            resp = self._error(429, code, message, now)
            return resp, record(resp, client_key, code)

        if task_endpoint is not None:
            from ._compliance import handle_task

            resp, code, fault, body_obj = handle_task(
                self, task_endpoint, client_key, headers, raw, body_obj, now
            )
            counted = charged(resp.status)
            if counted:
                st.today[family] += 1
                st.spent[task_endpoint.name] += 1
            return resp, record(resp, client_key, code, fault=fault, counted=counted)
        assert endpoint is not None

        if body_obj is None:
            what = "not valid JSON" if parsed is None else "not a JSON object"
            resp = self._error(400, "invalid_params", f"The request body is {what}", now)
            return resp, record(resp, client_key, "invalid_params")

        ctx = Ctx(self, endpoint, client_key, body_obj, params, now)
        try:
            data = (HANDLERS.get(endpoint.name) or ADLIB_HANDLERS[endpoint.name])(ctx)
            log_id = self._log_id(now)
            payload = {"data": data, "error": {"code": "ok", "message": "", "log_id": log_id}}
            resp = self._json(200, payload, log_id)
            code = "ok"
            if ctx.take("error_with_valid_body"):
                resp.status = 500
        except ApiError as exc:
            resp = self._error(exc.status, exc.code, exc.message, now)
            code = exc.code
        except _FaultRaised as exc:
            resp, code = exc.response, exc.code
        fault = ctx.applied[0] if ctx.applied else None
        counted = charged(resp.status)
        if counted:
            st.today[family] += 1
            st.spent[endpoint.name] += 1
        return resp, record(resp, client_key, code, fault=fault, counted=counted)
