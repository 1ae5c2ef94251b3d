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

from . import _log, _run
from ._app import app
from ._errors import EXIT_AUTH, CommandError, InputError
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
    from ..errors import AuthenticationError, InvalidRequestError

    target = _run.ROOT.config or config_path()
    if show:
        try:
            found = resolve_credentials(config=_run.ROOT.config)
        except AuthenticationError:  # the command line's message, as every command gives it
            raise CommandError(_run.missing_credentials(_run.ROOT.config), EXIT_AUTH) from None
        _log.echo(f"client key {found.client_key} and its secret, from {found.source}")
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
    existed = target.is_file()
    path = write_credentials(key, secret, target)
    replaced = "; they replace the ones saved there before" if existed else ""
    _log.echo(f"saved client key {key} and its secret to {path} (readable by you only{replaced})")
    if _run.ROOT.config is not None:
        _log.echo(f"commands use it with: tiktok-research --config {path} COMMAND")
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
    """Requests used and left today (UTC, on the service's clock), from the local ledger.

    The ledger counts the requests sent from this machine to one service with one client key;
    no credentials are needed to read it (with TIKTOK_CLIENT_KEY set, that key's ledger; without,
    every key's). The quota is shared by your organisation: other machines' requests are not in
    it, but a quota stop the service announced is. With --sandbox and TIKTOK_RESEARCH_BASE_URL
    pointing at a served sandbox (tiktok-research sandbox serve), that server's own figures.

    \b
    Examples:
      tiktok-research quota
      tiktok-research quota --sandbox
    """
    import os

    from ..client import ENV_BASE_URL, local_quota

    if sandbox:
        served = os.environ.get(ENV_BASE_URL)
        if served:
            _log.echo(_served_quota(served, os.environ.get("TIKTOK_CLIENT_KEY") or "sandbox"))
            return
        _log.echo(str(_run.client(True, None).quota) + " (a fresh built-in sandbox)")
        return
    for ledger, status in local_quota():
        where = f" [{ledger.service or 'service'}]" if ledger is not None else ""
        _log.echo(str(status) + where)


def _served_quota(base_url: str, key: str) -> str:
    """The quota figures of a served sandbox, from its ``/_sandbox/stats``."""
    import httpx

    from ._errors import EXIT_SERVER, CommandError

    url = base_url.rstrip("/") + "/_sandbox/stats"
    try:
        stats = httpx.get(url, timeout=10.0).json()
        left = stats["quota_remaining"].get(key)
    except (httpx.HTTPError, ValueError, KeyError, AttributeError) as e:
        raise CommandError(
            f"{url} did not answer as a served sandbox does ({type(e).__name__}); is "
            "`tiktok-research sandbox serve` running there?",
            EXIT_SERVER,
        ) from None
    from .._endpoints import DAILY_QUOTA

    limits = {str(k): v for k, v in DAILY_QUOTA.items()}
    if left is None:  # this key has sent nothing to the server yet
        left = {}
    parts = [f"{fam}: {left.get(fam, limits.get(fam, 0)):,} left" for fam in (left or limits)]
    counted = stats.get("counted", {}).get(key) or {}
    if counted:  # by the API's endpoint names, as the reports and the ledger name them
        parts.append("charged since it started: " + ", ".join(
            f"{e} {n:,}" for e, n in sorted(counted.items())))  # fmt: skip
    return f"served sandbox {base_url} at {stats.get('now')} (its clock): " + "; ".join(parts)
