"""Benchmark: ``merge_dumps(..., dataset=DIR)`` in bounded memory, against the in-memory merge.

Run::

    python benchmarks/bench_merge_dataset.py --sizes 0.5,1,2 --in-memory-up-to 1
    python benchmarks/bench_merge_dataset.py --small-files 10000
    python benchmarks/bench_merge_dataset.py --documents 0.5,2

The dumps are generated here (synthetic, seeded; no sandbox) into a temporary folder (``--workdir``,
default: the system's temp folder; check ``df -h`` first: the 2 GB run needs about 2.2 GB there
plus the datasets) and deleted afterwards (``--keep`` keeps them). They mix the layouts users have:

* curl-style JSON lines of responses (``{hashtag}_{YYYYMMDD}.json``, 20 pages of 100 videos);
* our raw archive, gzipped (``pages-<run>.jsonl.gz``, 30 envelopes of 100 videos);
* the official wrapper's JSON array of bare video records (300 records);
* now and then a pretty-printed single response.

About a quarter of the videos are fetched again in a later file with other counts (overlapping
collections), so de-duplication has work to do. The sizes are on-disk bytes; the smaller inputs
are prefixes of the largest one (the same files), so the figures differ only in size.

Each merge runs in a fresh child process (``--child``) that reports its wall time and its peak
resident set size (``VmHWM`` of ``/proc/self/status``, which starts afresh at ``exec``), with the
RSS after imports for reference, the rows of each table and an order-free checksum of the ids, so
that the dataset merge and the in-memory merge can be compared on the same input.

``--small-files N`` writes N small files (one response of 10 videos each: one JSON line, a
pretty-printed response or ``comments_{video_id}.json``) and merges them both ways.

``--documents 0.5,2`` writes, for each size, the same responses three ways, each as one file: one
JSON array of responses, one JSON array of bare video records (the official wrapper's layout) and
JSON lines of responses, and merges each with ``dataset=`` (the in-memory merge too with
``--in-memory-up-to``): one big JSON document must stream like JSON lines, in flat memory.

``--before SRC`` also runs the in-memory merge of another version of the package (``SRC`` holds
its ``tiktok_research`` folder, e.g. ``git archive <commit> src | tar -x -C /tmp/before`` then
``--before /tmp/before/src``), on the same files, for a before / after comparison.

Wall times on a shared machine depend on the other jobs: CPU times (user + system, all threads of
the child) are printed beside them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_merge import make_video  # type: ignore[import-not-found]

GB = 1_000_000_000
ID0 = 7_300_000_000_000_000_000
ID_SENTINEL = 1_111_111_111_111_111_111
VIEWS_SENTINEL = 2_222_222_222
POOL = 2_000
HASHTAGS = ["cats", "fyp", "science", "election", "food", "news", "music"]


class Generator:
    """Writes dump files of every layout, with overlapping videos, as fast as Python allows.

    Video bodies come from a pool of pre-serialised random videos; only the id and the view
    count differ between copies (string replacement, no ``json.dumps`` per video).
    """

    def __init__(self, folder: Path, seed: int = 11) -> None:
        self.folder = folder
        self.rng = random.Random(seed)
        self.pool = [
            json.dumps(
                {**make_video(self.rng, ID_SENTINEL), "view_count": VIEWS_SENTINEL},
                ensure_ascii=False,
                separators=(",", ":"),
            )
            for _ in range(POOL)
        ]
        self.counter = 0
        self.n_files = 0

    def _video(self) -> str:
        rng = self.rng
        if self.counter > 1000 and rng.random() < 0.25:  # fetched again later, other counts
            k = rng.randrange(max(0, self.counter - 200_000), self.counter)
        else:
            k = self.counter
            self.counter += 1
        body = self.pool[k % POOL]
        return body.replace(str(ID_SENTINEL), str(ID0 + k * 7919), 1).replace(
            str(VIEWS_SENTINEL), str(rng.randrange(3_000_000_000)), 1
        )

    def _page(self, n: int, cursor: int) -> str:
        return self._page_of([self._video() for _ in range(n)], cursor)

    def _page_of(self, items: list[str], cursor: int) -> str:
        videos = ",".join(items)
        return (
            '{"data":{"videos":[' + videos + f'],"cursor":{cursor},"has_more":true,'
            '"search_id":"7354367454467855403"},"error":{"code":"ok","message":"",'
            '"log_id":"20240405132544A8A35938AA061A19F445"}}'
        )

    def _name(self, stem: str) -> Path:
        self.n_files += 1
        return self.folder / f"{self.n_files:06d}-{stem}"

    def curl(self, pages: int = 20, per_page: int = 100) -> Path:
        tag = self.rng.choice(HASHTAGS)
        path = self._name(f"{tag}_202401{self.rng.randrange(1, 29):02d}.json")
        lines = [self._page(per_page, (p + 1) * per_page) for p in range(pages)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def archive(self, pages: int = 30, per_page: int = 100) -> Path:
        run = f"20250115T{self.n_files:06d}000000Z-{self.rng.randrange(16**6):06x}"
        path = self._name(f"pages-{run}.jsonl.gz")
        lines = []
        for p in range(pages):
            second = self.n_files * 100 + p
            meta = (
                f'{{"run":"{run}","page":{p},"endpoint":"video_query","retrieved_at":'
                f'"2025-01-{1 + second // 86400 % 28:02d}T{second // 3600 % 24:02d}:'
                f'{second // 60 % 60:02d}:{second % 60:02d}.000000Z","version":"0.1.0",'
                '"http_status":200}'
            )
            request = '{"path":"/v2/research/video/query/","params":{},"body":{"max_count":100}}'
            response = self._page(per_page, (p + 1) * per_page)
            lines.append(f'{{"meta":{meta},"request":{request},"response":{response}}}')
        data = ("\n".join(lines) + "\n").encode()
        path.write_bytes(gzip.compress(data, compresslevel=1, mtime=0))
        return path

    def records(self, n: int = 300) -> Path:
        path = self._name(f"wrapper_videos_{self.n_files}.json")
        path.write_text("[" + ", ".join(self._video() for _ in range(n)) + "]", encoding="utf-8")
        return path

    def pretty(self, per_page: int = 10) -> Path:
        path = self._name(f"saved_page_{self.n_files}.json")
        path.write_text(
            json.dumps(json.loads(self._page(per_page, per_page)), indent=2), encoding="utf-8"
        )
        return path

    def documents(self, size: int) -> dict[str, Path]:
        """One file per layout holding the same videos: about ``size`` bytes each."""
        paths = {
            "JSON lines of responses": self._name("responses.jsonl"),
            "JSON array of responses": self._name("responses_array.json"),
            "JSON array of records": self._name("wrapper_records.json"),
        }
        fhs = {k: p.open("w", encoding="utf-8") for k, p in paths.items()}
        fhs["JSON array of responses"].write("[")
        fhs["JSON array of records"].write("[")
        written, first = 0, True
        while written < size:
            videos = [self._video() for _ in range(100)]
            page = self._page_of(videos, 100)
            sep = "" if first else ",\n"
            fhs["JSON lines of responses"].write(page + "\n")
            fhs["JSON array of responses"].write(sep + page)
            fhs["JSON array of records"].write(sep + ",\n".join(videos))
            written += len(page) + 1
            first = False
        fhs["JSON array of responses"].write("]\n")
        fhs["JSON array of records"].write("]\n")
        for fh in fhs.values():
            fh.close()
        return paths

    def comments(self, n: int = 10) -> Path:
        vid = ID0 + self.rng.randrange(max(1, self.counter)) * 7919
        path = self._name(f"comments_{vid}.json")
        items = ",".join(
            f'{{"id":{ID0 + 5 * 10**17 + self.rng.randrange(10**12)},"text":"nice video 🥰",'
            f'"like_count":{self.rng.randrange(100)},"reply_count":0,'
            f'"parent_comment_id":{vid},"create_time":{1704067200 + self.rng.randrange(10**6)}}}'
            for _ in range(n)
        )
        path.write_text(
            f'{{"data":{{"comments":[{items}],"has_more":false,"cursor":{n}}}}}\n', encoding="utf-8"
        )
        return path


def generate_large(folder: Path, sizes: list[int]) -> dict[int, list[Path]]:
    """Files until the largest size (on-disk bytes); each size is a prefix of the list."""
    gen = Generator(folder)
    files: list[Path] = []
    total = 0
    out: dict[int, list[Path]] = {}
    targets = sorted(sizes)
    rounds = 0
    while targets:
        made = [gen.curl(), gen.curl(), gen.archive(), gen.curl(), gen.records()]
        if rounds % 10 == 9:
            made.append(gen.pretty())
        rounds += 1
        for path in made:
            files.append(path)
            total += path.stat().st_size
        while targets and total >= targets[0]:
            out[targets.pop(0)] = list(files)
    return out


def generate_small(folder: Path, n: int) -> list[Path]:
    gen = Generator(folder)
    files = []
    for i in range(n):
        r = i % 10
        if r < 7:
            files.append(gen.curl(pages=1, per_page=10))
        elif r < 9:
            files.append(gen.pretty(per_page=10))
        else:
            files.append(gen.comments(10))
    return files


# ------------------------------------------------------------------------------------ child


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(mode: str, listing: str, out: str) -> None:
    """Run one merge; print a JSON line: seconds, peak and start RSS, rows and id checksums."""
    import polars as pl

    from tiktok_research.merge import merge_dumps

    paths = Path(listing).read_text().split("\n")
    before = _status_kib("VmRSS")
    c0 = time.process_time()
    t0 = time.perf_counter()
    options = {"dataset": out} if mode == "dataset" else {}  # an earlier version has no dataset=
    result = merge_dumps(paths, **options)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _status_kib("VmHWM")
    if mode == "dataset":
        frames = {t: result.scan(t) for t in result.rows}
    else:
        frames = {t: df.lazy() for t, df in result.tables.items()}
    check = {
        t: lf.select(pl.len(), pl.col("id").hash(7).sum()).collect().row(0)
        for t, lf in frames.items()
    }
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "peak_kib": peak,
                "before_kib": before,
                "check": check,
                "skipped": len(result.skipped),
            }
        )
    )


def run_child(
    mode: str, paths: list[Path], work: Path, src: str | None = None
) -> dict[str, object]:
    listing = work / f"list-{len(paths)}.txt"
    listing.write_text("\n".join(str(p) for p in paths))
    out = work / f"out-{mode}-{len(paths)}"
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(listing), str(out)],
        capture_output=True,
        text=True,
        env=env,
    )
    shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["killed"]}
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _fmt(r: dict[str, object]) -> str:
    if "error" in r:
        return f"failed: {r['error']}"
    return (
        f"{r['seconds']:6.1f} s (CPU {r['cpu']:5.1f} s)  peak {int(r['peak_kib']) / 1024:6.0f} MB"  # type: ignore[call-overload]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0.5,1,2", help="input sizes in GB (on disk)")
    parser.add_argument("--in-memory-up-to", type=float, default=1.0,
                        help="also run the in-memory merge for sizes up to this (GB)")  # fmt: skip
    parser.add_argument("--small-files", type=int, default=0, help="N small files instead")
    parser.add_argument("--documents", default="", help="sizes (GB) of single-file layouts")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--before", help="src folder of another version: its in-memory merge too")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.before and not (Path(args.before) / "tiktok_research" / "merge.py").is_file():
        parser.error(f"--before {args.before}: no tiktok_research/merge.py there")
    work = Path(tempfile.mkdtemp(prefix="bench-merge-", dir=args.workdir))
    dumps = work / "dumps"
    dumps.mkdir()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; work in {work}")
    try:
        if args.small_files:
            t0 = time.perf_counter()
            files = generate_small(dumps, args.small_files)
            size = sum(p.stat().st_size for p in files)
            print(f"generated {len(files):,} files, {size / 1e6:.0f} MB in "
                  f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
            runs = {m: run_child(m, files, work) for m in ("memory", "dataset")}
            if args.before:
                runs["before (in memory)"] = run_child("memory", files, work, args.before)
            for mode, r in runs.items():
                print(f"{mode:19s} {_fmt(r)}  {r.get('check')}")
            return
        if args.documents:
            run_documents(args, dumps, work)
            return
        sizes = [int(float(s) * GB) for s in args.sizes.split(",")]
        t0 = time.perf_counter()
        inputs = generate_large(dumps, sizes)
        print(f"generated in {time.perf_counter() - t0:.0f} s")
        print("| input (on disk) | files | JSON bytes | dataset: time (CPU) | dataset: peak RSS "
              "| in memory: time (CPU) | in memory: peak RSS | same rows and ids |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|")
        for size in sorted(inputs):
            files = inputs[size]
            disk = sum(p.stat().st_size for p in files)
            inflated = sum(
                _gunzipped_size(p) if p.name.endswith(".gz") else p.stat().st_size for p in files
            )
            ds = run_child("dataset", files, work)
            mem = (
                run_child("memory", files, work)
                if size <= args.in_memory_up_to * GB
                else {"error": "not run"}
            )
            same = "-" if "error" in mem or "error" in ds else str(mem["check"] == ds["check"])
            print(
                f"| {disk / GB:.2f} GB | {len(files):,} | {inflated / GB:.2f} GB "
                f"| {_cell(ds, 'seconds')} | {_cell(ds, 'peak_kib')} "
                f"| {_cell(mem, 'seconds')} | {_cell(mem, 'peak_kib')} | {same} |",
                flush=True,
            )
            if "error" not in ds:
                print(f"  rows: {ds['check']}, RSS after imports "
                      f"{int(ds['before_kib']) / 1024:.0f} MB", flush=True)  # type: ignore[call-overload]  # fmt: skip
            if args.before and size <= args.in_memory_up_to * GB:
                old = run_child("memory", files, work, args.before)
                print(f"  before (in memory): {_fmt(old)}, same rows and ids: "
                      f"{old.get('check') == mem.get('check')}", flush=True)  # fmt: skip
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run_documents(args: argparse.Namespace, dumps: Path, work: Path) -> None:
    """One big file per layout and size: the dataset merge (and in memory up to a size)."""
    print("| input | size | dataset: time (CPU) | dataset: peak RSS | in memory: time (CPU) "
          "| in memory: peak RSS | same rows and ids as JSON lines |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for size_gb in (float(s) for s in args.documents.split(",")):
        folder = dumps / f"{size_gb:g}GB"
        folder.mkdir()
        t0 = time.perf_counter()
        files = Generator(folder).documents(int(size_gb * GB))
        print(f"  (generated {size_gb:g} GB x {len(files)} in {time.perf_counter() - t0:.0f} s; "
              f"load {os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip
        reference = None
        for layout, path in files.items():
            ds = run_child("dataset", [path], work)
            mem = (
                run_child("memory", [path], work)
                if size_gb <= args.in_memory_up_to
                else {"error": "not run"}
            )
            if reference is None:
                reference = ds.get("check")
            same = "-" if "error" in ds else str(ds.get("check") == reference)
            print(
                f"| {layout} | {path.stat().st_size / GB:.2f} GB | {_cell(ds, 'seconds')} "
                f"| {_cell(ds, 'peak_kib')} | {_cell(mem, 'seconds')} | {_cell(mem, 'peak_kib')} "
                f"| {same} |",
                flush=True,
            )
            if args.before:
                old = run_child("memory", [path], work, args.before)
                print(f"  before (in memory): {_fmt(old)}", flush=True)
            if "error" not in ds:
                print(f"  rows: {ds['check']}, skipped {ds['skipped']}", flush=True)
        shutil.rmtree(folder, ignore_errors=True)


def _cell(r: dict[str, object], key: str) -> str:
    if "error" in r:
        return str(r["error"]) if r["error"] == "not run" else f"failed ({r['error']})"
    if key == "seconds":
        return f"{float(r[key]):.1f} s ({float(r['cpu']):.1f} s)"  # type: ignore[arg-type]
    return f"{int(r[key]) / 1024:.0f} MB"  # type: ignore[call-overload]


def _gunzipped_size(path: Path) -> int:
    n = 0
    with gzip.open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            n += len(chunk)
    return n


if __name__ == "__main__":
    main()
