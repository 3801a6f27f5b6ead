"""Item-level analysis: which items make a benchmark track capabilities, how reliable it
is, and a decorrelated subset of its items, checked on held-out models.

Input is a models x items score matrix (a wide table, or long per-item records with
columns ``model, benchmark, item, score`` turned into one with :func:`item_matrix`) and a
capabilities score per model (from :func:`evalgap.capabilities_score`, or any proxy the
caller labels as such).

What is computed
----------------
- Per item: mean (difficulty), SD, correlation with capabilities (point-biserial for 0/1
  items; with ``method="spearman"`` against the capability *ranks*, which for 0/1 items is
  exactly Spearman's rho), item-rest correlation.
- The benchmark's reliability: Cronbach's alpha (KR-20 for 0/1 items) and odd-even
  split-half with the Spearman-Brown correction (:mod:`evalgap.reliability`).
- A decorrelated subset (:func:`select_items`), chosen on training models and checked on
  held-out ones by cross-validation across models.

Selection algorithm
-------------------
Alternate two steps until neither removes an item (at most 20 rounds); the answer is the
last subset along the way that meets both the target and the floor (else the last one):

1. *Capability step*: if the subset score's capabilities correlation is above ``target``
   in size, order the items by their own capabilities correlation (in the direction of
   the subset's) and drop the fewest from the top that bring it to ``target`` while
   keeping alpha at or above ``reliability_floor`` and at least ``min_items`` items; if
   no number does both, drop the number that minimises the correlation with alpha at or
   above the floor (the target is then reported as not met). The number is found on a
   grid of 16 and refined to the single item, each grid one matrix product.
2. *Reliability step* (``prune_unreliable``): drop the items whose removal raises alpha
   ("alpha if item deleted"), repeatedly, never below ``min_items``. This removes items
   that measure nothing in common with the rest (noise), and never runs before the
   capability step, because while capability items dominate the total a separate trait's
   items would look like noise.

Cross-validation
----------------
Models are split into ``folds`` folds (seeded). For each fold the subset is selected on
the other folds' models only; its score on the held-out models is standardised with the
training models' mean and SD; the held-out scores of all folds are pooled and correlated
with capabilities. That *held-out correlation* is what the subset would show on new
models; the *in-sample* correlation of the subset selected on all models is optimistic by
construction. Intervals are percentile bootstrap intervals over models for a fixed
selection (the selection is not re-run inside resamples). The capabilities score itself is
estimated once, from every model's capability benchmarks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evalgap.analyses.safetywashing._capability import MIN_MODELS, CapabilitiesScore
from evalgap.errors import AnalysisError, InputError
from evalgap.results import Provenance, Result
from evalgap.stats._reliability import Reliability, split_half
from evalgap.stats._resample import bootstrap_weights, confidence_intervals
from evalgap.stats._weighted import weighted_midranks, weighted_pearson

__all__ = [
    "ItemAnalysis",
    "Selection",
    "item_analysis",
    "item_matrix",
    "other_benchmarks_proxy",
    "select_items",
]

ItemMethod = Literal["spearman", "pearson"]
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

_GRID = 16
_MAX_ROUNDS = 20


# -- building the matrix -------------------------------------------------------------------


def item_matrix(
    records: pd.DataFrame,
    benchmark: str | None = None,
    *,
    source: str = "item records",
) -> pd.DataFrame:
    """Pivot long per-item records into a models x items matrix.

    Parameters
    ----------
    records
        Columns ``model, item, score`` and, when it holds several benchmarks,
        ``benchmark``. A model scored on an item more than once gets the mean.
    benchmark
        Which benchmark to take; needed when ``records`` holds more than one.
    source
        Label for error messages.

    Returns
    -------
    DataFrame
        Index: model id (sorted); columns: item id (sorted); float; NaN where a model has
        no score for an item.

    Raises
    ------
    InputError
        Missing columns, non-numeric scores, no records for the benchmark.

    Examples
    --------
    >>> import pandas as pd
    >>> records = pd.DataFrame({"model": ["a", "a", "b", "b"], "benchmark": "x",
    ...                         "item": ["q1", "q2", "q1", "q2"], "score": [1, 0, 1, 1]})
    >>> item_matrix(records).to_numpy().tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    if not isinstance(records, pd.DataFrame):
        raise InputError("per-item records must be a DataFrame", source=source)
    missing = [c for c in ("model", "item", "score") if c not in records.columns]
    if missing:
        raise InputError(
            f"per-item records need the columns model, item, score; {missing[0]!r} is missing",
            source=source,
        )
    frame = records
    if "benchmark" in frame.columns:
        names = sorted(frame["benchmark"].dropna().astype(str).unique())
        if benchmark is None:
            if len(names) > 1:
                shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
                raise InputError(
                    f"the records hold {len(names)} benchmarks ({shown}); name one", source=source
                )
        else:
            if benchmark not in names:
                raise InputError(f"no records for benchmark {benchmark!r}", source=source)
            frame = frame[frame["benchmark"].astype(str) == benchmark]
    if frame.empty:
        raise InputError("no per-item records", source=source)
    score = pd.to_numeric(frame["score"], errors="coerce")
    bad = frame["score"].notna() & score.isna()
    if bad.any():
        row = frame.index[bad.to_numpy().argmax()]
        raise InputError(
            f"expected a number, got {frame.loc[row, 'score']!r}",
            source=source,
            where=f"row {row}, column 'score'",
        )
    long = pd.DataFrame(
        {"model": frame["model"].astype(str), "item": frame["item"].astype(str), "score": score}
    )
    wide = long.pivot_table(index="model", columns="item", values="score", aggfunc="mean")
    wide = wide.sort_index().sort_index(axis=1)
    wide.index.name, wide.columns.name = "model", "item"
    return wide.astype(float)


def other_benchmarks_proxy(
    scores: pd.DataFrame,
    exclude: str,
    *,
    higher_is_better: dict[str, bool] | None = None,
    min_benchmarks: int = 1,
) -> pd.Series:
    """A stand-in for a capabilities score: each model's mean z-score over the benchmarks
    other than ``exclude``.

    Use it only when no capabilities score exists for the models (for example, harness
    outputs of models that are not in a reference panel), and label the result as a
    proxy: it measures whatever the other benchmarks share, which is capabilities only if
    they are capability benchmarks.

    Parameters
    ----------
    scores
        Models x benchmarks headline scores (``ImportResult.wide()``, ``Panel.scores``).
    exclude
        The benchmark under analysis, left out of its own proxy.
    higher_is_better
        Benchmark -> direction; lower-is-better benchmarks are negated first. Default:
        every benchmark is higher-is-better.
    min_benchmarks
        Fewest other benchmarks a model needs to get a proxy value.

    Returns
    -------
    Series
        Indexed by model; NaN for models with too few other benchmarks. Its ``name`` says
        what it is.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.1, 0.3, 0.2], "c": [5, 6, 7]},
    ...                     index=["m1", "m2", "m3"])
    >>> other_benchmarks_proxy(wide, "c").round(3).tolist()
    [-1.225, 0.612, 0.612]
    """
    if exclude not in scores.columns:
        raise AnalysisError(f"no benchmark {exclude!r} in the score table")
    others = scores.drop(columns=[exclude]).astype(float)
    if others.shape[1] == 0:
        raise AnalysisError(f"no benchmark other than {exclude!r} to build a proxy from")
    if higher_is_better:
        sign = [1.0 if higher_is_better.get(str(c), True) else -1.0 for c in others.columns]
        others = others * sign
    sd = others.std(ddof=0)
    z = (others - others.mean()) / sd.where(sd > 0)
    count = z.notna().sum(axis=1)
    proxy = z.mean(axis=1).where(count >= min_benchmarks)
    proxy.name = f"proxy: mean z-score on {others.shape[1]} other benchmark(s)"
    return proxy


# -- the numerical core --------------------------------------------------------------------


class _Items:
    """A complete float32 models x items matrix and the per-model reference, with the
    training-set statistics every step needs (all matrix products, no item loops)."""

    def __init__(self, x: F32, ref: F64, binary: bool, method: ItemMethod) -> None:
        self.x = x
        self.binary = binary
        self.sq = x if binary else None  # x * x, made on first use
        self.ref = ref
        self.method = method
        self.n, self.k = x.shape

    def squares(self) -> F32:
        if self.sq is None:
            self.sq = self.x * self.x
        return self.sq

    def ref_for(self, w: F64) -> F64:
        """The reference as used in correlations: its ranks among the training models for
        Spearman, else as is."""
        if self.method == "spearman":
            return weighted_midranks(self.ref, w)
        return self.ref

    def item_stats(self, w: F64) -> tuple[F64, F64, F64]:
        """Per-item mean, population variance and correlation with the reference over the
        models with weight 1."""
        w32 = w.astype(np.float32)
        sw = float(w.sum())
        mean = (w32 @ self.x).astype(np.float64) / sw
        var = np.clip((w32 @ self.squares()).astype(np.float64) / sw - mean**2, 0.0, None)
        r = self.ref_for(w)
        rc = np.where(w > 0, r - (w @ r) / sw, 0.0)
        cov = ((w * rc).astype(np.float32) @ self.x).astype(np.float64) / sw
        sd_r = math.sqrt(float(w @ (rc * rc)) / sw)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.where(var > 1e-12, cov / (np.sqrt(var) * sd_r), np.nan)
        return mean, var, np.clip(corr, -1.0, 1.0)

    def totals(self, u: F32) -> F64:
        """Sum score of every model over the items with indicator ``u``."""
        return (self.x @ u).astype(np.float64)

    def corr_with_ref(self, t: F64, w: F64) -> F64:
        """Correlation of score column(s) ``t`` ((N,) or (G, N)) with the reference over the
        training models (Spearman: both ranked among them)."""
        r = self.ref_for(w)
        if self.method == "spearman":
            t = weighted_midranks(t, np.broadcast_to(w, np.shape(t)))
        return weighted_pearson(t, np.broadcast_to(r, np.shape(t)), np.broadcast_to(w, np.shape(t)))


def _split_half(data: _Items, keep: NDArray[np.bool_]) -> float:
    """Odd-even split-half (Spearman-Brown) of the kept items, in column order."""
    pos = np.flatnonzero(keep)
    if len(pos) < 2:
        return math.nan
    odd = np.zeros(data.k, dtype=np.float32)
    even = np.zeros(data.k, dtype=np.float32)
    odd[pos[0::2]] = 1.0
    even[pos[1::2]] = 1.0
    halves = np.stack([data.totals(odd), data.totals(even)], axis=1)
    return split_half(halves)


def _var(t: F64, w: F64) -> F64:
    sw = w.sum()
    mean = (t * w).sum(axis=-1, keepdims=True) / sw
    return ((t - mean) ** 2 * w).sum(axis=-1) / sw


def _alpha(k: F64, sum_var: F64, total_var: F64) -> F64:
    with np.errstate(invalid="ignore", divide="ignore"):
        a = k / (k - 1.0) * (1.0 - sum_var / total_var)
    return np.where((k >= 2) & (total_var > 0), a, np.nan)


@dataclass(frozen=True)
class Selection:
    """One run of :func:`select_items` (on the models with weight 1).

    Attributes
    ----------
    keep
        (K,) bool, the selected items.
    correlation
        The selected subset score's capabilities correlation on the training models.
    alpha
        Its Cronbach's alpha (KR-20) on the training models.
    meets_target, meets_floor
        Whether ``|correlation| <= target`` and ``alpha >= reliability_floor``.
    rounds
        Capability/reliability rounds run.
    path
        The capability steps: ``round, n_items, correlation, alpha`` at every grid point
        evaluated, for a trade-off plot.
    """

    keep: NDArray[np.bool_]
    correlation: float
    alpha: float
    meets_target: bool
    meets_floor: bool
    rounds: int
    path: pd.DataFrame


def _select(
    data: _Items,
    w: F64,
    *,
    target: float,
    floor: float,
    min_items: int,
    prune_unreliable: bool,
) -> Selection:
    k_all = data.k
    _, var, corr = data.item_stats(w)
    movable = var > 1e-12  # items with no variance among the training models stay put
    keep = np.ones(k_all, dtype=bool)
    path_rows: list[dict[str, Any]] = []

    def state() -> tuple[NDArray[np.bool_], float, float]:
        total = data.totals(keep.astype(np.float32))
        r = float(data.corr_with_ref(total, w))
        a = float(_alpha(np.float64(keep.sum()), var[keep].sum(), _var(total, w)))
        return keep.copy(), r, a

    # Every state the search passes through; the answer is the last that meets both the
    # target and the floor (dropping noise can lift the correlation above the target for
    # a round, until the next capability step brings it back), else the final one.
    states = [state()]
    rounds = 0
    for rounds in range(1, _MAX_ROUNDS + 1):
        changed = False
        # 1. capability step
        _, r_now, _ = states[-1]
        if abs(r_now) > target:
            total = data.totals(keep.astype(np.float32))
            drop = _capability_step(
                data,
                w,
                keep,
                movable,
                var,
                corr,
                total,
                r_now,
                target,
                floor,
                min_items,
                rounds,
                path_rows,
            )
            if drop.size:
                keep[drop] = False
                changed = True
                states.append(state())
        # 2. reliability step
        if prune_unreliable and _reliability_step(data, w, keep, movable, var, min_items):
            changed = True
            states.append(state())
        if not changed:
            break
    good = [st for st in states if abs(st[1]) <= target and st[2] >= floor]
    chosen, r_final, a_final = good[-1] if good else states[-1]
    return Selection(
        keep=chosen,
        correlation=r_final,
        alpha=a_final,
        meets_target=bool(abs(r_final) <= target),
        meets_floor=bool(a_final >= floor),
        rounds=rounds,
        path=pd.DataFrame(path_rows, columns=["round", "n_items", "correlation", "alpha"])
        .sort_values(["round", "n_items"], ascending=[True, False], kind="stable")
        .reset_index(drop=True),
    )


def _capability_step(
    data: _Items,
    w: F64,
    keep: NDArray[np.bool_],
    movable: NDArray[np.bool_],
    var: F64,
    corr: F64,
    total: F64,
    r_now: float,
    target: float,
    floor: float,
    min_items: int,
    round_no: int,
    path_rows: list[dict[str, Any]],
) -> NDArray[np.intp]:
    """Indices of the items to drop so the subset's |correlation| reaches ``target``."""
    cand = np.flatnonzero(keep & movable)
    k_now = int(keep.sum())
    max_drop = min(len(cand), k_now - min_items)
    if max_drop <= 0:
        return np.empty(0, dtype=np.intp)
    aligned = np.sign(r_now) * np.nan_to_num(corr[cand], nan=0.0)
    # Most aligned first; ties by position, so the order is reproducible.
    order = cand[np.lexsort((cand, -aligned))][:max_drop]
    cum_var = np.concatenate([[0.0], np.cumsum(var[order])])
    sum_var = float(var[keep].sum())
    evaluated: dict[int, tuple[float, float]] = {
        0: (r_now, float(_alpha(np.float64(k_now), sum_var, _var(total, w))))
    }

    def evaluate(counts: list[int]) -> None:
        counts = [c for c in counts if c not in evaluated]
        if not counts:
            return
        v = np.zeros((data.k, len(counts)), dtype=np.float32)
        for g, c in enumerate(counts):
            v[order[:c], g] = 1.0
        removed = (data.x @ v).astype(np.float64).T  # (G, N)
        scores = total[None, :] - removed
        rs = np.atleast_1d(data.corr_with_ref(scores, w))
        ks = k_now - np.array(counts, dtype=float)
        alphas = _alpha(ks, sum_var - cum_var[counts], _var(scores, w))
        for c, r, a in zip(counts, rs, alphas, strict=True):
            evaluated[c] = (float(r), float(a))
            path_rows.append(
                {
                    "round": round_no,
                    "n_items": k_now - c,
                    "correlation": float(r),
                    "alpha": float(a),
                }
            )

    def ok(c: int) -> bool:
        r, a = evaluated[c]
        return abs(r) <= target and a >= floor

    lo, hi = 0, max_drop
    evaluate(sorted({round(x) for x in np.linspace(0, max_drop, _GRID + 1)}))
    while True:
        grid = sorted(c for c in evaluated if lo <= c <= hi)
        first = next((c for c in grid if ok(c)), None)
        if first is None:
            break
        prev = max(c for c in grid if c < first) if any(c < first for c in grid) else first
        if first - prev <= 1:
            return order[:first]
        lo, hi = prev, first
        evaluate(sorted({round(x) for x in np.linspace(lo, hi, _GRID + 1)}))
    # No count meets both: the smallest correlation that keeps alpha at the floor.
    fine = [c for c in evaluated if evaluated[c][1] >= floor and c > 0]
    if not fine:
        return np.empty(0, dtype=np.intp)
    best = min(fine, key=lambda c: (abs(evaluated[c][0]), c))
    if abs(evaluated[best][0]) >= abs(r_now):
        return np.empty(0, dtype=np.intp)
    return order[:best]


def _reliability_step(
    data: _Items,
    w: F64,
    keep: NDArray[np.bool_],
    movable: NDArray[np.bool_],
    var: F64,
    min_items: int,
) -> bool:
    """Drop, repeatedly, the items whose removal raises alpha. Returns whether any went."""
    changed = False
    sw = w.sum()
    for _ in range(50):
        k = int(keep.sum())
        if k <= max(min_items, 2):
            break
        u = keep.astype(np.float32)
        total = data.totals(u)
        tc = np.where(w > 0, total - (w @ total) / sw, 0.0)
        t_var = float(w @ (tc * tc)) / sw
        sum_var = float(var[keep].sum())
        alpha = float(_alpha(np.float64(k), sum_var, t_var))
        cov_t = ((w * tc).astype(np.float32) @ data.x).astype(np.float64) / sw
        rest_var = t_var - 2.0 * cov_t + var
        alpha_without = _alpha(np.float64(k - 1), sum_var - var, rest_var)
        gain = np.where(keep & movable, alpha_without - alpha, -np.inf)
        worse = np.flatnonzero(gain > 1e-9)
        if worse.size == 0 or not math.isfinite(alpha):
            break
        room = k - max(min_items, 2)
        if worse.size > room:
            worse = worse[np.argsort(-gain[worse], kind="stable")[:room]]
        keep[worse] = False
        changed = True
    return changed


def select_items(
    matrix: pd.DataFrame | NDArray[Any],
    capabilities: pd.Series | NDArray[Any],
    *,
    target: float = 0.3,
    reliability_floor: float = 0.7,
    method: ItemMethod = "spearman",
    min_items: int = 10,
    prune_unreliable: bool = True,
) -> Selection:
    """Select a decorrelated subset of items on all the models given (no cross-validation;
    :func:`item_analysis` runs it inside cross-validation).

    Parameters are as in :func:`item_analysis`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> cap = rng.normal(size=300)
    >>> trait = rng.normal(size=300)
    >>> x = np.hstack([rng.random((300, 20)) < 1 / (1 + np.exp(-2 * cap[:, None])),
    ...                rng.random((300, 20)) < 1 / (1 + np.exp(-2 * trait[:, None]))])
    >>> sel = select_items(x.astype(np.uint8), cap)
    >>> int(sel.keep[:20].sum()), int(sel.keep[20:].sum())
    (0, 20)
    """
    data, _, _, _ = _prepare(matrix, capabilities, method, "items")
    _check_selection_args(target, reliability_floor, min_items)
    return _select(
        data,
        np.ones(data.n),
        target=target,
        floor=reliability_floor,
        min_items=min(min_items, data.k),
        prune_unreliable=prune_unreliable,
    )


# -- input checks --------------------------------------------------------------------------


def _check_selection_args(target: float, floor: float, min_items: int) -> None:
    if not 0 <= target < 1:
        raise AnalysisError(f"target must be in [0, 1), got {target}")
    if not -1 < floor < 1:
        raise AnalysisError(f"reliability_floor must be below 1, got {floor}")
    if min_items < 2:
        raise AnalysisError(f"min_items must be at least 2, got {min_items}")


def _prepare(
    matrix: pd.DataFrame | NDArray[Any],
    capabilities: pd.Series | CapabilitiesScore | NDArray[Any],
    method: str,
    source: str,
) -> tuple[_Items, list[str], list[str], list[str]]:
    """Align the matrix with the capabilities, drop what cannot be used, fill missing cells
    with the item's mean. Returns the data, model ids, item ids and notes."""
    if method not in ("spearman", "pearson"):
        raise AnalysisError(f"method must be 'spearman' or 'pearson', got {method!r}")
    notes: list[str] = []
    if isinstance(capabilities, CapabilitiesScore):
        capabilities = capabilities.scores
    if isinstance(matrix, pd.DataFrame):
        models = [str(m) for m in matrix.index]
        items = [str(c) for c in matrix.columns]
        if len(set(models)) != len(models):
            raise InputError("duplicate model ids in the item matrix", source=source)
        if len(set(items)) != len(items):
            raise InputError("duplicate item ids in the item matrix", source=source)
        # Canonical order: folds and ties must not depend on the order of the input file.
        models, items = sorted(models), sorted(items)
        matrix = matrix.set_axis([str(m) for m in matrix.index], axis=0)
        matrix = matrix.set_axis([str(c) for c in matrix.columns], axis=1).loc[models, items]
        try:
            values = matrix.to_numpy(dtype=np.float32)
        except (TypeError, ValueError):
            raise InputError("item scores must be numbers", source=source) from None
        if isinstance(capabilities, pd.Series):
            caps = pd.to_numeric(capabilities, errors="coerce")
            caps.index = caps.index.astype(str)
            ref = caps.reindex(models).to_numpy(dtype=float)
            absent = [m for m, v in zip(models, ref, strict=True) if np.isnan(v)]
            if absent:
                notes.append(
                    f"{len(absent)} model(s) without a capabilities score left out: "
                    + ", ".join(absent[:5])
                    + (" ..." if len(absent) > 5 else "")
                )
        else:
            ref = np.asarray(capabilities, dtype=float)
    else:
        values = np.asarray(matrix)
        if values.ndim != 2:
            raise InputError("the item matrix must be 2-d (models x items)", source=source)
        models = [str(i) for i in range(values.shape[0])]
        items = [str(j) for j in range(values.shape[1])]
        ref = np.asarray(
            capabilities.to_numpy() if isinstance(capabilities, pd.Series) else capabilities,
            dtype=float,
        )
        if values.dtype != np.float32:
            if not np.issubdtype(values.dtype, np.number) and values.dtype != bool:
                raise InputError("item scores must be numbers", source=source)
            values = values.astype(np.float32)
    if ref.shape != (values.shape[0],):
        raise InputError(
            f"{values.shape[0]} models in the item matrix but {ref.size} capabilities scores",
            source=source,
        )
    use = ~np.isnan(ref)
    missing = np.isnan(values)
    has_any = ~missing.all(axis=1)
    if (use & ~has_any).any():
        notes.append(f"{int((use & ~has_any).sum())} model(s) with no item scores left out")
    use &= has_any
    if not use.all():
        values = values[use]
        missing = missing[use]
        ref = ref[use]
        models = [m for m, u in zip(models, use, strict=True) if u]
    if len(models) < MIN_MODELS:
        raise AnalysisError(
            f"only {len(models)} models with both item scores and a capabilities score "
            f"(at least {MIN_MODELS} are needed)",
            source=source,
        )
    if np.isinf(values).any():
        raise InputError("infinite item score", source=source)
    n_obs = (~missing).sum(axis=0)
    usable = n_obs >= 2
    if not usable.all():
        notes.append(f"{int((~usable).sum())} item(s) scored for fewer than 2 models left out")
        values = values[:, usable]
        missing = missing[:, usable]
        items = [i for i, u in zip(items, usable, strict=True) if u]
    if len(items) < 2:
        raise AnalysisError("fewer than 2 usable items", source=source)
    if missing.any():
        share = float(missing.mean())
        col_mean = np.nanmean(values, axis=0)
        values = np.where(missing, col_mean[None, :], values).astype(np.float32)
        notes.append(f"{share:.1%} of item cells missing, filled with the item's mean")
    values = np.ascontiguousarray(values, dtype=np.float32)
    if np.ptp(ref) == 0:
        raise AnalysisError("every model has the same capabilities score", source=source)
    binary = bool(((values == 0) | (values == 1)).all())
    return _Items(values, ref.astype(np.float64), binary, method), models, items, notes  # type: ignore[arg-type]


# -- result --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, eq=False)
class ItemAnalysis(Result):
    """What :func:`item_analysis` found.

    Attributes
    ----------
    table
        One row per item: ``item, mean, sd, capabilities_correlation,
        item_rest_correlation, constant, selected`` (in the subset chosen on all models),
        ``selection_rate`` (share of cross-validation folds that chose it); sorted by
        capabilities correlation, largest first.
    summary
        Two rows, ``full`` and ``subset``: ``n_items, correlation, ci_low, ci_high``
        (in-sample), ``heldout_correlation, heldout_ci_low, heldout_ci_high``
        (cross-validated; for ``full`` the same as in-sample, since nothing is chosen),
        ``alpha, split_half``.
    subset
        Ids of the selected items.
    reliability_full, reliability_subset
        :class:`~evalgap.stats._reliability.Reliability` of the whole benchmark and the subset.
    folds
        One row per fold: ``fold, n_train, n_test, n_items, train_correlation,
        test_correlation`` (NaN for folds of fewer than 5 models), ``train_alpha``.
    path
        The trade-off curve of the final selection: ``round, n_items, correlation,
        alpha`` at every point its capability steps evaluated.
    meets_target, meets_floor
        Whether the subset chosen on all models has ``|correlation| <= target`` and
        ``alpha >= reliability_floor``; the held-out correlation says whether that holds
        beyond the models it was chosen on.
    notes
        Remarks on the input (models or items left out, missing cells filled).
    settings
        Every choice that produced the numbers.
    """

    analysis: ClassVar[str] = "items"
    schema_version: ClassVar[int] = 1
    tables: ClassVar[Mapping[str, str]] = {
        "summary": "summary",
        "folds": "folds",
        "items": "table",
        "path": "path",
        "heldout_scores": "heldout_scores",
    }

    table: pd.DataFrame
    summary: pd.DataFrame
    subset: list[str]
    reliability_full: Reliability
    reliability_subset: Reliability
    folds: pd.DataFrame
    path: pd.DataFrame
    meets_target: bool
    meets_floor: bool
    notes: list[str]
    heldout_scores: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    def _extra_to_dict(self) -> dict[str, Any]:
        return {
            "meets_target": self.meets_target,
            "meets_floor": self.meets_floor,
            "subset": list(self.subset),
            "reliability": {
                "full": self.reliability_full.to_dict(),
                "subset": self.reliability_subset.to_dict(),
            },
            "notes": list(self.notes),
        }

    @classmethod
    def _extra_from_dict(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "meets_target": bool(data["meets_target"]),
            "meets_floor": bool(data["meets_floor"]),
            "subset": list(data["subset"]),
            "reliability_full": Reliability.from_dict(data["reliability"]["full"]),
            "reliability_subset": Reliability.from_dict(data["reliability"]["subset"]),
            "notes": list(data["notes"]),
        }


def _interval(
    a: F64, b: F64, method: str, n_boot: int, level: float, rng: np.random.Generator
) -> tuple[float, float, float]:
    """Correlation of a and b (all models) and its percentile bootstrap interval."""
    n = len(a)
    ones = np.ones(n)
    if method == "spearman":
        est = float(weighted_pearson(weighted_midranks(a, ones), weighted_midranks(b, ones), ones))
    else:
        est = float(weighted_pearson(a, b, ones))
    if n_boot <= 0 or not math.isfinite(est):
        return est, math.nan, math.nan
    boot = np.empty(n_boot)
    for lo in range(0, n_boot, 500):
        w = bootstrap_weights(n, min(500, n_boot - lo), rng)
        if method == "spearman":
            ra, rb = weighted_midranks(a, w), weighted_midranks(b, w)
        else:
            ra, rb = np.broadcast_to(a, w.shape), np.broadcast_to(b, w.shape)
        boot[lo : lo + len(w)] = weighted_pearson(ra, rb, w)
    low, high, _, _ = confidence_intervals(
        boot[:, None], np.array([est]), confidence_level=level, method="percentile"
    )
    return est, float(low[0]), float(high[0])


def _folds(n: int, folds: int, rng: np.random.Generator) -> list[NDArray[np.intp]]:
    perm = rng.permutation(n)
    return [np.sort(part) for part in np.array_split(perm, folds)]


def item_analysis(
    matrix: pd.DataFrame | NDArray[Any],
    capabilities: pd.Series | CapabilitiesScore | NDArray[Any],
    *,
    method: ItemMethod = "spearman",
    target: float = 0.3,
    reliability_floor: float = 0.7,
    select: bool = True,
    prune_unreliable: bool = True,
    min_items: int = 10,
    folds: int = 5,
    n_boot: int = 1000,
    confidence_level: float = 0.95,
    seed: int = 0,
    benchmark: str = "",
    capabilities_label: str = "capabilities score",
) -> ItemAnalysis:
    """Item-level analysis of one benchmark and its decorrelated subset.

    Parameters
    ----------
    matrix
        Models x items scores: a DataFrame (index model id, columns item id; see
        :func:`item_matrix`) or an array (then ``capabilities`` is in row order). 0/1
        (or any numeric) scores, NaN where a model has no score for an item.
    capabilities
        The capabilities score per model: a Series indexed by model id, a
        :class:`~evalgap.CapabilitiesScore`, or an array in row order. Models without one
        are left out.
    method
        ``spearman`` (default, as the audit) or ``pearson``.
    target
        Largest acceptable size of the subset score's capabilities correlation.
    reliability_floor
        Smallest acceptable alpha (KR-20) of the subset.
    select
        Whether to select a subset (False: item statistics and reliability only).
    prune_unreliable
        Whether the selection also drops items that lower alpha.
    min_items
        Fewest items a subset may have.
    folds
        Cross-validation folds across models (at most one per model).
    n_boot
        Bootstrap resamples of models for the correlation intervals (0: none).
    confidence_level
        Coverage of the intervals.
    seed
        Seed for the folds and the bootstrap: the same seed gives the same output.
    benchmark, capabilities_label
        Labels for the output (what the matrix is, what the capabilities score is).

    Returns
    -------
    ItemAnalysis

    Raises
    ------
    InputError, AnalysisError
        A malformed matrix, fewer than 5 models or 2 items, bad settings.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> cap, trait = rng.normal(size=(2, 400))
    >>> p = lambda z: 1 / (1 + np.exp(-2 * z[:, None]))
    >>> x = np.hstack([rng.random((400, 30)) < p(cap), rng.random((400, 30)) < p(trait)])
    >>> result = item_analysis(x.astype(np.uint8), cap, n_boot=200)
    >>> sorted(int(i) for i in result.subset) == list(range(30, 60))
    True
    """
    _check_selection_args(target, reliability_floor, min_items)
    if folds < 2:
        raise AnalysisError(f"folds must be at least 2, got {folds}")
    if n_boot < 0 or 0 < n_boot < 100:
        raise AnalysisError(f"n_boot must be 0 or at least 100, got {n_boot}")
    if not 0 < confidence_level < 1:
        raise AnalysisError(f"confidence_level must be between 0 and 1, got {confidence_level}")
    data, models, items, notes = _prepare(matrix, capabilities, method, benchmark or "items")
    n, k = data.n, data.k
    min_items = min(min_items, k)
    ss = np.random.SeedSequence(seed)
    fold_rng, boot_rng = (np.random.default_rng(c) for c in ss.spawn(2))
    ones = np.ones(n)

    mean, var, corr = data.item_stats(ones)
    full_u = np.ones(k, dtype=np.float32)
    total = data.totals(full_u)
    tc = total - total.mean()
    cov_t = (tc.astype(np.float32) @ data.x).astype(np.float64) / n
    rest_var = np.clip(_var(total, ones) - 2 * cov_t + var, 0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        item_rest = np.where(
            (var > 1e-12) & (rest_var > 1e-12), (cov_t - var) / np.sqrt(var * rest_var), np.nan
        )
    rel_full = Reliability(
        alpha=float(_alpha(np.float64(k), var.sum(), _var(total, ones))),
        split_half=_split_half(data, np.ones(k, dtype=bool)),
        n_items=k,
        n_models=n,
        binary=data.binary,
    )
    r_full, lo_full, hi_full = _interval(
        total, data.ref, method, n_boot, confidence_level, boot_rng
    )

    sel_args = {
        "target": target,
        "floor": reliability_floor,
        "min_items": min_items,
        "prune_unreliable": prune_unreliable,
    }
    keep = np.ones(k, dtype=bool)
    rate = np.full(k, np.nan)
    fold_rows: list[dict[str, Any]] = []
    path = pd.DataFrame(columns=["round", "n_items", "correlation", "alpha"])
    meets_target = abs(r_full) <= target
    meets_floor = rel_full.alpha >= reliability_floor
    heldout = np.full(n, np.nan)
    fold_of = np.full(n, -1)
    if select:
        final = _select(data, ones, **sel_args)
        keep = final.keep
        path = final.path
        meets_target, meets_floor = final.meets_target, final.meets_floor
        n_folds = min(folds, n)
        chosen = np.zeros(k)
        for f, test in enumerate(_folds(n, n_folds, fold_rng)):
            w = ones.copy()
            w[test] = 0.0
            if w.sum() < MIN_MODELS:
                raise AnalysisError(
                    f"{n_folds} folds leave only {int(w.sum())} training models; use fewer folds"
                )
            sel = _select(data, w, **sel_args)
            chosen += sel.keep
            score = data.totals(sel.keep.astype(np.float32)) / max(1, int(sel.keep.sum()))
            mu = float(w @ score) / w.sum()
            sd = math.sqrt(float(w @ (score - mu) ** 2) / w.sum())
            heldout[test] = (score[test] - mu) / sd if sd > 0 else score[test] - mu
            fold_of[test] = f
            wt = 1.0 - w
            test_r = float(data.corr_with_ref(score, wt)) if len(test) >= MIN_MODELS else math.nan
            fold_rows.append(
                {
                    "fold": f,
                    "n_train": int(w.sum()),
                    "n_test": len(test),
                    "n_items": int(sel.keep.sum()),
                    "train_correlation": sel.correlation,
                    "test_correlation": test_r,
                    "train_alpha": sel.alpha,
                }
            )
        rate = chosen / n_folds

    sub_u = keep.astype(np.float32)
    sub_total = data.totals(sub_u)
    r_sub, lo_sub, hi_sub = _interval(
        sub_total, data.ref, method, n_boot, confidence_level, boot_rng
    )
    if select:
        r_ho, lo_ho, hi_ho = _interval(
            heldout, data.ref, method, n_boot, confidence_level, boot_rng
        )
    else:
        r_ho, lo_ho, hi_ho = r_full, lo_full, hi_full
    rel_sub = Reliability(
        alpha=float(_alpha(np.float64(keep.sum()), var[keep].sum(), _var(sub_total, ones))),
        split_half=_split_half(data, keep),
        n_items=int(keep.sum()),
        n_models=n,
        binary=data.binary,
    )

    table = pd.DataFrame(
        {
            "item": items,
            "mean": mean,
            "sd": np.sqrt(var),
            "capabilities_correlation": corr,
            "item_rest_correlation": item_rest,
            "constant": var <= 1e-12,
            "selected": keep,
            "selection_rate": rate,
        }
    )
    order = np.lexsort((np.arange(k), -np.nan_to_num(corr, nan=-2.0)))
    table = table.iloc[order].reset_index(drop=True)
    summary = pd.DataFrame(
        [
            {
                "set": "full",
                "n_items": k,
                "correlation": r_full,
                "ci_low": lo_full,
                "ci_high": hi_full,
                "heldout_correlation": r_full,
                "heldout_ci_low": lo_full,
                "heldout_ci_high": hi_full,
                "alpha": rel_full.alpha,
                "split_half": rel_full.split_half,
            },
            {
                "set": "subset",
                "n_items": int(keep.sum()),
                "correlation": r_sub,
                "ci_low": lo_sub,
                "ci_high": hi_sub,
                "heldout_correlation": r_ho,
                "heldout_ci_low": lo_ho,
                "heldout_ci_high": hi_ho,
                "alpha": rel_sub.alpha,
                "split_half": rel_sub.split_half,
            },
        ]
    )
    settings = {
        "benchmark": benchmark,
        "capabilities": capabilities_label,
        "n_models": n,
        "n_items": k,
        "binary": data.binary,
        "method": method,
        "target": target,
        "reliability_floor": reliability_floor,
        "select": select,
        "prune_unreliable": prune_unreliable,
        "min_items": min_items,
        "folds": min(folds, n) if select else 0,
        "n_boot": n_boot,
        "confidence_level": confidence_level,
        "ci_method": "percentile" if n_boot else None,
        "seed": seed,
        "heldout": "each fold's subset is chosen without the fold's models; their scores are "
        "standardised with the training models' mean and SD and pooled across folds",
        "reliability": "KR-20" if data.binary else "Cronbach's alpha",
        "split_half": "odd-even items, Spearman-Brown corrected",
    }
    heldout_scores = pd.DataFrame(
        {"model": models, "capabilities": data.ref, "fold": fold_of, "heldout_score": heldout}
    )
    return ItemAnalysis(
        table=table,
        summary=summary,
        subset=[items[j] for j in np.flatnonzero(keep)],
        reliability_full=rel_full,
        reliability_subset=rel_sub,
        folds=pd.DataFrame(
            fold_rows,
            columns=[
                "fold",
                "n_train",
                "n_test",
                "n_items",
                "train_correlation",
                "test_correlation",
                "train_alpha",
            ],
        ),
        path=path,
        meets_target=bool(meets_target),
        meets_floor=bool(meets_floor),
        notes=notes,
        settings=settings,
        provenance=Provenance(seed=seed),
        heldout_scores=heldout_scores,
    )
