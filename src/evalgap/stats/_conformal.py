"""Prediction intervals for each point from fits that never see it: leave-two-out fits,
jackknife+ (plain or locally scaled) and locally studentized intervals.

Jackknife+ (Barber, Candès, Ramdas and Tibshirani 2021) predicts point ``i`` from fits
without ``i`` and, for every other point ``j``, without ``j`` too; the interval for ``y_i``
runs between quantiles of ``mu_{-ij}(x_i) -/+ R_j`` with ``R_j = |y_j - mu_{-ij}(x_j)|``.
Its coverage is right on average over ``x`` but not at every ``x``: where the scatter grows
with ``x`` the intervals at the top are too narrow and at the bottom too wide. At high
confidence with a few dozen points it also reads its ends off the largest residual of the
others, so one outlying point widens everyone's interval.

A local scale ``sigma(x)`` is estimated from the absolute residuals of the other points:
a quadratic least-squares fit of ``R`` on the *rank* of ``x`` (so a point far out on the
``x`` axis gets no extrapolated scale), each ``R`` capped at three robust SDs first (so one
outlier cannot bend it), floored at a fifth of the mean residual. The scale for a pair
``(i, j)`` is fitted without ``i`` and ``j``, so nothing about point ``i``'s interval uses
``y_i`` and point ``j``'s own residual does not shrink its score. It follows scatter that
grows, shrinks, or is larger at both ends. :func:`scaled_jackknife_plus` uses it as
normalised conformal prediction does (Papadopoulos et al. 2008; Lei et al. 2018);
:func:`studentized_intervals` (what :func:`evalgap.adjust` uses) reads the spread off the
mean square of the scaled residuals with a t quantile, accounting for each point's
leverage and for the fewer points that set the scale at the ends of the range.

Fits of degree 1 and 2 are closed-form and batched over all pairs; monotone fits come
from :func:`evalgap.stats.isotonic_fits`. Above ``exact_max`` points the other points'
residuals come from their plain leave-one-out fits (which include point ``i`` with weight
``1/n``), keeping the cost quadratic in ``n``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from evalgap.stats._isotonic import isotonic_fits

__all__ = [
    "PairFits",
    "ScaledIntervals",
    "leverage_of",
    "pairwise_monotone_fits",
    "pairwise_polynomial_fits",
    "scaled_jackknife_plus",
    "studentized_intervals",
]

FloatArray = NDArray[np.float64]
# Floor of a fitted scale, as a share of the mean absolute residual.
_SCALE_FLOOR = 0.2
# Studentized residuals are winsorised at this many robust SDs before their RMS.
_WINSOR = 5.0
# Absolute residuals are capped at this many robust SDs before the scale is fitted.
_CAP = 3.0
# Degree of the scale's polynomial in the rank of x.
_SCALE_DEGREE = 2


@dataclass(frozen=True)
class PairFits:
    """Fits that leave points out: ``at_i[i, j] = mu_{-ij}(x_i)``, ``at_j[i, j] =
    mu_{-ij}(x_j)`` (diagonals unused), ``loo[i] = mu_{-i}(x_i)``; for least-squares fits
    also the leverage of each left-out point, ``lev_loo[i] = x_i' (X_{-i}' X_{-i})^-1 x_i``
    and ``lev_pair[i, j]`` likewise for ``x_j`` in the fit without ``i`` and ``j`` (its
    prediction's variance is ``sigma^2 * lev``)."""

    at_i: FloatArray
    at_j: FloatArray
    loo: FloatArray
    lev_loo: FloatArray | None = None
    lev_pair: FloatArray | None = None


@dataclass(frozen=True)
class ScaledIntervals:
    """Per point: interval for ``y_i`` (``low``, ``high``), conformal p-value of its
    (scaled) residual, the mean squared leave-two-out residual of the other points
    (``press_without``, for choosing a fit without ``y_i``), and the scale ``sigma(x_i)``
    fitted without it (1 for constant scale)."""

    low: FloatArray
    high: FloatArray
    p_value: FloatArray
    press_without: FloatArray
    scale: FloatArray


def _design(x: FloatArray, degree: int) -> FloatArray:
    return np.column_stack([x**d for d in range(degree + 1)])


def _solve(gram: FloatArray, rhs: FloatArray) -> FloatArray:
    """Batched least squares ``gram @ beta = rhs`` with a whisper of ridge, so a pair whose
    remaining points cannot fix every coefficient gives a finite answer."""
    p = gram.shape[-1]
    ridge = 1e-10 * (np.trace(gram, axis1=-2, axis2=-1)[..., None, None] / p + 1e-300)
    return np.linalg.solve(gram + ridge * np.eye(p), rhs[..., None])[..., 0]


def pairwise_polynomial_fits(x: FloatArray, y: FloatArray, degree: int) -> PairFits:
    """Least-squares polynomial fits of ``y`` on ``x`` leaving out each point and each
    pair of points.

    Examples
    --------
    >>> x = np.arange(6.0); y = 2 * x + 1
    >>> fits = pairwise_polynomial_fits(x, y, 1)
    >>> bool(np.allclose(fits.loo, y) and np.allclose(fits.at_i[0, 3], 1.0))
    True
    """
    design = _design(x, degree)
    outer = np.einsum("ka,kb->kab", design, design)
    gram = outer.sum(axis=0)
    rhs = design.T @ y
    xy = design * y[:, None]
    loo_beta = _solve(gram[None] - outer, rhs[None] - xy)
    loo = np.einsum("ip,ip->i", loo_beta, design)
    pair_beta = _solve(
        gram[None, None] - outer[:, None] - outer[None, :], rhs[None, None] - xy[:, None] - xy[None]
    )
    at_i = np.einsum("ijp,ip->ij", pair_beta, design)
    at_j = np.einsum("ijp,jp->ij", pair_beta, design)
    lev_loo, lev_pair = _leverages(design, gram, outer)
    return PairFits(at_i, at_j, loo, lev_loo, lev_pair)


def _leverages(
    design: FloatArray, gram: FloatArray, outer: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Leverage of each left-out point in the fit without it, and of ``x_j`` in the fit
    without ``i`` and ``j``."""
    p = design.shape[1]
    eye = np.eye(p)
    ridge = 1e-10 * (np.trace(gram) / p + 1e-300) * eye
    inv_loo = np.linalg.inv(gram[None] - outer + ridge)
    lev_loo = np.einsum("ip,ipq,iq->i", design, inv_loo, design)
    inv_pair = np.linalg.inv(gram[None, None] - outer[:, None] - outer[None, :] + ridge)
    lev_pair = np.einsum("jp,ijpq,jq->ij", design, inv_pair, design)
    return lev_loo, lev_pair


def leverage_of(x: FloatArray, degree: int = 1) -> tuple[FloatArray, FloatArray]:
    """``(lev_loo, lev_pair)`` of a polynomial fit of ``degree`` in ``x`` (see
    :class:`PairFits`): how far out each point sits, for fits without leverages."""
    design = _design(x, degree)
    outer = np.einsum("ka,kb->kab", design, design)
    return _leverages(design, outer.sum(axis=0), outer)


def pairwise_monotone_fits(x: FloatArray, y: FloatArray, exact_max: int = 60) -> PairFits:
    """Monotone (isotonic, direction chosen per fit) fits leaving out each point and each
    pair of points; above ``exact_max`` points the pair fits are replaced by the
    leave-one-out fits (``at_i[i, j] = loo[i]``, ``at_j[i, j] = loo[j]``). ``x`` must be
    sorted."""
    n = len(x)
    fits, _ = isotonic_fits(x, y, 1.0 - np.eye(n))
    loo = np.diagonal(fits).copy()
    if n > exact_max:
        return PairFits(
            np.broadcast_to(loo[:, None], (n, n)).copy(),
            np.broadcast_to(loo[None, :], (n, n)).copy(),
            loo,
        )
    ii, jj = np.nonzero(~np.eye(n, dtype=bool))
    w = np.ones((len(ii), n))
    w[np.arange(len(ii)), ii] = 0.0
    w[np.arange(len(ii)), jj] = 0.0
    pair, _ = isotonic_fits(x, y, w)
    at_i = np.zeros((n, n))
    at_j = np.zeros((n, n))
    rows = np.arange(len(ii))
    at_i[ii, jj] = pair[rows, ii]
    at_j[ii, jj] = pair[rows, jj]
    return PairFits(at_i, at_j, loo)


def _scale_fits(
    x: FloatArray, resid: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Quadratic fits of the absolute residuals on the rank of ``x``: ``sig_j[i, j]`` and
    ``sig_i[i, j]`` from the residuals ``resid[i, k]`` of every ``k`` but ``i`` and ``j``,
    evaluated at ``x_j`` and ``x_i``; ``sig_loo[i]`` from every ``k`` but ``i``.

    The scale follows the *rank* of ``x`` (spread evenly over [0, 1]), not ``x`` itself,
    so a model far out on the capability axis cannot pull the quadratic to an
    extrapolated, near-zero scale at its own position; and each residual is capped at
    ``_CAP`` robust SDs of its row first, so one outlying model cannot bend the fit."""
    n = len(x)
    ranks = (np.argsort(np.argsort(x, kind="stable"), kind="stable") + 0.5) / n
    design = _design(ranks, _SCALE_DEGREE)
    outer = np.einsum("ka,kb->kab", design, design)
    others = 1.0 - np.eye(n)
    r = resid * others
    off = ~np.eye(n, dtype=bool)
    robust = np.median(r[off].reshape(n, n - 1), axis=1, keepdims=True) / 0.6745
    r = np.minimum(r, _CAP * robust) * others
    gram_i = np.einsum("ik,kab->iab", others, outer)
    rhs_i = r @ design
    loo_beta = _solve(gram_i, rhs_i)
    pair_beta = _solve(gram_i[:, None] - outer[None, :], rhs_i[:, None] - r[..., None] * design)
    floor_i = _SCALE_FLOOR * r.sum(axis=1) / max(n - 1, 1)
    floor_ij = _SCALE_FLOOR * (r.sum(axis=1)[:, None] - r) / max(n - 2, 1)
    sig_j = np.maximum(np.einsum("ijp,jp->ij", pair_beta, design), floor_ij)
    sig_i = np.maximum(np.einsum("ijp,ip->ij", pair_beta, design), floor_ij)
    sig_loo = np.maximum(np.einsum("ip,ip->i", loo_beta, design), floor_i)
    # how many points effectively set the scale at x_i: 1 / leverage of the scale fit
    gram_inv = np.linalg.inv(gram_i + 1e-12 * np.eye(design.shape[1]))
    lev_scale = np.einsum("ip,ipq,iq->i", design, gram_inv, design)
    return sig_j, sig_i, sig_loo, lev_scale


def scaled_jackknife_plus(
    x: FloatArray,
    y: FloatArray,
    fits: PairFits,
    *,
    confidence_level: float,
    scale: Literal["local", "constant"] = "local",
) -> ScaledIntervals:
    """Jackknife+ intervals for every point, with residuals scaled locally (``local``)
    or not (``constant``, the plain jackknife+).

    With fewer points than ``1 / (1 - confidence_level)`` the interval is unbounded.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.sort(rng.normal(size=30)); y = x + 0.1 * np.exp(x) * rng.normal(size=30)
    >>> out = scaled_jackknife_plus(x, y, pairwise_polynomial_fits(x, y, 1), confidence_level=0.9)
    >>> bool((out.high - out.low)[-1] > (out.high - out.low)[0])  # wider where scatter is larger
    True
    """
    n = len(x)
    m = n - 1
    alpha = 1.0 - confidence_level
    off = ~np.eye(n, dtype=bool)
    resid = np.abs(y[None, :] - fits.at_j)  # resid[i, j] = R_j without i and j
    resid[~off] = 0.0
    if scale == "local":
        sig_j, sig_i, sig_loo, _ = _scale_fits(x, resid)
    else:
        sig_j = sig_i = np.ones((n, n))
        sig_loo = np.ones(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = resid / sig_j
    lows = (fits.at_i - score * sig_i)[off].reshape(n, m)
    highs = (fits.at_i + score * sig_i)[off].reshape(n, m)
    k_hi = math.ceil((1.0 - alpha) * (m + 1))  # k-th smallest of the upper values
    k_lo = math.floor(alpha * (m + 1))  # k-th smallest of the lower values
    low = np.sort(lows, axis=1)[:, k_lo - 1] if k_lo >= 1 else np.full(n, -np.inf)
    high = np.sort(highs, axis=1)[:, k_hi - 1] if k_hi <= m else np.full(n, np.inf)
    own = np.abs(y - fits.loo) / sig_loo
    others = score[off].reshape(n, m)
    p = (1.0 + (others >= own[:, None] - 1e-12).sum(axis=1)) / (m + 1.0)
    press = (resid[off].reshape(n, m) ** 2).mean(axis=1)
    return ScaledIntervals(low, high, p, press, sig_loo)


def studentized_intervals(
    x: FloatArray,
    y: FloatArray,
    fits: PairFits,
    *,
    confidence_level: float,
    df: int,
) -> ScaledIntervals:
    """Locally studentized prediction intervals: ``mu_{-i}(x_i) +/- t_nu_i * tau_i *
    sigma_{-i}(x_i) * sqrt(1 + h_i)``, where ``sigma_{-i}`` is the scale fitted (as a
    quadratic in the rank of ``x``) to the other points' leave-two-out absolute
    residuals, ``h_i`` the leverage of ``x_i`` in the fit without it, ``tau_i`` the root
    mean square of the other points' residuals, each divided by its own scale (fitted
    without it) and ``sqrt(1 + leverage)``, and ``nu_i`` the degrees of freedom of the
    local scale at ``x_i`` (fewer at the ends of the range, where fewer points set it);
    the p-value is the matching two-sided t p-value.

    Like the t interval of a line (which it resembles when the scatter is even), it
    reads the spread off a mean square rather than off the largest residuals, as
    jackknife+ at high confidence must; the scaled residuals are winsorised at five
    robust SDs first, so one outlying model does not widen every other model's interval.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.sort(rng.normal(size=30)); y = x + 0.1 * np.exp(x) * rng.normal(size=30)
    >>> fits = pairwise_polynomial_fits(x, y, 1)
    >>> out = studentized_intervals(x, y, fits, confidence_level=0.9, df=27)
    >>> bool((out.high - out.low)[-1] > (out.high - out.low)[0])
    True
    """
    import scipy.stats

    n = len(x)
    m = n - 1
    off = ~np.eye(n, dtype=bool)
    signed = y[None, :] - fits.at_j
    signed[~off] = 0.0
    resid = np.abs(signed)
    # Each other point k is scaled by the fit without i and without k itself: fitted
    # with its own residual, its scale would lean towards it (most at the ends of the
    # range, where a quadratic has the most leverage) and tau would come out too small.
    scale_k, _, sig_loo, lev_scale = _scale_fits(x, resid)
    # A prediction far out on x is less certain (its leverage): each residual is divided
    # by sqrt(1 + leverage) too, and the interval widened by it, as the t interval of a
    # line does; fits without leverages (monotone) borrow the line's.
    lev_loo, lev_pair = (
        (fits.lev_loo, fits.lev_pair)
        if fits.lev_loo is not None and fits.lev_pair is not None
        else leverage_of(x, 1)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        u = signed / (scale_k * np.sqrt(1.0 + lev_pair))
    u = np.abs(u[off].reshape(n, m))
    # Winsorised at five robust SDs, so one outlying model cannot inflate every other
    # model's interval; ordinary scatter is almost never clipped.
    robust = np.median(u, axis=1, keepdims=True) / 0.6745
    tau = np.sqrt((np.minimum(u, _WINSOR * robust) ** 2).mean(axis=1))
    spread_i = tau * sig_loo * np.sqrt(1.0 + lev_loo)
    # The local scale at x_i rests on fewer points the further out x_i is: its degrees
    # of freedom follow the scale fit's leverage (an absolute normal residual has
    # squared coefficient of variation pi/2 - 1, so a scale from an effective m points
    # has about m / (2 (pi/2 - 1)) = 0.88 m degrees of freedom).
    local_df = np.clip(0.88 / np.maximum(lev_scale, 1e-12), 1.0, df)
    half = scipy.stats.t.ppf(0.5 + confidence_level / 2.0, local_df) * spread_i
    with np.errstate(invalid="ignore", divide="ignore"):
        t_own = np.abs(y - fits.loo) / spread_i
    p = 2.0 * scipy.stats.t.sf(t_own, local_df)
    press = (resid[off].reshape(n, m) ** 2).mean(axis=1)
    return ScaledIntervals(fits.loo - half, fits.loo + half, p, press, sig_loo)
