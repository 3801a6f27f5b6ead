"""Sandbagging: is a model underperforming on purpose on a dangerous-capability evaluation?

From scores alone (:func:`sandbag_panel`: hazard score above what capabilities predict
while controls sit where predicted, and the accuracy-versus-difficulty curve).
"""

from evalgap.analyses.sandbagging._panel import (
    DEFAULT_CONTROLS,
    SandbagPanelResult,
    difficulty_curves,
    sandbag_panel,
)

__all__ = ["DEFAULT_CONTROLS", "SandbagPanelResult", "difficulty_curves", "sandbag_panel"]
