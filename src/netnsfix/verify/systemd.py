"""Check "systemd": in a container with systemd booted, the same netns exec must not hurt it.

The container is started so that it leaves the host alone
(``netnsfix.verify.systemd_image.booted``); inside, the scenario makes ``/``
rshared as systemd on a booted host does, runs ``ip netns add/exec/delete``,
then asks systemd: ``systemd-run --wait true`` must succeed (3.6.0's bug makes
it exit 219/CGROUP) and ``systemctl is-system-running`` must not say degraded.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from netnsfix.errors import VerifyError
from netnsfix.tools.engine import Container, Engine
from netnsfix.verify.elf import ShellRunner, require_libraries
from netnsfix.verify.mounts import judge
from netnsfix.verify.report import CheckResult, Status
from netnsfix.verify.scenario import ContainerShell, Trace, run_scenario
from netnsfix.verify.systemd_image import booted, system_state

INSIDE = "/opt/netnsfix-verify/ip"
SYSTEMD_STEPS = r"""
mark systemd-run; $T systemd-run --wait --quiet true 2>&1; rc $?
mark state; systemctl is-system-running 2>&1; rc 0
mark failed-units; systemctl --failed --no-legend --plain 2>&1; rc 0
"""


@dataclass(frozen=True)
class SystemdCheck:
    engine: Engine
    image: str
    name: str = "systemd"

    def preflight(self, ip: Path) -> None:
        if not self.engine.image_exists(self.image):
            raise VerifyError(f"image {self.image} not found in the Docker engine (leave out --image to build one)")

    def run(self, ip: Path) -> CheckResult:
        with booted(self.engine, self.image, name_prefix="netnsfix-verify") as container:
            before = system_state(container)
            if before != "running":
                failed = _failed_units(container)
                return CheckResult(
                    self.name,
                    Status.ERROR,
                    f"systemd in {self.image} was {before} before the test (failed: {failed or 'none'})",
                )
            copy_in(container, ip, INSIDE)
            require_libraries(ip, _container_runner(container), INSIDE, f"image {self.image}")
            trace = run_scenario(ContainerShell(container), INSIDE, private_run=False, extra=SYSTEMD_STEPS)
        return judge(self.name, trace, systemd_problems(trace))


def systemd_problems(trace: Trace) -> tuple[str, ...]:
    problems: list[str] = []
    run = trace.step("systemd-run")
    if run.rc != 0:
        why = "219/CGROUP, systemd cannot put the unit in a cgroup" if run.rc == 219 else _one_line(run.output)
        problems.append(f"systemd-run --wait true exited {run.rc}: {why}")
    state = trace.step("state").output.strip()
    if state != "running":
        failed = " ".join(trace.step("failed-units").output.split())
        problems.append(f"systemd is {state or 'not answering'}: failed units: {failed or 'none'}")
    return tuple(problems)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200] or "no output"


def copy_in(container: Container, binary: Path, inside: str) -> None:
    """Put ``binary`` into the container at ``inside`` (mode 0755), named as its last component."""
    buffer = io.BytesIO()
    parent = Path(inside).parent
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(str(parent).lstrip("/"))
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        data = binary.read_bytes()
        member = tarfile.TarInfo(inside.lstrip("/"))
        member.size, member.mode = len(data), 0o755
        tar.addfile(member, io.BytesIO(data))
    if not container.put_archive("/", buffer.getvalue()):
        raise VerifyError(f"could not copy {binary} into container {container.name}")


def _container_runner(container: Container) -> ShellRunner:
    def run(script: str, arg: str) -> tuple[int, str]:
        result = container.exec(["sh", "-c", script, arg])
        return result.exit_code, result.output

    return run


def _failed_units(container: Container) -> str:
    return " ".join(container.exec(["systemctl", "--failed", "--no-legend", "--plain"]).output.split())
