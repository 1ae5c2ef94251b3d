"""Benchmark: merging 1,000 dump pages of 100 videos (every field) into the videos table.

Run:  python benchmarks/bench_merge.py [--pages 1000] [--per-page 100] [--repeat 3]

The pages are generated here (synthetic, seeded; no sandbox) and written as 10 curl-style dump files
(``{hashtag}_{YYYYMMDD}.json``, one response per line). Timings, best of ``--repeat`` rounds in
which the three contenders take turns (medians and CPU times are printed too):

* ``merge_dumps``          - this package: files -> de-duplicated typed ``videos`` table;
* ``pandas baseline``      - ``json.loads`` per page, then ``pandas.json_normalize`` of the videos;
* ``polars read_ndjson``   - ``pl.read_ndjson`` on the same bytes (schema inferred), nothing else.

Peak memory of ``merge_dumps`` is measured in a fresh child process (``python bench_merge.py
--child DIR``): its high-water resident set size after the merge (``VmHWM`` of
``/proc/self/status``, which starts afresh at ``exec``) minus its RSS just before the merge (after
imports, from ``/proc/self/statm``), compared with the size of the raw bytes on disk. It includes
the result table and the thread pools' first allocations. (``ru_maxrss`` would be wrong here: it is
preserved across ``exec``, so it reports the parent's size at ``fork``.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HASHTAGS = ["cats", "fyp", "science", "election", "طبخ", "猫", "🇨🇺cuba"]
WORDS = ["morning", "walk", "with", "the", "cat", "#fyp", "lol", "مثال", "🥰", "שלום", "data"]


def make_video(rng: random.Random, vid: int) -> dict[str, object]:
    """One video with every field of the video query (shapes as in the SHAPE_UNVERIFIED example)."""
    create = 1704067200 + rng.randrange(30 * 86400)
    tags = rng.sample(HASHTAGS, rng.randrange(0, 4))
    return {
        "id": vid,
        "video_description": " ".join(rng.choices(WORDS, k=rng.randrange(3, 15))),
        "create_time": create,
        "region_code": rng.choice(["US", "DE", "IQ", "BR", "JP"]),
        "share_count": rng.randrange(1000),
        "view_count": rng.randrange(3_000_000_000),
        "like_count": rng.randrange(100_000),
        "comment_count": rng.randrange(500),
        "music_id": rng.randrange(7_000_000_000_000_000_000, 7_400_000_000_000_000_000),
        "hashtag_names": tags,
        "username": f"user_{rng.randrange(20_000)}",
        "effect_ids": [str(rng.randrange(10**8))],
        "playlist_id": rng.randrange(7 * 10**18, 7 * 10**18 + 10**17),
        "voice_to_text": "so this is what I said " * rng.randrange(0, 3),
        "is_stem_verified": rng.random() < 0.1,
        "favorites_count": rng.randrange(10_000),
        "video_duration": rng.randrange(5, 600),
        "hashtag_info_list": [
            {"hashtag_id": 5500000000000000000 + i, "hashtag_name": t, "hashtag_description": ""}
            for i, t in enumerate(tags)
        ],
        "sticker_info_list": [{"sticker_id": 5600000000000000001, "sticker_name": "poll"}],
        "effect_info_list": [
            {
                "effect_id": "63960564",
                "effect_name": "green screen",
                "effect_photo_url": "https://e",
            }
        ],
        "video_mention_list": ["other_user"],
        "video_label": {"content": "label"},
        "video_tag": [{"type": "AIGC Type", "number": 1}],
    }


def make_pages(n_pages: int, per_page: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    next_id = 7_320_768_158_545_159_950
    pages = []
    for p in range(n_pages):
        videos = []
        for _ in range(per_page):
            videos.append(make_video(rng, next_id))
            next_id -= rng.randrange(1, 10**9)
        body = {
            "data": {"videos": videos, "cursor": (p + 1) * 100, "has_more": p + 1 < n_pages,
                     "search_id": "7354367454467855403"},
            "error": {"code": "ok", "message": "", "log_id": "20240405132544A8A35938AA061A19F445"},
        }  # fmt: skip
        pages.append(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    return pages


def write_dumps(pages: list[bytes], folder: Path, n_files: int = 10) -> list[Path]:
    paths = []
    per_file = -(-len(pages) // n_files)
    for i in range(n_files):
        chunk = pages[i * per_file : (i + 1) * per_file]
        path = folder / f"{HASHTAGS[0]}_202401{i + 1:02d}.json"
        path.write_bytes(b"\n".join(chunk) + b"\n")
        paths.append(path)
    return paths


def interleaved(
    repeat: int, fns: dict[str, Callable[[], object]]
) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds of each function, ``repeat`` rounds, the functions taking turns.

    Taking turns spreads the load of other processes on a shared machine over all contenders.
    """
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            out[name].append((time.perf_counter() - t0, time.process_time() - c0))
    return out


def _rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() // 1024


def _hwm_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def child_memory(folder: str) -> None:
    """Run in a child process: print (rss before merge, rows) as JSON; the parent reads maxrss."""
    import polars as pl  # noqa: F401 - imported before measuring

    from tiktok_research.merge import merge_dumps

    paths = sorted(Path(folder).glob("*.json"))
    before = _rss_kib()
    result = merge_dumps(paths)
    peak = _hwm_kib()  # high-water mark of this process image (reset by exec)
    print(json.dumps({"before_kib": before, "peak_kib": peak, "rows": result["videos"].height}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--per-page", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_memory(args.child)
        return

    import pandas as pd
    import polars as pl

    from tiktok_research.merge import merge_dumps

    pages = make_pages(args.pages, args.per_page)
    raw = b"\n".join(pages) + b"\n"
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_dumps(pages, Path(tmp))
        raw_bytes = sum(p.stat().st_size for p in paths)

        result = merge_dumps(paths)
        videos = result["videos"]
        assert videos.height == args.pages * args.per_page, videos.height
        assert not result.skipped, result.skipped

        def ours() -> None:
            merge_dumps(paths)

        def pandas_baseline() -> None:
            frames = []
            for path in paths:
                for line in path.read_bytes().splitlines():
                    if line.strip():
                        frames.append(pd.json_normalize(json.loads(line)["data"]["videos"]))
            pd.concat(frames, ignore_index=True)

        def polars_ndjson() -> None:
            pl.read_ndjson(raw)

        load = os.getloadavg()[0]
        runs = interleaved(
            args.repeat, {"ours": ours, "pandas": pandas_baseline, "polars": polars_ndjson}
        )
        load = max(load, os.getloadavg()[0])
        t_ours, t_pandas, t_polars = (min(w for w, _ in runs[k]) for k in runs)
        m_ours, m_pandas, m_polars = (statistics.median(w for w, _ in runs[k]) for k in runs)
        c_ours, c_pandas = (min(c for _, c in runs[k]) for k in ("ours", "pandas"))

        proc = subprocess.run(
            [sys.executable, __file__, "--child", tmp], capture_output=True, text=True, check=True
        )
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        peak_extra = (child["peak_kib"] - child["before_kib"]) * 1024

    rows = args.pages * args.per_page
    print(f"pages: {args.pages} x {args.per_page} videos = {rows:,} rows, every field")
    print(f"raw bytes: {raw_bytes / 1e6:.1f} MB in {len(paths)} files")
    print(f"merge_dumps:         {t_ours:.3f} s")
    print(f"pandas baseline:     {t_pandas:.3f} s   -> merge is {t_pandas / t_ours:.1f}x faster "
          "(target >= 7x)")  # fmt: skip
    print(f"polars read_ndjson:  {t_polars:.3f} s   -> merge takes {t_ours / t_polars:.2f}x "
          "(target <= 1.3x)")  # fmt: skip
    print(f"peak memory of merge_dumps (RSS growth): {peak_extra / 1e6:.1f} MB = "
          f"{peak_extra / raw_bytes:.2f}x raw bytes (target < 3x)")  # fmt: skip
    print(
        f"medians of {args.repeat}: merge {m_ours:.3f} s, pandas {m_pandas:.3f} s "
        f"({m_pandas / m_ours:.1f}x), read_ndjson {m_polars:.3f} s ({m_ours / m_polars:.2f}x)"
    )
    print(f"CPU time (all threads): merge {c_ours:.3f} s, pandas {c_pandas:.3f} s "
          f"({c_pandas / c_ours:.1f}x); load average (1 min) up to {load:.1f} on "
          f"{os.cpu_count()} cores")  # fmt: skip


if __name__ == "__main__":
    main()
