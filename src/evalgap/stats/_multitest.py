"""Multiple testing: q-values that control the false discovery rate over a family of tests.

When many benchmarks or models are tested at once, about 5% of true nulls have p < 0.05
by chance. The Benjamini-Hochberg q-value controls the expected share of false discoveries
among the tests called significant when the tests are independent or positively dependent;
the Benjamini-Yekutieli q-value controls it under any dependence, at the price of a factor
``sum_{i<=m} 1/i`` (about 5.1 for 90 tests). NaN p-values are left out of the family and
get NaN q-values.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["bh_qvalues", "by_qvalues", "qvalues", "simes_pvalue"]


def _qvalues(p_values: ArrayLike, dependence_factor: bool) -> NDArray[np.float64]:
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise ValueError("p-values must be one-dimensional")
    out = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    m = len(tested)
    if m == 0:
        return out
    if ((p[tested] < 0) | (p[tested] > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    order = tested[np.argsort(p[tested], kind="stable")]
    rank = np.arange(1, m + 1)
    scale = np.sum(1.0 / rank) if dependence_factor else 1.0
    adjusted = p[order] * m * scale / rank
    # step-up: q_(i) = min over j >= i of the adjusted p-values
    adjusted = np.minimum.accumulate(adjusted[::-1])[::-1]
    out[order] = np.minimum(adjusted, 1.0)
    return out


def bh_qvalues(p_values: ArrayLike) -> NDArray[np.float64]:
    """Benjamini-Hochberg (1995) q-values (FDR-adjusted p-values).

    Examples
    --------
    >>> bh_qvalues([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    return _qvalues(p_values, dependence_factor=False)


def by_qvalues(p_values: ArrayLike) -> NDArray[np.float64]:
    """Benjamini-Yekutieli (2001) q-values, valid under any dependence between tests.

    Examples
    --------
    >>> by_qvalues([0.01, 0.04, 0.03]).round(3).tolist()
    [0.055, 0.073, 0.073]
    """
    return _qvalues(p_values, dependence_factor=True)


def qvalues(p_values: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Both q-values of one family: ``(bh, by)``; they go beside every p-value in a table
    as ``q_value`` and ``q_value_by``."""
    return bh_qvalues(p_values), by_qvalues(p_values)


def simes_pvalue(p_values: ArrayLike) -> float:
    """Simes' (1986) combined p-value of a family of tests, ``min_i m p_(i) / i``: a valid
    test of "every null in the family holds" when the tests are independent or
    positively dependent, as an aggregate benchmark and its own splits are. NaN p-values
    are left out; NaN if none is left.

    Examples
    --------
    >>> simes_pvalue([0.01, 0.04, 0.3])
    0.03
    """
    p = np.asarray(p_values, dtype=float)
    p = np.sort(p[~np.isnan(p)])
    if p.size == 0:
        return float("nan")
    return float(min(1.0, np.min(p * p.size / np.arange(1, p.size + 1))))
