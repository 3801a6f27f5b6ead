"""Named panels: local copies, the download cache, and pinned checksums."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

import evalgap
from evalgap.errors import ChecksumError, InputError, UnknownPanelError
from evalgap.io import _catalog as catalog


@pytest.mark.parametrize(
    ("name", "shape", "n_caps"),
    [
        ("safetywashing-2024:base", (27, 176), 12),
        ("safetywashing-2024:chat", (26, 178), 12),
        ("obsscaling-2024:base", (148, 8), 7),
        ("obsscaling-2024:instruct", (27, 9), 6),
    ],
)
def test_every_named_panel_loads_from_the_data_dir(data_dir, name, shape, n_caps):
    panel = evalgap.load_panel(name, data_dir=data_dir)
    assert panel.shape == shape
    assert len(panel.capability_benchmarks) == n_caps
    assert panel.source == name
    assert all(len(h) == 64 for h in panel.files.values())
    # every non-capability benchmark has a role and an area
    others = panel.benchmarks[panel.benchmarks["role"] != "capability"]
    assert (others["area"] != "").all()


def test_safetywashing_roles_and_areas(chat_panel):
    b = chat_panel.benchmarks
    assert b.loc["wmdp", "area"] == "weaponization"
    assert b.loc["truthfulqa_mc1", "area"] == "truthfulness"
    assert b.loc["sycophancy", "area"] == "sycophancy"
    assert b.loc["MT_Bench", "area"] == "alignment"
    assert b.loc["brier_mmlu", "area"] == "calibration"
    assert b.loc["ethics_all", "area"] == "machine_ethics"
    assert b.loc["glue", "role"] == "other"
    # the release says higher is better everywhere; its own definitions say otherwise for
    # MACHIAVELLI's harm counts and discrim-eval's gaps (see tests/test_orientation.py)
    assert b.loc["truthfulqa_mc1", "orientation"] == "higher"
    assert b.loc["machiavelli-violations.Σ", "orientation"] == "lower"
    assert b.loc["wmdp_bio", "parent"] == "wmdp"
    assert chat_panel.models.loc["Llama-2-7b-chat-hf", "family"] == "Llama-2"
    assert chat_panel.models["flop"].isna().sum() == 3


def test_obsscaling_units(data_dir):
    panel = evalgap.load_panel("obsscaling-2024:base", data_dir=data_dir)
    assert panel.models.loc["meta-llama/Llama-2-7b-hf", "flop"] == pytest.approx(84e21)
    assert panel.models.loc["meta-llama/Llama-2-7b-hf", "params"] == pytest.approx(7e9)
    assert panel.benchmarks.loc["TruthfulQA", "role"] == "safety"
    assert np.isnan(panel.scores["ARC-C"]).sum() == 3


def test_unknown_panel():
    with pytest.raises(UnknownPanelError, match="known panels: safetywashing-2024:base"):
        evalgap.load_panel("safetywashing-2024:instruct")


def _copy(data_dir: Path, dest: Path) -> Path:
    shutil.copytree(data_dir / "safetywashing-2024", dest / "safetywashing-2024")
    for f in (dest / "safetywashing-2024").iterdir():
        f.chmod(0o644)
    return dest


def test_checksum_mismatch_in_data_dir_is_an_error(data_dir, tmp_path):
    local = _copy(data_dir, tmp_path)
    (local / "safetywashing-2024" / "benchmarks_info.csv").write_text("benchmark,name\nx,y\n")
    with pytest.raises(ChecksumError, match=r"benchmarks_info\.csv: sha256 is"):
        evalgap.load_panel("safetywashing-2024:chat", data_dir=local)


def test_missing_file_in_data_dir_says_so(tmp_path):
    with pytest.raises(InputError, match=r"needs safetywashing-2024/benchmarks_chat_models\.csv"):
        evalgap.load_panel("safetywashing-2024:chat", data_dir=tmp_path)


@pytest.fixture
def served_from(monkeypatch):
    """Point the safetywashing panels' URL at a local folder (file://), no network."""

    def serve(folder: Path) -> None:
        for name, spec in list(catalog._CATALOG.items()):
            if spec.dataset == "safetywashing-2024":
                url = folder.as_uri() + "/{file}"
                monkeypatch.setitem(catalog._CATALOG, name, dataclasses.replace(spec, url=url))

    monkeypatch.delenv("EVALGAP_DATA_DIR", raising=False)
    return serve


def test_download_is_verified_and_cached(data_dir, tmp_path, served_from):
    source = _copy(data_dir, tmp_path / "server") / "safetywashing-2024"
    served_from(source)
    panel = evalgap.load_panel("safetywashing-2024:chat")
    cached = catalog.cache_dir() / "safetywashing-2024" / "benchmarks_chat_models.csv"
    assert cached.is_file()
    assert panel.shape == (26, 178)
    shutil.rmtree(source)  # the second load must come from the cache
    assert evalgap.load_panel("safetywashing-2024:chat").shape == (26, 178)


def test_corrupt_download_is_rejected_and_not_cached(data_dir, tmp_path, served_from):
    source = _copy(data_dir, tmp_path / "server") / "safetywashing-2024"
    (source / "benchmarks_chat_models.csv").write_text("model,a\nm,1\n")
    served_from(source)
    with pytest.raises(ChecksumError):
        evalgap.load_panel("safetywashing-2024:chat")
    cached = catalog.cache_dir() / "safetywashing-2024"
    assert not (cached / "benchmarks_chat_models.csv").exists()
    assert not list(cached.glob("*.part"))


def test_corrupt_cache_is_an_error(data_dir, tmp_path, served_from):
    source = _copy(data_dir, tmp_path / "server") / "safetywashing-2024"
    served_from(source)
    evalgap.load_panel("safetywashing-2024:chat")
    cached = catalog.cache_dir() / "safetywashing-2024" / "benchmarks_chat_models.csv"
    cached.write_text("tampered")
    with pytest.raises(ChecksumError):
        evalgap.load_panel("safetywashing-2024:chat")


def test_unreachable_download_explains_the_offline_route(tmp_path, served_from):
    served_from(tmp_path / "nowhere")
    with pytest.raises(InputError, match="EVALGAP_DATA_DIR"):
        evalgap.load_panel("safetywashing-2024:chat")


def test_no_download_when_turned_off(served_from, tmp_path):
    served_from(tmp_path)
    with pytest.raises(InputError, match="downloading is off"):
        evalgap.load_panel("safetywashing-2024:chat", download=False)
