"""Batched smoothing splines against SciPy, the penalised criterion, and their invariances."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import make_smoothing_spline

from evalgap.stats import gcv_criterion, monotone_smoothing_splines, smoothing_splines
from evalgap.stats._splines import _roughness

# Agreement with SciPy at a fixed smoothing parameter: both solve the same banded systems,
# so only rounding separates them.
FIXED_LAM_TOL = 1e-8
# Merging ties, zero weights and batching change nothing but rounding.
EXACT_TOL = 1e-9
# Anchors of relative weight 1e-8 move a fit by about that much per unit of residual.
ANCHOR_TOL = 1e-5


def _data(seed: int, n: int = 25) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0, 1, n))
    return x, np.sqrt(x) + rng.normal(0, 0.05, n)


@pytest.mark.parametrize("seed", range(4))
def test_fixed_lambda_matches_scipy(seed):
    x, y = _data(seed)
    w = np.random.default_rng(seed + 10).uniform(0.5, 3.0, len(x))
    t = np.linspace(x[0], x[-1], 101)
    for lam in (1e-6, 1e-3, 1e-1):
        ours = smoothing_splines(x, y, w, lam=lam)(t[None, :])[0]
        ref = make_smoothing_spline(x, y, w=w, lam=lam)(t)
        assert np.abs(ours - ref).max() < FIXED_LAM_TOL


def _criterion(x: np.ndarray, y: np.ndarray, lam: float, gamma: float) -> float:
    """GCV computed directly from the smoother matrix, as a check of the eigen route."""
    k = len(x)
    rough = _roughness(x[None])[0]
    smoother = np.linalg.inv(np.eye(k) + lam * rough)
    resid = y - smoother @ y
    room = k - gamma * np.trace(smoother)
    return np.inf if room <= 0 else k * (resid @ resid) / room**2


@pytest.mark.parametrize("gamma", [1.0, 1.4])
def test_gcv_choice_minimises_the_criterion(gamma):
    x, y = _data(3)
    fits = smoothing_splines(x, y, gamma=gamma)
    best = _criterion(x, y, float(fits.lam[0]), gamma)
    grid = np.logspace(-9, 2, 400)
    values = np.array([_criterion(x, y, lam, gamma) for lam in grid])
    # Nothing on a fine grid does better than the chosen lam (up to the grid's rounding).
    assert best <= values.min() * (1 + 1e-6)
    # The eigen-basis criterion equals the direct one.
    rough = _roughness(x[None])
    eig, vec = np.linalg.eigh(rough[0])
    z2 = (vec.T @ y) ** 2
    direct = _criterion(x, y, 1e-3, gamma)
    via_eig = gcv_criterion(np.log([1e-3]), np.clip(eig, 0, None)[None], z2[None], len(x), gamma)
    assert via_eig[0] == pytest.approx(direct, rel=1e-8)


def test_classic_gcv_is_the_criterion_scipy_minimises():
    # SciPy searches lam in (0, n) with a bounded scalar search; where its answer is the
    # global minimum of classic GCV, ours (gamma=1) finds the same lam.
    x = np.linspace(0, 1, 30)
    y = np.sin(4 * x) + np.random.default_rng(7).normal(0, 0.2, 30)
    ours = smoothing_splines(x, y, gamma=1.0)
    t = np.linspace(0, 1, 50)
    assert np.abs(ours(t[None, :])[0] - make_smoothing_spline(x, y)(t)).max() < 1e-4


def test_ties_are_merged_and_zero_weights_dropped():
    x, y = _data(1, 12)
    fits_plain = smoothing_splines(x, y, lam=1e-3)
    # Each point split into two copies with half the weight: same criterion, same fit.
    xx = np.concatenate([x, x])
    yy = np.concatenate([y, y])
    ww = np.full(24, 0.5)
    fits_ties = smoothing_splines(xx, yy, ww, lam=1e-3)
    # Extra points with zero weight are ignored.
    x0 = np.concatenate([x, [0.33, 0.77]])
    y0 = np.concatenate([y, [5.0, -5.0]])
    w0 = np.concatenate([np.ones(12), [0.0, 0.0]])
    fits_zero = smoothing_splines(x0, y0, w0, lam=1e-3)
    t = np.linspace(-0.1, 1.1, 57)
    base = fits_plain(t[None, :])[0]
    assert np.abs(fits_ties(t[None, :])[0] - base).max() < EXACT_TOL
    assert np.abs(fits_zero(t[None, :])[0] - base).max() < EXACT_TOL


def test_batched_rows_equal_single_fits():
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, (30, 15))
    y = x**2 + rng.normal(0, 0.05, x.shape)
    w = rng.integers(0, 3, x.shape).astype(float)
    batch = smoothing_splines(x, y, w)
    t = rng.uniform(0, 1, (30, 4))
    values = batch(t)
    for i in range(30):
        single = smoothing_splines(x[i], y[i], w[i])
        assert single.lam[0] == pytest.approx(batch.lam[i], rel=1e-9)
        assert np.abs(single(t[i][None, :])[0] - values[i]).max() < EXACT_TOL


def test_straight_lines_are_reproduced_and_extrapolated_linearly():
    x = np.array([0.1, 0.2, 0.45, 0.5, 0.8])
    y = 2 * x + 1
    fits = smoothing_splines(x, y)
    t = np.array([-1.0, 0.0, 0.3, 0.9, 2.0])
    assert np.abs(fits(t[None, :])[0] - (2 * t + 1)).max() < 1e-9


def test_rows_with_few_points():
    x = np.array([[0.2, 0.4, np.nan], [0.5, 0.5, 0.5], [0.1, 0.3, 0.6]])
    y = np.array([[1.0, 2.0, 0.0], [3.0, 5.0, 4.0], [1.0, 2.0, 3.5]])
    w = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    fits = smoothing_splines(x, y, w)
    out = fits(np.array([[0.3], [0.9], [0.5]]))[:, 0]
    assert out[0] == pytest.approx(1.5)  # the line through two points
    assert out[1] == pytest.approx(4.0)  # the weighted mean of tied points
    assert np.isnan(out[2])  # no usable point


def test_anchors_barely_move_the_fit():
    x, y = _data(2, 15)
    x = 0.2 + 0.6 * x
    plain = smoothing_splines(x, y)
    anchored = smoothing_splines(x, y, anchors=((0.0, 0.0), (1.0, 1.0)))
    assert anchored.lam[0] == plain.lam[0]  # lam is chosen without the anchors
    t = np.linspace(0, 1, 41)
    assert np.abs(anchored(t[None, :])[0] - plain(t[None, :])[0]).max() < ANCHOR_TOL
    assert anchored.knots[0, 0] == 0.0 and anchored.knots[0, anchored.count[0] - 1] == 1.0


def test_monotone_rearrangement():
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, (50, 8))
    y = np.sin(6 * x) + rng.normal(0, 0.3, x.shape)  # far from monotone
    fits = monotone_smoothing_splines(x, y, grid_size=129)
    t = np.linspace(-0.5, 1.5, 400)
    values = fits(t[None, :])
    assert (np.diff(values, axis=1) >= -1e-12).all()
    assert fits.rearranged.sum() > 25  # most of these fits turn
    # A rearranged row: the fit's values on a grid over its data range, sorted.
    row = int(np.flatnonzero(fits.rearranged)[0])
    grid = np.linspace(fits.lo[row], fits.hi[row], 129)
    raw = fits.fits(np.broadcast_to(grid, (len(fits), 129)))[row]
    assert np.allclose(fits.values[row], np.sort(raw))
    # Beyond the data range: linear, never against the monotone direction.
    assert (fits.slope_lo >= 0).all() and (fits.slope_hi >= 0).all()
    # A fit that is already increasing on its data range is kept exactly.
    xs = np.linspace(0.1, 0.9, 12)
    up = monotone_smoothing_splines(xs, xs**2, lam=1e-4, grid_size=101)
    assert not up.rearranged[0]
    inner = np.linspace(0.1, 0.9, 33)
    assert np.abs(up(inner[None, :])[0] - up.fits(inner[None, :])[0]).max() < EXACT_TOL
    down = monotone_smoothing_splines(xs, -xs + 0.1 * np.sin(20 * xs), increasing=False)
    assert (np.diff(down(t[None, :])[0]) <= 1e-12).all()


def test_monotone_check_agrees_with_a_dense_grid():
    rng = np.random.default_rng(6)
    x = rng.uniform(0, 1, (200, 9))
    y = x + rng.normal(0, 0.25, x.shape)
    fits = monotone_smoothing_splines(x, y, gamma=1.0)
    u = np.linspace(0.0, 1.0, 4001)
    grids = fits.lo[:, None] + (fits.hi - fits.lo)[:, None] * u[None, :]
    raw = fits.fits(grids)
    dense_monotone = (np.diff(raw, axis=1) >= -1e-12).all(axis=1)
    assert 10 < fits.rearranged.sum() < 190  # both kinds occur
    assert (dense_monotone == ~fits.rearranged).all()


def test_shared_grid_path_equals_elementwise_evaluation():
    rng = np.random.default_rng(9)
    x = rng.uniform(0.2, 0.8, (60, 7))
    y = x + rng.normal(0, 0.15, x.shape)
    fits = monotone_smoothing_splines(x, y, anchors=((0.0, 0.0), (1.0, 1.0)))
    grid = np.linspace(0, 1, 77)
    fast = fits(grid[None, :])
    rows = np.broadcast_to(np.arange(60)[:, None], (60, 77))
    slow = fits.at(rows, np.broadcast_to(grid, (60, 77)))
    assert np.abs(fast - slow).max() < EXACT_TOL
    assert fits.rearranged.any() and not fits.rearranged.all()
