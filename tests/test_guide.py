"""The user guide's Python examples run as written, in order, in a fresh session on the sandbox.

The guide (``docs/guide/*.md``, pages of the documentation site) is read page after page in the
order of the site's menu, as a newcomer reads it (tests/_guide.py). Each ```python block runs in
one namespace, in a scratch folder that holds a copy of the sample dumps at the same place as in
the repository (``data/sample/dumps``), with ``TIKTOK_RESEARCH_SANDBOX=1`` (the guide's own first
block makes the sandbox the session's default too). A block preceded by a line
``<!-- not run by tests/test_guide.py: ... -->`` is skipped (it needs real credentials or a
cluster); the reason is part of the marker. The page on other engines (DuckDB, Spark, Dask) runs
in tests/test_guide_scale.py, on the demo's output and the test session's Spark; the ad library's
page in tests/test_cli_adlib.py.

The README is the short front page: its two commands are the ones CI and the demo run, and its
links lead to pages that exist.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import pytest

from _guide import GUIDE, README, ROOT, guide_pages, session_blocks

BLOCKS = session_blocks()


def test_the_guide_has_examples_and_says_why_it_skips_one() -> None:
    assert len(BLOCKS) >= 10
    skipped = [b for b in BLOCKS if b[3] is not None]
    assert len(skipped) <= 3, [b[:2] for b in skipped]  # the rest must run


def test_every_page_of_the_guide_is_in_the_menu_once() -> None:
    listed = [p.name for p in guide_pages()]
    assert len(listed) == len(set(listed)), listed
    assert sorted(listed) == sorted(p.name for p in GUIDE.glob("*.md"))
    assert listed[0] == "first-collection.md"  # the page that sets the session up comes first


@pytest.mark.slow
def test_the_guide_python_examples_run_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from tiktok_research import client as client_module

    shutil.copytree(ROOT / "data" / "sample" / "dumps", tmp_path / "data" / "sample" / "dumps")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIKTOK_RESEARCH_SANDBOX", "1")
    monkeypatch.setattr(client_module, "_default", None)
    namespace: dict[str, object] = {"__name__": "__guide__"}
    try:
        for where, line, code, why in BLOCKS:
            if why is not None:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    exec(compile(code, f"{where}:{line}", "exec"), namespace)
                except Exception as e:  # pragma: no cover - the message says which block
                    pytest.fail(f"the block at {where}:{line} fails: {type(e).__name__}: {e}")
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
    # a block reads only what the blocks before it made: the archive page merged "archive/"
    # before any block had written to it ("archive: file not found; skipped", an empty result)
    missing = [r.getMessage() for r in caplog.records if "not found" in r.getMessage()]
    assert not missing, missing


def test_the_readme_commands_are_the_ones_ci_and_the_demo_run() -> None:
    """The README's two commands, as written, are the demo script and the suite that CI runs."""
    text = README.read_text(encoding="utf-8")
    commands = [
        line.split("#", 1)[0].strip()
        for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S)
        for line in block.splitlines()
        if line.startswith("bash ")
    ]
    assert commands == ["bash scripts/demo", "bash scripts/test"], commands
    assert (ROOT / "scripts" / "demo").is_file()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8") if (ROOT / ".ci").exists() else None
    if ci is not None:  # an unpacked sdist has no .ci
        assert "bash scripts/test" in ci


def test_the_readme_links_lead_to_files_that_exist_and_to_every_guide_page() -> None:
    text = README.read_text(encoding="utf-8")
    links = [t for t in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text) if "://" not in t]
    missing = [t for t in links if not (ROOT / t).exists()]
    assert not missing, missing
    linked = {Path(t).name for t in links if t.startswith("docs/guide/")}
    assert linked == {p.name for p in guide_pages()}, sorted(
        {p.name for p in guide_pages()} - linked
    )
