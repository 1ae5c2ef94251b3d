"""Commands that keep data compliant and current (docs/guide/keeping-current.md): ``hydrate``
(videos by id), ``compliance`` (which ids are still valid), ``refresh`` (a table made current),
``update`` (the days since the last run, appended to a dataset) and ``dehydrate`` (the ids to
share).

The planning and the decisions are the library's (:mod:`tiktok_research.plan`,
:mod:`tiktok_research.maintain`); a command checks its input, prints the plan with ``--dry-run``
or runs the one library function, and writes what it returns.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._checks import plural
from . import _log, _run
from ._app import app
from ._errors import EXIT_INCOMPLETE, InputError
from ._inputs import build_query, read_items, read_table
from ._options import (
    DEFAULT_ARCHIVE,
    ArchiveOpt,
    BudgetOpt,
    DryRunOpt,
    FieldsOpt,
    ForExcelOpt,
    FromFileOpt,
    HashtagOpt,
    IdsArg,
    KeywordOpt,
    OutOpt,
    OverwriteOpt,
    ProgressOpt,
    QueryOpt,
    RegionOpt,
    ResumeOpt,
    SandboxOpt,
    TableArg,
    UsernameOpt,
)
from ._output import (
    Output,
    check_folder,
    check_lines_output,
    check_output,
    check_writable_parent,
    list_ids,
    not_found_path,
    removed_path,
    replace_file,
    write_table,
)

if TYPE_CHECKING:
    import polars as pl

    from ..collect import FetchResult
    from ..maintain import RefreshDestination


@app.command()
def hydrate(
    items: IdsArg = None,
    from_file: FromFileOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    fields: FieldsOpt = None,
    batch_size: Annotated[
        int,
        typer.Option(
            metavar="N",
            help="Ids per request, 1 to 100. The service's limit on the values of an IN "
            "condition is undocumented; 100 (a page) is the safe choice.",
        ),
    ] = 100,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Videos by id: hydrate a shared list of video ids.

    An id tells when its video was made, so the ids are grouped into windows of at most 31 days
    and asked up to 100 at a time (video_id IN [...]): ids of one month cost one request per 100.
    Ids not found (deleted, private, not yet indexed) are listed and written beside --out, in
    <name>_not_found.txt.

    \b
    Examples:
      tiktok-research hydrate --from-file ids.txt --out videos.parquet
      tiktok-research select video-ids old_videos.parquet | tiktok-research hydrate --sandbox --dry-run
    """  # noqa: E501
    target = check_output(
        out or Path("videos.parquet"), overwrite=overwrite, excel=for_excel,
        given=out is not None,
    )  # fmt: skip
    check_folder(archive, "--archive")
    values = read_items(items, from_file)
    from ..plan import plan_video_ids

    # every id is checked before a client (and its credentials) is needed
    plan = plan_video_ids(
        values, fields=fields, batch_size=batch_size, client=_run.planner(sandbox and dry_run),
        warn=dry_run, func="hydrate",
    )  # fmt: skip
    target.claim("hydrate", plan.kind, plan.spec, dry_run=dry_run)
    if dry_run:  # a plan needs no credentials and sends nothing
        _log.say(str(plan))
        return
    from ..fetch import fetch_videos_by_id

    with _run.collecting(archive):
        result = fetch_videos_by_id(
            values, fields=fields, batch_size=batch_size,
            client=_run.client(sandbox, max_requests), archive=archive, resume=resume,
            progress=progress,
        )  # fmt: skip
    from ..ids import not_video_ids

    odd = not_video_ids(result.report.not_found)
    side = not_found_path(target.path) if target.path is not None else None
    list_ids(
        result.report.not_found, side, "not found (deleted or private?)", target.to_stdout, odd
    )
    shown = result.report.not_found if side is None else result.report.not_found[:20]
    unshown = [i for i in odd if i not in shown]
    if unshown:  # the list above shows 20 ids, each with its reason
        target.echo(
            f"{len(odd):,} of them "
            f"{plural(len(odd), 'is not a video id by its', 'are not video ids by their')} bits "
            "(the published layout; tiktok_research.decode_id), among them: "
            + ", ".join(map(str, unshown[:20]))
        )
    _run.finish(result, target, "videos")


class Category(StrEnum):
    """What ``compliance`` checks."""

    video = "video"
    comment = "comment"


@app.command()
def compliance(
    items: IdsArg = None,
    from_file: FromFileOpt = None,
    category: Annotated[
        Category, typer.Option(help="What the ids are: video or comment ids.")
    ] = Category.video,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            help="Output file, a row per id with valid true/false: .parquet, .csv, .jsonl or "
            ".xlsx, or - for JSON lines on standard output (default: compliance.parquet).",
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed", help="Upload again the ids of tasks the service reported Failed."
        ),
    ] = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Which ids are still valid (the batch compliance check).

    The terms of the Research API ask you to drop content that was deleted or made private. The
    ids are uploaded in tasks of up to 10,000; each task is checked until the service has done it
    (a request per check, waits growing from 10 seconds to 5 minutes), then the ids still valid
    are downloaded: at least 3 requests per task. Run the same command again after a stop: a task
    already uploaded is not uploaded again, and a check that finished before its file was written
    is written from the archive (no request). Once the file is written, the same command checks
    again.

    \b
    Examples:
      tiktok-research compliance --from-file ids.txt --out valid.csv
      tiktok-research select video-ids videos.parquet | tiktok-research compliance --sandbox
    """
    target = check_output(
        out or Path("compliance.parquet"), overwrite=overwrite, excel=for_excel,
        given=out is not None,
    )  # fmt: skip
    check_folder(archive, "--archive")
    values = read_items(items, from_file)
    from ..plan import plan_compliance

    plan = plan_compliance(
        values, category.value, client=_run.planner(sandbox and dry_run), warn=dry_run
    )
    target.claim("compliance", plan.kind, plan.spec, dry_run=dry_run)
    if dry_run:  # a plan needs no credentials and sends nothing
        _log.say(str(plan))
        return
    from .._archive import output_written
    from ..fetch import compliance_round

    with _run.collecting(archive):
        # the round is this command's until its table is written: a run killed after the check
        # but before the write is finished from the archive by the next one, with no request
        result = compliance_round(
            values, category.value, client=_run.client(sandbox, max_requests), archive=archive,
            resume=resume, progress=progress, retry_failed=retry_failed, owes_output=True,
        )  # fmt: skip
    target.echo(_still_valid(result, category.value))
    folder = result.report.archive
    done = (lambda: output_written(folder)) if folder is not None else None
    _run.finish(result, target, None, written=done)


def _still_valid(result: FetchResult, category: str) -> str:
    """One sentence on a compliance check: how many ids are valid, gone, not checked yet."""
    valid = result.get_column("valid")
    n_valid, n_gone = int(valid.sum()), int((~valid).sum())
    unknown = valid.null_count()
    gone = (
        f"{n_gone:,} {plural(n_gone, 'is', 'are')} gone (deleted or made private: drop them "
        "from your data, as the terms of the Research API ask)"
        if n_gone
        else "none is gone"
    )
    later = f"; {unknown:,} not checked yet (run the same command again)" if unknown else ""
    ids = f"{valid.len():,} {category} {plural(valid.len(), 'id', 'ids')}"
    return f"{n_valid:,} of the {ids} {plural(n_valid, 'is', 'are')} still valid; {gone}{later}"


def _read_videos(path: Path) -> pl.DataFrame:
    """The table to refresh, read without the warning about ``retrieved_at``: that column, which
    a refresh adds, is not in the videos schema, and it is replaced anyway."""
    from ..schemas import UnknownColumnWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "(?s).*retrieved_at", UnknownColumnWarning)
        df = read_table(path)
    if "id" not in df.columns:
        raise InputError(
            f"{path} has no 'id' column: refresh takes a videos table; its columns are: "
            f"{', '.join(df.columns)}"
        )
    return df


@app.command()
def refresh(
    table: Annotated[
        Path,
        typer.Argument(
            metavar="TABLE",
            help="A videos table: .parquet, .csv, .jsonl, or a dataset folder.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            help="Write the refreshed table to FILE (.parquet, .csv, .jsonl or .xlsx, or - for "
            "JSON lines on standard output) and leave TABLE as it is. Default: TABLE itself is "
            "rewritten, once the refresh is complete.",
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    keep_removed: Annotated[
        bool,
        typer.Option(
            "--keep-removed",
            help="Keep deleted and private videos, with their old values (the terms of the "
            "Research API ask you to drop them).",
        ),
    ] = False,
    fields: FieldsOpt = None,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Refresh a videos table: drop what is gone, update counts.

    Two steps: the batch compliance check of every id (at least 3 requests per 10,000 ids), then
    the videos still there looked up by id (one request per month of creation and 100 ids).
    Without --out the table is rewritten in place, in its own format, only once the refresh is
    complete: a file is replaced by a new one, a dataset folder is swapped for a new one (never
    half-written). The ids found gone are written beside the output, in <name>_removed.txt.

    \b
    Examples:
      tiktok-research refresh videos.parquet
      tiktok-research refresh data/videos --archive archive/
      tiktok-research refresh videos.csv --out videos_2025-03.csv
    """
    from ..maintain import plan_refresh, refresh_destination, refresh_round

    target = None
    if out is not None:
        target = check_output(out, overwrite=overwrite, excel=for_excel)
        target.claim("refresh", str(table.resolve()), fields, keep_removed, dry_run=dry_run)
    elif for_excel:
        raise InputError("--for-excel is for a .csv --out; refresh TABLE keeps TABLE's format")
    check_folder(archive, "--archive")
    df = _read_videos(table)  # it exists, and it is a table
    where = refresh_destination(table, out)
    if where.swap_dataset:
        check_folder(table, "TABLE")
        check_writable_parent(table.parent / ".new", "TABLE")  # the new folder goes beside it
    elif where.in_place:
        check_output(table, "TABLE")  # rewritten in its own format
    # everything is checked before the credentials are: a mistake is exit 2 with or without them
    plan = plan_refresh(df, fields=fields, client=_run.planner(sandbox and dry_run),
                        warn=dry_run, name=str(table))  # fmt: skip
    if dry_run:  # plans need no credentials and send nothing
        _log.say(str(plan))
        return
    # the round is recorded finished once its output is written: a kill before that (the table
    # rewritten or not, the gone ids listed or not) is finished from the archive by the rerun
    with _run.collecting(archive):
        result, finish = refresh_round(
            table if where.swap_dataset else df, drop_removed=not keep_removed, fields=fields,
            client=_run.client(sandbox, max_requests), archive=archive, resume=resume,
            progress=progress, rewrites=table if where.in_place else None,
        )  # fmt: skip
    report = result.report
    _run.show_report(report, target)
    code = _run.exit_code(report, result.failures)
    if not report.complete:
        _log.say(
            f"incomplete: {target or where.path} was not written; run the same command again to "
            "continue (what is held in the archive is not asked for again)",
            err=True,
        )
        raise typer.Exit(code)
    _keep(result, where, target)
    finish()
    _run.stop_unless_ok(code)


def _keep(result: FetchResult, where: RefreshDestination, target: Output | None) -> None:
    """Write a complete refresh where it goes, and the ids found gone beside it."""
    removed = getattr(result.report, "removed", [])
    if target is not None and target.path is None:  # --out -: the table goes to standard output
        list_ids(removed, None, "gone (deleted or made private)", err=True)
        write_table(result, target)
        return
    list_ids(removed, removed_path(where.path), "gone (deleted or made private)")
    if where.swap_dataset:  # refresh_videos has rewritten it already
        _log.say(f"rewrote the dataset {where.path}: {result.height:,} videos")
    elif where.in_place:
        replace_file(result, where.path)
        _log.say(f"rewrote {where.path}: {result.height:,} videos")
    else:
        assert target is not None
        written = write_table(result, target)
        if written is not None:
            _log.say(f"wrote {result.height:,} videos to {written}")


@app.command()
def update(
    dataset: Annotated[
        Path,
        typer.Argument(
            metavar="DATASET",
            help="The dataset folder (created by the first run).",
            show_default=False,
        ),
    ],
    query: QueryOpt = None,
    hashtag: HashtagOpt = None,
    keyword: KeywordOpt = None,
    region: RegionOpt = None,
    username: UsernameOpt = None,
    start: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="First day (UTC), for the first run only: later runs continue from the day "
            "after the last one collected.",
        ),
    ] = None,
    fields: FieldsOpt = None,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the days the run would collect and what they cost. Sends no data "
            "request: only the token request (free of quota; the run sends it first too), "
            "whose answer says the service's day. With --sandbox it sends nothing (the "
            "sandbox's clock is its day); without credentials it sends nothing, plans on this "
            "machine's clock, and says so.",
        ),
    ] = False,
) -> None:
    """Append the days since the last run to a monitoring dataset.

    Each run collects from the day after the last one in DATASET up to the newest day the service
    has indexed in full (three days ago on the service's clock: it indexes within 48 hours), and
    adds the videos as new files. Run it every day or every week with the same query; a run with
    nothing new costs nothing. DATASET remembers its query (in _tiktok_research_update.json) and
    refuses another. The first run costs a request per 31 days from --start and one more per 100
    videos (--dry-run says how many): start it near today. On the sandbox, whose videos are of
    2024, the first example finds December's, then spends a request per 31 days since on none.

    \b
    Examples:
      tiktok-research update data/climate --hashtag climate --start 2024-12-01   # a request per 31 days since --start, and per 100 videos
      tiktok-research update data/climate --hashtag climate --dry-run            # what the next run collects and costs; no data request
    """  # noqa: E501
    check_folder(dataset, "DATASET")
    check_folder(archive, "--archive")
    q = build_query(query, hashtag, keyword, region, username)
    from ..maintain import UpdateReport, plan_update, update_videos

    # checks the dataset, its query, --start and --fields before any request; a dry run then
    # takes the days on the service's clock as the run does (the token request, free of quota),
    # or, without credentials, on this machine's clock and says so. The run asks for itself.
    plan = plan_update(q, dataset, start, fields=fields, warn=False, ask=dry_run,
                       client=_run.day_planner(sandbox) if dry_run else None)  # fmt: skip
    if plan.start_ignored:
        held = plan.through + timedelta(days=1) if plan.through is not None else None
        _log.say(
            f"note: --start is for the first run only; {dataset} continues from "
            f"{plan.first or held}"
        )
    if dry_run:  # no data request: at most the token request, whose answer says the day
        _log.say(str(plan))
        return
    with _run.collecting(archive):
        result = update_videos(
            q, dataset, start, fields=fields, client=_run.client(sandbox, max_requests),
            archive=archive, progress=progress,
        )  # fmt: skip
    report = result.report
    _run.show_report(report)
    _run.echo_verdict(report.archive)
    code = _run.exit_code(report, result.failures)
    if code == EXIT_INCOMPLETE:
        _log.say(
            f"incomplete: nothing was added to {dataset}; run the same command again to continue "
            "(what is held in the archive is not asked for again)",
            err=True,
        )
    elif report.complete and result.height and isinstance(report, UpdateReport):
        _log.say(f"added {result.height:,} videos ({report.first} .. {report.last}) to {dataset}")
    _run.stop_unless_ok(code)


@app.command()
def dehydrate(
    table: TableArg,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="FILE", help="Text file, one id per line (default: print)."
        ),
    ] = None,
    column: Annotated[
        str, typer.Option(metavar="COLUMN", help="The column holding the ids.")
    ] = "id",
    overwrite: OverwriteOpt = False,
) -> None:
    """The ids of a table, one per line: the form of a dataset you may share.

    The Research API's terms do not let you share the collected data; share its ids, and others
    look the videos up again with `tiktok-research hydrate` (comments: `--column id` of a
    comments table gives comment ids). Each id is written once, in the table's order, as exact
    digits. Sends nothing. An existing --out FILE that this same command did not write is
    refused unless --overwrite is given; --out - (or no --out) prints the ids.

    \b
    Examples:
      tiktok-research dehydrate videos.parquet --out shared_ids.txt
      tiktok-research dehydrate data/videos | tiktok-research hydrate --out again.parquet
    """
    from ..maintain import dehydrated_ids
    from ._tables import _emit

    target = check_lines_output(out, overwrite)
    if target is not None:
        target.claim("dehydrate", str(table.resolve()), column)
    ids = dehydrated_ids(read_table(table), column=column)  # no such column: exit 2, named
    _emit(ids, target, "ids")
