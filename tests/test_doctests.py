"""Every example in a docstring of the package runs and shows what it says.

Each docstring with examples (``>>>``) is one test. It runs as a user would paste it: in a scratch
folder, with ``TIKTOK_RESEARCH_SANDBOX=1`` (so ``fetch_*`` calls without a client run on the
sandbox and spend nothing real; the waits of a sandbox client move the sandbox clock), and with
``spark``, the run's local SparkSession, for the examples that use one (those tests are marked
``spark``). An example may be skipped (``# doctest: +SKIP``) only for a reason listed in
``SKIPPED``.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import tiktok_research
from _sandboxes import new_sandbox

SRC = Path(tiktok_research.__file__).resolve().parent
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

#: The only examples that may stay unrun, with the reason (file, the line's text).
SKIPPED = {
    # serve() runs the HTTP server until it is stopped: the example would never return
    ("sandbox/_server.py", ">>> serve(port=0, config=SandboxConfig(n_videos=2_000))"),
}


def _docstring_examples() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    found: list[doctest.DocTest] = []
    names = [tiktok_research.__name__] + [
        m.name for m in pkgutil.walk_packages(tiktok_research.__path__, "tiktok_research.")
    ]
    for name in sorted(names):
        module = importlib.import_module(name)
        # only what the module itself defines, and only docstrings with examples
        found.extend(t for t in finder.find(module, name) if t.examples)
    return sorted(found, key=lambda t: t.name)


EXAMPLES = _docstring_examples()
USES_SPARK = re.compile(r"\bspark\b")


def _param(test: doctest.DocTest) -> Any:
    source = "\n".join(e.source for e in test.examples)
    if USES_SPARK.search(source) or ".spark." in test.name:  # needs pyspark, or a session
        return pytest.param(test, id=test.name, marks=[pytest.mark.spark])
    return pytest.param(test, id=test.name)


def test_the_package_has_docstring_examples() -> None:
    # a finder that looks in the wrong place, or examples all skipped, would test nothing
    assert len(EXAMPLES) >= 60
    assert sum(len(t.examples) for t in EXAMPLES) >= 150


def test_no_example_is_skipped_without_a_listed_reason() -> None:
    skipped = set()
    for path in sorted(SRC.rglob("*.py")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "doctest: +SKIP" in line:
                text = line.split("#", 1)[0].strip()
                skipped.add((path.relative_to(SRC).as_posix(), text))
    assert skipped <= SKIPPED, f"examples skipped with no reason in SKIPPED: {skipped - SKIPPED}"


_REAL_SANDBOX_CLIENT = tiktok_research.Client.sandbox.__func__


def _sandbox_client(cls: Any, sandbox: Any = None, **kw: Any) -> Any:
    """``Client.sandbox``, except that its waits move the sandbox clock (as the CLI's --sandbox).

    A compliance task stays ``Processing`` for 30 s of sandbox time; an example that refreshes a
    table shows the same result without the test waiting for them.
    """
    sb = new_sandbox() if sandbox is None else sandbox
    kw.setdefault("sleep", sb.advance)
    return _REAL_SANDBOX_CLIENT(cls, sb, **kw)


@pytest.mark.parametrize("test", [_param(t) for t in EXAMPLES])
def test_docstring_example(
    test: doctest.DocTest,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tiktok_research import client as client_module

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIKTOK_RESEARCH_SANDBOX", "1")
    monkeypatch.setattr(client_module, "_default", None)
    monkeypatch.setattr(client_module.Client, "sandbox", classmethod(_sandbox_client))
    globs = dict(test.globs)
    if request.node.get_closest_marker("spark"):
        globs["spark"] = request.getfixturevalue("spark")
    test = doctest.DocTest(
        test.examples, globs, test.name, test.filename, test.lineno, test.docstring
    )
    out: list[str] = []
    monkeypatch.setenv("MPLBACKEND", "Agg")
    try:
        runner = doctest.DocTestRunner(optionflags=FLAGS)
        result = runner.run(test, out=out.append, clear_globs=True)
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
    assert result.failed == 0, "".join(out)
