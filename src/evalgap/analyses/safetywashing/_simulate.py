"""Simulations that measure what the audit claims: how often each verdict is given when
the population correlation is known, and how often the intervals cover it.

Every simulated data set goes through :func:`evalgap.audit` itself. The capability
benchmarks are exact monotone transforms of a latent capability ``g``, so the capabilities
score ranks models exactly as ``g`` does (it is still re-estimated inside every resample)
and the target is known in closed form: for (safety, g) bivariate normal with Pearson
correlation ``r``, the population Spearman correlation is ``(6 / pi) arcsin(r / 2)``.
Many safety columns share one panel (each an independent draw of the safety score given
the panel's ``g``), so one audit simulates many data sets; the panels' ``g`` are drawn
afresh, so the rates average over the capability sample too.

With ``icc > 0`` models come in families of equal size, and a family effect is shared by
the capability and the safety score of every model of the family (each with that share of
its variance); the pair stays bivariate normal with correlation ``r`` across models, so the
target is unchanged, but models of one family are no longer independent draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from evalgap.analyses.safetywashing._audit import audit
from evalgap.data._panel import Panel
from evalgap.results._verdict import level_of

__all__ = [
    "coverage_table",
    "pearson_for_spearman",
    "simulate_audits",
    "simulated_panel",
    "verdict_rates",
]

#: Verdict outcomes tabulated by :func:`verdict_rates`, in column order.
OUTCOMES = ("high", "moderate", "weak", "tracks_weakly", "does_not_track", "not_determined")


def pearson_for_spearman(rho_s: float) -> float:
    """The bivariate-normal Pearson correlation whose population Spearman correlation is
    ``rho_s``: ``2 sin(pi rho_s / 6)``.

    Examples
    --------
    >>> round(pearson_for_spearman(0.5), 4)
    0.5176
    """
    return float(2.0 * np.sin(np.pi * rho_s / 6.0))


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
    fam = np.arange(n_models) // family_size
    n_fam = int(fam.max()) + 1

    def clustered(size: tuple[int, ...]) -> np.ndarray:
        shared = rng.normal(size=(n_fam, *size[1:]))[fam]
        return np.sqrt(icc) * shared + np.sqrt(1.0 - icc) * rng.normal(size=size)

    g = clustered((n_models,))
    caps = {"linear": g, "exp": np.exp(g), "cubic": g**3, "logistic": 1 / (1 + np.exp(-g))}
    columns: dict[str, np.ndarray] = dict(caps)
    for rho in rhos:
        r = pearson_for_spearman(rho)
        noise = clustered((n_models, reps))
        values = r * g[:, None] + np.sqrt(1.0 - r * r) * noise
        for k in range(reps):
            columns[f"{rho:g}#{k:04d}"] = values[:, k]
    ids = [f"m{i:03d}" for i in range(n_models)]
    models = pd.DataFrame({"family": [f"f{f:02d}" for f in fam]}, index=ids)
    return Panel.from_frames(
        pd.DataFrame(columns, index=ids), models=models, capabilities=list(caps)
    )


def simulate_audits(
    n_models: int,
    rhos: Sequence[float],
    *,
    panels: int,
    reps: int,
    n_boot: int = 1000,
    seed: int = 0,
    family_size: int = 1,
    icc: float = 0.0,
    audit_args: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Audit ``panels`` simulated panels and return one row per simulated data set:
    ``panel, rho`` (the population Spearman correlation), ``estimate, ci_low, ci_high,
    verdict, direction, strength`` and ``simultaneous_ci_low/high`` where asked for."""
    rows = []
    for p in range(panels):
        panel = simulated_panel(
            n_models, rhos, reps, seed + 7919 * p, family_size=family_size, icc=icc
        )
        result = audit(panel, n_boot=n_boot, n_perm=0, seed=seed + p, **dict(audit_args or {}))
        table = result.table
        frame = pd.DataFrame(
            {
                "panel": p,
                "rho": [float(b.split("#")[0]) for b in table["benchmark"]],
                "estimate": table["capabilities_correlation"].to_numpy(),
                "ci_low": table["ci_low"].to_numpy(),
                "ci_high": table["ci_high"].to_numpy(),
                "simultaneous_ci_low": table["simultaneous_ci_low"].to_numpy(),
                "simultaneous_ci_high": table["simultaneous_ci_high"].to_numpy(),
                "verdict": table["verdict"].to_numpy(),
                "direction": table["direction"].to_numpy(),
                "strength": table["strength"].to_numpy(),
            }
        )
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


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


def coverage_table(frame: pd.DataFrame, low: str = "ci_low", high: str = "ci_high") -> pd.DataFrame:
    """Coverage of the population rho per rho: ``rho, n, coverage, below`` (share of
    intervals entirely below the truth), ``above``, ``mean_width``."""
    rows = []
    for rho, group in frame.groupby("rho", sort=True):
        lo, hi = group[low].to_numpy(), group[high].to_numpy()
        rows.append(
            {
                "rho": rho,
                "n": len(group),
                "coverage": float(np.mean((lo <= rho) & (rho <= hi))),
                "below": float(np.mean(hi < rho)),
                "above": float(np.mean(lo > rho)),
                "mean_width": float(np.mean(hi - lo)),
            }
        )
    return pd.DataFrame(rows)
