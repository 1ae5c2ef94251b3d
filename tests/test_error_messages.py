"""Messages read as sentences: no doubled full stops, whatever the service's text ends with."""

from __future__ import annotations

import errno
import itertools
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

import tiktok_research as tr
from tiktok_research import errors
from tiktok_research._archive import Collection, _disk_error
from tiktok_research._optional import require
from tiktok_research.cli import _describe
from tiktok_research.errors import (
    BudgetExhaustedError,
    CollectionLockedError,
    InvalidTypeError,
    MissingDependencyError,
    MissingFileError,
    OutputExistsError,
    QuotaExhaustedError,
    TikTokResearchError,
    error_from_body,
    sentences,
)

# What the service says, with and without a final full stop (and one with an ellipsis).
SERVICE_TEXTS = [
    "Client key or secret is incorrect.",
    "Client key or secret is incorrect",
    "You have exceeded your daily quota of 1000 requests; the quota resets at 00:00 UTC.",
    "You have exceeded your daily quota",
    "Rate limit exceeded. ",
    "The user is private.",
    "Search Id 123 is invalid or expired.",
    "internal error, please retry...",
    "",
]
# (http status, error code, endpoint) of every branch of error_from_body
ANSWERS = [
    (400, "invalid_params", "video_query"),
    (400, "invalid_params", "user_info"),
    (401, "access_token_invalid", "video_query"),
    (401, "invalid_client", "token"),
    (400, "invalid_request", "token"),
    (401, "scope_not_authorized", "followers"),
    (400, "scope_permission_missed", "followers"),
    (429, "rate_limit_exceeded", "video_query"),
    (429, "daily_quota_limit_exceeded", "video_query"),
    (500, "internal_error", "comments"),
    (503, None, "video_query"),
    (418, "teapot", None),
    (302, None, None),
]

DOUBLED = re.compile(r"(?<!\.)\.\.(?!\.)|\.\s+\.|\s\.(?:\s|$)|[.;,]\s*[;,]|;\s*\.")


def _errors() -> list[TikTokResearchError]:
    out: list[TikTokResearchError] = []
    for (status, code, endpoint), text in itertools.product(ANSWERS, SERVICE_TEXTS):
        body = {"error": {"code": code, "message": text, "log_id": "20240101000000ABC"}}
        out.append(error_from_body(status, body, endpoint=endpoint))
        flat = {"error": code, "error_description": text}  # the OAuth form of the token endpoint
        out.append(error_from_body(status, flat, endpoint="token"))
    for number, reason in ((errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only")):
        out.append(_disk_error(Path("/data/archive/pages-1.jsonl"), OSError(number, reason)))
    with tempfile.TemporaryDirectory() as folder:
        spec: dict[str, object] = {"query": "x"}
        with Collection.open(folder, kind="videos", endpoint="video_query", spec=spec):
            try:
                Collection.open(folder, kind="videos", endpoint="video_query", spec=spec)
            except CollectionLockedError as locked:
                out.append(locked)
        try:  # the local errors about a caller's value: a wrong type, a missing file
            tr.read_table(Path(folder) / "missing.parquet")
        except MissingFileError as missing:
            out.append(missing)
        taken = Path(folder) / "merged"  # a dataset folder that already holds data
        taken.mkdir()
        (taken / "videos").mkdir()
        try:
            tr.merge_dumps(Path(folder) / "*.json", dataset=taken)
        except OutputExistsError as exists:
            out.append(exists)
    try:
        tr.summarize(object())  # type: ignore[arg-type]
    except InvalidTypeError as wrong_type:
        out.append(wrong_type)
    reset = datetime(2024, 3, 2, tzinfo=UTC)
    for text in SERVICE_TEXTS:
        out.append(QuotaExhaustedError(text or "quota", reset_at=reset, state={"cursor": 100}))
        out.append(BudgetExhaustedError(text or "budget", state={"cursor": 100}))
    try:
        require("tiktok_research_no_such_module", extra="plots", feature="plotting")
    except MissingDependencyError as missing:
        out.append(missing)
    return out


ALL = _errors()


def test_the_table_covers_every_class_of_the_tree() -> None:
    made = {type(e) for e in ALL}
    tree = {
        obj
        for name in errors.__all__
        if isinstance(obj := getattr(errors, name), type) and issubclass(obj, TikTokResearchError)
    }
    assert tree <= made, tree - made


@pytest.mark.parametrize("err", ALL, ids=[f"{type(e).__name__}-{i}" for i, e in enumerate(ALL)])
def test_no_doubled_full_stop_in_any_message(err: TikTokResearchError) -> None:
    for text in (str(err), _describe(err)[1]):
        assert not DOUBLED.search(text), text


def test_sentences_joins_with_one_full_stop() -> None:
    assert sentences("incorrect.", "Check it") == "incorrect. Check it"
    assert sentences("incorrect", "Check it.") == "incorrect. Check it."
    assert sentences("at 00:00 UTC..", "", None, "Pass x") == "at 00:00 UTC. Pass x"
    assert sentences("Really?", "Yes") == "Really? Yes"
    assert sentences("wait...", "then go") == "wait... then go"
    assert sentences() == ""
