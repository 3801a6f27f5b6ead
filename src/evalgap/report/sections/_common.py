"""Formatting helpers shared by the report sections."""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["band_class", "f2", "interval", "number", "slug", "wrap"]


def slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-").lower()
    return slug[:40] or "x"


def number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def f2(value: Any) -> str:
    v = number(value)
    return "–" if v is None else f"{v:.2f}"


def interval(lo: Any, hi: Any) -> str:
    a, b = number(lo), number(hi)
    if a is None and b is None:
        return "–"
    left = "−∞" if a is None else f"{a:.2f}"
    right = "∞" if b is None else f"{b:.2f}"
    return f"[{left}, {right}]"


def band_class(value: Any) -> str | None:
    text = str(value)
    for level in ("high", "moderate", "low", "uncertain"):
        if text.startswith(level):
            return f"v-{level}"
    return None


def wrap(table: str) -> str:
    return f'<div class="table-wrap">{table}</div>'
