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
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from netnsfix.errors import CommandError, EngineError
from netnsfix.tools.debootstrap import ensure_debian_root
from netnsfix.tools.engine import Container, ContainerOptions, Engine
from netnsfix.util.command import streamed
from netnsfix.util.paths import cache_dir

PACKAGES: tuple[str, ...] = ("systemd", "systemd-sysv", "iproute2", "dbus")
REPOSITORY = "netnsfix-systemd"
# What `docker import` records in the image, so `docker run IMAGE` alone boots systemd.
IMPORT_CHANGES = [
    'CMD ["/sbin/init"]',
    "ENV container=docker",
    "LABEL org.netnsfix.image=systemd",
]
# How a systemd container runs here without touching the host (container/systemd/README.md).
RUN_OPTIONS = ContainerOptions(
    cap_add=("ALL",),
    cap_drop=("SYS_RESOURCE",),
    security_opt=("seccomp=unconfined", "apparmor=unconfined"),
    private_cgroupns=True,
    tmpfs=("/run", "/run/lock", "/sys/fs/cgroup"),
)
INIT = ["/sbin/init"]
ENVIRONMENT = {"container": "docker"}
BOOT_TIMEOUT = 90.0
# Labels on every container booted here: who made it, so leftovers of a crashed run can be found.
OWNER_LABEL = "org.netnsfix.owner"
PID_LABEL = "org.netnsfix.pid"


def ensure_systemd_image(engine: Engine) -> str:
    """The tag of the systemd image, importing it from the cached Debian root if it is missing."""
    root = ensure_debian_root(PACKAGES)
    tag = f"{REPOSITORY}:{root.key}"
    if engine.image_exists(tag):
        return tag
    locks = cache_dir() / "images"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{REPOSITORY}-{root.key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not engine.image_exists(tag):
            _import_root(engine, root.path, tag)
    return tag


def _import_root(engine: Engine, path: Path, tag: str) -> None:
    """Stream ``tar`` of the root into the engine; nothing is tagged unless it all went in."""
    repository, _, version = tag.partition(":")
    try:
        with streamed(["tar", "-C", str(path), "--numeric-owner", "--xattrs", "-cf", "-", "."]) as tar:
            engine.import_image(
                tar,
                repository=repository,
                tag=version,
                changes=IMPORT_CHANGES,
                what=f"docker import of {path} as {tag}",
            )
    except CommandError as error:
        engine.remove_image_quietly(tag)
        raise EngineError(f"{path}: {error}") from None
    if not engine.image_exists(tag):
        raise EngineError(f"docker import of {path} did not produce {tag}")


@contextmanager
def booted(engine: Engine, image: str, *, name_prefix: str = "netnsfix-systemd") -> Iterator[Container]:
    """Boot ``image`` with systemd as PID 1, wait until it is up, yield the container, remove it."""
    name = f"{name_prefix}-{uuid.uuid4().hex[:10]}"
    labels = {OWNER_LABEL: name_prefix, PID_LABEL: str(os.getpid())}
    with engine.create(
        image, INIT, name=name, environment=ENVIRONMENT, labels=labels, options=RUN_OPTIONS
    ) as container:
        container.start()
        wait_for_systemd(container)
        yield container


def wait_for_systemd(container: Container, timeout: float = BOOT_TIMEOUT) -> str:
    """Block until systemd in ``container`` finished booting; its state (running, degraded; "jobs done" on 197)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        status = container.status()
        if status not in ("created", "running"):
            logs = container.logs(tail=5).strip().splitlines()
            raise EngineError(
                f"container {container.name} stopped while booting ({status}): {logs[-1] if logs else 'no output'}"
            )
        last = container.exec(["systemctl", "is-system-running", "--wait"]).output.strip()
        if last in ("running", "degraded"):
            return last
        if "unrecognized option '--wait'" in last or last.startswith("Unknown operation"):
            # systemd 197 (Fedora 18's) has neither --wait nor is-system-running: booted when no job is left
            # (its list-jobs prints nothing then when stdout is no tty; later ones say "No jobs running.")
            jobs = container.exec(["systemctl", "list-jobs"])
            if jobs.exit_code == 0 and (not jobs.output.strip() or "No jobs running" in jobs.output):
                return "jobs done"
        time.sleep(0.2)
    raise EngineError(f"systemd in {container.name} did not finish booting within {timeout:.0f} s (last: {last!r})")


def system_state(container: Container) -> str:
    """``systemctl is-system-running`` in ``container`` (running, degraded, ...)."""
    return container.exec(["systemctl", "is-system-running"]).output.strip()
