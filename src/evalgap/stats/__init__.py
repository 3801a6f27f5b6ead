"""Pure NumPy/SciPy statistics; knows nothing of panels.

Weighted ranks and correlations (a bootstrap resample is a vector of model counts, so all
resamples go through one set of array operations), bootstrap and jackknife weights,
confidence intervals, permutation p-values, isotonic fits, monotone smoothing splines and reliability coefficients.
"""

from evalgap.stats._correlate import (
    CORRELATION_METHODS,
    CorrelationMethod,
    CorrelationPlan,
    availability,
    correlations,
    permutation_pvalues,
    slopes,
)
from evalgap.stats._isotonic import isotonic_fits
from evalgap.stats._multitest import bh_qvalues, by_qvalues, qvalues
from evalgap.stats._reliability import Reliability, cronbach_alpha, reliability, split_half
from evalgap.stats._resample import (
    CI_METHODS,
    CIMethod,
    bootstrap_weights,
    confidence_intervals,
    jackknife_weights,
)
from evalgap.stats._splines import (
    GCV_GAMMA,
    MonotoneSplineFits,
    SplineFits,
    gcv_criterion,
    monotone_smoothing_splines,
    smoothing_splines,
)
from evalgap.stats._weighted import (
    kendall_tau_b,
    midrank_matrix,
    weighted_midranks,
    weighted_pearson,
)

__all__ = [
    "CI_METHODS",
    "CORRELATION_METHODS",
    "GCV_GAMMA",
    "CIMethod",
    "CorrelationMethod",
    "CorrelationPlan",
    "MonotoneSplineFits",
    "Reliability",
    "SplineFits",
    "availability",
    "bh_qvalues",
    "bootstrap_weights",
    "by_qvalues",
    "confidence_intervals",
    "correlations",
    "cronbach_alpha",
    "gcv_criterion",
    "isotonic_fits",
    "jackknife_weights",
    "kendall_tau_b",
    "midrank_matrix",
    "monotone_smoothing_splines",
    "permutation_pvalues",
    "qvalues",
    "reliability",
    "slopes",
    "smoothing_splines",
    "split_half",
    "weighted_midranks",
    "weighted_pearson",
]
