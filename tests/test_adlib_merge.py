"""``merge_dumps`` reads the ad library's answers too: a round trip from collections on the sandbox
through the raw archive, and the layouts users keep (curl answers piped through ``jq``, one JSON
array of answers), with error pages and a cut last line reported, never dropped silently."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import tiktok_research as tr
from tiktok_research.sandbox import Sandbox, SandboxConfig

# inside the sandbox's year of ads: no retention note
NOW = dt.datetime(2024, 12, 20, 12, tzinfo=dt.UTC)
KEYS = {"ads": "ad_id", "ad_details": "ad_id", "advertisers": "business_id",
        "commercial_content": "id", "ad_reports": ["country", "date"]}  # fmt: skip


def collect(archive: Path) -> tuple[dict[str, pl.DataFrame], Sandbox]:
    """Every endpoint of the ad library collected into ``archive`` (small pages: several each)."""
    sb = Sandbox(SandboxConfig(n_videos=3_000, clock_start=NOW))
    c = tr.Client.sandbox(sb)
    kw: dict[str, Any] = {"client": c, "archive": archive, "progress": False}
    ads = tr.fetch_ads("2024-03-01", "2024-05-31", countries=["IT", "FR"], max_count=10, **kw)
    out = {
        "ads": ads,
        "ad_details": tr.fetch_ad_details(ads.head(8), **kw),
        "advertisers": tr.fetch_advertisers(["coffee", "bank"], **kw),
        "ad_reports": tr.fetch_ad_report("2024-03-01", "2024-05-31", countries="IT", **kw),
        "commercial_content": tr.fetch_commercial_content(
            "2024-01-01", "2024-06-30", countries="DE", max_count=10, **kw
        ),
    }
    return out, sb


def same_rows(got: pl.DataFrame, want: pl.DataFrame, table: str) -> None:
    key = KEYS[table]
    assert got.schema == want.schema == tr.schemas.SCHEMAS[table]
    assert got.sort(key).equals(pl.DataFrame(want).sort(key)), table


def envelopes(archive: Path, endpoint: str) -> list[dict[str, Any]]:
    out = []
    for path in sorted(archive.rglob("pages-*.jsonl*")):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            out += [e for e in map(json.loads, f) if e["meta"]["endpoint"] == endpoint]
    return out


def test_the_archive_of_every_endpoint_merges_back_to_the_same_tables(tmp_path: Path) -> None:
    tables, _ = collect(tmp_path / "archive")
    assert all(t.height > 0 for t in tables.values())
    assert len(envelopes(tmp_path / "archive", "ad_query")) > 2  # several pages of a search
    merged = tr.merge_dumps(tmp_path / "archive")
    for table, want in tables.items():
        same_rows(merged[table], want, table)
    # the search term of an advertiser comes from the request kept in the archive
    assert set(merged["advertisers"]["search_term"]) == {"coffee", "bank"}
    assert merged["ads"]["ad_id"].max() > 2**53  # 19-digit ids, exact
    assert not any(r.skipped for r in merged.report), [r.skipped for r in merged.report]


def test_a_merge_of_two_runs_holds_each_ad_once(tmp_path: Path) -> None:
    tables, _ = collect(tmp_path / "one")
    collect(tmp_path / "two")  # the same searches again in another archive
    merged = tr.merge_dumps([tmp_path / "one", tmp_path / "two"])
    same_rows(merged["ads"], tables["ads"], "ads")
    same_rows(merged["commercial_content"], tables["commercial_content"], "commercial_content")


def test_answers_saved_by_hand_merge_and_mistakes_are_reported(tmp_path: Path) -> None:
    """Answers as users save them: pretty-printed and concatenated (``curl ... | jq . >>``), one
    JSON array, JSON lines with an error page and a last line cut short."""
    tables, _ = collect(tmp_path / "archive")
    ads_pages = [e["response"] for e in envelopes(tmp_path / "archive", "ad_query")]
    details = [e["response"] for e in envelopes(tmp_path / "archive", "ad_detail")]
    content = [e["response"] for e in envelopes(tmp_path / "archive", "commercial_content_query")]
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    (dumps / "ads.json").write_text("".join(json.dumps(p, indent=2) + "\n" for p in ads_pages))
    (dumps / "details.json").write_text(json.dumps(details))
    error = {"data": {}, "error": {"code": "scope_not_authorized", "message": "no",
                                   "log_id": "x", "http_status_code": 401}}  # fmt: skip
    lines = [json.dumps(p) for p in content] + [json.dumps(error)]
    lines.append(json.dumps(content[0])[:-40])  # a last line cut short by a crash
    (dumps / "content.jsonl").write_text("\n".join(lines) + "\n")
    merged = tr.merge_dumps(dumps)
    same_rows(merged["ads"], tables["ads"], "ads")
    same_rows(merged["ad_details"], tables["ad_details"], "ad_details")
    same_rows(merged["commercial_content"], tables["commercial_content"], "commercial_content")
    skipped = {Path(r.path).name: r.skipped for r in merged.report}
    assert skipped["ads.json"] == [] and skipped["details.json"] == []
    whys = " | ".join(why for _, why in skipped["content.jsonl"])
    assert "scope_not_authorized" in whys and "truncated" in whys, whys
    lines_reported = sorted(line for line, _ in skipped["content.jsonl"])
    assert lines_reported == [len(content) + 1, len(content) + 2]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_ad_library_and_research_api_dumps_merge_together(tmp_path: Path) -> None:
    sb = Sandbox(SandboxConfig(n_videos=3_000, clock_start=NOW))
    c = tr.Client.sandbox(sb)
    content = tr.fetch_commercial_content("2024-01-01", "2024-06-30", countries="DE", client=c,
                                          archive=tmp_path, progress=False)  # fmt: skip
    linked = tr.link_commercial_content(content)
    videos = tr.fetch_videos_by_id(linked["video_id"], client=c, archive=tmp_path, progress=False)
    merged = tr.merge_dumps(tmp_path)
    same_rows(merged["commercial_content"], content, "commercial_content")
    assert merged["videos"].sort("id")["id"].equals(videos.sort("id")["id"])
    # and the join of the merged tables is the join of the collected ones
    joined = tr.link_commercial_content(merged["commercial_content"], videos=merged["videos"])
    assert (
        joined["view_count"].null_count()
        == tr.link_commercial_content(content, videos=videos)["view_count"].null_count()
    )
