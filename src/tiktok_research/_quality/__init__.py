"""How complete is a collection? ``tr.quality(source)`` -> :class:`QualityReport`.

The raw archive already holds every fact a methods section needs: every answer with its request,
status, error and ``log_id``, how far each cursor moved, the journal of every task and each run's
manifest. The report reads them (no request is sent) and says

* ``windows``: per window (or item) of each collection: pages, rows, requests paid and failed,
  **hidden slots** (how far the cursor moved minus the rows returned: deleted or private items the
  service still counts), **yield** (rows per page against ``max_count``) and a status:
  ``complete``, ``gap`` (could not be collected: the error and its ``log_id``; never "no data"),
  ``stopped`` (quota, budget, interrupted: run the same call again), ``not needed`` (the
  collection's ``max_total`` rows came first), ``failed`` (an item the
  service refused for good, e.g. an account it cannot return: the collection's report says "1
  account failed"; the collection is complete) or ``suspiciously empty``
  (no rows while its neighbours have many); ``gaps`` lists the failing date ranges exactly;
* ``fields``: the share of rows where each column is present, overall, by ``region_code`` and by
  month, so that sparse fields (``voice_to_text``, ``playlist_id``, ``effect_ids``) are seen
  before the analysis;
* ``strays``: rows that do not meet the query where that can be checked locally;
* ``eras``: the dated changes of the API (:mod:`tiktok_research._eras`) that the answers straddle.

``to_markdown()`` is a short data statement for a methods section and ``to_html(path)`` one
self-contained page (tables and plots inline, nothing fetched from the network).

Example:
    >>> import tiktok_research as tr, tempfile
    >>> archive = tempfile.mkdtemp()
    >>> videos = tr.fetch_videos(tr.Q.region_code.eq("FR"), "20240101", "20240110",
    ...                          client=tr.Client.sandbox(), archive=archive, progress=False)
    >>> report = tr.quality(videos)
    >>> report.windows["status"].to_list()
    ['complete']
    >>> report.verdict().startswith("complete; 0 gaps")
    True
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import polars as pl

from .._checks import plural
from ._measure import eras_of, fields_of, query_text, strays_of, windows_of
from ._read import CollectionData, collections_of, latest

if TYPE_CHECKING:
    from ..collect import FetchResult

__all__ = ["QualityReport", "QualitySource", "quality"]

#: What :func:`quality` reads: a collection's result, a folder, or archive files.
QualitySource: TypeAlias = "FetchResult | str | os.PathLike[str] | Sequence[str | os.PathLike[str]]"

#: Columns whose share the one-line verdict names when the report holds them, first found first.
VERDICT_FIELDS = ("voice_to_text",)


@dataclass
class QualityReport:
    """What a collection holds, what it is known to miss, and why (see the module docstring).

    Attributes:
        collections: One row per collection: name, endpoint, table, query, dates asked, first
            and last answer, requests paid and failed, rows archived, ``max_total`` and the rows
            kept by it (the run report's rows; ``rows`` without ``max_total``), windows and how
            many have each status (``complete``, ``gap``, ``stopped``, ``not_needed``,
            ``failed``, ``suspiciously_empty``).
        windows: One row per window or task (see :data:`._measure.WINDOW_SCHEMA`).
        gaps: One row per date range (or item) that could not be collected, with the error,
            its ``log_id`` and HTTP status.
        fields: Share of rows with each column present: ``table, by, group, column, rows,
            present, share`` (``by`` is ``all``, ``region_code`` or ``month``).
        strays: Rows that do not meet their collection's query: ``collection, id, username,
            region_code, create_time, condition`` (the conditions they fail).
        eras: The dated changes of the API the answers straddle, with their sources.
        damage: ``{file: [what could not be read]}`` for archive files not read whole.
        created_at: When the report was made.
        skipped: ``{collection folder: why}`` for the folders of an archive that the report
            does not read: compliance checks (``compliance``, ``refresh``) and the ad library.
    """

    collections: pl.DataFrame
    windows: pl.DataFrame
    gaps: pl.DataFrame
    fields: pl.DataFrame
    strays: pl.DataFrame
    eras: pl.DataFrame
    damage: dict[str, list[str]] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    skipped: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ summary figures
    @property
    def complete(self) -> bool:
        """True when every window is complete (or suspiciously empty, which is complete but
        worth a look) and no archive file is damaged."""
        bad = self.windows.filter(pl.col("status").is_in(["gap", "stopped"])).height
        return bad == 0 and not self.damage

    @property
    def hidden_share(self) -> float | None:
        """Hidden slots over all cursor slots of the windows where the cursor counts them."""
        w = self.windows.filter(pl.col("slots").is_not_null())
        slots = int(w["slots"].sum()) if w.height else 0
        return int(w["hidden_slots"].sum()) / slots if slots else None

    def field_share(self, column: str, table: str = "videos") -> float | None:
        """The overall share of ``table``'s rows with ``column`` present (None: not held)."""
        row = self.fields.filter(
            (pl.col("table") == table) & (pl.col("by") == "all") & (pl.col("column") == column)
        )
        return float(row["share"][0]) if row.height else None

    def status_counts(self) -> dict[str, int]:
        """How many windows have each status."""
        counts = self.windows.group_by("status").len()
        return {str(s): int(n) for s, n in counts.iter_rows()}

    def verdict(self) -> str:
        """One line: ``complete; 0 gaps, 4.1% hidden slots, voice_to_text 12%`` (or
        ``incomplete; ...`` with what is missing)."""
        counts = self.status_counts()
        gaps = self.gaps.height
        parts = [f"{gaps} {plural(gaps, 'gap', 'gaps')}"]
        if counts.get("stopped"):
            parts.append(f"{counts['stopped']} window(s) stopped")
        if counts.get("not needed"):  # the collection report's "max_total reached"
            parts.append(
                f"max_total reached first ({counts['not needed']} window(s) not read to their end)"
            )
        if counts.get("failed"):  # items the service refused: the collection report's words
            parts.append(f"{counts['failed']} item(s) failed (the service refused them)")
        if counts.get("suspiciously empty"):
            parts.append(f"{counts['suspiciously empty']} suspiciously empty")
        hidden = self.hidden_share
        if hidden is not None:
            parts.append(f"{hidden:.1%} hidden slots")
        for column in VERDICT_FIELDS:
            share = self.field_share(column)
            if share is not None:
                parts.append(f"{column} {share:.0%}")
        if self.strays.height:
            parts.append(f"{self.strays.height} stray row(s)")
        if self.eras.height:
            parts.append(f"straddles {self.eras['era'].n_unique()} API era(s)")
        if self.damage:
            parts.append(f"{len(self.damage)} damaged file(s)")
        return f"{'complete' if self.complete else 'incomplete'}; " + ", ".join(parts)

    def __str__(self) -> str:
        from ._render import text

        return text(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    # ------------------------------------------------------------------ output
    def to_markdown(self) -> str:
        """A short data statement for a methods section: what was asked, when, at what cost,
        and what is known to be missing and why (with sources)."""
        from ._render import markdown

        return markdown(self)

    def to_html(self, path: str | Path) -> Path:
        """Write the whole report as one self-contained HTML page (tables and matplotlib plots
        inline; nothing loaded from the network) and return its path.

        Plots need matplotlib (``pip install 'tiktok-research[plots]'``); without it the page
        holds the tables and says so.
        """
        from ._render import html

        target = Path(path).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(html(self), encoding="utf-8")
        tmp.replace(target)
        return target


def _max_total(c: CollectionData) -> int | None:
    """The collection's ``max_total`` (the most rows it asked for; per item for a fan-out)."""
    value = c.spec.get("max_total")
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value else None


def _kept(c: CollectionData, windows: pl.DataFrame) -> int:
    """The rows the collection's result kept: all it archived, but with ``max_total`` the first
    ``max_total`` of a video query (the rest came on the same pages), or of each item of a
    fan-out. This is the row count of the run's report."""
    cap = _max_total(c)
    if cap is None:
        return c.presence.height
    if c.endpoint == "video_query" or not windows.height:
        return min(c.presence.height, cap)
    return int(windows.select(pl.col("rows").fill_null(0).clip(upper_bound=cap).sum()).item())


def _overview(cs: Sequence[CollectionData], windows: pl.DataFrame) -> pl.DataFrame:
    out: list[dict[str, Any]] = []
    for c in cs:
        ans = c.answers
        ok = ans.filter(pl.col("ok"))
        w = windows.filter(pl.col("collection") == c.name)
        counts = dict(w.group_by("status").len().iter_rows()) if w.height else {}
        out.append(
            {
                "collection": c.name,
                "endpoint": c.endpoint,
                "table": c.table,
                "query": query_text(c.spec),
                "start_date": c.spec.get("start_date"),
                "end_date": c.spec.get("end_date"),
                "is_random": bool(c.spec.get("is_random")),
                "first_answer": ok["retrieved_at"].min() if ok.height else None,
                "last_answer": ok["retrieved_at"].max() if ok.height else None,
                "requests": ans.height,
                "failed_requests": int((~ans["ok"]).sum()),
                "rows": c.presence.height,
                "max_total": _max_total(c),
                "kept": _kept(c, w),
                "windows": w.height,
                "complete": int(counts.get("complete", 0)),
                "gap": int(counts.get("gap", 0)),
                "stopped": int(counts.get("stopped", 0)),
                "not_needed": int(counts.get("not needed", 0)),
                "failed": int(counts.get("failed", 0)),
                "suspiciously_empty": int(counts.get("suspiciously empty", 0)),
                "folder": str(c.folder) if c.folder else None,
            }
        )
    schema: dict[str, Any] = {
        "collection": pl.String,
        "endpoint": pl.String,
        "table": pl.String,
        "query": pl.String,
        "start_date": pl.String,
        "end_date": pl.String,
        "is_random": pl.Boolean,
        "first_answer": pl.Datetime("us", "UTC"),
        "last_answer": pl.Datetime("us", "UTC"),
        "requests": pl.Int64,
        "failed_requests": pl.Int64,
        "rows": pl.Int64,
        "max_total": pl.Int64,
        "kept": pl.Int64,
        "windows": pl.Int64,
        "complete": pl.Int64,
        "gap": pl.Int64,
        "stopped": pl.Int64,
        "not_needed": pl.Int64,
        "failed": pl.Int64,
        "suspiciously_empty": pl.Int64,
        "folder": pl.String,
    }
    return pl.DataFrame(out, schema=schema, orient="row")


def quality(source: QualitySource) -> QualityReport:
    """The quality report of a collection, read from its archive (no request is sent).

    Args:
        source: A :class:`~tiktok_research.collect.FetchResult` (its collection folder), a
            collection folder (``<archive>/videos-<digest>``), an archive folder (every
            collection in it), or archive files (``.jsonl`` / ``.jsonl.gz``).

    Returns:
        A :class:`QualityReport`.

    Raises:
        InvalidRequestError: ``source`` is none of those, or holds no collection.
    """
    skipped: dict[str, str] = {}
    cs = collections_of(source, skipped)
    windows, gaps = windows_of(cs)
    fields: list[pl.DataFrame] = []
    for table in dict.fromkeys(c.table for c in cs):
        mine = [c for c in cs if c.table == table]
        lists = [c.spec.get("fields") for c in mine]
        asked = (
            {str(f) for fs in lists for f in fs}  # type: ignore[union-attr]
            if all(isinstance(fs, list) for fs in lists)
            else None
        )
        held = [c.presence for c in mine if c.presence.height]
        both = pl.concat(held, how="diagonal_relaxed") if len(held) > 1 else None
        rows = latest(both, table) if both is not None else (held[0] if held else mine[0].presence)
        fields.append(fields_of(rows, table, asked))
    damage: dict[str, list[str]] = {}
    for c in cs:
        damage.update(c.damage)
    return QualityReport(
        collections=_overview(cs, windows),
        windows=windows,
        gaps=gaps,
        fields=pl.concat(fields) if fields else fields_of(pl.DataFrame(), "videos", None),
        strays=strays_of(cs),
        eras=eras_of(cs),
        damage=damage,
        skipped=skipped,
    )
