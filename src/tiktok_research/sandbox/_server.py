"""The sandbox as a real HTTP server: a starlette app, served by uvicorn.

starlette and uvicorn are imported only when an app or a server is made, so that the in-process
sandbox (``Client.sandbox()``, tests, notebooks) never loads them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .._optional import require
from ._config import SandboxConfig

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ._core import Sandbox

logger = logging.getLogger("tiktok_research.sandbox")

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def make_app(sandbox: Sandbox) -> Starlette:
    """A starlette application answering every path with ``sandbox``.

    The admin paths under ``/_sandbox/`` answer loopback clients only (127.0.0.1, ::1); for any
    other client they are unknown paths, like on the real service.
    """
    import asyncio

    require("starlette", extra="sandbox", feature="the sandbox server")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        admin = _is_loopback(request.client.host if request.client else None)
        answer = sandbox.handle(
            request.method, request.url.path, request.url.query, headers, body, admin=admin
        )
        if answer.latency > 0:
            await asyncio.sleep(answer.latency)
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=_METHODS)])


@contextlib.contextmanager
def run_server(
    sandbox: Sandbox | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[tuple[str, Sandbox]]:
    """Serve a sandbox over HTTP in a background thread for the duration of a ``with`` block.

    Args:
        sandbox: the sandbox to serve (a new default one when None).
        host: interface to bind (keep 127.0.0.1 in tests).
        port: TCP port; 0 picks a free one.

    Yields:
        ``(base_url, sandbox)``, e.g. ``("http://127.0.0.1:54321", sandbox)``.

    Example:
        >>> import httpx
        >>> from tiktok_research.sandbox import Sandbox, SandboxConfig
        >>> with run_server(Sandbox(SandboxConfig(n_videos=1_000))) as (url, sb):
        ...     httpx.post(url + "/v2/research/video/query/").status_code
        401
    """
    require("starlette", "uvicorn", extra="sandbox", feature="the sandbox server")
    import uvicorn

    from ._core import Sandbox

    sb = sandbox if sandbox is not None else Sandbox()
    # The sandbox sends its own clock's Date header (as the service sends its clock's): uvicorn's
    # would be the machine's, and a second one.
    config = uvicorn.Config(
        sb.app, host=host, port=port, log_level="warning", lifespan="off", date_header=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="tiktok-research-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise OSError(f"the sandbox server could not start on {host}:{port}")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{url_host}:{bound}", sb
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    config: SandboxConfig | None = None,
    *,
    fault_script: list[tuple[str, str | None]] | None = None,
) -> None:
    """Run a sandbox HTTP server until interrupted (Ctrl-C), printing its base URL.

    Args:
        host: interface to bind.
        port: TCP port (0 picks a free one).
        config: sandbox configuration (defaults when None).
        fault_script: scripted faults, in order: ``(kind, endpoint or None)`` pairs, ``"ok"``
            for a request without a fault (see :meth:`Sandbox.script_faults`).

    Example:
        >>> serve(port=0, config=SandboxConfig(n_videos=2_000))  # doctest: +SKIP
        TikTok Research API sandbox at http://127.0.0.1:54321 (client_key=sandbox, ...)
    """
    from ._core import Sandbox

    require("starlette", "uvicorn", extra="sandbox", feature="the sandbox server")
    sandbox = Sandbox(config)
    for kind, endpoint in fault_script or []:
        sandbox.script_faults([kind], endpoint=endpoint)
    with run_server(sandbox, host, port) as (url, _):
        logger.info("TikTok Research API sandbox serving at %s", url)
        print(
            f"TikTok Research API sandbox at {url} (client_key=sandbox, client_secret=sandbox)",
            flush=True,
        )
        print(
            f"sandbox clock: {sandbox.now.isoformat().replace('+00:00', 'Z')}; admin (from this "
            f"machine only): GET {url}/_sandbox/stats, POST {url}/_sandbox/advance "
            'with {"days": 1}; Ctrl-C stops',
            flush=True,
        )
        try:
            while True:
                time.sleep(0.5)
        except KeyboardInterrupt:
            logger.info("sandbox server stopped")
