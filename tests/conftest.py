"""Shared test set-up: no test reaches the internet, and nothing writes to the user's real cache."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _notebooks import is_notebook_test
from _sandboxes import (
    DemoRun,
    MakeClient,
    MakeHttp,
    MakeSandbox,
    MakeServer,
    ReferenceRun,
    new_client,
    new_http,
    new_sandbox,
    reference_run,
)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _refusal(host: str) -> str:
    return f"tests may not connect to {host!r}: only 127.0.0.1 is allowed"


def _check_address(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0]
    if host == "localhost":
        return
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise RuntimeError(
            f"tests may not connect to {host!r}: only 127.0.0.1 is allowed"
        ) from None
    if not ip.is_loopback:
        raise RuntimeError(f"tests may not connect to {host!r}: only 127.0.0.1 is allowed")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check_address(self, address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check_address(self, address)
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


_SAVED_TMP = pytest.StashKey[tuple[str | None, str | None]]()
_SAVED_CACHE = pytest.StashKey[str | None]()
CACHE_ENV = "TIKTOK_RESEARCH_CACHE_DIR"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Every temporary file of the run (the package's, a notebook kernel's, a CLI process's) goes
    under pytest's own base folder, which pytest prunes (it keeps the last three runs): a suite run
    leaves nothing in the system's temporary folder, however often it runs.

    A hook, not a fixture: this file's fixtures do not reach the notebooks' items (they are outside
    tests/), and as a session fixture it left each notebook's folder in /tmp on every run (six
    ``tiktok-sandbox-*``, ``quality-*`` and ``tmp*`` folders, 14 MB after 20 runs). Workers (and so
    the notebook kernels they start) each take their own base folder."""
    import tempfile

    if not hasattr(session.config, "workerinput"):  # the controller, or a run without xdist
        session.config.stash[_LEFT_IN_CHECKOUT] = _left_in_checkout(session.config)
    factory = getattr(session.config, "_tmp_path_factory", None)  # pytest's tmp_path_factory
    if factory is None:
        return
    folder = factory.getbasetemp() / "tmp"
    folder.mkdir(exist_ok=True)
    session.config.stash[_SAVED_TMP] = (os.environ.get("TMPDIR"), tempfile.tempdir)
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = str(folder)
    # the package's cache (quota ledger, dataset locks, outputs' records) for what runs outside a
    # test's own (each test gets a fresh one from _isolated_environment): module fixtures start
    # before it, and one that wrote a dataset took its lock in the user's ~/.cache/tiktok-research
    cache = factory.getbasetemp() / "session-cache"
    cache.mkdir(exist_ok=True)
    session.config.stash[_SAVED_CACHE] = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(cache)


# What a command writes by default where it runs (its archive, its output): a test that runs a
# command without moving to its own folder leaves it in the checkout (two did: a tiktok-archive/
# of four collections in every CI run's clone). The run fails when one appears.
_DEFAULTS_WRITTEN = ("tiktok-archive", "videos.parquet", "comments.parquet", "users.parquet")
_LEFT_IN_CHECKOUT = pytest.StashKey[set[str]]()


def _left_in_checkout(config: pytest.Config) -> set[str]:
    root = Path(str(config.rootpath))
    return {name for name in _DEFAULTS_WRITTEN if (root / name).exists()}


def _restore_temporary_folder(config: pytest.Config) -> None:
    import tempfile

    if _SAVED_CACHE in config.stash:
        cache = config.stash[_SAVED_CACHE]
        if cache is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = cache
    saved = config.stash.get(_SAVED_TMP, None)
    if saved is None:
        return
    if saved[0] is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = saved[0]
    tempfile.tempdir = saved[1]


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point the quota ledger, every cache and the credentials file at a temporary folder; drop
    real credentials."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("TIKTOK_RESEARCH_CACHE_DIR", str(cache))
    for var in (
        "TIKTOK_CLIENT_KEY",
        "TIKTOK_CLIENT_SECRET",
        "TIKTOK_RESEARCH_BASE_URL",
        "TIKTOK_RESEARCH_SANDBOX",
        "TIKTOK_RESEARCH_DOCS_EXECUTED",
    ):
        # set, then deleted: monkeypatch records a variable's state only when it changes it, so a
        # bare delenv of an absent one left unrecorded whatever the test (or code it ran) set
        # directly; the documentation build's first hook sets TIKTOK_RESEARCH_SANDBOX=1, which
        # then reached every later test of that worker and the command lines of module fixtures
        # (a two-collector scenario ran on the in-process sandbox, not through its proxy)
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    # the credentials file of `tiktok-research configure`: a tester's own is never read
    config_home = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    monkeypatch.setenv("TIKTOK_RESEARCH_CONFIG", str(config_home / "tiktok-research.toml"))
    yield cache


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs at ``tmp_path/disk`` (root only, else the test skips; grow it with
    ``_disks.remount``)."""
    from _disks import small_disk_in

    with small_disk_in(tmp_path) as disk:
        yield disk


# --------------------------------------------------------------------------------------------
# Sandboxes, clients and servers: one factory (tests/_sandboxes.py), no hand-built ones
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def make_sandbox() -> MakeSandbox:
    """``make_sandbox(config=None, *, clock=None, realistic=False, **SandboxConfig fields)``.

    A fresh in-process sandbox each call (see ``tests/_sandboxes.new_sandbox``). Session-scoped,
    so that fixtures of any scope may use it; a sandbox holds nothing that needs closing.
    """
    return new_sandbox


@pytest.fixture(scope="session")
def uninterrupted() -> ReferenceRun:
    """``uninterrupted(query, start, end, **SandboxConfig fields)``: ``(table, requests)`` of a
    fault-free in-process ``fetch_videos`` (``tests/_sandboxes.reference_run``), the reference
    an attacked run is compared with; computed once per session (and worker) for each set of
    arguments, as the attack modules ask for the same one."""
    done: dict[str, tuple[Any, int]] = {}

    def run(query: Any, start: str, end: str, **knobs: Any) -> tuple[Any, int]:
        key = repr((_query_key(query), start, end, sorted(knobs.items())))
        if key not in done:
            done[key] = reference_run(query, start, end, **knobs)
        return done[key]

    return run


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """What ``tiktok-research demo --out DIR`` writes and prints (the demo, run in-process once
    per session and worker: the modules that read its output share it)."""
    from tiktok_research.demo import run_demo

    out = tmp_path_factory.mktemp("demo") / "demo-output"
    printed: list[str] = []
    result = run_demo(out, echo=printed.append, progress=False)
    return DemoRun(out, "\n".join(printed), result)


def _query_key(query: Any) -> Any:
    """A query's value, for the cache of :func:`uninterrupted` (its dict form when it has one)."""
    to_dict = getattr(query, "to_dict", None)
    return to_dict() if callable(to_dict) else query


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    """``make_client(sandbox=None, **Client arguments)``: a sandbox client, closed after the test.

    Its waits return at once unless the test passes ``sleep=`` (see ``tests/_sandboxes``).
    """
    clients: list[Any] = []

    def make(sandbox: Any = None, **options: Any) -> Any:
        client = new_client(sandbox, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def make_http() -> Iterator[MakeHttp]:
    """``make_http(sandbox, token=True)``: a raw httpx client over the sandbox's transport (with a
    fresh bearer token; ``token="request"`` asks the token endpoint for it), closed after the
    test (see ``tests/_sandboxes.new_http``)."""
    opened: list[Any] = []

    def make(sandbox: Any, *, token: Any = True) -> Any:
        http = new_http(sandbox, token=token)
        opened.append(http)
        return http

    yield make
    for http in opened:
        http.close()


@pytest.fixture
def make_server() -> Iterator[MakeServer]:
    """``make_server(sandbox=None, **SandboxConfig fields)``: ``(url, sandbox)`` served on
    127.0.0.1 until the test ends (``run_server``, the HTTP server of ``sandbox serve``)."""
    from tiktok_research.sandbox import run_server

    with contextlib.ExitStack() as stack:

        def make(sandbox: Any = None, **knobs: Any) -> tuple[str, Any]:
            if sandbox is None:
                sandbox = new_sandbox(**knobs)
            elif knobs:
                raise TypeError("make_server: give a sandbox or its knobs, not both")
            url, served = stack.enter_context(run_server(sandbox))
            return url, served

        yield make


# --------------------------------------------------------------------------------------------
# One local Spark session per test run (tests marked ``spark``), bound to loopback only
# --------------------------------------------------------------------------------------------
#
# A Spark session is a JVM of about 1 GB. Under pytest-xdist every worker that runs a Spark test
# starts its own, so the Spark tests must all run on one worker. ``--dist loadgroup`` with
# ``xdist_group`` marks was meant to do that, but with pytest 9 and pytest-xdist 3.8 it groups
# nothing: xdist appends the group to ``item._nodeid``, which pytest 9 no longer reads (a node's
# id lives in ``item._id``), so every test stays its own scope. The scheduler below groups the
# Spark tests itself, by their ids: every test whose id says "spark" is one unit of work, sent to
# one worker; the ``spark`` fixture refuses a test whose id does not, so none can slip out of the
# group. Each Spark test records its worker and process, and the run fails at the end if more
# than one process started a session (``pytest_sessionfinish``).

SPARK_LOG_ENV = "TIKTOK_RESEARCH_TEST_SPARK_LOG"


def in_spark_group(nodeid: str) -> bool:
    """True when the test of ``nodeid`` runs in the one worker that holds the Spark session."""
    return "spark" in nodeid.lower()


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "nbmake", False):
        from _notebooks import keep_nbmake_runs

        keep_nbmake_runs()  # the documentation site shows them as nbmake executed them
    # the controller (or a run without xdist) names the log; workers inherit the variable
    if not hasattr(config, "workerinput") and SPARK_LOG_ENV not in os.environ:
        import tempfile

        folder = tempfile.mkdtemp(prefix="tiktok-research-spark-log-")
        os.environ[SPARK_LOG_ENV] = os.path.join(folder, "sessions.txt")
        config.stash[_SPARK_LOG_MADE] = folder  # removed when the run ends (pytest_unconfigure)


_SPARK_LOG_MADE = pytest.StashKey[str]()


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's Spark log folder (the controller's) is removed, after the summary has read it
    (one was left in /tmp by every run before); the temporary folder is given back."""
    import shutil

    folder = config.stash.get(_SPARK_LOG_MADE, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(SPARK_LOG_ENV, None)
    _restore_temporary_folder(config)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: unknown when it is not installed
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Load scheduling where the Spark tests are one unit of work (see above)."""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None  # another --dist asked for explicitly: xdist's own
    from xdist.scheduler import LoadGroupScheduling

    class SparkGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if in_spark_group(nodeid):
                return "spark"
            # the documentation site's tests share one build: on one worker, the others do not
            # wait for it (its file lock made a second worker idle for the whole build)
            # (with the notebooks' tests, which run first: the site shows them as they ran)
            if nodeid.startswith("tests/test_docs_site.py::") or is_notebook_test(nodeid):
                return "docs-site"
            return super()._split_scope(nodeid)

    return SparkGroupScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The notebooks' tests (``--nbmake``) run just before the documentation site's tests, which
    build the site from the notebooks as those tests executed them (``tests/_notebooks.py``)."""
    notebooks = [item for item in items if is_notebook_test(item.nodeid)]
    rest = [item for item in items if not is_notebook_test(item.nodeid)]
    site = [n for n, item in enumerate(rest) if item.nodeid.startswith("tests/test_docs_site.py")]
    if notebooks and site:
        items[:] = [*rest[: site[0]], *notebooks, *rest[site[0] :]]


def spark_sessions_started() -> dict[str, set[str]]:
    """``{process: {nodeid, ...}}`` of the Spark tests of this run so far, from the log."""
    out: dict[str, set[str]] = {}
    path = os.environ.get(SPARK_LOG_ENV)
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                process, _, nodeid = line.rstrip("\n").partition(" ")
                out.setdefault(process, set()).add(nodeid)
    return out


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # the controller checks, once every worker is done
    before = session.config.stash.get(_LEFT_IN_CHECKOUT, None)
    if before is not None:
        new = sorted(_left_in_checkout(session.config) - before)
        if new:
            session.config.stash[_CHECKOUT_MESSAGE] = (
                f"the run left {', '.join(new)} in {session.config.rootpath}: a test ran a "
                "command without monkeypatch.chdir(tmp_path)"
            )
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    started = spark_sessions_started()
    if len(started) > 1:
        detail = "; ".join(f"{p}: {len(ids)} test(s)" for p, ids in sorted(started.items()))
        session.config.stash[_SPARK_MESSAGE] = (
            f"the Spark tests started {len(started)} Spark sessions (one JVM each), not one: "
            f"{detail}"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_SPARK_MESSAGE = pytest.StashKey[str]()
_CHECKOUT_MESSAGE = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    message = config.stash.get(_SPARK_MESSAGE, None)
    if message:
        terminalreporter.write_line(f"FAILED (one Spark session per run): {message}", red=True)
    message = config.stash.get(_CHECKOUT_MESSAGE, None)
    if message:
        terminalreporter.write_line(f"FAILED (left in the checkout): {message}", red=True)


def _java_missing() -> str | None:
    import shutil

    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return None
    if shutil.which("java") is None:
        return "Java is not installed (Spark needs Java 17 or later)"
    return None


@pytest.fixture(scope="session")
def _spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A local SparkSession: UTC, 2 shuffle partitions, no UI, 127.0.0.1 only; stopped at the end.

    Skips the test cleanly when pyspark or Java is missing.
    """
    pytest.importorskip(
        "pyspark",
        reason="pyspark is not installed (pip install -e '.[spark]')",
        exc_type=ImportError,
    )
    reason = _java_missing()
    if reason:
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    scratch = tmp_path_factory.mktemp("spark")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("tiktok-research-tests")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.local.dir", str(scratch / "local"))
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def spark(request: pytest.FixtureRequest, _spark_session: Any) -> Any:
    """The run's one SparkSession, for a test whose id says "spark" (so that it joins the group).

    Records the test's worker and process in the run's Spark log.
    """
    nodeid = request.node.nodeid
    if not in_spark_group(nodeid):
        pytest.fail(
            f"{nodeid} uses the Spark session, but its id does not say 'spark': it would start "
            "a second JVM on another worker. Put 'spark' in the test's name, file or parameter id."
        )
    path = os.environ.get(SPARK_LOG_ENV)
    if path:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{worker}/pid{os.getpid()} {nodeid}\n")
    return _spark_session
