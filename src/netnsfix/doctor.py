"""What this machine lacks for netnsfix, and how to fix each thing.

Each check is a small function returning a :class:`Check`; the CLI prints
them and exits non-zero when a required one fails. Nothing here changes the
machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass

from netnsfix.errors import EngineDenied, EngineError
from netnsfix.util.paths import cache_dir


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    needed_for: str = ""
    required: bool = True


def check_engine() -> Check:
    from netnsfix.tools.engine import connect

    try:
        version = connect(timeout=10).version()
    except EngineError as error:
        fix = (
            "run as root or add yourself to the 'docker' group (then log in again)"
            if isinstance(error, EngineDenied)
            else (
                "start it: scripts/engine start (or systemctl start docker), or point DOCKER_HOST at a running engine"
            )
        )
        return Check("container engine", False, str(error), fix, "netnsfix image, build, verify")
    return Check("container engine", True, f"Docker {version} at {os.environ.get('DOCKER_HOST', 'the default socket')}")


def _tool(name: str, package: str, needed_for: str, required: bool = True) -> Callable[[], Check]:
    def check() -> Check:
        path = shutil.which(name)
        if path:
            return Check(name, True, path)
        return Check(name, False, f"{name} is not on PATH", f"apt-get install {package}", needed_for, required)

    return check


def check_rpm_bindings() -> Check:
    try:
        import rpm

        return Check("rpm Python bindings", True, f"rpm {rpm.__version__}")
    except ImportError as error:
        return Check(
            "rpm Python bindings", False, str(error),
            "apt-get install python3-rpm, then scripts/setup (the 'rpm' shim makes them visible in .venv)",
            "resolving (labelCompare), spec editing",
        )  # fmt: skip


def check_root() -> Check:
    if os.geteuid() == 0:
        return Check("root", True, "running as root")
    return Check(
        "root",
        False,
        f"running as uid {os.geteuid()}",
        "run netnsfix verify with sudo",
        "netnsfix verify (mount namespaces, ip netns)",
    )


def check_cache() -> Check:
    where = cache_dir()
    try:
        where.mkdir(parents=True, exist_ok=True)
        probe = where / f".doctor-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        return Check(
            "cache",
            False,
            f"{where}: {error.strerror or error}",
            "set NETNSFIX_CACHE to a writable folder",
            "downloads, images",
        )
    return Check("cache", True, str(where))


CHECKS: tuple[Callable[[], Check], ...] = (
    check_engine,
    _tool("rpmbuild", "rpm", "netnsfix srpm (rpmbuild -bs)"),
    _tool("rpmkeys", "rpm", "the archive's GPG signatures (rpmkeys --checksig)"),
    _tool("gpg", "gnupg", "reading the recipe's key files; the demo archive's signing key"),
    _tool("createrepo_c", "createrepo-c", "netnsfix publish"),
    _tool("dnf", "dnf", "netnsfix publish --check (installs from the repository)", required=False),
    check_rpm_bindings,
    check_cache,
    check_root,
)


def diagnose(checks: tuple[Callable[[], Check], ...] = CHECKS) -> list[Check]:
    return [check() for check in checks]


def healthy(results: list[Check]) -> bool:
    return all(c.ok or not c.required for c in results)
