"""Collection commands: ``videos`` (a query over dates) and one command per fan-out endpoint
(``users``, ``comments``, ``liked``, ``pinned``, ``reposted``, ``followers``, ``following``,
``playlists``, ``shops``, ``products``, ``reviews``: one request sequence per item).

Each command checks its input and plans (exit 2 for a mistake, with or without credentials),
prints the plan with ``--dry-run``, else calls its ``tiktok_research.fetch_*`` function and
writes the table (:func:`tiktok_research.cli._run.finish`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._checks import plural
from . import _log, _run
from ._app import app
from ._errors import InputError
from ._inputs import build_query, read_items
from ._options import (
    DEFAULT_ARCHIVE,
    ArchiveOpt,
    AskEmptyOpt,
    BudgetOpt,
    DryRunOpt,
    FieldsOpt,
    ForExcelOpt,
    FromFileOpt,
    HashtagOpt,
    KeywordOpt,
    MaxTotalPerItemOpt,
    OutOpt,
    OverwriteOpt,
    PlaylistIdsArg,
    ProductIdsArg,
    ProgressOpt,
    QueryOpt,
    RegionOpt,
    RepliesOpt,
    ResumeOpt,
    RetryFailedOpt,
    SandboxOpt,
    ShopIdsArg,
    ShopNamesArg,
    UsernameOpt,
    UsernamesArg,
    VideoIdsArg,
    YesOpt,
)
from ._output import check_folder, check_output

if TYPE_CHECKING:
    from ..collect import FetchResult
    from ..plan import Plan


@app.command()
def videos(
    start: Annotated[
        str, typer.Option(metavar="DATE", help="First day (UTC), YYYY-MM-DD or YYYYMMDD.")
    ],
    end: Annotated[str, typer.Option(metavar="DATE", help="Last day (UTC, inclusive).")],
    query: QueryOpt = None,
    hashtag: HashtagOpt = None,
    keyword: KeywordOpt = None,
    region: RegionOpt = None,
    username: UsernameOpt = None,
    fields: FieldsOpt = None,
    max_total: Annotated[int | None, typer.Option(metavar="N", help="Stop after N videos.")] = None,
    dataset: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Write a Parquet dataset (by month) window by window, for large collections.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the request plan and its cost; send nothing.")
    ] = False,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
) -> None:
    """Videos matching a query. --query and the condition flags are combined with AND.

    \b
    Examples:
      tiktok-research videos --sandbox --hashtag climate --start 2024-01-01 --end 2024-03-31
      tiktok-research videos --query query.json --region US --start 2024-01-01 --end 2024-12-31 --out v.csv
    """  # noqa: E501
    if dataset is not None and (out is not None or for_excel):
        raise InputError("give --out (a table file) or --dataset (a Parquet dataset), not both")
    target = None
    if dataset is None:
        target = check_output(
            out or Path("videos.parquet"), overwrite=overwrite, excel=for_excel,
            given=out is not None,
        )  # fmt: skip
    check_folder(archive, "--archive")
    if dataset is not None:
        check_folder(dataset, "--dataset")
    q = build_query(query, hashtag, keyword, region, username)
    from ..fetch import collect_videos, fetch_videos
    from ..io import check_dataset
    from ..plan import plan_videos

    # everything is checked before the credentials are: a mistake is exit 2 with or without them
    plan = plan_videos(q, start, end, max_total=max_total, fields=fields,
                       client=_run.planner(sandbox), warn=dry_run)  # fmt: skip
    if dataset is not None:
        check_dataset(dataset, table="videos", query=plan.query)  # a dataset holds one query
    if target is not None:
        target.claim("videos", plan.kind, plan.spec, dry_run=dry_run)
    if dry_run:  # a plan needs no credentials and sends nothing
        _log.say(str(plan))
        return
    client = _run.client(sandbox, max_requests)
    if dataset is not None:
        with _run.collecting(archive):
            report = collect_videos(
                q, start, end, dataset, archive=archive, fields=fields, client=client,
                resume=resume, progress=progress,
            )  # fmt: skip
        _run.show_report(report)
        _log.say(_dataset_line(dataset, report.rows))
        _run.echo_verdict(report.archive)
        _run.stop_unless_ok(_run.exit_code(report))
        return
    assert target is not None
    with _run.collecting(archive):
        result = fetch_videos(
            q, start, end, fields=fields, max_total=max_total, client=client, archive=archive,
            resume=resume, progress=progress,
        )  # fmt: skip
    _run.finish(result, target, "videos")


def _dataset_line(dataset: Path, rows: int) -> str:
    """What a dataset holds after a run: this run's rows, and the dataset's (each id once)."""
    from ..io import read_dataset

    held = read_dataset(dataset, table="videos").select("id").collect().height
    return f"dataset: {dataset} ({rows:,} rows from this collection; {held:,} videos in all)"


# ------------------------------------------------------------------------------ fan-outs


def _fan_out(
    fetch: Callable[..., FetchResult],
    command: str,
    table: str,
    items: list[str] | None,
    from_file: Path | None,
    out: Path | None,
    *,
    archive: Path,
    resume: bool,
    progress: bool | None,
    sandbox: bool,
    max_requests: int | None,
    dry_run: bool,
    retry_failed: bool,
    overwrite: bool,
    excel: bool,
    **options: Any,
) -> None:
    """Run a fan-out command: check, plan (print it with ``--dry-run``), then ``fetch`` the
    items and write the ``table``. ``options`` are the endpoint's own (``fields``,
    ``max_total``, ``replies``), passed to ``fetch`` as they are."""
    target = check_output(
        out or Path(f"{table}.parquet"), overwrite=overwrite, excel=excel, given=out is not None
    )
    check_folder(archive, "--archive")
    values = read_items(items, from_file)
    from ..plan import KINDS, plan_items

    kind = KINDS[table]
    if not isinstance(values, list) and not set(kind.columns) & set(values.columns):
        # the command line's words for what plan_items says in Python ("pass the column itself")
        has = ", ".join(values.columns[:12]) + (", ..." if len(values.columns) > 12 else "")
        raise InputError(
            f"--from-file {from_file}: {command} takes {kind.what} from a column "
            f"{' or '.join(map(repr, kind.columns))}, and the file has none (it has {has}); give "
            f"a file with that column, or a text file with one item per line"
        )

    # everything is checked before the credentials are: a mistake is exit 2 with or without them
    plan = plan_items(
        table, values, fields=options.get("fields"), max_total=options.get("max_total"),
        client=_run.planner(sandbox), func=command, warn=dry_run,
        skip_empty=options.get("skip_empty", True),
    )  # fmt: skip
    target.claim(command, plan.kind, plan.spec, dry_run=dry_run)
    if dry_run:  # a plan needs no credentials and sends nothing
        _log.say(str(plan))
        return
    with _run.collecting(archive):
        result = fetch(
            values, retry_failed=retry_failed, client=_run.client(sandbox, max_requests),
            archive=archive, resume=resume, progress=progress, **options,
        )  # fmt: skip
    _run.finish(result, target, table)


@app.command()
def users(
    items: UsernamesArg = None,
    from_file: FromFileOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    fields: FieldsOpt = None,
    retry_failed: RetryFailedOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Users for each of the usernames given.

    \b
    Examples:
      tiktok-research users --sandbox kimbookish nico.demo90
      tiktok-research users --from-file items.txt --out users.csv
    """
    from ..fetch import fetch_user_info

    _fan_out(
        fetch_user_info, "users", "users", items, from_file, out, archive=archive, resume=resume,
        progress=progress, sandbox=sandbox, max_requests=max_requests, dry_run=dry_run,
        retry_failed=retry_failed, fields=fields,
        overwrite=overwrite, excel=for_excel,
    )  # fmt: skip


@app.command()
def comments(
    items: VideoIdsArg = None,
    from_file: FromFileOpt = None,
    replies: RepliesOpt = False,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    max_total: MaxTotalPerItemOpt = None,
    fields: FieldsOpt = None,
    retry_failed: RetryFailedOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    ask_empty: AskEmptyOpt = False,
) -> None:
    """Comments for each of the video ids given.

    \b
    Examples:
      tiktok-research comments --sandbox 7349919882548760784 --replies   # 3 requests
      tiktok-research comments --from-file items.txt --out comments.csv
    """
    from ..fetch import fetch_comments

    _fan_out(
        fetch_comments, "comments", "comments", items, from_file, out, archive=archive,
        resume=resume, progress=progress, sandbox=sandbox, max_requests=max_requests,
        dry_run=dry_run, retry_failed=retry_failed, replies=replies, max_total=max_total,
        fields=fields, skip_empty=not ask_empty, confirm=_ask_before(yes),
        overwrite=overwrite, excel=for_excel,
    )  # fmt: skip


def _terminal() -> bool:
    """Whether a question can be asked (stdin is a terminal)."""
    return sys.stdin.isatty()


def _ask_before(yes: bool) -> Callable[[Plan], bool]:
    """Before a phase whose cost is known only then (the replies): print its cost, and on a
    terminal ask when it needs more than the quota left today (``--yes``: never ask)."""

    def confirm(plan: Plan) -> bool:
        left = plan.quota_remaining
        _log.say(
            f"{plan.kind}: {len(plan.tasks):,} "
            f"{plural(len(plan.tasks), 'comment has', 'comments have')} replies: at least "
            f"{plan.min_requests:,} request(s)"
            + (f"; {left:,} left today ({plan.quota_family} quota)" if left is not None else ""),
            err=True,
        )
        if left is None or plan.min_requests <= left or yes or not _terminal():
            return True
        return typer.confirm(
            "That is more than the quota left today: the run will stop when it runs out "
            "(run the same command tomorrow to continue). Collect the replies now?",
            default=False,
            err=True,
        )

    return confirm


@app.command()
def liked(
    items: UsernamesArg = None,
    from_file: FromFileOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    max_total: MaxTotalPerItemOpt = None,
    fields: FieldsOpt = None,
    retry_failed: RetryFailedOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Liked videos for each of the usernames given.

    \b
    Examples:
      tiktok-research liked --sandbox nico.demo90
      tiktok-research liked --from-file items.txt --out liked_videos.csv
    """
    from ..fetch import fetch_liked_videos

    _fan_out(
        fetch_liked_videos, "liked", "liked_videos", items, from_file, out, archive=archive,
        resume=resume, progress=progress, sandbox=sandbox, max_requests=max_requests,
        dry_run=dry_run, retry_failed=retry_failed, max_total=max_total, fields=fields,
        overwrite=overwrite, excel=for_excel,
    )  # fmt: skip


@app.command()
def pinned(
    items: UsernamesArg = None,
    from_file: FromFileOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    max_total: MaxTotalPerItemOpt = None,
    fields: FieldsOpt = None,
    retry_failed: RetryFailedOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Pinned videos for each of the usernames given.

    \b
    Examples:
      tiktok-research pinned --sandbox kimbookish
      tiktok-research pinned --from-file items.txt --out pinned_videos.csv
    """
    from ..fetch import fetch_pinned_videos

    _fan_out(
        fetch_pinned_videos, "pinned", "pinned_videos", items, from_file, out, archive=archive,
        resume=resume, progress=progress, sandbox=sandbox, max_requests=max_requests,
        dry_run=dry_run, retry_failed=retry_failed, max_total=max_total, fields=fields,
        overwrite=overwrite, excel=for_excel,
    )  # fmt: skip


@app.command()
def reposted(
    items: UsernamesArg = None,
    from_file: FromFileOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    max_total: MaxTotalPerItemOpt = None,
    fields: FieldsOpt = None,
    retry_failed: RetryFailedOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Reposted videos for each of the usernames given.

    \b
    Examples:
      tiktok-research reposted --sandbox ivan.news14
      tiktok-research reposted --from-file items.txt --out reposted_videos.csv
    """
    from ..fetch import fetch_reposted_videos

    _fan_out(
        fetch_reposted_videos, "reposted", "reposted_videos", items, from_file, out,
        archive=archive, resume=resume, progress=progress, sandbox=sandbox,
        max_requests=max_requests, dry_run=dry_run, retry_failed=retry_failed,
        max_total=max_total, fields=fields,
        overwrite=overwrite, excel=for_excel,
    )  # fmt: skip


@app.command()
def followers(
    items: UsernamesArg = None,
    from_file: FromFileOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    max_total: MaxTotalPerItemOpt = None,
    retry_failed: RetryFailedOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Followers for each of the usernames given.

    \b
    Examples:
      tiktok-research followers --sandbox kimbookish --max-total 500
      tiktok-research followers --from-file items.txt --out followers.csv
    """
    from ..fetch import fetch_followers

    _fan_out(
        fetch_followers, "followers", "followers", items, from_file, out, archive=archive,
        resume=resume, progress=progress, sandbox=sandbox, max_requests=max_requests,
        dry_run=dry_run, retry_failed=retry_failed, max_total=max_total,
        overwrite=overwrite, excel=for_excel,
    )  # fmt: skip


@app.command()
def following(
    items: UsernamesArg = None,
    from_file: FromFileOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    max_total: MaxTotalPerItemOpt = None,
    retry_failed: RetryFailedOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Following for each of the usernames given.

    \b
    Examples:
      tiktok-research following --sandbox kimbookish
      tiktok-research following --from-file items.txt --out following.csv
    """
    from ..fetch import fetch_following

    _fan_out(
        fetch_following, "following", "following", items, from_file, out, archive=archive,
        resume=resume, progress=progress, sandbox=sandbox, max_requests=max_requests,
        dry_run=dry_run, retry_failed=retry_failed, max_total=max_total,
        overwrite=overwrite, excel=for_excel,
    )  # fmt: skip


@app.command()
def playlists(
    items: PlaylistIdsArg = None,
    from_file: FromFileOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    fields: FieldsOpt = None,
    retry_failed: RetryFailedOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Playlists for each of the playlist ids given.

    \b
    Examples:
      tiktok-research playlists --sandbox 7320828516970957415
      tiktok-research playlists --from-file items.txt --out playlists.csv
    """
    from ..fetch import fetch_playlists

    _fan_out(
        fetch_playlists, "playlists", "playlists", items, from_file, out, archive=archive,
        resume=resume, progress=progress, sandbox=sandbox, max_requests=max_requests,
        dry_run=dry_run, retry_failed=retry_failed, fields=fields,
        overwrite=overwrite, excel=for_excel,
    )  # fmt: skip


@app.command()
def shops(
    items: ShopNamesArg = None,
    from_file: FromFileOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    fields: FieldsOpt = None,
    retry_failed: RetryFailedOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Shops for each of the shop names given.

    \b
    Examples:
      tiktok-research shops --sandbox green
      tiktok-research shops --from-file items.txt --out shops.csv
    """
    from ..fetch import fetch_shops

    _fan_out(
        fetch_shops, "shops", "shops", items, from_file, out, archive=archive, resume=resume,
        progress=progress, sandbox=sandbox, max_requests=max_requests, dry_run=dry_run,
        retry_failed=retry_failed, fields=fields,
        overwrite=overwrite, excel=for_excel,
    )  # fmt: skip


@app.command()
def products(
    items: ShopIdsArg = None,
    from_file: FromFileOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    max_total: MaxTotalPerItemOpt = None,
    fields: FieldsOpt = None,
    retry_failed: RetryFailedOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Products for each of the shop ids given.

    \b
    Examples:
      tiktok-research products --sandbox 7400977694961532692
      tiktok-research products --from-file items.txt --out products.csv
    """
    from ..fetch import fetch_products

    _fan_out(
        fetch_products, "products", "products", items, from_file, out, archive=archive,
        resume=resume, progress=progress, sandbox=sandbox, max_requests=max_requests,
        dry_run=dry_run, retry_failed=retry_failed, max_total=max_total, fields=fields,
        overwrite=overwrite, excel=for_excel,
    )  # fmt: skip


@app.command()
def reviews(
    items: ProductIdsArg = None,
    from_file: FromFileOpt = None,
    out: OutOpt = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
    max_total: MaxTotalPerItemOpt = None,
    fields: FieldsOpt = None,
    retry_failed: RetryFailedOpt = False,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Reviews for each of the product ids given.

    \b
    Examples:
      tiktok-research reviews --sandbox 1729064496265939234 --max-total 20
      tiktok-research reviews --from-file items.txt --out reviews.csv
    """
    from ..fetch import fetch_reviews

    _fan_out(
        fetch_reviews, "reviews", "reviews", items, from_file, out, archive=archive,
        resume=resume, progress=progress, sandbox=sandbox, max_requests=max_requests,
        dry_run=dry_run, retry_failed=retry_failed, max_total=max_total, fields=fields,
        overwrite=overwrite, excel=for_excel,
    )  # fmt: skip
