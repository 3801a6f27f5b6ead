"""Shared paths for the reader tests: the committed harness fixtures and the real harness
outputs in the shared data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "harness"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """``tests/fixtures/harness``: outputs made by the real frameworks (see its README)."""
    return FIXTURES


@pytest.fixture(scope="session")
def harness(data_dir: Path) -> Path:
    """``$EVALGAP_DATA_DIR/harness-outputs``: real files written by the harnesses."""
    path = data_dir / "harness-outputs"
    if not path.is_dir():
        pytest.skip(f"{path} not found: the shared data folder has no harness outputs")
    return path
