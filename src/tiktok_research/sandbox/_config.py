"""Configuration of the sandbox: corpus size, clocks, quotas, rate limits, latency and faults."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from .._endpoints import DAILY_QUOTA, QuotaFamily
from ._adlib import AdlibConfig

#: Names of the fault kinds the sandbox can inject (a contract: tests and clients use these names).
FAULT_KINDS: tuple[str, ...] = (
    "internal_error",
    "gateway_timeout",
    "search_id_invalid",
    "cursor_invalid",
    "rate_limit",
    "empty_page",
    "error_with_valid_body",
    "nul_usernames",
    "missing_counts",
    "task_failed",
)


#: A corpus that changes with the sandbox clock like the real one: about 0.2 % of the videos and
#: comments deleted or made private a day (about 6 % a month), counts growing as log(1 + days).
#: Use as ``SandboxConfig(**CHANGING_CORPUS)`` (``sandbox serve --removal-rate 0.002
#: --count-growth 1``).
CHANGING_CORPUS: dict[str, float] = {"removal_rate": 0.002, "count_growth": 1.0}

#: Accounts in a corpus with the default ``n_audience``: enough for follower lists to reach the
#: documented cap of about 5,000 (SPEC §3.7) once private accounts are left out.
MIN_ACCOUNTS = 8_000


@dataclass(frozen=True)
class FaultConfig:
    """Seeded fault rates, one probability per fault kind (all off by default).

    Each data request draws at most one fault. ``search_id_invalid`` and ``cursor_invalid`` are only
    drawn for video-query pages after the first (``cursor > 0``), like the service; ``empty_page``
    only for pages of paginated lists that are not the last; ``task_failed`` only for
    ``validation_task/create`` (the task ends ``Failed``). A ``rate_limit`` draw starts a burst:
    the next ``rate_limit_burst - 1`` requests of the same client are answered 429 too.

    Example:
        >>> FaultConfig(seed=1, internal_error=0.05, gateway_timeout=0.01).rates()["internal_error"]
        0.05
    """

    seed: int = 0
    internal_error: float = 0.0
    gateway_timeout: float = 0.0
    search_id_invalid: float = 0.0
    cursor_invalid: float = 0.0
    rate_limit: float = 0.0
    empty_page: float = 0.0
    error_with_valid_body: float = 0.0
    nul_usernames: float = 0.0
    missing_counts: float = 0.0
    task_failed: float = 0.0
    rate_limit_burst: int = 3
    endpoints: frozenset[str] | None = None  # endpoint names the rates apply to (None: all)

    def rates(self) -> dict[str, float]:
        """The rate of each fault kind, keyed by kind name."""
        return {kind: float(getattr(self, kind)) for kind in FAULT_KINDS}

    def __post_init__(self) -> None:
        total = 0.0
        for kind, rate in self.rates().items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"FaultConfig.{kind} must be a probability in [0, 1], got {rate}")
            total += rate
        if total > 1.0:
            raise ValueError(f"the fault rates add up to {total:.3f}; their sum must be at most 1")
        if self.rate_limit_burst < 1:
            raise ValueError("FaultConfig.rate_limit_burst must be at least 1")


@dataclass(frozen=True)
class ClientSpec:
    """One registered API client (a research project's credentials).

    The secret never appears in the repr.
    """

    key: str
    secret: str = field(repr=False)
    approved: bool = True
    followers_scope: bool = True
    #: holds `research.adlib.basic` (the Commercial Content API, SPEC §12.1), approved apart from
    #: the Research API: ``approved=False, adlib_scope=True`` is an ad-library-only project.
    adlib_scope: bool = True


@dataclass(frozen=True)
class SandboxConfig:
    """Every knob of the sandbox. The defaults give a small, reproducible corpus of 2024.

    Attributes:
        seed: seed of the synthetic corpus (same seed, same corpus, same bytes).
        n_videos: number of videos, including the ~5 % deleted/private ones that occupy cursor
            positions but are never returned (at most 2,000,000).
        n_users: number of accounts that post the corpus's videos; ``None`` means
            ``max(200, n_videos // 10)``.
        n_audience: further accounts that post nothing in the corpus but follow and are followed
            (they have user info, followers, following and liked lists). ``None`` means enough to
            make ``MIN_ACCOUNTS`` accounts in all, so that the biggest accounts' follower lists
            stop at the documented cap of about 5,000 (SPEC §3.7) even in a small corpus.
        clock_start: where the sandbox clock starts (an aware datetime, UTC). ``None``: the real
            time. The clock then runs at the speed of real time from there; :meth:`Sandbox.advance`
            moves it forward. Ignored when a ``clock`` function is given to :class:`Sandbox`.
        start_date / end_date: the creation dates of the corpus (inclusive, UTC).
        hidden_share: share of videos that are deleted or private.
        token_ttl: lifetime of an access token, in seconds (``expires_in``).
        search_id_ttl: lifetime of a video-query ``search_id``, in seconds.
        daily_quota: requests per day and per client, by quota family (reset at 00:00 UTC).
        quota_error_code: ``"daily_quota_limit_exceeded"`` or ``"rate_limit_exceeded"``.
        rate_limit_qps: short-term limit in requests per second per client (``None``: off).
        rate_limit_window: the sliding window of that limit, in seconds.
        latency: seconds added to every answer: a number, or a ``(low, high)`` range (uniform).
        expired_search_id: what a later page with an expired or unknown ``search_id`` gets:
            ``"error"`` (400 "Search Id N is invalid or expired") or ``"reissue"`` (the search is
            run again and the page answered under a new ``search_id``, as seen in SPEC §5.7).
        index_lag_hours: videos created less than this many hours before "now" are not searchable.
        faults: seeded fault rates.
        clients: the client registry; by default one client ``sandbox`` / ``sandbox``.
        removal_rate: share of the corpus's videos (and, separately, comments) deleted or made
            private per day that passes on the sandbox clock after its first reading (the
            *epoch*). 0 (the default) keeps the corpus as generated at every clock time;
            ``CHANGING_CORPUS`` holds realistic values (about 6 % removed a month).
        count_growth: how fast view, like, comment, share and favorites counts grow with the
            days passed since the epoch (0, the default, freezes them); counts never shrink.
        validation_processing_seconds: how long, on the sandbox clock, a batch compliance task
            (``validation_task/create``) stays ``Processing`` before it is ``Completed``.
        adlib: the ad library of the Commercial Content API (its size, and one setting per
            documentation conflict: :class:`~tiktok_research.sandbox.AdlibConfig`).
    """

    seed: int = 0
    n_videos: int = 20_000
    n_users: int | None = None
    n_audience: int | None = None
    start_date: dt.date = dt.date(2024, 1, 1)
    end_date: dt.date = dt.date(2024, 12, 31)
    hidden_share: float = 0.05
    token_ttl: int = 7200
    search_id_ttl: int = 7200
    daily_quota: dict[QuotaFamily, int] = field(default_factory=lambda: dict(DAILY_QUOTA))
    quota_error_code: str = "daily_quota_limit_exceeded"
    rate_limit_qps: float | None = None
    rate_limit_window: float = 1.0
    latency: float | tuple[float, float] | None = None
    expired_search_id: Literal["error", "reissue"] = "error"
    index_lag_hours: float = 48.0
    faults: FaultConfig = field(default_factory=FaultConfig)
    clients: tuple[ClientSpec, ...] = (ClientSpec("sandbox", "sandbox"),)
    clock_start: dt.datetime | None = None
    removal_rate: float = 0.0
    count_growth: float = 0.0
    validation_processing_seconds: float = 30.0
    adlib: AdlibConfig = field(default_factory=AdlibConfig)

    def __post_init__(self) -> None:
        if not 1 <= self.n_videos <= 2_000_000:
            raise ValueError(f"n_videos must be between 1 and 2,000,000, got {self.n_videos}")
        if self.n_users is not None and self.n_users < 10:
            raise ValueError(f"n_users must be at least 10, got {self.n_users}")
        if self.end_date < self.start_date:
            raise ValueError("SandboxConfig.end_date is before start_date")
        if self.quota_error_code not in ("daily_quota_limit_exceeded", "rate_limit_exceeded"):
            raise ValueError(
                "quota_error_code must be 'daily_quota_limit_exceeded' or 'rate_limit_exceeded'"
            )
        if self.expired_search_id not in ("error", "reissue"):
            raise ValueError("expired_search_id must be 'error' or 'reissue'")
        if self.rate_limit_qps is not None and self.rate_limit_qps <= 0:
            raise ValueError("rate_limit_qps must be positive (or None to switch the limit off)")
        if self.n_audience is not None and self.n_audience < 0:
            raise ValueError(f"n_audience must be 0 or more, got {self.n_audience}")
        if self.token_ttl <= 0:
            raise ValueError(
                f"token_ttl must be a positive number of seconds, got {self.token_ttl}"
            )
        if self.search_id_ttl <= 0:
            raise ValueError(f"search_id_ttl must be positive, got {self.search_id_ttl}")
        for family, quota in self.daily_quota.items():
            if quota < 0:
                raise ValueError(f"daily quota of {family!r} must be 0 or more, got {quota}")
        if self.clock_start is not None and self.clock_start.tzinfo is None:
            raise ValueError("clock_start must be an aware datetime (e.g. tzinfo=datetime.UTC)")
        if not 0.0 <= self.removal_rate <= 0.5:
            raise ValueError(
                f"removal_rate must be a share per day in [0, 0.5], got {self.removal_rate}"
            )
        if self.count_growth < 0:
            raise ValueError(f"count_growth must be 0 or more, got {self.count_growth}")
        if self.validation_processing_seconds < 0:
            raise ValueError(
                "validation_processing_seconds must be 0 or more, "
                f"got {self.validation_processing_seconds}"
            )

    @property
    def users(self) -> int:
        """The number of accounts actually generated."""
        return self.n_users if self.n_users is not None else max(200, self.n_videos // 10)

    @property
    def audience(self) -> int:
        """The number of accounts that post nothing in the corpus."""
        if self.n_audience is not None:
            return self.n_audience
        return max(0, MIN_ACCOUNTS - self.users)
