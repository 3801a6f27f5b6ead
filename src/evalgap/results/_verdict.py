"""Verdicts: how strongly a benchmark tracks capabilities, from a correlation and its interval."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Bands", "band_of", "span_of", "verdict_of"]


@dataclass(frozen=True)
class Bands:
    """Cut-offs on |rho|: ``|rho| >= high`` is high, ``moderate <= |rho| < high`` is
    moderate, below ``moderate`` is low (default 0.4 and 0.7, as in the issue tracker's
    convention for the Safetywashing audit)."""

    moderate: float = 0.4
    high: float = 0.7

    def __post_init__(self) -> None:
        if not 0 < self.moderate < self.high <= 1:
            raise ValueError("bands need 0 < moderate < high <= 1")


def band_of(rho: float, bands: Bands = Bands()) -> str:
    """The band of a correlation: ``high +``, ``moderate -``, ``low`` and so on; ``n/a``
    for NaN. The sign says whether the safety score rises (+) or falls (-) with
    capabilities; a low correlation carries no sign.

    Examples
    --------
    >>> band_of(0.81), band_of(-0.5), band_of(0.1)
    ('high +', 'moderate -', 'low')
    """
    if rho is None or math.isnan(rho):
        return "n/a"
    size = abs(rho)
    if size >= bands.high:
        level = "high"
    elif size >= bands.moderate:
        level = "moderate"
    else:
        return "low"
    return f"{level} {'+' if rho > 0 else '-'}"


def verdict_of(rho: float, low: float, high: float, bands: Bands = Bands()) -> str:
    """The verdict: the band of ``rho`` when its interval ``[low, high]`` lies in that one
    band, ``uncertain`` when the interval spans more than one band. With no interval (NaN
    bounds) the band of the point estimate is the verdict.

    Examples
    --------
    >>> verdict_of(0.81, 0.72, 0.9), verdict_of(0.81, 0.55, 0.93)
    ('high +', 'uncertain')
    """
    point = band_of(rho, bands)
    if point == "n/a" or low is None or high is None or math.isnan(low) or math.isnan(high):
        return point
    return point if band_of(low, bands) == band_of(high, bands) == point else "uncertain"


def span_of(low: float, high: float, bands: Bands = Bands()) -> str:
    """The bands an interval spans, from its lower to its upper end: ``high +`` when it
    lies in one band, ``moderate + to high +`` when it spans several; empty with no
    interval. It says how far an ``uncertain`` verdict reaches.

    Examples
    --------
    >>> span_of(0.66, 0.96), span_of(-0.2, 0.5)
    ('moderate + to high +', 'low to moderate +')
    """
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return ""
    first, last = band_of(low, bands), band_of(high, bands)
    return first if first == last else f"{first} to {last}"
