"""The capabilities score: first principal component of the capability benchmarks.

Paper mode reproduces Ren et al. (2024) exactly: every benchmark is z-scored over the
models that have it (population SD, ddof=0); models missing any capability score are
dropped; the score is the projection of the z-scored capability matrix onto the first
eigenvector of the capability benchmarks' Spearman correlation matrix, signed so its
largest-magnitude entry is positive.

Missing-data mode (``impute=True``) keeps models with some capability scores missing:
the z-scored capability matrix is completed by iterative low-rank SVD imputation (as in
observational scaling laws) before the same PCA.

Every step is written for a stack of frequency-weight vectors (see
:mod:`evalgap._weighted`), so the bootstrap re-estimates the whole score, imputation
included, inside every resample with no Python loop over resamples.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from evalgap._json import column_types, frame_from_records, frame_to_records
from evalgap.data._panel import Panel
from evalgap.errors import AnalysisError
from evalgap.stats._weighted import midrank_matrix, weighted_midranks

__all__ = ["CapabilitiesScore", "capabilities_score"]

Mode = Literal["paper", "impute"]
PCAMatrix = Literal["spearman", "pearson", "covariance"]

#: Fewest models a capabilities score is estimated from.
MIN_MODELS = 5


@dataclass(frozen=True)
class _Fit:
    """The capability step for a stack of weight vectors (B of them, n models, p benchmarks)."""

    scores: NDArray[np.float64]  # (B, n); NaN for models outside the universe
    loadings: NDArray[np.float64]  # (B, p)
    eigenvalues: NDArray[np.float64]  # (B, p), descending
    matrix: NDArray[np.float64]  # (B, p, p), the matrix PCA was run on
    completed: NDArray[np.float64]  # (B, n, p), standardised matrix (imputed cells filled)
    valid: NDArray[np.bool_]  # (B,), False where the resample was degenerate


@dataclass(frozen=True)
class CapabilitiesScore:
    """A capabilities score per model and the PCA behind it.

    Attributes
    ----------
    scores
        Capabilities score by model id (NaN for models that could not be scored).
    loadings
        PC1 loading by capability benchmark.
    eigenvalues
        Eigenvalues of the PCA matrix, largest first.
    explained_variance
        PC1's share of the total variance (largest eigenvalue over their sum).
    correlation_matrix
        The matrix PCA was run on (Spearman correlations in paper mode).
    table
        One row per capability benchmark: ``benchmark, loading, correlation, n``, where
        ``correlation`` is the benchmark's correlation with the score (same method as the
        PCA matrix) over the models scored.
    models
        One row per model: ``model, score, used, imputed_cells, reason`` (why a model was
        left out).
    mean_pairwise_correlation, sd_pairwise_correlation
        Mean and population SD of the off-diagonal entries of ``correlation_matrix``.
    mode, pca
        ``paper`` or ``impute``; ``spearman``, ``pearson`` or ``covariance``.
    impute_rank
        Rank of the imputation (None in paper mode).
    """

    scores: pd.Series
    loadings: pd.Series
    eigenvalues: NDArray[np.float64]
    explained_variance: float
    correlation_matrix: pd.DataFrame
    table: pd.DataFrame
    models: pd.DataFrame
    mean_pairwise_correlation: float
    sd_pairwise_correlation: float
    mode: str
    pca: str
    impute_rank: int | None = None

    @property
    def capabilities(self) -> list[str]:
        """The capability benchmarks, in the order of :attr:`loadings`."""
        return list(self.loadings.index)

    @property
    def n_models(self) -> int:
        """Number of models that got a score."""
        return int(self.scores.notna().sum())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` rebuilds the score from it."""
        return {
            "mode": self.mode,
            "pca": self.pca,
            "impute_rank": self.impute_rank,
            "benchmarks": self.capabilities,
            "n_models": self.n_models,
            "explained_variance": _num(self.explained_variance),
            "eigenvalues": [_num(v) for v in self.eigenvalues],
            "loadings": {k: _num(v) for k, v in self.loadings.items()},
            "benchmark_correlations": {
                r.benchmark: _num(r.correlation) for r in self.table.itertuples()
            },
            "mean_pairwise_correlation": _num(self.mean_pairwise_correlation),
            "sd_pairwise_correlation": _num(self.sd_pairwise_correlation),
            "scores": {k: _num(v) for k, v in self.scores.items() if pd.notna(v)},
            "dropped_models": {r.model: r.reason for r in self.models.itertuples() if not r.used},
            "correlation_matrix": [
                [_num(v) for v in row] for row in self.correlation_matrix.values
            ],
            "table": frame_to_records(self.table),
            "models": frame_to_records(self.models),
            "columns": {"table": column_types(self.table), "models": column_types(self.models)},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CapabilitiesScore:
        """Inverse of :meth:`to_dict`."""
        caps = list(data["benchmarks"])
        models = frame_from_records(data["models"], data["columns"]["models"])
        scores = pd.Series(
            [data["scores"].get(m, np.nan) for m in models["model"]],
            index=pd.Index(models["model"].tolist(), dtype=object, name="model"),
            name="capabilities_score",
            dtype=float,
        )
        matrix = np.array(data["correlation_matrix"], dtype=float)
        return cls(
            scores=scores,
            loadings=pd.Series(
                [data["loadings"][c] for c in caps], index=caps, name="loading", dtype=float
            ),
            eigenvalues=np.array(data["eigenvalues"], dtype=float),
            explained_variance=_float(data["explained_variance"]),
            correlation_matrix=pd.DataFrame(matrix, index=caps, columns=caps),
            table=frame_from_records(data["table"], data["columns"]["table"]),
            models=models,
            mean_pairwise_correlation=_float(data["mean_pairwise_correlation"]),
            sd_pairwise_correlation=_float(data["sd_pairwise_correlation"]),
            mode=data["mode"],
            pca=data["pca"],
            impute_rank=data["impute_rank"],
        )

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def _float(value: float | None) -> float:
    return np.nan if value is None else float(value)


def _num(value: float) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


# -- the weighted pipeline ----------------------------------------------------------------


def _weighted_moments(
    x: NDArray[np.float64], w: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted mean and population SD over axis -2 of ``x`` (n, p) with ``w`` (B, n, p)."""
    x0 = np.where(np.isnan(x), 0.0, x)
    sw = w.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * x0).sum(axis=-2) / sw
        var = (w * (x0 - mean[..., None, :]) ** 2).sum(axis=-2) / sw
    return mean, np.sqrt(var)


def _weighted_corr_matrix(a: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weighted Pearson correlation matrix of the columns of ``a`` (B, n, p), weights (B, n)."""
    sw = w.sum(axis=-1)
    mean = np.einsum("bn,bnp->bp", w, a) / sw[:, None]
    d = a - mean[:, None, :]
    cov = np.einsum("bn,bni,bnj->bij", w, d, d)
    sd = np.sqrt(np.einsum("bii->bi", cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / (sd[:, :, None] * sd[:, None, :])


def _weighted_cov_matrix(a: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    sw = w.sum(axis=-1)
    mean = np.einsum("bn,bnp->bp", w, a) / sw[:, None]
    d = a - mean[:, None, :]
    return np.einsum("bn,bni,bnj->bij", w, d, d) / sw[:, None, None]


def _impute(
    z: NDArray[np.float64],
    observed: NDArray[np.bool_],
    w: NDArray[np.float64],
    rank: int,
    max_iter: int,
    tol: float,
) -> NDArray[np.float64]:
    """Fill the missing cells of standardised ``z`` (B, n, p) by iterative rank-``rank``
    reconstruction: fill, fit the top ``rank`` components of the weighted Gram matrix,
    refill the missing cells with the reconstruction, until the fill stops moving."""
    filled = np.where(observed, z, 0.0)
    if observed.all():
        return filled
    missing = ~observed
    for _ in range(max_iter):
        gram = np.einsum("bn,bni,bnj->bij", w, filled, filled)
        _, vecs = np.linalg.eigh(gram)
        top = vecs[..., -rank:]
        recon = filled @ top @ np.swapaxes(top, -1, -2)
        change = np.abs(np.where(missing, recon - filled, 0.0)).max()
        filled = np.where(observed, z, recon)
        if change < tol:
            break
    return filled


def _fit(
    x: NDArray[np.float64],
    w: NDArray[np.float64],
    *,
    mode: Mode,
    pca: PCAMatrix,
    impute_rank: int,
    universe: NDArray[np.bool_],
    reference: NDArray[np.float64] | None,
    max_iter: int = 200,
    tol: float = 1e-6,
) -> _Fit:
    """Run the capability step for every weight row in ``w``.

    ``x`` is the (n, p) oriented capability matrix with NaN for missing cells; ``universe``
    the models that can be scored (complete rows in paper mode). ``reference`` is the
    full-data loading vector that resample loadings are sign-aligned to; None means the
    paper's rule (largest-magnitude loading positive).
    """
    w = np.atleast_2d(w).astype(float)
    observed = ~np.isnan(x)
    # z-scores use every model that has the benchmark (the paper normalises before it
    # drops incomplete rows); the PCA uses the universe only.
    w_obs = w[:, :, None] * observed[None, :, :]
    mean, sd = _weighted_moments(x, w_obs)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (np.where(observed, x, 0.0)[None] - mean[:, None, :]) / sd[:, None, :]
    wu = w * universe[None, :]
    if mode == "impute":
        z = _impute(z, observed[None], wu, impute_rank, max_iter, tol)
    else:
        z = np.where(observed[None], z, 0.0)

    if pca == "spearman":
        if mode == "paper":
            # Fixed values: every resample's ranks are one product with the midrank matrices.
            mats = np.hstack([midrank_matrix(x[:, j], universe) for j in range(x.shape[1])])
            ranks = (wu @ mats).reshape(len(wu), x.shape[1], -1) + 0.5
        else:
            ranks = weighted_midranks(np.swapaxes(z, -1, -2), wu[:, None, :])
        matrix = _weighted_corr_matrix(np.swapaxes(ranks, -1, -2), wu)
        basis = z
    elif pca == "pearson":
        matrix = _weighted_corr_matrix(z, wu)
        basis = z
    else:  # covariance of the raw (unstandardised) scores
        raw = z * sd[:, None, :] + mean[:, None, :]
        matrix = _weighted_cov_matrix(raw, wu)
        basis = raw - (np.einsum("bn,bnp->bp", wu, raw) / wu.sum(-1)[:, None])[:, None, :]

    valid = np.isfinite(matrix).all(axis=(-1, -2)) & np.isfinite(sd).all(axis=-1)
    safe = np.where(valid[:, None, None], matrix, np.eye(matrix.shape[-1]))
    eigenvalues, vectors = np.linalg.eigh(safe)
    eigenvalues = eigenvalues[:, ::-1]
    pc = vectors[:, :, -1]
    if reference is None:
        biggest = np.take_along_axis(pc, np.abs(pc).argmax(axis=-1)[:, None], axis=-1)[:, 0]
        sign = np.where(biggest < 0, -1.0, 1.0)
    else:
        sign = np.where(pc @ reference < 0, -1.0, 1.0)
    pc = pc * sign[:, None]
    scores = np.einsum("bnp,bp->bn", np.where(np.isfinite(basis), basis, 0.0), pc)
    scores = np.where(universe[None, :], scores, np.nan)
    return _Fit(scores, pc, eigenvalues, matrix, z, valid)


# -- public API ---------------------------------------------------------------------------


def _capability_matrix(
    panel: Panel, capabilities: Sequence[str] | None
) -> tuple[list[str], pd.DataFrame]:
    caps = list(capabilities) if capabilities is not None else list(panel.default_capabilities)
    if capabilities is not None and not caps:
        raise AnalysisError("no capability benchmarks named", source=panel.source or None)
    if not caps:
        raise AnalysisError(
            "the panel names no capability benchmarks; pass capabilities=[...] "
            "(--capabilities a,b,c)",
            source=panel.source or None,
        )
    unknown = [c for c in caps if c not in panel.scores.columns]
    if unknown:
        raise AnalysisError(
            f"unknown capability benchmark {unknown[0]!r}", source=panel.source or None
        )
    if len(set(caps)) != len(caps):
        dup = next(c for c in caps if caps.count(c) > 1)
        raise AnalysisError(
            f"capability benchmark {dup!r} named twice", source=panel.source or None
        )
    if len(caps) < 2:
        raise AnalysisError(
            "a capabilities score needs at least 2 capability benchmarks",
            source=panel.source or None,
        )
    return caps, panel.oriented_scores()[caps]


def universe_of(
    x: NDArray[np.float64], mode: Mode, min_observed: int | None = None
) -> tuple[NDArray[np.bool_], list[str | None]]:
    """Which models get a capabilities score, and why each other one does not."""
    observed = ~np.isnan(x)
    n_obs = observed.sum(axis=1)
    p = x.shape[1]
    if mode == "paper":
        keep = n_obs == p
        reasons = [
            None if k else f"missing {p - int(c)} of {p} capability scores"
            for k, c in zip(keep, n_obs, strict=True)
        ]
    else:
        need = min_observed if min_observed is not None else max(2, (p + 1) // 2)
        keep = n_obs >= need
        reasons = [
            None if k else f"only {int(c)} of {p} capability scores (needs {need} to impute)"
            for k, c in zip(keep, n_obs, strict=True)
        ]
    return keep, reasons


def capabilities_score(
    panel: Panel,
    capabilities: Iterable[str] | None = None,
    *,
    impute: bool = False,
    pca: PCAMatrix = "spearman",
    impute_rank: int = 2,
    min_observed: int | None = None,
) -> CapabilitiesScore:
    """Estimate every model's capabilities score (PC1 of the capability benchmarks).

    Parameters
    ----------
    panel
        The score matrix.
    capabilities
        Capability benchmark ids; default: the panel's capability set.
    impute
        False (paper mode): drop models missing any capability score (Ren et al. 2024).
        True (missing-data mode): complete the z-scored matrix by iterative low-rank SVD
        first, so models missing some capability scores are scored too.
    pca
        The matrix whose first eigenvector gives the loadings: ``"spearman"`` (the
        paper), ``"pearson"`` (correlation of z-scores) or ``"covariance"`` (of raw
        scores).
    impute_rank
        Rank of the reconstruction used to fill missing cells (``impute=True``).
    min_observed
        Fewest capability scores a model needs to be imputed; default half of them
        (at least 2).

    Returns
    -------
    CapabilitiesScore

    Raises
    ------
    AnalysisError
        Unknown or constant capability benchmark, or fewer than 5 models to score.

    Examples
    --------
    >>> from evalgap import load_panel, capabilities_score
    >>> cap = capabilities_score(load_panel("safetywashing-2024:base"))  # doctest: +SKIP
    >>> round(cap.explained_variance, 3)  # doctest: +SKIP
    0.783
    """
    mode: Mode = "impute" if impute else "paper"
    if pca not in ("spearman", "pearson", "covariance"):
        raise AnalysisError(f"pca must be 'spearman', 'pearson' or 'covariance', got {pca!r}")
    caps, frame = _capability_matrix(panel, list(capabilities) if capabilities else None)
    # Canonical row order: the score must not depend on the order of the input file.
    frame = frame.loc[sorted(frame.index)]
    x = frame.to_numpy(dtype=float)
    p = len(caps)
    if impute and not 1 <= impute_rank < p:
        raise AnalysisError(f"impute_rank must be between 1 and {p - 1}, got {impute_rank}")
    universe, reasons = universe_of(x, mode, min_observed)
    check_capability_inputs(frame, universe, panel.source)
    fit = _fit(
        x,
        np.ones((1, len(x))),
        mode=mode,
        pca=pca,
        impute_rank=impute_rank,
        universe=universe,
        reference=None,
    )
    return _summarise(panel, caps, frame, fit, universe, reasons, mode, pca, impute_rank)


def check_capability_inputs(
    frame: pd.DataFrame, universe: NDArray[np.bool_], source: str | None
) -> None:
    """Raise a clear error for inputs on which a capabilities score is undefined."""
    n = int(universe.sum())
    if n < MIN_MODELS:
        raise AnalysisError(
            f"only {n} models have the capability scores needed (at least {MIN_MODELS} "
            "are needed); try impute=True (--impute) or fewer capability benchmarks",
            source=source or None,
        )
    for col in frame.columns:
        values = frame[col].to_numpy(dtype=float)[universe]
        values = values[~np.isnan(values)]
        if values.size and np.ptp(values) == 0:
            raise AnalysisError(
                f"capability benchmark {col!r} has the same score ({values[0]:g}) for every "
                "model, so it carries no capability information; drop it",
                source=source or None,
            )


def _summarise(
    panel: Panel,
    caps: list[str],
    frame: pd.DataFrame,
    fit: _Fit,
    universe: NDArray[np.bool_],
    reasons: list[str | None],
    mode: str,
    pca: str,
    impute_rank: int,
) -> CapabilitiesScore:
    ids = frame.index
    scores = pd.Series(fit.scores[0], index=ids, name="capabilities_score")
    loadings = pd.Series(fit.loadings[0], index=caps, name="loading")
    eig = fit.eigenvalues[0]
    matrix = pd.DataFrame(fit.matrix[0], index=caps, columns=caps)
    upper = fit.matrix[0][np.triu_indices(len(caps), k=1)]
    # Each capability benchmark's correlation with the score, over the models scored
    # (with the same correlation as the PCA matrix; Spearman in paper mode).
    corr = []
    s = fit.scores[0]
    for j in range(len(caps)):
        col = frame.iloc[:, j].to_numpy(dtype=float)
        use = universe & ~np.isnan(col)
        a, b = col[use], s[use]
        if pca == "spearman":
            corr.append(pd.Series(a).corr(pd.Series(b), method="spearman"))
        else:
            corr.append(pd.Series(a).corr(pd.Series(b)))
    table = pd.DataFrame(
        {
            "benchmark": caps,
            "name": [panel.benchmarks.loc[c, "name"] for c in caps],
            "loading": loadings.to_numpy(),
            "correlation": corr,
            "n": [int((universe & frame[c].notna().to_numpy()).sum()) for c in caps],
        }
    )
    observed = frame.notna().to_numpy()
    models = pd.DataFrame(
        {
            "model": ids,
            "score": scores.to_numpy(),
            "used": universe,
            "imputed_cells": np.where(universe, (~observed).sum(axis=1), 0)
            if mode == "impute"
            else 0,
            "reason": [r or "" for r in reasons],
        }
    )
    return CapabilitiesScore(
        scores=scores,
        loadings=loadings,
        eigenvalues=eig,
        explained_variance=float(eig[0] / eig.sum()),
        correlation_matrix=matrix,
        table=table,
        models=models,
        mean_pairwise_correlation=float(upper.mean()),
        sd_pairwise_correlation=float(upper.std()),
        mode=mode,
        pca=pca,
        impute_rank=impute_rank if mode == "impute" else None,
    )
