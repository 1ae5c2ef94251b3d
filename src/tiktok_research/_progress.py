"""Progress bars: notebook widgets when ipywidgets is there, text bars otherwise, none in pipes."""

from __future__ import annotations

import sys
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
