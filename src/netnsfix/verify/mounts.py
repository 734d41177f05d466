"""Check "mounts": after ip netns add/exec/delete, /sys and every cgroup mount are still there.

Runs in a private mount namespace the harness makes (``unshare``), with ``/``
made rshared as systemd does and a tmpfs on /run, so the damage a buggy ``ip``
does stays in there: the host never changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from netnsfix.verify.elf import require_libraries
from netnsfix.verify.hostrun import host_shell_runner
from netnsfix.verify.mountinfo import CGROUP, SYS, short, sys_damage, under
from netnsfix.verify.report import CheckResult, Status
from netnsfix.verify.scenario import PrivateNamespaceShell, Shell, Trace, namespace_evidence, run_scenario


@dataclass(frozen=True)
class MountsCheck:
    name: str = "mounts"
    shell: Shell = field(default_factory=PrivateNamespaceShell)

    def preflight(self, ip: Path) -> None:
        require_libraries(ip, host_shell_runner, str(ip), "this host")

    def run(self, ip: Path) -> CheckResult:
        return judge(self.name, run_scenario(self.shell, str(ip), private_run=True))


def judge(name: str, trace: Trace, extra_problems: tuple[str, ...] = ()) -> CheckResult:
    """Turn a scenario's trace into pass (the fix held), fail (the bug's damage) or error.

    Neither verdict is given without proof that the binary made the namespace
    and ran the probe inside it; a pass also needs the namespace deleted.
    """
    before, after = under(trace.before, SYS), under(trace.after, SYS)
    evidence = CheckResult(name, Status.ERROR, "", sys_before=before, sys_after=after, log=_log(trace))
    if not trace.step("setup").ok:
        return replace(evidence, summary=f"could not prepare the mount namespace: {trace.describe('setup')}")
    if not trace.step("add").ok:
        return replace(evidence, summary=f"ip netns add failed: {trace.describe('add')}")
    proof = namespace_evidence(trace)
    unproven = proof.missing_made() + proof.missing_entered()
    if unproven:
        return replace(evidence, summary=no_evidence(unproven), problems=unproven)
    problems = sys_damage(before, after) + extra_problems
    if problems:
        problems += proof.missing_deleted()
        summary = "; ".join(short(p) for p in problems)
        return replace(evidence, status=Status.FAIL, summary=summary, problems=problems)
    for step in ("probe", "delete"):
        if not trace.step(step).ok:
            return replace(evidence, summary=f"ip netns {_verb(step)} failed: {trace.describe(step)}")
    if proof.missing_deleted():
        return replace(evidence, summary=no_evidence(proof.missing_deleted()), problems=proof.missing_deleted())
    if trace.leftovers:
        left = f"left in /run/netns: {', '.join(trace.leftovers)}"
        return replace(evidence, summary=left, problems=(left,))
    if not trace.complete:
        return replace(evidence, summary="the scenario stopped early")
    cgroups = len(under(before, CGROUP))
    summary = f"/sys kept, {cgroups} mount(s) under /sys/fs/cgroup kept; {proof.describe()}"
    return replace(evidence, status=Status.PASS, summary=summary)


def no_evidence(missing: tuple[str, ...]) -> str:
    """The summary of a check that cannot answer because the binary did not prove it did the job."""
    return "no evidence that ip did the job: " + "; ".join(missing)


def _verb(step: str) -> str:
    return {"probe": "exec", "delete": "delete"}.get(step, step)


def _log(trace: Trace) -> tuple[str, ...]:
    return tuple(trace.describe(step) for step in ("add", "probe", "delete") if step in trace.sections)
