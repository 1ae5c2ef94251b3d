"""The notebooks as nbmake executed them in this test process, for the documentation site.

``pytest --nbmake`` executes every notebook of ``notebooks/`` (a test each), and the site shows
each notebook with its outputs. Executing them twice cost a minute of the suite, so nbmake's runs
are kept here (:func:`keep_nbmake_runs`, installed by ``tests/conftest.py`` when ``--nbmake`` is
on), the notebook tests run just before the site's tests, on the same xdist worker (conftest's
scheduler and ``pytest_collection_modifyitems``), and ``tests/test_docs_site.py`` builds the site
from these copies (``scripts/mkdocs_hooks.py``, ``TIKTOK_RESEARCH_DOCS_EXECUTED``). Without them
(the site's tests run alone, or a notebook failed) the build executes the notebooks itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

#: ``{notebook file name: the executed notebook (nbformat's JSON)}``, for the notebooks that nbmake
#: executed without an error in this process
executed: dict[str, dict[str, Any]] = {}


def is_notebook_test(nodeid: str) -> bool:
    """True for a notebook's test (``notebooks/NAME.ipynb::NAME.ipynb``)."""
    return nodeid.split("::", 1)[0].endswith(".ipynb")


def keep_nbmake_runs() -> None:
    """Keep in :data:`executed` each notebook that nbmake executes without an error (nbmake's
    ``NotebookRun`` is replaced by a subclass that keeps its result; its tests are unchanged)."""
    from nbmake import pytest_items

    base: Any = pytest_items.NotebookRun
    if getattr(base, "keeps_runs", False):
        return

    class KeepingRun(base):  # type: ignore[misc, valid-type]
        keeps_runs = True

        def execute(self) -> Any:
            result = super().execute()
            if result.error is None:
                executed[Path(self.filename).name] = json.loads(json.dumps(result.nb))
            return result

    pytest_items.NotebookRun = KeepingRun


def write_executed(folder: Path) -> bool:
    """Write every notebook of ``notebooks/`` as executed to ``folder/notebooks/``; False (and
    nothing written) unless nbmake executed each of them in this process."""
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    if not names or any(name not in executed for name in names):
        return False
    (folder / "notebooks").mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / "notebooks" / name).write_text(json.dumps(executed[name]), "utf-8")
    return True
