"""Opening an input safely: regular files only, gzip inflated as a stream within limits.

A page file of a collection that is gzipped while the merge runs (``pages-<run>.jsonl`` becomes
``pages-<run>.jsonl.gz``, then the plain file is removed) is read from its gzipped twin.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from .._archive import gzipped_twin
from ._inputs import not_regular

#: Default limit of gzip inflation: output / compressed input (checked past ``INFLATE_FLOOR``).
MAX_INFLATE_RATIO = 200.0
#: Output below this size is never stopped by the ratio (small, very repetitive files are fine).
INFLATE_FLOOR = 64 << 20

_BLOCK = 1 << 16  # compressed bytes read from disk at a time


@dataclass(frozen=True)
class Limits:
    """How far a gzip file may inflate (``None``: no limit)."""

    max_ratio: float | None
    max_bytes: int | None


class _NotRegular(OSError):
    """The path is a FIFO, a socket, a device or a folder: it is not opened."""


class Source:
    """A regular file opened for reading, gunzipped on the fly (every member) within limits.

    It is opened non-blocking and checked with ``fstat`` before anything is read, so a FIFO that
    replaced a file after the listing cannot block. ``read(n)`` returns ``n`` bytes (fewer at the
    end); for gzip files the end comes early when the stream is damaged (``damaged`` says how) or
    a limit stops the inflation (``stopped`` says which).
    """

    def __init__(self, path: Path, limits: Limits) -> None:
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags)
        try:
            st = os.fstat(fd)
            kind = not_regular(st.st_mode)
            if kind:
                raise _NotRegular(f"{kind}; not opened")
            self._fh = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        self.path = path
        self.size = st.st_size
        self.mtime = datetime.fromtimestamp(st.st_mtime, tz=UTC)
        self.limits = limits
        self.damaged: str | None = None
        self.stopped: str | None = None
        magic = self._fh.read(2)
        self.gzip = magic == b"\x1f\x8b"
        self._out = bytearray() if self.gzip else bytearray(magic)
        self._tail = magic if self.gzip else b""  # compressed bytes not yet inflated
        self._consumed = len(magic)
        self._produced = 0
        self._d: Any = None  # zlib decompressor of the current gzip member
        self._done = False

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._fh.close()

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all the rest when ``n`` is negative); ``b""`` at the end."""
        if n < 0:
            return self.read_all()
        if self.gzip:
            while len(self._out) < n and self._inflate():
                pass
            if len(self._out) <= n:
                out = bytes(self._out)
                self._out = bytearray()
                return out
            with memoryview(self._out) as view:
                out = bytes(view[:n])
            del self._out[:n]
            return out
        if self._out:
            head = bytes(self._out)
            self._out.clear()
            return head + self._fh.read(n - len(head)) if n > len(head) else head
        return self._fh.read(n)

    def last_line(self) -> bytes:
        """The last non-blank line of a plain file (read from its end; reading goes on from
        where it was)."""
        block, here = _BLOCK, self._fh.tell()
        try:
            while True:
                pos = max(0, self.size - block)
                self._fh.seek(pos)
                tail = self._fh.read(self.size - pos).rstrip()
                nl = tail.rfind(b"\n")
                if nl >= 0 or pos == 0:
                    return tail[nl + 1 :].strip()
                block *= 4
        finally:
            self._fh.seek(here)

    def read_all(self) -> bytes:
        if not self.gzip:
            head = bytes(self._out)
            self._out.clear()
            return head + self._fh.read()
        while self._inflate():
            pass
        out = bytes(self._out)
        self._out.clear()
        return out

    def _inflate(self) -> bool:
        """Inflate one step; False once the stream has ended (or was stopped)."""
        if self._done:
            return False
        if not self._tail:
            chunk = self._fh.read(_BLOCK)
            self._consumed += len(chunk)
            if not chunk:
                if self._d is not None:
                    self.damaged = (
                        "gzip stream is damaged (it ends before the end-of-stream marker)"
                    )
                self._done = True
                return False
            self._tail = chunk
        if self._d is None:
            tail = self._tail.lstrip(b"\0")  # zero padding between or after members
            self._tail = tail
            if not tail:
                return True
            self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = self._d.decompress(self._tail, 1 << 20)
        except zlib.error as exc:
            self.damaged = f"gzip stream is damaged ({exc})"
            self._done = True
            return False
        self._tail = self._d.unconsumed_tail
        if self._d.eof:
            self._tail = self._d.unused_data + self._tail
            self._d = None
        self._keep(out)
        return True

    def _keep(self, out: bytes) -> None:
        """Add inflated bytes to the output, unless a limit stops the inflation."""
        ratio, cap = self.limits.max_ratio, self.limits.max_bytes
        if cap is not None and self._produced + len(out) > cap:
            out = out[: max(0, cap - self._produced)]
            self._produced = cap + 1  # stopped below
        else:
            self._produced += len(out)
        self._out += out
        if cap is not None and self._produced > cap:
            self.stopped = (
                f"decompression stopped at max_inflated_bytes={cap:,}: the rest of the file was "
                "not read"
            )
        elif (
            ratio is not None
            and self._produced > INFLATE_FLOOR
            and self._produced > ratio * self._consumed
        ):
            self.stopped = (
                f"decompression stopped after {self._produced >> 20} MiB: the file inflates "
                f"more than {ratio:g} times its compressed size (a decompression bomb?); the rest "
                "was not read (max_inflate_ratio= allows more)"
            )
        if self.stopped:
            self._done = True


def open_source(path: Path, limits: Limits) -> Source:
    """Open ``path``; a page file gzipped since it was listed is opened as its ``.gz`` twin.

    Raises:
        _NotRegular: ``path`` is not a regular file.
        OSError: it cannot be opened (``FileNotFoundError`` when neither it nor its twin exists).
    """
    try:
        return Source(path, limits)
    except FileNotFoundError:
        twin = gzipped_twin(path)
        try:
            return Source(twin, limits)
        except FileNotFoundError:
            pass
        raise
