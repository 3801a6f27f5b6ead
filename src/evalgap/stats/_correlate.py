"""Correlations of benchmarks with a reference (the capabilities score or training FLOP),
for the full data and for a stack of bootstrap resamples at once, and their permutation
p-values.

All functions take the benchmark matrix ``y`` (n models x K benchmarks, NaN = not
evaluated) and a reference ``ref`` (n,) or (B, n) whose NaN pattern is the same in every
row. A benchmark's statistic uses the models that have both, as in the paper.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np
import scipy.stats
from numpy.typing import NDArray

from evalgap.stats._weighted import kendall_tau_b, midrank_matrix, weighted_midranks

__all__ = [
    "CORRELATION_METHODS",
    "CorrelationPlan",
    "correlations",
    "permutation_pvalues",
    "slopes",
]

CorrelationMethod = Literal["spearman", "pearson", "kendall"]
#: The correlation methods evalgap supports.
CORRELATION_METHODS = ("spearman", "pearson", "kendall")

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

# Elements per temporary (B, K, n) block, to bound memory whatever the panel size.
_BLOCK = 4_000_000


def _patterns(masks: BoolArray) -> Iterator[tuple[BoolArray, NDArray[np.intp]]]:
    """Group benchmark columns by their availability mask (n, K); yields (mask, columns)
    in a fixed order so results never depend on dict or set ordering."""
    if masks.shape[1] == 0:
        return
    unique, inverse = np.unique(masks.T, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    for g in range(unique.shape[0]):
        yield unique[g], np.flatnonzero(inverse == g)


def availability(y: FloatArray, ref: FloatArray) -> BoolArray:
    """(n, K) mask of the models that have both the benchmark and the reference."""
    ref_ok = ~np.isnan(np.atleast_2d(ref)[0])
    return ~np.isnan(y) & ref_ok[:, None]


class CorrelationPlan:
    """Correlations of fixed benchmark columns with a reference whose availability is
    fixed but whose values may change (the capabilities score of each resample).

    Everything that depends only on the benchmark scores (rank matrices, tie groups,
    centred values) is computed once here, so each block of resamples costs a few matrix
    products.

    Parameters
    ----------
    y
        (n, K) benchmark scores, NaN where not evaluated.
    ref_available
        (n,) which models have the reference.
    method
        ``spearman``, ``pearson`` or ``kendall`` (tau-b).
    """

    def __init__(
        self, y: FloatArray, ref_available: BoolArray, method: CorrelationMethod = "spearman"
    ) -> None:
        if method not in CORRELATION_METHODS:
            raise ValueError(f"unknown correlation method {method!r}")
        self.method = method
        self.shape = y.shape
        masks = ~np.isnan(y) & np.asarray(ref_available, dtype=bool)[:, None]
        self.groups = [
            _Group(y, mask, cols, method) for mask, cols in _patterns(masks) if mask.sum() >= 2
        ]

    def correlations(self, ref: FloatArray, w: FloatArray) -> FloatArray:
        """(B, K) correlations of each column with ``ref`` ((n,) or (B, n)) under each
        weight row of ``w`` (B, n); NaN where undefined."""
        w = np.atleast_2d(w).astype(float)
        ref = np.broadcast_to(np.atleast_2d(ref), w.shape)
        out = np.full((w.shape[0], self.shape[1]), np.nan)
        for group in self.groups:
            out[:, group.cols] = group.correlations(ref, w, self.method)
        return out

    def slopes(self, ref: FloatArray, w: FloatArray) -> FloatArray:
        """(B, K) least-squares slopes of each column on ``ref``, per population SD of
        ``ref`` over the models used."""
        w = np.atleast_2d(w).astype(float)
        ref = np.broadcast_to(np.atleast_2d(ref), w.shape)
        out = np.full((w.shape[0], self.shape[1]), np.nan)
        for group in self.groups:
            cov, _, var_r, sw = group.moments(ref, w)
            with np.errstate(invalid="ignore", divide="ignore"):
                slope = cov / np.sqrt(var_r * sw)[:, None]
            out[:, group.cols] = np.where((var_r > 0)[:, None], slope, np.nan)
        return out


class _Group:
    """Benchmark columns that share one availability mask."""

    def __init__(self, y: FloatArray, mask: BoolArray, cols: NDArray[np.intp], method: str):
        self.mask = mask
        self.cols = cols
        n = len(mask)
        self.values = np.where(mask[:, None], y[:, cols], 0.0)
        # Centred on the plain mean so large-valued scores (Elo) lose no precision.
        self.centred = np.where(mask[:, None], self.values - self.values[mask].mean(axis=0), 0.0)
        if method != "spearman":
            return
        # rank of model i in column j under weights w: sum_k w_k M_j[k, i] + 1/2
        self.rank_matrix = np.stack(
            [midrank_matrix(self.values[:, c], mask).ravel() for c in range(len(cols))], axis=1
        )  # (n*n, k)
        # Tie groups between different models (rare): a one-hot column per group of two
        # or more tied models, the column each group belongs to, and its members.
        onehots, owner = [], []
        self.in_group = np.zeros((n, len(cols)))
        rows = np.flatnonzero(mask)
        for c in range(len(cols)):
            _, groups, counts = np.unique(
                self.values[mask, c], return_inverse=True, return_counts=True
            )
            for g in np.flatnonzero(counts > 1):
                members = rows[groups == g]
                onehot = np.zeros(n)
                onehot[members] = 1.0
                onehots.append(onehot)
                owner.append(c)
                self.in_group[members, c] = 1.0
        self.group_onehot = np.stack(onehots, axis=1) if onehots else None
        self.group_owner = np.zeros((len(onehots), len(cols)))
        self.group_owner[np.arange(len(onehots)), owner] = 1.0

    def correlations(self, ref: FloatArray, w: FloatArray, method: str) -> FloatArray:
        wm = w * self.mask
        ref_m = np.where(self.mask, ref, 0.0)
        if method == "spearman":
            return self._spearman(ref_m, wm)
        if method == "pearson":
            cov, var_y, var_r, _ = self.moments(ref, w)
            return _finish(cov, var_y, var_r[:, None])
        n = len(self.mask)
        out = np.empty((w.shape[0], len(self.cols)))
        step = max(1, _BLOCK // max(1, len(self.cols) * n * n))
        for lo in range(0, w.shape[0], step):
            sl = slice(lo, lo + step)
            out[sl] = kendall_tau_b(self.values.T[None], ref_m[sl, None, :], wm[sl, None, :])
        return out

    def _spearman(self, ref_m: FloatArray, wm: FloatArray) -> FloatArray:
        # With S drawn rows, midranks have mean (S + 1) / 2, so the covariance of column j
        # with the reference ranks r is sum_i v_i R_ji = w' M_j v with v = w (r - (S+1)/2);
        # the sum of squared deviations of the column's ranks follows from its tie-group
        # sizes t_g: (S^3 - S) / 12 - sum_g (t_g^3 - t_g) / 12.
        n_boot, n = wm.shape
        sw = wm.sum(axis=1)
        centre = (sw + 1.0) / 2.0
        ref_ranks = weighted_midranks(ref_m, wm)
        v = wm * (ref_ranks - centre[:, None])
        var_r = (v * (ref_ranks - centre[:, None])).sum(axis=1)
        # Every drawn model's copies tie with each other; tie groups of different models
        # replace their members' own terms by the group's.
        own = wm**3 - wm
        ties = own.sum(axis=1)[:, None] - own @ self.in_group
        if self.group_onehot is not None:
            sizes = wm @ self.group_onehot
            ties = ties + (sizes**3 - sizes) @ self.group_owner
        var_y = ((sw**3 - sw)[:, None] - ties) / 12.0
        cov = np.empty((n_boot, len(self.cols)))
        step = max(1, _BLOCK // (n * n))
        for lo in range(0, n_boot, step):
            sl = slice(lo, lo + step)
            outer = (wm[sl, :, None] * v[sl, None, :]).reshape(-1, n * n)
            cov[sl] = outer @ self.rank_matrix
        return _finish(cov, var_y, var_r[:, None])

    def moments(
        self, ref: FloatArray, w: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Weighted co-moment sums with the reference: cov (B, k), var_y (B, k),
        var_ref (B,), and the total weight (B,)."""
        wm = w * self.mask
        ref_m = np.where(self.mask, ref, 0.0)
        sw = wm.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_r = (wm * ref_m).sum(axis=1) / sw
            v = wm * (ref_m - mean_r[:, None])
            var_r = (v * (ref_m - mean_r[:, None])).sum(axis=1)
            cov = v @ self.centred
            sum_y = wm @ self.centred
            var_y = wm @ (self.centred * self.centred) - sum_y**2 / sw[:, None]
        return cov, var_y, var_r, sw


def _finish(cov: FloatArray, var_a: FloatArray, var_b: FloatArray) -> FloatArray:
    """cov / sqrt(var_a var_b), NaN where a variance is (numerically) zero."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(np.abs(var_a) * np.abs(var_b))
    tiny_a = var_a <= 1e-12 * np.abs(var_a).max(initial=0.0) + 1e-300
    tiny_b = var_b <= 1e-12 * np.abs(var_b).max(initial=0.0) + 1e-300
    return np.clip(np.where(tiny_a | tiny_b, np.nan, r), -1.0, 1.0)


def correlations(
    y: FloatArray,
    ref: FloatArray,
    w: FloatArray | None = None,
    method: CorrelationMethod = "spearman",
) -> FloatArray:
    """Correlation of every benchmark column of ``y`` with ``ref`` under each weight row.

    Parameters
    ----------
    y
        (n, K) benchmark scores, NaN where not evaluated.
    ref
        (n,) or (B, n) reference values, NaN outside the models that have it (the same
        models in every row).
    w
        (B, n) frequency weights; default one row of ones (the plain correlation).
    method
        ``spearman``, ``pearson`` or ``kendall`` (tau-b).

    Returns
    -------
    (B, K) array; NaN where a correlation is undefined (fewer than 2 distinct values).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1.0], [2.0], [4.0], [3.0]])
    >>> float(correlations(y, np.array([1.0, 2.0, 3.0, 4.0]))[0, 0])
    0.8
    """
    ref = np.atleast_2d(ref)
    w = np.ones((1, y.shape[0])) if w is None else w
    return CorrelationPlan(y, ~np.isnan(ref[0]), method).correlations(ref, w)


def slopes(y: FloatArray, ref: FloatArray, w: FloatArray | None = None) -> FloatArray:
    """Least-squares slope of each benchmark on ``ref`` per standard deviation of ``ref``
    (population SD over the models used), under each weight row: (B, K)."""
    ref = np.atleast_2d(ref)
    w = np.ones((1, y.shape[0])) if w is None else w
    return CorrelationPlan(y, ~np.isnan(ref[0]), "pearson").slopes(ref, w)


def _transform(values: FloatArray, method: str) -> FloatArray:
    return scipy.stats.rankdata(values, axis=0) if method == "spearman" else values


def permutation_pvalues(
    y: FloatArray,
    ref: FloatArray,
    observed: FloatArray,
    method: CorrelationMethod = "spearman",
    n_perm: int = 10_000,
    rng: np.random.Generator | None = None,
) -> FloatArray:
    """Two-sided permutation p-value of each benchmark's correlation with ``ref``.

    The benchmark's scores are shuffled across the models that have both it and the
    reference; the p-value is ``(1 + #{|r_perm| >= |r_obs|}) / (1 + n_perm)``, which is
    never zero. One set of permutations per number of models is shared by the benchmarks
    with that many, so the whole panel costs a few matrix products.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    ref = np.asarray(ref, dtype=float)
    out = np.full(y.shape[1], np.nan)
    if n_perm <= 0:
        return out
    masks = availability(y, ref)
    groups = list(_patterns(masks))
    # Draw permutations per group size in sorted order, so results do not depend on how
    # benchmarks are grouped.
    perms: dict[int, NDArray[np.intp]] = {}
    for m in sorted({int(mask.sum()) for mask, _ in groups}):
        if m >= 3:
            perms[m] = rng.permuted(np.tile(np.arange(m), (n_perm, 1)), axis=1)
    for mask, cols in groups:
        m = int(mask.sum())
        if m < 3:
            continue
        a = _transform(y[mask][:, cols], method)  # (m, k)
        b = _transform(ref[mask], method)  # (m,)
        if method == "kendall":
            stats = _kendall_permutations(a, b, perms[m])
        else:
            ac = a - a.mean(axis=0)
            bc = b - b.mean()
            norm = np.sqrt((ac * ac).sum(axis=0) * (bc * bc).sum())
            with np.errstate(invalid="ignore", divide="ignore"):
                stats = (ac.T @ bc[perms[m]].T) / norm[:, None]  # (k, P)
        obs = np.abs(observed[cols])[:, None]
        hits = (np.abs(stats) >= obs - 1e-12).sum(axis=1)
        out[cols] = np.where(np.isnan(observed[cols]), np.nan, (1 + hits) / (1 + n_perm))
    return out


def _kendall_permutations(a: FloatArray, b: FloatArray, perms: NDArray[np.intp]) -> FloatArray:
    sa = np.sign(a.T[:, :, None] - a.T[:, None, :])  # (k, m, m)
    norm_a = np.abs(sa).sum(axis=(1, 2))
    sb = np.sign(b[:, None] - b[None, :])
    norm_b = np.abs(sb).sum()
    m = len(b)
    flat_a = sa.reshape(len(sa), m * m)
    out = np.empty((len(sa), len(perms)))
    step = max(1, _BLOCK // (m * m))
    for lo in range(0, len(perms), step):
        p = perms[lo : lo + step]
        sbp = sb[p[:, :, None], p[:, None, :]].reshape(len(p), m * m)
        out[:, lo : lo + step] = flat_a @ sbp.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return out / np.sqrt(norm_a * norm_b)[:, None]
