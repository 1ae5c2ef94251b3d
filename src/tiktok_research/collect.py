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
import json
import logging
import tempfile
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import polars as pl

from . import schemas, tables
from ._archive import (
    ArchiveWriter,
    Collection,
    JournalView,
    PageRef,
    ReplayIndex,
    TaskRecord,
    compress_file,
    run_of,
)
from ._checks import format_date, id_time, parse_date
from ._endpoints import Endpoint
from ._progress import enabled as progress_enabled
from ._windows import halve, window_body
from .client import Client, RequestCounter, parse_answer
from .errors import (
    ArchiveError,
    AuthenticationError,
    BudgetExhaustedError,
    IncompleteCollectionWarning,
    InvalidRequestError,
    QuotaExhaustedError,
    ScopeNotAuthorizedError,
    ServerError,
    TikTokResearchError,
    UnavailableError,
    is_transient_message,
)
from .pagination import Page, Position, Reply, iterate
from .plan import Plan, TaskSpec

log = logging.getLogger("tiktok_research")

__all__ = [
    "CollectionReport",
    "FetchResult",
    "IncompleteCollectionWarning",  # defined in errors; kept importable from here
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


# ------------------------------------------------------------------------------------ results


@dataclass
class CollectionReport:
    """What a collection did and whether it is complete.

    Attributes:
        endpoint: Endpoint name.
        kind: The collection (``"videos"``, ``"comments"``...), as in the progress bar.
        complete: True when every task finished (items that failed for good count as finished)
            and every page the collection holds could be read.
        tasks_total: Number of tasks (windows or items).
        tasks_done: Tasks finished, in this run or an earlier one.
        pending: ``{task: reason}`` for every task not finished.
        requests_spent: Requests this run sent (retries included).
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
    """

    endpoint: str
    kind: str = ""
    complete: bool = False
    tasks_total: int = 0
    tasks_done: int = 0
    pending: dict[str, str] = field(default_factory=dict)
    requests_spent: int = 0
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

    def __str__(self) -> str:
        label = self.kind or self.endpoint
        status = "complete" if self.complete else f"INCOMPLETE ({len(self.pending)} task(s) left)"
        lines = [
            f"{label}: {status}; {self.rows:,} rows; {self.tasks_done}/{self.tasks_total} "
            f"tasks; {self.requests_spent:,} requests spent in this run ({self.pages:,} pages)"
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


_STOPPED = "stopped before it finished (see stopped by)"


class FetchResult(pl.DataFrame):
    """A polars DataFrame (the collected table) that also carries ``.failures`` and ``.report``.

    It is a real :class:`polars.DataFrame`: ``fetch_videos(...).write_parquet("videos.parquet")``
    works as written, and writes the table's provenance into the file's metadata. ``.failures``
    is a table of the items that could not be collected (item, code, message, log_id,
    http_status); ``.report`` is a :class:`CollectionReport`.
    """

    @classmethod
    def _wrap(
        cls, df: pl.DataFrame, failures: pl.DataFrame, report: CollectionReport
    ) -> FetchResult:
        out = cast(FetchResult, cls._from_pydf(df._df))
        out.__dict__["_failures"] = failures
        out.__dict__["_report"] = report
        return out

    @property
    def failures(self) -> pl.DataFrame:
        """Items that could not be collected: item, code, message, log_id, http_status."""
        value = self.__dict__.get("_failures")
        return value if isinstance(value, pl.DataFrame) else pl.DataFrame(schema=FAILURE_SCHEMA)

    @property
    def report(self) -> CollectionReport:
        """What the collection did (see :class:`CollectionReport`)."""
        value = self.__dict__.get("_report")
        return value if isinstance(value, CollectionReport) else CollectionReport(endpoint="?")

    @property
    def complete(self) -> bool:
        """True when the collection finished every task."""
        return self.report.complete

    def to_pandas(self, *args: Any, **kwargs: Any) -> Any:
        """A pandas DataFrame with exact ids: nullable Arrow-backed integers, never float.

        polars' own conversion turns an integer column with nulls (``playlist_id``,
        ``music_id``...) into float64, which rounds 19-digit ids; this one does not. Passing any
        argument gives polars' conversion unchanged.
        """
        if args or kwargs:
            return super().to_pandas(*args, **kwargs)
        from .io import to_pandas

        return to_pandas(self)

    def write_parquet(self, file: Any, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Write Parquet with the table's declared schema and its provenance in the metadata.

        The same file as :func:`tiktok_research.io.write_parquet`; any extra argument gives
        polars' writer unchanged.
        """
        if args or kwargs or not isinstance(file, (str, Path)):
            super().write_parquet(file, *args, **kwargs)
            return
        from .io import write_parquet

        report = self.report
        table = next(
            (t for t, s in schemas.SCHEMAS.items() if s == self.schema and report.endpoint != "?"),
            None,
        )
        write_parquet(
            pl.DataFrame(self),
            file,
            table=table,
            provenance={
                "endpoint": report.endpoint,
                "collection": str(report.archive) if report.archive else None,
                "complete": report.complete,
                "rows": self.height,
            },
        )


# ------------------------------------------------------------------------------ window state


def _oldest_time(items: list[dict[str, Any]]) -> int | None:
    """The creation time (unix s) of the oldest item, from ``create_time`` or the id (SPEC §8)."""
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

    def dump(self, pos: Position | None = None) -> dict[str, Any]:
        where = pos if pos is not None else self.pos
        return {
            "windows": [[format_date(s), format_date(e)] for s, e in self.windows],
            "pos": where.to_state() if where is not None else None,
            "oldest": self.oldest,
        }

    @classmethod
    def load(cls, state: dict[str, Any], default: tuple[date, date]) -> _WindowState:
        windows = [(parse_date(s), parse_date(e)) for s, e in state.get("windows") or []]
        pos = state.get("pos")
        oldest = state.get("oldest")
        return cls(
            windows if windows or "windows" in state else [default],
            Position.from_state(pos) if isinstance(pos, dict) else None,
            oldest if isinstance(oldest, int) else None,
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
    """The collection was told to stop (quota, budget...) before this request was sent.

    Attributes:
        task_state: Where the task stood (as on :class:`TikTokResearchError`), or None.
    """

    task_state: dict[str, Any] | None = None


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
        if enabled:
            from ._progress import bar

            self._bar = bar(total=total, initial=done, desc=desc, unit="task", dynamic_ncols=True)

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


class _Engine:
    """One run of one collection (see :func:`run`)."""

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
    ) -> None:
        self.plan = plan
        self.ep: Endpoint = plan.ep
        self.client = client
        self.col = col
        self.view: JournalView = col.journal.load() if resume else JournalView()
        self.resume = resume
        self.max_workers = max_workers
        self.retry_failed = retry_failed
        self.dataset = dataset
        self.streaming = dataset is not None and not materialize
        self.counter = RequestCounter()
        self.writer = ArchiveWriter(col.run_file(), run=col.run)
        self.lock = threading.Lock()
        self.convert_lock = threading.Lock()
        self.stop = threading.Event()
        self.failures: list[dict[str, Any]] = []
        self.refused: list[TikTokResearchError] = []
        self.fatal: BaseException | None = None
        self.pages = 0
        self.seen: set[Any] = set()  # video ids held (a video query with max_total)
        self.report = CollectionReport(
            endpoint=self.ep.name,
            kind=plan.kind,
            tasks_total=len(plan.tasks),
            archive=col.folder,
            warnings=list(plan.notes),
        )
        self.tasks = {t.key: t for t in plan.tasks}
        self.qparams = plan.fields_param()
        self.body_fields = (
            {"fields": ",".join(plan.fields)} if self.ep.fields_in == "body" and plan.fields else {}
        )
        self.replay = self._replay_index()
        self.show_progress = progress_enabled(progress)
        self.bar: _Progress

    # -- archive replay

    def _replay_index(self) -> ReplayIndex | None:
        if not self.resume:
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
                endpoint=name, request=sent, status=status, body=raw, retrieved_at=at
            )

        return on_response

    def _send(self, writer: ArchiveWriter, budget: Any) -> Callable[[dict[str, Any], str], Reply]:
        on_response = self._on_response(writer)
        ep = self.ep

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

    # -- journal

    def _journal_page(
        self,
        task: TaskSpec,
        page: Page,
        start: dict[str, Any],
        after: dict[str, Any] | None,
        *,
        repair: bool = False,
    ) -> None:
        ref = page.archived
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

    def run_window(self, task: TaskSpec, rec: TaskRecord, writer: ArchiveWriter) -> bool:
        """Walk a window task; True when every window of it is done (False: enough rows)."""
        assert task.window is not None
        if rec.status == "pending" and rec.state:
            st = _WindowState.load(rec.state, task.window)
        else:
            st = _WindowState([task.window])
        stale = st.pos is not None and bool(st.pos.search_id)
        budget = self.client.sequence_budget()
        send = self._send(writer, budget)
        while st.windows:
            if self.enough():
                return False
            s, e = st.windows[0]
            try:
                for page in iterate(
                    self.ep,
                    self._window_params(task, s, e),
                    send,
                    start=st.pos,
                    stale=stale,
                    reopen=budget.take,
                ):
                    stale = False
                    before = st.dump(page.position)
                    st.advance(page)
                    self._journal_page(task, page, before, st.dump() if st.windows else None)
                    self.bar.page(self._count(page.items))
                    if self.enough():
                        return not st.windows
                    if self.stop.is_set() and st.windows:
                        raise _Stopped()
            except TikTokResearchError as err:
                where = err.position
                if _heavy(err) and st.windows and (how := _narrowed(st, where, budget)):
                    log.warning(
                        "video query: window %s..%s keeps failing (%s); %s", s, e, err.message, how
                    )
                    self.col.journal.append(
                        {"task": task.key, "event": "pending", "state": st.dump(),
                         "reason": "window narrowed"}
                    )  # fmt: skip
                    continue
                err.task_state = st.dump(where)
                raise
            except _Stopped as stop:
                stop.task_state = st.dump()
                raise
        return True

    def run_item(self, task: TaskSpec, rec: TaskRecord, writer: ArchiveWriter) -> None:
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
                self.ep,
                task.params,
                send,
                start=start,
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
            err.task_state = {"pos": where.to_state() if where is not None else None, "rows": rows}
            raise

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
            self.failures.append({"item": task.item, **entry})

    def _pending(self, task: TaskSpec, reason: str, state: Any) -> None:
        with self.lock:
            self.report.pending[task.key] = reason
        if isinstance(state, dict):
            with contextlib.suppress(ArchiveError):
                self.col.journal.append(
                    {"task": task.key, "event": "pending", "state": state, "reason": reason}
                )

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

    def run_task(self, task: TaskSpec) -> None:
        rec = self.view.task(task.key)
        if self.stop.is_set():
            self._pending(task, _STOPPED, None)
            return
        if self.refused and task.item is not None:
            first = self.refused[0]
            self._fail(
                task,
                ScopeNotAuthorizedError(
                    f"{first.message} (not sent: the project lacks the scope for {self.ep.name})",
                    code=first.code,
                    log_id=first.log_id,
                    http_status=first.http_status,
                    endpoint=self.ep.name,
                ),
                final=True,
            )
            self._finished()
            return
        if self.streaming and rec.status == "done":
            self._convert(task)  # every page is archived already: no request needed
            self._finished()
            return
        writer = (
            ArchiveWriter(
                self.col.run_file(f"--{_slug(task.key)}"), run=f"{self.col.run}--{_slug(task.key)}"
            )
            if self.streaming
            else self.writer
        )
        finished = False
        try:
            if task.window is not None and not self.run_window(task, rec, writer):
                return  # enough rows (max_total): the rest of this window is not needed
            if task.window is None:
                self.run_item(task, rec, writer)
            self.col.journal.append({"task": task.key, "event": "done"})
            finished = True
            if self.streaming:
                writer.close(compress=True)
                self._convert(task)
            self._finished()
        except _Stopped as e:
            self._pending(task, _STOPPED, e.task_state)
        except _STOPS as e:
            self._stop(*_stop_reason(e))
            self._pending(task, _STOPPED, e.task_state)
        except AuthenticationError:
            self.stop.set()
            raise
        except ArchiveError as e:
            self._stop("disk", e.message)
            self.fatal = self.fatal or e
            self._pending(task, _STOPPED, None)
        except _ITEM_FAILURES as e:
            if is_transient_message(e.message):  # the search_id/cursor quirk outlasted retries
                self._pending(task, f"{type(e).__name__}: {e}", e.task_state)
                if task.item is not None:
                    self._fail(task, e, final=False)
                return
            if task.item is None:  # a window: the query itself is wrong, stop everything
                self.stop.set()
                raise
            if isinstance(e, ScopeNotAuthorizedError):
                self.refused.append(e)
            self._fail(task, e, final=True)
            self._finished()
        except ServerError as e:  # after every retry: try again in the next run
            self._pending(task, f"{type(e).__name__}: {e}", e.task_state)
            if task.item is not None:
                self._fail(task, e, final=False)
            if e.code == "connect":
                self._stop("unreachable", f"the service cannot be reached ({e.message})")
            elif self.client.sequence_budget().remaining == 0:
                self._stop("server", f"the service keeps failing ({e.message})")
        except TikTokResearchError as e:
            self._pending(task, f"{type(e).__name__}: {e}", e.task_state)
            if task.item is not None:
                self._fail(task, e, final=False)
        finally:
            if self.streaming and not finished:
                writer.close(compress=False)

    # -- damaged pages

    def missing_pages(
        self, readable: set[PageRef], keys: set[str] | None = None
    ) -> list[tuple[str, PageRef, dict[str, Any] | None]]:
        """Pages the journal records but no archive file holds readably (one per position)."""
        view = self.col.journal.load(quiet=True)
        out: dict[str, tuple[str, PageRef, dict[str, Any] | None]] = {}
        for key, rec in view.tasks.items():
            if key not in self.tasks or (keys is not None and key not in keys):
                continue
            held = [start for ref, start in rec.pages if ref in readable]
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
            task = self.tasks[key]
            budget = self.client.sequence_budget()
            writer = (
                ArchiveWriter(
                    self.col.run_file(f"--{_slug(key)}"), run=f"{self.col.run}--{_slug(key)}"
                )
                if self.streaming
                else self.writer
            )
            send = self._send(writer, budget)
            if task.window is not None:
                assert task.window is not None
                st = _WindowState.load(start or {}, task.window)
                if not st.windows:
                    continue
                params = self._window_params(task, *st.windows[0])
                pos = st.pos
            else:
                params = task.params
                raw = (start or {}).get("pos")
                pos = Position.from_state(raw) if isinstance(raw, dict) else None
            target = pos.to_state() if pos is not None else None
            try:
                for page in iterate(
                    self.ep, params, send, start=pos, stale=True, reopen=budget.take
                ):
                    if page.position.skip_to:  # the re-opened search's first page
                        continue
                    if target is None or page.position.cursor == (pos.cursor if pos else None):
                        self._journal_page(task, page, start or {}, None, repair=True)
                        fixed += 1
                    break
            except _STOPS as e:
                self._stop(*_stop_reason(e))
                break
            except (TikTokResearchError, _Stopped) as e:
                log.warning("could not fetch again a damaged page of %s: %s", key, e)
            finally:
                if self.streaming:
                    writer.close(compress=False)
        return fixed

    # -- streaming into a dataset

    def _convert(self, task: TaskSpec) -> None:
        """Streaming: write one finished task's rows (from every run) to the dataset."""
        from .io import write_dataset

        assert self.dataset is not None
        slug = _slug(task.key)
        with self.convert_lock:
            files = self.col.page_files(f"pages-*--{slug}.jsonl*")
            table, read = tables.from_archive(files, self.plan)
            missing = self.missing_pages(read.readable, {task.key})
            if missing:
                self.report.repaired += self.repair(missing)
                files = self.col.page_files(f"pages-*--{slug}.jsonl*")
                table, read = tables.from_archive(files, self.plan)
                missing = self.missing_pages(read.readable, {task.key})
            if missing:
                self._damaged(task.key, missing, read.damage)
                return
            write_dataset(
                table, self.dataset, table=self.ep.table, run_id=f"{self.col.folder.name}-{slug}"
            )
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
        todo: list[TaskSpec] = []
        for task in plan.tasks:
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
        self.report.resumed = bool(self.view.tasks)
        if plan.sequential and plan.max_total is not None and self.col.page_files():
            held, _ = tables.from_archive(self.col.page_files(), plan)
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
        self.bar = _Progress(
            self.show_progress,
            len(plan.tasks),
            plan.kind,
            self.counter,
            self.client,
            self.ep.quota_family,
            self.report.tasks_done,
        )
        try:
            self._run_all(todo)
            table = self._table()
        finally:
            self.bar.close()
            self.report.requests_spent = self.counter.total
            self.report.pages = self.pages
            self.report.complete = (
                not self.report.pending
                and (self.report.tasks_done >= len(plan.tasks) or self.enough())
                and not self.report.damaged
                and self.fatal is None
            )
            self.writer.close(compress=self.report.complete)
            self.col.journal.close()
            manifest.update(
                {
                    "finished_at": datetime.now(UTC).isoformat(),
                    "status": "complete" if self.report.complete else "incomplete",
                    "requests_spent": self.report.requests_spent,
                    "pages": self.report.pages,
                    "tasks_done": self.report.tasks_done,
                    "pending": self.report.pending,
                    "stopped_by": self.report.stopped_by,
                    "repaired": self.report.repaired,
                    "damaged": self.report.damaged,
                }
            )
            self.col.write_manifest(manifest)
        return table

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
        except KeyboardInterrupt:
            self._stop("interrupted", "interrupted (Ctrl-C); everything collected is kept")
            raise

    def _table(self) -> pl.DataFrame:
        if self.streaming:
            assert self.dataset is not None
            self.report.rows = _dataset_rows(self.dataset, self.col.folder.name)
            return schemas.empty(self.ep.table)
        files = self.col.page_files()
        table, read = tables.from_archive(files, self.plan)
        missing = self.missing_pages(read.readable)
        if missing and not self.stop.is_set() and self.fatal is None:
            fixed = self.repair(missing)
            self.report.repaired += fixed
            table, read = tables.from_archive(self.col.page_files(), self.plan)
            missing = self.missing_pages(read.readable)
        if self.report.repaired:
            self.report.warnings.append(
                f"{self.report.repaired} page(s) whose archived copy could not be read were "
                "fetched again"
            )
        by_task: dict[str, list[tuple[str, PageRef, dict[str, Any] | None]]] = {}
        for m in missing:
            by_task.setdefault(m[0], []).append(m)
        for key, items in by_task.items():
            self._damaged(key, items, read.damage)
        self.report.rows = table.height
        if self.dataset is not None:
            from .io import write_dataset

            write_dataset(table, self.dataset, table=self.ep.table, run_id=self.col.folder.name)
        return table


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
        warnings.warn(
            f"{plan.kind}: the collection is incomplete ({len(report.pending)} task(s) left"
            + (f"; {report.stopped_by}" if report.stopped_by else "")
            + "). "
            + report.how_to_continue(),
            IncompleteCollectionWarning,
            stacklevel=4,
        )
    frame = (
        pl.DataFrame(failures, schema=FAILURE_SCHEMA)
        if failures
        else pl.DataFrame(schema=FAILURE_SCHEMA)
    )
    return FetchResult._wrap(table, frame, report)


def _stop_reason(e: TikTokResearchError) -> tuple[str, str]:
    """The kind and the one-line reason of a quota or budget stop."""
    if isinstance(e, QuotaExhaustedError):
        reset = e.reset_at
        said = e.message.split(". The daily quota")[0].rstrip(". ")
        when = f"; it resets at {reset:%Y-%m-%d %H:%M} UTC" if reset is not None else ""
        return "quota", f"the daily quota is used up (the service said: {said}){when}"
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
) -> FetchResult:
    """Run a plan's tasks and return its table.

    Args:
        plan: What to collect (:func:`tiktok_research.plan_videos`,
            :func:`tiktok_research.plan_items`).
        client: The client that sends the requests.
        archive: Archive folder; None keeps the pages in a temporary folder, which is deleted
            when the collection is complete (and kept, and named in the report, when not).
        resume: Continue an earlier run of the same collection found in the archive.
        progress: Show progress bars (None: only on a terminal or in a notebook).
        max_workers: Tasks run at the same time (all share the client's rate limiter).
        retry_failed: Ask again for items that failed for good in an earlier run.
        dataset: Also write the table as a hive-partitioned Parquet dataset here.
        materialize: With ``dataset``, False writes each task's rows to the dataset as soon as the
            task finishes and keeps nothing in memory (the returned frame is then empty).

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
        )
        table = engine.execute()
    report = engine.report
    report.temporary = temp is not None
    if engine.fatal is not None:
        raise engine.fatal
    return _result(plan, table, engine.failures, report, temp)


# -------------------------------------------------------------------------- batch compliance

#: Seconds between status checks of a compliance task: the first wait, and the longest (each
#: check is a request against the quota, so the waits double).
POLL_FIRST, POLL_MAX = 10.0, 300.0


def run_compliance(
    plan: Plan,
    client: Client,
    *,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    retry_failed: bool = False,
    poll: tuple[float, float] = (POLL_FIRST, POLL_MAX),
) -> FetchResult:
    """Run batch compliance tasks (SPEC §3.11): upload, wait for ``Completed``, download.

    Each task's id is journalled as soon as the service gives it, so a run that stops (a crash,
    the quota) continues with the same task: it is neither uploaded nor paid for again. Status
    checks wait ``poll[0]`` seconds, doubling up to ``poll[1]``. Every answer is archived, the
    downloads included (text files of ids), and the table is read back from the archive.

    Args:
        plan: From :func:`tiktok_research.plan.plan_compliance`.
        client: The client that sends the requests.
        archive: Archive folder (None: a temporary one, kept when the run is incomplete).
        resume: Continue an earlier run of the same check found in the archive.
        progress: Show a progress bar (None: only on a terminal or in a notebook).
        retry_failed: Upload again the ids of tasks the service reported ``Failed``.
        poll: First and longest wait between status checks, in seconds.

    Returns:
        A :class:`FetchResult` with :data:`tiktok_research.schemas.COMPLIANCE` (``id``,
        ``valid``) for every id given, in order; ``valid`` is null for the ids of a task that did
        not finish or that failed.
    """
    from ._endpoints import VALIDATION_CREATE, VALIDATION_DOWNLOAD, VALIDATION_STATUS

    temp = tempfile.mkdtemp(prefix="tiktok-research-") if archive is None else None
    root = temp if temp is not None else archive
    assert root is not None
    counter = RequestCounter()
    report = CollectionReport(
        endpoint=plan.endpoint, kind=plan.kind, tasks_total=len(plan.tasks),
        warnings=list(plan.notes), temporary=temp is not None,
    )  # fmt: skip
    failures: list[dict[str, Any]] = []
    with Collection.open(root, kind=plan.kind, endpoint=plan.endpoint, spec=plan.spec) as col:
        report.archive = col.folder
        view = col.journal.load() if resume else JournalView()
        report.resumed = bool(view.tasks)
        writer = ArchiveWriter(col.run_file(), run=col.run)
        bar = _Progress(progress_enabled(progress), len(plan.tasks), plan.kind, counter, client,
                        "research")  # fmt: skip

        def on_response(
            name: str, req: dict[str, Any], status: int, raw: bytes, at: datetime
        ) -> PageRef:
            sent = {k: req.get(k) for k in ("path", "params", "body")}
            return writer.write(endpoint=name, request=sent, status=status, body=raw,
                                retrieved_at=at)  # fmt: skip

        def send(endpoint: Any, body: dict[str, Any], **kw: Any) -> Reply:
            return client.request(endpoint, body, on_response=on_response, counter=counter, **kw)

        def upload(task: TaskSpec) -> int:
            ids = task.params["ids"]
            content = "".join(f"{i}\n" for i in ids).encode("ascii")
            reply = send(
                VALIDATION_CREATE,
                {"category": task.params["category"]},
                upload={"file_data": (f"ids_{task.key.split(':')[-1]}.txt", content,
                                      "text/plain")},
            )  # fmt: skip
            task_id = int(reply.data["task_id"])
            col.journal.append(
                {"task": task.key, "event": "pending", "state": {"task_id": task_id},
                 "reason": "uploaded; waiting for the service"}
            )  # fmt: skip
            return task_id

        def one(task: TaskSpec, state: dict[str, Any] | None) -> None:
            task_id = (state or {}).get("task_id")
            earlier = isinstance(task_id, int)  # uploaded by an earlier run
            if not isinstance(task_id, int):
                task_id = upload(task)
            wait_for = poll[0]
            while True:
                try:
                    status = send(VALIDATION_STATUS, {"task_id": task_id}).data.get("task_status")
                except InvalidRequestError as e:
                    if not (earlier and e.code == "invalid_params"):
                        raise
                    # The service no longer knows the task an earlier run uploaded (how long it
                    # keeps tasks is undocumented; a new sandbox knows none): without this, every
                    # later run would stop on the same refusal. Upload the ids again, once.
                    earlier = False
                    task_id = upload(task)
                    continue
                if status == "Completed":
                    break
                if status == "Failed":
                    raise InvalidRequestError(
                        f"the service reports compliance task {task_id} Failed; run again with "
                        "retry_failed=True to upload its ids again",
                        code="task_failed",
                        endpoint=VALIDATION_STATUS.name,
                    )
                client.sleep(wait_for)
                wait_for = min(wait_for * 2, poll[1])
            reply = send(VALIDATION_DOWNLOAD, {"task_id": task_id})
            ref = reply.archived
            assert isinstance(ref, PageRef)  # what the engine's own on_response returns
            col.journal.append(
                {"task": task.key, "event": "page", "run": ref.run, "page": ref.page,
                 "from": {"task_id": task_id}, "state": None}
            )  # fmt: skip
            col.journal.append({"task": task.key, "event": "done"})

        try:
            for task in plan.tasks:
                rec = view.task(task.key)
                if rec.status == "done":
                    report.tasks_done += 1
                    continue
                if rec.status == "failed" and not retry_failed:
                    report.tasks_done += 1
                    failures.append({"item": task.key, **(rec.error or {})})
                    continue
                if report.stopped_by:
                    report.pending[task.key] = _STOPPED
                    continue
                state = rec.state if rec.status == "pending" else None
                try:
                    one(task, state)
                    report.tasks_done += 1
                    bar.task_done()
                except _STOPS as e:
                    report.stop_kind, report.stopped_by = _stop_reason(e)
                    report.pending[task.key] = _STOPPED
                except InvalidRequestError as e:
                    if e.code == "task_failed" or e.code == "invalid_file_upload":
                        err = {"code": e.code, "message": e.message, "log_id": e.log_id,
                               "http_status": e.http_status}  # fmt: skip
                        col.journal.append({"task": task.key, "event": "failed", "error": err})
                        failures.append({"item": task.key, **err})
                        report.tasks_done += 1
                    else:
                        report.pending[task.key] = f"{type(e).__name__}: {e}"
                except ServerError as e:
                    report.pending[task.key] = f"{type(e).__name__}: {e}"
                    if e.code == "connect":
                        report.stop_kind = "unreachable"
                        report.stopped_by = f"the service cannot be reached ({e.message})"
        finally:
            bar.close()
            writer.close(compress=False)
        table, readable, damage = tables.compliance_from_archive(col.page_files(), plan)
        held = col.journal.load(quiet=True)
        for task in plan.tasks:
            rec = held.task(task.key)
            if rec.status == "done" and not any(ref in readable for ref, _ in rec.pages):
                report.pending[task.key] = (
                    "the archived download of this task cannot be read ("
                    + ", ".join(damage)
                    + "); run again to download it once more"
                )
                col.journal.append(
                    {"task": task.key, "event": "pending",
                     "state": {"task_id": next((s or {}).get("task_id") for _, s in rec.pages)},
                     "reason": "download unreadable"}
                )  # fmt: skip
                report.damaged.extend(f for f in damage if f not in report.damaged)
        open_ = {f["item"] for f in failures} | set(report.pending)
        if open_:  # ids whose task has no download are not known to be valid or gone
            unknown = {i for t in plan.tasks if t.key in open_ for i in t.params["ids"]}
            table = table.with_columns(
                pl.when(pl.col("id").is_in(list(unknown))).then(None).otherwise(pl.col("valid"))
                .alias("valid")
            )  # fmt: skip
        report.requests_spent = counter.total
        report.pages = counter.total
        report.rows = table.height
        report.complete = not report.pending
        if report.complete:
            for path in col.page_files():
                if path.name.endswith(".jsonl") and path.stat().st_size:
                    compress_file(path)
    return _result(plan, table, failures, report, temp)
