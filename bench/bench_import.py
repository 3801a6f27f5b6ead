"""Benchmark: import a folder of 1,000 lm-evaluation-harness result files.

Each file has the shape lm-eval 0.4.x writes for an MMLU run plus a few single tasks
(about 95 KB, like the real 0.4.3 files in ``shared/data/harness-outputs/lm-eval``):
``results`` with the ``mmlu`` group, its 4 sub-groups and 57 subjects, ARC, HellaSwag
and TruthfulQA; ``groups``, ``group_subtasks``, ``configs`` (the bulk of the bytes),
``versions``, ``n-shot``, ``higher_is_better``, ``n-samples``, ``config`` and the model
name. Files sit in ``<org>__<model>/results_<time>.json`` folders as lm-eval lays them out.

Prints the wall time of :func:`evalgap.io.import_results` on the folder (best of
``--repeat``), files per second, and peak memory (tracemalloc, in a separate run, and the
process's max RSS). The target is under 10 s for 1,000 files.

    python bench/bench_import.py [--files 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from evalgap.io import import_results

SUBJECTS = {
    "stem": ["abstract_algebra", "anatomy", "astronomy", "college_biology", "college_chemistry",
             "college_computer_science", "college_mathematics", "college_physics",
             "computer_security", "conceptual_physics", "electrical_engineering",
             "elementary_mathematics", "high_school_biology", "high_school_chemistry",
             "high_school_computer_science", "high_school_mathematics", "high_school_physics",
             "high_school_statistics", "machine_learning"],
    "humanities": ["formal_logic", "high_school_european_history", "high_school_us_history",
                   "high_school_world_history", "international_law", "jurisprudence",
                   "logical_fallacies", "moral_disputes", "moral_scenarios", "philosophy",
                   "prehistory", "professional_law", "world_religions"],
    "social_sciences": ["econometrics", "high_school_geography",
                        "high_school_government_and_politics", "high_school_macroeconomics",
                        "high_school_microeconomics", "high_school_psychology", "human_sexuality",
                        "professional_psychology", "public_relations", "security_studies",
                        "sociology", "us_foreign_policy"],
    "other": ["business_ethics", "clinical_knowledge", "college_medicine", "global_facts",
              "human_aging", "management", "marketing", "medical_genetics", "miscellaneous",
              "nutrition", "professional_accounting", "professional_medicine", "virology"],
}  # fmt: skip
SINGLE = {
    "arc_challenge": ("acc", "acc_norm"),
    "hellaswag": ("acc", "acc_norm"),
    "truthfulqa_mc2": ("acc",),
}


def _config(task: str, group: str | None) -> dict:
    return {
        "task": task,
        "group": group,
        "dataset_path": "hails/mmlu_no_train" if group else f"org/{task}",
        "dataset_name": task,
        "test_split": "test",
        "fewshot_split": "dev",
        "doc_to_text": "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\n"
        "C. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:",
        "doc_to_target": "answer",
        "doc_to_choice": ["A", "B", "C", "D"],
        "description": f"The following are multiple choice questions (with answers) about {task}.\n\n",
        "target_delimiter": " ",
        "fewshot_delimiter": "\n\n",
        "num_fewshot": 5,
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        "output_type": "multiple_choice",
        "repeats": 1,
        "should_decontaminate": False,
        "metadata": {"version": 0.0},
    }


def make_results(model: str, rng: random.Random) -> dict:
    results: dict[str, dict] = {}
    configs: dict[str, dict] = {}
    n_samples: dict[str, dict] = {}
    group_subtasks: dict[str, list[str]] = {"mmlu": [f"mmlu_{g}" for g in SUBJECTS]}
    skill = rng.uniform(0.25, 0.8)
    for group, subjects in SUBJECTS.items():
        names = [f"mmlu_{s}" for s in subjects]
        group_subtasks[f"mmlu_{group}"] = names
        for name in names:
            acc = min(1.0, max(0.0, skill + rng.gauss(0, 0.08)))
            results[name] = {"alias": f"  - {name[5:]}", "acc,none": acc, "acc_stderr,none": 0.04}
            configs[name] = _config(name, f"mmlu_{group}")
            n = rng.randint(100, 1500)
            n_samples[name] = {"original": n, "effective": n}
        results[f"mmlu_{group}"] = {
            "alias": f" - {group}",
            "acc,none": skill,
            "acc_stderr,none": 0.008,
        }
    results["mmlu"] = {"alias": "mmlu", "acc,none": skill, "acc_stderr,none": 0.004}
    for task, metrics in SINGLE.items():
        entry: dict[str, object] = {"alias": task}
        for metric in metrics:
            entry[f"{metric},none"] = min(1.0, skill + rng.gauss(0.05, 0.05))
            entry[f"{metric}_stderr,none"] = "N/A" if task == "truthfulqa_mc2" else 0.01
        results[task] = entry
        configs[task] = _config(task, None)
        n_samples[task] = {"original": 1172, "effective": 1172}
        group_subtasks[task] = []
    groups = {g: results[g] for g in ("mmlu", *(f"mmlu_{g}" for g in SUBJECTS))}
    return {
        "results": results,
        "groups": groups,
        "group_subtasks": group_subtasks,
        "configs": configs,
        "versions": dict.fromkeys(results, 1.0),
        "n-shot": dict.fromkeys(results, 5),
        "higher_is_better": {
            t: {m.split(",")[0]: True for m in v if "," in m and "stderr" not in m}
            for t, v in results.items()
        },
        "n-samples": n_samples,
        "config": {
            "model": "hf",
            "model_args": f"pretrained={model},dtype=bfloat16",
            "batch_size": "8",
            "limit": None,
        },
        "git_hash": "d825fd4",
        "date": 1741288279.9 + rng.uniform(0, 1e6),
        "model_source": "hf",
        "model_name": model,
        "model_name_sanitized": model.replace("/", "__"),
        "total_evaluation_time_seconds": "537.5",
    }


def build(folder: Path, n_files: int) -> int:
    rng = random.Random(0)
    total = 0
    for i in range(n_files):
        model = f"org{i % 37}/model-{i:04d}-{rng.choice(['7b', '13b', '70b'])}"
        sub = folder / model.replace("/", "__")
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"results_2025-03-06T19-20-{i % 60:02d}.{i:06d}.json"
        text = json.dumps(make_results(model, rng), indent=2)
        path.write_text(text)
        total += len(text)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "lm-eval-results"
        size = build(folder, args.files)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = import_results(folder)
            times.append(time.perf_counter() - start)
        assert len(result.records) == args.files * 4, result.records.shape
        tracemalloc.start()
        import_results(folder)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best = min(times)
    print(f"evalgap import: {args.files} lm-eval results files, {size / 2**20:.0f} MiB of JSON")
    print(
        f"  records: {len(result.records)} (mmlu + 3 tasks per model; {57 + 4} subtasks each left out)"
    )
    print(f"  wall time: best {best:.2f} s, all {', '.join(f'{t:.2f}' for t in times)} s")
    print(f"  throughput: {args.files / best:.0f} files/s, {size / 2**20 / best:.0f} MiB/s")
    print(f"  peak memory: {peak / 2**20:.0f} MiB allocated during one import (tracemalloc), "
          f"{rss:.0f} MiB process max RSS")  # fmt: skip
    print(f"  target: under 10 s -> {'met' if best < 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
