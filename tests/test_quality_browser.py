"""The quality report's HTML page in a real browser: headless Chromium (Debian ``chromium``).

The page must render on its own (no network: every host resolves to nothing), with no console
error and no resource that fails to load (a listener added to a copy of the page reports both to
the console, which Chromium logs), and its screenshot must show its tables and its plots (their
colours are looked for in the pixels). Skipped where Chromium is not installed.
"""

from __future__ import annotations

import calendar
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

import tiktok_research as tr
from tiktok_research.sandbox import Sandbox, SandboxConfig

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")

LISTENER = (
    '<script>window.addEventListener("error",function(e){console.error("PAGE-ERROR "+'
    "(e.target&&e.target.src?e.target.src:e.message))},true);</script>"
)
#: Colours the page uses: the plots' bars (matplotlib, #4c72b0) and the tables' header cells.
BARS, HEADER = (0x4C, 0x72, 0xB0), (0xF3, 0xF3, 0xF3)


def render(page: Path, shot: Path) -> list[str]:
    """Open ``page`` in headless Chromium with the error listener; the console lines."""
    text = page.read_text(encoding="utf-8")
    harness = page.with_name(f"harness-{page.name}")
    harness.write_text(text.replace("<head>", "<head>" + LISTENER, 1), encoding="utf-8")
    assert CHROMIUM is not None
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=5000",
            "--window-size=1280,4000",
            f"--screenshot={shot}",
            harness.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shot.exists(), proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]


def pixels_near(image: np.ndarray, colour: tuple[int, int, int], tol: int = 6) -> int:
    rgb = (image[..., :3] * 255).round() if image.dtype.kind == "f" else image[..., :3]
    return int((np.abs(rgb.astype(int) - np.array(colour)).max(axis=-1) <= tol).sum())


def test_the_check_catches_a_broken_page(tmp_path: Path) -> None:
    """The harness can fail: a page with a missing image and a script error is caught."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head></head><body><img src='missing.png'>"
        "<img src='https://example.org/x.png'><script>nope()</script></body></html>"
    )
    lines = render(page, tmp_path / "broken.png")
    assert any("missing.png" in line for line in lines)
    assert any("example.org" in line for line in lines)
    assert any("nope" in line for line in lines)


def test_the_report_renders_with_tables_and_plots(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    sb = Sandbox(
        SandboxConfig.realistic(frozen_corpus=True),
        clock=lambda: float(calendar.timegm((2025, 1, 15, 12, 0, 0))),
    )
    client = tr.Client.sandbox(sb, sleep=lambda s: None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tr.fetch_videos(
            tr.Q.hashtag_name.isin(["fyp", "foryou"]),
            "20240215",
            "20240331",
            client=client,
            archive=tmp_path / "a",
            progress=False,
        )
    page = tr.quality(tmp_path / "a").to_html(tmp_path / "report.html")
    html = page.read_text(encoding="utf-8")
    assert html.count("<table>") >= 5 and html.count("data:image/png;base64,") >= 3
    shot = tmp_path / "report.png"
    console = render(page, shot)
    assert console == []
    from matplotlib.image import imread

    image = imread(shot)
    assert image.shape[1] >= 1200
    assert pixels_near(image, BARS) > 2_000  # the plots' bars
    assert pixels_near(image, HEADER) > 2_000  # the tables' header cells
