"""EleutherAI lm-evaluation-harness outputs: ``results*.json`` and ``samples_*.jsonl``.

Handles the shapes written by lm-eval 0.4.0 to current:

- metric keys ``"metric,filter"`` and stderr keys ``"metric_stderr,filter"`` (a stderr may
  be the string ``"N/A"``); the pre-0.4 plain ``"acc"`` / ``"acc_stderr"`` keys too;
- groups, found in ``results`` and ``groups`` and tied to their tasks by
  ``group_subtasks`` (or, in older files, by each task config's ``group``);
- the model named by ``model_name`` or else by ``config.model_args`` (a ``k=v,k=v``
  string or a dict; ``peft``, ``delta``, ``pretrained``, ``model``, ``path``, ``engine``
  in that order, as lm-eval itself does);
- per-sample files ``samples_<task>_<time>.jsonl`` (or a ``.json`` array), paired with
  the results file of the same time stamp in the same folder.

Metric names drop the ``none`` filter: ``acc,none`` is ``acc``, ``exact_match,strict-match``
stays as it is. lm-eval declares no headline metric; :data:`LMEVAL_PREFERENCE` is the
documented default order (see :func:`evalgap.io.import_results`).
"""

from __future__ import annotations

import math
import re
from os import PathLike
from pathlib import Path
from typing import Any

from evalgap.errors import InputError
from evalgap.io._records import (
    SKIP_NOTE,
    MetricValue,
    Run,
    iter_json_array,
    iter_jsonl,
    load_json,
    parse_time,
    to_float,
)

__all__ = ["LMEVAL_PREFERENCE", "is_lmeval_results", "read_lmeval", "read_lmeval_samples"]

#: When a task reports several metrics and nobody chose one, the first of these that the
#: task has is its headline (acc_norm before acc, as the Open LLM Leaderboard v1 and the
#: Safetywashing paper report ARC and HellaSwag). A task with none of these and more than
#: one metric is flagged as ambiguous in the import report.
LMEVAL_PREFERENCE = (
    "acc_norm",
    "acc",
    "exact_match",
    "mc2",
    "mc1",
    "f1",
    "em",
    "pass@1",
    "mcc",
    "bleu",
    "rougeL",
)

_MODEL_ARG_KEYS = ("peft", "delta", "pretrained", "model", "path", "engine")
_SKIP_KEYS = {"alias", "name", "sample_len", "sample_count", "samples", " ", ""}
_SAMPLES_NAME = re.compile(r"^samples_(?P<task>.+)_(?P<stamp>\d{4}-\d{2}-\d{2}T[\d\-.:]+)\.jsonl?$")
_RESULTS_NAME = re.compile(r"^results(?:_(?P<stamp>\d{4}-\d{2}-\d{2}T[\d\-.:]+))?.*\.json$")

_Path = str | PathLike[str]


def metric_label(key: str) -> tuple[str, str]:
    """``("acc", "none")`` from ``"acc,none"``; ``(key, "none")`` for an old plain key."""
    base, _, filt = key.partition(",")
    return base, (filt or "none")


def _label(base: str, filt: str) -> str:
    return base if filt == "none" else f"{base},{filt}"


def is_lmeval_results(data: Any) -> bool:
    """Whether a parsed JSON document looks like an lm-eval results file."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("results"), dict)
        and any(k in data for k in ("versions", "configs", "config", "n-shot", "higher_is_better"))
    )


def _model_from_args(args: Any) -> str | None:
    if isinstance(args, dict):
        for key in _MODEL_ARG_KEYS:
            if args.get(key):
                return str(args[key]).strip()
        return None
    if isinstance(args, str):
        pairs = {}
        for part in args.split(","):
            key, sep, value = part.partition("=")
            if sep:
                pairs[key.strip()] = value.strip()
        for key in _MODEL_ARG_KEYS:
            if pairs.get(key):
                return pairs[key]
    return None


def _model_of(data: dict[str, Any], path: Path, notes: list[str]) -> str:
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    from_args = _model_from_args(config.get("model_args"))
    name = data.get("model_name")
    name = str(name).strip() if isinstance(name, str) and name.strip() else None
    if name and from_args and name != from_args:
        notes.append(
            f"model_name {name!r} differs from config.model_args {from_args!r} "
            "(mixed models in one file?); used model_name"
        )
    model = name or from_args
    if not model:
        kind = config.get("model")
        if isinstance(kind, str) and kind:
            model = kind
            notes.append(f"no model name in the file; named after the model type {kind!r}")
        else:
            raise InputError(
                "no model name (neither model_name nor config.model_args)",
                source=path,
                where="config",
            )
    return model


def _groups(data: dict[str, Any]) -> tuple[dict[str, list[str]], set[str]]:
    """(group -> member tasks, set of every task that is a member of some group)."""
    members: dict[str, list[str]] = {}
    raw = data.get("group_subtasks")
    if isinstance(raw, dict):
        for group, subs in raw.items():
            if isinstance(subs, list) and subs:
                members[str(group)] = [str(s) for s in subs]
    else:
        # lm-eval 0.4.0/0.4.1: each task config names its group.
        configs = data.get("configs") if isinstance(data.get("configs"), dict) else {}
        for task, cfg in configs.items():
            if not isinstance(cfg, dict):
                continue
            group = cfg.get("group")
            for g in group if isinstance(group, list) else [group]:
                if isinstance(g, str) and g and g != task:
                    members.setdefault(g, []).append(str(task))
    inside = {t for subs in members.values() for t in subs}
    return members, inside


def read_lmeval(path: _Path, *, subtasks: bool = False) -> tuple[list[Run], list[str]]:
    """Read one lm-eval ``results*.json`` file into runs, one per task or group.

    Parameters
    ----------
    path
        The results file.
    subtasks
        Keep the tasks that are members of a group in the same file (MMLU's 57
        subjects). By default only top-level tasks and groups are kept, and the report
        says how many subtasks were left out.

    Returns
    -------
    runs, notes
        The runs, and remarks about the file as a whole (subtasks left out, mixed names).

    Raises
    ------
    InputError
        Not an lm-eval results file, invalid JSON, no model name, a score that is not a
        number.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "results_2024-01-01T00-00-00.json"
    >>> _ = p.write_text(json.dumps({"results": {"truthfulqa_mc2": {"acc,none": 0.41,
    ...     "acc_stderr,none": "N/A"}}, "config": {"model_args": "pretrained=org/m-7b"}}))
    >>> runs, _ = read_lmeval(p)
    >>> runs[0].model, runs[0].benchmark, runs[0].metrics["acc"].score
    ('org/m-7b', 'truthfulqa_mc2', 0.41)
    """
    path = Path(path)
    data = load_json(path, what="lm-eval results file")
    if not is_lmeval_results(data):
        raise InputError(
            "not an lm-eval results file (no 'results' object with 'versions' or 'config')",
            source=path,
        )
    file_notes: list[str] = []
    model = _model_of(data, path, file_notes)
    stamp = parse_time(data.get("date"))
    if stamp is None:
        m = _RESULTS_NAME.match(path.name)
        stamp = parse_time(m.group("stamp")) if m and m.group("stamp") else None
    results: dict[str, Any] = dict(data["results"])
    groups_section = data.get("groups") if isinstance(data.get("groups"), dict) else {}
    for g, vals in groups_section.items():
        results.setdefault(g, vals)
    members, inside = _groups(data)
    hib = data.get("higher_is_better") if isinstance(data.get("higher_is_better"), dict) else {}
    n_samples = data.get("n-samples") if isinstance(data.get("n-samples"), dict) else {}
    runs: list[Run] = []
    left_out: list[str] = []
    for task, values in results.items():
        if not isinstance(values, dict):
            raise InputError("expected an object of metrics", source=path, where=f"results.{task}")
        task = str(task)
        role = "group" if task in members or task in groups_section else "task"
        if task in inside:
            if not subtasks:
                left_out.append(task)
                continue
            role = "subtask" if role == "task" else role
        metrics, order = _task_metrics(values, hib.get(task), path, task)
        if not metrics:
            file_notes.append(f"{SKIP_NOTE}task {task!r} has no numeric metric")
            continue
        n = _count(task, n_samples, members, set())
        if not math.isnan(n):
            metrics = {
                k: MetricValue(v.score, v.stderr, n, v.higher_is_better) for k, v in metrics.items()
            }
        runs.append(
            Run(
                model=model,
                benchmark=task,
                source=str(path),
                format="lm-eval",
                metrics=metrics,
                timestamp=stamp,
                role=role,
                order=tuple(order),
                members=tuple(_leaves(task, members, set())) if task in members else (),
            )
        )
    if left_out:
        groups = sorted(
            {g for g, subs in members.items() if set(subs) & set(left_out) and g not in inside}
        )
        file_notes.append(
            f"{SKIP_NOTE}{len(left_out)} subtasks of group(s) {', '.join(groups) or '?'} left out "
            "(subtasks=True / --subtasks keeps them)"
        )
    return runs, file_notes


def _leaves(task: str, members: dict[str, list[str]], seen: set[str]) -> list[str]:
    """The tasks (not groups) inside a group, nested groups expanded, in file order."""
    if task not in members:
        return [task]
    if task in seen:
        return []
    seen.add(task)
    return [leaf for sub in members[task] for leaf in _leaves(sub, members, seen)]


def _count(
    task: str, n_samples: dict[str, Any], members: dict[str, list[str]], seen: set[str]
) -> float:
    """Documents evaluated for a task, or for a group the sum over its members."""
    ns = n_samples.get(task)
    if isinstance(ns, dict):
        eff = to_float(ns.get("effective"))
        if eff is not None:
            return eff
    if task in members and task not in seen:
        seen.add(task)
        counts = [_count(sub, n_samples, members, seen) for sub in members[task]]
        if counts and not any(math.isnan(c) for c in counts):
            return float(sum(counts))
    return math.nan


def _task_metrics(
    values: dict[str, Any], hib: Any, path: Path, task: str
) -> tuple[dict[str, MetricValue], list[str]]:
    scores: dict[tuple[str, str], float] = {}
    stderrs: dict[tuple[str, str], float] = {}
    order: list[tuple[str, str]] = []
    for key, raw in values.items():
        if key in _SKIP_KEYS or not isinstance(key, str):
            continue
        base, filt = metric_label(key)
        if isinstance(raw, dict | list):
            continue
        if base.endswith("_stderr"):
            value = to_float(raw)
            stderrs[(base[: -len("_stderr")], filt)] = math.nan if value is None else value
            continue
        value = to_float(raw)
        if value is None:
            raise InputError(
                f"expected a number, got {raw!r}", source=path, where=f"results.{task}.{key!r}"
            )
        if math.isnan(value):
            continue
        scores[(base, filt)] = value
        order.append((base, filt))
    hib_map = hib if isinstance(hib, dict) else {}
    metrics: dict[str, MetricValue] = {}
    for base, filt in order:
        flag = hib_map.get(base)
        metrics[_label(base, filt)] = MetricValue(
            score=scores[(base, filt)],
            stderr=stderrs.get((base, filt), math.nan),
            higher_is_better=flag if isinstance(flag, bool) else None,
        )
    return metrics, [_label(b, f) for b, f in order]


def samples_task(path: _Path) -> tuple[str, str] | None:
    """``(task, time stamp)`` from a ``samples_<task>_<time>.jsonl`` file name."""
    m = _SAMPLES_NAME.match(Path(path).name)
    return (m.group("task"), m.group("stamp")) if m else None


def read_lmeval_samples(
    path: _Path, metrics: list[str] | None = None
) -> dict[str, list[tuple[str, float]]]:
    """Per-item scores from an lm-eval samples file, by metric label (``acc``,
    ``exact_match,strict-match``).

    Each line (or array element) is one document with its ``doc_id``, the ``filter`` it
    was scored under (``none`` if absent) and one value per metric. Values that are not
    single numbers (corpus-level metrics such as BLEU keep tuples) are left out.

    Raises
    ------
    InputError
        A line that is not JSON or has no ``doc_id``, or the same document twice under
        one filter (two runs mixed in one file).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "samples_asdiv_2024-08-21T03-44-09.jsonl"
    >>> _ = p.write_text('{"doc_id": 0, "acc": 1}\\n{"doc_id": 1, "acc": 0}\\n')
    >>> read_lmeval_samples(p)["acc"]
    [('0', 1.0), ('1', 0.0)]
    """
    path = Path(path)
    out: dict[str, list[tuple[str, float]]] = {}
    seen: dict[tuple[str, str], str] = {}
    wanted = None if metrics is None else set(metrics)

    def handle(where: str, rec: Any) -> None:
        if not isinstance(rec, dict):
            raise InputError("expected an object per sample", source=path, where=where)
        if "doc_id" not in rec:
            raise InputError("sample has no 'doc_id'", source=path, where=where)
        doc = str(rec["doc_id"])
        filt = rec.get("filter") if isinstance(rec.get("filter"), str) else "none"
        names = rec.get("metrics") if isinstance(rec.get("metrics"), list) else None
        key = (doc, filt)
        if key in seen:
            raise InputError(
                f"doc_id {doc} appears twice under filter {filt!r} (first at {seen[key]}); "
                "two runs or models mixed in one file?",
                source=path,
                where=where,
            )
        seen[key] = where
        candidates = names if names is not None else [k for k in rec if k not in _SAMPLE_FIELDS]
        for base in candidates:
            value = rec.get(base)
            if isinstance(value, list | dict | str) or value is None:
                continue
            number = to_float(value)
            if number is None or math.isnan(number):
                continue
            label = _label(str(base), filt)
            if wanted is None or label in wanted:
                out.setdefault(label, []).append((doc, number))

    if path.suffix == ".jsonl":
        for lineno, rec in iter_jsonl(path):
            handle(f"line {lineno}", rec)
    else:  # a .json array, streamed element by element
        iter_json_array(
            path, lambda i, rec: handle(f"element {i}", rec), what="lm-eval samples file"
        )
    return out


_SAMPLE_FIELDS = {
    "doc_id",
    "doc",
    "target",
    "arguments",
    "resps",
    "filtered_resps",
    "filter",
    "metrics",
    "doc_hash",
    "prompt_hash",
    "target_hash",
}
