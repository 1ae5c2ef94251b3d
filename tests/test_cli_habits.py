"""The command-line habits of twarc users (issue 20): ``configure`` and the credentials file,
``--config FILE``, the order of the credential sources, ``--verbose`` / ``--log FILE`` and the
``dehydrate`` command.

The conftest points ``TIKTOK_RESEARCH_CONFIG`` and ``XDG_CONFIG_HOME`` at a temporary folder, so a
tester's own credentials file is never read or written.
"""

from __future__ import annotations

import gzip
import os
import re
import stat
import traceback
from collections.abc import Callable
from pathlib import Path

import httpx
import polars as pl
import pytest
from typer.testing import CliRunner

import tiktok_research as tr
from tiktok_research.cli import _run, app
from tiktok_research.errors import AuthenticationError, InvalidRequestError
from tiktok_research.sandbox import Sandbox, SandboxConfig

runner = CliRunner()
SECRET = "s3cr3t-from-the-config-file-0077"
KEY = "lab-key-from-the-config-file-5e1"
VIDEOS = ["videos", "--hashtag", "fyp", "--start", "2024-01-01", "--end", "2024-01-20"]
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z ", re.M)


def _default_file() -> Path:
    return Path(os.environ["TIKTOK_RESEARCH_CONFIG"])


def _write(path: Path, key: str, secret: str) -> Path:
    path.write_text(f'client_key = "{key}"\nclient_secret = "{secret}"\n', encoding="utf-8")
    path.chmod(0o600)
    return path


# ---- configure ------------------------------------------------------------------------------


def test_configure_writes_a_private_file_and_never_echoes_the_secret() -> None:
    result = runner.invoke(app, ["configure"], input=f"lab-key\n{SECRET}\n")
    assert result.exit_code == 0, result.output
    path = _default_file()
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SECRET not in result.output and SECRET not in result.stderr
    assert "lab-key" in result.output and str(path) in result.output
    # what it wrote is what the library reads
    creds = tr.Client(base_url="http://127.0.0.1:9")._credentials
    assert (creds.client_key, creds.client_secret) == ("lab-key", SECRET)
    assert "config file" in creds.source
    # --show says where they come from, never the secret
    shown = runner.invoke(app, ["configure", "--show"])
    assert shown.exit_code == 0 and str(path) in shown.output and SECRET not in shown.output


def test_configure_in_the_platform_config_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIKTOK_RESEARCH_CONFIG")
    result = runner.invoke(app, ["configure", "--client-key", "k1"], input=f"{SECRET}\n")
    assert result.exit_code == 0, result.output
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "tiktok-research" / "config.toml"
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_configure_with_config_writes_that_file(tmp_path: Path) -> None:
    target = tmp_path / "lab.toml"
    result = runner.invoke(app, ["--config", str(target), "configure"], input=f"k2\n{SECRET}\n")
    assert result.exit_code == 0, result.output
    assert target.is_file() and not _default_file().exists()
    assert f"--config {target}" in result.output


@pytest.mark.parametrize("secret", ["", "two words", "tab\there"])
def test_configure_refuses_a_value_that_cannot_be_a_secret(secret: str) -> None:
    result = runner.invoke(app, ["configure", "--client-key", "k"], input=f"{secret}\n")
    assert result.exit_code == 2
    assert "client secret" in result.stderr
    assert not _default_file().exists()
    if secret:
        assert secret not in result.output + result.stderr


# ---- the order of the sources ---------------------------------------------------------------


def test_precedence_arguments_config_environment_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "http://127.0.0.1:9"
    _write(_default_file(), "from-default", "default-secret")
    assert tr.Client(base_url=url)._credentials.client_key == "from-default"
    monkeypatch.setenv("TIKTOK_CLIENT_KEY", "from-env")
    monkeypatch.setenv("TIKTOK_CLIENT_SECRET", "env-secret")
    assert tr.Client(base_url=url)._credentials.client_key == "from-env"
    given = _write(tmp_path / "given.toml", "from-flag", "flag-secret")
    assert tr.Client(config=given, base_url=url)._credentials.client_key == "from-flag"
    assert tr.Client("from-args", "s", config=given, base_url=url)._credentials.client_key == (
        "from-args"
    )
    # the command line: --config FILE before the environment, the environment before the file
    shown = runner.invoke(app, ["--config", str(given), "configure", "--show"])
    assert "from-flag" in shown.output and str(given) in shown.output
    shown = runner.invoke(app, ["configure", "--show"])
    assert "from-env" in shown.output and "environment" in shown.output


def test_no_credentials_anywhere_names_all_three_sources(tmp_path: Path) -> None:
    with pytest.raises(AuthenticationError) as info:
        tr.Client(base_url="http://127.0.0.1:9")
    message = str(info.value)
    for part in ("TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET", str(_default_file()), "configure"):
        assert part in message
    result = runner.invoke(app, [*VIDEOS, "--out", str(tmp_path / "v.parquet")])
    assert result.exit_code == 4
    text = result.stderr
    # once each, in the order a user can act on: the sandbox now, the environment, the file
    for part in ("--sandbox", "TIKTOK_CLIENT_KEY", "tiktok-research configure"):
        assert text.count(part) == 1, part
    assert text.index("--sandbox") < text.index("TIKTOK_CLIENT_KEY")
    assert (
        text.index("TIKTOK_CLIENT_KEY") < text.index("configure") < text.index(str(_default_file()))
    )
    assert "Client.sandbox()" not in text and "Traceback" not in result.output + text
    assert runner.invoke(app, ["configure", "--show"]).stderr == text  # the same message
    # a --config FILE without the secret: that file is named, and what is missing
    half = tmp_path / "half.toml"
    half.write_text('client_key = "k"\n', encoding="utf-8")
    half.chmod(0o600)
    result = runner.invoke(app, ["--config", str(half), *VIDEOS, "--out", str(tmp_path / "h.csv")])
    assert result.exit_code == 4
    assert "no client_secret; client_key came from the config file" in result.stderr
    assert f"--config {half} configure" in result.stderr


def test_a_missing_or_damaged_config_file_is_named_before_any_request(tmp_path: Path) -> None:
    out = ["--out", str(tmp_path / "v.parquet")]
    result = runner.invoke(app, ["--config", str(tmp_path / "nope.toml"), *VIDEOS, *out])
    assert result.exit_code == 2 and "nope.toml" in result.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(f'client_key = "k"\nclient_secret = {SECRET}\n', encoding="utf-8")
    with pytest.raises(InvalidRequestError) as info:
        tr.Client(config=bad)
    assert str(bad) in str(info.value) and SECRET not in str(info.value)
    result = runner.invoke(app, ["--debug", "--config", str(bad), *VIDEOS, *out])
    assert result.exit_code == 2
    assert SECRET not in result.output + result.stderr


@pytest.mark.parametrize(
    "layout",
    [f'[tiktok-research]\nclient_key = "{KEY}"\nclient_secret = "{SECRET}"\n',
     f'client_key = "{KEY}"\nclient-secret = "{SECRET}"\n'],
    ids=["a section", "a misspelt name"],
)  # fmt: skip
def test_a_config_file_of_another_layout_is_named_not_passed_over(
    layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--config lab.toml`` whose credentials sit under a [section] (or a misspelt name) was
    passed over without a word: the environment's credentials were used instead (another
    project's quota), or "no credentials" told to save them in the file that holds them."""
    given = tmp_path / "lab.toml"
    given.write_text(layout, encoding="utf-8")
    given.chmod(0o600)
    monkeypatch.setenv("TIKTOK_CLIENT_KEY", "from-env")
    monkeypatch.setenv("TIKTOK_CLIENT_SECRET", "env-secret")
    with pytest.raises(InvalidRequestError) as info:
        tr.Client(config=given, base_url="http://127.0.0.1:9")
    assert str(given) in str(info.value) and "configure" in str(info.value)
    assert SECRET not in str(info.value) and KEY not in str(info.value)
    result = runner.invoke(app, ["--config", str(given), *VIDEOS, "--out", str(tmp_path / "v.csv")])
    assert result.exit_code == 2 and str(given) in result.stderr, result.output
    assert SECRET not in result.output + result.stderr
    # configure writes it again in its own layout
    result = runner.invoke(
        app, ["--config", str(given), "configure", "--client-key", "k3"], input=f"{SECRET}\n"
    )
    assert result.exit_code == 0, result.output
    assert tr.Client(config=given, base_url="http://127.0.0.1:9")._credentials.client_key == "k3"


# ---- --verbose, --log and the secrets -------------------------------------------------------


class _RejectOnce(httpx.BaseTransport):
    """The sandbox, except that the first research request is told its token is invalid."""

    def __init__(self, sb: Sandbox) -> None:
        self.inner = sb.transport()
        self.rejected = False
        self.token_down = False  # the token endpoint drops every connection

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.token_down and "/oauth/" in request.url.path:
            raise httpx.ReadError("connection reset by peer", request=request)
        if "/research/" in request.url.path and not self.rejected:
            self.rejected = True
            body = {
                "data": {},
                "error": {
                    "code": "access_token_invalid",
                    "message": "The access token is invalid or not found in the request.",
                    "log_id": "20261207000000ABCDEF",
                },
            }
            return httpx.Response(401, json=body)
        return self.inner.handle_request(request)


@pytest.fixture
def lab_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], Sandbox]:
    """Commands get a real client (credentials as the library finds them, --config first) on an
    in-process sandbox that knows the clients ``lab`` and KEY with SECRET and rejects the first
    token of each command (``sb.token_down = True``: the token endpoint drops connections)."""
    sb = Sandbox(SandboxConfig(n_videos=2_000))
    sb.add_client("lab", SECRET)
    sb.add_client(KEY, SECRET)

    def client(sandbox: bool, max_requests: int | None) -> tr.Client:
        transport = _RejectOnce(sb)
        transport.token_down = getattr(sb, "token_down", False)
        return tr.Client(
            max_requests=max_requests,
            config=_run.ROOT.config,
            base_url=Sandbox.BASE_URL,
            transport=transport,
            sleep=lambda s: None,
            ledger=tmp_path / "ledger",
            progress=False,
        )

    monkeypatch.setattr(_run, "client", client)
    return lambda: sb


def test_verbose_shows_info_lines_time_stamped(
    tmp_path: Path, lab_client: Callable[[], Sandbox]
) -> None:
    config = _write(tmp_path / "lab.toml", "lab", SECRET)
    args = ["--config", str(config), *VIDEOS]
    quiet = runner.invoke(
        app, [*args, "--archive", str(tmp_path / "a1"), "--out", str(tmp_path / "q.parquet")]
    )
    assert quiet.exit_code == 0, quiet.output + quiet.stderr
    assert "access token rejected" not in quiet.stderr
    loud = runner.invoke(
        app,
        [
            "--verbose",
            *args,
            "--archive",
            str(tmp_path / "a2"),
            "--out",
            str(tmp_path / "v.parquet"),
        ],
    )
    assert loud.exit_code == 0, loud.output + loud.stderr
    lines = [ln for ln in loud.stderr.splitlines() if "access token rejected" in ln]
    assert lines and STAMP.match(lines[0]) and " info: " in lines[0]


def test_log_file_and_secrets(tmp_path: Path, lab_client: Callable[[], Sandbox]) -> None:
    config = _write(tmp_path / "lab.toml", "lab", SECRET)
    log = tmp_path / "run.log"
    archive = tmp_path / "archive"
    args = ["--config", str(config), "--log", str(log), "--debug"]
    result = runner.invoke(
        app, [*args, *VIDEOS, "--archive", str(archive), "--out", str(tmp_path / "v.parquet")]
    )
    assert result.exit_code == 0, result.output + result.stderr
    text = log.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines and all(STAMP.match(ln) for ln in lines if not ln.startswith(" "))
    assert "access token rejected; fetching a new one" in text  # INFO reaches the file
    assert "--config" in lines[0] and "exit code 0" in lines[-1]
    # a wrong secret: the error and its traceback (--debug) are in the log; the secret is not
    wrong = _write(tmp_path / "wrong.toml", "lab", SECRET + "-wrong")
    failed = runner.invoke(
        app,
        ["--config", str(wrong), "--log", str(log), "--debug", *VIDEOS, "--archive",
         str(tmp_path / "archive2"), "--out", str(tmp_path / "w.parquet")],
    )  # fmt: skip
    assert failed.exit_code == 4
    assert "Traceback" in log.read_text(encoding="utf-8")
    texts = [result.output, result.stderr, failed.output, failed.stderr]
    for path in tmp_path.rglob("*"):  # archives, tables, the log: all but the two config files
        if path.is_file() and path.suffix != ".toml":
            raw = path.read_bytes()
            texts.append(
                (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8", "replace")
            )
    everything = "\n".join(texts)
    assert any(p.name.startswith("pages-") for p in archive.rglob("*"))
    assert SECRET not in everything
    assert "clt." not in everything
    assert sorted(p.name for p in tmp_path.rglob("*.toml")) == ["lab.toml", "wrong.toml"]


def _texts_on_disk(*folders: Path) -> list[str]:
    """The text of every file under ``folders`` but the credentials files (.toml): archives
    (gzip opened), tables, logs, the ledger, the record of outputs."""
    texts = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix != ".toml":
                raw = path.read_bytes()
                if path.suffix == ".gz":
                    raw = gzip.decompress(raw)
                texts.append(raw.decode("utf-8", "replace"))
    return texts


def test_the_credentials_file_never_leaks(
    tmp_path: Path, lab_client: Callable[[], Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither value of a credentials file, nor a line of it, reaches an archive, a ``--log``
    file, the ``--verbose`` / ``--debug`` output or a traceback: in a run that works (a token
    rejected and fetched again), a rejected secret, a token endpoint that cannot be reached, a
    damaged file, a value that cannot be a credential, and ``configure`` itself."""
    log = tmp_path / "run.log"
    loud = ["--verbose", "--debug", "--log", str(log)]
    outputs: list[str] = []
    runs = iter(range(100))

    def run(config: Path, expected: int, *more: str, stdin: str | None = None) -> None:
        n = next(runs)
        args = [*loud, "--config", str(config), *more]
        if not more:
            out = ["--archive", str(tmp_path / f"archive{n}"), "--out", str(tmp_path / f"{n}.csv")]
            args += [*VIDEOS, *out]
        result = runner.invoke(app, args, input=stdin)
        outputs.extend([result.stdout, result.stderr])
        assert result.exit_code == expected, result.stdout + result.stderr

    good = _write(tmp_path / "lab.toml", KEY, SECRET)
    wrong = _write(tmp_path / "wrong.toml", KEY, SECRET[::-1])
    unquoted = tmp_path / "unquoted.toml"
    unquoted.write_text(f"client_key = {KEY}\nclient_secret = {SECRET}\n", encoding="utf-8")
    spaced = tmp_path / "spaced.toml"
    spaced.write_text(f'client_key = "{KEY}"\nclient_secret = "{SECRET} x"\n', encoding="utf-8")
    run(good, 0)  # works: one token rejected, fetched again (a --verbose line)
    run(wrong, 4)  # the service refuses the secret: error and traceback (--debug)
    run(unquoted, 2)  # not TOML
    run(spaced, 2)  # a value that cannot be a secret
    lab_client().token_down = True  # type: ignore[attr-defined]
    run(good, 5)  # the token endpoint cannot be reached: retried, then a traceback
    made = tmp_path / "made.toml"
    run(made, 0, "configure", stdin=f"{KEY}\n{SECRET}\n")
    run(made, 2, "configure", stdin=f"{KEY}\n{SECRET} x\n")  # refused, and not echoed
    run(made, 0, "configure", "--show")
    assert made.read_text(encoding="utf-8").count(SECRET) == 1  # the refused value wrote nothing
    log_text = log.read_text(encoding="utf-8")
    assert "access token rejected; fetching a new one" in log_text  # INFO lines are there
    assert log_text.count("Traceback") >= 3  # rejected secret, damaged file, unreachable
    assert "Traceback" in "".join(outputs)
    # the library, as a notebook shows it: exceptions with their chain, reprs
    python: list[str] = []
    for config in (unquoted, spaced):
        with pytest.raises(InvalidRequestError) as info:
            tr.Client(config=config)
        python.append("".join(traceback.format_exception(info.value, chain=True)))
        python.append(repr(info.value))
    monkeypatch.setenv("TIKTOK_CLIENT_KEY", KEY)
    with pytest.raises(AuthenticationError) as missing:
        tr.Client()  # the key from the environment, no secret anywhere
    python.append(str(missing.value))
    client = tr.Client(config=good, base_url="http://127.0.0.1:9")
    python += [repr(client), repr(client._credentials), str(client._credentials)]
    client.close()
    cache = Path(os.environ["TIKTOK_RESEARCH_CACHE_DIR"])
    everything = "\n".join([*outputs, *python, *_texts_on_disk(tmp_path, cache)])
    assert any(p.name.startswith("pages-") for p in tmp_path.rglob("*"))  # archives were read
    for leak in (SECRET, SECRET[::-1], "client_secret = ", "clt."):
        assert leak not in everything, leak
    # the key is no secret: `configure` and `configure --show` say which one is used; it is in
    # no archive, log or traceback
    assert KEY not in "\n".join([*python[:4], *_texts_on_disk(tmp_path, cache)])


def test_log_to_a_folder_is_refused_before_any_request(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--log", str(tmp_path), *VIDEOS, "--sandbox"])
    assert result.exit_code == 2 and "--log" in result.stderr and "folder" in result.stderr


def test_an_error_is_one_time_stamped_line_in_the_log(tmp_path: Path) -> None:
    """The log said ``error: error: the config file ...``: the level, then the terminal's text."""
    log = tmp_path / "run.log"
    missing = tmp_path / "nope.toml"
    result = runner.invoke(app, ["--log", str(log), "--config", str(missing), *VIDEOS])
    assert result.exit_code == 2, result.output
    lines = log.read_text(encoding="utf-8").splitlines()
    errors = [line for line in lines if " error: " in line]
    assert len(errors) == 1 and STAMP.match(errors[0]), lines
    assert "error: error:" not in errors[0] and f"the config file {missing}" in errors[0], errors


def test_python_warnings_are_time_stamped_log_lines(tmp_path: Path) -> None:
    # a window that ends today: NotYetIndexedWarning or a plan note; any warning must be stamped
    log = tmp_path / "run.log"
    result = runner.invoke(
        app,
        ["--log", str(log), "merge", str(tmp_path / "none.json"), "--out",
         str(tmp_path / "m.parquet")],
    )  # fmt: skip
    assert result.exit_code == 2
    text = log.read_text(encoding="utf-8")
    assert "error:" in text and "exit code 2" in text
    assert all(STAMP.match(ln) for ln in text.splitlines())


# ---- dehydrate ------------------------------------------------------------------------------


def test_dehydrate_command_writes_each_id_once_as_exact_digits(tmp_path: Path) -> None:
    ids = [7322248173111026464, 7321497470885947212, 7322248173111026464, None, 9007199254740993]
    table = tmp_path / "videos.parquet"
    pl.DataFrame({"id": ids, "x": range(5)}, schema={"id": pl.Int64, "x": pl.Int64}).write_parquet(
        table
    )
    printed = runner.invoke(app, ["dehydrate", str(table)])
    assert printed.exit_code == 0, printed.output + printed.stderr
    assert printed.stdout.split() == [
        "7322248173111026464",
        "7321497470885947212",
        "9007199254740993",
    ]
    out = tmp_path / "ids.txt"
    written = runner.invoke(app, ["dehydrate", str(table), "--out", str(out)])
    assert written.exit_code == 0
    python = tr.dehydrate(table, tmp_path / "py.txt")
    assert out.read_bytes() == python.read_bytes()
    missing = runner.invoke(app, ["dehydrate", str(table), "--column", "video_id"])
    assert missing.exit_code == 2 and "video_id" in missing.stderr


def test_dehydrate_follows_the_output_rules(tmp_path: Path) -> None:
    """out-files' rules: a rerun replaces its own unchanged output; any other existing file is
    refused without --overwrite (and left as it was); --out - prints the ids and nothing else
    on standard output."""
    table = tmp_path / "videos.parquet"
    pl.DataFrame({"id": [7322248173111026464, 7321497470885947212]}).write_parquet(table)
    out = tmp_path / "ids.txt"
    args = ["dehydrate", str(table), "--out", str(out)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.stderr
    again = runner.invoke(app, args)  # the same command: its own unchanged output
    assert again.exit_code == 0, again.stderr
    assert out.read_text().split() == ["7322248173111026464", "7321497470885947212"]
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    refused = runner.invoke(app, ["dehydrate", str(table), "--out", str(notes)])
    assert refused.exit_code == 2 and "--overwrite" in refused.stderr
    assert notes.read_text() == "my notes\n"
    out.write_text(out.read_text() + "7000000000000000001\n")  # edited by hand since
    assert runner.invoke(app, args).exit_code == 2
    forced = runner.invoke(app, [*args, "--overwrite"])
    assert forced.exit_code == 0 and len(out.read_text().split()) == 2
    piped = runner.invoke(app, ["dehydrate", str(table), "--out", "-"])
    assert piped.exit_code == 0
    assert piped.stdout.split() == ["7322248173111026464", "7321497470885947212"]
    assert not (tmp_path / "-").exists() and not Path("-").exists()


def test_dehydrate_help_examples_run_as_written_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dehydrate --help``'s examples, on the sandbox (TIKTOK_RESEARCH_SANDBOX=1), run twice in
    a folder holding the tables they name: the same ids each time, nothing doubled, and the
    second ``hydrate`` of the pipe sends nothing (its archive holds the page)."""
    import shlex

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIKTOK_RESEARCH_SANDBOX", "1")
    window = ["--hashtag", "climate", "--start", "2024-01-01", "--end", "2024-01-31"]
    for made in (["--out", "videos.parquet"], ["--dataset", "data/videos"]):
        result = runner.invoke(app, ["videos", *window, *made])
        assert result.exit_code == 0, result.stdout + result.stderr
    held = pl.read_parquet("videos.parquet")["id"].to_list()
    assert held and sorted(held) == sorted(
        tr.io.read_dataset("data/videos").collect()["id"].to_list()
    )
    text = runner.invoke(app, ["dehydrate", "--help"], terminal_width=200).stdout
    examples = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("tiktok-research")]
    assert len(examples) == 2
    spent: list[str] = []
    for _ in range(2):
        for example in examples:
            stdin = None
            for part in example.split("|"):
                args = shlex.split(part)[1:]
                result = runner.invoke(app, args, input=stdin)
                assert result.exit_code == 0, f"{example}: {result.stdout}{result.stderr}"
                stdin = result.stdout
                if args[0] == "hydrate":
                    spent.append(result.stdout.split("this run: ")[1].split(" ")[0])
        first = shlex.split(examples[0])
        ids_file = Path(first[first.index("--out") + 1])
        assert [int(x) for x in ids_file.read_text().split()] == held
        again = pl.read_parquet("again.parquet")["id"]
        assert again.n_unique() == again.len() and sorted(again.to_list()) == sorted(held)
    assert spent == ["1", "0"]  # 43 ids: one request, then none


def test_help_lists_the_new_commands_and_options() -> None:
    result = runner.invoke(app, ["--help"])
    for word in ("configure", "dehydrate", "--config", "--verbose", "--log"):
        assert word in result.output


@pytest.mark.filterwarnings("default")  # the command shows its notes
def test_everything_a_run_says_is_in_the_log_and_once_on_the_terminal(tmp_path: Path) -> None:
    """Before: "wrote N rows to ..." and the "run the same command again" hint reached the
    terminal only. Every line the command prints about its run is in the --log file too, each
    time-stamped, and is printed once."""
    log = tmp_path / "run.log"
    runs = [
        # stopped by the budget after the first of three windows: incomplete, with the hint
        [*VIDEOS[:4], "2024-01-01", "--end", "2024-03-31", "--max-requests", "1"],
        ["users", "kimbookish", "nobody_here_1"],  # an account refused: listed, and a file
    ]
    for i, args in enumerate(runs):
        out = tmp_path / f"out{i}.csv"
        where = ["--out", str(out), "--archive", str(tmp_path / "a")]
        result = runner.invoke(app, ["--log", str(log), args[0], "--sandbox", *args[1:], *where])
        assert result.exit_code == (3 if i == 0 else 0), result.output
        said = [STAMP.sub("", ln) for ln in result.output.splitlines() if ln.strip()]
        logged = log.read_text(encoding="utf-8")
        for line in said:
            assert line in logged, (line, logged)
            assert said.count(line) == 1, (line, result.output)
        wrote = next(ln for ln in logged.splitlines() if "wrote " in ln and str(out) in ln)
        assert STAMP.match(wrote), wrote
    assert "info: incomplete: run the same command again" in logged
    assert "1 item(s) failed (all of them in" in logged
