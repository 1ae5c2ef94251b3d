"""``_checks``: one rule per concept (days, usernames, ids), and every layer uses it (issue 17)."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tiktok_research as tr
from _sandboxes import MakeClient
from tiktok_research import _checks
from tiktok_research._checks import (
    clean_ids,
    clean_usernames,
    clean_usernames_expr,
    format_date,
    has_id_time,
    id_time,
    parse_date,
    stored_username_expr,
)
from tiktok_research._endpoints import ENDPOINTS, VALIDATION_ENDPOINTS, quota_family
from tiktok_research._ledger import Ledger
from tiktok_research.errors import InvalidRequestError

SRC = Path(tr.__file__).parent
#: Modules outside the rules' reach: the emulator writes the service's side of them.
OTHER_SIDE = ("sandbox/",)


def _sources() -> list[tuple[str, ast.Module]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if not rel.startswith(OTHER_SIDE):
            out.append((rel, ast.parse(path.read_text(encoding="utf-8"))))
    return out


# --------------------------------------------------------------------------------- one home


def test_the_api_day_format_is_written_in_one_place() -> None:
    """``"%Y%m%d"`` was in client, query and _windows; a day is written and read in _checks."""
    found = [
        rel
        for rel, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value == "%Y%m%d"
    ]
    assert found == ["_checks.py"], found


def test_the_creation_time_of_an_id_is_read_in_one_place() -> None:
    """``id >> 32`` was in plan and collect; it is :func:`_checks.id_time` now."""
    found = [
        rel
        for rel, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.RShift)
        and isinstance(node.right, ast.Constant)
        and node.right.value == 32
    ]
    assert found == ["_checks.py"], found


def test_the_old_names_of_the_username_rule_are_gone() -> None:
    """Five names, three behaviours before; now one rule in two forms (list, expression) and
    what the tables do to the service's usernames (NULs go)."""
    gone = {"username_expr", "clean_username", "_clean_username", "_no_nul", "_clean_expr"}
    defined = {
        f"{rel}:{node.name}"
        for rel, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name in gone | {"clean_usernames"}
    }
    assert defined == {"_checks.py:clean_usernames"}, defined
    assert not hasattr(tr.select, "clean_usernames")
    assert not {"clean_usernames", "username_expr", "clean_username"} & set(tr.plan.__all__)


# ---------------------------------------------------------------------------------- the rules

MESSY = [
    ("https://vm.tiktok.com/@Foo", "foo"),
    ("https://www.tiktok.com/@Foo/video/7320768196569599275?lang=en", "foo"),
    ("tiktok.com/@foo", "foo"),
    ("@FOO", "foo"),
    (" foo\x00 ", "foo"),
    ("Some.One", "some.one"),
]


@pytest.mark.parametrize(("given_", "handle"), MESSY)
def test_the_list_form_and_the_expression_form_are_one_rule(given_: str, handle: str) -> None:
    assert clean_usernames([given_]) == [handle]
    frame = pl.DataFrame({"u": [given_]})
    assert frame.select(clean_usernames_expr(pl.col("u")))["u"].to_list() == [handle]
    assert tr.select_usernames(pl.DataFrame({"username": [given_]})).to_list() == [handle]
    assert tr.plan_items("users", [given_]).tasks[0].item == handle


@settings(deadline=None)  # polars per example: slow on a busy machine, not a regression
@given(st.text(max_size=30))
def test_the_two_forms_agree_on_any_text(text: str) -> None:
    expr = pl.DataFrame({"u": [text]}).select(clean_usernames_expr(pl.col("u")))["u"][0]
    try:
        listed = clean_usernames([text])
    except InvalidRequestError:
        return  # refused: not a handle, whatever the expression leaves
    assert listed == [expr]


def test_blank_and_non_handles_are_refused_with_the_fix() -> None:
    with pytest.raises(InvalidRequestError, match="is empty; give a handle"):
        clean_usernames([""], what="username")
    with pytest.raises(InvalidRequestError, match="must be text"):
        clean_usernames([42])
    with pytest.raises(InvalidRequestError, match="cannot be TikTok handles"):
        clean_usernames(["first last"])


def test_the_tables_keep_the_service_s_usernames_but_their_nuls() -> None:
    frame = pl.DataFrame({"username": ["Mixed.Case\x00", "@kept "]})
    out = frame.select(stored_username_expr(pl.col("username")))["username"].to_list()
    assert out == ["Mixed.Case", "@kept "]


def test_ids_stay_exact_and_carry_their_creation_time() -> None:
    big = 7320768196569599275
    assert clean_ids([str(big), f" {big} ", big]) == [big, big, big]
    with pytest.raises(InvalidRequestError, match="float"):
        clean_ids([7.3e18])
    assert datetime.fromtimestamp(id_time(big), UTC).date() == date(2024, 1, 5)
    now = datetime(2024, 6, 1, tzinfo=UTC).timestamp()
    assert has_id_time(big, now) and not has_id_time(42, now)
    plan = tr.plan.plan_video_ids([big])
    assert plan.tasks[0].window is not None and plan.tasks[0].window[0] == date(2024, 1, 5)


def test_parse_date_accepts_the_documented_forms() -> None:
    d = date(2024, 1, 31)
    assert parse_date(d) == parse_date("20240131") == parse_date("2024-01-31") == d
    assert parse_date(datetime(2024, 1, 31, 23, 0)) == d
    # an aware datetime is taken on its UTC day
    assert parse_date(datetime(2024, 2, 1, 1, 0, tzinfo=timezone(timedelta(hours=5)))) == d
    with pytest.raises(InvalidRequestError, match="YYYYMMDD"):
        parse_date("31/01/2024")


def test_a_datetime_is_its_utc_day_everywhere() -> None:
    """The query's ``create_date`` values and the range's days follow one rule: a datetime
    means its UTC day (the query used the clock's local day before)."""
    late = datetime(2024, 1, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # 04:30 UTC, 2nd
    assert parse_date(late) == date(2024, 1, 2)
    assert tr.Q.create_date.eq(late).field_values == ("20240102",)
    plan = tr.plan_videos(tr.Q.keyword.eq("x"), late, late, warn=False)
    assert plan.tasks[0].params["start_date"] == "20240102"
    assert format_date(date(2024, 3, 5)) == "20240305"
    with pytest.raises(InvalidRequestError, match="not a valid calendar date"):
        tr.Q.create_date.eq("20240230")
    with pytest.raises(InvalidRequestError, match="YYYYMMDD format"):
        tr.Q.create_date.eq("2024-02-01")


# ------------------------------------------------------------------------------ quota family


@pytest.mark.parametrize("name", [*ENDPOINTS, *VALIDATION_ENDPOINTS])
def test_the_registry_says_the_quota_family_and_everyone_asks_it(
    name: str, tmp_path: Path, make_client: MakeClient
) -> None:
    """``_ledger.family_of``, ``client.quota``, ``Plan.quota_family`` and ``refresh_quota`` each
    computed it before; they all read the endpoint registry now."""
    family = (ENDPOINTS.get(name) or VALIDATION_ENDPOINTS[name]).quota_family
    assert quota_family(name) == family
    day = date(2024, 1, 5)
    ledger = Ledger("key", tmp_path)
    ledger.record(name, day, 3)
    assert ledger.used(day)[family] == 3 and sum(ledger.used(day).values()) == 3
    client = make_client(ledger=tmp_path, client_key="key")
    # the client's ledger: same key and folder, and (quota-msgs) the same service, on its day
    Ledger("key", tmp_path, service=client.base_url).record(name, client.quota_day(), 2)
    assert client.quota.used[family] == 2
    plan = tr.Plan(name, "x", "t", {}, [], None, None)
    assert plan.quota_family == family


def test_an_unknown_endpoint_counts_against_the_scarcer_quota() -> None:
    assert quota_family("from_a_newer_version") == "research"


def test_checks_has_an_all_that_resolves() -> None:
    for name in _checks.__all__:
        assert hasattr(_checks, name), name
