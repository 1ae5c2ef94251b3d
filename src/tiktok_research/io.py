"""Writers: Parquet with provenance, a hive-partitioned dataset, CSV with ids as text, pandas.

Parquet files carry, in their key-value metadata, ``tiktok_research.schema_version``,
``tiktok_research.table``, ``tiktok_research.version`` and ``tiktok_research.provenance`` (a JSON
object: run id, query, retrieval window... whatever the caller passes).

The dataset writer uses ``pyarrow.dataset.write_dataset`` with hive folders on a low-cardinality
string key (``create_month=2024-01``), one file name per run (``part-{run_id}-{i}.parquet``) so a
second run adds files instead of overwriting, and the declared schema in every file, so polars,
pyarrow, DuckDB and pandas read the same table.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from . import schemas

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_dataset", "to_pandas", "write_csv", "write_dataset", "write_parquet"]

_KEY = "tiktok_research"
_ID_COLUMNS = frozenset(
    {"id", "video_id", "music_id", "playlist_id", "parent_comment_id", "shop_id", "product_id"}
)


def _metadata(table: str | None, provenance: dict[str, Any] | None) -> dict[bytes, bytes]:
    from . import __version__

    meta = {
        f"{_KEY}.schema_version": schemas.SCHEMA_VERSION,
        f"{_KEY}.version": __version__,
        f"{_KEY}.provenance": json.dumps(provenance or {}, default=str, sort_keys=True),
    }
    if table is not None:
        meta[f"{_KEY}.table"] = table
    return {k.encode(): v.encode() for k, v in meta.items()}


def _typed(df: pl.DataFrame, table: str | None) -> pl.DataFrame:
    return schemas.cast(df, table) if table is not None else df


def write_parquet(
    df: pl.DataFrame,
    path: str | Path,
    *,
    table: str | None = None,
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Write ``df`` to one Parquet file with schema version and provenance in its metadata.

    Args:
        df: the table.
        path: target file.
        table: table name; when given, ``df`` is cast to its declared schema first.
        provenance: anything JSON-serialisable that says where the data came from.

    Example:
        >>> import tempfile
        >>> p = write_parquet(schemas.empty("videos"), Path(tempfile.mkdtemp()) / "v.parquet",
        ...                   table="videos", provenance={"run": "r1"})
        >>> pq.read_metadata(p).metadata[b"tiktok_research.table"]
        b'videos'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    arrow = _typed(df, table).to_arrow()
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                           **_metadata(table, provenance)})  # fmt: skip
    pq.write_table(arrow, target, compression="zstd")
    return target


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``tiktok_research.*`` key-value metadata of a Parquet file (provenance decoded)."""
    raw = pq.read_metadata(path).metadata or {}
    out: dict[str, Any] = {}
    for k, v in raw.items():
        key = k.decode()
        if key.startswith(_KEY + "."):
            name = key[len(_KEY) + 1 :]
            out[name] = json.loads(v) if name == "provenance" else v.decode()
    return out


def _partition_column(df: pl.DataFrame, partition_by: str) -> pl.DataFrame:
    if partition_by == "create_month" and "create_month" not in df.columns:
        if "create_time" not in df.columns:
            raise ValueError("partition_by='create_month' needs a create_time column")
        return df.with_columns(
            pl.col("create_time").dt.strftime("%Y-%m").fill_null("unknown").alias("create_month")
        )
    if partition_by not in df.columns:
        raise ValueError(f"cannot partition by {partition_by!r}: not a column")
    return df.with_columns(pl.col(partition_by).cast(pl.String).fill_null("unknown"))


def write_dataset(
    df: pl.DataFrame,
    root: str | Path,
    *,
    table: str,
    partition_by: str = "create_month",
    run_id: str | None = None,
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Append ``df`` to a hive-partitioned Parquet dataset (``root/create_month=2024-01/...``).

    Each call writes new files named after ``run_id`` (a random id when omitted), so a second run
    adds to the dataset without overwriting; rerunning the same ``run_id`` replaces that run's
    files. Every file has the declared schema of ``table`` (partition key excluded).

    Args:
        df: rows of ``table``.
        root: dataset folder (e.g. ``data/videos``).
        table: table name (the schema every file gets).
        partition_by: ``"create_month"`` (derived from ``create_time``) or a column name.
        run_id: names this run's files.
        provenance: stored in each file's metadata.

    Returns:
        ``root``.
    """
    root_path = Path(root)
    root_path.mkdir(parents=True, exist_ok=True)
    run = run_id or uuid.uuid4().hex[:12]
    typed = _partition_column(schemas.cast(df, table), partition_by)
    arrow = typed.to_arrow()
    key_field = pa.field(partition_by, pa.string())
    schema = schemas.arrow_schema(table).append(key_field)
    schema = schema.with_metadata(_metadata(table, {**(provenance or {}), "run_id": run}))
    arrow = arrow.cast(schema)
    ds.write_dataset(
        arrow,
        root_path,
        format="parquet",
        partitioning=ds.partitioning(pa.schema([key_field]), flavor="hive"),
        basename_template=f"part-{run}-{{i}}.parquet",
        existing_data_behavior="overwrite_or_ignore",
        file_options=ds.ParquetFileFormat().make_write_options(compression="zstd"),
    )
    return root_path


def read_dataset(root: str | Path, table: str | None = None) -> pl.LazyFrame:
    """Lazily read a dataset written by :func:`write_dataset` (partition key as a String column).

    Args:
        root: dataset folder.
        table: when given, columns are checked/cast to the declared schema (key column kept).
    """
    lf = pl.scan_parquet(
        str(Path(root) / "**" / "*.parquet"), hive_partitioning=True, hive_schema=None
    )
    if table is None:
        return lf
    names = lf.collect_schema().names()
    declared = schemas.SCHEMAS[table]
    extra = [c for c in names if c not in declared]
    return lf.select(
        *[
            pl.col(c).cast(t) if c in names else pl.lit(None, t).alias(c)
            for c, t in declared.items()
        ],
        *[pl.col(c).cast(pl.String) for c in extra],
    )


def write_csv(df: pl.DataFrame, path: str | Path) -> Path:
    """Write CSV for spreadsheets: ids as text (never rounded), lists/structs as JSON text.

    Id columns (``id``, ``video_id``, ``music_id``...) are written as quoted strings so that Excel
    or LibreOffice keep all 19 digits when the cells are imported as text. Times are ISO 8601 UTC.
    """
    exprs: list[pl.Expr] = []
    for name, dtype in df.schema.items():
        if name in _ID_COLUMNS and dtype.is_integer():
            exprs.append(pl.col(name).cast(pl.String))
        elif isinstance(dtype, (pl.List, pl.Struct)):
            exprs.append(pl.col(name).struct.json_encode() if isinstance(dtype, pl.Struct) else
                         pl.struct(pl.col(name).alias("v")).struct.json_encode()
                         .str.slice(5).str.head(-1).alias(name))  # fmt: skip
        else:
            exprs.append(pl.col(name))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    df.select(exprs).write_csv(target, quote_style="non_numeric")
    return target


def to_pandas(df: pl.DataFrame) -> pd.DataFrame:
    """Convert to pandas with exact ids and nullable types (``pd.ArrowDtype``; never float ids).

    Example:
        >>> to_pandas(pl.DataFrame({"id": [7320768158545159950, None]}))["id"].tolist()
        [7320768158545159950, <NA>]
    """
    import pandas as pd

    return df.to_pandas(types_mapper=pd.ArrowDtype)
