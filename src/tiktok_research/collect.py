"""The collection engine: a plan's tasks run through the client; every answer archived; the table
made from the archive.

A *collection* is one ``fetch_*`` call, planned by :mod:`tiktok_research.plan`. It lives in a folder
of the archive (see :mod:`tiktok_research._archive` for the layout) that one process at a time may
collect into. For each task (a date window, or an item) the engine walks the page sequence with
:func:`tiktok_research.pagination.iterate`; every answer is archived verbatim and fsync'd before it
is parsed, then a journal line records the page and where the task continues. Calling the same
function again on the same archive continues where the journal says, and a page that an earlier
run archived but did not journal (a crash in between, a lost journal) is answered from the archive
instead of being paid again.

Promises, and how they are kept:

* **No page paid twice.** Held pages are never asked for again (journal + archive replay). A date
  window that keeps failing with 500/504 after its retries is *narrowed*: the pages held cover its
  newest days (results come newest id first and ``id >> 32`` is the creation time), so the window's
  end moves to the oldest day already held, and only that day is asked again. A window with
  nothing held is split in halves, down to single days. Network failures, token-endpoint failures
  and 429s never split a window: the task waits for the next run.
* **Nothing lost silently.** The table is read back from the archive, never from memory. The
  pages the journal records are checked against the pages that could be read: one whose archived
  copy is damaged (a truncated or zero-length file, garbage, a broken gzip) is fetched again; if it
  cannot be, the report is incomplete and names the file.
* **Exact rows.** Rows are made and cut in one place, :func:`tiktok_research.tables.finish`:
  exactly ``max_total`` videos (the newest; the windows then run newest first, one after another,
  and stop as soon as enough are held), at most ``max_total`` rows per item of a fan-out.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Self, Unpack, cast

import polars as pl

from . import schemas, tables
from ._archive import (
    JOURNAL_FILE,
    ArchiveWriter,
    Collection,
    Journal,
    JournalView,
    PageRef,
    ReplayIndex,
    TaskRecord,
    check_room,
    collection_dir,
    iter_archive,
    run_of,
)
from ._checks import format_date, id_time, parse_date, plural
from ._endpoints import (
    VALIDATION_CREATE,
    VALIDATION_DOWNLOAD,
    VALIDATION_ENDPOINTS,
    VALIDATION_STATUS,
    Endpoint,
    ValidationEndpoint,
)
from ._optional import require
from ._progress import enabled as progress_enabled
from ._signals import Terminated, sigterm_as_interrupt
from ._windows import halve, window_body
from .client import Client, RequestCounter, parse_answer
from .errors import (
    ArchiveError,
    AuthenticationError,
    BudgetExhaustedError,
    IncompleteCollectionWarning,
    InvalidRequestError,
    QuotaExhaustedError,
    QuotaWarning,
    ScopeNotAuthorizedError,
    ServerError,
    TikTokResearchError,
    TransientRequestError,
    UnavailableError,
    warn_user,
)
from .pagination import Page, Position, Reply, iterate
from .plan import Plan, TaskSpec

if TYPE_CHECKING:
    import pandas as pd
    from xlsxwriter import Workbook

    from .io import ParquetOptions

log = logging.getLogger("tiktok_research")

__all__ = [
    "CollectionReport",
    "FetchResult",
    "IncompleteCollectionWarning",  # defined in errors; kept importable from here
    "bound_memory",
    "run",
]

FAILURE_SCHEMA = pl.Schema(
    {
        "item": pl.String(),
        "code": pl.String(),
        "message": pl.String(),
        "log_id": pl.String(),
        "http_status": pl.Int64(),
    }
)


#: Seconds between status checks of a compliance task: the first wait, and the longest (each
#: check is a request against the quota, so the waits double).
POLL_FIRST, POLL_MAX = 10.0, 300.0


# ------------------------------------------------------------------------------------ results


@dataclass
class CollectionReport:
    """What a collection did and whether it is complete.

    Attributes:
        endpoint: Endpoint name.
        kind: The collection (``"videos"``, ``"comments"``...), as in the progress bar.
        table: The table it makes (``"videos"``, ``"comments"``, ``"compliance"``...).
        complete: True when every task finished (items that failed for good count as finished)
            and every page the collection holds could be read.
        tasks_total: Number of tasks (windows or items).
        tasks_done: Tasks finished, in this run or an earlier one.
        pending: ``{task: reason}`` for every task not finished.
        requests_spent: Requests this run sent (retries included): "N requests sent".
        requests_charged: Of those, the requests the service charges against the daily quota
            (:func:`~tiktok_research._endpoints.charged`: all but its 4xx refusals, api-notes
            §11): "M charged". The quota ledger and the sandbox count the same.
        uncharged: The answers not charged, by HTTP status (``{400: 1}``):
            ``requests_spent == requests_charged + sum(uncharged.values())``.
        requests_by_endpoint: The requests sent, by the API's endpoint name (``video_query``,
            ``user_info``...): the names of the quota ledger, the sandbox and the errors.
        pages: Pages this run received from the service.
        rows: Rows in the final table.
        resumed: True when an earlier run of the same collection was found and continued.
        archive: The collection folder.
        warnings: Messages about the data (dates clipped, days not indexed yet, pages repaired...).
        stopped_by: Why the run stopped early (quota, budget, the service, the disk), or None.
        stop_kind: ``"quota"``, ``"budget"``, ``"server"``, ``"unreachable"``, ``"disk"``,
            ``"interrupted"`` or None.
        repaired: Pages fetched again because their archived copy could not be read.
        damaged: Files of the archive that could not be read whole.
        temporary: The archive is a temporary folder (no ``archive=`` was given).
        not_found: Ids looked up and not found (:func:`tiktok_research.fetch_videos_by_id`).
        failed: Tasks (items) that failed for good: finished, but without their rows (the
            result's ``.failures`` says why).
        failed_reasons: Why they failed, ``{"code: message": n}``.
        retrieved: When the answers of the table's rows arrived, ``(first, last)`` (the
            archive's ``retrieved_at``), or None (no row read). Dataset writes record it, and
            :class:`~tiktok_research.errors.EraWarning` compares runs by it.
        query: The video query the table's rows answer (its JSON form, as a dataset folder
            records it), or None (a look-up of items or of ids, or parts of different
            queries): :func:`tiktok_research.io.write_dataset` takes it from a result.
    """

    endpoint: str
    kind: str = ""
    table: str = ""
    complete: bool = False
    tasks_total: int = 0
    tasks_done: int = 0
    pending: dict[str, str] = field(default_factory=dict)
    requests_spent: int = 0
    requests_charged: int = 0
    uncharged: dict[int, int] = field(default_factory=dict)
    requests_by_endpoint: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    rows: int = 0
    resumed: bool = False
    archive: Path | None = None
    warnings: list[str] = field(default_factory=list)
    stopped_by: str | None = None
    stop_kind: str | None = None
    repaired: int = 0
    damaged: list[str] = field(default_factory=list)
    temporary: bool = False
    not_found: list[int] = field(default_factory=list)
    failed: int = 0
    failed_reasons: dict[str, int] = field(default_factory=dict)
    retrieved: tuple[datetime, datetime] | None = None
    query: dict[str, Any] | None = None

    @classmethod
    def combine(cls, parts: Sequence[CollectionReport], **fields: object) -> Self:
        """One report for a collection made of several (comments and their replies; a refresh's
        compliance check and look-up).

        Counts add up; the result is complete when every part is; pending tasks, warnings,
        damaged files and ids not found are gathered; the first stop is kept with its kind; the
        archive is the first part's; the query is the parts' own when they all answer the same
        one. ``fields`` set (or override) fields of the result, e.g. the
        fields of a subclass or the ``rows`` of the combined table.

        Example:
            >>> a = CollectionReport("comments", complete=True, requests_spent=3, repaired=1)
            >>> b = CollectionReport("comments", complete=False, requests_spent=2)
            >>> both = CollectionReport.combine([a, b])
            >>> (both.complete, both.requests_spent, both.repaired)
            (False, 5, 1)
        """
        if not parts:
            raise InvalidRequestError("CollectionReport.combine needs at least one report")
        values = {name: rule(parts) for name, rule in _COMBINE.items()}
        stop = next((p for p in parts if p.stopped_by), None)
        values["stopped_by"] = stop.stopped_by if stop is not None else None
        values["stop_kind"] = stop.stop_kind if stop is not None else None
        values.update(fields)
        return cls(**values)

    def cost(self) -> str:
        """What this run sent and what the service charged, in the words every report uses:
        ``"40 requests sent to user_info, 39 charged (1 answered 400, not charged)"``.

        Endpoints go by the API's endpoint names (``video_query``, ``user_info``...), as in the
        quota ledger, the sandbox's figures and the errors.
        """
        by_ep = {k: v for k, v in self.requests_by_endpoint.items() if v}
        where = ""
        if len(by_ep) == 1:
            where = f" to {next(iter(by_ep))}"
        elif by_ep:
            where = " (" + ", ".join(f"{k} {v:,}" for k, v in sorted(by_ep.items())) + ")"
        text = (
            f"{_n(self.requests_spent, 'request')} sent{where}, {self.requests_charged:,} charged"
        )
        free = {k: v for k, v in self.uncharged.items() if v}
        if free:
            said = ", ".join(f"{v:,} answered {k}" for k, v in sorted(free.items()))
            text += f" ({said}, not charged)"
        return text

    def _tasks(self) -> str:
        tasks = f"{self.tasks_done}/{self.tasks_total} tasks"
        if self.complete and self.tasks_done < self.tasks_total:  # max_total reached first
            tasks = (
                f"max_total reached ({self.tasks_done}/{self.tasks_total} tasks finished, the "
                "rest not needed)"
            )
        if not self.failed:
            return tasks
        # A task whose final answer is a refusal of its item is done: its item failed.
        from .plan import KINDS

        kind = KINDS.get(self.kind)
        one = kind.one if kind is not None else "item"
        noun = plural(self.failed, one, f"{one}s")
        reasons = sorted(self.failed_reasons.items(), key=lambda kv: -kv[1])
        if len(reasons) == 1:
            why = f": {reasons[0][0]}"
        elif reasons:
            why = ": " + ", ".join(f"{n:,} {r}" for r, n in reasons[:3])  # most frequent first
            if len(reasons) > 3:
                why += f" and {len(reasons) - 3} other reason(s)"
        else:
            why = ""
        return f"{tasks} done, {self.failed:,} {noun} failed{why}"

    def __str__(self) -> str:
        label = self.kind or self.endpoint
        status = "complete" if self.complete else f"INCOMPLETE ({len(self.pending)} task(s) left)"
        lines = [
            f"{label}: {status}; {_n(self.rows, 'row')}; {self._tasks()}; this run: "
            f"{self.cost()}; {_n(self.pages, 'page')}"
            + ("; resumed an earlier run" if self.resumed else "")
        ]
        if self.stopped_by:
            lines.append(f"  stopped by: {self.stopped_by}")
        shown = [(t, why) for t, why in self.pending.items() if why != _STOPPED]
        for task, why in shown[:10]:
            lines.append(f"  not done: {task}: {why}")
        if len(shown) > 10:
            lines.append(f"  ... and {len(shown) - 10} more")
        stopped = len(self.pending) - len(shown)
        if stopped:
            lines.append(f"  not done: {stopped} task(s) not started or interrupted by the stop")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        if self.archive is not None:
            lines.append(f"  archive: {self.archive}")
        if not self.complete:
            lines.append("  " + self.how_to_continue())
        return "\n".join(lines)

    def how_to_continue(self) -> str:
        """One sentence on how to continue an incomplete collection."""
        if self.archive is None:
            return "Run the same call again with archive=DIR to keep the pages and continue."
        if self.temporary:
            return (
                f"This run's pages are kept in {self.archive.parent}: run the same call again "
                f"with archive={str(self.archive.parent)!r} to continue without paying for them."
            )
        return "Run the same call again (same archive) to continue; held pages cost nothing."


def _first(name: str) -> Callable[[Sequence[CollectionReport]], Any]:
    return lambda parts: getattr(parts[0], name)


def _total(name: str) -> Callable[[Sequence[CollectionReport]], Any]:
    return lambda parts: sum(getattr(p, name) for p in parts)


def _n(count: int, noun: str) -> str:
    """``"1 row"``, ``"2 rows"``."""
    return f"{count:,} {plural(count, noun, noun + 's')}"


def _reasons(failures: Sequence[dict[str, Any]]) -> dict[str, int]:
    """``{"code (message)": n}`` of failures, by error code; the message of the first failure
    of each code ("e.g." when the others said it of other items)."""
    by_code: dict[str, list[str]] = {}
    for f in failures:
        by_code.setdefault(str(f.get("code")), []).append(str(f.get("message") or ""))
    out: dict[str, int] = {}
    for code, messages in by_code.items():
        first = messages[0]
        if not first:
            out[code] = len(messages)
            continue
        eg = "e.g. " if len(set(messages)) > 1 else ""
        out[f"{code} ({eg}{first})"] = len(messages)
    return out


def _summed(name: str) -> Callable[[Sequence[CollectionReport]], Any]:
    """Every part's counts added up, key by key."""

    def add(parts: Sequence[CollectionReport]) -> dict[Any, int]:
        out: dict[Any, int] = {}
        for p in parts:
            for k, v in getattr(p, name).items():
                out[k] = out.get(k, 0) + v
        return out

    return add


def _gathered(name: str) -> Callable[[Sequence[CollectionReport]], Any]:
    """Every part's list, in order, each value once."""
    return lambda parts: list(dict.fromkeys(v for p in parts for v in getattr(p, name)))


def _span(spans: Sequence[tuple[datetime, datetime] | None]) -> tuple[datetime, datetime] | None:
    """The span that covers every given ``(first, last)``; None when none is given."""
    held = [s for s in spans if s is not None]
    return (min(a for a, _ in held), max(b for _, b in held)) if held else None


#: How :meth:`CollectionReport.combine` combines each field (stopped_by and stop_kind: the first
#: stop, kept together). Every field of the report is listed: a new field must say how it combines.
_COMBINE: dict[str, Callable[[Sequence[CollectionReport]], Any]] = {
    "endpoint": _first("endpoint"),
    "kind": _first("kind"),
    "table": _first("table"),
    "complete": lambda parts: all(p.complete for p in parts),
    "tasks_total": _total("tasks_total"),
    "tasks_done": _total("tasks_done"),
    "pending": lambda parts: {k: v for p in parts for k, v in p.pending.items()},
    "requests_spent": _total("requests_spent"),
    "requests_charged": _total("requests_charged"),
    "uncharged": _summed("uncharged"),
    "requests_by_endpoint": _summed("requests_by_endpoint"),
    "pages": _total("pages"),
    "rows": _total("rows"),
    "resumed": lambda parts: any(p.resumed for p in parts),
    "archive": lambda parts: next((p.archive for p in parts if p.archive is not None), None),
    "warnings": _gathered("warnings"),
    "repaired": _total("repaired"),
    "damaged": _gathered("damaged"),
    "temporary": lambda parts: any(p.temporary for p in parts),
    "not_found": _gathered("not_found"),
    "failed": _total("failed"),
    "failed_reasons": _summed("failed_reasons"),
    "retrieved": lambda parts: _span([p.retrieved for p in parts]),
    "query": lambda parts: (
        parts[0].query if all(p.query == parts[0].query for p in parts) else None
    ),
}
assert set(_COMBINE) | {"stopped_by", "stop_kind"} == {f.name for f in fields(CollectionReport)}

_STOPPED = "stopped before it finished (see stopped by)"

#: The declared schemas of the tables a collection makes besides those of the endpoints.
_RESULT_SCHEMAS = {"compliance": schemas.COMPLIANCE, "refreshed_videos": schemas.REFRESHED_VIDEOS}


def _declared(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """``frame`` cast to the declared schema of ``table`` (unchanged for an unknown name)."""
    if table in schemas.SCHEMAS:
        return schemas.cast(frame, table)
    schema = _RESULT_SCHEMAS.get(table)
    if schema is None:
        return frame
    return frame.select(list(schema)).cast(dict(schema))  # type: ignore[arg-type]


class FetchResult(pl.DataFrame):
    """A polars DataFrame (the collected table) that also carries ``.failures`` and ``.report``.

    It is a real :class:`polars.DataFrame`: ``fetch_videos(...).write_parquet("videos.parquet")``
    works as written, and writes the table's name and provenance into the file's metadata.
    ``.failures`` is a table of the items that could not be collected (item, code, message,
    log_id, http_status); ``.report`` is a :class:`CollectionReport`.

    A frame derived from it (``head``, ``filter``, ``select``, ``with_columns``, a join, a slice,
    arithmetic...) is a plain ``pl.DataFrame``: it keeps the rows and columns it was given, not
    the report or the failures, which describe the whole collection. A copy (``clone()``,
    ``copy.copy``, ``copy.deepcopy``, pickling) is the same result and keeps them.

    How: a ``FetchResult`` is only ever built by :meth:`wrap`. Any other instantiation of the
    class, which is how polars makes the frames it derives from a subclass (``cls.__new__(cls)``
    or ``cls(data)``), gives a plain ``pl.DataFrame`` instead; frames polars builds as plain ones
    are plain already. No private polars API is involved.
    """

    _report: CollectionReport
    _failures: pl.DataFrame

    def __new__(cls, *args: object, **kwargs: object) -> FetchResult:
        """A plain ``pl.DataFrame`` (of ``args``): results are built by :meth:`wrap` only."""
        if args or kwargs:
            return pl.DataFrame(*args, **kwargs)  # type: ignore[arg-type,return-value]
        return pl.DataFrame.__new__(pl.DataFrame)  # type: ignore[return-value]

    @classmethod
    def wrap(
        cls,
        table: pl.DataFrame,
        report: CollectionReport,
        failures: pl.DataFrame | Sequence[dict[str, Any]] | None = None,
    ) -> FetchResult:
        """The result of a collection: its table, its report, and the items that failed."""
        out = pl.DataFrame.__new__(cls)
        pl.DataFrame.__init__(out, table)
        out._report = report
        if failures is None or len(failures) == 0:
            out._failures = pl.DataFrame(schema=FAILURE_SCHEMA)
        elif isinstance(failures, pl.DataFrame):
            out._failures = failures
        else:
            out._failures = pl.DataFrame(list(failures), schema=FAILURE_SCHEMA)
        return out

    @property
    def failures(self) -> pl.DataFrame:
        """Items that could not be collected: item, code, message, log_id, http_status."""
        return self._failures

    @property
    def report(self) -> CollectionReport:
        """What the collection did (see :class:`CollectionReport`)."""
        return self._report

    @property
    def complete(self) -> bool:
        """True when the collection finished every task."""
        return self.report.complete

    def clone(self) -> FetchResult:
        """A copy of the result (the same report and failures)."""
        return FetchResult.wrap(pl.DataFrame(self), self._report, self._failures)

    def __copy__(self) -> FetchResult:
        return self.clone()

    def __deepcopy__(self, memo: Any = None) -> FetchResult:
        return FetchResult.wrap(
            pl.DataFrame(self), copy.deepcopy(self._report, memo), self._failures.clone()
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (FetchResult.wrap, (pl.DataFrame(self), self._report, self._failures))

    def to_pandas(  # type: ignore[override]
        self, *, use_pyarrow_extension_array: bool | None = None, **kwargs: object
    ) -> pd.DataFrame:
        """A pandas DataFrame with exact ids: nullable Arrow-backed integers, never float.

        polars' own conversion turns an integer column with nulls (``playlist_id``,
        ``music_id``...) into float64, which rounds 19-digit ids; this one does not. Passing any
        argument gives polars' conversion unchanged.
        """
        if use_pyarrow_extension_array is not None or kwargs:
            return pl.DataFrame(self).to_pandas(
                use_pyarrow_extension_array=bool(use_pyarrow_extension_array), **kwargs
            )
        from .io import to_pandas

        return to_pandas(pl.DataFrame(self))

    def write_csv(  # type: ignore[override]
        self, file: str | Path | IO[bytes] | None = None, **options: object
    ) -> str | None:
        """Write CSV in the package's convention (:func:`tiktok_research.io.write_csv`).

        polars' own ``write_csv`` refuses the list and struct columns of most tables ("CSV
        format does not support nested data"); this one writes them as JSON text, ids as quoted
        digits, and :func:`tiktok_research.io.read_csv` reads the file back exactly. With
        options, a stream or no file (the text returned) it is polars' writer, for tables
        without nested columns; with nested ones, its error names ``tr.io.write_csv``.
        """
        if isinstance(file, (str, Path)) and not options:
            from .io import write_csv

            write_csv(pl.DataFrame(self), file)
            return None
        frame: Any = pl.DataFrame(self)
        try:
            return cast("str | None", frame.write_csv(file, **options))
        except pl.exceptions.ComputeError as e:
            if "nested" not in str(e):
                raise
            raise pl.exceptions.ComputeError(
                f"{e}; tr.io.write_csv(df, path) writes lists and structs as JSON text, and "
                "tr.io.read_csv reads them back"
            ) from None

    def write_ndjson(  # type: ignore[override]
        self, file: str | Path | IO[bytes] | IO[str] | None = None, **options: object
    ) -> str | None:
        """Write JSON lines with every id as a string (:func:`tiktok_research.io.write_ndjson`).

        polars' own ``write_ndjson`` writes ids as numbers, which jq, JavaScript and R's
        jsonlite read as doubles (``7330082108045082153`` becomes ``7330082108045083000``). With
        no file, the text is returned, as polars does. With polars' options (``compression=``...)
        it is polars' writer, ids still as strings.
        """
        from .io import _with_text_ids, write_ndjson

        frame = pl.DataFrame(self)
        if isinstance(file, (str, Path)) and not options:
            write_ndjson(frame, file)  # written aside, then renamed into place
            return None
        polars_own: Any = _with_text_ids(frame)  # a stream, no file, or polars' options
        return cast("str | None", polars_own.write_ndjson(file, **options))

    def write_excel(  # type: ignore[override]
        self, workbook: str | Path | None = None, worksheet: str | None = None, **options: object
    ) -> Workbook | None:
        """Write an Excel workbook with ids as text cells (:func:`tiktok_research.io.write_excel`).

        polars' own ``write_excel`` stores ids as numbers, which Excel holds to 15 digits: a
        19-digit id is changed for good (``7320768158545159950`` comes back as
        ``7320768158545160192``). This one writes ids as text, and
        :func:`tiktok_research.io.read_table` reads the file back exactly. With options, or no
        file name (polars' ``dataframe.xlsx``), it is polars' writer, ids still as text. Needs the
        ``[excel]`` extra.
        """
        from .io import _with_text_ids, write_excel

        if isinstance(workbook, (str, Path)) and not options:
            write_excel(pl.DataFrame(self), workbook, sheet=worksheet)
            return None
        require("xlsxwriter", extra="excel", feature="writing .xlsx files")
        frame: Any = _with_text_ids(pl.DataFrame(self))
        return cast("Workbook", frame.write_excel(workbook, worksheet, **options))

    def write_json(self, file: str | Path | IO[bytes] | IO[str] | None = None) -> str | None:  # type: ignore[override]
        """Write one JSON array of row objects with every id as a string.

        polars' own ``write_json`` writes ids as numbers, which jq, JavaScript and R's jsonlite
        read as doubles (``7330082108045082153`` becomes ``7330082108045083000``). This one is
        polars' writer on the table with ids, top-level or nested, as their exact digits
        (:func:`tiktok_research.io.write_ndjson` writes the same as JSON lines).
        """
        from .io import _with_text_ids

        frame: Any = _with_text_ids(pl.DataFrame(self))
        return cast("str | None", frame.write_json(file))

    def write_parquet(  # type: ignore[override]
        self, file: str | Path | IO[bytes], **options: Unpack[ParquetOptions]
    ) -> None:
        """Write Parquet with the table's declared schema, its name and its provenance.

        Without options it writes the same file as :func:`tiktok_research.io.write_parquet`
        (zstd). The options are polars' (``compression=``, ``row_group_size=``,
        ``statistics=``...), mapped onto the package's writer (pyarrow) as
        :class:`tiktok_research.io.ParquetOptions` says, so that every file carries pandas'
        column types too: ``pd.read_parquet`` with its defaults reads each id exactly, whatever
        the options. ``partition_by=`` and cloud storage are refused with a ``TypeError`` that
        says what to use instead. A ``metadata=`` dict of your own is added to ours.
        """
        from .io import _metadata, _write_frame

        report = self.report
        frame = _declared(pl.DataFrame(self), report.table)
        provenance = {
            "endpoint": report.endpoint,
            "collection": str(report.archive) if report.archive else None,
            "complete": report.complete,
            "rows": self.height,
        }
        # the pandas key describes frame's own columns (a compliance or refresh result has no
        # table of schemas.SCHEMAS)
        schema = frame.head(0).to_arrow().schema
        _write_frame(
            frame, file, _metadata(report.table or None, provenance, schema), dict(options)
        )


# ------------------------------------------------------------------------------ window state


def _oldest_time(items: list[dict[str, Any]]) -> int | None:
    """The creation time (unix s) of the oldest item: ``create_time``, or the id (api-notes §8)."""
    times: list[int] = []
    for item in items:
        t = item.get("create_time")
        if isinstance(t, int) and not isinstance(t, bool):
            times.append(t // 1000 if t > 10**11 else t)
            continue
        vid = item.get("id", item.get("video_id"))
        if isinstance(vid, int) and vid > 0:
            times.append(id_time(vid))
    return min(times) if times else None


@dataclass
class _WindowState:
    """Where a video-query task stands: the windows still to ask (newest first) and the position
    in the first of them."""

    windows: list[tuple[date, date]]
    pos: Position | None = None
    oldest: int | None = None  # creation time of the oldest row held in the current search
    day: str | None = None  # the service's day (quota day) the position's search_id is from

    def dump(self, pos: Position | None = None) -> dict[str, Any]:
        where = pos if pos is not None else self.pos
        return {
            "windows": [[format_date(s), format_date(e)] for s, e in self.windows],
            "pos": where.to_state() if where is not None else None,
            "oldest": self.oldest,
            "day": self.day,
        }

    @classmethod
    def load(cls, state: dict[str, Any], default: tuple[date, date]) -> _WindowState:
        windows = [(parse_date(s), parse_date(e)) for s, e in state.get("windows") or []]
        pos = state.get("pos")
        oldest = state.get("oldest")
        day = state.get("day")
        return cls(
            windows if windows or "windows" in state else [default],
            Position.from_state(pos) if isinstance(pos, dict) else None,
            oldest if isinstance(oldest, int) else None,
            day if isinstance(day, str) else None,
        )

    def advance(self, page: Page) -> None:
        t = _oldest_time(page.items) if not page.position.skip_to else None
        if t is not None:
            self.oldest = t if self.oldest is None else min(self.oldest, t)
        if page.next is None:
            self.windows.pop(0)
            self.pos = None
            self.oldest = None
        else:
            self.pos = page.next

    def set_aside(self) -> bool:
        """Move a failing single day with nothing held to the end of the windows, so that the
        days after it in the task are collected (a day that always answers 500 would otherwise
        stop the whole task at that day, run after run); False when it cannot be."""
        s, e = self.windows[0]
        held = self.pos is not None and (self.pos.cursor or 0) > 0
        if s != e or len(self.windows) < 2 or held:
            return False
        self.windows.append(self.windows.pop(0))
        self.pos = None
        self.oldest = None
        return True

    def narrow(self) -> str | None:
        """Make the failing first window lighter; describe how, or None when it cannot be."""
        s, e = self.windows[0]
        held = self.pos is not None and (self.pos.cursor or 0) > 0 and not self.pos.skip_to
        new: list[tuple[date, date]]
        if held and self.oldest is not None:
            day = datetime.fromtimestamp(self.oldest, UTC).date()
            day = min(max(day, s), e)
            if day < e:
                new = [(s, day)]
            elif s < e:
                new = [(e, e), (s, e - timedelta(days=1))]
            else:
                return None
            how = (
                f"the pages held reach back to {day.isoformat()}: asking "
                + ", ".join(f"{a}..{b}" for a, b in new)
                + " (that day again, nothing older held twice)"
            )
        elif s < e:
            new = list(reversed(halve(s, e)))  # newest half first
            how = "splitting it into " + ", ".join(f"{a}..{b}" for a, b in new)
        else:
            return None
        self.windows[0:1] = new
        self.pos = None
        self.oldest = None
        return how


class _Stopped(Exception):
    """The collection was told to stop (quota, budget...) before this request was sent."""


#: Downloads of one compliance task in a row whose text is cut short, before the task is left
#: for the next run.
_DOWNLOAD_TRIES = 3


def _not_uploaded(raw: bytes, uploaded: set[str]) -> str | None:
    """The first id in a compliance download that was not uploaded in its task, or None.

    A download lists the ids still valid, one per line, and arrives whole or not at all for
    HTTP: a body cut short with a Content-Length to match (a proxy, a gateway) ends in the
    middle of an id, which is then not one of the task's ids. Read as the whole list, it made
    every id after the cut "gone": ``refresh`` dropped 341 of 851 videos from a dataset. (A cut
    exactly at a line break cannot be told from a shorter list.)
    """
    for token in raw.decode("ascii", "replace").split():
        if token.isdigit() and token not in uploaded:
            return token[:25]
    return None


def _heavy(err: TikTokResearchError) -> bool:
    """An answer of the data endpoint saying the window is too heavy (500, 504...)."""
    return (
        isinstance(err, ServerError)
        and err.endpoint == "video_query"
        and err.http_status is not None
        and err.http_status >= 500
    )


# an item that fails with these fails for good (not found, private, list not public, no scope)
_ITEM_FAILURES = (UnavailableError, ScopeNotAuthorizedError, InvalidRequestError)
_STOPS = (QuotaExhaustedError, BudgetExhaustedError)


# ----------------------------------------------------------------------------------- progress


class _Progress:
    def __init__(
        self,
        enabled: bool,
        total: int,
        desc: str,
        counter: RequestCounter,
        client: Client,
        family: str,
        done: int = 0,
    ) -> None:
        self._bar: Any = None
        self._counter = counter
        self._client = client
        self._family = family
        self._lock = threading.Lock()
        self.pages = 0
        self.rows = 0
        self._logs = contextlib.ExitStack()
        if enabled:
            from ._progress import bar, logs_above_bars

            self._bar = bar(total=total, initial=done, desc=desc, unit="task", dynamic_ncols=True)
            self._logs.enter_context(logs_above_bars())

    def page(self, rows: int) -> None:
        with self._lock:
            self.pages += 1
            self.rows += rows
            if self._bar is not None:
                post: dict[str, Any] = {
                    "pages": self.pages,
                    "rows": f"{self.rows:,}",
                    "requests": self._counter.total,
                }
                left = self._client.quota_left(self._family)
                if left is not None:
                    post["quota left"] = left
                self._bar.set_postfix(post, refresh=False)

    def task_done(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._logs.close()


# ------------------------------------------------------------------------------------- memory


def bound_memory() -> None:
    """Tune this process's allocators for a long streaming collection (Linux/glibc).

    Freed memory is otherwise kept by the allocators (one glibc arena per worker thread, Arrow's
    jemalloc pool), so the resident size of a collection that streams many windows creeps up
    although no rows are kept. This caps glibc at two arenas and makes Arrow return memory at
    once. Process-wide settings: :func:`~tiktok_research.fetch.collect_videos` applies them
    because it exists to collect more than fits in memory. Measured in
    ``benchmarks/bench_collect.py``.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass
    try:
        import pyarrow as pa

        pa.jemalloc_set_decay_ms(0)
    except (ImportError, NotImplementedError, AttributeError, OSError):
        pass


def release_memory() -> None:
    """Hand freed heap back to the system (glibc ``malloc_trim``); a no-op elsewhere."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _slug(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key)


# ------------------------------------------------------------------------------------- engine


@dataclass
class _Held:
    """Where a running task stands: the state its journal line keeps when it stops early."""

    state: dict[str, Any] | None = None


#: The compliance answers after which a check task is failed for good: the service reports the
#: task ``Failed``, or refuses the uploaded file.
_CHECK_FAILURES = frozenset({"task_failed", "invalid_file_upload"})


class _Engine:
    """One run of one collection (see :func:`run`).

    A task is a date window of a video query (:meth:`run_window`), an item of a fan-out
    (:meth:`run_item`) or a batch compliance task (:meth:`run_check`); everything else (archive,
    journal, resume, lock, retries, budgets, stops, progress, damaged pages, the report) is the
    same for all three.
    """

    def __init__(
        self,
        plan: Plan,
        client: Client,
        col: Collection,
        *,
        resume: bool,
        progress: bool | None,
        max_workers: int,
        retry_failed: bool,
        dataset: Path | None,
        materialize: bool,
        poll: tuple[float, float] = (POLL_FIRST, POLL_MAX),
        retrieved_at: bool = False,
    ) -> None:
        self.plan = plan
        self.check = plan.endpoint in VALIDATION_ENDPOINTS  # a batch compliance check
        self.ep: Endpoint | None = None if self.check else plan.ep
        self.client = client
        self.col = col
        self.view: JournalView = col.journal.load() if resume else JournalView()
        self.resume = resume
        self.max_workers = max_workers
        self.retry_failed = retry_failed
        self.dataset = dataset
        self.streaming = dataset is not None and not materialize
        self.poll = poll
        self.retrieved_at = retrieved_at
        self.counter = RequestCounter()
        self.writer = ArchiveWriter(col.run_file(), run=col.run)
        self.lock = threading.Lock()
        self.convert_lock = threading.Lock()
        self.stop = threading.Event()
        self.failures: list[dict[str, Any]] = []
        self.refused: list[TikTokResearchError] = []
        self.fatal: BaseException | None = None
        self.pages = 0
        self.page_bytes = 0  # the largest page archived in this run (the free-space check)
        self.in_flight = 0  # requests sent and not answered yet (the free-space check)
        self.seen: set[Any] = set()  # video ids held (a video query with max_total)
        self.report = CollectionReport(
            endpoint=plan.endpoint,
            kind=plan.kind,
            table=plan.table,
            tasks_total=len(plan.tasks),
            archive=col.folder,
            warnings=list(plan.notes),
            query=plan.query.to_dict() if plan.query is not None else None,
        )
        self.tasks = {t.key: t for t in plan.tasks}
        self.qparams = {} if self.check else plan.fields_param()
        self.body_fields = (
            {"fields": ",".join(plan.fields)}
            if self.ep is not None and self.ep.fields_in == "body" and plan.fields
            else {}
        )
        self.replay = self._replay_index()
        self.show_progress = progress_enabled(progress)
        self.bar: _Progress

    @property
    def data_ep(self) -> Endpoint:
        """The data endpoint of a window or item task."""
        assert self.ep is not None
        return self.ep

    # -- archive replay

    def _replay_index(self) -> ReplayIndex | None:
        # A compliance check is a snapshot: its answers (a task's status) are never taken from
        # an earlier run's archive.
        if not self.resume or self.check:
            return None
        files = self.col.page_files()
        if not files:
            return None
        known = self.view.pages()
        if self.view.exists and not self.view.skipped and known:
            finished = self.col.finished_runs()
            # only runs that did not finish can hold pages the journal does not know
            files = [f for f in files if run_of(f) not in finished]
        index = ReplayIndex.build(files, known) if files else None
        if index is not None and len(index):
            log.info(
                "%d archived page(s) not in the journal will be answered from disk", len(index)
            )
            return index
        return None

    # -- one request

    def _on_response(self, writer: ArchiveWriter) -> Callable[..., PageRef]:
        def on_response(
            name: str, request: dict[str, Any], status: int, raw: bytes, at: datetime
        ) -> PageRef:
            sent = {k: request.get(k) for k in ("path", "params", "body")}
            return writer.write(
                endpoint=name, request=sent, status=status, body=raw, retrieved_at=at,
                redacted=request.get("redacted"),
            )  # fmt: skip

        return on_response

    def _send(self, writer: ArchiveWriter, budget: Any) -> Callable[[dict[str, Any], str], Reply]:
        on_response = self._on_response(writer)
        ep = self.data_ep

        def send(body: dict[str, Any], mode: str) -> Reply:
            full = {**body, **self.body_fields}
            if self.replay is not None and mode != "fresh":
                hit = self.replay.lookup(ep.path, full)
                if hit is not None:
                    raw, at, ref = hit
                    data, parsed = parse_answer(ep, 200, raw)
                    request = {"method": "POST", "path": ep.path, "params": self.qparams,
                               "body": full}  # fmt: skip
                    return Reply(200, raw, data, parsed, at, request, archived=ref, replayed=True)
            if self.stop.is_set():
                raise _Stopped()
            with self._room(writer):
                return self.client.request(
                    ep,
                    full,
                    params=self.qparams,
                    on_response=on_response,
                    counter=self.counter,
                    stale=mode == "stale",
                    budget=budget,
                )

        return send

    @contextlib.contextmanager
    def _room(self, writer: ArchiveWriter) -> Iterator[None]:
        """Around one request: stop before it when the disk could not keep its answer (the
        largest page seen so far in this run against the free space, counting the answers of
        the requests in flight beside it)."""
        with self.lock:
            self.page_bytes = max(self.page_bytes, writer.largest, self.writer.largest)
            need = self.page_bytes * (1 + self.in_flight)
            self.in_flight += 1
        try:
            check_room(writer.path.parent, need)
            yield
        finally:
            with self.lock:
                self.in_flight -= 1

    def _writer(self, key: str) -> ArchiveWriter:
        """The file a task's answers go to: the run's, or the task's own when streaming."""
        if not self.streaming:
            return self.writer
        slug = _slug(key)
        return ArchiveWriter(self.col.run_file(f"--{slug}"), run=f"{self.col.run}--{slug}")

    # -- journal

    def _journal_ref(
        self,
        task: TaskSpec,
        ref: Any,
        start: dict[str, Any],
        after: dict[str, Any] | None,
        *,
        repair: bool = False,
    ) -> None:
        """Record that the answer archived at ``ref`` is a page of ``task``."""
        if not isinstance(ref, PageRef):
            return
        entry: dict[str, Any] = {
            "task": task.key,
            "event": "page",
            "run": ref.run,
            "page": ref.page,
            "from": start,
            "state": after,
        }
        if repair:
            entry["repair"] = True
        self.col.journal.append(entry)

    def _journal_page(
        self,
        task: TaskSpec,
        page: Page,
        start: dict[str, Any],
        after: dict[str, Any] | None,
        *,
        repair: bool = False,
    ) -> None:
        if not isinstance(page.archived, PageRef):
            return
        self._journal_ref(task, page.archived, start, after, repair=repair)
        if not page.replayed:
            with self.lock:
                self.pages += 1

    # -- tasks

    def enough(self) -> bool:
        """A video query with ``max_total`` holds enough rows."""
        return (
            self.plan.max_total is not None
            and self.plan.newest_first
            and len(self.seen) >= self.plan.max_total
        )

    def _count(self, items: list[dict[str, Any]]) -> int:
        if not self.plan.newest_first or self.plan.max_total is None:
            return len(items)
        new = 0
        with self.lock:
            for item in items:
                key = item.get("id", item.get("video_id"))
                key = key if key is not None else object()
                if key not in self.seen:
                    self.seen.add(key)
                    new += 1
        return new

    def _window_params(self, task: TaskSpec, s: date, e: date) -> dict[str, Any]:
        return window_body(
            task.params["query"], s, e, exclusive=self.plan.end_date_exclusive,
            is_random=bool(task.params.get("is_random")),
        )  # fmt: skip

    def run_window(
        self, task: TaskSpec, rec: TaskRecord, writer: ArchiveWriter, held: _Held
    ) -> bool:
        """Walk a window task; True when every window of it is done (False: enough rows)."""
        assert task.window is not None
        if rec.status == "pending" and rec.state:
            st = _WindowState.load(rec.state, task.window)
        else:
            st = _WindowState([task.window])
        stale = st.pos is not None and bool(st.pos.search_id)
        today = self.client.quota_day().isoformat()
        # a search_id saved on an earlier day of the service has expired: re-open at once
        expired = stale and st.day is not None and st.day < today
        random = bool(task.params.get("is_random"))
        budget = self.client.sequence_budget()
        send = self._send(writer, budget)
        failing: list[tuple[date, date]] = []  # days that keep failing, set aside in this run
        last: TikTokResearchError | None = None
        while st.windows:
            if self.enough():
                return False
            if st.windows[0] in failing:  # only days that keep failing are left
                break
            s, e = st.windows[0]
            try:
                for page in iterate(
                    self.data_ep,
                    self._window_params(task, s, e),
                    send,
                    start=st.pos,
                    max_count=self.plan.page_size if random else None,
                    stale=stale,
                    reopen=budget.take,
                    expired=expired,
                ):
                    stale = expired = False
                    before = st.dump(page.position)
                    st.advance(page)
                    st.day = today
                    self._journal_page(task, page, before, st.dump() if st.windows else None)
                    self.bar.page(self._count(page.items))
                    if self.enough():
                        return not st.windows
                    if self.stop.is_set() and st.windows:
                        raise _Stopped()
            except TikTokResearchError as err:
                where = err.position
                # a random draw is not narrowed: draws of the halves are another sample
                heavy = _heavy(err) and not random
                if heavy and st.windows and (how := _narrowed(st, where, budget)):
                    log.warning(
                        "video_query: window %s..%s keeps failing (%s); %s", s, e, err.message, how
                    )
                    self.col.journal.append(
                        {"task": task.key, "event": "pending", "state": st.dump(),
                         "reason": "window narrowed"}
                    )  # fmt: skip
                    continue
                if _heavy(err) and st.set_aside():
                    failing.append((s, e))
                    last = err
                    log.warning(
                        "video_query: %s keeps failing (%s, log_id %s); the other days of the "
                        "window go on, and that day is asked again by the next run", s,
                        err.message, err.log_id,
                    )  # fmt: skip
                    self.col.journal.append(
                        {"task": task.key, "event": "pending", "state": st.dump(),
                         "reason": "a day keeps failing"}
                    )  # fmt: skip
                    continue
                held.state = st.dump(where)
                raise
            except _Stopped:
                held.state = st.dump()
                raise
        if last is not None:  # the days set aside are the task's state: the next run asks them
            held.state = st.dump()
            raise last
        return True

    def run_item(self, task: TaskSpec, rec: TaskRecord, writer: ArchiveWriter, held: _Held) -> None:
        """Walk the page sequence of one item (at most ``max_total`` rows)."""
        state = rec.state if rec.status == "pending" and rec.state else {}
        start = (
            Position.from_state(state.get("pos")) if isinstance(state.get("pos"), dict) else None
        )
        rows = int(state.get("rows") or 0)
        limit = self.plan.max_total
        if limit is not None and rows >= limit:
            return
        budget = self.client.sequence_budget()
        send = self._send(writer, budget)
        position = start
        try:
            for page in iterate(
                self.data_ep,
                task.params,
                send,
                start=start,
                max_count=self.plan.page_size,
                stale=start is not None and bool(start.search_id),
                reopen=budget.take,
            ):
                before = {"pos": page.position.to_state(), "rows": rows}
                rows += len(page.items)
                position = page.next
                done = page.next is None or (limit is not None and rows >= limit)
                after = None if done or page.next is None else {"pos": page.next.to_state(),
                                                                "rows": rows}  # fmt: skip
                self._journal_page(task, page, before, after)
                self.bar.page(len(page.items))
                if done:
                    return
                if self.stop.is_set():
                    raise _Stopped()
        except (TikTokResearchError, _Stopped) as err:
            where = (err.position if isinstance(err, TikTokResearchError) else None) or position
            held.state = {"pos": where.to_state() if where is not None else None, "rows": rows}
            raise

    # -- batch compliance tasks

    def _call(
        self,
        endpoint: ValidationEndpoint,
        body: dict[str, Any],
        writer: ArchiveWriter,
        budget: Any,
        **kw: Any,
    ) -> Reply:
        """One request of a compliance task (archived like every answer), unless told to stop."""
        if self.stop.is_set():
            raise _Stopped()
        with self._room(writer):
            reply = self.client.request(
                endpoint, body, on_response=self._on_response(writer), counter=self.counter,
                budget=budget, **kw,
            )  # fmt: skip
        with self.lock:
            self.pages += 1
        self.bar.page(0)
        return reply

    def _upload(
        self, task: TaskSpec, writer: ArchiveWriter, budget: Any, held: _Held, *, reuse: bool
    ) -> int:
        """Upload a task's ids; its task id is journalled at once, so it is never uploaded twice.

        With ``reuse``, an upload of the same ids that an earlier run archived but did not
        journal (killed in between) gives its task id instead, at no cost.
        """
        category = task.params["category"]
        content = "".join(f"{i}\n" for i in task.params["ids"]).encode("ascii")
        task_id = self._archived_upload(category, content) if reuse and self.resume else None
        if task_id is None:
            name = f"ids_{task.key.split(':')[-1]}.txt"
            reply = self._call(
                VALIDATION_CREATE, {"category": category}, writer, budget,
                upload={"file_data": (name, content, "text/plain")},
            )  # fmt: skip
            task_id = int(reply.data["task_id"])
        held.state = {"task_id": task_id}
        self.col.journal.append(
            {"task": task.key, "event": "pending", "state": held.state,
             "reason": "uploaded; waiting for the service"}
        )  # fmt: skip
        return task_id

    def _archived_upload(self, category: str, content: bytes) -> int | None:
        """The task id of an ok upload of ``content`` archived by an earlier run that the journal
        does not know (the archive keeps an upload's size and sha256, never the file)."""
        digest = hashlib.sha256(content).hexdigest()
        records = self.view.tasks.values()
        known = {(start or {}).get("task_id") for rec in records for _, start in rec.pages}
        known |= {(rec.state or {}).get("task_id") for rec in records}
        found: int | None = None
        for env in iter_archive(self.col.page_files()):
            meta, request = env.get("meta") or {}, env.get("request") or {}
            if meta.get("endpoint") != VALIDATION_CREATE.name or meta.get("http_status") != 200:
                continue
            body = request.get("body") or {}
            data = (env.get("response") or {}).get("data") or {}
            task_id = data.get("task_id") if isinstance(data, dict) else None
            if (
                isinstance(task_id, int)
                and task_id not in known
                and body.get("category") == category
                and digest in str(body.get("file_data") or "")
            ):
                found = task_id  # the latest such upload
        if found is not None:
            log.info(
                "compliance task %s: uploaded by an earlier run, taken from the archive", found
            )
        return found

    def run_check(
        self,
        task: TaskSpec,
        rec: TaskRecord,
        writer: ArchiveWriter,
        held: _Held,
        *,
        repair: bool = False,
    ) -> None:
        """A batch compliance task: upload its ids (once), wait for ``Completed``, download.

        Status checks wait ``poll[0]`` seconds, doubling up to ``poll[1]`` (each is a request).
        A task an earlier run uploaded continues with its task id; when the service no longer
        knows it (how long it keeps tasks is undocumented; a new sandbox knows none), the ids
        are uploaded again, once, instead of stopping on the same refusal at every run.
        """
        state = rec.state if rec.status == "pending" and rec.state else {}
        task_id = state.get("task_id")
        earlier = isinstance(task_id, int)
        held.state = {"task_id": task_id} if earlier else None
        budget = self.client.sequence_budget()
        if not isinstance(task_id, int):
            task_id = self._upload(task, writer, budget, held, reuse=True)
        # a task whose Completed status an earlier run archived (killed during its download) is
        # downloaded at once: its status is not paid again
        completed = earlier and self.resume and self._archived_completion(task_id)
        while True:
            if not completed:
                task_id = self._wait(task, task_id, earlier, writer, budget, held)
            try:
                reply = self._download(task_id, task, writer, budget)
            except InvalidRequestError as e:
                if not (completed and e.code == "invalid_params"):
                    raise
                completed = False  # the service no longer knows the task: its status says so
                continue
            break
        self._journal_ref(task, reply.archived, {"task_id": task_id}, None, repair=repair)

    def _wait(
        self, task: TaskSpec, task_id: int, earlier: bool, writer: ArchiveWriter, budget: Any,
        held: _Held,
    ) -> int:  # fmt: skip
        """Ask a task's status until it is ``Completed`` (see :meth:`run_check`); the task id
        (a new one when the service no longer knew an earlier run's task: uploaded again)."""
        wait_for = self.poll[0]
        while True:
            try:
                reply = self._call(VALIDATION_STATUS, {"task_id": task_id}, writer, budget)
            except InvalidRequestError as e:
                if not (earlier and e.code == "invalid_params"):
                    raise
                earlier = False
                task_id = self._upload(task, writer, budget, held, reuse=False)
                continue
            status = reply.data.get("task_status")
            if status == "Completed":
                return task_id
            if status == "Failed":
                raise InvalidRequestError(
                    f"the service reports compliance task {task_id} Failed; run again with "
                    "retry_failed=True to upload its ids again",
                    code="task_failed",
                    endpoint=VALIDATION_STATUS.name,
                )
            self.client.sleep(wait_for)
            wait_for = min(wait_for * 2, self.poll[1])

    def _download(self, task_id: int, task: TaskSpec, writer: ArchiveWriter, budget: Any) -> Any:
        """Download the ids still valid of a completed task (again when cut short)."""
        uploaded = {str(i) for i in task.params["ids"]}
        for _ in range(_DOWNLOAD_TRIES):
            reply = self._call(VALIDATION_DOWNLOAD, {"task_id": task_id}, writer, budget)
            stray = _not_uploaded(reply.raw, uploaded)
            if stray is None:
                return reply
            log.warning(
                "compliance task %s: the download was cut short or damaged (%r is not an id "
                "of the task); downloading it again", task_id, stray,
            )  # fmt: skip
        raise ServerError(
            f"the download of compliance task {task_id} was cut short or damaged "
            f"{_DOWNLOAD_TRIES} times (a line that is not an id of the task: {stray!r}); "
            "run again to download it again (it is not uploaded again)",
            code="damaged_download",
            endpoint=VALIDATION_DOWNLOAD.name,
        )

    def _archived_completion(self, task_id: int) -> bool:
        """Whether an earlier run archived the answer ``Completed`` to a status check of
        ``task_id`` (a task is never undone once completed)."""
        for env in iter_archive(self.col.page_files()):
            meta, request = env.get("meta") or {}, env.get("request") or {}
            if meta.get("endpoint") != VALIDATION_STATUS.name or meta.get("http_status") != 200:
                continue
            data = (env.get("response") or {}).get("data") or {}
            if (request.get("body") or {}).get("task_id") == task_id and (
                isinstance(data, dict) and data.get("task_status") == "Completed"
            ):
                log.info("compliance task %s: Completed, as an earlier run was told", task_id)
                return True
        return False

    # -- a task's outcome

    def _walk(self, task: TaskSpec, rec: TaskRecord, writer: ArchiveWriter, held: _Held) -> bool:
        """Run a task of any kind; False when it stopped because enough rows are held."""
        if self.check:
            self.run_check(task, rec, writer, held)
        elif task.window is not None:
            return self.run_window(task, rec, writer, held)
        else:
            self.run_item(task, rec, writer, held)
        return True

    def _fail(self, task: TaskSpec, err: TikTokResearchError, *, final: bool) -> None:
        entry = {
            "code": err.code,
            "message": err.message,
            "log_id": err.log_id,
            "http_status": err.http_status,
        }
        if final:
            self.col.journal.append({"task": task.key, "event": "failed", "error": entry})
        with self.lock:
            self.failures.append({"item": task.item if task.item is not None else task.key,
                                  **entry})  # fmt: skip

    def _pending(self, task: TaskSpec, reason: str, state: Any) -> None:
        with self.lock:
            self.report.pending[task.key] = reason
        if isinstance(state, dict):
            with contextlib.suppress(ArchiveError):
                self.col.journal.append(
                    {"task": task.key, "event": "pending", "state": state, "reason": reason}
                )

    def _retry_later(self, task: TaskSpec, err: TikTokResearchError, state: Any) -> None:
        """The task is left for the next run (an item is also listed, not failed for good)."""
        self._pending(task, f"{type(err).__name__}: {err}", state)
        if task.item is not None:
            self._fail(task, err, final=False)

    def _finished(self) -> None:
        with self.lock:
            self.report.tasks_done += 1
        self.bar.task_done()

    def _stop(self, kind: str, why: str) -> None:
        with self.lock:
            if self.report.stopped_by is None:
                self.report.stopped_by = why
                self.report.stop_kind = kind
        self.stop.set()

    def _refuse(self, task: TaskSpec) -> None:
        """After a scope refusal every other item fails the same way, without a request each."""
        first = self.refused[0]
        self._fail(
            task,
            ScopeNotAuthorizedError(
                f"{first.message} (not sent: the project lacks the scope for {self.plan.endpoint})",
                code=first.code,
                log_id=first.log_id,
                http_status=first.http_status,
                endpoint=self.plan.endpoint,
            ),
            final=True,
        )
        self._finished()

    def run_task(self, task: TaskSpec) -> None:
        rec = self.view.task(task.key)
        if self.stop.is_set():
            self._pending(task, _STOPPED, None)
            return
        if self.refused and task.item is not None:
            self._refuse(task)
            return
        if self.streaming and rec.status == "done":
            self._convert(task)  # every page is archived already: no request needed
            self._finished()
            return
        writer = self._writer(task.key)
        held = _Held()
        finished = False
        try:
            if not self._walk(task, rec, writer, held):
                return  # enough rows (max_total): the rest of this window is not needed
            self.col.journal.append({"task": task.key, "event": "done"})
            finished = True
            if self.streaming:
                writer.close(compress=True)
                self._convert(task)
            self._finished()
        except (TikTokResearchError, _Stopped) as err:
            self._settle(task, err, held.state)
        finally:
            if self.streaming and not finished:
                writer.close(compress=False)

    def _settle(
        self, task: TaskSpec, err: TikTokResearchError | _Stopped, state: dict[str, Any] | None
    ) -> None:
        """What a task that raised ``err`` becomes: stopped, pending, failed, or fatal (raised)."""
        if isinstance(err, _Stopped):
            self._pending(task, _STOPPED, state)
        elif isinstance(err, _STOPS):
            self._stop(*_stop_reason(err))
            self._pending(task, _STOPPED, state)
        elif isinstance(err, AuthenticationError):
            self.stop.set()
            raise err
        elif isinstance(err, ArchiveError):
            self._stop("disk", err.message)
            self.fatal = self.fatal or err
            self._pending(task, _STOPPED, None)
        elif isinstance(err, TransientRequestError):  # the search_id/cursor quirk outlasted retries
            self._retry_later(task, err, state)
        elif isinstance(err, _ITEM_FAILURES):
            if self.check and err.code not in _CHECK_FAILURES:
                self._retry_later(task, err, state)
                return
            if task.item is None and not self.check:  # a window: the query is wrong, stop all
                self.stop.set()
                raise err
            if isinstance(err, ScopeNotAuthorizedError):
                self.refused.append(err)
            self._fail(task, err, final=True)
            self._finished()
        elif isinstance(err, ServerError):  # after every retry: try again in the next run
            self._retry_later(task, err, state)
            # refused, reset or closed without an answer, after every retry: one stop, one
            # exit code (a refusal and a reset say the same to the user)
            if err.code in ("connect", "other"):
                self._stop("unreachable", f"the service cannot be reached ({err.message})")
            elif self.client.sequence_budget().remaining == 0:
                self._stop("server", f"the service keeps failing ({err.message})")
        else:
            self._retry_later(task, err, state)

    # -- damaged pages

    def missing_pages(
        self, readable: set[PageRef], keys: set[str] | None = None, view: JournalView | None = None
    ) -> list[tuple[str, PageRef, dict[str, Any] | None]]:
        """Pages the journal records but no archive file holds readably (one per position);
        ``view`` is the journal when the caller has just read it (read here otherwise)."""
        if view is None:
            view = self.col.journal.load(quiet=True)
        out: dict[str, tuple[str, PageRef, dict[str, Any] | None]] = {}
        for key, rec in view.tasks.items():
            if key not in self.tasks or (keys is not None and key not in keys):
                continue
            held = [start for ref, start in rec.pages if ref in readable]
            if self.check and held:  # a compliance task needs one readable download
                continue
            for ref, start in rec.pages:
                if ref in readable or start in held:  # read, or asked again and read (a repair)
                    continue
                out.setdefault(f"{key}|{json.dumps(start, sort_keys=True)}", (key, ref, start))
        return list(out.values())

    def repair(self, missing: list[tuple[str, PageRef, dict[str, Any] | None]]) -> int:
        """Ask again for pages whose archived copy is lost; return how many were fetched."""
        fixed = 0
        for key, _ref, start in missing:
            if self.stop.is_set():
                break
            writer = self._writer(key)
            try:
                fixed += self._fetch_again(self.tasks[key], start or {}, writer)
            except _STOPS as e:
                self._stop(*_stop_reason(e))
                break
            except (TikTokResearchError, _Stopped) as e:
                log.warning("could not fetch again a damaged page of %s: %s", key, e)
            finally:
                if self.streaming:
                    writer.close(compress=False)
        return fixed

    def _fetch_again(self, task: TaskSpec, start: dict[str, Any], writer: ArchiveWriter) -> int:
        """Ask once more for the page of ``task`` asked from ``start``; 1 when it was fetched."""
        if self.check:  # a download: the task's status (Completed), then the download again
            self.run_check(task, TaskRecord("pending", start), writer, _Held(), repair=True)
            return 1
        budget = self.client.sequence_budget()
        send = self._send(writer, budget)
        if task.window is not None:
            st = _WindowState.load(start, task.window)
            if not st.windows:
                return 0
            params = self._window_params(task, *st.windows[0])
            pos = st.pos
        else:
            params = task.params
            raw = start.get("pos")
            pos = Position.from_state(raw) if isinstance(raw, dict) else None
        target = pos.to_state() if pos is not None else None
        for page in iterate(
            self.data_ep, params, send, start=pos, max_count=self.plan.page_size, stale=True,
            reopen=budget.take,
        ):  # fmt: skip
            if page.position.skip_to:  # the re-opened search's first page
                continue
            if target is None or page.position.cursor == (pos.cursor if pos else None):
                self._journal_page(task, page, start, None, repair=True)
                return 1
            return 0
        return 0

    # -- reading the archive back

    def _read(
        self,
        pattern: str = "pages-*",
        keys: set[str] | None = None,
        shared: dict[str, set[int]] | None = None,
        view: JournalView | None = None,
    ) -> tuple[tables.ArchiveRead, bool]:
        """The collection's rows from its page files, lost pages fetched again once; and whether
        every page the journal records was read (the tasks with unreadable pages are reported).
        ``shared`` names pages of ``keys`` held in files a run wrote for all its tasks (read too,
        those pages only); ``view`` is the journal as the caller has just read it."""

        def read() -> tables.ArchiveRead:
            files = self.col.page_files(pattern)
            for run in shared or {}:
                files += self.col.page_files(f"pages-{run}.jsonl*")
            return tables.read_archive(files, self.plan.endpoint, self.plan.item_key, shared)

        done = read()
        missing = self.missing_pages(done.readable, keys, view)
        if missing and not self.stop.is_set() and self.fatal is None:
            self.report.repaired += self.repair(missing)
            done = read()
            missing = self.missing_pages(done.readable, keys)
        by_task: dict[str, list[tuple[str, PageRef, dict[str, Any] | None]]] = {}
        for m in missing:
            by_task.setdefault(m[0], []).append(m)
        for key, items in by_task.items():
            self._damaged(key, items, done.damage)
        return done, not missing

    def _unknown(self) -> set[str]:
        """Tasks whose answer is not held: not finished, failed, or unreadable."""
        return set(self.report.pending) | {
            f["item"] for f in self.failures if isinstance(f.get("item"), str)
        }

    def _convert(self, task: TaskSpec) -> None:
        """Streaming: write one finished task's rows (from every run) to the dataset."""
        from .io import write_dataset

        assert self.dataset is not None
        slug = _slug(task.key)
        with self.convert_lock:
            # pages of this task that an earlier run without a dataset kept in its one file for
            # all tasks are read from there, not asked again (paid once, read wherever they are)
            # (the journal is read once here for both questions: it grows with the collection)
            view = self.col.journal.load(quiet=True)
            rec = view.tasks.get(task.key)
            shared: dict[str, set[int]] = {}
            for ref, _start in rec.pages if rec is not None else []:
                if "--" not in ref.run:
                    shared.setdefault(ref.run, set()).add(ref.page)
            read, intact = self._read(f"pages-*--{slug}.jsonl*", {task.key}, shared, view)
            if not intact:
                return  # a page of this task cannot be read: not written, reported
            span = _retrieved_span(read.items)
            with self.lock:
                self.report.retrieved = _span([self.report.retrieved, span])
            table = tables.finish(read.items, self.plan)
            del read
            write_dataset(
                table, self.dataset, table=self.plan.table, run_id=f"{self.col.dataset_run}-{slug}",
                query=self.plan.query, provenance=span_provenance(span),
            )  # fmt: skip
            del table
            release_memory()
        self.col.journal.append({"task": task.key, "event": "converted"})

    def _damaged(
        self,
        key: str,
        missing: list[tuple[str, PageRef, dict[str, Any] | None]],
        damage: dict[str, list[str]],
    ) -> None:
        runs = sorted({ref.run.split("--")[0] for _, ref, _ in missing})
        files = [f for f in damage if any(r in f for r in runs)] or [
            str(self.col.folder / f"pages-{r}.jsonl[.gz]") for r in runs
        ]
        with self.lock:
            self.report.pending[key] = (
                f"{len(missing)} page(s) the journal records cannot be read from "
                f"{', '.join(files)} and could not be fetched again"
            )
            for f in files:
                if f not in self.report.damaged:
                    self.report.damaged.append(f)

    # -- the run

    def execute(self) -> pl.DataFrame:
        plan = self.plan
        todo = self._todo()
        self.report.resumed = bool(self.view.tasks)
        if plan.sequential and plan.max_total is not None and self.col.page_files():
            held = tables.from_archive(self.col.page_files(), plan)[0]
            self.seen.update(held.get_column("id").drop_nulls().to_list())
        manifest: dict[str, Any] = {
            "run": self.col.run,
            "kind": plan.kind,
            "endpoint": plan.endpoint,
            "spec": plan.spec,
            "windows": [[format_date(s), format_date(e)] for s, e in
                        (t.window for t in plan.tasks if t.window is not None)],
            "started_at": datetime.now(UTC).isoformat(),
            "status": "running",
            "tasks_total": len(plan.tasks),
            "tasks_to_do": [t.key for t in todo][:1000],
        }  # fmt: skip
        self.col.write_manifest(manifest)
        family = (self.ep or VALIDATION_ENDPOINTS[plan.endpoint]).quota_family
        self._warn_quota(todo, family)
        self.bar = _Progress(
            self.show_progress, len(plan.tasks), plan.kind, self.counter, self.client, family,
            self.report.tasks_done,
        )  # fmt: skip
        try:
            self._run_all(todo)
            table = self._table()
        finally:
            self.bar.close()
            self._close(manifest)
        return table

    def _warn_quota(self, todo: list[TaskSpec], family: str) -> None:
        """Warn (a :class:`QuotaWarning`, and in the report) when the requests this run will
        really send, its tasks not held by the archive, pass the quota left today or the
        client's ``max_requests``; a run the archive holds whole is never warned about."""
        need = self.plan.least_requests(todo)
        if not need:
            return
        try:
            left = self.client.quota_left(family)
        except Exception:  # the ledger is advisory: never fail a run on it
            left = None
        if left is not None and need > left:
            try:  # the service stopped this quota today: nothing will be sent, the stop says why
                if self.client.quota_stopped(family):
                    return
                left = self.client.quota_left(family)  # on the service's day, learned just now
            except Exception:  # the ledger is advisory: never fail a run on it
                pass
        budget = self.client.max_requests
        spent = sum(self.client.requests_spent.values())
        message = None
        if left is not None and need > left:
            message = (
                f"{self.plan.kind}: this run will send at least {need:,} requests but the local "
                f"ledger shows {left:,} left today ({family} quota): it will stop when the quota "
                "runs out; run the same call again after 00:00 UTC to continue"
            )
        elif budget is not None and need > budget - spent:
            message = (
                f"{self.plan.kind}: this run will send at least {need:,} requests but "
                f"max_requests={budget} leaves {max(0, budget - spent):,}: it will stop there; "
                "run the same call again (with a larger budget) to continue"
            )
        if message is not None:
            self.report.warnings.append(message)
            warn_user(message, QuotaWarning)

    def _todo(self) -> list[TaskSpec]:
        """The tasks this run works on (the others are done, or failed for good)."""
        todo: list[TaskSpec] = []
        for task in self.plan.tasks:
            rec = self.view.task(task.key)
            if rec.status in ("done", "converted") and not (
                self.streaming and rec.status == "done"
            ):
                self.report.tasks_done += 1
                continue
            if rec.status == "failed" and not self.retry_failed:
                self.report.tasks_done += 1
                self.failures.append({"item": task.item or task.key, **(rec.error or {})})
                continue
            todo.append(task)
        return todo

    def _close(self, manifest: dict[str, Any]) -> None:
        """Settle the report, close the run's files and write its manifest."""
        report = self.report
        report.requests_spent = self.counter.total
        report.requests_charged = self.counter.charged
        report.uncharged = self.counter.uncharged()
        report.requests_by_endpoint = self.counter.by_endpoint()
        report.pages = self.pages
        report.failed = len(self.failures)
        report.failed_reasons = _reasons(self.failures)
        report.complete = (
            not report.pending
            and (report.tasks_done >= len(self.plan.tasks) or self.enough())
            and not report.damaged
            and self.fatal is None
        )
        self.writer.close(compress=report.complete)
        self.col.journal.close()
        manifest.update(
            {
                "finished_at": datetime.now(UTC).isoformat(),
                "status": "complete" if report.complete else "incomplete",
                "requests_spent": report.requests_spent,
                "requests_charged": report.requests_charged,
                "pages": report.pages,
                "tasks_done": report.tasks_done,
                "pending": report.pending,
                "stopped_by": report.stopped_by,
                "repaired": report.repaired,
                "damaged": report.damaged,
            }
        )
        self.col.write_manifest(manifest)

    def _cost(self) -> str:
        """The report's cost phrase of what the counter holds now."""
        return CollectionReport(
            self.plan.endpoint,
            requests_spent=self.counter.total,
            requests_charged=self.counter.charged,
            uncharged=self.counter.uncharged(),
            requests_by_endpoint=self.counter.by_endpoint(),
        ).cost()

    def cost_line(self) -> str:
        """What this run spent, for a run that stopped with an error."""
        return (
            f"{self.plan.kind}: this run: {self._cost()}; {_n(self.pages, 'page')} archived in "
            f"{self.col.folder}"
        )

    def _run_all(self, todo: list[TaskSpec]) -> None:
        if not todo:
            return
        workers = 1 if self.plan.sequential else max(1, min(self.max_workers, len(todo)))
        try:
            if workers == 1:
                for task in todo:
                    if self.enough():
                        break
                    self.run_task(task)
                return
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=self.plan.kind) as pool:
                futures: list[Future[None]] = [pool.submit(self.run_task, t) for t in todo]
                try:
                    # short waits, so that a Ctrl-C reaches this thread at once
                    while wait(futures, timeout=0.2, return_when=FIRST_EXCEPTION).not_done:
                        if any(f.done() and f.exception() is not None for f in futures):
                            break
                except BaseException:  # Ctrl-C: the tasks in flight stop before their next request
                    self.stop.set()
                    for fut in futures:
                        fut.cancel()
                    raise
                for fut in futures:
                    if fut.done() and not fut.cancelled() and fut.exception() is not None:
                        self.stop.set()
                        for other in futures:
                            other.cancel()
                        raise fut.exception()  # type: ignore[misc]
        except KeyboardInterrupt as e:
            how = "SIGTERM" if isinstance(e, Terminated) else "Ctrl-C"
            self._stop("interrupted", f"interrupted ({how}); everything collected is kept")
            raise

    def _table(self) -> pl.DataFrame:
        if self.streaming:
            assert self.dataset is not None
            self.report.rows = _dataset_rows(self.dataset, self.col.dataset_run)
            return schemas.empty(self.plan.table)
        read, _ = self._read()
        if self.report.repaired:
            self.report.warnings.append(
                f"{_n(self.report.repaired, 'page')} whose archived copy could not be read "
                f"{plural(self.report.repaired, 'was', 'were')} fetched again"
            )
        self.report.retrieved = _retrieved_span(read.items)
        table = tables.finish(
            read.items, self.plan, unknown=self._unknown(), retrieved_at=self.retrieved_at
        )
        self.report.rows = table.height
        if self.dataset is not None:
            from .io import write_dataset

            write_dataset(table, self.dataset, table=self.plan.table, run_id=self.col.dataset_run,
                          query=self.plan.query,
                          provenance=span_provenance(self.report.retrieved))  # fmt: skip
        return table


def _retrieved_span(items: pl.DataFrame) -> tuple[datetime, datetime] | None:
    """When the answers of these rows arrived, first and last (None: no row, or no time)."""
    if "_retrieved_at" not in items.columns:
        return None
    held = items.get_column("_retrieved_at").drop_nulls()
    first, last = (held.min(), held.max()) if held.len() else (None, None)
    if not isinstance(first, datetime) or not isinstance(last, datetime):
        return None
    return first, last


def span_provenance(span: tuple[datetime, datetime] | None) -> dict[str, str]:
    """``retrieved_first``/``retrieved_last`` for a dataset file's provenance (see
    :func:`tiktok_research.io.write_dataset`); empty when the span is not known."""
    if span is None:
        return {}
    return {"retrieved_first": span[0].isoformat(), "retrieved_last": span[1].isoformat()}


def _result(
    plan: Plan,
    table: pl.DataFrame,
    failures: list[dict[str, Any]],
    report: CollectionReport,
    temp: str | None,
) -> FetchResult:
    """The result of a run: a temporary archive removed when complete, a warning when not."""
    if temp is not None and report.complete:
        import shutil

        shutil.rmtree(temp, ignore_errors=True)
        report.archive = None
    if not report.complete:
        warn_user(
            f"{plan.kind}: the collection is incomplete ({len(report.pending)} task(s) left"
            + (f"; {report.stopped_by}" if report.stopped_by else "")
            + "). "
            + report.how_to_continue(),
            IncompleteCollectionWarning,
        )
    return FetchResult.wrap(table, report, failures)


def _stop_reason(e: QuotaExhaustedError | BudgetExhaustedError) -> tuple[str, str]:
    """The kind and the one-line reason of a quota or budget stop."""
    if isinstance(e, QuotaExhaustedError):
        said = (e.service_message or e.message).rstrip(". ")
        when = f"; it resets at {e.reset_at:%Y-%m-%d %H:%M} UTC" if e.reset_at is not None else ""
        if not said.startswith("the service said"):  # the ledger's stop says it already
            said = f"the service said: {said}"
        return "quota", f"the daily quota is used up ({said}){when}"
    return "budget", e.message


def _narrowed(st: _WindowState, where: Position | None, budget: Any) -> str | None:
    if where is not None:
        st.pos = where if where.cursor or where.search_id else st.pos
    if not budget.take():
        return None
    return st.narrow()


def _dataset_rows(root: Path, prefix: str) -> int:
    files = sorted(root.glob(f"**/part-{prefix}-*.parquet"))
    if not files:
        return 0
    return int(pl.scan_parquet(files).select(pl.len()).collect().item())


def requests_to_send(
    plan: Plan, archive: str | Path | None, *, resume: bool = True, retry_failed: bool = False
) -> int:
    """The least number of requests a :func:`run` of ``plan`` into ``archive`` will send: the
    cost of its tasks that the archive's journal does not hold as done (or failed for good,
    unless ``retry_failed``). ``plan.min_requests`` when there is no archive, no journal yet, or
    ``resume`` is False. Read without the collection's lock: it is an estimate to announce
    before a run, not a promise."""
    if archive is None or not resume:
        return plan.min_requests
    journal = collection_dir(archive, plan.kind, plan.spec) / JOURNAL_FILE
    if not journal.exists():
        return plan.min_requests
    view = Journal(journal).load(quiet=True)
    held = {"done", "converted"} | (set() if retry_failed else {"failed"})
    return plan.least_requests([t for t in plan.tasks if view.task(t.key).status not in held])


def run(
    plan: Plan,
    client: Client,
    *,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    retry_failed: bool = False,
    dataset: str | Path | None = None,
    materialize: bool = True,
    poll: tuple[float, float] = (POLL_FIRST, POLL_MAX),
    retrieved_at: bool = False,
) -> FetchResult:
    """Run a plan's tasks and return its table.

    Args:
        plan: What to collect (:func:`tiktok_research.plan_videos`,
            :func:`tiktok_research.plan_items`, :func:`tiktok_research.plan.plan_compliance`...).
        client: The client that sends the requests.
        archive: Archive folder; None keeps the pages in a temporary folder, which is deleted
            when the collection is complete (and kept, and named in the report, when not).
        resume: Continue an earlier run of the same collection found in the archive.
        progress: Show progress bars (None: only on a terminal or in a notebook).
        max_workers: Tasks run at the same time (all share the client's rate limiter).
        retry_failed: Ask again for items that failed for good in an earlier run (a compliance
            task the service reported ``Failed``: upload its ids again).
        dataset: Also write the table as a hive-partitioned Parquet dataset here.
        materialize: With ``dataset``, False writes each task's rows to the dataset as soon as the
            task finishes and keeps nothing in memory (the returned frame is then empty).
        poll: Compliance tasks: the first and the longest wait between status checks, in seconds.
        retrieved_at: Add a ``retrieved_at`` column (when each row's answer arrived).

    Returns:
        A :class:`FetchResult`.

    Raises:
        AuthenticationError: credentials are wrong: nothing can succeed.
        CollectionLockedError: another process is collecting into the same folder.
        ArchiveError: the archive cannot be written (naming the path); nothing held is lost.
    """
    temp: str | None = None
    root: str | Path
    if archive is None:
        temp = tempfile.mkdtemp(prefix="tiktok-research-")
        root = temp
    else:
        root = archive
    dataset_path = Path(dataset) if dataset is not None else None
    with Collection.open(root, kind=plan.kind, endpoint=plan.endpoint, spec=plan.spec) as col:
        engine = _Engine(
            plan,
            client,
            col,
            resume=resume,
            progress=progress,
            max_workers=max_workers,
            retry_failed=retry_failed,
            dataset=dataset_path,
            materialize=materialize,
            poll=poll,
            retrieved_at=retrieved_at,
        )
        try:
            with sigterm_as_interrupt():
                table = engine.execute()
        except BaseException as exc:  # a stop (Ctrl-C, SIGTERM, a full disk...) says its cost
            exc.add_note(engine.cost_line())
            raise
    report = engine.report
    report.temporary = temp is not None
    if engine.fatal is not None:
        engine.fatal.add_note(engine.cost_line())
        raise engine.fatal
    return _result(plan, table, engine.failures, report, temp)
