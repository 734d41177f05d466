"""Check "mounts": after ip netns add/exec/delete, /sys and every cgroup mount are still there.

Runs in a private mount namespace the harness makes (``unshare``), with ``/``
made rshared as systemd does and a tmpfs on /run, so the damage a buggy ``ip``
does stays in there: the host never changes. The verdict is the proof's own
(:func:`netnsfix.collection.plugins.module_utils.proof.judge_namespace`), the
same a node's ``netnsfix.node.verify`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from netnsfix.collection.plugins.module_utils import proof
from netnsfix.verify.elf import require_libraries
from netnsfix.verify.hostrun import host_shell_runner
from netnsfix.verify.report import CheckResult, Status
from netnsfix.verify.scenario import PrivateNamespaceShell, Shell, Trace, run_scenario

STATUS = {proof.PASS: Status.PASS, proof.FAIL: Status.FAIL, proof.NO_ANSWER: Status.ERROR}


@dataclass(frozen=True)
class MountsCheck:
    name: str = "mounts"
    shell: Shell = field(default_factory=PrivateNamespaceShell)

    def preflight(self, ip: Path) -> None:
        require_libraries(ip, host_shell_runner, str(ip), "this host")

    def run(self, ip: Path) -> CheckResult:
        return judge(self.name, run_scenario(self.shell, str(ip), private_run=True))


def judge(name: str, trace: Trace) -> CheckResult:
    """The proof's verdict on a scenario's trace, with the mounts under /sys as evidence."""
    verdict = proof.judge_namespace(trace)
    return CheckResult(
        name,
        STATUS[verdict.status],
        verdict.summary,
        problems=verdict.problems,
        sys_before=proof.under(proof.parse_mountinfo(trace.step("before").output)),
        sys_after=proof.under(proof.parse_mountinfo(trace.step("after").output)),
        log=tuple(trace.describe(step) for step in ("add", "probe", "delete", "unit") if step in trace.sections),
    )
