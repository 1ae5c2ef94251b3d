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

Two ways to merge:

* in memory (default): the tables come back as polars DataFrames;
* ``dataset=DIR``: the tables are streamed into hive-partitioned Parquet datasets, one per table
  under ``DIR/<table>/`` (tables with a ``create_time`` in ``create_month=YYYY-MM`` folders), in
  bounded memory. Rows are spilled to temporary files hash-partitioned on the primary key, then
  each partition is de-duplicated on its own, so the result equals the in-memory merge while peak
  memory does not grow with the input. Read the tables back with
  ``tiktok_research.io.read_dataset(DIR / "videos", table="videos")`` or ``result.scan("videos")``.
  A folder that is not empty is refused unless ``overwrite=True``: a second merge added to the
  first would hold every row twice.

Protections, for both ways (each skip is in the per-file report, with its reason):

* only regular files are opened: a FIFO, a socket or a device is reported and never opened (a FIFO
  would block the merge forever);
* JSON nested more deeply than Python's decoder allows (about 1,000 levels; real pages have fewer
  than 10) skips that line, or that file, instead of aborting the merge with ``RecursionError``;
* gzip files are inflated as a stream and stopped once past 64 MiB when the output exceeds
  ``max_inflate_ratio`` (default 200) times the compressed bytes read, or ``max_inflated_bytes``:
  a 1 MB file that would inflate to 1 GiB is detected after 64 MiB, never inflated whole. JSON
  dumps compress 5 to 15 times (the sample archive: 6.5x to 9.3x), so 200 leaves a wide margin;
  what was read before the stop is kept.

JSON-lines files (the layouts that grow large: archives, curl appends) are read 32 MiB at a time;
a JSON array or a pretty-printed file is read whole, so memory is bounded by the largest such file
(and by the largest single line), not by the total input. Small files of responses (one page per
file, as curl scripts and saved Postman answers leave them) are parsed many at a time: 10,000 of
them take about 2 s (``benchmarks/bench_merge_dataset.py --small-files 10000``).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import itertools
import json
import logging
import math
import os
import re
import shutil
import stat
import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.ipc

from . import _endpoints as ep
from . import schemas, tables
from ._archive import is_bookkeeping

__all__ = ["FileReport", "MergeResult", "merge_dumps", "missing_inputs"]

logger = logging.getLogger(__name__)

_ORDER_STRIDE = 1 << 40
_REQUEST_KEYS = frozenset(
    {"max_count", "cursor", "query", "start_date", "end_date", "fields", "limit", "page_size",
     "page_start", "search_id"}
)  # fmt: skip
_INFO_NAME = re.compile(r"^@?(?P<name>.+?)_info(?:\.[^.]*)*$")
_COMMENTS_NAME = re.compile(r"^comments_(?P<id>\d+)(?:\.[^.]*)*$")
_GLOB_CHARS = "*?["

#: Default limit of gzip inflation: output / compressed input (checked past ``INFLATE_FLOOR``).
MAX_INFLATE_RATIO = 200.0
#: Output below this size is never stopped by the ratio (small, very repetitive files are fine).
INFLATE_FLOOR = 64 << 20

_BLOCK = 1 << 16  # bytes read at a time from disk
_SEGMENT = 32 << 20  # a JSON-lines file is parsed this many bytes at a time
_BATCH = 32 << 20  # JSON-lines files are parsed in batches of up to this many bytes
_SMALL = 1 << 20  # batched files up to this size are parsed in one call (larger: one each)
_PENDING = 128 << 20  # bytes held by all batches waiting to be parsed
_SPILL = 32 << 20  # dataset merge: rows held in memory (estimated size) before spilling
_BUCKET_INPUT = 32 << 20  # dataset merge: JSON bytes of input per spill partition (estimate)
_BUCKETS_MAX = 512  # partitions at most (past ~16 GB of input they grow, and split at the end)
_BUCKET_MAX = 128 << 20  # a spill partition larger than this (in memory) is split again
_OUTPUT = 32 << 20  # dataset merge: rows written per file group (estimated size)
_GZIP_GUESS = 8  # how much a gzip dump inflates, to size the spill partitions

_TOO_DEEP = "JSON nested too deeply to decode (more than about 1,000 levels)"


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


#: Layouts of inputs that were not read at all (nothing there, or not a regular file).
_NOT_READ = frozenset({"missing", "no match", "not a regular file"})


@dataclass
class MergeResult:
    """Tables merged from dumps, plus a per-file report of what was read and skipped.

    In memory (the default), ``tables`` holds one DataFrame per table. After
    ``merge_dumps(..., dataset=DIR)``, ``tables`` is empty (nothing is held in memory): ``dataset``
    is ``DIR``, ``rows`` counts the rows written per table, :meth:`scan` reads a table lazily and
    ``result["videos"]`` loads it into memory. ``report`` is complete either way.
    """

    tables: dict[str, pl.DataFrame]
    report: list[FileReport]
    dataset: Path | None = None
    rows: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dataset is None and not self.rows:
            self.rows = {t: df.height for t, df in self.tables.items()}

    def __getitem__(self, table: str) -> pl.DataFrame:
        if table in self.tables:
            return self.tables[table]
        if self.dataset is not None and table in self.rows:
            return self.scan(table).collect()
        if table in schemas.SCHEMAS:
            return schemas.empty(table)
        raise KeyError(f"unknown table {table!r}; expected one of: {', '.join(schemas.SCHEMAS)}")

    def __contains__(self, table: object) -> bool:
        return table in self.tables or (self.dataset is not None and table in self.rows)

    def scan(self, table: str) -> pl.LazyFrame:
        """A table as a LazyFrame with its declared schema (empty if no row of it was found).

        Example:
            >>> merge_dumps([]).scan("videos").collect().height
            0
        """
        if table in self.tables:
            return self.tables[table].lazy()
        if self.dataset is not None and table in self.rows:
            from .io import read_dataset

            key = "create_month" if "create_time" in schemas.SCHEMAS[table] else None
            lf = read_dataset(self.dataset / table, table=table)
            return lf.drop(key) if key else lf
        return schemas.empty(table).lazy()

    @property
    def skipped(self) -> list[tuple[str, int | None, str]]:
        """Every skipped item as ``(path, line, reason)``."""
        return [(r.path, line, why) for r in self.report for line, why in r.skipped]

    def summary(self, verbose: bool = False) -> str:
        """A readable summary: rows per table, then every skipped item with its file and reason.

        Args:
            verbose: also list every file read (layout, pages, rows), not only those with skips.
        """
        n_read = sum(r.layout not in _NOT_READ for r in self.report)
        head = f"merged {n_read} file(s): " + (
            ", ".join(f"{n} {t}" for t, n in self.rows.items()) or "no rows"
        )
        if self.dataset is not None:
            head += f" -> Parquet datasets in {self.dataset}"
        lines = [head]
        if verbose:
            lines.append("files:")
            lines.extend(f"  {r}" for r in self.report)
        n_skipped = len(self.skipped)
        lines.append(f"skipped {n_skipped} item(s)" + (":" if n_skipped and not verbose else ""))
        if not verbose:
            lines.extend(f"  {r}" for r in self.report if r.skipped)
        return "\n".join(lines)

    __str__ = summary

    def __repr__(self) -> str:
        sizes = ", ".join(f"{t}={n}" for t, n in self.rows.items())
        where = f" in {self.dataset}" if self.dataset is not None else ""
        return f"MergeResult({sizes}{where}; {len(self.report)} files, {len(self.skipped)} skipped)"


# ------------------------------------------------------------------------------------- inputs


def _bookkeeping(path: Path) -> bool:
    """A file of the collection layer's own (not data) inside an archive collection folder."""
    return is_bookkeeping(path)


def _not_regular(mode: int) -> str | None:
    """What a file is when it is not a regular file (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


@dataclass
class _Item:
    """One input: a path, and why it cannot be read (layout, reason) if it cannot."""

    path: Path
    problem: tuple[str, str] | None = None


def _walk(folder: Path, out: list[_Item]) -> None:
    for q in sorted(folder.rglob("*")):
        try:
            mode = q.stat().st_mode
        except OSError:
            if q.is_symlink():
                out.append(_Item(q, ("missing", "broken symbolic link")))
            continue
        if stat.S_ISDIR(mode) or _bookkeeping(q):
            continue
        kind = _not_regular(mode)
        out.append(_Item(q, ("not a regular file", f"{kind}; not opened") if kind else None))


def _expand(paths_or_globs: str | Path | Iterable[str | Path]) -> list[_Item]:
    """Inputs -> files: folders are read recursively, patterns expanded, the rest kept as given.

    Nothing is opened here; a path that names nothing, a pattern that matches nothing and a file
    that is not a regular file come back with the reason they cannot be read.
    """
    items = [paths_or_globs] if isinstance(paths_or_globs, (str, Path)) else list(paths_or_globs)
    out: list[_Item] = []
    for item in items:
        text = str(item)
        p = Path(item)
        try:
            mode = p.stat().st_mode
        except OSError:
            if any(c in text for c in _GLOB_CHARS):
                matches = sorted(glob.glob(text, recursive=True))
                if not matches:
                    out.append(_Item(p, ("no match", "no file matches this pattern")))
                for m in matches:
                    mp = Path(m)
                    if mp.is_dir():
                        _walk(mp, out)
                    else:
                        out.extend(_expand([mp]))
            else:
                out.append(_Item(p, ("missing", "file not found")))
            continue
        if stat.S_ISDIR(mode):
            _walk(p, out)
            continue
        kind = _not_regular(mode)
        out.append(_Item(p, ("not a regular file", f"{kind}; not opened") if kind else None))
    return out


def missing_inputs(paths_or_globs: str | Path | Iterable[str | Path]) -> list[str]:
    """The inputs that name nothing: paths that do not exist, patterns that match no file.

    ``merge_dumps`` reports them and goes on with the rest; the command line refuses them.

    Example:
        >>> missing_inputs(["no/such/folder", "no/such/*.json"])
        ['no/such/folder: no such file or folder', 'no/such/*.json: no file matches this pattern']
    """
    items = [paths_or_globs] if isinstance(paths_or_globs, (str, Path)) else list(paths_or_globs)
    out = []
    for item in _expand(items):
        if item.problem and item.problem[0] == "missing" and item.problem[1] == "file not found":
            out.append(f"{item.path}: no such file or folder")
        elif item.problem and item.problem[0] == "no match":
            out.append(f"{item.path}: {item.problem[1]}")
    return out


@dataclass(frozen=True)
class _Limits:
    max_ratio: float | None
    max_bytes: int | None


class _NotRegularError(OSError):
    pass


class _Input:
    """A regular file opened for reading, gunzipped on the fly (every member) within limits.

    It is opened non-blocking and checked with ``fstat`` before anything is read, so a FIFO that
    replaced a file after the listing cannot block. ``read(n)`` returns ``n`` bytes (fewer at the
    end); for gzip files the end comes early when the stream is damaged (``damaged`` says how) or
    a limit stops the inflation (``stopped`` says which).
    """

    def __init__(self, path: Path, limits: _Limits) -> None:
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags)
        try:
            st = os.fstat(fd)
            kind = _not_regular(st.st_mode)
            if kind:
                raise _NotRegularError(f"{kind}; not opened")
            self._fh = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        self.size = st.st_size
        self.mtime = datetime.fromtimestamp(st.st_mtime, tz=UTC)
        self.limits = limits
        self.damaged: str | None = None
        self.stopped: str | None = None
        magic = self._fh.read(2)
        self.gzip = magic == b"\x1f\x8b"
        self._out = bytearray() if self.gzip else bytearray(magic)
        self._tail = magic if self.gzip else b""  # compressed bytes not yet inflated
        self._consumed = len(magic)
        self._produced = 0
        self._d: Any = None  # zlib decompressor of the current gzip member
        self._done = False

    def __enter__(self) -> _Input:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._fh.close()

    def read(self, n: int) -> bytes:
        if self.gzip:
            while len(self._out) < n and self._inflate():
                pass
            if len(self._out) <= n:
                out = bytes(self._out)
                self._out = bytearray()
                return out
            with memoryview(self._out) as view:
                out = bytes(view[:n])
            del self._out[:n]
            return out
        if self._out:
            head = bytes(self._out)
            self._out.clear()
            return head + self._fh.read(n - len(head)) if n > len(head) else head
        return self._fh.read(n)

    def last_line(self) -> bytes:
        """The last non-blank line of a plain file (read from its end)."""
        block = _BLOCK
        while True:
            pos = max(0, self.size - block)
            self._fh.seek(pos)
            tail = self._fh.read(self.size - pos).rstrip()
            nl = tail.rfind(b"\n")
            if nl >= 0 or pos == 0:
                return tail[nl + 1 :].strip()
            block *= 4

    def read_all(self) -> bytes:
        if not self.gzip:
            head = bytes(self._out)
            self._out.clear()
            return head + self._fh.read()
        while self._inflate():
            pass
        out = bytes(self._out)
        self._out.clear()
        return out

    def _inflate(self) -> bool:
        """Inflate one step; False once the stream has ended (or was stopped)."""
        if self._done:
            return False
        if not self._tail:
            chunk = self._fh.read(_BLOCK)
            self._consumed += len(chunk)
            if not chunk:
                if self._d is not None:
                    self.damaged = (
                        "gzip stream is damaged (it ends before the end-of-stream marker)"
                    )
                self._done = True
                return False
            self._tail = chunk
        if self._d is None:
            tail = self._tail.lstrip(b"\0")  # zero padding between or after members
            self._tail = tail
            if not tail:
                return True
            self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = self._d.decompress(self._tail, 1 << 20)
        except zlib.error as exc:
            self.damaged = f"gzip stream is damaged ({exc})"
            self._done = True
            return False
        self._tail = self._d.unconsumed_tail
        if self._d.eof:
            self._tail = self._d.unused_data + self._tail
            self._d = None
        ratio, cap = self.limits.max_ratio, self.limits.max_bytes
        if cap is not None and self._produced + len(out) > cap:
            out = out[: max(0, cap - self._produced)]
            self._produced = cap + 1  # stopped below
        else:
            self._produced += len(out)
        self._out += out
        if cap is not None and self._produced > cap:
            self.stopped = (
                f"decompression stopped at max_inflated_bytes={cap:,}: the rest of the file was "
                "not read"
            )
        elif (
            ratio is not None
            and self._produced > INFLATE_FLOOR
            and self._produced > ratio * self._consumed
        ):
            self.stopped = (
                f"decompression stopped after {self._produced >> 20} MiB: the file inflates "
                f"more than {ratio:g} times its compressed size (a decompression bomb?); the rest "
                "was not read (max_inflate_ratio= allows more)"
            )
        if self.stopped:
            self._done = True
        return True


# ------------------------------------------------------------------------------------ helpers


def _objects(text: str) -> tuple[list[tuple[int, str]], Any, bool]:
    """Split concatenated / pretty-printed JSON values into (line number, text) pieces.

    Returns:
        The pieces (an unreadable tail is the last piece), the first value decoded (None if
        none), and whether every piece decoded.
    """
    decoder = json.JSONDecoder()
    pos, n = 0, len(text)
    out: list[tuple[int, str]] = []
    first: Any = None
    while True:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n:
            return out, first, True
        try:
            value, end = decoder.raw_decode(text, pos)
        except ValueError:
            line = text.count("\n", 0, pos) + 1
            out.append((line, text[pos:]))  # unreadable tail: reported by the caller
            return out, first, False
        if not out:
            first = value
        out.append((text.count("\n", 0, pos) + 1, text[pos:end]))
        pos = end


def _blank(data: bytes) -> bool:
    """Only whitespace (without copying ``data``, as ``data.strip()`` would)."""
    return not data or data.isspace()


def _stop(data: bytes) -> int:
    """Length of ``data`` without its trailing whitespace (looking at its end only)."""
    tail = data[-4096:]
    kept = len(tail.rstrip())
    if kept or len(tail) == len(data):
        return len(data) - len(tail) + kept
    return len(data.rstrip())


def _start(data: bytes) -> int:
    """Length of the leading whitespace of ``data`` (looking at its start only)."""
    head = data[:4096]
    kept = len(head.lstrip())
    if kept or len(head) == len(data):
        return len(head) - kept
    return len(data) - len(data.lstrip())


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
_LAYOUTS = {
    "envelope": "raw archive (JSON lines)",
    "response": "JSON lines of responses",
    "records": "JSON lines of records",
}


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
    except (ValueError, RecursionError):
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


class _Sniffer:
    """Reports unknown API fields in a few pages of each file, once per shape of page.

    ``tables.sniff_unknown`` looks at the keys of ``data`` and of its items only; pages with the
    same keys as one already looked at (thousands of small files of one endpoint) are not looked
    at again. A page too deep to decode is not looked at.
    """

    def __init__(self, endpoint: str | None) -> None:
        self.endpoint = endpoint
        self.seen: set[tuple[str | None, frozenset[str], frozenset[str]]] = set()

    def __call__(self, sample: list[Any]) -> None:
        for page in sample:
            try:
                obj = json.loads(page) if isinstance(page, (bytes, str)) else page
            except (ValueError, RecursionError):
                continue
            if not isinstance(obj, dict):
                continue
            where, whole = None, obj
            if "response" in obj and "meta" in obj:
                where = str((obj.get("meta") or {}).get("endpoint"))
                obj = obj.get("response")
            data = obj.get("data") if isinstance(obj, dict) else None
            if not isinstance(data, dict):
                continue
            items = frozenset(
                str(k)
                for v in data.values()
                if isinstance(v, list)
                for item in v
                if isinstance(item, dict)
                for k in item
            )
            shape = (where, frozenset(map(str, data)), items)
            if shape in self.seen:
                continue
            self.seen.add(shape)
            with contextlib.suppress(RecursionError):
                tables.sniff_unknown([whole], self.endpoint)


def _name_hints(path: Path) -> dict[str, str]:
    hints: dict[str, str] = {}
    if m := _INFO_NAME.match(path.name):
        hints["username"] = m.group("name")
    if m := _COMMENTS_NAME.match(path.name):
        hints["video_id"] = m.group("id")
    return hints


def _parse_lines(buf: bytes, schema: pa.Schema) -> pl.DataFrame:
    """JSON lines -> a frame of ``schema`` with pyarrow's reader, strictly (raises on a misfit)."""
    return tables.parse_json_lines(buf, schema)


# ------------------------------------------------------------------------------------ readers

_Sink = Callable[[str, int, int, pl.DataFrame], None]  # table, first and last file index, rows


class _FileReader:
    """Reads one file into page frames / record tables, filling its FileReport."""

    def __init__(
        self,
        item: _Item,
        index: int,
        endpoint: str | None,
        limits: _Limits,
        sink: _Sink,
        sniff: _Sniffer,
    ) -> None:
        self.path = item.path
        self.sniff = sniff
        self.problem = item.problem
        self.index = index
        self.endpoint = endpoint
        self.limits = limits
        self.sink = sink
        self.report = FileReport(str(item.path))
        self.mtime = datetime.fromtimestamp(0, tz=UTC)
        self.size = 0

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
            self.sink(table, self.index, self.index, df)

    def _open(self) -> _Input | None:
        """Open the file (regular files only); report and return None when it cannot be."""
        if self.problem is not None:
            self.report.layout, why = self.problem
            self.skip(None, why)
            return None
        try:
            src = _Input(self.path, self.limits)
        except _NotRegularError as exc:
            self.report.layout = "not a regular file"
            self.skip(None, str(exc))
            return None
        except FileNotFoundError:
            self.report.layout = "missing"
            self.skip(None, "file not found")
            return None
        except OSError as exc:
            self.report.layout = "unreadable"
            self.skip(None, f"cannot read file ({exc.strerror or exc})")
            return None
        self.mtime = src.mtime
        return src

    def probe(self) -> _Probe | None:
        """Can this file join a batch read (fast path)? Reads it if so; None otherwise.

        Eligible: a plain (not gzipped, no BOM) file of at most 32 MiB holding JSON lines of API
        responses or archive envelopes whose first and last lines are whole JSON objects, or
        pretty-printed / concatenated responses that all decode. Everything else, and every file
        whose batch read fails, goes through :meth:`read`, which handles and reports it all.
        """
        try:
            src = _Input(self.path, self.limits)
        except OSError:
            return None  # reported by read()
        self.mtime, self.size = src.mtime, src.size
        with src:
            if src.gzip or src.size > _SEGMENT:
                return None
            try:
                if src.size > _SMALL:
                    return self._probe_large(src)
                data = src.read_all()
            except (OSError, RecursionError):
                return None
        if data[:3] == b"\xef\xbb\xbf":
            return None  # the careful path decodes it
        stop = len(data.rstrip())
        start = len(data) - len(data.lstrip())
        if data[start : start + 1] != b"{":
            return None
        try:
            return self._probe_lines(data, start, stop) or self._probe_objects(data)
        except RecursionError:
            return None

    def _probe_large(self, src: _Input) -> _Probe | None:
        """A larger file: only its first and last lines are read (pyarrow reads it from disk)."""
        head = src.read(_BLOCK)
        start = len(head) - len(head.lstrip())
        if head[:3] == b"\xef\xbb\xbf" or head[start : start + 1] != b"{":
            return None
        nl = head.find(b"\n", start)
        while nl < 0 and (more := src.read(_BLOCK)):
            found = more.find(b"\n")
            nl = len(head) + found if found >= 0 else -1
            head += more
        first_line = head[start : nl if nl >= 0 else len(head)]
        last_line = src.last_line()
        try:
            first = json.loads(first_line)
            last = json.loads(last_line) if last_line.strip() != first_line.strip() else first
        except ValueError:
            return None
        kind = _kind(first)
        if kind not in ("envelope", "response"):
            return None
        self.report.layout = _LAYOUTS[kind]
        return self._probe_done(None, None, kind, first, [first, last])

    def _probe_lines(self, data: bytes, start: int, stop: int) -> _Probe | None:
        nl = data.find(b"\n", start)
        first_line = data[start : nl if 0 <= nl < stop else stop]
        last_line = data[data.rfind(b"\n", 0, stop) + 1 : stop].strip()
        try:
            first = json.loads(first_line)
            last = first if last_line == first_line.strip() else json.loads(last_line)
        except ValueError:
            return None  # pretty-printed (see _probe_objects), or a broken last line
        kind = _kind(first)
        if kind not in ("envelope", "response"):
            return None
        numbers: Sequence[int]
        if start == 0 and _BLANK_LINE.search(data, 0, stop) is None:
            n = data.count(b"\n", 0, stop) + 1
            numbers = range(1, n + 1)
            if not (stop == len(data) - 1 and data.endswith(b"\n")):
                data = data[:stop] + b"\n"
        else:
            lines = data[:stop].split(b"\n")
            numbers = [i + 1 for i, ln in enumerate(lines) if ln.strip()]
            data = b"\n".join(ln.strip() for ln in lines if ln.strip()) + b"\n"
        self.report.layout = _LAYOUTS[kind]
        return self._probe_done(data, numbers, kind, first, [first, last])

    def _probe_objects(self, data: bytes) -> _Probe | None:
        pieces, first, complete = _objects(data.decode("utf-8", errors="replace"))
        kind = _kind(first)
        if not complete or kind not in ("envelope", "response"):
            return None
        lines = [p.encode().replace(b"\r", b" ").replace(b"\n", b" ").strip() for _, p in pieces]
        self.report.layout = (
            "one response" if len(pieces) == 1 and kind == "response"
            else f"concatenated JSON objects ({kind})"
        )  # fmt: skip
        return self._probe_done(
            b"\n".join(lines) + b"\n", [n for n, _ in pieces], kind, first, [lines[0], lines[-1]]
        )

    def _probe_done(
        self,
        data: bytes | None,
        numbers: Sequence[int] | None,
        kind: str,
        first: Any,
        sample: list[Any],
    ) -> _Probe:
        self.sniff(sample)
        guess = self.endpoint or _endpoint_of(first, kind == "envelope")
        return _Probe(self, kind, guess, self.mtime, data, numbers)

    # -- the careful path -----------------------------------------------------------------------

    def read(self) -> None:
        src = self._open()
        if src is None:
            return
        with src:
            try:
                self._read_from(src)
            except RecursionError:
                if self.report.layout == "?":
                    self.report.layout = "JSON"
                self.skip(None, f"{_TOO_DEEP}; the rest of the file was not read")
            except OSError as exc:
                self.skip(None, f"cannot read file ({exc.strerror or exc})")
            if src.damaged:
                self.skip(None, f"{src.damaged}; read what was readable")
            if src.stopped:
                self.skip(None, src.stopped)

    def _read_from(self, src: _Input) -> None:
        buf = src.read(_BLOCK)
        if buf[:3] == b"\xef\xbb\xbf":
            buf = buf[3:]
        while not buf.strip() and (more := src.read(_SEGMENT)):
            buf += more
        body = buf.lstrip()
        if not body:
            self.report.layout = "empty"
            self.skip(None, "empty file")
            return
        if body[:1] == b"[":
            self._read_array(buf + src.read_all())
            return
        if body[:1] != b"{":
            self.report.layout = "not JSON"
            self.skip(1, "file is not JSON (e.g. an HTML error page)")
            return
        start = len(buf) - len(body)
        nl = buf.find(b"\n", start)
        while nl < 0:
            more = src.read(_SEGMENT)
            if not more:
                break
            found = more.find(b"\n")
            nl = len(buf) + found if found >= 0 else -1
            buf += more
        if nl < 0 and src.stopped:
            self.report.layout = "not read"  # its first line alone passes the limit
            return
        first_line = buf[start : nl if nl >= 0 else len(buf)]
        try:
            first = json.loads(first_line)
        except ValueError:
            # pretty-printed or concatenated objects: read whole
            self._read_objects(buf + src.read_all())
            return
        self._stream_lines(src, buf, first)

    # -- JSON lines, a segment at a time --------------------------------------------------------

    def _stream_lines(self, src: _Input, buf: bytes, first: Any) -> None:
        kind = _kind(first)
        self.report.layout = _LAYOUTS.get(kind, "JSON lines")
        table = None
        if kind == "records" and isinstance(first, dict):
            table = _guess_table(first, self.path.name, self.endpoint)
            if table is None:
                self.skip(None, "cannot tell which table these records belong to; pass endpoint=")
                return
        line_no, done, first_segment = 1, 0, True
        pending, eof = buf, False
        while True:
            while not eof and len(pending) <= _SEGMENT:
                more = src.read(_SEGMENT)
                pending, eof = pending + more, not more
            cut = len(pending) if eof else pending.rfind(b"\n", 0, _SEGMENT) + 1
            while not cut:  # a line longer than a segment: read on to its end
                more = src.read(_SEGMENT)
                if not more:
                    eof, cut = True, len(pending)
                    break
                found = more.find(b"\n")
                cut = len(pending) + found + 1 if found >= 0 else 0
                pending += more
            segment, pending = pending[:cut], pending[cut:]
            while not eof and _blank(pending):  # is anything left after this segment?
                more = src.read(_SEGMENT)
                pending, eof = pending + more, not more
            final = eof and _blank(pending)
            if final:
                segment, pending = segment + pending, b""
                if src.stopped:  # a limit cut the last line short: not the file's fault
                    segment = segment[: segment.rfind(b"\n") + 1]
            newlines = segment.count(b"\n")
            if not _blank(segment):
                if kind == "records" and table is not None:
                    done += self._records_segment(segment, table, done, first_segment)
                elif kind in ("envelope", "response"):
                    done += self._lines_segment(segment, line_no, newlines, kind, done, final)
                else:
                    lines = segment.split(b"\n")
                    first_no = next(line_no + i for i, ln in enumerate(lines) if ln.strip())
                    self.skip(first_no, "first value is not a JSON object")
                    return
                first_segment = False
            line_no += newlines
            if final:
                return

    def _lines_segment(
        self, seg: bytes, line_no: int, newlines: int, kind: str, done: int, final: bool
    ) -> int:
        """Parse one segment of JSON lines (whole lines, ``newlines`` of them, line ``line_no``
        first). Returns the number of pages."""
        stop, start = _stop(seg), _start(seg)
        kept: list[bytes]
        if start == 0 and _BLANK_LINE.search(seg, 0, stop) is None:
            # no blank lines: page i is line i + line_no (no copy of the lines needed)
            n = newlines - seg.count(b"\n", stop) + 1
            numbers = list(range(line_no, line_no + n))
            nl = seg.find(b"\n", 0, stop)
            first_line = seg[: nl if nl >= 0 else stop].strip()
            last_start = seg.rfind(b"\n", 0, stop) + 1
            kept = _LazyLines(seg, first_line, seg[last_start:stop].strip(), n)
        else:
            lines = seg.split(b"\n")
            numbers = [line_no + i for i, ln in enumerate(lines) if ln.strip()]
            kept = [ln.strip() for ln in lines if ln.strip()]
        self._read_lines(kept, numbers, kind, whole=seg, row_offset=done, final=final)
        return len(numbers)

    def _records_segment(self, seg: bytes, table: str, done: int, first: bool) -> int:
        kept = [ln.strip() for ln in seg.split(b"\n") if ln.strip()]
        self._records(b"\n".join(kept), table, array=False, order_offset=done, new_page=first)
        return len(kept)

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

    def _records(
        self, raw: bytes, table: str, *, array: bool, order_offset: int = 0, new_page: bool = True
    ) -> None:
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
        df = df.with_columns(
            pl.lit(self.mtime, dtype=pl.Datetime("us", "UTC")).alias("_retrieved_at"),
            (pl.col("_order") + (order_offset + self.index * _ORDER_STRIDE)).alias("_order"),
        )
        if new_page:
            self.report.pages += 1
        self.add(table, df)

    # -- objects --------------------------------------------------------------------------------

    def _read_objects(self, raw: bytes) -> None:
        """Pretty-printed or concatenated JSON values (not one per line), read whole."""
        text = raw.decode("utf-8", errors="replace")
        pieces, first, _ = _objects(text)
        numbers = [n for n, _ in pieces]
        kept = [p.encode() for _, p in pieces]
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
        self._read_lines(kept, numbers, kind)

    def _read_lines(
        self,
        lines: list[bytes],
        numbers: list[int],
        kind: str,
        whole: bytes | None = None,
        row_offset: int = 0,
        final: bool = True,
    ) -> None:
        """Parse pages (one per line); ``row_offset`` pages of this file came before them.

        ``final``: these lines end the file (a broken last line is then reported as truncated).
        """
        envelope = kind == "envelope"
        if whole is not None:
            # JSON lines as on disk: parsed without copying line by line (blank lines are fine)
            clean = lines
            buf = whole
        else:
            clean = [ln.replace(b"\r", b" ").replace(b"\n", b" ").strip() for ln in lines]
            buf = b"\n".join(clean)
        mtime = self.mtime
        sample = [clean[0], clean[-1]] if clean else []
        self.sniff(sample)
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
                    broken = "truncated last line" if i == last and final else "not valid JSON"
                    self.skip(numbers[i], broken)
                except RecursionError:
                    self.skip(numbers[i], _TOO_DEEP)
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
            (pl.col("_row") + (row_offset + self.index * _ORDER_STRIDE)).alias("_row"),
        )
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


@dataclass
class _Probe:
    """A file that may be read together with others of the same kind (see ``_read_batch``)."""

    reader: _FileReader
    kind: str  # "envelope" | "response"
    guess: str | None  # endpoint of the first page (or the one forced)
    mtime: datetime
    # a small file's pages, one per line (no blank line), ending with a newline; None: larger
    # files are parsed by pyarrow straight from disk
    data: bytes | None
    numbers: Sequence[int] | None  # line number of each page (None: counted when needed)

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self.reader.size

    def line_numbers(self) -> Sequence[int]:
        """Line number of each non-blank line (pyarrow's reader skips blank lines)."""
        if self.numbers is None:
            try:
                lines = self.reader.path.read_bytes().split(b"\n")
            except OSError:
                lines = []
            self.numbers = [i + 1 for i, ln in enumerate(lines) if ln.strip()]
        return self.numbers


def _read_batch(batch: list[_Probe], endpoint: str | None) -> list[_Probe]:
    """Read small files of one kind and first endpoint together: the fast path.

    Their pages are parsed by pyarrow in one call with the endpoint's strict schema (if that
    fails, file by file), then turned into rows once (explode, unnest, cast), not once per file. A
    file that does not fit (a line that is not JSON, an id beyond int64, a page of another
    endpoint) is handed back for the careful per-file path; so is the whole batch if converting
    raises an issue, so that every report names its file. Reports are only touched on success.

    Returns:
        The probes whose files still need the per-file path (the rows read went to the sink).
    """
    kind, guess = batch[0].kind, batch[0].guess
    envelope = kind == "envelope"
    schema = tables._arrow_schema(tables.read_schema([guess] if guess else None, envelope=envelope))
    raws: list[pl.DataFrame] = []
    members: list[_Probe] = []
    counts: list[int] = []
    rest: list[_Probe] = []
    small = [p for p in batch if p.data is not None]
    expected = [len(p.numbers or ()) for p in small]
    if len(small) > 1:
        # many small files: one parse call (its fixed cost dominates for small files)
        try:
            whole = _parse_lines(b"".join(p.data or b"" for p in small), schema)
            if whole.height == sum(expected):
                raws, members, counts, small = [whole], small, expected, []
        except (pa.ArrowException, pl.exceptions.PolarsError):
            pass
    for probe in [*small, *(p for p in batch if p.data is None)]:
        try:
            if probe.data is not None:
                raw = _parse_lines(probe.data, schema)
            else:
                raw = tables.read_ndjson_file(probe.reader.path, schema)
        except (pa.ArrowException, OSError, pl.exceptions.PolarsError):
            rest.append(probe)
            continue
        if raw.height == 0 or (probe.numbers is not None and raw.height != len(probe.numbers)):
            rest.append(probe)
            continue
        raws.append(raw)
        members.append(probe)
        counts.append(raw.height)
    pa.default_memory_pool().release_unused()  # give parse buffers back to the OS
    if not members:
        return rest
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
                return rest
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
        return rest + [m for i, m in enumerate(members) if i not in bad]
    kept = [i for i in range(len(members)) if i not in bad]
    for i in kept:
        members[i].reader.report.pages += counts[i]
    if unusable is not None:
        for m, row, code in unusable.iter_rows():
            reader = members[m].reader
            lines = members[m].line_numbers()
            line = lines[row] if row < len(lines) else None
            if code is not None and code != "ok":
                reader.skip(line, f"error page ({code})", expected=True)
            else:
                reader.skip(line, _NO_DATA)
    by_index = {members[i].reader.index: members[i].reader for i in kept}
    first, last = min(by_index), max(by_index)
    sink = members[0].reader.sink
    for table, df in outputs:
        if not df.height:
            continue
        per_file = df.group_by((pl.col("_order") // _ORDER_STRIDE).alias("_index")).agg(
            pl.len().alias("rows"),
            (pl.col("username").null_count() if table == "users" else pl.lit(0)).alias("missing"),
        )
        for idx, rows, missing in per_file.sort("_index").iter_rows():
            by_index[idx].count(table, rows, missing)
        sink(table, first, last, df)
    return rest


def _dedup(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """Keep, for each primary key, the most recently retrieved row (rows stay in reading order).

    Ties (the same retrieval and page) go to the row read last. The choice is worked out on the
    key columns only; the wide, nested table is filtered once, and not copied at all when nothing
    is duplicated.
    """
    pk = schemas.primary_key(table)
    keys = df.select(*pk, "_retrieved_at", "_order").with_row_index("_i")
    has_key = pl.all_horizontal([pl.col(c).is_not_null() for c in pk])
    latest = (
        keys.filter(has_key)
        .sort(["_retrieved_at", "_order"], nulls_last=False, maintain_order=True)
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


# -------------------------------------------------------------------------------------- sinks

_Frame = tuple[str, int, int, pl.DataFrame]  # table, first and last file index, rows


class _InMemory:
    """Collects the frames read, then concatenates and de-duplicates each table."""

    def __init__(self) -> None:
        self.parts: dict[str, list[_Frame]] = {}

    def add(self, table: str, first: int, last: int, df: pl.DataFrame) -> None:
        self.parts.setdefault(table, []).append((table, first, last, df))

    def finish(self) -> dict[str, pl.DataFrame]:
        merged: dict[str, pl.DataFrame] = {}
        for table in schemas.SCHEMAS:
            if table not in self.parts:
                continue
            cols = [*schemas.SCHEMAS[table], "_retrieved_at", "_order"]
            chunks = sorted(self.parts.pop(table), key=lambda f: f[1])
            df = pl.concat(
                [f[3].select(cols) for f in chunks], how="vertical_relaxed", rechunk=False
            )
            if any(b[1] < a[2] for a, b in itertools.pairwise(chunks)):
                # frames of a batch span several files: put the rows back in reading order
                df = df.sort("_order", maintain_order=True)
            chunks.clear()
            merged[table] = _dedup(df, table)
        return merged


def _typed(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """Rows of ``table`` with its declared types plus ``_retrieved_at`` and ``_order``."""
    declared = schemas.SCHEMAS[table]
    return df.select(
        *[pl.col(c).cast(t) for c, t in declared.items()],
        pl.col("_retrieved_at").cast(pl.Datetime("us", "UTC")),
        pl.col("_order").cast(pl.Int64),
    )


def _buckets(df: pl.DataFrame, table: str, n: int, seed: int) -> pl.Series:
    """Spill partition of each row: a hash of its primary key (of the whole row if keyless)."""
    pk = schemas.primary_key(table)
    h = df.select(pk).hash_rows(seed=seed)
    has_key = df.select(pl.all_horizontal([pl.col(c).is_not_null() for c in pk])).to_series()
    if not has_key.all():
        whole = df.select(list(schemas.SCHEMAS[table])).hash_rows(seed=seed)
        h = pl.select(pl.when(has_key).then(h).otherwise(whole)).to_series()
    return (h % n).cast(pl.Int32).alias("_bucket")


_Piece = tuple[Path, int, int, int]  # spill file, first batch, batches, estimated size in memory


class _ToDataset:
    """Streams rows into hive Parquet datasets in bounded memory (see the module docstring).

    Rows are buffered; past ``_SPILL`` bytes each table's rows are hash-partitioned on the primary
    key and written to one temporary Arrow IPC file (lz4), partition after partition (Parquet's
    encoding costs milliseconds per partition and file, Arrow's almost nothing). At the end each
    partition (all the rows that can share a key) is read back alone from every spill file,
    de-duplicated exactly as in memory and written to the table's dataset. A partition that came
    out larger than ``_BUCKET_MAX`` (skewed keys, or more input than foreseen) is split again.
    Everything is written under a staging folder inside the target and moved into place at the end.
    """

    def __init__(self, staging: Path, n_buckets: int, provenance: dict[str, Any]) -> None:
        self.staging = staging
        self.spill_dir = staging / "spill"
        self.out_dir = staging / "out"
        self.n = n_buckets
        self.provenance = provenance
        self.run = staging.name.removeprefix(".merge-")
        self.buffers: dict[str, list[pl.DataFrame]] = {}
        self.buffered = 0
        self.spilled: dict[str, dict[int, list[_Piece]]] = {}
        self.seq = 0
        self.rows: dict[str, int] = {}
        self._out: dict[str, list[pl.DataFrame]] = {}
        self._out_size: dict[str, int] = {}

    def add(self, table: str, first: int, last: int, df: pl.DataFrame) -> None:
        df = _typed(df, table)
        self.buffers.setdefault(table, []).append(df)
        self.buffered += int(df.estimated_size())
        if self.buffered > _SPILL:
            self._spill()

    def _write_spill(self, table: str, df: pl.DataFrame, n: int, seed: int) -> dict[int, _Piece]:
        """Write ``df`` hash-partitioned in ``n`` to one file, one row group per partition."""
        if n > 1:
            parts = df.with_columns(_buckets(df, table, n, seed)).partition_by(
                "_bucket", as_dict=True, include_key=False, maintain_order=True
            )
            items = sorted((int(k[0]), v) for k, v in parts.items())  # type: ignore[call-overload]
            del parts
        else:
            items = [(0, df)]
        del df
        folder = self.spill_dir / table
        folder.mkdir(parents=True, exist_ok=True)
        self.seq += 1
        path = folder / f"{self.seq:07d}.arrow"
        pieces: dict[int, _Piece] = {}
        options = pa.ipc.IpcWriteOptions(compression="lz4")
        try:
            with (
                pa.OSFile(str(path), "wb") as sink,
                pa.ipc.new_file(sink, _spill_schema(table), options=options) as writer,
            ):
                first = 0
                for bucket, part in items:
                    batches = part.to_arrow().to_batches()
                    for batch in batches:
                        writer.write_batch(batch)
                    pieces[bucket] = (path, first, len(batches), int(part.estimated_size()))
                    first += len(batches)
        except OSError as exc:  # e.g. the disk is full: say which file
            raise OSError(exc.errno or errno.EIO, str(exc), str(path)) from exc
        return pieces

    def _spill(self) -> None:
        for table, frames in self.buffers.items():
            if not frames:
                continue
            df = pl.concat(frames, how="vertical", rechunk=False)
            frames.clear()
            spilled = self.spilled.setdefault(table, {})
            for bucket, piece in self._write_spill(table, df, self.n, 0).items():
                spilled.setdefault(bucket, []).append(piece)
        self.buffered = 0

    def finish(self) -> dict[str, int]:
        for table in schemas.SCHEMAS:
            frames = self.buffers.pop(table, [])
            if table not in self.spilled:
                if frames:  # it all fitted in memory: no spill needed
                    df = pl.concat(frames, how="vertical", rechunk=False)
                    frames.clear()
                    self._emit(table, _dedup(df.sort("_order", maintain_order=True), table))
                    self._flush(table)
                continue
            if frames:
                self.buffers[table] = frames
                self._spill()
            for _, pieces in sorted(self.spilled.pop(table).items()):
                self._finish_bucket(table, pieces, depth=1)
            self._flush(table)
            shutil.rmtree(self.spill_dir / table, ignore_errors=True)
        return self.rows

    def _finish_bucket(self, table: str, pieces: list[_Piece], depth: int) -> None:
        size = sum(piece[3] for piece in pieces)
        if size > _BUCKET_MAX and depth <= 3:
            m = math.ceil(size / (_BUCKET_MAX // 2))
            sub: dict[int, list[_Piece]] = {}
            for piece in pieces:
                df = _read_piece(piece)
                for bucket, part in self._write_spill(table, df, m, depth).items():
                    sub.setdefault(bucket, []).append(part)
            for _, sub_pieces in sorted(sub.items()):
                self._finish_bucket(table, sub_pieces, depth + 1)
            return
        # rows of one page (the only ones that can tie on retrieval and order) are in one piece
        # in reading order, so _dedup breaks ties as the in-memory merge does without a sort
        parts = [_read_piece(piece) for piece in pieces]
        df = pl.concat(parts, how="vertical", rechunk=False) if len(parts) > 1 else parts[0]
        del parts
        self._emit(table, _dedup(df, table))

    def _emit(self, table: str, df: pl.DataFrame) -> None:
        if not df.height:
            return
        self.rows[table] = self.rows.get(table, 0) + df.height
        self._out.setdefault(table, []).append(df)
        self._out_size[table] = self._out_size.get(table, 0) + int(df.estimated_size())
        if self._out_size[table] > _OUTPUT:
            self._flush(table)

    def _flush(self, table: str) -> None:
        frames = self._out.pop(table, [])
        self._out_size.pop(table, None)
        if not frames:
            return
        from .io import write_parquet

        df = pl.concat(frames, how="vertical", rechunk=False)
        frames.clear()
        self.seq += 1
        run = f"{self.run}-{self.seq:05d}"
        root = self.out_dir / table
        provenance = {**self.provenance, "run_id": run}
        if "create_time" not in schemas.SCHEMAS[table]:
            write_parquet(df, root / f"part-{run}-0.parquet", table=table, provenance=provenance)
            return
        # the layout of io.write_dataset (hive folders by create_month, per-run file names, the
        # declared schema in every file), written one month at a time: half the memory of
        # pyarrow's partitioning writer
        month = pl.col("create_time").dt.strftime("%Y-%m").fill_null("unknown")
        parts = df.with_columns(month.alias("_month")).partition_by(
            "_month", as_dict=True, include_key=False
        )
        del df
        for (key,), part in sorted(parts.items()):
            path = root / f"create_month={key}" / f"part-{run}-0.parquet"
            write_parquet(part, path, table=table, provenance=provenance)


def _spill_schema(table: str) -> pa.Schema:
    """Arrow schema of spilled rows: the declared schema plus ``_retrieved_at`` and ``_order``."""
    return (
        schemas.arrow_schema(table)
        .append(pa.field("_retrieved_at", pa.timestamp("us", tz="UTC")))
        .append(pa.field("_order", pa.int64()))
    )


def _read_piece(piece: _Piece) -> pl.DataFrame:
    """The rows of one partition in one spill file."""
    path, first, count, _ = piece
    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_file(source)
        batches = [reader.get_batch(i) for i in range(first, first + count)]
        table = pa.Table.from_batches(batches, schema=reader.schema)
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _prepare_dataset(target: Path, overwrite: bool) -> Path:
    """Check the target folder before anything is read; return the staging folder to write to.

    A merge is the de-duplicated whole of its inputs, so a second merge added to the same folder
    would hold every row twice: a folder that is not empty is refused unless ``overwrite``, which
    replaces the tables in it once the new ones are complete (nothing is replaced on failure).
    """
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} is a file: give a folder for the datasets")
    if target.is_dir() and not overwrite:
        inside = sorted(p.name for p in target.iterdir())
        if inside and all(name.startswith(".merge-") for name in inside):
            raise FileExistsError(
                f"{target} holds the leftovers of an interrupted merge ({', '.join(inside)}): "
                "pass overwrite=True (--overwrite) to clear them, or choose another folder"
            )
        if inside:
            shown = ", ".join(inside[:5]) + (", ..." if len(inside) > 5 else "")
            raise FileExistsError(
                f"{target} is not empty ({shown}): a second merge into it would hold every row "
                "twice. Choose an empty or new folder, or pass overwrite=True (--overwrite) to "
                "replace the tables in it"
            )
    staging = target / f".merge-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    staging.mkdir(parents=True)
    return staging


def _publish(target: Path, staging: Path, overwrite: bool) -> None:
    """Move the new tables into place, replacing (all) the tables of an earlier merge.

    With ``overwrite``, the staging folders that interrupted merges left are removed too (without
    it the folder was empty when this merge began: another one would be a merge running now).
    """
    old = staging / "old"
    old.mkdir()
    for table in schemas.SCHEMAS:
        if (target / table).exists():
            (target / table).rename(old / table)
    out = staging / "out"
    if out.exists():
        for folder in out.iterdir():
            folder.rename(target / folder.name)
    for stale in target.glob(".merge-*") if overwrite else []:
        if stale != staging:
            shutil.rmtree(stale, ignore_errors=True)


def _input_bytes(items: list[_Item]) -> int:
    total = 0
    for item in items:
        if item.problem is None:
            try:
                size = item.path.stat().st_size
            except OSError:
                continue
            total += size * (_GZIP_GUESS if item.path.name.endswith(".gz") else 1)
    return total


# ------------------------------------------------------------------------------------- public


def merge_dumps(
    paths_or_globs: str | Path | Iterable[str | Path],
    *,
    endpoint: str | None = None,
    dataset: str | Path | None = None,
    overwrite: bool = False,
    max_inflate_ratio: float | None = MAX_INFLATE_RATIO,
    max_inflated_bytes: int | None = None,
) -> MergeResult:
    """Merge dump files of any layout into de-duplicated typed tables.

    Args:
        paths_or_globs: files, folders (read recursively) or glob patterns (``"dumps/*.json"``).
        endpoint: force the endpoint (``_endpoints`` name) when the content cannot tell, e.g. bare
            follower records; pages of other endpoints are then skipped (reported).
        dataset: a folder: stream the tables into hive Parquet datasets ``dataset/<table>/`` in
            bounded memory instead of returning them (for dumps larger than memory). Tables with
            a ``create_time`` (videos, comments...) are partitioned by ``create_month``.
        overwrite: with ``dataset``: replace the tables of an earlier merge in that folder. Without
            it a folder that is not empty is refused (the rows would be there twice). Files
            inside ``dataset`` are never read as input.
        max_inflate_ratio: stop inflating a gzip file whose output passes this many times its
            compressed size (checked after the first 64 MiB); ``None`` for no limit.
        max_inflated_bytes: stop inflating a gzip file after this many bytes (default: no limit).

    Returns:
        A :class:`MergeResult`: ``result["videos"]``, ``result.tables``, ``result.report``, and
        ``print(result)`` for a summary of what was read and skipped. With ``dataset``, the tables
        are on disk: ``result.rows`` counts them, ``result.scan("videos")`` reads one lazily.

    Raises:
        ValueError: an unknown ``endpoint``.
        FileExistsError: ``dataset`` is a file, or a folder that is not empty (and no
            ``overwrite``); checked before anything is read.
        OSError: the dataset cannot be written (e.g. the disk is full); nothing is replaced.

    Example:
        >>> result = merge_dumps([])
        >>> result["videos"].height
        0
    """
    if endpoint is not None and endpoint not in ep.ENDPOINTS:
        raise ValueError(
            f"unknown endpoint {endpoint!r}; expected one of: {', '.join(ep.ENDPOINTS)}"
        )
    limits = _Limits(max_inflate_ratio, max_inflated_bytes)
    target = Path(dataset) if dataset is not None else None
    staging = _prepare_dataset(target, overwrite) if target is not None else None
    try:
        items = _expand(paths_or_globs)
        if target is not None:  # the merge's own output (a run with overwrite) is not input
            inside = target.resolve()
            items = [i for i in items if not i.path.resolve().is_relative_to(inside)]
        memory = _InMemory()
        writer: _ToDataset | None = None
        if staging is not None:
            n = min(_BUCKETS_MAX, max(1, math.ceil(_input_bytes(items) / _BUCKET_INPUT)))
            writer = _ToDataset(staging, n, {"made_by": "merge_dumps", "files": len(items)})
        sink: _Sink = writer.add if writer is not None else memory.add
        sniff = _Sniffer(endpoint)
        readers = [
            _FileReader(item, index, endpoint, limits, sink, sniff)
            for index, item in enumerate(items)
        ]
        _read_all(readers, endpoint)
        reports = [r.report for r in readers]
        if writer is None:
            return MergeResult(memory.finish(), reports)
        assert target is not None and staging is not None
        rows = writer.finish()
        _publish(target, staging, overwrite)
        ordered = {t: rows[t] for t in schemas.SCHEMAS if t in rows}
        return MergeResult({}, reports, dataset=target, rows=ordered)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _read_all(readers: list[_FileReader], endpoint: str | None) -> None:
    """Read every file: small JSON-lines files in batches, every other one on its own."""
    batches: dict[tuple[str, str | None], list[_Probe]] = {}
    sizes: dict[tuple[str, str | None], int] = {}  # bytes to parse
    held: dict[tuple[str, str | None], int] = {}  # bytes held in memory until then
    careful: list[_FileReader] = []

    def flush(key: tuple[str, str | None]) -> None:
        sizes.pop(key)
        held.pop(key)
        careful.extend(p.reader for p in _read_batch(batches.pop(key), endpoint))

    for reader in readers:
        probe = reader.probe() if reader.problem is None else None
        if probe is None:
            careful.append(reader)
            continue
        key = (probe.kind, probe.guess)
        batches.setdefault(key, []).append(probe)
        sizes[key] = sizes.get(key, 0) + probe.size
        held[key] = held.get(key, 0) + (probe.size if probe.data is not None else 0)
        if sizes[key] >= _BATCH:
            flush(key)
        elif sum(held.values()) >= _PENDING:
            flush(max(held, key=held.__getitem__))
    for key in list(batches):
        flush(key)
    for reader in sorted(careful, key=lambda r: r.index):
        reader.read()
