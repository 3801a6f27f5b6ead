"""Sensitivity of every audit verdict to the analyst's choices.

A correlation from a few dozen models can hinge on one capability benchmark, one model
family or the choice of correlation. :func:`sensitivity` re-runs the audit's point
estimate under a set of *variants*, each changing one choice from the baseline:

- ``capability``: leave one capability benchmark out of the capabilities score;
- ``method``: the other correlation methods (Spearman, Pearson, Kendall tau-b);
- ``pca``: the PCA run on the other matrices (Spearman, Pearson correlation, covariance);
- ``mode``: paper mode (drop models missing a capability score) or missing-data mode
  (impute them), whichever the baseline is not;
- ``family``: leave one model family out (families from the panel's ``family`` column,
  else from model-name prefixes, see :func:`model_families`); the capabilities score is
  re-estimated without the family, z-scores included.

How a variant's verdict is formed
---------------------------------
A variant *flips* a benchmark when the band of its point estimate (``high +``,
``moderate -``, ``low``, ... with the bands of the audit) differs from the band of the
baseline point estimate.

Correlations of different methods are put on the baseline method's scale before they are
banded (``rho_comparable``): Kendall's tau runs about two thirds of Spearman's rho on the
same data, so banding it raw would flip most high verdicts by scale alone. The conversion
uses the bivariate-normal relations ``tau = (2/pi) arcsin r`` and
``rho_s = (6/pi) arcsin(r/2)``; between Spearman and Pearson it changes a value by at most
0.02. The raw statistic stays in ``rho``. The comparison is on point estimates on purpose: the question
here is whether an analyst's choice, not sampling noise, moves the estimate across a band
edge (the audit's interval verdict is "not determined" for about half the benchmarks of a
26-model panel, so comparing interval verdicts would mostly compare those).
With ``n_boot > 0`` every variant also gets its own bootstrap interval (the capabilities
score re-estimated in every resample, as in the audit) and an interval verdict, and
``n_verdict_changes`` counts the variants whose interval verdict differs from the
baseline's (verdicts as in the audit: a direction from the interval, "does not track" from
the equivalence test against the low band edge, put on the variant's own scale).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
from evalgap.analyses.safetywashing._audit import _check_benchmarks, audit_shape
from evalgap.analyses.safetywashing._capability import (
    MIN_MODELS,
    Mode,
    PCAMatrix,
    _capability_matrix,
    _fit,
    check_capability_inputs,
    universe_of,
)
from evalgap.analyses.safetywashing._resampling import (
    BlockStatistics,
    BlockTask,
    Statistic,
    fit_rows,
    run_blocks,
)
from evalgap.data._panel import Panel
from evalgap.errors import AnalysisError
from evalgap.results import Provenance, Result
from evalgap.results._verdict import Bands, band_of, verdict_of
from evalgap.stats._budget import audit_memory, resolve_budget
from evalgap.stats._correlate import CORRELATION_METHODS, CorrelationMethod, CorrelationPlan
from evalgap.stats._equivalence import tost_pvalues
from evalgap.stats._resample import (
    CI_METHODS,
    RESAMPLE_BLOCK,
    CIMethod,
    bootstrap_weights,
    confidence_intervals,
    jackknife_weights,
)

__all__ = ["VARIANT_KINDS", "SensitivityResult", "model_families", "sensitivity"]

#: The kinds of variant :func:`sensitivity` runs, in the order they are listed.
VARIANT_KINDS = ("capability", "method", "pca", "mode", "family")
_PCAS = ("spearman", "pearson", "covariance")

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


# -- scales of the correlation methods ------------------------------------------------------


def _to_pearson(value: FloatArray, method: str) -> FloatArray:
    if method == "kendall":
        return np.sin(np.pi * value / 2.0)
    if method == "spearman":
        return 2.0 * np.sin(np.pi * value / 6.0)
    return value


def _from_pearson(r: FloatArray, method: str) -> FloatArray:
    r = np.clip(r, -1.0, 1.0)
    if method == "kendall":
        return 2.0 / np.pi * np.arcsin(r)
    if method == "spearman":
        return 6.0 / np.pi * np.arcsin(r / 2.0)
    return r


def comparable(value: FloatArray, method: str, scale: str) -> FloatArray:
    """A ``method`` correlation expressed on the scale of ``scale`` (bivariate-normal
    relations between Pearson's r, Spearman's rho and Kendall's tau)."""
    if method == scale:
        return np.asarray(value, dtype=float)
    return _from_pearson(_to_pearson(np.asarray(value, dtype=float), method), scale)


# -- model families -------------------------------------------------------------------------

_SIZE = re.compile(r"^(\d+(\.\d+)?[bmk]|\d+x\d+(\.\d+)?[bmk]|a\d+(\.\d+)?[bmk])$", re.IGNORECASE)
_SUFFIX = {"chat", "instruct", "it", "hf", "base", "sft", "dpo", "rlhf", "preview", "fp8"}


def _prefix_family(model: str) -> str:
    """A family from a model id: the name tokens before the first size or tuning tag."""
    name = model.rsplit("/", 1)[-1]
    tokens = [t for t in re.split(r"[-_ ]+", name) if t]
    kept: list[str] = []
    for token in tokens:
        low = token.lower()
        if _SIZE.match(low) or low in _SUFFIX or re.fullmatch(r"v\d+(\.\d+)*", low):
            break
        kept.append(low)
    return "-".join(kept) if kept else name.lower()


def model_families(panel: Panel) -> pd.Series:
    """Each model's family: the panel's ``family`` column where it is filled, else a
    prefix of the model id.

    The prefix is the model name (after any ``org/``) up to the first token that is a
    size (``7B``, ``8x22B``, ``0.5B``), a tuning tag (``chat``, ``instruct``, ``it``,
    ``hf``, ``base``) or a version tag (``v0.1``), lower-cased: ``Llama-2-13b-chat-hf``
    gives ``llama-2``, ``Qwen1.5-0.5B-Chat`` gives ``qwen1.5``.

    Examples
    --------
    >>> import pandas as pd
    >>> from evalgap import Panel, model_families
    >>> scores = pd.DataFrame({"a": [1.0, 2.0, 3.0]},
    ...                       index=["Llama-2-7b-hf", "Llama-2-13b-chat-hf", "gemma-7b"])
    >>> model_families(Panel.from_frames(scores)).tolist()
    ['llama-2', 'llama-2', 'gemma']
    """
    given = panel.models["family"]
    out = [
        str(f).strip() if isinstance(f, str) and f.strip() else _prefix_family(str(m))
        for m, f in zip(panel.models.index, given, strict=True)
    ]
    return pd.Series(out, index=panel.models.index, name="family", dtype=object)


# -- result ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, eq=False)
class SensitivityResult(Result):
    """What :func:`sensitivity` found.

    Attributes
    ----------
    table
        One row per benchmark, least robust first: ``benchmark, name, area, n,
        capabilities_correlation`` (baseline), ``band`` (baseline), ``edge_margin`` (distance of the baseline |rho| from the nearest
        band edge: a small margin makes a flip likely), ``rho_min, rho_max,
        rho_range, min_variant, max_variant`` (over the variants, on the baseline method's
        scale), ``n_variants`` (variants with an estimate),
        ``share_agree`` (share of them in the baseline's band), ``n_flips, flipped,
        flips`` (variant ids, ``; ``-separated), ``flip_kinds``; with ``n_boot > 0`` also
        ``ci_low, ci_high, verdict`` (baseline interval verdict) and ``n_verdict_changes``.
    variants
        Long table, one row per benchmark and variant: ``benchmark, variant, kind,
        description, n, method, rho`` (in the variant's method), ``rho_comparable`` (on the
        baseline method's scale), ``band`` (of ``rho_comparable``), ``agrees`` (+ ``ci_low,
        ci_high, verdict`` on the baseline's scale with ``n_boot > 0``).
    variant_info
        One row per variant: ``variant, kind, description, n_models, status`` (``ok`` or
        why it was skipped), ``n_flips`` (benchmarks it flips).
    settings
        The baseline's choices and the variant kinds run.
    """

    analysis: ClassVar[str] = "sensitivity"
    schema_version: ClassVar[int] = 2
    tables: ClassVar[Mapping[str, str]] = {
        "benchmarks": "table",
        "variant_info": "variant_info",
        "variants": "variants",
    }

    table: pd.DataFrame
    variants: pd.DataFrame
    variant_info: pd.DataFrame
    panel: Panel | None = field(default=None, repr=False)

    @property
    def flipped(self) -> list[str]:
        """Benchmarks whose band changes under at least one variant."""
        return self.table.loc[self.table["flipped"], "benchmark"].tolist()


# -- variants -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Variant:
    id: str
    kind: str
    description: str
    caps: tuple[str, ...]
    mode: Mode
    pca: PCAMatrix
    method: CorrelationMethod
    keep: BoolArray  # (n,) models kept


def _variants(
    kinds: Sequence[str],
    caps: Sequence[str],
    mode: Mode,
    pca: PCAMatrix,
    method: CorrelationMethod,
    families: pd.Series,
    n: int,
) -> list[_Variant]:
    everyone = np.ones(n, dtype=bool)
    base = {"caps": tuple(caps), "mode": mode, "pca": pca, "method": method, "keep": everyone}
    out: list[_Variant] = []
    for kind in kinds:
        if kind == "capability":
            for c in caps:
                rest = tuple(x for x in caps if x != c)
                out.append(
                    _Variant(
                        f"drop:{c}",
                        kind,
                        f"capabilities score without {c}",
                        **{**base, "caps": rest},
                    )
                )
        elif kind == "method":
            for m in CORRELATION_METHODS:
                if m != method:
                    out.append(
                        _Variant(f"method:{m}", kind, f"{m} correlation", **{**base, "method": m})
                    )
        elif kind == "pca":
            for p in _PCAS:
                if p != pca:
                    what = "covariance matrix" if p == "covariance" else f"{p} correlation matrix"
                    out.append(
                        _Variant(f"pca:{p}", kind, f"PCA on the {what}", **{**base, "pca": p})
                    )
        elif kind == "mode":
            other: Mode = "impute" if mode == "paper" else "paper"
            what = (
                "missing-data mode (missing capability scores imputed)"
                if other == "impute"
                else "paper mode (models missing a capability score dropped)"
            )
            out.append(_Variant(f"mode:{other}", kind, what, **{**base, "mode": other}))
        elif kind == "family":
            for fam in sorted(set(families)):
                keep = (families != fam).to_numpy()
                size = int((~keep).sum())
                out.append(
                    _Variant(
                        f"family:{fam}",
                        kind,
                        f"without the {fam} family ({size} model{'s' if size != 1 else ''})",
                        **{**base, "keep": keep},
                    )
                )
    return out


@dataclass
class _Outcome:
    rho: FloatArray  # (K,) in the variant's own method
    n: NDArray[np.int64]  # (K,)
    n_models: int
    status: str
    scale_of: str = "spearman"  # the variant's method
    low: FloatArray | None = None
    high: FloatArray | None = None
    equivalent: NDArray[np.bool_] | None = None  # TOST against the low band edge passed

    def on(self, scale: str, values: FloatArray | None = None) -> FloatArray:
        """``values`` (default: rho) on the scale of method ``scale``."""
        return comparable(self.rho if values is None else values, self.scale_of, scale)


def _evaluate(
    v: _Variant,
    oriented: pd.DataFrame,
    y: FloatArray,
    ref_loadings: dict[str, float],
    impute_rank: int,
    source: str,
    n_boot: int,
    confidence_level: float,
    ci_method: CIMethod,
    rng: np.random.Generator | None,
    boot_all: FloatArray | None,
    work: int,
    margin: float,
    scale: str,
) -> _Outcome:
    k = y.shape[1]
    nan = np.full(k, np.nan)
    frame = oriented[list(v.caps)]
    x = frame.to_numpy(dtype=float)
    universe, _ = universe_of(x, v.mode)
    universe = universe & v.keep
    rank = min(impute_rank, len(v.caps) - 1)
    try:
        if len(v.caps) < 2:
            raise AnalysisError("fewer than 2 capability benchmarks left")
        check_capability_inputs(frame, universe, source)
    except AnalysisError as exc:
        return _Outcome(nan, np.zeros(k, dtype=np.int64), int(universe.sum()), exc.problem)
    reference = np.array([ref_loadings[c] for c in v.caps])
    fit_args = {"mode": v.mode, "pca": v.pca, "impute_rank": rank, "universe": universe}
    w0 = v.keep.astype(float)
    fit = _fit(x, w0[None, :], reference=reference, **fit_args)
    plan = CorrelationPlan(y, universe, v.method, max_bytes=work // 2)
    rho = plan.correlations(fit.scores[0], w0[None, :])[0]
    counts = (~np.isnan(y) & universe[:, None]).sum(axis=0)
    rho = np.where(counts >= MIN_MODELS, rho, np.nan)
    out = _Outcome(rho, counts.astype(np.int64), int(universe.sum()), "ok", v.method)
    if n_boot <= 0:
        return out
    if v.keep.all() and boot_all is not None:
        w = boot_all
    else:
        assert rng is not None
        kept = np.flatnonzero(v.keep)
        w = np.zeros((n_boot, len(v.keep)))
        w[:, kept] = bootstrap_weights(len(kept), n_boot, rng)
    stats = BlockStatistics(
        x,
        fit_args,
        fit.loadings[0],
        [Statistic(plan)],
        fit_rows=fit_rows(work // 2, len(x), len(v.caps), v.mode == "impute"),
    )
    blocks = (BlockTask(lo, w[lo : lo + RESAMPLE_BLOCK]) for lo in range(0, n_boot, RESAMPLE_BLOCK))
    boot = run_blocks(stats, blocks, n_boot)[0]
    jack = None
    if ci_method == "bca":
        kept = np.flatnonzero(v.keep)
        wj = np.zeros((len(kept), len(v.keep)))
        wj[:, kept] = jackknife_weights(len(kept))
        rows = range(0, len(kept), RESAMPLE_BLOCK)
        jack = run_blocks(
            stats, (BlockTask(lo, wj[lo : lo + RESAMPLE_BLOCK]) for lo in rows), len(kept)
        )[0]
    low, high, _, _ = confidence_intervals(
        boot, rho, jack, confidence_level=confidence_level, method=ci_method
    )
    out.low, out.high = low, high
    # The low band edge on this variant's own scale (Kendall's tau runs below rho).
    edge = float(comparable(np.array(margin), scale, v.method))
    p_equiv = tost_pvalues(boot, rho, edge, jack, method=ci_method)
    out.equivalent = np.where(np.isnan(p_equiv), False, p_equiv < 1.0 - confidence_level)
    return out


# -- the analysis ---------------------------------------------------------------------------


def _memory(args: Mapping[str, Any]) -> list[MemoryNeed]:
    """One variant's audit with its smallest chunks (:func:`audit_memory`) plus the one
    weight matrix every variant's resamples share."""
    shape = audit_shape(args)
    if shape is None:
        return []
    n, k, p = shape
    how = {"method": args["method"], "ci_method": args["ci_method"]}

    def with_boot(b: int) -> int:
        return audit_memory(n, k, p, b, 0, **how).minimum + 8 * n * b

    return [MemoryNeed("n_boot", args["n_boot"], with_boot, f"{n} models x {k} benchmarks")]


@validate_params(
    {
        "method": [StrOptions(CORRELATION_METHODS)],
        "pca": [StrOptions(_PCAS)],
        "impute_rank": [Interval(Integral, 1, None)],
        "bands": BANDS,
        "n_boot": N_RESAMPLES,
        "confidence_level": CONFIDENCE,
        "ci_method": [StrOptions(CI_METHODS)],
        "seed": SEED,
    },
    memory=_memory,
)
def sensitivity(
    panel: Panel,
    capabilities: Iterable[str] | None = None,
    *,
    benchmarks: Iterable[str] | None = None,
    method: CorrelationMethod = "spearman",
    impute: bool = False,
    pca: PCAMatrix = "spearman",
    impute_rank: int = 2,
    bands: Bands | tuple[float, float] = (0.4, 0.7),
    kinds: Iterable[str] = VARIANT_KINDS,
    families: Mapping[str, str] | pd.Series | None = None,
    n_boot: int = 0,
    confidence_level: float = 0.95,
    ci_method: CIMethod = "bca",
    seed: int = 0,
    max_memory: str | int | None = None,
) -> SensitivityResult:
    """How much each benchmark's capabilities correlation and verdict depend on the
    analysis choices.

    The baseline is the audit with the given settings; each variant changes one choice
    (see the module docstring). A variant flips a benchmark when the band of its point
    estimate differs from the baseline's band (sign included).

    Parameters
    ----------
    panel
        The score matrix.
    capabilities, benchmarks, method, impute, pca, impute_rank, bands
        The baseline, as in :func:`evalgap.audit`.
    kinds
        Which kinds of variant to run: any of ``capability, method, pca, mode, family``.
    families
        Model id -> family; default :func:`model_families` (the panel's ``family`` column,
        else name prefixes). Models not named keep the default.
    n_boot
        Bootstrap resamples per variant for interval verdicts (0: point estimates only).
    confidence_level, ci_method
        The intervals' coverage and method when ``n_boot > 0``.
    seed
        Seed for the bootstrap: the same seed gives the same output.
    max_memory
        Memory budget (bytes, or text such as ``"2GB"``); default ``EVALGAP_MAX_MEMORY``,
        else half of the memory available. A request that cannot fit is refused before it starts.

    Returns
    -------
    SensitivityResult

    Raises
    ------
    AnalysisError
        Bad settings or a baseline the audit could not run.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from evalgap import Panel, sensitivity
    >>> rng = np.random.default_rng(0)
    >>> g = rng.normal(size=20)
    >>> scores = pd.DataFrame({**{f"cap{j}": g + 0.3 * rng.normal(size=20) for j in range(3)},
    ...                        "safety": 0.6 * g + 0.8 * rng.normal(size=20)},
    ...                       index=[f"m{i}" for i in range(20)])
    >>> panel = Panel.from_frames(scores, capabilities=["cap0", "cap1", "cap2"])
    >>> result = sensitivity(panel, kinds=["capability", "method", "pca", "mode"])
    >>> result.variant_info["variant"].tolist()
    ['drop:cap0', 'drop:cap1', 'drop:cap2', 'method:pearson', 'method:kendall', 'pca:pearson', 'pca:covariance', 'mode:impute']

    On the Safetywashing chat panel (27 variants, 166 benchmarks, under a second):

    >>> from evalgap import load_panel
    >>> result = sensitivity(load_panel("safetywashing-2024:chat"))  # doctest: +SKIP
    >>> result.flipped[:3]  # doctest: +SKIP
    """
    kinds = list(dict.fromkeys(kinds))
    bad = [k for k in kinds if k not in VARIANT_KINDS]
    if bad:
        raise AnalysisError(f"unknown variant kind {bad[0]!r}; known: {', '.join(VARIANT_KINDS)}")
    if not isinstance(bands, Bands):
        bands = Bands(*bands)

    caps, _ = _capability_matrix(panel, list(capabilities) if capabilities is not None else None)
    targets = sorted(_check_benchmarks(panel, caps, benchmarks))
    model_ids = sorted(panel.model_ids)
    caps_sorted = sorted(caps)
    oriented = panel.oriented_scores().loc[model_ids]
    y = oriented[targets].to_numpy(dtype=float)
    n = y.shape[0]
    mode: Mode = "impute" if impute else "paper"
    if impute and not 1 <= impute_rank < len(caps):
        raise AnalysisError(f"impute_rank must be between 1 and {len(caps) - 1}, got {impute_rank}")

    fam = model_families(panel)
    if families is not None:
        given = pd.Series(dict(families), dtype=object)
        unknown = [m for m in given.index if m not in fam.index]
        if unknown:
            raise AnalysisError(f"families name an unknown model {unknown[0]!r}")
        fam.loc[given.index] = given.astype(str)
    fam = fam.loc[model_ids]

    baseline = _Variant(
        "baseline",
        "baseline",
        "the audit's settings",
        tuple(caps_sorted),
        mode,
        pca,
        method,
        np.ones(n, dtype=bool),
    )
    # Sign every variant's PC1 like the baseline's (largest-magnitude loading positive).
    x_base = oriented[caps_sorted].to_numpy(dtype=float)
    universe, _ = universe_of(x_base, mode)
    check_capability_inputs(oriented[caps_sorted], universe, panel.source)
    base_fit = _fit(
        x_base,
        np.ones((1, n)),
        mode=mode,
        pca=pca,
        impute_rank=impute_rank,
        universe=universe,
        reference=None,
    )
    ref_loadings = dict(zip(caps_sorted, base_fit.loadings[0], strict=True))

    variants = _variants(kinds, caps_sorted, mode, pca, method, fam, n)
    # checked against the budget before the call (_memory); here it sizes the chunks
    budget = resolve_budget(max_memory)
    need = audit_memory(n, len(targets), len(caps), n_boot, 0, method=method, ci_method=ci_method)
    boot_rng = np.random.default_rng(np.random.SeedSequence(seed))
    boot_all = bootstrap_weights(n, n_boot, boot_rng) if n_boot > 0 else None
    common = {
        "oriented": oriented,
        "y": y,
        "ref_loadings": ref_loadings,
        "impute_rank": impute_rank,
        "source": panel.source,
        "n_boot": n_boot,
        "confidence_level": confidence_level,
        "ci_method": ci_method,
        "boot_all": boot_all,
        "work": max(budget - need.fixed - 8 * n * n_boot, need.per_row),
        "margin": bands.moderate,
        "scale": method,
    }
    base = _evaluate(baseline, rng=boot_rng, **common)
    if base.status != "ok":
        raise AnalysisError(base.status, source=panel.source or None)
    outcomes = [_evaluate(v, rng=boot_rng, **common) for v in variants]

    return _assemble(
        panel,
        targets,
        baseline,
        base,
        variants,
        outcomes,
        bands,
        n_boot,
        {
            "panel": panel.source,
            "n_models": n,
            "capabilities": list(caps),
            "method": method,
            "capabilities_mode": mode,
            "pca": pca,
            "impute_rank": impute_rank if impute else None,
            "bands": {"moderate": bands.moderate, "high": bands.high},
            "kinds": kinds,
            "n_variants": len(variants),
            "n_boot": n_boot,
            "confidence_level": confidence_level if n_boot else None,
            "ci_method": ci_method if n_boot else None,
            "seed": seed,
            "flip_rule": "a variant flips a benchmark when the band (sign included) of its point "
            "estimate differs from the baseline's band",
            "families": {f: sorted(fam.index[fam == f]) for f in sorted(set(fam))},
        },
    )


def _equivalent(outcome: _Outcome, j: int) -> bool | None:
    return None if outcome.equivalent is None else bool(outcome.equivalent[j])


def _assemble(
    panel: Panel,
    targets: list[str],
    baseline: _Variant,
    base: _Outcome,
    variants: list[_Variant],
    outcomes: list[_Outcome],
    bands: Bands,
    n_boot: int,
    settings: dict[str, Any],
) -> SensitivityResult:
    k = len(targets)
    scale = baseline.method
    base_band = [band_of(r, bands) for r in base.rho]
    base_verdict = (
        [
            verdict_of(r, a, b, bands, equivalent=_equivalent(base, j))
            for j, (r, a, b) in enumerate(zip(base.rho, base.low, base.high, strict=True))
        ]
        if n_boot and base.low is not None and base.high is not None
        else None
    )
    long_rows: list[dict[str, Any]] = []
    info_rows: list[dict[str, Any]] = []
    rhos = np.full((len(variants), k), np.nan)
    bands_v = np.empty((len(variants), k), dtype=object)
    verdict_change = np.zeros((len(variants), k), dtype=bool)
    for i, (v, o) in enumerate(zip(variants, outcomes, strict=True)):
        comp = o.on(scale)
        rhos[i] = comp
        comp_low = None if o.low is None else o.on(scale, o.low)
        comp_high = None if o.high is None else o.on(scale, o.high)
        flips = 0
        for j, name in enumerate(targets):
            band = band_of(comp[j], bands)
            bands_v[i, j] = band
            agrees = band == base_band[j] if band != "n/a" else None
            flips += agrees is False
            row: dict[str, Any] = {
                "benchmark": name,
                "variant": v.id,
                "kind": v.kind,
                "description": v.description,
                "n": int(o.n[j]),
                "method": v.method,
                "rho": float(o.rho[j]),
                "rho_comparable": float(comp[j]),
                "band": band,
                "agrees": agrees,
            }
            if base_verdict is not None:
                lo = np.nan if comp_low is None else float(comp_low[j])
                hi = np.nan if comp_high is None else float(comp_high[j])
                verdict = verdict_of(comp[j], lo, hi, bands, equivalent=_equivalent(o, j))
                verdict_change[i, j] = verdict != "n/a" and verdict != base_verdict[j]
                row.update({"ci_low": lo, "ci_high": hi, "verdict": verdict})
            long_rows.append(row)
        info_rows.append(
            {
                "variant": v.id,
                "kind": v.kind,
                "description": v.description,
                "n_models": o.n_models,
                "status": o.status,
                "n_flips": int(flips),
            }
        )

    valid = ~np.isnan(rhos)
    agree = np.array(
        [[bands_v[i, j] == base_band[j] for j in range(k)] for i in range(len(variants))],
        dtype=bool,
    ).reshape(len(variants), k)
    flip = valid & ~agree
    n_valid = valid.sum(axis=0)
    ids = np.array([v.id for v in variants], dtype=object)
    kinds_arr = np.array([v.kind for v in variants], dtype=object)
    with np.errstate(invalid="ignore"):
        safe_lo = np.where(valid, rhos, np.inf)
        safe_hi = np.where(valid, rhos, -np.inf)
    meta = panel.benchmarks.loc[targets]
    table = pd.DataFrame(
        {
            "benchmark": targets,
            "name": meta["name"].to_numpy(),
            "area": meta["area"].to_numpy(),
            "n": base.n,
            "capabilities_correlation": base.rho,
            "band": base_band,
            "rho_min": np.where(n_valid > 0, safe_lo.min(axis=0, initial=np.inf), np.nan),
            "rho_max": np.where(n_valid > 0, safe_hi.max(axis=0, initial=-np.inf), np.nan),
            "min_variant": [ids[safe_lo[:, j].argmin()] if n_valid[j] else "" for j in range(k)],
            "max_variant": [ids[safe_hi[:, j].argmax()] if n_valid[j] else "" for j in range(k)],
            "n_variants": n_valid,
            "share_agree": np.where(
                n_valid > 0, (valid & agree).sum(axis=0) / np.maximum(n_valid, 1), np.nan
            ),
            "n_flips": flip.sum(axis=0),
            "flipped": flip.any(axis=0),
            "flips": ["; ".join(ids[flip[:, j]]) for j in range(k)],
            "flip_kinds": [", ".join(dict.fromkeys(kinds_arr[flip[:, j]])) for j in range(k)],
        }
    )
    table.insert(6, "rho_range", table["rho_max"] - table["rho_min"])
    size = np.abs(base.rho)
    table.insert(
        6,
        "edge_margin",
        np.minimum(np.abs(size - bands.moderate), np.abs(size - bands.high)),
    )
    if base_verdict is not None:
        table.insert(6, "ci_low", base.low)
        table.insert(7, "ci_high", base.high)
        table.insert(8, "verdict", base_verdict)
        table["n_verdict_changes"] = verdict_change.sum(axis=0)
    # Least robust first; ties by |rho| (largest first), then id.
    order = np.lexsort(
        (
            table["benchmark"].to_numpy(),
            -np.abs(np.nan_to_num(base.rho, nan=-1.0)),
            np.nan_to_num(table["share_agree"].to_numpy(dtype=float), nan=2.0),
        )
    )
    table = table.iloc[order].reset_index(drop=True)
    variants_long = pd.DataFrame(long_rows)
    info = pd.DataFrame(info_rows)
    settings = {**settings, "n_flipped": int(table["flipped"].sum()), "n_benchmarks": k}
    return SensitivityResult(
        table=table,
        variants=variants_long,
        variant_info=info,
        settings=settings,
        provenance=Provenance(
            inputs=panel.files, seed=settings["seed"] if settings.get("n_boot") else None
        ),
        panel=panel,
    )
