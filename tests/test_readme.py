"""The README's Python examples run as written, in order, in a fresh session on the sandbox.

Each ```python block of README.md runs in one namespace, in a scratch folder that holds a copy
of the sample dumps at the same place as in the repository (``data/sample/dumps``), with
``TIKTOK_RESEARCH_SANDBOX=1`` (the README's own first block makes the sandbox the session's
default too). A block preceded by a line
``<!-- not run by tests/test_readme.py: ... -->`` is skipped (it needs real credentials or a
cluster); the reason is part of the marker. The section on other engines (DuckDB, Spark, Dask)
runs in tests/test_readme_scale.py, on the demo's output and the test session's Spark.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SKIP = re.compile(r"<!-- not run by tests/test_readme\.py: (?P<why>.+?) -->\s*$")


def python_blocks(text: str) -> list[tuple[int, str, str | None]]:
    """``(line, code, reason to skip or None)`` of every python block."""
    lines = text.splitlines()
    out: list[tuple[int, str, str | None]] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i
            i += 1
            body: list[str] = []
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            before = lines[start - 1] if start else ""
            m = SKIP.search(before)
            out.append((start + 1, "\n".join(body), m.group("why") if m else None))
        i += 1
    return out


ENGINES = "\n## 15. When one machine is not enough"
BLOCKS = python_blocks(README.read_text(encoding="utf-8").split(ENGINES, 1)[0])


def test_the_readme_has_examples_and_says_why_it_skips_one() -> None:
    assert len(BLOCKS) >= 10
    skipped = [b for b in BLOCKS if b[2] is not None]
    assert len(skipped) <= 3, [b[0] for b in skipped]  # the rest must run


@pytest.mark.slow
def test_the_readme_python_examples_run_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from tiktok_research import client as client_module

    shutil.copytree(ROOT / "data" / "sample" / "dumps", tmp_path / "data" / "sample" / "dumps")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIKTOK_RESEARCH_SANDBOX", "1")
    monkeypatch.setattr(client_module, "_default", None)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    try:
        for line, code, why in BLOCKS:
            if why is not None:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    exec(compile(code, f"README.md:{line}", "exec"), namespace)
                except Exception as e:  # pragma: no cover - the message says which block
                    pytest.fail(f"the README block at line {line} fails: {type(e).__name__}: {e}")
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
