"""What a loaded model was loaded from, as plain picklable values."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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
