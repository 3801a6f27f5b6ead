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


def leaderboard_panel(
    n_models: int = 80,
    n_benchmarks: int = 30,
    n_caps: int = 8,
    missing: float = 0.05,
    seed: int = 0,
) -> evalgap.Panel:
    """A leaderboard-like panel: every benchmark loads on a rank-3 latent skill profile,
    ``missing`` of the cells are missing at random (capability cells included, so paper
    mode drops some models), some benchmarks are coarse (ties between models), and the
    training FLOP is missing for some models and tied for others."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_models, 3))
    k = n_caps + n_benchmarks
    loadings = rng.normal(size=(3, k)) + np.r_[2.0, 0.0, 0.0][:, None]
    scores = latent @ loadings + rng.normal(size=(n_models, k))
    scores[:, n_caps::4] = np.round(scores[:, n_caps::4])  # coarse benchmarks: ties
    scores[rng.random(scores.shape) < missing] = np.nan
    ids = [f"m{i:04d}" for i in range(n_models)]
    names = [f"cap{j}" for j in range(n_caps)] + [f"bench{j}" for j in range(n_benchmarks)]
    frame = pd.DataFrame(scores, index=ids, columns=names)
    flop = 10 ** np.round(21 + latent[:, 0] + 0.3 * rng.normal(size=n_models), 1)
    flop[rng.random(n_models) < 0.1] = np.nan
    models = pd.DataFrame({"flop": flop}, index=ids)
    return evalgap.Panel.from_frames(
        frame, models=models, capabilities=names[:n_caps], source="leaderboard"
    )
