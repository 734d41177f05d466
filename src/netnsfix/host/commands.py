"""The one seam through which the steps run commands (systemctl, ovs-vsctl).

Steps receive a :class:`Runner`; the default runs the real tools. A failed
command is a :class:`HostError` with the command and its stderr in one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from netnsfix.errors import CommandError, HostError, NotInstalled
from netnsfix.util import command
from netnsfix.util.command import CommandResult

TIMEOUT = 60


class Runner(Protocol):
    def run(self, argv: Sequence[str], check: bool = True) -> CommandResult: ...


class SubprocessRunner:
    """Runs commands on this machine through the shared runner, with a timeout, capturing their output."""

    def run(self, argv: Sequence[str], check: bool = True) -> CommandResult:
        args = tuple(argv)
        try:
            result = command.run(args, timeout=TIMEOUT, check=False, what=" ".join(args))
        except NotInstalled as error:
            raise HostError(f"{error} (needed for: {' '.join(args)})") from None
        except CommandError as error:  # no answer within TIMEOUT, or cannot run at all
            raise HostError(str(error)) from None
        if check and result.returncode != 0:
            detail = " ".join(result.stderr.split()) or f"exit status {result.returncode}"
            raise HostError(f"{' '.join(args)}: {detail}")
        return result
