"""The one retry policy of the client: what is retried, how long to wait, and how much in total.

Retried (each counts against both the per-request limit and the per-client budget):

* 5xx answers, HTML or empty bodies, timeouts and connection errors (:class:`ServerError`);
* the API's transient ``invalid_params`` answers "Search Id N is invalid or expired" and
  "Invalid count or cursor", which succeed a few seconds later (api-notes §6.4.1);
* ``429 rate_limit_exceeded`` (short-term limit) after a longer backoff.

Never retried: ``invalid_params`` otherwise, authentication and scope errors, the daily quota
(:class:`QuotaExhaustedError`; see ``Client(wait_for_quota=True)``). An HTTP 500 whose body is a
valid ``ok`` answer is accepted as is (api-notes §6.4.5), not retried.

Waits grow exponentially (``INITIAL_DELAY * 2**attempt``), are capped at ``MAX_DELAY``, get +/-
``JITTER`` random spread, and honour ``Retry-After`` (up to ``MAX_RETRY_AFTER``). The
``RETRY_BUDGET`` caps the retries of one page sequence and ``DAILY_RETRY_BUDGET`` those of one
client per UTC day (all sequences and threads), so a dead endpoint cannot burn the daily quota: once
either is spent, the next failure is raised at once. Narrowing or splitting a failing video
window and re-opening a refused ``search_id`` also take from these budgets.

:func:`call_with_retries` is the one retry loop: the client's data requests and its token fetch
both run through it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Literal, TypeVar

from .errors import (
    InvalidRequestError,
    QuotaExhaustedError,
    RateLimitedError,
    ServerError,
    TikTokResearchError,
    is_transient_message,
)

__all__ = [
    "DAILY_RETRY_BUDGET",
    "INITIAL_DELAY",
    "JITTER",
    "MAX_DELAY",
    "MAX_RETRIES",
    "RATE_LIMIT_DELAY",
    "RETRY_BUDGET",
    "TRANSIENT_DELAY",
    "RetryBudget",
    "RetryPolicy",
    "call_with_retries",
]

log = logging.getLogger("tiktok_research")
_T = TypeVar("_T")

MAX_RETRIES = 4  # retries of one request (so at most 5 requests for it)
INITIAL_DELAY = 1.0  # seconds before the first retry
MAX_DELAY = 60.0  # cap of one wait
JITTER = 0.25  # +/- fraction of random spread on each wait
TRANSIENT_DELAY = 5.0  # the search_id/cursor quirk needs "a few seconds" (api-notes §6.4.1)
RATE_LIMIT_DELAY = 10.0  # minimum wait after a short-term 429
MAX_RETRY_AFTER = 300.0  # longer Retry-After values are not waited for: the error is raised
RETRY_BUDGET = 20  # retries per page sequence (one pages()/video_pages() call)
DAILY_RETRY_BUDGET = 100  # retries per client per UTC day, all sequences and threads together

RetryKind = Literal["server", "transient", "rate_limit"]


def retry_kind(exc: BaseException) -> RetryKind | None:
    """Which kind of retryable failure ``exc`` is, or None if it must not be retried."""
    if isinstance(exc, QuotaExhaustedError):
        return None
    if isinstance(exc, RateLimitedError):
        return "rate_limit"
    if isinstance(exc, ServerError):
        return "server"
    if isinstance(exc, InvalidRequestError) and is_transient_message(exc.message):
        return "transient"
    return None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError, IndexError):
        return None


class RetryBudget:
    """A thread-safe count of the retries still allowed.

    Args:
        total: Retries allowed.
        parent: A wider budget that each retry is also taken from (the client's daily budget
            above the budget of one page sequence).
    """

    def __init__(self, total: int, parent: RetryBudget | None = None) -> None:
        self.total = total
        self.used = 0
        self.parent = parent
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Use one retry; False (and nothing used) when this budget or its parent is spent."""
        with self._lock:
            if self.used >= self.total:
                return False
            if self.parent is not None and not self.parent.take():
                return False
            self.used += 1
            return True

    @property
    def remaining(self) -> int:
        """Retries left (counting the parent's)."""
        with self._lock:
            left = max(0, self.total - self.used)
        return min(left, self.parent.remaining) if self.parent is not None else left

    def __repr__(self) -> str:
        return f"RetryBudget(used={self.used}, total={self.total})"


@dataclass
class RetryPolicy:
    """How failures are retried. Override per client: ``Client(max_retries=...)`` or ``retry=``.

    Attributes:
        max_retries: Retries of one request.
        initial_delay: Wait before the first retry, seconds.
        max_delay: Cap of one wait, seconds.
        jitter: Random spread, as a fraction of the wait.
        transient_delay: Minimum wait after a transient search_id/cursor error.
        rate_limit_delay: Minimum wait after a short-term 429.
        max_retry_after: Longest ``Retry-After`` honoured; longer ones are raised instead.
        budget: Retries allowed per page sequence (one ``pages()`` / ``video_pages()`` call).
        daily_budget: Retries allowed per client per UTC day, over all sequences.
    """

    max_retries: int = MAX_RETRIES
    initial_delay: float = INITIAL_DELAY
    max_delay: float = MAX_DELAY
    jitter: float = JITTER
    transient_delay: float = TRANSIENT_DELAY
    rate_limit_delay: float = RATE_LIMIT_DELAY
    max_retry_after: float = MAX_RETRY_AFTER
    budget: int = RETRY_BUDGET
    daily_budget: int = DAILY_RETRY_BUDGET
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def delay(self, attempt: int, kind: RetryKind, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based) of a ``kind`` failure."""
        base = min(self.max_delay, self.initial_delay * (2**attempt))
        if self.jitter:
            base *= 1.0 + self.rng.uniform(-self.jitter, self.jitter)
        if kind == "transient":
            base = max(base, self.transient_delay)
        elif kind == "rate_limit":
            base = max(base, self.rate_limit_delay)
        if retry_after is not None:
            base = max(base, retry_after)
        return float(max(0.0, base))

    def should_retry(
        self,
        exc: TikTokResearchError,
        attempt: int,
        budget: RetryBudget,
        *,
        limit: int | None = None,
        retry_after: float | None = None,
    ) -> RetryKind | None:
        """Whether to retry ``exc`` after ``attempt`` retries (takes one from ``budget`` if so)."""
        kind = retry_kind(exc)
        if kind is None:
            return None
        if attempt >= (self.max_retries if limit is None else limit):
            return None
        if retry_after is not None and retry_after > self.max_retry_after:
            return None
        if not budget.take():
            return None
        return kind


def call_with_retries(
    call: Callable[[], _T],
    *,
    policy: RetryPolicy,
    budget: RetryBudget,
    sleep: Callable[[float], object],
    what: str,
    limits: dict[RetryKind, int | None] | None = None,
) -> _T:
    """Call ``call()`` until it succeeds, retrying what the policy says can succeed.

    Args:
        call: One attempt; raises a :class:`TikTokResearchError` on failure. An error may carry a
            ``retry_after`` attribute (seconds, from the answer's ``Retry-After`` header).
        policy: The retry policy.
        budget: Retries allowed (each retry takes one).
        sleep: Function used to wait.
        what: Named in the log lines.
        limits: Per-kind caps on the retries of this call (None: ``policy.max_retries``).

    Raises:
        TikTokResearchError: the last failure, when it is not retried.
    """
    attempt = 0
    while True:
        try:
            return call()
        except TikTokResearchError as err:
            if getattr(err, "final", False):  # already retried where it happened
                raise
            retry_after = getattr(err, "retry_after", None)
            kind_now = retry_kind(err)
            limit = (limits or {}).get(kind_now) if kind_now is not None else None
            kind = policy.should_retry(err, attempt, budget, limit=limit, retry_after=retry_after)
            if kind is None:
                if budget.remaining == 0 and policy.should_retry(
                    err, attempt, RetryBudget(1), limit=limit, retry_after=retry_after
                ):
                    err.message += (
                        " (not retried: the retry budget is spent: "
                        f"{policy.budget} retries per sequence, {policy.daily_budget} per client "
                        "per day)"
                    )
                raise
            delay = policy.delay(attempt, kind, retry_after)
            log.warning(
                "%s: %s; retry %d/%d in %.1f s",
                what,
                err,
                attempt + 1,
                policy.max_retries if limit is None else limit,
                delay,
            )
            sleep(delay)
            attempt += 1
