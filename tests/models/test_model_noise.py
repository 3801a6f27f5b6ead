"""Weight noise: seeded, drawn as documented, restored bit for bit."""

from __future__ import annotations

import pytest
import torch

from evalgap.errors import EvalgapError
from evalgap.models import tensor_seed

# The embedding matrix has 28.3M entries: the SD of its noise estimates sigma to about
# 1/sqrt(2 * 28.3e6) = 1.3e-4 relative; 1% leaves room for nothing but a wrong scale.
SD_RTOL = 0.01

SIGMA = 0.01
EMBED = "model.embed_tokens.weight"


def _param(lm, name: str) -> torch.Tensor:
    return dict(lm.model.named_parameters())[name]


def test_noise_is_restored_bit_for_bit(lm) -> None:
    before = lm.weights_fingerprint()
    with lm.noise(SIGMA, seed=1) as info:
        assert lm.weights_fingerprint() != before
        assert info.n_parameters == 134_515_008
        assert len(info.tensors) == 272
    assert lm.weights_fingerprint() == before
    with pytest.raises(RuntimeError, match="inside"), lm.noise(SIGMA, seed=1, target="layers"):
        raise RuntimeError("inside")
    assert lm.weights_fingerprint() == before


def test_same_seed_same_noise_other_seed_other_noise(lm) -> None:
    prints = []
    for seed in (3, 3, 4):
        with lm.noise(SIGMA, seed=seed, target=r"layers\.(1|2)\."):
            prints.append(lm.weights_fingerprint())
    assert prints[0] == prints[1] != prints[2]


def test_noise_is_the_documented_draw(lm) -> None:
    original = _param(lm, EMBED).detach().clone()
    gen = torch.Generator(device="cpu").manual_seed(tensor_seed(7, EMBED))
    expected = original + torch.randn(original.shape, generator=gen, dtype=torch.float32) * SIGMA
    with lm.noise(SIGMA, seed=7, target="embed_tokens"):
        delta = _param(lm, EMBED).detach() - original
        assert torch.equal(_param(lm, EMBED).detach(), expected)
    assert float(delta.std()) == pytest.approx(SIGMA, rel=SD_RTOL)
    assert abs(float(delta.mean())) < 10 * SIGMA / delta.numel() ** 0.5


def test_a_tensor_gets_the_same_noise_whatever_else_is_selected(lm) -> None:
    name = "model.layers.3.mlp.down_proj.weight"
    with lm.noise(SIGMA, seed=5, target=r"layers\.3\.mlp\.down_proj"):
        alone = _param(lm, name).detach().clone()
    with lm.noise(SIGMA, seed=5, target="all"):
        assert torch.equal(_param(lm, name).detach(), alone)


def test_noise_changes_scores_and_zero_noise_does_not(lm) -> None:
    pairs = [("The capital of France is", " Paris")]
    clean = lm.loglikelihood(pairs)
    with lm.noise(0.0, seed=1):
        assert lm.loglikelihood(pairs).equals(clean)
    with lm.noise(0.02, seed=1):
        assert not lm.loglikelihood(pairs).equals(clean)
    assert lm.loglikelihood(pairs).equals(clean)


@pytest.mark.parametrize(
    ("sigma", "seed", "target", "message"),
    [
        (-0.1, 0, "all", "sigma must be finite and >= 0"),
        (float("nan"), 0, "all", "sigma must be finite"),
        (0.1, -1, "all", "seed must be an integer >= 0"),
        (0.1, 0, "lora", "needs a model loaded with an adapter"),
        (0.1, 0, "no_such_tensor", "selects no weight tensor"),
        (0.1, 0, "(", "bad regular expression"),
    ],
)
def test_bad_noise_arguments(lm, sigma: float, seed: int, target: str, message: str) -> None:
    before = lm.weights_fingerprint()
    with pytest.raises(EvalgapError, match=message), lm.noise(sigma, seed, target):
        pass
    assert lm.weights_fingerprint() == before


def test_lora_noise_touches_only_the_adapter(adapter_lm) -> None:
    lm = adapter_lm
    names = lm.parameter_names()
    lora = [n for n in names if ".lora_A." in n or ".lora_B." in n]
    assert len(lora) == 2 * 2 * 30  # A and B, q_proj and v_proj, 30 blocks
    before = {n: p.detach().clone() for n, p in lm.model.named_parameters()}
    fingerprint = lm.weights_fingerprint()
    pairs = [("The capital of France is", " Paris")]
    clean = lm.loglikelihood(pairs)
    with lm.noise(0.05, seed=2, target="lora") as info:
        assert sorted(info.tensors) == sorted(lora)
        now = dict(lm.model.named_parameters())
        changed = {n for n in names if not torch.equal(now[n].detach(), before[n])}
        assert changed == set(lora)
        assert not lm.loglikelihood(pairs).equals(clean)
    with lm.noise(0.05, seed=2, target="base") as info:
        assert not set(info.tensors) & set(lora)
        assert len(info.tensors) == len(names) - len(lora)
    assert lm.weights_fingerprint() == fingerprint
    assert lm.loglikelihood(pairs).equals(clean)


def test_kept_draws_give_the_same_noise_as_fresh_ones(lm) -> None:
    target = r"layers\.5\.self_attn"
    fresh = {}
    for sigma in (0.01, 0.03):
        with lm.noise(sigma, seed=9, target=target):
            fresh[sigma] = lm.weights_fingerprint()
    draws: dict = {}
    for sigma in (0.01, 0.03):
        with lm.noise(sigma, seed=9, target=target, draws=draws) as info:
            assert lm.weights_fingerprint() == fresh[sigma]
    assert sorted(name for _, name in draws) == sorted(info.tensors)
