"""MkDocs hooks of the documentation site (mkdocs.yml).

The notebooks of ``notebooks/`` become pages of the site (``notebooks/NAME/``) where they are,
without a copy under ``docs/`` that could drift from the notebooks the suite executes.
mkdocs-jupyter executes them during the build, for their outputs. A notebook talks to the real
API when ``TIKTOK_CLIENT_KEY`` is set (so that it runs on real data once the credentials are
there): building the site must never spend a request of anyone's quota, so the build's
environment loses the credentials and the service's address before any notebook runs, and every
notebook runs on the offline sandbox.

``TIKTOK_RESEARCH_DOCS_EXECUTED=FOLDER`` builds the pages from copies of the notebooks that were
already executed (``FOLDER/notebooks/NAME.ipynb``; the test suite passes those nbmake executed in
the same run) instead of executing them a second time. Each copy must hold exactly the code of
the notebook of ``notebooks/`` (else the build fails), and every notebook must have one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = "TIKTOK_RESEARCH_DOCS_EXECUTED"
# what would point a notebook's kernel (a child of this process) at the real service
REAL_SERVICE = (
    "TIKTOK_CLIENT_KEY",
    "TIKTOK_CLIENT_SECRET",
    "TIKTOK_RESEARCH_BASE_URL",
    "TIKTOK_RESEARCH_CONFIG",
)


def on_config(config: Any) -> Any:
    for name in REAL_SERVICE:
        os.environ.pop(name, None)
    os.environ["TIKTOK_RESEARCH_SANDBOX"] = "1"
    if _executed() is not None:
        config.plugins["mkdocs-jupyter"].config["execute"] = False  # shown as they ran
    return config


def _code(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text("utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _executed() -> Path | None:
    """The folder of executed copies (``TIKTOK_RESEARCH_DOCS_EXECUTED``), checked, or None."""
    folder = os.environ.get(EXECUTED)
    if not folder:
        return None
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        copy = Path(folder) / "notebooks" / notebook.name
        if not copy.is_file() or _code(copy) != _code(notebook):
            raise PluginError(
                f"{EXECUTED}: {copy} is missing or is not an executed copy of {notebook}"
            )
    return Path(folder)


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns .ipynb files into pages
def on_files(files: Files, config: Any) -> Files:
    source = _executed() or ROOT
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        files.append(
            File(
                f"notebooks/{notebook.name}",
                src_dir=str(source),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files
