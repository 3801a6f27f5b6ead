"""Sandbagging: is a model underperforming on purpose on a dangerous-capability evaluation?

From scores alone (:func:`sandbag_panel`: hazard score above what capabilities predict
while controls sit where predicted, and the accuracy-versus-difficulty curve). From the
weights (:func:`noise_sweep`, Tice et al. 2024): seeded Gaussian noise added to a model's
weights, and the improvement ratio phi = best accuracy under noise / accuracy without noise
with a bootstrap interval over items, its spread over seeds and a verdict (needs the
``models`` extra).
"""

from evalgap.analyses.sandbagging._items import SweepItems, read_items
from evalgap.analyses.sandbagging._panel import (
    DEFAULT_CONTROLS,
    SandbagPanelResult,
    difficulty_curves,
    sandbag_panel,
)
from evalgap.analyses.sandbagging._phi import AT_CEILING, NOT_DETECTED, SUSPECTED
from evalgap.analyses.sandbagging._sweep import (
    SCORINGS,
    NoiseSweepResult,
    noise_sweep,
    summarize_sweep,
)

__all__ = [
    "AT_CEILING",
    "DEFAULT_CONTROLS",
    "NOT_DETECTED",
    "SCORINGS",
    "SUSPECTED",
    "NoiseSweepResult",
    "SandbagPanelResult",
    "SweepItems",
    "difficulty_curves",
    "noise_sweep",
    "read_items",
    "sandbag_panel",
    "summarize_sweep",
]
