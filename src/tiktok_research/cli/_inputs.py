"""Reading what the user gives: items, ``--query`` and its flags, text files and tables.

Each reader raises :class:`~tiktok_research.cli._errors.InputError` (exit 2) with a message that
names the problem, before anything is sent.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import InputError

if TYPE_CHECKING:
    import polars as pl

    from ..query import Query


def exists(path: Path) -> bool:
    """``path.exists()``, with a file name too long for the system counted as invalid input."""
    try:
        return path.exists()
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise InputError(f"file name too long: {str(path)[:60]}...") from None
        raise


def read_text(path: Path, option: str) -> str:
    """The text of a small input file, with a clear message when it is missing or not text."""
    if not exists(path):
        raise InputError(f"{option} {path}: no such file")
    if path.is_dir():
        raise InputError(f"{option} {path} is a folder, not a file")
    data = path.read_bytes()
    try:
        if b"\x00" in data:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\x00"), data.index(b"\x00") + 1,
                                     "NUL byte")  # fmt: skip
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{option} {path} is not a text file (UTF-8): byte {e.start} cannot be read. "
            "Give a text file with one value per line"
        ) from None


#: Header names of the package's own tables that hold items (a one-column file may start with one).
_ITEM_HEADERS = frozenset(
    {"id", "video_id", "comment_id", "username", "playlist_id", "shop_id", "product_id", "item"}
)


def _item_table(text: str, source: str) -> pl.DataFrame | None:
    """A CSV with a header (the package's own ``--out x.csv``, or any with a known item column)
    as a table of text columns, so that ids stay exact; None for a plain list of items."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    bare = first.strip('"').strip()
    if "," not in first and bare.lower() not in _ITEM_HEADERS:
        return None
    import io

    import polars as pl

    try:
        return pl.read_csv(io.StringIO(text), infer_schema=False)
    except pl.exceptions.PolarsError as e:
        raise InputError(
            f"--from-file {source} looks like a CSV file (its first line is {first[:60]!r}) but "
            f"cannot be read as one ({str(e).splitlines()[0]}). Give one item per line, or a CSV "
            "file the package wrote; for video ids of a table use: tiktok-research select "
            "video-ids FILE.csv"
        ) from None


def read_items(items: list[str] | None, from_file: Path | None) -> list[str] | pl.DataFrame:
    """The items of a fan-out command: arguments, then ``--from-file`` (or stdin when piped).

    ``--from-file`` takes one item per line, or a table: a CSV with a header (the package's own
    CSV output, ids quoted), a ``.parquet`` or ``.jsonl`` file the package wrote; the command
    then takes its usual column (``video_id`` or ``id``, ``username``...).
    """
    values = [v.strip() for v in items or []]
    if from_file is not None:
        stdin = str(from_file) == "-"
        table: pl.DataFrame | None
        if not stdin and from_file.suffix.lower() in (".parquet", ".jsonl", ".ndjson"):
            table = read_table(from_file)
        else:
            text = sys.stdin.read() if stdin else read_text(from_file, "--from-file")
            table = _item_table(text, str(from_file))
            if table is None:
                values.extend(line.strip() for line in text.splitlines())
        if table is not None:
            if values:
                raise InputError(
                    f"give the items as arguments or in --from-file {from_file}, not both"
                )
            return table
    elif not values and not sys.stdin.isatty():
        values.extend(line.strip() for line in sys.stdin.read().splitlines())
    values = [v for v in values if v and not v.startswith("#")]
    if not values:
        where = f" ({from_file} has none)" if from_file is not None else ""
        raise InputError(
            f"no items{where}: give them as arguments, with --from-file FILE, or on stdin"
        )
    return values


def _query_text(value: str) -> tuple[str, str]:
    """``--query`` as (JSON text, where it came from): JSON text or the path of a JSON file."""
    stripped = value.strip()
    if stripped.startswith(("{", "[")):
        return stripped, "--query"
    path = Path(stripped)
    try:
        is_file = path.is_file()
    except OSError:  # e.g. a value too long to be a file name
        is_file = False
    if is_file:
        return read_text(path, "--query"), f"--query file {path}"
    looks_like_path = path.suffix.lower() == ".json" or "/" in stripped or os.sep in stripped
    if looks_like_path:
        if exists(path):
            raise InputError(f"--query {path} is a folder, not a JSON file")
        raise InputError(f"--query {path}: no such file")
    shown = stripped if len(stripped) <= 40 else stripped[:40] + "..."
    raise InputError(
        f"--query takes JSON text or the path of a JSON file, not {shown!r}. For a keyword or a "
        f"hashtag use --keyword {shown} or --hashtag {shown} (docs/guide/queries.md shows the JSON)"
    )


def build_query(
    query_json: str | None,
    hashtag: list[str] | None,
    keyword: list[str] | None,
    region: list[str] | None,
    username: list[str] | None,
) -> Query:
    """``--query`` and the condition flags, combined with AND."""
    from ..errors import InvalidRequestError
    from ..query import Q, as_query

    parts: list[Any] = []
    if query_json:
        text, source = _query_text(query_json)
        try:
            parts.append(as_query(text))
        except InvalidRequestError as e:
            raise InputError(f"{source}: {e.message}") from None
    for name, values in (
        ("hashtag_name", hashtag),
        ("keyword", keyword),
        ("region_code", region),
        ("username", username),
    ):
        if values:
            f = getattr(Q, name)
            parts.append(f.eq(values[0]) if len(values) == 1 else f.isin(values))
    if not parts:
        raise InputError(
            "no query: give --query, or at least one of --hashtag/--keyword/--region/--username"
        )
    expr = parts[0]
    for p in parts[1:]:
        expr = expr & p
    return as_query(expr)


def read_table(path: Path) -> pl.DataFrame:
    """A table the user names: a .parquet, .csv or .jsonl file or a dataset folder (a missing
    one is ``tr.io.read_table``'s MissingFileError, a ValueError: "no such file or folder")."""
    from .. import io as tio

    try:
        return tio.read_table(path)
    except ValueError as e:
        raise InputError(str(e)) from None
