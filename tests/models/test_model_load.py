"""Loading: the dequantised cache is the GGUF model bit for bit; bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalgap.errors import EvalgapError
from evalgap.models import ModelSpec, load_model, load_spec, smollm2_path
from real_model import SAMPLE_TEXTS

# Same weights and tokens; transformers before 5 may pick another attention kernel for a
# GGUF-loaded model than for a folder, which moves float32 sums in the 6th decimal.
SAME_MODEL_ATOL = 1e-5


def test_cache_is_the_gguf_model_bit_for_bit(real_lm) -> None:
    lm, facts, _ = real_lm
    assert lm.weights_fingerprint() == facts["fingerprint"]
    assert {t: lm.encode(t) for t in SAMPLE_TEXTS} == facts["ids"]
    got = lm.loglikelihood([("The capital of France is", " Paris")])
    want = facts["loglikelihood"]
    assert got["is_greedy"].equals(want["is_greedy"])
    assert abs(got["loglikelihood"].iloc[0] - want["loglikelihood"].iloc[0]) <= SAME_MODEL_ATOL


def test_second_load_reads_the_cache_and_spec_reloads(lm, model_cache: Path) -> None:
    again = load_model(smollm2_path(), cache=model_cache)
    assert again.spec.cache == str(model_cache.resolve())
    assert again.weights_fingerprint() == lm.weights_fingerprint()
    assert isinstance(again.spec, ModelSpec)
    assert load_spec(again.spec).weights_fingerprint() == lm.weights_fingerprint()


def test_model_facts(lm) -> None:
    assert lm.n_layers == 30
    assert lm.hidden_size == 576
    assert sum(p.numel() for p in lm.model.parameters()) == 134_515_008
    assert lm.encode("The capital of France is Paris") == [504, 3575, 282, 4649, 314, 7042]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "/no/such/folder"}, "no such model folder"),
        ({"source": "/no/such/model.gguf"}, "no such GGUF file"),
        ({"source": ".", "gguf_file": "missing.gguf"}, "no GGUF file 'missing.gguf'"),
        ({"source": ".", "dtype": "int8"}, "unknown dtype 'int8'"),
        ({"source": ".", "batch_size": 0}, "batch_size must be at least 1"),
    ],
)
def test_bad_arguments_are_one_line_errors(kwargs: dict, message: str) -> None:
    source = kwargs.pop("source")
    with pytest.raises(EvalgapError, match=message) as info:
        load_model(source, **kwargs)
    assert "\n" not in str(info.value)


def test_pickled_adapters_are_refused(tmp_path: Path) -> None:
    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
    (tmp_path / "adapter_model.bin").write_bytes(b"not read")
    with pytest.raises(EvalgapError, match=r"no adapter_model\.safetensors"):
        load_model(".", adapter=tmp_path)
    with pytest.raises(EvalgapError, match="not a peft adapter folder"):
        load_model(".", adapter=tmp_path / "nothing")
