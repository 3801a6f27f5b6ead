"""The ObsScaling release layout (Ruan, Maddison and Hashimoto 2024)."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import pandas as pd

from evalgap.data._panel import Panel
from evalgap.errors import InputError
from evalgap.io._frames import file_sha256, read_frame, to_number_column

__all__ = ["OBSSCALING_NON_CAPABILITY", "read_obsscaling"]

_META = {
    "Model Family": "family",
    "Model Size (B)": "params",
    "Pretraining Data Size (T)": "data_tokens",
    "FLOPs (1E21)": "flop",
}

#: Benchmarks of the ObsScaling files that are not capability tests, with their area.
OBSSCALING_NON_CAPABILITY = {
    "TruthfulQA": "truthfulness",
    "Arena-Elo": "alignment",
    "MTBench": "alignment",
}


def read_obsscaling(
    path: str | PathLike[str], *, model_type: str | None = None, source: str | None = None
) -> Panel:
    """Read an ObsScaling ``*_llm_benchmark_eval.csv`` file.

    Model size is converted from billions of parameters and FLOPs from units of 1e21 to
    plain counts. TruthfulQA, Arena-Elo and MTBench are marked as safety benchmarks
    (truthfulness, alignment) and every other benchmark as a capability; empty cells are
    missing scores.
    """
    path = Path(path)
    frame = read_frame(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    if not len(frame.columns) or frame.columns[0] != "Model":
        raise InputError("expected the first column to be 'Model'", source=path, where="header")
    bench_ids = [c for c in frame.columns[1:] if c not in _META]
    if not bench_ids:
        raise InputError("no benchmark columns", source=path, where="header")
    ids = frame["Model"].astype(str).str.strip()
    scores = pd.DataFrame({b: to_number_column(frame[b], source=path, column=b) for b in bench_ids})
    scores.index = pd.Index(ids.to_numpy(), name="model", dtype=object)

    def meta(col: str, scale: float = 1.0) -> list[float]:
        if col not in frame.columns:
            return [float("nan")] * len(frame)
        return list(to_number_column(frame[col], source=path, column=col).to_numpy() * scale)

    models = pd.DataFrame(
        {
            "name": ids.to_numpy(),
            "flop": meta("FLOPs (1E21)", 1e21),
            "params": meta("Model Size (B)", 1e9),
            "type": model_type,
            "family": frame["Model Family"].to_numpy() if "Model Family" in frame else None,
            "data_tokens": meta("Pretraining Data Size (T)", 1e12),
        },
        index=scores.index,
    )
    benchmarks = pd.DataFrame(
        {
            "name": bench_ids,
            "metric": "accuracy (fraction)",
            "higher_is_better": True,
            "role": [
                "safety" if b in OBSSCALING_NON_CAPABILITY else "capability" for b in bench_ids
            ],
            "area": [OBSSCALING_NON_CAPABILITY.get(b, "capability") for b in bench_ids],
        },
        index=pd.Index(bench_ids, name="benchmark"),
    )
    for b, label in (("Arena-Elo", "Elo (normalised)"), ("MTBench", "score (normalised)")):
        if b in benchmarks.index:
            benchmarks.loc[b, "metric"] = label
    return Panel.from_frames(
        scores,
        benchmarks,
        models,
        source=source or str(path),
        files={str(path): file_sha256(path)},
    )
