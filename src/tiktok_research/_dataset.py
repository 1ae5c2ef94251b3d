"""A dataset folder holds each row key once: the writer replaces what it supersedes.

A dataset (``data/videos/``) is hive-partitioned Parquet
(``create_month=2024-01/part-<run>-0.parquet``) that several collections, updates and refreshes
add to. Its rows are a set keyed by the table's
primary key (``id`` for videos). :func:`write` keeps it so on disk, not in one reader: the rows of
a new write take the place of the copies other files hold (those files are rewritten without them,
or removed when nothing is left), unless a file's copy was retrieved later than the new rows, in
which case the new copy is the one left out. Every reader of the folder (polars, DuckDB through
``read_parquet('data/videos/**/*.parquet')``, Spark, pandas, R's arrow) then sees each key once.

A write is all or nothing, for readers and after a crash:

1. the new files are written in a hidden staging folder inside the dataset
   (``.tiktok-research-staging-<token>/``) and the shrunk copies of older files beside them as
   hidden files (``.<name>.tiktok-research-new``): no reader's glob (``**/*.parquet``) nor Spark
   (which skips names starting with ``.`` or ``_``) sees them;
2. a commit record (``.tiktok-research-commit.json``) lists every move and removal; it is made
   durable (fsync) before anything moves;
3. new files move into place first, then the rewritten ones, then the removals, and the record
   is deleted.

A write that stops before its record exists leaves the dataset as it was (its leftovers are
cleared by the next write); one that stops after is finished by the next write or by
:func:`recover` (which :func:`tiktok_research.io.read_dataset` calls). Writers wait for each other
through an OS file lock (``.tiktok-research.lock``, ``filelock``). The dataset's table, key,
partitioning and query are recorded in ``_tiktok_research_dataset.json`` by the first write:
another table or query is refused.

A dataset replaced as a whole (``refresh_videos``) is written complete beside it
(``.<name>.new-<stamp>``) and swapped in by two renames (:func:`replacing`); a kill between them
left no folder at the dataset's name, so every reader and writer first finishes such a swap
(:func:`finish_swap`). A data file that is not a whole Parquet file (cut short by a copy or a
crash elsewhere) is named by the readers and refused by the writers before anything is sent
(:func:`damaged`), never read as an empty table nor met after the requests are paid.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import filelock
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import ArchiveError, InvalidRequestError

__all__ = [
    "MARKER",
    "check",
    "check_writable",
    "damaged",
    "damaged_error",
    "data_files",
    "finish_swap",
    "recover",
    "replacing",
    "write",
]

LOCK = ".tiktok-research.lock"
COMMIT = ".tiktok-research-commit.json"
STAGING = ".tiktok-research-staging-"
NEW = ".tiktok-research-new"
MARKER = "_tiktok_research_dataset.json"
#: The state file of ``update_videos`` (:mod:`tiktok_research.maintain`): datasets written before
#: the marker existed record their query there.
UPDATE_STATE = "_tiktok_research_update.json"
LOCK_TIMEOUT = 600.0  # seconds to wait for another writer (a write takes seconds)
_RETRIEVED = b"tiktok_research.retrieved_at"
_MAGIC = b"PAR1"
_SWAP_NEW, _SWAP_OLD = ".new-", ".old-"


def data_files(root: Path) -> list[Path]:
    """The dataset's Parquet files, as its readers see them (nothing hidden, nothing staged)."""
    found = []
    for path in root.rglob("*.parquet"):
        parts = path.relative_to(root).parts
        if not any(p.startswith((".", "_")) for p in parts):
            found.append(path)
    return sorted(found)


def damaged(root: Path) -> list[Path]:
    """The dataset's data files that are not whole Parquet files (too short, or without the
    ``PAR1`` marks a Parquet file starts and ends with): what a copy or a crash cut short."""
    bad = []
    for path in data_files(root):
        try:
            with open(path, "rb") as fh:
                head = fh.read(4)
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(size - 4, 0))
                tail = fh.read(4)
        except OSError:
            bad.append(path)
            continue
        if size < 12 or head != _MAGIC or tail != _MAGIC:
            bad.append(path)
    return bad


def damaged_error(root: Path, bad: list[Path]) -> ArchiveError:
    """The error that names the damaged files of ``root`` and the way out."""
    shown = ", ".join(str(p.relative_to(root)) for p in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    return ArchiveError(
        f"the dataset {root} holds {len(bad)} damaged file(s), not whole Parquet files (cut short "
        f"by a copy or a crash): {shown}{more}. Move them out of the dataset, then run the same "
        "command again; their rows can be rebuilt from the raw archive with "
        "`tiktok-research merge ARCHIVE --dataset NEW_FOLDER` (tr.merge_dumps(ARCHIVE, "
        "dataset=NEW_FOLDER)). Nothing was sent.",
        path=bad[0],
    )


# ------------------------------------------------------------------------ swapped as a whole


def _swap_lock(root: Path, timeout: float) -> filelock.FileLock:
    """The lock of replacing ``root``: in the cache folder (the folder beside the dataset is the
    user's), named after the dataset's absolute path."""
    from ._ledger import cache_dir

    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:24]
    folder = cache_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(str(folder / f"dataset-{key}.lock"), timeout=timeout)


@contextlib.contextmanager
def replacing(root: Path) -> Iterator[Path]:
    """Write the dataset that replaces ``root`` into the folder this yields (beside ``root``,
    hidden); when the block ends without an error it is swapped in: ``root`` moves aside, the
    new folder takes its name, the old one is removed. A kill between the two renames is
    finished by :func:`finish_swap`; an error in the block removes the new folder. Two
    replacements of one dataset wait for each other (a lock file in the cache folder).

    Raises:
        ArchiveError: another process has been replacing ``root`` for more than
            ``LOCK_TIMEOUT`` seconds.
    """
    stamp = uuid.uuid4().hex[:8]
    staging = root.with_name(f".{root.name}{_SWAP_NEW}{stamp}")
    retired = root.with_name(f".{root.name}{_SWAP_OLD}{stamp}")
    try:
        lock = _swap_lock(root, LOCK_TIMEOUT).acquire()
    except filelock.Timeout:
        raise ArchiveError(
            f"the dataset {root} is being replaced by another process for more than "
            f"{LOCK_TIMEOUT:.0f} s; run again when it is done",
            path=root,
        ) from None
    with lock:
        _finish_swap_locked(root)
        try:
            yield staging
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        root.rename(retired)
        _fsync_dir(root.parent)
        staging.rename(root)
        _fsync_dir(root.parent)
        shutil.rmtree(retired, ignore_errors=True)


def finish_swap(root: Path) -> None:
    """Finish a replacement of :func:`replacing` that a kill interrupted, or clear one that
    never began (nothing is done while another process is replacing ``root``).

    No folder at ``root`` while ``.<name>.new-<stamp>`` and ``.<name>.old-<stamp>`` exist: the
    kill came between the two renames, and the new folder (complete: it is renamed only once
    written) takes the name. A retired folder left beside ``root`` is removed; so is a new folder
    without its retired twin, a replacement that stopped before the swap (the dataset is as it
    was, and the run that wrote it is continued from its archive).
    """
    parent = root.parent
    prefixes = (f".{root.name}{_SWAP_NEW}", f".{root.name}{_SWAP_OLD}")
    try:
        if not any(p.name.startswith(prefixes) for p in parent.iterdir()):
            return
        with _swap_lock(root, 0):
            _finish_swap_locked(root)
    except (OSError, filelock.Timeout):
        return  # another process is replacing it, or the folder cannot be read or written


def _finish_swap_locked(root: Path) -> None:
    parent = root.parent
    new_prefix, old_prefix = f".{root.name}{_SWAP_NEW}", f".{root.name}{_SWAP_OLD}"
    olds = sorted(p for p in parent.iterdir() if p.name.startswith(old_prefix))
    news = sorted(p for p in parent.iterdir() if p.name.startswith(new_prefix))
    if not root.exists():
        for old in olds:
            new = parent / (new_prefix + old.name[len(old_prefix) :])
            (new if new.is_dir() else old).rename(root)  # the new one; else back as it was
            _fsync_dir(parent)
            break
    if not root.exists():
        return
    for path in [*olds, *news]:
        shutil.rmtree(path, ignore_errors=True)


# ----------------------------------------------------------------------------- what it holds


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def check(root: Path, *, table: str, query: dict[str, Any] | None, partition_by: str = "") -> None:
    """Refuse rows of ``table`` (and ``query``) for a dataset that holds another table or query.

    Raises:
        InvalidRequestError: ``root`` is a file, or its dataset holds another table, another
            query or another partitioning.
    """
    if root.exists() and not root.is_dir():
        raise InvalidRequestError(f"{root} is a file; a dataset is a folder")
    held = _read_json(root / MARKER)
    if not isinstance(held, dict):
        held = {}
    if held.get("table") not in (None, table):
        raise InvalidRequestError(
            f"the dataset {root} holds {held['table']}, not {table}: use another folder"
        )
    if partition_by and held.get("partition_by") not in (None, partition_by):
        raise InvalidRequestError(
            f"the dataset {root} is partitioned by {held['partition_by']}, not {partition_by}"
        )
    recorded = held.get("query")
    if recorded is None:
        state = _read_json(root / UPDATE_STATE)
        recorded = state.get("query") if isinstance(state, dict) else None
    if query is not None and recorded is not None and recorded != query:
        raise InvalidRequestError(
            f"the dataset {root} holds the {table} of another query "
            f"({json.dumps(recorded, sort_keys=True)}), not of this one "
            f"({json.dumps(query, sort_keys=True)}); a dataset holds one query, so that each of "
            "its rows answers it: write this one into another folder"
        )


def check_writable(root: Path, *, swapped: bool = False) -> None:
    """Refuse, before anything is sent, a dataset folder that a write could not finish in.

    A write creates the lock, a staging folder and the commit record in ``root``, and moves files
    into its partition folders (and removes superseded ones from them): ``root`` (created if
    missing, then removed again if this created it) and every folder in it must be writable,
    and an existing lock openable. Found by trying (``_archive.probe_writable``): found after
    the requests, an immutable partition folder or a path under a file cost every
    page of the collection (issue 22, item 6). ``swapped``: the folder is replaced as a whole
    (``refresh_videos``), so its parent must be writable too.

    Raises:
        ArchiveError: naming the folder that cannot be written.
    """
    from ._archive import probe_writable

    folders = [root.parent] if swapped else []
    folders.append(root)
    if root.is_dir():
        for here, subs, _ in os.walk(root):
            subs[:] = sorted(d for d in subs if not d.startswith((".", "_")))
            folders += [Path(here, d) for d in subs]
    if root.is_dir() and (bad := damaged(root)):
        raise damaged_error(root, bad)
    where = root
    try:
        for where in folders:
            probe_writable(where)
        if (root / LOCK).exists():
            where = root / LOCK
            os.close(os.open(where, os.O_WRONLY))
    except OSError as e:
        raise ArchiveError(
            f"cannot write in the dataset {root} ({where}: {e.strerror or e}). "
            "Make it writable (or write into another folder) and run the same call again; "
            "nothing was sent.",
            path=where,
        ) from None


def _claim(root: Path, *, table: str, key: list[str], partition_by: str,
           query: dict[str, Any] | None) -> None:  # fmt: skip
    """Record what the dataset holds (the first write, or the first one that names a query)."""
    check(root, table=table, query=query, partition_by=partition_by)
    marker = root / MARKER
    held = _read_json(marker)
    held = held if isinstance(held, dict) else {}
    want = {"table": table, "key": key, "partition_by": partition_by,
            "query": held.get("query") if query is None else query}  # fmt: skip
    if held != want:
        _write_json(marker, want)


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(value, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


# ---------------------------------------------------------------------------- lock, recovery


@contextlib.contextmanager
def _locked(root: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    lock = filelock.FileLock(str(root / LOCK), timeout=timeout)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise ArchiveError(
            f"the dataset {root} is being written by another process for more than "
            f"{timeout:.0f} s; run again when it is done",
            path=root,
        ) from None
    try:
        yield
    finally:
        lock.release()


def _pending(root: Path) -> bool:
    """A write was interrupted here (a commit to finish, or leftovers to clear)."""
    if (root / COMMIT).exists():
        return True
    return any(p.name.startswith(STAGING) for p in root.iterdir()) or any(
        p.name.endswith(NEW) for p in root.rglob(f"*{NEW}")
    )


def recover(root: Path, *, wait: bool = True) -> None:
    """Finish a write interrupted after its commit, or clear one interrupted before it.

    With ``wait=False`` (a reader) nothing is done while another process writes, nor where the
    folder cannot be written (read-only media): readers still read, and the next write recovers.
    """
    try:
        if not root.is_dir() or not _pending(root):
            return
        with _locked(root, timeout=LOCK_TIMEOUT if wait else 0):
            _recover_locked(root)
    except (ArchiveError, OSError):
        if wait:
            raise


def _recover_locked(root: Path) -> None:
    record = _read_json(root / COMMIT)
    if isinstance(record, dict):
        _apply(root, record)
    (root / COMMIT).unlink(missing_ok=True)
    for leftover in root.iterdir():
        if leftover.name.startswith(STAGING):
            shutil.rmtree(leftover, ignore_errors=True)
    for leftover in root.rglob(f"*{NEW}"):
        leftover.unlink(missing_ok=True)


def _apply(root: Path, record: dict[str, Any]) -> None:
    """Carry out a commit record; every step can be repeated (a recovery after a crash)."""
    touched: set[Path] = set()
    for src, dst in record.get("moves", []):
        source, target = root / src, root / dst
        if source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            touched.add(target.parent)
    for name in record.get("deletes", []):
        path = root / name
        path.unlink(missing_ok=True)
        touched.add(path.parent)
    for folder in sorted(touched):
        _fsync_dir(folder)
        if folder != root and folder.is_dir() and not any(folder.iterdir()):
            with contextlib.suppress(OSError):
                folder.rmdir()  # a partition left empty


# ---------------------------------------------------------------------------------- writing


def _retrieved(path: Path) -> datetime:
    """When the rows of a file were retrieved (its metadata; else when it was written)."""
    try:
        meta = pq.read_schema(path).metadata or {}
        value = meta.get(_RETRIEVED)
        if value:
            return datetime.fromisoformat(value.decode())
    except (OSError, ValueError, pa.ArrowException):
        pass
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _may_hold(path: Path, key: list[str], probe: pl.DataFrame) -> bool:
    """False when the file's statistics show it holds none of ``probe``'s keys (one integer key:
    video ids, which grow with time, put whole files out of range)."""
    if len(key) != 1 or probe.height == 0 or not probe.schema[key[0]].is_integer():
        return True
    low, high = probe[key[0]].min(), probe[key[0]].max()
    try:
        meta = pq.ParquetFile(path).metadata
        index = meta.schema.names.index(key[0])
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(index).statistics
            if stats is None or not stats.has_min_max:
                return True
            if not (stats.max < low or stats.min > high):  # type: ignore[operator]
                return True
    except (ValueError, OSError, pa.ArrowException):
        return True
    return False


def _keys_held(path: Path, key: list[str], probe: pl.DataFrame) -> pl.DataFrame:
    """The keys of ``probe`` that the file holds (none when it lacks the key columns)."""
    if not _may_hold(path, key, probe):
        return probe.clear()
    try:
        held = pl.read_parquet(path, columns=key, hive_partitioning=False)
    except (pl.exceptions.PolarsError, OSError):
        return probe.clear()
    held = held.cast(probe.schema, strict=False)
    return held.join(probe, on=key, how="semi").unique()


def write(
    arrow: pa.Table,
    root: Path,
    *,
    table: str,
    partition_by: str,
    run: str,
    retrieved_at: datetime,
    key: list[str],
    query: dict[str, Any] | None,
    drop: list[Any],
) -> None:
    """Add the rows of ``arrow`` (file columns and the ``partition_by`` column, with the schema
    metadata every file gets) to the dataset ``root``; see the module docstring."""
    with _full_disk_named(root):
        _write(arrow, root, table=table, partition_by=partition_by, run=run,
               retrieved_at=retrieved_at, key=key, query=query, drop=drop)  # fmt: skip


@contextlib.contextmanager
def _full_disk_named(root: Path) -> Iterator[None]:
    """A full disk met inside the block is an ArchiveError naming the dataset ``root``:
    pyarrow's and polars' errors name no file, and without the dataset's name the command line
    named the raw archive (another disk, perhaps) as the one to free."""
    from ._archive import unnamed_errno

    try:
        yield
    except OSError as e:
        if unnamed_errno(e) not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise ArchiveError(
            f"no space left on the disk while writing {root} (the dataset): free some space "
            "there, then run the same command again; what was collected is kept in the archive, "
            "and nothing half-written is left in the dataset",
            path=root,
        ) from e


def _write(
    arrow: pa.Table,
    root: Path,
    *,
    table: str,
    partition_by: str,
    run: str,
    retrieved_at: datetime,
    key: list[str],
    query: dict[str, Any] | None,
    drop: list[Any],
) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        _recover_locked(root)
        _claim(root, table=table, key=key, partition_by=partition_by, query=query)
        new = cast(pl.DataFrame, pl.from_arrow(arrow))
        complete = pl.all_horizontal([pl.col(k).is_not_null() for k in key])
        new = pl.concat(
            [
                new.filter(complete).unique(subset=key, keep="last", maintain_order=True),
                new.filter(~complete),
            ]
        )
        probe = new.filter(complete).select(key)
        if drop and len(key) == 1:
            gone = pl.DataFrame({key[0]: drop}).cast(probe.schema, strict=False)
            probe = pl.concat([probe, gone]).unique()
        own = f"part-{run}-"
        token = uuid.uuid4().hex[:10]
        staging = root / f"{STAGING}{token}"
        moves: list[tuple[str, str]] = []
        deletes: list[str] = []
        older: list[pl.DataFrame] = []  # keys whose held copy is newer than ours
        try:
            rewrites: list[tuple[Path, pl.DataFrame]] = []
            for path in data_files(root):
                if path.name.startswith(own):
                    continue  # this run's files: replaced or removed below
                held = _keys_held(path, key, probe)
                if held.height == 0:
                    continue
                if _retrieved(path) > retrieved_at:
                    older.append(held)
                else:
                    rewrites.append((path, held))
            if older:
                stale = pl.concat(older).unique()
                new = new.join(stale, on=key, how="anti")
            written = _stage(new, arrow.schema, staging, root, partition_by, run)
            moves += written
            for path, held in rewrites:
                rel = path.relative_to(root).as_posix()
                shrunk = _without(path, key, held)
                if shrunk is None:
                    deletes.append(rel)
                else:
                    moves.append((shrunk.relative_to(root).as_posix(), rel))
            targets = {dst for _, dst in moves}
            for path in data_files(root):
                rel = path.relative_to(root).as_posix()
                if path.name.startswith(own) and rel not in targets:
                    deletes.append(rel)
            if not moves and not deletes:
                return
            record = {"version": 1, "run": run, "moves": moves, "deletes": deletes}
            _write_json(root / COMMIT, record)
            _apply(root, record)
            (root / COMMIT).unlink(missing_ok=True)
            _fsync_dir(root)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            for leftover in root.rglob(f"*{NEW}"):
                if not (root / COMMIT).exists():
                    leftover.unlink(missing_ok=True)


def _stage(
    new: pl.DataFrame,
    schema: pa.Schema,
    staging: Path,
    root: Path,
    partition_by: str,
    run: str,
) -> list[tuple[str, str]]:
    """Write the new rows, one file per partition, under ``staging``; return the moves."""
    if new.height == 0:
        return []
    file_schema = schema.remove(schema.get_field_index(partition_by))
    moves: list[tuple[str, str]] = []
    parts = new.partition_by(partition_by, as_dict=True, include_key=False, maintain_order=True)
    for (value,), part in sorted(parts.items(), key=lambda kv: str(kv[0][0])):
        folder = f"{partition_by}={quote(str(value), safe='')}"
        rel = f"{folder}/part-{run}-0.parquet"
        staged = staging / folder / f"part-{run}-0.parquet{NEW}"
        staged.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(part.to_arrow().cast(file_schema), staged, compression="zstd")
        _fsync_file(staged)
        moves.append((staged.relative_to(root).as_posix(), rel))
    return moves


def _without(path: Path, key: list[str], held: pl.DataFrame) -> Path | None:
    """A copy of ``path`` without the rows of the keys ``held``, written beside it (hidden), or
    None when no row is left. The file's schema and metadata are kept."""
    original = pq.ParquetFile(path).read()
    frame = cast(pl.DataFrame, pl.from_arrow(original))
    kept = frame.join(held, on=key, how="anti")
    if kept.height == 0:
        return None
    shrunk = path.with_name(f".{path.name}{NEW}")
    pq.write_table(kept.to_arrow().cast(original.schema), shrunk, compression="zstd")
    _fsync_file(shrunk)
    return shrunk
