"""Capabilities-adjusted safety: how much safer (or less safe) each model is than its
capabilities predict.

For a safety benchmark ``y`` (oriented so higher is safer) and the capabilities score
``s``, two fits of ``y`` on ``s`` are compared by leave-one-out error: a straight line and
a monotone (isotonic) fit. Every model's *adjusted score* is its leave-one-out residual:
its observed score minus what the chosen fit, estimated **without that model**, predicts
from its capabilities score. A positive residual means safer than its capabilities
predict.

Intervals
---------
Each residual gets a prediction interval: the range of scores a model of that
capabilities score would get if it were no safer or less safe than the other models
(estimated without the model itself), so a model outside it is safer or less safe than its
capabilities predict, with that confidence.

- Linear fit: the exact t interval for a new observation,
  ``prediction ± t_{n-3} · σ_(i) / sqrt(1 - h_ii)``, with ``σ_(i)`` the residual SD of
  the fit without model ``i`` and ``h_ii`` its leverage; exact under a linear trend with
  normal, equal-variance scatter, and it works from 5 models.
- Monotone fit: jackknife+ (Barber, Candès, Ramdas and Tibshirani 2021) on the other
  ``n - 1`` models, with the fits leaving out model ``i`` and each other model in turn, so
  no part of the interval depends on model ``i``'s own score. It assumes only that models
  are exchangeable; its guaranteed coverage is ``1 - 2α`` and in practice about ``1 - α``.
  With few models the interval is unbounded (jackknife+ needs ``(1 - α) n <= n - 1``).
  Above ``EXACT_JACKKNIFE_MAX`` models the other models' residuals come from the plain
  leave-one-out fits (which include model ``i``, with weight ``1/n``), to keep the cost
  cubic rather than quartic in ``n``.

Choosing the fit
----------------
With ``fit="auto"`` each model's fit is chosen by the leave-one-out error over the *other*
models (leave-two-out errors), so nothing about a model's prediction, interval or fit
choice uses its own score. Choosing on all models would let an unusually safe or unsafe
model pull the choice towards the fit that predicts it best, and its interval would cover
its true offset less often than stated (the test suite showed 0.875 for a nominal 0.90
with planted offsets before this rule; see ``tests/test_adjust.py``). The benchmark's
reported ``fit`` is the all-models choice; ``n_monotone`` counts the models whose own
choice was monotone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import scipy.stats
from numpy.typing import NDArray

from evalgap.analyses.safetywashing._audit import _check_benchmarks
from evalgap.analyses.safetywashing._capability import (
    MIN_MODELS,
    CapabilitiesScore,
    PCAMatrix,
    capabilities_score,
)
from evalgap.data._panel import Panel
from evalgap.errors import AnalysisError
from evalgap.results import Provenance, Result
from evalgap.stats._isotonic import isotonic_fits

__all__ = ["EXACT_JACKKNIFE_MAX", "FITS", "AdjustResult", "adjust", "adjusted_scores"]

FitKind = Literal["auto", "linear", "monotone"]
#: The fits :func:`adjust` knows.
FITS = ("auto", "linear", "monotone")
#: Largest number of models for which the monotone fit's jackknife+ is exact.
EXACT_JACKKNIFE_MAX = 60

FloatArray = NDArray[np.float64]

SAFER = "safer than capabilities predict"
LESS_SAFE = "less safe than capabilities predict"
WITHIN = "within expectation"


@dataclass(frozen=True)
class _OneFit:
    predicted: FloatArray  # leave-one-out predictions (oriented)
    low: FloatArray  # prediction interval (oriented)
    high: FloatArray
    p_value: FloatArray
    loo_mse: float
    press_without: FloatArray  # (n,) mean squared leave-one-out error over the others
    extra: dict[str, Any]


# -- the two fits --------------------------------------------------------------------------


def _linear(s: FloatArray, y: FloatArray, level: float) -> _OneFit:
    n = len(s)
    x = np.column_stack([np.ones(n), s])
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    h = np.einsum("ij,jk,ik->i", x, xtx_inv, x)
    e = y - x @ beta
    one_minus_h = np.clip(1.0 - h, 1e-12, None)
    d = e / one_minus_h  # leave-one-out residuals
    sse = float(e @ e)
    df = n - 3
    with np.errstate(invalid="ignore"):
        sigma_i = np.sqrt(np.clip((sse - e**2 / one_minus_h) / df, 0.0, None))
    se = sigma_i / np.sqrt(one_minus_h)
    t = scipy.stats.t.ppf(0.5 + level / 2.0, df)
    pred = y - d
    with np.errstate(invalid="ignore", divide="ignore"):
        tstat = np.where(se > 0, d / se, np.sign(d) * np.inf)
    p = 2.0 * scipy.stats.t.sf(np.abs(tstat), df)
    return _OneFit(
        predicted=pred,
        low=pred - t * se,
        high=pred + t * se,
        p_value=p,
        loo_mse=float(np.mean(d**2)),
        press_without=_linear_press_without(s, y),
        extra={
            "intercept": float(beta[0]),
            "slope": float(beta[1]),
            "residual_sd": math.sqrt(sse / (n - 2)) if n > 2 else math.nan,
        },
    )


def _linear_press_without(s: FloatArray, y: FloatArray) -> FloatArray:
    """For every model i: the mean squared leave-one-out residual of the line fitted to
    the other models, over those models (leave-two-out, closed form per i)."""
    n = len(s)
    x = np.column_stack([np.ones(n), s])
    w = 1.0 - np.eye(n)  # row i: the data without model i
    xtwx = np.einsum("ik,ka,kb->iab", w, x, x)
    inv = np.linalg.inv(xtwx)
    beta = np.einsum("iab,ik,kb,k->ia", inv, w, x, y)
    e = y[None, :] - beta @ x.T  # (i, j)
    h = np.einsum("ja,iab,jb->ij", x, inv, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = e / np.clip(1.0 - h, 1e-12, None)
    d[np.arange(n), np.arange(n)] = 0.0
    return (d * d).sum(axis=1) / (n - 1)


def _loo_monotone(s: FloatArray, y: FloatArray) -> tuple[FloatArray, bool]:
    """Leave-one-out predictions of the monotone fit, and whether the full-data fit is
    increasing."""
    n = len(s)
    fits, _ = isotonic_fits(s, y, 1.0 - np.eye(n))
    _, up = isotonic_fits(s, y, np.ones((1, n)))
    return np.diagonal(fits).copy(), bool(up[0])


def _jackknife_plus(
    s: FloatArray, y: FloatArray, level: float, loo_pred: FloatArray
) -> tuple[FloatArray, ...]:
    """Jackknife+ intervals for every model from the other models; also conformal
    p-values and, per model, the mean squared leave-one-out error over the other models.
    Returns (low, high, p_value, press_without)."""
    n = len(s)
    m = n - 1
    alpha = 1.0 - level
    k_hi = math.ceil((1.0 - alpha) * (m + 1))  # k-th smallest of the upper values
    k_lo = math.floor(alpha * (m + 1))  # k-th smallest of the lower values
    low = np.full(n, -np.inf)
    high = np.full(n, np.inf)
    p = np.ones(n)
    if n <= EXACT_JACKKNIFE_MAX:
        # one fit per ordered pair (i, j), i != j, leaving both out.
        ii, jj = np.nonzero(~np.eye(n, dtype=bool))
        w = np.ones((len(ii), n))
        w[np.arange(len(ii)), ii] = 0.0
        w[np.arange(len(ii)), jj] = 0.0
        fits, _ = isotonic_fits(s, y, w)
        at_i = fits[np.arange(len(ii)), ii].reshape(n, m)  # mu_{-ij}(s_i)
        resid = np.abs(y[jj] - fits[np.arange(len(ii)), jj]).reshape(n, m)  # R_j^(i)
    else:
        # residuals of the other models from the plain leave-one-out fits
        others = ~np.eye(n, dtype=bool)
        r_all = np.abs(y - loo_pred)
        resid = np.broadcast_to(r_all, (n, n))[others].reshape(n, m)
        at_i = np.broadcast_to(loo_pred[:, None], (n, m))
    if k_hi <= m:
        high = np.sort(at_i + resid, axis=1)[:, k_hi - 1]
    if k_lo >= 1:
        low = np.sort(at_i - resid, axis=1)[:, k_lo - 1]
    r_i = np.abs(y - loo_pred)
    p = (1.0 + (resid >= r_i[:, None] - 1e-12).sum(axis=1)) / (m + 1.0)
    return low, high, p, (resid * resid).mean(axis=1)


def _monotone(s: FloatArray, y: FloatArray, level: float) -> _OneFit:
    pred, increasing = _loo_monotone(s, y)
    low, high, p, press = _jackknife_plus(s, y, level, pred)
    return _OneFit(
        predicted=pred,
        low=low,
        high=high,
        p_value=p,
        loo_mse=float(np.mean((y - pred) ** 2)),
        press_without=press,
        extra={"direction": "increasing" if increasing else "decreasing"},
    )


def adjusted_scores(
    capabilities: Iterable[float],
    scores: Iterable[float],
    *,
    fit: FitKind = "auto",
    confidence_level: float = 0.95,
) -> pd.DataFrame:
    """Leave-one-out residuals of ``scores`` on ``capabilities`` with prediction intervals.

    The engine of :func:`adjust` for plain arrays: both must be finite and of equal
    length (at least 5). Higher ``scores`` must mean safer.

    Returns
    -------
    DataFrame
        One row per input position: ``capabilities_score, observed, predicted, pi_low,
        pi_high, residual, residual_low, residual_high, p_value, fit`` (each model's fit,
        chosen without it) plus, as
        ``.attrs``, the fit summary (``fit, loo_mse_linear, loo_mse_monotone, ...``).

    Examples
    --------
    >>> import numpy as np
    >>> s = np.linspace(-2, 2, 12)
    >>> y = 0.5 * s + np.array([0, .1, -.1, 0, .05, -.05, 1.5, 0, .1, -.1, 0, .05])
    >>> out = adjusted_scores(s, y, fit="linear")
    >>> bool(out.loc[6, "residual_low"] > 0)
    True
    """
    s = np.asarray(list(capabilities), dtype=float)
    y = np.asarray(list(scores), dtype=float)
    if s.shape != y.shape or s.ndim != 1:
        raise AnalysisError("capabilities and scores must be 1-d and of the same length")
    if not (np.isfinite(s).all() and np.isfinite(y).all()):
        raise AnalysisError("capabilities and scores must be finite")
    if fit not in FITS:
        raise AnalysisError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
    if not 0 < confidence_level < 1:
        raise AnalysisError(f"confidence_level must be between 0 and 1, got {confidence_level}")
    n = len(s)
    if n < MIN_MODELS:
        raise AnalysisError(f"only {n} models; an adjusted score needs at least {MIN_MODELS}")
    if np.ptp(s) == 0:
        raise AnalysisError("every model has the same capabilities score")
    order = np.argsort(s, kind="stable")
    ss, ys = s[order], y[order]
    lin = _linear(ss, ys, confidence_level) if fit in ("auto", "linear") else None
    mono = _monotone(ss, ys, confidence_level) if fit in ("auto", "monotone") else None
    if fit == "auto":
        assert lin is not None and mono is not None
        chosen_name = "monotone" if mono.loo_mse < lin.loo_mse * (1 - 1e-9) else "linear"
        # Each model's own fit is chosen on the other models only.
        use_mono = mono.press_without < lin.press_without * (1 - 1e-9)
    else:
        chosen_name = fit
        use_mono = np.full(n, fit == "monotone")
    back = np.empty(n, dtype=np.intp)
    back[order] = np.arange(n)

    def pick(field_name: str) -> FloatArray:
        a = getattr(lin, field_name) if lin is not None else None
        b = getattr(mono, field_name) if mono is not None else None
        if a is None:
            return b
        if b is None:
            return a
        return np.where(use_mono, b, a)

    pred = pick("predicted")[back]
    low, high = pick("low")[back], pick("high")[back]
    p_value = pick("p_value")[back]
    per_model = np.where(use_mono, "monotone", "linear")[back]
    resid = y - pred
    out = pd.DataFrame(
        {
            "capabilities_score": s,
            "observed": y,
            "predicted": pred,
            "pi_low": low,
            "pi_high": high,
            "residual": resid,
            "residual_low": y - high,
            "residual_high": y - low,
            "p_value": p_value,
            "fit": per_model,
        }
    )
    out.attrs = {
        "fit": chosen_name,
        "n": n,
        "loo_rmse_linear": math.sqrt(lin.loo_mse) if lin else math.nan,
        "loo_rmse_monotone": math.sqrt(mono.loo_mse) if mono else math.nan,
        **(
            lin.extra
            if lin
            else {"intercept": math.nan, "slope": math.nan, "residual_sd": math.nan}
        ),
        "direction": (
            mono.extra["direction"]
            if mono
            else ("increasing" if lin and lin.extra["slope"] >= 0 else "decreasing")
        ),
    }
    return out


def _assess(low: float, high: float) -> str:
    if low > 0:
        return SAFER
    if high < 0:
        return LESS_SAFE
    return WITHIN


# -- result --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, eq=False)
class AdjustResult(Result):
    """What :func:`adjust` found.

    Attributes
    ----------
    table
        One row per benchmark and model, ranked within each benchmark by residual (safest
        relative to capabilities first): ``benchmark, rank, model, capabilities_score,
        observed, predicted, pi_low, pi_high`` (on the benchmark's own scale),
        ``residual, residual_low, residual_high`` (oriented: positive = safer than
        capabilities predict, whatever the benchmark's direction), ``p_value, fit`` (the
        model's own fit, chosen without it), ``assessment``.
    fits
        One row per benchmark: ``benchmark, name, area, n, fit`` (chosen on all models),
        ``n_monotone`` (models whose own choice was monotone), ``direction,
        loo_rmse_linear, loo_rmse_monotone, slope, intercept, residual_sd, oriented,
        n_safer, n_less_safe``.
    capabilities
        The capabilities score the fits use.
    settings
        Every choice that produced the numbers.
    """

    analysis: ClassVar[str] = "adjust"
    schema_version: ClassVar[int] = 1
    tables: ClassVar[Mapping[str, str]] = {"fits": "fits", "scores": "table"}

    table: pd.DataFrame
    fits: pd.DataFrame
    capabilities: CapabilitiesScore
    panel: Panel | None = field(default=None, repr=False)

    def _extra_to_dict(self) -> dict[str, Any]:
        return {"capabilities": self.capabilities.to_dict()}

    @classmethod
    def _extra_from_dict(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"capabilities": CapabilitiesScore.from_dict(data["capabilities"])}

    def ranking(self, benchmark: str) -> pd.DataFrame:
        """The ranked table of one benchmark."""
        rows = self.table[self.table["benchmark"] == benchmark]
        if rows.empty:
            raise AnalysisError(f"benchmark {benchmark!r} was not adjusted")
        return rows.reset_index(drop=True)

    def model(self, model: str) -> pd.DataFrame:
        """One model's adjusted scores across benchmarks."""
        rows = self.table[self.table["model"] == model]
        if rows.empty:
            raise AnalysisError(f"model {model!r} has no adjusted score")
        return rows.reset_index(drop=True)


def adjust(
    panel: Panel,
    capabilities: Iterable[str] | None = None,
    *,
    benchmarks: Iterable[str] | None = None,
    fit: FitKind = "auto",
    confidence_level: float = 0.95,
    impute: bool = False,
    pca: PCAMatrix = "spearman",
    impute_rank: int = 2,
) -> AdjustResult:
    """Capabilities-adjusted safety scores: each model's leave-one-out residual from what
    its capabilities score predicts, with a prediction interval.

    Parameters
    ----------
    panel
        The score matrix; lower-is-better benchmarks are negated first so higher is safer.
    capabilities
        Capability benchmark ids; default: the panel's capability set.
    benchmarks
        Benchmarks to adjust; default: every benchmark whose role is ``safety`` (else
        every non-capability benchmark).
    fit
        ``auto`` (linear or monotone, whichever has the smaller leave-one-out error),
        ``linear`` or ``monotone``.
    confidence_level
        Coverage of the prediction intervals.
    impute, pca, impute_rank
        How the capabilities score is estimated, as in :func:`evalgap.audit`.

    Returns
    -------
    AdjustResult

    Raises
    ------
    AnalysisError
        Unknown benchmark, a benchmark with fewer than 5 models, bad settings.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from evalgap import Panel, adjust
    >>> rng = np.random.default_rng(1)
    >>> g = rng.normal(size=20)
    >>> scores = pd.DataFrame({"cap0": g, "cap1": g + 0.2 * rng.normal(size=20),
    ...                        "safety": 0.5 * g + 0.05 * rng.normal(size=20)},
    ...                       index=[f"m{i:02d}" for i in range(20)])
    >>> scores.loc["m07", "safety"] += 0.5  # much safer than its capabilities predict
    >>> result = adjust(Panel.from_frames(scores, capabilities=["cap0", "cap1"]))
    >>> result.ranking("safety").loc[0, ["model", "assessment"]].tolist()
    ['m07', 'safer than capabilities predict']

    On a public panel:

    >>> from evalgap import load_panel
    >>> result = adjust(load_panel("safetywashing-2024:chat"),
    ...                 benchmarks=["truthfulqa_mc1"])  # doctest: +SKIP
    >>> result.ranking("truthfulqa_mc1")[["model", "residual", "assessment"]]  # doctest: +SKIP
    """
    if fit not in FITS:
        raise AnalysisError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
    if not 0 < confidence_level < 1:
        raise AnalysisError(f"confidence_level must be between 0 and 1, got {confidence_level}")
    cap = capabilities_score(
        panel,
        list(capabilities) if capabilities is not None else None,
        impute=impute,
        pca=pca,
        impute_rank=impute_rank,
    )
    caps = cap.capabilities
    if benchmarks is None:
        chosen = [b for b in panel.safety_benchmarks if b not in caps]
        targets = chosen or _check_benchmarks(panel, caps, None)
    else:
        targets = _check_benchmarks(panel, caps, benchmarks)
    oriented = panel.oriented_scores()
    s_all = cap.scores
    rows: list[pd.DataFrame] = []
    fit_rows: list[dict[str, Any]] = []
    for bench in targets:
        raw = panel.scores[bench]
        use = s_all.notna() & raw.notna()
        n = int(use.sum())
        if n < MIN_MODELS:
            raise AnalysisError(
                f"benchmark {bench!r} has scores for only {n} of the models with a "
                f"capabilities score (at least {MIN_MODELS} are needed)",
                source=panel.source or None,
            )
        models = sorted(use.index[use])
        y = oriented.loc[models, bench].to_numpy(dtype=float)
        if np.ptp(y) == 0:
            raise AnalysisError(
                f"benchmark {bench!r} has the same score for every model; nothing to adjust",
                source=panel.source or None,
            )
        s = s_all.loc[models].to_numpy(dtype=float)
        out = adjusted_scores(s, y, fit=fit, confidence_level=confidence_level)
        hib = bool(panel.benchmarks.loc[bench, "higher_is_better"])
        sign = 1.0 if hib else -1.0
        frame = pd.DataFrame(
            {
                "benchmark": bench,
                "model": models,
                "capabilities_score": s,
                "observed": raw.loc[models].to_numpy(dtype=float),
                "predicted": sign * out["predicted"].to_numpy(),
                "pi_low": (out["pi_low"] if hib else -out["pi_high"]).to_numpy(),
                "pi_high": (out["pi_high"] if hib else -out["pi_low"]).to_numpy(),
                "residual": out["residual"].to_numpy(),
                "residual_low": out["residual_low"].to_numpy(),
                "residual_high": out["residual_high"].to_numpy(),
                "p_value": out["p_value"].to_numpy(),
                "fit": out["fit"].to_numpy(),
            }
        )
        frame["assessment"] = [
            _assess(a, b)
            for a, b in zip(frame["residual_low"], frame["residual_high"], strict=True)
        ]
        order = np.lexsort((frame["model"].to_numpy(), -frame["residual"].to_numpy()))
        frame = frame.iloc[order].reset_index(drop=True)
        frame.insert(1, "rank", np.arange(1, len(frame) + 1))
        rows.append(frame)
        a = out.attrs
        fit_rows.append(
            {
                "benchmark": bench,
                "name": panel.benchmarks.loc[bench, "name"],
                "area": panel.benchmarks.loc[bench, "area"],
                "n": n,
                "fit": a["fit"],
                "n_monotone": int((out["fit"] == "monotone").sum()),
                "direction": a["direction"],
                "loo_rmse_linear": a["loo_rmse_linear"],
                "loo_rmse_monotone": a["loo_rmse_monotone"],
                "slope": a["slope"],
                "intercept": a["intercept"],
                "residual_sd": a["residual_sd"],
                "oriented": "as is" if hib else "negated",
                "n_safer": int((frame["assessment"] == SAFER).sum()),
                "n_less_safe": int((frame["assessment"] == LESS_SAFE).sum()),
            }
        )
    table = pd.concat(rows, ignore_index=True)
    fits = pd.DataFrame(fit_rows)
    settings = {
        "panel": panel.source,
        "capabilities": caps,
        "capabilities_mode": cap.mode,
        "pca": pca,
        "impute_rank": impute_rank if impute else None,
        "fit": fit,
        "confidence_level": confidence_level,
        "benchmarks": len(targets),
        "residual": "leave-one-out: observed minus the prediction of the fit estimated "
        "without the model; oriented so positive = safer than capabilities predict",
        "intervals": {
            "linear": "t prediction interval from the fit without the model (n - 3 df)",
            "monotone": "jackknife+ over the other models (exact up to "
            f"{EXACT_JACKKNIFE_MAX} models)",
        },
        "selection": "per model, linear or monotone by the leave-one-out mean squared error "
        "over the other models"
        if fit == "auto"
        else f"{fit} (fixed)",
        "slope_units": "oriented benchmark units per unit of capabilities score",
        "files": dict(panel.files),
    }
    return AdjustResult(
        table=table,
        fits=fits,
        capabilities=cap,
        settings=settings,
        provenance=Provenance(inputs=panel.files),
        panel=panel,
    )
