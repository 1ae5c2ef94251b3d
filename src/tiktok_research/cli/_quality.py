"""``quality``: how complete a collection is, read from its archive (sends nothing).

Also the one-line verdict the collection commands print at their end (:func:`verdict_line`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from . import _log
from ._app import app
from ._errors import InputError
from ._options import OverwriteOpt
from ._output import PAGE_FORMATS, check_output, remember, writing

log = logging.getLogger("tiktok_research")


@app.command()
def quality(
    source: Annotated[
        list[Path],
        typer.Argument(
            metavar="ARCHIVE_OR_COLLECTION",
            help="An archive folder (every collection in it), one collection folder "
            "(ARCHIVE/videos-...), or archive page files (.jsonl / .jsonl.gz).",
        ),
    ],
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Also write the whole report as one self-contained HTML page.",
        ),
    ] = None,
    markdown: Annotated[
        bool,
        typer.Option(
            "--markdown",
            help="Print the data statement (Markdown) for a methods "
            "section instead of the summary.",
        ),
    ] = False,
    overwrite: OverwriteOpt = False,
) -> None:
    """How complete is a collection? Windows and gaps, hidden slots, yield, sparse fields,
    strays and the API eras it straddles, from the raw archive (no request is sent).

    Exit codes: 0 the report was made (complete or not: read its verdict); 2 the path is not an
    archive, a collection folder or archive files.

    \b
    Examples:
      tiktok-research quality archive/
      tiktok-research quality archive/videos-15f033343b9e --html report.html
      tiktok-research quality archive/ --markdown > data-statement.md
    """
    from .. import _quality
    from ..errors import InvalidRequestError

    page = None
    if html is not None:  # checked before the archive is read: nothing replaced silently
        if html.is_dir():
            raise InputError(f"--html {html} is a folder; give a file name such as report.html")
        page = check_output(html, "--html", PAGE_FORMATS, overwrite=overwrite, stdout=False)
        page.claim("quality", sorted(str(p.resolve()) for p in source))
    try:
        report = _quality.quality(source if len(source) > 1 else source[0])
    except InvalidRequestError as exc:
        raise InputError(str(exc)) from None
    _log.echo(report.to_markdown() if markdown else str(report))
    if page is not None and page.path is not None:
        with writing(page.path):
            written = report.to_html(page.path)
        remember(page)
        _log.say(f"wrote {written}", err=markdown)


def verdict_line(folder: Path | None) -> str | None:
    """``quality: <verdict>`` for a collection folder, or None when it cannot be read (a
    report is never worth failing a collection for: the reason goes to the log)."""
    if folder is None:
        return None
    from .. import _quality

    try:
        return f"quality: {_quality.quality(folder).verdict()}"
    except Exception as exc:
        log.info("no quality verdict for %s: %s", folder, exc)
        return None
