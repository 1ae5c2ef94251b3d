"""Text options of ``tiktok-research sandbox serve`` turned into a :class:`SandboxConfig`.

Every error is a :class:`ValueError` whose message names the option, the bad value and the fix;
the command line prints it and exits with status 2.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from .._endpoints import ADLIB_ENDPOINTS, DAILY_QUOTA, VALIDATION_ENDPOINTS, QuotaFamily
from .._endpoints import ENDPOINTS as DATA_ENDPOINTS
from ._config import FAULT_KINDS, FaultConfig, SandboxConfig

FaultScript = list[tuple[str, str | None]]
ENDPOINTS_ALL: tuple[str, ...] = (*DATA_ENDPOINTS, *VALIDATION_ENDPOINTS, *ADLIB_ENDPOINTS)

_FAULT_HELP = (
    "give kind=rate pairs separated by commas (rates between 0 and 1, e.g. "
    "'internal_error=0.05,gateway_timeout=0.02'; also rate_limit_burst=N and "
    "endpoints=video_query+comments), or the path of a fault script file (one fault kind per "
    "line, optionally followed by an endpoint name; 'ok' for a request without a fault). "
    f"Fault kinds: {', '.join(FAULT_KINDS)}"
)


def parse_fault_rates(text: str) -> dict[str, Any]:
    """``"internal_error=0.05,rate_limit=0.01"`` -> keyword arguments of :class:`FaultConfig`.

    Example:
        >>> parse_fault_rates("internal_error=0.05, rate_limit_burst=4")
        {'internal_error': 0.05, 'rate_limit_burst': 4}
    """
    out: dict[str, Any] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = (x.strip() for x in part.partition("="))
        if not sep or not value:
            raise ValueError(f"--faults: {part!r} is not kind=rate; {_FAULT_HELP}")
        if key in FAULT_KINDS:
            try:
                rate = float(value)
            except ValueError:
                raise ValueError(
                    f"--faults: the rate of {key} must be a number between 0 and 1, got {value!r}"
                ) from None
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"--faults: the rate of {key} must be between 0 and 1, got {rate}")
            out[key] = rate
        elif key == "rate_limit_burst":
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"--faults: rate_limit_burst must be 1 or more, got {value!r}")
            out[key] = int(value)
        elif key == "endpoints":
            names = frozenset(n.strip() for n in value.replace("+", " ").split())
            unknown = sorted(names - set(ENDPOINTS_ALL))
            if unknown or not names:
                raise ValueError(
                    f"--faults: unknown endpoint(s) {', '.join(unknown) or value!r}; "
                    f"choose from {', '.join(ENDPOINTS_ALL)} (joined with +)"
                )
            out[key] = names
        else:
            raise ValueError(f"--faults: unknown fault kind {key!r}; {_FAULT_HELP}")
    return out


def parse_fault_script(path: Path) -> FaultScript:
    """Read a fault script: one ``kind [endpoint]`` per line; ``#`` starts a comment.

    Example file::

        # the first video query page fails twice, then works
        internal_error video_query
        gateway_timeout video_query
        ok
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"--faults: cannot read the fault script {str(path)!r}: {exc}") from None
    script: FaultScript = []
    for number, raw in enumerate(text.splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        kind, endpoint = words[0], (words[1] if len(words) > 1 else None)
        if len(words) > 2 or (kind != "ok" and kind not in FAULT_KINDS):
            raise ValueError(
                f"--faults: line {number} of {path} is {raw.strip()!r}; each line is a fault kind "
                f"({', '.join(FAULT_KINDS)} or ok), optionally followed by an endpoint name"
            )
        if endpoint is not None and endpoint not in ENDPOINTS_ALL:
            raise ValueError(
                f"--faults: line {number} of {path}: unknown endpoint {endpoint!r}; "
                f"choose from {', '.join(ENDPOINTS_ALL)}"
            )
        script.append((kind, endpoint))
    if not script:
        raise ValueError(f"--faults: the fault script {path} holds no fault")
    return script


def parse_faults(values: list[str], seed: int) -> tuple[FaultConfig, FaultScript]:
    """Every ``--faults`` value (rates or script files) -> seeded rates and a fault script."""
    rates: dict[str, Any] = {}
    script: FaultScript = []
    for value in values:
        if "=" in value:
            rates.update(parse_fault_rates(value))
        elif Path(value).is_file():
            script.extend(parse_fault_script(Path(value)))
        else:
            raise ValueError(
                f"--faults: {value!r} is neither kind=rate pairs nor an existing file; "
                + _FAULT_HELP
            )
    total = sum(v for k, v in rates.items() if k in FAULT_KINDS)
    if total > 1.0:
        raise ValueError(f"--faults: the fault rates add up to {total:g}; keep their sum at most 1")
    return FaultConfig(seed=seed, **rates), script


def parse_clock(text: str) -> dt.datetime:
    """A start time for the sandbox clock: ISO 8601 (UTC unless an offset is given) or YYYYMMDD.

    Example:
        >>> parse_clock("2025-01-15T12:00").isoformat()
        '2025-01-15T12:00:00+00:00'
        >>> parse_clock("20250115").isoformat()
        '2025-01-15T00:00:00+00:00'
    """
    raw = text.strip()
    try:
        if len(raw) == 8 and raw.isdigit():
            moment = dt.datetime.strptime(raw, "%Y%m%d")
        else:
            moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--clock: {text!r} is not a time; write it like 2025-01-15T12:00:00Z, 2025-01-15 "
            "or 20250115 (UTC unless an offset such as +01:00 is given)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def serve_config(
    *,
    seed: int,
    n_videos: int | None,
    n_users: int | None,
    latency: float | None,
    rate_limit_qps: float | None,
    search_id_ttl: int,
    daily_quota: int | None,
    social_quota: int | None,
    token_ttl: int,
    quota_error: str,
    expired_search_id: str,
    faults: list[str],
    fault_seed: int,
    clock: str | None,
    index_lag_hours: float,
    removal_rate: float | None,
    count_growth: float | None,
    validation_processing: float | None,
    realistic: bool = False,
    frozen_corpus: bool = False,
) -> tuple[SandboxConfig, FaultScript]:
    """The configuration and fault script of ``sandbox serve`` from its option values.

    ``realistic``: start from :meth:`SandboxConfig.realistic` (every data-quality finding of
    api-notes §14 on; the other options still apply). ``frozen_corpus``: the corpus never changes
    with the clock (``--removal-rate`` and ``--count-growth`` cannot be given with it).
    """
    if frozen_corpus and (removal_rate is not None or count_growth is not None):
        raise ValueError(
            "--frozen-corpus keeps the corpus as generated: drop --removal-rate and --count-growth"
        )
    if quota_error not in ("daily_quota_limit_exceeded", "rate_limit_exceeded"):
        raise ValueError(
            f"--quota-error must be daily_quota_limit_exceeded or rate_limit_exceeded, "
            f"got {quota_error!r}"
        )
    if expired_search_id not in ("error", "reissue"):
        raise ValueError(f"--expired-search-id must be error or reissue, got {expired_search_id!r}")
    for name, value in (("--latency", latency), ("--index-lag-hours", index_lag_hours)):
        if value is not None and (value < 0 or value != value):
            raise ValueError(f"{name} must be 0 or more, got {value}")
    fault_config, script = parse_faults(faults, fault_seed)
    kw: dict[str, Any] = {
        "seed": seed,
        "search_id_ttl": search_id_ttl,
        "token_ttl": token_ttl,
        "quota_error_code": quota_error,
        "expired_search_id": expired_search_id,
        "faults": fault_config,
        "index_lag_hours": index_lag_hours,
    }
    optional = {
        "n_videos": n_videos,
        "n_users": n_users,
        "latency": latency,
        "rate_limit_qps": rate_limit_qps,
        "removal_rate": removal_rate,
        "count_growth": count_growth,
        "validation_processing_seconds": validation_processing,
    }
    kw.update({k: v for k, v in optional.items() if v is not None})
    quota: dict[QuotaFamily, int] = dict(DAILY_QUOTA)
    if daily_quota is not None:
        quota["research"] = daily_quota
    if social_quota is not None:
        quota["social"] = social_quota
    kw["daily_quota"] = quota
    if clock is not None:
        kw["clock_start"] = parse_clock(clock)
    if frozen_corpus:
        kw["frozen_corpus"] = True
    try:
        return (SandboxConfig.realistic(**kw) if realistic else SandboxConfig(**kw)), script
    except ValueError as exc:  # name the option, not the field
        message = str(exc)
        for field, option in (
            ("n_videos", "--n-videos"),
            ("n_users", "--n-users"),
            ("token_ttl", "--token-ttl"),
            ("search_id_ttl", "--search-id-ttl"),
            ("rate_limit_qps", "--rate-limit-qps"),
            ("removal_rate", "--removal-rate"),
            ("count_growth", "--count-growth"),
            ("validation_processing_seconds", "--validation-processing"),
            ("daily quota of 'research'", "--daily-quota"),
            ("daily quota of 'social'", "--social-quota"),
        ):
            message = message.replace(field, option)
        raise ValueError(message) from None
