"""What a package index, a packager and a citation see: the built wheel and sdist, their metadata,
the licence, the one version, CITATION.cff, and the sdist's own tests.

The wheel and sdist are built once, into a temporary folder, by ``python -m build
--no-isolation`` in the side environment ``.venv-tools`` (made by ``scripts/bootstrap`` from
``tests/tools-requirements.txt``: build, hatchling, pyroma, twine, check-wheel-contents and
cffconvert, kept apart because cffconvert pins an old jsonschema). Nothing reaches the network.
"""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.message import Message
from pathlib import Path

import pytest

from tiktok_research import __version__

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]

CORE = {"polars", "pyarrow", "numpy", "httpx", "typer", "tqdm", "filelock", "platformdirs"}
EXTRAS = {
    "plots",
    "sandbox",
    "demo",
    "pandas",
    "duckdb",
    "spark",
    "sqlframe",
    "excel",
    "all",
    "docs",
    "dev",
}


def side_tool(name: str) -> Path:
    """A program of ``.venv-tools`` (skip, or fail on CI, when the environment is missing)."""
    path = ROOT / ".venv-tools" / "bin" / name
    if path.exists():
        return path
    message = f"the side environment .venv-tools is missing ({name}): run bash scripts/bootstrap"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def run(*cmd: str | Path, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=600,
        env={**os.environ, **env},
    )  # fmt: skip


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel built from it (as ``python -m build`` does for an upload)."""
    python = side_tool("python")
    out = tmp_path_factory.mktemp("dist")
    done = run(python, "-m", "build", "--no-isolation", "--outdir", out, ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(zf.read(name))


def test_wheel_carries_the_licence_and_the_metadata_an_index_shows(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as zf:
        names = zf.namelist()
        licence = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert licence, names
        assert zf.read(licence[0]) == (ROOT / "LICENSE").read_bytes()
        assert "tiktok_research/__main__.py" in names  # python -m tiktok_research
        assert "tiktok_research/py.typed" in names
    meta = wheel_metadata(dists["wheel"])
    assert meta["Name"] == "tiktok-research"
    assert meta["Version"] == __version__
    assert meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["Author-email"] and meta["Keywords"]
    classifiers = meta.get_all("Classifier") or []
    assert "Intended Audience :: Science/Research" in classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert {"Homepage", "Repository", "Changelog"} <= set(urls)
    # honest placeholders until the project is published: nothing that could be someone's site
    assert all(".invalid" in u for u in urls.values()), urls
    assert "MIT License" in (ROOT / "LICENSE").read_text()


def test_the_core_install_is_slim_and_each_extra_is_declared(dists: dict[str, Path]) -> None:
    meta = wheel_metadata(dists["wheel"])
    requires = meta.get_all("Requires-Dist") or []
    name = re.compile(r"[A-Za-z0-9_.-]+")
    core = {name.match(r).group(0).lower() for r in requires if "extra ==" not in r}  # type: ignore[union-attr]
    assert core == CORE, core
    assert set(meta.get_all("Provides-Extra") or []) == EXTRAS
    for extra, modules in {
        "plots": ["matplotlib"], "sandbox": ["starlette", "uvicorn"], "pandas": ["pandas"],
        "duckdb": ["duckdb", "narwhals"], "spark": ["pyspark", "narwhals"],
    }.items():  # fmt: skip
        for module in modules:
            assert any(r.startswith(module) and f"extra == '{extra}'" in r for r in requires), (
                extra,
                module,
            )
    # every declared dependency has a floor (checked by tests/test_install.py)
    for r in requires:
        if "extra == 'dev'" not in r and "tiktok-research" not in r:
            assert ">=" in r, r


def test_the_version_has_one_source() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/tiktok_research/_version.py"
    hits = [
        p.relative_to(ROOT)
        for p in (ROOT / "src").rglob("*.py")
        if re.search(r"""__version__\s*=\s*["']""", p.read_text())
    ]
    assert hits == [Path("src/tiktok_research/_version.py")], hits
    # the files that must repeat it agree with it
    citation = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf"^version: {re.escape(__version__)}$", citation, re.M), "CITATION.cff"
    first = re.search(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert first is not None and first.group(1) == __version__, "CHANGELOG.md top entry"
    done = run(sys.executable, "-m", "tiktok_research", "--version")
    assert done.stdout.strip() == f"tiktok-research {__version__}", done


def test_changelog_follows_keep_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "keepachangelog.com" in text
    entries = re.findall(r"^## \[([^\]]+)\] - (\S+)", text, re.M)
    assert entries and entries[0][0] == __version__
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}|Unreleased", date) for _, date in entries)
    sections = set(re.findall(r"^### (\w+)", text, re.M))
    assert sections <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
    assert "Added" in sections


def test_pyroma_rates_the_project_10_of_10(dists: dict[str, Path]) -> None:
    done = run(side_tool("pyroma"), "--file", dists["sdist"])
    assert "Final rating: 10/10" in done.stdout, done.stdout + done.stderr


def test_twine_check_passes(dists: dict[str, Path]) -> None:
    done = run(side_tool("twine"), "check", "--strict", dists["wheel"], dists["sdist"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2, done.stdout


def test_check_wheel_contents_passes(dists: dict[str, Path]) -> None:
    done = run(side_tool("check-wheel-contents"), dists["wheel"])
    assert done.returncode == 0 and ": OK" in done.stdout, done.stdout + done.stderr


def test_citation_cff_is_valid() -> None:
    done = run(side_tool("cffconvert"), "--validate", "-i", ROOT / "CITATION.cff")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid" in done.stdout, done.stdout


def test_contributing_says_how_to_run_the_tests_and_the_benchmarks() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    assert "bash scripts/test" in text
    for bench in (ROOT / "benchmarks").glob("bench_*.py"):
        assert f"benchmarks/{bench.name}" in text, bench.name


def _tests_using_shared_examples(tests: Path) -> list[str]:
    """Test modules that read the API examples (``tests/_shared.py``)."""
    return sorted(
        p.name
        for p in tests.glob("test_*.py")
        if re.search(r"^\s*(from _shared import|import _shared)", p.read_text(), re.M)
    )


def test_the_sdist_holds_every_file_of_the_repository(dists: dict[str, Path]) -> None:
    """Tests, sample data, notebooks, scripts, README: a packager's checkout is the sdist."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist): nothing to compare with")
    tracked = run("git", "ls-files", "-z")
    assert tracked.returncode == 0, tracked.stderr
    files = {f for f in tracked.stdout.split("\0") if f and (ROOT / f).is_file()}
    with tarfile.open(dists["sdist"]) as tar:
        members = {m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name}
    left_out = {f for f in files - members if not f.startswith(".ci/")}
    assert not left_out, sorted(left_out)
    assert "tests/smoke_install.py" in members and "data/sample/README.md" in members


def test_the_sdist_tests_run_without_anything_beside_it(
    dists: dict[str, Path], tmp_path: Path
) -> None:
    """A packager unpacks the sdist and runs its tests with no ``shared/`` folder beside it and
    no side environment: every module is collected, and the tests that read the API examples
    pass or skip with a reason."""
    with tarfile.open(dists["sdist"]) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    (root,) = (tmp_path / "unpacked").iterdir()
    assert not (root.parent / "shared").exists()
    assert not (root / ".venv").exists() and not (root / ".git").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TIKTOK_RESEARCH_EXAMPLES")}
    env["PYTHONPATH"] = str(root / "src")  # the sdist's own code, not this checkout's
    probe = subprocess.run(
        [sys.executable, "-c", "import tiktok_research; print(tiktok_research.__file__)"],
        cwd=root, capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert probe.stdout.startswith(str(root / "src")), probe
    pytest_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    collected = subprocess.run(
        [*pytest_cmd, "--collect-only", "tests"],
        cwd=root, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-2000:]
    assert "error" not in collected.stdout.splitlines()[-1], collected.stdout[-2000:]
    modules = _tests_using_shared_examples(root / "tests")
    assert "test_api_examples.py" in modules, modules
    done = subprocess.run(
        [*pytest_cmd, "-x", *[f"tests/{m}" for m in modules]],
        cwd=root, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    tail = done.stdout[-3000:] + done.stderr[-2000:]
    assert done.returncode == 0, tail
    assert " failed" not in done.stdout and " error" not in done.stdout, tail
