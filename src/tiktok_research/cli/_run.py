"""Running a collection from the command line: the client, the archive around the run, and the
table, the failures and the exit code it ends with.

:func:`client` is the one place a command gets its client (credentials as the library finds them,
with the root option ``--config FILE`` first: :data:`ROOT`; or the built-in sandbox with
``--sandbox``); :func:`planner` the client a plan is made with before
any credentials are needed; :func:`collecting` wraps a run; :func:`finish` writes its table and
failures and turns its report into the exit code (:func:`exit_code`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from . import _log
from ._errors import EXIT_AUTH, EXIT_INCOMPLETE, EXIT_OK, EXIT_SERVER
from ._output import failures_path, write_table, writing

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
        made = Client(max_requests=max_requests, config=ROOT.config)
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


def show_report(report: object) -> None:
    """Print a run's report, and keep it in the ``--log`` file."""
    text = str(report)
    typer.echo(text)
    _log.file_only(logging.INFO, text)


def finish(result: FetchResult, out: Path, table: str | None) -> None:
    """Write a collection's table to ``out`` and its failures beside it, print the report, and
    end with the exit code of the run."""
    target = write_table(result, out, table=table)
    show_report(result.report)
    failures = result.failures
    side = failures_path(out)
    if failures.height:
        write_table(failures, side)
        typer.echo(f"{failures.height} item(s) failed (all of them in {side}):")
        for row in failures.head(20).iter_rows(named=True):
            typer.echo(f"  {row['item']}: {row['code']}: {row['message']} (log_id {row['log_id']})")
        if failures.height > 20:
            typer.echo(f"  ... and {failures.height - 20} more")
    elif side.is_file():
        side.unlink()  # it listed the failures of an earlier run of this output, all done now
    typer.echo(f"wrote {result.height:,} rows to {target}")
    code = exit_code(result.report, result.failures)
    if code == EXIT_INCOMPLETE:
        typer.echo(
            "incomplete: run the same command again to continue (pages already collected are "
            "not asked for again)",
            err=True,
        )
    stop_unless_ok(code)
