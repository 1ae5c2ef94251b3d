"""A quality report as text (the terminal), Markdown (a methods section) and one HTML page."""

from __future__ import annotations

import base64
import html as html_lib
import io
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from .._checks import plural
from .._eras import SOURCES

if TYPE_CHECKING:
    from . import QualityReport

__all__ = ["html", "markdown", "text"]

#: What the archive cannot show, with the published finding and its source (SOURCES keys).
KNOWN_LIMITS: tuple[tuple[str, str], ...] = (
    (
        "Videos that exist but are never returned cannot be seen in an archive: about 1 in 8 "
        "videos known to exist from data donations were never returned (Entrena-Serrano et al. "
        "2025). `tr.audit_ids` measures this share for a list of ids you hold.",
        "Q:AIF",
    ),
    (
        "Queries filtered by username were reported to return erroneous results; the strays "
        "above are those this report can check.",
        "Q:AUDIT",
    ),
    (
        "`voice_to_text` was present for about 10% to 20% of videos, more often for some "
        "creators than others.",
        "Q:SSCR",
    ),
    (
        "Random samples (`is_random`) returned at most about 65% of the videos asked for.",
        "Q:CORSO",
    ),
    (
        "Some date ranges of hashtag queries answered HTTP 500 for months (such failures are "
        "counted against the quota); they appear above as gaps.",
        "BLOG:C4D",
    ),
)

_SPARSE = 0.9  # fields present in fewer rows than this are named as sparse
_REGIONS_PLOTTED = 15


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _dates(spec_start: Any, spec_end: Any) -> str:
    def fmt(v: Any) -> str:
        s = str(v or "")
        return f"{s[:4]}-{s[4:6]}-{s[6:8]}" if len(s) == 8 and s.isdigit() else s

    return f"{fmt(spec_start)} to {fmt(spec_end)}" if spec_start else "(no dates)"


def _sparse(report: QualityReport) -> pl.DataFrame:
    return report.fields.filter((pl.col("by") == "all") & (pl.col("share") < _SPARSE)).sort(
        ["table", "share"]
    )


def _by_region(report: QualityReport, column: str, table: str = "videos", top: int = 6) -> str:
    rows = report.fields.filter(
        (pl.col("table") == table) & (pl.col("by") == "region_code") & (pl.col("column") == column)
    ).sort("rows", descending=True)
    if rows.height < 2:
        return ""
    shown = ", ".join(
        f"{g} {s:.0%}" for g, s in rows.head(top).select("group", "share").iter_rows()
    )
    lo, hi = float(rows["share"].min()), float(rows["share"].max())  # type: ignore[arg-type]
    return f" (by region, largest first: {shown}; from {lo:.0%} to {hi:.0%})"


# ----------------------------------------------------------------------------------- text


def _gap_where(gap: dict[str, Any], between: str) -> str:
    """Where a gap is: its days (``start``, ``between``, ``end``), or the item or task."""
    if gap["start_date"]:
        return f"{_when(gap['start_date'])}{between}{_when(gap['end_date'])}"
    return str(gap["item"] or gap["task"])


def _rows(row: dict[str, Any]) -> str:
    """A collection's rows: those archived, and those its result kept when ``max_total`` kept
    fewer (the run report counts those): "191 rows archived, 150 kept by max_total=150"."""
    if row["kept"] == row["rows"]:
        return f"{row['rows']:,} rows"
    return f"{row['rows']:,} rows archived, {row['kept']:,} kept by max_total={row['max_total']:,}"


def text(report: QualityReport) -> str:
    """A few lines for a terminal: the verdict, each collection, the gaps and eras."""
    lines = [f"quality: {report.verdict()}"]
    for row in report.collections.iter_rows(named=True):
        lines.append(
            f"  {row['collection']} ({row['endpoint']}): {_rows(row)}, "
            f"{row['requests']:,} requests ({row['failed_requests']:,} failed), "
            f"{row['windows']} windows: {row['complete']} complete, {row['gap']} gap, "
            f"{row['stopped']} stopped, {row['not_needed']} not needed, {row['failed']} failed, "
            f"{row['suspiciously_empty']} suspiciously empty"
        )
    for g in report.gaps.head(20).iter_rows(named=True):
        where = _gap_where(g, "..")
        lines.append(
            f"  gap: {g['collection']} {where}: {g['error_code']} (HTTP {g['http_status']}, "
            f"log_id {g['log_id']})"
        )
    if report.gaps.height > 20:
        lines.append(f"  ... and {report.gaps.height - 20} more gaps")
    for f in _sparse(report).head(8).iter_rows(named=True):
        lines.append(f"  sparse: {f['table']}.{f['column']} present in {_pct(f['share'])} of rows")
    if report.strays.height:
        n = report.strays.height
        lines.append(
            f"  strays: {n} {plural(n, 'row does not meet its', 'rows do not meet their')} query"
        )
    for e in report.eras.iter_rows(named=True):
        lines.append(f"  era: {e['table']} answers straddle {e['date']}: {e['change']}")
    for path, what in report.damage.items():
        lines.append(f"  damaged: {path}: {'; '.join(what[:3])}")
    for name, why in report.skipped.items():
        lines.append(f"  not assessed: {name} ({why})")
    return "\n".join(lines)


# ------------------------------------------------------------------------------- markdown


def markdown(report: QualityReport) -> str:
    """The data statement (see :meth:`QualityReport.to_markdown`)."""
    c = report.collections
    out = ["## Data statement", ""]
    asked = []
    for row in c.iter_rows(named=True):
        q = f" with the query `{row['query']}`" if row["query"] else ""
        dates = f", {_dates(row['start_date'], row['end_date'])}" if row["start_date"] else ""
        sample = " (random sample, `is_random`)" if row["is_random"] else ""
        asked.append(f"`{row['endpoint']}`{q}{dates}{sample}")
    out.append(
        f"**What was asked.** {c.height} collection(s) from the TikTok Research API: "
        + "; ".join(asked)
        + "."
    )
    first, last = c["first_answer"].min(), c["last_answer"].max()
    out += ["", f"**When.** Answers retrieved from {_when(first)} to {_when(last)}."]
    archived, kept = int(c["rows"].sum()), int(c["kept"].sum())
    caps = dict.fromkeys(
        f"{row['max_total']:,} rows{'' if row['endpoint'] == 'video_query' else ' per item'}"
        for row in c.filter(pl.col("kept") < pl.col("rows")).iter_rows(named=True)
    )
    capped = "" if kept == archived else (
        f", of which the collection kept {kept:,}: it asked for at most {' and '.join(caps)} "
        f"(`max_total`), and the other {archived - kept:,} came on the same pages of answers "
        "and were not kept"
    )  # fmt: skip
    out += [
        "",
        f"**Cost.** {int(c['requests'].sum()):,} requests "
        f"({int(c['failed_requests'].sum()):,} answered with an error), "
        f"{archived:,} rows archived{capped}.",
        "",
        f"**Verdict.** {report.verdict()}.",
        "",
        "**What is known to be missing, and why.**",
        "",
    ]
    missing = []
    for g in report.gaps.iter_rows(named=True):
        where = _gap_where(g, " to ")
        missing.append(
            f"- Not collected (gap): {where} in `{g['collection']}`: the service answered "
            f"`{g['error_code']}` (HTTP {g['http_status']}, log_id `{g['log_id']}`) to every "
            "request. These days are missing, not empty."
        )
    counts = report.status_counts()
    if counts.get("failed"):
        missing.append(
            f"- {counts['failed']} item(s) refused by the service for good (e.g. an account it "
            "cannot return): listed in the windows table with the service's code and message."
        )
    if counts.get("stopped"):
        missing.append(
            f"- {counts['stopped']} window(s) not finished (the run stopped: quota, budget or "
            "interruption); running the same call again continues them."
        )
    if counts.get("not needed"):
        missing.append(
            f"- {counts['not needed']} window(s) not read to their end: the collection asked for "
            "at most `max_total` rows, which the windows read first gave (a video query reads "
            "its windows newest first); the rows of the rest were not asked for."
        )
    if counts.get("suspiciously empty"):
        missing.append(
            f"- {counts['suspiciously empty']} window(s) returned no rows while their neighbours "
            "returned many (suspiciously empty)."
        )
    hidden = report.hidden_share
    if hidden is not None:
        missing.append(
            f"- Hidden slots: {_pct(hidden)} of the result positions the service counted held "
            "videos (or comments) it did not return: deleted or private since they were indexed."
        )
    for f in _sparse(report).iter_rows(named=True):
        extra = _by_region(report, f["column"], f["table"]) if f["share"] > 0 else ""
        missing.append(
            f"- `{f['column']}` ({f['table']}) is present in {_pct(f['share'])} of rows{extra}."
        )
    if report.strays.height:
        conds = report.strays["condition"].value_counts().sort("count", descending=True)
        shown = "; ".join(f"{n} fail `{t}`" for t, n in conds.head(5).iter_rows())
        missing.append(
            f"- {report.strays.height} "
            f"{plural(report.strays.height, 'row does not meet its', 'rows do not meet their')} "
            f"query ({shown}); {plural(report.strays.height, 'it is', 'they are')} "
            "listed in the report's `strays` and can be dropped."
        )
    for e in report.eras.iter_rows(named=True):
        missing.append(
            f"- The answers for `{e['table']}` straddle {e['date']}: {e['change']} "
            f"{e['meaning']} ({e['answers_before']:,} answers before, {e['answers_after']:,} "
            "after.)"
        )
    for path, what in report.damage.items():
        missing.append(f"- Damaged archive file `{path}`: {'; '.join(what[:3])}.")
    for name, why in report.skipped.items():
        missing.append(f"- `{name}` is not assessed here ({why}).")
    if not missing:
        missing.append("- Nothing that the archive can show.")
    out += missing
    out += ["", "**What an archive cannot show.**", ""]
    cited = []
    for sentence, key in KNOWN_LIMITS:
        out.append(f"- {sentence} [{key}]")
        cited.append(key)
    cited += [
        k for era in report.eras["sources"].to_list() for k in SOURCES if SOURCES[k][1] in era
    ]
    out += ["", "**Sources.**", ""]
    for key in dict.fromkeys(cited):
        title, url = SOURCES[key]
        out.append(f"- [{key}] {title}. <{url}>")
    out += ["", "Made with tiktok-research's quality report (`tr.quality`)."]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------- HTML


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:
1200px;padding:0 1em;color:#222}h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;
border-bottom:1px solid #ddd}table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{font-size:1.1em;padding:.6em;background:#f6f8fa;border-left:4px solid #888}
.s-complete{background:#e8f5e9}.s-gap{background:#ffebee}.s-stopped{background:#fff8e1}
.s-suspiciously{background:#fff3e0}img{max-width:100%;height:auto}.note{color:#555}.wide{overflow-x:auto}
"""


def _cell(value: Any) -> str:
    if value is None:
        return "<td></td>"
    if isinstance(value, float):
        return f'<td class="num">{value:.4g}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="num">{value}</td>'  # ids as written: exact
    if isinstance(value, (datetime, date)):
        return f"<td>{html_lib.escape(_when(value))}</td>"
    return f"<td>{html_lib.escape(str(value))}</td>"


def _table(frame: pl.DataFrame, limit: int = 2000, status: bool = False) -> str:
    if frame.height == 0:
        return '<p class="note">(none)</p>'
    head = "".join(f"<th>{html_lib.escape(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.head(limit).iter_rows(named=True):
        cls = ""
        if status and row.get("status"):
            cls = f' class="s-{str(row["status"]).split()[0]}"'
        body.append(f"<tr{cls}>" + "".join(_cell(v) for v in row.values()) + "</tr>")
    more = (
        f'<p class="note">{frame.height - limit:,} more rows not shown (see the report\'s '
        "tables in Python).</p>"
        if frame.height > limit
        else ""
    )
    return (
        f"<div class='wide'><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
        f"</table></div>{more}"
    )


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    alt = html_lib.escape(fig.get_label() or "plot")
    return f'<img alt="{alt}" src="data:image/png;base64,{data}">'


def _plots(report: QualityReport) -> list[tuple[str, str]]:
    """``(title, <img>)`` for each plot; empty without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ModuleNotFoundError:
        return []
    out: list[tuple[str, str]] = []
    w = report.windows.filter(pl.col("start_date").is_not_null()).sort("start_date")
    if w.height:
        fig = Figure(figsize=(10, 3.2))
        fig.set_label("rows per window")
        ax = fig.add_subplot()
        colours = {
            "complete": "#4c72b0",
            "gap": "#c44e52",
            "stopped": "#dd8452",
            "suspiciously empty": "#ccb974",
        }
        starts = w["start_date"].to_list()
        widths = [(e - s).days + 1 for s, e in zip(starts, w["end_date"].to_list(), strict=True)]
        ax.bar(
            starts,
            w["rows"].to_list(),
            width=widths,
            align="edge",
            color=[colours.get(s, "#888") for s in w["status"].to_list()],
        )
        for g in report.gaps.filter(pl.col("start_date").is_not_null()).iter_rows(named=True):
            ax.axvspan(g["start_date"], g["end_date"], color="#c44e52", alpha=0.35, lw=0)
        ax.set_ylabel("rows")
        ax.set_title("Rows per window (red: gaps, orange: stopped, yellow: suspiciously empty)")
        fig.autofmt_xdate()
        out.append(("Rows per window", _png(fig)))
        hidden = w.filter(pl.col("hidden_share").is_not_null())
        if hidden.height:
            fig = Figure(figsize=(10, 2.8))
            fig.set_label("hidden slots per window")
            ax = fig.add_subplot()
            ax.plot(hidden["start_date"].to_list(), hidden["hidden_share"].to_list(), "o-", ms=3)
            overall = report.hidden_share
            if overall is not None:
                ax.axhline(overall, color="#888", ls="--", lw=1)
            ax.set_ylabel("hidden share")
            ax.set_title("Hidden slots per window (dashed: overall)")
            fig.autofmt_xdate()
            out.append(("Hidden slots", _png(fig)))
    f = report.fields.filter(pl.col("by") == "all").sort(["table", "share"])
    if f.height:
        fig = Figure(figsize=(8, max(2.5, 0.22 * f.height)))
        fig.set_label("fields present")
        ax = fig.add_subplot()
        labels = [f"{t}.{c}" for t, c in f.select("table", "column").iter_rows()]
        ax.barh(labels, f["share"].to_list(), color="#4c72b0")
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of rows with the field present")
        ax.set_title("Fields present")
        out.append(("Fields present", _png(fig)))
    sparse = _sparse(report).filter(pl.col("share") > 0)["column"].unique().sort().to_list()
    biggest = (
        report.fields.filter((pl.col("by") == "region_code") & (pl.col("column") == "id"))
        .sort("rows", descending=True)
        .head(_REGIONS_PLOTTED)["group"]
    )
    regions = report.fields.filter(
        (pl.col("by") == "region_code")
        & pl.col("column").is_in(sparse)
        & pl.col("group").is_in(biggest.to_list())
    )
    if regions.height and sparse:
        wide = regions.pivot(on="column", index="group", values="share").sort("group")
        fig = Figure(figsize=(max(4, 0.9 * len(sparse) + 2), max(2.5, 0.25 * wide.height)))
        fig.set_label("sparse fields by region")
        ax = fig.add_subplot()
        cols = [c for c in wide.columns if c != "group"]
        image = ax.imshow(
            wide.select(cols).to_numpy(), aspect="auto", vmin=0, vmax=1, cmap="viridis"
        )
        ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
        ax.set_yticks(range(wide.height), wide["group"].to_list())
        fig.colorbar(image, ax=ax, label="share present")
        ax.set_title(f"Sparse fields by region_code (the {wide.height} regions with most rows)")
        out.append(("Sparse fields by region", _png(fig)))
    return out


def html(report: QualityReport) -> str:
    """One self-contained page (see :meth:`QualityReport.to_html`)."""
    esc = html_lib.escape
    plots = _plots(report)
    fields_wide = (
        report.fields.filter(pl.col("by") == "all")
        .select("table", "column", "rows", "present", "share")
        .sort(["table", "share"])
    )
    by_region = report.fields.filter(pl.col("by") == "region_code")
    by_month = report.fields.filter(pl.col("by") == "month")

    def pivot(frame: pl.DataFrame) -> pl.DataFrame:
        if frame.height == 0:
            return frame
        sparse = _sparse(report)["column"].to_list()
        mine = frame.filter(pl.col("column").is_in(sparse)) if sparse else frame.head(0)
        if mine.height == 0:
            return mine
        return mine.pivot(on="column", index=["table", "group"], values="share").sort("group")

    md = markdown(report)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>Quality report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Quality report</h1>",
        f"<p class='verdict'>{esc(report.verdict())}</p>",
        f"<p class='note'>Made {esc(_when(report.created_at))} from the raw archive; no request "
        "was sent.</p>",
        "<h2>Collections</h2>",
        _table(report.collections),
        "<h2>Gaps</h2>",
        "<p class='note'>Date ranges (or items) that could not be collected: missing, not "
        "empty.</p>",
        _table(report.gaps),
    ]
    if plots:
        parts.append("<h2>Plots</h2>")
        parts += [f"<h3>{esc(title)}</h3>{img}" for title, img in plots]
    else:
        parts.append(
            "<p class='note'>Plots need matplotlib: pip install 'tiktok-research[plots]'.</p>"
        )
    parts += [
        "<h2>Windows</h2>",
        "<p class='note'>hidden_slots: how far the cursor moved minus the rows returned; "
        "yield: rows per page against max_count.</p>",
        _table(report.windows, status=True),
        "<h2>Fields</h2>",
        _table(fields_wide),
        "<h3>Sparse fields by region_code</h3>",
        _table(pivot(by_region)),
        "<h3>Sparse fields by month of create_time</h3>",
        _table(pivot(by_month)),
        "<h2>Strays</h2>",
        _table(report.strays, limit=1000),
        "<h2>API eras straddled</h2>",
        _table(report.eras),
        "<h2>Data statement</h2>",
        f"<pre style='white-space:pre-wrap'>{esc(md)}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)
