"""Check "view": what ``ls /sys/class/net`` shows inside the namespace (information only).

It tells the two fixes apart: with the seed's workaround the namespace keeps
the host's /sys and lists the host's interfaces; with upstream's fix it
mounts its own sysfs and lists only ``lo``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from netnsfix.collection.plugins.module_utils import proof
from netnsfix.verify.elf import require_libraries
from netnsfix.verify.hostrun import host_shell_runner
from netnsfix.verify.report import CheckResult, Status
from netnsfix.verify.scenario import PrivateNamespaceShell, Shell, host_interfaces, run_scenario

OWN = "own"
HOST = "host"


@dataclass(frozen=True)
class ViewCheck:
    name: str = "view"
    shell: Shell = field(default_factory=PrivateNamespaceShell)
    host: Callable[[], tuple[str, ...]] = host_interfaces

    def preflight(self, ip: Path) -> None:
        require_libraries(ip, host_shell_runner, str(ip), "this host")

    def run(self, ip: Path) -> CheckResult:
        trace = run_scenario(self.shell, str(ip), private_run=True)
        log = (trace.describe("probe"),)
        verdict = proof.judge_view(trace)  # what the probe saw counts only if it ran in the namespace ip made
        if verdict.status != proof.PASS:
            return CheckResult(self.name, Status.ERROR, verdict.summary, problems=verdict.problems, log=log)
        view = trace.view
        return CheckResult(self.name, Status.INFO, describe_view(view, self.host()), view=view, log=log)


def classify(view: tuple[str, ...], host: tuple[str, ...]) -> str:
    """``own`` (a fresh sysfs: only lo), ``host`` (the host's /sys was kept), or ``other``."""
    if set(view) <= {"lo"}:
        return OWN
    # a new network namespace has only lo: any of the host's other interfaces means the host's /sys
    if set(view) & (set(host) - {"lo"}):
        return HOST
    return "other"


def describe_view(view: tuple[str, ...], host: tuple[str, ...]) -> str:
    names = ", ".join(view) or "nothing"
    kind = classify(view, host)
    if kind == OWN:
        return f"own /sys: sees {names} (a sysfs of its own, as upstream's fix gives)"
    if kind == HOST:
        return f"host's /sys: sees {names} (/sys kept, as the seed's workaround gives)"
    return f"sees {names}"
