"""Reliability of a benchmark score from its models x items matrix: Cronbach's alpha
(KR-20 for binary items) and the odd-even split-half coefficient.

Both are computed with matrix operations over a float32 matrix, so a 5,000 x 20,000 item
matrix costs a few passes over memory. Missing cells must be filled before (the item
analysis fills them with the item's mean over the models that have it).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evalgap.errors import AnalysisError

__all__ = ["Reliability", "cronbach_alpha", "reliability", "split_half"]

Matrix = NDArray[np.floating[Any]]


@dataclass(frozen=True)
class Reliability:
    """How consistently a benchmark's items measure one thing.

    Attributes
    ----------
    alpha
        Cronbach's alpha; for binary (0/1) items it equals KR-20.
    split_half
        Correlation of the odd-item and even-item half scores, stepped up to full length
        with the Spearman-Brown formula ``2r / (1 + r)``.
    n_items, n_models
        Size of the matrix.
    binary
        Whether every item score is 0 or 1 (then ``alpha`` is KR-20).
    """

    alpha: float
    split_half: float
    n_items: int
    n_models: int
    binary: bool

    @property
    def name(self) -> str:
        """``KR-20`` for binary items, else ``Cronbach's alpha``."""
        return "KR-20" if self.binary else "Cronbach's alpha"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = asdict(self)
        for key in ("alpha", "split_half"):
            if isinstance(out[key], float) and math.isnan(out[key]):
                out[key] = None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reliability:
        """Inverse of :meth:`to_dict`."""
        return cls(
            alpha=math.nan if data["alpha"] is None else float(data["alpha"]),
            split_half=math.nan if data["split_half"] is None else float(data["split_half"]),
            n_items=int(data["n_items"]),
            n_models=int(data["n_models"]),
            binary=bool(data["binary"]),
        )


def _weights(n: int, w: NDArray[np.floating[Any]] | None) -> NDArray[np.float32]:
    return np.ones(n, dtype=np.float32) if w is None else np.asarray(w, dtype=np.float32)


def _alpha_from(k: int, sum_item_var: float, total_var: float) -> float:
    if k < 2 or not total_var > 0:
        return math.nan
    return float(k / (k - 1) * (1.0 - sum_item_var / total_var))


def cronbach_alpha(
    x: Matrix, w: NDArray[np.floating[Any]] | None = None, *, squares: Matrix | None = None
) -> float:
    """Cronbach's alpha of the columns of ``x`` (models x items), over the models with
    weight 1 in ``w`` (default: all).

    ``alpha = k / (k - 1) * (1 - sum of item variances / variance of the total score)``;
    for 0/1 items this is KR-20. ``squares`` may pass ``x * x`` when it is already at hand
    (for 0/1 items it is ``x`` itself).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=float)
    >>> round(cronbach_alpha(x), 3)
    0.75
    """
    x = np.asarray(x)
    n, k = x.shape
    wv = _weights(n, w)
    sw = float(wv.sum())
    if sw < 2:
        return math.nan
    sq = x * x if squares is None else squares
    mean = (wv @ x) / sw
    var = (wv @ sq) / sw - mean.astype(np.float64) ** 2
    total = x.sum(axis=1, dtype=np.float64)
    t_mean = float(wv @ total) / sw
    t_var = float(wv @ (total - t_mean) ** 2) / sw
    return _alpha_from(k, float(np.clip(var, 0, None).sum()), t_var)


def split_half(x: Matrix, w: NDArray[np.floating[Any]] | None = None) -> float:
    """Odd-even split-half reliability with the Spearman-Brown correction.

    The items are split by position (1st, 3rd, 5th, ... against 2nd, 4th, ...); the
    half scores are correlated over the models with weight 1 in ``w`` and the correlation
    ``r`` is stepped up to ``2r / (1 + r)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=float)
    >>> round(split_half(x), 3)
    0.9
    """
    x = np.asarray(x)
    n, k = x.shape
    if k < 2:
        return math.nan
    wv = _weights(n, w).astype(np.float64)
    odd = x[:, 0::2].sum(axis=1, dtype=np.float64)
    even = x[:, 1::2].sum(axis=1, dtype=np.float64)
    sw = wv.sum()
    if sw < 2:
        return math.nan
    do = odd - (wv @ odd) / sw
    de = even - (wv @ even) / sw
    var_o, var_e = wv @ (do * do), wv @ (de * de)
    if not (var_o > 0 and var_e > 0):
        return math.nan
    r = float((wv @ (do * de)) / math.sqrt(var_o * var_e))
    return 2.0 * r / (1.0 + r) if r > -1 else math.nan


def reliability(matrix: pd.DataFrame | Matrix) -> Reliability:
    """Cronbach's alpha (KR-20) and split-half reliability of a models x items matrix.

    Missing cells (NaN) are filled with the item's mean over the models that have it.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    >>> rel = reliability(x)
    >>> rel.name, round(rel.alpha, 3)
    ('KR-20', 0.867)
    """
    x = (
        matrix.to_numpy(dtype=np.float64)
        if isinstance(matrix, pd.DataFrame)
        else np.asarray(matrix, dtype=np.float64)
    )
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise AnalysisError("reliability needs a models x items matrix of at least 2 x 2")
    if np.isnan(x).any():
        means = np.nanmean(x, axis=0)
        x = np.where(np.isnan(x), means[None, :], x)
    binary = bool(np.isin(x, (0.0, 1.0)).all())
    return Reliability(
        alpha=cronbach_alpha(x),
        split_half=split_half(x),
        n_items=x.shape[1],
        n_models=x.shape[0],
        binary=binary,
    )
