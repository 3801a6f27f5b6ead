"""What a resampling computation needs in memory, and how to chunk it within a budget.

Every engine that resamples sizes its chunks from the one memory budget
(:mod:`evalgap._memory`: ``--max-memory``, ``EVALGAP_MAX_MEMORY`` or half the available
memory), so memory is bounded by design rather than by the size of the panel.
:func:`audit_memory` is the estimate for an audit; its ``minimum`` is what an analysis's
parameter check compares with the budget, so ``--bootstrap 1000000000000`` is a one-line
error, not a ``MemoryError``.
"""

from __future__ import annotations

from dataclasses import dataclass

from evalgap._memory import (
    DEFAULT_FRACTION,
    available_memory,
    format_bytes,
    memory_budget,
    parse_memory,
    resolve_budget,
)
from evalgap.stats._resample import RESAMPLE_BLOCK

__all__ = [
    "DEFAULT_FRACTION",
    "MemoryPlan",
    "audit_memory",
    "available_memory",
    "format_bytes",
    "memory_budget",
    "parse_memory",
    "resolve_budget",
]


@dataclass(frozen=True)
class MemoryPlan:
    """What a resampling request needs: ``fixed`` bytes whatever the chunking, plus
    ``per_row`` bytes per resample processed at once, with at least ``min_rows`` rows.

    ``minimum`` is what it needs with the smallest chunks; a budget above it is enough, and
    :meth:`rows` says how many resamples a chunk may then hold.
    """

    fixed: int
    per_row: int
    min_rows: int = 1

    @property
    def minimum(self) -> int:
        return self.fixed + self.per_row * self.min_rows

    def rows(self, budget: int, most: int) -> int:
        """Resamples per chunk under ``budget``: as many as fit, between ``min_rows`` and
        ``most``."""
        room = max(0, budget - self.fixed)
        return int(min(most, max(self.min_rows, room // max(1, self.per_row))))


def audit_memory(
    n_models: int,
    n_benchmarks: int,
    n_capabilities: int,
    n_boot: int,
    n_perm: int,
    *,
    method: str = "spearman",
    ci_method: str = "bca",
) -> MemoryPlan:
    """Estimated memory of an audit of ``n_benchmarks`` benchmarks on ``n_models`` models.

    ``fixed`` holds what the whole run keeps: the scores, the per-benchmark sort orders,
    every bootstrap replicate of the three statistics (and one sorted copy while the
    intervals are formed), the jackknife replicates for BCa, and one block of
    :data:`RESAMPLE_BLOCK` resamples' weights, scores and matrix-product operands.
    ``per_row`` is what one more resample in a chunk costs: the capabilities score's
    working arrays (re-estimated in every resample) and the rank engine's (linear in the
    number of models). Kendall's tau holds an n x n sign matrix per benchmark and resample
    in flight, so it is counted at one resample at a time.

    Examples
    --------
    >>> need = audit_memory(26, 166, 12, 10_000, 10_000)
    >>> need.minimum < 100e6
    True
    >>> audit_memory(26, 166, 12, 10**12, 0).minimum > 1e15
    True
    """
    n, k, p = int(n_models), int(n_benchmarks), int(n_capabilities)
    b, perm = max(0, int(n_boot)), max(0, int(n_perm))
    f8 = 8
    block = min(max(b, 1), RESAMPLE_BLOCK)
    # data, plans: scores, sort orders, masks, tie bookkeeping (a few n x k arrays)
    fixed = 12 * n * (k + p) * f8
    # the bootstrap replicates (3 statistics) and one sorted copy for the intervals
    fixed += 4 * b * k * f8
    if b and ci_method == "bca":
        fixed += 3 * n * k * f8  # jackknife replicates
    if b:
        # one block: weights, scores and the operands of the slope and FLOP products
        fixed += 8 * block * n * f8 + 6 * block * k * f8
    if perm:
        # one chunk of permutations: indices and gathered ranks, at least 64 at a time
        fixed += 64 * n * 2 * f8 + 64 * k * f8
    # per resample in a chunk: the capabilities step (about ten n x p arrays) and the
    # rank engine's per-resample rows (weights, ranks and orders in a few layouts)
    per_row = (10 * n * p + 24 * n + 8 * k) * f8
    if method == "kendall":
        per_row += 4 * n * n * f8
    return MemoryPlan(fixed=fixed, per_row=per_row)
