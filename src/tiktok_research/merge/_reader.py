"""Reading one file whatever its layout, in bounded memory: the careful, per-file path.

The layout is sniffed from the first bytes: JSON lines (archive envelopes, responses or bare
records, one per line), concatenated or pretty-printed objects, or one JSON array. Nothing is
read whole:

* JSON lines of pages larger than a segment stream through pyarrow's JSON reader
  (``pyarrow.json.open_json``), a group of record batches at a time; should a line not fit (not
  JSON, an id beyond int64, a page of another endpoint), the file is read on from that line by
  the segment path below, which reports every line it cannot read;
* other JSON lines are read a segment (32 MiB of whole lines) at a time;
* concatenated objects and JSON arrays are split into one value per line by
  :class:`~._split.Splitter`, a block at a time, and read like JSON lines.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.json as pa_json

from .. import tables
from ._detect import (
    LAYOUTS,
    NO_TABLE,
    TOO_DEEP,
    Sniffer,
    endpoint_of,
    guess_table,
    is_adlib,
    kind_of,
)
from ._file import FileState, Sink
from ._inputs import TWIN_READ, Item
from ._source import Limits, Source, _NotRegular, open_source
from ._split import Splitter, Values, ahead

_BLOCK = 1 << 16  # bytes read to sniff a file
SEGMENT = 32 << 20  # JSON lines read this many bytes at a time on the segment path
_GROUP = 32 << 20  # streamed pages converted this many (Arrow) bytes at a time
_PARSE_BLOCK = 1 << 20  # pyarrow's block (parsed in parallel); a longer line takes the segments
_BOM = b"\xef\xbb\xbf"


class _Chained:
    """A file-like object over bytes already read followed by the rest of a source (for pyarrow)."""

    def __init__(self, head: bytes, src: Source) -> None:
        self._head, self._pos, self._src = head, 0, src
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        left = len(self._head) - self._pos
        if not left:
            return self._src.read(n)
        if 0 <= n < left:
            out = self._head[self._pos : self._pos + n]
            self._pos += n
            return out
        out = self._head[self._pos :]
        self._head, self._pos = b"", 0
        return out + (self._src.read(n - len(out)) if n > len(out) else b"")

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def _blank(data: bytes) -> bool:
    """Only whitespace (without copying ``data``, as ``data.strip()`` would)."""
    return not data or data.isspace()


class FileReader(FileState):
    """Reads one file into rows (see the module docstring), filling its report."""

    def __init__(
        self, item: Item, index: int, endpoint: str | None, limits: Limits, sink: Sink,
        sniff: Sniffer,
    ) -> None:  # fmt: skip
        super().__init__(item.path, index, endpoint, sink, sniff)
        self.problem = item.problem
        self.limits = limits
        self.src: Source | None = None  # the source read last (its damage is reported)

    def open(self) -> Source | None:
        """Open the file (regular files only); report and return None when it cannot be."""
        if self.problem is not None:
            self.report.layout, why = self.problem
            if self.report.layout == TWIN_READ:
                self.report.notes.append(f"gzipped during the merge; its pages are read from "
                                         f"{self.path.name}.gz")  # fmt: skip
            else:
                self.skip(None, why)
            return None
        try:
            src = open_source(self.path, self.limits)
        except _NotRegular as exc:
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
        if src.path != self.path:
            self.report.notes.append(f"gzipped during the merge: read from {src.path.name}")
        self.mtime, self.size, self.src = src.mtime, src.size, src
        return src

    def read(self) -> None:
        """Read the whole file (the careful path: everything is handled and reported)."""
        src = self.open()
        if src is None:
            return
        try:
            self._read_from(src)
        except RecursionError:
            if self.report.layout == "?":
                self.report.layout = "JSON"
            self.skip(None, f"{TOO_DEEP}; the rest of the file was not read")
        except OSError as exc:
            self.skip(None, f"cannot read file ({exc.strerror or exc})")
        finally:
            src.close()
            if self.src is not None and self.src is not src:
                self.src.close()
        last = self.src or src
        if last.damaged:
            self.skip(None, f"{last.damaged}; read what was readable")
        if last.stopped:
            self.skip(None, last.stopped)

    def _read_from(self, src: Source) -> None:
        buf = src.read(_BLOCK)
        if buf[:3] == _BOM:
            buf = buf[3:]
        while _blank(buf) and (more := src.read(SEGMENT)):
            buf += more
        start = len(buf) - len(buf.lstrip())  # (buf holds 64 KiB unless it began blank)
        if start >= len(buf):
            self.report.layout = "empty"
            self.skip(None, "empty file")
            return
        if buf[start : start + 1] == b"[":
            self._read_values(src, buf, array=True)
            return
        if buf[start : start + 1] != b"{":
            self.report.layout = "not JSON"
            self.skip(1, "file is not JSON (e.g. an HTML error page)")
            return
        nl = buf.find(b"\n", start)
        while nl < 0 and (more := src.read(len(buf))):  # a long first line: read on, doubling
            found = more.find(b"\n")
            nl = len(buf) + found if found >= 0 else -1
            buf += more
        if nl < 0 and src.stopped:
            self.report.layout = "not read"  # its first line alone passes the limit
            return
        try:
            first = json.loads(buf[start : nl if nl >= 0 else len(buf)])
        except ValueError:  # pretty-printed or concatenated objects
            self._read_values(src, buf, array=False)
            return
        self._read_lines(src, buf, first)

    # -- JSON lines -------------------------------------------------------------------------------

    def _read_lines(self, src: Source, buf: bytes, first: Any) -> None:
        kind = kind_of(first)
        self.report.layout = LAYOUTS.get(kind, "JSON lines")
        table = None
        if kind == "records":
            table = guess_table(first, self.path.name, self.endpoint)
            if table is None:
                self.skip(None, NO_TABLE)
                return
        done = 0
        large = src.size > (SEGMENT // 8 if src.gzip else SEGMENT)
        if kind in ("envelope", "response") and large and not is_adlib(first):
            streamed = self._stream_pages(src, buf, kind, first)
            if streamed is None:
                return
            done = streamed  # read on from the first line that does not fit
            self.src = src = open_source(src.path, self.limits)
            buf = b""
        self._segments(src, buf, kind, table, skip=done)

    def _stream_pages(self, src: Source, buf: bytes, kind: str, first: Any) -> int | None:
        """Pages parsed by pyarrow as a stream, a group of batches at a time.

        Returns:
            None when the whole file was read; otherwise the number of pages kept before a line
            that does not fit the strict schema of the first page's endpoint (the segment path
            reads on from there).
        """
        envelope = kind == "envelope"
        self.sniff([first] if src.gzip else [first, src.last_line()])
        guess = self.endpoint or endpoint_of(first, envelope)
        schema = tables.read_schema([guess] if guess else None, envelope=envelope)
        parse = pa_json.ParseOptions(
            explicit_schema=tables._arrow_schema(schema), unexpected_field_behavior="ignore"
        )
        done, found = 0, list[tuple[int, str | None]]()
        stream = pa.PythonFile(_Chained(buf, src), mode="r")
        try:
            reader = pa_json.open_json(
                stream, read_options=pa_json.ReadOptions(block_size=_PARSE_BLOCK),
                parse_options=parse,
            )  # fmt: skip
            for group in _groups(reader):
                kept = self._stream_group(group, envelope, guess, done)
                if kept is None:
                    break
                found.extend((done + pos, code) for pos, code in kept)
                done += sum(b.num_rows for b in group)
            else:
                done = -1
        except pa.ArrowException:
            pass  # a line that does not fit: read on from the last whole group
        finally:
            stream.close()
            pa.default_memory_pool().release_unused()
        if found:  # the lines of the pages to report, counted by reading the file again
            lines = self._line_numbers(sorted(pos for pos, _ in found))
            self.report_unusable([(lines.get(pos), code) for pos, code in found])
        return None if done < 0 else done

    def _stream_group(
        self, group: list[pa.RecordBatch], envelope: bool, guess: str | None, done: int
    ) -> list[tuple[int, str | None]] | None:
        """Rows of streamed pages; None (nothing kept) if a page is of another endpoint."""
        raw = pl.from_arrow(pa.Table.from_batches(group), rechunk=False)
        assert isinstance(raw, pl.DataFrame)
        pages = tables.pages_from_raw(
            raw, envelope=envelope, src=str(self.path), default_endpoint=self.endpoint
        )
        if guess and _other_endpoint(pages, guess):
            return None
        return self.pages_from_frame(pages, False, row_offset=done)

    def _line_numbers(self, positions: list[int]) -> dict[int, int]:
        """The file's line of the non-blank lines at ``positions`` (sorted), read again."""
        out: dict[int, int] = {}
        wanted = iter(positions)
        target = next(wanted, None)
        seen, line_no = 0, 1
        with open_source(self.path if self.src is None else self.src.path, self.limits) as src:
            for segment, _ in _whole_lines(src, b""):
                for i, ln in enumerate(segment.split(b"\n")):
                    if target is not None and ln.strip():
                        if seen == target:
                            out[target] = line_no + i
                            target = next(wanted, None)
                        seen += 1
                if target is None:
                    break
                line_no += segment.count(b"\n")
        return out

    def _segments(
        self, src: Source, buf: bytes, kind: str, table: str | None, *, skip: int = 0
    ) -> None:
        """JSON lines a segment of whole lines at a time, past the first ``skip`` non-blank ones."""
        line_no, done, first_segment = 1, 0, True
        for segment, final in _whole_lines(src, buf):
            lines = [(line_no + i, ln) for i, ln in enumerate(segment.split(b"\n")) if ln.strip()]
            line_no += segment.count(b"\n")
            if skip:
                dropped = min(skip, len(lines))
                lines, skip, done = lines[dropped:], skip - dropped, done + dropped
            if not lines:
                continue
            body = b"\n".join(ln.strip() for _, ln in lines)
            if table is not None:
                self.records(body, table, array=False, order_offset=done, new_page=first_segment)
            else:
                numbers = [n for n, _ in lines]
                self.pages_from_lines(body, numbers, kind, row_offset=done, final=final)
            done += len(lines)
            first_segment = False

    # -- concatenated objects and arrays -----------------------------------------------------------

    def _read_values(self, src: Source, buf: bytes, *, array: bool) -> None:
        """Concatenated (pretty-printed) objects or one JSON array: split into JSON lines."""
        splitter = Splitter(src.read, buf, array=array)
        kind, table, done = "", None, 0
        with contextlib.closing(ahead(splitter)) as blocks:
            for values in blocks:
                if not kind:
                    kind, table = self._first_value(values, array)
                    if table is None and kind in ("records", "unknown"):
                        return
                if table is not None:
                    self.records(values.lines, table, array=False, order_offset=done,
                                 new_page=not done)  # fmt: skip
                else:
                    self.pages_from_lines(values.lines, values.numbers, kind, row_offset=done,
                                          final=False)  # fmt: skip
                done += len(values.numbers)
        self._values_done(splitter, kind, array)

    def _first_value(self, values: Values, array: bool) -> tuple[str, str | None]:
        """The kind of the values (and the table of records) from the first one; reported."""
        first = json.loads(values.lines[: values.lines.find(b"\n")])
        kind = kind_of(first)
        self.report.layout = _values_layout(kind, array)
        table = None
        if kind == "records":
            table = guess_table(first, self.path.name, self.endpoint)
            if table is None:
                self.skip(None, NO_TABLE)
        elif kind == "unknown":
            self.skip(values.numbers[0], "first value is not a JSON object")
        return kind, table

    def _values_done(self, splitter: Splitter, kind: str, array: bool) -> None:
        """The layout once every value is read, and what stopped the split early."""
        if not kind:
            self.report.layout = "JSON array (empty)" if array else "JSON"
        elif kind == "response" and not array and splitter.values == 1:
            self.report.layout = "one response"
        if splitter.problem is not None:
            line, why = splitter.problem
            if array and not splitter.values and why.startswith("not a JSON object"):
                self.report.layout = "JSON array"
                self.skip(None, "array holds no JSON objects")
            else:
                self.skip(line, why)


def _values_layout(kind: str, array: bool) -> str:
    if array:
        return {"response": "JSON array of responses", "envelope": "JSON array of pages",
                "records": "JSON array of records"}.get(kind, "JSON array")  # fmt: skip
    return f"concatenated JSON objects ({kind})"


def _groups(reader: Any) -> Iterator[list[pa.RecordBatch]]:
    """Record batches of a streaming reader, in groups of about ``_GROUP`` bytes."""
    group: list[pa.RecordBatch] = []
    size = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        group.append(batch)
        size += batch.nbytes
        if size >= _GROUP:
            yield group
            group, size = [], 0
    if group:
        yield group


def _other_endpoint(pages: pl.DataFrame, guess: str) -> bool:
    """Some page is of another endpoint than ``guess`` (or of none, without being an error)."""
    ok = pl.col("_error_code").is_null() | (pl.col("_error_code") == "ok")
    odd = (pl.col("_endpoint").is_null() & ok) | (pl.col("_endpoint") != guess)
    return bool(pages.select(odd.fill_null(False).any()).item())


def _whole_lines(src: Source, buf: bytes) -> Iterator[tuple[bytes, bool]]:
    """Segments of whole lines of about ``SEGMENT`` bytes (a longer line is read to its end),
    and whether each is the last one (only whitespace follows it)."""
    pending, eof = buf, False
    while True:
        while not eof and len(pending) <= SEGMENT:
            more = src.read(SEGMENT)
            pending, eof = pending + more, not more
        cut = len(pending) if eof else pending.rfind(b"\n", 0, SEGMENT) + 1
        while not cut:  # a line longer than a segment: read on to its end
            more = src.read(SEGMENT)
            if not more:
                eof, cut = True, len(pending)
                break
            found = more.find(b"\n")
            cut = len(pending) + found + 1 if found >= 0 else 0
            pending += more
        segment, pending = pending[:cut], pending[cut:]
        while not eof and _blank(pending):  # is anything left after this segment?
            more = src.read(SEGMENT)
            pending, eof = pending + more, not more
        final = eof and _blank(pending)
        if final:
            segment, pending = segment + pending, b""
            if src.stopped:  # a limit cut the last line short: not the file's fault
                segment = segment[: segment.rfind(b"\n") + 1]
        yield segment, final
        if final:
            return
