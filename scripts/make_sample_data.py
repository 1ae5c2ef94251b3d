"""Regenerate ``data/sample/``: small JSON dumps in every layout ``merge_dumps`` reads, and the
Parquet tables merged from them.

Everything comes from the offline sandbox (default corpus, seed 0: the same corpus as
``Client.sandbox()``, so the ids and usernames in the dumps can be followed up in the notebooks),
with a frozen sandbox clock and fixed ``retrieved_at`` stamps, so running it again writes the same
bytes. ``tests/test_sample_data.py`` checks that.

Usage::

    python scripts/make_sample_data.py               # rewrites data/sample/dumps and tables
    python scripts/make_sample_data.py --out /tmp/x  # somewhere else
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

import tiktok_research as tr
from tiktok_research import schemas
from tiktok_research._archive import ArchiveWriter
from tiktok_research._windows import split_windows
from tiktok_research.errors import TikTokResearchError
from tiktok_research.io import write_parquet
from tiktok_research.sandbox import Sandbox, SandboxConfig
from tiktok_research.select import select_usernames, select_video_ids

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "data" / "sample"

#: When the (pretend) collection starts: after 2024, so the whole corpus is indexed.
SANDBOX_START = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
#: Canonical row order of the committed tables (merge order depends on which duplicate wins).
TABLE_ORDER: dict[str, list[str]] = {
    "videos": ["create_time", "id"],
    "comments": ["video_id", "create_time", "id"],
    "users": ["username"],
}
PROVENANCE = {
    "made_by": "scripts/make_sample_data.py",
    "source": "sandbox (SandboxConfig() defaults, seed 0): synthetic data",
    "from": "data/sample/dumps (merge_dumps)",
}


@dataclass
class Answer:
    """One HTTP answer as the API sent it, with the request that asked for it."""

    endpoint: str
    request: dict[str, Any]  # path, params, body (never a token)
    status: int
    body: bytes
    retrieved_at: datetime


class FrozenClock:
    """A clock that starts at a fixed moment and moves a quarter second each time it is read."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        self.now += 0.25
        return self.now

    def advance(self, **delta: float) -> None:
        """Jump ahead (e.g. ``minutes=20``): the next run starts later."""
        self.now += timedelta(**delta).total_seconds()


class Recorder:
    """Runs requests on a sandbox client and keeps every answer verbatim."""

    def __init__(self) -> None:
        self.clock = FrozenClock(SANDBOX_START)
        self.sandbox = Sandbox(SandboxConfig(), clock=self.clock)
        self.client = tr.Client.sandbox(self.sandbox, ledger=False)

    def answers(self, endpoint: str, params: dict[str, Any], **kw: Any) -> list[Answer]:
        """Every answer of one page sequence (an error answer ends the sequence).

        A video query over more than one window is asked window after window, oldest first.
        """
        if endpoint == "video_query":
            windows = split_windows(params["start_date"], params["end_date"])
            if len(windows) > 1:
                out: list[Answer] = []
                for s, e in windows:
                    one = {**params, "start_date": s, "end_date": e}
                    out += self.answers(endpoint, one, **kw)
                return out
        got: list[Answer] = []

        def keep(ep: str, req: dict[str, Any], status: int, raw: bytes, at: datetime) -> None:
            sent = {"path": req.get("path"), "params": req.get("params"), "body": req.get("body")}
            got.append(Answer(ep, sent, status, bytes(raw), at))

        try:
            for _ in self.client.pages(endpoint, params, on_response=keep, **kw):
                pass
        except TikTokResearchError:
            pass  # the error answer is kept: dumps hold error pages too
        return got


def _items(answers: list[Answer], key: str) -> list[dict[str, Any]]:
    """The records of ok answers (ids stay exact Python ints)."""
    out: list[dict[str, Any]] = []
    for a in answers:
        body = json.loads(a.body)
        if a.status == 200 and body.get("error", {}).get("code") == "ok":
            out.extend(body["data"].get(key) or [])
    return out


#: Run ids of the archive files (fixed, so that file names do not depend on how often the client
#: reads its clock).
RUNS = {
    "5a3f01": "20250115T080002000000Z-5a3f01",
    "5a3f02": "20250115T082008500000Z-5a3f02",
    "5a3f03": "20250115T082510750000Z-5a3f03",
    "5a3f04": "20250115T083023750000Z-5a3f04",
}


def _write_archive(path: Path, answers: list[Answer], tail: str) -> Path:
    """Our raw archive layout (``pages-{run}.jsonl``), written by the package's ArchiveWriter."""
    run = RUNS[tail]
    target = path / f"pages-{run}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    writer = ArchiveWriter(target)
    for page, a in enumerate(answers):
        writer.write(
            run=run, page=page, endpoint=a.endpoint, request=a.request, status=a.status,
            body=a.body, retrieved_at=a.retrieved_at,
        )  # fmt: skip
    return writer.close()


def _gzip_file(path: Path) -> Path:
    """Gzip ``path`` reproducibly (no file name, mtime 0) to ``path.gz``; remove the original."""
    target = path.with_name(path.name + ".gz")
    target.write_bytes(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))
    path.unlink()
    return target


def _lines(answers: list[Answer]) -> bytes:
    """Responses appended one per line, as the curl scripts do (``>> file.json``)."""
    return b"".join(a.body.strip() + b"\n" for a in answers)


def _pretty(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _query(tag: str) -> dict[str, Any]:
    return {"and": [{"operation": "EQ", "field_name": "hashtag_name", "field_values": [tag]}]}


def make_dumps(out: Path) -> Path:
    """Write the dumps under ``out/dumps``; returns that folder."""
    dumps = out / "dumps"
    if dumps.exists():
        shutil.rmtree(dumps)
    rec = Recorder()

    # -- 1. our raw archive: #climate, Jan-Mar 2024, one 30-day window after another ----------
    folder = dumps / "archive" / "videos-climate-2024q1"
    climate_params = {
        "query": tr.Q.hashtag_name.eq("climate"), "start_date": "20240101", "end_date": "20240331",
    }  # fmt: skip
    climate = rec.answers("video_query", climate_params, max_count=50)
    cut = len(climate) // 2
    # the first run crashed while writing page `cut`: half of its line is on disk (.jsonl, as
    # runs are left until they finish)...
    first = _write_archive(folder, climate[: cut + 1], "5a3f01")
    raw = first.read_bytes().rstrip(b"\n")
    last = raw.rfind(b"\n") + 1
    first.write_bytes(raw[: last + (len(raw) - last) // 2])
    # ...and the resumed run, 20 minutes later, asked for that page again and finished (gzipped)
    rec.clock.advance(minutes=20)
    again = rec.answers("video_query", climate_params, max_count=50)
    _gzip_file(_write_archive(folder, again[cut:], "5a3f02"))
    climate_videos = pl.DataFrame(_items(again, "videos"), schema_overrides={"id": pl.Int64})

    # comments of the four most commented of those videos (a finished run: gzipped)
    rec.clock.advance(minutes=5)
    comments: list[Answer] = []
    for vid in select_video_ids(climate_videos, min_comments=1, top=4).to_list():
        comments += rec.answers("comments", {"video_id": vid}, max_count=100)
    _gzip_file(_write_archive(dumps / "archive" / "comments-climate", comments, "5a3f03"))

    # user info of the most active creators, plus a private account (an error page); the
    # username is only in the recorded request (the API does not echo it). Left as .jsonl.
    rec.clock.advance(minutes=5)
    names = select_usernames(climate_videos, top=6).to_list()
    names += rec.sandbox.corpus.sample_usernames(1, seed=3, kind="private")
    users: list[Answer] = []
    for name in names:
        users += rec.answers("user_info", {"username": name})
    _write_archive(dumps / "archive" / "users-climate", users, "5a3f04")

    # -- 2. the curl-script workflow (hadyyu/tiktok-api): responses appended, one per line ------
    rec.clock.advance(hours=2)
    curl = dumps / "curl"
    curl.mkdir(parents=True)
    march = rec.answers(
        "video_query",
        {"query": _query("climate"), "start_date": "20240301", "end_date": "20240331"},
        max_count=20,
    )  # overlaps the archive's March: merge keeps one row per video
    (curl / "climate_20240301.json").write_bytes(_lines(march))
    april = rec.answers(
        "video_query",
        {"query": _query("sustainability"), "start_date": "20240401", "end_date": "20240430"},
        max_count=10,
    )
    (curl / "sustainability_20240401.json").write_bytes(_lines(april))
    march_videos = pl.DataFrame(_items(march, "videos"), schema_overrides={"id": pl.Int64})
    middling = march_videos.filter(pl.col("comment_count").is_between(10, 70))
    for vid in select_video_ids(middling, top=2).to_list():
        (curl / f"comments_{vid}.json").write_bytes(
            _lines(rec.answers("comments", {"video_id": vid}, max_count=20))
        )
    april_videos = pl.DataFrame(_items(april, "videos"), schema_overrides={"id": pl.Int64})
    for name in select_usernames(april_videos, top=3).to_list():
        (curl / f"{name}_info.json").write_bytes(
            _lines(rec.answers("user_info", {"username": name}))
        )

    # -- 3. one API response per file, pretty-printed (saved from Postman / a notebook) ---------
    rec.clock.advance(hours=1)
    saved = dumps / "saved_responses"
    saved.mkdir(parents=True)
    cats = rec.answers(
        "video_query",
        {"query": tr.Q.hashtag_name.eq("cats"), "start_date": "20240501", "end_date": "20240531"},
        max_count=50,
    )
    for i, a in enumerate(cats[:2], start=1):
        (saved / f"cats_2024-05_page{i}.json").write_bytes(_pretty(json.loads(a.body)))

    # -- 4. a JSON array of responses (a script that kept r.json() of every page) -------------
    election = rec.answers(
        "video_query",
        {"query": tr.Q.hashtag_name.eq("election") & tr.Q.region_code.isin(["US", "CA"]),
         "start_date": "20240601", "end_date": "20240630"},
        max_count=10,
    )  # fmt: skip
    (saved / "election_us_ca_2024-06_pages.json").write_bytes(
        _pretty([json.loads(a.body) for a in election])
    )

    # -- 5. JSON arrays of bare records (the official wrapper's lists, json.dump-ed) ----------
    rec.clock.advance(hours=1)
    wrapper = dumps / "official_wrapper"
    wrapper.mkdir(parents=True)
    food = rec.answers(
        "video_query",
        {"query": _query("foodtok"), "start_date": "20240701", "end_date": "20240710"},
        max_count=100,
    )
    food_videos = _items(food, "videos")
    (wrapper / "foodtok_videos_20240701_20240710.json").write_bytes(
        json.dumps(food_videos, ensure_ascii=False).encode("utf-8")
    )
    top_food = select_video_ids(pl.DataFrame(food_videos, schema_overrides={"id": pl.Int64}),
                                min_comments=1, top=1).item()  # fmt: skip
    food_comments = _items(
        rec.answers("comments", {"video_id": top_food}, max_count=100), "comments"
    )
    (wrapper / f"foodtok_comments_video_{top_food}.json").write_bytes(
        json.dumps(food_comments, ensure_ascii=False).encode("utf-8")
    )
    return dumps


def canonical(table: str, df: pl.DataFrame) -> pl.DataFrame:
    """``df`` cast to its declared schema, in the committed row order."""
    return schemas.cast(df, table).sort(TABLE_ORDER[table], nulls_last=True, maintain_order=True)


def make_tables(dumps: Path, out: Path) -> dict[str, pl.DataFrame]:
    """Merge the dumps and write ``out/tables/{videos,comments,users}.parquet``."""
    merged = tr.merge_dumps(dumps)
    tables_dir = out / "tables"
    if tables_dir.exists():
        shutil.rmtree(tables_dir)
    written: dict[str, pl.DataFrame] = {}
    for table in TABLE_ORDER:
        df = canonical(table, merged[table])
        write_parquet(df, tables_dir / f"{table}.parquet", table=table, provenance=PROVENANCE)
        written[table] = df
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="target folder")
    args = parser.parse_args(argv)
    out: Path = args.out
    dumps = make_dumps(out)
    tables = make_tables(dumps, out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    sys.stdout.write(
        f"wrote {out}: "
        + ", ".join(f"{df.height} {t}" for t, df in tables.items())
        + f"; {size / 1024:.0f} KiB in all\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
