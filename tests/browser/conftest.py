"""Browser tests keep their screenshots where people can look at them after a run:
test-artefacts/screenshots/ in the repository (git-ignored), or $HYPERLEARN_TEST_ARTEFACTS."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def screenshots() -> Path:
    root = Path(os.environ.get("HYPERLEARN_TEST_ARTEFACTS") or REPO / "test-artefacts")
    folder = root / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
