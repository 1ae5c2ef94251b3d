"""Commands about the account and its credentials: ``quota`` (requests used and left today).

Credentials are read from the environment by :class:`tiktok_research.Client`; a command that
stores them (``configure``) belongs here.
"""

from __future__ import annotations

import typer

from . import _run
from ._app import app
from ._options import SandboxOpt


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
