"""What a loaded model was loaded from, as plain picklable values."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["ModelSpec"]


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to load a model again, as plain picklable values: what an
    executor sends to its workers so each loads its own replica.

    Fields are the arguments of :func:`~evalgap.models.load_model` (paths absolute,
    ``cache`` the cache folder or None); :func:`~evalgap.models.load_spec` loads it.
    """

    source: str
    gguf_file: str | None = None
    adapter: str | None = None
    device: str = "auto"
    dtype: str = "float32"
    batch_size: int = 16
    max_length: int | None = None
    add_bos: bool = False
    threads: int | None = None
    cache: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return asdict(self)

    def input_sha256(self) -> dict[str, str]:
        """sha256 of every file the weights come from, keyed by file name: the GGUF file
        (or the folder's config and safetensors files) and the adapter's two files.

        Examples
        --------
        >>> spec.input_sha256()  # doctest: +SKIP
        {'model:SmolLM2-135M-Instruct.Q4_1.gguf': '...'}
        """
        source = Path(self.source)
        if self.gguf_file is not None:
            files = [("model", source / self.gguf_file)]
        else:
            names = [*sorted(source.glob("*.safetensors")), source / "config.json"]
            files = [("model", f) for f in names if f.is_file()]
        if self.adapter is not None:
            adapter = Path(self.adapter)
            files += [
                (f"adapter:{adapter.name}", adapter / "adapter_model.safetensors"),
                (f"adapter:{adapter.name}", adapter / "adapter_config.json"),
            ]
        return {f"{label}:{path.name}": _sha256(path) for label, path in files}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
