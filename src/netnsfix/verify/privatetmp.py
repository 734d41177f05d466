"""Check "privatetmp": Red Hat Bug 881741 in a booted systemd, with a unit shaped like Quantum's agents.

Fedora 18's openstack-quantum 2012.2-1 ships its agents' units with
``PrivateTmp=true``: systemd then runs each agent in a mount namespace of its
own, so the nsfs bind mount that the agent's ``ip netns add`` puts on
/run/netns/NAME stays in there. Everyone outside the unit (the operator, the
other agents, the agent itself once restarted) finds an empty file, and
``ip netns exec NAME`` fails ("setting the network namespace ... failed:
Invalid argument"; 3.6.0 said "RTNETLINK answers: Invalid argument").

In the harness's booted systemd container the check installs such a unit
(Type=simple, PrivateTmp=true, as root: the real agents reach ip through sudo
and rootwrap), whose ExecStart ensures its ``qrouter-...`` namespace with the
``ip`` under test (``ip netns add`` unless /run/netns/NAME exists, as the l3
agent's ensure_namespace does) and stays up. It starts the unit, runs
``ip netns exec NAME readlink /proc/self/ns/net`` from outside, restarts the
unit and tries again. The unit is installed where a package puts it
(/usr/lib/systemd/system). Given :class:`StepFiles`, the privatetmp step's own
file for that unit goes beside it first, in the form the step writes for the
harness's own systemd version (``systemctl --version`` in the container): a
drop-in from systemd 198, below 198 the /etc/systemd/system unit that
``.include``s the packaged one (the harness is Debian 12's systemd 252: the
drop-in). The CLI passes ``wanted_file`` of
``netnsfix.collection.plugins.module_utils.privatetmp``, the very function
``netnsfix host apply privatetmp`` writes from (verify keeps no copy of the bytes).

Positive evidence is required both ways: the unit's own mount table
(/proc/MAINPID/mountinfo) must show an nsfs mount at /run/netns/NAME, so the
binary under test really made a namespace (else: no answer); and a pass needs
``ip netns exec`` to land in exactly that namespace (net:[inode] of the nsfs
mount) and not in the outside shell's own.
"""

from __future__ import annotations

import io
import re
import tarfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from netnsfix.errors import VerifyError
from netnsfix.tools.engine import Container, Engine
from netnsfix.verify.elf import ShellRunner, require_libraries
from netnsfix.verify.report import CheckResult, Status
from netnsfix.verify.scenario import Step, parse_output
from netnsfix.verify.systemd import INSIDE, copy_in
from netnsfix.verify.systemd_image import booted, system_state

UNIT = "netnsfix-quantum-agent.service"
VENDOR_DIR = "/usr/lib/systemd/system"  # where a package installs units (the step's < 198 form .includes it)
AGENT = "/opt/netnsfix-verify/quantum-agent"
STATE = "/run/netnsfix-quantum-agent.state"
# A unit shaped like Fedora 18's quantum-l3-agent.service (rdo-packages/neutron-distgit 31d4016): the same
# [Unit]/[Service]/[Install] layout, Type=simple, PrivateTmp=true; no User= (see the module docstring).
UNIT_TEXT = """\
[Unit]
Description=netnsfix stand-in for an OpenStack Quantum agent (Bug 881741)
After=syslog.target network.target

[Service]
Type=simple
ExecStart=/bin/sh {agent} {ip} {netns} {state}
PrivateTmp=true

[Install]
WantedBy=multi-user.target
"""
# The agent: ensure the router's namespace with the ip under test, say so, then keep running.
AGENT_TEXT = r"""#!/bin/sh
# netnsfix: a stand-in for a Quantum agent's start: ensure_namespace, then serve.
ip=$1 ns=$2 state=$3
if [ -e "/run/netns/$ns" ]; then
  rc=exists
else
  "$ip" netns add "$ns" >"$state.out" 2>&1; rc=$?
fi
echo "$$ $rc" >"$state.tmp" && mv "$state.tmp" "$state"
exec sleep infinity
"""
# One look from outside the unit: wait for a new agent to report, then record both views and try exec.
OBSERVE = r"""
unit=$1 ns=$2 ip=$3 state=$4 old=$5
mark() { echo "@@netnsfix $1"; }
i=0
while :; do
  pid=$(systemctl show -p MainPID --value "$unit")
  if [ -s "$state" ] && [ "$pid" != 0 ] && [ "$pid" != "$old" ] &&
     [ "$(cut -d' ' -f1 "$state")" = "$pid" ]; then break; fi
  i=$((i+1)); [ $i -gt 200 ] && break
  sleep 0.1
done
mark active; systemctl is-active "$unit" 2>&1
mark privatetmp; systemctl show -p PrivateTmp "$unit" 2>&1
mark mainpid; echo "$pid"
mark agent; cat "$state" 2>/dev/null
mark add-output; cat "$state.out" 2>/dev/null
mark unit-view; grep -F " /run/netns/$ns " "/proc/$pid/mountinfo" 2>/dev/null
mark outside-view; grep -F " /run/netns/$ns " /proc/self/mountinfo
mark file; ls -ln "/run/netns/$ns" 2>&1
mark outside-netns; readlink /proc/self/ns/net
mark exec; "$ip" netns exec "$ns" readlink /proc/self/ns/net 2>&1; echo "@@netnsfix-rc $?"
mark journal; journalctl -u "$unit" --no-pager -n 5 -o cat 2>&1
mark end
"""
NSFS_ROOT = re.compile(r"^net:\[(\d+)\]$")


@dataclass(frozen=True)
class Look:
    """What one look from outside saw (after the start, or after the restart)."""

    when: str
    active: str
    privatetmp: str
    mainpid: str
    agent: str  # "PID RC" as the agent reported it (RC "exists" when it found the namespace file)
    add_output: str
    unit_view: str  # the mountinfo line for /run/netns/NAME in the unit's namespace, or ""
    outside_view: str  # the same line in the outside shell's namespace, or ""
    file: str
    outside_netns: str
    exec_step: Step
    journal: str

    @property
    def unit_inode(self) -> str | None:
        return _nsfs_inode(self.unit_view)

    @property
    def outside_inode(self) -> str | None:
        return _nsfs_inode(self.outside_view)

    def evidence(self) -> tuple[str, ...]:
        exec_text = " ".join(self.exec_step.output.split()) or "no output"
        return (
            f"{self.when}: systemd shows {self.privatetmp or 'nothing'} for {UNIT} ({self.active or 'no state'}, "
            f"MainPID {self.mainpid or '?'}, agent {self.agent or 'did not report'})",
            f"{self.when}: unit's view of /run/netns: {_describe_mount(self.unit_view)}",
            f"{self.when}: outside view of /run/netns: {_describe_mount(self.outside_view)}; file: {self.file or '-'}",
            f"{self.when}: outside ip netns exec ... readlink /proc/self/ns/net exited {self.exec_step.rc}: "
            f"{exec_text[:300]} (outside shell: {self.outside_netns or '?'})",
        )


def _nsfs_inode(line: str) -> str | None:
    """The inode of the network namespace an nsfs mountinfo line holds (its root field, ``net:[N]``)."""
    left, _, right = line.partition(" - ")
    fields, tail = left.split(), right.split()
    if len(fields) < 5 or not tail or tail[0] != "nsfs":
        return None
    found = NSFS_ROOT.match(fields[3])
    return found.group(1) if found else None


def _describe_mount(line: str) -> str:
    if not line.strip():
        return "no mount at /run/netns/NAME"
    left, _, right = line.partition(" - ")
    fields, tail = left.split(), right.split()
    if len(fields) < 5 or not tail:
        return f"unreadable mountinfo line {line.strip()[:120]!r}"
    return f"{tail[0]} {fields[3]} mounted at {fields[4]} (mount id {fields[0]})"


@dataclass(frozen=True)
class StepFiles:
    """The privatetmp step's file for a unit: ``file_for(unit, systemd_version)`` -> (node path, bytes)."""

    name: str  # what the result calls it ("the privatetmp step's files")
    file_for: Callable[[str, int], tuple[str, bytes]]


@dataclass(frozen=True)
class PrivateTmpCheck:
    engine: Engine
    image: str
    dropin: StepFiles | None = None
    name: str = "privatetmp"

    def preflight(self, ip: Path) -> None:
        if not self.engine.image_exists(self.image):
            raise VerifyError(f"image {self.image} not found in the Docker engine (leave out --image to build one)")

    def run(self, ip: Path) -> CheckResult:
        netns = f"qrouter-{uuid.uuid4()}"
        with booted(self.engine, self.image, name_prefix="netnsfix-verify") as container:
            state = system_state(container)
            if state != "running":
                return CheckResult(self.name, Status.ERROR, f"systemd in {self.image} was {state} before the test")
            copy_in(container, ip, INSIDE)
            require_libraries(ip, _runner(container), INSIDE, f"image {self.image}")
            version = systemd_version(container)
            installed = install_unit(container, netns, self.dropin, version)
            started = _systemctl(container, "daemon-reload") or _systemctl(container, "start", UNIT)
            if started:
                return CheckResult(self.name, Status.ERROR, f"could not start the quantum-like unit: {started}")
            first = observe(container, netns, "after start", old="")
            restarted = _systemctl(container, "restart", UNIT)
            if restarted:
                return CheckResult(self.name, Status.ERROR, f"could not restart the quantum-like unit: {restarted}")
            second = observe(container, netns, "after restart", old=first.mainpid)
        return judge(self.name, netns, first, second, self.dropin, installed)


def _runner(container: Container) -> ShellRunner:
    def run(script: str, arg: str) -> tuple[int, str]:
        result = container.exec(["sh", "-c", script, arg])
        return result.exit_code, result.output

    return run


def systemd_version(container: Container) -> int:
    """The harness's own systemd version (the first line of ``systemctl --version``: ``systemd N``)."""
    result = container.exec(["systemctl", "--version"])
    found = re.match(r"systemd (\d+)\b", result.output.strip())
    if result.exit_code != 0 or not found:
        raise VerifyError(f"systemctl --version in {container.name} said {' '.join(result.output.split())[:120]!r}")
    return int(found.group(1))


def install_unit(container: Container, netns: str, dropin: StepFiles | None, version: int) -> str:
    """The agent script, the unit as a package installs it and (``dropin``) the privatetmp step's file for the
    harness's systemd ``version``, put into the container; the step's file's path ("" without one)."""
    files: list[tuple[str, bytes, int]] = [
        (AGENT, AGENT_TEXT.encode(), 0o755),
        (
            f"{VENDOR_DIR}/{UNIT}",
            UNIT_TEXT.format(agent=AGENT, ip=INSIDE, netns=netns, state=STATE).encode(),
            0o644,
        ),
    ]
    installed = ""
    if dropin is not None:
        installed, data = dropin.file_for(UNIT.removesuffix(".service"), version)
        files.append((installed, data, 0o644))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folders: set[str] = set()
        for path, data, mode in files:
            parent = str(Path(path).parent).lstrip("/")
            if parent not in folders:
                folder = tarfile.TarInfo(parent)
                folder.type, folder.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(folder)
                folders.add(parent)
            member = tarfile.TarInfo(path.lstrip("/"))
            member.size, member.mode = len(data), mode
            tar.addfile(member, io.BytesIO(data))
    if not container.put_archive("/", buffer.getvalue()):
        raise VerifyError(f"could not copy the quantum-like unit into container {container.name}")
    return f"systemd {version}: {installed}" if installed else f"systemd {version}"


def _systemctl(container: Container, *args: str) -> str:
    """ "" when ``systemctl ARGS`` succeeded, else what it said."""
    result = container.exec(["systemctl", *args])
    if result.exit_code == 0:
        return ""
    return f"systemctl {' '.join(args)} exited {result.exit_code}: {' '.join(result.output.split())[:200]}"


def observe(container: Container, netns: str, when: str, *, old: str) -> Look:
    result = container.exec(["sh", "-c", OBSERVE, "netnsfix-privatetmp", UNIT, netns, INSIDE, STATE, old])
    trace = parse_output(netns, result.output)

    def text(name: str) -> str:
        return trace.step(name).output.strip()

    if not trace.complete:
        raise VerifyError(f"the look from outside the unit stopped early: {' '.join(result.output.split())[-200:]}")
    return Look(
        when=when,
        active=text("active"),
        privatetmp=text("privatetmp"),
        mainpid=text("mainpid"),
        agent=text("agent"),
        add_output=text("add-output"),
        unit_view=text("unit-view").splitlines()[-1] if text("unit-view") else "",
        outside_view=text("outside-view").splitlines()[-1] if text("outside-view") else "",
        file=text("file"),
        outside_netns=text("outside-netns"),
        exec_step=trace.step("exec"),
        journal=text("journal"),
    )


def judge(
    name: str, netns: str, first: Look, second: Look, dropin: StepFiles | None, installed: str = ""
) -> CheckResult:
    """Pass: exec from outside entered the unit's namespace both times; fail: it could not; else no answer."""
    log: tuple[str, ...] = (
        f"harness: {installed or 'systemd ?'}" + (f" ({dropin.name})" if dropin else " (unit as packaged)"),
    )
    log += first.evidence() + second.evidence()
    unit = f"the quantum-like unit ({'with ' + dropin.name if dropin else 'as packaged'})"
    evidence = CheckResult(name, Status.ERROR, "", log=log)
    for look in (first, second):
        if look.active != "active" or not look.agent:
            journal = " ".join(look.journal.split())[:200] or "no journal"
            return _with(evidence, f"{unit} is not running {look.when} ({look.active or 'no state'}): {journal}")
    inode = first.unit_inode
    if inode is None:
        add = " ".join(first.add_output.split()) or "no output"
        return _with(
            evidence,
            f"{unit}: its ip netns add {netns} (exit {first.agent.split()[-1]}: {add[:120]}) made no namespace: "
            f"no nsfs mount at /run/netns/{netns} in the unit's own mount namespace",
        )
    problems: list[str] = []
    for look in (first, second):
        got = look.exec_step.output.strip()
        if look.exec_step.rc == 0:
            if got != f"net:[{inode}]" or got == look.outside_netns:
                return _with(
                    evidence,
                    f"{look.when}: ip netns exec {netns} ran in {got or 'nothing'}, not in the unit's net:[{inode}] "
                    f"(outside shell: {look.outside_netns})",
                )
            continue
        error = " ".join(look.exec_step.output.split()) or "no output"
        seen = "no mount, an empty file" if not look.outside_view else _describe_mount(look.outside_view)
        problems.append(
            f"{look.when}: ip netns exec {netns} from outside exited {look.exec_step.rc}: {error[:200]} "
            f"(outside sees {seen}; the unit has nsfs net:[{inode}]; {look.privatetmp})"
        )
    if problems:
        summary = f"{first.privatetmp}: ip netns exec from outside the unit failed " + (
            "after start and after restart" if len(problems) == 2 else problems[0].split(":", 1)[0]
        )
        error = problems[0].split(": ", 2)[-1].split(" (outside sees")[0]
        return CheckResult(name, Status.FAIL, f"{summary}: {error}", problems=tuple(problems), log=log)
    return CheckResult(
        name,
        Status.PASS,
        f"{first.privatetmp}: ip netns exec from outside entered the unit's net:[{inode}] (outside shell "
        f"{first.outside_netns}) after start and after restart",
        log=log,
    )


def _with(result: CheckResult, summary: str) -> CheckResult:
    return CheckResult(result.name, Status.ERROR, summary, log=result.log)
