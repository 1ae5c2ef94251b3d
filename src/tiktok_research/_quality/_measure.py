"""The measures of a quality report: windows and gaps, fields, strays, eras.

Each is computed from what :mod:`._read` read (the answers, the journal, the manifests, the rows);
nothing here sends a request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from .. import _endpoints as ep
from .._checks import parse_api_date
from .._eras import straddled
from ..errors import InvalidRequestError
from ._read import PRESENT, CollectionData

__all__ = [
    "EMPTY_NEIGHBOURS",
    "ERA_SCHEMA",
    "FIELD_SCHEMA",
    "GAP_SCHEMA",
    "STRAY_SCHEMA",
    "WINDOW_SCHEMA",
    "eras_of",
    "fields_of",
    "strays_of",
    "windows_of",
]

#: A complete window with no rows is *suspiciously empty* when its neighbours (up to two complete
#: windows on each side, in date order) give, at their median rate per day, at least this many rows
#: for its days.
EMPTY_NEIGHBOURS = 10

WINDOW_SCHEMA = pl.Schema(
    {
        "collection": pl.String(),
        "endpoint": pl.String(),
        "task": pl.String(),
        "start_date": pl.Date(),
        "end_date": pl.Date(),
        "item": pl.String(),
        "pages": pl.Int64(),
        "rows": pl.Int64(),
        "requests": pl.Int64(),
        "failed_requests": pl.Int64(),
        "slots": pl.Int64(),
        "hidden_slots": pl.Int64(),
        "hidden_share": pl.Float64(),
        "max_count": pl.Int64(),
        "yield": pl.Float64(),
        "status": pl.String(),
        "gap_days": pl.Int64(),
        "error_code": pl.String(),
        "error_message": pl.String(),
        "log_id": pl.String(),
        "reason": pl.String(),
    }
)
GAP_SCHEMA = pl.Schema(
    {
        "collection": pl.String(),
        "endpoint": pl.String(),
        "task": pl.String(),
        "start_date": pl.Date(),
        "end_date": pl.Date(),
        "days": pl.Int64(),
        "item": pl.String(),
        "error_code": pl.String(),
        "error_message": pl.String(),
        "log_id": pl.String(),
        "http_status": pl.Int64(),
    }
)
FIELD_SCHEMA = pl.Schema(
    {
        "table": pl.String(),
        "by": pl.String(),
        "group": pl.String(),
        "column": pl.String(),
        "rows": pl.Int64(),
        "present": pl.Int64(),
        "share": pl.Float64(),
    }
)
STRAY_SCHEMA = pl.Schema(
    {
        "collection": pl.String(),
        "id": pl.Int64(),
        "username": pl.String(),
        "region_code": pl.String(),
        "create_time": pl.Datetime("us", "UTC"),
        "condition": pl.String(),
    }
)
ERA_SCHEMA = pl.Schema(
    {
        "era": pl.String(),
        "date": pl.Date(),
        "table": pl.String(),
        "change": pl.String(),
        "meaning": pl.String(),
        "sources": pl.String(),
        "reported": pl.Boolean(),
        "answers_before": pl.Int64(),
        "answers_after": pl.Int64(),
        "collections": pl.String(),
    }
)

_WINDOW_KEY = re.compile(r"^(\d{8})-(\d{8})")
_SERVER = pl.col("http_status").fill_null(0) >= 500


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return parse_api_date(text.replace("-", "")[:8], "day")
    except InvalidRequestError:
        return None


def _days(a: date, b: date) -> list[date]:
    return [a + timedelta(days=k) for k in range((b - a).days + 1)] if b >= a else []


def _runs(days: Sequence[date]) -> list[tuple[date, date]]:
    """Consecutive days -> (first, last) runs."""
    out: list[tuple[date, date]] = []
    for d in sorted(days):
        if out and d == out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


# ------------------------------------------------------------------------------------ windows


def _tasks(c: CollectionData) -> list[str]:
    """The collection's task keys: planned windows, then what the journal and answers know.

    Tasks that are not one per window (the id batches of a look-up or an audit,
    ``S-E-firstid``; the strata of a sample, ``2024-01-01/region_code=US``) come from the
    manifests' task lists, not from the windows (several of them can share one)."""
    windows = [f"{s}-{e}" for s, e in c.planned_windows]
    planned = c.planned_tasks
    keys = planned if planned and set(planned) != set(windows) else windows
    keys = list(dict.fromkeys(keys))
    keys += [k for k in c.journal.tasks if k not in keys]
    if not keys and c.answers.height:  # loose files: one task per window or item asked
        pairs = c.answers.select("start_date", "end_date", "item").unique(maintain_order=True)
        for s, e, item in pairs.iter_rows():
            if s and e:
                key = f"{str(s).replace('-', '')}-{str(e).replace('-', '')}"
            else:
                key = item or "(all)"
            if key not in keys:
                keys.append(key)
    return keys


def _attribute(c: CollectionData, keys: list[str]) -> dict[str, pl.DataFrame]:
    """The answers of each task, each answer given to one task only: first the pages the
    journal records for the task (run and page number), then the rest by window (the request's
    start day inside the task's window) or by item (``key:value``), an answer that fits several
    tasks going to the first of them not finished (else the first)."""
    answers = c.answers.with_row_index("_i").with_columns(
        pl.col("start_date").str.replace_all("-", "").alias("_s"),
    )
    owner: dict[int, str] = {}
    refs = {(ref.run, ref.page): key for key in keys for ref, _ in c.journal.task(key).pages}
    if refs:
        for i, run, page in answers.select("_i", "run", "page").iter_rows():
            key = refs.get((run, page))
            if key is not None:
                owner[i] = key
    rest = answers.filter(~pl.col("_i").is_in(list(owner)))
    if rest.height:
        fits: dict[int, list[str]] = {}
        for key in keys:
            m = _WINDOW_KEY.match(key)
            if m:
                s, e = m.group(1), m.group(2)
                mine = rest.filter((pl.col("_s") >= s) & (pl.col("_s") <= e))
            elif key == "(all)":
                mine = rest
            else:
                mine = rest.filter(pl.col("item") == key)
            for i in mine["_i"]:
                fits.setdefault(i, []).append(key)
        for i, options in fits.items():
            open_ = [k for k in options if c.journal.task(k).status not in ("done", "converted")]
            owner[i] = (open_ or options)[0]
    by_key = pl.DataFrame(
        {"_i": list(owner), "_key": list(owner.values())},
        schema={"_i": pl.UInt32(), "_key": pl.String()},
    )
    joined = answers.join(by_key, on="_i", how="inner")
    groups = {k[0]: g for k, g in joined.group_by("_key")}
    empty = c.answers.clear()
    return {key: groups[key].sort("_i").drop("_i", "_s", "_key") if key in groups else empty
            for key in keys}  # fmt: skip


def _max_total_reached(c: CollectionData) -> bool:
    """The collection asked for at most ``max_total`` rows and its last run ended complete."""
    return (
        bool(c.spec.get("max_total"))
        and bool(c.manifests)
        and (c.manifests[-1].get("status") == "complete")
    )


def _item_refused(rec: Any, item: Any) -> bool:
    """A task of one item that failed for good because the service refused that item (a 4xx
    answer: "API cannot return this user's information")."""
    if rec.status != "failed" or item is None:
        return False
    status = (rec.error or {}).get("http_status")
    return isinstance(status, int) and 400 <= status < 500


def _error_of(failed: pl.DataFrame) -> dict[str, Any]:
    if failed.height == 0:
        return {"error_code": None, "error_message": None, "log_id": None, "http_status": None}
    row = failed.sort("retrieved_at").row(-1, named=True)
    return {k: row[k] for k in ("error_code", "error_message", "log_id", "http_status")}


def _window_task(
    c: CollectionData, key: str, ans: pl.DataFrame, pagination: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One row of ``windows`` and the gap rows of a task."""
    rec = c.journal.task(key)
    m = _WINDOW_KEY.match(key)
    start = _day(m.group(1)) if m else None
    end = _day(m.group(2)) if m else None
    item: str | None = None if m else key
    if m is None and ans.height and ans["item"].is_null().all():
        spans = ans.select("start_date", "end_date").unique()
        if spans.height == 1:  # a task of one window (a sample's stratum): its dates
            start, end = _day(spans["start_date"][0]), _day(spans["end_date"][0])
            item = None
    ok = ans.filter(pl.col("ok"))
    if ok.height > 1:
        ok = ok.sort("retrieved_at").unique(
            subset=["start_date", "end_date", "item", "req_cursor"],
            keep="last",
            maintain_order=True,
        )
    failed = ans.filter(~pl.col("ok"))
    moved = (pl.col("resp_cursor") - pl.col("req_cursor").fill_null(0)).clip(lower_bound=0)
    counted = (  # a random draw's cursor does not count a window's slots: its yield says
        ok.filter(pl.col("resp_cursor").is_not_null() & ~pl.col("is_random").fill_null(False))
        if pagination in ("search", "index")
        else ok.clear()
    )
    slots = int(counted.select(moved.sum()).item() or 0) if counted.height else None
    counted_rows = int(counted["n_rows"].sum()) if counted.height else 0
    hidden = max(0, slots - counted_rows) if slots is not None else None
    pages, rows = ok.height, int(ok["n_rows"].sum()) if ok.height else 0
    max_count = ok["max_count"].drop_nulls().max() if ok.height else None
    asked = pages * int(max_count) if isinstance(max_count, int) and pages else None
    row: dict[str, Any] = {
        "collection": c.name,
        "endpoint": c.endpoint,
        "task": key,
        "start_date": start,
        "end_date": end,
        "item": item,
        "pages": pages,
        "rows": rows,
        "requests": ans.height,
        "failed_requests": failed.height,
        "slots": slots,
        "hidden_slots": hidden,
        "hidden_share": (hidden / slots) if slots and hidden is not None else None,
        "max_count": max_count,
        "yield": rows / asked if asked else None,
        "gap_days": 0,
        "reason": rec.reason,
    }
    gaps: list[dict[str, Any]] = []
    if start is not None and end is not None:
        gaps = _gap_days(c, key, start, end, ok, failed)
    refused = _item_refused(rec, item)
    if rec.status == "failed" and not gaps and not refused:
        err = rec.error or {}
        gaps = [
            {
                "collection": c.name,
                "endpoint": c.endpoint,
                "task": key,
                "start_date": start,
                "end_date": end,
                "days": len(_days(start, end)) if start and end else None,
                "item": row["item"],
                "error_code": err.get("code"),
                "error_message": err.get("message"),
                "log_id": err.get("log_id"),
                "http_status": err.get("http_status"),
            }
        ]
    err = _error_of(failed)
    if gaps:
        status = "gap"
        err = {k: gaps[0][k] for k in ("error_code", "error_message", "log_id")}
    elif refused:
        # the service refused the item itself for good (an account it cannot return): the task
        # is done and its item failed, as the collection's report says; not a gap a rerun fills
        status = "failed"
        said = rec.error or {}
        err = {"error_code": said.get("code"), "error_message": said.get("message"),
               "log_id": said.get("log_id")}  # fmt: skip
    elif rec.status in ("done", "converted"):
        status = "complete"
    elif not rec.status and not c.journal.tasks and ans.height and failed.height == 0:
        status = "complete"  # loose files: no journal; every answer ok
    elif _max_total_reached(c):
        # the rows asked for (max_total) came before this window was needed: the collection is
        # complete, as its report says ("max_total reached ... the rest not needed")
        status = "not needed"
        row["reason"] = f"max_total={c.spec.get('max_total')} reached first"
    else:
        status = "stopped"
        if row["reason"] is None:
            row["reason"] = c.stopped_by or "not finished"
    row["gap_days"] = sum(int(g["days"] or 0) for g in gaps)
    row.update(
        status=status,
        error_code=err["error_code"],
        error_message=err["error_message"],
        log_id=err["log_id"],
    )
    return row, gaps


def _gap_days(
    c: CollectionData, key: str, start: date, end: date, ok: pl.DataFrame, failed: pl.DataFrame
) -> list[dict[str, Any]]:
    """Days of a window that no finished request covers and that failed with a server error,
    as runs, each with the error of the narrowest failing request around it."""
    server = failed.filter(_SERVER)
    if server.height == 0:
        return []
    covered: set[date] = set()
    for s, e in (
        ok.filter(pl.col("has_more").fill_null(False).not_())
        .select("start_date", "end_date")
        .iter_rows()
    ):
        a, b = _day(s), _day(e)
        if a and b:
            covered.update(_days(max(a, start), min(b, end)))
    failing: dict[date, dict[str, Any]] = {}
    spans = []
    for row in server.iter_rows(named=True):
        a, b = _day(row["start_date"]), _day(row["end_date"])
        if a and b:
            spans.append(((b - a).days, a, b, row))
    for _, a, b, row in sorted(spans, key=lambda t: (-t[0], str(t[3]["retrieved_at"]))):
        for d in _days(max(a, start), min(b, end)):
            if d not in covered:
                failing[d] = row  # narrower requests overwrite wider ones
    out = []
    for a, b in _runs(list(failing)):
        # split a run where the narrowest failing request changes (its own error and log id)
        segment_start = a
        for d in _days(a, b):
            nxt = d + timedelta(days=1)
            if nxt > b or failing[nxt] is not failing[d]:
                row = failing[d]
                out.append(
                    {
                        "collection": c.name,
                        "endpoint": c.endpoint,
                        "task": key,
                        "start_date": segment_start,
                        "end_date": d,
                        "days": (d - segment_start).days + 1,
                        "item": None,
                        "error_code": row["error_code"],
                        "error_message": row["error_message"],
                        "log_id": row["log_id"],
                        "http_status": row["http_status"],
                    }
                )
                segment_start = nxt
    return out


def _merge_gap_rows(gaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adjacent gap runs of the same task and error code joined (one range per failing range)."""
    out: list[dict[str, Any]] = []
    for g in sorted(gaps, key=lambda g: (g["collection"], g["task"], g["start_date"] or date.min)):
        last = out[-1] if out else None
        if (
            last is not None
            and last["collection"] == g["collection"]
            and last["task"] == g["task"]
            and last["error_code"] == g["error_code"]
            and last["end_date"] is not None
            and g["start_date"] == last["end_date"] + timedelta(days=1)
        ):
            last["end_date"] = g["end_date"]
            last["days"] = (last["end_date"] - last["start_date"]).days + 1
            continue
        out.append(dict(g))
    return out


def _suspicious(frame: pl.DataFrame) -> pl.DataFrame:
    """Complete windows with no rows whose neighbours have many: status 'suspiciously empty'."""
    if frame.height < 2 or frame["start_date"].null_count() == frame.height:
        return frame
    ordered = frame.with_row_index("_i").sort("start_date", nulls_last=True)
    statuses = ordered["status"].to_list()
    rows = ordered["rows"].to_list()
    starts, ends = ordered["start_date"].to_list(), ordered["end_date"].to_list()
    for i, (st, n, s, e) in enumerate(zip(statuses, rows, starts, ends, strict=True)):
        if st != "complete" or n != 0 or s is None or e is None:
            continue
        near = [j for j in (i - 2, i - 1, i + 1, i + 2) if 0 <= j < len(rows)]
        rates = sorted(
            rows[j] / ((ends[j] - starts[j]).days + 1)
            for j in near
            if statuses[j] == "complete" and starts[j] is not None and ends[j] is not None
        )
        if not rates:
            continue
        median = (
            rates[len(rates) // 2]
            if len(rates) % 2
            else sum(rates[len(rates) // 2 - 1 : len(rates) // 2 + 1]) / 2
        )
        if median * ((e - s).days + 1) >= EMPTY_NEIGHBOURS:
            statuses[i] = "suspiciously empty"
    ordered = ordered.with_columns(pl.Series("status", statuses, dtype=pl.String))
    return ordered.sort("_i").drop("_i")


def windows_of(collections: Sequence[CollectionData]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``windows`` (one row per window or task) and ``gaps`` (one row per failing date range)."""
    rows: list[dict[str, Any]] = []
    gaps: list[dict[str, Any]] = []
    frames = []
    for c in collections:
        e = ep.ENDPOINTS.get(c.endpoint)
        pagination = e.pagination if e is not None else "none"
        keys = _tasks(c)
        mine: list[dict[str, Any]] = []
        for key, ans in _attribute(c, keys).items():
            row, g = _window_task(c, key, ans, pagination)
            mine.append(row)
            gaps.extend(g)
        frame = pl.DataFrame(mine, schema=WINDOW_SCHEMA, orient="row") if mine else None
        if frame is not None:
            frames.append(_suspicious(frame))
        rows.extend(mine)
    windows = pl.concat(frames) if frames else pl.DataFrame(schema=WINDOW_SCHEMA)
    gap_frame = pl.DataFrame(_merge_gap_rows(gaps), schema=GAP_SCHEMA, orient="row")
    return windows, gap_frame


# ------------------------------------------------------------------------------------- fields


def fields_of(presence: pl.DataFrame, table: str, asked: set[str] | None) -> pl.DataFrame:
    """The share of rows where each field is present (not null; text not empty; a list not
    empty), overall, by ``region_code`` and by month of ``create_time``."""
    columns = [c.removeprefix(PRESENT) for c in presence.columns if c.startswith(PRESENT)]
    if asked is not None:
        columns = [c for c in columns if c in asked or c in ("id", "username")]
    if presence.height == 0 or not columns:
        return pl.DataFrame(schema=FIELD_SCHEMA)
    flags = presence.select(
        *[pl.col(PRESENT + c).cast(pl.Int64).alias(c) for c in columns],
        *(
            [pl.col("region_code").fill_null("(none)").alias("_region")]
            if "region_code" in presence.columns
            else []
        ),
        *(
            [pl.col("create_time").dt.strftime("%Y-%m").fill_null("(none)").alias("_month")]
            if "create_time" in presence.columns
            else []
        ),
    )
    sums = [pl.len().cast(pl.Int64).alias("_rows"), *[pl.col(c).sum().alias(c) for c in columns]]
    parts = [flags.select(pl.lit("all").alias("by"), pl.lit("all").alias("group"), *sums)]
    for by, col in (("region_code", "_region"), ("month", "_month")):
        if col in flags.columns:
            parts.append(
                flags.group_by(col)
                .agg(*sums)
                .select(pl.lit(by).alias("by"), pl.col(col).alias("group"), "_rows", *columns)
                .sort("group")
            )
    wide = pl.concat(parts, how="vertical_relaxed")
    long = wide.unpivot(
        index=["by", "group", "_rows"], on=columns, variable_name="column", value_name="present"
    )
    return long.select(
        pl.lit(table).alias("table"),
        "by",
        "group",
        "column",
        pl.col("_rows").cast(pl.Int64).alias("rows"),
        pl.col("present").cast(pl.Int64),
        (pl.col("present") / pl.col("_rows")).alias("share"),
    )


# ------------------------------------------------------------------------------------- strays


def _conditions(query: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """``(group, description, condition)`` for the checkable conditions of a query dict."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    if not isinstance(query, dict):
        return out
    for group in ("and", "or", "not"):
        for cond in query.get(group) or []:
            if not isinstance(cond, dict):
                continue
            name, op = cond.get("field_name"), cond.get("operation")
            values = cond.get("field_values") or []
            if name in ("username", "region_code", "hashtag_name", "video_id") and op in (
                "EQ",
                "IN",
            ):
                shown = ", ".join(map(str, values[:5])) + (" ..." if len(values) > 5 else "")
                out.append((group, f"{group}: {name} {op} [{shown}]", cond))
    return out


def _meets(cond: dict[str, Any], rows: pl.DataFrame) -> pl.Expr:
    name = cond["field_name"]
    values = [str(v) for v in cond.get("field_values") or []]
    if name == "username":
        return pl.col("username").str.to_lowercase().is_in([v.lower() for v in values])
    if name == "region_code":
        return pl.col("region_code").str.to_uppercase().is_in([v.upper() for v in values])
    if name == "video_id":
        ids = [int(v) for v in values if v.strip().isdigit()]
        return pl.col("id").is_in(ids)
    # hashtag_name: any of the video's hashtags
    wanted = [v.lower().lstrip("#") for v in values]
    if "hashtag_names" not in rows.columns:
        return pl.lit(True)
    return (
        pl.col("hashtag_names").list.eval(pl.element().str.to_lowercase().is_in(wanted)).list.any()
    ).fill_null(False)


def strays_of(collections: Sequence[CollectionData]) -> pl.DataFrame:
    """Rows that do not meet their collection's query where that can be checked here:
    ``username``, ``region_code``, ``hashtag_name`` and ``video_id`` EQ/IN conditions (in the
    ``and``, ``or`` and ``not`` groups) and ``create_time`` inside the collection's dates."""
    frames = []
    for c in collections:
        frame = c.presence
        if frame.height == 0 or c.table != "videos" or "query" not in c.spec:
            continue
        checks: list[tuple[str, pl.Expr]] = []
        conds = _conditions(c.spec.get("query"))
        for group, text, cond in conds:
            if group == "and":
                checks.append((text, ~_meets(cond, frame)))
            elif group == "not":
                checks.append((text, _meets(cond, frame)))
        ors = [(t, cond) for g, t, cond in conds if g == "or"]
        raw_or = (c.spec.get("query") or {}).get("or") or []
        if ors and len(ors) == len(raw_or):  # every condition of the group can be checked
            fails = pl.all_horizontal([~_meets(cond, frame) for _, cond in ors])
            checks.append(("or: " + " | ".join(t.removeprefix("or: ") for t, _ in ors), fails))
        s, e = _day(str(c.spec.get("start_date") or "")), _day(str(c.spec.get("end_date") or ""))
        if s and e and "create_time" in frame.columns:
            lo = datetime(s.year, s.month, s.day, tzinfo=UTC)
            hi = datetime(e.year, e.month, e.day, tzinfo=UTC) + timedelta(days=1)
            checks.append(
                (
                    f"create_time in {s.isoformat()}..{e.isoformat()}",
                    (pl.col("create_time") < lo) | (pl.col("create_time") >= hi),
                )
            )
        if not checks:
            continue
        flagged = frame.with_columns(
            pl.concat_str(
                [pl.when(expr.fill_null(False)).then(pl.lit(text)) for text, expr in checks],
                separator="; ",
                ignore_nulls=True,
            ).alias("condition")
        ).filter(pl.col("condition").is_not_null() & (pl.col("condition") != ""))
        cols = [k for k in ("id", "username", "region_code", "create_time") if k in flagged.columns]
        frames.append(flagged.select(pl.lit(c.name).alias("collection"), *cols, "condition"))
    if not frames:
        return pl.DataFrame(schema=STRAY_SCHEMA)
    return pl.concat(frames, how="diagonal_relaxed").select(
        [
            pl.col(k).cast(v) if k in frames[0].columns else pl.lit(None, v).alias(k)
            for k, v in STRAY_SCHEMA.items()
        ]
    )


# --------------------------------------------------------------------------------------- eras


def eras_of(collections: Sequence[CollectionData]) -> pl.DataFrame:
    """The eras that the answers of each table straddle (by the day each answer was retrieved)."""
    out: list[dict[str, Any]] = []
    by_table: dict[str, list[CollectionData]] = {}
    for c in collections:
        by_table.setdefault(c.table, []).append(c)
    for table, cs in sorted(by_table.items()):
        dated = pl.concat(
            [
                c.answers.filter(pl.col("ok")).select(pl.lit(c.name).alias("c"), "retrieved_at")
                for c in cs
            ]
        ).drop_nulls("retrieved_at")
        if dated.height == 0:
            continue
        first, last = dated["retrieved_at"].min(), dated["retrieved_at"].max()
        assert isinstance(first, datetime) and isinstance(last, datetime)
        for era in straddled(first, last, tables={table}):
            day = pl.col("retrieved_at").dt.date()
            before = dated.filter(day < era.start)
            after = dated.filter(day >= era.start)
            names = sorted(set(before["c"].to_list()) | set(after["c"].to_list()))
            out.append(
                {
                    "era": era.key,
                    "date": era.start,
                    "table": table,
                    "change": era.change,
                    "meaning": era.meaning,
                    "sources": era.citation(),
                    "reported": era.reported,
                    "answers_before": before.height,
                    "answers_after": after.height,
                    "collections": ", ".join(names),
                }
            )
    return pl.DataFrame(out, schema=ERA_SCHEMA, orient="row")


def query_text(spec: dict[str, Any]) -> str:
    """The query of a collection as compact JSON ('' when none)."""
    query = spec.get("query")
    return json.dumps(query, ensure_ascii=False, separators=(",", ":")) if query else ""
