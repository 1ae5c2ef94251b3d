"""Where the recorded API examples are, and what a run stopped by its budget says.

The recorded API examples: ``tests/fixtures/api-examples`` in the repository.

The examples ship with the repository (their provenance is in that folder's README), so the tests
need nothing outside it. ``TIKTOK_RESEARCH_EXAMPLES`` points the tests at another copy (a folder of
the same layout), for instance to check a newer set of examples; a folder that is not there makes
the tests that need an example skip with a message, never fail on a missing file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import tiktok_research as tr

#: The examples shipped with the repository.
BUNDLED = Path(__file__).resolve().parent / "fixtures" / "api-examples"
EXAMPLES = Path(os.environ.get("TIKTOK_RESEARCH_EXAMPLES") or BUNDLED)


def example(name: str) -> Path:
    """The path of one example; the calling test skips cleanly when it is not there."""
    path = EXAMPLES / name
    if not path.is_file():
        pytest.skip(f"the API example {name} is not in {EXAMPLES}")
    return path


@contextlib.contextmanager
def stopped_by_budget() -> Iterator[None]:
    """The warnings of a run that its client's ``max_requests`` stops: before its first request
    it says that the budget will not cover it (a ``QuotaWarning`` naming ``max_requests``, issue
    18 items 9 and 12), and when it stops that the collection is incomplete."""
    with (
        pytest.warns(tr.QuotaWarning, match=r"max_requests=\d+ leaves \d+: it will stop there"),
        pytest.warns(tr.IncompleteCollectionWarning),
    ):
        yield
