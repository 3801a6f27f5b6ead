"""Spearman correlations of fixed benchmark columns with a reference that changes in every
resample (the capabilities score), for a stack of resamples at once.

Time O(B n K) and memory linear in n: no n x n matrix is built, and columns with missing
cells need no rebuild of their own.

How. A resample is a row of counts ``w`` (how often each model was drawn). Each benchmark
column is sorted once; its values never change. A column's weighted midrank at a sorted
position is then the running sum of the counts up to it (``A``) minus half its own count,
so a *sweep* along the sorted positions, vectorised over (column, resample) pairs, gives
every rank of every resample in one pass. Models tied on a benchmark are merged into one
position whose count is the sum of theirs. The reference's ranks change with the
resample, so they are computed per resample among all models that have the reference
(``R_U``, one sort per resample), and the covariance of the ranks is::

    cov = sum_pos A * u - 1/2 * sum_pos g * u,   u = w * (R_U - centre)

(``g`` the position's count; the sum of ``u`` is 0). A column missing some models needs the
reference's ranks among its own models only: ``R_U - E``, where ``E`` is the weight of the
column's missing models that the reference ranks below each model. Its share of the
covariance, ``sum_i h_i w_i E_i`` (``h = A - g / 2`` gathered into model order), is read
off, for each missing model, from one running sum of ``h w`` in the reference's sorted
order; a column with missing cells costs about twice a complete one, not a rebuild.
Complete columns of panels of at most 64 models use the fixed n x n midrank matrices
instead (one matrix product, faster than the sweep at that size).

Every quantity is a sum of products of counts and half-counts, so it is exact in floating
point (up to about 10^5 models): the results are bit-identical to the dense engine's, and
do not depend on how resamples or columns are split into blocks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import scipy.sparse
from numpy.typing import NDArray

__all__ = ["SpearmanPlan"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

# Elements per (column, resample) plane a sweep step works on: large enough that the
# Python step costs little, small enough that the plane stays in cache.
_PLANE = 16_384
# Bytes of the per-row arrays of a block of columns with missing cells: about what the
# processor's cache holds, so each of the block's passes reads from cache.
_CACHE = 2**22
# Up to this many models (and this many bytes of midrank matrices), complete columns use
# the fixed n x n midrank matrices and one matrix product instead of the sweep.
_DENSE_MODELS = 64
_DENSE_BYTES = 64 * 2**20
# Most bytes of per-resample rows processed at once (whatever the budget).
_CHUNK_BYTES = 2**26
# Threads the column blocks are spread over (one per core, at most 8).
_THREADS = min(8, os.cpu_count() or 1)
# Default working memory of one call (rows of a chunk and the tables of a column block
# with missing cells).
_DEFAULT_BYTES = 2**30


class SpearmanPlan:
    """Spearman correlations of the columns of ``y`` with a reference under weight rows.

    Parameters
    ----------
    y
        (n, K) benchmark scores, NaN where not evaluated.
    ref_available
        (n,) which models have the reference; a column's correlation uses the models that
        have both, with both variables ranked among those models.
    max_bytes
        Working memory the engine may use per call (its tables and per-resample rows);
        calls with more resamples are processed in chunks.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1.0, 2.0], [2.0, np.nan], [4.0, 1.0], [3.0, 3.0]])
    >>> plan = SpearmanPlan(y, np.ones(4, bool))
    >>> plan.correlations(np.array([1.0, 2.0, 3.0, 4.0]), np.ones((1, 4))).round(3)
    array([[0.8, 0.5]])
    """

    def __init__(
        self, y: FloatArray, ref_available: BoolArray, max_bytes: int | None = None
    ) -> None:
        y = np.asarray(y, dtype=float)
        n, k = y.shape
        self.shape = (n, k)
        self.max_bytes = int(max_bytes) if max_bytes else _DEFAULT_BYTES
        self.keep = np.flatnonzero(np.asarray(ref_available, dtype=bool))
        nu = len(self.keep)
        self.nu = nu
        yk = y[self.keep]
        valid = ~np.isnan(yk)
        count = valid.sum(axis=0)
        self.usable = count >= 2
        self.valid = valid.astype(float)
        self.full = valid.all(axis=0)
        self._build_positions(yk, valid, count)
        self._build_dense(yk)
        # each column with missing cells: the models (with the reference) it lacks,
        # padded with nu
        self.masked = np.flatnonzero(~self.full)
        lack = ~valid[:, self.masked]
        self.missing = np.full((len(self.masked), max(1, int(lack.sum(0).max(initial=0)))), nu)
        for i in range(len(self.masked)):
            idx = np.flatnonzero(lack[:, i])
            self.missing[i, : len(idx)] = idx
        # complete columns first, each kind in column order
        self.columns = np.r_[
            np.flatnonzero(self.usable & self.full), np.flatnonzero(self.usable & ~self.full)
        ].astype(np.intp)

    def _build_dense(self, yk: FloatArray) -> None:
        """With few models, the complete columns' midrank matrices M (``w' M u`` is a
        column's rank covariance), flattened: one matrix product per chunk beats the sweep
        while n^2 is small."""
        self.dense: FloatArray | None = None
        self.dense_columns = np.flatnonzero(self.usable & self.full)
        nu, k = self.nu, len(self.dense_columns)
        if nu > _DENSE_MODELS or k == 0 or 8 * nu * nu * k > _DENSE_BYTES:
            return
        v = yk[:, self.dense_columns]
        less = (v[:, None, :] < v[None, :, :]).astype(float)
        self.dense = (less + 0.5 * (v[:, None, :] == v[None, :, :])).reshape(nu * nu, k)

    def _build_positions(self, yk: FloatArray, valid: BoolArray, count: NDArray) -> None:
        """Per column, its distinct values in increasing order as indices into the
        extended models: a model, or a tie group of several models (after the models)."""
        nu, k = yk.shape
        order = np.argsort(np.where(valid, yk, np.nan), axis=0, kind="stable")
        per_column: list[NDArray[np.intp]] = []
        members: list[NDArray[np.intp]] = []
        member_group: list[NDArray[np.intp]] = []
        owner: list[int] = []
        n_groups = 0
        for j in range(k):
            o = order[: count[j], j]
            v = yk[o, j]
            starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]]) if len(o) else o
            sizes = np.diff(np.r_[starts, len(o)])
            ext = o[starts].copy()
            tied = np.flatnonzero(sizes > 1)
            if len(tied):
                ids = n_groups + np.arange(len(tied))
                ext[tied] = nu + ids
                gid = np.repeat(np.arange(len(starts)), sizes)
                local = np.full(len(starts), -1)
                local[tied] = ids
                in_tie = local[gid] >= 0
                members.append(o[in_tie])
                member_group.append(local[gid][in_tie])
                owner.extend([j] * len(tied))
                n_groups += len(tied)
            per_column.append(ext)
        self.n_groups = n_groups
        self.pad = nu + n_groups  # index of an all-zero extended row
        length = max((len(c) for c in per_column), default=0)
        self.positions = np.full((k, length), self.pad, dtype=np.intp)
        for j, ext in enumerate(per_column):
            self.positions[j, : len(ext)] = ext
        member = np.concatenate(members) if members else np.zeros(0, np.intp)
        group = np.concatenate(member_group) if member_group else np.zeros(0, np.intp)
        self.member, self.member_group = member, group
        self.member_column = np.asarray(owner, dtype=np.intp)[group]
        # tie groups <- models (sums of counts) and columns <- tie groups, as sparse sums
        self.group_sum = scipy.sparse.csr_matrix(
            (np.ones(len(member)), (group, member)), shape=(n_groups, nu)
        )
        self.column_sum = scipy.sparse.csr_matrix(
            (np.ones(n_groups), (np.asarray(owner, dtype=np.intp), np.arange(n_groups))),
            shape=(k, n_groups),
        )

    def _per_column(self, values: FloatArray) -> FloatArray:
        """(b, K): each row of ``values`` (b, nu) summed over each column's models: the
        sum over all models less the column's few missing ones."""
        out = np.repeat(values.sum(axis=1)[:, None], self.shape[1], axis=1)
        if len(self.masked):
            padded = np.concatenate([values, np.zeros((len(values), 1))], axis=1)
            out[:, self.masked] -= padded[:, self.missing].sum(axis=2)
        return out

    def _grouped(self, values: FloatArray) -> FloatArray:
        """(b, G): each row of ``values`` (b, nu) summed over each tie group's members."""
        if not self.n_groups:
            return np.zeros((len(values), 0))
        return np.asarray(self.group_sum @ values.T).T

    def _owned(self, values: FloatArray) -> FloatArray:
        """(b, K): per-group values (b, G) summed into the group's column."""
        if not self.n_groups:
            return np.zeros((len(values), self.shape[1]))
        return np.asarray(self.column_sum @ values.T).T

    # -- memory -------------------------------------------------------------------------

    def row_bytes(self) -> int:
        """Bytes one resample row takes while a chunk is processed."""
        nu, k = self.nu, self.shape[1]
        dense = nu * nu if self.dense is not None else 0
        return 8 * (2 * (nu + self.n_groups + 1) + 12 * nu + 12 * k + dense)

    def _rows_per_chunk(self, rows: int) -> int:
        # A quarter of the budget for the rows of a chunk, and no more than the processor's
        # caches serve well: larger chunks are no faster.
        room = min(self.max_bytes // 4, _CHUNK_BYTES)
        return int(max(1, min(rows, room // max(1, self.row_bytes()))))

    # -- correlations -------------------------------------------------------------------

    def correlations(self, ref: FloatArray, w: FloatArray) -> FloatArray:
        """(B, K) Spearman correlations of each column with ``ref`` ((n,) or (B, n), NaN
        outside the models that have it) under each weight row of ``w`` (B, n); NaN where
        a correlation is undefined."""
        w = np.atleast_2d(np.asarray(w, dtype=float))
        ref = np.broadcast_to(np.atleast_2d(np.asarray(ref, dtype=float)), w.shape)
        out = np.full((w.shape[0], self.shape[1]), np.nan)
        if len(self.columns) == 0 or self.nu < 2:
            return out
        step = self._rows_per_chunk(w.shape[0])
        for lo in range(0, w.shape[0], step):
            sl = slice(lo, lo + step)
            wu = np.ascontiguousarray(w[sl][:, self.keep])
            ru = np.ascontiguousarray(ref[sl][:, self.keep])
            out[sl, self.columns] = self._chunk(ru, wu)[:, self.columns]
        return out

    def _chunk(self, ru: FloatArray, wu: FloatArray) -> FloatArray:
        b, nu = wu.shape
        total = wu.sum(axis=1)
        order = np.argsort(ru, axis=1, kind="stable")  # the one sort per resample
        ties = _tie_runs(np.take_along_axis(ru, order, axis=1))
        ranks = _midranks(order, wu, ties)
        centre = 0.5 * (total + 1.0)
        dev = ranks - centre[:, None]
        u = wu * dev
        tg = self._grouped(wu)
        ug = self._grouped(u)
        # Extended rows [count, u] of every model, then every tie group, then a zero row.
        ext = np.zeros((self.pad + 1, 2, b))
        ext[:nu, 0] = wu.T
        ext[:nu, 1] = u.T
        ext[nu : self.pad, 0] = tg.T
        ext[nu : self.pad, 1] = ug.T

        # Sums over each column's positions (exact: integer counts): over every model with
        # the reference, less the column's missing ones, with each tie group merged.
        cubes = wu**3 - wu
        products = wu * u
        size = self._per_column(wu)  # S per column
        own = self._per_column(cubes)  # sum of w^3 - w over the column's models
        gu = self._per_column(products)
        q3 = own
        if self.n_groups:
            q3 = own + self._owned((tg**3 - tg) - self._grouped(cubes))
            gu = gu + self._owned(tg * ug - self._grouped(products))
        var_y = ((size**3 - size) - q3) / 12.0
        var_r = np.empty_like(size)
        var_r[:, self.full] = (u * dev).sum(axis=1)[:, None]
        masked = ~self.full
        if masked.any():
            var_r[:, masked] = self._masked_var_r(order, wu, size[:, masked], own[:, masked], ties)

        cov = np.empty_like(size)
        full_cols = self.columns[self.full[self.columns]]
        if self.dense is not None:
            # Few models: one matrix product with the fixed midrank matrices (w' M u).
            outer = (wu[:, :, None] * u[:, None, :]).reshape(b, nu * nu)
            cov[:, self.dense_columns] = outer @ self.dense
        else:
            plane = max(1, _PLANE // b)

            def sweep(lo: int) -> None:
                cols = full_cols[lo : lo + plane]
                cov[:, cols] = self._sweep(ext, cols).T - 0.5 * gu[:, cols]

            _in_threads(sweep, range(0, len(full_cols), plane))
        masked_cols = self.columns[~self.full[self.columns]]
        if len(masked_cols):
            centre_col = 0.5 * (size[:, masked_cols] + 1.0)
            cov[:, masked_cols] = (
                self._masked(order, ties, wu, u, tg, masked_cols)
                + 0.5 * (centre[:, None] - centre_col) * size[:, masked_cols] ** 2
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = cov / np.sqrt(np.abs(var_y) * np.abs(var_r))
        return np.clip(np.where((var_y <= 0) | (var_r <= 0), np.nan, rho), -1.0, 1.0)

    def _sweep(self, ext: FloatArray, cols: NDArray[np.intp]) -> FloatArray:
        """``sum_pos A * u`` per (column, resample): walk the sorted positions of the
        complete columns ``cols`` for every resample at once; ``ext`` is (n_ext, 2, b)."""
        b = ext.shape[2]
        positions = self.positions[cols]
        running = np.zeros((len(cols), b))
        acc = np.zeros((len(cols), b))
        tmp = np.empty((len(cols), b))
        for t in range(positions.shape[1]):
            step = np.take(ext, positions[:, t], axis=0)  # (k, 2, b): counts and u
            np.add(running, step[:, 0], out=running)
            np.multiply(running, step[:, 1], out=tmp)
            np.add(acc, tmp, out=acc)
        return acc

    def _masked(
        self,
        order: NDArray[np.intp],
        ties: _Runs,
        wu: FloatArray,
        u: FloatArray,
        tg: FloatArray,
        cols: NDArray[np.intp],
    ) -> FloatArray:
        """``sum_i h_i (u_i - w_i E_i)`` per (resample, column), for columns with missing
        cells: ``h_i = A_i - g_i / 2`` is model ``i``'s position's running count less half
        its count, ``E_i`` the weight of the column's missing models the reference ranks
        below model ``i`` (half for ties).

        Resample by resample, for a block of columns at a time (each pass over a (columns,
        models) plane): the running counts in each column's own order, gathered into
        model order; then ``sum_i h_i w_i E_i = sum_t w_t (weight of h w above t)`` over
        the missing models ``t``, read off one running sum of ``h w`` in the reference's
        order.
        """
        b, nu = wu.shape
        counts = np.zeros((b, self.pad + 1))
        counts[:, :nu] = wu
        counts[:, nu : self.pad] = tg
        position = np.empty((b, nu + 1), dtype=np.intp)  # reference order; nu: "absent"
        np.put_along_axis(position, order, np.arange(nu)[None, :], axis=1)
        position[:, nu] = nu
        # A missing model in a run of equal reference values sees half the run above it.
        low, high = position, position + 1
        if ties:
            low, high = low.copy(), high.copy()
            model = order[ties.member_row, ties.member_pos]
            low[ties.member_row, model] = ties.start[ties.member_run]
            high[ties.member_row, model] = ties.end[ties.member_run] + 1
        high[:, nu] = nu  # the padding "model": above everything, weight 0
        weight = np.concatenate([wu, np.zeros((b, 1))], axis=1)
        out = np.empty((b, len(cols)))
        width = max(1, min(len(cols), _CACHE // (8 * 6 * (nu + self.positions.shape[1]))))
        shared = _Shared(counts, order, low, high, weight, u, out)
        _in_threads(
            lambda lo: self._masked_block(cols, lo, width, shared), range(0, len(cols), width)
        )
        return out

    def _masked_block(self, cols: NDArray[np.intp], lo: int, width: int, c: _Shared) -> None:
        """:meth:`_masked` for the block of ``width`` columns starting at ``lo``, a few
        resamples at a time (one at a time for large panels)."""
        block = cols[lo : lo + width]
        k = len(block)
        b, nu = c.u.shape
        length = self.positions.shape[1]
        positions = self.positions[block]  # (k, L)
        missing = self.missing[np.searchsorted(self.masked, block)]  # (k, d), padded: nu
        # Flat index of each model's position in a (column, position) plane; the extra
        # position `length` holds 0 for the models a column lacks.
        own = np.arange(k)[:, None] * (length + 1) + self._model_positions(block, length).T
        rows = max(1, min(b, _CACHE // (8 * 8 * k * (nu + length))))
        for r0 in range(0, b, rows):
            sl = slice(r0, r0 + rows)
            r = len(c.u[sl])
            drawn = np.take(c.counts[sl], positions, axis=1)  # (r, k, L)
            half = np.zeros((r, k, length + 1))
            np.cumsum(drawn, axis=2, out=half[..., :length])
            drawn *= 0.5
            half[..., :length] -= drawn  # A - g / 2 at every position
            h = np.take(half.reshape(r, -1), own, axis=1)  # (r, k, nu), model order
            total = np.matmul(h, c.u[sl, :, None])[..., 0]
            h *= c.weight[sl, None, :nu]
            # running sum of h w in the reference's order (the missing models' share)
            above = np.zeros((r, k, nu + 1))
            if r == 1:
                np.cumsum(np.take(h[0], c.order[r0], axis=1), axis=1, out=above[0, :, 1:])
            else:
                ordered = np.take_along_axis(h, c.order[sl, None, :], axis=2)
                np.cumsum(ordered, axis=2, out=above[..., 1:])
            seen = np.take_along_axis(above, c.low[sl][:, missing], axis=2)
            seen += np.take_along_axis(above, c.high[sl][:, missing], axis=2)
            # weight of h w above each missing model: all of it less what is below it
            past = above[..., -1:] - 0.5 * seen
            c.out[sl, lo : lo + k] = total - (c.weight[sl][:, missing] * past).sum(axis=2)

    def _model_positions(self, cols: NDArray[np.intp], absent: int) -> NDArray[np.intp]:
        """(nu, k): the sorted position of each model in each column (a tie-group member's
        is its group's); ``absent`` for models the column lacks."""
        k = len(cols)
        where = np.full((self.pad + 1, k), absent, dtype=np.intp)
        positions = self.positions[cols]
        col = np.broadcast_to(np.arange(k)[:, None], positions.shape)
        real = positions != self.pad
        where[positions[real], col[real]] = np.broadcast_to(
            np.arange(positions.shape[1]), positions.shape
        )[real]
        if self.n_groups:
            pick = np.isin(self.member_column, cols)
            local = np.searchsorted(cols, self.member_column[pick])
            where[self.member[pick], local] = where[self.nu + self.member_group[pick], local]
        return where[: self.nu]

    def _masked_var_r(
        self,
        order: NDArray[np.intp],
        wu: FloatArray,
        size: FloatArray,
        own: FloatArray,
        ties: _Runs,
    ) -> FloatArray:
        """Sum of squared deviations of the reference's ranks among each masked column's
        models: (S^3 - S - sum over tie groups of (T^3 - T)) / 12, where every model's
        copies form a group unless the reference ties it with other models (``own``: the
        sum of w^3 - w over the column's models)."""
        valid = self.valid[:, ~self.full]
        own = own.copy()
        if ties:
            model = order[ties.member_row, ties.member_pos]
            counts = wu[ties.member_row, model][:, None] * valid[model]  # (members, columns)
            bounds = np.r_[0, np.cumsum(ties.end - ties.start + 1)[:-1]]
            groups = np.add.reduceat(counts, bounds, axis=0)  # (runs, columns)
            mine = np.add.reduceat(counts**3 - counts, bounds, axis=0)
            np.add.at(own, ties.row, (groups**3 - groups) - mine)
        return ((size**3 - size) - own) / 12.0


def _midranks(order: NDArray[np.intp], weights: FloatArray, ties: _Runs) -> FloatArray:
    """Weighted midranks of each row's values given their sort ``order`` and tie runs
    (as :func:`evalgap.stats.weighted_midranks`)."""
    drawn = np.take_along_axis(weights, order, axis=1)
    cum = np.cumsum(drawn, axis=1)
    ranks_sorted = cum - 0.5 * drawn + 0.5
    if ties:
        before = cum[ties.row, ties.start] - drawn[ties.row, ties.start]
        run_rank = before + 0.5 * (cum[ties.row, ties.end] - before + 1.0)
        ranks_sorted[ties.member_row, ties.member_pos] = run_rank[ties.member_run]
    ranks = np.empty_like(ranks_sorted)
    np.put_along_axis(ranks, order, ranks_sorted, axis=1)
    return ranks


def _in_threads(fn: Callable[[int], None], items: range) -> None:
    """``fn`` on every item, on the machine's cores: NumPy releases the GIL while it
    works, and each item writes its own columns, so the result is the same as in order."""
    if _THREADS <= 1 or len(items) <= 1:
        for item in items:
            fn(item)
        return
    with ThreadPoolExecutor(max_workers=min(_THREADS, len(items))) as pool:
        for _ in pool.map(fn, items):
            pass


class _Shared(NamedTuple):
    """What every block of :meth:`SpearmanPlan._masked` reads (and its output)."""

    counts: FloatArray  # (b, n_ext): counts of models and tie groups, then 0
    order: NDArray[np.intp]  # (b, nu): the reference's sort order
    low: NDArray[np.intp]  # (b, nu + 1): first reference position of each model's run
    high: NDArray[np.intp]  # (b, nu + 1): one past the last
    weight: FloatArray  # (b, nu + 1): counts, then 0
    u: FloatArray  # (b, nu)
    out: FloatArray  # (b, K masked)


class _Runs(NamedTuple):
    """Runs of equal reference values (ties between different models), one entry per
    run: its row, first and last sorted position; and one entry per member: its run,
    row and sorted position."""

    row: NDArray[np.intp]
    start: NDArray[np.intp]
    end: NDArray[np.intp]
    member_run: NDArray[np.intp]
    member_row: NDArray[np.intp]
    member_pos: NDArray[np.intp]

    def __bool__(self) -> bool:
        return len(self.row) > 0


def _tie_runs(sorted_values: FloatArray) -> _Runs:
    """The runs of equal values in each row of ``sorted_values`` (no Python loop)."""
    equal = sorted_values[:, 1:] == sorted_values[:, :-1]
    flags = np.zeros((equal.shape[0], equal.shape[1] + 2), dtype=np.int8)
    flags[:, 1:-1] = equal
    edges = np.diff(flags, axis=1)
    row, start = np.nonzero(edges == 1)
    _, end = np.nonzero(edges == -1)
    size = end - start + 1
    member_run = np.repeat(np.arange(len(row)), size)
    offset = np.arange(len(member_run)) - np.repeat(np.cumsum(size) - size, size)
    return _Runs(row, start, end, member_run, row[member_run], start[member_run] + offset)
