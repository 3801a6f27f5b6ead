"""Report sections, one module per analysis, looked up by a result's ``analysis`` name.

Each module has ``contribution(result) -> Contribution``: its sections, the page title and
lead it gives when it comes first, closing sections and data for the page's script. A new
analysis adds a module here and a line to :data:`SECTIONS`; nothing else in the report
changes.
"""

from __future__ import annotations

import importlib
from typing import Any

from evalgap.errors import InputError
from evalgap.report._html import escape
from evalgap.report._section import Contribution, ReportSection

__all__ = ["SECTIONS", "contribution_of", "section_of"]

#: Analysis name -> the module (relative to this package) that renders its result.
SECTIONS: dict[str, str] = {
    "audit": ".audit",
    "sensitivity": ".sensitivity",
    "adjust": ".adjust",
    "items": ".items",
    "claim": ".claim",
    "history": ".history",
    "inflation-reference": ".inflation",
    "inflation-holdout": ".inflation",
    "inflation-indistinguishable": ".inflation",
    "sandbag-panel": ".sandbag_panel",
    "sandbag-noise": ".sandbag_noise",
    "probe": ".probe",
    "inflation-likelihood": ".inflation_likelihood",
}


def contribution_of(result: Any) -> Contribution:
    """What ``result`` adds to a report page.

    Raises
    ------
    InputError
        No section renders this kind of result.
    """
    name = getattr(result, "analysis", None)
    module = SECTIONS.get(str(name))
    if module is None:
        raise InputError(
            f"no report section for {type(result).__name__} (analysis {name!r}); known: "
            f"{', '.join(SECTIONS)}",
            source="report",
        )
    return importlib.import_module(module, __name__).contribution(result)


def section_of(result: Any) -> ReportSection:
    """A result of one of the cure analyses (sensitivity, adjust, items) as one
    :class:`ReportSection` to add to another page."""
    parts = contribution_of(result).parts
    if len(parts) != 1 or not isinstance(parts[0], ReportSection):
        raise InputError(
            f"the {escape(result.analysis)} result spans several sections; use build_report",
            source="report",
        )
    return parts[0]
