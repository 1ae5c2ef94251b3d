"""Benchmark: the package's work at scale, engine against engine.

Run:  python benchmarks/bench_scale.py summaries [--videos 1000000] [--repeat 3]
      [--engines polars,duckdb,spark,spark-approx] [--data DIR]

``summaries`` writes a synthetic videos dataset (``--videos`` rows, every column the summaries read,
19-digit ids, heavy-tailed counts, 0-4 hashtags per video; seeded) as 4 Parquet files, then runs
the same summaries of :mod:`tiktok_research.analysis` on each engine, **each engine in its own
fresh child process** so that its peak memory is its own:

* ``polars``: ``pl.scan_parquet(...)``, collected (the package's polars path);
* ``duckdb``: ``duckdb.read_parquet(...)`` relation, through narwhals, fetched as Arrow;
* ``spark``: a local PySpark session (``local[2]``, UTC, 2 shuffle partitions, loopback only),
  ``spark.read.parquet(...)``, through narwhals, fetched with ``toArrow()``;
* ``spark-approx``: the same with ``approximate=True`` (``percentile_approx``).

Per summary: the median wall time over ``--repeat`` runs (the first run of each is a warm-up for
the JVM and is reported apart). Memory: the child's high-water resident set (``VmHWM`` of
``/proc/self/status``, which starts afresh at ``exec``); for Spark also the JVM's (the py4j gateway
process, read just before the session stops), summed. Every engine's summaries are checked against
polars' (row counts and totals), so a fast wrong answer cannot pass.

Other parts (merging dumps into datasets, ...) can be added as further subcommands: each is one
function taking the parsed arguments, registered in :func:`main`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENGINES = ("polars", "duckdb", "spark", "spark-approx")
BIG = 7_300_000_000_000_000_000


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def peak_rss_mb(pid: int | str = "self") -> float:
    """High-water resident set of a process in MB (``VmHWM``; 0 when it cannot be read)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_child(args: list[str]) -> dict[str, Any]:
    """Run ``python bench_scale.py <args>`` in a fresh process; it prints one JSON line last."""
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------------------------
# summaries: the analysis functions on polars, DuckDB and Spark
# --------------------------------------------------------------------------------------------


def make_videos(folder: Path, n: int, seed: int = 13) -> Path:
    """Write ``n`` synthetic videos as 4 Parquet files under ``folder/videos``; return that."""
    import numpy as np
    import polars as pl

    from tiktok_research import schemas

    out = folder / "videos"
    if out.is_dir() and sum(pl.scan_parquet(out / "*.parquet").select(pl.len()).collect().row(0)):
        return out
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    views = np.floor(rng.lognormal(8, 2.5, n)).astype(np.int64)
    views[rng.random(n) < 0.05] = 0
    likes = np.floor(views * rng.beta(2, 30, n)).astype(np.int64)
    tags = np.array(["fyp", "FYP", "climate", "Climate ", "cats", "news", "food", "travel",
                     "ai", "music", "dance", "election", "طبخ", "猫", "sport", "art"])  # fmt: skip
    counts = rng.integers(0, 5, n)
    flat = rng.choice(tags, int(counts.sum()))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    hashtags = [flat[offsets[i] : offsets[i + 1]].tolist() for i in range(n)]
    start = 1_704_067_200  # 2024-01-01 UTC
    df = pl.DataFrame(
        {
            "id": BIG + np.arange(n, dtype=np.int64) * 7919,
            "create_time": (start + rng.integers(0, 366 * 86400, n)) * 1_000_000,
            "username": np.char.add("creator_", rng.zipf(1.3, n).clip(0, 50_000).astype(str)),
            "region_code": rng.choice(["US", "GB", "DE", "FR", "BR", "JP", "IQ", "ID"], n),
            "music_id": BIG + rng.integers(1, 5_000, n),
            "view_count": views,
            "like_count": likes,
            "comment_count": np.floor(likes * rng.beta(1, 20, n)).astype(np.int64),
            "share_count": np.floor(likes * rng.beta(1, 15, n)).astype(np.int64),
            "video_duration": rng.integers(1, 700, n),
            "hashtag_names": hashtags,
        }
    ).with_columns(pl.col("create_time").cast(pl.Datetime("us", "UTC")))
    df = schemas.cast(df, "videos").drop(
        [c for c, t in schemas.VIDEOS.items() if isinstance(t, pl.Struct | pl.List)]
        + ["effect_ids"],
        strict=False,
    )
    df = df.with_columns(pl.Series("hashtag_names", hashtags, dtype=pl.List(pl.String)))
    for i, part in enumerate(df.iter_slices(n_rows=(n + 3) // 4)):
        part.write_parquet(out / f"part-{i}.parquet")
    return out


def _summaries() -> dict[str, Callable[..., Any]]:
    from tiktok_research import analysis

    return {
        "summarize(by='month')": lambda d, a: analysis.summarize(d, by="month", approximate=a),
        "summarize(by='day')": lambda d, a: analysis.summarize(d, by="day", approximate=a),
        "summarize(by='hashtag')": lambda d, a: analysis.summarize(d, by="hashtag", approximate=a),
        "summarize(by='creator')": lambda d, a: analysis.summarize(d, by="creator", approximate=a),
        "top_hashtags(n=20)": lambda d, a: analysis.top_hashtags(d, n=20, approximate=a),
        "top_creators(n=20)": lambda d, a: analysis.top_creators(d, n=20, approximate=a),
    }


def summaries_child(engine: str, data: Path, repeat: int) -> dict[str, Any]:
    """Run every summary ``repeat`` times on one engine; return timings, memory and checks."""
    import polars as pl

    t0 = time.perf_counter()
    approximate = engine == "spark-approx"
    jvm_pid: int | None = None
    spark = None
    if engine == "polars":

        def source() -> Any:
            return pl.scan_parquet(data / "*.parquet")

        def fetch(result: Any) -> pl.DataFrame:
            return result.collect()

    elif engine == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")

        def source() -> Any:
            return con.read_parquet(str(data / "*.parquet"))

        def fetch(result: Any) -> pl.DataFrame:
            return result.pl()

    else:
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        jvm_pid = spark.sparkContext._gateway.proc.pid  # type: ignore[union-attr]

        def source() -> Any:
            return spark.read.parquet(str(data))

        def fetch(result: Any) -> pl.DataFrame:
            frame = pl.from_arrow(result.toArrow())
            assert isinstance(frame, pl.DataFrame)
            return frame

    startup = time.perf_counter() - t0
    out: dict[str, Any] = {"engine": engine, "startup_s": startup, "summaries": {}}
    for name, function in _summaries().items():
        times = []
        for _ in range(repeat + 1):  # the first run warms up (JIT, file metadata caches)
            t = time.perf_counter()
            frame = fetch(function(source(), approximate))
            times.append(time.perf_counter() - t)
        out["summaries"][name] = {
            "first_s": times[0],
            "median_s": statistics.median(times[1:]),
            "rows": frame.height,
            "videos": int(frame["videos"].sum()),
            "view_count_sum": int(frame["view_count_sum"].sum()),
        }
    out["peak_python_mb"] = peak_rss_mb()
    out["peak_jvm_mb"] = peak_rss_mb(jvm_pid) if jvm_pid else 0.0
    if spark is not None:
        spark.stop()
    return out


def summaries_main(args: argparse.Namespace) -> None:
    """The ``summaries`` part: every engine in its own process, side by side, ratios to polars."""
    data_root = Path(args.data) if args.data else Path(tempfile.gettempdir()) / "tr-bench-scale"
    t = time.perf_counter()
    data = make_videos(data_root / f"n{args.videos}", args.videos)
    size = sum(p.stat().st_size for p in data.glob("*.parquet")) / 1e6
    print(f"dataset: {args.videos:,} videos, {size:.0f} MB Parquet in {data} "
          f"({time.perf_counter() - t:.1f} s to make or find)")  # fmt: skip
    results = {}
    for engine in args.engines.split(","):
        if engine not in ENGINES:
            raise SystemExit(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
        print(f"running {engine} ...", flush=True)
        results[engine] = run_child(["_summaries-child", engine, str(data), str(args.repeat)])
    base = results.get("polars")
    engines = list(results)
    header = "| summary | " + " | ".join(engines) + " |"
    print("\nmedian wall time per summary, seconds (x polars); first run in brackets\n")
    print(header)
    print("|" + "---|" * (len(engines) + 1))
    for name in _summaries():
        cells = []
        for engine in engines:
            s = results[engine]["summaries"][name]
            ratio = f" ({s['median_s'] / base['summaries'][name]['median_s']:.1f}x)" if base else ""
            cells.append(f"{s['median_s']:.2f}{ratio} [{s['first_s']:.2f}]")
            if base and engine.startswith(("duckdb", "spark")):
                ref = base["summaries"][name]
                same = (s["rows"], s["videos"], s["view_count_sum"]) == (
                    ref["rows"], ref["videos"], ref["view_count_sum"])  # fmt: skip
                if not same:
                    raise SystemExit(f"{engine} disagrees with polars on {name}: {s} vs {ref}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n| engine | startup s | peak RSS MB (Python + JVM) | x polars |")
    print("|---|---|---|---|")
    for engine in engines:
        r = results[engine]
        total = r["peak_python_mb"] + r["peak_jvm_mb"]
        ratio = f"{total / base['peak_python_mb']:.1f}x" if base else "-"
        print(f"| {engine} | {r['startup_s']:.1f} | {total:.0f} ({r['peak_python_mb']:.0f} + "
              f"{r['peak_jvm_mb']:.0f}) | {ratio} |")  # fmt: skip
    print("\nevery engine's row counts and totals equal polars' (checked)")


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_summaries-child"]:
        engine, data, repeat = argv[1], Path(argv[2]), int(argv[3])
        print(json.dumps(summaries_child(engine, data, repeat)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parts = parser.add_subparsers(dest="part", required=True)
    summaries = parts.add_parser("summaries", help="analysis summaries on polars, DuckDB, Spark")
    summaries.add_argument("--videos", type=int, default=1_000_000)
    summaries.add_argument("--repeat", type=int, default=3)
    summaries.add_argument("--engines", default=",".join(ENGINES))
    summaries.add_argument("--data", help="folder for the generated dataset (kept for reuse)")
    summaries.set_defaults(run=summaries_main)
    # further parts register here, e.g. parts.add_parser("merge", ...).set_defaults(run=...)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
