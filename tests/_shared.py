"""Where the shared API examples are: ``shared/`` beside the repository (as on CI)."""

from __future__ import annotations

import os
from pathlib import Path


def _find() -> Path:
    env = os.environ.get("TIKTOK_RESEARCH_SHARED")
    for candidate in (env, Path(__file__).resolve().parents[2] / "shared", "/work/shared"):
        if candidate and (Path(candidate) / "api" / "examples").is_dir():
            return Path(candidate)
    return Path(__file__).resolve().parents[2] / "shared"


SHARED = _find()
EXAMPLES = SHARED / "api" / "examples"
