"""Resampling the capabilities score and the statistics built on it, block by block.

A bootstrap is cut into blocks of :data:`~evalgap.stats.RESAMPLE_BLOCK` resamples
(:func:`~evalgap.stats.resample_blocks`); a :class:`BlockStatistics` turns one block's
counts into every statistic for those resamples, re-estimating the capabilities score in
each. It holds everything it needs and pickles, so an executor can run blocks anywhere;
within a block it works in chunks sized to its memory budget. Matrix products that are not
exact in floating point (slopes, Pearson) always see a whole block, so a replicate's bits
do not depend on the chunk size or on where its block ran.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from evalgap.analyses.safetywashing._capability import _fit
from evalgap.stats._correlate import CorrelationPlan
from evalgap.stats._resample import RESAMPLE_BLOCK, Executor, jackknife_rows

__all__ = [
    "BlockStatistics",
    "BlockTask",
    "Statistic",
    "fit_row_bytes",
    "fit_rows",
    "jackknife_tasks",
    "run_blocks",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Statistic:
    """One statistic per benchmark: ``plan``'s correlations (or slopes) with the
    capabilities score (``ref`` None) or with a fixed reference."""

    plan: CorrelationPlan
    kind: Literal["correlations", "slopes"] = "correlations"
    ref: FloatArray | None = None


@dataclass(frozen=True)
class BlockTask:
    """A block of resamples: bootstrap counts, or rows ``lo:hi`` of the jackknife."""

    lo: int
    counts: NDArray[Any] | None = None  # counts (int32), or weight rows
    jackknife: tuple[int, int] | None = None
    n: int = 0

    def weights(self) -> FloatArray:
        if self.counts is not None:
            return self.counts.astype(float)
        assert self.jackknife is not None
        return jackknife_rows(self.n, *self.jackknife)

    @property
    def rows(self) -> int:
        if self.counts is not None:
            return len(self.counts)
        assert self.jackknife is not None
        return self.jackknife[1] - self.jackknife[0]


@dataclass(frozen=True)
class BlockStatistics:
    """Every statistic of a block of resamples, with the capabilities score re-estimated
    in each resample (``x``, ``fit_args`` and ``reference`` as for the capability fit).

    ``max_bytes`` bounds the capability step's working memory: it runs on chunks of the
    block's resamples of at most ``fit_rows`` rows (its results do not depend on the
    chunking).
    """

    x: FloatArray
    fit_args: dict[str, Any]
    reference: FloatArray
    statistics: Sequence[Statistic]
    fit_rows: int = RESAMPLE_BLOCK

    def __call__(self, task: BlockTask) -> list[FloatArray]:
        w = task.weights()
        scores, valid = self.scores(w)
        out = []
        for stat in self.statistics:
            ref = scores if stat.ref is None else stat.ref
            values = (
                stat.plan.correlations(ref, w)
                if stat.kind == "correlations"
                else stat.plan.slopes(ref, w)
            )
            values[~valid] = np.nan
            out.append(values)
        return out

    def scores(self, w: FloatArray) -> tuple[FloatArray, NDArray[np.bool_]]:
        """The capabilities score under each weight row, and which rows were valid."""
        scores = np.empty((len(w), self.x.shape[0]))
        valid = np.empty(len(w), dtype=bool)
        step = max(1, self.fit_rows)
        for lo in range(0, len(w), step):
            fit = _fit(self.x, w[lo : lo + step], reference=self.reference, **self.fit_args)
            scores[lo : lo + step] = fit.scores
            valid[lo : lo + step] = fit.valid
        return scores, valid


def fit_row_bytes(n_models: int, n_capabilities: int, impute: bool) -> int:
    """Bytes the capability step holds per resample (its (n, p) working arrays)."""
    return 8 * n_models * n_capabilities * (18 if impute else 14) + 64 * n_capabilities**2


def fit_rows(budget: int, n_models: int, n_capabilities: int, impute: bool) -> int:
    """Resamples the capability step takes at once: what ``budget`` allows, and no more
    than about 64 MB of working arrays (larger chunks are no faster)."""
    per_row = fit_row_bytes(n_models, n_capabilities, impute)
    return max(1, min(budget, 2**26) // per_row)


def jackknife_tasks(n: int) -> list[BlockTask]:
    """The leave-one-out resamples as blocks (the first block holds all of them for up to
    :data:`RESAMPLE_BLOCK` models)."""
    return [
        BlockTask(lo, jackknife=(lo, min(n, lo + RESAMPLE_BLOCK)), n=n)
        for lo in range(0, n, RESAMPLE_BLOCK)
    ]


def run_blocks(
    fn: Callable[[BlockTask], list[FloatArray]],
    tasks: Iterable[BlockTask],
    total: int,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[FloatArray]:
    """Run ``fn`` on every block and stack each statistic over the blocks, in order.

    Without an executor the blocks run here one after another, with ``progress`` after
    each; with one, ``executor.map`` gets the blocks (a lazy iterable) and may run them
    anywhere.
    """
    if executor is None:
        results = []
        for task in tasks:
            results.append(fn(task))
            if progress is not None:
                progress(min(task.lo + task.rows, total), total)
    else:
        results = list(executor.map(fn, tasks))
        if progress is not None:
            progress(total, total)
    if not results:
        return []
    return [np.concatenate([r[i] for r in results]) for i in range(len(results[0]))]
