"""The command line: parses arguments, calls the library, prints.

Each command group lives in a module of its own that exposes
``register(subparsers)``; its handlers return an exit code from :class:`Exit`,
the one table of what each status means. Every error (a library error, an OS error,
one nobody foresaw) becomes one line on stderr and :attr:`Exit.ERROR` here, and
nowhere else, so a script can always tell trouble from a result such as "would
change" (its traceback only under -v); a reader that closed stdout
(``netnsfix recipes | head -1``) ends the command quietly, as coreutils do.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections.abc import Sequence
from enum import IntEnum
from importlib import import_module
from typing import NoReturn

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


class Exit(IntEnum):
    """Every exit status netnsfix uses, for every command (the README's table says the same)."""

    OK = 0  # done; nothing would change; the checks came out as expected
    RESULT = 1  # a result the command reports on purpose: something would change, a node failed,
    # the checks did not come out as expected, the builds differ, something doctor needs is missing
    ERROR = 2  # trouble, never a result: bad usage or input, a failure, an error nobody foresaw
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    BROKEN_PIPE = 141  # the reader closed stdout (128 + SIGPIPE), as coreutils exit


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line naming the option (``--help`` shows the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(Exit.ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with only ``command``'s module loaded when it is a known command."""
    parser = _Parser(
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
    verbose = _verbose(argv)  # known before anything loads: an error loading a command's module is reported too
    try:
        return _run(argv)
    except NetnsfixError as error:
        _say(f"netnsfix: error: {error}", verbose)
        return Exit.ERROR
    except KeyboardInterrupt:
        print("netnsfix: interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except OSError as error:  # a file the library did not expect to fail: name it
        where = f"{error.filename}: " if error.filename else ""
        _say(f"netnsfix: error: {where}{error.strerror or error}", verbose)
        return Exit.ERROR
    except Exception as error:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        _say(f"netnsfix: error: unexpected {type(error).__name__}: {error} (run with -v for the traceback)", verbose)
        return Exit.ERROR


def _verbose(argv: Sequence[str]) -> bool:
    """-v/--verbose among the options before the command word (where the global options go)."""
    return any(arg in ("-v", "--verbose") for arg in itertools.takewhile(lambda arg: arg.startswith("-"), argv))


def _run(argv: list[str]) -> int:
    """Parse, load the command's module, run its handler."""
    parser = build_parser(_command(argv))
    args = parser.parse_args(argv)
    log_to_stderr(args.verbose)
    if not getattr(args, "handler", None):
        parser.print_help()
        return Exit.ERROR
    code = int(args.handler(args) or 0)
    sys.stdout.flush()  # a closed pipe shows here, inside main's handler
    return code


def log_to_stderr(verbose: bool) -> None:
    """The library's log lines on stderr, as netnsfix's (-v: INFO too), once a module that logs is loaded: the
    commands that log nothing (fleet, host, ...) skip importing logging and traceback, 15 ms of every
    ``netnsfix fleet`` run. A handler that imports a logging module itself calls this again after it."""
    if "logging" not in sys.modules:
        return
    import logging

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="netnsfix: %(message)s",
        stream=sys.stderr,
    )


def _say(line: str, verbose: bool) -> None:
    """One line on stderr; under -v the traceback first."""
    if verbose:
        import traceback

        traceback.print_exc(file=sys.stderr)
    print(line, file=sys.stderr)


def _quiet_broken_pipe() -> int:
    """The reader went away: stop without a word (SIGPIPE's exit status), and keep Python's
    own flush at exit from complaining about the same closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return Exit.BROKEN_PIPE
