"""The ad library's commands (the Commercial Content API, api-notes §12): ``ads``, ``ad-details``,
``ad-report``, ``advertisers``, ``commercial-content``.

As every collection command: the input is checked and planned first (exit 2 for a mistake, with
or without credentials), ``--dry-run`` prints the plan, else the command calls its
``tiktok_research.fetch_*`` function and writes the table (:func:`tiktok_research.cli._run.finish`).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import AdLibraryWarning
from . import _log, _run
from ._app import app
from ._inputs import read_items
from ._options import (
    DEFAULT_ARCHIVE,
    ArchiveOpt,
    BudgetOpt,
    DryRunOpt,
    FieldsOpt,
    FromFileOpt,
    OutOpt,
    OverwriteOpt,
    ProgressOpt,
    ResumeOpt,
    RetryFailedOpt,
    SandboxOpt,
)
from ._output import check_folder, check_output

if TYPE_CHECKING:
    from ..collect import FetchResult
    from ..plan import Plan

StartOpt = Annotated[
    str,
    typer.Option(metavar="DATE", help="First day (UTC), YYYY-MM-DD or YYYYMMDD; 2022-10-01 on."),
]
EndOpt = Annotated[str, typer.Option(metavar="DATE", help="Last day (UTC, inclusive).")]
CountryOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--country",
        metavar="CODE",
        help="A country code such as FR (repeat for several; default: ALL).",
    ),
]
AdvertiserIdOpt = Annotated[
    list[str] | None,
    typer.Option("--advertiser-id", metavar="ID", help="An advertiser business_id (repeatable)."),
]
MaxCountOpt = Annotated[
    int | None, typer.Option(metavar="N", help="Items per request (default 50, the maximum).")
]
MaxTotalOpt = Annotated[int | None, typer.Option(metavar="N", help="Keep at most N rows.")]


@dataclass(frozen=True)
class _Command:
    """What differs between the ad library's commands: the table, and its plan and fetch."""

    table: str
    plan: str  # a plan_* function of tiktok_research._adlib_plan
    fetch: str  # a fetch_* function of tiktok_research.fetch


_COMMANDS = {
    "ads": _Command("ads", "plan_ads", "fetch_ads"),
    "ad-details": _Command("ad_details", "plan_ad_details", "fetch_ad_details"),
    "ad-report": _Command("ad_reports", "plan_ad_report", "fetch_ad_report"),
    "advertisers": _Command("advertisers", "plan_advertisers", "fetch_advertisers"),
    "commercial-content": _Command(
        "commercial_content", "plan_commercial_content", "fetch_commercial_content"
    ),
}


def _collect(
    command: str,
    args: tuple[Any, ...],
    out: Path | None,
    *,
    items: tuple[list[str] | None, Path | None] | None = None,
    overwrite: bool,
    archive: Path,
    resume: bool,
    progress: bool | None,
    sandbox: bool,
    max_requests: int | None,
    dry_run: bool,
    fetch_only: dict[str, Any] | None = None,
    **options: Any,
) -> None:
    """Run one of the ad library's commands: check the output and the archive, read the
    ``items`` (ids or terms: they come before ``args``), plan (``options`` go to the plan and to
    the fetch, ``fetch_only`` to the fetch), print the plan with ``--dry-run``, else fetch and
    write the table. Everything is checked before the credentials: a mistake is exit 2 with or
    without them, and an existing output that this same command did not write is refused before
    anything is sent."""
    from .. import _adlib_plan, fetch

    spec = _COMMANDS[command]
    target = check_output(
        out or Path(f"{spec.table}.parquet"), overwrite=overwrite, given=out is not None
    )
    check_folder(archive, "--archive")
    if items is not None:
        args = (read_items(*items), *args)
    plan: Plan = getattr(_adlib_plan, spec.plan)(
        *args, client=_run.planner(sandbox), warn=False, **options
    )
    target.claim(spec.table, plan.kind, plan.spec, dry_run=dry_run)
    if dry_run:  # a plan needs no credentials and sends nothing; its notes are in its text
        _log.say(str(plan))
        return
    with _run.collecting(archive), warnings.catch_warnings():
        for note in plan.notes:  # the report prints them: one line each, not two
            warnings.filterwarnings("ignore", re.escape(f"{plan.kind}: {note}"), AdLibraryWarning)
        result: FetchResult = getattr(fetch, spec.fetch)(
            *args, client=_run.client(sandbox, max_requests), archive=archive, resume=resume,
            progress=progress, **options, **(fetch_only or {}),
        )  # fmt: skip
    _run.finish(result, target, spec.table)


@app.command()
def ads(
    start: StartOpt,
    end: EndOpt,
    country: CountryOpt = None,
    search_term: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Text to search for (50 characters).")
    ] = None,
    search_type: Annotated[
        str | None, typer.Option(metavar="TYPE", help="exact_phrase (default) or fuzzy_phrase.")
    ] = None,
    advertiser_id: AdvertiserIdOpt = None,
    reach_min: Annotated[
        str | None, typer.Option(metavar="SIZE", help="Unique users seen, at least (e.g. 10K).")
    ] = None,
    reach_max: Annotated[
        str | None, typer.Option(metavar="SIZE", help="Unique users seen, at most (e.g. 1M).")
    ] = None,
    fields: FieldsOpt = None,
    max_count: MaxCountOpt = None,
    max_total: MaxTotalOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Ads of TikTok's ad library (EU/EEA) first shown between two days.

    Ads are said to stay searchable for about a year after they last ran.

    \b
    Examples:
      tiktok-research ads --sandbox --start 2024-01-01 --end 2024-03-31 --country FR
      tiktok-research ads --start 2024-07-01 --end 2024-12-31 --search-term coffee --out ads.csv
    """
    reach = (reach_min, reach_max) if reach_min is not None or reach_max is not None else None
    _collect(
        "ads", (start, end), out, overwrite=overwrite, archive=archive, resume=resume,
        progress=progress, sandbox=sandbox, max_requests=max_requests, dry_run=dry_run,
        countries=country or None, search_term=search_term, search_type=search_type,
        advertiser_ids=advertiser_id or None, reach=reach, fields=fields, max_count=max_count,
        max_total=max_total,
    )  # fmt: skip


@app.command("ad-details")
def ad_details(
    items: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="AD_IDS", help="Ad ids (or --from-file, or stdin).", show_default=False
        ),
    ] = None,
    from_file: FromFileOpt = None,
    fields: FieldsOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    retry_failed: RetryFailedOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Details of ads (reach by country, age and gender; targeting; advertiser), one request each.

    \b
    Examples (the first 10 ads of a search: 1 request, then 10, one per ad):
      tiktok-research ads --sandbox --start 2024-06-01 --end 2024-06-30 --country DE --out ads.csv
      cut -d, -f1 ads.csv | tail -n +2 | tr -d '"' | head -n 10 > ad_ids.txt
      tiktok-research ad-details --sandbox --from-file ad_ids.txt --out ad_details.csv
    """
    _collect(
        "ad-details", (), out, items=(items, from_file), overwrite=overwrite, archive=archive,
        resume=resume, progress=progress, sandbox=sandbox, max_requests=max_requests,
        dry_run=dry_run, fields=fields, fetch_only={"retry_failed": retry_failed},
    )  # fmt: skip


@app.command("ad-report")
def ad_report(
    start: StartOpt,
    end: EndOpt,
    country: CountryOpt = None,
    advertiser_id: AdvertiserIdOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """How many ads were published per day and country.

    \b
    Examples:
      tiktok-research ad-report --sandbox --start 2024-01-01 --end 2024-12-31
      tiktok-research ad-report --start 2024-01-01 --end 2024-03-31 --country DE --out r.csv
    """
    _collect(
        "ad-report", (start, end), out, overwrite=overwrite, archive=archive, resume=resume,
        progress=progress, sandbox=sandbox, max_requests=max_requests, dry_run=dry_run,
        countries=country or None, advertiser_ids=advertiser_id or None,
    )  # fmt: skip


@app.command()
def advertisers(
    items: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="TERMS", help="Search terms (or --from-file, or stdin).", show_default=False
        ),
    ] = None,
    from_file: FromFileOpt = None,
    fields: FieldsOpt = None,
    max_count: MaxCountOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    retry_failed: RetryFailedOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Advertisers whose name matches each search term (at most 50 per term).

    \b
    Examples:
      tiktok-research advertisers --sandbox coffee bank
    """
    _collect(
        "advertisers", (), out, items=(items, from_file), overwrite=overwrite, archive=archive,
        resume=resume, progress=progress, sandbox=sandbox, max_requests=max_requests,
        dry_run=dry_run, fields=fields, max_count=max_count,
        fetch_only={"retry_failed": retry_failed},
    )  # fmt: skip


@app.command("commercial-content")
def commercial_content(
    start: StartOpt,
    end: EndOpt,
    country: Annotated[
        list[str] | None,
        typer.Option(
            "--country",
            metavar="CODE",
            help="A creator country of the EEA (repeat for several; default: ALL).",
        ),
    ] = None,
    username: Annotated[
        list[str] | None,
        typer.Option("--username", metavar="NAME", help="Only this creator (repeatable)."),
    ] = None,
    fields: FieldsOpt = None,
    max_count: MaxCountOpt = None,
    max_total: MaxTotalOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Commercial content (paid partnerships, promotional content) of creators in the EEA.

    \b
    Examples:
      tiktok-research commercial-content --sandbox --start 2024-01-01 --end 2024-06-30
      tiktok-research commercial-content --start 2024-01-01 --end 2024-01-31 --country DE
    """
    _collect(
        "commercial-content", (start, end), out, overwrite=overwrite, archive=archive,
        resume=resume, progress=progress, sandbox=sandbox, max_requests=max_requests,
        dry_run=dry_run, countries=country or None, usernames=username or None, fields=fields,
        max_count=max_count, max_total=max_total,
    )  # fmt: skip
