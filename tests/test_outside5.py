"""Session 5's outside pass: the README, the guide and every ``--help`` example run as a newcomer
runs them, in order, in one folder, against a sandbox served on 127.0.0.1 (requests counted at
the server), and the files they write opened in the readers users have.

Each test here failed on main 4d13d8c.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import tiktok_research as tr
from _sandboxes import new_sandbox
from _servers import invoke_served
from tiktok_research import io, schemas
from tiktok_research.cli import app
from tiktok_research.sandbox import Sandbox

pytestmark = [pytest.mark.http, pytest.mark.filterwarnings("default")]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Sandbox]]:
    from tiktok_research.sandbox import run_server

    with run_server(new_sandbox(validation_processing_seconds=0)) as (url, sb):
        yield url, sb


_cli = invoke_served  # exit code, output, requests that reached the sandbox (tokens too)


def test_quality_of_an_archive_that_holds_a_compliance_check_or_ads(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`refresh videos.parquet` and `compliance` (examples of the top-level --help) and `ads`
    write their collections into the default archive; `quality tiktok-archive/` (the quality
    --help example) then failed with "unknown table 'validation_create'" (exit 2), and the ads
    command printed no quality line (the same error, swallowed)."""
    monkeypatch.chdir(tmp_path)
    period = ("--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-01-31")
    assert _cli(served, "videos", *period, "--out", "videos.parquet")[0] == 0
    code, text, sent = _cli(served, "refresh", "videos.parquet")
    assert code == 0 and sent > 0, text
    code, text, _ = _cli(served, "ads", "--start", "2024-01-01", "--end", "2024-01-31",
                         "--country", "FR")  # fmt: skip
    assert code == 0, text
    code, text, sent = _cli(served, "quality", "tiktok-archive/")
    assert code == 0, text
    assert sent == 0
    assert "quality: complete" in text and "videos-" in text, text
    skipped = [line for line in text.splitlines() if "not assessed" in line]
    assert any("compliance_video-" in line for line in skipped), text
    assert any("ads-" in line for line in skipped), text
    code, text, _ = _cli(served, "quality", "tiktok-archive/", "--markdown")
    assert code == 0 and "is not assessed here" in text, text
    # a compliance check named on its own: the message says what it is (exit 2, as documented)
    check = next(Path("tiktok-archive").glob("compliance_video-*"))
    code, text, _ = _cli(served, "quality", str(check))
    assert code == 2 and "compliance check" in text and "unknown table" not in text, text


HELP_ID = "7349919882548760784"  # the comments command's --help example ("# 3 requests")


def test_a_rerun_whose_archive_holds_the_replies_announces_no_cost(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`comments ID --replies` run again (its --help example) sent nothing and still said
    "replies: 2 comment(s) have replies: at least 2 request(s)", before the run and in its
    report: the replies phase was priced without looking at the archive."""
    monkeypatch.chdir(tmp_path)
    code, text, sent = _cli(served, "comments", HELP_ID, "--replies")
    assert code == 0 and sent >= 3, text
    assert "have replies: at least 2 request(s)" in text, text
    first = pl.read_parquet("comments.parquet")
    code, text, sent = _cli(served, "comments", HELP_ID, "--replies")
    assert code == 0 and sent == 0, text
    assert "have replies" not in text and "at least" not in text, text
    assert pl.read_parquet("comments.parquet").equals(first)
    # Python: the phase's confirm is not asked when nothing will be sent
    asked: list[int] = []

    def confirm(plan: tr.Plan) -> bool:
        asked.append(plan.min_requests)
        return True

    client = tr.Client.sandbox()
    a = tmp_path / "a"
    one = tr.fetch_comments([int(HELP_ID)], replies=True, archive=a, client=client,
                            confirm=confirm)  # fmt: skip
    two = tr.fetch_comments([int(HELP_ID)], replies=True, archive=a, client=client,
                            confirm=confirm)  # fmt: skip
    assert asked == [2] and one.height == two.height
    assert not [w for w in two.report.warnings if "have replies" in w], two.report.warnings


def test_a_dry_run_is_not_refused_over_a_default_output_it_does_not_write(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`select video-ids old_videos.parquet | hydrate --sandbox --dry-run` (hydrate --help)
    was refused (exit 2) wherever a videos.parquet existed, as after the `videos` examples,
    though a dry run writes nothing; the refusal named "--out videos.parquet", an option the
    user had not typed."""
    monkeypatch.chdir(tmp_path)
    period = ("--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-01-31")
    assert _cli(served, "videos", *period)[0] == 0  # the default output: videos.parquet
    stamp = Path("videos.parquet").read_bytes()
    Path("old_videos.parquet").write_bytes(stamp)
    assert _cli(served, "select", "video-ids", "old_videos.parquet", "--out", "ids.txt")[0] == 0
    code, text, sent = _cli(served, "hydrate", "--from-file", "ids.txt", "--dry-run")
    assert code == 0 and sent == 0, text
    assert "at least" in text and "videos.parquet" in text and "will refuse" in text, text
    code, text, sent = _cli(served, "hydrate", "--from-file", "ids.txt")
    assert code == 2 and sent == 0, text
    assert "--out videos.parquet" not in text and "give --out FILE" in text, text
    assert Path("videos.parquet").read_bytes() == stamp


def test_the_guides_pandas_line_for_json_lines_keeps_ids_exact(tmp_path: Path) -> None:
    """`pd.read_json("v.jsonl", lines=True)` with its defaults turns the string ids of an id
    column with a null (`playlist_id`) into float64 and rounds them; the guide named no pandas
    reader for JSON lines."""
    pd = pytest.importorskip("pandas")
    guide = Path(__file__).parents[1] / "docs" / "guide" / "reading-output.md"
    section = guide.read_text(encoding="utf-8").split("## JSON lines", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if "pd.read_json(" in line]
    assert lines, "the JSON lines section shows how pandas reads them"
    code = lines[0].strip().strip("`").split("#")[0].strip()
    ids = [7320768158545159950, 7330082108045082153]
    frame = schemas.cast(pl.DataFrame({"id": ids, "playlist_id": [ids[1], None]}), "videos")
    io.write_ndjson(frame, tmp_path / "v.jsonl")
    default = pd.read_json(tmp_path / "v.jsonl", lines=True)
    assert default["playlist_id"].dtype == "float64"  # what the guide warns about
    namespace = {"pd": pd}
    exec(code.replace('"videos.jsonl"', repr(str(tmp_path / "v.jsonl"))), namespace)
    got = namespace[code.split("=", 1)[0].strip()]
    assert [int(x) for x in got["id"]] == ids
    assert [int(x) for x in got["playlist_id"].dropna()] == [ids[1]]


def test_the_top_level_help_examples_run_in_order_in_one_folder(
    served: tuple[str, Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tiktok-research --help`'s examples, run one after the other in one folder as a newcomer
    runs them: `--verbose --log run.log videos ...` (no --out) was refused because the second
    example had written videos.parquet, and `dehydrate videos.parquet --out ids.txt` because
    `select video-ids` had written ids.txt (exit 2 each)."""
    monkeypatch.chdir(tmp_path)
    page = CliRunner().invoke(app, ["--help"], terminal_width=200).output
    block = page.split("Examples:", 1)[1].split("Exit codes:", 1)[0]
    lines = [line.strip() for line in block.splitlines() if line.strip().startswith("tiktok-")]
    ran = []
    for line in lines:
        args = shlex.split(line)[1:]
        if args[0] in ("configure", "demo"):  # a question; the demo has its own tests
            continue
        code, text, _ = _cli(served, *args)
        assert code == 0, (line, text)
        ran.append(args[0])
    assert len(ran) >= 6, ran
    assert Path("run.log").exists()


def test_the_guides_command_line_block_gives_each_command_its_own_output() -> None:
    """docs/guide/cli.md's block, run in order, had `hydrate ... --out videos.parquet` refused
    (the first line's `videos` wrote it) and `dehydrate ... --out ids.txt` (`select` wrote it)."""
    guide = Path(__file__).parents[1] / "docs" / "guide" / "cli.md"
    block = guide.read_text(encoding="utf-8").split("```bash\n", 1)[1].split("```", 1)[0]
    writers: dict[str, str] = {}
    for line in block.splitlines():
        words = shlex.split(line.split("|")[-1])
        if "--out" in words:
            out = words[words.index("--out") + 1]
            assert writers.setdefault(out, words[1]) == words[1], (out, writers[out], line)
    assert len(writers) >= 8, writers
