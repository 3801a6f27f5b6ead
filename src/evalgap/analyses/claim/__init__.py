"""One safety claim, all the evidence: the claim card and its history.

:func:`claim` gathers, for "MODEL is safe on BENCHMARK", a line from every analysis whose
inputs are present (extractors by analysis name in :data:`EXTRACTORS`) and says what was
not covered; :func:`history_of` lays out claim cards of successive runs as series.
"""

from evalgap.analyses.claim._card import (
    ANALYSES,
    ClaimResult,
    Source,
    claim,
    default_hazards,
    gather_evidence,
    not_covered,
)
from evalgap.analyses.claim._extractors import (
    adjust_evidence,
    audit_evidence,
    claim_evidence,
    inputs_of,
    vocabulary_evidence,
)
from evalgap.analyses.claim._history import HISTORY_COLUMNS, HistoryResult, history_of
from evalgap.analyses.claim._lines import (
    LINE_COLUMNS,
    QUESTIONS,
    STRENGTHS,
    flag_lines,
    line,
    lines_frame,
    strength_of,
    strength_rank,
)
from evalgap.analyses.claim._registry import (
    COVERAGE,
    EXTRACTORS,
    HAZARD_AREAS,
    Topic,
    extractor_of,
)

__all__ = [
    "ANALYSES",
    "COVERAGE",
    "EXTRACTORS",
    "HAZARD_AREAS",
    "HISTORY_COLUMNS",
    "LINE_COLUMNS",
    "QUESTIONS",
    "STRENGTHS",
    "ClaimResult",
    "HistoryResult",
    "Source",
    "Topic",
    "adjust_evidence",
    "audit_evidence",
    "claim",
    "claim_evidence",
    "default_hazards",
    "extractor_of",
    "flag_lines",
    "gather_evidence",
    "history_of",
    "inputs_of",
    "line",
    "lines_frame",
    "not_covered",
    "strength_of",
    "strength_rank",
    "vocabulary_evidence",
]
