"""_retry: what is retried, the backoff, Retry-After, and the per-request and shared budgets."""

from __future__ import annotations

from tiktok_research._retry import RetryBudget, RetryPolicy, parse_retry_after, retry_kind
from tiktok_research.errors import (
    InvalidRequestError,
    QuotaExhaustedError,
    RateLimitedError,
    ServerError,
    UnavailableError,
)


def test_what_is_retried() -> None:
    assert retry_kind(ServerError("x", http_status=500)) == "server"
    assert retry_kind(RateLimitedError("x", http_status=429)) == "rate_limit"
    assert retry_kind(QuotaExhaustedError("x", http_status=429)) is None
    assert (
        retry_kind(InvalidRequestError("Search Id 7378809778820092971 is invalid or expired"))
        == "transient"
    )
    assert retry_kind(InvalidRequestError("Invalid count or cursor")) == "transient"
    assert retry_kind(InvalidRequestError("Invalid field")) is None
    assert retry_kind(UnavailableError("`username: x` is invalid: cannot find the user")) is None


def test_backoff_grows_is_capped_jittered_and_honours_retry_after() -> None:
    p = RetryPolicy(initial_delay=1.0, max_delay=8.0, jitter=0.25)
    d = [p.delay(a, "server") for a in range(6)]
    assert 0.75 <= d[0] <= 1.25 and 1.5 <= d[1] <= 2.5 and all(x <= 10.0 for x in d)
    assert p.delay(0, "transient") >= 5.0  # the search_id quirk needs a few seconds
    assert p.delay(0, "rate_limit") >= 10.0
    assert p.delay(0, "server", retry_after=30.0) >= 30.0
    assert RetryPolicy(jitter=0).delay(10, "server") == 60.0


def test_retry_after_parsing() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_per_request_limit_and_shared_budget() -> None:
    p = RetryPolicy(max_retries=2, budget=3)
    budget = RetryBudget(p.budget)
    err = ServerError("boom", http_status=500)
    assert p.should_retry(err, 0, budget) and p.should_retry(err, 1, budget)
    assert p.should_retry(err, 2, budget) is None  # per-request limit
    assert p.should_retry(err, 0, budget)  # third retry of the budget
    assert p.should_retry(err, 0, budget) is None and budget.remaining == 0
    assert p.should_retry(InvalidRequestError("Invalid field"), 0, RetryBudget(9)) is None
    assert p.should_retry(err, 0, RetryBudget(9), retry_after=3600) is None  # too long: raise
    daily = RetryBudget(3)
    seqs = [RetryBudget(2, parent=daily) for _ in range(3)]
    assert [s.take() for s in seqs for _ in range(2)] == [True, True, True, False, False, False]
    assert daily.remaining == 0 and seqs[2].remaining == 0
