"""A small summary of ads (the Commercial Content API's tables): by advertiser, country, month.

Reach comes from the library as a bucket text (``"11K"``: at least 11,000 unique users, a whole
number of thousands, millions or billions). :func:`reach_band` puts each ad in one of
:data:`REACH_BANDS`, from the bucket's lower bound; sums of reach are sums of those lower bounds
(``reach_at_least``), never estimates.

Example:
    >>> from datetime import date
    >>> import polars as pl
    >>> import tiktok_research as tr
    >>> ads = pl.DataFrame({"ad_id": [1, 2, 3], "business_id": [7, 7, 8],
    ...                     "business_name": ["A", "A", "B"], "status": ["active"] * 3,
    ...                     "first_shown_date": [date(2024, 1, 5)] * 3,
    ...                     "unique_users_seen": ["0K", "12K", "2M"]})
    >>> tr.summarize_ads(ads, by="advertiser").select("business_name", "ads", "reach_at_least")
    shape: (2, 3)
    ┌───────────────┬─────┬────────────────┐
    │ business_name ┆ ads ┆ reach_at_least │
    │ ---           ┆ --- ┆ ---            │
    │ str           ┆ u32 ┆ i64            │
    ╞═══════════════╪═════╪════════════════╡
    │ B             ┆ 1   ┆ 2000000        │
    │ A             ┆ 2   ┆ 12000          │
    └───────────────┴─────┴────────────────┘
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from ._checks import TableLike
from .errors import InvalidRequestError

__all__ = ["REACH_BANDS", "reach_band", "reach_value", "summarize_ads"]

#: Reach bands, by the lower bound of the library's bucket: (name, lowest value).
REACH_BANDS: tuple[tuple[str, int], ...] = (
    ("<1K", 0),
    ("1K-10K", 1_000),
    ("10K-100K", 10_000),
    ("100K-1M", 100_000),
    ("1M+", 1_000_000),
)
_BY = ("advertiser", "country", "month")


def reach_value(expr: pl.Expr) -> pl.Expr:
    """The lower bound of a reach bucket (``"120K"`` -> 120000); null when malformed."""
    text = expr.cast(pl.String).str.strip_chars().str.to_uppercase()
    number = text.str.extract(r"^(\d{1,3})[KMB]$", 1).cast(pl.Int64, strict=False)
    unit = text.str.extract(r"^\d{1,3}([KMB])$", 1)
    scale = (
        pl.when(unit == "K")
        .then(1_000)
        .when(unit == "M")
        .then(1_000_000)
        .when(unit == "B")
        .then(1_000_000_000)
        .otherwise(None)
        .cast(pl.Int64)
    )
    return number * scale


def reach_band(expr: pl.Expr) -> pl.Expr:
    """The band of :data:`REACH_BANDS` a reach bucket falls in (null when malformed).

    Example:
        >>> import polars as pl
        >>> pl.select(reach_band(pl.lit("45K"))).item()
        '10K-100K'
    """
    value = reach_value(expr)
    out: Any = pl.lit(None, pl.String)
    for name, low in REACH_BANDS:  # the last true condition wins: highest band first in the chain
        out = pl.when(value >= low).then(pl.lit(name)).otherwise(out)
    result: pl.Expr = out
    return result


def _rows(ads: Any, keys: Sequence[str]) -> pl.LazyFrame:
    if isinstance(ads, pl.DataFrame):
        lf = ads.lazy()
    elif isinstance(ads, pl.LazyFrame):
        lf = ads
    elif type(ads).__module__.split(".")[0] == "pandas":
        lf = pl.from_pandas(ads).lazy()
    else:
        raise InvalidRequestError(
            f"summarize_ads takes an ads or ad_details table (polars or pandas), got "
            f"{type(ads).__name__}"
        )
    names = lf.collect_schema().names()
    missing = [c for c in ("ad_id", "unique_users_seen") if c not in names]
    if missing:
        raise InvalidRequestError(
            f"summarize_ads: the table lacks {', '.join(missing)}; pass the table of "
            "tr.fetch_ads or tr.fetch_ad_details"
        )
    if "country" in keys:
        if "unique_users_seen_by_country" not in names:
            raise InvalidRequestError(
                "summarize_ads(by='country') needs the reach by country of the ad details: "
                "pass tr.fetch_ad_details(ads) (or use tr.fetch_ad_report for counts of ads by "
                "country)"
            )
        lf = (
            lf.explode("unique_users_seen_by_country")
            .with_columns(
                pl.col("unique_users_seen_by_country").struct.field("country").alias("country"),
                pl.col("unique_users_seen_by_country")
                .struct.field("unique_users_seen")
                .alias("unique_users_seen"),
            )
            .filter(pl.col("country").is_not_null())
        )
    if "month" in keys:
        if "first_shown_date" not in names:
            raise InvalidRequestError("summarize_ads(by='month') needs first_shown_date")
        lf = lf.with_columns(pl.col("first_shown_date").dt.strftime("%Y-%m").alias("month"))
    if "advertiser" in keys and "business_id" not in names:
        raise InvalidRequestError("summarize_ads(by='advertiser') needs business_id")
    return lf


def summarize_ads(ads: TableLike, by: str | Sequence[str] = "advertiser") -> pl.DataFrame:
    """Ads counted by advertiser, country and/or month, with their reach bands.

    Args:
        ads: An ``ads`` table (:func:`tiktok_research.fetch_ads`) or an ``ad_details`` table
            (:func:`tiktok_research.fetch_ad_details`; needed for ``by="country"``: the reach of
            an ad in each country it was shown in).
        by: ``"advertiser"`` (``business_id``, ``business_name``), ``"country"`` (per country
            of the reach), ``"month"`` (of ``first_shown_date``, ``YYYY-MM``), or a list of them.

    Returns:
        One row per group, largest ``reach_at_least`` first: ``ads`` (distinct ads),
        ``active`` (ads whose status is active), ``advertisers`` (distinct ``business_id``, when
        not grouped by advertiser), ``reach_at_least`` (sum of the buckets' lower bounds), and
        one column per reach band (ads in the band).

    Raises:
        InvalidRequestError: an unknown ``by`` or a table without the columns it needs.
    """
    keys = [by] if isinstance(by, str) else list(by)
    bad = [k for k in keys if k not in _BY] if keys else ["(nothing)"]
    if bad:
        raise InvalidRequestError(
            f"summarize_ads: by must be among {', '.join(_BY)} (or a list of them), got {by!r}"
        )
    lf = _rows(ads, keys)
    names = lf.collect_schema().names()
    group: list[str] = []
    for k in keys:
        if k == "advertiser":
            group += ["business_id"] + (["business_name"] if "business_name" in names else [])
        else:
            group.append(k)
    band = reach_band(pl.col("unique_users_seen")).alias("_band")
    lf = lf.with_columns(band, reach_value(pl.col("unique_users_seen")).alias("_reach"))
    aggs = [
        pl.col("ad_id").n_unique().alias("ads"),
        (
            pl.col("ad_id").filter(pl.col("status") == "active").n_unique()
            if "status" in names
            else pl.lit(None, pl.UInt32)
        ).alias("active"),
    ]
    if "advertiser" not in keys and "business_id" in names:
        aggs.append(pl.col("business_id").n_unique().alias("advertisers"))
    aggs.append(pl.col("_reach").sum().cast(pl.Int64).alias("reach_at_least"))
    aggs += [(pl.col("_band") == name).sum().cast(pl.Int64).alias(name) for name, _ in REACH_BANDS]
    if "business_name" in group:  # a name may differ between answers: keep one per id
        lf = lf.with_columns(pl.col("business_name").first().over("business_id"))
    out = (
        lf.group_by(group)
        .agg(aggs)
        .sort(
            ["reach_at_least", *group], descending=[True, *([False] * len(group))], nulls_last=True
        )
    )
    return out.collect()
