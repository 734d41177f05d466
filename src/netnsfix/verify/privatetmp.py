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
unit and tries again. Given :class:`StepFiles`, the privatetmp step's own
file for that unit, in the form the step writes for the harness's own
systemd version (``systemctl --version`` in the container), goes beside it
first: the CLI passes ``wanted_file`` of
``netnsfix.collection.plugins.module_utils.privatetmp``, the very function
``netnsfix host apply privatetmp`` writes from (verify keeps no copy of the
bytes). The harness is Debian 12's systemd 252, so that is the drop-in; the
scenario's unit lives in /run/systemd/system, so the step's < 198 form (an
/etc unit that ``.include``s the packaged one) cannot be tried here: a
harness systemd < 198 is no answer, and systemd 197 itself is proven by
tests/fidelity (scripts/fidelity/record-privatetmp-step).

The proof's rules (``proof.judge_privatetmp``) judge it; positive evidence is
required both ways: the unit's own mount table
(/proc/MAINPID/mountinfo) must show an nsfs mount at /run/netns/NAME, so the
binary under test really made a namespace (else: no answer); and a pass needs
``ip netns exec`` to land in exactly that namespace (net:[inode] of the nsfs
mount) and not in the outside shell's own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from netnsfix.collection.plugins.module_utils import proof
from netnsfix.errors import VerifyError
from netnsfix.tools.engine import Container, Engine
from netnsfix.verify.elf import require_libraries
from netnsfix.verify.mounts import STATUS
from netnsfix.verify.report import CheckResult, Status
from netnsfix.verify.scenario import ContainerShell
from netnsfix.verify.systemd import INSIDE, container_runner, copy_in
from netnsfix.verify.systemd_image import booted, system_state

UNIT = "netnsfix-quantum-agent.service"
FOLDER = "/run/netnsfix-quantum-agent"


@dataclass(frozen=True)
class StepFiles:
    """The privatetmp step's file for a unit: ``file_for(unit, systemd_version)`` -> (node path, bytes)."""

    name: str  # what the result calls it ("the privatetmp step's file")
    file_for: Callable[[str, int], tuple[str, bytes]]


def systemd_version(container: Container) -> int:
    """The harness's own systemd version (the first line of ``systemctl --version``: ``systemd N``)."""
    result = container.exec(["systemctl", "--version"])
    found = re.match(r"systemd (\d+)\b", result.output.strip())
    if result.exit_code != 0 or not found:
        raise VerifyError(f"systemctl --version in {container.name} said {' '.join(result.output.split())[:120]!r}")
    return int(found.group(1))


def dropin_for(files: StepFiles, version: int) -> tuple[str, bytes]:
    """The step's drop-in for the scenario's unit (its name in ``UNIT.d/``, its bytes) under ``version``."""
    path, data = files.file_for(UNIT.removesuffix(".service"), version)
    folder = f"/{UNIT}.d/"
    if folder not in path:
        raise VerifyError(
            f"the harness's systemd {version} < 198: the privatetmp step writes {path} there (an /etc unit that "
            f".includes the packaged one), which this harness's unit in /run/systemd/system cannot take; "
            f"systemd 197 is proven by tests/fidelity (scripts/fidelity/record-privatetmp-step)"
        )
    return path.rsplit("/", 1)[1], data


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
            require_libraries(ip, container_runner(container), INSIDE, f"image {self.image}")
            version = systemd_version(container)
            try:
                name, data = dropin_for(self.dropin, version) if self.dropin else ("", b"")
            except VerifyError as error:
                return CheckResult(self.name, Status.ERROR, str(error))
            argv = proof.privatetmp_argv(INSIDE, netns, UNIT, "true", FOLDER, name, data.decode())
            _code, output = ContainerShell(container).run(argv, 180)
        trace = proof.parse_output(netns, output)
        installed = f"systemd {version}" + (f": {name} in {UNIT}.d/" if name else "")
        return judge(self.name, trace, self.dropin, installed)


def judge(name: str, trace: proof.Trace, dropin: StepFiles | None, installed: str = "") -> CheckResult:
    """The proof's verdict: pass, exec from outside entered the unit's namespace both times; fail, it could not."""
    unit = f"the quantum-like unit ({'with ' + dropin.name if dropin else 'as packaged'})"
    verdict = proof.judge_privatetmp(trace, unit)
    log = (f"harness: {installed or 'systemd ?'}" + (f" ({dropin.name})" if dropin else " (unit as packaged)"),)
    return CheckResult(
        name, STATUS[verdict.status], verdict.summary, problems=verdict.problems, log=log + proof.privatetmp_log(trace)
    )
