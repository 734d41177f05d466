"""The systemd image boots systemd in a container and leaves the host alone.

The image (``netnsfix-systemd:<key>``) is a cache: it is kept between tests
and runs on purpose. Every container is removed.
"""

from __future__ import annotations

import os

import pytest

from netnsfix.verify.systemd_image import PID_LABEL, booted, ensure_systemd_image, system_state

pytestmark = [pytest.mark.engine, pytest.mark.slow]


@pytest.fixture(scope="module")
def systemd_image(engine) -> str:
    return ensure_systemd_image(engine)


def test_image_is_reused_by_its_content_key(docker_client, engine, systemd_image: str) -> None:
    assert systemd_image.startswith("netnsfix-systemd:")
    assert ensure_systemd_image(engine) == systemd_image
    image = docker_client.images.get(systemd_image)
    assert image.attrs["Config"]["Cmd"] == ["/sbin/init"]


def test_booted_container_runs_systemd_and_is_removed(docker_client, engine, systemd_image: str) -> None:
    with booted(engine, systemd_image, name_prefix="netnsfix-test-verify") as container:
        name = container.name
        assert container.labels[PID_LABEL] == str(os.getpid())
        assert system_state(container) == "running"
        pid1 = container.exec(["cat", "/proc/1/comm"]).output.strip()
        assert pid1 == "systemd"
        cgroups = container.exec(["sh", "-c", "ls /sys/fs/cgroup"]).output.split()
        assert "systemd" in cgroups or "unified" in cgroups
        unit = container.exec(["systemctl", "cat", "dbus.service"])
        assert unit.exit_code == 0 and "[Service]" in unit.output
    assert not docker_client.containers.list(all=True, filters={"name": f"^{name}$"})


def test_container_is_removed_when_the_body_fails(docker_client, engine, systemd_image: str) -> None:
    with pytest.raises(RuntimeError):
        with booted(engine, systemd_image, name_prefix="netnsfix-test-verify") as container:
            name = container.name
            raise RuntimeError("boom")
    assert not docker_client.containers.list(all=True, filters={"name": f"^{name}$"})
