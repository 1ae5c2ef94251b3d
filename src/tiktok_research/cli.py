"""``tiktok-research``: a thin command line over the public functions.

Exit codes (also in ``tiktok-research --help`` and README section 11): 0 done and complete;
1 unexpected error; 2 invalid input (nothing was sent); 3 incomplete (quota, budget, items left
or a full disk: run the same command again to continue); 4 credentials or scope rejected; 5 the
service cannot be reached or kept failing; 130 interrupted (Ctrl-C).

Every command runs inside :class:`_Group`, the one place where an exception becomes a one-line
message and its exit code (:func:`_describe`); nothing else catches errors, and no command ever
shows a Python traceback unless ``--debug`` (or ``TIKTOK_RESEARCH_DEBUG=1``) asks for it. Every
check of the user's input (query, items, output paths) runs before the first request.
"""

import errno
import inspect
import os
import re
import shutil
import sys
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    import polars as pl

    from .collect import CollectionReport, FetchResult

EXIT_OK, EXIT_ERROR, EXIT_INVALID, EXIT_INCOMPLETE, EXIT_AUTH, EXIT_SERVER = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130

DEBUG_ENV = "TIKTOK_RESEARCH_DEBUG"
OUTPUT_FORMATS = (".parquet", ".csv", ".jsonl")
_SUFFIXES = {".parquet": ".parquet", ".pq": ".parquet", ".csv": ".csv", ".jsonl": ".jsonl",
             ".ndjson": ".jsonl"}  # fmt: skip


class InputError(Exception):
    """Invalid command-line input found before anything was sent (exit code 2)."""


# ------------------------------------------------------------------------------ error handling

# recent typer versions vendor click: find its ClickException without a private import
_CLICK_EXCEPTION: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)
_PASS_THROUGH = (typer.Exit, typer.Abort, _CLICK_EXCEPTION, BrokenPipeError)

_OS_MESSAGES = {
    errno.ENOENT: "no such file or folder",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "is a folder, not a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "already exists and is not a folder",
    errno.ENAMETOOLONG: "file name too long",
    errno.EROFS: "read-only file system",
}


_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EACCES}


@contextmanager
def _writing(path: Path | str) -> Iterator[None]:
    """Name ``path`` in an OSError raised inside the block that names no file (a full disk
    reported by a write() call, or by polars and pyarrow, carries no file name)."""
    try:
        yield
    except OSError as e:
        if e.filename is not None or isinstance(e, (ConnectionError, TimeoutError)):
            raise
        code = e.errno
        if code is None:  # polars: "No space left on device (os error 28)"
            found = re.search(r"os error (\d+)", str(e))
            code = int(found.group(1)) if found else None
        if code in _DISK_ERRORS:
            raise OSError(code, os.strerror(code), str(path)) from e
        raise


@contextmanager
def _collecting(archive: Path) -> Iterator[None]:
    """Around a collection: a full disk names the archive, and the report (with the exit code
    and a line saying to run again) replaces the Python warning about an incomplete run."""
    from .collect import IncompleteCollectionWarning

    with _writing(archive), warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteCollectionWarning)
        yield


def _os_error(e: OSError) -> tuple[int, str]:
    path = e.filename if e.filename is not None else "the output"
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return EXIT_INCOMPLETE, (
            f"error: no space left on the disk while writing {path}. Free some space, then run "
            "the same command again: pages already collected are kept in the archive"
        )
    what = _OS_MESSAGES.get(e.errno or -1)
    if what is not None:
        shown = str(path) if len(str(path)) <= 200 else str(path)[:100] + "..."
        return EXIT_INVALID, f"error: {shown}: {what}"
    return EXIT_ERROR, f"error: {e.strerror or e}: {path}"


def _describe(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one-line message (or a few lines) for an exception."""
    from .errors import (
        ArchiveError,
        AuthenticationError,
        BudgetExhaustedError,
        CollectionLockedError,
        InvalidRequestError,
        QuotaExhaustedError,
        RateLimitedError,
        ScopeNotAuthorizedError,
        ServerError,
        TikTokResearchError,
    )

    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, (
            "interrupted: pages already collected are kept in the archive; "
            "run the same command again to continue"
        )
    if isinstance(exc, InputError):
        return EXIT_INVALID, f"error: {exc}"
    if isinstance(exc, InvalidRequestError):
        return EXIT_INVALID, f"error: {exc}"
    if isinstance(exc, (AuthenticationError, ScopeNotAuthorizedError)):
        tip = ""
        if exc.http_status is None and "--sandbox" not in str(exc):  # nothing was sent
            tip = "\n(or add --sandbox to try the command on the offline sandbox)"
        return EXIT_AUTH, f"error: {exc}{tip}"
    if isinstance(exc, (QuotaExhaustedError, BudgetExhaustedError)):
        return EXIT_INCOMPLETE, f"stopped: {exc}\nRun the same command again to continue."
    if isinstance(exc, (ArchiveError, CollectionLockedError)):
        return EXIT_INCOMPLETE, f"stopped: {exc}"
    if isinstance(exc, (RateLimitedError, ServerError)):
        return EXIT_SERVER, f"error: the service cannot be reached or kept failing: {exc}"
    if isinstance(exc, TikTokResearchError):
        return EXIT_ERROR, f"error: {exc}"
    if isinstance(exc, (ConnectionError, TimeoutError)) or type(exc).__module__.startswith(
        ("httpx", "httpcore")
    ):
        return EXIT_SERVER, f"error: the service cannot be reached: {exc}"
    if isinstance(exc, OSError):
        return _os_error(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return EXIT_ERROR, f"error: unexpected {type(exc).__name__}" + (f": {text}" if text else "")


def _debug_requested(ctx: Any) -> bool:
    flag = bool(ctx.find_root().params.get("debug"))
    return flag or os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _format_warning(
    message: Warning | str, category: type[Warning], *args: object, **kwargs: object
) -> str:
    return f"warning: {message}\n"


class _Group(TyperGroup):
    """The root command group: turns every exception of every command into a message and a code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            with warnings.catch_warnings():
                # a warning is one line for a terminal user, not a file name and a source line
                warnings.formatwarning = _format_warning
                return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except BaseException as exc:  # a Rust panic in polars is a BaseException
            if isinstance(exc, (SystemExit, GeneratorExit)):
                raise
            code, message = _describe(exc)
            debug = _debug_requested(ctx)
            if debug:
                traceback.print_exception(exc)
            typer.echo(message, err=True)
            if code == EXIT_ERROR and not debug:
                typer.echo(
                    f"(run again with --debug, or {DEBUG_ENV}=1, to see the traceback)", err=True
                )
            raise typer.Exit(code) from None
        finally:
            while _OPEN_CLIENTS:
                _OPEN_CLIENTS.pop().close()


HELP = """Collect TikTok Research API data into Parquet, CSV or JSON Lines.

Credentials come from TIKTOK_CLIENT_KEY / TIKTOK_CLIENT_SECRET; TIKTOK_RESEARCH_BASE_URL points at
another server (e.g. `tiktok-research sandbox serve`). Add --sandbox to any collection command to
use the built-in offline sandbox instead (no credentials).

Every collection command checks its input (query, items, output file) before the first request,
keeps every page in the raw archive (--archive, default tiktok-archive/) and continues an
interrupted run when it is run again.

\b
Examples:
  tiktok-research videos --sandbox --hashtag climate --region US --start 2024-01-01 --end 2024-03-31 --out videos.parquet
  tiktok-research select video-ids videos.parquet --min-comments 1 --out ids.txt
  tiktok-research comments --sandbox --from-file ids.txt --out comments.parquet
  tiktok-research refresh videos.parquet
  tiktok-research demo --out demo-output

\b
Exit codes:
  0    done, and the collection is complete
  1    unexpected error (add --debug to see the traceback)
  2    invalid input: nothing was sent
  3    incomplete (quota, --max-requests, items left, disk full): run the same command again
  4    credentials or scope rejected
  5    the service cannot be reached or kept failing
  130  interrupted (Ctrl-C): run the same command again to continue
"""  # noqa: E501

app = typer.Typer(
    name="tiktok-research",
    cls=_Group,
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"max_content_width": 100},
)
sandbox_app = typer.Typer(
    help="The offline emulator of the Research API.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
select_app = typer.Typer(
    help=(
        "Pick ids or usernames from a table for the next query.\n\n"
        "Example: tiktok-research select video-ids videos.parquet --min-comments 1 --out ids.txt"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(select_app, name="select")


def _version(value: bool) -> None:
    if value:
        from ._version import __version__

        typer.echo(f"tiktok-research {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option("--debug", help=f"Show the Python traceback of an error (or {DEBUG_ENV}=1)."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """The root options (the help text is HELP)."""


# ------------------------------------------------------------------------------------ options

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
        help="Output file: .parquet, .csv or .jsonl (default: <command>.parquet). Items that "
        "failed go beside it, in <name>_failures.<ext>.",
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
    bool, typer.Option("--sandbox", help="Use the built-in offline sandbox (no credentials).")
]
BudgetOpt = Annotated[
    int | None,
    typer.Option(
        "--max-requests", metavar="N", help="Stop cleanly before spending more than N requests."
    ),
]
FromFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--from-file",
        "-f",
        metavar="FILE",
        help="Read items from a text file, one per line ('-' for stdin; '#' starts a comment).",
    ),
]
FieldsOpt = Annotated[
    str | None,
    typer.Option(metavar="LIST", help="Comma-separated fields to ask for (default: all)."),
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
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Print what would be asked; send nothing.")
]


# ----------------------------------------------------------------------------- input checks


def _exists(path: Path) -> bool:
    """``path.exists()``, with a file name too long for the system counted as invalid input."""
    try:
        return path.exists()
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise InputError(f"file name too long: {str(path)[:60]}...") from None
        raise


def _check_writable_parent(path: Path, option: str) -> None:
    """The first existing ancestor of ``path`` must be a folder we may write in."""
    parent = path.parent
    while not _exists(parent):
        if parent == parent.parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise InputError(f"{option} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option} {path}: cannot write in {parent} (permission denied)")


def _check_output(
    path: Path, option: str = "--out", formats: tuple[str, ...] = OUTPUT_FORMATS
) -> Path:
    """Check an output file before anything is sent: known format, not a folder, writable."""
    suffix = _SUFFIXES.get(path.suffix.lower())
    if _exists(path) and path.is_dir():
        raise InputError(
            f"{option} {path} is a folder; give a file name, e.g. {path / ('table' + formats[0])}"
        )
    if suffix not in formats:
        shown = repr(path.suffix) if path.suffix else "no extension"
        raise InputError(
            f"{option} {path}: unknown output format ({shown}); use {', '.join(formats)}"
        )
    if _exists(path) and not os.access(path, os.W_OK):
        raise InputError(f"{option} {path}: the file is not writable (permission denied)")
    _check_writable_parent(path, option)
    return path


def _check_folder(path: Path, option: str) -> Path:
    """Check a folder the command will write in: not a file, and writable."""
    if _exists(path):
        if not path.is_dir():
            raise InputError(f"{option} {path} is a file; give a folder (it is created if needed)")
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"{option} {path}: cannot write in this folder (permission denied)")
        return path
    _check_writable_parent(path, option)
    return path


def _read_text(path: Path, option: str) -> str:
    """The text of a small input file, with a clear message when it is missing or not text."""
    if not _exists(path):
        raise InputError(f"{option} {path}: no such file")
    if path.is_dir():
        raise InputError(f"{option} {path} is a folder, not a file")
    data = path.read_bytes()
    try:
        if b"\x00" in data:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\x00"), data.index(b"\x00") + 1,
                                     "NUL byte")  # fmt: skip
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{option} {path} is not a text file (UTF-8): byte {e.start} cannot be read. "
            "Give a text file with one value per line"
        ) from None


def _read_items(items: list[str] | None, from_file: Path | None) -> list[str]:
    values = [v.strip() for v in items or []]
    if from_file is not None:
        stdin = str(from_file) == "-"
        text = sys.stdin.read() if stdin else _read_text(from_file, "--from-file")
        values.extend(line.strip() for line in text.splitlines())
    elif not values and not sys.stdin.isatty():
        values.extend(line.strip() for line in sys.stdin.read().splitlines())
    values = [v for v in values if v and not v.startswith("#")]
    if not values:
        where = f" ({from_file} has none)" if from_file is not None else ""
        raise InputError(
            f"no items{where}: give them as arguments, with --from-file FILE, or on stdin"
        )
    return values


def _query_text(value: str) -> tuple[str, str]:
    """``--query`` as (JSON text, where it came from): JSON text or the path of a JSON file."""
    stripped = value.strip()
    if stripped.startswith(("{", "[")):
        return stripped, "--query"
    path = Path(stripped)
    try:
        is_file = path.is_file()
    except OSError:  # e.g. a value too long to be a file name
        is_file = False
    if is_file:
        return _read_text(path, "--query"), f"--query file {path}"
    looks_like_path = path.suffix.lower() == ".json" or "/" in stripped or os.sep in stripped
    if looks_like_path:
        if _exists(path):
            raise InputError(f"--query {path} is a folder, not a JSON file")
        raise InputError(f"--query {path}: no such file")
    shown = stripped if len(stripped) <= 40 else stripped[:40] + "..."
    raise InputError(
        f"--query takes JSON text or the path of a JSON file, not {shown!r}. For a keyword or a "
        f"hashtag use --keyword {shown} or --hashtag {shown} (README section 3 shows the JSON)"
    )


def _build_query(
    query_json: str | None,
    hashtag: list[str] | None,
    keyword: list[str] | None,
    region: list[str] | None,
    username: list[str] | None,
) -> Any:
    """``--query`` and the condition flags, combined with AND."""
    from .errors import InvalidRequestError
    from .query import Q, as_query

    parts: list[Any] = []
    if query_json:
        text, source = _query_text(query_json)
        try:
            parts.append(as_query(text))
        except InvalidRequestError as e:
            raise InputError(f"{source}: {e.message}") from None
    for name, values in (
        ("hashtag_name", hashtag),
        ("keyword", keyword),
        ("region_code", region),
        ("username", username),
    ):
        if values:
            f = getattr(Q, name)
            parts.append(f.eq(values[0]) if len(values) == 1 else f.isin(values))
    if not parts:
        raise InputError(
            "no query: give --query, or at least one of --hashtag/--keyword/--region/--username"
        )
    expr = parts[0]
    for p in parts[1:]:
        expr = expr & p
    return as_query(expr)


# ---------------------------------------------------------------------------------- outputs


def _client(sandbox: bool, max_requests: int | None) -> Any:
    """The command's client; its HTTP connections are closed when the command ends."""
    from .client import Client

    if sandbox:
        from .sandbox import Sandbox

        sb = Sandbox()
        # The built-in sandbox lives as long as the command: a wait (a compliance task still
        # Processing, a retry) moves its clock on instead of holding the terminal.
        client = Client.sandbox(
            sb, max_requests=max_requests, sleep=lambda s: sb.advance(timedelta(seconds=s))
        )
    else:
        client = Client(max_requests=max_requests)
    _OPEN_CLIENTS.append(client)
    return client


#: The clients a command opened; the root group closes them when the command ends.
_OPEN_CLIENTS: list[Any] = []


def _write(df: "pl.DataFrame", out: Path, table: str | None = None) -> Path:
    """Write ``df`` in the format of ``out``'s extension (checked by :func:`_check_output`)."""
    from . import io as tio

    suffix = _SUFFIXES.get(out.suffix.lower())
    if suffix not in (".csv", ".jsonl", ".parquet"):  # a new caller forgot _check_output
        raise InputError(f"unknown output format {out.suffix!r}: use .parquet, .csv or .jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    with _writing(out):
        if suffix == ".csv":
            tio.write_csv(df, out)
        elif suffix == ".jsonl":
            df.write_ndjson(out)
        else:
            tio.write_parquet(df, out, table=table)
    return out


def failures_path(out: Path) -> Path:
    """Where the failures of a fan-out go: beside ``out``, as ``<name>_failures.<ext>`` (as the
    demo's ``users_failures.parquet``)."""
    return out.with_name(f"{out.stem}_failures{out.suffix}")


def _exit_code(report: "CollectionReport", failures: Any = None) -> int:
    """The exit code of a finished collection.

    4 when the project lacks the scope of the endpoint (every item is then refused), 5 when the
    run stopped because the service could not be reached or kept failing, 3 when it is otherwise
    incomplete.
    """
    scope = ("scope_not_authorized", "scope_permission_missed")
    if failures is not None and failures.height and failures["code"].is_in(scope).any():
        return EXIT_AUTH
    if report.complete:
        return EXIT_OK
    if report.stop_kind in ("unreachable", "server"):
        return EXIT_SERVER
    return EXIT_INCOMPLETE


def _finish(result: "FetchResult", out: Path, kind: str | None) -> None:
    target = _write(result, out, table=kind)
    typer.echo(str(result.report))
    failures = result.failures
    side = failures_path(out)
    if failures.height:
        _write(failures, side)
        typer.echo(f"{failures.height} item(s) failed (all of them in {side}):")
        for row in failures.head(20).iter_rows(named=True):
            typer.echo(f"  {row['item']}: {row['code']}: {row['message']} (log_id {row['log_id']})")
        if failures.height > 20:
            typer.echo(f"  ... and {failures.height - 20} more")
    elif side.is_file():
        side.unlink()  # it listed the failures of an earlier run of this output, all done now
    typer.echo(f"wrote {result.height:,} rows to {target}")
    code = _exit_code(result.report, result.failures)
    if code == EXIT_INCOMPLETE:
        typer.echo(
            "incomplete: run the same command again to continue (pages already collected are "
            "not asked for again)",
            err=True,
        )
    if code != EXIT_OK:
        raise typer.Exit(code)


# --------------------------------------------------------------------------------- commands


# The query flags of the commands that take a video query (videos, update).
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
    archive: ArchiveOpt = Path("tiktok-archive"),
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
    target = _check_output(out or Path("videos.parquet"))
    _check_folder(archive, "--archive")
    if dataset is not None:
        _check_folder(dataset, "--dataset")
    q = _build_query(query, hashtag, keyword, region, username)
    from .fetch import collect_videos, fetch_videos
    from .plan import plan_videos

    planner = _client(True, None) if sandbox else None
    # everything is checked before the credentials are: a mistake is exit 2 with or without them
    plan = plan_videos(q, start, end, max_total=max_total, fields=fields, client=planner,
                       warn=dry_run)  # fmt: skip
    if dry_run:  # a plan needs no credentials and sends nothing
        typer.echo(str(plan))
        return
    client = _client(sandbox, max_requests)
    if dataset is not None:
        with _collecting(archive):
            report = collect_videos(
                q,
                start,
                end,
                dataset,
                archive=archive,
                fields=fields,
                client=client,
                resume=resume,
                progress=progress,
            )
        typer.echo(str(report))
        typer.echo(f"dataset: {dataset} ({report.rows:,} rows)")
        code = _exit_code(report)
        if code != EXIT_OK:
            raise typer.Exit(code)
        return
    with _collecting(archive):
        result = fetch_videos(
            q,
            start,
            end,
            fields=fields,
            max_total=max_total,
            client=client,
            archive=archive,
            resume=resume,
            progress=progress,
        )
    _finish(result, target, "videos")


RepliesOpt = Annotated[
    bool,
    typer.Option(
        "--replies",
        help="Also collect the replies of every comment that has some (one or more requests "
        "per such comment).",
    ),
]


def _items_command(
    name: str,
    fetch_name: str,
    kind: str,
    what: str,
    example: str,
    *,
    replies: bool = False,
    max_total: bool = True,
    fields: bool = True,
) -> None:
    """Register the command of a fan-out endpoint (one request sequence per item).

    The command's options are the common ones plus ``--replies`` (comments) and ``--max-total``
    (endpoints that can give several rows per item); its signature is built here so that typer
    sees exactly the options this endpoint has.
    """

    def command(**kw: Any) -> None:
        target = _check_output(kw["out"] or Path(f"{kind}.parquet"))
        _check_folder(kw["archive"], "--archive")
        values = _read_items(kw["items"], kw["from_file"])
        from . import fetch
        from .plan import plan_items

        planner = _client(True, None) if kw["sandbox"] else None
        # everything is checked before the credentials are: a mistake is exit 2 with or without
        plan = plan_items(
            kind, values, fields=kw.get("fields"), max_total=kw.get("max_total"),
            client=planner, func=name, warn=kw["dry_run"],
        )  # fmt: skip
        if kw["dry_run"]:  # a plan needs no credentials and sends nothing
            typer.echo(str(plan))
            return
        extra: dict[str, Any] = {"replies": kw["replies"]} if replies else {}
        if max_total:
            extra["max_total"] = kw["max_total"]
        if fields:
            extra["fields"] = kw["fields"]
        with _collecting(kw["archive"]):
            result = getattr(fetch, fetch_name)(
                values,
                retry_failed=kw["retry_failed"],
                client=_client(kw["sandbox"], kw["max_requests"]),
                archive=kw["archive"],
                resume=kw["resume"],
                progress=kw["progress"],
                **extra,
            )
        _finish(result, target, kind)

    items_arg = Annotated[
        list[str] | None,
        typer.Argument(
            metavar="ITEMS", help=f"{what.capitalize()} (or --from-file, or stdin).",
            show_default=False,
        ),
    ]  # fmt: skip
    options: list[tuple[str, Any, Any]] = [
        ("items", items_arg, None),
        ("from_file", FromFileOpt, None),
        *([("replies", RepliesOpt, False)] if replies else []),
        ("out", OutOpt, None),
        *([("max_total", MaxTotalPerItemOpt, None)] if max_total else []),
        *([("fields", FieldsOpt, None)] if fields else []),
        ("retry_failed", RetryFailedOpt, False),
        ("archive", ArchiveOpt, Path("tiktok-archive")),
        ("resume", ResumeOpt, True),
        ("progress", ProgressOpt, None),
        ("sandbox", SandboxOpt, False),
        ("max_requests", BudgetOpt, None),
        ("dry_run", DryRunOpt, False),
    ]
    command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d, annotation=t)
            for n, t, d in options
        ]
    )
    title = kind.replace("_", " ").capitalize()
    command.__doc__ = (
        f"{title} for each of the {what} given.\n\n"
        f"\b\nExamples:\n  tiktok-research {name} --sandbox {example}\n"
        f"  tiktok-research {name} --from-file items.txt --out {kind}.csv"
    )
    app.command(name=name)(command)


_items_command("users", "fetch_user_info", "users", "usernames", "alice bob", max_total=False)
_items_command(
    "comments", "fetch_comments", "comments", "video ids", "7320768158545159950 --replies",
    replies=True,
)  # fmt: skip
_items_command("liked", "fetch_liked_videos", "liked_videos", "usernames", "alice")
_items_command("pinned", "fetch_pinned_videos", "pinned_videos", "usernames", "alice")
_items_command("reposted", "fetch_reposted_videos", "reposted_videos", "usernames", "alice")
_items_command(
    "followers", "fetch_followers", "followers", "usernames", "alice --max-total 500",
    fields=False,
)  # fmt: skip
_items_command("following", "fetch_following", "following", "usernames", "alice", fields=False)
_items_command(
    "playlists", "fetch_playlists", "playlists", "playlist ids", "7320768158545159950",
    max_total=False,
)  # fmt: skip
_items_command("shops", "fetch_shops", "shops", "shop names", "'green shop'", max_total=False)
_items_command("products", "fetch_products", "products", "shop ids", "7320768158545159950")
_items_command("reviews", "fetch_reviews", "reviews", "product ids", "7320768158545159950")


def _err(message: str) -> None:
    typer.echo(message, err=True)


_MERGE_HELP = (
    "Merge JSON dumps (our archive, raw responses, curl-script and official-wrapper files) into "
    "one Parquet file per table, or with --dataset into hive Parquet datasets in bounded memory. "
    "Rows are de-duplicated on each table's key, keeping the most recently retrieved; every item "
    "skipped (a FIFO or device, a broken line, an error page, a gzip bomb...) is listed with its "
    "file and reason.\n\n"
    "Exit codes: 0 merged; 2 invalid input, nothing written (a path that does not exist, a "
    "pattern that matches no file, --out that is a file, --dataset that is a file or is not empty "
    "without --overwrite); 1 the tables could not be written (disk full, permission denied): the "
    "message names the path, and no half-written table is left in place.\n\n"
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
        bool, typer.Option("--overwrite", help="Replace the tables of an earlier --dataset merge.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="One line per file, not only per file skipped.")
    ] = False,
) -> None:
    """Merge JSON dumps (the help text is _MERGE_HELP)."""
    import logging

    # each skipped item is logged as it is met and listed in the summary: print it once
    logger = logging.getLogger("tiktok_research.merge")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        _merge(paths, out, dataset, overwrite, verbose)
    finally:
        logger.setLevel(level)


def _merge(
    paths: list[str], out: Path | None, dataset: Path | None, overwrite: bool, verbose: bool
) -> None:
    from .merge import merge_dumps, missing_inputs

    problems = missing_inputs(paths)
    if problems:
        _err("\n".join(f"error: {p}" for p in problems))
        raise typer.Exit(EXIT_INVALID)
    if out is not None and dataset is not None:
        _err("error: give --out (one file per table) or --dataset (Parquet datasets), not both")
        raise typer.Exit(EXIT_INVALID)
    folder = out if out is not None else Path("merged")
    if dataset is None and folder.exists() and not folder.is_dir():
        _err(f"error: --out {folder} is a file; give a folder (one Parquet file per table)")
        raise typer.Exit(EXIT_INVALID)
    try:
        try:
            result = merge_dumps(paths, dataset=dataset, overwrite=overwrite)
        except FileExistsError as exc:  # raised before anything is read or written
            _err(f"error: --dataset {exc}".replace("overwrite=True (--overwrite)", "--overwrite"))
            raise typer.Exit(EXIT_INVALID) from None
        if not result.report:
            _err(f"error: no file found in {', '.join(paths)}")
            raise typer.Exit(EXIT_INVALID)
        if dataset is None:
            _write_tables(result.tables, folder)
    except typer.Exit:
        raise
    except OSError as exc:
        where = exc.filename or dataset or folder
        _err(
            f"error: cannot write {where}: {exc.strerror or exc}. Nothing was replaced: free "
            "space (or fix the permissions) and run the same command again."
        )
        raise typer.Exit(EXIT_ERROR) from None
    except Exception as exc:  # never a traceback
        _err(f"error: unexpected {type(exc).__name__}: {exc} (please report it)")
        raise typer.Exit(EXIT_ERROR) from None
    typer.echo(result.summary(verbose=verbose))
    if dataset is None:
        typer.echo(f"wrote {len(result.tables)} table(s) to {folder}")


def _write_tables(tables: dict[str, Any], folder: Path) -> None:
    """One Parquet file per table, each written aside and renamed into place when complete."""
    import os

    from .io import write_parquet

    folder.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, Path]] = []
    try:
        for table, df in tables.items():
            tmp = folder / f".{table}.parquet.tmp"
            written.append((tmp, folder / f"{table}.parquet"))
            write_parquet(df, tmp, table=table)
        for tmp, final in written:
            os.replace(tmp, final)
    finally:
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)


TableArg = Annotated[
    Path,
    typer.Argument(
        metavar="TABLE",
        help="A table: .parquet, .csv, .jsonl, or a dataset folder.",
        show_default=False,
    ),
]


def _read_input_table(path: Path) -> "pl.DataFrame":
    if not _exists(path):
        raise InputError(f"{path}: no such file or folder")
    from . import io as tio

    try:
        return tio.read_table(path)
    except ValueError as e:
        raise InputError(str(e)) from None


def _need_column(df: "pl.DataFrame", column: str, path: Path, why: str) -> None:
    if column not in df.columns:
        raise InputError(
            f"{path} has no {column!r} column{why}; its columns are: {', '.join(df.columns)}. "
            "Pick one with --column"
        )


def _emit(values: "pl.Series", out: Path | None, what: str) -> None:
    from .select import write_lines

    if out is None:
        text = "\n".join(str(v) for v in values.to_list())
        if text:
            typer.echo(text)
    else:
        with _writing(out):
            write_lines(values, out)
        typer.echo(f"wrote {values.len():,} {what} to {out}", err=True)


def _check_lines_output(out: Path | None) -> None:
    if out is None:
        return
    if _exists(out) and out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name, e.g. {out / 'ids.txt'}")
    _check_writable_parent(out, "--out")


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
) -> None:
    """Video ids for a follow-up query, most commented first.

    The ids go to `tiktok-research comments` (or any command that takes video ids).

    \b
    Examples:
      tiktok-research select video-ids videos.parquet --min-comments 1 --top 200 --out ids.txt
      tiktok-research select video-ids comments.csv --column video_id
    """
    from .select import select_video_ids

    _check_lines_output(out)
    df = _read_input_table(table)
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
    _emit(ids, out, "ids")


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
) -> None:
    """Unique usernames, most active first, for user-info or follower queries.

    Works on videos, users, followers/following and liked/pinned/reposted tables (the comments
    table has no usernames: the API does not return comment authors).

    \b
    Examples:
      tiktok-research select usernames videos.parquet --top 100 --out names.txt
      tiktok-research select usernames followers.csv --column source_username
    """
    from .select import select_usernames

    _check_lines_output(out)
    df = _read_input_table(table)
    col = column or "username"
    why = " (a comments table has none: the API does not return comment authors)" if (
        column is None and "parent_comment_id" in df.columns
    ) else ""  # fmt: skip
    _need_column(df, col, table, why)
    try:
        names = select_usernames(df, top=top, column=col)
    except ValueError as e:
        raise InputError(str(e)) from None
    _emit(names, out, "usernames")


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
_SUMMARY_NEEDS = ("view_count", "like_count", "comment_count", "share_count")


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
            "--out", "-o", metavar="FILE", help="Also write the summary (.parquet, .csv, .jsonl)."
        ),
    ] = None,
) -> None:
    """Engagement summary of a videos table.

    \b
    Examples:
      tiktok-research summary videos.parquet --by hashtag
      tiktok-research summary data/videos --by week --out weekly.csv
    """
    if out is not None:
        _check_output(out)
    df = _read_input_table(table)
    missing = [c for c in _SUMMARY_NEEDS if c not in df.columns]
    key = {"day": "create_time", "week": "create_time", "month": "create_time",
           "hashtag": "hashtag_names", "region": "region_code", "creator": "username",
           "video_length": "video_duration", "music": "music_id"}[by.value]  # fmt: skip
    if key not in df.columns:
        missing.append(key)
    if missing:
        raise InputError(
            f"{table} is not a videos table (no {', '.join(missing)} column); its columns are: "
            f"{', '.join(df.columns)}"
        )
    import polars as pl

    from .analysis import summarize

    result = summarize(df, by=by.value)
    if out is not None:
        _write(result, out)
    shown = (
        result
        if wide
        else result.select(
            result.columns[0], "videos", *[c for c in result.columns if c in _SUMMARY_COLUMNS]
        )
    )
    # fit the terminal: short headers and numbers, no dtype row (the file keeps full precision);
    # columns that do not fit are left out (--wide shows them all)
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
    typer.echo(text)
    if short.width < shown.width:
        typer.echo(f"({shown.width - short.width} column(s) left out to fit; --wide shows them)")
    if result.height > top:
        typer.echo(f"({top} of {result.height:,} rows; --top N shows more, --out FILE keeps all)")


# ----------------------------------------------------------- keeping data compliant and current

IdsArg = Annotated[
    list[str] | None,
    typer.Argument(metavar="IDS", help="Ids (or --from-file, or stdin).", show_default=False),
]


def not_found_path(out: Path) -> Path:
    """Where ``hydrate`` lists the ids it did not find: beside ``out``, ``<name>_not_found.txt``."""
    return out.with_name(f"{out.stem}_not_found.txt")


def removed_path(target: Path) -> Path:
    """Where ``refresh`` lists the ids found gone: beside ``target``, ``<name>_removed.txt``."""
    return target.with_name(f"{target.stem if target.suffix else target.name}_removed.txt")


def _list_ids(ids: list[int], side: Path, what: str) -> None:
    """Print ``ids`` (the first 20) and write them all to ``side``; remove a stale ``side``."""
    from .select import write_lines

    if not ids:
        if side.is_file():
            side.unlink()  # it listed the ids of an earlier run of this output
        return
    with _writing(side):
        write_lines(ids, side)
    typer.echo(f"{len(ids):,} id(s) {what} (all of them in {side}):")
    for i in ids[:20]:
        typer.echo(f"  {i}")
    if len(ids) > 20:
        typer.echo(f"  ... and {len(ids) - 20} more")


@app.command()
def hydrate(
    items: IdsArg = None,
    from_file: FromFileOpt = None,
    out: OutOpt = None,
    fields: FieldsOpt = None,
    batch_size: Annotated[
        int,
        typer.Option(
            metavar="N",
            help="Ids per request, 1 to 100. The service's limit on the values of an IN "
            "condition is undocumented; 100 (a page) is the safe choice.",
        ),
    ] = 100,
    archive: ArchiveOpt = Path("tiktok-archive"),
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
    target = _check_output(out or Path("videos.parquet"))
    _check_folder(archive, "--archive")
    values = _read_items(items, from_file)
    from .plan import plan_video_ids

    planner = _client(True, None) if sandbox and dry_run else None
    # every id is checked before a client (and its credentials) is needed
    plan = plan_video_ids(
        values, fields=fields, batch_size=batch_size, client=planner, warn=dry_run, func="hydrate"
    )
    if dry_run:  # a plan needs no credentials and sends nothing
        typer.echo(str(plan))
        return
    from .fetch import fetch_videos_by_id

    with _collecting(archive):
        result = fetch_videos_by_id(
            values,
            fields=fields,
            batch_size=batch_size,
            client=_client(sandbox, max_requests),
            archive=archive,
            resume=resume,
            progress=progress,
        )
    _list_ids(result.report.not_found, not_found_path(target), "not found (deleted or private?)")
    _finish(result, target, "videos")


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
            help="Output file, a row per id with valid true/false: .parquet, .csv or .jsonl "
            "(default: compliance.parquet).",
        ),
    ] = None,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed", help="Upload again the ids of tasks the service reported Failed."
        ),
    ] = False,
    archive: ArchiveOpt = Path("tiktok-archive"),
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
    already uploaded is not uploaded again.

    \b
    Examples:
      tiktok-research compliance --from-file ids.txt --out valid.csv
      tiktok-research select video-ids videos.parquet | tiktok-research compliance --sandbox
    """
    target = _check_output(out or Path("compliance.parquet"))
    _check_folder(archive, "--archive")
    values = _read_items(items, from_file)
    from .plan import plan_compliance

    planner = _client(True, None) if sandbox and dry_run else None
    plan = plan_compliance(values, category.value, client=planner, warn=dry_run)
    if dry_run:  # a plan needs no credentials and sends nothing
        typer.echo(str(plan))
        return
    from .fetch import check_compliance

    with _collecting(archive):
        result = check_compliance(
            values,
            category.value,
            client=_client(sandbox, max_requests),
            archive=archive,
            resume=resume,
            progress=progress,
            retry_failed=retry_failed,
        )
    valid = result.get_column("valid")
    n_valid, n_gone = int(valid.sum()), int((~valid).sum())
    unknown = valid.null_count()
    gone = (
        f"{n_gone:,} are gone (deleted or made private: drop them from your data, as the terms "
        "of the Research API ask)"
        if n_gone
        else "none is gone"
    )
    later = f"; {unknown:,} not checked yet (run the same command again)" if unknown else ""
    typer.echo(
        f"{n_valid:,} of the {valid.len():,} {category.value} id(s) are still valid; {gone}{later}"
    )
    _finish(result, target, None)


def _quiet_read(path: Path) -> "pl.DataFrame":
    """A table to refresh, read without the warning about ``retrieved_at``: that column, which a
    refresh adds, is not in the videos schema, and it is replaced anyway."""
    from .schemas import UnknownColumnWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "(?s).*retrieved_at", UnknownColumnWarning)
        return _read_input_table(path)


def _replace_file(df: "pl.DataFrame", path: Path) -> None:
    """Rewrite ``path`` with ``df`` (same format) safely: a new file beside it, then a rename."""
    staging = path.with_name(f".{path.stem}.refresh-{os.getpid()}{path.suffix}")
    try:
        _write(df, staging)
        with _writing(path):
            os.replace(staging, path)
    finally:
        if staging.exists():
            staging.unlink()


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
            help="Write the refreshed table to FILE (.parquet, .csv or .jsonl) and leave TABLE "
            "as it is. Default: TABLE itself is rewritten, once the refresh is complete.",
        ),
    ] = None,
    keep_removed: Annotated[
        bool,
        typer.Option(
            "--keep-removed",
            help="Keep deleted and private videos, with their old values (the terms of the "
            "Research API ask you to drop them).",
        ),
    ] = False,
    fields: FieldsOpt = None,
    archive: ArchiveOpt = Path("tiktok-archive"),
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
    if out is not None:
        _check_output(out)
    _check_folder(archive, "--archive")
    df = _quiet_read(table)  # it exists, and it is a table
    if "id" not in df.columns:
        raise InputError(
            f"{table} has no 'id' column: refresh takes a videos table; its columns are: "
            f"{', '.join(df.columns)}"
        )
    if out is not None:
        target = out
    elif table.is_dir():
        target = _check_folder(table, "TABLE")
        _check_writable_parent(table.parent / ".new", "TABLE")  # the new folder goes beside it
    else:
        target = _check_output(table, "TABLE")  # rewritten in its own format
    in_place_dataset = out is None and table.is_dir()
    from .plan import plan_compliance, plan_video_ids

    if dry_run:  # plans need no credentials and send nothing
        planner = _client(True, None) if sandbox else None
        checks = plan_compliance(df, "video", client=planner)
        looks = plan_video_ids(df, fields=fields, client=planner, func="refresh")
        typer.echo(f"refresh of {table}: {df.height:,} rows, {len(checks.tasks)} task(s)")
        typer.echo("1. " + str(checks))
        typer.echo("2. the videos still valid, by id (at most):\n" + str(looks))
        typer.echo(
            f"in all: at least {checks.min_requests:,} request(s), at most about "
            f"{checks.min_requests + looks.min_requests:,} plus the status checks"
        )
        return
    from .maintain import refresh_videos

    with _collecting(archive):
        result = refresh_videos(
            table if in_place_dataset else df,
            drop_removed=not keep_removed,
            fields=fields,
            client=_client(sandbox, max_requests),
            archive=archive,
            resume=resume,
            progress=progress,
        )
    report = result.report
    typer.echo(str(report))
    code = _exit_code(report, result.failures)
    if not report.complete:
        typer.echo(
            f"incomplete: {target} was not written; run the same command again to continue "
            "(what is held in the archive is not asked for again)",
            err=True,
        )
        raise typer.Exit(code)
    removed = getattr(report, "removed", [])
    _list_ids(removed, removed_path(target), "gone (deleted or made private)")
    if in_place_dataset:
        typer.echo(f"rewrote the dataset {target}: {result.height:,} videos")
    elif out is None:
        _replace_file(result, target)
        typer.echo(f"rewrote {target}: {result.height:,} videos")
    else:
        _write(result, target)
        typer.echo(f"wrote {result.height:,} videos to {target}")
    if code != EXIT_OK:
        raise typer.Exit(code)


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
    archive: ArchiveOpt = Path("tiktok-archive"),
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Append the days since the last run to a monitoring dataset.

    Each run collects from the day after the last one in DATASET up to the newest day the service
    has indexed in full (three days ago: it indexes within 48 hours), and adds the videos as new
    files. Run it every day or every week with the same query; a run with nothing new costs
    nothing. DATASET remembers its query (in _tiktok_research_update.json) and refuses another.

    \b
    Examples:
      tiktok-research update data/climate --hashtag climate --start 2025-01-01
      tiktok-research update data/climate --hashtag climate --dry-run
    """
    _check_folder(dataset, "DATASET")
    _check_folder(archive, "--archive")
    q = _build_query(query, hashtag, keyword, region, username)
    from .maintain import UPDATE_STATE, update_range, update_videos

    state = dataset / UPDATE_STATE
    if start is None and not state.is_file() and not any(dataset.rglob("*.parquet")):
        raise InputError(f"{dataset} holds no videos yet: give --start DATE for the first run")
    first, last = update_range(q, dataset, start)  # checks the dataset, its query and --start
    if start is not None and state.is_file():
        typer.echo(f"note: --start is for the first run only; {dataset} continues from {first}")
    if dry_run:  # a plan needs no credentials and sends nothing
        planner = _client(True, None) if sandbox else None
        first, last = update_range(q, dataset, start, now=planner.now() if planner else None)
        if first > last:
            typer.echo(f"nothing new: {dataset} holds every day up to {first - timedelta(days=1)}")
            return
        from .plan import plan_videos

        typer.echo(str(plan_videos(q, first, last, fields=fields, client=planner, warn=False)))
        return
    client = _client(sandbox, max_requests)
    first, last = update_range(q, dataset, start, now=client.now())  # on the service's clock
    with _collecting(archive):
        result = update_videos(
            q,
            dataset,
            start,
            fields=fields,
            client=client,
            archive=archive,
            progress=progress,
        )
    report = result.report
    typer.echo(str(report))
    code = _exit_code(report, result.failures)
    if code == EXIT_INCOMPLETE:
        typer.echo(
            f"incomplete: nothing was added to {dataset}; run the same command again to continue "
            "(what is held in the archive is not asked for again)",
            err=True,
        )
    elif report.complete and result.height:
        typer.echo(f"added {result.height:,} videos ({first} .. {last}) to {dataset}")
    if code != EXIT_OK:
        raise typer.Exit(code)


@app.command()
def quota(
    sandbox: SandboxOpt = False,
) -> None:
    """Requests used and left today (UTC), from the local ledger.

    The ledger counts the requests sent from this machine with your client key.

    \b
    Example:
      tiktok-research quota
    """
    client = _client(sandbox, None)
    typer.echo(str(client.quota))


@sandbox_app.command("serve")
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).", min=0, max=65535)] = 8000,
    seed: Annotated[int, typer.Option(help="Corpus seed.")] = 0,
    n_videos: Annotated[
        int | None, typer.Option(help="Corpus size in videos (default 20,000).")
    ] = None,
    n_users: Annotated[
        int | None, typer.Option(help="Accounts that post videos (default n-videos / 10).")
    ] = None,
    clock: Annotated[
        str | None,
        typer.Option(
            help="Start time of the sandbox clock, e.g. 2025-01-15T12:00:00Z (default: now); "
            "it then runs from there. POST /_sandbox/advance moves it forward."
        ),
    ] = None,
    faults: Annotated[
        list[str] | None,
        typer.Option(
            help="Fault rates, e.g. internal_error=0.05,gateway_timeout=0.02,"
            "search_id_invalid=0.02,rate_limit=0.01 (kinds: "
            "internal_error, gateway_timeout, search_id_invalid, cursor_invalid, rate_limit, "
            "empty_page, error_with_valid_body, nul_usernames, missing_counts, task_failed), "
            "or a fault "
            "script file (one kind per line). Repeatable."
        ),
    ] = None,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault draws.")] = 0,
    token_ttl: Annotated[int, typer.Option(help="Lifetime of an access token, seconds.")] = 7200,
    daily_quota: Annotated[
        int | None, typer.Option(help="Research requests per client and UTC day (default 1,000).")
    ] = None,
    social_quota: Annotated[
        int | None,
        typer.Option(help="Followers/following requests per client and UTC day (default 20,000)."),
    ] = None,
    quota_error: Annotated[
        str,
        typer.Option(
            help="error.code of a quota stop: daily_quota_limit_exceeded or rate_limit_exceeded."
        ),
    ] = "daily_quota_limit_exceeded",
    expired_search_id: Annotated[
        str,
        typer.Option(
            help="A later page with an expired search_id: 'error' (400 Search Id N is invalid or "
            "expired) or 'reissue' (answered under a new search_id)."
        ),
    ] = "error",
    search_id_ttl: Annotated[int, typer.Option(help="Lifetime of a search_id, seconds.")] = 7200,
    rate_limit_qps: Annotated[
        float | None, typer.Option(help="Answer 429 above this many requests per second.")
    ] = None,
    latency: Annotated[float | None, typer.Option(help="Seconds added to every answer.")] = None,
    index_lag_hours: Annotated[
        float, typer.Option(help="Videos newer than this are not searchable yet.")
    ] = 48.0,
    removal_rate: Annotated[
        float | None,
        typer.Option(
            help="Share of videos and comments deleted or made private per sandbox day "
            "(default 0: the corpus never changes; 0.002 is about 6 % a month)."
        ),
    ] = None,
    count_growth: Annotated[
        float | None,
        typer.Option(help="How fast counts grow with sandbox days (default 0: frozen; try 1)."),
    ] = None,
    validation_processing: Annotated[
        float | None,
        typer.Option(help="Seconds a compliance task stays Processing (sandbox clock; 30)."),
    ] = None,
) -> None:
    """Run the sandbox as an HTTP server; point TIKTOK_RESEARCH_BASE_URL at the URL it prints.

    Credentials: client key "sandbox", client secret "sandbox". From the same machine,
    GET /_sandbox/stats counts the requests that reached it and POST /_sandbox/advance with
    {"days": 1} moves its clock.

    \b
    Example:
      tiktok-research sandbox serve --port 8000
    """
    from .sandbox import serve
    from .sandbox._options import serve_config

    try:
        config, script = serve_config(
            seed=seed, n_videos=n_videos, n_users=n_users, latency=latency,
            rate_limit_qps=rate_limit_qps, search_id_ttl=search_id_ttl,
            daily_quota=daily_quota, social_quota=social_quota, token_ttl=token_ttl,
            quota_error=quota_error, expired_search_id=expired_search_id, faults=faults or [],
            fault_seed=fault_seed, clock=clock, index_lag_hours=index_lag_hours,
            removal_rate=removal_rate, count_growth=count_growth,
            validation_processing=validation_processing,
        )  # fmt: skip
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    try:
        serve(host=host, port=port, config=config, fault_script=script)
    except OSError as exc:
        typer.echo(
            f"error: the sandbox cannot serve on {host}:{port} ({exc}); try another --port",
            err=True,
        )
        raise typer.Exit(EXIT_INVALID) from None


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Folder for the demo's output.")
    ] = Path("demo-output"),
) -> None:
    """The end-to-end demo on the offline sandbox.

    Videos, comments, users, Parquet tables, an engagement summary and plots, in one folder.

    \b
    Example:
      tiktok-research demo --out demo-output
    """
    _check_folder(out, "--out")
    from .demo import run_demo

    with _writing(out):
        run_demo(out, echo=typer.echo)


def main() -> None:
    """Entry point of the ``tiktok-research`` command."""
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C before a command started (while parsing, say)
        typer.echo(_describe(KeyboardInterrupt())[1], err=True)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
