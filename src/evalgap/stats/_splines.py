"""Batched cubic smoothing splines with the smoothing chosen by generalised
cross-validation (GCV), and their monotone rearrangement.

Every row of the inputs is one fit, so the thousands of fits of a bootstrap are a handful
of array operations instead of a Python loop. A fit minimises

    sum_i w_i (y_i - f(x_i))^2 + lam * integral f''(t)^2 dt,

whose minimiser is the natural cubic spline with knots at the distinct ``x`` (Reinsch
1967; Green and Silverman 1994, ch. 2): linear beyond the outer knots. Points with equal
``x`` are merged (weights summed, ``y`` weight-averaged), which leaves the minimiser
unchanged; points with zero weight or a NaN are left out.

``lam`` is chosen per row by minimising the weighted GCV criterion (Craven and Wahba 1979)

    V(lam) = k * sum_i w_i (y_i - f_i)^2 / (k - gamma * tr S(lam))^2

over the k distinct knots, where S is the smoother matrix and ``gamma`` prices each
effective degree of freedom (1.4 by default; 1 is classic GCV, whose global minimum is
often interpolation when knots crowd together). In the Demmler-Reinsch basis
(eigenvectors of ``W^-1/2 K W^-1/2``, with ``K`` the roughness matrix) both the residuals
and the trace are sums over eigenvalues, so V is evaluated on a grid of 25 values of
``log lam`` for all rows at once and refined by golden-section search. With ``gamma=1``,
unit weights and distinct ``x`` this is the criterion that
:func:`scipy.interpolate.make_smoothing_spline` minimises (SciPy searches lam in (0, n)
with a bounded scalar search, so it can stop at a local minimum).

A smoothing spline need not be monotone even when the data are. The *monotone
rearrangement* (Chernozhukov, Fernandez-Val and Galichon 2009) sorts the fitted values on
a fine grid: the result is monotone, equals the fit wherever the fit is already monotone,
and is never further from a monotone truth (in any L^p norm) than the fit it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "GCV_GAMMA",
    "MonotoneSplineFits",
    "SplineFits",
    "gcv_criterion",
    "monotone_smoothing_splines",
    "smoothing_splines",
]

FloatArray = NDArray[np.float64]

#: Default price of an effective degree of freedom in the GCV criterion (see
#: :func:`smoothing_splines`).
GCV_GAMMA = 1.4

# Rows per block of fits: bounds the (rows, grid, knots) GCV array at a few hundred MB.
_ROWS = 8192
# log10(lam * eigenvalue) spans this range on the search grid: from interpolation of every
# point (lam * d_max = 1e-3) to the straight line (lam * d_min_positive = 1e3).
_GRID_DECADES = 3.0
_GRID_POINTS = 25
_GOLDEN_STEPS = 20
_INV_PHI = (np.sqrt(5.0) - 1.0) / 2.0


@dataclass(frozen=True)
class SplineFits:
    """Natural cubic splines, one per row, on padded knot arrays.

    Attributes
    ----------
    knots
        (F, k) knot positions, ascending; rows with fewer knots repeat their last knot.
    values
        (F, k) fitted values at the knots.
    second
        (F, k) second derivatives at the knots (zero at the outer knots).
    count
        (F,) number of knots of each row (0 where a row had no usable point).
    lam
        (F,) smoothing parameter of each row (``inf`` for rows fitted by a straight line
        or a constant: fewer than 3 distinct points).
    """

    knots: FloatArray
    values: FloatArray
    second: FloatArray
    count: NDArray[np.int64]
    lam: FloatArray

    def __len__(self) -> int:
        return len(self.count)

    def __call__(self, t: ArrayLike) -> FloatArray:
        """Evaluate every row: ``t`` (F,) gives (F,), (F, q) gives (F, q), and a 1-D
        common grid of length q != F may be passed as ``t[None, :]`` to get (F, q).
        Beyond the outer knots a natural spline is linear; a row without knots gives NaN."""
        t = np.asarray(t, dtype=float)
        flat = t.ndim == 1
        tt = t[:, None] if flat else t
        common = tt.shape[0] == 1 and len(self) != 1 and bool(np.all(np.diff(tt[0]) >= 0))
        tt = np.broadcast_to(tt, (len(self), tt.shape[1]))
        out = np.empty(tt.shape)
        step = max(1, 4_000_000 // max(1, tt.shape[1] * (1 if common else self.knots.shape[1])))
        for lo in range(0, len(self), step):
            sl = slice(lo, lo + step)
            knots, count = self.knots[sl], self.count[sl]
            if common:
                interval = _intervals_on_grid(knots, count, tt[0])
            else:
                interval = _intervals(knots, count, tt[sl])
            out[sl] = _evaluate(knots, self.values[sl], self.second[sl], count, tt[sl], interval)
        return out[:, 0] if flat else out

    def subset(self, index: ArrayLike | slice) -> SplineFits:
        """The fits of some rows."""
        return SplineFits(
            knots=self.knots[index],
            values=self.values[index],
            second=self.second[index],
            count=self.count[index],
            lam=self.lam[index],
        )

    def at(self, rows: ArrayLike, t: ArrayLike) -> FloatArray:
        """Row ``rows[i]`` evaluated at ``t[i]``, elementwise (any matching shapes)."""
        rows = np.asarray(rows, dtype=np.intp)
        t = np.asarray(t, dtype=float)
        shape = np.broadcast_shapes(rows.shape, t.shape)
        r = np.broadcast_to(rows, shape).ravel()
        tt = np.broadcast_to(t, shape).ravel()[:, None]
        out = np.empty(len(r))
        step = max(1, 4_000_000 // max(1, self.knots.shape[1]))
        for lo in range(0, len(r), step):
            sl = slice(lo, lo + step)
            rr = r[sl]
            knots, count = self.knots[rr], self.count[rr]
            below = _intervals(knots, count, tt[sl])
            out[sl] = _evaluate(knots, self.values[rr], self.second[rr], count, tt[sl], below)[:, 0]
        return out.reshape(shape)


@dataclass(frozen=True)
class MonotoneSplineFits:
    """The monotone rearrangement of :class:`SplineFits`, row by row.

    Each row is made monotone over the range of its own data, where the fit is supported
    by points: a row whose spline is already monotone there is kept as it is (checked
    exactly, piece by piece), any other is rearranged on a grid over that range. Beyond the
    range a row continues linearly with the spline's end slope when that slope has the
    monotone sign, and flat otherwise. (Rearranging over a wider interval would let a
    turning extrapolation reorder values inside the data.)

    Attributes
    ----------
    lo, hi
        (F,) range of each row's data (the grid runs from ``lo`` to ``hi``).
    values
        (F, G) sorted fitted values on each row's grid for the rows that needed the
        rearrangement; NaN for the rows kept as they are.
    rearranged
        (F,) which rows were rearranged.
    slope_lo, slope_hi
        (F,) slopes of the linear continuation below ``lo`` and above ``hi``.
    fits
        The smoothing splines.
    increasing
        Direction of the rearrangement.
    """

    lo: FloatArray
    hi: FloatArray
    values: FloatArray
    rearranged: NDArray[np.bool_]
    slope_lo: FloatArray
    slope_hi: FloatArray
    fits: SplineFits
    increasing: bool = True

    def __len__(self) -> int:
        return len(self.values)

    def subset(self, index: ArrayLike | slice) -> MonotoneSplineFits:
        """The fits of some rows."""
        return MonotoneSplineFits(
            lo=self.lo[index],
            hi=self.hi[index],
            values=self.values[index],
            rearranged=self.rearranged[index],
            slope_lo=self.slope_lo[index],
            slope_hi=self.slope_hi[index],
            fits=self.fits.subset(index),
            increasing=self.increasing,
        )

    def __call__(self, t: ArrayLike) -> FloatArray:
        """Evaluate every row: ``t`` (F,) gives (F,), (F, q) gives (F, q), and one
        ascending grid shared by every row, passed as (1, q), gives (F, q) fast."""
        t = np.asarray(t, dtype=float)
        flat = t.ndim == 1
        tt = t[:, None] if flat else t
        if tt.shape[0] == 1 and len(self) != 1 and bool(np.all(np.diff(tt[0]) >= 0)):
            return self._on_grid(tt[0])
        tt = np.broadcast_to(tt, (len(self), tt.shape[1]))
        rows = np.broadcast_to(np.arange(len(self))[:, None], tt.shape)
        out = self.at(rows, tt)
        return out[:, 0] if flat else out

    def _on_grid(self, grid: FloatArray) -> FloatArray:
        """Every row on one shared ascending grid: the spline through the fast common-grid
        search, the linear continuation outside each row's range, the rearranged rows
        from their own grids."""
        rows = np.arange(len(self))
        raw = self.fits(grid[None, :])
        v_lo = self.fits.at(rows, self.lo)
        v_hi = self.fits.at(rows, self.hi)
        swap = np.flatnonzero(self.rearranged)
        if len(swap):
            t = np.broadcast_to(grid, (len(swap), len(grid)))
            raw[swap] = self.at(np.broadcast_to(swap[:, None], t.shape), t)
            v_lo[swap] = self.values[swap, 0]
            v_hi[swap] = self.values[swap, -1]
        t = grid[None, :]
        below = v_lo[:, None] + (t - self.lo[:, None]) * self.slope_lo[:, None]
        above = v_hi[:, None] + (t - self.hi[:, None]) * self.slope_hi[:, None]
        out = np.where(t < self.lo[:, None], below, raw)
        return np.where(t > self.hi[:, None], above, out)

    def at(self, rows: ArrayLike, t: ArrayLike) -> FloatArray:
        """Row ``rows[i]`` evaluated at ``t[i]``, elementwise (any matching shapes)."""
        rows = np.asarray(rows, dtype=np.intp)
        t = np.asarray(t, dtype=float)
        rows, t = np.broadcast_arrays(rows, t)
        lo, hi = self.lo[rows], self.hi[rows]
        inside_t = np.clip(t, lo, hi)
        out = self.fits.at(rows, inside_t)
        swap = self.rearranged[rows]
        if swap.any():
            r, tt = rows[swap], inside_t[swap]
            span = self.hi[r] - self.lo[r]
            n_grid = self.values.shape[1]
            with np.errstate(invalid="ignore", divide="ignore"):
                u = np.where(span > 0, (tt - self.lo[r]) / span, 0.0)
            pos = u * (n_grid - 1)
            left = np.clip(np.floor(pos).astype(np.intp), 0, n_grid - 2)
            frac = pos - left
            a = self.values[r, left]
            b = self.values[r, left + 1]
            out[swap] = a + frac * (b - a)
        below = np.minimum(t - lo, 0.0) * self.slope_lo[rows]
        above = np.maximum(t - hi, 0.0) * self.slope_hi[rows]
        return out + below + above


# -- preparing rows: sort, merge ties, drop unusable points ----------------------------------


def _prepare(
    x: FloatArray, y: FloatArray, w: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, NDArray[np.int64]]:
    """Rows sorted by ``x`` with ties merged and unusable points dropped, left-packed:
    (F, n) arrays whose first ``count[f]`` entries of row f are the distinct knots."""
    n_rows, n = x.shape
    usable = (w > 0) & np.isfinite(x) & np.isfinite(y) & np.isfinite(w)
    xs = np.where(usable, x, np.inf)
    order = np.argsort(xs, axis=1, kind="stable")
    xs = np.take_along_axis(xs, order, axis=1)
    ys = np.take_along_axis(np.where(usable, y, 0.0), order, axis=1)
    ws = np.take_along_axis(np.where(usable, w, 0.0), order, axis=1)
    keep = np.isfinite(xs)
    # A new group starts at every usable point whose x differs from the previous one.
    new = keep.copy()
    new[:, 1:] &= xs[:, 1:] != xs[:, :-1]
    group = np.cumsum(new, axis=1) - 1  # group index within the row, -1 before the first
    count = new.sum(axis=1).astype(np.int64)
    flat = (np.arange(n_rows)[:, None] * n + np.clip(group, 0, None))[keep]
    size = n_rows * n
    sw = np.bincount(flat, weights=ws[keep], minlength=size).reshape(n_rows, n)
    swy = np.bincount(flat, weights=(ws * ys)[keep], minlength=size).reshape(n_rows, n)
    gx = np.full(size, np.nan)
    gx[flat] = xs[keep]
    gx = gx.reshape(n_rows, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        gy = swy / sw
    # Pad each row past its count with its last knot, so padded arrays stay sorted.
    idx = np.minimum(np.arange(n)[None, :], np.maximum(count - 1, 0)[:, None])
    gx = np.take_along_axis(gx, idx, axis=1)
    gy = np.take_along_axis(gy, idx, axis=1)
    pad = np.arange(n)[None, :] >= count[:, None]
    sw = np.where(pad, 0.0, sw)
    return gx, gy, sw, count


# -- the roughness matrix of natural cubic splines -------------------------------------------
#
# Q (k x k-2) and R (k-2 x k-2) of Green and Silverman (1994, sec. 2.1.2) are banded: column
# j of Q holds 1/h_j, -1/h_j - 1/h_{j+1}, 1/h_{j+1} in rows j, j+1, j+2, and R is
# tridiagonal. Every solve below runs over the k knots with (rows,) vector operations, so a
# block of fits costs O(rows * k) instead of a dense O(rows * k^3) factorisation each.


def _bands(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Q's three bands (each (F, k-2)) and R's diagonal (F, k-2) and off-diagonal (F, k-3)."""
    h = np.diff(x, axis=1)
    inv_h = 1.0 / h
    q0 = inv_h[:, :-1]
    q2 = inv_h[:, 1:]
    q1 = -q0 - q2
    r_diag = (h[:, :-1] + h[:, 1:]) / 3.0
    r_off = h[:, 1:-1] / 6.0
    return q0, q1, q2, r_diag, r_off


def _qt(q0: FloatArray, q1: FloatArray, q2: FloatArray, v: FloatArray) -> FloatArray:
    """Q^T v for v (F, k, ...) -> (F, k-2, ...)."""
    m = q0.shape[1]
    e = (slice(None), slice(None)) + (None,) * (v.ndim - 2)
    return q0[e] * v[:, :m] + q1[e] * v[:, 1 : m + 1] + q2[e] * v[:, 2 : m + 2]


def _q(q0: FloatArray, q1: FloatArray, q2: FloatArray, g: FloatArray) -> FloatArray:
    """Q g for g (F, k-2, ...) -> (F, k, ...)."""
    n_rows, m = q0.shape
    e = (slice(None), slice(None)) + (None,) * (g.ndim - 2)
    out = np.zeros((n_rows, m + 2, *g.shape[2:]))
    out[:, :m] += q0[e] * g
    out[:, 1 : m + 1] += q1[e] * g
    out[:, 2 : m + 2] += q2[e] * g
    return out


def _tridiagonal_solve(diag: FloatArray, off: FloatArray, b: FloatArray) -> FloatArray:
    """Solve symmetric tridiagonal systems (F, m) by the Thomas algorithm; ``b`` is (F, m)
    or (F, m, c)."""
    m = diag.shape[1]
    e = (slice(None),) + (None,) * (b.ndim - 2)
    d = np.empty_like(diag)
    z = np.empty_like(b)
    d[:, 0] = diag[:, 0]
    z[:, 0] = b[:, 0]
    for i in range(1, m):
        mult = off[:, i - 1] / d[:, i - 1]
        d[:, i] = diag[:, i] - mult * off[:, i - 1]
        z[:, i] = b[:, i] - mult[e] * z[:, i - 1]
    out = np.empty_like(b)
    out[:, m - 1] = z[:, m - 1] / d[:, m - 1][e]
    for i in range(m - 2, -1, -1):
        out[:, i] = (z[:, i] - off[:, i][e] * out[:, i + 1]) / d[:, i][e]
    return out


def _pentadiagonal_solve(
    a0: FloatArray, a1: FloatArray, a2: FloatArray, b: FloatArray
) -> FloatArray:
    """Solve symmetric positive definite pentadiagonal systems by banded LDL^T: ``a0``
    (F, m) diagonal, ``a1`` (F, m-1) and ``a2`` (F, m-2) the first two off-diagonals."""
    n_rows, m = a0.shape
    d = np.empty((n_rows, m))
    l1 = np.zeros((n_rows, m))
    l2 = np.zeros((n_rows, m))
    for i in range(m):
        if i >= 2:
            l2[:, i] = a2[:, i - 2] / d[:, i - 2]
        if i >= 1:
            acc = a1[:, i - 1] - (l1[:, i - 1] * l2[:, i] * d[:, i - 2] if i >= 2 else 0.0)
            l1[:, i] = acc / d[:, i - 1]
        d[:, i] = a0[:, i] - l1[:, i] ** 2 * (d[:, i - 1] if i >= 1 else 0.0)
        if i >= 2:
            d[:, i] -= l2[:, i] ** 2 * d[:, i - 2]
    z = np.empty((n_rows, m))
    for i in range(m):
        z[:, i] = b[:, i]
        if i >= 1:
            z[:, i] -= l1[:, i] * z[:, i - 1]
        if i >= 2:
            z[:, i] -= l2[:, i] * z[:, i - 2]
    z /= d
    out = np.empty((n_rows, m))
    for i in range(m - 1, -1, -1):
        out[:, i] = z[:, i]
        if i + 1 < m:
            out[:, i] -= l1[:, i + 1] * out[:, i + 1]
        if i + 2 < m:
            out[:, i] -= l2[:, i + 2] * out[:, i + 2]
    return out


def _roughness(x: FloatArray) -> FloatArray:
    """The roughness matrix K = Q R^-1 Q^T (F, k, k) for knots ``x`` (F, k), k >= 3:
    ``f^T K f`` is the integral of the squared second derivative of the natural cubic
    spline through values f."""
    q0, q1, q2, r_diag, r_off = _bands(x)
    k = x.shape[1]
    rinv_qt = _tridiagonal_solve(r_diag, r_off, _qt(q0, q1, q2, np.eye(k)[None].repeat(len(x), 0)))
    return _q(q0, q1, q2, rinv_qt)


def gcv_criterion(
    log_lam: FloatArray,
    eig: FloatArray,
    z2: FloatArray,
    k: int | NDArray[np.int64],
    gamma: float = 1.0,
) -> FloatArray:
    """Weighted GCV criterion V(lam) for rows in the Demmler-Reinsch basis; ``inf`` where
    ``gamma * tr S >= k``. Rows of different sizes share one array: an eigenvalue of
    ``inf`` with ``z2`` zero pads a row and adds nothing.

    Parameters
    ----------
    log_lam
        (F,) or (F, L) natural logs of lam.
    eig
        (F, k) eigenvalues of ``W^-1/2 K W^-1/2``.
    z2
        (F, k) squared coordinates of ``W^1/2 y`` in its eigenvectors.
    k
        Number of knots: one, or one per row (F,).
    gamma
        Cost of each effective degree of freedom (1: classic GCV).
    """
    lam = np.exp(log_lam)
    lam = lam[..., None]
    two = lam.ndim == 3
    ld = lam * (eig[:, None, :] if two else eig)
    with np.errstate(invalid="ignore"):
        shrink = np.where(np.isinf(ld), 1.0, ld / (1.0 + ld))
    rss = (shrink**2 * (z2[:, None, :] if two else z2)).sum(axis=-1)
    dof = (1.0 / (1.0 + ld)).sum(axis=-1)
    k = np.asarray(k, dtype=float)
    if k.ndim == 1 and two:
        k = k[:, None]
    room = k - gamma * dof
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(room > 0, k * rss / room**2, np.inf)


def _spectrum(x: FloatArray, y: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Eigenvalues of ``W^-1/2 K W^-1/2`` and squared coordinates of ``W^1/2 y`` in its
    eigenvectors, for rows of k >= 3 distinct knots (F, k), all weights positive."""
    rough = _roughness(x)
    s = 1.0 / np.sqrt(w)
    m = s[:, :, None] * rough * s[:, None, :]
    eig, vec = np.linalg.eigh(m)
    z = np.einsum("fij,fi->fj", vec, np.sqrt(w) * y)
    return np.clip(eig, 0.0, None), z * z


def _search(eig: FloatArray, z2: FloatArray, k: NDArray[np.int64], gamma: float) -> FloatArray:
    """GCV-optimal lam per row: a grid on log lam, then golden-section refinement, for
    every row at once; ``eig`` is padded with ``inf`` past each row's ``k``."""
    n_rows = len(eig)
    d_max = np.max(np.where(np.isinf(eig), 0.0, eig), axis=1)
    # The two smallest eigenvalues are the straight lines, which the penalty leaves alone.
    d_min = np.maximum(eig[:, 2], d_max * 1e-14)
    lo = np.log(10.0**-_GRID_DECADES / d_max)
    hi = np.log(10.0**_GRID_DECADES / d_min)
    steps = np.linspace(0.0, 1.0, _GRID_POINTS)
    grid = lo[:, None] + (hi - lo)[:, None] * steps[None, :]
    values = gcv_criterion(grid, eig, z2, k, gamma)
    values = np.where(np.isfinite(values), values, np.inf)
    best = np.argmin(values, axis=1)
    rows = np.arange(n_rows)
    a = grid[rows, np.maximum(best - 1, 0)]
    b = grid[rows, np.minimum(best + 1, _GRID_POINTS - 1)]
    c = b - _INV_PHI * (b - a)
    d = a + _INV_PHI * (b - a)
    fc = gcv_criterion(c, eig, z2, k, gamma)
    fd = gcv_criterion(d, eig, z2, k, gamma)
    for _ in range(_GOLDEN_STEPS):
        left = fc <= fd
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        new_c = b - _INV_PHI * (b - a)
        new_d = a + _INV_PHI * (b - a)
        c_next = np.where(left, new_c, d)
        d_next = np.where(left, c, new_d)
        f_new = gcv_criterion(np.where(left, new_c, new_d), eig, z2, k, gamma)
        fc, fd = np.where(left, f_new, fd), np.where(left, fc, f_new)
        c, d = c_next, d_next
    mid = np.where(fc <= fd, c, d)
    f_mid = np.minimum(fc, fd)
    # Keep the grid point when the refinement did not improve on it (flat criterion).
    grid_best = grid[rows, best]
    use_grid = values[rows, best] < f_mid
    return np.exp(np.where(use_grid, grid_best, mid))


def _choose_lam(
    x: FloatArray, y: FloatArray, w: FloatArray, count: NDArray[np.int64], gamma: float
) -> FloatArray:
    """GCV-optimal lam for prepared rows with at least 3 knots: spectra per knot count,
    one search over all rows."""
    n_rows, n = x.shape
    eig = np.full((n_rows, n), np.inf)
    z2 = np.zeros((n_rows, n))
    for k in np.unique(count):
        rows_k = np.flatnonzero(count == k)
        for lo in range(0, len(rows_k), _ROWS):
            rows = rows_k[lo : lo + _ROWS]
            e, z = _spectrum(x[rows, :k], y[rows, :k], w[rows, :k])
            eig[rows, :k] = e
            z2[rows, :k] = z
    out = np.empty(n_rows)
    for lo in range(0, n_rows, _ROWS):
        sl = slice(lo, lo + _ROWS)
        out[sl] = _search(eig[sl], z2[sl], count[sl], gamma)
    return out


def _solve(
    x: FloatArray, y: FloatArray, w: FloatArray, lam: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Fitted values and second derivatives (F, k) of rows with k >= 3 distinct knots, by
    the Reinsch algorithm: (R + lam Q^T W^-1 Q) gamma = Q^T y, f = y - lam W^-1 Q gamma."""
    n_rows, k = x.shape
    q0, q1, q2, r_diag, r_off = _bands(x)
    iw = 1.0 / w
    lam_c = lam[:, None]
    a0 = r_diag + lam_c * (q0**2 * iw[:, :-2] + q1**2 * iw[:, 1:-1] + q2**2 * iw[:, 2:])
    a1 = r_off + lam_c[:, :] * (
        q1[:, :-1] * q0[:, 1:] * iw[:, 1:-2] + q2[:, :-1] * q1[:, 1:] * iw[:, 2:-1]
    )
    a2 = lam_c * (q2[:, :-2] * q0[:, 2:] * iw[:, 2:-2])
    curv_inner = _pentadiagonal_solve(a0, a1, a2, _qt(q0, q1, q2, y))
    f = y - lam_c * iw * _q(q0, q1, q2, curv_inner)
    curv = np.zeros((n_rows, k))
    curv[:, 1:-1] = curv_inner
    return f, curv


def _line(x: FloatArray, y: FloatArray, w: FloatArray, count: NDArray[np.int64]) -> FloatArray:
    """Weighted least-squares line (or constant) through rows of at most 2 knots."""
    k = x.shape[1]
    used = np.arange(k)[None, :] < count[:, None]
    ww = np.where(used, w, 0.0)
    sw = ww.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = (ww * x).sum(axis=1) / sw
        my = (ww * y).sum(axis=1) / sw
        sxx = (ww * (x - mx[:, None]) ** 2).sum(axis=1)
        sxy = (ww * (x - mx[:, None]) * (y - my[:, None])).sum(axis=1)
        slope = np.where(sxx > 0, sxy / sxx, 0.0)
    return my[:, None] + slope[:, None] * (x - mx[:, None])


def _fit_rows(
    x: FloatArray,
    y: FloatArray,
    w: FloatArray,
    count: NDArray[np.int64],
    lam: FloatArray | None,
    gamma: float = 1.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Fit prepared rows (lam by GCV when None), solving per knot count; returns values,
    second derivatives and lam."""
    n_rows, n = x.shape
    values = np.full((n_rows, n), np.nan)
    second = np.zeros((n_rows, n))
    small = count <= 2
    lam_out = np.full(n_rows, np.inf)
    if lam is None:
        big = np.flatnonzero(~small)
        if len(big):
            lam_out[big] = _choose_lam(x[big], y[big], w[big], count[big], gamma)
    else:
        lam_out = np.where(small, np.inf, np.asarray(lam, dtype=float))
    if small.any():
        values[small] = _line(x[small], y[small], w[small], count[small])
    for k in np.unique(count[~small]):
        rows_k = np.flatnonzero(count == k)
        for lo in range(0, len(rows_k), _ROWS):
            rows = rows_k[lo : lo + _ROWS]
            f, curv = _solve(x[rows, :k], y[rows, :k], w[rows, :k], lam_out[rows])
            values[rows, :k] = f
            second[rows, :k] = curv
    # Pad values past each row's count with its last fitted value.
    idx = np.minimum(np.arange(n)[None, :], np.maximum(count - 1, 0)[:, None])
    values = np.take_along_axis(values, idx, axis=1)
    second = np.where(np.arange(n)[None, :] < count[:, None], second, 0.0)
    return values, second, lam_out


def _intervals(knots: FloatArray, count: NDArray[np.int64], t: FloatArray) -> NDArray[np.int64]:
    """(F, q) number of each row's knots at or below ``t`` (F, q)."""
    k = knots.shape[1]
    used = np.arange(k)[None, None, :] < count[:, None, None]
    return ((knots[:, None, :] <= t[:, :, None]) & used).sum(axis=2)


def _intervals_on_grid(
    knots: FloatArray, count: NDArray[np.int64], grid: FloatArray
) -> NDArray[np.int64]:
    """As :func:`_intervals` for one ascending grid shared by every row, in O(F (k + q)):
    each knot's first grid index at or above it, counted and accumulated along the grid."""
    n_rows, k = knots.shape
    q = len(grid)
    pos = np.searchsorted(grid, knots, side="left")
    pos = np.where(np.arange(k)[None, :] < count[:, None], pos, q)
    flat = (np.arange(n_rows)[:, None] * (q + 1) + pos).ravel()
    hist = np.bincount(flat, minlength=n_rows * (q + 1)).reshape(n_rows, q + 1)
    return np.cumsum(hist[:, :q], axis=1)


def _evaluate(
    knots: FloatArray,
    values: FloatArray,
    second: FloatArray,
    count: NDArray[np.int64],
    t: FloatArray,
    below: NDArray[np.int64],
) -> FloatArray:
    """Natural cubic spline values at ``t`` (F, q) (Green and Silverman 1994, eq. 2.4);
    ``below`` counts each row's knots at or below each ``t``."""
    last = np.maximum(count - 1, 0)
    # Interval i holds t in [x_i, x_{i+1}); clipped so the outer pieces extrapolate.
    i = np.clip(below - 1, 0, np.maximum(last - 1, 0)[:, None])
    j = np.minimum(i + 1, last[:, None])
    xi = np.take_along_axis(knots, i, axis=1)
    xj = np.take_along_axis(knots, j, axis=1)
    fi = np.take_along_axis(values, i, axis=1)
    fj = np.take_along_axis(values, j, axis=1)
    gi = np.take_along_axis(second, i, axis=1)
    gj = np.take_along_axis(second, j, axis=1)
    h = xj - xi
    with np.errstate(invalid="ignore", divide="ignore"):
        a = t - xi
        b = xj - t
        inner = (a * fj + b * fi) / h - a * b / 6.0 * ((1.0 + a / h) * gj + (1.0 + b / h) * gi)
        # Natural splines are linear beyond the outer knots.
        slope_left = (fj - fi) / h - h * gj / 6.0
        slope_right = (fj - fi) / h + h * gi / 6.0
    first_x = knots[:, :1]
    last_x = np.take_along_axis(knots, last[:, None], axis=1)
    out = np.where(t < first_x, fi - (first_x - t) * slope_left, inner)
    out = np.where(t > last_x, fj + (t - last_x) * slope_right, out)
    # One knot: a constant; none: undefined.
    out = np.where((count == 1)[:, None], values[:, :1], out)
    return np.where((count == 0)[:, None], np.nan, out)


def _on_affine_grids(
    fits: SplineFits, lo: FloatArray, span: FloatArray, u: FloatArray
) -> FloatArray:
    """Row f of ``fits`` at ``lo[f] + span[f] * u``: (F, len(u)). The knots are mapped to
    the common ``u`` scale, so the intervals come from one search on a shared grid."""
    n_rows = len(fits)
    out = np.empty((n_rows, len(u)))
    step = max(1, 4_000_000 // max(1, len(u)))
    safe = np.where(span > 0, span, 1.0)
    for start in range(0, n_rows, step):
        sl = slice(start, start + step)
        knots_u = (fits.knots[sl] - lo[sl, None]) / safe[sl, None]
        interval = _intervals_on_grid(knots_u, fits.count[sl], u)
        t = lo[sl, None] + span[sl, None] * u[None, :]
        out[sl] = _evaluate(
            fits.knots[sl], fits.values[sl], fits.second[sl], fits.count[sl], t, interval
        )
    return out


def _as_rows(a: ArrayLike) -> FloatArray:
    arr = np.asarray(a, dtype=float)
    return arr[None, :] if arr.ndim == 1 else arr


def smoothing_splines(
    x: ArrayLike,
    y: ArrayLike,
    w: ArrayLike | None = None,
    *,
    lam: ArrayLike | None = None,
    gamma: float = GCV_GAMMA,
    anchors: Sequence[tuple[float, float]] = (),
    anchor_weight: float = 1e-8,
) -> SplineFits:
    """Cubic smoothing splines, one per row, with the smoothing chosen by GCV.

    Parameters
    ----------
    x, y
        (F, n) or (n,) data; rows need not be sorted and may repeat ``x``.
    w
        Non-negative weights of the same shape (frequency weights: a point drawn twice
        in a bootstrap resample has weight 2); zero or NaN leaves a point out. Default 1.
    lam
        Smoothing parameter per row (scalar or (F,)); default: chosen by GCV per row.
    gamma
        Price of each effective degree of freedom in the GCV criterion,
        ``k * RSS / (k - gamma * tr S)^2``. Classic GCV (``gamma=1``) often has its global
        minimum at interpolation (lam -> 0) when knots crowd together, as bootstrap
        resamples of a few dozen points do; ``gamma=1.4`` (Kim and Gu 2004; mgcv's
        ``gamma``) rules that out and is the default.
    anchors
        Points ``(x, y)`` added to every row *after* ``lam`` is chosen, each with weight
        ``anchor_weight`` times the row's total weight: they extend the fitted range with
        a negligible pull (ConStat anchors its fits at (0, 0) and (1, 1) this way).
    anchor_weight
        Relative weight of each anchor.

    Returns
    -------
    SplineFits
        Callable: ``fits(t)`` evaluates every row.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 30)
    >>> y = np.sin(3 * x) + np.random.default_rng(0).normal(0, 0.05, 30)
    >>> fits = smoothing_splines(x, y)
    >>> bool(abs(fits(np.array([0.5]))[0] - np.sin(1.5)) < 0.05)
    True
    """
    xr, yr = _as_rows(x), _as_rows(y)
    if xr.shape != yr.shape:
        raise ValueError(f"x and y must have the same shape, got {xr.shape} and {yr.shape}")
    wr = np.ones_like(xr) if w is None else np.broadcast_to(_as_rows(w), xr.shape).astype(float)
    if (wr < 0).any():
        raise ValueError("weights must be non-negative")
    n_rows = xr.shape[0]
    gx, gy, gw, count = _prepare(xr, yr, wr)
    if lam is None:
        lam_used = np.full(n_rows, np.inf)
        big = np.flatnonzero(count > 2)
        if len(big):
            lam_used[big] = _choose_lam(gx[big], gy[big], gw[big], count[big], gamma)
    else:
        lam_used = np.broadcast_to(np.asarray(lam, dtype=float), (n_rows,)).copy()
        if (lam_used < 0).any():
            raise ValueError("lam must be non-negative")
    if anchors:
        total = wr.sum(axis=1, where=np.isfinite(wr) & (wr > 0))
        ax = np.array([a[0] for a in anchors], dtype=float)
        ay = np.array([a[1] for a in anchors], dtype=float)
        xa = np.concatenate([xr, np.broadcast_to(ax, (n_rows, len(ax)))], axis=1)
        ya = np.concatenate([yr, np.broadcast_to(ay, (n_rows, len(ay)))], axis=1)
        wa = np.concatenate(
            [wr, np.broadcast_to((anchor_weight * total)[:, None], (n_rows, len(ax)))], axis=1
        )
        gx, gy, gw, count = _prepare(xa, ya, wa)
        # Straight-line rows stay straight lines through the data; anchors do not bend them.
        finite = np.isfinite(lam_used)
        lam_fit = np.where(finite, lam_used, 0.0)
        values, second, _ = _fit_rows(gx, gy, gw, count, lam_fit)
        if (~finite).any():
            gx0, gy0, gw0, c0 = _prepare(xr[~finite], yr[~finite], wr[~finite])
            v0 = _line(gx0, gy0, gw0, c0)
            t_line = gx[~finite]
            line_at = _evaluate(gx0, v0, np.zeros_like(v0), c0, t_line, _intervals(gx0, c0, t_line))
            values[~finite] = line_at
            second[~finite] = 0.0
    else:
        values, second, _ = _fit_rows(gx, gy, gw, count, lam_used)
    return SplineFits(knots=gx, values=values, second=second, count=count, lam=lam_used)


def monotone_smoothing_splines(
    x: ArrayLike,
    y: ArrayLike,
    w: ArrayLike | None = None,
    *,
    grid_size: int = 257,
    increasing: bool = True,
    lam: ArrayLike | None = None,
    gamma: float = GCV_GAMMA,
    anchors: Sequence[tuple[float, float]] = (),
    anchor_weight: float = 1e-8,
) -> MonotoneSplineFits:
    """Monotone smoothing splines: :func:`smoothing_splines` (GCV smoothing), then the
    monotone rearrangement of each fit on a grid of ``grid_size`` points over the range
    of its data, continued linearly beyond it (see :class:`MonotoneSplineFits`).

    Parameters
    ----------
    x, y, w, lam, gamma, anchors, anchor_weight
        As in :func:`smoothing_splines`; the anchors shape the fit but not the range
        it is rearranged over.
    grid_size
        Points of the rearrangement grid; between grid points the fit is linear.
    increasing
        Rearrange into increasing (default) or decreasing functions.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    >>> fits = monotone_smoothing_splines(x, np.array([0.1, 0.3, 0.2, 0.5, 0.4, 0.7]))
    >>> bool(np.all(np.diff(fits(np.linspace(0, 1, 50)[None, :])[0]) >= 0))
    True
    """
    if grid_size < 2:
        raise ValueError("grid_size must be at least 2")
    xr = _as_rows(x)
    wr = np.ones_like(xr) if w is None else np.broadcast_to(_as_rows(w), xr.shape).astype(float)
    usable = (wr > 0) & np.isfinite(xr) & np.isfinite(_as_rows(y))
    lo = np.where(usable, xr, np.inf).min(axis=1)
    hi = np.where(usable, xr, -np.inf).max(axis=1)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    hi = np.where(np.isfinite(hi), hi, 0.0)
    fits = smoothing_splines(
        x, y, w, lam=lam, gamma=gamma, anchors=anchors, anchor_weight=anchor_weight
    )
    sign = 1.0 if increasing else -1.0
    slope_lo, slope_hi, monotone = _slopes_and_monotone(fits, lo, hi, sign)
    span = hi - lo
    rearranged = ~monotone & (span > 0)
    values = np.full((len(fits), grid_size), np.nan)
    if rearranged.any():
        u = np.linspace(0.0, 1.0, grid_size)
        idx = np.flatnonzero(rearranged)
        sub = SplineFits(
            knots=fits.knots[idx],
            values=fits.values[idx],
            second=fits.second[idx],
            count=fits.count[idx],
            lam=fits.lam[idx],
        )
        raw = np.sort(_on_affine_grids(sub, lo[idx], span[idx], u), axis=1)
        values[idx] = raw if increasing else raw[:, ::-1]
    clip = np.maximum if increasing else np.minimum
    flat = span <= 0
    return MonotoneSplineFits(
        lo=lo,
        hi=hi,
        values=values,
        rearranged=rearranged,
        slope_lo=np.where(flat, 0.0, clip(slope_lo, 0.0)),
        slope_hi=np.where(flat, 0.0, clip(slope_hi, 0.0)),
        fits=fits,
        increasing=increasing,
    )


def _slopes_and_monotone(
    fits: SplineFits, lo: FloatArray, hi: FloatArray, sign: float
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """The spline's derivative at ``lo`` and ``hi`` (both knots) and whether it is
    monotone (in the direction of ``sign``) on [lo, hi], from each cubic piece's
    derivative c1 + 2 c2 a + 3 c3 a^2 on a in [0, h]: its ends and its turning point."""
    x, f, g = fits.knots, fits.values, fits.second
    h = np.diff(x, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        c1 = (f[:, 1:] - f[:, :-1]) / h - h * (2.0 * g[:, :-1] + g[:, 1:]) / 6.0
        c2 = g[:, :-1] / 2.0
        c3 = (g[:, 1:] - g[:, :-1]) / (6.0 * h)
        end = c1 + 2.0 * c2 * h + 3.0 * c3 * h * h
        vertex = np.where(c3 != 0, -c2 / (3.0 * c3), -1.0)
        at_vertex = c1 + 2.0 * c2 * vertex + 3.0 * c3 * vertex * vertex
    k = x.shape[1]
    piece = np.arange(k - 1)[None, :]
    used = (piece < (fits.count - 1)[:, None]) & (h > 0)
    # Pieces inside the data range (lo and hi are knots).
    inside = used & (x[:, :-1] >= lo[:, None]) & (x[:, 1:] <= hi[:, None])
    scale = np.nanmax(np.abs(np.where(used, c1, 0.0)), axis=1, initial=0.0)[:, None] + 1e-300
    tol = -1e-9 * scale
    ok = (sign * c1 >= tol) & (sign * end >= tol)
    has_vertex = (vertex > 0) & (vertex < h)
    ok &= ~has_vertex | (sign * at_vertex >= tol)
    monotone = np.all(ok | ~inside, axis=1)
    # Derivative at lo: the start of the first piece inside; at hi: the end of the last.
    first = np.argmax(inside, axis=1)
    last = k - 2 - np.argmax(inside[:, ::-1], axis=1)
    rows = np.arange(len(x))
    any_inside = inside.any(axis=1)
    slope_lo = np.where(any_inside, c1[rows, first], 0.0)
    slope_hi = np.where(any_inside, end[rows, last], 0.0)
    return np.nan_to_num(slope_lo), np.nan_to_num(slope_hi), monotone
