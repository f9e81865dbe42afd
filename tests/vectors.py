"""Where the published test vectors live, for every test that reads them.

They stay in ``../shared/vectors/`` next to the project (with their licences), never copied
in; a clone without that folder skips those tests and says why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VECTORS_DIR = PROJECT_ROOT.parent / "shared" / "vectors"


def vectors_dir() -> Path:
    """The vectors folder; skips the calling test when it is absent."""
    if not VECTORS_DIR.is_dir():
        pytest.skip(f"published test vectors not found at {VECTORS_DIR}")
    return VECTORS_DIR


def vector_path(relpath: str) -> Path:
    """The path of one vector file or folder; skips when it is absent."""
    path = vectors_dir() / relpath
    if not path.exists():
        pytest.skip(f"test vector {relpath} not found in {VECTORS_DIR}")
    return path


def load_vector(relpath: str) -> Any:
    """Parse one JSON vector file, e.g. ``load_vector("merkle/inclusion.json")``; skips when absent."""
    return json.loads(vector_path(relpath).read_text(encoding="utf-8"))


def load_cases(relpath: str, key: str = "vectors") -> list[Any]:
    """The list of cases of a vector file, for ``pytest.mark.parametrize`` at collection time.

    Returns ``[]`` when the vectors are absent: a test then parametrised with no case is
    reported as skipped by pytest ("got empty parameter set"), which says why.
    """
    path = VECTORS_DIR / relpath
    if not path.is_file():
        return []
    cases: list[Any] = json.loads(path.read_text(encoding="utf-8"))[key]
    return cases
