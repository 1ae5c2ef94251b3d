"""The error tree: one class per failure, each carrying code, message, log_id, status, endpoint."""

from __future__ import annotations

import json

import pytest

from _shared import example
from tiktok_research import errors as E
from tiktok_research.errors import error_from_body


def _example(name: str) -> dict:
    return json.loads(example(name).read_text())


@pytest.mark.parametrize(
    "status, file, cls, code",
    [
        (
            400,
            "error__400__invalid_count_or_cursor__observed.json",
            E.InvalidRequestError,
            "invalid_params",
        ),
        (400, "error__400__user_not_found__observed.json", E.UnavailableError, "invalid_params"),
        (400, "error__400__user_refused__observed.json", E.UnavailableError, "invalid_params"),
        (
            401,
            "error__401__access_token_invalid__docs.json",
            E.AuthenticationError,
            "access_token_invalid",
        ),
        (
            401,
            "error__401__scope_not_authorized__observed.json",
            E.ScopeNotAuthorizedError,
            "scope_not_authorized",
        ),
        (
            429,
            "error__429__daily_quota__UNVERIFIED.json",
            E.QuotaExhaustedError,
            "daily_quota_limit_exceeded",
        ),
        (
            429,
            "error__429__rate_limit_exceeded__message_unverified.json",
            E.RateLimitedError,
            "rate_limit_exceeded",
        ),
        (
            500,
            "error__500__internal_error__message_observed_code_inferred.json",
            E.ServerError,
            "internal_error",
        ),
    ],
)
def test_recorded_error_bodies_map_to_the_right_class(
    status: int, file: str, cls: type, code: str
) -> None:
    body = _example(file)
    err = error_from_body(status, body, endpoint="video_query")
    assert type(err) is cls
    assert err.code == code and err.http_status == status and err.endpoint == "video_query"
    assert err.log_id == body["error"]["log_id"]
    text = str(err)
    assert code in text and body["error"]["log_id"] in text and body["error"]["message"] in text


def test_rate_limit_with_a_quota_message_means_the_daily_quota() -> None:
    body = {
        "error": {
            "code": "rate_limit_exceeded",
            "message": "You exceeded your daily quota",
            "log_id": "x",
        }
    }
    assert isinstance(error_from_body(429, body), E.QuotaExhaustedError)


def test_unavailable_lists_are_classified_by_message() -> None:
    msg = "`username: a` liked videos information cannot be returned: the user keeps it private"
    body = {"error": {"code": "invalid_params", "message": msg, "log_id": "x"}}
    assert isinstance(error_from_body(400, body), E.UnavailableError)
    other = {
        "error": {
            "code": "invalid_params",
            "message": "Invalid field: favourites_count",
            "log_id": "x",
        }
    }
    assert type(error_from_body(400, other)) is E.InvalidRequestError


def test_flat_oauth_errors_are_authentication_errors() -> None:
    body = _example("oauth_token__error__invalid_request__docs.json")
    err = error_from_body(401, body, endpoint="token")
    assert isinstance(err, E.AuthenticationError) and err.code == "invalid_request"
    assert "Client secret is missed" in str(err)
    bad = error_from_body(
        401,
        {"error": "invalid_client", "error_description": "bad", "log_id": "l"},
        endpoint="token",
    )
    assert isinstance(bad, E.AuthenticationError) and "TIKTOK_CLIENT_SECRET" in str(bad)


def test_tree_shape() -> None:
    for cls in (
        E.InvalidRequestError,
        E.UnavailableError,
        E.AuthenticationError,
        E.ScopeNotAuthorizedError,
        E.RateLimitedError,
        E.QuotaExhaustedError,
        E.ServerError,
        E.BudgetExhaustedError,
    ):
        assert issubclass(cls, E.TikTokResearchError)
        assert cls.__name__ in E.__doc__
    assert issubclass(E.UnavailableError, E.InvalidRequestError)
    assert issubclass(E.QuotaExhaustedError, E.RateLimitedError)
    assert issubclass(E.NotYetIndexedWarning, Warning)


def test_local_errors_have_no_status_and_read_well() -> None:
    err = E.InvalidRequestError("unknown query field 'hashtag'")
    assert err.http_status is None and str(err) == "unknown query field 'hashtag'"
    assert "InvalidRequestError" in repr(err)


def test_non_json_like_bodies_do_not_crash_classification() -> None:
    assert isinstance(error_from_body(502, None), E.ServerError)
    assert isinstance(error_from_body(500, {"data": {}}), E.ServerError)
    assert "HTTP 502" in str(error_from_body(502, None))
