"""evalgap: is this AI safety evaluation result real evidence of safety?"""

from evalgap._version import __version__
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
from evalgap.matching import MatchResult, match_models
from evalgap.panel import Panel
from evalgap.verdict import Bands

__all__ = [
    "AnalysisError",
    "AuditResult",
    "Bands",
    "CapabilitiesScore",
    "ChecksumError",
    "EvalgapError",
    "ImportResult",
    "InputError",
    "MatchResult",
    "Panel",
    "PanelSpec",
    "UnknownPanelError",
    "__version__",
    "audit",
    "capabilities_score",
    "import_results",
    "list_panels",
    "load_panel",
    "match_models",
]
