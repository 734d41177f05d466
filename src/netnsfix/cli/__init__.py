"""The command line: parses arguments, calls the library, prints.

Each command group lives in a module of its own that exposes
``register(subparsers)``; its handlers return an exit code. Library errors
(:class:`netnsfix.errors.NetnsfixError`) become one line on stderr and a
non-zero exit here, and nowhere else.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib import import_module

from netnsfix import __version__
from netnsfix.errors import NetnsfixError

# Modules under netnsfix.cli that add commands, in the order --help lists them.
COMMAND_MODULES = ("source", "patch", "build", "publish", "verify", "host", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netnsfix",
        description="Turn a known distribution bug into a fixed, proven, installable package.",
    )
    parser.add_argument("--version", action="version", version=f"netnsfix {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = import_module(f"netnsfix.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"netnsfix.cli.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="netnsfix: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except NetnsfixError as error:
        print(f"netnsfix: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("netnsfix: interrupted", file=sys.stderr)
        return 130
