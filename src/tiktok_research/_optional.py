"""Optional dependencies: which extra brings each one, and the one check that names it.

The core install is what collecting and tables need. Everything else comes with an extra
(``pip install 'tiktok-research[plots]'``) and is imported only by the function that uses it;
that function calls :func:`require` first, so a missing package raises
:class:`~tiktok_research.errors.MissingDependencyError` naming the extra to install, never a
bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib

from .errors import MissingDependencyError

__all__ = ["EXTRAS", "require"]

#: Extra -> the packages it brings, for messages and tests (``pyproject.toml`` declares them).
EXTRAS: dict[str, tuple[str, ...]] = {
    "plots": ("matplotlib",),
    "sandbox": ("starlette", "uvicorn"),
    "demo": ("matplotlib", "starlette", "uvicorn"),
    "pandas": ("pandas",),
    "duckdb": ("duckdb", "narwhals"),
    "spark": ("pyspark", "narwhals"),
    "sqlframe": ("narwhals",),
    "excel": ("xlsxwriter", "fastexcel"),
}


def require(*modules: str, extra: str, feature: str) -> None:
    """Import ``modules`` or raise :class:`MissingDependencyError` naming ``extra``.

    Only a missing module of ``modules`` itself is turned into that error; a package that is
    installed but fails to import (a broken dependency of its own) raises as it would anyway.

    Args:
        modules: Top-level modules to import (``"matplotlib"``).
        extra: The extra that installs them (a key of :data:`EXTRAS`).
        feature: What needs them, for the message (``"plotting"``, ``"the sandbox server"``).

    Example:
        >>> require("json", extra="plots", feature="plotting")
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.split(".")[0] != module.split(".")[0]:
                raise
            raise MissingDependencyError(
                f"{feature} needs {module}, which is not installed; install the extra "
                f"with: pip install 'tiktok-research[{extra}]'",
                name=module,
                extra=extra,
            ) from None
