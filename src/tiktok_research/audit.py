"""Availability audits: which of a known list of video ids the Research API returns, round after
round.

Published audits found that the Research API silently leaves out videos that exist: about 1 in 8
videos known from data donations were never returned (Entrena-Serrano et al., "TikTok's Research
API: Problems Without Explanations", arXiv:2506.09746, 2025). :func:`audit_ids` measures this for
an id list of your own (a data donation, a scraper's export, an earlier collection): it looks
every id up by id (the look-up of :func:`tiktok_research.fetch_videos_by_id`: one request per 100
ids of one month) and keeps each run as a dated *round* in the archive, so that the archive holds
the history and each later run adds a round.

Where things live: the plan is :func:`tiktok_research.plan.plan_video_ids` (every id checked
before any request), the requests go through the one collection engine
(:mod:`tiktok_research.collect`), and the table is read back from the archive pages
(:func:`tiktok_research._archive.iter_archive`): for every round, every id, when it was asked
(the ``retrieved_at`` of the answer) and whether the answer held it. A round is a collection
folder of its own, ``<archive>/audit-<digest>/``, one per round of the same id list.

Example:
    >>> import tempfile, tiktok_research as tr
    >>> client = tr.Client.sandbox()
    >>> ids = tr.fetch_videos(tr.Q.region_code.eq("US"), "20240101", "20240103",
    ...                       client=client, progress=False)["id"]
    >>> audit = tr.audit_ids(ids, archive=tempfile.mkdtemp(), client=client, progress=False)
    >>> audit.rounds, audit.table.columns[:4]
    (1, ['id', 'round', 'checked_at', 'found'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from ._archive import completed, held_rounds, iter_archive, page_files, round_spec
from ._checks import ItemsLike, check_folder, id_time, parse_api_date, plural
from .client import Client, check_client
from .collect import CollectionReport
from .errors import InvalidRequestError
from .ids import decode_ids
from .plan import DEFAULT_ID_BATCH, ID_TIME_MARGIN, Plan, plan_video_ids

__all__ = ["AUDIT_SCHEMA", "Audit", "AuditPlan", "audit_ids", "plan_audit"]

#: The fields an audit asks for: the id is all it needs; a creation time and an account make
#: the archive useful on its own. (Fewer fields make smaller answers; every request costs the
#: same.)
AUDIT_FIELDS: tuple[str, ...] = ("id", "create_time", "username")

#: One row per id and round.
AUDIT_SCHEMA = pl.Schema(
    {
        "id": pl.Int64(),
        "round": pl.Int32(),
        "checked_at": pl.Datetime("us", "UTC"),
        "found": pl.Boolean(),
        "created_at": pl.Datetime("ms", "UTC"),
        "reason": pl.String(),
    }
)

#: Reasons in ``Audit.table.reason`` (null when found).
NOT_RETURNED = "not returned (deleted, private, not indexed yet, or never returned by the service)"
NOT_CHECKED = "not checked in this round yet (run the same call again to continue it)"
NO_TIME = "no plausible creation time in its bits: no date window can hold it, so it was not asked"


@dataclass
class AuditPlan:
    """What the next run of an audit will do and cost at least; nothing sent.

    Attributes:
        lookup: The look-up's :class:`~tiktok_research.plan.Plan` (its spec names the round).
        round: The round this run makes or continues (0 for the first).
        held: Rounds of the same id list the archive already holds.
        continues: True when the run continues an unfinished round instead of adding one.
        archive: The archive folder.
    """

    lookup: Plan
    round: int
    held: int
    continues: bool
    archive: Path

    @property
    def min_requests(self) -> int:
        """The least number of requests the run costs."""
        return self.lookup.min_requests

    def __str__(self) -> str:
        what = (
            f"continues round {self.round} (unfinished; its answers held cost nothing)"
            if self.continues
            else f"adds round {self.round}"
        )
        head = (
            f"audit of {len(self.lookup.ids):,} id(s): {what}; the archive {self.archive} holds "
            f"{self.held} round(s) of this id list"
        )
        return head + "\n" + str(self.lookup)


def plan_audit(
    ids: ItemsLike,
    *,
    archive: str | Path,
    batch_size: int = DEFAULT_ID_BATCH,
    client: Client | None = None,
    resume: bool = True,
    warn: bool = True,
) -> AuditPlan:
    """Plan the next round of an audit (nothing is sent, no token needed).

    Args:
        ids: As for :func:`audit_ids`.
        archive: As for :func:`audit_ids`.
        batch_size: As for :func:`audit_ids`.
        client: The client that will run it (its clock, its quota ledger, its end-date rule).
        resume: As for :func:`audit_ids`.
        warn: Issue the plan's warnings as Python warnings.

    Example:
        >>> import tempfile
        >>> p = plan_audit([7320768196569599275], archive=tempfile.mkdtemp())
        >>> p.round, p.min_requests
        (0, 1)
    """
    client = check_client(client)
    folder = check_folder(archive, "archive")
    if folder is None:
        raise InvalidRequestError(
            "audit_ids needs archive=DIR: the archive holds the rounds of the audit (each run "
            "adds one), e.g. archive='audit-archive'"
        )
    if not isinstance(resume, bool):
        raise InvalidRequestError(f"resume must be True or False, got {resume!r}")
    lookup = plan_video_ids(
        ids, fields=list(AUDIT_FIELDS), batch_size=batch_size, client=client, warn=warn,
        func="audit_ids",
    )  # fmt: skip
    lookup.kind = "audit"
    base = {**lookup.spec, "part_of": "audit"}
    held = held_rounds(folder, "audit", base)
    # a round is a snapshot: a finished one is never continued, the next run adds one
    lookup.spec = round_spec(folder, "audit", base, resume=resume,
                             finished=completed([t.key for t in lookup.tasks]))  # fmt: skip
    k = int(lookup.spec.get("round", 0))
    return AuditPlan(lookup=lookup, round=k, held=len(held), continues=k < len(held),
                     archive=folder)  # fmt: skip


def _asked(envelope: dict[str, Any]) -> list[int]:
    """The ids a look-up request asked for (``video_id IN [...]``)."""
    body = (envelope.get("request") or {}).get("body") or {}
    out: list[int] = []
    for cond in (body.get("query") or {}).get("and") or []:
        if isinstance(cond, dict) and cond.get("field_name") == "video_id":
            out.extend(int(v) for v in cond.get("field_values") or [])
    return out


def _ok(envelope: dict[str, Any]) -> bool:
    """An answer that says which of the asked ids exist (HTTP 200, error code ok)."""
    response = envelope.get("response")
    if (envelope.get("meta") or {}).get("http_status") != 200 or not isinstance(response, dict):
        return False
    error = response.get("error") or {}
    return error.get("code", "ok") == "ok" and isinstance(response.get("data"), dict)


def _window(envelope: dict[str, Any], exclusive: bool) -> tuple[date, date] | None:
    """The days an answer covers (its request's ``start_date``..``end_date``, inclusive)."""
    body = (envelope.get("request") or {}).get("body") or {}
    try:
        start = parse_api_date(str(body["start_date"]), "start_date")
        end = parse_api_date(str(body["end_date"]), "end_date")
    except (KeyError, TypeError, ValueError, InvalidRequestError):
        return None
    return start, end - timedelta(days=1) if exclusive else end


def _covers(window: tuple[date, date], video_id: int) -> bool:
    """The window holds every day the video of this id can have been created on: only then
    does an answer without it say the service did not return it. (A window the engine narrowed
    after 500s may leave some of a batch's ids outside: those are not checked by it.)"""
    t = id_time(video_id)
    first = datetime.fromtimestamp(t, UTC).date()
    last = datetime.fromtimestamp(t + ID_TIME_MARGIN, UTC).date()
    return window[0] <= first and last <= window[1]


def _round_rows(folder: Path, exclusive: bool) -> pl.DataFrame:
    """``id, checked_at, found`` of one round, from its archived answers (the first ok answer
    that asked an id over a window holding its creation day says when it was checked; any ok
    answer holding it says it was found)."""
    checked: dict[int, str] = {}
    found: set[int] = set()
    for env in iter_archive(page_files(folder)):
        if not _ok(env):
            continue
        window = _window(env, exclusive)
        at = str(env["meta"].get("retrieved_at"))
        for i in _asked(env):
            if window is None or not _covers(window, i):
                continue
            if i not in checked or at < checked[i]:
                checked[i] = at
        for video in env["response"]["data"].get("videos") or []:
            if isinstance(video, dict) and isinstance(video.get("id"), int):
                found.add(video["id"])
                checked.setdefault(video["id"], at)  # returned: checked, whatever the window
    ids = list(checked)
    return pl.DataFrame(
        {
            "id": ids,
            "checked_at": [checked[i] for i in ids],
            "found": [i in found for i in ids],
        },
        schema={"id": pl.Int64, "checked_at": pl.String, "found": pl.Boolean},
    ).with_columns(
        pl.col("checked_at").str.to_datetime(time_zone="UTC", time_unit="us", strict=False)
    )


def _history(ids: list[int], rounds: list[tuple[int, Path]], exclusive: bool) -> pl.DataFrame:
    """The audit table: one row per id and round, every id of the list in every round."""
    decoded = decode_ids(ids).select(
        "id",
        created_at=pl.when(pl.col("plausible_time")).then(pl.col("created_at")),
        timed=pl.col("plausible_time"),
    )
    from .ids import not_video_reason

    not_video = {i: r for i in ids if (r := not_video_reason(i)) is not None}
    frames = []
    for k, folder in rounds:
        seen = _round_rows(folder, exclusive)
        frames.append(
            decoded.join(seen, on="id", how="left")
            .with_columns(
                round=pl.lit(k, pl.Int32),
                found=pl.when(pl.col("found").is_not_null())
                .then(pl.col("found"))
                .when(~pl.col("timed"))
                .then(False),
            )
            .with_columns(
                reason=pl.when(pl.col("found"))
                .then(None)
                .when(~pl.col("timed"))
                .then(pl.lit(NO_TIME))
                .when(pl.col("found").is_null())
                .then(pl.lit(NOT_CHECKED))
                .otherwise(
                    pl.col("id").replace_strict(
                        not_video, default=pl.lit(NOT_RETURNED), return_dtype=pl.String
                    )
                    if not_video
                    else pl.lit(NOT_RETURNED)
                )
            )
        )
    if not frames:
        return pl.DataFrame(schema=AUDIT_SCHEMA)
    table = pl.concat(frames, how="diagonal_relaxed")
    return table.select(list(AUDIT_SCHEMA)).cast(AUDIT_SCHEMA).sort("round", "id")


@dataclass
class Audit:
    """The rounds of an availability audit held in the archive, and what this run did.

    Attributes:
        table: One row per id and round (:data:`AUDIT_SCHEMA`): ``id``, ``round`` (0 first),
            ``checked_at`` (UTC, when the service answered the request that asked for the id;
            null: not checked in that round), ``found`` (null: not checked), ``created_at``
            (from the id's bits, :func:`tiktok_research.decode_id`) and ``reason`` (why an id
            was not found: not returned, not a video id by its bits, no creation time, not
            checked yet).
        report: What this run did (:class:`~tiktok_research.collect.CollectionReport`).
        plan: The plan it ran.
    """

    table: pl.DataFrame
    report: CollectionReport
    plan: AuditPlan
    _ids: list[int] = field(default_factory=list, repr=False)

    @property
    def rounds(self) -> int:
        """How many rounds the archive holds for this id list."""
        return int(self.table["round"].n_unique()) if self.table.height else 0

    @property
    def complete(self) -> bool:
        """This run's round checked every id."""
        return self.report.complete

    def by_round(self) -> pl.DataFrame:
        """The share missing over time: one row per round.

        Columns: ``round``, ``checked_at`` (the round's first answer), ``ids``, ``checked``
        (ids asked and answered in that round), ``found``, ``missing`` (checked, not found),
        ``missing_share`` (``missing / checked``) and ``not_checked`` (ids without an answer:
        no creation time in their bits, so never asked, or a round not finished yet).
        """
        return (
            self.table.group_by("round")
            .agg(
                checked_at=pl.col("checked_at").min(),
                ids=pl.len().cast(pl.Int64),
                checked=pl.col("checked_at").is_not_null().sum().cast(pl.Int64),
                found=pl.col("found").fill_null(False).sum().cast(pl.Int64),
            )
            .with_columns(
                missing=pl.col("checked") - pl.col("found"),
                not_checked=pl.col("ids") - pl.col("checked"),
            )
            .with_columns(missing_share=pl.col("missing") / pl.col("checked"))
            .select(
                "round",
                "checked_at",
                "ids",
                "checked",
                "found",
                "missing",
                "missing_share",
                "not_checked",
            )
            .sort("round")
        )

    def by_month(self) -> pl.DataFrame:
        """The share missing by month of creation (from the id), round by round.

        Columns: ``month`` (first day, a date; null for ids without a creation time in their
        bits), ``round``, ``checked``, ``missing`` and ``missing_share``.
        """
        return (
            self.table.with_columns(month=pl.col("created_at").dt.truncate("1mo").dt.date())
            .group_by("month", "round")
            .agg(
                checked=pl.col("checked_at").is_not_null().sum().cast(pl.Int64),
                found=pl.col("found").fill_null(False).sum().cast(pl.Int64),
            )
            .with_columns(missing=pl.col("checked") - pl.col("found"))
            .with_columns(missing_share=pl.col("missing") / pl.col("checked"))
            .drop("found")
            .sort("month", "round")
        )

    def never_found(self) -> list[int]:
        """Ids checked in every round and found in none, in increasing order: the videos the
        service does not return (or that were gone before the first round)."""
        per = self.table.group_by("id").agg(
            checked=pl.col("checked_at").is_not_null().sum(),
            found=pl.col("found").fill_null(False).sum(),
        )
        rows = per.filter((pl.col("checked") == self.rounds) & (pl.col("found") == 0))
        return sorted(int(i) for i in rows["id"])

    def missing(self, round: int | None = None) -> list[int]:
        """Ids checked and not found in ``round`` (default: the latest), in increasing order."""
        k = self.table["round"].max() if round is None else round
        rows = self.table.filter(
            (pl.col("round") == k) & pl.col("checked_at").is_not_null() & ~pl.col("found")
        )
        return sorted(int(i) for i in rows["id"])

    def __str__(self) -> str:
        lines = [
            f"audit of {len(self._ids):,} id(s): {self.rounds} round(s) in {self.plan.archive}"
        ]
        for row in self.by_round().iter_rows(named=True):
            when = row["checked_at"].strftime("%Y-%m-%d %H:%M UTC") if row["checked_at"] else "-"
            share = f"{row['missing_share']:.1%}" if row["checked"] else "-"
            unchecked = row["not_checked"]
            lines.append(
                f"  round {row['round']} ({when}): {row['missing']:,} of {row['checked']:,} "
                f"checked ids missing ({share})"
                + (f"; {unchecked:,} not checked (see table.reason)" if unchecked else "")
            )
        reasons = self.table.filter(pl.col("round") == self.table["round"].max())
        not_video = reasons.filter(pl.col("reason").str.starts_with("not a video id"))
        if not_video.height:
            n = not_video.height
            lines.append(
                f"  {n:,} of the missing ids "
                f"{plural(n, 'is not a video id by its', 'are not video ids by their')} bits "
                "(see table.reason)"
            )
        lines.append(f"  this run: {self.report.cost()}")
        if not self.report.complete:
            lines.append("  " + self.report.how_to_continue())
        return "\n".join(lines)


def audit_ids(
    ids: ItemsLike,
    *,
    archive: str | Path,
    batch_size: int = DEFAULT_ID_BATCH,
    client: Client | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 4,
) -> Audit:
    """Check which of a list of video ids the service returns, and keep the history in the
    archive: each run adds a dated round.

    Every id is looked up by id (``video_id IN [...]`` within the date window its bits give: ids
    of one month cost one request per ``batch_size``), through the same engine, archive and
    resume rules as :func:`tiktok_research.fetch_videos_by_id`: a run that stops (quota, budget,
    a crash) is continued by the next call at no cost for what it holds; a finished round is
    never asked again, the next call adds a new round. Ids whose bits say they are not video
    ids are looked up like the others (the layout is research, not documentation) and, when
    missing, named with that reason.

    Args:
        ids: Video ids: a list, a Series, or a table (polars, pandas, Arrow) with an ``id`` or
            ``video_id`` column. The rounds belong to this exact list (in any order).
        archive: The archive folder that holds the rounds (required).
        batch_size: Ids per request, 1 to 100.
        client: As for :func:`tiktok_research.fetch_videos`.
        resume: Continue an unfinished round (True); False always adds a new round.
        progress: As for :func:`tiktok_research.fetch_videos`.
        max_workers: Requests at the same time.

    Returns:
        An :class:`Audit`: ``.table`` (``id, round, checked_at, found`` and why), ``.by_round()``
        (the share missing over time), ``.by_month()`` (by month of creation), ``.report``.

    Raises:
        InvalidRequestError: bad input, before any request.

    Example:
        >>> import tiktok_research as tr
        >>> audit = tr.audit_ids([7320768196569599275], archive="audit", progress=False)
        >>> audit.by_round().select("round", "checked").rows()
        [(0, 1)]
    """
    from .fetch import _check_common, _planning_client, _run

    c = _planning_client(client)
    _check_common(archive, resume, max_workers)
    plan = plan_audit(ids, archive=archive, batch_size=batch_size, client=c, resume=resume)
    result = _run(
        plan.lookup, c, archive=plan.archive, resume=resume, progress=progress,
        max_workers=max_workers,
    )  # fmt: skip
    # the round just run is in the archive now, whether or not it finished
    rounds = held_rounds(plan.archive, "audit", plan.lookup.spec)
    table = _history(plan.lookup.ids, rounds, plan.lookup.end_date_exclusive)
    return Audit(table=table, report=result.report, plan=plan, _ids=list(plan.lookup.ids))
