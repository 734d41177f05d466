"""``netnsfix verify``: run the harness against an ip binary or the ip in an RPM, print the report."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from netnsfix.cli import Exit
from netnsfix.errors import VerifyError
from netnsfix.util.fsutil import atomic_write_text
from netnsfix.verify import BUG_CHECKS, CHECKS, DEFAULT_CHECKS, VerifyResult, parse_checks, verify_binary
from netnsfix.verify.junit import evidence_lines, to_junit
from netnsfix.verify.report import BUGS, Status

if TYPE_CHECKING:  # the harness's privatetmp loads the Docker SDK: only when the check runs
    from netnsfix.verify.privatetmp import StepFiles


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="prove an ip binary is fixed, or catch Bug 882047 (or, with a Quantum-like unit, 881741)",
        description=(
            "Run ip netns add/exec/delete the way Quantum's agents do and check what Bug 882047 breaks: "
            "mounts (in a private mount namespace: /sys and /sys/fs/cgroup survive), view (what the "
            "namespace sees in /sys/class/net), systemd (in a booted systemd container: systemd still "
            "starts units); privatetmp (Bug 881741, asked for by name: in the booted container a unit shaped "
            "like Quantum's agents, PrivateTmp=true, makes a namespace with the ip; ip netns exec into it from "
            "outside must work before and after a restart). Exit 0 if every check passes (with --expect-bug: "
            "if the bug is reproduced), 1 if not, 2 if the harness could not answer."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ip", type=Path, metavar="PATH", help="the ip binary to verify")
    source.add_argument("--rpm", type=Path, metavar="FILE", help="an RPM carrying /sbin/ip or /usr/sbin/ip")
    parser.add_argument(
        "--checks",
        metavar="LIST",
        default=",".join(DEFAULT_CHECKS),
        help=f"comma-separated, from {','.join(CHECKS)} (default: {','.join(DEFAULT_CHECKS)})",
    )
    parser.add_argument(
        "--image", metavar="IMAGE", help="systemd image for the systemd check (default: netnsfix builds one)"
    )
    parser.add_argument(
        "--privatetmp-dropin",
        action="store_true",
        help="privatetmp: install netnsfix's drop-in (what 'netnsfix host apply privatetmp' writes) beside the unit",
    )
    parser.add_argument(
        "--expect-bug",
        action="store_true",
        help="succeed only if the bug is reproduced (882047; 881741 for privatetmp)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="also write the result as JUnit XML")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    checks = parse_checks(args.checks)
    if args.expect_bug and not any(name in BUG_CHECKS for name in checks):
        raise VerifyError("--expect-bug needs a check that can find the bug: mounts, systemd or privatetmp")
    dropin = None
    if args.privatetmp_dropin:
        if "privatetmp" not in checks:
            raise VerifyError("--privatetmp-dropin needs the privatetmp check (--checks privatetmp)")
        dropin = privatetmp_step_files()
    if args.rpm is not None:
        from netnsfix.verify.rpmip import extract_ip

        with tempfile.TemporaryDirectory(prefix="netnsfix-rpm-") as folder:
            ip, inside = extract_ip(args.rpm, Path(folder))
            result = verify_binary(ip, checks, args.image, label=f"{inside} from {args.rpm}", dropin=dropin)
    else:
        result = verify_binary(args.ip, checks, args.image, dropin=dropin)
    if args.junit:
        atomic_write_text(args.junit, to_junit(result, args.expect_bug))
    if args.json:
        data = result.to_dict() | {"expect_bug": args.expect_bug, "as_expected": result.as_expected(args.expect_bug)}
        print(json.dumps(data, indent=2))
    else:
        print_report(result, args.expect_bug)
    if not result.answered:
        return Exit.ERROR
    return Exit.OK if result.as_expected(args.expect_bug) else Exit.RESULT


STYLE = {Status.PASS: "green", Status.FAIL: "red", Status.INFO: "cyan", Status.ERROR: "yellow"}


def print_report(result: VerifyResult, expect_bug: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    console.print(f"ip: {result.ip}", soft_wrap=True)
    console.print(f"    sha256 {result.sha256}" + (f", {result.version}" if result.version else ""), soft_wrap=True)
    if result.kind:
        console.print(f"    {result.kind}", soft_wrap=True, markup=False)
    if result.image:
        console.print(f"    systemd image {result.image}")
    table = Table(show_lines=False)
    table.add_column("check")
    table.add_column("result")
    table.add_column("time", justify="right")
    table.add_column("what it saw", overflow="fold")
    for check in result.checks:
        status = check.status.value.upper()
        table.add_row(check.name, f"[{STYLE[check.status]}]{status}[/]", f"{check.seconds:.2f} s", check.summary)
    console.print(table)
    for check in result.checks:
        if check.status in (Status.FAIL, Status.ERROR):
            console.print(f"[bold]{check.name}[/]: evidence")
            for line in evidence_lines(check):
                console.print(f"  {line}", markup=False, soft_wrap=True)
    if not result.host_untouched:
        console.print("[yellow]warning: the host's mounts under /sys changed during the run[/]")
    console.print(f"verdict: {verdict(result, expect_bug)} ({result.seconds:.2f} s)", markup=False, soft_wrap=True)


def verdict(result: VerifyResult, expect_bug: bool) -> str:
    if not result.answered:
        what = "; ".join(f"{c.name}: {c.summary}" for c in result.unanswered())
        kind = f" ({result.ip} is {result.kind})" if result.kind else ""
        return f"no answer: a check could not run to the end: {what}{kind}"
    bugs = "Bug " + " and ".join(dict.fromkeys(BUGS[c.name] for c in result.checks if c.name in BUGS) or ["882047"])
    if expect_bug:
        return f"{bugs} reproduced, as expected" if result.bug_reproduced else f"expected {bugs}, but it did not show"
    return "fixed: every check passed" if result.passed else f"NOT fixed: {bugs} shows"


def privatetmp_step_files() -> StepFiles:
    """The privatetmp step's own file for the harness's unit and systemd, from the node library (no copy)."""
    from netnsfix.collection.plugins.module_utils.privatetmp import wanted_file
    from netnsfix.verify.privatetmp import StepFiles

    def file_for(unit: str, version: int) -> tuple[str, bytes]:
        wanted = wanted_file(unit, version)
        return wanted.path, wanted.content

    return StepFiles("the privatetmp step's file", file_for)
