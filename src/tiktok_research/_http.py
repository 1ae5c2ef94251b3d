"""The only module that imports httpx: sending one request and getting its raw answer back.

Transport failures come back as :class:`TransportFailure` so that nothing above this module knows
about sockets. Tests inject a transport (``httpx.MockTransport`` or the sandbox's in-process one).

Secrets never leave this module in an answer: gateways, firewalls and debug pages sometimes echo the
request's headers (``<pre>Authorization: Bearer clt....</pre>`` in an HTML 500, the same text in a
JSON error message), so every occurrence of the access token the request carried, and of the client
secret (:meth:`Http.hide`), is replaced by ``<redacted>`` in the body and the headers before anyone
above sees the answer (and archives, logs or prints it); :attr:`RawResponse.redacted` says what was
removed. Everything else of the answer stays byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import httpx

from ._version import __version__

__all__ = ["Http", "RawResponse", "Transport", "TransportFailure", "redact"]

#: What ``Client(transport=...)`` takes: an httpx transport (the sandbox's, a mock, a proxy).
Transport: TypeAlias = httpx.BaseTransport

USER_AGENT = f"tiktok-research/{__version__} (+https://github.com/tiktok-research)"


@dataclass
class RawResponse:
    """One HTTP answer, body kept verbatim."""

    status: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)
    #: what was removed from the answer (``"access_token"``, ``"client_secret"``), if anything
    redacted: tuple[str, ...] = ()


REDACTED = b"<redacted>"
#: Shorter secrets are not searched for: they would match ordinary text of an answer (the
#: sandbox's "sandbox"). Real tokens and client secrets are far longer.
MIN_SECRET_LENGTH = 8


def redact(resp: RawResponse, secrets: dict[str, str]) -> RawResponse:
    """``resp`` without any of ``secrets`` (name -> value) in its body or its headers."""
    found: list[str] = []
    content = resp.content
    headers = resp.headers
    for name, value in secrets.items():
        if len(value) < MIN_SECRET_LENGTH:
            continue
        raw = value.encode("utf-8")
        hit = False
        if raw in content:
            content = content.replace(raw, REDACTED)
            hit = True
        if any(value in v for v in headers.values()):
            headers = {k: v.replace(value, REDACTED.decode()) for k, v in headers.items()}
            hit = True
        if hit and name not in found:
            found.append(name)
    if not found:
        return resp
    return RawResponse(resp.status, content, headers, (*resp.redacted, *found))


class TransportFailure(Exception):
    """The request got no HTTP answer.

    Attributes:
        kind: ``"timeout"``, ``"connect"`` or ``"other"``.
        maybe_sent: False when the request surely never reached the service (connect errors).
    """

    def __init__(self, kind: Literal["timeout", "connect", "other"], detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.maybe_sent = kind != "connect"


class Http:
    """A thin wrapper of ``httpx.Client`` (thread-safe, connection pooling).

    Args:
        base_url: Service root, e.g. ``https://open.tiktokapis.com``.
        timeout: Seconds for connect/read/write.
        transport: An ``httpx.BaseTransport`` to use instead of the network.
    """

    def __init__(self, base_url: str, timeout: float, transport: Transport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )
        self._secrets: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Http({self.base_url!r})"

    def hide(self, name: str, value: str) -> None:
        """Remove ``value`` (the client secret) from every answer from now on, as ``name``."""
        self._secrets[name] = value

    def _send(self, request: httpx.Request, token: str | None = None) -> RawResponse:
        secrets = dict(self._secrets)
        if token is not None:
            secrets["access_token"] = token
        return redact(self._exchange(request), secrets)

    def _exchange(self, request: httpx.Request) -> RawResponse:
        try:
            resp = self._client.send(request)
            content = resp.read()
        except httpx.TimeoutException as e:
            raise TransportFailure("timeout", f"timed out: {type(e).__name__}") from None
        except httpx.ConnectError as e:
            raise TransportFailure("connect", f"could not connect: {e}") from None
        except httpx.TransportError as e:
            raise TransportFailure("other", f"{type(e).__name__}: {e}") from None
        return RawResponse(resp.status_code, content, dict(resp.headers))

    def post_json(
        self, path: str, params: dict[str, str], body: dict[str, Any], token: str
    ) -> RawResponse:
        """POST ``body`` as JSON to ``path`` with query ``params`` and a bearer token."""
        request = self._client.build_request(
            "POST",
            path,
            params=params or None,
            content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        return self._send(request, token)

    def post_multipart(
        self,
        path: str,
        form: dict[str, str],
        files: dict[str, tuple[str, bytes, str]],
        token: str,
    ) -> RawResponse:
        """POST multipart form-data (``files``: name -> (file name, content, content type))."""
        request = self._client.build_request(
            "POST",
            path,
            data=form,
            files=files,
            headers={"Authorization": f"Bearer {token}"},
        )
        return self._send(request, token)

    def post_form(self, path: str, form: dict[str, str]) -> RawResponse:
        """POST a form-encoded body (the token endpoint: only the client secret is hidden in its
        answer, which carries the new token)."""
        request = self._client.build_request(
            "POST",
            path,
            data=form,
            headers={"Cache-Control": "no-cache"},
        )
        return self._send(request)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
