"""From the audit's statistics to what a reader takes away: multiplicity-adjusted
p-values, equivalence tests, verdicts, and area summaries that count each benchmark family
once.

Multiplicity
------------
Every p-value gets its Benjamini-Hochberg (``q_value``) and Benjamini-Yekutieli
(``q_value_by``) q-value over the audited benchmarks. An aggregate and its own splits
(HarmBench "all" and its categories, WMDP and its splits, a MACHIAVELLI total and its
parts) test overlapping data and are positively dependent, which BH tolerates (PRDS) and
BY does not need; so the flat q-values stay valid, but they count a family's members as
separate discoveries. The family-level columns therefore treat each family as one
hypothesis: ``family_p_value`` is Simes' combination of its members' p-values (valid under
positive dependence), and ``family_q_value`` / ``family_q_value_by`` are BH / BY over the
families. A summary that says "how many benchmarks" uses the flat q-values; one that says
"how many families" uses the family ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evalgap.results._verdict import Bands, band_of, decide, level_of, span_of
from evalgap.stats._multitest import qvalues, simes_pvalue

__all__ = [
    "VERDICT_BASES",
    "VerdictBasis",
    "area_summary",
    "family_qvalues",
    "verdict_columns",
]

VerdictBasis = Literal["interval", "q_value", "simultaneous"]
#: What a verdict can rest on: the per-benchmark interval (and equivalence p-value), the
#: same with q-values (a direction or equivalence needs q < 1 - confidence), or
#: simultaneous intervals across the audited benchmarks.
VERDICT_BASES = ("interval", "q_value", "simultaneous")

FloatArray = NDArray[np.float64]


def family_qvalues(
    families: Sequence[str], p_values: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per benchmark: its family's Simes p-value and the family's BH and BY q-values over
    all families (each family one hypothesis).

    Examples
    --------
    >>> p, q, _ = family_qvalues(["a", "a", "b"], np.array([0.01, 0.2, 0.04]))
    >>> p.round(3).tolist(), q.round(3).tolist()
    ([0.02, 0.02, 0.04], [0.04, 0.04, 0.04])
    """
    fam = pd.Series(list(families))
    names = sorted(set(fam))
    combined = np.array([simes_pvalue(p_values[(fam == f).to_numpy()]) for f in names])
    bh, by = qvalues(combined)
    index = {f: i for i, f in enumerate(names)}
    pos = np.array([index[f] for f in fam], dtype=np.intp)
    return combined[pos], bh[pos], by[pos]


def verdict_columns(
    rho: FloatArray,
    low: FloatArray,
    high: FloatArray,
    *,
    bands: Bands,
    confidence_level: float,
    basis: VerdictBasis,
    equivalence_p: FloatArray,
    equivalence_q: FloatArray,
    q_value: FloatArray,
    sim_low: FloatArray,
    sim_high: FloatArray,
    sim_low_equiv: FloatArray,
    sim_high_equiv: FloatArray,
) -> pd.DataFrame:
    """``band, interval_bands, direction, strength, verdict`` for every benchmark.

    ``basis="interval"``: direction and strength from ``[low, high]``, equivalence from
    ``equivalence_p < alpha``. ``"q_value"``: as ``interval``, but a direction also needs
    ``q_value < alpha`` and equivalence ``equivalence_q < alpha``. ``"simultaneous"``:
    direction and strength from the simultaneous interval, equivalence when the
    simultaneous ``1 - 2 alpha`` interval lies inside the low band.
    """
    alpha = 1.0 - confidence_level
    rows = []
    for j, r in enumerate(rho):
        significant: bool | None = None
        if basis == "simultaneous":
            lo, hi = sim_low[j], sim_high[j]
            a, b = sim_low_equiv[j], sim_high_equiv[j]
            equivalent = (
                None
                if np.isnan(a) or np.isnan(b)
                else bool(-bands.moderate < a and b < bands.moderate)
            )
        else:
            lo, hi = low[j], high[j]
            test = equivalence_q[j] if basis == "q_value" else equivalence_p[j]
            equivalent = None if np.isnan(test) else bool(test < alpha)
            if basis == "q_value":
                significant = bool(q_value[j] < alpha) if not np.isnan(q_value[j]) else False
        v = decide(r, lo, hi, bands, equivalent=equivalent, significant=significant)
        rows.append(
            {
                "band": band_of(r, bands),
                "interval_bands": span_of(low[j], high[j], bands),
                "direction": v.direction,
                "strength": v.strength,
                "verdict": v.text,
            }
        )
    return pd.DataFrame(
        rows, columns=["band", "interval_bands", "direction", "strength", "verdict"]
    )


def _representative(members: list[dict[str, Any]]) -> tuple[float, float, str]:
    """(rho, compute rho, verdict level) standing for one family in a summary: its root
    benchmark when the root was audited; else the members' medians and their common
    verdict level (``mixed`` when they differ)."""
    for m in members:
        if m["benchmark"] == m["family"]:
            return m["capabilities_correlation"], m["compute_correlation"], m["level"]
    levels = {m["level"] for m in members}
    return (
        float(np.nanmedian([m["capabilities_correlation"] for m in members])),
        float(np.nanmedian([m["compute_correlation"] for m in members]))
        if any(not np.isnan(m["compute_correlation"]) for m in members)
        else float("nan"),
        levels.pop() if len(levels) == 1 else "mixed",
    )


#: Family verdict levels counted per area, in column order.
AREA_LEVELS = ("high", "moderate", "weak", "low", "undetermined", "mixed")


def area_summary(table: pd.DataFrame, q_threshold: float = 0.05) -> pd.DataFrame:
    """One row per area, counting each benchmark family once: ``area, n_benchmarks,
    n_families, median_correlation, mean_abs_correlation, median_compute_correlation``
    (over the families' representatives), the number of families at each verdict level
    (``high, moderate, weak, low, undetermined, mixed``) and ``n_families_q05``, the
    families whose family q-value (BH) is below ``q_threshold``."""
    records = table[
        ["benchmark", "family", "area", "capabilities_correlation", "compute_correlation",
         "family_q_value", "verdict"]
    ].to_dict("records")  # fmt: skip
    by_area: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for rec in records:
        rec["level"] = level_of(rec["verdict"])
        area = rec["area"] or "(none)"
        by_area.setdefault(area, {}).setdefault(rec["family"], []).append(rec)
    rows = []
    for area in sorted(by_area):
        fams = by_area[area]
        reps = [_representative(fams[f]) for f in sorted(fams)]
        rho = np.array([r[0] for r in reps], dtype=float)
        crho = np.array([r[1] for r in reps], dtype=float)
        levels = [r[2] for r in reps]
        fam_q = np.array([fams[f][0]["family_q_value"] for f in sorted(fams)], dtype=float)
        row: dict[str, Any] = {
            "area": area,
            "n_benchmarks": sum(len(v) for v in fams.values()),
            "n_families": len(reps),
            "median_correlation": float(np.nanmedian(rho)) if (~np.isnan(rho)).any() else np.nan,
            "mean_abs_correlation": float(np.nanmean(np.abs(rho)))
            if (~np.isnan(rho)).any()
            else np.nan,
            "median_compute_correlation": float(np.nanmedian(crho))
            if (~np.isnan(crho)).any()
            else np.nan,
        }
        for level in AREA_LEVELS:
            row[level] = sum(lv == level for lv in levels)
        row["n_families_q05"] = int((fam_q < q_threshold).sum())
        rows.append(row)
    areas = pd.DataFrame(rows)
    if areas.empty:
        return areas
    return areas.sort_values(["mean_abs_correlation", "area"], ascending=[False, True]).reset_index(
        drop=True
    )
