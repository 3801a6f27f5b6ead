"""evalgap: is this AI safety evaluation result real evidence of safety?"""

from evalgap._version import __version__
from evalgap.adjust import AdjustResult, adjust, adjusted_scores
from evalgap.attach import AttachResult, attach_scores
from evalgap.audit import AuditResult, audit
from evalgap.capability import CapabilitiesScore, capabilities_score
from evalgap.catalog import PanelSpec, list_panels, load_panel
from evalgap.errors import (
    AnalysisError,
    ChecksumError,
    EvalgapError,
    InputError,
    UnknownPanelError,
)
from evalgap.io.detect import ImportResult, import_results
from evalgap.items import (
    ItemAnalysis,
    item_analysis,
    item_matrix,
    other_benchmarks_proxy,
    select_items,
)
from evalgap.matching import MatchResult, match_models
from evalgap.panel import Panel
from evalgap.reliability import Reliability, reliability
from evalgap.sensitivity import SensitivityResult, model_families, sensitivity
from evalgap.verdict import Bands

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
    "match_models",
    "model_families",
    "other_benchmarks_proxy",
    "reliability",
    "select_items",
    "sensitivity",
]
