"""The options and arguments that several commands share, as ``Annotated`` types.

A command declares ``archive: ArchiveOpt = DEFAULT_ARCHIVE`` and typer reads the option's name,
metavar and help from the type, so an option is worded the same in every ``--help``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

DEFAULT_ARCHIVE = Path("tiktok-archive")

# ------------------------------------------------------------------ every collection command

ArchiveOpt = Annotated[
    Path,
    typer.Option(
        metavar="DIR", help="Raw archive folder: every page is kept here; needed to resume."
    ),
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        metavar="FILE",
        help="Output file: .parquet, .csv, .jsonl or .xlsx, or - for JSON lines on standard "
        "output (default: <command>.parquet). An existing file is not replaced (see "
        "--overwrite). Items that failed go beside it, in <name>_failures.<ext>.",
    ),
]
OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace an existing output file. Without it a file is replaced only by a rerun "
        "of the same command that wrote it (to continue or repeat it), never by an empty result.",
    ),
]
ForExcelOpt = Annotated[
    bool,
    typer.Option(
        "--for-excel",
        help="With a .csv output: the CSV that Excel opens with a double click (UTF-8 byte "
        "order mark, ids kept as text); LibreOffice needs 'Unicode (UTF-8)' in its import "
        "dialog. For spreadsheets, .xlsx is simpler.",
    ),
]
ResumeOpt = Annotated[
    bool, typer.Option("--resume/--no-resume", help="Continue an earlier run found in the archive.")
]
ProgressOpt = Annotated[
    bool | None,
    typer.Option("--progress/--no-progress", help="Progress bars (default: on a terminal)."),
]
SandboxOpt = Annotated[
    bool,
    typer.Option(
        "--sandbox",
        envvar="TIKTOK_RESEARCH_SANDBOX",
        show_envvar=False,
        help="Use the built-in offline sandbox (no credentials; also TIKTOK_RESEARCH_SANDBOX=1, "
        "as in Python).",
    ),
]
BudgetOpt = Annotated[
    int | None,
    typer.Option(
        "--max-requests", metavar="N", help="Stop cleanly before spending more than N requests."
    ),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Print what would be asked; send nothing.")
]
FieldsOpt = Annotated[
    str | None,
    typer.Option(metavar="LIST", help="Comma-separated fields to ask for (default: all)."),
]

# ------------------------------------------------------------- commands that take items or ids

FromFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--from-file",
        "-f",
        metavar="FILE",
        help="Read items from a text file, one per line ('-' for stdin; '#' starts a comment).",
    ),
]
RetryFailedOpt = Annotated[
    bool,
    typer.Option(
        "--retry-failed", help="Ask again for items that failed for good in an earlier run."
    ),
]
MaxTotalPerItemOpt = Annotated[
    int | None, typer.Option(metavar="N", help="At most N rows per item.")
]
RepliesOpt = Annotated[
    bool,
    typer.Option(
        "--replies",
        help="Also collect the replies of every comment that has some (one or more requests "
        "per such comment): their cost is printed before that phase, and on a terminal you are "
        "asked first when it needs more than the quota left today.",
    ),
]
YesOpt = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Do not ask before a phase that needs more than the quota "
                 "left today (it then stops cleanly when the quota runs out)."),
]  # fmt: skip
AskEmptyOpt = Annotated[
    bool,
    typer.Option(
        "--ask-empty",
        help="Also ask for the videos whose comment_count is 0 in the table given with "
        "--from-file (skipped by default: each costs a request for an empty page).",
    ),
]


def _items(what: str) -> Any:
    return typer.Argument(
        metavar="ITEMS", help=f"{what} (or --from-file, or stdin).", show_default=False
    )


UsernamesArg = Annotated[list[str] | None, _items("Usernames")]
VideoIdsArg = Annotated[list[str] | None, _items("Video ids")]
PlaylistIdsArg = Annotated[list[str] | None, _items("Playlist ids")]
ShopNamesArg = Annotated[list[str] | None, _items("Shop names")]
ShopIdsArg = Annotated[list[str] | None, _items("Shop ids")]
ProductIdsArg = Annotated[list[str] | None, _items("Product ids")]
IdsArg = Annotated[
    list[str] | None,
    typer.Argument(metavar="IDS", help="Ids (or --from-file, or stdin).", show_default=False),
]

# ------------------------------------------------- the query flags of videos and update

QueryOpt = Annotated[
    str | None,
    typer.Option(
        metavar="JSON|FILE",
        help="Query as JSON text or a JSON file; the flags below are added to it with AND.",
    ),
]
HashtagOpt = Annotated[
    list[str] | None,
    typer.Option(metavar="NAME", help="Hashtag, without # (repeat for any of several)."),
]
KeywordOpt = Annotated[
    list[str] | None,
    typer.Option(metavar="WORD", help="Keyword in the description (repeat for any of several)."),
]
RegionOpt = Annotated[
    list[str] | None,
    typer.Option(metavar="CODE", help="Region code, e.g. US (repeat for any of several)."),
]
UsernameOpt = Annotated[
    list[str] | None,
    typer.Option(metavar="NAME", help="Creator username (repeat for any of several)."),
]

# ------------------------------------------------------------- commands that read a table

TableArg = Annotated[
    Path,
    typer.Argument(
        metavar="TABLE",
        help="A table: .parquet, .csv, .jsonl, or a dataset folder.",
        show_default=False,
    ),
]
