"""The ``tiktok-research`` application: its root options, the error boundary and ``main``.

Every command runs inside :class:`Group`, the one place where an exception becomes a one-line
message and its exit code (:func:`tiktok_research.cli._errors.describe`); nothing else catches
errors, and no command ever shows a Python traceback unless ``--debug`` (or
``TIKTOK_RESEARCH_DEBUG=1``) asks for it. :func:`main` is the one place that handles a signal
that arrives outside a command (Ctrl-C while the arguments are parsed), and where SIGTERM is
handled like Ctrl-C for the whole command (exit 143). Options that every command shares are the
root options of :func:`_root`: ``--config FILE`` (the credentials file, read by the library),
``--verbose``, ``--log FILE`` (the handlers of :mod:`tiktok_research.cli._log`), ``--debug`` and
``--version``.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import traceback
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .._signals import sigterm_as_interrupt
from ..errors import MissingDependencyError
from . import _log, _run
from ._errors import (
    DEBUG_ENV,
    EXIT_ERROR,
    CommandError,
    InputError,
    describe,
)
from ._run import close_clients

# recent typer versions vendor click: find its ClickException without a private import
_CLICK_EXCEPTION: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)
_PASS_THROUGH = (typer.Exit, typer.Abort, _CLICK_EXCEPTION, BrokenPipeError)


def _debug_requested(ctx: Any) -> bool:
    flag = bool(ctx.find_root().params.get("debug"))
    return flag or os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _format_warning(
    message: Warning | str, category: type[Warning], *args: object, **kwargs: object
) -> str:
    return f"warning: {message}\n"


class Group(TyperGroup):
    """The root command group: turns every exception of every command into a message and a code."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        # the command line as given (``--log`` keeps it); sys.argv is another program's in tests
        _run.ROOT.argv = list(args)
        return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        try:
            with warnings.catch_warnings():
                # a warning is one line for a terminal user, not a file name and a source line
                # (the root callback then routes warnings to the log: _log.install)
                warnings.formatwarning = _format_warning
                result = super().invoke(ctx)
            _log.file_only(logging.INFO, "exit code 0")
            return result
        except typer.Exit as exc:
            _log.file_only(logging.INFO, f"exit code {exc.exit_code}")
            raise
        except _PASS_THROUGH:
            raise
        except BaseException as exc:  # a Rust panic in polars is a BaseException
            if isinstance(exc, (SystemExit, GeneratorExit)):
                raise
            code, message = describe(exc)
            debug = _debug_requested(ctx)
            if debug:
                traceback.print_exception(exc)
            typer.echo(message, err=True)
            # the log's own level word says "error:" already
            logged = message.removeprefix("error: ")
            _log.file_only(logging.ERROR, logged, exc=exc if debug else None)
            # a missing extra's message says what to install: its traceback helps nobody
            if (
                code == EXIT_ERROR
                and not debug
                and not isinstance(exc, (CommandError, MissingDependencyError))
            ):
                typer.echo(
                    f"(run again with --debug, or {DEBUG_ENV}=1, to see the traceback)", err=True
                )
            _log.file_only(logging.INFO, f"exit code {code}")
            raise typer.Exit(code) from None
        finally:
            close_clients()


HELP = """Collect TikTok Research API data into Parquet, CSV or JSON Lines.

Credentials: run `tiktok-research configure` once (it saves them in your user config folder), or
set TIKTOK_CLIENT_KEY / TIKTOK_CLIENT_SECRET (they come before the saved file; --config FILE comes
before both). TIKTOK_RESEARCH_BASE_URL points at another server (e.g. `tiktok-research sandbox
serve`). Add --sandbox to any collection command to use the built-in offline sandbox instead (no
credentials).

Every collection command checks its input (query, items, output file) before the first request,
keeps every page in the raw archive (--archive, default tiktok-archive/) and continues an
interrupted run when it is run again.

\b
Examples:
  tiktok-research configure
  tiktok-research videos --sandbox --hashtag climate --region US --start 2024-01-01 --end 2024-03-31 --out videos.parquet
  tiktok-research select video-ids videos.parquet --min-comments 1 --out ids.txt
  tiktok-research comments --sandbox --from-file ids.txt --out comments.parquet
  tiktok-research refresh videos.parquet
  tiktok-research --verbose --log run.log videos --hashtag climate --start 2024-01-01 --end 2024-01-31 --out january.parquet
  tiktok-research dehydrate videos.parquet --out shared_ids.txt
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
  143  stopped by SIGTERM (timeout, docker stop, systemd, Slurm, Kubernetes): run the same
       command again to continue
"""  # noqa: E501

app = typer.Typer(
    name="tiktok-research",
    cls=Group,
    help=HELP,
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"max_content_width": 100},
)
# The command groups (their commands live in _sandbox.py and _tables.py).
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


def _version_text() -> str:
    from .._version import __version__

    return __version__


def _version(value: bool) -> None:
    if value:
        _log.echo(f"tiktok-research {_version_text()}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="Read the client key and secret from FILE (as `configure` writes it), before "
            "the environment; `configure` writes FILE. Default: the file `configure` writes in "
            "your user config folder, after the environment.",
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Also show INFO log lines (a token refreshed, pages answered from the archive, "
            "every file a merge reads); warnings always show, time-stamped.",
        ),
    ] = False,
    log_file: Annotated[
        Path | None,
        typer.Option(
            "--log",
            metavar="FILE",
            help="Append every log line (INFO and up; DEBUG with --debug), the command line, "
            "the error and the exit code to FILE, time-stamped (UTC).",
        ),
    ] = None,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help=f"Show the Python traceback of an error, and DEBUG log lines (or {DEBUG_ENV}=1).",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """The root options (the help text is HELP): the credentials file, logging, debugging."""
    _run.ROOT.config = config
    _run.ROOT.verbose = verbose
    ctx.call_on_close(_run.ROOT.reset)
    handler = None
    if log_file is not None:
        try:
            handler = _log.open_log(log_file)
        except OSError as e:
            raise InputError(f"--log {log_file}: {e.strerror or e}") from None
    ctx.call_on_close(_log.install(verbose=verbose, debug=_debug_requested(ctx), log_file=handler))
    args = " ".join(shlex.quote(a) for a in _run.ROOT.argv)
    _log.file_only(logging.INFO, f"tiktok-research {_version_text()}: {args}")


def main() -> None:
    """Entry point of the ``tiktok-research`` command.

    SIGTERM is handled like Ctrl-C for the whole command (:mod:`tiktok_research._signals`): the
    requests in flight end and are archived, the run stops cleanly and exits with 143.
    """
    try:
        with sigterm_as_interrupt():
            app()
    except KeyboardInterrupt as e:  # a signal before a command started (while parsing, say)
        code, message = describe(e)
        typer.echo(message, err=True)
        sys.exit(code)
