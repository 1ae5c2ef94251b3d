"""Writers and readers of table files: Parquet, datasets, CSV, JSON lines, spreadsheets, pandas.

Every writer keeps 19-digit ids exact for the readers people use on its format:

* **Parquet** (:func:`write_parquet`): ids are ``Int64``. The footer carries, in its key-value
  metadata, ``tiktok_research.schema_version``, ``tiktok_research.table``,
  ``tiktok_research.version``, ``tiktok_research.provenance`` (a JSON object: run id, query,
  retrieval window... whatever the caller passes), and ``pandas`` metadata that makes pandas'
  default ``pd.read_parquet`` give nullable ``Int64`` (and ``boolean``) columns instead of
  float64 wherever a column has nulls. polars, pyarrow, DuckDB, Spark and R's arrow ignore it.
* **Datasets** (:func:`write_dataset`): hive-partitioned Parquet (``create_month=2024-01/``) in
  which each row key (``id`` for videos) is held once: a write replaces the rows it supersedes
  (see :func:`write_dataset`), so every reader of the folder, ours or DuckDB's glob, sees each id
  once. The machinery (lock, commit, recovery) lives in :mod:`tiktok_research._dataset`.
* **CSV** (:func:`write_csv`): ids are quoted digits, lists and structs JSON text with ids as
  strings; ``excel=True`` writes the variant for spreadsheets (a UTF-8 byte order mark, ids as
  ``="digits"`` text formulas that Excel and LibreOffice keep whole).
* **JSON lines** (:func:`write_ndjson`): ids are strings (``"id":"7330082108045082153"``), nested
  ids too, the convention of Twitter's ``id_str``: jq, JavaScript and R's jsonlite would round a
  bare 19-digit number.
* **Spreadsheets** (:func:`write_excel`): ``.xlsx`` with ids as text cells (the ``[excel]`` extra).

:func:`read_table` reads each of them back exactly, in the declared schema.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypedDict, Unpack, cast

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from . import schemas
from ._checks import check_frame
from ._optional import require
from ._version import __version__
from .errors import InvalidRequestError, InvalidTypeError, MissingFileError

if TYPE_CHECKING:
    import pandas as pd

    from .query import QueryLike

__all__ = [
    "guess_table",
    "read_csv",
    "read_dataset",
    "read_metadata",
    "read_table",
    "to_pandas",
    "write_csv",
    "write_dataset",
    "write_excel",
    "write_ndjson",
    "write_parquet",
]

_KEY = "tiktok_research"

#: Excel's limits: rows of a sheet (the header is one), characters of a cell.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CELL = 32_767


# ------------------------------------------------------------------------------ ids as text


def is_id_column(name: str, dtype: pl.DataType) -> bool:
    """An id column: an integer (or a list of integers) named ``id``, ``*_id`` or ``*_ids``.

    Example:
        >>> is_id_column("playlist_id", pl.Int64()), is_id_column("view_count", pl.Int64())
        (True, False)
    """
    if not (name == "id" or name.endswith(("_id", "_ids"))):
        return False
    inner = dtype.inner if isinstance(dtype, (pl.List, pl.Array)) else dtype
    return inner is not None and inner.is_integer()


def text_ids(dtype: Any, name: str = "") -> pl.DataType:
    """``dtype`` with every id inside it (at any depth of lists and structs) typed ``String``.

    Example:
        >>> text_ids(pl.List(pl.Struct({"hashtag_id": pl.Int64, "hashtag_name": pl.String})))
        List(Struct({'hashtag_id': String, 'hashtag_name': String}))
    """
    if isinstance(dtype, type):  # a class such as pl.Int64 stands for its instance
        dtype = dtype()
    if isinstance(dtype, pl.Struct):
        return pl.Struct({f.name: text_ids(f.dtype, f.name) for f in dtype.fields})
    if isinstance(dtype, pl.List):
        if is_id_column(name, dtype):
            return pl.List(pl.String())
        return pl.List(text_ids(dtype.inner, name))
    if isinstance(dtype, pl.Array):
        if is_id_column(name, dtype):
            return pl.List(pl.String())
        return pl.List(text_ids(dtype.inner, name))
    if dtype.is_integer() and is_id_column(name, dtype):
        return pl.String()
    return cast(pl.DataType, dtype)


def _with_text_ids(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with every id, top-level or nested, cast to its exact digits (``String``)."""
    changed = {n: text_ids(t, n) for n, t in df.schema.items()}
    changed = {n: t for n, t in changed.items() if t != df.schema[n]}
    return df.with_columns(pl.col(n).cast(t) for n, t in changed.items()) if changed else df


def _json_text(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A list or struct column as JSON text (null stays null); ids inside it are strings."""
    col = col.cast(text_ids(dtype))
    if isinstance(dtype, pl.Struct):
        return pl.when(col.is_not_null()).then(col.struct.json_encode())
    # json_encode works on structs: wrap the list in {"v": ...} and cut the wrapper off
    encoded = pl.struct(col.alias("v")).struct.json_encode().str.slice(5).str.head(-1)
    return pl.when(col.is_not_null()).then(encoded)


# ---------------------------------------------------------------------------------- Parquet


def _pandas_metadata(schema: pa.Schema) -> bytes:
    """The ``pandas`` key of a Parquet footer for ``schema``: integers as nullable ``Int64`` and
    booleans as ``boolean``, so pandas' default ``read_parquet`` never turns an id with a null
    next to it into float64. (The same layout pyarrow writes for a pandas frame of those dtypes.)
    """
    columns: list[dict[str, Any]] = []
    for f in schema:
        t = f.type
        meta: dict[str, Any] | None = None
        if pa.types.is_integer(t):
            pandas_type, numpy_type = "int64", "Int64"
        elif pa.types.is_boolean(t):
            pandas_type, numpy_type = "bool", "boolean"
        elif pa.types.is_floating(t):
            pandas_type = numpy_type = "float64"
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            pandas_type, numpy_type = "unicode", "object"
        elif pa.types.is_timestamp(t) and t.tz is not None:
            pandas_type, numpy_type = "datetimetz", f"datetime64[{t.unit}]"
            meta = {"timezone": t.tz}
        elif pa.types.is_timestamp(t):
            pandas_type = numpy_type = f"datetime64[{t.unit}]"
        elif pa.types.is_date(t):
            pandas_type, numpy_type = "date", "object"
        else:
            pandas_type, numpy_type = "object", "object"
        columns.append({"name": f.name, "field_name": f.name, "pandas_type": pandas_type,
                        "numpy_type": numpy_type, "metadata": meta})  # fmt: skip
    document = {
        "index_columns": [],
        "column_indexes": [],
        "columns": columns,
        "attributes": {},
        "creator": {"library": "tiktok-research", "version": __version__},
        "pandas_version": "2.2.2",
    }
    return json.dumps(document).encode()


def _metadata(
    table: str | None,
    provenance: dict[str, Any] | None,
    schema: pa.Schema | None = None,
    retrieved_at: datetime | None = None,
) -> dict[bytes, bytes]:
    """The key-value metadata of our Parquet files (see the module docstring). ``schema`` (the
    file's columns; the declared schema of ``table`` when None) gives the ``pandas`` key."""
    meta = {
        f"{_KEY}.schema_version": schemas.SCHEMA_VERSION,
        f"{_KEY}.version": __version__,
        f"{_KEY}.provenance": json.dumps(provenance or {}, default=str, sort_keys=True),
    }
    if table is not None:
        meta[f"{_KEY}.table"] = table
    if retrieved_at is not None:
        meta[f"{_KEY}.retrieved_at"] = retrieved_at.astimezone(UTC).isoformat()
    out = {k.encode(): v.encode() for k, v in meta.items()}
    if schema is None and table is not None:
        schema = schemas.arrow_schema(table)
    if schema is not None:
        out[b"pandas"] = _pandas_metadata(schema)
    return out


def _typed(df: pl.DataFrame, table: str | None) -> pl.DataFrame:
    return schemas.cast(df, table) if table is not None else df


class ParquetOptions(TypedDict, total=False):
    """polars' ``DataFrame.write_parquet`` options, as the package's Parquet writer honours them
    (:func:`write_parquet`, ``FetchResult.write_parquet``).

    polars' own writer stores its Arrow schema in the file without our metadata, and pyarrow,
    which pandas reads with, takes that schema: ``pd.read_parquet`` would read an id column
    with a null as float64. So every Parquet file the package writes is written by pyarrow,
    with polars' options mapped:

    * ``compression`` (polars' names: ``zstd``, the default, ``snappy``, ``gzip``, ``brotli``,
      ``lz4``, ``uncompressed``), ``compression_level``, ``row_group_size``, ``data_page_size``:
      the same settings in pyarrow;
    * ``statistics``: ``False`` writes none; ``True``, ``"full"`` and a dict with any key true
      write min, max and null counts (pyarrow writes them together and no distinct counts);
    * ``pyarrow_options``: more arguments of ``pq.write_table`` (the named options above win);
    * ``use_pyarrow``, ``mkdir`` (the folder is always created) and
      ``partition_chunk_size_bytes`` (used by ``partition_by`` only) change nothing more;
    * ``metadata``: a dict of your own, added to the file's key-value metadata;
    * refused: ``partition_by`` (polars writes the key columns into each file as well as its
      folder name, a layout pandas cannot read; :func:`write_dataset` writes a partitioned
      folder that pandas, DuckDB, Spark and polars read), ``storage_options`` and
      ``credential_provider`` (cloud storage: write a local file and copy it), a ``metadata``
      function, ``arrow_schema`` and ``encryption``.
    """

    compression: str
    compression_level: int | None
    statistics: bool | str | dict[str, bool]
    row_group_size: int | None
    data_page_size: int | None
    use_pyarrow: bool
    pyarrow_options: dict[str, object] | None
    partition_by: str | Sequence[str] | None
    partition_chunk_size_bytes: int
    storage_options: dict[str, object] | None
    credential_provider: object
    metadata: dict[str, str] | None
    mkdir: bool


#: polars' Parquet compressions and pyarrow's name of each.
_COMPRESSIONS = {"zstd": "zstd", "snappy": "snappy", "gzip": "gzip", "brotli": "brotli",
                 "lz4": "lz4", "uncompressed": "none"}  # fmt: skip

#: polars' options that ``pq.write_table`` takes under the same name, for the same setting.
_SAME_IN_PYARROW = ("compression_level", "row_group_size", "data_page_size")


def _pyarrow_options(options: dict[str, Any]) -> dict[str, Any]:
    """polars' ``write_parquet`` options -> the arguments of ``pq.write_table`` that write the
    same file (see :class:`ParquetOptions`); an option that cannot be honoured with our
    metadata is refused (``TypeError``), never dropped."""
    options = dict(options)
    refused: list[str] = []
    partition = options.pop("partition_by", None)
    pyarrow_options = dict(options.pop("pyarrow_options", None) or {})
    if partition is not None or pyarrow_options.pop("partition_cols", None):
        refused.append(
            "partition_by: polars writes the key columns into each file as well as its folder "
            "name, which pandas cannot read; tr.io.write_dataset(df, folder, table=..., "
            "partition_by=...) writes a partitioned folder that pandas, DuckDB, Spark and polars "
            "read"
        )
    cloud = options.pop("storage_options", None)
    if cloud or options.pop("credential_provider", None) not in (None, "auto"):
        refused.append(
            "storage_options/credential_provider: write to a local file, then copy it to the "
            "cloud storage"
        )
    if callable(options.get("metadata")):
        refused.append("metadata: give a dict (a function of polars' writer is not called)")
    for name in ("arrow_schema", "encryption"):
        if options.pop(name, None) is not None:
            refused.append(f"{name}: not supported by the package's writer")
    if refused:
        raise InvalidTypeError(
            "write_parquet: " + "; ".join(refused) + ". pl.DataFrame(df).write_parquet(...) "
            "takes every polars option but writes without the table's metadata (pandas would "
            "then read an id column with a null as float64)"
        )
    named = options.pop("compression", None)
    compression = str(named or pyarrow_options.pop("compression", None) or "zstd")
    compression = "uncompressed" if compression.lower() == "none" else compression
    if compression.lower() not in _COMPRESSIONS:
        raise InvalidRequestError(
            f"write_parquet: unknown compression {compression!r}; use one of "
            f"{', '.join(_COMPRESSIONS)}"
        )
    statistics = options.pop("statistics", pyarrow_options.pop("write_statistics", True))
    if isinstance(statistics, dict):
        statistics = any(bool(v) for v in statistics.values())
    elif statistics == "full":
        statistics = True
    elif not isinstance(statistics, bool):
        raise InvalidRequestError(
            f"write_parquet: statistics={statistics!r}; use True, False, 'full' or a dict"
        )
    kwargs: dict[str, Any] = {**pyarrow_options, "compression": _COMPRESSIONS[compression.lower()],
                              "write_statistics": statistics}  # fmt: skip
    for name in _SAME_IN_PYARROW:
        value = options.pop(name, None)
        if value is not None:
            kwargs[name] = value
    for name in ("use_pyarrow", "mkdir", "partition_chunk_size_bytes", "metadata"):
        options.pop(name, None)
    if options:
        raise InvalidTypeError(
            f"write_parquet: unknown option(s) {', '.join(sorted(options))}; the options are "
            f"polars' ({', '.join(ParquetOptions.__annotations__)})"
        )
    return kwargs


def _write_frame(
    frame: pl.DataFrame,
    file: str | Path | IO[bytes],
    metadata: dict[bytes, bytes],
    options: dict[str, Any] | None = None,
) -> None:
    """Write ``frame`` to Parquet with the key-value ``metadata`` (ours: see the module
    docstring) in its Arrow schema, where pandas finds it, under polars' option names
    (:func:`_pyarrow_options`). The one writer of the package's Parquet files; a file path is
    written beside its place and renamed into it when complete (its folder created)."""
    options = options or {}
    kwargs = _pyarrow_options(options)
    mine = {str(k).encode(): str(v).encode() for k, v in (options.get("metadata") or {}).items()}
    arrow = frame.to_arrow()
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **metadata, **mine})
    if not isinstance(file, (str, Path)):
        pq.write_table(arrow, file, **kwargs)
        return
    with _replacing(Path(file)) as tmp:
        pq.write_table(arrow, tmp, **kwargs)


def write_parquet(
    df: pl.DataFrame,
    path: str | Path,
    *,
    table: str | None = None,
    provenance: dict[str, Any] | None = None,
    **options: Unpack[ParquetOptions],
) -> Path:
    """Write ``df`` to one Parquet file with schema version and provenance in its metadata.

    The footer also carries pandas' column types, so that ``pd.read_parquet(path)`` with its
    defaults reads every id exactly (nullable ``Int64``, never float64), whatever the options.

    Like polars' ``write_parquet``, it replaces a file that exists at ``path`` (the command line
    never does so without ``--overwrite``). The file is written beside ``path`` and renamed into
    place when complete, so a crash or a full disk never leaves a half-written file there.

    Args:
        df: the table.
        path: target file.
        table: table name; when given, ``df`` is cast to its declared schema first.
        provenance: anything JSON-serialisable that says where the data came from.
        **options: polars' ``write_parquet`` options (``compression=``, ``compression_level=``,
            ``statistics=``, ``row_group_size=``, ``data_page_size=``, ``pyarrow_options=``,
            ``metadata=``...), written by pyarrow; ``partition_by=`` and cloud storage are
            refused with a ``TypeError`` that says what to use instead (see
            :class:`ParquetOptions`).

    Example:
        >>> import tempfile
        >>> p = write_parquet(schemas.empty("videos"), Path(tempfile.mkdtemp()) / "v.parquet",
        ...                   table="videos", provenance={"run": "r1"})
        >>> pq.read_metadata(p).metadata[b"tiktok_research.table"]
        b'videos'
    """
    check_frame(df, "df", lazy=False)
    target = Path(path)
    typed = _typed(df, table)
    meta = _metadata(table, provenance, schema=typed.head(0).to_arrow().schema)
    _write_frame(typed, target, meta, dict(options))
    return target


class _replacing:
    """``with _replacing(path) as tmp:`` write ``tmp``; it becomes ``path`` when the block ends
    without an error (removed otherwise). The folder is created first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self.tmp

    def __exit__(self, kind: object, *_: object) -> None:
        import os

        try:
            if kind is None:
                os.replace(self.tmp, self.path)
        finally:
            self.tmp.unlink(missing_ok=True)


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


# --------------------------------------------------------------------------------- datasets


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
    retrieved_at: datetime | None = None,
    query: QueryLike | None = None,
    drop: Sequence[int] | None = None,
) -> Path:
    """Add ``df`` to a hive-partitioned Parquet dataset (``root/create_month=2024-01/...``).

    A dataset is a set of rows keyed by the table's primary key (``id`` for videos): each key is
    held once. A write adds new files named after ``run_id`` (``part-<run_id>-<i>.parquet``) and
    takes the rows it supersedes out of the files already there, so that every reader of the
    folder (:func:`read_dataset`, DuckDB's ``read_parquet('root/**/*.parquet')``, Spark,
    ``pd.read_parquet(root)``) sees each key once. Of two copies of a row, the one retrieved last
    is kept: ``retrieved_at`` (default: when the rows' answers came, see below) is stored in each
    file, and rows of ``df`` older than the copy a file holds are not written. Rerunning the
    same ``run_id`` replaces that run's files.

    The write is all or nothing: files are written aside, a commit record is made durable, then
    files are moved into place; a write interrupted after the commit is finished by the next
    write or read of the dataset, one interrupted before it leaves the dataset as it was. Writers
    in other processes wait for each other (a lock file in ``root``).

    Args:
        df: rows of ``table``.
        root: dataset folder (e.g. ``data/videos``); created when needed.
        table: table name (the schema every file gets, and the key of its rows).
        partition_by: ``"create_month"`` (derived from ``create_time``) or a column name.
        run_id: names this write's files (a random id when omitted).
        provenance: stored in each file's metadata.
        retrieved_at: when the rows were retrieved from the service (default: the last
            retrieval the provenance's ``retrieved_last``, a result's ``report.retrieved`` or a
            ``retrieved_at`` column records, else now): a rerun that reads old answers from its
            archive does not pass for newer than a later collection.
        query: the query the dataset holds (recorded in ``root/_tiktok_research_dataset.json`` on
            the first write that gives one); a write with another query is refused
            (:class:`~tiktok_research.errors.InvalidRequestError`, nothing written), as
            :func:`check_dataset`, ``collect_videos``, ``fetch_videos(dataset=)`` and
            ``update_videos`` refuse it. Default: the query a result of
            :func:`~tiktok_research.fetch_videos` answers (its ``report.query``), so that
            ``write_dataset(result, root, table="videos")`` of another query than the folder's
            is refused too; a plain DataFrame records no query and is not checked against one.
        drop: keys (ids) to take out of the dataset (e.g. videos found deleted by a refresh).

    Returns:
        ``root``.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp()) / "videos"
        >>> v = pl.DataFrame({"id": [1, 2], "create_time": [1704499196, 1704499196]})
        >>> _ = write_dataset(v, root, table="videos", run_id="first")
        >>> _ = write_dataset(v.head(1), root, table="videos", run_id="again")
        >>> read_dataset(root, table="videos").select("id").collect()["id"].sort().to_list()
        [1, 2]
    """
    from . import _dataset

    check_frame(df, "df", lazy=False)
    root_path = Path(root)
    held = _query_dict(query) if query is not None else _result_query(df)  # before df is derived
    run = run_id or uuid.uuid4().hex[:12]
    at = retrieved_at if retrieved_at is not None else datetime.now(UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    span = _retrieved_span(df, provenance, at)
    if retrieved_at is None:  # the rows are as new as their answers, not as the write
        at = span[1] if span[1].tzinfo is not None else span[1].replace(tzinfo=UTC)
    if "retrieved_at" not in schemas.SCHEMAS[table]:
        df = df.drop("retrieved_at", strict=False)  # kept as the run's span in the metadata
    typed = _partition_column(schemas.cast(df, table), partition_by)
    key_field = pa.field(partition_by, pa.string())
    file_schema = schemas.arrow_schema(table)
    provenance = {**(provenance or {}), "run_id": run, "retrieved_first": span[0].isoformat(),
                  "retrieved_last": span[1].isoformat()}  # fmt: skip
    meta = _metadata(table, provenance, file_schema, at)
    arrow = typed.to_arrow().cast(file_schema.append(key_field).with_metadata(meta))
    _dataset.write(
        arrow,
        root_path,
        table=table,
        partition_by=partition_by,
        run=run,
        retrieved_at=at,
        key=schemas.primary_key(table),
        query=held,
        drop=list(drop or []),
    )
    _warn_eras(root_path, table, run, span)
    return root_path


def _retrieved_span(
    df: pl.DataFrame, provenance: dict[str, Any] | None, at: datetime
) -> tuple[datetime, datetime]:
    """When the rows of a dataset write were retrieved: ``retrieved_first``/``retrieved_last``
    of the provenance, else what the report of a collection's result says (``report.retrieved``),
    else the range of a ``retrieved_at`` column, else ``at`` (the write's ``retrieved_at``)."""
    given = provenance or {}
    try:
        return (datetime.fromisoformat(str(given["retrieved_first"])),
                datetime.fromisoformat(str(given["retrieved_last"])))  # fmt: skip
    except (KeyError, ValueError):
        pass
    span = getattr(getattr(df, "report", None), "retrieved", None)  # a FetchResult's
    if isinstance(span, tuple) and len(span) == 2 and all(isinstance(t, datetime) for t in span):
        return span[0], span[1]
    if "retrieved_at" in df.columns and df["retrieved_at"].drop_nulls().len():
        first, last = df["retrieved_at"].min(), df["retrieved_at"].max()
        if isinstance(first, datetime) and isinstance(last, datetime):
            return first, last
    return at, at


def _file_span(path: Path) -> tuple[datetime, datetime] | None:
    """When the rows of one dataset file were retrieved: the span its provenance records, else
    the ``retrieved_at`` of its write (files of writes that recorded no span); None for files
    that are not ours."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowException):
        return None
    try:
        prov = json.loads(meta.get(f"{_KEY}.provenance".encode(), b"{}"))
        return (datetime.fromisoformat(prov["retrieved_first"]),
                datetime.fromisoformat(prov["retrieved_last"]))  # fmt: skip
    except (ValueError, KeyError, TypeError):
        pass
    try:
        at = datetime.fromisoformat(meta[f"{_KEY}.retrieved_at".encode()].decode())
    except (KeyError, ValueError):
        return None
    return at, at


def _dataset_span(root: Path) -> tuple[datetime, datetime] | None:
    """When the rows a dataset folder holds were retrieved, first and last (None: not known)."""
    from . import _dataset

    spans = [s for p in _dataset.data_files(root) if (s := _file_span(p)) is not None]
    return (min(a for a, _ in spans), max(b for _, b in spans)) if spans else None


def _warn_eras(root: Path, table: str, run: str, span: tuple[datetime, datetime]) -> None:
    """Warn when the rows this write added and the rows the dataset's other files still hold
    straddle a dated change of the API (called after the write: superseded rows are gone)."""
    from . import _dataset
    from ._eras import warn_if_straddled

    known = [
        s
        for path in _dataset.data_files(root)
        if not path.name.startswith(f"part-{run}-") and (s := _file_span(path)) is not None
    ]
    if known:
        warn_if_straddled([span], f"write_dataset adds to {root} rows", tables={table},
                          known=known)  # fmt: skip


def _result_query(df: pl.DataFrame) -> dict[str, Any] | None:
    """The query a collection's result answers (``report.query`` of a FetchResult), else None."""
    query = getattr(getattr(df, "report", None), "query", None)
    return query if isinstance(query, dict) else None


def _query_dict(query: QueryLike | None) -> dict[str, Any] | None:
    if query is None:
        return None
    if isinstance(query, dict):
        return query
    from .query import as_query

    return as_query(query).to_dict()


def check_dataset(root: str | Path, *, table: str, query: QueryLike | None = None) -> None:
    """Refuse, before anything is sent, to write ``table`` rows of ``query`` into ``root`` when
    the dataset there holds another table or another query, or when a write could not finish in
    it (the folder or one of its partition folders cannot be written; a new folder is created
    and removed again to find out).

    Raises:
        InvalidRequestError: ``root`` is a file, or holds another table or query.
        ArchiveError: ``root`` (or a folder in it) cannot be written.
    """
    from . import _dataset

    _dataset.check(Path(root), table=table, query=_query_dict(query))
    _dataset.check_writable(Path(root))


def read_dataset(root: str | Path, table: str | None = None) -> pl.LazyFrame:
    """Lazily read a dataset written by :func:`write_dataset` (partition key as a String column).

    Args:
        root: dataset folder.
        table: when given, columns are checked/cast to the declared schema (key column kept).
            A folder without Parquet files then gives an empty table of that schema.

    Raises:
        MissingFileError: ``root`` does not exist (also a ``FileNotFoundError``).
        InvalidRequestError: ``root`` is a file, or holds no Parquet file and ``table`` is None
            (also a ``ValueError``).

    Example:
        >>> import tempfile
        >>> read_dataset(Path(tempfile.mkdtemp()), table="users").collect().schema == schemas.USERS
        True
    """
    from . import _dataset

    folder = Path(root)
    _dataset.finish_swap(folder)  # a refresh killed between its two renames
    if not folder.exists():
        raise MissingFileError(f"{folder}: no such dataset folder", path=folder)
    if not folder.is_dir():
        raise InvalidRequestError(
            f"{folder} is a file, not a dataset folder; read it with read_table"
        )
    _dataset.recover(folder, wait=False)
    if not _dataset.data_files(folder):
        if table is None:
            raise InvalidRequestError(
                f"{folder} holds no Parquet files: pass table= (e.g. table='videos') to get an "
                "empty table of its schema"
            )
        return schemas.empty(table).lazy()
    if bad := _dataset.damaged(folder):
        raise _dataset.damaged_error(folder, bad)
    lf = pl.scan_parquet(str(folder / "**" / "*.parquet"), hive_partitioning=True, hive_schema=None)
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


# -------------------------------------------------------------------------------------- CSV

_CSV_DATETIME = "%Y-%m-%dT%H:%M:%S%.6f%:z"
_EXCEL_DATETIME = "%Y-%m-%d %H:%M:%S%.f"  # UTC; a date and time that spreadsheets recognise
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BOM = b"\xef\xbb\xbf"
_EXCEL_CHUNK = 100  # characters per text literal of a formula (Excel takes 255 at most)
_EXCEL_FORMULA_MAX = 7_000  # characters of text a formula can carry (Excel: 8,192 per formula)


def _excel_text(value: pl.Expr) -> pl.Expr:
    """Text as a spreadsheet keeps it: ``="..."``, a formula whose value is the text itself, cut
    in literals of ``_EXCEL_CHUNK`` characters joined by ``&`` (``="ab"&"cd"``)."""
    chunks = value.str.extract_all(f"(?s).{{1,{_EXCEL_CHUNK}}}").list.eval(
        pl.element().str.replace_all('"', '""', literal=True)
    )
    return pl.concat_str(pl.lit('="'), chunks.list.join('"&"'), pl.lit('"'))


def write_csv(df: pl.DataFrame, path: str | Path, *, excel: bool = False) -> Path:
    """Write CSV for spreadsheets and other tools, in one convention that :func:`read_csv` reverses.

    The convention (UTF-8, comma-separated, one header line):

    * a null, whatever its type (lists and structs included), is an empty, unquoted field;
    * text is always quoted, so an empty string is ``""`` and differs from a null; commas,
      quotes, newlines and emoji are kept as they are;
    * ids (``id`` and every ``*_id`` integer column) are quoted digits, so R's ``fread``, pandas
      with ``dtype=`` and a spreadsheet's "text" column keep all 19 digits; other numbers are bare;
    * lists and structs are JSON text (``[]`` is an empty list, ``["a","b"]``, ``{"content":"x"}``),
      with ids inside them as strings (``{"hashtag_id":"7330..."}``);
    * times are ISO 8601 in UTC with their offset (``2024-01-05T23:59:56.000000+00:00``);
    * booleans are ``true`` / ``false``.

    ``excel=True`` writes the variant for Excel and LibreOffice, which open a CSV with a double
    click and turn every number-looking text into a number (a 19-digit id loses its last
    digits): the file starts with a UTF-8 byte order mark (without it Excel on Windows shows emoji
    and non-Latin text as mojibake); ids are written ``="7330082108045082153"``, a formula whose
    value is the text of the digits, and so is text that a spreadsheet would otherwise take for a
    formula (starting with ``=``, ``+``, ``-``, ``@``: ``@someone`` would show ``#NAME?``); times
    are ``2024-01-05 23:59:56`` (UTC), which spreadsheets read as dates. :func:`read_csv` reads
    both variants back exactly.

    Like polars' ``write_csv``, it replaces a file that exists at ``path``; the file is written
    aside and renamed into place when complete.

    Args:
        df: the table.
        path: target file.
        excel: write the variant for spreadsheets (above).

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
        if is_id_column(name, dtype) and not isinstance(dtype, (pl.List, pl.Array)):
            text = col.cast(pl.String)
            exprs.append((_excel_text(text) if excel else text).alias(name))
        elif isinstance(dtype, (pl.Struct, pl.List, pl.Array)):
            exprs.append(_json_text(col, dtype).alias(name))
        elif excel and dtype == pl.String:
            risky = pl.any_horizontal(col.str.starts_with(mark) for mark in _FORMULA_START)
            fits = col.str.len_chars() <= _EXCEL_FORMULA_MAX
            exprs.append(pl.when(risky & fits).then(_excel_text(col)).otherwise(col).alias(name))
        elif excel and isinstance(dtype, pl.Datetime):
            utc = col.dt.convert_time_zone("UTC") if dtype.time_zone else col
            exprs.append(utc.dt.strftime(_EXCEL_DATETIME).alias(name))
        else:
            exprs.append(col)
    frame = df.select(exprs)
    target = Path(path)
    with _replacing(target) as tmp, open(tmp, "wb") as fh:
        if excel:
            fh.write(_BOM)
        frame.write_csv(fh, quote_style="non_numeric", datetime_format=_CSV_DATETIME,
                        null_value="")  # fmt: skip
    return target


#: A cell written for spreadsheets: ``="..."`` or ``="..."&"..."`` (quotes inside doubled).
_FORMULA_CELL = r'^="(?:[^"]|"")*"(?:&"(?:[^"]|"")*")*$'
_FORMULA_LITERAL = r'"(?:[^"]|"")*"'


def _unformula(values: pl.Series) -> pl.Series:
    """Cells written ``="..."`` (the spreadsheet variant of :func:`write_csv`) -> their text."""
    is_formula = values.str.contains(_FORMULA_CELL)
    if not is_formula.any():
        return values
    text = (
        values.str.slice(1)
        .str.extract_all(_FORMULA_LITERAL)
        .list.eval(pl.element().str.slice(1).str.head(-1).str.replace_all('""', '"', literal=True))
        .list.join("")
    )
    return (
        pl.select(pl.when(is_formula).then(text).otherwise(values)).to_series().alias(values.name)
    )


def guess_table(columns: list[str] | set[str]) -> str | None:
    """The declared table whose columns best match ``columns``: None when no table holds more of
    them than it lacks (a compliance check's ``id, valid`` or an audit's table is not a comments
    table with one column in common, which would read as nulls and drop the others).

    Tables with the same columns (liked, pinned and reposted videos) give the first of them, which
    has the same schema.

    Example:
        >>> guess_table(["id", "video_id", "text", "like_count"])
        'comments'
        >>> guess_table(["id", "valid"]) is None
        True
    """
    names = set(columns)
    best: tuple[int, int, str] | None = None
    for table, schema in schemas.SCHEMAS.items():
        shared = len(names & set(schema.names()))
        if shared == 0 or shared <= len(names) - shared:
            continue
        # most shared columns first, then fewest declared columns left unmatched
        score = (shared, -(len(schema) - shared), table)
        if best is None or score[:2] > best[:2]:
            best = score
    return best[2] if best is not None else None


def _decode(name: str, values: pl.Series, dtype: pl.DataType) -> pl.Series:
    """One text column (CSV, a spreadsheet) -> ``dtype``, strictly: a value that does not fit
    raises InvalidRequestError (a ValueError)."""
    try:
        if dtype == pl.String:
            return values
        if isinstance(dtype, (pl.List, pl.Array, pl.Struct)):
            return values.str.json_decode(text_ids(dtype, name)).cast(dtype, strict=True)
        if isinstance(dtype, pl.Datetime):
            return _parse_times(values).cast(dtype)
        if dtype == pl.Date:  # the ad library's days, written as YYYY-MM-DD
            return values.str.to_date("%Y-%m-%d", strict=True)
        if dtype == pl.Boolean:
            return values.str.to_lowercase().replace_strict(
                {"true": True, "false": False, "1": True, "0": False}, return_dtype=pl.Boolean
            )
        if dtype.is_integer():
            integer = cast("pl.datatypes.IntegerType", dtype)
            digits = values.str.strip_chars().str.replace(r"\.0+$", "")  # 12.0 from a sheet
            return digits.str.to_integer(dtype=integer, strict=True)
        return values.cast(dtype, strict=True)
    except pl.exceptions.PolarsError as e:
        first = str(e).strip().splitlines()[0]
        raise InvalidRequestError(f"column {name!r} cannot be read as {dtype}: {first}") from None


#: Time formats read back: ours (ISO 8601 with the offset), then a spreadsheet's (UTC).
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%.f",
                 "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S")  # fmt: skip


def _parse_times(values: pl.Series) -> pl.Series:
    """Times as text -> ``Datetime("us", "UTC")``; text without an offset is taken as UTC."""
    error: pl.exceptions.PolarsError | None = None
    values = values.str.replace(r"[zZ]$", "+00:00")
    for fmt in _TIME_FORMATS:
        try:
            parsed = values.str.to_datetime(fmt, time_unit="us", strict=True)
        except pl.exceptions.PolarsError as e:
            error = error or e
            continue
        if isinstance(parsed.dtype, pl.Datetime) and parsed.dtype.time_zone:
            return parsed.dt.convert_time_zone("UTC")
        return parsed.dt.replace_time_zone("UTC")
    assert error is not None
    raise error


def _from_text(
    raw: pl.DataFrame, path: str | Path, table: str | None, *, formulas: bool = False
) -> pl.DataFrame:
    """A frame of text columns -> the declared schema of ``table`` (guessed when None).
    ``formulas``: the file was written for spreadsheets; its ``="..."`` cells are unwrapped."""
    if formulas:
        raw = raw.with_columns(_unformula(raw[c]) for c in raw.columns)
    if table is None:
        table = guess_table(raw.columns)
        if table is None and any(c == "id" or c.endswith("_id") for c in raw.columns):
            return _as_written(raw)  # a compliance check, an audit: its columns as written
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


def _as_written(raw: pl.DataFrame) -> pl.DataFrame:
    """The columns of a file of no declared table, as written: ids (``id``, ``*_id``) written as
    text become exact ``Int64`` when every value is a whole number; the rest is left as read."""
    ids = [
        c for c in raw.columns
        if (c == "id" or c.endswith("_id")) and raw[c].dtype == pl.String
        and raw[c].drop_nulls().str.strip_chars().str.contains(r"^\d{1,19}$").all()
    ]  # fmt: skip
    return raw.with_columns(_decode(c, raw[c], pl.Int64()) for c in ids)


def read_csv(path: str | Path, table: str | None = None) -> pl.DataFrame:
    """Read a CSV written by :func:`write_csv` back into the declared schema of ``table``, exactly.

    Ids come back as exact ``Int64`` (never through float), lists and structs are decoded from
    their JSON text, times are ``Datetime("us", "UTC")``, empty fields are nulls and ``""`` is an
    empty string. The spreadsheet variant (``excel=True``) reads back the same. Declared columns
    the file lacks are added as nulls; columns the table does not know are left out and reported
    (:class:`~tiktok_research.errors.UnknownColumnWarning`).

    Args:
        path: a CSV file.
        table: the table it holds (``"videos"``, ``"comments"``...); when None, the table whose
            columns best match the header (:func:`guess_table`).

    Returns:
        A DataFrame whose schema equals ``tiktok_research.schemas.SCHEMAS[table]``; for a table
        of ids of no declared table (a compliance check's ``id, valid``, an audit), its own
        columns: ids (``id``, ``*_id``) exact ``Int64``, the others text.

    Raises:
        InvalidRequestError: the file holds no known table and no ids, or a value does not fit
            its column (also a ``ValueError``).

    Example:
        >>> import tempfile
        >>> p = write_csv(pl.DataFrame({"playlist_id": [7320768158545159950, None]}),
        ...               Path(tempfile.mkdtemp()) / "p.csv")
        >>> read_csv(p, table="playlists")["playlist_id"].to_list()
        [7320768158545159950, None]
    """
    with open(path, "rb") as fh:
        excel = fh.read(len(_BOM)) == _BOM  # only the spreadsheet variant starts with one
    raw = pl.read_csv(path, infer_schema=False)
    return _from_text(raw, path, table, formulas=excel)


# ------------------------------------------------------------------------------- JSON lines


def write_ndjson(df: pl.DataFrame, path: str | Path | IO[bytes]) -> Path | None:
    """Write JSON lines (one object per row) with every id as a string, as :func:`read_table`
    reads them back.

    ``{"id":"7330082108045082153","hashtag_info_list":[{"hashtag_id":"1650...",...}],...}``: a
    19-digit number is beyond what JavaScript, jq and R's jsonlite hold exactly (they print
    ``7330082108045083000``), so ids, top-level or nested, are strings (Twitter's ``id_str``
    convention); counts stay numbers; times are ISO 8601 with their offset; nulls are ``null``.

    Like polars' ``write_ndjson``, it replaces a file that exists at ``path``.

    Args:
        df: the table.
        path: target file, or an open binary stream (e.g. ``sys.stdout.buffer``).

    Returns:
        ``path`` as a Path (None for a stream).

    Example:
        >>> import io as stdio
        >>> out = stdio.BytesIO()
        >>> _ = write_ndjson(pl.DataFrame({"id": [7320768158545159950], "view_count": [3]}), out)
        >>> out.getvalue().decode()
        '{"id":"7320768158545159950","view_count":3}\\n'
    """
    frame = _with_text_ids(df)
    if not isinstance(path, (str, Path)):
        frame.write_ndjson(path)
        return None
    target = Path(path)
    with _replacing(target) as tmp:
        frame.write_ndjson(tmp)
    return target


def _read_ndjson(source: Path, table: str | None) -> pl.DataFrame:
    """JSON lines -> the declared schema: ids read from strings or numbers alike, exactly."""
    inferred = pl.scan_ndjson(source, infer_schema_length=None).collect_schema()
    name = table or guess_table(inferred.names())
    if name is None:  # ids written as strings (ours) come back exact Int64
        return _as_written(pl.read_ndjson(source, infer_schema_length=None))
    declared = schemas._check_table(name)
    as_read: dict[str, pl.DataType] = {}
    for column, dtype in inferred.items():
        want = declared.get(column)
        if want is None:
            as_read[column] = dtype
        elif isinstance(want, pl.Datetime):
            as_read[column] = pl.String()
        else:
            as_read[column] = text_ids(want, column)
    df = pl.read_ndjson(source, schema=as_read)
    try:
        df = df.with_columns(
            _parse_times(df[c]).cast(t) if isinstance(t, pl.Datetime) else df[c].cast(t)
            for c, t in declared.items()
            if c in df.columns
        )
    except pl.exceptions.PolarsError as e:
        first = str(e).strip().splitlines()[0]
        raise InvalidRequestError(f"cannot read {source}: {first}") from None
    return schemas.cast(df, name)


# ----------------------------------------------------------------------------- spreadsheets


def write_excel(df: pl.DataFrame, path: str | Path, *, sheet: str | None = None) -> Path:
    """Write an Excel workbook (``.xlsx``) with ids as text cells, for spreadsheet users.

    Excel holds numbers as doubles, which keep 15 digits: a 19-digit id stored as a number is
    changed for good. Here ids are text cells (exact, and Excel does not convert them); lists
    and structs are JSON text with ids as strings; times are date cells in UTC (no time zone in
    Excel); counts are numbers; the header row is frozen. :func:`read_table` reads it back
    exactly (an empty text cell comes back as null: a spreadsheet has no empty string).
    Needs the ``[excel]`` extra (``xlsxwriter``). Like polars' ``write_excel``, it replaces a file
    that exists at ``path``.

    Args:
        df: the table.
        path: target ``.xlsx`` file.
        sheet: name of the worksheet (default: ``data``).

    Raises:
        InvalidRequestError: the table does not fit a sheet (more than 1,048,575 rows, or a
            value longer than 32,767 characters): nothing is written, nothing is cut. Use
            Parquet or CSV.

    Example:
        >>> import tempfile
        >>> p = write_excel(pl.DataFrame({"id": [7320768158545159950]}),
        ...                 Path(tempfile.mkdtemp()) / "v.xlsx")
        >>> read_table(p, table="videos")["id"].to_list()
        [7320768158545159950]
    """
    require("xlsxwriter", extra="excel", feature="writing .xlsx files")
    if df.height > EXCEL_MAX_ROWS - 1:
        raise InvalidRequestError(
            f"{df.height:,} rows do not fit an Excel sheet ({EXCEL_MAX_ROWS - 1:,} at most); "
            "write Parquet or CSV instead"
        )
    exprs: list[pl.Expr] = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if is_id_column(name, dtype) and not isinstance(dtype, (pl.List, pl.Array)):
            exprs.append(col.cast(pl.String))
        elif isinstance(dtype, (pl.Struct, pl.List, pl.Array)):
            exprs.append(_json_text(col, dtype).alias(name))
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone:
            exprs.append(col.dt.convert_time_zone("UTC").dt.replace_time_zone(None))
        else:
            exprs.append(col)
    frame = df.select(exprs)
    too_long = [
        c
        for c, t in frame.schema.items()
        if t == pl.String and (frame[c].str.len_chars().max() or 0) > EXCEL_MAX_CELL  # type: ignore[operator]
    ]
    if too_long:
        raise InvalidRequestError(
            f"column(s) {', '.join(too_long)} hold values longer than Excel's "
            f"{EXCEL_MAX_CELL:,} characters per cell (they would be cut); write Parquet or CSV"
        )
    target = Path(path)
    with _replacing(target) as tmp:
        frame.write_excel(tmp, worksheet=sheet or "data", autofit=False, freeze_panes=(1, 0),
                          dtype_formats={pl.Datetime: "yyyy-mm-dd hh:mm:ss"})  # fmt: skip
    return target


def _read_xlsx(source: Path, table: str | None) -> pl.DataFrame:
    """A workbook written by :func:`write_excel` -> the declared schema, exactly."""
    require("fastexcel", extra="excel", feature="reading .xlsx files")
    try:
        raw = pl.read_excel(source, infer_schema_length=0)  # every cell as its text
    except pl.exceptions.PolarsError:
        raise
    except Exception as e:  # fastexcel's own errors (a file that is not a workbook)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidRequestError(f"cannot read {source}: {first}") from None
    return _from_text(raw, source, table)


# ----------------------------------------------------------------------------------- readers


def read_table(path: str | Path, table: str | None = None) -> pl.DataFrame:
    """Read a table the package wrote, whatever the format: Parquet, CSV, JSON lines, ``.xlsx``
    or a dataset.

    Args:
        path: a ``.parquet`` file, a ``.csv`` file (read with :func:`read_csv`), a ``.jsonl`` /
            ``.ndjson`` file (ids as strings or numbers), an ``.xlsx`` workbook (the ``[excel]``
            extra), or a dataset folder (read with :func:`read_dataset`).
        table: cast to this declared table (for CSV, JSON lines and workbooks: the best match of
            the header when None); Parquet files and datasets are returned as stored when None.

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
    from . import _dataset

    source = Path(path)
    _dataset.finish_swap(source)  # a dataset whose refresh was killed between its two renames
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
            return _read_ndjson(source, table)
        if suffix == ".xlsx":
            return _read_xlsx(source, table)
    except pl.exceptions.PolarsError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidRequestError(f"cannot read {source}: {first}") from None
    raise InvalidRequestError(
        f"cannot read {source}: unknown format {source.suffix or '(no extension)'!r}; "
        "use .parquet, .csv, .jsonl, .xlsx or a dataset folder"
    )


def to_pandas(df: pl.DataFrame) -> pd.DataFrame:
    """Convert to pandas with exact ids and nullable types (``pd.ArrowDtype``; never float ids).

    polars' own ``df.to_pandas()`` turns an integer column with a null (``playlist_id``,
    ``music_id``...) into float64, which changes 19-digit ids; this one does not.

    Example:
        >>> to_pandas(pl.DataFrame({"id": [7320768158545159950, None]}))["id"].tolist()
        [7320768158545159950, <NA>]
    """
    require("pandas", extra="pandas", feature="tr.io.to_pandas")
    import pandas as pd

    return df.to_pandas(types_mapper=pd.ArrowDtype)
