"""The query language of the video query (api-notes §4), checked locally before a request is spent.

Three equivalent ways to write a query:

1. the builder ``Q``::

       Q.hashtag_name.eq("climate") & Q.region_code.isin(["US", "CA"]) & ~Q.video_length.eq("SHORT")

2. the official wrapper's names::

       Query(and_criteria=[Criteria("EQ", "hashtag_name", ["climate"]),
                           Criteria("IN", "region_code", ["US", "CA"])],
             not_criteria=[Criteria("EQ", "video_length", ["SHORT"])])

3. the raw dict or JSON the API takes::

       {"and": [{"operation": "EQ", "field_name": "hashtag_name", "field_values": ["climate"]}]}

:func:`as_query` turns any of them into a :class:`Query`, the same for all three:

    >>> from tiktok_research.query import Criteria, Q, Query, as_query
    >>> built = Q.hashtag_name.eq("climate") & Q.region_code.isin(["US", "CA"])
    >>> built = built & ~Q.video_length.eq("SHORT")
    >>> wrapper = Query(and_criteria=[Criteria("EQ", "hashtag_name", ["climate"]),
    ...                               Criteria("IN", "region_code", ["US", "CA"])],
    ...                 not_criteria=[Criteria("EQ", "video_length", ["SHORT"])])
    >>> raw = as_query(built).to_dict()
    >>> raw["not"]
    [{'operation': 'EQ', 'field_name': 'video_length', 'field_values': ['SHORT']}]
    >>> as_query(built) == as_query(wrapper) == as_query(raw)
    True

The API's query is *flat*: one list of
conditions that must all hold (``and``), one list of which at least one must hold (``or``) and one
list of which none may hold (``not``). A builder expression that cannot be written in that shape
(e.g. an OR of ANDs, or two different OR groups) raises :class:`InvalidRequestError` saying so.

Every condition is checked on construction: field names, operations, region codes (``UK`` ->
``GB``), value formats (``YYYYMMDD`` dates, video length classes, digits for ids and counts) and the
number of values (``EQ``, ``GT``... take exactly one). The errors say what is wrong and how to fix
it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from ._checks import format_date, parse_api_date, parse_date
from ._endpoints import CONDITION_FIELDS, OPERATIONS, REGION_CODES, VIDEO_LENGTHS
from .errors import InvalidRequestError, InvalidTypeError

__all__ = ["Criteria", "Q", "Query", "QueryLike", "as_query"]

RANGE_OPERATIONS = ("GT", "GTE", "LT", "LTE")
SINGLE_VALUE_OPERATIONS = ("EQ", *RANGE_OPERATIONS)
DIGIT_FIELDS = ("video_id", "music_id", "effect_id", "view_count", "comment_count")
# Fields whose values are names or classes: a range (GT, LT...) on them means nothing.
TEXT_FIELDS = ("username", "region_code", "hashtag_name", "keyword", "video_length")

_FIELD_ALIASES = {
    "hashtag": "hashtag_name",
    "hashtags": "hashtag_name",
    "hashtag_names": "hashtag_name",
    "region": "region_code",
    "country": "region_code",
    "create_time": "create_date",
    "date": "create_date",
    "id": "video_id",
    "text": "keyword",
    "video_description": "keyword",
    "description": "keyword",
    "user": "username",
    "duration": "video_length",
    "video_duration": "video_length",
    "effect_ids": "effect_id",
    "views": "view_count",
    "comments": "comment_count",
}
_OPERATION_HINTS = {
    "NE": "there is no NE: put an EQ condition in not_criteria (builder: ~Q.field.eq(value))",
    "NEQ": "there is no NEQ: put an EQ condition in not_criteria (builder: ~Q.field.eq(value))",
    "NOT": "NOT is a group, not an operation: use not_criteria (builder: ~condition)",
    "BETWEEN": "use GTE and LTE conditions (builder: Q.field.between(low, high))",
    "LIKE": "keyword EQ already matches approximately (fuzzy); use Q.keyword.eq(...)",
    "CONTAINS": "keyword EQ already matches approximately (fuzzy); use Q.keyword.eq(...)",
    "OR": "OR is a group, not an operation: use or_criteria (builder: a | b)",
    "AND": "AND is a group, not an operation: use and_criteria (builder: a & b)",
    "GE": "did you mean 'GTE'?",
    "LE": "did you mean 'LTE'?",
    "=": "did you mean 'EQ'?",
    "==": "did you mean 'EQ'?",
    ">": "did you mean 'GT'?",
    "<": "did you mean 'LT'?",
    ">=": "did you mean 'GTE'?",
    "<=": "did you mean 'LTE'?",
}
#: A value of a condition: text, an int (ids and counts) or a date (``create_date``).
Value: TypeAlias = str | int | date

_REGION_ALIASES = {"UK": "GB", "EN": "GB", "USA": "US", "EL": "GR", "ENG": "GB", "GER": "DE"}
_LENGTH_ALIASES = {"MEDIUM": "MID", "MIDDLE": "MID", "XL": "EXTRA_LONG", "EXTRALONG": "EXTRA_LONG"}


def _bad(message: str) -> InvalidRequestError:
    return InvalidRequestError(message)


def _suggest(word: str, choices: Iterable[str], aliases: dict[str, str] | None = None) -> str:
    options = list(choices)
    if aliases and word.lower() in aliases:
        return f" Did you mean {aliases[word.lower()]!r}?"
    if aliases and word.upper() in aliases:
        return f" Did you mean {aliases[word.upper()]!r}?"
    close = difflib.get_close_matches(word, options, n=2, cutoff=0.6)
    if close:
        return " Did you mean " + " or ".join(repr(c) for c in close) + "?"
    return ""


def check_field_name(name: object) -> str:
    """Return ``name`` if it is a condition field, else raise with a suggestion."""
    if not isinstance(name, str) or name not in CONDITION_FIELDS:
        hint = _suggest(str(name), CONDITION_FIELDS, _FIELD_ALIASES)
        raise _bad(
            f"unknown query field {name!r}.{hint} Query fields are: {', '.join(CONDITION_FIELDS)}."
        )
    return name


def _check_operation(operation: object) -> str:
    if not isinstance(operation, str):
        raise _bad(f"operation must be a string such as 'EQ' or 'IN', got {operation!r}")
    op = operation.strip().upper()
    if op not in OPERATIONS:
        hint = _OPERATION_HINTS.get(op) or _suggest(op, OPERATIONS).strip()
        raise _bad(
            f"unknown operation {operation!r}"
            + (f": {hint}" if hint else "")
            + f". Operations are: {', '.join(OPERATIONS)}."
        )
    return op


def _value_to_str(field: str, value: object) -> str:
    if isinstance(value, bool):
        raise _bad(f"{field}: {value!r} is a boolean; values are strings such as '20240101'")
    if isinstance(value, float):
        raise _bad(
            f"{field}: {value!r} is a float; pass ids and counts as int or str "
            "(a float cannot hold a 19-digit id exactly)"
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):  # a datetime too: its UTC day, as for start_date and end_date
        return format_date(parse_date(value))
    if isinstance(value, str):
        return value
    raise _bad(f"{field}: values must be strings (or ints for ids), got {type(value).__name__}")


#: The longest value a condition takes. TikTok caps descriptions at a few thousand characters and
#: hashtags and usernames far below; the API documents no limit, so this only catches mistakes
#: (a pasted text, a whole file) before they cost a request.
MAX_VALUE_LENGTH = 500


def _check_value(field: str, value: str) -> None:
    if value == "":
        raise _bad(f"{field}: empty string value; remove it or give a value")
    if len(value) > MAX_VALUE_LENGTH:
        raise _bad(
            f"{field}: a value of {len(value):,} characters ({value[:30]!r}...) is too long "
            f"(at most {MAX_VALUE_LENGTH}); give the word, hashtag or id itself"
        )
    if field == "region_code":
        if value not in REGION_CODES:
            up = value.upper()
            if up in REGION_CODES:
                hint = f" Did you mean {up!r}? Region codes are upper case."
            elif up in _REGION_ALIASES:
                hint = f" Did you mean {_REGION_ALIASES[up]!r}? (ISO 3166 code)"
            else:
                hint = _suggest(up, sorted(REGION_CODES))
            raise _bad(
                f"region_code: {value!r} is not a region code the API knows.{hint} "
                "Region codes are two-letter ISO 3166 codes such as 'US', 'GB', 'DE'."
            )
    elif field == "create_date":
        parse_api_date(value, "create_date")
    elif field == "video_length":
        if value not in VIDEO_LENGTHS:
            up = value.upper()
            hint = ""
            if up in VIDEO_LENGTHS:
                hint = f" Did you mean {up!r}?"
            elif up in _LENGTH_ALIASES:
                hint = f" Did you mean {_LENGTH_ALIASES[up]!r}?"
            raise _bad(
                f"video_length: {value!r} is not a length class.{hint} Use one of "
                "SHORT (<15 s), MID (15-60 s), LONG (1-5 min), EXTRA_LONG (>5 min)."
            )
    elif field in DIGIT_FIELDS:
        if not value.isdigit() or not value.isascii():
            raise _bad(f"{field}: {value!r} must contain digits only (e.g. '7320768196569599275')")
    elif field == "hashtag_name":
        if value.startswith("#"):
            raise _bad(f"hashtag_name: write {value[1:]!r} without the '#'")
        if any(ch.isspace() for ch in value):
            raise _bad(f"hashtag_name: {value!r} contains a space; hashtags are single words")
    elif field == "username" and value.startswith("@"):
        raise _bad(f"username: write {value[1:]!r} without the '@'")


@dataclass(frozen=True, init=False, eq=True, repr=False)
class _Expr:
    """A builder expression: combine with ``&`` (and), ``|`` (or) and ``~`` (not)."""

    def __and__(self, other: _Expr) -> _Expr:
        _check_expr(other)
        return _And((self, other))

    def __or__(self, other: _Expr) -> _Expr:
        _check_expr(other)
        return _Or((self, other))

    def __invert__(self) -> _Expr:
        return _Not(self)

    def __bool__(self) -> bool:
        raise InvalidTypeError(
            "query expressions cannot be used with 'and'/'or'/'not' or in if-statements; "
            "combine them with &, | and ~"
        )

    def to_query(self) -> Query:
        """Flatten this expression into the API's and/or/not lists."""
        return _flatten(self)


def _check_expr(other: object) -> None:
    if not isinstance(other, _Expr):
        raise InvalidTypeError(
            f"cannot combine a query with {type(other).__name__}; use Q.<field>..."
        )


@dataclass(frozen=True, repr=False, eq=True)
class _And(_Expr):
    items: tuple[_Expr, ...]

    def __repr__(self) -> str:
        return "(" + " & ".join(map(repr, self.items)) + ")"


@dataclass(frozen=True, repr=False, eq=True)
class _Or(_Expr):
    items: tuple[_Expr, ...]

    def __repr__(self) -> str:
        return "(" + " | ".join(map(repr, self.items)) + ")"


@dataclass(frozen=True, repr=False, eq=True)
class _Not(_Expr):
    item: _Expr

    def __repr__(self) -> str:
        return f"~{self.item!r}"


@dataclass(frozen=True, init=False, repr=False, eq=True)
class Criteria(_Expr):
    """One condition: ``Criteria(operation, field_name, field_values)`` (official wrapper names).

    Args:
        operation: ``EQ``, ``IN``, ``GT``, ``GTE``, ``LT`` or ``LTE`` (case-insensitive).
        field_name: One of the query fields (``hashtag_name``, ``region_code``, ...).
        field_values: A list of strings (ints are accepted for ids and counts, dates for
            ``create_date``); a single string is taken as a one-element list.

    Raises:
        InvalidRequestError: if anything is wrong, with a hint on how to fix it.

    Example:
        >>> Criteria("IN", "region_code", ["US", "CA"]).to_dict()["field_values"]
        ['US', 'CA']
    """

    operation: str
    field_name: str
    field_values: tuple[str, ...]

    def __init__(
        self, operation: str, field_name: str, field_values: Value | Sequence[Value]
    ) -> None:
        self._check_and_set(operation, field_name, field_values)

    def _check_and_set(self, operation: object, field_name: object, field_values: object) -> None:
        field = check_field_name(field_name)
        op = _check_operation(operation)
        if isinstance(field_values, (str, int, date)) and not isinstance(field_values, bool):
            field_values = [field_values]
        if not isinstance(field_values, (list, tuple)):
            raise _bad(f"{field}: field_values must be a list of strings, got {field_values!r}")
        values = tuple(_value_to_str(field, v) for v in field_values)
        if not values:
            raise _bad(f"{field}: field_values is empty; give at least one value")
        if op in SINGLE_VALUE_OPERATIONS and len(values) != 1:
            raise _bad(
                f"{field}: {op} takes exactly one value but got {len(values)} ({list(values)!r}). "
                f"Use IN for several values: Criteria('IN', {field!r}, {list(values)!r}) "
                f"or Q.{field}.isin({list(values)!r})."
            )
        if op in RANGE_OPERATIONS and field in TEXT_FIELDS:
            raise _bad(
                f"{field}: {op} compares numbers or dates; use EQ or IN for {field}. "
                "Range operations work on create_date, view_count, comment_count and ids."
            )
        for v in values:
            _check_value(field, v)
        object.__setattr__(self, "operation", op)
        object.__setattr__(self, "field_name", field)
        object.__setattr__(self, "field_values", values)

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON form of this condition."""
        return {
            "operation": self.operation,
            "field_name": self.field_name,
            "field_values": list(self.field_values),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object] | Criteria) -> Criteria:
        """Build a condition from its JSON form, checking the keys."""
        if isinstance(d, Criteria):
            return d
        if not isinstance(d, dict):
            raise _bad(
                "a condition must be a dict with keys operation, field_name, field_values; "
                f"got {d!r}"
            )
        keys = {"operation", "field_name", "field_values"}
        unknown = set(d) - keys
        if unknown:
            name = sorted(unknown)[0]
            raise _bad(
                f"unknown key {name!r} in condition {d!r}.{_suggest(name, keys)} "
                "A condition has exactly: operation, field_name, field_values."
            )
        missing = keys - set(d)
        if missing:
            raise _bad(f"condition {d!r} lacks {', '.join(sorted(missing))}")
        condition = cls.__new__(cls)
        condition._check_and_set(d["operation"], d["field_name"], d["field_values"])
        return condition

    def _text(self) -> str:
        vals = ", ".join(json.dumps(v, ensure_ascii=False) for v in self.field_values)
        sym = {"EQ": "=", "GT": ">", "GTE": ">=", "LT": "<", "LTE": "<="}.get(self.operation)
        if sym:
            return f"{self.field_name} {sym} {vals}"
        return f"{self.field_name} IN ({vals})"

    def __repr__(self) -> str:
        return f"Criteria({self.operation!r}, {self.field_name!r}, {list(self.field_values)!r})"

    def __str__(self) -> str:
        return self._text()


# What ``Q.<field> == x`` is refused for: the values a condition takes, and lists of them.
_CONDITION_VALUES = (str, int, date, list, tuple, set, frozenset)


class _Field:
    """``Q.<field>``: builds conditions on one query field."""

    def __init__(self, name: str) -> None:
        self.name = check_field_name(name)

    def eq(self, value: Value) -> Criteria:
        """``field = value``."""
        return Criteria("EQ", self.name, [value])

    def ne(self, value: Value) -> _Expr:
        """``field != value`` (a NOT condition)."""
        return ~self.eq(value)

    def isin(self, values: Sequence[Value]) -> Criteria:
        """``field IN values`` (at least one of them)."""
        if isinstance(values, str):
            values = [values]
        return Criteria("IN", self.name, list(values))

    in_ = isin

    def gt(self, value: Value) -> Criteria:
        """``field > value``."""
        return Criteria("GT", self.name, [value])

    def gte(self, value: Value) -> Criteria:
        """``field >= value``."""
        return Criteria("GTE", self.name, [value])

    def lt(self, value: Value) -> Criteria:
        """``field < value``."""
        return Criteria("LT", self.name, [value])

    def lte(self, value: Value) -> Criteria:
        """``field <= value``."""
        return Criteria("LTE", self.name, [value])

    def between(self, low: Value, high: Value) -> _Expr:
        """``low <= field <= high`` (two conditions). Raises if the range is reversed."""
        lo, hi = self.gte(low), self.lte(high)
        a, b = lo.field_values[0], hi.field_values[0]
        if (self.name == "create_date" or self.name in DIGIT_FIELDS) and int(a) > int(b):
            raise _bad(
                f"{self.name}: the range is reversed ({a} > {b}); "
                f"write Q.{self.name}.between({b!r}, {a!r})"
            )
        return lo & hi

    def __repr__(self) -> str:
        return f"Q.{self.name}"

    def _not_a_condition(self, spelt: str, method: str, value: object) -> InvalidTypeError:
        """The error of a Python operator used on a field, naming the method that builds it."""
        several = (
            f"; for one of several values, tr.Q.{self.name}.isin([...])" if method == "eq" else ""
        )
        return InvalidTypeError(
            f"{spelt} is a Python operator, not a query condition; write "
            f"tr.Q.{self.name}.{method}({value!r}){several}. "
            "Combine conditions with & (and), | (or) and ~ (not)"
        )

    # Python's operators on a field would give a plain True/False (``==``, ``!=``, ``in [...]``),
    # later refused as "cannot use bool as a query", or a bare TypeError (``<``, ``in``). Each
    # raises at once instead, naming the method. Only a condition value (text, number, date or a
    # list of them) raises: compared with anything else (None, another field, any object) a
    # field keeps Python's identity equality and its hash, so libraries that look fields up in
    # lists, sets or dicts, or compare them with a sentinel, work as before. Hidden from type
    # checkers, which then still flag ``Q.view_count < 5`` as an unsupported operation.
    if not TYPE_CHECKING:

        def __eq__(self, other: object) -> bool:
            if isinstance(other, _CONDITION_VALUES):
                several = f"{other!r}" if isinstance(other, (list, tuple, set, frozenset)) else ""
                if several:  # ``Q.f == ["a", "b"]``: that is IN
                    raise self._not_a_condition(f"Q.{self.name} == {several}", "isin", other)
                raise self._not_a_condition(
                    f"Q.{self.name} == {other!r} (or `Q.{self.name} in [...]`)", "eq", other
                )
            return NotImplemented

        def __ne__(self, other: object) -> bool:
            if isinstance(other, _CONDITION_VALUES):
                raise self._not_a_condition(f"Q.{self.name} != {other!r}", "ne", other)
            return NotImplemented

        __hash__ = object.__hash__

        def __lt__(self, other: object) -> bool:
            raise self._not_a_condition(f"Q.{self.name} < {other!r}", "lt", other)

        def __le__(self, other: object) -> bool:
            raise self._not_a_condition(f"Q.{self.name} <= {other!r}", "lte", other)

        def __gt__(self, other: object) -> bool:
            raise self._not_a_condition(f"Q.{self.name} > {other!r}", "gt", other)

        def __ge__(self, other: object) -> bool:
            raise self._not_a_condition(f"Q.{self.name} >= {other!r}", "gte", other)

        def __contains__(self, item: object) -> bool:
            raise self._not_a_condition(f"{item!r} in Q.{self.name}", "eq", item)


class _QBuilder:
    """Entry point of the builder: ``Q.<field>.<operation>(...)``.

    Every query field is a declared attribute, so that editors complete ``Q.`` and type checkers
    flag a misspelt field (``Q.hashtg_name``); at run time a misspelt field raises
    :class:`InvalidRequestError` with a suggestion.

    Example:
        >>> q = Q.hashtag_name.eq("climate") & Q.region_code.isin(["US", "CA"])
        >>> q.to_query().to_dict()["and"][0]["field_values"]
        ['climate']
    """

    fields = CONDITION_FIELDS

    # One attribute per field of _endpoints.CONDITION_FIELDS (tests/test_query_language.py keeps
    # them in step).
    create_date: _Field
    username: _Field
    region_code: _Field
    video_id: _Field
    hashtag_name: _Field
    keyword: _Field
    music_id: _Field
    effect_id: _Field
    video_length: _Field
    view_count: _Field
    comment_count: _Field

    def __init__(self) -> None:
        for name in CONDITION_FIELDS:
            setattr(self, name, _Field(name))

    if not TYPE_CHECKING:  # type checkers see only the declared fields above

        def __getattr__(self, name: str) -> _Field:
            if name.startswith("_"):
                raise AttributeError(name)
            return _Field(name)  # an unknown field: raises with a suggestion

    def __call__(self, name: str) -> _Field:
        return _Field(name)

    def __dir__(self) -> list[str]:
        return list(CONDITION_FIELDS)

    def __repr__(self) -> str:
        return f"Q (fields: {', '.join(CONDITION_FIELDS)})"


#: The query builder: ``Q.<field>.<operation>(...)`` is one condition (``eq``, ``ne``, ``isin``,
#: ``gt``, ``gte``, ``lt``, ``lte``, ``between``), and ``&``, ``|`` and ``~`` combine conditions,
#: e.g. ``Q.hashtag_name.eq("climate") & ~Q.region_code.isin(["US", "CA"])``. A misspelt field
#: or a value the API does not know raises :class:`InvalidRequestError` with a suggestion, before
#: any request.
Q = _QBuilder()


def _criteria_list(items: object, group: str) -> tuple[Criteria, ...]:
    if items is None:
        return ()
    if isinstance(items, (Criteria, dict)):
        items = [items]
    if not isinstance(items, (list, tuple)):
        raise _bad(f"{group} must be a list of conditions, got {type(items).__name__}")
    return tuple(Criteria.from_dict(c) for c in items)


@dataclass(frozen=True, init=False, repr=False, eq=True)
class Query(_Expr):
    """A video query: ``Query(and_criteria=None, or_criteria=None, not_criteria=None)``.

    All ``and`` conditions must hold, at least one ``or`` condition must hold (when there are any),
    and no ``not`` condition may hold.

    Raises:
        InvalidRequestError: if all three lists are empty or a condition is invalid.

    Example:
        >>> q = Query(and_criteria=[Criteria("EQ", "hashtag_name", ["climate"])])
        >>> Query.from_json(q.to_json()) == q
        True
    """

    and_criteria: tuple[Criteria, ...]
    or_criteria: tuple[Criteria, ...]
    not_criteria: tuple[Criteria, ...]

    def __init__(
        self,
        and_criteria: Sequence[Criteria | dict[str, Any]] | None = None,
        or_criteria: Sequence[Criteria | dict[str, Any]] | None = None,
        not_criteria: Sequence[Criteria | dict[str, Any]] | None = None,
    ) -> None:
        self._check_and_set(and_criteria, or_criteria, not_criteria)

    def _check_and_set(
        self, and_criteria: object, or_criteria: object, not_criteria: object
    ) -> None:
        a = _criteria_list(and_criteria, "and_criteria")
        o = _criteria_list(or_criteria, "or_criteria")
        n = _criteria_list(not_criteria, "not_criteria")
        if not (a or o or n):
            raise _bad(
                "the query is empty: give at least one condition, e.g. "
                "Q.hashtag_name.eq('climate') or Query(and_criteria=[Criteria('EQ', "
                "'hashtag_name', ['climate'])])"
            )
        object.__setattr__(self, "and_criteria", a)
        object.__setattr__(self, "or_criteria", o)
        object.__setattr__(self, "not_criteria", n)

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON form ``{"and": [...], "or": [...], "not": [...]}`` (no empty lists)."""
        out: dict[str, Any] = {}
        for key, group in (
            ("and", self.and_criteria),
            ("or", self.or_criteria),
            ("not", self.not_criteria),
        ):
            if group:
                out[key] = [c.to_dict() for c in group]
        return out

    def to_json(self, indent: int | None = None) -> str:
        """The query as JSON text (round-trips exactly through :meth:`from_json`)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, d: Mapping[str, object] | Query) -> Query:
        """Build a query from the API's dict form (or a request body that has a ``query`` key)."""
        if isinstance(d, Query):
            return d
        if not isinstance(d, dict):
            raise _bad(f"a query must be a dict with 'and'/'or'/'not' lists, got {d!r}")
        if "query" in d and isinstance(d["query"], dict):
            d = d["query"]
        keys = ("and", "or", "not")
        for k in d:
            if k not in keys:
                hint = (
                    f" Did you mean {k.lower()!r}?"
                    if isinstance(k, str) and k.lower() in keys
                    else _suggest(str(k), keys)
                )
                raise _bad(f"unknown query key {k!r}.{hint} A query has 'and', 'or' and 'not'.")
        query = cls.__new__(cls)
        query._check_and_set(d.get("and"), d.get("or"), d.get("not"))
        return query

    @classmethod
    def from_json(cls, text: str | bytes) -> Query:
        """Build a query from JSON text."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise _bad(f"the query is not valid JSON: {e}") from None
        return cls.from_dict(d)

    def to_query(self) -> Query:
        """Return self (a Query is already flat)."""
        return self

    def __repr__(self) -> str:
        parts = []
        for name, group in (
            ("and_criteria", self.and_criteria),
            ("or_criteria", self.or_criteria),
            ("not_criteria", self.not_criteria),
        ):
            if group:
                parts.append(f"{name}=[{', '.join(map(repr, group))}]")
        return f"Query({', '.join(parts)})"

    def __str__(self) -> str:
        parts = [c._text() for c in self.and_criteria]
        if self.or_criteria:
            inner = " OR ".join(c._text() for c in self.or_criteria)
            parts.append(f"({inner})" if len(self.or_criteria) > 1 else inner)
        if self.not_criteria:
            inner = " OR ".join(c._text() for c in self.not_criteria)
            parts.append(f"NOT ({inner})")
        return " AND ".join(parts)


def _flatten(expr: _Expr) -> Query:
    and_: list[Criteria] = []
    or_groups: list[tuple[Criteria, ...]] = []
    not_: list[Criteria] = []
    todo: list[_Expr] = [expr]
    while todo:
        e = todo.pop(0)
        if isinstance(e, _And):
            todo[:0] = list(e.items)
        elif isinstance(e, Query):
            and_.extend(e.and_criteria)
            if e.or_criteria:
                or_groups.append(e.or_criteria)
            not_.extend(e.not_criteria)
        elif isinstance(e, Criteria):
            and_.append(e)
        elif isinstance(e, _Or):
            or_groups.append(_or_terms(e))
        elif isinstance(e, _Not):
            inner = e.item
            if isinstance(inner, _Not):
                todo.insert(0, inner.item)
            elif isinstance(inner, Criteria):
                not_.append(inner)
            elif isinstance(inner, _Or):
                not_.extend(_or_terms(inner))
            elif (lone := _lone_condition(inner)) is not None:
                not_.append(lone)
            else:
                raise _bad(
                    f"cannot express ~{inner!r} in the API's flat query: NOT applies to single "
                    "conditions or to an OR of conditions (none may hold), not to an AND. "
                    "Rewrite it, e.g. ~(a | b) instead of ~a | ~b."
                )
        else:  # pragma: no cover - defensive
            raise InvalidTypeError(f"not a query expression: {e!r}")
    distinct = _dedupe(or_groups)
    if len(distinct) > 1:
        raise _bad(
            "the API's query has a single OR list, but this expression ANDs several OR groups: "
            + " & ".join("(" + " | ".join(map(repr, g)) + ")" for g in distinct)
            + ". Split it into several queries, or rewrite it with one OR group."
        )
    return Query(and_, list(distinct[0]) if distinct else None, _dedupe(not_))


def _lone_condition(expr: _Expr) -> Criteria | None:
    """The condition of a query that is a single AND condition (``Query(and_criteria=[c])``)."""
    if not isinstance(expr, Query) or expr.or_criteria or expr.not_criteria:
        return None
    return expr.and_criteria[0] if len(expr.and_criteria) == 1 else None


_T = TypeVar("_T")


def _dedupe(items: Sequence[_T]) -> list[_T]:
    """The items without repeats, in their first order (conditions are compared by value)."""
    out: list[_T] = []
    for c in items:
        if c not in out:
            out.append(c)
    return out


def _or_terms(e: _Or) -> tuple[Criteria, ...]:
    terms: list[Criteria] = []
    todo: list[_Expr] = list(e.items)
    while todo:
        t = todo.pop(0)
        if isinstance(t, _Or):
            todo[:0] = list(t.items)
        elif isinstance(t, Criteria):
            terms.append(t)
        elif (
            isinstance(t, Query)
            and len(t.or_criteria) > 0
            and not (t.and_criteria or t.not_criteria)
        ):
            terms.extend(t.or_criteria)
        elif (lone := _lone_condition(t)) is not None:
            terms.append(lone)
        else:
            raise _bad(
                f"cannot express {t!r} inside an OR: the API's 'or' list holds single conditions "
                "only (no AND or NOT inside an OR). Split it into several queries."
            )
    return tuple(_dedupe(terms))


#: What every function that takes a video query accepts: a ``Q`` expression, a
#: :class:`Criteria`, a :class:`Query`, the API's dict (``{"and": [...]}``, or a request body with a
#: ``query`` key) or its JSON text.
QueryLike: TypeAlias = _Expr | Mapping[str, object] | str | bytes


def as_query(obj: QueryLike) -> Query:
    """Normalise a query given as a builder expression, a :class:`Query`, a dict or JSON text.

    Args:
        obj: ``Q`` expression, :class:`Criteria`, :class:`Query`, dict (``{"and": [...]}`` or a
            request body with a ``query`` key) or its JSON text.

    Returns:
        The validated, flat :class:`Query`.

    Raises:
        InvalidRequestError: with what is wrong and how to fix it (a query nested too deeply for
            Python to read is one too).

    Example:
        >>> as_query('{"and": [{"operation": "EQ", "field_name": "keyword", '
        ...          '"field_values": ["x"]}]}')
        Query(and_criteria=[Criteria('EQ', 'keyword', ['x'])])
    """
    try:
        return _as_query(obj)
    except RecursionError:
        raise _bad(
            "the query is nested too deeply to read; a query is 'and', 'or' and 'not' lists of "
            "conditions, each condition at most a few levels deep (docs/guide/queries.md)"
        ) from None


def _as_query(obj: QueryLike) -> Query:
    """:func:`as_query` itself."""
    if isinstance(obj, _Expr):
        return obj.to_query()
    if isinstance(obj, (str, bytes)):
        text = obj.decode(errors="replace") if isinstance(obj, bytes) else obj
        word = text.strip()
        if word and word[0] not in "{[":
            raise _bad(
                f"a query given as text must be JSON; {word[:40]!r} is not. To search a word "
                f"write tr.Q.keyword.eq({word[:40]!r}), for a hashtag tr.Q.hashtag_name.eq(...), "
                "for an account tr.Q.username.eq(...)"
            )
        return Query.from_json(obj)
    if isinstance(obj, Mapping):
        return Query.from_dict(dict(obj))
    if obj is None:
        raise _bad("a query is required, e.g. Q.hashtag_name.eq('climate')")
    if isinstance(obj, bool):  # ``Q.f in {"a", "b"}``, ``cond1 == cond2``...: Python's True/False
        raise _bad(
            f"cannot use bool ({obj}) as a query: Python's ==, !=, <, in, and, or on Q fields give "
            "True/False, not a condition. Build conditions with methods, e.g. "
            "tr.Q.hashtag_name.eq('x'), tr.Q.hashtag_name.isin(['x', 'y']), "
            "tr.Q.region_code.ne('US'), tr.Q.view_count.gt(100); combine them with &, | and ~"
        )
    raise _bad(
        f"cannot use {type(obj).__name__} as a query; pass a Q expression, Query, dict or JSON text"
    )
