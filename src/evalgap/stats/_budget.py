"""The memory budget: how many bytes a computation may hold, and what a request needs.

Every engine that resamples sizes its chunks from a budget in bytes, so memory is bounded
by design rather than by the size of the panel: ``--max-memory 2GB`` on the command line,
``max_memory="2GB"`` in the API, by default a fraction of the memory the machine has free.
A request whose smallest chunking still does not fit is refused before any work starts,
with one line naming the estimate (:func:`require_memory`).

:func:`audit_memory` is the estimate for an audit; the CLI and the API check it the same
way, so ``--bootstrap 1000000000000`` is a one-line error, not a ``MemoryError``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from evalgap.errors import AnalysisError, InputError
from evalgap.stats._resample import RESAMPLE_BLOCK

__all__ = [
    "DEFAULT_FRACTION",
    "MemoryNeed",
    "audit_memory",
    "available_memory",
    "default_budget",
    "format_bytes",
    "parse_memory",
    "require_memory",
    "resolve_budget",
]

#: Share of the machine's available memory used when no budget is given.
DEFAULT_FRACTION = 0.5

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_memory(text: str | int | float) -> int:
    """Bytes from a size such as ``"2GB"``, ``"500MB"``, ``"1.5GiB"`` or a plain number.

    Decimal units (kB, MB, GB, TB) are powers of 1000, binary ones (KiB, MiB, GiB, TiB)
    powers of 1024.

    Raises
    ------
    InputError
        Text that is not a positive size.

    Examples
    --------
    >>> parse_memory("2GB"), parse_memory("512MiB"), parse_memory(1000)
    (2000000000, 536870912, 1000)
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        match = _SIZE.match(str(text))
        if match is None or match.group(2).lower() not in _UNITS:
            raise InputError(
                f"memory size must look like 2GB, 500MB or 1.5GiB, got {text!r}",
                source="max_memory",
            )
        value, unit = float(match.group(1)), match.group(2).lower()
    size = value * _UNITS[unit]
    if not math.isfinite(size) or size < 1:
        raise InputError(f"memory size must be positive, got {text!r}", source="max_memory")
    return int(size)


def format_bytes(n: float) -> str:
    """A byte count for people: ``1.5 GB``, ``820 MB``.

    Examples
    --------
    >>> format_bytes(1.5e9), format_bytes(820e6), format_bytes(2.4e16)
    ('1.5 GB', '820 MB', '24,000 TB')
    """
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            value = n / size
            if unit == "TB" and value >= 1000:
                return f"{value:,.0f} TB"
            return f"{value:.3g} {unit}"
    return f"{int(n)} B"


def available_memory() -> int:
    """Bytes of memory the machine has available now (``MemAvailable`` on Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return 4 * 2**30  # a machine that will not say: assume a small laptop


def default_budget() -> int:
    """The budget when none is given: :data:`DEFAULT_FRACTION` of the available memory."""
    return int(DEFAULT_FRACTION * available_memory())


def resolve_budget(max_memory: str | int | float | None) -> int:
    """The budget in bytes: ``max_memory`` parsed, or :func:`default_budget`."""
    return default_budget() if max_memory is None else parse_memory(max_memory)


def require_memory(need: int, budget: int, what: str, hint: str = "") -> None:
    """Refuse a request whose estimate ``need`` does not fit in ``budget``.

    Raises
    ------
    AnalysisError
        One line: what was asked, the estimate, the budget and how to change either.

    Examples
    --------
    >>> require_memory(10**9, 2 * 10**9, "this audit")
    >>> require_memory(3 * 10**12, 2 * 10**9, "this audit")
    Traceback (most recent call last):
    ...
    evalgap.errors.AnalysisError: this audit needs about 3 TB of memory, more than the budget of 2 GB; raise --max-memory (max_memory=) or ask for less
    """
    if need > budget:
        raise AnalysisError(
            f"{what} needs about {format_bytes(need)} of memory, more than the budget of "
            f"{format_bytes(budget)}; {hint or 'raise --max-memory (max_memory=) or ask for less'}"
        )


@dataclass(frozen=True)
class MemoryNeed:
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
) -> MemoryNeed:
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
    return MemoryNeed(fixed=fixed, per_row=per_row)
