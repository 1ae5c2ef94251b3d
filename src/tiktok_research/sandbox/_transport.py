"""httpx transports that hand requests to a :class:`Sandbox` in-process (no sockets)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from ._core import Sandbox


def _headers(request: httpx.Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


class SandboxTransport(httpx.BaseTransport):
    """Synchronous in-process transport; latency is simulated with :func:`time.sleep`."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` with the sandbox."""
        body = request.read()
        answer = self.sandbox.handle(
            request.method, request.url.path, request.url.query, _headers(request), body
        )
        if answer.latency > 0:
            time.sleep(answer.latency)
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.body, request=request
        )


class AsyncSandboxTransport(httpx.AsyncBaseTransport):
    """Asynchronous in-process transport; latency is simulated with :func:`asyncio.sleep`."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` with the sandbox."""
        body = await request.aread()
        answer = self.sandbox.handle(
            request.method, request.url.path, request.url.query, _headers(request), body
        )
        if answer.latency > 0:
            await asyncio.sleep(answer.latency)
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.body, request=request
        )
