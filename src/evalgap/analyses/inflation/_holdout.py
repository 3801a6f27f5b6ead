"""The holdout gap (Zhang et al. 2024, GSM1k; Haimes et al. 2024, retro-holdouts).

The same model on a public test set and on an equivalent fresh set: a model that saw the
public items in training scores higher on them. Per model, the public-minus-holdout gap
with a bootstrap interval over items (one resample of item ids for both sets where the
items are matched, independent resamples otherwise), a one-sided p-value for ``gap > 0``
and q-values across models; and the correlation of the gap with a memorisation signal
(GSM1k: the mean per-character log-likelihood of the public set under each model), with a
BCa interval from resampling models and a permutation p-value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

from evalgap._params import CONFIDENCE, N_PERMUTATIONS, SEED, StrOptions, validate_params
from evalgap.analyses.inflation._common import (
    BLOCK,
    PROBABILITY,
    ROUNDS,
    Progress,
    basic_summary,
    inflation_verdicts,
    item_counts,
)
from evalgap.analyses.inflation._inputs import BenchmarkScores, benchmark_scores, scores_for
from evalgap.errors import AnalysisError, InputError
from evalgap.results import Provenance, Result
from evalgap.stats import (
    CORRELATION_METHODS,
    bootstrap_weights,
    confidence_intervals,
    correlations,
    jackknife_weights,
    permutation_pvalues,
)

__all__ = ["HoldoutResult", "holdout_gap"]

FloatArray = NDArray[np.float64]

#: Fewest models for a correlation with an interval.
MIN_MODELS = 5


@dataclass(frozen=True, kw_only=True, eq=False)
class HoldoutResult(Result):
    """What :func:`holdout_gap` found.

    Attributes
    ----------
    table
        One row per model: ``model, public, public_se, holdout, holdout_se, estimate``
        (public minus holdout), ``ci_low, ci_high, p_value`` (one-sided, gap > 0),
        ``q_value, q_value_by, n, n_holdout, paired, signal, verdict``; sorted by gap.
    correlation
        One row (empty without a signal): ``signal, method, estimate, ci_low, ci_high,
        p_value`` (two-sided permutation), ``r_squared, n, verdict, note``.
    """

    analysis: ClassVar[str] = "inflation-holdout"
    schema_version: ClassVar[int] = 1
    tables: ClassVar[Mapping[str, str]] = {"models": "table", "correlation": "correlation"}

    table: pd.DataFrame
    correlation: pd.DataFrame

    def model(self, model: str) -> pd.Series:
        """The table row of one model."""
        rows = self.table[self.table["model"] == model]
        if rows.empty:
            raise AnalysisError(f"model {model!r} has no gap")
        return rows.iloc[0]


def _signal_series(memorisation: Any, source: str) -> pd.Series:
    if isinstance(memorisation, pd.Series):
        series = memorisation.copy()
    elif isinstance(memorisation, pd.DataFrame):
        if "model" not in memorisation.columns or memorisation.shape[1] != 2:
            raise InputError(
                "a memorisation signal table needs two columns: model and the signal",
                source=source,
            )
        value = next(c for c in memorisation.columns if c != "model")
        series = memorisation.set_index("model")[value]
    elif isinstance(memorisation, Mapping):
        series = pd.Series(dict(memorisation))
    else:
        raise InputError(
            f"memorisation signal must be a Series, a mapping or a table, got {type(memorisation).__name__}",
            source=source,
        )
    series.index = series.index.astype(str)
    if series.index.duplicated().any():
        raise InputError(
            f"model {series.index[series.index.duplicated()][0]!r} has more than one signal value",
            source=source,
        )
    values = pd.to_numeric(series, errors="coerce").astype(float)
    if values.isna().any():
        raise InputError(
            f"signal of model {values.index[values.isna()][0]!r} is not a number", source=source
        )
    return values


def _gap_frame(data: pd.DataFrame, source: str) -> pd.DataFrame:
    missing = [c for c in ("model", "gap") if c not in data.columns]
    if missing:
        raise InputError(f"a gap table needs a {missing[0]!r} column", source=source)
    frame = pd.DataFrame({"model": data["model"].astype(str)})
    frame["gap"] = pd.to_numeric(data["gap"], errors="coerce").astype(float)
    frame["gap_se"] = (
        pd.to_numeric(data["gap_se"], errors="coerce").astype(float)
        if "gap_se" in data.columns
        else np.nan
    )
    bad = np.flatnonzero(~np.isfinite(frame["gap"].to_numpy()))
    if len(bad):
        raise InputError(
            f"gap of model {frame['model'].iloc[bad[0]]!r} is not a number",
            source=source,
            where=f"row {bad[0] + 1}",
        )
    frame = frame.drop_duplicates()
    if frame["model"].duplicated().any():
        raise InputError(
            f"model {frame['model'][frame['model'].duplicated()].iloc[0]!r} has two different gaps",
            source=source,
        )
    return frame


def _item_gaps(
    pub: BenchmarkScores,
    hold: BenchmarkScores,
    paired: bool,
    n_boot: int,
    rng: np.random.Generator,
    progress: Progress | None,
) -> FloatArray:
    """(n_boot, models) bootstrap gaps over items."""
    assert pub.items is not None and hold.items is not None
    out = np.empty((n_boot, pub.items.shape[0]))
    n_p, n_h = pub.items.shape[1], hold.items.shape[1]
    for lo in range(0, n_boot, BLOCK):
        rounds = min(BLOCK, n_boot - lo)
        c_p = item_counts(n_p, rounds, rng)
        c_h = c_p if paired else item_counts(n_h, rounds, rng)
        out[lo : lo + rounds] = c_p @ pub.items.T / n_p - c_h @ hold.items.T / n_h
        if progress is not None:
            progress(lo + rounds, n_boot)
    return out


def _normal_rows(gap: FloatArray, se: FloatArray, confidence_level: float) -> dict[str, FloatArray]:
    z = ndtri(1.0 - (1.0 - confidence_level) / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(se > 0, 1.0 - ndtr(gap / se), np.where(gap > 0, 0.0, 1.0))
    p = np.where(np.isfinite(se), p, np.nan)
    return {"ci_low": gap - z * se, "ci_high": gap + z * se, "p_value": p}


def _correlation_row(
    gap: FloatArray,
    signal: FloatArray,
    name: str,
    method: str,
    n_boot: int,
    n_perm: int,
    confidence_level: float,
    rng: np.random.Generator,
) -> dict[str, Any]:
    n = len(gap)
    y = gap[:, None]
    estimate = float(correlations(y, signal, method=method)[0, 0])
    row: dict[str, Any] = {
        "signal": name,
        "method": method,
        "estimate": estimate,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_value": np.nan,
        "r_squared": estimate**2,
        "n": n,
        "verdict": "",
        "note": "",
    }
    boot = correlations(y, signal, bootstrap_weights(n, n_boot, rng), method=method)
    jack = correlations(y, signal, jackknife_weights(n), method=method)
    low, high, _, notes = confidence_intervals(
        boot, np.array([estimate]), jack, confidence_level=confidence_level, method="bca"
    )
    row["ci_low"], row["ci_high"], row["note"] = float(low[0]), float(high[0]), notes[0]
    row["p_value"] = float(
        permutation_pvalues(y, signal, np.array([estimate]), method=method, n_perm=n_perm, rng=rng)[
            0
        ]
    )
    if np.isfinite(row["ci_low"]) and row["ci_low"] > 0:
        row["verdict"] = "the gap rises with the memorisation signal"
    elif np.isfinite(row["ci_high"]) and row["ci_high"] < 0:
        row["verdict"] = "the gap falls as the memorisation signal rises"
    else:
        row["verdict"] = "no association shown"
    return row


@validate_params(
    {
        "method": [StrOptions(CORRELATION_METHODS)],
        "n_boot": ROUNDS,
        "n_perm": N_PERMUTATIONS,
        "confidence_level": CONFIDENCE,
        "alpha": PROBABILITY,
        "seed": SEED,
    }
)
def holdout_gap(
    data: Any,
    *,
    public: str | None = None,
    holdout: str | None = None,
    models: Iterable[str] | None = None,
    memorisation: Any = None,
    signal_name: str = "memorisation signal",
    paired: bool | None = None,
    method: str = "spearman",
    n_boot: int = 10_000,
    n_perm: int = 10_000,
    confidence_level: float = 0.95,
    alpha: float = 0.05,
    seed: int = 0,
    inputs: Mapping[str, str] | None = None,
    source: str = "scores",
    progress: Progress | None = None,
) -> HoldoutResult:
    """Per-model public-minus-holdout gap, and its correlation with a memorisation signal.

    Parameters
    ----------
    data
        Per-item records (``model, benchmark, item, score``) or aggregates with standard
        errors (``model, benchmark, score, stderr``) holding the ``public`` and
        ``holdout`` benchmarks; or a table of gaps (``model, gap`` and optionally
        ``gap_se``), as GSM1k publishes them.
    public, holdout
        The two benchmarks (not needed for a table of gaps).
    models
        Models to report; default every model with both scores.
    memorisation
        A signal per model (Series or mapping model -> value, or a two-column table):
        higher means more memorised (GSM1k: log-likelihood of the public set).
    signal_name
        Name of the signal in the output.
    paired
        Resample matched items together; default: when the two sets have the same item
        ids. Per-item input only.
    method
        ``spearman`` (default), ``pearson`` or ``kendall`` for the correlation.
    n_boot
        Bootstrap resamples (of items for the gaps, of models for the correlation).
    n_perm
        Permutations for the correlation's p-value.
    confidence_level
        Of the intervals.
    alpha
        The q-value below which a gap is reported as inflation.
    seed, inputs, source, progress
        Seed; sha256 of input files for the provenance; name of the input in errors;
        progress callback (resamples done, resamples in all).

    Examples
    --------
    >>> import pandas as pd
    >>> gaps = pd.DataFrame({"model": list("abcdefg"),
    ...                      "gap": [0.0, 0.01, 0.03, 0.02, 0.06, 0.08, 0.1]})
    >>> signal = dict(zip("abcdefg", [-0.9, -0.8, -0.75, -0.7, -0.6, -0.5, -0.45]))
    >>> result = holdout_gap(gaps, memorisation=signal, n_boot=1000, n_perm=1000)
    >>> round(float(result.correlation["estimate"].iloc[0]), 2)
    0.96
    """
    rng = np.random.default_rng(seed)
    if isinstance(data, pd.DataFrame) and "gap" in data.columns:
        table, kind = _from_gaps(data, models, confidence_level, source), "gaps"
        used_paired = False
    else:
        if public is None or holdout is None:
            raise AnalysisError("name the public and the holdout benchmark (public=, holdout=)")
        if public == holdout:
            raise AnalysisError("the public and the holdout benchmark must differ")
        kind, rows = scores_for(data, [public, holdout], source)
        both = set(rows[public]["model"].unique()) & set(rows[holdout]["model"].unique())
        # Canonical (sorted) order, so the order of the input rows changes nothing.
        chosen = sorted(both) if models is None else sorted(dict.fromkeys(str(m) for m in models))
        absent = [m for m in chosen if m not in both]
        if absent:
            raise AnalysisError(f"model {absent[0]!r} lacks a score on {public!r} or {holdout!r}")
        if not chosen:
            raise AnalysisError(f"no model has scores on both {public!r} and {holdout!r}")
        pub = benchmark_scores(kind, rows[public], public, chosen, source)
        hold = benchmark_scores(kind, rows[holdout], holdout, chosen, source)
        table, used_paired = _from_scores(
            pub, hold, kind, paired, n_boot, confidence_level, rng, progress
        )
    verdicts = inflation_verdicts(table["p_value"].to_numpy(dtype=float), alpha)
    for key, value in verdicts.items():
        table[key] = value
    table.loc[table["p_value"].isna(), "verdict"] = "not tested (no standard error)"

    correlation = pd.DataFrame(
        columns=[
            "signal",
            "method",
            "estimate",
            "ci_low",
            "ci_high",
            "p_value",
            "r_squared",
            "n",
            "verdict",
            "note",
        ]
    )
    if memorisation is not None:
        signal = _signal_series(memorisation, "memorisation signal")
        table["signal"] = table["model"].map(signal).astype(float)
        use = table["signal"].notna().to_numpy()
        if use.sum() < MIN_MODELS:
            raise AnalysisError(
                f"only {int(use.sum())} models have both a gap and a memorisation signal "
                f"(at least {MIN_MODELS} are needed)"
            )
        row = _correlation_row(
            table.loc[use, "estimate"].to_numpy(dtype=float),
            table.loc[use, "signal"].to_numpy(dtype=float),
            signal_name,
            method,
            n_boot,
            n_perm,
            confidence_level,
            rng,
        )
        correlation = pd.DataFrame([row])
        correlation["n"] = correlation["n"].astype(np.int64)
    else:
        table["signal"] = np.nan
    columns = [
        "model", "public", "public_se", "holdout", "holdout_se", "estimate", "ci_low",
        "ci_high", "p_value", "q_value", "q_value_by", "n", "n_holdout", "paired", "signal",
        "verdict",
    ]  # fmt: skip
    table = table[columns].sort_values(
        ["estimate", "model"], ascending=[False, True], kind="stable"
    )
    settings = {
        "public": public,
        "holdout": holdout,
        "input": kind,
        "paired": used_paired,
        "method": method,
        "signal": signal_name if memorisation is not None else None,
        "n_boot": n_boot,
        "n_perm": n_perm,
        "confidence_level": confidence_level,
        "alpha": alpha,
        "seed": seed,
        "interval": "basic bootstrap over items" if kind == "items" else "normal (standard errors)",
        "correlation_interval": "BCa bootstrap over models",
    }
    return HoldoutResult(
        table=table.reset_index(drop=True),
        correlation=correlation,
        settings=settings,
        provenance=Provenance(inputs=dict(inputs or {}), seed=seed),
    )


def _from_gaps(
    data: pd.DataFrame, models: Iterable[str] | None, confidence_level: float, source: str
) -> pd.DataFrame:
    frame = _gap_frame(data, source)
    if models is not None:
        chosen = list(dict.fromkeys(str(m) for m in models))
        absent = [m for m in chosen if m not in set(frame["model"].unique())]
        if absent:
            raise AnalysisError(f"model {absent[0]!r} has no gap", source=source)
        frame = frame.set_index("model").loc[chosen].reset_index()
    frame = frame.sort_values("model", kind="stable").reset_index(drop=True)
    gap = frame["gap"].to_numpy(dtype=float)
    se = frame["gap_se"].to_numpy(dtype=float)
    rows = _normal_rows(gap, se, confidence_level)
    nan = np.full(len(frame), np.nan)
    return pd.DataFrame(
        {
            "model": frame["model"],
            "public": nan,
            "public_se": nan,
            "holdout": nan,
            "holdout_se": nan,
            "estimate": gap,
            **rows,
            "n": nan,
            "n_holdout": nan,
            "paired": False,
        }
    )


def _from_scores(
    pub: BenchmarkScores,
    hold: BenchmarkScores,
    kind: str,
    paired: bool | None,
    n_boot: int,
    confidence_level: float,
    rng: np.random.Generator,
    progress: Progress | None,
) -> tuple[pd.DataFrame, bool]:
    gap = pub.mean - hold.mean
    if kind == "items":
        matched = set(pub.item_ids) == set(hold.item_ids)
        if paired and not matched:
            raise AnalysisError(
                "paired=True needs the same item ids in the public and the holdout set"
            )
        use_paired = matched if paired is None else bool(paired)
        if use_paired:
            order = {item: j for j, item in enumerate(hold.item_ids)}
            cols = np.array([order[i] for i in pub.item_ids])
            assert hold.items is not None
            hold = BenchmarkScores(
                benchmark=hold.benchmark,
                models=hold.models,
                items=hold.items[:, cols],
                item_ids=pub.item_ids,
                mean=hold.mean,
                se=hold.se,
                n=hold.n,
            )
        boot = _item_gaps(pub, hold, use_paired, n_boot, rng, progress)
        summary = basic_summary(boot, confidence_level, one_sided=confidence_level, estimate=gap)
        rows = {k: summary[k] for k in ("ci_low", "ci_high", "p_value")}
    else:
        if paired:
            raise AnalysisError("paired=True needs per-item scores")
        use_paired = False
        rows = _normal_rows(gap, np.sqrt(pub.se**2 + hold.se**2), confidence_level)
    return (
        pd.DataFrame(
            {
                "model": list(pub.models),
                "public": pub.mean,
                "public_se": pub.se,
                "holdout": hold.mean,
                "holdout_se": hold.se,
                "estimate": gap,
                **rows,
                "n": pub.n,
                "n_holdout": hold.n,
                "paired": use_paired,
            }
        ),
        use_paired,
    )
