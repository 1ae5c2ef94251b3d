"""Client credentials and the client access token (api-notes §2).

The token is fetched lazily, refreshed ``REFRESH_MARGIN`` before it expires, and once more when the
service answers ``401 access_token_invalid``. All of it happens under one lock so that threads share
one token and never fetch two at once. Neither the secret nor the token ever appears in a repr, a
log line or an exception.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ._endpoints import TOKEN_PATH
from ._http import Http, RawResponse, TransportFailure
from .errors import AuthenticationError, ServerError, error_from_body

__all__ = ["Credentials", "TokenManager", "resolve_credentials"]

log = logging.getLogger("tiktok_research")

REFRESH_MARGIN = timedelta(minutes=5)  # or a tenth of the lifetime, if shorter
ENV_KEY = "TIKTOK_CLIENT_KEY"
ENV_SECRET = "TIKTOK_CLIENT_SECRET"


class Credentials:
    """A client key and secret; the secret is hidden from repr and str."""

    __slots__ = ("_secret", "client_key")

    def __init__(self, client_key: str, client_secret: str) -> None:
        self.client_key = client_key
        self._secret = client_secret

    @property
    def client_secret(self) -> str:
        """The secret (only read when fetching a token)."""
        return self._secret

    def __repr__(self) -> str:
        return f"Credentials(client_key={self.client_key!r}, client_secret=***)"

    __str__ = __repr__


def resolve_credentials(client_key: str | None, client_secret: str | None) -> Credentials:
    """Arguments first, then ``TIKTOK_CLIENT_KEY`` / ``TIKTOK_CLIENT_SECRET``.

    Raises:
        AuthenticationError: naming the variables when either is missing.
    """
    key = client_key or os.environ.get(ENV_KEY) or None
    secret = client_secret or os.environ.get(ENV_SECRET) or None
    missing = []
    if not key:
        missing.append(f"client_key (or the environment variable {ENV_KEY})")
    if not secret:
        missing.append(f"client_secret (or the environment variable {ENV_SECRET})")
    if missing:
        raise AuthenticationError(
            "missing credentials: set " + " and ".join(missing) + ". "
            f"For example: export {ENV_KEY}=... {ENV_SECRET}=... ; "
            "or try the offline sandbox with tiktok_research.Client.sandbox()."
        )
    assert key is not None and secret is not None
    return Credentials(key, secret)


class TokenManager:
    """Fetches and caches the client access token, thread-safely.

    Args:
        credentials: Client key and secret.
        http: The transport wrapper.
        now: Wall clock returning an aware UTC datetime.
        retrying: Runs one fetch attempt with the client's retry policy (server errors and
            network failures of the token endpoint are retried; rejected credentials are not).
    """

    def __init__(
        self,
        credentials: Credentials,
        http: Http,
        now: Callable[[], datetime],
        retrying: Callable[[Callable[[], dict[str, Any]]], dict[str, Any]] | None = None,
        on_answer: Callable[[RawResponse], None] | None = None,
    ) -> None:
        self._on_answer = on_answer  # sees every answer of the token endpoint (its Date header)
        self._credentials = credentials
        self._http = http
        self._now = now
        self._retrying = retrying or (lambda call: call())
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._refresh_at: datetime | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    @property
    def expires_at(self) -> datetime | None:
        """When the current token expires (None before the first fetch)."""
        return self._expires_at

    def get(self) -> str:
        """A valid token, fetching a new one if there is none or it expires soon."""
        with self._lock:
            if self._token is None or self._refresh_at is None or self._now() >= self._refresh_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (after a 401) unless another thread already replaced it."""
        with self._lock:
            if self._token == token:
                self._token = None
                self._expires_at = None
                self._refresh_at = None

    def _fetch(self) -> None:
        body = self._retrying(self._attempt)
        expires_in = body.get("expires_in", 7200)
        try:
            seconds = float(expires_in)
        except (TypeError, ValueError):
            seconds = 7200.0
        self._token = body["access_token"]
        now = self._now()
        self._expires_at = now + timedelta(seconds=seconds)
        margin = min(REFRESH_MARGIN, timedelta(seconds=seconds / 10))
        self._refresh_at = self._expires_at - margin
        self.fetches += 1
        log.debug("fetched a client access token valid for %.0f s", seconds)

    def _attempt(self) -> dict[str, Any]:
        """One request to the token endpoint: the token answer, or an error of the tree."""
        form = {
            "client_key": self._credentials.client_key,
            "client_secret": self._credentials.client_secret,
            "grant_type": "client_credentials",
        }
        try:
            resp: RawResponse = self._http.post_form(TOKEN_PATH, form)
            if self._on_answer is not None:
                self._on_answer(resp)
        except TransportFailure as e:
            raise ServerError(
                f"could not reach the token endpoint: {e.detail}", code=e.kind, endpoint="token"
            ) from None
        try:
            body = json.loads(resp.content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ServerError(
                f"the token endpoint answered HTTP {resp.status} with a body that is not JSON",
                http_status=resp.status,
                endpoint="token",
            ) from None
        if (
            not isinstance(body, dict)
            or body.get("error")
            or not isinstance(body.get("access_token"), str)
        ):
            if resp.status >= 500:
                raise ServerError(
                    f"the token endpoint answered HTTP {resp.status}",
                    http_status=resp.status,
                    endpoint="token",
                )
            err = error_from_body(resp.status, body, endpoint="token")
            if not isinstance(err, AuthenticationError):
                err = AuthenticationError(
                    err.message,
                    code=err.code,
                    log_id=err.log_id,
                    http_status=resp.status,
                    endpoint="token",
                )
            raise err
        return body

    def __repr__(self) -> str:
        return f"TokenManager(client_key={self._credentials.client_key!r}, token=***)"
