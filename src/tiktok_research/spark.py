"""The raw archive read by Spark, for collections that live on a cluster or in a bucket.

:func:`read_archive` turns archive files (``.jsonl`` / ``.jsonl.gz``, one envelope per line, see
``tiktok_research._archive``) into one typed table, the way :func:`tiktok_research.merge_dumps`
does on one machine, but as a lazy Spark ``DataFrame``: the files are parsed by Spark's JSON
reader on the executors, in parallel, wherever they are (``s3://``, ``abfss://``, ``hdfs://``,
``dbfs:/``, a local folder).

What it does, step by step (the same rules as :mod:`tiktok_research.tables`):

* every line is read with one explicit schema (:func:`archive_schema`) whose leaves are all text,
  so a 19-digit id is read as its digits and never through a double, and a number sent as a
  string still parses;
* pages of other endpoints, error pages (``error.code`` other than ``ok``), bodies that were not
  JSON (``response_text``) and lines that are not JSON at all are left out;
* the item lists are exploded (one row per record) and each column is converted to its declared
  type (:func:`tiktok_research.schemas.spark_schema`): integers through ``DecimalType(20, 0)`` to
  ``LongType`` (a value beyond int64 becomes null, as in ``merge_dumps``), ``create_time`` as a
  UTC instant (seconds, or milliseconds above 1e11), lists and objects with ``from_json``;
* the columns the API leaves out are filled from the recorded request: ``username`` of user info,
  ``source_username`` of liked / pinned / reposted videos, followers and following, ``video_id``
  of comments, ``shop_id`` of products and ``product_id`` of reviews; NUL characters are removed
  from usernames;
* rows are de-duplicated on the table's primary key, keeping the most recently retrieved
  (``meta.retrieved_at``, else the file's modification time; ties go to the later file path, then
  the later page); playlists are combined across their pages.

Unlike ``merge_dumps`` it does not report what it skipped (that would need a second pass over the
data); run ``merge_dumps`` on a sample of files to see the report.

pyspark is an optional dependency (``pip install 'tiktok-research[spark]'``); importing this
module does not import it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import polars as pl

from . import _endpoints as ep
from . import schemas, tables
from ._checks import NUL
from ._optional import require
from .errors import InvalidRequestError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import StructType

__all__ = ["archive_schema", "read_archive"]

_VIDEO_FAMILY = ("videos", "liked_videos", "pinned_videos", "reposted_videos")
_INT = r"^[+-]?[0-9]{1,19}$"  # anything longer cannot fit a signed 64-bit integer
_MS_THRESHOLD = schemas.MS_THRESHOLD


def _endpoint(table: str) -> ep.Endpoint:
    schemas._check_table(table)
    return next(e for e in ep.ENDPOINTS.values() if e.table == table)


def archive_schema(table: str) -> StructType:
    """The Spark read schema of archive lines holding pages of ``table``'s endpoint.

    ``meta``, ``request``, ``response`` (``data`` with the endpoint's item fields, ``error``) and
    ``response_text``; every leaf is a string, so nothing is decoded through a double and a value
    of an unexpected type never spoils the rest of its page.

    Example:
        >>> archive_schema("videos")["meta"]
        StructField('meta', StructType([StructField('run', StringType(), True), ...
    """
    endpoint = _endpoint(table)
    read = tables.envelope_schema([endpoint.name], lenient=True)
    return schemas.spark_type(pl.Struct(dict(read)))  # type: ignore[return-value]


def _paths(path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[str]:
    if isinstance(path, str | os.PathLike):
        return [os.fspath(path)]
    out = [os.fspath(p) for p in path]
    if not out:
        raise InvalidRequestError("read_archive() needs at least one path (a file, folder or glob)")
    return out


def _int(text: Column) -> Column:
    """Text -> LongType, exactly; null when it is not an integer or does not fit int64."""
    from pyspark.sql import functions as F

    trimmed = F.trim(text)
    exact = F.when(trimmed.rlike(_INT), trimmed.try_cast("decimal(20,0)"))
    return exact.try_cast("bigint")


def _timestamp(text: Column) -> Column:
    """Unix time as text -> a UTC instant; above 1e11 the value is in milliseconds."""
    from pyspark.sql import functions as F

    n = _int(text)
    micros = F.when(F.abs(n) > F.lit(_MS_THRESHOLD), F.try_multiply(n, F.lit(1_000))).otherwise(
        F.try_multiply(n, F.lit(1_000_000))
    )
    return F.timestamp_micros(micros)


def _boolean(text: Column) -> Column:
    from pyspark.sql import functions as F

    lower = F.lower(text)
    return F.when(lower.isin("true", "1"), F.lit(True)).when(lower.isin("false", "0"), F.lit(False))


def _convert(text: Column, dtype: pl.DataType) -> Column:
    """Raw text of one field -> its declared type (``tables._convert_scalar`` for Spark)."""
    from pyspark.sql import functions as F

    if isinstance(dtype, pl.List | pl.Struct):
        return F.from_json(text, schemas.spark_type(dtype))  # type: ignore[arg-type]
    if isinstance(dtype, pl.Datetime):
        return _timestamp(text)
    if dtype.is_integer():
        return _int(text)
    if isinstance(dtype, pl.Boolean):
        return _boolean(text)
    return text


def _stored_username(column: Column) -> Column:
    """A username the service sent, as the tables store it: the rule of
    :func:`tiktok_research._checks.stored_username_expr` (NULs go), on a Spark column."""
    from pyspark.sql import functions as F

    return F.regexp_replace(column, NUL, "")


def _endpoint_column(endpoint: ep.Endpoint) -> Column:
    """Endpoint of a line: ``meta.endpoint``, else the request path, else the keys of ``data``."""
    from pyspark.sql import functions as F

    path = F.regexp_replace(
        F.regexp_replace(F.col("request.path"), r"^https?://[^/]+", ""), r"^/+|/+$", ""
    )
    by_path = F.when(path == endpoint.path.strip("/"), F.lit(endpoint.name))
    data = F.col("response.data")
    if endpoint.data_key is not None:
        present = [data[k].isNotNull() for k in (endpoint.data_key, *endpoint.alt_data_keys)]
    else:
        present = [data[f].isNotNull() for f in endpoint.fields]
    seen = present[0]
    for p in present[1:]:
        seen = seen | p
    detected = F.when(seen, F.lit(endpoint.name))
    return F.coalesce(F.col("meta.endpoint"), by_path, detected)


def read_archive(
    spark: SparkSession,
    path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    table: str = "videos",
) -> DataFrame:
    """Read raw archive files with Spark into one de-duplicated table with the declared schema.

    The result equals ``tiktok_research.merge_dumps(path)[table]`` (up to row order) and is lazy:
    nothing is read until you act on it (``.count()``, ``.write.parquet(...)``, a summary...).

    Args:
        spark: the Spark session (local or a cluster's).
        path: an archive file, a folder (read recursively: every ``*.jsonl`` and ``*.jsonl.gz``
            in it), a glob, or a list of them; any URI Spark can read (``s3a://``, ``dbfs:/``...).
        table: the table to build, e.g. ``"videos"``, ``"comments"``, ``"users"``
            (``tiktok_research.schemas.SCHEMAS`` lists them).

    Returns:
        A Spark ``DataFrame`` with exactly :func:`tiktok_research.schemas.spark_schema` (ids as
        ``LongType``, ``create_time`` as ``TimestampType``).

    Raises:
        InvalidRequestError: an unknown table, or no path (also a ValueError).
        MissingDependencyError: pyspark is not installed (``pip install 'tiktok-research[spark]'``).

    Example:
        >>> import tiktok_research as tr
        >>> from pathlib import Path
        >>> from tiktok_research.spark import read_archive
        >>> archive = Path("out/archive").absolute()  # Spark reads relative paths from its folder
        >>> q = tr.Q.hashtag_name.eq("climate")
        >>> collected = tr.fetch_videos(q, "2024-01-01", "2024-01-31", archive=archive)
        >>> videos = read_archive(spark, archive, table="videos")
        >>> videos.count() == collected.height
        True
    """
    _endpoint(table)  # an unknown table is refused before Spark is touched
    require("pyspark", extra="spark", feature="tiktok_research.spark.read_archive")
    from pyspark.sql import functions as F

    declared = schemas.SCHEMAS[table]
    items, item = _items(_pages(spark, path, table), table)
    columns = _columns(item, table)
    spark_types = schemas.spark_schema(table)
    typed = [
        (columns[name] if name in columns else F.lit(None))
        .cast(spark_types[name].dataType)
        .alias(name)
        for name in declared
    ]
    order = ["_retrieved_at", "_file", "_page", "_line", "_pos"]
    rows = items.select(*typed, *order)
    if table == "playlists":
        return _combine_playlists(rows, list(declared), order)
    return _latest(rows, table, order)


def _pages(
    spark: SparkSession,
    path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    table: str,
) -> DataFrame:
    """The ok pages of ``table``'s endpoint in archive files: the envelope schema of
    :func:`tiktok_research.tables.envelope_schema`, read as text, one row per page."""
    from pyspark.sql import functions as F

    endpoint = _endpoint(table)
    raw = (
        spark.read.schema(archive_schema(table))
        .option("mode", "PERMISSIVE")
        .option("recursiveFileLookup", "true")
        .option("pathGlobFilter", "*.{jsonl,jsonl.gz}")
        .json(_paths(path))
    )
    request = {
        k: F.coalesce(F.col(f"request.body.{k}"), F.col(f"request.params.{k}"))
        for k in tables.REQUEST_KEYS
    }
    error = F.col("response.error")
    code = F.when(error.startswith("{"), F.get_json_object(error, "$.code")).otherwise(error)
    retrieved = F.coalesce(
        F.col("meta.retrieved_at").try_cast("timestamp"),
        F.col("_metadata.file_modification_time"),
    )
    return raw.select(
        retrieved.alias("_retrieved_at"),
        F.col("_metadata.file_path").alias("_file"),
        _int(F.col("meta.page")).alias("_page"),
        F.monotonically_increasing_id().alias("_line"),
        _endpoint_column(endpoint).alias("_endpoint"),
        code.alias("_code"),
        *[v.alias(f"_req_{k}") for k, v in request.items()],
        F.col("response.data").alias("_data"),
    ).filter(
        (F.col("_endpoint") == endpoint.name) & (F.col("_code").isNull() | (F.col("_code") == "ok"))
    )


def _items(pages: DataFrame, table: str) -> tuple[DataFrame, dict[str, Column]]:
    """One row per record of the pages (``_item``, at ``_pos`` in its page), and its fields."""
    from pyspark.sql import functions as F

    endpoint = _endpoint(table)
    aux = ["_retrieved_at", "_file", "_page", "_line", *[f"_req_{k}" for k in tables.REQUEST_KEYS]]
    data_type = archive_schema(table)["response"].dataType["data"].dataType  # type: ignore[index]
    if endpoint.data_key is not None:
        keys = [endpoint.data_key, *endpoint.alt_data_keys]
        lists = F.coalesce(*[F.col("_data")[k] for k in keys])
        items = pages.select(*aux, F.posexplode(lists).alias("_pos", "_item"))
        fields = [f.name for f in data_type[endpoint.data_key].dataType.elementType.fields]
    else:
        fields = [f.name for f in data_type.fields]
        any_field = F.lit(False)
        for name in fields:
            any_field = any_field | F.col("_data")[name].isNotNull()
        items = pages.filter(any_field).select(
            *aux, F.lit(0).alias("_pos"), F.col("_data").alias("_item")
        )
    return items, {name: F.col("_item")[name] for name in fields}


def _columns(item: dict[str, Column], table: str) -> dict[str, Column]:
    """The declared columns of ``table`` from a record's text fields and its request."""
    from pyspark.sql import functions as F

    declared = schemas.SCHEMAS[table]
    columns: dict[str, Column] = {
        name: _convert(item[name], dtype) for name, dtype in declared.items() if name in item
    }
    if table in _VIDEO_FAMILY and "video_id" in item:
        # doc examples of the video endpoints say video_id where responses say id
        columns["id"] = F.coalesce(columns["id"], _int(item["video_id"]))
    if table == "comments":
        columns["video_id"] = F.coalesce(columns["video_id"], _int(F.col("_req_video_id")))
    if table == "users":
        columns["username"] = F.coalesce(
            columns.get("username", F.lit(None)), F.col("_req_username")
        )
    if table == "playlists":
        columns["playlist_id"] = F.coalesce(columns["playlist_id"], _int(F.col("_req_playlist_id")))
    if table in tables.FROM_REQUEST:
        name, key = tables.FROM_REQUEST[table]
        columns[name] = _convert(F.col(f"_req_{key}"), declared[name])
    for name in ("username", "source_username"):
        if name in columns:
            columns[name] = _stored_username(columns[name])
    return columns


def _latest(rows: DataFrame, table: str, order: list[str]) -> DataFrame:
    """One row per primary key, the most recently retrieved (then the later file and page)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    declared = list(schemas.SCHEMAS[table])
    pk = schemas.primary_key(table)
    has_key = F.lit(True)
    for name in pk:
        has_key = has_key & F.col(name).isNotNull()
    latest = Window.partitionBy(*pk).orderBy(*[F.col(c).desc_nulls_last() for c in order])
    keyed = (
        rows.filter(has_key)
        .withColumn("_rank", F.row_number().over(latest))
        .filter(F.col("_rank") == 1)
        .select(*declared)
    )
    # rows without a key (an id beyond int64...) are de-duplicated on the whole row
    keyless = rows.filter(~has_key).select(*declared).dropDuplicates()
    return keyed.unionByName(keyless)


def _combine_playlists(rows: DataFrame, names: list[str], order: list[str]) -> DataFrame:
    """One row per playlist: video ids of every page in page order, latest values otherwise."""
    from pyspark.sql import functions as F

    ranked = F.struct(*[F.col(c) for c in order])
    aggs: list[Any] = [
        F.array_distinct(
            F.flatten(
                F.transform(
                    F.sort_array(F.collect_list(F.struct(ranked.alias("o"), "playlist_video_ids"))),
                    lambda s: F.coalesce(s["playlist_video_ids"], F.array().cast("array<bigint>")),
                )
            )
        ).alias("playlist_video_ids")
    ]
    for name in names:
        if name in ("playlist_id", "playlist_video_ids"):
            continue
        last = F.sort_array(
            F.collect_list(
                F.when(F.col(name).isNotNull(), F.struct(ranked.alias("o"), F.col(name).alias("v")))
            )
        )
        aggs.append(F.try_element_at(last, F.lit(-1))["v"].alias(name))
    return rows.groupBy("playlist_id").agg(*aggs).select(*names)
