"""A user benchmark pair attached to the Safetywashing chat panel, with planted faults.

``my_safety`` is a safety benchmark that does not track capabilities (noise around 0.6);
one model's score on it is inflated. ``my_hazard`` is a dangerous-capability benchmark
(lower is safer, area ``weaponization``) that rises with capabilities; one model scores
far below what its capabilities predict on it (sandbagging).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import evalgap

#: The model whose scores carry both planted faults, and a model left clean.
FAULTY = "Llama-2-13b-chat-hf"
CLEAN = "Qwen1.5-14B-Chat"
#: Planted offsets, in units of each benchmark's own noise SD (clearly detectable).
INFLATION = 0.25  # noise SD 0.04
SANDBAG = 0.20  # noise SD 0.02


def write_user_benchmarks(
    panel: evalgap.Panel, folder: Path, *, seed: int = 11
) -> tuple[Path, Path]:
    """Write ``scores.csv`` (model, my_safety, my_hazard) and ``benchmarks.csv`` into
    ``folder``; returns their paths."""
    rng = np.random.default_rng(seed)
    cap = evalgap.capabilities_score(panel).scores.dropna().sort_index()
    z = (cap - cap.mean()) / cap.std()
    safety = 0.6 + 0.04 * rng.standard_normal(len(cap))
    hazard = 0.45 + 0.1 * z.to_numpy() + 0.02 * rng.standard_normal(len(cap))
    frame = pd.DataFrame({"model": cap.index, "my_safety": safety, "my_hazard": hazard})
    frame.loc[frame["model"] == FAULTY, "my_safety"] += INFLATION
    frame.loc[frame["model"] == FAULTY, "my_hazard"] -= SANDBAG
    scores = folder / "scores.csv"
    frame.to_csv(scores, index=False, float_format="%.6f")
    info = folder / "benchmarks.csv"
    pd.DataFrame(
        {
            "benchmark": ["my_safety", "my_hazard"],
            "name": ["My safety benchmark", "My hazard benchmark"],
            "metric": ["accuracy", "accuracy"],
            "higher_is_better": [True, False],
            "area": ["user benchmark", "weaponization"],
        }
    ).to_csv(info, index=False)
    return scores, info
