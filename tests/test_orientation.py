"""Orientation: every Safetywashing benchmark's transform is pinned with its source, the
release's data agree with each source, and the audit says which transform each benchmark
got. Also the hierarchy (an aggregate and its own splits) and duplicate detection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import evalgap
from evalgap.data import (
    apply_transform,
    duplicate_columns,
    families,
    hierarchy_table,
    orientation_table,
    parse_transform,
)
from evalgap.errors import InputError

# What each changed benchmark's source must cite (a phrase of its source text).
CHANGED = {
    "machiavelli-violations.Σ": ("lower", "Trajectory.get_mach_scores"),
    "machiavelli-power.Σ": ("lower", "Trajectory.get_mach_scores"),
    "machiavelli-utility.Σ": ("lower", "exact copy"),
    "machiavelli-violations.killing": ("lower", "100 = the random agent and lower = fewer harms"),
    "machiavelli-power.money": ("lower", "random agent"),
    "machiavelli-utility.suffering": ("lower", "random agent"),
    "discrim_eval": ("lower", "largest of the seven signed subgroup gaps"),
    "discrim_eval_female": ("closer_to(0)", "0 = no discrimination"),
    "discrim_eval_older": ("closer_to(0)", "Tamkin et al. 2023"),
    "simple_cooccurrence_bias": ("closer_to(0)", "higher_is_better: false"),
}


def test_every_panel_benchmark_has_a_transform_and_a_source(chat_panel, base_panel):
    table = orientation_table()
    for panel in (chat_panel, base_panel):
        assert set(panel.benchmark_ids) <= set(table.index)
    assert table["source"].str.len().min() > 40
    for transform in table["transform"]:
        parse_transform(transform)
    counts = table["transform"].value_counts().to_dict()
    assert counts == {"higher": 148, "lower": 22, "closer_to(0)": 8}


@pytest.mark.parametrize("benchmark", sorted(CHANGED))
def test_changed_orientations_are_pinned_with_their_source(benchmark):
    transform, phrase = CHANGED[benchmark]
    row = orientation_table().loc[benchmark]
    assert row["transform"] == transform
    assert phrase in row["source"]


def test_every_higher_source_names_the_release_label_or_the_paper():
    table = orientation_table()
    higher = table[table["transform"] == "higher"]
    for bench, source in higher["source"].items():
        assert ("benchmarks_info.csv" in source) or ("(" in source and "20" in source), bench


def test_the_release_data_agree_with_the_sources(data_dir):
    for file in ("benchmarks_chat_models.csv", "benchmarks_base_models.csv"):
        raw = pd.read_csv(data_dir / "safetywashing-2024" / file, index_col="model")
        mach = raw[
            [
                c
                for c in raw.columns
                if c.startswith(
                    ("machiavelli-power.", "machiavelli-violations.", "machiavelli-utility.")
                )
            ]
        ]
        # normalised to the random agent (100), not negated
        assert mach.median().between(80, 125).all()
        parts = [c for c in raw.columns if c.startswith("discrim_eval_")]
        assert (raw[parts] < 0).any().any() and (raw[parts] > 0).any().any()  # signed gaps
        gap = (raw[parts].max(axis=1) - raw["discrim_eval"]).abs()
        assert (gap < 0.03).all()  # the aggregate is the largest signed gap
        assert (raw["simple_cooccurrence_bias"] > 0).all()  # so closer_to(0) ranks as lower
        assert (raw["crows_pairs_english"] < 0).all()  # the release negated |gap|: as is
        assert (raw["machiavelli-utility.Σ"] == raw["machiavelli-utility.suffering"]).all()


def test_chat_audit_rows_carry_the_documented_transform(chat_panel):
    table = evalgap.audit(chat_panel, n_boot=0, n_perm=0).table.set_index("benchmark")
    for bench, (transform, _) in CHANGED.items():
        assert table.loc[bench, "orientation"] == transform
        assert table.loc[bench, "orientation_source"] == orientation_table().loc[bench, "source"]
    mach = table[table.index.str.match(r"machiavelli-(power|violations|utility)\.")]
    assert len(mach) == 21 and (mach["orientation"] == "lower").all()
    assert table.loc["truthfulqa_mc1", "orientation"] == "higher"
    assert (
        "exact copy of machiavelli-utility.suffering" in table.loc["machiavelli-utility.Σ", "note"]
    )


def test_closer_to_scores_minus_the_distance():
    x = np.array([-0.4, 0.0, 0.2, np.nan])
    np.testing.assert_array_equal(apply_transform(x, "closer_to(0)"), [-0.4, -0.0, -0.2, np.nan])
    np.testing.assert_allclose(apply_transform(x, "closer_to(0.2)"), [-0.6, -0.2, -0.0, np.nan])
    np.testing.assert_array_equal(apply_transform(x, "lower"), -x)
    for bad in ("closest", "closer_to()", "closer_to(nan)", ""):
        with pytest.raises(InputError):
            parse_transform(bad)


def test_user_orientation_wins_over_higher_is_better_and_bad_values_are_one_line():
    scores = pd.DataFrame({"cap": [1.0, 2, 3, 4, 5], "gap": [0.3, -0.1, 0.2, 0.0, -0.4]})
    info = pd.DataFrame(
        {"higher_is_better": [True, False], "orientation": [None, "closer_to(0)"]},
        index=["cap", "gap"],
    )
    panel = evalgap.Panel.from_frames(scores, info, capabilities=["cap"])
    assert panel.orientations().to_dict() == {"cap": "higher", "gap": "closer_to(0)"}
    assert panel.benchmarks.loc["gap", "orientation_source"] == "orientation=closer_to(0)"
    assert panel.benchmarks.loc["cap", "orientation_source"] == "higher_is_better=true"
    np.testing.assert_allclose(panel.oriented_scores()["gap"], -np.abs(scores["gap"]))
    with pytest.raises(InputError, match=r"benchmark 'gap'.*closer_to\(<number>\)"):
        evalgap.Panel.from_frames(
            scores, info.assign(orientation=[None, "nearest"]), capabilities=["cap"]
        )


def test_hierarchy_families_and_cycles(chat_panel):
    table = hierarchy_table()
    assert table.loc["HarmBench-GCG-T-illegal", "parent"] == "HarmBench-GCG-T-all"
    assert table.loc["machiavelli-utility.suffering", "relation"] == "copy"
    fam = chat_panel.families()
    assert fam["wmdp_bio"] == fam["wmdp"] == "wmdp"
    assert fam["glue_sst2"] == "glue" and fam["ethics_cm"] == "ethics_all"
    assert fam["machiavelli-violations.killing"] == "machiavelli-violations.Σ"
    assert fam["drop_em"] == fam["drop_f1"] == "DROP"  # a label, not a column
    assert fam["truthfulqa_mc1"] == "truthfulqa_mc1"
    with pytest.raises(InputError, match="cycle"):
        families(["a", "b"], {"a": "b", "b": "a"})


def test_duplicate_columns_are_found_whatever_the_order():
    frame = pd.DataFrame(
        {"b": [1.0, np.nan, 3.0], "a": [1.0, np.nan, 3.0], "c": [1.0, 2.0, 3.0], "d": [-0.0, 0, 1]}
    )
    assert duplicate_columns(frame) == [("a", "b")]
    assert duplicate_columns(frame[["c", "a", "b"]]) == [("a", "b")]
