"""The known truths of a sandbox: what its data-quality behaviours (api-notes §14) did, for tests.

A quality report, an availability audit or a stratified sample measures what the service left
out; on the sandbox the answer is known exactly. :attr:`Sandbox.truth` reads it, as of the
sandbox clock (the corpus changes with it), and ``GET /_sandbox/truth``,
``POST /_sandbox/truth/query`` and ``POST /_sandbox/truth/ids`` give the same over HTTP.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from ._config import FailingRange
from ._corpus import REGIONS
from ._params import ApiError, parse_date
from ._query import VideoQuery, evaluate_detail, failing_range, parse_query

if TYPE_CHECKING:
    from ..query import QueryLike
    from ._core import RandomDraw, Sandbox

#: What :meth:`KnownTruths.video_status` says of an id, in order of precedence.
VIDEO_STATUSES: tuple[str, ...] = (
    "unknown",  # no such video in the corpus
    "hidden",  # deleted or private before the epoch (a hidden slot in query pages)
    "removed",  # deleted or made private since (the clock, or Sandbox.delete_videos)
    "unreturnable",  # exists, but the service never returns it (missing_video_rate)
    "not_indexed",  # newer than the index lag at the sandbox's now
    "returned",  # a query or a look-up by id returns it
)

Per = Literal["day", "week", "month"]
_TRUNCATE = {"day": "1d", "week": "1w", "month": "1mo"}
_STRATA = ("region_code", "username")


def _query_of(query: Any) -> VideoQuery:
    """The API's query checked: a dict (``{"and": [...]}``, one condition, or a request body),
    or the package's query objects (``tr.Q`` expressions, ``Query``, ``Criteria``), read through
    their public ``to_query()`` / ``to_dict()`` (the sandbox imports nothing of the client)."""
    raw = query
    if hasattr(raw, "to_query"):
        raw = raw.to_query()
    if hasattr(raw, "to_dict"):
        raw = raw.to_dict()
    if isinstance(raw, Mapping) and "query" in raw and set(raw) - {"and", "or", "not"}:
        raw = raw["query"]  # a whole request body
    if isinstance(raw, Mapping) and "field_name" in raw:
        raw = {"and": [raw]}  # one condition
    try:
        return parse_query(raw)
    except ApiError as exc:
        raise ValueError(f"not a valid video query: {exc.message}") from None


def _date_of(value: dt.date | str, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return parse_date(str(value).replace("-", ""), name)
    except ApiError as exc:
        raise ValueError(exc.message) from None


@dataclass(frozen=True)
class QueryTruth:
    """What the service answers for one video query and window, slot by slot.

    Attributes:
        fails: the window touches a failing range: every request answers HTTP 500.
        frame: one row per cursor slot, in the order the pages return them (decreasing id):
            ``id``, ``create_time`` (UTC), ``username``, ``region_code``, ``has_voice_to_text``,
            ``returned`` (False: a hidden slot, deleted or private, counted by the cursor but
            not returned) and ``stray`` (a planted row of another account, for a username
            query). Strays are returned rows.
        missing_ids: videos that meet the query but that the service never returns
            (``missing_video_rate``); they take no slot.
    """

    fails: bool
    frame: pl.DataFrame
    missing_ids: tuple[int, ...]

    @property
    def slots(self) -> int:
        """How far the cursor moves over the whole result (the ``cursor`` of the last page)."""
        return self.frame.height

    @property
    def returned(self) -> int:
        """Rows the pages return, all pages together."""
        return int(self.frame["returned"].sum())

    @property
    def hidden_slots(self) -> int:
        """Slots counted by the cursor whose item is not returned."""
        return self.slots - self.returned

    @property
    def hidden_share(self) -> float:
        """``hidden_slots / slots`` (0.0 for an empty result)."""
        return self.hidden_slots / self.slots if self.slots else 0.0

    @property
    def stray_ids(self) -> list[int]:
        """Ids of the planted stray rows that the pages return (decreasing)."""
        rows = self.frame.filter(pl.col("stray") & pl.col("returned"))
        return [int(i) for i in rows["id"]]

    def strata(self, per: Per | None = None, by: Sequence[str] = ()) -> pl.DataFrame:
        """The size of each stratum of the returned rows: the population an ``is_random``
        request of this query and window samples from.

        Args:
            per: ``"day"``, ``"week"`` (weeks start on Monday) or ``"month"`` of
                ``create_time`` (UTC), in a column ``period`` (a date, the first day); None:
                no time strata.
            by: further columns: ``"region_code"`` and/or ``"username"``.

        Returns:
            One row per stratum with at least one returned video: the key columns and
            ``videos``, sorted by the keys.
        """
        unknown = sorted(set(by) - set(_STRATA))
        if unknown:
            raise ValueError(f"strata can be {', '.join(_STRATA)}; got {', '.join(unknown)}")
        if per is not None and per not in _TRUNCATE:
            raise ValueError(f"per must be 'day', 'week', 'month' or None, got {per!r}")
        rows = self.frame.filter(pl.col("returned"))
        keys = list(by)
        if per is not None:
            rows = rows.with_columns(
                period=pl.col("create_time").dt.truncate(_TRUNCATE[per]).dt.date()
            )
            keys = ["period", *keys]
        if not keys:
            return pl.DataFrame({"videos": [rows.height]}, schema={"videos": pl.Int64})
        return rows.group_by(keys).agg(videos=pl.len().cast(pl.Int64)).sort(keys)


class KnownTruths:
    """What a :class:`Sandbox`'s data-quality behaviours did, as of its clock (``sandbox.truth``).

    Example:
        >>> from tiktok_research.sandbox import Sandbox, SandboxConfig
        >>> sb = Sandbox(SandboxConfig.realistic(n_videos=2_000), clock=lambda: 1_736_942_400.0)
        >>> t = sb.truth.query({"and": [{"operation": "EQ", "field_name": "region_code",
        ...                             "field_values": ["US"]}]}, "20240101", "20240130")
        >>> t.slots == t.returned + t.hidden_slots
        True
        >>> sb.truth.window_fails({"and": [{"operation": "EQ", "field_name": "hashtag_name",
        ...                                 "field_values": ["cats"]}]}, "20240301", "20240310")
        True
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self._sb = sandbox

    # ------------------------------------------------------------------ the configured profile
    @property
    def failing_ranges(self) -> tuple[FailingRange, ...]:
        """The configured failing ranges (api-notes §14 #8)."""
        return self._sb.config.failing_ranges

    def profile(self) -> dict[str, Any]:
        """Every data-quality setting in force, and the realised share of unreturnable videos.

        JSON-ready: rates as numbers, failing ranges as ``{"start", "end", "field"}``.
        """
        cfg = self._sb.config
        corpus = self._sb.corpus
        visible = int((~corpus.hidden).sum())
        missing = int(corpus.unreturnable.sum())
        return {
            "hidden_share": cfg.hidden_share,
            "comment_hidden_share": cfg.comment_hidden_share,
            "failing_ranges": [r.to_dict() for r in cfg.failing_ranges],
            "missing_video_rate": cfg.missing_video_rate,
            "missing_account_share": cfg.missing_account_share,
            "username_stray_rate": cfg.username_stray_rate,
            "voice_to_text_rate": cfg.voice_to_text_rate,
            "voice_to_text_region_weights": dict(cfg.voice_to_text_region_weights or {}),
            "random_yield": list(cfg.random_yield) if cfg.random_yield else None,
            "id_layout": cfg.id_layout,
            "removal_rate": cfg.active_removal_rate,
            "count_growth": cfg.active_count_growth,
            "frozen_corpus": cfg.frozen_corpus,
            "videos": corpus.n_videos,
            "visible_videos": visible,
            "unreturnable_videos": missing,
            "unreturnable_share": missing / visible if visible else 0.0,
        }

    # ------------------------------------------------------------------ windows and ids
    def window_fails(
        self, query: QueryLike, start_date: dt.date | str, end_date: dt.date | str
    ) -> bool:
        """Whether every request for ``query`` over the window answers HTTP 500."""
        q = _query_of(query)
        start, end = _date_of(start_date, "start_date"), _date_of(end_date, "end_date")
        return failing_range(self._sb.config.failing_ranges, q, start, end) is not None

    def unreturnable_ids(self) -> list[int]:
        """Ids of the videos that exist (visible when generated) but are never returned, by a
        query or by id, in increasing order; the same at every clock time."""
        corpus = self._sb.corpus
        return [int(i) for i in corpus.ids[corpus.unreturnable]]

    def video_status(self, ids: Iterable[int | str]) -> pl.DataFrame:
        """What a look-up by id would find now: ``id`` and ``status`` (one of
        :data:`VIDEO_STATUSES`), in the order given."""
        sb = self._sb
        corpus = sb.corpus
        wanted = [int(i) for i in ids]
        arr = np.array(wanted, dtype=np.int64)
        pos = np.searchsorted(corpus.ids, arr).clip(0, max(corpus.n_videos - 1, 0))
        known = corpus.ids[pos] == arr
        now = sb.clock()
        days = sb.days_passed(now)
        gone = np.zeros(arr.size, dtype=bool)
        gone[known] = corpus.gone(pos[known], days, now)
        newest = now - sb.config.index_lag_hours * 3600
        status = np.full(arr.size, "returned", dtype=object)
        status[known & (corpus.create_time[pos] > newest)] = "not_indexed"
        status[known & corpus.unreturnable[pos]] = "unreturnable"
        status[known & gone] = "removed"
        status[known & corpus.hidden[pos]] = "hidden"
        status[~known] = "unknown"
        return pl.DataFrame(
            {"id": wanted, "status": status.tolist()}, schema={"id": pl.Int64, "status": pl.String}
        )

    # ------------------------------------------------------------------ one query
    def query(
        self, query: QueryLike, start_date: dt.date | str, end_date: dt.date | str
    ) -> QueryTruth:
        """What the service answers now for ``query`` over ``[start_date, end_date]``.

        Args:
            query: the API's query dict (``{"and": [...]}``), or a ``tr.Q`` expression,
                ``Query`` or ``Criteria``.
            start_date: the first day of the window (a date, ``YYYYMMDD`` or ``YYYY-MM-DD``).
            end_date: the last day of the window, inclusive (the same forms).
        """
        sb = self._sb
        corpus = sb.corpus
        q = _query_of(query)
        start, end = _date_of(start_date, "start_date"), _date_of(end_date, "end_date")
        now = sb.clock()
        days = sb.days_passed(now)
        newest = now - sb.config.index_lag_hours * 3600
        rows, strays = evaluate_detail(corpus, q, start, end, newest, days)
        returned = ~corpus.gone(rows, days, now)
        frame = pl.DataFrame(
            {
                "id": corpus.ids[rows],
                "create_time": corpus.create_time[rows] * 1_000_000,
                "username": [corpus.usernames[u] for u in corpus.author[rows].tolist()],
                "region_code": [REGIONS[r] for r in corpus.region[rows].tolist()],
                "has_voice_to_text": corpus.voice_idx[rows] >= 0,
                "returned": returned,
                "stray": strays,
            },
            schema={
                "id": pl.Int64,
                "create_time": pl.Int64,
                "username": pl.String,
                "region_code": pl.String,
                "has_voice_to_text": pl.Boolean,
                "returned": pl.Boolean,
                "stray": pl.Boolean,
            },
        ).with_columns(pl.col("create_time").cast(pl.Datetime("us", "UTC")))
        missing: tuple[int, ...] = ()
        if sb.config.missing_video_rate > 0:
            missing = self._missing(q, start, end, newest, days)
        fails = failing_range(sb.config.failing_ranges, q, start, end) is not None
        return QueryTruth(fails, frame, missing)

    def _missing(
        self, q: VideoQuery, start: dt.date, end: dt.date, newest: float, days: int
    ) -> tuple[int, ...]:
        """Visible videos that meet ``q`` but are unreturnable (the query without that filter)."""
        corpus = self._sb.corpus
        rows, strays = evaluate_detail(corpus, q, start, end, newest, days, with_unreturnable=True)
        rows = rows[~strays & corpus.unreturnable[rows] & ~corpus.hidden[rows]]
        return tuple(int(i) for i in corpus.ids[rows])

    # ------------------------------------------------------------------ fields and samples
    def voice_to_text_share(self, by: str | None = "region_code") -> pl.DataFrame:
        """The share of returnable videos with ``voice_to_text``, overall or by ``region_code``:
        columns (``region_code``), ``videos``, ``with_voice_to_text`` and ``share``."""
        corpus = self._sb.corpus
        frame = corpus.videos_frame().filter(~pl.col("hidden") & ~pl.col("unreturnable"))
        if by not in (None, "region_code"):
            raise ValueError(f"by must be 'region_code' or None, got {by!r}")
        grouped = frame.group_by(by) if by else frame.group_by(pl.lit(True).alias("_all"))
        out = grouped.agg(
            videos=pl.len().cast(pl.Int64),
            with_voice_to_text=pl.col("has_voice_to_text").sum().cast(pl.Int64),
        ).with_columns(share=pl.col("with_voice_to_text") / pl.col("videos"))
        return out.sort(by) if by else out.drop("_all")

    @property
    def random_draws(self) -> list[RandomDraw]:
        """Every ``is_random`` answer so far: asked, available, returned and the yield drawn."""
        with self._sb._lock:
            return list(self._sb._random_draws)
