"""Check "systemd": in a container with systemd booted, the same netns exec must not hurt it.

The container is started so that it leaves the host alone
(``netnsfix.verify.systemd_image.booted``); inside, the proof's scenario makes
``/`` rshared as systemd on a booted host does, runs ``ip netns add/exec/delete``,
then starts a probe unit (a oneshot in /run/systemd/system, as a Fedora 18 node
does: systemd 197 has no systemd-run): 3.6.0's bug makes it fail (219/CGROUP).
The verdict is the proof's own, the same a node's ``netnsfix.node.verify`` gives.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from netnsfix.collection.plugins.module_utils import proof
from netnsfix.errors import VerifyError
from netnsfix.tools.engine import Container, Engine
from netnsfix.verify.elf import ShellRunner, require_libraries
from netnsfix.verify.mounts import judge
from netnsfix.verify.report import CheckResult, Status
from netnsfix.verify.scenario import ContainerShell, run_scenario
from netnsfix.verify.systemd_image import booted, system_state

INSIDE = "/opt/netnsfix-verify/ip"


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
            require_libraries(ip, container_runner(container), INSIDE, f"image {self.image}")
            unit = proof.new_name("netnsfix-probe") + ".service"
            trace = run_scenario(ContainerShell(container), INSIDE, private_run=False, unit=unit)
        return judge(self.name, trace)


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


def container_runner(container: Container) -> ShellRunner:
    def run(script: str, arg: str) -> tuple[int, str]:
        result = container.exec(["sh", "-c", script, arg])
        return result.exit_code, result.output

    return run


def _failed_units(container: Container) -> str:
    return " ".join(container.exec(["systemctl", "--failed", "--no-legend", "--plain"]).output.split())
