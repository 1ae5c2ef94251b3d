"""Small file systems for the full-disk tests: a tmpfs mounted on a test's folder (root only).

A full disk cannot be faked with a link to ``/dev/full`` any more: the package writes every file
beside its name and renames it into place, so only a file system that is really full shows what a
user sees when the disk fills.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def mount_tmpfs(folder: Path, size: str) -> None:
    """Mount a tmpfs of ``size`` (``"1m"``) on ``folder``."""
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        check=True,
        capture_output=True,
    )


def remount(folder: Path, size: str) -> None:
    """Give the tmpfs on ``folder`` another size (its files stay)."""
    subprocess.run(
        ["mount", "-o", f"remount,size={size}", str(folder)], check=True, capture_output=True
    )


@contextmanager
def small_disk_in(parent: Path, size: str = "1m") -> Iterator[Path]:
    """A tmpfs of ``size`` at ``parent/disk``, unmounted afterwards; the test skips where it
    cannot be mounted (not root, no ``mount``, a container that forbids it)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    disk = parent / "disk"
    disk.mkdir()
    try:
        mount_tmpfs(disk, size)
    except (subprocess.CalledProcessError, OSError) as e:
        pytest.skip(f"cannot mount a tmpfs here: {e}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, capture_output=True)


def fill(disk: Path) -> None:
    """Fill ``disk`` to its last byte with one file."""
    chunk = b"\0" * 65536
    with open(disk / "filler", "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(chunk)
        except OSError:
            pass
