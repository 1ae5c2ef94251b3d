"""The dataset merge: rows streamed into hive Parquet datasets in bounded memory.

Rows are buffered; past ``_SPILL`` bytes each table's rows are hash-partitioned on the primary key
and written to one temporary Arrow IPC file (lz4), partition after partition (Parquet's encoding
costs milliseconds per partition and file, Arrow's almost nothing). At the end each partition (all
the rows that can share a key) is read back alone from every spill file, de-duplicated exactly as
in memory and written to the table's dataset. A partition that came out larger than
``_BUCKET_MAX`` (skewed keys, or more input than foreseen) is split again. Everything is written
under a staging folder inside the target and moved into place at the end.
"""

from __future__ import annotations

import math
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.ipc

from .. import schemas
from ..errors import OutputExistsError
from ._inputs import Item
from ._memory import dedup

_SPILL = 32 << 20  # rows held in memory (estimated size) before spilling
_BUCKET_INPUT = 32 << 20  # JSON bytes of input per spill partition (estimate)
_BUCKETS_MAX = 512  # partitions at most (past ~16 GB of input they grow, and split at the end)
_BUCKET_MAX = 128 << 20  # a spill partition larger than this (in memory) is split again
_OUTPUT = 32 << 20  # rows written per file group (estimated size)
_GZIP_GUESS = 8  # how much a gzip dump inflates, to size the spill partitions


def _typed(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """Rows of ``table`` with its declared types plus ``_retrieved_at`` and ``_order``."""
    declared = schemas.SCHEMAS[table]
    return df.select(
        *[pl.col(c).cast(t) for c, t in declared.items()],
        pl.col("_retrieved_at").cast(pl.Datetime("us", "UTC")),
        pl.col("_order").cast(pl.Int64),
    )


def _buckets(df: pl.DataFrame, table: str, n: int, seed: int) -> pl.Series:
    """Spill partition of each row: a hash of its primary key (of the whole row if keyless)."""
    pk = schemas.primary_key(table)
    h = df.select(pk).hash_rows(seed=seed)
    has_key = df.select(pl.all_horizontal([pl.col(c).is_not_null() for c in pk])).to_series()
    if not has_key.all():
        whole = df.select(list(schemas.SCHEMAS[table])).hash_rows(seed=seed)
        h = pl.select(pl.when(has_key).then(h).otherwise(whole)).to_series()
    return (h % n).cast(pl.Int32).alias("_bucket")


_Piece = tuple[Path, int, int, int]  # spill file, first batch, batches, estimated size in memory


class ToDataset:
    """Streams rows into hive Parquet datasets in bounded memory (see the module docstring).

    Rows are buffered; past ``_SPILL`` bytes each table's rows are hash-partitioned on the primary
    key and written to one temporary Arrow IPC file (lz4), partition after partition (Parquet's
    encoding costs milliseconds per partition and file, Arrow's almost nothing). At the end each
    partition (all the rows that can share a key) is read back alone from every spill file,
    de-duplicated exactly as in memory and written to the table's dataset. A partition that came
    out larger than ``_BUCKET_MAX`` (skewed keys, or more input than foreseen) is split again.
    Everything is written under a staging folder inside the target and moved into place at the end.
    """

    def __init__(self, staging: Path, n_buckets: int, provenance: dict[str, Any]) -> None:
        self.staging = staging
        self.spill_dir = staging / "spill"
        self.out_dir = staging / "out"
        self.n = n_buckets
        self.provenance = provenance
        self.run = staging.name.removeprefix(".merge-")
        self.buffers: dict[str, list[pl.DataFrame]] = {}
        self.buffered = 0
        self.spilled: dict[str, dict[int, list[_Piece]]] = {}
        self.seq = 0
        self.rows: dict[str, int] = {}
        self._out: dict[str, list[pl.DataFrame]] = {}
        self._out_size: dict[str, int] = {}

    def add(self, table: str, first: int, last: int, df: pl.DataFrame) -> None:
        df = _typed(df, table)
        self.buffers.setdefault(table, []).append(df)
        self.buffered += int(df.estimated_size())
        if self.buffered > _SPILL:
            self._spill()

    def _write_spill(self, table: str, df: pl.DataFrame, n: int, seed: int) -> dict[int, _Piece]:
        """Write ``df`` hash-partitioned in ``n`` to one file, one row group per partition."""
        if n > 1:
            parts = df.with_columns(_buckets(df, table, n, seed)).partition_by(
                "_bucket", as_dict=True, include_key=False, maintain_order=True
            )
            items = sorted((int(k[0]), v) for k, v in parts.items())  # type: ignore[call-overload]
            del parts
        else:
            items = [(0, df)]
        del df
        folder = self.spill_dir / table
        folder.mkdir(parents=True, exist_ok=True)
        self.seq += 1
        path = folder / f"{self.seq:07d}.arrow"
        pieces: dict[int, _Piece] = {}
        options = pa.ipc.IpcWriteOptions(compression="lz4")
        try:
            with (
                pa.OSFile(str(path), "wb") as sink,
                pa.ipc.new_file(sink, _spill_schema(table), options=options) as writer,
            ):
                first = 0
                for bucket, part in items:
                    batches = part.to_arrow().to_batches()
                    for batch in batches:
                        writer.write_batch(batch)
                    pieces[bucket] = (path, first, len(batches), int(part.estimated_size()))
                    first += len(batches)
        except OSError as exc:  # e.g. the disk is full: the error the disk gave, naming the file
            if exc.filename is None:
                exc.filename = str(path)
            raise
        return pieces

    def _spill(self) -> None:
        for table, frames in self.buffers.items():
            if not frames:
                continue
            df = pl.concat(frames, how="vertical", rechunk=False)
            frames.clear()
            spilled = self.spilled.setdefault(table, {})
            for bucket, piece in self._write_spill(table, df, self.n, 0).items():
                spilled.setdefault(bucket, []).append(piece)
        self.buffered = 0

    def finish(self) -> dict[str, int]:
        for table in schemas.SCHEMAS:
            frames = self.buffers.pop(table, [])
            if table not in self.spilled:
                if frames:  # it all fitted in memory: no spill needed
                    df = pl.concat(frames, how="vertical", rechunk=False)
                    frames.clear()
                    self._emit(table, dedup(df.sort("_order", maintain_order=True), table))
                    self._flush(table)
                continue
            if frames:
                self.buffers[table] = frames
                self._spill()
            for _, pieces in sorted(self.spilled.pop(table).items()):
                self._finish_bucket(table, pieces, depth=1)
            self._flush(table)
            shutil.rmtree(self.spill_dir / table, ignore_errors=True)
        return self.rows

    def _finish_bucket(self, table: str, pieces: list[_Piece], depth: int) -> None:
        size = sum(piece[3] for piece in pieces)
        if size > _BUCKET_MAX and depth <= 3:
            m = math.ceil(size / (_BUCKET_MAX // 2))
            sub: dict[int, list[_Piece]] = {}
            for piece in pieces:
                df = _read_piece(piece)
                for bucket, part in self._write_spill(table, df, m, depth).items():
                    sub.setdefault(bucket, []).append(part)
            for _, sub_pieces in sorted(sub.items()):
                self._finish_bucket(table, sub_pieces, depth + 1)
            return
        # rows of one page (the only ones that can tie on retrieval and order) are in one piece
        # in reading order, so dedup breaks ties as the in-memory merge does without a sort
        parts = [_read_piece(piece) for piece in pieces]
        df = pl.concat(parts, how="vertical", rechunk=False) if len(parts) > 1 else parts[0]
        del parts
        self._emit(table, dedup(df, table))

    def _emit(self, table: str, df: pl.DataFrame) -> None:
        if not df.height:
            return
        self.rows[table] = self.rows.get(table, 0) + df.height
        self._out.setdefault(table, []).append(df)
        self._out_size[table] = self._out_size.get(table, 0) + int(df.estimated_size())
        if self._out_size[table] > _OUTPUT:
            self._flush(table)

    def _flush(self, table: str) -> None:
        frames = self._out.pop(table, [])
        self._out_size.pop(table, None)
        if not frames:
            return
        from ..io import write_parquet

        df = pl.concat(frames, how="vertical", rechunk=False)
        frames.clear()
        self.seq += 1
        run = f"{self.run}-{self.seq:05d}"
        root = self.out_dir / table
        provenance = {**self.provenance, "run_id": run}
        if "create_time" not in schemas.SCHEMAS[table]:
            write_parquet(df, root / f"part-{run}-0.parquet", table=table, provenance=provenance)
            return
        # the layout of io.write_dataset (hive folders by create_month, per-run file names, the
        # declared schema in every file), written one month at a time: half the memory of
        # pyarrow's partitioning writer
        month = pl.col("create_time").dt.strftime("%Y-%m").fill_null("unknown")
        parts = df.with_columns(month.alias("_month")).partition_by(
            "_month", as_dict=True, include_key=False
        )
        del df
        for (key,), part in sorted(parts.items()):
            path = root / f"create_month={key}" / f"part-{run}-0.parquet"
            write_parquet(part, path, table=table, provenance=provenance)


def _spill_schema(table: str) -> pa.Schema:
    """Arrow schema of spilled rows: the declared schema plus ``_retrieved_at`` and ``_order``."""
    return (
        schemas.arrow_schema(table)
        .append(pa.field("_retrieved_at", pa.timestamp("us", tz="UTC")))
        .append(pa.field("_order", pa.int64()))
    )


def _read_piece(piece: _Piece) -> pl.DataFrame:
    """The rows of one partition in one spill file."""
    path, first, count, _ = piece
    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_file(source)
        batches = [reader.get_batch(i) for i in range(first, first + count)]
        table = pa.Table.from_batches(batches, schema=reader.schema)
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame


def prepare_dataset(target: Path, overwrite: bool) -> Path:
    """Check the target folder before anything is read; return the staging folder to write to.

    A merge is the de-duplicated whole of its inputs, so a second merge added to the same folder
    would hold every row twice: a folder that is not empty is refused unless ``overwrite``, which
    replaces the tables in it once the new ones are complete (nothing is replaced on failure).
    """
    if target.exists() and not target.is_dir():
        raise OutputExistsError(f"{target} is a file: give a folder for the datasets", path=target)
    if target.is_dir() and not overwrite:
        inside = sorted(p.name for p in target.iterdir())
        if inside and all(name.startswith(".merge-") for name in inside):
            raise OutputExistsError(
                f"{target} holds the leftovers of an interrupted merge ({', '.join(inside)}): "
                "pass overwrite=True (--overwrite) to clear them, or choose another folder",
                path=target,
            )
        if inside:
            shown = ", ".join(inside[:5]) + (", ..." if len(inside) > 5 else "")
            raise OutputExistsError(
                f"{target} is not empty ({shown}): a second merge into it would hold every row "
                "twice. Choose an empty or new folder, or pass overwrite=True (--overwrite) to "
                "replace the tables in it",
                path=target,
            )
    staging = target / f".merge-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    staging.mkdir(parents=True)
    return staging


def publish(target: Path, staging: Path, overwrite: bool) -> None:
    """Move the new tables into place, replacing (all) the tables of an earlier merge.

    With ``overwrite``, the staging folders that interrupted merges left are removed too (without
    it the folder was empty when this merge began: another one would be a merge running now).
    """
    old = staging / "old"
    old.mkdir()
    for table in schemas.SCHEMAS:
        if (target / table).exists():
            (target / table).rename(old / table)
    out = staging / "out"
    if out.exists():
        for folder in out.iterdir():
            folder.rename(target / folder.name)
    for stale in target.glob(".merge-*") if overwrite else []:
        if stale != staging:
            shutil.rmtree(stale, ignore_errors=True)


def input_bytes(items: list[Item]) -> int:
    total = 0
    for item in items:
        if item.problem is None:
            try:
                size = item.path.stat().st_size
            except OSError:
                continue
            total += size * (_GZIP_GUESS if item.path.name.endswith(".gz") else 1)
    return total


def partitions_for(items: list[Item]) -> int:
    """Spill partitions for these inputs: about one per ``_BUCKET_INPUT`` bytes of JSON."""
    return min(_BUCKETS_MAX, max(1, math.ceil(input_bytes(items) / _BUCKET_INPUT)))
