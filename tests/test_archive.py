"""Raw archive: verbatim bodies, no secrets, durable appends from threads, crash tolerance."""

from __future__ import annotations

import gzip
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tiktok_research import __version__, merge_dumps
from tiktok_research._archive import ArchiveWriter, iter_archive

WHEN = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
PAGE = b'{"data":{"videos":[{"id":7320768158545159950,\r\n"username":"a"}],"has_more":false}}'


def _write(w: ArchiveWriter, page: int, body: bytes, status: int = 200) -> None:
    w.write(run="r1", page=page, endpoint="video_query",
            request={"path": "/v2/research/video/query/", "params": {"fields": "id"},
                     "body": {"query": {}, "cursor": page}},
            status=status, body=body, retrieved_at=WHEN)  # fmt: skip


def test_envelope_keeps_body_bytes_and_ids(tmp_path: Path) -> None:
    w = ArchiveWriter(tmp_path / "run.jsonl")
    _write(w, 0, PAGE)
    path = w.close()
    line = path.read_bytes()
    assert line.count(b"\n") == 1
    assert b'"id":7320768158545159950' in line  # spliced, not re-encoded
    env = next(iter_archive(path))
    assert env["meta"] == {"run": "r1", "page": 0, "endpoint": "video_query",
                           "retrieved_at": "2024-01-01T12:00:00.000000Z", "version": __version__,
                           "http_status": 200}  # fmt: skip
    assert env["response"]["data"]["videos"][0]["id"] == 7320768158545159950
    assert env["request"]["params"] == {"fields": "id"}


def test_non_json_body_is_kept_as_text(tmp_path: Path) -> None:
    w = ArchiveWriter(tmp_path / "run.jsonl")
    _write(w, 0, b"<html><body>504 Gateway Time-out</body></html>", status=504)
    env = next(iter_archive(w.close()))
    assert env["response_text"].startswith("<html>") and "response" not in env


def test_no_token_or_secret_is_ever_written(tmp_path: Path) -> None:
    w = ArchiveWriter(tmp_path / "run.jsonl")
    w.write(run="r", page=0, endpoint="user_info",
            request={"path": "/x", "params": {"access_token": "clt.secret1"},
                     "body": {"username": "a", "client_secret": "s3cr3t", "auth": "Bearer clt.x"}},
            status=200, body=b'{"access_token":"clt.secret2","expires_in":7200}',
            retrieved_at=WHEN)  # fmt: skip
    text = w.close().read_text()
    for secret in ("clt.secret1", "s3cr3t", "clt.x", "clt.secret2"):
        assert secret not in text
    assert '"username": "a"' in text


def test_threads_append_whole_lines(tmp_path: Path) -> None:
    w = ArchiveWriter(tmp_path / "run.jsonl")
    threads = [threading.Thread(target=_write, args=(w, i, PAGE)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    envs = list(iter_archive(w.close()))
    assert sorted(e["meta"]["page"] for e in envs) == list(range(16))


def test_compress_and_truncated_last_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    w = ArchiveWriter(tmp_path / "run.jsonl")
    _write(w, 0, PAGE)
    _write(w, 1, PAGE.replace(b"7320768158545159950", b"7320768158545159951"))
    gz = w.close(compress=True)
    assert gz.name == "run.jsonl.gz" and not (tmp_path / "run.jsonl").exists()
    assert len(list(iter_archive(gz))) == 2
    crashed = tmp_path / "crashed.jsonl"
    crashed.write_bytes(gzip.decompress(gz.read_bytes()) + b'{"meta": {"run": "r1", "pa')
    with caplog.at_level("WARNING"):
        assert len(list(iter_archive(crashed))) == 2
    assert "crashed.jsonl: line 3: truncated last line" in caplog.text
    tables = merge_dumps(tmp_path).tables
    assert sorted(tables["videos"]["id"].to_list()) == [7320768158545159950, 7320768158545159951]


def test_tables_of_an_archive_use_only_ok_pages_and_request_columns(tmp_path: Path) -> None:
    w = ArchiveWriter(tmp_path / "f.jsonl")
    w.write(run="r", page=0, endpoint="followers", request={"body": {"username": "owner"}},
            status=200, body=b'{"data":{"user_followers":[{"username":"a","display_name":"A"}]},'
            b'"error":{"code":"ok","message":"","log_id":"x"}}', retrieved_at=WHEN)  # fmt: skip
    w.write(run="r", page=1, endpoint="followers", request={"body": {"username": "owner"}},
            status=500, body=b'{"error":{"code":"internal_error","message":"m","log_id":"y"}}',
            retrieved_at=WHEN)  # fmt: skip
    out = merge_dumps([w.close()]).tables
    assert list(out) == ["followers"]
    assert out["followers"].row(0) == ("owner", "A", "a")
    assert (
        json.loads((tmp_path / "f.jsonl").read_text().splitlines()[1])["meta"]["http_status"] == 500
    )


def test_the_envelope_schema_reads_every_part_the_writer_writes(tmp_path: Path) -> None:
    from tiktok_research import tables

    w = ArchiveWriter(tmp_path / "run.jsonl")
    _write(w, 0, PAGE)
    _write(w, 1, b"<html>504</html>", status=504)
    envelopes = list(iter_archive(w.close()))
    schema = tables.envelope_schema(["video_query"])
    assert set(schema) == {"meta", "request", "response", "response_text"}
    assert set(envelopes[0]) | set(envelopes[1]) == set(schema)
    meta = schema["meta"].to_schema()  # type: ignore[attr-defined]
    assert set(meta) <= set(envelopes[0]["meta"]), "every meta field read is written"
    assert set(schema["request"].to_schema()) == set(envelopes[0]["request"])  # type: ignore[attr-defined]
    body = schema["request"].to_schema()["body"].to_schema()  # type: ignore[attr-defined]
    assert set(body) == set(tables.REQUEST_KEYS)
    assert {key for _, key in tables.FROM_REQUEST.values()} <= set(tables.REQUEST_KEYS)


def test_a_page_file_gzipped_meanwhile_is_read_from_its_twin(tmp_path: Path) -> None:
    from tiktok_research._archive import read_file_lines

    w = ArchiveWriter(tmp_path / "pages-r1.jsonl")
    _write(w, 0, PAGE)
    listed = w.path  # a reader listed the .jsonl; then its run finished and gzipped it
    gz = w.close(compress=True)
    assert not listed.exists() and gz.exists()
    lines = read_file_lines(listed)
    assert lines.path == gz and lines.damage == [] and lines.data
    assert json.loads(lines.data)["meta"]["page"] == 0
    assert [e["meta"]["page"] for e in iter_archive([listed])] == [0]
