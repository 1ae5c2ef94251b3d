"""``tiktok-research``: a thin command line over the public functions.

A command parses its options, checks its input (before the first request: a mistake costs
nothing and exits 2), calls one public function of the library, and prints or writes what it
returns. Where each part lives:

* ``_app.py``: the application, its root options (``--config``, ``--verbose``, ``--log``,
  ``--debug``, ``--version``), the command groups,
  the error boundary (:class:`~tiktok_research.cli._app.Group`: no traceback, ever) and
  :func:`main` (Ctrl-C outside a command; the home of other signal handling).
* ``_errors.py``: the exit codes and the one map from an exception to a code and a message.
* ``_options.py``: the options several commands share (``--archive``, ``--out``, the query
  flags...), as ``Annotated`` types.
* ``_inputs.py``: reading what the user gives (items, ``--query``, tables).
* ``_output.py``: every file the command line writes, and its checks before the first request.
* ``_run.py``: the client of a run (the root options it needs), and a collection's table, failures
  and exit code.
* ``_log.py``: where log lines and warnings go during a command (``--verbose``, ``--log``).

The commands, by group:

* ``_collect.py``: ``videos``, ``users``, ``comments``, ``liked``, ``pinned``, ``reposted``,
  ``followers``, ``following``, ``playlists``, ``shops``, ``products``, ``reviews``.
* ``_adlib.py``: the ad library (Commercial Content API): ``ads``, ``ad-details``,
  ``ad-report``, ``advertisers``, ``commercial-content``.
* ``_maintain.py``: ``hydrate``, ``compliance``, ``refresh``, ``update``, ``dehydrate``.
* ``_audit.py``: ``audit`` (availability audits, a dated round per run).
* ``_tables.py``: ``merge``, ``select video-ids``, ``select usernames``, ``summary``.
* ``_quality.py``: ``quality`` (and the one-line verdict of the collection commands).
* ``_account.py``: ``configure``, ``quota``.
* ``_sandbox.py``: ``sandbox serve``, ``demo``.
"""

from __future__ import annotations

# The command modules register their commands on `app` when imported, in the order of --help.
# isort: off
from . import _collect, _adlib, _tables, _maintain, _audit, _quality, _account, _sandbox  # noqa: F401

# isort: on
from ._app import app, main
from ._errors import (
    EXIT_AUTH,
    EXIT_ERROR,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_SERVER,
    EXIT_TERMINATED,
)
from ._errors import describe as _describe  # noqa: F401  (tests/test_error_messages.py)

__all__ = [
    "EXIT_AUTH",
    "EXIT_ERROR",
    "EXIT_INCOMPLETE",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_SERVER",
    "EXIT_TERMINATED",
    "app",
    "main",
]
