"""Configuration of the sandbox: corpus size, clocks, quotas, rate limits, latency, faults, and
the data-quality findings of api-notes §14 (the ``realistic`` profile)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .._endpoints import CONDITION_FIELDS, DAILY_QUOTA, REGION_CODES, QuotaFamily
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


#: How the corpus changes with the sandbox clock, like the real one: about 0.2 % of the videos and
#: comments deleted or made private a day (about 6 % a month), counts growing as log(1 + days).
#: These are the defaults of :class:`SandboxConfig`; ``SandboxConfig(frozen_corpus=True)`` keeps
#: the corpus as generated at every clock time. (Kept for code written when changing was opt-in:
#: ``SandboxConfig(**CHANGING_CORPUS)`` is the default configuration.)
CHANGING_CORPUS: dict[str, float] = {"removal_rate": 0.002, "count_growth": 1.0}

#: Video ids: ``"random"`` (``id >> 32`` is the creation second, the low 32 bits random) or
#: ``"published"`` (the layout of api-notes §8: milliseconds, sequence, entity type, machine id).
IdLayout = Literal["random", "published"]

#: Entity type (bits 11-8) of the sandbox's ids in the published layout. 13 is the published type
#: of a video (Steel et al., arXiv:2504.13279; api-notes §8). The paper names no type for
#: comments; the sandbox gives comments and replies 2, a value the paper does not list, so that no
#: comment id decodes as a video (13) or an account (0 or 4). The Research API returns no user ids.
ENTITY_VIDEO = 13
ENTITY_COMMENT = 2

#: ``voice_to_text`` weights of the realistic profile: present twice as often for US and GB
#: creators (api-notes §14 #6: more often for American creators), 1.5 times in other
#: English-speaking regions; the overall share stays at ``voice_to_text_rate``.
REALISTIC_VOICE_WEIGHTS: dict[str, float] = {
    "US": 2.0,
    "GB": 2.0,
    "CA": 1.5,
    "AU": 1.5,
    "IE": 1.5,
    "NZ": 1.5,
}

#: Accounts in a corpus with the default ``n_audience``: enough for follower lists to reach the
#: documented cap of about 5,000 (api-notes §3.7) once private accounts are left out.
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
class FailingRange:
    """Creation dates for which video queries always answer HTTP 500 ``internal_error``.

    As in api-notes §14 #8: hashtag queries for 2021-03 to 2022-07 and parts of 2023-10 failed
    for months.

    Every video-query request (first page, later page or ``is_random``) whose window
    ``[start_date, end_date]`` shares a day with ``[start, end]`` fails, every time, and counts
    against the quota like every 5xx; a narrower window that does not touch the range works, so
    narrowing isolates the failing days. With ``field`` set, only queries that have a condition on
    that field (in any group) fail.

    Example:
        >>> r = FailingRange(dt.date(2024, 3, 10), dt.date(2024, 3, 12), field="hashtag_name")
        >>> r.overlaps(dt.date(2024, 3, 1), dt.date(2024, 3, 10)), r.overlaps(
        ...     dt.date(2024, 3, 13), dt.date(2024, 3, 31))
        (True, False)
    """

    start: dt.date
    end: dt.date
    field: str | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"FailingRange: end {self.end} is before start {self.start}")
        if self.field is not None and self.field not in CONDITION_FIELDS:
            raise ValueError(
                f"FailingRange.field must be a query field ({', '.join(CONDITION_FIELDS)}) or "
                f"None, got {self.field!r}"
            )

    def overlaps(self, start: dt.date, end: dt.date) -> bool:
        """Whether the window ``[start, end]`` (inclusive days) shares a day with this range."""
        return start <= self.end and end >= self.start

    def to_dict(self) -> dict[str, str | None]:
        """The range as JSON-ready text (``YYYY-MM-DD``)."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "field": self.field}


@dataclass(frozen=True)
class ClientSpec:
    """One registered API client (a research project's credentials).

    The secret never appears in the repr.
    """

    key: str
    secret: str = field(repr=False)
    approved: bool = True
    followers_scope: bool = True
    #: holds `research.adlib.basic` (the Commercial Content API, api-notes §12.1), approved apart
    #: from
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
            stop at the documented cap of about 5,000 (api-notes §3.7) even in a small corpus.
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
            run again and the page answered under a new ``search_id``, as seen in api-notes §5.7).
        index_lag_hours: videos created less than this many hours before "now" are not searchable.
        faults: seeded fault rates.
        clients: the client registry; by default one client ``sandbox`` / ``sandbox``.
        removal_rate: share of the corpus's videos (and, separately, comments) deleted or made
            private per day that passes on the sandbox clock after its first reading (the
            *epoch*): 0.002 by default (about 6 % a month), like the real service. At the epoch
            the corpus is always exactly the generated one.
        count_growth: how fast view, like, comment, share and favorites counts grow with the
            days passed since the epoch (1 by default: as log(1 + days)); counts never shrink.
        frozen_corpus: ``True`` keeps the corpus as generated at every clock time (no removals,
            no count growth), for tests that compare collections made on different sandbox days.
            ``removal_rate`` and ``count_growth`` must then keep their defaults (or be 0).
        validation_processing_seconds: how long, on the sandbox clock, a batch compliance task
            (``validation_task/create``) stays ``Processing`` before it is ``Completed``.
        adlib: the ad library of the Commercial Content API (its size, and one setting per
            documentation conflict: :class:`~tiktok_research.sandbox.AdlibConfig`).

    The data-quality findings of api-notes §14 (all off by default, each on its own; see
    :meth:`realistic` for a profile that switches them all on, and ``Sandbox.truth`` for what
    they did):

    Attributes:
        comment_hidden_share: share of comments and replies that are deleted or private: they
            keep their cursor positions (the page comes back short) but are never returned.
        failing_ranges: :class:`FailingRange` s: video queries whose window touches one always
            answer HTTP 500 ``internal_error`` (counted against the quota).
        missing_video_rate: share of the visible videos that exist but are never returned, by a
            query or by id, stable over time (api-notes §14 #1: about 1 in 8). They are not
            candidates at all (the cursor does not count them); comments, playlists and batch
            compliance still know them.
        missing_account_share: how much of ``missing_video_rate`` comes from whole accounts
            (every video of some accounts missing); the rest is drawn per video.
        username_stray_rate: share of the rows returned for a query with a ``username`` EQ/IN
            condition in its ``and`` group that belong to other accounts (api-notes §14 #5). Strays
            meet every other condition and the window; they are stable for a query and window.
        voice_to_text_rate: share of videos that have ``voice_to_text`` (0.2 by default).
        voice_to_text_region_weights: relative weights by ``region_code`` (others weigh 1),
            keeping the overall share at ``voice_to_text_rate`` (api-notes §14 #6); ``None``: even.
        random_yield: ``(low, high)``: an ``is_random`` request returns a share drawn uniformly
            in that range (per request, from the seed) of what it would return otherwise,
            rounded down (api-notes §14 #7: at most about 65 %); ``None``: everything asked for.
        id_layout: ``"random"`` (``id >> 32`` = creation second minus 25-80 s, the rest
            random) or ``"published"``: the published bit layout (api-notes §8; Steel et al.,
            arXiv:2504.13279) for video ids (entity type 13) and comment ids (entity type 2,
            the sandbox's choice: the paper names none).
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
    removal_rate: float = CHANGING_CORPUS["removal_rate"]
    count_growth: float = CHANGING_CORPUS["count_growth"]
    frozen_corpus: bool = False
    validation_processing_seconds: float = 30.0
    comment_hidden_share: float = 0.0
    failing_ranges: tuple[FailingRange, ...] = ()
    missing_video_rate: float = 0.0
    missing_account_share: float = 0.5
    username_stray_rate: float = 0.0
    voice_to_text_rate: float = 0.2
    voice_to_text_region_weights: Mapping[str, float] | None = None
    random_yield: tuple[float, float] | None = None
    id_layout: IdLayout = "random"
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
        if self.frozen_corpus and (
            self.removal_rate not in (0.0, CHANGING_CORPUS["removal_rate"])
            or self.count_growth not in (0.0, CHANGING_CORPUS["count_growth"])
        ):
            raise ValueError(
                "frozen_corpus=True keeps the corpus as generated: drop removal_rate and "
                "count_growth, or set frozen_corpus=False to let the corpus change"
            )
        self._check_quality()

    def _check_quality(self) -> None:
        for name in (
            "hidden_share",
            "comment_hidden_share",
            "missing_video_rate",
            "missing_account_share",
            "voice_to_text_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a share in [0, 1], got {value}")
        if not 0.0 <= self.username_stray_rate < 1.0:
            raise ValueError(
                f"username_stray_rate must be a share in [0, 1), got {self.username_stray_rate}"
            )
        for item in self.failing_ranges:
            if not isinstance(item, FailingRange):
                raise ValueError(f"failing_ranges holds FailingRange objects, got {item!r}")
        for region, weight in (self.voice_to_text_region_weights or {}).items():
            if region not in REGION_CODES:
                raise ValueError(f"voice_to_text_region_weights: unknown region code {region!r}")
            if not weight >= 0:
                raise ValueError(
                    f"voice_to_text_region_weights: the weight of {region} must be 0 or more"
                )
        if self.random_yield is not None:
            low, high = self.random_yield
            if not 0.0 <= low <= high <= 1.0:
                raise ValueError(
                    f"random_yield must be (low, high) with 0 <= low <= high <= 1, "
                    f"got {self.random_yield!r}"
                )
        if self.id_layout not in ("random", "published"):
            raise ValueError(f"id_layout must be 'random' or 'published', got {self.id_layout!r}")

    @classmethod
    def realistic(cls, **overrides: Any) -> SandboxConfig:
        """A sandbox with every data-quality finding of api-notes §14 on, at documented rates.

        The rates, and where they come from:

        - **hidden slots** (deleted or private items the cursor still counts; ``hidden_share``,
          ``comment_hidden_share``): 10 % of videos, 5 % of comments. No published rate: one
          real page returned 27 videos for a cursor step of 100 (api-notes §5); 10 % makes short
          pages common without hiding most of the data.
        - **windows that always answer 500** (``failing_ranges``): ``hashtag_name`` queries
          touching 3 days 19 % into the corpus's dates (2024-03-10..12 in the default corpus),
          and every query touching one day 77 % into them (2024-10-08). The shape of api-notes §14
          #8 (hashtag queries, for months there; shortened so that a workshop can see one).
        - **videos that exist but are never returned** (``missing_video_rate``,
          ``missing_account_share``): 12.5 % of the visible videos (1 in 8, Entrena-Serrano et
          al., arXiv:2506.09746), half of them as whole accounts.
        - **strays for username filters** (``username_stray_rate``): 5 % of the rows of a
          username query. The audit (api-notes §14 #5) gives no rate; 5 % is the sandbox's choice.
        - **sparse, skewed voice_to_text** (``voice_to_text_rate``,
          ``voice_to_text_region_weights``): 15 % overall (about 10 % and 20 % in the two
          studies of api-notes §14 #6), twice as often for US and GB creators as elsewhere, 1.5
          times in CA, AU, IE and NZ (``REALISTIC_VOICE_WEIGHTS``).
        - **short random samples** (``random_yield``): 40-65 % of what was asked (at most about
          65 %, Corso et al., arXiv:2402.13855).
        - **ids with the published bit layout** (``id_layout="published"``; Steel et al.,
          arXiv:2504.13279; api-notes §8).

        The corpus also changes with the clock, as by default. ``Sandbox.truth`` reads what each
        behaviour did (which ranges fail, which ids are never returned, which rows were strays,
        the hidden slots and the per-stratum size of a query's result).

        Args:
            **overrides: any other :class:`SandboxConfig` field (``seed``, ``n_videos``...), or
                one of the settings above to change its rate (0 switches it off). The failing
                ranges follow ``start_date`` and ``end_date``.

        Example:
            >>> cfg = SandboxConfig.realistic(n_videos=2_000)
            >>> cfg.missing_video_rate, cfg.random_yield, cfg.id_layout
            (0.125, (0.4, 0.65), 'published')
            >>> [r.start.isoformat() for r in cfg.failing_ranges]
            ['2024-03-10', '2024-10-08']
        """
        start = overrides.get("start_date", cls.start_date)
        end = overrides.get("end_date", cls.end_date)
        span = max(0, (end - start).days)
        hashtag_day = start + dt.timedelta(days=round(span * 0.19))
        any_day = start + dt.timedelta(days=round(span * 0.77))
        profile: dict[str, Any] = {
            "hidden_share": 0.10,
            "comment_hidden_share": 0.05,
            "failing_ranges": (
                FailingRange(
                    hashtag_day, min(end, hashtag_day + dt.timedelta(days=2)), "hashtag_name"
                ),
                FailingRange(any_day, any_day),
            ),
            "missing_video_rate": 0.125,
            "missing_account_share": 0.5,
            "username_stray_rate": 0.05,
            "voice_to_text_rate": 0.15,
            "voice_to_text_region_weights": dict(REALISTIC_VOICE_WEIGHTS),
            "random_yield": (0.40, 0.65),
            "id_layout": "published",
        }
        profile.update(overrides)
        return cls(**profile)

    @property
    def active_removal_rate(self) -> float:
        """The removal rate in force: ``removal_rate``, or 0 for a frozen corpus."""
        return 0.0 if self.frozen_corpus else self.removal_rate

    @property
    def active_count_growth(self) -> float:
        """The count growth in force: ``count_growth``, or 0 for a frozen corpus."""
        return 0.0 if self.frozen_corpus else self.count_growth

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
