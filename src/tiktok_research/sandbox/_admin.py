"""The sandbox's own admin API under ``/_sandbox/`` (not part of the Research API).

Tests, workshop instructors and fault proxies use it to look inside a running sandbox and to move
it on. The HTTP server answers these paths only for loopback clients (127.0.0.1 / ::1); the
in-process transports always answer them. Admin requests are neither logged nor counted.

| Method and path | Body (JSON, form or query string) | Answer |
|---|---|---|
| ``GET /_sandbox/`` | - | this list |
| ``GET /_sandbox/stats`` | - | :meth:`Sandbox.stats`: requests per endpoint, quotas, clock |
| ``POST /_sandbox/advance`` | ``seconds``, ``minutes``, ``hours`` and/or ``days`` | the new clock |
| ``POST /_sandbox/delete`` | ``ids`` (list, or comma-separated), ``category`` (``video``) | count |
| ``GET /_sandbox/truth`` | - | the data-quality profile in force, unreturnable video ids |
| ``POST /_sandbox/truth/query`` | ``query``, ``start_date``, ``end_date``, per, by | truth |
| ``POST /_sandbox/truth/ids`` | ``ids`` | what a look-up of each video id finds now |

The truth paths answer what :attr:`Sandbox.truth` answers (see ``_truth.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from ._core import Sandbox, SandboxResponse

PATHS: dict[str, str] = {
    "GET /_sandbox/stats": "requests that reached the sandbox per endpoint, quotas, clock",
    "POST /_sandbox/advance": "move the clock forward: {'seconds'|'minutes'|'hours'|'days': N}",
    "POST /_sandbox/delete": "delete videos (or comments): {'ids': [...], 'category': 'video'}",
    "GET /_sandbox/truth": "the data-quality profile in force and the unreturnable video ids",
    "POST /_sandbox/truth/query": (
        "one query's truth: {'query': {...}, 'start_date': 'YYYYMMDD', 'end_date': 'YYYYMMDD', "
        "'per': 'day'|'week'|'month', 'by': ['region_code']}"
    ),
    "POST /_sandbox/truth/ids": "what a look-up of each video id finds now: {'ids': [...]}",
}


class _AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _answer(status: int, payload: Any) -> SandboxResponse:
    from ._core import SandboxResponse

    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return SandboxResponse(status, {"content-type": "application/json; charset=utf-8"}, body)


def _fields(params: Mapping[str, str], headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """Arguments from the query string, then a JSON object or a form body."""
    out: dict[str, Any] = dict(params)
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return out
    try:  # JSON whatever the content type (curl -d sends JSON as a form by default)
        parsed = json.loads(text)
    except ValueError:
        if "=" not in text:
            raise _AdminError(400, "the body must be a JSON object or a form (days=1)") from None
        out.update(parse_qsl(text, keep_blank_values=True))
        return out
    if not isinstance(parsed, dict):
        raise _AdminError(400, "the body must be a JSON object")
    out.update(parsed)
    return out


def _number(value: Any, key: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _AdminError(400, f"{key} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise _AdminError(400, f"{key} must be a number of at least 0, got {value!r}")
    return number


def _ids(value: Any) -> list[int]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise _AdminError(400, "ids must be a non-empty list of ids (or a comma-separated string)")
    out = []
    for item in items:
        text = str(item).strip()
        if isinstance(item, bool) or not text.isdigit() or int(text) >= 2**63:
            raise _AdminError(400, f"ids must be video or comment ids (digits), got {item!r}")
        out.append(int(text))
    return out


def _query_truth(sandbox: Sandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    missing = [k for k in ("query", "start_date", "end_date") if k not in args]
    if missing:
        raise _AdminError(400, f"give {', '.join(missing)} (the body of a video query)")
    by = args.get("by") or []
    if isinstance(by, str):
        by = [b.strip() for b in by.split(",") if b.strip()]
    try:
        truth = sandbox.truth.query(args["query"], str(args["start_date"]), str(args["end_date"]))
        strata = truth.strata(per=args.get("per"), by=by)
    except ValueError as exc:
        raise _AdminError(400, str(exc)) from None
    if "period" in strata.columns:
        strata = strata.with_columns(strata["period"].cast(str))
    return {
        "fails": truth.fails,
        "slots": truth.slots,
        "returned": truth.returned,
        "hidden_slots": truth.hidden_slots,
        "hidden_share": truth.hidden_share,
        "stray_ids": truth.stray_ids,
        "missing_ids": list(truth.missing_ids),
        "strata": strata.to_dicts(),
    }


def handle_admin(
    sandbox: Sandbox,
    method: str,
    path: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
) -> SandboxResponse:
    """Answer one request to an admin path (see the module docstring)."""
    route = f"{method} {path.rstrip('/') or '/'}"
    try:
        if path.rstrip("/") == "/_sandbox":
            return _answer(200, {"admin_paths": PATHS})
        if route not in PATHS:
            known = [p.split(" ", 1)[1] for p in PATHS]
            if path.rstrip("/") in known:
                raise _AdminError(
                    405, f"use {next(p for p in PATHS if p.endswith(path.rstrip('/')))}"
                )
            raise _AdminError(404, f"no admin path {path}; the admin paths are {', '.join(PATHS)}")
        if route == "GET /_sandbox/stats":
            return _answer(200, sandbox.stats())
        if route == "GET /_sandbox/truth":
            truth = sandbox.truth
            return _answer(200, {**truth.profile(), "unreturnable_ids": truth.unreturnable_ids()})
        args = _fields(params, headers, body)
        if route == "POST /_sandbox/truth/query":
            return _answer(200, _query_truth(sandbox, args))
        if route == "POST /_sandbox/truth/ids":
            frame = sandbox.truth.video_status(_ids(args.get("ids")))
            return _answer(200, {"statuses": frame.to_dicts()})
        if route == "POST /_sandbox/advance":
            units = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86_400}
            unknown = sorted(set(args) - set(units))
            if unknown or not args:
                raise _AdminError(400, 'give seconds, minutes, hours and/or days, e.g. {"days": 1}')
            seconds = sum(_number(v, k) * units[k] for k, v in args.items())
            now = sandbox.advance(dt.timedelta(seconds=seconds))
            return _answer(
                200,
                {
                    "now": now.isoformat().replace("+00:00", "Z"),
                    "advanced_seconds": seconds,
                    "days_passed": sandbox.days_passed(),
                },
            )
        # POST /_sandbox/delete
        category = str(args.get("category", "video"))
        ids = _ids(args.get("ids"))
        if category == "video":
            return _answer(200, {"deleted": sandbox.delete_videos(ids), "category": "video"})
        if category == "comment":
            sandbox.delete_comments(ids)
            return _answer(200, {"deleted": len(set(ids)), "category": "comment"})
        raise _AdminError(400, f"category must be 'video' or 'comment', got {category!r}")
    except _AdminError as exc:
        return _answer(exc.status, {"error": {"code": "invalid_params", "message": str(exc)}})
