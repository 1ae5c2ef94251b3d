"""Merge JSON dumps of any layout users keep on disk into de-duplicated typed tables.

Layouts read (detected from the content, whatever the file extension):

* our raw archive (``.jsonl`` / ``.jsonl.gz``, one envelope per line);
* one API response per file (pretty-printed or not);
* JSON Lines or concatenated JSON objects of responses (the ``{hashtag}_{YYYYMMDD}.json``,
  ``comments_{video_id}.json`` and ``{username}_info.json`` files that curl scripts append to);
* a JSON array of responses;
* a JSON array (or JSON lines) of bare records, as users save the official wrapper's lists.

The endpoint of each page is detected from its keys (or read from the archive envelope); rows are
de-duplicated on the table's primary key, keeping the most recently retrieved (archive
``retrieved_at``, else the file's modification time, then position in the file). The username of a
user-info answer is recovered from the recorded request or from the file name
(``{username}_info.json``), the video id of comments from ``comments_{video_id}.json``.
Unreadable files, truncated or broken lines and error pages are reported with their path and line
number; everything readable is kept.
"""

from __future__ import annotations

import glob
import gzip
import itertools
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import polars as pl
import pyarrow as pa

from . import _endpoints as ep
from . import schemas, tables
from ._archive import is_bookkeeping

__all__ = ["FileReport", "MergeResult", "merge_dumps"]

logger = logging.getLogger(__name__)

_ORDER_STRIDE = 1 << 40
_REQUEST_KEYS = frozenset(
    {"max_count", "cursor", "query", "start_date", "end_date", "fields", "limit", "page_size",
     "page_start", "search_id"}
)  # fmt: skip
_INFO_NAME = re.compile(r"^@?(?P<name>.+?)_info(?:\.[^.]*)*$")
_COMMENTS_NAME = re.compile(r"^comments_(?P<id>\d+)(?:\.[^.]*)*$")


@dataclass
class FileReport:
    """What happened to one input file."""

    path: str
    layout: str = "?"
    pages: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[int | None, str]] = field(default_factory=list)  # (line number, reason)
    notes: list[str] = field(default_factory=list)  # kept, but worth knowing

    def __str__(self) -> str:
        rows = ", ".join(f"{n} {t}" for t, n in self.rows.items()) or "no rows"
        head = f"{self.path}: {self.layout}, {self.pages} page(s), {rows}"
        skips = "".join(
            f"\n    skipped {'line ' + str(line) + ': ' if line else ''}{why}"
            for line, why in self.skipped
        )
        notes = "".join(f"\n    note: {n}" for n in self.notes)
        return head + skips + notes


@dataclass
class MergeResult:
    """Tables merged from dumps, plus a per-file report of what was read and skipped."""

    tables: dict[str, pl.DataFrame]
    report: list[FileReport]

    def __getitem__(self, table: str) -> pl.DataFrame:
        if table in self.tables:
            return self.tables[table]
        if table in schemas.SCHEMAS:
            return schemas.empty(table)
        raise KeyError(f"unknown table {table!r}; expected one of: {', '.join(schemas.SCHEMAS)}")

    def __contains__(self, table: object) -> bool:
        return table in self.tables

    @property
    def skipped(self) -> list[tuple[str, int | None, str]]:
        """Every skipped item as ``(path, line, reason)``."""
        return [(r.path, line, why) for r in self.report for line, why in r.skipped]

    def summary(self) -> str:
        """A readable summary: rows per table, files read, everything skipped and why."""
        lines = [
            f"merged {len(self.report)} file(s): "
            + (", ".join(f"{df.height} {t}" for t, df in self.tables.items()) or "no rows")
        ]
        n_skipped = len(self.skipped)
        lines.append(f"skipped {n_skipped} item(s)" + (":" if n_skipped else ""))
        lines.extend(f"  {r}" for r in self.report)
        return "\n".join(lines)

    __str__ = summary

    def __repr__(self) -> str:
        sizes = ", ".join(f"{t}={df.height}" for t, df in self.tables.items())
        return f"MergeResult({sizes}; {len(self.report)} files, {len(self.skipped)} skipped)"


# ------------------------------------------------------------------------------------- helpers


def _bookkeeping(path: Path) -> bool:
    """A file of the collection layer's own (not data) inside an archive collection folder."""
    return is_bookkeeping(path)


def _expand(paths_or_globs: str | Path | Iterable[str | Path]) -> list[Path]:
    items = [paths_or_globs] if isinstance(paths_or_globs, (str, Path)) else list(paths_or_globs)
    out: list[Path] = []
    for item in items:
        text = str(item)
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and not _bookkeeping(q)))
        elif not p.exists() and any(c in text for c in "*?["):
            out.extend(Path(m) for m in sorted(glob.glob(text, recursive=True)))
        else:
            out.append(p)
    return out


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _objects(text: str) -> list[tuple[int, str]]:
    """Split concatenated / pretty-printed JSON values into (line number, text) pieces."""
    decoder = json.JSONDecoder()
    pos, n = 0, len(text)
    out: list[tuple[int, str]] = []
    while True:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n:
            return out
        try:
            _, end = decoder.raw_decode(text, pos)
        except ValueError:
            line = text.count("\n", 0, pos) + 1
            out.append((line, text[pos:]))  # unreadable tail: reported by the caller
            return out
        out.append((text.count("\n", 0, pos) + 1, text[pos:end]))
        pos = end


def _kind(first: Any) -> str:
    if isinstance(first, dict):
        if "meta" in first and ("response" in first or "response_text" in first):
            return "envelope"
        if "data" in first or "error" in first:
            return "response"
        return "records"
    return "unknown"


def _guess_table(record: dict[str, Any], name: str, endpoint: str | None) -> str | None:
    """Table of a bare record, from its keys (and the file name for followers vs following)."""
    if endpoint is not None:
        return ep.ENDPOINTS[endpoint].table
    keys = set(record)
    lower = name.lower()
    if keys & _REQUEST_KEYS:
        return None  # a request body, not a record
    if keys & {"text", "parent_comment_id", "reply_count"}:
        return "comments"
    if keys & {"review_text", "review_rating"}:
        return "reviews"
    if keys & {"product_id", "product_price", "product_sold_count"}:
        return "products"
    if keys & {"shop_rating", "shop_id", "item_sold_count"}:
        return "shops"
    if keys & {"playlist_video_ids", "playlist_name"}:
        return "playlists"
    if keys & {"follower_count", "following_count", "bio_description", "avatar_url", "is_verified"}:
        return "users"
    if keys & {"id", "video_id", "video_description", "view_count", "hashtag_names"}:
        for t in ("liked_videos", "pinned_videos", "reposted_videos"):
            if t.split("_")[0] in lower:
                return t
        return "videos"
    if keys and keys <= {"display_name", "username"}:
        if "following" in lower:
            return "following"
        if "follower" in lower:
            return "followers"
    return None


_NO_DATA = "page holds no data of a known endpoint"
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")


class _LazyLines(list[bytes]):
    """The lines of a JSON-lines file, split only if a slow path needs them one by one."""

    def __init__(self, raw: bytes, first: bytes, last: bytes, n: int) -> None:
        super().__init__()
        self._raw, self._first, self._last, self._n, self._split = raw, first, last, n, False

    def _ensure(self) -> None:
        if not self._split:
            self._split = True
            self.extend(ln.strip() for ln in self._raw.strip().split(b"\n"))

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        if not self._split and i == 0:
            return self._first
        if not self._split and i == -1:
            return self._last
        self._ensure()
        return super().__getitem__(i)

    def __iter__(self):  # type: ignore[no-untyped-def, override]
        self._ensure()
        return super().__iter__()

    def __bool__(self) -> bool:
        return self._n > 0


def _guess_endpoint(line: bytes, envelope: bool) -> str | None:
    """Endpoint of one page (its envelope's meta, else the keys of its ``data``)."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return _endpoint_of(obj, envelope)


def _endpoint_of(obj: Any, envelope: bool) -> str | None:
    """Endpoint of one decoded page (its envelope's meta, else the keys of its ``data``)."""
    if not isinstance(obj, dict):
        return None
    if envelope:
        name = (obj.get("meta") or {}).get("endpoint")
        return name if name in ep.ENDPOINTS else None
    data = obj.get("data")
    if not isinstance(data, dict):
        return None
    for e in ep.ENDPOINTS.values():
        if e.data_key and any(k in data for k in (e.data_key, *e.alt_data_keys)):
            return e.name
    if any(k in data for k in ("playlist_name", "playlist_video_ids")):
        return "playlist_info"
    if any(k in data for k in ep.USER_INFO_FIELDS):
        return "user_info"
    return None


def _name_hints(path: Path) -> dict[str, str]:
    hints: dict[str, str] = {}
    if m := _INFO_NAME.match(path.name):
        hints["username"] = m.group("name")
    if m := _COMMENTS_NAME.match(path.name):
        hints["video_id"] = m.group("id")
    return hints


class _FileReader:
    """Reads one file into page frames / record tables, filling its FileReport."""

    def __init__(self, path: Path, index: int, endpoint: str | None) -> None:
        self.path = path
        self.index = index
        self.endpoint = endpoint
        self.report = FileReport(str(path))
        self.frames: dict[str, list[pl.DataFrame]] = {}

    def skip(self, line: int | None, why: str, *, expected: bool = False) -> None:
        """Report a skipped item; ``expected`` ones (an archived error page) are logged at INFO.

        Error pages are part of any archive (a private account, a retried 429, a 500): they stay in
        the report but are not worth a warning. Unreadable files and lines are.
        """
        self.report.skipped.append((line, why))
        logger.log(
            logging.INFO if expected else logging.WARNING,
            "%s%s: %s; skipped", self.path, f":{line}" if line else "", why,
        )  # fmt: skip

    def count(self, table: str, rows: int, missing_usernames: int = 0) -> None:
        """Record ``rows`` rows of ``table`` read from this file (and user rows lacking a name)."""
        if missing_usernames:
            self.report.notes.append(
                f"{missing_usernames} user row(s) without username: the API does not echo it; "
                "name the file {username}_info.json or keep the request in the archive"
            )
        if rows:
            self.report.rows[table] = self.report.rows.get(table, 0) + rows

    def add(self, table: str, df: pl.DataFrame) -> None:
        missing = df["username"].null_count() if table == "users" and df.height else 0
        self.count(table, df.height, missing)
        if df.height:
            self.frames.setdefault(table, []).append(df)

    def probe(self) -> _Probe | None:
        """Look at the first and last line only: can this file join a batch read (fast path)?

        Eligible: a plain (not gzipped, no BOM) JSON-lines file of API responses or archive
        envelopes whose first and last lines are whole JSON objects. Everything else, and every
        file whose batch read fails, goes through :meth:`read`, which handles and reports it all.
        """
        try:
            stat = self.path.stat()
            with self.path.open("rb") as fh:
                first_line = _first_line(fh)
                last_line = _last_line(fh, stat.st_size) if first_line is not None else None
        except OSError:
            return None
        if first_line is None or last_line is None:
            return None
        try:
            first = json.loads(first_line)
            last = first if last_line == first_line else json.loads(last_line)
        except ValueError:
            return None  # e.g. a truncated last line: reported by the careful path
        kind = _kind(first)
        if kind not in ("envelope", "response"):
            return None
        envelope = kind == "envelope"
        self.report.layout = "raw archive (JSON lines)" if envelope else "JSON lines of responses"
        tables.sniff_unknown([first, last], self.endpoint)
        guess = self.endpoint or _endpoint_of(first, envelope)
        mtime = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
        return _Probe(self, kind, guess, mtime)

    def read(self) -> None:
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            self.report.layout = "unreadable"
            self.skip(None, f"cannot read file ({exc.strerror or exc})")
            return
        if raw[:2] == b"\x1f\x8b":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as exc:
                # a gzip stream cut short: keep what decompresses
                raw = _partial_gunzip(raw)
                self.skip(None, f"gzip stream is damaged ({exc}); read what was readable")
        if raw[:3] == b"\xef\xbb\xbf":
            raw = raw[3:]
        head = raw[:4096].lstrip()
        body = head if head else raw.lstrip()  # only the start is looked at: no copy of the file
        if not body:
            self.report.layout = "empty"
            self.skip(None, "empty file")
            return
        if body[:1] == b"[":
            self._read_array(raw)
        elif body[:1] == b"{":
            self._read_objects(raw)
        else:
            self.report.layout = "not JSON"
            self.skip(1, "file is not JSON (e.g. an HTML error page)")

    # -- arrays ---------------------------------------------------------------------------------

    def _read_array(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace")
        start = text.index("[") + 1
        try:
            first, _ = json.JSONDecoder().raw_decode(text, start + len(text[start:]) - len(
                text[start:].lstrip()))  # fmt: skip
        except ValueError:
            first = None
        if first is None and text[start:].strip().startswith("]"):
            self.report.layout = "JSON array (empty)"
            return
        kind = _kind(first)
        if kind in ("response", "envelope"):
            self.report.layout = f"JSON array of {'responses' if kind == 'response' else 'pages'}"
            try:
                values = json.loads(text)
            except ValueError as exc:
                self.skip(None, f"JSON array is not valid ({exc})")
                return
            lines = [json.dumps(v, ensure_ascii=False).encode() for v in values]
            # json.loads keeps ids exact (Python ints); re-encoded once, never through float
            self._read_lines(lines, [1] * len(lines), kind)
            return
        if kind == "records" and isinstance(first, dict):
            table = _guess_table(first, self.path.name, self.endpoint)
            self.report.layout = "JSON array of records"
            if table is None:
                self.skip(None, "cannot tell which table these records belong to; pass endpoint=")
                return
            self._records(raw, table, array=True)
            return
        self.report.layout = "JSON array"
        self.skip(None, "array holds no JSON objects")

    def _records(self, raw: bytes, table: str, *, array: bool) -> None:
        consts: dict[str, Any] = {}
        hints = _name_hints(self.path)
        if table == "users" and "username" in hints:
            consts["username"] = hints["username"]
        if table == "comments" and "video_id" in hints:
            consts["video_id"] = int(hints["video_id"])
        issues: list[str] = []
        try:
            df = tables.records_from_json(
                raw, table, constant_columns=consts, issues=issues, src=f" ({self.path})",
                array=array,
            )  # fmt: skip
        except pl.exceptions.PolarsError as exc:
            self.skip(None, f"records cannot be read ({exc})")
            return
        for msg in issues:
            self.report.skipped.append((None, msg))
        mtime = _mtime(self.path)
        df = df.with_columns(
            pl.lit(mtime, dtype=pl.Datetime("us", "UTC")).alias("_retrieved_at"),
            (pl.col("_order") + self.index * _ORDER_STRIDE).alias("_order"),
        )
        self.report.pages += 1
        self.add(table, df)

    # -- objects --------------------------------------------------------------------------------

    def _read_objects(self, raw: bytes) -> None:
        start = len(raw) - len(raw.lstrip())
        end = raw.find(b"\n", start)
        first_line = raw[start : end if end >= 0 else len(raw)]
        try:
            first = json.loads(first_line)
            line_oriented = True
        except ValueError:
            line_oriented = False
        if line_oriented:
            stop = len(raw)
            while stop and raw[stop - 1] in b" \t\r\n":
                stop -= 1
            if start == 0 and _BLANK_LINE.search(raw, 0, stop) is None:
                # no blank lines: page i is line i + 1 (no copy of the lines needed)
                n = raw.count(b"\n", 0, stop) + 1
                numbers = list(range(1, n + 1))
                last_start = raw.rfind(b"\n", 0, stop) + 1
                kept: list[bytes] = _LazyLines(raw, first_line, raw[last_start:stop].strip(), n)
            else:
                lines = raw.split(b"\n")
                numbers = [i + 1 for i, ln in enumerate(lines) if ln.strip()]
                kept = [ln.strip() for ln in lines if ln.strip()]
            kind = _kind(first)
            self.report.layout = {
                "envelope": "raw archive (JSON lines)",
                "response": "JSON lines of responses",
                "records": "JSON lines of records",
            }.get(kind, "JSON lines")
        else:
            text = raw.decode("utf-8", errors="replace")
            pieces = _objects(text)
            numbers = [n for n, _ in pieces]
            kept = [p.encode() for _, p in pieces]
            try:
                first = json.loads(kept[0]) if kept else None
            except ValueError:
                first = None
            kind = _kind(first)
            self.report.layout = (
                "one response" if len(kept) == 1 and kind == "response"
                else f"concatenated JSON objects ({kind})"
            )  # fmt: skip
        if kind == "records" and isinstance(first, dict):
            table = _guess_table(first, self.path.name, self.endpoint)
            if table is None:
                self.skip(None, "cannot tell which table these records belong to; pass endpoint=")
                return
            body = b"\n".join(k.replace(b"\r", b" ").replace(b"\n", b" ") for k in kept)
            self._records(body, table, array=False)
            return
        if kind == "unknown":
            self.skip(numbers[0] if numbers else None, "first value is not a JSON object")
            return
        self._read_lines(kept, numbers, kind, whole=raw if line_oriented else None)

    def _read_lines(
        self, lines: list[bytes], numbers: list[int], kind: str, whole: bytes | None = None
    ) -> None:
        envelope = kind == "envelope"
        if whole is not None:
            # JSON lines as on disk: parsed without copying line by line (blank lines are fine)
            clean = lines
            buf = whole
        else:
            clean = [ln.replace(b"\r", b" ").replace(b"\n", b" ").strip() for ln in lines]
            buf = b"\n".join(clean)
        mtime = _mtime(self.path)
        sample = [clean[0], clean[-1]] if clean else []
        tables.sniff_unknown(sample, self.endpoint)
        # read with the schema of the endpoint of the first page (faster); if any page turns out
        # to be of another endpoint, read again with the schema that covers them all
        guess = self.endpoint or (_guess_endpoint(clean[0], envelope) if clean else None)
        try:
            pages, lenient = tables.pages_from_ndjson(
                buf, envelope=envelope, src=str(self.path), default_retrieved_at=mtime,
                default_endpoint=self.endpoint, endpoints=[guess] if guess else None,
            )  # fmt: skip
            if (
                guess
                and (
                    pages["_endpoint"].is_null() & pages["_error_code"].fill_null("ok").eq("ok")
                    | pages["_endpoint"].ne(guess)
                ).any()
            ):
                pages, lenient = tables.pages_from_ndjson(
                    buf, envelope=envelope, src=str(self.path), default_retrieved_at=mtime,
                    default_endpoint=self.endpoint,
                )  # fmt: skip
            rows = list(range(len(clean)))
        except pl.exceptions.PolarsError:
            good: list[int] = []
            last = len(clean) - 1
            for i, ln in enumerate(clean):
                try:
                    json.loads(ln)
                    good.append(i)
                except ValueError:
                    self.skip(numbers[i], "truncated last line" if i == last else "not valid JSON")
            if not good:
                return
            buf = b"\n".join(clean[i] for i in good)
            try:
                pages, lenient = tables.pages_from_ndjson(
                    buf, envelope=envelope, src=str(self.path), default_retrieved_at=mtime,
                    default_endpoint=self.endpoint,
                )  # fmt: skip
            except pl.exceptions.PolarsError:
                pages, lenient, good = self._one_by_one(clean, good, numbers, envelope, mtime)
                if not good:
                    return
            rows = good
        self.report.pages += pages.height
        line_no = pl.Series("_line", [numbers[i] for i in rows], dtype=pl.Int64)
        pages = pages.with_columns(
            line_no,
            pl.col("_retrieved_at").fill_null(pl.lit(mtime, dtype=pl.Datetime("us", "UTC"))),
            (pl.col("_row") + self.index * _ORDER_STRIDE).alias("_row"),
        )
        if envelope and "_error_code" in pages.columns:
            pages = pages.with_columns(pl.col("_error_code"))
        hints = _name_hints(self.path)
        if "username" in hints:
            pages = pages.with_columns(pl.col("_req_username").fill_null(hints["username"]))
        if "video_id" in hints:
            pages = pages.with_columns(pl.col("_req_video_id").fill_null(hints["video_id"]))
        self._report_unusable(pages)
        usable = pages.select(
            (pl.col("_error_code").is_null() | (pl.col("_error_code") == "ok"))
            & pl.col("_endpoint").is_not_null()
        ).to_series()
        ok = pages if usable.all() else pages.filter(usable)  # filtering copies the pages
        if self.endpoint is not None:
            other = ok.filter(pl.col("_endpoint") != self.endpoint)
            if other.height:
                self.skip(None, f"{other.height} page(s) of other endpoints than {self.endpoint}")
            ok = ok.filter(pl.col("_endpoint") == self.endpoint)
        for name in ok["_endpoint"].unique().sort().to_list():
            issues: list[str] = []
            df = tables.items_from_pages(ok, name, lenient=lenient, issues=issues,
                                         src=f" ({self.path})")  # fmt: skip
            for msg in issues:
                self.report.skipped.append((None, msg))
            self.add(ep.ENDPOINTS[name].table, df)

    def _one_by_one(
        self, clean: list[bytes], good: list[int], numbers: list[int], envelope: bool,
        mtime: datetime,
    ) -> tuple[pl.DataFrame, bool, list[int]]:  # fmt: skip
        """Parse pages one at a time (slow path), skipping those of an unexpected shape."""
        frames, kept, lenient = [], [], False
        for i in good:
            try:
                f, lz = tables.pages_from_ndjson(
                    clean[i], envelope=envelope, src=str(self.path), default_retrieved_at=mtime,
                    default_endpoint=self.endpoint,
                )  # fmt: skip
            except pl.exceptions.PolarsError as exc:
                self.skip(numbers[i], f"page has an unexpected shape ({str(exc).splitlines()[0]})")
                continue
            frames.append(f.with_columns(pl.lit(i, dtype=pl.Int64).alias("_row")))
            kept.append(i)
            lenient |= lz
        if not frames:
            return pl.DataFrame(), lenient, []
        if lenient:
            frames = [
                tables.pages_from_ndjson(
                    clean[i], envelope=envelope, src=str(self.path), default_retrieved_at=mtime,
                    default_endpoint=self.endpoint, lenient=True,
                )[0].with_columns(pl.lit(i, dtype=pl.Int64).alias("_row"))
                for i in kept
            ]  # fmt: skip
        return pl.concat(frames, how="vertical"), lenient, kept

    def _report_unusable(self, pages: pl.DataFrame) -> None:
        errors = pages.filter(pl.col("_error_code").is_not_null() & (pl.col("_error_code") != "ok"))
        for line, code in errors.select("_line", "_error_code").iter_rows():
            self.skip(line, f"error page ({code})", expected=True)
        nodata = pages.filter(
            pl.col("_endpoint").is_null()
            & (pl.col("_error_code").is_null() | (pl.col("_error_code") == "ok"))
        )
        for (line,) in nodata.select("_line").iter_rows():
            self.skip(line, _NO_DATA)


_PROBE_BLOCK = 1 << 16
_PROBE_LIMIT = 1 << 26  # a first / last line longer than this is left to the careful path


def _first_line(fh: BinaryIO) -> bytes | None:
    """The first line of a file if it starts (after blanks) with ``{``; None otherwise."""
    buf = fh.read(_PROBE_BLOCK)
    if buf[:2] == b"\x1f\x8b" or buf[:3] == b"\xef\xbb\xbf":
        return None  # gzip / BOM: the careful path decodes them
    start = len(buf) - len(buf.lstrip())
    if buf[start : start + 1] != b"{":
        return None
    nl = buf.find(b"\n", start)
    chunks = [buf]
    size = len(buf)
    while nl < 0:
        more = fh.read(_PROBE_BLOCK)
        if not more:
            break
        nl = more.find(b"\n")
        chunks.append(more)
        size += len(more)
        if size > _PROBE_LIMIT:
            return None
        if nl >= 0:
            nl += size - len(more)
    whole = b"".join(chunks) if len(chunks) > 1 else buf
    return whole[start : nl if nl >= 0 else len(whole)].strip()


def _last_line(fh: BinaryIO, size: int) -> bytes | None:
    """The last non-blank line of a file."""
    block = _PROBE_BLOCK
    while True:
        pos = max(0, size - block)
        fh.seek(pos)
        tail = fh.read(size - pos).rstrip()
        nl = tail.rfind(b"\n")
        if nl >= 0 or pos == 0:
            return tail[nl + 1 :].strip()
        if block > _PROBE_LIMIT:
            return None
        block *= 4


@dataclass
class _Probe:
    """A file that may be read together with others of the same kind (see ``_read_batch``)."""

    reader: _FileReader
    kind: str  # "envelope" | "response"
    guess: str | None  # endpoint of the first page (or the one forced)
    mtime: datetime


def _line_numbers(path: Path) -> list[int] | None:
    """Line number of each non-blank line of a file (pyarrow's reader skips blank lines)."""
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError:
        return None
    return [i + 1 for i, ln in enumerate(lines) if ln.strip()]


_Frame = tuple[str, int, int, pl.DataFrame]  # table, first and last file index, rows


def _read_batch(batch: list[_Probe], endpoint: str | None) -> tuple[list[_Probe], list[_Frame]]:
    """Read JSON-lines files of one kind and first endpoint together: the fast path.

    Each file is parsed by pyarrow straight from disk with the endpoint's strict schema; the
    parsed pages of all files are then turned into rows once (explode, unnest, cast), not once per
    file. A file that does not fit (a line that is not JSON, an id beyond int64, a page of another
    endpoint) is handed back for the careful per-file path; so is the whole batch if converting
    raises an issue, so that every report names its file. Reports are only touched on success.

    Returns:
        The probes whose files still need the per-file path, and the frames read.
    """
    kind, guess = batch[0].kind, batch[0].guess
    envelope = kind == "envelope"
    schema = tables._arrow_schema(tables.read_schema([guess] if guess else None, envelope=envelope))
    raws: list[pl.DataFrame] = []
    members: list[_Probe] = []
    rest: list[_Probe] = []
    for probe in batch:
        try:
            raw = tables.read_ndjson_file(probe.reader.path, schema)
        except (pa.ArrowException, OSError, pl.exceptions.PolarsError):
            rest.append(probe)
            continue
        if raw.height == 0:
            rest.append(probe)
            continue
        raws.append(raw)
        members.append(probe)
    pa.default_memory_pool().release_unused()  # give parse buffers back to the OS
    if not members:
        return rest, []
    counts = [r.height for r in raws]
    raw = pl.concat(raws, how="vertical", rechunk=False) if len(raws) > 1 else raws[0]
    raws.clear()
    pages = tables.pages_from_raw(raw, envelope=envelope, src="", default_endpoint=endpoint)
    del raw
    # per-file values, spread over the pages of each file
    member = pl.Series("_member", np.repeat(np.arange(len(members), dtype=np.int32), counts))
    starts = np.repeat(np.cumsum([0, *counts[:-1]]), counts)
    in_file = pl.Series("_in_file", np.arange(len(member), dtype=np.int64) - starts)
    index = pl.Series([p.reader.index for p in members], dtype=pl.Int64).gather(member)
    mtime = pl.Series([p.mtime for p in members], dtype=pl.Datetime("us", "UTC")).gather(member)
    hints = [_name_hints(p.reader.path) for p in members]
    fills = []
    for hint, col in (("username", "_req_username"), ("video_id", "_req_video_id")):
        if any(hint in h for h in hints):
            values = pl.Series([h.get(hint) for h in hints], dtype=pl.String()).gather(member)
            fills.append(pl.col(col).fill_null(values))
    pages = pages.with_columns(
        member,
        in_file,
        pl.col("_retrieved_at").fill_null(mtime),
        (in_file + index * _ORDER_STRIDE).alias("_row"),
        *fills,
    )
    ok_code = pl.col("_error_code").is_null() | (pl.col("_error_code") == "ok")
    bad: set[int] = set()
    if guess:
        # a page of another endpoint: that file is read again with the all-endpoint schema
        odd = (pl.col("_endpoint").is_null() & ok_code) | (pl.col("_endpoint") != guess)
        bad = set(pages.filter(odd.fill_null(False))["_member"].unique().to_list())
        if bad:
            rest.extend(members[i] for i in sorted(bad))
            if len(bad) == len(members):
                return rest, []
            pages = pages.filter(~pl.col("_member").is_in(sorted(bad)))
    usable = pages.select(ok_code & pl.col("_endpoint").is_not_null()).to_series()
    all_usable = bool(usable.all())
    unusable = (
        None if all_usable else pages.filter(~usable).select("_member", "_in_file", "_error_code")
    )
    ok = pages if all_usable else pages.filter(usable)  # filtering copies the pages
    del pages
    outputs: list[tuple[str, pl.DataFrame]] = []
    issues: list[str] = []
    for name in ok["_endpoint"].unique().sort().to_list():
        outputs.append((ep.ENDPOINTS[name].table, tables.items_from_pages(ok, name, issues=issues)))
    del ok
    if issues:
        # values that could not be kept: the per-file path reports them with their file
        return rest + [m for i, m in enumerate(members) if i not in bad], []
    kept = [i for i in range(len(members)) if i not in bad]
    for i in kept:
        members[i].reader.report.pages += counts[i]
    if unusable is not None:
        numbers: dict[int, list[int] | None] = {}
        for m, row, code in unusable.iter_rows():
            reader = members[m].reader
            if m not in numbers:
                numbers[m] = _line_numbers(reader.path)
            lines = numbers[m]
            line = lines[row] if lines is not None and row < len(lines) else None
            if code is not None and code != "ok":
                reader.skip(line, f"error page ({code})", expected=True)
            else:
                reader.skip(line, _NO_DATA)
    by_index = {members[i].reader.index: members[i].reader for i in kept}
    first, last = min(by_index), max(by_index)
    frames: list[_Frame] = []
    for table, df in outputs:
        if not df.height:
            continue
        per_file = df.group_by((pl.col("_order") // _ORDER_STRIDE).alias("_index")).agg(
            pl.len().alias("rows"),
            (pl.col("username").null_count() if table == "users" else pl.lit(0)).alias("missing"),
        )
        for idx, rows, missing in per_file.sort("_index").iter_rows():
            by_index[idx].count(table, rows, missing)
        frames.append((table, first, last, df))
    return rest, frames


def _partial_gunzip(raw: bytes) -> bytes:
    import zlib

    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        return d.decompress(raw)
    except zlib.error:
        return b""


def _dedup(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """Keep, for each primary key, the most recently retrieved row (rows stay in reading order).

    The choice is worked out on the key columns only; the wide, nested table is filtered once,
    and not copied at all when nothing is duplicated.
    """
    pk = schemas.primary_key(table)
    keys = df.select(*pk, "_retrieved_at", "_order").with_row_index("_i")
    has_key = pl.all_horizontal([pl.col(c).is_not_null() for c in pk])
    latest = (
        keys.filter(has_key)
        .sort(["_retrieved_at", "_order"], nulls_last=False)
        .unique(subset=pk, keep="last")["_i"]
    )
    keyless = keys.filter(~has_key)["_i"]
    out = df.drop("_retrieved_at", "_order")
    if latest.len() + keyless.len() == df.height:
        return out
    mask = pl.int_range(pl.len(), dtype=pl.get_index_type()).is_in(
        pl.concat([latest, keyless]).implode()
    )
    out = out.filter(mask)
    if keyless.len():
        # rows without a key (e.g. an id beyond int64): de-duplicated on the whole row
        out = out.unique(keep="last", maintain_order=True)
    return out


def merge_dumps(
    paths_or_globs: str | Path | Iterable[str | Path], *, endpoint: str | None = None
) -> MergeResult:
    """Merge dump files of any layout into de-duplicated typed tables.

    Args:
        paths_or_globs: files, folders (read recursively) or glob patterns (``"dumps/*.json"``).
        endpoint: force the endpoint (``_endpoints`` name) when the content cannot tell, e.g. bare
            follower records; pages of other endpoints are then skipped (reported).

    Returns:
        A :class:`MergeResult`: ``result["videos"]``, ``result.tables``, ``result.report``, and
        ``print(result)`` for a summary of what was read and skipped.

    Example:
        >>> result = merge_dumps([])
        >>> result["videos"].height
        0
    """
    if endpoint is not None and endpoint not in ep.ENDPOINTS:
        raise ValueError(
            f"unknown endpoint {endpoint!r}; expected one of: {', '.join(ep.ENDPOINTS)}"
        )
    readers = [
        _FileReader(path, index, endpoint) for index, path in enumerate(_expand(paths_or_globs))
    ]
    # JSON-lines files of responses / archive envelopes are read in batches (one per kind and
    # endpoint of the first page); every other file, and every file a batch hands back, one by one
    batches: dict[tuple[str, str | None], list[_Probe]] = {}
    careful: list[_FileReader] = []
    for reader in readers:
        if not reader.path.exists():
            reader.report.layout = "missing"
            reader.skip(None, "file not found")
            continue
        probe = reader.probe()
        if probe is None:
            careful.append(reader)
        else:
            batches.setdefault((probe.kind, probe.guess), []).append(probe)
    parts: dict[str, list[_Frame]] = {}
    for batch in batches.values():
        rest, batch_frames = _read_batch(batch, endpoint)
        careful.extend(p.reader for p in rest)
        for frame in batch_frames:
            parts.setdefault(frame[0], []).append(frame)
    for reader in sorted(careful, key=lambda r: r.index):
        reader.read()
        for table, dfs in reader.frames.items():
            parts.setdefault(table, []).extend((table, reader.index, reader.index, f) for f in dfs)
        reader.frames.clear()
    reports = [r.report for r in readers]
    merged: dict[str, pl.DataFrame] = {}
    for table in schemas.SCHEMAS:
        if table not in parts:
            continue
        cols = [*schemas.SCHEMAS[table], "_retrieved_at", "_order"]
        chunks = sorted(parts.pop(table), key=lambda f: f[1])
        df = pl.concat([f[3].select(cols) for f in chunks], how="vertical_relaxed", rechunk=False)
        if any(b[1] < a[2] for a, b in itertools.pairwise(chunks)):
            # frames of a batch span several files: put the rows back in reading order
            df = df.sort("_order", maintain_order=True)
        chunks.clear()
        merged[table] = _dedup(df, table)
    return MergeResult(merged, reports)
