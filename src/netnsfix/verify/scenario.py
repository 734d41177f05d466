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
QUOTE = "| "  # every line the binary under test prints starts with this, so it cannot pass for a mark
PROBE_NETNS = "netns "  # the probe's first line: "netns net:[INODE]", read inside the namespace
PROBE = 'echo "netns $(readlink /proc/self/ns/net 2>&1)"; ls -1 /sys/class/net'
# $1 ip, $2 netns name, $3 "private-run" to put a tmpfs on /run first, $4 extra steps, $5 the probe.
SCRIPT = r"""
ip=$1 ns=$2 run=$3 extra=$4 probe=$5
mark() { echo "@@netnsfix $1"; }
rc() { echo "@@netnsfix-rc $1"; }
quoted() { [ -n "$1" ] && printf '%s\n' "$1" | sed 's/^/| /'; }
files() {
  for f in "/run/netns/$ns" "/var/run/netns/$ns"; do
    if [ -e "$f" ] || [ -L "$f" ]; then stat -c '%i|%F|%n' "$f" 2>&1; fi
  done
}
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
mark self; readlink /proc/self/ns/net 2>&1
mark before; cat /proc/self/mountinfo
mark add; o=$($T "$ip" netns add "$ns" 2>&1); r=$?; quoted "$o"; rc $r
mark added; cat /proc/self/mountinfo
mark added-files; files
mark probe; o=$($T "$ip" netns exec "$ns" /bin/sh -c "$probe" 2>&1); r=$?; quoted "$o"; rc $r
mark delete; o=$($T "$ip" netns delete "$ns" 2>&1); r=$?; quoted "$o"; rc $r
mark after; cat /proc/self/mountinfo
mark deleted-files; files
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
        """What the probe listed in /sys/class/net (its namespace line left out)."""
        lines = self.step("probe").output.splitlines()
        return tuple(sorted(line for line in lines if line.strip() and not line.startswith(PROBE_NETNS)))

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
            lines.append(line.removeprefix(QUOTE))
    close()
    # sections without an rc line (before, after, ...) count as done when they printed
    return Trace(netns, {k: (v if v.rc is not None or k in _STEPS else Step(0, v.output)) for k, v in sections.items()})


_STEPS = ("setup", "add", "probe", "delete")


@dataclass(frozen=True)
class NetnsFile:
    """What ``stat`` said of /run/netns/NAME (or /var/run/netns/NAME)."""

    path: str
    inode: int | None
    kind: str  # stat's %F: "regular empty file", "symbolic link", ...


@dataclass(frozen=True)
class NamespaceEvidence:
    """What the harness itself saw of the namespace ``ip netns`` was asked to make, enter and delete.

    Nothing here is taken from the binary's word: the files and mounts come
    from the harness's own ``stat`` and mountinfo, the namespace the probe ran
    in from the probe (a command the harness wrote, run by ``ip netns exec``).
    A pass needs all three proofs; :meth:`missing` names what is lacking.
    """

    netns: str
    harness: int | None  # the inode of the harness shell's own network namespace
    files: tuple[NetnsFile, ...]  # what was at /run/netns/NAME after ``ip netns add``
    mounts: tuple[Mount, ...]  # the mounts at /run/netns/NAME after ``ip netns add``
    entered: int | None  # the network namespace the probe ran in, under ``ip netns exec``
    left_files: tuple[NetnsFile, ...]  # still there after ``ip netns delete``
    left_mounts: tuple[Mount, ...]

    @property
    def namespace(self) -> int | None:
        """The inode of the network namespace bound at /run/netns/NAME, if one is."""
        bound = {_ns_inode(m.root) for m in self.mounts if m.fstype == "nsfs" and m.root.startswith("net:[")}
        inodes = {f.inode for f in self.files}
        found = sorted(i for i in bound & inodes if i is not None)
        return found[0] if found else None

    def missing_made(self) -> tuple[str, ...]:
        where = f"/run/netns/{self.netns}"
        if not self.files:
            return (f"after ip netns add nothing is at {where}: no namespace was made",)
        if self.namespace is None:
            nsfs = [m for m in self.mounts if m.fstype == "nsfs"]
            if nsfs:
                bound = ", ".join(m.root for m in nsfs)
                return (f"{where} is bound to {bound}, not to a network namespace",)
            return (f"{where} is a {self.files[0].kind}, not bound to a namespace (no nsfs mount there)",)
        if self.namespace == self.harness:
            return (f"{where} is the harness's own network namespace net:[{self.harness}]: no new one was made",)
        return ()

    def missing_entered(self) -> tuple[str, ...]:
        if self.entered is None:
            return ("ip netns exec did not run the probe (it printed no namespace of its own)",)
        if self.entered == self.harness:
            return (f"ip netns exec ran the probe in the harness's own network namespace net:[{self.entered}]",)
        if self.namespace is not None and self.entered != self.namespace:
            return (f"ip netns exec ran the probe in net:[{self.entered}], not in net:[{self.namespace}]",)
        return ()

    def missing_deleted(self) -> tuple[str, ...]:
        left = [f.path for f in self.left_files] + [f"{m.mount_point} (mounted)" for m in self.left_mounts]
        if left:
            return (f"ip netns delete left {', '.join(dict.fromkeys(left))}",)
        return ()

    def missing(self) -> tuple[str, ...]:
        """What a pass needs and the harness did not see (empty: made, entered and deleted)."""
        made = self.missing_made()
        return made + self.missing_entered() + (() if made else self.missing_deleted())

    def describe(self) -> str:
        return f"namespace net:[{self.namespace}] made, entered and deleted"


def namespace_evidence(trace: Trace) -> NamespaceEvidence:
    """Read the evidence out of a scenario's trace (see :class:`NamespaceEvidence`)."""
    netns = trace.netns

    def at_place(mounts: tuple[Mount, ...]) -> tuple[Mount, ...]:
        return tuple(m for m in mounts if m.mount_point in (f"/run/netns/{netns}", f"/var/run/netns/{netns}"))

    probe = trace.step("probe").output.splitlines()
    entered = next((_ns_inode(line[len(PROBE_NETNS) :]) for line in probe if line.startswith(PROBE_NETNS)), None)
    return NamespaceEvidence(
        netns=netns,
        harness=_ns_inode(trace.step("self").output.strip()),
        files=_files(trace.step("added-files").output),
        mounts=at_place(parse(trace.step("added").output)),
        entered=entered,
        left_files=_files(trace.step("deleted-files").output),
        left_mounts=at_place(trace.after),
    )


def _ns_inode(text: str) -> int | None:
    """``net:[4026531992]`` -> 4026531992 (None for anything else)."""
    text = text.strip()
    if text.startswith("net:[") and text.endswith("]") and text[5:-1].isdigit():
        return int(text[5:-1])
    return None


def _files(text: str) -> tuple[NetnsFile, ...]:
    found = []
    for line in text.splitlines():
        inode, sep, rest = line.partition("|")
        kind, sep2, path = rest.partition("|")
        if sep and sep2:
            found.append(NetnsFile(path, int(inode) if inode.isdigit() else None, kind))
    return tuple(found)


def new_netns_name() -> str:
    return f"netnsfix-verify-{uuid.uuid4().hex[:8]}"


def run_scenario(shell: Shell, ip: str, *, private_run: bool, extra: str = "", timeout: float = 120) -> Trace:
    """Run the scenario with ``shell`` against the ``ip`` at that path (as the shell sees it)."""
    netns = new_netns_name()
    args = [ip, netns, "private-run" if private_run else "keep-run", extra, PROBE]
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
