"""Shared test set-up: no test reaches the internet, and nothing writes to the user's real cache."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point the quota ledger, every cache and the credentials file at a temporary folder; drop
    real credentials."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("TIKTOK_RESEARCH_CACHE_DIR", str(cache))
    for var in ("TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET", "TIKTOK_RESEARCH_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    # the credentials file of `tiktok-research configure`: a tester's own is never read
    config_home = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    monkeypatch.setenv("TIKTOK_RESEARCH_CONFIG", str(config_home / "tiktok-research.toml"))
    yield cache


# --------------------------------------------------------------------------------------------
# One local Spark session per test run (tests marked ``spark``), bound to loopback only
# --------------------------------------------------------------------------------------------


def _java_missing() -> str | None:
    import shutil

    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return None
    if shutil.which("java") is None:
        return "Java is not installed (Spark needs Java 17 or later)"
    return None


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A local SparkSession: UTC, 2 shuffle partitions, no UI, 127.0.0.1 only; stopped at the end.

    Skips the test cleanly when pyspark or Java is missing. The Spark tests share one xdist group
    (``--dist loadgroup``), so a run starts one JVM, not one per worker.
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
