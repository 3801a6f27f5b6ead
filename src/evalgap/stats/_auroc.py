"""The area under the ROC curve, with its bootstrap interval and one-sided p-value.

A resample is a vector of item counts (as everywhere in :mod:`evalgap.stats`), so every
resample's AUROC comes from one set of array operations over a score-sorted layout: the
weighted share of (positive, negative) pairs ordered correctly, ties counting one half
(the Mann-Whitney U statistic over ``n_pos * n_neg``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evalgap.stats._resample import CIMethod, confidence_intervals

__all__ = [
    "AurocInterval",
    "auroc",
    "auroc_interval",
    "auroc_jackknife",
    "auroc_pvalue",
    "auroc_resampled",
    "stratified_bootstrap_weights",
]

FloatArray = NDArray[np.float64]


def _checked(scores: ArrayLike, labels: ArrayLike) -> tuple[FloatArray, NDArray[np.bool_]]:
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels)
    if s.ndim != 1 or y.shape != s.shape:
        raise ValueError(f"scores and labels must be 1-d of one length, got {s.shape}, {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return s, y.astype(bool)


@dataclass(frozen=True)
class _Layout:
    """Items sorted by score and cut into groups of tied scores."""

    order: NDArray[np.int64]
    starts: NDArray[np.int64]
    positive: NDArray[np.bool_]  # in sorted order


def _layout(s: FloatArray, y: NDArray[np.bool_]) -> _Layout:
    order = np.argsort(s, kind="stable")
    sorted_s = s[order]
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    return _Layout(order=order, starts=starts, positive=y[order])


def _weighted(layout: _Layout, weights: FloatArray) -> FloatArray:
    """AUROC under each row of frequency ``weights`` ((B, n) in input order)."""
    w = weights[:, layout.order]
    pos = np.add.reduceat(w * layout.positive, layout.starts, axis=1)
    neg = np.add.reduceat(w * ~layout.positive, layout.starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    correct = (pos * (below + 0.5 * neg)).sum(axis=1)
    pairs = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, correct / pairs, np.nan)


def auroc(scores: ArrayLike, labels: ArrayLike) -> float:
    """Area under the ROC curve of ``scores`` for ``labels`` (1 = positive): the share of
    (positive, negative) pairs in which the positive scores higher, ties counting one half.

    Returns NaN when a class is empty.

    Examples
    --------
    >>> auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    """
    s, y = _checked(scores, labels)
    return float(_weighted(_layout(s, y), np.ones((1, s.size)))[0])


def auroc_resampled(scores: ArrayLike, labels: ArrayLike, weights: ArrayLike) -> FloatArray:
    """AUROC under each row of frequency weights ``(B, n)`` (a resample as item counts);
    NaN where a resample has no positive or no negative.

    Examples
    --------
    >>> auroc_resampled([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], [[1, 1, 1, 1], [2, 0, 1, 1]])
    array([0.75, 1.  ])
    """
    s, y = _checked(scores, labels)
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    if w.shape[1] != s.size:
        raise ValueError(f"weights have {w.shape[1]} columns for {s.size} items")
    return _weighted(_layout(s, y), w)


def auroc_jackknife(scores: ArrayLike, labels: ArrayLike) -> FloatArray:
    """Leave-one-out AUROCs, item ``i`` left out in entry ``i`` (in closed form: one item
    takes its own pairs with it).

    Examples
    --------
    >>> auroc_jackknife([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    array([0.5, 1. , 1. , 0.5])
    """
    s, y = _checked(scores, labels)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    layout = _layout(s, y)
    pos = np.add.reduceat(layout.positive.astype(float), layout.starts)
    neg = np.add.reduceat((~layout.positive).astype(float), layout.starts)
    below = np.cumsum(neg) - neg
    above = pos.sum() - np.cumsum(pos)
    total = float((pos * (below + 0.5 * neg)).sum())
    group = np.empty(s.size, dtype=np.int64)
    group[layout.order] = np.repeat(
        np.arange(layout.starts.size), np.diff(np.r_[layout.starts, s.size])
    )
    out = np.full(s.size, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        if n_pos > 1 and n_neg > 0:
            mine = below[group] + 0.5 * neg[group]
            out[y] = ((total - mine) / ((n_pos - 1) * n_neg))[y]
        if n_neg > 1 and n_pos > 0:
            mine = above[group] + 0.5 * pos[group]
            out[~y] = ((total - mine) / (n_pos * (n_neg - 1)))[~y]
    return out


def auroc_pvalue(scores: ArrayLike, labels: ArrayLike) -> float:
    """One-sided p-value that positives score higher than negatives (AUROC > 0.5): the
    Mann-Whitney U test (exact for small samples without ties, else the normal
    approximation with tie correction).

    Examples
    --------
    >>> round(auroc_pvalue([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], [0, 0, 0, 1, 1, 1]), 3)
    0.05
    """
    from scipy.stats import mannwhitneyu

    s, y = _checked(scores, labels)
    if y.all() or not y.any():
        return float("nan")
    return float(mannwhitneyu(s[y], s[~y], alternative="greater").pvalue)


def stratified_bootstrap_weights(
    labels: ArrayLike, n_boot: int, rng: np.random.Generator
) -> FloatArray:
    """(n_boot, n) item counts of bootstrap resamples drawn within each class, so every
    resample keeps the numbers of positives and negatives.

    Examples
    --------
    >>> w = stratified_bootstrap_weights([0, 0, 1, 1, 1], 4, np.random.default_rng(0))
    >>> w[:, :2].sum(axis=1), w[:, 2:].sum(axis=1)
    (array([2., 2., 2., 2.]), array([3., 3., 3., 3.]))
    """
    y = np.asarray(labels).astype(bool)
    out = np.zeros((n_boot, y.size))
    for cls in (False, True):
        idx = np.flatnonzero(y == cls)
        if idx.size:
            out[:, idx] = rng.multinomial(idx.size, np.full(idx.size, 1.0 / idx.size), size=n_boot)
    return out


@dataclass(frozen=True)
class AurocInterval:
    """An AUROC with its bootstrap interval and one-sided p-value (AUROC > 0.5)."""

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    n_pos: int
    n_neg: int
    note: str = ""


def auroc_interval(
    scores: ArrayLike,
    labels: ArrayLike,
    weights: ArrayLike,
    *,
    confidence_level: float = 0.95,
    method: CIMethod = "bca",
) -> AurocInterval:
    """AUROC, its bootstrap interval over the given resamples, and its p-value.

    Parameters
    ----------
    scores, labels
        One score per item; labels 1 (positive) or 0.
    weights
        (B, n) resamples as item counts (:func:`stratified_bootstrap_weights`); share one
        set between several scorings of the same items for paired comparisons.
    confidence_level, method
        As :func:`evalgap.stats.confidence_intervals` (BCa takes its acceleration from
        the closed-form jackknife).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.zeros(50), np.ones(50)]
    >>> s = y + rng.normal(size=100)
    >>> out = auroc_interval(s, y, stratified_bootstrap_weights(y, 500, rng))
    >>> out.ci_low < out.estimate < out.ci_high, out.p_value < 1e-3
    (True, True)
    """
    s, y = _checked(scores, labels)
    estimate = auroc(s, y)
    boot = auroc_resampled(s, y, weights)
    jack = auroc_jackknife(s, y) if method == "bca" else None
    low, high, _, notes = confidence_intervals(
        boot[:, None],
        np.array([estimate]),
        None if jack is None else jack[:, None],
        confidence_level=confidence_level,
        method=method,
    )
    return AurocInterval(
        estimate=estimate,
        ci_low=float(low[0]),
        ci_high=float(high[0]),
        p_value=auroc_pvalue(s, y),
        n_pos=int(y.sum()),
        n_neg=int((~y).sum()),
        note=notes[0],
    )
