"""The harness: prove an ``ip`` is fixed, or catch Red Hat Bug 882047 in it.

:func:`verify_binary` is the entry point for the CLI and the demo; each
check lives in a module of its own (mounts, view, systemd; privatetmp, for
Bug 881741, with a Quantum-like unit) and
:func:`netnsfix.verify.harness.run_checks` drives them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netnsfix.errors import EngineError, VerifyError
from netnsfix.verify.report import BUG_CHECKS, CheckResult, Status, VerifyResult

if TYPE_CHECKING:  # the engine seam loads the Docker SDK: only the systemd check needs it
    from netnsfix.tools.engine import Engine
    from netnsfix.verify.privatetmp import StepFiles

CHECKS = ("mounts", "view", "systemd", "privatetmp")
DEFAULT_CHECKS = ("mounts", "view", "systemd")  # Bug 882047's; privatetmp is asked for by name
HOST_CHECKS = ("mounts", "view")
ENGINE_CHECKS = ("systemd", "privatetmp")

__all__ = [
    "BUG_CHECKS",
    "CHECKS",
    "DEFAULT_CHECKS",
    "CheckResult",
    "Status",
    "VerifyResult",
    "parse_checks",
    "verify_binary",
]


def parse_checks(text: str) -> tuple[str, ...]:
    """``mounts,view`` -> ("mounts", "view"), in the order given, without repeats."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in names if name not in CHECKS]
    if unknown or not names:
        raise VerifyError(f"unknown check(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(CHECKS)}")
    return names


def verify_binary(
    ip: Path,
    checks: Sequence[str] = DEFAULT_CHECKS,
    image: str | None = None,
    *,
    client: Engine | None = None,
    label: str | None = None,
    dropin: StepFiles | None = None,
) -> VerifyResult:
    """Verify the ``ip`` binary at ``ip`` with the named checks.

    ``image`` is the systemd image for the systemd check (default: the one
    netnsfix builds, made once and cached). Raises :class:`VerifyError` when
    the harness cannot run at all. ``dropin`` goes beside the privatetmp
    check's unit (the CLI passes the privatetmp step's own).
    """
    from netnsfix.verify.elf import require_runnable
    from netnsfix.verify.harness import run_checks
    from netnsfix.verify.mounts import MountsCheck
    from netnsfix.verify.view import ViewCheck

    names = parse_checks(",".join(checks))
    if not ip.is_file() or not os.access(ip, os.X_OK):
        what = "no such file" if not ip.exists() else "not an executable file"
        raise VerifyError(f"{ip}: {what} (give the path of an ip binary)")
    require_runnable(ip)  # an ELF for another machine: say so before asking for root or an engine
    if os.geteuid() != 0 and any(name in HOST_CHECKS for name in names):
        raise VerifyError(
            "the mounts and view checks need root (mount namespaces, ip netns): run as root, "
            "or only --checks systemd,privatetmp with access to the Docker engine"
        )
    built: list[Any] = []
    for name in names:
        if name == "mounts":
            built.append(MountsCheck())
        elif name == "view":
            built.append(ViewCheck())
        elif name == "privatetmp":
            client, image = _engine_and_image(client, image, name)
            from netnsfix.verify.privatetmp import PrivateTmpCheck

            built.append(PrivateTmpCheck(client, image, dropin))
        else:
            client, image = _engine_and_image(client, image, name)
            from netnsfix.verify.systemd import SystemdCheck

            built.append(SystemdCheck(client, image))
    engine_used = any(name in ENGINE_CHECKS for name in names)
    return run_checks(ip, built, label=label, image=image if engine_used else None)


def _engine_and_image(engine: Engine | None, image: str | None, name: str) -> tuple[Engine, str]:
    from netnsfix.tools.engine import connect
    from netnsfix.verify.systemd_image import ensure_systemd_image

    try:
        engine = engine or connect()
    except EngineError as error:
        raise VerifyError(
            f"the {name} check needs a Docker engine: {error} (or leave it out: --checks mounts,view)"
        ) from None
    return engine, image or ensure_systemd_image(engine)
