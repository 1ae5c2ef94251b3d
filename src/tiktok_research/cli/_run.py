"""Running a collection from the command line: the client, the archive around the run, and the
table, the failures and the exit code it ends with.

:func:`client` is the one place a command gets its client (credentials as the library finds them,
with the root option ``--config FILE`` first: :data:`ROOT`; or the built-in sandbox with
``--sandbox``); :func:`planner` the client a plan is made with before any credentials are needed,
:func:`day_planner` that of a plan that asks the service's day; :func:`collecting` wraps a run;
:func:`finish` writes its table and failures and turns its report into the exit code
(:func:`exit_code`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from . import _log
from ._errors import EXIT_AUTH, EXIT_INCOMPLETE, EXIT_OK, EXIT_SERVER, CommandError
from ._output import Output, failures_path, write_table, writing

if TYPE_CHECKING:
    import polars as pl

    from ..client import Client
    from ..collect import CollectionReport, FetchResult


@dataclass
class RootOptions:
    """The root options a command's client needs, set by the root callback for one command."""

    config: Path | None = None
    verbose: bool = False
    argv: list[str] = field(default_factory=list)

    def reset(self) -> None:
        """Forget them (the command ended)."""
        self.config = None
        self.verbose = False
        self.argv = []


ROOT = RootOptions()


def missing_credentials(config: Path | None) -> str:
    """The command line's missing-credentials message, said once: the sandbox first (what a
    new user can do now), then the real service's environment variables, then the credentials
    file (``--config FILE``, else the one ``configure`` writes) and which of them were looked at.
    """
    from .._auth import ENV_KEY, ENV_SECRET, credential_sources

    sources = credential_sources(config=config)
    if config is not None:
        saved = f"or save them in {config} with `tiktok-research --config {config} configure`"
    else:
        saved = (
            f"or save them once with `tiktok-research configure` (in {sources.default_file}, "
            f"{sources.default_state})"
        )
    return (
        f"no credentials: {sources.what_is_missing()}. To try the command offline, add --sandbox "
        "(or set TIKTOK_RESEARCH_SANDBOX=1). For the real service, give your project's client "
        f"key and secret: export {ENV_KEY}=... {ENV_SECRET}=...; {saved}."
    )


def client(sandbox: bool, max_requests: int | None) -> Client:
    """The client of a run: the credentials as the library finds them (``--config FILE`` first),
    or the built-in sandbox (``--sandbox``).

    Its HTTP connections are closed when the command ends (:func:`close_clients`, called by the
    root group), also when the command runs inside a Python process (a notebook, a test).
    """
    from ..client import Client

    if sandbox:
        from ..sandbox import Sandbox

        sb = Sandbox()
        # The built-in sandbox lives as long as the command: a wait (a compliance task still
        # Processing, a retry) moves its clock on instead of holding the terminal.
        made = Client.sandbox(
            sb, max_requests=max_requests, sleep=lambda s: sb.advance(timedelta(seconds=s))
        )
    else:
        from ..errors import AuthenticationError

        try:
            made = Client(max_requests=max_requests, config=ROOT.config)
        except AuthenticationError:  # only missing credentials are found before any request
            raise CommandError(missing_credentials(ROOT.config), EXIT_AUTH) from None
    _OPEN_CLIENTS.append(made)
    return made


#: The clients the running command opened.
_OPEN_CLIENTS: list[Client] = []


def close_clients() -> None:
    """Close the clients the command opened (the root group calls it when a command ends)."""
    while _OPEN_CLIENTS:
        _OPEN_CLIENTS.pop().close()


def planner(sandbox: bool) -> Client | None:
    """The client to plan with: the built-in sandbox's (its clock), or None (no credentials are
    needed to plan, so every check of the input runs before they are)."""
    return client(True, None) if sandbox else None


def day_planner(sandbox: bool) -> Client | None:
    """The client a plan that needs the service's day is made with (``update --dry-run``): the
    built-in sandbox's (its clock), else one with the credentials, when there are any (the plan
    sends its token request, free of quota, whose answer says the service's day), else None
    (the plan is made on this machine's clock, and says so). Building it sends nothing, and
    missing credentials are no error: every check of the input runs before a request."""
    if sandbox:
        return client(True, None)
    try:
        return client(False, None)
    except CommandError:  # no credentials
        return None


@contextmanager
def collecting(archive: Path) -> Iterator[None]:
    """Around a collection: a full disk names the archive, and the report (with the exit code
    and a line saying to run again) replaces the Python warning about an incomplete run."""
    from ..collect import IncompleteCollectionWarning

    with writing(archive), warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteCollectionWarning)
        yield


def exit_code(report: CollectionReport, failures: pl.DataFrame | None = None) -> int:
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


def stop_unless_ok(code: int) -> None:
    """End the command with ``code`` unless it is 0."""
    if code != EXIT_OK:
        raise typer.Exit(code)


def show_report(report: object, out: Output | None = None) -> None:
    """Print a run's report (through ``out``: on standard error when the table goes to standard
    output), and keep it in the ``--log`` file."""
    text = str(report)
    if out is not None:
        out.echo(text)
    else:
        _log.say(text)


def echo_verdict(folder: Path | None, *, err: bool = False) -> None:
    """Print the one-line quality verdict of a collection folder (nothing when unreadable); on
    standard error with ``err`` (when the table goes to standard output); and keep it in the
    ``--log`` file, like the report."""
    from ._quality import verdict_line

    line = verdict_line(folder)
    if line:
        _log.say(line, err=err)


def finish(
    result: FetchResult,
    out: Output,
    table: str | None,
    *,
    written: Callable[[], None] | None = None,
) -> None:
    """Write a collection's table to ``out`` and its failures beside it, print the report, and
    end with the exit code of the run. With ``--out -`` the table goes to standard output and
    every message to standard error. ``written`` is called once the table is written (or left
    in place: an empty result keeps an earlier table)."""
    written_to = write_table(result, out, table=table)
    if written is not None:
        written()
    show_report(result.report, out)
    failures = result.failures
    side = failures_path(written_to.path) if written_to is not None and written_to.path else None
    if failures.height:
        if side is not None:
            # the failures file belongs to its output: rewritten by each run of it
            write_table(failures, Output(side, overwrite=True, excel=out.excel, claimed=True))
            out.echo(f"{failures.height} item(s) failed (all of them in {side}):")
        else:
            out.echo(f"{failures.height} item(s) failed:")
        shown = failures if side is None else failures.head(20)
        for row in shown.iter_rows(named=True):
            said = f" (log_id {row['log_id']})" if row["log_id"] else ""  # none: never answered
            out.echo(f"  {row['item']}: {row['code']}: {row['message']}{said}")
        if failures.height > shown.height:
            out.echo(f"  ... and {failures.height - shown.height} more")
    elif side is not None and side.is_file():
        side.unlink()  # it listed the failures of an earlier run of this output, all done now
    if written_to is not None:
        out.echo(f"wrote {result.height:,} rows to {written_to}")
    echo_verdict(result.report.archive, err=out.to_stdout)
    code = exit_code(result.report, result.failures)
    if code == EXIT_INCOMPLETE:
        _log.say(
            "incomplete: run the same command again to continue (pages already collected are "
            "not asked for again)",
            err=True,
        )
    stop_unless_ok(code)
