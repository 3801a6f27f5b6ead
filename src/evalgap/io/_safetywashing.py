"""The Safetywashing release layout (Ren et al. 2024) and what each of its benchmarks measures."""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

import pandas as pd

from evalgap.data._hierarchy import hierarchy_table
from evalgap.data._orientation import orientation_of
from evalgap.data._panel import Panel
from evalgap.errors import InputError
from evalgap.io._frames import file_sha256, read_frame, to_number_column

__all__ = [
    "SAFETYWASHING_CAPABILITIES",
    "read_safetywashing",
    "safetywashing_area",
]

#: The 12 capability benchmarks of the paper's capabilities score.
SAFETYWASHING_CAPABILITIES = (
    "logiqa",
    "piqa",
    "hellaswag",
    "winogrande",
    "superglue_copa",
    "medqa_4options",
    "arc_challenge",
    "mmlu",
    "minerva_math",
    "lambada_openai",
    "gsm8k",
    "bbh",
)

# Trailing metadata columns of the release's score files.
_META_COLUMNS = ("model_size", "FLOP", "name", "type")

# (pattern, area, role) checked in order against each benchmark id. The area says what the
# benchmark measures, written from each benchmark's own paper. Columns that are not safety
# benchmarks at all (general NLU suites, game bookkeeping counts) get role "other" so that a
# capability test is never counted as a safetywashed safety benchmark; they are still audited.
_AREA_RULES: tuple[tuple[str, str, str], ...] = (
    (r"^truthfulqa_", "truthfulness", "safety"),
    (r"^halueval", "truthfulness", "safety"),
    (r"^ethics_", "machine_ethics", "safety"),
    (r"^(moralchoice|scruples|beavertails)$", "machine_ethics", "safety"),
    (r"^machiavelli-violations\.", "machine_ethics", "safety"),
    (r"^machiavelli-utility\.", "machine_ethics", "safety"),
    (r"^machiavelli-power\.", "power_seeking", "safety"),
    (r"^(advanced_ai_risk|persona)$", "power_seeking", "safety"),
    (r"^machiavelli-(points|achievements|game\.score)$", "general_capability", "other"),
    (r"^machiavelli-(steps|samples|games)$", "bookkeeping", "other"),
    (
        r"^(bbq|bbq_amb|bbq_disamb|crows_pairs_english|simple_cooccurrence_bias|winogender|toxigen)$",
        "bias",
        "safety",
    ),
    (r"^discrim_eval", "bias", "safety"),
    (r"^(brier|rmsce)_", "calibration", "safety"),
    (r"^adv_", "adversarial_robustness", "safety"),
    (r"^decodingtrust_adv_", "adversarial_robustness", "safety"),
    (r"^anli$", "adversarial_robustness", "safety"),
    (r"^cyberseceval2_prompt_injection$", "adversarial_robustness", "safety"),
    (r"^harmbench-", "jailbreak_refusal", "safety"),
    (r"^cyberseceval2_mitre$", "jailbreak_refusal", "safety"),
    (r"^cyberseceval2_frr$", "over_refusal", "safety"),
    (r"^xstest$", "over_refusal", "safety"),
    (r"^wmdp", "weaponization", "safety"),
    (r"^cyberseceval2_(canary_exploit|instruct|autocomplete)$", "cybersecurity", "safety"),
    (r"^sycophancy$", "sycophancy", "safety"),
    (r"^(mt_bench|lmsys_chatbot_arena|alpaca-eval_win-rate|ifeval)$", "alignment", "safety"),
    (r"^rules_", "rule_following", "safety"),
    (r"^steer\d*$", "rationality", "safety"),
    (r"^safety_bench$", "safety_knowledge", "safety"),
    (r"^(glue|superglue)(_.*)?$", "general_capability", "other"),
    (r"^(drop_em|drop_f1|gpqa|mc_taco|scrolls_quality|eq_bench)$", "general_capability", "other"),
)

# Orientation of a column the package's table does not list: what the release states.
_RELEASE_ORIENTATION = (
    "Safetywashing release SOURCE.md: every metric oriented so that higher is better"
)

_FAMILY_RULES: tuple[tuple[str, str], ...] = (
    (r"^Llama-2", "Llama-2"),
    (r"^Meta-Llama-3", "Llama-3"),
    (r"^Mistral", "Mistral"),
    (r"^Mixtral", "Mixtral"),
    (r"^Qwen1\.5", "Qwen1.5"),
    (r"^Yi-", "Yi"),
    (r"^dbrx", "DBRX"),
    (r"^deepseek", "DeepSeek"),
    (r"^falcon", "Falcon"),
    (r"^gemma", "Gemma"),
)


def safetywashing_area(benchmark: str) -> tuple[str, str]:
    """The (area, role) of a Safetywashing-panel benchmark id.

    Capability benchmarks give ``("capability", "capability")``; ids no rule covers give
    ``("", "safety")``.

    Examples
    --------
    >>> safetywashing_area("wmdp_bio")
    ('weaponization', 'safety')
    """
    if benchmark in SAFETYWASHING_CAPABILITIES:
        return "capability", "capability"
    for pattern, area, role in _AREA_RULES:
        if re.search(pattern, benchmark, flags=re.IGNORECASE):
            return area, role
    return "", "safety"


def _family(model: str) -> str | None:
    for pattern, family in _FAMILY_RULES:
        if re.search(pattern, model):
            return family
    return None


def read_safetywashing(
    scores: str | PathLike[str],
    info: str | PathLike[str] | None = None,
    *,
    source: str | None = None,
) -> Panel:
    """Read a Safetywashing release score file (``benchmarks_*_models.csv``).

    The file has a ``model`` column, one column per benchmark, then ``model_size``,
    ``FLOP``, ``name`` and ``type``. The release says every metric is oriented so that
    higher is better or safer; for the benchmarks where its own definitions say otherwise
    (MACHIAVELLI's harm counts, discrim-eval's signed gaps, the co-occurrence bias gap)
    the package's orientation table (:func:`evalgap.data.orientation_table`) gives the
    transform and its source, and its hierarchy table each benchmark's parent
    aggregate. ``info`` is the release's ``benchmarks_info.csv`` (benchmark id, display
    name, metric).

    Examples
    --------
    >>> from evalgap.io import read_safetywashing
    >>> panel = read_safetywashing("benchmarks_chat_models.csv")  # doctest: +SKIP
    """
    scores = Path(scores)
    frame = read_frame(scores)
    header = [str(c).strip() for c in frame.columns]
    frame.columns = header
    if not header or header[0] != "model":
        raise InputError("expected the first column to be 'model'", source=scores, where="header")
    missing = [c for c in _META_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"not a Safetywashing score file: no {', '.join(repr(m) for m in missing)} column",
            source=scores,
            where="header",
        )
    bench_ids = [c for c in header[1:] if c not in _META_COLUMNS]
    numeric = {
        col: to_number_column(frame[col], source=scores, column=col)
        for col in [*bench_ids, "model_size", "FLOP"]
    }
    ids = frame["model"].astype(str).str.strip()
    score_frame = pd.DataFrame({b: numeric[b] for b in bench_ids})
    score_frame.index = pd.Index(ids.to_numpy(), name="model", dtype=object)

    models = pd.DataFrame(
        {
            "name": frame["name"].to_numpy(),
            "flop": numeric["FLOP"].to_numpy(),
            "params": numeric["model_size"].to_numpy(),
            "type": frame["type"].to_numpy(),
            "family": [_family(m) for m in ids],
        },
        index=score_frame.index,
    )

    names: dict[str, str] = {}
    metrics: dict[str, str] = {}
    files = {str(scores): file_sha256(scores)}
    if info is not None:
        info = Path(info)
        table = read_frame(info)
        table.columns = [str(c).strip() for c in table.columns]
        if "benchmark" not in table.columns:
            raise InputError("expected a 'benchmark' column", source=info, where="header")
        for _, row in table.iterrows():
            bid = str(row["benchmark"]).strip()
            if row.get("name"):
                names[bid] = str(row["name"])
            if row.get("metric"):
                metrics[bid] = str(row["metric"])
        files[str(info)] = file_sha256(info)

    areas = [safetywashing_area(b) for b in bench_ids]
    known = orientation_of(bench_ids)
    hierarchy = hierarchy_table()
    benchmarks = pd.DataFrame(
        {
            "name": [names.get(b, b) for b in bench_ids],
            "metric": [metrics.get(b, "") for b in bench_ids],
            "role": [role for _, role in areas],
            "area": [area for area, _ in areas],
            "orientation": [known[b].transform if b in known else "higher" for b in bench_ids],
            "orientation_source": [
                known[b].source if b in known else _RELEASE_ORIENTATION for b in bench_ids
            ],
            "parent": [
                hierarchy.at[b, "parent"] if b in hierarchy.index else "" for b in bench_ids
            ],
        },
        index=pd.Index(bench_ids, name="benchmark"),
    )
    return Panel.from_frames(
        score_frame,
        benchmarks,
        models,
        source=source or str(scores),
        files=files,
        capabilities=[c for c in SAFETYWASHING_CAPABILITIES if c in bench_ids],
    )
