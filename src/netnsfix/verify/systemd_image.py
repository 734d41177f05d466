"""A container image with systemd as PID 1, and a way to boot it that leaves the host alone.

Docker Hub cannot be reached here, so the image is a debootstrapped Debian
(``netnsfix.tools.debootstrap``) brought in with ``docker import``, tagged by the root's
content key and reused when it exists. :func:`booted` starts a container from
it the way container/systemd/README.md ("How it boots") says (no --privileged,
a private cgroup namespace and tmpfs over /sys/fs/cgroup: never the host's
hierarchies), waits for systemd and removes the container whatever happens.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from netnsfix.errors import EngineError
from netnsfix.tools.debootstrap import ensure_debian_root
from netnsfix.tools.engine import image_exists, remove_image_quietly, removed_afterwards
from netnsfix.util.paths import cache_dir

PACKAGES: tuple[str, ...] = ("systemd", "systemd-sysv", "iproute2", "dbus")
REPOSITORY = "netnsfix-systemd"
# What `docker import` records in the image, so `docker run IMAGE` alone boots systemd.
IMPORT_CHANGES = [
    'CMD ["/sbin/init"]',
    "ENV container=docker",
    "LABEL org.netnsfix.image=systemd",
]
# How a systemd container runs here without touching the host (container/systemd/README.md, "How it boots").
RUN_OPTIONS: dict[str, Any] = {
    "cap_add": ["ALL"],
    "cap_drop": ["SYS_RESOURCE"],
    "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
    "cgroupns": "private",
    "tmpfs": {"/run": "", "/run/lock": "", "/sys/fs/cgroup": ""},
    "environment": {"container": "docker"},
    "command": ["/sbin/init"],
    "network_mode": "none",
}
BOOT_TIMEOUT = 90.0
# Labels on every container booted here: who made it, so leftovers of a crashed run can be found.
OWNER_LABEL = "org.netnsfix.owner"
PID_LABEL = "org.netnsfix.pid"


def ensure_systemd_image(client: Any) -> str:
    """The tag of the systemd image, importing it from the cached Debian root if it is missing."""
    root = ensure_debian_root(PACKAGES)
    tag = f"{REPOSITORY}:{root.key}"
    if image_exists(client, tag):
        return tag
    locks = cache_dir() / "images"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{REPOSITORY}-{root.key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not image_exists(client, tag):
            _import_root(client, root.path, tag)
    return tag


def _import_root(client: Any, path: Any, tag: str) -> None:
    """Stream ``tar`` of the root into the engine; nothing is tagged unless it all went in."""
    repository, _, version = tag.partition(":")
    tar = subprocess.Popen(
        ["tar", "-C", str(path), "--numeric-owner", "--xattrs", "-cf", "-", "."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        client.api.import_image_from_stream(tar.stdout, repository=repository, tag=version, changes=IMPORT_CHANGES)
    except Exception as error:  # noqa: BLE001 - any SDK failure is one engine error
        tar.kill()
        raise EngineError(f"docker import of {path} as {tag} failed: {error}") from None
    finally:
        assert tar.stdout is not None
        tar.stdout.close()
        stderr = tar.stderr.read().decode(errors="replace") if tar.stderr else ""
        code = tar.wait()
    if code != 0:
        remove_image_quietly(client, tag)
        raise EngineError(f"tar of {path} failed (exit {code}): {stderr.strip()[-200:]}")
    if not image_exists(client, tag):
        raise EngineError(f"docker import of {path} did not produce {tag}")


@contextmanager
def booted(client: Any, image: str, *, name_prefix: str = "netnsfix-systemd") -> Iterator[Any]:
    """Boot ``image`` with systemd as PID 1, wait until it is up, yield the container, remove it."""
    name = f"{name_prefix}-{uuid.uuid4().hex[:10]}"
    try:
        labels = {OWNER_LABEL: name_prefix, PID_LABEL: str(os.getpid())}
        container = client.containers.create(image, name=name, detach=True, labels=labels, **RUN_OPTIONS)
    except Exception as error:  # noqa: BLE001 - image missing, engine refused, ...
        raise EngineError(f"cannot create a container from {image}: {error}") from None
    with removed_afterwards(container):
        try:
            container.start()
        except Exception as error:  # noqa: BLE001
            raise EngineError(f"cannot start a container from {image}: {error}") from None
        wait_for_systemd(container)
        yield container


def wait_for_systemd(container: Any, timeout: float = BOOT_TIMEOUT) -> str:
    """Block until systemd in ``container`` finished booting; return its state (running, degraded)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        container.reload()
        if container.status not in ("created", "running"):
            logs = container.logs(tail=5).decode(errors="replace").strip().splitlines()
            raise EngineError(
                f"container {container.name} stopped while booting ({container.status}): "
                f"{logs[-1] if logs else 'no output'}"
            )
        result = container.exec_run(["systemctl", "is-system-running", "--wait"])
        last = result.output.decode(errors="replace").strip()
        if last in ("running", "degraded"):
            return last
        time.sleep(0.2)
    raise EngineError(f"systemd in {container.name} did not finish booting within {timeout:.0f} s (last: {last!r})")


def system_state(container: Any) -> str:
    """``systemctl is-system-running`` in ``container`` (running, degraded, ...)."""
    result = container.exec_run(["systemctl", "is-system-running"])
    return result.output.decode(errors="replace").strip()
