"""Oren et al. (2024), "Proving test set contamination in black box language models": the
sharded exchangeability test.

If a model never saw a benchmark, every ordering of its items is as likely to it as the
canonical one (the items are exchangeable). A model trained on the benchmark as a document
has learnt the canonical order, so it gives the canonical concatenation a higher
log-likelihood than shuffled ones. The items are cut into contiguous shards in canonical
order; in each shard the log-likelihood of the canonical concatenation is compared with
the mean over random permutations of the shard's items; a one-sided one-sample t-test over
shards gives the p-value.

Scope: the test sees only contamination *in order*. A model fine-tuned on the items one at
a time, in shuffled batches, has no order to learn, and the test has no power against it
(per-item scores such as Min-K%++ are for that).

Each shard's log-likelihoods are stored as they are computed (``state``: one JSON file per
shard, written atomically), so an interrupted run resumes where it stopped and gives the
same numbers as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalgap._output import write_atomic
from evalgap.errors import AnalysisError, InputError
from evalgap.models import Progress

__all__ = [
    "ExchangeabilityTest",
    "SequenceScorer",
    "exchangeability_test",
    "model_scorer",
    "shard_bounds",
    "shards_test",
]

#: Log-likelihood of each text (a list of texts in, one float per text out).
SequenceScorer = Callable[[list[str]], np.ndarray]

SHARD_COLUMNS = (
    "shard",
    "n_items",
    "canonical",
    "shuffled_mean",
    "shuffled_sd",
    "difference",
    "p_permutation",
)
_STATE_VERSION = 1


@dataclass(frozen=True, eq=False)
class ExchangeabilityTest:
    """The outcome of :func:`exchangeability_test`.

    Attributes
    ----------
    shards
        One row per shard: ``shard, n_items, canonical`` (log-likelihood of the canonical
        concatenation), ``shuffled_mean, shuffled_sd`` (over the permutations),
        ``difference`` (canonical minus the shuffled mean), ``p_permutation`` (the
        shard's own rank test: ``(1 + #{shuffled >= canonical}) / (1 + permutations)``).
    statistic, p_value
        One-sample t statistic of the differences and its one-sided p-value
        (canonical more likely).
    mean, ci_low, ci_high
        Mean difference (nats per shard) and its t interval.
    n_permutations
        Permutations per shard.
    """

    shards: pd.DataFrame
    statistic: float
    p_value: float
    mean: float
    ci_low: float
    ci_high: float
    n_permutations: int


def shard_bounds(n_items: int, n_shards: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each shard: contiguous, sizes differing by at most one, the
    larger ones first (as Oren et al.'s code cuts them).

    Examples
    --------
    >>> shard_bounds(7, 3)
    [(0, 3), (3, 5), (5, 7)]
    """
    if n_shards < 2:
        raise AnalysisError(f"at least 2 shards are needed for a t-test, got {n_shards}")
    if n_items < 2 * n_shards:
        raise AnalysisError(
            f"{n_items} items cannot fill {n_shards} shards of at least 2 items; use fewer shards"
        )
    sizes = [n_items // n_shards + (1 if i < n_items % n_shards else 0) for i in range(n_shards)]
    stops = np.cumsum(sizes).tolist()
    return list(zip([0, *stops[:-1]], stops, strict=True))


def shards_test(
    canonical: Sequence[float],
    shuffled: Sequence[Sequence[float]],
    *,
    sizes: Sequence[int] | None = None,
    confidence_level: float = 0.95,
) -> ExchangeabilityTest:
    """The t-test over shards from stored log-likelihoods (one canonical value and the
    permutations' values per shard, and the shards' numbers of items).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> shuffled = rng.normal(size=(10, 20))
    >>> out = shards_test(rng.normal(size=10) + 2.0, shuffled, sizes=[5] * 10)
    >>> out.p_value < 0.001
    True
    """
    from scipy import stats

    canon = np.asarray(canonical, dtype=np.float64)
    shuf = np.asarray(shuffled, dtype=np.float64)
    if shuf.ndim != 2 or shuf.shape[0] != canon.size or shuf.shape[1] < 1:
        raise AnalysisError("expected one canonical value and some permutations per shard")
    if canon.size < 2:
        raise AnalysisError("at least 2 shards are needed for a t-test")
    diff = canon - shuf.mean(axis=1)
    m = diff.size
    mean = float(diff.mean())
    se = float(diff.std(ddof=1) / np.sqrt(m))
    if se > 0:
        t = mean / se
        p = float(stats.t.sf(t, df=m - 1))
        half = float(stats.t.ppf(0.5 + confidence_level / 2.0, df=m - 1)) * se
    else:  # every shard's difference is the same number
        t = float(np.sign(mean) * np.inf) if mean != 0 else float("nan")
        p = 0.0 if mean > 0 else 1.0
        half = 0.0
    frame = pd.DataFrame(
        {
            "shard": np.arange(m, dtype=np.int64),
            "n_items": pd.array(
                [pd.NA] * m if sizes is None else [int(x) for x in sizes], dtype="Int64"
            ),
            "canonical": canon,
            "shuffled_mean": shuf.mean(axis=1),
            "shuffled_sd": shuf.std(axis=1, ddof=1) if shuf.shape[1] > 1 else np.nan,
            "difference": diff,
            "p_permutation": (1.0 + (shuf >= canon[:, None]).sum(axis=1)) / (1.0 + shuf.shape[1]),
        }
    )
    return ExchangeabilityTest(
        shards=frame,
        statistic=float(t),
        p_value=p,
        mean=mean,
        ci_low=mean - half,
        ci_high=mean + half,
        n_permutations=int(shuf.shape[1]),
    )


# -- scoring ------------------------------------------------------------------------------------


class _ModelScorer:
    """Log-likelihoods of whole texts under a loaded model, reporting progress."""

    def __init__(self, lm: Any) -> None:
        self.lm = lm
        self.spec = lm.spec

    def __call__(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        for t in texts:
            n = len(self.lm.encode(t))
            if n > self.lm.max_length:
                raise AnalysisError(
                    f"a shard is {n} tokens, more than the model's {self.lm.max_length}; use "
                    "more shards"
                )
        scored = self.lm.token_logprobs(texts, progress=progress)
        return np.array([float(s.logprob.sum()) for s in scored])


def model_scorer(lm: Any) -> SequenceScorer:
    """The log-likelihood of whole texts under a loaded model (every token after the first,
    or after the BOS with ``add_bos``), batched on the model's device.

    A text longer than the model's context raises :class:`AnalysisError` (scoring a
    prefix would silently change the test).

    Examples
    --------
    >>> score = model_scorer(lm)  # doctest: +SKIP
    >>> score(["Question: 2 + 2?\\nAnswer: 4\\n\\n"])  # doctest: +SKIP
    """
    return _ModelScorer(lm)


def _model_id(scorer: Any) -> str:
    spec = getattr(scorer, "spec", None)
    if spec is None:
        return f"{type(scorer).__module__}.{getattr(scorer, '__qualname__', type(scorer).__name__)}"
    # What the weights are (files' sha256) and how they are run; not where they live.
    fields = {k: getattr(spec, k) for k in ("dtype", "add_bos", "max_length")}
    return json.dumps({**fields, "files": spec.input_sha256()}, sort_keys=True)


# -- the resumable store ------------------------------------------------------------------------


class _Store:
    """One JSON file per finished shard in a folder, under a key naming the run."""

    def __init__(self, folder: Path | None, key: str, settings: dict[str, Any]) -> None:
        self.folder = folder
        self.key = key
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        run = folder / "run.json"
        if run.exists():
            try:
                stored = json.loads(run.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                raise InputError("unreadable run.json", source=run) from None
            if stored.get("key") != key:
                raise InputError(
                    "holds shards of another run (other items, model or settings); use "
                    "another folder",
                    source=folder,
                )
        else:
            write_atomic(
                run, json.dumps({"key": key, "version": _STATE_VERSION, **settings}, indent=1)
            )

    def _path(self, shard: int) -> Path:
        assert self.folder is not None
        return self.folder / f"shard-{shard:05d}.json"

    def load(self, shard: int) -> tuple[float, list[float]] | None:
        if self.folder is None or not self._path(shard).is_file():
            return None
        try:
            data = json.loads(self._path(shard).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None  # a damaged file is recomputed
        if data.get("key") != self.key:
            return None
        return float(data["canonical"]), [float(x) for x in data["shuffled"]]

    def save(self, shard: int, canonical: float, shuffled: list[float]) -> None:
        if self.folder is None:
            return
        record = {"key": self.key, "shard": shard, "canonical": canonical, "shuffled": shuffled}
        write_atomic(self._path(shard), json.dumps(record))


def exchangeability_test(
    model: Any,
    texts: Sequence[str],
    *,
    n_shards: int = 50,
    n_permutations: int = 250,
    separator: str = "\n\n",
    seed: int = 0,
    confidence_level: float = 0.95,
    state: str | PathLike[str] | None = None,
    model_id: str | None = None,
    progress: Progress | None = None,
) -> ExchangeabilityTest:
    """Oren et al.'s sharded exchangeability test of a benchmark in its canonical order.

    Parameters
    ----------
    model
        A :class:`~evalgap.models.LanguageModel`, or any :data:`SequenceScorer`
        (texts -> log-likelihoods).
    texts
        The benchmark's items in canonical (published) order.
    n_shards, n_permutations
        Shards (contiguous runs of items) and random orderings per shard; the paper's
        defaults, 50 and 250, cost 12,550 forward passes.
    separator
        Follows every item in a concatenation.
    seed
        Shard ``s`` draws its permutations from ``SeedSequence([seed, s])``, so a shard's
        orderings do not depend on which shards ran before.
    state
        A folder keeping each finished shard's log-likelihoods: a rerun with the same
        items, model and settings skips the shards already there.
    model_id
        What names the model in the state's key (default: a loaded model's files and
        adapter hash; a function's qualified name).
    progress
        ``progress(done, total)`` in sequences scored (skipped shards count as done).

    Returns
    -------
    ExchangeabilityTest

    Examples
    --------
    >>> items = [f"item {i}" for i in range(40)]
    >>> def remembers_order(texts):  # one nat for each item right after its predecessor
    ...     out = []
    ...     for t in texts:
    ...         idx = [int(x.split()[1]) for x in t.strip().split("\\n\\n")]
    ...         out.append(sum(b == a + 1 for a, b in zip(idx, idx[1:])))
    ...     return np.array(out, dtype=float)
    >>> out = exchangeability_test(remembers_order, items, n_shards=4, n_permutations=20)
    >>> bool(out.p_value < 0.001), out.shards["canonical"].tolist()
    (True, [9.0, 9.0, 9.0, 9.0])
    """
    items = list(texts)
    for i, t in enumerate(items):
        if not isinstance(t, str) or not t:
            raise InputError("expected a non-empty string", source="items", where=f"item {i}")
    if n_permutations < 1:
        raise AnalysisError(f"n_permutations must be at least 1, got {n_permutations}")
    bounds = shard_bounds(len(items), n_shards)
    scorer: SequenceScorer = model_scorer(model) if hasattr(model, "token_logprobs") else model
    if not callable(scorer):
        raise AnalysisError("model must be a LanguageModel or a function of a list of texts")
    settings = {
        "n_items": len(items),
        "n_shards": n_shards,
        "n_permutations": n_permutations,
        "separator": separator,
        "seed": seed,
    }
    digest = hashlib.sha256()
    for t in items:
        digest.update(hashlib.sha256(t.encode("utf-8")).digest())
    key_source = json.dumps(
        {
            **settings,
            "items_sha256": digest.hexdigest(),
            "model": model_id if model_id is not None else _model_id(model),
        },
        sort_keys=True,
    )
    store = _Store(
        None if state is None else Path(state),
        hashlib.sha256(key_source.encode()).hexdigest(),
        settings,
    )
    canonical = np.zeros(n_shards)
    shuffled = np.zeros((n_shards, n_permutations))
    todo = []
    for s in range(n_shards):
        found = store.load(s)
        if found is None or len(found[1]) != n_permutations:
            todo.append(s)
        else:
            canonical[s], shuffled[s] = found[0], found[1]
    per_shard = n_permutations + 1
    total = n_shards * per_shard
    done = (n_shards - len(todo)) * per_shard
    if progress is not None and done:
        progress(done, total)
    for s in todo:
        start, stop = bounds[s]
        shard = items[start:stop]
        rng = np.random.default_rng(np.random.SeedSequence([seed, s]))
        orders = [np.arange(len(shard))] + [
            rng.permutation(len(shard)) for _ in range(n_permutations)
        ]
        sequences = ["".join(shard[j] + separator for j in order) for order in orders]

        def tick(d: int, _t: int, base: int = done) -> None:
            if progress is not None:
                progress(base + d, total)

        values = _score(scorer, sequences, tick)
        canonical[s], shuffled[s] = values[0], values[1:]
        store.save(s, float(values[0]), [float(v) for v in values[1:]])
        done += per_shard
        if progress is not None:
            progress(done, total)
    return shards_test(
        canonical,
        shuffled,
        sizes=[b - a for a, b in bounds],
        confidence_level=confidence_level,
    )


def _score(
    scorer: SequenceScorer, sequences: list[str], tick: Callable[[int, int], None]
) -> np.ndarray:
    if isinstance(scorer, _ModelScorer):
        values = scorer(sequences, progress=tick)
    else:
        values = np.asarray(scorer(sequences), dtype=np.float64)
    if values.shape != (len(sequences),) or not np.isfinite(values).all():
        raise AnalysisError("the scorer must return one finite log-likelihood per sequence")
    return values
