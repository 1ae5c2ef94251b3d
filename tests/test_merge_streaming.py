"""One big file streams: JSON arrays, concatenated pretty-printed objects and long JSON lines.

Issue 22 item 3: one JSON array (of responses, or of the official wrapper's records) used to be
read whole (5.6 GB of memory for 0.5 GB of input). Issue 17: pretty-printed responses one after
the other merged in quadratic time, and one large JSON-lines file was cut into segments in Python
around the parse. Now every layout is read a block at a time (see ``merge._split`` and
``merge._reader``).
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from tiktok_research import tables
from tiktok_research.merge import _reader, _split, merge_dumps

ID0 = 7_300_000_000_000_000_000


def video(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": ID0 + i,
        "username": f"user_{i % 97}",
        "create_time": 1704067200 + i,
        "video_description": f'a "quoted" {{brace}} [bracket] \\ back\\slash {i}\nnewline',
        "hashtag_names": ["cats", "猫"],
        "view_count": i * 3,
        **extra,
    }


def response(ids: range) -> dict[str, Any]:
    videos = [video(i) for i in ids]
    return {
        "data": {"videos": videos, "cursor": ids.stop, "has_more": True},
        "error": {"code": "ok", "message": "", "log_id": "x"},
    }


def write_layouts(folder: Path, pages: int, per_page: int) -> dict[str, Path]:
    """The same videos as JSON lines, one JSON array of responses, one array of records and
    pretty-printed concatenated responses (``jq . >>``)."""
    folder.mkdir(parents=True, exist_ok=True)
    bodies = [response(range(p * per_page, (p + 1) * per_page)) for p in range(pages)]
    paths = {
        "lines": folder / "lines.json",
        "array": folder / "array.json",
        "records": folder / "wrapper_videos.json",
        "pretty": folder / "pretty.json",
    }
    paths["lines"].write_text("\n".join(json.dumps(b) for b in bodies) + "\n")
    paths["array"].write_text(json.dumps(bodies))
    paths["records"].write_text(json.dumps([v for b in bodies for v in b["data"]["videos"]]))
    paths["pretty"].write_text("\n".join(json.dumps(b, indent=2) for b in bodies) + "\n")
    return paths


def test_every_layout_gives_the_same_table(tmp_path: Path) -> None:
    paths = write_layouts(tmp_path, pages=30, per_page=20)
    tables = {k: merge_dumps(p) for k, p in paths.items()}
    expected = tables["lines"]["videos"].sort("id")
    assert expected.height == 600 and expected["id"].max() == ID0 + 599  # exact 19-digit ids
    assert expected["video_description"][0] == video(0)["video_description"]
    for name, result in tables.items():
        assert not result.skipped, (name, result.skipped)
        assert_frame_equal(result["videos"].sort("id"), expected)
    assert tables["pretty"].report[0].layout == "concatenated JSON objects (response)"
    assert tables["array"].report[0].layout == "JSON array of responses"
    assert tables["records"].report[0].layout == "JSON array of records"


@pytest.mark.parametrize("layout", ["array", "records"])
def test_one_json_array_is_parsed_a_block_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """The parser is never handed more than a block of values (the file is 80+ blocks); the
    whole array was parsed at once before (5.6 GB of memory for 0.5 GB of input)."""
    path = write_layouts(tmp_path, pages=120, per_page=25)[layout]
    block = 8 << 10
    assert path.stat().st_size > 80 * block
    with contextlib.suppress(ImportError):  # (an earlier version has no splitter to tune)
        from tiktok_research.merge import _split as split

        monkeypatch.setattr(split, "BLOCK", block)
    seen: list[int] = []  # bytes of JSON handed to the parsers at a time
    inside: list[bool] = []

    def counting(parse: Any) -> Any:
        def wrapper(buf: bytes, *args: Any, **kw: Any) -> Any:
            if not inside:  # a parser called by another one is not counted twice
                seen.append(len(buf))
            inside.append(True)
            try:
                return parse(buf, *args, **kw)
            finally:
                inside.pop()

        return wrapper

    for name in ("pages_from_ndjson", "records_from_json", "parse_json_lines"):
        monkeypatch.setattr(tables, name, counting(getattr(tables, name)))
    result = merge_dumps(path)
    assert result["videos"].height == 3000 and not result.skipped
    largest = len(json.dumps(response(range(25))))
    assert len(seen) >= 20
    # a block, the value that crosses its end, and the first bytes read to sniff the layout
    assert max(seen) <= 2 * block + largest + (64 << 10)
    assert sum(seen) <= path.stat().st_size  # each value handed on once


def test_a_clean_large_json_lines_file_streams_through_pyarrow_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_layouts(tmp_path, pages=40, per_page=20)["lines"]
    monkeypatch.setattr(_reader, "SEGMENT", 4096)  # "large": more than a segment
    monkeypatch.setattr(_reader, "_PARSE_BLOCK", 16_384)  # several batches...
    monkeypatch.setattr(_reader, "_GROUP", 20_000)  # ...in several groups of pages
    groups: list[int] = []
    real = _reader.FileReader._stream_group

    def counting(self: _reader.FileReader, group: list[Any], *args: Any) -> Any:
        groups.append(sum(b.num_rows for b in group))
        return real(self, group, *args)

    def no_segments(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a clean file fell back to the segment path")

    monkeypatch.setattr(_reader.FileReader, "_stream_group", counting)
    monkeypatch.setattr(_reader.FileReader, "_segments", no_segments)
    result = merge_dumps(path)
    assert result["videos"].height == 800 and not result.skipped
    assert len(groups) > 1 and sum(groups) == 40


def test_broken_documents_keep_what_is_readable(tmp_path: Path) -> None:
    paths = write_layouts(tmp_path, pages=5, per_page=3)
    cut = tmp_path / "cut_array.json"
    data = paths["array"].read_bytes()
    cut.write_bytes(data[: len(data) - 40])  # the last response cut short
    texts = [json.dumps(response(range(p * 3, p * 3 + 3)), indent=2) for p in range(5)]
    texts[1] = texts[1].replace('"data":', '"data"', 1)  # one response is not valid JSON
    bad = tmp_path / "bad_pretty.json"
    bad.write_text("\n".join(texts) + "\n")
    array = merge_dumps(cut)
    assert array["videos"].height == 12  # the first four responses
    assert [why for _, _, why in array.skipped] == ["truncated: the last value is cut short"]
    broken = merge_dumps(bad)
    assert broken["videos"].height == 12
    ((line, why),) = broken.report[0].skipped
    assert why == "not valid JSON" and line == texts[0].count("\n") + 2  # where it starts


def _cpu(path: Path) -> float:
    merge_dumps(path)
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        merge_dumps(path)
        best = min(best, time.process_time() - t0)
    return best


def test_pretty_printed_responses_merge_in_linear_time(tmp_path: Path) -> None:
    """4x the responses take about 4x the time (a quadratic merge took 16x): CPU times of the
    same process, no absolute time."""

    def pretty(n: int, name: str) -> Path:
        path = tmp_path / name
        bodies = [response(range(i, i + 1)) for i in range(n)]
        path.write_text("\n".join(json.dumps(b, indent=2) for b in bodies) + "\n")
        return path

    small, large = pretty(3_000, "small.json"), pretty(12_000, "large.json")
    assert merge_dumps(large)["videos"].height == 12_000
    ratio = _cpu(large) / _cpu(small)
    assert ratio < 8, ratio


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab"\\{}[] \n\t,é🥰'),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet='k"\\{[', max_size=3), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.dictionaries(st.text(max_size=3), json_values, max_size=4), max_size=12),
    indent=st.sampled_from([None, 1, 2]),
    block=st.sampled_from([1, 7, 64, 1 << 20]),
    array=st.booleans(),
)
def test_the_splitter_finds_every_value_and_its_line(
    values: list[dict[str, Any]], indent: int | None, block: int, array: bool
) -> None:
    old, _split.BLOCK = _split.BLOCK, block
    try:
        texts = [json.dumps(v, indent=indent, ensure_ascii=False) for v in values]
        joined = ",\n".join(texts) if array else "\n".join(texts)
        data = (f"[\n{joined}\n]" if array else joined).encode()
        stream = iter([data[i : i + 5] for i in range(0, len(data), 5)])
        splitter = _split.Splitter(lambda n: next(stream, b""), b"", array=array)
        found = [(n, json.loads(ln)) for v in splitter for n, ln in zip(
            v.numbers, v.lines.splitlines(), strict=True)]  # fmt: skip
    finally:
        _split.BLOCK = old
    assert splitter.problem is None
    assert [v for _, v in found] == values
    line, lines = (2 if array else 1), []
    for t in texts:
        lines.append(line)
        line += t.count("\n") + 1
    assert [n for n, _ in found] == lines
