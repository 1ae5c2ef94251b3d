"""The files the package writes, opened in the tools users have: every id exact, every row once.

Issue 18 items 4-7 ("ids exact in every reader users have"): pandas with its defaults, DuckDB,
R (``data.table::fread`` and ``readr`` as the guide's R section shows,
docs/guide/reading-output.md), LibreOffice headless
(the ``.xlsx`` workbook and the CSV written ``--for-excel``), and jq on JSON lines, including a
real pipe from ``--out -``. A test that needs a tool skips when the tool is not installed
(Debian: ``r-base-core r-cran-data.table r-cran-readr r-cran-bit64 libreoffice-calc jq``).
Every command that writes is run twice: the second run must give the same rows, none lost,
doubled or rounded.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import tiktok_research as tr
from tiktok_research import io, schemas

pytestmark = pytest.mark.http

CLIMATE = tr.Q.hashtag_name.eq("climate")
ID_COLUMNS = ("id", "music_id", "playlist_id")


@pytest.fixture(scope="module")
def videos() -> pl.DataFrame:
    """Sandbox videos plus the hard cases: the largest id, nulls in id columns, emoji, quotes,
    a newline and text a spreadsheet would take for a formula."""
    v = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-02-29", client=tr.Client.sandbox(),
                        progress=False)  # fmt: skip
    extra = schemas.cast(
        pl.DataFrame({"id": [9223372036854775807, 7000000000000000001],
                      "video_description": ['é 🌍 中文, "q"\nline 2', "=1+1 @someone"],
                      "playlist_id": [7322470289165011594, None], "music_id": [None, 1],
                      "create_time": [1704499196, 1704499197]}), "videos")  # fmt: skip
    out = pl.concat([schemas.cast(pl.DataFrame(v), "videos"), extra])
    assert out["playlist_id"].null_count() > 0 and out["playlist_id"].drop_nulls().len() > 1
    return out


@pytest.fixture(scope="module")
def files(videos: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("readers")
    io.write_parquet(videos, root / "videos.parquet", table="videos")
    io.write_csv(videos, root / "videos.csv")
    io.write_csv(videos, root / "videos_excel.csv", excel=True)
    io.write_ndjson(videos, root / "videos.jsonl")
    if _has_module("xlsxwriter"):
        io.write_excel(videos, root / "videos.xlsx")
    io.write_dataset(videos, root / "dataset", table="videos", run_id="one")
    io.write_dataset(videos.head(50), root / "dataset", table="videos", run_id="two")
    return root


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _exact(got: list[object], want: list[int | None]) -> None:
    values = [None if v is None or v == "" or v != v else int(str(v)) for v in got]
    rounded = sum(1 for g, w in zip(values, want, strict=True) if g != w)
    assert len(values) == len(want) and rounded == 0, f"{rounded} of {len(want)} ids changed"


# ------------------------------------------------------------------------------- pandas


def test_pandas_read_parquet_with_defaults(videos: pl.DataFrame, files: Path) -> None:
    import pandas as pd

    for path in (files / "videos.parquet",):
        frame = pd.read_parquet(path)
        for column in ID_COLUMNS:
            assert str(frame[column].dtype) == "Int64", column
            _exact([None if pd.isna(x) else x for x in frame[column]], videos[column].to_list())
    held = pd.read_parquet(files / "dataset")
    assert len(held) == videos.height, "each id once in the dataset"
    assert sorted(held["id"].tolist()) == sorted(videos["id"].to_list())


def test_pandas_read_csv_as_the_guide_says(videos: pl.DataFrame, files: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(files / "videos.csv", dtype_backend="numpy_nullable")
    for column in ID_COLUMNS:
        _exact([None if pd.isna(x) else x for x in frame[column]], videos[column].to_list())


# ------------------------------------------------------------------------------- DuckDB


def test_duckdb_reads_parquet_csv_json_and_the_dataset_glob(
    videos: pl.DataFrame, files: Path
) -> None:
    import duckdb

    for source in ("videos.parquet", "videos.csv", "videos.jsonl"):
        rows = duckdb.sql(f"select {', '.join(ID_COLUMNS)} from '{files / source}'").fetchall()
        for i, column in enumerate(ID_COLUMNS):
            _exact([r[i] for r in rows], videos[column].to_list())
    glob = f"{files}/dataset/**/*.parquet"
    count, distinct = duckdb.sql(
        f"select count(*), count(distinct id) from read_parquet('{glob}', hive_partitioning=true)"
    ).fetchall()[0]
    assert count == distinct == videos.height


# ------------------------------------------------------------------------------------ R


def _r_section() -> str:
    """The R code of the guide's R section (every ```r block of docs/guide/reading-output.md)."""
    text = (Path(__file__).resolve().parents[1] / "docs/guide/reading-output.md").read_text("utf-8")
    start = text.index("\n## R\n")
    end = text.find("\n## ", start + 1)
    blocks = text[start : end if end != -1 else len(text)].split("```r\n")[1:]
    return "\n".join(b.split("```")[0] for b in blocks)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_r_reads_the_csv_exactly_as_the_guide_shows(videos: pl.DataFrame, files: Path) -> None:
    need = "for (p in c('data.table', 'readr', 'bit64')) if (!requireNamespace(p, quietly=TRUE)) "
    check = subprocess.run(["Rscript", "-e", need + "quit(status=3)"], capture_output=True,
                           check=False, timeout=120)  # fmt: skip
    if check.returncode == 3:
        pytest.skip("R lacks data.table, readr or bit64")
    code = _r_section()
    assert "fread(" in code and "read_csv(" in code
    script = files / "readme.R"
    script.write_text(
        code
        + "\nwrite.csv(data.frame(id = as.character(videos$id), "
        + "playlist_id = as.character(videos$playlist_id),"
        + " tib_id = tib$id, tib_playlist = tib$playlist_id), 'from_r.csv', row.names = FALSE)\n",
        encoding="utf-8",
    )
    for _ in range(2):  # run twice: the same answer
        run = subprocess.run(["Rscript", str(script)], cwd=files, capture_output=True, text=True,
                             check=False, timeout=300)  # fmt: skip
        assert run.returncode == 0, run.stderr
        with open(files / "from_r.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        for got in ("id", "tib_id"):
            _exact([r[got] for r in rows], videos["id"].to_list())
        for got in ("playlist_id", "tib_playlist"):
            _exact([None if r[got] in ("NA", "") else r[got] for r in rows],
                   videos["playlist_id"].to_list())  # fmt: skip


# ---------------------------------------------------------------------------- LibreOffice


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _convert(source: Path, outdir: Path, infilter: str | None = None) -> list[dict[str, str]]:
    """Open ``source`` in LibreOffice headless and save it as CSV (UTF-8); its rows."""
    soffice = _soffice()
    assert soffice is not None
    outdir.mkdir(exist_ok=True)
    profile = outdir / "profile"
    args = [soffice, f"-env:UserInstallation=file://{profile}", "--headless"]
    if infilter:
        args.append(f"--infilter={infilter}")
    args += ["--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir",
             str(outdir), str(source)]  # fmt: skip
    run = subprocess.run(args, capture_output=True, text=True, check=False, timeout=300,
                         env={**os.environ, "HOME": str(outdir)})  # fmt: skip
    produced = outdir / f"{source.stem}.csv"
    assert produced.exists(), run.stdout + run.stderr
    with open(produced, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_workbook_with_every_id_exact(
    videos: pl.DataFrame, files: Path, tmp_path: Path
) -> None:
    if not (files / "videos.xlsx").exists():
        pytest.skip("the [excel] extra (xlsxwriter) is not installed")
    for run in range(2):
        rows = _convert(files / "videos.xlsx", tmp_path / f"xlsx{run}")
        for column in ID_COLUMNS:
            _exact([r[column] for r in rows], videos[column].to_list())
        described = [r["video_description"] for r in rows][-2:]
        assert described == videos["video_description"].to_list()[-2:], "emoji, formulas"


def _guide_infilter() -> str:
    """The CSV import options the guide gives for LibreOffice (reading-output.md)."""
    page = (Path(__file__).parents[1] / "docs" / "guide" / "reading-output.md").read_text("utf-8")
    found = set(re.findall(r'--infilter="([^"]+)"', page))
    assert len(found) == 1, found  # one way, said once or more
    return found.pop()


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_csv_for_excel_as_the_guide_says(
    videos: pl.DataFrame, files: Path, tmp_path: Path
) -> None:
    """Before, the guide said a double click keeps the CSV whole; LibreOffice (7.4) with no import
    options ignores its byte order mark and makes mojibake of most descriptions. With the import
    options the guide now gives, every id and every description comes back exactly."""
    rows = _convert(files / "videos_excel.csv", tmp_path / "utf8", infilter=_guide_infilter())
    for column in ID_COLUMNS:
        _exact([r[column] for r in rows], videos[column].to_list())
    descriptions = [r["video_description"] for r in rows]
    assert descriptions == videos["video_description"].fill_null("").to_list()
    # with no import options at all, the ids are still whole (the first column by position)
    plain = _convert(files / "videos_excel.csv", tmp_path / "plain")
    _exact([next(iter(r.values())) for r in plain], videos["id"].to_list())
    wrong = sum(
        r["video_description"] != d
        for r, d in zip(rows, [list(p.values())[1] for p in plain], strict=True)
    )
    print(f"no import options: {wrong} of {len(rows)} descriptions differ")  # the guide's figure


# ------------------------------------------------------------------------------------ jq


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_jq_prints_every_id_exactly(videos: pl.DataFrame, files: Path) -> None:
    run = subprocess.run(["jq", "-r", ".id", str(files / "videos.jsonl")], capture_output=True,
                         text=True, check=True, timeout=60)  # fmt: skip
    _exact(run.stdout.split(), videos["id"].to_list())
    nested = subprocess.run(
        ["jq", "-r", ".hashtag_info_list[]?.hashtag_id", str(files / "videos.jsonl")],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    want = videos.select(pl.col("hashtag_info_list").explode().struct.field("hashtag_id"))
    _exact(nested.stdout.split(), want.to_series().drop_nulls().to_list())


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_out_dash_piped_into_jq_twice(tmp_path: Path) -> None:
    """`tiktok-research videos ... --out - | jq -r .id`, through a real pipe, run twice."""
    from tiktok_research.sandbox import Sandbox, run_server

    script = shutil.which("tiktok-research", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "tiktok_research.cli"]
    args = ["videos", "--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-02-29",
            "--out", "-", "--no-progress"]  # fmt: skip
    want = tr.fetch_videos(CLIMATE, "2024-01-01", "2024-02-29", client=tr.Client.sandbox(),
                           progress=False)["id"].to_list()  # fmt: skip
    with run_server(Sandbox()) as (url, sb):
        env = {**os.environ, "TIKTOK_RESEARCH_BASE_URL": url, "TIKTOK_CLIENT_KEY": "sandbox",
               "TIKTOK_CLIENT_SECRET": "sandbox"}  # fmt: skip
        sent = []
        for _ in range(2):
            before = len(sb.request_log)
            producer = subprocess.Popen([*command, *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, cwd=tmp_path, env=env)  # fmt: skip
            jq = subprocess.run(["jq", "-r", ".id"], stdin=producer.stdout, capture_output=True,
                                text=True, timeout=300, check=False)  # fmt: skip
            assert producer.stdout is not None
            producer.stdout.close()
            _, err = producer.communicate(timeout=300)
            assert producer.returncode == 0 and jq.returncode == 0, err.decode()
            _exact(jq.stdout.split(), want)
            assert "Traceback" not in err.decode() and "wrote" in err.decode()
            sent.append(len(sb.request_log) - before)
    assert sent[1] == 0, "the second run is answered from the archive"
    assert not any(p.suffix in (".parquet", ".jsonl") for p in tmp_path.iterdir())


def test_cli_outputs_run_twice_hold_the_same_rows(tmp_path: Path) -> None:
    """Each format, written by the same command twice: the same rows, exact, read back."""
    from typer.testing import CliRunner

    from tiktok_research.cli import app

    args = ["videos", "--sandbox", "--hashtag", "climate", "--start", "2024-01-01", "--end",
            "2024-01-31", "--no-progress", "--archive", str(tmp_path / "archive")]  # fmt: skip
    formats = ["v.parquet", "v.csv", "v.jsonl"] + (["v.xlsx"] if _has_module("xlsxwriter") else [])
    first: dict[str, bytes] = {}
    for _ in range(2):
        for name in formats:
            result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / name)])
            assert result.exit_code == 0, result.output
            back = io.read_table(tmp_path / name)
            assert back["id"].n_unique() == back.height > 0
            first.setdefault(name, back.write_ipc(None).getvalue())
            assert back.write_ipc(None).getvalue() == first[name], name
    tables = [io.read_table(tmp_path / n).sort("id") for n in formats]
    for other in tables[1:]:
        assert other["id"].to_list() == tables[0]["id"].to_list()
        assert other["hashtag_info_list"].to_list() == tables[0]["hashtag_info_list"].to_list()
    assert json.loads((tmp_path / "v.jsonl").read_text().splitlines()[0])["id"].isdigit()


# ------------------------------------------- pandas defaults: every Parquet writer x every option

#: polars' ``write_parquet`` options as a user passes them to a result's ``write_parquet``.
PARQUET_OPTIONS: dict[str, dict[str, Any]] = {
    "no-options": {},
    "snappy": {"compression": "snappy"},
    "gzip-4": {"compression": "gzip", "compression_level": 4},
    "brotli": {"compression": "brotli"},
    "lz4": {"compression": "lz4"},
    "zstd-19": {"compression": "zstd", "compression_level": 19},
    "uncompressed-7-rows-no-stats": {
        "compression": "uncompressed",
        "row_group_size": 7,
        "statistics": False,
    },
    "full-stats": {"statistics": "full"},
    "stats-dict": {
        "statistics": {"min": True, "max": True, "distinct_count": False, "null_count": True}
    },
    "1k-pages": {"data_page_size": 1024},
    "use_pyarrow": {"use_pyarrow": True},
    "pyarrow_options": {"use_pyarrow": True, "pyarrow_options": {"write_page_index": True}},
    "mkdir-metadata": {"mkdir": True, "metadata": {"study": "fr-2024"}},
    "chunk-size": {"partition_chunk_size_bytes": 1 << 20},
}
JANUARY = ("2024-01-01", "2024-01-31")


def _result(videos: pl.DataFrame) -> tr.FetchResult:
    """The hard-case videos as a collection's result (what ``fetch_videos`` returns)."""
    return tr.FetchResult.wrap(videos, tr.CollectionReport("video_query", table="videos"))


def _sandbox_client() -> tr.Client:
    from tiktok_research.sandbox import Sandbox, SandboxConfig

    return tr.Client.sandbox(Sandbox(SandboxConfig(validation_processing_seconds=0)))


def _collected(out: Path) -> Path:
    tr.collect_videos(CLIMATE, *JANUARY, out / "ds", archive=out / "archive",
                      client=_sandbox_client(), progress=False)  # fmt: skip
    return out / "ds"


def _cli(*args: str) -> None:
    from typer.testing import CliRunner

    from tiktok_research.cli import app

    result = CliRunner().invoke(app, [*args, "--sandbox", "--no-progress"])
    assert result.exit_code == 0, result.output


def _cli_videos(out: Path, *where: str) -> None:
    _cli("videos", "--hashtag", "climate", "--start", JANUARY[0], "--end", JANUARY[1],
         "--archive", str(out / "archive"), *where)  # fmt: skip


def _target(out: Path, options: dict[str, Any]) -> Path:
    """Where a result's ``write_parquet`` writes: a new folder with ``mkdir=True``."""
    return out / "new" / "v.parquet" if options.get("mkdir") else out / "v.parquet"


def _then(_: object, path: Path) -> Path:
    """``path``, once the writer called for the first argument has run."""
    return path


def _stream(videos: pl.DataFrame, out: Path) -> Path:
    import io as stdio

    buffer = stdio.BytesIO()
    _result(videos).write_parquet(buffer, compression="snappy", row_group_size=5)
    (out / "v.parquet").write_bytes(buffer.getvalue())
    return out / "v.parquet"


def _merged(out: Path, *, cli: bool) -> Path:
    tr.fetch_videos(CLIMATE, *JANUARY, client=tr.Client.sandbox(), archive=out / "archive",
                    progress=False)  # fmt: skip
    if cli:
        _cli_merge = ["merge", str(out / "archive"), "--out", str(out / "tables")]
        from typer.testing import CliRunner

        from tiktok_research.cli import app

        result = CliRunner().invoke(app, _cli_merge)
        assert result.exit_code == 0, result.output
        return out / "tables" / "videos.parquet"
    tr.merge_dumps(out / "archive", dataset=out / "merged")
    return out / "merged" / "videos"


#: Every way the package writes Parquet: name -> (videos, folder) -> the file or dataset folder.
WRITERS: dict[str, Any] = {
    "tr.io.write_parquet": lambda v, out: io.write_parquet(v, out / "v.parquet", table="videos"),
    "tr.io.write_parquet[gzip-5-rows]": lambda v, out: io.write_parquet(
        v, out / "v.parquet", table="videos", compression="gzip", row_group_size=5
    ),
    **{
        f"result.write_parquet[{name}]": (
            lambda v, out, o=options: _then(
                _result(v).write_parquet(_target(out, o), **o), _target(out, o)
            )
        )
        for name, options in PARQUET_OPTIONS.items()
    },
    "result.write_parquet[stream]": _stream,
    "tr.io.write_dataset": lambda v, out: io.write_dataset(v, out / "ds", table="videos"),
    "fetch_videos(dataset=)": lambda v, out: _then(
        tr.fetch_videos(
            CLIMATE, *JANUARY, client=tr.Client.sandbox(), dataset=out / "ds", progress=False
        ),
        out / "ds",
    ),
    "collect_videos": lambda v, out: _collected(out),
    "update_videos": lambda v, out: _then(
        tr.update_videos(CLIMATE, _collected(out), client=_sandbox_client(), progress=False),
        out / "ds",
    ),
    "refresh_videos": lambda v, out: _then(
        tr.refresh_videos(
            _collected(out), client=_sandbox_client(), progress=False, poll=(0.0, 0.0)
        ),
        out / "ds",
    ),
    "merge_dumps(dataset=)": lambda v, out: _merged(out, cli=False),
    "cli merge --out": lambda v, out: _merged(out, cli=True),
    "cli videos --out x.parquet": lambda v, out: _then(
        _cli_videos(out, "--out", str(out / "v.parquet")), out / "v.parquet"
    ),
    "cli videos --dataset": lambda v, out: _then(
        _cli_videos(out, "--dataset", str(out / "ds")), out / "ds"
    ),
}


def _pandas_ids(path: Path) -> dict[str, list[int | None]]:
    """Every id column as pandas with its defaults gives it (``pd.read_parquet(path)``)."""
    import pandas as pd

    frame = pd.read_parquet(path)
    out: dict[str, list[int | None]] = {}
    for column in ID_COLUMNS:
        assert not str(frame[column].dtype).startswith("float"), f"{column}: {frame[column].dtype}"
        out[column] = [None if pd.isna(x) else int(x) for x in frame[column]]
    return out


@pytest.mark.parametrize("writer", list(WRITERS))
def test_every_parquet_writer_is_exact_in_pandas_defaults_duckdb_and_polars(
    videos: pl.DataFrame, tmp_path: Path, writer: str
) -> None:
    """Issue 18 item 4: ``result.write_parquet(p, compression=...)`` (any polars option) wrote
    without pandas' column types, and ``pd.read_parquet(p)`` read ``playlist_id`` as float64,
    changing every value. Every writer, every option: pandas with its defaults gives each id as
    written; polars and DuckDB read the same columns, types and rows as from tr.io.write_parquet."""
    import duckdb

    written = Path(WRITERS[writer](videos, tmp_path))
    folder = written.is_dir()
    glob = str(written / "**" / "*.parquet") if folder else str(written)
    polars = pl.read_parquet(glob, hive_partitioning=folder)
    if folder:
        polars = polars.drop("create_month")
    assert polars.schema == schemas.VIDEOS, "polars reads the declared schema"
    got = _pandas_ids(written)
    order = polars["id"].to_list()
    assert sorted(got["id"]) == sorted(order) and len(order) == polars["id"].n_unique() > 0
    if writer.startswith(("tr.io", "result")):
        assert polars.height == videos.height
    # the values written: the hard-case videos' own; rows an update found later, polars' (exact)
    want = pl.concat([videos.unique("id"), polars.join(videos, on="id", how="anti")])
    assert want.height >= polars.height
    by_id = {column: dict(zip(got["id"], got[column], strict=True)) for column in ID_COLUMNS}
    for column in ID_COLUMNS:
        expected = dict(zip(want["id"].to_list(), want[column].to_list(), strict=True))
        changed = [i for i in order if by_id[column][i] != expected[i]]
        assert not changed, f"{column}: {len(changed)} of {len(order)} ids changed in pandas"
    assert polars.get_column("playlist_id").null_count() < polars.height, "ids next to nulls"
    # DuckDB: the same rows, the same column types as a file of tr.io.write_parquet
    reference = io.write_parquet(videos.head(0), tmp_path / "ref.parquet", table="videos")
    types = duckdb.sql(f"describe select * from '{reference}'").fetchall()
    source = f"read_parquet('{glob}', hive_partitioning={'true' if folder else 'false'})"
    described = [r for r in duckdb.sql(f"describe select * from {source}").fetchall()
                 if r[0] != "create_month"]  # fmt: skip
    assert [r[:2] for r in described] == [r[:2] for r in types]
    rows = duckdb.sql(f"select {', '.join(ID_COLUMNS)} from {source} order by id").fetchall()
    assert len(rows) == polars.height
    for i, column in enumerate(ID_COLUMNS):
        _exact([r[i] for r in rows], polars.sort("id")[column].to_list())


def test_parquet_options_are_honoured_or_refused(videos: pl.DataFrame, tmp_path: Path) -> None:
    """Each polars option is honoured in the file the package writes (it is not dropped to keep
    the metadata), or refused with a message naming what to use, before anything is written."""
    import pyarrow.parquet as pq

    result = _result(videos)
    path = tmp_path / "v.parquet"
    checks: list[tuple[dict[str, Any], Any]] = [
        ({"compression": "gzip"}, lambda m: m.row_group(0).column(0).compression == "GZIP"),
        ({"compression": "uncompressed"},
         lambda m: m.row_group(0).column(0).compression == "UNCOMPRESSED"),
        ({"row_group_size": 7}, lambda m: m.num_row_groups == -(-videos.height // 7)),
        ({"statistics": False}, lambda m: m.row_group(0).column(0).statistics is None),
        ({"statistics": "full"}, lambda m: m.row_group(0).column(0).statistics.has_min_max),
        ({"metadata": {"study": "fr-2024"}}, lambda m: m.metadata[b"study"] == b"fr-2024"),
        ({"use_pyarrow": True, "pyarrow_options": {"compression": "brotli"}},
         lambda m: m.row_group(0).column(0).compression == "BROTLI"),
    ]  # fmt: skip
    for options, holds in checks:
        result.write_parquet(path, **options)
        meta = pq.read_metadata(path)
        assert holds(meta), options
        assert b"pandas" in meta.metadata and b"tiktok_research.table" in meta.metadata
    path.unlink()
    refused: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"partition_by": "region_code"}, TypeError, "tr.io.write_dataset"),
        ({"use_pyarrow": True, "pyarrow_options": {"partition_cols": ["region_code"]}},
         TypeError, "tr.io.write_dataset"),
        ({"storage_options": {"aws_region": "eu-west-1"}}, TypeError, "local file"),
        ({"metadata": lambda context: {}}, TypeError, "give a dict"),
        ({"compresion": "zstd"}, TypeError, "unknown option"),
        ({"compression": "lzo"}, ValueError, "unknown compression 'lzo'"),
        ({"statistics": "some"}, ValueError, "statistics="),
    ]  # fmt: skip
    for options, kind, message in refused:
        with pytest.raises(kind, match=message):
            result.write_parquet(path, **options)
        with pytest.raises(kind, match=message):
            io.write_parquet(videos, path, table="videos", **options)
        assert not path.exists() and not list(tmp_path.iterdir()), options
