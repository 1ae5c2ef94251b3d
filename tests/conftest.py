"""Shared test set-up: no test reaches the internet, and nothing writes to the user's real cache."""

from __future__ import annotations

import ipaddress
import socket
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
    """Point the quota ledger and every cache at a temporary folder; drop real credentials."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("TIKTOK_RESEARCH_CACHE_DIR", str(cache))
    for var in ("TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET", "TIKTOK_RESEARCH_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    yield cache
