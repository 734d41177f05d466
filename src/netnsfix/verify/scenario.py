"""Where the proof's scenario runs in the harness; what it gathers and how it is judged live in proof.

The scenario (``ip netns add``, ``ip netns exec NS <probe>``, ``ip netns
delete``, mount tables before and after, optionally a probe unit) is the one a
node runs: :data:`netnsfix.collection.plugins.module_utils.proof.SCENARIO`.
The host-side checks run it in a private mount namespace made by ``unshare``
(with a tmpfs on /run, so /run/netns stays inside too); the systemd check runs
it in its container. A :class:`Shell` is where an argv runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from netnsfix.collection.plugins.module_utils import proof
from netnsfix.errors import CommandError, CommandTimeout, VerifyError
from netnsfix.tools.engine import Container
from netnsfix.util.command import run

Mount = proof.Mount
Trace = proof.Trace


class Shell(Protocol):
    """Runs an argv somewhere; returns (exit code, stdout+stderr)."""

    def run(self, argv: Sequence[str], timeout: float) -> tuple[int, str]: ...


def run_scenario(shell: Shell, ip: str, *, private_run: bool, unit: str = "", timeout: float = 120) -> Trace:
    """Run the proof's scenario with ``shell`` against the ``ip`` at that path (as the shell sees it)."""
    netns = proof.new_name("netnsfix-verify")
    mode = "harness-private-run" if private_run else "harness"
    _code, output = shell.run(proof.scenario_argv(ip, netns, mode, unit), timeout)
    return proof.parse_output(netns, output)


class PrivateNamespaceShell:
    """``unshare --mount --propagation private``: whatever the scenario mounts stays in there."""

    def run(self, argv: Sequence[str], timeout: float) -> tuple[int, str]:
        command = ["unshare", "--mount", "--propagation", "private", *argv]
        try:
            result = run(command, timeout=timeout, check=False, merge_output=True)
        except CommandTimeout:
            raise VerifyError(f"the private-namespace scenario did not finish within {timeout:.0f} s") from None
        except CommandError as error:  # unshare not installed
            raise VerifyError(str(error)) from None
        return result.returncode, result.stdout


class ContainerShell:
    """``docker exec`` in a running container (the systemd and privatetmp checks')."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def run(self, argv: Sequence[str], timeout: float) -> tuple[int, str]:
        result = self.container.exec(list(argv))
        return result.exit_code, result.output


def host_interfaces() -> tuple[str, ...]:
    """What the host's own /sys shows under class/net."""
    try:
        return tuple(sorted(os.listdir("/sys/class/net")))
    except OSError:
        return ()


def host_sys_mounts() -> tuple[Mount, ...]:
    """The mounts under /sys in the caller's (the host's) mount namespace."""
    return proof.under(proof.parse_mountinfo(Path("/proc/self/mountinfo").read_text()))
