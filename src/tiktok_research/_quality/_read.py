"""What a quality report reads: the collections of a source, and one row per archived answer.

A source is a :class:`~tiktok_research.collect.FetchResult` (its collection folder), a collection
folder (``collection.json`` inside), an archive folder holding collection folders, or archive files
(``.jsonl`` / ``.jsonl.gz``) of any tool that writes our envelopes. Files are opened by the one
archive reader, :func:`tiktok_research._archive.read_file_lines`; the rows of a table are made by
:func:`tiktok_research.tables.read_archive`. Here only the *answers* are read: for each one its
request (window, cursor, item), its status and error, how far the cursor moved and how many rows
it carried, from a light schema that leaves the rows' content unparsed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
    "CollectionData",
    "answers_of",
    "collections_of",
    "rows_by_collection",
    "table_rows",
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
_ITEM_KEYS = ("username", "video_id", "playlist_id", "shop_id", "product_id", "comment_id",
              "shop_name")  # fmt: skip
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


def collections_of(source: Any) -> list[CollectionData]:
    """The collections of ``source`` (see the module docstring), read.

    Raises:
        InvalidRequestError: the source is not one of those, or holds no collection.
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
            raise InvalidRequestError(f"{path} does not exist; pass an archive or collection folder")
        if path.is_file():
            loose.append(path)
        elif (path / COLLECTION_FILE).exists() or (path / JOURNAL_FILE).exists():
            out.append(_read_collection(path))
        else:
            subs = sorted(
                p for p in path.iterdir()
                if p.is_dir() and ((p / COLLECTION_FILE).exists() or (p / JOURNAL_FILE).exists())
            )  # fmt: skip
            out.extend(_read_collection(p) for p in subs)
            loose.extend(sorted(path.glob("*.jsonl")) + sorted(path.glob("*.jsonl.gz")))
    if loose:
        out.extend(_read_loose(loose))
    if not out:
        raise InvalidRequestError(
            f"no collection found in {', '.join(map(str, paths))}: pass the archive folder given "
            "as archive=, one of its collection folders, or its page files"
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
    answers = answers_of(files, damage)
    endpoint = str(spec.get("endpoint") or "")
    if not endpoint and answers.height:
        endpoint = str(answers["endpoint"].drop_nulls().mode().first() or "")
    return CollectionData(folder.name, folder, spec, endpoint, journal, manifests, files,
                          answers, damage)  # fmt: skip


def _read_loose(files: Sequence[Path]) -> list[CollectionData]:
    """Loose archive files: one collection per endpoint found in them."""
    damage: dict[str, list[str]] = {}
    answers = answers_of(files, damage)
    out = []
    for name in sorted(answers["endpoint"].drop_nulls().unique().to_list()):
        if name not in ep.ENDPOINTS:
            continue
        mine = answers.filter(pl.col("endpoint") == name)
        out.append(CollectionData(f"{files[0].name} ({name})", None, {"endpoint": name},
                                  name, JournalView(), [], list(files), mine, damage))  # fmt: skip
    return out


# ---------------------------------------------------------------------------------- answers


def _light_schema() -> pa.Schema:
    """The parts of an envelope a quality report needs; the rows' content is left unparsed."""
    body_fields = [
        pa.field("start_date", pa.string()),
        pa.field("end_date", pa.string()),
        pa.field("cursor", pa.int64()),
        pa.field("max_count", pa.int64()),
        pa.field("is_random", pa.bool_()),
        *[pa.field(k, pa.int64() if k in _INT_KEYS else pa.string()) for k in _ITEM_KEYS],
    ]
    lists = sorted({k for e in ep.ENDPOINTS.values()
                    for k in ((e.data_key, *e.alt_data_keys) if e.data_key else ())})  # fmt: skip
    data = pa.struct(
        [
            pa.field("cursor", pa.int64()),
            pa.field("has_more", pa.bool_()),
            *[pa.field(k, pa.list_(pa.struct([pa.field("_", pa.null())]))) for k in lists],
        ]
    )
    error = pa.struct([pa.field(k, pa.string()) for k in ("code", "message", "log_id")])
    return pa.schema(
        [
            pa.field(
                "meta",
                pa.struct([pa.field("run", pa.string()), pa.field("page", pa.int64()),
                           pa.field("endpoint", pa.string()),
                           pa.field("retrieved_at", pa.string()),
                           pa.field("http_status", pa.int64())]),  # fmt: skip
            ),
            pa.field(
                "request",
                pa.struct([pa.field("path", pa.string()),
                           pa.field("body", pa.struct(body_fields)),
                           pa.field("params", pa.struct(body_fields))]),  # fmt: skip
            ),
            pa.field("response", pa.struct([pa.field("data", data), pa.field("error", error)])),
            pa.field("response_text", pa.string()),
        ]
    )


_SCHEMA: pa.Schema | None = None


def _frame(raw: pl.DataFrame) -> pl.DataFrame:
    """Parsed envelopes -> :data:`ANSWER_SCHEMA`."""
    meta, req, resp = pl.col("meta"), pl.col("request"), pl.col("response")
    body, params = req.struct.field("body"), req.struct.field("params")
    data, error = resp.struct.field("data"), resp.struct.field("error")

    def key(name: str) -> pl.Expr:
        return pl.coalesce(body.struct.field(name), params.struct.field(name))

    data_fields = [f.name for f in raw.schema["response"].to_schema()["data"].fields]  # type: ignore[attr-defined]
    lists = [data.struct.field(k).list.len() for k in data_fields if k not in ("cursor", "has_more")]
    code = error.struct.field("code")
    status = meta.struct.field("http_status")
    ok = (code.is_null() | (code == "ok")) & resp.is_not_null() & (status.is_null() | (status < 400))
    return raw.select(
        meta.struct.field("run").alias("run"),
        meta.struct.field("page").alias("page"),
        meta.struct.field("endpoint").alias("endpoint"),
        meta.struct.field("retrieved_at").str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us", time_zone="UTC", strict=False
        ).alias("retrieved_at"),
        status.alias("http_status"),
        ok.fill_null(False).alias("ok"),
        pl.when(ok).then(None).otherwise(
            pl.coalesce(code, pl.concat_str(pl.lit("HTTP "), status.cast(pl.String)))
        ).alias("error_code"),
        pl.coalesce(error.struct.field("message"),
                    pl.col("response_text").str.slice(0, 200)).alias("error_message"),
        error.struct.field("log_id").alias("log_id"),
        key("start_date").alias("start_date"),
        key("end_date").alias("end_date"),
        pl.concat_str([pl.when(key(k).is_not_null()).then(pl.lit(f"{k}:") + key(k).cast(pl.String))
                       for k in _ITEM_KEYS], ignore_nulls=True).replace("", None).alias("item"),
        key("cursor").alias("req_cursor"),
        key("max_count").alias("max_count"),
        key("is_random").alias("is_random"),
        data.struct.field("cursor").alias("resp_cursor"),
        data.struct.field("has_more").alias("has_more"),
        (pl.sum_horizontal(lists) if lists else pl.lit(0)).cast(pl.Int64).alias("n_rows"),
    ).cast(dict(ANSWER_SCHEMA))  # type: ignore[arg-type]


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
    meta = env.get("meta") if isinstance(env.get("meta"), dict) else {}
    request = env.get("request") if isinstance(env.get("request"), dict) else {}
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
    return {
        "run": meta.get("run"),
        "page": _int(meta.get("page")),
        "endpoint": meta.get("endpoint"),
        "retrieved_at": pl.Series([retrieved]).str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us", time_zone="UTC", strict=False
        )[0],
        "http_status": status,
        "ok": ok,
        "error_code": None if ok else str(code or f"HTTP {status}"),
        "error_message": error.get("message") or (str(env.get("response_text"))[:200]
                                                   if env.get("response_text") else None),
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


def answers_of(files: Sequence[Path], damage: dict[str, list[str]]) -> pl.DataFrame:
    """One row per archived answer of ``files`` (:data:`ANSWER_SCHEMA`); what could not be
    read is added to ``damage``."""
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = _light_schema()
    frames: list[pl.DataFrame] = []
    for path in files:
        lines = read_file_lines(path, check=False)
        try:
            if lines.data is None:
                frames.append(_frame(tables.read_ndjson_file(lines.path, _SCHEMA)))
                continue
            if lines.data and not lines.damage:
                frames.append(_frame(tables.parse_json_lines(lines.data, _SCHEMA)))
                continue
        except (pa.ArrowException, OSError, pl.exceptions.PolarsError):
            pass
        careful = read_file_lines(path, check=True)
        if careful.damage:
            damage[str(path)] = careful.damage
        if careful.data:
            try:
                frames.append(_frame(tables.parse_json_lines(careful.data, _SCHEMA)))
            except (pa.ArrowException, pl.exceptions.PolarsError):
                frames.append(_slow(careful.data))
    if not frames:
        return pl.DataFrame(schema=ANSWER_SCHEMA)
    return pl.concat(frames, how="vertical")


# ------------------------------------------------------------------------------------- rows


def rows_by_collection(collections: Sequence[CollectionData]) -> dict[str, pl.DataFrame]:
    """The rows each collection holds, one per primary key (the most recently retrieved copy),
    cast to the declared schema of its table, with ``retrieved_at``."""
    out: dict[str, pl.DataFrame] = {}
    for c in collections:
        if not c.files or c.endpoint not in ep.ENDPOINTS:
            continue
        out[c.name] = _dedup(tables.read_archive(c.files, c.endpoint).items, c.table)
    return out


def _dedup(items: pl.DataFrame, table: str) -> pl.DataFrame:
    if items.height and table != "playlists":
        items = items.sort("_retrieved_at", nulls_last=False).unique(
            subset=schemas.primary_key(table), keep="last", maintain_order=True
        )
    out = schemas.cast(items.select([c for c in items.columns if not c.startswith("_")]), table)
    retrieved = (
        items.get_column("_retrieved_at").cast(schemas.TIMESTAMP)
        if "_retrieved_at" in items.columns
        else pl.Series([None] * out.height, dtype=schemas.TIMESTAMP)
    )
    return out.with_columns(retrieved.alias("retrieved_at"))


def table_rows(
    collections: Sequence[CollectionData], rows: dict[str, pl.DataFrame], table: str
) -> pl.DataFrame:
    """The rows of ``table`` over every collection, one per primary key (the latest copy)."""
    frames = [rows[c.name] for c in collections if c.table == table and c.name in rows]
    frames = [f for f in frames if f.height]
    if not frames:
        return schemas.empty(table).with_columns(pl.lit(None, schemas.TIMESTAMP).alias("retrieved_at"))
    if len(frames) == 1:
        return frames[0]
    both = pl.concat(frames, how="vertical_relaxed")
    if table == "playlists":
        return both
    return both.sort("retrieved_at", nulls_last=False).unique(
        subset=schemas.primary_key(table), keep="last", maintain_order=True
    )
