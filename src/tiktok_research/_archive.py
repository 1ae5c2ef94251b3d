"""The raw archive, all of it: envelopes, the collection folder, journal, manifests, lock, replay.

Every API answer is kept verbatim, one JSON line per answer, in an envelope (STYLE.md)::

    {"meta": {"run": "...", "page": 3, "endpoint": "video_query",
              "retrieved_at": "2024-01-01T00:00:00.000000Z", "version": "0.1.0",
              "http_status": 200},
     "request": {"path": "/v2/research/video/query/", "params": {...}, "body": {...}},
     "response": <the body, byte for byte>}

The response body is spliced in as received (raw CR/LF bytes, which can only be whitespace in valid
JSON, become spaces), so 19-digit ids are never decoded and re-encoded. A body that is not JSON (an
HTML gateway page) is kept as ``"response_text": "<text>"``. No token or secret is ever written: an
answer that echoed them (a gateway's debug page) comes from the transport with each occurrence
replaced by ``<redacted>``, and ``meta.redacted`` lists what was removed (``["access_token"]``).

A *collection* (one ``fetch_*`` call) lives in its own folder ``<archive>/<kind>-<digest>/``::

    collection.json         what was asked (written once)
    journal.jsonl           one line per archived page and per task outcome (fsync'd)
    pages-<run>.jsonl       every HTTP answer of a run, verbatim (gzipped to .jsonl.gz when the
                            run is complete: written to a temporary name, then renamed)
    manifest-<run>.json     what a run did: requests, pages, rows, tasks done / left and why
    output.json             a snapshot round whose table a command owes to its output file
                            (``owe_output``), and whether it was written (``output_written``)
    refresh-input.json      a refresh round's table (its path, ids and fields), recorded before the
                            table is rewritten in place (``tiktok_research.maintain``)
    .lock, collector.json   the lock that lets one process at a time collect into the folder,
                            and who holds it

Durability of a page: its answer is appended to ``pages-<run>.jsonl`` and fsync'd before anything
parses it; then a journal line naming that page (run and page number) and the position after it is
appended and fsync'd. The journal is the record of what the collection holds; the page files are
the data. :func:`read_file_lines` is the one reader of a page file: it keeps every readable line
and says what could not be read; the rows are made from them in ``tables``, and a page the journal
records but no file holds readably (a truncated or damaged file) is fetched again instead of being
silently missing (see ``collect``).
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import json
import logging
import os
import re
import secrets
import socket
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from .errors import ArchiveError, CollectionLockedError

__all__ = [
    "ArchiveWriter",
    "Collection",
    "Journal",
    "JournalView",
    "PageRef",
    "ReplayIndex",
    "check_folder_writable",
    "check_room",
    "collection_dir",
    "completed",
    "held_rounds",
    "is_bookkeeping",
    "iter_archive",
    "output_owed",
    "output_written",
    "owe_output",
    "page_files",
    "probe_writable",
    "read_file_lines",
    "round_spec",
    "run_of",
]

logger = logging.getLogger("tiktok_research")

COLLECTION_FILE = "collection.json"
JOURNAL_FILE = "journal.jsonl"
LOCK_FILE = ".lock"
HOLDER_FILE = "collector.json"
OUTPUT_FILE = "output.json"
#: A refresh round's table, recorded before it is rewritten in place (see the module docstring).
REFRESH_INPUT_FILE = "refresh-input.json"
JOURNAL_VERSION = 2

_SECRET_KEYS = frozenset(
    {"access_token", "token", "client_secret", "authorization", "refresh_token", "bearer"}
)
_REDACTED = "<redacted>"


# ------------------------------------------------------------------------------------ envelope


def _scrub(value: Any) -> Any:
    """Copy of ``value`` without secrets (keys that name a token/secret, ``clt.`` token strings)."""
    if isinstance(value, dict):
        return {
            k: (_REDACTED if str(k).lower() in _SECRET_KEYS else _scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    if isinstance(value, str) and value.startswith(("clt.", "Bearer ", "bearer ")):
        return _REDACTED
    return value


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _response_part(body: bytes) -> bytes:
    """``"response": <body>`` when the body is JSON, ``"response_text": "..."`` otherwise."""
    stripped = body.strip()
    try:
        decoded = json.loads(stripped) if stripped else None
    except ValueError:
        decoded = None
    if (stripped and decoded is not None) or stripped == b"null":
        if isinstance(decoded, dict) and "access_token" in decoded:
            return b'"response":' + json.dumps(_scrub(decoded), ensure_ascii=False).encode()
        return b'"response":' + stripped.replace(b"\r", b" ").replace(b"\n", b" ")
    text = body.decode("utf-8", errors="replace")
    return b'"response_text":' + json.dumps(text, ensure_ascii=False).encode()


def _disk_error(path: Path, exc: OSError) -> ArchiveError:
    reason = exc.strerror or str(exc)
    hint = (
        " Free some space (or pass another archive folder) and run the same call again: "
        "nothing collected so far is lost."
        if exc.errno in (errno.ENOSPC, errno.EDQUOT)
        else " Check that the folder exists and is writable, then run the same call again."
    )
    return ArchiveError(f"could not write to the archive file {path}: {reason}.{hint}", path=path)


def unnamed_errno(exc: OSError) -> int | None:
    """The error number of an OSError that names no file (a full disk reported by a write()
    call, or by polars and pyarrow, which carry no file name; polars gives the number only in its
    text, "No space left on device (os error 28)"), else None (it names a file, or is a
    connection error or a timeout)."""
    if exc.filename is not None or isinstance(exc, (ConnectionError, TimeoutError)):
        return None
    if exc.errno is not None:
        return exc.errno
    found = re.search(r"os error (\d+)", str(exc))
    return int(found.group(1)) if found else None


#: Room asked for before a run has seen its first page (a full page of videos is ~100 KB).
FIRST_PAGE_ROOM = 128 * 1024


def free_bytes(folder: Path) -> int:
    """Bytes the current user may still write in ``folder``'s file system."""
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


def check_room(folder: Path, page_bytes: int) -> None:
    """Stop before a request whose answer the disk could not keep.

    ``page_bytes`` is the room the answers to come need (the largest page this run has archived
    so far, times the requests in flight with this one; 0: no page seen yet); twice that is asked
    for (the pages, their journal lines, the manifest), :data:`FIRST_PAGE_ROOM` before the first
    page. A folder whose free space cannot be read (no ``statvfs``) is not checked.

    Raises:
        ArchiveError: not enough room, naming the folder; nothing was sent.
    """
    need = 2 * page_bytes if page_bytes else FIRST_PAGE_ROOM
    try:
        free = free_bytes(folder)
    except (OSError, AttributeError):  # AttributeError: no os.statvfs (Windows)
        return
    if free < need:
        raise ArchiveError(
            f"the disk of the archive {folder} is full: {free:,} bytes free, and the next page "
            f"needs about {need:,}. Stopped before asking for it (nothing was paid for a page "
            "that could not be kept). Free some space (or pass another archive folder) and run "
            "the same call again: nothing collected so far is lost.",
            path=folder,
        )


def probe_writable(folder: Path) -> None:
    """Whether a run can write in ``folder``, found by trying, before anything is sent: create
    its missing levels, create, write and remove a file in it, then remove the levels created.

    Trying is the only test that sees every cause: permissions (``os.access`` says yes to root),
    an immutable or read-only folder, a file in the way, a folder that cannot be created.

    Raises:
        OSError: what failed (its ``filename`` says where).
    """
    created: list[Path] = []
    level = folder
    while not os.path.lexists(level) and level != level.parent:
        created.append(level)
        level = level.parent
    try:
        for new in reversed(created):
            new.mkdir()
        probe = folder / f".write-check-{os.getpid()}-{secrets.token_hex(4)}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"\n")
        finally:
            os.close(fd)
            probe.unlink()  # also when the write failed (a full disk): leave nothing behind
    finally:
        for new in created:  # deepest first; only what this probe created, and only if empty
            with contextlib.suppress(OSError):
                new.rmdir()


def check_folder_writable(folder: Path) -> None:
    """The run's page files go in ``folder``: an unwritable one (another user's, an immutable
    one) must fail before a request, not after (:func:`probe_writable`).

    Raises:
        ArchiveError: naming the folder.
    """
    try:
        probe_writable(folder)
    except OSError as e:
        raise ArchiveError(
            f"cannot write in the collection folder {folder}: {e.strerror or e}. Make it "
            "writable (or pass another archive folder) and run the same call again; nothing "
            "was sent.",
            path=folder,
        ) from None


@dataclass(frozen=True)
class PageRef:
    """Where an archived answer is: its run and its number within the run."""

    run: str
    page: int


class ArchiveWriter:
    """Append API answers to a raw archive file, durably (flush + fsync each), thread-safe.

    Example:
        >>> import tempfile
        >>> from datetime import datetime, timezone
        >>> path = Path(tempfile.mkdtemp()) / "run.jsonl"
        >>> w = ArchiveWriter(path, run="r1")
        >>> w.write(endpoint="user_info", request={"body": {"username": "a"}}, status=200,
        ...         body=b'{"data": {"video_count": 3}}',
        ...         retrieved_at=datetime(2024, 1, 1, tzinfo=timezone.utc))
        PageRef(run='r1', page=0)
        >>> w.close().name
        'run.jsonl'
    """

    def __init__(self, path: Path, *, run: str | None = None) -> None:
        self.path = Path(path)
        self.run = run or new_run_id()
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._next = 0
        self.largest = 0  # bytes of the largest answer written (the free-space check)

    def __repr__(self) -> str:
        return f"ArchiveWriter({str(self.path)!r})"

    def write(
        self,
        *,
        endpoint: str,
        request: dict[str, Any],
        status: int,
        body: bytes,
        retrieved_at: datetime,
        page: int | None = None,
        run: str | None = None,
        redacted: Sequence[str] | None = None,
    ) -> PageRef:
        """Append one answer (one line); returns where it is, once it is on disk.

        Args:
            endpoint: endpoint name (``_endpoints``), e.g. ``"video_query"``.
            request: ``{"path": ..., "params": ..., "body": ...}`` (or just the body); keys naming a
                token or secret are redacted.
            status: HTTP status code.
            body: the response body as received.
            retrieved_at: when the response arrived (UTC).
            page: the answer's number within the run (default: the next one).
            run: the run id (default: the writer's).
            redacted: what the client removed from the body (``"access_token"``...): kept in
                the envelope's ``meta.redacted``.

        Raises:
            ArchiveError: the file cannot be written (disk full, read-only...), naming the path.
        """
        from . import __version__

        if set(request) <= {"path", "params", "body", "method"}:
            req = {
                "path": request.get("path"),
                "params": _scrub(request.get("params") or {}),
                "body": _scrub(request.get("body") or {}),
            }
        else:
            req = {"path": None, "params": {}, "body": _scrub(request)}
        with self._lock:
            number = self._next if page is None else page
            self._next = max(self._next, number + 1)
            meta = {
                "run": run or self.run,
                "page": number,
                "endpoint": endpoint,
                "retrieved_at": _timestamp(retrieved_at),
                "version": __version__,
                "http_status": status,
            }
            if redacted:
                meta["redacted"] = list(redacted)
            line = b"".join(
                (
                    b'{"meta":',
                    json.dumps(meta, ensure_ascii=False).encode(),
                    b',"request":',
                    json.dumps(req, ensure_ascii=False, default=str).encode(),
                    b",",
                    _response_part(bytes(body)),
                    b"}\n",
                )
            )
            start: int | None = None
            try:
                if self._file is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._file = open(self.path, "ab")  # noqa: SIM115 - kept open across writes
                start = self._file.tell()
                self._file.write(line)
                self._file.flush()
                os.fsync(self._file.fileno())
                self.largest = max(self.largest, len(line))
            except OSError as e:
                if self._file is not None and start is not None:
                    with contextlib.suppress(OSError):  # take back a half-written line
                        self._file.truncate(start)
                raise _disk_error(self.path, e) from None
            return PageRef(run or self.run, number)

    def close(self, *, compress: bool = False) -> Path:
        """Close the file; with ``compress`` gzip it to ``.jsonl.gz`` (the run is complete).

        The gzip is written under a temporary name, fsync'd and renamed, and only then is the
        ``.jsonl`` removed: a reader never sees a half-written ``.gz``. If compressing fails (a full
        disk), the ``.jsonl`` is kept and nothing is lost.

        Returns:
            The path of the archive file (the ``.gz`` one when compressed).
        """
        with self._lock:
            if self._file is not None:
                with contextlib.suppress(OSError):
                    self._file.close()
                self._file = None
            if not compress or not self.path.exists():
                return self.path
            return compress_file(self.path)


def gzipped_twin(path: Path) -> Path:
    """The name a page file takes once its run is complete and it is gzipped (``.jsonl.gz``)."""
    return path.with_name(path.name + ".gz")


def compress_file(path: Path) -> Path:
    """Gzip ``path`` to ``path.gz`` safely (temporary name, fsync, rename); return the kept path.

    The ``.gz`` file appears whole (renamed into place after an fsync) before ``path`` is removed:
    a reader that finds both may read either, and one that finds ``path`` gone reads the twin.
    """
    target = gzipped_twin(path)
    tmp = path.with_name(path.name + ".gz.tmp")
    try:
        with open(path, "rb") as src, open(tmp, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", filename="", mtime=0) as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, target)
        _fsync_dir(path.parent)
        path.unlink()
        return target
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        logger.warning("could not compress %s (%s); it is kept uncompressed", path, e)
        return path


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def new_run_id() -> str:
    """A run id that sorts by start time: ``20240101T000000000000Z-1a2b3c``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


# ---------------------------------------------------------------------------------- reading


def is_bookkeeping(path: Path) -> bool:
    """A file of the collection folder's own (not data): journal, manifests, lock, temp files."""
    name = path.name
    if name.endswith(".tmp") or name == LOCK_FILE:
        return True
    if not (path.parent / COLLECTION_FILE).exists():
        return False
    return name in (
        COLLECTION_FILE,
        JOURNAL_FILE,
        HOLDER_FILE,
        OUTPUT_FILE,
        REFRESH_INPUT_FILE,
    ) or (name.startswith("manifest-") and name.endswith(".json"))


def page_files(folder: Path, pattern: str = "pages-*") -> list[Path]:
    """The page files of a collection folder, oldest run first (``.jsonl`` and ``.jsonl.gz``)."""
    files = [
        p for p in folder.glob(pattern) if p.name.endswith((".jsonl", ".jsonl.gz")) and p.is_file()
    ]
    return sorted(files, key=lambda p: p.name)


def run_of(path: Path) -> str:
    """The run that wrote a page file (``pages-<run>[--<task>].jsonl[.gz]``)."""
    name = path.name[len("pages-") :]
    for suffix in (".jsonl.gz", ".jsonl"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name.split("--")[0]


@dataclass
class FileLines:
    """The readable content of one archive file.

    Attributes:
        path: The file read: the one asked for, or its ``.gz`` twin when the run that wrote it
            compressed it in the meantime.
        data: Its readable lines joined by newlines (None when the file can be read as it is, so
            that a fast reader can open ``path`` directly).
        damage: What could not be read (empty when the file is intact).
    """

    path: Path
    data: bytes | None
    damage: list[str] = field(default_factory=list)


def _gunzip(path: Path) -> tuple[bytes, str | None]:
    """Decompress as much of ``path`` as can be read; the reason it stopped early, if it did.

    The input is fed in small pieces, so damage in the middle of a file loses only what follows
    it, not the whole file.
    """
    out = bytearray()
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as e:
        return b"", f"cannot be read ({e.strerror or e})"
    step = 1 << 14
    dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pos = 0
    try:
        while pos < len(raw):
            out += dec.decompress(raw[pos : pos + step])
            pos += step
            if dec.eof and dec.unused_data:  # concatenated gzip members
                rest = dec.unused_data
                dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
                raw = rest + raw[pos:]
                pos = 0
        out += dec.flush()
        if not dec.eof:
            return bytes(out), "the gzip stream is cut short"
    except zlib.error as e:
        return bytes(out), f"damaged gzip data ({e})"
    return bytes(out), None


def _valid_lines(buf: bytes) -> tuple[list[bytes], list[str]]:
    """The lines of ``buf`` that are whole JSON objects, and what was wrong with the others."""
    good: list[bytes] = []
    bad: list[str] = []
    lines = buf.split(b"\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            bad.append(f"line {i + 1}: " + ("truncated last line" if i == last else "not JSON"))
            continue
        if isinstance(obj, dict):
            good.append(line.strip())
        else:
            bad.append(f"line {i + 1}: not a JSON object")
    return good, bad


def read_file_lines(path: Path, *, check: bool = True) -> FileLines:
    """Read one archive file, keeping every readable line and saying what was not readable.

    The one reader of archive files: a damaged gzip loses only what follows the damage, a line
    cut by a crash or that is not a JSON object is left out and named in ``damage``, and a
    ``.jsonl`` that its run gzipped while it was being listed is read from its ``.gz`` twin.

    Args:
        path: A ``.jsonl`` or ``.jsonl.gz`` file.
        check: Validate every line (slower); when False an uncompressed file is returned as is
            (``data`` None) for a fast reader, which calls again with ``check=True`` if it fails.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "pages.jsonl"
        >>> _ = p.write_bytes(b'{"meta": {}}\\n{"meta": ')  # the last line cut by a crash
        >>> read_file_lines(p).damage
        ['line 2: truncated last line']
    """
    path = _current(path)
    damage: list[str] = []
    if path.name.endswith(".gz"):
        buf, why = _gunzip(path)
        if why:
            damage.append(why)
    else:
        if not check:
            return FileLines(path, None)
        try:
            buf = path.read_bytes()
        except OSError as e:
            return FileLines(path, b"", [f"cannot be read ({e.strerror or e})"])
    if not buf.strip():
        return FileLines(path, b"", damage + (["empty file"] if not damage else []))
    if not check and not damage:
        return FileLines(path, buf)
    good, bad = _valid_lines(buf)
    return FileLines(path, b"\n".join(good), damage + bad)


def _current(path: Path) -> Path:
    """``path``, or its ``.gz`` twin when ``path`` is gone because its run compressed it."""
    if path.name.endswith(".jsonl") and not path.exists():
        twin = gzipped_twin(path)
        if twin.exists():
            return twin
    return path


def iter_archive(paths: str | Path | Iterable[str | Path]) -> Iterator[dict[str, Any]]:
    """Yield the envelopes of archive files (``.jsonl`` / ``.jsonl.gz``, or folders of them).

    Unreadable lines (a truncated last line after a crash, a damaged gzip) are reported and
    skipped; ids stay exact Python ints.

    Example:
        >>> list(iter_archive([]))
        []
    """
    for path in _archive_files(paths):
        lines = read_file_lines(path)
        for why in lines.damage:
            logger.warning("%s: %s; skipped", path, why)
        for line in (lines.data or b"").split(b"\n"):
            if line.strip():
                yield json.loads(line)


def _archive_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            files.extend(
                sorted(
                    q
                    for q in p.rglob("*")
                    if q.name.endswith((".jsonl", ".jsonl.gz")) and not is_bookkeeping(q)
                )
            )
        else:
            files.append(p)
    return files


# ---------------------------------------------------------------------------------- journal


@dataclass
class TaskRecord:
    """What the journal says about one task."""

    status: str | None = None  # None (not started), "pending", "done", "failed", "converted"
    state: dict[str, Any] | None = None  # where to continue (the position after the last page)
    pages: list[tuple[PageRef, dict[str, Any] | None]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    reason: str | None = None


@dataclass
class JournalView:
    """The journal of a collection, read: one :class:`TaskRecord` per task key."""

    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    skipped: int = 0
    exists: bool = False

    def task(self, key: str) -> TaskRecord:
        """The record of ``key`` (an empty one when the journal does not know the task)."""
        return self.tasks.get(key) or TaskRecord()

    def pages(self) -> set[PageRef]:
        """Every page the journal records as archived."""
        return {ref for rec in self.tasks.values() for ref, _ in rec.pages}


class Journal:
    """Append-only record of archived pages and task outcomes; fsync'd line by line.

    Lines (JSON objects, ``"v": 2``)::

        {"v": 2, "task": K, "event": "page", "run": R, "page": N, "from": S0, "state": S1}
        {"v": 2, "task": K, "event": "done"}
        {"v": 2, "task": K, "event": "failed", "error": {...}}
        {"v": 2, "task": K, "event": "pending", "state": S, "reason": "..."}
        {"v": 2, "task": K, "event": "converted"}

    ``from`` is the position the page was asked from (to ask it again if its archived copy is
    lost), ``state`` the position after it (None when the task ended with it). Lines of the first
    journal format (``{"task", "status", "state"}``) are read too. A line that is not JSON (cut by
    a crash) or not a journal line is skipped with a warning.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self.failed: ArchiveError | None = None

    def load(self, *, quiet: bool = False) -> JournalView:
        """Read the journal (missing: an empty view); ``quiet`` logs nothing about odd lines."""
        view = JournalView()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return view
        except OSError as e:
            logger.warning("%s cannot be read (%s); treated as empty", self.path, e)
            return view
        view.exists = True
        for n, line in enumerate(raw.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                entry = None
            if not self._apply(view, entry):
                view.skipped += 1
                if quiet:
                    continue
                logger.warning(
                    "%s line %d is not a journal line (cut by a crash, or written by something "
                    "else); skipped",
                    self.path,
                    n,
                )
        return view

    @staticmethod
    def _apply(view: JournalView, entry: Any) -> bool:
        if not isinstance(entry, dict) or not isinstance(entry.get("task"), str):
            return False
        rec = view.tasks.setdefault(entry["task"], TaskRecord())
        state = entry.get("state")
        state = state if isinstance(state, dict) else None
        event = entry.get("event")
        if event is None and "status" in entry:  # first format
            event = {"fetched": "done"}.get(entry["status"], entry["status"])
        if event == "page":
            run, page = entry.get("run"), entry.get("page")
            if not isinstance(run, str) or not isinstance(page, int):
                return False
            start = entry.get("from")
            rec.pages.append((PageRef(run, page), start if isinstance(start, dict) else None))
            if not entry.get("repair") and rec.status not in ("done", "converted", "failed"):
                rec.status = "pending" if state is not None else "done"
                rec.state = state
            return True
        if event in ("done", "converted"):
            rec.status = str(event)
            rec.state = None
            return True
        if event == "failed":
            error = entry.get("error")
            rec.status = "failed"
            rec.error = error if isinstance(error, dict) else {}
            return True
        if event == "pending":
            if rec.status not in ("done", "converted"):
                rec.status = "pending"
                if state is not None:
                    rec.state = state
                rec.reason = str(entry.get("reason") or "") or None
            return True
        return False

    def append(self, entry: dict[str, Any]) -> None:
        """Append one line and fsync it.

        Raises:
            ArchiveError: the journal cannot be written (the first failure is also kept in
                ``failed``).
        """
        line = (
            json.dumps({"v": JOURNAL_VERSION, **entry}, ensure_ascii=False, default=str) + "\n"
        ).encode()
        with self._lock:
            try:
                if self._file is None:
                    self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the run
                self._file.write(line)
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError as e:
                err = _disk_error(self.path, e)
                if self.failed is None:
                    self.failed = err
                raise err from None

    def check_writable(self) -> None:
        """Open the journal for appending now, so that a read-only folder fails before a request.

        Raises:
            ArchiveError: naming the path.
        """
        with self._lock:
            if self._file is None:
                try:
                    self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the run
                except OSError as e:
                    raise _disk_error(self.path, e) from None

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._file is not None:
                with contextlib.suppress(OSError):
                    self._file.close()
                self._file = None


# ----------------------------------------------------------------------------------- replay


class ReplayIndex:
    """Answers to requests that an earlier run received but did not journal, read from disk.

    A crash can land between archiving a page and journalling it, and a lost journal loses the
    record of everything; the next run then asks for those pages again. This index (request path
    and body -> where the archived ok answer is) lets the collection answer them from disk instead
    of spending a request. Only offsets are kept in memory, never the answers.
    """

    def __init__(self) -> None:
        self._where: dict[str, tuple[Path, int, int, PageRef]] = {}
        self._gz: dict[Path, bytes] = {}

    @staticmethod
    def key(path: Any, body: Any) -> str:
        """The lookup key of a request."""
        return json.dumps([path, body], sort_keys=True, ensure_ascii=False, default=str)

    @classmethod
    def build(cls, files: Sequence[Path], known: set[PageRef]) -> ReplayIndex:
        """Index the ok answers of ``files`` that are not in ``known`` (the journalled pages)."""
        index = cls()
        for path in map(_current, files):
            gz = path.name.endswith(".gz")
            if gz:
                buf, _ = _gunzip(path)
            else:
                try:
                    buf = path.read_bytes()
                except OSError:
                    continue
            offset = 0
            for line in buf.split(b"\n"):
                size = len(line) + 1
                if b'"http_status": 200' in line[:400]:
                    env: Any = None
                    with contextlib.suppress(ValueError):
                        env = json.loads(line)
                    if isinstance(env, dict) and _is_ok(env):
                        meta = env.get("meta") or {}
                        ref = PageRef(str(meta.get("run")), int(meta.get("page") or 0))
                        if ref not in known:
                            req = env.get("request") or {}
                            k = cls.key(req.get("path"), req.get("body"))
                            index._where[k] = (path, offset, size - 1, ref)
                offset += size
            if gz and any(w[0] == path for w in index._where.values()):
                index._gz[path] = buf
        return index

    def __len__(self) -> int:
        return len(self._where)

    def lookup(self, path: str, body: dict[str, Any]) -> tuple[bytes, datetime, PageRef] | None:
        """The archived answer to ``(path, body)``: its body, when it was retrieved, and where."""
        where = self._where.get(self.key(path, body))
        if where is None:
            return None
        file, offset, size, ref = where
        if file in self._gz:
            line = self._gz[file][offset : offset + size]
        else:
            with open(file, "rb") as fh:
                fh.seek(offset)
                line = fh.read(size)
        env = json.loads(line)
        at = datetime.strptime(env["meta"]["retrieved_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
        logger.info("answered %s from the archive (fetched by an earlier run)", path)
        body_bytes = json.dumps(env["response"], ensure_ascii=False).encode()
        return body_bytes, at.replace(tzinfo=UTC), ref


def _is_ok(env: dict[str, Any]) -> bool:
    resp = env.get("response")
    return isinstance(resp, dict) and (resp.get("error") or {}).get("code", "ok") == "ok"


# ------------------------------------------------------------------------- collection folder


def collection_dir(archive: str | Path, kind: str, spec: dict[str, Any]) -> Path:
    """The folder of a collection inside an archive: ``<archive>/<kind>-<digest of spec>``."""
    canonical = json.dumps(spec, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    return Path(archive) / f"{kind}-{digest}"


def write_json(path: Path, value: Any) -> None:
    """Write JSON atomically (temporary file, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(value, f, ensure_ascii=False, indent=2, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _disk_error(path, e) from None


def completed(keys: Sequence[str]) -> Callable[[Path], bool]:
    """A test of a collection folder: a run completed the collection there.

    A run that completes a collection says so in its manifest when it ends; a run killed after
    its last task but before that (its table never returned) leaves the collection to be
    continued, at no cost. A folder without any manifest (written before manifests were kept
    for compliance checks) counts as completed when its journal records every task of ``keys``
    done.
    """

    def done(folder: Path) -> bool:
        manifests = list(folder.glob("manifest-*.json"))
        if manifests:
            return bool(_finished_runs(manifests))
        view = Journal(folder / JOURNAL_FILE).load(quiet=True)
        return all(view.task(key).status == "done" for key in keys)

    return done


def owe_output(folder: Path) -> None:
    """Record that the round in ``folder`` (a snapshot collection, see :func:`round_spec`) is run
    for a command that writes its table to a file: until :func:`output_written`, the round is
    not finished for that command, even once a run completed it (a command killed between the
    end of its check and the end of its write finishes the round from the archive, unpaid)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _disk_error(folder, e) from None
    write_json(folder / OUTPUT_FILE, {"written": False})


def output_written(folder: Path) -> None:
    """Record that the table of the round in ``folder`` reached its output (see
    :func:`owe_output`): the same command asked again is then a new round, as for any finished
    snapshot."""
    write_json(folder / OUTPUT_FILE, {"written": True})


def output_owed(folder: Path) -> bool:
    """Whether a command owes the table of the round in ``folder`` to its output file (see
    :func:`owe_output`). A folder without the record (written by a library call, or before
    outputs were recorded) owes nothing; an unreadable record counts as owed (finishing the
    round from the archive costs nothing; a new round costs its requests)."""
    path = folder / OUTPUT_FILE
    if not path.is_file():
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return not (isinstance(data, dict) and data.get("written") is True)


def round_spec(
    archive: Path,
    kind: str,
    spec: dict[str, Any],
    *,
    resume: bool,
    finished: Callable[[Path], bool],
) -> dict[str, Any]:
    """The spec of the round of a snapshot collection to run (a compliance check, a refresh).

    A snapshot describes the service at one moment, so a finished one is never continued: the
    same collection asked again is a new *round*, a folder of its own (``{**spec, "round": k}``;
    round 0 is the plain spec). The round to run is the first one not ``finished`` (with
    ``resume``) or not begun.
    """
    k = 0
    while True:
        chosen = {**spec, "round": k} if k else spec
        folder = collection_dir(archive, kind, chosen)
        if not folder.is_dir() or (resume and not finished(folder)):
            return chosen
        k += 1


def held_rounds(archive: Path, kind: str, spec: dict[str, Any]) -> list[tuple[int, Path]]:
    """The rounds of a snapshot collection (see :func:`round_spec`) the archive holds, oldest
    first: ``(round, folder)`` (an availability audit reads its history from them)."""
    base = {k: v for k, v in spec.items() if k != "round"}
    out: list[tuple[int, Path]] = []
    while True:
        k = len(out)
        folder = collection_dir(archive, kind, {**base, "round": k} if k else base)
        if not folder.is_dir():
            return out
        out.append((k, folder))


class Collection:
    """The folder of one collection, opened for collecting: locked, journal loaded.

    Use as a context manager; the lock is released on exit. One process (and one call) at a time
    may collect into a folder: a second one gets :class:`CollectionLockedError` at once, before any
    request, naming the folder and the process that holds it. The lock is an OS file lock
    (``filelock``: ``fcntl`` on POSIX, ``msvcrt`` on Windows), released by the OS when the holder
    dies, so a killed run never leaves a stale lock.
    """

    def __init__(self, folder: Path, *, kind: str, endpoint: str, spec: dict[str, Any]) -> None:
        self.folder = folder
        self.kind = kind
        self.endpoint = endpoint
        self.spec = spec
        self.run = new_run_id()
        self.journal = Journal(folder / JOURNAL_FILE)
        self._lock: Any = None

    @classmethod
    def open(
        cls, archive: str | Path, *, kind: str, endpoint: str, spec: dict[str, Any]
    ) -> Collection:
        """Create or find the collection folder in ``archive`` and lock it.

        Raises:
            ArchiveError: the archive is not a folder, or cannot be written.
            CollectionLockedError: another process is collecting into the folder.
        """
        root = Path(archive)
        if root.exists() and not root.is_dir():
            raise ArchiveError(
                f"archive={str(root)!r} is a file; pass a folder (it is created if missing)",
                path=root,
            )
        folder = collection_dir(root, kind, spec)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _disk_error(folder, e) from None
        col = cls(folder, kind=kind, endpoint=endpoint, spec=spec)
        col._acquire()
        try:
            if not (folder / COLLECTION_FILE).exists():
                write_json(folder / COLLECTION_FILE, {"kind": kind, "endpoint": endpoint, **spec})
            col.journal.check_writable()
            check_folder_writable(folder)
        except BaseException:
            col.close()
            raise
        return col

    @property
    def dataset_run(self) -> str:
        """What names this collection's files in a dataset (``part-<dataset_run>-...``): the
        folder's name and a digest of where it is. Two archives of the same query and dates
        (Python's temporary archive, another ``--archive``) are two collections: a dataset write
        of one replaces only its own files, never the rows the other one found and it did not
        (videos deleted at the service in between)."""
        where = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:8]
        return f"{self.folder.name}-{where}"

    def _acquire(self) -> None:
        import filelock

        lock = filelock.FileLock(str(self.folder / LOCK_FILE), timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise CollectionLockedError(self._locked_message(), path=self.folder) from None
        except OSError as e:
            raise _disk_error(self.folder / LOCK_FILE, e) from None
        self._lock = lock
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "run": self.run,
        }
        with contextlib.suppress(ArchiveError):
            write_json(self.folder / HOLDER_FILE, holder)

    def _locked_message(self) -> str:
        who = "another process"
        try:
            info = json.loads((self.folder / HOLDER_FILE).read_text(encoding="utf-8"))
            who = (
                f"another process (pid {info.get('pid')} on {info.get('host')}, "
                f"running since {info.get('started_at')})"
            )
        except (OSError, ValueError, AttributeError):
            pass
        return (
            f"{who} is collecting into {self.folder} right now; two collectors on one collection "
            "would pay twice for every page. Wait for it to finish (or stop it), then run the same "
            "call again: pages it collected will not be asked for again."
        )

    def close(self) -> None:
        """Release the lock (the journal file is closed too)."""
        self.journal.close()
        if self._lock is not None:
            with contextlib.suppress(OSError):
                (self.folder / HOLDER_FILE).unlink()
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- files

    def run_file(self, suffix: str = "") -> Path:
        """The page file of this run (``suffix`` names a per-task file when streaming)."""
        return self.folder / f"pages-{self.run}{suffix}.jsonl"

    def page_files(self, pattern: str = "pages-*") -> list[Path]:
        """Every page file of the collection, oldest run first."""
        return page_files(self.folder, pattern)

    def manifest_path(self) -> Path:
        """This run's manifest."""
        return self.folder / f"manifest-{self.run}.json"

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write this run's manifest; a failure is logged, never raised (it is bookkeeping)."""
        try:
            write_json(self.manifest_path(), manifest)
        except ArchiveError as e:
            logger.warning("%s", e)

    def finished_runs(self) -> set[str]:
        """Runs whose manifest says they completed the collection."""
        return _finished_runs(self.folder.glob("manifest-*.json"))


def _finished_runs(manifests: Iterable[Path]) -> set[str]:
    """The runs whose manifest (among ``manifests``) says they completed the collection."""
    out: set[str] = set()
    for path in manifests:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("status") == "complete":
            out.add(str(data.get("run")))
    return out
