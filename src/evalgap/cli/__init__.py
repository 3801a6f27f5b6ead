"""The ``evalgap`` command line: a thin layer over the Python API.

Each sub-command lives in its own module (``evalgap.cli._<name>``, listed in
:data:`~evalgap.cli._registry.COMMANDS`) with two functions, ``register(subparsers)`` and
``run(args) -> int``. Only the command being run is imported, so ``evalgap --help`` and
``evalgap --version`` start without pandas, SciPy or torch. Every
:class:`~evalgap.EvalgapError` becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from evalgap._version import __version__
from evalgap.cli._registry import COMMANDS
from evalgap.errors import EvalgapError

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _command_in(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv``: its first word that is not an option."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the full arguments of the command named in ``argv`` (all commands
    when ``argv`` is None) and a one-line entry for every other command."""
    wanted = set(COMMANDS) if argv is None else {_command_in(argv)}
    parser = _Parser(
        prog="evalgap",
        description="Is this AI safety evaluation result real evidence of safety?",
    )
    parser.add_argument("--version", action="version", version=f"evalgap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, (module, help_text) in COMMANDS.items():
        if name in wanted:
            importlib.import_module(module).register(sub)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        return int(args.run(args) or 0)
    except EvalgapError as exc:
        print(f"evalgap: error: {exc.line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("evalgap: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
