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
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evalgap._params import (
    BANDS,
    CONFIDENCE,
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
from evalgap.data._panel import Panel
from evalgap.errors import AnalysisError
from evalgap.results import Provenance, Result
from evalgap.results._verdict import Bands, band_of, span_of, verdict_of
from evalgap.stats._budget import audit_memory, resolve_budget
from evalgap.stats._correlate import (
    CORRELATION_METHODS,
    CorrelationMethod,
    CorrelationPlan,
    availability,
    permutation_pvalues,
)
from evalgap.stats._resample import (
    CI_METHODS,
    CIMethod,
    Executor,
    confidence_intervals,
    resample_blocks,
)

__all__ = ["AuditResult", "audit"]

#: Progress callback: called with (resamples done, resamples in all).
Progress = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True, eq=False)
class AuditResult(Result):
    """What :func:`audit` found.

    Attributes
    ----------
    table
        One row per audited benchmark, sorted by |capabilities correlation|, with columns
        ``benchmark, name, role, area, metric, oriented, n, capabilities_correlation,
        ci_low, ci_high, p_value, band, verdict, interval_bands, compute_n,
        compute_correlation,
        compute_ci_low, compute_ci_high, compute_p_value, slope, slope_ci_low,
        slope_ci_high, n_boot_valid, note``.
    areas
        One row per area: how many benchmarks, the median correlation, and how many fall in
        each verdict.
    capabilities
        The capabilities score and its PCA.
    settings
        Every choice that produced the numbers (method, seed, resamples, ...).
    panel
        The panel audited.
    """

    analysis: ClassVar[str] = "audit"
    schema_version: ClassVar[int] = 1
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


def _memory(args: Mapping[str, Any]) -> list[MemoryNeed]:
    """What the run would hold with its smallest chunks (:func:`audit_memory`), sized by
    the whole panel, as a function of the resamples and of the permutations asked for."""
    panel = args["panel"]
    if not isinstance(panel, Panel):
        return []
    n, k = panel.scores.shape
    named = args["capabilities"]
    p = len(named) if isinstance(named, Sized) else len(panel.default_capabilities) or k
    what = f"{n} models x {k} benchmarks"
    shape = {"method": args["method"], "ci_method": args["ci_method"]}

    def with_boot(b: int) -> int:
        return audit_memory(n, k, p, b, args["n_perm"], **shape).minimum

    def with_perm(perm: int) -> int:
        return audit_memory(n, k, p, args["n_boot"], perm, **shape).minimum

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
        "n_perm": [Interval(Integral, 0, None)],
        "confidence_level": CONFIDENCE,
        "ci_method": [StrOptions(CI_METHODS)],
        "bands": BANDS,
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
        Verdict cut-offs on |rho| (moderate, high).
    seed
        Seed for resampling and permutations: the same seed gives the same output.
    progress
        Called as ``progress(done, total)`` while resampling.
    max_memory
        Memory budget (bytes, or text such as ``"2GB"``); default half of the memory
        available. Work is chunked to fit it, and a request that cannot fit is refused
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
    lows = {name: np.full(k, np.nan) for name in ("rho", "c_rho", "slope")}
    highs = {name: np.full(k, np.nan) for name in ("rho", "c_rho", "slope")}
    n_valid = np.zeros(k, dtype=np.int64)
    notes: list[list[str]] = [[] for _ in range(k)]
    if n_boot > 0:
        blocks = (BlockTask(lo, counts) for lo, counts in resample_blocks(n, n_boot, boot_rng))
        boots = run_blocks(block_statistics, blocks, n_boot, executor, progress)
        jack = None
        if ci_method == "bca":
            jack = run_blocks(block_statistics, jackknife_tasks(n), n, executor)
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
    table = pd.DataFrame(
        {
            "benchmark": targets_sorted,
            "name": meta["name"].to_numpy(),
            "role": meta["role"].to_numpy(),
            "area": meta["area"].to_numpy(),
            "metric": meta["metric"].to_numpy(),
            "oriented": np.where(meta["higher_is_better"].to_numpy(dtype=bool), "as is", "negated"),
            "n": has.sum(axis=0),
            "capabilities_correlation": rho,
            "ci_low": lows["rho"],
            "ci_high": highs["rho"],
            "p_value": p_value,
            "band": [band_of(r, bands) for r in rho],
            "verdict": [
                verdict_of(r, a, b, bands)
                for r, a, b in zip(rho, lows["rho"], highs["rho"], strict=True)
            ],
            "interval_bands": [
                span_of(a, b, bands) for a, b in zip(lows["rho"], highs["rho"], strict=True)
            ],
            "compute_n": compute_n,
            "compute_correlation": c_rho,
            "compute_ci_low": lows["c_rho"],
            "compute_ci_high": highs["c_rho"],
            "compute_p_value": c_p_value,
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
        "seed": seed,
        "orientation": "every benchmark oriented so higher is safer (or more capable); "
        "lower-is-better benchmarks negated",
        "compute": "correlation with log10 training FLOP (rank methods are unaffected by the log)",
        "files": dict(panel.files),
    }
    return AuditResult(
        table=table,
        areas=_area_summary(table),
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


def _area_summary(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for area, group in table.groupby(table["area"].replace("", "(none)"), sort=True):
        rho = group["capabilities_correlation"]
        verdicts = group["verdict"]
        rows.append(
            {
                "area": area,
                "n_benchmarks": len(group),
                "median_correlation": float(rho.median()),
                "mean_abs_correlation": float(rho.abs().mean()),
                "median_compute_correlation": float(group["compute_correlation"].median()),
                "high": int(verdicts.str.startswith("high").sum()),
                "moderate": int(verdicts.str.startswith("moderate").sum()),
                "low": int((verdicts == "low").sum()),
                "uncertain": int((verdicts == "uncertain").sum()),
            }
        )
    areas = pd.DataFrame(rows)
    if areas.empty:
        return areas
    return areas.sort_values(["mean_abs_correlation", "area"], ascending=[False, True]).reset_index(
        drop=True
    )
