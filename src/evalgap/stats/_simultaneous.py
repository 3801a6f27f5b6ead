"""Simultaneous confidence intervals for many correlations from one bootstrap: the
max-statistic (max-|t|) construction.

Each column's bootstrap replicates are put on the Fisher-z scale (where a correlation's
sampling distribution is close to normal with a stable spread) and standardised by their
bootstrap SD; the ``level`` quantile ``c`` of the largest standardised deviation across
columns in each resample makes every interval ``tanh(z_k +/- c * se_k)`` hold at once with
probability about ``level`` (Romano and Wolf 2005; Westfall and Young 1993). The
resamples are shared across columns, so the dependence between benchmarks is kept.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["simultaneous_intervals"]

FloatArray = NDArray[np.float64]
# Correlations of exactly +-1 have no Fisher z; they are pulled in this little.
_EDGE = 1.0 - 1e-9


def simultaneous_intervals(
    boot: FloatArray, estimate: FloatArray, *, confidence_level: float = 0.95
) -> tuple[FloatArray, FloatArray, float]:
    """Max-statistic simultaneous intervals for the columns of ``boot``.

    Parameters
    ----------
    boot
        (B, K) bootstrap replicates of K correlations; NaN marks a degenerate replicate.
    estimate
        (K,) full-data correlations.
    confidence_level
        Probability that every interval covers its parameter at once.

    Returns
    -------
    low, high, critical
        (K,) bounds (NaN where a column has no estimate or no spread) and the critical
        value ``c`` on the standardised Fisher-z scale (about 1.96 for one column).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> boot = np.tanh(0.5 + 0.2 * rng.normal(size=(4000, 50)))
    >>> lo, hi, c = simultaneous_intervals(boot, np.full(50, np.tanh(0.5)))
    >>> bool(2.9 < c < 3.5)
    True
    """
    est_z = np.arctanh(np.clip(np.asarray(estimate, dtype=float), -_EDGE, _EDGE))
    z = np.arctanh(np.clip(np.asarray(boot, dtype=float), -_EDGE, _EDGE))
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.nanstd(z, axis=0)
        usable = np.isfinite(est_z) & (se > 0)
        dev = np.abs(z[:, usable] - est_z[usable]) / se[usable]
    k = dev.shape[1]
    low = np.full(est_z.shape, np.nan)
    high = np.full(est_z.shape, np.nan)
    if k == 0:
        return low, high, float("nan")
    # A column whose replicate is degenerate does not take part in that resample's max.
    top = np.nanmax(np.where(np.isnan(dev), -np.inf, dev), axis=1)
    top = top[np.isfinite(top)]
    critical = float(np.quantile(top, confidence_level)) if top.size else float("nan")
    low[usable] = np.tanh(est_z[usable] - critical * se[usable])
    high[usable] = np.tanh(est_z[usable] + critical * se[usable])
    return low, high, critical
