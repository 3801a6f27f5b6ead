"""Where the reader tests find their inputs: the committed harness fixtures and the real
harness outputs in the shared data folder.

A plain module, not a conftest.py: a second ``conftest`` module would shadow
``tests/conftest.py`` for the tests that import helpers from it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: ``tests/fixtures/harness``: outputs made by the real frameworks (see its README).
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "harness"


def harness_dir(data_dir: Path) -> Path:
    """``$EVALGAP_DATA_DIR/harness-outputs``, or skip the test if it is not there."""
    path = data_dir / "harness-outputs"
    if not path.is_dir():
        pytest.skip(f"{path} not found: the shared data folder has no harness outputs")
    return path
