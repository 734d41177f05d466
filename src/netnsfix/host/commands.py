"""The one seam through which the steps run commands (systemctl, ovs-vsctl).

Steps receive a :class:`Runner`; the default runs the real tools. A failed
command is a :class:`HostError` with the command and its stderr in one line.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Protocol

from netnsfix.errors import HostError
from netnsfix.util.command import CommandResult

TIMEOUT = 60


class Runner(Protocol):
    def run(self, argv: Sequence[str], check: bool = True) -> CommandResult: ...


class SubprocessRunner:
    """Runs commands on this machine, with a timeout, capturing their output."""

    def run(self, argv: Sequence[str], check: bool = True) -> CommandResult:
        args = tuple(argv)
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        except FileNotFoundError:
            raise HostError(f"{args[0]}: not installed (needed for: {' '.join(args)})") from None
        except subprocess.TimeoutExpired:
            raise HostError(f"{' '.join(args)}: no answer after {TIMEOUT} s") from None
        result = CommandResult(args, done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0:
            detail = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
            raise HostError(f"{' '.join(args)}: {detail}")
        return result
