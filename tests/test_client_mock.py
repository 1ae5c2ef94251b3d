"""Client behaviour on answers the sandbox does not give: transport failures, odd bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from tiktok_research.client import Client
from tiktok_research.errors import AuthenticationError, InvalidRequestError, ServerError
from tiktok_research.plan import plan_videos
from tiktok_research.query import Q

TOKEN = "clt.secret-token-value-123"
Handler = Callable[[httpx.Request, dict[str, Any]], httpx.Response]


def qv(client: Client, query: Any, start: Any, end: Any, **kw: Any) -> list[dict[str, Any]]:
    """``client.query_videos`` of the plan of ``plan_videos`` (windows are planned above it)."""
    return client.query_videos(plan_videos(query, start, end, client=client, **kw))


def ok(data: dict[str, Any], status: int = 200) -> httpx.Response:
    body = {"data": data, "error": {"code": "ok", "message": "", "log_id": "20240101000000ABCDEF"}}
    return httpx.Response(status, json=body)


def make_client(handler: Handler, **kw: Any) -> tuple[Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/oauth/token/":
            return httpx.Response(
                200, json={"access_token": TOKEN, "expires_in": 7200, "token_type": "Bearer"}
            )
        seen.append(request)
        return handler(request, json.loads(request.content))

    kw.setdefault("sleep", lambda s: None)
    client = Client("key", "secret-value", transport=httpx.MockTransport(route), ledger=False, **kw)
    return client, seen


def test_timeouts_are_retried_and_not_seen_by_the_hook() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return ok({"display_name": "A"})

    statuses: list[int] = []
    client, seen = make_client(handler)
    pages = list(
        client.pages("user_info", {"username": "a"}, on_response=lambda *a: statuses.append(a[2]))
    )
    assert pages[0].items == [{"display_name": "A", "username": "a"}]
    assert len(seen) == 2 and statuses == [200] and client.requests_spent == {"user_info": 2}


def test_connection_errors_raise_server_error_and_are_not_counted() -> None:
    def handler(request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, seen = make_client(handler, max_retries=2)
    with pytest.raises(ServerError) as e:
        client.user_info("a")
    assert e.value.code == "connect" and len(seen) == 3
    assert client.requests_spent == {}  # never reached the service


def test_retry_after_header_is_honoured() -> None:
    answers = iter(
        [
            httpx.Response(
                429,
                json={
                    "error": {"code": "rate_limit_exceeded", "message": "slow down", "log_id": "l"}
                },
                headers={"Retry-After": "42"},
            ),
            ok({"display_name": "A"}),
        ]
    )
    sleeps: list[float] = []
    client, _ = make_client(lambda r, b: next(answers), sleep=sleeps.append)
    assert client.user_info("a")
    assert max(sleeps) >= 42


def test_html_and_empty_bodies_are_retried_then_raised() -> None:
    answers = iter(
        [
            httpx.Response(504, text="<html>504</html>"),
            httpx.Response(200, content=b""),
            ok({"x": 1}),
        ]
    )
    client, seen = make_client(lambda r, b: next(answers))
    assert client.user_info("a")[0]["x"] == 1 and len(seen) == 3
    client2, _ = make_client(
        lambda r, b: httpx.Response(502, text="<html>bad gateway</html>"), max_retries=1
    )
    with pytest.raises(ServerError, match="not JSON") as e:
        client2.user_info("a")
    assert e.value.http_status == 502


def test_http_500_without_error_but_with_data_is_accepted() -> None:
    client, seen = make_client(
        lambda r, b: httpx.Response(
            500, json={"data": {"playlist_id": 5, "playlist_video_ids": [1], "has_more": False}}
        )
    )
    assert client.playlist_info(5)[0]["playlist_video_ids"] == [1] and len(seen) == 1


def test_transient_search_id_error_is_retried_with_the_same_request() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        bodies.append(body)
        if len(bodies) == 1:
            return ok({"videos": [{"id": 3}], "cursor": 100, "has_more": True, "search_id": "77"})
        if len(bodies) == 2:
            return httpx.Response(
                400,
                json={
                    "error": {
                        "code": "invalid_params",
                        "message": "Search Id 77 is invalid or expired",
                        "log_id": "l",
                    }
                },
            )
        return ok({"videos": [{"id": 2}], "cursor": 101, "has_more": False, "search_id": "77"})

    sleeps: list[float] = []
    client, _ = make_client(handler, sleep=sleeps.append)
    videos = qv(client, Q.keyword.eq("x"), "20240101", "20240110")
    assert [v["id"] for v in videos] == [3, 2]
    assert bodies[1] == bodies[2] and bodies[2]["search_id"] == "77" and bodies[2]["cursor"] == 100
    assert max(sleeps) >= 5  # the quirk needs a few seconds


def test_alternative_keys_and_missing_lists() -> None:
    def handler(request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        if request.url.path.endswith("reposted_videos/"):
            return ok({"user_reposted_videos": [{"id": 1}], "cursor": 1, "has_more": False})
        return ok({"cursor": 0, "has_more": False})  # empty video result without "videos"

    client, _ = make_client(handler)
    assert client.reposted_videos("a") == [{"id": 1}]
    assert qv(client, Q.keyword.eq("x"), "20240101", "20240102") == []


def test_a_cursor_that_does_not_move_ends_the_sequence() -> None:
    client, seen = make_client(
        lambda r, b: ok(
            {"user_followers": [{"username": "u"}], "cursor": 1700000000, "has_more": True}
        )
    )
    assert len(client.followers("a")) == 2 and len(seen) == 2


def test_page_numbered_lists_stop_on_a_short_page() -> None:
    def handler(request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        n = 10 if body["page_start"] < 3 else 4
        return ok(
            {"product_data": [{"product_id": body["page_start"] * 100 + i} for i in range(n)]}
        )

    client, seen = make_client(handler)
    assert len(client.tts_products(5)) == 24
    assert [json.loads(r.content)["page_start"] for r in seen] == [1, 2, 3]
    assert all(json.loads(r.content)["page_size"] == 10 for r in seen)


def test_exclusive_end_service_gets_end_plus_one_day_on_the_wire() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        bodies.append(body)
        return ok({"videos": [], "cursor": 0, "has_more": False})

    client, _ = make_client(handler, end_date_exclusive=True)
    qv(client, Q.keyword.eq("x"), date(2024, 1, 1), date(2024, 2, 29))
    wire = sorted((b["start_date"], b["end_date"]) for b in bodies)
    # logical windows 01-01..01-30 and 01-31..02-29 (inclusive), sent with an exclusive end
    assert wire == [("20240101", "20240131"), ("20240131", "20240301")]


def test_token_and_secret_never_leave_the_auth_header() -> None:
    records: list[dict[str, Any]] = []
    client, seen = make_client(lambda r, b: ok({"display_name": "A"}))
    client.pages(
        "user_info", {"username": "a"}, on_response=lambda e, req, s, raw, t: records.append(req)
    )
    list(
        client.pages(
            "user_info",
            {"username": "a"},
            on_response=lambda e, req, s, raw, t: records.append(req),
        )
    )
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    dumped = json.dumps(records) + repr(client)
    assert TOKEN not in dumped and "secret-value" not in dumped


def test_token_endpoint_failures() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="<html>down</html>")

    client = Client(
        "k", "s", transport=httpx.MockTransport(route), ledger=False, sleep=lambda s: None
    )
    with pytest.raises(ServerError, match="token endpoint"):
        client.user_info("a")

    def route2(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "error": "invalid_request",
                "error_description": "Client secret is missed in request.",
                "log_id": "x",
            },
        )

    client2 = Client("k", "s", transport=httpx.MockTransport(route2), ledger=False)
    with pytest.raises(AuthenticationError, match="secret is missed"):
        client2.user_info("a")


def test_pages_of_one_window_honour_end_date_exclusive() -> None:
    """Defect 1 of issue 17: ``pages()`` built its own window body and sent ``20240305`` where
    ``plan_videos`` sends ``20240306``, losing the last day of every window on an exclusive
    service. One function makes a window's body now, for the planner and the client alike."""
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        bodies.append(body)
        return ok({"videos": [], "cursor": 0, "has_more": False})

    query = Q.keyword.eq("x")
    window = {"query": query, "start_date": "20240301", "end_date": "20240305"}
    client, _ = make_client(handler, end_date_exclusive=True)
    list(client.pages("video_query", window))
    assert (bodies[-1]["start_date"], bodies[-1]["end_date"]) == ("20240301", "20240306")
    planned = plan_videos(query, date(2024, 3, 1), date(2024, 3, 5), client=client, warn=False)
    assert [t.params for t in planned.tasks] == [
        {k: bodies[-1][k] for k in planned.tasks[0].params}
    ]
    # the wire range of an exclusive window is one day longer: 30 days of end - start would be
    # refused by the service, so it is refused here, before any request
    sent = len(bodies)
    with pytest.raises(InvalidRequestError, match="at most 29 days"):
        client.pages("video_query", {**window, "end_date": "20240331"})
    assert len(bodies) == sent
    inclusive, _ = make_client(handler)
    list(inclusive.pages("video_query", window))
    assert bodies[-1]["end_date"] == "20240305"
