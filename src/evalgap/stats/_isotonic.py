"""Batched isotonic (monotone) regression with frequency weights.

Every row of a weight matrix is one fit of the same sorted data, so leave-one-out and
leave-two-out fits of a few hundred points are a handful of array operations. The fit uses
the max-min formula of isotonic regression (Robertson, Wright and Dykstra 1988, thm 1.4.4):
the fitted value at point ``i`` is ``max_{j<=i} min_{k>=i} mean_w(y[j..k])``, which holds
for every point with positive weight; it costs O(n^2) per fit, done as n passes over a
(B, n) array. Points with zero weight (the ones left out) get the
value interpolated linearly in ``x`` between their nearest kept neighbours, constant beyond
the ends, as a prediction for a new point at that ``x``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["isotonic_fits"]

FloatArray = NDArray[np.float64]

# Elements per (rows, n) block of fits.
_BLOCK = 1_000_000


def _increasing(y: FloatArray, w: FloatArray) -> FloatArray:
    """Increasing fits (B, n) of sorted ``y`` (n,) under weights ``w`` (B, n); NaN where the
    weight is zero."""
    n_rows, n = w.shape
    zero = np.zeros((n_rows, 1))
    cw = np.concatenate([zero, np.cumsum(w, axis=1)], axis=1)
    cy = np.concatenate([zero, np.cumsum(w * y, axis=1)], axis=1)
    # running[b, j] = min over k >= i of the weighted mean of y[j..k]; walking i down
    # from the top keeps memory at (B, n) whatever n is. Only j <= i is ever needed, and
    # an interval holding only left-out points (0 / 0) is skipped by fmin.
    running = np.full((n_rows, n), np.inf)
    fitted = np.empty((n_rows, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        for i in range(n - 1, -1, -1):
            head = running[:, : i + 1]
            means = (cy[:, i + 1, None] - cy[:, : i + 1]) / (cw[:, i + 1, None] - cw[:, : i + 1])
            np.fmin(head, means, out=head)
            fitted[:, i] = head.max(axis=1)
    return np.where(w > 0, fitted, np.nan)


def _interpolate(x: FloatArray, fitted: FloatArray, w: FloatArray) -> FloatArray:
    """Fill the zero-weight points of ``fitted`` by linear interpolation in ``x``."""
    n_rows, n = w.shape
    idx = np.broadcast_to(np.arange(n), (n_rows, n))
    kept = w > 0
    prev = np.maximum.accumulate(np.where(kept, idx, -1), axis=1)
    nxt = np.flip(np.minimum.accumulate(np.flip(np.where(kept, idx, n), axis=1), axis=1), axis=1)
    has_prev, has_next = prev >= 0, nxt < n
    p = np.clip(prev, 0, n - 1)
    q = np.clip(nxt, 0, n - 1)
    fp = np.take_along_axis(fitted, p, axis=1)
    fq = np.take_along_axis(fitted, q, axis=1)
    xp, xq = x[p], x[q]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(xq > xp, (x[None, :] - xp) / (xq - xp), 0.5)
    inner = fp + t * (fq - fp)
    out = np.where(has_prev & has_next, inner, np.where(has_prev, fp, fq))
    return np.where(kept, fitted, out)


def isotonic_fits(
    x: FloatArray, y: FloatArray, w: FloatArray, *, direction: str = "auto"
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Monotone least-squares fits of ``y`` on ``x``, one per weight row.

    Parameters
    ----------
    x, y
        (n,) data, ``x`` sorted ascending (ties are fitted in the given order).
    w
        (B, n) non-negative weights; zero leaves a point out of that fit.
    direction
        ``increasing``, ``decreasing``, or ``auto``: per row, whichever fits the kept
        points with the smaller weighted sum of squares (increasing on a tie).

    Returns
    -------
    fitted, increasing
        (B, n) fitted values at every ``x`` (interpolated at left-out points) and (B,)
        whether each row's fit is increasing.

    Examples
    --------
    >>> import numpy as np
    >>> fit, up = isotonic_fits(np.arange(4.0), np.array([1.0, 3.0, 2.0, 4.0]), np.ones((1, 4)))
    >>> fit[0].tolist(), bool(up[0])
    ([1.0, 2.5, 2.5, 4.0], True)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.atleast_2d(np.asarray(w, dtype=float))
    n_rows, n = w.shape
    out = np.empty((n_rows, n))
    up = np.empty(n_rows, dtype=bool)
    step = max(1, _BLOCK // max(1, n))
    for lo in range(0, n_rows, step):
        sl = slice(lo, lo + step)
        wb = w[sl]
        inc = _increasing(y, wb) if direction != "decreasing" else None
        dec = -_increasing(-y, wb) if direction != "increasing" else None
        if inc is None:
            assert dec is not None
            fitted, choose_up = dec, np.zeros(len(wb), dtype=bool)
        elif dec is None:
            fitted, choose_up = inc, np.ones(len(wb), dtype=bool)
        else:
            sse_inc = np.nansum(wb * (y - inc) ** 2, axis=1)
            sse_dec = np.nansum(wb * (y - dec) ** 2, axis=1)
            choose_up = sse_inc <= sse_dec * (1 + 1e-12) + 1e-300
            fitted = np.where(choose_up[:, None], inc, dec)
        out[sl] = _interpolate(x, fitted, wb)
        up[sl] = choose_up
    return out, up
