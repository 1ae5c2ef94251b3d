"""The public surface: ``__all__`` complete, type checkers see every lazy name, ``dir`` is clean."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
import typing
from pathlib import Path
from types import ModuleType

import pytest

import tiktok_research as tr

INIT = Path(tr.__file__)
SKIP_MODULES = {"tiktok_research.cli"}  # the command line is not an import surface


def _public_modules() -> list[ModuleType]:
    out = []
    for info in pkgutil.walk_packages(tr.__path__, "tiktok_research."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or info.name in SKIP_MODULES:
            continue
        out.append(importlib.import_module(info.name))
    return out


def test_every_name_in_all_resolves() -> None:
    for name in tr.__all__:
        assert getattr(tr, name) is not None, name
    assert len(set(tr.__all__)) == len(tr.__all__)


def test_type_checking_block_imports_every_lazy_name() -> None:
    """As httpx does: editors and mypy read the real objects, not ``__getattr__``."""
    tree = ast.parse(INIT.read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
    )
    imported: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom), ast.dump(node)
        for alias in node.names:
            assert alias.asname == alias.name, f"re-export {alias.name} as itself"
            # 'from . import io as io' -> module io; 'from .io import read_csv' -> module io
            imported[alias.name] = node.module or alias.name
    assert imported == tr._LAZY


def test_dir_shows_the_public_surface_only() -> None:
    shown = [n for n in dir(tr) if not n.startswith("__")]
    assert sorted(shown) == sorted(n for n in tr.__all__ if not n.startswith("__"))
    for helper in ("Any", "annotations", "importlib", "TYPE_CHECKING"):
        assert helper not in dir(tr)


@pytest.mark.parametrize("module", _public_modules(), ids=lambda m: m.__name__)
def test_every_public_module_and_its_names_are_reachable(module: ModuleType) -> None:
    # tiktok_research.x is reachable as tr.x, and every name of x.__all__ as tr.x.name
    path = module.__name__.split(".")[1:]
    if not path:
        return
    obj: object = tr
    for part in path:
        obj = getattr(obj, part)
    assert obj is module
    assert path[0] in tr.__all__, f"{path[0]} missing from tiktok_research.__all__"
    names = getattr(module, "__all__", None)
    assert names is not None, f"{module.__name__} has no __all__"
    for name in names:
        assert hasattr(module, name), f"{module.__name__}.__all__ lists {name!r}, not defined"


def test_every_error_and_warning_class_is_exported() -> None:
    for module in _public_modules():
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
                and not name.startswith("_")
            ):
                assert name in tr.__all__, f"{module.__name__}.{name} is not in tr.__all__"
                assert getattr(tr, name) is obj


def _classes_in(annotation: object, acc: set[type]) -> None:
    if inspect.isclass(annotation) and annotation.__module__.startswith("tiktok_research"):
        acc.add(annotation)
    for arg in typing.get_args(annotation):
        _classes_in(arg, acc)


def test_every_class_a_public_function_returns_is_exported() -> None:
    """``FetchResult``, ``CollectionReport``, ``MergeResult``...: what you get, you can name."""
    returned: set[type] = set()
    for name in tr.__all__:
        obj = getattr(tr, name)
        if inspect.ismodule(obj) or not callable(obj):
            continue
        targets = [obj]
        if inspect.isclass(obj):
            targets = [
                v.fget if isinstance(v, property) else v
                for k, v in vars(obj).items()
                if not k.startswith("_") and (callable(v) or isinstance(v, property))
            ]
        for target in targets:
            try:
                hints = typing.get_type_hints(target)
            except (NameError, TypeError):  # annotations only a type checker can resolve
                continue
            _classes_in(hints.get("return"), returned)
    missing = sorted(c.__name__ for c in returned if c.__name__ not in tr.__all__)
    assert not missing, f"returned by public functions but not exported: {missing}"


def test_mypy_sees_real_signatures_through_the_lazy_init(tmp_path: Path) -> None:
    """A user's type checker reports a wrong argument of a lazily exported function."""
    pytest.importorskip("mypy")
    script = tmp_path / "user_code.py"
    script.write_text(
        "import tiktok_research as tr\n"
        "reveal_type(tr.fetch_comments)\n"
        "reveal_type(tr.FetchResult)\n"
        "tr.read_csv(123, table=4)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent",
         "--ignore-missing-imports", str(script)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    out = result.stdout
    assert "def (video_ids:" in out, out
    assert "tiktok_research.collect.FetchResult" in out, out
    assert 'incompatible type "int"; expected "str | Path"' in out, out


def test_every_declared_dependency_is_imported_by_the_package() -> None:
    """A dependency that nothing imports (pydantic was one) is removed from pyproject.toml."""
    import re
    import tomllib
    from importlib.metadata import packages_distributions

    root = INIT.parents[2]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower() for d in declared}
    modules_of: dict[str, set[str]] = {}
    for module, dists in packages_distributions().items():
        for dist in dists:
            modules_of.setdefault(dist.lower(), set()).add(module)
    source = "\n".join(p.read_text() for p in (root / "src").rglob("*.py"))
    for name in sorted(names):
        modules = modules_of.get(name, {name.replace("-", "_")})
        used = any(re.search(rf"^\s*(import|from)\s+{m}\b", source, re.M) for m in modules)
        assert used, f"{name} is declared in pyproject.toml but nothing in src/ imports it"
