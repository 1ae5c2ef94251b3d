"""The daily-quota ledger: how many requests a client key has sent today, per endpoint.

One JSON file per service and client key under ``$TIKTOK_RESEARCH_CACHE_DIR/quota/``
(default: the platform's user cache folder from ``platformdirs``: ``~/.cache/tiktok-research`` on
Linux, honouring ``$XDG_CACHE_HOME``; ``~/Library/Caches/tiktok-research`` on macOS;
``%LOCALAPPDATA%`` on Windows). The file name is a hash of the service's address and the key,
never the key itself: two sandboxes, or the real service and a sandbox, never share counts.
Content, by UTC day of the service's clock: ``{"YYYY-MM-DD": {"video_query": 12, ...}}``; days
older than a week are dropped. Beside the days, ``"_meta"`` (when there is something to say) holds
``service`` (its address), ``stopped`` (``{family: day}``: the service said the daily quota of that
family is used up on that day) and ``offset`` (seconds the service's clock is ahead of this
machine's, from its last answer). Updates are read-modify-write under a thread lock and an
exclusive OS file lock (``filelock``: ``fcntl`` on POSIX, ``msvcrt`` on Windows) on a sibling
``.lock`` file, and replace the file atomically, so threads, processes and kernel restarts all see
the same counts.

The ledger counts the requests the service charges (``_endpoints.charged``, api-notes §11: answers
and 5xx errors, retries included, and requests that got no answer, on the safe side; not the 4xx
refusals), the same count as a run's report ("N requests sent, M charged") and the sandbox's.
The quota is shared by an organisation; the ledger only sees this machine's requests, so the
service is believed when it answers: a quota refusal sets the family's "left" to 0 for the rest of
that service day (:meth:`Ledger.stop`; a rerun that day sends nothing), and an answer that is not a
refusal while the counts say 0 left proves the quota is there (``record(..., answered=True)``: the
day's count of the family restarts from that answer).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import filelock
import platformdirs

from ._endpoints import DAILY_QUOTA, quota_family

__all__ = ["Ledger", "by_family", "cache_dir", "ledgers"]

KEEP_DAYS = 7
META = "_meta"
OFFSET_SLACK = 30.0  # seconds: a clock difference smaller than this is not worth a write
LOCK_TIMEOUT = 60.0  # seconds to wait for another process's update (they take milliseconds)
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def cache_dir() -> Path:
    """The package's cache folder (``$TIKTOK_RESEARCH_CACHE_DIR`` or the user cache dir)."""
    env = os.environ.get("TIKTOK_RESEARCH_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("tiktok-research", appauthor=False))


def _key_hash(client_key: str, service: str | None = None) -> str:
    text = "tiktok-research:" + client_key
    if service is not None:
        text += "\n" + service.rstrip("/")
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def by_family(by_endpoint: Mapping[str, int]) -> dict[str, int]:
    """Request counts by endpoint name -> by quota family (every family present, 0 if unused)."""
    out: dict[str, int] = dict.fromkeys(DAILY_QUOTA, 0)
    for endpoint, n in by_endpoint.items():
        family = quota_family(endpoint)
        out[family] = out.get(family, 0) + n
    return out


class Ledger:
    """Persistent daily request counts for one service and client key.

    Args:
        client_key: The client key (only its hash is written anywhere).
        directory: Folder of the ledger files (default: ``cache_dir() / "quota"``).
        service: The service's address (its base URL): each service has a ledger of its own.
    """

    def __init__(
        self, client_key: str, directory: Path | str | None = None, *, service: str | None = None
    ) -> None:
        self._dir = Path(directory) if directory is not None else cache_dir() / "quota"
        self.service = service.rstrip("/") if service is not None else None
        self.key_hash = _key_hash(client_key, self.service)
        self.path = self._dir / f"{self.key_hash}.json"
        with _THREAD_LOCKS_GUARD:
            self._tlock = _THREAD_LOCKS.setdefault(str(self.path), threading.Lock())

    @classmethod
    def from_path(cls, path: Path | str) -> Ledger:
        """The ledger of an existing file (no key needed: :func:`ledgers` lists them)."""
        path = Path(path)
        self = cls.__new__(cls)
        self._dir = path.parent
        self.key_hash = path.stem
        self.path = path
        self.service = None
        meta = self._meta()
        if isinstance(meta.get("service"), str):
            self.service = meta["service"]
        with _THREAD_LOCKS_GUARD:
            self._tlock = _THREAD_LOCKS.setdefault(str(self.path), threading.Lock())
        return self

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._dir.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.path.with_suffix(".lock")), timeout=LOCK_TIMEOUT)
        with self._tlock, lock:
            yield

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, OSError):
            return {}
        return data if isinstance(data, dict) else {}

    def _read(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for day, counts in self._load().items():
            if isinstance(counts, dict) and not str(day).startswith("_"):
                out[str(day)] = {str(k): int(v) for k, v in counts.items() if isinstance(v, int)}
        return out

    def _meta(self) -> dict[str, Any]:
        meta = self._load().get(META)
        return dict(meta) if isinstance(meta, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=".ledger-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _update(self, day: date, change: Callable[[dict[str, Any], dict[str, Any]], None]) -> None:
        """Read, apply ``change(days, meta)`` and write back, under the locks."""
        oldest = (day - timedelta(days=KEEP_DAYS)).isoformat()
        with self._locked():
            data: dict[str, Any] = {d: c for d, c in self._read().items() if d >= oldest}
            meta = self._meta()
            change(data, meta)
            stopped = {f: d for f, d in dict(meta.get("stopped") or {}).items() if d >= oldest}
            meta["stopped"] = stopped
            meta = {k: v for k, v in meta.items() if v not in (None, {}, 0.0)}
            if self.service is not None:
                meta["service"] = self.service
            if meta:
                data[META] = meta
            self._write(data)

    def record(self, endpoint: str, day: date, n: int = 1, *, answered: bool = False) -> None:
        """Add ``n`` requests to ``endpoint`` on UTC ``day``.

        ``answered``: the service answered without a quota refusal. If the ledger's counts said
        the family had nothing left that day, the service has proved otherwise (it reset, or the
        counts came from elsewhere): the family's count of the day restarts at these ``n``
        requests. A stop the service announced that day stays (an answer sent before the stop
        may arrive after it); the next service day starts without it.
        """
        family = quota_family(endpoint)
        limit = {str(k): v for k, v in DAILY_QUOTA.items()}.get(family)

        def change(data: dict[str, Any], meta: dict[str, Any]) -> None:
            key = day.isoformat()
            counts = data.setdefault(key, {})
            stopped = meta.setdefault("stopped", {})
            # A stop of the same day stays: an answer sent before the stop may arrive after it.
            if answered and stopped.get(family) != key:
                held = sum(c for e, c in counts.items() if quota_family(e) == family)
                if limit is not None and held >= limit:
                    counts = {e: c for e, c in counts.items() if quota_family(e) != family}
                    data[key] = counts
            if n:  # n=0: an answer the service does not charge, which only proves the quota
                counts[endpoint] = counts.get(endpoint, 0) + n

        self._update(day, change)

    def stop(self, family: str, day: date) -> None:
        """The service said the daily quota of ``family`` is used up on its UTC ``day``."""

        def change(data: dict[str, Any], meta: dict[str, Any]) -> None:
            meta.setdefault("stopped", {})[family] = day.isoformat()

        self._update(day, change)

    def stopped(self, family: str, day: date) -> bool:
        """True when the service said the quota of ``family`` is used up on ``day``."""
        with self._locked():
            return bool(self._meta().get("stopped", {}).get(family) == day.isoformat())

    def set_offset(self, seconds: float) -> None:
        """Remember how far the service's clock is ahead of this machine's (seconds)."""

        def change(data: dict[str, Any], meta: dict[str, Any]) -> None:
            meta["offset"] = round(seconds, 1)

        with self._locked():
            if abs(float(self._meta().get("offset") or 0.0) - seconds) < OFFSET_SLACK:
                return
        self._update(datetime.now(UTC).date() + timedelta(seconds=seconds), change)

    def offset(self) -> float:
        """Seconds the service's clock was ahead of this machine's at its last answer."""
        with self._locked():
            value = self._meta().get("offset")
        return float(value) if isinstance(value, (int, float)) else 0.0

    def by_endpoint(self, day: date) -> dict[str, int]:
        """Requests per endpoint on UTC ``day``."""
        with self._locked():
            return dict(self._read().get(day.isoformat(), {}))

    def used(self, day: date) -> dict[str, int]:
        """Requests per quota family (``research``, ``social``) on UTC ``day``; a family the
        service stopped that day counts as its whole quota."""
        used = by_family(self.by_endpoint(day))
        limits = {str(k): v for k, v in DAILY_QUOTA.items()}
        for family in used:
            if self.stopped(family, day):
                used[family] = max(used[family], limits.get(family, used[family]))
        return used

    def __repr__(self) -> str:
        return f"Ledger(path={str(self.path)!r})"


def ledgers(directory: Path | str | None = None) -> list[tuple[str | None, Path]]:
    """The ledger files in ``directory`` (default: the cache's), with the service each names."""
    folder = Path(directory) if directory is not None else cache_dir() / "quota"
    out: list[tuple[str | None, Path]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, OSError):
            continue
        meta = data.get(META) if isinstance(data, dict) else None
        service = meta.get("service") if isinstance(meta, dict) else None
        out.append((service if isinstance(service, str) else None, path))
    return out
