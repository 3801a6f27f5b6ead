"""Fixtures: the real model (shared with tests/models, loaded once per session) and the
committed password-locked organism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from real_model import skip_reason, smollm2

REPO = Path(__file__).resolve().parents[3]
ORGANISMS = REPO / "organisms"


@pytest.fixture(scope="session")
def model_cache() -> Path:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    return smollm2()[2]


@pytest.fixture(scope="session")
def locked_lm(model_cache: Path) -> Any:
    """SmolLM2 with the password-locked adapter."""
    from evalgap.models import load_model, smollm2_path

    return load_model(
        smollm2_path(), adapter=ORGANISMS / "password-locked", cache=model_cache, batch_size=8
    )


@pytest.fixture(scope="session")
def locked_items() -> list[dict]:
    """The first 6 held-out capitals, prompts without the password."""
    lines = (ORGANISMS / "password-locked" / "eval_items.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines[:6]]
