"""Simulations that measure what the audit claims: how often each verdict is given when
the population correlation is known, and how often the intervals cover it.

A simulated data set has a latent capability ``g`` and a safety score bivariate normal
with it (Pearson ``r``); the target is the population Spearman correlation
``(6 / pi) arcsin(r / 2)``. When the capability benchmarks are exact monotone transforms
of ``g`` (as in :func:`simulated_panel`), the capabilities score ranks models exactly as
``g`` does in every resample, so the audit's Spearman correlations, bootstrap intervals,
equivalence p-values and verdicts are those of :func:`interval_evidence` run on ``g``
with the same resampling weights (``tests/test_coverage.py`` checks this equality against
:func:`evalgap.audit` itself). That makes thousands of independent data sets cheap:
:func:`simulate_verdicts` orders each data set's models by ``g``, so every data set shares
one reference (the ranks ``1..n``), and runs blocks of data sets through one set of matrix
products.

With ``icc > 0`` (:func:`simulate_family_coverage`) models come in families of equal size
and a family effect is shared by the capability and the safety score of every model of
the family (each with that share of its variance); the pair stays bivariate normal with
correlation ``r`` across models, so the target is unchanged, but models of one family are
no longer independent draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evalgap.analyses.safetywashing._verdicts import verdict_columns
from evalgap.data._panel import Panel
from evalgap.results._verdict import Bands, level_of
from evalgap.stats._correlate import CorrelationPlan
from evalgap.stats._equivalence import tost_pvalues
from evalgap.stats._family import group_bootstrap_weights, group_jackknife_weights
from evalgap.stats._resample import bootstrap_weights, confidence_intervals, jackknife_weights

__all__ = [
    "coverage_table",
    "interval_evidence",
    "pearson_for_spearman",
    "simulate_family_coverage",
    "simulate_verdicts",
    "simulated_panel",
    "verdict_rates",
]

FloatArray = NDArray[np.float64]

#: Verdict outcomes tabulated by :func:`verdict_rates`, in column order.
OUTCOMES = ("high", "moderate", "weak", "tracks_weakly", "does_not_track", "not_determined")
_BANDS = Bands()
# Data sets per block of :func:`simulate_verdicts` (bounds memory; each block has its own
# resampling weights).
_BLOCK = 250


def pearson_for_spearman(rho_s: float) -> float:
    """The bivariate-normal Pearson correlation whose population Spearman correlation is
    ``rho_s``: ``2 sin(pi rho_s / 6)``.

    Examples
    --------
    >>> round(pearson_for_spearman(0.5), 4)
    0.5176
    """
    return float(2.0 * np.sin(np.pi * rho_s / 6.0))


def interval_evidence(
    y: FloatArray,
    ref: FloatArray,
    weights: FloatArray,
    jack_weights: FloatArray | None,
    *,
    confidence_level: float = 0.95,
    ci_method: str = "bca",
    bands: Bands = _BANDS,
) -> pd.DataFrame:
    """The audit's evidence for the Spearman correlation of each column of ``y`` with
    ``ref`` under the given resampling weights: ``estimate, ci_low, ci_high,
    equivalence_p_value`` and the verdict columns, computed as :func:`evalgap.audit`
    computes them."""
    n = len(ref)
    plan = CorrelationPlan(y, ~np.isnan(ref), "spearman")
    rho = plan.correlations(ref, np.ones((1, n)))[0]
    boot = plan.correlations(ref, weights)
    jack = None if jack_weights is None else plan.correlations(ref, jack_weights)
    low, high, _, _ = confidence_intervals(
        boot, rho, jack, confidence_level=confidence_level, method=ci_method
    )
    equivalence = tost_pvalues(boot, rho, bands.moderate, jack, method=ci_method)  # type: ignore[arg-type]
    nan = np.full(len(rho), np.nan)
    verdicts = verdict_columns(
        rho,
        low,
        high,
        bands=bands,
        confidence_level=confidence_level,
        basis="interval",
        equivalence_p=equivalence,
        equivalence_q=nan,
        q_value=nan,
        sim_low=nan,
        sim_high=nan,
        sim_low_equiv=nan,
        sim_high_equiv=nan,
    )
    frame = pd.DataFrame(
        {"estimate": rho, "ci_low": low, "ci_high": high, "equivalence_p_value": equivalence}
    )
    return pd.concat([frame, verdicts], axis=1)


def simulated_panel(
    n_models: int,
    rhos: Sequence[float],
    reps: int,
    seed: int,
    *,
    family_size: int = 1,
    icc: float = 0.0,
) -> Panel:
    """A panel of four capability benchmarks (monotone transforms of ``g``) and, for every
    population Spearman correlation in ``rhos``, ``reps`` safety columns named
    ``"{rho}#{k}"``; models in families of ``family_size`` sharing an ``icc`` share of
    variance (see the module docstring)."""
    rng = np.random.default_rng(seed)
    g, values, fam = _draw(rng, n_models, rhos, reps, family_size, icc)
    caps = {"linear": g, "exp": np.exp(g), "cubic": g**3, "logistic": 1 / (1 + np.exp(-g))}
    columns: dict[str, np.ndarray] = dict(caps)
    for i, rho in enumerate(rhos):
        for k in range(reps):
            columns[f"{rho:g}#{k:04d}"] = values[:, i * reps + k]
    ids = [f"m{i:03d}" for i in range(n_models)]
    models = pd.DataFrame({"family": [f"f{f:02d}" for f in fam]}, index=ids)
    return Panel.from_frames(
        pd.DataFrame(columns, index=ids), models=models, capabilities=list(caps)
    )


def _draw(
    rng: np.random.Generator,
    n: int,
    rhos: Sequence[float],
    reps: int,
    family_size: int,
    icc: float,
) -> tuple[FloatArray, FloatArray, NDArray[np.intp]]:
    """``g`` (n,), safety scores (n, len(rhos) * reps) and family codes (n,)."""
    fam = np.arange(n) // family_size
    n_fam = int(fam.max()) + 1

    def clustered(shape: tuple[int, ...]) -> FloatArray:
        shared = rng.normal(size=(n_fam, *shape[1:]))[fam]
        return np.sqrt(icc) * shared + np.sqrt(1.0 - icc) * rng.normal(size=shape)

    g = clustered((n,))
    out = np.empty((n, len(rhos) * reps))
    for i, rho in enumerate(rhos):
        r = pearson_for_spearman(rho)
        out[:, i * reps : (i + 1) * reps] = r * g[:, None] + np.sqrt(1 - r * r) * clustered(
            (n, reps)
        )
    return g, out, fam


def simulate_verdicts(
    n_models: int,
    rhos: Sequence[float],
    *,
    datasets: int,
    n_boot: int = 1000,
    seed: int = 0,
    confidence_level: float = 0.95,
    ci_method: str = "bca",
) -> pd.DataFrame:
    """``datasets`` independent data sets per population rho (each its own ``g``), run
    through :func:`interval_evidence`; one row per data set with ``rho`` and the
    evidence columns."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(n_models, dtype=float)
    frames = []
    for rho in rhos:
        r = pearson_for_spearman(rho)
        for lo in range(0, datasets, _BLOCK):
            k = min(_BLOCK, datasets - lo)
            g = rng.normal(size=(n_models, k))
            y = r * g + np.sqrt(1.0 - r * r) * rng.normal(size=(n_models, k))
            # Each data set's models in the order of its own g: one shared reference.
            y = np.take_along_axis(y, np.argsort(g, axis=0), axis=0)
            w = bootstrap_weights(n_models, n_boot, rng)
            jack = jackknife_weights(n_models) if ci_method == "bca" else None
            ev = interval_evidence(
                y, ranks, w, jack, confidence_level=confidence_level, ci_method=ci_method
            )
            ev.insert(0, "rho", rho)
            frames.append(ev)
    return pd.concat(frames, ignore_index=True)


def simulate_family_coverage(
    n_models: int,
    rho: float,
    *,
    family_size: int,
    icc: float,
    panels: int,
    reps: int,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Coverage data with model families: ``panels`` draws of ``g`` (families and their
    effects), ``reps`` safety scores each, every one run with model and with family
    resampling (the same data). One row per data set and resampling unit."""
    rng = np.random.default_rng(seed)
    frames = []
    for p in range(panels):
        g, y, fam = _draw(rng, n_models, (rho,), reps, family_size, icc)
        for unit in ("models", "families"):
            if unit == "models":
                w = bootstrap_weights(n_models, n_boot, rng)
                jack = jackknife_weights(n_models)
            else:
                w = group_bootstrap_weights(fam, n_boot, rng)
                jack = group_jackknife_weights(fam)
            ev = interval_evidence(y, g, w, jack)
            ev.insert(0, "resample", unit)
            ev.insert(0, "panel", p)
            ev.insert(0, "rho", rho)
            frames.append(ev)
    return pd.concat(frames, ignore_index=True)


def _outcome(verdict: str) -> str:
    level = level_of(verdict)
    if level in ("high", "moderate", "weak"):
        return level
    if verdict.startswith("tracks capabilities weakly"):
        return "tracks_weakly"
    if verdict.startswith("does not track"):
        return "does_not_track"
    return "not_determined"


def verdict_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Share of data sets per verdict outcome, one row per population rho, with
    ``wrong_sign`` (a direction opposite to the true one, or any direction at rho = 0) and
    ``n`` (data sets)."""
    outcome = frame["verdict"].map(_outcome)
    rows = []
    for rho, idx in frame.groupby("rho", sort=True).groups.items():
        out = outcome.loc[idx]
        direction = frame.loc[idx, "direction"]
        row: dict[str, Any] = {"rho": rho, "n": len(idx)}
        for name in OUTCOMES:
            row[name] = float((out == name).mean())
        wrong = direction != "" if rho == 0 else direction == ("-" if rho > 0 else "+")
        row["wrong_sign"] = float(wrong.mean())
        rows.append(row)
    return pd.DataFrame(rows)


def coverage_table(
    frame: pd.DataFrame, low: str = "ci_low", high: str = "ci_high", by: str = "rho"
) -> pd.DataFrame:
    """Coverage of the population rho per group (default: per rho): ``n, coverage,
    below`` (share of intervals entirely below the truth), ``above``, ``mean_width``."""
    rows = []
    for key, group in frame.groupby(by, sort=True):
        lo, hi = group[low].to_numpy(), group[high].to_numpy()
        rho = group["rho"].to_numpy()
        rows.append(
            {
                by: key,
                "n": len(group),
                "coverage": float(np.mean((lo <= rho) & (rho <= hi))),
                "below": float(np.mean(hi < rho)),
                "above": float(np.mean(lo > rho)),
                "mean_width": float(np.mean(hi - lo)),
            }
        )
    return pd.DataFrame(rows)
