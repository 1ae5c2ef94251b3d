"""_ratelimit: the client-side rate limiter shared by threads and tasks."""

from __future__ import annotations

import threading

from tiktok_research._ratelimit import RateLimiter


def test_limiter_spaces_requests_across_threads() -> None:
    now = [100.0]
    limiter = RateLimiter(4.0, sleep=lambda s: None, monotonic=lambda: now[0])
    waits: list[float] = []
    lock = threading.Lock()

    def go() -> None:
        w = limiter.reserve()
        with lock:
            waits.append(w)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == [i * 0.25 for i in range(8)]  # one slot every 1/qps seconds
    assert RateLimiter(None).reserve() == 0.0


def test_limiter_async_shares_the_schedule() -> None:
    import asyncio

    limiter = RateLimiter(1000.0)

    async def main() -> list[float]:
        return list(await asyncio.gather(*(limiter.acquire_async() for _ in range(5))))

    waits = asyncio.run(main())
    assert len(waits) == 5 and max(waits) > 0
