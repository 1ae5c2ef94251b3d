"""Keep a dataset true after the first collection: compliant, current, and growing.

* :func:`refresh_videos`: which videos of a table or dataset are gone (the batch compliance check),
  and current counts for the rest (looked up by id); removed content is dropped by default, as the
  Research API's terms ask.
* :func:`update_videos`: continue a monitoring collection from the day after the last one held up
  to the newest day the service has indexed, appending to a Parquet dataset.
* :func:`dehydrate`: the id list to share a dataset (others hydrate it with
  :func:`tiktok_research.fetch_videos_by_id`).

:func:`plan_refresh` and :func:`plan_update` say what a refresh or an update would ask and cost
(a dry run), and :func:`refresh_destination` where a refresh of a table file or folder writes.
All of them plan first (nothing is sent for a mistake), archive every answer and can be run again
after an interruption at no cost for what is held.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from . import schemas
from ._archive import REFRESH_INPUT_FILE
from ._checks import TableLike, check_day, check_fields, check_folder, format_date
from ._dataset import check as check_dataset
from ._dataset import check_writable, finish_swap
from ._endpoints import ENDPOINTS
from ._windows import NOT_INDEXED_DAYS
from .client import Client, check_client
from .collect import CollectionReport, FetchResult, span_provenance
from .errors import InvalidRequestError, TikTokResearchError
from .plan import Plan
from .query import QueryLike

__all__ = [
    "RefreshDestination",
    "RefreshPlan",
    "RefreshReport",
    "UpdatePlan",
    "UpdateReport",
    "dehydrate",
    "dehydrated_ids",
    "plan_refresh",
    "plan_update",
    "refresh_destination",
    "refresh_videos",
    "update_range",
    "update_videos",
]

_COUNTS = ("view_count", "like_count", "comment_count", "share_count", "favorites_count")
UPDATE_STATE = "_tiktok_research_update.json"
#: Written in the archive's compliance folder of a refresh when the refresh is complete.
REFRESH_DONE = "manifest-refresh.json"
#: Written in the archive's compliance folder of a refresh before its table is rewritten in
#: place: the table, its ids (in order) and the fields asked for, so that a run killed after
#: the rewrite (the ids found gone no longer in the table) finishes the same round.
REFRESH_INPUT = REFRESH_INPUT_FILE


@dataclass
class RefreshReport(CollectionReport):
    """What :func:`refresh_videos` did.

    Attributes:
        removed: Ids the compliance check found deleted or private.
        not_refreshed: Ids still valid whose current values could not be fetched (kept with their
            old values and no ``retrieved_at``).
        changed: Rows whose counts changed.
        totals: ``{count column: (sum before, sum after)}`` over the rows kept.
        dropped: Whether removed rows were dropped from the table.
    """

    removed: list[int] = field(default_factory=list)
    not_refreshed: list[int] = field(default_factory=list)
    changed: int = 0
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)
    dropped: bool = True

    def __str__(self) -> str:
        head = CollectionReport.__str__(self).splitlines()
        lines = [head[0]]
        what = "dropped" if self.dropped else "kept (drop_removed=False)"
        lines.append(f"  removed (deleted or private): {len(self.removed):,}, {what}")
        lines.append(f"  counts changed on {self.changed:,} video(s)")
        for column, (before, after) in self.totals.items():
            lines.append(f"    {column}: {before:,} -> {after:,}")
        if self.not_refreshed:
            lines.append(f"  not refreshed (valid but not found now): {len(self.not_refreshed):,}")
        return "\n".join(lines + head[1:])


@dataclass
class UpdateReport(CollectionReport):
    """What :func:`update_videos` did.

    Attributes:
        first: The first day the run collected (UTC); None when there was nothing new.
        last: The last day the run collected, inclusive; None when there was nothing new.
        through: With nothing new: the last day the dataset holds, which is the newest day the
            service has indexed in full (the run sent nothing).
        dataset: The dataset folder.
    """

    first: date | None = None
    last: date | None = None
    through: date | None = None
    dataset: Path | None = None

    @property
    def nothing_new(self) -> bool:
        """True when the dataset held every day the service has indexed: nothing was sent."""
        return self.first is None

    def __str__(self) -> str:
        if not self.nothing_new:
            return CollectionReport.__str__(self)
        return f"{self.kind or 'update'}: {_nothing_new(self.dataset, self.through)}"

    @classmethod
    def of(
        cls, report: CollectionReport, first: date, last: date, dataset: Path | None = None
    ) -> UpdateReport:
        """``report`` with the days of the run."""
        values = {f.name: getattr(report, f.name) for f in dataclass_fields(CollectionReport)}
        values["kind"] = "update"  # as the report of a run with nothing new is called
        return cls(**values, first=first, last=last, dataset=dataset)


def _nothing_new(dataset: Path | None, through: date | None) -> str:
    """The one sentence for an update with nothing new (the plan's and the run's)."""
    held = f"{dataset} holds" if dataset is not None else "the dataset holds"
    day = through.isoformat() if through is not None else "?"
    return (
        f"nothing new to collect: {held} every day up to {day}, the newest day the service "
        "has indexed in full; no data request sent"
    )


def _videos(videos: TableLike | str | Path) -> tuple[pl.DataFrame, Path | None]:
    """A videos table from a table (polars/pandas/Arrow), a Parquet file or a dataset folder."""
    if isinstance(videos, (str, Path)):
        path = Path(videos).expanduser()
        finish_swap(path)  # a refresh of this dataset killed between its two renames
        if not path.exists():
            raise InvalidRequestError(f"{path} does not exist; pass a videos table or dataset")
        if path.is_dir():
            from .io import read_dataset

            if not any(path.rglob("*.parquet")):
                raise InvalidRequestError(f"{path} holds no Parquet files")
            return read_dataset(path, table="videos").drop(
                "create_month", strict=False
            ).collect(), path
        from .io import read_table

        try:  # a .parquet, .csv or .jsonl file the package (or the command line) wrote
            return read_table(path), None
        except ValueError as e:
            raise InvalidRequestError(
                f"{e}; pass a videos table, a .parquet, .csv or .jsonl file, or a dataset folder"
            ) from None
    if isinstance(videos, pl.LazyFrame):
        return videos.collect(), None
    if isinstance(videos, pl.DataFrame):
        return videos, None
    module = type(videos).__module__.split(".")[0]
    if module == "pandas":
        return pl.from_pandas(videos), None
    if module == "pyarrow":
        frame = pl.from_arrow(videos)
        if isinstance(frame, pl.DataFrame):
            return frame, None
    raise InvalidRequestError(
        f"refresh_videos needs a videos table (polars, pandas or Arrow), a Parquet file or a "
        f"dataset folder, got {type(videos).__name__}"
    )


def refresh_videos(
    videos: TableLike | str | Path,
    *,
    drop_removed: bool = True,
    fields: Sequence[str] | str | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    poll: tuple[float, float] = (10.0, 300.0),
) -> FetchResult:
    """Refresh a videos table: drop what is gone, and fetch current counts for the rest.

    Two steps, both archived and resumable: the batch compliance check of every id
    (:func:`tiktok_research.check_compliance`), then a look-up by id of the videos still valid
    (:func:`tiktok_research.fetch_videos_by_id`, one request per window and batch of 100).
    Counts (views, likes, comments, shares) are archived values that grow; the refreshed table
    says when each row was retrieved.

    A dataset folder is rewritten in place, safely: the new files are written beside it, then the
    folders are swapped, so there is never a half-written dataset.

    Args:
        videos: A videos table (polars, pandas, Arrow), a Parquet file, or a dataset folder
            (rewritten in place).
        drop_removed: Drop deleted and private videos (default: keeping them is what the terms
            forbid). With False they are kept with their old values and no ``retrieved_at``.
        fields: Fields to fetch again (default: the table's columns that the API returns).
        client: As for :func:`tiktok_research.fetch_videos`.
        archive: As for :func:`tiktok_research.fetch_videos`.
        resume: As for :func:`tiktok_research.fetch_videos`.
        progress: As for :func:`tiktok_research.fetch_videos`.
        poll: As for :func:`tiktok_research.check_compliance`.

    Returns:
        The refreshed table (:data:`tiktok_research.schemas.REFRESHED_VIDEOS`), in the order of
        the input, with ``.report`` a :class:`RefreshReport`.

    Example:
        >>> import tiktok_research as tr
        >>> q = tr.Q.hashtag_name.eq("climate")
        >>> videos = tr.fetch_videos(q, "2024-01-01", "2024-01-31", max_total=50)
        >>> _ = tr.write_dataset(videos, "data/videos", table="videos")
        >>> fresh = tr.refresh_videos("data/videos", archive="archive/")
        >>> fresh.report.complete, fresh.height <= videos.height
        (True, True)
    """
    result, finish = refresh_round(
        videos, drop_removed=drop_removed, fields=fields, client=client, archive=archive,
        resume=resume, progress=progress, poll=poll,
    )  # fmt: skip
    finish()
    return result


def refresh_round(
    videos: TableLike | str | Path,
    *,
    drop_removed: bool = True,
    fields: Sequence[str] | str | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    poll: tuple[float, float] = (10.0, 300.0),
    rewrites: Path | None = None,
) -> tuple[FetchResult, Callable[[], None]]:
    """:func:`refresh_videos` for a caller that writes the refreshed table itself (the
    ``refresh`` command): the round is recorded finished in the archive only by the callable
    returned, once the caller has written its output. A caller killed before that finishes the
    same round from the archive when run again, with no request, and writes the same output.
    The other arguments are those of :func:`refresh_videos`.

    Args:
        rewrites: The table file the caller rewrites in place with the result (a dataset folder
            given as ``videos`` is rewritten here, as by :func:`refresh_videos`). Its ids are
            recorded in the round before it is rewritten: the rewritten table no longer holds
            the ids found gone, and the round is found again from that record.
    """
    from ._archive import write_json
    from .fetch import compliance_round, videos_by_id

    check_client(client)
    check_folder(archive, "archive")
    if not isinstance(drop_removed, bool):
        raise InvalidRequestError(f"drop_removed must be True or False, got {drop_removed!r}")
    old, dataset, ids, fields = _refresh_input(videos, fields)
    if dataset is not None:  # rewritten in place at the end: found now, not after paying
        check_writable(dataset, swapped=True)
    rewritten = dataset if dataset is not None else rewrites
    if archive is not None and rewritten is not None and resume:
        held = _interrupted_round(Path(archive), rewritten, ids)
        if held is not None:  # killed after rewriting its table, before it recorded the end
            ids, fields = held
    # A refresh is a snapshot: one that finished is never continued (the same call later is a
    # new round in the archive); one that stopped is continued, its compliance task included.
    valid = compliance_round(
        ids, "video", client=client, archive=archive, resume=resume, progress=progress,
        poll=poll, finished=lambda folder: (folder / REFRESH_DONE).is_file(), part_of="refresh",
    )  # fmt: skip
    round_folder = valid.report.archive if archive is not None else None
    still = valid.filter(pl.col("valid")).get_column("id")
    fresh = None
    if still.len():
        part_of = round_folder.name if round_folder else None
        fresh = videos_by_id(still, fields=fields, client=client, archive=archive,
                             resume=resume, progress=progress, part_of=part_of,
                             retrieved_at=True)  # fmt: skip
    parts = [valid.report] + ([fresh.report] if fresh is not None else [])
    report = RefreshReport.combine(
        parts, endpoint="video_query", kind="refresh", table="refreshed_videos",
        archive=parts[-1].archive, dropped=drop_removed,
    )  # fmt: skip
    report.removed = valid.filter(~pl.col("valid")).get_column("id").to_list()
    new = (
        pl.DataFrame(fresh) if fresh is not None else pl.DataFrame(schema=schemas.REFRESHED_VIDEOS)
    )
    report.not_refreshed = [i for i in still.to_list() if i not in set(new["id"].to_list())]
    table = _refreshed(old, new, report.removed if drop_removed else [])
    _compare(old, table, report)
    report.rows = table.height
    if round_folder is not None and report.complete and rewritten is not None:
        write_json(
            round_folder / REFRESH_INPUT,
            {"table": str(rewritten.resolve()), "ids": ids.to_list(), "fields": fields},
        )
    if dataset is not None and report.complete:
        _rewrite_dataset(dataset, table, report.retrieved)

    def finish() -> None:
        if round_folder is not None and report.complete:
            write_json(
                round_folder / REFRESH_DONE, {"rows": table.height, "removed": report.removed}
            )

    failures = valid.failures if fresh is None else pl.concat([valid.failures, fresh.failures])
    return FetchResult.wrap(table, report, failures), finish


def _interrupted_round(
    archive: Path, table: Path, ids: pl.Series
) -> tuple[pl.Series, Sequence[str] | str] | None:
    """The ids and fields of a refresh round of ``table`` in ``archive`` that rewrote the table
    but was killed before it recorded its end (:data:`REFRESH_INPUT` without
    :data:`REFRESH_DONE`), when the table holds no id that round did not check; else None."""
    key = str(table.resolve())
    found = archive.glob(f"compliance_video-*/{REFRESH_INPUT}")
    for path in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True):
        if (path.parent / REFRESH_DONE).is_file():
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if record["table"] != key:
                continue
            held = pl.Series("id", [int(i) for i in record["ids"]], dtype=ids.dtype)
            fields = record["fields"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: a new round, as before the record was kept
        if ids.is_in(held).all():
            return held, fields
    return None


def _refreshed(old: pl.DataFrame, new: pl.DataFrame, removed: list[int]) -> pl.DataFrame:
    """The rows of ``old`` (in its order) with the values of ``new`` where it has them, without
    ``removed``; rows not fetched again keep their old values and no ``retrieved_at``."""
    keep_ids = old.select("id").filter(~pl.col("id").is_in(removed))
    stale = old.join(new.select("id"), on="id", how="anti").with_columns(
        pl.lit(None, schemas.TIMESTAMP).alias("retrieved_at")
    )
    merged = pl.concat(
        [new.join(keep_ids, on="id", how="semi"), stale.join(keep_ids, on="id", how="semi")],
        how="vertical",
    )
    order = old.select("id").with_row_index("_order")
    table = (
        merged.join(order, on="id", how="left")
        .sort("_order")
        .drop("_order")
        .unique("id", keep="first", maintain_order=True)
    )
    return table.select(list(schemas.REFRESHED_VIDEOS)).cast(dict(schemas.REFRESHED_VIDEOS))  # type: ignore[arg-type]


def _refresh_input(
    videos: TableLike | str | Path, fields: Sequence[str] | str | None
) -> tuple[pl.DataFrame, Path | None, pl.Series, Sequence[str] | str]:
    """The table to refresh, checked and cast to the videos schema; the dataset folder it came
    from (or None); its unique ids; and the fields to fetch again (default: the table's columns
    that hold a value). Raises before anything is sent."""
    check_fields(ENDPOINTS["video_query"], fields)  # before the compliance check spends anything
    old, dataset = _videos(videos)
    if "id" not in old.columns:
        raise InvalidRequestError(
            f"the videos table has no id column (it has {', '.join(old.columns[:12])})"
        )
    if old.schema["id"].is_float():  # e.g. a pandas column with a NaN: the ids are rounded
        raise InvalidRequestError(
            "the id column holds floats, which cannot hold 19-digit ids exactly (they may "
            "already have lost digits). Read the table with ids as Int64 or text (pandas: "
            "dtype={'id': 'Int64'} or str), never float"
        )
    old = schemas.cast(old.select([c for c in old.columns if c in schemas.VIDEOS]), "videos")
    ids = old.get_column("id").drop_nulls().unique(maintain_order=True)
    if fields is None:
        fields = [
            c for c in old.columns if c in schemas.VIDEOS and old[c].null_count() < old.height
        ]
        fields = fields if "id" in fields else ["id", *fields]
    return old, dataset, ids, fields


@dataclass
class RefreshPlan:
    """What :func:`refresh_videos` would ask and cost (:func:`plan_refresh`); nothing sent.

    The table is checked when the plan is made; its two steps are planned when first asked for
    (:attr:`checks`, :attr:`lookups`, the costs, ``str``), as planning the look-ups of a large
    table takes seconds.

    Attributes:
        name: The table, as the plan names it (its path, or ``"the table"``).
        rows: Rows of the table.
        ids: The unique ids of the table, in order.
        fields: The fields the look-ups ask for.
    """

    name: str
    rows: int
    ids: pl.Series = field(repr=False)
    fields: Sequence[str] | str
    client: Client | None = field(default=None, repr=False)
    warn: bool = field(default=True, repr=False)

    @cached_property
    def checks(self) -> Plan:
        """Step 1, the compliance check of every id
        (:func:`tiktok_research.plan.plan_compliance`)."""
        from .plan import plan_compliance

        return plan_compliance(self.ids, "video", client=self.client, warn=self.warn)

    @cached_property
    def lookups(self) -> Plan:
        """Step 2 at most, the look-up by id of every video with the fields a refresh asks for
        (:func:`tiktok_research.plan.plan_video_ids`): only the videos still valid are looked up.
        """
        from .plan import plan_video_ids

        return plan_video_ids(self.ids, fields=self.fields, client=self.client, warn=self.warn,
                              func="refresh_videos")  # fmt: skip

    @property
    def min_requests(self) -> int:
        """The least the refresh costs: the compliance tasks, each checked once."""
        return self.checks.min_requests

    @property
    def max_requests(self) -> int:
        """About the most it costs, without the status checks of tasks still Processing."""
        return self.checks.min_requests + self.lookups.min_requests

    def __str__(self) -> str:
        return "\n".join(
            [
                f"refresh of {self.name}: {self.rows:,} rows, {len(self.checks.tasks)} task(s)",
                "1. " + str(self.checks),
                "2. the videos still valid, by id (at most):\n" + str(self.lookups),
                f"in all: at least {self.min_requests:,} request(s), at most about "
                f"{self.max_requests:,} plus the status checks",
            ]
        )


def plan_refresh(
    videos: TableLike | str | Path,
    *,
    fields: Sequence[str] | str | None = None,
    client: Client | None = None,
    warn: bool = True,
    name: str | None = None,
) -> RefreshPlan:
    """What :func:`refresh_videos` would ask and cost, checked as it checks; nothing sent.

    Args:
        videos: As for :func:`refresh_videos`.
        fields: As for :func:`refresh_videos` (default: the table's columns that hold a value,
            the fields a refresh asks for).
        client: The client that will run it (its clock, its quota ledger).
        warn: Issue the plans' warnings as Python warnings.
        name: How the plan names the table (default: the path given, else "the table").

    Returns:
        The two steps and the cost of both (planned when first asked for).

    Raises:
        InvalidRequestError: as :func:`refresh_videos` would, before anything is sent.

    Example:
        >>> import polars as pl
        >>> plan = plan_refresh(pl.DataFrame({"id": [7320768158545159950], "view_count": [5]}))
        >>> plan.min_requests, plan.max_requests, plan.lookups.fields
        (3, 4, ['id', 'view_count'])
    """
    client = check_client(client)
    old, _, ids, fields = _refresh_input(videos, fields)
    if name is None:
        name = str(videos) if isinstance(videos, (str, Path)) else "the table"
    return RefreshPlan(name, old.height, ids, fields, client=client, warn=warn)


@dataclass(frozen=True)
class RefreshDestination:
    """Where a refresh of a table file or dataset folder writes (:func:`refresh_destination`).

    Attributes:
        path: The file or folder the refreshed table goes to.
        in_place: ``path`` is the table itself, rewritten only once the refresh is complete.
        swap_dataset: ``path`` is a dataset folder that :func:`refresh_videos`, given that
            folder, rewrites itself (new files beside it, then a swap of the folders). Otherwise
            the caller writes the refreshed table to ``path`` (a file: in its own format).
    """

    path: Path
    in_place: bool
    swap_dataset: bool


def refresh_destination(table: str | Path, out: str | Path | None = None) -> RefreshDestination:
    """Where a refresh of ``table`` (a file or a dataset folder) writes, as ``refresh`` does.

    The table is made current: ``table`` itself is rewritten in its own format (a dataset
    folder is swapped for a new one), unless ``out`` names another file, in which case
    ``table`` is left as it is.

    Example:
        >>> where = refresh_destination("videos.csv")
        >>> str(where.path), where.in_place, where.swap_dataset
        ('videos.csv', True, False)
        >>> refresh_destination("videos.csv", "current.parquet").in_place
        False
    """
    if out is not None:
        return RefreshDestination(Path(out), in_place=False, swap_dataset=False)
    path = Path(table)
    return RefreshDestination(path, in_place=True, swap_dataset=path.is_dir())


def _compare(old: pl.DataFrame, new: pl.DataFrame, report: RefreshReport) -> None:
    columns = [c for c in _COUNTS if c in old.columns and c in new.columns]
    both = old.select("id", *columns).join(
        new.filter(pl.col("retrieved_at").is_not_null()).select("id", *columns),
        on="id",
        suffix="_new",
    )
    if not columns or both.height == 0:
        return
    changed = pl.any_horizontal(
        [pl.col(c).fill_null(-1) != pl.col(f"{c}_new").fill_null(-1) for c in columns]
    )
    report.changed = int(both.filter(changed).height)
    for c in columns:
        report.totals[c] = (
            int(both[c].fill_null(0).sum()),
            int(both[f"{c}_new"].fill_null(0).sum()),
        )


def _rewrite_dataset(
    folder: Path, table: pl.DataFrame, retrieved: tuple[datetime, datetime] | None = None
) -> None:
    """Replace a dataset by ``table``: new files beside it, then a swap of the two folders. The
    files record when their rows were retrieved: from the dataset's oldest row (rows not fetched
    again keep their values) to this refresh's last answer."""
    from ._dataset import replacing
    from .io import _dataset_span, write_dataset

    stamp = uuid.uuid4().hex[:8]
    spans = [s for s in (_dataset_span(folder), retrieved) if s is not None]
    span = (min(a for a, _ in spans), max(b for _, b in spans)) if spans else None
    with replacing(folder) as staging:
        write_dataset(
            table.drop("retrieved_at"),
            staging,
            table="videos",
            run_id=f"refresh-{stamp}",
            provenance={"refreshed_at": str(table["retrieved_at"].max()), **span_provenance(span)},
        )
        # every file that is not the dataset's data (the update state, a README, notes...) is
        # kept
        for extra in folder.rglob("*"):
            if extra.is_file() and extra.suffix != ".parquet":
                target = staging / extra.relative_to(folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(extra, target)


def update_videos(
    query: QueryLike,
    dataset: str | Path,
    start_date: date | datetime | str | None = None,
    *,
    fields: Sequence[str] | str | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    progress: bool | None = None,
    max_workers: int = 4,
) -> FetchResult:
    """Continue a monitoring collection: the days since the last run, appended to a dataset.

    The dataset remembers its query and the last day collected (a small JSON file in it). Each run
    collects from the day after that up to the newest day the service has fully indexed (the day
    before the one that began 48 hours ago, on the service's clock) and appends the new videos as
    new files; a run with nothing new to collect (the same day again) costs nothing.

    Args:
        query: The video query (as for :func:`tiktok_research.fetch_videos`); it must stay the
            same from run to run.
        dataset: The Parquet dataset folder (created by the first run).
        start_date: The first day to collect; needed only for the first run.
        fields: Video fields (default: all).
        client: As for :func:`tiktok_research.fetch_videos`.
        archive: As for :func:`tiktok_research.fetch_videos`.
        progress: As for :func:`tiktok_research.fetch_videos`.
        max_workers: As for :func:`tiktok_research.fetch_videos`.

    Returns:
        The videos added by this run (empty when there was nothing new), with ``.report``.

    Example:
        >>> import tiktok_research as tr
        >>> q = tr.Q.hashtag_name.eq("climate")
        >>> new = tr.update_videos(q, "data/climate", start_date="2024-01-01")
    """
    from . import client as client_module
    from .fetch import fetch_videos
    from .io import write_dataset
    from .query import as_query

    c = check_client(client) or client_module.current_default()
    folder = _dataset_folder(dataset)
    q = as_query(query)
    check_fields(ENDPOINTS["video_query"], fields)  # before the token request, as the rest
    state = _update_state(folder, q)
    first = _first_day(folder, state, start_date)  # checked before a client is built
    check_writable(folder)  # the new days go there: an unwritable folder is found before paying
    c = c if c is not None else client_module.default_client()
    # The days are taken on the service's clock, which the answer to the token request says
    # (free of quota) when no answer of this process has said it yet. Asked even when the clock
    # remembered in the ledger says nothing is new: that offset is stale once the service's clock
    # has moved on (a served sandbox advanced between two runs), and trusting it said "nothing
    # new to collect" run after run while new days were there.
    days = update_range(q, folder, start_date, now=c.service_now(ask=True))
    if days is None:
        report = UpdateReport(
            endpoint="video_query",
            kind="update",
            table="videos",
            complete=True,
            through=first - timedelta(days=1),
            dataset=folder,
        )  # fmt: skip  (no archive: nothing was collected, and the dataset is not one)
        return FetchResult.wrap(schemas.empty("videos"), report)
    first, newest = days
    result = fetch_videos(
        q,
        first,
        newest,
        fields=fields,
        client=c,
        archive=archive,
        progress=progress,
        max_workers=max_workers,
    )
    state_file = folder / UPDATE_STATE
    if not result.report.complete:  # the next run continues these days first
        folder.mkdir(parents=True, exist_ok=True)
        pending = {"query": q.to_dict(), "start": state.get("start") or format_date(first),
                   "pending_to": format_date(newest)}  # fmt: skip
        if state.get("through"):
            pending["through"] = state["through"]
        _write_state(state_file, pending)
    if result.report.complete:
        run = f"update-{format_date(first)}-{format_date(newest)}"
        write_dataset(
            pl.DataFrame(result),
            folder,
            table="videos",
            run_id=run,
            query=q,
            provenance={
                "query": q.to_dict(),
                "from": str(first),
                "to": str(newest),
                **span_provenance(result.report.retrieved),
            },
        )
        state = {
            "query": q.to_dict(),
            "start": state.get("start") or format_date(first),
            "through": format_date(newest),
        }
        _write_state(state_file, state)
    return FetchResult.wrap(
        result, UpdateReport.of(result.report, first, newest, folder), result.failures
    )


def _write_state(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
    tmp.replace(path)


def _dataset_folder(dataset: Any) -> Path:
    folder = check_folder(dataset, "dataset")
    if folder is None:
        raise InvalidRequestError("update_videos needs a dataset folder, e.g. 'data/monitor'")
    return folder


def _update_state(folder: Path, q: Any) -> dict[str, Any]:
    """The dataset's update state (empty before the first run), checked against the query and
    against what the dataset holds (a dataset of ``videos --dataset`` records its query too:
    another query's rows were added to it, paid for, and read as answers to the first)."""
    check_dataset(folder, table="videos", query=q.to_dict())
    state_file = folder / UPDATE_STATE
    if not state_file.is_file():
        return {}
    try:
        state: Any = json.loads(state_file.read_text(encoding="utf-8"))
    except (ValueError, OSError) as e:
        raise InvalidRequestError(
            f"{state_file} cannot be read ({e}); it records the query and the last day collected"
        ) from None
    if not isinstance(state, dict) or state.get("query") != q.to_dict():
        shown = json.dumps(state.get("query")) if isinstance(state, dict) else "?"
        raise InvalidRequestError(
            f"the dataset {folder} is kept up to date with another query "
            f"({shown}); use another dataset folder for this one"
        )
    return state


def _first_day(folder: Path, state: dict[str, Any], start_date: Any) -> date:
    if state.get("through"):
        return check_day(state["through"], "the last day collected") + timedelta(days=1)
    if state.get("start"):  # a first run that did not finish
        return check_day(state["start"], "the first day")
    if start_date is not None:
        return check_day(start_date, "start_date")
    held = _last_day(folder)
    if held is None:
        raise InvalidRequestError(
            f"{folder} holds no videos yet: give the first day to collect for the first run "
            "(start_date=; --start on the command line)"
        )
    return held + timedelta(days=1)


def update_range(
    query: QueryLike,
    dataset: str | Path,
    start_date: date | datetime | str | None = None,
    *,
    now: datetime | None = None,
) -> tuple[date, date] | None:
    """The days the next :func:`update_videos` run on ``dataset`` collects (a dry run).

    Args:
        query: The video query.
        dataset: The dataset folder.
        start_date: As for :func:`update_videos` (needed only before the first run).
        now: The service's clock (default: now, UTC).

    Returns:
        ``(first, last)`` days, inclusive (``first <= last``); None when there is nothing new
        to collect yet: the dataset holds every day the service has indexed in full, and
        :func:`update_videos` would send nothing.

    Example:
        >>> import tiktok_research as tr
        >>> from datetime import datetime, UTC
        >>> update_range(tr.Q.hashtag_name.eq("cats"), "no-such-folder", "2024-06-01",
        ...              now=datetime(2024, 6, 20, 12, tzinfo=UTC))
        (datetime.date(2024, 6, 1), datetime.date(2024, 6, 17))
    """
    from .query import as_query

    folder = _dataset_folder(dataset)
    q = as_query(query)
    state = _update_state(folder, q)
    first = _first_day(folder, state, start_date)
    if state.get("pending_to"):
        # a run that stopped (the quota, a crash) is continued over the same days, so that the
        # pages it holds are not asked for again; the days since come with the next run
        return first, check_day(state["pending_to"], "the last day of the run to continue")
    clock = now if now is not None else datetime.now(UTC)
    # The service indexes new videos within 48 hours (api-notes §6.4.8): the day that began 48
    # hours ago is only partly indexed, so the newest day collected is the one before it.
    # (Collecting "today minus 2" would leave the rest of that day out of every later run.)
    newest = (clock - timedelta(days=NOT_INDEXED_DAYS)).date() - timedelta(days=1)
    return (first, newest) if first <= newest else None


@dataclass
class UpdatePlan:
    """What the next :func:`update_videos` run on a dataset collects and costs; nothing sent.

    Attributes:
        dataset: The dataset folder.
        first: The first day the run collects; None when there is nothing new.
        last: The last day it collects, inclusive; None when there is nothing new.
        videos: The plan of the video query over those days (None when there is nothing new).
        start_ignored: A ``start_date`` was given, but the dataset continues from the days it
            holds (it is for the first run only).
        through: With nothing new: the last day the dataset holds (the newest day the service
            has indexed in full).
        clock: None when the days were taken on the service's clock, as the run takes them (or
            do not depend on it: a stopped run is continued over its own days); else the
            sentence saying they were taken on this machine's clock, and why.
    """

    dataset: Path
    first: date | None
    last: date | None
    videos: Plan | None
    start_ignored: bool = False
    through: date | None = None
    clock: str | None = None

    @property
    def nothing_new(self) -> bool:
        """True when the dataset holds every day the service has indexed: the run costs 0."""
        return self.videos is None

    def __str__(self) -> str:
        text = _nothing_new(self.dataset, self.through) if self.videos is None else str(self.videos)
        return text if self.clock is None else f"{text}\n  note: {self.clock}"


def plan_update(
    query: QueryLike,
    dataset: str | Path,
    start_date: date | datetime | str | None = None,
    *,
    fields: Sequence[str] | str | None = None,
    client: Client | None = None,
    warn: bool = True,
    ask: bool = True,
) -> UpdatePlan:
    """What the next :func:`update_videos` run would collect and cost, checked as it checks.

    The days are taken as the run takes them, on the service's clock: once every input is
    checked, the client asks for its access token (free of quota; the run's first request anyway),
    whose answer says the service's time. No data request is sent. Without credentials (or with
    ``ask=False``, or when the token request fails) the days are taken on this machine's clock,
    and the plan says so (:attr:`UpdatePlan.clock`): the service's day, and with it the days and
    the cost, may differ.

    Args:
        query: As for :func:`update_videos`.
        dataset: As for :func:`update_videos`.
        start_date: As for :func:`update_videos`.
        fields: As for :func:`update_videos`.
        client: The client that will run it (default: the one :func:`update_videos` takes: the
            one given to :func:`tiktok_research.use`, the sandbox's with
            ``TIKTOK_RESEARCH_SANDBOX=1``, else one with your credentials, if any): its clock
            says the newest day indexed, its ledger the quota left.
        warn: Issue the plan's warnings as Python warnings.
        ask: Ask the service for its day (the token request). False: send nothing at all, and
            plan on the client's clock as it stands.

    Example:
        >>> import tiktok_research as tr
        >>> from datetime import datetime, UTC
        >>> at = datetime(2024, 6, 20, 12, tzinfo=UTC).timestamp()  # the service's clock
        >>> sb = tr.sandbox.Sandbox(tr.sandbox.SandboxConfig(n_videos=100), clock=lambda: at)
        >>> plan = plan_update(tr.Q.hashtag_name.eq("cats"), "no-such-folder", "2024-06-01",
        ...                    client=tr.Client.sandbox(sb, ledger=False))
        >>> plan.first, plan.last, plan.videos.min_requests
        (datetime.date(2024, 6, 1), datetime.date(2024, 6, 17), 1)
    """
    from .plan import plan_videos
    from .query import as_query

    client = check_client(client)
    folder = _dataset_folder(dataset)
    q = as_query(query)
    check_fields(ENDPOINTS["video_query"], fields)
    state = _update_state(folder, q)
    first = _first_day(folder, state, start_date)  # every input checked before a request
    ignored = start_date is not None and bool(state.get("through") or state.get("start"))
    with _plan_client(client, ask) as (planner, why):
        now, clock = None, None
        if not state.get("pending_to"):  # a stopped run continues its own days, on any clock
            now, clock = _plan_clock(planner, why, ask)
        days = update_range(q, folder, start_date, now=now)
        if days is None:
            through = first - timedelta(days=1)
            return UpdatePlan(folder, None, None, None, start_ignored=ignored, through=through,
                              clock=clock)  # fmt: skip
        videos = plan_videos(q, *days, fields=fields, client=planner, warn=warn)
    return UpdatePlan(folder, *days, videos, start_ignored=ignored, clock=clock)


@contextmanager
def _plan_client(client: Client | None, ask: bool) -> Iterator[tuple[Client | None, str | None]]:
    """The client a plan of an update asks the service's day with: ``client``, else the one
    :func:`update_videos` would take (one made here from the credentials is closed after the
    plan); with it, None, or the reason there is none (no credentials)."""
    from . import client as client_module
    from .errors import AuthenticationError

    if client is not None or not ask:
        yield client, None
        return
    chosen = client_module.current_default()
    if chosen is not None:
        yield chosen, None
        return
    try:
        made = Client()
    except AuthenticationError:
        yield None, "there are no credentials to ask the service for its day (the token request)"
        return
    with made:
        yield made, None


def _plan_clock(client: Client | None, why: str | None, ask: bool) -> tuple[datetime, str | None]:
    """The time a plan of an update takes its days from, as :func:`update_videos` takes it (the
    service's: the answer to the token request, or a sandbox client's clock), and None; or,
    when the service's time is not known, this machine's and the sentence saying so."""
    if client is not None:
        try:
            now = client.service_now(ask=ask)
        except TikTokResearchError as e:  # a plan is still worth having: said, on this clock
            now, why = client.service_now(), f"the token request failed ({e.message})"
        if client.service_clock_known:
            return now, None
        if why is None and ask:
            why = "the service's answer to the token request did not say its time"
    else:
        now = datetime.now(UTC)
    why = why or "the service was not asked for its day (ask=False)"
    return now, (
        f"planned on this machine's clock ({now:%Y-%m-%d %H:%M} UTC): {why}; the service's day "
        "may differ, and with it the days and the cost"
    )


def _last_day(folder: Path) -> date | None:
    if not folder.is_dir() or not any(folder.rglob("*.parquet")):
        return None
    from .io import read_dataset

    last = read_dataset(folder, table="videos").select(pl.col("create_time").max()).collect().item()
    return last.date() if last is not None else None


def dehydrate(videos: TableLike | str | Path, path: str | Path, *, column: str = "id") -> Path:
    """Write the ids of a table, one per line: the shareable form of a dataset.

    Others look the videos up again with :func:`tiktok_research.fetch_videos_by_id` (the Research
    API's terms do not let you share the collected data itself).

    Args:
        videos: A table (polars, pandas, Arrow), a Parquet file or a dataset folder.
        path: The text file to write.
        column: The id column.

    Returns:
        The path written.

    Example:
        >>> import tiktok_research as tr
        >>> videos = tr.fetch_videos(tr.Q.hashtag_name.eq("climate"), "2024-01-01", "2024-01-31")
        >>> _ = tr.dehydrate(videos, "ids.txt")
        >>> from pathlib import Path
        >>> len(Path("ids.txt").read_text().split()) == videos.height
        True
    """
    from .select import write_lines

    return write_lines(dehydrated_ids(videos, column=column), path)


def dehydrated_ids(videos: TableLike | str | Path, *, column: str = "id") -> pl.Series:
    """The ids :func:`dehydrate` writes: each id of ``column`` once, in the table's order.

    Args:
        videos: A table (polars, pandas, Arrow), a Parquet, CSV or JSON Lines file, or a
            dataset folder.
        column: The id column.

    Example:
        >>> import polars as pl
        >>> dehydrated_ids(pl.DataFrame({"id": [7, 3, 7, None]})).to_list()
        [7, 3]
    """
    table, _ = _videos(videos)
    if column not in table.columns:
        raise InvalidRequestError(f"no {column!r} column; columns: {', '.join(table.columns)}")
    return table.get_column(column).drop_nulls().unique(maintain_order=True)
