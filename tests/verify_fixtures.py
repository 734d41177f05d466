"""Fixtures the verify tests share: the three ip variants, Debian's ip, the systemd image.

Imported by tests/test_verify_*.py (kept out of conftest.py, which every helper shares).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from netnsfix.ipvariants import build_named_variant

DEBIAN_IP = Path("/usr/sbin/ip")


@pytest.fixture(scope="session")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """unpatched (3.6.0's bug), seed (keeps /sys), upstream (make-rslave): built once per session."""
    out = tmp_path_factory.mktemp("ip-variants")
    try:
        return {name: build_named_variant(name, out) for name in ("unpatched", "seed", "upstream")}
    except Exception as error:  # noqa: BLE001 - gcc/make/patch missing
        from conftest import unavailable

        unavailable(f"cannot build the ip variants: {error}")
        raise


@pytest.fixture
def debian_ip() -> Path:
    if not DEBIAN_IP.is_file():
        from conftest import unavailable

        unavailable("Debian's iproute2 (/usr/sbin/ip) is not installed")
    return DEBIAN_IP


@pytest.fixture(scope="session")
def systemd_image(docker_client) -> str:
    """The cached systemd image (kept between runs on purpose: it is the cache)."""
    from netnsfix.systemd_image import ensure_systemd_image

    return ensure_systemd_image(docker_client)


def host_netns() -> set[str]:
    """Entries under the host's /run/netns (the harness must leave none)."""
    folder = Path("/run/netns")
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def verify_containers(client) -> list:
    return client.containers.list(all=True, filters={"name": "netnsfix-verify-"})


def netns_of(pid: int = 1) -> str:
    return subprocess.run(["readlink", f"/proc/{pid}/ns/net"], capture_output=True, text=True).stdout.strip()
