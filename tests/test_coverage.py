"""Simulation: the bootstrap interval covers a known correlation at close to 95%.

Capability benchmarks are exact monotone transforms of a latent capability g, so the
estimated capabilities score ranks models exactly as g does and the target parameter is
known in closed form: for (safety, g) bivariate normal with correlation r, the population
Spearman correlation is (6 / pi) arcsin(r / 2). The capabilities score is still
re-estimated inside every resample, as in a real audit.

Tolerance, declared before running: with 400 simulated data sets the standard error of a
coverage of 0.95 is 0.011, so the observed coverage must lie in [0.92, 0.98].
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import evalgap

N_DATASETS = 400
N_MODELS = 30
N_BOOT = 1000
COVERAGE_RANGE = (0.92, 0.98)


def _dataset(seed: int, rho: float) -> evalgap.Panel:
    rng = np.random.default_rng(seed)
    g = rng.normal(size=N_MODELS)
    caps = {"linear": g, "exp": np.exp(g), "cubic": g**3, "logistic": 1 / (1 + np.exp(-g))}
    safety = rho * g + np.sqrt(1 - rho**2) * rng.normal(size=N_MODELS)
    scores = pd.DataFrame({**caps, "safety": safety}, index=[f"m{i}" for i in range(N_MODELS)])
    return evalgap.Panel.from_frames(scores, capabilities=list(caps))


@pytest.mark.parametrize("rho", [0.6])
def test_bca_interval_covers_the_population_spearman(rho):
    target = 6 / np.pi * np.arcsin(rho / 2)
    hits = 0
    for seed in range(N_DATASETS):
        row = evalgap.audit(_dataset(seed, rho), n_boot=N_BOOT, n_perm=0, seed=seed).benchmark(
            "safety"
        )
        hits += row["ci_low"] <= target <= row["ci_high"]
    coverage = hits / N_DATASETS
    assert COVERAGE_RANGE[0] <= coverage <= COVERAGE_RANGE[1], coverage
