"""Every analysis's result class by its ``analysis`` name, resolved on first use (a name ->
``"module:Class"`` map, as lm-evaluation-harness registers its models), so reading a saved
result imports only the analysis it belongs to."""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from evalgap.errors import InputError
from evalgap.results import Result

__all__ = ["RESULT_TYPES", "load_result", "result_type"]

#: Analysis name -> ``"module:Class"`` of its result.
RESULT_TYPES: dict[str, str] = {
    "audit": "evalgap.analyses.safetywashing._audit:AuditResult",
    "sensitivity": "evalgap.analyses.safetywashing._sensitivity:SensitivityResult",
    "adjust": "evalgap.analyses.safetywashing._adjust:AdjustResult",
    "items": "evalgap.analyses.safetywashing._items:ItemAnalysis",
    "claim": "evalgap.analyses.claim._card:ClaimResult",
    "history": "evalgap.analyses.claim._history:HistoryResult",
    "inflation-reference": "evalgap.analyses.inflation._reference:ReferenceTestResult",
    "inflation-holdout": "evalgap.analyses.inflation._holdout:HoldoutResult",
    "inflation-indistinguishable": (
        "evalgap.analyses.inflation._indistinguishable:IndistinguishableResult"
    ),
    "sandbag-panel": "evalgap.analyses.sandbagging._panel:SandbagPanelResult",
    "sandbag-noise": "evalgap.analyses.sandbagging._sweep:NoiseSweepResult",
    "probe": "evalgap.analyses.probes._probe:ProbeResult",
    "inflation-likelihood": "evalgap.analyses.inflation._likelihood:LikelihoodResult",
}


def result_type(analysis: str, *, source: str | None = None) -> type[Result]:
    """The result class of ``analysis``.

    Raises
    ------
    InputError
        An analysis evalgap does not know.
    """
    target = RESULT_TYPES.get(str(analysis))
    if target is None:
        raise InputError(
            f"unknown analysis {analysis!r}; known: {', '.join(RESULT_TYPES)}",
            source=source,
            where="key 'analysis'",
        )
    module, _, name = target.partition(":")
    cls: type[Result] = getattr(importlib.import_module(module), name)
    return cls


def load_result(source: str | PathLike[str] | Mapping[str, Any]) -> Result:
    """A result saved as JSON (``--format json`` or ``result.to_json()``), read back as the
    object its analysis returns.

    Parameters
    ----------
    source
        A ``.json`` file, or the dict :meth:`Result.to_dict` made.

    Raises
    ------
    InputError
        Not a file, not JSON, not an evalgap result, or a newer schema.

    Examples
    --------
    >>> import evalgap
    >>> result = evalgap.audit(evalgap.load_panel("safetywashing-2024:chat"))  # doctest: +SKIP
    >>> _ = open("audit.json", "w").write(result.to_json())  # doctest: +SKIP
    >>> evalgap.load_result("audit.json").analysis  # doctest: +SKIP
    'audit'
    """
    if isinstance(source, Mapping):
        data, label = source, None
    else:
        path = Path(source)
        label = str(path)
        if path.is_dir():
            raise InputError("is a folder, not a saved result (.json)", source=label)
        if not path.is_file():
            raise InputError("no such file", source=label)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise InputError("not a text file (expected a JSON result)", source=label) from None
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not valid JSON ({exc.msg})", source=label, where=f"line {exc.lineno}"
            ) from None
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", source=label) from None
    if not isinstance(data, Mapping) or "analysis" not in data:
        raise InputError(
            "not an evalgap result (no 'analysis' key); save one with --format json",
            source=label,
        )
    return result_type(data["analysis"], source=label).from_dict(data, source=label)
