"""MkDocs hooks of the documentation site (mkdocs.yml): the notebooks of ``notebooks/`` become
pages of the site (``notebooks/NAME/``) where they are, without a copy under ``docs/`` that could
drift from the notebooks the suite executes. mkdocs-jupyter renders them as saved (their outputs
are those of the last run), it does not execute them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]


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
