"""SIGTERM handled like Ctrl-C: the one home of the stop signal of long calls.

``timeout``, ``docker stop``, systemd, Slurm and Kubernetes stop a job with SIGTERM, whose default
action kills Python at once: the pages in flight are paid and lost, and nothing is said. While
:func:`sigterm_as_interrupt` is active (the command line for its whole life; a collection run in a
script's main thread for the run, when nobody else handles SIGTERM), a SIGTERM raises
:class:`Terminated`, a ``KeyboardInterrupt``, in the main thread, so everything that handles Ctrl-C
handles it the same way (the tasks in flight finish their request, the archive is flushed, the
lock released, the manifest says the run is incomplete). It is never raised in the middle of an
:func:`exchange` (a request sent and its answer archived) of the main thread: it waits for the
exchange to end, so a page the service has charged for is on disk before the run stops, and is
not paid again by the next run. A second SIGTERM stops at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["Terminated", "exchange", "sigterm_as_interrupt"]


class Terminated(KeyboardInterrupt):
    """The process was asked to stop with SIGTERM (handled like Ctrl-C)."""

    def __init__(self) -> None:
        super().__init__("stopped by SIGTERM")


class _State:
    depth = 0  # exchanges open in the main thread
    pending = False  # a SIGTERM arrived during one


_state = _State()


def _main() -> bool:
    return threading.current_thread() is threading.main_thread()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if _state.depth and not _state.pending:
        _state.pending = True  # raised when the exchange ends
        return
    _state.pending = False
    raise Terminated()


@contextmanager
def exchange() -> Iterator[None]:
    """Around one request and the archiving of its answer: a SIGTERM waits for its end."""
    if not _main():
        yield
        return
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
        if not _state.depth and _state.pending:
            _state.pending = False
            raise Terminated()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While active, SIGTERM raises :class:`Terminated` (see the module docstring).

    Does nothing outside the main thread, or when SIGTERM already has a handler other than the
    default one (the program's own, or ours from an outer call).
    """
    if not _main() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _state.pending = False
