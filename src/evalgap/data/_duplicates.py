"""Exact duplicate benchmark columns: the same score for every model (and the same
missing cells), as when a release writes one counter under two names."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

__all__ = ["duplicate_columns"]


def duplicate_columns(scores: pd.DataFrame) -> list[tuple[str, ...]]:
    """Groups of columns that are exact copies of each other, each group sorted and the
    groups in sorted order (so the answer does not depend on the column order).

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 2.0], "c": [1.0, 3.0]})
    >>> duplicate_columns(frame)
    [('a', 'b')]
    """
    groups: dict[bytes, list[str]] = {}
    values = scores.to_numpy(dtype=float)
    for j, col in enumerate(scores.columns):
        # One bit pattern for every NaN, and +0.0 for -0.0, so equal values hash equally.
        column = np.where(np.isnan(values[:, j]), np.nan, values[:, j] + 0.0)
        key = hashlib.sha256(np.ascontiguousarray(column).tobytes()).digest()
        groups.setdefault(key, []).append(str(col))
    return sorted(tuple(sorted(g)) for g in groups.values() if len(g) > 1)
