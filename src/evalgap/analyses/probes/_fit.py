"""The probes: a direction in activation space whose projection scores a prompt.

mean-diff
    The difference of the class means on the training prompts (no fitting, no scaling).
logistic
    L2-regularised logistic regression on standardised activations (scikit-learn, the
    ``probes`` extra).
contrast
    The mean "yes" minus "no" activation of the contrast pairs; it sees no prompt label.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from evalgap.errors import EvalgapError
from evalgap.stats import auroc

__all__ = ["PROBES", "Scorer", "cv_auroc", "fit_probe"]

#: Probe kinds, in table order.
PROBES = ("mean-diff", "logistic", "contrast")

FloatArray = NDArray[np.float64]
#: Scores prompts' activations ``(n, width)``; higher = more like the positive class.
Scorer = Callable[[FloatArray], FloatArray]


def _sklearn() -> tuple[type, type]:
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise EvalgapError(
            "scikit-learn is not installed; install it with pip install 'evalgap[probes]'",
            source="evalgap[probes]",
        ) from None
    return LogisticRegression, StandardScaler


def _projection(direction: FloatArray) -> Scorer:
    return lambda x: np.asarray(x, dtype=np.float64) @ direction


def fit_probe(
    kind: str,
    x: FloatArray,
    y: NDArray[np.int64],
    *,
    c: float = 1.0,
    contrast: tuple[FloatArray, FloatArray] | None = None,
) -> Scorer:
    """Fit a probe on training activations ``x`` ``(n, width)`` with labels ``y``.

    Parameters
    ----------
    kind
        One of :data:`PROBES`.
    c
        Inverse L2 strength of the logistic probe (scikit-learn's ``C``).
    contrast
        (positive, negative) pair activations ``(k, width)`` for the contrast probe.

    Returns
    -------
    Scorer
        Maps activations ``(m, width)`` to ``m`` scores.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.zeros(20, int), np.ones(20, int)]
    >>> x = rng.normal(size=(40, 5)) + y[:, None]
    >>> score = fit_probe("mean-diff", x, y)
    >>> bool(score(x[y == 1]).mean() > score(x[y == 0]).mean())
    True
    """
    x = np.asarray(x, dtype=np.float64)
    if kind == "mean-diff":
        return _projection(x[y == 1].mean(axis=0) - x[y == 0].mean(axis=0))
    if kind == "contrast":
        if contrast is None:
            raise EvalgapError("the contrast probe needs contrast pairs", source="probe")
        pos, neg = (np.asarray(a, dtype=np.float64) for a in contrast)
        return _projection((pos - neg).mean(axis=0))
    if kind == "logistic":
        logistic, scaler_type = _sklearn()
        scaler = scaler_type().fit(x)
        model = logistic(C=c, max_iter=5000).fit(scaler.transform(x), y)
        return lambda z: model.decision_function(scaler.transform(np.asarray(z, np.float64)))
    raise EvalgapError(f"unknown probe {kind!r}; expected one of {', '.join(PROBES)}")


def cv_auroc(
    kind: str,
    x: FloatArray,
    y: NDArray[np.int64],
    folds: NDArray[np.int64],
    *,
    c: float = 1.0,
    contrast: tuple[FloatArray, FloatArray] | None = None,
) -> float:
    """Cross-validated AUROC on training prompts (fold ``f`` scored by the probe fitted on
    the other folds), used to choose a layer without looking at the held-out prompts. The
    contrast probe fits nothing, so its score is its AUROC on all the training prompts.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> y = np.r_[np.zeros(30, int), np.ones(30, int)]
    >>> x = rng.normal(size=(60, 4)) + 2 * y[:, None]
    >>> bool(cv_auroc("mean-diff", x, y, np.arange(60) % 5) > 0.9)
    True
    """
    if kind == "contrast":
        return auroc(fit_probe(kind, x, y, contrast=contrast)(x), y)
    scores = np.full(y.size, np.nan)
    for f in np.unique(folds):
        held = folds == f
        train_y = y[~held]
        if train_y.min() == train_y.max():
            return float("nan")
        scores[held] = fit_probe(kind, x[~held], train_y, c=c)(x[held])
    return auroc(scores, y)
