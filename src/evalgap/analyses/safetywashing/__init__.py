"""Safetywashing (Ren et al. 2024): do safety benchmarks mostly track capabilities?

The capabilities score, the audit, its sensitivity to analysis choices, capabilities-
adjusted scores, and item-level analysis.
"""

from evalgap.analyses.safetywashing._adjust import AdjustResult, adjust, adjusted_scores
from evalgap.analyses.safetywashing._audit import AuditResult, audit
from evalgap.analyses.safetywashing._capability import CapabilitiesScore, capabilities_score
from evalgap.analyses.safetywashing._items import (
    ItemAnalysis,
    Selection,
    item_analysis,
    item_matrix,
    other_benchmarks_proxy,
    select_items,
)
from evalgap.analyses.safetywashing._sensitivity import (
    VARIANT_KINDS,
    SensitivityResult,
    model_families,
    sensitivity,
)

__all__ = [
    "VARIANT_KINDS",
    "AdjustResult",
    "AuditResult",
    "CapabilitiesScore",
    "ItemAnalysis",
    "Selection",
    "SensitivityResult",
    "adjust",
    "adjusted_scores",
    "audit",
    "capabilities_score",
    "item_analysis",
    "item_matrix",
    "model_families",
    "other_benchmarks_proxy",
    "select_items",
    "sensitivity",
]
