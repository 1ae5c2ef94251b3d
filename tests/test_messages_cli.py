"""Messages users read on the command line (issue 18 items 15-17): the sandbox from the
environment, the missing-credentials message, float-looking ids, the package's own CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from test_cli_adlib import ADLIB_COMMANDS
from tiktok_research.cli import app

runner = CliRunner()


def test_cli_honours_the_sandbox_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_RESEARCH_SANDBOX", "1")
    out = tmp_path / "v.parquet"
    result = runner.invoke(
        app,
        ["videos", "--hashtag", "cats", "--start", "2024-01-01", "--end", "2024-01-05",
         "--max-total", "5", "--out", str(out), "--archive", str(tmp_path / "a")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.is_file()


def test_missing_credentials_names_sandbox_first_and_says_it_once() -> None:
    result = runner.invoke(app, ["users", "some_user"])
    assert result.exit_code == 4
    text = result.output
    assert "--sandbox" in text
    assert text.index("--sandbox") < text.index("TIKTOK_CLIENT_KEY")
    assert text.count("--sandbox") == 1
    assert text.count("TIKTOK_CLIENT_KEY") == 1
    assert "Client.sandbox()" not in text  # Python advice does not belong on the command line


def test_float_looking_id_gets_the_float_explanation() -> None:
    result = runner.invoke(app, ["comments", "--sandbox", "7342411892341790714.0", "--dry-run"])
    assert result.exit_code == 2
    assert "float" in result.output and "lost digits" in result.output


@pytest.mark.parametrize("text", ["7.342411892341791e+18", "7342411892341790714.0"])
def test_float_text_in_python_is_explained_as_a_float(text: str) -> None:
    import tiktok_research as tr

    with pytest.raises(tr.InvalidRequestError, match="float"):
        tr.plan_items("comments", [text])


@pytest.mark.filterwarnings("default")  # the command shows its notes
def test_from_file_takes_the_packages_own_csv(tmp_path: Path) -> None:
    videos = tmp_path / "v.csv"
    made = runner.invoke(
        app,
        ["videos", "--sandbox", "--hashtag", "cats", "--start", "2024-01-01", "--end",
         "2024-01-05", "--max-total", "3", "--out", str(videos), "--archive", str(tmp_path / "a")],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    ids = [line.split(",")[0].strip('"') for line in videos.read_text().splitlines()[1:]]
    result = runner.invoke(
        app, ["comments", "--sandbox", "--from-file", str(videos), "--dry-run", "--ask-empty"]
    )
    assert result.exit_code == 0, result.output
    assert f"3 item(s): '{ids[0]}'" in result.output
    single = tmp_path / "ids.csv"
    single.write_text('"video_id"\n' + "".join(f'"{i}"\n' for i in ids))
    result = runner.invoke(
        app, ["comments", "--sandbox", "--from-file", str(single), "--dry-run", "--ask-empty"]
    )
    assert result.exit_code == 0, result.output
    assert "3 item(s)" in result.output


def test_summarize_names_a_missing_create_time() -> None:
    import tiktok_research as tr

    client = tr.Client.sandbox()
    videos = tr.fetch_videos(
        tr.Q.hashtag_name.eq("cats"), "20240101", "20240105", fields="id,view_count",
        max_total=10, client=client, progress=False,
    )  # fmt: skip
    assert videos.height == 10
    with pytest.raises(tr.InvalidRequestError, match="create_time"):
        tr.summarize(videos, by="month")
    with pytest.raises(tr.InvalidRequestError, match="create_time"):
        tr.summarize(videos.to_pandas())
    assert tr.summarize(videos.head(0), by="day").height == 0  # an empty table is not refused


def _top_videos(tmp_path: Path) -> Path:
    videos = tmp_path / "v.csv"
    made = runner.invoke(
        app,
        ["videos", "--sandbox", "--hashtag", "fyp", "--start", "2024-01-01", "--end",
         "2024-01-10", "--out", str(videos), "--archive", str(tmp_path / "a")],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    return videos


@pytest.mark.filterwarnings("default")  # the command shows its notes
def test_replies_ask_on_a_terminal_when_over_the_quota(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tiktok_research.cli import _collect
    from tiktok_research.client import Client

    videos = _top_videos(tmp_path)
    monkeypatch.setattr(_collect, "_terminal", lambda: True)
    monkeypatch.setattr(Client, "quota_left", lambda self, family="research": 5)
    args = ["comments", "--sandbox", "--from-file", str(videos), "--replies", "--archive",
            str(tmp_path / "a")]  # fmt: skip
    declined = runner.invoke(app, [*args, "--out", str(tmp_path / "c1.parquet")], input="n\n")
    assert declined.exit_code == 0, declined.output
    assert "have replies: at least" in declined.output
    assert "Collect the replies now?" in declined.output
    assert "not collected (declined)" in declined.output
    accepted = runner.invoke(app, [*args, "--out", str(tmp_path / "c2.parquet"), "--yes"])
    assert "Collect the replies now?" not in accepted.output
    assert "have replies: at least" in accepted.output


@pytest.mark.filterwarnings("default")  # the command shows its notes
def test_comments_skip_videos_without_comments_unless_asked(tmp_path: Path) -> None:
    videos = _top_videos(tmp_path)
    plan = runner.invoke(app, ["comments", "--sandbox", "--from-file", str(videos), "--dry-run"])
    assert plan.exit_code == 0, plan.output
    assert "whose comment_count is 0" in plan.output
    every = runner.invoke(
        app, ["comments", "--sandbox", "--from-file", str(videos), "--dry-run", "--ask-empty"]
    )
    assert "whose comment_count is 0" not in every.output
    n_all = int(every.output.split(" item(s)")[0].rsplit(" ", 1)[-1].replace(",", ""))
    n_kept = int(plan.output.split(" item(s)")[0].rsplit(" ", 1)[-1].replace(",", ""))
    assert n_kept < n_all


def test_reports_do_not_contradict_themselves(tmp_path: Path) -> None:
    import tiktok_research as tr

    client = tr.Client.sandbox()
    videos = tr.fetch_videos(tr.Q.hashtag_name.eq("fyp"), "20240101", "20241231", max_total=150,
                             client=client, progress=False)  # fmt: skip
    first = str(videos.report).splitlines()[0]
    assert videos.report.complete and "max_total reached" in first
    assert f"0/{videos.report.tasks_total} tasks;" not in first
    users = tr.fetch_user_info(["nobody_here_1", "nobody_here_2"], client=client, progress=False)
    assert users.failures.height == 2 and users.report.failed == 2
    first = str(users.report).splitlines()[0]
    # done, not "complete ... (2 failed)": the tasks are done and their accounts failed, with why
    said = "2/2 tasks done, 2 accounts failed: invalid_params (e.g. `username: nobody_here_"
    assert said in first
    both = tr.CollectionReport.combine([users.report, users.report])
    assert both.failed == 4


def _help_examples() -> list[list[str]]:
    """Every single-command ``--sandbox`` example of every command's ``--help``."""
    import shlex

    import typer.main

    group = typer.main.get_command(app)
    found: list[list[str]] = []
    for name in sorted(group.commands):  # type: ignore[attr-defined]
        text = runner.invoke(app, [name, "--help"], terminal_width=200).output
        for line in text.splitlines():
            line = line.strip().split("  #")[0]
            if line.startswith("tiktok-research ") and "--sandbox" in line and "|" not in line:
                found.append(shlex.split(line)[1:])
    return found


EXAMPLES = _help_examples()


def test_there_are_help_examples_to_run() -> None:
    assert len(EXAMPLES) >= 12


@pytest.mark.parametrize("args", EXAMPLES, ids=lambda a: " ".join(a))
@pytest.mark.filterwarnings("default")  # the command shows its notes
def test_every_help_example_returns_rows_on_the_sandbox(args: list[str], tmp_path: Path) -> None:
    if args[0] == "quota" or "--dry-run" in args:
        pytest.skip("not a collection")
    if args[0] in ADLIB_COMMANDS:
        # test_cli_adlib runs these as written, in a shell and in order (ad-details reads the
        # ids the lines before it pick), with rows and the cost of each page checked
        pytest.skip("an ad-library example: test_cli_adlib runs it as written")
    out = tmp_path / "out.parquet"
    result = runner.invoke(app, [*args, "--out", str(out), "--archive", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    import polars as pl

    rows = pl.read_parquet(out).height
    assert rows > 0, result.output
    spent = int(result.output.split("this run: ")[1].split(" ")[0].replace(",", ""))
    assert spent <= 36, result.output  # a few dozen at most, or the example says so
