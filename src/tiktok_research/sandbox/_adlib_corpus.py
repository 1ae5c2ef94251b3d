"""The sandbox's ad library (api-notes §12): advertisers, their ads, and commercial content.

Built from the Research corpus on first use (so a sandbox that never sees an ad query pays
nothing for it), deterministic from the seed:

* **advertisers** with 16- or 19-digit ``business_id``, a name, a country (mostly the EEA), who
  paid, and a TikTok account: for most, a public account of the Research corpus (its
  ``profile_url`` is ``https://www.tiktok.com/@<username>``), so ads join to accounts;
* **ads** published from 2022-10-01 to the end of the corpus's dates, each by one advertiser,
  targeting one to five countries of :data:`~tiktok_research._endpoints.AD_COUNTRIES`, with
  reach (unique users seen) in total and by country, age and gender, targeting, and for a few a
  rejection;
* **commercial content**: videos of the Research corpus by public creators of the EEA, labelled
  paid partnership or promotional content and naming brands, so that commercial content joins to
  Research API videos and accounts by video id and username.

Reach by age and by gender: a 2026 script describes them without a captured shape (api-notes
§12.3.2); the sandbox answers them as maps like ``unique_users_seen_by_country``
(``unique_users_seen_by_age``, ``unique_users_seen_by_gender``): an assumption, not a fact.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._endpoints import AD_COUNTRIES, ADLIB_EARLIEST, EEA_COUNTRIES, video_url

if TYPE_CHECKING:
    from ._corpus import Corpus

I64 = npt.NDArray[np.int64]

AGE_GROUPS: tuple[str, ...] = ("13-17", "18-24", "25-34", "35-44", "45-54", "55+")
GENDERS: tuple[str, ...] = ("female", "male", "other_genders")
REACH_GENDERS: tuple[str, ...] = ("female", "male", "unknown")

_BRAND_WORDS = (
    "Nordic", "Aurora", "Brava", "Cielo", "Delta", "Elba", "Fjord", "Gaia", "Helio", "Isola",
    "Juno", "Kora", "Luma", "Mistral", "Nova", "Orla", "Piazza", "Quarzo", "Riva", "Sole",
    "Tundra", "Umbra", "Vento", "Wald", "Xenia", "Zefiro", "Baltic", "Alpen", "Douro", "Rhein",
)  # fmt: skip
_BRAND_KINDS = (
    "Coffee Roasters", "Cosmetics", "Mobile", "Energy", "Fashion", "Bank", "Airlines", "Foods",
    "Games", "Sportswear", "Telecom", "Insurance", "Pharmacy", "Motors", "Travel", "Beauty",
    "Streaming", "Furniture", "Pet Care", "Electronics",
)  # fmt: skip
_COMPANY_SUFFIX = {
    "DE": "GmbH", "AT": "GmbH", "IT": "S.p.A.", "FR": "SAS", "ES": "S.L.", "NL": "B.V.",
    "BE": "NV", "PL": "Sp. z o.o.", "RO": "SRL", "SE": "AB", "DK": "ApS", "FI": "Oy",
    "IE": "Ltd", "GB": "Ltd", "PT": "Lda", "CZ": "s.r.o.", "CH": "AG", "US": "Inc.",
}  # fmt: skip
_ADVERTISER_COUNTRIES = (
    "DE", "FR", "IT", "ES", "NL", "PL", "RO", "SE", "BE", "AT", "IE", "PT", "CZ", "DK", "FI",
    "GB", "CH", "US",
)  # fmt: skip
_ADVERTISER_COUNTRY_W = (
    14, 12, 10, 9, 6, 6, 4, 3, 3, 3, 3, 2, 2, 2, 2, 8, 3, 8,
)  # fmt: skip
# rough EEA populations (millions): how often a country is targeted and how reach splits
_COUNTRY_W = {
    "DE": 84, "FR": 68, "IT": 59, "ES": 48, "PL": 37, "RO": 19, "NL": 18, "BE": 12, "CZ": 11,
    "SE": 10, "PT": 10, "GR": 10, "HU": 10, "AT": 9, "BG": 6, "DK": 6, "FI": 6, "SK": 5,
    "IE": 5, "HR": 4, "LT": 3, "SI": 2, "LV": 2, "EE": 1, "CY": 1, "LU": 1, "MT": 1, "IS": 1,
    "LI": 1, "NO": 6, "GB": 67, "CH": 9,
}  # fmt: skip
_CTA = ("Shop now", "Learn more", "Download", "Sign up", "Book now", "Watch more", "Order now")
_OBJECTIVES = ("Reach", "Traffic", "Video views", "Conversions", "App promotion", "Lead generation")
_INTERESTS = (
    "News & Entertainment", "Business Services", "Beauty & Personal Care", "Games",
    "Food & Beverage", "Travel", "Sports & Outdoors", "Apparel & Accessories", "Tech & Electronics",
    "Financial Services", "Education", "Home Improvement",
)  # fmt: skip
_VIDEO_INTERACTIONS = ("Entertainment", "Sports", "Beauty", "Gaming", "Food", "Travel", "Music")
_CREATOR_INTERACTIONS = ("Talent", "Lifestyle", "Comedy", "Fitness", "Tech", "Fashion")
_REJECTION_REASONS = (
    "Misleading claims",
    "Prohibited product or service",
    "Unsupported landing page",
    "Intellectual property infringement",
    "Inappropriate content for minors",
)
_HEADLINES = (
    "{brand}: new season, new look",
    "Try {brand} free for 30 days",
    "{brand} - up to 40% off this week",
    "Discover what {brand} can do for you",
    "{brand}. Made for every day",
    "Join 1 million people who switched to {brand}",
    "Your next trip starts with {brand}",
)


def bucket(n: int) -> str:
    """A count as the library writes it: a whole number below 1000 and K, M or B (api-notes
    §12.3.1).

    Example:
        >>> bucket(450), bucket(11_900), bucket(2_400_000)
        ('0K', '11K', '2M')
    """
    if n < 1_000_000:
        return f"{n // 1_000}K"
    if n < 1_000_000_000:
        return f"{n // 1_000_000}M"
    return f"{min(n // 1_000_000_000, 999)}B"


def bucket_value(text: str) -> int | None:
    """The number a bucket such as ``"120K"`` stands for (its lower bound), or None if malformed.

    Example:
        >>> bucket_value("120K"), bucket_value("2M"), bucket_value("1.1M")
        (120000, 2000000, None)
    """
    text = text.strip()
    if len(text) < 2 or text[-1] not in "KMB" or not text[:-1].isdigit():
        return None
    number = int(text[:-1])
    if number >= 1000:
        return None
    return number * {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}[text[-1]]


def _desc(text: str) -> tuple[int, ...]:
    """A key that sorts ``text`` in descending order (ids compared as text, longest first)."""
    return (-len(text), *(-ord(c) for c in text))


def _day_number(day: dt.date) -> int:
    return int(day.strftime("%Y%m%d"))


def _opaque(kind: str, value: int) -> str:
    """A commercial-content id in the doc's form (``v09044g40000ce6enu3c77u36l73sp20``)."""
    digest = hashlib.sha256(f"{kind}:{value}".encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    tail = "".join(alphabet[b % 36] for b in digest[:20])
    return "v09044g40000" + tail


@dataclass(frozen=True)
class AdRow:
    """One ad of the sandbox's library (its values; the handlers pick the fields asked for)."""

    index: int
    id: int
    advertiser: int
    first_shown: dt.date
    last_shown: dt.date
    status: str
    countries: tuple[str, ...]
    reach: int


class AdLibrary:
    """The ads, advertisers and commercial content of one sandbox (built from its corpus).

    Example:
        >>> from tiktok_research.sandbox import Corpus, SandboxConfig
        >>> lib = AdLibrary(Corpus.build(SandboxConfig(n_videos=2_000)))
        >>> len(lib.advertiser_ids) > 0 and lib.ad_ids.size > 0
        True
    """

    def __init__(self, corpus: Corpus, *, n_advertisers: int = 150, n_ads: int = 2_000) -> None:
        self.corpus = corpus
        seed = corpus.seed
        self.first_day = max(
            dt.date(int(ADLIB_EARLIEST[:4]), int(ADLIB_EARLIEST[4:6]), int(ADLIB_EARLIEST[6:])),
            corpus.config.start_date - dt.timedelta(days=456),
        )
        self.last_day = max(corpus.config.end_date, self.first_day)
        self._build_advertisers(np.random.default_rng([seed, 501]), n_advertisers)
        self._build_ads(np.random.default_rng([seed, 502]), n_ads)
        self._build_content(np.random.default_rng([seed, 503]))

    # ------------------------------------------------------------------ advertisers
    def _build_advertisers(self, rng: np.random.Generator, n: int) -> None:
        corpus = self.corpus
        long_ids = rng.integers(7_000_000_000_000_000_000, 7_300_000_000_000_000_000, size=n)
        short_ids = rng.integers(1_000_000_000_000_000, 9_000_000_000_000_000, size=n)
        ids = np.where(rng.random(n) < 0.65, long_ids, short_ids).astype(np.int64)
        self.advertiser_ids: I64 = np.unique(ids)
        rng.shuffle(self.advertiser_ids)
        n = self.advertiser_ids.size
        weights = np.array(_ADVERTISER_COUNTRY_W, dtype=float)
        country_idx = rng.choice(len(_ADVERTISER_COUNTRIES), size=n, p=weights / weights.sum())
        self.advertiser_country: list[str] = [_ADVERTISER_COUNTRIES[i] for i in country_idx]
        names: list[str] = []
        seen: set[str] = set()
        for i in range(n):
            word = _BRAND_WORDS[int(rng.integers(len(_BRAND_WORDS)))]
            kind = _BRAND_KINDS[int(rng.integers(len(_BRAND_KINDS)))]
            name = f"{word} {kind} {_COMPANY_SUFFIX.get(self.advertiser_country[i], 'Ltd')}"
            k = 2
            while name in seen:
                name = f"{word} {kind} {k} {_COMPANY_SUFFIX.get(self.advertiser_country[i], 'Ltd')}"
                k += 1
            seen.add(name)
            names.append(name)
        self.advertiser_names: list[str] = names
        self.brand_names: list[str] = [" ".join(n.split()[:2]) for n in names]
        agency = rng.random(n) < 0.2
        self.paid_for_by: list[str] = [
            f"{self.brand_names[int(rng.integers(n))].split()[0]} Media Holding"
            if agency[i]
            else names[i]
            for i in range(n)
        ]
        # most advertisers have an account of the Research corpus (public, the most-followed
        # creators first): ads join to accounts by the username in `profile_url`
        public = corpus.public_accounts[corpus.public_accounts < corpus.n_creators]
        order = np.argsort(-corpus.follower_count[public], kind="stable")
        pool = public[order][: max(n, 1) * 2]
        linked = rng.random(n) < 0.7
        picks = rng.choice(pool, size=n, replace=pool.size < n) if pool.size else np.zeros(n, int)
        self.advertiser_user: list[int | None] = [
            int(picks[i]) if linked[i] and pool.size else None for i in range(n)
        ]
        self.advertiser_followers: I64 = np.floor(rng.pareto(1.0, size=n) * 5_000).astype(np.int64)
        self.advertiser_index: dict[int, int] = {
            int(b): i for i, b in enumerate(self.advertiser_ids.tolist())
        }

    def advertiser_handle(self, adv: int) -> str:
        """The TikTok handle of advertiser ``adv`` (an account of the corpus for most)."""
        user = self.advertiser_user[adv]
        if user is not None:
            return self.corpus.usernames[user]
        return self.brand_names[adv].lower().replace(" ", "_")

    def advertiser_record(self, adv: int) -> dict[str, Any]:
        """Every advertiser value, keyed as the detail answer nests them."""
        user = self.advertiser_user[adv]
        followers = (
            int(self.corpus.follower_count[user])
            if user is not None
            else int(self.advertiser_followers[adv])
        )
        handle = self.advertiser_handle(adv)
        return {
            "business_id": int(self.advertiser_ids[adv]),
            "business_name": self.advertiser_names[adv],
            "country_code": self.advertiser_country[adv],
            "paid_for_by": self.paid_for_by[adv],
            "tiktok_account": {
                "profile_url": f"https://www.tiktok.com/@{handle}",
                "avatar_url": (
                    f"https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/{handle}.jpeg"
                    "?x-expires=1790000000&x-signature=SANDBOX"
                ),
                "follower_count": followers,
            },
        }

    # ------------------------------------------------------------------ ads
    def _build_ads(self, rng: np.random.Generator, n: int) -> None:
        n_adv = self.advertiser_ids.size
        ids = np.unique(rng.integers(10**18, 9 * 10**18, size=n, dtype=np.int64))
        rng.shuffle(ids)
        n = ids.size
        self.ad_ids: I64 = ids
        w = 1.0 / np.arange(1, n_adv + 1) ** 0.8
        self.ad_advertiser = rng.choice(n_adv, size=n, p=w / w.sum()).astype(np.int64)
        span = (self.last_day - self.first_day).days + 1
        first = rng.integers(0, span, size=n)
        duration = np.minimum(rng.geometric(1 / 21, size=n), 180)
        self.ad_first = first.astype(np.int64)
        self.ad_last = np.minimum(first + duration - 1, span - 1).astype(np.int64)
        self.ad_format = rng.choice(3, size=n, p=[0.7, 0.25, 0.05])  # video, images, text
        self.ad_reach = np.floor(rng.lognormal(9.5, 1.8, size=n)).astype(np.int64)
        self.ad_rejected = rng.random(n) < 0.03
        self.ad_seed = rng.integers(0, 2**31, size=n)
        countries = list(_COUNTRY_W)
        cw = np.array([_COUNTRY_W[c] for c in countries], dtype=float)
        cw /= cw.sum()
        self.ad_countries: list[tuple[str, ...]] = []
        k = rng.choice(5, size=n, p=[0.4, 0.25, 0.15, 0.1, 0.1]) + 1
        for i in range(n):
            picked = rng.choice(len(countries), size=int(k[i]), replace=False, p=cw)
            self.ad_countries.append(tuple(sorted(countries[j] for j in picked)))
        assert set(countries) <= set(AD_COUNTRIES)
        # the order of every ad answer: newest first (first shown), then id descending
        self.ad_order: I64 = np.lexsort((-self.ad_ids, -self.ad_first)).astype(np.int64)
        self.ad_index: dict[int, int] = {int(a): i for i, a in enumerate(self.ad_ids.tolist())}

    def day(self, offset: int) -> dt.date:
        """The day ``offset`` days after the library's first day."""
        return self.first_day + dt.timedelta(days=int(offset))

    def ad(self, i: int) -> AdRow:
        """The values of ad ``i``."""
        last = self.day(int(self.ad_last[i]))
        status = (
            "active" if (self.last_day - last).days <= 3 and not self.ad_rejected[i] else "inactive"
        )
        return AdRow(
            index=i,
            id=int(self.ad_ids[i]),
            advertiser=int(self.ad_advertiser[i]),
            first_shown=self.day(int(self.ad_first[i])),
            last_shown=last,
            status=status,
            countries=self.ad_countries[i],
            reach=int(self.ad_reach[i]),
        )

    def ad_values(self, i: int) -> dict[str, Any]:
        """Every value of ad ``i`` under the keys of the detail answer (``ad``, ``advertiser``,
        ``ad_group``), before the fields asked for are picked."""
        row = self.ad(i)
        rng = np.random.default_rng(int(self.ad_seed[i]))
        brand = self.brand_names[row.advertiser]
        slug = f"{row.id:x}"
        fmt = int(self.ad_format[i])
        videos = (
            [
                {
                    "url": f"https://v16m.tiktokcdn.com/sandbox/ad/{slug}/{k}/?mime_type=video_mp4"
                    "&x-expires=1790000000&x-signature=SANDBOX"
                }
                for k in range(1 + int(rng.random() < 0.2))
            ]
            if fmt == 0
            else []
        )
        images = (
            [
                f"https://p16-sign.tiktokcdn.com/sandbox/ad/{slug}/{k}.jpeg"
                "?x-expires=1790000000&x-signature=SANDBOX"
                for k in range(1 + int(rng.integers(0, 3)))
            ]
            if fmt == 1
            else []
        )
        shares = rng.dirichlet(np.array([_COUNTRY_W[c] for c in row.countries], dtype=float))
        by_country = {
            c: bucket(int(row.reach * s)) for c, s in zip(row.countries, shares, strict=True)
        }
        ages = rng.dirichlet(np.array([0.3, 3.0, 3.0, 2.0, 1.2, 0.8]))
        by_age = {a: bucket(int(row.reach * s)) for a, s in zip(AGE_GROUPS, ages, strict=True)}
        genders = rng.dirichlet(np.array([4.0, 4.0, 0.4]))
        by_gender = {
            g: bucket(int(row.reach * s)) for g, s in zip(REACH_GENDERS, genders, strict=True)
        }
        ad: dict[str, Any] = {
            "id": row.id,
            "first_shown_date": _day_number(row.first_shown),
            "last_shown_date": _day_number(row.last_shown),
            "status": row.status,
            "status_statement": (
                "This ad was removed because it violates TikTok's advertising policies"
                if self.ad_rejected[i]
                else "This ad is being shown"
                if row.status == "active"
                else "This ad is no longer shown"
            ),
            "videos": videos,
            "image_urls": images,
            "reach": {
                "unique_users_seen": bucket(row.reach),
                "unique_users_seen_by_country": by_country,
                "unique_users_seen_by_age": by_age,
                "unique_users_seen_by_gender": by_gender,
            },
            "title": _HEADLINES[int(rng.integers(len(_HEADLINES)))].format(brand=brand),
            "external_url": f"https://www.{brand.split()[0].lower()}.example/offer/{slug}",
            "download_url": (
                f"https://apps.example/{brand.split()[0].lower()}" if rng.random() < 0.1 else ""
            ),
            "call_to_action": _CTA[int(rng.integers(len(_CTA)))],
            "advertising_objective": _OBJECTIVES[int(rng.integers(len(_OBJECTIVES)))],
        }
        if self.ad_rejected[i]:
            automated = rng.random() < 0.6
            ad["rejection_info"] = {
                "reasons": [_REJECTION_REASONS[int(rng.integers(len(_REJECTION_REASONS)))]],
                "affected_countries": list(
                    row.countries[: 1 + int(rng.integers(len(row.countries)))]
                ),
                "reporting_source": "TikTok" if automated else "User report",
                "automated_notice": (
                    "This decision was made by automated means" if automated else None
                ),
            }
        else:
            ad["rejection_info"] = None
        ages_on = rng.random(len(AGE_GROUPS)) < 0.7
        ages_on[0] = False  # no ads to minors targeted in the EU
        if not ages_on.any():
            ages_on[2] = True
        targeting = {
            "number_of_users_targeted": bucket(int(row.reach * (1.5 + rng.random() * 4))),
            "country": list(row.countries),
            "age": {a: bool(on) for a, on in zip(AGE_GROUPS, ages_on, strict=True)},
            "gender": {g: bool(rng.random() < 0.85) for g in GENDERS},
            "audience_targeting": "Yes" if rng.random() < 0.3 else "No",
            "video_interactions": _VIDEO_INTERACTIONS[int(rng.integers(len(_VIDEO_INTERACTIONS)))],
            "creator_interactions": _CREATOR_INTERACTIONS[
                int(rng.integers(len(_CREATOR_INTERACTIONS)))
            ],
            "interest": ", ".join(
                sorted({_INTERESTS[int(j)] for j in rng.integers(0, len(_INTERESTS), size=2)})
            ),
        }
        return {
            "ad": ad,
            "advertiser": self.advertiser_record(row.advertiser),
            "ad_group": {"targeting_info": targeting},
        }

    def ads_matching(
        self,
        first: dt.date,
        last: dt.date,
        *,
        countries: set[str] | None,
        advertisers: set[int] | None,
        term: str | None,
        fuzzy: bool,
        reach: tuple[int, int | None] | None,
        today: dt.date,
        retention_days: int | None,
    ) -> I64:
        """Indices of the ads matching a query, in answer order (newest first shown first).

        An ad matches when it was first shown within ``[first, last]``; it is not yet in the
        library before ``today``, and with ``retention_days`` it has left it that many days after
        it was last shown.
        """
        a = (first - self.first_day).days
        b = (last - self.first_day).days
        now = (today - self.first_day).days
        mask = (self.ad_first >= a) & (self.ad_first <= b) & (self.ad_first <= now)
        if retention_days is not None:
            mask &= self.ad_last >= now - retention_days
        if advertisers is not None:
            adv_rows = [
                self.advertiser_index[b_] for b_ in advertisers if b_ in self.advertiser_index
            ]
            mask &= np.isin(self.ad_advertiser, np.array(adv_rows, dtype=np.int64))
        if reach is not None:
            low, high = reach
            mask &= self.ad_reach >= low
            if high is not None:
                mask &= self.ad_reach <= high
        if countries is not None:
            mask &= np.array([bool(countries.intersection(c)) for c in self.ad_countries])
        if term:
            needle = term.lower()
            words = needle.split()
            hits = []
            for name in self.advertiser_names:
                text = name.lower()
                hits.append(any(w in text for w in words) if fuzzy else needle in text)
            mask &= np.array(hits, dtype=bool)[self.ad_advertiser]
        order = self.ad_order
        return order[mask[order]]

    def advertisers_matching(self, term: str) -> list[int]:
        """Advertisers whose name contains ``term`` (case-insensitive), by name."""
        needle = term.lower()
        hits = [i for i, n in enumerate(self.advertiser_names) if needle in n.lower()]
        return sorted(hits, key=lambda i: self.advertiser_names[i])

    # ------------------------------------------------------------------ commercial content
    def _build_content(self, rng: np.random.Generator) -> None:
        corpus = self.corpus
        from ._corpus import REGIONS

        eea = np.isin(np.array(REGIONS), np.array(EEA_COUNTRIES))
        region_ok = eea[corpus.region]
        author_public = ~corpus.is_private[corpus.author]
        picked = region_ok & author_public & ~corpus.hidden & (rng.random(corpus.n_videos) < 0.08)
        rows = np.flatnonzero(picked).astype(np.int64)
        ids = [_opaque("cc", int(corpus.ids[r])) for r in rows.tolist()]
        # the order of the answers: newest first, then content id descending
        order = sorted(range(rows.size), key=lambda j: (-int(corpus.create_time[rows[j]]),
                                                        _desc(ids[j])))  # fmt: skip
        self.content_rows: I64 = rows[np.array(order, dtype=np.int64)] if order else rows
        self.content_ids: list[str] = [ids[j] for j in order]
        n = self.content_rows.size
        self.content_label = (rng.random(n) < 0.35).astype(np.int64)  # 0 paid partnership, 1 promo
        n_brands = rng.choice(2, size=n, p=[0.8, 0.2]) + 1
        brand_pool = len(self.brand_names)
        self.content_brands: list[list[str]] = [
            [self.brand_names[int(j)] for j in rng.choice(brand_pool, size=int(k), replace=False)]
            for k in n_brands
        ]

    def content_country(self, k: int) -> str:
        """The creator country of commercial content ``k`` (its author's region)."""
        from ._corpus import REGIONS

        row = int(self.content_rows[k])
        return REGIONS[int(self.corpus.region[row])]

    def content_values(self, k: int, *, label_code: bool) -> dict[str, Any]:
        """Every value of commercial content ``k`` (before the fields asked for are picked)."""
        corpus = self.corpus
        row = int(self.content_rows[k])
        video_id = int(corpus.ids[row])
        username = corpus.usernames[int(corpus.author[row])]
        t = int(corpus.create_time[row])
        code = "2" if self.content_label[k] else "1"
        label = (
            code if label_code else ("Promotional content" if code == "2" else "Paid partnership")
        )
        return {
            "id": self.content_ids[k],
            "create_timestamp": t,
            "create_date": dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y%m%d"),
            "label": label,
            "brand_names": list(self.content_brands[k]),
            "creator": {"username": username},
            "videos": [
                {
                    "id": video_id,
                    "status": "active",
                    "url": video_url(username, video_id),
                    "cover_image_url": (
                        f"https://p16-sign.tiktokcdn.com/sandbox/cover/{video_id}.jpeg"
                        "?x-expires=1790000000&x-signature=SANDBOX"
                    ),
                }
            ],
        }

    def content_matching(
        self,
        first: dt.date,
        last: dt.date,
        *,
        country: str | None,
        usernames: set[str] | None,
    ) -> I64:
        """Indices of the commercial content created within ``[first, last]`` (newest first)."""
        corpus = self.corpus
        t = corpus.create_time[self.content_rows]
        start = int(dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC).timestamp())
        end = int(dt.datetime(last.year, last.month, last.day, tzinfo=dt.UTC).timestamp()) + 86_400
        mask = (t >= start) & (t < end)
        if country is not None:
            from ._corpus import REGION_INDEX

            mask &= corpus.region[self.content_rows] == REGION_INDEX[country]
        if usernames is not None:
            wanted = np.array(
                [corpus.user_index[u] for u in usernames if u in corpus.user_index], dtype=np.int64
            )
            mask &= np.isin(corpus.author[self.content_rows], wanted)
        return np.flatnonzero(mask).astype(np.int64)
