"""One input file's rows and report: pages and records -> rows of the tables, skips reported.

:class:`FileState` turns what a reader found in one file (JSON lines of pages, a parsed frame of
pages, bare records) into rows of the declared tables and hands them to the merge's sink, filling
the file's :class:`FileReport`: pages read, rows per table, and every item skipped with its line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pyarrow as pa

from .. import _endpoints as ep
from .. import tables
from .._adlib_tables import adlib_endpoint_of, adlib_pages
from ._detect import NO_DATA, TOO_DEEP, Sniffer, endpoint_of, is_adlib, name_hints
from ._report import FileReport

logger = logging.getLogger("tiktok_research.merge")

#: ``_order`` of a row: file index * ORDER_STRIDE + position in the file (later wins ties).
ORDER_STRIDE = 1 << 40

Sink = Callable[[str, int, int, pl.DataFrame], None]  # table, first and last file index, rows


class _WriteFailed(Exception):
    """Writing rows failed (a full disk, a folder that became read-only): raised by the sink of a
    dataset merge through the readers, which catch ``OSError`` to report an unreadable input, and
    re-raised as its ``error`` by ``merge_dumps``. Before, a full disk was reported as the input
    being unreadable, the input skipped and the merge ended "complete" with its rows lost."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def writing(sink: Sink) -> Sink:
    """``sink``, its ``OSError`` raised as :class:`_WriteFailed` (not taken for a read error)."""

    def guarded(table: str, first: int, last: int, df: pl.DataFrame) -> None:
        try:
            sink(table, first, last, df)
        except OSError as exc:
            raise _WriteFailed(exc) from exc

    return guarded


_OK = pl.col("_error_code").is_null() | (pl.col("_error_code") == "ok")


class FileState:
    """The report, position and sink of one input file while it is read."""

    def __init__(
        self, path: Path, index: int, endpoint: str | None, sink: Sink, sniff: Sniffer
    ) -> None:
        self.path = path
        self.index = index
        self.endpoint = endpoint
        self.sink = sink
        self.sniff = sniff
        self.report = FileReport(str(path))
        self.mtime = datetime.fromtimestamp(0, tz=UTC)
        self.size = 0

    # -- the report ------------------------------------------------------------------------------

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
        """Hand rows of ``table`` to the sink and count them."""
        missing = df["username"].null_count() if table == "users" and df.height else 0
        self.count(table, df.height, missing)
        if df.height:
            self.sink(table, self.index, self.index, df)

    # -- pages ------------------------------------------------------------------------------------

    def pages_from_lines(
        self,
        buf: bytes,
        numbers: Sequence[int],
        kind: str,
        *,
        row_offset: int = 0,
        final: bool = True,
        parsed: Parsed | None = None,
    ) -> None:
        """Rows of pages given as JSON lines (``numbers``: the file's line of each non-blank line).

        Read strictly with the schema of the first page's endpoint (fast), again with the schema
        of every endpoint if some page is of another, and line by line if a line does not parse
        (every readable line is kept, the others reported). ``final``: these lines end the file
        (a broken last line is then reported as truncated). ``parsed``: the strict read already
        made (by :func:`parse_ahead`, in another thread), used when it is of the same endpoint.
        """
        envelope = kind == "envelope"
        first, last = _first_last_line(buf)
        # decoded once each (a page is tens of KB; a single value may be the whole file: freed
        # before the parse, which needs the memory)
        head = _decoded(first)
        end = head if last == first else _decoded(last)
        if first and (is_adlib(head) or is_adlib(end)):
            self.adlib_lines(buf, numbers, kind, row_offset=row_offset, final=final)
            return
        self.sniff([head, end] if first else [])
        guess = self.endpoint or (endpoint_of(head, envelope) if first else None)
        del head, end
        try:
            endpoints = [guess] if guess else None
            if parsed is not None and parsed.endpoints == endpoints:  # read ahead
                pages, lenient = self._parse(buf, envelope, endpoints, strict=parsed.raw)
            else:
                pages, lenient = self._parse(buf, envelope, endpoints)
            if guess and _other_endpoint(pages, guess):
                pages, lenient = self._parse(buf, envelope, None)
            lines: Sequence[int] = numbers
        except pl.exceptions.PolarsError:
            readable = self._line_by_line(buf, numbers, envelope, final)
            if readable is None:
                return
            pages, lenient, lines = readable
        unusable = self.pages_from_frame(pages, lenient, row_offset=row_offset)
        self.report_unusable([(lines[pos], code) for pos, code in unusable])

    def adlib_lines(
        self, buf: bytes, numbers: Sequence[int], kind: str, *, row_offset: int, final: bool
    ) -> None:
        """Pages of the ad library (the Commercial Content API) given as JSON lines.

        Its answers are small and irregular (maps by country, two spellings of some keys), so they
        are decoded one by one (:func:`tiktok_research._adlib_tables.adlib_pages`); Research API
        pages among them are read the usual way. Every line that cannot be read is reported.
        """
        lines = [ln.strip() for ln in buf.split(b"\n") if ln.strip()]
        decoded: list[tuple[int, Any]] = []
        for i, ln in enumerate(lines):
            try:
                decoded.append((i, json.loads(ln)))
            except ValueError:
                last = i == len(lines) - 1 and final
                self.skip(numbers[i], "truncated last line" if last else "not valid JSON")
            except RecursionError:
                self.skip(numbers[i], TOO_DEEP)
        self.sniff([lines[i] for i, _ in decoded[:1]])
        mine = [(i, v) for i, v in decoded if adlib_endpoint_of(v) is not None]
        other = [i for i, v in decoded if adlib_endpoint_of(v) is None]
        if self.endpoint is not None and mine:
            self.skip(None, f"{len(mine)} page(s) of other endpoints than {self.endpoint}")
            mine = []
        base = row_offset + self.index * ORDER_STRIDE
        rows, unusable = adlib_pages([(base + i, v) for i, v in mine], self.mtime)
        self.report.pages += len(mine)
        for table, df in rows.items():
            self.add(table, df)
        self.report_unusable([(numbers[order - base], code) for order, code in unusable])
        if other:  # Research API pages and error pages: the usual way
            self.pages_from_lines(
                b"\n".join(lines[i] for i in other), [numbers[i] for i in other], kind,
                row_offset=row_offset, final=False,
            )  # fmt: skip

    def _parse(
        self, buf: bytes, envelope: bool, endpoints: list[str] | None,
        strict: pl.DataFrame | Literal[False] | None = False,
    ) -> tuple[pl.DataFrame, bool]:  # fmt: skip
        """Pages of JSON lines: pyarrow's strict reader (no copy of its result), else the careful
        reader of ``tables`` (ids beyond int64 and numbers sent as text read leniently).
        ``strict``: the strict read, already made (None: it did not fit)."""
        schema = tables.read_schema(endpoints, envelope=envelope)
        try:
            raw = (
                tables.parse_json_lines(buf, tables._arrow_schema(schema))
                if strict is False
                else strict
            )
            if raw is None:
                raise pa.ArrowInvalid("a line does not fit the strict schema")
        except (pa.ArrowException, TypeError):
            return tables.pages_from_ndjson(
                buf, envelope=envelope, src=str(self.path), default_retrieved_at=self.mtime,
                default_endpoint=self.endpoint, endpoints=endpoints,
            )  # fmt: skip
        return self._pages(raw, envelope), False

    def _pages(self, raw: pl.DataFrame, envelope: bool) -> pl.DataFrame:
        """Pages of a strict read of JSON lines (``tables.parse_json_lines``)."""
        return tables.pages_from_raw(
            raw, envelope=envelope, src=str(self.path), default_retrieved_at=self.mtime,
            default_endpoint=self.endpoint,
        )  # fmt: skip

    def _line_by_line(
        self, buf: bytes, numbers: Sequence[int], envelope: bool, final: bool
    ) -> tuple[pl.DataFrame, bool, list[int]] | None:
        """The slow path: each line checked alone; the readable ones parsed (None if none)."""
        clean = [ln.strip() for ln in buf.split(b"\n") if ln.strip()]
        good: list[int] = []
        last = len(clean) - 1
        for i, ln in enumerate(clean):
            try:
                json.loads(ln)
                good.append(i)
            except ValueError:
                self.skip(numbers[i], "truncated last line" if i == last and final
                          else "not valid JSON")  # fmt: skip
            except RecursionError:
                self.skip(numbers[i], TOO_DEEP)
        if not good:
            return None
        try:
            pages, lenient = self._parse(b"\n".join(clean[i] for i in good), envelope, None)
        except pl.exceptions.PolarsError:
            pages, lenient, good = self._one_by_one(clean, good, numbers, envelope)
            if not good:
                return None
        return pages, lenient, [numbers[i] for i in good]

    def _one_by_one(
        self, clean: list[bytes], good: list[int], numbers: Sequence[int], envelope: bool
    ) -> tuple[pl.DataFrame, bool, list[int]]:
        """Parse pages one at a time (slowest path), skipping those of an unexpected shape."""
        frames, kept, lenient = [], [], False
        for i in good:
            try:
                f, lz = self._parse(clean[i], envelope, None)
            except pl.exceptions.PolarsError as exc:
                self.skip(numbers[i], f"page has an unexpected shape ({str(exc).splitlines()[0]})")
                continue
            frames.append(f)
            kept.append(i)
            lenient |= lz
        if not frames:
            return pl.DataFrame(), lenient, []
        if lenient:
            frames = [
                tables.pages_from_ndjson(
                    clean[i], envelope=envelope, src=str(self.path),
                    default_retrieved_at=self.mtime, default_endpoint=self.endpoint, lenient=True,
                )[0]
                for i in kept
            ]  # fmt: skip
        pages = pl.concat(frames, how="vertical")
        return (
            pages.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_row")),
            lenient,
            kept,
        )

    def pages_from_frame(
        self, pages: pl.DataFrame, lenient: bool, *, row_offset: int = 0
    ) -> list[tuple[int, str | None]]:
        """Rows of a frame of pages (``tables.pages_from_raw``); ``row_offset`` pages came before.

        Returns:
            The pages that hold no rows to keep, as (position in ``pages``, error code): error
            pages and pages of no known endpoint, for the caller to report with their lines
            (:meth:`report_unusable`).
        """
        self.report.pages += pages.height
        pages = pages.with_columns(
            pl.col("_retrieved_at").fill_null(pl.lit(self.mtime, dtype=pl.Datetime("us", "UTC"))),
            (pl.col("_row") + (row_offset + self.index * ORDER_STRIDE)).alias("_row"),
        )
        hints = name_hints(self.path)
        if "username" in hints:
            pages = pages.with_columns(pl.col("_req_username").fill_null(hints["username"]))
        if "video_id" in hints:
            pages = pages.with_columns(pl.col("_req_video_id").fill_null(hints["video_id"]))
        check = pl.col("_endpoint").is_in(list(ep.VALIDATION_ENDPOINTS))
        checks = pages.filter(check)
        if checks.height:  # a batch compliance check (`compliance`, `refresh`) in an archive:
            # its answers (a task, its status, a text file of ids) hold no rows of a table
            self.skip(None, f"{checks.height} page(s) of a batch compliance check: no table rows",
                      expected=True)  # fmt: skip
            pages = pages.filter(~check)
        usable = pages.select(_OK & pl.col("_endpoint").is_not_null()).to_series()
        found: list[tuple[int, str | None]] = []
        if not usable.all():
            bad = pages.select("_error_code").with_row_index("_pos").filter(~usable)
            found = list(zip(bad["_pos"].to_list(), bad["_error_code"].to_list(), strict=True))
            pages = pages.filter(usable)  # filtering copies the pages
        if self.endpoint is not None:
            other = pages.filter(pl.col("_endpoint") != self.endpoint)
            if other.height:
                self.skip(None, f"{other.height} page(s) of other endpoints than {self.endpoint}")
                pages = pages.filter(pl.col("_endpoint") == self.endpoint)
        for name in pages["_endpoint"].unique().sort().to_list():
            issues: list[str] = []
            df = tables.items_from_pages(pages, name, lenient=lenient, issues=issues,
                                         src=f" ({self.path})")  # fmt: skip
            for msg in issues:
                self.report.skipped.append((None, msg))
            self.add(ep.ENDPOINTS[name].table, df)
        return found

    def report_unusable(self, found: list[tuple[int | None, str | None]]) -> None:
        """Report error pages and pages of no known endpoint: (line, error code) each."""
        for line, code in found:
            if code is not None and code != "ok":
                self.skip(line, f"error page ({code})", expected=True)
            else:
                self.skip(line, NO_DATA)

    # -- bare records -----------------------------------------------------------------------------

    def records(
        self, raw: bytes, table: str, *, array: bool, order_offset: int = 0, new_page: bool = True,
        parsed: Parsed | None = None,
    ) -> None:  # fmt: skip
        """Rows of bare records (a JSON array, or JSON lines when ``array`` is false); ``parsed``:
        their strict read already made (:func:`parse_ahead`)."""
        consts: dict[str, Any] = {}
        hints = name_hints(self.path)
        if table == "users" and "username" in hints:
            consts["username"] = hints["username"]
        if table == "comments" and "video_id" in hints:
            consts["video_id"] = int(hints["video_id"])
        issues: list[str] = []
        try:
            df = tables.records_from_json(
                raw, table, constant_columns=consts, issues=issues, src=f" ({self.path})",
                array=array, read=parsed.raw if parsed is not None else None,
            )  # fmt: skip
        except pl.exceptions.PolarsError as exc:
            self.skip(None, f"records cannot be read ({exc})")
            return
        for msg in issues:
            self.report.skipped.append((None, msg))
        df = df.with_columns(
            pl.lit(self.mtime, dtype=pl.Datetime("us", "UTC")).alias("_retrieved_at"),
            (pl.col("_order") + (order_offset + self.index * ORDER_STRIDE)).alias("_order"),
        )
        if new_page:
            self.report.pages += 1
        self.add(table, df)


@dataclass
class Parsed:
    """A strict read of a block of JSON lines, made ahead of its use (:func:`parse_ahead`).

    Attributes:
        endpoints: The endpoints whose schema was used (pages), or None (records).
        raw: The frame read, or None when a line did not fit (the reader then reads carefully).
    """

    endpoints: list[str] | None
    raw: pl.DataFrame | None


def parse_ahead(lines: bytes, kind: str, table: str | None, endpoint: str | None) -> Parsed | None:
    """The strict read that :meth:`FileState.pages_from_lines` / :meth:`FileState.records` make
    first, made here so that it can run in the thread that splits the next block (pyarrow works
    without the GIL). Pure: nothing is reported; a read that does not fit gives ``raw=None``.
    Pages of the ad library, or a first line that is not JSON, give None (read as usual).

    Args:
        lines: Values, one per line.
        kind: ``envelope``, ``response`` or ``records``.
        table: The table of records.
        endpoint: The endpoint the merge was given (else guessed from the first page).
    """
    if table is not None:
        try:
            return Parsed(None, tables.read_records_strictly(lines, table))
        except (pa.ArrowException, TypeError, pl.exceptions.PolarsError):
            return Parsed(None, None)
    envelope = kind == "envelope"
    first, _ = _first_last_line(lines)
    head = _decoded(first)
    if head is None or is_adlib(head):
        return None
    guess = endpoint or endpoint_of(head, envelope)
    endpoints = [guess] if guess else None
    schema = tables.read_schema(endpoints, envelope=envelope)
    try:
        return Parsed(endpoints, tables.parse_json_lines(lines, tables._arrow_schema(schema)))
    except (pa.ArrowException, TypeError):
        return Parsed(endpoints, None)


def _decoded(line: bytes) -> Any:
    """One line of JSON decoded, or None when it is not JSON (or is nested too deeply)."""
    try:
        return json.loads(line) if line else None
    except (ValueError, RecursionError):
        return None


def _first_last_line(buf: bytes) -> tuple[bytes, bytes]:
    """The first and last non-blank lines of ``buf`` (looking at its ends only, no copy of it)."""
    first, pos = b"", 0
    while pos < len(buf):
        nl = buf.find(b"\n", pos)
        end = len(buf) if nl < 0 else nl
        first = buf[pos:end].strip()
        if first:
            break
        pos = end + 1
    if not first:
        return b"", b""
    end = len(buf)
    while True:
        nl = buf.rfind(b"\n", 0, end)
        last = buf[nl + 1 : end].strip()
        if last or nl < 0:
            return first, last or first
        end = nl


def _other_endpoint(pages: pl.DataFrame, guess: str) -> bool:
    """Some page is of another endpoint than ``guess`` (or of none, without being an error)."""
    odd = (pl.col("_endpoint").is_null() & _OK) | (pl.col("_endpoint") != guess)
    return bool(pages.select(odd.fill_null(False).any()).item())
