"""Writers and readers: Parquet with provenance, hive-partitioned datasets, exact CSV, pandas.

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
from typing import TYPE_CHECKING, Any, cast

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from . import schemas
from ._checks import check_frame
from ._optional import require
from ._version import __version__
from .errors import InvalidRequestError, MissingFileError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "guess_table",
    "read_csv",
    "read_dataset",
    "read_metadata",
    "read_table",
    "to_pandas",
    "write_csv",
    "write_dataset",
    "write_parquet",
]

_KEY = "tiktok_research"


def _metadata(table: str | None, provenance: dict[str, Any] | None) -> dict[bytes, bytes]:
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
    check_frame(df, "df", lazy=False)
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
            raise InvalidRequestError("partition_by='create_month' needs a create_time column")
        return df.with_columns(
            pl.col("create_time").dt.strftime("%Y-%m").fill_null("unknown").alias("create_month")
        )
    if partition_by not in df.columns:
        raise InvalidRequestError(f"cannot partition by {partition_by!r}: not a column")
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


def _is_id(name: str, dtype: pl.DataType) -> bool:
    return dtype.is_integer() and (name == "id" or name.endswith("_id"))


def write_csv(df: pl.DataFrame, path: str | Path) -> Path:
    """Write CSV for spreadsheets and other tools, in one convention that :func:`read_csv` reverses.

    The convention (UTF-8, comma-separated, one header line):

    * a null, whatever its type (lists and structs included), is an empty, unquoted field;
    * text is always quoted, so an empty string is ``""`` and differs from a null; commas,
      quotes, newlines and emoji are kept as they are;
    * ids (``id`` and every ``*_id`` integer column) are quoted digits, so Excel or LibreOffice keep
      all 19 digits when the cells are imported as text; other numbers are bare;
    * lists and structs are JSON text (``[]`` is an empty list, ``["a","b"]``, ``{"content":"x"}``);
    * times are ISO 8601 in UTC with their offset (``2024-01-05T23:59:56.000000+00:00``);
    * booleans are ``true`` / ``false``.

    Args:
        df: the table.
        path: target file.

    Returns:
        ``path``.

    Example:
        >>> import tempfile
        >>> df = pl.DataFrame({"id": [7320768158545159950], "hashtag_names": [["a", "b"]]})
        >>> p = write_csv(df, Path(tempfile.mkdtemp()) / "v.csv")
        >>> print(p.read_text(), end="")
        "id","hashtag_names"
        "7320768158545159950","[""a"",""b""]"
    """
    exprs: list[pl.Expr] = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if _is_id(name, dtype):
            exprs.append(col.cast(pl.String))
        elif isinstance(dtype, pl.Struct):
            exprs.append(pl.when(col.is_not_null()).then(col.struct.json_encode()).alias(name))
        elif isinstance(dtype, (pl.List, pl.Array)):
            # json_encode works on structs: wrap the list in {"v": ...} and cut the wrapper off
            encoded = pl.struct(col.alias("v")).struct.json_encode().str.slice(5).str.head(-1)
            exprs.append(pl.when(col.is_not_null()).then(encoded).alias(name))
        else:
            exprs.append(col)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    df.select(exprs).write_csv(
        target, quote_style="non_numeric", datetime_format=_CSV_DATETIME, null_value=""
    )
    return target


_CSV_DATETIME = "%Y-%m-%dT%H:%M:%S%.6f%:z"


def guess_table(columns: list[str] | set[str]) -> str | None:
    """The declared table whose columns best match ``columns`` (None when none shares a column).

    Tables with the same columns (liked, pinned and reposted videos) give the first of them, which
    has the same schema.

    Example:
        >>> guess_table(["id", "video_id", "text", "like_count"])
        'comments'
    """
    names = set(columns)
    best: tuple[int, int, str] | None = None
    for table, schema in schemas.SCHEMAS.items():
        shared = len(names & set(schema.names()))
        if shared == 0:
            continue
        # most shared columns first, then fewest declared columns left unmatched
        score = (shared, -(len(schema) - shared), table)
        if best is None or score[:2] > best[:2]:
            best = score
    return best[2] if best is not None else None


def _decode(name: str, values: pl.Series, dtype: pl.DataType) -> pl.Series:
    """One CSV column (text) -> ``dtype``, strictly: a value that does not fit raises ValueError."""
    try:
        if dtype == pl.String:
            return values
        if isinstance(dtype, (pl.List, pl.Array, pl.Struct)):
            return values.str.json_decode(dtype)
        if isinstance(dtype, pl.Datetime):
            parsed = values.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", time_unit="us", strict=True)
            return parsed.dt.convert_time_zone("UTC").cast(dtype)
        if dtype == pl.Date:  # the ad library's days, written as YYYY-MM-DD
            return values.str.to_date("%Y-%m-%d", strict=True)
        if dtype == pl.Boolean:
            return values.str.to_lowercase().replace_strict(
                {"true": True, "false": False}, return_dtype=pl.Boolean
            )
        if dtype.is_integer():
            integer = cast("pl.datatypes.IntegerType", dtype)
            return values.str.strip_chars().str.to_integer(dtype=integer, strict=True)
        return values.cast(dtype, strict=True)
    except pl.exceptions.PolarsError as e:
        first = str(e).strip().splitlines()[0]
        raise InvalidRequestError(f"column {name!r} cannot be read as {dtype}: {first}") from None


def read_csv(path: str | Path, table: str | None = None) -> pl.DataFrame:
    """Read a CSV written by :func:`write_csv` back into the declared schema of ``table``, exactly.

    Ids come back as exact ``Int64`` (never through float), lists and structs are decoded from
    their JSON text, times are ``Datetime("us", "UTC")``, empty fields are nulls and ``""`` is an
    empty string. Declared columns the file lacks are added as nulls; columns the table does not
    know are left out and reported (:class:`~tiktok_research.errors.UnknownColumnWarning`).

    Args:
        path: a CSV file.
        table: the table it holds (``"videos"``, ``"comments"``...); when None, the table whose
            columns best match the header.

    Returns:
        A DataFrame whose schema equals ``tiktok_research.schemas.SCHEMAS[table]``.

    Raises:
        InvalidRequestError: the file holds no known table, or a value does not fit its column
            (also a ``ValueError``).

    Example:
        >>> import tempfile
        >>> p = write_csv(pl.DataFrame({"playlist_id": [7320768158545159950, None]}),
        ...               Path(tempfile.mkdtemp()) / "p.csv")
        >>> read_csv(p, table="playlists")["playlist_id"].to_list()
        [7320768158545159950, None]
    """
    raw = pl.read_csv(path, infer_schema=False)
    if table is None:
        table = guess_table(raw.columns)
        if table is None:
            raise InvalidRequestError(
                f"{path}: no known table has the columns {', '.join(raw.columns) or '(none)'}; "
                f"pass table= (one of {', '.join(schemas.SCHEMAS)})"
            )
    declared = schemas._check_table(table)
    decoded = raw.with_columns(
        _decode(name, raw[name], dtype) for name, dtype in declared.items() if name in raw.columns
    )
    return schemas.cast(decoded, table)


def read_table(path: str | Path, table: str | None = None) -> pl.DataFrame:
    """Read a table the package wrote, whatever the format: Parquet, CSV, JSON Lines or a dataset.

    Args:
        path: a ``.parquet`` file, a ``.csv`` file (read with :func:`read_csv`), a ``.jsonl`` /
            ``.ndjson`` file, or a dataset folder (read with :func:`read_dataset`).
        table: cast to this declared table (for CSV and JSON Lines: the best match of the header
            when None); Parquet files and datasets are returned as stored when None.

    Returns:
        The table.

    Raises:
        MissingFileError: ``path`` does not exist (also a ``FileNotFoundError``).
        InvalidRequestError: the file is not one of these formats, or cannot be read as one
            (also a ``ValueError``).

    Example:
        >>> import tempfile
        >>> p = write_csv(schemas.empty("users"), Path(tempfile.mkdtemp()) / "users.csv")
        >>> read_table(p).schema == schemas.USERS
        True
    """
    source = Path(path)
    if not source.exists():
        raise MissingFileError(f"{source}: no such file or folder", path=source)
    try:
        if source.is_dir():
            if not any(source.rglob("*.parquet")):
                raise InvalidRequestError(f"{source} is a folder without Parquet files")
            return read_dataset(source, table).collect()
        suffix = source.suffix.lower()
        if suffix in (".parquet", ".pq"):
            df = pl.read_parquet(source)
            return schemas.cast(df, table) if table is not None else df
        if suffix == ".csv":
            return read_csv(source, table)
        if suffix in (".jsonl", ".ndjson"):
            df = pl.read_ndjson(source, infer_schema_length=None)
            name = table or guess_table(df.columns)
            if name is None:
                return df
            declared = schemas.SCHEMAS[name]
            return schemas.cast(
                df.with_columns(
                    pl.col(c).str.to_datetime(time_unit="us", time_zone="UTC")
                    for c, t in declared.items()
                    if c in df.columns and isinstance(t, pl.Datetime) and df.schema[c] == pl.String
                ),
                name,
            )
    except pl.exceptions.PolarsError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidRequestError(f"cannot read {source}: {first}") from None
    raise InvalidRequestError(
        f"cannot read {source}: unknown format {source.suffix or '(no extension)'!r}; "
        "use .parquet, .csv, .jsonl or a dataset folder"
    )


def to_pandas(df: pl.DataFrame) -> pd.DataFrame:
    """Convert to pandas with exact ids and nullable types (``pd.ArrowDtype``; never float ids).

    Example:
        >>> to_pandas(pl.DataFrame({"id": [7320768158545159950, None]}))["id"].tolist()
        [7320768158545159950, <NA>]
    """
    require("pandas", extra="pandas", feature="tr.io.to_pandas")
    import pandas as pd

    return df.to_pandas(types_mapper=pd.ArrowDtype)
