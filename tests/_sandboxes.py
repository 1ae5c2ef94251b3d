"""The one home of the tests' sandboxes, clients and clocks (issue 17: no hand-built sandboxes).

A test asks for the factory fixtures of ``tests/conftest.py``: ``make_sandbox(...)``,
``make_client(sb, ...)`` (its clients are closed when the test ends), ``make_http(sb)`` (a raw
HTTP client over the sandbox, for tests of the sandbox itself) and ``make_server(sb)`` (a sandbox
served on 127.0.0.1 for the test). A fixture of module or session scope cannot ask a
function-scoped fixture; it calls :func:`new_sandbox` / :func:`new_client` below (and closes what
it opens). Every knob is a ``SandboxConfig`` field or a ``Client`` argument, named as there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import httpx
import polars as pl

import tiktok_research as tr
from tiktok_research.sandbox import Sandbox, SandboxConfig

__all__ = [
    "TOKEN_FORM",
    "Clock",
    "DemoRun",
    "MakeClient",
    "MakeHttp",
    "MakeSandbox",
    "MakeServer",
    "ReferenceRun",
    "new_client",
    "new_http",
    "new_sandbox",
    "no_sleep",
    "paid",
    "reference_run",
    "spent",
]


@dataclasses.dataclass(frozen=True)
class DemoRun:
    """One run of the demo (the ``demo_run`` fixture): its output folder, what it printed, and
    what ``run_demo`` returned."""

    out: Path
    printed: str
    result: dict[str, Any]


class Clock:
    """A settable unix clock (seconds, UTC) that a test shares between a sandbox and its clients.

    ``Clock(datetime)`` or ``Clock(seconds)``; ``clock.t`` is the time it reads, ``advance`` moves
    it on. (The sandbox's own :meth:`Sandbox.advance` moves the sandbox's reading on top of it.)
    """

    def __init__(self, start: float | dt.datetime) -> None:
        self.t = start.timestamp() if isinstance(start, dt.datetime) else float(start)

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float | dt.timedelta) -> None:
        self.t += seconds.total_seconds() if isinstance(seconds, dt.timedelta) else seconds


ClockLike = Callable[[], float] | float | dt.datetime


def new_sandbox(
    config: SandboxConfig | None = None,
    *,
    clock: ClockLike | None = None,
    realistic: bool = False,
    **knobs: Any,
) -> Sandbox:
    """A fresh in-process sandbox (own corpus, quotas, request log and faults).

    Args:
        config: the configuration to start from (default ``SandboxConfig()``, or
            ``SandboxConfig.realistic()`` with ``realistic=True``); ``knobs`` replace its fields.
        clock: the sandbox's clock: a callable returning unix seconds, or a datetime or a number
            for a :class:`Clock` stopped there (default: the sandbox's own, see ``Sandbox``).
        realistic: start from the realistic profile (hidden slots, failing ranges, strays...).
        **knobs: ``SandboxConfig`` fields: ``n_videos``, ``seed``, ``n_users``, ``faults``,
            ``token_ttl``, ``latency``, ``daily_quota``, ``frozen_corpus``,
            ``validation_processing_seconds``, ``expired_search_id``...
    """
    if realistic:
        if config is not None:
            raise TypeError("new_sandbox: give config or realistic=True, not both")
        config = SandboxConfig.realistic(**knobs)
    elif config is None:
        config = SandboxConfig(**knobs)
    elif knobs:
        config = dataclasses.replace(config, **knobs)
    if clock is not None and not callable(clock):
        clock = Clock(clock)
    return Sandbox(config, clock=clock)


#: The form a client posts to ``/v2/oauth/token/`` for the sandbox's default client.
TOKEN_FORM = {
    "client_key": "sandbox",
    "client_secret": "sandbox",
    "grant_type": "client_credentials",
}


def no_sleep(seconds: float) -> None:
    """A client's ``sleep`` that does not wait (retries and quota waits return at once)."""


def new_client(sandbox: Sandbox | None = None, **options: Any) -> tr.Client:
    """``tr.Client.sandbox(sandbox, **options)`` whose waits return at once unless ``sleep=`` says.

    ``sandbox`` defaults to a new default sandbox. ``options`` are ``Client`` arguments
    (``max_requests``, ``max_retries``, ``retry``, ``clock``, ``ledger``, ``wait_for_quota``,
    ``end_date_exclusive``, ``client_key``...). Close the client when done (``with`` or
    ``.close()``); the ``make_client`` fixture does that for a test.
    """
    options.setdefault("sleep", no_sleep)
    return tr.Client.sandbox(sandbox if sandbox is not None else new_sandbox(), **options)


def new_http(sb: Sandbox, *, token: bool | Literal["request"] = True) -> httpx.Client:
    """A raw ``httpx.Client`` over ``sb``'s in-process transport (base URL ``Sandbox.BASE_URL``).

    ``token``: ``True`` sends a fresh access token of the client ``sandbox`` (``issue_token``, no
    request); ``"request"`` asks ``/v2/oauth/token/`` for it as a client would (the request reaches
    the sandbox's log); ``False`` sends none. Close it when done; the ``make_http`` fixture does
    that for a test.
    """
    http = httpx.Client(transport=sb.transport(), base_url=Sandbox.BASE_URL)
    if token == "request":
        answer = http.post("/v2/oauth/token/", data=TOKEN_FORM)
        http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    elif token:
        http.headers["Authorization"] = f"Bearer {sb.issue_token()}"
    return http


def reference_run(
    query: tr.QueryLike, start: str, end: str, **knobs: Any
) -> tuple[pl.DataFrame, int]:
    """What an attacked collection must end with: the table of a fault-free, uninterrupted
    ``fetch_videos(query, start, end)`` on a fresh in-process sandbox (``knobs``: its
    ``SandboxConfig`` fields, as for :func:`new_sandbox`), and the video-query requests it took."""
    sb = new_sandbox(**knobs)
    with new_client(sb) as client:
        table = tr.fetch_videos(query, start, end, client=client, progress=False)
    return pl.DataFrame(table), spent(sb)


def spent(sb: Sandbox, endpoint: str = "video_query") -> int:
    """Requests that reached ``sb`` for ``endpoint`` (counted by the sandbox)."""
    return sb.requests_spent().get(endpoint, 0)


def paid(sb: Sandbox) -> int:
    """Requests that reached ``sb`` for every endpoint but the token's (those cost quota)."""
    return sum(n for ep, n in sb.requests_spent().items() if ep != "oauth_token")


#: The types of the conftest fixtures make_sandbox, make_client, make_server and make_http.
MakeSandbox = Callable[..., Sandbox]
MakeClient = Callable[..., tr.Client]
MakeServer = Callable[..., tuple[str, Sandbox]]
MakeHttp = Callable[..., httpx.Client]
ReferenceRun = Callable[..., tuple[pl.DataFrame, int]]
