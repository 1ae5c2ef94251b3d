"""Session 6's outside pass, its leftovers (reports/outside6.md, "Left undone").

Each test here failed on main 6e6d682 before its fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import tiktok_research as tr
from tiktok_research.errors import InvalidRequestError
from tiktok_research.query import as_query

CLIMATE, CATS = tr.Q.hashtag_name.eq("climate"), tr.Q.hashtag_name.eq("cats")


def _shown(q: tr.Q) -> str:
    """The query as a dataset folder records it (and its refusal shows it)."""
    return json.dumps(as_query(q).to_dict(), sort_keys=True)


def test_a_result_of_another_query_is_refused_by_write_dataset(tmp_path: Path) -> None:
    """Issue 18 item 2: "a different query written into an existing dataset folder is refused, as
    update already does". `tr.write_dataset(cats, folder)` into the folder of a climate
    collection was accepted: the folder mixed two queries while its metadata said climate."""
    client = tr.Client.sandbox()
    root = tmp_path / "climate"
    climate = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-01-10", client=client,
                              dataset=root, progress=False)  # fmt: skip
    cats = tr.fetch_videos(CATS, "2024-01-01", "2024-01-10", client=client, progress=False)
    assert cats.height and climate.height
    for write in (tr.write_dataset, tr.io.write_dataset):
        with pytest.raises(InvalidRequestError) as e:
            write(cats, root, table="videos")
        said = str(e.value)
        # the same refusal as the other writers': the folder, the two queries, the fix
        assert "another query" in said and str(root) in said, said
        assert _shown(CLIMATE) in said and _shown(CATS) in said, said
        assert "another folder" in said, said
    held = tr.io.read_dataset(root, table="videos").select("id").collect()["id"]
    assert sorted(held.to_list()) == sorted(climate["id"].to_list()), "nothing was written"
    # the result of the folder's own query is written; so is one into a folder of its own
    tr.write_dataset(climate, root, table="videos")
    tr.write_dataset(cats, tmp_path / "cats", table="videos")
    with pytest.raises(InvalidRequestError, match="another query"):  # cats' folder now says so
        tr.write_dataset(climate, tmp_path / "cats", table="videos")
    # a plain DataFrame records no query: written as before
    tr.write_dataset(pl.DataFrame(cats), root, table="videos")
    held = tr.io.read_dataset(root).select("id").collect()["id"]
    assert held.len() == climate.height + cats.height
