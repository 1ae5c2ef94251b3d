"""Benchmark of the sandbox: corpus build time and video-query page latency.

Targets (issue 2): a 1,000,000-video corpus builds in under 60 s; a video-query page answers in
under 50 ms. Pages are timed through the in-process httpx transport (auth, validation, JSON
and all), first pages (a new search: evaluate the query over the window) and later pages
(cached candidates) separately, over several query shapes.

With ``--realistic`` the corpus is ``SandboxConfig.realistic()`` (the data-quality findings of
api-notes §14 on: unreturnable videos, strays, failing ranges...); queries that touch a failing
range are moved past it. The build is reported as wall and CPU time.

``--builds N`` only builds the corpus N times (after one warm-up) and prints the median and
the minimum CPU time of a build (``time.process_time``, all threads), e.g. for the default
20,000-video corpus: ``--videos 20000 --builds 20``.

Run:  python benchmarks/bench_sandbox.py [--videos 1000000] [--repeat 15] [--realistic] [--builds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import httpx

from tiktok_research._endpoints import VIDEO_FIELDS
from tiktok_research.sandbox import Corpus, Sandbox, SandboxConfig


def cond(field: str, values: list[str], op: str = "IN") -> dict[str, Any]:
    return {"operation": op, "field_name": field, "field_values": values}


QUERIES: dict[str, dict[str, Any]] = {
    "hashtag": {"and": [cond("hashtag_name", ["climate", "climatechange"])]},
    "keyword": {"and": [cond("keyword", ["recipe"])]},
    "region+not-length": {
        "and": [cond("region_code", ["US", "GB", "DE"])],
        "not": [cond("video_length", ["SHORT"])],
    },
    "or+views": {
        "or": [cond("hashtag_name", ["cats"]), cond("keyword", ["election"])],
        "and": [cond("view_count", ["100"], "GT")],
    },
}


def _ms(times: list[float]) -> float:
    return statistics.median(times) * 1e3 if times else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--realistic", action="store_true", help="SandboxConfig.realistic()")
    parser.add_argument("--builds", type=int, default=0, help="only time N corpus builds")
    args = parser.parse_args()

    make = SandboxConfig.realistic if args.realistic else SandboxConfig
    if args.builds:
        config = make(n_videos=args.videos)
        Corpus.build(config)  # warm-up: imports, caches
        cpu = []
        for _ in range(args.builds):
            t = time.process_time()
            Corpus.build(config)
            cpu.append(time.process_time() - t)
        print(
            f"corpus{' (realistic)' if args.realistic else ''} of {args.videos:,} videos: CPU "
            f"median {statistics.median(cpu) * 1e3:.1f} ms, min {min(cpu) * 1e3:.1f} ms"
            f" over {args.builds} builds"
        )
        return
    t, cpu = time.perf_counter(), time.process_time()
    sb = Sandbox(make(n_videos=args.videos), clock=lambda: 1_736_942_400.0)
    build, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(
        f"corpus{' (realistic)' if args.realistic else ''}: {args.videos:,} videos, "
        f"{sb.corpus.n_users:,} users built in {build:.2f} s (CPU {cpu:.2f} s)"
        f" (target < 60 s, {build / 60:.2f} of budget)"
    )

    http = httpx.Client(transport=sb.transport(), base_url=Sandbox.BASE_URL)
    http.headers["Authorization"] = f"Bearer {sb.issue_token()}"
    path = "/v2/research/video/query/?fields=" + ",".join(VIDEO_FIELDS)
    firsts: list[float] = []
    laters: list[float] = []
    for name, query in QUERIES.items():
        f_times, l_times = [], []
        for k in range(args.repeat):
            month = 1 + k % 12
            first = 1
            while sb.truth.window_fails(query, f"2024{month:02d}{first:02d}", f"2024{month:02d}28"):
                first += 1  # a realistic failing range: start after it
            body = {
                "query": query,
                "start_date": f"2024{month:02d}{first:02d}",
                "end_date": f"2024{month:02d}28",
                "max_count": 100,
            }
            t = time.perf_counter()
            resp = http.post(path, json=body)
            f_times.append(time.perf_counter() - t)
            data = resp.json()["data"]
            assert resp.status_code == 200, resp.text
            if data["has_more"]:
                body.update(cursor=data["cursor"], search_id=data["search_id"])
                t = time.perf_counter()
                assert http.post(path, json=body).status_code == 200
                l_times.append(time.perf_counter() - t)
        firsts += f_times
        laters += l_times
        print(
            f"  {name:<18} first page median {statistics.median(f_times) * 1e3:6.1f} ms"
            f" | later page median {_ms(l_times):6.1f} ms"
        )
    med_first = statistics.median(firsts) * 1e3
    med_later = statistics.median(laters) * 1e3
    print(
        f"all queries: first page median {med_first:.1f} ms,"
        f" later page median {med_later:.1f} ms (target < 50 ms)"
    )
    print(f"ratio first/later page (cost of evaluating a new search): {med_first / med_later:.1f}x")


if __name__ == "__main__":
    main()
