"""Check "privatetmp": Red Hat Bug 881741 in a booted systemd, with a unit shaped like Quantum's agents.

Fedora 18's openstack-quantum 2012.2-1 ships its agents' units with
``PrivateTmp=true``: systemd then runs each agent in a mount namespace of its
own, so the nsfs bind mount that the agent's ``ip netns add`` puts on
/run/netns/NAME stays in there. Everyone outside the unit (the operator, the
other agents, the agent itself once restarted) finds an empty file, and
``ip netns exec NAME`` fails ("setting the network namespace ... failed:
Invalid argument"; 3.6.0 said "RTNETLINK answers: Invalid argument").

In the harness's booted systemd container the check runs the proof's own
PrivateTmp scenario (``proof.PRIVATETMP``, the one a node runs), which installs such a unit
(Type=simple, PrivateTmp=true, as root: the real agents reach ip through sudo
and rootwrap), whose ExecStart ensures its ``qrouter-...`` namespace with the
``ip`` under test (``ip netns add`` unless /run/netns/NAME exists, as the l3
agent's ensure_namespace does) and stays up. It starts the unit, runs
``ip netns exec NAME readlink /proc/self/ns/net`` from outside, restarts the
unit and tries again. Given a :class:`DropIn`, it is installed beside the unit
first: the CLI passes the privatetmp step's own (``netnsfix.collection.plugins.module_utils.privatetmp``'s
DROPIN_NAME and DROPIN, the very bytes ``netnsfix host apply privatetmp``
writes; verify may not import host, so the bytes come in as data).

The proof's rules (``proof.judge_privatetmp``) judge it; positive evidence is
required both ways: the unit's own mount table
(/proc/MAINPID/mountinfo) must show an nsfs mount at /run/netns/NAME, so the
binary under test really made a namespace (else: no answer); and a pass needs
``ip netns exec`` to land in exactly that namespace (net:[inode] of the nsfs
mount) and not in the outside shell's own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from netnsfix.collection.plugins.module_utils import proof
from netnsfix.errors import VerifyError
from netnsfix.tools.engine import Engine
from netnsfix.verify.elf import require_libraries
from netnsfix.verify.mounts import STATUS
from netnsfix.verify.report import CheckResult, Status
from netnsfix.verify.scenario import ContainerShell
from netnsfix.verify.systemd import INSIDE, container_runner, copy_in
from netnsfix.verify.systemd_image import booted, system_state

UNIT = "netnsfix-quantum-agent.service"
FOLDER = "/run/netnsfix-quantum-agent"


@dataclass(frozen=True)
class DropIn:
    """A drop-in for the unit: its file name in ``UNIT.d/`` and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class PrivateTmpCheck:
    engine: Engine
    image: str
    dropin: DropIn | None = None
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
            require_libraries(ip, container_runner(container), INSIDE, f"image {self.image}")
            dropin = self.dropin
            argv = proof.privatetmp_argv(
                INSIDE,
                netns,
                UNIT,
                "true",
                FOLDER,
                dropin.name if dropin else "",
                dropin.data.decode() if dropin else "",
            )
            _code, output = ContainerShell(container).run(argv, 180)
        trace = proof.parse_output(netns, output)
        return judge(self.name, trace, self.dropin)


def judge(name: str, trace: proof.Trace, dropin: DropIn | None) -> CheckResult:
    """The proof's verdict: pass, exec from outside entered the unit's namespace both times; fail, it could not."""
    unit = f"the quantum-like unit ({'with ' + dropin.name if dropin else 'as packaged'})"
    verdict = proof.judge_privatetmp(trace, unit)
    return CheckResult(
        name, STATUS[verdict.status], verdict.summary, problems=verdict.problems, log=proof.privatetmp_log(trace)
    )
