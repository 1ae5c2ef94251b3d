"""Benchmark: the quality report of a 500,000-video collection, against merging the same archive.

Run:  python benchmarks/bench_quality.py [--videos 500000] [--repeat 3] [--keep DIR]

The collection is generated here (synthetic, seeded; no sandbox) as the engine leaves it: a folder
with ``collection.json``, a journal, a manifest and gzipped page files of archive envelopes, twelve
monthly windows of a region query, every video field (bench_merge's videos), about 10 % hidden
slots (the cursor moves by 100 a page, ~90 rows come back), a few failed answers. Timings, best of
``--repeat`` rounds in which the two take turns (medians and CPU times are printed too):

* ``tr.quality(folder)``         - this report (every measure, no HTML);
* ``merge_dumps(page files)``    - the baseline: the same pages merged into the videos table, the
                                   work any reader of the whole archive does.

Peak memory of ``tr.quality`` is measured in a fresh child process (``VmHWM`` of
``/proc/self/status`` minus the RSS before the call; see bench_merge.py) and compared with the
raw (uncompressed) bytes of the archive and with ``merge_dumps``'s peak measured the same way.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_merge import _hwm_kib, _rss_kib, interleaved, make_video

RUN = "20250115T120000000000Z-bench1"
PER_PAGE, STEP = 100, 111  # rows asked / cursor step (hidden slots ~ 1 - 100/111)


def _templates(n: int = 2000) -> list[str]:
    """Serialised videos with ``@ID@`` and ``@T@`` where the id and create_time go."""
    rng = random.Random(11)
    out = []
    for _ in range(n):
        v = make_video(rng, 1)
        v["id"], v["create_time"] = "@ID@", "@T@"
        out.append(
            json.dumps(v, ensure_ascii=False, separators=(",", ":"))
            .replace('"@ID@"', "@ID@")
            .replace('"@T@"', "@T@")
        )
    return out


def build(folder: Path, n_videos: int) -> int:
    """Write the collection; return its raw (uncompressed) bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(5)
    templates = _templates()
    months = [
        (date(2024, m, 1), date(2024, m + 1, 1) if m < 12 else date(2025, 1, 1))
        for m in range(1, 13)
    ]
    windows = [
        (a.strftime("%Y%m%d"), date.fromordinal(b.toordinal() - 1).strftime("%Y%m%d"))
        for a, b in reversed(months)
    ]
    query = {
        "and": [
            {
                "operation": "IN",
                "field_name": "region_code",
                "field_values": ["US", "DE", "IQ", "BR", "JP"],
            }
        ]
    }
    spec = {
        "kind": "videos",
        "endpoint": "video_query",
        "query": query,
        "start_date": "20240101",
        "end_date": "20241231",
        "fields": None,
        "max_total": None,
        "is_random": False,
    }
    (folder / "collection.json").write_text(json.dumps(spec, indent=2))
    per_window = n_videos // len(windows)  # (a multiple of 12 gives exactly n_videos)
    raw = 0
    page_no = 0
    journal: list[str] = []
    stamp = "2025-01-15T12:00:00.000000Z"
    path = folder / f"pages-{RUN}.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        for s, e in windows:
            t0 = int(datetime.strptime(s, "%Y%m%d").replace(tzinfo=UTC).timestamp())
            t1 = int(datetime.strptime(e, "%Y%m%d").replace(tzinfo=UTC).timestamp()) + 86399
            left, cursor = per_window, 0
            key = f"{s}-{e}"
            # one failed answer (a 500, retried) per window
            body = {
                "query": query,
                "start_date": s,
                "end_date": e,
                "max_count": PER_PAGE,
                "cursor": 0,
            }
            err = (
                f'{{"meta":{{"run":"{RUN}","page":{page_no},"endpoint":"video_query",'
                f'"retrieved_at":"{stamp}","version":"0.1.0","http_status":500}},'
                f'"request":{{"path":"/v2/research/video/query/","body":{json.dumps(body)}}},'
                '"response":{"data":{},"error":{"code":"internal_error","message":"Something '
                'went wrong.","log_id":"20250115120000BENCH"}}}\n'
            )
            out.write(err.encode())
            raw += len(err)
            page_no += 1
            while left > 0:
                n = min(left, PER_PAGE - rng.randrange(0, 21))
                ids = sorted(
                    (rng.randrange(t0, t1) << 32 | rng.randrange(1 << 32) for _ in range(n)),
                    reverse=True,
                )
                videos = ",".join(
                    rng.choice(templates).replace("@ID@", str(i)).replace("@T@", str(i >> 32))
                    for i in ids
                )
                left -= n
                more = left > 0
                body = {
                    "query": query,
                    "start_date": s,
                    "end_date": e,
                    "max_count": PER_PAGE,
                    "cursor": cursor,
                }
                cursor += STEP
                line = (
                    f'{{"meta":{{"run":"{RUN}","page":{page_no},"endpoint":"video_query",'
                    f'"retrieved_at":"{stamp}","version":"0.1.0","http_status":200}},'
                    f'"request":{{"path":"/v2/research/video/query/",'
                    f'"body":{json.dumps(body)}}},'
                    f'"response":{{"data":{{"videos":[{videos}],"cursor":{cursor},'
                    f'"has_more":{"true" if more else "false"},"search_id":"1"}},'
                    '"error":{"code":"ok","message":"","log_id":"x"}}}\n'
                )
                out.write(line.encode())
                raw += len(line.encode())
                journal.append(
                    json.dumps(
                        {
                            "v": 2,
                            "task": key,
                            "event": "page",
                            "run": RUN,
                            "page": page_no,
                            "from": None,
                            "state": None,
                        }
                    )
                )
                page_no += 1
            journal.append(json.dumps({"v": 2, "task": key, "event": "done"}))
    (folder / "journal.jsonl").write_text("\n".join(journal) + "\n")
    manifest = {
        "run": RUN,
        "kind": "videos",
        "endpoint": "video_query",
        "spec": spec,
        "windows": [list(w) for w in windows],
        "started_at": stamp,
        "status": "complete",
        "tasks_total": 12,
        "stopped_by": None,
    }
    (folder / f"manifest-{RUN}.json").write_text(json.dumps(manifest))
    return raw


def child(kind: str, folder: str) -> None:
    """In a fresh process: the peak memory of one call (JSON on stdout)."""
    import polars as pl  # noqa: F401 - imported before measuring

    import tiktok_research as tr

    before = _rss_kib()
    if kind == "quality":
        rows = int(tr.quality(folder).windows["rows"].sum())
    else:
        rows = tr.merge_dumps(sorted(Path(folder).glob("pages-*"))).tables["videos"].height
    print(json.dumps({"before_kib": before, "peak_kib": _hwm_kib(), "rows": rows}))


def _peak(kind: str, folder: Path) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--videos", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the archive here once and reuse it")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    import tiktok_research as tr

    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-quality-"))
    folder = base / f"videos-bench-{args.videos}"
    t0 = time.perf_counter()
    if not (folder / "journal.jsonl").exists():
        build(folder, args.videos)
    raw = sum(len(gzip.decompress(p.read_bytes())) for p in folder.glob("pages-*.gz"))
    disk = sum(p.stat().st_size for p in folder.iterdir())
    print(
        f"archive: {folder} ({args.videos:,} videos, {raw / 1e6:.0f} MB raw, "
        f"{disk / 1e6:.0f} MB on disk; ready in {time.perf_counter() - t0:.1f} s)"
    )
    files = sorted(folder.glob("pages-*"))
    report = tr.quality(folder)
    assert int(report.windows["rows"].sum()) == args.videos // 12 * 12, report.windows
    print(f"verdict: {report.verdict()}")
    times = interleaved(
        args.repeat,
        {"quality": lambda: tr.quality(folder), "merge_dumps": lambda: tr.merge_dumps(files)},
    )
    best = {k: min(w for w, _ in v) for k, v in times.items()}
    for name, runs in times.items():
        walls = [w for w, _ in runs]
        cpus = [c for _, c in runs]
        print(
            f"{name:12s} best {min(walls):6.2f} s  median {statistics.median(walls):6.2f} s  "
            f"CPU median {statistics.median(cpus):6.2f} s"
        )
    print(
        f"ratio quality / merge_dumps (best of {args.repeat}): "
        f"{best['quality'] / best['merge_dumps']:.2f}x"
    )
    q, m = _peak("quality", folder), _peak("merge", folder)
    for name, peak in (("quality", q), ("merge_dumps", m)):
        grown = (peak["peak_kib"] - peak["before_kib"]) * 1024
        print(f"peak memory {name:12s} {grown / 1e6:7.0f} MB = {grown / raw:.2f}x raw bytes")
    print(
        f"peak memory ratio quality / merge_dumps: "
        f"{(q['peak_kib'] - q['before_kib']) / (m['peak_kib'] - m['before_kib']):.2f}x"
    )


if __name__ == "__main__":
    main()
