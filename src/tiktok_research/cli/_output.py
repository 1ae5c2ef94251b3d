"""Every file the command line writes, and the checks made on it before the first request.

One home for output: the checks of ``--out``, ``--archive``, ``--dataset`` and in-place targets
(:func:`check_output`, :func:`check_folder`), the writers (:func:`write_table` in the format of
the file's extension, :func:`replace_file` for a table rewritten in place, :func:`write_tables`
for one Parquet file per table, :func:`write_lines` for id and name lists), the names of the
files written beside an output (failures, ids not found, ids removed), and :func:`writing`, which
names the file in a disk error that does not. A rule about output files (never replace one
silently, a new format, ``--out -``) is written here once and holds for every command.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ._errors import InputError
from ._inputs import exists

if TYPE_CHECKING:
    import polars as pl

OUTPUT_FORMATS = (".parquet", ".csv", ".jsonl")
_SUFFIXES = {".parquet": ".parquet", ".pq": ".parquet", ".csv": ".csv", ".jsonl": ".jsonl",
             ".ndjson": ".jsonl"}  # fmt: skip
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EACCES}


@contextmanager
def writing(path: Path | str) -> Iterator[None]:
    """Name ``path`` in an OSError raised inside the block that names no file (a full disk
    reported by a write() call, or by polars and pyarrow, carries no file name)."""
    try:
        yield
    except OSError as e:
        if e.filename is not None or isinstance(e, (ConnectionError, TimeoutError)):
            raise
        code = e.errno
        if code is None:  # polars: "No space left on device (os error 28)"
            found = re.search(r"os error (\d+)", str(e))
            code = int(found.group(1)) if found else None
        if code in _DISK_ERRORS:
            raise OSError(code, os.strerror(code), str(path)) from e
        raise


# ---------------------------------------------------------------- checks before the first request


def check_writable_parent(path: Path, option: str) -> None:
    """The first existing ancestor of ``path`` must be a folder we may write in."""
    parent = path.parent
    while not exists(parent):
        if parent == parent.parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise InputError(f"{option} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option} {path}: cannot write in {parent} (permission denied)")


def check_output(
    path: Path, option: str = "--out", formats: tuple[str, ...] = OUTPUT_FORMATS
) -> Path:
    """Check an output file before anything is sent: known format, not a folder, writable."""
    suffix = _SUFFIXES.get(path.suffix.lower())
    if exists(path) and path.is_dir():
        raise InputError(
            f"{option} {path} is a folder; give a file name, e.g. {path / ('table' + formats[0])}"
        )
    if suffix not in formats:
        shown = repr(path.suffix) if path.suffix else "no extension"
        raise InputError(
            f"{option} {path}: unknown output format ({shown}); use {', '.join(formats)}"
        )
    if exists(path) and not os.access(path, os.W_OK):
        raise InputError(f"{option} {path}: the file is not writable (permission denied)")
    check_writable_parent(path, option)
    return path


def check_folder(path: Path, option: str) -> Path:
    """Check a folder the command will write in: not a file, and writable."""
    if exists(path):
        if not path.is_dir():
            raise InputError(f"{option} {path} is a file; give a folder (it is created if needed)")
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"{option} {path}: cannot write in this folder (permission denied)")
        return path
    check_writable_parent(path, option)
    return path


def check_lines_output(out: Path | None) -> None:
    """Check the ``--out`` of a list of ids or names (any file name; None prints)."""
    if out is None:
        return
    if exists(out) and out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name, e.g. {out / 'ids.txt'}")
    check_writable_parent(out, "--out")


# --------------------------------------------------------------------------------- writers


def write_table(df: pl.DataFrame, out: Path, table: str | None = None) -> Path:
    """Write ``df`` in the format of ``out``'s extension (checked by :func:`check_output`)."""
    from .. import io as tio

    suffix = _SUFFIXES.get(out.suffix.lower())
    if suffix not in (".csv", ".jsonl", ".parquet"):  # a new caller forgot check_output
        raise InputError(f"unknown output format {out.suffix!r}: use .parquet, .csv or .jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    with writing(out):
        if suffix == ".csv":
            tio.write_csv(df, out)
        elif suffix == ".jsonl":
            df.write_ndjson(out)
        else:
            tio.write_parquet(df, out, table=table)
    return out


def replace_file(df: pl.DataFrame, path: Path) -> None:
    """Rewrite ``path`` with ``df`` (same format) safely: a new file beside it, then a rename."""
    staging = path.with_name(f".{path.stem}.refresh-{os.getpid()}{path.suffix}")
    try:
        write_table(df, staging)
        with writing(path):
            os.replace(staging, path)
    finally:
        if staging.exists():
            staging.unlink()


def write_tables(tables: dict[str, pl.DataFrame], folder: Path) -> None:
    """One Parquet file per table, each written aside and renamed into place when complete."""
    from ..io import write_parquet

    folder.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, Path]] = []
    try:
        for table, df in tables.items():
            tmp = folder / f".{table}.parquet.tmp"
            written.append((tmp, folder / f"{table}.parquet"))
            write_parquet(df, tmp, table=table)
        for tmp, final in written:
            os.replace(tmp, final)
    finally:
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)


def write_lines(values: pl.Series | Iterable[object], out: Path) -> None:
    """One exact value per line (ids as digits), with a full disk naming ``out``."""
    from ..select import write_lines as write

    with writing(out):
        write(values, out)


# ------------------------------------------------------------------ files beside an output


def failures_path(out: Path) -> Path:
    """Where the failures of a fan-out go: beside ``out``, as ``<name>_failures.<ext>`` (as the
    demo's ``users_failures.parquet``)."""
    return out.with_name(f"{out.stem}_failures{out.suffix}")


def not_found_path(out: Path) -> Path:
    """Where ``hydrate`` lists the ids it did not find: beside ``out``, ``<name>_not_found.txt``."""
    return out.with_name(f"{out.stem}_not_found.txt")


def removed_path(target: Path) -> Path:
    """Where ``refresh`` lists the ids found gone: beside ``target``, ``<name>_removed.txt``."""
    return target.with_name(f"{target.stem if target.suffix else target.name}_removed.txt")


def list_ids(
    ids: list[int], side: Path, what: str, reasons: Mapping[int, str] | None = None
) -> None:
    """Print ``ids`` (the first 20, each with its reason when ``reasons`` has one) and write
    them all to ``side``; remove a stale ``side``."""
    if not ids:
        if side.is_file():
            side.unlink()  # it listed the ids of an earlier run of this output
        return
    write_lines(ids, side)
    typer.echo(f"{len(ids):,} id(s) {what} (all of them in {side}):")
    reasons = reasons or {}
    for i in ids[:20]:
        typer.echo(f"  {i}" + (f"  ({reasons[i]})" if i in reasons else ""))
    if len(ids) > 20:
        typer.echo(f"  ... and {len(ids) - 20} more")
