"""evalgap: is this AI safety evaluation result real evidence of safety?

Public names are loaded on first use (a module ``__getattr__``, as lm-evaluation-harness
does "to improve CLI startup"), so ``import evalgap`` and ``evalgap --help`` stay cheap and
pandas, SciPy or torch load only when an analysis needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from evalgap._version import __version__
from evalgap.errors import (
    AnalysisError,
    ChecksumError,
    EvalgapError,
    InputError,
    UnknownPanelError,
)

#: Public name -> the package that defines it.
_LAZY = {
    "AdjustResult": "evalgap.analyses.safetywashing",
    "AttachResult": "evalgap.io",
    "AuditResult": "evalgap.analyses.safetywashing",
    "Bands": "evalgap.results",
    "CapabilitiesScore": "evalgap.analyses.safetywashing",
    "ImportResult": "evalgap.io",
    "ItemAnalysis": "evalgap.analyses.safetywashing",
    "MatchResult": "evalgap.io",
    "Panel": "evalgap.data",
    "PanelSpec": "evalgap.io",
    "Reliability": "evalgap.stats",
    "Result": "evalgap.results",
    "SensitivityResult": "evalgap.analyses.safetywashing",
    "adjust": "evalgap.analyses.safetywashing",
    "adjusted_scores": "evalgap.analyses.safetywashing",
    "attach_scores": "evalgap.io",
    "audit": "evalgap.analyses.safetywashing",
    "capabilities_score": "evalgap.analyses.safetywashing",
    "import_results": "evalgap.io",
    "item_analysis": "evalgap.analyses.safetywashing",
    "item_matrix": "evalgap.analyses.safetywashing",
    "list_panels": "evalgap.io",
    "load_result": "evalgap.analyses",
    "load_panel": "evalgap.io",
    "match_models": "evalgap.io",
    "model_families": "evalgap.analyses.safetywashing",
    "other_benchmarks_proxy": "evalgap.analyses.safetywashing",
    "reliability": "evalgap.stats",
    "select_items": "evalgap.analyses.safetywashing",
    "sensitivity": "evalgap.analyses.safetywashing",
}

__all__ = [
    "AdjustResult",
    "AnalysisError",
    "AttachResult",
    "AuditResult",
    "Bands",
    "CapabilitiesScore",
    "ChecksumError",
    "EvalgapError",
    "ImportResult",
    "InputError",
    "ItemAnalysis",
    "MatchResult",
    "Panel",
    "PanelSpec",
    "Reliability",
    "Result",
    "SensitivityResult",
    "UnknownPanelError",
    "__version__",
    "adjust",
    "adjusted_scores",
    "attach_scores",
    "audit",
    "capabilities_score",
    "import_results",
    "item_analysis",
    "item_matrix",
    "list_panels",
    "load_panel",
    "load_result",
    "match_models",
    "model_families",
    "other_benchmarks_proxy",
    "reliability",
    "select_items",
    "sensitivity",
]


#: Sub-packages reachable as attributes (``evalgap.report.write_report``) on first use.
_SUBPACKAGES = frozenset({"analyses", "data", "io", "report", "results", "stats"})


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"evalgap.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'evalgap' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from evalgap.analyses import load_result
    from evalgap.analyses.safetywashing import (
        AdjustResult,
        AuditResult,
        CapabilitiesScore,
        ItemAnalysis,
        SensitivityResult,
        adjust,
        adjusted_scores,
        audit,
        capabilities_score,
        item_analysis,
        item_matrix,
        model_families,
        other_benchmarks_proxy,
        select_items,
        sensitivity,
    )
    from evalgap.data import Panel
    from evalgap.io import (
        AttachResult,
        ImportResult,
        MatchResult,
        PanelSpec,
        attach_scores,
        import_results,
        list_panels,
        load_panel,
        match_models,
    )
    from evalgap.results import Bands, Result
    from evalgap.stats import Reliability, reliability
