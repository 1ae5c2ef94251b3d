"""The raw archive: every API response page, verbatim, one JSON line per page (STYLE.md).

Each line is an envelope::

    {"meta": {"run": "...", "page": 3, "endpoint": "video_query",
              "retrieved_at": "2024-01-01T00:00:00.000000Z", "version": "0.1.0",
              "http_status": 200},
     "request": {"path": "/v2/research/video/query/", "params": {...}, "body": {...}},
     "response": <the body, byte for byte>}

The response body is spliced in as received (raw CR/LF bytes, which can only be whitespace in valid
JSON, become spaces), so 19-digit ids are never decoded and re-encoded. A body that is not JSON (an
HTML gateway page) is kept as ``"response_text": "<text>"``. No token or secret is ever written.

Files are ``.jsonl`` while a run is going and may be gzipped (``.jsonl.gz``) once it is complete.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import polars as pl

__all__ = ["ArchiveWriter", "archive_to_tables", "iter_archive"]

logger = logging.getLogger(__name__)

_SECRET_KEYS = frozenset(
    {"access_token", "token", "client_secret", "authorization", "refresh_token", "bearer"}
)
_REDACTED = "<redacted>"


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


class ArchiveWriter:
    """Append API pages to a raw archive file, durably (flush + fsync per page), thread-safe.

    Example:
        >>> import tempfile
        >>> from datetime import datetime, timezone
        >>> path = Path(tempfile.mkdtemp()) / "run.jsonl"
        >>> w = ArchiveWriter(path)
        >>> w.write(run="r1", page=0, endpoint="user_info", request={"body": {"username": "a"}},
        ...         status=200, body=b'{"data": {"video_count": 3}}',
        ...         retrieved_at=datetime(2024, 1, 1, tzinfo=timezone.utc))
        >>> w.close().name
        'run.jsonl'
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None

    def __repr__(self) -> str:
        return f"ArchiveWriter({str(self.path)!r})"

    def write(
        self,
        *,
        run: str,
        page: int,
        endpoint: str,
        request: dict[str, Any],
        status: int,
        body: bytes,
        retrieved_at: datetime,
    ) -> None:
        """Append one page (one line); returns once it is on disk.

        Args:
            run: the run id.
            page: page number within the run.
            endpoint: endpoint name (``_endpoints``), e.g. ``"video_query"``.
            request: ``{"path": ..., "params": ..., "body": ...}`` (or just the body); keys naming a
                token or secret are redacted.
            status: HTTP status code.
            body: the response body as received.
            retrieved_at: when the response arrived (UTC).
        """
        from . import __version__

        if set(request) <= {"path", "params", "body"}:
            req = {
                "path": request.get("path"),
                "params": _scrub(request.get("params") or {}),
                "body": _scrub(request.get("body") or {}),
            }
        else:
            req = {"path": None, "params": {}, "body": _scrub(request)}
        meta = {
            "run": run,
            "page": page,
            "endpoint": endpoint,
            "retrieved_at": _timestamp(retrieved_at),
            "version": __version__,
            "http_status": status,
        }
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
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "ab")  # noqa: SIM115 - kept open across writes
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self, *, compress: bool = False) -> Path:
        """Close the file; with ``compress`` gzip it to ``.jsonl.gz`` (the run is complete).

        Returns:
            The path of the archive file (the ``.gz`` one when compressed).
        """
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            if not compress or not self.path.exists():
                return self.path
            target = self.path.with_name(self.path.name + ".gz")
            with open(self.path, "rb") as src, gzip.open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            with open(target, "rb") as done:
                os.fsync(done.fileno())
            self.path.unlink()
            return target


def _archive_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            files.extend(
                sorted(q for q in p.rglob("*") if q.name.endswith((".jsonl", ".jsonl.gz")))
            )
        else:
            files.append(p)
    return files


def iter_archive(paths: str | Path | Iterable[str | Path]) -> Iterator[dict[str, Any]]:
    """Yield the envelopes of archive files (``.jsonl`` / ``.jsonl.gz``, or folders of them).

    A truncated last line (a crash while writing) is reported and skipped; ids stay exact Python
    ints.

    Example:
        >>> list(iter_archive([]))
        []
    """
    for path in _archive_files(paths):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as fh:
            lines = fh.read().split(b"\n")
        last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError:
                what = "truncated last line" if i == last else "line is not JSON"
                logger.warning("%s:%d: %s; skipped", path, i + 1, what)


def archive_to_tables(paths_or_dir: str | Path | Iterable[str | Path]) -> dict[str, pl.DataFrame]:
    """Rebuild the tables of archive files offline (only ok pages; de-duplicated on primary keys).

    Returns:
        ``{table name: DataFrame}`` for every table with pages in the archive.
    """
    from .merge import merge_dumps

    return merge_dumps(_archive_files(paths_or_dir)).tables
