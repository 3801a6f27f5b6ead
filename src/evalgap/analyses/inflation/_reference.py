"""The reference-model test (ConStat; Dekoninck et al. 2024, arXiv:2405.16281).

Across uncontaminated reference models, accuracy on a benchmark D is a monotone function
of accuracy on a reference benchmark D_ref of the same skill (a rephrase, a synthetic
twin, or another benchmark). A model that scores higher on D than its D_ref accuracy
predicts has an inflated score. Per bootstrap round the test resamples the items of D and
of D_ref (every model on the same resampled items), resamples the reference models (at
least 5 distinct), adds a random-guess model at chance plus binomial noise, fits a
monotone smoothing spline of D on D_ref accuracy through the references (smoothing by
GCV, anchored at (0, 0) and (1, 1) with a tiny weight), and takes each tested model's
accuracy on D minus the fit at its D_ref accuracy. The mean over rounds is the inflation
(in accuracy points), with basic-bootstrap interval, lower bound and p-value as in ConStat.

Differences from ConStat's code, on purpose: a tested model is never one of its own
references (ConStat's run script passes the full reference list when it tests a reference
model); every round and every tested model goes through one set of array operations
(ConStat fits one spline per round in Python); the spline is made monotone by rearranging
the fit (ConStat sorts the two accuracy lists independently before fitting); resampled
reference models keep their multiplicity as weights (ConStat drops repeats); and
aggregate scores with standard errors are accepted (rounds draw each accuracy from its
normal sampling distribution, independently across models, since the item pairing is
unknown).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evalgap._params import CONFIDENCE, SEED, Interval, validate_params
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
from evalgap.analyses.inflation._models import default_references
from evalgap.errors import AnalysisError
from evalgap.results import Provenance, Result
from evalgap.stats import GCV_GAMMA, monotone_smoothing_splines

__all__ = ["ReferenceTestResult", "reference_test"]

FloatArray = NDArray[np.float64]

#: Fewest distinct reference models in a round (ConStat's rule).
MIN_REFERENCES = 5
#: Relative weight of the anchors at (0, 0) and (1, 1).
ANCHOR_WEIGHT = 1e-8
#: Points of each fit's rearrangement grid, and the grid the fitted curve is reported on.
_GRID = 129
_CURVE = np.linspace(0.0, 1.0, 101)
#: Rounds the reported curve and its band come from (the first ones): it is drawn, not tested.
_CURVE_ROUNDS = 2_000


@dataclass(frozen=True, kw_only=True, eq=False)
class ReferenceTestResult(Result):
    """What :func:`reference_test` found.

    Attributes
    ----------
    table
        One row per tested model: ``model, is_reference, accuracy, accuracy_se,
        accuracy_ref, accuracy_ref_se, predicted, predicted_ci_low, predicted_ci_high,
        estimate`` (inflation: accuracy minus predicted, mean over rounds), ``ci_low,
        ci_high, lower_bound`` (one-sided, at the confidence level), ``delta_sd, p_value,
        q_value, q_value_by, n, n_ref, n_references, verdict, note``; sorted by p-value.
    references
        One row per reference model: ``model, accuracy, accuracy_se, accuracy_ref,
        accuracy_ref_se``.
    curve
        The fit through all references on a grid of D_ref accuracy: ``x, fit, fit_low,
        fit_high`` (mean and central interval of the monotone fits over the first 2,000
        rounds; it is drawn, not tested).
    """

    analysis: ClassVar[str] = "inflation-reference"
    schema_version: ClassVar[int] = 1
    tables: ClassVar[Mapping[str, str]] = {
        "models": "table",
        "references": "references",
        "curve": "curve",
    }

    table: pd.DataFrame
    references: pd.DataFrame
    curve: pd.DataFrame

    def model(self, model: str) -> pd.Series:
        """The table row of one tested model."""
        rows = self.table[self.table["model"] == model]
        if rows.empty:
            raise AnalysisError(f"model {model!r} was not tested")
        return rows.iloc[0]


# -- choosing models -------------------------------------------------------------------------


def _choose(
    present: list[str], references: Iterable[str] | None, models: Iterable[str] | None
) -> tuple[list[str], list[str], str]:
    # Canonical (sorted) order, so the order of the input rows changes nothing.
    present = sorted(present)
    if references is None:
        refs = default_references(present)
        rule = "well-known base models present (evalgap.analyses.inflation.WELL_KNOWN_BASE_MODELS)"
    else:
        refs = sorted(dict.fromkeys(str(r) for r in references))
        unknown = [r for r in refs if r not in present]
        if unknown:
            raise AnalysisError(f"reference model {unknown[0]!r} has no scores on both benchmarks")
        rule = "named"
    if len(refs) < MIN_REFERENCES:
        raise AnalysisError(
            f"the test needs at least {MIN_REFERENCES} reference models with scores on both "
            f"benchmarks, got {len(refs)}"
            + (
                " (the well-known base models present; name them with references=)"
                if references is None
                else ""
            )
        )
    if models is None:
        tested = list(present)
    else:
        tested = sorted(dict.fromkeys(str(m) for m in models))
        unknown = [m for m in tested if m not in present]
        if unknown:
            raise AnalysisError(f"tested model {unknown[0]!r} has no scores on both benchmarks")
    if not tested:
        raise AnalysisError("no model to test")
    return refs, tested, rule


# -- one block of rounds ---------------------------------------------------------------------


def _model_counts(m: int, rounds: int, rng: np.random.Generator) -> FloatArray:
    """(rounds, m) counts of m reference models resampled with replacement, redrawn until
    each round has at least MIN_REFERENCES distinct models; all ones when m is the minimum."""
    if m <= MIN_REFERENCES:
        return np.ones((rounds, m))
    counts = item_counts(m, rounds, rng)
    bad = np.flatnonzero((counts > 0).sum(axis=1) < MIN_REFERENCES)
    while len(bad):
        counts[bad] = item_counts(m, len(bad), rng)
        bad = bad[(counts[bad] > 0).sum(axis=1) < MIN_REFERENCES]
    return counts


def _accuracies(scores: BenchmarkScores, rounds: int, rng: np.random.Generator) -> FloatArray:
    """(rounds, models) accuracies on resampled items, or drawn from N(mean, se^2) and
    clipped to [0, 1] for aggregates."""
    if scores.items is not None:
        counts = item_counts(scores.items.shape[1], rounds, rng)
        return counts @ scores.items.T / scores.items.shape[1]
    draws = scores.mean[None, :] + scores.se[None, :] * rng.standard_normal(
        (rounds, len(scores.mean))
    )
    return np.clip(draws, 0.0, 1.0)


def _random_point(
    chance: float, n_items: float, rounds: int, rng: np.random.Generator
) -> FloatArray:
    """A random-guessing model's accuracy per round: chance plus binomial noise."""
    noise = rng.standard_normal(rounds)
    if not np.isfinite(n_items) or n_items <= 0:
        return np.full(rounds, chance)
    return chance + noise * np.sqrt(chance * (1.0 - chance) / n_items)


@dataclass(frozen=True)
class _Plan:
    """Index bookkeeping: which rows of the score arrays are references, which tested
    models share which fit."""

    refs: NDArray[np.intp]  # rows of the reference models
    tested: NDArray[np.intp]  # rows of the tested models
    group: NDArray[np.intp]  # fit group of each tested model (0: all references)
    left_out: list[int]  # group g > 0 leaves out reference left_out[g - 1]


def _plan(all_models: list[str], refs: list[str], tested: list[str]) -> _Plan:
    row = {m: i for i, m in enumerate(all_models)}
    ref_pos = {m: j for j, m in enumerate(refs)}
    left_out: list[int] = []
    group = np.zeros(len(tested), dtype=np.intp)
    for t, model in enumerate(tested):
        if model in ref_pos:
            left_out.append(ref_pos[model])
            group[t] = len(left_out)
    return _Plan(
        refs=np.array([row[m] for m in refs], dtype=np.intp),
        tested=np.array([row[m] for m in tested], dtype=np.intp),
        group=group,
        left_out=left_out,
    )


def _block(
    plan: _Plan,
    d: BenchmarkScores,
    d_ref: BenchmarkScores,
    chance: float,
    chance_ref: float,
    rounds: int,
    rng: np.random.Generator,
    curve_rounds: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Deltas (rounds, tested), predictions (rounds, tested) and the all-reference curve
    (up to ``curve_rounds`` rows, len(_CURVE)) of one block of rounds."""
    acc = _accuracies(d, rounds, rng)
    acc_ref = _accuracies(d_ref, rounds, rng)
    rand_x = _random_point(chance_ref, d_ref.n_items(), rounds, rng)
    rand_y = _random_point(chance, d.n_items(), rounds, rng)
    m = len(plan.refs)
    weights = [np.concatenate([_model_counts(m, rounds, rng), np.ones((rounds, 1))], axis=1)]
    for j in plan.left_out:
        others = np.delete(np.arange(m), j)
        w = np.zeros((rounds, m + 1))
        w[:, others] = _model_counts(m - 1, rounds, rng)
        w[:, m] = 1.0
        weights.append(w)
    n_groups = len(weights)
    x = np.concatenate([acc_ref[:, plan.refs], rand_x[:, None]], axis=1)
    y = np.concatenate([acc[:, plan.refs], rand_y[:, None]], axis=1)
    fits = monotone_smoothing_splines(
        np.tile(x, (n_groups, 1)),
        np.tile(y, (n_groups, 1)),
        np.concatenate(weights, axis=0),
        grid_size=_GRID,
        gamma=GCV_GAMMA,
        anchors=((0.0, 0.0), (1.0, 1.0)),
        anchor_weight=ANCHOR_WEIGHT,
    )
    # Row r of group g is fit number g * rounds + r.
    rows = plan.group[None, :] * rounds + np.arange(rounds)[:, None]  # (rounds, tested)
    predicted = np.clip(fits.at(rows, acc_ref[:, plan.tested]), 0.0, 1.0)
    delta = acc[:, plan.tested] - predicted
    if curve_rounds <= 0:
        return delta, predicted, np.empty((0, len(_CURVE)))
    curve = np.clip(fits.subset(slice(0, min(rounds, curve_rounds)))(_CURVE[None, :]), 0.0, 1.0)
    return delta, predicted, curve


# -- the test --------------------------------------------------------------------------------


@validate_params(
    {
        "n_boot": ROUNDS,
        "confidence_level": CONFIDENCE,
        "alpha": PROBABILITY,
        "chance": [Interval(Real, 0, 1, closed="left")],
        "chance_reference": [Interval(Real, 0, 1, closed="left"), None],
        "margin": [Interval(Real, -1, 1, closed="neither")],
        "seed": SEED,
    }
)
def reference_test(
    data: Any,
    *,
    benchmark: str,
    reference_benchmark: str,
    models: Iterable[str] | None = None,
    references: Iterable[str] | None = None,
    chance: float = 0.0,
    chance_reference: float | None = None,
    n_boot: int = 10_000,
    confidence_level: float = 0.95,
    alpha: float = 0.05,
    margin: float = 0.0,
    seed: int = 0,
    inputs: Mapping[str, str] | None = None,
    source: str = "scores",
    progress: Progress | None = None,
) -> ReferenceTestResult:
    """Test each model for an inflated score on ``benchmark`` against reference models.

    Parameters
    ----------
    data
        Per-item records (columns ``model, benchmark, item, score``, as
        :func:`evalgap.io.import_results` gives in ``.items``), aggregates with standard
        errors (columns ``model, benchmark, score, stderr`` and optionally ``n``, as in
        ``.records``), or an :class:`~evalgap.io.ImportResult` (its items if it has them).
    benchmark
        The benchmark D whose scores may be inflated.
    reference_benchmark
        The reference benchmark D_ref of the same skill.
    models
        Models to test; default every model with scores on both benchmarks.
    references
        Reference models, by id; default the well-known base models present
        (:data:`~evalgap.analyses.inflation.WELL_KNOWN_BASE_MODELS`). A tested model is
        always left out of its own references. At least 5 are needed.
    chance
        Accuracy of random guessing on D (0.25 for four-option multiple choice).
    chance_reference
        Accuracy of random guessing on D_ref; default ``chance``.
    n_boot
        Bootstrap rounds.
    confidence_level
        Of the two-sided intervals; the lower bound is one-sided at this level.
    alpha
        The q-value below which inflation is reported.
    margin
        Inflation (in accuracy, 0-1) tested against: ``H0: delta <= margin``.
    seed
        Seed of the random generator: the same seed gives the same numbers.
    inputs
        sha256 of the input files, by path, for the provenance.
    source
        Name of the input in error messages.
    progress
        Called with (rounds done, rounds in all) after each block of rounds.

    Returns
    -------
    ReferenceTestResult

    Examples
    --------
    >>> import pandas as pd
    >>> rows = []
    >>> for i, skill in enumerate([0.2, 0.3, 0.4, 0.5, 0.6, 0.7]):
    ...     for bench, shift in (("D", 0.0), ("D_ref", 0.05)):
    ...         rows.append((f"ref-{i}", bench, skill + shift, 0.01))
    >>> rows += [("tested", "D", 0.75, 0.01), ("tested", "D_ref", 0.5, 0.01)]
    >>> data = pd.DataFrame(rows, columns=["model", "benchmark", "score", "stderr"])
    >>> result = reference_test(data, benchmark="D", reference_benchmark="D_ref",
    ...                         models=["tested"], references=[f"ref-{i}" for i in range(6)],
    ...                         n_boot=500)
    >>> row = result.model("tested")
    >>> round(float(row["estimate"]), 1), row["verdict"]
    (0.3, 'inflation detected (q < 0.05)')
    """
    chance = float(chance)
    chance_ref = chance if chance_reference is None else float(chance_reference)
    if benchmark == reference_benchmark:
        raise AnalysisError("benchmark and reference_benchmark must differ")

    kind, rows = scores_for(data, [benchmark, reference_benchmark], source)
    both = set(rows[benchmark]["model"].unique()) & set(rows[reference_benchmark]["model"].unique())
    present = [m for m in pd.unique(rows[benchmark]["model"]) if m in both]
    refs, tested, rule = _choose(present, references, models)
    all_models = sorted(set(refs) | set(tested))
    d = benchmark_scores(kind, rows[benchmark], benchmark, all_models, source)
    d_ref = benchmark_scores(
        kind, rows[reference_benchmark], reference_benchmark, all_models, source
    )
    plan = _plan(all_models, refs, tested)
    too_few = len(refs) - 1 < MIN_REFERENCES
    if too_few and plan.left_out:
        # A reference cannot be tested against the others when fewer than 5 would remain.
        keep = plan.group == 0
        skipped = [tested[i] for i in np.flatnonzero(~keep)]
        tested = [tested[i] for i in np.flatnonzero(keep)]
        if not tested:
            raise AnalysisError(
                f"every tested model is a reference, and with {len(refs)} references fewer "
                f"than {MIN_REFERENCES} would remain without it"
            )
        plan = _plan(all_models, refs, tested)
    else:
        skipped = []

    rng = np.random.default_rng(seed)
    deltas = np.empty((n_boot, len(tested)))
    preds = np.empty((n_boot, len(tested)))
    curves = []
    for lo in range(0, n_boot, BLOCK):
        rounds = min(BLOCK, n_boot - lo)
        wanted = max(0, _CURVE_ROUNDS - lo)
        delta, pred, curve = _block(plan, d, d_ref, chance, chance_ref, rounds, rng, wanted)
        deltas[lo : lo + rounds] = delta
        preds[lo : lo + rounds] = pred
        curves.append(curve)
        if progress is not None:
            progress(lo + rounds, n_boot)

    table = _model_table(
        tested, refs, plan, d, d_ref, deltas, preds, confidence_level, alpha, margin, skipped
    )
    settings = {
        "benchmark": benchmark,
        "reference_benchmark": reference_benchmark,
        "input": "per-item" if kind == "items" else "aggregates",
        "references": refs,
        "reference_rule": rule,
        "chance": chance,
        "chance_reference": chance_ref,
        "n_boot": n_boot,
        "confidence_level": confidence_level,
        "alpha": alpha,
        "margin": margin,
        "seed": seed,
        "min_references": MIN_REFERENCES,
        "spline": {
            "smoothing": "GCV",
            "gcv_gamma": GCV_GAMMA,
            "monotone": "rearrangement over the references' range, linear beyond",
            "grid": _GRID,
            "anchors": [[0.0, 0.0], [1.0, 1.0]],
            "anchor_weight": ANCHOR_WEIGHT,
        },
        "n_items": d.n_items(),
        "n_items_reference": d_ref.n_items(),
        "dropped_items": d.dropped_items,
        "dropped_items_reference": d_ref.dropped_items,
        "not_tested": skipped,
    }
    alpha_band = (1.0 - confidence_level) / 2.0
    curves = np.concatenate(curves, axis=0)
    curve = pd.DataFrame(
        {
            "x": _CURVE,
            "fit": curves.mean(axis=0),
            "fit_low": np.quantile(curves, alpha_band, axis=0),
            "fit_high": np.quantile(curves, 1.0 - alpha_band, axis=0),
        }
    )
    ref_rows = plan.refs
    references_table = pd.DataFrame(
        {
            "model": refs,
            "accuracy": d.mean[ref_rows],
            "accuracy_se": d.se[ref_rows],
            "accuracy_ref": d_ref.mean[ref_rows],
            "accuracy_ref_se": d_ref.se[ref_rows],
        }
    )
    return ReferenceTestResult(
        table=table,
        references=references_table,
        curve=curve,
        settings=settings,
        provenance=Provenance(inputs=dict(inputs or {}), seed=seed),
    )


def _model_table(
    tested: list[str],
    refs: list[str],
    plan: _Plan,
    d: BenchmarkScores,
    d_ref: BenchmarkScores,
    deltas: FloatArray,
    preds: FloatArray,
    confidence_level: float,
    alpha: float,
    margin: float,
    skipped: list[str],
) -> pd.DataFrame:
    summary = basic_summary(deltas, confidence_level, one_sided=confidence_level, margin=margin)
    pred = basic_summary(preds, confidence_level, one_sided=confidence_level)
    verdicts = inflation_verdicts(summary["p_value"], alpha)
    rows = plan.tested
    ref_x = d_ref.mean[plan.refs]
    x = d_ref.mean[rows]
    outside = (x < ref_x.min()) | (x > ref_x.max())
    n_refs = np.where(plan.group == 0, len(refs), len(refs) - 1)
    table = pd.DataFrame(
        {
            "model": tested,
            "is_reference": plan.group > 0,
            "accuracy": d.mean[rows],
            "accuracy_se": d.se[rows],
            "accuracy_ref": x,
            "accuracy_ref_se": d_ref.se[rows],
            "predicted": pred["estimate"],
            "predicted_ci_low": pred["ci_low"],
            "predicted_ci_high": pred["ci_high"],
            "estimate": summary["estimate"],
            "ci_low": summary["ci_low"],
            "ci_high": summary["ci_high"],
            "lower_bound": summary["lower_bound"],
            "delta_sd": summary["sd"],
            "p_value": summary["p_value"],
            "q_value": verdicts["q_value"],
            "q_value_by": verdicts["q_value_by"],
            "n": np.full(len(tested), d.n_items()),
            "n_ref": np.full(len(tested), d_ref.n_items()),
            "n_references": n_refs.astype(np.int64),
            "verdict": verdicts["verdict"],
            "note": np.where(
                outside,
                "outside the references' range on the reference benchmark: extrapolated",
                "",
            ),
        }
    )
    if skipped:
        extra = pd.DataFrame({"model": skipped, "is_reference": True})
        extra["verdict"] = "not tested"
        extra["note"] = f"a reference; fewer than {MIN_REFERENCES} references would remain"
        table = pd.concat([table, extra], ignore_index=True)
        table["n_references"] = table["n_references"].fillna(len(refs) - 1).astype(np.int64)
    order = np.lexsort(
        (
            table["model"].to_numpy(),
            -table["estimate"].fillna(-np.inf).to_numpy(),
            table["p_value"].fillna(2.0).to_numpy(),
        )
    )
    return table.iloc[order].reset_index(drop=True)
