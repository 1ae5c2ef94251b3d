"""What a quality report reads: the collections of a source, and one row per archived answer.

A source is a :class:`~tiktok_research.collect.FetchResult` (its collection folder), a collection
folder (``collection.json`` inside), an archive folder holding collection folders, or archive files
(``.jsonl`` / ``.jsonl.gz``) of any tool that writes our envelopes. Files are opened by the one
archive reader, :func:`tiktok_research._archive.read_file_lines` (or, for an intact file, streamed
a block at a time so that memory stays bounded whatever the file's size).

One pass over each file gives two frames:

* the *answers*: for each archived answer its request (window, cursor, item), its status and
  error, how far the cursor moved and how many rows it carried;
* the *presence* of each row: its key, when it was retrieved, the columns the strays are checked
  on (``username``, ``region_code``, ``hashtag_names``, ``create_time``) and, for every other
  field, only whether it is present. A quality report measures presence, not values, so nested
  values are not built. The rules of the row maker (``tables``) that matter here are applied:
  ``video_id`` for ``id`` (doc examples), millisecond timestamps, NUL characters in usernames.

A file that does not fit this light reading (a damaged line, a number sent as text, an id beyond
int64) is read the careful way instead: its lines by :func:`read_file_lines` with ``check=True``
and its rows by the one row maker, :func:`tiktok_research.tables.read_archive`; the suite checks
that both ways give the same report on the same archive.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import queue
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from .. import _endpoints as ep
from .. import schemas, tables
from .._archive import COLLECTION_FILE, JOURNAL_FILE, Journal, JournalView, read_file_lines
from ..errors import InvalidRequestError

__all__ = [
    "ANSWER_SCHEMA",
    "PRESENT",
    "VALUES",
    "CollectionData",
    "collections_of",
    "latest",
    "scan",
]

#: One row per archived answer (see :func:`answers_of`).
ANSWER_SCHEMA = pl.Schema(
    {
        "run": pl.String(),
        "page": pl.Int64(),
        "endpoint": pl.String(),
        "retrieved_at": pl.Datetime("us", "UTC"),
        "http_status": pl.Int64(),
        "ok": pl.Boolean(),
        "error_code": pl.String(),
        "error_message": pl.String(),
        "log_id": pl.String(),
        "start_date": pl.String(),
        "end_date": pl.String(),
        "item": pl.String(),
        "req_cursor": pl.Int64(),
        "max_count": pl.Int64(),
        "is_random": pl.Boolean(),
        "resp_cursor": pl.Int64(),
        "has_more": pl.Boolean(),
        "n_rows": pl.Int64(),
    }
)

#: The request keys that name a fan-out's item, in the order they are tried.
_ITEM_KEYS = (
    "username",
    "video_id",
    "playlist_id",
    "shop_id",
    "product_id",
    "comment_id",
    "shop_name",
)
_INT_KEYS = frozenset({"video_id", "playlist_id", "shop_id", "product_id", "comment_id"})


@dataclass
class CollectionData:
    """One collection of a source: what was asked, its journal, manifests and answers.

    Attributes:
        name: The folder's name (``videos-15f033343b9e``), or the file's for loose files.
        folder: The collection folder (None for loose archive files).
        spec: ``collection.json`` (what was asked; ``{}`` when absent).
        endpoint: The endpoint of its answers.
        journal: What the journal says of each task.
        manifests: Every run's manifest, oldest first.
        files: Its page files.
        answers: One row per archived answer (:data:`ANSWER_SCHEMA`).
        presence: One row per row held (its latest copy): key, ``_retrieved_at``, the
            :data:`VALUES` columns and a ``present:<field>`` flag for every field.
        damage: ``{file: [what could not be read]}``.
    """

    name: str
    folder: Path | None
    spec: dict[str, Any]
    endpoint: str
    journal: JournalView
    manifests: list[dict[str, Any]]
    files: list[Path]
    answers: pl.DataFrame
    presence: pl.DataFrame
    damage: dict[str, list[str]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.spec.get("kind") or self.endpoint)

    @property
    def table(self) -> str:
        e = ep.ENDPOINTS.get(self.endpoint)
        return e.table if e is not None else self.endpoint

    @property
    def planned_windows(self) -> list[tuple[str, str]]:
        """The windows of the latest manifest (``YYYYMMDD`` pairs), newest first."""
        for manifest in reversed(self.manifests):
            windows = manifest.get("windows")
            if isinstance(windows, list) and windows:
                return [(str(w[0]), str(w[1])) for w in windows if len(w) == 2]
        return []

    @property
    def planned_tasks(self) -> list[str]:
        """The task keys the runs' manifests list (``tasks_to_do``, first run first), or ``[]``
        when a manifest's list was cut (it keeps 1,000) or absent: the windows say then."""
        keys: list[str] = []
        for manifest in self.manifests:
            todo = manifest.get("tasks_to_do")
            total = manifest.get("tasks_total")
            if not isinstance(todo, list) or (isinstance(total, int) and len(todo) < total
                                              and len(todo) >= 1000):  # fmt: skip
                return []
            keys += [str(k) for k in todo if str(k) not in keys]
        return keys

    @property
    def stopped_by(self) -> str | None:
        """Why the latest run stopped early (quota, budget...), or None."""
        for manifest in reversed(self.manifests):
            if "stopped_by" in manifest:
                value = manifest.get("stopped_by")
                return str(value) if value else None
        return None


def _source_folder(source: Any) -> Any:
    """A FetchResult (or anything with ``.report.archive``) -> its collection folder."""
    report = getattr(source, "report", None)
    folder = getattr(report, "archive", None)
    if report is not None and folder is None:
        raise InvalidRequestError(
            "this result has no archive folder to read; collect with archive='DIR' and pass "
            "the result, or the folder, to tr.quality"
        )
    return folder if report is not None else source


def _not_assessed(folder: Path) -> str | None:
    """Why the collection in ``folder`` is not one the report reads (a compliance check, an ad
    library collection), or None when it is."""
    endpoint = str(_json_file(folder / COLLECTION_FILE).get("endpoint") or "")
    if endpoint in ep.VALIDATION_ENDPOINTS:
        return f"{endpoint}: a compliance check, which holds no table rows"
    if endpoint in ep.ADLIB_ENDPOINTS:
        return f"{endpoint}: the ad library, which the quality report does not read yet"
    return None


def collections_of(source: Any, skipped: dict[str, str] | None = None) -> list[CollectionData]:
    """The collections of ``source`` (see the module docstring), read.

    Args:
        source: See :func:`tiktok_research.quality`.
        skipped: Filled with ``{folder name: why}`` for the collection folders of an archive
            folder that the report does not read (compliance checks, the ad library): they are
            named in the report rather than failing it.

    Raises:
        InvalidRequestError: the source is not one of those, or holds no collection (a
            compliance check or an ad library collection named on its own says so).
    """
    target = _source_folder(source)
    paths: list[Path]
    if isinstance(target, (str, Path)):
        paths = [Path(target).expanduser()]
    elif isinstance(target, Iterable) and not isinstance(target, (bytes, dict)):
        paths = [Path(p).expanduser() for p in target]
    else:
        raise InvalidRequestError(
            f"tr.quality reads a FetchResult, a collection folder, an archive folder or archive "
            f"files; got {type(target).__name__}"
        )
    out: list[CollectionData] = []
    loose: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InvalidRequestError(
                f"{path} does not exist; pass an archive or collection folder"
            )
        if path.is_file():
            loose.append(path)
        elif (path / COLLECTION_FILE).exists() or (path / JOURNAL_FILE).exists():
            why = _not_assessed(path)
            if why is not None:
                raise InvalidRequestError(
                    f"{path} is not a collection the quality report reads ({why}); pass a "
                    "collection of videos, comments, users..., or the archive folder"
                )
            out.append(_read_collection(path))
        else:
            subs = sorted(
                p
                for p in path.iterdir()
                if p.is_dir() and ((p / COLLECTION_FILE).exists() or (p / JOURNAL_FILE).exists())
            )
            for p in subs:
                why = _not_assessed(p)
                if why is None:
                    out.append(_read_collection(p))
                elif skipped is not None:
                    skipped[p.name] = why
            loose.extend(sorted(path.glob("*.jsonl")) + sorted(path.glob("*.jsonl.gz")))
    if loose:
        out.extend(_read_loose(loose))
    if not out:
        held = f" (it holds only {', '.join(sorted(skipped))})" if skipped else ""
        raise InvalidRequestError(
            f"no collection found in {', '.join(map(str, paths))}{held}: pass the archive folder "
            "given as archive=, one of its collection folders, or its page files"
        )
    return out


def _json_file(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _read_collection(folder: Path) -> CollectionData:
    spec = _json_file(folder / COLLECTION_FILE)
    manifests = [_json_file(p) for p in folder.glob("manifest-*.json")]
    manifests = sorted((m for m in manifests if m), key=lambda m: str(m.get("started_at") or ""))
    journal = Journal(folder / JOURNAL_FILE).load(quiet=True)
    files = sorted(p for p in folder.glob("pages-*") if p.name.endswith((".jsonl", ".jsonl.gz")))
    damage: dict[str, list[str]] = {}
    endpoint = str(spec.get("endpoint") or "") or _endpoint_of(files)
    answers, presence = scan(files, endpoint, damage)
    return CollectionData(
        folder.name,
        folder,
        spec,
        endpoint,
        journal,
        manifests,
        files,
        answers,
        latest(presence, _table(endpoint)),
        damage,
    )


def _table(endpoint: str) -> str:
    e = ep.ENDPOINTS.get(endpoint)
    return e.table if e is not None else endpoint


def _endpoint_of(files: Sequence[Path]) -> str:
    """The endpoint of the first answer of ``files`` that names one ('' when none does)."""
    for path in files:
        for line in (read_file_lines(path, check=True).data or b"").split(b"\n")[:50]:
            try:
                meta = json.loads(line).get("meta") or {}
            except (ValueError, AttributeError):
                continue
            if meta.get("endpoint") in ep.ENDPOINTS:
                return str(meta["endpoint"])
    return ""


def _read_loose(files: Sequence[Path]) -> list[CollectionData]:
    """Loose archive files: one collection per endpoint found in them."""
    damage: dict[str, list[str]] = {}
    answers, _ = scan(files, None, damage)
    out = []
    for name in sorted(answers["endpoint"].drop_nulls().unique().to_list()):
        if name not in ep.ENDPOINTS:
            continue
        mine, presence = scan(files, name, damage)
        mine = mine.filter(pl.col("endpoint") == name)
        out.append(
            CollectionData(
                f"{files[0].name} ({name})",
                None,
                {"endpoint": name},
                name,
                JournalView(),
                [],
                list(files),
                mine,
                latest(presence, _table(name)),
                damage,
            )
        )
    return out


# ---------------------------------------------------------------------------------- answers

#: Read this much of a file at a time (uncompressed bytes, cut at a line end).
BLOCK = 32 << 20
#: Prefix of the presence flags in a presence frame (``present:voice_to_text``).
PRESENT = "present:"
#: Columns a presence frame keeps as values (strays are checked on them), when the table has them.
VALUES = ("username", "region_code", "hashtag_names", "create_time")
_VIDEO_TABLES = frozenset({"videos", "liked_videos", "pinned_videos", "reposted_videos"})
_NULL_STRUCT = pa.struct([pa.field("_", pa.null())])


def _light_type(name: str, dtype: Any) -> pa.DataType:
    """The pyarrow type a field is read as: values for scalars and ``hashtag_names``, nothing
    but presence for other nested fields."""
    if isinstance(dtype, pl.List):
        inner = dtype.inner
        if isinstance(inner, (pl.List, pl.Struct)):
            return pa.list_(_NULL_STRUCT)
        return pa.list_(_light_type(name, inner))
    if isinstance(dtype, pl.Struct):
        return _NULL_STRUCT
    if dtype == pl.String:
        return pa.string()
    if dtype == pl.Boolean:
        return pa.bool_()
    if dtype.is_float():
        return pa.float64()
    return pa.int64()  # integers (ids too: one beyond int64 sends the file the careful way)


def _item_type(e: ep.Endpoint) -> pa.DataType:
    data: Any = tables.page_schema([e.name]).to_schema()["data"]
    item: Any = data.to_schema()[e.data_key].inner if e.data_key else data
    return pa.struct([pa.field(f.name, _light_type(f.name, f.dtype)) for f in item.fields])


def _schema(endpoint: str | None) -> pa.Schema:
    """The light read schema of an envelope (the rows of ``endpoint`` as presence)."""
    body_fields = [
        pa.field("start_date", pa.string()),
        pa.field("end_date", pa.string()),
        pa.field("cursor", pa.int64()),
        pa.field("max_count", pa.int64()),
        pa.field("is_random", pa.bool_()),
        *[pa.field(k, pa.int64() if k in _INT_KEYS else pa.string()) for k in _ITEM_KEYS],
    ]
    data: list[pa.Field] = [pa.field("cursor", pa.int64()), pa.field("has_more", pa.bool_())]
    e = ep.ENDPOINTS.get(endpoint or "")
    lists = sorted(
        {
            k
            for x in ep.ENDPOINTS.values()
            for k in ((x.data_key, *x.alt_data_keys) if x.data_key else ())
        }
    )
    if e is not None and e.data_key is None:
        item = _item_type(e)
        data += [f for f in item if f.name not in ("cursor", "has_more")]
    for k in lists:
        mine = e is not None and k in (e.data_key, *e.alt_data_keys)
        data.append(pa.field(k, pa.list_(_item_type(e) if mine and e else _NULL_STRUCT)))
    error = pa.struct([pa.field(k, pa.string()) for k in ("code", "message", "log_id")])
    meta = pa.struct(
        [
            pa.field("run", pa.string()),
            pa.field("page", pa.int64()),
            pa.field("endpoint", pa.string()),
            pa.field("retrieved_at", pa.string()),
            pa.field("http_status", pa.int64()),
        ]
    )
    request = pa.struct(
        [
            pa.field("path", pa.string()),
            pa.field("body", pa.struct(body_fields)),
            pa.field("params", pa.struct(body_fields)),
        ]
    )
    response = pa.struct([pa.field("data", pa.struct(data)), pa.field("error", error)])
    return pa.schema(
        [
            pa.field("meta", meta),
            pa.field("request", request),
            pa.field("response", response),
            pa.field("response_text", pa.string()),
        ]
    )


def _key(name: str) -> pl.Expr:
    req = pl.col("request")
    return pl.coalesce(
        req.struct.field("body").struct.field(name), req.struct.field("params").struct.field(name)
    )


def _frame(raw: pl.DataFrame) -> pl.DataFrame:
    """Parsed envelopes -> :data:`ANSWER_SCHEMA`."""
    meta, resp = pl.col("meta"), pl.col("response")
    data, error = resp.struct.field("data"), resp.struct.field("error")
    data_type = raw.schema["response"].to_schema()["data"]  # type: ignore[attr-defined]
    lists = [
        data.struct.field(f.name).list.len()
        for f in data_type.fields
        if isinstance(f.dtype, pl.List)
    ]
    code = error.struct.field("code")
    status = meta.struct.field("http_status")
    ok = (
        (code.is_null() | (code == "ok")) & resp.is_not_null() & (status.is_null() | (status < 400))
    )
    return raw.select(
        meta.struct.field("run").alias("run"),
        meta.struct.field("page").alias("page"),
        meta.struct.field("endpoint").alias("endpoint"),
        _retrieved().alias("retrieved_at"),
        status.alias("http_status"),
        ok.fill_null(False).alias("ok"),
        pl.when(ok)
        .then(None)
        .otherwise(pl.coalesce(code, pl.concat_str(pl.lit("HTTP "), status.cast(pl.String))))
        .alias("error_code"),
        pl.coalesce(error.struct.field("message"), pl.col("response_text").str.slice(0, 200)).alias(
            "error_message"
        ),
        error.struct.field("log_id").alias("log_id"),
        _key("start_date").alias("start_date"),
        _key("end_date").alias("end_date"),
        pl.concat_str(
            [
                pl.when(_key(k).is_not_null()).then(pl.lit(f"{k}:") + _key(k).cast(pl.String))
                for k in _ITEM_KEYS
            ],
            ignore_nulls=True,
        )
        .replace("", None)
        .alias("item"),
        _key("cursor").alias("req_cursor"),
        _key("max_count").alias("max_count"),
        _key("is_random").alias("is_random"),
        data.struct.field("cursor").alias("resp_cursor"),
        data.struct.field("has_more").alias("has_more"),
        (pl.sum_horizontal(lists).fill_null(0) if lists else pl.lit(0)).alias("n_rows"),
    ).cast(dict(ANSWER_SCHEMA))  # type: ignore[arg-type]


def _retrieved() -> pl.Expr:
    return (
        pl.col("meta")
        .struct.field("retrieved_at")
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us", time_zone="UTC", strict=False)
    )


def _seconds(expr: pl.Expr) -> pl.Expr:
    """Unix seconds (milliseconds above 1e11, as ``tables`` reads them) -> UTC datetime."""
    secs = pl.when(expr > 10**11).then(expr // 1000).otherwise(expr)
    return pl.from_epoch(secs, time_unit="s").dt.replace_time_zone("UTC").dt.cast_time_unit("us")


def _presence_light(raw: pl.DataFrame, e: ep.Endpoint) -> pl.DataFrame:
    """The presence frame of the ok answers of a parsed block (see the module docstring)."""
    resp = pl.col("response")
    status = pl.col("meta").struct.field("http_status")
    code = resp.struct.field("error").struct.field("code")
    ok = (
        (code.is_null() | (code == "ok")) & resp.is_not_null() & (status.is_null() | (status < 400))
    )
    data = resp.struct.field("data")
    data_type = raw.schema["response"].to_schema()["data"]  # type: ignore[attr-defined]
    req = [
        _key(k).cast(pl.String).alias(f"_req_{k}")
        for k in ("username", "video_id", "shop_id", "product_id")
    ]
    base = [_retrieved().alias("_retrieved_at"), *req]
    if e.data_key:
        keys = [k for k in (e.data_key, *e.alt_data_keys) if k in data_type.to_schema()]
        rows = (
            raw.filter(ok.fill_null(False))
            .select(*base, pl.coalesce([data.struct.field(k) for k in keys]).alias("_i"))
            .explode("_i")
            .drop_nulls("_i")
            .unnest("_i")
        )
    else:
        names = [f.name for f in _item_type(e)]
        rows = raw.filter(ok.fill_null(False)).select(
            *base, *[data.struct.field(n).alias(n) for n in names]
        )
        rows = rows.filter(pl.any_horizontal([pl.col(n).is_not_null() for n in names]))
    return _presence(rows, e, light=True)


def _presence(rows: pl.DataFrame, e: ep.Endpoint, *, light: bool) -> pl.DataFrame:
    """Rows (light or typed) -> key columns, ``_retrieved_at``, :data:`VALUES`, presence flags."""
    table = e.table
    declared = schemas.SCHEMAS[table]
    cols = rows.columns
    exprs: list[pl.Expr] = []
    if table in _VIDEO_TABLES and "video_id" in cols and "id" in cols:
        rows = rows.with_columns(pl.coalesce("id", "video_id").alias("id"))
    elif table in _VIDEO_TABLES and "video_id" in cols:
        rows = rows.rename({"video_id": "id"})
    added = {
        "source_username": "_req_username",
        "shop_id": "_req_shop_id",
        "product_id": "_req_product_id",
    }
    for name, req in added.items():
        if name in declared and name not in rows.columns and req in rows.columns:
            rows = rows.with_columns(pl.col(req).alias(name))
    if table == "users" and "_req_username" in rows.columns:
        rows = rows.with_columns(
            pl.coalesce([c for c in ("username", "_req_username") if c in rows.columns]).alias(
                "username"
            )
        )
    if table == "comments" and "_req_video_id" in rows.columns:
        fill = pl.col("_req_video_id").str.strip_chars().cast(pl.Int64, strict=False)
        rows = rows.with_columns(
            (
                pl.coalesce(pl.col("video_id").cast(pl.Int64, strict=False), fill)
                if "video_id" in rows.columns
                else fill
            ).alias("video_id")
        )
    fields = [c for c in declared if c in rows.columns]
    keys = [k for k in schemas.primary_key(table) if k in rows.columns]
    for k in keys:
        exprs.append(pl.col(k).cast(declared[k], strict=False).alias(k))
    exprs.append(
        pl.col("_retrieved_at").cast(schemas.TIMESTAMP)
        if "_retrieved_at" in rows.columns
        else pl.lit(None, schemas.TIMESTAMP).alias("_retrieved_at")
    )
    for v in VALUES:
        if v not in rows.columns or v in keys:
            continue
        col = pl.col(v)
        if v == "username":
            col = col.str.replace_all("\x00", "", literal=True)
        elif v == "create_time" and light:
            col = _seconds(col)
        elif v == "hashtag_names":
            col = col.cast(pl.List(pl.String))
        exprs.append(col.alias(v))
    for f in fields:
        dtype = rows.schema[f]
        col = pl.col(f)
        if dtype == pl.String:
            flag = col.is_not_null() & (col.str.len_bytes() > 0)
        elif isinstance(dtype, pl.List):
            flag = col.is_not_null() & (col.list.len() > 0)
        else:
            flag = col.is_not_null()
        exprs.append(flag.alias(PRESENT + f))
    return rows.select(exprs)


def _blocks(path: Path) -> Iterator[bytes]:
    """The file's bytes (gunzipped), a block at a time, each cut at a line end."""
    if path.name.endswith(".jsonl") and not path.exists():
        twin = path.with_name(path.name + ".gz")  # its run gzipped it meanwhile
        path = twin if twin.exists() else path
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        rest = b""
        while chunk := fh.read(BLOCK):
            buf = rest + chunk
            cut = buf.rfind(b"\n")
            if cut < 0:
                rest = buf
                continue
            yield buf[: cut + 1]
            rest = buf[cut + 1 :]
        if rest.strip():
            yield rest


def _ahead(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """``blocks``, the next one read (and gunzipped) in a thread while the caller parses the
    current one: zlib and pyarrow both release the GIL, so the two overlap."""
    box: queue.Queue[tuple[bytes | None, BaseException | None]] = queue.Queue(maxsize=1)

    def produce() -> None:
        try:
            for block in blocks:
                box.put((block, None))
            box.put((None, None))
        except BaseException as exc:
            box.put((None, exc))

    worker = threading.Thread(target=produce, name="quality-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            block, exc = box.get()
            if exc is not None:
                raise exc
            if block is None:
                return
            yield block
    finally:
        while worker.is_alive():  # unblock the producer if the consumer stopped early
            with contextlib.suppress(queue.Empty):
                box.get(timeout=0.1)
        worker.join()


def _empty_presence(e: ep.Endpoint | None) -> pl.DataFrame:
    if e is None:
        return pl.DataFrame({"_retrieved_at": []}, schema={"_retrieved_at": schemas.TIMESTAMP})
    typed = schemas.empty(e.table).with_columns(
        pl.lit(None, schemas.TIMESTAMP).alias("_retrieved_at")
    )
    return _presence(typed, e, light=False)


def scan(
    files: Sequence[Path], endpoint: str | None, damage: dict[str, list[str]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One pass over ``files``: (answers, presence of the rows of ``endpoint``); what could not be
    read is added to ``damage``."""
    e = ep.ENDPOINTS.get(endpoint or "")
    schema = _schema(endpoint)
    answers: list[pl.DataFrame] = []
    rows: list[pl.DataFrame] = []
    for path in files:
        got: tuple[list[pl.DataFrame], list[pl.DataFrame]] = ([], [])
        try:
            for block in _ahead(_blocks(path)):
                raw = tables.parse_json_lines(block, schema)
                del block
                got[0].append(_frame(raw))
                if e is not None:
                    got[1].append(_presence_light(raw, e))
                del raw
                pa.default_memory_pool().release_unused()  # parse buffers back to the OS
        except (pa.ArrowException, OSError, EOFError, zlib.error, pl.exceptions.PolarsError):
            got = _careful(path, e, schema, damage)
        answers += got[0]
        rows += got[1]
    ans = pl.concat(answers, how="vertical") if answers else pl.DataFrame(schema=ANSWER_SCHEMA)
    rows = [r for r in rows if r.height]
    pres = pl.concat(rows, how="diagonal_relaxed") if rows else _empty_presence(e)
    return ans, pres


def _careful(
    path: Path, e: ep.Endpoint | None, schema: pa.Schema, damage: dict[str, list[str]]
) -> tuple[list[pl.DataFrame], list[pl.DataFrame]]:
    """A file read line by line: its readable answers, its rows by the one row maker."""
    lines = read_file_lines(path, check=True)
    if lines.damage:
        damage[str(path)] = lines.damage
    if not lines.data:
        return [], []
    try:
        answers = _frame(tables.parse_json_lines(lines.data, schema))
    except (pa.ArrowException, pl.exceptions.PolarsError):
        answers = _slow(lines.data)
    if e is None:
        return [answers], []
    read = tables.read_archive([path], e.name)
    damage.update({k: v for k, v in read.damage.items() if k not in damage})
    return [answers], [_presence(read.items, e, light=False)]


def _slow(lines: bytes) -> pl.DataFrame:
    """Envelopes that do not fit the light schema (a number sent as text...), one by one."""
    rows: list[dict[str, Any]] = []
    for line in lines.split(b"\n"):
        if not line.strip():
            continue
        try:
            env = json.loads(line)
        except ValueError:
            continue
        if isinstance(env, dict):
            rows.append(_answer(env))
    return pl.DataFrame(rows, schema=ANSWER_SCHEMA, strict=False)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _answer(env: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = env["meta"] if isinstance(env.get("meta"), dict) else {}
    request: dict[str, Any] = env["request"] if isinstance(env.get("request"), dict) else {}
    body = {**(request.get("params") or {}), **(request.get("body") or {})}
    resp = env.get("response") if isinstance(env.get("response"), dict) else None
    data = (resp or {}).get("data")
    data = data if isinstance(data, dict) else {}
    error = (resp or {}).get("error")
    error = error if isinstance(error, dict) else {}
    status = _int(meta.get("http_status"))
    code = error.get("code")
    ok = resp is not None and code in (None, "ok") and (status is None or status < 400)
    n = sum(len(v) for v in data.values() if isinstance(v, list))
    item = next((f"{k}:{body[k]}" for k in _ITEM_KEYS if body.get(k) is not None), None)
    has_more = data.get("has_more")
    retrieved = str(meta.get("retrieved_at") or "")
    try:
        when: datetime | None = datetime.strptime(retrieved, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=UTC
        )
    except ValueError:
        when = None
    return {
        "run": meta.get("run"),
        "page": _int(meta.get("page")),
        "endpoint": meta.get("endpoint"),
        "retrieved_at": when,
        "http_status": status,
        "ok": ok,
        "error_code": None if ok else str(code or f"HTTP {status}"),
        "error_message": error.get("message")
        or (str(env.get("response_text"))[:200] if env.get("response_text") else None),
        "log_id": error.get("log_id"),
        "start_date": body.get("start_date"),
        "end_date": body.get("end_date"),
        "item": item,
        "req_cursor": _int(body.get("cursor")),
        "max_count": _int(body.get("max_count")),
        "is_random": body.get("is_random") if isinstance(body.get("is_random"), bool) else None,
        "resp_cursor": _int(data.get("cursor")),
        "has_more": has_more in (True, "true") if has_more is not None else None,
        "n_rows": n,
    }


# ------------------------------------------------------------------------------------- rows


def latest(presence: pl.DataFrame, table: str) -> pl.DataFrame:
    """One row per primary key: the most recently retrieved copy."""
    keys = [k for k in schemas.primary_key(table) if k in presence.columns]
    if presence.height == 0 or not keys or table == "playlists":
        return presence
    return presence.sort("_retrieved_at", nulls_last=False).unique(
        subset=keys, keep="last", maintain_order=True
    )
