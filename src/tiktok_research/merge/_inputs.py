"""The inputs of a merge: paths, folders and patterns -> the files to read, none opened yet."""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .._archive import gzipped_twin, is_bookkeeping
from ..errors import InvalidRequestError

_GLOB_CHARS = "*?["

#: Layout of a page file whose gzipped twin is also listed (the collection gzipped it).
TWIN_READ = "read from its .gz twin"


def not_regular(mode: int) -> str | None:
    """What a file is when it is not a regular file (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


@dataclass
class Item:
    """One input: a path, and why it cannot be read (layout, reason) if it cannot."""

    path: Path
    problem: tuple[str, str] | None = None


def _walk(folder: Path, out: list[Item]) -> None:
    for q in sorted(folder.rglob("*")):
        try:
            mode = q.stat().st_mode
        except OSError:
            if q.is_symlink():
                out.append(Item(q, ("missing", "broken symbolic link")))
            elif gzipped_twin(q).exists():  # gzipped between the listing and now
                out.append(Item(q))  # read from its twin (see _source.open_source)
            continue
        if stat.S_ISDIR(mode) or is_bookkeeping(q):
            continue
        kind = not_regular(mode)
        out.append(Item(q, ("not a regular file", f"{kind}; not opened") if kind else None))


def _expand_one(item: str | Path, out: list[Item]) -> None:
    text = str(item)
    p = Path(item)
    try:
        mode = p.stat().st_mode
    except OSError:
        if any(c in text for c in _GLOB_CHARS):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                out.append(Item(p, ("no match", "no file matches this pattern")))
            for m in matches:
                mp = Path(m)
                if mp.is_dir():
                    _walk(mp, out)
                else:
                    _expand_one(mp, out)
        elif gzipped_twin(p).exists():
            out.append(Item(p))  # gzipped since it was named: read from its twin
        else:
            out.append(Item(p, ("missing", "file not found")))
        return
    if stat.S_ISDIR(mode):
        _walk(p, out)
        return
    kind = not_regular(mode)
    out.append(Item(p, ("not a regular file", f"{kind}; not opened") if kind else None))


def _without_twins(items: list[Item]) -> list[Item]:
    """A page file listed beside its gzipped twin is read once, from the twin.

    A collection gzips a finished run's ``pages-<run>.jsonl`` into ``.jsonl.gz`` (whole, then
    renamed into place) and then removes the plain file: a listing made in between holds both,
    with the same pages.
    """
    listed = {item.path for item in items}
    out = []
    for item in items:
        if item.problem is None and gzipped_twin(item.path) in listed:
            out.append(Item(item.path, (TWIN_READ, "")))
        else:
            out.append(item)
    return out


def check_paths(paths_or_globs: object) -> list[str | Path]:
    """The inputs as a list of paths; an :class:`InvalidRequestError` for anything else."""
    if isinstance(paths_or_globs, (str, os.PathLike)):
        return (
            [Path(paths_or_globs)] if isinstance(paths_or_globs, os.PathLike) else [paths_or_globs]
        )
    if isinstance(paths_or_globs, Iterable) and not isinstance(paths_or_globs, (bytes, dict)):
        given = list(paths_or_globs)
        odd = [p for p in given if not isinstance(p, (str, os.PathLike))]
        if not odd:
            return [p if isinstance(p, str) else Path(p) for p in given]
        what = f"a list holding {type(odd[0]).__name__}"
    else:
        what = type(paths_or_globs).__name__
    raise InvalidRequestError(
        f"paths_or_globs must be a file, a folder, a glob pattern or a list of them, not {what}"
    )


def expand(paths_or_globs: str | Path | Iterable[str | Path]) -> list[Item]:
    """Inputs -> files: folders are read recursively, patterns expanded, the rest kept as given.

    Nothing is opened here; a path that names nothing, a pattern that matches nothing and a file
    that is not a regular file come back with the reason they cannot be read.
    """
    out: list[Item] = []
    for item in check_paths(paths_or_globs):
        _expand_one(item, out)
    return _without_twins(out)


def missing_inputs(paths_or_globs: str | Path | Iterable[str | Path]) -> list[str]:
    """The inputs that name nothing: paths that do not exist, patterns that match no file.

    ``merge_dumps`` reports them and goes on with the rest; the command line refuses them.

    Raises:
        InvalidRequestError: the inputs are not paths (``None``, a number...).

    Example:
        >>> missing_inputs(["no/such/folder", "no/such/*.json"])
        ['no/such/folder: no such file or folder', 'no/such/*.json: no file matches this pattern']
    """
    out = []
    for item in expand(paths_or_globs):
        if item.problem == ("missing", "file not found"):
            out.append(f"{item.path}: no such file or folder")
        elif item.problem and item.problem[0] == "no match":
            out.append(f"{item.path}: {item.problem[1]}")
    return out
