"""The report's figures as files for a paper: SVG, PNG or PDF, rendered without a browser."""

from __future__ import annotations

import re
from collections.abc import Iterable
from os import PathLike
from pathlib import Path

from evalgap._output import write_atomic
from evalgap.analyses.safetywashing._audit import AuditResult
from evalgap.errors import AnalysisError, InputError
from evalgap.report._render import FORMATS, ImageFormat, render
from evalgap.report.sections._audit_specs import figure_specs, scatter_spec

__all__ = ["write_figures"]


def safe_filename(text: str) -> str:
    """A file-name stem from an id: letters, digits, ``.``, ``_`` and ``-`` only.

    Examples
    --------
    >>> safe_filename("../etc/passwd"), safe_filename("MMLU (5-shot)")
    ('etc_passwd', 'MMLU_5-shot')
    """
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._")
    return stem[:120] or "benchmark"


def write_figures(
    result: AuditResult,
    out_dir: str | PathLike[str],
    *,
    format: ImageFormat = "svg",
    benchmarks: Iterable[str] | None = None,
    scale: float = 2.0,
) -> list[Path]:
    """Write the report's figures to ``out_dir`` as files fit for a paper.

    Files: ``forest``, ``capabilities``, ``scree``, ``heatmap`` and ``scatter-overview``
    (small multiples of the 12 benchmarks with the largest |ρ|), plus one
    ``scatter/<benchmark>`` per benchmark: its score against the capabilities score and
    against log10 training FLOP, with least-squares lines. Every file is written
    atomically; a file that exists is replaced.

    Parameters
    ----------
    result
        What :func:`evalgap.audit` returned.
    out_dir
        Folder to write into (created if needed).
    format
        ``svg``, ``png`` or ``pdf``.
    benchmarks
        Benchmarks that get a scatter file; default every audited benchmark; an empty list
        writes none.
    scale
        Pixel scale of PNG files (2 is about 144 dpi at the figure's size).

    Returns
    -------
    list of Path
        The files written, in the order above.

    Raises
    ------
    EvalgapError
        An unknown format or benchmark, or a folder that cannot be written.

    Examples
    --------
    >>> from evalgap import audit, load_panel
    >>> from evalgap.report import write_figures
    >>> paths = write_figures(audit(load_panel("safetywashing-2024:chat")), "figs",
    ...                       format="pdf", benchmarks=["truthfulqa_mc1"])  # doctest: +SKIP
    >>> [p.name for p in paths]  # doctest: +SKIP
    ['forest.pdf', 'capabilities.pdf', 'scree.pdf', 'heatmap.pdf', 'scatter-overview.pdf',
     'truthfulqa_mc1.pdf']
    """
    if not isinstance(result, AuditResult):
        raise AnalysisError(
            f"figures need an AuditResult (from evalgap.analyses.safetywashing._audit), got {type(result).__name__}"
        )
    if format not in FORMATS:
        raise InputError(
            f"unknown figure format {format!r}; use one of {', '.join(FORMATS)}",
            source="arguments",
        )
    if not scale > 0:
        raise InputError(f"scale must be positive, got {scale}", source="arguments")
    audited = [str(b) for b in result.table["benchmark"]]
    if benchmarks is None:
        chosen = audited
    else:
        chosen = list(dict.fromkeys(str(b) for b in benchmarks))
        unknown = [b for b in chosen if b not in audited]
        if unknown:
            raise AnalysisError(f"benchmark {unknown[0]!r} was not audited", source="figures")
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise InputError("is a file; give a folder for the figures", source=folder)

    jobs: list[tuple[Path, dict]] = [
        (folder / f"{name}.{format}", spec) for name, spec in figure_specs(result).items()
    ]
    used: set[str] = set()
    for bid in chosen:
        stem = safe_filename(bid)
        candidate, k = stem, 2
        while candidate.lower() in used:
            candidate, k = f"{stem}-{k}", k + 1
        used.add(candidate.lower())
        jobs.append((folder / "scatter" / f"{candidate}.{format}", scatter_spec(result, bid)))

    written = []
    for path, spec in jobs:
        data = render(spec, format, scale=scale, what=f"figure {path.stem!r}")
        try:
            written.append(write_atomic(path, data))
        except OSError as exc:
            raise InputError(
                f"cannot write the figure: {exc.strerror or exc}", source=path
            ) from None
    return written
