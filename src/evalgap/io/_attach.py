"""Attaching a user's own benchmark scores to a reference panel.

A benchmark author scored their new benchmark on some models with their own harness. The
reference panel supplies the capability benchmarks for the same models: evalgap matches
the user's model names to the panel's (:func:`~evalgap.io._matching.match_models`), adds the
user's benchmarks as new columns, and the audit then measures them against the panel's
capabilities score and training FLOP exactly as it measures the panel's own benchmarks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalgap.data._panel import Panel
from evalgap.errors import AnalysisError, InputError
from evalgap.io._detect import ImportResult, import_results
from evalgap.io._frames import file_sha256
from evalgap.io._matching import MatchResult, match_models

__all__ = ["AttachResult", "attach_scores"]

_Path = str | PathLike[str]

#: Prefix given to a user benchmark whose id is already a panel benchmark.
CLASH_PREFIX = "user:"


@dataclass(frozen=True)
class AttachResult:
    """A panel with the user's benchmarks added, and how the user's models matched.

    Attributes
    ----------
    panel
        The reference panel plus one column per user benchmark (NaN for panel models the
        user did not score). Unmatched and ambiguous user models are left out.
    benchmarks
        The ids the user's benchmarks have in ``panel``.
    matching
        One row per user model: matched panel model, confidence, status, rule.
    imported
        What was read, when the scores came from files.
    """

    panel: Panel
    benchmarks: list[str]
    matching: MatchResult
    imported: ImportResult | None = None

    @property
    def table(self) -> pd.DataFrame:
        """The matching table: one row per user model."""
        return self.matching.table

    def summary(self) -> dict[str, Any]:
        """Counts and names for a report: models read, matched, unmatched, ambiguous."""
        table = self.matching.table
        return {
            "panel": self.matching.panel,
            "benchmarks": list(self.benchmarks),
            "n_models": len(table),
            "n_matched": len(self.matching.matched),
            "unmatched": self.matching.unmatched,
            "ambiguous": {
                r.user_model: r.candidates for r in table.itertuples() if r.status == "ambiguous"
            },
            "matched": {
                r.user_model: {"panel_model": r.panel_model, "confidence": r.confidence}
                for r in table.itertuples()
                if r.status == "matched"
            },
        }


def _user_frames(
    scores: ImportResult | pd.DataFrame | _Path | Sequence[_Path],
    metric: str | Mapping[str, str] | Sequence[str] | None,
) -> tuple[pd.DataFrame, pd.DataFrame, ImportResult | None, dict[str, str]]:
    """(wide scores, benchmark info, import result, file hashes)."""
    if isinstance(scores, pd.DataFrame):
        info = pd.DataFrame(index=pd.Index(scores.columns, name="benchmark"))
        return scores, info, None, {}
    imported = (
        scores
        if isinstance(scores, ImportResult)
        else import_results(
            [scores] if isinstance(scores, str | PathLike) else list(scores), metric=metric
        )
    )
    info = imported.benchmarks.set_index("benchmark")[["metric", "higher_is_better"]].copy()
    sources = sorted({str(s) for s in imported.read["source"] if Path(str(s)).is_file()})
    hashes = {s: file_sha256(s) for s in sources}
    return imported.wide(), info, imported, hashes


def attach_scores(
    panel: Panel,
    scores: ImportResult | pd.DataFrame | _Path | Sequence[_Path],
    *,
    model_map: _Path | Mapping[str, str] | None = None,
    metric: str | Mapping[str, str] | Sequence[str] | None = None,
    benchmark_info: pd.DataFrame | None = None,
) -> AttachResult:
    """Add a user's benchmark scores to a reference panel, matching models by name.

    Parameters
    ----------
    panel
        The reference panel (its capability benchmarks and FLOP are used).
    scores
        Harness outputs or score tables (paths, read with
        :func:`~evalgap.io.import_results`), an :class:`~evalgap.io.ImportResult`, or a
        wide DataFrame indexed by the user's model names.
    model_map
        ``{user model: panel model}`` or a CSV with columns ``user_model, panel_model``
        that overrides name matching.
    metric
        The headline metric per benchmark, as in :func:`~evalgap.io.import_results`.
    benchmark_info
        Optional metadata for the user's benchmarks (index: benchmark id; columns
        ``name, metric, higher_is_better, orientation, area``).

    Returns
    -------
    AttachResult

    Raises
    ------
    AnalysisError
        When none of the user's models matches a panel model.

    Examples
    --------
    >>> import pandas as pd
    >>> from evalgap import load_panel, attach_scores, audit
    >>> mine = pd.DataFrame({"my_bench": [0.2, 0.4, 0.5, 0.6, 0.9]},
    ...     index=["meta-llama/Llama-2-7b-chat-hf", "Qwen/Qwen1.5-7B-Chat",
    ...            "google/gemma-1.1-7b-it", "01-ai/Yi-34B-Chat", "databricks/dbrx-instruct"])
    >>> attached = attach_scores(load_panel("safetywashing-2024:chat"), mine)  # doctest: +SKIP
    >>> audit(attached.panel, benchmarks=attached.benchmarks).table  # doctest: +SKIP
    """
    wide, info, imported, hashes = _user_frames(scores, metric)
    if wide.empty or wide.shape[1] == 0:
        raise InputError("no benchmark scores to attach", source="scores")
    matching = match_models(list(wide.index), panel, model_map=model_map)
    mapping = matching.mapping
    if not mapping:
        raise AnalysisError(
            f"none of your {len(wide)} models matched a model of the panel "
            f"({matching.panel or panel.source}); name them in a model map "
            "(--model-map FILE with columns user_model,panel_model)",
            source="model matching",
        )
    kept = wide.loc[list(mapping)]
    kept.index = pd.Index([mapping[m] for m in kept.index], name="model", dtype=object)
    ids = {b: (f"{CLASH_PREFIX}{b}" if b in panel.scores.columns else str(b)) for b in wide.columns}
    user = kept.rename(columns=ids).reindex(panel.scores.index)

    meta = pd.DataFrame(index=pd.Index(list(ids.values()), name="benchmark", dtype=object))
    meta["name"] = [str(b) for b in ids]
    meta["metric"] = [_get(info, b, "metric", "") for b in ids]
    meta["higher_is_better"] = [
        True if pd.isna(v := _get(info, b, "higher_is_better", np.nan)) else bool(v) for b in ids
    ]
    meta["role"] = "safety"
    meta["area"] = "user benchmark"
    if benchmark_info is not None:
        # A benchmark-info file holds text ("True", "false"); Panel.from_frames parses it.
        meta = meta.astype(object)
        for original, new in ids.items():
            for key in benchmark_info.index.intersection([original, new]):
                for col in ("name", "metric", "higher_is_better", "orientation", "area"):
                    value = benchmark_info.loc[key].get(col)
                    if value is not None and not (isinstance(value, float) and np.isnan(value)):
                        meta.loc[new, col] = value

    scores_all = pd.concat([panel.scores, user], axis=1)
    bench_all = pd.concat([panel.benchmarks, meta.reindex(columns=panel.benchmarks.columns)])
    merged = Panel.from_frames(
        scores_all,
        bench_all,
        panel.models,
        source=panel.source,
        files={**panel.files, **hashes},
        capabilities=panel.default_capabilities,
    )
    return AttachResult(
        panel=merged,
        benchmarks=list(ids.values()),
        matching=matching,
        imported=imported,
    )


def _get(info: pd.DataFrame, bench: Any, col: str, default: Any) -> Any:
    if bench in info.index and col in info.columns:
        value = info.loc[bench, col]
        return default if value is None else value
    return default
