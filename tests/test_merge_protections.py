"""merge_dumps never hangs, aborts or inflates a bomb: FIFOs, devices, deep JSON, gzip."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import socket
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tiktok_research.merge import (
    INFLATE_FLOOR,
    _batch,
    _detect,
    _inputs,
    _reader,
    _source,
    merge_dumps,
    missing_inputs,
)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, sockets and /dev")


def page(ids: list[int]) -> str:
    videos = [{"id": i, "username": "u", "create_time": 1704499196} for i in ids]
    return json.dumps({"data": {"videos": videos, "cursor": 1, "has_more": False},
                       "error": {"code": "ok", "message": "", "log_id": "x"}})  # fmt: skip


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail (instead of hanging the suite) if the merge blocks for 20 s."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def hung(signum: int, frame: object) -> None:
        raise TimeoutError("merge_dumps blocked")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@posix_only
@pytest.mark.parametrize("dataset", [False, True])
def test_fifos_sockets_and_devices_are_reported_never_opened(
    tmp_path: Path, deadline: None, dataset: bool
) -> None:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    (dumps / "good.json").write_text(page([1]) + "\n")
    os.mkfifo(dumps / "pipe.json")  # nobody writes to it: opening it to read would block
    os.mkfifo(tmp_path / "given.json")
    sock = socket.socket(socket.AF_UNIX)
    with contextlib.suppress(OSError):  # a temporary path too long for a socket (macOS)
        sock.bind(str(dumps / "sock.json"))
    try:
        result = merge_dumps(
            [dumps, tmp_path / "given.json", "/dev/null"],
            dataset=tmp_path / "out" if dataset else None,
        )
    finally:
        sock.close()
    assert result["videos"]["id"].to_list() == [1]
    skipped = {Path(p).name: why for p, _, why in result.skipped}
    expected = {
        "pipe.json": "a FIFO (named pipe); not opened",
        "given.json": "a FIFO (named pipe); not opened",
        "sock.json": "a socket; not opened",
        "null": "a character device; not opened",
    }
    if not (dumps / "sock.json").exists():
        del expected["sock.json"]
    assert skipped == expected
    assert "merged 1 file(s)" in str(result)


@posix_only
def test_a_file_replaced_by_a_fifo_after_listing_does_not_block(
    tmp_path: Path, deadline: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "late.json"
    os.mkfifo(f)
    with monkeypatch.context() as patch:  # not monkeypatch.undo(): that undoes conftest's too
        patch.setattr(_inputs, "not_regular", lambda mode: None)  # the listing saw a file
        reader = _reader.FileReader(
            _inputs.Item(f), 0, None, _source.Limits(None, None), lambda *a: None,
            _detect.Sniffer(None),
        )  # fmt: skip
    assert _batch.probe(reader) is None
    reader.read()
    assert reader.report.skipped == [(None, "a FIFO (named pipe); not opened")]


DEEP = 100_000


@pytest.mark.parametrize(
    "name, content",
    [
        ("array.json", "[" * DEEP + "]" * DEEP),
        ("pretty.json", '{\n "data": ' + "[" * DEEP + "]" * DEEP + "\n}"),
        ("records.json", '[{"id": 1, "x": ' + "[" * DEEP + "]" * DEEP + "}]"),
        ("first_line.json", '{"data":' + "[" * DEEP + "]" * DEEP + "}\n" + page([5]) + "\n"),
        ("envelope.jsonl.gz", '{"meta":{},"response":' + "{" * 1 + '"d":' + "[" * DEEP
         + "]" * DEEP + "}}\n"),
    ],
)  # fmt: skip
def test_too_deep_json_skips_the_file_and_the_merge_goes_on(
    tmp_path: Path, name: str, content: str
) -> None:
    (tmp_path / "good.json").write_text(page([1]) + "\n")
    path = tmp_path / name
    data = content.encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    for dataset in (None, tmp_path / "out"):
        result = merge_dumps(tmp_path, dataset=dataset)
        assert 1 in result["videos"]["id"].to_list()
        reasons = [why for p, _, why in result.skipped if Path(p).name == name]
        assert reasons, result.summary()
        assert all(isinstance(r, str) for r in reasons)


def test_a_too_deep_line_is_skipped_the_other_lines_kept(tmp_path: Path) -> None:
    deep = '{"data":{"videos":' + "[" * DEEP + "]" * DEEP + "}}"
    f = tmp_path / "cats_20240101.json"
    f.write_text(page([1]) + "\n" + deep + "\n" + page([2]) + "\n")
    result = merge_dumps(f)
    assert result["videos"]["id"].to_list() == [1, 2]
    assert result.skipped == [
        (str(f), 2, "JSON nested too deeply to decode (more than about 1,000 levels)")
    ]


def _bomb(path: Path, prefix: bytes, size: int) -> None:
    """A gzip file whose content is ``prefix`` then ``size`` bytes of one repeated character."""
    co = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [co.compress(prefix)]
    block = b"a" * (1 << 20)
    for _ in range(size >> 20):
        parts.append(co.compress(block))
    parts.append(co.flush())
    path.write_bytes(b"".join(parts))


def test_a_gzip_bomb_is_stopped_while_streaming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    produced: list[int] = []
    real_inflate = _source.Source._inflate

    def counting(self: _source.Source) -> bool:
        more = real_inflate(self)
        produced.append(self._produced)
        return more

    monkeypatch.setattr(_source.Source, "_inflate", counting)
    good = (page([1]) + "\n" + page([2]) + "\n").encode()
    bomb = tmp_path / "bomb.jsonl.gz"
    _bomb(bomb, good + b'{"data":"', INFLATE_FLOOR + (16 << 20))  # 80 MiB in ~80 KB
    assert bomb.stat().st_size < 200_000
    result = merge_dumps(bomb)
    assert max(produced) <= INFLATE_FLOOR + (2 << 20)  # never inflated whole
    assert result["videos"]["id"].to_list() == [1, 2]  # what came before the stop is kept
    (why,) = [w for _, _, w in result.skipped]
    assert why.startswith("decompression stopped after 64 MiB") and "max_inflate_ratio=" in why
    # the limits are parameters (a smaller floor keeps this test fast)
    monkeypatch.setattr(_source, "INFLATE_FLOOR", 1 << 20)
    _bomb(bomb, good + b'{"data":"', 3 << 20)
    assert "decompression stopped after 2 MiB" in merge_dumps(bomb).skipped[0][2]
    unlimited = merge_dumps(bomb, max_inflate_ratio=None)
    assert [w for _, _, w in unlimited.skipped] == ["truncated last line"]
    assert unlimited["videos"]["id"].to_list() == [1, 2]
    capped = merge_dumps(bomb, max_inflated_bytes=len(page([1])) + 10)
    assert capped["videos"]["id"].to_list() == [1]
    assert [w for _, _, w in capped.skipped] == [
        f"decompression stopped at max_inflated_bytes={len(page([1])) + 10:,}: the rest of the "
        "file was not read"
    ]


def test_real_archives_are_far_below_the_ratio() -> None:
    root = Path(__file__).resolve().parents[1] / "data" / "sample" / "dumps"
    for gz in root.rglob("*.gz"):
        ratio = len(gzip.decompress(gz.read_bytes())) / gz.stat().st_size
        assert ratio < _source.MAX_INFLATE_RATIO / 10, gz


def test_gzip_members_padding_and_damage(tmp_path: Path) -> None:
    a, b = gzip.compress((page([1]) + "\n").encode()), gzip.compress((page([2]) + "\n").encode())
    (tmp_path / "members.json.gz").write_bytes(a + b + b"\0" * 512)  # `cat a.gz b.gz`, padded
    lines = "\n".join(page([i]) for i in range(3, 103))
    (tmp_path / "cut.json.gz").write_bytes(gzip.compress(lines.encode())[:-30])
    result = merge_dumps(tmp_path)
    ids = result["videos"]["id"].to_list()
    assert {1, 2, 3, 4} <= set(ids) and 102 not in ids
    skipped = {(Path(p).name, why) for p, _, why in result.skipped}
    assert {n for n, _ in skipped} == {"cut.json.gz"}
    assert ("cut.json.gz", "truncated last line") in skipped
    assert any("gzip stream is damaged" in why for _, why in skipped)


def test_inputs_that_name_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(page([1]) + "\n")
    result = merge_dumps([tmp_path / "nope", str(tmp_path / "*.txt"), str(tmp_path / "*.json")])
    assert result["videos"]["id"].to_list() == [1]
    layouts = {Path(r.path).name: (r.layout, r.skipped) for r in result.report}
    assert layouts["nope"] == ("missing", [(None, "file not found")])
    assert layouts["*.txt"] == ("no match", [(None, "no file matches this pattern")])
    assert result.summary().startswith("merged 1 file(s): 1 videos")
    assert missing_inputs([tmp_path / "nope", str(tmp_path / "*.txt"), tmp_path]) == [
        f"{tmp_path / 'nope'}: no such file or folder",
        f"{tmp_path / '*.txt'}: no file matches this pattern",
    ]
