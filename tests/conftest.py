"""Shared fixtures: where the public data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import evalgap

REPO = Path(__file__).resolve().parents[1]


def _data_dir() -> Path | None:
    env = os.environ.get("EVALGAP_DATA_DIR")
    if env:
        return Path(env)
    # A checkout next to the shared data (the layout of the development machines).
    sibling = REPO.parent / "shared" / "data"
    return sibling if sibling.is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The public data folder (``EVALGAP_DATA_DIR``)."""
    path = _data_dir()
    if path is None or not path.is_dir():
        pytest.skip("public data not found: set EVALGAP_DATA_DIR to the shared data folder")
    return path


@pytest.fixture(scope="session")
def chat_panel(data_dir: Path) -> evalgap.Panel:
    return evalgap.load_panel("safetywashing-2024:chat", data_dir=data_dir)


@pytest.fixture(scope="session")
def base_panel(data_dir: Path) -> evalgap.Panel:
    return evalgap.load_panel("safetywashing-2024:base", data_dir=data_dir)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Never touch the user's cache; tests that need the data pass data_dir."""
    monkeypatch.setenv("EVALGAP_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
