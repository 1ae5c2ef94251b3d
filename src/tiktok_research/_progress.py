"""Progress bars: notebook widgets when ipywidgets is there, text bars otherwise, none in pipes."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any


def enabled(progress: bool | None) -> bool:
    """Whether to draw: as asked, else only on a terminal or in a notebook (never when piped)."""
    if progress is not None:
        return progress
    if _in_notebook():
        return True
    return sys.stderr.isatty()


def _in_notebook() -> bool:
    """A running Jupyter kernel, not just ``ipykernel`` imported (PySpark imports it to name the
    call site of an error, in any script)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def bar(**kw: Any) -> Any:
    """A tqdm bar; notebook widgets only when ipywidgets is installed (no warning otherwise)."""
    try:
        import ipywidgets  # noqa: F401
        from tqdm.auto import tqdm
    except ImportError:
        from tqdm.std import tqdm
    return tqdm(**kw)


@contextlib.contextmanager
def logs_above_bars() -> Iterator[None]:
    """While bars are drawn, the package's log lines (retries, repairs) are written above them
    with ``tqdm.write`` instead of into the bar's line: the console handler of whoever prints
    them (the root logger's, or Python's last resort for the package's logger) is swapped for
    a tqdm-aware one, and put back after."""
    from tqdm.contrib.logging import logging_redirect_tqdm
    from tqdm.std import tqdm

    root = logging.getLogger()
    console = [h for h in root.handlers if type(h) is logging.StreamHandler]
    target = root if console else logging.getLogger("tiktok_research")
    if target is not root and any(True for _ in _handlers_up(target)):
        yield  # the user routes the package's logs somewhere else: leave it
        return
    with logging_redirect_tqdm(loggers=[target], tqdm_class=tqdm):
        yield


def _handlers_up(logger: logging.Logger) -> Iterator[logging.Handler]:
    """Every handler a record of ``logger`` reaches (not Python's last resort)."""
    current: logging.Logger | None = logger
    while current is not None:
        yield from current.handlers
        current = current.parent if current.propagate else None
