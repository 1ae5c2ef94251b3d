"""The in-memory merge: frames collected, then concatenated and de-duplicated per table."""

from __future__ import annotations

import itertools

import polars as pl

from .. import schemas


def dedup(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """Keep, for each primary key, the most recently retrieved row (rows stay in reading order).

    Ties (the same retrieval and page) go to the row read last. The choice is worked out on the
    key columns only; the wide, nested table is filtered once, and not copied at all when nothing
    is duplicated.
    """
    pk = schemas.primary_key(table)
    keys = df.select(*pk, "_retrieved_at", "_order").with_row_index("_i")
    has_key = pl.all_horizontal([pl.col(c).is_not_null() for c in pk])
    latest = (
        keys.filter(has_key)
        .sort(["_retrieved_at", "_order"], nulls_last=False, maintain_order=True)
        .unique(subset=pk, keep="last")["_i"]
    )
    keyless = keys.filter(~has_key)["_i"]
    out = df.drop("_retrieved_at", "_order")
    if latest.len() + keyless.len() == df.height:
        return out
    mask = pl.int_range(pl.len(), dtype=pl.get_index_type()).is_in(
        pl.concat([latest, keyless]).implode()
    )
    out = out.filter(mask)
    if keyless.len():
        # rows without a key (e.g. an id beyond int64): de-duplicated on the whole row
        out = out.unique(keep="last", maintain_order=True)
    return out


_Frame = tuple[str, int, int, pl.DataFrame]  # table, first and last file index, rows


class InMemory:
    """Collects the frames read, then concatenates and de-duplicates each table."""

    def __init__(self) -> None:
        self.parts: dict[str, list[_Frame]] = {}

    def add(self, table: str, first: int, last: int, df: pl.DataFrame) -> None:
        self.parts.setdefault(table, []).append((table, first, last, df))

    def finish(self) -> dict[str, pl.DataFrame]:
        merged: dict[str, pl.DataFrame] = {}
        for table in schemas.SCHEMAS:
            if table not in self.parts:
                continue
            cols = [*schemas.SCHEMAS[table], "_retrieved_at", "_order"]
            chunks = sorted(self.parts.pop(table), key=lambda f: f[1])
            df = pl.concat(
                [f[3].select(cols) for f in chunks], how="vertical_relaxed", rechunk=False
            )
            if any(b[1] < a[2] for a, b in itertools.pairwise(chunks)):
                # frames of a batch span several files: put the rows back in reading order
                df = df.sort("_order", maintain_order=True)
            chunks.clear()
            merged[table] = dedup(df, table)
        return merged
