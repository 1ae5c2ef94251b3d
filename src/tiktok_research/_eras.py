"""The API's eras: dated changes of the service that matter when collections are compared.

One table, kept here with its sources (docs/api-notes.md §13). A collection's era is
set by **when it was run** (the date of each answer, ``retrieved_at``), not by the videos'
``create_time``: the service answers every query with the pipeline and the fields of the day it is
asked. Changelog dates have no time of day; they are taken as UTC days, and an era begins on its
date. Rows marked *reported* are observations by users or auditors, not TikTok announcements.

Used by the quality report (:mod:`tiktok_research.quality`: the eras a collection straddles) and by
``merge_dumps`` and the dataset writers, which warn (:class:`~tiktok_research.errors.EraWarning`)
when they combine answers from both sides of one.

Example:
    >>> from datetime import date
    >>> [e.key for e in straddled(date(2024, 10, 1), date(2025, 5, 1))]
    ['fields-2024-11', 'fields-2025-04']
    >>> straddled(date(2024, 12, 1), date(2024, 12, 31), tables={"videos"})
    []
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from .errors import EraWarning, warn_user

__all__ = ["ERAS", "SOURCES", "Era", "era_message", "straddled", "warn_if_straddled"]

#: The sources the eras (and the quality report) cite: key -> (title, where).
SOURCES: dict[str, tuple[str, str]] = {
    "DOC:CHG": (
        'TikTok for Developers, changelog ("major and critical changes"; not exhaustive)',
        "https://developers.tiktok.com/doc/changelog",
    ),
    "DOC:CB": (
        "TikTok Research API codebook",
        "https://developers.tiktok.com/doc/research-api-codebook",
    ),
    "Q:AUDIT": (
        '"Beyond the margin of error: a systematic and replicable audit of the TikTok '
        'Research API"',
        "https://discovery.researcher.life/article/beyond-the-margin-of-error-a-systematic-"
        "and-replicable-audit-of-the-tiktok-research-api/3227a4463d9f3421b3f958e06eade9c0",
    ),
    "Q:AIF": (
        "Entrena-Serrano, Degeling, Romano, Çetin, \"TikTok's Research API: Problems Without "
        'Explanations" (AI Forensics, 2025)',
        "https://arxiv.org/abs/2506.09746",
    ),
    "Q:SSCR": (
        "Comparison of Research API data with manual collection, Social Science Computer "
        "Review (2026)",
        "https://doi.org/10.1177/08944393251413277",
    ),
    "BLOG:C4D-GK": (
        'Cybersecurity for Democracy, "Getting to know the TikTok Research API"',
        "https://cybersecurityfordemocracy.org/getting-to-know-the-tiktok-research-api",
    ),
    "BLOG:C4D": (
        'Cybersecurity for Democracy, "Issues with the TikTok Research API and its effect on '
        'researchers"',
        "https://cybersecurityfordemocracy.org/issues-with-the-tiktok-research-api",
    ),
    "Q:CORSO": (
        'Corso, Pierri, De Francisci Morales, "What we can learn from TikTok through its '
        "Research API\" (WebSci'24 workshop)",
        "https://arxiv.org/abs/2402.13855",
    ),
    "I:T#29": (
        "traktok issue 29: keyword queries return 0 rows from 2026-03-09",
        "https://github.com/JBGruber/traktok/issues/29",
    ),
}


@dataclass(frozen=True)
class Era:
    """One dated change of the service.

    Attributes:
        key: A short stable name (``"counts-2024-07"``).
        start: The first UTC day of the new era: answers retrieved on or after it are on the
            new side.
        change: What changed.
        meaning: What it means for comparing collections made on both sides.
        sources: Keys of :data:`SOURCES`.
        tables: The tables it concerns (None: every table).
        reported: An observation by users or auditors, not an announcement by TikTok.
    """

    key: str
    start: date
    change: str
    meaning: str
    sources: tuple[str, ...]
    tables: frozenset[str] | None = None
    reported: bool = False

    def citation(self) -> str:
        """The sources as ``title <url>``, joined by ``; ``."""
        return "; ".join(f"{SOURCES[s][0]} <{SOURCES[s][1]}>" for s in self.sources)


_VIDEO_TABLES = frozenset({"videos", "liked_videos", "pinned_videos", "reposted_videos"})

#: Every era, oldest first.
ERAS: tuple[Era, ...] = (
    Era(
        "counts-2024-07",
        date(2024, 7, 1),
        "View counts of data collected before July 2024 were regularly orders of magnitude "
        "below those shown in the app, and the four engagement counts disagreed (reported).",
        "Engagement counts collected before July 2024 are not comparable with later ones; "
        "fetch the videos again to compare them.",
        ("Q:AUDIT",),
        _VIDEO_TABLES,
        reported=True,
    ),
    Era(
        "playlists-2024-07",
        date(2024, 7, 9),
        "Playlist Info endpoint launched; additional (unnamed) fields added to existing endpoints.",
        "No playlist data can come from collections made before this date; a field absent "
        "from an older collection means 'not offered then', not 'no value'.",
        ("DOC:CHG",),
        _VIDEO_TABLES | {"playlists"},
    ),
    Era(
        "fields-2024-11",
        date(2024, 11, 4),
        "Fields added: hashtag_info_list, bio_url, video_mention_list, video_label.",
        "Collections made before this date cannot contain these fields: their nulls there "
        "mean 'not offered then', not 'no value'.",
        ("DOC:CHG",),
        _VIDEO_TABLES | {"users"},
    ),
    Era(
        "fields-2025-04",
        date(2025, 4, 17),
        "Query Videos, liked, pinned and reposted videos enriched with more returned fields "
        "(the changelog entry is truncated: which fields is not known).",
        "Fields present after this date may be absent before it; absence before it is not "
        "'no value'.",
        ("DOC:CHG",),
        _VIDEO_TABLES,
    ),
    Era(
        "coverage-2026-02",
        date(2026, 2, 26),
        "The data pipeline changed to cover all public videos, including those not eligible "
        "for the For You feed.",
        "The same query and window can return more videos when run after this date: counts "
        "and samples from runs on both sides are not comparable without a note.",
        ("DOC:CHG", "DOC:CB"),
        _VIDEO_TABLES,
    ),
    Era(
        "keywords-2026-03",
        date(2026, 3, 9),
        "Keyword queries were reported to return 0 rows, without an error, for every day from "
        "this date while username queries worked (one report).",
        "Treat empty keyword windows after this date as suspect, not as 'no videos'.",
        ("I:T#29",),
        frozenset({"videos"}),
        reported=True,
    ),
)


def _day(value: date | datetime) -> date:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.date()
    return value


def straddled(
    first: date | datetime,
    last: date | datetime,
    *,
    tables: Collection[str] | None = None,
) -> list[Era]:
    """The eras whose date falls inside ``(first, last]``: answers retrieved on ``first`` are
    on the old side of each, answers retrieved on ``last`` on the new side.

    Args:
        first, last: The dates (or UTC datetimes) of the oldest and newest answers combined.
        tables: Keep the eras that concern one of these tables (None: all).
    """
    a, b = sorted((_day(first), _day(last)))
    return [
        era
        for era in ERAS
        if a < era.start <= b
        and (tables is None or era.tables is None or bool(era.tables & set(tables)))
    ]


def era_message(eras: Iterable[Era], what: str) -> str:
    """The warning text for ``what`` (e.g. "merge_dumps combines answers") straddling ``eras``."""
    listed = "; ".join(f"{e.start.isoformat()}: {e.change} {e.meaning}" for e in eras)
    return (
        f"{what} retrieved on both sides of a dated change of the API ({listed}) "
        "See tr.quality(...).eras and the README section 'How complete is my data?'."
    )


def warn_if_straddled(
    spans: Sequence[tuple[date | datetime, date | datetime]],
    what: str,
    *,
    tables: Collection[str] | None = None,
    known: Sequence[tuple[date | datetime, date | datetime]] = (),
) -> list[Era]:
    """Warn (:class:`~tiktok_research.errors.EraWarning`) when ``spans`` of retrieval dates,
    together with the ``known`` ones, straddle an era that the ``known`` ones alone do not.

    Args:
        spans: ``(first, last)`` retrieval dates of what is being combined now.
        what: What combines them, for the message ("merge_dumps combines answers").
        tables: The tables concerned (eras of other tables are ignored).
        known: Spans already combined (a dataset's earlier runs): eras they straddle already
            were warned about when they were written.

    Returns:
        The eras warned about.
    """
    every = [(_day(a), _day(b)) for a, b in [*spans, *known]]
    if not every:
        return []
    first, last = min(a for a, _ in every), max(b for _, b in every)
    new = straddled(first, last, tables=tables)
    if known:
        old = [(_day(a), _day(b)) for a, b in known]
        before = straddled(min(a for a, _ in old), max(b for _, b in old), tables=tables)
        new = [e for e in new if e not in before]
    if new:
        warn_user(era_message(new, what), EraWarning)  # at the user's line, however deep
    return new
