"""Progress bars: notebook widgets when ipywidgets is there, text bars otherwise, none in pipes."""

from __future__ import annotations

import sys
from typing import Any


def enabled(progress: bool | None) -> bool:
    """Whether to draw: as asked, else only on a terminal or in a notebook (never when piped)."""
    if progress is not None:
        return progress
    if "ipykernel" in sys.modules:
        return True
    return sys.stderr.isatty()


def bar(**kw: Any) -> Any:
    """A tqdm bar; notebook widgets only when ipywidgets is installed (no warning otherwise)."""
    try:
        import ipywidgets  # noqa: F401
        from tqdm.auto import tqdm
    except ImportError:
        from tqdm.std import tqdm
    return tqdm(**kw)
