"""The model runner: load a causal language model (a Hugging Face folder or a GGUF file,
optionally with a LoRA adapter), score continuations and multiple-choice items by
log-likelihood with lm-eval's conventions, read per-token log-probabilities and hidden
states, and add seeded Gaussian noise to weights with a bit-exact restore.

Needs the ``models`` extra (``pip install 'evalgap[models]'``); torch and transformers are
imported when a model is loaded, not when this package is.

Examples
--------
>>> from evalgap.models import load_model, smollm2_path
>>> lm = load_model(smollm2_path())  # doctest: +SKIP
>>> lm.score_choices(["The capital of France is"], [[" Paris", " Rome"]], [0])  # doctest: +SKIP
"""

from evalgap.models._core import Progress
from evalgap.models._hidden import POSITIONS
from evalgap.models._load import DTYPES, SMOLLM2_FILE, load_model, load_spec, smollm2_path
from evalgap.models._model import LanguageModel
from evalgap.models._noise import NOISE_TARGETS, NoiseApplied, tensor_seed
from evalgap.models._spec import ModelSpec
from evalgap.models._tokens import TokenLogprobs

__all__ = [
    "DTYPES",
    "NOISE_TARGETS",
    "POSITIONS",
    "SMOLLM2_FILE",
    "LanguageModel",
    "ModelSpec",
    "NoiseApplied",
    "Progress",
    "TokenLogprobs",
    "load_model",
    "load_spec",
    "smollm2_path",
    "tensor_seed",
]
