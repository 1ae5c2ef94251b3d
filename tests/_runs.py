"""What a run stopped by its budget says (kept apart from ``_shared``: a test module that imports
``_shared`` reads the API examples, and the sdist test runs every such module again)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

import tiktok_research as tr


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
