"""Commands that work on tables already collected, and send nothing: ``merge`` (JSON dumps into
tables), ``select video-ids`` and ``select usernames`` (the items of the next query), and
``summary`` (engagement by a grouping).
"""

from __future__ import annotations

import logging
import shutil
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from . import _log, _run
from ._app import app, select_app
from ._errors import EXIT_ERROR, CommandError, InputError
from ._inputs import read_table
from ._options import ForExcelOpt, OverwriteOpt, TableArg
from ._output import (
    Output,
    check_lines_output,
    check_output,
    check_tables_folder,
    write_lines,
    write_table,
    write_tables,
)

if TYPE_CHECKING:
    import polars as pl


# ------------------------------------------------------------------------------------ merge

_MERGE_HELP = (
    "Merge JSON dumps (our archive, raw responses, curl-script and official-wrapper files) into "
    "one Parquet file per table, or with --dataset into hive Parquet datasets in bounded memory. "
    "Rows are de-duplicated on each table's key, keeping the most recently retrieved; every item "
    "skipped (a FIFO or device, a broken line, an error page, a gzip bomb...) is listed with its "
    "file and reason.\n\n"
    "Exit codes: 0 merged; 2 invalid input, nothing written (a path that does not exist, a "
    "pattern that matches no file, --out that is a file or holds tables already, --dataset that "
    "is a file or is not empty, without --overwrite); 1 the tables could not be written (disk "
    "full, permission denied): the message names the path, and no half-written table is left in "
    "place.\n\n"
    "Example: tiktok-research merge 'dumps/*.json' --out merged/"
)


@app.command(help=_MERGE_HELP)
def merge(
    paths: Annotated[
        list[str], typer.Argument(metavar="PATHS", help="Files, folders or globs of JSON dumps.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help="Folder for one Parquet file per table (default: merged/).",
        ),
    ] = None,
    dataset: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Instead of --out: stream into hive Parquet datasets DIR/<table>/ in bounded "
            "memory (dumps larger than memory).",
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Replace the tables of an earlier merge (--out or --dataset)."
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="One line per file, not only per file skipped, and INFO log lines: the same as "
            "the root option (tiktok-research --verbose merge ...).",
        ),
    ] = False,
) -> None:
    """Merge JSON dumps (the help text is _MERGE_HELP)."""
    from ..merge import merge_dumps, missing_inputs

    # one meaning of --verbose in every place it is given: say more
    verbose = verbose or _run.ROOT.verbose
    if verbose:
        _log.be_verbose()

    problems = missing_inputs(paths)
    if problems:
        raise InputError("\nerror: ".join(problems))
    if out is not None and dataset is not None:
        raise InputError(
            "give --out (one file per table) or --dataset (Parquet datasets), not both"
        )
    folder = out if out is not None else Path("merged")
    if dataset is None and folder.exists() and not folder.is_dir():
        raise InputError(f"--out {folder} is a file; give a folder (one Parquet file per table)")
    if dataset is None:
        from ..schemas import SCHEMAS

        check_tables_folder(folder, SCHEMAS, overwrite)
    # each skipped item is logged as it is met and listed in the summary: print it once
    logger = logging.getLogger("tiktok_research.merge")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        try:
            result = merge_dumps(paths, dataset=dataset, overwrite=overwrite)
        except FileExistsError as exc:  # raised before anything is read or written
            message = str(exc).replace("overwrite=True (--overwrite)", "--overwrite")
            raise InputError(f"--dataset {message}") from None
        if not result.report:
            raise InputError(f"no file found in {', '.join(paths)}")
        if dataset is None:
            write_tables(result.tables, folder)
    except OSError as exc:  # documented in the help: exit 1, nothing replaced
        where = exc.filename or dataset or folder
        raise CommandError(
            f"cannot write {where}: {exc.strerror or exc}. Nothing was replaced: free space (or "
            "fix the permissions) and run the same command again.",
            EXIT_ERROR,
        ) from None
    finally:
        logger.setLevel(level)
    _log.say(result.summary(verbose=verbose))
    if dataset is None:
        _log.say(f"wrote {len(result.tables)} table(s) to {folder}")


# ----------------------------------------------------------------------------------- select


def _need_column(df: pl.DataFrame, column: str, path: Path, why: str) -> None:
    if column not in df.columns:
        raise InputError(
            f"{path} has no {column!r} column{why}; its columns are: {', '.join(df.columns)}. "
            "Pick one with --column"
        )


def _emit(values: pl.Series, out: Output | None, what: str) -> None:
    """Print ``values`` one per line, or write them to ``out``."""
    if out is None or out.path is None:
        text = "\n".join(str(v) for v in values.to_list())
        if text:
            _log.echo(text)
    else:
        write_lines(values, out)
        _log.say(f"wrote {values.len():,} {what} to {out}", err=True)


@select_app.command("video-ids")
def select_video_ids_cmd(
    table: TableArg,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="FILE", help="Text file, one id per line (default: print)."
        ),
    ] = None,
    min_comments: Annotated[
        int | None, typer.Option(metavar="N", help="Only videos with at least N comments.")
    ] = None,
    top: Annotated[int | None, typer.Option(metavar="N", help="Keep the first N.")] = None,
    by: Annotated[
        str | None,
        typer.Option(
            metavar="COLUMN",
            help="Rank by this column (default: comment_count, or the number of rows per id).",
        ),
    ] = None,
    column: Annotated[
        str | None,
        typer.Option(
            metavar="COLUMN", help="Column holding the video ids (default: video_id, else id)."
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Video ids for a follow-up query, most commented first.

    The ids go to `tiktok-research comments` (or any command that takes video ids).

    \b
    Examples:
      tiktok-research select video-ids videos.parquet --min-comments 1 --top 200 --out ids.txt
      tiktok-research select video-ids comments.csv --column video_id
    """
    from ..select import select_video_ids

    target = check_lines_output(out, overwrite)
    if target is not None:
        target.claim("select video-ids", str(table.resolve()), min_comments, top, by, column)
    df = read_table(table)
    col = column or ("video_id" if "video_id" in df.columns else "id")
    _need_column(df, col, table, " (video ids)")
    if by is not None:
        _need_column(df, by, table, " to rank by")
    if min_comments is not None and "comment_count" not in df.columns:
        raise InputError(
            f"--min-comments needs a comment_count column, which {table} lacks; its columns "
            f"are: {', '.join(df.columns)}"
        )
    try:
        ids = select_video_ids(df, min_comments=min_comments, top=top, by=by, column=col)
    except ValueError as e:
        raise InputError(str(e)) from None
    _emit(ids, target, "ids")


@select_app.command("usernames")
def select_usernames_cmd(
    table: TableArg,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="FILE", help="Text file, one name per line (default: print)."
        ),
    ] = None,
    top: Annotated[int | None, typer.Option(metavar="N", help="Keep the N most active.")] = None,
    column: Annotated[
        str | None,
        typer.Option(
            metavar="COLUMN",
            help="Column holding the usernames (default: username; e.g. source_username).",
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Unique usernames, most active first, for user-info or follower queries.

    Works on videos, users, followers/following and liked/pinned/reposted tables (the comments
    table has no usernames: the API does not return comment authors).

    \b
    Examples:
      tiktok-research select usernames videos.parquet --top 100 --out names.txt
      tiktok-research select usernames followers.csv --column source_username
    """
    from ..select import select_usernames

    target = check_lines_output(out, overwrite)
    if target is not None:
        target.claim("select usernames", str(table.resolve()), top, column)
    df = read_table(table)
    col = column or "username"
    why = " (a comments table has none: the API does not return comment authors)" if (
        column is None and "parent_comment_id" in df.columns
    ) else ""  # fmt: skip
    _need_column(df, col, table, why)
    try:
        names = select_usernames(df, top=top, column=col)
    except ValueError as e:
        raise InputError(str(e)) from None
    _emit(names, target, "usernames")


# ---------------------------------------------------------------------------------- summary


class By(StrEnum):
    """Groupings of ``summary --by``."""

    day = "day"
    week = "week"
    month = "month"
    hashtag = "hashtag"
    region = "region"
    creator = "creator"
    video_length = "video_length"
    music = "music"


_SUMMARY_COLUMNS = (
    "creators",
    "view_count_sum",
    "view_count_median",
    "like_count_median",
    "comment_count_median",
    "engagement_rate_median",
    "engagement_rate_pooled",
)


@app.command()
def summary(
    table: TableArg,
    by: Annotated[By, typer.Option(help="The grouping.")] = By.month,
    top: Annotated[int, typer.Option(metavar="N", help="Rows to show.")] = 20,
    wide: Annotated[
        bool, typer.Option("--wide", help="Every column (sums and quantiles).")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            help="Also write the summary (.parquet, .csv, .jsonl, .xlsx), or - for JSON lines "
            "on standard output instead of the table shown.",
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
    for_excel: ForExcelOpt = False,
) -> None:
    """Engagement summary of a videos table.

    \b
    Examples:
      tiktok-research summary videos.parquet --by hashtag
      tiktok-research summary data/videos --by week --out weekly.csv
    """
    target = None
    if out is not None:
        target = check_output(out, overwrite=overwrite, excel=for_excel)
        target.claim("summary", str(table.resolve()), by.value)
    elif for_excel:
        raise InputError("--for-excel is for a .csv --out")
    df = read_table(table)
    from ..analysis import summarize

    try:  # the columns a grouping needs are summarize's to know
        result = summarize(df, by=by.value)
    except ValueError as e:
        from ..schemas import VIDEOS

        # a videos table whose create_time was not collected (fields=) is still a videos table
        if set(VIDEOS) <= set(df.collect_schema().names()):
            raise InputError(f"cannot summarize {table}: {e}") from None
        raise InputError(f"{table} is not a videos table: {e}") from None
    if target is not None:
        written = write_table(result, target)
        if target.to_stdout:
            return
        if written is not None:
            _log.say(f"wrote {result.height:,} rows to {written}", err=True)
    _log.echo(_fit(result, top, wide))
    if result.height > top:
        _log.echo(f"({top} of {result.height:,} rows; --top N shows more, --out FILE keeps all)")


def _fit(result: pl.DataFrame, top: int, wide: bool) -> str:
    """The first ``top`` rows of a summary as text that fits the terminal: short headers and
    numbers, no dtype row (a file keeps full precision); columns that do not fit are left out
    (``--wide`` shows them all), with a line that says so."""
    import polars as pl

    shown = (
        result
        if wide
        else result.select(
            result.columns[0], "videos", *[c for c in result.columns if c in _SUMMARY_COLUMNS]
        )
    )
    short = shown.rename(
        {c: c.replace("_count", "").replace("engagement_rate", "eng") for c in shown.columns}
    ).with_columns(pl.selectors.float().round(4))
    width = shutil.get_terminal_size((120, 24)).columns
    config = {"tbl_rows": top, "tbl_cols": -1, "tbl_width_chars": 10_000, "fmt_str_lengths": 24,
              "tbl_hide_column_data_types": True, "tbl_hide_dataframe_shape": True,
              "thousands_separator": ","}  # fmt: skip
    with pl.Config(**config):  # type: ignore[arg-type]
        text = str(short.head(top))
        while not wide and short.width > 2 and max(map(len, text.splitlines())) > width:
            short = short.drop(short.columns[-1])
            text = str(short.head(top))
    if short.width < shown.width:
        text += f"\n({shown.width - short.width} column(s) left out to fit; --wide shows them)"
    return text
