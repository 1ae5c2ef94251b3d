"""The ad library's commands (ads, ad-details, ad-report, advertisers, commercial-content) on the
built-in sandbox: tables written, mistakes exit 2 before any request, dry runs, resume."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tiktok_research import io, schemas
from tiktok_research.cli import EXIT_INVALID, app

runner = CliRunner()
COMMON = ["--sandbox", "--no-progress"]


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--archive", str(tmp_path / "archive")])
    return result.exit_code, result.output


def test_help_lists_the_ad_library_commands() -> None:
    out = runner.invoke(app, ["--help"]).output
    for command in ("ads", "ad-details", "ad-report", "advertisers", "commercial-content"):
        assert command in out
    for command in ("ads", "ad-details", "ad-report", "advertisers", "commercial-content"):
        assert "Examples" in runner.invoke(app, [command, "--help"]).output


@pytest.mark.filterwarnings("ignore:.*stay searchable:UserWarning")
def test_every_command_writes_its_table(tmp_path: Path) -> None:
    ads_csv = tmp_path / "ads.csv"
    code, out = run(tmp_path, "ads", *COMMON, "--start", "2024-06-01", "--end", "2024-06-30",
                    "--country", "FR", "--country", "DE", "--out", str(ads_csv))  # fmt: skip
    assert code == 0, out
    ads = io.read_csv(ads_csv, table="ads")
    assert ads.height > 10 and ads["ad_id"].max() > 2**53  # exact through CSV
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(str(i) for i in ads["ad_id"].head(3)))
    code, out = run(tmp_path, "ad-details", *COMMON, "--from-file", str(ids),
                    "--out", str(tmp_path / "d.parquet"))  # fmt: skip
    assert code == 0, out
    details = pl.read_parquet(tmp_path / "d.parquet")
    assert details.schema == schemas.AD_DETAILS
    assert details["ad_id"].to_list() == ads["ad_id"].head(3).to_list()
    report = str(tmp_path / "r.parquet")
    code, out = run(tmp_path, "ad-report", *COMMON, "--start", "2024-06-01", "--end",
                    "2024-06-30", "--country", "FR", "--out", report)  # fmt: skip
    assert code == 0, out
    assert pl.read_parquet(tmp_path / "r.parquet").schema == schemas.AD_REPORTS
    code, out = run(tmp_path, "advertisers", *COMMON, "coffee", "bank",
                    "--out", str(tmp_path / "a.parquet"))  # fmt: skip
    assert code == 0, out
    assert set(pl.read_parquet(tmp_path / "a.parquet")["search_term"]) == {"coffee", "bank"}
    code, out = run(tmp_path, "commercial-content", *COMMON, "--start", "2024-01-01", "--end",
                    "2024-03-31", "--out", str(tmp_path / "c.parquet"))  # fmt: skip
    assert code == 0, out
    content = pl.read_parquet(tmp_path / "c.parquet")
    assert content.schema == schemas.COMMERCIAL_CONTENT and content.height > 10
    # the same command again: everything from the archive, nothing asked
    code, out = run(tmp_path, "commercial-content", *COMMON, "--start", "2024-01-01", "--end",
                    "2024-03-31", "--out", str(tmp_path / "c2.parquet"))  # fmt: skip
    assert code == 0 and "0 requests spent in this run" in out
    assert pl.read_parquet(tmp_path / "c2.parquet").equals(content)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ads", "--start", "2022-01-01", "--end", "2024-01-01"], "before 2022-10-01"),
        (["ads", "--start", "2024-01-01", "--end", "2024-02-01", "--country", "US"],
         "US not covered"),
        (["ads", "--start", "2024-01-01", "--end", "2024-02-01", "--reach-min", "2000K"],
         "2000K"),
        (["ads", "--start", "2024-01-01", "--end", "2024-02-01", "--search-type", "x"],
         "exact_phrase"),
        (["ad-details", "1.5"], "not an id"),
        (["ad-report", "--start", "2024-02-01", "--end", "2024-01-01"], "reversed"),
        (["advertisers", "x" * 51], "at most 50"),
        (["commercial-content", "--start", "2024-01-01", "--end", "2024-02-01", "--country",
          "CH"], "EEA only"),
        (["ads", "--start", "2024-01-01", "--end", "2024-02-01", "--out", "ads.xlsx"],
         "xlsx"),
    ],
)  # fmt: skip
def test_mistakes_exit_2_before_any_request_even_without_credentials(
    tmp_path: Path, args: list[str], message: str
) -> None:
    code, out = run(tmp_path, *args)  # no --sandbox, no credentials
    assert code == EXIT_INVALID, out
    assert message in out
    assert "Traceback" not in out
    assert not (tmp_path / "archive").exists()


@pytest.mark.filterwarnings("ignore:.*stay searchable:UserWarning")
def test_dry_run_prints_the_plan_without_credentials(tmp_path: Path) -> None:
    code, out = run(tmp_path, "ads", "--start", "2023-01-01", "--end", "2024-06-30",
                    "--country", "FR", "--search-term", "shoes", "--dry-run")  # fmt: skip
    assert code == 0, out
    assert "FR:20240101-20240630" in out and "FR:20230101-20231231" in out
    assert '"search_term": "shoes"' in out


ADLIB_SECTION = "\n## 16. TikTok's ad library"


@pytest.mark.slow
def test_the_readme_ad_library_examples_run_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Section 16's Python blocks run in order (tests/test_readme.py runs sections 1 to 14);
    its command lines name commands and options that exist."""
    import shlex
    import warnings

    from test_readme import README, python_blocks

    section = README.read_text(encoding="utf-8").split(ADLIB_SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = python_blocks(section)
    assert len(blocks) == 2 and all(why is None for _, _, why in blocks)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    for line, code, _ in blocks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(code, f"README.md section 16, block at {line}", "exec"), namespace)
    assert namespace["joined"].height > 0  # type: ignore[attr-defined]
    commands = section.split("```bash", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(commands) == 5
    for command in commands:
        args = shlex.split(command)[1:]
        with warnings.catch_warnings():  # the note on ads older than a year (2025 dates)
            warnings.simplefilter("ignore")
            result = runner.invoke(app, [*args, "--dry-run"]) if "--from-file" not in args else None
        if result is not None:
            assert result.exit_code == 0, (command, result.output)
