"""Helpers shared by ``evalgap sensitivity``, ``evalgap adjust`` and ``evalgap items``."""

from __future__ import annotations

import argparse
import math
from typing import Any

from evalgap.cli._common import load_inputs
from evalgap.data._panel import Panel

__all__ = ["load", "num"]


def load(args: argparse.Namespace) -> tuple[Panel, list[str] | None]:
    """The panel the arguments name and, when the user's own scores were attached to a
    reference panel, the user's benchmarks (the default ones to analyse)."""
    inputs = load_inputs(args)
    return inputs.panel, inputs.benchmarks


def num(value: Any, digits: int = 2, signed: bool = False) -> str:
    """A number for a terminal table; ``–`` for missing, ``±∞`` for unbounded."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(v):
        return "–"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"
