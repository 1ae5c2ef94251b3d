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
            typer.echo(_served_quota(served, os.environ.get("TIKTOK_CLIENT_KEY") or "sandbox"))
            return
        typer.echo(str(_run.client(True, None).quota) + " (a fresh built-in sandbox)")
        return
    for ledger, status in local_quota():
        where = f" [{ledger.service or 'service'}]" if ledger is not None else ""
        typer.echo(str(status) + where)


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
    return f"served sandbox {base_url} at {stats.get('now')} (its clock): " + "; ".join(parts)
