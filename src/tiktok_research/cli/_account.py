"""Commands about the account and its credentials: ``configure`` (save the client key and secret)
and ``quota`` (requests used and left today).

The credentials file is the library's (:mod:`tiktok_research._config` writes and reads it;
:func:`tiktok_research._auth.resolve_credentials` decides the order of the sources): ``configure``
asks for the values and calls it.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from . import _run
from ._app import app
from ._errors import InputError
from ._options import SandboxOpt

_CONFIGURE_HELP = """Save your client key and secret, so that every command (and tr.Client() in
Python) finds them.

The secret is asked for without echo (on a terminal) or read from standard input (one line;
the key first unless --client-key gives it), never from the command line. The file is written
in your user config folder (or in FILE with the root option --config FILE), readable by you
only (mode 0600), replacing the one there.

Where the credentials of a command come from, the first found wins: --config FILE; the
environment variables TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET; the file configure writes.
--show says which one a command would use now. The credentials are first checked by the service
at the first request of a command.

\b
Examples:
  tiktok-research configure
  printf '%s\\n' "$SECRET" | tiktok-research configure --client-key abc123
  tiktok-research --config lab.toml configure
  tiktok-research configure --show
"""


def _read_line(what: str) -> str:
    line = sys.stdin.readline()
    if not line:
        raise InputError(f"no {what} on standard input (one line each: the key, then the secret)")
    return line.rstrip("\r\n")


@app.command(help=_CONFIGURE_HELP)
def configure(
    client_key: Annotated[
        str | None,
        typer.Option(
            "--client-key", metavar="KEY", help="The client key (default: asked for, or read)."
        ),
    ] = None,
    show: Annotated[
        bool,
        typer.Option(
            "--show",
            help="Say where the credentials of a command come from now (never the secret); "
            "change nothing.",
        ),
    ] = False,
) -> None:
    """Save the client key and secret (the help text is _CONFIGURE_HELP)."""
    from .._auth import ENV_KEY, ENV_SECRET, resolve_credentials
    from .._config import check_value, config_path, read_credentials, write_credentials
    from ..errors import InvalidRequestError

    target = _run.ROOT.config or config_path()
    if show:
        found = resolve_credentials(config=_run.ROOT.config)
        typer.echo(f"client key {found.client_key} and its secret, from {found.source}")
        return
    current: dict[str, str] = {}
    if target.is_file():
        try:
            current = read_credentials(target)
        except InvalidRequestError:  # a damaged file is replaced: nothing of it is shown
            current = {}
    interactive = sys.stdin.isatty()
    if client_key is None:
        if interactive:
            client_key = typer.prompt("Client key", default=current.get("client_key"))
        else:
            client_key = _read_line("client key")
    key = check_value("client key", client_key.strip())  # InvalidRequestError: exit 2
    if interactive:
        secret = typer.prompt("Client secret (not shown)", hide_input=True)
    else:
        secret = _read_line("client secret")
    secret = check_value("client secret", secret.strip())
    path = write_credentials(key, secret, target)
    typer.echo(f"saved client key {key} and its secret to {path} (readable by you only)")
    if _run.ROOT.config is not None:
        typer.echo(f"commands use it with: tiktok-research --config {path} COMMAND")
    elif os.environ.get(ENV_KEY) or os.environ.get(ENV_SECRET):
        typer.echo(
            f"note: {ENV_KEY} / {ENV_SECRET} are set in this environment, and come before this "
            "file: unset them to use it",
            err=True,
        )


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
    typer.echo(str(_run.client(sandbox, None).quota))
