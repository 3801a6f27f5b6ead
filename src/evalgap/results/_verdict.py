"""Verdicts: what the data support about how strongly a benchmark tracks capabilities.

The bands cut |rho| into low (< 0.4), moderate (0.4 to 0.7) and high (>= 0.7) by default.
A verdict says what the interval and an equivalence test support at the chosen
confidence, never more:

- **tracks capabilities** with a direction (``+``: the safety score rises with
  capabilities, ``-``: it falls) when the interval excludes 0, and a strength read off the
  interval end nearest zero: ``high`` when even that end is high, ``at least moderately``
  when it is at least moderate, ``at least weakly`` otherwise;
- **does not track capabilities** (|rho| below the low band edge) only when an
  equivalence test (two one-sided tests against ``-moderate`` and ``+moderate``) rejects
  "|rho| >= moderate"; with a direction too it reads "tracks capabilities weakly";
- **not determined** when neither holds.

:func:`band_of` (the band of the point estimate) and :func:`span_of` (the bands the
interval reaches) stay as descriptions beside the verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "LEVELS",
    "NOT_DETERMINED",
    "NO_INTERVAL",
    "Bands",
    "Verdict",
    "band_of",
    "decide",
    "level_of",
    "span_of",
    "verdict_of",
]

#: Verdict levels, strongest first: what a report colours by.
LEVELS = ("high", "moderate", "weak", "low", "undetermined", "n/a")
#: The verdict when neither a direction nor equivalence is shown.
NOT_DETERMINED = "not determined"
#: The verdict when there is no interval (bootstrap off).
NO_INTERVAL = "not determined (no interval)"


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


@dataclass(frozen=True)
class Verdict:
    """One verdict: its text, direction (``+``, ``-`` or empty), strength (the weakest
    band the evidence allows: ``high``, ``moderate``, ``low``, or empty) and level (for
    colour: one of :data:`LEVELS`)."""

    text: str
    direction: str
    strength: str
    level: str


def _nan(x: float | None) -> bool:
    return x is None or math.isnan(x)


def band_of(rho: float, bands: Bands = Bands()) -> str:
    """The band of a correlation: ``high +``, ``moderate -``, ``low`` and so on; ``n/a``
    for NaN. The sign says whether the safety score rises (+) or falls (-) with
    capabilities; a low correlation carries no sign.

    Examples
    --------
    >>> band_of(0.81), band_of(-0.5), band_of(0.1)
    ('high +', 'moderate -', 'low')
    """
    if _nan(rho):
        return "n/a"
    size = abs(rho)
    if size >= bands.high:
        level = "high"
    elif size >= bands.moderate:
        level = "moderate"
    else:
        return "low"
    return f"{level} {'+' if rho > 0 else '-'}"


def decide(
    rho: float,
    low: float,
    high: float,
    bands: Bands = Bands(),
    *,
    equivalent: bool | None = None,
    significant: bool | None = None,
) -> Verdict:
    """The verdict from a point estimate, its interval ``[low, high]`` and the outcome of
    the equivalence test (None when it was not run). ``significant=False`` withholds a
    direction even when the interval excludes 0 (a verdict asked to use q-values, whose
    q-value did not pass).

    Examples
    --------
    >>> decide(0.81, 0.57, 0.93).text
    'tracks capabilities (at least moderately, +)'
    >>> decide(0.02, -0.25, 0.3, equivalent=True).text
    'does not track capabilities (|ρ| < 0.4)'
    >>> decide(0.1, -0.4, 0.5, equivalent=False).text
    'not determined'
    """
    if _nan(rho):
        return Verdict("n/a", "", "", "n/a")
    if _nan(low) or _nan(high):
        return Verdict(NO_INTERVAL, "", "", "undetermined")
    edge = f"|ρ| < {bands.moderate:g}"
    if (low > 0 or high < 0) and significant is not False:
        sign = "+" if low > 0 else "-"
        nearest = min(abs(low), abs(high))
        if nearest >= bands.high:
            return Verdict(f"tracks capabilities (high, {sign})", sign, "high", "high")
        if nearest >= bands.moderate:
            text = f"tracks capabilities (at least moderately, {sign})"
            return Verdict(text, sign, "moderate", "moderate")
        if equivalent:
            return Verdict(f"tracks capabilities weakly ({sign}, {edge})", sign, "low", "low")
        return Verdict(f"tracks capabilities (at least weakly, {sign})", sign, "low", "weak")
    if equivalent:
        return Verdict(f"does not track capabilities ({edge})", "", "low", "low")
    return Verdict(NOT_DETERMINED, "", "", "undetermined")


def verdict_of(
    rho: float,
    low: float,
    high: float,
    bands: Bands = Bands(),
    *,
    equivalent: bool | None = None,
    significant: bool | None = None,
) -> str:
    """The verdict's text (see :func:`decide`).

    Examples
    --------
    >>> verdict_of(0.81, 0.72, 0.9), verdict_of(-0.3, -0.55, -0.05)
    ('tracks capabilities (high, +)', 'tracks capabilities (at least weakly, -)')
    """
    return decide(rho, low, high, bands, equivalent=equivalent, significant=significant).text


def level_of(verdict: str) -> str:
    """The level of a verdict's text (one of :data:`LEVELS`), for colour; older verdict
    texts (``high +``, ``uncertain``) are understood too.

    Examples
    --------
    >>> level_of("tracks capabilities (at least weakly, +)"), level_of("not determined")
    ('weak', 'undetermined')
    """
    text = str(verdict or "")
    if text.startswith("tracks capabilities ("):
        inner = text[len("tracks capabilities (") :]
        for prefix, level in (
            ("high", "high"),
            ("at least moderately", "moderate"),
            ("at least weakly", "weak"),
        ):
            if inner.startswith(prefix):
                return level
    if text.startswith(("tracks capabilities weakly", "does not track")):
        return "low"
    if text.startswith(NOT_DETERMINED) or text == "uncertain":
        return "undetermined"
    word = text.split(" ")[0] if text else "n/a"
    return word if word in ("high", "moderate", "low") else "n/a"


def span_of(low: float, high: float, bands: Bands = Bands()) -> str:
    """The bands an interval spans, from its lower to its upper end: ``high +`` when it
    lies in one band, ``moderate + to high +`` when it spans several; empty with no
    interval.

    Examples
    --------
    >>> span_of(0.66, 0.96), span_of(-0.2, 0.5)
    ('moderate + to high +', 'low to moderate +')
    """
    if _nan(low) or _nan(high):
        return ""
    first, last = band_of(low, bands), band_of(high, bands)
    return first if first == last else f"{first} to {last}"
