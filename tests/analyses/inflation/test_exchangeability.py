"""Oren et al.'s sharded exchangeability test on synthetic "models" whose log-likelihood is
known: uniform p-values when the canonical order means nothing to the model, small ones
when it remembers the order; resumable per shard."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from evalgap.analyses.inflation._exchangeability import (
    exchangeability_test,
    shard_bounds,
    shards_test,
)
from evalgap.errors import AnalysisError, InputError

# Data sets simulated under exchangeability, and the test's size there: at 200 sets the
# binomial SE of a 5% rejection rate is 0.015; the band is 3 SE either side.
N_NULL_SETS = 200
NULL_REJECTION_BAND = (0.005, 0.095)
# Kolmogorov-Smirnov against uniform: a p below this would mean the p-values are not
# uniform (a 1-in-1000 false alarm).
KS_MIN_P = 0.001
# A model that remembers each item's successor: the test's p-value.
ORDERED_MAX_P = 1e-3

N_ITEMS, N_SHARDS, N_PERM = 40, 8, 10


class PairModel:
    """log p(sequence) = sum of a per-item term and a term per adjacent pair of items.

    Pair terms are random (an order the model has no memory of) plus ``memory`` for each
    item that follows its canonical predecessor (a model trained on the benchmark in
    order)."""

    def __init__(self, seed: int, memory: float = 0.0, n: int = N_ITEMS) -> None:
        rng = np.random.default_rng(seed)
        self.items = [f"d{seed} item {i}" for i in rng.permutation(10 * n)[:n]]
        self.index = {t: i for i, t in enumerate(self.items)}
        self.unary = rng.normal(size=n)
        self.pair = rng.normal(size=(n, n)) + memory * np.eye(n, k=1)
        self.calls = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        out = []
        for text in texts:
            idx = np.array([self.index[t] for t in text.split("\n\n") if t])
            out.append(self.unary[idx].sum() + self.pair[idx[:-1], idx[1:]].sum())
        return np.array(out)


def test_shards_are_contiguous_and_balanced():
    assert shard_bounds(10, 4) == [(0, 3), (3, 6), (6, 8), (8, 10)]
    with pytest.raises(AnalysisError, match="shards"):
        shard_bounds(7, 4)
    with pytest.raises(AnalysisError, match="2 shards"):
        shard_bounds(10, 1)


def test_t_test_matches_scipy():
    rng = np.random.default_rng(0)
    canonical, shuffled = rng.normal(size=12) + 0.3, rng.normal(size=(12, 7))
    out = shards_test(canonical, shuffled)
    want = stats.ttest_1samp(canonical - shuffled.mean(axis=1), 0.0, alternative="greater")
    assert out.statistic == pytest.approx(want.statistic, rel=1e-12)
    assert out.p_value == pytest.approx(want.pvalue, rel=1e-12)


def test_p_values_are_uniform_when_the_order_means_nothing():
    p = np.array(
        [
            exchangeability_test(
                PairModel(seed), PairModel(seed).items, n_shards=N_SHARDS, n_permutations=N_PERM
            ).p_value
            for seed in range(N_NULL_SETS)
        ]
    )
    rate = float((p < 0.05).mean())
    assert NULL_REJECTION_BAND[0] <= rate <= NULL_REJECTION_BAND[1]
    assert stats.kstest(p, "uniform").pvalue > KS_MIN_P


def test_p_value_is_small_when_the_model_remembers_the_order():
    model = PairModel(1, memory=1.0)
    out = exchangeability_test(model, model.items, n_shards=N_SHARDS, n_permutations=N_PERM)
    assert out.p_value < ORDERED_MAX_P
    assert out.ci_low > 0
    assert (out.shards["difference"] > 0).mean() > 0.5


def test_interrupted_run_resumes_and_matches_an_uninterrupted_one(tmp_path):
    model = PairModel(2, memory=0.5)
    whole = exchangeability_test(
        model, model.items, n_shards=N_SHARDS, n_permutations=N_PERM, seed=3
    )

    class Crash(PairModel):
        def __call__(self, texts):
            if self.calls >= 3 * (N_PERM + 1):
                raise RuntimeError("killed")
            return super().__call__(texts)

    state = tmp_path / "state"
    kw = {"n_shards": N_SHARDS, "n_permutations": N_PERM, "seed": 3, "state": state}
    with pytest.raises(RuntimeError):
        exchangeability_test(Crash(2, memory=0.5), model.items, model_id="pairs-2", **kw)
    assert len(list(state.glob("shard-*.json"))) == 3
    resumed_model = PairModel(2, memory=0.5)
    seen = []
    resumed = exchangeability_test(
        resumed_model,
        model.items,
        model_id="pairs-2",
        progress=lambda d, t: seen.append((d, t)),
        **kw,
    )
    assert resumed_model.calls == (N_SHARDS - 3) * (N_PERM + 1)
    assert seen[0] == (3 * (N_PERM + 1), N_SHARDS * (N_PERM + 1))
    assert seen[-1] == (N_SHARDS * (N_PERM + 1),) * 2
    assert resumed.shards.to_json() == whole.shards.to_json()
    assert resumed.p_value == whole.p_value
    # A third run computes nothing.
    again = PairModel(2, memory=0.5)
    exchangeability_test(again, model.items, model_id="pairs-2", **kw)
    assert again.calls == 0


def test_state_of_another_run_is_refused_and_damage_is_recomputed(tmp_path):
    model = PairModel(4)
    kw = {"n_shards": 4, "n_permutations": 3, "state": tmp_path}
    exchangeability_test(model, model.items, **kw)
    with pytest.raises(InputError, match="another run"):
        exchangeability_test(model, model.items, n_shards=4, n_permutations=5, state=tmp_path)
    (tmp_path / "shard-00001.json").write_text("{not json")
    shard = json.loads((tmp_path / "shard-00002.json").read_text())
    (tmp_path / "shard-00002.json").write_text(json.dumps({**shard, "key": "other"}))
    fresh = PairModel(4)
    exchangeability_test(fresh, model.items, **kw)
    assert fresh.calls == 2 * 4


def test_bad_scorers_and_items_are_refused():
    model = PairModel(5)
    with pytest.raises(AnalysisError, match="finite"):
        exchangeability_test(
            lambda texts: np.full(len(texts), np.nan), model.items, n_shards=2, n_permutations=1
        )
    with pytest.raises(InputError, match="non-empty"):
        exchangeability_test(model, [*model.items[:-1], ""], n_shards=2, n_permutations=1)
