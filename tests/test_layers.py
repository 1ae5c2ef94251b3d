"""Data flows one way: no import cycle, and no lower layer imports a higher one.

Read from the source with ``ast``, so that an import inside a function counts as much as one at
the top of a module (a lazy import hides a dependency, it does not remove it). Imports under
``if TYPE_CHECKING:`` are annotations only; they may not go up a layer either, except the few
listed in ``TYPE_ONLY`` (as httpx's ``_exceptions.py`` imports ``_models`` to declare the
``request`` its errors carry).

The layers, lowest first (STYLE.md: transport -> client -> collect -> tables -> analysis; the
sandbox is an emulator behind a transport and never imports the client or the collection; the
command line and the package's surface are on top). A module may import its own layer and those
below it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import tiktok_research as tr

PACKAGE = Path(tr.__file__).parent
ROOT = "tiktok_research"

FOUNDATION, TRANSPORT, CLIENT, COLLECT, TABLES, ANALYSIS, TOP = range(7)
LAYER_NAMES = ["foundation", "transport", "client", "collect", "tables", "analysis", "top"]

#: Every module (or sub-package) of the package, and its layer.
LAYERS: dict[str, int] = {
    # plain data and rules: no I/O, no client
    "_version": FOUNDATION,
    "errors": FOUNDATION,
    "_endpoints": FOUNDATION,
    "_checks": FOUNDATION,
    "ids": FOUNDATION,  # what an id's bits say (issue 19)
    "_windows": FOUNDATION,
    "query": FOUNDATION,
    "_progress": FOUNDATION,
    "_optional": FOUNDATION,  # (packaging) which extra brings an optional dependency
    "_eras": FOUNDATION,  # (quality) the dated changes of the API, with their sources
    "_signals": FOUNDATION,  # (attack3) SIGTERM handled like Ctrl-C, around requests
    "_adlib_checks": FOUNDATION,  # (ads) the ad library's filters
    # sockets, and the emulator behind a transport
    "_http": TRANSPORT,
    "sandbox": TRANSPORT,
    # auth, limits, retries, quota, the pages of one sequence
    "_auth": CLIENT,
    "_config": CLIENT,  # the credentials file, read by _auth (issue 20)
    "_ratelimit": CLIENT,
    "_retry": CLIENT,
    "_ledger": CLIENT,
    "pagination": CLIENT,
    "client": CLIENT,
    # planning, windows and fan-out, the raw archive, resume
    "plan": COLLECT,
    "collect": COLLECT,
    "_archive": COLLECT,
    "_adlib_plan": COLLECT,  # (ads) plans of the ad library's collections
    # one schema per endpoint, rows, merge, select, files
    "schemas": TABLES,
    "tables": TABLES,
    "merge": TABLES,
    "io": TABLES,
    "_dataset": TABLES,  # (out-files) a dataset folder holds each key once: io's writer
    "select": TABLES,
    "spark": TABLES,
    "_adlib_tables": TABLES,  # (ads) rows of the ad library's answers, joins
    # what users call to get a table, and the analysis of tables
    "fetch": ANALYSIS,
    "maintain": ANALYSIS,
    "analysis": ANALYSIS,
    "plots": ANALYSIS,
    "_quality": ANALYSIS,  # (quality) tr.quality: reads the archive, measures, renders
    "_adlib_analysis": ANALYSIS,  # (ads) summarize_ads
    "audit": ANALYSIS,  # availability audits (issue 19): a look-up by id, round after round
    "sample": ANALYSIS,  # stratified random samples (issue 19)
    # on top
    "demo": TOP,
    "cli": TOP,
    "__main__": TOP,  # (packaging) python -m tiktok_research
    ROOT: TOP,  # the package's surface (``from . import __version__`` imports it)
}

#: Imports for annotations only that go up a layer, and why.
TYPE_ONLY: dict[tuple[str, str], str] = {
    ("errors", "pagination"): "the declared type of TikTokResearchError.position",
}

#: Upward imports and cycles that main still holds, each with who removes it (issue 17). The test
#: fails when one of them disappears, so that this list only ever shrinks.
KNOWN_UPWARD: dict[tuple[str, str], str] = {
    ("collect", "tables"): "core-engine: the engine builds the table (FetchResult, from_archive)",
    ("collect", "schemas"): "core-engine: FetchResult compares schemas; empty tables",
    ("collect", "io"): "core-engine: FetchResult.write_parquet / to_pandas, datasets",
    ("_archive", ROOT): "core-engine: `from . import __version__` instead of ._version",
}
#: Groups of modules that import each other (strongly connected: each reaches every other).
KNOWN_CYCLES: dict[frozenset[str], str] = {}


def _unit(module: str) -> str:
    """``tiktok_research.sandbox._core`` -> ``sandbox``; the package itself -> ``ROOT``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _is_package(module: str) -> bool:
    return (PACKAGE.parent / module.replace(".", "/") / "__init__.py").exists()


def _resolve(module: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The package modules an import statement of ``module`` imports."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == ROOT]
    if node.level == 0:
        return [node.module] if node.module and node.module.split(".")[0] == ROOT else []
    base = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    target = ".".join(base + ([node.module] if node.module else []))
    if node.module:
        return [target]
    # ``from . import x``: the submodule x if there is one, else a name of the package itself
    out = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        is_module = (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").exists()
        out.append(sub if is_module or _is_package(sub) else target)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return "TYPE_CHECKING" in ast.unparse(test)


def _imports() -> list[tuple[str, str, bool]]:
    """``(importer unit, imported unit, for annotations only)`` of every import statement."""
    edges: list[tuple[str, str, bool]] = []
    for module, path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        type_only: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                for inner in node.body:
                    type_only.update(id(n) for n in ast.walk(inner))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _resolve(module, node):
                    src, dst = _unit(module), _unit(target)
                    if src != dst:
                        edges.append((src, dst, id(node) in type_only))
    return edges


EDGES = _imports()


def test_every_module_has_a_layer() -> None:
    units = {_unit(m) for m, _ in _modules()}
    missing = sorted(units - set(LAYERS))
    assert not missing, f"place these modules in LAYERS: {missing}"


def test_no_lower_layer_imports_a_higher_one() -> None:
    upward = {
        (src, dst)
        for src, dst, type_only in EDGES
        if LAYERS[dst] > LAYERS[src] and not (type_only and (src, dst) in TYPE_ONLY)
    }
    new = sorted(upward - set(KNOWN_UPWARD))
    assert not new, "upward imports: " + ", ".join(
        f"{s} ({LAYER_NAMES[LAYERS[s]]}) -> {d} ({LAYER_NAMES[LAYERS[d]]})" for s, d in new
    )
    gone = sorted(set(KNOWN_UPWARD) - upward)
    assert not gone, f"fixed, so remove from KNOWN_UPWARD: {gone}"


def test_type_only_exceptions_are_type_only() -> None:
    for (src, dst), why in TYPE_ONLY.items():
        kinds = {type_only for s, d, type_only in EDGES if (s, d) == (src, dst)}
        assert kinds == {True}, f"{src} -> {dst} ({why}) must stay under TYPE_CHECKING"


def test_the_sandbox_never_imports_the_client_or_the_collection() -> None:
    wrong = sorted({d for s, d, _ in EDGES if s == "sandbox" and LAYERS[d] >= CLIENT})
    assert not wrong, f"the sandbox imports {wrong}"


def test_the_client_imports_nothing_above_it() -> None:
    above = sorted({d for s, d, _ in EDGES if s == "client" and LAYERS[d] > CLIENT})
    assert not above, f"the client imports {above}"


def _cycles(edges: set[tuple[str, str]]) -> set[frozenset[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for s, d in edges:
        graph.setdefault(s, set()).add(d)
        graph.setdefault(d, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                found.add(frozenset(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_counting_imports_inside_functions() -> None:
    runtime = {(s, d) for s, d, type_only in EDGES if not type_only}
    cycles = _cycles(runtime)
    new = sorted(sorted(c) for c in cycles - set(KNOWN_CYCLES))
    assert not new, f"import cycles: {new}"
    gone = sorted(sorted(c) for c in set(KNOWN_CYCLES) - cycles)
    assert not gone, f"fixed, so remove from KNOWN_CYCLES: {gone}"


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({("a", "b"), ("b", "a")}, {frozenset({"a", "b"})}),
        ({("a", "b"), ("b", "c")}, set()),
        ({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}, {frozenset({"a", "b", "c"})}),
    ],
)
def test_the_cycle_finder_finds_cycles(
    edges: set[tuple[str, str]], expected: set[frozenset[str]]
) -> None:
    assert _cycles(edges) == expected


def test_the_reader_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The old ``client -> plan`` cycle hid behind a lazy import; the reader must see those."""
    lazy = [e for e in EDGES if e[0] == "analysis" and e[1] == "io"]
    assert lazy and not any(t for *_, t in lazy)  # analysis imports io inside a function
