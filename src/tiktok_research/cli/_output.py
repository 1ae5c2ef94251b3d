"""Every file the command line writes, and the checks made on it before the first request.

One home for output: the checks of ``--out``, ``--archive``, ``--dataset`` and in-place targets
(:func:`check_output`, :func:`check_folder`), the writers (:func:`write_table` in the format of
the file's extension, or JSON lines on standard output for ``--out -``; :func:`replace_file` for
a table rewritten in place, :func:`write_tables` for one Parquet file per table,
:func:`write_lines` for id and name lists), the names of the files written beside an output
(failures, ids not found, ids removed), and :func:`writing`, which names the file in a disk error
that does not. A rule about output files is written here once and holds for every command:

* **Nothing is replaced silently.** An output that exists is refused before the first request
  (exit 2, nothing sent), with a message naming ``--overwrite``, unless ``--overwrite`` is given
  or the file is this same command's own earlier output, unchanged since: running the same
  command again (to continue an incomplete run, or to repeat it) replaces what it wrote. Which
  command wrote a file is recorded under the cache folder (``outputs/``), with the file's size and
  time, so a file edited or replaced since is not taken for ours. An empty result never replaces
  a file with rows without ``--overwrite``, and a result with fewer rows than this command's
  earlier output (its archive was cleaned up or moved, and the run stopped early) goes beside it
  (``videos-2.parquet``) instead of replacing it; a file that appears while the command runs is
  kept, and the table goes to a new name. Each new name is printed.
* **A folder that cannot be created or written is found before the first request**: it is
  created (then removed again) and a file is written in it and removed.
* **Formats** by extension: ``.parquet``, ``.csv`` (``--for-excel``: the variant spreadsheets
  open with a double click), ``.jsonl`` (ids as strings), ``.xlsx`` (ids as text cells), and
  ``-`` (JSON lines on standard output, for pipes; every message then goes to standard error).
* **Every file is written aside and renamed into place**: a crash or a full disk never leaves a
  half-written output where the earlier one was.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._archive import unnamed_errno
from .._optional import require
from . import _log
from ._errors import InputError
from ._inputs import exists

if TYPE_CHECKING:
    import polars as pl

OUTPUT_FORMATS = (".parquet", ".csv", ".jsonl", ".xlsx")
STDOUT = "-"
_SUFFIXES = {".parquet": ".parquet", ".pq": ".parquet", ".csv": ".csv", ".jsonl": ".jsonl",
             ".ndjson": ".jsonl", ".xlsx": ".xlsx", ".html": ".html",
             ".htm": ".html"}  # fmt: skip
PAGE_FORMATS = (".html",)  # a report page (``quality --html``), not a table
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EACCES}


@contextmanager
def writing(path: Path | str) -> Iterator[None]:
    """Name ``path`` in an OSError raised inside the block that names no file (a full disk
    reported by a write() call, or by polars and pyarrow, carries no file name)."""
    try:
        yield
    except OSError as e:
        code = unnamed_errno(e)
        if code in _DISK_ERRORS:
            raise OSError(code, os.strerror(code), str(path)) from e
        raise


# --------------------------------------------------------------- who wrote an output file


def _registry(path: Path) -> Path:
    from .._ledger import cache_dir

    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]
    return cache_dir() / "outputs" / f"{key}.json"


def _identity(command: str, parts: tuple[object, ...]) -> str:
    text = json.dumps([command, *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _written_by_us(path: Path, identity: str | None) -> dict[str, Any] | None:
    """The record of ``path`` when this command (``identity``) wrote it and nothing changed it
    since (same size, same modification time); None otherwise."""
    if identity is None:
        return None
    try:
        record = json.loads(_registry(path).read_text(encoding="utf-8"))
        stat = path.stat()
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("identity") != identity:
        return None
    if record.get("size") != stat.st_size or record.get("mtime_ns") != stat.st_mtime_ns:
        return None
    if record.get("path") != str(path.resolve()):
        return None
    return record


def _remember(path: Path, identity: str | None, command: str, rows: int) -> None:
    """Record that ``command`` (``identity``) wrote ``path`` (best effort: without a record, the
    next run refuses to replace the file, which is the safe side)."""
    if identity is None:
        return
    with suppress(OSError):
        stat = path.stat()
        record = {"path": str(path.resolve()), "identity": identity, "command": command,
                  "rows": rows, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                  "written": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
        target = _registry(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, target)


def _describe_existing(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError:
        return ""
    return f" ({size:,} bytes)"


def _aside(path: Path, identity: str | None) -> Path:
    """Where a smaller result of the command that wrote ``path`` goes: its own earlier table
    beside ``path`` (``videos-2.parquet``...), unchanged since, or the first name not taken."""
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not exists(candidate) or _written_by_us(candidate, identity) is not None:
            return candidate
        n += 1


def _free_name(path: Path) -> Path:
    """``videos-2.parquet``, ``videos-3.parquet``...: the first name beside ``path`` not taken."""
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not exists(candidate):
            return candidate
        n += 1


# ------------------------------------------------------------------------------- targets


@dataclass
class Output:
    """Where a command writes its table: a file, or standard output (``--out -``).

    Made by :func:`check_output`; a command then calls :meth:`claim` with what identifies its
    result (the plan of a collection, the table and options of a summary...), which refuses an
    existing file that this same command did not write, before anything is sent.

    Attributes:
        path: The file, or None for standard output.
        option: The option that named it, for messages.
        overwrite: ``--overwrite`` was given: an existing file is replaced.
        excel: ``--for-excel``: a CSV for spreadsheets.
        command: The command that writes it.
        identity: What identifies the command's result (set by :meth:`claim`).
        given: The user named the file (False: the command's default name, no ``--out``).
    """

    path: Path | None
    option: str = "--out"
    overwrite: bool = False
    excel: bool = False
    command: str = ""
    identity: str | None = None
    claimed: bool = field(default=False, repr=False)
    given: bool = True

    @property
    def to_stdout(self) -> bool:
        """The table goes to standard output (``--out -``)."""
        return self.path is None

    def __str__(self) -> str:
        return "standard output" if self.path is None else str(self.path)

    def echo(self, text: str) -> None:
        """Print a message for the user: on standard error when the data goes to standard output."""
        _log.say(text, err=self.to_stdout)

    def claim(self, command: str, *parts: object, dry_run: bool = False) -> Output:
        """Say what writes here (``command`` and what identifies its result), and refuse, before
        anything is sent, an existing file that this same command did not write. A dry run
        writes nothing: it is not refused, and a note says what the run would meet.

        Raises:
            InputError: the file exists and is not this command's unchanged earlier output, and
                ``--overwrite`` was not given (exit 2).
        """
        self.command = command
        self.identity = _identity(command, parts)
        self.claimed = True
        path = self.path
        if path is None or self.overwrite or not exists(path):
            return self
        if _written_by_us(path, self.identity) is not None:
            return self  # the same command again: it continues or repeats what it wrote
        if self.given:
            what = f"{self.option} {path}"
            fix = "add --overwrite to replace it, or choose another file"
        else:  # the user named no file: say which one, and how to name another
            what = f"{path} (the default {self.option}, as none was given)"
            fix = f"give {self.option} FILE to write elsewhere, or --overwrite to replace it"
        if dry_run:
            _log.say(
                f"note: {what} already exists{_describe_existing(path)} and was not written by "
                f"this same command: the run will refuse it; {fix}",
                err=True,
            )
            return self
        raise InputError(
            f"{what} already exists{_describe_existing(path)} and was not written by this same "
            f"command: {fix}. Nothing was sent."
        )


def _probe_folder(folder: Path, option: str, shown: Path) -> None:
    """Make sure ``folder`` can be created and written, before anything is sent (by trying:
    :func:`tiktok_research._archive.probe_writable`, which removes what it created)."""
    from .._archive import probe_writable

    level = folder
    while not exists(level) and level != level.parent:
        level = level.parent
    if exists(level) and not level.is_dir():
        raise InputError(f"{option} {shown}: {level} is a file, not a folder")
    try:
        probe_writable(folder)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):  # a full disk: its own message and exit code
            raise OSError(e.errno, e.strerror, str(shown)) from None
        reason = e.strerror or str(e)
        where = e.filename or folder
        raise InputError(
            f"{option} {shown}: cannot write in {folder} ({where}: {reason}); nothing was sent"
        ) from None


def check_writable_parent(path: Path, option: str) -> None:
    """The folder of ``path`` can be created and written in (checked by trying)."""
    _probe_folder(path.parent if str(path.parent) else Path("."), option, path)


def check_output(
    path: Path,
    option: str = "--out",
    formats: tuple[str, ...] = OUTPUT_FORMATS,
    *,
    overwrite: bool = False,
    excel: bool = False,
    stdout: bool = True,
    given: bool = True,
) -> Output:
    """Check an output file before anything is sent: known format, the extra that format needs
    (``.xlsx``: ``[excel]``), not a folder, a folder that can be written. ``-`` (with ``stdout``)
    is standard output; ``given`` False: ``path`` is the command's default name (no ``--out``),
    for messages. Call :meth:`Output.claim` next."""
    if stdout and str(path) == STDOUT:
        if excel:
            raise InputError(f"--for-excel is for a .csv file; {option} - writes JSON lines")
        return Output(None, option, overwrite)
    suffix = _SUFFIXES.get(path.suffix.lower())
    if exists(path) and path.is_dir():
        raise InputError(
            f"{option} {path} is a folder; give a file name, e.g. {path / ('table' + formats[0])}"
        )
    if suffix not in formats:
        shown = repr(path.suffix) if path.suffix else "no extension"
        extra = " or - (JSON lines on standard output)" if stdout else ""
        raise InputError(
            f"{option} {path}: unknown output format ({shown}); use {', '.join(formats)}{extra}"
        )
    if excel and suffix != ".csv":
        raise InputError(f"--for-excel is for a .csv file, not {path.name}")
    if suffix == ".xlsx":  # found after the pages were paid for, it cost the whole collection
        require("xlsxwriter", extra="excel", feature="writing .xlsx files")
    if exists(path) and not os.access(path, os.W_OK):
        raise InputError(f"{option} {path}: the file is not writable (permission denied)")
    check_writable_parent(path, option)
    return Output(path, option, overwrite, excel, given=given)


def check_folder(path: Path, option: str) -> Path:
    """Check a folder the command will write in: not a file, and writable (checked by trying)."""
    if exists(path) and not path.is_dir():
        raise InputError(f"{option} {path} is a file; give a folder (it is created if needed)")
    _probe_folder(path, option, path)
    return path


def check_lines_output(out: Path | None, overwrite: bool = False) -> Output | None:
    """Check the ``--out`` of a list of ids or names (any file name; None or ``-`` prints)."""
    if out is None or str(out) == STDOUT:
        return None
    if exists(out) and out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name, e.g. {out / 'ids.txt'}")
    check_writable_parent(out, "--out")
    return Output(out, "--out", overwrite)


# --------------------------------------------------------------------------------- writers


def _write_file(
    df: pl.DataFrame, out: Path, table: str | None, excel: bool, shown: Path | None = None
) -> None:
    from .. import io as tio

    suffix = _SUFFIXES.get(out.suffix.lower())
    with writing(shown or out):
        if suffix == ".csv":
            tio.write_csv(df, out, excel=excel)
        elif suffix == ".jsonl":
            tio.write_ndjson(df, out)
        elif suffix == ".xlsx":
            try:
                tio.write_excel(df, out, sheet=table)
            except ValueError as e:
                from ._errors import CommandError

                raise CommandError(
                    f"{out}: {e}. The table is kept in the archive: run the same command with "
                    "another --out (nothing is asked again)"
                ) from None
        elif suffix == ".parquet":
            tio.write_parquet(df, out, table=table)
        else:  # a new caller forgot check_output
            raise InputError(f"unknown output format {out.suffix!r}: use .parquet, .csv or .jsonl")


def _to_stdout(df: pl.DataFrame) -> None:
    """JSON lines on standard output; a reader that stops early (``| head``) is not an error."""
    from .. import io as tio

    sys.stdout.flush()
    stream = sys.stdout.buffer
    try:
        tio.write_ndjson(df, stream)
        stream.flush()
    except BrokenPipeError:  # the reader has gone: nothing more to write, nor to flush at exit
        _log.reader_gone(sys.stdout)


def write_table(df: pl.DataFrame, target: Output, table: str | None = None) -> Output | None:
    """Write ``df`` where ``target`` says, in its format; return where it went (a new name when
    the file appeared meanwhile), or None when an empty result left an earlier table in place."""
    if not target.claimed:  # a new caller forgot Output.claim
        raise InputError(f"{target.option} {target}: output not checked before the run")
    if target.path is None:
        _to_stdout(df)
        return target
    out = target.path
    if exists(out) and not target.overwrite:
        record = _written_by_us(out, target.identity)
        if record is None:  # it appeared, or was changed, while the command ran: keep it
            moved = _free_name(out)
            target.echo(
                f"note: {out} was created or changed while the command ran: it is kept, and the "
                f"table goes to {moved} (--overwrite replaces {out})"
            )
            target = replace(target, path=moved, overwrite=False, claimed=True)
            out = moved
        elif df.height == 0 and int(record.get("rows") or 0) > 0:
            target.echo(
                f"note: the result is empty: {out} keeps the {int(record['rows']):,} rows of the "
                "earlier run (--overwrite replaces it)"
            )
            return None
        elif df.height < int(record.get("rows") or 0):
            # fewer rows than this command's earlier output (its archive was cleaned up or
            # moved, and this run stopped early): the file may be their only copy, keep it
            moved = _aside(out, target.identity)
            target.echo(
                f"note: {out} keeps the {int(record['rows']):,} rows of an earlier run of this "
                f"command; this result has {df.height:,}, so it goes to {moved} (--overwrite "
                f"replaces {out})"
            )
            target = replace(target, path=moved, overwrite=False, claimed=True)
            out = moved
    if target.overwrite or exists(out):
        _write_file(df, out, table, target.excel)  # this command's own file, or --overwrite
    else:
        placed = _write_new(df, out, table, target.excel)
        if placed != out:
            target.echo(
                f"note: {out} was created while the command ran (another command writing the "
                f"same file?): it is kept, and the table goes to {placed}"
            )
            target = replace(target, path=placed, overwrite=False, claimed=True)
            out = placed
    _remember(out, target.identity, target.command, df.height)
    return target


def _write_new(df: pl.DataFrame, out: Path, table: str | None, excel: bool) -> Path:
    """Write ``df`` to a new file at ``out``, or at the first free name beside it
    (``videos-2.parquet``) when ``out`` appears meanwhile: written aside, then linked into
    place, which fails when the name is taken (a rename would replace what another command
    wrote there a moment before: two commands with the default output each said "wrote 400
    rows to videos.parquet", and one table was gone). Returns the path written."""
    aside = out.with_name(f".{out.stem}.{uuid.uuid4().hex[:8]}.tmp{out.suffix}")
    try:
        _write_file(df, aside, table, excel, shown=out)
        name = out
        while True:
            try:
                os.link(aside, name)
                return name
            except FileExistsError:
                name = _free_name(out)
            except OSError:  # no hard links on this file system: the rename, as before
                os.replace(aside, name)
                return name
    finally:
        aside.unlink(missing_ok=True)


def remember(target: Output, rows: int = 0) -> None:
    """Record that ``target``'s command wrote its file (for writers other than
    :func:`write_table`, e.g. a report page), so that a rerun of the same command replaces it."""
    if target.path is not None:
        _remember(target.path, target.identity, target.command, rows)


def replace_file(df: pl.DataFrame, path: Path) -> None:
    """Rewrite ``path`` with ``df`` (same format): the writers write beside it and rename."""
    _write_file(df, path, None, excel=False)


def check_tables_folder(folder: Path, tables: Iterable[str], overwrite: bool) -> None:
    """Refuse, before anything is read, a ``merge --out`` folder that holds tables already."""
    if overwrite or not folder.is_dir():
        return
    held = sorted(f"{t}.parquet" for t in tables if exists(folder / f"{t}.parquet"))
    if held:
        shown = ", ".join(held[:5]) + (", ..." if len(held) > 5 else "")
        raise InputError(
            f"--out {folder} holds tables already ({shown}): add --overwrite to replace them, or "
            "choose another folder"
        )


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


def write_lines(values: pl.Series | Iterable[object], out: Path | Output) -> None:
    """One exact value per line (ids as digits), with a full disk naming ``out``."""
    from ..select import write_lines as write

    target = out if isinstance(out, Output) else None
    path = out.path if isinstance(out, Output) else out
    assert path is not None
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with writing(path):
            write(values, tmp)
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if target is not None:
        rows = values.len() if hasattr(values, "len") else 0
        _remember(path, target.identity, target.command, int(rows))


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
    ids: list[int],
    side: Path | None,
    what: str,
    err: bool = False,
    reasons: Mapping[int, str] | None = None,
) -> None:
    """Print ``ids`` (the first 20, each with its reason when ``reasons`` has one) and write
    them all to ``side``; remove a stale ``side``. (``side`` None: standard output carries the
    table; they are all printed, on standard error.)"""
    if not ids:
        if side is not None and side.is_file():
            side.unlink()  # it listed the ids of an earlier run of this output
        return
    if side is not None:
        write_lines(ids, side)
        _log.say(f"{len(ids):,} id(s) {what} (all of them in {side}):", err=err)
    else:
        _log.say(f"{len(ids):,} id(s) {what}:", err=err)
    reasons = reasons or {}
    shown = ids if side is None else ids[:20]
    for i in shown:
        _log.say(f"  {i}" + (f"  ({reasons[i]})" if i in reasons else ""), err=err)
    if len(ids) > len(shown):
        _log.say(f"  ... and {len(ids) - len(shown)} more", err=err)
