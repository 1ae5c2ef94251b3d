"""The recorded API examples ship with the repository, each with its provenance."""

from __future__ import annotations

import re

from _shared import BUNDLED


def test_the_examples_ship_with_the_repository() -> None:
    """The conformance and parsing tests read these; without them they would test nothing."""
    assert BUNDLED.is_dir(), f"the API examples are missing from the repository ({BUNDLED})"
    assert len(list(BUNDLED.glob("*__200__*.json"))) >= 20


def test_every_example_says_where_it_comes_from() -> None:
    readme = (BUNDLED / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w.]+\.(?:json|html))`", readme))
    files = {p.name for p in BUNDLED.iterdir() if p.suffix in {".json", ".html"}}
    assert files <= named, f"examples without a provenance row: {sorted(files - named)}"
