"""MkDocs hooks of the documentation site (mkdocs.yml).

The notebooks of ``notebooks/`` become pages of the site (``notebooks/NAME/``) where they are,
without a copy under ``docs/`` that could drift from the notebooks the suite executes.
mkdocs-jupyter executes them during the build, for their outputs. A notebook talks to the real
API when ``TIKTOK_CLIENT_KEY`` is set (so that it runs on real data once the credentials are
there): building the site must never spend a request of anyone's quota, so the build's
environment loses the credentials and the service's address before any notebook runs, and every
notebook runs on the offline sandbox.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
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
    return config


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns .ipynb files into pages
def on_files(files: Files, config: Any) -> Files:
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        files.append(
            File(
                f"notebooks/{notebook.name}",
                src_dir=str(ROOT),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files
