"""The query language: three spellings, one validated Query, exact round trips, clear errors."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tiktok_research._endpoints import REGION_CODES
from tiktok_research.errors import InvalidRequestError
from tiktok_research.plan import plan_videos
from tiktok_research.query import Criteria, Q, Query, as_query

DOC_EXAMPLE = {
    "and": [
        {"operation": "IN", "field_name": "region_code", "field_values": ["JP", "US"]},
        {"operation": "EQ", "field_name": "hashtag_name", "field_values": ["animal"]},
    ],
    "not": [{"operation": "EQ", "field_name": "video_length", "field_values": ["SHORT"]}],
}


def test_three_spellings_give_the_same_query() -> None:
    built = as_query(
        Q.region_code.isin(["JP", "US"]) & Q.hashtag_name.eq("animal") & ~Q.video_length.eq("SHORT")
    )
    official = Query(
        and_criteria=[
            Criteria("IN", "region_code", ["JP", "US"]),
            Criteria("EQ", "hashtag_name", ["animal"]),
        ],
        not_criteria=[Criteria("EQ", "video_length", ["SHORT"])],
    )
    raw = as_query(DOC_EXAMPLE)
    text = as_query(json.dumps(DOC_EXAMPLE))
    assert built == official == raw == text
    assert built.to_dict() == DOC_EXAMPLE


def test_request_body_with_query_key_is_accepted() -> None:
    assert as_query({"query": DOC_EXAMPLE, "start_date": "20230101"}).to_dict() == DOC_EXAMPLE


def test_or_and_not_groups_flatten() -> None:
    q = as_query(
        Q.keyword.eq("climate")
        & (Q.region_code.eq("US") | Q.region_code.eq("GB"))
        & ~(Q.username.eq("spam1") | Q.username.eq("spam2"))
    )
    d = q.to_dict()
    assert [c["field_values"] for c in d["or"]] == [["US"], ["GB"]]
    assert [c["field_values"] for c in d["not"]] == [["spam1"], ["spam2"]]
    assert d["and"] == [{"operation": "EQ", "field_name": "keyword", "field_values": ["climate"]}]


def test_double_negation_and_not_of_and_terms() -> None:
    assert as_query(~~Q.keyword.eq("a")) == as_query(Q.keyword.eq("a"))
    q = as_query(~Q.keyword.eq("a") & ~Q.keyword.eq("b"))
    assert len(q.not_criteria) == 2 and not q.and_criteria


@pytest.mark.parametrize(
    "expr, words",
    [
        (lambda: (Q.keyword.eq("a") & Q.keyword.eq("b")) | Q.keyword.eq("c"), "inside an OR"),
        (lambda: ~(Q.keyword.eq("a") & Q.keyword.eq("b")), "NOT applies"),
        (
            lambda: (
                (Q.keyword.eq("a") | Q.keyword.eq("b")) & (Q.username.eq("x") | Q.username.eq("y"))
            ),
            "single OR list",
        ),
    ],
)
def test_expressions_that_cannot_be_flat_fail_clearly(expr, words: str) -> None:
    with pytest.raises(InvalidRequestError, match=words):
        as_query(expr())


def test_between_builds_a_range_and_rejects_a_reversed_one() -> None:
    q = as_query(Q.create_date.between(date(2024, 1, 1), "20240131"))
    assert [c.operation for c in q.and_criteria] == ["GTE", "LTE"]
    assert q.and_criteria[0].field_values == ("20240101",)
    with pytest.raises(InvalidRequestError, match="reversed"):
        Q.view_count.between(100, 10)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: Q.hashtag.eq("x"), "Did you mean 'hashtag_name'"),
        (lambda: Criteria("EQ", "regoin_code", ["US"]), "Did you mean 'region_code'"),
        (lambda: Q.region_code.eq("UK"), "Did you mean 'GB'"),
        (lambda: Q.region_code.eq("us"), "Did you mean 'US'"),
        (lambda: Q.region_code.eq("ZZ"), "not a region code"),
        (lambda: Criteria("EQ", "hashtag_name", ["a", "b"]), "exactly one value.*Use IN"),
        (lambda: Criteria("NE", "keyword", ["a"]), "not_criteria"),
        (lambda: Criteria("BETWEEN", "view_count", ["1"]), "GTE and LTE"),
        (lambda: Q.create_date.eq("2024-01-01"), "YYYYMMDD"),
        (lambda: Q.create_date.eq("20240230"), "not a valid calendar date"),
        (lambda: Q.video_length.eq("medium"), "Did you mean 'MID'"),
        (lambda: Q.video_id.eq("12a"), "digits only"),
        (lambda: Q.video_id.eq(7.3e18), "float"),
        (lambda: Q.hashtag_name.eq("#climate"), "without the '#'"),
        (lambda: Q.username.eq("@someone"), "without the '@'"),
        (lambda: Q.username.gt("a"), "use EQ or IN"),
        (lambda: Criteria("IN", "keyword", []), "empty"),
        (lambda: Query(), "query is empty"),
        (lambda: Query.from_dict({"AND": []}), "Did you mean 'and'"),
        (lambda: Query.from_dict({"and": [{"op": "EQ"}]}), "unknown key 'op'"),
        (lambda: Query.from_json("{not json"), "not valid JSON"),
    ],
)
def test_mistakes_fail_with_what_and_how(make, words: str) -> None:
    with pytest.raises(InvalidRequestError, match=words) as info:
        make()
    assert info.value.http_status is None  # nothing was sent


def test_values_are_normalised_to_strings() -> None:
    c = Criteria("in", "video_id", [7320768196569599275, "6978662169214864645"])
    assert c.operation == "IN"
    assert c.field_values == ("7320768196569599275", "6978662169214864645")
    assert Criteria("EQ", "keyword", "hello world").field_values == ("hello world",)


def test_repr_and_str_are_readable() -> None:
    q = as_query(
        Q.hashtag_name.eq("climate") & Q.region_code.isin(["US", "CA"]) & ~Q.keyword.eq("ad")
    )
    assert repr(q) == (
        "Query(and_criteria=[Criteria('EQ', 'hashtag_name', ['climate']), "
        "Criteria('IN', 'region_code', ['US', 'CA'])], "
        "not_criteria=[Criteria('EQ', 'keyword', ['ad'])])"
    )
    assert (
        str(q)
        == 'hashtag_name = "climate" AND region_code IN ("US", "CA") AND NOT (keyword = "ad")'
    )
    assert eval(repr(q), {"Query": Query, "Criteria": Criteria}) == q


def test_fields_keep_identity_equality_and_hash() -> None:
    """Comparing a field with a value raises (tests/test_plan.py's table); with anything else it
    is Python's identity, so fields still work in lists, sets, dicts and sentinel checks."""
    assert Q.keyword == Q.keyword and Q.keyword != Q.username
    assert Q.keyword != None  # noqa: E711 - a sentinel check of another library
    assert Q.keyword in [None, Q.keyword] and Q.keyword not in (Q.username, object())
    assert len({Q.keyword, Q.keyword, Q.username}) == 2 and {Q.keyword: 1}[Q.keyword] == 1


def test_expressions_refuse_python_boolean_operators() -> None:
    with pytest.raises(TypeError, match="&, \\| and ~"):
        Q.keyword.eq("a") and Q.keyword.eq("b")


def test_a_video_plan_checks_the_dates() -> None:
    plan = plan_videos(Q.keyword.eq("x"), "2024-01-01", "20240315")
    assert len(plan.tasks) == 3
    with pytest.raises(InvalidRequestError, match="reversed"):
        plan_videos(Q.keyword.eq("x"), "20240201", "20240101")


# --- property tests: exact JSON round trips ---------------------------------------------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=" \t\n\r#@"),
    min_size=1,
    max_size=12,
).filter(lambda s: not any(ch.isspace() for ch in s))
_digits = st.integers(min_value=0, max_value=2**63 - 1).map(str)
_dates = st.dates(min_value=date(2016, 1, 1), max_value=date(2030, 12, 31)).map(
    lambda d: d.strftime("%Y%m%d")
)
_values_by_field = {
    "create_date": _dates,
    "username": _text,
    "region_code": st.sampled_from(sorted(REGION_CODES)),
    "video_id": _digits,
    "hashtag_name": _text,
    "keyword": _text,
    "music_id": _digits,
    "effect_id": _digits,
    "video_length": st.sampled_from(["SHORT", "MID", "LONG", "EXTRA_LONG"]),
    "view_count": _digits,
    "comment_count": _digits,
}


@st.composite
def criteria(draw: st.DrawFn) -> Criteria:
    field = draw(st.sampled_from(sorted(_values_by_field)))
    ranged = field in (
        "create_date",
        "video_id",
        "music_id",
        "effect_id",
        "view_count",
        "comment_count",
    )
    ops = ["EQ", "IN", "GT", "GTE", "LT", "LTE"] if ranged else ["EQ", "IN"]
    op = draw(st.sampled_from(ops))
    n = draw(st.integers(1, 4)) if op == "IN" else 1
    values = draw(st.lists(_values_by_field[field], min_size=n, max_size=n))
    return Criteria(op, field, values)


queries = st.builds(
    lambda a, o, n: Query(a, o, n) if (a or o or n) else Query([Criteria("EQ", "keyword", ["x"])]),
    st.lists(criteria(), max_size=3),
    st.lists(criteria(), max_size=3),
    st.lists(criteria(), max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(queries)
def test_json_round_trip_is_exact(q: Query) -> None:
    text = q.to_json()
    back = Query.from_json(text)
    assert back == q
    assert back.to_json() == text
    assert Query.from_dict(json.loads(text)).to_dict() == json.loads(text)
    assert eval(repr(q), {"Query": Query, "Criteria": Criteria}) == q


@settings(max_examples=100, deadline=None)
@given(st.lists(criteria(), min_size=1, max_size=4), st.lists(criteria(), max_size=3))
def test_builder_matches_official_names(ands: list[Criteria], nots: list[Criteria]) -> None:
    expr = ands[0]
    for c in ands[1:]:
        expr = expr & c
    for c in nots:
        expr = expr & ~c
    q = as_query(expr)
    dedup_nots: list[Criteria] = []
    for c in nots:
        if c not in dedup_nots:
            dedup_nots.append(c)
    assert q == Query(and_criteria=ands, not_criteria=dedup_nots)
