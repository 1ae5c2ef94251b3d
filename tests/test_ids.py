"""tr.decode_id: the published id layout (Steel et al., arXiv:2504.13279; api-notes §8), checked
on the real fixture id and on the realistic sandbox, whose ids are made with that layout."""

from __future__ import annotations

import calendar
import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tiktok_research as tr
from tiktok_research.ids import not_video_ids, not_video_reason
from tiktok_research.sandbox import ENTITY_COMMENT, Sandbox, SandboxConfig

REAL = 7320768196569599275  # a real video id of the recorded fixtures (api-notes §8)
NOW = calendar.timegm((2025, 1, 15, 12, 0, 0))


def _with_entity(video_id: int, kind: int) -> int:
    return (video_id & ~0xF00) | (kind << 8)


def test_the_real_fixture_id_decodes_as_published() -> None:
    d = tr.decode_id(REAL)
    assert d.created_at == dt.datetime(2024, 1, 5, 23, 59, 31, 254000, tzinfo=dt.UTC)
    assert (d.milliseconds, d.entity_type, d.entity, d.machine_id) == (254, 13, "video", 43)
    assert d.is_video and d.plausible_time
    assert tr.decode_id(str(REAL)) == d  # text works as well as int


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (7.320768196569599e18, "float"),
        (True, "not an id"),
        (-5, "not a valid id"),
        (2**63, "not a valid id"),
        ("73207681965695992x5", "not an id"),
        (None, "not an id"),
    ],
)
def test_bad_ids_are_refused_with_a_message(value: object, words: str) -> None:
    with pytest.raises(tr.InvalidRequestError, match=words):
        tr.decode_id(value)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_vectorised_decoding_agrees_with_one_at_a_time(value: int) -> None:
    one = tr.decode_id(value)
    row = tr.decode_ids([value]).row(0, named=True)
    assert row["id"] == value
    assert (row["milliseconds"], row["sequence"], row["entity_type"], row["machine_id"]) == (
        one.milliseconds,
        one.sequence,
        one.entity_type,
        one.machine_id,
    )
    assert row["entity"] == one.entity and row["is_video"] == one.is_video
    assert row["plausible_time"] == one.plausible_time
    assert row["created_at"] == one.created_at


def test_the_realistic_sandbox_ids_decode_to_their_create_time_and_type() -> None:
    sb = Sandbox(SandboxConfig.realistic(n_videos=2_000), clock=lambda: NOW)
    frame = sb.corpus.videos_frame()
    ids = frame["id"]
    decoded = tr.decode_ids(ids)
    assert decoded["is_video"].all() and decoded["plausible_time"].all()
    created = pl.Series(
        [dt.datetime.fromtimestamp(int(t), dt.UTC) for t in sb.corpus.create_time]
    ).dt.cast_time_unit("ms")
    lag = (created - decoded["created_at"]).dt.total_seconds()
    # the id is made a few seconds before create_time (api-notes §8: 25-80 s)
    assert lag.min() >= -1 and lag.max() <= 81
    videos = sb.corpus.video_ids_with_comments(5)
    rows = [int(sb.corpus.ids.searchsorted(v)) for v in videos]
    comment_ids = [int(c) for r in rows for c in sb.corpus.comments(r).ids]
    assert comment_ids
    kinds = tr.decode_ids(comment_ids)
    assert (kinds["entity_type"] == ENTITY_COMMENT).all() and not kinds["is_video"].any()
    assert set(not_video_ids(comment_ids)) == set(comment_ids)  # hydrate would name them


def test_the_reasons_name_the_entity_and_leave_videos_alone() -> None:
    assert not_video_reason(REAL) is None
    account = _with_entity(REAL, 4)
    assert "entity type 4: user account" in (not_video_reason(account) or "")
    assert "no plausible creation time" in (not_video_reason(12345) or "")
    # ids without a creation time are not "not videos": the plan already names them
    assert not_video_ids([REAL, account, 12345]) == {
        account: "not a video id by its bits (entity type 4: user account; Steel et al. 2025)"
    }
