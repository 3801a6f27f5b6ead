"""Stanford HELM run folders: ``run_spec.json``, ``stats.json``, ``per_instance_stats.json``.

A run folder (``benchmark_output/runs/<suite>/<run name>/``) holds one model on one
scenario. evalgap reads:

- ``run_spec.json``: the run's name, the model (``adapter_spec.model``) and the scenario's
  run groups;
- ``stats.json``: one aggregate statistic per metric, split, sub-split and perturbation.
  Only the plain statistics of one split are kept: perturbed (robustness, fairness) and
  sub-split statistics are skipped, and so are bookkeeping statistics (token counts,
  runtimes, finish reasons);
- ``per_instance_stats.json`` (streamed): per-instance statistics, averaged over train
  trials, without perturbations;
- ``schema.json`` in the suite folder (beside the run folders) or the one above it: each run
  group's headline metric and split (``environment.main_name`` / ``main_split``).

Without a ``schema.json`` HELM declares no headline, and the import asks for ``--metric``.
HELM reports no standard error; evalgap computes one from the per-instance values
(``sd / sqrt(n)``, ``ddof=1``) where they are present.

The benchmark id is the run name without its ``model=`` and ``model_deployment=``
arguments (``bbq:subject=all,method=multiple_choice_joint``); its alias is the scenario
name (``bbq``), which the import uses whenever it is unambiguous.
"""

from __future__ import annotations

import math
from os import PathLike
from pathlib import Path
from typing import Any

from evalgap.errors import InputError
from evalgap.io._records import SKIP_NOTE, MetricValue, Run, iter_json_array, load_json, to_float

__all__ = ["find_helm_schema", "is_helm_run", "read_helm_run"]

_Path = str | PathLike[str]
_BOOKKEEPING = {
    "batch_size",
    "inference_runtime",
    "inference_idealized_runtime",
    "inference_denoised_runtime",
    "prompt_truncated",
    "max_prob",
    "estimated_num_tokens_cost",
    "num_instances",
}
_BOOKKEEPING_PREFIXES = (
    "num_",
    "finish_reason_",
    "training_",
    "logprob",
    "perplexity",
    "bits_per_byte",
)
_SCHEMA_CACHE: dict[tuple[str, int, int], dict[str, tuple[str, str]]] = {}


def is_helm_run(folder: _Path) -> bool:
    """Whether ``folder`` is a HELM run folder (has ``run_spec.json`` and ``stats.json``)."""
    folder = Path(folder)
    return (folder / "run_spec.json").is_file() and (folder / "stats.json").is_file()


def find_helm_schema(run_folder: _Path) -> Path | None:
    """The ``schema.json`` that goes with a run folder: in its suite folder or the one
    above it; ``None`` if there is none."""
    folder = Path(run_folder)
    for parent in (folder.parent, folder.parent.parent):
        candidate = parent / "schema.json"
        if candidate.is_file():
            return candidate
    return None


def _main_metrics(schema_path: Path) -> dict[str, tuple[str, str]]:
    """run group -> (main metric name, main split), from a HELM schema.json."""
    st = schema_path.stat()
    key = (str(schema_path.resolve()), st.st_mtime_ns, st.st_size)
    if key in _SCHEMA_CACHE:
        return _SCHEMA_CACHE[key]
    data = load_json(schema_path, what="HELM schema")
    groups = data.get("run_groups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        raise InputError("expected a 'run_groups' list", source=schema_path)
    out: dict[str, tuple[str, str]] = {}
    for group in groups:
        if not isinstance(group, dict):
            continue
        env = group.get("environment") if isinstance(group.get("environment"), dict) else {}
        main = env.get("main_name")
        if isinstance(group.get("name"), str) and isinstance(main, str) and main:
            out[group["name"]] = (main, str(env.get("main_split") or "test"))
    _SCHEMA_CACHE[key] = out
    return out


def _is_bookkeeping(name: str) -> bool:
    return name in _BOOKKEEPING or name.startswith(_BOOKKEEPING_PREFIXES)


def _benchmark_id(name: str) -> tuple[str, str]:
    """(id without model arguments, scenario name)."""
    scenario, _, args = name.partition(":")
    kept = [a for a in args.split(",") if a and not a.startswith(("model=", "model_deployment="))]
    return (f"{scenario}:{','.join(kept)}" if kept else scenario), scenario


def read_helm_run(folder: _Path, *, schema: _Path | None = None) -> tuple[list[Run], list[str]]:
    """Read one HELM run folder into one run: its model on its scenario.

    Parameters
    ----------
    folder
        The run folder (holding ``run_spec.json`` and ``stats.json``).
    schema
        The suite's ``schema.json``; by default looked for beside the run folder and one
        level up (:func:`find_helm_schema`).

    Returns
    -------
    runs, notes
        The run (every plain metric of the main split, per-instance scores where
        ``per_instance_stats.json`` has them) and remarks for the import report.

    Raises
    ------
    InputError
        Missing or invalid ``run_spec.json`` / ``stats.json``, no model in the run spec,
        a statistic that is not a number.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> run = pathlib.Path(tempfile.mkdtemp()) / "xstest:model=org_m"
    >>> run.mkdir()
    >>> _ = (run / "run_spec.json").write_text(json.dumps({"name": "xstest:model=org_m",
    ...     "adapter_spec": {"model": "org/m"}, "groups": ["xstest"]}))
    >>> _ = (run / "stats.json").write_text(json.dumps([{"name": {"name": "xst_score",
    ...     "split": "test"}, "count": 1, "mean": 0.9}]))
    >>> runs, _ = read_helm_run(run)
    >>> runs[0].model, runs[0].benchmark, runs[0].metrics["xst_score"].score
    ('org/m', 'xstest', 0.9)
    """
    folder = Path(folder)
    spec_path, stats_path = folder / "run_spec.json", folder / "stats.json"
    for needed in (spec_path, stats_path):
        if not needed.is_file():
            raise InputError(f"a HELM run folder needs {needed.name}", source=folder)
    spec = load_json(spec_path, what="HELM run spec")
    if not isinstance(spec, dict):
        raise InputError("expected an object", source=spec_path)
    name = spec.get("name") if isinstance(spec.get("name"), str) else folder.name
    adapter = spec.get("adapter_spec") if isinstance(spec.get("adapter_spec"), dict) else {}
    model = adapter.get("model") or adapter.get("model_deployment")
    if not isinstance(model, str) or not model.strip():
        raise InputError("no model in the run spec", source=spec_path, where="adapter_spec.model")
    bench, scenario = _benchmark_id(name)
    groups = [g for g in spec.get("groups") or [] if isinstance(g, str)] or [scenario]
    notes: list[str] = []

    declared, split, declared_by = None, None, ""
    schema_path = Path(schema) if schema is not None else find_helm_schema(folder)
    if schema_path is not None:
        mains = _main_metrics(schema_path)
        for group in groups:
            if group in mains:
                declared, split = mains[group]
                declared_by = f"declared in schema.json (run group {group!r})"
                break
    stats = load_json(stats_path, what="HELM stats file")
    if not isinstance(stats, list):
        raise InputError("expected a list of statistics", source=stats_path)
    plain: dict[str, dict[str, dict[str, Any]]] = {}  # split -> metric -> stat
    skipped_perturbed = 0
    for pos, stat in enumerate(stats):
        if not isinstance(stat, dict) or not isinstance(stat.get("name"), dict):
            raise InputError(
                "expected an object with a 'name' object", source=stats_path, where=f"element {pos}"
            )
        key = stat["name"]
        if key.get("perturbation") or key.get("sub_split"):
            skipped_perturbed += 1
            continue
        metric = key.get("name")
        if isinstance(metric, str):
            plain.setdefault(str(key.get("split") or ""), {})[metric] = stat
    if split is None or split not in plain:
        split = next((s for s in ("test", "valid", "") if s in plain), None)
        if split is None and plain:
            split = next(iter(plain))
    chosen = plain.get(split or "", {}) if split is not None else {}
    n_inst = to_float((chosen.get("num_instances") or {}).get("mean"))

    metrics: dict[str, MetricValue] = {}
    for metric, stat in chosen.items():
        if _is_bookkeeping(metric) or not stat.get("count"):
            continue
        value = to_float(stat.get("mean"))
        if value is None:
            raise InputError(
                f"expected a number, got {stat.get('mean')!r}",
                source=stats_path,
                where=f"statistic {metric!r}, 'mean'",
            )
        if math.isnan(value):
            continue
        metrics[metric] = MetricValue(score=value, n=n_inst if n_inst is not None else math.nan)
    if declared is not None and declared not in metrics:
        notes.append(f"schema.json names {declared!r}, which stats.json does not have")
        declared, declared_by = None, ""
    if skipped_perturbed:
        notes.append(f"{SKIP_NOTE}perturbation and sub-split statistics")

    items = _per_instance(folder / "per_instance_stats.json", split or "", set(metrics))
    final: dict[str, list[tuple[str, float]]] = {}
    for metric, agg in metrics.items():
        found = items.get(metric)
        if found is None:
            # Some metrics (BBQ's bbq_accuracy) exist only in aggregate: use a per-instance
            # statistic whose mean equals the aggregate exactly, and say so.
            for other in ("exact_match", "quasi_exact_match", *sorted(items)):
                cand = items.get(other)
                if cand and math.isclose(
                    sum(v for _, v in cand) / len(cand), agg.score, abs_tol=1e-9
                ):
                    found = cand
                    if metric == declared:
                        notes.append(
                            f"per-item scores for {metric} are {other}'s, whose per-item mean "
                            "equals it"
                        )
                    break
        if found:
            final[metric] = found
            vals = [v for _, v in found]
            if len(vals) > 1:
                mean = sum(vals) / len(vals)
                sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
                metrics[metric] = MetricValue(
                    agg.score, sd / math.sqrt(len(vals)), float(len(vals)), None
                )
    if split and split != "test":
        notes.append(f"statistics of split {split!r}")
    run = Run(
        model=model.strip(),
        benchmark=bench,
        source=str(folder),
        format="helm",
        metrics=metrics,
        declared=declared,
        declared_by=declared_by,
        items=final,
        notes=notes,
        alias=scenario,
    )
    if not metrics:
        return [], [*notes, "no score statistics in stats.json"]
    return [run], notes


def _per_instance(path: Path, split: str, wanted: set[str]) -> dict[str, list[tuple[str, float]]]:
    """metric -> [(instance id, mean over train trials)], streamed from the file."""
    if not path.is_file() or not wanted:
        return {}
    values: dict[str, dict[str, list[float]]] = {}
    order: dict[str, None] = {}

    def take(pos: int, entry: Any) -> None:
        if not isinstance(entry, dict):
            raise InputError("expected an object per instance", source=path, where=f"element {pos}")
        if entry.get("perturbation"):
            return
        iid = str(entry.get("instance_id", pos))
        for stat in entry.get("stats") or []:
            if not isinstance(stat, dict) or not isinstance(stat.get("name"), dict):
                continue
            key = stat["name"]
            metric = key.get("name")
            if metric not in wanted or key.get("perturbation") or key.get("sub_split"):
                continue
            if str(key.get("split") or "") != split:
                continue
            value = to_float(stat.get("mean"))
            if value is None or math.isnan(value):
                continue
            order.setdefault(iid, None)
            values.setdefault(metric, {}).setdefault(iid, []).append(value)

    iter_json_array(path, take, what="HELM per-instance stats file")
    return {
        metric: [(iid, sum(v) / len(v)) for iid in order if (v := by_id.get(iid))]
        for metric, by_id in values.items()
    }
