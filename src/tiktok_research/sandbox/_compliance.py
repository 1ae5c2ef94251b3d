"""Batch compliance (api-notes §3.11): validation tasks that say which video or comment ids are
still valid (neither deleted nor made private).

* ``POST /v2/research/validation_task/create/``: multipart form-data with ``file_data`` (a text
  file, one id per line, at most 10,000) and ``category`` (``video`` or ``comment``) ->
  ``{"data": {"task_id": N}, "error": {...}}``.
* ``POST /v2/research/validation_task_status/get/``: JSON ``{"task_id": N}`` ->
  ``{"data": {"task_status": "Processing" | "Completed" | "Failed"}, "error": {...}}``.
* ``POST /v2/research/validation_task/download/``: JSON ``{"task_id": N}`` -> a text file of the
  still-valid ids.

Answers follow DOC:BC's examples: ``error.message`` is ``"ok."`` and ``error`` carries
``http_status_code`` (error answers of these endpoints carry it too). Choices where the notes are
silent (written here and in the guide, docs/guide/workshops.md):

* ``task_id`` is a JSON integer that fits int64: ``(creation unix time << 32) | 32 random bits``.
  (DOC:BC's example ``12345678910987654321`` exceeds int64: a doc artefact.)
* A bad upload is HTTP 400 ``invalid_file_upload`` (DOC:ERR: "The uploaded file does not meet API
  specifications") with a message naming the problem: not multipart, ``file_data`` missing or
  empty, a line that is not an id, more than 10,000 ids, ``category`` missing or not ``video`` /
  ``comment``. Blank lines, surrounding spaces and CRLF line ends are accepted; ids repeated in a
  file are checked once.
* A task stays ``Processing`` for ``SandboxConfig.validation_processing_seconds`` on the sandbox
  clock, then is ``Completed`` (or ``Failed``, with the ``task_failed`` fault). Its answer is the
  state of the corpus at that moment.
* The download is ``text/plain; charset=utf-8``: the still-valid ids in the order of the upload,
  without repeats, one per line, each line ending with ``\\n`` (no ids: an empty body). An id the
  sandbox never held is not valid. Reply ids are recognised once the sandbox has listed them.
* Downloading a task that is still ``Processing`` or that ``Failed``, and asking about an unknown
  ``task_id`` (or another client's), is HTTP 400 ``invalid_params`` naming the task and what to
  do; nothing is counted against the quota then.
* The three endpoints count against the "research" daily quota, like the other data endpoints;
  seeded and scripted faults (500, 504, 429, a 500 with a valid body) apply to them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any

import numpy as np

from .._endpoints import (
    VALIDATION_CATEGORIES,
    VALIDATION_CREATE,
    VALIDATION_DOWNLOAD,
    VALIDATION_MAX_IDS,
    ValidationEndpoint,
)
from ._params import ApiError, as_int

if TYPE_CHECKING:
    from ._core import Sandbox, SandboxResponse

MAX_TASKS = 1_000  # tasks kept per sandbox (the oldest are forgotten)


@dataclass
class ValidationTask:
    """One batch compliance task."""

    task_id: int
    client_key: str
    category: str
    ids: list[int]  # unique, in the order of the upload
    created: float
    done_at: float
    failed: bool = False
    valid: list[int] | None = None  # the still-valid ids, computed once the task is done

    def status(self, now: float) -> str:
        """``Processing``, ``Completed`` or ``Failed`` at sandbox time ``now``."""
        if now < self.done_at:
            return "Processing"
        return "Failed" if self.failed else "Completed"


def _upload_error(message: str) -> ApiError:
    return ApiError(400, "invalid_file_upload", message)


def parse_form(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data body (name -> raw bytes)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise _upload_error(
            "The request must be multipart/form-data with a file_data file (ids, one per line) "
            f"and a category field; got Content-Type {content_type or 'none'!r}"
        )
    head = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise _upload_error("The multipart body could not be read (check its boundary)")
    fields: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and name not in fields:
            payload = part.get_payload(decode=True)
            fields[name] = payload if isinstance(payload, bytes) else b""
    return fields


def parse_ids(raw: bytes, category: str) -> list[int]:
    """The ids of an uploaded file: one per line; unique, in order; at most 10,000."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _upload_error("file_data is not UTF-8 text: upload a text file of ids") from None
    ids: list[int] = []
    for number, line in enumerate(text.splitlines(), 1):
        value = line.strip()
        if not value:
            continue
        if not (value.isascii() and value.isdigit()) or int(value) >= 2**63:
            shown = value if len(value) <= 40 else value[:37] + "..."
            raise _upload_error(
                f"Line {number} of file_data is {shown!r}, not a {category} id: the file holds "
                f"one {category} id per line"
            )
        ids.append(int(value))
    if not ids:
        raise _upload_error(f"file_data holds no {category} id: the file holds one id per line")
    if len(ids) > VALIDATION_MAX_IDS:
        raise _upload_error(
            f"file_data holds {len(ids):,} ids; a task takes at most {VALIDATION_MAX_IDS:,}: "
            "split the file"
        )
    return list(dict.fromkeys(ids))


def _still_valid(sandbox: Sandbox, task: ValidationTask) -> list[int]:
    """The ids of ``task`` that were valid when it was done (in upload order)."""
    corpus = sandbox.corpus
    at = task.done_at
    days = sandbox.days_passed(at)
    ids = np.array(task.ids, dtype=np.int64)
    if task.category == "video":
        pos = np.searchsorted(corpus.ids, ids).clip(0, corpus.n_videos - 1)
        exists = corpus.ids[pos] == ids
        ok = exists.copy()
        ok[exists] = ~corpus.gone(pos[exists], days, at)
        return [int(i) for i in ids[ok]]
    valid: list[int] = []
    removed = corpus.comment_gone(ids, days, at)
    for cid, gone in zip(task.ids, removed.tolist(), strict=True):
        if gone:
            continue
        where = corpus.locate_comment(cid)
        if where is None:  # a reply the sandbox has listed?
            where = sandbox._reply_index.get(cid)
            if where is None:
                continue
            parent = int(corpus.comments(where[0]).ids[where[1]])
            if corpus.comment_gone(np.array([parent]), days, at)[0]:
                continue
        if not corpus.gone([where[0]], days, at)[0]:
            valid.append(cid)
    return valid


def _answer(sandbox: Sandbox, status: int, data: Any, now: float) -> SandboxResponse:
    log_id = sandbox._log_id(now)
    payload = {
        "data": data,
        "error": {"code": "ok", "message": "ok.", "log_id": log_id, "http_status_code": status},
    }
    return sandbox._json(status, payload, log_id)


def _error(sandbox: Sandbox, exc: ApiError, now: float) -> SandboxResponse:
    log_id = sandbox._log_id(now)
    error = {
        "code": exc.code,
        "message": exc.message,
        "log_id": log_id,
        "http_status_code": exc.status,
    }
    return sandbox._json(exc.status, {"error": error}, log_id)


def _task(sandbox: Sandbox, body: Mapping[str, Any] | None, client_key: str) -> ValidationTask:
    if body is None:
        raise ApiError(
            400, "invalid_params", 'The request body must be a JSON object {"task_id": N}'
        )
    task_id = as_int(body, "task_id", required=True, minimum=0)
    task = sandbox._tasks.get(task_id or 0)
    if task is None or task.client_key != client_key:
        raise ApiError(
            400, "invalid_params", f"`task_id: {task_id}` is invalid: cannot find the task"
        )
    return task


def handle_task(
    sandbox: Sandbox,
    endpoint: ValidationEndpoint,
    client_key: str,
    headers: Mapping[str, str],
    raw: bytes,
    body: dict[str, Any] | None,
    now: float,
) -> tuple[SandboxResponse, str, str | None, dict[str, Any] | None]:
    """Answer one compliance request: (response, code, fault applied, body to log)."""
    from ._core import _FaultRaised

    logged = body
    fault: str | None = None
    try:
        if endpoint is VALIDATION_CREATE:
            fields = parse_form(headers.get("content-type", ""), raw)
            category = fields.get("category", b"").decode("utf-8", "replace").strip()
            logged = {
                "category": category,
                "file_data": f"<{len(fields.get('file_data', b''))} bytes>",
            }
            if not category:
                raise _upload_error("category is required: video or comment")
            if category not in VALIDATION_CATEGORIES:
                raise _upload_error(f"category must be video or comment, got {category!r}")
            if "file_data" not in fields:
                raise _upload_error("file_data is required: a text file of ids, one per line")
            ids = parse_ids(fields["file_data"], category)
        else:
            task = _task(sandbox, body, client_key)
        fault = sandbox._next_fault(endpoint.name, client_key, later_page=False, paginated=False)
        if fault in ("internal_error", "gateway_timeout", "rate_limit"):
            sandbox._raise_fault(now, fault)
        if endpoint is VALIDATION_CREATE:
            task_id = (int(now) << 32) | sandbox._ids.getrandbits(32)
            wait = sandbox.config.validation_processing_seconds
            task = ValidationTask(task_id, client_key, category, ids, now, now + wait)
            task.failed = fault == "task_failed"
            sandbox._tasks[task_id] = task
            while len(sandbox._tasks) > MAX_TASKS:
                sandbox._tasks.popitem(last=False)
            response = _answer(sandbox, 200, {"task_id": task_id}, now)
        else:
            status = task.status(now)
            if endpoint is VALIDATION_DOWNLOAD:
                if status != "Completed":
                    what = "is still Processing" if status == "Processing" else "Failed"
                    fix = (
                        "download it once validation_task_status/get answers Completed"
                        if status == "Processing"
                        else "create a new task"
                    )
                    raise ApiError(400, "invalid_params", f"Task {task.task_id} {what}: {fix}")
                if task.valid is None:
                    task.valid = _still_valid(sandbox, task)
                text = "".join(f"{i}\n" for i in task.valid).encode("ascii")
                response = sandbox._json(200, None, sandbox._log_id(now))
                response.body = text
                response.headers["content-type"] = "text/plain; charset=utf-8"
                response.headers["content-disposition"] = (
                    f'attachment; filename="validation_task_{task.task_id}.txt"'
                )
            else:
                response = _answer(sandbox, 200, {"task_status": status}, now)
        if fault == "error_with_valid_body":
            response.status = 500
        applied = fault if fault in ("error_with_valid_body", "task_failed") else None
        return response, "ok", applied, logged
    except ApiError as exc:
        return _error(sandbox, exc, now), exc.code, None, logged
    except _FaultRaised as exc:
        return exc.response, exc.code, fault, logged
