"""Raw API pages -> typed tables, fast: polars' native JSON reader, no Python object per record.

The pages of a request are joined into newline-delimited JSON and read once by
``pl.read_ndjson`` with an explicit schema (see :func:`page_schema`); the item lists are then
exploded and unnested and every column is cast to the declared schema of
:mod:`tiktok_research.schemas`.

Integers are read as ``Int128`` first, so an id that does not fit a signed 64-bit integer (doc
placeholders such as ``9999999999999999999``) becomes null and is *reported* instead of wrapping or
passing through float. If a page does not match the strict schema (a number sent as a string, an
unverified nested field with another shape), the pages are read again leniently (scalars as text)
and cast value by value; what could not be converted is null and reported.

Handled:

* ``video_id`` where ``id`` is expected (doc examples of the video query);
* missing keys (null), NUL characters (kept in text, **stripped from usernames**: users report that
  NULs inside usernames break databases and joins), emoji and right-to-left text (kept verbatim);
* millisecond timestamps where seconds are expected (values above 1e11);
* fields the API starts sending: left out of the table, reported once, kept in the raw archive.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.json as pa_json

from . import _endpoints as ep
from . import schemas
from ._archive import PageRef, read_file_lines
from ._checks import plural, stored_username_expr
from .errors import DataWarning, InvalidRequestError, InvalidTypeError, warn_user

if TYPE_CHECKING:
    from .plan import Plan

__all__ = [
    "ArchiveRead",
    "DataWarning",  # defined in errors; kept importable from here
    "finish",
    "from_archive",
    "from_items",
    "from_responses",
    "page_schema",
    "read_archive",
]

logger = logging.getLogger(__name__)

RAW_INT = pl.Int128()

#: Request keys kept beside each page (as text): the item it was about, and where in its sequence
#: (the ``request`` part of the envelope schema; :mod:`tiktok_research.spark` reads the same).
REQUEST_KEYS = ("username", "video_id", "shop_id", "product_id", "playlist_id", "comment_id",
                "shop_name", "cursor", "page_start")  # fmt: skip
#: Columns the API leaves out, filled from the request that asked for the page:
#: ``{table: (column, request key)}`` (also used by :mod:`tiktok_research.spark`).
FROM_REQUEST: dict[str, tuple[str, str]] = {
    **{t: ("source_username", "username") for t in ("liked_videos", "pinned_videos",
                                                    "reposted_videos", "followers", "following")},
    "products": ("shop_id", "shop_id"),
    "reviews": ("product_id", "product_id"),
}  # fmt: skip
# Of those, the keys our own client sends as JSON numbers (typed reads of our archive).
_NUMERIC_REQUEST_KEYS = frozenset(
    {"video_id", "shop_id", "product_id", "playlist_id", "comment_id", "cursor", "page_start"}
)
# Columns of a "pages" frame besides `data` (see pages_from_ndjson).
_AUX = ("_src", "_row", "_retrieved_at", "_endpoint", *(f"_req_{k}" for k in REQUEST_KEYS),
        "_error_code")  # fmt: skip
# Columns carried from pages to their rows (besides _retrieved_at and _order).
_CARRIED = ("_k_item", "_k_rank", "_k_file", "_k_sub")


# --------------------------------------------------------------------------------------- schemas


def _raw(dtype: Any, lenient: bool) -> pl.DataType:
    """Read type of a declared type: integers as Int128 (or text when lenient)."""
    if isinstance(dtype, pl.List):
        return pl.List(_raw(dtype.inner, lenient))
    if isinstance(dtype, pl.Struct):
        return pl.Struct({f.name: _raw(f.dtype, lenient) for f in dtype.fields})
    if lenient:
        return pl.String()
    if dtype.is_integer() or isinstance(dtype, pl.Datetime):
        return RAW_INT
    same: pl.DataType = dtype
    return same


def _item_fields(endpoint: ep.Endpoint) -> dict[str, pl.DataType]:
    """Declared types of the API fields of one item of ``endpoint`` (no added columns)."""
    declared = schemas.SCHEMAS[endpoint.table]
    names = list(endpoint.fields)
    if endpoint.table in ("videos", "liked_videos", "pinned_videos", "reposted_videos"):
        names.append("video_id")  # doc examples say video_id where real responses say id
    if endpoint.name == "user_info":
        names.append("username")  # the getting-started doc example echoes it
    types: dict[str, pl.DataType] = {}
    for name in names:
        types[name] = declared[name] if name in declared else schemas.VIDEOS.get(name, pl.Int64())
    return types


def _item_struct(endpoint: ep.Endpoint, lenient: bool) -> pl.Struct:
    fields = _item_fields(endpoint)
    if lenient:
        # nested values are read as their JSON text, decoded afterwards column by column
        return pl.Struct(
            {
                k: pl.String() if isinstance(v, (pl.List, pl.Struct)) else _raw(v, True)
                for k, v in fields.items()
            }
        )
    return pl.Struct({k: _raw(v, False) for k, v in fields.items()})


def page_schema(endpoints: Iterable[str] | None = None, *, lenient: bool = False) -> pl.Struct:
    """The read schema of one response body (``{"data": ..., "error": ...}``).

    Args:
        endpoints: endpoint names to cover (default: all; one schema then parses any page).
        lenient: read scalars as text (used when a strict read fails).

    Returns:
        A ``pl.Struct`` with ``data`` and ``error`` fields.
    """
    chosen = [ep.ENDPOINTS[n] for n in endpoints] if endpoints else list(ep.ENDPOINTS.values())
    data: dict[str, pl.DataType] = {}
    for e in chosen:
        struct = _item_struct(e, lenient)
        if e.data_key is None:
            for f in struct.fields:
                data.setdefault(f.name, f.dtype)  # type: ignore[arg-type]
        else:
            for key in (e.data_key, *e.alt_data_keys):
                data[key] = pl.List(struct)
    error: pl.DataType = pl.Struct(
        {"code": pl.String(), "message": pl.String(), "log_id": pl.String()}
    )
    if lenient:
        error = pl.String()  # any shape (the OAuth endpoints send a bare string)
    return pl.Struct({"data": pl.Struct(data), "error": error})


def _error_code(error: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """``error.code`` of a page, whether ``error`` was read as a struct or as text."""
    if isinstance(dtype, pl.Struct):
        return error.struct.field("code")
    return (
        pl.when(error.str.starts_with("{"))
        .then(error.str.json_path_match("$.code"))
        .otherwise(error)
    )


def envelope_schema(
    endpoints: Iterable[str] | None = None, *, lenient: bool = False, typed_request: bool = False
) -> pl.Schema:
    """Read schema of one line of the raw archive (see ``_archive``).

    ``typed_request`` reads the request's ids and cursors as integers, as our own client writes
    them (faster with pyarrow); otherwise every request key is read as text (any tool's archive).
    """
    meta = pl.Struct(
        {
            "run": pl.String(),
            "page": pl.String() if lenient else pl.Int64(),
            "endpoint": pl.String(),
            "retrieved_at": pl.String(),
            "http_status": pl.String() if lenient else pl.Int64(),
        }
    )
    typed = typed_request and not lenient
    body = pl.Struct(
        {
            k: pl.Int64() if typed and k in _NUMERIC_REQUEST_KEYS else pl.String()
            for k in REQUEST_KEYS
        }
    )
    request = pl.Struct({"path": pl.String(), "body": body, "params": body})
    return pl.Schema(
        {
            "meta": meta,
            "request": request,
            "response": page_schema(endpoints, lenient=lenient),
            "response_text": pl.String(),
        }
    )


# ----------------------------------------------------------------------------------- page frames


def _detect_endpoint(data: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Name of the endpoint a parsed page comes from, judged by the keys present in ``data``."""
    known = {f.name for f in dtype.fields} if isinstance(dtype, pl.Struct) else set()
    chain: Any = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String()))
    for e in ep.ENDPOINTS.values():
        if e.data_key is None:
            continue
        keys = [k for k in (e.data_key, *e.alt_data_keys) if k in known]
        if not keys:
            continue
        cond = pl.any_horizontal([data.struct.field(k).is_not_null() for k in keys])
        chain = chain.when(cond).then(pl.lit(e.name))
    for name, wanted in (
        ("playlist_info", ("playlist_name", "playlist_video_ids")),
        ("user_info", ep.USER_INFO_FIELDS),
    ):
        present = [k for k in wanted if k in known]
        if present:
            cond = pl.any_horizontal([data.struct.field(k).is_not_null() for k in present])
            chain = chain.when(cond).then(pl.lit(name))
    result: pl.Expr = chain.otherwise(pl.lit(None, dtype=pl.String()))
    return result


def _endpoint_by_path(path: pl.Expr) -> pl.Expr:
    mapping = {e.path.strip("/"): e.name for e in ep.ENDPOINTS.values()}
    stripped = path.str.replace(r"^https?://[^/]+", "").str.strip_chars("/")
    return stripped.replace_strict(mapping, default=None, return_dtype=pl.String())


def _validate_endpoint(endpoint: str) -> ep.Endpoint:
    try:
        return ep.ENDPOINTS[endpoint]
    except KeyError:
        raise InvalidRequestError(
            f"unknown endpoint {endpoint!r}; expected one of: {', '.join(ep.ENDPOINTS)}"
        ) from None


def _arrow_type(dtype: Any) -> pa.DataType:
    """Arrow read type for pyarrow's JSON reader (Int128 -> int64: overflow then raises)."""
    if isinstance(dtype, pl.List):
        return pa.list_(_arrow_type(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pa.struct([pa.field(f.name, _arrow_type(f.dtype)) for f in dtype.fields])
    if dtype == RAW_INT or dtype == pl.Int64():
        return pa.int64()
    if dtype == pl.String():
        return pa.string()
    if dtype == pl.Boolean():
        return pa.bool_()
    raise InvalidTypeError(f"no Arrow read type for {dtype}")


def _arrow_schema(schema: pl.Schema) -> pa.Schema:
    """pyarrow's read schema for a polars read schema (see :func:`_arrow_type`)."""
    return pa.schema([pa.field(k, _arrow_type(v)) for k, v in schema.items()])


def parse_json_lines(buf: bytes, schema: pa.Schema, *, rechunk: bool = False) -> pl.DataFrame:
    """JSON lines -> a frame of ``schema`` with pyarrow's reader, strictly (raises on a misfit).

    Small blocks are parsed in parallel; a line longer than a block is read again in one block.
    """
    parse = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        table = pa_json.read_json(
            io.BytesIO(buf), read_options=pa_json.ReadOptions(block_size=1 << 20),
            parse_options=parse,
        )  # fmt: skip
    except pa.ArrowInvalid as exc:
        if "straddl" not in str(exc).lower() and "block" not in str(exc).lower():
            raise
        table = pa_json.read_json(
            io.BytesIO(buf), read_options=pa_json.ReadOptions(block_size=len(buf) + 1),
            parse_options=parse,
        )  # fmt: skip
    frame = pl.from_arrow(table, rechunk=rechunk)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _read_ndjson(buf: bytes, schema: pl.Schema) -> pl.DataFrame:
    """Read newline-delimited JSON with an explicit schema, natively (no Python object per record).

    First pyarrow's multi-threaded JSON reader with ``int64`` integers (several times faster than
    polars' reader on nested pages); it raises on any value that does not fit the schema (an id
    beyond int64, a number sent as text), and then polars' reader reads the same bytes with
    ``Int128`` integers so the offending values can be nulled and reported.
    """
    if not buf.strip():
        return pl.DataFrame(schema=schema)
    try:
        frame = parse_json_lines(buf, _arrow_schema(schema), rechunk=True)
        pa.default_memory_pool().release_unused()  # give parse buffers back to the OS
        return frame
    except (pa.ArrowException, TypeError):
        pass
    return pl.read_ndjson(buf, schema=schema, infer_schema_length=None)


def read_schema(
    endpoints: Iterable[str] | None = None,
    *,
    envelope: bool,
    lenient: bool = False,
    typed_request: bool = False,
) -> pl.Schema:
    """Read schema of one line: an archive envelope, or a bare response body."""
    names = list(endpoints) if endpoints else None
    if envelope:
        return envelope_schema(names, lenient=lenient, typed_request=typed_request)
    ps = page_schema(names, lenient=lenient)
    return pl.Schema({f.name: f.dtype for f in ps.fields})


def read_ndjson_file(path: str | Path, schema: pl.Schema | pa.Schema) -> pl.DataFrame:
    """Read a JSON-lines file with pyarrow's reader and ``schema``, strictly (no fallback).

    ``schema`` is a read schema (:func:`read_schema`) or its pyarrow form (:func:`_arrow_schema`,
    worth computing once when many files are read).

    The file is read by pyarrow itself (no copy of its bytes in Python). Raises
    ``pyarrow.ArrowException`` (or ``OSError``) on anything that does not fit: a line that is not
    JSON, an id beyond int64, a number sent as text, a page longer than a read block. The caller
    then reads the file the careful way (:func:`pages_from_ndjson`), which reports such values.
    """
    arrow_schema = schema if isinstance(schema, pa.Schema) else _arrow_schema(schema)
    parse = pa_json.ParseOptions(explicit_schema=arrow_schema, unexpected_field_behavior="ignore")
    with pa.OSFile(str(path), "r") as fh:
        table = pa_json.read_json(
            fh, read_options=pa_json.ReadOptions(block_size=1 << 20), parse_options=parse
        )
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    del table
    return frame


def pages_from_ndjson(
    buf: bytes,
    *,
    envelope: bool,
    src: str = "<bytes>",
    endpoints: Iterable[str] | None = None,
    default_retrieved_at: Any = None,
    default_endpoint: str | None = None,
    lenient: bool = False,
    typed_request: bool = False,
) -> tuple[pl.DataFrame, bool]:
    """Parse newline-delimited pages (archive envelopes or bare response bodies) into a page frame.

    Raises ``pl.exceptions.PolarsError`` / ``ComputeError`` when a line is not JSON at all.

    Returns:
        (pages, lenient): one row per line with ``data`` plus the ``_AUX`` columns; ``lenient`` is
        true when the strict schema failed and scalars were read as text.
    """
    names = list(endpoints) if endpoints else None
    try:
        if lenient:
            raise pl.exceptions.ComputeError("lenient read requested")
        try:
            raw = _read_ndjson(
                buf, read_schema(names, envelope=envelope, typed_request=typed_request)
            )
        except pl.exceptions.PolarsError:
            if not typed_request:
                raise
            raw = _read_ndjson(buf, read_schema(names, envelope=envelope))
    except pl.exceptions.PolarsError:
        lenient = True
        raw = _read_ndjson(buf, read_schema(names, envelope=envelope, lenient=True))
    pages = pages_from_raw(
        raw, envelope=envelope, src=src, default_retrieved_at=default_retrieved_at,
        default_endpoint=default_endpoint,
    )  # fmt: skip
    return pages, lenient


def pages_from_raw(
    raw: pl.DataFrame,
    *,
    envelope: bool,
    src: str = "<bytes>",
    default_retrieved_at: Any = None,
    default_endpoint: str | None = None,
) -> pl.DataFrame:
    """Parsed lines (see :func:`read_schema`) -> a page frame: ``data`` plus the ``_AUX`` columns.

    ``_error_code`` is the API's ``error.code``; an archived body that was not JSON (an HTML
    gateway page, kept as ``response_text``) gets ``"HTTP <status>, not JSON"``.
    """
    if envelope:
        meta, req = pl.col("meta"), pl.col("request")
        body, params = req.struct.field("body"), req.struct.field("params")
        retrieved = meta.struct.field("retrieved_at").str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us", time_zone="UTC", strict=False
        )
        response_schema = raw.schema["response"].to_schema()  # type: ignore[attr-defined]
        endpoint = pl.coalesce(
            meta.struct.field("endpoint"),
            _endpoint_by_path(req.struct.field("path")),
            _detect_endpoint(pl.col("response").struct.field("data"), response_schema["data"]),
        )
        non_json = (
            pl.when(pl.col("response").is_null() & pl.col("response_text").is_not_null())
            .then(
                pl.concat_str(
                    pl.lit("HTTP "),
                    meta.struct.field("http_status").cast(pl.String),
                    pl.lit(", not JSON"),
                ).fill_null("not JSON")
            )
            .otherwise(pl.lit(None, dtype=pl.String()))
        )
        error_code = pl.coalesce(
            _error_code(pl.col("response").struct.field("error"), response_schema["error"]),
            non_json,
        )
        pages = raw.select(
            pl.lit(src).alias("_src"),
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
            retrieved.alias("_retrieved_at"),
            endpoint.alias("_endpoint"),
            *[
                pl.coalesce(
                    body.struct.field(k).cast(pl.String), params.struct.field(k).cast(pl.String)
                ).alias(f"_req_{k}")
                for k in REQUEST_KEYS
            ],
            error_code.alias("_error_code"),
            meta.struct.field("run").alias("_run"),
            meta.struct.field("page").cast(pl.Int64, strict=False).alias("_page"),
            pl.col("response").struct.field("data").alias("data"),
        )
    else:
        detected = _detect_endpoint(pl.col("data"), raw.schema["data"])
        if default_endpoint is not None:
            detected = pl.coalesce(detected, pl.lit(default_endpoint))
        pages = raw.select(
            pl.lit(src).alias("_src"),
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
            pl.lit(default_retrieved_at, dtype=pl.Datetime("us", "UTC")).alias("_retrieved_at"),
            detected.alias("_endpoint"),
            *[pl.lit(None, dtype=pl.String()).alias(f"_req_{k}") for k in REQUEST_KEYS],
            _error_code(pl.col("error"), raw.schema["error"]).alias("_error_code"),
            pl.col("data"),
        )
    return pages


# ------------------------------------------------------------------------------- items -> table


def _warn(message: str, issues: list[str] | None) -> None:
    logger.warning(message)
    if issues is not None:
        issues.append(message)
    else:
        warn_user(message, DataWarning)


def _convert_scalar(df: pl.DataFrame, name: str, target: pl.DataType) -> pl.Expr:
    """Expression casting raw column ``name`` to ``target`` without raising."""
    col = pl.col(name)
    current = df.schema[name]
    if isinstance(target, pl.Datetime):
        if current == pl.String():
            col = col.str.strip_chars().cast(pl.Int64, strict=False)
        return schemas.to_datetime(col)
    if isinstance(target, pl.Boolean) and current == pl.String():
        return col.str.to_lowercase().replace_strict(
            {"true": True, "false": False, "1": True, "0": False}, default=None,
            return_dtype=pl.Boolean(),
        )  # fmt: skip
    if current == pl.String() and target.is_integer():
        return col.str.strip_chars().cast(target, strict=False)
    if current == pl.String() and isinstance(target, (pl.List, pl.Struct)):
        return col  # handled by _decode_nested
    return col.cast(target, strict=False)


def _decode_nested(series: pl.Series, target: pl.DataType) -> tuple[pl.Series, int]:
    """Decode a column of JSON texts into ``target``; values of another shape become null."""
    raw_target = _raw(target, False)
    try:
        return series.str.json_decode(raw_target).cast(target, strict=False), 0
    except pl.exceptions.PolarsError:
        pass
    try:
        decoded = series.str.json_decode(_raw(target, True))
        return decoded.cast(target, strict=False), 0
    except pl.exceptions.PolarsError:
        pass
    # last resort: value by value (only reached for malformed nested values)
    out: list[Any] = []
    bad = 0
    for text in series:
        if text is None:
            out.append(None)
            continue
        try:
            one = pl.Series([text]).str.json_decode(raw_target).cast(target, strict=False)
            out.append(one[0])
        except pl.exceptions.PolarsError:
            out.append(None)
            bad += 1
    return pl.Series(series.name, out, dtype=target), bad


def _finish(
    items: pl.DataFrame, table: str, *, issues: list[str] | None, src: str = ""
) -> pl.DataFrame:
    """Raw item columns (+ added columns) -> declared types, reporting what could not be kept."""
    declared = schemas.SCHEMAS[table]
    keep_aux = [c for c in ("_retrieved_at", "_order", *_CARRIED) if c in items.columns]
    present = [c for c in declared if c in items.columns]
    exprs = [_convert_scalar(items, c, declared[c]).alias(c) for c in present]
    out = items.select(*exprs, *keep_aux)
    # nested columns read as text (lenient path)
    for c in present:
        if items.schema[c] == pl.String() and isinstance(declared[c], (pl.List, pl.Struct)):
            decoded, bad = _decode_nested(items[c], declared[c])
            out = out.with_columns(decoded.alias(c))
            if bad:
                _warn(f"{table}{src}: {bad} {plural(bad, 'value', 'values')} of {c!r} "
                      f"{plural(bad, 'has', 'have')} an unexpected shape; set to null (the raw "
                      "archive keeps them)", issues)  # fmt: skip
    # values that were present but could not be represented (ids beyond int64, "1.5" for an int)
    checks = [
        c
        for c in present
        if not isinstance(declared[c], (pl.List, pl.Struct)) and items.schema[c] != declared[c]
    ]
    if checks and out.height:
        lost = items.select(pl.col(checks).is_not_null())
        lost_counts = (
            pl.DataFrame({c: lost[c] & out[c].is_null() for c in checks}).sum().row(0, named=True)
        )
        for c, n in lost_counts.items():
            if n:
                examples = (
                    items.filter(lost[c] & out[c].is_null())[c].head(3).cast(pl.String).to_list()
                )
                _warn(
                    f"{table}{src}: {n} value(s) of {c!r} cannot be stored as "
                    f"{declared[c]} (e.g. {', '.join(map(str, examples))}); set to null, never "
                    "rounded (the raw archive keeps the original)",
                    issues,
                )
    for c in ("username", "source_username"):
        if c in out.columns:
            out = out.with_columns(stored_username_expr(pl.col(c)))
    result = schemas.cast(out.select(present), table)
    return result.hstack(out.select(keep_aux)) if keep_aux else result


def _added_columns(endpoint: ep.Endpoint) -> list[pl.Expr]:
    """Columns filled from the request (the API leaves them out; see :data:`FROM_REQUEST`)."""
    if endpoint.table not in FROM_REQUEST:
        return []
    column, key = FROM_REQUEST[endpoint.table]
    return [pl.col(f"_req_{key}").alias(column)]


def items_from_pages(
    pages: pl.DataFrame,
    endpoint: str,
    *,
    lenient: bool = False,
    issues: list[str] | None = None,
    src: str = "",
) -> pl.DataFrame:
    """Rows of ``endpoint`` in a page frame -> its table (with ``_retrieved_at``/``_order``).

    ``_order`` increases with the page position so that callers can keep the latest duplicate.
    """
    e = _validate_endpoint(endpoint)
    fields = _item_fields(e)
    same = pages["_endpoint"] == e.name
    mine = pages if same.all() else pages.filter(same)  # filtering copies the pages
    order = (pl.col("_row")).alias("_order")
    carried = [pl.col(c) for c in _CARRIED if c in mine.columns and c != "_k_sub"]
    aux = [pl.col("_retrieved_at"), order, *carried, *_added_columns(e)]
    data = pl.col("data")
    if e.data_key is not None:
        keys = [k for k in (e.data_key, *e.alt_data_keys) if k in mine.schema["data"].to_schema()]  # type: ignore[attr-defined]
        lists = pl.coalesce([data.struct.field(k) for k in keys]).alias("_items")
        req_video = pl.col("_req_video_id").alias("_req_video_id")
        exploded = mine.select(*aux, req_video, lists).explode("_items")
        if exploded["_items"].null_count():
            # empty or missing lists leave a null row; filtering copies, so only when needed
            exploded = exploded.filter(pl.col("_items").is_not_null())
        if "_k_file" in mine.columns:  # the position of each row within the pages read
            exploded = exploded.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_k_sub"))
        names = [f.name for f in exploded.schema["_items"].fields]  # type: ignore[attr-defined]
        items = exploded.with_columns(
            [pl.col("_items").struct.field(n).alias(n) for n in names if n in fields]
        ).drop("_items")
    else:
        struct_fields = mine.schema["data"].to_schema()  # type: ignore[attr-defined]
        wanted = [n for n in fields if n in struct_fields]
        items = mine.select(
            *aux,
            pl.col("_req_username"),
            pl.col("_req_playlist_id"),
            *[data.struct.field(n).alias(n) for n in wanted],
        )
        # a page whose data is null or empty carries no item
        items = items.filter(pl.any_horizontal([pl.col(n).is_not_null() for n in wanted]))
    # id / video_id (doc examples) for the video family
    if e.table != "comments" and "video_id" in items.columns:
        if "id" in items.columns:
            items = items.with_columns(pl.coalesce("id", "video_id").alias("id"))
        else:
            items = items.rename({"video_id": "id"})
        items = items.drop("video_id", strict=False)
    if e.table == "comments":
        req = pl.col("_req_video_id")
        fill = req.str.strip_chars().cast(RAW_INT, strict=False) if items.schema.get(
            "_req_video_id") == pl.String() else req  # fmt: skip
        if "video_id" in items.columns:
            items = items.with_columns(
                pl.coalesce(pl.col("video_id").cast(items.schema["video_id"]),
                            fill.cast(items.schema["video_id"], strict=False)).alias("video_id")
            )  # fmt: skip
    if e.table == "users":
        cols = [c for c in ("username", "_req_username") if c in items.columns]
        items = items.with_columns(pl.coalesce(cols).alias("username"))
    if e.table == "playlists" and "playlist_id" in items.columns:
        items = items.with_columns(
            pl.coalesce(pl.col("playlist_id").cast(pl.String), "_req_playlist_id")
            .str.strip_chars()
            .cast(RAW_INT, strict=False)
            .alias("playlist_id")
        )
    out = _finish(items, e.table, issues=issues, src=src)
    if e.table == "playlists" and out.height:
        out = _combine_playlists(out)
    return out


def _combine_playlists(df: pl.DataFrame) -> pl.DataFrame:
    """One row per playlist: video ids of every page in page order, latest values otherwise."""
    aux = [c for c in ("_k_rank", "_retrieved_at", "_order") if c in df.columns]
    ordered = df.sort(aux, nulls_last=False) if aux else df
    others = [c for c in df.columns if c not in ("playlist_id", "playlist_video_ids")]
    combined = ordered.group_by("playlist_id", maintain_order=True).agg(
        pl.col("playlist_video_ids")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique(maintain_order=True),
        *[pl.col(c).drop_nulls().last().alias(c) for c in others],
    )
    return combined.select(df.columns).cast(df.schema)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ unknown fields


def sniff_unknown(sample: Iterable[Any], endpoint: str | None = None) -> None:
    """Report (once per process) API fields in sampled response bodies that no schema declares.

    Only a few pages are inspected (decoded with ``json``), so the cost does not grow with the
    number of records.
    """
    for body in sample:
        try:
            page = json.loads(body) if isinstance(body, (bytes, str)) else body
        except ValueError:
            continue
        if not isinstance(page, dict):
            continue
        if "response" in page and "meta" in page:
            endpoint = (page.get("meta") or {}).get("endpoint") or endpoint
            page = page.get("response")
        data = page.get("data") if isinstance(page, dict) else None
        if not isinstance(data, dict):
            continue
        for e in ep.ENDPOINTS.values():
            if endpoint is not None and e.name != endpoint:
                continue
            known = set(_item_fields(e))
            if e.data_key is None:
                if endpoint is None:
                    continue
                extra = set(data) - known - {"cursor", "has_more"}
                if extra:
                    schemas.report_unknown(e.table, extra, " (API fields)")
                continue
            for key in (e.data_key, *e.alt_data_keys):
                items = data.get(key)
                if isinstance(items, list):
                    seen: set[str] = set()
                    for item in items:
                        if isinstance(item, dict):
                            seen.update(item)
                    if seen - known:
                        schemas.report_unknown(e.table, seen - known, " (API fields)")


# -------------------------------------------------------------------------------------- public


def _to_line(body: bytes | str | dict[str, Any]) -> bytes:
    if isinstance(body, dict):
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    raw = body.encode() if isinstance(body, str) else bytes(body)
    # raw CR/LF can only be whitespace in valid JSON (inside strings they must be escaped)
    return raw.replace(b"\r", b" ").replace(b"\n", b" ").strip()


def _request_frame(requests: Sequence[dict[str, Any]] | None, n: int) -> pl.DataFrame:
    rows: dict[str, list[str | None]] = {f"_req_{k}": [] for k in REQUEST_KEYS}
    for i in range(n):
        req = (requests[i] if requests is not None and i < len(requests) else None) or {}
        body = req.get("body", req) if isinstance(req.get("body"), dict) else req
        for k in REQUEST_KEYS:
            v = body.get(k)
            rows[f"_req_{k}"].append(None if v is None else str(v))
    return pl.DataFrame(rows, schema={c: pl.String() for c in rows})


def from_responses(
    bodies: Iterable[bytes | str | dict[str, Any]],
    endpoint: str,
    *,
    requests: Sequence[dict[str, Any]] | None = None,
) -> pl.DataFrame:
    """Turn raw response bodies of one endpoint into its typed table.

    Args:
        bodies: the response bodies, as received (bytes or text) or already decoded (dict).
            Non-JSON bodies (an HTML gateway page) and error bodies contribute no rows.
        endpoint: the endpoint name of ``_endpoints`` (e.g. ``"video_query"``, ``"comments"``).
        requests: the request bodies, in the same order as ``bodies``; they fill the columns the API
            leaves out (``username`` of user info, ``source_username`` of liked / pinned / reposted
            / followers / following, ``video_id`` of comments, ``shop_id``, ``product_id``).

    Returns:
        A DataFrame with exactly ``schemas.SCHEMAS[table]`` (also when there are no rows).

    Example:
        >>> body = b'{"data": {"videos": [{"id": 7320768158545159950, "like_count": 3}]}}'
        >>> from_responses([body], "video_query")["id"].to_list()
        [7320768158545159950]
    """
    e = _validate_endpoint(endpoint)
    lines = [_to_line(b) for b in bodies]
    if not lines:
        return schemas.empty(e.table)
    good = [i for i, line in enumerate(lines) if line[:1] == b"{"]
    if len(good) < len(lines):
        n = len(lines) - len(good)
        what = plural(n, "body is not a JSON object", "bodies are not JSON objects")
        _warn(f"{e.name}: {n} {what}; skipped", None)
    sniff_unknown([lines[good[0]], lines[good[-1]]] if good else [], e.name)
    buf = b"\n".join(lines[i] for i in good)
    try:
        pages, lenient = pages_from_ndjson(buf, envelope=False, endpoints=[e.name],
                                           default_endpoint=e.name)  # fmt: skip
    except pl.exceptions.PolarsError:
        # one page at a time, to keep every readable page
        frames, lenient, kept = [], False, []
        for i in good:
            try:
                f, lz = pages_from_ndjson(lines[i], envelope=False, endpoints=[e.name],
                                          default_endpoint=e.name)  # fmt: skip
            except pl.exceptions.PolarsError as exc:
                _warn(f"{e.name}: body {i} is not valid JSON ({exc}); skipped", None)
                continue
            frames.append(f.with_columns(pl.lit(i, dtype=pl.Int64).alias("_row")))
            lenient |= lz
            kept.append(i)
        if not frames:
            return schemas.empty(e.table)
        pages = pl.concat(frames, how="diagonal_relaxed")
        good = kept
    req = _request_frame(requests, len(lines))[good]
    pages = pages.with_columns(req).with_columns(pl.lit(e.name).alias("_endpoint"))
    table = items_from_pages(pages, e.name, lenient=lenient)
    return table.drop("_retrieved_at", "_order", strict=False)


def from_items(items: list[dict[str, Any]], table: str, **constant_columns: Any) -> pl.DataFrame:
    """Turn bare records (e.g. the lists the official wrapper returns) into a typed table.

    Args:
        items: records as dicts with the API's keys.
        table: table name (e.g. ``"videos"``, ``"comments"``).
        **constant_columns: values for every row, e.g. ``source_username="someone"``.

    Example:
        >>> from_items([{"id": 1, "text": "hi"}], "comments", video_id=7)["video_id"].to_list()
        [7]
    """
    schemas._check_table(table)
    line = json.dumps(items, ensure_ascii=False).encode()
    return records_from_json(line, table, constant_columns=constant_columns)


def _records_schema(table: str) -> pl.Schema:
    """The strict read schema of bare records of ``table`` (the item struct of its endpoint)."""
    endpoint = next(e for e in ep.ENDPOINTS.values() if e.table == table)
    return pl.Schema({f.name: f.dtype for f in _item_struct(endpoint, False).fields})


def read_records_strictly(buf: bytes, table: str) -> pl.DataFrame:
    """JSON lines of bare records of ``table`` read strictly by pyarrow (as
    :func:`records_from_json` reads them first), for :func:`records_from_json`'s ``read=``.

    Raises:
        pyarrow.ArrowException: a value does not fit (records_from_json then reads leniently).
    """
    frame = parse_json_lines(buf, _arrow_schema(_records_schema(table)), rechunk=True)
    pa.default_memory_pool().release_unused()
    return frame


def records_from_json(
    buf: bytes,
    table: str,
    *,
    constant_columns: dict[str, Any] | None = None,
    issues: list[str] | None = None,
    src: str = "",
    array: bool = True,
    read: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Parse a JSON array (or JSON lines when ``array`` is false) of bare records of ``table``.

    ``read``: the JSON lines already read by :func:`read_records_strictly` (not read again).
    """
    schema = _records_schema(table)
    # JSON lines: pyarrow's reader first (several times faster), polars' if a value does not fit
    reader = pl.read_json if array else _read_ndjson
    try:
        raw = read if read is not None else reader(buf, schema=schema)
    except pl.exceptions.PolarsError:
        endpoint = next(e for e in ep.ENDPOINTS.values() if e.table == table)
        lz = _item_struct(endpoint, True)
        raw = reader(buf, schema=pl.Schema({f.name: f.dtype for f in lz.fields}))
    if e_video := (table != "comments" and "video_id" in raw.columns):
        raw = raw.with_columns(pl.coalesce("id", "video_id").alias("id")).drop("video_id")
    del e_video
    consts = dict(constant_columns or {})
    for k, v in consts.items():
        raw = raw.with_columns(
            pl.coalesce(raw[k], pl.lit(v)).alias(k) if k in raw.columns else pl.lit(v).alias(k)
        )
    raw = raw.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_order"))
    out = _finish(raw, table, issues=issues, src=src)
    return out.drop("_order") if issues is None and not src else out


# ------------------------------------------------------------------------- rows of a collection


@dataclass
class ArchiveRead:
    """The rows of a collection's archive, and what could and could not be read.

    Attributes:
        items: The rows of the collection's endpoint, typed, with the positions needed to order,
            de-duplicate and cut them (``_retrieved_at``, ``_order``, ``_k_*``); see :func:`finish`.
        readable: The ok pages read, as ``(run, page)`` references.
        damage: ``{file: [what could not be read]}`` for every file that was not intact.
    """

    items: pl.DataFrame
    readable: set[PageRef] = field(default_factory=set)
    damage: dict[str, list[str]] = field(default_factory=dict)


def _adlib_read(files: Sequence[Path], endpoint: str, item_key: str | None) -> ArchiveRead:
    """The ad library's pages of a collection (:func:`_adlib_tables.read_adlib_archive`): every
    readable line of each file, the rest reported in ``damage``."""
    from ._adlib_tables import read_adlib_archive

    damage: dict[str, list[str]] = {}
    datas: list[bytes] = []
    for path in files:
        lines = read_file_lines(path, check=True)
        if lines.damage:
            damage[str(path)] = lines.damage
            logger.warning("%s: %s", path, "; ".join(lines.damage[:5]))
        datas.append(lines.data or b"")
    rows, held = read_adlib_archive(datas, endpoint, item_key)
    return ArchiveRead(rows, {PageRef(r, p) for r, p in held}, damage)


def _page_rank(pagination: str) -> pl.Expr:
    """Where a page stands in its sequence, from the request that asked for it."""
    cursor = pl.col("_req_cursor").cast(pl.Int64, strict=False)
    if pagination == "page":
        return pl.col("_req_page_start").cast(pl.Int64, strict=False).fill_null(1)
    if pagination == "timestamp":  # the cursor moves back in time; the first page sends none
        return (-cursor).fill_null(pl.lit(-(2**62), dtype=pl.Int64))
    return cursor.fill_null(0)


def read_archive(
    files: Sequence[Path],
    endpoint: str,
    item_key: str | None = None,
    only: Mapping[str, set[int]] | None = None,
) -> ArchiveRead:
    """Read a collection's page files into the rows of ``endpoint`` (no network).

    ``item_key`` names the request key of a fan-out's items (``username``, ``video_id``...), so
    that rows can be ordered and cut per item (see :func:`finish`). A batch compliance check
    (``endpoint`` one of the validation endpoints) gives the ids its downloads list as valid.
    ``only`` keeps, for each run it names, the rows of those pages alone (one task's pages out of
    a file that a run wrote for all its tasks); every page read still counts as readable.

    Every file is opened by :func:`tiktok_research._archive.read_file_lines`. An intact file is
    parsed whole by pyarrow (a ``.jsonl`` straight from disk); a file that does not parse whole (a
    line cut by a crash, garbage, a damaged gzip) is read again line by line, every readable line
    kept and the rest reported in ``damage``.
    """
    if endpoint in ep.VALIDATION_ENDPOINTS:
        return _compliance_read(files)
    if endpoint in ep.ADLIB_ENDPOINTS:  # the ad library's answers have rows of their own
        return _adlib_read(files, endpoint, item_key)
    e = ep.ENDPOINTS[endpoint]
    schema = read_schema([e.name], envelope=True, typed_request=True)
    frames: list[pl.DataFrame] = []
    readable: set[PageRef] = set()
    damage: dict[str, list[str]] = {}
    for index, path in enumerate(files):
        pages, lenient = _read_page_file(path, e.name, schema, damage)
        if pages is None:
            continue
        ok = pages.filter(
            (pl.col("_endpoint") == e.name)
            & (pl.col("_error_code").is_null() | (pl.col("_error_code") == "ok"))
        )
        refs = ok.select("_run", "_page").drop_nulls()
        readable.update(PageRef(r, p) for r, p in refs.iter_rows())
        if only:
            ok = _only_pages(ok, only)
        if ok.height == 0:
            continue
        ok = ok.with_columns(
            (pl.col(f"_req_{item_key}") if item_key else pl.lit(None, pl.String)).alias("_k_item"),
            _page_rank(e.pagination).alias("_k_rank"),
            pl.lit(index, dtype=pl.Int64).alias("_k_file"),
        )
        frames.append(items_from_pages(ok, e.name, lenient=lenient, src=f" ({path.name})"))
    if not frames:
        empty = schemas.empty(e.table).with_columns(
            pl.lit(None, pl.Datetime("us", "UTC")).alias("_retrieved_at"),
            pl.lit(None, pl.Int64).alias("_order"),
            pl.lit(None, pl.String).alias("_k_item"),
            pl.lit(None, pl.Int64).alias("_k_rank"),
            pl.lit(None, pl.Int64).alias("_k_file"),
            pl.lit(None, pl.Int64).alias("_k_sub"),
        )
        return ArchiveRead(empty, readable, damage)
    items = pl.concat(frames, how="diagonal_relaxed")
    return ArchiveRead(items, readable, damage)


def _only_pages(pages: pl.DataFrame, only: Mapping[str, set[int]]) -> pl.DataFrame:
    """``pages`` without the pages of a run named in ``only`` that ``only`` does not list."""
    keep = pl.DataFrame(
        [(run, page) for run, numbers in only.items() for page in numbers],
        schema={"_run": pages.schema["_run"], "_page": pages.schema["_page"]},
        orient="row",
    )
    named = pl.col("_run").is_in(list(only))
    return pl.concat([pages.filter(~named), pages.filter(named).join(keep, on=["_run", "_page"],
                                                                     how="semi")])  # fmt: skip


def _read_page_file(
    path: Path, endpoint: str, schema: pl.Schema, damage: dict[str, list[str]]
) -> tuple[pl.DataFrame | None, bool]:
    """The page frame of one archive file (None when nothing in it is readable), and whether it
    was read leniently; what cannot be read is added to ``damage``."""
    whole = read_file_lines(path, check=False)
    try:  # the fast way: the whole file at once
        if whole.data is None:  # an intact-looking .jsonl: pyarrow reads it straight from disk
            return pages_from_raw(read_ndjson_file(whole.path, schema), envelope=True,
                                  src=str(path)), False  # fmt: skip
        if whole.data and not whole.damage:
            return pages_from_ndjson(whole.data, envelope=True, src=str(path),
                                     endpoints=[endpoint], typed_request=True)  # fmt: skip
    except (pa.ArrowException, OSError, pl.exceptions.PolarsError):
        pass
    del whole
    lines = read_file_lines(path, check=True)  # the careful way: line by line
    if lines.damage:
        damage[str(path)] = lines.damage
        logger.warning("%s: %s", path, "; ".join(lines.damage[:5]))
    if not lines.data:
        return None, False
    try:
        return pages_from_ndjson(lines.data, envelope=True, src=str(path),
                                 endpoints=[endpoint], typed_request=True)  # fmt: skip
    except pl.exceptions.PolarsError as exc:
        damage.setdefault(str(path), []).append(f"cannot be parsed ({exc})")
        return None, False


def _compliance_read(files: Sequence[Path]) -> ArchiveRead:
    """The ids the downloads of a batch compliance check list as still valid.

    A download is a text file of ids, archived verbatim as ``response_text``; the other answers
    of a check (upload, status) and error answers carry no rows.
    """
    valid: list[int] = []
    readable: set[PageRef] = set()
    damage: dict[str, list[str]] = {}
    for path in files:
        lines = read_file_lines(path, check=True)
        if lines.damage:
            damage[str(path)] = lines.damage
        for line in (lines.data or b"").split(b"\n"):
            if b'"validation_download"' not in line[:300]:
                continue
            env = json.loads(line)
            meta = env.get("meta") or {}
            text = env.get("response_text")
            if meta.get("http_status") != 200 or not isinstance(text, str):
                continue  # an error answer (JSON) or another layout
            readable.add(PageRef(str(meta.get("run")), int(meta.get("page") or 0)))
            valid.extend(int(t) for t in text.split() if t.isdigit())
    items = pl.DataFrame({"id": valid}, schema={"id": pl.Int64()})
    return ArchiveRead(items, readable, damage)


#: The order of the ad library's searches, whose pages arrive from several searches at once (a
#: country and a year each) and whose rows repeat across them (an ad shown in two countries): the
#: newest first, then by key, whatever the order of arrival or of the countries given.
SEARCH_ORDER: dict[str, tuple[list[str], bool]] = {
    "ad_query": (["first_shown_date", "ad_id"], True),
    "commercial_content_query": (["create_timestamp", "id"], True),
    "ad_report": (["country", "date"], False),
}


def finish(
    items: pl.DataFrame,
    plan: Plan,
    *,
    unknown: Collection[str] = (),
    retrieved_at: bool = False,
) -> pl.DataFrame:
    """The collection's table from its rows: de-duplicated, ordered, cut, declared schema.

    One row per primary key, keeping the most recently retrieved copy. A video query is ordered
    newest id first and cut to exactly ``max_total`` rows; a fan-out keeps the order of the items
    given, then the order of the pages within each item, and keeps at most ``max_total`` rows per
    item. A batch compliance check gives every id of the plan, in order, and whether a download
    lists it (``valid``; null for the ids of the tasks in ``unknown``: not finished, failed or
    unreadable). This is the one place a collection's rows are made and cut.

    Args:
        items: The rows read from the archive (:func:`read_archive`).
        plan: The collection's plan.
        unknown: Keys of the tasks whose answer is not held (compliance checks).
        retrieved_at: Add ``retrieved_at``: when the answer that gave each row arrived.
    """
    if plan.table == "compliance":
        return _compliance_table(items, plan, unknown)
    e = ep.ENDPOINTS.get(plan.endpoint) or ep.ADLIB_ENDPOINTS[plan.endpoint]
    table = e.table
    if items.height == 0:
        return _with_retrieved(schemas.empty(table), retrieved_at)
    for c in ("_k_rank", "_k_file", "_k_sub", "_order"):
        if c not in items.columns:
            items = items.with_columns(pl.lit(0, dtype=pl.Int64).alias(c))
    key = schemas.primary_key(table)
    if table == "playlists":
        deduped = items  # pages of one playlist were combined already
    else:
        deduped = items.sort(
            ["_retrieved_at", "_k_file", "_order", "_k_sub"], nulls_last=False
        ).unique(subset=key, keep="last", maintain_order=True)
    if plan.endpoint in SEARCH_ORDER:  # an ad library search: rows in a stable order
        columns, descending = SEARCH_ORDER[plan.endpoint]
        out = deduped.sort(columns, descending=descending, nulls_last=True)
        if plan.max_total is not None:
            out = out.head(plan.max_total)
        return _declared_rows(out, table, retrieved_at)
    if plan.newest_first:  # a video query: newest first
        out = deduped.sort("id", descending=True, nulls_last=True)
        if plan.max_total is not None:
            out = out.head(plan.max_total)
        return _declared_rows(out, table, retrieved_at)
    order = pl.DataFrame(
        {
            "_k_item": [
                str(t.params[plan.item_key]) if plan.item_key else None for t in plan.tasks
            ],
            "_k_index": list(range(len(plan.tasks))),
        },
        schema={"_k_item": pl.String, "_k_index": pl.Int64},
    )
    ranked = (
        deduped.with_columns(pl.col("_k_item").cast(pl.String))
        .join(order.with_columns(pl.col("_k_item").cast(pl.String)), on="_k_item", how="left")
        .sort(["_k_index", "_k_rank", "_k_file", "_order", "_k_sub"], nulls_last=True,
              maintain_order=True)
    )  # fmt: skip
    if plan.max_total is not None:
        ranked = ranked.filter(pl.int_range(pl.len()).over("_k_item") < plan.max_total)
    return _declared_rows(ranked, table, retrieved_at)


def _declared_rows(rows: pl.DataFrame, table: str, retrieved_at: bool) -> pl.DataFrame:
    """Rows with their positions dropped, cast to the table's schema (+ ``retrieved_at``)."""
    out = schemas.cast(rows.select([c for c in rows.columns if not c.startswith("_")]), table)
    if not retrieved_at:
        return out
    return out.with_columns(rows.get_column("_retrieved_at").cast(schemas.TIMESTAMP)
                            .alias("retrieved_at"))  # fmt: skip


def _with_retrieved(table: pl.DataFrame, retrieved_at: bool) -> pl.DataFrame:
    if not retrieved_at:
        return table
    return table.with_columns(pl.lit(None, schemas.TIMESTAMP).alias("retrieved_at"))


def _compliance_table(items: pl.DataFrame, plan: Plan, unknown: Collection[str]) -> pl.DataFrame:
    """Every id of a compliance plan, in order: valid when a download lists it, null when its
    task's answer is not held."""
    ids = [i for t in plan.tasks for i in t.params.get("ids") or []]
    open_ids = {i for t in plan.tasks if t.key in unknown for i in t.params.get("ids") or []}
    valid = set(items.get_column("id").to_list()) if items.height else set()
    flags = [None if i in open_ids else i in valid for i in ids]
    return pl.DataFrame({"id": ids, "valid": flags}, schema=schemas.COMPLIANCE)


def from_archive(files: Sequence[Path], plan: Plan) -> tuple[pl.DataFrame, ArchiveRead]:
    """A collection's table from its page files (see :func:`read_archive` and :func:`finish`)."""
    read = read_archive(files, plan.endpoint, plan.item_key)
    return finish(read.items, plan), read
