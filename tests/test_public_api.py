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
# The collection engine's modules (issue 17): not attributes of ``tr``, not in ``tr.__all__``;
# what users need of them is exported by name (FetchResult, Page, merge_dumps...). They keep their
# file names for now (several people edit them); a later rename to ``_collect.py``... is free.
INTERNAL_MODULES = {
    "tiktok_research.collect",
    "tiktok_research.tables",
    "tiktok_research.pagination",
    "tiktok_research.merge",
}


def _internal(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in INTERNAL_MODULES)


def _public_modules() -> list[ModuleType]:
    out = []
    for info in pkgutil.walk_packages(tr.__path__, "tiktok_research."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or info.name in SKIP_MODULES:
            continue
        if _internal(info.name):
            continue
        out.append(importlib.import_module(info.name))
    return out


def test_the_engine_modules_are_not_part_of_the_surface() -> None:
    """``tr.collect``, ``tr.tables``, ``tr.pagination``, ``tr.merge`` (with ``run``, ``_Engine``,
    ``finish``...) are not exported; a fresh session cannot reach them as attributes."""
    shown = set(dir(tr)) | set(tr.__all__) | set(tr._LAZY)
    for module in INTERNAL_MODULES:
        assert module.split(".")[1] not in shown, module
    probe = (
        "import tiktok_research as tr\n"
        "for name in ('collect', 'tables', 'pagination', 'merge'):\n"
        "    try:\n"
        "        getattr(tr, name)\n"
        "    except AttributeError:\n"
        "        continue\n"
        "    raise SystemExit(f'tr.{name} is reachable')\n"
        "for name in ('FetchResult', 'CollectionReport', 'Page', 'Reply', 'merge_dumps',\n"
        "             'MergeResult', 'FileReport'):\n"
        "    getattr(tr, name)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("module", ["plan", "client", "errors", "select", "query"])
def test_public_modules_export_no_engine_internals(module: str) -> None:
    names = set(getattr(tr, module).__all__)
    internals = {"window_params", "window_body", "refresh_quota", "check_client", "run",
                 "username_expr", "clean_usernames", "clean_username", "clean_ids",
                 "parse_answer", "RequestCounter", "default_client", "current_default",
                 "error_from_body", "sentences"}  # fmt: skip
    assert not names & internals, names & internals


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


# ------------------------------------------------------------------------- typed public inputs

#: Public signatures that still take or give a bare ``Any``, and who types them (issue 17).
BARE_ANY_LEFT = {
    "SandboxConfig.realistic": "sandbox: overrides of SandboxConfig's fields (a TypedDict of the "
    "config's fields would name them)",
}


def _bare_any(annotation: object) -> bool:
    """``Any`` itself, or a union with ``Any`` in it (``Any | None`` is ``Any`` too)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if annotation is typing.Any:
        return True
    depth, part, parts = 0, "", []
    for ch in str(text):
        depth += (ch in "[(" and 1) or (ch in "])" and -1) or 0
        if ch == "|" and depth == 0:
            parts.append(part.strip())
            part = ""
        else:
            part += ch
    parts.append(part.strip())
    return any(p in ("Any", "typing.Any") for p in parts)


def _public_callables() -> dict[str, object]:
    out: dict[str, object] = {}
    targets: dict[str, object] = {n: getattr(tr, n) for n in tr.__all__ if not n.startswith("__")}
    for module in _public_modules():
        for n in getattr(module, "__all__", []):
            targets.setdefault(f"{module.__name__.split('.', 1)[1]}.{n}", getattr(module, n))
    for name, obj in targets.items():
        if inspect.ismodule(obj) or not callable(obj) or name.endswith("Q"):
            continue
        short = name.rsplit(".", 1)[-1]
        out[short] = obj
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_") and attr != "__init__":
                    continue
                func = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
                if isinstance(func, property):
                    func = func.fget
                if callable(func):
                    out[f"{short}.{attr}"] = func
    return out


def test_public_signatures_take_no_bare_any() -> None:
    """``query: Any`` and ``Items = Any`` hid the API from users' type checkers (issue 17)."""
    found = []
    for name, func in sorted(_public_callables().items()):
        try:
            sig = inspect.signature(func)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        annotations = [p.annotation for p in sig.parameters.values()] + [sig.return_annotation]
        if any(_bare_any(a) for a in annotations) and name not in BARE_ANY_LEFT:
            found.append(name)
    assert not found, f"bare Any in public signatures: {found}"


@pytest.mark.parametrize(
    ("annotation", "bare"),
    [("Any", True), ("Any | None", True), ("dict[str, Any]", False), ("QueryLike", False)],
)
def test_bare_any_is_recognised(annotation: str, bare: bool) -> None:
    assert _bare_any(annotation) is bare


def test_mypy_flags_a_misspelt_query_field_and_wrong_inputs(tmp_path: Path) -> None:
    """``Q.<field>`` is declared: editors complete it and type checkers catch ``Q.hashtg_name``;
    a query and items that cannot be one are flagged too."""
    pytest.importorskip("mypy")
    script = tmp_path / "user_code.py"
    script.write_text(
        "import tiktok_research as tr\n"
        "ok = tr.Q.hashtag_name.eq('climate') & tr.Q.region_code.isin(['US'])\n"
        "typo = tr.Q.hashtg_name.eq('climate')\n"
        "tr.plan_videos(ok, '20240101', '20240131')\n"
        "tr.plan_videos(3.5, '20240101', '20240131')\n"
        "tr.plan_items('comments', [7320768196569599275, '7320768196569599276'])\n"
        "tr.fetch_user_info(3.5)\n"
        "reveal_type(tr.Q.keyword)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent",
         "--ignore-missing-imports", "--strict", str(script)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    out = result.stdout
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert any(':3: error: "_QBuilder" has no attribute "hashtg_name"' in e for e in errors), out
    assert any(':5: error: Argument 1 to "plan_videos"' in e for e in errors), out
    assert any(':7: error: Argument 1 to "fetch_user_info"' in e for e in errors), out
    assert len(errors) == 3, out  # the good lines type-check
    assert "tiktok_research.query._Field" in out, out


def test_q_declares_every_query_field() -> None:
    from tiktok_research._endpoints import CONDITION_FIELDS
    from tiktok_research.query import _QBuilder

    assert tuple(_QBuilder.__annotations__) == CONDITION_FIELDS
    assert sorted(dir(tr.Q)) == sorted(CONDITION_FIELDS)
    with pytest.raises(tr.InvalidRequestError, match="Did you mean 'hashtag_name'"):
        tr.Q.hashtg_name  # noqa: B018  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        tr.Q._private  # noqa: B018  # type: ignore[attr-defined]
    inspect.signature(tr.Q)  # inspecting Q (help(), editors) no longer raises


def test_client_sandbox_options_are_the_client_options() -> None:
    from tiktok_research.client import ClientOptions

    # transport and sandbox are what Client.sandbox() itself passes
    init = set(inspect.signature(tr.Client).parameters) - {"transport", "sandbox"}
    assert set(ClientOptions.__annotations__) == init


def test_client_sandbox_true_is_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """``tr.Client(sandbox=True)`` (what users of other clients try) was a TypeError."""
    for name in ("TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET", "TIKTOK_RESEARCH_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    client = tr.Client(sandbox=True, max_requests=3)
    sandbox = client.sandbox_instance
    assert sandbox is not None and client.base_url == sandbox.BASE_URL
    [user] = client.user_info(sandbox.corpus.sample_usernames(1)[0])
    assert "follower_count" in user and len(sandbox.request_log) == 2  # a token, one request
    with pytest.raises(tr.InvalidTypeError, match=r"tr\.Client\.sandbox\(that_sandbox\)"):
        tr.Client(sandbox=sandbox)  # type: ignore[arg-type]
