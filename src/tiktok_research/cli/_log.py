"""The command line's log: where the library's log lines (and Python warnings) go during a command.

The library only logs (to the ``tiktok_research`` logger) and never configures logging; the
command line is the program, so it installs the handlers, for the length of one command:

* standard error: WARNING and above (retries, pages that did not move, a quota wait...), INFO too
  with ``--verbose`` (a token refreshed, pages answered from the archive...), DEBUG with
  ``--debug``; every line time-stamped in UTC, written between the progress bars (``tqdm.write``)
  rather than through them;
* ``--log FILE``: every line from INFO up (DEBUG with ``--debug``) appended to FILE with the time
  to the millisecond and the process id, plus the command line that started the run, everything
  the command tells the user about the run (:func:`say`: its plan, report, verdict, what it
  wrote, what to do next), its error message (with the traceback under ``--debug``) and its exit
  code.

Python warnings raised during a command (``QuotaWarning``, ``NotYetIndexedWarning``...) are
logged as WARNING lines, so they are time-stamped and land in the log file too.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

LOGGER = "tiktok_research"
FILE_ONLY = {"file_only": True}  # ``extra=`` of a record meant for the log file only


def _stamp(record: logging.LogRecord, millis: bool) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Formatter(logging.Formatter):
    """``2026-01-31T23:59:59Z warning: message`` (the file: milliseconds and ``[pid]``)."""

    def __init__(self, for_file: bool) -> None:
        super().__init__()
        self.for_file = for_file

    def format(self, record: logging.LogRecord) -> str:
        head = _stamp(record, self.for_file)
        if self.for_file:
            head += f" [{record.process}]"
        text = f"{head} {record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _Terminal(logging.Handler):
    """Standard error, between the progress bars: ``tqdm.write`` clears a bar, prints, redraws."""

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "file_only", False):
            return
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # pragma: no cover - logging never breaks a command
            self.handleError(record)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    logging.getLogger(LOGGER).warning("%s", message)


def open_log(path: Path) -> logging.FileHandler:
    """The handler of ``--log FILE`` (appending, UTF-8); OSError when FILE cannot be written."""
    if path.is_dir():
        raise IsADirectoryError(21, "is a folder, not a file", str(path))
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(_Formatter(for_file=True))
    return handler


def install(
    *, verbose: bool, debug: bool, log_file: logging.FileHandler | None
) -> Callable[[], None]:
    """Send the library's log lines and Python's warnings to standard error (and ``--log``).

    Returns:
        The function that takes it all back (the command's end).
    """
    logger = logging.getLogger(LOGGER)
    terminal = _Terminal(logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING)
    terminal.setFormatter(_Formatter(for_file=False))
    handlers: list[logging.Handler] = [terminal]
    if log_file is not None:
        log_file.setLevel(logging.DEBUG if debug else logging.INFO)
        handlers.append(log_file)
    saved = (logger.level, logger.propagate, warnings.showwarning)
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(min(h.level for h in handlers))
    logger.propagate = False  # a handler on the root logger would print every line twice
    warnings.showwarning = _show_warning
    _CURRENT.append(terminal)

    def uninstall() -> None:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        warnings.showwarning = saved[2]
        if terminal in _CURRENT:
            _CURRENT.remove(terminal)

    return uninstall


_CURRENT: list[logging.Handler] = []  # the terminal handler of the command running


def be_verbose() -> None:
    """Show INFO lines on standard error from now on (a command's own ``--verbose``)."""
    logger = logging.getLogger(LOGGER)
    for terminal in _CURRENT:
        if terminal.level > logging.INFO:
            terminal.setLevel(logging.INFO)
            logger.setLevel(min(logger.level, logging.INFO))


def say(text: str, *, err: bool = False) -> None:
    """Tell the user something about the run (its report, what was written, what to do next):
    once on the terminal (standard error with ``err``), and as a time-stamped line of the
    ``--log`` file."""
    echo(text, err=err)
    file_only(logging.INFO, text)


def echo(text: str, *, err: bool = False) -> None:
    """Print a line on standard output (standard error with ``err``). A reader that has gone
    (``| head -1`` has what it wanted and closed the pipe) ends nothing: the rest of the output
    goes nowhere, quietly, and the command finishes with its own exit code (the table is
    written, the collection's outcome is what the code says), as ``select ... | head`` does."""
    import typer

    try:
        typer.echo(text, err=err)
    except BrokenPipeError:
        reader_gone(sys.stderr if err else sys.stdout)


def reader_gone(stream: IO[str]) -> None:
    """Point ``stream`` at the null device once its reader has closed the pipe: the lines still
    to come, and the flush at exit, are dropped without an error (``BrokenPipeError``, then
    Python's "Exception ignored" on standard error and exit code 120)."""
    with suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)


def file_only(level: int, message: str, *, exc: BaseException | None = None) -> None:
    """A line for the log file only: the command line, an error message, the exit code."""
    if not _CURRENT:  # no handler of ours: Python's last resort would print it on the terminal
        return
    logging.getLogger(LOGGER).log(
        level,
        "%s",
        message,
        exc_info=(type(exc), exc, exc.__traceback__) if exc is not None else None,
        extra=FILE_ONLY,
    )
