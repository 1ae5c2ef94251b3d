"""Commands of the offline sandbox: ``sandbox serve`` (the emulator as an HTTP server on
127.0.0.1) and ``demo`` (the end-to-end demo on the built-in sandbox)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._app import app, sandbox_app
from ._errors import InputError
from ._output import check_folder, writing

# The options of `sandbox serve` whose help takes more than a line.
_FaultsOpt = Annotated[
    list[str] | None,
    typer.Option(
        help="Fault rates, e.g. internal_error=0.05,gateway_timeout=0.02,"
        "search_id_invalid=0.02,rate_limit=0.01 (kinds: "
        "internal_error, gateway_timeout, search_id_invalid, cursor_invalid, rate_limit, "
        "empty_page, error_with_valid_body, nul_usernames, missing_counts, task_failed), "
        "or a fault "
        "script file (one kind per line). Repeatable."
    ),
]
_ClockOpt = Annotated[
    str | None,
    typer.Option(
        help="Start time of the sandbox clock, e.g. 2025-01-15T12:00:00Z (default: now); "
        "it then runs from there. POST /_sandbox/advance moves it forward."
    ),
]
_QuotaErrorOpt = Annotated[
    str,
    typer.Option(
        help="error.code of a quota stop: daily_quota_limit_exceeded or rate_limit_exceeded."
    ),
]
_ExpiredSearchIdOpt = Annotated[
    str,
    typer.Option(
        help="A later page with an expired search_id: 'error' (400 Search Id N is invalid or "
        "expired) or 'reissue' (answered under a new search_id)."
    ),
]
_RemovalRateOpt = Annotated[
    float | None,
    typer.Option(
        help="Share of videos and comments deleted or made private per sandbox day "
        "(default 0.002, about 6 % a month; 0 with --count-growth 0: the corpus never changes)."
    ),
]


@sandbox_app.command("serve")
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).", min=0, max=65535)] = 8000,
    seed: Annotated[int, typer.Option(help="Corpus seed.")] = 0,
    n_videos: Annotated[
        int | None, typer.Option(help="Corpus size in videos (default 20,000).")
    ] = None,
    n_users: Annotated[
        int | None, typer.Option(help="Accounts that post videos (default n-videos / 10).")
    ] = None,
    clock: _ClockOpt = None,
    faults: _FaultsOpt = None,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault draws.")] = 0,
    token_ttl: Annotated[int, typer.Option(help="Lifetime of an access token, seconds.")] = 7200,
    daily_quota: Annotated[
        int | None, typer.Option(help="Research requests per client and UTC day (default 1,000).")
    ] = None,
    social_quota: Annotated[
        int | None,
        typer.Option(help="Followers/following requests per client and UTC day (default 20,000)."),
    ] = None,
    quota_error: _QuotaErrorOpt = "daily_quota_limit_exceeded",
    expired_search_id: _ExpiredSearchIdOpt = "error",
    search_id_ttl: Annotated[int, typer.Option(help="Lifetime of a search_id, seconds.")] = 7200,
    rate_limit_qps: Annotated[
        float | None, typer.Option(help="Answer 429 above this many requests per second.")
    ] = None,
    latency: Annotated[float | None, typer.Option(help="Seconds added to every answer.")] = None,
    index_lag_hours: Annotated[
        float, typer.Option(help="Videos newer than this are not searchable yet.")
    ] = 48.0,
    removal_rate: _RemovalRateOpt = None,
    count_growth: Annotated[
        float | None,
        typer.Option(help="How fast counts grow with sandbox days (default 1; 0: frozen)."),
    ] = None,
    validation_processing: Annotated[
        float | None,
        typer.Option(help="Seconds a compliance task stays Processing (sandbox clock; 30)."),
    ] = None,
    realistic: Annotated[
        bool,
        typer.Option(
            "--realistic",
            help="The realistic profile: hidden slots, date ranges that always answer 500, "
            "videos never returned, username strays, sparse voice_to_text, short random "
            "samples, published id layout (documented rates: SandboxConfig.realistic).",
        ),
    ] = False,
) -> None:
    """Run the sandbox as an HTTP server; point TIKTOK_RESEARCH_BASE_URL at the URL it prints.

    Credentials: client key "sandbox", client secret "sandbox". From the same machine,
    GET /_sandbox/stats counts the requests that reached it and POST /_sandbox/advance with
    {"days": 1} moves its clock.

    \b
    Examples:
      tiktok-research sandbox serve --port 8000
      tiktok-research sandbox serve --realistic   # what real collections miss, known exactly
    """
    from ..sandbox import serve
    from ..sandbox._options import serve_config

    try:
        config, script = serve_config(
            seed=seed, n_videos=n_videos, n_users=n_users, latency=latency,
            rate_limit_qps=rate_limit_qps, search_id_ttl=search_id_ttl,
            daily_quota=daily_quota, social_quota=social_quota, token_ttl=token_ttl,
            quota_error=quota_error, expired_search_id=expired_search_id, faults=faults or [],
            fault_seed=fault_seed, clock=clock, index_lag_hours=index_lag_hours,
            removal_rate=removal_rate, count_growth=count_growth,
            validation_processing=validation_processing, realistic=realistic,
        )  # fmt: skip
    except ValueError as exc:
        raise InputError(str(exc)) from None
    try:
        serve(host=host, port=port, config=config, fault_script=script)
    except OSError as exc:
        raise InputError(
            f"the sandbox cannot serve on {host}:{port} ({exc}); try another --port"
        ) from None


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Folder for the demo's output.")
    ] = Path("demo-output"),
) -> None:
    """The end-to-end demo on the offline sandbox.

    Videos, comments, users, Parquet tables, an engagement summary and plots, in one folder.

    \b
    Example:
      tiktok-research demo --out demo-output
    """
    check_folder(out, "--out")
    from ..demo import run_demo

    with writing(out):
        run_demo(out, echo=typer.echo)
