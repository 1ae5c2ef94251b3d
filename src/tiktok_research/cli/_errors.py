"""What an exception means on the command line: its exit code and its one-line message.

Exit codes (also in ``tiktok-research --help`` and docs/guide/cli.md): 0 done and complete;
1 unexpected error; 2 invalid input (nothing was sent); 3 incomplete (quota, budget, items left
or a full disk: run the same command again to continue); 4 credentials or scope rejected; 5 the
service cannot be reached or kept failing; 130 interrupted (Ctrl-C); 143 stopped by SIGTERM
(``timeout``, ``docker stop``, systemd, Slurm, Kubernetes). A stop prints what the run spent.

:func:`describe` is the one map from an exception to a code and a message; the error boundary
(:class:`tiktok_research.cli._app.Group`) prints what it returns. A command that finds a problem
itself raises :class:`InputError` (exit 2) or :class:`CommandError` (a message and a code): it
never prints an error and exits on its own.
"""

from __future__ import annotations

import errno

EXIT_OK, EXIT_ERROR, EXIT_INVALID, EXIT_INCOMPLETE, EXIT_AUTH, EXIT_SERVER = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, what the shell shows for a job stopped by SIGTERM

DEBUG_ENV = "TIKTOK_RESEARCH_DEBUG"

INTERRUPTED = (
    "interrupted: pages already collected are kept in the archive; "
    "run the same command again to continue"
)
TERMINATED = (
    "stopped (SIGTERM): the requests in flight were finished and archived; "
    "run the same command again to continue"
)


class CommandError(Exception):
    """A problem the command has put in words: printed as ``error: <message>``, exit ``code``."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


class InputError(CommandError):
    """Invalid command-line input found before anything was sent (exit code 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_INVALID)


_OS_MESSAGES = {
    errno.ENOENT: "no such file or folder",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "is a folder, not a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "already exists and is not a folder",
    errno.ENAMETOOLONG: "file name too long",
    errno.EROFS: "read-only file system",
}


def _os_error(e: OSError) -> tuple[int, str]:
    path = e.filename if e.filename is not None else "the output"
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return EXIT_INCOMPLETE, (
            f"error: no space left on the disk while writing {path}. Free some space, then run "
            "the same command again: pages already collected are kept in the archive"
        )
    what = _OS_MESSAGES.get(e.errno or -1)
    if what is not None:
        shown = str(path) if len(str(path)) <= 200 else str(path)[:100] + "..."
        return EXIT_INVALID, f"error: {shown}: {what}"
    return EXIT_ERROR, f"error: {e.strerror or e}: {path}"


def describe(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one-line message (or a few lines) for an exception; the cost line
    a stopped collection added to it (its notes) follows."""
    code, message = _describe(exc)
    notes = [str(n) for n in getattr(exc, "__notes__", ())]
    return code, "\n".join([message, *notes])


def _describe(exc: BaseException) -> tuple[int, str]:
    from .._signals import Terminated
    from ..errors import (
        ArchiveError,
        AuthenticationError,
        BudgetExhaustedError,
        CollectionLockedError,
        InvalidRequestError,
        QuotaExhaustedError,
        RateLimitedError,
        ScopeNotAuthorizedError,
        ServerError,
        TikTokResearchError,
    )

    if isinstance(exc, Terminated):
        return EXIT_TERMINATED, TERMINATED
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, INTERRUPTED
    if isinstance(exc, CommandError):
        return exc.code, f"error: {exc}"
    if isinstance(exc, InvalidRequestError):
        return EXIT_INVALID, f"error: {exc}"
    if isinstance(exc, (AuthenticationError, ScopeNotAuthorizedError)):
        tip = ""
        if exc.http_status is None and "--sandbox" not in str(exc):  # nothing was sent
            tip = "\n(or add --sandbox to try the command on the offline sandbox)"
        return EXIT_AUTH, f"error: {exc}{tip}"
    if isinstance(exc, (QuotaExhaustedError, BudgetExhaustedError)):
        return EXIT_INCOMPLETE, f"stopped: {exc}\nRun the same command again to continue."
    if isinstance(exc, (ArchiveError, CollectionLockedError)):
        return EXIT_INCOMPLETE, f"stopped: {exc}"
    if isinstance(exc, (RateLimitedError, ServerError)):
        return EXIT_SERVER, f"error: the service cannot be reached or kept failing: {exc}"
    if isinstance(exc, TikTokResearchError):
        return EXIT_ERROR, f"error: {exc}"
    if isinstance(exc, (ConnectionError, TimeoutError)) or type(exc).__module__.startswith(
        ("httpx", "httpcore")
    ):
        return EXIT_SERVER, f"error: the service cannot be reached: {exc}"
    if isinstance(exc, OSError):
        return _os_error(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return EXIT_ERROR, f"error: unexpected {type(exc).__name__}" + (f": {text}" if text else "")
