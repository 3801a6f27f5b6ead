"""Bootstrap and jackknife weights over models, and confidence intervals from them."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

__all__ = ["CI_METHODS", "bootstrap_weights", "confidence_intervals", "jackknife_weights"]

CIMethod = Literal["bca", "percentile"]
#: Interval methods: bias-corrected and accelerated (default) or plain percentile.
CI_METHODS = ("bca", "percentile")

FloatArray = NDArray[np.float64]


def bootstrap_weights(n: int, n_boot: int, rng: np.random.Generator) -> FloatArray:
    """(n_boot, n) frequency weights: how often each of n models is drawn in each of
    n_boot resamples of size n with replacement."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)


def jackknife_weights(n: int) -> FloatArray:
    """(n, n) weights whose row i leaves model i out."""
    return 1.0 - np.eye(n)


def _percentile_of(boot: FloatArray, theta: float) -> float:
    return ((boot < theta).sum() + (boot <= theta).sum()) / (2.0 * boot.size)


def confidence_intervals(
    boot: FloatArray,
    estimate: FloatArray,
    jack: FloatArray | None = None,
    *,
    confidence_level: float = 0.95,
    method: CIMethod = "bca",
    min_valid: float = 0.5,
) -> tuple[FloatArray, FloatArray, NDArray[np.int64], list[str]]:
    """Bootstrap confidence intervals, one per column.

    Parameters
    ----------
    boot
        (B, K) bootstrap replicates; NaN marks a degenerate resample, which is dropped.
    estimate
        (K,) full-data estimates.
    jack
        (n, K) leave-one-out estimates, needed for ``method="bca"``.
    confidence_level
        Coverage of the two-sided interval.
    method
        ``"bca"`` (bias-corrected and accelerated, Efron 1987) or ``"percentile"``.
    min_valid
        Fewest valid replicates, as a share of B, for an interval to be reported.

    Returns
    -------
    low, high, n_valid, notes
        ``notes[k]`` says when column k fell back to the percentile method or got no
        interval.
    """
    n_cols = boot.shape[1]
    low = np.full(n_cols, np.nan)
    high = np.full(n_cols, np.nan)
    n_valid = np.zeros(n_cols, dtype=np.int64)
    notes = [""] * n_cols
    alpha = (1.0 - confidence_level) / 2.0
    z_lo, z_hi = ndtri(alpha), ndtri(1.0 - alpha)
    for k in range(n_cols):
        b = boot[:, k]
        b = b[~np.isnan(b)]
        n_valid[k] = b.size
        theta = estimate[k]
        if np.isnan(theta):
            continue
        if b.size < max(2, min_valid * boot.shape[0]):
            notes[k] = f"only {b.size} of {boot.shape[0]} resamples were usable; no interval"
            continue
        q_lo, q_hi = alpha, 1.0 - alpha
        if method == "bca":
            bca = _bca_levels(b, theta, None if jack is None else jack[:, k], z_lo, z_hi)
            if bca is None:
                notes[k] = "BCa undefined here (every resample on one side); percentile interval"
            else:
                q_lo, q_hi = bca
        low[k], high[k] = np.quantile(b, [q_lo, q_hi])
    return low, high, n_valid, notes


def _bca_levels(
    boot: FloatArray, theta: float, jack: FloatArray | None, z_lo: float, z_hi: float
) -> tuple[float, float] | None:
    z0 = ndtri(_percentile_of(boot, theta))
    if not np.isfinite(z0):
        return None
    accel = 0.0
    if jack is not None:
        jack = jack[~np.isnan(jack)]
        d = jack.mean() - jack
        denom = 6.0 * (d * d).sum() ** 1.5
        accel = float((d**3).sum() / denom) if denom > 0 else 0.0
    levels = []
    for z in (z_lo, z_hi):
        shifted = z0 + z
        levels.append(float(ndtr(z0 + shifted / (1.0 - accel * shifted))))
    if not all(np.isfinite(levels)):
        return None
    return levels[0], levels[1]
