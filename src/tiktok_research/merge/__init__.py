"""Merge JSON dumps of any layout users keep on disk into de-duplicated typed tables.

Layouts read (detected from the content, whatever the file extension):

* our raw archive (``.jsonl`` / ``.jsonl.gz``, one envelope per line);
* one API response per file (pretty-printed or not);
* JSON Lines or concatenated JSON objects of responses (the ``{hashtag}_{YYYYMMDD}.json``,
  ``comments_{video_id}.json`` and ``{username}_info.json`` files that curl scripts append to,
  also as ``curl ... | jq . >> dump.json`` leaves them, pretty-printed);
* a JSON array of responses;
* a JSON array (or JSON lines) of bare records, as users save the official wrapper's lists.
* the answers of the ad library (the Commercial Content API: ads, ad details, reports,
  advertisers, commercial content) in any of the layouts above but bare records, read page by
  page into their own tables (``ads``, ``ad_details``...; :mod:`tiktok_research._adlib_tables`).

The endpoint of each page is detected from its keys (or read from the archive envelope); rows are
de-duplicated on the table's primary key, keeping the most recently retrieved (archive
``retrieved_at``, else the file's modification time, then position in the file). The username of a
user-info answer is recovered from the recorded request or from the file name
(``{username}_info.json``), the video id of comments from ``comments_{video_id}.json``.
Unreadable files, truncated or broken lines and error pages are reported with their path and line
number; everything readable is kept. A page file of a collection that is gzipped while the merge
runs is read from its ``.gz`` twin.

Two ways to merge:

* in memory (default): the tables come back as polars DataFrames;
* ``dataset=DIR``: the tables are streamed into hive-partitioned Parquet datasets, one per table
  under ``DIR/<table>/`` (tables with a ``create_time`` in ``create_month=YYYY-MM`` folders), in
  bounded memory. Rows are spilled to temporary files hash-partitioned on the primary key, then
  each partition is de-duplicated on its own, so the result equals the in-memory merge while peak
  memory does not grow with the input. Read the tables back with
  ``tiktok_research.io.read_dataset(DIR / "videos", table="videos")`` or ``result.scan("videos")``.
  A folder that is not empty is refused unless ``overwrite=True``: a second merge added to the
  first would hold every row twice.

Protections, for both ways (each skip is in the per-file report, with its reason):

* only regular files are opened: a FIFO, a socket or a device is reported and never opened (a FIFO
  would block the merge forever);
* JSON nested more deeply than Python's decoder allows (about 1,000 levels; real pages have fewer
  than 10) skips that line, or that file, instead of aborting the merge with ``RecursionError``;
* gzip files are inflated as a stream and stopped once past 64 MiB when the output exceeds
  ``max_inflate_ratio`` (default 200) times the compressed bytes read, or ``max_inflated_bytes``:
  a 1 MB file that would inflate to 1 GiB is detected after 64 MiB, never inflated whole. JSON
  dumps compress 5 to 15 times (the sample archive: 6.5x to 9.3x), so 200 leaves a wide margin;
  what was read before the stop is kept.

No file is read whole: large JSON-lines files stream through pyarrow's JSON reader, JSON arrays
and concatenated objects are split into values a block at a time, so memory is bounded by the
largest single page or record, not by the size of a file or of the input. Small files (one page
per file, as curl scripts and saved Postman answers leave them) are parsed many at a time: 10,000
of them take about 2 s (``benchmarks/bench_merge_dataset.py --small-files 10000``).

The parts, each in its own module: the inputs (``_inputs``: paths, folders, patterns), opening a
file safely (``_source``), what a file holds (``_detect``), splitting values (``_split``), rows and
the per-file report (``_file``, ``_report``), reading one file (``_reader``), many small files at
once (``_batch``), and the two sinks (``_memory``, ``_dataset``).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import polars as pl

from .. import _endpoints as ep
from .. import _eras, schemas
from ..errors import EraWarning, InvalidRequestError, warn_user
from ._batch import read_all
from ._dataset import ToDataset, partitions_for, prepare_dataset, publish
from ._detect import Sniffer
from ._file import Sink
from ._inputs import check_paths, expand, missing_inputs
from ._memory import InMemory
from ._reader import FileReader
from ._report import FileReport, MergeResult
from ._source import INFLATE_FLOOR, MAX_INFLATE_RATIO, Limits

__all__ = [
    "INFLATE_FLOOR",
    "MAX_INFLATE_RATIO",
    "FileReport",
    "MergeResult",
    "merge_dumps",
    "missing_inputs",
]


def _check_options(endpoint: object, dataset: object) -> None:
    """Refuse an unknown endpoint and a dataset that is not a path, before anything is read."""
    if endpoint is not None and endpoint not in ep.ENDPOINTS:
        raise InvalidRequestError(
            f"unknown endpoint {endpoint!r}; expected one of: {', '.join(ep.ENDPOINTS)}"
        )
    if dataset is not None and not isinstance(dataset, (str, Path)):
        raise InvalidRequestError(f"dataset must be a folder path, not {type(dataset).__name__}")


class _Spans:
    """A sink that notes, per table, the first and last retrieval of the rows passing to the real
    one, so that a merge of answers from both sides of a dated change of the API warns
    (:class:`~tiktok_research.errors.EraWarning`; rows with the ``retrieved_at`` of an archive
    envelope only)."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.spans: dict[str, tuple[datetime, datetime]] = {}
        self.lock = threading.Lock()
        self.readers: list[FileReader] = []

    def add(self, table: str, first: int, last: int, df: pl.DataFrame) -> None:
        if "_retrieved_at" in df.columns and df.height:
            # a file's modification time stands in for a missing retrieved_at when rows are
            # de-duplicated; it says nothing of when they were retrieved (a copy resets it)
            mtimes = [r.mtime for r in self.readers[first : last + 1]]
            dated = df["_retrieved_at"].filter(~df["_retrieved_at"].is_in(mtimes))
            lo, hi = dated.min(), dated.max()
            if isinstance(lo, datetime) and isinstance(hi, datetime):
                with self.lock:
                    a, b = self.spans.get(table, (lo, hi))
                    self.spans[table] = (min(a, lo), max(b, hi))
        self.inner(table, first, last, df)

    def warn(self) -> None:
        eras: list[_eras.Era] = []
        for table, (lo, hi) in self.spans.items():
            eras += [e for e in _eras.straddled(lo, hi, tables={table}) if e not in eras]
        if eras:
            warn_user(
                _eras.era_message(
                    sorted(eras, key=lambda e: e.start), "merge_dumps combines answers"
                ),
                EraWarning,
            )


def merge_dumps(
    paths_or_globs: str | Path | Iterable[str | Path],
    *,
    endpoint: str | None = None,
    dataset: str | Path | None = None,
    overwrite: bool = False,
    max_inflate_ratio: float | None = MAX_INFLATE_RATIO,
    max_inflated_bytes: int | None = None,
) -> MergeResult:
    """Merge dump files of any layout into de-duplicated typed tables.

    Args:
        paths_or_globs: files, folders (read recursively) or glob patterns (``"dumps/*.json"``).
        endpoint: force the endpoint (``_endpoints`` name) when the content cannot tell, e.g. bare
            follower records; pages of other endpoints are then skipped (reported).
        dataset: a folder: stream the tables into hive Parquet datasets ``dataset/<table>/`` in
            bounded memory instead of returning them (for dumps larger than memory). Tables with
            a ``create_time`` (videos, comments...) are partitioned by ``create_month``.
        overwrite: with ``dataset``: replace the tables of an earlier merge in that folder. Without
            it a folder that is not empty is refused (the rows would be there twice). Files
            inside ``dataset`` are never read as input.
        max_inflate_ratio: stop inflating a gzip file whose output passes this many times its
            compressed size (checked after the first 64 MiB); ``None`` for no limit.
        max_inflated_bytes: stop inflating a gzip file after this many bytes (default: no limit).

    Returns:
        A :class:`MergeResult`: ``result["videos"]``, ``result.tables``, ``result.report``, and
        ``print(result)`` for a summary of what was read and skipped. With ``dataset``, the tables
        are on disk: ``result.rows`` counts them, ``result.scan("videos")`` reads one lazily.

    Raises:
        InvalidRequestError: an unknown ``endpoint``, or inputs that are not paths (``None``).
        OutputExistsError: ``dataset`` is a file, or a folder that is not empty (and no
            ``overwrite``); checked before anything is read. (Also a ``FileExistsError``.)
        OSError: the dataset cannot be written (e.g. the disk is full); nothing is replaced.

    Example:
        >>> result = merge_dumps([])
        >>> result["videos"].height
        0
    """
    _check_options(endpoint, dataset)
    paths = check_paths(paths_or_globs)
    limits = Limits(max_inflate_ratio, max_inflated_bytes)
    target = Path(dataset) if dataset is not None else None
    staging = prepare_dataset(target, overwrite) if target is not None else None
    try:
        items = expand(paths)
        if target is not None:  # the merge's own output (a run with overwrite) is not input
            inside = target.resolve()
            items = [i for i in items if not i.path.resolve().is_relative_to(inside)]
        memory = InMemory()
        writer: ToDataset | None = None
        if staging is not None:
            provenance = {"made_by": "merge_dumps", "files": len(items)}
            writer = ToDataset(staging, partitions_for(items), provenance)
        spans = _Spans(writer.add if writer is not None else memory.add)
        sink: Sink = spans.add
        sniff = Sniffer(endpoint)
        readers = [
            FileReader(item, index, endpoint, limits, sink, sniff)
            for index, item in enumerate(items)
        ]
        spans.readers = readers
        read_all(readers, endpoint)
        spans.warn()
        reports = [r.report for r in readers]
        if writer is None:
            return MergeResult(memory.finish(), reports)
        assert target is not None and staging is not None
        rows = writer.finish()
        publish(target, staging, overwrite)
        ordered = {t: rows[t] for t in schemas.SCHEMAS if t in rows}
        return MergeResult({}, reports, dataset=target, rows=ordered)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
