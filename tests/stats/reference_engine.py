"""Today's dense rank engine, frozen as the reference the new engine is tested against.

A verbatim copy (imports aside) of ``evalgap.stats._weighted``, ``_correlate``,
``_resample`` and the weighted pipeline of ``_capability._fit`` as they were before the
engine was rewritten (issue 14): n x n midrank matrices per benchmark, one group per
missing-cell pattern, a Python loop over columns for the intervals. Do not edit it to make
a test pass; it is the definition of "today's results".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.stats
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
CorrelationMethod = Literal["spearman", "pearson", "kendall"]
CIMethod = Literal["bca", "percentile"]
CORRELATION_METHODS = ("spearman", "pearson", "kendall")
CI_METHODS = ("bca", "percentile")
_BLOCK = 4_000_000


@dataclass(frozen=True)
class _Fit:
    scores: NDArray[np.float64]
    loadings: NDArray[np.float64]
    eigenvalues: NDArray[np.float64]
    matrix: NDArray[np.float64]
    completed: NDArray[np.float64]
    valid: NDArray[np.bool_]


# ---- src/evalgap/stats/_weighted.py


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

    ``M[k, i] = [x_k < x_i] + [x_k == x_i] / 2`` for available ``k``, else 0. Because the
    values are fixed, the ranks of every resample then cost one matrix product.
    """
    x = np.where(available, values, np.nan)
    less = (x[:, None] < x[None, :]).astype(float)
    equal = (x[:, None] == x[None, :]).astype(float)
    m = less + 0.5 * equal
    m[~available, :] = 0.0
    return m


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


# ---- src/evalgap/stats/_correlate.py


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


# ---- src/evalgap/stats/_resample.py


def bootstrap_weights(n: int, n_boot: int, rng: np.random.Generator) -> FloatArray:
    """(n_boot, n) frequency weights: how often each of n models is drawn in each of
    n_boot resamples of size n with replacement."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)


def jackknife_weights(n: int) -> FloatArray:
    """(n, n) weights whose row i leaves model i out."""
    return 1.0 - np.eye(n)


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
    """Bootstrap confidence intervals, one per column.

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
    """
    n_cols = boot.shape[1]
    low = np.full(n_cols, np.nan)
    high = np.full(n_cols, np.nan)
    n_valid = np.zeros(n_cols, dtype=np.int64)
    notes = [""] * n_cols
    alpha = (1.0 - confidence_level) / 2.0
    z_lo, z_hi = ndtri(alpha), ndtri(1.0 - alpha)
    for k in range(n_cols):
        b = boot[:, k]
        b = b[~np.isnan(b)]
        n_valid[k] = b.size
        theta = estimate[k]
        if np.isnan(theta):
            continue
        if b.size < max(2, min_valid * boot.shape[0]):
            notes[k] = f"only {b.size} of {boot.shape[0]} resamples were usable; no interval"
            continue
        q_lo, q_hi = alpha, 1.0 - alpha
        if method == "bca":
            bca = _bca_levels(b, theta, None if jack is None else jack[:, k], z_lo, z_hi)
            if bca is None:
                notes[k] = "BCa undefined here (every resample on one side); percentile interval"
            else:
                q_lo, q_hi = bca
        low[k], high[k] = np.quantile(b, [q_lo, q_hi])
    return low, high, n_valid, notes


def _bca_levels(
    boot: FloatArray, theta: float, jack: FloatArray | None, z_lo: float, z_hi: float
) -> tuple[float, float] | None:
    z0 = ndtri(_percentile_of(boot, theta))
    if not np.isfinite(z0):
        return None
    accel = 0.0
    if jack is not None:
        jack = jack[~np.isnan(jack)]
        d = jack.mean() - jack
        denom = 6.0 * (d * d).sum() ** 1.5
        accel = float((d**3).sum() / denom) if denom > 0 else 0.0
    levels = []
    for z in (z_lo, z_hi):
        shifted = z0 + z
        levels.append(float(ndtr(z0 + shifted / (1.0 - accel * shifted))))
    if not all(np.isfinite(levels)):
        return None
    return levels[0], levels[1]


# ---- _capability._fit


def _weighted_moments(
    x: NDArray[np.float64], w: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted mean and population SD over axis -2 of ``x`` (n, p) with ``w`` (B, n, p)."""
    x0 = np.where(np.isnan(x), 0.0, x)
    sw = w.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * x0).sum(axis=-2) / sw
        var = (w * (x0 - mean[..., None, :]) ** 2).sum(axis=-2) / sw
    return mean, np.sqrt(var)


def _weighted_corr_matrix(a: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weighted Pearson correlation matrix of the columns of ``a`` (B, n, p), weights (B, n)."""
    sw = w.sum(axis=-1)
    mean = np.einsum("bn,bnp->bp", w, a) / sw[:, None]
    d = a - mean[:, None, :]
    cov = np.einsum("bn,bni,bnj->bij", w, d, d)
    sd = np.sqrt(np.einsum("bii->bi", cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / (sd[:, :, None] * sd[:, None, :])


def _weighted_cov_matrix(a: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    sw = w.sum(axis=-1)
    mean = np.einsum("bn,bnp->bp", w, a) / sw[:, None]
    d = a - mean[:, None, :]
    return np.einsum("bn,bni,bnj->bij", w, d, d) / sw[:, None, None]


def _impute(
    z: NDArray[np.float64],
    observed: NDArray[np.bool_],
    w: NDArray[np.float64],
    rank: int,
    max_iter: int,
    tol: float,
) -> NDArray[np.float64]:
    """Fill the missing cells of standardised ``z`` (B, n, p) by iterative rank-``rank``
    reconstruction: fill, fit the top ``rank`` components of the weighted Gram matrix,
    refill the missing cells with the reconstruction, until the fill stops moving."""
    filled = np.where(observed, z, 0.0)
    if observed.all():
        return filled
    missing = ~observed
    for _ in range(max_iter):
        gram = np.einsum("bn,bni,bnj->bij", w, filled, filled)
        _, vecs = np.linalg.eigh(gram)
        top = vecs[..., -rank:]
        recon = filled @ top @ np.swapaxes(top, -1, -2)
        change = np.abs(np.where(missing, recon - filled, 0.0)).max()
        filled = np.where(observed, z, recon)
        if change < tol:
            break
    return filled


def _fit(
    x: NDArray[np.float64],
    w: NDArray[np.float64],
    *,
    mode: str,
    pca: str,
    impute_rank: int,
    universe: NDArray[np.bool_],
    reference: NDArray[np.float64] | None,
    max_iter: int = 200,
    tol: float = 1e-6,
) -> _Fit:
    """Run the capability step for every weight row in ``w``.

    ``x`` is the (n, p) oriented capability matrix with NaN for missing cells; ``universe``
    the models that can be scored (complete rows in paper mode). ``reference`` is the
    full-data loading vector that resample loadings are sign-aligned to; None means the
    paper's rule (largest-magnitude loading positive).
    """
    w = np.atleast_2d(w).astype(float)
    observed = ~np.isnan(x)
    # z-scores use every model that has the benchmark (the paper normalises before it
    # drops incomplete rows); the PCA uses the universe only.
    w_obs = w[:, :, None] * observed[None, :, :]
    mean, sd = _weighted_moments(x, w_obs)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (np.where(observed, x, 0.0)[None] - mean[:, None, :]) / sd[:, None, :]
    wu = w * universe[None, :]
    if mode == "impute":
        z = _impute(z, observed[None], wu, impute_rank, max_iter, tol)
    else:
        z = np.where(observed[None], z, 0.0)

    if pca == "spearman":
        if mode == "paper":
            # Fixed values: every resample's ranks are one product with the midrank matrices.
            mats = np.hstack([midrank_matrix(x[:, j], universe) for j in range(x.shape[1])])
            ranks = (wu @ mats).reshape(len(wu), x.shape[1], -1) + 0.5
        else:
            ranks = weighted_midranks(np.swapaxes(z, -1, -2), wu[:, None, :])
        matrix = _weighted_corr_matrix(np.swapaxes(ranks, -1, -2), wu)
        basis = z
    elif pca == "pearson":
        matrix = _weighted_corr_matrix(z, wu)
        basis = z
    else:  # covariance of the raw (unstandardised) scores
        raw = z * sd[:, None, :] + mean[:, None, :]
        matrix = _weighted_cov_matrix(raw, wu)
        basis = raw - (np.einsum("bn,bnp->bp", wu, raw) / wu.sum(-1)[:, None])[:, None, :]

    valid = np.isfinite(matrix).all(axis=(-1, -2)) & np.isfinite(sd).all(axis=-1)
    safe = np.where(valid[:, None, None], matrix, np.eye(matrix.shape[-1]))
    eigenvalues, vectors = np.linalg.eigh(safe)
    eigenvalues = eigenvalues[:, ::-1]
    pc = vectors[:, :, -1]
    if reference is None:
        biggest = np.take_along_axis(pc, np.abs(pc).argmax(axis=-1)[:, None], axis=-1)[:, 0]
        sign = np.where(biggest < 0, -1.0, 1.0)
    else:
        sign = np.where(pc @ reference < 0, -1.0, 1.0)
    pc = pc * sign[:, None]
    scores = np.einsum("bnp,bp->bn", np.where(np.isfinite(basis), basis, 0.0), pc)
    scores = np.where(universe[None, :], scores, np.nan)
    return _Fit(scores, pc, eigenvalues, matrix, z, valid)


# ---- the audit's resampling loop as it was (before blocks, budgets and executors)


def audit_statistics(x, y, log_flop, universe, mode, pca, impute_rank, method, n_boot, seed):
    """Point estimates, bootstrap and jackknife replicates of the audit's three statistics
    (capabilities correlation, FLOP correlation, slope), computed as ``audit`` did."""
    n = x.shape[0]
    fit_args = {"mode": mode, "pca": pca, "impute_rank": impute_rank, "universe": universe}
    point = _fit(x, np.ones((1, n)), reference=None, **fit_args)
    reference, s = point.loadings[0], point.scores[0]
    cap_plan = CorrelationPlan(y, universe, method)
    slope_plan = CorrelationPlan(y, universe, "pearson")
    flop_plan = CorrelationPlan(y, ~np.isnan(log_flop), method)

    def statistics(w, fit_scores):
        return (
            cap_plan.correlations(fit_scores, w),
            flop_plan.correlations(log_flop, w),
            slope_plan.slopes(fit_scores, w),
        )

    estimates = [a[0] for a in statistics(np.ones((1, n)), s[None, :])]
    ss = np.random.SeedSequence(seed)
    boot_rng, perm_rng = (np.random.default_rng(child) for child in ss.spawn(2))
    weights = bootstrap_weights(n, n_boot, boot_rng)
    boots = [np.empty((n_boot, y.shape[1])) for _ in range(3)]
    for lo in range(0, n_boot, 1000):
        w = weights[lo : lo + 1000]
        fit = _fit(x, w, reference=reference, **fit_args)
        for out, stat in zip(boots, statistics(w, fit.scores), strict=True):
            stat[~fit.valid] = np.nan
            out[lo : lo + len(w)] = stat
    wj = jackknife_weights(n)
    jfit = _fit(x, wj, reference=reference, **fit_args)
    jack = list(statistics(wj, jfit.scores))
    return s, estimates, boots, jack, perm_rng
