"""Pure NumPy/SciPy statistics; knows nothing of panels.

Weighted ranks and correlations (a bootstrap resample is a vector of model counts, so all
resamples go through one set of array operations), bootstrap and jackknife weights,
confidence intervals, AUROC, permutation p-values, isotonic fits and reliability coefficients.
"""

from evalgap.stats._auroc import (
    AurocInterval,
    auroc,
    auroc_interval,
    auroc_jackknife,
    auroc_pvalue,
    auroc_resampled,
    stratified_bootstrap_weights,
)
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
from evalgap.stats._weighted import (
    kendall_tau_b,
    midrank_matrix,
    weighted_midranks,
    weighted_pearson,
)

__all__ = [
    "CI_METHODS",
    "CORRELATION_METHODS",
    "AurocInterval",
    "CIMethod",
    "CorrelationMethod",
    "CorrelationPlan",
    "Reliability",
    "auroc",
    "auroc_interval",
    "auroc_jackknife",
    "auroc_pvalue",
    "auroc_resampled",
    "availability",
    "bh_qvalues",
    "bootstrap_weights",
    "by_qvalues",
    "confidence_intervals",
    "correlations",
    "cronbach_alpha",
    "isotonic_fits",
    "jackknife_weights",
    "kendall_tau_b",
    "midrank_matrix",
    "permutation_pvalues",
    "qvalues",
    "reliability",
    "slopes",
    "split_half",
    "stratified_bootstrap_weights",
    "weighted_midranks",
    "weighted_pearson",
]
