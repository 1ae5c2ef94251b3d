"""``audit``: which of a list of video ids the service returns, a dated round per run.

The planning, the rounds and the table are the library's (:mod:`tiktok_research.audit`); the
command checks its input, prints the plan with ``--dry-run`` or runs
:func:`tiktok_research.audit_ids`, writes the table and prints the share missing round by round.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import _log, _run
from ._app import app
from ._inputs import read_items
from ._options import (
    DEFAULT_ARCHIVE,
    ArchiveOpt,
    BudgetOpt,
    DryRunOpt,
    FromFileOpt,
    IdsArg,
    OverwriteOpt,
    ProgressOpt,
    ResumeOpt,
    SandboxOpt,
)
from ._output import check_folder, check_output, write_table


@app.command()
def audit(
    items: IdsArg = None,
    from_file: FromFileOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            help="Output file, a row per id and round (id, round, checked_at, found, "
            "created_at, reason): .parquet, .csv or .jsonl (default: audit.parquet).",
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
    batch_size: Annotated[int, typer.Option(metavar="N", help="Ids per request, 1 to 100.")] = 100,
    archive: ArchiveOpt = DEFAULT_ARCHIVE,
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Availability audit: which of your video ids the service returns, round after round.

    Looks every id up by id (one request per 100 ids of one month, as hydrate) and keeps the
    answers in the archive as a dated round: each later run of the same id list adds a round, a
    stopped run is continued (--no-resume adds a new round instead). Writes every round's table
    (id, round, checked_at, found, created_at, reason) and prints the share missing per round.
    Ids whose bits say they are not video ids are asked like the others and, when missing,
    named with that reason.

    \b
    Examples:
      tiktok-research audit --from-file donated_ids.txt --archive audit-archive --dry-run
      tiktok-research audit --from-file donated_ids.txt --archive audit-archive --out audit.csv
    """
    target = check_output(out or Path("audit.parquet"), overwrite=overwrite, given=out is not None)
    check_folder(archive, "--archive")
    values = read_items(items, from_file)
    from ..audit import audit_ids, plan_audit

    # every id is checked before a client (and its credentials) is needed
    plan = plan_audit(
        values, archive=archive, batch_size=batch_size,
        client=_run.planner(sandbox and dry_run), resume=resume, warn=dry_run,
    )  # fmt: skip
    # a rerun adds a round to the same table: the same command may replace its own output
    target.claim("audit", sorted(map(str, values)), str(Path(archive).resolve()), dry_run=dry_run)
    if dry_run:  # a plan needs no credentials and sends nothing
        _log.say(str(plan))
        return
    with _run.collecting(archive):
        result = audit_ids(
            values, archive=archive, batch_size=batch_size,
            client=_run.client(sandbox, max_requests), resume=resume, progress=progress,
        )  # fmt: skip
    written = write_table(result.table, target)
    _run.show_report(result, target)
    if written is not None:
        target.echo(f"wrote {result.table.height:,} rows ({result.rounds} round(s)) to {written}")
    _run.echo_verdict(result.report.archive, err=target.to_stdout)
    code = _run.exit_code(result.report)
    if code != 0:
        _log.say(
            "incomplete: run the same command again to finish this round (answers already "
            "held are not asked for again)",
            err=True,
        )
    _run.stop_unless_ok(code)
