"""``tiktok-research``: a thin command line over the public functions.

Exit codes: 0 done and complete; 1 unexpected error; 2 invalid input (nothing was sent);
3 incomplete (quota, budget or items left: run the same command again to continue);
4 credentials or scope rejected; 5 the service kept failing.
"""

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="tiktok-research",
    help=(
        "Collect TikTok Research API data into Parquet, CSV or JSON Lines.\n\n"
        "Credentials come from TIKTOK_CLIENT_KEY / TIKTOK_CLIENT_SECRET; TIKTOK_RESEARCH_BASE_URL "
        "points at another server (e.g. `tiktok-research sandbox serve`). Add --sandbox to any "
        "collection command to use the built-in offline sandbox instead.\n\n"
        "Examples:\n\n"
        "  tiktok-research videos --hashtag climate --region US --start 2024-01-01 "
        "--end 2024-03-31 --out videos.parquet\n\n"
        "  tiktok-research select video-ids videos.parquet --min-comments 1 --out ids.txt\n\n"
        "  tiktok-research comments --from-file ids.txt --out comments.parquet\n\n"
        "  tiktok-research demo --out demo-output"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(help="The offline emulator of the Research API.", no_args_is_help=True)
select_app = typer.Typer(help="Pick ids or usernames for the next query.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(select_app, name="select")

EXIT_OK, EXIT_ERROR, EXIT_INVALID, EXIT_INCOMPLETE, EXIT_AUTH, EXIT_SERVER = 0, 1, 2, 3, 4, 5

ArchiveOpt = Annotated[
    Path, typer.Option(help="Raw archive folder: every page is kept here; needed to resume.")
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out", "-o", help="Output file: .parquet, .csv or .jsonl (default: <kind>.parquet)."
    ),
]
ResumeOpt = Annotated[
    bool, typer.Option("--resume/--no-resume", help="Continue an earlier run found in the archive.")
]
ProgressOpt = Annotated[
    bool | None,
    typer.Option("--progress/--no-progress", help="Progress bars (default: on a terminal)."),
]
SandboxOpt = Annotated[bool, typer.Option("--sandbox", help="Use the built-in offline sandbox.")]
BudgetOpt = Annotated[
    int | None, typer.Option("--max-requests", help="Stop cleanly before spending more requests.")
]
FromFileOpt = Annotated[
    Path | None,
    typer.Option("--from-file", "-f", help="Read items from a file, one per line ('-' for stdin)."),
]


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _client(sandbox: bool, max_requests: int | None) -> Any:
    from .client import Client

    if sandbox:
        return Client.sandbox(max_requests=max_requests)
    return Client(max_requests=max_requests)


def _read_items(items: list[str] | None, from_file: Path | None) -> list[str]:
    values = list(items or [])
    if from_file is not None:
        text = sys.stdin.read() if str(from_file) == "-" else from_file.read_text(encoding="utf-8")
        values.extend(line.strip() for line in text.splitlines())
    elif not values and not sys.stdin.isatty():
        values.extend(line.strip() for line in sys.stdin.read().splitlines())
    values = [v for v in values if v and not v.startswith("#")]
    if not values:
        raise typer.BadParameter("give items as arguments, with --from-file FILE, or on stdin")
    return values


def _write(df: Any, out: Path) -> Path:
    from . import io as tio

    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        tio.write_csv(df, out)
    elif suffix in (".jsonl", ".ndjson"):
        df.write_ndjson(out)
    elif suffix in (".parquet", ".pq"):
        tio.write_parquet(df, out)
    else:
        raise typer.BadParameter(
            f"unknown output format {out.suffix!r}: use .parquet, .csv or .jsonl"
        )
    return out


def _finish(result: Any, out: Path | None, kind: str) -> None:
    target = _write(result, out or Path(f"{kind}.parquet"))
    typer.echo(str(result.report))
    failures = result.failures
    if failures.height:
        typer.echo(f"{failures.height} item(s) failed:")
        for row in failures.head(20).iter_rows(named=True):
            typer.echo(f"  {row['item']}: {row['code']}: {row['message']} (log_id {row['log_id']})")
    typer.echo(f"wrote {result.height:,} rows to {target}")
    if not result.report.complete:
        raise typer.Exit(EXIT_INCOMPLETE)


def _run(fn: Any) -> None:
    """Call ``fn`` and turn the package's errors into messages and exit codes."""
    from .errors import (
        ArchiveError,
        AuthenticationError,
        CollectionLockedError,
        InvalidRequestError,
        QuotaExhaustedError,
        ScopeNotAuthorizedError,
        ServerError,
        TikTokResearchError,
    )

    try:
        fn()
    except (ArchiveError, CollectionLockedError) as e:
        _err(f"stopped: {e}")
        raise typer.Exit(EXIT_INCOMPLETE) from None
    except InvalidRequestError as e:
        _err(f"error: {e}")
        raise typer.Exit(EXIT_INVALID) from None
    except (AuthenticationError, ScopeNotAuthorizedError) as e:
        _err(f"error: {e}")
        raise typer.Exit(EXIT_AUTH) from None
    except QuotaExhaustedError as e:
        _err(f"stopped: {e}\nRun the same command after the reset to continue.")
        raise typer.Exit(EXIT_INCOMPLETE) from None
    except ServerError as e:
        _err(f"error: the service kept failing: {e}")
        raise typer.Exit(EXIT_SERVER) from None
    except TikTokResearchError as e:
        _err(f"error: {e}")
        raise typer.Exit(EXIT_ERROR) from None


def _build_query(
    query_json: str | None,
    hashtag: list[str] | None,
    keyword: list[str] | None,
    region: list[str] | None,
    username: list[str] | None,
) -> Any:
    from .query import Q, as_query

    if query_json:
        path = Path(query_json)
        text = path.read_text(encoding="utf-8") if path.exists() else query_json
        return as_query(json.loads(text))
    parts: list[Any] = []
    for name, values in (
        ("hashtag_name", hashtag),
        ("keyword", keyword),
        ("region_code", region),
        ("username", username),
    ):
        if values:
            f = getattr(Q, name)
            parts.append(f.eq(values[0]) if len(values) == 1 else f.isin(values))
    if not parts:
        raise typer.BadParameter(
            "give --query, or at least one of --hashtag/--keyword/--region/--username"
        )
    expr = parts[0]
    for p in parts[1:]:
        expr = expr & p
    return as_query(expr)


@app.command()
def videos(
    start: Annotated[str, typer.Option(help="First day (UTC), YYYY-MM-DD or YYYYMMDD.")],
    end: Annotated[str, typer.Option(help="Last day (UTC, inclusive).")],
    query: Annotated[str | None, typer.Option(help="Query as JSON text or a JSON file.")] = None,
    hashtag: Annotated[
        list[str] | None, typer.Option(help="Hashtag (repeat for any of several).")
    ] = None,
    keyword: Annotated[list[str] | None, typer.Option(help="Keyword in the description.")] = None,
    region: Annotated[list[str] | None, typer.Option(help="Region code, e.g. US.")] = None,
    username: Annotated[list[str] | None, typer.Option(help="Creator username.")] = None,
    fields: Annotated[
        str | None, typer.Option(help="Comma-separated fields (default: all).")
    ] = None,
    max_total: Annotated[int | None, typer.Option(help="Stop after this many videos.")] = None,
    dataset: Annotated[
        Path | None,
        typer.Option(
            help="Write a Parquet dataset (by month) window by window, for large collections."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the request plan and its cost.")
    ] = False,
    out: OutOpt = None,
    archive: ArchiveOpt = Path("tiktok-archive"),
    resume: ResumeOpt = True,
    progress: ProgressOpt = None,
    sandbox: SandboxOpt = False,
    max_requests: BudgetOpt = None,
) -> None:
    """Videos matching a query. Conditions given as flags are combined with AND.

    Example: tiktok-research videos --hashtag climate --start 2024-01-01 --end 2024-03-31
    """

    def go() -> None:
        from .fetch import fetch_videos
        from .plan import plan_videos

        q = _build_query(query, hashtag, keyword, region, username)
        if dry_run:  # a plan needs no credentials and sends nothing
            planner = _client(True, None) if sandbox else None
            typer.echo(str(plan_videos(q, start, end, max_total=max_total, fields=fields,
                                       client=planner)))  # fmt: skip
            return
        client = _client(sandbox, max_requests)
        if dataset is not None:
            from .fetch import collect_videos

            report = collect_videos(
                q,
                start,
                end,
                dataset,
                archive=archive,
                fields=fields,
                client=client,
                resume=resume,
                progress=progress,
            )
            typer.echo(str(report))
            typer.echo(f"dataset: {dataset} ({report.rows:,} rows)")
            if not report.complete:
                raise typer.Exit(EXIT_INCOMPLETE)
            return
        result = fetch_videos(
            q,
            start,
            end,
            fields=fields,
            max_total=max_total,
            client=client,
            archive=archive,
            resume=resume,
            progress=progress,
        )
        _finish(result, out, "videos")

    _run(go)


def _items_command(name: str, fetch_name: str, kind: str, what: str) -> None:
    def command(
        items: Annotated[
            list[str] | None, typer.Argument(help=f"{what} (or --from-file / stdin).")
        ] = None,
        from_file: FromFileOpt = None,
        out: OutOpt = None,
        archive: ArchiveOpt = Path("tiktok-archive"),
        resume: ResumeOpt = True,
        progress: ProgressOpt = None,
        sandbox: SandboxOpt = False,
        max_requests: BudgetOpt = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Print what would be asked.")
        ] = False,
    ) -> None:
        def go() -> None:
            from . import fetch

            values = _read_items(items, from_file)
            if dry_run:
                typer.echo(
                    f"{name}: {len(values)} item(s); at least {len(values)} request(s) "
                    "(one per item; more for items with several pages)"
                )
                return
            fn = getattr(fetch, fetch_name)
            result = fn(
                values,
                client=_client(sandbox, max_requests),
                archive=archive,
                resume=resume,
                progress=progress,
            )
            _finish(result, out, kind)

        _run(go)

    title = kind.replace("_", " ").capitalize()
    command.__doc__ = (
        f"{title} for each of the {what} given.\n\n"
        f"Example: tiktok-research {name} --from-file items.txt --out {kind}.parquet"
    )
    app.command(name=name)(command)


_items_command("users", "fetch_user_info", "users", "usernames")
_items_command("comments", "fetch_comments", "comments", "video ids")
_items_command("liked", "fetch_liked_videos", "liked_videos", "usernames")
_items_command("pinned", "fetch_pinned_videos", "pinned_videos", "usernames")
_items_command("reposted", "fetch_reposted_videos", "reposted_videos", "usernames")
_items_command("followers", "fetch_followers", "followers", "usernames")
_items_command("following", "fetch_following", "following", "usernames")
_items_command("playlists", "fetch_playlists", "playlists", "playlist ids")
_items_command("shops", "fetch_shops", "shops", "shop names")
_items_command("products", "fetch_products", "products", "shop ids")
_items_command("reviews", "fetch_reviews", "reviews", "product ids")


@app.command()
def merge(
    paths: Annotated[list[str], typer.Argument(help="Files, folders or globs of JSON dumps.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for one Parquet file per table.")
    ] = Path("merged"),
) -> None:
    """Merge JSON dumps (our archive, raw responses, curl-script and official-wrapper files).

    Example: tiktok-research merge 'dumps/*.json' --out merged/
    """
    from .io import write_parquet
    from .merge import merge_dumps

    result = merge_dumps(paths)
    out.mkdir(parents=True, exist_ok=True)
    for table, df in result.tables.items():
        write_parquet(df, out / f"{table}.parquet", table=table)
    typer.echo(result.summary())
    typer.echo(f"wrote {len(result.tables)} table(s) to {out}")


@select_app.command("video-ids")
def select_video_ids_cmd(
    table: Annotated[Path, typer.Argument(help="A videos table (.parquet).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Text file, one id per line.")
    ] = None,
    min_comments: Annotated[
        int | None, typer.Option(help="Only videos with this many comments.")
    ] = None,
    top: Annotated[int | None, typer.Option(help="Keep the first N.")] = None,
    by: Annotated[str, typer.Option(help="Rank by this column.")] = "comment_count",
) -> None:
    """Video ids for a follow-up query (e.g. comments).

    Example: tiktok-research select video-ids videos.parquet --min-comments 1 --out ids.txt
    """
    import polars as pl

    from .select import select_video_ids, write_lines

    ids = select_video_ids(pl.read_parquet(table), min_comments=min_comments, top=top, by=by)
    if out is None:
        typer.echo("\n".join(str(v) for v in ids.to_list()))
    else:
        write_lines(ids, out)
        typer.echo(f"wrote {ids.len():,} ids to {out}", err=True)


@select_app.command("usernames")
def select_usernames_cmd(
    table: Annotated[Path, typer.Argument(help="A videos, comments or users table (.parquet).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Text file, one name per line.")
    ] = None,
    top: Annotated[int | None, typer.Option(help="Keep the N most active.")] = None,
) -> None:
    """Unique usernames, most active first, for user-info or follower queries."""
    import polars as pl

    from .select import select_usernames, write_lines

    names = select_usernames(pl.read_parquet(table), top=top)
    if out is None:
        typer.echo("\n".join(names.to_list()))
    else:
        write_lines(names, out)
        typer.echo(f"wrote {names.len():,} usernames to {out}", err=True)


_SUMMARY_COLUMNS = (
    "creators",
    "view_count_sum",
    "view_count_median",
    "like_count_median",
    "comment_count_median",
    "engagement_rate_median",
    "engagement_rate_pooled",
)


@app.command()
def summary(
    table: Annotated[Path, typer.Argument(help="A videos table (.parquet) or dataset folder.")],
    by: Annotated[
        str, typer.Option(help="day, week, month, hashtag, region, creator, video_length, music")
    ] = "month",
    top: Annotated[int, typer.Option(help="Rows to show.")] = 20,
    wide: Annotated[
        bool, typer.Option("--wide", help="Every column (sums and quantiles).")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the summary (.csv/.parquet).")
    ] = None,
) -> None:
    """Engagement summary of a videos table.

    Example: tiktok-research summary videos.parquet --by hashtag
    """
    import polars as pl

    from .analysis import summarize

    df = (
        pl.read_parquet(table)
        if table.is_file()
        else pl.scan_parquet(f"{table}/**/*.parquet").collect()
    )
    result = summarize(df, by=by)  # type: ignore[arg-type]
    if out is not None:
        _write(result, out)
    shown = (
        result
        if wide
        else result.select(
            result.columns[0], "videos", *[c for c in result.columns if c in _SUMMARY_COLUMNS]
        )
    )
    with pl.Config(
        tbl_rows=top, tbl_cols=-1 if wide else 10, tbl_width_chars=200, fmt_str_lengths=30
    ):
        typer.echo(str(shown.head(top)))


@app.command()
def quota(
    sandbox: SandboxOpt = False,
) -> None:
    """Requests used and left today (UTC) for your client key, from the local ledger."""

    def go() -> None:
        client = _client(sandbox, None)
        typer.echo(str(client.quota))

    _run(go)


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
    clock: Annotated[
        str | None,
        typer.Option(
            help="Start time of the sandbox clock, e.g. 2025-01-15T12:00:00Z (default: now); "
            "it then runs from there. POST /_sandbox/advance moves it forward."
        ),
    ] = None,
    faults: Annotated[
        list[str] | None,
        typer.Option(
            help="Fault rates, e.g. internal_error=0.05,gateway_timeout=0.02,"
            "search_id_invalid=0.02,rate_limit=0.01 (kinds: "
            "internal_error, gateway_timeout, search_id_invalid, cursor_invalid, rate_limit, "
            "empty_page, error_with_valid_body, nul_usernames, missing_counts, task_failed), "
            "or a fault "
            "script file (one kind per line). Repeatable."
        ),
    ] = None,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault draws.")] = 0,
    token_ttl: Annotated[int, typer.Option(help="Lifetime of an access token, seconds.")] = 7200,
    daily_quota: Annotated[
        int | None, typer.Option(help="Research requests per client and UTC day (default 1,000).")
    ] = None,
    social_quota: Annotated[
        int | None,
        typer.Option(help="Followers/following requests per client and UTC day (default 20,000)."),
    ] = None,
    quota_error: Annotated[
        str,
        typer.Option(
            help="error.code of a quota stop: daily_quota_limit_exceeded or rate_limit_exceeded."
        ),
    ] = "daily_quota_limit_exceeded",
    expired_search_id: Annotated[
        str,
        typer.Option(
            help="A later page with an expired search_id: 'error' (400 Search Id N is invalid or "
            "expired) or 'reissue' (answered under a new search_id)."
        ),
    ] = "error",
    search_id_ttl: Annotated[int, typer.Option(help="Lifetime of a search_id, seconds.")] = 7200,
    rate_limit_qps: Annotated[
        float | None, typer.Option(help="Answer 429 above this many requests per second.")
    ] = None,
    latency: Annotated[float | None, typer.Option(help="Seconds added to every answer.")] = None,
    index_lag_hours: Annotated[
        float, typer.Option(help="Videos newer than this are not searchable yet.")
    ] = 48.0,
    removal_rate: Annotated[
        float | None,
        typer.Option(
            help="Share of videos and comments deleted or made private per sandbox day "
            "(default 0: the corpus never changes; 0.002 is about 6 % a month)."
        ),
    ] = None,
    count_growth: Annotated[
        float | None,
        typer.Option(help="How fast counts grow with sandbox days (default 0: frozen; try 1)."),
    ] = None,
    validation_processing: Annotated[
        float | None,
        typer.Option(help="Seconds a compliance task stays Processing (sandbox clock; 30)."),
    ] = None,
) -> None:
    """Run the sandbox as an HTTP server; point TIKTOK_RESEARCH_BASE_URL at the URL it prints.

    Credentials: client key "sandbox", client secret "sandbox". From the same machine,
    GET /_sandbox/stats counts the requests that reached it and POST /_sandbox/advance with
    {"days": 1} moves its clock.
    """
    from .sandbox import serve
    from .sandbox._options import serve_config

    try:
        config, script = serve_config(
            seed=seed, n_videos=n_videos, n_users=n_users, latency=latency,
            rate_limit_qps=rate_limit_qps, search_id_ttl=search_id_ttl,
            daily_quota=daily_quota, social_quota=social_quota, token_ttl=token_ttl,
            quota_error=quota_error, expired_search_id=expired_search_id, faults=faults or [],
            fault_seed=fault_seed, clock=clock, index_lag_hours=index_lag_hours,
            removal_rate=removal_rate, count_growth=count_growth,
            validation_processing=validation_processing,
        )  # fmt: skip
    except ValueError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_INVALID) from None
    try:
        serve(host=host, port=port, config=config, fault_script=script)
    except OSError as exc:
        _err(f"error: the sandbox cannot serve on {host}:{port} ({exc}); try another --port")
        raise typer.Exit(EXIT_INVALID) from None


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's output.")] = Path(
        "demo-output"
    ),
) -> None:
    """The end-to-end demo on the sandbox: videos, comments, users, Parquet, summary and plots."""
    from .demo import run_demo

    run_demo(out, echo=typer.echo)


def main() -> None:
    """Entry point of the ``tiktok-research`` command."""
    app()


if __name__ == "__main__":
    main()
