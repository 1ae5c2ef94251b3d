"""Benchmark: merging dump pages of 100 videos (every field) into the videos table.

Run::

    python benchmarks/bench_merge.py [--pages 1000] [--per-page 100] [--repeat 3]
    python benchmarks/bench_merge.py --files 1 --repeat 5 --before /tmp/before/src
    python benchmarks/bench_merge.py --layout pretty --pages 200,400,800 --repeat 3

The pages are generated here (synthetic, seeded; no sandbox) and written as ``--files`` curl-style
dump files (``{hashtag}_{YYYYMMDD}.json``; default 10), one response per line, or with
``--layout pretty`` as ``curl ... | jq . >> dump.json`` leaves them (pretty-printed responses one
after the other). Timings, best of ``--repeat`` rounds in which the contenders take turns
(medians and CPU times are printed too):

* ``merge_dumps``          - this package: files -> de-duplicated typed ``videos`` table;
* ``pandas baseline``      - ``json.loads`` per page, then ``pandas.json_normalize`` of the videos;
* ``polars read_ndjson``   - ``pl.read_ndjson`` on the same bytes (schema inferred), nothing else;
* ``polars floor``         - ``pl.read_ndjson`` with the package's read schema of the video query
  (the same parse with no inference: the floor the merge is compared with on one file);
* ``--before SRC``         - ``merge_dumps`` of another version of the package (``SRC`` holds its
  ``tiktok_research``: ``git archive <commit> src | tar -x -C /tmp/before``), timed in a fresh
  child process in each round (after one warm-up merge there), on the same files.

With ``--layout pretty`` the merge of the pretty-printed file is compared with the merge of the
same responses as JSON lines; ``--pages`` takes several sizes (``200,400,800``) to show that time
grows in proportion to size.

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


def write_dumps(
    pages: list[bytes], folder: Path, n_files: int = 10, layout: str = "lines"
) -> list[Path]:
    paths = []
    per_file = -(-len(pages) // n_files)
    for i in range(n_files):
        chunk = pages[i * per_file : (i + 1) * per_file]
        path = folder / f"{HASHTAGS[0]}_202401{i + 1:02d}.json"
        if layout == "pretty":  # what `curl ... | jq . >> dump.json` leaves
            texts = [json.dumps(json.loads(p), indent=2, ensure_ascii=False) for p in chunk]
            path.write_bytes(("\n".join(texts) + "\n").encode())
        else:
            path.write_bytes(b"\n".join(chunk) + b"\n")
        paths.append(path)
    return paths


def interleaved(
    repeat: int,
    fns: dict[str, Callable[[], object]],
    folder: str | None = None,
    before: str | None = None,
) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds of each function, ``repeat`` rounds, the functions taking turns.

    Taking turns spreads the load of other processes on a shared machine over all contenders.
    With ``before``, the merge of that version runs in a child process in each round too.
    """
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in fns}
    if before:
        out["before"] = []
    for _ in range(repeat):
        for name, fn in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            out[name].append((time.perf_counter() - t0, time.process_time() - c0))
        if before and folder:
            out["before"].append(_before(folder, before))
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


def child_time(folder: str) -> None:
    """Run in a child process (another version on PYTHONPATH): one warm-up merge, one timed."""
    from tiktok_research.merge import merge_dumps

    paths = sorted(Path(folder).glob("*.json"))
    rows = merge_dumps(paths)["videos"].height
    c0, t0 = time.process_time(), time.perf_counter()
    merge_dumps(paths)
    print(json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                      "rows": rows}))  # fmt: skip


def _before(folder: str, src: str) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, __file__, "--child-time", folder],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out["wall"], out["cpu"]


def _peak(folder: str) -> int:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", folder], capture_output=True, text=True, check=True
    )
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    return int((child["peak_kib"] - child["before_kib"]) * 1024)


def _floor_schema() -> object:
    from tiktok_research import tables

    return tables.read_schema(["video_query"], envelope=False)


def run_lines(args: argparse.Namespace, n_pages: int) -> None:
    """JSON lines in ``--files`` files: merge against pandas, polars and (optionally) before."""
    import pandas as pd
    import polars as pl

    from tiktok_research.merge import merge_dumps

    pages = make_pages(n_pages, args.per_page)
    raw = b"\n".join(pages) + b"\n"
    schema = _floor_schema()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_dumps(pages, Path(tmp), args.files)
        raw_bytes = sum(p.stat().st_size for p in paths)
        result = merge_dumps(paths)
        assert result["videos"].height == n_pages * args.per_page, result["videos"].height
        assert not result.skipped, result.skipped

        def pandas_baseline() -> None:
            frames = []
            for path in paths:
                for line in path.read_bytes().splitlines():
                    if line.strip():
                        frames.append(pd.json_normalize(json.loads(line)["data"]["videos"]))
            pd.concat(frames, ignore_index=True)

        contenders: dict[str, Callable[[], object]] = {
            "ours": lambda: merge_dumps(paths),
            "pandas": pandas_baseline,
            "polars": lambda: pl.read_ndjson(raw),
            "floor": lambda: pl.read_ndjson(raw, schema=schema),  # type: ignore[arg-type]
        }
        load = os.getloadavg()[0]
        runs = interleaved(args.repeat, contenders, tmp if args.before else None, args.before)
        load = max(load, os.getloadavg()[0])
        peak_extra = _peak(tmp)
    best = {k: min(w for w, _ in v) for k, v in runs.items()}
    med = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
    cpu = {k: min(c for _, c in v) for k, v in runs.items()}
    rows = n_pages * args.per_page
    t = best["ours"]
    print(f"pages: {n_pages} x {args.per_page} videos = {rows:,} rows, every field")
    print(f"raw bytes: {raw_bytes / 1e6:.1f} MB in {len(paths)} file(s)")
    print(f"merge_dumps:         {t:.3f} s")
    print(f"pandas baseline:     {best['pandas']:.3f} s   -> merge is {best['pandas'] / t:.1f}x "
          "faster (target >= 7x)")  # fmt: skip
    print(f"polars read_ndjson:  {best['polars']:.3f} s   -> merge takes {t / best['polars']:.2f}x "
          "(target <= 1.3x)")  # fmt: skip
    print(f"polars floor (read_ndjson with the read schema): {best['floor']:.3f} s   -> merge "
          f"takes {t / best['floor']:.2f}x (target on one file <= 1.2x)")  # fmt: skip
    if "before" in best:
        b = best["before"]
        print(f"before (--before):   {b:.3f} s   -> {best['pandas'] / b:.1f}x pandas, "
              f"{b / best['floor']:.2f}x the floor; now / before {t / b:.2f}")  # fmt: skip
    print(f"peak memory of merge_dumps (RSS growth): {peak_extra / 1e6:.1f} MB = "
          f"{peak_extra / raw_bytes:.2f}x raw bytes (target < 3x)")  # fmt: skip
    print("medians of " + str(args.repeat) + ": " + ", ".join(f"{k} {v:.3f} s" for k, v in
          med.items()) + f" (pandas / merge {med['pandas'] / med['ours']:.1f}x)")  # fmt: skip
    print("CPU time (all threads): " + ", ".join(f"{k} {v:.3f} s" for k, v in cpu.items())
          + f"; load average (1 min) up to {load:.1f} on {os.cpu_count()} cores")  # fmt: skip


def run_pretty(args: argparse.Namespace, n_pages: int) -> None:
    """Pretty-printed responses one after the other, against the same responses as JSON lines."""
    from tiktok_research.merge import merge_dumps

    pages = make_pages(n_pages, args.per_page)
    with tempfile.TemporaryDirectory() as tmp:
        pretty_dir, lines_dir = Path(tmp) / "pretty", Path(tmp) / "lines"
        pretty_dir.mkdir()
        lines_dir.mkdir()
        pretty = write_dumps(pages, pretty_dir, args.files, "pretty")
        lines = write_dumps(pages, lines_dir, args.files)
        size = sum(p.stat().st_size for p in pretty)
        for paths in (pretty, lines):
            result = merge_dumps(paths)
            assert result["videos"].height == n_pages * args.per_page
            assert not result.skipped, result.skipped
        contenders: dict[str, Callable[[], object]] = {
            "pretty": lambda: merge_dumps(pretty),
            "lines": lambda: merge_dumps(lines),
        }
        runs = interleaved(args.repeat, contenders, str(pretty_dir) if args.before else None,
                           args.before)  # fmt: skip
    best = {k: min(w for w, _ in v) for k, v in runs.items()}
    cpu = {k: min(c for _, c in v) for k, v in runs.items()}
    extra = (
        f", before {best['before']:.2f} s (CPU {cpu['before']:.2f} s)" if "before" in best else ""
    )
    print(f"{n_pages * args.per_page:>9,} rows  pretty {size / 1e6:6.1f} MB: "
          f"{best['pretty']:.2f} s (CPU {cpu['pretty']:.2f} s, {size / 1e6 / best['pretty']:.0f} "
          f"MB/s); as JSON lines {best['lines']:.2f} s (CPU {cpu['lines']:.2f} s){extra}; load "
          f"{os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="1000", help="pages (several: 200,400,800)")
    parser.add_argument("--per-page", type=int, default=100)
    parser.add_argument("--files", type=int, default=10, help="files the pages are written to")
    parser.add_argument("--layout", choices=["lines", "pretty"], default="lines")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", help="src folder of another version: its merge_dumps too")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-time", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_memory(args.child)
        return
    if args.child_time:
        child_time(args.child_time)
        return
    for n_pages in (int(n) for n in args.pages.split(",")):
        (run_pretty if args.layout == "pretty" else run_lines)(args, n_pages)


if __name__ == "__main__":
    main()
