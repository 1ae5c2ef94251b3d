"""The committed sample data is reproducible, and its tables are the merge of its dumps."""

from __future__ import annotations

import gzip
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tiktok_research import schemas
from tiktok_research.merge import MergeResult, merge_dumps

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
DUMPS = SAMPLE / "dumps"
TABLES = SAMPLE / "tables"
REGENERATE = "regenerate them with: python scripts/make_sample_data.py"


def _script() -> ModuleType:
    name = "make_sample_data"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "make_sample_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _content(path: Path) -> bytes:
    # gzip members are compared decompressed: the compressed bytes depend on the zlib build
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


@pytest.fixture(scope="module")
def merged() -> MergeResult:
    return merge_dumps(DUMPS)


def test_regenerating_the_dumps_gives_the_committed_files(tmp_path: Path) -> None:
    fresh = _script().make_dumps(tmp_path)
    assert _files(fresh) == _files(DUMPS), f"the set of dump files changed; {REGENERATE}"
    for name in _files(DUMPS):
        assert _content(fresh / name) == _content(DUMPS / name), f"{name} differs; {REGENERATE}"
    gz = [n for n in _files(DUMPS) if n.endswith(".gz")]
    assert gz, "the sample must hold a gzipped archive"
    for name in gz:  # reproducible gzip: no embedded time or file name
        header = (DUMPS / name).read_bytes()[:10]
        assert header[4:8] == b"\0\0\0\0" and not header[3] & 0x08


@pytest.mark.parametrize("table", ["videos", "comments", "users"])
def test_committed_tables_are_the_merge_of_the_committed_dumps(
    merged: MergeResult, table: str
) -> None:
    committed = pl.read_parquet(TABLES / f"{table}.parquet")
    assert committed.schema == schemas.SCHEMAS[table]
    assert committed.height > 0
    rebuilt = _script().canonical(table, merged[table])
    assert_frame_equal(rebuilt, committed)
    key = schemas.primary_key(table)
    assert committed.select(key).is_duplicated().sum() == 0


def test_the_dumps_cover_every_layout_and_report_the_broken_parts(
    merged: MergeResult,
) -> None:
    layouts = {Path(r.path).relative_to(DUMPS).as_posix(): r.layout for r in merged.report}
    seen = set(layouts.values())
    for layout in (
        "raw archive (JSON lines)",
        "JSON lines of responses",
        "one response",
        "JSON array of responses",
        "JSON array of records",
    ):
        assert layout in seen, f"no sample file in the layout {layout!r}"
    archive = [n for n, lay in layouts.items() if lay == "raw archive (JSON lines)"]
    assert any(n.endswith(".jsonl") for n in archive)
    assert any(n.endswith(".jsonl.gz") for n in archive)
    reasons = [why for _, _, why in merged.skipped]
    assert "truncated last line" in reasons
    assert any(why.startswith("error page") for why in reasons)
    # usernames the API does not echo come back from the request or the file name
    users = merged["users"]
    assert users["username"].null_count() == 0
    curl_names = {p.name.removesuffix("_info.json") for p in (DUMPS / "curl").glob("*_info.json")}
    assert curl_names and curl_names <= set(users["username"].to_list())
    # overlapping dumps were de-duplicated: more rows were read than kept
    read = sum(r.rows.get("videos", 0) for r in merged.report)
    assert read > merged["videos"].height


def test_the_sample_is_small_and_documented() -> None:
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert size < 1_000_000, f"data/sample is {size:,} bytes; keep it small"
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    for name in _files(DUMPS) + _files(TABLES):
        assert Path(name).name in readme, f"data/sample/README.md does not describe {name}"
    assert "python scripts/make_sample_data.py" in readme
