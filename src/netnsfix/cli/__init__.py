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
COMMAND_MODULES = ("source", "patch", "build", "publish", "verify", "host", "fleet", "demo")

# Which module registers each command: a run imports only the one it needs, so
# that a command does not pay for every library the others use (createrepo_c,
# the docker SDK, rpm...). --help and unknown commands load them all.
COMMANDS = {
    "recipes": "source",
    "resolve": "source",
    "fetch": "source",
    "srpm": "source",
    "demo-archive": "source",
    "patch": "patch",
    "image": "build",
    "build": "build",
    "doctor": "build",
    "publish": "publish",
    "serve": "publish",
    "verify": "verify",
    "host": "host",
    "fleet": "fleet",
    "demo": "demo",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with only ``command``'s module loaded when it is a known command."""
    parser = argparse.ArgumentParser(
        prog="netnsfix",
        description="Turn a known distribution bug into a fixed, proven, installable package.",
    )
    parser.add_argument("--version", action="version", version=f"netnsfix {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = (COMMANDS[command],) if command in COMMANDS else COMMAND_MODULES
    for name in names:
        import_module(f"netnsfix.cli.{name}").register(subparsers)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The command word: the first argument that is not an option."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command(argv))
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
