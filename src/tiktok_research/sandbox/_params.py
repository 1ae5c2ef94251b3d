"""Request-parameter parsing shared by the sandbox's endpoints: errors, integers, dates, fields."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

_DIGITS = re.compile(r"^-?\d+$")
_DATE = re.compile(r"^\d{8}$")


class ApiError(Exception):
    """An answer other than ``ok``: HTTP status, ``error.code`` and ``error.message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def invalid(message: str) -> ApiError:
    """A 400 ``invalid_params`` error."""
    return ApiError(400, "invalid_params", message)


def as_int(
    body: Mapping[str, Any],
    key: str,
    *,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    required: bool = False,
) -> int | None:
    """Read an integer body key; numeric strings are accepted (api-notes §11)."""
    value = body.get(key)
    if value is None:
        if required:
            raise invalid(f"{key} is required")
        return default
    if isinstance(value, bool):
        raise invalid(f"{key} must be an integer, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _DIGITS.match(value.strip()):
        number = int(value.strip())
    else:
        raise invalid(f"{key} must be an integer, got {value!r}")
    if not -(2**63) <= number < 2**63:
        raise invalid(f"{key} must fit in a signed 64-bit integer, got {number}")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        low = "" if minimum is None else f"at least {minimum}"
        high = "" if maximum is None else f"at most {maximum}"
        bounds = " and ".join(x for x in (low, high) if x)
        raise invalid(f"{key} must be {bounds}, got {number}")
    return number


def as_str(body: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    """Read a non-empty string body key (numbers are accepted and turned into strings)."""
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid(f"{key} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise invalid(f"{key} must be a string, got {value!r}")
    return str(value).strip()


def as_bool(body: Mapping[str, Any], key: str) -> bool:
    """Read an optional boolean (``true``/``false`` strings accepted)."""
    value = body.get(key)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise invalid(f"{key} must be true or false, got {value!r}")


def parse_date(value: Any, key: str) -> dt.date:
    """A ``YYYYMMDD`` date (string or integer) or a 400 naming the key and the value."""
    if value is None or value == "":
        raise invalid(f"{key} is required (a date written YYYYMMDD, e.g. 20240131)")
    text = str(value).strip()
    if isinstance(value, bool) or not _DATE.match(text):
        raise invalid(f"{key} must be a date written YYYYMMDD (e.g. 20240131), got {value!r}")
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise invalid(f"{key} {text} is not a valid calendar date") from None


def suggestion(name: str, allowed: Sequence[str]) -> str:
    """`` Did you mean X?`` for a near miss, else an empty string."""
    if name == "favourites_count" and "favorites_count" in allowed:
        return " Did you mean favorites_count?"
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.75)
    return f" Did you mean {close[0]}?" if close else ""


def parse_fields(raw: Any, allowed: Sequence[str], *, required: bool) -> list[str]:
    """Split a ``fields`` value (comma-separated, spaces trimmed) and check every name."""
    if isinstance(raw, list):
        names = [str(x).strip() for x in raw]
    elif raw is None:
        names = []
    else:
        names = [part.strip() for part in str(raw).split(",")]
    names = [n for n in names if n]
    if not names:
        if required:
            raise invalid(
                "fields is required: pass it in the query string, e.g. ?fields="
                + ",".join(allowed[:4])
            )
        return list(allowed)
    unknown = [n for n in names if n not in allowed]
    if unknown:
        hint = suggestion(unknown[0], allowed)
        raise invalid(
            f"Invalid field name(s): {', '.join(unknown)}.{hint} Valid fields: {', '.join(allowed)}"
        )
    seen: dict[str, None] = dict.fromkeys(names)
    return list(seen)
