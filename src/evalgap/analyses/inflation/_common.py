"""What the inflation tests share: item resampling, basic-bootstrap summaries, verdict
wording and the checks that turn bad input into one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evalgap._params import Interval
from evalgap.errors import InputError
from evalgap.stats import qvalues

__all__ = [
    "PROBABILITY",
    "ROUNDS",
    "Progress",
    "basic_summary",
    "inflation_verdicts",
    "item_counts",
    "items_frame",
]

#: Progress callback: called with (resamples done, resamples in all).
Progress = Callable[[int, int], None]

FloatArray = NDArray[np.float64]

#: Resamples per block: bounds memory at a few hundred MB for a thousand items.
BLOCK = 5_000


#: Bootstrap rounds: at least 100 (fewer leave an interval's tails to noise). Rounds run in
#: blocks of :data:`BLOCK`, so memory does not bound them; time does, and 10 million is far
#: beyond what an interval needs.
ROUNDS = [Interval(Integral, 100, 10**7)]
#: A probability strictly between 0 and 1 (alpha, a confidence level).
PROBABILITY = [Interval(Real, 0, 1, closed="neither")]


def item_counts(n_items: int, n_rounds: int, rng: np.random.Generator) -> FloatArray:
    """(n_rounds, n_items) counts of each item in resamples of size n_items with
    replacement: integer draws binned per round, faster than a multinomial per round."""
    size = n_rounds * n_items
    dtype = np.int32 if size < 2**31 else np.int64
    draws = rng.integers(0, n_items, size=(n_rounds, n_items), dtype=dtype)
    draws += (np.arange(n_rounds, dtype=dtype) * n_items)[:, None]
    return np.bincount(draws.ravel(), minlength=size).reshape(n_rounds, n_items).astype(float)


def basic_summary(
    boot: FloatArray,
    confidence_level: float,
    one_sided: float,
    margin: float = 0.0,
    estimate: FloatArray | None = None,
) -> dict[str, FloatArray]:
    """Basic-bootstrap summaries of each column of ``boot`` (B, K), as ConStat reports them.

    The point estimate ``m`` is ``estimate`` if given, else the bootstrap mean (ConStat's
    choice, used where no plug-in estimate exists); the two-sided interval is
    ``[2m - q_hi, 2m - q_lo]``, the one-sided lower bound at ``one_sided`` is
    ``2m - q_{one_sided}``, and the p-value of ``H0: theta <= margin`` is the smallest
    level at which that lower bound exceeds ``margin``: ``(1 + #{b: boot_b >= 2m - margin})
    / (B + 1)``, never zero.
    """
    b = boot.shape[0]
    mean = boot.mean(axis=0) if estimate is None else np.asarray(estimate, dtype=float)
    alpha = (1.0 - confidence_level) / 2.0
    q_lo, q_hi, q_one = np.quantile(boot, [alpha, 1.0 - alpha, one_sided], axis=0)
    hits = (boot >= (2.0 * mean - margin)[None, :]).sum(axis=0)
    return {
        "estimate": mean,
        "ci_low": 2.0 * mean - q_hi,
        "ci_high": 2.0 * mean - q_lo,
        "lower_bound": 2.0 * mean - q_one,
        "p_value": (1.0 + hits) / (b + 1.0),
        "sd": boot.std(axis=0, ddof=1),
    }


def inflation_verdicts(p_values: FloatArray, alpha: float) -> dict[str, Any]:
    """BH and BY q-values of one family of p-values and the verdicts worded as evidence:
    ``inflation detected (q < alpha)`` or ``no inflation detected`` (never "clean": a
    test that finds nothing has not shown there is nothing)."""
    q_bh, q_by = qvalues(p_values)
    verdict = np.where(
        np.isnan(q_bh),
        "not tested",
        np.where(q_bh < alpha, f"inflation detected (q < {alpha:g})", "no inflation detected"),
    )
    return {"q_value": q_bh, "q_value_by": q_by, "verdict": verdict}


def items_frame(data: pd.DataFrame, source: str) -> pd.DataFrame:
    """Per-item records (``model, benchmark, item, score``) checked: scores numeric and
    finite, one score per model, benchmark and item."""
    missing = [c for c in ("model", "benchmark", "item", "score") if c not in data.columns]
    if missing:
        raise InputError(f"per-item records need a {missing[0]!r} column", source=source)
    frame = data[["model", "benchmark", "item", "score"]].copy()
    for col in ("model", "benchmark", "item"):
        if not pd.api.types.is_string_dtype(frame[col]):
            frame[col] = frame[col].astype(str)
    score = pd.to_numeric(frame["score"], errors="coerce")
    bad = np.flatnonzero(~np.isfinite(score.to_numpy(dtype=float)))
    if len(bad):
        row = frame.iloc[bad[0]]
        raise InputError(
            f"score of model {row['model']!r} on item {row['item']!r} is not a finite number "
            f"({row['score']!r})",
            source=source,
            where=f"row {bad[0] + 1}",
        )
    frame["score"] = score.astype(float)
    dup = frame.duplicated(["model", "benchmark", "item"])
    if dup.any():
        row = frame[dup].iloc[0]
        raise InputError(
            f"model {row['model']!r} has more than one score for item {row['item']!r} of "
            f"benchmark {row['benchmark']!r}",
            source=source,
        )
    return frame
