"""Inflation: is a score inflated by contamination?

Three kinds of evidence from scores: the reference-model test (ConStat, Dekoninck et al.
2024), the gap between a public test set and an equivalent held-out set (Zhang et al.
2024, GSM1k; Haimes et al. 2024, retro-holdouts) with its correlation with a memorisation
signal, and the checks that a held-out set is drawn like the public one.
"""

from evalgap.analyses.inflation._data import ConstatTable, read_constat_table, read_gsm1k
from evalgap.analyses.inflation._holdout import HoldoutResult, holdout_gap
from evalgap.analyses.inflation._indistinguishable import (
    IndistinguishableResult,
    indistinguishable,
)
from evalgap.analyses.inflation._models import (
    WELL_KNOWN_BASE_MODELS,
    default_references,
    is_well_known_base,
)
from evalgap.analyses.inflation._reference import ReferenceTestResult, reference_test
from evalgap.analyses.inflation._texts import (
    TwoSampleTest,
    classifier_test,
    embed_texts,
    embedding_test,
)

__all__ = [
    "WELL_KNOWN_BASE_MODELS",
    "ConstatTable",
    "HoldoutResult",
    "IndistinguishableResult",
    "ReferenceTestResult",
    "TwoSampleTest",
    "classifier_test",
    "default_references",
    "embed_texts",
    "embedding_test",
    "holdout_gap",
    "indistinguishable",
    "is_well_known_base",
    "read_constat_table",
    "read_gsm1k",
    "reference_test",
]
