"""The package as users install it: the bare wheel without extras, and every dependency at the
lowest version ``pyproject.toml`` declares.

* The bare wheel goes into a fresh virtual environment (uv, offline: from the cache that
  ``scripts/bootstrap`` filled); collecting on the in-process sandbox and writing Parquet work
  there, and each call that needs an extra names it (``tests/smoke_install.py extras-missing``).
* ``.venv-floors`` (made by ``scripts/bootstrap`` with ``uv pip install --resolution
  lowest-direct``) holds exactly the declared floors of the core and of the extras in
  ``FLOORS_EXTRAS``; the smoke set (collect on the sandbox, tables, Parquet, CSV, summaries on
  polars, pandas and DuckDB, plots, the sandbox over HTTP, an .xlsx round trip, every command's
  ``--help``) passes there, and again with DuckDB 1.4 (whose relation class lives in the
  module ``_duckdb``).
* In-process checks that each optional import names its extra when the module is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import tiktok_research as tr
from tiktok_research import _optional
from tiktok_research.errors import MissingDependencyError, TikTokResearchError

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "tests" / "smoke_install.py"
FLOORS = ROOT / ".venv-floors"
DUCKDB_ALSO = "1.4.4"  # scripts/bootstrap: FLOORS_DUCKDB_ALSO


def _bootstrap_setting(name: str) -> str:
    """A setting of scripts/bootstrap (``NAME="value"``): one source for it and the tests."""
    found = re.search(rf'^{name}="([^"]*)"$', (ROOT / "scripts" / "bootstrap").read_text(), re.M)
    assert found, f"scripts/bootstrap sets no {name}"
    return found.group(1)


#: The extras that .venv-floors holds at their floors (scripts/bootstrap: FLOORS_EXTRAS).
FLOORS_EXTRAS = tuple(_bootstrap_setting("FLOORS_EXTRAS").split(","))


def _missing_env(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _own_env(**env: str) -> dict[str, str]:
    """The environment of a process of another virtual environment: without the PYTHONPATH that
    packagers set to run the tests on the source (``PYTHONPATH=src``, pybuild, ``%pytest``), which
    would make that environment import this checkout's code instead of its own."""
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **env}


def _smoke(python: Path, mode: str, out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), str(SMOKE), mode, str(out)],
        capture_output=True, text=True, timeout=600, cwd=out.parent,
        env=_own_env(NO_COLOR="1", **env),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# The bare wheel
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.xdist_group("packaging")
def test_bare_wheel_collects_and_writes_parquet_and_names_each_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as a packager runs the tests of the unpacked sdist: the bare environment still uses its own
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "src"))
    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        _missing_env("uv is not installed in .venv: run bash scripts/bootstrap")
    dist = tmp_path / "dist"
    built = subprocess.run(
        [str(uv), "build", "--offline", "--wheel", "--out-dir", str(dist), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "bare"
    made = subprocess.run(
        [str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [str(uv), "pip", "install", "--offline", "--python", str(python), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if installed.returncode != 0 and "offline" in installed.stderr.lower():
        _missing_env(f"the core dependencies are not in uv's cache: {installed.stderr[-500:]}")
    assert installed.returncode == 0, installed.stderr
    listed = subprocess.run(
        [str(uv), "pip", "list", "--python", str(python), "--format", "freeze"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    names = {line.split("==")[0].lower() for line in listed.stdout.split()}
    for heavy in ("matplotlib", "starlette", "uvicorn", "pandas", "duckdb", "narwhals", "pyspark"):
        assert heavy not in names, f"{heavy} is installed with the bare wheel"
    # not this checkout's code: the installed wheel's
    where = subprocess.run(
        [str(python), "-c", "import tiktok_research; print(tiktok_research.__file__)"],
        capture_output=True, text=True, cwd=tmp_path, env=_own_env(),
    )  # fmt: skip
    assert str(venv) in where.stdout, where

    done = _smoke(python, "extras-missing", tmp_path / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    for extra in ("plots", "sandbox", "pandas", "duckdb", "spark", "demo", "excel"):
        assert f"tiktok-research[{extra}]" in done.stdout, extra
    assert "ok CLI --out .xlsx: refused before any request" in done.stdout, done.stdout
    assert "ok parquet file and dataset" in done.stdout
    assert list((tmp_path / "out").glob("videos.parquet"))
    videos = pl.read_parquet(tmp_path / "out" / "videos.parquet")
    assert videos.height > 0 and videos.schema["id"] == pl.Int64


# --------------------------------------------------------------------------------------------
# The declared floors
# --------------------------------------------------------------------------------------------


def _declared_floors() -> dict[str, str]:
    """Package -> lowest version declared, for the core and the extras the floors env holds."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    requirements = list(project["dependencies"])
    for extra in FLOORS_EXTRAS:
        requirements += extras[extra]
    floors = {}
    for req in requirements:
        found = re.match(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)", req)
        assert found, req
        floors[found.group(1).lower()] = found.group(2)
    return floors


def _floors_python() -> Path:
    python = FLOORS / "bin" / "python"
    if not python.exists():
        _missing_env("the side environment .venv-floors is missing: run bash scripts/bootstrap")
    return python


def _same_version(installed: str, declared: str) -> bool:
    parts = [int(p) for p in re.findall(r"\d+", installed)]
    want = [int(p) for p in re.findall(r"\d+", declared)]
    width = max(len(parts), len(want))
    return parts + [0] * (width - len(parts)) == want + [0] * (width - len(want))


@pytest.fixture(scope="module")
def floors_env() -> Path:
    python = _floors_python()
    if (
        not (FLOORS / "pyproject.toml").exists()
        or (FLOORS / "pyproject.toml").read_bytes() != (ROOT / "pyproject.toml").read_bytes()
    ):
        _missing_env(
            ".venv-floors was made from another pyproject.toml: run bash scripts/bootstrap"
        )
    made_with = FLOORS / "extras.txt"
    if not made_with.exists() or made_with.read_text().strip() != ",".join(FLOORS_EXTRAS):
        _missing_env(".venv-floors was made with other extras: run bash scripts/bootstrap")
    return python


@pytest.mark.slow
@pytest.mark.xdist_group("floors")
def test_floors_env_holds_exactly_the_declared_floors(floors_env: Path) -> None:
    code = (
        "import json, importlib.metadata as m, sys; "
        "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    )
    floors = _declared_floors()
    done = subprocess.run(
        [str(floors_env), "-c", code, *floors], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    import json

    installed = json.loads(done.stdout)
    wrong = {n: (installed[n], v) for n, v in floors.items() if not _same_version(installed[n], v)}
    assert not wrong, f"installed vs declared: {wrong}"


@pytest.mark.slow
@pytest.mark.xdist_group("floors")
def test_smoke_set_passes_at_the_declared_floors(floors_env: Path, tmp_path: Path) -> None:
    done = _smoke(floors_env, "floors", tmp_path / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    floor = _declared_floors()["duckdb"]
    assert re.search(rf"ok duckdb {re.escape(floor)}(\.0)?: summarize_sql", done.stdout), (
        done.stdout
    )
    assert "ok pandas" in done.stdout and "ok matplotlib" in done.stdout
    floors = _declared_floors()
    assert f"ok xlsxwriter {floors['xlsxwriter']}" in done.stdout, done.stdout
    assert re.search(rf"fastexcel {re.escape(floors['fastexcel'])}(\.0)?: xlsx", done.stdout), (
        done.stdout
    )
    assert "served over HTTP" in done.stdout and "command line" in done.stdout


@pytest.mark.slow
@pytest.mark.xdist_group("floors")
def test_duckdb_1_4_summaries_on_relations(floors_env: Path, tmp_path: Path) -> None:
    """DuckDB 1.4 moved its relation class to the module ``_duckdb``: summaries still see one."""
    overlay = FLOORS / f"duckdb-{DUCKDB_ALSO}"
    if not overlay.is_dir():
        _missing_env(f"{overlay} is missing: run bash scripts/bootstrap")
    done = _smoke(floors_env, "duckdb", tmp_path / "out", PYTHONPATH=str(overlay))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ok duckdb {DUCKDB_ALSO}: summarize on a relation" in done.stdout, done.stdout
    assert f"ok duckdb {DUCKDB_ALSO}: summarize_sql" in done.stdout


# --------------------------------------------------------------------------------------------
# Each optional import names its extra (in process: the module is made unimportable)
# --------------------------------------------------------------------------------------------


class _Hidden:
    """A meta-path finder that makes some top-level modules unimportable, as if not installed."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


@pytest.fixture
def hide(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """hide("pandas", ...): importing those modules raises ModuleNotFoundError, as if absent."""
    import pyarrow.dataset  # noqa: F401  (pyarrow looks for pandas once, on first import)

    import tiktok_research.io  # noqa: F401

    hidden = _Hidden(set())
    monkeypatch.setattr(sys, "meta_path", [hidden, *sys.meta_path])

    def _hide(*modules: str) -> None:
        hidden.names |= set(modules)
        for name in list(sys.modules):
            if name.split(".")[0] in modules:
                monkeypatch.delitem(sys.modules, name)

    yield _hide


def _videos() -> pl.DataFrame:
    from tiktok_research import schemas

    return schemas.cast(
        pl.DataFrame({"id": [7320768158545159950], "view_count": [10], "like_count": [1]}),
        "videos",
    )


def _spark() -> Any:
    import tiktok_research.spark

    return tiktok_research.spark


CASES: dict[str, tuple[tuple[str, ...], str, Callable[[], Any]]] = {
    "plots": (("matplotlib",), "plots", lambda: tr.plots.plot_regions(_videos())),
    "to_pandas": (("pandas",), "pandas", lambda: tr.io.to_pandas(_videos())),
    "FetchResult.to_pandas": (
        ("pandas",),
        "pandas",
        lambda: tr.FetchResult.wrap(_videos(), tr.CollectionReport("video_query")).to_pandas(),
    ),
    "summarize_sql": (("duckdb",), "duckdb", lambda: tr.analysis.summarize_sql("x.parquet")),
    "server": (("uvicorn",), "sandbox", lambda: tr.sandbox.run_server().__enter__()),
    "server app": (("starlette",), "sandbox", lambda: tr.sandbox.Sandbox().app),
    "demo": (("matplotlib",), "demo", lambda: tr.demo.run_demo("never-written")),
    "spark_schema": (("pyspark",), "spark", lambda: tr.schemas.spark_schema("videos")),
    "spark.read_archive": (("pyspark",), "spark", lambda: _spark().read_archive(None, ".")),  # type: ignore[arg-type]
    "spark.archive_schema": (("pyspark",), "spark", lambda: _spark().archive_schema("videos")),
    "write_excel": (
        ("xlsxwriter",),
        "excel",
        lambda: tr.io.write_excel(_videos(), "never-written"),
    ),
    "FetchResult.write_excel": (
        ("xlsxwriter",),
        "excel",
        lambda: tr.FetchResult.wrap(_videos(), tr.CollectionReport("video_query")).write_excel(
            "never-written"
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_missing_optional_dependency_names_its_extra(
    case: str, hide: Callable[..., None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modules, extra, call = CASES[case]
    monkeypatch.chdir(tmp_path)
    hide(*modules)
    with pytest.raises(MissingDependencyError) as caught:
        call()
    err = caught.value
    assert isinstance(err, ImportError) and isinstance(err, TikTokResearchError)
    assert err.extra == extra and err.name == modules[0]
    assert f"pip install 'tiktok-research[{extra}]'" in str(err)
    assert modules[0] in str(err)
    assert not (tmp_path / "never-written").exists()  # nothing was started or written


@pytest.mark.parametrize("engine", ["duckdb", "sqlframe", "pyspark"])
def test_summaries_on_an_engine_without_narwhals_name_the_engines_extra(
    engine: str, hide: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An engine's frame without narwhals: the message names that engine's extra."""

    class Frame:  # looks like the engine's frame class to analysis._engine_of
        pass

    Frame.__module__ = {"duckdb": "duckdb", "sqlframe": "sqlframe.duckdb.dataframe",
                        "pyspark": "pyspark.sql.dataframe"}[engine]  # fmt: skip
    Frame.__name__ = "DuckDBPyRelation" if engine == "duckdb" else "DataFrame"
    if engine == "duckdb":
        fake = type(sys)("duckdb")
        fake.DuckDBPyRelation = Frame  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "duckdb", fake)
    hide("narwhals")
    with pytest.raises(MissingDependencyError) as caught:
        tr.analysis.summarize(Frame(), by="month")
    want = {"duckdb": "duckdb", "sqlframe": "sqlframe", "pyspark": "spark"}[engine]
    assert caught.value.extra == want
    assert f"tiktok-research[{want}]" in str(caught.value)


def test_a_broken_dependency_of_an_extra_is_not_called_missing(
    hide: Callable[..., None], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """matplotlib present but one of its own dependencies missing: the real error surfaces."""
    (tmp_path / "fakeplotlib").mkdir()
    (tmp_path / "fakeplotlib" / "__init__.py").write_text("import no_such_dependency_of_it\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as caught:
        _optional.require("fakeplotlib", extra="plots", feature="plotting")
    assert not isinstance(caught.value, MissingDependencyError)
    assert caught.value.name == "no_such_dependency_of_it"


def test_cli_commands_needing_an_extra_say_which_without_a_traceback(
    hide: Callable[..., None], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from tiktok_research.cli import app

    hide("uvicorn", "starlette", "matplotlib")
    for args, extra in ((["sandbox", "serve", "--port", "0"], "sandbox"),
                        (["demo", "--out", str(tmp_path / "demo")], "demo")):  # fmt: skip
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert f"pip install 'tiktok-research[{extra}]'" in result.output, result.output
        assert "Traceback" not in result.output


def test_python_dash_m_runs_the_command_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tiktok_research", "videos", "--sandbox", "--hashtag", "climate",
         "--start", "2024-01-01", "--end", "2024-01-31", "--out", "v.parquet", "--no-progress"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert pl.read_parquet(tmp_path / "v.parquet").height > 0
    bad = subprocess.run(
        [sys.executable, "-m", "tiktok_research", "videos", "--sandbox", "--start", "nope"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr


def test_shell_completion_is_offered(tmp_path: Path) -> None:
    exe = shutil.which("tiktok-research", path=str(Path(sys.executable).parent))
    assert exe is not None
    shown = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert "--install-completion" in shown.stdout and "--show-completion" in shown.stdout
    env = {**os.environ, "_TIKTOK_RESEARCH_COMPLETE": "complete_bash",
           "COMP_WORDS": "tiktok-research san", "COMP_CWORD": "1"}  # fmt: skip
    done = subprocess.run([exe], capture_output=True, text=True, timeout=60, env=env)
    assert done.stdout.split() == ["sandbox"], done
    script = subprocess.run(
        [exe, "--show-completion", "bash"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert "_TIKTOK_RESEARCH_COMPLETE" in script.stdout, script
