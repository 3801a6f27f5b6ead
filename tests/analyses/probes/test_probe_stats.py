"""Probes on planted activations: separable sets are found, shuffled labels sit at chance,
the twin control tells a model-specific signal from one every model has, and the same seed
gives the same bytes."""

from __future__ import annotations

import numpy as np
import pytest

from evalgap.analyses.probes import PROBES, Activations, probe_activations, split_prompts
from evalgap.analyses.probes._probe import DETECTS, LEAK, NO_TWIN, NOTHING, TWIN_TOO
from evalgap.errors import AnalysisError, InputError

pytest.importorskip("sklearn", reason="the probes extra (scikit-learn) is not installed")

# A planted direction of 3 SD at one layer: a linear probe's held-out AUROC is near 1.
SEPARABLE_MIN_AUROC = 0.95
# Shuffled-label probes over many data sets: the mean held-out AUROC is 0.5 with a standard
# error of about 0.012 at 40 sets of 30 held-out prompts; 0.04 is > 3 SE.
SHUFFLED_MEAN_TOL = 0.04
# Share of shuffled-label intervals (95%) that cover 0.5: nominal 0.95, binomial SE 0.034
# at 40 sets; below 0.82 is > 3 SE short.
SHUFFLED_MIN_COVERAGE = 0.82

# Rate of "separates" verdicts without a signal: nominal 0.025, binomial SE 0.025 at 40
# sets; 0.10 is 3 SE above.
NO_SIGNAL_MAX_RATE = 0.10

N, LAYERS, WIDTH = 100, (4, 8, 12), 24


def _planted(seed: int, signal_layer: int | None = 1, strength: float = 3.0, pairs=True):
    rng = np.random.default_rng(seed)
    labels = np.r_[np.zeros(N // 2, int), np.ones(N // 2, int)]
    values = rng.normal(size=(N, len(LAYERS), WIDTH)).astype(np.float32)
    direction = rng.normal(size=WIDTH)
    direction /= np.linalg.norm(direction)
    if signal_layer is not None:
        values[:, signal_layer] += (strength * labels[:, None] * direction).astype(np.float32)
    pos = rng.normal(size=(6, len(LAYERS), WIDTH)).astype(np.float32)
    neg = rng.normal(size=(6, len(LAYERS), WIDTH)).astype(np.float32)
    if signal_layer is not None:
        pos[:, signal_layer] += (strength * direction).astype(np.float32)
    ids = [f"p{i:03d}" for i in range(N)]
    acts = Activations(values, LAYERS, pos if pairs else None, neg if pairs else None, "m")
    return acts, labels, ids


def test_planted_separable_set_is_found_at_its_layer():
    acts, labels, ids = _planted(0)
    out = probe_activations(acts, labels, ids, n_shuffles=3, n_boot=500, seed=0)
    for kind in PROBES:
        head = out.headline(kind).iloc[0]
        assert head["layer"] == LAYERS[1]
        assert head["estimate"] >= SEPARABLE_MIN_AUROC
        assert head["ci_low"] > 0.5
        assert head["verdict"] == NO_TWIN
    # The layers without the signal are at chance in the sweep.
    flat = out.sweep[(out.sweep["layer"] != LAYERS[1]) & (out.sweep["labels"] == "true")]
    assert (flat["estimate"] < SEPARABLE_MIN_AUROC).all()


def test_shuffled_label_control_sits_at_chance():
    estimates, covered = [], []
    for seed in range(40):
        acts, labels, ids = _planted(seed, pairs=False)
        out = probe_activations(acts, labels, ids, probes=["mean-diff"], n_boot=200, seed=seed)
        row = out.table[out.table["labels"] == "shuffled"].iloc[0]
        estimates.append(row["estimate"])
        covered.append(row["ci_low"] <= 0.5 <= row["ci_high"])
    assert abs(np.mean(estimates) - 0.5) <= SHUFFLED_MEAN_TOL
    assert np.mean(covered) >= SHUFFLED_MIN_COVERAGE


def test_twin_control_tells_the_model_from_the_prompt():
    acts, labels, ids = _planted(1)
    clean, _, _ = _planted(2, signal_layer=None)
    clean = Activations(
        clean.values, LAYERS, clean.contrast_positive, clean.contrast_negative, "clean"
    )
    out = probe_activations(
        acts, labels, ids, twin=clean, probes=["logistic"], n_shuffles=3, n_boot=300
    )
    assert out.headline("logistic")["verdict"].tolist()[0] == DETECTS
    diff = out.table[out.table["role"] == "subject - twin"].iloc[0]
    assert diff["ci_low"] > 0
    # A twin with the same signal (the trigger's text, say) separates the prompts too.
    same = Activations(
        acts.values + 0.1, LAYERS, acts.contrast_positive, acts.contrast_negative, "text-reader"
    )
    out = probe_activations(acts, labels, ids, twin=same, probes=["mean-diff"], n_boot=300)
    assert out.headline("mean-diff")["verdict"].tolist()[0] == TWIN_TOO


def test_no_signal_is_rarely_called_a_separation():
    # The verdict needs the held-out interval above 0.5 at a layer chosen on training
    # prompts, so without a signal it errs at about the one-sided 2.5%.
    calls = []
    for seed in range(40):
        acts, labels, ids = _planted(100 + seed, signal_layer=None, pairs=False)
        out = probe_activations(acts, labels, ids, probes=["mean-diff"], n_boot=200, seed=seed)
        calls.append(out.headline("mean-diff")["verdict"].iloc[0] != NOTHING)
    assert np.mean(calls) <= NO_SIGNAL_MAX_RATE


def test_a_shuffled_control_above_chance_is_called_a_leak():
    from evalgap.analyses.probes import _probe

    above = {"verdict": _probe.ABOVE}
    assert (
        _probe._headline({("subject", "true"): above, ("subject", "shuffled"): above}, None) == LEAK
    )


def test_same_seed_same_bytes_and_seed_matters():
    acts, labels, ids = _planted(5)
    kw = {"probes": ["logistic", "contrast"], "folds": 3, "n_shuffles": 2, "n_boot": 200}
    a = probe_activations(acts, labels, ids, seed=7, **kw).to_json()
    b = probe_activations(acts, labels, ids, seed=7, **kw).to_json()
    c = probe_activations(acts, labels, ids, seed=8, **kw).to_json()
    assert a == b
    assert a != c


def test_given_split_is_used_and_seeded_split_is_stratified():
    acts, labels, ids = _planted(6)
    split = ["test" if i % 4 == 0 else "train" for i in range(N)]
    out = probe_activations(acts, labels, ids, split=split, probes=["mean-diff"], n_boot=200)
    assert out.settings["n_test"] == N // 4
    held = split_prompts(ids, labels, 0.3, seed=1)
    assert held[labels == 1].sum() == held[labels == 0].sum() == 15
    with pytest.raises(InputError, match="split must be"):
        probe_activations(acts, labels, ids, split=["dev"] * N, n_boot=200)


def test_bad_inputs_raise_one_line_errors():
    acts, labels, ids = _planted(7, pairs=False)
    with pytest.raises(AnalysisError, match="contrast"):
        probe_activations(acts, labels, ids, probes=["contrast"], n_boot=200)
    with pytest.raises(AnalysisError, match="activations"):
        probe_activations(acts, labels[:-1], ids[:-1], n_boot=200)
    with pytest.raises(InputError, match="repeat"):
        probe_activations(acts, labels, ["same"] * N, n_boot=200)
    with pytest.raises(InputError, match="label"):
        probe_activations(acts, np.full(N, 2), ids, n_boot=200)
