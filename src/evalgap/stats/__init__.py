"""Pure NumPy/SciPy statistics; knows nothing of panels.

Weighted ranks and correlations (a bootstrap resample is a vector of model counts, so all
resamples go through one set of array operations), bootstrap and jackknife weights and the
blocks a bootstrap is split into, confidence intervals, AUROC, permutation p-values,
multiple testing, the memory budget, isotonic fits, monotone smoothing splines and
reliability coefficients.
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
from evalgap.stats._budget import (
    MemoryPlan,
    audit_memory,
    available_memory,
    format_bytes,
    memory_budget,
    parse_memory,
    resolve_budget,
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
    RESAMPLE_BLOCK,
    CIMethod,
    Executor,
    InProcess,
    bootstrap_weights,
    confidence_intervals,
    jackknife_weights,
    resample_blocks,
)
from evalgap.stats._spearman import SpearmanPlan
from evalgap.stats._splines import (
    GCV_GAMMA,
    MonotoneSplineFits,
    SplineFits,
    gcv_criterion,
    monotone_smoothing_splines,
    smoothing_splines,
)
from evalgap.stats._weighted import (
    SortedColumns,
    kendall_tau_b,
    midrank_matrix,
    weighted_midranks,
    weighted_pearson,
)

__all__ = [
    "CI_METHODS",
    "CORRELATION_METHODS",
    "GCV_GAMMA",
    "RESAMPLE_BLOCK",
    "AurocInterval",
    "CIMethod",
    "CorrelationMethod",
    "CorrelationPlan",
    "Executor",
    "InProcess",
    "MemoryPlan",
    "MonotoneSplineFits",
    "Reliability",
    "SortedColumns",
    "SpearmanPlan",
    "SplineFits",
    "audit_memory",
    "auroc",
    "auroc_interval",
    "auroc_jackknife",
    "auroc_pvalue",
    "auroc_resampled",
    "availability",
    "available_memory",
    "bh_qvalues",
    "bootstrap_weights",
    "by_qvalues",
    "confidence_intervals",
    "correlations",
    "cronbach_alpha",
    "format_bytes",
    "gcv_criterion",
    "isotonic_fits",
    "jackknife_weights",
    "kendall_tau_b",
    "memory_budget",
    "midrank_matrix",
    "monotone_smoothing_splines",
    "parse_memory",
    "permutation_pvalues",
    "qvalues",
    "reliability",
    "resample_blocks",
    "resolve_budget",
    "slopes",
    "smoothing_splines",
    "split_half",
    "stratified_bootstrap_weights",
    "weighted_midranks",
    "weighted_pearson",
]
