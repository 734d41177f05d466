"""Check "systemd": a booted systemd survives a fixed ip, and 3.6.0's bug breaks it.

Uses the cached systemd image (netnsfix-systemd:<key>, kept between runs on
purpose); every container is removed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from verifykit import verify_containers

from netnsfix.verify.harness import staged_as_ip
from netnsfix.verify.report import Status
from netnsfix.verify.systemd import SystemdCheck

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def run_systemd(client, image: str, binary: Path):
    with staged_as_ip(binary) as ip:
        check = SystemdCheck(client, image)
        check.preflight(ip)
        return check.run(ip)


def test_debian_ip_leaves_systemd_working(docker_client, engine, systemd_image: str, debian_ip: Path) -> None:
    result = run_systemd(engine, systemd_image, debian_ip)
    assert result.status is Status.PASS, result.problems
    assert "systemd started a unit afterwards" in result.summary
    assert not verify_containers(docker_client)


def test_unpatched_ip_breaks_systemd(docker_client, engine, systemd_image: str, variants: dict[str, Path]) -> None:
    result = run_systemd(engine, systemd_image, variants["unpatched"])
    assert result.status is Status.FAIL
    problems = " | ".join(result.problems)
    assert "/sys was replaced" in problems
    # the proof's probe unit (a oneshot in /run/systemd/system, as a Fedora 18 node starts it): 219/CGROUP
    assert (
        "the probe unit did not start: systemctl start exited 1 (Result=exit-code ExecMainStatus=219, 219/CGROUP"
        in problems
    )
    assert any(m.mount_point == "/sys/fs/cgroup/systemd" for m in result.sys_before)
    assert not any(m.mount_point.startswith("/sys/fs/cgroup") for m in result.sys_after)
    assert not verify_containers(docker_client)


@pytest.mark.parametrize("name", ["seed", "upstream"])
def test_fixed_variants_leave_systemd_working(
    docker_client, engine, systemd_image: str, variants: dict[str, Path], name: str
) -> None:
    result = run_systemd(engine, systemd_image, variants[name])
    assert result.status is Status.PASS, result.problems
