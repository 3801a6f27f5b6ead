"""The committed model organisms: small, safetensors only, and the bytes their
organism.json records."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

ORGANISMS = Path(__file__).resolve().parents[2] / "organisms"
FOLDERS = sorted(p.parent for p in ORGANISMS.glob("*/organism.json"))
#: The size budget for a committed adapter.
MAX_ADAPTER_BYTES = 3 * 1024 * 1024


def test_there_are_organisms() -> None:
    assert {"password-locked", "password-control"} <= {f.name for f in FOLDERS}


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_adapter_files(folder: Path) -> None:
    meta = json.loads((folder / "organism.json").read_text())
    weights = folder / "adapter_model.safetensors"
    assert weights.stat().st_size <= MAX_ADAPTER_BYTES
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == meta["adapter_sha256"]
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA"
    assert config["target_modules"] == sorted(config["target_modules"])
    assert not list(folder.glob("*.bin")) and not list(folder.glob("*.pt"))
    assert meta["seed"] == 0 and meta["command"].startswith(
        ("python organisms/", "EVALGAP_DATA_DIR=")
    )
