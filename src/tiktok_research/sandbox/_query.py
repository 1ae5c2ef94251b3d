"""The video-query language (api-notes §4): validated into conditions, evaluated vectorised."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._endpoints import (
    CONDITION_FIELDS,
    OPERATIONS,
    REGION_CODES,
    VIDEO_LENGTH_BOUNDS,
    VIDEO_LENGTHS,
)
from ._config import FailingRange
from ._corpus import _SALT_STRAY, REGION_INDEX, Corpus, _day_start, _key, _unit
from ._params import invalid, parse_date, suggestion

B = npt.NDArray[np.bool_]
ORDERED_OPS = frozenset({"GT", "GTE", "LT", "LTE"})
ORDERED_FIELDS = frozenset({"create_date", "view_count", "comment_count"})
NUMERIC_FIELDS = frozenset({"video_id", "music_id", "view_count", "comment_count"})


@dataclass(frozen=True)
class Condition:
    """One validated condition."""

    operation: str
    field_name: str
    field_values: tuple[str, ...]


@dataclass(frozen=True)
class VideoQuery:
    """A validated query: the three condition groups."""

    and_: tuple[Condition, ...]
    or_: tuple[Condition, ...]
    not_: tuple[Condition, ...]

    def fingerprint(self) -> str:
        """A canonical text of the query (for matching a ``search_id`` to its query)."""
        groups = {
            g: [[c.operation, c.field_name, list(c.field_values)] for c in conds]
            for g, conds in (("and", self.and_), ("or", self.or_), ("not", self.not_))
        }
        return json.dumps(groups, sort_keys=True)


def _condition(raw: Any, where: str) -> Condition:
    if not isinstance(raw, dict):
        raise invalid(f"{where} must be an object with operation, field_name and field_values")
    field = raw.get("field_name")
    op = raw.get("operation")
    values = raw.get("field_values")
    if field is None:
        raise invalid(f"{where}.field_name is required")
    if field not in CONDITION_FIELDS:
        raise invalid(
            f"Invalid field_name {field!r} in {where}.{suggestion(str(field), CONDITION_FIELDS)}"
            f" Valid field names: {', '.join(CONDITION_FIELDS)}"
        )
    if op is None:
        raise invalid(f"{where}.operation is required")
    if op not in OPERATIONS:
        raise invalid(
            f"Invalid operation {op!r} in {where}. Valid operations: {', '.join(OPERATIONS)}"
        )
    if values is None or values == []:
        raise invalid(f"{where}.field_values is required and must be a non-empty list of strings")
    if not isinstance(values, list):
        values = [values]
    if any(isinstance(v, (dict, list, bool)) or v is None for v in values):
        raise invalid(f"{where}.field_values must be a list of strings, got {values!r}")
    texts = tuple(str(v).strip() for v in values)
    if op == "EQ" and len(texts) != 1:
        raise invalid(
            f"'operation' EQ must have one field value ({where} has {len(texts)}); "
            "use IN for several"
        )
    if op in ORDERED_OPS:
        if field not in ORDERED_FIELDS:
            raise invalid(
                f"operation {op} is not supported for field_name {field} ({where}); use EQ or IN"
            )
        if len(texts) != 1:
            raise invalid(f"'operation' {op} must have one field value ({where} has {len(texts)})")
    for v in texts:
        if field == "region_code" and v not in REGION_CODES:
            hint = " (use GB for the United Kingdom)" if v.upper() == "UK" else ""
            raise invalid(f"Invalid region_code {v!r} in {where}{hint}")
        if field == "create_date":
            parse_date(v, f"{where}.field_values")
        if field in NUMERIC_FIELDS and not v.isdigit():
            raise invalid(f"{field} values must be digit strings, got {v!r} in {where}")
        if field == "video_length" and v not in VIDEO_LENGTHS:
            raise invalid(
                f"Invalid video_length {v!r} in {where}. Valid values: {', '.join(VIDEO_LENGTHS)}"
            )
        if field in ("keyword", "username", "hashtag_name", "effect_id") and not v:
            raise invalid(f"{where}.field_values contains an empty string")
    return Condition(op, field, texts)


def parse_query(raw: Any) -> VideoQuery:
    """Validate the ``query`` body key (400 ``invalid_params`` naming the problem)."""
    if raw is None:
        raise invalid("query is required: an object with and / or / not lists of conditions")
    if not isinstance(raw, dict):
        raise invalid("query must be an object with and / or / not lists of conditions")
    extra = sorted(set(raw) - {"and", "or", "not"})
    if extra:
        raise invalid(f"Invalid key(s) in query: {', '.join(extra)}; only and, or, not are allowed")
    groups: dict[str, tuple[Condition, ...]] = {}
    for name in ("and", "or", "not"):
        items = raw.get(name) or []
        if not isinstance(items, list):
            raise invalid(f"query.{name} must be a list of conditions")
        groups[name] = tuple(_condition(c, f"query.{name}[{i}]") for i, c in enumerate(items))
    if not any(groups.values()):
        raise invalid(
            "query is empty: a valid query must contain at least one non-empty and, or or not list"
        )
    return VideoQuery(groups["and"], groups["or"], groups["not"])


def _mask(corpus: Corpus, a: int, b: int, cond: Condition, days: int = 0) -> B:
    field, op, values = cond.field_name, cond.operation, cond.field_values
    if field == "create_date":
        ct = corpus.create_time[a:b]
        out = np.zeros(b - a, dtype=bool)
        for v in values:
            ds = _day_start(parse_date(v, "create_date"))
            de = ds + 86_399
            if op in ("EQ", "IN"):
                out |= (ct >= ds) & (ct <= de)
            elif op == "GT":
                out |= ct > de
            elif op == "GTE":
                out |= ct >= ds
            elif op == "LT":
                out |= ct < ds
            else:
                out |= ct <= de
        return out
    if field in ("view_count", "comment_count"):
        if days > 0:  # counts grow with the days passed since the epoch
            arr = corpus.counts_at(np.arange(a, b), days)[field]
        else:
            arr = (corpus.view_count if field == "view_count" else corpus.comment_count)[a:b]
        nums = [int(v) for v in values]
        if op in ("EQ", "IN"):
            return np.isin(arr, nums)
        n = nums[0]
        return {"GT": arr > n, "GTE": arr >= n, "LT": arr < n, "LTE": arr <= n}[op]
    if field == "username":
        users = [corpus.user_index[v.lower()] for v in values if v.lower() in corpus.user_index]
        return np.isin(corpus.author[a:b], users)
    if field == "region_code":
        return np.isin(corpus.region[a:b], [REGION_INDEX[v] for v in values])
    if field == "video_id":
        return np.isin(corpus.ids[a:b], [int(v) for v in values if int(v) < 2**63])
    if field == "hashtag_name":
        idx = [i for v in values for i in corpus.hashtag_lower.get(v.lower(), [])]
        return corpus.hashtag_mask(a, b, idx)
    if field == "keyword":
        return corpus.keyword_mask(a, b, values)
    if field == "music_id":
        music = [corpus.music_index[int(v)] for v in values if int(v) in corpus.music_index]
        return np.isin(corpus.music[a:b], music)
    if field == "effect_id":
        effects = [corpus.effect_index[v] for v in values if v in corpus.effect_index]
        return np.isin(corpus.effect[a:b], effects)
    # video_length
    dur = corpus.duration[a:b]
    out = np.zeros(b - a, dtype=bool)
    for v in values:
        lo, hi = VIDEO_LENGTH_BOUNDS[v]
        out |= (dur >= lo) & (dur <= hi)
    return out


def failing_range(
    ranges: tuple[FailingRange, ...], query: VideoQuery, start: dt.date, end: dt.date
) -> FailingRange | None:
    """The first of ``ranges`` that makes a request for ``query`` over ``[start, end]`` fail."""
    fields = {c.field_name for c in (*query.and_, *query.or_, *query.not_)}
    for r in ranges:
        if r.overlaps(start, end) and (r.field is None or r.field in fields):
            return r
    return None


def evaluate(
    corpus: Corpus,
    query: VideoQuery,
    start: dt.date,
    end: dt.date,
    newest: float,
    days: int = 0,
) -> npt.NDArray[np.int64]:
    """Rows of every candidate (hidden ones included) in decreasing id order.

    The window is ``[start 00:00:00, end 23:59:59]`` UTC; videos created after ``newest`` (the index
    lag) are not candidates, nor are the videos the service never returns
    (``Corpus.unreturnable``). ``days``: days passed since the epoch (count conditions see the
    counts of that day). With ``username_stray_rate``, a query with a ``username`` EQ/IN condition
    in its ``and`` group also gets stray rows of other accounts (see :func:`evaluate_detail`).
    """
    return evaluate_detail(corpus, query, start, end, newest, days)[0]


def evaluate_detail(
    corpus: Corpus,
    query: VideoQuery,
    start: dt.date,
    end: dt.date,
    newest: float,
    days: int = 0,
    *,
    with_unreturnable: bool = False,
) -> tuple[npt.NDArray[np.int64], B]:
    """:func:`evaluate`'s rows, and which of them are planted strays (same order).

    Strays (api-notes §14 #5): rows that meet every condition and the window except the ``username``
    EQ/IN conditions of the ``and`` group, visible when generated, each drawn with the chance that
    makes them about ``username_stray_rate`` of the visible rows returned. The draw is a hash of
    the video id and the requested usernames: the same query and window get the same strays.
    ``with_unreturnable``: keep the videos the service never returns (for the known truths).
    """
    empty = np.array([], dtype=np.int64)
    t0 = _day_start(start)
    t1 = min(_day_start(end) + 86_399, int(newest))
    if t1 < t0:
        return empty, np.array([], dtype=bool)
    a, b = corpus.window_rows(t0, t1)
    ct = corpus.create_time[a:b]
    mask = (ct >= t0) & (ct <= t1)
    if corpus.config.missing_video_rate > 0 and not with_unreturnable:
        mask &= ~corpus.unreturnable[a:b]
    rate = corpus.config.username_stray_rate
    by_user = [c for c in query.and_ if c.field_name == "username"] if rate > 0 else []
    for cond in query.and_:
        if not mask.any():
            break
        if cond not in by_user:
            mask &= _mask(corpus, a, b, cond, days)
    if query.or_ and mask.any():
        anyof = np.zeros(b - a, dtype=bool)
        for cond in query.or_:
            anyof |= _mask(corpus, a, b, cond, days)
        mask &= anyof
    for cond in query.not_:
        if not mask.any():
            break
        mask &= ~_mask(corpus, a, b, cond, days)
    strays = np.zeros(b - a, dtype=bool)
    if by_user:
        others = mask.copy()
        for cond in by_user:
            mask &= _mask(corpus, a, b, cond, days)
        visible = ~corpus.hidden[a:b]
        pool = others & ~mask & visible
        n_pool = int(pool.sum())
        if n_pool:
            wanted = rate / (1.0 - rate) * int((mask & visible).sum())
            names = sorted({v.lower() for c in by_user for v in c.field_values})
            salt = (_SALT_STRAY ^ _key(f"{corpus.seed}|{'|'.join(names)}")) % (1 << 64)
            strays = pool & (_unit(corpus.ids[a:b], salt) < wanted / n_pool)
            mask |= strays
    hit = np.flatnonzero(mask)[::-1]
    return (a + hit).astype(np.int64), strays[hit]
