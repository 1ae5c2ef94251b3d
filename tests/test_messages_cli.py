"""Messages users read on the command line (issue 18 items 15-17): the sandbox from the
environment, the missing-credentials message, float-looking ids, the package's own CSV."""

from __future__ import annotations

import itertools
import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

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


NOT_COLLECTIONS = (
    "quota",
    "configure",
    "demo",
    "quality",
    "summary",
    "dehydrate",
    "select",
    "merge",
    "sandbox",
)


def _help_examples() -> list[str]:
    """Every example of every command's ``--help`` that collects, as printed (a pipe included),
    but for a comment after ``#``; the ad-library ones are test_cli_adlib's."""
    import typer.main

    group = typer.main.get_command(app)
    found: list[str] = []
    for name in sorted(group.commands):  # type: ignore[attr-defined]
        if name in NOT_COLLECTIONS or name in ADLIB_COMMANDS:
            continue
        text = runner.invoke(app, [name, "--help"], terminal_width=200).output
        for line in text.splitlines():
            line = line.strip().split("  #")[0].strip()
            if line.startswith("tiktok-research ") and "--dry-run" not in line:
                found.append(line)
    return found


EXAMPLES = _help_examples()


def test_there_are_help_examples_to_run() -> None:
    assert len(EXAMPLES) >= 30
    assert sum("--sandbox" not in line for line in EXAMPLES) >= 15  # written for the service


def _sandbox_items(command: str) -> list[str]:
    """The items of ``command``'s own --sandbox example (what items.txt holds for its
    --from-file example)."""
    for line in EXAMPLES:
        args = shlex.split(line)[1:]
        if args[0] == command and "--sandbox" in args and "--from-file" not in args:
            return [a for before, a in itertools.pairwise(args)
                    if not a.startswith("-") and before != "--max-total"]  # fmt: skip
    return []


@pytest.fixture(scope="module")
def example_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files the examples name, as a user would have them: a videos table in each format
    (and a dataset), the ids of its videos, a query file."""
    import polars as pl

    import tiktok_research as tr

    where = tmp_path_factory.mktemp("inputs")
    videos = tr.fetch_videos(tr.Q.hashtag_name.eq("climate"), "20240101", "20240131",
                             max_total=40, client=tr.Client.sandbox(), progress=False)  # fmt: skip
    tr.io.write_parquet(videos, where / "videos.parquet")
    tr.io.write_parquet(videos, where / "old_videos.parquet")
    tr.io.write_csv(videos, where / "videos.csv")
    tr.io.write_dataset(pl.DataFrame(videos), where / "data" / "videos", table="videos")
    ids = "".join(f"{i}\n" for i in videos.get_column("id").head(20).to_list())
    (where / "ids.txt").write_text(ids)
    (where / "donated_ids.txt").write_text(ids)
    query = {"and": [{"operation": "IN", "field_name": "hashtag_name",
                      "field_values": ["climate"]}]}  # fmt: skip
    (where / "query.json").write_text(json.dumps(query))
    return where


def _with_sandbox(args: list[str]) -> list[str]:
    """The command as a user trying it offline would type it: --sandbox added."""
    return args if "--sandbox" in args else [args[0], "--sandbox", *args[1:]]


@pytest.mark.parametrize("line", EXAMPLES)
@pytest.mark.filterwarnings("ignore")  # the notes are the command's business, not this test's
def test_every_help_example_returns_rows_on_the_sandbox_for_what_it_says(
    line: str, example_inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each example runs as printed, in a folder holding the files it names (with --sandbox
    added where it has none), returns rows, and spends at most a few dozen requests (counted
    where they arrive, at the sandbox) or what the example says it costs."""
    from tiktok_research import sandbox as sandbox_module

    words = shlex.split(line.replace("|", " "))
    named = {w.split("/")[0] for before, w in itertools.pairwise(words) if before != "--out"}
    for held in example_inputs.iterdir():  # the files it reads (not those it writes)
        if held.name in named:
            copy = shutil.copytree if held.is_dir() else shutil.copy
            copy(held, tmp_path / held.name)
    monkeypatch.chdir(tmp_path)
    parts = [shlex.split(part.strip()) for part in line.split("|")]
    command = parts[-1][1]
    if "items.txt" in parts[-1]:  # the items of the command's own --sandbox example
        (tmp_path / "items.txt").write_text("".join(f"{i}\n" for i in _sandbox_items(command)))
    made: list[Any] = []
    init = sandbox_module.Sandbox.__init__

    def recorded(self: Any, *args: Any, **kw: Any) -> None:
        init(self, *args, **kw)
        made.append(self)

    monkeypatch.setattr(sandbox_module.Sandbox, "__init__", recorded)
    given = None
    for part in parts:
        args = part[1:]
        if args[0] not in NOT_COLLECTIONS:
            args = _with_sandbox(args)
        result = runner.invoke(app, args, input=given)
        assert result.exit_code == 0, (line, result.output)
        given = result.stdout
    said = result.output
    spent = sum(n for sb in made for endpoint, n in sb.stats()["requests"].items()
                if endpoint != "oauth_token")  # fmt: skip
    found = re.search(r"(?:complete; |wrote )([\d,]+) rows?", said)
    assert found is not None, (line, said)
    rows = int(found.group(1).replace(",", ""))
    print(f"{line}: {rows:,} rows, {spent} requests")  # the figures, with -s
    assert rows > 0, (line, said)  # an example shows what the command gives
    assert re.search(rf"this run: {spent:,} requests? sent", said), (line, spent, said)
    page = runner.invoke(app, [command, "--help"], terminal_width=200).output
    comment = next(text for text in page.splitlines() if line in text)
    stated = re.search(r"# (\d+) requests?", comment)
    if stated:
        assert spent == int(stated.group(1)), (line, spent)
    elif "request per 31 days" in comment:
        tasks = int(re.findall(r"(\d+)/\d+ tasks", said)[-1])
        assert tasks <= spent <= tasks + rows // 100, (line, spent)
    else:
        assert spent <= 36, (line, spent, said)  # a few dozen at most, or the example says so
