"""A client-side rate limiter shared by every thread and async task of a client.

It hands out evenly spaced send slots (``1 / qps`` seconds apart): each caller reserves the next
free slot under a lock and then sleeps, outside the lock, until its slot comes. Threads and
``asyncio`` tasks share the same schedule.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from .errors import InvalidRequestError

__all__ = ["RateLimiter"]


class RateLimiter:
    """Evenly spaced requests at most ``qps`` per second, shared by threads and tasks.

    Args:
        qps: Requests per second; ``None`` or ``0`` switches limiting off.
        sleep: Function used to wait (tests pass a no-op).
        monotonic: Clock in seconds.
    """

    def __init__(
        self,
        qps: float | None,
        *,
        sleep: Callable[[float], object] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if qps is not None and qps < 0:
            raise InvalidRequestError(f"qps must be positive (or None for no limit), got {qps}")
        self.qps = qps or None
        self._interval = 1.0 / qps if qps else 0.0
        self._sleep = sleep
        self._monotonic = monotonic
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Reserve the next slot and return how many seconds to wait for it."""
        if not self._interval:
            return 0.0
        with self._lock:
            now = self._monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
            return slot - now

    def acquire(self) -> float:
        """Block until the caller may send; returns the time waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    async def acquire_async(self) -> float:
        """Await until the caller may send (same schedule as :meth:`acquire`)."""
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)
        return wait

    def __repr__(self) -> str:
        return f"RateLimiter(qps={self.qps})"
