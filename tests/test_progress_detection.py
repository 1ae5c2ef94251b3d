"""Progress bars stay off in a script whose imports pulled in ipykernel (PySpark does so)."""

from __future__ import annotations

import subprocess
import sys


def test_ipykernel_imported_outside_a_notebook_does_not_turn_bars_on() -> None:
    code = (
        "import ipykernel, IPython\n"  # what pyspark.errors.utils imports to name a call site
        "from tiktok_research import _progress\n"
        "print(_progress.enabled(None))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )  # stderr is a pipe here, as in `python script.py 2> log`
    assert out.stdout.strip() == "False"
