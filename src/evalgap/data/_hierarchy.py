"""Benchmark hierarchy: which columns are an aggregate and its own splits.

A panel often reports a benchmark and its parts side by side (HarmBench "all" and its
categories, WMDP and its three splits, GLUE and its tasks, a MACHIAVELLI total and the
harms it counts). They are not independent pieces of evidence, so summaries count each
*family* (a root and everything below it) once. A parent may be a column of the panel or
just a label naming what several columns share (two metrics of one run, ``DROP``).

The package's table (``hierarchy.csv``) covers the Safetywashing release; each row says
how a column relates to its parent: ``split`` (a category, task or split of the
aggregate), ``part`` (a factor of a product), ``metric`` (another metric of the same
run) or ``copy`` (an exact duplicate column).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from io import StringIO

import pandas as pd

from evalgap.errors import InputError

__all__ = ["RELATIONS", "families", "hierarchy_table"]

#: How a child relates to its parent.
RELATIONS = ("split", "part", "metric", "copy")


@cache
def hierarchy_table() -> pd.DataFrame:
    """The package's hierarchy of Safetywashing benchmarks: ``parent`` and ``relation``
    indexed by benchmark id (only benchmarks that have a parent are listed).

    Examples
    --------
    >>> hierarchy_table().loc["wmdp_bio", "parent"]
    'wmdp'
    """
    text = resources.files("evalgap.data").joinpath("hierarchy.csv").read_text("utf-8")
    frame = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
    bad = frame[~frame["relation"].isin(RELATIONS)]
    if not bad.empty:
        raise InputError(f"unknown relation {bad['relation'].iloc[0]!r}", where="hierarchy.csv")
    return frame.set_index("benchmark")


def families(benchmarks: Iterable[str], parents: Mapping[str, str]) -> dict[str, str]:
    """The family (root) of every benchmark: follow ``parents`` up until a benchmark has
    none; a benchmark with no parent is its own family.

    Raises
    ------
    InputError
        When the parents form a cycle.

    Examples
    --------
    >>> families(["a", "a1", "a2", "b"], {"a1": "a", "a2": "a"})
    {'a': 'a', 'a1': 'a', 'a2': 'a', 'b': 'b'}
    """
    out: dict[str, str] = {}
    for bench in benchmarks:
        seen = [bench]
        node = bench
        while parents.get(node):
            node = str(parents[node])
            if node in seen:
                raise InputError(
                    "benchmark parents form a cycle: " + " -> ".join([*seen, node]),
                    where="parent",
                )
            seen.append(node)
        out[bench] = node
    return out
