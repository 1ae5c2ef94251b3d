"""The collection pipeline: concurrent tasks (windows or items), every page archived, resumable.

A *collection* is one call such as ``fetch_videos(query, "20240101", "20240331")``. With
``archive=DIR`` it lives in ``DIR/<kind>-<digest>/``; the digest is derived from what was asked
(endpoint, query, dates, fields, items), so calling the same function again on the same archive
finds it and continues::

    collection.json         what was asked (written once)
    journal.jsonl           one line per finished page: the task and where to resume it (fsync'd)
    pages-<run>.jsonl       every HTTP answer of a run, verbatim, one line each (gzip when complete)
    manifest-<run>.json     what a run did: requests, pages, rows, tasks done / left and why

Order of durability for each page: the answer is appended to ``pages-<run>.jsonl`` and fsync'd
(by :class:`~tiktok_research._archive.ArchiveWriter`, from the client's ``on_response`` hook,
before anything parses it); then the journal line with the position after that page is appended
and fsync'd. On a resume, pages already in the archive are answered from it, never fetched again
(see :class:`_Replay`), and the table is rebuilt from every run's pages, so an interrupted and
resumed collection yields the same table as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import polars as pl

from . import schemas
from ._archive import ArchiveWriter
from ._endpoints import ENDPOINTS, Endpoint
from ._progress import enabled as progress_enabled
from .errors import (
    AuthenticationError,
    BudgetExhaustedError,
    InvalidRequestError,
    QuotaExhaustedError,
    ScopeNotAuthorizedError,
    TikTokResearchError,
    UnavailableError,
    is_transient_message,
)
from .pagination import Page

log = logging.getLogger("tiktok_research")

__all__ = [
    "CollectionReport",
    "FetchResult",
    "IncompleteCollectionWarning",
    "Task",
    "run_collection",
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


class IncompleteCollectionWarning(UserWarning):
    """A collection stopped before it was complete; run the same call again to continue."""


# ------------------------------------------------------------------------------------ results


@dataclass
class CollectionReport:
    """What a collection did and whether it is complete.

    Attributes:
        endpoint: Endpoint name.
        complete: True when every task finished (items that failed for good count as finished).
        tasks_total: Number of tasks (windows or items).
        tasks_done: Tasks finished, in this run or an earlier one.
        pending: ``{task: reason}`` for every task not finished.
        requests_spent: Requests this run sent (retries included).
        pages: Pages this run received.
        rows: Rows in the final table.
        resumed: True when an earlier run of the same collection was found and continued.
        archive: The collection folder (None when no archive was asked for).
        warnings: Messages about the data (e.g. windows the service has not indexed yet).
    """

    endpoint: str
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

    def __str__(self) -> str:
        status = "complete" if self.complete else f"INCOMPLETE ({len(self.pending)} task(s) left)"
        lines = [
            f"{self.endpoint}: {status}; {self.rows:,} rows; {self.tasks_done}/{self.tasks_total} "
            f"tasks; {self.requests_spent:,} requests spent in this run ({self.pages:,} pages)"
            + ("; resumed an earlier run" if self.resumed else "")
        ]
        if self.stopped_by:
            lines.append(f"  stopped by: {self.stopped_by}")
        for task, why in list(self.pending.items())[:10]:
            lines.append(f"  not done: {task}: {why}")
        if len(self.pending) > 10:
            lines.append(f"  ... and {len(self.pending) - 10} more")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        if self.archive is not None:
            lines.append(f"  archive: {self.archive}")
        return "\n".join(lines)


class FetchResult(pl.DataFrame):
    """A polars DataFrame (the collected table) that also carries ``.failures`` and ``.report``.

    It is a real :class:`polars.DataFrame`: ``fetch_videos(...).write_parquet("videos.parquet")``
    works as written. ``.failures`` is a table of the items that could not be collected (item,
    code, message, log_id, http_status); ``.report`` is a :class:`CollectionReport`.
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


# ------------------------------------------------------------------------------------- tasks


@dataclass
class Task:
    """One unit of work: a date window of a video query, or one item of a fan-out.

    Attributes:
        key: Stable identifier within the collection (``"20240101-20240130"``, ``"user:alice"``).
        item: The item as the user gave it (None for windows); named in the failure table.
        pages: ``pages(state, on_response)`` returns the page iterator of this task, starting from
            ``state`` (None for the start).
    """

    key: str
    item: str | None
    pages: Callable[[dict[str, Any] | None, Callable[..., None]], Iterator[Page]]


# ------------------------------------------------------------------------------------ journal


class _Journal:
    """Append-only record of task positions; the last line per task wins."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: Any = None

    def load(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return out
        with open(self.path, "rb") as f:
            for n, line in enumerate(f, 1):
                try:
                    entry = json.loads(line)
                except ValueError:
                    log.warning(
                        "%s line %d is truncated (interrupted write); ignored", self.path, n
                    )
                    continue
                out[entry["task"]] = entry
        return out

    def append(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode()
        with self._lock:
            if self._file is None:
                self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the run
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _atomic_write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=2, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def collection_dir(archive: str | Path, kind: str, spec: dict[str, Any]) -> Path:
    """The folder of a collection inside an archive: ``<archive>/<kind>-<digest of spec>``."""
    canonical = json.dumps(spec, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    return Path(archive) / f"{kind}-{digest}"


def _new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def _page_files(folder: Path) -> list[Path]:
    files = [p for p in folder.glob("pages-*.jsonl*") if p.suffix in (".jsonl", ".gz")]
    return sorted(files)  # run ids sort by start time


# ------------------------------------------------------------------------------------ replay


class _Replay:
    """Answers requests that an earlier run already received, from the archive.

    A crash can land between archiving a page and journalling the position after it; the resumed
    run then asks for that page again. This index (request path + body -> where the archived ok
    answer is) lets the client answer it from disk instead of spending a request. Only the files
    of runs that did not finish are indexed (a finished run left nothing to ask again), and only
    offsets are kept in memory, never the answers.
    """

    def __init__(self, files: Sequence[Path]) -> None:
        self._where: dict[str, tuple[Path, int, int]] = {}
        for path in files:
            if path.name.endswith(".gz"):
                continue
            offset = 0
            with open(path, "rb") as fh:
                for line in fh:
                    size = len(line)
                    if b'"http_status": 200' in line[:400]:
                        try:
                            env = json.loads(line)
                        except ValueError:
                            env = None
                        if env is not None and self._is_ok(env):
                            req = env.get("request") or {}
                            key = self.key(req.get("path"), req.get("body"))
                            self._where[key] = (path, offset, size)
                    offset += size

    @staticmethod
    def _is_ok(env: dict[str, Any]) -> bool:
        resp = env.get("response")
        return isinstance(resp, dict) and (resp.get("error") or {}).get("code", "ok") == "ok"

    @staticmethod
    def key(path: Any, body: Any) -> str:
        return json.dumps([path, body], sort_keys=True, ensure_ascii=False, default=str)

    def __len__(self) -> int:
        return len(self._where)

    def lookup(self, path: str, body: dict[str, Any]) -> tuple[int, bytes] | None:
        where = self._where.get(self.key(path, body))
        if where is None:
            return None
        file, offset, size = where
        with open(file, "rb") as fh:
            fh.seek(offset)
            env = json.loads(fh.read(size))
        log.info("answered %s from the archive (fetched by an interrupted run)", path)
        return 200, json.dumps(env["response"], ensure_ascii=False).encode()


# ----------------------------------------------------------------------------------- progress


class _Progress:
    def __init__(
        self, enabled: bool, total: int, desc: str, client: Any, family: str, done: int = 0
    ) -> None:
        self._bar: Any = None
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
                post = {"pages": self.pages, "rows": f"{self.rows:,}"}
                try:
                    spent = sum(self._client.requests_spent.values())
                    post["requests"] = spent
                    post["quota left"] = self._client.quota.remaining.get(self._family, "?")
                except Exception:
                    pass
                self._bar.set_postfix(post, refresh=False)

    def task_done(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# ------------------------------------------------------------------------------------- engine


# an item that fails with these fails for good (not found, private, list not public, no scope)
_ITEM_FAILURES = (UnavailableError, ScopeNotAuthorizedError, InvalidRequestError)
_STOPS = (QuotaExhaustedError, BudgetExhaustedError)


def _spent(client: Any) -> int:
    try:
        return int(sum(client.requests_spent.values()))
    except Exception:
        return 0


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


def run_collection(
    *,
    client: Any,
    endpoint: str,
    kind: str,
    spec: dict[str, Any],
    tasks: Sequence[Task],
    archive: str | Path | None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 8,
    sort: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    retry_failed: bool = False,
    warnings_: Sequence[str] = (),
    dataset: str | Path | None = None,
    materialize: bool = True,
) -> FetchResult:
    """Run the tasks of a collection and return its table.

    Args:
        client: A :class:`~tiktok_research.Client`.
        endpoint: Endpoint name whose table is built.
        kind: Folder prefix in the archive (``"videos"``, ``"comments"``...).
        spec: What was asked, JSON-serialisable; identifies the collection in the archive.
        tasks: The tasks, in the order the table should follow.
        archive: Archive folder, or None for a temporary one (no resume).
        resume: Continue an earlier run of the same collection found in the archive.
        progress: Show progress bars (None: only on a terminal or in a notebook).
        max_workers: Tasks run at the same time (all share the client's rate limiter).
        sort: Puts the final table in its canonical order.
        retry_failed: Retry items that failed for good in an earlier run.
        warnings_: Messages to carry in the report (e.g. not-yet-indexed windows).
        dataset: Write the table as a hive-partitioned Parquet dataset here.
        materialize: Build the whole table in memory and return it. With ``dataset`` and
            ``materialize=False`` each task's rows are written to the dataset as soon as the task
            finishes (one page file per task), so memory holds one task's rows at most, whatever
            the size of the collection; the returned frame is then empty (read the dataset).

    Returns:
        A :class:`FetchResult`.

    Raises:
        AuthenticationError: Credentials are wrong: nothing can succeed.
    """
    ep: Endpoint = ENDPOINTS[endpoint]
    streaming = dataset is not None and not materialize
    temp: tempfile.TemporaryDirectory[str] | None = None
    if archive is None:
        temp = tempfile.TemporaryDirectory(prefix="tiktok-research-")
        folder = collection_dir(temp.name, kind, spec)
    else:
        folder = collection_dir(archive, kind, spec)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "collection.json").exists():
        _atomic_write_json(folder / "collection.json", {"kind": kind, "endpoint": endpoint, **spec})

    journal = _Journal(folder / "journal.jsonl")
    previous = journal.load() if resume else {}
    earlier_files = _page_files(folder) if resume else []
    report = CollectionReport(
        endpoint=endpoint,
        tasks_total=len(tasks),
        archive=None if temp else folder,
        resumed=bool(previous),
        warnings=list(warnings_),
    )
    replay = _Replay(earlier_files) if earlier_files else None

    run = _new_run_id()
    run_writer = ArchiveWriter(folder / f"pages-{run}.jsonl")
    counters = {"page": 0}
    lock = threading.Lock()
    stop = threading.Event()
    spent_before = _spent(client)

    def archiver(writer: ArchiveWriter) -> Callable[..., None]:
        def on_response(
            ep_name: str, request: dict[str, Any], status: int, raw: bytes, at: datetime
        ) -> None:
            with lock:
                n = counters["page"]
                counters["page"] += 1
            sent = {k: request.get(k) for k in ("path", "params", "body")}
            writer.write(
                run=run,
                page=n,
                endpoint=ep_name,
                request=sent,
                status=status,
                body=raw,
                retrieved_at=at,
            )

        return on_response

    convert_lock = threading.Lock()

    def convert(task: Task) -> None:
        """Streaming: write one finished task's rows (from every run) to the dataset.

        One task is converted at a time, so peak memory is one task's rows whatever the number
        of workers or the size of the collection.
        """
        from .io import write_dataset

        assert dataset is not None
        slug = _slug(task.key)
        files = sorted(folder.glob(f"pages-*--{slug}.jsonl*"))
        with convert_lock:
            table = build_table_from_files(files, ep, sort)
            write_dataset(table, dataset, table=ep.table, run_id=f"{folder.name}-{slug}")
            del table
            release_memory()
        journal.append({"task": task.key, "status": "done", "state": None, "run": run})

    failures: list[dict[str, Any]] = []
    todo: list[Task] = []
    for task in tasks:
        entry = previous.get(task.key)
        status = entry.get("status") if entry else None
        if status == "done" or (status == "failed" and not retry_failed):
            report.tasks_done += 1
            if status == "failed" and entry is not None:
                failures.append({"item": task.item or task.key, **entry.get("error", {})})
            continue
        todo.append(task)

    manifest_path = folder / f"manifest-{run}.json"
    manifest: dict[str, Any] = {
        "run": run,
        "kind": kind,
        "endpoint": endpoint,
        "spec": spec,
        "started_at": datetime.now(UTC).isoformat(),
        "status": "running",
        "tasks_total": len(tasks),
        "tasks_to_do": [t.key for t in todo][:1000],
    }
    _atomic_write_json(manifest_path, manifest)

    bar = _Progress(
        progress_enabled(progress), len(tasks), kind, client, ep.quota_family, report.tasks_done
    )

    def fail(task: Task, e: TikTokResearchError, *, final: bool) -> None:
        err = {
            "code": e.code,
            "message": e.message,
            "log_id": e.log_id,
            "http_status": e.http_status,
        }
        if final:
            journal.append({"task": task.key, "status": "failed", "error": err, "run": run})
        with lock:
            failures.append({"item": task.item, **err})

    def finished_task() -> None:
        with lock:
            report.tasks_done += 1
        bar.task_done()

    def _pending(task: Task, e: TikTokResearchError) -> None:
        """The task could not finish now but may later: keep its position, say why."""
        if e.state is not None:
            journal.append({"task": task.key, "status": "pending", "state": e.state, "run": run})
        report.pending[task.key] = f"{type(e).__name__}: {e}"
        if task.item is not None:
            fail(task, e, final=False)

    # The scope belongs to the project, not to an item: after the first refusal no other item of
    # this endpoint can succeed, so the rest are failed without spending a request on each (only
    # the requests already in flight on other workers at that moment are spent).
    refused: list[TikTokResearchError] = []

    def run_task(task: Task) -> None:
        entry = previous.get(task.key) or {}
        if stop.is_set():
            report.pending[task.key] = report.stopped_by or "stopped"
            return
        if refused and task.item is not None:
            first = refused[0]
            fail(
                task,
                ScopeNotAuthorizedError(
                    f"{first.message} (not sent: the project lacks the scope for {endpoint})",
                    code=first.code,
                    log_id=first.log_id,
                    http_status=first.http_status,
                    endpoint=endpoint,
                ),
                final=True,
            )
            finished_task()
            return
        if streaming and entry.get("status") == "fetched":
            convert(task)  # every page is archived already: no request needed
            finished_task()
            return
        state = entry.get("state") if entry.get("status") == "pending" else None
        writer = (
            ArchiveWriter(folder / f"pages-{run}--{_slug(task.key)}.jsonl")
            if streaming
            else run_writer
        )
        finished = False
        try:
            fetched = False
            for page in task.pages(state, archiver(writer)):
                bar.page(len(page.items))
                fetched = page.state is None
                status = ("fetched" if streaming else "done") if fetched else "pending"
                journal.append(
                    {"task": task.key, "status": status, "state": page.state, "run": run}
                )
                if stop.is_set() and not fetched:
                    report.pending[task.key] = report.stopped_by or "stopped"
                    return
            if not fetched:  # a sequence that yielded nothing at all is finished too
                status = "fetched" if streaming else "done"
                journal.append({"task": task.key, "status": status, "state": None, "run": run})
            finished = True
            if streaming:
                writer.close(compress=True)
                convert(task)
            finished_task()
        except _STOPS as e:
            stop.set()
            report.stopped_by = f"{type(e).__name__}: {e.message}"
            reset = getattr(e, "reset_at", None)
            if reset is not None:
                report.stopped_by += f" (the quota resets at {reset:%Y-%m-%d %H:%M} UTC)"
            if e.state is not None:
                journal.append(
                    {"task": task.key, "status": "pending", "state": e.state, "run": run}
                )
            report.pending[task.key] = report.stopped_by
        except AuthenticationError:
            stop.set()
            raise
        except _ITEM_FAILURES as e:
            if is_transient_message(e.message):  # the search_id/cursor quirk outlasted its retries
                _pending(task, e)
                return
            if task.item is None:  # a window: the query itself is wrong, stop everything
                stop.set()
                raise
            if isinstance(e, ScopeNotAuthorizedError):
                refused.append(e)
            fail(task, e, final=True)
            finished_task()
        except TikTokResearchError as e:  # server errors after every retry: try again next run
            _pending(task, e)
        finally:
            if streaming and not finished:
                writer.close(compress=False)

    if replay is not None and len(replay):
        client.set_replay(replay.lookup)
    try:
        if todo:
            workers = max(1, min(max_workers, len(todo)))
            if workers == 1:
                for task in todo:
                    run_task(task)
            else:
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=kind) as pool:
                    futures: list[Future[None]] = [pool.submit(run_task, t) for t in todo]
                    wait(futures, return_when=FIRST_EXCEPTION)
                    for fut in futures:
                        if fut.done() and fut.exception() is not None:
                            stop.set()
                            for other in futures:
                                other.cancel()
                            raise fut.exception()  # type: ignore[misc]
    finally:
        if replay is not None and len(replay):
            client.set_replay(None)
        bar.close()
        journal.close()
        report.requests_spent = _spent(client) - spent_before
        report.pages = counters["page"]
        report.complete = not report.pending and report.tasks_done >= len(tasks)
        run_writer.close(compress=report.complete)
        manifest.update(
            {
                "finished_at": datetime.now(UTC).isoformat(),
                "status": "complete" if report.complete else "incomplete",
                "requests_spent": report.requests_spent,
                "pages": report.pages,
                "tasks_done": report.tasks_done,
                "pending": report.pending,
                "stopped_by": report.stopped_by,
            }
        )
        _atomic_write_json(manifest_path, manifest)

    if streaming:
        table = schemas.empty(ep.table)
        report.rows = _dataset_rows(Path(dataset), folder.name)  # type: ignore[arg-type]
    else:
        table = build_table_from_files(_page_files(folder), ep, sort)
        report.rows = table.height
        if dataset is not None:
            from .io import write_dataset

            write_dataset(table, dataset, table=ep.table, run_id=folder.name)
    if temp is not None:
        temp.cleanup()
    if not report.complete:
        warnings.warn(
            f"{endpoint}: the collection is incomplete ({len(report.pending)} task(s) left"
            + (f"; {report.stopped_by}" if report.stopped_by else "")
            + "). Run the same call again with the same archive to continue.",
            IncompleteCollectionWarning,
            stacklevel=3,
        )
    fail_df = (
        pl.DataFrame(failures, schema=FAILURE_SCHEMA)
        if failures
        else pl.DataFrame(schema=FAILURE_SCHEMA)
    )
    return FetchResult._wrap(table, fail_df, report)


def _dataset_rows(root: Path, prefix: str) -> int:
    files = sorted(root.glob(f"**/part-{prefix}-*.parquet"))
    if not files:
        return 0
    return int(pl.scan_parquet(files).select(pl.len()).collect().item())


def build_table_from_files(
    files: Sequence[Path], ep: Endpoint, sort: Callable[[pl.DataFrame], pl.DataFrame] | None = None
) -> pl.DataFrame:
    """The table of archived pages (every run's; de-duplicated; declared schema; no network)."""
    from .merge import merge_dumps

    if not files:
        return schemas.empty(ep.table)
    merged = merge_dumps(list(files), endpoint=ep.name)
    table = merged.tables.get(ep.table)
    table = schemas.empty(ep.table) if table is None else schemas.cast(table, ep.table)
    return sort(table) if sort is not None else table


def build_table(
    folder: Path, ep: Endpoint, sort: Callable[[pl.DataFrame], pl.DataFrame] | None = None
) -> pl.DataFrame:
    """Rebuild a collection's table from the archive folder of the collection (no network)."""
    return build_table_from_files(_page_files(folder), ep, sort)
