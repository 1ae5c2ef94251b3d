"""The end-to-end demo: the whole workflow against the sandbox, served over real HTTP on 127.0.0.1.

``tiktok-research demo --out demo-output`` starts the sandbox with its realistic profile (what
published audits found the real service leaves out: hidden slots, a date range that always
fails, videos never returned, sparse fields; ``SandboxConfig.realistic``), plans and collects a
multi-month video query, selects video ids and usernames, collects comments and user info, writes
the raw archive and Parquet tables, prints an engagement summary, draws the plots and writes the
quality report of the collection (``quality.html``, ``data-statement.md``). With real credentials
the same steps run unchanged: only the client differs.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["run_demo"]

DEMO_START, DEMO_END = "2024-01-01", "2024-04-30"


def run_demo(
    out: str | Path, *, echo: Callable[[str], Any] = print, progress: bool | None = None
) -> dict[str, Any]:
    """Run the demo and write everything under ``out``.

    Args:
        out: Output folder (created).
        echo: Where the narration goes (the CLI passes ``typer.echo``).
        progress: Progress bars (None: only on a terminal).

    Returns:
        A dict with the tables (``videos``, ``comments``, ``users``), ``requests`` (what the
        sandbox charged, by endpoint), ``sent`` (requests sent), ``answers`` (the sandbox's
        answers, ``{(endpoint, HTTP status): n}``) and ``quality``.
    """
    from ._optional import require

    require("matplotlib", "starlette", "uvicorn", extra="demo", feature="the demo")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import polars as pl

    from . import analysis, plots
    from ._quality import quality
    from .client import Client
    from .errors import IncompleteCollectionWarning
    from .fetch import fetch_comments, fetch_user_info, fetch_videos
    from .io import write_parquet
    from .plan import plan_videos
    from .query import Q
    from .sandbox import Sandbox, SandboxConfig, run_server
    from .select import select_usernames, select_video_ids, write_lines

    out = Path(out)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    archive = out / "archive"
    t0 = time.monotonic()
    sandbox = Sandbox(SandboxConfig.realistic())
    with run_server(sandbox) as (base_url, sb):
        echo(
            f"sandbox serving the Research API at {base_url} (offline, synthetic data; realistic "
            "profile: what audits found the service leaves out)"
        )
        # Real use: Client() reads TIKTOK_CLIENT_KEY / TIKTOK_CLIENT_SECRET instead.
        ledger = sb.ledger_dir  # the sandbox's own quota (a folder removed with the sandbox)
        # One retry per failing request (the default is 4): a window of the realistic profile
        # that always answers 500 is narrowed down to its failing days instead of retried.
        client = Client(
            "sandbox", "sandbox", base_url=base_url, qps=20, ledger=ledger, max_retries=1
        )
        query = Q.hashtag_name.isin(
            ["climate", "climatechange", "sustainability"]
        ) & ~Q.region_code.eq("CN")
        echo(f"\nquery: {query!r}")
        echo(str(plan_videos(query, DEMO_START, DEMO_END, client=client)))

        with warnings.catch_warnings():
            # its gap is expected (the realistic profile): the report and the quality say so
            warnings.simplefilter("ignore", IncompleteCollectionWarning)
            videos = fetch_videos(
                query, DEMO_START, DEMO_END, client=client, archive=archive, progress=progress
            )
        echo(f"\n{videos.report}")
        write_parquet(videos, out / "videos.parquet", table="videos")

        ids = select_video_ids(videos, min_comments=1, top=25)
        write_lines(ids, out / "video_ids.txt")
        comments = fetch_comments(ids, client=client, archive=archive, progress=progress)
        echo(f"\n{comments.report}")
        write_parquet(comments, out / "comments.parquet", table="comments")

        names = select_usernames(videos, top=40)
        write_lines(names, out / "usernames.txt")
        users = fetch_user_info(names, client=client, archive=archive, progress=progress)
        echo(f"\n{users.report}")
        if users.failures.height:
            n = users.failures.height
            echo(f"{n} account(s) could not be read (kept in users_failures.parquet):")
            with pl.Config(tbl_rows=5, fmt_str_lengths=60):
                echo(str(users.failures.select("item", "code", "message").head(5)))
            write_parquet(users.failures, out / "users_failures.parquet")
        write_parquet(users, out / "users.parquet", table="users")
        spent = sb.requests_spent("sandbox")  # what it charged, by endpoint
        log = [
            r for r in sb.request_log if r.client_key == "sandbox" and r.endpoint != "oauth_token"
        ]
        sent = sum(client.requests_spent.values())
        answers = Counter((r.endpoint, r.status) for r in log)
        client.close()  # its connections to the server, before the server stops

    echo("\nengagement by month:")
    by_month = analysis.summarize(videos, by="month")
    with pl.Config(tbl_rows=12, tbl_cols=8, tbl_width_chars=140):
        echo(
            str(
                by_month.select(
                    "month",
                    "videos",
                    "creators",
                    "view_count_sum",
                    "view_count_median",
                    "engagement_rate_median",
                )
            )
        )
        echo("\ntop hashtags:")
        top = analysis.top_hashtags(videos, n=8)
        echo(
            str(
                top.select(
                    "hashtag", "videos", "creators", "view_count_sum", "engagement_rate_median"
                )
            )
        )

    drawings: dict[str, Callable[[Any], Any]] = {
        "engagement_over_time": lambda ax: plots.plot_engagement_over_time(
            videos, by="week", ax=ax
        ),
        "views_distribution": lambda ax: plots.plot_distribution(videos, "view_count", ax=ax),
        "top_hashtags": lambda ax: plots.plot_top_hashtags(videos, ax=ax),
        "regions": lambda ax: plots.plot_regions(videos, ax=ax),
        "views_vs_likes": lambda ax: plots.plot_views_vs_likes(videos, ax=ax),
        "comment_activity": lambda ax: plots.plot_comment_activity(comments, ax=ax),
    }
    for name, draw in drawings.items():
        fig, ax = plt.subplots(figsize=(8, 4.5))
        draw(ax)
        fig.tight_layout()
        fig.savefig(out / "plots" / f"{name}.png", dpi=110)
        plt.close(fig)

    report = quality(videos)
    report.to_html(out / "quality.html")
    (out / "data-statement.md").write_text(report.to_markdown(), encoding="utf-8")
    echo(f"\nquality of the video collection: {report.verdict()}")
    for gap in report.gaps.iter_rows(named=True):
        echo(
            f"  gap {gap['start_date']}..{gap['end_date']}: {gap['error_code']} (HTTP "
            f"{gap['http_status']}, log_id {gap['log_id']}): missing, not empty"
        )
    charged = sum(v for k, v in spent.items() if k != "oauth_token")
    per = ", ".join(f"{k} {v}" for k, v in sorted(spent.items()) if k != "oauth_token")
    free = Counter(r.status for r in log if not r.counted)
    said = ", ".join(f"{n} answered {status}" for status, n in sorted(free.items()))
    # the same words and figures as the reports above: their "sent" and "charged" add up to these
    echo(
        f"\nrequests: {sent} sent, {charged} charged by the sandbox's quota"
        + (f" ({said}, not charged: api-notes §11)" if said else "")
        + f"; charged by endpoint: {per}. A real project has 1,000 a day."
    )
    echo(
        f"wrote {out}/videos.parquet, comments.parquet, users.parquet, archive/, plots/, "
        f"quality.html, data-statement.md in {time.monotonic() - t0:.1f} s"
    )
    return {"videos": videos, "comments": comments, "users": users, "requests": spent,
            "sent": sent, "answers": answers, "quality": report}  # fmt: skip
