"""The steps Quantum's agents take, run by one shell script wherever a check needs them.

``mount --make-rshared /`` (what systemd does on a booted host), then
``ip netns add``, ``ip netns exec NS <probe>``, ``ip netns delete``, with the
mount table recorded before and after. The host-side checks run the script in
a private mount namespace made by ``unshare`` (with a tmpfs on /run, so
/run/netns stays inside too); the systemd check runs it in its container. A
:class:`Shell` is where the script runs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from netnsfix.errors import CommandError, CommandTimeout, VerifyError
from netnsfix.tools.engine import Container
from netnsfix.util.command import run
from netnsfix.verify.mountinfo import Mount, parse

MARK = "@@netnsfix"
# $1 ip, $2 netns name, $3 "private-run" to put a tmpfs on /run first, $4 extra steps.
SCRIPT = r"""
ip=$1 ns=$2 run=$3 extra=$4
mark() { echo "@@netnsfix $1"; }
rc() { echo "@@netnsfix-rc $1"; }
T=; command -v timeout >/dev/null 2>&1 && T="timeout 20"
mark setup
mount --make-rshared / 2>&1 || { rc 1; exit 0; }
if [ "$run" = private-run ]; then
  mount -t tmpfs -o mode=0755 netnsfix-run /run 2>&1 || { rc 1; exit 0; }
  if [ -d /var/run ] && [ ! -L /var/run ]; then
    mount -t tmpfs -o mode=0755 netnsfix-run /var/run 2>&1 || { rc 1; exit 0; }
  fi
fi
rc 0
mark before; cat /proc/self/mountinfo
mark add; $T "$ip" netns add "$ns" 2>&1; rc $?
mark probe; $T "$ip" netns exec "$ns" /bin/sh -c 'ls -1 /sys/class/net' 2>&1; rc $?
mark delete; $T "$ip" netns delete "$ns" 2>&1; rc $?
mark after; cat /proc/self/mountinfo
mark leftovers; ls -A /run/netns /var/run/netns 2>/dev/null | grep -v ':$' | sort -u
[ -n "$extra" ] && eval "$extra"
mark end
"""


class Shell(Protocol):
    """Runs ``sh -c SCRIPT`` with arguments somewhere; returns (exit code, stdout+stderr)."""

    def run(self, script: str, args: Sequence[str], timeout: float) -> tuple[int, str]: ...


@dataclass(frozen=True)
class Step:
    rc: int | None
    output: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass(frozen=True)
class Trace:
    """Everything the scenario printed, section by section."""

    netns: str
    sections: dict[str, Step]

    def step(self, name: str) -> Step:
        return self.sections.get(name, Step(None, ""))

    @property
    def before(self) -> tuple[Mount, ...]:
        return parse(self.step("before").output)

    @property
    def after(self) -> tuple[Mount, ...]:
        return parse(self.step("after").output)

    @property
    def leftovers(self) -> tuple[str, ...]:
        return tuple(line for line in self.step("leftovers").output.splitlines() if line.strip())

    @property
    def view(self) -> tuple[str, ...]:
        return tuple(sorted(line for line in self.step("probe").output.splitlines() if line.strip()))

    @property
    def complete(self) -> bool:
        return "end" in self.sections

    def failed_step(self) -> str | None:
        """The first of setup/add/probe/delete that did not exit 0, or None."""
        for name in ("setup", "add", "probe", "delete"):
            if not self.step(name).ok:
                return name
        return None

    def describe(self, name: str) -> str:
        step = self.step(name)
        text = " ".join(step.output.split()) or "no output"
        return f"{name} exited {step.rc}: {text[:300]}"


def parse_output(netns: str, text: str) -> Trace:
    sections: dict[str, Step] = {}
    current: str | None = None
    lines: list[str] = []
    code: int | None = None

    def close() -> None:
        if current is not None:
            sections[current] = Step(code, "\n".join(lines))

    for line in text.splitlines():
        if line.startswith(MARK + "-rc "):
            code = int(line.split()[1]) if line.split()[1].lstrip("-").isdigit() else None
        elif line.startswith(MARK + " "):
            close()
            current, lines, code = line.split(" ", 1)[1].strip(), [], None
        else:
            lines.append(line)
    close()
    # sections without an rc line (before, after, ...) count as done when they printed
    return Trace(netns, {k: (v if v.rc is not None or k in _STEPS else Step(0, v.output)) for k, v in sections.items()})


_STEPS = ("setup", "add", "probe", "delete")


def new_netns_name() -> str:
    return f"netnsfix-verify-{uuid.uuid4().hex[:8]}"


def run_scenario(shell: Shell, ip: str, *, private_run: bool, extra: str = "", timeout: float = 120) -> Trace:
    """Run the scenario with ``shell`` against the ``ip`` at that path (as the shell sees it)."""
    netns = new_netns_name()
    args = [ip, netns, "private-run" if private_run else "keep-run", extra]
    _code, output = shell.run(SCRIPT, args, timeout)
    return parse_output(netns, output)


class PrivateNamespaceShell:
    """``unshare --mount --propagation private``: whatever the script mounts stays in there."""

    def run(self, script: str, args: Sequence[str], timeout: float) -> tuple[int, str]:
        command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "netnsfix-verify", *args]
        try:
            result = run(command, timeout=timeout, check=False, merge_output=True)
        except CommandTimeout:
            raise VerifyError(f"the private-namespace scenario did not finish within {timeout:.0f} s") from None
        except CommandError as error:  # unshare not installed
            raise VerifyError(str(error)) from None
        return result.returncode, result.stdout


class ContainerShell:
    """``docker exec`` in a running container (the systemd check's)."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def run(self, script: str, args: Sequence[str], timeout: float) -> tuple[int, str]:
        result = self.container.exec(["sh", "-c", script, "netnsfix-verify", *args])
        return result.exit_code, result.output


def host_interfaces() -> tuple[str, ...]:
    """What the host's own /sys shows under class/net."""
    try:
        return tuple(sorted(os.listdir("/sys/class/net")))
    except OSError:
        return ()


def host_sys_mounts() -> tuple[Mount, ...]:
    """The mounts under /sys in the caller's (the host's) mount namespace."""
    from netnsfix.verify.mountinfo import under

    return under(parse(Path("/proc/self/mountinfo").read_text()))
