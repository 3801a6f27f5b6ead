"""Panels for the report tests, hostile names included."""

from __future__ import annotations

import numpy as np
import pandas as pd

import evalgap

#: Input strings that would run script if they reached the page unescaped.
HOSTILE_MODEL = "<img src=x onerror=alert(1)>"
HOSTILE_BENCH = "</script><script>alert(2)</script>"
HOSTILE_AREA = '"><svg onload=alert(3)>'
HOSTILE_METRIC = "<!-- ' \" & {{7*7}} \u2028"


def synthetic_panel(
    n_models: int = 20, seed: int = 0, hostile: bool = False, flop: bool = True
) -> evalgap.Panel:
    """Capability benchmarks that share a latent factor, and three safety benchmarks; with
    ``hostile`` True, names, ids and metadata carry script-injection attempts."""
    rng = np.random.default_rng(seed)
    g = rng.normal(size=n_models)
    ids = [f"model-{i:02d}" for i in range(n_models)]
    caps = {f"cap{j}": g + 0.4 * rng.normal(size=n_models) for j in range(4)}
    safety = {
        "tracks": 0.9 * g + 0.3 * rng.normal(size=n_models),
        "noise": rng.normal(size=n_models),
        "falls": -0.6 * g + 0.6 * rng.normal(size=n_models),
    }
    if hostile:
        ids[0] = HOSTILE_MODEL
        safety = {HOSTILE_BENCH if k == "tracks" else k: v for k, v in safety.items()}
    scores = pd.DataFrame({**caps, **safety}, index=ids)
    bench = pd.DataFrame(
        {
            "name": [*caps, *safety],
            "metric": "accuracy",
            "higher_is_better": True,
            "role": ["capability"] * len(caps) + ["safety"] * len(safety),
            "area": ["general"] * len(caps) + ["truthfulness", "bias", "weaponization"],
        },
        index=[*caps, *safety],
    )
    models = pd.DataFrame(
        {"name": ids, "flop": 10 ** (21 + g + 0.3 * rng.normal(size=n_models))}, index=ids
    )
    if not flop:
        models["flop"] = np.nan
    if hostile:
        bench.loc["noise", "name"] = HOSTILE_BENCH + " (noise)"
        bench.loc["noise", "area"] = HOSTILE_AREA
        bench.loc["falls", "metric"] = HOSTILE_METRIC
        models.loc[ids[1], "name"] = HOSTILE_MODEL + " again"
        models.loc[ids[2], "family"] = HOSTILE_BENCH
    return evalgap.Panel.from_frames(
        scores,
        bench,
        models,
        source="<b>synthetic</b>" if hostile else "synthetic",
        files={"/data/<script>x</script>.csv": "ab" * 32} if hostile else {},
    )
