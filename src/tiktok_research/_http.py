"""The only module that imports httpx: sending one request and getting its raw answer back.

Transport failures come back as :class:`TransportFailure` so that nothing above this module knows
about sockets. Tests inject a transport (``httpx.MockTransport`` or the sandbox's in-process one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import httpx

from ._version import __version__

__all__ = ["Http", "RawResponse", "Transport", "TransportFailure"]

#: What ``Client(transport=...)`` takes: an httpx transport (the sandbox's, a mock, a proxy).
Transport: TypeAlias = httpx.BaseTransport

USER_AGENT = f"tiktok-research/{__version__} (+https://github.com/tiktok-research)"


@dataclass
class RawResponse:
    """One HTTP answer, body kept verbatim."""

    status: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)


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

    def _send(self, request: httpx.Request) -> RawResponse:
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
        return self._send(request)

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
        return self._send(request)

    def post_form(self, path: str, form: dict[str, str]) -> RawResponse:
        """POST a form-encoded body (the token endpoint)."""
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
