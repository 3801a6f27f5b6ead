"""Resampling whole groups of models (model families) instead of single models.

Models of one family (one developer's sizes of one architecture, trained on one data mix)
resemble each other beyond what their capabilities explain, so they are not independent
draws; resampling models then treats, say, the seven Qwen1.5 sizes as seven pieces of
evidence. The cluster bootstrap (Davison and Hinkley 1997, sec. 3.8) draws families with
replacement and takes every model of each drawn family; its jackknife leaves one family
out at a time (for BCa's acceleration). A resample is again a vector of model counts, so
everything downstream is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from numpy.typing import NDArray

from evalgap.stats._resample import RESAMPLE_BLOCK

__all__ = [
    "group_bootstrap_weights",
    "group_codes",
    "group_jackknife_weights",
    "group_resample_blocks",
]

FloatArray = NDArray[np.float64]


def group_codes(groups: Sequence[object]) -> NDArray[np.intp]:
    """Integer code of each model's group, in sorted order of the group labels (so codes
    do not depend on model order); a missing label (None or NaN) is a group of its own.

    Examples
    --------
    >>> group_codes(["b", "a", "b", None]).tolist()
    [1, 0, 1, 2]
    """
    labels = []
    for i, g in enumerate(groups):
        missing = g is None or (isinstance(g, float) and np.isnan(g))
        labels.append(f"\x00model {i}" if missing else f"{g}")
    unique = sorted(set(labels), key=lambda s: (s.startswith("\x00"), s))
    index = {label: j for j, label in enumerate(unique)}
    return np.array([index[label] for label in labels], dtype=np.intp)


def group_bootstrap_weights(
    codes: NDArray[np.intp], n_boot: int, rng: np.random.Generator
) -> FloatArray:
    """(n_boot, n) model weights of a cluster bootstrap: each resample draws as many
    groups as there are, with replacement, and every model counts as often as its group
    was drawn.

    Examples
    --------
    >>> w = group_bootstrap_weights(np.array([0, 0, 1]), 3, np.random.default_rng(0))
    >>> bool((w[:, 0] == w[:, 1]).all())
    True
    """
    n_groups = int(codes.max()) + 1
    drawn = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=n_boot)
    return drawn[:, codes].astype(float)


def group_resample_blocks(
    codes: NDArray[np.intp], n_boot: int, rng: np.random.Generator, block: int = RESAMPLE_BLOCK
) -> Iterator[tuple[int, NDArray[np.int32]]]:
    """The cluster bootstrap's blocks, drawn in order: ``(first resample, model counts)``,
    as :func:`evalgap.stats._resample.resample_blocks` gives them for single models; the
    same resamples as :func:`group_bootstrap_weights` draws all at once.

    Examples
    --------
    >>> codes = np.array([0, 0, 1, 2])
    >>> blocks = np.concatenate([c for _, c in group_resample_blocks(codes, 2500, np.random.default_rng(0))])
    >>> bool((blocks == group_bootstrap_weights(codes, 2500, np.random.default_rng(0))).all())
    True
    """
    n_groups = int(codes.max()) + 1
    p = np.full(n_groups, 1.0 / n_groups)
    for lo in range(0, n_boot, block):
        drawn = rng.multinomial(n_groups, p, size=min(block, n_boot - lo))
        yield lo, drawn[:, codes].astype(np.int32)


def group_jackknife_weights(codes: NDArray[np.intp]) -> FloatArray:
    """(G, n) weights whose row g leaves every model of group g out.

    Examples
    --------
    >>> group_jackknife_weights(np.array([0, 0, 1])).tolist()
    [[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]]
    """
    n_groups = int(codes.max()) + 1
    return (codes[None, :] != np.arange(n_groups)[:, None]).astype(float)
