"""Readers for the public inflation data: ConStat's result tables (Dekoninck et al. 2024)
and the GSM1k gap files (Zhang et al. 2024)."""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from evalgap.errors import InputError

__all__ = ["ConstatTable", "read_constat_table", "read_gsm1k", "read_two_columns"]

# ConStat's reference benchmarks and chance levels (scripts/detection.py of eth-sri/ConStat).
_CONSTAT_REFERENCE = {
    "gsm8k": "mathqa",
    "hellaswag": "lambada_openai",
    "arc": "sciq",
    "mmlu": "mmlu_combination",
}
_CONSTAT_CHANCE = {
    "gsm8k": 0.0,
    "mathqa": 0.25,
    "arc": 0.25,
    "mmlu": 0.25,
    "sciq": 0.25,
    "hellaswag": 0.25,
    "mmlu_combination": 0.25,
    "lambada_openai": 0.0,
}
_COLUMNS = ("model", "score_model", "score_model_std", "score_model_ref", "score_model_ref_std")


@dataclass(frozen=True)
class ConstatTable:
    """One ConStat result table as inputs for :func:`~evalgap.analyses.inflation.reference_test`.

    Attributes
    ----------
    records
        Aggregates with standard errors: ``model, benchmark, score, stderr``, two rows per
        model (the benchmark and its reference benchmark).
    benchmark, reference_benchmark
        Their names (``gsm8k`` and ``gsm8k_synthetic``, or ``gsm8k`` and ``mathqa``).
    chance, chance_reference
        Random-guess accuracy on each, as ConStat sets it.
    published
        ConStat's own numbers per model: ``model, p_value, delta, delta_std,
        min_delta_095, no_cont``.
    """

    records: pd.DataFrame
    benchmark: str
    reference_benchmark: str
    chance: float
    chance_reference: float
    published: pd.DataFrame


def read_constat_table(path: str | PathLike[str]) -> ConstatTable:
    """Read ``<benchmark>_<kind>.csv`` from ConStat's ``tables/`` folder.

    Examples
    --------
    >>> import os, pathlib
    >>> folder = pathlib.Path(os.environ.get("EVALGAP_DATA_DIR", "../shared/data"))
    >>> path = folder / "constat-2024" / "gsm8k_synthetic.csv"
    >>> table = read_constat_table(path) if path.exists() else None
    >>> table is None or (table.benchmark, table.reference_benchmark) == ("gsm8k", "gsm8k_synthetic")
    True
    """
    path = Path(path)
    stem = path.stem
    bench, _, kind = stem.partition("_")
    if bench not in _CONSTAT_REFERENCE or kind not in ("reference", "rephrase", "synthetic"):
        raise InputError(
            "expected a ConStat table named <benchmark>_<reference|rephrase|synthetic>.csv "
            f"with benchmark one of {', '.join(sorted(_CONSTAT_REFERENCE))}",
            source=path,
        )
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the table ({exc})", source=path) from None
    missing = [c for c in _COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"no {missing[0]!r} column", source=path)
    ref_bench = _CONSTAT_REFERENCE[bench] if kind == "reference" else f"{bench}_{kind}"
    models = frame["model"].astype(str)
    records = pd.concat(
        [
            pd.DataFrame(
                {
                    "model": models,
                    "benchmark": bench,
                    "score": frame["score_model"].astype(float),
                    "stderr": frame["score_model_std"].astype(float),
                }
            ),
            pd.DataFrame(
                {
                    "model": models,
                    "benchmark": ref_bench,
                    "score": frame["score_model_ref"].astype(float),
                    "stderr": frame["score_model_ref_std"].astype(float),
                }
            ),
        ],
        ignore_index=True,
    )
    published_cols = ["p_value", "delta", "delta_std", "min_delta_095", "no_cont"]
    published = frame[["model", *[c for c in published_cols if c in frame.columns]]].copy()
    published["model"] = models
    chance = _CONSTAT_CHANCE[bench]
    return ConstatTable(
        records=records,
        benchmark=bench,
        reference_benchmark=ref_bench,
        chance=chance,
        chance_reference=_CONSTAT_CHANCE.get(ref_bench, chance),
        published=published,
    )


def read_gsm1k(folder: str | PathLike[str]) -> pd.DataFrame:
    """The GSM1k gap files (``scale_diff.csv``: model, GSM8k minus GSM1k accuracy;
    ``averages.tsv``: model, mean per-character log-likelihood of GSM8k) as one table
    ``model, gap, loglik`` over the models in both, sorted by model. Repeated rows (the
    files repeat some models with identical values) are kept once.

    Examples
    --------
    >>> import os, pathlib
    >>> folder = pathlib.Path(os.environ.get("EVALGAP_DATA_DIR", "../shared/data")) / "gsm1k-2024"
    >>> table = read_gsm1k(folder) if folder.exists() else None
    >>> table is None or list(table.columns) == ["model", "gap", "loglik"]
    True
    """
    folder = Path(folder)
    gaps = read_two_columns(folder / "scale_diff.csv", "gap")
    signal = read_two_columns(folder / "averages.tsv", "loglik")
    merged = gaps.merge(signal, on="model", how="inner")
    return merged.sort_values("model", kind="stable").reset_index(drop=True)


def read_two_columns(path: str | PathLike[str], name: str) -> pd.DataFrame:
    """A two-column file ``model, value`` (CSV, or TSV for ``.tsv``/``.tab``), with or
    without a header, as a table ``model, <name>``. Rows repeated with the same value are
    kept once; a model with two different values is an error.

    Raises
    ------
    InputError
        Unreadable file, not two columns, a value that is not a number.
    """
    path = Path(path)
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        frame = pd.read_csv(path, sep=sep, header=None, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the file ({exc})", source=path) from None
    if frame.shape[1] != 2:
        raise InputError(f"expected two columns (model, {name}), got {frame.shape[1]}", source=path)
    frame.columns = ["model", name]
    values = pd.to_numeric(frame[name].str.strip(), errors="coerce")
    start = 0
    if len(frame) and np.isnan(values.iloc[0]):
        start = 1  # a header row
    frame, values = frame.iloc[start:], values.iloc[start:]
    bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float)))
    if len(bad):
        raise InputError(
            f"expected a number in the second column, got {frame[name].iloc[bad[0]]!r}",
            source=path,
            where=f"line {bad[0] + start + 1}",
        )
    out = pd.DataFrame({"model": frame["model"].str.strip(), name: values.astype(float)})
    out = out.drop_duplicates().reset_index(drop=True)
    clash = out["model"].duplicated()
    if clash.any():
        raise InputError(
            f"model {out['model'][clash].iloc[0]!r} appears with different values", source=path
        )
    if out.empty:
        raise InputError("no rows", source=path)
    return out
