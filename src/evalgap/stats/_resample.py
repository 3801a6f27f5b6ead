"""Bootstrap and jackknife weights over models, confidence intervals from them, and the
blocks a bootstrap is split into.

A bootstrap of B resamples is cut into blocks of :data:`RESAMPLE_BLOCK` resamples. The
weights of every block are drawn in order from one generator, so block ``i`` holds the
same resamples however the blocks are then grouped or run (one after another here, as
tasks of an executor on other machines); every statistic of a block is computed from its
own weights only. The results therefore do not depend on chunk sizes or on the executor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

__all__ = [
    "CI_METHODS",
    "RESAMPLE_BLOCK",
    "Executor",
    "InProcess",
    "bootstrap_weights",
    "confidence_intervals",
    "jackknife_weights",
    "resample_blocks",
]

CIMethod = Literal["bca", "percentile"]
#: Interval methods: bias-corrected and accelerated (default) or plain percentile.
CI_METHODS = ("bca", "percentile")

#: Resamples per block: the unit a bootstrap is split into, and handed to an executor.
RESAMPLE_BLOCK = 1000

FloatArray = NDArray[np.float64]
T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """What runs independent tasks: ``map(fn, tasks)`` returns ``[fn(t) for t in tasks]``
    in order. :class:`InProcess` runs them here; an executor may run them anywhere (Ray
    tasks on a cluster) as long as ``fn`` and the tasks travel by pickle."""

    def map(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> list[Any]: ...


class InProcess:
    """Runs tasks one after another in this process (the default executor).

    Examples
    --------
    >>> InProcess().map(abs, [-1, 2, -3])
    [1, 2, 3]
    """

    def map(self, fn: Callable[[T], R], tasks: Iterable[T]) -> list[R]:
        return [fn(task) for task in tasks]


def bootstrap_weights(n: int, n_boot: int, rng: np.random.Generator) -> FloatArray:
    """(n_boot, n) frequency weights: how often each of n models is drawn in each of
    n_boot resamples of size n with replacement."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)


def resample_blocks(
    n: int, n_boot: int, rng: np.random.Generator, block: int = RESAMPLE_BLOCK
) -> Iterator[tuple[int, NDArray[np.int32]]]:
    """The bootstrap's blocks, drawn in order: ``(first resample, counts)`` with counts of
    shape (rows, n), ``block`` rows except the last. Drawing them one by one gives exactly
    the resamples :func:`bootstrap_weights` gives all at once, with one block in memory.

    Examples
    --------
    >>> import numpy as np
    >>> blocks = list(resample_blocks(5, 2500, np.random.default_rng(0)))
    >>> [(lo, c.shape) for lo, c in blocks]
    [(0, (1000, 5)), (1000, (1000, 5)), (2000, (500, 5))]
    >>> all_at_once = bootstrap_weights(5, 2500, np.random.default_rng(0))
    >>> bool((np.concatenate([c for _, c in blocks]) == all_at_once).all())
    True
    """
    p = np.full(n, 1.0 / n)
    for lo in range(0, n_boot, block):
        yield lo, rng.multinomial(n, p, size=min(block, n_boot - lo)).astype(np.int32)


def jackknife_weights(n: int) -> FloatArray:
    """(n, n) weights whose row i leaves model i out."""
    return 1.0 - np.eye(n)


def jackknife_rows(n: int, lo: int, hi: int) -> FloatArray:
    """Rows ``lo:hi`` of :func:`jackknife_weights` (n), without the n x n matrix."""
    rows = np.ones((hi - lo, n))
    rows[np.arange(hi - lo), np.arange(lo, hi)] = 0.0
    return rows


def _percentile_of(boot: FloatArray, theta: float) -> float:
    return ((boot < theta).sum() + (boot <= theta).sum()) / (2.0 * boot.size)


def confidence_intervals(
    boot: FloatArray,
    estimate: FloatArray,
    jack: FloatArray | None = None,
    *,
    confidence_level: float = 0.95,
    method: CIMethod = "bca",
    min_valid: float = 0.5,
) -> tuple[FloatArray, FloatArray, NDArray[np.int64], list[str]]:
    """Bootstrap confidence intervals, one per column, all columns at once.

    Each column is sorted once (NaN last); the BCa bias correction, acceleration and
    levels, and the quantiles (NumPy's default linear interpolation) are then computed
    for every column together, with the same arithmetic as a per-column
    ``np.quantile``, so the bounds are the same to the bit.

    Parameters
    ----------
    boot
        (B, K) bootstrap replicates; NaN marks a degenerate resample, which is dropped.
    estimate
        (K,) full-data estimates.
    jack
        (n, K) leave-one-out estimates, needed for ``method="bca"``.
    confidence_level
        Coverage of the two-sided interval.
    method
        ``"bca"`` (bias-corrected and accelerated, Efron 1987) or ``"percentile"``.
    min_valid
        Fewest valid replicates, as a share of B, for an interval to be reported.

    Returns
    -------
    low, high, n_valid, notes
        ``notes[k]`` says when column k fell back to the percentile method or got no
        interval.

    Examples
    --------
    >>> import numpy as np
    >>> boot = np.random.default_rng(0).normal(size=(2000, 2))
    >>> low, high, n, notes = confidence_intervals(boot, np.zeros(2), method="percentile")
    >>> low.round(2), high.round(2), n
    (array([-2.  , -1.88]), array([1.92, 2.  ]), array([2000, 2000]))
    """
    boot = np.asarray(boot, dtype=float)
    estimate = np.asarray(estimate, dtype=float)
    n_boot, n_cols = boot.shape
    low = np.full(n_cols, np.nan)
    high = np.full(n_cols, np.nan)
    n_valid = (~np.isnan(boot)).sum(axis=0).astype(np.int64)
    notes = [""] * n_cols
    alpha = (1.0 - confidence_level) / 2.0
    z_lo, z_hi = ndtri(alpha), ndtri(1.0 - alpha)
    enough = n_valid >= max(2, min_valid * n_boot)
    for k in np.flatnonzero(~np.isnan(estimate) & ~enough):
        notes[k] = f"only {n_valid[k]} of {n_boot} resamples were usable; no interval"
    todo = np.flatnonzero(~np.isnan(estimate) & enough)
    if len(todo) == 0:
        return low, high, n_valid, notes
    sub = boot[:, todo]
    theta = estimate[todo]
    count = n_valid[todo]
    q_lo = np.full(len(todo), alpha)
    q_hi = np.full(len(todo), 1.0 - alpha)
    if method == "bca":
        with np.errstate(invalid="ignore", divide="ignore"):
            share = ((sub < theta).sum(axis=0) + (sub <= theta).sum(axis=0)) / (2.0 * count)
            z0 = ndtri(share)
            accel = np.zeros(len(todo)) if jack is None else _acceleration(jack[:, todo])
            levels = []
            for z in (z_lo, z_hi):
                shifted = z0 + z
                levels.append(ndtr(z0 + shifted / (1.0 - accel * shifted)))
        ok = np.isfinite(z0) & np.isfinite(levels[0]) & np.isfinite(levels[1])
        q_lo = np.where(ok, levels[0], q_lo)
        q_hi = np.where(ok, levels[1], q_hi)
        for k in todo[~ok]:
            notes[k] = "BCa undefined here (every resample on one side); percentile interval"
    ordered = np.sort(sub, axis=0)  # NaN last: each column's valid replicates first
    low[todo] = _quantile(ordered, count, q_lo)
    high[todo] = _quantile(ordered, count, q_hi)
    return low, high, n_valid, notes


def _acceleration(jack: FloatArray) -> FloatArray:
    """BCa acceleration of each column from its leave-one-out estimates (NaN dropped)."""
    out = np.zeros(jack.shape[1])
    clean = ~np.isnan(jack).any(axis=0)
    # Rows of a contiguous copy: each column's sums are the same pairwise sums as a
    # column on its own.
    rows = np.ascontiguousarray(jack[:, clean].T)
    d = rows.mean(axis=1)[:, None] - rows
    # x ** 1.5 of a scalar (as a column on its own computes it): NumPy's vectorised
    # power may differ in the last bit.
    denom = 6.0 * np.array([v**1.5 for v in (d * d).sum(axis=1)], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[clean] = np.where(denom > 0, (d**3).sum(axis=1) / denom, 0.0)
    for k in np.flatnonzero(~clean):
        col = jack[:, k][~np.isnan(jack[:, k])]
        d1 = col.mean() - col
        den = 6.0 * (d1 * d1).sum() ** 1.5
        out[k] = float((d1**3).sum() / den) if den > 0 else 0.0
    return out


def _quantile(ordered: FloatArray, count: NDArray[np.int64], q: FloatArray) -> FloatArray:
    """Quantile ``q[k]`` of the first ``count[k]`` entries of each sorted column, by the
    arithmetic of ``np.quantile(..., method="linear")``."""
    virtual = (count - 1) * q
    below = np.floor(virtual)
    idx = below.astype(np.intp)
    top = virtual >= count - 1
    idx = np.where(top, count - 1, np.where(virtual < 0, 0, idx))
    nxt = np.where(top | (virtual < 0), idx, idx + 1)
    gamma = virtual - below
    cols = np.arange(ordered.shape[1])
    a = ordered[idx, cols]
    b = ordered[nxt, cols]
    diff = b - a
    out = a + diff * gamma
    return np.where(gamma >= 0.5, b - diff * (1 - gamma), out)
