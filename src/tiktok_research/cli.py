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
        AuthenticationError,
        InvalidRequestError,
        QuotaExhaustedError,
        ScopeNotAuthorizedError,
        ServerError,
        TikTokResearchError,
    )

    try:
        fn()
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

        q = _build_query(query, hashtag, keyword, region, username)
        client = _client(sandbox, max_requests)
        if dry_run:
            typer.echo(str(client.plan(q, start, end, max_total, fields=fields)))
            return
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


_MERGE_HELP = (
    "Merge JSON dumps (our archive, raw responses, curl-script and official-wrapper files) into "
    "one Parquet file per table, or with --dataset into hive Parquet datasets in bounded memory. "
    "Rows are de-duplicated on each table's key, keeping the most recently retrieved; every item "
    "skipped (a FIFO or device, a broken line, an error page, a gzip bomb...) is listed with its "
    "file and reason.\n\n"
    "Exit codes: 0 merged; 2 invalid input, nothing written (a path that does not exist, a "
    "pattern that matches no file, --out that is a file, --dataset that is a file or is not empty "
    "without --overwrite); 1 the tables could not be written (disk full, permission denied): the "
    "message names the path, and no half-written table is left in place.\n\n"
    "Example: tiktok-research merge 'dumps/*.json' --out merged/"
)


@app.command(help=_MERGE_HELP)
def merge(
    paths: Annotated[list[str], typer.Argument(help="Files, folders or globs of JSON dumps.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Folder for one Parquet file per table (default: merged/)."
        ),
    ] = None,
    dataset: Annotated[
        Path | None,
        typer.Option(
            help="Instead of --out: stream into hive Parquet datasets DIR/<table>/ in bounded "
            "memory (dumps larger than memory)."
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the tables of an earlier --dataset merge.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="One line per file, not only per file skipped.")
    ] = False,
) -> None:
    """Merge JSON dumps (our archive, raw responses, curl-script and official-wrapper files).

    Example: tiktok-research merge 'dumps/*.json' --out merged/
    """
    import logging

    from .merge import merge_dumps, missing_inputs

    # each skipped item is logged as it is met and listed in the summary: print it once
    logging.getLogger("tiktok_research.merge").setLevel(logging.ERROR)
    problems = missing_inputs(paths)
    if problems:
        _err("\n".join(f"error: {p}" for p in problems))
        raise typer.Exit(EXIT_INVALID)
    if out is not None and dataset is not None:
        _err("error: give --out (one file per table) or --dataset (Parquet datasets), not both")
        raise typer.Exit(EXIT_INVALID)
    folder = out if out is not None else Path("merged")
    if dataset is None and folder.exists() and not folder.is_dir():
        _err(f"error: --out {folder} is a file; give a folder (one Parquet file per table)")
        raise typer.Exit(EXIT_INVALID)
    try:
        try:
            result = merge_dumps(paths, dataset=dataset, overwrite=overwrite)
        except FileExistsError as exc:  # raised before anything is read or written
            _err(f"error: --dataset {exc}".replace("overwrite=True (--overwrite)", "--overwrite"))
            raise typer.Exit(EXIT_INVALID) from None
        if not result.report:
            _err(f"error: no file found in {', '.join(paths)}")
            raise typer.Exit(EXIT_INVALID)
        if dataset is None:
            _write_tables(result.tables, folder)
    except typer.Exit:
        raise
    except OSError as exc:
        where = exc.filename or dataset or folder
        _err(
            f"error: cannot write {where}: {exc.strerror or exc}. Nothing was replaced: free "
            "space (or fix the permissions) and run the same command again."
        )
        raise typer.Exit(EXIT_ERROR) from None
    except Exception as exc:  # never a traceback
        _err(f"error: unexpected {type(exc).__name__}: {exc} (please report it)")
        raise typer.Exit(EXIT_ERROR) from None
    typer.echo(result.summary(verbose=verbose))
    if dataset is None:
        typer.echo(f"wrote {len(result.tables)} table(s) to {folder}")


def _write_tables(tables: dict[str, Any], folder: Path) -> None:
    """One Parquet file per table, each written aside and renamed into place when complete."""
    import os

    from .io import write_parquet

    folder.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, Path]] = []
    try:
        for table, df in tables.items():
            tmp = folder / f".{table}.parquet.tmp"
            written.append((tmp, folder / f"{table}.parquet"))
            write_parquet(df, tmp, table=table)
        for tmp, final in written:
            os.replace(tmp, final)
    finally:
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)


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
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    seed: Annotated[int, typer.Option(help="Corpus seed.")] = 0,
    n_videos: Annotated[int | None, typer.Option(help="Corpus size.")] = None,
    latency: Annotated[float | None, typer.Option(help="Seconds added to every answer.")] = None,
    rate_limit_qps: Annotated[
        float | None, typer.Option(help="Answer 429 above this many requests per second.")
    ] = None,
    search_id_ttl: Annotated[int, typer.Option(help="Lifetime of a search_id, seconds.")] = 7200,
    daily_quota: Annotated[
        int | None, typer.Option(help="Requests per client and UTC day (default 1,000).")
    ] = None,
) -> None:
    """Run the sandbox as an HTTP server; point TIKTOK_RESEARCH_BASE_URL at the URL it prints.

    Credentials: client key "sandbox", client secret "sandbox".
    """
    from .sandbox import SandboxConfig, serve

    kw: dict[str, Any] = {"seed": seed, "search_id_ttl": search_id_ttl}
    if n_videos is not None:
        kw["n_videos"] = n_videos
    if latency is not None:
        kw["latency"] = latency
    if rate_limit_qps is not None:
        kw["rate_limit_qps"] = rate_limit_qps
    if daily_quota is not None:
        kw["daily_quota"] = {"research": daily_quota, "social": max(daily_quota, 20_000)}
    serve(host=host, port=port, config=SandboxConfig(**kw))


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
