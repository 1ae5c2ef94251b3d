"""Point every `requests` call at the sandbox: only the base URL changes, no client code does.

Imported by each runner script in tests/interop (it patches the transport class, so the order of
imports does not matter). Requests to https://open.tiktokapis.com go
to SANDBOX_BASE_URL (the sandbox serves the same paths); any other address is refused, so a client
can never reach the internet from the test suite.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import requests.adapters

REAL = "https://open.tiktokapis.com"
BASE = os.environ["SANDBOX_BASE_URL"].rstrip("/")
_send = requests.adapters.HTTPAdapter.send


def _redirected_send(
    self: requests.adapters.HTTPAdapter, request: Any, *args: Any, **kw: Any
) -> Any:
    url = request.url or ""
    if url.startswith(REAL):
        request.url = BASE + url[len(REAL) :]
    elif not url.startswith(BASE):
        raise RuntimeError(f"interop tests may only reach the sandbox, not {url}")
    return _send(self, request, *args, **kw)


requests.adapters.HTTPAdapter.send = _redirected_send  # type: ignore[method-assign]


def outcome(func: Any, *args: Any, **kw: Any) -> dict[str, Any]:
    """``{"ok": result}`` or ``{"error": "ExceptionType: message"}`` (a client's own bug)."""
    try:
        return {"ok": func(*args, **kw)}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def report(result: dict[str, Any]) -> None:
    """The runner's answer, on one line that the test reads (clients print their own lines)."""
    sys.stdout.write("RESULT " + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


def params() -> dict[str, Any]:
    """The test's parameters for this run (usernames, ids... chosen from the sandbox corpus)."""
    loaded: dict[str, Any] = json.loads(sys.argv[1])
    return loaded
