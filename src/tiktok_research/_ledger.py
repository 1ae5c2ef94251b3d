"""The daily-quota ledger: how many requests a client key has sent today, per endpoint.

One JSON file per client key under ``$TIKTOK_RESEARCH_CACHE_DIR/quota/`` (default: the platform's
user cache folder from ``platformdirs``: ``~/.cache/tiktok-research`` on Linux, honouring
``$XDG_CACHE_HOME``; ``~/Library/Caches/tiktok-research`` on macOS; ``%LOCALAPPDATA%`` on Windows).
The file name is a hash of the key, never the key itself. Content, by UTC day:
``{"YYYY-MM-DD": {"video_query": 12, ...}}``; days older than a week are dropped. Updates are
read-modify-write under a thread lock and an exclusive OS file lock (``filelock``: ``fcntl`` on
POSIX, ``msvcrt`` on Windows) on a sibling ``.lock`` file, and replace the file atomically, so
threads, processes and kernel restarts all see the same counts.

The ledger counts every request that reached the service (including errors and retries): the real
service counts at least its 5xx answers, so counting everything keeps "remaining" on the safe side.
The quota is shared by an organisation; the ledger only sees this machine's requests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import filelock
import platformdirs

from ._endpoints import DAILY_QUOTA, quota_family

__all__ = ["Ledger", "by_family", "cache_dir"]

KEEP_DAYS = 7
LOCK_TIMEOUT = 60.0  # seconds to wait for another process's update (they take milliseconds)
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def cache_dir() -> Path:
    """The package's cache folder (``$TIKTOK_RESEARCH_CACHE_DIR`` or the user cache dir)."""
    env = os.environ.get("TIKTOK_RESEARCH_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("tiktok-research", appauthor=False))


def _key_hash(client_key: str) -> str:
    return hashlib.sha256(("tiktok-research:" + client_key).encode()).hexdigest()[:24]


def by_family(by_endpoint: Mapping[str, int]) -> dict[str, int]:
    """Request counts by endpoint name -> by quota family (every family present, 0 if unused)."""
    out: dict[str, int] = dict.fromkeys(DAILY_QUOTA, 0)
    for endpoint, n in by_endpoint.items():
        family = quota_family(endpoint)
        out[family] = out.get(family, 0) + n
    return out


class Ledger:
    """Persistent daily request counts for one client key.

    Args:
        client_key: The client key (only its hash is written anywhere).
        directory: Folder of the ledger files (default: ``cache_dir() / "quota"``).
    """

    def __init__(self, client_key: str, directory: Path | str | None = None) -> None:
        self._dir = Path(directory) if directory is not None else cache_dir() / "quota"
        self.key_hash = _key_hash(client_key)
        self.path = self._dir / f"{self.key_hash}.json"
        with _THREAD_LOCKS_GUARD:
            self._tlock = _THREAD_LOCKS.setdefault(str(self.path), threading.Lock())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._dir.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.path.with_suffix(".lock")), timeout=LOCK_TIMEOUT)
        with self._tlock, lock:
            yield

    def _read(self) -> dict[str, dict[str, int]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, OSError):
            return {}
        if not isinstance(data, dict):
            return {}
        out: dict[str, dict[str, int]] = {}
        for day, counts in data.items():
            if isinstance(counts, dict):
                out[str(day)] = {str(k): int(v) for k, v in counts.items() if isinstance(v, int)}
        return out

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

    def record(self, endpoint: str, day: date, n: int = 1) -> None:
        """Add ``n`` requests to ``endpoint`` on UTC ``day``."""
        key = day.isoformat()
        oldest = (day - timedelta(days=KEEP_DAYS)).isoformat()
        with self._locked():
            data = self._read()
            data = {d: c for d, c in data.items() if d >= oldest}
            counts = data.setdefault(key, {})
            counts[endpoint] = counts.get(endpoint, 0) + n
            self._write(data)

    def by_endpoint(self, day: date) -> dict[str, int]:
        """Requests per endpoint on UTC ``day``."""
        with self._locked():
            return dict(self._read().get(day.isoformat(), {}))

    def used(self, day: date) -> dict[str, int]:
        """Requests per quota family (``research``, ``social``) on UTC ``day``."""
        return by_family(self.by_endpoint(day))

    def __repr__(self) -> str:
        return f"Ledger(path={str(self.path)!r})"
