"""Weighted ranks and correlations: the engine behind every bootstrap in evalgap.

A bootstrap resample of models is represented by a vector of counts ``w`` (how many times
each model was drawn) instead of a gathered copy of the data. A statistic of the resampled
data is then the same statistic of the original rows with frequency weights ``w``: the
midrank of a model among the drawn rows, a mean, a correlation. This lets one pass over an
array of shape ``(B, n)`` compute every resample at once, handle missing cells by giving
them weight zero, and keep every row aligned to its model id. A weight row of all ones is
the plain (unresampled) statistic, so point estimates and resamples share one code path;
the jackknife is the weight matrix ``1 - I``.

Values that do not change across resamples (a benchmark's scores, a capability
benchmark's scores in paper mode) are sorted once (:class:`SortedColumns`); the midranks of
any weights are then a gather and a cumulative sum in that order, O(n) per column and
weight row, with no n x n matrix.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "SortedColumns",
    "kendall_tau_b",
    "midrank_matrix",
    "weighted_midranks",
    "weighted_pearson",
]

FloatArray = NDArray[np.float64]


def weighted_midranks(values: FloatArray, weights: FloatArray) -> FloatArray:
    """Midranks of ``values`` among the rows drawn with frequency ``weights``.

    For each row ``i``: (total weight of rows with a smaller value) plus (total weight of
    rows with an equal value, plus one) over two, which is the average rank the copies of
    row ``i`` get when the drawn sample is ranked with ties averaged. Entries with zero
    weight (missing cells, models not drawn) get a rank that must not be used.

    Parameters
    ----------
    values
        Shape ``(..., n)``; broadcast against ``weights``. NaN is allowed where the weight
        is zero.
    weights
        Shape ``(..., n)``, non-negative.
    """
    values, weights = np.broadcast_arrays(values, weights)
    # NaN sorts last and would break tie detection; zero-weight cells can sit anywhere.
    vals = np.where(np.isnan(values), np.inf, values)
    order = np.argsort(vals, axis=-1, kind="stable")
    v = np.take_along_axis(vals, order, axis=-1)
    w = np.take_along_axis(weights.astype(float), order, axis=-1)
    n = v.shape[-1]
    csum = np.cumsum(w, axis=-1)
    positions = np.broadcast_to(np.arange(n), v.shape)
    starts_group = np.ones(v.shape, dtype=bool)
    starts_group[..., 1:] = v[..., 1:] != v[..., :-1]
    ends_group = np.ones(v.shape, dtype=bool)
    ends_group[..., :-1] = starts_group[..., 1:]
    start = np.maximum.accumulate(np.where(starts_group, positions, 0), axis=-1)
    end = np.flip(
        np.minimum.accumulate(np.flip(np.where(ends_group, positions, n - 1), -1), axis=-1), -1
    )
    before = np.take_along_axis(csum - w, start, axis=-1)
    tied = np.take_along_axis(csum, end, axis=-1) - before
    ranks_sorted = before + (tied + 1.0) / 2.0
    ranks = np.empty_like(ranks_sorted)
    np.put_along_axis(ranks, order, ranks_sorted, axis=-1)
    return ranks


def midrank_matrix(values: FloatArray, available: NDArray[np.bool_]) -> FloatArray:
    """The matrix ``M`` with ``weighted_midranks(values, w) == w @ M + 0.5`` for any
    weights ``w`` that are zero outside ``available``.

    ``M[k, i] = [x_k < x_i] + [x_k == x_i] / 2`` for available ``k``, else 0. It is n x n,
    so the engine no longer uses it (see :class:`SortedColumns`); it stays as the
    definition the sorted computation is tested against.
    """
    x = np.where(available, values, np.nan)
    less = (x[:, None] < x[None, :]).astype(float)
    equal = (x[:, None] == x[None, :]).astype(float)
    m = less + 0.5 * equal
    m[~available, :] = 0.0
    return m


class SortedColumns:
    """Columns of fixed values, each sorted once, whose weighted midranks under any stack
    of weights cost a gather and a cumulative sum: O(B n p) time, O(B n p) memory.

    Parameters
    ----------
    values
        (n, p) values; entries outside ``available`` are ignored (NaN allowed there).
    available
        (n, p) which entries take part; a weight row's midranks are among the available
        entries of each column.

    Examples
    --------
    >>> import numpy as np
    >>> cols = SortedColumns(np.array([[3.0], [1.0], [3.0]]), np.ones((3, 1), bool))
    >>> cols.midranks(np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 3.0]]))[:, 0]
    array([[2.5, 1. , 2.5],
           [3. , 1. , 3. ]])
    """

    def __init__(self, values: FloatArray, available: NDArray[np.bool_]) -> None:
        values = np.asarray(values, dtype=float)
        available = np.broadcast_to(np.asarray(available, dtype=bool), values.shape)
        n, p = values.shape
        self.n = n
        keyed = np.where(available, values, np.nan)  # NaN sorts last
        order = np.argsort(keyed, axis=0, kind="stable").T  # (p, n)
        count = available.sum(axis=0)
        inside = np.arange(n)[None, :] < count[:, None]
        sorted_values = np.take_along_axis(keyed.T, order, axis=1)
        # Entries past a column's count point at a zero weight appended after the models.
        self.order = np.where(inside, order, n)
        position = np.full((p, n + 1), n, dtype=np.intp)
        rows = np.repeat(np.arange(p), n)
        position[rows[inside.ravel()], order[inside]] = np.nonzero(inside)[1]
        self.position = position[:, :n]  # (p, n): where each model sits in its column
        # Tie groups: the first and last sorted position of each entry's group of equal
        # values, used only for columns that have a tie between different models.
        starts = np.ones((p, n), dtype=bool)
        starts[:, 1:] = sorted_values[:, 1:] != sorted_values[:, :-1]
        starts &= inside
        starts[:, 0] = True
        starts |= ~inside
        ends = np.ones((p, n), dtype=bool)
        ends[:, :-1] = starts[:, 1:]
        pos = np.broadcast_to(np.arange(n), (p, n))
        self.lo = np.maximum.accumulate(np.where(starts, pos, 0), axis=1)
        self.hi = np.flip(np.minimum.accumulate(np.flip(np.where(ends, pos, n - 1), 1), axis=1), 1)
        self.tied = (self.hi > self.lo).any(axis=1)

    def midranks(self, weights: FloatArray) -> FloatArray:
        """(B, p, n) midranks in model order of each column among its available entries
        under each weight row of ``weights`` (B, n); 0 for unavailable entries."""
        w = np.atleast_2d(np.asarray(weights, dtype=float))
        b = len(w)
        p, n = self.order.shape
        padded = np.concatenate([w, np.zeros((b, 1))], axis=1)
        drawn = np.take(padded, self.order.ravel(), axis=1)  # (B, p n), sorted order
        cum = np.cumsum(drawn.reshape(b, p, n), axis=-1).reshape(b, p * n)
        offset = (np.arange(p) * n)[:, None]
        if self.tied.any():
            # A tie group's midrank: weight before the group plus (group weight + 1) / 2.
            below = cum - drawn
            ranks = np.take(cum, (self.hi + offset).ravel(), axis=1)
            ranks += np.take(below, (self.lo + offset).ravel(), axis=1)
            ranks *= 0.5
        else:
            ranks = cum - 0.5 * drawn
        ranks += 0.5
        # back to model order; an unavailable entry reads a 0 appended after the ranks
        ranks = np.concatenate([ranks, np.zeros((b, 1))], axis=1)
        where = np.where(self.position == n, p * n, self.position + offset)
        return np.take(ranks, where.ravel(), axis=1).reshape(b, p, n)


def weighted_pearson(a: FloatArray, b: FloatArray, w: FloatArray) -> FloatArray:
    """Pearson correlation of ``a`` and ``b`` along the last axis with frequency weights.

    Returns NaN where either variable has zero weighted variance or the total weight is
    below 2.
    """
    sw = w.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = (w * a).sum(axis=-1) / sw
        mb = (w * b).sum(axis=-1) / sw
        da = a - ma[..., None]
        db = b - mb[..., None]
        cov = (w * da * db).sum(axis=-1)
        va = (w * da * da).sum(axis=-1)
        vb = (w * db * db).sum(axis=-1)
        r = cov / np.sqrt(va * vb)
    tiny = 1e-12 * np.maximum(sw, 1.0)
    bad = (
        (sw < 2) | (va <= tiny * np.abs(ma) ** 2 + 1e-300) | (vb <= tiny * np.abs(mb) ** 2 + 1e-300)
    )
    r = np.where(bad, np.nan, r)
    return np.clip(r, -1.0, 1.0)


def _signs(x: FloatArray) -> FloatArray:
    return np.sign(x[..., :, None] - x[..., None, :])


def kendall_tau_b(a: FloatArray, b: FloatArray, w: FloatArray, chunk: int = 512) -> FloatArray:
    """Kendall's tau-b of ``a`` and ``b`` along the last axis with frequency weights.

    With ``S_a[i, j] = sign(a_i - a_j)``, the drawn sample's tau-b is
    ``w' (S_a * S_b) w / sqrt((w' |S_a| w) (w' |S_b| w))``: pairs of copies of one model
    and pairs of tied values have sign 0 and drop out of numerator and denominators alike,
    exactly as in tau-b. NaN entries must carry weight zero.
    """
    a, b, w = np.broadcast_arrays(a, b, w)
    lead = a.shape[:-1]
    n = a.shape[-1]
    a2, b2, w2 = (x.reshape(-1, n) for x in (a, b, w))
    out = np.empty(a2.shape[0])
    a2 = np.where(w2 > 0, a2, 0.0)
    b2 = np.where(w2 > 0, b2, 0.0)
    for lo in range(0, a2.shape[0], chunk):
        sl = slice(lo, lo + chunk)
        sa, sb, ww = _signs(a2[sl]), _signs(b2[sl]), w2[sl]
        num = np.einsum("ki,kij,kj->k", ww, sa * sb, ww)
        da = np.einsum("ki,kij,kj->k", ww, np.abs(sa), ww)
        db = np.einsum("ki,kij,kj->k", ww, np.abs(sb), ww)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[sl] = np.where((da > 0) & (db > 0), num / np.sqrt(da * db), np.nan)
    return out.reshape(lead)
