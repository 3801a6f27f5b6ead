"""Small synthetic panels built by the tests (no data files needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import evalgap


def make_panel(
    n_models: int = 30,
    n_caps: int = 5,
    rho: float = 0.6,
    seed: int = 0,
    flop: bool = True,
) -> evalgap.Panel:
    """A synthetic panel: capability benchmarks are noisy copies of a latent g, and one
    safety benchmark correlates ``rho`` with g."""
    rng = np.random.default_rng(seed)
    g = rng.normal(size=n_models)
    caps = {f"cap{j}": g + 0.3 * rng.normal(size=n_models) for j in range(n_caps)}
    safety = rho * g + np.sqrt(1 - rho**2) * rng.normal(size=n_models)
    ids = [f"model-{i:03d}" for i in range(n_models)]
    scores = pd.DataFrame({**caps, "safety": safety}, index=ids)
    models = None
    if flop:
        models = pd.DataFrame({"flop": 10 ** (21 + g + 0.5 * rng.normal(size=n_models))}, index=ids)
    return evalgap.Panel.from_frames(
        scores, models=models, capabilities=list(caps), source="synthetic"
    )
