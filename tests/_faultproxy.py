"""A seeded fault injector between the client and the sandbox, over HTTP or in-process.

Two shells share one :class:`FaultPlan` (which request gets which fault) and one :class:`Ledger`
(what happened to every request), so a test reads the same figures either way:

* :class:`FaultProxy`: an HTTP server on 127.0.0.1 in front of ``tiktok-research sandbox serve``
  (or any base URL). Point the client at ``proxy.url`` (``Client(base_url=...)`` or
  ``TIKTOK_RESEARCH_BASE_URL`` for the command line).
* :class:`FaultTransport`: an ``httpx`` transport wrapping another one (``Sandbox.transport()``),
  for fast storms over the in-process sandbox: ``Client(..., transport=FaultTransport(...))``.

Fault kinds (:data:`KINDS`):

========== ================================================ ===========================
kind       what the client gets                             reaches the sandbox?
========== ================================================ ===========================
error_500  HTTP 500, the API's JSON ``internal_error`` body no
gateway_504 HTTP 504 with an HTML body                      no
rate_limit HTTP 429 ``rate_limit_exceeded`` (JSON)          no
reset      status line, headers and part of the body, then  yes (paid, answer lost)
           the connection is reset
truncated  HTTP 200 with a body cut short (Content-Length   yes (paid, answer damaged)
           matches the cut body: only the JSON is broken)
stall      nothing until the client's timeout; then closed  yes (paid, answer lost)
drop       the connection is closed without an answer       no
refuse     (in-process only) ``httpx.ConnectError``          no
echo_html  HTTP 500, an HTML debug page that echoes the       no
           request's headers (``Authorization: Bearer ...``)
echo_json  HTTP 500 ``internal_error`` (JSON) whose message   no
           echoes the ``Authorization`` header
========== ================================================ ===========================

The token endpoint (``/v2/oauth/token/``) passes through without faults unless
``Storm(token_faults=True)`` or a script entry names it. Request bodies of data endpoints are
logged (never a header, never the token form, which carries the client secret), so a test can tell
whether an ok page (same path, query string and body) was paid twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

TOKEN_PATH = "/v2/oauth/token/"

KINDS = (
    "error_500",
    "gateway_504",
    "rate_limit",
    "reset",
    "truncated",
    "stall",
    "drop",
    "refuse",
    "echo_html",
    "echo_json",
)
#: kinds whose request is forwarded to the sandbox (paid there) before the answer is spoiled
FORWARDED_KINDS = frozenset({"reset", "truncated", "stall"})

_GATEWAY_HTML = (
    b"<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    b"<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n"
)
_MESSAGES = {
    "error_500": (500, "internal_error", "Something went wrong. Please try again later."),
    "rate_limit": (
        429,
        "rate_limit_exceeded",
        "The API rate limit was exceeded. Please try again later.",
    ),
}


@dataclass(frozen=True)
class Storm:
    """Seeded fault rates, one probability per kind (each request draws at most one fault).

    Attributes:
        seed: Seed of the draws: the n-th request (in arrival order) always draws the same number.
        token_faults: Draw faults for the token endpoint too (off by default).
        paths: Only requests to these paths draw faults (None: every data path).
    """

    seed: int = 0
    error_500: float = 0.0
    gateway_504: float = 0.0
    rate_limit: float = 0.0
    reset: float = 0.0
    truncated: float = 0.0
    stall: float = 0.0
    drop: float = 0.0
    refuse: float = 0.0
    echo_html: float = 0.0
    echo_json: float = 0.0
    token_faults: bool = False
    paths: frozenset[str] | None = None

    def rates(self) -> dict[str, float]:
        """The rate of each kind."""
        return {kind: float(getattr(self, kind)) for kind in KINDS}

    def __post_init__(self) -> None:
        if sum(self.rates().values()) > 1.0:
            raise ValueError("the fault rates add up to more than 1")


#: The storm of issue 9: 5% 500, 2% 504 HTML, 1% 429, 1% reset mid-answer, 1% truncated 200,
#: 1% stall longer than the client's timeout.
DEFAULT_STORM = Storm(
    seed=9,
    error_500=0.05,
    gateway_504=0.02,
    rate_limit=0.01,
    reset=0.01,
    truncated=0.01,
    stall=0.01,
)


def canonical(body: bytes) -> str:
    """A request body as a canonical string (JSON with sorted keys; raw text otherwise)."""
    try:
        return json.dumps(json.loads(body), sort_keys=True, ensure_ascii=False)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", "replace")


def _item_ids(payload: Any) -> list[Any]:
    """Ids of the items of an ok page (videos, comments, users...): the first list in ``data``."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        return []
    for value in data.values():
        if isinstance(value, list):
            ids = []
            for item in value:
                if isinstance(item, dict):
                    ids.append(item.get("id", item.get("username", json.dumps(item))))
            return ids
    return []


@dataclass
class Exchange:
    """One request the injector received and what became of it."""

    n: int  # arrival number over all requests
    path: str
    query: str
    body: str | None  # canonical body (None for the token endpoint: it carries the secret)
    fault: str | None = None
    forwarded: bool = False
    status: int | None = None  # status the client was sent (None: no answer)
    ok: bool = False  # an ok API answer passed through intact
    ids: list[Any] = field(default_factory=list)  # item ids of an ok page

    @property
    def key(self) -> tuple[str, str, str | None]:
        """What identifies a page: path, query string and body."""
        return (self.path, self.query, self.body)


class Ledger:
    """Every exchange, thread-safe, with the counts a test asserts on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []

    def new(self, path: str, query: str, body: bytes) -> Exchange:
        with self._lock:
            ex = Exchange(
                len(self.exchanges),
                path,
                query,
                None if path == TOKEN_PATH else canonical(body),
            )
            self.exchanges.append(ex)
            return ex

    def snapshot(self) -> list[Exchange]:
        with self._lock:
            return list(self.exchanges)

    def data(self, path: str | None = None) -> list[Exchange]:
        """Exchanges with data endpoints (or with one path)."""
        return [
            e for e in self.snapshot() if e.path != TOKEN_PATH and (path is None or e.path == path)
        ]

    def counts(self) -> dict[str, dict[str, int]]:
        """Per path: received, forwarded, ok, errors passed through, and faults by kind."""
        out: dict[str, Counter[str]] = {}
        for e in self.snapshot():
            c = out.setdefault(e.path, Counter())
            c["received"] += 1
            c["forwarded"] += e.forwarded
            c["ok"] += e.ok
            if e.fault:
                c[f"fault:{e.fault}"] += 1
            elif not e.ok and e.status is not None:
                c["error_passed"] += 1
        return {p: dict(c) for p, c in out.items()}

    def received(self, path: str | None = None) -> int:
        """Data requests received (the token endpoint is not a data request)."""
        return len(self.data(path))

    def forwarded(self, path: str | None = None) -> int:
        """Data requests that reached the sandbox (what the service charges)."""
        return sum(e.forwarded for e in self.data(path))

    def ok_pages(self, path: str | None = None) -> int:
        """Ok answers that reached the client intact."""
        return sum(e.ok for e in self.data(path))

    def faults(self, path: str | None = None) -> Counter[str]:
        """Faults injected into data requests, by kind."""
        return Counter(e.fault for e in self.data(path) if e.fault)

    def errors_passed(self, path: str | None = None) -> int:
        """Error answers of the sandbox itself that were passed through."""
        return sum(1 for e in self.data(path) if not e.fault and not e.ok)

    def paid_twice(self, path: str | None = None) -> dict[tuple[str, str, str | None], int]:
        """Pages (path, query, body) answered ok more than once, with how often."""
        seen = Counter(e.key for e in self.data(path) if e.ok)
        return {k: n for k, n in seen.items() if n > 1}

    def rows_delivered(self, path: str | None = None) -> Counter[Any]:
        """How often each item id arrived in an ok page."""
        out: Counter[Any] = Counter()
        for e in self.data(path):
            if e.ok:
                out.update(e.ids)
        return out

    def rows_delivered_again(self, path: str | None = None) -> int:
        """Rows that arrived more than once (re-fetched rows)."""
        return sum(n - 1 for n in self.rows_delivered(path).values() if n > 1)

    def windows(self, path: str) -> list[tuple[str, str]]:
        """Distinct (start_date, end_date) of the video-query bodies, in order of first use."""
        out: dict[tuple[str, str], None] = {}
        for e in self.data(path):
            try:
                body = json.loads(e.body or "{}")
            except ValueError:
                continue
            if isinstance(body, dict) and "start_date" in body:
                out[(str(body["start_date"]), str(body.get("end_date")))] = None
        return list(out)

    def bodies(self, path: str | None = None) -> Iterator[dict[str, Any]]:
        """The request bodies (parsed) of data requests."""
        for e in self.data(path):
            try:
                body = json.loads(e.body or "{}")
            except ValueError:
                continue
            if isinstance(body, dict):
                yield body


class FaultPlan:
    """Which request gets which fault: a script by request number, an outage switch, seeded rates.

    The seeded draw of a request depends on the request itself, not on when it arrives: on the
    seed, its path, query string and body (without ``search_id``, which differs from run to run)
    and on how many times that same request was seen before. So concurrent workers, whose
    requests arrive in a different order each run, still meet the same faults.

    Args:
        storm: Seeded rates.
        script: ``{n: kind}``: the n-th data request (0-based, arrival order; token requests count
            only with ``storm.token_faults``) gets ``kind`` (``"ok"``: no fault). Arrival order is
            deterministic only with one worker.
        path_script: ``{path: [kind, ...]}``: the next requests to ``path`` get these, in order.

    Attributes:
        outage: When set to a kind, every request that may draw a fault gets it (an outage);
            set back to None to end it. ``outage_token`` does the same for the token endpoint.
    """

    def __init__(
        self,
        storm: Storm | None = None,
        script: Mapping[int, str] | None = None,
        path_script: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.storm = storm or Storm()
        self.script = dict(script or {})
        self.path_script = {p: list(k) for p, k in (path_script or {}).items()}
        for kind in [*self.script.values(), *(k for ks in self.path_script.values() for k in ks)]:
            if kind != "ok" and kind not in KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; choose from {KINDS}")
        self.outage: str | None = None
        self.outage_token: str | None = None
        self._seen: Counter[str] = Counter()
        self._n = 0
        self._lock = threading.Lock()

    def _draw(self, path: str, query: str, body: bytes) -> float:
        try:
            obj = json.loads(body) if body else {}
        except (ValueError, UnicodeDecodeError):
            obj = None
        if isinstance(obj, dict):
            obj.pop("search_id", None)
            text = json.dumps(obj, sort_keys=True)
        else:
            text = body.decode("utf-8", "replace") if path != TOKEN_PATH else ""
        key = f"{path}?{query}#{text}"
        self._seen[key] += 1
        digest = hashlib.sha256(f"{self.storm.seed}|{key}|{self._seen[key]}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def decide(self, path: str, query: str = "", body: bytes = b"") -> str | None:
        """The fault of this request (None: pass it through)."""
        with self._lock:
            if path == TOKEN_PATH:
                if self.outage_token:
                    return self.outage_token
                queued = self.path_script.get(path)
                if queued:
                    kind = queued.pop(0)
                    return None if kind == "ok" else kind
                if not self.storm.token_faults:
                    return None
            if self.outage and path != TOKEN_PATH:
                return self.outage
            queued = self.path_script.get(path)
            if queued:
                kind = queued.pop(0)
                return None if kind == "ok" else kind
            if self.storm.paths is not None and path not in self.storm.paths:
                return None
            n = self._n
            self._n += 1
            u = self._draw(path, query, body)
            if n in self.script:
                kind = self.script[n]
                return None if kind == "ok" else kind
            acc = 0.0
            for kind, rate in self.storm.rates().items():
                acc += rate
                if u < acc:
                    return kind
            return None


def _json_error(kind: str, log_id: str) -> tuple[int, dict[str, str], bytes]:
    status, code, message = _MESSAGES[kind]
    body = json.dumps({"error": {"code": code, "message": message, "log_id": log_id}}).encode()
    return status, {"Content-Type": "application/json; charset=utf-8", "x-tt-logid": log_id}, body


def _echo(
    kind: str, headers: Mapping[str, str], body: bytes, log_id: str
) -> tuple[int, dict[str, str], bytes]:
    """A 500 that echoes the request's headers and body, as gateways and debug pages do (the
    token endpoint's body is the form that carries the client secret)."""
    shown = "\n".join(
        f"{k.title()}: {v}" for k, v in headers.items() if k.lower() != "content-length"
    )
    shown += "\n\n" + body.decode("utf-8", "replace")
    if kind == "echo_html":
        page = (
            "<html><head><title>500 Internal Server Error</title></head><body>"
            f"<h1>Internal Server Error</h1><p>Request headers:</p><pre>{shown}</pre></body></html>"
        )
        return 500, {"Content-Type": "text/html"}, page.encode()
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    message = (
        f"upstream failed for request with Authorization: {auth} and body "
        f"{body.decode('utf-8', 'replace')}"
    )
    body = json.dumps({"error": {"code": "internal_error", "message": message, "log_id": log_id}})
    return 500, {"Content-Type": "application/json; charset=utf-8"}, body.encode()


def _is_ok(status: int, body: bytes) -> tuple[bool, list[Any]]:
    if status != 200:
        return False, []
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False, []
    err = payload.get("error") if isinstance(payload, dict) else None
    code = err.get("code") if isinstance(err, dict) else None
    if code not in ("ok", None):
        return False, []
    return True, _item_ids(payload)


# ----------------------------------------------------------------------------------- HTTP proxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def _handle(self) -> None:
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        if split.path != TOKEN_PATH:  # held while the gate is closed (FaultProxy.gate)
            with proxy.gate_lock:
                proxy.data_requests += 1
                if proxy.gate_after is not None and proxy.data_requests > proxy.gate_after:
                    proxy.gate_after = None
                    proxy.gate.clear()
            proxy.gate.wait(proxy.gate_seconds)
        ex = proxy.ledger.new(split.path, split.query, body)
        fault = proxy.plan.decide(split.path, split.query, body)
        ex.fault = fault
        if fault in ("error_500", "rate_limit"):
            status, headers, payload = _json_error(fault, proxy.log_id())
            self._answer(ex, status, headers, payload)
            return
        if fault == "gateway_504":
            self._answer(ex, 504, {"Content-Type": "text/html"}, _GATEWAY_HTML)
            return
        if fault in ("echo_html", "echo_json"):
            status, headers, payload = _echo(
                fault, dict(self.headers.items()), body, proxy.log_id()
            )
            self._answer(ex, status, headers, payload)
            return
        if fault in ("drop", "refuse"):
            self._reset()
            return
        try:
            status, headers, payload = proxy.forward(self.command, self.path, self.headers, body)
        except OSError:
            ex.fault = ex.fault or "upstream_unreachable"
            self._reset()
            return
        ex.forwarded = True
        if fault == "reset":
            head = self._head(status, headers, len(payload))
            self.wfile.write(head + payload[: max(1, len(payload) // 2)])
            self.wfile.flush()
            self._reset()
            return
        if fault == "truncated":
            cut = payload[: max(1, int(len(payload) * 0.6))]
            self._answer(ex, status, headers, cut)
            return
        if fault == "stall":
            proxy.stopping.wait(proxy.stall_seconds)
            self._reset()
            return
        ex.ok, ex.ids = _is_ok(status, payload)
        self._answer(ex, status, headers, payload)

    def _head(self, status: int, headers: Mapping[str, str], length: int) -> bytes:
        reason = http.client.responses.get(status, "")
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _answer(self, ex: Exchange, status: int, headers: Mapping[str, str], body: bytes) -> None:
        ex.status = status
        self.wfile.write(self._head(status, headers, len(body)) + body)
        self.wfile.flush()

    def _reset(self) -> None:
        """Close the connection with a TCP reset (no FIN, no answer left)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: FaultProxy


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 that injects faults (see the module docstring).

    Args:
        upstream: Base URL of the sandbox server, e.g. ``http://127.0.0.1:8000``.
        plan: Which request gets which fault (default: none).
        stall_seconds: How long a ``stall`` holds the connection (longer than the client's
            timeout).

    Example:
        >>> with FaultProxy(url, FaultPlan(DEFAULT_STORM)) as proxy:  # doctest: +SKIP
        ...     client = tr.Client("sandbox", "sandbox", base_url=proxy.url, timeout=2)
    """

    def __init__(
        self, upstream: str, plan: FaultPlan | None = None, *, stall_seconds: float = 5.0
    ) -> None:
        split = urlsplit(upstream)
        self.upstream_host = split.hostname or "127.0.0.1"
        self.upstream_port = split.port or 80
        self.plan = plan or FaultPlan()
        self.ledger = Ledger()
        self.stall_seconds = stall_seconds
        self.stopping = threading.Event()
        #: Data requests wait while this is clear (at most ``gate_seconds``, less than a
        #: client's timeout): a test holds one process's run here while another starts.
        self.gate = threading.Event()
        self.gate.set()
        self.gate_seconds = 20.0
        #: When set to N, the proxy closes the gate itself at the data request after the N-th
        #: (that request and the later ones wait): a test that closed it when it saw the N-th
        #: could be descheduled long enough on a loaded machine for the run to end first.
        self.gate_after: int | None = None
        self.gate_lock = threading.Lock()
        self.data_requests = 0
        self._ids = random.Random(f"log-ids-{self.plan.storm.seed}")
        self._ids_lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fault-proxy", daemon=True
        )
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def log_id(self) -> str:
        with self._ids_lock:
            return f"20250101000000{self._ids.getrandbits(80):020X}"

    def forward(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            sent = {
                k: v
                for k, v in headers.items()
                if k.lower() not in ("host", "connection", "content-length", "accept-encoding")
            }
            sent["Content-Length"] = str(len(body))
            conn.request(method, target, body=body, headers=sent)
            resp = conn.getresponse()
            payload = resp.read()
            keep = {
                k: v
                for k, v in resp.getheaders()
                if k.lower() in ("content-type", "x-tt-logid", "retry-after")
            }
            return resp.status, keep, payload
        finally:
            conn.close()

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ------------------------------------------------------------------------ in-process transport


class FaultTransport(httpx.BaseTransport):
    """The same faults as :class:`FaultProxy`, as an httpx transport around another transport.

    A ``stall`` raises ``httpx.ReadTimeout`` at once (after the inner transport answered: the
    request is paid), so storms over the in-process sandbox take no wall-clock time.

    Example:
        >>> sb = Sandbox(SandboxConfig(n_videos=1_000))  # doctest: +SKIP
        >>> t = FaultTransport(sb.transport(), FaultPlan(DEFAULT_STORM))
        >>> client = tr.Client("sandbox", "sandbox", base_url=Sandbox.BASE_URL, transport=t)
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        plan: FaultPlan | None = None,
        *,
        on_request: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.inner = inner
        self.plan = plan or FaultPlan()
        self.ledger = Ledger()
        self.on_request = on_request
        self._ids = random.Random(f"log-ids-{self.plan.storm.seed}")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        ex = self.ledger.new(request.url.path, request.url.query.decode("latin-1"), body)
        if self.on_request is not None:
            self.on_request(ex)
        fault = self.plan.decide(request.url.path, request.url.query.decode("latin-1"), body)
        ex.fault = fault
        if fault in ("error_500", "rate_limit"):
            status, headers, payload = _json_error(
                fault, f"20250101000000{self._ids.getrandbits(80):020X}"
            )
            ex.status = status
            return httpx.Response(status, headers=headers, content=payload, request=request)
        if fault == "gateway_504":
            ex.status = 504
            return httpx.Response(
                504, headers={"Content-Type": "text/html"}, content=_GATEWAY_HTML, request=request
            )
        if fault in ("echo_html", "echo_json"):
            status, headers, payload = _echo(
                fault,
                dict(request.headers.items()),
                body,
                f"20250101000000{self._ids.getrandbits(80):020X}",
            )
            ex.status = status
            return httpx.Response(status, headers=headers, content=payload, request=request)
        if fault == "refuse":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if fault == "drop":
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        resp = self.inner.handle_request(request)
        payload = resp.read()
        ex.forwarded = True
        if fault == "reset":
            raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
        if fault == "stall":
            raise httpx.ReadTimeout("timed out", request=request)
        headers = {
            k: v for k, v in resp.headers.items() if k.lower() in ("content-type", "x-tt-logid")
        }
        if fault == "truncated":
            cut = payload[: max(1, int(len(payload) * 0.6))]
            ex.status = resp.status_code
            return httpx.Response(resp.status_code, headers=headers, content=cut, request=request)
        ex.status = resp.status_code
        ex.ok, ex.ids = _is_ok(resp.status_code, payload)
        return httpx.Response(resp.status_code, headers=headers, content=payload, request=request)
