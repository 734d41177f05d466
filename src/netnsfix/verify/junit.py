"""A verify result as JUnit XML, so CI systems show one test case per check."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from netnsfix.verify.report import BUG_CHECKS, CheckResult, Status, VerifyResult


def evidence_lines(check: CheckResult) -> list[str]:
    """The problems, then the mounts under /sys before and after (what an operator reads)."""
    lines = list(check.problems)
    if check.sys_before or check.sys_after:
        kept = set(check.sys_before) & set(check.sys_after)
        lines.append("mounts under /sys before (- gone afterwards):")
        lines += [f"  {' ' if m in kept else '-'} {m.describe()}" for m in check.sys_before]
        lines.append("mounts under /sys after (+ new):")
        lines += [f"  {' ' if m in kept else '+'} {m.describe()}" for m in check.sys_after]
    lines += list(check.log)
    return lines


def to_junit(result: VerifyResult, expect_bug: bool) -> str:
    suite = ET.Element(
        "testsuite",
        name="netnsfix verify" + (" (expect bug)" if expect_bug else ""),
        tests=str(len(result.checks)),
        time=f"{result.seconds:.3f}",
    )
    failures = errors = 0
    for check in result.checks:
        case = ET.SubElement(
            suite, "testcase", classname="netnsfix.verify", name=check.name, time=f"{check.seconds:.3f}"
        )
        detail = "\n".join(evidence_lines(check))
        if check.status is Status.ERROR:
            errors += 1
            ET.SubElement(case, "error", message=check.summary).text = detail
        elif _unexpected(check, expect_bug):
            failures += 1
            message = "the bug was not reproduced" if expect_bug else check.summary
            ET.SubElement(case, "failure", message=message).text = detail
        what = f"{result.ip} ({result.sha256}{', ' + result.kind if result.kind else ''})"
        ET.SubElement(case, "system-out").text = f"{what}: {check.status.value}: {check.summary}"
    if not result.host_untouched:
        errors += 1
        case = ET.SubElement(suite, "testcase", classname="netnsfix.verify", name="host-untouched")
        ET.SubElement(case, "error", message="the host's mounts under /sys changed during the run")
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _unexpected(check: CheckResult, expect_bug: bool) -> bool:
    if check.name not in BUG_CHECKS:
        return False
    return check.status is not Status.FAIL if expect_bug else check.status is Status.FAIL
