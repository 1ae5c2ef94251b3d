"""What a merge returns: the tables (or where they were written) and a report per input file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from .. import schemas

#: Layouts of inputs that were not read at all (nothing there, or not a regular file).
NOT_READ = frozenset({"missing", "no match", "not a regular file", "read from its .gz twin"})


@dataclass
class FileReport:
    """What happened to one input file."""

    path: str
    layout: str = "?"
    pages: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[int | None, str]] = field(default_factory=list)  # (line number, reason)
    notes: list[str] = field(default_factory=list)  # kept, but worth knowing

    def __str__(self) -> str:
        rows = ", ".join(f"{n} {t}" for t, n in self.rows.items()) or "no rows"
        head = f"{self.path}: {self.layout}, {self.pages} page(s), {rows}"
        skips = "".join(
            f"\n    skipped {'line ' + str(line) + ': ' if line else ''}{why}"
            for line, why in self.skipped
        )
        notes = "".join(f"\n    note: {n}" for n in self.notes)
        return head + skips + notes


@dataclass
class MergeResult:
    """Tables merged from dumps, plus a per-file report of what was read and skipped.

    In memory (the default), ``tables`` holds one DataFrame per table. After
    ``merge_dumps(..., dataset=DIR)``, ``tables`` is empty (nothing is held in memory): ``dataset``
    is ``DIR``, ``rows`` counts the rows written per table, :meth:`scan` reads a table lazily and
    ``result["videos"]`` loads it into memory. ``report`` is complete either way.
    """

    tables: dict[str, pl.DataFrame]
    report: list[FileReport]
    dataset: Path | None = None
    rows: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dataset is None and not self.rows:
            self.rows = {t: df.height for t, df in self.tables.items()}

    def __getitem__(self, table: str) -> pl.DataFrame:
        if table in self.tables:
            return self.tables[table]
        if self.dataset is not None and table in self.rows:
            return self.scan(table).collect()
        if table in schemas.SCHEMAS:
            return schemas.empty(table)
        raise KeyError(f"unknown table {table!r}; expected one of: {', '.join(schemas.SCHEMAS)}")

    def __contains__(self, table: object) -> bool:
        return table in self.tables or (self.dataset is not None and table in self.rows)

    def scan(self, table: str) -> pl.LazyFrame:
        """A table as a LazyFrame with its declared schema (empty if no row of it was found).

        Example:
            >>> from tiktok_research import merge_dumps
            >>> merge_dumps([]).scan("videos").collect().height
            0
        """
        if table in self.tables:
            return self.tables[table].lazy()
        if self.dataset is not None and table in self.rows:
            from ..io import read_dataset

            key = "create_month" if "create_time" in schemas.SCHEMAS[table] else None
            lf = read_dataset(self.dataset / table, table=table)
            return lf.drop(key) if key else lf
        return schemas.empty(table).lazy()

    @property
    def skipped(self) -> list[tuple[str, int | None, str]]:
        """Every skipped item as ``(path, line, reason)``."""
        return [(r.path, line, why) for r in self.report for line, why in r.skipped]

    def summary(self, verbose: bool = False) -> str:
        """A readable summary: rows per table, then every skipped item with its file and reason.

        Args:
            verbose: also list every file read (layout, pages, rows), not only those with skips.
        """
        n_read = sum(r.layout not in NOT_READ for r in self.report)
        head = f"merged {n_read} file(s): " + (
            ", ".join(f"{n} {t}" for t, n in self.rows.items()) or "no rows"
        )
        if self.dataset is not None:
            head += f" -> Parquet datasets in {self.dataset}"
        lines = [head]
        if verbose:
            lines.append("files:")
            lines.extend(f"  {r}" for r in self.report)
        n_skipped = len(self.skipped)
        lines.append(f"skipped {n_skipped} item(s)" + (":" if n_skipped and not verbose else ""))
        if not verbose:
            lines.extend(f"  {r}" for r in self.report if r.skipped)
        return "\n".join(lines)

    __str__ = summary

    def __repr__(self) -> str:
        sizes = ", ".join(f"{t}={n}" for t, n in self.rows.items())
        where = f" in {self.dataset}" if self.dataset is not None else ""
        return f"MergeResult({sizes}{where}; {len(self.report)} files, {len(self.skipped)} skipped)"
