"""The optional dependencies of the model runner and executors, imported only when used."""

from __future__ import annotations

import importlib
from types import ModuleType

from evalgap.errors import EvalgapError

__all__ = ["require"]


def require(module: str, *, extra: str = "models") -> ModuleType:
    """Import ``module`` or raise an :class:`EvalgapError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise EvalgapError(
            f"{module} is not installed; install it with pip install 'evalgap[{extra}]'",
            source=f"evalgap[{extra}]",
        ) from None
