"""evalgap: is this AI safety evaluation result real evidence of safety?"""

from evalgap._version import __version__
from evalgap.catalog import PanelSpec, list_panels, load_panel
from evalgap.errors import (
    AnalysisError,
    ChecksumError,
    EvalgapError,
    InputError,
    UnknownPanelError,
)
from evalgap.panel import Panel

__all__ = [
    "AnalysisError",
    "ChecksumError",
    "EvalgapError",
    "InputError",
    "Panel",
    "PanelSpec",
    "UnknownPanelError",
    "__version__",
    "list_panels",
    "load_panel",
]
