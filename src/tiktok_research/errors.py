"""The one error tree of tiktok_research, and its warnings.

Every error the package raises on purpose derives from :class:`TikTokResearchError` and carries the
API's ``code``, ``message`` and ``log_id`` (when the service sent them), the HTTP status and the
endpoint name. ``str(err)`` shows all of them; it never shows a client secret or an access token.
Errors about a value the caller gave are also ``ValueError``s (``InvalidRequestError``) or
``TypeError``s (``InvalidTypeError``), so that code catching those keeps working.

::

    TikTokResearchError
    ├── InvalidRequestError        400 invalid_params, and local validation (http_status None):
    │   │                          a bad value, a missing column, a file that cannot be read
    │   │                          (also a ValueError)
    │   ├── InvalidTypeError       a value of a type the function cannot take (also a TypeError)
    │   ├── MissingFileError       a file or folder to read does not exist (also a
    │   │                          FileNotFoundError); ``.path`` names it
    │   ├── OutputExistsError      a folder to write to is a file or already holds data (also a
    │   │                          FileExistsError); ``.path`` names it
    │   ├── UnavailableError       the user is not found / private / the list is not public
    │   └── TransientRequestError  400 invalid_params that the same request outgrows (an expired
    │                              search_id, "Invalid count or cursor"): retried, then left for
    │                              the next run
    ├── AuthenticationError        401 access_token_invalid, token endpoint errors (invalid_client,
    │                              invalid_request), missing credentials
    ├── ScopeNotAuthorizedError    401 scope_not_authorized, 400 scope_permission_missed
    ├── RateLimitedError           429 rate_limit_exceeded (short-term limit, retried first)
    │   └── QuotaExhaustedError    429 on the daily quota (.reset_at, .state)
    ├── ServerError                5xx, HTML or empty bodies, timeouts, connection errors
    │                              (after the retries allowed by the retry policy)
    ├── BudgetExhaustedError       the client's ``max_requests`` budget would be exceeded (.state)
    ├── ArchiveError               the archive cannot be written or read (disk full, read-only,
    │                              a file where a folder is expected); ``.path`` names it
    ├── CollectionLockedError      another process is collecting into the same collection folder
    └── MissingDependencyError     an optional dependency is not installed (also an ImportError);
                                   ``.extra`` names the extra that brings it

Warnings (every one a ``UserWarning``; filter them all by :class:`TikTokResearchWarning`)::

    TikTokResearchWarning
    ├── NotYetIndexedWarning         a date range reaches into the last two days, which the
    │                                service has not indexed yet
    ├── QuotaWarning                 a run needs more requests than the quota has left today
    ├── IncompleteCollectionWarning  a collection stopped before it was complete
    ├── DataWarning                  a value the service sent cannot be stored exactly (null)
    ├── UnknownColumnWarning         a field no schema knows, left out of the table
    ├── AdLibraryWarning             an ad library search may miss rows: ads older than about
    │                                a year, or an end day in the future (clipped to today)
    └── EraWarning                   answers retrieved on both sides of a dated change of the
                                     API are combined (merge_dumps, a dataset)

``.state`` (on errors raised in the middle of a page sequence) is the JSON-serialisable position
from which ``Client.pages(..., state=err.state)`` resumes without re-fetching anything.
"""

from __future__ import annotations

import errno
import os
import re
import sys
import warnings
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

if TYPE_CHECKING:  # annotations only (as httpx's _exceptions declares its Request)
    from .pagination import Position

__all__ = [
    "AdLibraryWarning",
    "ArchiveError",
    "AuthenticationError",
    "BudgetExhaustedError",
    "CollectionLockedError",
    "DataWarning",
    "EraWarning",
    "IncompleteCollectionWarning",
    "InvalidRequestError",
    "InvalidTypeError",
    "MissingDependencyError",
    "MissingFileError",
    "NotYetIndexedWarning",
    "OutputExistsError",
    "QuotaExhaustedError",
    "QuotaWarning",
    "RateLimitedError",
    "ScopeNotAuthorizedError",
    "ServerError",
    "TikTokResearchError",
    "TikTokResearchWarning",
    "TransientRequestError",
    "UnavailableError",
    "UnknownColumnWarning",
]


class ErrorDetails(TypedDict, total=False):
    """What the service said about an error (the keyword arguments of every error class)."""

    code: str | None
    log_id: str | None
    http_status: int | None
    endpoint: str | None


def sentences(*parts: str | None) -> str:
    """Join parts of a message into sentences, with exactly one full stop between two parts.

    Every message that adds our advice to the service's text (which may or may not end with a
    full stop) is built here, so that no message reads "incorrect.. Check". A part ending in
    ``?`` or ``!`` keeps its mark; empty parts are left out; the last part is kept as written.

    Example:
        >>> sentences("Client key or secret is incorrect.", "Check TIKTOK_CLIENT_KEY")
        'Client key or secret is incorrect. Check TIKTOK_CLIENT_KEY'
        >>> sentences("resets at 00:00 UTC", None, "Pass wait_for_quota=True.")
        'resets at 00:00 UTC. Pass wait_for_quota=True.'
    """
    texts = [p.strip() for p in parts if p is not None and p.strip()]
    out = ""
    for i, text in enumerate(texts):
        if i < len(texts) - 1:
            while text.endswith(".") and not text.endswith("..."):
                text = text[:-1].rstrip()
        if out:
            out += " " if out.endswith(("?", "!", "...")) else ". "
        out += text
    return out


class TikTokResearchError(Exception):
    """Base class of every error raised by tiktok_research.

    Attributes:
        message: What went wrong (the API's message, or ours for local checks).
        code: The API's ``error.code`` (e.g. ``"invalid_params"``), or None.
        log_id: The API's ``error.log_id`` (quote it when asking TikTok for support), or None.
        http_status: The HTTP status of the response, or None when nothing was sent.
        endpoint: The endpoint name (e.g. ``"video_query"``), or None.
        state: Where to resume the interrupted page sequence (``Client.pages(..., state=...)``),
            or None. Set on errors raised in the middle of a sequence.
        retry_after: Seconds the service asked to wait (its ``Retry-After`` header), or None.
        final: True when the error was already retried where it happened (the token fetch has
            its own retries): the retry loop around the request does not retry it again.
        position: Where in its page sequence the failing request was
            (:class:`~tiktok_research.pagination.Position`), or None outside a sequence.
    """

    state: dict[str, Any] | None = None
    retry_after: float | None = None
    final: bool = False
    position: Position | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        log_id: str | None = None,
        http_status: int | None = None,
        endpoint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.log_id = log_id
        self.http_status = http_status
        self.endpoint = endpoint

    def __str__(self) -> str:
        parts = []
        if self.code:
            parts.append(f"[{self.code}]")
        parts.append(self.message)
        extra = []
        if self.endpoint:
            extra.append(f"endpoint={self.endpoint}")
        if self.http_status is not None:
            extra.append(f"http_status={self.http_status}")
        if self.log_id:
            extra.append(f"log_id={self.log_id}")
        if extra:
            parts.append(f"({', '.join(extra)})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, code={self.code!r}, log_id={self.log_id!r}, "
            f"http_status={self.http_status!r}, endpoint={self.endpoint!r})"
        )


class InvalidRequestError(TikTokResearchError, ValueError):
    """The request is invalid: fix it before sending it again.

    Raised for ``400 invalid_params`` answers, and before any request is sent (``http_status`` is
    None) when local validation finds a mistake (unknown field, bad region code, a table without
    the column needed, a file that cannot be read as a table...). It is also a ``ValueError``.
    """


class InvalidTypeError(InvalidRequestError, TypeError):
    """A value of a type the function cannot take (a frame of an engine the summaries do not
    support, a number where a query is expected...). It is also a ``TypeError``."""


class MissingFileError(InvalidRequestError, FileNotFoundError):
    """A file or folder to read does not exist. It is also a ``FileNotFoundError``.

    Attributes:
        path: The missing file or folder.
    """

    def __init__(self, message: str, *, path: str | Path, **kw: Unpack[ErrorDetails]) -> None:
        super().__init__(message, **kw)
        self.path = path
        self.errno = errno.ENOENT
        self.filename = str(path)


class OutputExistsError(InvalidRequestError, FileExistsError):
    """A file or folder to write to already holds data (or is a file where a folder is needed):
    refused before anything is read or written. It is also a ``FileExistsError``.

    Attributes:
        path: The file or folder.
    """

    def __init__(self, message: str, *, path: str | Path, **kw: Unpack[ErrorDetails]) -> None:
        super().__init__(message, **kw)
        self.path = path
        self.errno = errno.EEXIST
        self.filename = str(path)


class UnavailableError(InvalidRequestError):
    """The user or list cannot be returned: not found, private, restricted or not public.

    One unavailable account should not abort a batch: the collection layer records and skips it.
    """


class TransientRequestError(InvalidRequestError):
    """A refusal (``400 invalid_params``) that the same request outgrows a few seconds later.

    The service sends it now and then for a valid page request (api-notes §6.4.1): "Search Id ...
    is invalid or expired", "Invalid count or cursor". The retry policy asks again; a collection
    that still gets it leaves the task for the next run instead of failing the item.
    """


class AuthenticationError(TikTokResearchError):
    """Credentials are missing or were rejected, or the access token is invalid."""


class ScopeNotAuthorizedError(TikTokResearchError):
    """The research application is not approved for this endpoint (``scope_not_authorized``)."""


class RateLimitedError(TikTokResearchError):
    """Short-term rate limit (``429 rate_limit_exceeded``) still hit after the allowed retries."""


class QuotaExhaustedError(RateLimitedError):
    """The daily quota is used up; it resets at 00:00 UTC.

    Attributes:
        reset_at: When the quota resets (timezone-aware UTC datetime).
        state: Resumable position (pass it back as ``state=``), or None.
        service_message: The service's own words (``message`` adds our advice to them), or None.
    """

    def __init__(
        self,
        message: str,
        *,
        reset_at: datetime | None = None,
        state: dict[str, Any] | None = None,
        service_message: str | None = None,
        **kw: Unpack[ErrorDetails],
    ) -> None:
        super().__init__(message, **kw)
        self.reset_at = reset_at
        self.state = state
        self.service_message = service_message

    def __str__(self) -> str:
        base = super().__str__()
        if self.reset_at is not None:
            base = sentences(base, f"The quota resets at {self.reset_at:%Y-%m-%d %H:%M} UTC")
        if self.state is not None:
            base = sentences(base, "Resume later with state=err.state")
        return base


class ServerError(TikTokResearchError):
    """The service failed (5xx, HTML or empty body, timeout, connection error) after retries."""


class BudgetExhaustedError(TikTokResearchError):
    """The next request would exceed the client's ``max_requests`` budget; nothing was sent.

    Attributes:
        state: Resumable position (pass it back as ``state=``), or None.
    """

    def __init__(
        self, message: str, *, state: dict[str, Any] | None = None, **kw: Unpack[ErrorDetails]
    ) -> None:
        super().__init__(message, **kw)
        self.state = state


class ArchiveError(TikTokResearchError):
    """The archive cannot be written or read: a full disk, a read-only folder, a file in the way.

    Nothing collected before the error is lost; run the same call again once the cause is fixed.

    Attributes:
        path: The file or folder concerned.
    """

    def __init__(
        self, message: str, *, path: str | Path | None = None, **kw: Unpack[ErrorDetails]
    ) -> None:
        super().__init__(message, **kw)
        self.path = path


class CollectionLockedError(TikTokResearchError):
    """Another process is collecting into the same collection folder; nothing was sent.

    Attributes:
        path: The collection folder.
    """

    def __init__(
        self, message: str, *, path: str | Path | None = None, **kw: Unpack[ErrorDetails]
    ) -> None:
        super().__init__(message, **kw)
        self.path = path


class MissingDependencyError(TikTokResearchError, ImportError):
    """An optional dependency of the function called is not installed; nothing was sent.

    It is also an :class:`ImportError`, so code written for the bare ``ModuleNotFoundError``
    still catches it.

    Attributes:
        name: The module that is missing (as on :class:`ImportError`).
        extra: The extra that installs it: ``pip install 'tiktok-research[<extra>]'``.
    """

    extra: str

    def __init__(self, message: str, *, name: str, extra: str, **kw: Unpack[ErrorDetails]) -> None:
        super().__init__(message, **kw)
        self.name = name
        self.extra = extra


class TikTokResearchWarning(UserWarning):
    """Base class of every warning of tiktok_research (``warnings.filterwarnings`` takes it)."""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
#: Frames that are not the user's either: a context manager's ``__exit__``, a worker thread.
_PLUMBING = ("contextlib.py", "threading.py", os.path.join("concurrent", "futures"))


def warn_user(message: str, category: type[Warning]) -> None:
    """Issue a warning at the user's line: the first frame outside this package (a script's
    line, a notebook cell's), however deep in the package it was found. Replaces a fixed
    ``stacklevel``, which points inside the package whenever the call path changes."""
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE_DIR)
        or frame.f_code.co_filename.endswith(_PLUMBING)
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


class NotYetIndexedWarning(TikTokResearchWarning):
    """The date range reaches into the last two days, which the service has not indexed yet."""


class QuotaWarning(TikTokResearchWarning):
    """A run needs more requests than the local quota ledger says are left today (UTC)."""


class IncompleteCollectionWarning(TikTokResearchWarning):
    """A collection stopped before it was complete; run the same call again to continue."""


class DataWarning(TikTokResearchWarning):
    """A value could not be represented exactly (e.g. an id beyond int64) and was set to null."""


class UnknownColumnWarning(TikTokResearchWarning):
    """A column or API field that no declared schema knows; it was left out of the table."""


class EraWarning(TikTokResearchWarning):
    """Answers retrieved on both sides of a dated change of the API (``tr.quality(...).eras``)
    are combined: counts or coverage may not be comparable across it."""


class AdLibraryWarning(TikTokResearchWarning):
    """An ad library search may miss rows: ads are said to stay searchable for about a year after
    they last ran, and an end day in the future is clipped to today."""


# --- classification of API answers ----------------------------------------------------------

_UNAVAILABLE = re.compile(
    r"cannot find the |cannot return this user|is private|information cannot be returned"
    r"|not public|does not exist|cannot be found",
    re.IGNORECASE,
)
_QUOTA_WORDS = re.compile(r"quota|daily|per day", re.IGNORECASE)
_TRANSIENT = re.compile(r"Search Id \d* ?is invalid or expired|Invalid count or cursor", re.I)


def is_transient_message(message: str) -> bool:
    """True for the transient ``invalid_params`` messages that a retry cures (api-notes §6.4.1)."""
    return bool(_TRANSIENT.search(message or ""))


def is_quota_error(code: str | None, message: str | None, http_status: int | None) -> bool:
    """True when a 429 answer means the daily quota, not a short-term limit (api-notes §11)."""
    if code == "daily_quota_limit_exceeded":
        return True
    return http_status == 429 and bool(_QUOTA_WORDS.search(message or ""))


def error_from_body(
    http_status: int,
    body: object,
    *,
    endpoint: str | None = None,
) -> TikTokResearchError:
    """Build the right error for a parsed error answer of a data endpoint.

    Args:
        http_status: HTTP status of the response.
        body: The parsed JSON body (any shape; tolerant of missing keys), or None.
        endpoint: Endpoint name, for the message.

    Returns:
        An instance of the matching class of the error tree (not raised).
    """
    fields: dict[str, Any] = body if isinstance(body, dict) else {}
    err = fields.get("error")
    code: str | None = None
    message = ""
    log_id: str | None = None
    if isinstance(err, dict):
        code = str(err["code"]) if err.get("code") is not None else None
        message = str(err.get("message") or "")
        log_id = str(err["log_id"]) if err.get("log_id") is not None else None
    elif isinstance(err, str):  # flat OAuth-style body
        code = err
        message = str(fields.get("error_description") or "")
        log_id = str(fields["log_id"]) if fields.get("log_id") is not None else None
    kw: ErrorDetails = {
        "code": code,
        "log_id": log_id,
        "http_status": http_status,
        "endpoint": endpoint,
    }
    if not message:
        message = f"the API answered HTTP {http_status}" + (f" with code {code!r}" if code else "")

    if is_quota_error(code, message, http_status):
        return QuotaExhaustedError(
            sentences(
                message,
                "The daily quota (1,000 requests; 20,000 for followers/following) is used up; it "
                "resets at 00:00 UTC",
                "Pass wait_for_quota=True to wait for the reset",
            ),
            service_message=message,
            **kw,
        )
    if code == "rate_limit_exceeded" or http_status == 429:
        return RateLimitedError(
            sentences(message, "Lower qps= or wait a few seconds before trying again"), **kw
        )
    if code == "access_token_invalid" or (
        endpoint == "token" and code in ("invalid_client", "invalid_request")
    ):
        hint = None
        if code == "invalid_client":
            hint = (
                "Check the client key and secret (tiktok-research configure, TIKTOK_CLIENT_KEY / "
                "TIKTOK_CLIENT_SECRET, or client_key=/client_secret=)"
            )
        return AuthenticationError(sentences(message, hint), **kw)
    if code in ("scope_not_authorized", "scope_permission_missed"):
        return ScopeNotAuthorizedError(
            sentences(
                message,
                "Your research application is not approved for this endpoint "
                "(followers/following may need a separate approval)",
            ),
            **kw,
        )
    if http_status == 401 or endpoint == "token":
        return AuthenticationError(message, **kw)
    if code == "invalid_params" or 400 <= http_status < 500:
        if _UNAVAILABLE.search(message):
            return UnavailableError(message, **kw)
        if is_transient_message(message):
            return TransientRequestError(message, **kw)
        return InvalidRequestError(message, **kw)
    if http_status >= 500 or code == "internal_error":
        return ServerError(message, **kw)
    return TikTokResearchError(message, **kw)
