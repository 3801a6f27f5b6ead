"""What the command line says besides its output: notes, and option names in errors.

Pure Python, so ``evalgap --help`` can load it without pandas or rich.
"""

from __future__ import annotations

import sys

from evalgap.errors import EvalgapError, ParameterError

__all__ = ["FLAGS", "error_line", "flush_notes", "note", "reset_notes"]

#: API parameter -> the option that sets it, so an error from the API names what the
#: user typed.
FLAGS: dict[str, str] = {
    "n_boot": "--bootstrap",
    "n_perm": "--permutations",
    "confidence_level": "--confidence",
    "ci_method": "--ci",
    "seed": "--seed",
    "bands": "--bands",
    "method": "--method",
    "pca": "--pca",
    "fit": "--fit",
    "scale": "--scale",
    "folds": "--folds",
    "min_items": "--min-items",
    "target": "--target",
    "reliability_floor": "--floor",
    "alpha": "--alpha",
}

_NOTES: list[str] = []


def note(text: str) -> None:
    """Say ``text`` on stderr as ``evalgap: note: ...`` once the command has succeeded (a
    failed command prints its one error line only)."""
    _NOTES.append(text)


def reset_notes() -> None:
    """Forget notes of an earlier run (main() runs more than once in one process in tests)."""
    _NOTES.clear()


def flush_notes() -> None:
    """Print the notes collected by a successful command."""
    if _NOTES:
        from evalgap._output import clean  # not at the top: `evalgap --help` stays cheap

        for text in _NOTES:
            sys.stderr.write(f"evalgap: note: {clean(text)}\n")
    _NOTES.clear()


def error_line(exc: EvalgapError) -> str:
    """The one line printed for ``exc``: the option's name for a parameter error, and no
    terminal control codes from names in the message."""
    from evalgap._output import clean

    if isinstance(exc, ParameterError) and exc.param in FLAGS:
        exc = exc.renamed(FLAGS[exc.param])
    return f"evalgap: error: {clean(exc.line())}"
