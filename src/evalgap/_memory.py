"""The memory budget: how many bytes a computation may hold.

One budget for every analysis and engine. It comes from, in order: the ``max_memory``
argument (``--max-memory`` on the command line), the ``EVALGAP_MAX_MEMORY`` environment
variable, and otherwise half of the memory this machine has available now. Resampling
engines size their chunks from it; :func:`evalgap._params.check_memory` refuses a request
whose smallest chunking would not fit, before any work starts.

Sizes are read as ``2GB`` / ``500MB`` (powers of 1000), ``1.5GiB`` / ``512MiB`` (powers of
1024) or plain bytes, and shown in decimal units (:func:`format_bytes`).
"""

from __future__ import annotations

import math
import os
import re

from evalgap.errors import ParameterError

__all__ = [
    "DEFAULT_FRACTION",
    "available_memory",
    "format_bytes",
    "memory_budget",
    "parse_memory",
    "resolve_budget",
]

#: Share of the machine's available memory used when no budget is given.
DEFAULT_FRACTION = 0.5

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_memory(text: str | int | float, *, name: str = "max_memory") -> int:
    """Bytes from a size such as ``"2GB"``, ``"500MB"``, ``"1.5GiB"`` or a plain number.

    Raises
    ------
    ParameterError
        Text that is not a positive size, named after ``name``.

    Examples
    --------
    >>> parse_memory("2GB"), parse_memory("512MiB"), parse_memory(1000)
    (2000000000, 536870912, 1000)
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        match = _SIZE.match(str(text))
        if match is None or match.group(2).lower() not in _UNITS:
            raise ParameterError(
                name, f"must be a memory size like 2GB, 500MB or 1.5GiB, got {text!r}"
            )
        value, unit = float(match.group(1)), match.group(2).lower()
    size = value * _UNITS[unit]
    if not math.isfinite(size) or size < 1:
        raise ParameterError(name, f"must be a positive memory size, got {text!r}")
    return int(size)


def format_bytes(n: float) -> str:
    """A byte count for people: ``1.5 GB``, ``820 MB``.

    Examples
    --------
    >>> format_bytes(1.5e9), format_bytes(820e6), format_bytes(2.4e16), format_bytes(10)
    ('1.5 GB', '820 MB', '24,000 TB', '10 B')
    """
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            value = n / size
            if unit == "TB" and value >= 1000:
                return f"{value:,.0f} TB"
            return f"{value:.3g} {unit}"
    return f"{int(n)} B"


def available_memory() -> int:
    """Bytes of memory the machine has available now (``MemAvailable`` on Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return 4 * 2**30  # a machine that will not say: assume a small laptop


def memory_budget(max_memory: str | int | float | None = None) -> tuple[int, str]:
    """(bytes, where the figure comes from), in the order the module docstring gives.

    Examples
    --------
    >>> memory_budget("2GB")
    (2000000000, '--max-memory (max_memory=)')
    """
    if max_memory is not None:
        return parse_memory(max_memory), "--max-memory (max_memory=)"
    env = os.environ.get("EVALGAP_MAX_MEMORY", "").strip()
    if env:
        return parse_memory(env, name="EVALGAP_MAX_MEMORY"), "EVALGAP_MAX_MEMORY"
    return (
        int(DEFAULT_FRACTION * available_memory()),
        "half of the memory available; set --max-memory or EVALGAP_MAX_MEMORY to change it",
    )


def resolve_budget(max_memory: str | int | float | None = None) -> int:
    """The budget in bytes (:func:`memory_budget` without its origin)."""
    return memory_budget(max_memory)[0]
