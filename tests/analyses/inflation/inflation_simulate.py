"""Per-item scores simulated from a known model of correctness, for the inflation tests.

Model m answers item i correctly with probability ``min(1, exp(-difficulty_i / skill_m))``;
a contaminated model has memorised a planted share of the benchmark's items and answers
those correctly whatever its skill. Expected inflation is therefore known exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def p_correct(difficulty: np.ndarray, skill: np.ndarray) -> np.ndarray:
    """(models, items) probability of a correct answer."""
    return np.minimum(1.0, np.exp(-difficulty[None, :] / skill[:, None]))


@dataclass(frozen=True)
class Simulated:
    records: pd.DataFrame  # model, benchmark, item, score
    references: list[str]
    clean: list[str]
    inflated: dict[str, float]  # model -> expected inflation (accuracy points, 0-1)


def simulate(
    rng: np.random.Generator,
    *,
    n_references: int = 20,
    n_clean: int = 10,
    inflation: tuple[float, ...] = (),
    n_items: int = 1000,
    n_items_ref: int = 1000,
) -> Simulated:
    """One data set: references and clean tested models with log-uniform skills, and one
    contaminated model per entry of ``inflation`` whose memorised share of D gives that
    expected inflation. D is harder than D_ref, so the relation is curved."""
    n_inflated = len(inflation)
    skills = np.exp(rng.uniform(np.log(0.15), np.log(4.0), n_references + n_clean + n_inflated))
    d_items = rng.gamma(2.0, 0.6, n_items)
    ref_items = rng.gamma(2.0, 0.35, n_items_ref)
    prob_d = p_correct(d_items, skills)
    prob_ref = p_correct(ref_items, skills)
    correct_d = rng.random(prob_d.shape) < prob_d
    correct_ref = rng.random(prob_ref.shape) < prob_ref
    names = (
        [f"ref-{i:02d}" for i in range(n_references)]
        + [f"clean-{i:02d}" for i in range(n_clean)]
        + [f"inflated-{i:02d}" for i in range(n_inflated)]
    )
    inflated: dict[str, float] = {}
    for k, target in enumerate(inflation):
        row = n_references + n_clean + k
        clean_acc = prob_d[row].mean()
        share = min(1.0, target / max(1e-9, 1.0 - clean_acc))
        memorised = rng.random(n_items) < share
        correct_d[row] |= memorised
        # Expected inflation of this draw: memorised items the model would have missed.
        inflated[names[row]] = float(share * (1.0 - clean_acc))
    frames = []
    for bench, correct in (("D", correct_d), ("D_ref", correct_ref)):
        n = correct.shape[1]
        frames.append(
            pd.DataFrame(
                {
                    "model": np.repeat(names, n),
                    "benchmark": bench,
                    "item": np.tile([f"{bench}-{i}" for i in range(n)], len(names)),
                    "score": correct.ravel().astype(float),
                }
            )
        )
    return Simulated(
        records=pd.concat(frames, ignore_index=True),
        references=names[:n_references],
        clean=names[n_references : n_references + n_clean],
        inflated=inflated,
    )
