"""Errors that evalgap raises for bad input.

Every problem with user input is an :class:`EvalgapError`. Its message is one line that
names the file (or panel), the place in it (row, column, key) and what was expected, so the
command line can print it as is and exit with status 2.
"""

from __future__ import annotations

from os import PathLike

__all__ = [
    "AnalysisError",
    "ChecksumError",
    "EvalgapError",
    "InputError",
    "ParameterError",
    "UnknownPanelError",
]


class EvalgapError(Exception):
    """Base class for every error evalgap raises about its input.

    Parameters
    ----------
    problem
        What is wrong, as a short clause ("expected a number, got 'abc'").
    source
        The file, panel or argument the problem is in, if any.
    where
        The place inside ``source`` (``"row 4, column 'mmlu'"``), if any.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | PathLike[str] | None = None,
        where: str | None = None,
    ) -> None:
        self.problem = " ".join(str(problem).split())
        self.source = None if source is None else str(source)
        self.where = where
        super().__init__(self.line())

    def line(self) -> str:
        """The message as one line: ``source: where: problem``."""
        parts = [p for p in (self.source, self.where) if p]
        parts.append(self.problem)
        return ": ".join(parts).replace("\n", " ")


class InputError(EvalgapError):
    """A file or table is malformed: wrong shape, wrong type, duplicate or missing ids."""


class AnalysisError(EvalgapError):
    """The input is well formed but the requested analysis cannot be done on it
    (too few models, a constant column, an unknown benchmark name)."""


class ParameterError(AnalysisError, ValueError):
    """A parameter of a public function (or its command-line option) is out of range.

    The message reads ``<name> must be <what is allowed>, got <value>``; :attr:`param` is
    the parameter's name, so the command line can say the option the user typed
    (``--bootstrap``) instead (:meth:`renamed`). It is also a :class:`ValueError`, as a
    bad argument to a Python function usually is.
    """

    def __init__(self, param: str, problem: str, *, source: str | None = None) -> None:
        self.param = param
        self.detail = " ".join(str(problem).split())
        super().__init__(f"{param} {self.detail}", source=source)

    def renamed(self, name: str) -> ParameterError:
        """The same error, naming the parameter ``name`` (a command-line option)."""
        return ParameterError(name, self.detail, source=self.source)


class UnknownPanelError(EvalgapError):
    """A named panel is not in the catalog."""


class ChecksumError(EvalgapError):
    """A downloaded or local data file does not have its pinned sha256."""
