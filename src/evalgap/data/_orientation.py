"""Orientation: how each benchmark's raw score is turned into "higher is safer".

A transform is one of

- ``higher``: the score as reported (higher is better or safer);
- ``lower``: the score negated (lower is better: an error rate, a count of harms);
- ``closer_to(c)``: scored as ``-|x - c|``, for signed gaps whose ideal is ``c`` (a
  demographic difference, a log-likelihood gap), so the best value is ``c`` whichever side
  a model misses it on.

Every entry of the package's orientation table (``orientation.csv``, for the benchmarks of
the Safetywashing release) names its source: the benchmark's paper or the harness
definition the release's number comes from, and, where the release's own label
disagrees, the evidence in the data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from evalgap.errors import InputError

__all__ = [
    "TRANSFORMS",
    "Orientation",
    "apply_transform",
    "orientation_of",
    "orientation_table",
    "parse_transform",
    "transform_label",
]

#: The transform kinds; ``closer_to`` takes its target in brackets: ``closer_to(0)``.
TRANSFORMS = ("higher", "lower", "closer_to")

_CLOSER = re.compile(r"^closer_to\(\s*([-+0-9.eE]+)\s*\)$")


@dataclass(frozen=True)
class Orientation:
    """One benchmark's transform and where it comes from."""

    transform: str
    source: str


def parse_transform(text: object, *, where: str = "") -> tuple[str, float]:
    """``(kind, target)`` of a transform: ``("higher", nan)``, ``("lower", nan)`` or
    ``("closer_to", c)``.

    Examples
    --------
    >>> parse_transform("closer_to(0)"), parse_transform("lower")
    (('closer_to', 0.0), ('lower', nan))
    """
    value = str(text).strip()
    if value in ("higher", "lower"):
        return value, math.nan
    match = _CLOSER.match(value)
    if match:
        try:
            target = float(match.group(1))
        except ValueError:
            target = math.nan
        if math.isfinite(target):
            return "closer_to", target
    raise InputError(
        f"orientation must be higher, lower or closer_to(<number>), got {value!r}",
        where=where or None,
    )


def transform_label(text: str) -> str:
    """The transform in its canonical spelling (``closer_to(0)``, not ``closer_to( 0.0 )``).

    Examples
    --------
    >>> transform_label("closer_to( 0.0 )")
    'closer_to(0)'
    """
    kind, target = parse_transform(text)
    return kind if kind != "closer_to" else f"closer_to({target:g})"


def apply_transform(values: pd.Series | np.ndarray, transform: str) -> np.ndarray:
    """The oriented values: as is, negated, or ``-|x - c|``; NaN stays NaN.

    Examples
    --------
    >>> apply_transform(np.array([-0.2, 0.1, 0.5]), "closer_to(0)").tolist()
    [-0.2, -0.1, -0.5]
    """
    x = np.asarray(values, dtype=float)
    kind, target = parse_transform(transform)
    if kind == "higher":
        return x.copy()
    if kind == "lower":
        return -x
    return -np.abs(x - target)


@cache
def orientation_table() -> pd.DataFrame:
    """The package's orientation table: one row per Safetywashing benchmark with columns
    ``transform`` and ``source``, indexed by benchmark id.

    Examples
    --------
    >>> orientation_table().loc["discrim_eval_female", "transform"]
    'closer_to(0)'
    """
    text = resources.files("evalgap.data").joinpath("orientation.csv").read_text("utf-8")
    from io import StringIO

    frame = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
    for row in frame.itertuples():
        parse_transform(row.transform, where=f"orientation.csv, benchmark {row.benchmark!r}")
        if not row.source.strip():
            raise InputError("every orientation needs a source", where=f"{row.benchmark!r}")
    return frame.set_index("benchmark")


def orientation_of(benchmarks: Iterable[str]) -> dict[str, Orientation]:
    """The table's orientation of each of ``benchmarks`` that it knows.

    Examples
    --------
    >>> orientation_of(["machiavelli-violations.Σ", "my_benchmark"])["machiavelli-violations.Σ"].transform
    'lower'
    """
    table = orientation_table()
    return {
        b: Orientation(table.at[b, "transform"], table.at[b, "source"])
        for b in benchmarks
        if b in table.index
    }
