"""Where the recorded API examples are: ``tests/fixtures/api-examples`` in the repository.

The examples ship with the repository (their provenance is in that folder's README), so the tests
need nothing outside it. ``TIKTOK_RESEARCH_EXAMPLES`` points the tests at another copy (a folder of
the same layout), for instance to check a newer set of examples; a folder that is not there makes
the tests that need an example skip with a message, never fail on a missing file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: The examples shipped with the repository.
BUNDLED = Path(__file__).resolve().parent / "fixtures" / "api-examples"
EXAMPLES = Path(os.environ.get("TIKTOK_RESEARCH_EXAMPLES") or BUNDLED)


def example(name: str) -> Path:
    """The path of one example; the calling test skips cleanly when it is not there."""
    path = EXAMPLES / name
    if not path.is_file():
        pytest.skip(f"the API example {name} is not in {EXAMPLES}")
    return path
