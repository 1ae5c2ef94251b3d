"""The user guide of the documentation site (``docs/guide/*.md``), as the tests read it.

The guide's pages are read in the order of the site's menu (``mkdocs.yml``), which is the order a
newcomer follows: each page's Python examples use what the pages before it made. Two pages run
elsewhere, on what they need: the page on other engines (the demo's output and the test run's
Spark session, tests/test_guide_scale.py) and the ad library (tests/test_cli_adlib.py).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
GUIDE = DOCS / "guide"
MKDOCS = ROOT / "mkdocs.yml"

# a block preceded by this marker is not run (it needs real credentials or a cluster)
SKIP = re.compile(r"<!-- not run by tests/test_guide\.py: (?P<why>.+?) -->\s*$")
RUN_ELSEWHERE = {
    "scale.md": "tests/test_guide_scale.py",
    "ads.md": "tests/test_cli_adlib.py",
}


def guide_pages() -> list[Path]:
    """The guide's pages in the order of the site's menu."""
    names = re.findall(r"^\s*- [^\n]*?\bguide/([\w-]+\.md)\s*$", MKDOCS.read_text("utf-8"), re.M)
    return [GUIDE / name for name in names]


def page(name: str) -> str:
    """The text of ``docs/guide/NAME``."""
    return (GUIDE / name).read_text(encoding="utf-8")


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


def session_blocks() -> list[tuple[str, int, str, str | None]]:
    """``(where, line, code, why)`` of a newcomer's session: the Python blocks of every guide
    page in the menu's order, except the pages that run elsewhere (``RUN_ELSEWHERE``)."""
    out: list[tuple[str, int, str, str | None]] = []
    for path in guide_pages():
        if path.name in RUN_ELSEWHERE:
            continue
        for line, code, why in python_blocks(path.read_text(encoding="utf-8")):
            out.append((f"docs/guide/{path.name}", line, code, why))
    return out
