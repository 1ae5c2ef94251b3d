"""What a TikTok id says about itself: its creation time to the millisecond and its entity type.

TikTok's ids are 64-bit and snowflake-like. Their layout is **published research, not TikTok
documentation** (Steel et al., "Just another day on TikTok", arXiv:2504.13279; api-notes §8 in
``docs/api-notes.md``)::

    bits 63-32  creation time, unix seconds (UTC)        = id >> 32
    bits 31-22  milliseconds (0-999)
    bits 18-14  sequence (a counter)
    bits 11-8   entity type: 13 video; 0 or 4 user account; 6 device; 11 live session
    bits  7-0   machine id (thought to be a data-centre or machine)

The real video id 7320768196569599275 decodes to 2024-01-05 23:59:31.254 UTC, entity type 13,
machine 43. The entity type of comment ids is not published.

Because the layout is a reconstruction, nothing in the package refuses an id for its bits: an id
whose bits say it is not a video is still looked up, and when it is not found, the reason is named
(:func:`not_video_reason`) in the not-found list of :func:`tiktok_research.fetch_videos_by_id`
and in :func:`tiktok_research.audit_ids`.

Example:
    >>> import tiktok_research as tr
    >>> d = tr.decode_id(7320768196569599275)
    >>> d.created_at.isoformat(timespec="milliseconds")
    '2024-01-05T23:59:31.254+00:00'
    >>> d.entity_type, d.entity, d.is_video, d.machine_id
    (13, 'video', True, 43)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from ._checks import ItemsLike, clean_ids, has_id_time, id_time, read_items

__all__ = [
    "ENTITY_TYPES",
    "ENTITY_VIDEO",
    "DecodedId",
    "decode_id",
    "decode_ids",
    "not_video_ids",
    "not_video_reason",
]

#: Entity types (bits 11-8) named by Steel et al. (arXiv:2504.13279). Others are unnamed.
ENTITY_TYPES: dict[int, str] = {
    0: "user account",
    4: "user account",
    6: "device",
    11: "live session",
    13: "video",
}

#: The entity type of a video id.
ENTITY_VIDEO = 13

#: TikTok (and its ids) began in 2016; an id whose time is earlier, or later than ten years from
#: now, carries no plausible creation time (the rule of ``_checks.has_id_time``, vectorised).
_FIRST = datetime(2016, 1, 1, tzinfo=UTC)
_TEN_YEARS = timedelta(days=3650)

_DECODED_SCHEMA = pl.Schema(
    {
        "id": pl.Int64(),
        "created_at": pl.Datetime("ms", "UTC"),
        "milliseconds": pl.Int16(),
        "sequence": pl.Int16(),
        "entity_type": pl.Int8(),
        "entity": pl.String(),
        "machine_id": pl.Int16(),
        "is_video": pl.Boolean(),
        "plausible_time": pl.Boolean(),
    }
)


@dataclass(frozen=True)
class DecodedId:
    """The fields of one id (see the module docstring for the layout and its source).

    Attributes:
        id: The id.
        created_at: Creation time, UTC, to the millisecond (bits 63-32 and 31-22).
        milliseconds: Bits 31-22 (0-999 in a real id).
        sequence: Bits 18-14.
        entity_type: Bits 11-8 (13 for a video).
        entity: The name of the entity type (:data:`ENTITY_TYPES`), or ``"unknown (N)"``.
        machine_id: Bits 7-0.
        plausible_time: The creation time is between 2016 and ten years from now and the
            milliseconds are below 1000: the id has the published layout.
    """

    id: int
    created_at: datetime
    milliseconds: int
    sequence: int
    entity_type: int
    entity: str
    machine_id: int
    plausible_time: bool

    @property
    def is_video(self) -> bool:
        """The entity bits say "video" (type 13)."""
        return self.entity_type == ENTITY_VIDEO


def _entity(kind: int) -> str:
    return ENTITY_TYPES.get(kind, f"unknown ({kind})")


def _one_id(value: Any) -> int:
    """``value`` as an exact id, by the package's one rule for ids (floats and bools refused)."""
    return clean_ids([value], what="decode_id")[0]


def decode_id(video_id: int | str) -> DecodedId:
    """Decode one id: creation time to the millisecond, entity type, sequence and machine.

    The layout is published research (Steel et al., arXiv:2504.13279), not documentation: use
    ``is_video`` as a hint, never as proof that an id is not a video.

    Args:
        video_id: The id, as int or text (never float: a float cannot hold 19 digits).

    Returns:
        A :class:`DecodedId`.

    Raises:
        InvalidRequestError: ``video_id`` is not a positive 64-bit whole number.

    Example:
        >>> import tiktok_research as tr
        >>> tr.decode_id("7320768196569599275").created_at.isoformat()
        '2024-01-05T23:59:31.254000+00:00'
    """
    number = _one_id(video_id)
    seconds = id_time(number)
    millis = (number >> 22) & 0x3FF
    created = datetime.fromtimestamp(seconds, UTC) + timedelta(milliseconds=min(millis, 999))
    kind = (number >> 8) & 0xF
    plausible = millis <= 999 and has_id_time(number, datetime.now(UTC).timestamp())
    return DecodedId(
        id=number,
        created_at=created,
        milliseconds=millis,
        sequence=(number >> 14) & 0x1F,
        entity_type=kind,
        entity=_entity(kind),
        machine_id=number & 0xFF,
        plausible_time=plausible,
    )


def decode_ids(ids: ItemsLike) -> pl.DataFrame:
    """Decode many ids at once (vectorised): one row per id, in the order given.

    Args:
        ids: Ids (int or text): a list, a Series, or a table with an ``id`` or ``video_id``
            column.

    Returns:
        Columns ``id`` (Int64), ``created_at`` (Datetime ms, UTC), ``milliseconds``,
        ``sequence``, ``entity_type``, ``entity``, ``machine_id``, ``is_video`` and
        ``plausible_time`` (see :class:`DecodedId`).

    Example:
        >>> import tiktok_research as tr
        >>> tr.decode_ids([7320768196569599275])["entity"].to_list()
        ['video']
    """
    fast = isinstance(ids, pl.Series) and ids.dtype in (pl.Int64, pl.Int32, pl.UInt32)
    if fast and isinstance(ids, pl.Series) and ids.null_count() == 0 and ids.min() > 0:  # type: ignore[operator]
        series = ids.cast(pl.Int64).rename("id")  # exact ints, checked positive: no copy to Python
    else:
        values = read_items(ids, ("id", "video_id"), "ids", "decode_ids")
        series = pl.Series("id", clean_ids(values, what="decode_ids"), dtype=pl.Int64)
    latest = (datetime.now(UTC) + _TEN_YEARS).timestamp()
    first = int(_FIRST.timestamp())
    frame = pl.DataFrame({"id": series})
    seconds = pl.col("id") // (1 << 32)
    millis = (pl.col("id") // (1 << 22)) % 1024
    kind = (pl.col("id") // (1 << 8)) % 16
    out = frame.with_columns(
        created_ms=seconds * 1000 + pl.min_horizontal(millis, pl.lit(999)),
        milliseconds=millis,
        sequence=(pl.col("id") // (1 << 14)) % 32,
        entity_type=kind,
        machine_id=pl.col("id") % 256,
    ).with_columns(
        created_at=pl.col("created_ms").cast(pl.Datetime("ms", "UTC")),
        entity=pl.col("entity_type").replace_strict(
            {k: v for k, v in ENTITY_TYPES.items()},
            default=pl.format("unknown ({})", pl.col("entity_type")),
            return_dtype=pl.String,
        ),
        is_video=pl.col("entity_type") == ENTITY_VIDEO,
        plausible_time=(pl.col("milliseconds") <= 999)
        & (pl.col("id") // (1 << 32) >= first)
        & (pl.col("id") // (1 << 32) <= latest),
    )
    return out.select(list(_DECODED_SCHEMA)).cast(_DECODED_SCHEMA)


def not_video_reason(video_id: int) -> str | None:
    """Why an id that was not found is probably not a video id, from its bits; None when its
    bits say video (or it cannot be decoded at all).

    Example:
        >>> not_video_reason(7320768196569599275) is None
        True
        >>> not_video_reason((7320768196569599275 & ~0xF00) | (4 << 8))
        'not a video id by its bits (entity type 4: user account; Steel et al. 2025)'
    """
    d = decode_id(video_id)
    if not d.plausible_time:
        return "no plausible creation time in its bits (not a TikTok id of the published layout)"
    if d.is_video:
        return None
    return (
        f"not a video id by its bits (entity type {d.entity_type}: {d.entity}; Steel et al. 2025)"
    )


def not_video_ids(ids: list[int]) -> dict[int, str]:
    """The ids (among ``ids``, which were not found) whose entity bits say they are not video
    ids, with that reason, in the order given. Ids without a plausible creation time are left
    out: they were never asked, and the plan says so.

    Example:
        >>> device = (7320768196569599275 & ~0xF00) | (6 << 8)
        >>> list(not_video_ids([7320768196569599275, device]).values())
        ['not a video id by its bits (entity type 6: device; Steel et al. 2025)']
    """
    frame = decode_ids(ids) if ids else None
    if frame is None:
        return {}
    odd = frame.filter(pl.col("plausible_time") & ~pl.col("is_video"))
    return {
        int(i): f"not a video id by its bits (entity type {k}: {e}; Steel et al. 2025)"
        for i, k, e in odd.select("id", "entity_type", "entity").iter_rows()
    }
