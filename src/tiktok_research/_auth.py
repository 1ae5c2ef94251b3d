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
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import _config
from ._endpoints import TOKEN_PATH
from ._http import Http, RawResponse, TransportFailure
from .errors import AuthenticationError, ServerError, error_from_body, sentences

__all__ = [
    "CredentialSources",
    "Credentials",
    "TokenManager",
    "credential_sources",
    "resolve_credentials",
]

log = logging.getLogger("tiktok_research")

REFRESH_MARGIN = timedelta(minutes=5)  # or a tenth of the lifetime, if shorter
ENV_KEY = "TIKTOK_CLIENT_KEY"
ENV_SECRET = "TIKTOK_CLIENT_SECRET"


class Credentials:
    """A client key and secret; the secret is hidden from repr and str.

    ``source`` says where each came from (an argument, the environment, a config file), for
    messages; it never holds a value.
    """

    __slots__ = ("_secret", "client_key", "source")

    def __init__(self, client_key: str, client_secret: str, source: str = "arguments") -> None:
        self.client_key = client_key
        self._secret = client_secret
        self.source = source

    @property
    def client_secret(self) -> str:
        """The secret (only read when fetching a token)."""
        return self._secret

    def __repr__(self) -> str:
        return f"Credentials(client_key={self.client_key!r}, client_secret=***)"

    __str__ = __repr__


@dataclass(frozen=True)
class CredentialSources:
    """Where the credentials were looked for and found, for messages; it never holds a value.

    Attributes:
        found: Each credential found (``client_key``, ``client_secret``) and where it came from.
        explicit: The file given as ``config=`` (``--config FILE``), or None.
        default_file: The file ``tiktok-research configure`` writes.
        default_state: ``"read"``, ``"none there"``, or ``"not read"`` (not needed).
    """

    found: dict[str, str]
    explicit: Path | None
    default_file: Path
    default_state: str

    @property
    def missing(self) -> list[str]:
        """The credentials no source gave."""
        return [name for name in _config.KEYS if name not in self.found]

    def what_is_missing(self) -> str:
        """E.g. ``no client_secret; client_key came from the environment``."""
        gave = "".join(f"; {name} came from {where}" for name, where in self.found.items())
        return f"no {' and no '.join(self.missing)}{gave}"


def _gather(
    client_key: str | None, client_secret: str | None, config: str | Path | None
) -> tuple[dict[str, str], CredentialSources]:
    """The values found (name -> value) and where each came from, in the order of
    :func:`resolve_credentials`."""
    values: dict[str, str] = {}
    found: dict[str, str] = {}

    def take(given: dict[str, str | None], where: str) -> None:
        for name in _config.KEYS:
            value = given.get(name)
            if value and name not in values:
                values[name] = value
                found[name] = where

    take({"client_key": client_key, "client_secret": client_secret}, "arguments")
    explicit = Path(config).expanduser() if config is not None else None
    if len(values) < 2 and explicit is not None:
        take(dict(_config.read_credentials(explicit)), f"the config file {explicit}")
    take(
        {"client_key": os.environ.get(ENV_KEY), "client_secret": os.environ.get(ENV_SECRET)},
        "the environment",
    )
    default = _config.config_path()
    default_state = "not read"
    if len(values) < 2 and default != explicit:
        if default.is_file():
            take(dict(_config.read_credentials(default)), f"the config file {default}")
            default_state = "read"
        else:
            default_state = "none there"
    return values, CredentialSources(found, explicit, default, default_state)


def credential_sources(
    client_key: str | None = None,
    client_secret: str | None = None,
    config: str | Path | None = None,
) -> CredentialSources:
    """Where :func:`resolve_credentials` would find each credential (for messages: no value).

    Raises:
        InvalidRequestError: ``config`` does not exist, or a config file cannot be read.
    """
    return _gather(client_key, client_secret, config)[1]


def resolve_credentials(
    client_key: str | None = None,
    client_secret: str | None = None,
    config: str | Path | None = None,
) -> Credentials:
    """The client key and secret, each from the first source that has it.

    In order: the arguments; the file given as ``config`` (``--config FILE`` on the command
    line); the environment variables ``TIKTOK_CLIENT_KEY`` and ``TIKTOK_CLIENT_SECRET``; the
    config file that ``tiktok-research configure`` writes
    (:func:`tiktok_research._config.config_path`).
    A config file is read only when an earlier source left something missing.

    Raises:
        AuthenticationError: either is missing, naming every source that was looked at.
        InvalidRequestError: ``config`` does not exist, or a config file cannot be read.
    """
    values, sources = _gather(client_key, client_secret, config)
    if sources.missing:
        explicit = sources.explicit
        looked = [
            "the arguments client_key= and client_secret="
            + (f" and the file {explicit} (config=, --config)" if explicit is not None else ""),
            f"the environment variables {ENV_KEY} and {ENV_SECRET}",
            f"the config file {sources.default_file} ({sources.default_state})",
        ]
        raise AuthenticationError(
            f"missing credentials: {sources.what_is_missing()}. Looked in, in order: "
            + "; ".join(looked)
            + ". Run `tiktok-research configure` to save them in that file, or export "
            f"{ENV_KEY}=... {ENV_SECRET}=... ; or try the offline sandbox with "
            "tiktok_research.Client.sandbox() (--sandbox on the command line)."
        )
    key_from, secret_from = sources.found["client_key"], sources.found["client_secret"]
    source = key_from if key_from == secret_from else f"key: {key_from}; secret: {secret_from}"
    return Credentials(values["client_key"], values["client_secret"], source)


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
            if err.code == "invalid_client":  # say which source to fix
                err = AuthenticationError(
                    sentences(err.message, f"They came from {self._credentials.source}"),
                    code=err.code,
                    log_id=err.log_id,
                    http_status=resp.status,
                    endpoint="token",
                )
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
