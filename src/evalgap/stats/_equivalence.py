"""Bootstrap p-values read off the same bootstrap distribution as the intervals, and the
two one-sided tests (TOST) of equivalence built from them.

For a value ``c``, :func:`bootstrap_levels` gives the level ``beta`` at which ``c`` is the
interval's endpoint: ``c`` is the ``beta``-quantile endpoint of the BCa (or percentile)
construction, found by inverting

    theta[beta] = G^-1(Phi(z0 + (z0 + z_beta) / (1 - a (z0 + z_beta))))

with ``G`` the bootstrap distribution, ``z0`` the bias correction and ``a`` the jackknife
acceleration, exactly as the BCa interval uses them (Efron 1987; DiCiccio and Efron 1996).
So ``beta(c)`` is the one-sided p-value of ``H0: theta <= c``, and ``1 - beta(c)`` that of
``H0: theta >= c``; an interval excludes ``c`` at level ``1 - alpha`` exactly when one of
them is below ``alpha / 2``.

Equivalence (TOST, Schuirmann 1987): ``|theta| < margin`` is shown at level ``alpha``
when both ``H0: theta <= -margin`` and ``H0: theta >= margin`` are rejected at ``alpha``;
its p-value is the larger of the two, and it is below ``alpha`` exactly when the
``1 - 2 alpha`` interval lies inside ``(-margin, margin)``.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

__all__ = ["bootstrap_levels", "tost_pvalues"]

FloatArray = NDArray[np.float64]


def _cdf(boot: FloatArray, at: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mid-rank bootstrap CDF of every column at ``at`` (K,), and the number of valid
    replicates per column; NaN replicates are left out."""
    valid = (~np.isnan(boot)).sum(axis=0)
    below = (boot < at[None, :]).sum(axis=0)
    upto = (boot <= at[None, :]).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (below + upto) / (2.0 * valid), valid


def _acceleration(jack: FloatArray | None, k: int) -> FloatArray:
    if jack is None:
        return np.zeros(k)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        # a column whose every leave-one-out replicate is NaN has no acceleration (0 below)
        warnings.simplefilter("ignore", RuntimeWarning)
        d = np.nanmean(jack, axis=0)[None, :] - jack
        num = np.nansum(d**3, axis=0)
        den = 6.0 * np.nansum(d * d, axis=0) ** 1.5
        return np.where(den > 0, num / den, 0.0)


def bootstrap_levels(
    boot: FloatArray,
    estimate: FloatArray,
    value: float | FloatArray,
    jack: FloatArray | None = None,
    *,
    method: Literal["bca", "percentile"] = "bca",
) -> FloatArray:
    """The level ``beta`` at which ``value`` is each column's bootstrap interval endpoint
    (the one-sided p-value of ``theta <= value``).

    Parameters
    ----------
    boot
        (B, K) bootstrap replicates; NaN marks a degenerate resample.
    estimate
        (K,) full-data estimates.
    value
        The value(s) to test, a scalar or (K,).
    jack
        (n, K) leave-one-out estimates (BCa's acceleration); None gives no acceleration.
    method
        ``bca`` or ``percentile`` (no bias correction, no acceleration).

    Returns
    -------
    (K,) levels in (0, 1), clipped to ``[1/(2B), 1 - 1/(2B)]`` (a bootstrap cannot resolve
    finer); NaN where the estimate is NaN or no replicate is valid.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> boot = rng.normal(0.5, 0.1, size=(4000, 1))
    >>> bool(abs(bootstrap_levels(boot, np.array([0.5]), 0.3, method="percentile")[0] - 0.023) < 0.01)
    True
    """
    boot = np.asarray(boot, dtype=float)
    estimate = np.asarray(estimate, dtype=float)
    k = boot.shape[1]
    at = np.broadcast_to(np.asarray(value, dtype=float), (k,))
    u, valid = _cdf(boot, at)
    eps = 0.5 / np.maximum(valid, 1)
    u = np.clip(u, eps, 1.0 - eps)
    w = ndtri(u)
    if method == "bca":
        u0, _ = _cdf(boot, estimate)
        z0 = ndtri(np.clip(u0, eps, 1.0 - eps))
        a = _acceleration(None if jack is None else np.asarray(jack, dtype=float), k)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (w - z0) / (1.0 + a * (w - z0))
        z_beta = t - z0
    else:
        z_beta = w
    beta = np.clip(ndtr(z_beta), eps, 1.0 - eps)
    return np.where(np.isnan(estimate) | (valid == 0), np.nan, beta)


def tost_pvalues(
    boot: FloatArray,
    estimate: FloatArray,
    margin: float,
    jack: FloatArray | None = None,
    *,
    method: Literal["bca", "percentile"] = "bca",
) -> FloatArray:
    """Two-one-sided-tests p-value of ``|theta| < margin`` for every column: the larger
    of the p-values of ``theta <= -margin`` and ``theta >= margin``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> boot = rng.normal(0.05, 0.1, size=(4000, 2)) + np.array([0.0, 0.5])
    >>> p = tost_pvalues(boot, np.array([0.05, 0.55]), 0.4, method="percentile")
    >>> bool(p[0] < 0.01), bool(p[1] > 0.5)
    (True, True)
    """
    below = bootstrap_levels(boot, estimate, -margin, jack, method=method)
    above = 1.0 - bootstrap_levels(boot, estimate, margin, jack, method=method)
    return np.fmax(below, above)
