"""Validation and cleaning of what users pass in: one rule per concept, and its one home.

Every layer that takes a day, a username, an id or a list of items from a user checks it here, so
that the planner, the client and the selection helpers can never disagree. Nothing in this module
sends a request or knows about the client; mistakes raise
:class:`~tiktok_research.errors.InvalidRequestError` naming the problem and the fix.

======================== =============================================================
concept                  functions
======================== =============================================================
days                     :func:`parse_date`, :func:`format_date`, :func:`check_day`,
                         :func:`parse_api_date`, :func:`check_range`
usernames                :func:`clean_usernames` (a list; refuses what is no handle) and
                         :func:`clean_usernames_expr` (the same rule as a polars
                         expression); :func:`stored_username_expr` (what the tables do to
                         the usernames the service sends: NULs go, nothing else)
ids                      :func:`clean_ids`; :func:`id_time` (the creation time an id
                         carries, ``id >> 32``) and :func:`has_id_time`
items (lists, columns)   :data:`ItemsLike`, :func:`read_items`, :func:`is_blank`
other arguments          :func:`check_fields`, :func:`check_max_total`, :func:`check_folder`,
                         :func:`check_flag`
======================== =============================================================
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, SupportsIndex, TypeAlias

import polars as pl

from ._endpoints import Endpoint
from .errors import InvalidRequestError, InvalidTypeError, warn_user

__all__ = [
    "API_DATE_FORMAT",
    "INT64_MAX",
    "NUL",
    "ArrayLike",
    "ArrowLike",
    "FrameLike",
    "Item",
    "ItemsLike",
    "TableLike",
    "check_day",
    "check_fields",
    "check_flag",
    "check_folder",
    "check_max_total",
    "check_no_nul",
    "check_range",
    "clean_ids",
    "clean_usernames",
    "clean_usernames_expr",
    "format_date",
    "has_id_time",
    "id_time",
    "is_blank",
    "parse_api_date",
    "parse_date",
    "read_items",
    "show",
    "stored_username_expr",
    "unique",
]


class ArrayLike(Protocol):
    """A numpy array or a pandas Series or Index: anything with ``tolist()``."""

    def tolist(self) -> object: ...


class ArrowLike(Protocol):
    """An Arrow array, chunked array or table: anything with ``to_pylist()``."""

    def to_pylist(self) -> object: ...


class FrameLike(Protocol):
    """A pandas table: its items are read from the usual column."""

    @property
    def columns(self) -> object: ...


#: One item of a fan-out: an id (int or its digits) or a name.
Item: TypeAlias = str | int
#: What ``fetch_*`` and ``plan_*`` accept as items: one item, a list of them, a polars, pandas or
#: Arrow Series or array, a numpy array, or a table (polars, pandas, Arrow) with the usual column
#: (``username``; ``video_id`` or ``id``...). Arrays and foreign tables are described by
#: protocols, so that the alias means the same with or without pandas' and pyarrow's stubs.
ItemsLike: TypeAlias = (
    Item
    | Iterable[Item]
    | pl.Series
    | pl.DataFrame
    | pl.LazyFrame
    | ArrayLike
    | ArrowLike
    | FrameLike
)
#: A table given as input (``refresh_videos``, ``dehydrate``): polars, pandas or Arrow.
TableLike: TypeAlias = pl.DataFrame | pl.LazyFrame | FrameLike | ArrowLike

# ------------------------------------------------------------------------------------- days

#: How the API writes a day (``start_date``, ``end_date``, ``create_date`` values).
API_DATE_FORMAT = "%Y%m%d"
_DATE_FORMATS = (API_DATE_FORMAT, "%Y-%m-%d")


def parse_date(value: object) -> date:
    """A day given as a date, a datetime (its UTC day), ``"YYYYMMDD"`` or ``"YYYY-MM-DD"``.

    Raises:
        InvalidRequestError: if the value is not a valid day.

    Example:
        >>> parse_date("2024-01-31"), parse_date("20240131")
        (datetime.date(2024, 1, 31), datetime.date(2024, 1, 31))
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise InvalidRequestError(
            f"{value!r} is not a date: use 'YYYYMMDD' (e.g. '20240131'), 'YYYY-MM-DD' "
            "or a datetime.date"
        )
    raise InvalidRequestError(f"{value!r} is not a date: pass a datetime.date or 'YYYYMMDD'")


def format_date(day: date) -> str:
    """``date`` -> ``"YYYYMMDD"``, the API's way of writing a day.

    Example:
        >>> format_date(date(2024, 3, 5))
        '20240305'
    """
    return day.strftime(API_DATE_FORMAT)


def parse_api_date(text: str, what: str) -> date:
    """A day written exactly as the API writes it (``YYYYMMDD``, e.g. a ``create_date`` value).

    Example:
        >>> parse_api_date("20240229", "create_date")
        datetime.date(2024, 2, 29)
    """
    if len(text) != 8 or not text.isdigit():
        raise InvalidRequestError(
            f"{what}: {text!r} is not a date in YYYYMMDD format (e.g. '20240131'); "
            "you may also pass a datetime.date"
        )
    try:
        return datetime.strptime(text, API_DATE_FORMAT).date()
    except ValueError:
        raise InvalidRequestError(f"{what}: {text!r} is not a valid calendar date") from None


def check_day(value: object, what: str) -> date:
    """A required day the API can be asked for (it must fit ``YYYYMMDD``); see :func:`parse_date`.

    Example:
        >>> check_day("2024-01-31", "end_date")
        datetime.date(2024, 1, 31)
    """
    if value is None:
        raise InvalidRequestError(f"{what} is required, e.g. '2024-01-31'")
    day = parse_date(value)
    if not 1000 <= day.year <= 9999:
        raise InvalidRequestError(
            f"{what} {day.isoformat()} cannot be written as the API's YYYYMMDD; give a day such "
            "as '2024-01-31'"
        )
    return day


def check_range(start: date, end: date) -> None:
    """Raise :class:`InvalidRequestError` if ``end`` is before ``start``."""
    if end < start:
        raise InvalidRequestError(
            f"the date range is reversed: start_date {start.isoformat()} is after end_date "
            f"{end.isoformat()}; swap them"
        )


# ---------------------------------------------------------------------------------- usernames

# A TikTok handle: letters, digits, "_" and "." (api-notes §8), lower-case. TikTok allows 24
# characters today; older accounts may have longer handles, so up to 50 are let through.
_HANDLE = re.compile(r"^[a-z0-9._]{1,50}$")
_PROFILE_URL = r"(?i)^(?:https?://)?(?:[a-z0-9-]+\.)*tiktok\.com/@([^/?#]*)"
#: The character the service leaves in some usernames, which breaks databases.
NUL = "\x00"


def clean_usernames_expr(expr: pl.Expr) -> pl.Expr:
    """The username rule, as a polars expression (never raises; nothing left gives null).

    NULs and surrounding spaces go, a profile address (``https://www.tiktok.com/@name/video/1``,
    ``vm.tiktok.com/@Name?lang=en``, with or without scheme) becomes its handle, a leading ``@``
    goes, and the handle is lower-cased (api-notes §8: handles are lower-case).
    :func:`clean_usernames` applies the same rule to a list and refuses what is not a handle.

    Example:
        >>> s = pl.Series(["@Some.One", "https://www.tiktok.com/@x_y?lang=en", " @ "])
        >>> s.to_frame("u").select(clean_usernames_expr(pl.col("u")))["u"].to_list()
        ['some.one', 'x_y', None]
    """
    text = expr.cast(pl.String).str.replace_all(NUL, "", literal=True).str.strip_chars()
    from_url = text.str.extract(_PROFILE_URL, 1)
    name = pl.when(from_url.is_not_null()).then(from_url).otherwise(text)
    cleaned = name.str.strip_chars().str.strip_chars_start("@").str.strip_chars().str.to_lowercase()
    return pl.when(cleaned != "").then(cleaned)


def clean_usernames(values: Iterable[object], *, what: str = "usernames") -> list[str]:
    """The username rule of :func:`clean_usernames_expr` on a list, refusing what is no handle.

    Example:
        >>> clean_usernames(["https://vm.tiktok.com/@Foo", "@bar"])
        ['foo', 'bar']

    Raises:
        InvalidRequestError: naming the values that cannot be usernames.
    """
    raw = list(values)
    blank = [v for v in raw if is_blank(v)]
    if blank:
        raise InvalidRequestError(
            f"{what}: {show(blank)} is empty; give a handle such as 'some_user'"
        )
    bad_type = [v for v in raw if not isinstance(v, str)]
    if bad_type:
        raise InvalidRequestError(
            f"{what} must be text, got {show(bad_type)}; pass handles such as 'some_user', "
            "'@some_user' or a profile address"
        )
    if not raw:
        return []
    frame = pl.Series("u", raw, dtype=pl.String).to_frame()
    out: list[str | None] = frame.select(clean_usernames_expr(pl.col("u"))).to_series().to_list()
    bad = [orig for orig, name in zip(raw, out, strict=True) if not _HANDLE.match(name or "")]
    if bad:
        hint = (
            " Short links (vm.tiktok.com/XXXX) cannot be resolved offline: open one in a "
            "browser and use the @handle it shows."
            if any("tiktok.com/" in str(b) and "@" not in str(b) for b in bad)
            else ""
        )
        raise InvalidRequestError(
            f"{len(bad)} of the {what} cannot be TikTok handles: {show(bad)}. A handle has "
            "1 to 50 letters, digits, '_' or '.', like 'some_user' (an '@' or a profile address "
            f"around it is fine).{hint} Nothing was sent."
        )
    return [name for name in out if name is not None]


def stored_username_expr(expr: pl.Expr) -> pl.Expr:
    """A username the service sent, as the tables store it: without NULs, otherwise verbatim.

    The service's text is kept (the archive keeps it byte for byte); only the NUL characters that
    some answers carry go, because they break databases. ``tiktok_research.spark`` applies the
    same rule to Spark columns.
    """
    return expr.str.replace_all(NUL, "", literal=True)


# --------------------------------------------------------------------------------------- ids

INT64_MAX = 2**63 - 1
#: No TikTok id was made before 2016: an id whose time (``id >> 32``) is earlier carries none.
_TIKTOK_START = int(datetime(2016, 1, 1, tzinfo=UTC).timestamp())
_TEN_YEARS = 86400 * 3650


#: Text that a float printed: ``7342411892341790714.0``, ``7.342411892341791e+18``.
_FLOAT_TEXT = re.compile(r"[0-9]+\.[0-9]*|[0-9]*\.?[0-9]+[eE][+-]?[0-9]+")


def _clean_id(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise InvalidRequestError(f"{what}: {value!r} is not an id")
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        raise InvalidRequestError(
            f"{what}: {value!r} is a float, which cannot hold a 19-digit id exactly (it may "
            "already have lost digits). Pass ids as int or text: read them with "
            "dtype=str / Int64, never float."
        )
    number: int | None = None
    if isinstance(value, SupportsIndex):  # int, numpy's integers
        number = operator.index(value)
    elif isinstance(value, Decimal) and value == value.to_integral_value():
        number = int(value)
    elif isinstance(value, (str, bytes)):
        text = value.decode() if isinstance(value, bytes) else value
        text = text.strip().replace(NUL, "")
        if text.isascii() and text.isdigit():
            number = int(text)
        elif _FLOAT_TEXT.fullmatch(text):
            raise InvalidRequestError(
                f"{what}: {text!r} is not an id but a float's text: it went through a float (a "
                "spreadsheet, pandas' default CSV reader) and may already have lost digits, "
                "since a float cannot hold a 19-digit id exactly. Read the ids as text "
                "(dtype=str / Int64, never float), or take them from the package's own output"
            )
    if number is None:
        raise InvalidRequestError(
            f"{what}: {show([value])} is not an id; ids are positive whole numbers such as "
            "7320768196569599275 (as int or text)"
        )
    if not 0 < number <= INT64_MAX:
        raise InvalidRequestError(
            f"{what}: {number} is not a valid id (ids are between 1 and {INT64_MAX:,}); "
            "nothing was sent"
        )
    return number


def clean_ids(values: Iterable[object], *, what: str = "ids") -> list[int]:
    """Ids as exact Python ints, refusing floats, negative numbers and values beyond int64.

    Example:
        >>> clean_ids(["7320768196569599275", 42])
        [7320768196569599275, 42]
    """
    return [_clean_id(v, what) for v in values]


def id_time(video_id: int) -> int:
    """The creation time (unix seconds, UTC) a TikTok id carries: its upper 32 bits (api-notes §8).

    Example:
        >>> datetime.fromtimestamp(id_time(7320768196569599275), UTC).date()
        datetime.date(2024, 1, 5)
    """
    return video_id >> 32


def has_id_time(video_id: int, now: float) -> bool:
    """True when :func:`id_time` of ``video_id`` is a plausible creation time (2016 to ``now``
    plus ten years: clocks drift, ids are not made in the future)."""
    return _TIKTOK_START <= id_time(video_id) <= now + _TEN_YEARS


# ------------------------------------------------------------------------------------- items


def is_blank(value: object) -> bool:
    """None, NaN (any float kind), pandas' NA/NaT, or empty text."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, (str, bytes)) and not value.strip():
        return True
    kind = type(value).__name__
    return kind in ("NAType", "NaTType") or (kind.startswith("float") and value != value)


def plural(count: int, one: str, many: str) -> str:
    """The words that agree with ``count`` in a message: ``one`` when it is 1, else ``many``.

    Example:
        >>> n = 1
        >>> f"{n:,} of the 152 ids {plural(n, 'was', 'were')} not found"
        '1 of the 152 ids was not found'
    """
    return one if count == 1 else many


def show(values: Sequence[object], n: int = 3) -> str:
    """Up to ``n`` values for a message (long ones shortened), and how many more there are."""
    shown = []
    for v in values[:n]:
        text = repr(v)
        shown.append(text if len(text) <= 60 else text[:57] + "...'")
    more = f" and {len(values) - n} more" if len(values) > n else ""
    return ", ".join(shown) + more


def unique(values: Iterable[Any]) -> list[Any]:
    """The values without repeats, in their first order."""
    return list(dict.fromkeys(values))


def _column_values(frame: Any, columns: Sequence[str], what: str, kind: str) -> list[object]:
    names = [str(c) for c in (frame.column_names if kind == "arrow" else frame.columns)]
    for col in columns:
        if col in names:
            if kind == "polars":
                values: list[object] = frame.get_column(col).to_list()
                return values
            if kind == "arrow":
                return list(frame.column(col).to_pylist())
            return list(frame[col].tolist())
    raise InvalidRequestError(
        f"{what}: the table has none of the columns {', '.join(map(repr, columns))} "
        f"(it has {', '.join(names[:12])}{', ...' if len(names) > 12 else ''}); pass the column "
        f"itself, e.g. df[{columns[0]!r}]"
    )


def read_items(values: object, columns: Sequence[str], what: str, func: str) -> list[object]:
    """The items of whatever the user passed (see :data:`ItemsLike`), blanks dropped with one
    warning.

    Args:
        values: The items, or a table holding them.
        columns: Columns of a table the items are taken from, in order of preference.
        what: How the items are called in messages (``"usernames"``).
        func: The function named in messages.

    Example:
        >>> read_items(pl.DataFrame({"video_id": [7, 8]}), ("video_id", "id"), "ids", "f")
        [7, 8]
    """
    module = type(values).__module__.split(".")[0]
    if values is None:
        raise InvalidRequestError(
            f"{func} needs {what}; got None. Pass a list, a Series or a table with a "
            f"{columns[0]!r} column"
        )
    items: list[object]
    if isinstance(values, (str, bytes, int)) and not isinstance(values, bool):
        items = [values]
    elif isinstance(values, dict):
        raise InvalidRequestError(f"{func}: pass {what} as a list, a Series or a table, not a dict")
    elif isinstance(values, pl.LazyFrame):
        items = _column_values(values.collect(), columns, what, "polars")
    elif isinstance(values, pl.DataFrame):
        items = _column_values(values, columns, what, "polars")
    elif isinstance(values, pl.Series):
        items = values.to_list()
    elif module == "pandas" and hasattr(values, "columns"):
        items = _column_values(values, columns, what, "pandas")
    elif module == "pyarrow" and hasattr(values, "column_names"):
        items = _column_values(values, columns, what, "arrow")
    elif module == "pyarrow" and hasattr(values, "to_pylist"):  # an Arrow (chunked) array
        items = list(values.to_pylist())
    elif module in ("pandas", "numpy") and hasattr(values, "tolist"):  # a Series, an array
        items = list(values.tolist())
    elif isinstance(values, Iterable):
        items = list(values)
    else:
        raise InvalidRequestError(
            f"{func}: cannot read {what} from {type(values).__name__}; pass a list, a Series "
            "or a table"
        )
    kept = [v for v in items if not is_blank(v)]
    if len(kept) < len(items):
        warn_user(
            f"{func}: dropped {len(items) - len(kept)} blank item(s) (None, NaN or empty text) "
            f"of the {len(items)} {what} given",
            UserWarning,
        )
    if not kept:
        raise InvalidRequestError(f"{func}: no {what} to collect (the input is empty)")
    return kept


# --------------------------------------------------------------------------- other arguments


def check_fields(ep: Endpoint, fields: object) -> list[str] | None:
    """The fields to ask for (all by default), every name checked; None for fieldless endpoints.

    Raises:
        InvalidRequestError: not a list of names, empty, or an unknown name (with a suggestion).
    """
    if fields is None:
        return None if ep.fields_in == "none" else list(ep.fields)
    if isinstance(fields, str):
        names = [f.strip() for f in fields.split(",")]
    elif isinstance(fields, Iterable) and not isinstance(fields, (bytes, dict)):
        given = list(fields)
        if not all(isinstance(n, str) for n in given):
            raise InvalidRequestError(
                f"{ep.name}: fields must be names (text), got {show(given)}", endpoint=ep.name
            )
        names = [str(n).strip() for n in given]
    else:
        raise InvalidRequestError(
            f"{ep.name}: fields must be a list of names or a comma-separated text such as "
            f"'id,like_count', got {fields!r}",
            endpoint=ep.name,
        )
    names = [n for n in names if n]
    if ep.fields_in == "none":
        if names and names != list(ep.fields):
            raise InvalidRequestError(
                f"{ep.name} has no fields parameter; it always returns {', '.join(ep.fields)}",
                endpoint=ep.name,
            )
        return None
    if not names:
        raise InvalidRequestError(f"{ep.name}: fields is empty", endpoint=ep.name)
    for n in names:
        if n not in ep.fields:
            close = difflib.get_close_matches(n, ep.fields, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InvalidRequestError(
                f"{ep.name}: unknown field {n!r}.{hint} Fields: {', '.join(ep.fields)}",
                endpoint=ep.name,
            )
    return list(dict.fromkeys(names))


def check_max_total(max_total: object) -> int | None:
    """``max_total``: None or a whole number >= 0."""
    if max_total is None:
        return None
    if isinstance(max_total, bool) or not isinstance(max_total, int) or max_total < 0:
        raise InvalidRequestError(
            f"max_total must be a whole number of rows (0 or more) or None, got {max_total!r}"
        )
    return max_total


def check_flag(value: object, what: str) -> bool:
    """An option that must be True or False (``is_random``, ``resume``...)."""
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{what} must be True or False, got {value!r}")
    return value


def check_top(value: object, what: str = "top") -> int | None:
    """A number of rows to keep: None or a whole number >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequestError(f"{what} must be a whole number (0 or more), got {value!r}")
    return value


def check_positive(value: object, what: str, *, optional: bool = False) -> float | None:
    """A number of seconds or a rate: a finite number > 0 (or None when ``optional``)."""
    if value is None and optional:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        also = " or None" if optional else ""
        raise InvalidRequestError(f"{what} must be a number greater than 0{also}, got {value!r}")
    return float(value)


def check_base_url(value: str) -> str:
    """A service root: ``http://`` or ``https://`` and a host (refused at once, not after the
    retries of a first request that cannot be sent)."""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequestError(
            f"base_url must start with http:// or https:// and name a host, got {value!r} "
            "(e.g. https://open.tiktokapis.com, or http://127.0.0.1:8000 for sandbox serve)"
        )
    return value


def check_frame(value: object, what: str, *, lazy: bool = True) -> None:
    """A polars DataFrame (a FetchResult is one), or a LazyFrame when ``lazy``.

    Raises:
        InvalidTypeError: naming what was given.
    """
    kinds = (pl.DataFrame, pl.LazyFrame) if lazy else (pl.DataFrame,)
    if not isinstance(value, kinds):
        names = "a polars DataFrame or LazyFrame" if lazy else "a polars DataFrame"
        raise InvalidTypeError(
            f"{what} must be {names} (a table the package returned or read), "
            f"got {type(value).__name__}"
        )


def check_no_nul(value: object, what: str) -> None:
    """A path without a NUL character (no file system allows one; Python's own error for it is
    a bare ``ValueError: embedded null byte``)."""
    if "\0" in str(value):
        raise InvalidRequestError(
            f"{what} contains a NUL character, which no file system allows in a path: {value!r}"
        )


def check_folder(value: object, what: str) -> Path | None:
    """An ``archive=`` / ``dataset=`` folder: None, or a path that is not a file."""
    if value is None:
        return None
    if not isinstance(value, (str, Path)) or (isinstance(value, str) and not value.strip()):
        raise InvalidRequestError(f"{what} must be a folder path, got {value!r}")
    check_no_nul(value, what)
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise InvalidRequestError(
            f"{what}={str(path)!r} is a file; pass a folder (created if missing)"
        )
    return path
