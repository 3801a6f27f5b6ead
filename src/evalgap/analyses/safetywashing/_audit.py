"""The safetywashing audit: does each safety benchmark mostly track capabilities or compute?

For every non-capability benchmark of a panel, oriented so higher is safer: its
correlation with the capabilities score (Spearman by default) and with training FLOP, the
slope of its score per SD of the capabilities score, a bootstrap interval for each that
resamples models and re-estimates the capabilities score inside every resample, a
permutation p-value, and a verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass, field, replace
from numbers import Integral
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evalgap._params import (
    BANDS,
    CONFIDENCE,
    N_PERMUTATIONS,
    N_RESAMPLES,
    SEED,
    Interval,
    MemoryNeed,
    StrOptions,
    validate_params,
)
from evalgap.analyses.safetywashing._capability import (
    MIN_MODELS,
    PCA_MATRICES,
    CapabilitiesScore,
    PCAMatrix,
    _capability_matrix,
    _fit,
    _summarise,
    check_capability_inputs,
    universe_of,
)
from evalgap.analyses.safetywashing._resampling import (
    BlockStatistics,
    BlockTask,
    Statistic,
    fit_rows,
    jackknife_tasks,
    run_blocks,
)
from evalgap.analyses.safetywashing._verdicts import (
    VERDICT_BASES,
    VerdictBasis,
    area_summary,
    family_qvalues,
    verdict_columns,
)
from evalgap.data._panel import Panel
from evalgap.errors import AnalysisError
from evalgap.results import Provenance, Result
from evalgap.results._verdict import Bands
from evalgap.stats._budget import audit_memory, resolve_budget
from evalgap.stats._correlate import (
    CORRELATION_METHODS,
    CorrelationMethod,
    CorrelationPlan,
    availability,
    permutation_pvalues,
)
from evalgap.stats._equivalence import tost_pvalues
from evalgap.stats._family import group_codes, group_jackknife_weights, group_resample_blocks
from evalgap.stats._multitest import qvalues
from evalgap.stats._resample import (
    CI_METHODS,
    CIMethod,
    Executor,
    confidence_intervals,
    resample_blocks,
)
from evalgap.stats._simultaneous import simultaneous_intervals

__all__ = ["RESAMPLE_UNITS", "AuditResult", "audit"]

ResampleUnit = Literal["models", "families"]
#: What the bootstrap resamples: single models, or whole model families.
RESAMPLE_UNITS = ("models", "families")

#: Progress callback: called with (resamples done, resamples in all).
Progress = Callable[[int, int], None]

# How each verdict basis decides, for the result's settings and the report's methods.
_VERDICT_RULE = {
    "interval": "a direction (tracks capabilities, + or -) when the {level:.0%} interval "
    "excludes 0, with the strength of the interval end nearest zero; does not track "
    "(|rho| < {edge:g}) when the equivalence test (two one-sided tests at alpha "
    "{alpha:.3g} against -{edge:g} and +{edge:g}) rejects |rho| >= {edge:g}; not determined "
    "otherwise",
    "q_value": "as with intervals, but a direction also needs q_value < {alpha:.3g} and "
    "equivalence needs equivalence_q_value < {alpha:.3g} (Benjamini-Hochberg over the "
    "audited benchmarks)",
    "simultaneous": "a direction when the {level:.0%} max-statistic simultaneous interval "
    "excludes 0, with the strength of its end nearest zero; does not track (|rho| < "
    "{edge:g}) when the simultaneous interval at 1 - 2 x {alpha:.3g} lies inside "
    "(-{edge:g}, {edge:g}); not determined otherwise",
}


@dataclass(frozen=True, kw_only=True, eq=False)
class AuditResult(Result):
    """What :func:`audit` found.

    Attributes
    ----------
    table
        One row per audited benchmark, sorted by |capabilities correlation|, with columns
        ``benchmark, name, role, area, family, metric, orientation, orientation_source, n,
        capabilities_correlation, ci_low, ci_high, p_value, q_value, q_value_by,
        equivalence_p_value, equivalence_q_value, simultaneous_ci_low,
        simultaneous_ci_high, band, interval_bands, direction, strength, verdict,
        family_p_value, family_q_value, family_q_value_by, compute_n,
        compute_correlation, compute_ci_low, compute_ci_high, compute_p_value,
        compute_q_value, compute_q_value_by, slope, slope_ci_low, slope_ci_high,
        n_boot_valid, note``. ``orientation`` is the transform that made higher mean safer
        (``higher``, ``lower``, ``closer_to(0)``) and ``orientation_source`` where it comes
        from; ``family`` the benchmark's family (an aggregate and its own splits share
        one); the verdict rule is in :mod:`evalgap.results._verdict`.
    areas
        One row per area, each benchmark family counted once: how many benchmarks and
        families, the median correlation, and how many families land at each verdict
        level.
    capabilities
        The capabilities score and its PCA.
    settings
        Every choice that produced the numbers (method, seed, resamples, ...).
    panel
        The panel audited.
    """

    analysis: ClassVar[str] = "audit"
    schema_version: ClassVar[int] = 2
    tables: ClassVar[Mapping[str, str]] = {"benchmarks": "table", "areas": "areas"}

    table: pd.DataFrame
    areas: pd.DataFrame
    capabilities: CapabilitiesScore
    panel: Panel = field(repr=False)

    def _extra_to_dict(self) -> dict[str, Any]:
        # Canonical order, so the JSON does not depend on the order of the input file.
        canonical = self.panel.subset(
            sorted(self.panel.model_ids), sorted(self.panel.benchmark_ids)
        )
        return {"capabilities": self.capabilities.to_dict(), "panel": canonical.to_dict()}

    @classmethod
    def _extra_from_dict(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "capabilities": CapabilitiesScore.from_dict(data["capabilities"]),
            "panel": Panel.from_dict(data["panel"]),
        }

    def benchmark(self, benchmark: str) -> pd.Series:
        """The table row of one benchmark."""
        rows = self.table[self.table["benchmark"] == benchmark]
        if rows.empty:
            raise AnalysisError(f"benchmark {benchmark!r} was not audited")
        return rows.iloc[0]


def _check_benchmarks(
    panel: Panel, caps: Sequence[str], benchmarks: Iterable[str] | None
) -> list[str]:
    if benchmarks is None:
        chosen = [b for b in panel.benchmark_ids if b not in caps]
    else:
        chosen = list(dict.fromkeys(str(b) for b in benchmarks))
        unknown = [b for b in chosen if b not in panel.scores.columns]
        if unknown:
            raise AnalysisError(f"unknown benchmark {unknown[0]!r}", source=panel.source or None)
        overlap = [b for b in chosen if b in caps]
        if overlap:
            raise AnalysisError(
                f"benchmark {overlap[0]!r} is one of the capability benchmarks; a benchmark "
                "cannot be audited against a score built from itself",
                source=panel.source or None,
            )
    if not chosen:
        raise AnalysisError(
            "nothing to audit: every benchmark is a capability benchmark",
            source=panel.source or None,
        )
    return chosen


def _check_targets(
    y: NDArray[np.float64], has_cap: NDArray[np.bool_], names: list[str], source: str
) -> None:
    for j, name in enumerate(names):
        use = has_cap & ~np.isnan(y[:, j])
        n = int(use.sum())
        if n < MIN_MODELS:
            raise AnalysisError(
                f"benchmark {name!r} has scores for only {n} of the models with a "
                f"capabilities score (at least {MIN_MODELS} are needed)",
                source=source or None,
            )
        values = y[use, j]
        if np.ptp(values) == 0:
            raise AnalysisError(
                f"benchmark {name!r} has the same score ({values[0]:g}) for every model, "
                "so its correlation with anything is undefined; drop it",
                source=source or None,
            )


def audit_shape(args: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """(models, benchmarks, capability benchmarks) an audit of ``args["panel"]`` would
    hold, for the memory estimate before the call; None when the panel is not one yet
    (the call itself then says what is wrong)."""
    panel = args["panel"]
    if not isinstance(panel, Panel):
        return None
    n, k = panel.scores.shape
    named = args["capabilities"]
    return n, k, len(named) if isinstance(named, Sized) else len(panel.default_capabilities) or k


def _memory(args: Mapping[str, Any]) -> list[MemoryNeed]:
    """What the run would hold with its smallest chunks (:func:`audit_memory`), as a
    function of the resamples and of the permutations asked for."""
    shape = audit_shape(args)
    if shape is None:
        return []
    n, k, p = shape
    what = f"{n} models x {k} benchmarks"
    how = {"method": args["method"], "ci_method": args["ci_method"]}

    def with_boot(b: int) -> int:
        return audit_memory(n, k, p, b, args["n_perm"], **how).minimum

    def with_perm(perm: int) -> int:
        return audit_memory(n, k, p, args["n_boot"], perm, **how).minimum

    return [
        MemoryNeed("n_boot", args["n_boot"], with_boot, what),
        MemoryNeed("n_perm", args["n_perm"], with_perm, what),
    ]


@validate_params(
    {
        "method": [StrOptions(CORRELATION_METHODS)],
        "pca": [StrOptions(PCA_MATRICES)],
        "impute_rank": [Interval(Integral, 1, None)],
        "n_boot": N_RESAMPLES,
        "n_perm": N_PERMUTATIONS,
        "confidence_level": CONFIDENCE,
        "ci_method": [StrOptions(CI_METHODS)],
        "bands": BANDS,
        "verdict_basis": [StrOptions(VERDICT_BASES)],
        "resample": [StrOptions(RESAMPLE_UNITS)],
        "seed": SEED,
    },
    memory=_memory,
)
def audit(
    panel: Panel,
    capabilities: Iterable[str] | None = None,
    *,
    benchmarks: Iterable[str] | None = None,
    method: CorrelationMethod = "spearman",
    impute: bool = False,
    pca: PCAMatrix = "spearman",
    impute_rank: int = 2,
    n_boot: int = 10_000,
    n_perm: int = 10_000,
    confidence_level: float = 0.95,
    ci_method: CIMethod = "bca",
    bands: Bands | tuple[float, float] = (0.4, 0.7),
    verdict_basis: VerdictBasis = "interval",
    simultaneous: bool = False,
    resample: ResampleUnit = "models",
    seed: int = 0,
    progress: Progress | None = None,
    max_memory: str | int | None = None,
    executor: Executor | None = None,
) -> AuditResult:
    """Audit every non-capability benchmark of a panel against capabilities and compute.

    Parameters
    ----------
    panel
        The score matrix; lower-is-better benchmarks are negated first so higher is safer.
    capabilities
        Capability benchmark ids; default: the panel's capability set.
    benchmarks
        Benchmarks to audit; default: every benchmark that is not a capability benchmark.
    method
        Correlation with the capabilities score and with FLOP: ``spearman`` (the paper),
        ``pearson`` or ``kendall``. The capabilities score itself always comes from
        ``pca``.
    impute
        False: paper mode (models missing a capability score are dropped). True: impute
        missing capability scores by iterative low-rank SVD.
    pca
        Matrix for the capabilities PCA: ``spearman`` (paper), ``pearson``, ``covariance``.
    impute_rank
        Rank of the imputation when ``impute`` is True.
    n_boot
        Bootstrap resamples of models (0 turns the bootstrap off).
    n_perm
        Permutations for the p-values (0 turns them off).
    confidence_level
        Coverage of the intervals.
    ci_method
        ``bca`` (bias-corrected and accelerated) or ``percentile``.
    bands
        Verdict cut-offs on |rho| (moderate, high). "Does not track capabilities" needs an
        equivalence test to reject |rho| >= moderate.
    verdict_basis
        What verdicts rest on: ``interval`` (each benchmark's interval and equivalence
        p-value), ``q_value`` (the same, but a direction also needs its BH q-value and
        equivalence its equivalence q-value below ``1 - confidence_level``), or
        ``simultaneous`` (max-statistic simultaneous intervals across the audited
        benchmarks).
    simultaneous
        Also report max-statistic simultaneous intervals (implied by
        ``verdict_basis="simultaneous"``).
    resample
        ``models`` (default) or ``families``: the bootstrap draws whole model families
        (the panel's ``family`` column; a model without one is its own family), for when
        models of one family are not independent draws.
    seed
        Seed for resampling and permutations: the same seed gives the same output.
    progress
        Called as ``progress(done, total)`` while resampling.
    max_memory
        Memory budget (bytes, or text such as ``"2GB"``); default ``EVALGAP_MAX_MEMORY``,
        else half of the memory available. Work is chunked to fit it, and a request that cannot fit is refused
        before it starts, with the estimate in the message.
    executor
        Runs the bootstrap's blocks of resamples (anything with ``map(fn, tasks)``, such
        as a Ray executor); default: one after another in this process. Every block's
        resamples are drawn here from the seed, so the results are the same whatever runs
        them.

    Returns
    -------
    AuditResult

    Examples
    --------
    >>> from evalgap import load_panel, audit
    >>> result = audit(load_panel("safetywashing-2024:chat"), n_boot=1000)  # doctest: +SKIP
    >>> result.benchmark("truthfulqa_mc1")["capabilities_correlation"]  # doctest: +SKIP
    0.812...
    """
    if not isinstance(bands, Bands):
        bands = Bands(*bands)
    simultaneous = bool(simultaneous) or verdict_basis == "simultaneous"

    caps, _ = _capability_matrix(panel, list(capabilities) if capabilities is not None else None)
    targets = _check_benchmarks(panel, caps, benchmarks)
    # Canonical order: results must not depend on the order of rows or columns in a file.
    model_ids = sorted(panel.model_ids)
    caps_sorted = sorted(caps)
    targets_sorted = sorted(targets)
    oriented = panel.oriented_scores().loc[model_ids]
    cap_frame = oriented[caps_sorted]
    x = cap_frame.to_numpy(dtype=float)
    y = oriented[targets_sorted].to_numpy(dtype=float)
    flop = panel.flop().loc[model_ids].to_numpy(dtype=float)
    log_flop = np.log10(np.where(flop > 0, flop, np.nan))
    n = len(model_ids)

    mode = "impute" if impute else "paper"
    universe, reasons = universe_of(x, mode)
    check_capability_inputs(cap_frame, universe, panel.source)
    _check_targets(y, universe, targets_sorted, panel.source)
    if impute and not 1 <= impute_rank < len(caps):
        raise AnalysisError(f"impute_rank must be between 1 and {len(caps) - 1}, got {impute_rank}")

    # the request was checked against the budget before the call (_memory); here the
    # budget only sizes the chunks
    budget = resolve_budget(max_memory)
    need = audit_memory(
        n, len(targets_sorted), len(caps), n_boot, n_perm, method=method, ci_method=ci_method
    )
    # what a block of resamples may use beyond what the whole run keeps
    work = max(budget - need.fixed, need.per_row)
    fit_args = {"mode": mode, "pca": pca, "impute_rank": impute_rank, "universe": universe}
    point_fit = _fit(x, np.ones((1, n)), reference=None, **fit_args)
    cap = _summarise(
        panel, caps_sorted, cap_frame, point_fit, universe, reasons, mode, pca, impute_rank
    )
    # Report loadings in the order the user named the capability benchmarks.
    cap = _reorder_capabilities(cap, caps)
    reference = point_fit.loadings[0]
    s = point_fit.scores[0]

    plan_bytes = work // 2
    cap_plan = CorrelationPlan(y, universe, method, max_bytes=plan_bytes)
    slope_plan = CorrelationPlan(y, universe, "pearson", max_bytes=plan_bytes)
    flop_plan = CorrelationPlan(y, ~np.isnan(log_flop), method, max_bytes=plan_bytes)
    block_statistics = BlockStatistics(
        x,
        fit_args,
        reference,
        [
            Statistic(cap_plan),
            Statistic(flop_plan, ref=log_flop),
            Statistic(slope_plan, "slopes"),
        ],
        fit_rows=fit_rows(work // 2, n, len(caps), impute),
    )
    rho, c_rho, slope = (
        stat[0]
        for stat in (
            cap_plan.correlations(s[None, :], np.ones((1, n))),
            flop_plan.correlations(log_flop, np.ones((1, n))),
            slope_plan.slopes(s[None, :], np.ones((1, n))),
        )
    )

    ss = np.random.SeedSequence(seed)
    boot_rng, perm_rng = (np.random.default_rng(child) for child in ss.spawn(2))
    p_value = permutation_pvalues(y, s, rho, method, n_perm, perm_rng, max_bytes=work)
    c_p_value = permutation_pvalues(y, log_flop, c_rho, method, n_perm, perm_rng, max_bytes=work)

    k = len(targets_sorted)
    equivalence_p = np.full(k, np.nan)
    sim = {name: np.full(k, np.nan) for name in ("low", "high", "low_eq", "high_eq")}
    lows = {name: np.full(k, np.nan) for name in ("rho", "c_rho", "slope")}
    highs = {name: np.full(k, np.nan) for name in ("rho", "c_rho", "slope")}
    n_valid = np.zeros(k, dtype=np.int64)
    notes: list[list[str]] = [[] for _ in range(k)]
    codes = group_codes(list(panel.models["family"].loc[model_ids]))
    if n_boot > 0:
        if resample == "families":
            draws = group_resample_blocks(codes, n_boot, boot_rng)
            jack_tasks = [BlockTask(0, counts=group_jackknife_weights(codes))]
        else:
            draws = resample_blocks(n, n_boot, boot_rng)
            jack_tasks = jackknife_tasks(n)
        blocks = (BlockTask(lo, counts) for lo, counts in draws)
        boots = run_blocks(block_statistics, blocks, n_boot, executor, progress)
        jack = None
        if ci_method == "bca":
            n_jack = sum(task.rows for task in jack_tasks)
            jack = run_blocks(block_statistics, jack_tasks, n_jack, executor)
        for idx, (name, est) in enumerate((("rho", rho), ("c_rho", c_rho), ("slope", slope))):
            lo_, hi_, valid, why = confidence_intervals(
                boots[idx],
                est,
                None if jack is None else jack[idx],
                confidence_level=confidence_level,
                method=ci_method,
            )
            lows[name], highs[name] = lo_, hi_
            if name == "rho":
                n_valid = valid
                for j, note in enumerate(why):
                    if note:
                        notes[j].append(note)
        rho_jack = None if jack is None else jack[0]
        # The equivalence test reads the same bootstrap distribution as the interval.
        if confidence_level > 0.5:
            equivalence_p = tost_pvalues(boots[0], rho, bands.moderate, rho_jack, method=ci_method)
        if simultaneous:
            sim["low"], sim["high"], _ = simultaneous_intervals(
                boots[0], rho, confidence_level=confidence_level
            )
            if confidence_level > 0.5:
                sim["low_eq"], sim["high_eq"], _ = simultaneous_intervals(
                    boots[0], rho, confidence_level=2 * confidence_level - 1
                )

    has = availability(y, s)
    has_flop = availability(y, log_flop)
    compute_n = has_flop.sum(axis=0)
    for j in range(k):
        if np.isnan(log_flop).all():
            notes[j].append("no training FLOP known for any model")
        elif compute_n[j] < MIN_MODELS:
            notes[j].append(f"training FLOP known for only {compute_n[j]} of its models")
        elif compute_n[j] < (scored := int((~np.isnan(y[:, j])).sum())):
            notes[j].append(
                f"training FLOP unknown for {scored - int(compute_n[j])} of its {scored} "
                f"models (compute correlation over {int(compute_n[j])})"
            )
    too_few_flop = compute_n < MIN_MODELS
    for arr in (c_rho, c_p_value, lows["c_rho"], highs["c_rho"]):
        arr[too_few_flop] = np.nan

    meta = panel.benchmarks.loc[targets_sorted]
    orientation = panel.orientations().loc[targets_sorted]
    family = panel.families().loc[targets_sorted].to_numpy()
    for group in panel.duplicate_benchmarks():
        for j, name in enumerate(targets_sorted):
            if name in group:
                others = ", ".join(g for g in group if g != name)
                notes[j].append(f"exact copy of {others}")
    q_value, q_value_by = qvalues(p_value)
    c_q_value, c_q_value_by = qvalues(c_p_value)
    equivalence_q, _ = qvalues(equivalence_p)
    fam_p, fam_q, fam_q_by = family_qvalues(list(family), p_value)
    verdicts = verdict_columns(
        rho,
        lows["rho"],
        highs["rho"],
        bands=bands,
        confidence_level=confidence_level,
        basis=verdict_basis,
        equivalence_p=equivalence_p,
        equivalence_q=equivalence_q,
        q_value=q_value,
        sim_low=sim["low"],
        sim_high=sim["high"],
        sim_low_equiv=sim["low_eq"],
        sim_high_equiv=sim["high_eq"],
    )
    table = pd.DataFrame(
        {
            "benchmark": targets_sorted,
            "name": meta["name"].to_numpy(),
            "role": meta["role"].to_numpy(),
            "area": meta["area"].to_numpy(),
            "family": family,
            "metric": meta["metric"].to_numpy(),
            "orientation": orientation.to_numpy(),
            "orientation_source": (
                meta["orientation_source"].to_numpy()
                if "orientation_source" in meta
                else np.full(k, "", dtype=object)
            ),
            "n": has.sum(axis=0),
            "capabilities_correlation": rho,
            "ci_low": lows["rho"],
            "ci_high": highs["rho"],
            "p_value": p_value,
            "q_value": q_value,
            "q_value_by": q_value_by,
            "equivalence_p_value": equivalence_p,
            "equivalence_q_value": equivalence_q,
            "simultaneous_ci_low": sim["low"],
            "simultaneous_ci_high": sim["high"],
            **{col: verdicts[col].to_numpy() for col in verdicts.columns},
            "family_p_value": fam_p,
            "family_q_value": fam_q,
            "family_q_value_by": fam_q_by,
            "compute_n": compute_n,
            "compute_correlation": c_rho,
            "compute_ci_low": lows["c_rho"],
            "compute_ci_high": highs["c_rho"],
            "compute_p_value": c_p_value,
            "compute_q_value": c_q_value,
            "compute_q_value_by": c_q_value_by,
            "slope": slope,
            "slope_ci_low": lows["slope"],
            "slope_ci_high": highs["slope"],
            "n_boot_valid": n_valid if n_boot > 0 else np.zeros(k, dtype=np.int64),
            "note": ["; ".join(nt) for nt in notes],
        }
    )
    order = np.lexsort((table["benchmark"].to_numpy(), -np.abs(np.nan_to_num(rho, nan=-1.0))))
    table = table.iloc[order].reset_index(drop=True)

    settings = {
        "panel": panel.source,
        "n_models": n,
        "n_models_scored": int(universe.sum()),
        "capabilities": list(caps),
        "benchmarks_audited": k,
        "method": method,
        "capabilities_mode": mode,
        "pca": pca,
        "impute_rank": impute_rank if impute else None,
        "n_boot": n_boot,
        "n_perm": n_perm,
        "ci_method": ci_method if n_boot > 0 else None,
        "confidence_level": confidence_level,
        "bands": {"moderate": bands.moderate, "high": bands.high},
        "verdict_basis": verdict_basis,
        "verdict_rule": _VERDICT_RULE[verdict_basis].format(
            level=confidence_level, alpha=1 - confidence_level, edge=bands.moderate
        ),
        "simultaneous": simultaneous,
        "resample": resample,
        "multiplicity": "q_value/q_value_by: Benjamini-Hochberg/Benjamini-Yekutieli over "
        f"the {k} audited benchmarks (BH is valid under the positive dependence of an "
        "aggregate and its own splits, BY under any); family_q_value: each family (an "
        "aggregate and its own splits) one hypothesis, Simes' combination of its members' "
        "p-values, then BH/BY over the families",
        "duplicates": [list(g) for g in panel.duplicate_benchmarks()],
        "seed": seed,
        "orientation": "every benchmark transformed so higher is safer (or more capable): "
        "higher as is, lower negated, closer_to(c) scored as -|x - c|; the orientation "
        "column says which, orientation_source why",
        "compute": "correlation with log10 training FLOP (rank methods are unaffected by the log)",
        "files": dict(panel.files),
    }
    return AuditResult(
        table=table,
        areas=area_summary(table),
        capabilities=cap,
        settings=settings,
        provenance=Provenance(inputs=panel.files, seed=seed),
        panel=panel,
    )


def _reorder_capabilities(cap: CapabilitiesScore, order: Sequence[str]) -> CapabilitiesScore:
    order = list(order)
    table = cap.table.set_index("benchmark").loc[order].reset_index()
    return replace(
        cap,
        loadings=cap.loadings.loc[order],
        correlation_matrix=cap.correlation_matrix.loc[order, order],
        table=table,
    )
