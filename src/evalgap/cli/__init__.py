"""The ``evalgap`` command line: a thin layer over the Python API.

Each sub-command lives in its own module ``evalgap.cli._<name>`` with two functions,
``register(subparsers)`` and ``run(args) -> int``. Every :class:`~evalgap.EvalgapError`
becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from evalgap._version import __version__
from evalgap.errors import EvalgapError

__all__ = ["main"]

#: Sub-command modules, in the order ``evalgap --help`` lists them.
COMMANDS = ("audit", "sensitivity", "adjust", "items", "report", "figures", "import", "panels")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="evalgap",
        description="Is this AI safety evaluation result real evidence of safety?",
    )
    parser.add_argument("--version", action="version", version=f"evalgap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"evalgap.cli._{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
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
