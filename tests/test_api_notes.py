"""The API notes ship with the repository, and every citation of them leads somewhere.

Code comments, docstrings, tests and the README cite ``docs/api-notes.md`` by section ("api-notes
§6.4.1"). A citation of a section that does not exist, or of a document outside the repository,
leads nowhere for the people who pick the project up.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTES = ROOT / "docs" / "api-notes.md"

# "api-notes §3.4-3.6", "api-notes §6.1 / §2", "api-notes §5.3, §6.4.7", "api-notes §1-9 with the
# §11 decisions": a citation and the section numbers chained to it
CITATION = re.compile(
    r"api-notes(?:\.md)?\s+(§\d+(?:\.\d+)*(?:(?:-|, | / | and |, and | with the )§?\d+(?:\.\d+)*)*)"
)
NUMBER = re.compile(r"\d+(?:\.\d+)*")
# "## 6. Errors", "### 6.4 Known quirks", "#### 12.3.1 Query Ads", "- **6.4.1 A search_id ...",
# "- **5.3** The cursor ..."
HEADING = re.compile(r"^#{2,4} (\d+(?:\.\d+)*)\.? ", re.MULTILINE)
ITEM = re.compile(r"^- \*\*(\d+\.\d+(?:\.\d+)*)[* ]", re.MULTILINE)


def sections() -> set[str]:
    text = NOTES.read_text(encoding="utf-8")
    return set(HEADING.findall(text)) | set(ITEM.findall(text))


def cited_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the list of tracked files is unknown")
    suffixes = {".py", ".md", ".ipynb", ".toml", ".txt", ".cfg"}
    return [ROOT / f for f in out if Path(f).suffix in suffixes and (ROOT / f).is_file()]


def test_the_notes_number_every_section_the_code_relies_on() -> None:
    have = sections()
    # the sections that later work builds on (the ad library, eras, data quality) are there too
    wanted = {"0", "1", "2", "3.1", "3.11", "4", "5.3", "6.1", "6.4.1", "6.4.8", "7", "8"}
    wanted |= {"11", "12", "12.2", "12.3.5", "13", "14"}
    assert wanted <= have, f"api-notes has no § {sorted(wanted - have)}"


def test_every_citation_of_the_notes_names_a_section_that_exists() -> None:
    have = sections()
    bad: list[str] = []
    count = 0
    for path in cited_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in CITATION.finditer(text):
            for number in NUMBER.findall(m.group(1)):
                count += 1
                if number not in have:
                    line = text.count("\n", 0, m.start()) + 1
                    bad.append(f"{path.relative_to(ROOT)}:{line}: §{number}")
    assert count >= 50, f"only {count} citations found: is the pattern still right?"
    assert not bad, "citations of api-notes sections that do not exist:\n" + "\n".join(bad)


def test_nothing_cites_the_specification_outside_the_repository() -> None:
    bad = []
    for path in cited_files():
        if path == Path(__file__).resolve():
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()):
            if re.search(r"\bSPEC(\.md)?\b|shared/api", line):
                bad.append(f"{path.relative_to(ROOT)}:{i + 1}: {line.strip()}")
    assert not bad, "citations that lead outside the repository:\n" + "\n".join(bad)


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    kept = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return kept.replace(" ", "-")


def test_the_links_of_the_notes_and_of_the_readme_to_them_resolve() -> None:
    notes = NOTES.read_text(encoding="utf-8")
    anchors = {_slug(h) for h in re.findall(r"^#{1,4} (.+)$", notes, re.MULTILINE)}
    for target in re.findall(r"\]\(#([^)]+)\)", notes):
        assert target in anchors, f"api-notes links to #{target}, which is no heading"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/api-notes\.md)(?:#([^)]+))?\)", readme)
    assert links, "the README does not link the API notes"
    for _, target in links:
        assert not target or target in anchors, f"the README links to #{target}"
