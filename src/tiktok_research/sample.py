"""Stratified random samples of videos with ``is_random``, and what they are worth.

**What a random sample from this API is.** A video query with ``is_random: true`` returns up to
``max_count`` (1-100) videos "in random order that matches the query" (the API's documentation).
It is one request, with no cursor: a draw from the videos the service would return for that query
and window. It is **not** a simple random sample of TikTok:

- it can only draw from what the service returns at all: videos that exist but are never
  returned (about 1 in 8 in Entrena-Serrano et al., arXiv:2506.09746), deleted or private videos
  and videos not indexed yet (the last 2 days) are never drawn;
- it returns **less than asked**: monthly samples of 2018-2023 returned at most about 65 % of the
  requested count (Corso et al., arXiv:2402.13855), and how the shortfall is chosen is not
  documented, so a short draw may not be uniform;
- TikTok does not document how the draw is made (uniform or not, with what seed), nor the size
  of the population it draws from;
- coverage changed on 2026-02-26 (videos not eligible for the For You feed), so samples from
  before and after that date are not drawn from the same population.

So :func:`sample_videos` asks one ``is_random`` request per *stratum* (a day, week or month,
crossed with values of fields such as ``region_code``) and **records, for every stratum, what was
asked and what came back**. Each row gets a **weight**, the inverse of the realised sampling share
in its stratum, ``stratum size / rows returned``, where the stratum's size is known (``sizes=``: a
table of sizes, or a full collection you hold of the same query, counted). Otherwise the weight is
null: **unknown**, and the sample can only be described, not scaled up to a population.

Where things live: the plan (one task per stratum, every input checked before any request) is
built here on :func:`tiktok_research._windows.window_body`; the requests go through the one engine
(:mod:`tiktok_research.collect`), which archives every answer; which stratum returned which rows is
read back from the archived answers (:func:`tiktok_research._archive.iter_archive`). The
per-stratum record is :attr:`Sample.strata`, and it is also written to the collection folder as
``strata.json`` (``<archive>/sample-<digest>/strata.json``) so that a reader of the archive finds
it beside the answers.

Example:
    >>> import tiktok_research as tr
    >>> s = tr.sample_videos(tr.Q.region_code.isin(["US", "GB"]), "2024-01-01", "2024-01-31",
    ...                      per="week", n=10, strata=["region_code"],
    ...                      client=tr.Client.sandbox(), progress=False)
    >>> s.strata.select("period", "region_code", "asked").head(2).rows()
    [(datetime.date(2024, 1, 1), 'GB', 10), (datetime.date(2024, 1, 1), 'US', 10)]
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl

from ._archive import iter_archive, page_files, write_json
from ._checks import check_day, check_fields, check_range, format_date
from ._endpoints import ENDPOINTS
from ._windows import window_body, window_days
from .client import Client, check_client
from .collect import _STOPPED, CollectionReport, FetchResult
from .errors import InvalidRequestError
from .plan import Plan, TaskSpec
from .query import Query, QueryLike, as_query

__all__ = ["STRATA_SCHEMA", "Sample", "SamplePlan", "plan_sample", "sample_videos"]

Per = Literal["day", "week", "month"]

#: Fields a sample can be stratified by: those a condition can test for one value (``EQ``).
STRATA_FIELDS: tuple[str, ...] = (
    "region_code",
    "username",
    "hashtag_name",
    "keyword",
    "music_id",
    "effect_id",
    "video_length",
)

#: The per-stratum record (before the stratum's own columns, which follow ``period``).
STRATA_SCHEMA = pl.Schema(
    {
        "period": pl.Date(),
        "window_start": pl.Date(),
        "window_end": pl.Date(),
        "stratum": pl.String(),
        "asked": pl.Int64(),
        "returned": pl.Int64(),
        "size": pl.Int64(),
        "share": pl.Float64(),
        "weight": pl.Float64(),
        "status": pl.String(),
    }
)


def _periods(start: date, end: date, per: str) -> list[tuple[date, date, date]]:
    """``(period, first day, last day)`` of every period touching ``[start, end]``, clipped;
    ``period`` is the period's own first day (a Monday for weeks, the 1st for months)."""
    out: list[tuple[date, date, date]] = []
    if per == "day":
        d = start
        while d <= end:
            out.append((d, d, d))
            d += timedelta(days=1)
        return out
    if per == "week":
        p = start - timedelta(days=start.weekday())
        while p <= end:
            nxt = p + timedelta(days=7)
            out.append((p, max(p, start), min(nxt - timedelta(days=1), end)))
            p = nxt
        return out
    p = start.replace(day=1)
    while p <= end:
        nxt = (p.replace(day=28) + timedelta(days=4)).replace(day=1)
        out.append((p, max(p, start), min(nxt - timedelta(days=1), end)))
        p = nxt
    return out


def _strata_values(query: Query, strata: Any) -> dict[str, list[str]]:
    """The strata fields and their values: given as a mapping, or read from the query's ``EQ`` /
    ``IN`` condition on each named field."""
    if strata is None:
        return {}
    if isinstance(strata, str):
        strata = [strata]
    if isinstance(strata, Mapping):
        named = {str(k): v for k, v in strata.items()}
    elif isinstance(strata, Sequence):
        named = {str(k): None for k in strata}
    else:
        raise InvalidRequestError(
            f"strata must be a list of field names (['region_code']) or a mapping of field to "
            f"values ({{'region_code': ['US', 'GB']}}), got {type(strata).__name__}"
        )
    out: dict[str, list[str]] = {}
    for name, values in named.items():
        if name not in STRATA_FIELDS:
            raise InvalidRequestError(
                f"strata: {name!r} cannot be a stratum; use one of {', '.join(STRATA_FIELDS)}"
            )
        if values is None:
            conds = [c for c in query.and_criteria if c.field_name == name
                     and c.operation in ("EQ", "IN")]  # fmt: skip
            if not conds:
                raise InvalidRequestError(
                    f"strata: the values of {name!r} are not known; give them, e.g. "
                    f"strata={{'{name}': ['US', 'GB']}}, or put them in the query "
                    f"(tr.Q.{name}.isin([...]))"
                )
            values = list(conds[0].field_values)
        if isinstance(values, str) or not isinstance(values, Sequence) or not values:
            raise InvalidRequestError(
                f"strata: the values of {name!r} must be a non-empty list, got {values!r}"
            )
        # each value checked by the query language (region codes, digits...)
        checked = as_query({"and": [{"operation": "IN", "field_name": name,
                                     "field_values": [str(v) for v in values]}]})  # fmt: skip
        out[name] = list(dict.fromkeys(checked.and_criteria[0].field_values))
    return out


def _stratum_query(query: Query, values: dict[str, str]) -> dict[str, Any]:
    """The query of one stratum: the query, its conditions on the strata fields replaced by one
    ``EQ`` each."""
    base = query.to_dict()
    keep = [c for c in base.get("and", []) if c.get("field_name") not in values]
    extra = [{"operation": "EQ", "field_name": k, "field_values": [v]} for k, v in values.items()]
    out = {**base, "and": keep + extra}
    return as_query(out).to_dict()


def _label(period: date, values: dict[str, str]) -> str:
    return "/".join([period.isoformat(), *(f"{k}={v}" for k, v in values.items())])


@dataclass
class SamplePlan:
    """What a sample will ask, stratum by stratum, and cost at least; nothing sent.

    Attributes:
        lookup: The engine's :class:`~tiktok_research.plan.Plan` (one task per stratum).
        per: ``"day"``, ``"week"`` or ``"month"``.
        n: Videos asked per stratum.
        strata: The strata fields and their values.
        keys: One row per stratum: ``period``, ``window_start``, ``window_end``, the strata
            fields, ``stratum`` (its label and task key).
    """

    lookup: Plan
    per: str
    n: int
    strata: dict[str, list[str]]
    keys: pl.DataFrame

    @property
    def min_requests(self) -> int:
        """One request per stratum (more only when the service answers with errors)."""
        return self.lookup.min_requests

    def __str__(self) -> str:
        periods = self.keys["period"].n_unique()
        cross = " x ".join(f"{len(v)} {k}" for k, v in self.strata.items())
        head = (
            f"stratified random sample: {self.keys.height:,} strata ({periods} {self.per}(s)"
            + (f" x {cross}" if cross else "")
            + f"), {self.n} video(s) asked per stratum with is_random: "
            f"{self.min_requests:,} request(s), one per stratum"
        )
        return head + "\n" + str(self.lookup)


def plan_sample(
    query: QueryLike,
    start_date: date | str,
    end_date: date | str,
    *,
    per: Per = "month",
    n: int = 100,
    strata: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    fields: Sequence[str] | str | None = None,
    client: Client | None = None,
) -> SamplePlan:
    """Plan a stratified random sample (nothing is sent, no token needed).

    Args: as for :func:`sample_videos`.

    Example:
        >>> import tiktok_research as tr
        >>> p = plan_sample(tr.Q.region_code.isin(["US", "GB"]), "2024-01-01", "2024-03-31",
        ...                 per="month", n=50, strata=["region_code"])
        >>> p.min_requests
        6
    """
    client = check_client(client)
    ep = ENDPOINTS["video_query"]
    q = as_query(query)
    start, end = check_day(start_date, "start_date"), check_day(end_date, "end_date")
    check_range(start, end)
    if per not in ("day", "week", "month"):
        raise InvalidRequestError(f"per must be 'day', 'week' or 'month', got {per!r}")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100:
        raise InvalidRequestError(
            f"n must be a whole number from 1 to 100 (videos asked per stratum: an is_random "
            f"request returns at most 100), got {n!r}; for more, use smaller periods or more "
            "strata"
        )
    field_list = check_fields(ep, fields)
    values = _strata_values(q, strata)
    exclusive = bool(client.end_date_exclusive) if client is not None else False
    longest = window_days(exclusive)
    today = client.today() if client is not None else None
    if today is not None and start > today:
        raise InvalidRequestError(
            f"start_date {start.isoformat()} is in the future (today is {today.isoformat()} "
            "UTC): there is nothing to sample yet"
        )
    if today is not None and end > today:
        end = today
    names = list(values)
    rows: list[dict[str, Any]] = []
    tasks: list[TaskSpec] = []
    for period, s, e in _periods(start, end, per):
        if (e - s).days > longest:
            raise InvalidRequestError(
                f"per='{per}': the stratum {s.isoformat()}..{e.isoformat()} is longer than one "
                f"request's window for this client ({longest + 1} days); use per='week' or 'day'"
            )
        for combo in itertools.product(*(values[k] for k in names)):
            stratum = dict(zip(names, combo, strict=True))
            label = _label(period, stratum)
            params = window_body(_stratum_query(q, stratum), s, e, exclusive=exclusive,
                                   is_random=True)  # fmt: skip
            tasks.append(TaskSpec(key=label, item=None, params=params, window=(s, e)))
            rows.append({"period": period, "window_start": s, "window_end": e, **stratum,
                         "stratum": label})  # fmt: skip
    keys = pl.DataFrame(
        rows,
        schema={
            "period": pl.Date,
            "window_start": pl.Date,
            "window_end": pl.Date,
            **{k: pl.String for k in names},
            "stratum": pl.String,
        },
    )
    qdict = q.to_dict()
    lookup = Plan(
        endpoint=ep.name,
        kind="sample",
        table=ep.table,
        spec={
            "query": qdict,
            "start_date": format_date(start),
            "end_date": format_date(end),
            "per": per,
            "n": n,
            "strata": values,
            "fields": None if fields is None else field_list,
        },
        tasks=tasks,
        fields=field_list,
        page_size=n,
        query=q,
        start_date=start,
        end_date=end,
        end_date_exclusive=exclusive,
        is_random=True,
        newest_first=True,
        min_requests=len(tasks),
        max_note="more only when the service answers with errors (retries)",
    )
    return SamplePlan(lookup=lookup, per=per, n=n, strata=values, keys=keys)


def _returned(folder: Path, plan: SamplePlan) -> dict[str, list[int]]:
    """The ids each stratum's ok answer returned, read from the archived answers."""
    by_request: dict[tuple[str, Any, Any], str] = {}
    for t in plan.lookup.tasks:
        p = t.params
        by_request[(json.dumps(p["query"], sort_keys=True), p["start_date"], p["end_date"])] = t.key
    out: dict[str, list[int]] = {}
    for env in iter_archive(page_files(folder)):
        response = env.get("response")
        if (env.get("meta") or {}).get("http_status") != 200 or not isinstance(response, dict):
            continue
        if (response.get("error") or {}).get("code", "ok") != "ok":
            continue
        body = (env.get("request") or {}).get("body") or {}
        key = by_request.get(
            (json.dumps(body.get("query"), sort_keys=True), body.get("start_date"),
             body.get("end_date"))
        )  # fmt: skip
        if key is None or key in out:  # the first ok answer of a stratum is its draw
            continue
        videos = (response.get("data") or {}).get("videos") or []
        out[key] = [v["id"] for v in videos if isinstance(v, dict) and isinstance(v.get("id"), int)]
    return out


def _sizes(sizes: Any, plan: SamplePlan) -> pl.DataFrame | None:
    """Known stratum sizes: ``period``, the strata fields, ``size``; None when not given."""
    if sizes is None:
        return None
    keys = ["period", *plan.strata]
    if isinstance(sizes, pl.LazyFrame):
        sizes = sizes.collect()
    if not isinstance(sizes, pl.DataFrame):
        raise InvalidRequestError(
            "sizes must be a polars DataFrame: a table of stratum sizes (the strata columns and "
            "'videos' or 'size') or a full collection of the same query to count"
        )
    size_col = next((c for c in ("size", "videos") if c in sizes.columns), None)
    if size_col is not None:
        missing = [k for k in keys if k not in sizes.columns]
        if missing:
            raise InvalidRequestError(
                f"sizes: the table of stratum sizes lacks the column(s) {', '.join(missing)}; it "
                f"needs {', '.join(keys)} and '{size_col}'"
            )
        out = sizes.select(*keys, size=pl.col(size_col))
    elif "create_time" in sizes.columns:
        out = _count(sizes, plan)
    else:
        raise InvalidRequestError(
            "sizes: give a table of stratum sizes (the strata columns and 'size') or a full "
            "collection of the same query (with create_time and the strata columns)"
        )
    casts: dict[str, Any] = {"period": pl.Date, "size": pl.Int64}
    casts.update({k: pl.String for k in plan.strata})
    return out.cast(casts)  # type: ignore[arg-type]


def _count(videos: pl.DataFrame, plan: SamplePlan) -> pl.DataFrame:
    """Stratum sizes counted in a full collection of the same query."""
    trunc = {"day": "1d", "week": "1w", "month": "1mo"}[plan.per]
    start, end = plan.lookup.start_date, plan.lookup.end_date
    assert start is not None and end is not None
    frame = videos.with_columns(
        period=pl.col("create_time").dt.convert_time_zone("UTC").dt.truncate(trunc).dt.date(),
        _day=pl.col("create_time").dt.convert_time_zone("UTC").dt.date(),
    ).filter(pl.col("_day").is_between(start, end))
    pieces = []
    for combo in itertools.product(*plan.strata.values()):
        stratum = dict(zip(plan.strata, combo, strict=True))
        rows = frame
        for k, v in stratum.items():
            if k == "hashtag_name" and "hashtag_names" in frame.columns:
                rows = rows.filter(pl.col("hashtag_names").list.eval(
                    pl.element().str.to_lowercase() == v.lower()).list.any())  # fmt: skip
            elif k in frame.columns:
                rows = rows.filter(pl.col(k).cast(pl.String) == v)
            else:
                raise InvalidRequestError(
                    f"sizes: the collection has no column to count the stratum field {k!r}; "
                    "give a table of stratum sizes instead"
                )
        pieces.append(
            rows.group_by("period")
            .agg(size=pl.len())
            .with_columns(*(pl.lit(v, pl.String).alias(k) for k, v in stratum.items()))
        )
    return pl.concat(pieces).select("period", *plan.strata, "size")


@dataclass
class Sample:
    """A stratified random sample, its per-stratum record and its weights.

    Attributes:
        videos: The videos drawn (the declared videos schema) with three more columns:
            ``period``, ``stratum`` (the label of the stratum that drew the row) and ``weight``
            (``size / returned`` of that stratum; null when the size is unknown).
        strata: One row per stratum: ``period``, ``window_start``, ``window_end``, the strata
            fields, ``stratum``, ``asked`` (``n``), ``returned`` (null: not drawn), ``size``
            (null: unknown),
            ``share`` (``returned / size``), ``weight`` and ``status`` (``ok``; ``failed``: the
            service answered with errors after its retries, the error and ``log_id`` are in
            ``report.pending``; ``not asked yet``: the run stopped before it). Run the same call
            again to ask the strata not drawn; a stratum drawn is never drawn again.
        report: What the run did (:class:`~tiktok_research.collect.CollectionReport`).
        plan: The plan it ran.
    """

    videos: pl.DataFrame
    strata: pl.DataFrame
    report: CollectionReport
    plan: SamplePlan

    @property
    def complete(self) -> bool:
        """Every stratum was asked and answered."""
        return self.report.complete

    @property
    def weights_known(self) -> bool:
        """Every row has a weight (every stratum's size was given)."""
        return self.videos.height > 0 and self.videos["weight"].null_count() == 0

    def __str__(self) -> str:
        s = self.strata
        asked, returned = int(s["asked"].sum()), int(s["returned"].fill_null(0).sum())
        ok = s.filter(pl.col("status") == "ok")
        lines = [
            f"sample: {returned:,} of {asked:,} videos asked came back "
            f"({returned / asked:.0%}) over {s.height:,} strata; this run: {self.report.cost()}",
        ]
        if ok.height:
            yields = (ok["returned"] / ok["asked"]).to_list()
            lines.append(f"  per stratum: {min(yields):.0%} to {max(yields):.0%} of what was asked")
        bad = s.filter(pl.col("status") != "ok")
        if bad.height:
            shown = ", ".join(str(k) for k in bad["stratum"].head(5))
            lines.append(f"  {bad.height} stratum(s) not drawn: {shown}")
        lines.append(
            "  weights: "
            + (
                "size / returned per stratum"
                if self.weights_known
                else "unknown for strata whose size was not given (sizes=)"
            )
        )
        if self.report.archive is not None:
            lines.append(f"  per-stratum record: {self.report.archive / 'strata.json'}")
        if not self.report.complete:
            lines.append("  " + self.report.how_to_continue())
        return "\n".join(lines)


def sample_videos(
    query: QueryLike,
    start_date: date | str,
    end_date: date | str,
    *,
    per: Per = "month",
    n: int = 100,
    strata: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    sizes: pl.DataFrame | None = None,
    fields: Sequence[str] | str | None = None,
    client: Client | None = None,
    archive: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_workers: int = 4,
) -> Sample:
    """Draw a stratified random sample of videos: one ``is_random`` request per stratum.

    Read the module documentation (:mod:`tiktok_research.sample`) for what such a sample is and
    is not. Every input is checked before the first request; the cost is one request per
    stratum (see :func:`plan_sample` for a dry run). The answers are archived and a stopped run
    continues where it stopped (a stratum drawn is never drawn again: a second draw would be a
    different sample).

    Args:
        query: The query (``tr.Q`` expression, ``Query``, dict or JSON).
        start_date: First day (UTC).
        end_date: Last day (UTC, inclusive; clipped to today).
        per: Time strata: ``"day"``, ``"week"`` (Monday to Sunday) or ``"month"``; the first
            and last periods are clipped to the range.
        n: Videos asked per stratum, 1 to 100 (what one ``is_random`` request can return).
        strata: Fields to stratify by within each period: a list of names whose values are in
            the query (``Q.region_code.isin(["US", "GB"])`` and ``strata=["region_code"]``), or
            a mapping of names to values (``{"region_code": ["US", "GB"]}``). One request per
            period and combination of values.
        sizes: The known size of each stratum, for the weights: a table with ``period`` (the
            period's first day), the strata fields and ``size`` (or ``videos``), or a full
            collection of the same query (a videos table) to count them in. None: weights
            unknown.
        fields: Video fields (default: all).
        client: As for :func:`tiktok_research.fetch_videos`.
        archive: As for :func:`tiktok_research.fetch_videos`.
        resume: As for :func:`tiktok_research.fetch_videos`.
        progress: As for :func:`tiktok_research.fetch_videos`.
        max_workers: Requests at the same time.

    Returns:
        A :class:`Sample`: ``.videos`` (with ``period``, ``stratum``, ``weight``), ``.strata``
        (asked and returned per stratum), ``.report``.

    Raises:
        InvalidRequestError: bad input, before any request.
    """
    from .fetch import _check_common, _planning_client, _run

    c = _planning_client(client)
    folder = _check_common(archive, resume, max_workers)
    plan = plan_sample(query, start_date, end_date, per=per, n=n, strata=strata, fields=fields,
                       client=c)  # fmt: skip
    known = _sizes(sizes, plan)
    # Which stratum drew which rows is read from the archived answers, so a call without an
    # archive collects into a temporary one: removed once read if the sample is complete, kept
    # (and named in the report, as the engine does) if not.
    temp = Path(tempfile.mkdtemp(prefix="tiktok-research-")) if folder is None else None
    result = _run(plan.lookup, c, archive=folder or temp, resume=resume, progress=progress,
                  max_workers=max_workers)  # fmt: skip
    out = _sample(result, plan, known)
    if temp is not None:
        out.report.temporary = True
        if out.report.complete:
            shutil.rmtree(temp, ignore_errors=True)
            out.report.archive = None
    return out


def _sample(result: FetchResult, plan: SamplePlan, known: pl.DataFrame | None) -> Sample:
    """The sample and its record, from the run's result and its archived answers."""
    report = result.report
    drawn = _returned(report.archive, plan) if report.archive is not None else {}
    keys = list(plan.strata)
    # a stratum the service answered with errors (its reason names them) vs one a stop left
    failed = [k for k, why in report.pending.items() if why != _STOPPED]
    record = plan.keys.with_columns(
        asked=pl.lit(plan.n, pl.Int64),
        returned=pl.col("stratum").replace_strict(
            {k: len(v) for k, v in drawn.items()}, default=0, return_dtype=pl.Int64
        ),
        status=pl.when(pl.col("stratum").is_in(list(drawn)))
        .then(pl.lit("ok"))
        .when(pl.col("stratum").is_in(failed))
        .then(pl.lit("failed"))
        .otherwise(pl.lit("not asked yet")),
    )
    if known is not None:
        record = record.join(known, on=["period", *keys], how="left", nulls_equal=True)
    else:
        record = record.with_columns(size=pl.lit(None, pl.Int64))
    drew = pl.col("status") == "ok"
    record = record.with_columns(
        returned=pl.when(drew).then(pl.col("returned")),
        share=pl.when(drew & (pl.col("size") > 0)).then(pl.col("returned") / pl.col("size")),
        weight=pl.when(drew & (pl.col("returned") > 0)).then(pl.col("size") / pl.col("returned")),
    )
    columns = ["period", "window_start", "window_end", *keys, "stratum", "asked", "returned",
               "size", "share", "weight", "status"]  # fmt: skip
    record = record.select(columns).sort("period", *keys)
    owner = pl.DataFrame(
        [(i, k) for k, ids in drawn.items() for i in ids],
        schema={"id": pl.Int64, "stratum": pl.String},
        orient="row",
    ).unique("id", keep="first")
    videos = (
        pl.DataFrame(result)
        .join(owner, on="id", how="left")
        .join(record.select("stratum", "period", "weight"), on="stratum", how="left")
    )
    if report.archive is not None:
        write_json(
            report.archive / "strata.json",
            {"about": "tiktok_research.sample_videos: per-stratum record (asked vs returned)",
             "per": plan.per, "n": plan.n, "strata": plan.strata,
             "rows": record.with_columns(pl.col(pl.Date).cast(pl.String)).to_dicts()},
        )  # fmt: skip
    return Sample(videos=videos, strata=record, report=report, plan=plan)
