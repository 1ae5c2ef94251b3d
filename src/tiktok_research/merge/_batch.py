"""The fast path for many files: small files of one kind and endpoint parsed together.

A probe looks at each file first. A plain (not gzipped, no byte-order mark) file of at most
``SEGMENT`` bytes holding JSON lines of API responses or archive envelopes, or concatenated /
pretty-printed responses, joins a batch of files of the same kind and first endpoint; its pages
are parsed with the others in one pyarrow call and turned into rows once for the whole batch.
Every other file, and every file whose batch read fails, takes the careful per-file path
(:class:`~._reader.FileReader.read`), which handles and reports everything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from .. import _endpoints as ep
from .. import tables
from . import _reader
from ._detect import LAYOUTS, NO_DATA, endpoint_of, is_adlib, kind_of, name_hints
from ._file import ORDER_STRIDE
from ._reader import FileReader
from ._source import Source
from ._split import Splitter

_BLOCK = 1 << 16
_BATCH = 32 << 20  # files are parsed in batches of up to this many bytes
_SMALL = 1 << 20  # batched files up to this size are parsed in one call (larger: one each)
_PENDING = 128 << 20  # bytes held by all batches waiting to be parsed
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")


@dataclass
class Probe:
    """A file that may be read together with others of the same kind (see :func:`read_batch`)."""

    reader: FileReader
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
                lines = self.reader.path.read_bytes().split(b"\n")  # at most _reader.SEGMENT bytes
            except OSError:
                lines = []
            self.numbers = [i + 1 for i, ln in enumerate(lines) if ln.strip()]
        return self.numbers


def probe(reader: FileReader) -> Probe | None:
    """Can this file join a batch read? Reads it if so (see the module docstring); None if not."""
    try:
        src = Source(reader.path, reader.limits)
    except OSError:
        return None  # reported by read()
    reader.mtime, reader.size = src.mtime, src.size
    with src:
        if src.gzip or src.size > _reader.SEGMENT:
            return None
        try:
            if src.size > _SMALL:
                return _probe_large(reader, src)
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
        return _probe_lines(reader, data, start, stop) or _probe_objects(reader, data)
    except RecursionError:
        return None


def _probe_large(reader: FileReader, src: Source) -> Probe | None:
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
    kind = kind_of(first)
    if kind not in ("envelope", "response"):
        return None
    reader.report.layout = LAYOUTS[kind]
    return _probe_done(reader, None, None, kind, first, [first, last])


def _probe_lines(reader: FileReader, data: bytes, start: int, stop: int) -> Probe | None:
    nl = data.find(b"\n", start)
    first_line = data[start : nl if 0 <= nl < stop else stop]
    last_line = data[data.rfind(b"\n", 0, stop) + 1 : stop].strip()
    try:
        first = json.loads(first_line)
        last = first if last_line == first_line.strip() else json.loads(last_line)
    except ValueError:
        return None  # pretty-printed (see _probe_objects), or a broken last line
    kind = kind_of(first)
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
    reader.report.layout = LAYOUTS[kind]
    return _probe_done(reader, data, numbers, kind, first, [first, last])


def _probe_objects(reader: FileReader, data: bytes) -> Probe | None:
    """Pretty-printed or concatenated responses that split whole (one value per line)."""
    splitter = Splitter(lambda n: b"", data, array=False)
    blocks = list(splitter)
    if splitter.problem is not None or not blocks:
        return None
    lines = b"".join(v.lines for v in blocks)
    numbers = [n for v in blocks for n in v.numbers]
    first_line = lines[: lines.find(b"\n")]
    last_line = lines[lines.rfind(b"\n", 0, len(lines) - 1) + 1 : -1]
    try:
        first = json.loads(first_line)
    except ValueError:
        return None
    kind = kind_of(first)
    if kind not in ("envelope", "response"):
        return None
    reader.report.layout = (
        "one response" if len(numbers) == 1 and kind == "response"
        else f"concatenated JSON objects ({kind})"
    )  # fmt: skip
    return _probe_done(reader, lines, numbers, kind, first, [first_line, last_line])


def _probe_done(
    reader: FileReader,
    data: bytes | None,
    numbers: Sequence[int] | None,
    kind: str,
    first: Any,
    sample: list[Any],
) -> Probe | None:
    if any(is_adlib(v) for v in (first, *sample)):
        return None  # the ad library's pages are read one by one (FileState.adlib_lines)
    reader.sniff(sample)
    guess = reader.endpoint or endpoint_of(first, kind == "envelope")
    return Probe(reader, kind, guess, reader.mtime, data, numbers)


def _parse_all(
    batch: list[Probe], schema: pa.Schema
) -> tuple[list[pl.DataFrame], list[Probe], list[int], list[Probe]]:
    """Parse the files of a batch: (frames, their probes, pages of each, files that failed)."""
    raws: list[pl.DataFrame] = []
    members: list[Probe] = []
    counts: list[int] = []
    rest: list[Probe] = []
    small = [p for p in batch if p.data is not None]
    expected = [len(p.numbers or ()) for p in small]
    if len(small) > 1:
        # many small files: one parse call (its fixed cost dominates for small files)
        try:
            whole = tables.parse_json_lines(b"".join(p.data or b"" for p in small), schema)
            if whole.height == sum(expected):
                raws, members, counts, small = [whole], small, expected, []
        except (pa.ArrowException, pl.exceptions.PolarsError):
            pass
    for p in [*small, *(p for p in batch if p.data is None)]:
        try:
            if p.data is not None:
                raw = tables.parse_json_lines(p.data, schema)
            else:
                raw = tables.read_ndjson_file(p.reader.path, schema)
        except (pa.ArrowException, OSError, pl.exceptions.PolarsError):
            rest.append(p)
            continue
        if raw.height == 0 or (p.numbers is not None and raw.height != len(p.numbers)):
            rest.append(p)
            continue
        raws.append(raw)
        members.append(p)
        counts.append(raw.height)
    pa.default_memory_pool().release_unused()  # give parse buffers back to the OS
    return raws, members, counts, rest


def _spread(pages: pl.DataFrame, members: list[Probe], counts: list[int]) -> pl.DataFrame:
    """Per-file values (member, position, order, retrieval time, name hints) on every page."""
    member = pl.Series("_member", np.repeat(np.arange(len(members), dtype=np.int32), counts))
    starts = np.repeat(np.cumsum([0, *counts[:-1]]), counts)
    in_file = pl.Series("_in_file", np.arange(len(member), dtype=np.int64) - starts)
    index = pl.Series([p.reader.index for p in members], dtype=pl.Int64).gather(member)
    mtime = pl.Series([p.mtime for p in members], dtype=pl.Datetime("us", "UTC")).gather(member)
    hints = [name_hints(p.reader.path) for p in members]
    fills = []
    for hint, col in (("username", "_req_username"), ("video_id", "_req_video_id")):
        if any(hint in h for h in hints):
            values = pl.Series([h.get(hint) for h in hints], dtype=pl.String()).gather(member)
            fills.append(pl.col(col).fill_null(values))
    return pages.with_columns(
        member,
        in_file,
        pl.col("_retrieved_at").fill_null(mtime),
        (in_file + index * ORDER_STRIDE).alias("_row"),
        *fills,
    )


def read_batch(batch: list[Probe], endpoint: str | None) -> list[Probe]:
    """Read files of one kind and first endpoint together (see the module docstring).

    Their pages are parsed by pyarrow with the endpoint's strict schema, then turned into rows
    once (explode, unnest, cast), not once per file. A file that does not fit (a line that is not
    JSON, an id beyond int64, a page of another endpoint) is handed back for the careful per-file
    path; so is the whole batch if converting raises an issue, so that every report names its
    file. Reports are only touched on success.

    Returns:
        The probes whose files still need the per-file path (the rows read went to the sink).
    """
    kind, guess = batch[0].kind, batch[0].guess
    envelope = kind == "envelope"
    schema = tables._arrow_schema(tables.read_schema([guess] if guess else None, envelope=envelope))
    raws, members, counts, rest = _parse_all(batch, schema)
    if not members:
        return rest
    raw = pl.concat(raws, how="vertical", rechunk=False) if len(raws) > 1 else raws[0]
    raws.clear()
    pages = _spread(
        tables.pages_from_raw(raw, envelope=envelope, src="", default_endpoint=endpoint),
        members, counts,
    )  # fmt: skip
    del raw
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
    _report_batch(members, kept, counts, unusable)
    _sink_batch(members, kept, outputs)
    return rest


def _report_batch(
    members: list[Probe], kept: list[int], counts: list[int], unusable: pl.DataFrame | None
) -> None:
    for i in kept:
        members[i].reader.report.pages += counts[i]
    if unusable is None:
        return
    for m, row, code in unusable.iter_rows():
        reader = members[m].reader
        lines = members[m].line_numbers()
        line = lines[row] if row < len(lines) else None
        if code is not None and code != "ok":
            reader.skip(line, f"error page ({code})", expected=True)
        else:
            reader.skip(line, NO_DATA)


def _sink_batch(
    members: list[Probe], kept: list[int], outputs: list[tuple[str, pl.DataFrame]]
) -> None:
    by_index = {members[i].reader.index: members[i].reader for i in kept}
    first, last = min(by_index), max(by_index)
    sink = members[0].reader.sink
    for table, df in outputs:
        if not df.height:
            continue
        per_file = df.group_by((pl.col("_order") // ORDER_STRIDE).alias("_index")).agg(
            pl.len().alias("rows"),
            (pl.col("username").null_count() if table == "users" else pl.lit(0)).alias("missing"),
        )
        for idx, rows, missing in per_file.sort("_index").iter_rows():
            by_index[idx].count(table, rows, missing)
        sink(table, first, last, df)


def read_all(readers: list[FileReader], endpoint: str | None) -> None:
    """Read every file: small JSON-lines files in batches, every other one on its own."""
    batches: dict[tuple[str, str | None], list[Probe]] = {}
    sizes: dict[tuple[str, str | None], int] = {}  # bytes to parse
    held: dict[tuple[str, str | None], int] = {}  # bytes held in memory until then
    careful: list[FileReader] = []

    def flush(key: tuple[str, str | None]) -> None:
        sizes.pop(key)
        held.pop(key)
        careful.extend(p.reader for p in read_batch(batches.pop(key), endpoint))

    for reader in readers:
        found = probe(reader) if reader.problem is None else None
        if found is None:
            careful.append(reader)
            continue
        key = (found.kind, found.guess)
        batches.setdefault(key, []).append(found)
        sizes[key] = sizes.get(key, 0) + found.size
        held[key] = held.get(key, 0) + (found.size if found.data is not None else 0)
        if sizes[key] >= _BATCH:
            flush(key)
        elif sum(held.values()) >= _PENDING:
            flush(max(held, key=held.__getitem__))
    for key in list(batches):
        flush(key)
    for reader in sorted(careful, key=lambda r: r.index):
        reader.read()
