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

from evalgap.stats._spearman import SpearmanPlan
from evalgap.stats._weighted import kendall_tau_b

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

# Default working memory of one call.
_DEFAULT_BYTES = 2**30
# Up to this many missing-cell patterns, Pearson moments are formed per pattern.
_MAX_PATTERNS = 32


def _patterns(masks: BoolArray) -> Iterator[tuple[BoolArray, NDArray[np.intp]]]:
    """Group benchmark columns by their availability mask (n, K); yields (mask, columns)
    in a fixed order so results never depend on dict or set ordering."""
    n, k = masks.shape
    if k == 0:
        return
    # Rows of bits packed into bytes sort in the same order as the rows of booleans.
    unique, inverse = np.unique(np.packbits(masks.T, axis=1), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    for g, cols in enumerate(np.split(order, bounds)):
        yield np.unpackbits(unique[g])[:n].astype(bool), cols


def availability(y: FloatArray, ref: FloatArray) -> BoolArray:
    """(n, K) mask of the models that have both the benchmark and the reference."""
    ref_ok = ~np.isnan(np.atleast_2d(ref)[0])
    return ~np.isnan(y) & ref_ok[:, None]


class CorrelationPlan:
    """Correlations of fixed benchmark columns with a reference whose availability is
    fixed but whose values may change (the capabilities score of each resample).

    Everything that depends only on the benchmark scores (sort orders, tie groups,
    centred values) is computed once here, so each block of resamples costs one pass over
    the (resample, benchmark, model) cells: Spearman by the sorted-order rank engine
    (:class:`~evalgap.stats._spearman.SpearmanPlan`), Pearson and slopes by a few matrix
    products, Kendall's tau-b by sign matrices per missing-cell pattern.

    Parameters
    ----------
    y
        (n, K) benchmark scores, NaN where not evaluated.
    ref_available
        (n,) which models have the reference.
    method
        ``spearman``, ``pearson`` or ``kendall`` (tau-b).
    max_bytes
        Working memory one call may use; larger stacks of resamples are done in chunks.
    """

    def __init__(
        self,
        y: FloatArray,
        ref_available: BoolArray,
        method: CorrelationMethod = "spearman",
        *,
        max_bytes: int | None = None,
    ) -> None:
        if method not in CORRELATION_METHODS:
            raise ValueError(f"unknown correlation method {method!r}")
        self.method = method
        self.y = np.asarray(y, dtype=float)
        self.shape = self.y.shape
        self.ref_available = np.asarray(ref_available, dtype=bool)
        self.max_bytes = int(max_bytes) if max_bytes else _DEFAULT_BYTES
        self._spearman: SpearmanPlan | None = None
        self._moments: _Moments | None = None
        self._kendall: list[_KendallGroup] | None = None
        if method == "spearman":
            self._spearman = SpearmanPlan(self.y, self.ref_available, self.max_bytes)

    def _moment_plan(self) -> _Moments:
        if self._moments is None:
            self._moments = _Moments(self.y, self.ref_available)
        return self._moments

    def correlations(self, ref: FloatArray, w: FloatArray) -> FloatArray:
        """(B, K) correlations of each column with ``ref`` ((n,) or (B, n)) under each
        weight row of ``w`` (B, n); NaN where undefined."""
        w = np.atleast_2d(w).astype(float)
        ref = np.broadcast_to(np.atleast_2d(ref), w.shape)
        if self._spearman is not None:
            return self._spearman.correlations(ref, w)
        if self.method == "pearson":
            return self._moment_plan().pearson(ref, w)
        if self._kendall is None:
            masks = ~np.isnan(self.y) & self.ref_available[:, None]
            self._kendall = [
                _KendallGroup(self.y, mask, cols)
                for mask, cols in _patterns(masks)
                if mask.sum() >= 2
            ]
        out = np.full((w.shape[0], self.shape[1]), np.nan)
        for group in self._kendall:
            out[:, group.cols] = group.correlations(ref, w, self.max_bytes)
        return out

    def slopes(self, ref: FloatArray, w: FloatArray) -> FloatArray:
        """(B, K) least-squares slopes of each column on ``ref``, per population SD of
        ``ref`` over the models used."""
        w = np.atleast_2d(w).astype(float)
        ref = np.broadcast_to(np.atleast_2d(ref), w.shape)
        return self._moment_plan().slopes(ref, w)


class _Moments:
    """Weighted co-moments of the columns with the reference.

    With few missing-cell patterns, per pattern as the dense engine always did (so its
    results are reproduced to the bit); with many (a leaderboard with scattered missing
    cells has one per benchmark) by matrix products over all columns at once, with the
    reference centred on all its models and each column's mean shift corrected exactly.
    """

    def __init__(self, y: FloatArray, ref_available: BoolArray) -> None:
        n, k = y.shape
        self.shape = (n, k)
        masks = ~np.isnan(y) & ref_available[:, None]
        patterns = [(m, c) for m, c in _patterns(masks) if m.sum() >= 2]
        self.groups = (
            [_MomentGroup(y, mask, cols) for mask, cols in patterns]
            if len(patterns) <= _MAX_PATTERNS
            else None
        )
        if self.groups is not None:
            return
        self.available = ref_available.astype(float)
        self.cols = np.concatenate([c for _, c in patterns]).astype(np.intp)
        # which pattern each column belongs to, for the near-zero-variance rule
        self.pattern = np.concatenate([np.full(len(c), i) for i, (_, c) in enumerate(patterns)])
        self.n_patterns = len(patterns)
        mask = masks[:, self.cols]
        self.mask = mask.astype(float)
        values = np.where(mask, y[:, self.cols], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = values.sum(axis=0) / mask.sum(axis=0)
        self.centred = np.where(mask, values - mean, 0.0)
        self.squares = self.centred * self.centred

    def _all(self, ref: FloatArray, w: FloatArray) -> tuple[FloatArray, ...]:
        """cov, var_y, var_ref and total weight per (resample, column)."""
        wa = w * self.available
        ref0 = np.where(self.available > 0, ref, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            total = wa.sum(axis=1)
            shifted = np.where(
                self.available > 0, ref0 - ((wa * ref0).sum(axis=1) / total)[:, None], 0.0
            )
            wr = wa * shifted
            sw = wa @ self.mask
            shift = (wr @ self.mask) / sw  # the column's mean of the centred reference
            var_r = (wr * shifted) @ self.mask - sw * shift**2
            sum_y = wa @ self.centred
            cov = wr @ self.centred - shift * sum_y
            var_y = wa @ self.squares - sum_y**2 / sw
        return cov, var_y, var_r, sw

    def pearson(self, ref: FloatArray, w: FloatArray) -> FloatArray:
        out = np.full((w.shape[0], self.shape[1]), np.nan)
        if self.groups is not None:
            for group in self.groups:
                cov, var_y, var_r, _ = group.moments(ref, w)
                out[:, group.cols] = _finish(cov, var_y, var_r[:, None])
            return out
        cov, var_y, var_r, _ = self._all(ref, w)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = cov / np.sqrt(np.abs(var_y) * np.abs(var_r))
        # near zero relative to the largest of the pattern's, as the per-pattern rule
        tiny_y = var_y <= 1e-12 * self._pattern_max(var_y) + 1e-300
        tiny_r = var_r <= 1e-12 * self._pattern_max(var_r) + 1e-300
        out[:, self.cols] = np.clip(np.where(tiny_y | tiny_r, np.nan, r), -1.0, 1.0)
        return out

    def _pattern_max(self, values: FloatArray) -> FloatArray:
        col_max = np.abs(values).max(axis=0, initial=0.0)  # NaN propagates, as per pattern
        most = np.zeros(self.n_patterns)
        with np.errstate(invalid="ignore"):
            np.maximum.at(most, self.pattern, col_max)
        return most[self.pattern]

    def slopes(self, ref: FloatArray, w: FloatArray) -> FloatArray:
        out = np.full((w.shape[0], self.shape[1]), np.nan)
        if self.groups is not None:
            for group in self.groups:
                cov, _, var_r, sw = group.moments(ref, w)
                with np.errstate(invalid="ignore", divide="ignore"):
                    slope = cov / np.sqrt(var_r * sw)[:, None]
                out[:, group.cols] = np.where((var_r > 0)[:, None], slope, np.nan)
            return out
        cov, _, var_r, sw = self._all(ref, w)
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = cov / np.sqrt(var_r * sw)
        out[:, self.cols] = np.where(var_r > 0, slope, np.nan)
        return out


class _MomentGroup:
    """Benchmark columns that share one availability mask (Pearson moments)."""

    def __init__(self, y: FloatArray, mask: BoolArray, cols: NDArray[np.intp]):
        self.mask = mask
        self.cols = cols
        self.values = np.where(mask[:, None], y[:, cols], 0.0)
        # Centred on the plain mean so large-valued scores (Elo) lose no precision.
        self.centred = np.where(mask[:, None], self.values - self.values[mask].mean(axis=0), 0.0)

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


class _KendallGroup:
    """Benchmark columns that share one availability mask (Kendall's tau-b)."""

    def __init__(self, y: FloatArray, mask: BoolArray, cols: NDArray[np.intp]):
        self.mask = mask
        self.cols = cols
        self.values = np.where(mask[:, None], y[:, cols], 0.0)

    def correlations(self, ref: FloatArray, w: FloatArray, max_bytes: int) -> FloatArray:
        wm = w * self.mask
        ref_m = np.where(self.mask, ref, 0.0)
        n = len(self.mask)
        out = np.empty((w.shape[0], len(self.cols)))
        # sign matrices of (rows in flight) x n x n, four of them at a time
        chunk = max(1, max_bytes // (4 * 8 * n * n))
        step = max(1, chunk // max(1, len(self.cols)))
        for lo in range(0, w.shape[0], step):
            sl = slice(lo, lo + step)
            out[sl] = kendall_tau_b(
                self.values.T[None], ref_m[sl, None, :], wm[sl, None, :], chunk=chunk
            )
        return out


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
    *,
    max_bytes: int | None = None,
) -> FloatArray:
    """Two-sided permutation p-value of each benchmark's correlation with ``ref``.

    The benchmark's scores are shuffled across the models that have both it and the
    reference; the p-value is ``(1 + #{|r_perm| >= |r_obs|}) / (1 + n_perm)``, which is
    never zero. One set of permutations per number of models is shared by the benchmarks
    with that many, drawn in chunks that fit ``max_bytes`` (the same permutations however
    it is chunked), so memory does not grow with ``n_perm``. Benchmarks that share their
    models go through one matrix product per chunk; benchmarks with a set of models of
    their own (scattered missing cells) through one gather for all of them.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.arange(8.0)
    >>> y = np.c_[ref + np.array([0, 1, -1, 0, 2, -2, 0, 1]), ref]
    >>> permutation_pvalues(y, ref, np.array([0.9, 1.0]), n_perm=999).round(3)
    array([0.003, 0.001])
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    max_bytes = int(max_bytes) if max_bytes else _DEFAULT_BYTES
    ref = np.asarray(ref, dtype=float)
    out = np.full(y.shape[1], np.nan)
    if n_perm <= 0:
        return out
    sizes: dict[int, list[tuple[BoolArray, NDArray[np.intp]]]] = {}
    for mask, cols in _patterns(availability(y, ref)):
        sizes.setdefault(int(mask.sum()), []).append((mask, cols))
    hits = np.zeros(y.shape[1], dtype=np.int64)
    # Permutations per group size in increasing order, so results do not depend on how
    # benchmarks are grouped.
    for m in sorted(s for s in sizes if s >= 3):
        shared, single = [], []
        for mask, cols in sizes[m]:
            if method == "kendall" or len(cols) > 1:
                a = _transform(y[np.ix_(mask, cols)], method)  # (m, k)
                shared.append((a, _transform(ref[mask], method), cols))
            else:
                single.append((mask, cols[0]))
        prepared = [_centred(a, b) for a, b, _ in shared] if method != "kendall" else []
        if single:
            # Benchmarks with models of their own: both variables restricted to each
            # benchmark's models and ranked there, all benchmarks at once.
            own = np.stack([mask for mask, _ in single], axis=1)  # (n, s)
            cols1 = [c for _, c in single]
            a1 = _restricted(y[:, cols1], own, method, m)  # (m, s)
            b1 = _restricted(np.broadcast_to(ref[:, None], own.shape), own, method, m)
            ac1, bc1, norm1 = _centred(a1, b1)
            obs1 = np.abs(observed[cols1])
        width = 2 + len(single) + max((len(c) for _, _, c in shared), default=0)
        chunk = max(1, min(n_perm, max_bytes // (8 * m * width)))
        for lo in range(0, n_perm, chunk):
            perms = rng.permuted(np.tile(np.arange(m), (min(chunk, n_perm - lo), 1)), axis=1)
            for i, (a, b, cols) in enumerate(shared):
                if method == "kendall":
                    stats = _kendall_permutations(a, b, perms, max_bytes)
                else:
                    ac, bc, norm = prepared[i]
                    with np.errstate(invalid="ignore", divide="ignore"):
                        stats = (ac.T @ bc[perms].T) / norm[:, None]  # (k, P)
                obs = np.abs(observed[cols])[:, None]
                hits[cols] += (np.abs(stats) >= obs - 1e-12).sum(axis=1)
            if single:
                # column j's permuted reference ranks bc1[perm, j], for every j at once:
                # one row gather and one product-sum per permutation
                stats = np.empty((len(perms), len(single)))
                for i, perm in enumerate(perms):
                    np.einsum("ms,ms->s", np.take(bc1, perm, axis=0), ac1, out=stats[i])
                with np.errstate(invalid="ignore", divide="ignore"):
                    stats /= norm1
                hits[cols1] += (np.abs(stats) >= obs1 - 1e-12).sum(axis=0)
        for _, _, cols in shared:
            out[cols] = (1 + hits[cols]) / (1 + n_perm)
        for _, c in single:
            out[c] = (1 + hits[c]) / (1 + n_perm)
    return np.where(np.isnan(observed), np.nan, out)


def _restricted(values: FloatArray, own: BoolArray, method: str, m: int) -> FloatArray:
    """(m, s): each column's values at its ``own`` rows (m of them, in row order),
    ranked among them for Spearman."""
    picked = values.T[own.T].reshape(own.shape[1], m).T
    return scipy.stats.rankdata(picked, axis=0) if method == "spearman" else picked


def _centred(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    ac = a - a.mean(axis=0)
    bc = b - b.mean(axis=0)
    norm = np.sqrt((ac * ac).sum(axis=0) * (bc * bc).sum(axis=0))
    return ac, bc, norm


def _kendall_permutations(
    a: FloatArray, b: FloatArray, perms: NDArray[np.intp], max_bytes: int = _DEFAULT_BYTES
) -> FloatArray:
    m = len(b)
    sb = np.sign(b[:, None] - b[None, :])
    norm_b = np.abs(sb).sum()
    out = np.empty((a.shape[1], len(perms)))
    # sign matrices of (columns + permutations in flight) x m x m
    step = max(1, max_bytes // (2 * 8 * m * m))
    for c0 in range(0, a.shape[1], step):
        ac = a[:, c0 : c0 + step]
        sa = np.sign(ac.T[:, :, None] - ac.T[:, None, :])  # (k, m, m)
        norm_a = np.abs(sa).sum(axis=(1, 2))
        flat_a = sa.reshape(len(sa), m * m)
        for lo in range(0, len(perms), step):
            p = perms[lo : lo + step]
            sbp = sb[p[:, :, None], p[:, None, :]].reshape(len(p), m * m)
            out[c0 : c0 + step, lo : lo + step] = flat_a @ sbp.T
        with np.errstate(invalid="ignore", divide="ignore"):
            out[c0 : c0 + step] /= np.sqrt(norm_a * norm_b)[:, None]
    return out
