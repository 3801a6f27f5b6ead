"""Evidence lines: the rows of a claim card, in the shared column vocabulary.

A line says one thing about the claim "MODEL is safe on BENCHMARK": which question it
answers (safetywashing, inflation, sandbagging, ...), the estimate with its interval,
p-value and q-values, the verdict of the analysis that made it, and whether its direction
points at a fault (``indicates``). Whether it is *flagged* is decided by the card (or a CI
gate) from ``indicates``, the q-value and its own threshold, so the same lines can be
judged under different policies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from evalgap.stats._multitest import bh_qvalues, by_qvalues

__all__ = [
    "LINE_COLUMNS",
    "QUESTIONS",
    "STRENGTHS",
    "flag_lines",
    "line",
    "lines_frame",
    "qvalues_for",
    "strength_of",
    "strength_rank",
]

#: The questions a line can answer, in the order the card shows them.
QUESTIONS = ("score", "safetywashing", "adjusted", "inflation", "sandbagging", "probe")

#: Columns of a claim card's evidence table, in order.
LINE_COLUMNS = (
    "question",
    "evidence",
    "analysis",
    "model",
    "benchmark",
    "measure",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "q_value",
    "q_value_by",
    "q_family",
    "n",
    "verdict",
    "strength",
    "indicates",
    "flagged",
    "stand_in",
    "input_sha256",
    "note",
)

#: How strongly an interval says a correlation is not zero: the band of its end nearest
#: zero ("" when the interval contains zero or there is none), weakest first.
STRENGTHS = ("", "low", "moderate", "high")

_FLOAT_COLUMNS = ("estimate", "ci_low", "ci_high", "p_value", "q_value", "q_value_by")


def strength_of(ci_low: float, ci_high: float, moderate: float, high: float) -> str:
    """The weakest band an interval allows: ``high`` when both ends are at least ``high``
    in size on one side of zero, ``moderate`` likewise, ``low`` when it only excludes
    zero, ``""`` when it contains zero or is missing.

    Examples
    --------
    >>> strength_of(0.55, 0.93, 0.4, 0.7), strength_of(-0.9, -0.72, 0.4, 0.7)
    ('moderate', 'high')
    >>> strength_of(-0.2, 0.5, 0.4, 0.7), strength_of(0.1, 0.3, 0.4, 0.7)
    ('', 'low')
    """
    lo, hi = _float(ci_low), _float(ci_high)
    if math.isnan(lo) or math.isnan(hi) or lo <= 0 <= hi:
        return ""
    nearest = min(abs(lo), abs(hi))
    if nearest >= high:
        return "high"
    if nearest >= moderate:
        return "moderate"
    return "low"


def strength_rank(strength: str) -> int:
    """Position of ``strength`` in :data:`STRENGTHS` (unknown text ranks as ``""``)."""
    return STRENGTHS.index(strength) if strength in STRENGTHS else 0


def qvalues_for(p_values: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    """BH and BY q-values over one family of p-values (NaN stays NaN)."""
    p = np.asarray(list(p_values), dtype=float)
    return bh_qvalues(p), by_qvalues(p)


def line(
    *,
    question: str,
    evidence: str,
    analysis: str,
    model: str,
    benchmark: str,
    measure: str,
    estimate: float,
    ci_low: float = math.nan,
    ci_high: float = math.nan,
    p_value: float = math.nan,
    q_value: float = math.nan,
    q_value_by: float = math.nan,
    q_family: str = "",
    n: int | None = None,
    verdict: str = "",
    strength: str = "",
    indicates: bool = False,
    stand_in: bool = False,
    inputs: Mapping[str, str] | None = None,
    note: str = "",
) -> dict[str, Any]:
    """One evidence line as a dict with every column of :data:`LINE_COLUMNS`.

    ``indicates`` says the estimate points the way the question's fault would push it
    (a score above prediction for inflation, below it for sandbagging); ``flagged`` is
    left False for :func:`flag_lines` to decide.

    Examples
    --------
    >>> row = line(question="inflation", evidence="e", analysis="a", model="m",
    ...            benchmark="b", measure="delta", estimate=0.1, indicates=True)
    >>> row["flagged"], row["question"]
    (False, 'inflation')
    """
    if question not in QUESTIONS:
        raise ValueError(f"question must be one of {', '.join(QUESTIONS)}, got {question!r}")
    return {
        "question": question,
        "evidence": evidence,
        "analysis": analysis,
        "model": model,
        "benchmark": benchmark,
        "measure": measure,
        "estimate": _float(estimate),
        "ci_low": _float(ci_low),
        "ci_high": _float(ci_high),
        "p_value": _float(p_value),
        "q_value": _float(q_value),
        "q_value_by": _float(q_value_by),
        "q_family": q_family,
        "n": -1 if n is None else int(n),
        "verdict": verdict,
        "strength": strength,
        "indicates": bool(indicates),
        "flagged": False,
        "stand_in": bool(stand_in),
        "input_sha256": ", ".join(sorted(set((inputs or {}).values()))),
        "note": note,
    }


def lines_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Evidence lines as a DataFrame with the columns and dtypes of :data:`LINE_COLUMNS`."""
    frame = pd.DataFrame(list(rows), columns=list(LINE_COLUMNS))
    for col in _FLOAT_COLUMNS:
        frame[col] = frame[col].astype(float)
    frame["n"] = frame["n"].astype("int64")
    for col in ("indicates", "flagged", "stand_in"):
        frame[col] = frame[col].astype(bool)
    for col in set(LINE_COLUMNS) - {*_FLOAT_COLUMNS, "n", "indicates", "flagged", "stand_in"}:
        frame[col] = frame[col].astype(object)
    return frame


def flag_lines(lines: pd.DataFrame, *, alpha: float, tracks_at_least: str) -> pd.DataFrame:
    """A copy of ``lines`` with ``flagged`` set: a safetywashing line when its interval
    shows at least ``tracks_at_least`` strength; any other line when it ``indicates`` its
    fault with ``q_value < alpha`` (the p-value when no q-value was computed)."""
    out = lines.copy()
    q = out["q_value"].where(out["q_value"].notna(), out["p_value"])
    washing = out["question"] == "safetywashing"
    strong = out["strength"].map(strength_rank) >= strength_rank(tracks_at_least)
    directional = out["indicates"] & (q < alpha)
    out["flagged"] = np.where(washing, strong & (tracks_at_least != ""), directional)
    out["flagged"] = out["flagged"].astype(bool) & ~out["question"].eq("score")
    return out


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, str):
        return {"inf": math.inf, "-inf": -math.inf}.get(value, math.nan)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
