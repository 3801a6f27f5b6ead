"""Sandbagging: is a model underperforming on purpose?

The noise-injection sweep (Tice et al. 2024) adds seeded Gaussian noise to a model's weights
and reports the improvement ratio phi = best accuracy under noise / accuracy without noise,
with a bootstrap interval over items, its spread over seeds and a verdict. Needs the
``models`` extra.
"""

from evalgap.analyses.sandbagging._items import SweepItems, read_items
from evalgap.analyses.sandbagging._phi import AT_CEILING, NOT_DETECTED, SUSPECTED
from evalgap.analyses.sandbagging._sweep import SCORINGS, NoiseSweepResult, noise_sweep

__all__ = [
    "AT_CEILING",
    "NOT_DETECTED",
    "SCORINGS",
    "SUSPECTED",
    "NoiseSweepResult",
    "SweepItems",
    "noise_sweep",
    "read_items",
]
