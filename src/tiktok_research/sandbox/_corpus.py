"""The synthetic corpus behind the sandbox: columnar (numpy + polars), deterministic from a seed.

Videos are stored sorted by increasing ``id``; a video is addressed by its row index. Things that
are large but rarely looked at (comments, replies, follower lists, liked lists, reviews) are
generated on demand from a per-item seed, so they are the same whatever order they are asked for in.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from .._endpoints import COMMENTS_CAP, FOLLOWERS_CAP, REGION_CODES, VIDEO_LENGTH_BOUNDS
from . import _vocab as V
from ._config import ENTITY_COMMENT, ENTITY_VIDEO, SandboxConfig

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
B = npt.NDArray[np.bool_]

_M32 = (1 << 32) - 1
_MIX_C = 0x9E3779B1
_MIX_CINV = pow(_MIX_C, -1, 1 << 32)
_MIX_K = 0x5BD1E995
_COMMENT_BITS = 11  # comments materialised per video: at most 2**11
MAX_COMMENTS_PER_VIDEO = 1100  # top-level comments kept per video (the API shows the top 1,000)
MAX_REPLIES_PER_COMMENT = 1000
COUNT_FIELDS = ("view_count", "like_count", "comment_count", "share_count", "favorites_count")
_SALT_REMOVE_VIDEO = 0x5EED0001
_SALT_REMOVE_COMMENT = 0x5EED0002
_SALT_GROWTH = 0x5EED0003
_SALT_HIDDEN_COMMENT = 0x5EED0004
_SALT_MISSING_VIDEO = 0x5EED0005
_SALT_MISSING_ACCOUNT = 0x5EED0006
_SALT_STRAY = 0x5EED0007
_COMMENT_TS_MOD = 17  # published layout: part of a comment's position rides in its id's second

REGIONS: tuple[str, ...] = tuple(sorted(REGION_CODES))
REGION_INDEX: dict[str, int] = {code: i for i, code in enumerate(REGIONS)}


def _unmix32(x: int) -> int:
    x ^= x >> 16
    return ((x * _MIX_CINV) & _M32) ^ _MIX_K


def _unit(ids: npt.NDArray[np.int64], salt: int) -> npt.NDArray[np.float64]:
    """A uniform number in [0, 1) per id, from a hash of the id (splitmix64's finaliser)."""
    with np.errstate(over="ignore"):
        x = ids.astype(np.uint64) ^ np.uint64(salt)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    result: npt.NDArray[np.float64] = (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return result


def _mix32(x: I64) -> I64:
    """A bijection on 32-bit integers, elementwise (so comment ids can be decoded without a
    lookup table; :func:`_unmix32` inverts it)."""
    x = ((x ^ _MIX_K) * _MIX_C) & _M32
    result: I64 = x ^ (x >> 16)
    return result


def _published_low(bits: I64, entity: int) -> I64:
    """Low 32 bits in the published layout (api-notes §8) from 32 random bits: milliseconds 0-999 in
    bits 31-22, sequence in 18-14, ``entity`` in 11-8, machine id in 7-0; 21-19 and 13-12 zero."""
    ms = ((bits >> 22) * 1000) >> 10
    result: I64 = (ms << 22) | (((bits >> 14) & 31) << 14) | (entity << 8) | (bits & 255)
    return result


def _comment_ids_published(loc: I64, create: I64, delay_draw: I64) -> I64:
    """Comment ids in the published layout that still encode their position ``loc``.

    ``loc`` (video row << 11 | comment index, 32 bits) is mixed, then written in mixed radix into
    the milliseconds (0-999), machine id, sequence, the two bit fields the paper calls unused, and
    the id's second modulo 17 (the second is ``create`` minus 25-75 s, as in real ids); the entity
    type is ``ENTITY_COMMENT``. :func:`_comment_loc_published` reads it back.
    """
    m = _mix32(loc)
    ms, r = m % 1000, m // 1000
    machine, r = r & 255, r >> 8
    seq, r = r & 31, r >> 5
    spare, q = r & 31, r >> 5  # q in 0..16
    delay = 25 + (create - 25 - q) % _COMMENT_TS_MOD + _COMMENT_TS_MOD * ((delay_draw - 25) % 3)
    low = (
        (ms << 22)
        | ((spare >> 2) << 19)
        | (seq << 14)
        | ((spare & 3) << 12)
        | (ENTITY_COMMENT << 8)
        | machine
    )
    result: I64 = ((create - delay) << 32) | low
    return result


def _comment_loc_published(comment_id: int) -> int | None:
    """The position encoded in a comment id of the published layout (None: not one of ours)."""
    low = comment_id & _M32
    ms = low >> 22
    if ms >= 1000 or (low >> 8) & 15 != ENTITY_COMMENT:
        return None
    spare = (((low >> 19) & 7) << 2) | ((low >> 12) & 3)
    seq, machine = (low >> 14) & 31, low & 255
    q = (comment_id >> 32) % _COMMENT_TS_MOD
    m = ms + 1000 * (machine + 256 * (seq + 32 * (spare + 32 * q)))
    return _unmix32(m) if m <= _M32 else None


def _key(text: str) -> int:
    """A stable 63-bit number from a text (Python's ``hash`` differs between processes)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()) >> 1


def _day_start(day: dt.date) -> int:
    return calendar.timegm(day.timetuple())


def _id_order(ids: I64) -> tuple[I64, I64]:
    """``ids`` with the rare repeats made distinct (their machine id, bits 7-0, stepped on), and
    the order that sorts them."""
    while True:
        order = np.argsort(ids, kind="stable")
        ranked = ids[order]
        dup = order[np.flatnonzero(ranked[1:] == ranked[:-1]) + 1]
        if dup.size == 0:
            return ids, order
        ids = ids.copy()
        ids[dup] = (ids[dup] & ~np.int64(255)) | ((ids[dup] + 1) & 255)


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])


@dataclass(frozen=True)
class Comments:
    """The materialised top-level comments (or replies) of one video (or comment), best first."""

    ids: I64
    create_time: I64
    like_count: I64
    reply_count: I64
    text_idx: I32
    parent_id: int
    video_id: int


@dataclass(frozen=True)
class TimedList:
    """A list ordered by decreasing, distinct timestamps (followers, following, liked videos)."""

    items: I64  # user indices or video rows
    timestamps: I64


class Corpus:
    """The synthetic TikTok: accounts, videos, hashtags, comments, follower graph, playlists, shops.

    Build it with :meth:`build`. Row indices are positions in the id-sorted video arrays.

    Example:
        >>> from tiktok_research.sandbox import SandboxConfig
        >>> corpus = Corpus.build(SandboxConfig(n_videos=2_000))
        >>> corpus.n_videos
        2000
    """

    # ------------------------------------------------------------------ building
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.seed = config.seed
        self._build_users()
        self._build_videos()
        self._build_playlists()
        self._build_shops()
        self._comments_cached = functools.lru_cache(maxsize=512)(self._make_comments)
        self._replies_cached = functools.lru_cache(maxsize=512)(self._make_replies)
        self._followers_cached = functools.lru_cache(maxsize=256)(self._make_follow_list)
        self._liked_cached = functools.lru_cache(maxsize=256)(self._make_liked)

    @classmethod
    def build(cls, config: SandboxConfig | None = None) -> Corpus:
        """Generate the corpus described by ``config`` (deterministic from ``config.seed``)."""
        return cls(config or SandboxConfig())

    def _build_users(self) -> None:
        # The accounts that post the videos come first, drawn exactly as they always were (the
        # corpus at the epoch must not change); the audience (accounts that only follow) is drawn
        # from a stream of its own and appended.
        creators = self._make_accounts(_rng(self.seed, 1), self.config.users, 0, celebrities=True)
        audience = self._make_accounts(
            _rng(self.seed, 9), self.config.audience, self.config.users, celebrities=False
        )
        self.n_creators = self.config.users
        self.n_users = self.n_creators + self.config.audience
        names: list[str] = creators.pop("usernames")
        seen = set(names)  # the creators' names are unique; the audience's never repeat them
        for name in audience.pop("usernames"):
            base, suffix = name, 1
            while name in seen:
                name = f"{base}{suffix}"
                suffix += 1
            seen.add(name)
            names.append(name)
        self.usernames: list[str] = names
        self.user_index: dict[str, int] = {u: i for i, u in enumerate(names)}
        self.display_names: list[str] = creators.pop("display_names") + audience.pop(
            "display_names"
        )
        cols = {k: np.concatenate([creators[k], audience[k]]) for k in creators}
        self.bio_idx: I32 = cols["bio_idx"].astype(np.int32)
        self.user_region: I32 = cols["user_region"].astype(np.int32)
        self.follower_count: I64 = cols["follower_count"].astype(np.int64)
        self.following_count: I64 = cols["following_count"].astype(np.int64)
        self.is_verified: B = cols["is_verified"].astype(bool)
        self.is_private: B = cols["is_private"].astype(bool)
        self.liked_public: B = cols["liked_public"].astype(bool)
        self.following_public: B = cols["following_public"].astype(bool)
        self.reposts_public: B = cols["reposts_public"].astype(bool)
        self.has_bio_url: B = cols["has_bio_url"].astype(bool)
        self.user_created: I64 = cols["user_created"].astype(np.int64)
        self.public_accounts: I64 = np.flatnonzero(~self.is_private).astype(np.int64)

    @staticmethod
    def _make_accounts(
        rng: np.random.Generator, n: int, offset: int, *, celebrities: bool
    ) -> dict[str, Any]:
        """``n`` accounts from ``rng`` (the draws of the creators' stream must never change)."""
        names: list[str] = []
        seen: set[str] = set()
        pattern = rng.integers(0, 7, size=n)
        a = rng.integers(0, len(V.FIRST), size=n)
        b = rng.integers(0, len(V.WORDS), size=n)
        num = rng.integers(0, 10**6, size=n)
        for i in range(n):
            p, first, word, k = int(pattern[i]), V.FIRST[a[i]], V.WORDS[b[i]], int(num[i])
            if p == 0:
                name = f"{first}.{word}{k % 100}"
            elif p == 1:
                name = f"{word}_{first}{k % 1000}"
            elif p == 2:
                name = f"user{k:06d}{i + offset:05d}"
            elif p == 3:
                name = f"its__{first}__{k % 100}"
            elif p == 4:
                name = f"they..{word}_{first}..x"
            elif p == 5:
                name = f"{first}{word}"
            else:
                name = f"{word}.{first}_{k % 10000}"
            base, suffix = name, 1
            while name in seen:
                name = f"{base}{suffix}"
                suffix += 1
            seen.add(name)
            names.append(name)
        deco = rng.integers(0, len(V.DISPLAY_DECOR), size=n)
        intl = rng.random(n) < 0.15
        intl_i = rng.integers(0, len(V.DISPLAY_NAMES_INTL), size=n)
        display_names = [
            V.DISPLAY_NAMES_INTL[intl_i[i]]
            if intl[i]
            else f"{V.DISPLAY_DECOR[deco[i]]}{V.FIRST[a[i]].title()} {V.WORDS[b[i]]}"
            for i in range(n)
        ]
        bio_idx = rng.integers(0, len(V.BIOS), size=n).astype(np.int32)
        region_p = np.full(len(REGIONS), 0.0)
        rest = 1.0 - sum(V.REGION_WEIGHTS.values())
        others = [r for r in REGIONS if r not in V.REGION_WEIGHTS]
        for r in others:
            region_p[REGION_INDEX[r]] = rest / len(others)
        for r, w in V.REGION_WEIGHTS.items():
            region_p[REGION_INDEX[r]] = w
        user_region = rng.choice(len(REGIONS), size=n, p=region_p / region_p.sum()).astype(np.int32)
        # heavy-tailed follower counts; a few celebrities with millions
        followers = np.floor(rng.pareto(1.1, size=n) * 150).astype(np.int64)
        if celebrities:
            celeb = rng.choice(n, size=max(3, n // 500), replace=False)
            followers[celeb] = rng.integers(6_000, 5_000_000, size=celeb.size)
        else:
            followers = np.minimum(followers, 2_000)  # the audience has no celebrities
        following_count = np.minimum(np.floor(rng.pareto(1.5, size=n) * 80), 9_999).astype(np.int64)
        is_verified = (rng.random(n) < 0.01) | (followers > 1_000_000)
        is_private = (rng.random(n) < 0.06) & ~is_verified
        return {
            "usernames": names,
            "display_names": display_names,
            "bio_idx": bio_idx,
            "user_region": user_region,
            "follower_count": followers,
            "following_count": following_count,
            "is_verified": is_verified,
            "is_private": is_private,
            "liked_public": (rng.random(n) < 0.12) & ~is_private,
            "following_public": (rng.random(n) < 0.35) & ~is_private,
            "reposts_public": (rng.random(n) < 0.40) & ~is_private,
            "has_bio_url": rng.random(n) < 0.1,
            "user_created": rng.integers(
                _day_start(dt.date(2018, 1, 1)), _day_start(dt.date(2023, 12, 1)), size=n
            ),
        }

    def _build_videos(self) -> None:
        cfg = self.config
        n = cfg.n_videos
        self.n_videos = n
        rng = _rng(self.seed, 2)
        t0 = _day_start(cfg.start_date)
        t1 = _day_start(cfg.end_date) + 86_400
        self.time_range = (t0, t1 - 1)
        create = rng.integers(t0, t1, size=n, dtype=np.int64)
        delay = rng.integers(25, 81, size=n, dtype=np.int64)
        low = rng.integers(0, 1 << 32, size=n, dtype=np.int64)
        if cfg.id_layout == "published":
            low = _published_low(low, ENTITY_VIDEO)
        ids, order = _id_order(((create - delay) << 32) | low)
        self.ids: I64 = ids[order]
        self.create_time: I64 = create[order]
        self.id_hi: I64 = self.ids >> 32

        rng = _rng(self.seed, 3)
        weights = 1.0 / np.arange(1, self.n_creators + 1) ** 0.9
        weights = rng.permutation(weights)
        self.author: I32 = rng.choice(self.n_creators, size=n, p=weights / weights.sum()).astype(
            np.int32
        )
        self.region: I32 = self.user_region[self.author]
        self.hidden: B = rng.random(n) < cfg.hidden_share

        cls = rng.choice(4, size=n, p=[0.30, 0.45, 0.20, 0.05])
        lo = np.array([VIDEO_LENGTH_BOUNDS[k][0] for k in ("SHORT", "MID", "LONG", "EXTRA_LONG")])
        lo[0] = 3
        hi = np.array([14, 60, 300, 1800])
        self.duration: I64 = rng.integers(lo[cls], hi[cls] + 1).astype(np.int64)

        views = np.floor(rng.lognormal(5.5, 2.3, size=n)).astype(np.int64)
        viral = rng.random(n) < 0.002
        views[viral] = (views[viral] * (1 + rng.pareto(1.2, size=int(viral.sum())) * 50)).astype(
            np.int64
        )
        n_mega = max(2, n // 10_000)
        mega = rng.choice(n, size=min(n_mega, n), replace=False)
        views[mega] = rng.integers(2**31 + 1, 6 * 10**9, size=mega.size)
        views = np.minimum(views, 9 * 10**12)
        self.view_count: I64 = views
        self.like_count: I64 = np.floor(views * rng.beta(2, 18, size=n)).astype(np.int64)
        self.comment_count: I64 = np.floor(self.like_count * rng.beta(1.2, 40, size=n)).astype(
            np.int64
        )
        self.share_count: I64 = np.floor(self.like_count * rng.beta(1.1, 30, size=n)).astype(
            np.int64
        )
        self.favorites_count: I64 = np.floor(self.like_count * rng.beta(1.5, 12, size=n)).astype(
            np.int64
        )

        # topics and hashtags (CSR)
        topic_names = list(V.TOPICS)
        topic_w = np.array([V.TOPICS[t][0] for t in topic_names])
        self.topic: I32 = rng.choice(len(topic_names), size=n, p=topic_w / topic_w.sum()).astype(
            np.int32
        )
        vocab: list[str] = list(V.GENERAL_HASHTAGS)
        topic_start, topic_len = [], []
        for t in topic_names:
            topic_start.append(len(vocab))
            topic_len.append(len(V.TOPICS[t][1]))
            vocab.extend(V.TOPICS[t][1])
        self.hashtags: list[str] = vocab
        self.hashtag_lower: dict[str, list[int]] = {}
        for i, h in enumerate(vocab):
            self.hashtag_lower.setdefault(h.lower(), []).append(i)
        h_rng = _rng(self.seed, 4)
        self.hashtag_ids: I64 = (
            h_rng.integers(1_500_000_000, 1_700_000_000, size=len(vocab)) << 32
        ) | h_rng.integers(0, 1 << 32, size=len(vocab))
        ts = np.array(topic_start)[self.topic]
        tl = np.array(topic_len)[self.topic]
        slots = np.full((n, 6), -1, dtype=np.int64)
        n_topic = rng.choice(5, size=n, p=[0.18, 0.27, 0.27, 0.18, 0.10])
        for j in range(4):
            pick = ts + np.floor(rng.random(n) ** 2 * tl).astype(np.int64)
            slots[:, j] = np.where(n_topic > j, pick, -1)
        n_gen = rng.choice(3, size=n, p=[0.45, 0.35, 0.20])
        for j in range(2):
            pick = np.floor(rng.random(n) ** 2 * len(V.GENERAL_HASHTAGS)).astype(np.int64)
            slots[:, 4 + j] = np.where(n_gen > j, pick, -1)
        slots.sort(axis=1)
        dup = np.zeros_like(slots, dtype=bool)
        dup[:, 1:] = slots[:, 1:] == slots[:, :-1]
        slots[dup] = -1
        # shuffle inside rows so that the order is not alphabetical by index
        keys = rng.random(slots.shape)
        keys[slots < 0] = 2.0
        slots = np.take_along_axis(slots, np.argsort(keys, axis=1), axis=1)
        counts = (slots >= 0).sum(axis=1)
        self.tag_ptr: I64 = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.tag_idx: I32 = slots[slots >= 0].astype(np.int32)

        # descriptions: phrase + emoji + hashtags (vectorised with polars)
        phrases: list[str] = []
        phrase_start, phrase_len = [], []
        for t in topic_names:
            phrase_start.append(len(phrases))
            phrase_len.append(len(V.TOPICS[t][2]))
            phrases.extend(V.TOPICS[t][2])
        pidx = np.array(phrase_start)[self.topic] + np.floor(
            rng.random(n) * np.array(phrase_len)[self.topic]
        ).astype(np.int64)
        empty_desc = rng.random(n) < 0.03
        emoji = rng.integers(0, len(V.EMOJI), size=n)
        flat_names = pl.Series("h", vocab).gather(pl.Series(self.tag_idx))
        tag_lists = pl.Series(
            "tags",
            pa.ListArray.from_arrays(
                pa.array(self.tag_ptr.astype(np.int32)), flat_names.to_arrow()
            ),
        )
        frame = pl.DataFrame(
            {
                "phrase": pl.Series(phrases).gather(pl.Series(pidx)),
                "emoji": pl.Series(V.EMOJI).gather(pl.Series(emoji)),
                "tags": tag_lists,
                "empty": pl.Series(empty_desc),
            }
        )
        desc = frame.select(
            pl.when(pl.col("empty"))
            .then(pl.lit(""))
            .otherwise(
                pl.concat_str(
                    [
                        pl.col("phrase"),
                        pl.col("emoji"),
                        pl.lit(" "),
                        pl.col("tags").list.eval(pl.lit("#") + pl.element()).list.join(" "),
                        pl.lit(" "),
                    ]
                )
            )
            .alias("d")
        )["d"]
        self.description: pl.Series = desc

        self.voice_idx: I32 = np.where(
            rng.random(n) < self._voice_share_by_region()[self.region],
            rng.integers(0, len(V.VOICE_PHRASES), size=n),
            -1,
        ).astype(np.int32)
        n_music = max(50, n // 15)
        m_rng = _rng(self.seed, 5)
        m_time = m_rng.integers(_day_start(dt.date(2021, 1, 1)), t1, size=n_music)
        self.music_ids: I64 = (m_time << 32) | m_rng.integers(0, 1 << 32, size=n_music)
        self.music_index: dict[int, int] = {int(m): i for i, m in enumerate(self.music_ids)}
        self.music: I32 = np.floor(rng.random(n) ** 3 * n_music).astype(np.int32)
        n_effects = 300
        self.effect_ids: list[str] = [
            str(x) for x in 10_000_000 + m_rng.choice(90_000_000, size=n_effects, replace=False)
        ]
        self.effect_index: dict[str, int] = {e: i for i, e in enumerate(self.effect_ids)}
        self.effect: I32 = np.where(
            rng.random(n) < 0.12, np.floor(rng.random(n) ** 2 * n_effects), -1
        ).astype(np.int32)
        science = topic_names.index("science")
        self.is_stem: B = np.where(self.topic == science, rng.random(n) < 0.4, rng.random(n) < 0.01)
        self.sticker: I32 = np.where(
            rng.random(n) < 0.08, rng.integers(0, len(V.STICKERS), size=n), -1
        ).astype(np.int32)
        self.mention: I32 = np.where(
            rng.random(n) < 0.05, rng.integers(0, self.n_creators, size=n), -1
        ).astype(np.int32)
        election = topic_names.index("election")
        self.election_label: B = (self.topic == election) & (rng.random(n) < 0.6)
        tag_draw = rng.random(n)
        self.video_tag: I32 = np.select(
            [tag_draw < 0.015, tag_draw < 0.03, tag_draw < 0.045], [1, 2, 3], 0
        ).astype(np.int32)
        self.playlist_of: I64 = np.full(n, -1, dtype=np.int64)

        # videos of each author (row indices, by increasing id)
        self.by_author: I64 = np.argsort(self.author, kind="stable").astype(np.int64)
        self.author_ptr: I64 = np.searchsorted(
            self.author[self.by_author], np.arange(self.n_users + 1)
        ).astype(np.int64)
        extra = np.concatenate(
            [
                _rng(self.seed, 6).pareto(1.3, size=self.n_creators),
                _rng(self.seed, 10).pareto(1.3, size=self.n_users - self.n_creators),
            ]
        )
        self.video_count: I64 = np.diff(self.author_ptr) + np.floor(extra * 5).astype(np.int64)
        likes_by_author = np.bincount(
            self.author, weights=self.like_count.astype(np.float64), minlength=self.n_users
        )
        self.likes_total: I64 = likes_by_author.astype(np.int64)
        self.video_index_of: dict[int, int] | None = None
        self._deleted_at: npt.NDArray[np.float64] | None = None  # explicit deletions, unix time
        self._deleted_comments: dict[int, float] = {}
        self.unreturnable: B = self._pick_unreturnable()

    def _voice_share_by_region(self) -> npt.NDArray[np.float64]:
        """The chance of ``voice_to_text`` for a video of each region (index of ``REGIONS``):
        ``voice_to_text_rate`` on average over the corpus, in proportion to the region weights."""
        rate = self.config.voice_to_text_rate
        weights = np.ones(len(REGIONS))
        for code, w in (self.config.voice_to_text_region_weights or {}).items():
            weights[REGION_INDEX[code]] = w
        mean = float(
            (np.bincount(self.region, minlength=len(REGIONS)) * weights).sum() / self.n_videos
        )
        share: npt.NDArray[np.float64] = np.minimum(1.0, rate * weights / mean) if mean else weights
        return share

    def _pick_unreturnable(self) -> B:
        """The visible videos that exist but are never returned (``missing_video_rate``).

        Exactly ``round(rate x visible videos)`` of them, stable for a seed: whole accounts first
        (in an order fixed by a hash of the account and the seed, each account that still fits)
        up to ``missing_account_share`` of that number, then single videos with the lowest hash
        of their id.
        """
        out: B = np.zeros(self.n_videos, dtype=bool)
        rate = self.config.missing_video_rate
        visible = ~self.hidden
        target = round(rate * int(visible.sum()))
        if target == 0:
            return out
        per_author = np.bincount(self.author[visible], minlength=self.n_creators)
        salt = (_SALT_MISSING_ACCOUNT ^ (self.seed << 32)) % (1 << 64)
        order = np.argsort(_unit(np.arange(self.n_creators, dtype=np.int64), salt), kind="stable")
        room = int(target * self.config.missing_account_share)
        taken: list[int] = []
        for user in order.tolist():  # accounts that still fit, in the hashed order
            size = int(per_author[user])
            if 0 < size <= room:
                taken.append(user)
                room -= size
                if room == 0:
                    break
        out[np.isin(self.author, taken) & visible] = True
        rest = np.flatnonzero(visible & ~out)
        more = target - int(out.sum())
        if more > 0:
            u = _unit(self.ids[rest], _SALT_MISSING_VIDEO)
            out[rest[np.argpartition(u, more - 1)[:more]]] = True
        return out

    def _build_playlists(self) -> None:
        rng = _rng(self.seed, 7)
        counts = np.diff(self.author_ptr)
        eligible = np.flatnonzero(counts >= 3)
        n_pl = min(len(eligible), max(5, self.n_videos // 200))
        owners = (
            rng.choice(eligible, size=n_pl, replace=False) if n_pl else np.array([], dtype=np.int64)
        )
        self.playlist_ids: list[int] = []
        self.playlist_names: list[str] = []
        self.playlist_videos: list[I64] = []
        self.playlist_owner: list[int] = []
        names = (
            "Part 1",
            "recipes",
            "storytime",
            "tutorials",
            "travel diary",
            "my cats",
            "series 🎬",
            "Q&A",
        )
        for k, owner in enumerate(owners):
            rows = self.by_author[self.author_ptr[owner] : self.author_ptr[owner + 1]]
            rows = rows[~self.hidden[rows]]
            size = min(len(rows), int(rng.integers(3, 61)))
            if size < 1:
                continue
            chosen = np.sort(rng.choice(rows, size=size, replace=False))
            chosen = chosen[self.playlist_of[chosen] < 0]
            if chosen.size == 0:
                continue
            pid = int((int(self.create_time[chosen[0]]) << 32) | int(rng.integers(0, 1 << 32)))
            self.playlist_of[chosen] = len(self.playlist_ids)
            self.playlist_ids.append(pid)
            self.playlist_names.append(f"{names[k % len(names)]}")
            self.playlist_videos.append(chosen.astype(np.int64))
            self.playlist_owner.append(int(owner))
        self.playlist_index: dict[int, int] = {p: i for i, p in enumerate(self.playlist_ids)}

    def _build_shops(self) -> None:
        rng = _rng(self.seed, 8)
        n_shops = 60
        self.shop_names: list[str] = []
        seen: set[str] = set()
        while len(self.shop_names) < n_shops:
            word = V.SHOP_WORDS[rng.integers(len(V.SHOP_WORDS))]
            kind = V.SHOP_KINDS[rng.integers(len(V.SHOP_KINDS))]
            name = f"{word} {kind} {V.SHOP_SUFFIX[rng.integers(len(V.SHOP_SUFFIX))]}"
            if name not in seen:
                seen.add(name)
                self.shop_names.append(name)
        self.shop_names[0] = "TEST SHOP"
        self.shop_ids: I64 = 7_400_000_000_000_000_000 + rng.integers(0, 10**15, size=n_shops)
        self.shop_index: dict[int, int] = {int(s): i for i, s in enumerate(self.shop_ids)}
        self.shop_rating: npt.NDArray[np.float64] = np.round(rng.uniform(3.0, 5.0, size=n_shops), 1)
        self.shop_review_count: I64 = np.floor(rng.pareto(1.2, size=n_shops) * 800).astype(np.int64)
        self.shop_sold: I64 = np.floor(rng.pareto(1.0, size=n_shops) * 20_000).astype(np.int64)
        self.shop_perf: I64 = rng.integers(1, 101, size=n_shops)
        n_prod = rng.integers(0, 45, size=n_shops)
        n_prod[0] = 23
        self.product_ptr: I64 = np.concatenate([[0], np.cumsum(n_prod)]).astype(np.int64)
        total = int(self.product_ptr[-1])
        self.product_ids: I64 = 1_729_000_000_000_000_000 + rng.integers(0, 10**15, size=total)
        self.product_index: dict[int, int] = {int(p): i for i, p in enumerate(self.product_ids)}
        self.product_shop: I64 = np.repeat(np.arange(n_shops), n_prod)
        self.product_noun: I32 = rng.integers(0, len(V.PRODUCT_NOUNS), size=total).astype(np.int32)
        self.product_price: npt.NDArray[np.float64] = np.round(
            rng.lognormal(2.8, 0.7, size=total), 2
        )
        self.product_sold: I64 = np.floor(rng.pareto(1.0, size=total) * 900).astype(np.int64)
        self.product_stars: I64 = np.floor(
            rng.pareto(1.1, size=(total, 5)) * np.array([10, 5, 10, 40, 200])
        ).astype(np.int64)

    # ------------------------------------------------------------------ the corpus over time
    # The corpus changes with the sandbox clock, counted in whole days since the epoch (the clock's
    # first reading): at day 0 it is exactly the generated corpus. Each video (and comment) has a
    # fixed uniform number u from a hash of its id; it is deleted or made private from the first
    # day d with u > exp(-removal_rate * d), so removals only accumulate, deterministically for a
    # seed and a day. Counts grow as log(1 + d): deterministic, never shrinking.
    def gone(self, rows: Sequence[int] | I64, days: int = 0, now: float = -math.inf) -> B:
        """Which of ``rows`` are not returned any more ``days`` days after the epoch, at ``now``.

        Gone means hidden from the start (deleted or private before the epoch), removed as the
        days passed (``removal_rate``), or deleted with :meth:`delete` at or before ``now``.
        """
        rows = np.asarray(rows, dtype=np.int64)
        out: B = self.hidden[rows].copy()
        rate = self.config.active_removal_rate
        if days > 0 and rate > 0 and rows.size:
            out |= _unit(self.ids[rows], _SALT_REMOVE_VIDEO) > math.exp(-rate * days)
        if self._deleted_at is not None and rows.size:
            out |= self._deleted_at[rows] <= now
        return out

    def comment_gone(self, ids: I64, days: int = 0, now: float = -math.inf) -> B:
        """Which comment (or reply) ``ids`` are gone ``days`` days after the epoch, at ``now``."""
        ids = np.asarray(ids, dtype=np.int64)
        out: B = np.zeros(ids.size, dtype=bool)
        hidden = self.config.comment_hidden_share
        if hidden > 0 and ids.size:  # deleted or private from the start
            out |= _unit(ids, _SALT_HIDDEN_COMMENT) < hidden
        rate = self.config.active_removal_rate
        if days > 0 and rate > 0 and ids.size:
            out |= _unit(ids, _SALT_REMOVE_COMMENT) > math.exp(-rate * days)
        if self._deleted_comments and ids.size:
            out |= np.array(
                [self._deleted_comments.get(int(c), math.inf) <= now for c in ids.tolist()],
                dtype=bool,
            )
        return out

    def delete(self, rows: Sequence[int] | I64, now: float) -> None:
        """Delete the videos at ``rows`` from ``now`` on (tests: compliance, refresh)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self._deleted_at is None:
            self._deleted_at = np.full(self.n_videos, math.inf)
        self._deleted_at[rows] = np.minimum(self._deleted_at[rows], now)

    def delete_comments(self, ids: Iterable[int], now: float) -> None:
        """Delete the comments (or replies) ``ids`` from ``now`` on."""
        for c in ids:
            self._deleted_comments[int(c)] = min(self._deleted_comments.get(int(c), math.inf), now)

    def counts_at(self, rows: Sequence[int] | I64, days: int) -> dict[str, I64]:
        """View, like, comment, share and favorites counts of ``rows`` ``days`` days after the
        epoch: the generated counts at day 0, then growing (never shrinking) with each day."""
        rows = np.asarray(rows, dtype=np.int64)
        base = {name: getattr(self, name)[rows] for name in COUNT_FIELDS}
        growth = self.config.active_count_growth * math.log1p(max(days, 0))
        if growth <= 0 or rows.size == 0:
            return base
        rate = 0.01 + 0.19 * _unit(self.ids[rows], _SALT_GROWTH)
        out: dict[str, I64] = {}
        for name, arr in base.items():
            floor = 10.0 if name == "view_count" else 1.0  # views grow every day, even from 0
            inc = np.floor((arr.astype(np.float64) * rate + floor) * growth).astype(np.int64)
            out[name] = arr + inc
        return out

    # ------------------------------------------------------------------ video lookups
    def row_of_id(self, video_id: int) -> int | None:
        """The row of a video id, or None."""
        pos = int(np.searchsorted(self.ids, video_id))
        if pos < self.n_videos and int(self.ids[pos]) == video_id:
            return pos
        return None

    def window_rows(self, start: int, end: int) -> tuple[int, int]:
        """The contiguous rows that may hold videos created in ``[start, end]`` (unix seconds)."""
        a = int(np.searchsorted(self.id_hi, start - 80, side="left"))
        b = int(np.searchsorted(self.id_hi, end - 25, side="right"))
        return a, b

    def hashtag_mask(self, a: int, b: int, vocab_idx: Iterable[int]) -> B:
        """Rows ``a..b`` that carry one of the hashtags ``vocab_idx``."""
        lo, hi = int(self.tag_ptr[a]), int(self.tag_ptr[b])
        wanted = np.fromiter(vocab_idx, dtype=np.int32)
        hit = np.isin(self.tag_idx[lo:hi], wanted)
        cs = np.concatenate([[0], np.cumsum(hit, dtype=np.int64)])
        ptr = self.tag_ptr[a : b + 1] - lo
        result: B = (cs[ptr[1:]] - cs[ptr[:-1]]) > 0
        return result

    def keyword_mask(self, a: int, b: int, keywords: Sequence[str]) -> B:
        """Rows ``a..b`` whose description contains one of ``keywords`` (case-insensitive)."""
        lowered = self.description.slice(a, b - a).str.to_lowercase()
        mask = np.zeros(b - a, dtype=bool)
        for kw in keywords:
            mask |= lowered.str.contains(kw.lower(), literal=True).fill_null(False).to_numpy()
        return mask

    def video_hashtags(self, row: int) -> list[str]:
        """The hashtag names of the video at ``row``."""
        return [self.hashtags[i] for i in self.tag_idx[self.tag_ptr[row] : self.tag_ptr[row + 1]]]

    def video_records(
        self,
        rows: Sequence[int] | I64,
        fields: Sequence[str],
        *,
        missing_counts: bool = False,
        nul_usernames: bool = False,
        days: int = 0,
    ) -> list[dict[str, Any]]:
        """Videos at ``rows`` as the API renders them: only ``fields``, absent values omitted.

        ``days``: days passed since the epoch (counts grow with them, see :meth:`counts_at`).
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return []
        cols: dict[str, list[Any]] = {}
        want = set(fields)
        simple = {
            "id": self.ids,
            "create_time": self.create_time,
            "view_count": self.view_count,
            "like_count": self.like_count,
            "comment_count": self.comment_count,
            "share_count": self.share_count,
            "favorites_count": self.favorites_count,
            "video_duration": self.duration,
        }
        if days > 0 and want.intersection(COUNT_FIELDS):
            grown = self.counts_at(rows, days)
            for name in COUNT_FIELDS:
                del simple[name]
                if name in want:
                    cols[name] = grown[name].tolist()
        for name, arr in simple.items():
            if name in want:
                cols[name] = arr[rows].tolist()
        if "is_stem_verified" in want:
            cols["is_stem_verified"] = self.is_stem[rows].tolist()
        if "region_code" in want:
            cols["region_code"] = [REGIONS[r] for r in self.region[rows].tolist()]
        if "username" in want:
            names = [self.usernames[u] for u in self.author[rows].tolist()]
            if nul_usernames:
                names = [u[: len(u) // 2] + "\x00\x00\x00" + u[len(u) // 2 :] for u in names]
            cols["username"] = names
        if "video_description" in want:
            cols["video_description"] = self.description.gather(pl.Series(rows)).to_list()
        if "music_id" in want:
            cols["music_id"] = self.music_ids[self.music[rows]].tolist()
        if "hashtag_names" in want or "hashtag_info_list" in want:
            tags = [
                self.tag_idx[self.tag_ptr[r] : self.tag_ptr[r + 1]].tolist() for r in rows.tolist()
            ]
            if "hashtag_names" in want:
                cols["hashtag_names"] = [[self.hashtags[t] for t in ts] for ts in tags]
            if "hashtag_info_list" in want:
                cols["hashtag_info_list"] = [
                    [
                        {"hashtag_id": int(self.hashtag_ids[t]), "hashtag_name": self.hashtags[t]}
                        | (
                            {"hashtag_description": f"Videos about {self.hashtags[t]}"}
                            if t % 3 == 0
                            else {}
                        )
                        for t in ts
                    ]
                    or None
                    for ts in tags
                ]
        effects = self.effect[rows].tolist()
        if "effect_ids" in want:
            cols["effect_ids"] = [[self.effect_ids[e]] if e >= 0 else None for e in effects]
        if "effect_info_list" in want:
            cols["effect_info_list"] = [
                [
                    {
                        "effect_id": self.effect_ids[e],
                        "effect_name": V.EFFECT_NAMES[e % len(V.EFFECT_NAMES)],
                        "effect_photo_url": f"https://sandbox.tiktok-research.invalid/effects/{self.effect_ids[e]}.png",
                    }
                ]
                if e >= 0
                else None
                for e in effects
            ]
        if "playlist_id" in want:
            cols["playlist_id"] = [
                self.playlist_ids[p] if p >= 0 else None for p in self.playlist_of[rows].tolist()
            ]
        if "voice_to_text" in want:
            cols["voice_to_text"] = [
                V.VOICE_PHRASES[v] if v >= 0 else None for v in self.voice_idx[rows].tolist()
            ]
        if "sticker_info_list" in want:
            cols["sticker_info_list"] = [
                [{"sticker_id": 5_600_000_000_000_000_000 + s, "sticker_name": V.STICKERS[s]}]
                if s >= 0
                else None
                for s in self.sticker[rows].tolist()
            ]
        if "video_mention_list" in want:
            cols["video_mention_list"] = [
                [self.usernames[m]] if m >= 0 else None for m in self.mention[rows].tolist()
            ]
        if "video_label" in want:
            cols["video_label"] = [
                {"content": "Get info on elections from trusted sources"} if e else None
                for e in self.election_label[rows].tolist()
            ]
        if "video_tag" in want:
            tag_values = {
                1: {"type": "AIGC Type", "number": 1},
                2: {"type": "AIGC Type", "number": 2},
                3: {"type": "Branded Type", "number": 1},
            }
            cols["video_tag"] = [
                [tag_values[t]] if t else None for t in self.video_tag[rows].tolist()
            ]
        order = [f for f in fields if f in cols]
        out: list[dict[str, Any]] = []
        for k in range(rows.size):
            rec = {f: cols[f][k] for f in order if cols[f][k] is not None}
            if missing_counts and k % 3 == 1:
                for key in ("like_count", "comment_count", "share_count"):
                    rec.pop(key, None)
            out.append(rec)
        return out

    # ------------------------------------------------------------------ user lookups
    def user_info(self, user: int) -> dict[str, Any]:
        """Every user-info field of account ``user`` (the API omits the username)."""
        info: dict[str, Any] = {
            "display_name": self.display_names[user],
            "bio_description": V.BIOS[self.bio_idx[user]],
            "avatar_url": (
                "https://p16-sign.sandbox-tiktokcdn.invalid/tos-avt-0068/"
                f"{(user * 2654435761) & 0xFFFFFFFF:08x}~c5_168x168.jpeg"
                "?x-expires=1735689600&x-signature=SANDBOX"
            ),
            "is_verified": bool(self.is_verified[user]),
            "follower_count": int(self.follower_count[user]),
            "following_count": int(self.following_count[user]),
            "likes_count": int(self.likes_total[user]),
            "video_count": int(self.video_count[user]),
        }
        if self.has_bio_url[user]:
            info["bio_url"] = f"https://linktr.invalid/{self.usernames[user]}"
        return info

    def user_rows(self, user: int) -> I64:
        """Row indices of the visible videos of ``user`` (increasing id)."""
        rows = self.by_author[self.author_ptr[user] : self.author_ptr[user + 1]]
        return rows[~self.hidden[rows]]

    def pinned(self, user: int) -> I64:
        """Up to three pinned videos (the most viewed ones) of ``user``, if the user pins any."""
        if (user * 7 + self.seed) % 5 >= 2:
            return np.array([], dtype=np.int64)
        rows = self.user_rows(user)
        top = rows[np.argsort(-self.view_count[rows], kind="stable")][:3]
        return top.astype(np.int64)

    def reposted(self, user: int) -> I64:
        """The reposted videos of ``user``, most recent repost first."""
        rng = _rng(self.seed, 20, user)
        k = int(min(self.n_videos // 4, 500, np.floor(rng.pareto(1.2) * 8)))
        rows = (
            rng.choice(self.n_videos, size=k, replace=False) if k else np.array([], dtype=np.int64)
        )
        rows = rows[~self.hidden[rows]]
        return rows.astype(np.int64)

    def _make_liked(self, user: int) -> TimedList:
        rng = _rng(self.seed, 21, user)
        k = int(min(self.n_videos // 4, 1000, np.floor(rng.pareto(1.0) * 30) + 1))
        rows = rng.choice(self.n_videos, size=k, replace=False)
        rows = rows[~self.hidden[rows]]
        room = np.clip(self.time_range[1] - self.create_time[rows], 61, 30 * 86_400)
        liked_at = self.create_time[rows] + rng.integers(60, room)
        liked_at, first = np.unique(liked_at, return_index=True)
        rows = rows[first]
        order = np.argsort(-liked_at, kind="stable")
        return TimedList(rows[order].astype(np.int64), liked_at[order].astype(np.int64))

    def liked(self, user: int) -> TimedList:
        """The liked videos of ``user`` with the time each was liked, most recent first."""
        result: TimedList = self._liked_cached(user)
        return result

    def _make_follow_list(self, user: int, kind: int) -> TimedList:
        rng = _rng(self.seed, 22 + kind, user)
        total = int(self.follower_count[user] if kind == 0 else self.following_count[user])
        # only public accounts are listed (api-notes §3.7), at most about FOLLOWERS_CAP of them
        pool = self.public_accounts
        me = int(np.searchsorted(pool, user))
        in_pool = me < pool.size and int(pool[me]) == user
        k = min(total, FOLLOWERS_CAP, pool.size - int(in_pool))
        if k <= 0:
            return TimedList(np.array([], dtype=np.int64), np.array([], dtype=np.int64))
        pick = rng.choice(pool.size - int(in_pool), size=k, replace=False)
        if in_pool:
            pick = pick + (pick >= me)  # never the user themself
        others = pool[pick]
        lo = int(self.user_created[user])
        hi = self.time_range[1]
        stamps = np.unique(rng.integers(lo, hi, size=others.size))
        others = others[: stamps.size]
        return TimedList(others.astype(np.int64), stamps[::-1].astype(np.int64))

    def followers(self, user: int) -> TimedList:
        """The visible followers of ``user`` (at most ~5,000), most recent first."""
        result: TimedList = self._followers_cached(user, 0)
        return result

    def following(self, user: int) -> TimedList:
        """The accounts ``user`` follows, most recent first."""
        result: TimedList = self._followers_cached(user, 1)
        return result

    # ------------------------------------------------------------------ comments
    def _make_comments(self, row: int) -> Comments:
        video_id = int(self.ids[row])
        n = int(min(self.comment_count[row], MAX_COMMENTS_PER_VIDEO))
        if self.hidden[row] or n == 0:
            empty = np.array([], dtype=np.int64)
            return Comments(
                empty, empty, empty, empty, np.array([], dtype=np.int32), video_id, video_id
            )
        rng = _rng(self.seed, 30, row)
        ct = (
            self.create_time[row]
            + np.floor(rng.exponential(2 * 86_400, size=n)).astype(np.int64)
            + 30
        )
        likes = np.sort(np.floor(rng.pareto(1.1, size=n) * 3).astype(np.int64))[::-1]
        replies = np.where(
            rng.random(n) < 0.3, np.floor(rng.pareto(1.3, size=n) * 2).astype(np.int64) + 1, 0
        )
        loc = (row << _COMMENT_BITS) | np.arange(n, dtype=np.int64)
        delay = rng.integers(25, 81, size=n)
        if self.config.id_layout == "published":
            ids = _comment_ids_published(loc, ct, delay)
        else:
            ids = ((ct - delay) << 32) | _mix32(loc)
        text = rng.integers(0, len(V.COMMENT_TEXTS), size=n).astype(np.int32)
        return Comments(
            ids, ct.astype(np.int64), likes, replies.astype(np.int64), text, video_id, video_id
        )

    def comments(self, row: int) -> Comments:
        """The top-level comments of the video at ``row``, most liked first."""
        result: Comments = self._comments_cached(row)
        return result

    def locate_comment(self, comment_id: int) -> tuple[int, int] | None:
        """``(video row, comment index)`` of a top-level comment id; None for replies or unknown."""
        if self.config.id_layout == "published":
            found = _comment_loc_published(comment_id)
            if found is None:
                return None
            x = found
        else:
            x = _unmix32(comment_id & _M32)
        row, idx = x >> _COMMENT_BITS, x & ((1 << _COMMENT_BITS) - 1)
        if row >= self.n_videos:
            return None
        comments = self.comments(row)
        if idx < comments.ids.size and int(comments.ids[idx]) == comment_id:
            return row, idx
        return None

    def _make_replies(self, row: int, idx: int) -> Comments:
        parent = self.comments(row)
        parent_id = int(parent.ids[idx])
        n = int(min(parent.reply_count[idx], MAX_REPLIES_PER_COMMENT))
        rng = _rng(self.seed, 31, row, idx)
        ct = (
            parent.create_time[idx]
            + np.floor(rng.exponential(6 * 3600, size=n)).astype(np.int64)
            + 5
        )
        likes = np.sort(np.floor(rng.pareto(1.4, size=n)).astype(np.int64))[::-1]
        ids = ((ct - rng.integers(25, 81, size=n)) << 32) | rng.integers(0, 1 << 32, size=n)
        if self.config.id_layout == "published":
            ids = (ids & ~np.int64(_M32)) | _published_low(ids & _M32, ENTITY_COMMENT)
        text = rng.integers(0, len(V.COMMENT_TEXTS), size=n).astype(np.int32)
        return Comments(
            ids, ct, likes, np.zeros(n, dtype=np.int64), text, parent_id, int(self.ids[row])
        )

    def replies(self, row: int, idx: int) -> Comments:
        """The replies to comment ``idx`` of the video at ``row``, most liked first."""
        result: Comments = self._replies_cached(row, idx)
        return result

    # ------------------------------------------------------------------ shop
    def review_list(self, product: int) -> list[dict[str, Any]]:
        """All reviews of product row ``product`` (newest first)."""
        rng = _rng(self.seed, 40, product)
        n = int(min(self.product_stars[product].sum(), 60))
        stamps = np.sort(
            rng.integers(
                _day_start(dt.date(2024, 1, 1)) * 1000,
                _day_start(dt.date(2024, 12, 31)) * 1000,
                size=n,
            )
        )[::-1]
        ratings = ("ONE", "TWO", "THREE", "FOUR", "FIVE")
        stars = rng.choice(5, size=n, p=[0.05, 0.05, 0.1, 0.2, 0.6])
        name = self.product_name(product)
        return [
            {
                "product_name": name,
                "review_text": V.REVIEW_TEXTS[int(rng.integers(len(V.REVIEW_TEXTS)))],
                "review_like_count": int(rng.pareto(1.5) * 2),
                "create_time": int(stamps[i]),
                "review_rating": ratings[int(stars[i])],
            }
            for i in range(n)
        ]

    def product_name(self, product: int) -> str:
        """The name of product row ``product``."""
        shop = self.shop_names[int(self.product_shop[product])].split()[0]
        return f"{shop} {V.PRODUCT_NOUNS[int(self.product_noun[product])]} #{product % 97}"

    def product_record(self, product: int) -> dict[str, Any]:
        """Every field of product row ``product``."""
        shop = int(self.product_shop[product])
        stars = self.product_stars[product]
        total = int(stars.sum())
        mean = float((stars * np.arange(1, 6)).sum() / total) if total else 0.0
        currency = V.CURRENCIES[shop % 2]
        rec: dict[str, Any] = {
            "product_id": int(self.product_ids[product]),
            "product_sold_count": int(self.product_sold[product]),
            "product_description": f"{self.product_name(product)}: a sandbox item.\nFree returns.",
            "product_price": [f"{self.product_price[product]:.2f}{currency}"],
            "product_review_count": total,
            "product_name": self.product_name(product),
            "product_rating": f"{mean:.1f}",
            "shop_name": self.shop_names[shop],
        }
        for k in range(5):
            rec[f"product_rating_{k + 1}_count"] = int(stars[k])
        return rec

    def shop_record(self, shop: int) -> dict[str, Any]:
        """Every field of shop ``shop``."""
        return {
            "shop_name": self.shop_names[shop],
            "shop_rating": f"{self.shop_rating[shop]:.1f}",
            "shop_review_count": int(self.shop_review_count[shop]),
            "item_sold_count": int(self.shop_sold[shop]),
            "shop_id": int(self.shop_ids[shop]),
            "shop_performance_value": int(self.shop_perf[shop]),
        }

    # ------------------------------------------------------------------ notebook and test helpers
    def top_hashtags(self, n: int = 10) -> list[str]:
        """The ``n`` most used hashtags of the corpus, most used first.

        Example:
            >>> Corpus.build(SandboxConfig(n_videos=2_000)).top_hashtags(3)[0] in ("fyp", "foryou")
            True
        """
        counts = np.bincount(self.tag_idx, minlength=len(self.hashtags))
        order = np.argsort(-counts, kind="stable")[:n]
        return [self.hashtags[i] for i in order]

    def hashtag_count(self, name: str) -> int:
        """How many visible videos carry hashtag ``name`` (case-insensitive)."""
        idx = self.hashtag_lower.get(name.lower(), [])
        mask = self.hashtag_mask(0, self.n_videos, idx) & ~self.hidden
        return int(mask.sum())

    def sample_usernames(self, n: int = 10, seed: int = 0, *, kind: str = "public") -> list[str]:
        """``n`` distinct usernames, reproducible from ``seed``.

        Args:
            n: how many.
            seed: sampling seed.
            kind: ``"public"`` (user info works, has videos), ``"private"`` (user info refused),
                ``"liked_public"``, ``"following_public"``, ``"reposts_public"``,
                ``"many_followers"`` (more than 5,000 followers) or ``"any"``. Picks come from
                the accounts that post videos (``n_users``), never from the audience.
        """
        has_videos = np.diff(self.author_ptr) > 0
        masks = {
            "any": np.ones(self.n_users, dtype=bool),
            "public": ~self.is_private & has_videos,
            "private": self.is_private,
            "liked_public": self.liked_public,
            "following_public": self.following_public & (self.following_count > 0),
            "reposts_public": self.reposts_public,
            "many_followers": ~self.is_private & (self.follower_count > FOLLOWERS_CAP),
        }
        if kind not in masks:
            raise ValueError(f"unknown kind {kind!r}; choose one of {sorted(masks)}")
        pool = np.flatnonzero(masks[kind][: self.n_creators])
        rng = np.random.default_rng(seed)
        chosen = rng.choice(pool, size=min(n, pool.size), replace=False)
        return [self.usernames[i] for i in chosen]

    def video_ids_with_comments(self, n: int = 10, *, min_comments: int = 1) -> list[int]:
        """Ids of ``n`` visible, returnable videos with at least ``min_comments`` comments, most
        first (never one of the ``unreturnable`` videos)."""
        ok = np.flatnonzero(
            ~self.hidden & ~self.unreturnable & (self.comment_count >= min_comments)
        )
        top = ok[np.argsort(-self.comment_count[ok], kind="stable")][:n]
        return [int(self.ids[r]) for r in top]

    def sample_video_ids(self, n: int = 10, seed: int = 0) -> list[int]:
        """Ids of ``n`` visible, returnable videos, reproducible from ``seed`` (never one of the
        ``unreturnable`` videos: ``Sandbox.truth`` lists those)."""
        pool = np.flatnonzero(~self.hidden & ~self.unreturnable)
        rng = np.random.default_rng(seed)
        return [int(self.ids[r]) for r in rng.choice(pool, size=min(n, pool.size), replace=False)]

    def videos_frame(self) -> pl.DataFrame:
        """Ground truth: one row per video (hidden ones flagged), with its main columns."""
        return pl.DataFrame(
            {
                "id": self.ids,
                "create_time": self.create_time,
                "username": pl.Series([self.usernames[u] for u in self.author.tolist()]),
                "region_code": pl.Series(REGIONS).gather(pl.Series(self.region)),
                "view_count": self.view_count,
                "like_count": self.like_count,
                "comment_count": self.comment_count,
                "video_duration": self.duration,
                "video_description": self.description,
                "has_voice_to_text": self.voice_idx >= 0,
                "hidden": self.hidden,
                "unreturnable": self.unreturnable,
            }
        )

    def comment_summary(self, video_id: int) -> dict[str, int]:
        """Ground truth for one video at the epoch: top-level comments, how many the API returns
        (the top 1,000 less the hidden ones), hidden slots among those 1,000, and replies."""
        row = self.row_of_id(video_id)
        if row is None:
            return {"comments": 0, "returnable": 0, "hidden": 0, "replies": 0}
        c = self.comments(row)
        top = c.ids[:COMMENTS_CAP]
        hidden = int(self.comment_gone(top).sum())
        return {
            "comments": int(c.ids.size),
            "returnable": int(top.size) - hidden,
            "hidden": hidden,
            "replies": int(c.reply_count.sum()),
        }
