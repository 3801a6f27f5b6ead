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
from evalgap.analyses.sandbagging import sandbag_panel
from evalgap.results import Result
from synthetic_panels import make_panel

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
